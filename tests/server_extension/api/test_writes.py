"""``B/writes``: an image written chunk by chunk over HTTP becomes a catalogue image with a pyramid and
provenance, all or nothing; bad input is refused with a message that says what was expected; only the
write's owner may use it; writes left alone expire."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from ...api_client import Api, make_team, unique
from ..imports.conftest import wait_job

CHUNK = 512


def chunks_of(data: np.ndarray):
    """(t, c, z, yi, xi) and the bytes of every chunk of a (t, c, z, y, x) array."""
    t, c, z, y, x = data.shape
    for ti in range(t):
        for ci in range(c):
            for zi in range(z):
                for yi in range(0, y, CHUNK):
                    for xi in range(0, x, CHUNK):
                        block = np.ascontiguousarray(data[ti, ci, zi, yi:yi + CHUNK, xi:xi + CHUNK])
                        yield (ti, ci, zi, yi // CHUNK, xi // CHUNK), block.astype(block.dtype.newbyteorder("<")).tobytes()


def open_write(client: Api, data: np.ndarray, **fields) -> dict:
    body = {"name": unique("written"), "shape": list(data.shape), "dtype": data.dtype.name, **fields}
    return client.ok("POST", "writes", 201, json=body)


def send(client: Api, write: dict, data: np.ndarray, skip: int = 0) -> None:
    for n, (index, raw) in enumerate(chunks_of(data)):
        if n < skip:
            continue
        r = client.put(f"writes/{write['id']}/chunks/" + "/".join(map(str, index)), data=raw,
                       headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text


def commit(client: Api, write: dict) -> dict:
    committed = client.ok("POST", f"writes/{write['id']}/commit", 202)
    assert committed["status"] == "committing" and committed["job"]["id"]
    job = wait_job(client, committed["job"]["id"])
    assert job["status"] == "done", job
    return client.ok("GET", f"writes/{write['id']}")


def read_zarr(client: Api, image_id: int, level: int = 0) -> np.ndarray:
    import fsspec
    from zarr.storage import FsspecStore

    fs = fsspec.filesystem("http", asynchronous=True, client_kwargs={"headers": client.headers()})
    store = FsspecStore(fs, path=client.base + f"images/{image_id}/zarr", read_only=True)
    return zarr.open_group(store=store, mode="r")[str(level)][...]


@pytest.fixture
def dataset(api: Api) -> dict:
    return api.ok("POST", "datasets", 201, json={"name": unique("writes")})


def test_a_written_image_becomes_a_catalogue_image_with_a_pyramid(api: Api, dataset: dict, catalogue) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 60000, (1, 2, 2, 1100, 700), dtype=np.uint16)
    source = api.ok("POST", "images", 201, json={"name": unique("input")})
    write = open_write(api, data, dataset_id=dataset["id"], channel_names=["DAPI", "GFP"],
                       channel_colors=["0000FF", "00ff00"], physical_size={"x": 0.25, "y": 0.25, "z": 1.5},
                       description="smoothed",
                       provenance={"inputs": [{"type": "image", "id": source["id"]}], "source": "analysis.ipynb",
                                   "code": "out = smooth(img)", "parameters": {"sigma": 2},
                                   "packages": {"numpy": np.__version__}})
    assert write["status"] == "open" and write["chunk_shape"] == [1, 1, 1, 512, 512]
    assert write["chunks"] == 2 * 2 * 3 * 2
    store = Path(catalogue.data_dir) / "store"
    send(api, write, data)
    assert (store / "tmp" / f"write-{write['id']}").is_dir()
    done = commit(api, write)
    assert done["status"] == "done" and done["image_id"]
    assert not (store / "tmp" / f"write-{write['id']}").exists()
    image = api.ok("GET", f"images/{done['image_id']}")
    assert image["name"] == write["name"] and image["description"] == "smoothed"
    assert image["parents"] == [dataset["id"]] and image["has_provenance"] is True
    pixels = image["pixels"]
    assert (pixels["size_t"], pixels["size_c"], pixels["size_z"], pixels["size_y"], pixels["size_x"]) == data.shape
    assert pixels["pixel_type"] == "uint16" and pixels["physical_size_z"] == 1.5
    assert [(lv["size_y"], lv["size_x"]) for lv in pixels["levels"]] == [(1100, 700), (550, 350), (275, 175)]
    assert [(c["name"], c["color"]) for c in image["channels"]] == [("DAPI", "0000FF"), ("GFP", "00FF00")]
    assert image["channels"][1]["max"] == float(data[:, 1].max())
    np.testing.assert_array_equal(read_zarr(api, image["id"]), data)
    # Level 1 is level 0's 2×2 means, as for an import.
    half = read_zarr(api, image["id"], 1)
    assert half.shape == (1, 2, 2, 550, 350)
    assert abs(float(half[0, 0, 0, 10, 10]) - data[0, 0, 0, 20:22, 20:22].mean()) <= 1
    prov = api.ok("GET", f"images/{image['id']}/provenance")
    assert prov["inputs"] == [{"type": "image", "id": source["id"], "name": source["name"]}]
    assert prov["source"] == "analysis.ipynb" and prov["code"] == "out = smooth(img)"
    assert prov["code_sha256"] == __import__("hashlib").sha256(b"out = smooth(img)").hexdigest()
    assert prov["parameters"] == {"sigma": 2} and prov["user"]["username"] == "admin"
    # A render works on the written pyramid.
    assert api.get(f"images/{image['id']}/thumbnail").status_code == 200


def test_chunks_are_checked_and_can_be_sent_again(api: Api) -> None:
    data = np.arange(600 * 520, dtype=np.float32).reshape(1, 1, 1, 600, 520)
    write = open_write(api, data)
    base = f"writes/{write['id']}/chunks"
    # An edge chunk is cut to the image: 88 × 8 float32 at yi=1, xi=1.
    r = api.put(f"{base}/0/0/0/1/1", data=b"\0" * (512 * 512 * 4))
    assert r.status_code == 400
    assert r.json()["error"]["message"] == ("chunk t=0 c=0 z=0 yi=1 xi=1 is 88 × 8 float32 = 2816 bytes "
                                            "(little-endian, row by row); the request sent 1048576")
    r = api.put(f"{base}/0/0/0/2/0", data=b"")
    assert r.status_code == 400 and "yi=2 is outside the image (yi is 0 to 1)" in r.json()["error"]["message"]
    r = api.put(f"{base}/0/1/0/0/0", data=b"")
    assert r.status_code == 400 and "c=1 is outside" in r.json()["error"]["message"]
    r = api.put(f"{base}/0/0/0/0/0", data=b"\0" * (512 * 512 * 8 + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    # Commit with chunks missing: 409 with how many, and which.
    send(api, write, data, skip=1)
    r = api.post(f"writes/{write['id']}/commit")
    assert r.status_code == 409
    assert r.json()["error"]["message"].startswith(f"1 of 4 chunks of write {write['id']} are missing "
                                                   "(first: t=0 c=0 z=0 yi=0 xi=0)")
    # A chunk sent twice: the second copy wins.
    wrong = np.full((512, 512), 7, np.float32).tobytes()
    assert api.put(f"{base}/0/0/0/0/0", data=wrong).status_code == 204
    send(api, write, data)
    done = commit(api, write)
    np.testing.assert_array_equal(read_zarr(api, done["image_id"]), data)
    # A saved write takes nothing more and cannot be committed or aborted again.
    assert api.put(f"{base}/0/0/0/0/0", data=wrong).status_code == 409
    assert api.post(f"writes/{write['id']}/commit").status_code == 409
    r = api.delete(f"writes/{write['id']}")
    assert r.status_code == 409 and "delete the image instead" in r.json()["error"]["message"]


@pytest.mark.parametrize(("body", "message"), [
    ({"dtype": "int64"}, "pixel type 'int64' is not supported: the store keeps uint8, uint16, uint32, int8, int16, "
                         "int32, float32, float64 (64-bit integers: cast with array.astype('int32')"),
    ({"dtype": "complex128"}, "pixel type 'complex128' is not supported"),
    ({"shape": [1, 1, 10, 10]}, "shape: List should have at least 5 items"),
    ({"shape": [1, 1, 1, 0, 10]}, "shape.3: Input should be greater than or equal to 1"),
    ({"shape": [1, 1, 1, 2**20, 2**20]}, "a plane of 1048576 × 1048576 pixels is more than the limit"),
    ({"shape": [100, 100, 100, 2**14, 2**14]}, "more than the limit of 1024.0 GiB"),
    ({"channel_names": ["a", "b"]}, "channel_names has 2 entries for 1 channel"),
    ({"physical_size": {"x": -1}}, "physical_size.x: Input should be greater than 0"),
    ({"dataset_id": 2**40}, "dataset 1099511627776 not found"),
    ({"provenance": {"inputs": [{"type": "image", "id": 2**40}]}}, "input image 1099511627776 not found"),
])
def test_bad_writes_are_refused_before_any_pixel_is_sent(api: Api, body: dict, message: str) -> None:
    full = {"name": unique("bad"), "shape": [1, 1, 1, 10, 10], "dtype": "uint8", **body}
    r = api.post("writes", json=full)
    assert r.status_code in (400, 404, 413), r.text
    assert message in r.json()["error"]["message"]


def test_only_the_owner_uses_a_write_and_writing_needs_link_permission(api: Api) -> None:
    team = make_team(api, "read-annotate")
    dataset = team.alice.ok("POST", "datasets", 201, json={"name": unique("alice's"), "group_id": team.group})
    # Bob sees alice's dataset but may not link into it (read-annotate).
    r = team.bob.post("writes", json={"name": "x", "shape": [1, 1, 1, 4, 4], "dtype": "uint8",
                                      "dataset_id": dataset["id"]})
    assert r.status_code == 403
    # An input bob cannot see is "not found", as if it did not exist.
    private = api.make_group("private")
    outsider = api.make_user(unique("outsider"))
    api.add_member(private["id"], outsider["username"])
    hidden = api.as_user(outsider["username"]).ok("POST", "images", 201, json={"name": "hidden",
                                                                               "group_id": private["id"]})
    r = team.bob.post("writes", json={"name": "x", "shape": [1, 1, 1, 4, 4], "dtype": "uint8",
                                      "provenance": {"inputs": [{"type": "image", "id": hidden["id"]}]}})
    assert r.status_code == 404 and r.json()["error"]["message"] == f"input image {hidden['id']} not found"
    data = np.ones((1, 1, 1, 4, 4), np.uint8)
    write = open_write(team.alice, data, dataset_id=dataset["id"])
    for other in (team.bob, team.owner):
        assert other.get(f"writes/{write['id']}").status_code == 404
        assert other.put(f"writes/{write['id']}/chunks/0/0/0/0/0", data=data.tobytes()).status_code == 404
        assert other.post(f"writes/{write['id']}/commit").status_code == 404
        assert other.delete(f"writes/{write['id']}").status_code == 404
        assert write["id"] not in [w["id"] for w in other.ok("GET", "writes")["items"]]
    assert [w["id"] for w in team.alice.ok("GET", "writes")["items"]] == [write["id"]]


def test_an_aborted_write_leaves_nothing(api: Api, dataset: dict, catalogue) -> None:
    data = np.ones((1, 1, 1, 700, 700), np.uint8)
    write = open_write(api, data, dataset_id=dataset["id"])
    send(api, write, data)
    folder = Path(catalogue.data_dir) / "store" / "tmp" / f"write-{write['id']}"
    assert folder.is_dir()
    assert api.delete(f"writes/{write['id']}").status_code == 204
    assert not folder.exists()
    assert api.ok("GET", f"writes/{write['id']}")["status"] == "aborted"
    assert api.put(f"writes/{write['id']}/chunks/0/0/0/0/0", data=b"\1" * 512 * 512).status_code == 409
    assert api.post(f"writes/{write['id']}/commit").status_code == 409
    assert api.ok("GET", "images", params={"dataset": dataset["id"]})["total"] == 0


def test_a_dataset_deleted_before_the_commit_saves_nothing(api: Api, dataset: dict) -> None:
    data = np.ones((1, 1, 1, 8, 8), np.uint8)
    write = open_write(api, data, dataset_id=dataset["id"])
    send(api, write, data)
    api.ok("DELETE", f"datasets/{dataset['id']}")
    r = api.post(f"writes/{write['id']}/commit")
    assert r.status_code == 404 and "was deleted" in r.json()["error"]["message"]


def test_provenance_of_other_objects_is_recorded_once(api: Api) -> None:
    team = make_team(api, "read-annotate")
    made = team.alice.ok("POST", "datasets", 201, json={"name": unique("made"), "group_id": team.group})
    assert made["has_provenance"] is False
    r = team.alice.get(f"datasets/{made['id']}/provenance")
    assert r.status_code == 404 and "has no provenance" in r.json()["error"]["message"]
    body = {"source": "pipeline.py", "code": "print(1)", "parameters": {"n": 1}}
    assert team.bob.post(f"datasets/{made['id']}/provenance", json=body).status_code == 403
    recorded = team.alice.ok("POST", f"datasets/{made['id']}/provenance", 201, json=body)
    assert recorded["source"] == "pipeline.py" and recorded["user"]["username"] == team.alice.act_as
    assert team.alice.post(f"datasets/{made['id']}/provenance", json=body).status_code == 409
    assert team.bob.ok("GET", f"datasets/{made['id']}/provenance")["parameters"] == {"n": 1}
    assert team.bob.ok("GET", f"datasets/{made['id']}")["has_provenance"] is True
    r = team.alice.post(f"datasets/{made['id']}/provenance", json={"code": "x", "code_sha256": "0" * 64})
    assert r.status_code in (400, 409)
    # Inputs the reader cannot see are counted, not named; deleting the object takes its record along.
    team.alice.ok("DELETE", f"datasets/{made['id']}")
    assert api.get(f"datasets/{made['id']}/provenance").status_code == 404


def test_hidden_inputs_are_counted_not_named(api: Api) -> None:
    team = make_team(api, "read-only")
    mine = team.alice.ok("POST", "images", 201, json={"name": unique("mine"), "group_id": team.group})
    private = api.make_group("private")
    api.add_member(private["id"], team.alice.act_as)
    secret = team.alice.ok("POST", "images", 201, json={"name": unique("secret"), "group_id": private["id"]})
    made = team.alice.ok("POST", "images", 201, json={"name": unique("made"), "group_id": team.group})
    team.alice.ok("POST", f"images/{made['id']}/provenance", 201, json={"inputs": [
        {"type": "image", "id": mine["id"]}, {"type": "image", "id": secret["id"]}]})
    seen = team.bob.ok("GET", f"images/{made['id']}/provenance")
    assert seen["inputs"] == [{"type": "image", "id": mine["id"], "name": mine["name"]}]
    assert seen["hidden_inputs"] == 1
    assert len(team.alice.ok("GET", f"images/{made['id']}/provenance")["inputs"]) == 2


def test_writes_left_alone_expire_and_their_chunks_go() -> None:
    from ...jupyter import JupyterServerProcess

    # Not pytest's tmp_path: the embedded PostgreSQL's own account must pass through every parent folder.
    with tempfile.TemporaryDirectory(prefix="scopehub-expiry-") as data_dir:
        _expire_in(Path(data_dir), JupyterServerProcess)


def _expire_in(tmp_path: Path, server_class) -> None:
    args = [f"--ScopehubApp.data_dir={tmp_path}", "--ScopehubApp.standalone_username=admin",
            "--ScopehubApp.write_max_age=2"]
    with server_class(args) as server:
        client = Api(server.url + "scopehub/api/v1/", server.token)
        data = np.ones((1, 1, 1, 8, 8), np.uint8)
        write = open_write(client, data)
        send(client, write, data)
        folder = tmp_path / "store" / "tmp" / f"write-{write['id']}"
        assert folder.is_dir()
        deadline = time.monotonic() + 20
        while client.ok("GET", f"writes/{write['id']}")["status"] == "open":
            assert time.monotonic() < deadline, "the write did not expire"
            time.sleep(0.2)
        got = client.ok("GET", f"writes/{write['id']}")
        assert got["status"] == "aborted" and got["error"].startswith("expired: nothing was sent for")
        assert not folder.exists()
        r = client.post(f"writes/{write['id']}/commit")
        assert r.status_code == 409 and "expired" in r.json()["error"]["message"]
