"""``Browser``: the catalogue as a tree (projects, datasets, images with thumbnails) in a notebook.

    browser = Browser(hub)       # hub = scopehub.connect(); Browser() connects as connect() does
    browser                      # search, filter by owner and group, pages of 100 images
    browser.selected             # [{"type": "image", "id": 12, "name": "..."}], follows the clicks
    browser.viewer               # the Viewer of the image opened last (double-click, or Open)

The tree is an anywidget (``BrowserPanel``); the Browser is a box holding it and, once an image is
opened, a ``Viewer`` beside it, so that the Viewer is a real Python object too.
"""

from __future__ import annotations

from typing import Any

import anywidget
import ipywidgets
import traitlets as tr

from .client import Hub
from .viewer import STATIC, TRANSPORTS, HubMixin, Viewer, hub_of, image_id_of


class BrowserPanel(HubMixin, anywidget.AnyWidget):
    """The tree itself; most people use ``Browser``."""

    _esm = STATIC / "browser.js"
    _css = STATIC / "widgets.css"

    transport = tr.Unicode("auto").tag(sync=True)
    selected = tr.List(tr.Dict(), help="The selected rows: type, id, name.").tag(sync=True)
    opened = tr.Dict(help="The image opened last: id, name (and a nonce, so reopening counts).").tag(sync=True)
    query = tr.Unicode("", help="Search text; empty shows the tree.").tag(sync=True)
    owner = tr.Int(0, help="Only objects owned by this user id (0: everyone's).").tag(sync=True)
    group = tr.Int(0, help="Only objects in this group id (0: all groups).").tag(sync=True)
    page_size = tr.Int(100, help="Rows per page of a list.").tag(sync=True)
    height = tr.Int(420, help="Height of the tree, in pixels.").tag(sync=True)

    def __init__(self, hub: Hub | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._init_hub(hub)
        self.on_msg(lambda _w, content, _buffers: self._relay.handle(content))

    @tr.validate("page_size")
    def _check_page_size(self, proposal: dict) -> int:
        if not 1 <= proposal["value"] <= 1000:
            raise tr.TraitError("page_size must be 1 to 1000 (the API's largest page)")
        return proposal["value"]


class Browser(ipywidgets.Box):
    """The catalogue's tree, and a Viewer for the image opened in it."""

    selected = tr.List(tr.Dict(), help="The selected rows: type, id, name.")
    viewer = tr.Instance(Viewer, allow_none=True, help="The Viewer of the image opened last.")

    def __init__(self, hub: Hub | None = None, *, transport: str = "auto", query: str = "", owner: int = 0,
                 group: int = 0, page_size: int = 100, height: int = 420, viewer_height: int = 520,
                 **kwargs: Any) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}")
        self.panel = BrowserPanel(hub_of(hub), transport=transport, query=query, owner=owner, group=group,
                                  page_size=page_size, height=height,
                                  layout=ipywidgets.Layout(flex="1 1 340px", max_width="480px", margin="0 8px 8px 0"))
        self._viewer_height = viewer_height
        layout = kwargs.pop("layout", ipywidgets.Layout(display="flex", flex_flow="row wrap", align_items="flex-start",
                                                        width="100%"))
        super().__init__(children=[self.panel], layout=layout, **kwargs)
        self.add_class("scopehub-browser-layout")
        self.panel.observe(self._selection_changed, names="selected")
        self.panel.observe(self._opened, names="opened")

    def __repr__(self) -> str:
        return f"Browser({len(self.selected)} selected, viewer={self.viewer!r})"

    def _selection_changed(self, change: dict) -> None:
        self.selected = list(change["new"])

    def _opened(self, change: dict) -> None:
        if change["new"].get("id"):
            self.open_image(change["new"]["id"])

    def open_image(self, image: Any) -> Viewer:
        """Show a Viewer for an image (an id or an object with ``.id``) beside the tree."""
        image_id = image_id_of(image)
        old = self.viewer
        viewer = Viewer(image_id, hub=self.panel._hub_value, transport=self.panel.transport,
                        height=self._viewer_height, layout=ipywidgets.Layout(flex="100 1 560px", min_width="0"))
        self.children = [self.panel, viewer]
        self.viewer = viewer
        if old is not None:
            old.close()
        return viewer

    # The panel's filters, from Python.
    @property
    def query(self) -> str:
        return self.panel.query

    @query.setter
    def query(self, value: str) -> None:
        self.panel.query = value

    def filter(self, *, owner: int | None = None, group: int | None = None) -> None:
        """Show only what this user id owns and/or what is in this group id (0: no filter)."""
        with self.panel.hold_sync():
            if owner is not None:
                self.panel.owner = owner
            if group is not None:
                self.panel.group = group
