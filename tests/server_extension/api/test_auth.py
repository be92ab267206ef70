"""No identity, no catalogue: every API route needs authentication, and says so with a 401 JSON error.

The server runs with ``allow_unauthenticated_access=False``, the setting under which jupyter_server
refuses unauthenticated access to any handler not marked ``@allow_unauthenticated`` and warns
about extension handlers that carry no authentication decorator at all.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Iterator

import pytest
import requests
from jupyter_server.serverapp import ServerWebApplication
from tornado import web

from scopehub.server_extension.api.routes import api_routes, url_patterns

from ...api_client import Api
from ...jupyter import JupyterServerProcess

ADMIN = "admin"
VERBS = ("get", "post", "put", "patch", "delete")
UNAUTHENTICATED_WARNING = "Extension endpoints without @allow_unauthenticated"


def seed_catalogue(api: Api) -> dict[str, int | str]:
    """One object of each kind, linked together; returns the id of each by kind (and the admin's name)."""
    group = api.make_group("read-annotate", f"auth-group-{secrets.token_hex(3)}")
    user = api.make_user(f"auth-user-{secrets.token_hex(3)}")
    api.add_member(group["id"], user["username"])
    project = api.ok("POST", "projects", json={"name": "p"})
    dataset = api.ok("POST", "datasets", json={"name": "d", "project_id": project["id"]})
    image = api.ok("POST", "images", json={"name": "i", "dataset_id": dataset["id"]})
    screen = api.ok("POST", "screens", json={"name": "s"})
    plate = api.ok("POST", "plates", json={"name": "pl", "screen_id": screen["id"], "rows": 2, "columns": 2})
    well = api.ok("POST", f"plates/{plate['id']}/wells", json={"row": 0, "column": 1, "image_ids": [image["id"]]})
    tag = api.ok("POST", "annotations", json={"type": "tag", "value": "t", "on": [f"image:{image['id']}"]})
    return {"group": group["id"], "user": user["id"], "project": project["id"], "dataset": dataset["id"],
            "image": image["id"], "screen": screen["id"], "plate": plate["id"], "well": well["id"],
            "annotation": tag["id"], "member": ADMIN}


def fill_path(path: str, ids: dict[str, int | str] | None) -> str:
    """``/projects/{obj_id}/datasets/{child_id}`` with existing ids (the segment before each
    parameter names its kind), or with random ones when ``ids`` is None."""
    parts = path.strip("/").split("/")
    for i, part in enumerate(parts):
        if part.startswith("{"):
            kind = parts[i - 1].removesuffix("s")
            if kind == "zarr":  # a file inside the image's OME-Zarr, not an id
                parts[i] = "zarr.json"
            elif ids is None:
                parts[i] = "nobody" if kind == "member" else str(secrets.randbelow(2**62) + 10**6)
            else:
                parts[i] = str(ids.get(kind, 1))  # kinds not seeded here: imports, originals
    return "/".join(parts)


@pytest.fixture(scope="module")
def locked_server() -> Iterator[JupyterServerProcess]:
    data_dir = tempfile.mkdtemp(prefix="scopehub-auth-")
    args = [f"--ScopehubApp.data_dir={data_dir}", f"--ScopehubApp.standalone_username={ADMIN}",
            "--ServerApp.allow_unauthenticated_access=False"]
    with JupyterServerProcess(args) as server:
        yield server


@pytest.fixture(scope="module")
def admin(locked_server: JupyterServerProcess) -> Api:
    return Api(locked_server.url + "scopehub/api/v1/", locked_server.token)


@pytest.fixture(scope="module")
def seeded(admin: Api) -> dict[str, int | str]:
    return seed_catalogue(admin)


@pytest.fixture(scope="module")
def operations(admin: Api) -> list[tuple[str, str]]:
    """(verb, path template) for every operation the live server describes."""
    spec = admin.ok("GET", "openapi.json")
    ops = [(verb, path) for path, item in spec["paths"].items() for verb in item if verb in VERBS]
    assert len(ops) > 50, ops  # the whole API, not a stub
    return ops


def assert_401(r: requests.Response, what: str) -> None:
    assert r.status_code == 401, f"{what} -> {r.status_code} {r.headers.get('Location', '')}: {r.text[:300]}"
    assert r.headers["Content-Type"].split(";")[0] == "application/json", f"{what}: {r.headers['Content-Type']}"
    if r.request.method == "HEAD":
        return  # a reply to HEAD has no body
    error = r.json()["error"]
    assert error["code"] == "not_authenticated" and error["message"], f"{what}: {r.text}"


def anonymous_request(base: str, verb: str, path: str, **kw) -> requests.Response:
    """A request with no token and no cookies, from a fresh session; redirects are not followed."""
    headers = kw.pop("headers", {})
    if verb in ("post", "put", "patch"):
        kw.setdefault("json", {"name": "should never be created"})
    return requests.request(verb.upper(), base + path, headers=headers, allow_redirects=False, timeout=30, **kw)


def test_jupyter_finds_no_unauthenticated_scopehub_handler(locked_server: JupyterServerProcess) -> None:
    """jupyter_server's own start-up check, read from the log and run again on the handler classes."""
    ours = {handler.__name__ for _, handler in url_patterns(api_routes())}
    log = locked_server.log_text()
    flagged = []
    for block in log.split(UNAUTHENTICATED_WARNING)[1:]:
        for line in block.splitlines()[1:]:
            if not line.startswith("- "):
                break
            flagged.append(line)
    ours_flagged = [line for line in flagged if line.split(" of ")[1].split()[0] in ours or "scopehub" in line]
    assert not ours_flagged, "\n".join(ours_flagged)
    assert "scopehub.server_extension | extension was successfully loaded" in log

    missing = [m for pattern, handler in url_patterns(api_routes())
               for m in ServerWebApplication._check_handler_auth(None, pattern, handler)]  # type: ignore[arg-type]
    assert missing == []


def test_the_handler_check_does_catch_a_bare_handler() -> None:
    """The check above is not vacuous: a verb without @web.authenticated is reported."""

    class Bare(web.RequestHandler):
        def get(self) -> None:  # pragma: no cover - never served
            pass

        @web.authenticated
        def post(self) -> None:  # pragma: no cover - never served
            pass

    found = ServerWebApplication._check_handler_auth(None, "x", Bare)  # type: ignore[arg-type]
    assert found == ["- GET of Bare registered for x"]


@pytest.mark.parametrize("which_ids", ["existing", "random"])
def test_every_operation_without_identity_is_401_json(
    admin: Api, seeded: dict[str, int | str], operations: list[tuple[str, str]], which_ids: str
) -> None:
    ids = seeded if which_ids == "existing" else None
    projects_before = admin.ok("GET", "projects")["total"]
    for verb, path in operations:
        url_path = fill_path(path, ids)
        assert_401(anonymous_request(admin.base, verb, url_path), f"{verb.upper()} {url_path}")
    # Nothing an anonymous request sent was acted upon.
    assert admin.ok("GET", "projects")["total"] == projects_before


def test_api_root_unknown_routes_and_browsers_get_401_not_a_login_page(admin: Api) -> None:
    base = admin.base
    for url in (base, base.rstrip("/"), base + "no-such-route", base + "projects/not-a-number"):
        r = requests.get(url, headers={"Accept": "text/html,application/xhtml+xml"}, allow_redirects=False,
                         timeout=30)
        assert_401(r, f"GET {url} as a browser")
    assert_401(requests.head(base + "projects", allow_redirects=False, timeout=30), "HEAD projects")
    # jupyter_server lets a CORS preflight through unauthenticated; scopehub still wants an identity.
    assert_401(requests.options(base + "projects", allow_redirects=False, timeout=30), "OPTIONS projects")


def test_a_wrong_token_is_401_everywhere(admin: Api, seeded: dict[str, int | str],
                                         operations: list[tuple[str, str]]) -> None:
    wrong = {"Authorization": f"token {secrets.token_hex(16)}"}
    for verb, path in operations:
        url_path = fill_path(path, seeded)
        assert_401(anonymous_request(admin.base, verb, url_path, headers=wrong), f"{verb.upper()} {url_path}")
    assert_401(requests.get(admin.base + "me", params={"token": "wrong"}, allow_redirects=False, timeout=30),
               "GET me?token=wrong")
    assert_401(requests.get(admin.base + "me", headers={"Authorization": "Bearer"}, allow_redirects=False,
                            timeout=30), "GET me with an empty bearer")


def test_token_auth_needs_no_xsrf(admin: Api) -> None:
    """Programs authenticate with the token header alone: no cookie, no _xsrf, for every writing verb."""
    auth = {"Authorization": f"token {admin.token}"}

    def call(verb: str, path: str, status: int, **kw) -> dict:
        # A fresh session per request, so no cookie the server set earlier can stand in for the token.
        r = requests.request(verb, admin.base + path, headers=auth, allow_redirects=False, timeout=30, **kw)
        assert r.status_code == status, f"{verb} {path} -> {r.status_code}: {r.text}"
        return r.json()

    project = call("POST", "projects", 201, json={"name": "made with a token"})
    assert call("PATCH", f"projects/{project['id']}", 200, json={"description": "edited"})["description"] == "edited"
    tag = call("POST", "annotations", 201, json={"type": "tag", "value": "token-tag"})
    call("PUT", f"projects/{project['id']}/annotations/{tag['id']}", 200)
    call("DELETE", f"projects/{project['id']}", 200)
    call("GET", f"projects/{project['id']}", 404)


def test_log_has_no_tracebacks(locked_server: JupyterServerProcess) -> None:
    """The anonymous and wrong-token requests above were refused cleanly, not by a crash."""
    assert not re.search(r"Traceback|Uncaught exception", locked_server.log_text())
