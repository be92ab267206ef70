"""What a user does with the widgets in JupyterLab, step by step, with the checks after each step.

The same steps run standalone (``test_jupyterlab.py``) and in hub mode as bob
(``tests/hub_extension/test_widgets.py``). The notebook's first cell shows a Browser as ``browser``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ..api_client import Api
from .lab import KernelProbe, NotebookPage, docs_screenshot, screenshot

BROWSER_CELL = ("import scopehub\nfrom scopehub.widgets import Browser, Viewer\nhub = scopehub.connect()\n"
                "browser = Browser(hub, height=320, viewer_height=420, page_size=1000)\nbrowser")
# page_size: on the shared hub, other tests' projects would push this test's past the first page of 100.


@dataclass
class Flow:
    nb: NotebookPage
    kernel: KernelProbe
    api: Api
    image: dict
    project: str
    dataset: str
    shots: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def page(self):
        return self.nb.page

    @property
    def viewer(self):
        return self.nb.cell(0).locator(".scopehub-viewer")

    # ---- the Browser ------------------------------------------------------------------------------
    def browse_and_select(self) -> None:
        """Run the Browser cell, open the project and dataset, click the image: Python sees the selection."""
        self.nb.run_cell(0)
        tree = self.page.locator(".scopehub-browser .sh-tree")
        project = tree.locator('.sh-row[data-type="project"]', has_text=self.project)
        project.locator(".sh-twisty").click()
        dataset = tree.locator('.sh-row[data-type="dataset"]', has_text=self.dataset)
        dataset.locator(".sh-twisty").click()
        row = tree.locator(f'.sh-row[data-type="image"][data-id="{self.image["id"]}"]')
        row.wait_for()
        # The thumbnail arrived (lazily, from the thumbnail route) and is a picture.
        self.page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                    arg=row.locator("img").element_handle(), timeout=30_000)
        row.click()
        selected = self.kernel.wait_for("browser.selected", lambda v: len(v) == 1)
        assert selected == [{"type": "image", "id": self.image["id"], "name": self.image["name"]}], selected

    def open_image(self) -> None:
        """Open the selected image: a Viewer appears beside the tree and fills its screen with tiles."""
        self.page.locator('.scopehub-browser button[data-action="open"]').click()
        self.wait_complete()
        assert self.kernel.value("browser.viewer.image_id") == self.image["id"]
        assert self.kernel.value("browser.viewer.hub is hub")  # the Browser's client, handed on
        status = self.kernel.wait_for("browser.viewer.status", lambda s: s.get("state") == "complete")
        if status["transport"] != "http":  # say why the page's own HTTP was not used
            probe = self.page.evaluate("async () => { const base = JSON.parse(document.getElementById("
                                       "'jupyter-config-data').textContent).baseUrl; const r = await fetch(base + "
                                       "'scopehub/api/v1/', {credentials: 'same-origin'}); return [r.status, "
                                       "(await r.text()).slice(0, 300)]; }")
            raise AssertionError(f"the viewer fell back to the comm; the API root answers the page {probe}: {status}")
        assert status["tiles_loaded"] >= 1, status

    def wait_complete(self, cell: int = 0) -> None:
        """The viewer in that cell's output has every visible tile of its current settings on screen."""
        self.nb.cell(cell).locator('.scopehub-viewer[data-complete="true"]').wait_for(timeout=60_000)

    # ---- pixels -----------------------------------------------------------------------------------
    def check_tiles(self) -> None:
        """The screen shows the image: red discs and green squares on a dark background."""
        pixels = screenshot(self.viewer.locator(".sh-stage"))
        self.shots["both"] = pixels
        red, green = _red(pixels), _green(pixels)
        assert red.mean() > 0.02, f"no red discs on screen ({red.mean():.4f} of the pixels)"
        assert green.mean() > 0.01, f"no green squares on screen ({green.mean():.4f} of the pixels)"
        # Discs on the left, squares on the right, as in the data.
        cols_red = np.nonzero(red.any(axis=0))[0]
        cols_green = np.nonzero(green.any(axis=0))[0]
        assert np.median(cols_red) < np.median(cols_green)

    def channel_off(self) -> None:
        """Untick channel 1: the red goes, the green stays, and Python's channels say so."""
        self.wait_complete()  # the channel panel is built once the viewer has its settings
        self.viewer.locator('.sh-channel input[type="checkbox"][data-channel="0"]').click(timeout=90_000)
        self.wait_complete()
        after = screenshot(self.viewer.locator(".sh-stage"))
        before = self.shots["both"]
        assert _red(after).mean() < 0.001, "red pixels remain with channel 1 off"
        assert after[..., 0].mean() < before[..., 0].mean() - 5, "the red component did not drop"
        assert _green(after).mean() > 0.5 * _green(before).mean(), "the green channel went too"
        channels = self.kernel.wait_for("browser.viewer.channels", lambda c: not c[0]["active"])
        assert channels[1]["active"]

    # ---- ROIs -------------------------------------------------------------------------------------
    def draw_rectangle(self) -> dict[str, Any]:
        """Draw a rectangle with the mouse: it reaches ``viewer.rois`` in the image coordinates under the pointer."""
        self.viewer.locator('button[data-tool="rectangle"]').click(timeout=90_000)
        assert self.kernel.wait_for("browser.viewer.tool", lambda v: v == "rectangle")
        stage = self.viewer.locator(".sh-overlay")
        box = stage.bounding_box()
        x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
        x1, y1 = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7
        self.page.mouse.move(x0, y0)
        self.page.mouse.down()
        self.page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
        self.page.mouse.move(x1, y1, steps=4)
        self.page.mouse.up()
        rois = self.kernel.wait_for("browser.viewer.rois", lambda r: len(r) == 1)
        view = self.kernel.value("browser.viewer.view")
        shape = rois[0]
        assert shape["type"] == "rectangle" and shape["roi_id"] is None, shape
        zoom = view["zoom"]

        def image_xy(sx: float, sy: float) -> tuple[float, float]:
            return ((sx - box["x"] - box["width"] / 2) / zoom + view["x"],
                    (sy - box["y"] - box["height"] / 2) / zoom + view["y"])

        (ex0, ey0), (ex1, ey1) = image_xy(x0, y0), image_xy(x1, y1)
        tolerance = 2 / zoom
        assert abs(shape["x"] - ex0) < tolerance and abs(shape["y"] - ey0) < tolerance, (shape, ex0, ey0)
        assert abs(shape["width"] - (ex1 - ex0)) < tolerance and abs(shape["height"] - (ey1 - ey0)) < tolerance
        assert shape["z"] == 0 and shape["t"] == 0
        # It is selected, in Python too.
        selected = self.kernel.wait_for("browser.viewer.selected", lambda s: len(s) == 1)
        assert selected[0]["source"] == "drawn" and selected[0]["id"] == shape["id"]
        return shape

    def save_rectangle(self, shape: dict[str, Any]) -> None:
        """Save from the viewer: the ROI id comes back to Python, and the API lists the rectangle."""
        self.viewer.locator('button[data-action="save-rois"]').click()
        rois = self.kernel.wait_for("browser.viewer.rois", lambda r: r and r[0].get("roi_id") is not None)
        roi_id = rois[0]["roi_id"]
        listed = self.api.ok("GET", f"images/{self.image['id']}/rois")
        found = [s for roi in roi_items(listed) if roi_id in (roi.get("id"), roi.get("roi_id"))
                 for s in roi.get("shapes", [roi])]
        assert found, f"ROI {roi_id} is not listed by the API: {listed}"
        saved = found[0]
        assert saved["type"] == "rectangle"
        for key in ("x", "y", "width", "height"):
            assert abs(saved[key] - shape[key]) < 0.01, (key, saved, shape)


    def docs_screenshot(self, name: str, owner: str | None = None) -> None:
        """JupyterLab with the Browser and the Viewer (its tiles, channels and the saved rectangle) for the docs;
        checked to show the picture, not a blank or half-loaded page. ``owner``: the Browser shows only theirs."""
        if owner is not None:
            select = self.page.locator(".scopehub-browser select.sh-owner")
            value = select.evaluate("(s, who) => [...s.options].find((o) => o.text === who)?.value", owner)
            assert value, f"{owner} is not among the Browser's owners"
            select.select_option(value)
            self.page.locator('.scopehub-browser .sh-row[data-type="project"]', has_text=self.project).wait_for()
        # JupyterLab's question about its news feed would cover part of the viewer.
        no_news = self.page.locator(".jp-toast-button", has_text="No")
        if no_news.count():
            no_news.first.click()
            self.page.locator(".Toastify__toast").first.wait_for(state="detached", timeout=10_000)
        self.viewer.scroll_into_view_if_needed()
        self.wait_complete()
        self.page.mouse.move(0, 0)  # no hover highlight
        path = docs_screenshot(self.page, name)
        box = self.viewer.locator(".sh-stage").bounding_box()
        with Image.open(path) as shot:
            stage = np.asarray(shot.convert("RGB").crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]),
                                                         int(box["y"] + box["height"])))).astype(np.int16)
        assert _green(stage).mean() > 0.01, "the screenshot does not show the viewer's tiles"


def roi_items(reply: Any) -> list[dict]:
    """The ROIs of a ``GET B/images/{id}/rois`` reply, whichever of the list shapes it has."""
    if isinstance(reply, list):
        return reply
    return reply.get("items") or reply.get("rois") or reply.get("shapes") or []


def _red(pixels: np.ndarray) -> np.ndarray:
    return (pixels[..., 0] > 120) & (pixels[..., 1] < 60)


def _green(pixels: np.ndarray) -> np.ndarray:
    return (pixels[..., 1] > 120) & (pixels[..., 0] < 60)
