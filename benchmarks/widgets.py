"""The notebook widgets in real Chromium, in a real JupyterLab with scopehub (``make bench-widgets``):

1. opening a Viewer: from running its cell to the first full screen of tiles (new rendering settings
   each round, so that no tile comes from the browser's cache);
2. panning at full resolution: tiles loaded per second while the mouse drags the view across the image;
3. the ROI overlay: how long one redraw of the overlay takes (and the frame interval) while panning over
   10^4 and 10^5 shapes shown with ``viewer.show_rois``, with the whole image in view (every shape drawn)
   and at full resolution.

The section goes to docs/benchmarks.md with ``--write-docs``. Uses the browser-test helpers
(``tests/widgets/lab.py``): the system's Chromium, never Playwright's download.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.api_client import Api
from tests.jupyter import JupyterServerProcess
from tests.widgets.lab import Chromium, KernelProbe, NotebookPage, import_array, kernel_file, put_notebook

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Notebook widgets"
NOTEBOOK = "bench-widgets.ipynb"
VIEWER_HEIGHT = 640


def make_image(size: int) -> np.ndarray:
    """Two uint16 channels (CYX): discs and squares on a noisy background, repeated over the image."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:512, 0:512]
    discs = np.where((yy % 128 - 64) ** 2 + (xx % 128 - 64) ** 2 < 40**2, 3000, 300).astype(np.uint16)
    squares = np.where((abs(yy % 160 - 80) < 36) & (abs(xx % 160 - 80) < 36), 3000, 300).astype(np.uint16)
    reps = (size + 511) // 512
    data = np.stack([np.tile(discs, (reps, reps))[:size, :size], np.tile(squares, (reps, reps))[:size, :size]])
    data += rng.integers(0, 200, data.shape, dtype=np.uint16)
    return data


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


class Bench:
    def __init__(self, nb: NotebookPage, kernel: KernelProbe, size: int) -> None:
        self.nb, self.kernel, self.page, self.size = nb, kernel, nb.page, size

    def stage_js(self, cell: int, body: str, arg: Any = None) -> Any:
        """Run ``body`` (a function body with ``stage`` and ``arg``) on the Viewer of that cell's output."""
        root = self.nb.cell(cell).locator(".scopehub-viewer").element_handle()
        return self.page.evaluate(f"([root, arg]) => {{ const stage = root.scopehubStage; {body} }}", [root, arg])

    def wait_complete(self, cell: int, timeout: float = 120) -> None:
        self.nb.cell(cell).locator('.scopehub-viewer[data-complete="true"]').wait_for(timeout=timeout * 1000)

    def overlay_box(self, cell: int) -> dict[str, float]:
        """Where the viewer's image area is on screen, scrolled into view (the mouse acts on what is shown)."""
        overlay = self.nb.cell(cell).locator(".scopehub-viewer .sh-overlay")
        overlay.scroll_into_view_if_needed()
        self.page.wait_for_timeout(200)
        box = overlay.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= self.page.viewport_size["height"], box
        return box

    def goto(self, cell: int, name: str, x: float, y: float, zoom: float) -> None:
        self.kernel.run(f"{name}.goto(x={x}, y={y}, zoom={zoom})")
        # The front-end follows the model; then every visible tile of the new view is on screen.
        deadline = time.monotonic() + 30
        while abs(self.stage_js(cell, "return stage.view.zoom;") - zoom) > 1e-6 * zoom:
            assert time.monotonic() < deadline, "the viewer did not move"
            time.sleep(0.05)
        self.page.wait_for_timeout(100)
        self.wait_complete(cell)

    # ---- 1. first screen -------------------------------------------------------------------------
    def first_screen(self, cell: int, name: str) -> dict[str, float]:
        started = time.perf_counter()
        self.nb.cell(cell).locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        self.nb.cell(cell).locator(".scopehub-viewer").wait_for(timeout=60_000)
        self.wait_complete(cell)
        wall = (time.perf_counter() - started) * 1000
        status = self.kernel.wait_for(f"{name}.status", lambda s: s.get("first_screen_ms") is not None)
        return {"wall_ms": wall, "widget_ms": float(status["first_screen_ms"]), "tiles": status["tiles_loaded"]}

    # ---- 2. panning --------------------------------------------------------------------------------
    def pan(self, cell: int, name: str, drags: int) -> dict[str, float]:
        width = self.stage_js(cell, "return stage.view.width;")
        self.goto(cell, name, x=width / 2 + 64, y=VIEWER_HEIGHT / 2 + 64, zoom=1.0)
        box = self.overlay_box(cell)
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        before = self.stage_js(cell, "return stage.tileTimes.length;")
        # Drags of most of the view's width, back to back: the loader, not the mouse, sets the pace.
        step = box["width"] * 0.8
        # A snake: rows of drags to the right, a step down, back to the left, so the view stays inside the image.
        per_row = max(1, int((self.size - box["width"] - 128) // step))
        started = time.perf_counter()
        direction = -1
        for k in range(drags):
            dx, dy = (direction * step, 0.0) if (k + 1) % (per_row + 1) else (0.0, -min(400.0, box["height"] * 0.6))
            if dx == 0.0:
                direction = -direction
            self.page.mouse.move(cx - dx / 2, cy - dy / 2)
            self.page.mouse.down()
            self.page.mouse.move(cx + dx / 2, cy + dy / 2, steps=6)
            self.page.mouse.up()
        dragged = time.perf_counter()
        self.page.wait_for_timeout(50)
        self.wait_complete(cell)
        seconds = time.perf_counter() - started
        settle_ms = (time.perf_counter() - dragged) * 1000
        after, latencies = self.stage_js(cell, "return [stage.tileTimes.length, stage.tileTimes.slice(arg)];", before)
        tiles = after - before
        assert tiles > drags, f"only {tiles} tiles loaded in {drags} drags: did the view move?"
        return {"tiles": tiles, "seconds": seconds, "tiles_per_s": tiles / seconds, "settle_ms": settle_ms,
                "px_per_s": drags * step / seconds,
                "tile_ms_p50": percentile(latencies, 50), "tile_ms_p95": percentile(latencies, 95), "drags": drags}

    # ---- 3. the ROI overlay ------------------------------------------------------------------------------
    def overlay(self, cell: int, name: str, count: int) -> dict[str, Any]:
        self.kernel.run(
            "import numpy as _np\n"
            f"_rng = _np.random.default_rng({count})\n"
            f"_xy = _rng.uniform(0, {self.size}, ({count}, 2))\n"
            "_shapes = []\n"
            "for _i, (_x, _y) in enumerate(_xy.tolist()):\n"
            "    if _i % 3 == 0:\n"
            "        _shapes.append({'type': 'rectangle', 'x': _x, 'y': _y, 'width': 14.0, 'height': 10.0})\n"
            "    elif _i % 3 == 1:\n"
            "        _shapes.append({'type': 'ellipse', 'x': _x, 'y': _y, 'radius_x': 8.0, 'radius_y': 6.0})\n"
            "    else:\n"
            "        _shapes.append({'type': 'polygon', 'points': [[_x, _y], [_x + 12, _y + 2], [_x + 6, _y + 11],"
            " [_x - 3, _y + 7]]})\n")
        started = time.perf_counter()
        self.kernel.run(f"{name}.show_rois(_shapes)")
        deadline = time.monotonic() + 120
        while self.stage_js(cell, "return stage.layer('shown').n;") != count:
            assert time.monotonic() < deadline, "the shapes did not reach the front-end"
            time.sleep(0.02)
        shown_ms = (time.perf_counter() - started) * 1000
        width = self.stage_js(cell, "return stage.view.width;")
        result: dict[str, Any] = {"count": count, "shown_ms": shown_ms}
        for where, zoom in (("whole", min(width, VIEWER_HEIGHT) / self.size), ("full", 1.0)):
            self.goto(cell, name, x=self.size / 2, y=self.size / 2, zoom=zoom)
            box = self.overlay_box(cell)
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            self.stage_js(cell, "stage.overlayTimes.length = 0; window.__frames = []; window.__framing = true;"
                                "const tick = (t) => { if (!window.__framing) return; window.__frames.push(t);"
                                " requestAnimationFrame(tick); }; requestAnimationFrame(tick); return 0;")
            for k in range(4):
                dx = 160 if k % 2 == 0 else -160
                self.page.mouse.move(cx, cy)
                self.page.mouse.down()
                self.page.mouse.move(cx + dx, cy + dx / 4, steps=30)
                self.page.mouse.up()
            times, frames = self.stage_js(cell, "window.__framing = false; return [stage.overlayTimes.slice(),"
                                                " window.__frames];")
            assert len(times) > 10, f"{len(times)} overlay redraws while panning: did the view move?"
            gaps = list(np.diff(frames)) if len(frames) > 1 else []
            result[where] = {"redraws": len(times), "draw_ms_p50": percentile(times, 50),
                             "draw_ms_p95": percentile(times, 95), "draw_ms_max": max(times) if times else float("nan"),
                             "frame_ms_p50": percentile(gaps, 50), "frame_ms_p95": percentile(gaps, 95)}
        self.kernel.run(f"{name}.clear_rois()")
        return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    data_dir = tempfile.mkdtemp(prefix="scopehub-bench-widgets-")
    rounds = args.rounds
    with JupyterServerProcess([f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=bench"],
                              lab=True, startup_timeout=180) as server:
        api = Api(server.url + "scopehub/api/v1/", server.token)
        started = time.perf_counter()
        image = import_array(api, make_image(args.size), "bench.tif", "Project:Bench/Dataset:Widgets", timeout=1200)
        import_s = time.perf_counter() - started
        cells = [f"import scopehub\nfrom scopehub.widgets import Viewer\nhub = scopehub.connect()\n"
                 f"image = hub.image({image['id']})"]
        # New settings each round (the window's end), so that every tile is rendered and fetched anew.
        cells += [f"v{i} = Viewer(image, height={VIEWER_HEIGHT})\nv{i}.set_channel(0, window=(0, {3000 + i}))\nv{i}"
                  for i in range(rounds)]
        put_notebook(server.url, server.token, NOTEBOOK, cells)
        with Chromium() as chromium:
            page = chromium.new_page()
            nb = NotebookPage(page, f"{server.url}lab/tree/{NOTEBOOK}?token={server.token}", timeout=180)
            kernel = KernelProbe(kernel_file(server.url, server.token, NOTEBOOK,
                                             Path(server.env["JUPYTER_RUNTIME_DIR"])))
            try:
                nb.run_cell(0, timeout=120)
                bench = Bench(nb, kernel, args.size)
                first = []
                for i in range(rounds):
                    if i:  # one viewer on the page at a time: the last one's output goes
                        kernel.run(f"v{i - 1}.close()")
                    first.append(bench.first_screen(i + 1, f"v{i}"))
                last, name = rounds, f"v{rounds - 1}"
                pan = bench.pan(last, name, args.drags)
                overlays = [bench.overlay(last, name, n) for n in (10_000, 100_000)]
            finally:
                kernel.close()
    import playwright
    return {
        "size": args.size, "rounds": rounds, "import_s": import_s, "first": first, "pan": pan, "overlays": overlays,
        "cpus": os.cpu_count(), "python": platform.python_version(), "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2), "viewport": "1440 × 1000", "viewer_height": VIEWER_HEIGHT,
        "playwright": getattr(playwright, "__version__", "?"),
    }


def report(r: dict[str, Any]) -> str:
    first = r["first"]
    widget = [f["widget_ms"] for f in first]
    wall = [f["wall_ms"] for f in first]
    pan = r["pan"]
    lines = [
        f"A {r['size']}² two-channel uint16 image (imported in {r['import_s']:.0f} s), a Viewer "
        f"{r['viewer_height']} px high in a {r['viewport']} page.",
        "",
        "| Opening a Viewer (first full screen of tiles) | median | max |",
        "|---|---:|---:|",
        f"| from running the cell (kernel, widget, tiles), ms | {statistics.median(wall):.0f} | {max(wall):.0f} |",
        f"| from the widget's first render, ms (`viewer.status['first_screen_ms']`) | "
        f"{statistics.median(widget):.0f} | {max(widget):.0f} |",
        f"| tiles on the first screen | {statistics.median([f['tiles'] for f in first]):.0f} | |",
        "",
        "| Panning at full resolution (mouse drags) | |",
        "|---|---:|",
        f"| tiles loaded per second | **{pan['tiles_per_s']:.0f}** |",
        f"| tiles loaded, seconds ({pan['drags']} drags, until the screen was complete) | {pan['tiles']} in "
        f"{pan['seconds']:.1f} s |",
        f"| the view's speed, screen pixels per second (= image pixels at full resolution) | {pan['px_per_s']:.0f} |",
        f"| screen complete after the last drag, ms | {pan['settle_ms']:.0f} |",
        f"| one tile, request to bitmap: p50 / p95, ms | {pan['tile_ms_p50']:.0f} / {pan['tile_ms_p95']:.0f} |",
        "",
        "| ROI overlay while panning | shapes | to screen after `show_rois`, ms | redraw p50 / p95 / max, ms | "
        "frame interval p50 / p95, ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for o in r["overlays"]:
        for where, label in (("whole", "whole image in view (every shape drawn)"), ("full", "full resolution")):
            m = o[where]
            lines.append(f"| {label} | {o['count']:,} | {o['shown_ms']:.0f} | {m['draw_ms_p50']:.1f} / "
                         f"{m['draw_ms_p95']:.1f} / {m['draw_ms_max']:.1f} | {m['frame_ms_p50']:.1f} / "
                         f"{m['frame_ms_p95']:.1f} |")
    return "\n".join(lines)


def write_docs(r: dict[str, Any]) -> None:
    text = (f"{SECTION}\n\nProduced by\n\n```\nmake bench-widgets            # .venv/bin/python -m benchmarks.widgets "
            f"--write-docs\n```\n\non a {r['cpus']}-core machine shared with other work (load average "
            f"{r['load_before']} before, {r['load_after']} after), Python {r['python']}, headless Chromium "
            "(software rendering) driving JupyterLab, the server on the same machine. Each opening is a new Viewer "
            "with new rendering settings, so every tile is rendered by the server and fetched anew. The overlay's "
            "redraw is the time the viewer's code spends on the shapes of one frame (its own measurement); Chromium "
            "rasterises the paths afterwards, so the frame interval between animation frames during the drags is the "
            "cost as the user sees it (16.7 ms is 60 frames per second). Panning is paced by Playwright's mouse "
            "(each drag a few steps): tiles per second is what the view needed at that speed, and the screen "
            "catches up within the time shown after the last drag.\n\n"
            + report(r) + "\n")
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = doc.find(SECTION + "\n")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end, in_code, pos = len(doc), False, start + len(SECTION) + 1
        for line in doc[pos:].splitlines(keepends=True):
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("## "):
                end = pos
                break
            pos += len(line)
        rest = doc[end:]
        doc = doc[:start] + text + ("\n" + rest if rest else "")
    DOC.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=8192, help="side of the image (default 8192)")
    parser.add_argument("--rounds", type=int, default=5, help="Viewers opened (default 5)")
    parser.add_argument("--drags", type=int, default=16, help="mouse drags while panning (default 16)")
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    parser.add_argument("--json", type=Path, help="also save the raw results here")
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(report(result))
    if args.write_docs:
        write_docs(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
