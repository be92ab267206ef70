"""Readers of source formats: ``open_source(path)`` picks the one that understands a file.

TIFF family through tifffile (``tiff.py``), PNG/JPEG/BMP through Pillow (``pillow.py``), OME-Zarr
0.4/0.5 folders through zarr-python (``omezarr.py``). With the optional formats extra
(``pip install 'scopehub[formats]'``): Zeiss CZI (``czi.py``), Nikon ND2 (``nd2.py``), Leica LIF
(``lif.py``), and, tried last, whatever else Bio-Formats reads (``bioformats.py``, in a JVM:
``jvm.py``). Every reader gives the same thing: a ``SourceFile`` whose ``images`` each have an
``ImageInfo`` and lazy TCZYX ``levels``. The extra's libraries are imported only when a file needs them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

from . import bioformats, jvm
from .base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DECODED_BYTES,
    DEFAULT_MAX_PLANE_PIXELS,
    LazyArray,
    ReaderLimits,
    SourceFile,
    SourceImage,
    UnreadableFile,
)
from .czi import is_czi
from .lif import is_lif
from .nd2 import is_nd2
from .omezarr import is_zarr, open_omezarr
from .pillow import open_pillow
from .tiff import is_tiff, open_tiff

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DECODED_BYTES",
    "DEFAULT_MAX_PLANE_PIXELS",
    "LazyArray",
    "ReaderLimits",
    "SourceFile",
    "SourceImage",
    "UnreadableFile",
    "SUPPORTED",
    "SUPPORTED_WITH_EXTRA",
    "is_source_folder",
    "open_source",
]

SUPPORTED = "TIFF, BigTIFF, OME-TIFF, SVS, NDPI, PNG, JPEG, BMP, or an OME-Zarr folder"
SUPPORTED_WITH_EXTRA = "CZI, ND2, LIF and about 150 formats through Bio-Formats"


def _open_czi(path: Path, limits: ReaderLimits) -> SourceFile:
    from .czi import open_czi

    return open_czi(path, limits)


def _open_nd2(path: Path, limits: ReaderLimits) -> SourceFile:
    from .nd2 import open_nd2

    return open_nd2(path, limits)


def _open_lif(path: Path, limits: ReaderLimits) -> SourceFile:
    from .lif import open_lif

    return open_lif(path, limits)


# Formats of the extra told by their first bytes: (test, what it is, the library it needs, opener).
_EXTRA_FORMATS: list[tuple[Callable[[Path], bool], str, str, Callable[[Path, ReaderLimits], SourceFile]]] = [
    (is_czi, "a Zeiss CZI file", "pylibCZIrw", _open_czi),
    (is_nd2, "a Nikon ND2 file", "nd2", _open_nd2),
    (is_lif, "a Leica LIF file", "liffile", _open_lif),
]


def is_source_folder(path: str | os.PathLike[str]) -> bool:
    """A folder that is one image (OME-Zarr), to import whole rather than walk into."""
    return is_zarr(Path(path))


def open_source(path: str | os.PathLike[str], *, limits: ReaderLimits | None = None) -> SourceFile:
    """Open a source file or OME-Zarr folder for reading; use it as a context manager.

    Raises UnreadableFile (HTTP 422) with a message a person can act on when no reader accepts the
    file, when it is truncated or corrupt, or when its header declares more pixels than ``limits``.
    Nothing is ever written to the source.
    """
    path = Path(path)
    limits = limits or ReaderLimits()
    if path.is_dir():
        if is_zarr(path):
            return open_omezarr(path, limits)
        raise UnreadableFile(f"{path.name}: a folder that is not an OME-Zarr image (no zarr.json or .zattrs).")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFile(f"{path.name}: cannot be read ({exc.strerror}).") from exc
    if size == 0:
        raise UnreadableFile(f"{path.name}: the file is empty.")
    try:
        if is_tiff(path):
            return open_tiff(path, limits)
        extra = next((f for f in _EXTRA_FORMATS if f[0](path)), None)
    except OSError as exc:
        raise UnreadableFile(f"{path.name}: cannot be read ({exc.strerror}).") from exc
    if extra is not None:
        _, what, module, opener = extra
        if importlib.util.find_spec(module) is None:
            raise UnreadableFile(f"{path.name}: {what}; reading it needs the optional formats extra: {jvm.EXTRA_HINT}.")
        return opener(path, limits)
    source = open_pillow(path, limits)
    if source is not None:
        return source
    if bioformats.claims(path):
        return _open_bioformats(path, limits)
    raise UnreadableFile(f"{path.name}: not an image format scopehub reads. Supported: {_supported()}.")


def _supported() -> str:
    if all(importlib.util.find_spec(f[2]) is not None for f in _EXTRA_FORMATS):
        return f"{SUPPORTED}; also {SUPPORTED_WITH_EXTRA}"
    return f"{SUPPORTED}; with the formats extra ({jvm.EXTRA_HINT}) also {SUPPORTED_WITH_EXTRA}"


def _open_bioformats(path: Path, limits: ReaderLimits) -> SourceFile:
    """The last resort, for a name Bio-Formats claims: its reader, when it can run here."""
    reason = jvm.missing()
    if reason is None:
        try:
            source = bioformats.open_bioformats(path, limits)
        except jvm.JavaUnavailable as exc:
            reason = str(exc)
        else:
            if source is not None:
                return source
            raise UnreadableFile(
                f"{path.name}: not an image format scopehub reads (Bio-Formats does not recognise it either). "
                f"Supported: {_supported()}."
            )
    raise UnreadableFile(f"{path.name}: its format is read through Bio-Formats, which is not available here: {reason}.")
