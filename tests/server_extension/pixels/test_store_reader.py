"""The direct chunk reader against what zarr-python itself writes and reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

from scopehub.server_extension.catalogue.errors import Unreadable
from scopehub.server_extension.pixels.store_reader import ChunkCache, PixelStore

from .stored_images import write_ome_zarr


@pytest.fixture
def store(tmp_path: Path) -> PixelStore:
    return PixelStore(tmp_path, chunk_cache_bytes=8 * 1024 * 1024)


def random_image(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.normal(100, 50, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"])
def test_every_level_and_region_reads_as_zarr_reads_it(store: PixelStore, dtype: str) -> None:
    data = random_image((2, 2, 2, 1100, 700), dtype)
    levels = write_ome_zarr(store.root / "pixels" / "a.ome.zarr", data)
    assert [(lv["size_x"], lv["size_y"]) for lv in levels] == [(700, 1100), (350, 550), (175, 275)]
    image = store.open("pixels/a.ome.zarr")
    assert (image.size_t, image.size_c, image.size_z, image.size_y, image.size_x) == data.shape
    assert image.dtype == np.dtype(dtype)
    for k in range(3):
        expected = zarr.open_array(str(store.root / "pixels" / "a.ome.zarr" / str(k)), mode="r")
        lv = image.levels[k]
        for t, c, z in ((0, 0, 0), (1, 1, 1), (0, 1, 1)):
            whole = image.read(k, t, c, z, 0, lv.size_y, 0, lv.size_x)
            np.testing.assert_array_equal(whole, expected[t, c, z])
            # Regions inside one chunk (a view) and across chunk borders (assembled).
            for y0, y1, x0, x1 in ((0, 10, 0, 10), (500, 530, 100, 690), (511, 513, 511, 513)):
                y1, x1 = min(y1, lv.size_y), min(x1, lv.size_x)
                if y0 < y1 and x0 < x1:
                    np.testing.assert_array_equal(
                        image.read(k, t, c, z, y0, y1, x0, x1), expected[t, c, z, y0:y1, x0:x1]
                    )


def test_a_tile_is_a_read_only_view_of_a_cached_chunk(store: PixelStore) -> None:
    data = random_image((1, 1, 1, 1024, 1024), "uint16")
    write_ome_zarr(store.root / "pixels" / "b.ome.zarr", data)
    image = store.open("pixels/b.ome.zarr")
    tile = image.read(0, 0, 0, 0, 512, 1024, 0, 512)
    assert not tile.flags.writeable
    assert np.shares_memory(tile, image.chunk(0, 0, 0, 0, 1, 0))
    assert store.chunks.nbytes >= 512 * 512 * 2
    assert store.open("pixels/b.ome.zarr") is image  # metadata is read once


def test_missing_chunks_are_the_fill_value(store: PixelStore) -> None:
    data = np.zeros((1, 1, 1, 1024, 1024), np.uint16)
    data[0, 0, 0, 600:700, 600:700] = 7
    write_ome_zarr(store.root / "pixels" / "c.ome.zarr", data)
    chunk_dir = store.root / "pixels" / "c.ome.zarr" / "0" / "c" / "0" / "0" / "0"
    # zarr writes no file for an all-fill chunk: only chunk (1, 1) exists.
    assert sorted(str(p.relative_to(chunk_dir)) for p in chunk_dir.rglob("*") if p.is_file()) == ["1/1"]
    image = store.open("pixels/c.ome.zarr")
    np.testing.assert_array_equal(image.read(0, 0, 0, 0, 0, 1024, 0, 1024), data[0, 0, 0])


def damage(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(raw[: len(raw) // 2]))
    elif how == "inflated":  # the header claims a chunk far larger than 512² (a decompression bomb)
        raw[4:8] = (1 << 30).to_bytes(4, "little")
        path.write_bytes(bytes(raw))
    elif how == "garbage":
        path.write_bytes(os.urandom(len(raw)))
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["truncated", "inflated", "garbage", "empty"])
def test_a_damaged_chunk_is_a_clear_422(store: PixelStore, how: str) -> None:
    data = random_image((1, 1, 1, 512, 512), "uint16")
    write_ome_zarr(store.root / "pixels" / "d.ome.zarr", data)
    damage(store.root / "pixels" / "d.ome.zarr" / "0" / "c" / "0" / "0" / "0" / "0" / "0", how)
    image = store.open("pixels/d.ome.zarr")
    with pytest.raises(Unreadable, match="the stored pixels are damaged"):
        image.read(0, 0, 0, 0, 0, 512, 0, 512)


def test_missing_or_broken_metadata_is_a_422_and_paths_stay_in_the_store(store: PixelStore) -> None:
    with pytest.raises(Unreadable, match="missing"):
        store.open("pixels/none.ome.zarr")
    with pytest.raises(Unreadable, match="not inside the store"):
        store.open("../outside.ome.zarr")
    root = store.root / "pixels" / "e.ome.zarr"
    write_ome_zarr(root, random_image((1, 1, 1, 64, 64), "uint8"))
    meta = json.loads((root / "0" / "zarr.json").read_text())
    meta["codecs"].append({"name": "crc32c"})
    (root / "0" / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(Unreadable, match="unsupported codec chain"):
        store.open("pixels/e.ome.zarr")


@pytest.mark.parametrize(
    "codec", [None, ZstdCodec(level=3), GzipCodec(level=5), BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")]
)
def test_other_codecs_and_big_endian(tmp_path: Path, codec) -> None:
    """Pyramids from elsewhere (OME-Zarr kept as it came) may use other codecs or byte orders."""
    data = random_image((1, 1, 1, 600, 520), "int16")
    root = tmp_path / "pixels" / "f.ome.zarr"
    group = zarr.create_group(
        store=str(root),
        zarr_format=3,
        attributes={
            "ome": {
                "version": "0.5",
                "multiscales": [{"axes": [], "datasets": [{"path": "0", "coordinateTransformations": []}]}],
            }
        },
    )
    serializer = zarr.codecs.BytesCodec(endian="big")
    array = group.create_array(
        "0",
        shape=data.shape,
        chunks=(1, 1, 1, 512, 512),
        dtype="int16",
        serializer=serializer,
        compressors=codec,
        fill_value=0,
    )
    array[...] = data
    image = PixelStore(tmp_path).open("pixels/f.ome.zarr")
    np.testing.assert_array_equal(image.read(0, 0, 0, 0, 0, 600, 0, 520), data[0, 0, 0])


def test_the_chunk_cache_is_bounded_by_bytes() -> None:
    cache = ChunkCache(max_bytes=3 * 1000)
    for i in range(10):
        cache.put(i, np.zeros(1000, np.uint8))
    assert cache.nbytes == 3000 and cache.get(9) is not None and cache.get(0) is None
    cache.get(7)
    cache.put(10, np.zeros(1000, np.uint8))
    assert cache.get(7) is not None and cache.get(8) is None  # least recently used went first
    cache.put("big", np.zeros(5000, np.uint8))
    assert cache.get("big") is None and cache.nbytes == 3000


def test_reads_outside_a_level_are_refused(store: PixelStore) -> None:
    write_ome_zarr(store.root / "pixels" / "g.ome.zarr", random_image((1, 1, 1, 100, 100), "uint8"))
    image = store.open("pixels/g.ome.zarr")
    with pytest.raises(ValueError, match="outside"):
        image.read(0, 0, 0, 0, 0, 101, 0, 10)
    with pytest.raises(ValueError, match="outside"):
        image.read(0, 0, 1, 0, 0, 10, 0, 10)
