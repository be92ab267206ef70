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

import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import requests
import tifffile

from scopehub.hub_extension.demo import HubDemo, free_port

from ..api_client import Api

USERS = {"alice": True, "bob": False, "carol": False, "dave": False, "erin": False, "frank": False, "gina": False,
         "hank": False}
LEVELS = ("private", "read-only", "read-annotate", "read-write")
GROUPS = {"lab-a": ["alice", "bob", "dave", "erin"], "lab-b": ["carol"], "guests": ["frank"], "facility": ["hank"],
          **{f"m-{level}": ["bob", "dave", "erin", "gina"] for level in LEVELS},
          "m-elsewhere": ["bob", "erin", "gina"]}
WRITERS = [g for g in GROUPS if g not in ("guests", "facility")]
PAGE_SIZE = 10


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

    @property
    def pages_url(self) -> str:
        """The admin pages: ``/services/scopehub/``."""
        return self.demo.url + "services/scopehub/"

    def browser(self, user: str) -> requests.Session:
        """A browser-like session of ``user``: logged in through the hub's form, then through the
        service's OAuth (the first page visited does it), without starting the user's server."""
        session = self.demo.login(user)
        r = session.get(self.pages_url + "groups", timeout=60)
        assert r.url == self.pages_url + "groups", [h.url for h in r.history]
        return session

    @property
    def store(self) -> Path:
        """The service's managed store."""
        return self.demo.workdir / "scopehub-data" / "store"


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
                   # Short pages, so that the admin pages' tables page with the few rows the tests make.
                   service_args=["--HubOAuth.cache_max_age=5", f"--AdminPagesApp.page_size={PAGE_SIZE}"])
    try:
        demo.prepare()
        # Minutes, not seconds, on a machine busy with other test runs (the service's start was seen at 100 s).
        demo.start(timeout=360)
        hub = Hub(demo)
        alice = hub.direct("alice")
        for name in ("bob", "dave", "erin", "gina", "carol", "frank", "hank"):
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
        if (demo.workdir / "proxy.log").exists():
            shutil.copy(demo.workdir / "proxy.log", Path(tempfile.gettempdir()) / "scopehub-hub-tests-proxy.log")
        shutil.rmtree(workdir, ignore_errors=True)


def damaged_tiff() -> bytes:
    """A TIFF whose header reads well (so the upload is accepted) but whose pixels do not decode."""
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.random.default_rng(3).integers(0, 255, (256, 256), dtype=np.uint8), compression="zlib")
    data = bytearray(buf.getvalue())
    with tifffile.TiffFile(io.BytesIO(bytes(data))) as tif:
        offset, count = tif.pages[0].dataoffsets[0], tif.pages[0].databytecounts[0]
    data[offset:offset + count] = bytes(count)
    return bytes(data)


@pytest.fixture(scope="session")
def carol_imports(hub: Hub) -> list[dict]:
    """carol's uploads, followed to their end: two small OME-TIFFs (done) and a damaged TIFF (failed)."""
    carol = hub.direct("carol")
    uploads = []
    for i, size in enumerate(((2, 300, 400), (3, 200, 260))):
        buf = io.BytesIO()
        tifffile.imwrite(buf, np.random.default_rng(i).integers(0, 4000, size, dtype=np.uint16), ome=True,
                         metadata={"axes": "CYX"})
        uploads.append((f"cells-{i}.ome.tif", buf.getvalue(), {"target": "Project:Screen A/Dataset:Day 1"}))
    uploads.append(("damaged.tif", damaged_tiff(), {}))
    started = []
    for name, body, target in uploads:
        r = carol.post("imports", params={"filename": name, **target}, data=body,
                       headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 202, r.text
        started.append(r.json()["id"])
    done = []
    for job_id in started:
        deadline = time.monotonic() + 120
        while (job := carol.ok("GET", f"imports/{job_id}"))["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        done.append(job)
    assert [j["status"] for j in done] == ["done", "done", "failed"], done
    return done


# ---- a real Chromium, for the tests that look at pages (marker `browser`) ----
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
VIEWPORT = {"width": 1280, "height": 800}
TIME_ZONE = "Europe/Paris"


@pytest.fixture(scope="module")
def pages_chromium() -> Iterator:
    """A plain Playwright browser for the admin pages' tests (the widgets' tests use the root ``chromium``)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(chromium):
    # A time zone other than the machine's, so that the page's local times are visibly the browser's.
    context = chromium.new_context(viewport=VIEWPORT, timezone_id=TIME_ZONE, locale="en-GB")
    context.set_default_timeout(30_000)
    return context.new_page()
