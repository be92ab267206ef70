"""scopehub for JupyterHub: the service that holds the catalogue for every hub user.

``configure(c)`` in ``jupyterhub_config.py`` sets it all up; ``python -m scopehub.hub_extension``
is the service process the hub starts, which also serves the catalogue's admin pages (``admin.py``,
``pages.py``). See ``docs/admin/hub.md``.
"""

from __future__ import annotations

from .config import configure

__all__ = ["configure"]


def _jupyter_server_extension_points() -> list[dict]:
    """The admin pages, which the hub service loads (``service.SERVICE_EXTENSIONS``); nothing else enables them."""
    from .admin import AdminPagesApp

    return [{"module": "scopehub.hub_extension.admin", "app": AdminPagesApp}]
