"""Hub groups are catalogue groups; membership follows the hub, levels and owners are scopehub's."""

from __future__ import annotations

from ..api_client import Api, unique
from .conftest import Hub


def _groups(api: Api) -> dict[str, dict]:
    return {g["name"]: g for g in api.ok("GET", "groups", params={"limit": 1000})["items"]}


def test_joining_and_leaving_a_hub_group(hub: Hub) -> None:
    name = unique("lab-new")
    hub.demo.hub_api("POST", f"groups/{name}", json={"users": ["gina"]})
    try:
        # A new token is looked up afresh (a known token's groups refresh within HubOAuth.cache_max_age).
        gina = Api(hub.demo.api_url, hub.demo.token("gina"))
        group = _groups(gina)[name]
        assert group["hub_managed"] and group["role"] == "member" and group["level"] == "private"
        project = gina.ok("POST", "projects", 201, json={"name": unique("in-new"), "group_id": group["id"]})

        hub.demo.hub_api("DELETE", f"groups/{name}/users", json={"users": ["gina"]})
        gina = Api(hub.demo.api_url, hub.demo.token("gina"))
        assert name not in {n for n, g in _groups(gina).items() if g["role"]}
        # Her data stays hers, in the group; she can no longer create data there.
        assert gina.ok("GET", f"projects/{project['id']}")["owner"]["username"] == "gina"
        r = gina.post("projects", json={"name": unique("not-any-more"), "group_id": group["id"]})
        assert r.status_code in (403, 404), r.text
    finally:
        hub.demo.hub_api("DELETE", f"groups/{name}", ok=(204, 404))


def test_hub_group_membership_cannot_be_edited_in_scopehub(hub: Hub) -> None:
    alice = hub.direct("alice")
    lab_b = _groups(alice)["lab-b"]
    r = alice.put(f"groups/{lab_b['id']}/members/dave", json={"role": "member"})
    assert r.status_code == 409 and "JupyterHub group" in r.json()["error"]["message"]
    r = alice.delete(f"groups/{lab_b['id']}/members/carol")
    assert r.status_code == 409
    # Owners are scopehub's: carol can be made owner and back.
    alice.ok("PUT", f"groups/{lab_b['id']}/members/carol", json={"role": "owner"})
    alice.ok("PUT", f"groups/{lab_b['id']}/members/carol", json={"role": "member"})


def test_scopehub_groups_are_managed_in_scopehub(hub: Hub) -> None:
    alice = hub.direct("alice")
    group = alice.ok("POST", "groups", 201, json={"name": unique("local"), "level": "read-only"})
    assert not group["hub_managed"]
    alice.ok("PUT", f"groups/{group['id']}/members/carol", json={"role": "member"})
    # carol's next visit keeps it: only hub-managed memberships follow the hub.
    carol = Api(hub.demo.api_url, hub.demo.token("carol"))
    assert _groups(carol)[group["name"]]["role"] == "member"


def test_everyone_has_a_home_group(hub: Hub) -> None:
    me = hub.direct("frank").ok("GET", "me")
    names = {g["name"] for g in me["groups"]}
    assert {"guests", "hub-users"} <= names
