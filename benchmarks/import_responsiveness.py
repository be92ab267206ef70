"""Tiles while a 2 GB image imports: the server keeps answering, because imports run in worker processes.

    .venv/bin/python -m benchmarks.import_responsiveness [--size 16384] [--seconds 20] [--write-docs]

A real ``jupyter server`` with scopehub (embedded PostgreSQL, one import worker) on a fresh data
folder. A 4096² 4-channel image is imported first to render tiles from. Two client threads then ask
for distinct 512² tiles (4 channels composited, JPEG; the windows shift every round so the rendered
tile cache never answers) over HTTP with the token: for ``--seconds`` with the server idle, then for
as long as the benchmark's 4-channel 16384² uint16 OME-TIFF (about 2 GiB of pixels, 1.7 GB of zlib
tiles; ``benchmarks/data.py``) takes to import through ``POST B/imports``. Reported: requests,
requests per second, latency percentiles and errors in both phases, and the import's wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Tiles during an import"
CACHE = Path.home() / ".cache" / "scopehub-bench"
COLORS = ("FF0000", "00FF00", "0000FF", "FF00FF")
TILE_SOURCE = 4096


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def ensure(path: Path, size: int) -> Path:
    """The generated OME-TIFF of ``size``² (benchmarks/data.py), cached beside the pixel benchmark's."""
    from benchmarks.pixels import ensure_tiff

    path.parent.mkdir(parents=True, exist_ok=True)
    return ensure_tiff(path.parent, size)


def wait(api: requests.Session, base: str, job_id: int, timeout: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"{base}imports/{job_id}", timeout=30).json()
        if job["status"] in ("done", "failed"):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(job)
        time.sleep(0.5)


def tile_paths(image_id: int, rounds: int = 1000) -> list[str]:
    """Every tile of levels 0 and 1, shuffled; each round shifts the windows (no rendered-tile cache hits)."""
    tiles = [(level, x, y) for level, n in ((0, TILE_SOURCE // 512), (1, TILE_SOURCE // 1024))
             for y in range(n) for x in range(n)]
    random.Random(5).shuffle(tiles)
    paths = []
    for k in range(rounds):
        c = ",".join(f"{i + 1}|100:{3000 + k}${COLORS[i]}" for i in range(4))
        paths += [f"images/{image_id}/render?tile={lv},{x},{y}&c={c}&q=0.9" for lv, x, y in tiles]
    return paths


class TileLoad:
    """Client threads asking for tiles in turn until stopped; latencies in ms, errors counted."""

    def __init__(self, base: str, token: str, paths: list[str], threads: int = 2):
        self.base, self.token, self.paths, self.threads = base, token, paths, threads
        self.latencies: list[float] = []
        self.errors = 0
        self.exhausted = False
        self._stop = threading.Event()
        self._next = 0
        self._lock = threading.Lock()

    def _run(self) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"token {self.token}"
        while not self._stop.is_set():
            with self._lock:
                if self._next >= len(self.paths):
                    self.exhausted = True  # out of distinct tiles: the summary says so
                    return
                path = self.paths[self._next]
                self._next += 1
            t0 = time.perf_counter()
            try:
                r = http.get(self.base + path, timeout=30)
                ok = r.status_code == 200 and r.headers.get("Content-Type") == "image/jpeg"
            except requests.RequestException:
                ok = False
            elapsed = (time.perf_counter() - t0) * 1000
            with self._lock:
                if ok:
                    self.latencies.append(elapsed)
                else:
                    self.errors += 1

    def __enter__(self) -> TileLoad:
        self.started = time.perf_counter()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for t in self._workers:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(60)
        self.seconds = time.perf_counter() - self.started

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

        if self.exhausted:
            raise RuntimeError("the client ran out of distinct tiles: raise tile_paths(rounds=)")
        return {"requests": len(lat), "rps": len(lat) / self.seconds, "p50": statistics.median(lat) if lat else 0,
                "p95": pct(95), "p99": pct(99), "max": lat[-1] if lat else 0, "errors": self.errors,
                "seconds": self.seconds}


def run(size: int, seconds: float) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.jupyter import JupyterServerProcess

    big = ensure(CACHE / f"p{size}.ome.tif", size)
    small = ensure(CACHE / f"p{TILE_SOURCE}.ome.tif", TILE_SOURCE)
    with tempfile.TemporaryDirectory(prefix="scopehub-import-bench-") as work:
        root = Path(work) / "root"
        root.mkdir()
        for f in (big, small):
            try:
                os.link(f, root / f.name)
            except OSError:
                shutil.copyfile(f, root / f.name)
        args = [f"--ScopehubApp.data_dir={work}/data", "--ScopehubApp.standalone_username=admin",
                "--ScopehubApp.import_workers=1"]
        with JupyterServerProcess(args, root_dir=root, startup_timeout=120) as server:
            base = server.url + "scopehub/api/v1/"
            api = requests.Session()
            api.headers["Authorization"] = f"token {server.token}"
            log(f"importing the {TILE_SOURCE}² tile source")
            job = api.post(base + "imports", json={"paths": [small.name]}, timeout=30).json()
            image_id = wait(api, base, job["id"])["images"][0]
            paths = tile_paths(image_id)
            with TileLoad(base, server.token, paths[-300:]):  # warm the connections and the code paths
                time.sleep(2)
            used = 0

            def idle_phase(name: str) -> TileLoad:
                nonlocal used
                log(f"tiles, server idle ({name}), {seconds:.0f} s")
                with TileLoad(base, server.token, paths[used:]) as idle:
                    time.sleep(seconds)
                used += len(idle.latencies) + idle.errors + 2 * idle.threads
                return idle

            before = idle_phase("before")
            log(f"tiles while {big.name} ({big.stat().st_size / 1e9:.2f} GB) imports")
            load = TileLoad(base, server.token, paths[used:])
            server_proc = psutil.Process(server.proc.pid)
            peak_worker = 0
            stages: dict[str, float] = {}
            with load:
                t0 = time.perf_counter()
                job = api.post(base + "imports", json={"paths": [big.name]}, timeout=30).json()
                while (state := api.get(f"{base}imports/{job['id']}", timeout=30).json())["status"] not in (
                        "done", "failed"):
                    stages.setdefault(state["message"].split(" ")[0], time.perf_counter() - t0)
                    for child in server_proc.children(recursive=True):
                        if "spawn_main" in " ".join(child.cmdline()):
                            peak_worker = max(peak_worker, child.memory_info().rss)
                    time.sleep(0.25)
                import_seconds = time.perf_counter() - t0
            used += len(load.latencies) + load.errors + 2 * load.threads
            if state["status"] != "done":
                raise RuntimeError(f"the import failed: {state['error']}")
            log(f"import done in {import_seconds:.1f} s; stages began at {stages}")
            after = idle_phase("after")
    return {"size": size, "file_gb": big.stat().st_size / 1e9, "before": before.summary(),
            "importing": load.summary(), "after": after.summary(), "import_seconds": import_seconds,
            "stages": stages, "worker_rss_mb": peak_worker / 2**20, "load": os.getloadavg()[0]}


def section(result: dict[str, Any], command: str) -> str:
    rows = []
    for name, key in (("server idle, before", "before"), ("during the import", "importing"),
                      ("server idle, after", "after")):
        s = result[key]
        rows.append(f"| {name} | {s['requests']} | {s['rps']:.1f} | {s['p50']:.1f} | {s['p95']:.1f} | "
                    f"{s['p99']:.1f} | {s['max']:.0f} | {s['errors']} |")
    idle_p50 = (result["before"]["p50"] + result["after"]["p50"]) / 2
    ratio = result["importing"]["p50"] / idle_p50 if idle_p50 else float("nan")
    return f"""{SECTION}

Produced by

```
{command}
```

on a {os.cpu_count()}-core {platform.machine()} machine, {dt.date.today().isoformat()} (1-minute load average
{result['load']:.1f} at the end; other work shared the machine). Two client threads ask for distinct
512² tiles of a {TILE_SOURCE}² 4-channel image (4 channels composited, JPEG q=0.9, a new window each
round so no rendered tile is served from cache), with the server idle before and after, and while
`POST B/imports` imports the {result['size']}² 4-channel uint16 OME-TIFF ({result['file_gb']:.2f} GB of zlib
tiles, {result['size'] ** 2 * 8 / 2**30:.2f} GiB of pixels) in the server's import worker.

| phase | tiles | tiles/s | p50 ms | p95 ms | p99 ms | max ms | errors |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

The import (the original copied into the store with its sha256 checked, alongside the pyramid's
writing, then the catalogue rows) took {result['import_seconds']:.1f} s with the worker at
{result['worker_rss_mb']:.0f} MB peak RSS. Every tile request was answered meanwhile, the median in
{ratio:.1f}× its idle time. The worker runs at nice 10 in its own process: the server's event loop
and its render threads never wait on it, and on two cores the import takes the CPU the tiles leave.
"""


def update_doc(text_section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + text_section.rstrip("\n") + "\n"
    else:
        end, in_code, pos = len(text), False, start + len(SECTION) + 1
        for line in text[pos:].splitlines(keepends=True):
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("## "):
                end = pos
                break
            pos += len(line)
        rest = text[end:]
        text = text[:start] + text_section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384, help="side of the imported image (default 16384)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the idle phase")
    parser.add_argument("--write-docs", action="store_true", help=f"write the '{SECTION}' section of {DOC}")
    args = parser.parse_args()
    result = run(args.size, args.seconds)
    text = section(result, "python -m benchmarks.import_responsiveness" + (
        f" --size {args.size}" if args.size != 16384 else "") + " --write-docs")
    print(text)
    if args.write_docs:
        update_doc(text)


if __name__ == "__main__":
    main()
