"""The scopehub core and its jupyter_server extension.

The catalogue, the store and the HTTP API live here; the same handlers serve standalone
JupyterLab and (later) the JupyterHub service.
"""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict]:
    from .app import ScopehubApp

    return [{"module": "scopehub.server_extension", "app": ScopehubApp}]
