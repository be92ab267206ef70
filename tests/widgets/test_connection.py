"""``scopehub.connect()``: with no arguments in a real kernel that a real Jupyter server started, with a
URL and token from anywhere else, from the environment; and clear errors when there is nothing to find."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

import scopehub
from scopehub.widgets.connection import api_url, find_endpoint

from ..api_client import Api
from ..kernels import NotebookKernel


def test_urls_people_paste_become_the_api_url(catalogue) -> None:
    assert api_url("http://127.0.0.1:8888") == "http://127.0.0.1:8888/scopehub/api/v1/"
    assert api_url("https://hub.example.org/user/bob/") == "https://hub.example.org/user/bob/scopehub/api/v1/"
    assert api_url("https://hub.example.org/services/scopehub") == "https://hub.example.org/services/scopehub/api/v1/"
    assert api_url("http://h/lab/scopehub/api/v1") == "http://h/lab/scopehub/api/v1/"
    with pytest.raises(scopehub.ConnectionFailed, match="not an http"):
        api_url("ftp://h/")


def test_the_environment_says_where_in_order(monkeypatch: pytest.MonkeyPatch, catalogue) -> None:
    for name in ("SCOPEHUB_URL", "SCOPEHUB_TOKEN", "JUPYTERHUB_API_TOKEN", "SCOPEHUB_SERVICE_URL",
                 "JUPYTERHUB_SERVICE_URL", "JPY_PARENT_PID", "JUPYTER_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(scopehub.ConnectionFailed, match=r"call scopehub.connect\(url, token\)"):
        find_endpoint()
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:9999/user/bob/")
    assert find_endpoint() == scopehub.widgets.connection.Endpoint(
        "http://127.0.0.1:9999/user/bob/scopehub/api/v1/", "hub-token", "JupyterHub (your server)")
    monkeypatch.setenv("SCOPEHUB_SERVICE_URL", "http://127.0.0.1:10101/services/scopehub/")
    assert find_endpoint().api_url == "http://127.0.0.1:10101/services/scopehub/api/v1/"
    monkeypatch.setenv("SCOPEHUB_URL", "https://hub.example.org/services/scopehub/")
    monkeypatch.setenv("SCOPEHUB_TOKEN", "mine")
    assert find_endpoint() == scopehub.widgets.connection.Endpoint(
        "https://hub.example.org/services/scopehub/api/v1/", "mine", "SCOPEHUB_URL")
    assert find_endpoint("http://elsewhere:8888/", "t").api_url == "http://elsewhere:8888/scopehub/api/v1/"


def test_connect_with_a_url_and_token(api: Api) -> None:
    hub = scopehub.connect(api.base.removesuffix("scopehub/api/v1/"), api.token)
    assert (hub.username, hub.mode, hub.url) == ("admin", "standalone", api.base)
    assert hub.me()["is_admin"] is True
    assert "as <b>admin</b>" in hub._repr_html_()
    with pytest.raises(scopehub.NotAuthenticated) as refused:
        scopehub.connect(api.base, "wrong-token")
    assert refused.value.status == 401 and refused.value.code == "not_authenticated"


def test_connect_reports_a_server_that_is_not_there() -> None:
    with pytest.raises(scopehub.ConnectionFailed, match="could not reach scopehub at http://127.0.0.1:9/"):
        scopehub.connect("http://127.0.0.1:9/", "t")


def test_connect_without_arguments_in_a_kernel_the_server_started(catalogue, api: Api) -> None:
    server = catalogue.server
    started = time.monotonic()
    with NotebookKernel(server.url, server.token, "analysis.ipynb") as kernel:
        kernel.run("import scopehub\nhub = scopehub.connect()")
        assert kernel.value("[hub.username, hub.mode, hub.url, hub.endpoint.found_by.split(' (')[0]]") == [
            "admin", "standalone", api.base, "the Jupyter server"]
        # The kernel reads the catalogue with the server's identity.
        assert kernel.value("len(hub.projects())") == api.ok("GET", "projects")["total"]
    assert time.monotonic() - started < 60


def test_importing_scopehub_is_cheap() -> None:
    """``import scopehub`` loads neither the client's dependencies nor the server."""
    code = ("import sys, time; t = time.perf_counter(); import scopehub; took = time.perf_counter() - t; "
            "heavy = [m for m in ('requests', 'numpy', 'zarr', 'pandas', 'jupyter_server', 'sqlalchemy') "
            "if m in sys.modules]; print(took, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    assert out[1].strip() == "[]"
    assert float(out[0]) < 0.5
    # And the client itself imports without the server.
    code = "import scopehub.widgets.client, sys; print([m for m in sys.modules if m.startswith('scopehub.server')])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


def test_the_api_answers_json_errors_the_client_raises_with_the_servers_message(api: Api) -> None:
    hub = scopehub.connect(api.base, api.token)
    r = requests.get(api.base + "images/999999999", headers=api.headers(), timeout=10)
    with pytest.raises(scopehub.NotFound) as missing:
        hub.image(999999999)
    assert missing.value.message == r.json()["error"]["message"] == "image 999999999 not found"
    assert isinstance(missing.value, LookupError) and missing.value.status == 404
