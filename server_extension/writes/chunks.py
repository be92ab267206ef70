"""Where the chunks of an image being written wait, and how the pyramid writer reads them back.

A write's chunks live in ``<store>/tmp/write-<id>/chunks/<t>/<c>/<z>/<yi>/<xi>``: level 0 cut into
the stored 512 × 512 chunks (edge chunks cut to the image), each compressed with blosc (lz4, the
store's codec) as it arrives, so a large upload takes the disk space of its compressed pixels.
A chunk is written to a temporary name and moved into place, so sending it again replaces it whole.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import imagecodecs
import numpy as np

from ..catalogue.errors import BadRequest
from ..pixels.readers.base import LazyArray
from ..pixels.writer import BLOSC, CHUNK

CHUNK_SHAPE = (1, 1, 1, CHUNK, CHUNK)


def write_folder(store_root: Path, write_id: int) -> Path:
    return Path(store_root) / "tmp" / f"write-{write_id}"


def relative_folder(write_id: int) -> str:
    """The write's folder, relative to the store root (as a job's work path)."""
    return f"tmp/write-{write_id}"


class ChunkGrid:
    """The chunks of a (t, c, z, y, x) image: their indices and exact sizes."""

    def __init__(self, shape: tuple[int, ...] | list[int], dtype: str | np.dtype):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.rows = math.ceil(self.shape[3] / CHUNK)
        self.columns = math.ceil(self.shape[4] / CHUNK)

    @property
    def count(self) -> int:
        t, c, z = self.shape[:3]
        return t * c * z * self.rows * self.columns

    def chunk_size(self, yi: int, xi: int) -> tuple[int, int]:
        """(rows, columns) of a chunk: 512 × 512, less at the bottom and right edges."""
        return min(CHUNK, self.shape[3] - yi * CHUNK), min(CHUNK, self.shape[4] - xi * CHUNK)

    def check(self, index: tuple[int, int, int, int, int], size: int) -> None:
        """Refuse (400) an index outside the image or a body that is not the chunk's exact bytes."""
        limits = (*self.shape[:3], self.rows, self.columns)
        for name, i, n in zip(("t", "c", "z", "yi", "xi"), index, limits, strict=True):
            if not 0 <= i < n:
                raise BadRequest(f"chunk index {name}={i} is outside the image ({name} is 0 to {n - 1})")
        h, w = self.chunk_size(index[3], index[4])
        expected = h * w * self.dtype.itemsize
        if size != expected:
            raise BadRequest(f"chunk t={index[0]} c={index[1]} z={index[2]} yi={index[3]} xi={index[4]} is "
                             f"{h} × {w} {self.dtype.name} = {expected} bytes (little-endian, row by row); "
                             f"the request sent {size}")

    def indices(self) -> Iterator[tuple[int, int, int, int, int]]:
        t, c, z = self.shape[:3]
        for ti in range(t):
            for ci in range(c):
                for zi in range(z):
                    for yi in range(self.rows):
                        for xi in range(self.columns):
                            yield ti, ci, zi, yi, xi


class UploadedChunks:
    """The chunks of one write on disk."""

    def __init__(self, folder: Path, grid: ChunkGrid):
        self.folder = Path(folder)
        self.grid = grid

    def path(self, index: tuple[int, int, int, int, int]) -> Path:
        return self.folder.joinpath("chunks", *(str(i) for i in index))

    def save(self, index: tuple[int, int, int, int, int], data: bytes) -> None:
        """Compress and store one chunk (already checked), replacing any earlier copy whole."""
        encoded = imagecodecs.blosc_encode(data, level=BLOSC["clevel"], compressor=BLOSC["cname"], shuffle=1,
                                           typesize=self.grid.dtype.itemsize, numthreads=1)
        final = self.path(index)
        final.parent.mkdir(parents=True, exist_ok=True)
        part = final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")
        try:
            part.write_bytes(encoded)
            os.replace(part, final)
        finally:
            part.unlink(missing_ok=True)

    def missing(self, limit: int = 5) -> tuple[int, list[tuple[int, int, int, int, int]]]:
        """How many chunks have not arrived, and the first few of them."""
        absent = 0
        first: list[tuple[int, int, int, int, int]] = []
        for index in self.grid.indices():
            if not self.path(index).is_file():
                absent += 1
                if len(first) < limit:
                    first.append(index)
        return absent, first

    def read(self, index: tuple[int, int, int, int, int]) -> np.ndarray:
        h, w = self.grid.chunk_size(index[3], index[4])
        data = imagecodecs.blosc_decode(self.path(index).read_bytes())
        return np.frombuffer(data, dtype=self.grid.dtype).reshape(h, w)


class UploadedLevel(LazyArray):
    """Level 0 of a write, read from its uploaded chunks (what ``write_pyramid`` copies and halves)."""

    def __init__(self, chunks: UploadedChunks):
        self.source = chunks
        self.shape = chunks.grid.shape  # type: ignore[assignment]
        self.dtype = np.dtype(chunks.grid.dtype.name)
        # Blocks of several chunks: fewer, larger tasks for the pyramid writer.
        self.chunks = (1, 1, 1, 2 * CHUNK, 4 * CHUNK)

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        out = np.empty((len(t), len(c), len(z), len(y), len(x)), self.dtype)
        for ti, tv in enumerate(t):
            for ci, cv in enumerate(c):
                for zi, zv in enumerate(z):
                    for yi in range(y.start // CHUNK, (y.stop - 1) // CHUNK + 1):
                        for xi in range(x.start // CHUNK, (x.stop - 1) // CHUNK + 1):
                            chunk = self.source.read((tv, cv, zv, yi, xi))
                            y0, x0 = yi * CHUNK, xi * CHUNK
                            ys = slice(max(y.start, y0), min(y.stop, y0 + chunk.shape[0]))
                            xs = slice(max(x.start, x0), min(x.stop, x0 + chunk.shape[1]))
                            out[ti, ci, zi, ys.start - y.start:ys.stop - y.start, xs.start - x.start:xs.stop - x.start] \
                                = chunk[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
        return out
