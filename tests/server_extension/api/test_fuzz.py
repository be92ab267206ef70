"""A schema-driven fuzz of the whole API from its live ``B/openapi.json`` (schemathesis + hypothesis).

Every operation gets valid and invalid requests as the standalone admin; every reply must be no
5xx, a status the spec declares, the declared content type, and a body that matches its schema.
The fuzz runs on its own server and database: it creates, edits and deletes at random, which
must not disturb the shared catalogue other tests use.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from scopehub.server_extension.api.openapi import openapi_spec
from scopehub.server_extension.api.routes import api_routes

from ...api_client import Api
from ...jupyter import JupyterServerProcess
from .test_auth import seed_catalogue

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The fresh database numbers every table from 1, so ids up to here name seeded or fuzz-made objects.
KNOWN_IDS = 12
ADMIN = "admin"


def seed(api: Api) -> None:
    """One object of each kind, linked together, plus a map and a file, so that ids in the fuzz often exist."""
    ids = seed_catalogue(api)
    api.ok("POST", "annotations", json={"type": "map", "values": [["k", "v"], ["k", "w"]],
                                        "on": [f"project:{ids['project']}"]})
    api.ok("POST", "annotations", files={"file": ("notes.txt", b"seed attachment\n", "text/plain")},
           data={"on": f"dataset:{ids['dataset']}"})


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[JupyterServerProcess]:
    data_dir = tempfile.mkdtemp(prefix="scopehub-fuzz-")
    with JupyterServerProcess([f"--ScopehubApp.data_dir={data_dir}", f"--ScopehubApp.standalone_username={ADMIN}"]
                              ) as server:
        seed(Api(server.url + "scopehub/api/v1/", server.token))
        yield server


# Loaded at import so that pytest collects one test per operation; the fixture checks that the
# server serves this very spec (schemathesis' lazy ``from_fixture`` loader does not work on pytest 9.2).
SPEC = openapi_spec(api_routes())
schema = schemathesis.openapi.from_dict(SPEC)
# Bound the run: the coverage phase walks every boundary of every parameter with valid values only;
# invalid ones come from the random phase (its negative half). Both modes in coverage take ~4x longer.
schema.config.phases.coverage.generation.modes = [schemathesis.GenerationMode.POSITIVE]


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy:
    """Random 64-bit ids almost never exist: half the time use a small one, which likely does."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries({
        name: st.one_of(st.just(value), st.integers(1, KNOWN_IDS)) if isinstance(value, int) else st.just(value)
        for name, value in path_parameters.items()})


@pytest.fixture(scope="module")
def live_api(fuzz_server: JupyterServerProcess) -> Api:
    api = Api(fuzz_server.url + "scopehub/api/v1/", fuzz_server.token)
    assert api.ok("GET", "openapi.json") == SPEC, "the live spec is not the one fuzzed"
    return api


@schema.parametrize()
@settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_spec(case: schemathesis.Case, live_api: Api) -> None:
    """No 5xx; only declared statuses and content types; every JSON reply matches its schema.

    (The admin cannot take away its own admin flag, so the fuzz keeps its rights throughout.)"""
    case.call_and_validate(base_url=live_api.base.rstrip("/"), headers=live_api.headers(), checks=CHECKS,
                           allow_redirects=False, timeout=30)


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    # PostgreSQL text cannot hold NUL: a 400 from validation, not a 500 from the database.
    ("POST", "projects", {"json": {"name": "a\x00b"}}),
    ("POST", "annotations", {"json": {"type": "map", "values": [["key", "value\x00"]]}}),
    ("PATCH", "users/1", {"json": {"display_name": "\x00"}}),
    ("POST", "annotations", {"files": {"file": ("x.txt", b"x")}, "data": {"on": "not-a-target"}}),
    ("POST", "annotations", {"files": {"file": ("x.txt", b"x")}, "data": {"group_id": "\u00b2"}}),
    # The member route takes a username, percent-encoded: NUL, odd digits, ids past bigint.
    ("PUT", "groups/1/members/%2500", {}),
    ("DELETE", "groups/1/members/%C2%B2", {}),
    ("PUT", "groups/1/members/99999999999999999999", {}),
    # Acting as someone who cannot exist.
    ("GET", "me", {"headers": {"X-Scopehub-Act-As": "99999999999999999999"}}),
    ("GET", "me", {"headers": {"X-Scopehub-Act-As": "\u00b2"}}),
    # Filters that contradict each other, and path segments that are not ids.
    ("GET", "datasets?project=1&orphaned=true", {}),
    ("GET", "projects/12abc", {}),
    ("DELETE", "no/such/route", {}),
])
def test_inputs_the_spec_cannot_express(live_api: Api, method: str, path: str, kwargs: dict[str, Any]) -> None:
    """Hand-picked inputs the generator does not reach: a 4xx JSON error each, never a 500."""
    r = live_api.request(method, path, **kwargs)
    assert 400 <= r.status_code < 500, f"{method} {path} -> {r.status_code}: {r.text[:300]}"
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["error"]["code"]


def test_server_log_has_no_tracebacks(fuzz_server: JupyterServerProcess) -> None:
    """Nothing above failed on the server side after its reply was sent, either."""
    log = fuzz_server.log_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 2000:][:6000]

