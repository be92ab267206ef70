"""How the kernel finds the API: from the environment, the hub's variables, or the server that started it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

from scopehub.widgets import ApiConnection, ApiError
from scopehub.widgets.connection import as_connection

from .conftest import Lab

VARIABLES = ("SCOPEHUB_API_URL", "SCOPEHUB_TOKEN", "SCOPEHUB_SERVICE_URL", "JUPYTERHUB_API_TOKEN")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    return monkeypatch


def test_explicit_url_and_token_come_first(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SCOPEHUB_API_URL", "http://127.0.0.1:9/x/scopehub/api/v1")
    clean_env.setenv("SCOPEHUB_TOKEN", "abc")
    clean_env.setenv("SCOPEHUB_SERVICE_URL", "http://127.0.0.1:10/services/scopehub/")
    clean_env.setenv("JUPYTERHUB_API_TOKEN", "hub")
    found = ApiConnection.discover()
    assert found.api_url == "http://127.0.0.1:9/x/scopehub/api/v1/" and found.token == "abc"
    assert found.session.headers["Authorization"] == "token abc"


def test_hub_mode_uses_the_service_and_the_servers_token(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SCOPEHUB_SERVICE_URL", "http://127.0.0.1:10/services/scopehub/")
    clean_env.setenv("JUPYTERHUB_API_TOKEN", "hub")
    found = ApiConnection.discover()
    assert found.api_url == "http://127.0.0.1:10/services/scopehub/api/v1/" and found.token == "hub"


def test_standalone_finds_the_running_server(clean_env: pytest.MonkeyPatch, lab: Lab) -> None:
    assert ApiConnection.discover() is None  # an empty runtime folder: nothing to find
    clean_env.setenv("JUPYTER_RUNTIME_DIR", str(lab.runtime_dir))  # where the lab server wrote its jpserver file
    found = ApiConnection.discover()
    assert found.api_url == lab.url + "scopehub/api/v1/"
    assert found.get("")["api_version"]


def test_client_objects_and_urls_become_connections(lab: Lab) -> None:
    session = requests.Session()
    client = SimpleNamespace(api_url=lab.url + "scopehub/api/v1/", token=lab.token, session=session)
    found = as_connection(client)
    assert found.session is session and found.get("me")["username"] == "maria"
    assert as_connection(found) is found
    with pytest.raises(TypeError, match="api_url"):
        as_connection(SimpleNamespace(id=3))


def test_errors_carry_the_apis_message(lab: Lab) -> None:
    connection = ApiConnection(lab.url + "scopehub/api/v1/", lab.token)
    with pytest.raises(ApiError) as failure:
        connection.get("images/999999999")
    assert failure.value.status == 404 and failure.value.message and "GET images/999999999" in str(failure.value)
    anonymous = ApiConnection(lab.url + "scopehub/api/v1/")
    with pytest.raises(ApiError) as failure:
        anonymous.get("me")
    assert failure.value.status == 401
