"""The admin pages at ``/services/scopehub/`` in a real hub, through plain HTTP with a browser's cookies:
who gets in, what each page shows, and that changes made there reach the catalogue and its audit log.
(What a real browser sees, scripts included, is in ``test_pages_browser.py``.)"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from bs4 import BeautifulSoup

from scopehub.hub_extension.pages import Pager
from scopehub.server_extension.database import Database
from scopehub.server_extension.imports.pyramid_sizes import measure_unsized

from .conftest import PAGE_SIZE, USERS, Hub

PAGES = {"groups": "Groups", "users": "Users", "imports": "Import jobs", "audit": "Audit log"}


@pytest.fixture(scope="module")
def alice(hub: Hub) -> requests.Session:
    return hub.browser("alice")


@pytest.fixture(scope="module")
def groups(hub: Hub) -> dict[str, dict]:
    return {g["name"]: g for g in hub.direct("alice").ok("GET", "groups", params={"limit": 1000})["items"]}


def html(r: requests.Response, status: int = 200) -> BeautifulSoup:
    assert r.status_code == status, (r.status_code, r.url, r.text[-2000:])
    assert r.headers["Content-Type"].startswith("text/html")
    return BeautifulSoup(r.text, "html.parser")


def form_post(session: requests.Session, hub: Hub, path: str, **fields: str) -> requests.Response:
    """Post a form as the page does: with the XSRF token the page carries."""
    token = session.cookies.get("_xsrf", path="/services/scopehub/")
    return session.post(hub.pages_url + path, data={"_xsrf": token, **fields}, timeout=60)


def message(page: BeautifulSoup) -> str:
    shown = page.select_one("#scopehub-message")
    return " ".join(shown.text.split()) if shown else ""


def error(page: BeautifulSoup) -> str:
    return " ".join(page.select_one("#scopehub-error").text.split())


# ---- who gets in ----------------------------------------------------------------------------------
def test_admin_sees_every_page_in_the_hubs_look(hub: Hub, alice: requests.Session) -> None:
    assert alice.get(hub.pages_url, timeout=30).url == hub.pages_url + "groups"
    for path, title in PAGES.items():
        page = html(alice.get(hub.pages_url + path, timeout=30))
        assert page.title.text.strip() == f"{title} · scopehub"
        assert page.select_one(".nav-tabs .active").text.strip() == title
        # JupyterHub's own page: its navigation bar, its style sheet and scripts, served by the hub.
        assert page.select_one("#jupyterhub-logo img")["src"] == "/hub/logo"
        assert "alice" in page.select_one("#login_widget").text
        assert page.select_one("#logout")["href"] == "/services/scopehub/logout"
        assert [a["href"] for a in page.select(".navbar-nav .nav-link")][:2] == ["/hub/home", "/hub/token"]
        assets = [link["href"] for link in page.select("link[rel=stylesheet]")]
        assets += [script["src"] for script in page.select("script[src]")]
        assert "/hub/static/css/style.min.css" in assets and all(a.startswith("/hub/static/") for a in assets)
    for asset in assets:
        assert requests.get(hub.demo.url.rstrip("/") + asset, timeout=30).status_code == 200, asset


def test_the_hub_lists_the_pages_in_its_services_menu(hub: Hub) -> None:
    home = html(hub.demo.login("bob").get(hub.demo.url + "hub/home", timeout=30))
    links = {a.text.strip(): a["href"] for a in home.select(".navbar .dropdown-menu a.dropdown-item")}
    assert links.get("scopehub") == "/services/scopehub/"


def test_someone_not_an_admin_gets_a_403_page_not_a_redirect(hub: Hub, groups: dict[str, dict]) -> None:
    bob = hub.demo.login("bob")
    for path in ("", *PAGES, f"groups/{groups['lab-a']['id']}"):
        r = bob.get(hub.pages_url + path, timeout=30)
        page = html(r, 403)
        # The hub's OAuth round trip once, then the refusal, which stays where it was asked.
        assert r.url == hub.pages_url + path and len(r.history) <= 3, [h.url for h in r.history]
        assert "only catalogue admins may use scopehub's admin pages" in error(page)
        assert "signed in as bob" in error(page) and not page.select(".nav-tabs")
    # Nor may bob change anything by posting the form himself (the catalogue refuses too).
    r = form_post(bob, hub, f"groups/{groups['lab-b']['id']}", level="read-write")
    assert "only catalogue admins" in error(html(r, 403))
    assert hub.direct("alice").ok("GET", f"groups/{groups['lab-b']['id']}")["level"] == groups["lab-b"]["level"]


def test_a_browser_not_logged_in_goes_through_the_hub_login_and_back(hub: Hub) -> None:
    browser = requests.Session()
    first = browser.get(hub.pages_url + "users", allow_redirects=False, timeout=30)
    assert first.status_code == 302 and first.headers["Location"].startswith("/hub/api/oauth2/authorize?")
    login = browser.get(hub.pages_url + "users", timeout=30)
    assert login.status_code == 200 and login.url.startswith(hub.demo.url + "hub/login?next=")
    r = browser.post(login.url, data={"username": "alice", "password": "any", "_xsrf": browser.cookies["_xsrf"]},
                     timeout=60)
    assert r.url == hub.pages_url + "users"
    assert html(r).select_one("tr[data-user=alice]")


def test_logging_out_from_the_pages_logs_out_of_the_hub(hub: Hub) -> None:
    browser = hub.browser("dave")
    r = browser.get(hub.pages_url + "logout", timeout=30)
    assert r.url.startswith(hub.demo.url + "hub/login"), [h.url for h in r.history]
    again = browser.get(hub.pages_url + "groups", timeout=30)
    assert again.url.startswith(hub.demo.url + "hub/login?next="), again.url


def test_posting_without_the_xsrf_token_is_refused(hub: Hub, alice: requests.Session,
                                                   groups: dict[str, dict]) -> None:
    r = alice.post(hub.pages_url + f"groups/{groups['lab-b']['id']}", data={"level": "read-write"}, timeout=30)
    assert "_xsrf" in error(html(r, 403))
    assert hub.direct("alice").ok("GET", f"groups/{groups['lab-b']['id']}")["level"] == groups["lab-b"]["level"]


# ---- groups ---------------------------------------------------------------------------------------
def test_groups_page_shows_level_kind_members_and_owners(hub: Hub, alice: requests.Session) -> None:
    rows = {}
    url = hub.pages_url + "groups"
    while url:  # every page of the table
        page = html(alice.get(url, timeout=30))
        rows.update({tr["data-group"]: tr for tr in page.select("#groups tbody tr")})
        nxt = page.select_one("nav[aria-label='groups pages'] a.page-link:-soup-contains('Next')")
        url = hub.demo.url.rstrip("/") + nxt["href"] if nxt else None
    lab_a = rows["lab-a"]
    assert lab_a.select_one("select[name=level] option[selected]")["value"] == "read-annotate"
    assert lab_a.select_one(".badge").text.strip() == "hub group"
    cells = [td.text.strip() for td in lab_a.select("td")]
    assert cells[3] == "4" and cells[4] == "erin"
    assert rows["hub-users"].select_one("td:nth-of-type(4)").text.strip() == str(len(USERS))


def test_changing_a_level_on_the_page_changes_it_in_the_api_and_the_audit_log(hub: Hub,
                                                                             alice: requests.Session) -> None:
    api = hub.direct("alice")
    name = f"pages-{uuid.uuid4().hex[:8]}"
    created = form_post(alice, hub, "groups", name=name, level="private", description="made on the page")
    group = next(g for g in api.ok("GET", "groups", params={"limit": 1000})["items"] if g["name"] == name)
    assert created.url == hub.pages_url + f"groups/{group['id']}"
    assert message(html(created)) == f"Group {name} created (private)."
    assert group["level"] == "private" and not group["hub_managed"]

    r = form_post(alice, hub, f"groups/{group['id']}", level="read-write", version=str(group["version"]),
                  next="/services/scopehub/groups")
    assert r.url == hub.pages_url + "groups" and message(html(r)) == f"Group {name} is now read-write."
    assert api.ok("GET", f"groups/{group['id']}")["level"] == "read-write"
    entry = next(e for e in api.ok("GET", "audit", params={"limit": 50})["items"]
                 if e["action"] == "update_group" and e["target_id"] == group["id"])
    assert entry["actor"] == "alice" and entry["target_name"] == name
    assert entry["details"] == {"before": {"level": "private"}, "after": {"level": "read-write"}}
    audit_row = html(alice.get(hub.pages_url + "audit", timeout=30)).select_one(
        f"#audit tr[data-action=update_group][data-target='group:{group['id']}']")
    assert audit_row is not None and "alice" in audit_row.text and name in audit_row.text

    # A page read before someone else's change may not undo it: 409, with the reason.
    stale = form_post(alice, hub, f"groups/{group['id']}", level="private", version=str(group["version"]))
    assert "was changed by someone else" in error(html(stale, 409))
    bad = form_post(alice, hub, f"groups/{group['id']}", level="everyone")
    assert "level" in error(html(bad, 400))
    assert api.ok("GET", f"groups/{group['id']}")["level"] == "read-write"


def test_members_of_a_scopehub_group_are_managed_on_its_page(hub: Hub, alice: requests.Session) -> None:
    api = hub.direct("alice")
    group = api.ok("POST", "groups", 201, json={"name": f"pages-local-{uuid.uuid4().hex[:8]}", "level": "read-only"})
    path = f"groups/{group['id']}"
    carol = api.ok("GET", "users", params={"q": "carol"})["items"][0]

    assert message(html(form_post(alice, hub, f"{path}/members", username="carol"))) == \
        f"carol is now a member of {group['name']}."
    assert message(html(form_post(alice, hub, f"{path}/members/{carol['id']}", action="owner"))) == \
        f"carol is now an owner of {group['name']}."
    assert {m["username"]: m["role"] for m in api.ok("GET", path)["members"]} == {"carol": "owner"}
    page = html(alice.get(hub.pages_url + path, timeout=30))
    assert page.select_one("tr[data-user=carol] .badge").text.strip() == "owner"
    assert page.select_one("#add-member") and not page.select_one("#hub-managed-note")

    unknown = form_post(alice, hub, f"{path}/members", username="nobody-here")
    assert "user nobody-here not found" in error(html(unknown, 404))
    form_post(alice, hub, f"{path}/members/{carol['id']}", action="remove")
    assert api.ok("GET", path)["members"] == []
    actions = [(e["action"], e["details"]) for e in api.ok("GET", "audit", params={"limit": 50})["items"]
               if e["target_type"] == "group" and e["target_id"] == group["id"]]
    assert actions[:3] == [("remove_member", {"user": "carol"}), ("set_member", {"user": "carol", "role": "owner"}),
                           ("set_member", {"user": "carol", "role": "member"})]


def test_a_hub_groups_members_follow_the_hub_and_the_page_says_so(hub: Hub, alice: requests.Session,
                                                                 groups: dict[str, dict]) -> None:
    lab_b = groups["lab-b"]
    page = html(alice.get(hub.pages_url + f"groups/{lab_b['id']}", timeout=30))
    assert "follows the JupyterHub group" in page.select_one("#hub-managed-note").text
    assert not page.select_one("#add-member") and not page.select("button[value=remove]")
    refused = form_post(alice, hub, f"groups/{lab_b['id']}/members", username="dave")
    assert "is a JupyterHub group: add or remove its members in the hub" in error(html(refused, 409))
    assert [m["username"] for m in hub.direct("alice").ok("GET", f"groups/{lab_b['id']}")["members"]] == ["carol"]


# ---- users and their storage --------------------------------------------------------------------
def row_bytes(row) -> dict[str, int]:
    return {td["data-field"]: int(td["data-bytes"]) for td in row.select("td[data-bytes]")}


def test_users_page_lists_everyone_with_admin_flag_groups_and_a_search(hub: Hub, alice: requests.Session) -> None:
    page = html(alice.get(hub.pages_url + "users", timeout=30))
    rows = {tr["data-user"]: tr for tr in page.select("#users tbody tr")}
    assert set(USERS) <= set(rows)
    assert {name for name, tr in rows.items() if tr.select_one(".badge.text-bg-warning")} >= {"alice"}
    assert not rows["bob"].select_one(".badge.text-bg-warning")
    assert {"lab-a", "m-private", "hub-users"} <= {a.text for a in rows["bob"].select("a[href*='/groups/']")}
    found = html(alice.get(hub.pages_url + "users", params={"q": "CAR"}, timeout=30))
    assert [tr["data-user"] for tr in found.select("#users tbody tr")] == ["carol"]
    assert found.select_one("input[name=q]")["value"] == "CAR"


def test_storage_use_matches_the_files_in_the_store(hub: Hub, alice: requests.Session, carol_imports) -> None:
    engine = sa.create_engine(hub.demo.catalogue_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            carol = conn.execute(sa.text("SELECT id FROM experimenters WHERE username = 'carol'")).scalar_one()
            pyramids = conn.execute(sa.text("SELECT id, zarr_path FROM images WHERE owner_id = :o"), {"o": carol}).all()
        # What is on disk: carol's originals folder, and the pyramids of the images she owns.
        originals = sum(p.stat().st_size for p in (hub.store / "originals" / "carol").rglob("*") if p.is_file())
        pyramid_bytes = sum(_tree(hub.store / path) for _, path in pyramids)
        assert len(pyramids) == 2 and originals > 0 and pyramid_bytes > 0

        def shown() -> tuple[dict[str, int], str]:
            page = html(alice.get(hub.pages_url + "users", params={"q": "carol"}, timeout=30))
            row = page.select_one("tr[data-user=carol]")
            return row_bytes(row), " ".join(row.select_one("td[data-field=pyramids]").text.split())

        sizes, text = shown()
        assert sizes == {"originals": originals, "pyramids": pyramid_bytes, "attachments": 0}
        assert text.endswith("2 images")

        # Images imported before sizes were recorded are measured once from the store (what the service
        # does at start and `scopehub db upgrade` does): until then the page says so.
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE images SET pyramid_bytes = NULL WHERE owner_id = :o"), {"o": carol})
        sizes, text = shown()
        assert sizes["pyramids"] == 0 and text.endswith("2 images, 2 not measured")
        db = Database(engine, threads=1)
        try:
            result = measure_unsized(db, hub.store)
        finally:
            db.close()
        assert result.measured >= 2 and not result.missing
        sizes, text = shown()
        assert sizes["pyramids"] == pyramid_bytes and text.endswith("2 images")
    finally:
        engine.dispose()


def _tree(path: Path) -> int:
    return sum(os.lstat(p).st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# ---- import jobs and the audit log --------------------------------------------------------------
def test_import_jobs_page_shows_everyones_jobs_with_status_progress_and_errors(hub: Hub, alice: requests.Session,
                                                                               carol_imports) -> None:
    carol_id = carol_imports[0]["owner"]["id"]
    page = html(alice.get(hub.pages_url + "imports", params={"owner": carol_id}, timeout=30))
    assert page.select_one("#job-filter .badge").text.split()[:2] == ["owner:", "carol"]
    rows = {int(tr["data-job"]): tr for tr in page.select("#jobs tbody tr")}
    for job in carol_imports:
        row = rows[job["id"]]
        assert row["data-status"] == job["status"] and "carol" in row.text
        assert row.select_one("time[datetime]")["datetime"] == job["created"]
    failed = rows[carol_imports[2]["id"]]
    assert failed.select_one(".job-error").text.strip() == carol_imports[2]["error"]
    assert "could not be decoded" in carol_imports[2]["error"]
    done = html(alice.get(hub.pages_url + "imports", params={"status": "failed", "owner": carol_id}, timeout=30))
    assert {tr["data-status"] for tr in done.select("#jobs tbody tr")} == {"failed"}
    assert "status must be one of" in error(html(alice.get(hub.pages_url + "imports", params={"status": "lost"}), 400))


def test_audit_page_pages_through_the_log_and_hides_the_hubs_own_changes_unless_asked(
        hub: Hub, alice: requests.Session) -> None:
    api = hub.direct("alice")
    total = api.ok("GET", "audit", params={"limit": 1, "hub_sync": "false"})["total"]
    assert total > PAGE_SIZE  # the hub fixture's set-up alone made 12 changes
    first = html(alice.get(hub.pages_url + "audit", timeout=30))
    actions = [tr["data-action"] for tr in first.select("#audit tbody tr")]
    assert len(actions) == PAGE_SIZE and not any(a.startswith("hub_sync") for a in actions)
    assert first.select_one("nav[aria-label='entries pages'] span").text.strip() == f"1–{PAGE_SIZE} of {total} entries"
    nxt = first.select_one("nav[aria-label='entries pages'] a.page-link:-soup-contains('Next')")["href"]
    assert nxt == f"/services/scopehub/audit?offset={PAGE_SIZE}"
    second = html(alice.get(hub.demo.url.rstrip("/") + nxt, timeout=30))
    assert second.select_one("nav[aria-label='entries pages'] span").text.startswith(f"{PAGE_SIZE + 1}–")
    # Newest first, and the second page starts where the first ended.
    ids = [int(tr["data-id"]) for page in (first, second) for tr in page.select("#audit tbody tr")]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) > PAGE_SIZE
    with_sync = html(alice.get(hub.pages_url + "audit", params={"hub_sync": "1"}, timeout=30))
    assert with_sync.select_one("#hub-sync").has_attr("checked")
    everything = api.ok("GET", "audit", params={"limit": 1})["total"]
    counted = with_sync.select_one("nav[aria-label='entries pages'] span").text.strip()
    assert counted.endswith(f"of {everything} entries")


def test_pager_links() -> None:
    pager = Pager(offset=20, limit=10, total=35, path="/services/scopehub/users", args=(("q", "a b"),))
    assert (pager.first_row, pager.last_row) == (21, 30)
    assert pager.links == [("First", "/services/scopehub/users?q=a+b"),
                           ("Previous", "/services/scopehub/users?q=a+b&offset=10"),
                           ("Next", "/services/scopehub/users?q=a+b&offset=30"),
                           ("Last", "/services/scopehub/users?q=a+b&offset=30")]
    assert [url for _, url in Pager(0, 10, 10, "/p", ()).links] == [None, None, None, None]
    assert Pager(0, 10, 0, "/p", ()).first_row == 0
