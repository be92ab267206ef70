"""Everything else Bio-Formats reads (about 150 formats), through its Java library in a JVM.

Tried last, only for files no native reader accepts, only when the formats extra, the Bio-Formats jar
and Java are installed (``jvm.missing()``), and only for names with a suffix Bio-Formats claims (so a
stray text file never costs a JVM start). Regions are read with ``openBytes(plane, x, y, w, h)``, one
call at a time per file (a Bio-Formats reader is not thread-safe); a format's own pyramid
(resolutions) is offered as levels. Metadata comes from the OME-XML that Bio-Formats fills in, read
by the same code as an OME-TIFF's.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..info import ImageInfo
from . import jvm
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
from .ome_xml import GENERIC_NAME, apply_ome, parse_ome_xml

# Suffixes Bio-Formats 7 claims, less those of text, tables, logs, archives and settings that some of its
# readers also accept (a CSV would become an "image"), and those a native reader handles first.
SUFFIXES = frozenset(
    """1sc 2fl acff afi afm aiix aim aisf al3d ali am amiramesh ano apl arf atsf avi bif bip c01 ch5 cif cr2
    crw cxd czi dcm df3 dib dic dicom dm2 dm3 dm4 dti dv eps epsi ets fake fdf fff ffr fits flex fli frm fts gel
    grey h5 hdf hdr hed his htd hx i2i ics ids im3 ima img ims inr ipl ipm ips ipw j2k j2ki j2kr jp2 jpf jpk jpx
    klb l2d lei lif liff lim lms lof lsm lut map mdb mea mnc mng mov mrc mrcs mrw msr mtb mvd2 naf nd nd2 ndpi
    ndpis nef nhdr nii nii.gz nrrd obf oib oif oir ome omp2info pbm pcoraw pct pcx pgm pic pict pnl pr3 ps psd
    pst pty qptiff r3d r3d_d3d rcpnl rec scan scn sdt seq sif sld sldy sm2 sm3 spc spe spi spl st stk stp svs
    sxm tfr tga thm tim tnb top v vff vms vsi vws wat wpi xdce xlef xqd xqf xv xys zfp zfr zpo zvi""".split()  # noqa: SIM905 - one word per suffix reads better than 170 strings
)
# Bio-Formats pixel types that the store keeps under another name.
_PIXEL_TYPES = {"float": "float32", "double": "float64", "bit": "uint8"}


def claims(path: Path) -> bool:
    """Whether Bio-Formats may read the file, judged by its name (nothing is started)."""
    name = path.name.lower()
    parts = name.split(".")
    return any(".".join(parts[i:]) in SUFFIXES for i in range(1, len(parts)))


class _Java:
    """The Java classes used here, looked up once the JVM runs."""

    def __init__(self) -> None:
        import jpype

        self.JException = jpype.JException
        self.ImageReader = jpype.JClass("loci.formats.ImageReader")
        self.ChannelFiller = jpype.JClass("loci.formats.ChannelFiller")
        self.FormatTools = jpype.JClass("loci.formats.FormatTools")
        self.UnknownFormatException = jpype.JClass("loci.formats.UnknownFormatException")
        service_factory = jpype.JClass("loci.common.services.ServiceFactory")()
        self.omexml = service_factory.getInstance(jpype.JClass("loci.formats.services.OMEXMLService"))


_java: _Java | None = None
_java_lock = threading.Lock()


def _classes() -> _Java:
    global _java
    with _java_lock:
        if _java is None:
            jvm.start()
            _java = _Java()
        return _java


def _message(exc: BaseException, path: Path) -> str:
    """A Java exception's own message (its class name when it has none), naming the file by its name."""
    try:
        text = exc.message()  # type: ignore[attr-defined]
    except Exception:
        text = None
    text = str(text) if text is not None else ""
    name = type(exc).__name__.rsplit(".", 1)[-1]
    for full in {os.fspath(path), os.path.realpath(path)}:
        text = text.replace(full, path.name)
    return f"{name}: {text}" if text and text != "None" else name


class BioFormatsFile:
    """One opened file: the Java reader, used by one thread at a time."""

    def __init__(self, path: Path, java: _Java):
        self.path = path
        self.java = java
        self.lock = threading.Lock()
        self.meta = java.omexml.createOMEXMLMetadata()
        reader = java.ChannelFiller(java.ImageReader())  # expands palette images to RGB, passes others through
        reader.setFlattenedResolutions(False)
        reader.setMetadataStore(self.meta)
        self.reader = reader

    def close(self) -> None:
        with self.lock, contextlib.suppress(Exception):  # closing a reader whose file went away
            self.reader.close()


class BioFormatsLevel(LazyArray):
    """One resolution of one series, read region by region with ``openBytes``."""

    def __init__(self, file: BioFormatsFile, series: int, resolution: int, where: str):
        self._file = file
        self._series = series
        self._resolution = resolution
        self._where = where
        r = file.reader
        r.setSeries(series)
        r.setResolution(resolution)
        self._rgb = int(r.getRGBChannelCount())
        self._interleaved = bool(r.isInterleaved())
        pixel_type = str(file.java.FormatTools.getPixelTypeString(r.getPixelType()))
        source = np.dtype(_PIXEL_TYPES.get(pixel_type, pixel_type))
        self._source_dtype = source.newbyteorder("<" if r.isLittleEndian() else ">")
        self.dtype = store_dtype(source)
        self.shape = (int(r.getSizeT()), int(r.getSizeC()), int(r.getSizeZ()), int(r.getSizeY()), int(r.getSizeX()))
        tile_y = max(1, min(int(r.getOptimalTileHeight()), self.shape[3]))
        tile_x = max(1, min(int(r.getOptimalTileWidth()), self.shape[4]))
        # Samples of one plane come together: read them as a group.
        self.chunks = (1, self._rgb, 1, tile_y, tile_x)

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        out = np.zeros((len(t), len(c), len(z), len(y), len(x)), self.dtype)
        h, w = len(y), len(x)
        per_plane = h * w * self._rgb * self._source_dtype.itemsize
        with self._file.lock:
            r = self._file.reader
            try:
                r.setSeries(self._series)
                r.setResolution(self._resolution)
                for ti, tt in enumerate(t):
                    for zi, zz in enumerate(z):
                        planes: dict[int, list[tuple[int, int]]] = {}
                        for ci, cc in enumerate(c):
                            planes.setdefault(cc // self._rgb, []).append((ci, cc % self._rgb))
                        for plane_c, targets in planes.items():
                            index = int(r.getIndex(zz, plane_c, tt))
                            raw = bytes(r.openBytes(index, x.start, y.start, w, h))
                            if len(raw) < per_plane:
                                raise UnreadableFile(f"{self._where}: Bio-Formats returned a short plane.")
                            data = np.frombuffer(raw, self._source_dtype, h * w * self._rgb)
                            data = data.reshape((h, w, self._rgb) if self._interleaved else (self._rgb, h, w))
                            for ci, sample in targets:
                                part = data[..., sample] if self._interleaved else data[sample]
                                out[ti, ci, zi] = cast(part, self.dtype)
            except self._file.java.JException as exc:
                raise UnreadableFile(
                    f"{self._where}: Bio-Formats could not read the pixels ({_message(exc, self._file.path)}); "
                    "the file may be truncated or corrupt."
                ) from exc
        return out


def open_bioformats(path: Path, limits: ReaderLimits) -> SourceFile | None:
    """Open a file through Bio-Formats, or return None when Bio-Formats does not know its format.

    Raises ``jvm.JavaUnavailable`` when Bio-Formats cannot run here, UnreadableFile when it knows the
    format but cannot read the file.
    """
    java = _classes()
    file = BioFormatsFile(path, java)
    try:
        try:
            file.reader.setId(os.fspath(path))
        except java.UnknownFormatException:
            file.close()
            return None
        except java.JException as exc:
            raise UnreadableFile(
                f"{path.name}: Bio-Formats could not read it ({_message(exc, path)}); it may be truncated or corrupt."
            ) from exc
        return _source(path, file, limits)
    except BaseException:
        file.close()
        raise


def _source(path: Path, file: BioFormatsFile, limits: ReaderLimits) -> SourceFile:
    r, java = file.reader, file.java
    try:
        fmt = str(r.getFormat())
        series_count = int(r.getSeriesCount())
        ome = parse_ome_xml(str(java.omexml.getOMEXML(file.meta)))
        used = [os.path.realpath(str(f)) for f in r.getUsedFiles(False)]
    except java.JException as exc:
        raise UnreadableFile(f"{path.name}: Bio-Formats could not read its metadata ({_message(exc, path)}).") from exc
    images = []
    kept = [s for s in range(series_count) if not _is_thumbnail(r, s)]
    for s in kept:
        where = f"{path.name} (series {s})" if len(kept) > 1 else path.name
        try:
            images.append(_image(path, file, s, len(kept), ome[s] if s < len(ome) else None, fmt, limits, where))
        except java.JException as exc:
            raise UnreadableFile(f"{where}: Bio-Formats could not read its metadata ({_message(exc, path)}).") from exc
    if not images:
        raise UnreadableFile(f"{path.name}: Bio-Formats found no image in it.")
    main = os.path.realpath(path)
    files = [main] + [f for f in used if f != main]
    return SourceFile(path, "bioformats", images, close=file.close, files=files)


def _is_thumbnail(reader: Any, series: int) -> bool:
    reader.setSeries(series)
    return bool(reader.isThumbnailSeries())


def _image(
    path: Path,
    file: BioFormatsFile,
    series: int,
    count: int,
    meta: dict[str, Any] | None,
    fmt: str,
    limits: ReaderLimits,
    where: str,
) -> SourceImage:
    r = file.reader
    r.setSeries(series)
    resolutions = int(r.getResolutionCount())
    base = BioFormatsLevel(file, series, 0, where)
    t, c, z, y, x = base.shape
    info = ImageInfo(
        name=path.name if count == 1 else f"{path.name} [{series}]",
        size_x=x,
        size_y=y,
        size_z=z,
        size_c=c,
        size_t=t,
        pixel_type=base.dtype.name,
        series=series,
        is_rgb=base._rgb == 3 and c == 3,
        format="bioformats",
    )
    check_limits(info, limits, where)
    levels: list[LazyArray] = [base]
    for k in range(1, resolutions):
        level = BioFormatsLevel(file, series, k, where)
        # Only levels that shrink, with the same planes, are a pyramid of this image.
        if level.shape[:3] == base.shape[:3] and level.shape[3] < levels[-1].shape[3]:
            levels.append(level)
    if meta:
        apply_ome(info, meta)
        if GENERIC_NAME.fullmatch(info.name) or info.name == path.stem:
            info.name = path.name if count == 1 else f"{path.name} [{series}]"
    if len(info.channels) != c:
        info.channels = default_channels(c)
    return SourceImage(info=info, levels=levels)
