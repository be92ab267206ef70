"""The comm fallback: the kernel relays a widget front-end's API requests.

Where the page cannot reach the server extension (VS Code, a notebook shown from another host), the
front-end sends ``{"type": "request", "id", "method", "path", "query", "body"}`` over the widget's
comm; the kernel makes the request with its client (``Hub.http``, the caller's token) on a few worker
threads (so the kernel stays free for the user's code while tiles load) and answers ``{"type": "reply", "id", "status",
"content_type"}`` with the reply's bytes as one binary buffer. Only paths inside the API are relayed.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from .client import Hub
from .errors import ScopehubError
from .http import TIMEOUT

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# A relative API path: no scheme, no host, no way out of api/v1/.
SAFE_PATH = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.,=-]*(/[A-Za-z0-9_.,=-]+)*/?$")
WORKERS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """One pool for every widget of the kernel: relays are I/O, a few threads are plenty."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="scopehub-relay")
        return _pool


def _error(status: int, code: str, message: str) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps({"error": {"code": code, "message": message}}).encode()


class RequestRelay:
    """Answers a widget's ``request`` messages; ``send(content, buffers)`` is the widget's own send."""

    def __init__(self, send: Callable[[dict, list[bytes]], None],
                 hub: Callable[[], Hub]) -> None:
        self._send = send
        self._hub = hub
        self._lock = threading.Lock()  # one message at a time onto the comm
        self._cancelled: set[int] = set()
        self.answered: dict[str, int] = {}  # by the path's last part (render, thumbnail, ...): what was relayed

    def handle(self, content: dict[str, Any]) -> bool:
        """Take a ``request`` or ``cancel`` message; False for any other message."""
        kind = content.get("type")
        if kind == "cancel":
            self._cancelled.add(content.get("id"))
            return True
        if kind != "request":
            return False
        _executor().submit(self._answer, content)
        return True

    def answer_now(self, content: dict[str, Any]) -> None:
        """Answer a request on the calling thread (tests, and a kernel without threads to spare)."""
        self._answer(content)

    def _answer(self, content: dict[str, Any]) -> None:
        request_id = content.get("id")
        try:
            if request_id in self._cancelled:
                self._cancelled.discard(request_id)
                return
            status, content_type, body = self._fetch(content)
        except Exception as e:  # noqa: BLE001 - whatever happens, the front-end must get an answer
            status, content_type, body = _error(502, "relay_failed", f"{type(e).__name__}: {e}")
        if request_id in self._cancelled:
            self._cancelled.discard(request_id)
            return
        with self._lock:
            route = str(content.get("path", "")).rstrip("/").rsplit("/", 1)[-1]
            self.answered[route] = self.answered.get(route, 0) + 1
            self._send({"type": "reply", "id": request_id, "status": status, "content_type": content_type}, [body])

    def _fetch(self, content: dict[str, Any]) -> tuple[int, str, bytes]:
        method = str(content.get("method", "GET")).upper()
        path = str(content.get("path", ""))
        query = str(content.get("query") or "")
        if method not in METHODS:
            return _error(400, "bad_method", f"the relay does not send {method[:20]!r}")
        if not SAFE_PATH.match(path) or ".." in path.split("/"):
            return _error(400, "bad_path", f"not a path inside the scopehub API: {path[:200]!r}")
        if any(c in query for c in "#\r\n"):
            return _error(400, "bad_query", "the query string has characters it cannot have")
        try:
            http = self._hub().http
        except ScopehubError as e:  # no server found, or it refused the token
            return _error(503, "no_connection", f"this kernel cannot reach the scopehub API: {e.message}")
        body = content.get("body")
        url = http.url(path) + (f"?{query}" if query else "")
        try:
            # The session itself, not Http.request: an error reply goes back to the front-end as it is.
            r = http.session.request(method, url, json=body, timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as e:
            return _error(502, "unreachable", f"the kernel could not reach the scopehub API: {e}")
        return r.status_code, r.headers.get("Content-Type", ""), r.content
