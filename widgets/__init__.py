"""The Python client of scopehub and its notebook widgets.

``scopehub.connect()`` is the way in (``Hub``: objects, pixels, annotations, writes). ``Browser``
(the catalogue as a tree) and ``Viewer`` (one image, with its channels and ROIs) are anywidgets whose
front-end ships inside the package (``widgets/static/``, built from ``widgets/js/``): nothing loads
from a CDN. They take the client's objects (``Viewer(hub.image(12))``, ``Browser(hub)``) or, given
nothing, connect as ``connect()`` does; they reach the API over HTTP on the page's own origin, or
through the kernel over the widget's comm where the page cannot (``relay``).

The names below are imported on first use, so that ``import scopehub`` stays cheap.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "connect": ".client", "Hub": ".client",
    "Project": ".objects", "Dataset": ".objects", "Image": ".objects", "Screen": ".objects", "Plate": ".objects",
    "Well": ".objects", "PagedList": ".paging", "Annotation": ".annotations", "Provenance": ".provenance",
    "ScopehubError": ".errors", "BadRequest": ".errors", "NotAuthenticated": ".errors", "Forbidden": ".errors",
    "NotFound": ".errors", "Conflict": ".errors", "TooLarge": ".errors", "Unreadable": ".errors",
    "ConnectionFailed": ".errors", "Endpoint": ".connection", "find_endpoint": ".connection",
    "Roi": ".rois", "Rectangle": ".rois", "Ellipse": ".rois", "Point": ".rois", "Line": ".rois",
    "Polyline": ".rois", "Polygon": ".rois", "Mask": ".rois", "Label": ".rois",
    "Browser": ".browser", "BrowserPanel": ".browser", "Viewer": ".viewer",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
