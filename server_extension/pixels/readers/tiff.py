"""TIFF, BigTIFF, OME-TIFF, SVS, NDPI, ImageJ: through tifffile, tile by tile.

``open_tiff`` checks that the file is whole (``tiff_integrity``), lets tifffile parse it, and makes
one ``SourceImage`` per series: its levels are ``tiff_level.TiffLevel`` lazy arrays, its metadata
comes from ``tiff_metadata``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import tifffile

from ..info import RGB_COLORS, ChannelInfo, ImageInfo
from .base import ReaderLimits, SourceFile, SourceImage, UnreadableFile, check_limits, default_channels
from .tiff_integrity import TiffLayout, check_declared, check_pages, check_structure
from .tiff_level import TiffLevel
from .tiff_metadata import GENERIC_NAME, apply_ome, apply_tiff_tags, ome_for_series, parse_ome_xml

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def is_tiff(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in TIFF_MAGIC


class TiffSource:
    """The open file: tifffile's parse, and descriptors for concurrent reads (os.pread).

    A multi-file OME-TIFF has pages in several files: each file gets its own descriptor.
    """

    def __init__(self, path: Path):
        self.path = os.path.realpath(path)
        self._files: dict[str, tuple[int, int]] = {}
        self._by_parent: dict[Any, tuple[int, int]] = {}  # tifffile.TiffFile (hashed by identity) -> _files entry
        self._lock = threading.Lock()
        self.fd, self.file_size = self._open(self.path)
        self.byteorder = "<"
        self.tif: tifffile.TiffFile | None = None

    def _open(self, path: str) -> tuple[int, int]:
        """Open one file of the source, after checking that its structure is whole."""
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            layout = TiffLayout.of(path, os.pread(fd, 4, 0))
            if layout is None:
                raise UnreadableFile(f"{os.path.basename(path)}: not a TIFF file (its first bytes say otherwise).")
            check_structure(fd, size, layout, os.path.basename(path))
        except BaseException:
            os.close(fd)
            raise
        self._files[path] = (fd, size)
        return fd, size

    def descriptor(self, page: Any) -> tuple[int, int]:
        """(descriptor, size) of the file that holds ``page`` (a companion file is checked when first met)."""
        parent = page.parent
        found = self._by_parent.get(parent)  # every tile asks: look each file up once, not per tile
        if found is None:
            path = os.path.realpath(parent.filehandle.path)
            with self._lock:
                found = self._files.get(path) or self._open(path)
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
    source = TiffSource(path)  # refuses a file whose IFDs, tag values or pixel data run past its end
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
    meta = ome_for_series(ome, series, index)
    check_declared(tif, series, index, meta, path, where)
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
    name = series.name if series.name and not GENERIC_NAME.fullmatch(series.name) else ""
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
    check_pages(levels, source.descriptor, where)
    if meta:
        apply_ome(info, meta)
    else:
        apply_tiff_tags(info, tif)
    if not info.channels or len(info.channels) != c:
        names = [ch.name for ch in info.channels] if len(info.channels) == c else None
        info.channels = (
            [ChannelInfo(name=n, color=col) for n, col in zip(("Red", "Green", "Blue"), RGB_COLORS, strict=True)]
            if base.rgb and c == 3
            else default_channels(c, names)
        )
    return SourceImage(info=info, levels=list(levels))
