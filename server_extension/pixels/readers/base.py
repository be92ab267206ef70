"""What every reader shares: the error, the size limits, lazy TCZYX arrays, SourceFile and SourceImage."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ...catalogue.errors import Unreadable
from ..info import DEFAULT_COLORS, PIXEL_TYPES, ChannelInfo, ImageInfo, LevelInfo

# One image may hold at most this many bytes of pixels (all planes of level 0).
DEFAULT_MAX_BYTES = 2**40  # 1 TiB
# One plane may hold at most this many pixels: far above the largest slide scanners
# (about 200 000 × 100 000), far below a forged header's 10^6 × 10^6.
DEFAULT_MAX_PLANE_PIXELS = 2**36
# Readers that must decode a whole image at once (Pillow) refuse images above this.
DEFAULT_MAX_DECODED_BYTES = 2**31


class UnreadableFile(Unreadable):
    """A file no reader accepts, or one that is truncated, corrupt or too large (HTTP 422)."""


@dataclasses.dataclass(frozen=True)
class ReaderLimits:
    """Guards checked from the headers, before any pixel is read."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_plane_pixels: int = DEFAULT_MAX_PLANE_PIXELS
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES


def check_limits(info: ImageInfo, limits: ReaderLimits, where: str) -> None:
    """Refuse an image whose declared size passes the limits (a forged or absurd header)."""
    if info.size_x < 1 or info.size_y < 1 or min(info.size_z, info.size_c, info.size_t) < 1:
        raise UnreadableFile(f"{where}: the image is empty ({info.size_x} × {info.size_y} pixels).")
    plane = info.size_x * info.size_y
    if plane > limits.max_plane_pixels:
        raise UnreadableFile(
            f"{where}: the header declares {info.size_x} × {info.size_y} pixels per plane, more than the "
            f"limit of {limits.max_plane_pixels} pixels; the file is probably corrupt."
        )
    total = plane * info.size_z * info.size_c * info.size_t * np.dtype(info.pixel_type).itemsize
    if total > limits.max_bytes:
        raise UnreadableFile(
            f"{where}: the image holds {total / 2**30:.0f} GiB of pixels, more than the limit of "
            f"{limits.max_bytes / 2**30:.0f} GiB."
        )


def library_error(exc: BaseException, path: os.PathLike[str] | str) -> str:
    """``Type: message`` of a library's exception, naming the file by its name only (no server paths)."""
    text = str(exc)
    name = os.path.basename(path)
    for full in {os.fspath(path), os.path.realpath(path), os.path.abspath(path)}:
        text = text.replace(full, name)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def store_dtype(dtype: np.dtype) -> np.dtype:
    """The data type the store keeps for a source type (docs/developer/pixels.md), or raise."""
    dtype = np.dtype(dtype)
    if dtype.name in PIXEL_TYPES:
        return dtype.newbyteorder("=")
    if dtype == np.bool_:
        return np.dtype("uint8")
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype("float32")
    if dtype.kind == "u" and dtype.itemsize == 8:
        return np.dtype("uint32")
    if dtype.kind == "i" and dtype.itemsize == 8:
        return np.dtype("int32")
    raise ValueError(f"pixel type {dtype} is not supported")


def cast(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Convert read data to the stored type: clip 64-bit integers instead of wrapping them."""
    if data.dtype == dtype:
        return data
    if data.dtype.kind in "iu" and dtype.kind in "iu" and data.dtype.itemsize > dtype.itemsize:
        info = np.iinfo(dtype)
        data = np.clip(data, info.min, info.max)
    return data.astype(dtype)


def default_channels(size_c: int, names: list[str] | None = None) -> list[ChannelInfo]:
    """Channels with OMERO's default colours (white for a single channel)."""
    if size_c == 1:
        return [ChannelInfo(name=(names or ["Channel 0"])[0], color="FFFFFF")]
    names = names or []
    return [
        ChannelInfo(
            name=names[i] if i < len(names) and names[i] else f"Channel {i}",
            color=DEFAULT_COLORS[i % len(DEFAULT_COLORS)],
        )
        for i in range(size_c)
    ]


class LazyArray:
    """A 5-D (t, c, z, y, x) array that reads only what is indexed.

    ``a[t, c, z, y0:y1, x0:x1]`` returns a numpy array (integer indices drop their axis, as in
    numpy; steps other than 1 are not supported). ``chunks`` is the block the source reads best in.
    """

    shape: tuple[int, int, int, int, int]
    dtype: np.dtype
    chunks: tuple[int, int, int, int, int]
    ndim = 5

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        """Return the block (len(t), len(c), len(z), len(y), len(x)) in ``self.dtype``."""
        raise NotImplementedError

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            key = key[:at] + (slice(None),) * (5 - len(key) + 1) + key[at + 1 :]
        if len(key) > 5:
            raise IndexError(f"too many indices for a 5-D array: {len(key)}")
        key = key + (slice(None),) * (5 - len(key))
        ranges: list[range] = []
        drop: list[int] = []
        for axis, (k, n) in enumerate(zip(key, self.shape, strict=True)):
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                if step != 1:
                    raise IndexError("only steps of 1 are supported")
                ranges.append(range(start, max(start, stop)))
            else:
                i = int(k)
                if i < 0:
                    i += n
                if not 0 <= i < n:
                    raise IndexError(f"index {k} is out of bounds for axis {axis} with size {n}")
                ranges.append(range(i, i + 1))
                drop.append(axis)
        if any(len(r) == 0 for r in ranges):
            block = np.zeros(tuple(len(r) for r in ranges), self.dtype)
        else:
            block = self._read(*ranges)
        return block.reshape([len(r) for i, r in enumerate(ranges) if i not in drop]) if drop else block

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self[...]
        return data if dtype is None else data.astype(dtype)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape} dtype={self.dtype} chunks={self.chunks}>"


class NumpyLevel(LazyArray):
    """A level held in memory (formats that decode a whole image at once), loaded on first read."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, load: Callable[[], np.ndarray]):
        self.shape = tuple(int(s) for s in shape)  # type: ignore[assignment]
        self.dtype = np.dtype(dtype)
        self.chunks = (1, self.shape[1], 1, self.shape[3], self.shape[4])
        self._load = load
        self._data: np.ndarray | None = None
        self._lock = threading.Lock()

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        with self._lock:
            if self._data is None:
                data = self._load()
                if data.shape != self.shape:
                    raise UnreadableFile(f"decoded {data.shape}, the header said {self.shape}")
                self._data = cast(data, self.dtype)
        return self._data[t.start : t.stop, c.start : c.stop, z.start : z.stop, y.start : y.stop, x.start : x.stop]


@dataclasses.dataclass
class SourceImage:
    """One image (series) of a source file: what it is, and its levels as lazy TCZYX arrays."""

    info: ImageInfo
    levels: list[LazyArray]
    # Label images that come with the source (OME-Zarr labels/), by name.
    labels: dict[str, SourceImage] = dataclasses.field(default_factory=dict)
    # For a label image: its NGFF "image-label" metadata (colors, properties), if any.
    label_metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.info.levels:
            self.info.levels = [
                LevelInfo(int(a.shape[4]), int(a.shape[3]), self.info.size_x / a.shape[4]) for a in self.levels
            ]


class SourceFile:
    """An opened source file (or OME-Zarr folder): its images; close it when done (a context manager)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: str,
        images: list[SourceImage],
        close: Callable[[], None] | None = None,
        files: list[str] | None = None,
    ):
        self.path = os.fspath(path)
        self.format = format
        self.images = images
        # Every file the images are read from (a multi-file OME-TIFF names its companions).
        self.files = files or [os.path.realpath(path)]
        self._close = close

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> SourceFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SourceFile {self.path!r} format={self.format} images={len(self.images)}>"
