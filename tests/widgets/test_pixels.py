"""``to_numpy``, ``to_dask`` and ``to_zarr`` read the stored OME-Zarr over HTTP with the caller's identity:
the values are the source's, and only what is asked for travels (a 100 GB image opens at once)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec

import scopehub
from scopehub.widgets.provenance import forget_reads, images_read

from ..api_client import Api, make_team, unique
from ..counting_proxy import CountingProxy
from ..server_extension.pixels.stored_images import pyramid
from .conftest import make_data


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return make_data((2, 3, 2, 700, 1100), seed=4)


@pytest.fixture(scope="module")
def image(hub: scopehub.Hub, api: Api, stored, data: np.ndarray):
    return hub.image(stored.add(api, data, name=unique("pixels"))["id"])


def test_to_numpy_reads_what_is_asked(image, data: np.ndarray) -> None:
    np.testing.assert_array_equal(image.to_numpy(), data)
    plane = image.to_numpy(t=1, c=2, z=0)
    assert plane.shape == (700, 1100)
    np.testing.assert_array_equal(plane, data[1, 2, 0])
    np.testing.assert_array_equal(image.to_numpy(t=0, c=[2, 0], z=slice(1, 2)), data[0][[2, 0], 1:2])
    np.testing.assert_array_equal(image.to_numpy(c=-1, region=(600, 100, 450, 500)), data[:, 2, :, 100:600, 600:1050])
    # A lower level: the region is given in full-resolution pixels and scaled.
    levels = pyramid(data)
    np.testing.assert_array_equal(image.to_numpy(level=1), levels[1])
    np.testing.assert_array_equal(image.to_numpy(level=1, t=0, c=0, z=0, region=(600, 100, 400, 300)),
                                  levels[1][0, 0, 0, 50:200, 300:500])
    with pytest.raises(ValueError, match="has levels 0 to 2, not 3"):
        image.to_numpy(level=3)
    with pytest.raises(ValueError, match=r"region \(x=1000, y=0, width=200, height=10\) is not inside the image"):
        image.to_numpy(region=(1000, 0, 200, 10))
    with pytest.raises(IndexError, match="c=3 is outside the image"):
        image.to_numpy(c=3)


def test_to_dask_and_to_zarr(image, data: np.ndarray) -> None:
    lazy = image.to_dask()
    assert lazy.shape == data.shape and lazy.chunksize == (1, 1, 1, 512, 512) and lazy.dtype == np.uint16
    np.testing.assert_array_equal(lazy[1, :, 1, 300:600].compute(), data[1, :, 1, 300:600])
    assert float(lazy.mean().compute()) == pytest.approx(float(data.mean()))
    group = image.to_zarr()
    multiscales = group.attrs["ome"]["multiscales"][0]
    assert [d["path"] for d in multiscales["datasets"]] == ["0", "1", "2"]
    level = image.to_zarr(2)
    assert isinstance(level, zarr.Array) and level.shape == (2, 3, 2, 175, 275)
    with pytest.raises(zarr.errors.ReadOnlyError if hasattr(zarr.errors, "ReadOnlyError") else Exception):
        level[0, 0, 0, 0, 0] = 1


def test_reads_are_remembered_for_provenance(hub: scopehub.Hub, image) -> None:
    forget_reads()
    assert hub.images_read == []
    image.to_numpy(t=0, c=0, z=0, region=(0, 0, 10, 10))
    image.to_numpy(t=0, c=0, z=0, region=(0, 0, 10, 10))
    assert images_read() == [image.id]


def test_pixels_of_an_image_you_may_not_see(api: Api, stored) -> None:
    team = make_team(api, "private")
    made = stored.add(team.alice, make_data((1, 1, 1, 64, 64)), name=unique("private"))
    alice = scopehub.connect(api.base, api.token, act_as=team.alice.act_as)
    bob = scopehub.connect(api.base, api.token, act_as=team.bob.act_as)
    assert alice.image(made["id"]).to_numpy().shape == (1, 1, 1, 64, 64)
    with pytest.raises(scopehub.NotFound, match=f"image {made['id']} not found"):
        bob.image(made["id"])
    # An image object bob got hold of earlier (say, before it was moved away) reads nothing either.
    seen = scopehub.widgets.Image(bob, alice.image(made["id"]).data)
    with pytest.raises(scopehub.NotFound, match=f"image {made['id']} not found"):
        seen.to_numpy()


def test_a_100_gb_image_opens_at_once_and_reads_only_what_is_asked(catalogue, api: Api, stored) -> None:
    """Declared 229376² uint16 (105 GB) with a 10-level pyramid; only two chunks hold data."""
    side, chunk = 229376, 512
    relative = f"pixels/{dt.date.today().isoformat()}/{uuid.uuid4().hex}.ome.zarr"
    root = stored.store / relative
    group = zarr.create_group(store=str(root), zarr_format=3)
    sizes = [side]
    while sizes[-1] > chunk:
        sizes.append((sizes[-1] + 1) // 2)
    for k, n in enumerate(sizes):
        group.create_array(str(k), shape=(1, 1, 1, n, n), chunks=(1, 1, 1, chunk, chunk), dtype="uint16",
                           compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"), fill_value=0,
                           dimension_names=["t", "c", "z", "y", "x"])
    group.update_attributes({"ome": {"version": "0.5", "multiscales": [{"name": "big", "axes": [
        {"name": a, "type": t} for a, t in zip("tczyx", ["time", "channel", "space", "space", "space"], strict=True)],
        "datasets": [{"path": str(k), "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1, 2**k, 2**k]}]}
                     for k in range(len(sizes))]}]}})
    block = np.arange(2 * chunk * chunk, dtype=np.uint16).reshape(1, 1, 1, chunk, 2 * chunk)
    group["0"][:, :, :, 200 * chunk:201 * chunk, 200 * chunk:202 * chunk] = block  # two chunks
    made = api.ok("POST", "images", json={"name": unique("100 GB")})
    shape = (1, 1, 1, side, side)
    stored.attach(made["id"], relative, np.broadcast_to(np.zeros((), np.uint16), shape),
                  [{"size_x": n, "size_y": n, "scale": 2**k} for k, n in enumerate(sizes)], channel_rows=False)
    with CountingProxy(catalogue.server.url) as proxy:
        hub = scopehub.connect(proxy.url, api.token)
        image = hub.image(made["id"])
        assert image.shape == shape and len(image.levels) == 10
        proxy.reset()
        started = time.monotonic()
        lazy = image.to_dask()
        opened = time.monotonic() - started
        assert lazy.shape == shape and lazy.nbytes == 2 * side * side > 100 * 10**9
        # Opening read two small metadata files.
        assert [path.split("/zarr/")[1] for _, path, _, _ in proxy.requests] == ["zarr.json", "0/zarr.json"]
        assert opened < 2.0
        proxy.reset()
        x0, y0 = 200 * chunk - 100, 200 * chunk - 50
        region = image.to_numpy(t=0, c=0, z=0, region=(x0, y0, 700, 300))
        expected = np.zeros((300, 700), np.uint16)
        expected[50:, 100:100 + 2 * chunk] = block[0, 0, 0, :250, :600]
        np.testing.assert_array_equal(region, expected)
        chunks = sorted(path.split("/zarr/0/c/")[1] for _, path, _, _ in proxy.requests if "/zarr/0/c/" in path)
        # The region touches rows 199-200 and columns 199-201: six chunks, two of them stored.
        assert chunks == sorted(f"0/0/0/{yi}/{xi}" for yi in (199, 200) for xi in (199, 200, 201))
        assert proxy.bytes < 3 * chunk * chunk * 2  # two compressed chunks and six small replies
        stored_replies = [status for _, path, status, _ in proxy.requests if "/zarr/0/c/" in path]
        assert sorted(stored_replies) == [200, 200, 404, 404, 404, 404]
        # A lower level covers the whole 105 GB in a 448² overview, read as one chunk.
        proxy.reset()
        overview = image.to_numpy(level=9, t=0, c=0, z=0)
        assert overview.shape == (448, 448)
        assert len([p for _, p, _, _ in proxy.requests if "/c/" in p]) == 1
