"""scopehub for JupyterHub: the service that holds the catalogue for every hub user.

``configure(c)`` in ``jupyterhub_config.py`` sets it all up; ``python -m scopehub.hub_extension``
is the service process the hub starts. See ``docs/admin/hub.md``.
"""

from __future__ import annotations

from .config import configure

__all__ = ["configure"]
