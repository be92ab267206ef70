"""OMERO webgateway's rendering grammar, parsed and checked against one image.

``c=1|100:505$FF0000,-2|0:4095$00FF00``: channels are 1-based as in OMERO; ``-`` turns a channel
off (its window and colour still apply); a channel not listed is off; ``|start:end`` is the window;
``$RRGGBB`` the colour, or a lookup table name such as ``$fire.lut``. ``m=c|g`` colour or greyscale
(greyscale shows the first active channel); ``p=normal|intmax|intmean``, optionally with a 0-based
inclusive z range ``p=intmax|0:5``; ``q`` JPEG quality 0–1; ``z`` and ``t`` are 0-based, as in
OMERO's ``render_image/{id}/{z}/{t}/`` URLs; ``maps=[{"inverted": {"enabled": true}}, ...]`` inverts.

The view is ``region=x,y,w,h`` in full-resolution pixels, or ``tile=level,x,y[,w,h]``: tile column
``x`` and row ``y`` of ``w × h`` tiles (512 unless given) at pyramid ``level``. Unlike OMERO, level 0
is full resolution here, as in the stored OME-Zarr and the image's ``pyramid`` list. Edge tiles are
cut at the image's edge. Without either, the whole plane at full resolution.

Anything malformed or out of range is a :class:`BadRequest` that says what and why.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..catalogue.errors import BadRequest

TILE = 512
MAX_SIDE = 8192  # a rendered view is at most this wide or high ...
MAX_PIXELS = 4096 * 4096  # ... and holds at most this many pixels
MODELS = ("c", "g")
PROJECTIONS = ("normal", "intmax", "intmean")
FORMATS = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png"}
DEFAULT_QUALITY = 0.9
# Lookup tables the renderer knows (render.py builds them); a colour may name one instead of RRGGBB.
LUT_NAMES = ("grays.lut", "red.lut", "green.lut", "blue.lut", "cyan.lut", "magenta.lut", "yellow.lut",
             "fire.lut", "hilo.lut", "viridis.lut", "glasbey.lut")
COLOR = re.compile(r"^[0-9A-Fa-f]{6}$")
INTEGER = re.compile(r"^-?[0-9]{1,15}$")
CHANNEL_TOKEN = re.compile(r"^(-)?([0-9]{1,6})(?:\|([^$]*))?(?:\$(.*))?$")
# Parameters this module reads; anything else in the query (token, _xsrf, cache busters) is ignored.
QUERY_NAMES = ("c", "m", "p", "q", "z", "t", "maps", "region", "tile", "format")


def parse_int(name: str, text: str) -> int:
    text = text.strip()
    if not INTEGER.match(text):
        raise BadRequest(f"{name} must be a whole number, not {text[:40]!r}")
    return int(text)


def parse_float(name: str, text: str) -> float:
    text = text.strip()
    try:
        if len(text) > 40:
            raise ValueError
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number, not {text[:40]!r}") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number, not {text!r}")
    return value


def normal_color(text: str, what: str) -> str:
    """``RRGGBB`` in upper case, or a known lookup table name; anything else is a 400."""
    if COLOR.match(text):
        return text.upper()
    if text.lower() in LUT_NAMES:
        return text.lower()
    raise BadRequest(f"{what}: colour {text[:40]!r} is neither RRGGBB hex nor a known lookup table "
                     f"({', '.join(LUT_NAMES)})")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---- what is rendered: settings -------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelRender:
    """How one channel is shown: on or off, its window, colour (or lookup table), inverted or not."""

    active: bool
    start: float
    end: float
    color: str
    inverted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"active": self.active, "start": self.start, "end": self.end, "color": self.color,
                "inverted": self.inverted}

    def token(self, index: int) -> str:
        """This channel in the ``c=`` grammar (``index`` 0-based)."""
        return f"{'' if self.active else '-'}{index + 1}|{_num(self.start)}:{_num(self.end)}${self.color}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class ImageGeometry:
    """What the parameters are checked against: the image's sizes and its pyramid levels."""

    size_x: int
    size_y: int
    size_z: int
    size_c: int
    size_t: int
    levels: tuple[tuple[int, int], ...]  # (size_x, size_y) per level, level 0 first
    pixel_type: str = "uint16"


@dataclass(frozen=True)
class RenderSettings:
    """A full set of rendering settings: one :class:`ChannelRender` per channel, model,
    projection, and the plane (0-based ``z``, ``t``). What ``B/images/{id}/rendering`` stores."""

    channels: tuple[ChannelRender, ...]
    model: str = "c"
    projection: str = "normal"
    z: int = 0
    t: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"channels": [c.as_json() for c in self.channels], "model": self.model,
                "projection": self.projection, "z": self.z, "t": self.t}

    def query(self) -> str:
        """The same settings as render query parameters."""
        c = ",".join(ch.token(i) for i, ch in enumerate(self.channels))
        query = f"c={c}&m={self.model}&p={self.projection}&z={self.z}&t={self.t}"
        if any(ch.inverted for ch in self.channels):
            maps = [{"inverted": {"enabled": ch.inverted}} for ch in self.channels]
            query += "&maps=" + json.dumps(maps, separators=(",", ":"))
        return query

    @classmethod
    def from_json(cls, data: Mapping[str, Any], geometry: ImageGeometry, base: RenderSettings | None = None
                  ) -> RenderSettings:
        """Settings from JSON (a PUT body or a stored row), checked against the image; fields left
        out come from ``base``."""
        if not isinstance(data, Mapping):
            raise BadRequest("rendering settings must be a JSON object")
        channels = data.get("channels")
        if channels is None:
            if base is None:
                raise BadRequest("channels: required")
            parsed = base.channels
        else:
            if not isinstance(channels, list) or len(channels) != geometry.size_c:
                raise BadRequest(f"channels: give one entry per channel: the image has "
                                 f"{plural(geometry.size_c, 'channel')}")
            out = []
            for i, ch in enumerate(channels):
                what = f"channels[{i}]"
                if not isinstance(ch, Mapping):
                    raise BadRequest(f"{what}: must be an object")
                try:
                    active, start, end = ch["active"], ch["start"], ch["end"]
                    color, inverted = ch.get("color", "FFFFFF"), ch.get("inverted", False)
                except KeyError as e:
                    raise BadRequest(f"{what}: {e.args[0]} is required") from None
                if not isinstance(active, bool) or not isinstance(inverted, bool):
                    raise BadRequest(f"{what}: active and inverted must be true or false")
                for name, v in (("start", start), ("end", end)):
                    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                        raise BadRequest(f"{what}: {name} must be a finite number")
                if start > end:
                    raise BadRequest(f"{what}: window start {_num(start)} is above its end {_num(end)}")
                if not isinstance(color, str):
                    raise BadRequest(f"{what}: color must be RRGGBB or a lookup table name")
                out.append(ChannelRender(active, float(start), float(end), normal_color(color, what), inverted))
            parsed = tuple(out)
        model = data.get("model", base.model if base else "c")
        projection = data.get("projection", base.projection if base else "normal")
        z = data.get("z", base.z if base else 0)
        t = data.get("t", base.t if base else 0)
        if model not in MODELS:
            raise BadRequest(f"model must be c (colour) or g (greyscale), not {model!r}")
        if projection not in PROJECTIONS:
            raise BadRequest(f"projection must be normal, intmax or intmean, not {projection!r}")
        check_plane("z", z, geometry.size_z, "z-section")
        check_plane("t", t, geometry.size_t, "time point")
        return cls(parsed, model, projection, z, t)


def check_plane(name: str, value: Any, size: int, word: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be a whole number")
    if not 0 <= value < size:
        raise BadRequest(f"{name} {value} is past the stack: the image has {plural(size, word)} "
                         f"({name} is 0-based, 0–{size - 1})")


# ---- what is asked: one request's parameters ------------------------------------------------------
@dataclass(frozen=True)
class ChannelQuery:
    """One token of ``c=``: 0-based index, on or off, and the window and colour if given."""

    index: int
    active: bool
    window: tuple[float, float] | None
    color: str | None


@dataclass(frozen=True)
class View:
    """What part of the image, at which level: pixels ``[y, y+h) × [x, x+w)`` of ``level``."""

    level: int
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class RenderPlan:
    """Everything that decides a rendered image's bytes (so also its cache key)."""

    settings: RenderSettings
    view: View
    z_range: tuple[int, int]  # inclusive; (z, z) for a normal projection
    format: str  # "jpeg" | "png"
    quality: int  # 1..100, JPEG only


@dataclass(frozen=True)
class RenderQuery:
    """The rendering parameters a request sent; ``None`` means "from the saved settings"."""

    channels: tuple[ChannelQuery, ...] | None = None
    inverted: tuple[bool | None, ...] | None = None
    model: str | None = None
    projection: str | None = None
    z_range: tuple[int, int] | None = None
    z: int | None = None
    t: int | None = None
    quality: float | None = None
    region: tuple[int, int, int, int] | None = None
    tile: tuple[int, int, int, int, int] | None = None
    format: str | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> RenderQuery:
        """Check the syntax of each parameter (ranges need the image: see :meth:`plan`)."""
        found: dict[str, Any] = {}
        if (text := args.get("c")) is not None:
            found["channels"] = parse_channels(text)
        if (text := args.get("maps")) is not None:
            found["inverted"] = parse_maps(text)
        if (text := args.get("m")) is not None:
            if text not in MODELS:
                raise BadRequest(f"m must be c (colour) or g (greyscale), not {text[:40]!r}")
            found["model"] = text
        if (text := args.get("p")) is not None:
            found["projection"], found["z_range"] = parse_projection(text)
        for name in ("z", "t"):
            if (text := args.get(name)) is not None:
                found[name] = parse_int(name, text)
        if (text := args.get("q")) is not None:
            q = parse_float("q", text)
            if not 0 <= q <= 1:
                raise BadRequest(f"q must be from 0 to 1 (JPEG quality), not {text[:40]}")
            found["quality"] = q
        if (text := args.get("region")) is not None:
            parts = text.split(",")
            if len(parts) != 4:
                raise BadRequest(f"region must be x,y,w,h in whole pixels, not {text[:60]!r}")
            found["region"] = tuple(parse_int(f"region {n}", p) for n, p in zip("xywh", parts, strict=True))
        if (text := args.get("tile")) is not None:
            parts = text.split(",")
            if len(parts) not in (3, 5):
                raise BadRequest(f"tile must be level,x,y or level,x,y,w,h, not {text[:60]!r}")
            names = ("level", "x", "y", "w", "h")
            values = [parse_int(f"tile {n}", p) for n, p in zip(names, parts, strict=False)]
            if len(values) == 3:
                values += [TILE, TILE]
            found["tile"] = tuple(values)
        if "region" in found and "tile" in found:
            raise BadRequest("give region or tile, not both")
        if (text := args.get("format")) is not None:
            if text.lower() not in FORMATS:
                raise BadRequest(f"format must be jpeg or png, not {text[:40]!r}")
            found["format"] = FORMATS[text.lower()]
        return cls(**found)

    # ---- against the image ---------------------------------------------------------------
    def settings(self, base: RenderSettings, geometry: ImageGeometry) -> RenderSettings:
        """``base`` (the caller's saved settings or the image's defaults) with this query applied."""
        channels = list(base.channels)
        if self.channels is not None:
            listed = set()
            for q in self.channels:
                if q.index >= geometry.size_c:
                    raise BadRequest(f"c: channel {q.index + 1} does not exist: the image has "
                                     f"{plural(geometry.size_c, 'channel')} (1–{geometry.size_c})")
                if q.index in listed:
                    raise BadRequest(f"c: channel {q.index + 1} is listed twice")
                listed.add(q.index)
                ch = channels[q.index]
                start, end = q.window if q.window is not None else (ch.start, ch.end)
                channels[q.index] = replace(ch, active=q.active, start=start, end=end, color=q.color or ch.color)
            for i in range(len(channels)):
                if i not in listed:
                    channels[i] = replace(channels[i], active=False)
        if self.inverted is not None:
            if len(self.inverted) > geometry.size_c:
                raise BadRequest(f"maps: {len(self.inverted)} entries, but the image has "
                                 f"{plural(geometry.size_c, 'channel')}")
            for i, inverted in enumerate(self.inverted):
                if inverted is not None:
                    channels[i] = replace(channels[i], inverted=inverted)
        z = base.z if self.z is None else self.z
        t = base.t if self.t is None else self.t
        check_plane("z", z, geometry.size_z, "z-section")
        check_plane("t", t, geometry.size_t, "time point")
        return RenderSettings(tuple(channels), self.model or base.model, self.projection or base.projection, z, t)

    def view(self, geometry: ImageGeometry) -> View:
        if self.tile is not None:
            level, tx, ty, tw, th = self.tile
            if not 0 <= level < len(geometry.levels):
                raise BadRequest(f"tile: level {level} does not exist: the image has levels "
                                 f"0–{len(geometry.levels) - 1} (0 = full resolution)")
            if not (1 <= tw <= MAX_SIDE and 1 <= th <= MAX_SIDE):
                raise BadRequest(f"tile: width and height must be 1–{MAX_SIDE}, not {tw} × {th}")
            lx, ly = geometry.levels[level]
            x, y = tx * tw, ty * th
            if tx < 0 or ty < 0 or x >= lx or y >= ly:
                cols, rows = -(-lx // tw), -(-ly // th)
                raise BadRequest(f"tile: column {tx}, row {ty} is outside level {level}, which is {lx} × {ly} "
                                 f"pixels: {cols} × {rows} tiles of {tw} × {th}")
            view = View(level, x, y, min(tw, lx - x), min(th, ly - y))
        elif self.region is not None:
            x, y, w, h = self.region
            if w < 1 or h < 1:
                raise BadRequest(f"region: width and height must be at least 1, not {w} × {h}")
            if x < 0 or y < 0 or x + w > geometry.size_x or y + h > geometry.size_y:
                raise BadRequest(f"region {x},{y},{w},{h} reaches outside the image, which is "
                                 f"{geometry.size_x} × {geometry.size_y} pixels")
            view = View(0, x, y, w, h)
        else:
            view = View(0, 0, 0, geometry.size_x, geometry.size_y)
        if view.w > MAX_SIDE or view.h > MAX_SIDE or view.w * view.h > MAX_PIXELS:
            raise BadRequest(f"the view is {view.w} × {view.h} pixels, more than one rendering gives "
                             f"({MAX_SIDE} a side, {MAX_PIXELS} pixels): ask for tiles, or a lower "
                             f"pyramid level with tile=level,x,y,w,h")
        return view

    def plan(self, base: RenderSettings, geometry: ImageGeometry) -> RenderPlan:
        """The full, checked plan for this request on this image."""
        settings = self.settings(base, geometry)
        if settings.projection == "normal":
            z_range = (settings.z, settings.z)
        elif self.z_range is not None:
            start, end = self.z_range
            if end >= geometry.size_z:
                raise BadRequest(f"p: z range {start}:{end} reaches past the stack: the image has "
                                 f"{plural(geometry.size_z, 'z-section')} (0–{geometry.size_z - 1})")
            z_range = (start, end)
        else:
            z_range = (0, geometry.size_z - 1)
        quality = DEFAULT_QUALITY if self.quality is None else self.quality
        return RenderPlan(settings, self.view(geometry), z_range, self.format or "jpeg",
                          max(1, round(quality * 100)))


@functools.lru_cache(maxsize=256)  # a viewer sends the same c= with every tile
def parse_channels(text: str) -> tuple[ChannelQuery, ...]:
    if not text:
        raise BadRequest("c must list channels, e.g. c=1|100:505$FF0000,-2")
    tokens = text.split(",")
    if len(tokens) > 1024:
        raise BadRequest("c lists more than 1024 channels")
    out = []
    for token in tokens:
        match = CHANNEL_TOKEN.match(token.strip())
        if match is None:
            raise BadRequest(f"c: {token[:60]!r} is not CHANNEL[|START:END][$RRGGBB] (channels are 1-based, "
                             "- turns one off)")
        off, number, window, color = match.groups()
        index = int(number)
        if index < 1:
            raise BadRequest(f"c: channel {index} does not exist: channels are numbered from 1")
        parsed_window = None
        if window is not None:
            bounds = window.split(":")
            if len(bounds) != 2:
                raise BadRequest(f"c: window {window[:40]!r} of channel {index} is not START:END")
            start = parse_float(f"c: window start of channel {index}", bounds[0])
            end = parse_float(f"c: window end of channel {index}", bounds[1])
            if start > end:
                raise BadRequest(f"c: window {bounds[0]}:{bounds[1]} of channel {index} starts above its end")
            parsed_window = (start, end)
        parsed_color = normal_color(color, f"c: channel {index}") if color is not None else None
        out.append(ChannelQuery(index - 1, off is None, parsed_window, parsed_color))
    return tuple(out)


def parse_projection(text: str) -> tuple[str, tuple[int, int] | None]:
    name, _, rest = text.partition("|")
    if name not in PROJECTIONS:
        raise BadRequest(f"p must be normal, intmax or intmean (optionally intmax|START:END), not {text[:40]!r}")
    if not rest:
        return name, None
    if name == "normal":
        raise BadRequest("p: a z range goes with intmax or intmean, not normal")
    bounds = rest.split(":")
    if len(bounds) != 2:
        raise BadRequest(f"p: z range {rest[:40]!r} is not START:END")
    start, end = parse_int("p: z range start", bounds[0]), parse_int("p: z range end", bounds[1])
    if start < 0 or start > end:
        raise BadRequest(f"p: z range {start}:{end} must run from a first to a last z-section, 0-based")
    return name, (start, end)


def parse_maps(text: str) -> tuple[bool | None, ...]:
    """OMERO's ``maps``: a JSON list, one entry per channel, ``{"inverted": {"enabled": true}}``."""
    if len(text) > 100_000:
        raise BadRequest("maps is too long")
    try:
        maps = json.loads(text)
    except ValueError:
        raise BadRequest("maps must be a JSON list, e.g. [{\"inverted\": {\"enabled\": true}}]") from None
    if not isinstance(maps, list):
        raise BadRequest("maps must be a JSON list with one entry per channel")
    out: list[bool | None] = []
    for i, item in enumerate(maps):
        if item is None:
            out.append(None)
            continue
        if not isinstance(item, dict):
            raise BadRequest(f"maps[{i}] must be an object or null")
        inverted = item.get("inverted", item.get("reverse"))
        if inverted is None:
            out.append(None)
            continue
        enabled = inverted.get("enabled") if isinstance(inverted, dict) else None
        if not isinstance(enabled, bool):
            raise BadRequest(f"maps[{i}].inverted must be {{\"enabled\": true|false}}")
        out.append(enabled)
    return tuple(out)
