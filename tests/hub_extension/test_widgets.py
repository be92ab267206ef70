"""The notebook widgets in hub mode, as bob, in real Chromium: logged in through the hub's login page,
bob's own JupyterLab opens a Browser, a click opens his image, the Viewer's tiles come through his
server (which forwards to the service), a channel turned off changes the picture, and a rectangle he
draws reaches ``viewer.rois`` in his kernel and, once saved, the API."""

from __future__ import annotations

import pwd
from pathlib import Path

import pytest

from ..api_client import unique
from ..widgets.flow import BROWSER_CELL, Flow
from ..widgets.lab import (
    Chromium,
    KernelProbe,
    NotebookPage,
    import_array,
    kernel_file,
    put_notebook,
    two_channel_cells,
)
from .conftest import Hub

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NOTEBOOK = "widgets-in-the-hub.ipynb"


def log_in(page, hub_url: str, user: str) -> None:
    """Through the hub's own login form (the dummy authenticator takes any password)."""
    page.goto(hub_url + "hub/login")
    page.fill('input[name="username"]', user)
    page.fill('input[name="password"]', "any password")
    page.locator('[type="submit"]').first.click()
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=120_000)


def test_widgets_as_bob(hub: Hub, chromium: Chromium) -> None:
    bob = hub.via_server("bob")
    project = unique("Widgets in the hub")
    image = import_array(bob, two_channel_cells(), "cells.tif", f"Project:{project}/Dataset:Cells")
    server = hub.server_url("bob")
    put_notebook(server, hub.token("bob"), NOTEBOOK, [BROWSER_CELL])
    page = chromium.new_page()
    kernel = None
    try:
        log_in(page, hub.demo.url, "bob")
        nb = NotebookPage(page, server + f"lab/tree/{NOTEBOOK}", timeout=180)
        home = Path(pwd.getpwnam("bob").pw_dir)
        kernel = KernelProbe(kernel_file(server, hub.token("bob"), NOTEBOOK, home / ".local" / "share" / "jupyter"))
        flow = Flow(nb, kernel, bob, image, project, "Cells")
        flow.browse_and_select()
        flow.open_image()
        assert page.url.startswith(server), page.url  # bob's own server served the page and the tiles
        flow.check_tiles()
        flow.channel_off()
        shape = flow.draw_rectangle()
        # Python in bob's kernel reaches the service with his server's token (for saving, the comm relay).
        assert kernel.value("browser.viewer.hub.url").endswith("/services/scopehub/api/v1/")
        assert kernel.value("browser.viewer.hub.username") == "bob"
        flow.save_rectangle(shape)
        flow.docs_screenshot("hub-jupyterlab-bob", owner="bob")  # docs/admin/hub.md: JupyterLab as bob, in hub mode
    finally:
        if kernel is not None:
            kernel.close()
        page.context.close()
