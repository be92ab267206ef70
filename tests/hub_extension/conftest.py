"""A real JupyterHub with the scopehub service, started once for the hub tests.

It is the hub demo (``scopehub.hub_extension.demo.HubDemo``) with more people: each user's server
runs under the user's own system account (the tests run as root, as CI does), and the catalogue is
the embedded PostgreSQL that also holds the hub's tables.

People and groups:

- alice: hub admin (so catalogue admin); in lab-a only.
- bob, dave: members of lab-a; erin: lab-a too, made group owner in scopehub.
- carol: lab-b only (an outsider to lab-a).
- frank: in the hub group ``guests``, which has only ``custom:scopehub:read``.
- hank: in the hub group ``facility``, which has ``custom:scopehub:admin`` (no hub admin).
- For the permission matrix, one hub group per level (``m-private`` ...) holding bob (the data's
  owner), dave (another member), erin (group owner) and gina (a member to give data to), and
  ``m-elsewhere`` (bob, erin, gina) to move data into. alice and carol are in none of them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scopehub.hub_extension.demo import HubDemo, free_port

from ..api_client import Api

USERS = {"alice": True, "bob": False, "carol": False, "dave": False, "erin": False, "frank": False, "gina": False,
         "hank": False}
LEVELS = ("private", "read-only", "read-annotate", "read-write")
GROUPS = {"lab-a": ["alice", "bob", "dave", "erin"], "lab-b": ["carol"], "guests": ["frank"], "facility": ["hank"],
          **{f"m-{level}": ["bob", "dave", "erin", "gina"] for level in LEVELS},
          "m-elsewhere": ["bob", "erin", "gina"]}
WRITERS = [g for g in GROUPS if g not in ("guests", "facility")]


@dataclass
class Hub:
    """The running hub and a token (with the user's own permissions) per user."""

    demo: HubDemo
    tokens: dict[str, str] = field(default_factory=dict)
    servers: dict[str, str] = field(default_factory=dict)

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = self.demo.token(user, note="tests")
        return self.tokens[user]

    def direct(self, user: str) -> Api:
        """``user``'s client straight to the service: ``/services/scopehub/api/v1/``."""
        return Api(self.demo.api_url, self.token(user))

    def server_url(self, user: str) -> str:
        if user not in self.servers:
            self.servers[user] = self.demo.start_server(user)
        return self.servers[user]

    def via_server(self, user: str) -> Api:
        """``user``'s client through their own Jupyter server: ``/user/{name}/scopehub/api/v1/``."""
        return Api(self.server_url(user) + "scopehub/api/v1/", self.token(user))


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the hub tests run each user's server as its own system account, which needs root")


@pytest.fixture(scope="session")
def hub() -> Iterator[Hub]:
    _require_root()
    # Not under pytest's tmp_path: pytest keeps that 0700, and the embedded PostgreSQL runs as its own
    # system account, which must pass through every parent folder of its data.
    workdir = Path(tempfile.mkdtemp(prefix="scopehub-hub-"))
    demo = HubDemo(workdir, port=free_port(), users=USERS, groups=GROUPS,
                   levels={}, readers=["guests"], writers=WRITERS, admins=["facility"], log_level="INFO",
                   # Trust the hub's answer about a token for 5 s (60 by default): revocation tests stay short.
                   service_args=["--HubOAuth.cache_max_age=5"])
    demo.prepare()
    demo.start()
    hub = Hub(demo)
    try:
        alice = hub.direct("alice")
        for name in ("bob", "dave", "erin", "gina", "carol", "frank"):
            hub.direct(name).ok("GET", "me")  # first sight: the user and their groups join the catalogue
        groups = {g["name"]: g for g in alice.ok("GET", "groups", params={"limit": 1000})["items"]}
        # Group owners and levels are scopehub's business (membership is the hub's).
        for name in ("lab-a", *(f"m-{level}" for level in LEVELS), "m-elsewhere"):
            alice.ok("PUT", f"groups/{groups[name]['id']}/members/erin", json={"role": "owner"})
        for level in LEVELS:
            alice.ok("PATCH", f"groups/{groups[f'm-{level}']['id']}", json={"level": level})
        alice.ok("PATCH", f"groups/{groups['m-elsewhere']['id']}", json={"level": "read-write"})
        alice.ok("PATCH", f"groups/{groups['lab-a']['id']}", json={"level": "read-annotate"})
        yield hub
    finally:
        demo.stop()
        # The hub's log (with the service's and users' servers') outlives the run, for whoever debugs it.
        shutil.copy(demo.log_path, Path(tempfile.gettempdir()) / "scopehub-hub-tests.log")
        shutil.rmtree(workdir, ignore_errors=True)
