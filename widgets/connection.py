"""Where the scopehub API is, and the token to reach it: from the arguments, the environment, or the
Jupyter server (or JupyterHub) that started this kernel. Never a database URL: the client only ever
speaks to the API, with the caller's own identity.

In order:

1. ``connect(url, token)``: given outright (a script on a laptop talking to a facility's hub).
2. ``SCOPEHUB_URL`` and ``SCOPEHUB_TOKEN`` in the environment.
3. In a JupyterHub user's kernel (``JUPYTERHUB_API_TOKEN`` is set): the scopehub service itself
   (``SCOPEHUB_SERVICE_URL``, which hub mode gives every user server), else the user's own server
   (``JUPYTERHUB_SERVICE_URL``) which forwards the API to the service; with the server's hub token.
4. In a kernel started by a standalone Jupyter server: that server (its runtime file, matched by the
   kernel's parent process id ``JPY_PARENT_PID``, or by ``JUPYTER_SERVER_URL`` in a Jupyter terminal),
   with its token.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConnectionFailed

API_PATH = "scopehub/api/v1/"


@dataclass(frozen=True)
class Endpoint:
    """The API's URL (ending in ``api/v1/``), the token, and how they were found."""

    api_url: str
    token: str
    found_by: str


def api_url(url: str) -> str:
    """The API URL for what a person may paste: a Jupyter server, a hub service, or the API itself.

    ``http://host:8888/`` and ``.../user/bob/`` get ``scopehub/api/v1/``; a hub service
    (``https://hub.example.org/services/scopehub/``) gets ``api/v1/``; a URL that already ends in
    ``api/v1`` is kept.
    """
    url = url.strip()
    if not re.match(r"^https?://", url):
        raise ConnectionFailed(f"{url!r} is not an http(s) URL")
    url = url.rstrip("/") + "/"
    path = urlsplit(url).path
    if path.endswith("/api/v1/"):
        return url
    if re.search(r"/services/[^/]+/$", path):
        return url + "api/v1/"
    return url + API_PATH


def find_endpoint(url: str | None = None, token: str | None = None) -> Endpoint:
    """The endpoint to use; raises :class:`ConnectionFailed` saying what to do when there is none."""
    env = os.environ
    if url:
        return Endpoint(api_url(url), token if token is not None else env.get("SCOPEHUB_TOKEN", ""), "arguments")
    if env.get("SCOPEHUB_URL"):
        return Endpoint(api_url(env["SCOPEHUB_URL"]), token or env.get("SCOPEHUB_TOKEN", ""), "SCOPEHUB_URL")
    hub_token = env.get("JUPYTERHUB_API_TOKEN")
    if hub_token:
        # Straight to the service when this server knows it (one hop fewer for every pixel read);
        # else through the user's own server, which forwards the API.
        if env.get("SCOPEHUB_SERVICE_URL"):
            return Endpoint(api_url(env["SCOPEHUB_SERVICE_URL"]), token or hub_token, "JupyterHub (scopehub service)")
        if env.get("JUPYTERHUB_SERVICE_URL"):
            return Endpoint(api_url(env["JUPYTERHUB_SERVICE_URL"]), token or hub_token, "JupyterHub (your server)")
    server = _launching_server()
    if server is not None:
        return Endpoint(api_url(server["url"]), token or server.get("token", ""),
                        f"the Jupyter server (pid {server.get('pid')})")
    raise ConnectionFailed(
        "no scopehub server found: outside Jupyter, call scopehub.connect(url, token) (or set SCOPEHUB_URL and "
        "SCOPEHUB_TOKEN), e.g. connect('https://hub.example.org/services/scopehub/', token) with a token made "
        "on the hub's token page")


def _runtime_files() -> list[dict]:
    """The runtime files of running Jupyter servers (what ``jupyter server list`` reads)."""
    from jupyter_core.paths import jupyter_runtime_dir

    folder = Path(os.environ.get("JUPYTER_RUNTIME_DIR") or jupyter_runtime_dir())
    servers = []
    for path in sorted(folder.glob("jpserver-*.json")) if folder.is_dir() else []:
        try:
            servers.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # being written, or not ours to read
    return servers


def _launching_server() -> dict | None:
    """The Jupyter server that started this kernel (or the terminal this runs in), if any."""
    env = os.environ
    parent = env.get("JPY_PARENT_PID")
    server_url = env.get("JUPYTER_SERVER_URL")
    if not parent and not server_url:
        return None
    for info in _runtime_files():
        if parent and str(info.get("pid")) == parent:
            return info
        if server_url and info.get("url", "").rstrip("/") == server_url.rstrip("/"):
            return info
    return None
