"""``docs/notebooks/tour.ipynb`` runs top to bottom, headless (nbclient), against a real server with an
empty catalogue, as a new user's first notebook would; and it is committed without outputs."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ..api_client import Api
from ..jupyter import JupyterServerProcess

TOUR = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "tour.ipynb"


@pytest.fixture(scope="module")
def fresh_server() -> Iterator[JupyterServerProcess]:
    with (
        tempfile.TemporaryDirectory(prefix="scopehub-tour-") as data_dir,
        JupyterServerProcess([f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=newcomer"],
                             startup_timeout=180) as server,
    ):
        yield server


def test_tour_is_committed_without_outputs() -> None:
    nb = json.loads(TOUR.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 10
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code), (
        "strip the tour's outputs before committing (Edit > Clear Outputs of All Cells, then save)")


def test_tour_runs_top_to_bottom(fresh_server: JupyterServerProcess, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    # nbclient starts the kernel itself (JPY_PARENT_PID is then this process): the kernel finds the server
    # as one in a Jupyter terminal does, by its URL among the runtime files, and takes its token from there.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", fresh_server.env["JUPYTER_RUNTIME_DIR"])
    monkeypatch.setenv("JUPYTER_SERVER_URL", fresh_server.url)
    for name in ("SCOPEHUB_URL", "SCOPEHUB_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.read(TOUR, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = ["".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in c.outputs)
               for c in nb.cells if c.cell_type == "code"]
    assert not any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"Connected to {fresh_server.url}scopehub/api/v1/ as newcomer" in outputs[0]
    # The catalogue was empty: the tour made its image, and used it throughout.
    used = re.search(r"Using image (\d+): tour-cells, 1536 x 1024, 2 channels", outputs[1])
    assert used, outputs[1]
    image_id = int(used.group(1))
    api = Api(fresh_server.url + "scopehub/api/v1/", fresh_server.token)
    # The settings it saved from Python: the first channel magenta, with the narrower window.
    rendering = api.ok("GET", f"images/{image_id}/rendering")
    assert rendering["saved"] and rendering["settings"]["channels"][0]["color"] == "FF00FF"
    assert "True" in outputs[-2]
    # Nothing was drawn headless, and the tour said what to do instead of failing.
    assert "Nothing drawn yet" in outputs[-3]
    # The widgets' own outputs are there: each Viewer and the Browser display as widgets.
    widget_views = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                    if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget_views) == 3
