"""The ND2 reader (formats extra): a real Nikon confocal file from the pims_nd2 sdist, read against the
``nd2`` library itself and against Bio-Formats' ND2 reader, and bad files."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from scopehub.server_extension.pixels.readers import UnreadableFile, open_source

from . import format_samples as fs
from .sample_files import sha256

nd2 = fs.formats_module("nd2")


def test_real_confocal_time_lapse(cluster_nd2: Path) -> None:
    with open_source(cluster_nd2) as source:
        (image,) = source.images
        info = image.info
        assert source.format == "nd2" and info.format == "nd2" and info.name == "cluster.nd2"
        assert info.shape == (3, 2, 10, 31, 38) and info.pixel_type == "uint16" and not info.is_rgb
        assert info.physical_size_x == pytest.approx(0.16780898) and info.physical_size_y == info.physical_size_x
        assert info.physical_size_z == 0.5
        assert [(c.name, c.color, c.excitation_wavelength, c.emission_wavelength) for c in info.channels] == [
            ("5-FAM/pH 9.0", "78E90F", 488.0, 525.0),
            ("FM 4-64/2% CHAPS", "FE0100", 561.0, 700.0),
        ]
        assert info.acquisition_date is not None and info.acquisition_date.date() == dt.date(2014, 6, 18)
        assert info.instrument["objective"]["Model"] == "Plan Apo λ 60x"
        assert info.instrument["objective"]["LensNA"] == 0.95
        # Pixels: what nd2 reads itself (T Z C Y X), reordered to T C Z Y X.
        expected = np.moveaxis(nd2.imread(str(cluster_nd2)), 2, 1)
        level = image.levels[0]
        np.testing.assert_array_equal(level[...], expected)
        np.testing.assert_array_equal(level[2, 1, 7, 3:9, 4:30], expected[2, 1, 7, 3:9, 4:30])
        np.testing.assert_array_equal(level[1, :, 4], expected[1, :, 4])
        assert level.chunks == (1, 2, 1, 31, 38)  # a frame holds both channels


def test_bioformats_reads_the_same_pixels(cluster_nd2: Path, bioformats_ready: None) -> None:
    from scopehub.server_extension.pixels.readers.base import ReaderLimits
    from scopehub.server_extension.pixels.readers.bioformats import open_bioformats

    with open_source(cluster_nd2) as ours, open_bioformats(cluster_nd2, ReaderLimits()) as theirs:
        (mine,), (other,) = ours.images, theirs.images
        assert mine.info.shape == other.info.shape
        assert mine.info.physical_size_z == other.info.physical_size_z
        assert [c.name for c in mine.info.channels] == [c.name for c in other.info.channels]
        np.testing.assert_array_equal(mine.levels[0][...], other.levels[0][...])


def test_truncated_and_corrupt_nd2_are_unreadable_and_untouched(cluster_nd2: Path, tmp_path: Path) -> None:
    cases = {
        "half.nd2": 0.5,
        "almost.nd2": 0.99,
    }
    for name, keep in cases.items():
        path = tmp_path / name
        shutil.copyfile(cluster_nd2, path)
        fs.truncated(path, keep)
    (tmp_path / "garbage.nd2").write_bytes(b"\xda\xce\xbe\x0a" + bytes(range(256)) * 20)
    for name in [*cases, "garbage.nd2"]:
        path = tmp_path / name
        before = sha256(path)
        with pytest.raises(UnreadableFile, match="truncated or corrupt") as caught, open_source(path) as source:
            for image in source.images:
                image.levels[0][...]
        assert caught.value.status == 422 and name in str(caught.value)
        assert str(tmp_path) not in str(caught.value), "a server path leaked into the message"
        assert sha256(path) == before
