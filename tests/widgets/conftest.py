"""Fixtures for the client and widget tests.

The client's: ``scopehub.connect`` to the session's Jupyter server (on the embedded PostgreSQL: the
client does not care which database is behind the API). The widgets': one JupyterLab with scopehub
for the whole session, and a two-channel image in its catalogue (Chromium is the root conftest's
``chromium``, shared with the hub tests).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import scopehub

from ..api_client import Api, unique
from ..jupyter import JupyterServerProcess
from ..server_extension.pixels.stored_images import StoredImages
from .lab import import_array, two_channel_cells


# ---- the client ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub(api: Api) -> Iterator[scopehub.Hub]:
    """The standalone admin's client (the Jupyter user)."""
    with scopehub.connect(api.base, api.token) as client:
        yield client


@pytest.fixture(scope="module")
def stored(catalogue) -> StoredImages:
    """Images with pixels written by zarr-python itself, independently of the client under test."""
    return StoredImages(catalogue)


def make_data(shape=(1, 2, 3, 700, 1100), seed: int = 0) -> np.ndarray:
    """Distinct values everywhere, so that a misplaced pixel shows."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 60000, shape, dtype=np.uint16)


@pytest.fixture
def dataset(hub: scopehub.Hub):
    return hub.create_dataset(unique("client"), provenance=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The client speaks only to the API, so one database behind it is enough: its tests run on the
    # embedded PostgreSQL only (the API's own tests cover both).
    here = Path(__file__).parent
    dropped = [item for item in items if item.path.is_relative_to(here) and "[external" in item.nodeid]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


# ---- the widgets ---------------------------------------------------------------------------------
@dataclass
class Lab:
    """A running JupyterLab with scopehub on its own fresh catalogue."""

    server: JupyterServerProcess
    runtime_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token(self) -> str:
        return self.server.token

    @property
    def api(self) -> Api:
        return Api(self.server.url + "scopehub/api/v1/", self.server.token)

    def connect(self) -> scopehub.Hub:
        """The client, as the Lab's user (maria)."""
        return scopehub.connect(self.url, self.token)

    def notebook_url(self, path: str) -> str:
        # `reset`: a fresh workspace, not the tabs an earlier test left open in this server.
        return f"{self.url}lab/tree/{path}?reset&token={self.token}"


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    data_dir = tempfile.mkdtemp(prefix="scopehub-widgets-")
    with JupyterServerProcess([f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=maria"],
                              lab=True, startup_timeout=180) as server:
        yield Lab(server, Path(server.env["JUPYTER_RUNTIME_DIR"]))


@pytest.fixture(scope="session")
def cells_image(lab: Lab) -> dict:
    """Two channels, 1536 × 1024 (three pyramid levels): red discs left, green squares right."""
    return import_array(lab.api, two_channel_cells(), "cells.tif", "Project:Widget tests/Dataset:Cells")
