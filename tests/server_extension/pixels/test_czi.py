"""The CZI reader (formats extra): files written by pylibCZIrw, read back against pylibCZIrw itself and
against Bio-Formats' ZeissCZIReader, region by region, and bad files."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scopehub.server_extension.pixels.readers import UnreadableFile, open_source

from . import format_samples as fs
from .sample_files import sha256

pyczi = fs.formats_module("pylibCZIrw.czi")


def direct(path: Path, scene: int | None, t: int, c: int, z: int) -> np.ndarray:
    """A plane as pylibCZIrw reads it, without scopehub."""
    with pyczi.open_czi(str(path)) as czi:
        return czi.read(plane={"T": t, "C": c, "Z": z}, scene=scene)[..., 0]


def test_multi_scene_z_stack_time_series(tmp_path: Path) -> None:
    path = tmp_path / "plate.czi"
    data = fs.czi_file(path, shape=(2, 3, 4, 150, 200), scenes=((0, 0), (600, 40)))
    with open_source(path) as source:
        assert source.format == "czi" and len(source.images) == 2
        for k, image in enumerate(source.images):
            info = image.info
            assert info.shape == (2, 3, 4, 150, 200) and info.pixel_type == "uint16" and info.series == k
            assert info.name == f"well B{k + 2}" and info.format == "czi" and not info.is_rgb
            assert (info.physical_size_x, info.physical_size_y, info.physical_size_z) == (0.325, 0.325, 1.5)
            assert info.acquisition_date == dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
            assert [(c.name, c.color, c.excitation_wavelength, c.emission_wavelength) for c in info.channels] == [
                ("DAPI", "0000FF", 353.0, 465.0),
                ("AF488", "00FF00", 493.0, 517.0),
                ("AF647", "FF00FF", 653.0, 668.0),
            ]
            assert info.instrument["objectives"][0]["LensNA"] == "0.8"
            assert info.instrument["microscope"] == {"Model": "Axio Observer.Z1 / 7"}
            level = image.levels[0]
            assert len(image.levels) == 1 and level.shape == info.shape
            # Every plane as pylibCZIrw reads it, and as written.
            for t, c, z in ((0, 0, 0), (1, 2, 3), (0, 1, 2)):
                np.testing.assert_array_equal(level[t, c, z], direct(path, k, t, c, z))
            np.testing.assert_array_equal(level[...], data[k])
            # A region, in the scene's own coordinates.
            np.testing.assert_array_equal(level[1, 1, 2, 30:90, 150:200], data[k][1, 1, 2, 30:90, 150:200])


def test_rgb_czi_is_three_channels(tmp_path: Path) -> None:
    path = tmp_path / "brightfield.czi"
    rgb = fs.czi_rgb(path)
    with open_source(path) as source:
        (image,) = source.images
        assert image.info.is_rgb and image.info.shape == (1, 3, 1, 120, 160) and image.info.pixel_type == "uint8"
        assert [(c.name, c.color) for c in image.info.channels] == [
            ("Red", "FF0000"),
            ("Green", "00FF00"),
            ("Blue", "0000FF"),
        ]
        np.testing.assert_array_equal(np.moveaxis(image.levels[0][0, :, 0], 0, -1), rgb)
        np.testing.assert_array_equal(image.levels[0][0, 2, 0, 10:20, 30:50], rgb[10:20, 30:50, 2])


def test_bioformats_reads_the_same_pixels_and_metadata(tmp_path: Path, bioformats_ready: None) -> None:
    """Zeiss's libCZI and Bio-Formats' own CZI reader agree on what the generated files hold."""
    from scopehub.server_extension.pixels.readers.base import ReaderLimits
    from scopehub.server_extension.pixels.readers.bioformats import open_bioformats

    path = tmp_path / "plate.czi"
    fs.czi_file(path, shape=(1, 2, 3, 64, 96), scenes=((0, 0), (300, 0)))
    with open_source(path) as ours, open_bioformats(path, ReaderLimits()) as theirs:
        assert len(ours.images) == len(theirs.images) == 2
        for mine, other in zip(ours.images, theirs.images, strict=True):
            a, b = mine.info, other.info
            assert a.shape == b.shape and a.pixel_type == b.pixel_type
            assert (a.physical_size_x, a.physical_size_z) == (b.physical_size_x, b.physical_size_z)
            assert [c.name for c in a.channels] == [c.name for c in b.channels]
            assert [(c.excitation_wavelength, c.emission_wavelength) for c in a.channels] == [
                (c.excitation_wavelength, c.emission_wavelength) for c in b.channels
            ]
            assert a.acquisition_date.replace(tzinfo=None, microsecond=0) == b.acquisition_date.replace(microsecond=0)
            np.testing.assert_array_equal(mine.levels[0][...], other.levels[0][...])


def test_a_large_czi_is_read_region_by_region(tmp_path: Path) -> None:
    """One 512² region of a 2 × 4096² CZI (64 MiB of pixels) costs a sub-block, not the image."""
    path = tmp_path / "large.czi"
    fs.czi_file(path, shape=(1, 2, 1, 4096, 4096), compression="zstd1:ExplicitLevel=1")
    script = textwrap.dedent(f"""
        def peak_kib():
            return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
        import numpy as np
        from scopehub.server_extension.pixels.readers import open_source
        before = peak_kib()
        with open_source({str(path)!r}) as source:
            level = source.images[0].levels[0]
            region = level[0, 1, 0, 2048:2560, 1024:1536]
            assert region.shape == (512, 512) and region.any()
            print(level.chunks[3], peak_kib() - before)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env={**os.environ}
    )
    assert done.returncode == 0, done.stderr
    block, grown_kib = (int(v) for v in done.stdout.split())
    assert block < 4096, "the declared chunk should be the file's sub-block, not the whole plane"
    assert grown_kib < 32 * 1024, f"reading one region grew the process by {grown_kib} KiB"


def test_truncated_and_corrupt_czi_are_unreadable_and_untouched(tmp_path: Path) -> None:
    good = tmp_path / "good.czi"
    fs.czi_file(good, shape=(1, 2, 2, 200, 300))
    cases = {
        "truncated.czi": lambda p: (p.write_bytes(good.read_bytes()), fs.truncated(p, 0.5)),
        "header-only.czi": lambda p: (p.write_bytes(good.read_bytes()), fs.truncated(p, 0.001)),
        "garbage.czi": lambda p: p.write_bytes(b"ZISRAWFILE" + bytes(range(256)) * 40),
    }
    for name, make in cases.items():
        path = tmp_path / name
        make(path)
        before = sha256(path)
        with pytest.raises(UnreadableFile, match="truncated or corrupt") as caught, open_source(path) as source:
            for image in source.images:
                image.levels[0][...]
        assert caught.value.status == 422 and name in str(caught.value)
        assert sha256(path) == before


def test_a_czi_without_the_extra_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plate.czi"
    fs.czi_file(path, shape=(1, 1, 1, 32, 32))
    monkeypatch.setitem(sys.modules, "pylibCZIrw", None)  # as if it were not installed
    with pytest.raises(UnreadableFile, match=r"a Zeiss CZI file; .*pip install 'scopehub\[formats\]'"):
        open_source(path)
