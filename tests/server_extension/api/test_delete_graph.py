"""OMERO's graph rules through the HTTP API: what a delete takes along and what it leaves, dry runs,
children the caller may not delete, change of owner and move to another group."""

from __future__ import annotations

from pathlib import Path

from tests.api_client import Api, Team, make_team, unique


def create(client: Api, kind: str, group: int, **fields) -> int:
    return client.ok("POST", f"{kind}s", 201, json={"name": unique(kind), "group_id": group, **fields})["id"]


def link(client: Api, parent: str, parent_id: int, child: str, child_id: int) -> None:
    client.ok("PUT", f"{parent}s/{parent_id}/{child}s/{child_id}")


def annotate(client: Api, kind: str, on: list[str], **fields) -> int:
    return client.ok("POST", "annotations", 201, json={"type": kind, "on": on, **fields})["id"]


def exists(client: Api, path: str) -> bool:
    r = client.get(path)
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


def parents(client: Api, path: str) -> list[int]:
    return client.ok("GET", path)["parents"]


def tree(team: Team) -> dict[str, int]:
    """P holds D1 (only there) and D2 (also in P2); D1 holds I1 (only there) and I2 (also in D3);
    D2 holds I3."""
    c, g = team.alice, team.group
    ids = {"P": create(c, "project", g), "P2": create(c, "project", g)}
    ids |= {d: create(c, "dataset", g) for d in ("D1", "D2", "D3")}
    ids |= {i: create(c, "image", g) for i in ("I1", "I2", "I3")}
    for p, d in (("P", "D1"), ("P", "D2"), ("P2", "D2")):
        link(c, "project", ids[p], "dataset", ids[d])
    for d, i in (("D1", "I1"), ("D1", "I2"), ("D3", "I2"), ("D2", "I3")):
        link(c, "dataset", ids[d], "image", ids[i])
    return ids


# ---- what goes and what stays --------------------------------------------------------------
def test_delete_takes_only_what_is_held_nowhere_else(api: Api) -> None:
    team = make_team(api, "read-write")
    ids = tree(team)
    report = team.alice.ok("DELETE", f"projects/{ids['P']}")
    assert report["dry_run"] is False
    assert report["deleted"] == {"project": [ids["P"]], "dataset": [ids["D1"]], "image": [ids["I1"]]}
    assert report["kept"] == {"dataset": [ids["D2"]], "image": [ids["I2"]]}
    for gone in (f"projects/{ids['P']}", f"datasets/{ids['D1']}", f"images/{ids['I1']}"):
        assert not exists(team.alice, gone), gone
    assert parents(team.alice, f"datasets/{ids['D2']}") == [ids["P2"]]
    assert parents(team.alice, f"images/{ids['I2']}") == [ids["D3"]]
    assert parents(team.alice, f"images/{ids['I3']}") == [ids["D2"]]
    assert team.alice.ok("GET", f"projects/{ids['P2']}")["child_count"] == 1
    assert team.alice.delete(f"projects/{ids['P']}").status_code == 404


def test_dry_run_reports_and_changes_nothing(api: Api) -> None:
    team = make_team(api, "read-write")
    ids = tree(team)
    comment = annotate(team.alice, "comment", [f"image:{ids['I1']}"], value="goes with I1")
    before = {path: team.alice.ok("GET", path) for path in
              [f"projects/{ids['P']}", f"datasets/{ids['D1']}", f"datasets/{ids['D2']}", f"images/{ids['I1']}",
               f"images/{ids['I2']}", f"annotations/{comment}"]}
    for flag in ("1", "true", "yes"):
        dry = team.alice.ok("DELETE", f"projects/{ids['P']}", params={"dry_run": flag})
        assert dry["dry_run"] is True
        assert dry["deleted"] == {"project": [ids["P"]], "dataset": [ids["D1"]], "image": [ids["I1"]],
                                  "annotation": [comment]}
        assert dry["kept"] == {"dataset": [ids["D2"]], "image": [ids["I2"]]}
    assert {path: team.alice.ok("GET", path) for path in before} == before
    # A dry run needs the same rights as the real thing.
    ro = make_team(api, "read-only")
    project = create(ro.alice, "project", ro.group)
    assert ro.bob.delete(f"projects/{project}", params={"dry_run": 1}).status_code == 403
    assert team.alice.delete(f"projects/{ids['P']}", params={"dry_run": "perhaps"}).status_code == 400
    # The real delete then does what the dry run said.
    real = team.alice.ok("DELETE", f"projects/{ids['P']}")
    assert real["deleted"] == dry["deleted"] and real["kept"] == dry["kept"]


def test_annotations_follow_their_last_object(api: Api, catalogue) -> None:
    team = make_team(api, "read-annotate")
    dataset = create(team.alice, "dataset", team.group)
    image, other = create(team.alice, "image", team.group), create(team.alice, "image", team.group)
    link(team.alice, "dataset", dataset, "image", image)
    on = [f"image:{image}"]
    comment = annotate(team.alice, "comment", on, value="c")
    kv = annotate(team.alice, "map", on, values=[["k", "v"]])
    rating = annotate(team.alice, "rating", on, value=3)
    shared = annotate(team.alice, "comment", [*on, f"image:{other}"], value="on two images")
    tag = annotate(team.alice, "tag", on, value=unique("tag"))
    name = unique("notes") + ".txt"
    r = team.alice.post("annotations", files={"file": (name, b"notes")}, data={"on": on})
    assert r.status_code == 201, r.text
    attachment = r.json()["id"]

    report = team.alice.ok("DELETE", f"datasets/{dataset}")
    assert report["deleted"]["image"] == [image]
    assert report["deleted"]["annotation"] == sorted([comment, kv, rating])
    for gone in (comment, kv, rating):
        assert not exists(team.alice, f"annotations/{gone}")
    # Tags and attachments stay (unlinked); a comment on a second image stays on it.
    assert team.alice.ok("GET", f"annotations/{tag}")["links"] == []
    assert team.alice.ok("GET", f"annotations/{attachment}")["links"] == []
    assert team.alice.get(f"annotations/{attachment}/file").content == b"notes"
    assert [lk["parent"]["id"] for lk in team.alice.ok("GET", f"annotations/{shared}")["links"]] == [other]

    # include=tag,file takes them too, unless something else still uses them.
    tag2, tag_elsewhere = annotate(team.alice, "tag", [f"image:{other}"], value=unique("t")), tag
    team.alice.ok("PUT", f"images/{other}/annotations/{tag_elsewhere}")
    r = team.alice.post("annotations", files={"file": (name, b"second")}, data={"on": [f"image:{other}"]})
    attachment2 = r.json()["id"]
    third = create(team.alice, "image", team.group)
    team.alice.ok("PUT", f"images/{third}/annotations/{tag_elsewhere}")
    store = Path(catalogue.data_dir) / "store"
    assert len(list(store.rglob(name))) == 2
    assert team.alice.delete(f"images/{other}", params={"include": "tag,sticker"}).status_code == 400
    report = team.alice.ok("DELETE", f"images/{other}", params={"include": "tag,file"})
    assert sorted(report["deleted"]["annotation"]) == sorted([tag2, attachment2, shared])
    for gone in (tag2, attachment2, shared):
        assert not exists(team.alice, f"annotations/{gone}")
    assert [lk["parent"]["id"] for lk in team.alice.ok("GET", f"annotations/{tag_elsewhere}")["links"]] == [third]
    # The deleted attachment's copy left the store; the first one's is still there.
    assert [p.read_bytes() for p in store.rglob(name)] == [b"notes"]


def test_plate_delete_takes_wells_and_their_images(api: Api) -> None:
    team = make_team(api, "read-write")
    screen = create(team.alice, "screen", team.group)
    plate = create(team.alice, "plate", team.group, screen_id=screen)
    only_in_well, also_in_dataset = create(team.alice, "image", team.group), create(team.alice, "image", team.group)
    dataset = create(team.alice, "dataset", team.group)
    link(team.alice, "dataset", dataset, "image", also_in_dataset)
    well = team.alice.ok("POST", f"plates/{plate}/wells", 201,
                         json={"row": 0, "column": 0, "image_ids": [only_in_well, also_in_dataset]})
    note = annotate(team.alice, "comment", [f"well:{well['id']}"], value="edge")
    report = team.alice.ok("DELETE", f"screens/{screen}")
    assert report["deleted"]["screen"] == [screen] and report["deleted"]["plate"] == [plate]
    assert report["deleted"]["image"] == [only_in_well] and report["kept"]["image"] == [also_in_dataset]
    assert report["deleted"]["annotation"] == [note]
    assert not exists(team.alice, f"images/{only_in_well}") and exists(team.alice, f"images/{also_in_dataset}")
    assert not exists(team.alice, f"annotations/{note}")


# ---- children the caller may not delete ----------------------------------------------------
def test_children_the_caller_may_not_delete_stay(api: Api) -> None:
    """read-annotate: alice may not delete bob's data, even inside her project (a group owner
    linked it there); the group owner, and in a read-write group any member, may."""
    ra = make_team(api, "read-annotate")
    project = create(ra.alice, "project", ra.group)
    hers, his = create(ra.alice, "dataset", ra.group), create(ra.bob, "dataset", ra.group)
    his_image = create(ra.bob, "image", ra.group)
    link(ra.owner, "project", project, "dataset", hers)
    link(ra.owner, "project", project, "dataset", his)
    link(ra.owner, "dataset", hers, "image", his_image)
    his_comment = annotate(ra.bob, "comment", [f"project:{project}"], value="bob was here")
    report = ra.alice.ok("DELETE", f"projects/{project}")
    assert report["deleted"] == {"project": [project], "dataset": [hers]}
    assert report["kept"] == {"dataset": [his], "image": [his_image]}
    assert parents(ra.bob, f"datasets/{his}") == [] and parents(ra.bob, f"images/{his_image}") == []
    # bob's comment is his: it loses its link but is not deleted by alice.
    assert ra.bob.ok("GET", f"annotations/{his_comment}")["links"] == []

    # The group owner's delete takes everyone's data.
    project = create(ra.alice, "project", ra.group)
    link(ra.owner, "project", project, "dataset", his)
    link(ra.owner, "dataset", his, "image", his_image)
    report = ra.owner.ok("DELETE", f"projects/{project}")
    assert report["deleted"] == {"project": [project], "dataset": [his], "image": [his_image]}
    assert report["kept"] == {}

    # In a read-write group, any member's delete does too.
    rw = make_team(api, "read-write")
    project = create(rw.alice, "project", rw.group)
    his = create(rw.bob, "dataset", rw.group)
    link(rw.bob, "project", project, "dataset", his)
    his_comment = annotate(rw.bob, "comment", [f"dataset:{his}"], value="c")
    report = rw.alice.ok("DELETE", f"projects/{project}")
    assert report["deleted"] == {"project": [project], "dataset": [his], "annotation": [his_comment]}
    # bob may even delete alice's project itself.
    assert rw.bob.ok("DELETE", f"projects/{create(rw.alice, 'project', rw.group)}")["deleted"]


def test_delete_of_others_data_by_level(api: Api) -> None:
    for level, bob_status in (("private", 404), ("read-only", 403), ("read-annotate", 403), ("read-write", 200)):
        team = make_team(api, level)
        project = create(team.alice, "project", team.group)
        r = team.bob.delete(f"projects/{project}")
        assert r.status_code == bob_status, (level, r.text)
        assert exists(team.alice, f"projects/{project}") == (bob_status != 200)
        if bob_status != 200:
            assert r.json()["error"]["code"] == ("not_found" if bob_status == 404 else "forbidden")
            team.owner.ok("DELETE", f"projects/{project}")  # the group owner always may
            assert not exists(team.alice, f"projects/{project}")
    outsider = make_team(api, "read-write")
    project = create(outsider.alice, "project", outsider.group)
    assert make_team(api, "read-write").alice.delete(f"projects/{project}").status_code == 404
    assert api.ok("DELETE", f"projects/{project}")["deleted"] == {"project": [project]}  # an admin always may


# ---- change owner --------------------------------------------------------------------------
def test_change_owner(api: Api) -> None:
    team = make_team(api, "read-annotate")
    bob_id = team.bob.ok("GET", "me")["id"]
    alice_id = team.alice.ok("GET", "me")["id"]
    project = create(team.alice, "project", team.group)
    # Never by a member, not even of their own data.
    r = team.alice.patch(f"projects/{project}", json={"owner_id": bob_id})
    assert r.status_code == 403, r.text
    assert team.alice.ok("GET", f"projects/{project}")["owner"]["id"] == alice_id
    # The group owner may; the object then answers with bob's rights for alice.
    given = team.owner.ok("PATCH", f"projects/{project}", json={"owner_id": bob_id})
    assert given["owner"] == {"id": bob_id, "username": team.bob.act_as}
    mine = team.alice.ok("GET", f"projects/{project}")
    assert not mine["can_edit"] and mine["can_annotate"]
    assert team.bob.ok("GET", f"projects/{project}")["can_edit"]
    # An admin may; the new owner must be a member of the object's group.
    assert api.ok("PATCH", f"projects/{project}", json={"owner_id": alice_id})["owner"]["id"] == alice_id
    stranger = api.make_user()["id"]
    for target in (stranger, 2**62):
        r = api.patch(f"projects/{project}", json={"owner_id": target})
        assert r.status_code == 400, r.text
    assert team.alice.ok("GET", f"projects/{project}")["owner"]["id"] == alice_id
    # A failed change of owner changes nothing else sent with it.
    r = api.patch(f"projects/{project}", json={"name": "renamed", "owner_id": stranger})
    assert r.status_code == 400
    assert team.alice.ok("GET", f"projects/{project}")["name"] != "renamed"
    # The change is in the audit log.
    entries = api.ok("GET", "audit", params={"limit": 50})["items"]
    assert any(e["action"] == "chown" and e["target_id"] == project for e in entries)


# ---- change group --------------------------------------------------------------------------
def test_change_group_moves_exclusive_children_and_drops_links(api: Api) -> None:
    team = make_team(api, "read-write")
    target = api.make_group("read-write")["id"]
    api.add_member(target, team.alice.act_as)
    ids = tree(team)
    tag_only_here = annotate(team.alice, "tag", [f"project:{ids['P']}"], value=unique("t"))
    tag_shared = annotate(team.alice, "tag", [f"project:{ids['P']}", f"project:{ids['P2']}"], value=unique("t"))
    comment = annotate(team.alice, "comment", [f"dataset:{ids['D1']}"], value="moves with D1")

    # Only admins move data between groups: not the owner of the data, not the group owner.
    for client in (team.alice, team.owner):
        r = client.patch(f"projects/{ids['P']}", json={"group_id": target})
        assert r.status_code in (403, 404), r.text
    moved = api.ok("PATCH", f"projects/{ids['P']}", json={"group_id": target})
    assert moved["group"]["id"] == target and moved["child_count"] == 1

    def group_of(path: str) -> int:
        return team.alice.ok("GET", path)["group"]["id"]

    assert group_of(f"datasets/{ids['D1']}") == target and group_of(f"images/{ids['I1']}") == target
    assert group_of(f"datasets/{ids['D2']}") == team.group and group_of(f"images/{ids['I2']}") == team.group
    # Links between what moved and what stayed are gone; links inside the moved graph remain.
    assert parents(team.alice, f"datasets/{ids['D2']}") == [ids["P2"]]
    assert parents(team.alice, f"images/{ids['I2']}") == [ids["D3"]]
    assert parents(team.alice, f"datasets/{ids['D1']}") == [ids["P"]]
    assert parents(team.alice, f"images/{ids['I1']}") == [ids["D1"]]
    # Annotations used only by moved objects move with them; shared ones stay and lose the link.
    assert group_of(f"annotations/{tag_only_here}") == target
    assert group_of(f"annotations/{comment}") == target
    shared = team.alice.ok("GET", f"annotations/{tag_shared}")
    assert shared["group"]["id"] == team.group and [lk["parent"]["id"] for lk in shared["links"]] == [ids["P2"]]
    assert team.alice.ok("GET", "annotations", params={"on": f"project:{ids['P']}"})["total"] == 1
    # bob is not in the target group: he no longer sees the moved project.
    assert team.bob.get(f"projects/{ids['P']}").status_code == 404


def test_change_group_needs_every_owner_in_the_target_group(api: Api) -> None:
    team = make_team(api, "read-write")
    target = api.make_group("read-write")["id"]
    api.add_member(target, team.alice.act_as)
    project = create(team.alice, "project", team.group)
    his = create(team.bob, "dataset", team.group)
    link(team.bob, "project", project, "dataset", his)
    r = api.patch(f"projects/{project}", json={"group_id": target, "name": "moved"})
    assert r.status_code == 400 and team.bob.act_as not in r.text, r.text
    got = team.alice.ok("GET", f"projects/{project}")
    assert got["group"]["id"] == team.group and got["name"] != "moved" and got["version"] == 1
    assert parents(team.bob, f"datasets/{his}") == [project]
    # A group that does not exist.
    r = api.patch(f"projects/{project}", json={"group_id": 2**62})
    assert r.status_code == 404, r.text
    # Once bob is a member too, the move goes through and takes his dataset along.
    api.add_member(target, team.bob.act_as)
    api.ok("PATCH", f"projects/{project}", json={"group_id": target})
    assert team.bob.ok("GET", f"datasets/{his}")["group"]["id"] == target
