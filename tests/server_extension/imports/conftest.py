"""Import test helpers: small real image files written here, jobs followed to their end, the store watched."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from ...api_client import Api, unique


def write_ome_tiff(path: Path, size_c: int = 2, size_y: int = 70, size_x: int = 90, seed: int = 0) -> np.ndarray:
    """A small multi-channel uint16 OME-TIFF with channel names and a pixel size."""
    data = np.random.default_rng(seed).integers(0, 4000, (size_c, size_y, size_x), dtype=np.uint16)
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", metadata={
        "axes": "CYX", "Channel": {"Name": [f"ch{i}" for i in range(size_c)]},
        "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25})
    return data


def write_multi_series(path: Path, count: int = 3) -> None:
    """One OME-TIFF holding ``count`` images (series) of different sizes."""
    with tifffile.TiffWriter(path, ome=True) as tif:
        for i in range(count):
            tif.write(np.full((20 + 10 * i, 30 + 10 * i), i + 1, np.uint8), photometric="minisblack",
                      metadata={"axes": "YX", "Name": f"series-{i}"})


def write_label_tiff(path: Path, shape: tuple[int, ...] = (1100, 1300), dtype: str = "uint16") -> np.ndarray:
    """A segmentation: 7 × 7 cells (odd, so that 2 × 2 blocks straddle cells) holding 300 ids spread over
    1..60000 (so that the mean of neighbouring ids is almost never an id) and background 0."""
    rng = np.random.default_rng(21)
    ids = np.concatenate([[0], rng.choice(np.arange(1, 60_000), 300, replace=False)])
    h, w = shape[-2:]
    cells = ids[rng.integers(0, len(ids), (*shape[:-2], -(-h // 7), -(-w // 7)))]
    data = np.repeat(np.repeat(cells, 7, -2), 7, -1)[..., :h, :w].astype(dtype)
    tifffile.imwrite(path, data, photometric="minisblack")
    return data


def write_png(path: Path, size: int = 48) -> None:
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_job(api: Api, job_id: int, timeout: float = 60) -> dict:
    """Poll ``B/imports/{id}`` until the job ends; return it."""
    deadline = time.monotonic() + timeout
    while True:
        job = api.ok("GET", f"imports/{job_id}")
        assert 0.0 <= job["progress"] <= 1.0
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"import {job_id} still {job['status']} after {timeout} s: {job}"
        time.sleep(0.05)


def store_files(store: Path) -> set[str]:
    """Every file and folder in the store's areas that imports write to (store-relative)."""
    out = set()
    for area in ("originals", "pixels", "tmp"):
        if (store / area).is_dir():
            out |= {p.relative_to(store).as_posix() for p in (store / area).rglob("*") if p.is_file()}
    return out


@pytest.fixture
def folder(catalogue) -> tuple[Path, str]:
    """A fresh folder inside the server's import root (its Jupyter root): (path, name relative to the root)."""
    name = unique("imports")
    path = Path(catalogue.server.root_dir) / name
    path.mkdir()
    return path, name


@pytest.fixture
def store(catalogue) -> Path:
    return Path(catalogue.data_dir) / "store"
