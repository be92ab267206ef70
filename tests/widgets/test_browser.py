"""The Browser's Python side: the selection and the opened image reach Python, and a Viewer follows."""

from __future__ import annotations

import pytest
import traitlets

from scopehub.widgets import Browser, Viewer


def test_selection_made_in_the_tree_is_the_browsers() -> None:
    browser = Browser()
    seen = []
    browser.observe(lambda change: seen.append(change["new"]), names="selected")
    entries = [{"type": "image", "id": 3, "name": "a.tif"}, {"type": "dataset", "id": 2, "name": "d"}]
    browser.panel.selected = entries  # what the front-end sets on a click
    assert browser.selected == entries and seen == [entries]


def test_opening_an_image_shows_a_viewer_beside_the_tree() -> None:
    browser = Browser(transport="comm", viewer_height=300)
    assert browser.children == (browser.panel,) and browser.viewer is None
    browser.panel.opened = {"id": 12, "name": "a.tif", "nonce": "1"}
    first = browser.viewer
    assert isinstance(first, Viewer) and first.image_id == 12 and first.transport == "comm" and first.height == 300
    assert browser.children == (browser.panel, first)
    # Opening another (or the same again) replaces the Viewer and closes the old one.
    browser.panel.opened = {"id": 12, "name": "a.tif", "nonce": "2"}
    assert browser.viewer is not first and first.comm is None and browser.children[1] is browser.viewer
    assert browser.open_image(13).image_id == 13


def test_filters_and_paging_from_python() -> None:
    browser = Browser(query="nuclei", page_size=50)
    assert browser.panel.query == "nuclei" and browser.panel.page_size == 50
    browser.query = "mitosis"
    browser.filter(owner=4, group=2)
    assert (browser.panel.query, browser.panel.owner, browser.panel.group) == ("mitosis", 4, 2)
    with pytest.raises(traitlets.TraitError):
        browser.panel.page_size = 5000
    with pytest.raises(ValueError):
        Browser(transport="ftp")
