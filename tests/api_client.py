"""A small HTTP client for the scopehub API in tests: token auth and acting as other users."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import requests

_unique = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test in this run uses (tests share one catalogue per database)."""
    return f"{prefix}-{next(_unique)}"


class Api:
    """``api.get("projects")`` against ``{server}/scopehub/api/v1/``; ``api.as_user("bob")`` acts as bob."""

    def __init__(self, base: str, token: str | None, act_as: str | None = None,
                 session: requests.Session | None = None):
        self.base = base.rstrip("/") + "/"
        self.token = token
        self.act_as = act_as
        self.http = session or requests.Session()

    def as_user(self, username: str | None) -> Api:
        return Api(self.base, self.token, username, self.http)

    def anonymous(self) -> Api:
        return Api(self.base, None, None, requests.Session())

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if self.act_as:
            headers["X-Scopehub-Act-As"] = self.act_as
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.http.request(method, self.base + path.lstrip("/"), headers=self.headers(headers),
                                 allow_redirects=False, timeout=60, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, status: int | tuple[int, ...] = (200, 201, 204), **kw: Any) -> Any:
        """Make a request that must succeed; return its JSON (or None)."""
        r = self.request(method, path, **kw)
        expected = (status,) if isinstance(status, int) else status
        assert r.status_code in expected, f"{method} {path} -> {r.status_code}: {r.text}"
        return r.json() if r.content and r.headers.get("Content-Type", "").startswith("application/json") else None

    # ---- set-up shortcuts (as the admin) -------------------------------------------------
    def make_user(self, name: str | None = None, **fields: Any) -> dict:
        return self.ok("POST", "users", json={"username": name or unique("user"), **fields})

    def make_group(self, level: str, name: str | None = None) -> dict:
        return self.ok("POST", "groups", json={"name": name or unique(f"group-{level}"), "level": level})

    def add_member(self, group_id: int, username: str, role: str = "member") -> dict:
        return self.ok("PUT", f"groups/{group_id}/members/{username}", json={"role": role})


@dataclass
class Team:
    """A fresh group with an owner and two members, each a client acting as that user."""

    group: int
    owner: Api
    alice: Api
    bob: Api


def make_team(api: Api, level: str) -> Team:
    group = api.make_group(level)["id"]
    clients = {}
    for who, role in (("owner", "owner"), ("alice", "member"), ("bob", "member")):
        name = api.make_user(unique(who))["username"]
        api.add_member(group, name, role)
        clients[who] = api.as_user(name)
    return Team(group, **clients)
