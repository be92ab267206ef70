"""Is a TIFF whole? Its structure walked against the file's size, and what it declares against what it holds.

tifffile is lenient by design: an IFD chain that runs past the end of the file, a tag whose value
lies past it, or OME-XML planes without IFDs are logged and skipped, and the file then reads as
something smaller (one channel of four, say) without an error. An import must refuse such a file
(422) before anything is written, so the reader checks, at open:

- ``check_structure``: every IFD (the main chain, SubIFDs, EXIF and GPS IFDs), every tag value
  stored outside its IFD entry, and every strip or tile lies inside the file. Walked with ``os.pread``
  from the raw bytes, independently of tifffile, in the layout tifffile uses (classic, BigTIFF, and
  NDPI's classic TIFF with 64-bit offsets).
- ``check_pages``: the strips and tiles of the pages the series read (virtual frames of contiguous
  data included, which no IFD describes) lie inside their files.
- ``check_declared``: what the OME-XML or ImageJ metadata declares is what tifffile found: no OME
  plane without an IFD (a truncated file, or a missing companion file of a multi-file OME-TIFF), no
  ImageJ hyperstack read as something else.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from .base import UnreadableFile

# Bytes per value of each TIFF field type (1 BYTE ... 18 IFD8).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
# Integer types that offsets and byte counts come in.
_INTEGER_TYPES = {3: "u2", 4: "u4", 13: "u4", 16: "u8", 18: "u8"}
# Tags whose values are offsets of further IFDs: SubIFDs (pyramid levels), EXIF, GPS, Interoperability.
IFD_POINTER_TAGS = (330, 34665, 34853, 40965)
# (offsets, byte counts) of the pixel data: strips, tiles.
DATA_TAGS = ((273, 279), (324, 325))
_AGAIN = "Copy it again from its source"


@dataclasses.dataclass(frozen=True)
class TiffLayout:
    """How IFDs are laid out in one flavour of TIFF."""

    byteorder: str  # "<" or ">"
    header_size: int  # where the offset of the first IFD is: 4 (classic) or 8 (BigTIFF)
    offset_size: int  # bytes of an IFD offset
    count_size: int  # bytes of an IFD's entry count
    entry_size: int  # bytes of one entry
    inline_size: int  # bytes of value an entry holds itself
    ndpi: bool = False  # classic TIFF with the high 32 bits of each value after the next-IFD offset

    @classmethod
    def of(cls, path: str | os.PathLike[str], magic: bytes) -> TiffLayout | None:
        """The layout that tifffile reads ``path`` with, from its first 4 bytes; None if no TIFF."""
        order = {b"II": "<", b"MM": ">"}.get(magic[:2])
        if order is None or len(magic) < 4:
            return None
        version = struct.unpack(order + "H", magic[2:4])[0]
        if version == 43:
            return cls(order, 8, 8, 8, 20, 8)
        if version != 42:
            return None
        # tifffile reads a little-endian classic TIFF named .ndpi with NDPI's 64-bit offsets.
        ndpi = order == "<" and Path(path).suffix.lower() == ".ndpi"
        return cls(order, 4, 8 if ndpi else 4, 2, 12, 4, ndpi)


def check_structure(fd: int, size: int, layout: TiffLayout, name: str) -> int:
    """Raise UnreadableFile if an IFD, a tag value, a strip or a tile lies past the end of the file.

    ``name`` names the file in the message. Returns the number of IFDs in the main chain.
    """
    walker = _Walker(fd, size, layout, name)
    header = walker.read(0, layout.header_size + layout.offset_size, "the header")
    first = walker.offset(header[layout.header_size :])
    return walker.walk_chain(first, "IFD", main=True)


class _Walker:
    """One walk over a file's IFDs; ``seen`` stops loops."""

    def __init__(self, fd: int, size: int, layout: TiffLayout, name: str):
        self.fd, self.size, self.layout, self.name = fd, size, layout, name
        self.seen: set[int] = set()
        o = layout.byteorder
        self._count = struct.Struct(o + ("Q" if layout.count_size == 8 else "H"))
        self._offset = struct.Struct(o + ("Q" if layout.offset_size == 8 else "I"))
        self._entry = struct.Struct(o + ("HHQQ" if layout.entry_size == 20 else "HHII"))

    def truncated(self, what: str, start: int, end: int) -> UnreadableFile:
        return UnreadableFile(
            f"{self.name}: the file is truncated or corrupt: it has {self.size} bytes, but {what} needs bytes "
            f"{start}–{end}. {_AGAIN}."
        )

    def read(self, offset: int, n: int, what: str) -> bytes:
        data = os.pread(self.fd, n, offset) if offset >= 0 and offset + n <= self.size else b""
        if len(data) != n:  # past the end (or the file shrank while it was read)
            raise self.truncated(what, offset, offset + n)
        return data

    def offset(self, raw: bytes) -> int:
        return self._offset.unpack(raw[: self.layout.offset_size])[0]

    def walk_chain(self, offset: int, label: str, main: bool = False) -> int:
        """Walk the IFDs linked from ``offset`` on; the number walked."""
        count = 0
        while offset:
            where = f"{label} {count}" if main else label
            if offset in self.seen:
                if main:
                    raise UnreadableFile(f"{self.name}: the file is corrupt: its IFD chain loops back to {offset}.")
                return count
            self.seen.add(offset)
            offset = self.walk_ifd(offset, where)
            count += 1
        return count

    def walk_ifd(self, offset: int, where: str) -> int:
        """Check one IFD, its values and its pixel data, walk the IFDs it points to; return the next IFD's offset."""
        lay = self.layout
        n = self._count.unpack(self.read(offset, lay.count_size, where))[0]
        entries_at = offset + lay.count_size
        tail = lay.offset_size + (4 * n if lay.ndpi else 0)
        block = self.read(entries_at, n * lay.entry_size + tail, f"{where} ({n} entries)")
        next_raw = block[n * lay.entry_size : n * lay.entry_size + lay.offset_size]
        high = block[n * lay.entry_size + lay.offset_size :] if lay.ndpi else b""
        values: dict[int, tuple[int, int, int, bytes]] = {}
        for i in range(n):
            raw = block[i * lay.entry_size : (i + 1) * lay.entry_size]
            code, kind, count, value = self._entry.unpack(raw)
            inline = raw[8 if lay.entry_size == 12 else 12 :]
            item = TYPE_SIZES.get(kind)
            if item is None:
                continue  # an unknown type: tifffile skips the tag too
            nbytes = item * count
            if nbytes > lay.inline_size:
                if lay.ndpi:
                    value |= struct.unpack("<I", high[4 * i : 4 * i + 4])[0] << 32
                if value + nbytes > self.size:
                    raise self.truncated(f"the value of tag {_tag_name(code)} in {where}", value, value + nbytes)
            elif lay.ndpi and count == 1 and kind in (4, 13):
                value |= struct.unpack("<I", high[4 * i : 4 * i + 4])[0] << 32
            values[code] = (kind, count, value, inline)
        self._check_data(values, where)
        for code in IFD_POINTER_TAGS:
            if code in values:
                name = "SubIFD" if code == 330 else f"the IFD of tag {_tag_name(code)}"
                for k, sub in enumerate(self._integers(values[code], code, where)):
                    self.walk_chain(int(sub), f"{name} {k} of {where}" if code == 330 else f"{name} in {where}")
        return self.offset(next_raw)

    def _integers(self, entry: tuple[int, int, int, bytes], code: int, where: str) -> np.ndarray:
        """The values of an integer tag (offsets, byte counts), read from the entry or from where it points."""
        kind, count, value, inline = entry
        fmt = _INTEGER_TYPES.get(kind)
        if fmt is None or count == 0:
            return np.zeros(0, np.uint64)
        dtype = np.dtype(self.layout.byteorder + fmt)
        nbytes = dtype.itemsize * count
        if nbytes <= self.layout.inline_size:
            if self.layout.ndpi and count == 1 and kind in (4, 13):
                return np.array([value], np.uint64)
            return np.frombuffer(inline[:nbytes], dtype).astype(np.uint64)
        data = self.read(value, nbytes, f"the value of tag {_tag_name(code)} in {where}")
        return np.frombuffer(data, dtype).astype(np.uint64)

    def _check_data(self, values: dict[int, tuple[int, int, int, bytes]], where: str) -> None:
        for offsets_tag, counts_tag in DATA_TAGS:
            if offsets_tag not in values or counts_tag not in values:
                continue
            offsets = self._integers(values[offsets_tag], offsets_tag, where)
            counts = self._integers(values[counts_tag], counts_tag, where)
            n = min(len(offsets), len(counts))
            if not n:
                continue
            offsets, counts = offsets[:n], counts[:n]
            # An empty (sparse) tile reads as the fill value. Each term bounded first: no overflow in the sum.
            past = (counts > 0) & ((offsets > self.size) | (counts > self.size) | (offsets + counts > self.size))
            if past.any():
                k = int(np.flatnonzero(past)[0])
                kind = "tile" if offsets_tag == 324 else "strip"
                start = int(offsets[k])
                raise self.truncated(f"{kind} {k + 1} of {n} of {where}", start, start + int(counts[k]))


def _tag_name(code: int) -> str:
    """``330 (SubIFDs)``: a tag as a person can look it up."""
    name = tifffile.TIFF.TAGS.get(code)
    if code == 270:
        name = "ImageDescription, where an OME-TIFF keeps its OME-XML"
    return f"{code} ({name})" if name else str(code)


def check_pages(levels: list[Any], descriptor: Callable[[Any], tuple[int, int]], where: str) -> None:
    """The strips and tiles of every page the levels read lie inside their files.

    The structure walk covers what IFDs describe; this covers tifffile's virtual frames (contiguous
    data that one IFD stands for, as large ImageJ files have) and registers each file a page is in.
    """
    for level in levels:
        for page in level.pages:
            if page is None:
                continue
            offsets, counts = page.dataoffsets, page.databytecounts
            _, size = descriptor(page)
            if offsets:
                end = max((o + n for o, n in zip(offsets, counts, strict=False) if n), default=0)
                if end > size:
                    name = os.path.basename(page.parent.filehandle.path)
                    raise UnreadableFile(
                        f"{where}: the file {name} is truncated: its pixel data runs past the end of the file "
                        f"({size} bytes; plane {page.index} needs {end}). {_AGAIN}."
                    )


def check_declared(tif: Any, series: Any, index: int, meta: dict[str, Any] | None, path: Path, where: str) -> None:
    """What the OME-XML or ImageJ metadata declares for series ``index`` (and its levels) is what tifffile found."""
    pages = list(series.pages)
    missing = sum(1 for level in series.levels for p in level.pages if p is None)
    if missing:
        levels = len(series.levels)
        declared = f"{len(pages)} planes" + (f" in each of {levels} levels" if levels > 1 else "")
        if meta and meta.get("pixels"):
            px = meta["pixels"]
            declared += f" ({px.get('SizeC', '?')} channels × {px.get('SizeZ', '?')} z × {px.get('SizeT', '?')} t)"
        absent = [f for f in (meta or {}).get("files", []) if f and not (path.parent / f).exists()]
        if absent:
            why = (
                f"{', '.join(absent)}, which should be beside it, {'is' if len(absent) == 1 else 'are'} missing; "
                "import the whole fileset (every file the OME-XML names) together"
            )
        else:
            why = f"the file holds {len(tif.pages)} IFDs; it is truncated or was not written to the end. {_AGAIN}"
        raise UnreadableFile(
            f"{where}: the OME-XML declares {declared} but {missing} of them "
            f"{'is' if missing == 1 else 'are'} not in the file: {why}."
        )
    if index == 0 and tif.is_imagej:
        ij = tif.imagej_metadata or {}
        images = ij.get("images")
        if isinstance(images, int) and images > 1:
            held = math.prod(n for a, n in zip(series.axes, series.shape, strict=True) if a not in "YXS")
            if series.kind != "imagej" or held < images:
                parts = [f"{ij[k]} {k}" for k in ("channels", "slices", "frames") if isinstance(ij.get(k), int)]
                shape = f" ({' × '.join(parts)})" if parts else ""
                raise UnreadableFile(
                    f"{where}: the ImageJ metadata declares {images} images{shape} but only {held} can be read from "
                    f"the file; it is truncated or was not written to the end. {_AGAIN}."
                )
