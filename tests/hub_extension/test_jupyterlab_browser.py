"""bob in JupyterLab on the hub, in a real Chromium: logged in through the hub's form, his own server
answers scopehub's API to his browser session (the screenshot in the docs is test_widgets.py's)."""

from __future__ import annotations

import json

import pytest

from .conftest import Hub, new_page

pytestmark = pytest.mark.browser

# What a front-end in JupyterLab does: the browser's session cookie, and the hub's XSRF token from the
# `_xsrf` cookie (JupyterHub asks for it on cookie-authenticated fetches since 4.1).
FETCH = """async (url) => {
    const m = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
    const r = await fetch(url, {headers: m ? {'X-XSRFToken': decodeURIComponent(m[1])} : {}});
    return [r.status, await r.text()];
}"""


def test_bob_reaches_the_catalogue_from_jupyterlab(hub: Hub, pages_chromium) -> None:
    server = hub.server_url("bob")
    alice = hub.direct("alice")
    bob_image = hub.direct("bob").ok("GET", "images", params={"limit": 1})
    page = new_page(pages_chromium)
    page.set_default_timeout(120_000)  # a first visit may wait for the server's JupyterLab assets
    # `?reset`: the system account's home keeps JupyterLab's workspace from other runs (other tabs open).
    page.goto(server + "lab?reset")
    assert page.url.startswith(hub.demo.url + "hub/login"), page.url
    page.fill("#username_input", "bob")
    page.fill("#password_input", "any")
    page.click("#login_submit")
    page.wait_for_url(server + "lab**")
    try:
        page.wait_for_selector(".jp-LauncherCard")
    except Exception:
        page.screenshot(path="/tmp/scopehub-jupyterlab-bob-failed.png")  # for whoever debugs it
        raise

    # The browser session (no token anywhere in the page's code) reaches the API through bob's server,
    # and sees what bob sees.
    status, body = page.evaluate(FETCH, server + "scopehub/api/v1/me")
    assert status == 200, body
    assert json.loads(body)["username"] == "bob"
    status, body = page.evaluate(FETCH, server + "scopehub/api/v1/images?limit=1000")
    assert status == 200, body
    visible = {i["id"] for i in json.loads(body)["items"]}
    assert {i["id"] for i in bob_image["items"]} <= visible
    everything = {i["id"] for i in alice.ok("GET", "images", params={"limit": 1000})["items"]}
    hidden = everything - {i["id"] for i in hub.direct("bob").ok("GET", "images", params={"limit": 1000})["items"]}
    assert not (visible & hidden)
    # alice's session is not bob's: her server's API refuses bob's browser.
    status, body = page.evaluate(FETCH, hub.demo.url + "user/alice/scopehub/api/v1/me")
    assert '"username"' not in body, (status, body[:300])
