"""Pixel benchmarks of issue 4: scopehub against large_image and ome-zarr-py, same run, same data.

    .venv/bin/python -m benchmarks.pixels [--quick] [--data-dir DIR] [--write-docs]

Data: a generated 4-channel uint16 pyramidal OME-TIFF (zlib, 512² tiles; 16384², or 8192² with
``--quick``) cached under ``~/.cache/scopehub-bench/``, imported into a fresh catalogue with the real
``scopehub import`` command. The peers run in ``.venv-peers/`` (see ``benchmarks/peers.py``).

Measured, medians over distinct tiles or regions:
1. one 512² full-resolution tile, 4 channels composited (red, green, blue, magenta with windows),
   JPEG q=0.9, in-process: scopehub's store reader + TileRenderer against large_image's getTile on the
   OME-TIFF; warm (files in the page cache, nothing decoded or rendered before) and cold (decoded-chunk
   and tile caches cleared, files evicted with POSIX_FADV_DONTNEED before each tile);
2. over HTTP, 4 connections, wrk, distinct tiles: scopehub's render route in a real ``jupyter server``
   with a token against large_image's Jupyter tile server (127.0.0.1);
3. a 256 thumbnail of an uncached image (opened anew, caches cleared, files evicted) and a 1024² region;
4. the import (``scopehub import`` and ``write_pyramid`` alone) against ome-zarr-py ``write_image`` with a
   full pyramid: time and peak RSS (VmHWM);
5. the server's RSS, sampled each second under a tile load, plotted into ``docs/images/``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks import peers
from benchmarks.data import make_pyramidal_ome_tiff

ROOT = Path(__file__).resolve().parent.parent
PY = Path(sys.executable)
DOCS = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "images" / "bench-server-rss.png"
COLORS = ["FF0000", "00FF00", "0000FF", "FF00FF"]
WINDOWS = [[100 + 40 * c, 2600 + 1200 * (c % 3)] for c in range(4)]
CHANNELS = ",".join(f"{c + 1}|{lo}:{hi}${COLORS[c]}" for c, (lo, hi) in enumerate(WINDOWS))


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---- data and import ----------------------------------------------------------------------------
def ensure_tiff(data_dir: Path, size: int) -> Path:
    """The benchmark OME-TIFF, generated once (or linked from /tmp/bench/ when it was made there)."""
    path = data_dir / f"p{size}.ome.tif"
    if not path.exists():
        ready = Path("/tmp/bench") / path.name
        if ready.exists():
            try:
                os.link(ready, path)
            except OSError:
                shutil.copyfile(ready, path)
        else:
            log(f"generating {path}")
            make_pyramidal_ome_tiff(path, size=size, channels=4)
    return path


HWM_WRAPPER = """
import sys, resource
from pathlib import Path
from scopehub.server_extension.cli import main
rc = main(sys.argv[1:])
hwm = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:'))
print('PEAK_RSS_KB', hwm.split()[1], file=sys.stderr)
sys.exit(rc)
"""

PYRAMID_SCRIPT = """
import json, sys, time
from pathlib import Path
from scopehub.server_extension.pixels.readers import open_source
from scopehub.server_extension.pixels.writer import write_pyramid
t0 = time.perf_counter()
with open_source(sys.argv[1]) as source:
    info = write_pyramid(source.images[0], sys.argv[2])
seconds = time.perf_counter() - t0
hwm = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:'))
print(json.dumps({"seconds": seconds, "peak_rss_mb": int(hwm.split()[1]) / 1024, "reused": info.reused_levels}))
"""


def scopehub_import(tif: Path, catalogue: Path) -> dict[str, Any]:
    """``scopehub import`` into a fresh catalogue: wall time and the command's peak RSS."""
    shutil.rmtree(catalogue, ignore_errors=True)
    catalogue.mkdir(parents=True)
    common = ["--data-dir", str(catalogue), "--operator", "admin"]
    for setup in (["db", "upgrade"], ["groups", "add", "bench", "--level", "read-only"],
                  ["groups", "add-member", "bench", "admin"]):
        subprocess.run([str(PY), "-m", "scopehub.server_extension.cli", setup[0], *common, *setup[1:]], check=True,
                       stdout=subprocess.DEVNULL)
    evict(tif)
    t0 = time.perf_counter()
    done = subprocess.run([str(PY), "-c", HWM_WRAPPER, "import", *common, "--json", "--no-progress",
                           "--target", "Project:bench/Dataset:bench", str(tif)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"scopehub import failed ({done.returncode}):\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}")
    result = json.loads(done.stdout)
    peak = int(re.search(r"PEAK_RSS_KB (\d+)", done.stderr).group(1)) / 1024
    return {"seconds": seconds, "peak_rss_mb": peak, "image_id": result["images"][0]}


def pyramid_only(tif: Path, out: Path) -> dict[str, Any]:
    """``write_pyramid`` alone (no catalogue, no copy of the original), in a child process."""
    shutil.rmtree(out, ignore_errors=True)
    evict(tif)
    done = subprocess.run([str(PY), "-c", PYRAMID_SCRIPT, str(tif), str(out)], check=True,
                          capture_output=True, text=True)
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def stored_zarr(catalogue: Path) -> Path:
    """The imported image's OME-Zarr folder (the catalogue holds exactly one)."""
    found = sorted((catalogue / "store" / "pixels").glob("*/*.ome.zarr"))
    if len(found) != 1:
        raise RuntimeError(f"expected one stored image under {catalogue}, found {found}")
    return found[0]


# ---- in-process rendering -----------------------------------------------------------------------
class ScopehubInProcess:
    """scopehub's store reader + renderer on the imported image (what the render route runs)."""

    def __init__(self, zarr_dir: Path):
        from scopehub.server_extension.pixels.render import TileRenderer
        from scopehub.server_extension.pixels.render_params import ChannelRender, ImageGeometry, RenderSettings
        from scopehub.server_extension.pixels.store_reader import PixelStore

        self.root = zarr_dir.parent.parent.parent
        self.rel = str(zarr_dir.relative_to(self.root))
        self.zarr_dir = zarr_dir
        self.store = PixelStore(self.root)
        self.image = self.store.open(self.rel)
        self.renderer = TileRenderer()
        im = self.image
        self.geometry = ImageGeometry(im.size_x, im.size_y, im.size_z, im.size_c, im.size_t,
                                      tuple((lv.size_x, lv.size_y) for lv in im.levels), im.dtype.name)
        self.base = RenderSettings(tuple(ChannelRender(True, lo, hi, COLORS[c]) for c, (lo, hi) in enumerate(WINDOWS)))

    def plan(self, **query: str):
        from scopehub.server_extension.pixels.render_params import RenderQuery

        return RenderQuery.parse({"c": CHANNELS, "q": "0.9", **query}).plan(self.base, self.geometry)

    def chunk_files(self, level: int, x0: int, y0: int, w: int, h: int) -> list[Path]:
        files = []
        for c in range(4):
            for yi in range(y0 // 512, (y0 + h - 1) // 512 + 1):
                for xi in range(x0 // 512, (x0 + w - 1) // 512 + 1):
                    f = self.zarr_dir / str(level) / "c" / "0" / str(c) / "0" / str(yi) / str(xi)
                    if f.exists():
                        files.append(f)
        return files

    def all_files(self) -> list[Path]:
        return [p for p in self.zarr_dir.rglob("*") if p.is_file()]

    def tile(self, x: int, y: int) -> bytes:
        return self.renderer.render(self.image, self.plan(tile=f"0,{x},{y}"))[0]

    def region(self, x: int, y: int, w: int, h: int) -> bytes:
        return self.renderer.render(self.image, self.plan(region=f"{x},{y},{w},{h}"))[0]


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1e3


def bench_tiles(sh: ScopehubInProcess, tif: Path, count: int) -> dict[str, Any]:
    n = sh.image.size_x // 512
    rng = random.Random(1)
    tiles = rng.sample([(x, y) for y in range(n) for x in range(n)], min(n * n, 2 * count + 8))
    warmup, tiles = tiles[:8], tiles[8:]
    log(f"tiles: large_image, {len(tiles)} distinct tiles")
    li = peers.run("tiles", path=str(tif), windows=WINDOWS, colors=COLORS, tiles=tiles, warmup=warmup)
    log("tiles: scopehub")
    for x, y in warmup:
        sh.tile(x, y)
    half = len(tiles) // 2
    for x, y in tiles[:half]:
        for f in sh.chunk_files(0, x * 512, y * 512, 512, 512):
            f.read_bytes()  # in the page cache, as the TIFF is for large_image
    sh.store.chunks.clear()
    warm = [timed(sh.tile, x, y) for x, y in tiles[:half]]
    cold = []
    for x, y in tiles[half:]:
        sh.store.chunks.clear()
        for f in sh.chunk_files(0, x * 512, y * 512, 512, 512):
            evict(f)
        cold.append(timed(sh.tile, x, y))
    return {"scopehub": {"warm": med(warm), "cold": med(cold)},
            "large_image": {"warm": med(li["warm_ms"]), "cold": med(li["cold_ms"]), "source": li["source"]},
            "n": half}


def bench_thumbnail_region(sh: ScopehubInProcess, tif: Path, repeat: int) -> dict[str, Any]:
    from scopehub.server_extension.pixels.store_reader import PixelStore

    log("thumbnail + region: large_image")
    li_thumb = peers.run("thumbnail", path=str(tif), windows=WINDOWS, colors=COLORS, repeat=repeat)["cold_ms"]
    rng = random.Random(2)
    top = sh.image.size_x - 1024
    regions = [[rng.randrange(0, top, 64), rng.randrange(0, top, 64), 1024, 1024] for _ in range(2 * repeat)]
    li_region_warm = peers.run("region", path=str(tif), windows=WINDOWS, colors=COLORS, regions=regions[:repeat],
                               cold=False)["ms"]
    li_region_cold = peers.run("region", path=str(tif), windows=WINDOWS, colors=COLORS, regions=regions[repeat:],
                               cold=True)["ms"]
    log("thumbnail + region: scopehub")
    files = sh.all_files()
    small = [f for f in files if f.relative_to(sh.zarr_dir).parts[0] not in ("0", "1", "2")]
    thumbs = []
    for _ in range(repeat):
        for f in small:
            evict(f)
        t0 = time.perf_counter()
        store = PixelStore(sh.root)  # an image not opened before: no metadata, no decoded chunks
        image = store.open(sh.rel)
        sh.renderer.thumbnail(image, sh.base, 256)
        thumbs.append((time.perf_counter() - t0) * 1e3)
    for x, y, w, h in regions[:repeat]:
        for f in sh.chunk_files(0, x, y, w, h):
            f.read_bytes()
    sh.store.chunks.clear()
    region_warm = [timed(sh.region, *r) for r in regions[:repeat]]
    region_cold = []
    for r in regions[repeat:]:
        sh.store.chunks.clear()
        for f in sh.chunk_files(0, *r):
            evict(f)
        region_cold.append(timed(sh.region, *r))
    return {"thumbnail": {"scopehub": med(thumbs), "large_image": med(li_thumb)},
            "region_warm": {"scopehub": med(region_warm), "large_image": med(li_region_warm)},
            "region_cold": {"scopehub": med(region_cold), "large_image": med(li_region_cold)}}


# ---- HTTP ---------------------------------------------------------------------------------------
WRK_SCRIPT = """
local urls = {}
local n = 0
for line in io.lines("%(urls)s") do n = n + 1; urls[n] = line end
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  i = id
  stride = %(threads)d
  headers = {}
  headers["Authorization"] = "token %(token)s"
end
function request()
  local url = urls[(i %% n) + 1]
  i = i + stride
  return wrk.format("GET", url, headers)
end
function done(summary, latency, requests)
  io.write(string.format("WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
    .. "\\"connect\\": %%d, \\"read\\": %%d, \\"write\\": %%d, \\"status\\": %%d, \\"timeout\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
end
"""


def wrk(base: str, paths: list[str], token: str, seconds: float, work: Path) -> dict[str, Any]:
    """4 connections on 2 threads, cycling through ``paths`` (each thread its own stride)."""
    urls = work / f"urls-{secrets.token_hex(4)}.txt"
    urls.write_text("\n".join(paths) + "\n")
    script = work / f"wrk-{secrets.token_hex(4)}.lua"
    script.write_text(WRK_SCRIPT % {"urls": urls, "threads": 2, "token": token})
    out = subprocess.run(["wrk", "-t2", "-c4", f"-d{int(seconds)}s", "--timeout", "10s", "-s", str(script), base],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1e3, "p99_ms": r["p99_us"] / 1e3,
            "errors": r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"], "requests": r["requests"]}


def start_scopehub_server(catalogue: Path):
    sys.path.insert(0, str(ROOT))
    from tests.jupyter import JupyterServerProcess

    return JupyterServerProcess([f"--ScopehubApp.data_dir={catalogue}", "--ScopehubApp.standalone_username=admin"],
                                startup_timeout=120).start()


def scopehub_tile_paths(image_id: int, levels: list[tuple[int, int]], rounds: int) -> list[str]:
    """Every tile of every level, shuffled; round k shifts the windows by k, so a later round never hits
    the rendered-tile cache (the decoded chunks are evicted long before a round comes back)."""
    tiles = [(lv, x, y) for lv, (sx, sy) in enumerate(levels)
             for y in range((sy + 511) // 512) for x in range((sx + 511) // 512)]
    random.Random(3).shuffle(tiles)
    paths = []
    for k in range(rounds):
        c = ",".join(f"{i + 1}|{lo}:{hi + k}${COLORS[i]}" for i, (lo, hi) in enumerate(WINDOWS))
        paths += [f"/scopehub/api/v1/images/{image_id}/render?tile={lv},{x},{y}&c={c}&q=0.9" for lv, x, y in tiles]
    return paths


def large_image_tile_paths(levels: list[tuple[int, int]]) -> list[str]:
    """Every tile of every level once, shuffled (large_image z: 0 = the coarsest level)."""
    top = len(levels) - 1
    tiles = [(top - lv, x, y) for lv, (sx, sy) in enumerate(levels)
             for y in range((sy + 511) // 512) for x in range((sx + 511) // 512)]
    random.Random(3).shuffle(tiles)
    return [f"/tile?z={z}&x={x}&y={y}&encoding=JPEG" for z, x, y in tiles]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_http(server, image_id: int, sh: ScopehubInProcess, tif: Path, seconds: float, work: Path) -> dict[str, Any]:
    import requests

    levels = [(lv.size_x, lv.size_y) for lv in sh.image.levels]
    # One pass of distinct tiles at most: large_image caches rendered tiles, so a second pass would hit.
    li_paths = large_image_tile_paths(levels)
    port = free_port()
    proc = peers.popen("serve", path=str(tif), windows=WINDOWS, colors=COLORS, port=port)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if requests.get(base + "/metadata", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        r = requests.get(base + li_paths[-1], timeout=30)
        r.raise_for_status()
        log(f"http: large_image tile server, {seconds:.0f} s")
        li = wrk(base, li_paths[:-1], "none", seconds, work)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()
    paths = scopehub_tile_paths(image_id, levels, rounds=8)
    base = server.url.rstrip("/")
    r = requests.get(base + paths[-1], headers={"Authorization": f"token {server.token}"}, timeout=30)
    r.raise_for_status()
    assert r.headers["Content-Type"].startswith("image/jpeg"), r.headers
    log(f"http: scopehub render route, {seconds:.0f} s")
    sh_http = wrk(base, paths[:-1], server.token, seconds, work)
    bad = requests.get(base + paths[0], timeout=10)  # authentication is on: no token, no tile
    return {"scopehub": sh_http, "large_image": li, "no_token_status": bad.status_code,
            "li_distinct": len(li_paths) - 1}


def rss_under_load(server, image_id: int, sh: ScopehubInProcess, seconds: float, work: Path) -> dict[str, Any]:
    """Sample the server's RSS each second while wrk asks for distinct tiles for ``seconds``."""
    levels = [(lv.size_x, lv.size_y) for lv in sh.image.levels]
    per_round = sum(((sx + 511) // 512) * ((sy + 511) // 512) for sx, sy in levels)
    # Enough rounds that wrk never runs out, at up to 400 tiles a second.
    paths = scopehub_tile_paths(image_id, levels, rounds=max(8, -(-int(seconds * 400) // per_round)))
    proc = psutil.Process(server.proc.pid)
    samples: list[list[float]] = []
    stop = threading.Event()

    def sample() -> None:
        t0 = time.monotonic()
        while not stop.is_set():
            samples.append([time.monotonic() - t0, proc.memory_info().rss / 2**20])
            stop.wait(1.0)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    log(f"rss: {seconds:.0f} s of tile load")
    result = wrk(server.url.rstrip("/"), paths, server.token, seconds, work)
    stop.set()
    thread.join()
    rss = [s[1] for s in samples]
    tenth = max(1, len(rss) // 10)
    return {"samples": samples, "load": result, "start_mb": rss[0], "max_mb": max(rss),
            "first_tenth_mb": med(rss[:tenth]), "last_tenth_mb": med(rss[-tenth:])}


# ---- report -------------------------------------------------------------------------------------
def ratio(peer: float, ours: float) -> str:
    return f"{peer / ours:.1f}×" if ours > 0 else "n/a"


def table(r: dict[str, Any]) -> str:
    t, th, h, imp = r["tiles"], r["thumb_region"], r.get("http"), r["import"]
    rows = [
        "| measure | scopehub | large_image / ome-zarr-py | ratio (≥ target?) |",
        "| --- | ---: | ---: | --- |",
    ]

    def row(name: str, ours: float, peer: float, unit: str, target: float, higher_better: bool = False) -> None:
        x = ours / peer if higher_better else peer / ours
        ok = "yes" if x >= target else "**no**"
        rows.append(f"| {name} | {ours:.1f} {unit} | {peer:.1f} {unit} | {x:.2f}× ({ok}, target {target:g}×) |")

    row(f"512² tile, 4 ch, JPEG, warm (median of {t['n']})", t["scopehub"]["warm"], t["large_image"]["warm"], "ms", 3)
    row(f"512² tile, 4 ch, JPEG, cold (median of {t['n']})", t["scopehub"]["cold"], t["large_image"]["cold"], "ms", 3)
    if h:
        s, li = h["scopehub"], h["large_image"]
        row("HTTP tiles, 4 connections, req/s", s["rps"], li["rps"], "req/s", 3, higher_better=True)
        rows.append(f"| HTTP p50 / p99 | {s['p50_ms']:.0f} / {s['p99_ms']:.0f} ms | {li['p50_ms']:.0f} / "
                    f"{li['p99_ms']:.0f} ms | |")
        rows.append(f"| HTTP errors (requests) | {s['errors']} ({s['requests']}) | {li['errors']} ({li['requests']}) "
                    f"| without a token scopehub answers {h['no_token_status']} |")
    row("256 thumbnail, uncached image", th["thumbnail"]["scopehub"], th["thumbnail"]["large_image"], "ms", 5)
    row("1024² region, JPEG, warm", th["region_warm"]["scopehub"], th["region_warm"]["large_image"], "ms", 3)
    row("1024² region, JPEG, cold", th["region_cold"]["scopehub"], th["region_cold"]["large_image"], "ms", 3)
    oz = imp["omezarr"]
    row("import: `scopehub import` (copy of the original + pyramid + catalogue)", imp["cli"]["seconds"],
        oz["seconds"], "s", 2.5)
    row("import: `write_pyramid` alone", imp["pyramid"]["seconds"], oz["seconds"], "s", 2.5)
    rows.append(f"| import peak RSS (`scopehub import` / `write_pyramid`) | {imp['cli']['peak_rss_mb']:.0f} / "
                f"{imp['pyramid']['peak_rss_mb']:.0f} MB | {oz['peak_rss_mb']:.0f} MB | target ≤ 512 MB |")
    if imp.get("smaller"):
        sm = imp["smaller"]
        rows.append(f"| import peak RSS, {sm['size']}² file (a quarter of the pixels; same command, earlier run) | "
                    f"{sm['cli']['peak_rss_mb']:.0f} / {sm['pyramid']['peak_rss_mb']:.0f} MB | "
                    f"{sm['omezarr']['peak_rss_mb']:.0f} MB | |")
    if imp.get("large"):
        lg = imp["large"]
        pyr = lg.get("pyramid") or {"peak_rss_mb": float("nan"), "seconds": float("nan")}
        rows.append(f"| import peak RSS, {lg['size']}² file (4× the pixels; `scopehub import` / `write_pyramid`) | "
                    f"{lg['cli']['peak_rss_mb']:.0f} / {pyr['peak_rss_mb']:.0f} MB | | took "
                    f"{lg['cli']['seconds']:.0f} s / {pyr['seconds']:.0f} s{lg.get('note', '')} |")
    if r.get("rss"):
        m = r["rss"]
        rows.append(f"| server RSS under {m['seconds']:.0f} s of tile load (start / first tenth / last tenth / max) "
                    f"| {m['start_mb']:.0f} / {m['first_tenth_mb']:.0f} / {m['last_tenth_mb']:.0f} / "
                    f"{m['max_mb']:.0f} MB | | {m['load']['requests']} tiles, {m['load']['errors']} errors |")
    return "\n".join(rows)


def write_docs(r: dict[str, Any], text: str) -> None:
    docs = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    section = "## Pixels\n\n" + text.rstrip() + "\n"
    m = re.search(r"^## Pixels\n.*?(?=^## |\Z)", docs, flags=re.M | re.S)
    docs = docs[:m.start()] + section + ("\n" + docs[m.end():] if docs[m.end():] else "") if m \
        else docs.rstrip() + "\n\n" + section
    DOCS.write_text(docs)


HOW = """How each row is measured (`benchmarks/pixels.py`; the peers run in `.venv-peers/`, made on first run
from `benchmarks/requirements-large-image.txt`: large_image 1.35.6 with its OME-TIFF, TIFF, tifffile and zarr
sources on zarr 2, ome-zarr-py 0.11.1):

- **Tiles, in-process**: distinct full-resolution 512² tiles, 4 channels composited (red, green, blue, magenta,
  each with a window), JPEG quality 90. scopehub: `PixelStore` + `TileRenderer` on the imported OME-Zarr (what
  the render route runs, without HTTP and without the rendered-tile cache). large_image: `getTile` on the
  OME-TIFF opened with a `bands` style. *Warm*: the files are in the page cache, but no tile was rendered or
  decoded before (so neither tile cache nor decoded-chunk cache helps). *Cold*: before each tile, scopehub's
  decoded-chunk LRU and large_image's caches (`cachesClear()`) are cleared and the files the tile reads (the
  chunk files; the whole TIFF) are evicted with `POSIX_FADV_DONTNEED`. Both keep the image open.
- **HTTP**: `wrk -t2 -c4` with a Lua script that cycles through a shuffled list of every tile of every level.
  scopehub: a real `jupyter server` with the extension and a token (`Authorization: token …`); each round of
  the list shifts the windows by one grey level, so no request hits the rendered-tile cache. large_image:
  `launch_tile_server(source, port)` bound to 127.0.0.1 (no authentication), one pass over the distinct tiles
  (its tile cache would answer a second one). Errors are wrk's socket errors plus non-2xx answers.
- **Thumbnail**: a 256 JPEG of an image not opened before: scopehub opens it in a new `PixelStore`, with the
  files of its small levels evicted; large_image opens it anew (`noCache=True`) after `cachesClear()`, with
  the TIFF evicted. **Region**: distinct 1024² full-resolution regions as JPEG, warm and cold as for tiles.
- **Import**: `scopehub import` is the whole command in a fresh catalogue: the embedded PostgreSQL starting,
  the byte-for-byte copy of the original into the store (sha256 while copying, fsync, read back and checked),
  the pyramid, the catalogue rows. `write_pyramid` alone is the like-for-like comparison with ome-zarr-py:
  TIFF in, OME-Zarr pyramid out (it reuses the TIFF's levels). ome-zarr-py: `write_image` of a dask array over
  tifffile's zarr store of level 0, with a full pyramid down to one 512² tile (`Scaler(max_layer=…)`), chunks
  1×512×512. Each runs in a child process with the TIFF evicted first; the peak is that process's `VmHWM`.
- **Server RSS**: the `jupyter server`'s RSS, sampled each second while wrk asks for distinct tiles."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8192² image, shorter loads")
    parser.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "scopehub-bench")
    parser.add_argument("--tiles", type=int, help="distinct tiles per warm / cold series")
    parser.add_argument("--http-seconds", type=float)
    parser.add_argument("--load-seconds", type=float, help="the RSS run (300 s; 30 s with --quick)")
    parser.add_argument("--large", action="store_true", help="also import a 4× larger (32768²) file")
    parser.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--import-only", action="store_true",
                        help="measure the import rows again (scopehub and ome-zarr-py, same run); keep the other rows "
                             "of the last run (the section says when each part was measured)")
    parser.add_argument("--from-results", action="store_true",
                        help="measure nothing: print (and with --write-docs write) the table of the last run")
    args = parser.parse_args()
    size = 8192 if args.quick else 16384
    if args.from_results:
        text = report(json.loads((args.data_dir / f"results-{size}.json").read_text()))
        print(text)
        if args.write_docs:
            write_docs({}, text)
        return
    n_tiles = args.tiles or (60 if args.quick else 150)
    http_seconds = args.http_seconds or (10 if args.quick else 20)
    load_seconds = args.load_seconds or (30 if args.quick else 300)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scopehub-bench-"))
    started = datetime.now(UTC)
    loads = [os.getloadavg()[0]]
    peers.ensure_venv()
    tif = ensure_tiff(args.data_dir, size)
    r: dict[str, Any] = {"size": size}
    results = args.data_dir / f"results-{size}.json"
    if args.import_only:
        r = json.loads(results.read_text())
        smaller = r["import"].get("smaller")
        r["import"] = measure_import(args, tif, size, work)
        if smaller:
            r["import"]["smaller"] = smaller
        r["import_run"] = {"started": started.isoformat(), "loads": [*loads, os.getloadavg()[0]]}
        shutil.rmtree(work, ignore_errors=True)
        results.write_text(json.dumps(r, indent=1, default=str))
        text = report(r)
        print(text)
        if args.write_docs:
            write_docs(r, text)
        return

    r["import"] = measure_import(args, tif, size, work)
    cli = r["import"]["cli"]
    catalogue = args.data_dir / f"catalogue-{size}"
    loads.append(os.getloadavg()[0])

    sh = ScopehubInProcess(stored_zarr(catalogue))
    r["tiles"] = bench_tiles(sh, tif, n_tiles)
    loads.append(os.getloadavg()[0])
    r["thumb_region"] = bench_thumbnail_region(sh, tif, 10 if args.quick else 20)
    loads.append(os.getloadavg()[0])

    server = start_scopehub_server(catalogue)
    try:
        r["http"] = bench_http(server, cli["image_id"], sh, tif, http_seconds, work)
        loads.append(os.getloadavg()[0])
        rss = rss_under_load(server, cli["image_id"], sh, load_seconds, work)
        rss["seconds"] = load_seconds
        r["rss"] = rss
        loads.append(os.getloadavg()[0])
    finally:
        server.stop()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    peers.run("plot", samples={"scopehub jupyter server": rss["samples"]}, out=str(PLOT),
              title=f"scopehub server RSS under {load_seconds:.0f} s of distinct-tile load (4 connections, {size}²)")
    shutil.rmtree(work, ignore_errors=True)

    smaller = args.data_dir / f"results-{size // 2}.json"
    if smaller.exists():
        r["import"]["smaller"] = {"size": size // 2, **json.loads(smaller.read_text())["import"]}
        r["import"]["smaller"].pop("smaller", None)
    r["started"], r["loads"], r["quick"] = started.isoformat(), loads, args.quick
    (args.data_dir / f"results-{size}.json").write_text(json.dumps(r, indent=1, default=str))
    text = report(r)
    print(text)
    if args.write_docs:
        write_docs(r, text)


def measure_import(args: argparse.Namespace, tif: Path, size: int, work: Path) -> dict[str, Any]:
    """The import rows: ``scopehub import``, ``write_pyramid`` alone, ome-zarr-py; peak memory; --large."""
    log(f"import: scopehub import {tif.name}")
    catalogue = args.data_dir / f"catalogue-{size}"
    cli = scopehub_import(tif, catalogue)
    log(f"import: write_pyramid alone ({cli['seconds']:.1f} s for the command)")
    pyramid = pyramid_only(tif, work / "pyramid.ome.zarr")
    log(f"import: ome-zarr-py write_image ({pyramid['seconds']:.1f} s for write_pyramid)")
    evict(tif)
    omezarr = peers.run("omezarr_import", path=str(tif), out=str(work / "omezarr.zarr"))
    shutil.rmtree(work / "omezarr.zarr", ignore_errors=True)
    measured: dict[str, Any] = {"cli": cli, "pyramid": pyramid, "omezarr": omezarr}
    if args.large:
        big = ensure_tiff(args.data_dir, 2 * size)  # four times the pixels
        lg_cli = scopehub_import(big, args.data_dir / "catalogue-large")
        shutil.rmtree(args.data_dir / "catalogue-large", ignore_errors=True)
        measured["large"] = {"size": 2 * size, "cli": lg_cli, "pyramid": pyramid_only(big, work / "big.ome.zarr")}
    return measured


def import_run_note(r: dict[str, Any]) -> str:
    run = r.get("import_run")
    if not run:
        return ""
    started, loads = datetime.fromisoformat(run["started"]), run["loads"]
    return (f" The import rows were measured again on their own (`--import-only`: scopehub and ome-zarr-py "
            f"in the same run) at {started:%Y-%m-%d %H:%M} UTC, load {min(loads):.1f}–{max(loads):.1f}.")


def report(r: dict[str, Any]) -> str:
    """The Markdown of the section, from the results of one run."""
    started, loads, quick, size = datetime.fromisoformat(r["started"]), r["loads"], r["quick"], r["size"]
    command = "make bench-pixels" + (" BENCH_ARGS=--quick" if quick else "")
    lines = [
        f"Command: `{command}` (`.venv/bin/python -m benchmarks.pixels{' --quick' if quick else ''} "
        f"--write-docs`), {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, 1-minute load average "
        f"{min(loads):.1f}–{max(loads):.1f} during the run (a shared machine: compare the ratios, not the times)."
        + import_run_note(r),
        f"Data: a generated 4-channel {size}² uint16 pyramidal OME-TIFF (zlib, 512² tiles), imported with "
        f"`scopehub import`; large_image {r['tiles']['large_image']['source']} reads the OME-TIFF.",
        "",
        table(r),
        "",
        f"![server RSS under tile load](images/{PLOT.name})",
        "",
        HOW,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
