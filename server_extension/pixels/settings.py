"""Rendering settings: each user's own per image (``rendering_settings``), and the image's defaults.

The defaults come from the ``channels`` rows: the display window computed at import (else the
data's range, else the data type's), the channel colour, the first four channels on, the middle
z-section, the first time point. A request's missing rendering parameters come from the caller's
saved settings, then from these defaults.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..catalogue.errors import BadRequest, Forbidden, NotFound
from ..catalogue.permissions import Caller, PermissionPolicy
from .render_params import COLOR, ChannelRender, ImageGeometry, RenderSettings

DEFAULT_ACTIVE = 4  # channels shown by default; more than this composited additively is mostly white
DEFAULT_COLORS = ("FF0000", "00FF00", "0000FF", "FF00FF", "FFFF00", "00FFFF", "FFFFFF")


@dataclass(frozen=True)
class ChannelInfo:
    """What the catalogue knows of one channel (the rendering defaults come from it)."""

    index: int
    name: str
    color: str | None
    min_value: float | None
    max_value: float | None
    window_start: float | None
    window_end: float | None


@dataclass(frozen=True)
class PixelImage:
    """One image with pixels, as the pixel routes need it, loaded with the permission check."""

    id: int
    zarr_path: str
    size_x: int
    size_y: int
    size_z: int
    size_c: int
    size_t: int
    pixel_type: str
    is_rgb: bool
    is_label: bool
    channels: tuple[ChannelInfo, ...]
    saved: dict[str, Any] | None = None
    saved_modified: dt.datetime | None = None

    def geometry(self, levels: tuple[tuple[int, int], ...] | None = None) -> ImageGeometry:
        return ImageGeometry(self.size_x, self.size_y, self.size_z, self.size_c, self.size_t,
                             levels or ((self.size_x, self.size_y),), self.pixel_type)

    def defaults(self) -> RenderSettings:
        return default_settings(self)

    def settings(self, geometry: ImageGeometry | None = None) -> RenderSettings:
        """The caller's saved settings if they still fit the image, else the defaults."""
        defaults = self.defaults()
        if self.saved is None:
            return defaults
        try:
            return RenderSettings.from_json(self.saved, geometry or self.geometry(), base=defaults)
        except BadRequest:
            return defaults


def _type_range(pixel_type: str) -> tuple[float, float]:
    dtype = np.dtype(pixel_type)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    return 0.0, 1.0


def default_settings(image: PixelImage) -> RenderSettings:
    """The image's own defaults (no user has saved anything)."""
    by_index = {c.index: c for c in image.channels}
    low, high = _type_range(image.pixel_type)
    channels = []
    for i in range(image.size_c):
        info = by_index.get(i)
        start = _first(info and info.window_start, info and info.min_value, low)
        end = _first(info and info.window_end, info and info.max_value, high)
        if start > end:
            start, end = end, start
        if image.is_label:
            color = "glasbey.lut"
        elif image.is_rgb and image.size_c == 3:
            color = ("FF0000", "00FF00", "0000FF")[i]
        elif info is not None and info.color and COLOR.match(info.color[:6]) and len(info.color) in (6, 8):
            color = info.color[:6].upper()
        else:
            color = "FFFFFF" if image.size_c == 1 else DEFAULT_COLORS[i % len(DEFAULT_COLORS)]
        channels.append(ChannelRender(i < DEFAULT_ACTIVE, start, end, color))
    return RenderSettings(tuple(channels), "c", "normal", image.size_z // 2, 0)


def _first(*values: Any) -> float:
    for v in values:
        if isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v):
            return float(v)
    raise AssertionError("unreachable: the last default is a number")


def _load_statement() -> sa.Select:
    """An image's pixel columns, its channels (as a JSON list, in order) and one user's settings."""
    i, c, rs = m.Image, m.Channel, m.RenderingSettings
    channel = sa.func.json_build_array(c.index, c.name, c.color, c.min_value, c.max_value, c.window_start,
                                       c.window_end)
    channels = sa.select(sa.func.json_agg(aggregate_order_by(channel, c.index))).where(c.image_id == i.id)
    return (sa.select(i.id, i.owner_id, i.group_id, i.zarr_path, i.size_x, i.size_y, i.size_z, i.size_c, i.size_t,
                      i.pixel_type, i.is_rgb, i.is_label, channels.scalar_subquery().label("channels"), rs.settings,
                      rs.modified)
            .outerjoin(rs, sa.and_(rs.image_id == i.id, rs.user_id == sa.bindparam("user_id")))
            .where(i.id == sa.bindparam("image_id")))


LOAD = _load_statement()


class RenderingSettingsManager:
    """Loads images for the pixel routes (permission checked) and keeps each user's settings."""

    def load(self, session: Session | Connection, caller: Caller, image_id: int) -> PixelImage:
        """The image if the caller may see it and it has pixels; 404 otherwise.

        One statement (image, channels, the caller's settings): every tile request runs it, on a
        plain connection without a transaction (``Database.read``)."""
        row = session.execute(LOAD, {"image_id": image_id, "user_id": caller.user_id}).first()
        if row is None or not PermissionPolicy(caller).of(row.owner_id, row.group_id).can_view:
            raise NotFound(f"image {image_id} not found")
        if row.zarr_path is None or row.size_x is None:
            raise NotFound(f"image {image_id} has no pixels: it is a catalogue record only (import a file "
                           "to give it pixels)")
        return PixelImage(
            id=row.id, zarr_path=row.zarr_path, size_x=row.size_x, size_y=row.size_y or 1, size_z=row.size_z or 1,
            size_c=row.size_c or 1, size_t=row.size_t or 1, pixel_type=row.pixel_type or "uint8",
            is_rgb=bool(row.is_rgb), is_label=bool(row.is_label),
            channels=tuple(ChannelInfo(*c) for c in row.channels or ()),
            saved=row.settings, saved_modified=row.modified)

    def get(self, session: Session, caller: Caller, image_id: int) -> dict[str, Any]:
        """The caller's settings for the image: saved ones, or the defaults (``saved: false``)."""
        return reply(self.load(session, caller, image_id))

    def put(self, session: Session, caller: Caller, image_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Save the caller's settings; fields left out keep their current value. Anyone who can see
        the image may keep their own settings for it (they change nothing others see)."""
        if not caller.can_write:
            raise Forbidden("this token may only read")
        image = self.load(session, caller, image_id)
        settings = RenderSettings.from_json(body, image.geometry(), base=image.settings())
        stmt = insert(m.RenderingSettings).values(image_id=image.id, user_id=caller.user_id,
                                                  settings=settings.as_json())
        stmt = stmt.on_conflict_do_update(index_elements=["image_id", "user_id"],
                                          set_={"settings": stmt.excluded.settings, "modified": sa.func.now()})
        session.execute(stmt)
        return self.get(session, caller, image_id)


def reply(image: PixelImage) -> dict[str, Any]:
    settings = image.settings()
    return {"image_id": image.id, "saved": image.saved is not None,
            "modified": image.saved_modified.isoformat() if image.saved_modified else None,
            "settings": settings.as_json(), "query": settings.query(),
            "channel_names": [_name(image, i) for i in range(image.size_c)]}


def _name(image: PixelImage, index: int) -> str:
    for c in image.channels:
        if c.index == index:
            return c.name
    return ""
