"""Truncated TIFFs through the API: refused (422) by path and by upload, a failed job when found in a folder,
and in every case nothing in the catalogue, nothing left in the store, the source untouched."""

from __future__ import annotations

from pathlib import Path

from ...api_client import Api, unique
from ..pixels import sample_files as sf
from .conftest import sha256, store_files, wait_job

# (file name, how it is made, where it is cut, what the refusal says)
CUT_FILES = [
    ("header.ome.tif", sf.ome_stack, lambda p: 6, "it has 6 bytes, but the header needs bytes 0–8"),
    ("chain.ome.tif", sf.ome_stack, lambda p: sf.ifd_offsets(p)[5] + 3, "where an OME-TIFF keeps its OME-XML"),
    ("pixels.ome.tif", lambda p: sf.ome_stack(p, ifds_first=True), lambda p: sf.last_tile(p)[0] // 2,
     "of IFD 5 needs bytes"),
    ("tile.ome.tif", sf.pyramid_data_last, lambda p: sum(sf.last_tile(p)) - 10,
     "tile 2 of 2 of SubIFD 0 of IFD 1 needs bytes"),
]


def test_truncated_tiffs_are_refused_by_path_and_by_upload_and_leave_nothing(api: Api, folder, store: Path) -> None:
    path, name = folder
    (path / "found").mkdir()
    for file_name, make, where, _ in CUT_FILES:
        whole = path / f"whole-{file_name}"
        make(whole)
        sf.cut(whole, where(whole), path / file_name)
        whole.unlink()
    sf.cut(path / "tile.ome.tif", (path / "tile.ome.tif").stat().st_size, path / "found" / "tile.ome.tif")
    sources = {p: sha256(p) for p in path.rglob("*") if p.is_file()}
    dataset = api.ok("POST", "datasets", 201, json={"name": unique("truncated")})
    jobs = api.ok("GET", "imports")["total"]
    before = store_files(store)

    for file_name, _make, _where, words in CUT_FILES:
        shown = f"{name}/{file_name}"
        r = api.post("imports", json={"paths": [shown], "dataset_id": dataset["id"]})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "unreadable" and error["message"].startswith(f"{shown}: the file is truncated"), error
        assert words in error["message"], error
        body = (path / file_name).read_bytes()
        r = api.post("imports", params={"filename": file_name, "dataset_id": dataset["id"]}, data=body,
                     headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 422 and words in r.json()["error"]["message"], r.text
        assert r.json()["error"]["message"].startswith(f"{file_name}: the file is truncated"), r.text
        r = api.post("imports", files={"file": (file_name, body, "image/tiff")}, data={"dataset_id": dataset["id"]})
        assert r.status_code == 422 and words in r.json()["error"]["message"], r.text
    assert api.ok("GET", "imports")["total"] == jobs  # refused before any job was made

    # Found while walking a folder: the job fails with the same reason.
    job = wait_job(api, api.ok("POST", "imports", 202, json={"paths": [f"{name}/found"],
                                                             "dataset_id": dataset["id"]})["id"])
    assert job["status"] == "failed" and job["images"] == [], job
    assert job["error"].startswith(f"{name}/found/tile.ome.tif: the file is truncated"), job
    assert CUT_FILES[-1][3] in job["error"], job

    assert api.ok("GET", "images", params={"dataset": dataset["id"]})["total"] == 0
    assert store_files(store) == before
    assert {p: sha256(p) for p in path.rglob("*") if p.is_file()} == sources
