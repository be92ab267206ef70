"""Writing an array back as a catalogue image, streamed in chunks, all or nothing.

1. ``POST B/writes`` declares the image (shape, type, channels, physical size, dataset, provenance):
   the server refuses a bad one before any pixel travels.
2. The array is read a block at a time (a few hundred 512 × 512 chunks; a dask array is computed
   block by block, so it may be far larger than memory) and each chunk goes up as raw little-endian
   bytes (``PUT .../chunks/{t}/{c}/{z}/{yi}/{xi}``) from a few threads, while the next block is read.
3. ``POST .../commit`` makes the server build the pyramid and insert the image in one transaction;
   its progress is followed until the image exists.

If anything fails or is interrupted before the commit, the write is aborted (``DELETE``) and nothing
reaches the catalogue; a process that dies leaves a write the server removes when it expires.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ScopehubError
from .progress import progress_bar
from .provenance import collect

if TYPE_CHECKING:
    from .client import Hub
    from .objects import Image

CHUNK = 512
AXES = "tczyx"
BLOCK_BYTES = 64 * 2**20  # one block read from the array at a time, about this large
UPLOAD_THREADS = 4
POLL = (0.1, 1.0)  # seconds between looks at a committing write: first, and at most


def as_tczyx(array: Any, dims: str | None) -> Any:
    """The array as (t, c, z, y, x), lazily: numpy stays numpy (views), anything else becomes dask."""
    import dask.array as da

    if not isinstance(array, np.ndarray | da.Array):
        if hasattr(array, "shape") and hasattr(array, "dtype") and hasattr(array, "__getitem__"):
            chunks = getattr(array, "chunks", None)
            array = da.from_array(array, chunks=chunks if isinstance(chunks, tuple) else "auto")
        else:
            array = np.asarray(array)
    ndim = array.ndim
    if dims is None:
        if ndim == 2:
            dims = "yx"
        elif ndim == 5:
            dims = "tczyx"
        else:
            raise ValueError(f"a {ndim}-D array needs dims= to say what its axes are, e.g. "
                             + ("'zyx', 'cyx' or 'yxc' (RGB)" if ndim == 3 else "'czyx' or 'tzyx'"))
    dims = dims.lower()
    if len(dims) != ndim:
        raise ValueError(f"dims={dims!r} names {len(dims)} axes; the array has {ndim} (shape {array.shape})")
    if set(dims) - set(AXES) or len(set(dims)) != len(dims) or not {"y", "x"} <= set(dims):
        raise ValueError(f"dims={dims!r}: name each axis once, among t, c, z, y, x, with y and x among them")
    order = sorted(range(ndim), key=lambda i: AXES.index(dims[i]))
    array = array.transpose(order)
    present = "".join(sorted(dims, key=AXES.index))
    index = tuple(slice(None) if axis in present else None for axis in AXES)
    return array[index]


def physical_sizes(value: Any) -> dict[str, float] | None:
    """Micrometres per pixel from a number (x = y), (y, x), (z, y, x) or a mapping."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: float(v) for k, v in value.items() if v is not None}
    if isinstance(value, int | float):
        return {"x": float(value), "y": float(value)}
    values = [float(v) for v in value]
    if len(values) == 2:
        return {"y": values[0], "x": values[1]}
    if len(values) == 3:
        return {"z": values[0], "y": values[1], "x": values[2]}
    raise ValueError("physical_size is a number, (y, x), (z, y, x) or {'x': ..., 'y': ..., 'z': ...}")


def block_shape(array: Any, budget: int = BLOCK_BYTES) -> tuple[int, int, int, int, int]:
    """How much of the array to read at once: whole 512 × 512 chunks, a dask array's own chunks where
    they fit (so that no dask chunk is computed twice), within ``budget`` bytes."""
    t, c, z, y, x = array.shape
    item = array.dtype.itemsize

    def up(n: int) -> int:
        return max(CHUNK, math.ceil(n / CHUNK) * CHUNK)

    chunks = getattr(array, "chunks", None)
    if chunks is not None and isinstance(chunks[0], tuple):  # dask
        bt, bc, bz = (max(dim) for dim in chunks[:3])
        by, bx = up(max(chunks[3])), up(max(chunks[4]))
    else:
        bt = bc = bz = 1
        by, bx = CHUNK, up(x)
    by, bx = min(by, up(y)), min(bx, up(x))
    while by * bx * item > budget and max(by, bx) > CHUNK:
        if by >= bx:
            by = up(by // 2)
        else:
            bx = up(bx // 2)
    for _ in range(64):  # then fewer planes at once
        if bt * bc * bz * by * bx * item <= budget or bt * bc * bz == 1:
            break
        if bz > 1:
            bz = max(1, bz // 2)
        elif bc > 1:
            bc = max(1, bc // 2)
        else:
            bt = max(1, bt // 2)
    return bt, bc, bz, by, bx


def _blocks(shape: tuple[int, ...], block: tuple[int, ...]):
    t, c, z, y, x = shape
    bt, bc, bz, by, bx = block
    for t0 in range(0, t, bt):
        for c0 in range(0, c, bc):
            for z0 in range(0, z, bz):
                for y0 in range(0, y, by):
                    for x0 in range(0, x, bx):
                        yield (t0, c0, z0, y0, x0), (slice(t0, t0 + bt), slice(c0, c0 + bc), slice(z0, z0 + bz),
                                                     slice(y0, y0 + by), slice(x0, x0 + bx))


class Uploader:
    """Sends the chunks of one write from a few threads, with a bound on the bytes in flight."""

    def __init__(self, hub: Hub, write_id: int, dtype: np.dtype, bar: Any, threads: int = UPLOAD_THREADS):
        self.hub = hub
        self.base = f"writes/{write_id}/chunks"
        self.little = dtype.newbyteorder("<")
        self.bar = bar
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="scopehub-upload")
        self.pending: deque[tuple[Future[None], int]] = deque()
        self.in_flight = 0

    def _put(self, index: tuple[int, ...], raw: bytes) -> None:
        self.hub.http.request("PUT", f"{self.base}/" + "/".join(map(str, index)), data=raw,
                              headers={"Content-Type": "application/octet-stream"})

    def send_block(self, origin: tuple[int, int, int, int, int], block: np.ndarray, limit: int) -> None:
        t0, c0, z0, y0, x0 = origin
        bt, bc, bz, h, w = block.shape
        for ti in range(bt):
            for ci in range(bc):
                for zi in range(bz):
                    for cy in range(0, h, CHUNK):
                        for cx in range(0, w, CHUNK):
                            part = block[ti, ci, zi, cy:cy + CHUNK, cx:cx + CHUNK]
                            raw = np.ascontiguousarray(part, dtype=self.little).tobytes()
                            index = (t0 + ti, c0 + ci, z0 + zi, (y0 + cy) // CHUNK, (x0 + cx) // CHUNK)
                            self._wait(limit)
                            self.pending.append((self.pool.submit(self._put, index, raw), len(raw)))
                            self.in_flight += len(raw)

    def _wait(self, limit: int) -> None:
        """Collect finished uploads (raising the first failure) until fewer than ``limit`` bytes are in flight."""
        while self.pending and (self.in_flight > limit or self.pending[0][0].done()):
            future, size = self.pending.popleft()
            future.result()
            self.in_flight -= size
            self.bar.update(size)

    def finish(self) -> None:
        self._wait(0)

    def close(self) -> None:
        for future, _ in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True)


def write_image(hub: Hub, array: Any, *, name: str, dataset_id: int | None, dims: str | None = None,
                channel_names: list[str] | None = None, channel_colors: list[str] | None = None,
                physical_size: Any = None, description: str = "", label: bool = False, inputs: Any = None,
                parameters: dict[str, Any] | None = None, provenance: bool = True, progress: bool = True,
                block_bytes: int = BLOCK_BYTES) -> Image:
    """Write ``array`` as a new image (see ``Dataset.create_image``); returns it once it is in the catalogue."""
    data = as_tczyx(array, dims)
    dtype = np.dtype(data.dtype)
    body: dict[str, Any] = {"name": name, "description": description, "shape": [int(n) for n in data.shape],
                            "dtype": dtype.name, "label": bool(label)}
    optional = {"dataset_id": dataset_id, "channel_names": list(channel_names) if channel_names is not None else None,
                "channel_colors": [c.lstrip("#") for c in channel_colors] if channel_colors is not None else None,
                "physical_size": physical_sizes(physical_size)}
    body.update({k: v for k, v in optional.items() if v is not None})
    if provenance:
        body["provenance"] = collect(inputs, parameters)
    write = hub.http.json("POST", "writes", json=body)
    write_id = write["id"]
    total = math.prod(data.shape) * dtype.itemsize
    try:
        with progress_bar(total, f"sending {name}", enabled=progress) as bar:
            uploader = Uploader(hub, write_id, dtype, bar)
            try:
                block = block_shape(data, block_bytes)
                for origin, key in _blocks(data.shape, block):
                    values = np.asarray(data[key])  # a dask block is computed here
                    uploader.send_block(origin, values, block_bytes)
                    del values
                uploader.finish()
            finally:
                uploader.close()
        committed = hub.http.json("POST", f"writes/{write_id}/commit")
    except BaseException:
        # Nothing half made: the write and its chunks go (the server would expire them anyway).
        try:
            hub.http.request("DELETE", f"writes/{write_id}", timeout=10)
        except Exception:
            pass
        raise
    return _follow(hub, committed, name, progress)


def _follow(hub: Hub, write: dict[str, Any], name: str, progress: bool) -> Image:
    """Wait for the commit job; the new image, or the server's reason as an exception."""
    delay = POLL[0]
    try:
        with progress_bar(1.0, f"saving {name}", unit="", enabled=progress) as bar:
            done = 0.0
            while write["status"] == "committing":
                job = write.get("job") or {}
                fraction = float(job.get("progress") or 0.0)
                if fraction > done:
                    bar.update(fraction - done)
                    done = fraction
                time.sleep(delay)
                delay = min(POLL[1], delay * 1.5)
                write = hub.http.get(f"writes/{write['id']}")
            if write["status"] == "done":
                bar.update(1.0 - done)
    except KeyboardInterrupt:
        print(f"scopehub: the server goes on saving {name!r} (write {write['id']}); "
              f"hub.write({write['id']}) shows how far it got", file=sys.stderr)
        raise
    if write["status"] != "done":
        reason = write.get("error") or (write.get("job") or {}).get("error") or write["status"]
        raise ScopehubError(f"saving {name!r} failed: {reason}; nothing was added to the catalogue",
                            code="write_failed")
    return hub.image(write["image_id"])
