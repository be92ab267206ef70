"""The Python client of scopehub (and, soon, its notebook widgets).

``scopehub.connect()`` is the way in; the names below are imported on first use, so that
``import scopehub`` stays cheap.

The public API, kept stable for the widgets built on it: ``connect`` and ``Hub`` (``client.py``); the
objects ``Project``, ``Dataset``, ``Image``, ``Screen``, ``Plate``, ``Well`` (``objects.py``) and
``PagedList``; ``find_endpoint`` and ``Endpoint`` (``connection.py``: where the API is and the token,
without connecting); the exceptions (``errors.py``). Everything else is internal.
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
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
