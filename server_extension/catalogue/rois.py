"""ROIs: shapes drawn on an image, listed by plane and viewport, created in bulk.

Seeing an image's ROIs needs seeing the image (else 404); drawing them is annotating the image;
a ROI is its creator's, and editing or deleting it follows the matrix's edit and delete rules, as for
annotations. A ROI's group is its image's group. Shapes are written with ``COPY`` (one statement for
any number of them) and found by the GiST index on (image, bounding box); the compact list reply is
built as JSON text by PostgreSQL itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from . import models as m
from .containers import _iso, user_and_group_names
from .errors import BadRequest, Conflict, NotFound
from .permissions import Caller, PermissionPolicy
from .queries import Page, count
from .shapes import (
    DEFAULT_FILL,
    DEFAULT_STROKE,
    DEFAULT_STROKE_WIDTH,
    MAX_POINTS_PER_REQUEST,
    MAX_SHAPES_PER_REQUEST,
    PLANES,
    ShapeError,
    bounding_boxes,
    check_text,
    describe,
    flatten,
    float8_arrays,
    mask_bits,
)

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000  # ROIs per page of the full reply
DEFAULT_COMPACT_LIMIT, MAX_COMPACT_LIMIT = 10_000, 100_000  # shapes per page of the compact reply
COMPACT_WORK_MEM = "64MB"
PLANE_NOUNS = {"z": "z-sections", "t": "time points", "c": "channels"}

# The GiST index's two columns, written exactly as in ``ix_shapes_image_bbox`` (the planner matches
# an index expression only when the query spells it the same way, constants included).
IMAGE_SPAN = sa.func.int8range(m.Shape.image_id, m.Shape.image_id, sa.literal_column("'[]'"))
BBOX = sa.func.box(sa.func.point(m.Shape.x_min, m.Shape.y_min), sa.func.point(m.Shape.x_max, m.Shape.y_max))

SHAPE_COLUMNS = ("roi_id", "image_id", "type", "z", "t", "c", "coords", "bits", "stroke_color", "fill_color",
                 "stroke_width", "text", "font_size", "x_min", "y_min", "x_max", "y_max")
# coords travels already in float8[]'s binary format (shapes.float8_arrays), passed through as bytes.
SHAPE_TYPES_FOR_COPY = ("int8", "int8", "text", "int4", "int4", "int4", "bytea", "bytea", "text", "text",
                        "float8", "text", "float8", "float8", "float8", "float8", "float8")


@dataclass
class ShapeQuery:
    """What a list of an image's ROIs asks for: a plane, a viewport (x, y, width, height), an owner, a page."""

    z: int | None = None
    t: int | None = None
    c: int | None = None
    viewport: tuple[float, float, float, float] | None = None
    owner: int | None = None
    offset: int = 0
    limit: int | None = None  # None: the reply format's default

    @property
    def filters_shapes(self) -> bool:
        return self.viewport is not None or any(getattr(self, p) is not None for p in PLANES)


def on_image(image_id: int) -> sa.ColumnElement[bool]:
    return IMAGE_SPAN.op("&&")(sa.func.int8range(image_id, image_id, sa.literal_column("'[]'")))


def shape_filters(query: ShapeQuery) -> list[sa.ColumnElement[bool]]:
    """A shape bound to the asked plane or to none (unbound = every plane); a box that meets the viewport."""
    clauses: list[sa.ColumnElement[bool]] = []
    for plane in PLANES:
        value = getattr(query, plane)
        if value is not None:
            column = getattr(m.Shape, plane)
            clauses.append(sa.or_(column.is_(None), column == value))
    if query.viewport is not None:
        x, y, w, h = query.viewport
        clauses.append(BBOX.op("&&")(sa.func.box(sa.func.point(x, y), sa.func.point(x + w, y + h))))
    return clauses


@contextlib.contextmanager
def copy_rows(session: Session, table: str, columns: tuple[str, ...], types: tuple[str, ...]) -> Iterator[Any]:
    """``COPY table FROM STDIN`` in binary, on the session's own connection and inside its transaction."""
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(types))
        yield copy


def _key(name: str) -> sa.ColumnElement:
    """A constant key of json_build_object (a literal: a bound parameter's type would be unknown)."""
    return sa.literal_column(f"'{name}'")


class RoiManager:
    """ROIs and their shapes on the images the caller can see."""

    # ---- rows and permissions ------------------------------------------------------------
    def image_row(self, session: Session, policy: PermissionPolicy, image_id: int, action: str = "view") -> m.Image:
        image = session.get(m.Image, image_id)
        if image is None:
            raise NotFound(f"image {image_id} not found")
        policy.require(image, action)
        return image

    def roi_row(self, session: Session, policy: PermissionPolicy, roi_id: int, action: str = "view",
                lock: bool = False) -> tuple[m.Roi, m.Image]:
        """The ROI and its image; a ROI on an image the caller cannot see is not found either."""
        stmt = sa.select(m.Roi).where(m.Roi.id == roi_id)
        roi = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        image = session.get(m.Image, roi.image_id) if roi is not None else None
        if image is None or not policy.of(image.owner_id, image.group_id).can_view:
            raise NotFound(f"roi {roi_id} not found")
        policy.require(roi, action)
        return roi, image

    def _visible_rois(self, policy: PermissionPolicy, image: m.Image, owner: int | None) -> list[sa.ColumnElement]:
        """Conditions on ``rois`` for the ROIs of ``image`` the caller sees (and ``owner`` drew)."""
        clauses = [m.Roi.image_id == image.id, policy.visible(m.Roi)]
        if owner is not None:
            clauses.append(m.Roi.owner_id == owner)
        return clauses

    def _sees_every_roi(self, policy: PermissionPolicy, image: m.Image) -> bool:
        # Every ROI of an image is in the image's group: if the caller sees others' data there, they
        # see all of its ROIs, and the shape queries need not look at the rois table at all.
        return policy.caller.is_admin or image.group_id in policy.visible_groups

    # ---- reading -------------------------------------------------------------------------
    def describe(self, session: Session, policy: PermissionPolicy, rois: list[m.Roi],
                 shapes: dict[int, list[dict]], counts: dict[int, int]) -> list[dict[str, Any]]:
        users, groups = user_and_group_names(session, {r.owner_id for r in rois}, {r.group_id for r in rois})
        items = []
        for roi in rois:
            perms = policy.of(roi.owner_id, roi.group_id)
            items.append({
                "id": roi.id, "image_id": roi.image_id,
                "owner": {"id": roi.owner_id, "username": users.get(roi.owner_id, "")},
                "group": {"id": roi.group_id, "name": groups.get(roi.group_id, "")},
                "created": _iso(roi.created), "modified": _iso(roi.modified), "version": roi.version,
                "name": roi.name, "description": roi.description,
                "can_edit": perms.can_edit, "can_delete": perms.can_delete,
                "shape_count": counts.get(roi.id, 0), "shapes": shapes.get(roi.id, []),
            })
        return items

    def _shapes_of(self, session: Session, roi_ids: list[int], query: ShapeQuery | None = None
                   ) -> tuple[dict[int, list[dict]], dict[int, int]]:
        """The shapes of these ROIs (those passing the query's plane and viewport), and how many each has."""
        if not roi_ids:
            return {}, {}
        shapes: dict[int, list[dict]] = {}
        stmt = sa.select(m.Shape).where(m.Shape.roi_id.in_(roi_ids), *(shape_filters(query) if query else ()))
        for row in session.execute(stmt.order_by(m.Shape.id)).scalars():
            shapes.setdefault(row.roi_id, []).append(describe(row))
        counts = dict(session.execute(sa.select(m.Shape.roi_id, sa.func.count()).where(m.Shape.roi_id.in_(roi_ids))
                                      .group_by(m.Shape.roi_id)).tuples().all())
        return shapes, counts

    def list(self, session: Session, caller: Caller, image_id: int, query: ShapeQuery) -> Page:
        """A page of ROIs (by id), each with its shapes that pass the plane and viewport filters."""
        policy = PermissionPolicy(caller)
        image = self.image_row(session, policy, image_id)
        limit = DEFAULT_LIMIT if query.limit is None else query.limit
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT} ROIs")
        stmt = sa.select(m.Roi).where(*self._visible_rois(policy, image, query.owner))
        if query.filters_shapes:
            stmt = stmt.where(m.Roi.id.in_(sa.select(m.Shape.roi_id).where(on_image(image.id), *shape_filters(query))))
        total = count(session, stmt)
        rois = list(session.execute(stmt.order_by(m.Roi.id).offset(query.offset).limit(limit)).scalars())
        shapes, counts = self._shapes_of(session, [r.id for r in rois], query)
        return Page(self.describe(session, policy, rois, shapes, counts), query.offset, limit, total)

    def compact(self, session: Session, caller: Caller, image_id: int, query: ShapeQuery) -> str:
        """A page of shapes (by id) as parallel arrays, for viewers: the reply's JSON text, made by PostgreSQL."""
        stmt = self.compact_statement(session, caller, image_id, query)
        # The page is sorted with its coordinates: let a page of 10^5 shapes sort in memory, not on disk.
        session.execute(sa.text(f"SET LOCAL work_mem = '{COMPACT_WORK_MEM}'"))
        return session.execute(stmt).scalar_one()

    def compact_statement(self, session: Session, caller: Caller, image_id: int, query: ShapeQuery) -> sa.Select:
        """The one statement that answers :meth:`compact` (the benchmark explains it)."""
        policy = PermissionPolicy(caller)
        image = self.image_row(session, policy, image_id)
        limit = DEFAULT_COMPACT_LIMIT if query.limit is None else query.limit
        if not 1 <= limit <= MAX_COMPACT_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_COMPACT_LIMIT} shapes in the compact format")
        filters = [on_image(image.id), *shape_filters(query)]
        if query.owner is not None or not self._sees_every_roi(policy, image):
            filters.append(m.Shape.roi_id.in_(sa.select(m.Roi.id).where(
                *self._visible_rois(policy, image, query.owner))))
        s = m.Shape
        # count(*) OVER () is the total before the page is cut: no second scan of the index for it.
        page = (sa.select(s.id, s.roi_id, s.type, s.z, s.t, s.c, s.coords, s.bits, s.stroke_color, s.fill_color,
                          s.stroke_width, s.text, s.font_size, sa.func.count().over().label("total"))
                .where(*filters).order_by(s.id).offset(query.offset).limit(limit).cte("page"))
        size = sa.func.cardinality(page.c.coords)
        # Where each shape's numbers start in the flat coordinate list.
        placed = sa.select(*(c for c in page.c if c.name != "total"),
                           (sa.func.sum(size).over(order_by=page.c.id) - size).label("start"),
                           size.label("size")).subquery("placed")

        def agg(column: sa.ColumnElement) -> sa.ColumnElement:
            return sa.func.coalesce(sa.func.json_agg(aggregate_order_by(column, placed.c.id)),
                                    sa.literal_column("'[]'::json"))

        flat = sa.func.string_agg(sa.func.array_to_string(placed.c.coords, ","),
                                  aggregate_order_by(sa.literal_column("','"), placed.c.id))
        offsets = sa.func.array_append(sa.func.array_agg(aggregate_order_by(placed.c.start, placed.c.id)),
                                       sa.cast(sa.func.coalesce(sa.func.sum(placed.c.size), 0), sa.BigInteger))
        bits = sa.func.translate(sa.func.encode(placed.c.bits, "base64"), "\n", "")
        shapes = sa.select(sa.func.json_build_object(
            _key("id"), agg(placed.c.id), _key("roi"), agg(placed.c.roi_id), _key("type"), agg(placed.c.type),
            _key("z"), agg(placed.c.z), _key("t"), agg(placed.c.t), _key("c"), agg(placed.c.c),
            _key("stroke_color"), agg(placed.c.stroke_color), _key("fill_color"), agg(placed.c.fill_color),
            _key("stroke_width"), agg(placed.c.stroke_width), _key("text"), agg(placed.c.text),
            _key("font_size"), agg(placed.c.font_size), _key("bits"), agg(bits),
            _key("offsets"), sa.func.to_json(offsets),
            _key("coords"), sa.cast(sa.literal_column("'['", sa.Text) + sa.func.coalesce(flat, "")
                                    + sa.literal_column("']'", sa.Text), sa.JSON),
        )).select_from(placed).scalar_subquery()

        own = policy.of(caller.user_id, image.group_id)
        others = policy.of(-1, image.group_id)  # anyone else's ROI in the image's group

        def may(action: str) -> sa.ColumnElement:
            def flag(value: bool) -> sa.ColumnElement:
                return sa.true() if value else sa.false()

            return sa.case((m.Roi.owner_id == caller.user_id, flag(own.allows(action))),
                           else_=flag(others.allows(action)))

        r = m.Roi
        rois = sa.select(sa.func.json_build_object(
            _key("id"), self._rois_agg(r.id), _key("name"), self._rois_agg(r.name),
            _key("owner_id"), self._rois_agg(r.owner_id), _key("version"), self._rois_agg(r.version),
            _key("can_edit"), self._rois_agg(may("edit")), _key("can_delete"), self._rois_agg(may("delete")),
        )).where(r.id.in_(sa.select(page.c.roi_id))).scalar_subquery()
        # A page past the end has no rows to carry the total: only then count again (COALESCE stops early).
        total = sa.func.coalesce(sa.select(page.c.total).limit(1).scalar_subquery(),
                                 sa.select(sa.func.count()).select_from(m.Shape).where(*filters).scalar_subquery())
        return sa.select(sa.cast(sa.func.json_build_object(
            _key("offset"), query.offset, _key("limit"), limit, _key("total"), total,
            _key("shapes"), shapes, _key("rois"), rois), sa.Text))

    @staticmethod
    def _rois_agg(column: sa.ColumnElement) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.json_agg(aggregate_order_by(column, m.Roi.id)), sa.literal_column("'[]'::json"))

    def get(self, session: Session, caller: Caller, roi_id: int) -> dict:
        policy = PermissionPolicy(caller)
        roi, _image = self.roi_row(session, policy, roi_id)
        shapes, counts = self._shapes_of(session, [roi.id])
        return self.describe(session, policy, [roi], shapes, counts)[0]

    # ---- writing -------------------------------------------------------------------------
    def create(self, session: Session, caller: Caller, image_id: int, rois: list[dict[str, Any]],
               bulk: bool = True) -> dict[str, Any]:
        """Create ROIs (each ``{"name", "description", "shapes"}``) on an image; their ids, in order.

        ``bulk`` says whether the request named them as ``rois`` (else it sent one ROI's fields): it
        only changes how error messages name a field.
        """
        policy = PermissionPolicy(caller)
        image = self.image_row(session, policy, image_id, "annotate")
        policy.require_member(image.group_id)
        prefixes = [f"rois.{i}." if bulk else "" for i in range(len(rois))]
        self._check_sizes(rois, "rois" if bulk else "shapes")
        ids = sorted(session.execute(sa.text("SELECT nextval(pg_get_serial_sequence('rois', 'id')) "
                                             "FROM generate_series(1, :n)"), {"n": len(rois)}).scalars())
        with copy_rows(session, "rois", ("id", "image_id", "owner_id", "group_id", "name", "description", "version"),
                        ("int8", "int8", "int8", "int8", "text", "text", "int4")) as copy:
            for roi_id, roi in zip(ids, rois, strict=True):
                copy.write_row((roi_id, image.id, caller.user_id, image.group_id, roi.get("name", ""),
                                roi.get("description", ""), 1))
        shapes = self._write_shapes(session, image, ids, [r["shapes"] for r in rois], prefixes)
        return {"ids": ids, "shape_count": shapes}

    def update(self, session: Session, caller: Caller, roi_id: int, fields: dict[str, Any],
               expected_version: int | None = None) -> dict:
        """Change a ROI's name or description, or replace all of its shapes."""
        policy = PermissionPolicy(caller)
        roi, image = self.roi_row(session, policy, roi_id, "edit", lock=True)
        if expected_version is not None and expected_version != roi.version:
            raise Conflict(f"roi {roi_id} was changed by someone else (version {roi.version}, you sent "
                           f"{expected_version}); read it again")
        for key in ("name", "description"):
            if fields.get(key) is not None:
                setattr(roi, key, fields[key])
        if fields.get("shapes") is not None:
            self._check_sizes([fields], "shapes")
            session.execute(sa.delete(m.Shape).where(m.Shape.roi_id == roi.id))
            self._write_shapes(session, image, [roi.id], [fields["shapes"]], [""])
        roi.version += 1
        roi.modified = sa.func.now()
        session.flush()
        return self.get(session, caller, roi_id)

    def delete(self, session: Session, caller: Caller, roi_id: int) -> dict:
        policy = PermissionPolicy(caller)
        roi, _image = self.roi_row(session, policy, roi_id, "delete", lock=True)
        session.execute(sa.delete(m.Shape).where(m.Shape.roi_id == roi.id))
        session.execute(sa.delete(m.Roi).where(m.Roi.id == roi.id))
        return {"deleted": {"roi": [roi_id]}}

    # ---- the bulk path -------------------------------------------------------------------
    @staticmethod
    def _check_sizes(rois: list[dict[str, Any]], field: str) -> None:
        shapes = sum(len(r["shapes"]) for r in rois)
        if shapes > MAX_SHAPES_PER_REQUEST:
            raise BadRequest(f"{field}: {shapes} shapes; one request may create at most {MAX_SHAPES_PER_REQUEST}")
        points = sum(len(s["points"]) for r in rois for s in r["shapes"] if "points" in s)
        if points > MAX_POINTS_PER_REQUEST:
            raise BadRequest(f"{field}: {points} points of polylines and polygons; one request may hold at most "
                             f"{MAX_POINTS_PER_REQUEST}")

    def _write_shapes(self, session: Session, image: m.Image, roi_ids: list[int], shape_lists: list[list[dict]],
                      prefixes: list[str]) -> int:
        """Check every shape against the image, then write them all with one COPY; how many there were."""
        limits = {p: getattr(image, f"size_{p}") for p in PLANES}
        rows: list[list[Any]] = []
        types: list[str] = []
        for roi_id, shapes, prefix in zip(roi_ids, shape_lists, prefixes, strict=True):
            for j, shape in enumerate(shapes):
                planes = [shape.get(p) for p in PLANES]
                for p, value in zip(PLANES, planes, strict=True):
                    if value is not None and limits[p] is not None and value >= limits[p]:
                        raise BadRequest(f"{prefix}shapes.{j}.{p}: {value} is past the image's {limits[p]} "
                                         f"{PLANE_NOUNS[p]} (0 to {limits[p] - 1})")
                try:
                    check_text(shape)
                    bits = mask_bits(shape) if shape["type"] == "mask" else None
                except ShapeError as e:
                    raise BadRequest(f"{prefix}shapes.{j}.{e.field}: {e.message}") from None
                types.append(shape["type"])
                rows.append([roi_id, image.id, shape["type"], *planes, bits,
                             shape.get("stroke_color", DEFAULT_STROKE).upper(),
                             shape.get("fill_color", DEFAULT_FILL).upper(),
                             float(shape.get("stroke_width", DEFAULT_STROKE_WIDTH)), shape.get("text", ""),
                             None if shape.get("font_size") is None else float(shape["font_size"])])
        flat, offsets = flatten([shape for shapes in shape_lists for shape in shapes])
        boxes = bounding_boxes(types, flat, offsets).tolist()
        arrays = float8_arrays(flat, offsets)
        with copy_rows(session, "shapes", SHAPE_COLUMNS, SHAPE_TYPES_FOR_COPY) as copy:
            for row, array, box in zip(rows, arrays, boxes, strict=True):
                copy.write_row((*row[:6], array, *row[6:], *box))
        return len(rows)
