"""``Viewer``: one image of the catalogue in a notebook, with its channels, planes and ROIs.

    viewer = Viewer(hub.image(12))       # the client's Image (or an id: Viewer(12) connects as connect() does)
    viewer                               # shows it: tiles at the screen's resolution, pan and zoom
    viewer.set_channel(0, active=False)  # the picture follows
    viewer.goto(x=1200, y=800, zoom=2)   # image pixels; zoom = screen pixels per image pixel
    viewer.show_rois(shapes)             # 10^5 shapes stay smooth
    viewer.rois                          # what the user drew; viewer.selected: what they picked
    viewer.save_rois(); viewer.save_rendering()

The front-end fetches tiles from the render route itself (same origin, the page's login); where it
cannot, it asks the kernel, which relays over the comm (``transport="comm"`` forces that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as tr

from .client import Hub, connect
from .relay import RequestRelay
from .shapes import flatten, pack, roi_payload, unpack

STATIC = Path(__file__).parent / "static"
TRANSPORTS = ("auto", "http", "comm")
TOOLS = ("pan", "rectangle", "ellipse", "point", "polygon")


def image_id_of(image: Any) -> int:
    """An image id from an int, a dict with ``id``, or any object with ``.id`` (the client's ``Image``)."""
    value = image.get("id") if isinstance(image, dict) else getattr(image, "id", image)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TypeError(f"expected an image id or an object with .id, not {image!r}")
    return value


def hub_of(value: Any) -> Hub | None:
    """The client's ``Hub`` given outright or behind one of its objects (``Image._hub``); else None."""
    if value is None or isinstance(value, Hub):
        return value
    hub = getattr(value, "_hub", None)
    if isinstance(hub, Hub):
        return hub
    raise TypeError(f"expected a scopehub.Hub (scopehub.connect()) or one of its objects, not {value!r}")


class HubMixin:
    """The kernel's way to the API: the ``Hub`` given, else one found as ``connect()`` finds it, on
    first use (a widget that is only shown never needs it); and the comm relay over it."""

    _hub_value: Hub | None = None

    def _init_hub(self, hub: Any) -> None:
        self._hub_value = hub_of(hub)
        self._relay = RequestRelay(lambda content, buffers: self.send(content, buffers), lambda: self.hub)

    @property
    def hub(self) -> Hub:
        """The client this widget uses from the kernel (``scopehub.connect()`` when none was given)."""
        if self._hub_value is None:
            self._hub_value = connect()  # raises ConnectionFailed saying what to do
        return self._hub_value


class Viewer(HubMixin, anywidget.AnyWidget):
    """A zoomable, multi-channel view of one image, with ROIs drawn and shown."""

    _esm = STATIC / "viewer.js"
    _css = STATIC / "widgets.css"

    image_id = tr.Int(0, help="The image shown.").tag(sync=True)
    transport = tr.Unicode("auto", help="auto (HTTP on the page's origin, else the comm), http or comm.").tag(sync=True)
    image = tr.Dict(help="The image's name, sizes, pyramid levels and physical sizes (from the front-end).").tag(
        sync=True)
    channels = tr.List(tr.Dict(), help="Per channel: name, active, color (RRGGBB), start, end, inverted, min, "
                       "max.").tag(sync=True)
    greyscale = tr.Bool(False, help="Greyscale shows the first active channel alone.").tag(sync=True)
    projection = tr.Unicode("normal", help="normal, intmax or intmean over z.").tag(sync=True)
    z = tr.Int(0, help="The z-section shown, 0-based.").tag(sync=True)
    t = tr.Int(0, help="The time point shown, 0-based.").tag(sync=True)
    view = tr.Dict(help="x, y (image pixels at the centre) and zoom (screen pixels per image pixel).").tag(sync=True)
    tool = tr.Unicode("pan", help="pan, rectangle, ellipse, point or polygon.").tag(sync=True)
    rois = tr.List(tr.Dict(), help="The shapes drawn in this viewer; roi_id is set once saved.").tag(sync=True)
    selected = tr.List(tr.Dict(), help="The shapes selected in the viewer (each with its source layer).").tag(sync=True)
    status = tr.Dict(help="What the front-end reports: transport, state, tiles loaded, first screen time.").tag(
        sync=True)
    height = tr.Int(520, help="Height of the image area, in pixels.").tag(sync=True)
    show_saved = tr.Bool(True, help="Show the catalogue's ROIs of the current plane.").tag(sync=True)

    def __init__(self, image: Any = None, *, hub: Hub | None = None, **kwargs: Any) -> None:
        if image is not None:
            kwargs["image_id"] = image_id_of(image)
        super().__init__(**kwargs)
        self._init_hub(hub if hub is not None else getattr(image, "_hub", None))
        self._shown: tuple[dict[str, Any], list[bytes]] | None = None
        self.on_msg(self._on_message)

    def __repr__(self) -> str:
        return f"Viewer(image_id={self.image_id}, {len(self.rois)} drawn)"

    @tr.validate("transport")
    def _check_transport(self, proposal: dict) -> str:
        if proposal["value"] not in TRANSPORTS:
            raise tr.TraitError(f"transport must be one of {', '.join(TRANSPORTS)}")
        return proposal["value"]

    @tr.validate("tool")
    def _check_tool(self, proposal: dict) -> str:
        if proposal["value"] not in TOOLS:
            raise tr.TraitError(f"tool must be one of {', '.join(TOOLS)}")
        return proposal["value"]

    @tr.validate("projection")
    def _check_projection(self, proposal: dict) -> str:
        if proposal["value"] not in ("normal", "intmax", "intmean"):
            raise tr.TraitError("projection must be normal, intmax or intmean")
        return proposal["value"]

    @tr.observe("image_id")
    def _image_changed(self, change: dict) -> None:
        # Another image: its own settings, planes and view; the shapes drawn on the old one go.
        if change["old"]:
            with self.hold_sync():
                self.channels = []
                self.image = {}
                self.rois = []
                self.selected = []
                self.view = {}
                self.z = 0
                self.t = 0
            self._shown = None

    # ---- messages from the front-end ----------------------------------------------------------
    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if self._relay.handle(content):
            return
        if content.get("type") == "ready" and self._shown is not None:
            self._send_shown()

    def _send_shown(self) -> None:
        header, buffers = self._shown
        self.send({"type": "rois", **header}, buffers)

    # ---- the view ----------------------------------------------------------------------------
    def goto(self, x: float | None = None, y: float | None = None, zoom: float | None = None, *,
             z: int | None = None, t: int | None = None, shape: dict | None = None) -> None:
        """Centre the view on image pixel (x, y), or on a shape; optionally zoom and change plane."""
        if shape is not None:
            x, y = _centre(shape)
            z = shape.get("z") if z is None else z
            t = shape.get("t") if t is None else t
        view = dict(self.view)
        for name, value in (("x", x), ("y", y), ("zoom", zoom)):
            if value is not None:
                view[name] = float(value)
        with self.hold_sync():
            if z is not None:
                self.z = int(z)
            if t is not None:
                self.t = int(t)
            self.view = view

    # ---- rendering settings ------------------------------------------------------------------
    def load_rendering(self) -> None:
        """Take the saved (or default) settings from the API, as a freshly opened viewer does."""
        http = self.hub.http
        meta = http.get(f"images/{self.image_id}")
        settings = http.get(f"images/{self.image_id}/rendering")["settings"]
        metas = meta.get("channels") or []
        channels = []
        for i, ch in enumerate(settings["channels"]):
            m = metas[i] if i < len(metas) else {}
            channels.append({"name": m.get("name") or f"Channel {i + 1}", "active": ch["active"], "color": ch["color"],
                             "start": ch["start"], "end": ch["end"], "inverted": ch["inverted"],
                             "min": m.get("min"), "max": m.get("max")})
        with self.hold_sync():
            self.channels = channels
            self.greyscale = settings["model"] == "g"
            self.projection = settings["projection"]
            self.z = settings["z"]
            self.t = settings["t"]

    def set_channel(self, index: int, *, active: bool | None = None, color: str | None = None,
                    window: tuple[float, float] | None = None, inverted: bool | None = None) -> None:
        """Change one channel (0-based): on/off, colour (``"FF0000"`` or ``"#FF0000"``), window (start, end)."""
        if not self.channels:
            self.load_rendering()
        if not 0 <= index < len(self.channels):
            raise IndexError(f"channel {index} does not exist: the image has {len(self.channels)}")
        channels = [dict(c) for c in self.channels]
        channel = channels[index]
        if active is not None:
            channel["active"] = bool(active)
        if color is not None:
            channel["color"] = color.lstrip("#").upper() if not color.endswith(".lut") else color
        if window is not None:
            start, end = (float(v) for v in window)
            if end < start:
                raise ValueError(f"window end {end} is below its start {start}")
            channel["start"], channel["end"] = start, end
        if inverted is not None:
            channel["inverted"] = bool(inverted)
        self.channels = channels

    def rendering_settings(self) -> dict[str, Any]:
        """The current settings as ``PUT B/images/{id}/rendering`` takes them."""
        if not self.channels:
            self.load_rendering()
        return {"channels": [{k: c[k] for k in ("active", "start", "end", "color", "inverted")} for c in self.channels],
                "model": "g" if self.greyscale else "c", "projection": self.projection, "z": self.z, "t": self.t}

    def save_rendering(self) -> dict[str, Any]:
        """Keep the current settings as yours for this image (thumbnails and other viewers follow)."""
        return self.hub.http.json("PUT", f"images/{self.image_id}/rendering", json=self.rendering_settings())

    # ---- ROIs ------------------------------------------------------------------------------------
    def show_rois(self, shapes: Any, *, color: str = "#00E5FF", replace: bool = True) -> int:
        """Show shapes (dicts in OMERO's geometry, or ROIs holding ``shapes``) over the image.

        They are sent as binary columns, so 10^5 shapes cost a few megabytes once, and are drawn
        from cached paths: panning stays smooth. Returns how many shapes are shown."""
        new = flatten(shapes)
        if not replace and self._shown is not None:
            new = unpack(*self._shown) + new
        self._shown = pack(new, color)
        self._send_shown()
        return len(new)

    def clear_rois(self) -> None:
        """Remove the shapes ``show_rois`` put up (drawn shapes stay)."""
        self.show_rois([])

    @property
    def shown_rois(self) -> list[dict[str, Any]]:
        """The shapes ``show_rois`` put up."""
        return unpack(*self._shown) if self._shown else []

    def save_rois(self) -> list[int]:
        """Store the drawn shapes not saved yet as ROIs of the image (one ROI each); returns their ids."""
        rois = [dict(s) for s in self.rois]
        unsaved = [shape for shape in rois if shape.get("roi_id") is None]
        if not unsaved:
            return []
        # One request (all or nothing): the ids come back in the order sent.
        reply = self.hub.http.json("POST", f"images/{self.image_id}/rois",
                                   json={"rois": [roi_payload(shape) for shape in unsaved]})
        for shape, roi_id in zip(unsaved, reply["ids"], strict=True):
            shape["roi_id"] = roi_id
        self.rois = rois
        return list(reply["ids"])


def _centre(shape: dict[str, Any]) -> tuple[float, float]:
    kind = shape["type"]
    if kind == "rectangle":
        return shape["x"] + shape["width"] / 2, shape["y"] + shape["height"] / 2
    if kind in ("ellipse", "point"):
        return shape["x"], shape["y"]
    if kind == "line":
        return (shape["x1"] + shape["x2"]) / 2, (shape["y1"] + shape["y2"]) / 2
    xs = [p[0] for p in shape["points"]]
    ys = [p[1] for p in shape["points"]]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
