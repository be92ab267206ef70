"""One pyramid level of a TIFF series as a lazy TCZYX array, read tile by tile.

Pixels are read by decoding only the tiles or strips a region needs, each into a buffer of its
declared size (so a tile that inflates past it fails instead of filling memory), from a private
file descriptor with ``os.pread`` so that many threads can decode at once.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import LazyArray, UnreadableFile, cast, store_dtype

if TYPE_CHECKING:
    from .tiff import TiffSource

# Photometric interpretations whose samples are red, green, blue.
RGB_PHOTOMETRIC = {2, 6}  # RGB, YCbCr (decoded to RGB)


@dataclasses.dataclass(frozen=True)
class VirtualPage:
    """A plane of contiguous data that no IFD describes (an ImageJ hyperstack over 4 GB): where its bytes are."""

    parent: Any  # the TiffFile
    index: int
    dataoffsets: tuple[int, ...]
    databytecounts: tuple[int, ...]
    jpegtables = None


def _virtual_pages(first: Any, count: int, where: str) -> list[Any]:
    """The planes after ``first``, which follow its data one after another (tifffile's "truncated" series)."""
    if first.is_contiguous is None or first.compression != 1:
        raise UnreadableFile(f"{where}: the series is stored as one IFD but its data are not contiguous.")
    step = first.nbytes
    return [first] + [
        VirtualPage(first.parent, first.index + k, tuple(o + k * step for o in first.dataoffsets), first.databytecounts)
        for k in range(1, count)
    ]


class TiffLevel(LazyArray):
    """One pyramid level of a tifffile series as a lazy TCZYX array."""

    def __init__(self, series: Any, source: TiffSource, where: str):
        self._source = source
        self._where = where
        keyframe = series.keyframe
        if keyframe.imagedepth > 1:
            raise UnreadableFile(f"{where}: volumetric TIFF tiles (ImageDepth > 1) are not supported.")
        self._keyframe = keyframe
        self.pages: list[Any] = list(series.pages)
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
        if count > len(self.pages) == 1 and series.is_truncated:
            self.pages = _virtual_pages(self.pages[0], count, where)
        if count != len(self.pages):
            raise UnreadableFile(
                f"{where}: the series declares {count} planes but the file holds {len(self.pages)}; it is truncated "
                "or was not written to the end."
            )
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
        return self.pages[flat], sample

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
                    if page is None:  # refused at open (check_declared): never read as zeros
                        raise UnreadableFile(f"{self._where}: plane t={tt} c={cc} z={zz} is not in the file.")
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
            return None  # the general path says which plane is missing
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
