"""Every route of the API, declared in one place. ``openapi.json`` is generated from this table."""

from __future__ import annotations

from .accounts import account_handlers
from .annotations import annotation_handlers
from .containers import container_handlers
from .meta import meta_handlers

API_PREFIX = "scopehub/api/v1"


def api_routes() -> list[tuple[str, type]]:
    """(pattern relative to ``B/``, handler class) for every route."""
    return [*meta_handlers(), *account_handlers(), *container_handlers(), *annotation_handlers()]


def url_patterns(routes: list[tuple[str, type]], prefix: str = API_PREFIX) -> list[tuple[str, type]]:
    """The tornado URL patterns (relative to the server's base URL) for ``routes``."""
    return [(f"{prefix}/?" if not pattern else f"{prefix}/{pattern}", handler) for pattern, handler in routes]
