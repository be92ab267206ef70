"""How the kernel reaches the scopehub API.

The widgets' front-ends talk to the API themselves, over HTTP on the page's origin. The kernel needs
its own way in for three things: relaying the front-end's requests where the page cannot reach the
API (the comm fallback, VS Code), saving ROIs and rendering settings from Python, and reading
settings for a Viewer that was never displayed. ``ApiConnection`` is that way in: a base URL ending
in ``api/v1/`` and a token. ``ApiConnection.discover()`` finds one from, in order:

1. ``SCOPEHUB_API_URL`` (and ``SCOPEHUB_TOKEN``): set by hand, or by a test;
2. hub mode: ``SCOPEHUB_SERVICE_URL`` and ``JUPYTERHUB_API_TOKEN``, which the hub gives every user
   server (``scopehub.hub_extension.configure``) and so every kernel;
3. standalone: the Jupyter server that started this kernel (``JPY_PARENT_PID``; its
   ``jpserver-<pid>.json`` in the runtime folder gives the URL and token).

The notebook client (``scopehub.connect()``) is built elsewhere; ``as_connection`` accepts its
objects too, as long as they say where the API is (``api_url`` or ``base_url``) and how to
authenticate (``token`` or a ``requests.Session``).
"""

from __future__ import annotations

import os
from typing import Any

import requests

DEFAULT_TIMEOUT = 60.0


class ApiError(RuntimeError):
    """An API reply that was not a success, with the API's own message."""

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {message}".strip())
        self.status = status
        self.message = message


class ApiConnection:
    """``ApiConnection("http://127.0.0.1:8888/scopehub/api/v1/", token)``: requests to the API."""

    def __init__(self, api_url: str, token: str | None = None, session: requests.Session | None = None) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self.token = token or None
        self.session = session or requests.Session()
        if self.token:
            self.session.headers["Authorization"] = f"token {self.token}"

    def __repr__(self) -> str:
        return f"ApiConnection({self.api_url!r})"

    def request(self, method: str, path: str, *, query: str = "", params: dict[str, Any] | None = None,
                json: Any = None, data: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> requests.Response:
        """``path`` is relative to the API (``images/3/render``); ``query`` an encoded query string."""
        url = self.api_url + path.lstrip("/") + (f"?{query}" if query else "")
        return self.session.request(method, url, params=params, json=json, data=data, headers=headers,
                                    timeout=timeout, allow_redirects=False)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request that must succeed; its JSON reply (None for 204)."""
        r = self.request(method, path, **kwargs)
        if not 200 <= r.status_code < 300:
            raise ApiError(r.status_code, _message(r), method, path)
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.json("GET", path, params=params or None)

    @classmethod
    def discover(cls) -> ApiConnection | None:
        """The API of the environment this kernel runs in, or None when nothing says where it is."""
        env = os.environ
        if env.get("SCOPEHUB_API_URL"):
            return cls(env["SCOPEHUB_API_URL"], env.get("SCOPEHUB_TOKEN"))
        if env.get("SCOPEHUB_SERVICE_URL") and env.get("JUPYTERHUB_API_TOKEN"):
            return cls(env["SCOPEHUB_SERVICE_URL"].rstrip("/") + "/api/v1/", env["JUPYTERHUB_API_TOKEN"])
        server = _parent_server()
        if server is not None:
            return cls(server["url"].rstrip("/") + "/scopehub/api/v1/", server.get("token"))
        return None


def as_connection(value: Any = None) -> ApiConnection | None:
    """An ``ApiConnection`` from one, from a client object that says where the API is, or discovered."""
    if value is None:
        return ApiConnection.discover()
    if isinstance(value, ApiConnection):
        return value
    if isinstance(value, str):
        return ApiConnection(value, os.environ.get("SCOPEHUB_TOKEN"))
    url = next((getattr(value, name) for name in ("api_url", "base_url", "url") if getattr(value, name, None)), None)
    if url is None:
        raise TypeError(f"cannot tell where the scopehub API is from {value!r}: give an ApiConnection, a URL, "
                        "or an object with api_url (or base_url) and token (or session)")
    session = getattr(value, "session", None)
    return ApiConnection(str(url), getattr(value, "token", None),
                         session if isinstance(session, requests.Session) else None)


def _message(r: requests.Response) -> str:
    try:
        return r.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return r.text[:300] or r.reason


def _parent_server() -> dict[str, Any] | None:
    """The running Jupyter server that started this kernel (else the only one running), if any."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:  # a kernel without jupyter_server installed beside it
        return None
    servers = list(list_running_servers())
    # jupyter_client tells a kernel its server's pid; a kernel started some other way may still be its child.
    parent = int(os.environ.get("JPY_PARENT_PID") or os.getppid())
    for server in servers:
        if server.get("pid") == parent:
            return server
    return servers[0] if len(servers) == 1 else None
