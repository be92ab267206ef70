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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tifffile

from .base import UnreadableFile

# Bytes per value of each TIFF field type (1 BYTE ... 18 IFD8).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
# Integer types that offsets and byte counts come in.
_INTEGER_TYPES = {3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q"}
# Tags whose values are offsets of further IFDs: SubIFDs (pyramid levels), EXIF, GPS, Interoperability.
IFD_POINTER_TAGS = (330, 34665, 34853, 40965)
# (offsets, byte counts) of the pixel data: strips, tiles.
DATA_TAGS = ((273, 279), (324, 325))
_WANTED = {*IFD_POINTER_TAGS, *(code for pair in DATA_TAGS for code in pair)}
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
    first = walker._offset.unpack_from(header, layout.header_size)[0]
    return walker.walk_chain(first, "IFD", main=True)


class _Walker:
    """One walk over a file's IFDs; ``seen`` stops loops."""

    def __init__(self, fd: int, size: int, layout: TiffLayout, name: str):
        self.fd, self.size, self.layout, self.name = fd, size, layout, name
        self.seen: set[int] = set()
        o = layout.byteorder
        self._count = struct.Struct(o + ("Q" if layout.count_size == 8 else "H"))
        self._offset = struct.Struct(o + ("Q" if layout.offset_size == 8 else "I"))
        self._entry = struct.Struct(o + ("HHQ8s" if layout.entry_size == 20 else "HHI4s"))
        self._order: Literal["little", "big"] = "little" if o == "<" else "big"

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
        # One read usually holds the whole IFD (a file may have 100 000 of them): guess 32 entries.
        block = os.pread(self.fd, lay.count_size + 32 * (lay.entry_size + 4) + lay.offset_size, offset)
        if len(block) < lay.count_size:
            raise self.truncated(where, offset, offset + lay.count_size)
        n = self._count.unpack_from(block)[0]
        need = lay.count_size + n * lay.entry_size + lay.offset_size + (4 * n if lay.ndpi else 0)
        if len(block) < need:
            block = self.read(offset, need, f"{where} ({n} entries)")
        next_at = lay.count_size + n * lay.entry_size
        high = next_at + lay.offset_size  # NDPI: the high 32 bits of each entry's value
        # code -> (type, count, the value's bytes when inline, else its offset)
        values: dict[int, tuple[int, int, bytes | int]] = {}
        for i, (code, kind, count, raw) in enumerate(self._entry.iter_unpack(block[lay.count_size : next_at])):
            item = TYPE_SIZES.get(kind)
            if item is None:
                continue  # an unknown type: tifffile skips the tag too
            nbytes = item * count
            if nbytes > lay.inline_size:
                value = int.from_bytes(raw, self._order)
                if lay.ndpi:
                    value |= int.from_bytes(block[high + 4 * i : high + 4 * i + 4], "little") << 32
                if value + nbytes > self.size:
                    raise self.truncated(f"the value of tag {_tag_name(code)} in {where}", value, value + nbytes)
                if code in _WANTED:
                    values[code] = (kind, count, value)
            elif code in _WANTED:
                if lay.ndpi and count == 1 and kind in (4, 13):  # NDPI: a 64-bit offset in two halves
                    values[code] = (16, 1, raw + block[high + 4 * i : high + 4 * i + 4])
                else:
                    values[code] = (kind, count, raw)
        self._check_data(values, where)
        for code in IFD_POINTER_TAGS:
            if code in values:
                name = "SubIFD" if code == 330 else f"the IFD of tag {_tag_name(code)}"
                for k, sub in enumerate(self._integers(values[code], code, where)):
                    self.walk_chain(int(sub), f"{name} {k} of {where}" if code == 330 else f"{name} in {where}")
        return self._offset.unpack_from(block, next_at)[0]

    def _integers(self, entry: tuple[int, int, bytes | int], code: int, where: str) -> Sequence[int] | np.ndarray:
        """The values of an integer tag (offsets, byte counts)."""
        kind, count, value = entry
        char = _INTEGER_TYPES.get(kind)
        if char is None or count == 0:
            return ()
        nbytes = struct.calcsize(char) * count
        if isinstance(value, bytes):
            data = value[:nbytes]
        else:
            data = self.read(value, nbytes, f"the value of tag {_tag_name(code)} in {where}")
        if count <= 64:  # numpy costs more than it saves on a few values
            return struct.unpack(f"{self.layout.byteorder}{count}{char}", data)
        return np.frombuffer(data, np.dtype(self.layout.byteorder + char)).astype(np.uint64)

    def _check_data(self, values: dict[int, tuple[int, int, bytes | int]], where: str) -> None:
        for offsets_tag, counts_tag in DATA_TAGS:
            if offsets_tag not in values or counts_tag not in values:
                continue
            offsets = self._integers(values[offsets_tag], offsets_tag, where)
            counts = self._integers(values[counts_tag], counts_tag, where)
            n = min(len(offsets), len(counts))
            if not n:
                continue
            if isinstance(offsets, np.ndarray) or isinstance(counts, np.ndarray):
                o, c = np.asarray(offsets[:n], np.uint64), np.asarray(counts[:n], np.uint64)
                # An empty (sparse) tile reads as the fill value. Each term bounded first: no overflow in the sum.
                past = (c > 0) & ((o > self.size) | (c > self.size) | (o + c > self.size))
                bad = np.flatnonzero(past)
                k = int(bad[0]) if bad.size else -1
            else:
                k = next((i for i in range(n) if counts[i] and offsets[i] + counts[i] > self.size), -1)
            if k >= 0:
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
