"""scopehub: an OMERO-style bioimage data platform for JupyterLab and JupyterHub.

``hub = scopehub.connect()`` opens the catalogue from Python (``scopehub.widgets``); the client is
imported on first use, so that importing ``scopehub`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
_CLIENT = ("connect", "Hub", "ScopehubError", "BadRequest", "NotAuthenticated", "Forbidden", "NotFound", "Conflict",
           "TooLarge", "Unreadable", "ConnectionFailed")
__all__ = ["__version__", *_CLIENT]


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'scopehub' has no attribute {name!r}")
