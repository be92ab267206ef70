"""Shared fixtures: a real PostgreSQL (embedded, and an external server reached by URL) and a real
Jupyter server with scopehub loaded on it. Tests that take ``api`` run once per database."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .api_client import Api
from .jupyter import JupyterServerProcess
from .postgres import external_postgres
from .widgets.lab import Chromium, chromium_missing

DATABASES = ("embedded", "external")


@dataclass
class Catalogue:
    """A running Jupyter server with scopehub, and how it reaches its database."""

    kind: str
    server: JupyterServerProcess
    data_dir: str
    database_url: str | None

    @property
    def api_base(self) -> str:
        return self.server.url + "scopehub/api/v1/"


@pytest.fixture(scope="session")
def external_database_url() -> Iterator[str]:
    with external_postgres() as pg:
        yield pg.url


@pytest.fixture(scope="session", params=DATABASES)
def catalogue(request: pytest.FixtureRequest) -> Iterator[Catalogue]:
    """A Jupyter server with scopehub on the embedded PostgreSQL or on an external one."""
    data_dir = tempfile.mkdtemp(prefix=f"scopehub-{request.param}-")
    # Callers are kept for an hour, not 5 s: a change through the API that failed to empty the cache
    # would show as a wrong answer in whichever test made it (tests/server_extension/api/test_caller_cache.py).
    args = [f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=admin",
            "--ScopehubApp.caller_cache_seconds=3600"]
    url = None
    if request.param == "external":
        url = request.getfixturevalue("external_database_url")
        args.append(f"--ScopehubApp.database_url={url}")
    with JupyterServerProcess(args) as server:
        yield Catalogue(request.param, server, data_dir, url)


@pytest.fixture(scope="session")
def api(catalogue: Catalogue) -> Api:
    """The standalone admin's client (the Jupyter user); ``api.as_user(name)`` acts as others."""
    return Api(catalogue.api_base, catalogue.server.token)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """A headless Chromium (the system's, through Playwright) for the browser tests of one file.

    Per file, not per session: Playwright's sync API runs an event loop in the main thread while it
    is open, and tests that later share the worker (asyncio.run, the JVM's event-loop guard) fail."""
    why = chromium_missing()
    if why:
        pytest.skip(why)
    with Chromium() as browser:
        yield browser


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist (``make test``, ``--dist loadgroup``): every hub test runs on the same worker
    (they share one real JupyterHub, whose users are system accounts that two hubs at once would fight
    over), and the tests of any other file stay together (some build on the state an earlier test in
    the file left, such as a notebook in JupyterLab, and a file's module fixtures start only once)."""
    for item in items:
        group = "hub" if "hub_extension" in item.path.parts else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))
