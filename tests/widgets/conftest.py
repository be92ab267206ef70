"""Fixtures for the widget tests: one JupyterLab with scopehub for the whole session, and a two-channel
image in its catalogue (Chromium is the root conftest's ``chromium``, shared with the hub tests)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..api_client import Api
from ..jupyter import JupyterServerProcess
from .lab import import_array, two_channel_cells


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

    def notebook_url(self, path: str) -> str:
        return f"{self.url}lab/tree/{path}?token={self.token}"


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
