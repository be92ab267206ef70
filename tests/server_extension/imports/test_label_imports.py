"""Label images on import: ``label`` (JSON, upload query or form field) and ``labels`` (paths) make a label image
(pyramid by nearest value, label colours, window from min to max); without them the same file is an intensity
image; float or RGB data as a label image is refused with a 400 that says why, and leaves nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
import zarr

from ...api_client import Api, unique
from .conftest import store_files, wait_job, write_label_tiff, write_png


def start(api: Api, body: dict) -> dict:
    r = api.post("imports", json=body)
    assert r.status_code == 202, r.text
    return wait_job(api, r.json()["id"])


def levels_of(api: Api, image_id: int) -> tuple[list[np.ndarray], dict]:
    """Every stored level, read back through the OME-Zarr endpoint with zarr-python, and the group's metadata."""
    group = zarr.open_group(api.base + f"images/{image_id}/zarr", mode="r", storage_options={"headers": api.headers()})
    multiscales = group.attrs["ome"]["multiscales"][0]
    return [group[d["path"]][...] for d in multiscales["datasets"]], multiscales


def test_a_label_tiff_is_a_label_image_only_when_asked(api: Api, folder) -> None:
    path, name = folder
    data = write_label_tiff(path / "mask.tif")
    ids = set(np.unique(data).tolist())
    dataset = api.ok("POST", "datasets", 201, json={"name": unique("labels")})

    labelled = start(api, {"paths": [f"{name}/mask.tif"], "label": True, "dataset_id": dataset["id"]})
    plain = start(api, {"paths": [f"{name}/mask.tif"], "dataset_id": dataset["id"]})

    assert labelled["status"] == "done" and labelled["label"] is True, labelled
    assert labelled["label_images"] == labelled["images"] and len(labelled["images"]) == 1
    assert plain["status"] == "done" and plain["label"] is False and plain["label_images"] == [], plain
    for job, is_label in ((labelled, True), (plain, False)):
        image_id = job["images"][0]
        image = api.ok("GET", f"images/{image_id}")
        assert image["pixels"]["is_label"] is is_label and image["pixels"]["pixel_type"] == "uint16"
        assert len(image["pixels"]["levels"]) == 3
        levels, multiscales = levels_of(api, image_id)
        assert multiscales["type"] == ("nearest" if is_label else "mean")
        np.testing.assert_array_equal(levels[0][0, 0, 0], data)
        invented = set().union(*(set(np.unique(level).tolist()) - ids for level in levels[1:]))
        rendering = api.ok("GET", f"images/{image_id}/rendering")["settings"]["channels"][0]
        channel = image["channels"][0]
        if is_label:
            # Nearest: each level keeps the top-left pixel of each 2 × 2 block; no id is averaged into a new one.
            assert invented == set()
            np.testing.assert_array_equal(levels[1][0, 0, 0], data[::2, ::2])
            np.testing.assert_array_equal(levels[2][0, 0, 0], data[::4, ::4])
            assert rendering["color"] == "glasbey.lut"
            assert (channel["min"], channel["max"]) == (0, int(data.max()))
            assert (channel["window_start"], channel["window_end"]) == (0, int(data.max()))
        else:
            assert len(invented) > 1000  # means of neighbouring ids: values the segmentation never had
            assert rendering["color"] == "FFFFFF"
    # The label image renders (glasbey colours): background black, cells coloured.
    r = api.get(f"images/{labelled['images'][0]}/render", params={"tile": "0,0,0", "format": "png"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"


def test_labels_by_path_and_by_upload(api: Api, folder) -> None:
    path, name = folder
    write_label_tiff(path / "cells.tif", (2, 300, 260))
    write_png(path / "photo.png")
    (path / "masks").mkdir()
    write_label_tiff(path / "masks" / "m.tif", (200, 180), "int32")

    # One request, two kinds: "paths" are intensity images, "labels" (files or folders) label images.
    job = start(api, {"paths": [f"{name}/photo.png"], "labels": [f"{name}/cells.tif", f"{name}/masks"]})
    assert job["status"] == "done" and job["labels"] == [f"{name}/cells.tif", f"{name}/masks"], job
    assert job["sources"] == [f"{name}/photo.png", f"{name}/cells.tif", f"{name}/masks"]
    kinds = {api.ok("GET", f"images/{i}")["name"]: api.ok("GET", f"images/{i}")["pixels"]["is_label"]
             for i in job["images"]}
    assert kinds == {"photo.png": False, "cells.tif": True, "m.tif": True}
    assert sorted(job["label_images"]) == sorted(i for i in job["images"]
                                                 if api.ok("GET", f"images/{i}")["name"] != "photo.png")

    body = (path / "cells.tif").read_bytes()
    r = api.post("imports", params={"filename": "cells.tif", "label": "true"}, data=body,
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    raw = wait_job(api, r.json()["id"])
    r = api.post("imports", files={"file": ("cells.tif", body, "image/tiff")}, data={"label": "1"})
    assert r.status_code == 202, r.text
    form = wait_job(api, r.json()["id"])
    r = api.post("imports", files={"file": ("cells.tif", body, "image/tiff")}, data={"label": "false"})
    unlabelled = wait_job(api, r.json()["id"])
    for job, is_label in ((raw, True), (form, True), (unlabelled, False)):
        assert job["status"] == "done" and job["label"] is is_label, job
        assert api.ok("GET", f"images/{job['images'][0]}")["pixels"]["is_label"] is is_label


def test_float_or_rgb_data_as_labels_is_refused_with_the_reason(api: Api, folder, store: Path) -> None:
    path, name = folder
    tifffile.imwrite(path / "prob.tif", np.random.default_rng(0).random((64, 80), np.float32))
    write_png(path / "photo.png")
    (path / "mixed").mkdir()
    write_label_tiff(path / "mixed" / "ok.tif", (100, 90))
    tifffile.imwrite(path / "mixed" / "prob.tif", np.zeros((40, 50), np.float32))
    jobs = api.ok("GET", "imports")["total"]
    before = store_files(store)
    for body, shown, why in [
        ({"paths": [f"{name}/prob.tif"], "label": True}, f"{name}/prob.tif", "its pixels are float32"),
        ({"labels": [f"{name}/photo.png"]}, f"{name}/photo.png", "it is an RGB colour image"),
    ]:
        r = api.post("imports", json=body)
        assert r.status_code == 400, r.text
        message = r.json()["error"]["message"]
        assert message.startswith(f"{shown}: cannot be imported as a label image: {why}"), message
        assert "whole numbers" in message
    for file_name, why in (("prob.tif", "float32"), ("photo.png", "RGB")):
        data = (path / file_name).read_bytes()
        r = api.post("imports", params={"filename": file_name, "label": "true"}, data=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 400 and why in r.json()["error"]["message"], r.text
        r = api.post("imports", files={"file": (file_name, data)}, data={"label": "true"})
        assert r.status_code == 400 and why in r.json()["error"]["message"], r.text
    r = api.post("imports", params={"filename": "x.tif", "label": "maybe"}, data=b"II*\0",
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 400 and "label must be true or false" in r.json()["error"]["message"], r.text
    for bad in ({"paths": [f"{name}/photo.png"], "label": "yes"}, {"labels": []}, {"paths": [], "labels": []}):
        assert api.post("imports", json=bad).status_code == 400, bad
    assert api.ok("GET", "imports")["total"] == jobs  # all refused before a job was made
    # A float file found in a folder given as labels fails the job (and the good file beside it is not kept).
    job = start(api, {"labels": [f"{name}/mixed"]})
    assert job["status"] == "failed" and job["images"] == [], job
    assert f"{name}/mixed/prob.tif: cannot be imported as a label image: its pixels are float32" in job["error"]
    assert store_files(store) == before
