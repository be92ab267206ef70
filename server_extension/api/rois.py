"""ROIs: ``B/images/{id}/rois`` (list by plane and viewport, create one or many) and ``B/rois/{id}``."""

from __future__ import annotations

import math

from ..catalogue.errors import BadRequest
from ..catalogue.rois import DEFAULT_COMPACT_LIMIT, DEFAULT_LIMIT, MAX_COMPACT_LIMIT, MAX_LIMIT, RoiManager, ShapeQuery
from ..catalogue.shapes import COORD_LIMIT
from . import roi_schemas as r
from . import schemas as s
from .base import ScopehubHandler, operation, path_id

rois = RoiManager()
NUMBER = r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
PLANE_MAX = 2**31 - 1

LIST_QUERY = (
    ("z", {"type": "integer", "minimum": 0, "maximum": PLANE_MAX,
           "description": "Only shapes on this z-section (0-based) or on every z-section."}),
    ("t", {"type": "integer", "minimum": 0, "maximum": PLANE_MAX,
           "description": "Only shapes at this time point (0-based) or at every time point."}),
    ("c", {"type": "integer", "minimum": 0, "maximum": PLANE_MAX,
           "description": "Only shapes on this channel (0-based) or on every channel."}),
    ("viewport", {"type": "string", "pattern": f"^{NUMBER},{NUMBER},{NUMBER},{NUMBER}$",
                  "description": "x,y,width,height in full-resolution pixels: only shapes whose bounding box "
                                 "meets this rectangle (touching its edge counts)."}),
    ("owner", {"type": "integer", "minimum": 1, "description": "Only ROIs drawn by this user id."}),
    ("format", {"type": "string", "enum": ["full", "compact"], "default": "full",
                "description": "full: a page of ROIs with their shapes; compact: a page of shapes as parallel "
                               "arrays with flat coordinates, for viewers."}),
    "offset",
    ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_COMPACT_LIMIT,
               "description": f"ROIs per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}); with format=compact, "
                              f"shapes per page (default {DEFAULT_COMPACT_LIMIT}, at most {MAX_COMPACT_LIMIT})."}),
)


class ImageRoisHandler(ScopehubHandler):
    """``B/images/{id}/rois``."""

    @operation("List an image's ROIs, by plane and viewport", reply=r.RoiList, query=LIST_QUERY, errors=(404,))
    async def get(self, image_id: str) -> None:
        """A shape passes the plane filter when it is bound to that plane or to none. The full format pages
        ROIs (in id order), each with its shapes that pass the filters and its ``shape_count``; a ROI is
        listed when one of its shapes passes. The compact format pages shapes (in id order)."""
        query = self.shape_query()
        if self.get_query_argument("format", "full") == "compact":
            self.reply_json_text(await self.call(rois.compact, path_id(image_id), query))
            return
        page = await self.call(rois.list, path_id(image_id), query)
        self.reply(page.as_reply())

    @operation("Draw ROIs on an image: one, or many at once", body=r.RoiCreate, reply=r.RoisCreated, status=201,
               errors=(403, 404))
    async def post(self, image_id: str) -> None:
        """Drawing ROIs is annotating the image. z, t and c must lie within the image's sizes (when it has
        pixels). The new ROIs are yours, in the image's group."""
        many, bulk = self.body(r.RoiCreate).as_rois()
        self.reply(await self.call(rois.create, path_id(image_id), many, bulk), 201)

    def shape_query(self) -> ShapeQuery:
        fmt = self.get_query_argument("format", "full")
        if fmt not in ("full", "compact"):
            raise BadRequest("format must be full or compact")
        return ShapeQuery(
            z=self.int_arg("z", None, 0, PLANE_MAX), t=self.int_arg("t", None, 0, PLANE_MAX),
            c=self.int_arg("c", None, 0, PLANE_MAX), viewport=self.viewport(), owner=self.int_arg("owner", None, 1),
            offset=self.int_arg("offset", 0, 0, 2**62), limit=self.int_arg("limit", None, 0, 2**62))

    def viewport(self) -> tuple[float, float, float, float] | None:
        text = self.get_query_argument("viewport", None)
        if not text:
            return None
        try:
            x, y, w, h = (float(v) for v in text.split(","))
        except ValueError:
            raise BadRequest("viewport must be x,y,width,height (numbers)") from None
        if not all(math.isfinite(v) and abs(v) <= 2 * COORD_LIMIT for v in (x, y, w, h)):
            raise BadRequest(f"viewport numbers must be finite and at most {2 * COORD_LIMIT:.0f} in size")
        if w < 0 or h < 0:
            raise BadRequest("viewport width and height must not be negative")
        return x, y, w, h


class RoiHandler(ScopehubHandler):
    """``B/rois/{id}``."""

    @operation("Get a ROI with all its shapes", reply=r.RoiOut, errors=(404,))
    async def get(self, roi_id: str) -> None:
        self.reply(await self.call(rois.get, path_id(roi_id)))

    @operation("Rename a ROI or replace its shapes", body=r.RoiUpdate, reply=r.RoiOut, errors=(403, 404, 409))
    async def patch(self, roi_id: str) -> None:
        body = self.body(r.RoiUpdate)
        fields = {k: getattr(body, k) for k in body.model_fields_set if getattr(body, k) is not None}
        version = self.expected_version(fields)
        self.reply(await self.call(rois.update, path_id(roi_id), fields, version))

    @operation("Delete a ROI and its shapes", reply=s.DeleteReport, errors=(403, 404))
    async def delete(self, roi_id: str) -> None:
        self.reply(await self.call(rois.delete, path_id(roi_id)))


def roi_handlers() -> list[tuple[str, type]]:
    return [(r"images/(\d+)/rois", ImageRoisHandler), (r"rois/(\d+)", RoiHandler)]
