"""What bad input gets: the right status, a JSON error body, never a redirect, and no change at all.

Each error reply is ``{"error": {"code", "message"}}``; a request that fails leaves the catalogue as
it was (one transaction per request)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable

import pytest
import requests

from tests.api_client import Api, unique

BIGINT_MAX = 2**63 - 1
SQLISH = ["'; DROP TABLE projects; --", "%_\\", "a:*&!", "🔬🧫 cells", "o'neil", "''", "\\", "x\\y", "(", ")",
          "!", "&", "|", ":*", "<->", "\"quoted\"", "ünïcödé Ölfarbe 細胞", "\u202e\u200b", "a" * 1000, " ", "-"]


def error_of(r: requests.Response, status: int, code: str | None = None) -> dict:
    """Check that ``r`` is a JSON error with ``status``; return its ``error`` object."""
    assert r.status_code == status, f"{r.request.method} {r.url} -> {r.status_code}: {r.text}"
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    error = r.json()["error"]
    assert isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def make_member(api: Api, level: str = "read-write") -> tuple[Api, int]:
    group = api.make_group(level)["id"]
    name = api.make_user(unique("user"))["username"]
    api.add_member(group, name)
    return api.as_user(name), group


def count(client: Api, path: str, **params) -> int:
    return client.ok("GET", path, params={**params, "limit": 1})["total"]


# ---- bodies --------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"{not json", b"", b"null", b"[]", b'"name"', b"5", b'{"name": "a"} trailing',
                                  b"\xff\xfe{}", b'{"name": "a", "name": 5}'])
def test_invalid_json(api: Api, body: bytes) -> None:
    user, group = make_member(api)
    r = user.post("projects", data=body, headers={"Content-Type": "application/json"})
    error_of(r, 400)
    assert count(user, "projects", group=group) == 0


@pytest.mark.parametrize("body", [
    {"name": "x", "colour": "red"},  # unknown field
    {"name": 5},  # wrong types
    {"name": ["x"]},
    {"name": None},
    {"name": "x", "group_id": "3"},
    {"name": "x", "group_id": 1.0},
    {"name": "x", "group_id": True},
    {"name": "x", "group_id": 0},
    {"name": "x", "group_id": 2**63},
    {"name": "x", "description": None},
    {"name": "x", "description": 7},
    {"name": "x" * 256},  # over-long
    {"name": "x", "description": "d" * 100_001},
    {"name": ""},
    {"name": "   "},
    {"name": "nul\u0000byte"},
    {},
])
def test_bodies_that_do_not_fit_the_schema(api: Api, body: dict) -> None:
    user, group = make_member(api)
    error = error_of(user.post("projects", json={"group_id": group, **body} if "group_id" not in body else body), 400)
    assert error["code"] in ("invalid", "bad_request")
    assert count(user, "projects", group=group) == 0


def test_unknown_field_is_named(api: Api) -> None:
    error = error_of(api.post("projects", json={"name": "x", "colour": "red"}), 400, "invalid")
    assert "colour" in error["message"] or "colour" in str(error.get("details"))


def test_longest_name_and_unicode_are_fine(api: Api) -> None:
    user, group = make_member(api)
    for name in ("x" * 255, "🔬" * 255, "細胞" * 127, "'; DROP TABLE projects; --"):
        made = user.ok("POST", "projects", 201, json={"name": name, "group_id": group})
        assert made["name"] == name
        assert user.ok("GET", f"projects/{made['id']}")["name"] == name
        error_of(user.patch(f"projects/{made['id']}", json={"name": name.ljust(256, "x")}), 400)
    error_of(api.post("groups", json={"name": "g" * 256}), 400)
    error_of(api.post("users", json={"username": "u" * 256}), 400)
    error_of(api.post("users", json={"username": "has space"}), 400)
    error_of(user.post("annotations", json={"type": "tag", "value": "t", "namespace": "n" * 256,
                                            "group_id": group}), 400)


def test_patch_bodies(api: Api) -> None:
    user, group = make_member(api)
    project = user.ok("POST", "projects", 201, json={"name": "p", "group_id": group})
    path = f"projects/{project['id']}"
    for body in ({"name": 5}, {"colour": "red"}, {"version": "1"}, {"version": 0}, {"owner_id": "2"},
                 {"name": "y" * 256}, {"id": 5}, {"created": "2020-01-01"}):
        error_of(user.patch(path, json=body), 400)
    error_of(user.patch(path, data=b"{", headers={"Content-Type": "application/json"}), 400)
    error_of(user.patch(path, json={"name": "z"}, headers={"If-Match": "not-a-version"}), 400)
    got = user.ok("GET", path)
    assert got["name"] == "p" and got["version"] == 1


# ---- query parameters ----------------------------------------------------------------------
@pytest.mark.parametrize("params", [
    {"offset": -1}, {"offset": 2**62 + 1}, {"offset": 10**30}, {"offset": "abc"}, {"offset": "1.5"},
    {"limit": 0}, {"limit": -5}, {"limit": 1001}, {"limit": 10**30}, {"limit": "ten"},
    {"owner": 0}, {"owner": 2**63}, {"group": "x"}, {"order": "name; DROP TABLE projects"}, {"order": "owner_id"},
    {"q": "q" * 1001},
])
def test_bad_paging_and_filters(api: Api, params: dict) -> None:
    error_of(api.get("projects", params=params), 400)


def test_extreme_but_valid_paging(api: Api) -> None:
    page = api.ok("GET", "projects", params={"offset": 2**62, "limit": 1000})
    assert page["items"] == [] and page["offset"] == 2**62 and page["limit"] == 1000
    assert api.ok("GET", "projects", params={"limit": 1})["limit"] == 1
    assert api.ok("GET", "projects", params={"owner": BIGINT_MAX})["total"] == 0


@pytest.mark.parametrize("path", ["projects", "datasets", "images", "screens", "plates", "annotations", "users",
                                  "search"])
def test_strange_q_is_just_text(api: Api, path: str) -> None:
    for q in SQLISH:
        r = api.get(path, params={"q": q})
        if path == "search" and not q.strip():
            error_of(r, 400)
            continue
        assert r.status_code == 200, (q, r.text)
        assert r.json()["total"] >= 0
    # PostgreSQL text cannot hold NUL: refused, or simply matching nothing, but never a 500.
    r = api.get(path, params={"q": "nul\x00byte"})
    assert r.status_code in (200, 400), r.text
    # The tables are still there.
    assert api.ok("GET", "projects", params={"limit": 1})["total"] >= 0


def test_strange_q_finds_what_it_names(api: Api) -> None:
    user, group = make_member(api)
    word = unique("qq").replace("-", "")
    emoji = user.ok("POST", "projects", 201, json={"name": f"🔬 {word} Zellkern 細胞", "group_id": group})
    drop = user.ok("POST", "projects", 201, json={"name": f"{word} '; DROP TABLE projects; --", "group_id": group})

    def found(q: str) -> set[int]:
        return {p["id"] for p in user.ok("GET", "projects", params={"q": q, "group": group})["items"]}

    assert found(word) == {emoji["id"], drop["id"]}
    assert found(f"{word} zellk") == {emoji["id"]}
    assert found("細胞") == {emoji["id"]}
    assert found("drop table") == {drop["id"]}
    assert found("'; DROP TABLE projects; --") == {drop["id"]}
    assert found("%_\\") == set() and found("a:*&!") == set()


# ---- ids -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ident", ["999999999", str(BIGINT_MAX), str(BIGINT_MAX + 1), "9" * 40, "0"])
def test_ids_that_do_not_exist(api: Api, ident: str) -> None:
    for path in (f"projects/{ident}", f"images/{ident}", f"annotations/{ident}", f"groups/{ident}", f"users/{ident}",
                 f"annotations/{ident}/file", f"plates/{ident}/wells"):
        error_of(api.get(path), 404, "not_found")
    error_of(api.patch(f"datasets/{ident}", json={"name": "x"}), 404)
    error_of(api.delete(f"screens/{ident}"), 404)
    error_of(api.delete(f"screens/{ident}", params={"dry_run": 1}), 404)
    error_of(api.put(f"groups/{ident}/members/admin", json={"role": "member"}), 404)
    project = api.ok("POST", "projects", 201, json={"name": unique("p")})
    error_of(api.put(f"projects/{project['id']}/datasets/{ident}"), 404)
    error_of(api.put(f"images/{ident}/annotations/{ident}"), 404)
    error_of(api.get("annotations", params={"on": f"image:{ident}"}), 404)
    # In a query parameter, an id out of range is bad input.
    error_of(api.get("datasets", params={"project": ident}), 404 if 1 <= int(ident) <= BIGINT_MAX else 400)


def test_invisible_looks_exactly_like_missing(api: Api) -> None:
    owner, group = make_member(api, "private")
    other, _ = make_member(api, "read-write")
    project = owner.ok("POST", "projects", 201, json={"name": "secret", "group_id": group})
    tag = owner.ok("POST", "annotations", 201, json={"type": "tag", "value": "t", "on": [f"project:{project['id']}"]})
    missing = 2**62
    for verb, template, kw in (("GET", "projects/{}", {}), ("PATCH", "projects/{}", {"json": {"name": "x"}}),
                               ("DELETE", "projects/{}", {}), ("GET", "annotations/{}", {}),
                               ("DELETE", "annotations/{}", {}), ("GET", "annotations/{}/file", {})):
        ident = tag["id"] if "annotations" in template else project["id"]
        seen = other.request(verb, template.format(ident), **kw)
        unseen = other.request(verb, template.format(missing), **kw)
        a, b = error_of(seen, 404), error_of(unseen, 404)
        assert a["code"] == b["code"] and set(a) == set(b)
        assert a["message"].replace(str(ident), "N") == b["message"].replace(str(missing), "N")
    assert owner.ok("GET", f"projects/{project['id']}")["name"] == "secret"


def test_act_as_an_unknown_user(api: Api) -> None:
    for who in (unique("nobody"), "999999999", "9" * 30, "x" * 300):
        r = api.as_user(who).get("projects")
        error_of(r, 404 if len(who) <= 255 else 400)
        error_of(api.as_user(who).post("projects", json={"name": "x"}), 404 if len(who) <= 255 else 400)
    # Acting as someone real works, by name or id, and says so.
    user = api.make_user()
    me = api.as_user(str(user["id"])).ok("GET", "me")
    assert me["username"] == user["username"] and me["acting_as"] is True


# ---- concurrency ---------------------------------------------------------------------------
def at_once(n: int, fn: Callable[[int], requests.Response]) -> list[requests.Response]:
    """Run ``fn(i)`` for i in range(n) on n threads released together."""
    barrier = threading.Barrier(n)
    results: list[requests.Response | None] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results  # type: ignore[return-value]


def fresh(client: Api) -> Api:
    """The same identity on its own HTTP session (requests sessions are not thread-safe)."""
    return Api(client.base, client.token, client.act_as)


def test_stale_version_is_a_conflict(api: Api) -> None:
    user, group = make_member(api)
    project = user.ok("POST", "projects", 201, json={"name": "v1", "group_id": group})
    path = f"projects/{project['id']}"
    user.ok("PATCH", path, json={"name": "v2", "version": 1})
    error_of(user.patch(path, json={"name": "stale", "version": 1}), 409, "conflict")
    error_of(user.patch(path, json={"name": "stale"}, headers={"If-Match": '"1"'}), 409, "conflict")
    error_of(user.patch(path, json={"name": "stale"}, headers={"If-Match": 'W/"1"'}), 409, "conflict")
    assert user.ok("GET", path)["name"] == "v2"
    # Annotations and groups are versioned too.
    tag = user.ok("POST", "annotations", 201, json={"type": "tag", "value": "a", "group_id": group})
    user.ok("PATCH", f"annotations/{tag['id']}", json={"value": "b", "version": 1})
    error_of(user.patch(f"annotations/{tag['id']}", json={"value": "c", "version": 1}), 409)
    api.ok("PATCH", f"groups/{group}", json={"description": "x", "version": 1})
    error_of(api.patch(f"groups/{group}", json={"description": "y", "version": 1}), 409)


def test_concurrent_edits_of_one_version_one_wins(api: Api) -> None:
    user, group = make_member(api)
    for _round in range(5):
        project = user.ok("POST", "projects", 201, json={"name": "start", "group_id": group})
        path = f"projects/{project['id']}"
        clients = [fresh(user) for _ in range(4)]
        replies = at_once(4, lambda i, path=path, clients=clients: clients[i].patch(
            path, json={"name": f"writer {i}", "version": 1}))
        statuses = Counter(r.status_code for r in replies)
        assert statuses == {200: 1, 409: 3}, [r.text for r in replies]
        [winner] = [r.json() for r in replies if r.status_code == 200]
        got = user.ok("GET", path)
        assert got["name"] == winner["name"] and got["version"] == 2


def test_concurrent_creates_and_links(api: Api) -> None:
    """Racing requests that would break a unique rule: one wins, the others get 409, never 500."""
    name = unique("race")
    admins = [fresh(api) for _ in range(4)]
    replies = at_once(4, lambda i: admins[i].post("groups", json={"name": name, "level": "read-only"}))
    assert Counter(r.status_code for r in replies) == {201: 1, 409: 3}, [r.text for r in replies]
    username = unique("race")
    replies = at_once(4, lambda i: admins[i].post("users", json={"username": username}))
    assert Counter(r.status_code for r in replies) == {201: 1, 409: 3}, [r.text for r in replies]
    # Linking the same pair at once is harmless: every request gets the one link.
    user, group = make_member(api)
    project = user.ok("POST", "projects", 201, json={"name": "p", "group_id": group})
    dataset = user.ok("POST", "datasets", 201, json={"name": "d", "group_id": group})
    image = user.ok("POST", "images", 201, json={"name": "i", "group_id": group})
    tag = user.ok("POST", "annotations", 201, json={"type": "tag", "value": "t", "group_id": group})
    clients = [fresh(user) for _ in range(4)]
    for path in (f"projects/{project['id']}/datasets/{dataset['id']}", f"images/{image['id']}/annotations/{tag['id']}"):
        replies = at_once(4, lambda i, path=path, clients=clients: clients[i].put(path))
        assert [r.status_code for r in replies] == [200] * 4, [r.text for r in replies]
        assert len({r.json()["id"] for r in replies}) == 1
    assert user.ok("GET", f"datasets/{dataset['id']}")["parents"] == [project["id"]]
    assert len(user.ok("GET", f"annotations/{tag['id']}")["links"]) == 1


# ---- a failed request changes nothing ------------------------------------------------------
def test_failed_annotation_create_leaves_nothing(api: Api) -> None:
    user, group = make_member(api, "read-annotate")
    stranger, other_group = make_member(api, "private")
    seen = user.ok("POST", "images", 201, json={"name": "mine", "group_id": group})
    hidden = stranger.ok("POST", "images", 201, json={"name": "theirs", "group_id": other_group})
    before = count(user, "annotations")
    for on, status in (([f"image:{seen['id']}", f"image:{hidden['id']}"], 404),
                       ([f"image:{seen['id']}", "image:999999999999"], 404),
                       ([f"image:{seen['id']}", "sticker:1"], 400)):
        r = user.post("annotations", json={"type": "comment", "value": "should not exist", "on": on})
        error_of(r, status)
    assert count(user, "annotations") == before
    assert count(user, "annotations", on=f"image:{seen['id']}") == 0
    # The same across groups: an object of another group of mine gets 400, and still nothing is made.
    api.add_member(other_group, user.act_as)
    elsewhere = user.ok("POST", "images", 201, json={"name": "elsewhere", "group_id": other_group})
    r = user.post("annotations", json={"type": "tag", "value": "t", "on": [f"image:{seen['id']}",
                                                                           f"image:{elsewhere['id']}"]})
    error_of(r, 400)
    assert count(user, "annotations") == before


def test_failed_create_in_a_parent_leaves_nothing(api: Api) -> None:
    user, group = make_member(api)
    _, other_group = make_member(api)
    api.add_member(other_group, user.act_as)
    project = user.ok("POST", "projects", 201, json={"name": "p", "group_id": group})
    for body, status in (({"group_id": other_group, "project_id": project["id"]}, 400),
                         ({"group_id": group, "project_id": 2**62}, 404)):
        error_of(user.post("datasets", json={"name": unique("orphan"), **body}), status)
    assert count(user, "datasets", group=other_group) == 0 and count(user, "datasets", group=group) == 0
    # A group the caller is not in.
    _, foreign = make_member(api)
    error_of(user.post("projects", json={"name": "x", "group_id": foreign}), 403)
    assert count(api, "projects", group=foreign) == 0


def test_failed_well_leaves_no_samples(api: Api) -> None:
    user, group = make_member(api)
    plate = user.ok("POST", "plates", 201, json={"name": "p", "group_id": group, "rows": 8, "columns": 12})
    image = user.ok("POST", "images", 201, json={"name": "i", "group_id": group})
    r = user.post(f"plates/{plate['id']}/wells", json={"row": 0, "column": 0, "image_ids": [image["id"], 2**62]})
    error_of(r, 404)
    assert user.ok("GET", f"plates/{plate['id']}/wells")["total"] == 0
    user.ok("POST", f"plates/{plate['id']}/wells", 201, json={"row": 0, "column": 0, "image_ids": [image["id"]]})


# ---- routes never redirect -----------------------------------------------------------------
def test_routes_answer_json_never_a_redirect(api: Api) -> None:
    spec = api.ok("GET", "openapi.json")
    anonymous = api.anonymous()
    bad_token = Api(api.base, "not-the-token")
    for template, verbs in spec["paths"].items():
        path = template.lstrip("/")
        for name in ("user",):
            path = path.replace("{" + name + "}", "admin")
        path = re.sub(r"\{[^}]+\}", "1", path)
        for verb in verbs:
            for client in (anonymous, bad_token):
                r = client.request(verb.upper(), path)
                error_of(r, 401, "not_authenticated")
    # Unknown routes and methods under B/ are JSON too.
    error_of(api.get("no-such-thing"), 404)
    error_of(api.get("projects/abc"), 404)
    error_of(api.request("PATCH", "projects"), 405)
    error_of(anonymous.get("no-such-thing"), 401)


def test_admin_cannot_remove_own_admin_flag(api: Api) -> None:
    """Else the only admin of a standalone catalogue could lock everyone out of user management."""
    me = api.ok("GET", "me")
    r = api.patch(f"users/{me['id']}", json={"is_admin": False})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert api.ok("GET", "me")["is_admin"] is True
