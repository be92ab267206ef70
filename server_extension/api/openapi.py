"""``B/openapi.json``, generated from the route table and the handlers' ``@operation`` notes.

Because the spec is built from the very classes that serve the routes, it cannot drift from them;
``tests/server_extension/api/test_openapi.py`` also checks that no verb went undescribed.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from tornado import web

from . import schemas as s

VERBS = ("get", "post", "put", "patch", "delete")
GROUP = re.compile(r"\([^)]*\)")

QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "offset": {"type": "integer", "minimum": 0, "maximum": 2**62, "default": 0},
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    "owner": {"type": "integer", "minimum": 1, "description": "Only objects owned by this user id."},
    "group": {"type": "integer", "minimum": 1, "description": "Only objects in this group id."},
    "q": {"type": "string", "maxLength": 1000, "description": "Words; each matches as a prefix."},
    "order": {"type": "string", "enum": ["name", "-name", "id", "-id", "created", "-created", "modified",
                                         "-modified"], "default": "name"},
    "orphaned": {"type": "boolean", "description": "Only objects with no parent."},
    "dry_run": {"type": "boolean", "description": "Only report what would be deleted."},
    "include": {"type": "string", "pattern": r"^((tag|tagset|file)(,(tag|tagset|file))*)?$",
                "description": "Also delete these annotation kinds when nothing else uses them."},
    "on": {"type": "string", "pattern": r"^(project|dataset|image|screen|plate|well|annotation):[0-9]{1,18}$",
           "description": "Only annotations linked to this object, as TYPE:ID."},
    "type": {"type": "string", "description": "A kind of annotation, or (search) comma-separated object kinds."},
}
# Path parameters that count from 0 (a chunk's place in the image), not ids.
INDEX_PARAMETERS = ("t", "c", "z", "yi", "xi")
PARENT_OF = {"dataset": "project", "image": "dataset", "plate": "screen"}
ERROR_TEXT = {400: "Bad input", 401: "No identity", 403: "Not allowed", 404: "Missing or invisible",
              409: "Conflict", 413: "Too large", 422: "Unreadable"}


def operations(handler: type[web.RequestHandler]) -> dict[str, Any]:
    """The implemented verbs of a handler class; each must carry ``@operation`` notes."""
    found = {}
    for verb in VERBS:
        method = getattr(handler, verb)
        if method is web.RequestHandler._unimplemented_method:
            continue
        notes = getattr(method, "__openapi__", None)
        if notes is None:
            raise TypeError(f"{handler.__name__}.{verb} has no @operation: describe it or remove it")
        found[verb] = (method, notes)
    return found


def _path(pattern: str, method) -> tuple[str, list[str]]:
    names = [p for p in inspect.signature(inspect.unwrap(method)).parameters if p != "self"]
    counter = iter(names)
    path = "/" + GROUP.sub(lambda _: "{" + next(counter) + "}", pattern)
    return path.replace("/?", ""), names


def _reply_model(handler, reply) -> type[BaseModel] | None:
    if reply == "item":
        return s.ContainerOut
    if reply in ("page", "search"):
        return s.page_of(s.ContainerOut)
    return reply


def openapi_spec(routes: list[tuple[str, type]], base_url: str = "/",
                 api_prefix: str = "scopehub/api/v1") -> dict[str, Any]:
    models: dict[str, type[BaseModel]] = {}
    plan = []
    for pattern, handler in routes:
        for verb, (method, notes) in operations(handler).items():
            body = getattr(handler, notes["body"]) if isinstance(notes["body"], str) else notes["body"]
            reply = _reply_model(handler, notes["reply"])
            for model in (body, reply):
                if model is not None:
                    models[model.__name__] = model
            plan.append((pattern, handler, verb, method, notes, body, reply))

    schemas_in = [(m, "validation") for m in models.values() if issubclass(m, s.Request)]
    schemas_out = [(m, "serialization") for m in models.values() if not issubclass(m, s.Request)]
    _, defs = models_json_schema(schemas_in + schemas_out, ref_template="#/components/schemas/{model}")
    components = defs.get("$defs", {})
    components["Error"] = s.ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["Error"].pop("$defs", {}))

    paths: dict[str, dict[str, Any]] = {}
    for pattern, handler, verb, method, notes, body, reply in plan:
        path, names = _path(pattern, method)
        words = {"kind": getattr(handler, "kind", ""), "child": getattr(handler, "child", "")}
        op: dict[str, Any] = {
            "operationId": f"{verb}_{handler.__name__.removesuffix('Handler')}",
            "summary": notes["summary"].format(**words),
            "tags": [pattern.split("/")[0] or "meta"],
            "parameters": [],
            "responses": {},
        }
        if notes["doc"]:
            op["description"] = " ".join(notes["doc"].split())
        for name in names:
            schema = ({"type": "string", "pattern": r"^[A-Za-z0-9._@+%-]+$"} if name == "user"
                      else {"type": "string", "minLength": 1} if name == "path"  # a file path (zarr)
                      else {"type": "integer", "minimum": 0} if name in INDEX_PARAMETERS
                      else {"type": "integer", "minimum": 1})
            op["parameters"].append({"name": name, "in": "path", "required": True, "schema": schema})
        missing_parent = False
        for name in notes["query"]:
            if isinstance(name, tuple):  # (name, schema): a parameter only this operation takes
                name, schema = name
            elif name == "parent":
                parent = PARENT_OF.get(words["kind"])
                if parent is None:
                    continue
                name = getattr(handler, "parent_arg", None) or parent
                schema = {"type": "integer", "minimum": 1, "description": f"Only those in this {parent}."}
                missing_parent = True  # a parent that does not exist (or is invisible) is a 404
            elif name == "orphaned" and words["kind"] not in PARENT_OF:
                continue
            else:
                schema = QUERY_PARAMETERS[name]
            op["parameters"].append({"name": name, "in": "query", "required": name == "q" and
                                     handler.__name__ == "SearchHandler", "schema": schema})
        if body is not None:
            content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}}
            if notes["multipart"]:
                content["multipart/form-data"] = {"schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"},
                                   "on": {"type": "array", "items": {"type": "string"}},
                                   "description": {"type": "string"}, "namespace": {"type": "string"},
                                   "group_id": {"type": "string"}}}}
            content.update(notes.get("upload") or {})
            op["requestBody"] = {"required": verb != "put", "content": content}
        elif notes.get("upload"):  # a body that is only bytes (a chunk of pixels)
            op["requestBody"] = {"required": True, "content": dict(notes["upload"])}
        status = str(notes["status"])
        if reply is not None:
            op["responses"][status] = {"description": "OK", "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{reply.__name__}"}}}}
        elif notes["binary"]:
            types = (notes["binary"],) if isinstance(notes["binary"], str) else notes["binary"]
            op["responses"][status] = {"description": "OK", "content": {t: {"schema": {}} for t in types}}
        else:
            op["responses"][status] = {"description": "Done; no content"}
        errors = {401, *notes["errors"]}
        if body is not None or notes["query"] or names:
            errors.add(400)
        if names or missing_parent:
            errors.add(404)
        for code in sorted(errors):
            op["responses"][str(code)] = {"description": ERROR_TEXT[code], "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        paths.setdefault(path, {})[verb] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": "scopehub", "version": "1",
                 "description": "OMERO-style bioimage catalogue: projects, datasets, images, annotations, "
                                "groups and permissions."},
        "servers": [{"url": base_url.rstrip("/") + "/" + api_prefix}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"token": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "Jupyter's token: `Authorization: token <token>`; in hub mode a hub token."}}},
    }
