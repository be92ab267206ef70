"""Restarts while people work: the service, the hub, and the hub beside an external service.

These restart processes of the shared hub (and leave it running), so they sort after the other hub
tests; the external-service case has a hub of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from scopehub.hub_extension.demo import HubDemo, free_port

from ..api_client import Api, unique
from .conftest import Hub, _require_root


class Worker(threading.Thread):
    """Someone working through their own server: one request after another, statuses counted."""

    def __init__(self, api: Api, paths: list[str]):
        super().__init__(daemon=True)
        self.api, self.paths = api, paths
        self.statuses: Counter[int] = Counter()
        self.bad: list[str] = []  # anything but a JSON answer, or an answer slower than 30 s
        self.stopping = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stopping.is_set():
            path = self.paths[i % len(self.paths)]
            i += 1
            started = time.monotonic()
            try:
                r = self.api.get(path)
            except Exception as exc:  # noqa: BLE001 - a connection error is what we count here
                self.bad.append(f"{path}: {exc!r}")
                continue
            self.statuses[r.status_code] += 1
            if not r.headers.get("Content-Type", "").startswith(("application/json", "image/")):
                self.bad.append(f"{path}: {r.status_code} {r.headers.get('Content-Type')}")
            if time.monotonic() - started > 30:
                self.bad.append(f"{path}: took {time.monotonic() - started:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopping.set()
        self.join(60)


def _wait_until_ok(api: Api, path: str, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if api.get(path).status_code == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{path} did not answer 200 within {timeout} s")


def test_service_restart_while_users_work(hub: Hub) -> None:
    bob = hub.via_server("bob")
    project = bob.ok("POST", "projects", 201, json={"name": unique("survives")})
    worker = Worker(bob, ["me", f"projects/{project['id']}", "projects?limit=5"])
    worker.start()
    time.sleep(2)
    old = hub.demo.service_pid()
    os.kill(old, signal.SIGTERM)  # as an admin restarting it, or a crash
    try:
        # The old service finishes what it is doing and exits; the hub notices (it polls every 30 s)
        # and starts it again.
        _wait_for_new_service(hub.demo, old)
        _wait_until_ok(bob, "me", timeout=120)
        time.sleep(2)
    finally:
        worker.stop()
    # While it was down the user's server said so (502, as JSON); never an HTML page or a hang.
    assert worker.bad == [], worker.bad[:5]
    assert set(worker.statuses) <= {200, 502}, worker.statuses
    assert worker.statuses[200] > 0
    # Their next requests succeed, with the same token and the same catalogue.
    assert bob.ok("GET", f"projects/{project['id']}")["name"] == project["name"]
    assert hub.direct("carol").ok("GET", "me")["username"] == "carol"


def test_hub_restart_keeps_servers_and_catalogue(hub: Hub) -> None:
    bob = hub.via_server("bob")
    project = bob.ok("POST", "projects", 201, json={"name": unique("hub-restart")})
    before = bob.ok("GET", "projects", params={"limit": 1000})["total"]
    server_pid = _server_pid("bob")
    old_service = hub.demo.service_pid()
    hub.demo.stop_hub()
    hub.demo.start()
    _wait_for_new_service(hub.demo, old_service)
    # bob's server kept running through the restart (cleanup_servers = False) and still forwards.
    assert _wait_until_ok(bob, "me") < 60
    assert bob.ok("GET", "projects", params={"limit": 1000})["total"] == before
    assert bob.ok("GET", f"projects/{project['id']}")["name"] == project["name"]
    assert _server_pid("bob") == server_pid  # the same process: not restarted
    assert hub.demo.service_pid() != old_service  # a managed service restarts with its hub


def _wait_for_new_service(demo: HubDemo, old: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if demo.service_pid() != old and not psutil.pid_exists(old):
                return
        except LookupError:  # between the old one's exit and the new one's start
            pass
        time.sleep(0.5)
    raise AssertionError(f"no new scopehub service within {timeout} s")


def _server_pid(user: str) -> int:
    for proc in psutil.process_iter(["username", "cmdline"]):
        if proc.info["username"] == user and any("jupyterhub-singleuser" in a for a in proc.info["cmdline"] or ()):
            return proc.pid
    raise LookupError(user)


@pytest.fixture(scope="module")
def external() -> Iterator[HubDemo]:
    """A small hub whose scopehub service runs on its own (``configure(managed=False)``)."""
    _require_root()
    workdir = Path(tempfile.mkdtemp(prefix="scopehub-hubx-"))
    demo = HubDemo(workdir, port=free_port(), users={"alice": True, "bob": False}, groups={"lab-a": ["alice", "bob"]},
                   levels={}, managed_service=False,
                   # The hub's answers expire at once, so the hub's downtime outlasts them: what carries
                   # users through is ScopehubHubOAuth.outage_grace.
                   service_args=["--HubOAuth.cache_max_age=2"])
    demo.prepare()
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()
        for name in ("hub.log", "service.log"):
            shutil.copy(workdir / name, Path(tempfile.gettempdir()) / f"scopehub-hubx-tests-{name}")
        shutil.rmtree(workdir, ignore_errors=True)


def test_hub_restart_does_not_touch_an_external_service(external: HubDemo) -> None:
    token = external.token("bob")
    bob = Api(external.start_server("bob") + "scopehub/api/v1/", token)
    direct = Api(external.api_url, token)
    project = bob.ok("POST", "projects", 201, json={"name": unique("external")})
    unseen = external.token("bob", note="never used before the outage")
    service_pid = external.service_pid()
    worker = Worker(bob, ["me", f"projects/{project['id']}"])
    worker.start()
    time.sleep(2)
    external.stop_hub()
    try:
        # With the hub down, bob keeps working through his server: it and the service already know
        # his token (for HubOAuth.cache_max_age), and neither needs the hub for anything else.
        time.sleep(5)
        assert bob.ok("GET", f"projects/{project['id']}")["name"] == project["name"]
        # A token the hub never vouched for is not let in while nobody can check it.
        assert Api(external.api_url, unseen).get("me").status_code != 200
    finally:
        external.start()
    time.sleep(2)
    worker.stop()
    assert external.service_pid() == service_pid and external.service_proc.poll() is None
    assert worker.bad == [] and set(worker.statuses) == {200}, (worker.statuses, worker.bad[:5])
    assert direct.ok("GET", f"projects/{project['id']}")["name"] == project["name"]
