"""Stored images for tests: OME-Zarr pyramids written as ``docs/developer/pixels.md`` lays them out,
and catalogue rows that point at them (until every test can go through a real import).

``write_ome_zarr`` writes with zarr-python 3, independently of the code under test, so the
renderer's own chunk reader is checked against what zarr itself writes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
import zarr
from zarr.codecs import BloscCodec

AXES = [
    {"name": "t", "type": "time"},
    {"name": "c", "type": "channel"},
    {"name": "z", "type": "space", "unit": "micrometer"},
    {"name": "y", "type": "space", "unit": "micrometer"},
    {"name": "x", "type": "space", "unit": "micrometer"},
]
CHUNK = 512


def pyramid(data: np.ndarray, label: bool = False) -> list[np.ndarray]:
    """Level 0, then 2× means in x and y (nearest for labels) until both fit in one chunk."""
    levels = [data]
    while max(levels[-1].shape[3:]) > CHUNK:
        prev = levels[-1]
        y, x = prev.shape[3:]
        if label:
            levels.append(prev[..., ::2, ::2])
            continue
        padded = np.pad(prev.astype(np.float64), [(0, 0)] * 3 + [(0, y % 2), (0, x % 2)], mode="edge")
        mean = (
            padded[..., 0::2, 0::2] + padded[..., 1::2, 0::2] + padded[..., 0::2, 1::2] + padded[..., 1::2, 1::2]
        ) / 4
        levels.append(np.rint(mean).astype(prev.dtype) if prev.dtype.kind in "iu" else mean.astype(prev.dtype))
    return levels


def write_ome_zarr(
    dest: Path,
    data: np.ndarray,
    *,
    colors: Sequence[str] | None = None,
    windows: Sequence[tuple[float, float]] | None = None,
    names: Sequence[str] | None = None,
    physical: tuple[float, float, float] = (1.0, 0.5, 0.5),
    label: bool = False,
) -> list[dict]:
    """Write ``data`` (t, c, z, y, x) as an OME-Zarr 0.5 image at ``dest``; returns the pyramid list."""
    assert data.ndim == 5
    pz, py, px = physical
    levels = pyramid(data, label)
    n_c = data.shape[1]
    colors = list(colors or ["FFFFFF"] * n_c)
    windows = list(windows or [(float(data[:, c].min()), float(data[:, c].max())) for c in range(n_c)])
    names = list(names or [f"channel {c + 1}" for c in range(n_c)])
    datasets = [
        {
            "path": str(k),
            "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, pz, py * 2**k, px * 2**k]}],
        }
        for k in range(len(levels))
    ]
    omero = {
        "channels": [
            {
                "label": names[c],
                "color": colors[c],
                "active": True,
                "window": {
                    "min": float(data[:, c].min()),
                    "max": float(data[:, c].max()),
                    "start": windows[c][0],
                    "end": windows[c][1],
                },
            }
            for c in range(n_c)
        ]
    }
    group = zarr.create_group(
        store=str(dest),
        zarr_format=3,
        attributes={
            "ome": {
                "version": "0.5",
                "multiscales": [{"name": dest.name, "axes": AXES, "datasets": datasets}],
                "omero": omero,
            }
        },
    )
    for k, level in enumerate(levels):
        array = group.create_array(
            str(k),
            shape=level.shape,
            chunks=(1, 1, 1, CHUNK, CHUNK),
            dtype=level.dtype,
            compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
            dimension_names=["t", "c", "z", "y", "x"],
            fill_value=0,
        )
        array[...] = level
    return [{"size_x": lv.shape[4], "size_y": lv.shape[3], "scale": 2**k} for k, lv in enumerate(levels)]


def catalogue_engine(catalogue: Any) -> sa.Engine:
    """A direct connection to the test server's catalogue database."""
    if catalogue.database_url:
        return sa.create_engine(
            catalogue.database_url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.NullPool
        )
    lines = (Path(catalogue.data_dir) / "pgdata" / "postmaster.pid").read_text().splitlines()
    port, socket_dir = lines[3].strip(), lines[4].strip()
    return sa.create_engine(
        f"postgresql+psycopg://postgres@/scopehub?host={socket_dir}&port={port}", poolclass=sa.NullPool
    )


class StoredImages:
    """Makes catalogue images with pixels: the image through the API, its pyramid in the server's store,
    and the pixel columns and channels through SQL."""

    def __init__(self, catalogue: Any):
        self.catalogue = catalogue
        self.store = Path(catalogue.data_dir) / "store"
        self.engine = catalogue_engine(catalogue)

    def add(
        self,
        api: Any,
        data: np.ndarray,
        *,
        name: str = "stored",
        dataset_id: int | None = None,
        colors: Sequence[str] | None = None,
        windows: Sequence[tuple[float, float]] | None = None,
        is_rgb: bool = False,
        is_label: bool = False,
        channel_rows: bool = True,
    ) -> dict:
        """A new image owned by ``api``'s user holding ``data`` (t, c, z, y, x); returns the API's reply."""
        body: dict[str, Any] = {"name": name}
        if dataset_id is not None:
            body["dataset_id"] = dataset_id
        image = api.ok("POST", "images", json=body)
        relative = f"pixels/{dt.date.today().isoformat()}/{uuid.uuid4().hex}.ome.zarr"
        levels = write_ome_zarr(self.store / relative, data, colors=colors, windows=windows, label=is_label)
        self.attach(
            image["id"],
            relative,
            data,
            levels,
            colors=colors,
            windows=windows,
            is_rgb=is_rgb,
            is_label=is_label,
            channel_rows=channel_rows,
        )
        return image

    def attach(
        self,
        image_id: int,
        relative: str,
        data: np.ndarray,
        levels: list[dict],
        *,
        colors: Sequence[str] | None = None,
        windows: Sequence[tuple[float, float]] | None = None,
        is_rgb: bool = False,
        is_label: bool = False,
        channel_rows: bool = True,
    ) -> None:
        t, c, z, y, x = data.shape
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE images SET zarr_path = :path, size_x = :x, size_y = :y, size_z = :z, size_c = :c, "
                    "size_t = :t, pixel_type = :dtype, physical_size_x = 0.5, physical_size_y = 0.5, "
                    "physical_size_z = 1.0, pyramid = CAST(:pyramid AS jsonb), is_rgb = :rgb, is_label = :label "
                    "WHERE id = :id"
                ),
                {
                    "path": relative,
                    "x": x,
                    "y": y,
                    "z": z,
                    "c": c,
                    "t": t,
                    "dtype": data.dtype.name,
                    "pyramid": __import__("json").dumps(levels),
                    "rgb": is_rgb,
                    "label": is_label,
                    "id": image_id,
                },
            )
            if not channel_rows:
                return
            for i in range(c):
                lo, hi = float(data[:, i].min()), float(data[:, i].max())
                start, end = windows[i] if windows else (lo, hi)
                conn.execute(
                    sa.text(
                        "INSERT INTO channels (image_id, index, name, color, min_value, max_value, window_start, "
                        "window_end) VALUES (:id, :i, :name, :color, :lo, :hi, :start, :end)"
                    ),
                    {
                        "id": image_id,
                        "i": i,
                        "name": f"channel {i + 1}",
                        "color": (colors or ["FFFFFF"] * c)[i],
                        "lo": lo,
                        "hi": hi,
                        "start": start,
                        "end": end,
                    },
                )
