"""Driving the widgets for real: JupyterLab in Chromium (Playwright), and a second client on the
notebook's kernel to read what the widgets put there.

Used by the browser tests in this folder, ``benchmarks/widgets.py`` and ``docs/screenshots/widgets.py``.
Chromium is the system's (``apt-get install chromium`` gives /usr/bin/chromium; ``SCOPEHUB_CHROMIUM``
points elsewhere); Playwright's own browser download is never used.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import requests
import tifffile
from PIL import Image

from ..api_client import Api

CHROMIUM = os.environ.get("SCOPEHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1440, "height": 1000}
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SCOPEHUB_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


class Chromium:
    """Headless Chromium through Playwright's sync API: ``with Chromium() as c: page = c.new_page()``."""

    def __enter__(self) -> Chromium:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        return self

    def new_page(self, viewport: dict[str, int] | None = None, scale: float = 1):
        context = self.browser.new_context(viewport=viewport or VIEWPORT, device_scale_factor=scale)
        return context.new_page()

    def __exit__(self, *exc: object) -> None:
        self.browser.close()
        self._pw.stop()


# ---- notebooks ----------------------------------------------------------------------------------
def notebook(cells: list[str]) -> dict[str, Any]:
    """An nbformat 4 notebook of code cells (no outputs)."""
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [],
                   "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def put_notebook(server_url: str, token: str, path: str, cells: list[str]) -> None:
    """Write a notebook through the server's contents API (works for any user's server)."""
    r = requests.put(f"{server_url}api/contents/{path}", headers={"Authorization": f"token {token}"},
                     json={"type": "notebook", "format": "json", "content": notebook(cells)}, timeout=30)
    assert r.status_code in (200, 201), r.text


class NotebookPage:
    """A notebook open in JupyterLab: run its cells one by one, each once the kernel is idle."""

    def __init__(self, page, url: str, timeout: float = 90) -> None:
        self.page = page
        page.goto(url)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
        self.wait_idle(timeout)

    def wait_idle(self, timeout: float = 60) -> None:
        """The kernel is started and idle (JupyterLab's execution indicator says so)."""
        self.page.wait_for_selector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator'
                                    '[data-status="idle"]', timeout=timeout * 1000)

    def cell(self, index: int):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(index)

    def run_cell(self, index: int, timeout: float = 60) -> None:
        self.wait_idle(timeout)
        cell = self.cell(index)
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        # Ran: the prompt shows an execution count (not "[ ]" or "[*]"), and the kernel is idle again.
        cell.locator(".jp-InputArea-prompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout * 1000)
        self.wait_idle(timeout)

    def output_text(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea").inner_text()


class KernelProbe:
    """A second client on a notebook's kernel: runs code in the notebook's namespace, returns what it printed."""

    def __init__(self, connection_file: Path) -> None:
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        # No heartbeat: on a loaded machine a late beat reads as a dead kernel; the kernel_info reply says enough.
        self.client.start_channels(hb=False)
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str, timeout: float = 60) -> str:
        out: list[str] = []
        errors: list[str] = []

        def hook(msg: dict) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "execute_result":
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                errors.append("\n".join(content["traceback"]))

        reply = self.client.execute_interactive(code, output_hook=hook, timeout=timeout, allow_stdin=False)
        if reply["content"]["status"] != "ok" or errors:
            raise AssertionError(f"kernel code failed: {code}\n" + "\n".join(errors))
        return "".join(out)

    def value(self, expression: str) -> Any:
        """The JSON value of a Python expression in the kernel."""
        text = self.run(f"import json as _json\nprint(_json.dumps({expression}, default=str))")
        return json.loads(text.strip().splitlines()[-1])

    def wait_for(self, expression: str, predicate: Callable[[Any], bool], timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.value(expression)
            if predicate(value):
                return value
            time.sleep(0.2)
        raise AssertionError(f"{expression} stayed {value!r} for {timeout} s")

    def close(self) -> None:
        self.client.stop_channels()


def kernel_file(server_url: str, token: str, notebook_path: str, runtime_dir: Path, timeout: float = 60) -> Path:
    """The connection file of the kernel a notebook runs on (its session, from the server's API), found in
    ``runtime_dir`` or anywhere below it (a hub user's server keeps it under the user's home)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = requests.get(f"{server_url}api/sessions", headers={"Authorization": f"token {token}"},
                                timeout=30).json()
        for session in sessions:
            if session.get("path") == notebook_path and session.get("kernel"):
                name = f"kernel-{session['kernel']['id']}.json"
                found = runtime_dir / name if (runtime_dir / name).exists() else next(runtime_dir.rglob(name), None)
                if found:
                    return found
        time.sleep(0.25)
    raise AssertionError(f"no kernel for {notebook_path} in {runtime_dir}")


# ---- pixels -------------------------------------------------------------------------------------
def docs_screenshot(page, name: str) -> Path:
    """The whole page into ``docs/images/<name>.png``: the docs show what the tests saw."""
    path = DOCS_IMAGES / f"{name}.png"
    page.screenshot(path=str(path))
    with Image.open(path) as shot:
        assert shot.size == (VIEWPORT["width"], VIEWPORT["height"]), shot.size
    return path


def screenshot(locator) -> np.ndarray:
    """An element's pixels, RGB."""
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(np.int16)


def two_channel_cells(width: int = 1536, height: int = 1024) -> np.ndarray:
    """Two uint16 channels (CYX): discs in channel 1 (red by default) on the left two thirds, squares in
    channel 2 (green) on the right third, on a dim noisy background; distinct enough to tell apart on screen."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:height, 0:width]
    red = np.full((height, width), 200.0)
    green = np.full((height, width), 200.0)
    for cy in range(96, height, 192):
        for cx in range(96, width * 2 // 3, 192):
            red[(yy - cy) ** 2 + (xx - cx) ** 2 < 70 ** 2] = 3000
        for cx in range(width * 2 // 3 + 64, width, 160):
            green[(abs(yy - cy) < 50) & (abs(xx - cx) < 50)] = 3000
    data = np.stack([red, green]) + rng.normal(0, 40, (2, height, width))
    return np.clip(data, 0, 4095).astype(np.uint16)


def import_array(api: Api, data: np.ndarray, name: str, target: str, axes: str = "CYX",
                 timeout: float = 120) -> dict:
    """Upload an array as a TIFF through ``POST B/imports`` and wait for the image; returns it."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, photometric="minisblack", metadata={"axes": axes})
    job = api.ok("POST", "imports", 202, params={"filename": name, "target": target}, data=buffer.getvalue(),
                 headers={"Content-Type": "application/octet-stream"})
    deadline = time.monotonic() + timeout
    while job["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"import {name} did not finish: {job}"
        time.sleep(0.2)
        job = api.ok("GET", f"imports/{job['id']}")
    assert job["status"] == "done", job
    return api.ok("GET", f"images/{job['images'][0]}")
