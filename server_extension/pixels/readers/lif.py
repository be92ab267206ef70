"""Leica LIF through liffile, plane by plane; part of the formats extra.

Every image element of a LIF project is an image; the tiles of a tile scan (``M``) are images of their
own, as Bio-Formats and OMERO show them. liffile reads a plane (one channel at one z and time) at a
time, so a region costs the read of its plane: the last planes read are kept, so the writer's bands
of one plane read it once. Spectral scans (``λ``, ``Λ``) become channels.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..info import RGB_COLORS, ChannelInfo, ImageInfo
from .base import (
    LazyArray,
    ReaderLimits,
    SourceFile,
    SourceImage,
    UnreadableFile,
    cast,
    check_limits,
    default_channels,
    library_error,
    store_dtype,
)
from .ome_xml import to_micrometres

# Axes liffile names that scopehub has no place for: a file using them (size > 1) is refused.
_OTHER_AXES = {"A": "rotations", "N": "XT slices", "Q": "T slices", "L": "loops", "?": "unknown dimensions"}
_LUT_COLORS = {
    "red": "FF0000",
    "green": "00FF00",
    "blue": "0000FF",
    "cyan": "00FFFF",
    "magenta": "FF00FF",
    "yellow": "FFFF00",
    "gray": "FFFFFF",
    "grey": "FFFFFF",
}
_PLANES_KEPT = 4


def is_lif(path: Path) -> bool:
    """A LIF file: its header block (0x70) holds the XML (0x2A)."""
    with open(path, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    magic, _size, mark = struct.unpack("<IIB", head)
    return magic == 0x70 and mark == 0x2A


def open_lif(path: Path, limits: ReaderLimits) -> SourceFile:
    """Open a LIF file; raise UnreadableFile when liffile cannot make sense of it."""
    import liffile

    try:
        lif = liffile.LifFile(path, squeeze=True)
    except Exception as exc:  # LifFileError, XML parse errors, struct errors...
        raise UnreadableFile(
            f"{path.name}: not a readable LIF file ({library_error(exc, path)}); it may be truncated or corrupt."
        ) from exc
    try:
        return _source(path, lif, limits)
    except UnreadableFile:
        lif.close()
        raise
    except Exception as exc:
        lif.close()
        raise UnreadableFile(
            f"{path.name}: the LIF metadata cannot be read ({library_error(exc, path)}); the file may be "
            "truncated or corrupt."
        ) from exc


class _Planes:
    """Planes of one LIF file, read one at a time (liffile is not thread-safe), the last few kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._kept: collections.OrderedDict[Any, np.ndarray] = collections.OrderedDict()

    def get(self, image: Any, indices: dict[str, int], where: str) -> np.ndarray:
        key = (id(image), tuple(sorted(indices.items())))
        with self.lock:
            plane = self._kept.get(key)
            if plane is None:
                try:
                    plane = image.frame(**indices)
                except Exception as exc:
                    raise UnreadableFile(
                        f"{where}: a plane cannot be read ({library_error(exc, self.path)}); the file may be truncated "
                        "or corrupt."
                    ) from exc
                self._kept[key] = plane
                while len(self._kept) > _PLANES_KEPT:
                    self._kept.popitem(last=False)
            else:
                self._kept.move_to_end(key)
            return plane


class LifLevel(LazyArray):
    """One LIF image (or one tile of a tile scan) as a lazy TCZYX array."""

    def __init__(self, image: Any, planes: _Planes, fixed: dict[str, int], channel_axes: list[str], where: str):
        self._image = image
        self._planes = planes
        self._fixed = fixed  # e.g. {"M": 3} for one tile
        self._where = where
        sizes = image.sizes
        self._samples = int(sizes.get("S", 1))
        # Channels: every combination of C and the spectral axes, C fastest.
        self._channel_axes = channel_axes
        self._channel_index = [
            dict(zip(channel_axes, combo, strict=True))
            for combo in itertools.product(*(range(sizes[a]) for a in channel_axes))
        ]
        self._bgr = _is_bgr(image) if self._samples == 3 else False
        size_c = max(1, len(self._channel_index)) * self._samples
        self.shape = (int(sizes.get("T", 1)), size_c, int(sizes.get("Z", 1)), int(sizes["Y"]), int(sizes["X"]))
        self.dtype = store_dtype(image.dtype)
        self.chunks = (1, self._samples, 1, self.shape[3], self.shape[4])

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        out = np.zeros((len(t), len(c), len(z), len(y), len(x)), self.dtype)
        sizes = self._image.sizes
        for ti, tt in enumerate(t):
            for zi, zz in enumerate(z):
                for ci, cc in enumerate(c):
                    channel, sample = divmod(cc, self._samples)
                    indices = dict(self._fixed)
                    if "T" in sizes:
                        indices["T"] = tt
                    if "Z" in sizes:
                        indices["Z"] = zz
                    if self._channel_index:
                        indices.update(self._channel_index[channel])
                    plane = self._planes.get(self._image, indices, self._where)
                    if self._samples > 1:
                        plane = plane[..., 2 - sample if self._bgr else sample]
                    out[ti, ci, zi] = cast(plane[y.start : y.stop, x.start : x.stop], self.dtype)
        return out


def _source(path: Path, lif: Any, limits: ReaderLimits) -> SourceFile:
    planes = _Planes(path)
    images: list[SourceImage] = []
    found = [im for im in lif.images if not getattr(im, "is_flim", False)]
    if not found:
        raise UnreadableFile(
            f"{path.name}: the LIF file holds no image scopehub can import (FLIM data is not supported)."
        )
    entries: list[tuple[Any, dict[str, int]]] = []
    for image in found:
        sizes = image.sizes
        for axis, what in _OTHER_AXES.items():
            if sizes.get(axis, 1) > 1:
                raise UnreadableFile(
                    f"{path.name}: the image {image.name!r} has {sizes[axis]} {what}, which scopehub cannot import yet."
                )
        _check_stored(path, image)
        tiles = int(sizes.get("M", 1))
        entries += [(image, {"M": m} if "M" in sizes else {}) for m in range(tiles)]
    for k, (image, fixed) in enumerate(entries):
        label = image.name + (f" (tile {fixed['M']})" if fixed else "")
        where = f"{path.name} ({label})" if len(entries) > 1 else path.name
        channel_axes = [a for a in ("C", "λ", "Λ") if a in image.sizes]
        level = LifLevel(image, planes, fixed, channel_axes, where)
        t, c, z, y, x = level.shape
        info = ImageInfo(
            name=path.name if len(entries) == 1 else label,
            size_x=x,
            size_y=y,
            size_z=z,
            size_c=c,
            size_t=t,
            pixel_type=level.dtype.name,
            series=k,
            is_rgb=level._samples == 3 and c == 3,
            format="lif",
        )
        check_limits(info, limits, where)
        _apply_metadata(info, image, level)
        images.append(SourceImage(info=info, levels=[level]))
    return SourceFile(path, "lif", images, close=lif.close)


def _check_stored(path: Path, image: Any) -> None:
    """A truncated file: the image's memory block is missing or shorter than its pixels."""
    try:
        block = image.memory_block
    except Exception as exc:
        raise UnreadableFile(
            f"{path.name}: the pixels of {image.name!r} are missing; the file is truncated or corrupt ({exc})."
        ) from exc
    if not block.frames and block.size < image.nbytes:
        raise UnreadableFile(
            f"{path.name}: the pixels of {image.name!r} are cut short ({block.size} of {image.nbytes} bytes); the "
            "file is truncated. Copy it again from its source."
        )


def _is_bgr(image: Any) -> bool:
    tags = [ch.get("ChannelTag") for ch in _channel_elements(image)]
    return len(tags) >= 2 and tags[0] == "3" and tags[1] == "2"


def _channel_elements(image: Any) -> list[Any]:
    return image.xml_element.findall("./Data/Image/ImageDescription/Channels/ChannelDescription")


def _apply_metadata(info: ImageInfo, image: Any, level: LifLevel) -> None:
    for dim in image.xml_element.findall("./Data/Image/ImageDescription/Dimensions/DimensionDescription"):
        axis = {"1": "x", "2": "y", "3": "z"}.get(dim.get("DimID", ""))
        try:
            count, length = int(dim.get("NumberOfElements", "0")), abs(float(dim.get("Length", "0")))
        except ValueError:
            continue
        if axis and count > 1 and length > 0 and (axis != "z" or info.size_z > 1):
            # Length spans the first to the last pixel's centre.
            size = to_micrometres(length / (count - 1), dim.get("Unit") or "m")
            setattr(info, f"physical_size_{axis}", None if size is None else float(f"{size:.12g}"))
    stamps = image.timestamps
    if stamps is not None and len(stamps):
        seconds = stamps[0].astype("datetime64[us]").astype(dt.datetime)
        if isinstance(seconds, dt.datetime):
            info.acquisition_date = seconds.replace(tzinfo=dt.UTC)
    if level._samples == 3:
        rgb = [ChannelInfo(name=n, color=col) for n, col in zip(("Red", "Green", "Blue"), RGB_COLORS, strict=True)]
        info.channels = rgb * (info.size_c // 3)
        return
    elements = _channel_elements(image)
    if len(elements) != info.size_c:
        info.channels = default_channels(info.size_c)
        return
    defaults = default_channels(info.size_c)
    channels = []
    for element, default in zip(elements, defaults, strict=True):
        properties = {p.findtext("Key"): p.findtext("Value") for p in element.iterfind("ChannelProperty")}
        channels.append(
            ChannelInfo(
                name=(properties.get("DyeName") or "").strip() or default.name,
                color=_LUT_COLORS.get((element.get("LUTName") or "").lower(), default.color),
            )
        )
    info.channels = channels
