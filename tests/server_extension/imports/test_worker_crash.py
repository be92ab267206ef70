"""What a dead import leaves: a worker killed with SIGKILL mid-import, then the whole server killed
mid-import and started again. Only a failed job remains: no catalogue rows, no files in the store.
Also an upload over a small limit, sent chunked (no Content-Length), gets 413 and leaves nothing."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
import tifffile

from ...api_client import Api
from ...jupyter import JupyterServerProcess
from .conftest import store_files, wait_job, write_png

LIMIT = 1 << 20


class Site:
    """A data folder and an import root that outlive the servers started on them."""

    def __init__(self, base: Path):
        self.data_dir = base / "data"
        self.root = base / "root"
        self.root.mkdir(parents=True)
        self.store = self.data_dir / "store"
        self.args = [f"--ScopehubApp.data_dir={self.data_dir}", "--ScopehubApp.standalone_username=admin",
                     "--ScopehubApp.import_workers=1", f"--ScopehubApp.max_upload_size={LIMIT}"]

    def server(self) -> JupyterServerProcess:
        return JupyterServerProcess(self.args, root_dir=self.root)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with tempfile.TemporaryDirectory(prefix="scopehub-import-crash-") as base:
        site = Site(Path(base))
        # A file whose pixels take a moment to write: 4 channels of 2048² uint16, zlib tiles.
        data = np.random.default_rng(1).integers(0, 60000, (4, 2048, 2048), dtype=np.uint16)
        tifffile.imwrite(site.root / "big.ome.tif", data, ome=True, tile=(256, 256), compression="zlib",
                         photometric="minisblack", metadata={"axes": "CYX"})
        write_png(site.root / "small.png")
        yield site


@pytest.fixture(scope="module")
def server(site: Site) -> Iterator[JupyterServerProcess]:
    """The first server on the site (the crash test kills it; a dead process stops cleanly)."""
    with site.server() as server:
        yield server


def worker_pids(server: JupyterServerProcess) -> list[int]:
    """The server's import worker processes (multiprocessing spawn children, not its resource tracker)."""
    children = psutil.Process(server.proc.pid).children(recursive=True)
    return [p.pid for p in children if "spawn_main" in " ".join(p.cmdline())]


def frozen_mid_import(api: Api, site: Site, worker: int, body: dict) -> dict:
    """Start an import on a frozen worker, then let it run in 20 ms steps until it is writing pixels
    (files in its work folder): it stays frozen there, however fast the machine."""
    os.kill(worker, signal.SIGSTOP)
    job = api.ok("POST", "imports", 202, json=body)
    work = site.store / "tmp" / f"job-{job['id']}" / "pixels"
    deadline = time.monotonic() + 60
    while True:
        os.kill(worker, signal.SIGCONT)
        time.sleep(0.02)
        os.kill(worker, signal.SIGSTOP)
        job = api.ok("GET", f"imports/{job['id']}")
        assert job["status"] in ("queued", "running"), f"the import ended before it could be stopped: {job}"
        if "writing the pixels" in job["message"] and work.is_dir() and any(work.rglob("*")):
            return job
        assert time.monotonic() < deadline, job


def nothing_left(site: Site, before: set[str], api: Api, dataset_id: int) -> None:
    assert store_files(site.store) == before, sorted(store_files(site.store) ^ before)
    assert list((site.store / "tmp").iterdir()) == []
    assert api.ok("GET", "images", params={"dataset": dataset_id})["total"] == 0


def test_chunked_upload_over_the_limit_gets_413_and_leaves_nothing(site: Site, server: JupyterServerProcess) -> None:
    api = Api(server.url + "scopehub/api/v1/", server.token)
    before = store_files(site.store)
    jobs = api.ok("GET", "imports")["total"]

    def body() -> Iterator[bytes]:  # a generator: requests sends it chunked, without Content-Length
        for _ in range(3):
            yield b"\0" * (LIMIT // 2)

    r = api.post("imports", params={"filename": "big.tif"}, data=body(),
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "too_large"
    r = api.post("imports", params={"filename": "big.tif"}, data=b"\0" * (LIMIT + 1),
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413, r.text
    # Under the limit it is taken in, and then refused for what it is: no image.
    r = api.post("imports", params={"filename": "small.bin"}, data=b"\0" * 1000,
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 422 and "not an image format" in r.json()["error"]["message"], r.text
    assert store_files(site.store) == before
    assert api.ok("GET", "imports")["total"] == jobs  # no job was made for any of them


def test_a_killed_worker_fails_its_job_and_the_next_start_cleans_a_killed_server(
        site: Site, server: JupyterServerProcess) -> None:
    api = Api(server.url + "scopehub/api/v1/", server.token)
    dataset = api.ok("POST", "datasets", 201, json={"name": "crash"})

    # 1. The worker dies with SIGKILL while it writes pixels: the server notices at once.
    assert wait_job(api, api.ok("POST", "imports", 202, json={"paths": ["small.png"]})["id"])["status"] == "done"
    before = store_files(site.store)
    [worker] = worker_pids(server)
    job = frozen_mid_import(api, site, worker, {"paths": ["big.ome.tif"], "dataset_id": dataset["id"]})
    assert 0 <= job["progress"] < 1
    os.kill(worker, signal.SIGKILL)
    failed = wait_job(api, job["id"], timeout=30)
    assert failed["status"] == "failed" and "killed by signal 9" in failed["error"], failed
    assert "run it again" in failed["error"]
    nothing_left(site, before, api, dataset["id"])
    # A new worker takes its place.
    done = wait_job(api, api.ok("POST", "imports", 202, json={"paths": ["small.png"]})["id"])
    assert done["status"] == "done", done
    assert worker_pids(server) != [worker]
    before = store_files(site.store)

    # 2. The whole server dies (its worker frozen, so that it cannot clean up behind our back).
    [worker] = worker_pids(server)
    job = frozen_mid_import(api, site, worker, {"paths": ["big.ome.tif"], "dataset_id": dataset["id"]})
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    os.kill(worker, signal.SIGKILL)
    psutil.Process(worker).wait(10)

    # 3. The next start: only a failed job remains.
    with site.server() as again:
        api = Api(again.url + "scopehub/api/v1/", again.token)
        failed = api.ok("GET", f"imports/{job['id']}")
        assert failed["status"] == "failed", failed
        assert failed["error"] == "the server stopped during the import; run it again"
        nothing_left(site, before, api, dataset["id"])
        assert wait_job(api, api.ok("POST", "imports", 202, json={"paths": ["small.png"]})["id"])["status"] == "done"
