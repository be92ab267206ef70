"""Halving blocks of pixels: 2 × 2 means for intensities, the top-left value for labels."""

from __future__ import annotations

import numpy as np

# Wide enough to sum four values of each stored type without overflow.
_ACCUMULATOR = {
    "uint8": np.uint16,
    "int8": np.int16,
    "uint16": np.uint32,
    "int16": np.int32,
    "uint32": np.uint64,
    "int32": np.int64,
    "float32": np.float32,
    "float64": np.float64,
}


def halve(block: np.ndarray, *, label: bool = False) -> np.ndarray:
    """Halve the last two axes of ``block`` (rounding odd sizes up).

    Intensities: the mean of each 2 × 2 block (rounded to nearest for integers); an odd last row or
    column is averaged with itself, so edges are not darkened. Labels: the top-left value, so no
    label value is invented.
    """
    if label:
        return np.ascontiguousarray(block[..., ::2, ::2])
    h, w = block.shape[-2:]
    if h % 2 or w % 2:
        pad = [(0, 0)] * (block.ndim - 2) + [(0, h % 2), (0, w % 2)]
        block = np.pad(block, pad, mode="edge")
    acc = _ACCUMULATOR[block.dtype.name]
    rows = block[..., 0::2, :].astype(acc)
    rows += block[..., 1::2, :]
    if block.dtype.kind != "f":
        rows += 1  # twice per output value: round half up
    total = rows[..., 0::2]
    total += rows[..., 1::2]  # in place, in a view of rows: no new buffer
    if block.dtype.kind == "f":
        total *= 0.25
    else:
        total >>= 2
    return total.astype(block.dtype)
