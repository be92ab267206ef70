"""Notebook widgets for scopehub: ``Browser`` (the catalogue as a tree) and ``Viewer`` (one image).

Both are anywidgets whose front-end ships inside the package (``widgets/static/``, built from
``widgets/js/``): nothing loads from a CDN. They reach the API over HTTP on the page's own origin,
or through the kernel over the widget's comm where the page cannot (see ``connection`` and ``relay``).
"""

from __future__ import annotations

from .browser import Browser, BrowserPanel
from .connection import ApiConnection, ApiError
from .viewer import Viewer

__all__ = ["ApiConnection", "ApiError", "Browser", "BrowserPanel", "Viewer"]
