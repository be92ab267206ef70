"""Every cell of the permission matrix, through the HTTP API, on both databases (issue 3).

For each group level, each actor (the data's owner, another member, a group owner, an admin outside
the group, a non-member) tries each action on a project a plain member owns. The expected outcome
comes from the hand-written table in :mod:`tests.server_extension.permission_matrix`: allowed (2xx
and the change is made), visible but refused (403, nothing changes) or invisible (404, nothing
changes, and absent from lists, counts and search). Every reply that carries the object must also
carry ``can_*`` flags that agree with the table.

Users and groups are made once per database (module scope); each cell makes its own fresh objects
when its action changes or destroys them, so cells run in any order and one at a time.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from ..api_client import Api, unique
from .permission_matrix import ACTIONS, ACTORS, HIDDEN, LEVELS, NO, YES, expected, reply_flags

MISSING_ID = 2**62  # no object has this id
CELLS = [
    pytest.param(level, actor, action, id=f"{level}-{actor}-{action}")
    for level in LEVELS
    for actor in ACTORS
    for action in ACTIONS
]


@dataclass
class World:
    """The users and groups of one database, and what each cell needs to find them."""

    admin_api: Api  # the standalone admin (the Jupyter user), for set-up and for checking effects
    users: dict[str, dict]  # actor -> user record; plus "recipient" (a member to give data to)
    groups: dict[str, int]  # level -> group id
    elsewhere: int  # a second group the data's owner belongs to: the target of "move group"
    seen: dict[str, dict] = field(default_factory=dict)  # level -> the project every view cell reads

    def api(self, actor: str) -> Api:
        return self.admin_api.as_user(self.users[actor]["username"])

    def owner_makes(self, level: str, what: str = "projects", **fields) -> dict:
        """A fresh object of the data's owner in the level's group."""
        body = {"name": fields.pop("name", unique(f"perm-{level}")), "group_id": self.groups[level], **fields}
        return self.api("owner").ok("POST", what, 201, json=body)


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    """Five actors and a recipient, one group per level and one more; built once per database."""
    roles = {"owner": "member", "member": "member", "group-owner": "owner", "recipient": "member"}
    users = {name: api.make_user(unique(f"perm-{name}"), is_admin=name == "admin") for name in (*ACTORS, "recipient")}
    groups = {level: api.make_group(level)["id"] for level in LEVELS}
    for gid in groups.values():
        for name, role in roles.items():
            api.add_member(gid, users[name]["username"], role)
    # The group owner is an owner of the target group too, so that only the policy can refuse them.
    elsewhere = api.make_group("read-write")["id"]
    for name, role in (("owner", "member"), ("group-owner", "owner"), ("recipient", "member")):
        api.add_member(elsewhere, users[name]["username"], role)
    # The non-member belongs somewhere else: a real user, just not in these groups.
    api.add_member(api.make_group("read-write")["id"], users["non-member"]["username"])
    w = World(api, users, groups, elsewhere)
    for level in LEVELS:
        # One word no other object carries, so search and ?q= counts are exactly 0 or 1.
        token = f"perm{uuid.uuid4().hex[:16]}"
        w.seen[level] = w.owner_makes(level, name=f"{token} seen by the matrix", description=token)
        w.seen[level]["token"] = token
    return w


# ---- checks ------------------------------------------------------------------------------


def check_status(r: requests.Response, symbol: str, allowed_status: int, what: str) -> None:
    """Allowed -> ``allowed_status``; visible but refused -> 403; invisible -> 404; errors are JSON."""
    want = {YES: allowed_status, NO: 403, HIDDEN: 404}[symbol]
    assert r.status_code == want, f"{what}: expected {want}, got {r.status_code}: {r.text}"
    if symbol != YES:
        error = r.json()["error"]
        assert error["code"] == {NO: "forbidden", HIDDEN: "not_found"}[symbol] and error["message"], r.text


def check_flags(item: dict, level: str, actor: str) -> None:
    """The object's ``can_*`` flags say what the matrix says this actor may do."""
    got = {k: item[k] for k in reply_flags(level, actor)}
    assert got == reply_flags(level, actor), f"flags of {item['type']} {item['id']} for {actor}"


def admin_view(world: World, path: str) -> dict | None:
    """The object as the admin sees it, or None when it is gone."""
    r = world.admin_api.get(path)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()


def comments_on(world: World, project_id: int) -> list[str]:
    page = world.admin_api.ok("GET", "annotations", params={"on": f"project:{project_id}", "type": "comment"})
    return [a["value"] for a in page["items"]]


# ---- one function per action -------------------------------------------------------------


def act_view(world: World, level: str, actor: str, symbol: str) -> None:
    """GET the object; find it (or not) in the group's list, its count and search."""
    api, project = world.api(actor), world.seen[level]
    pid, gid, token = project["id"], world.groups[level], project["token"]
    visible = symbol == YES

    r = api.get(f"projects/{pid}")
    check_status(r, symbol, 200, "GET project")
    if visible:
        assert r.json()["name"] == project["name"]
        check_flags(r.json(), level, actor)
    else:
        # Invisible looks exactly like missing.
        missing = api.get(f"projects/{MISSING_ID}")
        assert r.json() == json.loads(missing.text.replace(str(MISSING_ID), str(pid)))

    # The list and its total count, filtered in SQL: exactly this object matches the token.
    page = api.ok("GET", "projects", params={"group": gid, "q": token})
    assert page["total"] == int(visible) and [p["id"] for p in page["items"]] == ([pid] if visible else [])
    for item in page["items"]:
        check_flags(item, level, actor)
    page = api.ok("GET", "projects", params={"group": gid, "limit": 1000})
    assert page["total"] == len(page["items"])
    assert (pid in {p["id"] for p in page["items"]}) == visible
    if not visible:
        # Nothing of the group leaks: whatever the list shows is the caller's own.
        assert all(p["owner"]["id"] == world.users[actor]["id"] for p in page["items"]), page
    everywhere = api.ok("GET", "projects", params={"q": token})
    assert everywhere["total"] == int(visible)

    hits = api.ok("GET", "search", params={"q": token})
    assert hits["total"] == int(visible) and [(h["type"], h["id"]) for h in hits["items"]] == (
        [("project", pid)] if visible else []
    )
    for item in hits["items"]:
        check_flags(item, level, actor)

    # What hangs below it is as visible as it is.
    r = api.get("datasets", params={"project": pid})
    assert r.status_code == (200 if visible else 404), r.text
    r = api.get("annotations", params={"on": f"project:{pid}"})
    assert r.status_code == (200 if visible else 404), r.text


def act_annotate(world: World, level: str, actor: str, symbol: str) -> None:
    """Write a comment on the object, and link a tag of the actor's own to it."""
    api, gid = world.api(actor), world.groups[level]
    project = world.owner_makes(level)
    pid = project["id"]
    text = unique(f"comment by {actor}")
    r = api.post("annotations", json={"type": "comment", "value": text, "on": [f"project:{pid}"]})
    check_status(r, symbol, 201, "POST comment")
    assert (text in comments_on(world, pid)) == (symbol == YES)

    # The actor's own tag, in the object's group (the non-member has one only in their own group).
    tag_group = gid if actor != "non-member" else None
    tag = api.ok(
        "POST",
        "annotations",
        201,
        json={"type": "tag", "value": unique("perm-tag"), **({"group_id": tag_group} if tag_group else {})},
    )
    r = api.put(f"projects/{pid}/annotations/{tag['id']}")
    check_status(r, symbol, 200, "PUT tag link")
    tags = world.admin_api.ok("GET", "annotations", params={"on": f"project:{pid}", "type": "tag"})
    assert ([t["id"] for t in tags["items"]] == [tag["id"]]) == (symbol == YES)


def act_edit(world: World, level: str, actor: str, symbol: str) -> None:
    project = world.owner_makes(level)
    new_name = unique(f"renamed by {actor}")
    r = world.api(actor).patch(f"projects/{project['id']}", json={"name": new_name})
    check_status(r, symbol, 200, "PATCH name")
    if symbol == YES:
        assert r.json()["name"] == new_name
        check_flags(r.json(), level, actor)
    after = admin_view(world, f"projects/{project['id']}")
    assert after["name"] == (new_name if symbol == YES else project["name"])
    assert after["version"] == project["version"] + (symbol == YES)


def act_delete(world: World, level: str, actor: str, symbol: str) -> None:
    project = world.owner_makes(level)
    r = world.api(actor).delete(f"projects/{project['id']}")
    check_status(r, symbol, 200, "DELETE project")
    if symbol == YES:
        assert r.json()["deleted"]["project"] == [project["id"]]
    assert (admin_view(world, f"projects/{project['id']}") is None) == (symbol == YES)


def act_link(world: World, level: str, actor: str, symbol: str) -> None:
    """Link the owner's dataset into the owner's project; unlink a link the owner made."""
    api = world.api(actor)
    project = world.owner_makes(level)
    dataset = world.owner_makes(level, "datasets")
    r = api.put(f"projects/{project['id']}/datasets/{dataset['id']}")
    check_status(r, symbol, 200, "PUT dataset link")
    if symbol == YES:
        assert r.json()["owner_id"] == world.users[actor]["id"]
    parents = admin_view(world, f"datasets/{dataset['id']}")["parents"]
    assert parents == ([project["id"]] if symbol == YES else [])

    linked = world.owner_makes(level, "datasets", project_id=project["id"])  # the link is the owner's
    assert admin_view(world, f"datasets/{linked['id']}")["parents"] == [project["id"]]
    r = api.delete(f"projects/{project['id']}/datasets/{linked['id']}")
    check_status(r, symbol, 204, "DELETE dataset link")
    parents = admin_view(world, f"datasets/{linked['id']}")["parents"]
    assert parents == ([] if symbol == YES else [project["id"]])


def act_chown(world: World, level: str, actor: str, symbol: str) -> None:
    """Give the owner's project to another member of the group."""
    project = world.owner_makes(level)
    recipient = world.users["recipient"]["id"]
    r = world.api(actor).patch(f"projects/{project['id']}", json={"owner_id": recipient})
    check_status(r, symbol, 200, "PATCH owner_id")
    if symbol == YES:
        assert r.json()["owner"]["id"] == recipient
        if actor != "owner":  # the actor's relation to the data is unchanged, so are the flags
            check_flags(r.json(), level, actor)
    after = admin_view(world, f"projects/{project['id']}")
    assert after["owner"]["id"] == (recipient if symbol == YES else world.users["owner"]["id"])


def act_chgrp(world: World, level: str, actor: str, symbol: str) -> None:
    """Move the owner's project (and a dataset only it holds) to another group of the owner's."""
    project = world.owner_makes(level)
    dataset = world.owner_makes(level, "datasets", project_id=project["id"])
    r = world.api(actor).patch(f"projects/{project['id']}", json={"group_id": world.elsewhere})
    check_status(r, symbol, 200, "PATCH group_id")
    moved_to = world.elsewhere if symbol == YES else world.groups[level]
    if symbol == YES:
        assert r.json()["group"]["id"] == world.elsewhere
    assert admin_view(world, f"projects/{project['id']}")["group"]["id"] == moved_to
    assert admin_view(world, f"datasets/{dataset['id']}")["group"]["id"] == moved_to


ACT = {
    "view": act_view,
    "annotate": act_annotate,
    "edit": act_edit,
    "delete": act_delete,
    "link": act_link,
    "chown": act_chown,
    "chgrp": act_chgrp,
}
assert set(ACT) == set(ACTIONS)


@pytest.mark.parametrize(("level", "actor", "action"), CELLS)
def test_matrix(world: World, level: str, actor: str, action: str) -> None:
    """One cell: ``actor`` does ``action`` to data a plain member owns in a ``level`` group."""
    ACT[action](world, level, actor, expected(level, actor, action))


def test_world_is_what_the_matrix_assumes(world: World) -> None:
    """The actors' roles, as the API itself reports them, are the ones the table is about."""
    for level, gid in world.groups.items():
        group = world.admin_api.ok("GET", f"groups/{gid}")
        assert group["level"] == level
        roles = {m["username"]: m["role"] for m in group["members"]}
        names = {actor: world.users[actor]["username"] for actor in ACTORS}
        assert roles.get(names["owner"]) == "member" and roles.get(names["member"]) == "member"
        assert roles.get(names["group-owner"]) == "owner"
        assert names["admin"] not in roles and names["non-member"] not in roles
    for actor in ACTORS:
        me = world.api(actor).ok("GET", "me")
        assert me["username"] == world.users[actor]["username"] and me["acting_as"]
        assert me["is_admin"] == (actor == "admin")
