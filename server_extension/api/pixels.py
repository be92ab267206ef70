"""Pixel routes: render, thumbnail, histogram, the caller's rendering settings, and the OME-Zarr files.

Each request checks permissions and reads the catalogue on the database threads (an image the
caller may not see, or one without pixels, is a 404), then decodes, composites and encodes on the
pixel service's own threads: the event loop only parses parameters and writes bytes.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from ..catalogue.errors import NotFound
from ..pixels.cache import Rendered
from ..pixels.render import MAX_BINS, MAX_THUMBNAIL
from ..pixels.render_params import LUT_NAMES, QUERY_NAMES, RenderQuery
from ..pixels.service import PixelService
from ..pixels.settings import PixelImage, RenderingSettingsManager
from ..pixels.store_reader import PixelStore
from . import schemas as s
from .base import ScopehubHandler, operation, path_id

settings_manager = RenderingSettingsManager()
ZARR_FILE = re.compile(r"^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*(?:zarr\.json|c(?:/[0-9]{1,9})+)$")
READ_SIZE = 1 << 20

# ---- OpenAPI notes for the query parameters (name, schema) ---------------------------------------
RENDER_QUERY = (
    # 4k: even percent-encoded (9 bytes a character) the request line must fit in tornado's 64 KiB
    # header limit, else the connection just closes.
    ("c", {"type": "string", "maxLength": 4_000, "description":
           "Channels, 1-based: `1|100:505$FF0000,-2|0:4095$00FF00` (`-` off, `|start:end` window, `$RRGGBB` "
           f"colour or a lookup table: {', '.join(LUT_NAMES)}). Channels not listed are off."}),
    ("m", {"type": "string", "enum": ["c", "g"], "description": "Colour or greyscale (first active channel)."}),
    ("p", {"type": "string", "pattern": r"^(normal|intmax|intmean)(\|[0-9]+:[0-9]+)?$",
           "description": "Z-projection, optionally over a 0-based inclusive z range: `intmax|0:5`."}),
    ("q", {"type": "number", "minimum": 0, "maximum": 1, "default": 0.9, "description": "JPEG quality."}),
    ("z", {"type": "integer", "minimum": 0, "description": "Z-section, 0-based (default: the saved one)."}),
    ("t", {"type": "integer", "minimum": 0, "description": "Time point, 0-based."}),
    ("maps", {"type": "string", "maxLength": 4_000,
              "description": "OMERO's `[{\"inverted\": {\"enabled\": true}}, ...]`."}),
    ("region", {"type": "string", "pattern": r"^[0-9]+,[0-9]+,[0-9]+,[0-9]+$",
                "description": "x,y,w,h in full-resolution pixels."}),
    ("tile", {"type": "string", "pattern": r"^[0-9]+,[0-9]+,[0-9]+(,[0-9]+,[0-9]+)?$",
              "description": "level,x,y[,w,h]: tile column x, row y of w × h tiles (512) at pyramid level "
                             "(0 = full resolution)."}),
    ("format", {"type": "string", "enum": ["jpeg", "jpg", "png"], "default": "jpeg"}),
)
assert {name for name, _ in RENDER_QUERY} == set(QUERY_NAMES)
THUMBNAIL_QUERY = (("size", {"type": "integer", "minimum": 1, "maximum": MAX_THUMBNAIL, "default": 96,
                             "description": "Longest side in pixels."}),)
HISTOGRAM_QUERY = (
    ("c", {"type": "integer", "minimum": 1, "default": 1, "description": "Channel, 1-based."}),
    ("z", {"type": "integer", "minimum": 0, "description": "Z-section, 0-based (default: the saved one)."}),
    ("t", {"type": "integer", "minimum": 0, "default": 0, "description": "Time point, 0-based."}),
    ("bins", {"type": "integer", "minimum": 1, "maximum": MAX_BINS, "default": 256}),
)


# ---- bodies ---------------------------------------------------------------------------------------
Color = Annotated[str, StringConstraints(pattern=r"^([0-9A-Fa-f]{6}|[A-Za-z0-9_-]{1,64}\.lut)$")]
Plane = Annotated[int, Field(ge=0, le=2**31 - 1)]


class ChannelSettings(s.Request):
    active: bool
    start: float = Field(description="Window start, in the data's values.")
    end: float = Field(description="Window end; not below start.")
    color: Color = Field("FFFFFF", description=f"RRGGBB, or a lookup table: {', '.join(LUT_NAMES)}.")
    inverted: bool = False


class RenderingSettingsIn(s.Request):
    """Fields left out keep their current value; ``channels`` lists every channel, in order."""

    channels: list[ChannelSettings] | None = Field(None, max_length=100_000)
    model: Literal["c", "g"] | None = None
    projection: Literal["normal", "intmax", "intmean"] | None = None
    z: Plane | None = None
    t: Plane | None = None


class ChannelSettingsOut(BaseModel):
    active: bool
    start: float
    end: float
    color: str
    inverted: bool


class RenderingSettingsOut(BaseModel):
    channels: list[ChannelSettingsOut]
    model: Literal["c", "g"]
    projection: Literal["normal", "intmax", "intmean"]
    z: int
    t: int


class RenderingOut(BaseModel):
    image_id: int
    saved: bool = Field(description="False: nothing saved yet, these are the image's defaults.")
    modified: str | None
    settings: RenderingSettingsOut
    query: str = Field(description="The same settings as render query parameters.")
    channel_names: list[str]


class HistogramOut(BaseModel):
    channel: int = Field(description="1-based.")
    z: int
    t: int
    level: int = Field(description="The pyramid level counted.")
    bins: int
    min: float
    max: float
    bin_width: float = Field(description="Bin i holds values in [min + i·bin_width, min + (i+1)·bin_width).")
    counts: list[int]


# ---- handlers -------------------------------------------------------------------------------------
def pixel_service(context: Any) -> PixelService:
    """The server's pixel service, made on first use (the event loop runs this, so no race)."""
    service = context.extras.get("pixels")
    if service is None:
        service = context.extras["pixels"] = PixelService(context.store.root)
    return service


class PixelHandler(ScopehubHandler):
    """Loads the image with the permission check; sends bytes."""

    @property
    def pixels(self) -> PixelService:
        return pixel_service(self.scopehub)

    async def image(self, image_id: str) -> PixelImage:
        return await self.read(settings_manager.load, path_id(image_id))

    def send(self, rendered: Rendered) -> None:
        """The bytes, or 304 when the client's ``If-None-Match`` holds their entity tag."""
        self.set_header("Cache-Control", "private, no-cache")
        self.set_header("Etag", rendered.etag)  # made on the pixel threads: tornado need not hash on the loop
        if self.check_etag_header():  # tornado checks only tags it computed itself
            self.set_status(304)
            self.finish(set_content_type=rendered.media_type)
            return
        self.finish(rendered.data, set_content_type=rendered.media_type)


class RenderHandler(PixelHandler):
    @operation("Render a region or a tile of an image", binary=("image/jpeg", "image/png"), query=RENDER_QUERY,
               errors=(404, 422))
    async def get(self, image_id: str) -> None:
        """OMERO webgateway's grammar. Parameters left out come from your saved rendering settings,
        then from the image's defaults. ``z`` and ``t`` are 0-based, channels 1-based; tile level 0
        is full resolution. A view is at most 8192 a side and 4096² pixels."""
        args = {name: value for name in QUERY_NAMES if (value := self.get_query_argument(name, None)) is not None}
        query = RenderQuery.parse(args)
        image = await self.image(image_id)
        self.send(await self.pixels.run(self.pixels.render, image, query))


class ThumbnailHandler(PixelHandler):
    @operation("A thumbnail of an image, with your rendering settings", binary="image/jpeg",
               query=THUMBNAIL_QUERY, errors=(404, 422))
    async def get(self, image_id: str) -> None:
        size = self.int_arg("size", 96, 1, MAX_THUMBNAIL)
        image = await self.image(image_id)
        self.send(await self.pixels.run(self.pixels.thumbnail, image, size))


class HistogramHandler(PixelHandler):
    @operation("Histogram of one channel of one plane", reply=HistogramOut, query=HISTOGRAM_QUERY,
               errors=(404, 422))
    async def get(self, image_id: str) -> None:
        """Counts over the channel's data range (from import), else the plane's own range, read at
        the coarsest pyramid level with at least a megapixel."""
        c = self.int_arg("c", 1, 1, 2**31)
        z = self.int_arg("z", None, 0, 2**31)
        t = self.int_arg("t", 0, 0, 2**31)
        bins = self.int_arg("bins", 256, 1, MAX_BINS)
        image = await self.image(image_id)
        self.reply(await self.pixels.run(self.pixels.histogram, image, c, z, t, bins))


class RenderingHandler(PixelHandler):
    @operation("Your rendering settings for an image (or its defaults)", reply=RenderingOut, errors=(404,))
    async def get(self, image_id: str) -> None:
        self.reply(await self.call(settings_manager.get, path_id(image_id)))

    @operation("Save your rendering settings for an image", body=RenderingSettingsIn, reply=RenderingOut,
               errors=(403, 404))
    async def put(self, image_id: str) -> None:
        """Only your own view changes: anyone who can see the image may keep settings for it.
        Thumbnails made with the old settings are forgotten."""
        fields = self.fields(RenderingSettingsIn)
        image_id_int = path_id(image_id)
        reply = await self.call(settings_manager.put, image_id_int, fields)
        self.pixels.cache.invalidate(image_id_int)
        self.reply(reply)


class ZarrHandler(PixelHandler):
    @operation("A file of the image's OME-Zarr (zarr v3): zarr.json or a chunk",
               binary=("application/json", "application/octet-stream"), errors=(404,))
    async def get(self, image_id: str, path: str) -> None:
        """Read-only, with your permissions: point zarr-python (fsspec's HTTP file system with the
        token header), napari-ome-zarr or vizarr at ``B/images/{id}/zarr``. A chunk that is not
        there is all zeros (the fill value), as zarr expects from a 404."""
        if not ZARR_FILE.match(path) or any(part in (".", "..") for part in path.split("/")):
            raise NotFound(f"no such OME-Zarr file: {path[:200]!r}")
        image = await self.image(image_id)
        found = await self.pixels.run(_open_file, self.pixels.store, image.zarr_path, path)
        if found is None:
            raise NotFound(f"no such OME-Zarr file: {path[:200]!r}")
        f, size = found
        try:
            self.set_header("Content-Type", "application/json" if path.endswith("zarr.json")
                            else "application/octet-stream")
            self.set_header("Content-Length", str(size))
            # Stored pyramids are never rewritten (a new import gets a new path): cache freely.
            self.set_header("Cache-Control", "private, max-age=3600")
            while chunk := await self.pixels.run(f.read, READ_SIZE):
                self.write(chunk)
                await self.flush()
        finally:
            f.close()
        await self.finish(set_content_type=self._headers["Content-Type"])


def _open_file(store: PixelStore, zarr_path: str, path: str):
    """The file at ``path`` in the image's pyramid, opened for reading, and its size; None unless it
    is a regular file inside the pyramid's folder (symbolic links that leave it do not count)."""
    root = store.path(zarr_path)
    full = (root / path).resolve()
    if not full.is_relative_to(root.resolve()) or not full.is_file():
        return None
    f = open(full, "rb")  # noqa: SIM115 - closed by the handler after streaming
    return f, os.fstat(f.fileno()).st_size


def pixel_handlers() -> list[tuple[str, type]]:
    return [
        (r"images/(\d+)/render", RenderHandler),
        (r"images/(\d+)/thumbnail", ThumbnailHandler),
        (r"images/(\d+)/histogram", HistogramHandler),
        (r"images/(\d+)/rendering", RenderingHandler),
        (r"images/(\d+)/zarr/(.+)", ZarrHandler),
    ]
