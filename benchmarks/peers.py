"""The peers of the pixel benchmarks, run in their own virtual environment (``.venv-peers/``).

large_image 1.35 (with its OME-TIFF, TIFF, tifffile and zarr sources) pins zarr 2 and scopehub uses
zarr 3, so the peers live in a venv of their own, made on first use from
``benchmarks/requirements-large-image.txt``. This file has two roles:

- imported by ``benchmarks.pixels`` (scopehub's venv): ``ensure_venv()`` and ``run(command, **args)``,
  which runs this same file in the peer venv and returns the JSON it prints;
- run as a script in the peer venv: ``python benchmarks/peers.py COMMAND JSON`` does one measurement
  (only the standard library is imported at the top, so the scopehub side can import it too).

Commands: ``tiles`` (large_image ``getTile``, warm and cold), ``thumbnail``, ``region``,
``serve`` (large_image's Jupyter tile server on 127.0.0.1), ``omezarr_import`` (ome-zarr-py
``write_image`` with a full pyramid), ``plot`` (an RSS-over-time PNG with matplotlib).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-peers"
REQUIREMENTS = ROOT / "benchmarks" / "requirements-large-image.txt"
PYTHON = VENV / "bin" / "python"
BASE_PYTHON = "/root/.pyenv/versions/3.11.7/bin/python3"


def ensure_venv() -> Path:
    """Create ``.venv-peers`` and install the pinned peers, once (re-done when the pins change)."""
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text():
        return PYTHON
    if not PYTHON.exists():
        base = BASE_PYTHON if Path(BASE_PYTHON).exists() else sys.executable
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    print(f"installing the peers into {VENV} (once)", file=sys.stderr, flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(REQUIREMENTS.read_text())
    return PYTHON


def run(command: str, timeout: float | None = None, **args: Any) -> dict[str, Any]:
    """Run ``command`` in the peer venv; its last stdout line is the JSON result."""
    out = subprocess.run([str(PYTHON), __file__, command, json.dumps(args)], check=True, timeout=timeout,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def popen(command: str, **args: Any) -> subprocess.Popen[bytes]:
    """Start ``command`` in the peer venv (for the tile server) in a session of its own."""
    return subprocess.Popen([str(PYTHON), __file__, command, json.dumps(args)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- the peer side (runs in .venv-peers) ------------------------------------------------------
def evict(path: str) -> None:
    """Drop a file from the OS page cache (cold reads come from the disk)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm_file(path: str) -> None:
    """Read a file once so that it sits in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def _style(windows: list[list[float]], colors: list[str]) -> str:
    return json.dumps({"bands": [{"frame": c, "palette": f"#{colors[c]}", "min": lo, "max": hi}
                                 for c, (lo, hi) in enumerate(windows)]})


def _open(path: str, windows: list[list[float]], colors: list[str]):
    import large_image

    return large_image.open(path, style=_style(windows, colors), encoding="JPEG", jpegQuality=90)


def _clear() -> None:
    import large_image

    large_image.cache_util.cachesClear()


def cmd_tiles(path: str, windows: list, colors: list, tiles: list[list[int]], warmup: list[list[int]]
              ) -> dict[str, Any]:
    """Per-tile ms of getTile on distinct full-resolution tiles: warm (file in the page cache, tiles
    never asked before), then cold (caches cleared and the file evicted before each tile)."""
    source = _open(path, windows, colors)
    z = source.levels - 1
    for x, y in warmup:
        source.getTile(x, y, z)
    warm_file(path)
    half = len(tiles) // 2
    warm = []
    for x, y in tiles[:half]:
        t0 = time.perf_counter()
        source.getTile(x, y, z)
        warm.append((time.perf_counter() - t0) * 1e3)
    cold = []
    for x, y in tiles[half:]:
        _clear()
        evict(path)
        t0 = time.perf_counter()
        source.getTile(x, y, z)
        cold.append((time.perf_counter() - t0) * 1e3)
    return {"warm_ms": warm, "cold_ms": cold, "source": type(source).__name__, "levels": source.levels}


def cmd_thumbnail(path: str, windows: list, colors: list, repeat: int) -> dict[str, Any]:
    """ms to open the image and make a 256 JPEG thumbnail, caches cleared and file evicted each time."""
    import large_image

    times = []
    for _ in range(repeat):
        _clear()
        evict(path)
        t0 = time.perf_counter()
        source = large_image.open(path, style=_style(windows, colors), noCache=True)
        source.getThumbnail(width=256, height=256, encoding="JPEG", jpegQuality=90)
        times.append((time.perf_counter() - t0) * 1e3)
        del source
    return {"cold_ms": times}


def cmd_region(path: str, windows: list, colors: list, regions: list[list[int]], cold: bool) -> dict[str, Any]:
    """ms per distinct 1024² full-resolution region as JPEG."""
    import large_image

    source = _open(path, windows, colors)
    source.getRegion(region={"left": 0, "top": 0, "width": 512, "height": 512},
                     format=large_image.constants.TILE_FORMAT_IMAGE, encoding="JPEG", jpegQuality=90)
    if not cold:
        warm_file(path)
    times = []
    for x, y, w, h in regions:
        if cold:
            _clear()
            evict(path)
        t0 = time.perf_counter()
        source.getRegion(region={"left": x, "top": y, "width": w, "height": h},
                         format=large_image.constants.TILE_FORMAT_IMAGE, encoding="JPEG", jpegQuality=90)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"ms": times}


def cmd_serve(path: str, windows: list, colors: list, port: int) -> dict[str, Any]:
    """large_image's Jupyter tile server for the styled image, on 127.0.0.1:port, until killed."""
    import asyncio

    import tornado.netutil
    from large_image.tilesource import jupyter

    bind = tornado.netutil.bind_sockets
    # launch_tile_server binds every interface (address ''): a benchmark stays on the loopback.
    tornado.netutil.bind_sockets = lambda port, address=None, **kw: bind(port, "127.0.0.1", **kw)

    async def serve() -> None:
        source = _open(path, windows, colors)
        jupyter.launch_tile_server(source, port=port)
        await asyncio.Event().wait()  # the source must stay referenced: the server holds a weakref

    asyncio.run(serve())
    return {}


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cmd_omezarr_import(path: str, out: str) -> dict[str, Any]:
    """ome-zarr-py write_image of the TIFF's level 0 (a dask array over tifffile's zarr store) with a
    full pyramid down to one 512² tile, as OME-Zarr (zarr 2, NGFF 0.4), chunks 1×512×512."""
    import math
    import shutil

    import dask.array as da
    import tifffile
    import zarr
    from ome_zarr.scale import Scaler
    from ome_zarr.writer import write_image

    t0 = time.perf_counter()
    store = tifffile.imread(path, aszarr=True)
    group = zarr.open(store, mode="r")
    level0 = group["0"] if isinstance(group, zarr.hierarchy.Group) else group
    data = da.from_zarr(level0)
    levels = 1 + max(0, math.ceil(math.log2(max(data.shape[-2:]) / 512)))
    shutil.rmtree(out, ignore_errors=True)
    root = zarr.group(zarr.DirectoryStore(out), overwrite=True)
    write_image(data, root, axes="cyx", scaler=Scaler(max_layer=levels - 1),
                storage_options={"chunks": (1, 512, 512)})
    seconds = time.perf_counter() - t0
    store.close()
    return {"seconds": seconds, "peak_rss_mb": _hwm_mb(), "levels": levels}


def cmd_plot(samples: dict[str, list[list[float]]], out: str, title: str) -> dict[str, Any]:
    """RSS (MB) against time (s), one line per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    for label, points in samples.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], label=label)
    ax.set_xlabel("seconds under load")
    ax.set_ylabel("RSS (MB)")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    return {"out": out}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    command, args = sys.argv[1], json.loads(sys.argv[2])
    result = globals()[f"cmd_{command}"](**args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
