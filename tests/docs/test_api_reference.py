"""``docs/api/reference.md`` is generated from the OpenAPI spec and must match the handlers."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from scopehub.server_extension.api.openapi import openapi_spec
from scopehub.server_extension.api.routes import api_routes

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "docs" / "generate_api_reference.py"
REFERENCE = ROOT / "docs" / "api" / "reference.md"


def load_generator() -> ModuleType:
    """docs/ is not a package: load the script by path."""
    spec = importlib.util.spec_from_file_location("generate_api_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_is_up_to_date() -> None:
    expected = load_generator().render()
    assert REFERENCE.read_text(encoding="utf-8") == expected, (
        "docs/api/reference.md is out of date with the API's handlers: run `make docs` and commit the result"
    )


def test_reference_describes_every_route_parameter_and_schema() -> None:
    spec = openapi_spec(api_routes())
    text = load_generator().render(spec)
    for path, verbs in spec["paths"].items():
        for verb, op in verbs.items():
            heading = f"### `{verb.upper()} {path}`"
            assert heading in text, f"{heading} is missing"
            section = text.split(heading, 1)[1].split("\n### ", 1)[0]
            assert op["summary"] in section
            for parameter in op["parameters"]:
                assert f"| `{parameter['name']}` |" in section, f"{verb} {path}: parameter {parameter['name']}"
            for status in op["responses"]:
                assert f"`{status}`" in section, f"{verb} {path}: status {status}"
    for name, schema in spec["components"]["schemas"].items():
        assert f"\n### {name}\n" in text, f"schema {name} is missing"
        for field in schema.get("properties", {}):
            assert f"| `{field}` |" in text.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]


def test_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    target = tmp_path / "reference.md"
    target.write_text("# stale\n", encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(GENERATOR), "--output", str(target), *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )

    stale = run("--check")
    assert stale.returncode == 1 and "out of date" in stale.stderr
    assert target.read_text(encoding="utf-8") == "# stale\n", "--check must not write"
    assert run().returncode == 0
    assert target.read_text(encoding="utf-8") == load_generator().render()
