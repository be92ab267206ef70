"""Micro-benchmark of the pixel service's rendering path, in-process (no HTTP, no database).

Writes a 4-channel uint16 OME-Zarr (the store layout of docs/developer/pixels.md) with zarr-python,
then times ``TileRenderer`` on 512² tiles: cold (decoded-chunk cache empty, files in the page
cache) and warm (chunks decoded already), 1 and 4 channels, JPEG and PNG; a 256 thumbnail and a
1024² region. Medians in milliseconds.

    .venv/bin/python benchmarks/render_micro.py [--size 4096] [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from scopehub.server_extension.pixels.render import TileRenderer, encode
from scopehub.server_extension.pixels.render_params import (
    ChannelRender,
    ImageGeometry,
    RenderPlan,
    RenderQuery,
    RenderSettings,
)
from scopehub.server_extension.pixels.store_reader import PixelStore

COLORS = ("FF0000", "00FF00", "0000FF", "FF00FF")


def synthetic(size: int, channels: int = 4, seed: int = 0) -> np.ndarray:
    """Blobs on a smooth background with shot noise: compresses like fluorescence, not like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((1, channels, 1, size, size), np.uint16)
    for c in range(channels):
        base = 300 + 200 * np.sin(xx * (7 + c)) * np.cos(yy * (5 + c))
        for _ in range(size // 64):
            cy, cx, r = rng.random(), rng.random(), rng.uniform(0.002, 0.01)
            base += 2500 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        out[0, c, 0] = np.clip(rng.poisson(np.maximum(base, 0)), 0, 4095)
    return out


def write(dest: Path, data: np.ndarray) -> None:
    levels = [data]
    while max(levels[-1].shape[3:]) > 512:
        p = levels[-1].astype(np.uint32)
        levels.append(((p[..., ::2, ::2] + p[..., 1::2, ::2] + p[..., ::2, 1::2] + p[..., 1::2, 1::2] + 2) // 4)
                      .astype(np.uint16))
    datasets = [{"path": str(k), "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1, 2**k, 2**k]}]}
                for k in range(len(levels))]
    axes = [{"name": n, "type": t} for n, t in zip("tczyx", ["time", "channel", "space", "space", "space"],
                                                     strict=True)]
    group = zarr.create_group(store=str(dest), zarr_format=3, attributes={"ome": {
        "version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets}]}})
    for k, level in enumerate(levels):
        a = group.create_array(str(k), shape=level.shape, chunks=(1, 1, 1, 512, 512), dtype="uint16",
                               compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
                               dimension_names=list("tczyx"), fill_value=0)
        a[...] = level


def median_ms(fn: Callable[[int], object], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this thread (steadier on a busy machine), in ms."""
    wall, cpu = [], []
    for i in range(repeat):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn(i)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="scopehub-render-micro-"))
    write(root / "pixels" / "bench.ome.zarr", synthetic(args.size))
    store = PixelStore(root)
    image = store.open("pixels/bench.ome.zarr")
    renderer = TileRenderer()
    levels = tuple((lv.size_x, lv.size_y) for lv in image.levels)
    geometry = ImageGeometry(image.size_x, image.size_y, 1, 4, 1, levels, "uint16")
    base = RenderSettings(tuple(ChannelRender(True, 100, 3000, c) for c in COLORS))
    tiles = [(x, y) for y in range(args.size // 512) for x in range(args.size // 512)]
    four = ",".join(f"{c + 1}|100:3000${COLORS[c]}" for c in range(4))
    one = "1|100:3000$FFFFFF"

    def plan(i: int, channels: str, fmt: str) -> RenderPlan:
        x, y = tiles[i % len(tiles)]
        return RenderQuery.parse({"c": channels, "tile": f"0,{x},{y}", "format": fmt}).plan(base, geometry)

    rows: list[tuple[str, tuple[float, float], tuple[float, float] | None]] = []
    for label, channels in (("4 channels", four), ("1 channel", one)):
        for fmt in ("jpeg", "png"):
            repeat = args.repeat if fmt == "jpeg" else max(10, args.repeat // 10)
            plans = [plan(i, channels, fmt) for i in range(repeat)]
            renderer.render(image, plans[0])  # lookup tables are built once per settings, as in a viewer

            def cold(i: int, plans: list[RenderPlan] = plans) -> None:
                store.chunks.clear()
                renderer.render(image, plans[i])

            def warm(i: int, plans: list[RenderPlan] = plans) -> None:
                renderer.render(image, plans[i])

            cold_ms = median_ms(cold, repeat)
            for p in plans:
                renderer.render(image, p)
            rows.append((f"512² tile, {label}, {fmt.upper()}", cold_ms, median_ms(warm, repeat)))

    # The pieces of the 4-channel JPEG path.
    p4 = plan(0, four, "jpeg")
    rows.append(("  read + decode 4 chunks", median_ms(
        lambda i: (store.chunks.clear(), [image.chunk(0, 0, c, 0, 1, 1) for c in range(4)]), args.repeat), None))
    rows.append(("  composite 4 channels (decoded chunks)", median_ms(
        lambda i: renderer.pixels(image, p4.settings, p4.view, p4.z_range), args.repeat), None))
    rgb = renderer.pixels(image, p4.settings, p4.view, p4.z_range)
    rows.append(("  JPEG encode 512² RGB", median_ms(lambda i: encode(rgb, "jpeg", 90), args.repeat), None))

    def thumbnail(i: int) -> None:
        store.chunks.clear()
        renderer.thumbnail(image, base, 256)

    def region(i: int) -> None:
        store.chunks.clear()
        x = 512 * (i % max(1, args.size // 512 - 2))
        renderer.render(image, RenderQuery.parse({"c": four, "region": f"{x},{x},1024,1024"}).plan(base, geometry))

    rows.append(("256 thumbnail, 4 channels (cold)", median_ms(thumbnail, 50), None))
    rows.append(("1024² region, 4 channels, JPEG (cold)", median_ms(region, 30), None))

    print(f"image {args.size}² × 4 channels uint16, levels {[lv.size_x for lv in image.levels]}; medians in ms")
    print(f"{'what':42} {'cold wall':>10} {'cold cpu':>9} {'warm wall':>10} {'warm cpu':>9}")
    for label, (cw, cc), warm_ms in rows:
        tail = f" {warm_ms[0]:10.2f} {warm_ms[1]:9.2f}" if warm_ms else ""
        print(f"{label:42} {cw:10.2f} {cc:9.2f}{tail}")


if __name__ == "__main__":
    main()
