"""The hub demo's sample import: by path from the demo's samples folder, which the service may read."""

from __future__ import annotations

import numpy as np
import tifffile

from scopehub.hub_extension.demo_data import ServiceClient, samples_folder

from .conftest import Hub


def test_the_samples_folder_is_an_import_root_of_the_service(hub: Hub) -> None:
    # `make hub-demo` imports its samples by path, as their owners: this broke once when the service
    # was started without the samples folder among its import roots.
    files = samples_folder(hub.demo) / "files"
    files.mkdir(parents=True, exist_ok=True)
    path = files / "demo-sample.tif"
    tifffile.imwrite(path, np.arange(64 * 80, dtype=np.uint16).reshape(64, 80))
    bob = ServiceClient(hub.demo.api_url, hub.token("bob"))
    images = bob.import_paths([str(path)], "Project:Demo samples/Dataset:From the samples folder", timeout=120)
    assert len(images) == 1
    image = bob.call("GET", f"images/{images[0]}")
    assert image["owner"]["username"] == "bob" and (image["pixels"]["size_x"], image["pixels"]["size_y"]) == (80, 64)
    # Anywhere else on the machine is still out of bounds.
    outside = hub.demo.workdir / "elsewhere.tif"
    tifffile.imwrite(outside, np.zeros((8, 8), np.uint8))
    r = bob.session.post(hub.demo.api_url + "imports", json={"paths": [str(outside)]}, timeout=60)
    assert r.status_code == 400 and "outside the import roots" in r.json()["error"]["message"]
