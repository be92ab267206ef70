"""Imports through the API, against a real Jupyter server with its worker processes and a real PostgreSQL:
by path inside the import root, by upload, what lands in the catalogue and the store, and what bad input gets."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import socket
import stat
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import tifffile
import zarr

from ...api_client import Api, unique
from ..pixels.sample_files import ome_multifile
from .conftest import sha256, store_files, wait_job, write_multi_series, write_ome_tiff, write_png


def new_dataset(api: Api, **fields) -> dict:
    return api.ok("POST", "datasets", 201, json={"name": unique("import-target"), **fields})


def start(api: Api, paths: list[str], **body) -> dict:
    r = api.post("imports", json={"paths": paths, **body})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running", "done") and r.headers["Location"].endswith(f"imports/{job['id']}")
    return job


def test_import_by_path_keeps_originals_and_writes_pixels(api: Api, folder, store: Path) -> None:
    path, name = folder
    pixels = write_ome_tiff(path / "cells.ome.tif")
    write_png(path / "photo.png")
    source_state = {p: (sha256(p), p.stat().st_mtime_ns) for p in path.iterdir()}
    dataset = new_dataset(api)
    before = store_files(store)

    job = wait_job(api, start(api, [f"{name}/cells.ome.tif", f"{name}/photo.png"], dataset_id=dataset["id"],
                              description="from a test")["id"])

    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["error"] is None and len(job["images"]) == 2 and len(job["filesets"]) == 2
    assert job["message"] == "imported 2 images from 2 files"
    images = {i["name"]: i for i in api.ok("GET", "images", params={"dataset": dataset["id"]})["items"]}
    assert set(images) == {"cells.ome.tif", "photo.png"}
    cells = api.ok("GET", f"images/{images['cells.ome.tif']['id']}")
    assert cells["description"] == "from a test"
    assert {k: cells["pixels"][k] for k in ("size_x", "size_y", "size_c", "pixel_type", "physical_size_x")} == {
        "size_x": pixels.shape[2], "size_y": pixels.shape[1], "size_c": 2, "pixel_type": "uint16",
        "physical_size_x": 0.25}
    assert [c["name"] for c in cells["channels"]] == ["ch0", "ch1"]
    photo = api.ok("GET", f"images/{images['photo.png']['id']}")
    assert photo["pixels"]["size_c"] == 3 and photo["pixels"]["pixel_type"] == "uint8"

    # The originals: listed with their checksum, served byte for byte, kept read-only.
    for image, file_name in ((cells, "cells.ome.tif"), (photo, "photo.png")):
        listing = api.ok("GET", f"images/{image['id']}/originals")
        assert listing["fileset_id"] == image["fileset_id"] and len(listing["items"]) == 1
        original = listing["items"][0]
        local = path / file_name
        assert (original["name"], original["size"], original["sha256"]) == (
            file_name, local.stat().st_size, sha256(local))
        r = api.get(f"originals/{original['id']}")
        assert r.status_code == 200 and r.content == local.read_bytes()
        assert r.headers["Content-Length"] == str(local.stat().st_size)
        assert hashlib.sha256(r.content).hexdigest() == original["sha256"]
        assert r.headers["ETag"] == f'"{original["sha256"]}"'
    added = store_files(store) - before
    originals = [p for p in added if p.startswith("originals/")]
    assert len(originals) == 2 and all(p.split("/")[1] == "admin" for p in originals)
    for p in originals:
        assert stat.S_IMODE((store / p).stat().st_mode) & 0o222 == 0, f"{p} is writable"
    assert {p.split("/")[2] for p in added if p.startswith("pixels/")} != set()
    assert len({"/".join(p.split("/")[:3]) for p in added if p.startswith("pixels/")}) == 2  # two pyramids
    assert not [p for p in added if p.startswith("tmp/")]
    # The sources were only read.
    assert {p: (sha256(p), p.stat().st_mtime_ns) for p in path.iterdir()} == source_state


def test_multi_series_file_is_one_fileset_and_deleting_its_last_image_removes_everything(
        api: Api, folder, store: Path) -> None:
    path, name = folder
    write_multi_series(path / "three.ome.tif", 3)
    dataset = new_dataset(api)
    before = store_files(store)
    job = wait_job(api, start(api, [name], dataset_id=dataset["id"])["id"])  # a folder, walked
    assert job["status"] == "done", job
    assert len(job["images"]) == 3 and len(job["filesets"]) == 1
    images = [api.ok("GET", f"images/{i}") for i in job["images"]]
    assert [i["pixels"]["size_x"] for i in images] == [30, 40, 50]
    assert [i["name"] for i in images] == [f"three.ome.tif [series-{k}]" for k in range(3)]
    listings = [api.ok("GET", f"images/{i['id']}/originals") for i in images]
    assert all(listing["items"] == listings[0]["items"] for listing in listings)
    assert listings[0]["images"] == job["images"]
    added = store_files(store) - before
    pyramids = sorted({"/".join(p.split("/")[:3]) for p in added if p.startswith("pixels/")})
    assert len(pyramids) == 3

    # Deleting images: each takes its pyramid; the last one of the fileset takes the originals too.
    for image in images[:2]:
        api.ok("DELETE", f"images/{image['id']}")
    remaining = store_files(store)
    assert [p for p in pyramids if any(f.startswith(p + "/") for f in remaining)] != []
    assert sum(1 for p in pyramids if any(f.startswith(p + "/") for f in remaining)) == 1
    assert any(p.startswith("originals/") for p in added & remaining)
    original_id = listings[0]["items"][0]["id"]
    assert api.get(f"originals/{original_id}").status_code == 200
    report = api.ok("DELETE", f"images/{images[2]['id']}")
    assert report["deleted"]["fileset"] == [images[2]["fileset_id"]]
    assert not (added & store_files(store)), "files of a deleted fileset are still in the store"
    assert api.get(f"originals/{original_id}").status_code == 404


def test_an_ome_zarr_folder_is_one_source_kept_file_by_file(api: Api, folder) -> None:
    """A zarr v2 (OME-Zarr 0.4) folder found in a walk: one image; its hidden .zattrs and chunks are originals."""
    path, name = folder
    group = zarr.open_group(path / "plate.zarr", mode="w", zarr_format=2)
    array = group.create_array("0", shape=(2, 64, 80), chunks=(1, 32, 32), dtype="uint16")
    array[:] = np.arange(2 * 64 * 80, dtype=np.uint16).reshape(2, 64, 80)
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [
        {"name": "c", "type": "channel"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 0.5, 0.5]}]}]}]
    write_png(path / os.fsdecode(b"caf\xe9.png"))  # a Latin-1 name: not UTF-8, as some old shares have
    job = wait_job(api, start(api, [name])["id"])
    assert job["status"] == "done" and len(job["images"]) == 2, job
    images = {i["name"]: i for i in (api.ok("GET", f"images/{i}") for i in job["images"])}
    assert set(images) == {"plate.zarr", "caf\ufffd.png"}
    image = images["plate.zarr"]
    assert image["pixels"]["size_c"] == 2
    files = {f["name"]: f for f in api.ok("GET", f"images/{image['id']}/originals")["items"]}
    on_disk = {p.relative_to(path).as_posix() for p in (path / "plate.zarr").rglob("*") if p.is_file()}
    assert set(files) == on_disk and "plate.zarr/.zattrs" in files
    zattrs = files["plate.zarr/.zattrs"]
    assert api.get(f"originals/{zattrs['id']}").content == (path / "plate.zarr/.zattrs").read_bytes()


def test_a_multi_file_ome_tiff_is_one_fileset_by_path_and_by_upload(api: Api, folder) -> None:
    path, name = folder
    first, second = ome_multifile(path)
    by_path = wait_job(api, start(api, [name])["id"])  # the walk finds both; the first names the second
    with open(first, "rb") as a, open(second, "rb") as b:
        r = api.post("imports", files=[("file", (first.name, a)), ("file", (second.name, b))])
    assert r.status_code == 202, r.text
    by_upload = wait_job(api, r.json()["id"])
    for job in (by_path, by_upload):
        assert job["status"] == "done" and len(job["images"]) == 1 and len(job["filesets"]) == 1, job
        image = api.ok("GET", f"images/{job['images'][0]}")
        assert image["pixels"]["size_c"] == 2 and [c["name"] for c in image["channels"]] == ["one", "two"]
        files = api.ok("GET", f"images/{image['id']}/originals")["items"]
        assert sorted(f["name"] for f in files) == [first.name, second.name]
        for f in files:
            assert f["sha256"] == sha256(path / f["name"])


def test_uploads_raw_and_multipart(api: Api, folder, store: Path) -> None:
    path, _ = folder
    write_png(path / "up.png")
    write_ome_tiff(path / "up.ome.tif", size_c=3, seed=3)
    dataset = new_dataset(api)
    before = store_files(store)

    body = (path / "up.png").read_bytes()
    r = api.post("imports", params={"filename": "up.png", "dataset_id": dataset["id"], "name": "uploaded"},
                 data=body, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    raw = wait_job(api, r.json()["id"])
    assert raw["status"] == "done" and raw["sources"] == ["up.png"], raw
    # A name longer than a file system allows (in bytes) is shortened, not a 500.
    r = api.post("imports", params={"filename": "é" * 200 + ".png"}, data=body,
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    assert wait_job(api, r.json()["id"])["status"] == "done"

    target = f"Project:{unique('P')}/Dataset:{unique('D')}"
    with open(path / "up.ome.tif", "rb") as f:
        r = api.post("imports", files={"file": ("up.ome.tif", f, "image/tiff")},
                     data={"target": target, "description": "multipart"})
    assert r.status_code == 202, r.text
    multipart = wait_job(api, r.json()["id"])
    assert multipart["status"] == "done", multipart

    image = api.ok("GET", f"images/{raw['images'][0]}")
    assert image["name"] == "uploaded" and image["parents"] == [dataset["id"]]
    original = api.ok("GET", f"images/{image['id']}/originals")["items"][0]
    assert original["sha256"] == hashlib.sha256(body).hexdigest()
    assert api.get(f"originals/{original['id']}").content == body
    image = api.ok("GET", f"images/{multipart['images'][0]}")
    assert image["pixels"]["size_c"] == 3 and image["description"] == "multipart"
    # The target was created: the caller's project and dataset of those names.
    dataset_id = image["parents"][0]
    project_name = target.split("/")[0].removeprefix("Project:")
    assert api.ok("GET", f"datasets/{dataset_id}")["name"] == target.split("/Dataset:")[1]
    projects = api.ok("GET", "projects", params={"q": project_name})["items"]
    assert [p["name"] for p in projects] == [project_name]
    # A second import into the same target finds it instead of making another.
    again = wait_job(api, start(api, [f"{folder[1]}/up.png"], target=target)["id"])
    assert api.ok("GET", f"images/{again['images'][0]}")["parents"] == [dataset_id]
    assert not [p for p in store_files(store) - before if p.startswith("tmp/")]


def test_bad_paths_are_refused(api: Api, folder, catalogue) -> None:
    path, name = folder
    write_png(path / "ok.png")
    outside = Path(catalogue.data_dir) / "outside.png"
    write_png(outside)
    os.symlink(outside, path / "leaves.png")
    os.symlink(outside.parent, path / "leaves-dir")
    for paths, status, words in [
        ([f"{name}/../{name}/ok.png"], 400, "may not contain '..'"),
        ([str(outside)], 400, "outside the import roots"),
        ([f"{name}/leaves.png"], 400, "leads outside the import roots"),
        ([f"{name}/leaves-dir/outside.png"], 400, "leads outside the import roots"),
        ([f"{name}/missing.png"], 404, "no file or folder"),
        ([""], 400, ""),
        (["/etc/passwd"], 400, "outside the import roots"),
    ]:
        r = api.post("imports", json={"paths": paths})
        assert r.status_code == status, (paths, r.text)
        assert words in r.json()["error"]["message"], (paths, r.text)
    for body in ({"paths": []}, {"paths": ["x"], "dataset_id": 1, "target": "Dataset:d"}, {"paths": ["x"], "bad": 1},
                 {"paths": ["x"], "target": "nonsense"}):
        assert api.post("imports", json=body).status_code == 400, body
    assert api.post("imports", json={"paths": [f"{name}/ok.png"], "dataset_id": 2**62}).status_code == 404
    # A folder holding a link that leaves the root fails as a job, with the reason.
    job = wait_job(api, start(api, [name])["id"])
    assert job["status"] == "failed" and "leads outside the import roots" in job["error"], job


def test_unreadable_files_get_422_or_fail_their_job_and_leave_nothing(api: Api, folder, store: Path) -> None:
    path, name = folder
    (path / "notes.txt").write_text("not an image\n")
    write_ome_tiff(path / "whole.ome.tif")
    tifffile.imwrite(path / "plain.tif", np.arange(200 * 300, dtype=np.uint16).reshape(200, 300))
    data = (path / "plain.tif").read_bytes()
    (path / "bad").mkdir()
    (path / "bad" / "truncated.tif").write_bytes(data[: len(data) * 6 // 10])  # its pixel data cut short
    write_png(path / "bad" / "fine.png")
    sources = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}
    dataset = new_dataset(api)
    before = store_files(store)
    # Named outright: refused at once, 422 with the reader's reason, no job.
    jobs = api.ok("GET", "imports")["total"]
    for file_name, words in (("notes.txt", "not an image format"), ("bad/truncated.tif", "truncated")):
        r = api.post("imports", json={"paths": [f"{name}/whole.ome.tif", f"{name}/{file_name}"],
                                      "dataset_id": dataset["id"]})
        assert r.status_code == 422, r.text
        assert words in r.json()["error"]["message"] and f"{name}/{file_name}" in r.json()["error"]["message"]
    r = api.post("imports", params={"filename": "notes.txt"}, data=b"not an image\n",
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 422 and "not an image format" in r.json()["error"]["message"], r.text
    assert api.ok("GET", "imports")["total"] == jobs
    # Found in a folder: the job fails with the reason, and the good files beside it are not kept either.
    job = wait_job(api, start(api, [f"{name}/bad"], dataset_id=dataset["id"])["id"])
    assert job["status"] == "failed" and "truncated" in job["error"] and job["images"] == [], job
    assert api.ok("GET", "images", params={"dataset": dataset["id"]})["total"] == 0
    assert store_files(store) == before
    assert {p: p.read_bytes() for p in path.rglob("*") if p.is_file()} == sources


def test_upload_over_the_limit_is_refused_before_its_body(api: Api, catalogue) -> None:
    """A declared size over max_upload_size (20 GiB by default) gets 413 as soon as the headers arrive."""
    url = urlsplit(api.base)
    request = (f"POST {url.path}imports?filename=huge.tif HTTP/1.1\r\nHost: {url.netloc}\r\n"
               f"Authorization: token {api.token}\r\nContent-Type: application/octet-stream\r\n"
               f"Content-Length: {10**12}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request + b"\0" * 1024)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"too_large"' in reply and b"max_upload_size" in reply


def test_two_users_import_at_once_and_see_only_their_jobs(api: Api, folder) -> None:
    path, name = folder
    group = api.make_group("read-annotate")
    users = [api.make_user()["username"] for _ in range(2)]
    for user in users:
        api.add_member(group["id"], user)
    for i in range(2):
        write_ome_tiff(path / f"user{i}.ome.tif", size_y=300, size_x=400, seed=i)
    clients = [api.as_user(u) for u in users]
    datasets = [c.ok("POST", "datasets", 201, json={"name": unique("mine"), "group_id": group["id"]})
                for c in clients]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        jobs = list(pool.map(lambda i: start(clients[i], [f"{name}/user{i}.ome.tif"],
                                             dataset_id=datasets[i]["id"]), range(2)))
    done = [wait_job(clients[i], jobs[i]["id"]) for i in range(2)]
    for i, job in enumerate(done):
        assert job["status"] == "done", job
        assert job["owner"]["username"] == users[i]
        image = clients[i].ok("GET", f"images/{job['images'][0]}")
        assert image["owner"]["username"] == users[i] and image["group"]["id"] == group["id"]
    # Jobs are private to their owner (and admins); importing into someone else's dataset needs link rights.
    assert clients[1].get(f"imports/{jobs[0]['id']}").status_code == 404
    assert [j["id"] for j in clients[0].ok("GET", "imports")["items"]] == [jobs[0]["id"]]
    listed = api.ok("GET", "imports", params={"status": "done", "limit": 1000})["items"]
    assert {jobs[0]["id"], jobs[1]["id"]} <= {j["id"] for j in listed}
    r = clients[1].post("imports", json={"paths": [f"{name}/user0.ome.tif"], "dataset_id": datasets[0]["id"]})
    assert r.status_code == 403, r.text
    # Originals follow the image's visibility: a stranger gets 404.
    stranger = api.as_user(api.make_user()["username"])
    original = clients[0].ok("GET", f"images/{done[0]['images'][0]}/originals")["items"][0]
    assert clients[1].get(f"originals/{original['id']}").status_code == 200
    assert stranger.get(f"originals/{original['id']}").status_code == 404
    assert stranger.get(f"images/{done[0]['images'][0]}/originals").status_code == 404
    assert api.get("originals/999999999").status_code == 404


@pytest.mark.parametrize("bad", ["imports/0", "imports/99999999999"])
def test_unknown_jobs_are_404(api: Api, bad: str) -> None:
    assert api.get(bad).status_code == 404
