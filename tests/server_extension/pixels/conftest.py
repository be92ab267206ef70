"""Fixtures for the reader tests of the formats extra."""

from __future__ import annotations

import pytest

from . import format_samples as fs


@pytest.fixture(scope="session")
def bioformats_ready() -> None:
    """The JVM with Bio-Formats, started once per test session in this process."""
    fs.bioformats_or_skip()


@pytest.fixture(scope="session")
def cluster_nd2(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory):
    """The real cluster.nd2 of the pims_nd2 sdist, cached across runs."""
    cache = getattr(pytestconfig, "cache", None)  # None with -p no:cacheprovider
    folder = cache.mkdir("scopehub-nd2") if cache else tmp_path_factory.mktemp("nd2")
    return fs.fetch_cluster_nd2(folder)
