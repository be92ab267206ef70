"""Readers of source formats: ``open_source(path)`` picks the one that understands a file.

TIFF family through tifffile (``tiff.py``), PNG/JPEG/BMP through Pillow (``pillow.py``), OME-Zarr
0.4/0.5 folders through zarr-python (``omezarr.py``). Every reader gives the same thing: a
``SourceFile`` whose ``images`` each have an ``ImageInfo`` and lazy TCZYX ``levels``.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    "is_source_folder",
    "open_source",
]

SUPPORTED = "TIFF, BigTIFF, OME-TIFF, SVS, NDPI, PNG, JPEG, BMP, or an OME-Zarr folder"


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
    except OSError as exc:
        raise UnreadableFile(f"{path.name}: cannot be read ({exc.strerror}).") from exc
    source = open_pillow(path, limits)
    if source is not None:
        return source
    raise UnreadableFile(f"{path.name}: not an image format scopehub reads. Supported: {SUPPORTED}.")
