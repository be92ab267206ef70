"""The committed front-end bundle (widgets/static/) is what the sources (widgets/js/) build to, and it
loads nothing from elsewhere at run time."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "widgets" / "js"
STATIC = ROOT / "widgets" / "static"
BUNDLES = ("viewer.js", "browser.js", "widgets.css")


def test_committed_bundle_matches_the_sources(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "esbuild").exists():
        pytest.skip("node and esbuild are needed to rebuild the bundle (make setup runs npm ci)")
    subprocess.run([node, str(SOURCES / "build.mjs"), str(tmp_path)], check=True, cwd=ROOT, timeout=120,
                   capture_output=True)
    for name in BUNDLES:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"widgets/static/{name} is stale: run `make widgets` and commit the result")


def test_bundle_loads_nothing_from_a_cdn() -> None:
    for name in BUNDLES:
        text = (STATIC / name).read_text(encoding="utf-8")
        # Imports are bundled in: no import statement, and no absolute URL to fetch code or styles from.
        assert not re.search(r"""(^|[;\s])import\s*[\w{*'"]""", text), f"{name} imports a module at run time"
        assert not re.search(r"https?://(?!www\.w3\.org/)", text), f"{name} names a remote URL"


def test_package_data_ships_the_bundle() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["scopehub.widgets"]
    for name in BUNDLES:
        assert any(Path("static", name).match(p) for p in patterns), f"{name} is not in the package data"
