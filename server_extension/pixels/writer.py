"""Write a source image as an OME-Zarr 0.5 pyramid, streaming, on all cores, in bounded memory.

The layout is the one of ``docs/developer/pixels.md``. zarr-python writes the metadata; the chunks
are encoded (blosc lz4 + shuffle, the bytes zarr's own codec makes) and written here, from a thread
pool: tifffile's decoders, blosc and numpy release the GIL, zarr-python's per-call overhead would not.

Levels the source already has (exact halvings) are copied; the others are built by halving the level
above, band by band as its chunks are written, so a level never has to be read back or held whole.
"""

from __future__ import annotations

import collections
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import zarr
from zarr.codecs import BloscCodec, BytesCodec

from .downsample import halve
from .info import ChannelInfo, ImageInfo, LevelInfo, PyramidInfo
from .readers.base import LazyArray, SourceImage

CHUNK = 512
BLOSC = {"cname": "lz4", "clevel": 5, "shuffle": "shuffle"}
DIMENSIONS = ["t", "c", "z", "y", "x"]
# One read from the source is at most about this many bytes (a band of a stripped TIFF is split).
TASK_BYTES = 32 * 2**20
# Reads in flight at once: enough small ones (a tiled TIFF's tile each) that the workers never wait
# for the coordinating thread, and at least two per worker whatever their size.
WINDOW_BYTES = 64 * 2**20
# An all-zero chunk encodes to about a kilobyte per byte of item size: only a chunk that encodes
# smaller than this may be all zeros (and not stored at all).
SMALL_CHUNK = 16 * 1024
# Percentiles of the data that make the default display window.
WINDOW_PERCENTILES = (0.1, 99.9)

ProgressCallback = Callable[[float], Any]


def level_sizes(image: SourceImage) -> list[tuple[int, int, LazyArray | None]]:
    """The stored levels as (size_y, size_x, source level to copy or None to build), level 0 first.

    Each level halves the one above (rounding up, or as the source rounded) until both sides fit
    in one chunk; a source level is reused when it is such a halving of the same planes.
    """
    base = image.levels[0]
    y, x = base.shape[3], base.shape[4]
    plan: list[tuple[int, int, LazyArray | None]] = [(y, x, base)]
    while y > CHUNK or x > CHUNK:
        match = next(
            (
                lv
                for lv in image.levels[1:]
                if tuple(lv.shape[:3]) == tuple(base.shape[:3])
                and lv.shape[3] in (y // 2, (y + 1) // 2)
                and lv.shape[4] in (x // 2, (x + 1) // 2)
                and min(lv.shape[3], lv.shape[4]) >= 1
            ),
            None,
        )
        if match is not None:
            y, x = int(match.shape[3]), int(match.shape[4])
        else:
            y, x = (y + 1) // 2, (x + 1) // 2
        plan.append((y, x, match))
    return plan


def chunk_path(root: str | os.PathLike[str], level: int, t: int, c: int, z: int, yi: int, xi: int) -> str:
    """Where zarr's default v3 chunk key encoding puts a chunk (a string: pathlib's objects cost more than
    the write itself at thousands of chunks a second)."""
    return f"{os.fspath(root)}/{level}/c/{t}/{c}/{z}/{yi}/{xi}"


def encode_chunk(chunk: np.ndarray) -> bytes:
    """A full 512 × 512 chunk as zarr stores it: little-endian bytes, then blosc lz4 with shuffle."""
    data = np.ascontiguousarray(chunk, dtype=chunk.dtype.newbyteorder("<"))
    return imagecodecs.blosc_encode(
        data,
        level=BLOSC["clevel"],
        compressor=BLOSC["cname"],
        shuffle=1,
        typesize=data.dtype.itemsize,
        numthreads=1,
    )


def read_chunk(root: Path, level: int, t: int, c: int, z: int, yi: int, xi: int, dtype: np.dtype) -> np.ndarray:
    """A stored chunk (all zeros when its file is missing), without zarr-python."""
    try:
        with open(chunk_path(root, level, t, c, z, yi, xi), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return np.zeros((CHUNK, CHUNK), dtype)
    return np.frombuffer(imagecodecs.blosc_decode(data), dtype=np.dtype(dtype).newbyteorder("<")).reshape(CHUNK, CHUNK)


# -- the pyramid of one image -------------------------------------------------------------------


@dataclass
class _Buffer:
    """Rows of a built level being assembled from the halved blocks of the level above."""

    y0: int
    data: np.ndarray  # (channels, rows, width)
    valid: int  # pixels to fill before the buffer is complete
    filled: int = 0


@dataclass
class _Plane:
    """The streaming state of one (t, z, channel group) plane of one run of levels."""

    t: int
    z: int
    channels: range
    buffers: dict[int, _Buffer] = field(default_factory=dict)


@dataclass
class _Result:
    """What a task hands back to the coordinating thread."""

    plane: _Plane
    level: int
    y0: int
    x0: int
    chunks: int
    halved: np.ndarray | None = None  # this block halved, for the next level when it is built
    minmax: list[tuple[float, float]] | None = None


class _ImageWriter:
    """Writes one multiscale image (the image itself, or one of its labels) into ``root``."""

    def __init__(self, image: SourceImage, root: Path, *, label: bool):
        self.image = image
        self.info: ImageInfo = image.info
        self.root = root
        self.label = label
        self.plan = level_sizes(image)
        self.dtype = np.dtype(self.info.pixel_type)
        self.shape = image.levels[0].shape
        size_t, size_c, size_z = self.shape[:3]
        # A source that decodes its channels together (interleaved RGB) is read a group at a time.
        group = max(1, min(size_c, int(image.levels[0].chunks[1]) if image.levels[0].chunks[1] > 1 else 1))
        self.groups = [range(c, min(c + group, size_c)) for c in range(0, size_c, group)]
        self.minmax: list[list[float]] = [[math.inf, -math.inf] for _ in range(size_c)]
        self.total_chunks = sum(
            size_t * size_c * size_z * math.ceil(y / CHUNK) * math.ceil(x / CHUNK) for y, x, _ in self.plan
        )
        self._folders: set[str] = set()  # chunk folders made so far (one mkdir each, not one per chunk)

    # -- metadata ---------------------------------------------------------------------------------

    def create_arrays(self, group: zarr.Group) -> None:
        size_t, size_c, size_z = self.shape[:3]
        for k, (y, x, _) in enumerate(self.plan):
            group.create_array(
                name=str(k),
                shape=(size_t, size_c, size_z, y, x),
                dtype=self.dtype,
                chunks=(1, 1, 1, CHUNK, CHUNK),
                serializer=BytesCodec(endian="little"),
                compressors=BloscCodec(typesize=self.dtype.itemsize, **BLOSC),
                fill_value=0,
                dimension_names=DIMENSIONS,
            )

    def multiscales(self) -> list[dict[str, Any]]:
        info = self.info
        px = info.physical_size_x or 1.0
        py = info.physical_size_y or info.physical_size_x or 1.0
        pz = info.physical_size_z or 1.0
        axes: list[dict[str, Any]] = [{"name": "t", "type": "time"}, {"name": "c", "type": "channel"}]
        for name, known in (
            ("z", info.physical_size_z),
            ("y", info.physical_size_y or info.physical_size_x),
            ("x", info.physical_size_x),
        ):
            axes.append({"name": name, "type": "space", **({"unit": "micrometer"} if known else {})})
        datasets = [
            {
                "path": str(k),
                "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, pz, py * 2**k, px * 2**k]}],
            }
            for k in range(len(self.plan))
        ]
        return [{"name": info.name, "axes": axes, "datasets": datasets, "type": "nearest" if self.label else "mean"}]

    def levels(self) -> list[LevelInfo]:
        return [LevelInfo(size_x=x, size_y=y, scale=float(2**k)) for k, (y, x, _) in enumerate(self.plan)]

    # -- tasks ------------------------------------------------------------------------------------

    def root_tasks(self) -> Iterator[Callable[[], _Result]]:
        """Reads of source levels, in raster order: each run of levels starts at a copied level."""
        for k, (y, x, source) in enumerate(self.plan):
            if source is None:
                continue
            builds_next = k + 1 < len(self.plan) and self.plan[k + 1][2] is None
            for t in range(self.shape[0]):
                for z in range(self.shape[2]):
                    for channels in self.groups:
                        plane = _Plane(t, z, channels)
                        band, width = self._task_block(source, len(channels), y, x)
                        for y0 in range(0, y, band):
                            for x0 in range(0, x, width):
                                yield self._copy_task(
                                    plane, k, source, y0, min(y, y0 + band), x0, min(x, x0 + width), builds_next
                                )

    def _task_block(self, source: LazyArray, channels: int, y: int, x: int) -> tuple[int, int]:
        """Rows and columns of one read: whole source tiles or strips, in whole chunks, within TASK_BYTES."""

        def up(n: int) -> int:
            return max(CHUNK, math.ceil(n / CHUNK) * CHUNK)

        band, width = up(min(source.chunks[3], y)), up(min(source.chunks[4], x))
        if band > CHUNK:  # halved, a band must fill whole bands of chunks of the next level
            band = math.ceil(band / (2 * CHUNK)) * 2 * CHUNK
        per_pixel = channels * self.dtype.itemsize
        if band * width * per_pixel > TASK_BYTES:
            band = min(band, max(CHUNK, TASK_BYTES // (width * per_pixel) // (2 * CHUNK) * 2 * CHUNK))
        if band * width * per_pixel > TASK_BYTES:
            width = max(CHUNK, TASK_BYTES // (band * per_pixel) // CHUNK * CHUNK)
        return band, width

    def task_bytes(self) -> int:
        """The size of the largest read from the source, decoded."""
        size = 1
        for y, x, source in self.plan:
            if source is not None:
                band, width = self._task_block(source, len(self.groups[0]), y, x)
                size = max(size, min(band, y) * min(width, x) * len(self.groups[0]) * self.dtype.itemsize)
        return size

    def _copy_task(
        self, plane: _Plane, level: int, source: LazyArray, y0: int, y1: int, x0: int, x1: int, builds_next: bool
    ) -> Callable[[], _Result]:
        def run() -> _Result:
            c = plane.channels
            block = source[plane.t, c.start : c.stop, plane.z, y0:y1, x0:x1]
            minmax = None
            if level == 0:
                minmax = [_finite_minmax(block[i]) for i in range(len(c))]
            return self._store(plane, level, y0, x0, block, builds_next, minmax)

        return run

    def _build_task(self, plane: _Plane, level: int, y0: int, x0: int, block: np.ndarray) -> Callable[[], _Result]:
        builds_next = level + 1 < len(self.plan) and self.plan[level + 1][2] is None

        def run() -> _Result:
            return self._store(plane, level, y0, x0, block, builds_next, None)

        return run

    def _store(
        self,
        plane: _Plane,
        level: int,
        y0: int,
        x0: int,
        block: np.ndarray,
        builds_next: bool,
        minmax: list[tuple[float, float]] | None,
    ) -> _Result:
        """Encode and write the chunks of ``block`` (channels, rows, cols) at (y0, x0) of ``level``."""
        h, w = block.shape[1:]
        written = 0
        for ci, c in enumerate(plane.channels):
            for cy in range(0, h, CHUNK):
                for cx in range(0, w, CHUNK):
                    part = block[ci, cy : cy + CHUNK, cx : cx + CHUNK]
                    written += 1
                    if part.shape != (CHUNK, CHUNK):
                        full = np.zeros((CHUNK, CHUNK), self.dtype)
                        full[: part.shape[0], : part.shape[1]] = part
                        part = full
                    data = encode_chunk(part)
                    if len(data) < SMALL_CHUNK and not part.any():
                        continue  # a missing chunk reads as zeros
                    path = chunk_path(self.root, level, plane.t, c, plane.z, (y0 + cy) // CHUNK, (x0 + cx) // CHUNK)
                    folder = os.path.dirname(path)
                    if folder not in self._folders:
                        os.makedirs(folder, exist_ok=True)
                        self._folders.add(folder)
                    with open(path, "wb") as f:
                        f.write(data)
        halved = halve(block, label=self.label) if builds_next else None
        return _Result(plane, level, y0, x0, written, halved, minmax)

    def take(self, result: _Result) -> list[Callable[[], _Result]]:
        """Account for a finished task; return the build tasks its halved block completes."""
        if result.minmax is not None:
            for i, (lo, hi) in zip(result.plane.channels, result.minmax, strict=True):
                self.minmax[i][0] = min(self.minmax[i][0], lo)
                self.minmax[i][1] = max(self.minmax[i][1], hi)
        if result.halved is None:
            return []
        level = result.level + 1
        size_y, size_x, _ = self.plan[level]
        piece = result.halved
        y0, x0 = result.y0 // 2, result.x0 // 2
        plane = result.plane
        buf = plane.buffers.get(level)
        # Pieces arrive in raster order, 256 rows high (two fill a band of chunks) or a multiple of
        # 512 (see _task_block), so a band that starts with a piece also ends with one.
        if buf is None:
            start = y0 // CHUNK * CHUNK
            rows = max(CHUNK, math.ceil((y0 + piece.shape[1] - start) / CHUNK) * CHUNK)
            height = min(rows, size_y - start)
            buf = _Buffer(start, np.zeros((len(plane.channels), height, size_x), self.dtype), height * size_x)
            plane.buffers[level] = buf
        ry = y0 - buf.y0
        if ry < 0 or ry + piece.shape[1] > buf.data.shape[1]:
            raise AssertionError(f"piece at {y0} outside the band at {buf.y0} (level {level})")
        buf.data[:, ry : ry + piece.shape[1], x0 : x0 + piece.shape[2]] = piece
        buf.filled += piece.shape[1] * piece.shape[2]
        if buf.filled < buf.valid:
            return []
        del plane.buffers[level]
        tasks = []
        band = buf.data.shape[1]
        width = 4 * CHUNK  # a few chunks per task: little overhead, enough tasks for every core
        for by in range(0, band, CHUNK):
            for bx in range(0, size_x, width):
                block = buf.data[:, by : by + CHUNK, bx : bx + width]
                tasks.append(self._build_task(plane, level, buf.y0 + by, bx, block))
        return tasks

    # -- statistics -------------------------------------------------------------------------------

    def channels(self) -> list[ChannelInfo]:
        """The source's channels with the data range and the default window filled in."""
        size_t, size_c, size_z = self.shape[:3]
        smallest = len(self.plan) - 1
        y, x, _ = self.plan[smallest]
        planes = [(t, z) for t in range(size_t) for z in range(size_z)]
        if len(planes) > 32:  # a sample of planes is enough for a window
            planes = [planes[i] for i in np.linspace(0, len(planes) - 1, 32).astype(int)]
        channels = []
        for c in range(size_c):
            info = ChannelInfo(**vars(self.info.channels[c])) if c < len(self.info.channels) else ChannelInfo()
            lo, hi = self.minmax[c]
            if not math.isfinite(lo):  # no finite value at all
                lo = hi = 0.0
            info.min_value, info.max_value = float(lo), float(hi)
            if self.label:
                info.window_start, info.window_end = info.min_value, info.max_value
            elif info.window_start is None or info.window_end is None:
                values = np.concatenate(
                    [read_chunk(self.root, smallest, t, c, z, 0, 0, self.dtype)[:y, :x].ravel() for t, z in planes]
                )
                values = values[np.isfinite(values)] if values.dtype.kind == "f" else values
                if values.size:
                    start, end = (float(v) for v in np.percentile(values, WINDOW_PERCENTILES))
                else:
                    start, end = info.min_value, info.max_value
                if self.dtype.kind in "iu":
                    start, end = math.floor(start), math.ceil(end)
                if end <= start:
                    start, end = info.min_value, info.max_value
                info.window_start, info.window_end = float(start), float(end)
            if info.window_end <= info.window_start:  # a constant image: a window of width 1, not 0
                info.window_end = info.window_start + 1.0
            channels.append(info)
        return channels


def _finite_minmax(block: np.ndarray) -> tuple[float, float]:
    if block.dtype.kind == "f":
        finite = block[np.isfinite(block)]
        if not finite.size:
            return math.inf, -math.inf
        return float(finite.min()), float(finite.max())
    return float(block.min()), float(block.max())


def _omero(channels: list[ChannelInfo], dtype: np.dtype, size_z: int) -> dict[str, Any]:
    if dtype.kind in "iu":
        lo, hi = np.iinfo(dtype).min, np.iinfo(dtype).max
    else:
        lo, hi = None, None
    entries = []
    for ch in channels:
        entries.append(
            {
                "label": ch.name,
                "color": ch.color,
                "active": True,
                "coefficient": 1.0,
                "family": "linear",
                "inverted": False,
                "window": {
                    "min": float(lo if lo is not None else ch.min_value or 0.0),
                    "max": float(hi if hi is not None else ch.max_value or 0.0),
                    "start": float(ch.window_start or 0.0),
                    "end": float(ch.window_end or 0.0),
                },
            }
        )
    return {"channels": entries, "rdefs": {"defaultT": 0, "defaultZ": size_z // 2, "model": "color"}}


# -- the entry point ------------------------------------------------------------------------------


def write_pyramid(
    source_image: SourceImage,
    destination: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    *,
    label: bool | None = None,
) -> PyramidInfo:
    """Write ``source_image`` (and its labels) as an OME-Zarr 0.5 image at ``destination``.

    ``destination`` must not exist or be an empty folder; its parent must exist. Nothing is
    written outside it, and on failure it is removed. ``progress`` is called from this thread with
    a fraction from 0 to 1. ``label`` (default: ``info.is_label``) halves by nearest value instead of
    by mean. Returns the stored levels and the channels with their data range and default window
    (also set on ``source_image.info.channels``).
    """
    dest = Path(destination)
    created = not dest.exists()
    if created:
        dest.mkdir()
    elif any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    workers = max(1, workers or os.cpu_count() or 1)
    try:
        return _write(source_image, dest, progress, workers, source_image.info.is_label if label is None else label)
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for child in dest.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise


def _write(image: SourceImage, dest: Path, progress: ProgressCallback | None, workers: int, label: bool) -> PyramidInfo:
    root = zarr.create_group(store=str(dest), zarr_format=3, overwrite=False)
    main = _ImageWriter(image, dest, label=label)
    main.create_arrays(root)
    writers = [main]
    label_names = list(image.labels)
    if label_names:
        labels_group = root.create_group("labels")
        for name in label_names:
            writer = _ImageWriter(image.labels[name], dest / "labels" / name, label=True)
            writer.create_arrays(labels_group.create_group(name))
            writers.append(writer)

    total = sum(w.total_chunks for w in writers)
    reporter = _Progress(progress, total)
    with ThreadPoolExecutor(workers, thread_name_prefix="scopehub-pyramid") as pool:
        for writer in writers:
            _run(writer, pool, max(2 * workers + 2, WINDOW_BYTES // writer.task_bytes()), reporter)
    reporter.finish()

    channels = main.channels()
    for i, ch in enumerate(channels):
        if i < len(image.info.channels):
            image.info.channels[i] = ch
    info = image.info
    root.update_attributes(
        {
            "ome": {
                "version": "0.5",
                "multiscales": main.multiscales(),
                "omero": _omero(channels, main.dtype, info.size_z),
            }
        }
    )
    if label_names:
        labels_group = root["labels"]
        labels_group.update_attributes({"ome": {"version": "0.5", "labels": label_names}})
        for name, writer in zip(label_names, writers[1:], strict=True):
            meta = {k: v for k, v in image.labels[name].label_metadata.items() if k != "version"}
            meta.setdefault("source", {"image": "../../"})
            labels_group[name].update_attributes(
                {
                    "ome": {
                        "version": "0.5",
                        "multiscales": writer.multiscales(),
                        "image-label": meta,
                    }
                }
            )
    return PyramidInfo(
        levels=main.levels(),
        channels=channels,
        labels=label_names,
        reused_levels=[k for k, (_, _, source) in enumerate(main.plan) if source is not None],
    )


def _run(writer: _ImageWriter, pool: ThreadPoolExecutor, window: int, reporter: _Progress) -> None:
    """Feed the pool in raster order with at most ``window`` reads in flight; chain the builds."""
    pending: collections.deque[Future[_Result]] = collections.deque()
    roots = writer.root_tasks()
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < window:
                task = next(roots, None)
                if task is None:
                    exhausted = True
                else:
                    pending.append(pool.submit(task))
            if not pending:
                break
            result = pending.popleft().result()
            reporter.add(result.chunks)
            for task in writer.take(result):
                pending.append(pool.submit(task))
    except BaseException:
        for future in pending:
            future.cancel()
        for future in pending:
            if not future.cancelled():
                future.exception()  # wait: no thread may still write into the destination
        raise


class _Progress:
    """Calls the callback with a fraction, at most every 1% or every half second."""

    def __init__(self, callback: ProgressCallback | None, total: int):
        self.callback = callback
        self.total = max(1, total)
        self.done = 0
        self.last_fraction = -1.0
        self.last_time = 0.0
        self.lock = threading.Lock()

    def add(self, chunks: int) -> None:
        self.done += chunks
        if self.callback is None:
            return
        fraction = min(1.0, self.done / self.total)
        now = time.monotonic()
        if fraction - self.last_fraction >= 0.01 or now - self.last_time >= 0.5:
            self.last_fraction, self.last_time = fraction, now
            self.callback(fraction)

    def finish(self) -> None:
        if self.callback is not None and self.last_fraction < 1.0:
            self.callback(1.0)
