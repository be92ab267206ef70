"""Shapes between Python, the front-end's columns and the API."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from scopehub.widgets.shapes import as_shape, flatten, pack, roi_payload, unpack

SHAPES = [
    {"type": "rectangle", "x": 10, "y": 20, "width": 30, "height": 40, "z": 0, "t": 1, "id": "a"},
    {"type": "ellipse", "x": 50.5, "y": 60.25, "radius_x": 8, "radius_y": 5, "stroke": "#FF0000", "id": 7},
    {"type": "point", "x": 3, "y": 4, "z": 2},
    {"type": "polygon", "points": [[0, 0], [10, 0], [5, 8]], "stroke": "#FF0000"},
    {"type": "polyline", "points": [[1, 1], [2, 3]]},
    {"type": "line", "x1": 0, "y1": 1, "x2": 10, "y2": 11},
]


def test_pack_gives_columns_that_unpack_to_the_same_shapes() -> None:
    header, buffers = pack([as_shape(s) for s in SHAPES], color="#00E5FF")
    assert header["count"] == len(SHAPES)
    assert header["styles"] == ["#00E5FF", "#FF0000"]
    kind, z, t, style, start, coords = (np.frombuffer(b, d) for b, d in zip(
        buffers, (np.uint8, np.int32, np.int32, np.uint16, np.uint32, np.float32), strict=True))
    assert kind.tolist() == [0, 1, 2, 3, 4, 5]
    assert z.tolist() == [0, -1, 2, -1, -1, -1] and t.tolist() == [1, -1, -1, -1, -1, -1]
    assert style.tolist() == [0, 1, 0, 1, 0, 0]
    assert start.tolist() == [0, 4, 8, 10, 16, 20, 24]
    assert coords[:4].tolist() == [10, 20, 30, 40]
    back = unpack(header, buffers)
    assert back[0] == {"id": "a", "type": "rectangle", "x": 10, "y": 20, "width": 30, "height": 40, "z": 0, "t": 1,
                       "stroke": "#00E5FF"}
    assert back[1]["x"] == 50.5 and back[1]["radius_y"] == 5 and back[1]["id"] == 7 and back[1]["z"] is None
    assert back[3]["points"] == [[0, 0], [10, 0], [5, 8]]
    assert back[5] == {"id": 5, "type": "line", "x1": 0, "y1": 1, "x2": 10, "y2": 11, "z": None, "t": None,
                       "stroke": "#00E5FF"}


def test_a_hundred_thousand_shapes_pack_into_a_few_megabytes() -> None:
    rng = np.random.default_rng(0)
    shapes = [{"type": "ellipse", "x": float(x), "y": float(y), "radius_x": 5, "radius_y": 4}
              for x, y in rng.uniform(0, 8192, (100_000, 2))]
    header, buffers = pack(shapes)
    assert sum(len(b) for b in buffers) < 3 * 2**20
    assert header["count"] == 100_000


@pytest.mark.parametrize("bad, message", [
    ({"type": "circle", "x": 1}, "shape type"),
    ({"type": "rectangle", "x": 1, "y": 2, "width": 3}, "height"),
    ({"type": "point", "x": "1", "y": 2}, "'x'"),
    ({"type": "point", "x": True, "y": 2}, "'x'"),
    ({"type": "polygon", "points": []}, "points"),
    ({"type": "polygon", "points": [[1, 2, 3]]}, "points"),
])
def test_bad_shapes_are_refused_with_the_reason(bad: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_shape(bad)


def test_shapes_come_from_objects_and_from_rois() -> None:
    assert as_shape(SimpleNamespace(type="point", x=1, y=2, _private=3)) == {"type": "point", "x": 1, "y": 2}
    rois = [{"id": 9, "shapes": [SHAPES[0], SHAPES[2]]}, SHAPES[1]]
    flat = flatten(rois)
    assert [s["type"] for s in flat] == ["rectangle", "point", "ellipse"]
    assert flat[0]["roi_id"] == 9 and "roi_id" not in flat[2]


def test_roi_payload_keeps_geometry_plane_and_text_only() -> None:
    drawn = {"id": "new-1", "type": "rectangle", "x": 1.5, "y": 2, "width": 3, "height": 4, "z": 0, "t": None,
             "stroke": "#FFD400", "roi_id": None, "source": "drawn"}
    assert roi_payload(drawn) == {"shapes": [{"type": "rectangle", "x": 1.5, "y": 2, "width": 3, "height": 4,
                                              "z": 0, "t": None}]}
    polygon = {"type": "polygon", "points": [[0, 0], [4, 0], [2, 3]], "text": "cell 1", "z": 1, "t": 0}
    assert roi_payload(polygon) == {"shapes": [{"type": "polygon", "points": [[0, 0], [4, 0], [2, 3]],
                                                "text": "cell 1", "z": 1, "t": 0}]}


def test_the_clients_rois_and_shapes_are_shown_with_their_colours() -> None:
    """Objects as the client gives them (``image.rois()``: ROIs with ``.shapes`` of objects with ``to_dict()``,
    colours as RRGGBBAA) flatten like the API's dicts."""

    class Shape:
        def __init__(self, body: dict) -> None:
            self.body = body

        def to_dict(self) -> dict:
            return dict(self.body)

    class Roi:
        def __init__(self, roi_id: int, shapes: list) -> None:
            self.id, self.shapes = roi_id, shapes

    rois = [Roi(7, [Shape({"type": "rectangle", "x": 1, "y": 2, "width": 3, "height": 4, "stroke_color": "FF000080"}),
                    Shape({"type": "point", "x": 5, "y": 6, "z": 2})])]
    shapes = flatten(rois)
    assert [(s["roi_id"], s["type"]) for s in shapes] == [(7, "rectangle"), (7, "point")]
    back = unpack(*pack(shapes, "#00E5FF"))
    assert [s["stroke"] for s in back] == ["#FF0000", "#00E5FF"] and back[1]["z"] == 2
