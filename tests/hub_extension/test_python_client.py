"""``scopehub.connect()`` with no arguments in a hub user's kernel: bob's own server (running as bob)
starts the kernel, which finds the scopehub service from the environment hub mode gives every server,
and reads and writes the catalogue as bob, with bob's permissions."""

from __future__ import annotations

import io
import time

import numpy as np
import tifffile

from ..api_client import unique
from ..kernels import NotebookKernel
from .conftest import Hub


def test_connect_in_bobs_kernel_lists_reads_and_writes_as_bob(hub: Hub, carol_imports: list[dict]) -> None:
    bob = hub.direct("bob")
    data = np.random.default_rng(11).integers(0, 4000, (2, 90, 120), dtype=np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, ome=True, metadata={"axes": "CYX"})
    name = unique("bob-cells")
    r = bob.post("imports", params={"filename": f"{name}.ome.tif"}, data=buffer.getvalue(),
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 120
    while (job := bob.ok("GET", f"imports/{r.json()['id']}"))["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "done", job
    image_id = job["images"][0]
    carols = carol_imports[0]["images"][0]  # lab-b's: bob may not see it
    with NotebookKernel(hub.server_url("bob"), hub.token("bob"), "analysis.ipynb", timeout=180) as kernel:
        kernel.run("import os, scopehub\nhub = scopehub.connect()")
        assert kernel.value("[os.geteuid() != 0, hub.username, hub.mode, hub.endpoint.found_by, "
                            "hub.url.endswith('/services/scopehub/api/v1/')]") == [
            True, "bob", "hub", "JupyterHub (scopehub service)", True]
        assert image_id in kernel.value("hub.images(owner='me').ids()")
        assert kernel.value(f"hub.image({image_id}).to_numpy(t=0, z=0).tolist()") == data.tolist()
        missing = kernel.run(f"try:\n    hub.image({carols})\nexcept scopehub.NotFound as e:\n    print(e.message)")
        assert missing.stdout.strip() == f"image {carols} not found"
        # Written back as bob, with the read image as its input.
        made = kernel.value(f"hub.create_dataset({unique('bob results')!r}).create_image("
                            f"hub.image({image_id}).to_numpy(t=0, z=0, c=1) // 2, name='half', progress=False).id")
    assert bob.ok("GET", f"images/{made}")["owner"]["username"] == "bob"
    record = bob.ok("GET", f"images/{made}/provenance")
    assert [i["id"] for i in record["inputs"]] == [image_id] and record["user"]["username"] == "bob"
