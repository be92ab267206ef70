"""Shape geometry: the JSON form of each shape type, its flat encoding in the database, bounding boxes.

Each type's numbers are stored flat in ``shapes.coords`` in the order of :data:`GEOMETRY` (a
polyline's or polygon's points as x0, y0, x1, y1, ...); ``docs/developer/rois.md`` has the table.
The same flat numbers are what the compact list reply sends, so a viewer can draw from them directly.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import operator
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

# Coordinates are pixels of the full-resolution image, x to the right and y down from the top-left
# corner of the top-left pixel. Any finite value within this bound is accepted (shapes may reach past
# the image's edges); sizes (width, height, radii) are at most twice it.
COORD_LIMIT = 2.0**31
# Per request (one ROI or a bulk of them): shapes, and points of polylines and polygons.
MAX_SHAPES_PER_REQUEST = 100_000
MAX_POINTS_PER_SHAPE = 100_000
MAX_POINTS_PER_REQUEST = 2_000_000
# A mask's width x height, in pixels (4 MiB of bits).
MAX_MASK_PIXELS = 1 << 25
MAX_TEXT = 10_000

DEFAULT_STROKE = "FFFF00FF"  # opaque yellow, as OMERO.iviewer draws
DEFAULT_FILL = "00000000"  # none
DEFAULT_STROKE_WIDTH = 1.0

# The named numbers of each type, in the order they are stored; None: a list of [x, y] points.
GEOMETRY: dict[str, tuple[str, ...] | None] = {
    "rectangle": ("x", "y", "width", "height"),
    "ellipse": ("x", "y", "radius_x", "radius_y"),
    "point": ("x", "y"),
    "line": ("x1", "y1", "x2", "y2"),
    "polyline": None,
    "polygon": None,
    "label": ("x", "y"),
    "mask": ("x", "y", "width", "height"),
}
# Types whose numbers are x, y then a size (width/height or radii); the others are only points.
SIZED = ("rectangle", "mask", "ellipse")
PLANES = ("z", "t", "c")


class ShapeError(ValueError):
    """A shape that is well-formed JSON but not a valid shape; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def flatten(shapes: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Every shape's numbers in storage order, in one flat array, and the ``n + 1`` offsets into it.

    One pass in C over all the numbers (no list per shape: for 10^5 shapes those allocations, and the
    garbage collector they wake, cost more than the rest of the work).
    """
    getters = {t: operator.itemgetter(*names) for t, names in GEOMETRY.items() if names is not None}
    lengths = np.fromiter((len(GEOMETRY[sh["type"]] or ()) or 2 * len(sh["points"]) for sh in shapes),
                          dtype=np.int64, count=len(shapes))
    offsets = np.zeros(len(shapes) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    numbers = itertools.chain.from_iterable(
        itertools.chain.from_iterable(sh["points"]) if sh["type"] not in getters else getters[sh["type"]](sh)
        for sh in shapes)
    return np.fromiter(numbers, dtype=np.float64, count=int(offsets[-1])), offsets


def mask_bits(shape: dict[str, Any]) -> bytes:
    """A mask's bytes from its base64 ``bits``: exactly width x height bits, padded with zero bits."""
    width, height = shape["width"], shape["height"]
    if width * height > MAX_MASK_PIXELS:
        raise ShapeError("width", f"a mask holds at most {MAX_MASK_PIXELS} pixels, not {width} x {height}")
    try:
        data = base64.b64decode(shape["bits"], validate=True)
    except (binascii.Error, ValueError):
        raise ShapeError("bits", "is not base64") from None
    nbits = width * height
    if len(data) != (nbits + 7) // 8:
        raise ShapeError("bits", f"holds {len(data)} bytes; {width} x {height} pixels take {(nbits + 7) // 8} "
                                 "(numpy.packbits of the row-major mask)")
    spare = len(data) * 8 - nbits
    if spare and data[-1] & ((1 << spare) - 1):
        raise ShapeError("bits", f"the last {spare} bits, past width x height, must be 0")
    return data


def check_text(shape: dict[str, Any]) -> None:
    if shape["type"] == "label" and not shape.get("text", "").strip():
        raise ShapeError("text", "a label needs a text")


def bounding_boxes(types: Sequence[str], flat: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(x_min, y_min, x_max, y_max) of each shape, as an (n, 4) array, all at once.

    Every type's numbers are x, y pairs, so the box of the pairs is right for points, lines,
    polylines, polygons and labels; rectangles, masks and ellipses are then put right from their size.
    """
    n = len(types)
    if n == 0:
        return np.zeros((0, 4))
    starts = offsets[:-1]
    xs, ys = flat[0::2], flat[1::2]
    boxes = np.empty((n, 4))
    boxes[:, 0] = np.minimum.reduceat(xs, starts // 2)
    boxes[:, 1] = np.minimum.reduceat(ys, starts // 2)
    boxes[:, 2] = np.maximum.reduceat(xs, starts // 2)
    boxes[:, 3] = np.maximum.reduceat(ys, starts // 2)
    kinds = np.asarray(types)
    last = len(flat) - 1
    x, y = flat[starts], flat[np.minimum(starts + 1, last)]
    a, b = flat[np.minimum(starts + 2, last)], flat[np.minimum(starts + 3, last)]
    sized = np.isin(kinds, ("rectangle", "mask"))
    boxes[sized] = np.stack([x, y, x + a, y + b], axis=1)[sized]
    ellipse = kinds == "ellipse"
    boxes[ellipse] = np.stack([x - a, y - b, x + a, y + b], axis=1)[ellipse]
    return boxes


FLOAT8_OID = 701
_ARRAY_HEADER = struct.Struct(">iiIii")  # dimensions, has-nulls flag, element type, length, lower bound
_ELEMENT = np.dtype([("size", ">i4"), ("value", ">f8")])


def float8_arrays(flat: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    """Each shape's numbers in PostgreSQL's binary ``float8[]`` format, for ``COPY ... (FORMAT BINARY)``.

    psycopg's own array dumper runs in Python, one number at a time: for 10^5 polygons that took
    longer than everything else in a bulk request. Here every element of every array is laid out by
    numpy at once, and each array is one slice of that buffer behind a 20-byte header.
    """
    elements = np.empty(len(flat), dtype=_ELEMENT)
    elements["size"] = 8
    elements["value"] = flat
    body = elements.tobytes()
    bounds = (offsets * 12).tolist()
    header = _ARRAY_HEADER.pack
    return [header(1, 0, FLOAT8_OID, (end - start) // 12, 1) + body[start:end]
            for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


def describe(row: Any) -> dict[str, Any]:
    """The JSON form of a stored shape (a row with the ``shapes`` columns)."""
    item: dict[str, Any] = {"id": row.id, "type": row.type}
    names = GEOMETRY[row.type]
    coords = row.coords
    if names is None:
        item["points"] = [[coords[i], coords[i + 1]] for i in range(0, len(coords), 2)]
    else:
        item.update(zip(names, coords, strict=True))
        if row.type == "mask":
            item["width"], item["height"] = int(item["width"]), int(item["height"])
            item["bits"] = base64.b64encode(row.bits).decode("ascii")
    item.update(z=row.z, t=row.t, c=row.c, stroke_color=row.stroke_color, fill_color=row.fill_color,
                stroke_width=row.stroke_width, text=row.text, font_size=row.font_size)
    return item
