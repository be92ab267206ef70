"""``scopehub demo-data``: the generated slide, the wheel samples' extraction, and a real import, once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
import tifffile
from PIL import Image

from scopehub.server_extension.samples import (
    NUCLEI,
    SAMPLES,
    SAMPLES_VERSION,
    STARDIST,
    Sample,
    fetch_wheel_samples,
    make_demo_slide,
    marker_is_current,
)


def test_generated_slide_is_a_pyramid_of_cells(tmp_path: Path):
    path = make_demo_slide(tmp_path / "slide.ome.tif", 1536)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        series = tif.series[0]
        assert series.shape == (4, 1536, 1536) and series.dtype == np.uint16
        assert [level.shape for level in series.levels] == [(4, 1536, 1536), (4, 768, 768), (4, 384, 384)]
        ome = tif.ome_metadata
        full, half = series.levels[0].asarray(), series.levels[1].asarray()
    for name in ("DAPI", "GFP", "mCherry", "Cy5"):
        assert f'Name="{name}"' in ome
    assert 'PhysicalSizeX="0.325"' in ome
    # Level 1 is level 0's 2×2 means: every level shows the same tissue.
    means = full.reshape(4, 768, 2, 768, 2).astype(np.float64).mean(axis=(2, 4))
    assert np.abs(means - half).max() <= 1
    # Cells, not noise: bright nuclei on a dim background, and the channels differ in where they are bright.
    dapi = full[0].astype(np.float64)
    background, nuclei = np.percentile(dapi, 5), np.percentile(dapi, 95)
    assert nuclei > 5 * background
    assert abs(np.corrcoef(full[0].ravel(), full[1].ravel())[0, 1]) < 0.9
    # Seamless: the rows either side of a tile boundary are no more different than neighbouring rows inside a tile.
    step = np.abs(dapi[512] - dapi[511]).mean()
    inside = np.abs(dapi[300] - dapi[299]).mean()
    assert step < 3 * inside
    # Deterministic: the same file twice.
    again = make_demo_slide(tmp_path / "again.ome.tif", 1536)
    assert np.array_equal(tifffile.imread(again), full)


def test_wheel_samples_from_a_cached_wheel_and_without_an_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wanted = [s for s in SAMPLES if s.wheel == STARDIST]
    with zipfile.ZipFile(wheels / "stardist-0.9.1-py3-none-any.whl", "w") as z:
        for s in wanted[:-1]:  # the last one is missing from this wheel
            z.writestr(s.member, s.member.encode())
    messages: list[str] = []
    found = fetch_wheel_samples(tmp_path, wanted, log=messages.append)
    assert sorted(found) == sorted(s.file for s in wanted[:-1])
    assert found[wanted[0].file].read_bytes() == wanted[0].member.encode()
    assert any(f"no {wanted[-1].member}" in m for m in messages)
    # No package index: the samples are skipped with a message, nothing raises.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no find-links from a pip.conf either
    messages.clear()
    other = [Sample("x.png", "D", "", "mahotas==1.4.19", "mahotas/demos/data/nuclear.png")]
    assert fetch_wheel_samples(tmp_path / "elsewhere", other, log=messages.append) == {}
    assert any("could not download mahotas==1.4.19" in m for m in messages)


@pytest.fixture
def database(external_database_url: str) -> Iterator[str]:
    """A new, empty database in the throwaway PostgreSQL cluster."""
    name = f"samples_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(external_database_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(external_database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_demo_data_imports_once(tmp_path: Path, database: str):
    def demo_data() -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "scopehub.server_extension.cli", "demo-data", "--data-dir", str(tmp_path),
                   "--database-url", database, "--operator", "demo", "--no-download", "--slide-size", "1024"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEHUB_")}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return done

    first = demo_data()
    assert "1 sample images imported" in first.stdout
    engine = sa.create_engine(database, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            images = conn.execute(sa.text("""
                SELECT i.id, i.name, i.size_x, i.size_c, u.username, d.name, p.name
                FROM images i JOIN experimenters u ON u.id = i.owner_id
                JOIN dataset_image_links dl ON dl.child_id = i.id JOIN datasets d ON d.id = dl.parent_id
                JOIN project_dataset_links pl ON pl.child_id = d.id JOIN projects p ON p.id = pl.parent_id""")).all()
            assert [tuple(r[1:]) for r in images] == [
                ("generated-slide.ome.tif", 1024, 4, "demo", "Generated slide", "Sample data")]
            tags = conn.execute(sa.text("""
                SELECT a.text_value FROM annotations a JOIN annotation_links l ON l.annotation_id = a.id
                WHERE l.parent_type = 'image' AND l.parent_id = :id AND a.kind = 'tag' ORDER BY 1"""),
                {"id": images[0][0]}).scalars().all()
            assert tags == ["generated", "multi-channel", "pyramid"]
        assert not (tmp_path / "samples" / "files" / "generated-slide.ome.tif").exists()
        # Again: nothing new, and no slide generated.
        second = demo_data()
        assert "0 sample images imported" in second.stdout and "generated" not in second.stdout
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM images")).scalar_one() == 1
    finally:
        engine.dispose()


def write_sample_files(folder: Path) -> dict[str, np.ndarray]:
    """Small stand-ins for every wheel sample, where demo-data looks for files it already extracted: nothing to
    download. The masks are segmentations (uint16 ids), as stardist's are."""
    rng = np.random.default_rng(4)
    folder.mkdir(parents=True, exist_ok=True)
    masks = {
        "mask2d.tif": np.kron(rng.integers(0, 40, (20, 24)), np.ones((33, 33), int))[:640, :700].astype(np.uint16),
        "mask3d.tif": np.kron(rng.integers(0, 9, (3, 5, 5)), np.ones((1, 13, 13), int)).astype(np.uint16),
    }
    for sample in SAMPLES:
        path = folder / sample.file
        if sample.file in masks:
            tifffile.imwrite(path, masks[sample.file], photometric="minisblack")
        elif sample.file.endswith(".tif") and sample.wheel:
            shape = (3, 40, 50) if "3d" in sample.file else (40, 50)
            tifffile.imwrite(path, rng.integers(0, 4000, shape, np.uint16), photometric="minisblack")
        elif sample.wheel:
            Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(path)
    return masks


def test_marker_records_the_sample_list_version(tmp_path: Path):
    marker = tmp_path / "imported"
    assert not marker_is_current(marker)
    marker.write_text("9 images imported\n")  # written before the list had versions: version 1
    assert not marker_is_current(marker)
    marker.write_text(f"samples version {SAMPLES_VERSION - 1}: every sample is in (9 imported by the last run)\n")
    assert not marker_is_current(marker)
    marker.write_text(f"samples version {SAMPLES_VERSION}: every sample is in (0 imported by the last run)\n")
    assert marker_is_current(marker)


def test_demo_data_imports_the_masks_as_label_images_also_into_an_older_catalogue(tmp_path: Path, database: str):
    """An older sample list imported mask2d.tif as an intensity image: demo-data adds the label images it lacks,
    keeps the older image (and says which it is), and imports nothing twice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEHUB_")}
    common = ["--data-dir", str(tmp_path), "--database-url", database, "--operator", "demo"]
    masks = write_sample_files(tmp_path / "samples" / "files")

    def scopehub(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "scopehub.server_extension.cli", *args, *common],
                              capture_output=True, text=True, env=env, timeout=180)
        assert done.returncode == 0, done.stderr
        return done

    scopehub("db", "upgrade")
    older = scopehub("import", str(tmp_path / "samples" / "files" / "mask2d.tif"), "--no-progress",
                     "--target", f"Project:Sample data/Dataset:{NUCLEI}")
    old_id = int(older.stdout.split("image ids: ")[1].rstrip(")\n"))

    first = scopehub("demo-data", "--slide-size", "512")
    assert f"{len(SAMPLES)} sample images imported" in first.stdout, first.stdout
    assert (f"mask2d.tif: imported before as an intensity image (image {old_id}); importing it as a label image "
            "now") in first.stdout
    engine = sa.create_engine(database, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("""
                SELECT i.name, i.is_label, i.size_z, c.min_value, c.max_value, c.window_start, c.window_end
                FROM images i JOIN dataset_image_links dl ON dl.child_id = i.id
                JOIN datasets d ON d.id = dl.parent_id JOIN channels c ON c.image_id = i.id
                WHERE d.name = :dataset ORDER BY i.id"""), {"dataset": NUCLEI}).all()
        nuclei = [(name, is_label) for name, is_label, *_ in rows]
        assert nuclei == [("mask2d.tif", False), ("img2d.tif", False), ("mask2d.tif", True), ("img3d.tif", False),
                          ("mask3d.tif", True)]
        for name, is_label, size_z, low, high, start, end in rows:
            if is_label:  # the data's range, which is also the window
                mask = masks[name]
                assert size_z == (mask.shape[0] if mask.ndim == 3 else 1)
                assert (low, high, start, end) == (mask.min(), mask.max(), mask.min(), mask.max())
        # Again: nothing new (the label masks are there now).
        second = scopehub("demo-data", "--slide-size", "512")
        assert "0 sample images imported" in second.stdout and "mask2d.tif: already in" in second.stdout
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM images")).scalar_one() == len(SAMPLES) + 1
    finally:
        engine.dispose()
