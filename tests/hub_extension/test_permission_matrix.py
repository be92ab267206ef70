"""The permission matrix with real hub users, directly against the service and through each user's server.

The same cells as the standalone matrix (``tests/server_extension/test_permissions_matrix.py``), but
every actor is a real hub user with their own hub token, their groups come from the hub, and
levels and group owners were set by a hub admin in scopehub. ``via`` says where requests go:
``direct`` to ``/services/scopehub/api/v1/``, ``server`` to ``/user/{name}/scopehub/api/v1/``,
which forwards to the service with that server's own token.
"""

from __future__ import annotations

import uuid

import pytest

from ..api_client import Api
from ..server_extension.permission_matrix import ACTIONS, ACTORS, LEVELS, expected
from ..server_extension.test_permissions_matrix import ACT, World
from .conftest import Hub

# The matrix's actors as hub users (see conftest): the admin is in none of the m-* groups.
PEOPLE = {"owner": "bob", "member": "dave", "group-owner": "erin", "admin": "alice", "non-member": "carol",
          "recipient": "gina"}
VIA = ("direct", "server")


class HubWorld(World):
    """The standalone matrix's world, with hub users instead of acting as them."""

    hub: Hub
    via: str

    def api(self, actor: str) -> Api:
        user = PEOPLE[actor]
        return self.hub.direct(user) if self.via == "direct" else self.hub.via_server(user)


@pytest.fixture(scope="module")
def worlds(hub: Hub) -> dict[str, HubWorld]:
    alice = hub.direct("alice")
    groups = {g["name"]: g["id"] for g in alice.ok("GET", "groups", params={"limit": 1000})["items"]}
    users = {actor: hub.direct(name).ok("GET", "me") for actor, name in PEOPLE.items()}
    worlds = {}
    for via in VIA:
        w = HubWorld(alice, users, {level: groups[f"m-{level}"] for level in LEVELS}, groups["m-elsewhere"])
        w.hub, w.via = hub, via
        for level in LEVELS:
            token = f"perm{uuid.uuid4().hex[:16]}"
            w.seen[level] = w.owner_makes(level, name=f"{token} seen by the hub matrix", description=token)
            w.seen[level]["token"] = token
        worlds[via] = w
    return worlds


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("level", LEVELS)
def test_matrix(worlds: dict[str, HubWorld], level: str, actor: str, action: str, via: str) -> None:
    ACT[action](worlds[via], level, actor, expected(level, actor, action))


def test_people_are_what_the_matrix_assumes(hub: Hub, worlds: dict[str, HubWorld]) -> None:
    """Roles come from the hub (membership) and from scopehub (owners, levels), as the table assumes."""
    alice = hub.direct("alice")
    for level, gid in worlds["direct"].groups.items():
        group = alice.ok("GET", f"groups/{gid}")
        assert group["level"] == level and group["hub_managed"]
        roles = {m["username"]: m["role"] for m in group["members"]}
        assert roles == {"bob": "member", "dave": "member", "erin": "owner", "gina": "member"}
    me = {actor: hub.direct(name).ok("GET", "me") for actor, name in PEOPLE.items()}
    assert me["admin"]["is_admin"] and not any(me[a]["is_admin"] for a in ("owner", "member", "group-owner"))
    assert not me["owner"]["acting_as"]
