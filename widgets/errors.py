"""The exceptions the client raises: one per kind of refusal, each with the server's code and message."""

from __future__ import annotations


class ScopehubError(Exception):
    """Something scopehub refused or could not do.

    ``status`` is the HTTP status (None when the server was not reached), ``code`` the server's error
    code (``not_found``, ``forbidden``, ...) and ``message`` its explanation, meant for people.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str = "error", method: str = "",
                 url: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url} -> {self.status})" if self.status is not None and self.url else ""
        return f"{self.message}{where}"


class BadRequest(ScopehubError, ValueError):
    """400: the request was wrong (a bad value, an unsupported type or shape); the message says what."""


class NotAuthenticated(ScopehubError):
    """401: no valid token."""


class Forbidden(ScopehubError):
    """403: you may see the object but not do this to it (or your token may only read)."""


class NotFound(ScopehubError, LookupError):
    """404: there is no such object, or you may not see it (the two look the same)."""


class Conflict(ScopehubError):
    """409: the object changed meanwhile, or is in a state that does not allow this."""


class TooLarge(ScopehubError, ValueError):
    """413: larger than the server accepts."""


class Unreadable(ScopehubError, ValueError):
    """422: the server could not read a file (or stored pixels)."""


class ConnectionFailed(ScopehubError):
    """The server could not be found or reached."""


BY_STATUS: dict[int, type[ScopehubError]] = {400: BadRequest, 401: NotAuthenticated, 403: Forbidden,
                                             404: NotFound, 409: Conflict, 413: TooLarge, 422: Unreadable}
