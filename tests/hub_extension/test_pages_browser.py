"""The admin pages in a real Chromium (Python Playwright): log in through the hub's form, use the pages
as an admin would, and write the screenshots in ``docs/images/hub-admin-<page>.png``.

Chromium is the system's (``/usr/bin/chromium``; ``.ci/run`` installs it); Playwright's own browser
download is never used.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from zoneinfo import ZoneInfo

import pytest

from .conftest import SCREENSHOTS, TIME_ZONE, VIEWPORT, Hub, new_page

pytestmark = pytest.mark.browser

def log_in(page, hub: Hub, user: str, path: str) -> None:
    """Open an admin page, and log in through the hub's form when it sends us there."""
    page.goto(hub.pages_url + path)
    assert page.url.startswith(hub.demo.url + "hub/login"), page.url
    page.fill("#username_input", user)
    page.fill("#password_input", "any")
    page.click("#login_submit")
    page.wait_for_url(hub.pages_url + path)


def screenshot(page, name: str) -> None:
    path = SCREENSHOTS / f"hub-admin-{name}.png"
    page.screenshot(path=str(path))
    data = path.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"]) and len(data) < 300_000, (name, len(data))


def test_an_admin_uses_every_page(hub: Hub, pages_chromium, carol_imports) -> None:
    page = new_page(pages_chromium)
    log_in(page, hub, "alice", "groups")

    # The hub's Services menu leads here.
    page.goto(hub.demo.url + "hub/home")
    page.click("nav >> text=Services")
    page.click(".dropdown-menu >> text=scopehub")
    page.wait_for_url(hub.pages_url + "groups")
    assert page.locator(".nav-tabs .active").inner_text() == "Groups"
    assert page.locator("#groups tbody tr").count() > 0
    screenshot(page, "groups")

    # A new scopehub group, then its level changed on its page: the API and the audit log see both.
    name = f"imaging-{uuid.uuid4().hex[:6]}"
    page.fill("#new-group-name", name)
    page.select_option("#new-group-level", "private")
    page.fill("#new-group-description", "Made in the browser test")
    page.click("#new-group button[type=submit]")
    page.wait_for_url(f"{hub.pages_url}groups/*")
    assert page.locator("#scopehub-message").inner_text().strip() == f"Group {name} created (private)."
    page.select_option(".level-form select[name=level]", "read-annotate")
    page.click(".level-form button[type=submit]")
    assert page.locator("#scopehub-message").inner_text().strip() == f"Group {name} is now read-annotate."
    api = hub.direct("alice")
    group = next(g for g in api.ok("GET", "groups", params={"limit": 1000})["items"] if g["name"] == name)
    assert group["level"] == "read-annotate"
    assert any(e["action"] == "update_group" and e["target_id"] == group["id"] and e["actor"] == "alice"
               for e in api.ok("GET", "audit", params={"limit": 20})["items"])

    # A hub group's page: owners can be made, members come from the hub.
    lab_a = next(g for g in api.ok("GET", "groups", params={"limit": 1000})["items"] if g["name"] == "lab-a")
    page.goto(f"{hub.pages_url}groups/{lab_a['id']}")
    assert page.locator("#hub-managed-note").is_visible()
    assert page.locator("tr[data-user=erin] .badge").inner_text() == "owner"
    screenshot(page, "group")

    page.goto(hub.pages_url + "users")
    assert page.locator("tr[data-user=carol] td[data-field=originals]").get_attribute("data-bytes") != "0"
    screenshot(page, "users")
    page.fill("#user-search input[name=q]", "car")
    page.press("#user-search input[name=q]", "Enter")
    page.wait_for_url(hub.pages_url + "users?q=car")
    assert page.locator("#users tbody tr").evaluate_all("rows => rows.map(r => r.dataset.user)") == ["carol"]

    page.goto(hub.pages_url + "imports")
    failed = page.locator(f"tr[data-job='{carol_imports[2]['id']}']")
    assert "could not be decoded" in failed.locator(".job-error").inner_text()
    # Times are shown in the browser's time zone by the page's script (UTC without it).
    created = dt.datetime.fromisoformat(carol_imports[2]["created"]).astimezone(ZoneInfo(TIME_ZONE))
    shown = failed.locator("time").first.inner_text()
    assert created.strftime("%H:%M") in shown and "UTC" not in shown, shown
    screenshot(page, "imports")

    page.goto(hub.pages_url + "audit")
    assert page.locator(f"#audit tr[data-target='group:{group['id']}'][data-action=update_group]").count() == 1
    screenshot(page, "audit")
    page.context.close()


def test_someone_else_sees_a_403_page(hub: Hub, pages_chromium) -> None:
    page = new_page(pages_chromium)
    log_in(page, hub, "bob", "users")
    assert page.title() == "Forbidden · scopehub"
    assert "only catalogue admins" in page.locator("#scopehub-error").inner_text()
    assert page.locator(".nav-tabs").count() == 0
    page.context.close()
