"""A hub user's own server forwards the API to the service: same replies, bodies streamed both ways.

Everything that works in standalone mode works through ``/user/{name}/scopehub/api/v1/``: uploads
(streamed, never held in the server's memory), originals (streamed back byte for byte), renders,
the OME-Zarr route for zarr-python, and every status and error body unchanged.
"""

from __future__ import annotations

import hashlib
import io
import time

import numpy as np
import psutil
import pytest
import tifffile
import zarr
from ome_zarr_models.v05.image import Image as OmeImage
from PIL import Image as PILImage

from ..api_client import Api, unique
from .conftest import Hub


def _server_process(user: str) -> psutil.Process:
    for proc in psutil.process_iter(["username", "cmdline"]):
        if proc.info["username"] == user and any("jupyterhub-singleuser" in a for a in proc.info["cmdline"] or ()):
            return proc
    raise LookupError(user)


def _peak_rss(proc: psutil.Process) -> int:
    """VmHWM: the most memory the process has ever held."""
    with open(f"/proc/{proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise LookupError("VmHWM")


def _wait(api: Api, job: dict, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = api.ok("GET", f"imports/{job['id']}")
    return job


@pytest.fixture(scope="module")
def big_tiff() -> bytes:
    """A 64 MiB uncompressed 4-channel TIFF: big enough that holding it in memory would show."""
    data = np.random.default_rng(5).integers(0, 4000, size=(4, 2048, 4096), dtype=np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, photometric="minisblack", metadata={"axes": "CYX"})
    return buffer.getvalue()


@pytest.fixture(scope="module")
def uploaded(hub: Hub, big_tiff: bytes) -> dict:
    """bob uploads the TIFF through his server (a generator body: chunked, streamed)."""
    bob = hub.via_server("bob")
    process = _server_process("bob")
    before = _peak_rss(process)

    def chunks():
        for i in range(0, len(big_tiff), 1 << 20):
            yield big_tiff[i:i + (1 << 20)]

    job = bob.ok("POST", "imports", 202, params={"filename": "big.tif", "target": "Project:Client/Dataset:Upload"},
                 data=chunks(), headers={"Content-Type": "application/octet-stream"})
    job = _wait(bob, job)
    assert job["status"] == "done", job
    return {"job": job, "image": job["images"][0], "peak_growth": _peak_rss(process) - before}


def test_upload_streams_through_the_server(hub: Hub, uploaded: dict, big_tiff: bytes) -> None:
    # The 64 MiB passed through bob's server without it ever holding much of it.
    assert uploaded["peak_growth"] < 24 * 2**20, uploaded["peak_growth"]
    files = hub.via_server("bob").ok("GET", f"images/{uploaded['image']}/originals")["items"]
    assert files[0]["size"] == len(big_tiff) and files[0]["sha256"] == hashlib.sha256(big_tiff).hexdigest()


def test_original_streams_back(hub: Hub, uploaded: dict, big_tiff: bytes) -> None:
    bob = hub.via_server("bob")
    file_id = bob.ok("GET", f"images/{uploaded['image']}/originals")["items"][0]["id"]
    process = _server_process("bob")
    before = _peak_rss(process)
    r = bob.get(f"originals/{file_id}", stream=True)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(big_tiff)
    digest, size = hashlib.sha256(), 0
    for chunk in r.iter_content(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    assert size == len(big_tiff) and digest.hexdigest() == hashlib.sha256(big_tiff).hexdigest()
    assert _peak_rss(process) - before < 24 * 2**20


def test_same_replies_direct_and_through_the_server(hub: Hub, uploaded: dict) -> None:
    direct, server = hub.direct("bob"), hub.via_server("bob")
    image = uploaded["image"]
    for path in (f"images/{image}", f"images/{image}/rendering", f"images/{image}/histogram?c=2&bins=16",
                 "me", f"images/{image}/zarr/zarr.json"):
        a, b = direct.get(path), server.get(path)
        assert (a.status_code, a.headers.get("Content-Type"), a.content) == \
               (b.status_code, b.headers.get("Content-Type"), b.content), path
    for path in (f"images/{image}/render?tile=0,0,0&c=1|0:4000$FF0000,2|0:4000$00FF00", f"images/{image}/thumbnail"):
        a, b = direct.get(path), server.get(path)
        assert a.status_code == b.status_code == 200 and a.content == b.content, path
        assert a.headers["Content-Type"] == b.headers["Content-Type"] == "image/jpeg", path
        assert PILImage.open(io.BytesIO(b.content)).size[0] > 0


def test_errors_pass_through_unchanged(hub: Hub, uploaded: dict) -> None:
    direct, server = hub.direct("bob"), hub.via_server("bob")
    image = uploaded["image"]
    cases = [("GET", f"images/{2**62}", None), ("GET", f"images/{image}/render?z=99", None),
             ("GET", f"images/{image}/render?c=9", None), ("GET", "nothing/here", None),
             ("POST", "projects", {"nope": 1}), ("PATCH", f"images/{image}", {"name": ""}),
             ("POST", "imports", {"paths": ["../../etc/passwd"]})]
    for method, path, body in cases:
        a, b = direct.request(method, path, json=body), server.request(method, path, json=body)
        assert a.status_code == b.status_code and a.status_code >= 400, (path, a.status_code, b.status_code)
        assert a.json() == b.json(), path
        assert b.headers["Content-Type"].startswith("application/json")


def test_etag_and_conditional_requests_pass_through(hub: Hub, uploaded: dict) -> None:
    server = hub.via_server("bob")
    r = server.get(f"images/{uploaded['image']}")
    etag = r.headers["ETag"]
    r = server.patch(f"images/{uploaded['image']}", json={"description": "x"}, headers={"If-Match": '"999"'})
    assert r.status_code == 409
    r = server.patch(f"images/{uploaded['image']}", json={"description": "x"}, headers={"If-Match": etag})
    assert r.status_code == 200


def test_zarr_python_reads_through_the_server(hub: Hub, uploaded: dict, big_tiff: bytes) -> None:
    server = hub.via_server("bob")
    group = zarr.open_group(server.base + f"images/{uploaded['image']}/zarr", mode="r",
                            storage_options={"headers": server.headers()})
    source = tifffile.imread(io.BytesIO(big_tiff))
    np.testing.assert_array_equal(group["0"][0, 2, 0, 1000:1600, 3000:3700], source[2, 1000:1600, 3000:3700])
    assert OmeImage.from_zarr(group).attributes.ome.version == "0.5"


def test_an_invisible_image_is_404_through_the_server_too(hub: Hub, uploaded: dict) -> None:
    r = hub.via_server("carol").get(f"images/{uploaded['image']}/zarr/zarr.json")
    assert r.status_code == 404


def test_someone_else_cannot_use_bobs_server(hub: Hub) -> None:
    """carol's token does not open bob's server (the hub's own access rule), so she cannot act as bob."""
    r = Api(hub.server_url("bob") + "scopehub/api/v1/", hub.token("carol")).get("me")
    assert r.status_code in (401, 403), r.text


def test_created_through_the_server_is_owned_by_its_owner(hub: Hub) -> None:
    project = hub.via_server("dave").ok("POST", "projects", 201, json={"name": unique("via-dave")})
    assert project["owner"]["username"] == "dave"
