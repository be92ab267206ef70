"""``scopehub import``: the same import, run in the command's own process against the catalogue a
Jupyter server is serving (embedded or external PostgreSQL), with a progress bar on stderr."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import sqlalchemy as sa
import tifffile
import zarr

from scopehub.server_extension.database import EmbeddedPostgres
from scopehub.server_extension.imports.pyramid_sizes import tree_bytes

from ...api_client import Api, unique
from .conftest import sha256, write_label_tiff, write_ome_tiff, write_png

SCOPEHUB = Path(sys.executable).parent / "scopehub"


def scopehub(catalogue, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEHUB_")}
    res = subprocess.run([str(SCOPEHUB), *args, "--data-dir", catalogue.data_dir, "--database-url",
                          catalogue.database_url or "", "--operator", "admin"],
                         capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert res.returncode == code, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    assert "Traceback" not in res.stderr, res.stderr
    return res


def test_cli_imports_a_folder_recursively_with_progress(api: Api, catalogue, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    write_ome_tiff(folder / "a.ome.tif")
    write_png(folder / "sub" / "b.png")
    write_png(folder / ".hidden.png")
    (folder / "README.txt").write_text("skipped\n")
    target = f"Project:{unique('cli-project')}/Dataset:{unique('cli-dataset')}"

    res = scopehub(catalogue, "import", str(folder), "--target", target, "--description", "from the CLI")

    assert "imported 2 images from 2 files" in res.stdout and "1 other files skipped" in res.stdout, res.stdout
    # The progress bar and each step, on stderr.
    assert "100%" in res.stderr and "writing the pixels of" in res.stderr and "saving" in res.stderr, res.stderr
    job_id = int(re.search(r"import (\d+):", res.stdout)[1])
    job = api.ok("GET", f"imports/{job_id}")
    assert job["status"] == "done" and job["sources"] == [str(folder)] and job["target"] == target
    images = [api.ok("GET", f"images/{i}") for i in job["images"]]
    assert sorted(i["name"] for i in images) == ["a.ome.tif", "b.png"]
    assert {i["description"] for i in images} == {"from the CLI"}
    dataset = api.ok("GET", f"datasets/{images[0]['parents'][0]}")
    project = api.ok("GET", f"projects/{dataset['parents'][0]}")
    assert f"Project:{project['name']}/Dataset:{dataset['name']}" == target
    for image in images:
        original = api.ok("GET", f"images/{image['id']}/originals")["items"][0]
        local = folder / ("a.ome.tif" if image["name"] == "a.ome.tif" else "sub/b.png")
        assert original["sha256"] == sha256(local) and original["client_path"] == str(local)
        assert api.get(f"originals/{original['id']}").content == local.read_bytes()


def test_cli_imports_as_another_user_and_reports_failures(api: Api, catalogue, tmp_path: Path) -> None:
    user = api.make_user()["username"]
    group = api.make_group("read-only")
    api.add_member(group["id"], user)
    dataset = api.as_user(user).ok("POST", "datasets", 201, json={"name": unique("theirs"), "group_id": group["id"]})
    write_png(tmp_path / "c.png")

    res = scopehub(catalogue, "import", str(tmp_path / "c.png"), "--dataset", str(dataset["id"]), "--user", user,
                   "--json", "--no-progress")
    job = json.loads(res.stdout)
    assert job["status"] == "done" and job["owner"]["username"] == user and job["dataset_id"] == dataset["id"]
    assert res.stderr == ""
    image = api.ok("GET", f"images/{job['images'][0]}")
    assert image["owner"]["username"] == user and image["group"]["id"] == group["id"]

    (tmp_path / "notes.txt").write_text("not an image\n")
    res = scopehub(catalogue, "import", str(tmp_path / "notes.txt"), "--dataset", str(dataset["id"]), code=1)
    assert "failed:" in res.stderr and "not an image format" in res.stderr, res.stderr


def test_cli_imports_label_images(api: Api, catalogue, tmp_path: Path) -> None:
    data = write_label_tiff(tmp_path / "mask.tif", (600, 700))
    target = f"Dataset:{unique('cli-labels')}"
    job = json.loads(scopehub(catalogue, "import", str(tmp_path / "mask.tif"), "--target", target, "--label",
                              "--json", "--no-progress").stdout)
    assert job["status"] == "done" and job["label"] is True and job["label_images"] == job["images"], job
    image = api.ok("GET", f"images/{job['images'][0]}")
    assert image["pixels"]["is_label"] is True and len(image["pixels"]["levels"]) == 2
    group = zarr.open_group(api.base + f"images/{image['id']}/zarr", mode="r",
                            storage_options={"headers": api.headers()})
    np.testing.assert_array_equal(group["1"][0, 0, 0], data[::2, ::2])  # nearest, not means
    # Without --label the same file is an intensity image; float data is refused as labels, with the reason.
    job = json.loads(scopehub(catalogue, "import", str(tmp_path / "mask.tif"), "--target", target, "--json",
                              "--no-progress").stdout)
    assert job["label"] is False and api.ok("GET", f"images/{job['images'][0]}")["pixels"]["is_label"] is False
    tifffile.imwrite(tmp_path / "prob.tif", np.ones((30, 40), np.float32))
    res = scopehub(catalogue, "import", str(tmp_path / "prob.tif"), "--target", target, "--label", code=1)
    assert "prob.tif: cannot be imported as a label image: its pixels are float32" in res.stderr, res.stderr


def test_cli_refuses_bad_arguments_before_opening_the_catalogue(tmp_path: Path) -> None:
    nowhere = SimpleNamespace(data_dir=str(tmp_path / "never-created"), database_url="")
    write_png(tmp_path / "c.png")
    res = scopehub(nowhere, "import", str(tmp_path / "missing.png"), "--dataset", "1", code=4)
    assert "no file or folder" in res.stderr
    res = scopehub(nowhere, "import", str(tmp_path / "c.png"), "--target", "nonsense", code=2)
    assert "Project:P/Dataset:D" in res.stderr
    res = scopehub(nowhere, "import", str(tmp_path / "c.png"), code=2)
    assert "one of the arguments --dataset --target is required" in res.stderr
    assert not (tmp_path / "never-created").exists()


def test_pyramid_sizes_are_recorded_at_import_and_measured_once_by_db_upgrade(catalogue, tmp_path: Path) -> None:
    write_ome_tiff(tmp_path / "sized.ome.tif", size_c=3)
    job = json.loads(scopehub(catalogue, "import", str(tmp_path / "sized.ome.tif"), "--target",
                              f"Dataset:{unique('sized')}", "--json", "--no-progress").stdout)
    image_id = job["images"][0]
    # The embedded server is the Jupyter server's: we hold it only while we use it (as the command line does).
    embedded = None if catalogue.database_url else EmbeddedPostgres(Path(catalogue.data_dir) / "pgdata")
    engine = sa.create_engine(catalogue.database_url or embedded.start(), poolclass=sa.NullPool)
    try:
        with engine.begin() as conn:
            zarr_path, recorded = conn.execute(sa.text("SELECT zarr_path, pyramid_bytes FROM images WHERE id = :i"),
                                               {"i": image_id}).one()
            on_disk = tree_bytes(Path(catalogue.data_dir) / "store" / zarr_path)
            assert recorded == on_disk > 0
            # As if it had been imported before sizes were recorded (schema revision 0004).
            conn.execute(sa.text("UPDATE images SET pyramid_bytes = NULL WHERE id = :i"), {"i": image_id})
        res = scopehub(catalogue, "db", "upgrade")
        assert re.search(r"measured the stored pyramids of \d+ images? imported before sizes were recorded",
                         res.stdout), res.stdout
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pyramid_bytes FROM images WHERE id = :i"),
                                {"i": image_id}).scalar_one() == on_disk
        assert "measured" not in scopehub(catalogue, "db", "upgrade").stdout  # once only
    finally:
        engine.dispose()
        if embedded is not None:
            embedded.stop()
