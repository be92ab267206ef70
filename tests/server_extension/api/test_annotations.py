"""Annotations through the HTTP API: tags and tag sets, key-value maps, comments, ratings and file
attachments; links with their own owners; listing on an object; edit and delete."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from tests.api_client import Api, make_team, unique


def image_of(client: Api, group: int) -> dict:
    return client.ok("POST", "images", 201, json={"name": unique("image"), "group_id": group})


def annotate(client: Api, kind: str, on: list[str] = (), **fields) -> dict:
    return client.ok("POST", "annotations", 201, json={"type": kind, "on": list(on), **fields})


def on_image(client: Api, image_id: int, **params) -> dict:
    return client.ok("GET", "annotations", params={"on": f"image:{image_id}", **params})


def upload(client: Api, name: str, data: bytes, mimetype: str = "application/octet-stream", **form):
    return client.post("annotations", files={"file": (name, data, mimetype)}, data=form)


# ---- kinds ---------------------------------------------------------------------------------
def test_tag_on_an_image_with_its_link(api: Api) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    tag = annotate(team.alice, "tag", [f"image:{image['id']}"], value="mitosis", description="cells dividing")
    assert tag["type"] == "tag" and tag["value"] == "mitosis" and tag["description"] == "cells dividing"
    assert tag["group"]["id"] == team.group and tag["owner"]["username"] == team.alice.act_as
    assert tag["can_edit"] and tag["version"] == 1
    [link] = tag["links"]
    assert link["parent"] == {"type": "image", "id": image["id"]}
    assert link["owner"]["username"] == team.alice.act_as and link["can_delete"]

    page = on_image(team.alice, image["id"])
    assert page["total"] == 1 and [a["id"] for a in page["items"]] == [tag["id"]]
    assert page["items"][0]["links"] == tag["links"]
    # Annotations follow their object's group by default.
    assert annotate(team.alice, "comment", [f"image:{image['id']}"], value="x")["group"]["id"] == team.group
    assert on_image(team.alice, image["id"], type="tag")["total"] == 1
    assert on_image(team.alice, image["id"])["total"] == 2
    assert team.alice.get("annotations", params={"type": "sticker"}).status_code == 400


def test_tag_set_holds_tags(api: Api) -> None:
    team = make_team(api, "read-annotate")
    tagset = annotate(team.alice, "tagset", value="cell cycle", group_id=team.group)
    tags = [annotate(team.alice, "tag", value=v, group_id=team.group) for v in ("G1", "S", "G2")]
    for tag in tags:
        link = team.alice.ok("PUT", f"annotations/{tagset['id']}/annotations/{tag['id']}")
        assert link["parent"] == {"type": "annotation", "id": tagset["id"]} and link["annotation_id"] == tag["id"]
    page = team.alice.ok("GET", "annotations", params={"on": f"annotation:{tagset['id']}"})
    assert sorted(a["value"] for a in page["items"]) == ["G1", "G2", "S"] and page["total"] == 3
    # The tag knows its set.
    got = team.alice.ok("GET", f"annotations/{tags[0]['id']}")
    assert [lk["parent"] for lk in got["links"]] == [{"type": "annotation", "id": tagset["id"]}]
    # Only tags go into tag sets, and only into tag sets.
    comment = annotate(team.alice, "comment", value="not a tag", group_id=team.group)
    r = team.alice.put(f"annotations/{tagset['id']}/annotations/{comment['id']}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = team.alice.put(f"annotations/{tags[0]['id']}/annotations/{tags[1]['id']}")
    assert r.status_code == 400
    r = team.alice.post("annotations", json={"type": "comment", "value": "x", "on": [f"annotation:{tagset['id']}"]})
    assert r.status_code == 400
    assert team.alice.ok("GET", "annotations", params={"on": f"annotation:{tagset['id']}"})["total"] == 3
    # Unlinking a tag from its set leaves both.
    team.alice.ok("DELETE", f"annotations/{tagset['id']}/annotations/{tags[0]['id']}", 204)
    assert team.alice.ok("GET", "annotations", params={"on": f"annotation:{tagset['id']}"})["total"] == 2
    assert team.alice.get(f"annotations/{tags[0]['id']}").status_code == 200


def test_map_keeps_order_and_repeated_keys(api: Api) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    pairs = [["stain", "DAPI"], ["objective", "63x"], ["stain", "GFP"], ["zeta", ""], ["alpha", "1"]]
    kv = annotate(team.alice, "map", [f"image:{image['id']}"], values=pairs, namespace="openmicroscopy.org/x")
    assert kv["values"] == pairs and kv["namespace"] == "openmicroscopy.org/x" and kv.get("value") is None
    assert on_image(team.alice, image["id"], type="map")["items"][0]["values"] == pairs
    # Editing replaces the whole list, in the order sent.
    edited = team.alice.ok("PATCH", f"annotations/{kv['id']}", json={"values": [["b", "2"], ["a", "1"], ["b", "3"]]})
    assert edited["values"] == [["b", "2"], ["a", "1"], ["b", "3"]] and edited["version"] == 2
    # A map takes values, not a value; others take no values.
    for body in ({"type": "map", "value": "x"}, {"type": "tag", "value": "t", "values": [["a", "b"]]},
                 {"type": "map", "values": [["", "empty key"]]}, {"type": "map", "values": [["k"]]}):
        r = team.alice.post("annotations", json={**body, "group_id": team.group})
        assert r.status_code == 400, (body, r.text)
    empty = annotate(team.alice, "map", values=[], group_id=team.group)
    assert empty["values"] == []


def test_comment(api: Api) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    text = "Nuclei look swollen at t=12 — check the 🔬 settings.\nSecond line."
    comment = annotate(team.bob, "comment", [f"image:{image['id']}"], value=text)
    assert comment["value"] == text and comment["owner"]["username"] == team.bob.act_as
    assert on_image(team.alice, image["id"])["items"][0]["value"] == text
    for bad in ("", "   ", 5, None):
        r = team.alice.post("annotations", json={"type": "comment", "value": bad, "group_id": team.group})
        assert r.status_code == 400, (bad, r.text)


@pytest.mark.parametrize("value", [1, 3, 5])
def test_rating_accepts_one_to_five(api: Api, value: int) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    rating = annotate(team.alice, "rating", [f"image:{image['id']}"], value=value)
    assert rating["value"] == value


@pytest.mark.parametrize("value", [0, 6, -1, "3", 2.5, True, None])
def test_rating_refuses_anything_else(api: Api, value) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    r = team.alice.post("annotations", json={"type": "rating", "value": value, "on": [f"image:{image['id']}"]})
    assert r.status_code == 400 and set(r.json()["error"]) >= {"code", "message"}, r.text
    assert on_image(team.alice, image["id"])["total"] == 0
    rating = annotate(team.alice, "rating", [f"image:{image['id']}"], value=4)
    r = team.alice.patch(f"annotations/{rating['id']}", json={"value": value})
    if value is None:  # a null field is no change
        assert r.status_code == 200 and r.json()["value"] == 4
    else:
        assert r.status_code == 400, r.text
    assert team.alice.ok("GET", f"annotations/{rating['id']}")["value"] == 4


# ---- file attachments ----------------------------------------------------------------------
def test_file_attachment_round_trip(api: Api, catalogue) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    data = os.urandom(300_000) + b"\x00\r\n--boundary\r\n" + bytes(range(256))
    name = unique("protocol") + ".pdf"
    r = upload(team.alice, name, data, "application/pdf", on=[f"image:{image['id']}"], description="how we stained")
    assert r.status_code == 201, r.text
    ann = r.json()
    assert ann["type"] == "file" and ann["description"] == "how we stained"
    assert ann["file"]["name"] == name and ann["file"]["size"] == len(data)
    assert ann["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert ann["file"]["mimetype"] == "application/pdf"
    assert [lk["parent"]["id"] for lk in ann["links"]] == [image["id"]]

    r = team.bob.get(f"annotations/{ann['id']}/file")  # another member of the group may read it
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == "application/pdf" and name in r.headers["Content-Disposition"]

    # Kept in the store unchanged and read-only.
    [stored] = list((Path(catalogue.data_dir) / "store").rglob(name))
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) & 0o222 == 0, oct(stored.stat().st_mode)

    # Deleting the annotation removes the file from the store too.
    team.alice.ok("DELETE", f"annotations/{ann['id']}")
    assert team.alice.get(f"annotations/{ann['id']}/file").status_code == 404
    assert not stored.exists()


def test_file_attachment_names_and_form_fields(api: Api, catalogue) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    # A name that tries to climb out of the store stays inside it; the catalogue keeps the name as sent.
    r = upload(team.alice, "../../etc/évil name.txt", b"hello", "text/plain", on=f"image:{image['id']}")
    assert r.status_code == 201, r.text
    ann = r.json()
    assert ann["file"]["name"] == "../../etc/évil name.txt"
    stored = list((Path(catalogue.data_dir) / "store").rglob("évil name.txt"))
    assert stored and all((Path(catalogue.data_dir) / "store" / "originals") in p.parents for p in stored)
    assert team.alice.get(f"annotations/{ann['id']}/file").content == b"hello"
    # An empty file is a file.
    r = upload(team.alice, "empty.bin", b"", group_id=str(team.group))
    assert r.status_code == 201 and r.json()["file"]["size"] == 0, r.text
    assert r.json()["file"]["sha256"] == hashlib.sha256(b"").hexdigest()
    # Unknown form fields, no file part, two file parts, an invisible target.
    assert upload(team.alice, "a.txt", b"a", colour="red").status_code == 400
    r = team.alice.post("annotations", files={"other": ("a.txt", b"a")})
    assert r.status_code == 400, r.text
    r = team.alice.post("annotations", files=[("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))])
    assert r.status_code == 400, r.text
    # A refused upload leaves no file behind in the store.
    stranger = image_of(api, make_team(api, "private").group)
    secret = unique("secret") + ".txt"
    r = upload(team.alice, secret, b"s", on=f"image:{stranger['id']}")
    assert r.status_code == 404, r.text
    assert list((Path(catalogue.data_dir) / "store").rglob(secret)) == []
    # A file annotation is made only by upload, and its bytes come only from the file route.
    assert team.alice.post("annotations", json={"type": "file", "group_id": team.group}).status_code == 400
    tag = annotate(team.alice, "tag", value="t", group_id=team.group)
    assert team.alice.get(f"annotations/{tag['id']}/file").status_code == 404


# ---- links and their owners ----------------------------------------------------------------
def test_each_link_has_its_own_owner(api: Api) -> None:
    team = make_team(api, "read-annotate")
    image = image_of(team.alice, team.group)
    tag = annotate(team.alice, "tag", [f"image:{image['id']}"], value=unique("shared"))
    link = team.bob.ok("PUT", f"images/{image['id']}/annotations/{tag['id']}")
    assert link["owner_id"] != tag["links"][0]["owner"]["id"]
    # Linking again as bob changes nothing.
    assert team.bob.ok("PUT", f"images/{image['id']}/annotations/{tag['id']}")["id"] == link["id"]

    [listed] = on_image(team.alice, image["id"])["items"]
    owners = sorted(lk["owner"]["username"] for lk in listed["links"])
    assert owners == sorted([team.alice.act_as, team.bob.act_as])
    # alice may delete only her own link in a read-annotate group; bob likewise.
    can_delete = {lk["owner"]["username"]: lk["can_delete"] for lk in listed["links"]}
    assert can_delete == {team.alice.act_as: True, team.bob.act_as: False}

    team.bob.ok("DELETE", f"images/{image['id']}/annotations/{tag['id']}", 204)
    [listed] = on_image(team.bob, image["id"])["items"]
    assert [lk["owner"]["username"] for lk in listed["links"]] == [team.alice.act_as]
    # Now bob has no link of his own there, and may not remove alice's.
    r = team.bob.delete(f"images/{image['id']}/annotations/{tag['id']}")
    assert r.status_code == 403, r.text
    assert len(on_image(team.alice, image["id"])["items"][0]["links"]) == 1
    # The group owner may remove anyone's link.
    team.owner.ok("DELETE", f"images/{image['id']}/annotations/{tag['id']}", 204)
    assert on_image(team.alice, image["id"])["total"] == 0
    assert team.alice.get(f"annotations/{tag['id']}").status_code == 200  # the tag itself stays
    r = team.alice.delete(f"images/{image['id']}/annotations/{tag['id']}")
    assert r.status_code == 404


def test_annotating_follows_the_group_level(api: Api) -> None:
    ro = make_team(api, "read-only")
    image = image_of(ro.alice, ro.group)
    tag = annotate(ro.alice, "tag", value="mine", group_id=ro.group)
    r = ro.bob.put(f"images/{image['id']}/annotations/{tag['id']}")
    assert r.status_code == 403, r.text
    r = ro.bob.post("annotations", json={"type": "comment", "value": "hi", "on": [f"image:{image['id']}"]})
    assert r.status_code == 403, r.text
    assert on_image(ro.alice, image["id"])["total"] == 0
    # A tag of another group cannot be linked here.
    ra = make_team(api, "read-annotate")
    api.add_member(ra.group, ro.alice.act_as)
    foreign = annotate(ro.alice, "tag", value="elsewhere", group_id=ra.group)
    r = ro.alice.put(f"images/{image['id']}/annotations/{foreign['id']}")
    assert r.status_code == 400, r.text
    # Annotating a well and a plate works like any other object.
    plate = ro.alice.ok("POST", "plates", 201, json={"name": "p", "group_id": ro.group})
    well = ro.alice.ok("POST", f"plates/{plate['id']}/wells", 201, json={"row": 0, "column": 0})
    note = annotate(ro.alice, "comment", [f"well:{well['id']}", f"plate:{plate['id']}"], value="edge effect")
    assert sorted(lk["parent"]["type"] for lk in note["links"]) == ["plate", "well"]
    assert ro.alice.ok("GET", "annotations", params={"on": f"well:{well['id']}"})["total"] == 1


# ---- edit and delete -----------------------------------------------------------------------
def test_edit(api: Api) -> None:
    team = make_team(api, "read-annotate")
    tag = annotate(team.alice, "tag", value="old", group_id=team.group)
    edited = team.alice.ok("PATCH", f"annotations/{tag['id']}",
                           json={"value": "new", "description": "d", "namespace": "ns", "version": 1})
    assert (edited["value"], edited["description"], edited["namespace"], edited["version"]) == ("new", "d", "ns", 2)
    r = team.alice.patch(f"annotations/{tag['id']}", json={"value": "stale", "version": 1})
    assert r.status_code == 409, r.text
    r = team.bob.patch(f"annotations/{tag['id']}", json={"value": "bob's"})
    assert r.status_code == 403, r.text
    assert team.owner.ok("PATCH", f"annotations/{tag['id']}", json={"value": "owner's"})["value"] == "owner's"
    r = team.alice.patch(f"annotations/{tag['id']}", json={"value": 3})
    assert r.status_code == 400, r.text
    r = team.alice.patch(f"annotations/{tag['id']}", json={"type": "comment"})
    assert r.status_code == 400, r.text
    assert team.alice.ok("GET", f"annotations/{tag['id']}")["value"] == "owner's"


def test_delete(api: Api) -> None:
    team = make_team(api, "read-annotate")
    images = [image_of(team.alice, team.group) for _ in range(2)]
    tag = annotate(team.alice, "tag", [f"image:{i['id']}" for i in images], value="gone soon")
    tagset = annotate(team.alice, "tagset", value="set", group_id=team.group)
    team.alice.ok("PUT", f"annotations/{tagset['id']}/annotations/{tag['id']}")
    assert team.bob.delete(f"annotations/{tag['id']}").status_code == 403
    report = team.alice.ok("DELETE", f"annotations/{tag['id']}")
    assert report["deleted"] == {"annotation": [tag["id"]]}
    assert team.alice.get(f"annotations/{tag['id']}").status_code == 404
    for image in images:
        assert on_image(team.alice, image["id"])["total"] == 0
        assert team.alice.get(f"images/{image['id']}").status_code == 200
    assert team.alice.ok("GET", "annotations", params={"on": f"annotation:{tagset['id']}"})["total"] == 0
    # Deleting a tag set leaves its tags.
    inner = annotate(team.alice, "tag", value="inner", group_id=team.group)
    team.alice.ok("PUT", f"annotations/{tagset['id']}/annotations/{inner['id']}")
    team.alice.ok("DELETE", f"annotations/{tagset['id']}")
    got = team.alice.ok("GET", f"annotations/{inner['id']}")
    assert got["links"] == []
    assert team.alice.delete(f"annotations/{tagset['id']}").status_code == 404


def test_list_filters_and_visibility(api: Api) -> None:
    team = make_team(api, "read-annotate")
    private = make_team(api, "private")
    word = unique("kw").replace("-", "")
    mine = annotate(team.alice, "comment", value=f"{word} alpha", group_id=team.group)
    theirs = annotate(team.bob, "comment", value=f"{word} beta", group_id=team.group)
    hidden = annotate(private.alice, "comment", value=f"{word} gamma", group_id=private.group)

    def ids(client: Api, **params) -> set[int]:
        page = client.ok("GET", "annotations", params={"q": word, **params})
        assert page["total"] == len(page["items"])
        return {a["id"] for a in page["items"]}

    assert ids(team.alice) == {mine["id"], theirs["id"]}
    assert ids(team.alice, owner=mine["owner"]["id"]) == {mine["id"]}
    assert ids(team.alice, group=private.group) == set()
    assert ids(private.bob) == set()  # private: not even the other member
    assert ids(private.owner) == {hidden["id"]}
    assert {mine["id"], theirs["id"], hidden["id"]} <= ids(api)
    # On an object the caller cannot see: 404, as for one that does not exist.
    image = image_of(private.alice, private.group)
    for target in (f"image:{image['id']}", "image:999999999999"):
        r = team.alice.get("annotations", params={"on": target})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    for bad in ("image", "image:x", "sticker:1", "image:-1"):
        assert team.alice.get("annotations", params={"on": bad}).status_code == 400, bad
