"""Zeiss CZI through pylibCZIrw (Zeiss's own libCZI), region by region; part of the formats extra.

Each scene is an image. Reads go through libCZI's scaling tile accessor at zoom 1, which composes a
region from the sub-blocks (mosaic tiles) that cover it, so a 10 GB slide is never read whole; the
declared chunk is the file's sub-block size, so the writer's reads line up with what libCZI decodes.
pylibCZIrw gives no access to a file's pyramid layers (only resampled reads), so only level 0 is
offered and the writer builds the pyramid. BGR pixel types become three channels (red, green, blue).
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ElementTree
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
    check_limits,
    default_channels,
    library_error,
)
from .ome_xml import parse_date

MAGIC = b"ZISRAWFILE"
# libCZI pixel type -> (numpy type, samples per pixel); BGR types hold blue, green, red in that order.
_PIXEL_TYPES = {
    "Gray8": ("uint8", 1),
    "Gray16": ("uint16", 1),
    "Gray32Float": ("float32", 1),
    "Bgr24": ("uint8", 3),
    "Bgr48": ("uint16", 3),
    "Bgr96Float": ("float32", 3),
}
# Dimensions scopehub has no axis for: a file that uses them (size > 1) is refused, not half-imported.
_OTHER_DIMENSIONS = {"R": "rotations", "I": "illuminations", "H": "phases", "V": "views", "B": "blocks"}
# libCZI caches decoded sub-blocks: a region that shares a sub-block with the last one decodes it once.
CACHE_BYTES = 128 * 2**20


def is_czi(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def open_czi(path: Path, limits: ReaderLimits) -> SourceFile:
    """Open a CZI file; raise UnreadableFile when libCZI cannot make sense of it."""
    from pylibCZIrw import czi as pyczi

    try:
        cache = pyczi.CacheOptions(type=pyczi.CacheType.Standard, max_memory_usage=CACHE_BYTES)
        reader = pyczi.CziReader(str(path), cache_options=cache)
    except Exception as exc:  # libCZI's C++ exceptions arrive as RuntimeError and others
        raise UnreadableFile(
            f"{path.name}: not a readable CZI file ({library_error(exc, path)}); it may be truncated or corrupt."
        ) from exc
    try:
        return _source(path, reader, limits)
    except BaseException:
        reader.close()
        raise


class CziLevel(LazyArray):
    """Level 0 of one scene as a lazy TCZYX array."""

    def __init__(
        self,
        reader: Any,
        lock: threading.Lock,
        scene: int | None,
        origin: tuple[int, int],
        shape: tuple[int, int, int, int, int],
        dtype: str,
        samples: int,
        pixel_type: str,
        block: tuple[int, int],
        path: Path,
        where: str,
    ):
        self._path = path
        self._reader = reader
        self._lock = lock
        self._scene = scene
        self._origin = origin
        self._samples = samples
        self._pixel_type = pixel_type
        self._where = where
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.chunks = (1, samples, 1, min(block[0], shape[3]), min(block[1], shape[4]))

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        out = np.zeros((len(t), len(c), len(z), len(y), len(x)), self.dtype)
        roi = (self._origin[0] + x.start, self._origin[1] + y.start, len(x), len(y))
        for ti, tt in enumerate(t):
            for zi, zz in enumerate(z):
                planes: dict[int, list[tuple[int, int]]] = {}
                for ci, cc in enumerate(c):
                    planes.setdefault(cc // self._samples, []).append((ci, cc % self._samples))
                for channel, targets in planes.items():
                    try:
                        with self._lock:
                            data = self._reader.read(
                                roi=roi,
                                plane={"C": channel, "Z": zz, "T": tt},
                                scene=self._scene,
                                pixel_type=self._pixel_type,
                            )
                    except Exception as exc:
                        raise UnreadableFile(
                            f"{self._where}: libCZI could not read plane t={tt} c={channel} z={zz} "
                            f"({library_error(exc, self._path)}); the file may be truncated or corrupt."
                        ) from exc
                    for ci, sample in targets:
                        # BGR in memory: red is the last sample.
                        out[ti, ci, zi] = data[..., self._samples - 1 - sample if self._samples == 3 else 0]
        return out


def _source(path: Path, reader: Any, limits: ReaderLimits) -> SourceFile:
    try:
        box = reader.total_bounding_box_no_pyramid
        scenes = reader.scenes_bounding_rectangle_no_pyramid
        pixel_types = set(reader.pixel_types.values())
        xml = reader.raw_metadata
        blocks: list[tuple[int, int]] = []
        reader.enumerate_subblocks(
            lambda _i, sb: blocks.append((sb.logicalRect.h, sb.logicalRect.w)) or len(blocks) < 4096
        )
    except Exception as exc:
        raise UnreadableFile(
            f"{path.name}: the CZI directory or metadata cannot be read ({library_error(exc, path)}); the file "
            "may be truncated or corrupt."
        ) from exc
    for dim, what in _OTHER_DIMENSIONS.items():
        if dim in box and box[dim][1] - box[dim][0] > 1:
            raise UnreadableFile(
                f"{path.name}: the CZI file has {box[dim][1] - box[dim][0]} {what}, which scopehub cannot import yet."
            )
    if len(pixel_types) != 1:
        found = ", ".join(sorted(pixel_types))
        raise UnreadableFile(f"{path.name}: its channels have different pixel types ({found}).")
    pixel_type = pixel_types.pop()
    if pixel_type not in _PIXEL_TYPES:
        raise UnreadableFile(f"{path.name}: the CZI pixel type {pixel_type} is not supported.")
    dtype, samples = _PIXEL_TYPES[pixel_type]
    meta = _metadata(xml)
    size_t, size_z, size_c = (box[d][1] - box[d][0] for d in "TZC")
    block = (max((b[0] for b in blocks), default=512), max((b[1] for b in blocks), default=512))
    rects: list[tuple[int | None, Any]] = (
        [(s, scenes[s]) for s in sorted(scenes)] if scenes else [(None, reader.total_bounding_rectangle_no_pyramid)]
    )
    lock = threading.Lock()
    images = []
    for k, (scene, rect) in enumerate(rects):
        where = f"{path.name} (scene {scene})" if len(rects) > 1 else path.name
        name = meta["scenes"].get(scene or 0) if len(rects) > 1 else None
        info = ImageInfo(
            name=name or (path.name if len(rects) == 1 else f"{path.name} [{k}]"),
            size_x=int(rect.w),
            size_y=int(rect.h),
            size_z=size_z,
            size_c=size_c * samples,
            size_t=size_t,
            pixel_type=dtype,
            series=k,
            is_rgb=samples == 3 and size_c == 1,
            format="czi",
            physical_size_x=meta["scaling"].get("X"),
            physical_size_y=meta["scaling"].get("Y"),
            physical_size_z=meta["scaling"].get("Z") if size_z > 1 else None,
            acquisition_date=meta["date"],
            description=meta["description"],
            instrument=dict(meta["instrument"]),
        )
        check_limits(info, limits, where)
        info.channels = _channels(meta["channels"], size_c, samples)
        shape = (size_t, size_c * samples, size_z, int(rect.h), int(rect.w))
        origin = (int(rect.x), int(rect.y))
        level = CziLevel(reader, lock, scene, origin, shape, dtype, samples, pixel_type, block, path, where)
        images.append(SourceImage(info=info, levels=[level]))
    return SourceFile(path, "czi", images, close=reader.close)


def _channels(found: list[ChannelInfo], size_c: int, samples: int) -> list[ChannelInfo]:
    if samples == 3:
        colors = list(zip(("red", "green", "blue"), RGB_COLORS, strict=True))
        if size_c == 1:
            return [ChannelInfo(name=n.capitalize(), color=col) for n, col in colors]
        bases = [ch.name or f"Channel {i}" for i, ch in enumerate(found)] if len(found) == size_c else []
        bases = bases or [f"Channel {i}" for i in range(size_c)]
        return [ChannelInfo(name=f"{base} {n}", color=col) for base in bases for n, col in colors]
    if len(found) != size_c:
        return default_channels(size_c)
    defaults = default_channels(size_c)
    for ch, default in zip(found, defaults, strict=True):
        ch.name = ch.name or default.name
        ch.color = ch.color or default.color
    return found


# -- metadata ------------------------------------------------------------------------------------


def _metadata(xml: str) -> dict[str, Any]:
    """What the CZI's XML says of scaling, channels, scenes, date and instrument (all optional)."""
    meta: dict[str, Any] = {
        "scaling": {},
        "channels": [],
        "scenes": {},
        "date": None,
        "description": "",
        "instrument": {},
    }
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return meta
    for distance in root.iterfind("./Metadata/Scaling/Items/Distance"):
        try:
            metres = float(distance.findtext("Value") or "")
        except ValueError:
            continue
        if metres > 0:
            meta["scaling"][distance.get("Id", "")] = round(metres * 1e6, 9)  # CZI stores metres
    image = root.find("./Metadata/Information/Image")
    if image is not None:
        meta["date"] = _date(image.findtext("AcquisitionDateAndTime"))
        display = {
            (ch.get("Id"), ch.get("Name")): _color(ch.findtext("Color"))
            for ch in root.iterfind("./Metadata/DisplaySetting/Channels/Channel")
        }
        display_colors = list(display.values())
        for i, ch in enumerate(image.iterfind("./Dimensions/Channels/Channel")):
            color = _color(ch.findtext("Color")) or display.get((ch.get("Id"), ch.get("Name")))
            if not color and i < len(display_colors):
                color = display_colors[i]
            meta["channels"].append(
                ChannelInfo(
                    name=ch.get("Name") or ch.findtext("Fluor") or "",
                    color=color or "",
                    excitation_wavelength=_number(ch.findtext("ExcitationWavelength")),
                    emission_wavelength=_number(ch.findtext("EmissionWavelength")),
                )
            )
        for scene in image.iterfind("./Dimensions/S/Scenes/Scene"):
            try:
                meta["scenes"][int(scene.get("Index", ""))] = scene.get("Name") or None
            except ValueError:
                continue
    document = root.find("./Metadata/Information/Document")
    if document is not None:
        meta["description"] = (document.findtext("Description") or "").strip()
    instrument = root.find("./Metadata/Information/Instrument")
    if instrument is not None:
        microscope = instrument.find("./Microscopes/Microscope")
        if microscope is not None and microscope.get("Name"):
            meta["instrument"]["microscope"] = {"Model": microscope.get("Name")}
        objectives = []
        for objective in instrument.iterfind("./Objectives/Objective"):
            entry = {"Model": objective.get("Name", "")}
            for tag in ("LensNA", "NominalMagnification", "Immersion"):
                if objective.findtext(tag):
                    entry[tag] = objective.findtext(tag, "").strip()
            objectives.append(entry)
        if objectives:
            meta["instrument"]["objectives"] = objectives
    return meta


def _color(value: str | None) -> str | None:
    """``#AARRGGBB`` or ``#RRGGBB`` -> ``RRGGBB``."""
    value = (value or "").strip().lstrip("#")
    return value[-6:].upper() if re.fullmatch(r"[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?", value) else None


def _number(value: str | None) -> float | None:
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def _date(value: str | None) -> Any:
    # ZEN writes seven digits of fractional seconds; Python reads up to six.
    return parse_date(re.sub(r"(\.\d{6})\d+", r"\1", value.strip())) if value else None
