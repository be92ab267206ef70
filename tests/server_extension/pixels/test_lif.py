"""The LIF reader (formats extra). No LIF file ships in any package on PyPI, so these are written here
(``format_samples.lif_file``) and read with two independent readers: liffile and Bio-Formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from scopehub.server_extension.pixels.readers import UnreadableFile, open_source

from . import format_samples as fs
from .sample_files import sha256

liffile = fs.formats_module("liffile")


def test_a_project_of_two_images(tmp_path: Path) -> None:
    path = tmp_path / "project.lif"
    stack, plane = fs.lif_project(path)
    with open_source(path) as source:
        assert source.format == "lif" and [i.info.name for i in source.images] == ["stack", "overview"]
        first, second = source.images
        info = first.info
        assert info.shape == (2, 2, 3, 40, 52) and info.pixel_type == "uint16" and info.format == "lif"
        assert (info.physical_size_x, info.physical_size_y, info.physical_size_z) == (0.2, 0.2, 0.5)
        assert info.acquisition_date == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
        assert [(c.name, c.color) for c in info.channels] == [("DAPI", "0000FF"), ("GFP", "00FF00")]
        assert second.info.shape == (1, 1, 1, 30, 24) and second.info.pixel_type == "uint8"
        assert second.info.physical_size_z is None and second.info.series == 1
        # Pixels as liffile reads them itself, and as written.
        with liffile.LifFile(path) as lif:
            direct = lif.images[0].asarray()  # T Z C Y X
        np.testing.assert_array_equal(first.levels[0][...], np.moveaxis(direct, 2, 1))
        np.testing.assert_array_equal(first.levels[0][...], stack)
        np.testing.assert_array_equal(first.levels[0][1, 1, 2, 10:20, 8:40], stack[1, 1, 2, 10:20, 8:40])
        np.testing.assert_array_equal(second.levels[0][...], plane)


def test_bioformats_reads_the_same_file_the_same_way(tmp_path: Path, bioformats_ready: None) -> None:
    """The generated file is a LIF file as Bio-Formats' LIFReader understands it, too."""
    from scopehub.server_extension.pixels.readers.base import ReaderLimits
    from scopehub.server_extension.pixels.readers.bioformats import open_bioformats

    path = tmp_path / "project.lif"
    fs.lif_project(path)
    with open_source(path) as ours, open_bioformats(path, ReaderLimits()) as theirs:
        assert [i.info.name for i in theirs.images] == ["stack", "overview"]
        for mine, other in zip(ours.images, theirs.images, strict=True):
            a, b = mine.info, other.info
            assert a.shape == b.shape and a.pixel_type == b.pixel_type
            for axis in "xyz":
                size = getattr(b, f"physical_size_{axis}")
                assert getattr(a, f"physical_size_{axis}") == (None if size is None else pytest.approx(size))
            assert [c.color for c in a.channels] == [c.color for c in b.channels]
            assert a.acquisition_date.replace(tzinfo=None) == b.acquisition_date
            np.testing.assert_array_equal(mine.levels[0][...], other.levels[0][...])


def test_truncated_and_corrupt_lif_are_unreadable_and_untouched(tmp_path: Path) -> None:
    good = tmp_path / "good.lif"
    fs.lif_project(good)
    for name, keep in (("half.lif", 0.5), ("almost.lif", 0.98), ("header.lif", 0.01)):
        path = tmp_path / name
        path.write_bytes(good.read_bytes())
        fs.truncated(path, keep)
    (tmp_path / "garbage.lif").write_bytes(b"\x70\x00\x00\x00\x10\x00\x00\x00\x2a" + bytes(range(256)) * 4)
    for name in ("half.lif", "almost.lif", "header.lif", "garbage.lif"):
        path = tmp_path / name
        before = sha256(path)
        with pytest.raises(UnreadableFile, match="truncated or corrupt|truncated") as caught, open_source(path) as src:
            for image in src.images:
                image.levels[0][...]
        assert caught.value.status == 422 and name in str(caught.value)
        assert sha256(path) == before
