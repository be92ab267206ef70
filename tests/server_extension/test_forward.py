"""Hub-client forwarding (``server_extension/forward.py``) without a hub: a quick real rig.

A standalone scopehub server stands in for the hub service (its API is at ``scopehub/api/v1`` rather
than ``api/v1``, so the client is pointed at ``{url}scopehub/``), and a second Jupyter server in
``hub-client`` mode forwards to it with the first one's token as its ``JUPYTERHUB_API_TOKEN``. The hub
tests (``tests/hub_extension/``) do the same through a real JupyterHub; these cover the edges
cheaply: limits, errors, a service that is down.
"""

from __future__ import annotations

import io
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import requests
import tifffile

from ..api_client import Api
from ..jupyter import JupyterServerProcess

UPLOAD_LIMIT = 8 * 2**20


@dataclass
class Rig:
    service: JupyterServerProcess
    client: JupyterServerProcess

    @property
    def direct(self) -> Api:
        return Api(self.service.url + "scopehub/api/v1/", self.service.token)

    @property
    def forwarded(self) -> Api:
        return Api(self.client.url + "scopehub/api/v1/", self.client.token)


def _client(service_url: str, token: str) -> JupyterServerProcess:
    env = {"SCOPEHUB_MODE": "hub-client", "SCOPEHUB_SERVICE_URL": service_url, "JUPYTERHUB_API_TOKEN": token}
    return JupyterServerProcess([], env=env)


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    data_dir = tempfile.mkdtemp(prefix="scopehub-forward-")
    service = JupyterServerProcess([f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=admin",
                                    f"--ScopehubApp.max_upload_size={UPLOAD_LIMIT}"])
    with service, _client(service.url + "scopehub/", service.token) as client:
        yield Rig(service, client)


def _tiff(rows: int) -> bytes:
    buffer = io.BytesIO()
    data = np.random.default_rng(1).integers(0, 60000, size=(rows, 1024), dtype=np.uint16)
    tifffile.imwrite(buffer, data)
    return buffer.getvalue()


def test_replies_are_the_services(rig: Rig) -> None:
    for path in ("", "me", "projects", "openapi.json", "no/such/route", "projects/0"):
        a, b = rig.direct.get(path), rig.forwarded.get(path)
        assert (a.status_code, a.content) == (b.status_code, b.content), path
        assert b.headers["Content-Type"] == a.headers["Content-Type"]


def test_binary_replies_keep_their_type(rig: Rig) -> None:
    """Tiles, thumbnails and zarr chunks come back as the service sent them, type and all, read whole or streamed."""
    job = rig.direct.ok("POST", "imports", 202, params={"filename": "small.tif", "target": "Project:F/Dataset:B"},
                        data=_tiff(512), headers={"Content-Type": "application/octet-stream"})
    deadline = time.monotonic() + 120
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = rig.direct.ok("GET", f"imports/{job['id']}")
    assert job["status"] == "done", job
    image = job["images"][0]
    for path in (f"images/{image}/render?tile=0,0,0&c=1|0:60000$FF0000", f"images/{image}/render?format=png",
                 f"images/{image}/thumbnail", f"images/{image}/zarr/0/c/0/0/0/0/0"):
        a, b = rig.direct.get(path), rig.forwarded.get(path)
        assert a.status_code == 200 and a.headers["Content-Type"] in ("image/jpeg", "image/png",
                                                                      "application/octet-stream"), path
        assert (b.status_code, b.headers["Content-Type"], b.content) == \
               (a.status_code, a.headers["Content-Type"], a.content), path


def test_the_client_server_authenticates_first(rig: Rig) -> None:
    for method in ("GET", "POST", "DELETE"):
        r = rig.forwarded.anonymous().request(method, "projects")
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
        assert "Location" not in r.headers


@pytest.mark.parametrize("chunked", [False, True])
def test_upload_under_the_limit(rig: Rig, chunked: bool) -> None:
    body = _tiff(2048)  # 4 MiB
    data = (body[i:i + 65536] for i in range(0, len(body), 65536)) if chunked else body
    r = rig.forwarded.post("imports", params={"filename": "under.tif", "target": "Project:F/Dataset:U"}, data=data,
                           headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text


def test_upload_over_the_services_limit_is_413(rig: Rig) -> None:
    """The service's limit applies (not the client server's own max_body_size), and its 413 comes back.

    The service refuses on seeing the size and closes the connection: a body still on its way would
    turn the answer into a reset (a 502 here), so the client server waits for the service's go-ahead
    (``Expect: 100-continue``). Several tries: without that, about every other one failed.
    """
    body = _tiff(6144)  # 12 MiB, over the service's 8 MiB
    for _ in range(6):
        r = rig.forwarded.post("imports", params={"filename": "over.tif"}, data=body,
                               headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text


def test_a_service_that_is_down_is_a_502(rig: Rig) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with _client(f"http://127.0.0.1:{port}/", "x") as client:
        r = Api(client.url + "scopehub/api/v1/", client.token).get("me")
        assert r.status_code == 502 and r.json()["error"]["code"] == "service_unavailable"


def test_wrong_service_token_is_the_services_401(rig: Rig) -> None:
    with _client(rig.service.url + "scopehub/", "not-the-token") as client:
        r = requests.get(client.url + "scopehub/api/v1/me", headers={"Authorization": f"token {client.token}"},
                         timeout=30)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
