"""The Bio-Formats fallback (formats extra) and its JVM: Bio-Formats' fake format and a hand-written ICS
file read against Bio-Formats' own openBytes, the pyramid it offers, what happens when it cannot
run, and how the JVM behaves (never in an event loop's thread, Python keeps its signals)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scopehub.server_extension.pixels.readers import UnreadableFile, open_source

from . import format_samples as fs
from .sample_files import sha256

fs.formats_module("jpype")

ICS_HEADER = (
    "\t\n"
    "ics_version\t2.0\nfilename\tsample\nlayout\tparameters\t3\nlayout\torder\tbits\tx\ty\n"
    "layout\tsizes\t16\t64\t48\nlayout\tcoordinates\tvideo\nlayout\tsignificant_bits\t16\n"
    "representation\tformat\tinteger\nrepresentation\tsign\tunsigned\nrepresentation\tcompression\tuncompressed\n"
    "representation\tbyte_order\t1\t2\nparameter\tscale\t1.0\t0.5\t0.5\n"
    "parameter\tunits\tbits\tmicrometers\tmicrometers\nend\n"
)


def raw_plane(path: Path, series: int, z: int, c: int, t: int, dtype: str) -> np.ndarray:
    """A plane as Bio-Formats returns it to any Java caller, without scopehub's reader."""
    import jpype

    reader = jpype.JClass("loci.formats.ImageReader")()
    reader.setFlattenedResolutions(False)  # series are images, resolutions their levels
    try:
        reader.setId(str(path))
        reader.setSeries(series)
        data = bytes(reader.openBytes(reader.getIndex(z, c, t)))
        order = "<" if reader.isLittleEndian() else ">"
        return np.frombuffer(data, np.dtype(dtype).newbyteorder(order)).reshape(reader.getSizeY(), reader.getSizeX())
    finally:
        reader.close()


def run_python(script: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "error", **(env or {})},
    )


def test_fake_image_pixels_and_metadata(tmp_path: Path, bioformats_ready: None) -> None:
    path = fs.fake_file(
        tmp_path,
        "cells",
        sizeX=96,
        sizeY=64,
        sizeZ=3,
        sizeC=2,
        sizeT=2,
        pixelType="uint16",
        physicalSizeX=0.25,
        physicalSizeY=0.5,
        physicalSizeZ=2,
        color_0=-16776961,  # RGBA 0xFF0000FF
        color_1=16711935,  # RGBA 0x00FF00FF
        acquisitionDate="2021-02-03_04-05-06",
    )
    with open_source(path) as source:
        (image,) = source.images
        info = image.info
        assert source.format == "bioformats" and info.format == "bioformats"
        assert info.shape == (2, 2, 3, 64, 96) and info.pixel_type == "uint16" and not info.is_rgb
        assert (info.physical_size_x, info.physical_size_y, info.physical_size_z) == (0.25, 0.5, 2.0)
        assert [c.color for c in info.channels] == ["FF0000", "00FF00"]
        assert info.acquisition_date == dt.datetime(2021, 2, 3, 4, 5, 6)
        assert source.files == [os.path.realpath(path)]
        level = image.levels[0]
        for t, c, z in ((0, 0, 0), (1, 1, 2), (1, 0, 1)):
            np.testing.assert_array_equal(level[t, c, z], raw_plane(path, 0, z, c, t, "uint16"))
        # Past the corner where the fake reader encodes the plane's indices, each row counts x.
        np.testing.assert_array_equal(level[1, 1, 2, 40], np.arange(96))
        np.testing.assert_array_equal(level[1, 1, 2, 30:50, 20:70], raw_plane(path, 0, 2, 1, 1, "uint16")[30:50, 20:70])


def test_series_and_the_pyramid_bioformats_offers(tmp_path: Path, bioformats_ready: None) -> None:
    path = fs.fake_file(tmp_path, "slide", sizeX=2048, sizeY=1536, sizeC=2, pixelType="uint8", series=2, resolutions=3)
    with open_source(path) as source:
        assert len(source.images) == 2 and [i.info.series for i in source.images] == [0, 1]
        for k, image in enumerate(source.images):
            shapes = [level.shape for level in image.levels]
            assert shapes == [(1, 2, 1, 1536, 2048), (1, 2, 1, 768, 1024), (1, 2, 1, 384, 512)]
            assert [level.scale for level in image.info.levels] == [1.0, 2.0, 4.0]
            np.testing.assert_array_equal(image.levels[0][0, 1, 0], raw_plane(path, k, 0, 1, 0, "uint8"))
            assert image.levels[2][0, 0, 0].shape == (384, 512)


def test_rgb_and_a_real_format_written_by_hand(tmp_path: Path, bioformats_ready: None) -> None:
    rgb = fs.fake_file(tmp_path, "photo", sizeX=64, sizeY=48, sizeC=3, rgb=3, pixelType="uint8")
    with open_source(rgb) as source:
        (image,) = source.images
        assert image.info.is_rgb and image.info.shape == (1, 3, 1, 48, 64)
        assert [c.name for c in image.info.channels] == ["Red", "Green", "Blue"]
        assert image.levels[0].chunks[1] == 3  # the samples of a plane are read together
    # An ICS 2.0 file: one header and the raw pixels.
    ics = tmp_path / "sample.ics"
    data = np.arange(48 * 64, dtype=np.uint16).reshape(48, 64)
    ics.write_bytes(ICS_HEADER.encode() + data.tobytes())
    with open_source(ics) as source:
        (image,) = source.images
        assert image.info.shape == (1, 1, 1, 48, 64) and image.info.physical_size_x == 0.5
        np.testing.assert_array_equal(image.levels[0][0, 0, 0], data)


def test_corrupt_files_bioformats_cannot_read_are_unreadable(tmp_path: Path, bioformats_ready: None) -> None:
    cases = {
        "cut.ics": ICS_HEADER.encode()[:60],  # the header cut short: no sizes
        "noise.dv": bytes(range(256)) * 8,  # a name Bio-Formats claims, content it does not know
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        before = sha256(path)
        with pytest.raises(UnreadableFile) as caught, open_source(path) as source:
            for image in source.images:
                image.levels[0][...]
        message = str(caught.value)
        assert caught.value.status == 422 and name in message and str(tmp_path) not in message
        assert "truncated or corrupt" in message or "does not recognise it" in message, message
        assert sha256(path) == before


def test_names_bioformats_does_not_claim_never_start_the_jvm(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / "table.csv").write_text("1,2,3\n4,5,6\n")
    done = run_python(f"""
        import jpype
        from scopehub.server_extension.pixels.readers import UnreadableFile, open_source
        for name in ("notes.txt", "table.csv"):
            try:
                open_source({str(tmp_path)!r} + "/" + name)
            except UnreadableFile as e:
                assert "not an image format scopehub reads" in str(e), e
            else:
                raise SystemExit(name + " was read")
        print(jpype.isJVMStarted())
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_without_bioformats_the_error_says_what_to_install(tmp_path: Path) -> None:
    path = fs.fake_file(tmp_path, "x", sizeX=8, sizeY=8)
    done = run_python(
        f"""
        import jpype
        from scopehub.server_extension.pixels.readers import UnreadableFile, open_source
        try:
            open_source({str(path)!r})
        except UnreadableFile as e:
            print(e.status, e)
        print(jpype.isJVMStarted())
        """,
        env={"SCOPEHUB_BIOFORMATS_JAR": str(tmp_path / "missing.jar")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("422 ") and "Bio-Formats, which is not available here" in done.stdout
    assert "SCOPEHUB_BIOFORMATS_JAR names" in done.stdout and done.stdout.strip().endswith("False")


def test_the_jvm_never_starts_in_an_event_loop_thread() -> None:
    done = run_python("""
        import asyncio, jpype
        from scopehub.server_extension.pixels.readers import jvm
        async def main():
            try:
                jvm.start()
            except RuntimeError as e:
                print("refused:", e)
        asyncio.run(main())
        print(jpype.isJVMStarted())
    """)
    assert done.returncode == 0, done.stderr
    assert "refused: the JVM must not be started in an event loop's thread" in done.stdout
    assert done.stdout.strip().endswith("False")


def test_a_process_whose_jvm_started_in_another_thread_still_exits(tmp_path: Path) -> None:
    """The server starts the JVM in a pool thread (checking a named file); at exit, destroying the JVM
    would wait for that thread forever in Java's eyes."""
    path = fs.fake_file(tmp_path, "x", sizeX=64, sizeY=64, sizeC=2)
    done = run_python(
        f"""
        import threading
        from concurrent.futures import ThreadPoolExecutor
        from scopehub.server_extension.pixels.readers import open_source
        def check():
            with open_source({str(path)!r}) as source, ThreadPoolExecutor(2) as pool:
                print(sum(pool.map(lambda c: int(source.images[0].levels[0][0, c, 0].sum()), range(2))))
        thread = threading.Thread(target=check)
        thread.start()
        thread.join()
        """,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_python_keeps_its_signals_once_the_jvm_runs(tmp_path: Path) -> None:
    """An import worker installs its SIGTERM handler first and starts the JVM later, during a job: its
    handler must still run. A process that keeps SIGTERM's default must still just end: a JVM that took
    the signal over (no -Xrs) runs its shutdown under Python and crashes, leaving an hs_err file."""
    done = run_python("""
        import os, signal, sys, time
        from scopehub.server_extension.pixels.readers import jvm
        def stop(signum, frame):
            print("python handled", signum, "after a JVM start of", round(jvm.start_seconds, 2), "s", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, stop)
        jvm.start()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
    """)
    assert done.returncode == 7, (done.returncode, done.stdout, done.stderr)
    assert f"python handled {int(signal.SIGTERM)}" in done.stdout
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, time\nfrom scopehub.server_extension.pixels.readers import jvm\n"
            "jvm.start()\nos.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(10)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == -signal.SIGTERM, (done.returncode, done.stderr[-2000:])
    assert not list(tmp_path.glob("hs_err_pid*.log"))
