"""Nobody reaches another user's private image by any route, directly or through their own server.

bob uploads an image (through his own server, so the upload streams through the forwarding) into a
dataset of the private group m-private. dave is in that group (a plain member sees nothing of
others' data in a private group); carol is in no group of bob's. For both, every route that could
reveal the image answers exactly what it answers for an id that does not exist, and no list, count
or search shows it. bob himself and alice (admin) do see it: the checks can fail.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import uuid

import numpy as np
import pytest
import tifffile

from ..api_client import Api, unique
from .conftest import Hub

MISSING = 2**62


@pytest.fixture(scope="module")
def private_image(hub: Hub) -> dict:
    bob = hub.via_server("bob")
    groups = {g["name"]: g["id"] for g in bob.ok("GET", "groups", params={"limit": 1000})["items"]}
    word = f"secret{uuid.uuid4().hex[:12]}"
    dataset = bob.ok("POST", "datasets", 201, json={"name": f"{word} dataset", "group_id": groups["m-private"]})
    buffer = io.BytesIO()
    data = (np.arange(600 * 700, dtype=np.uint16).reshape(600, 700) % 4000).astype(np.uint16)
    tifffile.imwrite(buffer, data, photometric="minisblack")
    body = buffer.getvalue()
    job = bob.ok("POST", "imports", 202, params={"filename": f"{word}.tif", "dataset_id": dataset["id"]},
                 data=body, headers={"Content-Type": "application/octet-stream"})
    deadline = time.monotonic() + 120
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = bob.ok("GET", f"imports/{job['id']}")
    assert job["status"] == "done", job
    image_id = job["images"][0]
    bob.ok("POST", "annotations", 201, json={"type": "comment", "value": f"{word} note", "on": [f"image:{image_id}"]})
    originals = bob.ok("GET", f"images/{image_id}/originals")["items"]
    assert originals[0]["sha256"] == hashlib.sha256(body).hexdigest()
    return {"id": image_id, "dataset": dataset["id"], "word": word, "original": originals[0]["id"], "bytes": body}


def routes(image_id: int, dataset_id: int, original_id: int) -> list[tuple[str, str, dict]]:
    """(method, path, json) for every route that touches the image; ids are swapped for a missing one."""
    return [
        ("GET", f"images/{image_id}", {}),
        ("PATCH", f"images/{image_id}", {"name": "taken"}),
        ("DELETE", f"images/{image_id}", {}),
        ("GET", f"images/{image_id}/render?tile=0,0,0", {}),
        ("GET", f"images/{image_id}/render?region=0,0,256,256&format=png", {}),
        ("GET", f"images/{image_id}/thumbnail?size=64", {}),
        ("GET", f"images/{image_id}/histogram?c=1", {}),
        ("GET", f"images/{image_id}/rendering", {}),
        ("PUT", f"images/{image_id}/rendering", {"model": "g"}),
        ("GET", f"images/{image_id}/zarr/zarr.json", {}),
        ("GET", f"images/{image_id}/zarr/0/zarr.json", {}),
        ("GET", f"images/{image_id}/zarr/0/c/0/0/0/0/0", {}),
        ("GET", f"images/{image_id}/originals", {}),
        ("GET", f"originals/{original_id}", {}),
        ("GET", f"annotations?on=image:{image_id}", {}),
        ("GET", f"datasets/{dataset_id}", {}),
        ("GET", f"images?dataset={dataset_id}", {}),
    ]


def seen_by(api: Api, image: dict, writes: bool = True) -> list[str]:
    """Every route, list, count and search by which ``api`` learns anything of the image."""
    leaks = []
    real = routes(image["id"], image["dataset"], image["original"])
    missing = routes(MISSING, MISSING, MISSING)
    for (method, path, body), (_, missing_path, _) in zip(real, missing, strict=True):
        if method != "GET" and not writes:
            continue
        r = api.request(method, path, json=body or None)
        m = api.request(method, missing_path, json=body or None)
        if r.status_code != 404 or m.status_code != 404:
            leaks.append(f"{method} {path}: {r.status_code}")
        elif re.sub(r"[0-9]+", "N", r.text) != re.sub(r"[0-9]+", "N", m.text):
            leaks.append(f"{method} {path}: {r.text} differs from {m.text}")
    word = image["word"]
    for path in (f"search?q={word}", f"images?q={word}", f"datasets?q={word}", f"annotations?q={word}"):
        r = api.get(path)
        if r.status_code == 200 and (r.json()["total"] or r.json()["items"]):
            leaks.append(f"GET {path}: total {r.json()['total']}")
    everything = api.ok("GET", "images", params={"limit": 1000})
    if image["id"] in {i["id"] for i in everything["items"]}:
        leaks.append("GET images: listed")
    return leaks


@pytest.mark.parametrize("via", ["direct", "server"])
@pytest.mark.parametrize("user", ["dave", "carol"])
def test_private_image_is_invisible(hub: Hub, private_image: dict, user: str, via: str) -> None:
    api = hub.direct(user) if via == "direct" else hub.via_server(user)
    assert seen_by(api, private_image) == []
    # Nothing was changed by the attempts.
    bob = hub.direct("bob")
    assert bob.ok("GET", f"images/{private_image['id']}")["name"] != "taken"
    assert bob.get(f"originals/{private_image['original']}").content == private_image["bytes"]


@pytest.mark.parametrize("user", ["bob", "alice"])
def test_owner_and_admin_see_it(hub: Hub, private_image: dict, user: str) -> None:
    """The same probes find the image for those who may see it: the isolation checks can fail."""
    api = hub.direct(user)
    leaks = seen_by(api, private_image, writes=False)
    assert any(line.startswith("GET images/") for line in leaks)
    assert any(line.startswith(f"GET search?q={private_image['word']}") for line in leaks)
    assert any(line.startswith("GET originals/") for line in leaks)


def test_other_members_see_the_group_when_it_opens(hub: Hub) -> None:
    """The same kind of image in the read-only group is visible to dave but still not to carol."""
    bob = hub.direct("bob")
    groups = {g["name"]: g["id"] for g in bob.ok("GET", "groups", params={"limit": 1000})["items"]}
    word = unique("visible").replace("-", "")
    project = bob.ok("POST", "projects", 201, json={"name": word, "group_id": groups["m-read-only"]})
    assert hub.direct("dave").ok("GET", f"projects/{project['id']}")["name"] == word
    assert hub.direct("carol").get(f"projects/{project['id']}").status_code == 404
    assert hub.via_server("carol").ok("GET", "search", params={"q": word})["total"] == 0
