"""Benchmark and demo data: a multi-channel pyramidal OME-TIFF, generated tile by tile.

``make_pyramidal_ome_tiff(path, size=16384, channels=4)`` writes the file the import benchmark
uses (uint16, zlib, 512² tiles, pyramid levels as SubIFDs down to one tile), in bounded memory:
tiles are made from a small bank of precomputed textures and noise, so a 2 GB file needs no 2 GB
array and no per-pixel random numbers. The content looks like fluorescence (nuclei-like blobs on a
dim background with noise), so zlib and blosc compress it as they would real data.

Run as a script to write one: ``python -m benchmarks.data out.ome.tif --size 8192``.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile

TILE = 512
CHANNEL_NAMES = ("DAPI", "GFP", "mCherry", "Cy5", "Cy7", "BF")
CHANNEL_COLORS = (0x0000FFFF, 0x00FF00FF, 0xFF0000FF, 0xFF00FFFF, 0x00FFFFFF, -1)  # OME signed RGBA
EMISSION_NM = (461.0, 509.0, 610.0, 670.0, 773.0, 550.0)


def _blobs(rng: np.random.Generator, count: int, radius: float, size: int = TILE) -> np.ndarray:
    """A periodic tile of Gaussian blobs (periodic, so tiles join without seams)."""
    out = np.zeros((size, size), np.float32)
    for cy, cx, r, a in zip(
        rng.uniform(0, size, count),
        rng.uniform(0, size, count),
        rng.uniform(0.6, 1.4, count) * radius,
        rng.uniform(0.4, 1.0, count),
        strict=True,
    ):
        half = int(4 * r) + 1  # the blob is nothing beyond four radii: compute only that window
        ys = np.arange(int(cy) - half, int(cy) + half + 1)
        xs = np.arange(int(cx) - half, int(cx) + half + 1)
        blob = a * np.exp(-(((ys - cy) ** 2)[:, None] + ((xs - cx) ** 2)[None, :]) / (2 * r * r))
        out[np.ix_(ys % size, xs % size)] += blob.astype(np.float32)
    return out


class _TileBank:
    """Precomputed textures and noise per channel; a tile is a rolled texture plus a noise tile."""

    def __init__(self, channels: int, seed: int = 0, variants: int = 4):
        rng = np.random.default_rng(seed)
        self.textures: list[list[np.ndarray]] = []
        self.noise: list[np.ndarray] = []
        for c in range(channels):
            background = 100 + 40 * c
            peak = 2500 + 1200 * (c % 3)
            textures = []
            for _ in range(variants):
                blobs = _blobs(rng, count=24, radius=9.0 + 3 * (c % 2))
                textures.append((background + peak * np.clip(blobs, 0, 1.5)).astype(np.float32))
            self.textures.append(textures)
            self.noise.append(rng.normal(0, 12 + 4 * c, (variants * 2, TILE, TILE)).astype(np.float32))

    def tile(self, c: int, level: int, ty: int, tx: int) -> np.ndarray:
        """Deterministic tile content for (channel, level, tile row, tile column)."""
        h = (ty * 73856093) ^ (tx * 19349663) ^ (level * 83492791) ^ (c * 2654435761)
        textures = self.textures[c]
        texture = textures[h % len(textures)]
        noise = self.noise[c][(h >> 3) % len(self.noise[c])]
        shifted = np.roll(texture, ((h >> 7) % TILE, (h >> 17) % TILE), axis=(0, 1))
        return np.clip(shifted + noise, 0, 65535).astype(np.uint16)


def level_sizes(size_y: int, size_x: int) -> list[tuple[int, int]]:
    """Level 0, then halvings (rounding up) until both sides fit in one tile."""
    sizes = [(size_y, size_x)]
    while sizes[-1][0] > TILE or sizes[-1][1] > TILE:
        y, x = sizes[-1]
        sizes.append(((y + 1) // 2, (x + 1) // 2))
    return sizes


def make_pyramidal_ome_tiff(
    path: str | os.PathLike[str],
    size: int = 16384,
    channels: int = 4,
    *,
    size_x: int | None = None,
    compression: str = "zlib",
    physical_size: float = 0.325,
    seed: int = 0,
    workers: int | None = None,
) -> Path:
    """Write a ``channels`` × ``size`` × ``size_x`` uint16 OME-TIFF (CYX) with SubIFD pyramid levels.

    Levels halve until both sides fit in one 512² tile; tiles are 512², ``compression`` as given
    (zlib by default). Memory stays at a few tiles whatever the size. Returns the path.
    """
    path = Path(path)
    size_y, size_x = size, size_x or size
    sizes = level_sizes(size_y, size_x)
    bank = _TileBank(channels, seed)

    def tiles(level: int) -> Iterator[np.ndarray]:
        y, x = sizes[level]
        for c in range(channels):
            for ty in range(math.ceil(y / TILE)):
                for tx in range(math.ceil(x / TILE)):
                    yield bank.tile(c, level, ty, tx)

    metadata = {
        "axes": "CYX",
        "Name": path.name.split(".")[0],
        "PhysicalSizeX": physical_size,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": physical_size,
        "PhysicalSizeYUnit": "µm",
        "Channel": {
            "Name": [CHANNEL_NAMES[c % len(CHANNEL_NAMES)] for c in range(channels)],
            "Color": [CHANNEL_COLORS[c % len(CHANNEL_COLORS)] for c in range(channels)],
            "EmissionWavelength": [EMISSION_NM[c % len(EMISSION_NM)] for c in range(channels)],
        },
    }
    options = {
        "tile": (TILE, TILE),
        "dtype": "uint16",
        "compression": compression,
        "photometric": "minisblack",
        "maxworkers": workers or os.cpu_count(),
    }
    tmp = path.with_name(path.name + ".partial")
    with tifffile.TiffWriter(tmp, bigtiff=True, ome=True) as tif:
        tif.write(tiles(0), shape=(channels, size_y, size_x), subifds=len(sizes) - 1, metadata=metadata, **options)
        for level in range(1, len(sizes)):
            y, x = sizes[level]
            tif.write(tiles(level), shape=(channels, y, x), subfiletype=1, metadata=None, **options)
    os.replace(tmp, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--compression", default="zlib")
    args = parser.parse_args()
    out = make_pyramidal_ome_tiff(args.path, args.size, args.channels, compression=args.compression)
    print(f"{out}: {out.stat().st_size / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
