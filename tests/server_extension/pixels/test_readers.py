"""Readers of source formats: real files from the stardist wheel, generated files, and bad input."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from scopehub.server_extension.catalogue.errors import Unreadable
from scopehub.server_extension.pixels.readers import ReaderLimits, UnreadableFile, is_source_folder, open_source

from . import sample_files as sf


@pytest.fixture(scope="session")
def stardist(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stardist wheel's sample images (img2d, img3d, mask2d, histo.jpg), cached across runs."""
    cache = getattr(pytestconfig, "cache", None)  # None with -p no:cacheprovider
    folder = Path(cache.mkdir("scopehub-stardist")) if cache else tmp_path_factory.mktemp("stardist")
    return sf.fetch_stardist_images(folder)


def read_all(path: Path) -> list[np.ndarray]:
    """Level 0 of every image, read whole through the lazy arrays."""
    with open_source(path) as source:
        return [image.levels[0][...] for image in source.images]


# -- real files ----------------------------------------------------------------------------------------


def test_stardist_2d_tiff(stardist: Path) -> None:
    path = stardist / "img2d.tif"
    with open_source(path) as source:
        (image,) = source.images
        assert source.format == "tiff"
        assert image.info.shape == (1, 1, 1, 512, 512)
        assert image.info.pixel_type == "uint16"
        assert image.info.name == "img2d.tif"
        assert not image.info.is_rgb
        expected = tifffile.imread(path)
        np.testing.assert_array_equal(image.levels[0][0, 0, 0], expected)
        # A region reads only what is asked, with numpy's indexing rules.
        np.testing.assert_array_equal(image.levels[0][0, 0, 0, 100:130, 200:260], expected[100:130, 200:260])
        assert image.levels[0][0, :, 0, 5:7, -3:].shape == (1, 2, 3)


def test_stardist_3d_tiff_is_a_z_stack(stardist: Path) -> None:
    path = stardist / "img3d.tif"
    expected = tifffile.imread(path)
    with open_source(path) as source:
        (image,) = source.images
        assert image.info.shape == (1, 1, *expected.shape)
        np.testing.assert_array_equal(image.levels[0][0, 0], expected)
        np.testing.assert_array_equal(image.levels[0][0, 0, 17], expected[17])


def test_stardist_mask_keeps_label_values(stardist: Path) -> None:
    path = stardist / "mask2d.tif"
    (data,) = read_all(path)
    expected = tifffile.imread(path)
    np.testing.assert_array_equal(data[0, 0, 0], expected)
    assert len(np.unique(data)) > 10


def test_stardist_histology_jpeg_is_rgb(stardist: Path) -> None:
    path = stardist / "histo.jpg"
    with open_source(path) as source:
        (image,) = source.images
        assert source.format == "jpeg"
        assert image.info.is_rgb
        assert image.info.shape == (1, 3, 1, 300, 500)
        assert [c.color for c in image.info.channels] == ["FF0000", "00FF00", "0000FF"]
        expected = np.asarray(Image.open(path).convert("RGB"))
        np.testing.assert_array_equal(np.moveaxis(image.levels[0][0, :, 0], 0, -1), expected)


# -- generated TIFF family -----------------------------------------------------------------------------


def test_ome_tiff_multi_series_metadata(tmp_path: Path) -> None:
    path = tmp_path / "two.ome.tif"
    first, second = sf.ome_multiseries(path)
    with open_source(path) as source:
        assert source.format == "ome-tiff"
        a, b = source.images
        info = a.info
        assert (info.name, info.series, info.shape, info.pixel_type) == ("cells", 0, (1, 2, 3, 80, 96), "uint16")
        assert info.physical_size_x == pytest.approx(0.1)
        assert info.physical_size_y == pytest.approx(0.1)  # 100 nm
        assert info.physical_size_z == pytest.approx(0.5)
        assert info.acquisition_date == dt.datetime(2024, 3, 5, 10, 11, 12)
        assert info.description == "two channels, three planes"
        assert [(c.name, c.color) for c in info.channels] == [("DAPI", "0000FF"), ("GFP", "00FF00")]
        assert info.channels[0].emission_wavelength == 461 and info.channels[0].excitation_wavelength == 405
        assert info.channels[1].emission_wavelength == pytest.approx(509)  # 0.509 µm
        assert info.instrument["microscope"]["Model"] == "LSM 980"
        assert info.instrument["objective"]["NominalMagnification"] == "63"
        assert info.instrument["objective_settings"]["RefractiveIndex"] == "1.518"
        np.testing.assert_array_equal(a.levels[0][0], first)  # C, Z, Y, X
        np.testing.assert_array_equal(a.levels[0][0, 1, 2, 10:20, 30:40], first[1, 2, 10:20, 30:40])
        assert (b.info.name, b.info.series, b.info.shape, b.info.pixel_type) == (
            "overview",
            1,
            (1, 1, 1, 30, 40),
            "float32",
        )
        np.testing.assert_array_equal(b.levels[0][0, 0, 0], second)


def test_multi_file_ome_tiff(tmp_path: Path) -> None:
    first, second = sf.ome_multifile(tmp_path)
    with open_source(first) as source:
        (image,) = source.images
        assert image.info.shape == (1, 2, 1, 48, 64)
        assert [c.name for c in image.info.channels] == ["one", "two"]
        assert source.files == [str(first), str(second)]  # the importer keeps both as one fileset
        np.testing.assert_array_equal(image.levels[0][0, :, 0, 0, :2], [[11, 11], [22, 22]])


def test_ome_tiff_time_series(tmp_path: Path) -> None:
    path = tmp_path / "tl.ome.tif"
    data = sf.ome_timelapse(path)
    with open_source(path) as source:
        (image,) = source.images
        assert image.info.shape == data.shape
        assert image.info.pixel_type == "int16"
        assert image.info.physical_size_z == 2.0
        assert [c.name for c in image.info.channels] == ["a", "b"]
        np.testing.assert_array_equal(image.levels[0][...], data)
        np.testing.assert_array_equal(image.levels[0][2, 1, 3], data[2, 1, 3])


def test_imagej_hyperstack(tmp_path: Path) -> None:
    path = tmp_path / "ij.tif"
    data = sf.imagej_hyperstack(path)  # T Z C Y X
    with open_source(path) as source:
        (image,) = source.images
        assert source.format == "imagej-tiff"
        assert image.info.shape == (2, 2, 3, 32, 48)
        assert image.info.physical_size_x == pytest.approx(0.2)
        assert image.info.physical_size_z == pytest.approx(1.5)
        np.testing.assert_array_equal(image.levels[0][...], np.swapaxes(data, 1, 2))


def test_subifd_pyramid_levels(tmp_path: Path) -> None:
    path = tmp_path / "pyr.ome.tif"
    levels = sf.subifd_pyramid(path)
    with open_source(path) as source:
        (image,) = source.images
        assert [lv.shape for lv in image.levels] == [(1, 2, 1, *lv.shape[1:]) for lv in levels]
        assert [(lv.size_x, lv.size_y, lv.scale) for lv in image.info.levels] == [
            (1100, 1300, 1.0),
            (550, 650, 2.0),
            (275, 325, 4.0),
        ]
        assert image.info.physical_size_x == 0.5
        for ours, expected in zip(image.levels, levels, strict=True):
            np.testing.assert_array_equal(ours[0, :, 0], expected)
        # A region across tile borders.
        np.testing.assert_array_equal(image.levels[0][0, 1, 0, 250:770, 100:300], levels[0][1, 250:770, 100:300])


def test_series_pyramid_of_reduced_pages(tmp_path: Path) -> None:
    path = tmp_path / "spyr.tif"
    levels = sf.series_pyramid(path)
    with open_source(path) as source:
        (image,) = source.images
        assert len(image.levels) == 3
        for ours, expected in zip(image.levels, levels, strict=True):
            np.testing.assert_array_equal(ours[0, 0, 0], expected)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"])
def test_pixel_types_round_trip(tmp_path: Path, dtype: str) -> None:
    path = tmp_path / f"{dtype}.tif"
    data = sf.plain_tiff(path, dtype, (3, 70, 90))
    with open_source(path) as source:
        (image,) = source.images
        assert image.info.pixel_type == dtype
        assert image.info.shape == (1, 1, 3, 70, 90)  # pages of a plain TIFF are planes
        np.testing.assert_array_equal(image.levels[0][0, 0], data)


def test_bigtiff_and_big_endian(tmp_path: Path) -> None:
    big = tmp_path / "big.tif"
    data = sf.plain_tiff(big, "uint16", (130, 150), bigtiff=True, tile=(64, 64), compression="zlib")
    (read,) = read_all(big)
    np.testing.assert_array_equal(read[0, 0, 0], data)
    motorola = tmp_path / "be.tif"
    data = sf.plain_tiff(motorola, "float32", (50, 60), byteorder=">")
    (read,) = read_all(motorola)
    assert read.dtype == np.dtype("float32") and read.dtype.isnative
    np.testing.assert_array_equal(read[0, 0, 0], data)


@pytest.mark.parametrize("planar", [True, False], ids=["planar-tiles", "contiguous-strips"])
def test_rgb_tiff(tmp_path: Path, planar: bool) -> None:
    path = tmp_path / "rgb.tif"
    data = sf.rgb_tiff(path, planar)
    with open_source(path) as source:
        (image,) = source.images
        assert image.info.is_rgb and image.info.shape == (1, 3, 1, 300, 260)
        np.testing.assert_array_equal(np.moveaxis(image.levels[0][0, :, 0], 0, -1), data)
        np.testing.assert_array_equal(image.levels[0][0, 2, 0, 100:200, 7:9], data[100:200, 7:9, 2])


@pytest.mark.parametrize("layout", ["tiles-zlib", "tiles-raw", "strips-raw", "planar-rgb-tiles", "contig-rgb-strips"])
def test_regions_inside_one_segment_and_across(tmp_path: Path, layout: str) -> None:
    """A region inside one tile or strip is the decoded segment itself (the writer's usual read); it
    must equal the same region read across segments, at the edges too, and be a writable array."""
    path = tmp_path / f"{layout}.tif"
    if layout.endswith("rgb-tiles") or layout.endswith("rgb-strips"):
        whole = np.moveaxis(sf.rgb_tiff(path, planar=layout.startswith("planar")), -1, 0)  # (c, y, x)
    else:
        tiles = {"tile": (64, 64)} if layout.startswith("tiles") else {"rowsperstrip": 24}
        compression = "zlib" if layout.endswith("zlib") else None
        whole = sf.plain_tiff(path, "uint16", (150, 170), compression=compression, **tiles)[None]
    with open_source(path) as source:
        level = source.images[0].levels[0]
        by, bx = level.chunks[3], level.chunks[4]
        h, w = level.shape[3], level.shape[4]
        regions = [(0, by, 0, bx), (by, 2 * by, bx, 2 * bx), (3, by - 5, 7, bx - 1), (0, h, 0, w), (5, h - 3, 2, w - 9),
                   ((h - 1) // by * by, h, (w - 1) // bx * bx, w)]  # the last segment, short at the edge
        for c in range(level.shape[1]):
            for y0, y1, x0, x1 in regions:
                got = level[0, c, 0, y0:y1, x0:x1]
                np.testing.assert_array_equal(got, whole[c, y0:y1, x0:x1], err_msg=f"c={c} y={y0}:{y1} x={x0}:{x1}")
                got[...] = 0  # the caller's own array


def test_svs_slide(tmp_path: Path) -> None:
    path = tmp_path / "slide.svs"
    data = sf.svs_like(path)
    with open_source(path) as source:
        assert source.format == "svs"
        (image,) = source.images  # the label photograph is not an image of the sample
        info = image.info
        assert info.is_rgb and info.shape == (1, 3, 1, 1536, 1280)
        assert info.physical_size_x == pytest.approx(0.499)
        assert info.acquisition_date == dt.datetime(2009, 12, 29, 9, 59, 15)
        assert info.instrument["AppMag"] == 20
        assert [lv.shape[3:] for lv in image.levels] == [(1536, 1280), (384, 320)]
        tile = np.moveaxis(image.levels[0][0, :, 0, 256:512, 512:768], 0, -1)
        np.testing.assert_array_equal(tile, tifffile.imread(path)[256:512, 512:768])
        assert np.abs(tile.astype(int) - data[256:512, 512:768]).mean() < 3  # JPEG


def test_ndpi_slide(tmp_path: Path) -> None:
    path = tmp_path / "slide_ndpi.tif"
    data = sf.ndpi_like(path)
    with open_source(path) as source:
        assert source.format == "ndpi"
        (image,) = source.images  # not the macro photograph
        assert image.info.is_rgb and image.info.shape == (1, 3, 1, 1024, 768)
        assert image.info.physical_size_x == pytest.approx(0.25)  # 40000 pixels per cm
        assert image.info.instrument["magnification"] == 20
        assert [lv.shape[3:] for lv in image.levels] == [(1024, 768), (512, 384)]
        level = np.moveaxis(image.levels[0][0, :, 0], 0, -1)
        np.testing.assert_array_equal(level, tifffile.imread(path))  # the same JPEG decoding as tifffile's
        assert np.abs(level.astype(int) - data).mean() < 3


# -- Pillow ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "ext", "channels", "dtype"),
    [
        ("RGB", "png", 3, "uint8"),
        ("RGB", "jpg", 3, "uint8"),
        ("RGB", "bmp", 3, "uint8"),
        ("L", "png", 1, "uint8"),
        ("L", "jpg", 1, "uint8"),
        ("I;16", "png", 1, "uint16"),
        ("RGBA", "png", 3, "uint8"),
        ("P", "png", 3, "uint8"),
    ],
)
def test_pillow_formats(tmp_path: Path, mode: str, ext: str, channels: int, dtype: str) -> None:
    path = tmp_path / f"image.{ext}"
    data = sf.pillow_image(path, mode)
    with open_source(path) as source:
        (image,) = source.images
        assert image.info.shape == (1, channels, 1, 90, 120)
        assert image.info.pixel_type == dtype
        assert image.info.is_rgb == (channels == 3)
        read = image.levels[0][0, :, 0]
        got = np.moveaxis(read, 0, -1) if channels == 3 else read[0]
        if ext == "jpg":
            assert np.abs(got.astype(int) - data).mean() < 4
        elif mode == "P":
            assert np.abs(got.astype(int) - data).mean() < 40  # 16 colours
        else:
            np.testing.assert_array_equal(got, data)


# -- OME-Zarr -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_with_labels(tmp_path: Path, version: str) -> None:
    path = tmp_path / "image.ome.zarr"
    data, labels = sf.ome_zarr(path, version)
    assert is_source_folder(path) and not is_source_folder(tmp_path)
    with open_source(path) as source:
        assert source.format == f"ome-zarr-{version}"
        (image,) = source.images
        info = image.info
        assert (info.name, info.shape, info.pixel_type) == ("zarr image", (1, 2, 3, 700, 600), "uint16")
        assert (info.physical_size_x, info.physical_size_y, info.physical_size_z) == (0.25, 0.25, 2.0)
        assert [(c.name, c.color) for c in info.channels] == [("nuclei", "0000FF"), ("membranes", "FF0000")]
        assert (info.channels[0].window_start, info.channels[0].window_end) == (100, 4000)
        assert info.channels[1].window_start is None  # an empty window is no window
        assert [lv.shape for lv in image.levels] == [(1, 2, 3, 700, 600), (1, 2, 3, 350, 300)]
        np.testing.assert_array_equal(image.levels[0][0], data)
        np.testing.assert_array_equal(image.levels[1][0, 1, 2, 10:20], data[1, 2, ::2, ::2][10:20])
        label = image.labels["cells"]
        assert label.info.is_label and label.info.shape == (1, 1, 3, 700, 600)
        assert label.info.pixel_type == "uint32"
        assert label.label_metadata["colors"][0]["label-value"] == 7
        np.testing.assert_array_equal(label.levels[0][0, 0], labels)


def test_folder_that_is_no_ome_zarr(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnreadableFile, match="not an OME-Zarr image"):
        open_source(tmp_path)


# -- bad input ------------------------------------------------------------------------------------------


BAD_FILES: dict[str, tuple[Callable[[Path], object], str]] = {
    "truncated.tif": (sf.truncated_tiff, "truncated"),
    "huge.tif": (sf.huge_header_tiff, r"1000000 × 1000000 pixels per plane"),
    "bomb.tif": (sf.zlib_bomb_tiff, "could not be decoded"),
    "corrupt.tif": (sf.corrupt_tile_tiff, "tile 2 could not be decoded"),
    "bomb.png": (sf.png_bomb, "more pixels than allowed"),
    "truncated.png": (sf.truncated_png, "truncated or corrupt"),
    "random.bin": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), "not an image format"),
    "notes.txt": (lambda p: p.write_text("not an image at all\n"), "Supported: TIFF"),
    "empty.tif": (lambda p: p.write_bytes(b""), "empty"),
    "header-only.tif": (lambda p: p.write_bytes(b"II*\x00\x08\x00\x00\x00"), "has 8 bytes, but IFD 0 needs bytes 8–10"),
    "no-ifd.tif": (lambda p: p.write_bytes(b"II*\x00\x00\x00\x00\x00"), "holds no image"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_input_is_unreadable_and_untouched(tmp_path: Path, name: str) -> None:
    make, message = BAD_FILES[name]
    path = tmp_path / name
    make(path)
    before = sf.sha256(path)
    with pytest.raises(UnreadableFile, match=message) as caught, open_source(path) as source:
        for image in source.images:
            for level in image.levels:
                level[...]
    assert isinstance(caught.value, Unreadable) and caught.value.status == 422
    assert name.split(".")[0] in str(caught.value) or path.name in str(caught.value)
    assert sf.sha256(path) == before


# Where a file is cut, as (layout, place) -> what the refusal names. "ome" is tifffile's own layout (the
# first IFD, all pixel data, the other IFDs, then the OME-XML); "ifds-first" has each plane's IFD before its
# tiles and ends in the last plane's last tile; "pyramid" is a SubIFD pyramid ending in its last level's last tile.
TRUNCATIONS = {
    ("ome", "header"): r"it has 6 bytes, but the header needs bytes 0–8",
    ("ome", "ifd-chain"): r"tag 270 \(ImageDescription, where an OME-TIFF keeps its OME-XML\) in IFD 0",
    ("ome", "pixel-data"): r"tag 270 \(ImageDescription",
    ("ome", "last-tile"): r"tag 270 \(ImageDescription",
    ("ifds-first", "ifd-chain"): r"but IFD 11 \(14 entries\) needs bytes",
    ("ifds-first", "pixel-data"): r"but tile \d of 4 of IFD 5 needs bytes",
    ("ifds-first", "last-tile"): r"but tile 4 of 4 of IFD 11 needs bytes",
    ("pyramid", "header"): r"the header needs bytes 0–16",
    ("pyramid", "ifd-chain"): r"but IFD 1 needs bytes",
    ("pyramid", "pixel-data"): r"but tile \d of \d of SubIFD 0 of IFD 0 needs bytes",
    ("pyramid", "last-tile"): r"but tile 2 of 2 of SubIFD 0 of IFD 1 needs bytes",
}
LAYOUTS: dict[str, Callable[[Path], object]] = {
    "ome": sf.ome_stack,
    "ifds-first": lambda p: sf.ome_stack(p, ifds_first=True),
    "pyramid": sf.pyramid_data_last,
}


def cut_point(path: Path, place: str) -> int:
    """Where to cut ``path``: inside the header, inside its last IFD, half-way into the data, inside its last tile."""
    offset, count = sf.last_tile(path)
    return {"header": 6, "ifd-chain": sf.ifd_offsets(path)[-1] + 5, "pixel-data": offset // 2,
            "last-tile": offset + count // 2}[place]


@pytest.mark.parametrize(("layout", "place"), list(TRUNCATIONS), ids=["-".join(k) for k in TRUNCATIONS])
def test_truncated_tiff_is_refused_at_open(tmp_path: Path, layout: str, place: str) -> None:
    """tifffile reads most of these as a smaller image (one plane of twelve) without an error; the reader refuses
    them all when it opens them, naming the file and what is missing."""
    whole = tmp_path / "whole.ome.tif"
    LAYOUTS[layout](whole)
    with open_source(whole) as source:  # the whole file reads
        assert source.images[0].info.size_c in (2, 4)
    path = sf.cut(whole, cut_point(whole, place), tmp_path / "cut.ome.tif")
    before = sf.sha256(path)
    with pytest.raises(UnreadableFile, match=TRUNCATIONS[layout, place]) as caught:
        open_source(path)
    message = str(caught.value)
    assert message.startswith("cut.ome.tif: the file is truncated or corrupt: it has ") and "Copy it again" in message
    assert sf.sha256(path) == before


def test_ome_tiff_holding_fewer_planes_than_its_ome_xml_declares(tmp_path: Path) -> None:
    """Every IFD whole, but 5 of the 12 declared: tifffile would read the other 7 planes as zeros."""
    path = tmp_path / "few.ome.tif"
    sf.ome_fewer_planes(path, 5)
    with tifffile.TiffFile(path) as tif:
        assert tif.series[0].shape == (4, 3, 100, 120) and sum(p is None for p in tif.series[0].pages) == 7
    with pytest.raises(UnreadableFile, match=r"^few.ome.tif: the OME-XML declares 12 planes \(4 channels × 3 z × 1 t\) "
                       r"but 7 of them are not in the file: the file holds 5 IFDs; it is truncated"):
        open_source(path)


def test_multi_file_ome_tiff_with_a_missing_or_truncated_companion(tmp_path: Path) -> None:
    first, second = sf.ome_multifile(tmp_path)
    whole = second.read_bytes()
    sf.cut(second, len(whole) - 100)
    with pytest.raises(UnreadableFile, match=r"^split_b.ome.tif: the file is truncated or corrupt: .* strip 1 of 1"):
        open_source(first)
    second.unlink()
    with pytest.raises(UnreadableFile, match=r"^split_a.ome.tif: the OME-XML declares 2 planes .* 1 of them is not in "
                       r"the file: split_b.ome.tif, which should be beside it, is missing"):
        open_source(first)


def test_imagej_hyperstack_stored_as_one_ifd(tmp_path: Path) -> None:
    """ImageJ keeps a hyperstack over 4 GB as one IFD and all planes' data after it: read whole, refused when cut."""
    path = tmp_path / "big.tif"
    data = sf.imagej_contiguous(path)  # Z, C, Y, X
    with open_source(path) as source:
        (image,) = source.images
        assert image.info.shape == (1, 4, 3, 80, 90)
        np.testing.assert_array_equal(image.levels[0][0], data.transpose(1, 0, 2, 3))
    cut = tmp_path / "cut.tif"
    sf.imagej_contiguous(cut, planes=5)
    with tifffile.TiffFile(cut) as tif:
        assert tif.series[0].shape == (80, 90)  # tifffile: one plane, without an error
    with pytest.raises(UnreadableFile, match=r"^cut.tif: the ImageJ metadata declares 12 images "
                       r"\(4 channels × 3 slices\) but only 1 can be read"):
        open_source(cut)


def test_ndpi_layout_is_walked_as_tifffile_reads_it(tmp_path: Path) -> None:
    """NDPI: classic TIFF with 64-bit IFD offsets and a block of high bits after each IFD."""
    path = tmp_path / "slide.ndpi"
    data = sf.ndpi_layout(path)
    np.testing.assert_array_equal(tifffile.imread(path), data)
    (read,) = read_all(path)
    np.testing.assert_array_equal(read[0, 0, 0], data)
    sf.cut(path, path.stat().st_size - 3)
    with pytest.raises(UnreadableFile, match="but strip 1 of 1 of IFD 0 needs bytes"):
        open_source(path)


def test_limits_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "small.tif"
    sf.plain_tiff(path, "uint16", (2, 100, 100))
    with pytest.raises(UnreadableFile, match="limit"):
        open_source(path, limits=ReaderLimits(max_bytes=10_000))
    with pytest.raises(UnreadableFile, match="limit"):
        open_source(path, limits=ReaderLimits(max_plane_pixels=5_000))
    png = tmp_path / "small.png"
    sf.pillow_image(png, "RGB", (200, 100))
    with pytest.raises(UnreadableFile, match="too large"):
        open_source(png, limits=ReaderLimits(max_decoded_bytes=1000))


def test_decompression_bomb_stays_in_its_buffer(tmp_path: Path) -> None:
    """Reading a tile that inflates to 128 MiB must not allocate it: measured in a fresh process."""
    path = tmp_path / "bomb.tif"
    sf.zlib_bomb_tiff(path)
    script = textwrap.dedent(f"""
        def peak_kib():  # VmHWM: unlike ru_maxrss, not inherited from the forking pytest process
            return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
        from scopehub.server_extension.pixels.readers import open_source, UnreadableFile
        before = peak_kib()
        try:
            with open_source({str(path)!r}) as source:
                source.images[0].levels[0][...]
        except UnreadableFile:
            pass
        else:
            raise SystemExit("no error")
        print(peak_kib() - before)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert done.returncode == 0, done.stderr
    grown_kib = int(done.stdout.strip())
    assert grown_kib < 40 * 1024, f"reading the bomb grew the process by {grown_kib} KiB"


def test_sources_are_never_modified(tmp_path: Path) -> None:
    files = {
        "a.ome.tif": lambda p: sf.subifd_pyramid(p, (600, 500)),
        "b.svs": sf.svs_like,
        "c.png": lambda p: sf.pillow_image(p, "RGB"),
        "d.ome.zarr": lambda p: sf.ome_zarr(p, "0.5"),
        "e.zarr": lambda p: sf.ome_zarr(p, "0.4"),
    }
    for name, make in files.items():
        path = tmp_path / name
        make(path)
        before = sf.sha256(path)
        mtime = path.stat().st_mtime_ns
        with open_source(path) as source:
            for image in source.images:
                for level in image.levels:
                    level[0, :, 0, :100, :100]
        assert sf.sha256(path) == before, name
        assert path.stat().st_mtime_ns == mtime, name
