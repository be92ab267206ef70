"""Errors the catalogue raises; the HTTP layer maps each to its status."""

from __future__ import annotations


class CatalogueError(Exception):
    """Base class: ``code`` is the machine-readable error code, ``status`` the HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(CatalogueError):
    status, code = 400, "bad_request"


class NotAuthenticated(CatalogueError):
    status, code = 401, "not_authenticated"


class Forbidden(CatalogueError):
    status, code = 403, "forbidden"


class NotFound(CatalogueError):
    """Missing, or invisible to the caller: the two must look the same."""

    status, code = 404, "not_found"


class Conflict(CatalogueError):
    status, code = 409, "conflict"


class TooLarge(CatalogueError):
    status, code = 413, "too_large"


class Unreadable(CatalogueError):
    status, code = 422, "unreadable"
