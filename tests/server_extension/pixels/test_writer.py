"""The streaming OME-Zarr pyramid writer: layout, levels, labels, statistics, memory and failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr
from numcodecs import Blosc
from ome_zarr_models.v05 import Image as NgffImage

from scopehub.server_extension.pixels.readers import UnreadableFile, open_source
from scopehub.server_extension.pixels.writer import write_pyramid

from . import sample_files as sf


def reference_halving(data: np.ndarray) -> np.ndarray:
    """2 × 2 means over the last two axes in float64, odd edges averaged with themselves, ints rounded half up."""
    h, w = data.shape[-2:]
    padded = np.pad(data.astype(np.float64), [(0, 0)] * (data.ndim - 2) + [(0, h % 2), (0, w % 2)], mode="edge")
    mean = padded.reshape(*padded.shape[:-2], padded.shape[-2] // 2, 2, padded.shape[-1] // 2, 2).mean(axis=(-3, -1))
    return np.floor(mean + 0.5).astype(data.dtype) if data.dtype.kind in "iu" else mean.astype(data.dtype)


def write(source: Path, dest: Path, **kwargs: object):
    with open_source(source) as opened:
        image = opened.images[0]
        return write_pyramid(image, dest, **kwargs), image


def zarr_levels(dest: Path) -> list[np.ndarray]:
    group = zarr.open_group(str(dest), mode="r")
    count = len(group.attrs["ome"]["multiscales"][0]["datasets"])
    return [group[str(k)][...] for k in range(count)]


def test_layout_metadata_and_copied_levels(tmp_path: Path) -> None:
    source = tmp_path / "pyr.ome.tif"
    levels = sf.subifd_pyramid(source)  # 2 × 1300 × 1100 uint16, 3 levels, 256² zlib tiles, 0.5 µm
    dest = tmp_path / "out.ome.zarr"
    pyramid, _ = write(source, dest)

    assert [(lv.size_x, lv.size_y, lv.scale) for lv in pyramid.levels] == [
        (1100, 1300, 1.0),
        (550, 650, 2.0),
        (275, 325, 4.0),
    ]
    assert pyramid.reused_levels == [0, 1, 2]
    assert pyramid.to_json()[1] == {"size_x": 550, "size_y": 650, "scale": 2.0}
    assert sorted(p.name for p in dest.iterdir()) == ["0", "1", "2", "zarr.json"]

    group = zarr.open_group(str(dest), mode="r")
    NgffImage.from_zarr(group)  # valid NGFF 0.5
    ome = group.attrs["ome"]
    assert ome["version"] == "0.5"
    (ms,) = ome["multiscales"]
    assert [a["name"] for a in ms["axes"]] == ["t", "c", "z", "y", "x"]
    assert [a.get("unit") for a in ms["axes"]] == [None, None, None, "micrometer", "micrometer"]
    assert [d["coordinateTransformations"][0]["scale"] for d in ms["datasets"]] == [
        [1.0, 1.0, 1.0, 0.5 * 2**k, 0.5 * 2**k] for k in range(3)
    ]
    channels = ome["omero"]["channels"]
    assert [(c["label"], c["color"], c["active"]) for c in channels] == [
        ("Channel 0", "FF0000", True),
        ("Channel 1", "00FF00", True),
    ]
    assert channels[0]["window"]["start"] == pyramid.channels[0].window_start

    meta = json.loads((dest / "0" / "zarr.json").read_text())
    assert meta["shape"] == [1, 2, 1, 1300, 1100]
    assert meta["dimension_names"] == ["t", "c", "z", "y", "x"]
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [1, 1, 1, 512, 512]
    assert meta["fill_value"] == 0 and meta["data_type"] == "uint16"
    assert meta["codecs"] == [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {
            "name": "blosc",
            "configuration": {"typesize": 2, "cname": "lz4", "clevel": 5, "shuffle": "shuffle", "blocksize": 0},
        },
    ]
    # An edge chunk is a full 512² chunk padded with zeros, at zarr's default key.
    raw = Blosc().decode((dest / "0" / "c" / "0" / "1" / "0" / "2" / "2").read_bytes())
    edge = np.frombuffer(raw, "<u2").reshape(512, 512)
    np.testing.assert_array_equal(edge[: 1300 - 1024, : 1100 - 1024], levels[0][1, 1024:, 1024:])
    assert not edge[1300 - 1024 :].any() and not edge[:, 1100 - 1024 :].any()

    for ours, expected in zip(zarr_levels(dest), levels, strict=True):
        np.testing.assert_array_equal(ours[0, :, 0], expected)


LAYOUTS = {
    "tiles-256": {"tile": (256, 256), "compression": "zlib"},
    "tiles-1024": {"tile": (1024, 1024)},  # reads of 1024 rows: halved, they fill whole bands
    "strips-700": {"rowsperstrip": 700},  # reads of 1024 rows from strips that straddle them
    "strips-3": {"rowsperstrip": 3, "compression": "lzw"},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_missing_levels_are_streamed_means(tmp_path: Path, layout: str) -> None:
    source = tmp_path / "flat.tif"
    data = sf.plain_tiff(source, "uint16", (1301, 2099), **LAYOUTS[layout])  # odd sizes
    dest = tmp_path / "one.zarr"
    pyramid, _ = write(source, dest, workers=1)
    assert [(lv.size_y, lv.size_x) for lv in pyramid.levels] == [(1301, 2099), (651, 1050), (326, 525), (163, 263)]
    assert pyramid.reused_levels == [0]
    expected = data
    for k, ours in enumerate(zarr_levels(dest)):
        np.testing.assert_array_equal(ours[0, 0, 0], expected, err_msg=f"level {k}")
        expected = reference_halving(expected)
    if layout != "tiles-256":
        return
    # Threads change nothing: the same bytes in every chunk.
    again = tmp_path / "three.zarr"
    write(source, again, workers=3)
    files = sorted(p.relative_to(dest) for p in dest.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        if f.name != "zarr.json":
            assert (dest / f).read_bytes() == (again / f).read_bytes(), f


def test_only_exact_halvings_are_reused(tmp_path: Path) -> None:
    # A copied level is taken as it is: make level 1 a constant to tell it from a computed one.
    source = tmp_path / "const.ome.tif"
    sf.subifd_pyramid(source, (1200, 1100), channels=1, level1_value=1234)
    pyramid, _ = write(source, tmp_path / "a.zarr")
    assert pyramid.reused_levels == [0, 1, 2]
    assert (zarr_levels(tmp_path / "a.zarr")[1] == 1234).all()
    # An SVS slide has 4× levels: level 1 is built, level 2 is the slide's own 4× level.
    svs = tmp_path / "slide.svs"
    sf.svs_like(svs)
    pyramid, _ = write(svs, tmp_path / "b.zarr")
    assert [(lv.size_y, lv.size_x) for lv in pyramid.levels] == [(1536, 1280), (768, 640), (384, 320)]
    assert pyramid.reused_levels == [0, 2]
    with open_source(svs) as opened:
        slide_level = opened.images[0].levels[1][0, :, 0]
        full = opened.images[0].levels[0][0, :, 0]
    stored = zarr_levels(tmp_path / "b.zarr")
    np.testing.assert_array_equal(stored[2][0, :, 0], slide_level)
    np.testing.assert_array_equal(stored[1][0, :, 0], reference_halving(full))
    NgffImage.from_zarr(zarr.open_group(str(tmp_path / "b.zarr"), mode="r"))


def test_labels_are_halved_by_nearest_value(tmp_path: Path) -> None:
    source = tmp_path / "mask.tif"
    mask = np.zeros((1100, 1000), np.uint16)
    mask[100:500, 100:700] = 3
    mask[501:1100:3, :] = 7  # stripes a mean would blur into values that are no label
    tifffile.imwrite(source, mask, photometric="minisblack")
    dest = tmp_path / "mask.zarr"
    pyramid, image = write(source, dest, label=True)
    stored = zarr_levels(dest)
    assert set(np.unique(stored[1])) <= {0, 3, 7}
    np.testing.assert_array_equal(stored[1][0, 0, 0], mask[::2, ::2])
    np.testing.assert_array_equal(stored[2][0, 0, 0], mask[::4, ::4])
    assert zarr.open_group(str(dest)).attrs["ome"]["multiscales"][0]["type"] == "nearest"
    assert (pyramid.channels[0].window_start, pyramid.channels[0].window_end) == (0, 7)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_source_keeps_levels_and_labels(tmp_path: Path, version: str) -> None:
    source = tmp_path / "in.zarr"
    data, labels = sf.ome_zarr(source, version)
    dest = tmp_path / "out.zarr"
    pyramid, _ = write(source, dest)
    assert pyramid.labels == ["cells"]
    assert pyramid.reused_levels == [0, 1]
    group = zarr.open_group(str(dest), mode="r")
    NgffImage.from_zarr(group)
    stored = zarr_levels(dest)
    np.testing.assert_array_equal(stored[0][0], data)
    np.testing.assert_array_equal(stored[1][0], data[:, :, ::2, ::2])  # copied, not recomputed
    assert (pyramid.channels[0].window_start, pyramid.channels[0].window_end) == (100, 4000)  # the source's
    assert group["labels"].attrs["ome"] == {"version": "0.5", "labels": ["cells"]}
    cells = group["labels"]["cells"]
    label_ome = cells.attrs["ome"]
    assert label_ome["image-label"]["colors"] == [{"label-value": 7, "rgba": [255, 0, 0, 255]}]
    assert label_ome["image-label"]["source"] == {"image": "../../"}
    assert cells["0"].shape == (1, 1, 3, 700, 600) and cells["1"].shape == (1, 1, 3, 350, 300)
    np.testing.assert_array_equal(cells["0"][0, 0], labels)
    np.testing.assert_array_equal(cells["1"][0, 0], labels[:, ::2, ::2])


def test_rgb_z_and_t(tmp_path: Path) -> None:
    rgb = tmp_path / "rgb.png"
    data = sf.pillow_image(rgb, "RGB", (700, 600))
    pyramid, image = write(rgb, tmp_path / "rgb.zarr")
    assert image.info.is_rgb
    assert [c.color for c in pyramid.channels] == ["FF0000", "00FF00", "0000FF"]
    stored = zarr_levels(tmp_path / "rgb.zarr")
    np.testing.assert_array_equal(np.moveaxis(stored[0][0, :, 0], 0, -1), data)
    np.testing.assert_array_equal(stored[1][0, :, 0], reference_halving(np.moveaxis(data, -1, 0)))

    tl = tmp_path / "tl.ome.tif"
    data = sf.ome_timelapse(tl)
    write(tl, tmp_path / "tl.zarr")
    (stored,) = zarr_levels(tmp_path / "tl.zarr")
    np.testing.assert_array_equal(stored, data)


def test_statistics_and_floats(tmp_path: Path) -> None:
    source = tmp_path / "f.tif"
    data = sf.ramp((1, 900, 800), "float32", 11)
    data[0, 10, 10] = np.nan
    data[0, 11, 11] = np.inf
    tifffile.imwrite(source, data, photometric="minisblack")
    pyramid, image = write(source, tmp_path / "f.zarr")
    (ch,) = pyramid.channels
    finite = data[np.isfinite(data)]
    assert (ch.min_value, ch.max_value) == (float(finite.min()), float(finite.max()))
    lo, hi = np.percentile(finite, [0.1, 99.9])
    # The window comes from the smallest level (means shrink the tails a little).
    assert lo - 1 < ch.window_start < ch.window_end < hi + 1
    assert image.info.channels[0] == ch  # the source image's info is updated too

    source = tmp_path / "u.tif"
    data = sf.plain_tiff(source, "uint16", (600, 700))
    pyramid, _ = write(source, tmp_path / "u.zarr")
    (ch,) = pyramid.channels
    assert (ch.min_value, ch.max_value) == (data.min(), data.max())
    assert ch.window_start == int(ch.window_start) and ch.window_start < ch.window_end


def test_progress_is_monotonic_and_ends_at_one(tmp_path: Path) -> None:
    source = tmp_path / "p.tif"
    sf.plain_tiff(source, "uint8", (2, 1500, 1500), tile=(256, 256))
    seen: list[float] = []
    write(source, tmp_path / "p.zarr", progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) > 3
    assert all(0 <= a <= b <= 1 for a, b in zip(seen, seen[1:], strict=False))


def test_destination_rules_and_cleanup_on_failure(tmp_path: Path) -> None:
    source = tmp_path / "src" / "corrupt.tif"
    source.parent.mkdir()
    sf.corrupt_tile_tiff(source)
    work = tmp_path / "work"
    work.mkdir()
    (work / "other-job").mkdir()
    before = sf.sha256(source)
    with pytest.raises(UnreadableFile, match="tile 2 could not be decoded"):
        write(source, work / "image.ome.zarr")
    assert [p.name for p in work.iterdir()] == ["other-job"]  # no debris, nothing else touched
    assert sf.sha256(source) == before
    # An existing, empty destination is used (and emptied again on failure); a non-empty one is refused.
    (work / "empty").mkdir()
    with pytest.raises(UnreadableFile):
        write(source, work / "empty")
    assert (work / "empty").is_dir() and not any((work / "empty").iterdir())
    good = tmp_path / "src" / "good.tif"
    sf.plain_tiff(good, "uint8")
    with pytest.raises(FileExistsError):
        write(good, work)
    assert sorted(p.name for p in work.iterdir()) == ["empty", "other-job"]


def test_memory_stays_bounded(tmp_path: Path) -> None:
    """An 8192² uint16 image (128 MiB of pixels, no pyramid) is written in far less memory."""
    source = tmp_path / "big.tif"
    tile = np.random.default_rng(0).integers(0, 4000, (512, 512), dtype=np.uint16)
    tifffile.imwrite(
        source,
        (tile for _ in range(16 * 16)),
        shape=(8192, 8192),
        dtype="uint16",
        tile=(512, 512),
        photometric="minisblack",
    )
    script = textwrap.dedent(f"""
        def peak_kib():  # VmHWM: unlike ru_maxrss, not inherited from the forking pytest process
            return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
        from scopehub.server_extension.pixels.readers import open_source
        from scopehub.server_extension.pixels.writer import write_pyramid
        before = peak_kib()
        with open_source({str(source)!r}) as source:
            info = write_pyramid(source.images[0], {str(tmp_path / "big.zarr")!r})
        assert len(info.levels) == 5, info
        print(peak_kib() - before)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert done.returncode == 0, done.stderr
    grown_mib = int(done.stdout.strip()) / 1024
    assert grown_mib < 64, f"writing grew the process by {grown_mib:.0f} MiB"
    stored = zarr.open_group(str(tmp_path / "big.zarr"), mode="r")
    np.testing.assert_array_equal(stored["0"][0, 0, 0, 4096:4608, 512:1024], tile)


def test_benchmark_file_generator(tmp_path: Path) -> None:
    """benchmarks/data.py makes the file the import benchmark uses; every one of its levels is reused."""
    from benchmarks.data import make_pyramidal_ome_tiff

    source = make_pyramidal_ome_tiff(tmp_path / "bench.ome.tif", size=1536, channels=2, size_x=1100)
    with open_source(source) as opened:
        (image,) = opened.images
        assert image.info.shape == (1, 2, 1, 1536, 1100)
        assert [c.name for c in image.info.channels] == ["DAPI", "GFP"]
        assert image.info.physical_size_x == 0.325
        pyramid = write_pyramid(image, tmp_path / "bench.zarr")
    assert pyramid.reused_levels == [0, 1, 2]
    assert [(lv.size_y, lv.size_x) for lv in pyramid.levels] == [(1536, 1100), (768, 550), (384, 275)]
