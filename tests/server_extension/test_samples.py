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
from scopehub.server_extension.samples import SAMPLES, STARDIST, Sample, fetch_wheel_samples, make_demo_slide


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
