"""ROI shapes between Python, the Viewer's front-end and the API.

A shape is a dict in OMERO's geometry, the same in all three places::

    {"type": "rectangle", "x": 10, "y": 20, "width": 30, "height": 40, "z": 0, "t": 0}
    {"type": "ellipse", "x": 50, "y": 50, "radius_x": 8, "radius_y": 5}      # centre and radii
    {"type": "point", "x": 3, "y": 4}
    {"type": "polygon", "points": [[0, 0], [10, 0], [5, 8]]}                 # also "polyline"
    {"type": "line", "x1": 0, "y1": 0, "x2": 10, "y2": 10}

``z`` and ``t`` (0-based) bind a shape to a plane; left out or None, it shows on every plane.
``stroke`` (``"#RRGGBB"``), ``id`` and ``text`` are optional. ``pack`` turns many shapes into the
columns the front-end draws from (six binary buffers instead of 10^5 JSON objects), and
``roi_payload`` is what ``POST B/images/{id}/rois`` is sent for one drawn shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

KINDS = ("rectangle", "ellipse", "point", "polygon", "polyline", "line")
GEOMETRY = {
    "rectangle": ("x", "y", "width", "height"),
    "ellipse": ("x", "y", "radius_x", "radius_y"),
    "point": ("x", "y"),
    "line": ("x1", "y1", "x2", "y2"),
}


def as_shape(value: Any) -> dict[str, Any]:
    """A shape dict from a dict, or an object with ``to_dict()`` or attributes (the client's shapes)."""
    if isinstance(value, Mapping):
        shape = dict(value)
    elif hasattr(value, "to_dict"):
        shape = dict(value.to_dict())
    elif hasattr(value, "__dict__"):
        shape = {k: v for k, v in vars(value).items() if not k.startswith("_")}
    else:
        raise TypeError(f"not a shape: {value!r}")
    kind = shape.get("type")
    if kind not in KINDS:
        raise ValueError(f"shape type must be one of {', '.join(KINDS)}, not {kind!r}")
    for name in GEOMETRY.get(kind, ()):
        if not isinstance(shape.get(name), (int, float)) or isinstance(shape.get(name), bool):
            raise ValueError(f"a {kind} needs a number {name!r}: {shape!r}")
    if kind in ("polygon", "polyline"):
        points = shape.get("points")
        if not points or any(len(p) != 2 for p in points):
            raise ValueError(f"a {kind} needs points [[x, y], ...]: {shape!r}")
    return shape


def flatten(values: Iterable[Any]) -> list[dict[str, Any]]:
    """Shapes from shapes (dicts, the client's ``Rectangle`` ...), or from ROIs that hold ``shapes``
    (as the API answers, or the client's ``Roi``s, e.g. ``image.rois(z=0)``)."""
    out: list[dict[str, Any]] = []
    for value in values:
        if isinstance(value, Mapping) and "shapes" in value and "type" not in value:
            for shape in value["shapes"]:
                out.append({"roi_id": value.get("id"), **as_shape(shape)})
        elif not isinstance(value, Mapping) and hasattr(value, "shapes") and not hasattr(value, "to_dict"):
            for shape in value.shapes:
                out.append({"roi_id": getattr(value, "id", None), **as_shape(shape)})
        else:
            out.append(as_shape(value))
    return out


def pack(shapes: list[dict[str, Any]], color: str = "#00E5FF") -> tuple[dict[str, Any], list[bytes]]:
    """The front-end's columns: kind u8, z i32, t i32, style u16, start u32 (n + 1), coords f32."""
    n = len(shapes)
    kind = np.empty(n, np.uint8)
    z = np.empty(n, np.int32)
    t = np.empty(n, np.int32)
    style = np.empty(n, np.uint16)
    start = np.empty(n + 1, np.uint32)
    styles: dict[str, int] = {}
    coords: list[float] = []
    ids: list[Any] = []
    for i, shape in enumerate(shapes):
        k = shape["type"]
        kind[i] = KINDS.index(k)
        z[i] = -1 if shape.get("z") is None else int(shape["z"])
        t[i] = -1 if shape.get("t") is None else int(shape["t"])
        stroke = shape.get("stroke") or _css_colour(shape.get("stroke_color")) or color
        style[i] = styles.setdefault(stroke, len(styles))
        start[i] = len(coords)
        if k in GEOMETRY:
            coords.extend(float(shape[name]) for name in GEOMETRY[k])
        else:
            for x, y in shape["points"]:
                coords.extend((float(x), float(y)))
        ids.append(shape.get("id", i))
    start[n] = len(coords)
    if len(styles) > 65535:
        raise ValueError("at most 65535 distinct stroke colours")
    header = {"count": n, "styles": list(styles), "ids": ids}
    buffers = [a.tobytes() for a in (kind, z, t, style, start, np.asarray(coords, np.float32))]
    return header, buffers


def _css_colour(rrggbbaa: Any) -> str | None:
    """The API's ``RRGGBBAA`` as ``#RRGGBB`` (the overlay draws strokes opaque)."""
    if isinstance(rrggbbaa, str) and len(rrggbbaa) == 8:
        return "#" + rrggbbaa[:6].upper()
    return None


def unpack(header: Mapping[str, Any], buffers: list[bytes]) -> list[dict[str, Any]]:
    """``pack`` undone (for tests and for reading back what a Viewer shows)."""
    kind, z, t, style, start, coords = (np.frombuffer(b, d) for b, d in zip(
        buffers, (np.uint8, np.int32, np.int32, np.uint16, np.uint32, np.float32), strict=True))
    out = []
    for i in range(int(header["count"])):
        k = KINDS[kind[i]]
        c = coords[start[i]:start[i + 1]].tolist()
        shape: dict[str, Any] = {"id": header["ids"][i], "type": k}
        if k in GEOMETRY:
            shape.update(zip(GEOMETRY[k], c, strict=True))
        else:
            shape["points"] = [[c[j], c[j + 1]] for j in range(0, len(c), 2)]
        shape["z"] = None if z[i] < 0 else int(z[i])
        shape["t"] = None if t[i] < 0 else int(t[i])
        shape["stroke"] = header["styles"][style[i]]
        out.append(shape)
    return out


def roi_payload(shape: Mapping[str, Any]) -> dict[str, Any]:
    """One ROI holding one drawn shape, as ``POST B/images/{id}/rois`` takes it (alone, or many in
    ``{"rois": [...]}``; the front-end's ``roiPayload`` makes the same): the geometry, the plane, and
    the label text if any."""
    keep = ("type", *GEOMETRY.get(shape["type"], ()), "points", "text")
    body = {k: shape[k] for k in keep if shape.get(k) is not None}
    body["z"] = shape.get("z")
    body["t"] = shape.get("t")
    return {"shapes": [body]}
