"""The pixel routes over HTTP: render, thumbnail, histogram, rendering settings and the OME-Zarr
files, with permissions (invisible is 404 everywhere), bad parameters (precise 400s), and zarr-python
reading the image through fsspec's HTTP file system, validated by ome-zarr-models."""

from __future__ import annotations

import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
import zarr
from PIL import Image

from ...api_client import Api, unique
from ..pixels.stored_images import StoredImages

COLORS = ["FF0000", "00FF00", "0000FF", "FF00FF"]
WINDOWS = [(100.0, 3000.0), (0.0, 4095.0), (500.0, 1500.0), (0.0, 1000.0)]
PIXEL_ROUTES = ("render", "thumbnail", "histogram", "rendering", "zarr/zarr.json")


def make_data(seed: int = 0, c: int = 4, z: int = 3, y: int = 1100, x: int = 1300) -> np.ndarray:
    """By default 4 channels, 3 z-sections, 1100 × 1300 uint16 (two pyramid levels below full resolution)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:y, 0:x]
    planes = [(xx * (ci + 1) + yy * 2 + zi * 500) % 4096 for ci in range(c) for zi in range(z)]
    data = np.stack(planes).reshape(c, z, y, x)[None].astype(np.uint16)
    return data + rng.integers(0, 3, data.shape, dtype=np.uint16)


@pytest.fixture(scope="module")
def stored(catalogue) -> StoredImages:
    return StoredImages(catalogue)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return make_data()


@pytest.fixture(scope="module")
def image(api: Api, stored: StoredImages, data: np.ndarray) -> dict:
    return stored.add(api, data, name=unique("pixels"), colors=COLORS, windows=WINDOWS)


def decode(r) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(r.content)))


def expected_rgb(data: np.ndarray, z: int, channels: list[tuple[int, float, float, str]], y: slice, x: slice
                 ) -> np.ndarray:
    total = np.zeros((*data[0, 0, z][y, x].shape, 3))
    for c, start, end, color in channels:
        i = np.clip(np.rint((data[0, c, z][y, x].astype(np.float64) - start) * 255.0 / (end - start)), 0, 255)
        for k in range(3):
            total[..., k] += (i * int(color[2 * k:2 * k + 2], 16) + 127) // 255
    return np.minimum(total, 255).astype(np.uint8)


def test_render_tiles_and_regions_exactly(api: Api, image: dict, data: np.ndarray) -> None:
    base = f"images/{image['id']}/render"
    r = api.get(base, params={"tile": "0,1,1", "format": "png", "z": "2",
                              "c": "1|100:3000$FF0000,2|0:4095$00FF00,-3,4|0:1000$FF00FF"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/png"
    got = decode(r)
    channels = [(0, 100, 3000, "FF0000"), (1, 0, 4095, "00FF00"), (3, 0, 1000, "FF00FF")]
    np.testing.assert_array_equal(got, expected_rgb(data, 2, channels, slice(512, 1024), slice(512, 1024)))
    # The default is JPEG 4:2:0 of the saved (here: the image's default) settings.
    r = api.get(base, params={"region": "1000,900,300,200"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
    jpeg = decode(r)
    assert jpeg.shape == (200, 300, 3)
    # Revalidation: the same view has the same entity tag, and a client holding it gets 304.
    etag = r.headers["ETag"]
    again = api.get(base, params={"region": "1000,900,300,200"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # A lower pyramid level: a tile of level 2 (325 × 275) is the whole level.
    r = api.get(base, params={"tile": "2,0,0", "format": "png", "m": "g", "c": "2|0:4095"})
    assert decode(r).shape == (275, 325)


def test_defaults_come_from_the_channels_then_from_saved_settings(api: Api, image: dict, data: np.ndarray) -> None:
    bob = api.make_user(unique("pix-bob"))
    group = api.ok("GET", f"images/{image['id']}")["group"]["id"]
    api.add_member(group, bob["username"])
    as_bob = api.as_user(bob["username"])
    url = f"images/{image['id']}/rendering"
    settings = as_bob.ok("GET", url)
    assert settings["saved"] is False and settings["image_id"] == image["id"]
    assert [(c["start"], c["end"], c["color"], c["active"]) for c in settings["settings"]["channels"]] == [
        (s, e, col, True) for (s, e), col in zip(WINDOWS, COLORS, strict=True)]
    assert settings["settings"]["z"] == 1 and settings["channel_names"][0] == "channel 1"
    default_tile = as_bob.get(f"images/{image['id']}/render", params={"tile": "0,0,0", "format": "png"}).content
    # Bob keeps only channel 3, in grey; rendering without parameters follows, for bob only.
    chosen = settings["settings"]
    for i, ch in enumerate(chosen["channels"]):
        ch["active"] = i == 2
    chosen["channels"][2].update(color="FFFFFF", start=0, end=4095)
    chosen["z"] = 0
    saved = as_bob.ok("PUT", url, json=chosen)
    assert saved["saved"] is True and saved["settings"] == {**chosen, "channels": [
        {**c, "start": float(c["start"]), "end": float(c["end"])} for c in chosen["channels"]]}
    assert as_bob.ok("GET", url)["settings"] == saved["settings"]
    got = decode(as_bob.get(f"images/{image['id']}/render", params={"tile": "0,0,0", "format": "png"}))
    expected = np.clip(np.rint(data[0, 2, 0, :512, :512] * 255.0 / 4095), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(got, expected)
    # The admin's view did not change, and a partial PUT keeps what it leaves out.
    assert api.get(f"images/{image['id']}/render", params={"tile": "0,0,0", "format": "png"}).content \
        != got.tobytes()
    assert as_bob.ok("PUT", url, json={"z": 2})["settings"]["channels"] == saved["settings"]["channels"]
    assert default_tile != as_bob.get(f"images/{image['id']}/render", params={"tile": "0,0,0",
                                                                              "format": "png"}).content


def test_thumbnails_follow_rendering_settings(api: Api, stored: StoredImages) -> None:
    data = np.full((1, 2, 1, 300, 600), 1000, np.uint16)
    image = stored.add(api, data, name=unique("thumb"), colors=["FF0000", "00FF00"], windows=[(0, 1000)] * 2)
    url = f"images/{image['id']}/thumbnail"
    first = api.get(url)
    assert first.status_code == 200 and first.headers["Content-Type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(first.content))
    assert thumb.size == (96, 48)
    assert tuple(np.asarray(thumb)[24, 48] // 10) == (25, 25, 0)  # red + green: yellow
    assert Image.open(io.BytesIO(api.get(url, params={"size": 300}).content)).size == (300, 150)
    assert api.get(url).content == first.content  # cached, and the same
    settings = api.ok("GET", f"images/{image['id']}/rendering")["settings"]
    settings["channels"][1]["active"] = False
    api.ok("PUT", f"images/{image['id']}/rendering", json=settings)
    red = np.asarray(Image.open(io.BytesIO(api.get(url).content)))
    assert tuple(red[24, 48] // 10) == (25, 0, 0)  # the cached yellow one is gone


def test_histograms(api: Api, image: dict, data: np.ndarray) -> None:
    h = api.ok("GET", f"images/{image['id']}/histogram", params={"c": 2, "z": 1, "bins": 16})
    plane = data[0, 1, 1]
    lo, hi = int(plane.min()), int(plane.max())
    assert (h["channel"], h["z"], h["t"], h["level"], h["bins"]) == (2, 1, 0, 0, 16)
    assert (h["min"], h["max"]) == (lo, hi)
    assert h["counts"] == np.histogram(plane, bins=16, range=(lo, hi + 1))[0].tolist()
    h = api.ok("GET", f"images/{image['id']}/histogram")
    assert (h["channel"], h["z"], h["bins"], sum(h["counts"])) == (1, 1, 256, plane.size)


@pytest.mark.parametrize(("route", "params", "message"), [
    ("render", {"c": "9"}, "channel 9 does not exist: the image has 4 channels"),
    ("render", {"c": "1|500:100"}, "starts above its end"),
    ("render", {"z": "3"}, "z 3 is past the stack: the image has 3 z-sections"),
    ("render", {"t": "1"}, "t 1 is past the stack"),
    ("render", {"region": "0,0,1301,10"}, "reaches outside the image, which is 1300 × 1100"),
    ("render", {"tile": "3,0,0"}, "level 3 does not exist: the image has levels 0–2"),
    ("render", {"tile": "1,2,0"}, "is outside level 1"),
    ("render", {"q": "7"}, "q must be from 0 to 1"),
    ("render", {"format": "tiff"}, "format must be jpeg or png"),
    ("render", {"m": "rgb"}, "m must be c"),
    ("render", {"p": "intmax|0:3"}, "reaches past the stack"),
    ("thumbnail", {"size": "0"}, "size must be between 1 and 1024"),
    ("thumbnail", {"size": "2000"}, "size must be between 1 and 1024"),
    ("histogram", {"c": "5"}, "channel 5 does not exist"),
    ("histogram", {"z": "3"}, "z 3 is past the stack"),
    ("histogram", {"bins": "70000"}, "bins must be between 1 and 65536"),
    ("histogram", {"c": "x"}, "c must be a whole number"),
])
def test_bad_parameters_are_a_precise_400(api: Api, image: dict, route: str, params: dict, message: str) -> None:
    r = api.get(f"images/{image['id']}/{route}", params=params)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]["message"], r.json()


def test_bad_settings_are_refused_and_change_nothing(api: Api, image: dict) -> None:
    url = f"images/{image['id']}/rendering"
    before = api.ok("GET", url)
    good = before["settings"]
    for body, message in [
        ({**good, "channels": good["channels"][:3]}, "one entry per channel: the image has 4 channels"),
        ({**good, "channels": [{**good["channels"][0], "start": 9, "end": 1}, *good["channels"][1:]]},
         "window start 9 is above its end 1"),
        ({**good, "channels": [{**good["channels"][0], "color": "nope.lut"}, *good["channels"][1:]]},
         "known lookup table"),
        ({"z": 3}, "z 3 is past the stack"),
        ({"model": "x"}, "model"),
        ({"surprise": 1}, "surprise"),
    ]:
        r = api.put(url, json=body)
        assert r.status_code == 400, (body, r.text)
        assert message in r.json()["error"]["message"], r.json()
    assert api.ok("GET", url) == before


def test_images_without_pixels_or_out_of_sight_are_404_on_every_pixel_route(api: Api, stored: StoredImages) -> None:
    bare = api.ok("POST", "images", json={"name": unique("no-pixels")})
    for route in PIXEL_ROUTES:
        r = api.get(f"images/{bare['id']}/{route}")
        assert r.status_code == 404, (route, r.text)
        assert "has no pixels" in r.json()["error"]["message"]
    assert api.put(f"images/{bare['id']}/rendering", json={}).status_code == 404
    # A private group's image: its owner sees it; a stranger (and a member of another group) does not.
    group = api.make_group("private")
    owner, stranger = api.make_user(unique("pix-owner")), api.make_user(unique("pix-stranger"))
    api.add_member(group["id"], owner["username"])
    as_owner, as_stranger = api.as_user(owner["username"]), api.as_user(stranger["username"])
    secret = stored.add(as_owner, make_data(1, 1, 1, 100, 100), name=unique("secret"))
    for route in PIXEL_ROUTES:
        assert as_owner.get(f"images/{secret['id']}/{route}").status_code == 200, route
        hidden = as_stranger.get(f"images/{secret['id']}/{route}")
        missing = as_stranger.get(f"images/{2**62}/{route}")
        assert hidden.status_code == missing.status_code == 404, route
        assert hidden.json()["error"]["code"] == "not_found"
    assert as_stranger.put(f"images/{secret['id']}/rendering", json={}).status_code == 404
    assert as_stranger.get(f"images/{secret['id']}/zarr/0/c/0/0/0/0/0").status_code == 404


def test_zarr_python_reads_the_image_over_http_and_ome_zarr_models_validates_it(api: Api, image: dict,
                                                                             data: np.ndarray) -> None:
    from ome_zarr_models.v05.image import Image as OmeImage

    url = api.base + f"images/{image['id']}/zarr"
    group = zarr.open_group(url, mode="r", storage_options={"headers": api.headers()})
    assert group.attrs["ome"]["version"] == "0.5"
    np.testing.assert_array_equal(group["0"][0, 1, 2], data[0, 1, 2])
    assert group["2"].shape == (1, 4, 3, 275, 325)
    validated = OmeImage.from_zarr(group)
    assert len(validated.datasets[0]) == 3
    # Refused: no token; write verbs; files that are not zarr.json or chunks; ways out of the folder.
    assert api.anonymous().get(f"images/{image['id']}/zarr/zarr.json").status_code == 401
    assert api.put(f"images/{image['id']}/zarr/zarr.json", data=b"{}").status_code == 405
    r = api.get(f"images/{image['id']}/zarr/0/zarr.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert int(r.headers["Content-Length"]) == len(r.content) and r.json()["node_type"] == "array"
    chunk = api.get(f"images/{image['id']}/zarr/0/c/0/0/0/0/0")
    assert chunk.status_code == 200 and chunk.headers["Content-Type"] == "application/octet-stream"
    for path in ("0/c/0/0/0/9/9", "../zarr.json", "0/../../zarr.json", "%2e%2e/zarr.json", "0/c/0/0/0/0",
                 "0%2F..%2F..%2Fzarr.json", "zarr.json.bak", ".zattrs", "0/c/x"):
        r = api.get(f"images/{image['id']}/zarr/{path}")
        assert r.status_code == 404, (path, r.status_code, r.text)


def test_a_symlink_out_of_the_pyramid_is_not_followed(api: Api, stored: StoredImages, tmp_path: Path) -> None:
    image = stored.add(api, make_data(2, 1, 1, 64, 64), name=unique("symlink"))
    with stored.engine.connect() as conn:
        relative = conn.exec_driver_sql(f"SELECT zarr_path FROM images WHERE id = {image['id']}").scalar_one()
    secret = tmp_path / "secret.json"
    secret.write_text('{"secret": true}')
    (stored.store / relative / "leak").mkdir()
    os.symlink(secret, stored.store / relative / "leak" / "zarr.json")
    assert api.get(f"images/{image['id']}/zarr/leak/zarr.json").status_code == 404


def test_rendering_never_blocks_the_event_loop(api: Api, stored: StoredImages) -> None:
    """A slow render (a 4096² PNG of noise, about a second of work) runs on the pixel threads: the
    server keeps answering small requests (Jupyter's own status) meanwhile."""
    noise = np.random.default_rng(5).integers(0, 256, (1, 1, 1, 4096, 4096), dtype=np.uint8)
    image = stored.add(api, noise, name=unique("slow"))
    status = api.base.split("scopehub/api/v1/")[0] + "api/status"
    stop = threading.Event()
    pings: list[tuple[float, float]] = []
    renders: list[tuple[float, float]] = []

    def ping() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            assert requests.get(status, headers=api.headers(), timeout=30).status_code == 200
            pings.append((t0, time.perf_counter()))

    with ThreadPoolExecutor(1) as pool:
        pinger = pool.submit(ping)
        for window in ("0:255", "1:254"):  # two renders, one at a time, no cache hit
            t0 = time.perf_counter()
            r = api.get(f"images/{image['id']}/render", params={"format": "png", "c": f"1|{window}"})
            assert r.status_code == 200 and len(r.content) > 10_000_000, r.text[:200]
            renders.append((t0, time.perf_counter()))
        stop.set()
        pinger.result()
    # Blocked, one ping would wait out most of a render (seen: 1.2 s of a 1.5 s render); here the
    # longest wait stays a small part of one.
    longest_ping = max(end - start for start, end in pings)
    shortest_render = min(end - start for start, end in renders)
    assert len(pings) > 20 and longest_ping < 0.4 * shortest_render, (longest_ping, shortest_render, len(pings))


def test_an_imported_file_renders_as_its_source(api: Api, catalogue) -> None:
    """End to end: an OME-TIFF imported through the API (the importer writes the pyramid and the
    channel rows) renders exactly from its source pixels, with windows computed at import."""
    import tifffile

    folder = Path(catalogue.server.root_dir) / unique("pixels-import")
    folder.mkdir()
    rng = np.random.default_rng(11)
    source = rng.integers(0, 4000, (3, 700, 600), dtype=np.uint16)
    tifffile.imwrite(folder / "three.ome.tif", source, ome=True, photometric="minisblack",
                     metadata={"axes": "CYX", "Channel": {"Name": ["a", "b", "c"]}})
    dataset = api.ok("POST", "datasets", json={"name": unique("pixels-import")})
    r = api.post("imports", json={"paths": [f"{folder.name}/three.ome.tif"], "dataset_id": dataset["id"]})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 120
    while (job := api.ok("GET", f"imports/{r.json()['id']}"))["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["status"] == "done", job
    image_id = job["images"][0]
    defaults = api.ok("GET", f"images/{image_id}/rendering")
    channels = defaults["settings"]["channels"]
    assert defaults["channel_names"] == ["a", "b", "c"] and all(c["active"] for c in channels)
    assert all(0 <= c["start"] < c["end"] <= 4000 for c in channels)  # from the data, not the type's range
    r = api.get(f"images/{image_id}/render", params={"tile": "0,0,1", "format": "png"})
    assert r.status_code == 200, r.text
    expected = expected_rgb(source[None, :, None], 0, [(i, c["start"], c["end"], c["color"])
                                                       for i, c in enumerate(channels)], slice(512, 700), slice(0, 512))
    np.testing.assert_array_equal(decode(r), expected)
    group = zarr.open_group(api.base + f"images/{image_id}/zarr", mode="r", storage_options={"headers": api.headers()})
    np.testing.assert_array_equal(group["0"][0, :, 0], source)
