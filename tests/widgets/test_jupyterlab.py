"""The widgets in real Chromium, in a real JupyterLab with scopehub: a notebook opens a Browser, a click
opens an image, the Viewer's tiles are on screen (checked in a screenshot's pixels), a channel turned off
changes the picture, a rectangle drawn with the mouse reaches ``viewer.rois`` in the kernel and, once
saved, the API; and, forced onto the comm, the tiles come through the kernel.

The steps share one notebook and run in order (each builds on the one before).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import Lab
from .flow import BROWSER_CELL, Flow
from .lab import Chromium, KernelProbe, NotebookPage, kernel_file, put_notebook, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NOTEBOOK = "widgets.ipynb"


@pytest.fixture(scope="module")
def flow(lab: Lab, chromium: Chromium, cells_image: dict) -> Iterator[Flow]:
    # Given only an id, the Viewer connects as scopehub.connect() does (for the relay).
    comm_cell = (f"comm_viewer = Viewer({cells_image['id']}, transport='comm', height=300)\n"
                 "comm_viewer")
    put_notebook(lab.url, lab.token, NOTEBOOK, [BROWSER_CELL, comm_cell])
    page = chromium.new_page()
    nb = NotebookPage(page, lab.notebook_url(NOTEBOOK))
    kernel = KernelProbe(kernel_file(lab.url, lab.token, NOTEBOOK, lab.runtime_dir))
    try:
        yield Flow(nb, kernel, lab.api, cells_image, "Widget tests", "Cells")
    finally:
        kernel.close()
        page.context.close()


def test_browser_viewer_channel_and_drawn_rectangle(flow: Flow) -> None:
    # One test, in order: under pytest-xdist the steps of a file are not promised to run in file order,
    # and each builds on the one before.
    flow.browse_and_select()  # the Browser's selection reaches Python
    flow.open_image()  # a click opens the Viewer, whose tiles are on screen
    flow.check_tiles()
    flow.channel_off()  # turning a channel off changes the picture
    shape = flow.draw_rectangle()  # a rectangle drawn with the mouse reaches viewer.rois in the kernel
    flow.shots["rectangle"] = shape
    flow.save_rectangle(shape)  # and, once saved, the API
    flow.docs_screenshot("widgets-jupyterlab")  # docs/user/widgets.md


def test_comm_transport_brings_tiles_through_the_kernel(flow: Flow) -> None:
    flow.nb.run_cell(1)
    flow.wait_complete(cell=1)
    viewer = flow.nb.cell(1).locator(".scopehub-viewer")
    assert viewer.get_attribute("data-transport") == "comm"
    status = flow.kernel.wait_for("comm_viewer.status", lambda s: s.get("state") == "complete")
    assert status["transport"] == "comm" and status["tiles_loaded"] >= 1, status
    pixels = screenshot(viewer.locator(".sh-stage"))
    # The same picture as over HTTP: red discs and green squares (this viewer has both channels on).
    red = (pixels[..., 0] > 120) & (pixels[..., 1] < 60)
    green = (pixels[..., 1] > 120) & (pixels[..., 0] < 60)
    assert red.mean() > 0.02 and green.mean() > 0.01, (red.mean(), green.mean())
    # The kernel relayed them: it answered at least as many render requests as the front-end loaded tiles.
    assert flow.kernel.value("[comm_viewer.hub is not hub, comm_viewer.hub.username]") == [True, "maria"]
    relayed = flow.kernel.value("comm_viewer._relay.answered")
    assert relayed.get("render", 0) >= status["tiles_loaded"], (relayed, status)
