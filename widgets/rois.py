"""ROIs from Python: shapes as small classes, ROIs listed by plane and region, drawn in bulk, from label images.

``image.rois(z=0, region=(x, y, w, h))`` is a lazy list of :class:`Roi` (``.to_pandas()``);
``image.add_rois([Rectangle(10, 10, 50, 40), Polygon([(0, 0), (9, 0), (5, 7)], z=2), ...])`` draws
many at once (one request, one transaction, per batch of up to :data:`BATCH_SHAPES` shapes);
``image.add_labels(labels)`` makes one ROI per label of a segmentation, each a :class:`Mask` over the
label's bounding box. Coordinates are full-resolution pixels, x to the right and y down from the
top-left corner of the image (``docs/user/rois.md``).
"""

from __future__ import annotations

import base64
import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .paging import PagedList

if TYPE_CHECKING:

    from .client import Hub
    from .objects import Image

# Per request: the server takes at most 10^5 shapes and 2 x 10^6 polygon points, and a few hundred MB of JSON.
BATCH_SHAPES = 50_000
BATCH_POINTS = 1_000_000
BATCH_MASK_BYTES = 32 << 20
ROI_PAGE = 500  # ROIs per request when listing (the API allows 1000)

STYLE_FIELDS = ("z", "t", "c", "stroke_color", "fill_color", "stroke_width", "text", "font_size")


def color(value: str | Sequence[int] | None) -> str | None:
    """``RRGGBBAA`` from ``"#RRGGBB"``, ``"RRGGBBAA"`` or an (r, g, b[, a]) tuple of 0-255."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.removeprefix("#")
        if len(text) == 6:
            text += "FF"
        return text.upper()
    parts = [int(v) for v in value]
    if len(parts) == 3:
        parts.append(255)
    if len(parts) != 4 or not all(0 <= v <= 255 for v in parts):
        raise ValueError(f"a colour is (r, g, b) or (r, g, b, a), each 0 to 255, not {tuple(value)!r}")
    return "".join(f"{v:02X}" for v in parts)


@dataclasses.dataclass(kw_only=True)
class Shape:
    """What every shape has: the plane it is bound to (None: every z, t or c), colours and text.

    Colours are ``RRGGBBAA`` (``"#RRGGBB"`` and (r, g, b[, a]) tuples are accepted); left out, the
    server draws a 1-pixel yellow outline and no fill.
    """

    type: ClassVar[str] = ""
    z: int | None = None
    t: int | None = None
    c: int | None = None
    stroke_color: str | Sequence[int] | None = None
    fill_color: str | Sequence[int] | None = None
    stroke_width: float | None = None
    text: str | None = None
    font_size: float | None = None
    id: int | None = None  # the server's id, for shapes read back

    def geometry(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The shape as the API takes it (fields left as None are left out)."""
        body: dict[str, Any] = {"type": self.type, **self.geometry()}
        numbers = [(k, v) for k, v in body.items() if isinstance(v, float)]
        numbers += [("points", v) for point in body.get("points", ()) for v in point]
        for name, value in numbers:
            if not math.isfinite(value):  # JSON has no NaN or infinity: say which number, before sending
                raise ValueError(f"{self.type}.{name}: {value} is not a finite number")
        for name in STYLE_FIELDS:
            value = getattr(self, name)
            if name in ("stroke_color", "fill_color"):
                value = color(value)
            if value is not None:
                body[name] = value
        return body

    def bounds(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max)."""
        xs, ys = zip(*self.points_for_bounds(), strict=True)
        return min(xs), min(ys), max(xs), max(ys)

    def points_for_bounds(self) -> list[tuple[float, float]]:
        raise NotImplementedError


@dataclasses.dataclass
class Rectangle(Shape):
    type: ClassVar[str] = "rectangle"
    x: float
    y: float
    width: float
    height: float

    def geometry(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    def points_for_bounds(self) -> list[tuple[float, float]]:
        return [(self.x, self.y), (self.x + self.width, self.y + self.height)]


@dataclasses.dataclass
class Ellipse(Shape):
    """Centre (x, y) and radii."""

    type: ClassVar[str] = "ellipse"
    x: float
    y: float
    radius_x: float
    radius_y: float

    def geometry(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "radius_x": self.radius_x, "radius_y": self.radius_y}

    def points_for_bounds(self) -> list[tuple[float, float]]:
        return [(self.x - self.radius_x, self.y - self.radius_y), (self.x + self.radius_x, self.y + self.radius_y)]


@dataclasses.dataclass
class Point(Shape):
    type: ClassVar[str] = "point"
    x: float
    y: float

    def geometry(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}

    def points_for_bounds(self) -> list[tuple[float, float]]:
        return [(self.x, self.y)]


@dataclasses.dataclass
class Label(Shape):
    """Text at (x, y); ``text`` is required."""

    type: ClassVar[str] = "label"
    x: float
    y: float

    def geometry(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}

    def points_for_bounds(self) -> list[tuple[float, float]]:
        return [(self.x, self.y)]


@dataclasses.dataclass
class Line(Shape):
    type: ClassVar[str] = "line"
    x1: float
    y1: float
    x2: float
    y2: float

    def geometry(self) -> dict[str, Any]:
        return {"x1": self.x1, "y1": self.y1, "x2": self.x2, "y2": self.y2}

    def points_for_bounds(self) -> list[tuple[float, float]]:
        return [(self.x1, self.y1), (self.x2, self.y2)]


@dataclasses.dataclass
class Polyline(Shape):
    """Points (x, y), in order: a list of pairs or an (n, 2) array."""

    type: ClassVar[str] = "polyline"
    points: Any

    def geometry(self) -> dict[str, Any]:
        return {"points": [[float(x), float(y)] for x, y in self.points]}

    def points_for_bounds(self) -> list[tuple[float, float]]:
        return [(float(x), float(y)) for x, y in self.points]


@dataclasses.dataclass
class Polygon(Polyline):
    """A closed polyline: the last point joins the first (at least 3 points)."""

    type: ClassVar[str] = "polygon"


@dataclasses.dataclass
class Mask(Shape):
    """A 2-D boolean array placed with its top-left pixel at (x, y)."""

    type: ClassVar[str] = "mask"
    mask: Any
    x: float = 0
    y: float = 0

    def __post_init__(self) -> None:
        import numpy as np

        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.ndim != 2 or 0 in self.mask.shape:
            raise ValueError(f"a mask is a non-empty 2-D array, not one of shape {self.mask.shape}")

    def geometry(self) -> dict[str, Any]:
        import numpy as np

        height, width = self.mask.shape
        return {"x": self.x, "y": self.y, "width": width, "height": height,
                "bits": base64.b64encode(np.packbits(self.mask).tobytes()).decode("ascii")}

    def points_for_bounds(self) -> list[tuple[float, float]]:
        height, width = self.mask.shape
        return [(self.x, self.y), (self.x + width, self.y + height)]


SHAPES: dict[str, type[Shape]] = {cls.type: cls for cls in (Rectangle, Ellipse, Point, Label, Line, Polyline, Polygon,
                                                            Mask)}


def shape_from(data: dict[str, Any]) -> Shape:
    """The shape object for the API's JSON form of a shape."""
    kind = data["type"]
    style = {name: data.get(name) for name in (*STYLE_FIELDS, "id")}
    if kind == "mask":
        import numpy as np

        width, height = int(data["width"]), int(data["height"])
        bits = np.frombuffer(base64.b64decode(data["bits"]), dtype=np.uint8)
        mask = np.unpackbits(bits, count=width * height).reshape(height, width).astype(bool)
        return Mask(mask, x=data["x"], y=data["y"], **style)
    if kind in ("polyline", "polygon"):
        return SHAPES[kind]([tuple(p) for p in data["points"]], **style)
    cls = SHAPES[kind]
    names = [f.name for f in dataclasses.fields(cls) if f.name not in (*STYLE_FIELDS, "id")]
    return cls(*(data[n] for n in names), **style)


def shape_dict(shape: Shape | dict[str, Any]) -> dict[str, Any]:
    if isinstance(shape, Shape):
        return shape.to_dict()
    if isinstance(shape, dict) and "type" in shape:
        return dict(shape)
    raise TypeError(f"a shape is a scopehub shape (Rectangle, Polygon, ...) or a dict with a type, not {shape!r}")


def roi_dict(item: Any) -> dict[str, Any]:
    """One ROI to create, from a shape, a list of shapes, or ``{"name", "description", "shapes"}``."""
    if isinstance(item, Shape) or (isinstance(item, dict) and "type" in item):
        return {"shapes": [shape_dict(item)]}
    if isinstance(item, dict):
        if "shapes" not in item:
            raise TypeError(f"a ROI is a dict with shapes (and a name, a description), not {item!r}")
        return {**{k: v for k, v in item.items() if k != "shapes"}, "shapes": [shape_dict(s) for s in item["shapes"]]}
    if isinstance(item, (list, tuple)):
        return {"shapes": [shape_dict(s) for s in item]}
    raise TypeError(f"a ROI is a shape, a list of shapes or a dict with shapes, not {item!r}")


class Roi:
    """A ROI: its name, owner, and shapes (``.shapes``; from a filtered list, only those that passed)."""

    def __init__(self, hub: Hub, data: dict[str, Any]):
        self._hub = hub
        self.data = data

    @property
    def id(self) -> int:
        return self.data["id"]

    @property
    def image_id(self) -> int:
        return self.data["image_id"]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def description(self) -> str:
        return self.data["description"]

    @property
    def owner(self) -> str:
        return self.data["owner"]["username"]

    @property
    def shape_count(self) -> int:
        """All of its shapes, including those a plane or region filter left out of ``shapes``."""
        return self.data["shape_count"]

    @property
    def shapes(self) -> list[Shape]:
        return [shape_from(s) for s in self.data["shapes"]]

    @property
    def can_edit(self) -> bool:
        return bool(self.data.get("can_edit"))

    @property
    def can_delete(self) -> bool:
        return bool(self.data.get("can_delete"))

    def refresh(self) -> Roi:
        self.data = self._hub.http.get(f"rois/{self.id}")
        return self

    def update(self, *, name: str | None = None, description: str | None = None,
               shapes: Iterable[Shape | dict[str, Any]] | None = None) -> Roi:
        """Rename it, or replace all its shapes; a change someone made since you read it is a ``Conflict``."""
        body: dict[str, Any] = {"version": self.data["version"]}
        if name is not None:
            body["name"] = name
        if description is not None:
            body["description"] = description
        if shapes is not None:
            body["shapes"] = [shape_dict(s) for s in shapes]
        self.data = self._hub.http.json("PATCH", f"rois/{self.id}", json=body)
        return self

    def delete(self) -> None:
        self._hub.http.request("DELETE", f"rois/{self.id}")

    def row(self) -> dict[str, Any]:
        """id, name, owner, shape count and types, planes, and the bounding box of the listed shapes."""
        shapes = self.shapes
        row: dict[str, Any] = {"id": self.id, "image": self.image_id, "name": self.name, "owner": self.owner,
                               "shapes": self.shape_count, "types": ",".join(sorted({s.type for s in shapes}))}
        for plane in ("z", "t", "c"):
            values = {getattr(s, plane) for s in shapes}
            row[plane] = values.pop() if len(values) == 1 else None
        boxes = [s.bounds() for s in shapes]
        row.update(zip(("x_min", "y_min", "x_max", "y_max"),
                       (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                        max(b[3] for b in boxes)) if boxes else (math.nan,) * 4, strict=True))
        return row

    def __repr__(self) -> str:
        return f"<Roi {self.id} {self.name!r}: {self.shape_count} shape{'s' * (self.shape_count != 1)}>"


# ---- what Image does with them (hooked in objects.Image) ---------------------------------------
def list_rois(image: Image, *, z: int | None = None, t: int | None = None, c: int | None = None,
              region: tuple[float, float, float, float] | None = None, owner: int | str | None = None
              ) -> PagedList[Roi]:
    hub = image._hub
    if owner == "me":
        owner = hub.user_id
    viewport = None
    if region is not None:
        if len(region) != 4:
            raise ValueError(f"region is (x, y, width, height), not {region!r}")
        viewport = ",".join(repr(float(v)) for v in region)
    params = {"z": z, "t": t, "c": c, "viewport": viewport, "owner": owner}
    asked = {"z": z, "t": t, "c": c, "region": None if region is None else tuple(region), "owner": owner}
    where = ", ".join(f"{k}={v}" for k, v in asked.items() if v is not None)
    return PagedList(hub.http, f"images/{image.id}/rois", params, lambda item: Roi(hub, item), page_size=ROI_PAGE,
                     title=f"ROIs on image {image.id} ({image.name}){' where ' + where if where else ''}")


def _batches(rois: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """ROIs cut into requests the server accepts (a ROI is never split)."""
    out: list[list[dict[str, Any]]] = [[]]
    shapes = points = mask_bytes = 0
    for roi in rois:
        n = len(roi["shapes"])
        p = sum(len(s.get("points", ())) for s in roi["shapes"])
        b = sum(len(s.get("bits", "")) for s in roi["shapes"])
        if out[-1] and (shapes + n > BATCH_SHAPES or points + p > BATCH_POINTS or mask_bytes + b > BATCH_MASK_BYTES):
            out.append([])
            shapes = points = mask_bytes = 0
        out[-1].append(roi)
        shapes, points, mask_bytes = shapes + n, points + p, mask_bytes + b
    return out


def add_rois(image: Image, rois: Iterable[Any]) -> list[int]:
    """Create ROIs on ``image``; their ids, in order. All or nothing.

    Each item is a shape (one ROI of one shape), a list of shapes (one ROI), or a dict with
    ``shapes`` and optionally ``name`` and ``description``. Large lists go in batches of up to
    :data:`BATCH_SHAPES` shapes, each one transaction on the server; when a batch is refused, the
    batches already made are deleted again and the server's error is raised.
    """
    bodies = [roi_dict(item) for item in rois]
    if not bodies:
        return []
    import requests

    from .errors import BadRequest

    http = image._hub.http
    ids: list[int] = []
    try:
        for batch in _batches(bodies):
            try:
                ids += http.json("POST", f"images/{image.id}/rois", json={"rois": batch})["ids"]
            except requests.exceptions.InvalidJSONError:
                raise ValueError("the ROIs hold NaN or infinity: every number must be finite") from None
            except BadRequest as e:
                # The server counts ROIs within the batch; name the culprit by its place in ``rois``.
                done = len(ids)
                e.message = re.sub(r"^rois\.(\d+)\.", lambda m, done=done: f"rois.{done + int(m[1])}.", e.message)
                e.args = (e.message,)
                raise
    except BaseException:
        for roi_id in ids:  # undo the batches that went in, so that a refusal leaves nothing behind
            http.request("DELETE", f"rois/{roi_id}")
        raise
    return ids


def label_masks(labels: Any, *, background: int = 0) -> list[tuple[int, Mask]]:
    """(label, Mask over its bounding box) for every label of a 2-D integer array but ``background``.

    One pass over the array's labelled pixels (sorted by label), not one per label: a segmentation
    of 10^4 cells costs about as much as one of ten.
    """
    import numpy as np

    array = np.asarray(labels)
    if array.ndim != 2:
        raise ValueError(f"a label image is a 2-D array (y, x), not one of shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise ValueError(f"a label image holds integers, not {array.dtype}")
    ys, xs = np.nonzero(array != background)
    if len(ys) == 0:
        return []
    values = array[ys, xs]
    order = np.argsort(values, kind="stable")
    values, ys, xs = values[order], ys[order], xs[order]
    found, starts = np.unique(values, return_index=True)
    y0, y1 = np.minimum.reduceat(ys, starts), np.maximum.reduceat(ys, starts)
    x0, x1 = np.minimum.reduceat(xs, starts), np.maximum.reduceat(xs, starts)
    return [(int(v), Mask(array[a:b + 1, c:d + 1] == v, x=int(c), y=int(a)))
            for v, a, b, c, d in zip(found.tolist(), y0.tolist(), y1.tolist(), x0.tolist(), x1.tolist(), strict=True)]


def add_labels(image: Image, labels: Any, *, z: int | None = None, t: int | None = None, c: int | None = None,
               background: int = 0, name: str = "label {label}", stroke_color: Any = None, fill_color: Any = None
               ) -> dict[int, int]:
    """One ROI per label of a 2-D label array (a segmentation), as a mask over the label's bounding box.

    The array's pixel (row, column) is the image's pixel (y, x). Returns {label: ROI id}.
    """
    pairs = label_masks(labels, background=background)
    for _, mask in pairs:
        mask.z, mask.t, mask.c = z, t, c
        mask.stroke_color, mask.fill_color = stroke_color, fill_color
    ids = add_rois(image, [{"name": name.format(label=value), "shapes": [mask]} for value, mask in pairs])
    return dict(zip((value for value, _ in pairs), ids, strict=True))


def delete_rois(image: Image, rois: Iterable[Roi | int]) -> int:
    """Delete these ROIs of ``image`` (objects or ids); how many went."""
    http = image._hub.http
    n = 0
    for roi in rois:
        if isinstance(roi, Roi) and roi.image_id != image.id:
            raise ValueError(f"ROI {roi.id} is on image {roi.image_id}, not on image {image.id}")
        roi_id = roi.id if isinstance(roi, Roi) else int(roi)
        http.request("DELETE", f"rois/{roi_id}")
        n += 1
    return n
