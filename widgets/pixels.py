"""Pixels over HTTP: the stored OME-Zarr (``B/images/{id}/zarr``) read lazily by zarr-python through
fsspec's HTTP file system, with the caller's token. Opening an image reads its ``zarr.json`` files
only; a read fetches the 512 × 512 chunks it touches, concurrently, and nothing else, so a 100 GB
image opens at once. Every image read is remembered as a default input of what this process writes.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .provenance import note_read

if TYPE_CHECKING:
    import dask.array
    import numpy as np
    import zarr

    from .client import Hub
    from .objects import Image

_groups_lock = threading.Lock()


def _filesystem(hub: Hub) -> Any:
    """One fsspec HTTP file system per connection (its aiohttp session pools the connections); its
    session is closed with the connection (``hub.close()``) or when the connection is garbage."""
    fs = getattr(hub, "_zarr_fs", None)
    if fs is None:
        import fsspec

        fs = fsspec.filesystem("http", asynchronous=True, skip_instance_cache=True,
                               client_kwargs={"headers": hub.http.headers})
        hub._zarr_fs = fs
        hub._closers.append(weakref.finalize(hub, _close_filesystem, fs))
    return fs


def _close_filesystem(fs: Any) -> None:
    """Close the aiohttp session, which lives in zarr's event loop (fsspec only closes it for sync use)."""
    session = getattr(fs, "_session", None)
    if session is None or session.closed:
        return
    from fsspec.implementations.http import HTTPFileSystem

    try:
        from zarr.core.sync import _get_loop

        loop = _get_loop()
    except Exception:
        loop = None
    HTTPFileSystem.close_session(loop, session)


def open_group(image: Image) -> zarr.Group:
    """The image's OME-Zarr root group (cached on the image: stored pyramids never change)."""
    group = getattr(image, "_zarr_group", None)
    if group is not None:
        return group
    import zarr
    from zarr.storage import FsspecStore

    image._pixels()  # a clear error for an image without pixels, before any request
    with _groups_lock:
        store = FsspecStore(_filesystem(image._hub), path=image._hub.http.url(f"{image.path}/zarr"), read_only=True)
        try:
            group = zarr.open_group(store=store, mode="r", zarr_format=3)
        except Exception:
            # zarr only says "not found": ask the API why (gone, no longer visible), in its own words.
            image._hub.http.get(image.path)
            raise
        image._zarr_group = group
    return group


def level_array(image: Image, level: int) -> zarr.Array:
    image._pixels()
    levels = image.levels
    if not 0 <= level < len(levels):
        raise ValueError(f"image {image.id} has levels 0 to {len(levels) - 1}, not {level}")
    return open_group(image)[str(level)]  # type: ignore[return-value]


def open_zarr(image: Image, level: int | None = None) -> zarr.Group | zarr.Array:
    note_read(image.id)
    return open_group(image) if level is None else level_array(image, level)


def read_dask(image: Image, level: int = 0) -> dask.array.Array:
    import dask.array as da

    array = level_array(image, level)
    note_read(image.id)
    return da.from_zarr(array, name=f"scopehub-image-{image.id}-level-{level}")


def _axis(value: Any, size: int, name: str) -> tuple[Any, bool]:
    """(index for zarr, whether the axis is dropped) for t, c or z given as None, int, slice or a list."""
    if value is None:
        return slice(None), False
    if isinstance(value, slice):
        return value, False
    if isinstance(value, Sequence | range) or hasattr(value, "__array__"):
        indices = [int(v) for v in value]
        for i in indices:
            if not -size <= i < size:
                raise IndexError(f"{name}={i} is outside the image ({name} is 0 to {size - 1})")
        return [i % size for i in indices], False
    i = int(value)
    if not -size <= i < size:
        raise IndexError(f"{name}={i} is outside the image ({name} is 0 to {size - 1})")
    return slice(i % size, i % size + 1), True


def region_slices(region: tuple[int, int, int, int] | None, full: tuple[int, int], level: tuple[int, int]
                  ) -> tuple[slice, slice]:
    """(y, x) slices of ``level`` for a region (x, y, width, height) given in full-resolution pixels."""
    if region is None:
        return slice(None), slice(None)
    x, y, w, h = (int(v) for v in region)
    full_y, full_x = full
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > full_x or y + h > full_y:
        raise ValueError(f"region (x={x}, y={y}, width={w}, height={h}) is not inside the image "
                         f"({full_x} × {full_y} pixels at full resolution)")
    fy, fx = level[0] / full_y, level[1] / full_x
    return (slice(math.floor(y * fy), max(math.floor(y * fy) + 1, math.ceil((y + h) * fy))),
            slice(math.floor(x * fx), max(math.floor(x * fx) + 1, math.ceil((x + w) * fx))))


def read_numpy(image: Image, level: int = 0, *, t: Any = None, c: Any = None, z: Any = None,
               region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    array = level_array(image, level)
    shape = array.shape
    keys, drop = [], []
    for axis, (value, name) in enumerate(zip((t, c, z), ("t", "c", "z"), strict=True)):
        key, dropped = _axis(value, shape[axis], name)
        keys.append(key)
        if dropped:
            drop.append(axis)
    full = image.shape
    assert full is not None
    ys, xs = region_slices(region, (full[3], full[4]), (shape[3], shape[4]))
    note_read(image.id)
    if any(isinstance(k, list) for k in keys):
        data = array.oindex[(*keys, ys, xs)]
    else:
        data = array[(*keys, ys, xs)]
    return data.reshape([n for i, n in enumerate(data.shape) if i not in drop]) if drop else data
