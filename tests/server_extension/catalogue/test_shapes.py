"""Shape geometry without a server: flat numbers per type, bounding boxes, the binary float8[] encoding,
mask bits. What travels through PostgreSQL is checked in tests/server_extension/api/test_rois.py."""

from __future__ import annotations

import base64
import struct

import numpy as np
import pytest

from scopehub.server_extension.catalogue.shapes import (
    GEOMETRY,
    ShapeError,
    bounding_boxes,
    check_text,
    flatten,
    float8_arrays,
    mask_bits,
)

SHAPES = [
    ({"type": "rectangle", "x": 1, "y": 2, "width": 3, "height": 4}, [1, 2, 3, 4], (1, 2, 4, 6)),
    ({"type": "ellipse", "x": 10, "y": 20, "radius_x": 3, "radius_y": 4}, [10, 20, 3, 4], (7, 16, 13, 24)),
    ({"type": "point", "x": -1.5, "y": 2.5}, [-1.5, 2.5], (-1.5, 2.5, -1.5, 2.5)),
    ({"type": "label", "x": 7, "y": 8, "text": "x"}, [7, 8], (7, 8, 7, 8)),
    ({"type": "line", "x1": 5, "y1": 1, "x2": 2, "y2": 9}, [5, 1, 2, 9], (2, 1, 5, 9)),
    ({"type": "polyline", "points": [(0, 0), (4, -2)]}, [0, 0, 4, -2], (0, -2, 4, 0)),
    ({"type": "polygon", "points": [(3, 3), (9, 1), (6, 8), (-1, 5)]}, [3, 3, 9, 1, 6, 8, -1, 5], (-1, 1, 9, 8)),
    ({"type": "mask", "x": 100, "y": 50, "width": 16, "height": 2, "bits": "AAAAAA=="}, [100, 50, 16, 2],
     (100, 50, 116, 52)),
]


def test_every_type_is_described() -> None:
    assert set(GEOMETRY) == {s["type"] for s, _, _ in SHAPES}


def test_flatten_and_boxes() -> None:
    shapes = [s for s, _, _ in SHAPES]
    flat, offsets = flatten(shapes)
    assert [flat[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)] == [f for _, f, _ in SHAPES]
    boxes = bounding_boxes([s["type"] for s in shapes], flat, offsets)
    assert [tuple(b) for b in boxes.tolist()] == [b for _, _, b in SHAPES]
    # Order does not matter: the same shapes reversed give the same boxes reversed.
    flat, offsets = flatten(shapes[::-1])
    assert [tuple(b) for b in bounding_boxes([s["type"] for s in shapes[::-1]], flat, offsets).tolist()] == [
        b for _, _, b in SHAPES[::-1]]


def test_one_shape_alone() -> None:
    for shape, _, box in SHAPES:
        flat, offsets = flatten([shape])
        assert tuple(bounding_boxes([shape["type"]], flat, offsets)[0]) == box


def test_float8_arrays_are_postgres_binary_arrays() -> None:
    flat = np.array([1.5, -2.0, 3.25, 1e300, 0.0])
    offsets = np.array([0, 2, 5])
    first, second = float8_arrays(flat, offsets)
    # dimensions, no nulls, element type float8 (701), length, lower bound 1; then (length 8, value) each.
    assert first == struct.pack(">iiIii", 1, 0, 701, 2, 1) + struct.pack(">idid", 8, 1.5, 8, -2.0)
    assert second[:20] == struct.pack(">iiIii", 1, 0, 701, 3, 1)
    assert struct.unpack(">ididid", second[20:]) == (8, 3.25, 8, 1e300, 8, 0.0)


@pytest.mark.parametrize(("width", "height"), [(1, 1), (3, 3), (8, 2), (5, 7), (64, 64)])
def test_mask_bits_round_trip_numpy_packbits(width: int, height: int) -> None:
    mask = np.random.default_rng(width * height).random((height, width)) > 0.5
    bits = base64.b64encode(np.packbits(mask).tobytes()).decode()
    data = mask_bits({"type": "mask", "width": width, "height": height, "bits": bits})
    assert np.array_equal(np.unpackbits(np.frombuffer(data, np.uint8))[:width * height].reshape(height, width), mask)


@pytest.mark.parametrize(("width", "height", "data", "message"), [
    (3, 3, b"\xaa", "holds 1 bytes; 3 x 3 pixels take 2"),
    (3, 3, b"\xaa\x80\x00", "holds 3 bytes"),
    (3, 3, b"\xaa\x81", "the last 7 bits, past width x height, must be 0"),
    (8, 1, b"", "holds 0 bytes"),
])
def test_mask_bits_refused(width: int, height: int, data: bytes, message: str) -> None:
    with pytest.raises(ShapeError) as e:
        mask_bits({"type": "mask", "width": width, "height": height, "bits": base64.b64encode(data).decode()})
    assert e.value.field == "bits" and message in e.value.message


def test_mask_too_large_and_not_base64() -> None:
    with pytest.raises(ShapeError) as e:
        mask_bits({"type": "mask", "width": 1 << 13, "height": 1 << 13, "bits": ""})
    assert e.value.field == "width"
    with pytest.raises(ShapeError, match="not base64"):
        mask_bits({"type": "mask", "width": 1, "height": 1, "bits": "A"})


def test_a_label_needs_text() -> None:
    check_text({"type": "label", "text": "ok"})
    check_text({"type": "point"})
    for shape in ({"type": "label"}, {"type": "label", "text": " \n"}):
        with pytest.raises(ShapeError) as e:
            check_text(shape)
        assert e.value.field == "text"
