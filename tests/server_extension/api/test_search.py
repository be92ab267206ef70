"""``B/search``: names and descriptions, tags, key-value pairs and comments; visible objects only,
with counts that honour visibility, a type filter and paging."""

from __future__ import annotations

import pytest

from tests.api_client import Api, make_team, unique


def word() -> str:
    """A word no other object in the shared catalogue contains."""
    return unique("w").replace("-", "x")


def create(client: Api, kind: str, group: int, name: str, **fields) -> dict:
    return client.ok("POST", f"{kind}s", 201, json={"name": name, "group_id": group, **fields})


def hits(client: Api, q: str, **params) -> list[tuple[str, int]]:
    page = client.ok("GET", "search", params={"q": q, "limit": 1000, **params})
    assert page["total"] == len(page["items"]), page
    return [(item["type"], item["id"]) for item in page["items"]]


def test_names_and_descriptions(api: Api) -> None:
    team = make_team(api, "read-only")
    w = word()
    image = create(team.alice, "image", team.group, "gamma", description=f"stained with {w} overnight")
    dataset = create(team.alice, "dataset", team.group, f"Beta {w}")
    project = create(team.alice, "project", team.group, f"alpha {w}")
    plate = create(team.alice, "plate", team.group, f"{w} plate")
    screen = create(team.alice, "screen", team.group, f"{w} screen")
    # Projects, then datasets, images, screens and plates; by name within a type.
    expected = [("project", project["id"]), ("dataset", dataset["id"]), ("image", image["id"]),
                ("screen", screen["id"]), ("plate", plate["id"])]
    assert hits(team.alice, w) == expected
    assert hits(team.alice, w[:-2]) == expected  # a prefix
    assert hits(team.alice, w.upper()) == expected
    assert hits(team.alice, f"overnight {w}") == [("image", image["id"])]  # every word
    assert hits(team.alice, f"{w} nothing-like-it") == []
    # Items are full objects, with the caller's permissions.
    item = team.bob.ok("GET", "search", params={"q": f"alpha {w}"})["items"][0]
    assert item["name"] == f"alpha {w}" and item["can_edit"] is False and item["owner"]["id"]


def test_tags(api: Api) -> None:
    team = make_team(api, "read-annotate")
    w = word()
    image = create(team.alice, "image", team.group, "plain")
    dataset = create(team.alice, "dataset", team.group, "also plain")
    team.bob.ok("POST", "annotations", 201, json={"type": "tag", "value": f"Mitosis {w}",
                                                  "on": [f"image:{image['id']}", f"dataset:{dataset['id']}"]})
    both = [("dataset", dataset["id"]), ("image", image["id"])]
    assert hits(team.alice, f"tag:Mitosis {w}") == both
    assert hits(team.alice, f"TAG: mitosis {w.upper()} ") == both  # any case, spaces trimmed
    assert hits(team.alice, f"tag:{w}") == []  # a tag is named exactly
    assert hits(team.alice, f"tag:Mitosis {w}", type="image") == [("image", image["id"])]
    assert hits(team.alice, w) == both  # its words match like any text
    # A comment that merely mentions the words is no tag.
    other = create(team.alice, "image", team.group, "other")
    team.alice.ok("POST", "annotations", 201, json={"type": "comment", "value": f"Mitosis {w}",
                                                    "on": [f"image:{other['id']}"]})
    assert hits(team.alice, f"tag:Mitosis {w}") == both
    assert len(hits(team.alice, w)) == 3


def test_key_value_pairs(api: Api) -> None:
    team = make_team(api, "read-annotate")
    w = word()
    dataset = create(team.alice, "dataset", team.group, "kv holder")
    image = create(team.alice, "image", team.group, "kv image")
    team.alice.ok("POST", "annotations", 201, json={
        "type": "map", "on": [f"dataset:{dataset['id']}"],
        "values": [["gene", f"{w}A"], ["stain", "DAPI"], ["gene", f"{w}B"]]})
    team.alice.ok("POST", "annotations", 201, json={
        "type": "map", "on": [f"image:{image['id']}"], "values": [["gene", f"{w}B"]]})
    assert hits(team.alice, f"gene={w}A") == [("dataset", dataset["id"])]
    assert hits(team.alice, f" gene = {w}A ") == [("dataset", dataset["id"])]
    assert hits(team.alice, f"gene={w}B") == [("dataset", dataset["id"]), ("image", image["id"])]  # repeated key
    assert hits(team.alice, f"gene={w}") == []  # the value is exact
    assert hits(team.alice, f"Gene={w}A") == []  # and so is the key
    assert hits(team.alice, f"stain={w}A") == []  # the pair, not any key with any value
    assert hits(team.alice, f"{w}a") == [("dataset", dataset["id"])]  # values are words too


def test_comments(api: Api) -> None:
    team = make_team(api, "read-annotate")
    w = word()
    project = create(team.alice, "project", team.group, "commented")
    team.bob.ok("POST", "annotations", 201, json={"type": "comment", "value": f"the {w} cells look odd",
                                                  "on": [f"project:{project['id']}"]})
    assert hits(team.alice, w) == [("project", project["id"])]
    assert hits(team.alice, f"odd {w}") == [("project", project["id"])]
    assert hits(team.alice, f"odd {w}", type="dataset,image") == []


def test_only_visible_results_and_counts(api: Api) -> None:
    team = make_team(api, "private")
    w = word()
    alices = [create(team.alice, "image", team.group, f"{w} {i}") for i in range(3)]
    bobs = [create(team.bob, "image", team.group, f"{w} {i}") for i in range(2)]
    team.alice.ok("POST", "annotations", 201, json={"type": "tag", "value": f"secret {w}",
                                                    "on": [f"image:{alices[0]['id']}"]})
    assert hits(team.alice, w) == [("image", i["id"]) for i in alices]
    assert hits(team.bob, w) == [("image", i["id"]) for i in bobs]
    assert len(hits(team.owner, w)) == 5 and len(hits(api, w)) == 5
    page = team.bob.ok("GET", "search", params={"q": w, "limit": 1})
    assert page["total"] == 2 and len(page["items"]) == 1
    # A tag the caller cannot see finds nothing, even on data they could see.
    assert hits(team.bob, f"tag:secret {w}") == []
    assert hits(team.alice, f"tag:secret {w}") == [("image", alices[0]["id"])]
    # Outside the group: nothing, and a total of 0.
    outsider = make_team(api, "read-write").alice
    assert outsider.ok("GET", "search", params={"q": w})["total"] == 0
    # In a read-only group the other members see everything.
    ro = make_team(api, "read-only")
    create(ro.alice, "dataset", ro.group, f"{w} shared")
    assert len(hits(ro.bob, w)) == 1


def test_type_filter(api: Api) -> None:
    team = make_team(api, "read-only")
    w = word()
    kinds = ("project", "dataset", "image", "screen", "plate")
    made = {k: create(team.alice, k, team.group, f"{w} {k}")["id"] for k in kinds}
    assert hits(team.alice, w, type="dataset") == [("dataset", made["dataset"])]
    # Types come in the order asked for.
    assert hits(team.alice, w, type="plate,project") == [("plate", made["plate"]), ("project", made["project"])]
    assert len(hits(team.alice, w, type="")) == 5
    for bad in ("tag", "annotation", "images", "project,tag"):
        r = team.alice.get("search", params={"q": w, "type": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", (bad, r.text)


def test_paging(api: Api) -> None:
    team = make_team(api, "read-only")
    w = word()
    for i in range(3):
        create(team.alice, "dataset", team.group, f"{w} d{i}")
        create(team.alice, "project", team.group, f"{w} p{i}")
    everything = hits(team.alice, w)
    assert len(everything) == 6 and [t for t, _ in everything] == ["project"] * 3 + ["dataset"] * 3
    paged = []
    for offset in range(0, 8, 2):
        page = team.alice.ok("GET", "search", params={"q": w, "offset": offset, "limit": 2})
        assert page["total"] == 6 and page["offset"] == offset and page["limit"] == 2
        paged += [(i["type"], i["id"]) for i in page["items"]]
    assert paged == everything


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 1001}, {"q": "x", "limit": 0},
                                    {"q": "x", "offset": -1}])
def test_bad_search_requests(api: Api, params: dict) -> None:
    r = api.get("search", params=params)
    assert r.status_code == 400 and set(r.json()["error"]) >= {"code", "message"}, r.text
