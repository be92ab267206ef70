"""TIFF, BigTIFF, OME-TIFF, SVS, NDPI, ImageJ: through tifffile, tile by tile.

Pixels are read by decoding only the tiles or strips a region needs, each into a buffer of its
declared size (so a tile that inflates past it fails instead of filling memory), from a private
file descriptor with ``os.pread`` so that many threads can decode at once.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import threading
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

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
    store_dtype,
)

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# Photometric interpretations whose samples are red, green, blue.
RGB_PHOTOMETRIC = {2, 6}  # RGB, YCbCr (decoded to RGB)
# Series names that tifffile or writers make up: the file name says more.
_GENERIC_NAME = re.compile(r"(Image|Series|Image:)\s*\d*|Baseline|")


def is_tiff(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in TIFF_MAGIC


class TiffLevel(LazyArray):
    """One pyramid level of a tifffile series as a lazy TCZYX array."""

    def __init__(self, series: Any, source: TiffSource, where: str):
        self._source = source
        self._where = where
        keyframe = series.keyframe
        if keyframe.imagedepth > 1:
            raise UnreadableFile(f"{where}: volumetric TIFF tiles (ImageDepth > 1) are not supported.")
        self._keyframe = keyframe
        self._pages: list[Any] = list(series.pages)
        axes, shape = series.get_axes(False), series.get_shape(False)
        # The axes inside a page: Y, X and samples; the others index pages.
        _, _, length, width, contig = keyframe.shaped
        separate = keyframe.shaped[0]
        self._samples = separate * contig
        self._separate = separate > 1
        # The page's own axes end the series' axes: [separate samples] Y X [contiguous samples].
        dims = list(zip(axes, shape, strict=True))
        if dims and (dims[-1][0] == "S" or (contig > 1 and dims[-1][1] == contig)):
            dims.pop()
        for expected in (width, length):
            if not dims or dims[-1][1] != expected:
                raise UnreadableFile(f"{where}: the series shape {shape} does not match its pages.")
            dims.pop()
        if separate > 1:
            if not dims or dims[-1][1] != separate:
                raise UnreadableFile(f"{where}: the series shape {shape} does not match its pages.")
            dims.pop()
        page_dims = [(a, n) for a, n in dims if not (a == "S" and n == 1)]
        count = math.prod(n for _, n in page_dims)
        if count != len(self._pages):
            raise UnreadableFile(f"{where}: the series declares {count} planes but the file holds {len(self._pages)}.")
        # Assign each page axis to t, c or z; axes tifffile cannot name (Q, I, ...) fill z, then t, then c.
        targets: dict[str, list[tuple[int, int]]] = {"t": [], "c": [], "z": []}
        unnamed = []
        for i, (a, n) in enumerate(page_dims):
            if a in "TCZ":
                targets[a.lower()].append((i, n))
            else:
                unnamed.append((i, n))
        for i, n in unnamed:
            if n == 1:
                continue
            free = next((k for k in "ztc" if not targets[k]), "z")
            targets[free].append((i, n))
        self._targets = targets
        self._page_shape = [n for _, n in page_dims]
        self._planes: dict[tuple[int, int, int], tuple[Any, int]] = {}
        self.rgb = keyframe.photometric in RGB_PHOTOMETRIC and self._samples >= 3
        # An RGB(A) page keeps red, green and blue; alpha is dropped.
        self._used_samples = 3 if self.rgb else self._samples
        size = {k: math.prod(n for _, n in v) for k, v in targets.items()}
        self.shape = (size["t"], size["c"] * self._used_samples, size["z"], length, width)
        self.source_dtype = np.dtype(keyframe.dtype)
        self.dtype = store_dtype(self.source_dtype)
        if keyframe.is_tiled:
            self._block = (keyframe.tilelength, keyframe.tilewidth)
        else:
            self._block = (max(1, min(keyframe.rowsperstrip, length)), width)
        group = self._used_samples if (self.rgb or not self._separate) else 1
        self.chunks = (1, group, 1, *self._block)
        # Uncompressed, unpacked data is read as it lies, without tifffile's decoder.
        self._raw = (
            keyframe.compression == 1
            and keyframe.predictor == 1
            and keyframe.fillorder == 1
            and keyframe.bitspersample == self.source_dtype.itemsize * 8
            and self.source_dtype.kind in "uif"
        )
        keyframe.decode  # noqa: B018 - builds tifffile's decoder here, not concurrently in the workers

    # -- index arithmetic ---------------------------------------------------------------------

    def _page_of(self, t: int, c: int, z: int) -> tuple[Any, int]:
        """The page holding plane (t, c, z), and the sample within it (worked out once per plane)."""
        found = self._planes.get((t, c, z))
        if found is None:
            found = self._planes[(t, c, z)] = self._find_page(t, c, z)
        return found

    def _find_page(self, t: int, c: int, z: int) -> tuple[Any, int]:
        cpage, sample = divmod(c, self._used_samples)
        index = [0] * len(self._page_shape)
        for name, value in (("t", t), ("c", cpage), ("z", z)):
            for i, n in reversed(self._targets[name]):
                value, index[i] = divmod(value, n)
        flat = int(np.ravel_multi_index(index, self._page_shape)) if index else 0
        return self._pages[flat], sample

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        if len(t) == len(c) == len(z) == 1:
            inside = self._inside_one_segment(t[0], c[0], z[0], y, x)
            if inside is not None:
                return inside
        out = np.zeros((len(t), len(c), len(z), len(y), len(x)), self.dtype)
        for ti, tt in enumerate(t):
            for zi, zz in enumerate(z):
                by_page: dict[int, tuple[Any, list[tuple[int, int]]]] = {}
                for ci, cc in enumerate(c):
                    page, sample = self._page_of(tt, cc, zz)
                    if page is None:
                        continue  # a plane the file does not hold reads as zeros
                    by_page.setdefault(id(page), (page, []))[1].append((ci, sample))
                for page, targets in by_page.values():
                    self._read_page(page, targets, out[ti, :, zi], y, x)
        return out

    def _inside_one_segment(self, t: int, c: int, z: int, y: range, x: range) -> np.ndarray | None:
        """(y, x) of one plane when it lies inside one tile or strip: the decoded segment itself, without
        a zeroed buffer and a copy into it (the pyramid writer reads tile by tile). None otherwise."""
        bh, bw = self._block
        row, col = y.start // bh, x.start // bw
        if (y.stop - 1) // bh != row or (x.stop - 1) // bw != col:
            return None
        page, sample = self._page_of(t, c, z)
        if page is None:
            return None
        ncols = math.ceil(self.shape[4] / bw)
        plane = sample if self._separate else 0
        index = plane * math.ceil(self.shape[3] / bh) * ncols + row * ncols + col
        offsets, counts = page.dataoffsets, page.databytecounts
        if index >= len(offsets) or counts[index] == 0:
            return None
        tile = self._segment(page, index, offsets[index], counts[index])  # (depth, h, w, samples)
        y0, x0 = row * bh, col * bw
        if tile.shape[1] < y.stop - y0 or tile.shape[2] < x.stop - x0:
            return None  # a short segment: the general path fills the rest with zeros
        part = cast(tile[0, y.start - y0 : y.stop - y0, x.start - x0 : x.stop - x0, 0 if self._separate else sample],
                    self.dtype)
        if not part.flags.writeable:  # raw segments are views of the bytes read
            part = part.copy()
        return part[None, None, None]

    def _read_page(self, page: Any, targets: list[tuple[int, int]], out: np.ndarray, y: range, x: range) -> None:
        """Decode the segments of ``page`` that cover (y, x) into out[channel] for each (channel, sample)."""
        bh, bw = self._block
        length, width = self.shape[3], self.shape[4]
        rows = range(y.start // bh, (y.stop - 1) // bh + 1)
        cols = range(x.start // bw, (x.stop - 1) // bw + 1)
        ncols = math.ceil(width / bw)
        per_plane = math.ceil(length / bh) * ncols
        planes = sorted({s for _, s in targets}) if self._separate else [0]
        offsets, counts = page.dataoffsets, page.databytecounts
        for plane in planes:
            for r in rows:
                for col in cols:
                    index = plane * per_plane + r * ncols + col
                    if index >= len(offsets) or counts[index] == 0:
                        continue
                    tile = self._segment(page, index, offsets[index], counts[index])  # (depth, h, w, samples)
                    y0, x0 = r * bh, col * bw
                    ys = slice(max(y.start, y0), min(y.stop, y0 + tile.shape[1]))
                    xs = slice(max(x.start, x0), min(x.stop, x0 + tile.shape[2]))
                    if ys.start >= ys.stop or xs.start >= xs.stop:
                        continue
                    part = tile[0, ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
                    dest = (slice(ys.start - y.start, ys.stop - y.start), slice(xs.start - x.start, xs.stop - x.start))
                    for ci, sample in targets:
                        if self._separate and sample != plane:
                            continue
                        out[(ci, *dest)] = cast(part[..., 0 if self._separate else sample], self.dtype)

    def _segment(self, page: Any, index: int, offset: int, count: int) -> np.ndarray:
        kf = self._keyframe
        fd, size = self._source.descriptor(page)
        if offset + count > size:
            raise UnreadableFile(f"{self._where}: the file is truncated (a tile lies past its end).")
        if self._raw:
            return self._raw_segment(fd, index, offset, count)
        data = os.pread(fd, count, offset)
        if len(data) != count:
            raise UnreadableFile(f"{self._where}: the file is truncated (a tile lies past its end).")
        kwargs: dict[str, Any] = {}
        if kf.compression in {6, 7, 34892, 33007}:  # JPEG flavours
            kwargs["jpegtables"] = getattr(page, "jpegtables", None) or kf.jpegtables
            kwargs["jpegheader"] = kf.jpegheader
        try:
            tile, _, _ = kf.decode(data, index, **kwargs)
        except Exception as exc:  # codecs raise many types; all mean the same here
            raise UnreadableFile(
                f"{self._where}: tile {index} could not be decoded into its declared {self._block[0]} × "
                f"{self._block[1]} pixels ({type(exc).__name__}: {exc}); the file is corrupt or uses an "
                "unsupported compression."
            ) from exc
        if tile is None:
            return np.zeros((1, *self._block, self._samples if not self._separate else 1), self.source_dtype)
        return tile

    def _raw_segment(self, fd: int, index: int, offset: int, count: int) -> np.ndarray:
        kf = self._keyframe
        bh, bw = self._block
        samples = 1 if self._separate else self._samples
        ncols = math.ceil(self.shape[4] / bw)
        row0 = (index % (math.ceil(self.shape[3] / bh) * ncols)) // ncols * bh
        h = bh if kf.is_tiled else min(bh, self.shape[3] - row0)
        dtype = self.source_dtype.newbyteorder(self._source.byteorder)
        need = h * bw * samples * dtype.itemsize
        if count < need:
            raise UnreadableFile(f"{self._where}: segment {index} holds {count} bytes, {need} expected.")
        # pread, not a memory map: mapped pages would count in the process's memory as they are read.
        data = os.pread(fd, need, offset)
        if len(data) != need:
            raise UnreadableFile(f"{self._where}: the file is truncated (a tile lies past its end).")
        return np.frombuffer(data, dtype).reshape(1, h, bw, samples)


class TiffSource:
    """The open file: tifffile's parse, and descriptors for concurrent reads (os.pread).

    A multi-file OME-TIFF has pages in several files: each file gets its own descriptor.
    """

    def __init__(self, path: Path):
        self.path = os.path.realpath(path)
        self.fd = os.open(path, os.O_RDONLY)
        self.file_size = os.fstat(self.fd).st_size
        self._files: dict[str, tuple[int, int]] = {self.path: (self.fd, self.file_size)}
        self._by_parent: dict[Any, tuple[int, int]] = {}  # tifffile.TiffFile (hashed by identity) -> _files entry
        self._lock = threading.Lock()
        self.byteorder = "<"
        self.tif: tifffile.TiffFile | None = None

    def descriptor(self, page: Any) -> tuple[int, int]:
        """(descriptor, size) of the file that holds ``page``."""
        parent = page.parent
        found = self._by_parent.get(parent)  # every tile asks: look each file up once, not per tile
        if found is None:
            path = os.path.realpath(parent.filehandle.path)
            with self._lock:
                found = self._files.get(path)
                if found is None:
                    fd = os.open(path, os.O_RDONLY)
                    found = self._files[path] = (fd, os.fstat(fd).st_size)
                self._by_parent[parent] = found
        return found

    @property
    def files(self) -> list[str]:
        """The files read so far (all of them once the offsets were checked)."""
        return list(self._files)

    def close(self) -> None:
        if self.tif is not None:
            self.tif.close()
        for fd, _ in self._files.values():
            os.close(fd)
        self._files.clear()
        self._by_parent.clear()


def open_tiff(path: Path, limits: ReaderLimits) -> SourceFile:
    """Open a TIFF-family file; raise UnreadableFile when tifffile cannot make sense of it."""
    source = TiffSource(path)
    try:
        try:
            tif = source.tif = tifffile.TiffFile(path)
            source.byteorder = tif.byteorder
            series = list(tif.series)
        except UnreadableFile:
            raise
        except Exception as exc:
            raise UnreadableFile(
                f"{path.name}: not a readable TIFF file ({type(exc).__name__}: {exc}); it may be truncated or corrupt."
            ) from exc
        if not series:
            raise UnreadableFile(f"{path.name}: the TIFF file holds no image; it may be truncated or corrupt.")
        if tif.is_ome:
            fmt = "ome-tiff"
        elif tif.is_svs:
            fmt = "svs"
        elif tif.is_ndpi:
            fmt = "ndpi"
        elif tif.is_imagej:
            fmt = "imagej-tiff"
        else:
            fmt = "tiff"
        if fmt in ("svs", "ndpi"):
            # The slide itself; its label and macro photographs are not images of the sample.
            series = series[:1]
        ome = parse_ome_xml(tif.ome_metadata) if tif.is_ome and tif.ome_metadata else []
        images = []
        for i, s in enumerate(series):
            where = f"{path.name} (series {i})" if len(series) > 1 else path.name
            images.append(_image(path, tif, s, i, len(series), fmt, ome, source, limits, where))
        return SourceFile(path, fmt, images, close=source.close, files=source.files)
    except BaseException:
        source.close()
        raise


def _image(
    path: Path,
    tif: tifffile.TiffFile,
    series: Any,
    index: int,
    count: int,
    fmt: str,
    ome: list[dict[str, Any]],
    source: TiffSource,
    limits: ReaderLimits,
    where: str,
) -> SourceImage:
    try:
        levels = [TiffLevel(level, source, where) for level in series.levels]
    except UnreadableFile:
        raise
    except ValueError as exc:
        raise UnreadableFile(f"{where}: {exc}.") from exc
    except Exception as exc:
        raise UnreadableFile(f"{where}: the TIFF structure is not understood ({type(exc).__name__}: {exc}).") from exc
    base = levels[0]
    # Keep only levels that shrink, with the same planes: anything else is not a pyramid of this image.
    levels = [base] + [lv for lv in levels[1:] if lv.shape[:3] == base.shape[:3] and lv.shape[3] < base.shape[3]]
    t, c, z, y, x = base.shape
    name = series.name if series.name and not _GENERIC_NAME.fullmatch(series.name) else ""
    if not name:
        name = path.name if count == 1 else f"{path.name} [{index}]"
    info = ImageInfo(
        name=name,
        size_x=x,
        size_y=y,
        size_z=z,
        size_c=c,
        size_t=t,
        pixel_type=base.dtype.name,
        series=index,
        is_rgb=base.rgb,
        format=fmt,
    )
    check_limits(info, limits, where)
    _check_offsets(levels, source, where)
    meta = _ome_for_series(ome, series, index)
    if meta:
        _apply_ome(info, meta)
    else:
        _apply_tiff_tags(info, tif, base)
    if not info.channels or len(info.channels) != c:
        names = [ch.name for ch in info.channels] if len(info.channels) == c else None
        info.channels = (
            [ChannelInfo(name=n, color=col) for n, col in zip(("Red", "Green", "Blue"), RGB_COLORS, strict=True)]
            if base.rgb and c == 3
            else default_channels(c, names)
        )
    return SourceImage(info=info, levels=list(levels))


def _check_offsets(levels: list[TiffLevel], source: TiffSource, where: str) -> None:
    """A truncated file: tiles that start or end past the end of the file."""
    for level in levels:
        for page in level._pages:
            if page is None:
                continue
            offsets, counts = page.dataoffsets, page.databytecounts
            _, size = source.descriptor(page)
            if offsets and max(o + n for o, n in zip(offsets, counts, strict=False)) > size:
                name = os.path.basename(page.parent.filehandle.path)
                raise UnreadableFile(
                    f"{where}: the file {name} is truncated: its pixel data runs past the end of the file "
                    f"({size} bytes). Copy it again from its source."
                )


# -- metadata ----------------------------------------------------------------------------------

_LENGTH_UNITS = {
    "µm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "mm": 1e3,
    "millimeter": 1e3,
    "cm": 1e4,
    "centimeter": 1e4,
    "m": 1e6,
    "meter": 1e6,
    "Å": 1e-4,
    "pm": 1e-6,
    "in": 25400.0,
    "inch": 25400.0,
}


def to_micrometres(value: Any, unit: str | None) -> float | None:
    """A length in micrometres, or None when the unit is unknown or the value no length."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    factor = _LENGTH_UNITS.get((unit or "µm").strip())
    if factor is None or not math.isfinite(v) or v <= 0:
        return None
    return v * factor


def _wavelength_nm(value: Any, unit: str | None) -> float | None:
    um = to_micrometres(value, unit or "nm")
    return None if um is None else round(um * 1000, 6)


def _strip(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attrs(element: ElementTree.Element) -> dict[str, str]:
    return {k: v for k, v in element.attrib.items() if k != "ID"}


def parse_date(value: str | None) -> dt.datetime | None:
    """ISO 8601 (OME) or TIFF's ``YYYY:MM:DD HH:MM:SS``."""
    if not value:
        return None
    value = value.strip()
    m = re.fullmatch(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", value)
    if m:
        value = f"{m[1]}-{m[2]}-{m[3]}T{m[4]}:{m[5]}:{m[6]}"
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def color_from_ome(value: str | None) -> str | None:
    """OME stores colours as a signed 32-bit RGBA integer."""
    if value is None:
        return None
    try:
        rgba = int(value) & 0xFFFFFFFF
    except ValueError:
        return None
    return f"{rgba >> 8:06X}"


def parse_ome_xml(xml: str) -> list[dict[str, Any]]:
    """The Image elements of OME-XML: name, date, pixels, channels, instrument (namespace-agnostic)."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return []
    instruments: dict[str, dict[str, Any]] = {}
    for inst in root:
        if _strip(inst.tag) != "Instrument":
            continue
        found: dict[str, Any] = {}
        objectives: dict[str, dict[str, str]] = {}
        for part in inst:
            kind = _strip(part.tag)
            if kind == "Microscope":
                found["microscope"] = _attrs(part)
            elif kind == "Objective":
                objectives[part.get("ID", "")] = _attrs(part)
            elif kind in (
                "Detector",
                "LightSource",
                "Laser",
                "Arc",
                "Filament",
                "LightEmittingDiode",
                "Filter",
                "Dichroic",
            ):
                found.setdefault(kind[0].lower() + kind[1:] + "s", []).append({"type": kind, **_attrs(part)})
        if objectives:
            found["objectives"] = list(objectives.values())
        instruments[inst.get("ID", "")] = {"data": found, "objectives": objectives}
    images = []
    for image in root:
        if _strip(image.tag) != "Image":
            continue
        entry: dict[str, Any] = {"name": image.get("Name", ""), "instrument": {}, "channels": []}
        for part in image:
            kind = _strip(part.tag)
            if kind == "AcquisitionDate":
                entry["date"] = parse_date(part.text)
            elif kind == "Description":
                entry["description"] = (part.text or "").strip()
            elif kind == "InstrumentRef":
                inst = instruments.get(part.get("ID", ""))
                if inst:
                    entry["instrument"] = dict(inst["data"])
                    entry["_objectives"] = inst["objectives"]
            elif kind == "ObjectiveSettings":
                entry["objective_settings"] = _attrs(part) | {"ID": part.get("ID", "")}
            elif kind == "Pixels":
                entry["pixels"] = dict(part.attrib)
                for ch in part:
                    if _strip(ch.tag) == "Channel":
                        entry["channels"].append(dict(ch.attrib))
        settings = entry.pop("objective_settings", None)
        objectives = entry.pop("_objectives", {})
        if settings:
            objective = objectives.get(settings.pop("ID"))
            entry["instrument"]["objective_settings"] = settings
            if objective:
                entry["instrument"]["objective"] = objective
        images.append(entry)
    return images


def _ome_for_series(ome: list[dict[str, Any]], series: Any, index: int) -> dict[str, Any] | None:
    if not ome:
        return None
    if index < len(ome) and (not series.name or ome[index]["name"] == series.name):
        return ome[index]
    return next((m for m in ome if m["name"] and m["name"] == series.name), None)


def _apply_ome(info: ImageInfo, meta: dict[str, Any]) -> None:
    px = meta.get("pixels", {})
    if meta.get("name") and not _GENERIC_NAME.fullmatch(meta["name"]):
        info.name = meta["name"]
    info.description = meta.get("description", "")
    info.acquisition_date = meta.get("date")
    info.instrument = meta.get("instrument", {})
    for axis in "XYZ":
        value = to_micrometres(px.get(f"PhysicalSize{axis}"), px.get(f"PhysicalSize{axis}Unit"))
        setattr(info, f"physical_size_{axis.lower()}", value)
    channels = []
    for ch in meta.get("channels", []):
        samples = int(ch.get("SamplesPerPixel", "1") or 1)
        base = ChannelInfo(
            name=ch.get("Name", ""),
            color=color_from_ome(ch.get("Color")) or "",
            emission_wavelength=_wavelength_nm(ch.get("EmissionWavelength"), ch.get("EmissionWavelengthUnit")),
            excitation_wavelength=_wavelength_nm(ch.get("ExcitationWavelength"), ch.get("ExcitationWavelengthUnit")),
        )
        if samples >= 3 and info.is_rgb:
            channels += [
                ChannelInfo(name=n, color=c) for n, c in zip(("Red", "Green", "Blue"), RGB_COLORS, strict=True)
            ]
        else:
            channels += [base] * max(1, samples)
    if len(channels) == info.size_c:
        defaults = default_channels(info.size_c)
        for i, ch in enumerate(channels):
            channels[i] = ChannelInfo(**{**ch.__dict__})
            channels[i].name = channels[i].name or defaults[i].name
            channels[i].color = channels[i].color or defaults[i].color
        info.channels = channels


def _apply_tiff_tags(info: ImageInfo, tif: tifffile.TiffFile, base: TiffLevel) -> None:
    page = tif.pages.first
    tags = page.tags
    if tif.is_svs:
        try:
            meta = tifffile.tifffile.svs_description_metadata(page.description)
        except Exception:
            meta = {}
        mpp = meta.get("MPP")
        info.physical_size_x = info.physical_size_y = to_micrometres(mpp, "µm")
        date = meta.get("Date")
        if date:
            when = f"{date} {meta.get('Time', '00:00:00')}"
            for fmt in ("%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S"):
                try:
                    info.acquisition_date = dt.datetime.strptime(when, fmt)
                    break
                except ValueError:
                    pass
        info.instrument = {k: meta[k] for k in ("AppMag", "ScanScope ID", "ScannerType", "Header") if k in meta}
        return
    if tif.is_ndpi:
        ndpi = page.ndpi_tags or {}
        names = {"Magnification": "magnification", "ScannerSerialNumber": "serial_number"}
        info.instrument = {names[k]: v for k, v in ndpi.items() if k in names}
    if tif.is_imagej:
        ij = tif.imagej_metadata or {}
        unit = ij.get("unit")
        unit = {"micron": "µm", "\\u00B5m": "µm"}.get(unit, unit)
        if unit and "XResolution" in tags:
            num, den = tags["XResolution"].value
            info.physical_size_x = to_micrometres(den / num if num else None, unit)
            num, den = tags["YResolution"].value
            info.physical_size_y = to_micrometres(den / num if num else None, unit)
        if unit and ij.get("spacing"):
            info.physical_size_z = to_micrometres(ij["spacing"], unit)
        labels = ij.get("Labels")
        if isinstance(labels, list) and len(labels) == info.size_c:
            info.channels = default_channels(info.size_c, [str(v) for v in labels])
    elif "ResolutionUnit" in tags and "XResolution" in tags:
        unit = int(tags["ResolutionUnit"].value)
        for axis in "XY":
            num, den = tags[f"{axis}Resolution"].value
            per_unit = num / den if den else 0
            # Inches only from a plausible microscope resolution (not a 72 dpi default).
            if per_unit > 0 and (unit == 3 or (unit == 2 and per_unit >= 1000)):
                setattr(info, f"physical_size_{axis.lower()}", (1e4 if unit == 3 else 25400.0) / per_unit)
    if "DateTime" in tags:
        info.acquisition_date = parse_date(str(tags["DateTime"].value))
    for key, tag in (("make", "Make"), ("model", "Model"), ("software", "Software")):
        if tag in tags and key not in info.instrument:
            info.instrument[key] = str(tags[tag].value)
