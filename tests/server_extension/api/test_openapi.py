"""``B/openapi.json`` describes the handlers exactly: every route with exactly the verbs it serves,
nothing extra, JSON errors everywhere, and it is valid OpenAPI 3.1.

The checks here read the handler classes and tornado's route patterns directly, not the generator's
own helpers, so a generator bug cannot hide itself.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from jupyter_server.base.handlers import APIHandler
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from tornado import web

from scopehub.server_extension.api.openapi import openapi_spec
from scopehub.server_extension.api.routes import api_routes

from ...api_client import Api

# Every verb tornado dispatches; OPTIONS is jupyter_server's CORS preflight, inherited, not an API operation.
HTTP_VERBS = ("get", "head", "post", "put", "patch", "delete")
ERROR_REF = "#/components/schemas/Error"
PARAM = re.compile(r"\{([^}]+)\}")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi_spec(api_routes())


def implemented_verbs(handler: type[web.RequestHandler]) -> set[str]:
    return {verb for verb in HTTP_VERBS if getattr(handler, verb) is not web.RequestHandler._unimplemented_method}


def sample_path(path: str, spec_path: dict[str, Any]) -> str:
    """The spec path with a plausible value for each path parameter, as a client would send it."""
    schemas = {p["name"]: p["schema"] for op in spec_path.values() for p in op.get("parameters", [])
               if p["in"] == "path"}
    return PARAM.sub(lambda mt: "42" if schemas[mt[1]]["type"] == "integer" else "some.user", path)


def route_for(routes: list[tuple[str, type]], url_path: str) -> list[tuple[str, type]]:
    """The routes whose tornado pattern (anchored, as tornado anchors it) matches ``url_path``."""
    return [(pattern, handler) for pattern, handler in routes
            if re.fullmatch(pattern + ("/?" if not pattern else ""), url_path.lstrip("/"))]


def test_every_route_is_described_with_exactly_its_verbs() -> None:
    routes = api_routes()  # it builds new handler classes on each call: use one list throughout
    spec = openapi_spec(routes)
    assert len(routes) == len({pattern for pattern, _ in routes}), "a pattern is routed twice"
    described: dict[type, set[str]] = {}
    for path, item in spec["paths"].items():
        verbs = {k for k in item if k in HTTP_VERBS}
        assert verbs, f"{path} has no operation"
        matches = route_for(routes, sample_path(path, item))
        assert len(matches) == 1, f"{path} matches {len(matches)} routes: {matches}"
        pattern, handler = matches[0]
        assert handler not in described, f"{handler.__name__} is described under two paths"
        described[handler] = verbs
        # The spec's path parameters are the route's capture groups, in order.
        assert len(PARAM.findall(path)) == re.compile(pattern).groups, path
    for pattern, handler in routes:
        assert handler in described, f"route {pattern!r} ({handler.__name__}) is missing from the spec"
        assert handler.options is APIHandler.options, f"{handler.__name__} serves its own OPTIONS: describe it"
        assert described[handler] == implemented_verbs(handler), (
            f"{handler.__name__}: spec has {sorted(described[handler])}, handler serves "
            f"{sorted(implemented_verbs(handler))}")


def test_path_parameters_are_declared_and_required(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for verb, op in item.items():
            declared = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
            assert declared == PARAM.findall(path), f"{verb} {path}: {declared}"
            assert all(p["required"] for p in op["parameters"] if p["in"] == "path")


def test_every_operation_has_a_success_and_json_errors(spec: dict[str, Any]) -> None:
    operation_ids = []
    for path, item in spec["paths"].items():
        for verb, op in item.items():
            what = f"{verb.upper()} {path}"
            operation_ids.append(op["operationId"])
            assert op["summary"] and op["responses"], what
            statuses = {int(code) for code in op["responses"]}
            assert [s for s in statuses if 200 <= s < 300], f"{what} has no success reply"
            assert 401 in statuses, f"{what} does not declare 401"
            if PARAM.search(path):
                assert 404 in statuses, f"{what} takes an id but does not declare 404"
            if "requestBody" in op or any(p["in"] == "query" for p in op["parameters"]):
                assert 400 in statuses, f"{what} takes input but does not declare 400"
            for code, reply in op["responses"].items():
                if int(code) >= 400:
                    assert reply["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}, (what, code)
                elif "$ref" in reply.get("content", {}).get("application/json", {}).get("schema", {}):
                    ref = reply["content"]["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"], (what, code, ref)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_the_error_schema_is_the_error_body_the_handlers_write(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    error = schemas["Error"]
    assert error["required"] == ["error"]
    body = schemas[error["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert set(body["required"]) == {"code", "message"}
    assert body["properties"]["code"]["type"] == body["properties"]["message"]["type"] == "string"


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_the_validator_rejects_a_broken_spec(spec: dict[str, Any]) -> None:
    """The validity check above can fail: a dangling $ref is refused."""
    broken = {**spec, "paths": {"/x": {"get": {"responses": {"200": {"description": "x", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/NoSuchModel"}}}}}}}}}
    with pytest.raises(Exception, match="NoSuchModel"):
        validate(broken, cls=OpenAPIV31SpecValidator)


def test_live_spec_is_the_generated_one(api: Api, spec: dict[str, Any]) -> None:
    """What the server serves is exactly what the route table generates (base URL ``/`` here)."""
    assert api.ok("GET", "openapi.json") == spec


def test_live_server_refuses_verbs_the_spec_does_not_list(api: Api, spec: dict[str, Any]) -> None:
    """Nothing extra is served: every verb the spec leaves out of a path answers 405 in JSON."""
    for path, item in spec["paths"].items():
        url_path = sample_path(path, item)
        for verb in ("get", "post", "put", "patch", "delete"):
            if verb in item:
                continue
            r = api.request(verb.upper(), url_path.lstrip("/"))
            assert r.status_code == 405, f"{verb.upper()} {url_path} -> {r.status_code}: {r.text[:200]}"
            assert r.json()["error"]["code"] == "method_not_allowed"
