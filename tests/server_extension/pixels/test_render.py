"""The renderer against a plain float reference: windows, colours, saturation, inversion, lookup
tables, greyscale, projections, encodings, thumbnails and histograms."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from scopehub.server_extension.pixels.render import PALETTES, TileRenderer, saturating_add
from scopehub.server_extension.pixels.render_params import (
    ChannelRender,
    ImageGeometry,
    RenderQuery,
    RenderSettings,
)
from scopehub.server_extension.pixels.store_reader import PixelStore, ZarrImage

from .stored_images import write_ome_zarr

renderer = TileRenderer()


def stored(tmp_path: Path, data: np.ndarray, name: str = "img") -> ZarrImage:
    write_ome_zarr(tmp_path / "pixels" / f"{name}.ome.zarr", data)
    return PixelStore(tmp_path).open(f"pixels/{name}.ome.zarr")


def geometry(image: ZarrImage) -> ImageGeometry:
    return ImageGeometry(
        image.size_x,
        image.size_y,
        image.size_z,
        image.size_c,
        image.size_t,
        tuple((lv.size_x, lv.size_y) for lv in image.levels),
        image.dtype.name,
    )


def render(image: ZarrImage, settings: RenderSettings, **args: str) -> tuple[np.ndarray, bytes, str]:
    plan = RenderQuery.parse({"format": "png", **args}).plan(settings, geometry(image))
    data, media_type = renderer.render(image, plan)
    return np.asarray(Image.open(io.BytesIO(data))), data, media_type


def intensity(values: np.ndarray, start: float, end: float, inverted: bool = False) -> np.ndarray:
    """The reference: the window onto 0..255 in float maths."""
    if end > start:
        out = np.clip(np.rint((values.astype(np.float64) - start) * 255.0 / (end - start)), 0, 255)
    else:
        out = np.where(values >= end, 255.0, 0.0)
    return 255 - out if inverted else out


def reference(planes: list[np.ndarray], channels: list[ChannelRender]) -> np.ndarray:
    total = np.zeros((*planes[0].shape, 3))
    for plane, ch in zip(planes, channels, strict=True):
        if not ch.active:
            continue
        i = intensity(plane, ch.start, ch.end, ch.inverted)
        rgb = [int(ch.color[k : k + 2], 16) for k in (0, 2, 4)]
        for k in range(3):
            total[..., k] += (i * rgb[k] + 127) // 255
    return np.minimum(total, 255).astype(np.uint8)


def smooth(shape: tuple[int, ...], dtype: str, low: float, high: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, shape).astype(dtype)


COLORS = ("FF0000", "00FF00", "0000FF", "FF00FF")


@pytest.mark.parametrize(
    ("dtype", "low", "high", "windows"),
    [
        ("uint16", 0, 4096, [(100, 3000), (0, 4095), (2000, 2000), (500, 1000)]),
        ("uint8", 0, 256, [(10, 200), (0, 255), (50, 60), (0, 100)]),
        ("int16", -3000, 3000, [(-1000, 1000), (-3000, 0), (0, 2500), (-5, 5)]),
        ("uint32", 0, 100000, [(0, 100000), (5000, 6000), (0, 1), (20000, 80000)]),
        ("float32", -1, 1, [(-1, 1), (0, 0.5), (-0.5, 0), (0.25, 0.75)]),
    ],
)
def test_four_channels_composite_exactly_as_the_reference(
    tmp_path: Path, dtype: str, low: float, high: float, windows: list
) -> None:
    data = smooth((1, 4, 1, 700, 600), dtype, low, high)
    image = stored(tmp_path, data)
    channels = [
        ChannelRender(True, float(s), float(e), COLORS[i], inverted=(i == 1)) for i, (s, e) in enumerate(windows)
    ]
    settings = RenderSettings(tuple(channels))
    got, _, media_type = render(image, settings, region="0,0,600,700")
    assert media_type == "image/png" and got.shape == (700, 600, 3)
    expected = reference([data[0, c, 0] for c in range(4)], channels)
    np.testing.assert_array_equal(got, expected)
    # A tile at full resolution is the same pixels as the region.
    tile, _, _ = render(image, settings, tile="0,1,1")
    np.testing.assert_array_equal(tile, expected[512:700, 512:600])


def test_float_images_with_nan_and_infinities(tmp_path: Path) -> None:
    data = np.array([[np.nan, -np.inf, np.inf, 0.5, -1.0, 2.0]], np.float32)[None, None, None]
    image = stored(tmp_path, data)
    got, _, _ = render(image, RenderSettings((ChannelRender(True, 0, 1, "FFFFFF"),)))
    assert got.tolist() == [[0, 0, 255, 128, 0, 255]]


def test_colours_add_up_and_saturate(tmp_path: Path) -> None:
    data = np.zeros((1, 3, 1, 64, 64), np.uint16)
    data[0, :, 0] = 200
    image = stored(tmp_path, data)
    settings = RenderSettings(
        (
            ChannelRender(True, 0, 255, "FF0000"),
            ChannelRender(True, 0, 255, "808000"),
            ChannelRender(True, 0, 255, "FF0000"),
        )
    )
    got, _, _ = render(image, settings)
    # red: 200 + round(200·128/255) + 200 saturates; green: 100; blue: none.
    assert tuple(got[5, 5]) == (255, 100, 0)
    a = np.arange(256, dtype=np.uint8)
    sums = saturating_add(a[:, None].repeat(256, 1), a[None, :].repeat(256, 0))
    np.testing.assert_array_equal(sums, np.minimum(a[:, None].astype(int) + a[None, :], 255))


def test_channels_off_greyscale_and_single_grey_channel(tmp_path: Path) -> None:
    data = smooth((1, 2, 1, 100, 80), "uint16", 0, 1000)
    image = stored(tmp_path, data)
    settings = RenderSettings((ChannelRender(True, 0, 1000, "00FF00"), ChannelRender(True, 100, 900, "FF0000")))
    # Greyscale shows the first active channel, as one-component image.
    got, _, _ = render(image, settings, m="g", c="-1,2")
    assert got.ndim == 2
    np.testing.assert_array_equal(got, intensity(data[0, 1, 0], 100, 900).astype(np.uint8))
    # In colour, one white channel alone is grey too (a one-component JPEG is cheaper).
    got, _, _ = render(image, settings, c="-1,2$FFFFFF")
    assert got.ndim == 2
    np.testing.assert_array_equal(got, intensity(data[0, 1, 0], 100, 900).astype(np.uint8))
    # No channel on: black.
    got, _, _ = render(image, settings, c="-1,-2")
    assert got.shape == (100, 80, 3) and not got.any()


def test_lookup_tables_and_label_colours(tmp_path: Path) -> None:
    data = np.zeros((1, 1, 1, 16, 600), np.uint16)
    data[0, 0, 0, 0] = np.arange(600)
    image = stored(tmp_path, data)
    base = RenderSettings((ChannelRender(True, 0, 255, "fire.lut"),))
    got, _, _ = render(image, base, region="0,0,256,1")
    np.testing.assert_array_equal(got[0], PALETTES["fire.lut"][:256])
    labels, _, _ = render(image, RenderSettings((ChannelRender(True, 0, 1, "glasbey.lut"),)), region="0,0,600,1")
    assert not labels[0, 0].any()  # background
    np.testing.assert_array_equal(labels[0, 1], labels[0, 256])  # ids wrap over 255 colours
    assert len({tuple(c) for c in labels[0, 1:256]}) > 200  # neighbours differ


@pytest.mark.parametrize("projection", ["intmax", "intmean"])
def test_z_projections(tmp_path: Path, projection: str) -> None:
    data = smooth((1, 1, 6, 40, 30), "uint16", 0, 60000, seed=3)
    image = stored(tmp_path, data)
    settings = RenderSettings((ChannelRender(True, 0, 65535, "FFFFFF"),), "g", projection, 0, 0)
    got, _, _ = render(image, settings, p=f"{projection}|1:4")
    stack = data[0, 0, 1:5].astype(np.float64)
    projected = stack.max(0) if projection == "intmax" else np.floor((stack.sum(0) + 2) / 4)
    np.testing.assert_array_equal(got, intensity(projected, 0, 65535).astype(np.uint8))


def test_jpeg_is_4_2_0_and_quality_changes_it(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:512, 0:512]
    data = np.stack([xx * 8, yy * 8 + (xx % 16) * 40])[None, :, None].astype(np.uint16)
    image = stored(tmp_path, data)
    settings = RenderSettings((ChannelRender(True, 0, 4095, "FF0000"), ChannelRender(True, 0, 4095, "00FF00")))
    plan = RenderQuery.parse({"tile": "0,0,0"}).plan(settings, geometry(image))
    data90, media_type = renderer.render(image, plan)
    assert media_type == "image/jpeg"
    jpeg = Image.open(io.BytesIO(data90))
    assert jpeg.format == "JPEG" and jpeg.size == (512, 512) and jpeg.mode == "RGB"
    assert JpegImagePlugin.get_sampling(jpeg) == 2  # 4:2:0
    expected = reference([data[0, 0, 0], data[0, 1, 0]], list(settings.channels))
    assert np.abs(np.asarray(jpeg).astype(int) - expected).mean() < 3
    low = renderer.render(image, RenderQuery.parse({"tile": "0,0,0", "q": "0.3"}).plan(settings, geometry(image)))[0]
    assert len(low) < len(data90) * 0.7


def test_thumbnails_keep_the_aspect_and_use_a_small_level(tmp_path: Path) -> None:
    data = smooth((1, 1, 1, 2000, 1000), "uint8", 0, 256)
    image = stored(tmp_path, data)
    settings = RenderSettings((ChannelRender(True, 0, 255, "FFFFFF"),))
    thumb = Image.open(io.BytesIO(renderer.thumbnail(image, settings, 96)))
    assert thumb.format == "JPEG" and thumb.size == (48, 96)
    big = Image.open(io.BytesIO(renderer.thumbnail(image, settings, 1024)))
    assert big.size == (512, 1024)
    image.cache.clear()
    renderer.thumbnail(image, settings, 96)
    # Only the coarsest level (250 × 125, one chunk) was read.
    assert image.cache.nbytes == 512 * 512


def test_histograms_match_numpy(tmp_path: Path) -> None:
    data = smooth((1, 2, 2, 300, 200), "uint16", 100, 5000, seed=9)
    image = stored(tmp_path, data)
    h = renderer.histogram(image, 1, 1, 0, 64)
    plane = data[0, 1, 1]
    lo, hi = int(plane.min()), int(plane.max())
    expected = np.histogram(plane, bins=64, range=(lo, hi + 1))[0]
    assert (h["min"], h["max"], h["level"], h["channel"]) == (lo, hi, 0, 2)
    assert h["counts"] == expected.tolist() and sum(h["counts"]) == plane.size
    h = renderer.histogram(image, 0, 0, 0, 65536, value_range=(0, 65535))
    np.testing.assert_array_equal(h["counts"], np.bincount(data[0, 0, 0].ravel(), minlength=65536))
    floats = stored(tmp_path, smooth((1, 1, 1, 50, 50), "float32", -1, 1), "floats")
    h = renderer.histogram(floats, 0, 0, 0, 10, value_range=(-1, 1))
    assert sum(h["counts"]) == 2500 and h["bin_width"] == pytest.approx(0.2)


def test_the_service_caches_rendered_bytes_by_everything_that_changes_them(tmp_path: Path) -> None:
    from scopehub.server_extension.pixels.cache import Rendered, RenderedCache
    from scopehub.server_extension.pixels.service import PixelService
    from scopehub.server_extension.pixels.settings import ChannelInfo, PixelImage

    data = smooth((1, 2, 1, 600, 600), "uint16", 0, 4096)
    write_ome_zarr(tmp_path / "pixels" / "s.ome.zarr", data)
    channels = tuple(ChannelInfo(i, f"c{i}", "FF0000", 0, 4095, 0, 4095) for i in range(2))
    image = PixelImage(7, "pixels/s.ome.zarr", 600, 600, 1, 2, 1, "uint16", False, False, channels)
    service = PixelService(tmp_path, threads=1)
    try:
        first = service.render(image, RenderQuery.parse({"tile": "0,0,0"}))
        assert service.render(image, RenderQuery.parse({"tile": "0,0,0"})) is first
        assert (service.cache.hits, len(service.cache)) == (1, 1)
        # Another view, window, quality or saved setting is another entry.
        service.render(image, RenderQuery.parse({"tile": "0,1,0"}))
        service.render(image, RenderQuery.parse({"tile": "0,0,0", "c": "1|0:100"}))
        service.render(image, RenderQuery.parse({"tile": "0,0,0", "q": "0.5"}))
        saved = dict(image.__dict__, saved={"z": 0, "model": "g"})
        service.render(PixelImage(**saved), RenderQuery.parse({"tile": "0,0,0"}))
        service.thumbnail(image, 96)
        assert (service.cache.hits, len(service.cache)) == (1, 6)
        assert service.cache.invalidate(7) == 6 and len(service.cache) == 0 and service.cache.nbytes == 0
        assert first.etag.startswith('"') and first.media_type == "image/jpeg"
    finally:
        service.close()
    small = RenderedCache(max_bytes=800)
    for i in range(10):
        small.put((i % 2, i), Rendered.of(bytes(100), "image/png"))
    assert small.nbytes == 800 and len(small) == 8 and small.get((0, 0)) is None and small.get((1, 9)) is not None
    assert small.invalidate(0) == 4 and small.nbytes == 400
