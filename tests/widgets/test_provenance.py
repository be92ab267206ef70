"""Provenance, recorded where the code runs: in a real notebook kernel, an image written back records the
images read in that kernel, the notebook, the cell's code and its hash, the parameters, the package
versions, the user and the time; the API and the client both show it."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

import scopehub

from ..api_client import Api, make_team, unique
from ..kernels import NotebookKernel
from .conftest import make_data


def test_a_notebook_cell_that_writes_an_image_records_how(catalogue, api: Api, stored, hub: scopehub.Hub) -> None:
    source = stored.add(api, make_data((1, 1, 1, 96, 128), seed=7), name=unique("source"))
    unread = stored.add(api, make_data((1, 1, 1, 32, 32), seed=8), name=unique("not read"))
    dataset = hub.create_dataset(unique("results"), provenance=False)
    cell = (f"sigma = 2.0\n"
            f"smooth = hub.image({source['id']}).to_numpy(t=0, c=0, z=0) // 2\n"
            f"made = hub.dataset({dataset.id}).create_image(smooth, name='half', parameters={{'sigma': sigma}}, "
            f"progress=False)\n"
            f"made.id")
    before = dt.datetime.now(dt.UTC)
    (catalogue.server.root_dir / "analysis").mkdir(exist_ok=True)  # the notebook's folder, as in JupyterLab
    with NotebookKernel(catalogue.server.url, catalogue.server.token, "analysis/segment.ipynb") as kernel:
        kernel.run("import numpy, scopehub\nhub = scopehub.connect()")
        kernel.run(f"hub.image({unread['id']})")  # looked at, pixels not read: not an input
        made_id = int(kernel.run(cell).result)
        numpy_version = kernel.value("numpy.__version__")
        # The client shows it: as an object, and as a table in the notebook.
        assert kernel.value("made.has_provenance") is True
        assert kernel.value("[made.provenance.input_ids, made.provenance.parameters, made.provenance.user]") == [
            [source["id"]], {"sigma": 2.0}, "admin"]
        shown = kernel.run("made.provenance")
        assert shown.result.startswith(f"<Provenance of image {made_id}: by admin at ")
        assert f"inputs [{source['id']}]" in shown.result
        for fact in ("made by", "admin", "segment.ipynb", f"image {source['id']} ({source['name']})",
                     "sigma=2.0", hashlib.sha256(cell.encode()).hexdigest(), f"numpy {numpy_version}"):
            assert fact in shown.html, fact
    # The API has the same record, independently of the client.
    record = api.ok("GET", f"images/{made_id}/provenance")
    assert [(i["type"], i["id"], i["name"]) for i in record["inputs"]] == [("image", source["id"], source["name"])]
    assert record["source"] == str(catalogue.server.root_dir / "analysis" / "segment.ipynb")
    assert record["code"] == cell and record["code_sha256"] == hashlib.sha256(cell.encode()).hexdigest()
    assert record["parameters"] == {"sigma": 2.0}
    assert record["packages"]["numpy"] == numpy_version and "scopehub" in record["packages"]
    assert record["environment"]["client"].startswith("scopehub ")
    assert record["user"]["username"] == "admin" and record["object"] == {"type": "image", "id": made_id}
    assert before - dt.timedelta(seconds=5) <= dt.datetime.fromisoformat(record["created"]) <= dt.datetime.now(dt.UTC)
    assert api.ok("GET", f"images/{made_id}")["has_provenance"] is True


def test_inputs_named_outright_and_provenance_of_containers(hub: scopehub.Hub, api: Api, stored) -> None:
    first = hub.image(stored.add(api, make_data((1, 1, 1, 16, 16), seed=1), name=unique("a"))["id"])
    dataset = hub.create_dataset(unique("summary"), parameters={"threshold": 0.5})
    record = dataset.provenance
    assert record is not None and record.parameters == {"threshold": 0.5} and record.source
    assert api.ok("GET", f"datasets/{dataset.id}/provenance")["parameters"] == {"threshold": 0.5}
    # Recorded once: a second record is refused with the server's words.
    with pytest.raises(scopehub.Conflict):
        dataset.record_provenance(inputs=[first])
    plain = hub.create_dataset(unique("plain"), provenance=False)
    assert plain.provenance is None and plain.has_provenance is False
    made = plain.record_provenance(inputs=[first, first.id], parameters={"n": 3})
    assert made.input_ids == [first.id] and [i.id for i in made.inputs] == [first.id]
    image = plain.create_image(make_data((1, 1, 1, 20, 20))[0, 0, 0], name="from named", inputs=[first],
                               progress=False)
    assert image.provenance.input_ids == [first.id]
    # Inputs the reader may not see are counted, not named.
    team = make_team(api, "read-only")
    alice = scopehub.connect(api.base, api.token, act_as=team.alice.act_as)
    bob = scopehub.connect(api.base, api.token, act_as=team.bob.act_as)
    private = api.make_group("private")
    api.add_member(private["id"], team.alice.act_as)
    hidden = alice.create_dataset(unique("hidden"), group=private["id"], provenance=False)
    secret = alice.image(team.alice.ok("POST", "images", json={"name": unique("secret"), "dataset_id": hidden.id,
                                                               "group_id": private["id"]})["id"])
    assert secret.group_id == private["id"]
    shared = alice.create_dataset(unique("shared"), group=team.group, provenance=False)
    alice_image = shared.create_image(make_data((1, 1, 1, 16, 16))[0, 0, 0], name="derived", inputs=[secret],
                                      progress=False)
    seen = bob.image(alice_image.id).provenance
    assert seen.input_ids == [] and seen.hidden_inputs == 1 and "1 you cannot see" in seen._repr_html_()
