"""Request and reply bodies of the ROI routes.

Shapes are ``TypedDict``s, not models: pydantic validates 10^5 of them into plain dicts in about half
the time it takes to build and dump models, and the catalogue takes dicts. Each type's geometry is
OMERO's, in full-resolution pixels (``docs/developer/rois.md``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, model_validator, with_config
from typing_extensions import NotRequired, TypedDict

from ..catalogue.models import NAME_LENGTH
from ..catalogue.shapes import (
    COORD_LIMIT,
    MAX_MASK_PIXELS,
    MAX_POINTS_PER_SHAPE,
    MAX_SHAPES_PER_REQUEST,
    MAX_TEXT,
)
from . import schemas as s

STRICT = ConfigDict(extra="forbid", strict=True)
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL

Coord = Annotated[float, Field(ge=-COORD_LIMIT, le=COORD_LIMIT, allow_inf_nan=False)]
Size = Annotated[float, Field(ge=0, le=2 * COORD_LIMIT, allow_inf_nan=False)]
Point = tuple[Coord, Coord]
Plane = Annotated[int, Field(ge=0, le=2**31 - 1)]
Color = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{8}$")]
ShapeText = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=NO_NUL)]
RoiName = Annotated[str, StringConstraints(max_length=NAME_LENGTH, pattern=NO_NUL)]
RoiText = Annotated[str, StringConstraints(max_length=100_000, pattern=NO_NUL)]
MaskSide = Annotated[int, Field(ge=1, le=MAX_MASK_PIXELS)]
Base64 = Annotated[str, StringConstraints(max_length=4 * (MAX_MASK_PIXELS // 8 // 3 + 1),
                                          pattern=r"^[A-Za-z0-9+/]*={0,2}$")]


# ---- geometry, shared by requests and replies -------------------------------------------------
class RectangleGeometry(TypedDict):
    x: Annotated[Coord, Field(description="Left edge.")]
    y: Annotated[Coord, Field(description="Top edge.")]
    width: Size
    height: Size


class EllipseGeometry(TypedDict):
    x: Annotated[Coord, Field(description="Centre.")]
    y: Annotated[Coord, Field(description="Centre.")]
    radius_x: Size
    radius_y: Size


class PointGeometry(TypedDict):
    x: Coord
    y: Coord


class LineGeometry(TypedDict):
    x1: Coord
    y1: Coord
    x2: Coord
    y2: Coord


class PolylineGeometry(TypedDict):
    points: Annotated[list[Point], Field(min_length=2, max_length=MAX_POINTS_PER_SHAPE, description="[[x, y], ...]")]


class PolygonGeometry(TypedDict):
    points: Annotated[list[Point], Field(min_length=3, max_length=MAX_POINTS_PER_SHAPE,
                                         description="[[x, y], ...]; closed, the last point joins the first.")]


class MaskGeometry(TypedDict):
    x: Annotated[Coord, Field(description="Left edge of the mask's first pixel.")]
    y: Annotated[Coord, Field(description="Top edge of the mask's first pixel.")]
    width: Annotated[MaskSide, Field(description="Pixels per row.")]
    height: Annotated[MaskSide, Field(description="Rows.")]
    bits: Annotated[Base64, Field(description="base64 of numpy.packbits of the row-major bool mask (height x width): "
                                              "exactly ceil(width * height / 8) bytes, spare bits 0.")]


# ---- requests -------------------------------------------------------------------------------
class ShapeStyleIn(TypedDict):
    z: NotRequired[Annotated[Plane | None, Field(description="Z-section, 0-based; absent or null: every one.")]]
    t: NotRequired[Annotated[Plane | None, Field(description="Time point, 0-based; absent or null: every one.")]]
    c: NotRequired[Annotated[Plane | None, Field(description="Channel, 0-based; absent or null: every one.")]]
    stroke_color: NotRequired[Annotated[Color, Field(description="RRGGBBAA; default FFFF00FF (yellow).")]]
    fill_color: NotRequired[Annotated[Color, Field(description="RRGGBBAA; default 00000000 (none).")]]
    stroke_width: NotRequired[Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False,
                                                     description="Pixels on screen; default 1.")]]
    text: NotRequired[Annotated[ShapeText, Field(description="Shown beside the shape; a label's text (required).")]]
    font_size: NotRequired[Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] | None]


@with_config(STRICT)
class RectangleIn(ShapeStyleIn, RectangleGeometry):
    type: Literal["rectangle"]


@with_config(STRICT)
class EllipseIn(ShapeStyleIn, EllipseGeometry):
    type: Literal["ellipse"]


@with_config(STRICT)
class PointIn(ShapeStyleIn, PointGeometry):
    type: Literal["point"]


@with_config(STRICT)
class LineIn(ShapeStyleIn, LineGeometry):
    type: Literal["line"]


@with_config(STRICT)
class PolylineIn(ShapeStyleIn, PolylineGeometry):
    type: Literal["polyline"]


@with_config(STRICT)
class PolygonIn(ShapeStyleIn, PolygonGeometry):
    type: Literal["polygon"]


@with_config(STRICT)
class LabelIn(ShapeStyleIn, PointGeometry):
    type: Literal["label"]


@with_config(STRICT)
class MaskIn(ShapeStyleIn, MaskGeometry):
    type: Literal["mask"]


ShapeIn = Annotated[RectangleIn | EllipseIn | PointIn | LineIn | PolylineIn | PolygonIn | LabelIn | MaskIn,
                    Field(discriminator="type")]
Shapes = Annotated[list[ShapeIn], Field(min_length=1, max_length=MAX_SHAPES_PER_REQUEST)]


@with_config(STRICT)
class RoiIn(TypedDict):
    name: NotRequired[RoiName]
    description: NotRequired[RoiText]
    shapes: Shapes


class RoiCreate(s.Request):
    """One ROI (``name``, ``description``, ``shapes``), or many as ``{"rois": [...]}``."""

    name: RoiName | None = None
    description: RoiText | None = None
    shapes: Shapes | None = Field(None, description=f"At most {MAX_SHAPES_PER_REQUEST} per request, "
                                                    "all ROIs together.")
    rois: Annotated[list[RoiIn], Field(min_length=1, max_length=MAX_SHAPES_PER_REQUEST)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> RoiCreate:
        if self.rois is None and self.shapes is None:
            raise ValueError("send a ROI's shapes, or ROIs as rois: [...]")
        if self.rois is not None and {"name", "description", "shapes"} & self.model_fields_set:
            raise ValueError("send either one ROI (name, description, shapes) or rois: [...], not both")
        return self

    def as_rois(self) -> tuple[list[RoiIn], bool]:
        """The ROIs to create, and whether they came as a bulk ``rois`` list."""
        if self.rois is not None:
            return self.rois, True
        return [{"name": self.name or "", "description": self.description or "", "shapes": self.shapes}], False


class RoiUpdate(s.Request):
    """Fields left out stay as they are; ``shapes`` replaces all of the ROI's shapes."""

    name: RoiName | None = None
    description: RoiText | None = None
    shapes: Shapes | None = None
    version: s.Version | None = None


# ---- replies --------------------------------------------------------------------------------
class ShapeStyleOut(TypedDict):
    id: int
    z: int | None
    t: int | None
    c: int | None
    stroke_color: str
    fill_color: str
    stroke_width: float
    text: str
    font_size: float | None


class RectangleOut(ShapeStyleOut, RectangleGeometry):
    type: Literal["rectangle"]


class EllipseOut(ShapeStyleOut, EllipseGeometry):
    type: Literal["ellipse"]


class PointOut(ShapeStyleOut, PointGeometry):
    type: Literal["point"]


class LineOut(ShapeStyleOut, LineGeometry):
    type: Literal["line"]


class PolylineOut(ShapeStyleOut, PolylineGeometry):
    type: Literal["polyline"]


class PolygonOut(ShapeStyleOut, PolygonGeometry):
    type: Literal["polygon"]


class LabelOut(ShapeStyleOut, PointGeometry):
    type: Literal["label"]


class MaskOut(ShapeStyleOut, MaskGeometry):
    type: Literal["mask"]


ShapeOut = Annotated[RectangleOut | EllipseOut | PointOut | LineOut | PolylineOut | PolygonOut | LabelOut | MaskOut,
                     Field(discriminator="type")]


class RoiOut(BaseModel):
    id: int
    image_id: int
    owner: s.OwnerRef
    group: s.GroupRef
    created: str
    modified: str
    version: int
    name: str
    description: str
    can_edit: bool
    can_delete: bool
    shape_count: int = Field(description="All of the ROI's shapes.")
    shapes: list[ShapeOut] = Field(description="Its shapes (in a list: those that pass the plane and viewport "
                                               "filters), in the order they were sent.")


RoiPage = s.page_of(RoiOut)


class CompactShapes(BaseModel):
    """Parallel arrays, one entry per shape; ``offsets`` has one more (where the next shape would start)."""

    id: list[int]
    roi: list[int] = Field(description="The ROI of each shape.")
    type: list[Literal["rectangle", "ellipse", "point", "line", "polyline", "polygon", "mask", "label"]]
    z: list[int | None]
    t: list[int | None]
    c: list[int | None]
    stroke_color: list[str]
    fill_color: list[str]
    stroke_width: list[float]
    text: list[str]
    font_size: list[float | None]
    bits: list[str | None] = Field(description="A mask's bits (base64); null for other types.")
    offsets: list[int] = Field(description="Shape i's numbers are coords[offsets[i]:offsets[i + 1]].")
    coords: list[float] = Field(description="Every shape's numbers, flat, as stored (docs/developer/rois.md).")


class CompactRois(BaseModel):
    """The ROIs of the page's shapes, as parallel arrays."""

    id: list[int]
    name: list[str]
    owner_id: list[int]
    version: list[int]
    can_edit: list[bool]
    can_delete: list[bool]


class CompactRoiPage(BaseModel):
    """``format=compact``: a page of shapes (not ROIs); ``total`` counts every matching shape."""

    offset: int
    limit: int
    total: int
    shapes: CompactShapes
    rois: CompactRois


class RoiList(RootModel[RoiPage | CompactRoiPage]):  # type: ignore[valid-type]
    """A page of ROIs with their shapes, or (``format=compact``) a page of shapes as parallel arrays."""


class RoisCreated(BaseModel):
    ids: list[int] = Field(description="The new ROIs' ids, in the order sent.")
    shape_count: int
