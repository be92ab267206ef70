"""Every route of the API, declared in one place. ``openapi.json`` is generated from this table."""

from __future__ import annotations

from tornado import web

from .accounts import account_handlers
from .annotations import annotation_handlers
from .base import ScopehubHandler
from .containers import container_handlers
from .imports import import_handlers
from .meta import meta_handlers
from .pixels import pixel_handlers
from .provenance import provenance_handlers
from .rois import roi_handlers
from .writes import write_handlers

API_PREFIX = "scopehub/api/v1"


def api_routes() -> list[tuple[str, type]]:
    """(pattern relative to ``B/``, handler class) for every route."""
    return [*meta_handlers(), *account_handlers(), *container_handlers(), *annotation_handlers(),
            *pixel_handlers(), *import_handlers(), *write_handlers(), *provenance_handlers(), *roi_handlers()]


class UnknownRouteHandler(ScopehubHandler):
    """Any other path under ``B/`` (``projects/abc``): a JSON 404, never Jupyter's HTML page."""

    @web.authenticated
    async def get(self, *args: str) -> None:
        raise web.HTTPError(404, "no such API route")

    post = put = patch = delete = get


def url_patterns(routes: list[tuple[str, type]], prefix: str = API_PREFIX) -> list[tuple[str, type]]:
    """The tornado URL patterns (relative to the server's base URL) for ``routes``, then the JSON 404."""
    patterns = [(f"{prefix}/?" if not pattern else f"{prefix}/{pattern}", handler) for pattern, handler in routes]
    return [*patterns, (f"{prefix}/.*", UnknownRouteHandler)]
