"""ROIs through the HTTP API: every shape type round-trips, bad geometry is a 400 naming the field,
plane and viewport filters are exact at the edges, both reply formats agree, paging, edits with
versions, bulk creation, and the permission matrix (view, draw, edit, delete) on both databases."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from tests.api_client import Api, make_team, unique

from ..permission_matrix import ACTORS, HIDDEN, LEVELS, YES, expected
from ..pixels.stored_images import catalogue_engine

STYLE = {"stroke_color": "FFFF00FF", "fill_color": "00000000", "stroke_width": 1.0, "text": "", "font_size": None,
         "z": None, "t": None, "c": None}
MASK = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=bool)
MASK_BITS = base64.b64encode(np.packbits(MASK).tobytes()).decode()  # 9 bits, 7 spare zero bits: 2 bytes

# One of each type, with every optional field somewhere.
EVERY_TYPE = [
    {"type": "rectangle", "x": 10.5, "y": 20.25, "width": 30, "height": 40, "stroke_color": "ff0000ff",
     "fill_color": "00FF0080", "stroke_width": 2.5, "text": "cell 1", "font_size": 14, "z": 1, "t": 0, "c": 2},
    {"type": "ellipse", "x": 50, "y": 60, "radius_x": 5, "radius_y": 8.5, "z": 0},
    {"type": "point", "x": -3.5, "y": 1e-3},
    {"type": "line", "x1": 0, "y1": 0, "x2": 100.125, "y2": 50},
    {"type": "polyline", "points": [[0, 0], [10, 10], [20, 0]], "t": 1},
    {"type": "polygon", "points": [[0, 0], [10, 10], [20, 0], [5, -5]], "text": "nucleus"},
    {"type": "label", "x": 5, "y": 5, "text": "Mitosis ✔", "font_size": 12},
    {"type": "mask", "x": 100, "y": 200, "width": 3, "height": 3, "bits": MASK_BITS},
]


def image_of(client: Api, group: int | None = None, **fields) -> int:
    body = {"name": unique("roi-image"), **({"group_id": group} if group else {}), **fields}
    return client.ok("POST", "images", 201, json=body)["id"]


def draw(client: Api, image: int, shapes: list[dict], **fields) -> int:
    [roi] = client.ok("POST", f"images/{image}/rois", 201, json={"shapes": shapes, **fields})["ids"]
    return roi


def expected_shape(sent: dict) -> dict:
    """What the server answers for a shape it was sent: defaults filled in, colours upper-case, numbers as floats."""
    out = {**STYLE, **sent}
    out["stroke_color"], out["fill_color"] = out["stroke_color"].upper(), out["fill_color"].upper()
    for key, value in sent.items():
        if key in ("x", "y", "x1", "y1", "x2", "y2", "radius_x", "radius_y", "stroke_width", "font_size") or (
                key in ("width", "height") and sent["type"] != "mask"):
            out[key] = float(value)
    if "points" in sent:
        out["points"] = [[float(a), float(b)] for a, b in sent["points"]]
    return out


def without_ids(shapes: list[dict]) -> list[dict]:
    return [{k: v for k, v in s.items() if k != "id"} for s in shapes]


def compact_shapes(reply: dict) -> list[dict]:
    """The compact reply's parallel arrays turned back into one dict per shape (ids, types, numbers, style)."""
    s = reply["shapes"]
    n = len(s["id"])
    assert all(len(s[k]) == n for k in s if k not in ("offsets", "coords")), "parallel arrays differ in length"
    assert len(s["offsets"]) == n + 1 and s["offsets"][0] == 0 and s["offsets"][-1] == len(s["coords"])
    return [{"id": s["id"][i], "roi": s["roi"][i], "type": s["type"][i], "z": s["z"][i], "t": s["t"][i],
             "c": s["c"][i], "stroke_color": s["stroke_color"][i], "fill_color": s["fill_color"][i],
             "stroke_width": s["stroke_width"][i], "text": s["text"][i], "font_size": s["font_size"][i],
             "bits": s["bits"][i], "coords": s["coords"][s["offsets"][i]:s["offsets"][i + 1]]} for i in range(n)]


def flat(shape: dict) -> list[float]:
    """A shape's numbers as docs/developer/rois.md lists them (the compact format's coords)."""
    names = {"rectangle": ("x", "y", "width", "height"), "ellipse": ("x", "y", "radius_x", "radius_y"),
             "point": ("x", "y"), "label": ("x", "y"), "line": ("x1", "y1", "x2", "y2"),
             "mask": ("x", "y", "width", "height")}.get(shape["type"])
    if names is None:
        return [float(v) for p in shape["points"] for v in p]
    return [float(shape[n]) for n in names]


def ids_in(client: Api, image: int, **params) -> list[int]:
    """Shape ids the full format lists, and (checked equal) those the compact format lists."""
    full = client.ok("GET", f"images/{image}/rois", params={**params, "limit": 1000})
    compact = client.ok("GET", f"images/{image}/rois", params={**params, "format": "compact"})
    from_full = sorted(s["id"] for item in full["items"] for s in item["shapes"])
    assert from_full == compact["shapes"]["id"] and compact["total"] == len(from_full)
    return from_full


@pytest.fixture(scope="module")
def engine(catalogue) -> Iterator[sa.Engine]:
    e = catalogue_engine(catalogue)
    yield e
    e.dispose()


def set_sizes(engine: sa.Engine, image: int, **sizes: int) -> None:
    """Give a metadata-only image pixel sizes (z, t, c), as an import would."""
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE images SET size_x = 512, size_y = 512, size_z = :z, size_t = :t, size_c = :c "
                             "WHERE id = :id"), {"id": image, **sizes})


# ---- shapes -----------------------------------------------------------------------------------
def test_every_shape_type_round_trips(api: Api) -> None:
    image = image_of(api)
    roi = draw(api, image, EVERY_TYPE, name="every type", description="one of each")
    got = api.ok("GET", f"rois/{roi}")
    assert got["name"] == "every type" and got["description"] == "one of each" and got["image_id"] == image
    assert got["owner"]["username"] == "admin" and got["version"] == 1 and got["shape_count"] == len(EVERY_TYPE)
    assert without_ids(got["shapes"]) == [expected_shape(s) for s in EVERY_TYPE]
    assert [s["id"] for s in got["shapes"]] == sorted(s["id"] for s in got["shapes"])
    # The mask's bits come back as sent, and decode to the same pixels.
    bits = np.frombuffer(base64.b64decode(got["shapes"][-1]["bits"]), dtype=np.uint8)
    assert np.array_equal(np.unpackbits(bits)[:9].reshape(3, 3).astype(bool), MASK)
    # The list carries the same ROI; the compact format the same numbers, flat, in the documented order.
    [item] = api.ok("GET", f"images/{image}/rois")["items"]
    assert item == got
    compact = api.ok("GET", f"images/{image}/rois", params={"format": "compact"})
    shapes = compact_shapes(compact)
    assert [s["coords"] for s in shapes] == [flat(s) for s in EVERY_TYPE]
    assert [s["type"] for s in shapes] == [s["type"] for s in EVERY_TYPE]
    assert [s["bits"] for s in shapes] == [None] * 7 + [MASK_BITS]
    assert {k: shapes[0][k] for k in ("stroke_color", "fill_color", "stroke_width", "text", "font_size", "z", "t",
                                      "c")} == {k: expected_shape(EVERY_TYPE[0])[k] for k in STYLE}
    assert compact["rois"] == {"id": [roi], "name": ["every type"], "owner_id": [got["owner"]["id"]],
                               "version": [1], "can_edit": [True], "can_delete": [True]}
    assert api.ok("GET", f"images/{image}")["roi_count"] == 1


def test_bulk_creation_returns_ids_in_order(api: Api) -> None:
    image = image_of(api)
    rois = [{"name": f"r{i}", "shapes": [{"type": "point", "x": i, "y": i}] * (i + 1)} for i in range(5)]
    created = api.ok("POST", f"images/{image}/rois", 201, json={"rois": rois})
    assert created["shape_count"] == 15 and created["ids"] == sorted(created["ids"]) and len(created["ids"]) == 5
    for i, roi in enumerate(created["ids"]):
        got = api.ok("GET", f"rois/{roi}")
        assert got["name"] == f"r{i}" and [s["x"] for s in got["shapes"]] == [float(i)] * (i + 1)


BAD_SHAPES = [
    ({"type": "rectangle", "x": 0, "y": 0, "width": -1, "height": 1}, "shapes.0.rectangle.width"),
    ({"type": "rectangle", "x": 0, "y": 0, "width": float("nan"), "height": 1}, "shapes.0.rectangle.width"),
    ({"type": "rectangle", "x": float("inf"), "y": 0, "width": 1, "height": 1}, "shapes.0.rectangle.x"),
    ({"type": "rectangle", "x": 0, "y": 3e9, "width": 1, "height": 1}, "shapes.0.rectangle.y"),
    ({"type": "rectangle", "x": "1", "y": 0, "width": 1, "height": 1}, "shapes.0.rectangle.x"),
    ({"type": "rectangle", "x": True, "y": 0, "width": 1, "height": 1}, "shapes.0.rectangle.x"),
    ({"type": "rectangle", "x": 0, "y": 0, "width": 1}, "shapes.0.rectangle.height"),
    ({"type": "rectangle", "x": 0, "y": 0, "width": 1, "height": 1, "radius": 2}, "shapes.0.rectangle.radius"),
    ({"type": "ellipse", "x": 0, "y": 0, "radius_x": -0.5, "radius_y": 1}, "shapes.0.ellipse.radius_x"),
    ({"type": "point", "x": 0}, "shapes.0.point.y"),
    ({"type": "line", "x1": 0, "y1": 0, "x2": 1}, "shapes.0.line.y2"),
    ({"type": "polyline", "points": [[0, 0]]}, "shapes.0.polyline.points"),
    ({"type": "polygon", "points": [[0, 0], [1, 1]]}, "shapes.0.polygon.points"),
    ({"type": "polygon", "points": [[0, 0], [1, 1], [2]]}, "shapes.0.polygon.points.2"),
    ({"type": "polygon", "points": [[0, 0], [1, 1], [2, 2, 2]]}, "shapes.0.polygon.points.2"),
    ({"type": "circle", "x": 0, "y": 0}, "shapes.0"),
    ({"x": 0, "y": 0}, "shapes.0"),
    ({"type": "point", "x": 0, "y": 0, "stroke_color": "FF0000"}, "shapes.0.point.stroke_color"),
    ({"type": "point", "x": 0, "y": 0, "fill_color": "GG0000FF"}, "shapes.0.point.fill_color"),
    ({"type": "point", "x": 0, "y": 0, "stroke_width": -1}, "shapes.0.point.stroke_width"),
    ({"type": "point", "x": 0, "y": 0, "font_size": 0}, "shapes.0.point.font_size"),
    ({"type": "point", "x": 0, "y": 0, "z": -1}, "shapes.0.point.z"),
    ({"type": "point", "x": 0, "y": 0, "t": 1.0}, "shapes.0.point.t"),
    ({"type": "point", "x": 0, "y": 0, "text": "a\x00b"}, "shapes.0.point.text"),
    ({"type": "label", "x": 0, "y": 0}, "shapes.0.text"),
    ({"type": "label", "x": 0, "y": 0, "text": "  "}, "shapes.0.text"),
    ({"type": "mask", "x": 0, "y": 0, "width": 3, "height": 3, "bits": "qoA"}, "shapes.0.bits"),
    ({"type": "mask", "x": 0, "y": 0, "width": 3, "height": 3, "bits": "qg=="}, "shapes.0.bits"),  # 1 byte, not 2
    ({"type": "mask", "x": 0, "y": 0, "width": 3, "height": 3, "bits": "qoE="}, "shapes.0.bits"),  # a spare bit set
    ({"type": "mask", "x": 0, "y": 0, "width": 3, "height": 3, "bits": "qo A="}, "shapes.0.mask.bits"),
    ({"type": "mask", "x": 0, "y": 0, "width": 0, "height": 3, "bits": ""}, "shapes.0.mask.width"),
    ({"type": "mask", "x": 0, "y": 0, "width": 2.5, "height": 3, "bits": "qoA="}, "shapes.0.mask.width"),
    ({"type": "mask", "x": 0, "y": 0, "width": 8192, "height": 8192, "bits": ""}, "shapes.0.width"),
]


def post_json(api: Api, path: str, body: dict):
    """POST a body as Python's json writes it: NaN and Infinity included (requests' json= refuses them)."""
    return api.post(path, data=json.dumps(body), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(("shape", "field"), BAD_SHAPES, ids=[f for _, f in BAD_SHAPES])
def test_bad_geometry_is_400_naming_the_field(api: Api, shape: dict, field: str) -> None:
    image = image_of(api)
    ok = {"type": "point", "x": 1, "y": 1}
    r = post_json(api, f"images/{image}/rois", {"shapes": [shape, ok]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].split(":")[0].startswith(field), r.json()["error"]
    # In a bulk, the field is named within its ROI; nothing of the request is stored either way.
    r = post_json(api, f"images/{image}/rois", {"rois": [{"shapes": [ok]}, {"shapes": [ok, shape]}]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].split(":")[0].startswith(
        "rois.1." + field.replace("shapes.0", "shapes.1")), r.json()["error"]
    assert api.ok("GET", f"images/{image}/rois")["total"] == 0


@pytest.mark.parametrize(("body", "message"), [
    ({}, "send a ROI's shapes"),
    ({"name": "no shapes"}, "send a ROI's shapes"),
    ({"shapes": []}, "shapes: List should have at least 1 item"),
    ({"rois": []}, "rois: List should have at least 1 item"),
    ({"rois": [{"shapes": []}]}, "rois.0.shapes: List should have at least 1 item"),
    ({"name": "both", "rois": [{"shapes": [{"type": "point", "x": 0, "y": 0}]}]}, "send either one ROI"),
    ({"shapes": [{"type": "point", "x": 0, "y": 0}], "name": "x" * 256}, "name: String should have at most 255"),
    ({"rois": [{"shapes": [{"type": "point", "x": 0, "y": 0}], "colour": "red"}]}, "rois.0.colour: Extra inputs"),
])
def test_bad_bodies(api: Api, body: dict, message: str) -> None:
    image = image_of(api)
    r = api.post(f"images/{image}/rois", json=body)
    assert r.status_code == 400 and message in r.json()["error"]["message"], r.text


def test_request_limits(api: Api) -> None:
    image = image_of(api)
    point = {"type": "point", "x": 0, "y": 0}
    r = api.post(f"images/{image}/rois", json={"rois": [{"shapes": [point] * 50_001}, {"shapes": [point] * 50_000}]})
    assert r.status_code == 400 and r.json()["error"]["message"] == (
        "rois: 100001 shapes; one request may create at most 100000"), r.text
    r = api.post(f"images/{image}/rois", json={"shapes": [point] * 100_001})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("shapes: List should have at most"), r.text
    r = api.post(f"images/{image}/rois", json={"shapes": [{"type": "polygon", "points": [[0, 0]] * 100_001}]})
    assert r.status_code == 400 and "shapes.0.polygon.points" in r.json()["error"]["message"], r.text
    assert api.ok("GET", f"images/{image}/rois")["total"] == 0


def test_planes_must_lie_within_the_image(api: Api, engine: sa.Engine) -> None:
    image = image_of(api)
    set_sizes(engine, image, z=3, t=2, c=4)
    draw(api, image, [{"type": "point", "x": 0, "y": 0, "z": 2, "t": 1, "c": 3}])
    for plane, value, message in (("z", 3, "shapes.0.z: 3 is past the image's 3 z-sections (0 to 2)"),
                                  ("t", 2, "shapes.0.t: 2 is past the image's 2 time points (0 to 1)"),
                                  ("c", 4, "shapes.0.c: 4 is past the image's 4 channels (0 to 3)")):
        r = api.post(f"images/{image}/rois", json={"shapes": [{"type": "point", "x": 0, "y": 0, plane: value}]})
        assert (r.status_code, r.json()["error"]["message"]) == (400, message)
    r = api.post(f"images/{image}/rois", json={"rois": [
        {"shapes": [{"type": "point", "x": 0, "y": 0}]},
        {"shapes": [{"type": "point", "x": 0, "y": 0}, {"type": "point", "x": 0, "y": 0, "t": 5}]}]})
    assert r.json()["error"]["message"].startswith("rois.1.shapes.1.t: 5 is past"), r.text
    assert api.ok("GET", f"images/{image}/rois")["total"] == 1
    # An image without pixels bounds no plane.
    draw(api, image_of(api), [{"type": "point", "x": 0, "y": 0, "z": 1000, "t": 7, "c": 9}])


# ---- plane and viewport ------------------------------------------------------------------------
def test_plane_filter(api: Api) -> None:
    image = image_of(api)
    point = {"type": "point", "x": 0, "y": 0}
    planes = {"all": {}, "z1": {"z": 1}, "z2": {"z": 2}, "z1t0": {"z": 1, "t": 0}, "z1t1": {"z": 1, "t": 1},
              "t0": {"t": 0}, "c1": {"c": 1}, "z1t0c0": {"z": 1, "t": 0, "c": 0}}
    roi = draw(api, image, [{**point, **p} for p in planes.values()])
    ids = dict(zip(planes, [s["id"] for s in api.ok("GET", f"rois/{roi}")["shapes"]], strict=True))

    def found(**params) -> set[str]:
        names = {v: k for k, v in ids.items()}
        return {names[i] for i in ids_in(api, image, **params)}

    assert found() == set(planes)
    assert found(z=1) == {"all", "z1", "z1t0", "z1t1", "t0", "c1", "z1t0c0"}
    assert found(z=2) == {"all", "z2", "t0", "c1"}
    assert found(z=1, t=0) == {"all", "z1", "z1t0", "t0", "c1", "z1t0c0"}
    assert found(z=1, t=0, c=0) == {"all", "z1", "z1t0", "t0", "z1t0c0"}
    assert found(z=0, t=1, c=1) == {"all", "c1"}
    # The full format says how many shapes the ROI has, besides those that passed.
    [item] = api.ok("GET", f"images/{image}/rois", params={"z": 2})["items"]
    assert item["shape_count"] == len(planes) and len(item["shapes"]) == 4


def test_viewport_is_exact_at_the_edges(api: Api) -> None:
    """The viewport 100,100,50,50 covers [100, 150] x [100, 150]; touching an edge counts."""
    image = image_of(api)
    eps = 1e-3
    inside = {
        "rect touching right": {"type": "rectangle", "x": 150, "y": 120, "width": 10, "height": 5},
        "rect touching left": {"type": "rectangle", "x": 90, "y": 120, "width": 10, "height": 5},
        "rect touching top": {"type": "rectangle", "x": 120, "y": 90, "width": 5, "height": 10},
        "rect touching bottom": {"type": "rectangle", "x": 120, "y": 150, "width": 5, "height": 10},
        "rect around": {"type": "rectangle", "x": 0, "y": 0, "width": 1000, "height": 1000},
        "ellipse reaching in": {"type": "ellipse", "x": 160, "y": 125, "radius_x": 10, "radius_y": 1},
        "point at corner": {"type": "point", "x": 150, "y": 150},
        "point at origin corner": {"type": "point", "x": 100, "y": 100},
        "label inside": {"type": "label", "x": 125, "y": 125, "text": "in"},
        "line crossing": {"type": "line", "x1": 0, "y1": 125, "x2": 500, "y2": 126},
        "polygon vertex on edge": {"type": "polygon", "points": [[150, 140], [200, 140], [200, 200]]},
        "polyline ending on edge": {"type": "polyline", "points": [[300, 300], [150, 150 - eps]]},
        "mask touching": {"type": "mask", "x": 147, "y": 147, "width": 3, "height": 3, "bits": MASK_BITS},
    }
    outside = {
        "rect past right": {"type": "rectangle", "x": 150 + eps, "y": 120, "width": 10, "height": 5},
        "rect before left": {"type": "rectangle", "x": 90 - eps, "y": 120, "width": 10, "height": 5},
        "rect above": {"type": "rectangle", "x": 120, "y": 90 - eps, "width": 5, "height": 10},
        "rect below": {"type": "rectangle", "x": 120, "y": 150 + eps, "width": 5, "height": 10},
        "ellipse short of it": {"type": "ellipse", "x": 160, "y": 125, "radius_x": 10 - eps, "radius_y": 1},
        "point past corner": {"type": "point", "x": 150, "y": 150 + eps},
        "label outside": {"type": "label", "x": 99.99, "y": 125, "text": "out"},
        "line beside": {"type": "line", "x1": 0, "y1": 0, "x2": 99.9, "y2": 99.9},
        "polygon beside": {"type": "polygon", "points": [[151, 100], [200, 100], [200, 150]]},
        "mask short of it": {"type": "mask", "x": 147 - 2 * eps, "y": 97 - eps, "width": 3, "height": 3,
                             "bits": MASK_BITS},
    }
    names = list(inside) + list(outside)
    roi = draw(api, image, list(inside.values()) + list(outside.values()))
    shape_ids = [s["id"] for s in api.ok("GET", f"rois/{roi}")["shapes"]]
    by_id = dict(zip(shape_ids, names, strict=True))
    assert {by_id[i] for i in ids_in(api, image, viewport="100,100,50,50")} == set(inside)
    # A viewport of no area is a line or a point; one far away finds nothing; decimals and exponents parse.
    assert {by_id[i] for i in ids_in(api, image, viewport="150,150,0,0")} == {
        "rect around", "point at corner", "polygon vertex on edge", "polyline ending on edge", "mask touching"}
    assert ids_in(api, image, viewport="1e5,1e5,10,10") == []
    assert {by_id[i] for i in ids_in(api, image, viewport="99.985,124.5,1e-2,1.0")} == {
        "rect touching left", "rect before left", "label outside", "line crossing", "rect around"}
    # Viewport and plane together.
    image2 = image_of(api)
    roi2 = draw(api, image2, [{"type": "point", "x": 5, "y": 5, "z": 0}, {"type": "point", "x": 5, "y": 5, "z": 1},
                              {"type": "point", "x": 5, "y": 5}, {"type": "point", "x": 50, "y": 5, "z": 1}])
    ids2 = [s["id"] for s in api.ok("GET", f"rois/{roi2}")["shapes"]]
    assert ids_in(api, image2, viewport="0,0,10,10", z=1) == [ids2[1], ids2[2]]


@pytest.mark.parametrize(("params", "message"), [
    ({"viewport": "1,2,3"}, "viewport must be x,y,width,height"),
    ({"viewport": "a,b,c,d"}, "viewport must be x,y,width,height"),
    ({"viewport": "0,0,-1,5"}, "must not be negative"),
    ({"viewport": "1e999,0,1,1"}, "must be finite"),
    ({"viewport": "nan,0,1,1"}, "must be finite"),
    ({"z": "-1"}, "z must be between 0"),
    ({"t": "one"}, "t must be a whole number"),
    ({"format": "xml"}, "format must be full or compact"),
    ({"limit": "1001"}, "limit must be between 1 and 1000 ROIs"),
    ({"limit": "0"}, "limit must be between 1 and 1000 ROIs"),
    ({"limit": "100001", "format": "compact"}, "limit must be between 1 and 100000 shapes"),
])
def test_bad_list_parameters(api: Api, params: dict, message: str) -> None:
    image = image_of(api)
    r = api.get(f"images/{image}/rois", params=params)
    assert r.status_code == 400 and message in r.json()["error"]["message"], r.text


def test_paging(api: Api) -> None:
    image = image_of(api)
    created = api.ok("POST", f"images/{image}/rois", 201, json={"rois": [
        {"name": f"r{i}", "shapes": [{"type": "point", "x": i, "y": j} for j in range(3)]} for i in range(5)]})
    # Full format: pages of ROIs, each with all its shapes.
    page = api.ok("GET", f"images/{image}/rois", params={"limit": 2, "offset": 2})
    assert (page["total"], page["offset"], page["limit"]) == (5, 2, 2)
    assert [i["id"] for i in page["items"]] == created["ids"][2:4]
    assert [len(i["shapes"]) for i in page["items"]] == [3, 3]
    # Compact: pages of shapes; the ROIs section holds those the page's shapes belong to.
    every = api.ok("GET", f"images/{image}/rois", params={"format": "compact"})["shapes"]["id"]
    assert len(every) == 15
    page = api.ok("GET", f"images/{image}/rois", params={"format": "compact", "limit": 4, "offset": 5})
    assert (page["total"], page["offset"], page["limit"]) == (15, 5, 4)
    assert page["shapes"]["id"] == every[5:9] and page["rois"]["id"] == created["ids"][1:3]
    assert page["shapes"]["roi"] == [created["ids"][1]] + [created["ids"][2]] * 3
    past = api.ok("GET", f"images/{image}/rois", params={"format": "compact", "offset": 20})
    assert past["total"] == 15 and past["shapes"]["id"] == [] and past["shapes"]["offsets"] == [0]
    assert past["rois"]["id"] == []
    assert api.ok("GET", f"images/{image}/rois", params={"offset": 9})["items"] == []
    # Filtered by who drew them.
    bob = api.make_user()["username"]
    group = api.ok("GET", f"images/{image}")["group"]["id"]
    api.add_member(group, bob)
    mine = draw(api.as_user(bob), image, [{"type": "point", "x": 0, "y": 0}])
    bob_id = api.ok("GET", f"rois/{mine}")["owner"]["id"]
    assert [i["id"] for i in api.ok("GET", f"images/{image}/rois", params={"owner": bob_id})["items"]] == [mine]
    assert api.ok("GET", f"images/{image}/rois", params={"owner": bob_id, "format": "compact"})["rois"]["id"] == [mine]


# ---- editing ------------------------------------------------------------------------------------
def test_patch_renames_and_replaces_shapes(api: Api) -> None:
    image = image_of(api)
    roi = draw(api, image, [{"type": "point", "x": 1, "y": 1}, {"type": "point", "x": 2, "y": 2}], name="before")
    got = api.ok("GET", f"rois/{roi}")
    renamed = api.ok("PATCH", f"rois/{roi}", json={"name": "after", "version": 1})
    assert renamed["name"] == "after" and renamed["version"] == 2 and renamed["shapes"] == got["shapes"]
    new = [{"type": "rectangle", "x": 0, "y": 0, "width": 5, "height": 5, "z": 0}]
    replaced = api.ok("PATCH", f"rois/{roi}", json={"shapes": new}, headers={"If-Match": '"2"'})
    assert replaced["version"] == 3 and replaced["shape_count"] == 1 and replaced["name"] == "after"
    assert without_ids(replaced["shapes"]) == [expected_shape(new[0])]
    assert compact_shapes(api.ok("GET", f"images/{image}/rois", params={"format": "compact"}))[0]["coords"] == [
        0, 0, 5, 5]
    # A stale version is a conflict; bad shapes are a 400; neither changes anything.
    for kwargs in ({"json": {"name": "stale", "version": 2}}, {"json": {"name": "stale"}, "headers": {"If-Match": "1"}}):
        r = api.patch(f"rois/{roi}", **kwargs)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict"), r.text
    r = api.patch(f"rois/{roi}", json={"shapes": [{"type": "point", "x": 0}]})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("shapes.0.point.y"), r.text
    r = api.patch(f"rois/{roi}", json={"shapes": []})
    assert r.status_code == 400
    assert api.ok("GET", f"rois/{roi}") == {**replaced}


def test_delete_a_roi(api: Api) -> None:
    image = image_of(api)
    keep = draw(api, image, [{"type": "point", "x": 1, "y": 1}])
    roi = draw(api, image, [{"type": "point", "x": 2, "y": 2}] * 3)
    assert api.ok("DELETE", f"rois/{roi}") == {"deleted": {"roi": [roi]}}
    assert api.get(f"rois/{roi}").status_code == 404
    assert api.delete(f"rois/{roi}").status_code == 404
    assert api.ok("GET", f"images/{image}/rois", params={"format": "compact"})["total"] == 1
    assert api.ok("GET", f"images/{image}")["roi_count"] == 1
    assert api.ok("GET", f"rois/{keep}")["shape_count"] == 1


def test_missing_objects_are_404(api: Api) -> None:
    for method, path in (("GET", "images/999999999/rois"), ("POST", "images/999999999/rois"),
                         ("GET", "rois/999999999"), ("PATCH", "rois/999999999"), ("DELETE", "rois/999999999")):
        r = api.request(method, path, json={"shapes": [{"type": "point", "x": 0, "y": 0}]})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (method, path, r.text)


# ---- bulk -------------------------------------------------------------------------------------
def test_bulk_of_ten_thousand_shapes(api: Api) -> None:
    """10^4 cell outlines in one request (one ROI each), then found by viewport exactly as their boxes say."""
    image = image_of(api)
    rng = np.random.default_rng(7)
    centres = rng.uniform(0, 4000, size=(10_000, 2))
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    outlines = [np.round(np.stack([cx + 6 * np.cos(angles), cy + 6 * np.sin(angles)], axis=1), 3).tolist()
                for cx, cy in centres]
    body = {"rois": [{"name": f"cell {i}", "shapes": [{"type": "polygon", "points": pts}]}
                     for i, pts in enumerate(outlines)]}
    created = api.ok("POST", f"images/{image}/rois", 201, json=body)
    assert created["shape_count"] == 10_000 and len(created["ids"]) == 10_000
    assert api.ok("GET", f"images/{image}")["roi_count"] == 10_000
    whole = api.ok("GET", f"images/{image}/rois", params={"format": "compact", "limit": 100_000})
    assert whole["total"] == 10_000 and whole["shapes"]["roi"] == created["ids"]
    coords = np.array(whole["shapes"]["coords"]).reshape(10_000, 16)
    assert np.array_equal(coords, np.array(outlines).reshape(10_000, 16))
    # A viewport returns exactly the outlines whose bounding box meets it.
    boxes = np.array([[min(p[0] for p in o), min(p[1] for p in o), max(p[0] for p in o), max(p[1] for p in o)]
                      for o in outlines])
    x, y, w, h = 1000, 1500, 700, 400
    meets = (boxes[:, 0] <= x + w) & (boxes[:, 2] >= x) & (boxes[:, 1] <= y + h) & (boxes[:, 3] >= y)
    view = api.ok("GET", f"images/{image}/rois", params={"format": "compact", "viewport": f"{x},{y},{w},{h}"})
    assert view["shapes"]["roi"] == [created["ids"][i] for i in np.flatnonzero(meets)]
    assert view["total"] == meets.sum() > 100
    page = api.ok("GET", f"images/{image}/rois", params={"viewport": f"{x},{y},{w},{h}", "limit": 1000})
    assert page["total"] == meets.sum() and len(page["items"]) == meets.sum()


# ---- images: delete and move ------------------------------------------------------------------------
def test_deleting_an_image_deletes_its_rois(api: Api, engine: sa.Engine) -> None:
    team = make_team(api, "read-annotate")
    dataset = team.alice.ok("POST", "datasets", 201, json={"name": unique("d"), "group_id": team.group})["id"]
    image = image_of(team.alice, team.group, dataset_id=dataset)
    other = image_of(team.alice, team.group)
    hers = draw(team.alice, image, [{"type": "point", "x": 0, "y": 0}] * 2)
    his = draw(team.bob, image, [{"type": "point", "x": 1, "y": 1}])  # read-annotate: bob may draw on it
    stays = draw(team.alice, other, [{"type": "point", "x": 1, "y": 1}])
    dry = team.alice.ok("DELETE", f"datasets/{dataset}", params={"dry_run": 1})
    assert dry["deleted"]["roi"] == [hers, his] and team.alice.get(f"rois/{his}").status_code == 200
    report = team.alice.ok("DELETE", f"datasets/{dataset}")
    assert report["deleted"]["image"] == [image] and report["deleted"]["roi"] == [hers, his]
    for roi in (hers, his):
        assert team.alice.get(f"rois/{roi}").status_code == 404
    assert team.bob.get(f"rois/{his}").status_code == 404
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM shapes WHERE roi_id IN (:a, :b) OR image_id = :i"),
                            {"a": hers, "b": his, "i": image}).scalar_one()
    assert left == 0
    assert team.alice.ok("GET", f"rois/{stays}")["shape_count"] == 1


def test_moving_an_image_moves_its_rois(api: Api) -> None:
    team = make_team(api, "read-annotate")
    target = api.make_group("read-only")["id"]
    api.add_member(target, team.alice.act_as)
    image = image_of(team.alice, team.group)
    hers = draw(team.alice, image, [{"type": "point", "x": 0, "y": 0}])
    his = draw(team.bob, image, [{"type": "point", "x": 1, "y": 1}])
    api.ok("PATCH", f"images/{image}", json={"group_id": target})
    assert api.ok("GET", f"rois/{hers}")["group"]["id"] == target
    assert api.ok("GET", f"rois/{his}")["group"]["id"] == target
    # bob is not in the new group: the image and every ROI on it, his own included, are out of his sight.
    assert team.bob.get(f"images/{image}/rois").status_code == 404
    assert team.bob.get(f"rois/{his}").status_code == 404
    assert team.alice.ok("GET", f"images/{image}/rois")["total"] == 2


def test_lists_filter_rois_the_caller_may_not_see(api: Api) -> None:
    """A read-write group made private afterwards: alice still sees her image, but only her own ROIs on it."""
    team = make_team(api, "read-write")
    image = image_of(team.alice, team.group)
    hers = draw(team.alice, image, [{"type": "point", "x": 0, "y": 0}])
    draw(team.bob, image, [{"type": "point", "x": 1, "y": 1}] * 2)
    assert team.alice.ok("GET", f"images/{image}")["roi_count"] == 2
    api.ok("PATCH", f"groups/{team.group}", json={"level": "private"})
    full = team.alice.ok("GET", f"images/{image}/rois")
    assert full["total"] == 1 and [i["id"] for i in full["items"]] == [hers]
    compact = team.alice.ok("GET", f"images/{image}/rois", params={"format": "compact"})
    assert compact["total"] == 1 and compact["rois"]["id"] == [hers]
    assert team.alice.ok("GET", f"images/{image}")["roi_count"] == 1
    # The group owner still sees both.
    assert team.owner.ok("GET", f"images/{image}/rois", params={"format": "compact"})["total"] == 3


# ---- the permission matrix ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def people(api: Api) -> dict[str, Any]:
    """One group per level with the data's owner, another member and a group owner; an admin outside them; a
    member of some other group."""
    users = {a: api.make_user(unique(f"roi-{a}"), is_admin=a == "admin")["username"] for a in ACTORS}
    groups = {level: api.make_group(level)["id"] for level in LEVELS}
    for gid in groups.values():
        for actor, role in (("owner", "member"), ("member", "member"), ("group-owner", "owner")):
            api.add_member(gid, users[actor], role)
    api.add_member(api.make_group("read-write")["id"], users["non-member"])
    images = {level: image_of(api.as_user(users["owner"]), gid) for level, gid in groups.items()}
    return {"users": users, "groups": groups, "images": images}


def status_for(cell: str, allowed: int) -> int:
    return {YES: allowed, HIDDEN: 404}.get(cell, 403)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("level", LEVELS)
def test_permissions(api: Api, people: dict[str, Any], level: str, actor: str) -> None:
    """View, draw, edit and delete follow the matrix's view, annotate, edit and delete columns."""
    owner = api.as_user(people["users"]["owner"])
    them = api.as_user(people["users"][actor])
    image = people["images"][level]
    roi = draw(owner, image, [{"type": "point", "x": 0, "y": 0}], name=unique("theirs"))
    view, annotate = expected(level, actor, "view"), expected(level, actor, "annotate")
    edit, delete = expected(level, actor, "edit"), expected(level, actor, "delete")

    r = them.get(f"images/{image}/rois", params={"limit": 1000})
    assert r.status_code == status_for(view, 200), r.text
    r2 = them.get(f"images/{image}/rois", params={"format": "compact"})
    assert r2.status_code == r.status_code
    r3 = them.get(f"rois/{roi}")
    assert r3.status_code == r.status_code
    if view == YES:
        [item] = [i for i in r.json()["items"] if i["id"] == roi]
        assert item == r3.json()
        assert (item["can_edit"], item["can_delete"]) == (edit == YES, delete == YES)
        rois = r2.json()["rois"]
        k = rois["id"].index(roi)
        assert (rois["can_edit"][k], rois["can_delete"][k]) == (edit == YES, delete == YES)

    r = them.post(f"images/{image}/rois", json={"shapes": [{"type": "point", "x": 1, "y": 1}]})
    assert r.status_code == status_for(annotate, 201), r.text
    if r.status_code == 201:
        mine = them.ok("GET", f"rois/{r.json()['ids'][0]}")
        assert mine["owner"]["username"] == people["users"][actor] and mine["group"]["id"] == people["groups"][level]
        assert mine["can_edit"] and mine["can_delete"]

    r = them.patch(f"rois/{roi}", json={"name": "renamed"})
    assert r.status_code == status_for(edit, 200), r.text
    assert (owner.ok("GET", f"rois/{roi}")["name"] == "renamed") == (edit == YES)
    r = them.delete(f"rois/{roi}")
    assert r.status_code == status_for(delete, 200), r.text
    assert owner.get(f"rois/{roi}").status_code == (404 if delete == YES else 200)


def test_bbox_helper_matches_the_docs() -> None:
    """The test's own flat() follows docs/developer/rois.md (a check of the checker)."""
    assert flat({"type": "polygon", "points": [[1, 2], [3, 4], [5, 6]]}) == [1, 2, 3, 4, 5, 6]
    assert flat({"type": "ellipse", "x": 1, "y": 2, "radius_x": 3, "radius_y": 4}) == [1, 2, 3, 4]
    assert math.isclose(sum(flat(EVERY_TYPE[0])), 10.5 + 20.25 + 30 + 40)
