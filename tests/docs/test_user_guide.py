"""The code in ``docs/user/guide.md`` runs, as written, against a real Jupyter server with scopehub.

Its Python blocks run in order in one namespace, as they would in one notebook; the connecting
block finds the server the way a kernel does (the runtime file and ``JPY_PARENT_PID``). Afterwards
the results the guide promises in its comments are checked.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..jupyter import JupyterServerProcess

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "user" / "guide.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def fresh_server() -> Iterator[JupyterServerProcess]:
    """A server of its own: the guide creates users named alice and bob, and expects an empty catalogue."""
    with (
        tempfile.TemporaryDirectory(prefix="scopehub-guide-") as data_dir,
        JupyterServerProcess([f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=you"]) as server,
    ):
        yield server


def guide_blocks() -> list[str]:
    return BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def run_guide(monkeypatch: pytest.MonkeyPatch, server: JupyterServerProcess) -> dict[str, Any]:
    # What a kernel started by this server would see.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", server.env["JUPYTER_RUNTIME_DIR"])
    monkeypatch.setenv("JPY_PARENT_PID", str(server.proc.pid))
    namespace: dict[str, Any] = {"__name__": "guide"}
    for number, code in enumerate(guide_blocks(), 1):
        try:
            exec(compile(code, f"{GUIDE.name}, python block {number}", "exec"), namespace)  # noqa: S102
        except Exception as e:
            pytest.fail(f"python block {number} of {GUIDE} failed: {e!r}\n{code}")
    return namespace


def test_every_python_block_runs_and_does_what_it_says(monkeypatch, fresh_server) -> None:
    assert len(guide_blocks()) >= 15, "the guide's code blocks were not found"
    ns = run_guide(monkeypatch, fresh_server)
    call = ns["call"]
    assert ns["B"] == fresh_server.url + "scopehub/api/v1/"
    assert ns["me"]["username"] == "you" and ns["me"]["is_admin"]
    # Browsing
    assert ns["images"]["total"] == 3
    assert [i["name"] for i in ns["images"]["items"]] == ["HeLa_H2B-GFP_t003.ome.tif", "HeLa_H2B-GFP_t002.ome.tif"]
    assert len(ns["names"]) == 3
    # Creating and organising
    assert call("GET", f"images/{ns['extra']['id']}")["parents"] == [ns["day1"]["id"]]
    assert (ns["stale"].status_code, ns["stale"].json()["error"]["code"]) == (409, "conflict")
    # Importing: an intensity image and its label image; float data refused as labels
    job = ns["job"]
    assert (job["status"], job["message"], len(job["images"]), len(job["label_images"])) == (
        "done", "imported 2 images from 2 files", 2, 1)
    assert ns["kinds"] == {"nuclei.tif": False, "nuclei-mask.tif": True}
    label = call("GET", f"images/{job['label_images'][0]}")
    assert label["name"] == "nuclei-mask.tif" and label["pixels"]["pixel_type"] == "uint16"
    assert call("GET", f"images/{job['label_images'][0]}/rendering")["settings"]["channels"][0]["color"] == (
        "glasbey.lut")
    assert ns["not_labels"].status_code == 400
    assert ns["not_labels"].json()["error"]["message"].startswith(
        "guide-imports/probabilities.tif: cannot be imported as a label image: its pixels are float32, ")
    # Annotating
    kinds = sorted(a["type"] for a in ns["on_image"]["items"])
    assert kinds == ["comment", "file", "map", "rating", "tag", "tag"]
    assert [t["value"] for t in ns["tags_in_set"]["items"]] == ["prophase"]
    assert ns["api"].get(ns["B"] + f"annotations/{ns['attachment']['id']}/file").content == ns["protocol"]
    # Searching
    found = ns["found"]
    assert found("stain=DAPI") == [("image", "HeLa_H2B-GFP_t001.ome.tif")]
    assert found("tag:Prophase", type="image") == [("image", "HeLa_H2B-GFP_t001.ome.tif")]
    assert ("project", "Mitosis in HeLa cells") in found("mitos")
    # Deleting: the dry run deleted nothing; the screen went with its plate, wells' images and map.
    assert ns["report"]["dry_run"] is True and ns["report"]["deleted"]["project"] == [ns["project"]["id"]]
    assert call("GET", f"projects/{ns['project']['id']}")["name"] == "Mitosis in HeLa cells"
    assert ns["api"].get(ns["B"] + f"images/{ns['field1']['id']}").status_code == 404
    # Groups and acting as bob
    assert [(m["username"], m["role"]) for m in call("GET", f"groups/{ns['lab']['id']}")["members"]] == [
        ("alice", "owner"),
        ("bob", "member"),
    ]
    assert ns["shared"]["owner"]["username"] == "alice"
    assert ns["refused"].status_code == 403
    assert ns["api"].get(ns["B"] + f"projects/{ns['project']['id']}", headers=ns["as_bob"]).status_code == 404
    assert any(e["action"] == "act_as" for e in call("GET", "audit")["items"])
    # Errors
    assert ns["r"].status_code == 400 and ns["r"].json()["error"]["code"] == "invalid"
