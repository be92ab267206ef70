"""Projects, datasets, images, screens, plates and wells through the HTTP API: CRUD, links,
paging, ordering, filters, word search, counts and versions. Each test runs on both databases."""

from __future__ import annotations

import pytest

from tests.api_client import Api, make_team, unique

KINDS = ("project", "dataset", "image", "screen", "plate")
PARENT_FIELD = {"dataset": "project_id", "image": "dataset_id", "plate": "screen_id"}
OWNED_FIELDS = {"id", "owner", "group", "created", "modified", "version", "can_edit", "can_delete",
                "can_annotate", "can_link", "can_chown", "can_chgrp", "type", "name", "description"}


def create(client: Api, kind: str, group: int, name: str | None = None, **fields) -> dict:
    return client.ok("POST", f"{kind}s", 201, json={"name": name or unique(kind), "group_id": group, **fields})


def names(page: dict) -> list[str]:
    return [item["name"] for item in page["items"]]


# ---- CRUD ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_create_read_edit_delete(api: Api, kind: str) -> None:
    team = make_team(api, "read-annotate")
    name = unique(f"A {kind}")
    made = create(team.alice, kind, team.group, name, description="first words")
    assert set(made) >= OWNED_FIELDS
    assert made["type"] == kind and made["name"] == name and made["description"] == "first words"
    assert made["group"]["id"] == team.group and made["owner"]["username"] == team.alice.act_as
    assert made["version"] == 1 and made["created"] and made["modified"]
    assert made["can_edit"] and made["can_delete"] and made["can_annotate"] and made["can_link"]
    assert not made["can_chown"] and not made["can_chgrp"]  # a member may not give away or move

    r = team.alice.get(f"{kind}s/{made['id']}")
    assert r.status_code == 200 and r.json()["name"] == name
    assert r.headers["ETag"] == '"1"'

    edited = team.alice.ok("PATCH", f"{kind}s/{made['id']}", json={"name": "  renamed  ", "description": "new"})
    assert edited["name"] == "renamed"  # surrounding white space is stripped
    assert edited["description"] == "new" and edited["version"] == 2
    assert edited["modified"] >= made["modified"] and edited["created"] == made["created"]

    report = team.alice.ok("DELETE", f"{kind}s/{made['id']}", 200)
    assert report["deleted"][kind] == [made["id"]] and report["dry_run"] is False
    r = team.alice.get(f"{kind}s/{made['id']}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("kind", ("dataset", "image", "plate"))
def test_create_inside_a_parent(api: Api, kind: str) -> None:
    parent_kind = {"dataset": "project", "image": "dataset", "plate": "screen"}[kind]
    team = make_team(api, "read-only")
    parent = create(team.alice, parent_kind, team.group)
    child = create(team.alice, kind, team.group, **{PARENT_FIELD[kind]: parent["id"]})
    assert child["parents"] == [parent["id"]]
    assert team.alice.ok("GET", f"{parent_kind}s/{parent['id']}")["child_count"] == 1
    listed = team.alice.ok("GET", f"{kind}s", params={parent_kind: parent["id"]})
    assert [i["id"] for i in listed["items"]] == [child["id"]] and listed["total"] == 1


def test_image_reply_has_pixel_fields(api: Api) -> None:
    team = make_team(api, "private")
    image = create(team.alice, "image", team.group)
    assert image["pixels"] is None and image["channels"] == [] and image["fileset_id"] is None
    assert image["parents"] == []


def test_plate_rows_columns_and_wells(api: Api) -> None:
    team = make_team(api, "read-write")
    screen = create(team.alice, "screen", team.group)
    plate = create(team.alice, "plate", team.group, rows=2, columns=3, screen_id=screen["id"])
    assert (plate["rows"], plate["columns"], plate["parents"]) == (2, 3, [screen["id"]])
    images = [create(team.alice, "image", team.group) for _ in range(2)]
    well = team.alice.ok("POST", f"plates/{plate['id']}/wells", 201,
                         json={"row": 1, "column": 2, "image_ids": [i["id"] for i in images]})
    assert (well["plate_id"], well["row"], well["column"]) == (plate["id"], 1, 2)
    assert [s["image_id"] for s in well["samples"]] == [i["id"] for i in images]
    team.alice.ok("POST", f"plates/{plate['id']}/wells", 201, json={"row": 0, "column": 0})

    wells = team.alice.ok("GET", f"plates/{plate['id']}/wells")
    assert [(w["row"], w["column"]) for w in wells["items"]] == [(0, 0), (1, 2)] and wells["total"] == 2
    # Outside the plate, twice in one place, an image from another group.
    r = team.alice.post(f"plates/{plate['id']}/wells", json={"row": 2, "column": 0})
    assert r.status_code == 400, r.text
    r = team.alice.post(f"plates/{plate['id']}/wells", json={"row": 1, "column": 2})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    stranger = create(api, "image", make_team(api, "read-write").group)
    r = api.post(f"plates/{plate['id']}/wells", json={"row": 0, "column": 1, "image_ids": [stranger["id"]]})
    assert r.status_code == 400, r.text
    assert team.alice.ok("GET", f"plates/{plate['id']}/wells")["total"] == 2
    # A plate without size takes any position.
    free = create(team.alice, "plate", team.group)
    assert free["rows"] is None
    team.alice.ok("POST", f"plates/{free['id']}/wells", 201, json={"row": 999, "column": 999})
    # A read-only group's other member may see the wells but not add one.
    ro = make_team(api, "read-only")
    plate = create(ro.alice, "plate", ro.group)
    assert ro.bob.post(f"plates/{plate['id']}/wells", json={"row": 0, "column": 0}).status_code == 403
    assert ro.bob.ok("GET", f"plates/{plate['id']}/wells")["total"] == 0


# ---- links ---------------------------------------------------------------------------------
def test_many_to_many_links_and_unlink(api: Api) -> None:
    team = make_team(api, "read-write")
    p1, p2 = create(team.alice, "project", team.group), create(team.alice, "project", team.group)
    d1, d2 = create(team.alice, "dataset", team.group), create(team.alice, "dataset", team.group)
    image = create(team.alice, "image", team.group)
    for p in (p1, p2):
        link = team.alice.ok("PUT", f"projects/{p['id']}/datasets/{d1['id']}")
        assert link["parent"] == {"type": "project", "id": p["id"]}
        assert link["child"] == {"type": "dataset", "id": d1["id"]}
    # Linking twice is harmless: the same link comes back.
    again = team.alice.ok("PUT", f"projects/{p1['id']}/datasets/{d1['id']}")
    assert again["id"] == team.alice.ok("PUT", f"projects/{p1['id']}/datasets/{d1['id']}")["id"]
    team.alice.ok("PUT", f"projects/{p1['id']}/datasets/{d2['id']}")
    for d in (d1, d2):
        team.alice.ok("PUT", f"datasets/{d['id']}/images/{image['id']}")

    assert team.alice.ok("GET", f"datasets/{d1['id']}")["parents"] == sorted([p1["id"], p2["id"]])
    assert team.alice.ok("GET", f"images/{image['id']}")["parents"] == sorted([d1["id"], d2["id"]])
    assert team.alice.ok("GET", f"projects/{p1['id']}")["child_count"] == 2
    assert team.alice.ok("GET", f"projects/{p2['id']}")["child_count"] == 1
    in_p1 = team.alice.ok("GET", "datasets", params={"project": p1["id"]})
    assert {i["id"] for i in in_p1["items"]} == {d1["id"], d2["id"]} and in_p1["total"] == 2

    # The link belongs to whoever made it; in a read-write group bob may unlink it too.
    r = team.bob.delete(f"projects/{p1['id']}/datasets/{d1['id']}")
    assert r.status_code == 204 and not r.content
    assert team.alice.ok("GET", f"datasets/{d1['id']}")["parents"] == [p2["id"]]
    r = team.alice.delete(f"projects/{p1['id']}/datasets/{d1['id']}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # Unlinking removes only the link: both ends are still there.
    assert team.alice.get(f"projects/{p1['id']}").status_code == 200
    team.alice.ok("DELETE", f"datasets/{d2['id']}/images/{image['id']}", 204)
    assert team.alice.ok("GET", f"images/{image['id']}")["parents"] == [d1["id"]]


def test_unlink_needs_permission(api: Api) -> None:
    team = make_team(api, "read-annotate")
    project, dataset = create(team.alice, "project", team.group), create(team.alice, "dataset", team.group)
    team.alice.ok("PUT", f"projects/{project['id']}/datasets/{dataset['id']}")
    r = team.bob.delete(f"projects/{project['id']}/datasets/{dataset['id']}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = team.bob.put(f"projects/{project['id']}/datasets/{dataset['id']}")
    assert r.status_code == 403
    assert team.alice.ok("GET", f"datasets/{dataset['id']}")["parents"] == [project["id"]]
    team.owner.ok("DELETE", f"projects/{project['id']}/datasets/{dataset['id']}", 204)  # group owners may


def test_link_across_groups_is_refused_and_changes_nothing(api: Api) -> None:
    one, two = make_team(api, "read-write"), make_team(api, "read-write")
    api.add_member(two.group, one.alice.act_as)
    project = create(one.alice, "project", one.group)
    here = create(one.alice, "dataset", one.group)
    one.alice.ok("PUT", f"projects/{project['id']}/datasets/{here['id']}")
    there = create(one.alice, "dataset", two.group)
    image = create(one.alice, "image", two.group)
    for path in (f"projects/{project['id']}/datasets/{there['id']}", f"datasets/{here['id']}/images/{image['id']}"):
        r = one.alice.put(path)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text
        r = api.put(path)  # not even an admin
        assert r.status_code == 400, r.text
    assert one.alice.ok("GET", f"projects/{project['id']}")["child_count"] == 1
    assert one.alice.ok("GET", f"datasets/{there['id']}")["parents"] == []
    assert one.alice.ok("GET", f"images/{image['id']}")["parents"] == []
    # Nor may a dataset be created inside a project of another group.
    before = one.alice.ok("GET", "datasets", params={"group": two.group})
    r = one.alice.post("datasets", json={"name": unique("x"), "group_id": two.group, "project_id": project["id"]})
    assert r.status_code == 400, r.text
    assert one.alice.ok("GET", "datasets", params={"group": two.group})["total"] == before["total"]


def test_child_count_counts_only_visible_children(api: Api) -> None:
    team = make_team(api, "private")
    project = create(team.alice, "project", team.group)
    mine = create(team.alice, "dataset", team.group, project_id=project["id"])
    # The group owner sees everything in a private group and may link into alice's project.
    theirs = create(team.owner, "dataset", team.group)
    team.owner.ok("PUT", f"projects/{project['id']}/datasets/{theirs['id']}")
    assert team.owner.ok("GET", f"projects/{project['id']}")["child_count"] == 2
    assert team.alice.ok("GET", f"projects/{project['id']}")["child_count"] == 1
    listed = team.alice.ok("GET", "datasets", params={"project": project["id"]})
    assert [i["id"] for i in listed["items"]] == [mine["id"]] and listed["total"] == 1
    # alice's dataset lists only the parents she can see; bob sees neither the project nor its list.
    assert team.owner.ok("GET", f"datasets/{theirs['id']}")["parents"] == [project["id"]]
    assert team.bob.get(f"projects/{project['id']}").status_code == 404
    r = team.bob.get("datasets", params={"project": project["id"]})
    assert r.status_code == 404, r.text


# ---- paging, ordering, filters, search -----------------------------------------------------
def test_paging_is_complete_and_stable(api: Api) -> None:
    team = make_team(api, "read-only")
    # Repeated names and mixed case: ties are broken by id and case does not split the order.
    made = [create(team.alice, "project", team.group, n)
            for n in ("beta", "Alpha", "gamma", "alpha", "Beta", "delta", "beta")]
    full = team.alice.ok("GET", "projects", params={"group": team.group, "limit": 1000})
    assert full["total"] == len(made) and full["offset"] == 0 and full["limit"] == 1000
    assert [n.lower() for n in names(full)] == sorted(n.lower() for n in names(full))
    by_name = [i["id"] for i in full["items"]]
    pages = []
    for offset in range(0, 9, 2):
        page = team.alice.ok("GET", "projects", params={"group": team.group, "limit": 2, "offset": offset})
        assert page["total"] == len(made) and page["offset"] == offset and page["limit"] == 2
        assert len(page["items"]) == min(2, max(0, len(made) - offset))
        pages += [i["id"] for i in page["items"]]
    assert pages == by_name  # no gap, no overlap
    # Ties on the name keep id order.
    betas = [i["id"] for i in full["items"] if i["name"].lower() == "beta"]
    assert betas == sorted(betas)
    # Past the end: an empty page, and still the total.
    far = team.alice.ok("GET", "projects", params={"group": team.group, "offset": 10**12})
    assert far["items"] == [] and far["total"] == len(made)
    # The default page size is 100.
    assert team.alice.ok("GET", "projects", params={"group": team.group})["limit"] == 100


@pytest.mark.parametrize("order", ["name", "-name", "id", "-id", "created", "-created", "modified", "-modified"])
def test_order(api: Api, order: str) -> None:
    team = make_team(api, "read-only")
    made = [create(team.alice, "dataset", team.group, n) for n in ("b", "C", "a", "B")]
    # Touch the first one so that modified differs from created order.
    team.alice.ok("PATCH", f"datasets/{made[0]['id']}", json={"description": "touched"})
    page = team.alice.ok("GET", "datasets", params={"group": team.group, "order": order})
    got = [i["id"] for i in page["items"]]
    ids = [d["id"] for d in made]
    key = order.lstrip("-")
    if key == "name":
        expected = [d["id"] for d in sorted(made, key=lambda d: (d["name"].lower(), d["id"]))]
        if order.startswith("-"):
            expected = [d["id"] for d in sorted(made, key=lambda d: (d["name"].lower(), d["id"]), reverse=True)]
    elif key in ("id", "created"):
        expected = sorted(ids, reverse=order.startswith("-"))
    else:
        expected = [*ids[1:], ids[0]]
        if order.startswith("-"):
            expected.reverse()
    assert got == expected


def test_unknown_order_is_refused(api: Api) -> None:
    r = api.get("projects", params={"order": "owner"})
    assert r.status_code == 400 and "order" in r.json()["error"]["message"]


def test_owner_group_and_parent_filters(api: Api) -> None:
    team, other = make_team(api, "read-only"), make_team(api, "read-only")
    api.add_member(other.group, team.alice.act_as)
    a1 = create(team.alice, "project", team.group)
    b1 = create(team.bob, "project", team.group)
    a2 = create(team.alice, "project", other.group)
    alice_id = a1["owner"]["id"]

    def ids(**params) -> set[int]:
        page = team.alice.ok("GET", "projects", params={**params, "limit": 1000})
        assert page["total"] == len(page["items"])
        return {i["id"] for i in page["items"]}

    assert ids(group=team.group) == {a1["id"], b1["id"]}
    assert ids(group=team.group, owner=alice_id) == {a1["id"]}
    assert {a1["id"], a2["id"]} <= ids(owner=alice_id)
    assert b1["id"] not in ids(owner=alice_id)
    assert ids(group=other.group, owner=b1["owner"]["id"]) == set()
    # Parent filters for each child kind.
    project = create(team.alice, "project", team.group)
    dataset = create(team.alice, "dataset", team.group, project_id=project["id"])
    create(team.alice, "dataset", team.group)
    image = create(team.alice, "image", team.group, dataset_id=dataset["id"])
    screen = create(team.alice, "screen", team.group)
    plate = create(team.alice, "plate", team.group, screen_id=screen["id"])
    create(team.alice, "plate", team.group)
    for kind, parent, child in (("dataset", project, dataset), ("image", dataset, image), ("plate", screen, plate)):
        page = team.alice.ok("GET", f"{kind}s", params={parent["type"]: parent["id"]})
        assert [i["id"] for i in page["items"]] == [child["id"]], kind
    # A parent that does not exist is a 404, like an invisible one.
    r = team.alice.get("datasets", params={"project": 2**62})
    assert r.status_code == 404, r.text
    # Filtering by a group one is not in shows nothing (not an error).
    outsider = make_team(api, "read-write")
    assert outsider.alice.ok("GET", "projects", params={"group": team.group})["total"] == 0


def test_orphaned(api: Api) -> None:
    team = make_team(api, "read-only")
    dataset = create(team.alice, "dataset", team.group)
    linked = create(team.alice, "image", team.group, dataset_id=dataset["id"])
    lonely = create(team.alice, "image", team.group)
    page = team.alice.ok("GET", "images", params={"group": team.group, "orphaned": "true"})
    assert [i["id"] for i in page["items"]] == [lonely["id"]] and page["total"] == 1
    page = team.alice.ok("GET", "images", params={"group": team.group, "orphaned": "0"})
    assert {i["id"] for i in page["items"]} == {linked["id"], lonely["id"]}
    team.alice.ok("DELETE", f"datasets/{dataset['id']}/images/{linked['id']}", 204)
    assert team.alice.ok("GET", "images", params={"group": team.group, "orphaned": 1})["total"] == 2
    assert team.alice.ok("GET", "datasets", params={"group": team.group, "orphaned": 1})["total"] == 1
    project = create(team.alice, "project", team.group)
    team.alice.ok("PUT", f"projects/{project['id']}/datasets/{dataset['id']}")
    assert team.alice.ok("GET", "datasets", params={"group": team.group, "orphaned": 1})["total"] == 0
    assert team.alice.get("images", params={"orphaned": "maybe"}).status_code == 400


def test_q_matches_word_prefixes_in_name_and_description(api: Api) -> None:
    team = make_team(api, "read-only")
    word = unique("zq").replace("-", "")  # one word nobody else uses
    a = create(team.alice, "project", team.group, f"Mitochondria {word} fission study")
    b = create(team.alice, "project", team.group, f"{word} Nuclei", description="Fission yeast, time-lapse")
    create(team.alice, "project", team.group, "unrelated")

    def found(q: str) -> set[int]:
        page = team.alice.ok("GET", "projects", params={"group": team.group, "q": q})
        assert page["total"] == len(page["items"])
        return {i["id"] for i in page["items"]}

    assert found(word) == {a["id"], b["id"]}
    assert found(word[:4]) == {a["id"], b["id"]}  # a prefix
    assert found("MITO") == {a["id"]}  # any case
    assert found("fiss") == {a["id"], b["id"]}  # names and descriptions
    assert found("study mitoch") == {a["id"]}  # every word, in any order
    assert found("study nuclei") == set()
    assert found("ondria") == set()  # the middle of a word is not a prefix
    assert found("yeast time") == {b["id"]}


# ---- versions ------------------------------------------------------------------------------
def test_version_and_etag(api: Api) -> None:
    team = make_team(api, "read-write")
    project = create(team.alice, "project", team.group)
    r = team.alice.get(f"projects/{project['id']}")
    assert r.headers["ETag"] == '"1"'
    r = team.alice.patch(f"projects/{project['id']}", json={"name": "two"}, headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.headers["ETag"] == '"2"'
    r = team.bob.patch(f"projects/{project['id']}", json={"name": "three", "version": 2})
    assert r.status_code == 200 and r.json()["version"] == 3
    # alice still holds version 2: her edit would overwrite bob's, so it is refused.
    r = team.alice.patch(f"projects/{project['id']}", json={"name": "stale"}, headers={"If-Match": '"2"'})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = team.alice.patch(f"projects/{project['id']}", json={"name": "stale", "version": 2})
    assert r.status_code == 409
    assert team.alice.ok("GET", f"projects/{project['id']}")["name"] == "three"
    # Without a version, last write wins.
    assert team.alice.ok("PATCH", f"projects/{project['id']}", json={"name": "four"})["version"] == 4
    # Links and unlinks do not change the container's version.
    dataset = create(team.alice, "dataset", team.group)
    team.alice.ok("PUT", f"projects/{project['id']}/datasets/{dataset['id']}")
    assert team.alice.ok("GET", f"projects/{project['id']}")["version"] == 4
