"""Client fixtures: a real Jupyter server with scopehub (the session's, on the embedded PostgreSQL: the
client does not care which database is behind the API), and ``scopehub.connect`` to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scopehub

from ..api_client import Api, unique
from ..server_extension.pixels.stored_images import StoredImages


@pytest.fixture(scope="module")
def hub(api: Api) -> scopehub.Hub:
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
