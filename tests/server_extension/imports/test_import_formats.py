"""Imports of the formats extra's formats through the API, end to end: a real Jupyter server, its import
workers (each starts its own JVM for Bio-Formats) and PostgreSQL; the pixels read back over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

from ...api_client import Api, unique
from ..pixels import format_samples as fs
from .conftest import sha256, store_files, wait_job

nd2 = fs.formats_module("nd2")


@pytest.fixture(scope="session")
def cluster_nd2(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(pytestconfig, "cache", None)
    return fs.fetch_cluster_nd2(cache.mkdir("scopehub-nd2") if cache else tmp_path_factory.mktemp("nd2"))


def stored_level0(api: Api, image_id: int) -> np.ndarray:
    group = zarr.open_group(api.base + f"images/{image_id}/zarr", mode="r", storage_options={"headers": api.headers()})
    return group["0"][...]


def test_czi_nd2_lif_and_bioformats_files_import_by_path(api: Api, folder, store: Path, cluster_nd2: Path) -> None:
    path, name = folder
    plate = fs.czi_file(path / "plate.czi", shape=(1, 3, 2, 90, 120), scenes=((0, 0), (500, 0)))
    shutil.copyfile(cluster_nd2, path / "cluster.nd2")
    stack, overview = fs.lif_project(path / "project.lif")
    fake = fs.fake_file(path, "made-up", sizeX=128, sizeY=96, sizeZ=2, sizeC=2, pixelType="uint16", physicalSizeX=0.5)
    sources = {p: sha256(p) for p in path.iterdir()}
    dataset = api.ok("POST", "datasets", 201, json={"name": unique("formats")})

    r = api.post("imports", json={"paths": [f"{name}/{p.name}" for p in sorted(path.iterdir())],
                                  "dataset_id": dataset["id"]})
    assert r.status_code == 202, r.text
    job = wait_job(api, r.json()["id"], timeout=180)  # the worker starts its JVM: seconds

    assert job["status"] == "done", job
    assert job["message"] == "imported 6 images from 4 files" and len(job["filesets"]) == 4
    images = {i["name"]: api.ok("GET", f"images/{i['id']}")
              for i in api.ok("GET", "images", params={"dataset": dataset["id"]})["items"]}
    assert set(images) == {"plate.czi [well B2]", "plate.czi [well B3]", "cluster.nd2", "project.lif [stack]",
                           "project.lif [overview]", fake.name}

    czi = images["plate.czi [well B3]"]
    assert {k: czi["pixels"][k] for k in ("size_x", "size_y", "size_z", "size_c", "pixel_type", "physical_size_x",
                                          "physical_size_z")} == {
        "size_x": 120, "size_y": 90, "size_z": 2, "size_c": 3, "pixel_type": "uint16", "physical_size_x": 0.325,
        "physical_size_z": 1.5}
    assert [(c["name"], c["color"], c["excitation_wavelength"], c["emission_wavelength"]) for c in czi["channels"]] == [
        ("DAPI", "0000FF", 353.0, 465.0), ("AF488", "00FF00", 493.0, 517.0), ("AF647", "FF00FF", 653.0, 668.0)]
    assert czi["acquisition_date"].startswith("2024-05-06T07:08:09")
    np.testing.assert_array_equal(stored_level0(api, czi["id"]), plate[1])

    cluster = images["cluster.nd2"]
    assert (cluster["pixels"]["size_t"], cluster["pixels"]["size_c"], cluster["pixels"]["size_z"]) == (3, 2, 10)
    assert [c["name"] for c in cluster["channels"]] == ["5-FAM/pH 9.0", "FM 4-64/2% CHAPS"]
    assert cluster["channels"][1]["emission_wavelength"] == 700.0
    np.testing.assert_array_equal(stored_level0(api, cluster["id"]), np.moveaxis(nd2.imread(str(cluster_nd2)), 2, 1))

    lif = images["project.lif [stack]"]
    assert (lif["pixels"]["physical_size_x"], lif["pixels"]["physical_size_z"]) == (0.2, 0.5)
    assert [(c["name"], c["color"]) for c in lif["channels"]] == [("DAPI", "0000FF"), ("GFP", "00FF00")]
    np.testing.assert_array_equal(stored_level0(api, lif["id"]), stack)
    np.testing.assert_array_equal(stored_level0(api, images["project.lif [overview]"]["id"]), overview)

    made_up = images[fake.name]
    assert (made_up["pixels"]["size_c"], made_up["pixels"]["size_z"], made_up["pixels"]["physical_size_x"]) == (
        2, 2, 0.5)
    pixels = stored_level0(api, made_up["id"])
    np.testing.assert_array_equal(pixels[0, 1, 1, 50], np.arange(128))  # the fake reader's rows count x

    # Each file is its own fileset, kept byte for byte; the sources were only read.
    for image in images.values():
        (original,) = api.ok("GET", f"images/{image['id']}/originals")["items"]
        local = path / original["name"]
        assert original["sha256"] == sources[local]
        assert api.get(f"originals/{original['id']}").content == local.read_bytes()
    assert {p: sha256(p) for p in path.iterdir()} == sources
    assert not [p for p in store_files(store) if p.startswith("tmp/")]


def test_a_czi_upload_imports(api: Api, tmp_path: Path) -> None:
    dataset = api.ok("POST", "datasets", 201, json={"name": unique("formats-upload")})
    path = tmp_path / "upload.czi"
    data = fs.czi_file(path, shape=(1, 2, 1, 64, 80))
    r = api.post("imports", params={"filename": "upload.czi", "dataset_id": dataset["id"]}, data=path.read_bytes(),
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    job = wait_job(api, r.json()["id"], timeout=120)
    assert job["status"] == "done", job
    (image_id,) = job["images"]
    image = api.ok("GET", f"images/{image_id}")
    assert image["name"] == "upload.czi" and [c["name"] for c in image["channels"]] == ["DAPI", "AF488"]
    np.testing.assert_array_equal(stored_level0(api, image_id), data[0])


def test_corrupt_files_of_each_format_get_422_and_leave_nothing(api: Api, folder, store: Path,
                                                                cluster_nd2: Path) -> None:
    path, name = folder
    fs.czi_file(path / "cut.czi", shape=(1, 2, 2, 200, 300))
    fs.truncated(path / "cut.czi", 0.5)
    shutil.copyfile(cluster_nd2, path / "cut.nd2")
    fs.truncated(path / "cut.nd2", 0.5)
    fs.lif_project(path / "cut.lif")
    fs.truncated(path / "cut.lif", 0.5)
    (path / "cut.ics").write_bytes(b"\t\nics_version\t2.0\nfilename\tcut\nlayout\tparameters\t3\n")  # no sizes
    sources = {p: p.read_bytes() for p in path.iterdir()}
    jobs = api.ok("GET", "imports")["total"]
    before = store_files(store)
    for file_name in sorted(sources):
        r = api.post("imports", json={"paths": [f"{name}/{file_name.name}"]})
        assert r.status_code == 422, (file_name.name, r.text)
        message = r.json()["error"]["message"]
        assert f"{name}/{file_name.name}" in message and "truncated or corrupt" in message, message
        assert str(path) not in message, "a server path leaked into the message"
    # Uploaded: refused the same way, and the upload removed.
    r = api.post("imports", params={"filename": "cut.czi"}, data=(path / "cut.czi").read_bytes(),
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 422 and "truncated or corrupt" in r.json()["error"]["message"], r.text
    assert api.ok("GET", "imports")["total"] == jobs
    # Found in a folder (the walk takes the suffixes Bio-Formats reads), the job fails with the reason.
    (path / "walk").mkdir()
    shutil.copyfile(path / "cut.ics", path / "walk" / "cut.ics")
    r = api.post("imports", json={"paths": [f"{name}/walk"]})
    assert r.status_code == 202, r.text
    job = wait_job(api, r.json()["id"], timeout=120)
    assert job["status"] == "failed" and "cut.ics" in job["error"] and "truncated or corrupt" in job["error"], job
    assert store_files(store) == before
    assert {p: p.read_bytes() for p in path.iterdir() if p.is_file()} == sources
