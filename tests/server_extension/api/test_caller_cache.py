"""Cached callers through the HTTP API: a change made through the server takes effect at once.

The test servers keep callers for an hour (``caller_cache_seconds`` in tests/conftest.py), so a
missed invalidation shows here as a stale answer, not as a race. The TTL itself is tested in-process
(tests/server_extension/test_caller_cache.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ...api_client import Api, make_team, unique

SCOPEHUB = Path(sys.executable).parent / "scopehub"


def test_membership_admin_flag_and_level_changes_take_effect_at_once(api: Api) -> None:
    team = make_team(api, "read-only")
    project = team.owner.ok("POST", "projects", 201, json={"name": unique("seen"), "group_id": team.group})
    path = f"projects/{project['id']}"
    assert team.alice.get(path).status_code == 200  # alice's caller is now cached

    api.ok("DELETE", f"groups/{team.group}/members/{team.alice.act_as}")
    assert team.alice.get(path).status_code == 404
    api.add_member(team.group, team.alice.act_as)
    assert team.alice.get(path).status_code == 200

    # The admin flag: another group's project is visible to admins only.
    other = api.make_group("private")["id"]
    hidden = api.ok("POST", "projects", 201, json={"name": unique("hidden"), "group_id": other})
    bob_id = team.bob.ok("GET", "me")["id"]
    assert team.bob.get(f"projects/{hidden['id']}").status_code == 404
    api.ok("PATCH", f"users/{bob_id}", json={"is_admin": True})
    assert team.bob.get(f"projects/{hidden['id']}").status_code == 200
    api.ok("PATCH", f"users/{bob_id}", json={"is_admin": False})
    assert team.bob.get(f"projects/{hidden['id']}").status_code == 404

    # The group's level: in a private group members see only their own data.
    assert team.bob.get(path).status_code == 200
    api.ok("PATCH", f"groups/{team.group}", json={"level": "private"})
    assert team.bob.get(path).status_code == 404


def test_the_test_servers_keep_callers_for_an_hour(catalogue) -> None:
    """A refused setting is logged, and the server carries on with the default (5 s): then a missed
    invalidation could hide behind a short TTL in the other tests."""
    assert "caller_cache_seconds" not in catalogue.server.log_text()


def test_a_change_from_the_command_line_binds_writes_at_once(api: Api, catalogue) -> None:
    """Another process's change: reads may use the cached caller until it expires (an hour on this
    test server, 5 s by default), writes read the caller afresh."""
    team = make_team(api, "read-write")
    project = team.owner.ok("POST", "projects", 201, json={"name": unique("shared"), "group_id": team.group})
    assert team.alice.get(f"projects/{project['id']}").status_code == 200

    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEHUB_")}
    res = subprocess.run([str(SCOPEHUB), "groups", "remove-member", str(team.group), team.alice.act_as,
                          "--data-dir", catalogue.data_dir, "--database-url", catalogue.database_url or "",
                          "--operator", "admin"], capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr

    assert team.alice.get(f"projects/{project['id']}").status_code == 200  # within the TTL
    r = team.alice.patch(f"projects/{project['id']}", json={"description": "after leaving"})
    assert r.status_code == 404, r.text  # not a member any more: the project is invisible to a write
    r = team.alice.post("datasets", json={"name": unique("late"), "group_id": team.group})
    assert r.status_code == 403, r.text
