"""Projects, datasets, images as Python objects: lazy lists (a page at a time), DataFrames, search, edits,
links, clear exceptions with the server's message, and how they show in a notebook."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest

import scopehub
from scopehub.widgets.paging import PagedList

from ..api_client import Api, make_team, unique
from .conftest import make_data


@pytest.fixture
def requests_made(hub: scopehub.Hub):
    """URLs of the requests the client sends (counted by a hook of its HTTP session, not by the client)."""
    seen: list[str] = []

    def hook(response, *args, **kwargs):
        seen.append(response.request.url)

    hub.http.session.hooks["response"].append(hook)
    yield seen
    hub.http.session.hooks["response"].remove(hook)


def test_the_tree_walks_down_and_up(hub: scopehub.Hub) -> None:
    project = hub.create_project(unique("walk"), "the tree")
    day1 = project.create_dataset(unique("day 1"))
    day2 = hub.create_dataset(unique("day 2"), project=project.id)
    image = hub.http.json("POST", "images", json={"name": unique("img"), "dataset_id": day1.id})
    assert isinstance(project, scopehub.widgets.Project) and project.owner == "admin"
    assert sorted(d.id for d in project.datasets()) == sorted([day1.id, day2.id])
    assert [i.id for i in day1.images()] == [image["id"]]
    got = hub.image(image["id"])
    assert [d.id for d in got.datasets()] == [day1.id]
    assert [p.id for p in day1.projects()] == [project.id]
    # Links: an image in a second dataset, then out again.
    day2.add(got)
    assert sorted(d.id for d in hub.image(got.id).datasets()) == sorted([day1.id, day2.id])
    day2.remove(got.id)
    assert [d.id for d in hub.image(got.id).datasets()] == [day1.id]
    # Objects compare by kind and id.
    assert hub.dataset(day1.id) == day1 and len({day1, hub.dataset(day1.id)}) == 1
    assert repr(project) == f"<Project {project.id} {project.name!r}>"


def test_lists_page_lazily(hub: scopehub.Hub, requests_made: list[str]) -> None:
    dataset = hub.create_dataset(unique("paging"), provenance=False)
    names = [f"p{n:02}" for n in range(7)]
    for name in names:
        hub.http.json("POST", "images", json={"name": name, "dataset_id": dataset.id})
    requests_made.clear()
    images = PagedList(hub.http, "images", {"dataset": dataset.id, "order": "name"},
                       lambda d: scopehub.widgets.Image(hub, d), page_size=3)
    assert requests_made == []  # nothing until it is used
    assert len(images) == 7 and len(requests_made) == 1 and "limit=1" in requests_made[0]
    assert images[4].name == "p04" and "offset=3" in requests_made[-1] and "limit=3" in requests_made[-1]
    assert images[-1].name == "p06" and "offset=6" in requests_made[-1]
    count = len(requests_made)
    assert images[3].name == "p03" and len(requests_made) == count  # that page is kept
    assert [i.name for i in images[1:6:2]] == ["p01", "p03", "p05"]
    assert [i.name for i in images] == names
    assert len(requests_made) == count + 1  # only the first page was still missing
    with pytest.raises(IndexError):
        images[7]
    frame = images.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame["name"]) == names and frame.index.name == "id"
    assert {"owner", "group", "created", "size_x", "pixel_type", "has_provenance"} <= set(frame.columns)
    assert images.first().name == "p00"
    html = images._repr_html_()
    assert "images: 7 items" in html and "p02" in html and "<table" in html
    assert repr(images).startswith("<images: 7 items: <Image ")
    # The everyday form pages the same way.
    assert [i.name for i in dataset.images(order="-name")][:2] == ["p06", "p05"]


def test_search_and_filters(hub: scopehub.Hub) -> None:
    word = unique("zebrafish").replace("-", "")
    project = hub.create_project(f"{word} heart", provenance=False)
    dataset = project.create_dataset(unique("fins"), provenance=False)
    dataset.add_map({"organism": word})
    found = hub.search(word)
    assert {(o.kind, o.id) for o in found} == {("project", project.id), ("dataset", dataset.id)}
    assert [o.id for o in hub.search(f"organism={word}")] == [dataset.id]
    assert [o.kind for o in hub.search(word, type="project")] == ["project"]
    assert [p.id for p in hub.projects(q=word)] == [project.id]
    assert project.id in hub.projects(owner="me").ids()


def test_edits_and_stale_edits(hub: scopehub.Hub) -> None:
    project = hub.create_project(unique("edit"), provenance=False)
    stale = hub.project(project.id)
    project.update(name="renamed", description="new words")
    assert hub.project(project.id).name == "renamed" and project.description == "new words"
    with pytest.raises(scopehub.Conflict) as conflict:
        stale.update(name="too late")
    assert "was changed by someone else" in conflict.value.message and conflict.value.status == 409
    report = project.delete(dry_run=True)
    assert report["dry_run"] is True and hub.project(project.id).name == "renamed"
    project.delete()
    with pytest.raises(scopehub.NotFound, match=f"project {project.id} not found"):
        hub.project(project.id)


def test_what_you_may_not_see_or_do_is_an_exception_with_the_servers_message(api: Api) -> None:
    team = make_team(api, "read-only")
    alice = scopehub.connect(api.base, api.token, act_as=team.alice.act_as)
    bob = scopehub.connect(api.base, api.token, act_as=team.bob.act_as)
    mine = alice.create_project(unique("alice's"), group=team.group, provenance=False)
    seen = bob.project(mine.id)  # read-only: bob sees it
    with pytest.raises(scopehub.Forbidden) as refused:
        seen.update(name="bob was here")
    assert refused.value.message == f"you may not edit project {mine.id}" and refused.value.code == "forbidden"
    with pytest.raises(scopehub.Forbidden, match="you may not annotate"):
        seen.add_tag("bob's")
    private = api.make_group("private")
    api.add_member(private["id"], team.alice.act_as)
    hidden = alice.create_project(unique("hidden"), group=private["id"], provenance=False)
    with pytest.raises(scopehub.NotFound) as missing:
        bob.project(hidden.id)
    assert missing.value.message == f"project {hidden.id} not found"
    with pytest.raises(scopehub.BadRequest) as bad:
        alice.projects(order="sideways").first()
    assert bad.value.message.startswith("order must be one of")


def test_an_image_shows_its_thumbnail_and_key_facts(hub: scopehub.Hub, api: Api, stored) -> None:
    data = make_data((1, 2, 3, 700, 1100))
    made = stored.add(api, data, name=unique("shown"))
    image = hub.image(made["id"])
    assert image.shape == (1, 2, 3, 700, 1100) and image.dtype.name == "uint16"
    assert image.levels == [(700, 1100), (350, 550), (175, 275)]
    assert image.channel_names == ["channel 1", "channel 2"]
    assert image.physical_size == {"x": 0.5, "y": 0.5, "z": 1.0}
    html = image._repr_html_()
    thumbnail = re.search(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", html)
    assert thumbnail and base64.b64decode(thumbnail[1])[:2] == b"\xff\xd8"
    for fact in ("1100 × 700 pixels, 3 z, 2 channels, 1 time point", "uint16", "channel 1, channel 2",
                 "0.5 × 0.5 µm, z step 1 µm", "1100×700, 550×350, 275×175"):
        assert fact in html, fact
    assert repr(image) == f"<Image {image.id} {image.name!r} 1100×700 uint16>"
    assert max(image.thumbnail(64).size) == 64
    tile = image.render(region=(100, 200, 300, 150), channels="1|0:60000$FF0000", z=1)
    assert tile.size == (300, 150) and tile.mode == "RGB"
    # A record without pixels says so, and reading it is a clear error.
    bare = hub.image(api.ok("POST", "images", json={"name": unique("bare")})["id"])
    assert "<td" in bare._repr_html_() and "none" in bare._repr_html_() and "data:image" not in bare._repr_html_()
    with pytest.raises(scopehub.NotFound, match="has no pixels"):
        bare.to_numpy()
