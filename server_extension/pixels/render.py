"""Rendering stored pixels: integer lookup tables, additive compositing, JPEG 4:2:0 or PNG.

For 8- and 16-bit data each active channel gets, per colour component, one ``uint8`` table indexed
by the raw pixel value (window, inversion and colour folded in), so a channel costs one
``np.take`` per distinct component (one for a pure or a grey colour). Components fed by several
channels are added with saturation in ``uint8``. 32-bit and float data go through one float
scaling to ``uint8`` first, then 256-entry tables. Encoding is libjpeg-turbo (imagecodecs), about
40% faster than Pillow's on a 512² tile; PNG uses zlib level 1 (it is 20–100× slower than JPEG).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import imagecodecs
import numpy as np
from PIL import Image

from ..catalogue.errors import BadRequest, Unreadable
from .render_params import LUT_NAMES, TILE, ChannelRender, RenderPlan, RenderSettings, View
from .store_reader import ZarrImage

DIRECT = {"uint8": None, "int8": "uint8", "uint16": None, "int16": "uint16"}  # dtype -> unsigned view
MAX_THUMBNAIL = 1024
MAX_THUMBNAIL_SOURCE = 4096 * 4096
HISTOGRAM_PIXELS = 1024 * 1024  # histograms use the coarsest level with at least this many pixels
MAX_BINS = 65536
MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}


# ---- lookup tables --------------------------------------------------------------------------------
def _ramp(points: list[tuple[int, int, int]]) -> np.ndarray:
    """A 256 × 3 palette interpolated through evenly spaced control colours."""
    xs = np.linspace(0, 255, len(points))
    cols = [np.interp(np.arange(256), xs, [p[k] for p in points]) for k in range(3)]
    return np.round(np.stack(cols, axis=1)).astype(np.uint8)


def _glasbey() -> np.ndarray:
    """Label colours: 0 is black, then 255 well-separated hues (golden-ratio steps) for label ids."""
    palette = np.zeros((256, 3), np.uint8)
    for i in range(1, 256):
        h, s, v = (i * 0.618033988749895) % 1.0, 0.55 + 0.45 * ((i * 7) % 3) / 2, 0.75 + 0.25 * (i % 2)
        palette[i] = [round(255 * x) for x in _hsv(h, s, v)]
    return palette


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


FIRE_R = [0, 0, 1, 25, 49, 73, 98, 122, 146, 162, 173, 184, 195, 207, 217, 229, 240, 252, 255, 255, 255, 255, 255,
          255, 255, 255, 255, 255, 255, 255, 255, 255]
FIRE_G = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 14, 35, 57, 79, 101, 117, 133, 147, 161, 175, 190, 205, 219, 234,
          248, 255, 255, 255, 255]
FIRE_B = [0, 61, 96, 130, 165, 192, 220, 227, 210, 181, 151, 122, 93, 64, 35, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 35, 98,
          160, 223, 255, 255, 255]
VIRIDIS = ["440154", "482878", "3E4A89", "31688E", "26828E", "1F9E89", "35B779", "6DCD59", "B4DE2C", "FDE725"]


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _palettes() -> dict[str, np.ndarray]:
    ramp = np.arange(256, dtype=np.uint8)
    zero = np.zeros(256, np.uint8)
    hilo = np.stack([ramp, ramp, ramp], axis=1)
    hilo[0], hilo[255] = (0, 0, 255), (255, 0, 0)
    out = {
        "grays.lut": np.stack([ramp, ramp, ramp], axis=1),
        "red.lut": np.stack([ramp, zero, zero], axis=1),
        "green.lut": np.stack([zero, ramp, zero], axis=1),
        "blue.lut": np.stack([zero, zero, ramp], axis=1),
        "cyan.lut": np.stack([zero, ramp, ramp], axis=1),
        "magenta.lut": np.stack([ramp, zero, ramp], axis=1),
        "yellow.lut": np.stack([ramp, ramp, zero], axis=1),
        "fire.lut": _ramp(list(zip(FIRE_R, FIRE_G, FIRE_B, strict=True))),
        "hilo.lut": hilo,
        "viridis.lut": _ramp([_hex(c) for c in VIRIDIS]),
        "glasbey.lut": _glasbey(),
    }
    assert set(out) == set(LUT_NAMES)
    return out


PALETTES = _palettes()
IDENTITY = np.arange(256, dtype=np.uint8)


def palette(color: str) -> np.ndarray:
    """The 256 × 3 ``uint8`` palette of a colour (a ramp from black) or a lookup table."""
    if color in PALETTES:
        return PALETTES[color]
    rgb = np.array(_hex(color), np.uint32)
    return ((IDENTITY[:, None].astype(np.uint32) * rgb + 127) // 255).astype(np.uint8)


def _domain(dtype: np.dtype) -> np.ndarray:
    """Every value a ≤16-bit integer type holds, in the order of its unsigned view."""
    unsigned = np.arange(256 if dtype.itemsize == 1 else 65536, dtype=np.uint8 if dtype.itemsize == 1 else np.uint16)
    return unsigned.view(dtype) if dtype.kind == "i" else unsigned


def _labels(values: np.ndarray) -> np.ndarray:
    """Label ids onto palette entries 1..255 (0, the background, stays 0)."""
    v = values.astype(np.int64, copy=False)
    return np.where(v > 0, (v - 1) % 255 + 1, 0).astype(np.uint8)


def _intensity(values: np.ndarray, start: float, end: float, inverted: bool) -> np.ndarray:
    """``values`` through the window onto 0..255 (float maths: only on tables and 32-bit data)."""
    if end > start:
        scaled = (values.astype(np.float64, copy=False) - start) * 255.0 / (end - start)
        if values.dtype.kind == "f":
            np.nan_to_num(scaled, copy=False, nan=0.0)  # not-a-number shows black
        out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    else:
        out = np.where(values >= end, 255, 0).astype(np.uint8)
    if inverted:
        np.subtract(255, out, out=out)
    return out


@dataclass(frozen=True)
class ChannelLut:
    """One channel's tables: ``parts`` pairs a ``uint8`` table with the RGB components it feeds.

    ``direct`` tables are indexed by the raw (unsigned view of the) pixel values; otherwise by
    the channel's 0..255 intensity, and a ``None`` table means the intensity itself."""

    direct: bool
    view: str | None  # unsigned dtype to view signed data as, for direct tables
    grey: np.ndarray | None  # greyscale table (direct only)
    parts: tuple[tuple[np.ndarray | None, tuple[int, ...]], ...]
    channel: ChannelRender

    def index(self, data: np.ndarray) -> np.ndarray:
        return data.view(self.view) if self.view else data

    def intensity(self, data: np.ndarray) -> np.ndarray:
        """0..255 per pixel, for data without direct tables."""
        ch = self.channel
        if ch.color == "glasbey.lut":
            return _labels(data)
        return _intensity(data, ch.start, ch.end, ch.inverted)


@functools.lru_cache(maxsize=128)
def channel_lut(dtype_name: str, channel: ChannelRender) -> ChannelLut:
    """Tables for one channel's settings on one data type (cached: a viewer asks the same often)."""
    dtype = np.dtype(dtype_name)
    pal = palette(channel.color)
    # Components with the same palette column share one table (a grey or yellow channel: one take).
    groups: dict[bytes, tuple[np.ndarray, list[int]]] = {}
    for k in range(3):
        column = pal[:, k]
        if not column.any():
            continue
        groups.setdefault(column.tobytes(), (column, []))[1].append(k)
    direct = dtype.name in DIRECT
    if direct:
        domain = _domain(dtype)
        if channel.color == "glasbey.lut":  # label ids, not intensities: the window does not apply
            intensity = _labels(domain)
        else:
            intensity = _intensity(domain, channel.start, channel.end, channel.inverted)
        parts = tuple((np.ascontiguousarray(column[intensity]), tuple(ks)) for column, ks in groups.values())
        return ChannelLut(True, DIRECT[dtype.name], intensity, parts, channel)
    parts = tuple((None if np.array_equal(column, IDENTITY) else column, tuple(ks)) for column, ks in groups.values())
    return ChannelLut(False, None, None, parts, channel)


def _take(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    out = np.empty(index.shape, np.uint8)
    # mode="clip": indices are always in range, and the default mode="raise" buffers the output.
    np.take(table, index, out=out, mode="clip")
    return out


def composite(planes: list[tuple[np.ndarray, ChannelLut]], shape: tuple[int, int]) -> np.ndarray:
    """Additive RGB of the channels' planes, saturated at 255: an ``(h, w, 3)`` ``uint8`` array, or
    ``(h, w)`` when one grey channel is all there is (a one-component JPEG is cheaper and smaller)."""
    if len(planes) == 1 and len(planes[0][1].parts) == 1 and planes[0][1].parts[0][1] == (0, 1, 2):
        data, lut = planes[0]
        table = lut.parts[0][0]
        if lut.direct:
            return _take(table, lut.index(data))
        intensity = lut.intensity(data)
        return intensity if table is None else _take(table, intensity)
    feeds: list[list[np.ndarray]] = [[], [], []]
    for data, lut in planes:
        if lut.direct:
            index = lut.index(data)
            for table, ks in lut.parts:
                out = _take(table, index)
                for k in ks:
                    feeds[k].append(out)
        else:
            intensity = lut.intensity(data)
            for table, ks in lut.parts:
                out = intensity if table is None else _take(table, intensity)
                for k in ks:
                    feeds[k].append(out)
    rgb = np.empty((*shape, 3), np.uint8) if all(feeds) else np.zeros((*shape, 3), np.uint8)
    for k, feed in enumerate(feeds):
        if len(feed) == 1:
            rgb[..., k] = feed[0]
        elif len(feed) > 1:
            acc = saturating_add(feed[0], feed[1])
            for more in feed[2:]:
                acc = saturating_add(acc, more)
            rgb[..., k] = acc
    return rgb


def saturating_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``min(a + b, 255)`` for ``uint8`` arrays, as ``min(a, 255 - b) + b``: three vectorised ``uint8``
    passes, about 8× faster than summing in ``uint16`` and clipping."""
    out = np.subtract(np.uint8(255), b)
    np.minimum(a, out, out=out)
    return np.add(out, b, out=out)


def greyscale(data: np.ndarray, lut: ChannelLut) -> np.ndarray:
    if lut.direct:
        return _take(lut.grey, lut.index(data))
    return lut.intensity(data)


# ---- encoding -------------------------------------------------------------------------------------
def encode(pixels: np.ndarray, fmt: str, quality: int = 90) -> bytes:
    """JPEG (4:2:0 for colour) or PNG (zlib level 1, fast filter) of an ``(h, w[, 3])`` ``uint8`` array."""
    pixels = np.ascontiguousarray(pixels)
    if fmt == "jpeg":
        subsampling = "420" if pixels.ndim == 3 else None
        return bytes(imagecodecs.jpeg8_encode(pixels, level=quality, subsampling=subsampling))
    if fmt == "png":
        return bytes(imagecodecs.png_encode(pixels, level=1, strategy=3, filter=16))
    raise ValueError(f"unknown format {fmt!r}")


# ---- the renderer ---------------------------------------------------------------------------------
class TileRenderer:
    """Renders views, thumbnails and histograms of stored images (thread-safe; no state of its own)."""

    def plane(self, image: ZarrImage, view: View, t: int, c: int, z_range: tuple[int, int], projection: str
              ) -> np.ndarray:
        """One channel's pixels in ``view``, projected over ``z_range`` when asked."""
        args = (view.y, view.y + view.h, view.x, view.x + view.w)
        z0, z1 = z_range
        if projection == "normal" or z0 == z1:
            return image.read(view.level, t, c, z0, *args)
        first = image.read(view.level, t, c, z0, *args)
        if projection == "intmax":
            acc = first.copy()
            for z in range(z0 + 1, z1 + 1):
                np.maximum(acc, image.read(view.level, t, c, z, *args), out=acc)
            return acc
        kind = first.dtype.kind
        sum_type = np.float64 if kind == "f" else (np.uint64 if kind == "u" else np.int64)
        acc = first.astype(sum_type)
        for z in range(z0 + 1, z1 + 1):
            np.add(acc, image.read(view.level, t, c, z, *args), out=acc, casting="unsafe")
        n = z1 - z0 + 1
        if kind == "f":
            return (acc / n).astype(first.dtype)
        return ((acc + n // 2) // n).astype(first.dtype)

    def pixels(self, image: ZarrImage, settings: RenderSettings, view: View, z_range: tuple[int, int]
               ) -> np.ndarray:
        """The rendered view as ``uint8``: ``(h, w, 3)`` in colour, ``(h, w)`` in greyscale."""
        if len(settings.channels) != image.size_c:
            raise Unreadable(f"the catalogue lists {len(settings.channels)} channels, the stored pixels "
                             f"{image.size_c}")
        dtype = image.dtype.name
        active = [(c, ch) for c, ch in enumerate(settings.channels) if ch.active]
        shape = (view.h, view.w)
        if settings.model == "g":
            if not active:
                return np.zeros(shape, np.uint8)
            c, ch = active[0]
            data = self.plane(image, view, settings.t, c, z_range, settings.projection)
            return greyscale(data, channel_lut(dtype, ch))
        planes = [(self.plane(image, view, settings.t, c, z_range, settings.projection), channel_lut(dtype, ch))
                  for c, ch in active]
        return composite(planes, shape)

    def render(self, image: ZarrImage, plan: RenderPlan) -> tuple[bytes, str]:
        """The encoded view and its media type."""
        pixels = self.pixels(image, plan.settings, plan.view, plan.z_range)
        return encode(pixels, plan.format, plan.quality), MEDIA_TYPES[plan.format]

    def thumbnail(self, image: ZarrImage, settings: RenderSettings, size: int) -> bytes:
        """A JPEG whose longest side is ``size``, from the coarsest level that is at least that large."""
        if not 1 <= size <= MAX_THUMBNAIL:
            raise BadRequest(f"size must be 1–{MAX_THUMBNAIL}, not {size}")
        level = 0
        for lv in image.levels:
            if max(lv.size_x, lv.size_y) >= size:
                level = lv.index
        lv = image.levels[level]
        if lv.size_x * lv.size_y > MAX_THUMBNAIL_SOURCE:
            raise Unreadable("the stored pyramid has no level small enough for a thumbnail")
        z_range = (settings.z, settings.z) if settings.projection == "normal" else (0, image.size_z - 1)
        pixels = self.pixels(image, settings, View(level, 0, 0, lv.size_x, lv.size_y), z_range)
        if lv.size_x >= lv.size_y:
            w, h = size, max(1, round(size * lv.size_y / lv.size_x))
        else:
            w, h = max(1, round(size * lv.size_x / lv.size_y)), size
        if (w, h) != (lv.size_x, lv.size_y):
            picture = Image.fromarray(pixels)
            factor = min(lv.size_x // w, lv.size_y // h)
            if factor >= 2:  # a box reduction first: 5× cheaper than a bilinear resize of the same size
                picture = picture.reduce(factor)
            if picture.size != (w, h):
                picture = picture.resize((w, h), Image.Resampling.BILINEAR)
            pixels = np.asarray(picture)
        return encode(pixels, "jpeg", 90)

    def histogram(self, image: ZarrImage, c: int, z: int, t: int, bins: int,
                  value_range: tuple[float, float] | None = None) -> dict[str, Any]:
        """Counts of one plane's values in ``bins`` equal bins over ``value_range`` (default: the
        plane's own range), from the coarsest level with at least a megapixel."""
        if not 1 <= bins <= MAX_BINS:
            raise BadRequest(f"bins must be 1–{MAX_BINS}, not {bins}")
        level = 0
        for lv in image.levels:
            if lv.size_x * lv.size_y >= HISTOGRAM_PIXELS:
                level = lv.index
        lv = image.levels[level]
        if lv.size_x * lv.size_y > MAX_THUMBNAIL_SOURCE:
            raise Unreadable("the stored pyramid has no level small enough for a histogram")
        data = image.read(level, t, c, z, 0, lv.size_y, 0, lv.size_x)
        if data.dtype.kind == "f":
            data = data[np.isfinite(data)]
        if value_range is None:
            lo, hi = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
        else:
            lo, hi = value_range
        integer = data.dtype.kind in "iu"
        if integer:
            lo, hi = float(np.floor(lo)), float(np.ceil(hi))
            span = hi - lo + 1  # integer bins cover whole values: [lo, hi + 1)
        else:
            span = hi - lo
        if data.dtype.name in DIRECT and _dmin(data) <= lo and hi <= _dmax(data):
            counts = _integer_histogram(data, int(lo), int(hi), bins)
        else:
            counts = np.histogram(data, bins=bins, range=(lo, lo + span if span > 0 else lo + 1))[0]
        return {"channel": c + 1, "z": z, "t": t, "level": level, "bins": bins, "min": lo, "max": hi,
                "bin_width": (span if span > 0 else 1) / bins, "counts": counts.tolist()}


def _dmin(data: np.ndarray) -> int:
    return int(np.iinfo(data.dtype).min)


def _dmax(data: np.ndarray) -> int:
    return int(np.iinfo(data.dtype).max)


def _integer_histogram(data: np.ndarray, lo: int, hi: int, bins: int) -> np.ndarray:
    """Exact counts for ≤16-bit data: one ``bincount`` over every value, then summed into the same
    bins as ``np.histogram(data, bins, range=(lo, hi + 1))``."""
    offset = -_dmin(data)
    values = data.ravel() if offset == 0 else data.astype(np.int32).ravel() + offset
    every = np.bincount(values, minlength=_dmax(data) + offset + 1)[lo + offset:hi + offset + 1]
    n = hi - lo + 1
    # Bin i holds the whole values v with i <= (v - lo) * bins / n < i + 1: from ceil(i * n / bins).
    starts = (np.arange(bins + 1, dtype=np.int64) * n + bins - 1) // bins
    counts = np.zeros(bins, np.int64)
    nonempty = np.flatnonzero(starts[1:] > starts[:-1])
    counts[nonempty] = np.add.reduceat(every, starts[:-1][nonempty])
    return counts


__all__ = ["TILE", "TileRenderer", "channel_lut", "composite", "encode", "palette"]
