"""The pixel service: stored images, the renderer and the rendered cache, on a thread pool of its own.

Permission checks and catalogue reads happen on the database threads (``settings.py``); decoding,
compositing and encoding happen here, on as many threads as there are cores, never on the event
loop. Everything below is plain Python that knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..catalogue.errors import BadRequest, Unreadable
from .cache import DEFAULT_BYTES, Rendered, RenderedCache
from .render import MEDIA_TYPES, TileRenderer
from .render_params import ImageGeometry, RenderQuery
from .settings import PixelImage
from .store_reader import DEFAULT_CHUNK_CACHE, PixelStore, ZarrImage

T = TypeVar("T")


class PixelService:
    """Renders views, thumbnails and histograms of catalogue images, with caches."""

    def __init__(self, store_root: Path, threads: int | None = None, chunk_cache_bytes: int = DEFAULT_CHUNK_CACHE,
                 rendered_cache_bytes: int = DEFAULT_BYTES):
        self.store = PixelStore(Path(store_root), chunk_cache_bytes)
        self.renderer = TileRenderer()
        self.cache = RenderedCache(rendered_cache_bytes)
        self.executor = ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 2,
                                           thread_name_prefix="scopehub-pixels")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU work on the pixel threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    # ---- work (called on the pixel threads) ----------------------------------------------
    def open(self, image: PixelImage) -> tuple[ZarrImage, ImageGeometry]:
        stored = self.store.open(image.zarr_path)
        if (stored.size_c, stored.size_z, stored.size_t) != (image.size_c, image.size_z, image.size_t):
            raise Unreadable(f"image {image.id}: the catalogue says c={image.size_c}, z={image.size_z}, "
                             f"t={image.size_t}; the stored pixels hold c={stored.size_c}, z={stored.size_z}, "
                             f"t={stored.size_t}")
        levels = tuple((lv.size_x, lv.size_y) for lv in stored.levels)
        geometry = ImageGeometry(stored.size_x, stored.size_y, stored.size_z, stored.size_c, stored.size_t,
                                 levels, stored.dtype.name)
        return stored, geometry

    def render(self, image: PixelImage, query: RenderQuery) -> Rendered:
        """The encoded view, from the cache when the same plan was rendered before."""
        stored, geometry = self.open(image)
        plan = query.plan(image.settings(geometry), geometry)
        key = (image.id, image.zarr_path, "render", plan)
        found = self.cache.get(key)
        if found is not None:
            return found
        found = Rendered.of(*self.renderer.render(stored, plan))
        self.cache.put(key, found)
        return found

    def thumbnail(self, image: PixelImage, size: int) -> Rendered:
        stored, geometry = self.open(image)
        settings = image.settings(geometry)
        key = (image.id, image.zarr_path, "thumbnail", size, settings)
        found = self.cache.get(key)
        if found is not None:
            return found
        found = Rendered.of(self.renderer.thumbnail(stored, settings, size), MEDIA_TYPES["jpeg"])
        self.cache.put(key, found)
        return found

    def histogram(self, image: PixelImage, c: int, z: int | None, t: int, bins: int) -> dict[str, Any]:
        """``c`` is 1-based as in ``c=`` of render; ``z`` defaults to the caller's current z-section."""
        stored, geometry = self.open(image)
        if not 1 <= c <= geometry.size_c:
            raise BadRequest(f"c: channel {c} does not exist: the image has {geometry.size_c} channel"
                             f"{'s' if geometry.size_c != 1 else ''} (1–{geometry.size_c})")
        if z is None:
            z = image.settings(geometry).z
        for name, value, size, word in (("z", z, geometry.size_z, "z-sections"), ("t", t, geometry.size_t,
                                                                                  "time points")):
            if not 0 <= value < size:
                raise BadRequest(f"{name} {value} is past the stack: the image has {size} {word} "
                                 f"({name} is 0-based, 0–{size - 1})")
        info = next((ch for ch in image.channels if ch.index == c - 1), None)
        value_range = None
        if info is not None and info.min_value is not None and info.max_value is not None \
                and info.min_value <= info.max_value:
            value_range = (info.min_value, info.max_value)
        return self.renderer.histogram(stored, c - 1, z, t, bins, value_range)
