"""The admin pages' queries on a catalogue the size of a facility's: 10^4 users in 100 groups, 10^4 import
jobs, 10^5 images and originals, 10^4 audit entries. Each page (first, last, a search) is read in
tens of milliseconds on an idle machine; the numbers are printed (``pytest -s``).

The pages read through these functions in one transaction each (``hub_extension/pages.py``), so this
times exactly their SQL, on a fresh database of the session's external PostgreSQL.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from scopehub.hub_extension import pages
from scopehub.server_extension.catalogue import schema
from scopehub.server_extension.catalogue.permissions import load_caller
from scopehub.server_extension.catalogue.queries import ListQuery

USERS, GROUPS, JOBS, IMAGES, AUDIT = 10_000, 100, 10_000, 100_000, 10_000
LIMIT = 50
# Seconds for one page's reads. A quiet 2-core machine does each in 10-50 ms (run with -s to see); the
# budget leaves room for a machine busy with other test runs (seen 5-10 times slower), not for reading
# whole tables per row shown.
BUDGET = 2.0


@pytest.fixture(scope="module")
def engine(external_database_url: str) -> Iterator[Engine]:
    name = f"pages_scale_{secrets.token_hex(4)}"
    admin = sa.create_engine(external_database_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(make_url(external_database_url).set(database=name), poolclass=sa.NullPool)
    try:
        schema.upgrade(engine)
        with engine.begin() as conn:
            _fill(conn)
        # What autovacuum does soon after a bulk load, so that the covering indexes answer alone.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _fill(conn) -> None:
    run = lambda sql, **kw: conn.execute(sa.text(sql), kw)  # noqa: E731
    run("INSERT INTO groups (name, description, level, hub_managed, version) "
        "SELECT 'group-' || lpad(g::text, 3, '0'), '', 'read-only', g % 2 = 0, 1 FROM generate_series(1, :n) g",
        n=GROUPS)
    run("INSERT INTO experimenters (username, display_name, email, is_admin) "
        "SELECT 'user-' || lpad(u::text, 5, '0'), 'User ' || u, '', u = 1 FROM generate_series(1, :n) u", n=USERS)
    # Two groups each; one owner in ten.
    run("INSERT INTO memberships (group_id, user_id, role) "
        "SELECT g.id, e.id, CASE WHEN e.id % 10 = 0 THEN 'owner' ELSE 'member' END FROM experimenters e "
        "JOIN groups g ON g.id IN (1 + e.id % :g, 1 + (e.id + 7) % :g)", g=GROUPS)
    run("INSERT INTO filesets (name, owner_id, group_id, version) "
        "SELECT 'set ' || i, 1 + i % :u, 1 + i % :g, 1 FROM generate_series(1, :n) i", u=USERS, g=GROUPS, n=IMAGES)
    run("INSERT INTO original_files (fileset_id, name, client_path, size, sha256, mimetype, store_path, owner_id, "
        "group_id, version) SELECT f.id, 'f.tif', '', 1000 + f.id, repeat('0', 64), 'image/tiff', 'originals/x', "
        "f.owner_id, f.group_id, 1 FROM filesets f")
    run("INSERT INTO images (fileset_id, series, instrument, name, description, owner_id, group_id, version, "
        "zarr_path, pyramid_bytes) SELECT f.id, 0, '{}', 'image ' || f.id, '', f.owner_id, f.group_id, 1, "
        "'pixels/x.ome.zarr', 2000 + f.id FROM filesets f")
    run("INSERT INTO import_jobs (status, progress, message, request, image_ids, work_paths, owner_id, group_id, "
        "version, started, finished) SELECT (ARRAY['done', 'failed', 'done', 'queued'])[1 + i % 4], 1, 'm', "
        "jsonb_build_object('paths', jsonb_build_array('a/b' || i || '.tif')), jsonb_build_array(i), '[]', "
        "1 + i % :u, 1 + i % :g, 1, now(), now() FROM generate_series(1, :n) i", u=USERS, g=GROUPS, n=JOBS)
    run("INSERT INTO audit_log (actor_id, action, target_type, target_id, details) "
        "SELECT 1, CASE WHEN i % 3 = 0 THEN 'hub_sync_join' ELSE 'update_group' END, 'group', 1 + i % :g, '{}' "
        "FROM generate_series(1, :n) i", g=GROUPS, n=AUDIT)


def timed(engine: Engine, fn, *args) -> tuple[float, object]:
    """The median of three runs of ``fn(session, admin, *args)``, each in its own transaction."""
    seconds, result = [], None
    for _ in range(3):
        with Session(engine) as session:
            admin = load_caller(session, 1)
            start = time.perf_counter()
            result = fn(session, admin, *args)
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def test_every_page_reads_fast_at_facility_scale(engine: Engine) -> None:
    last = (USERS - 1) // LIMIT * LIMIT
    cases = {
        "users, first page": (pages._users, ListQuery(limit=LIMIT)),
        "users, last page": (pages._users, ListQuery(offset=last, limit=LIMIT)),
        "users, search": (pages._users, ListQuery(limit=LIMIT, q="user-0999")),
        "groups": (pages._groups, ListQuery(limit=LIMIT)),
        "group, its members": (pages._group, 5, ListQuery(offset=50, limit=LIMIT)),
        "import jobs, first page": (pages._imports, ListQuery(limit=LIMIT), None),
        "import jobs, last page, failed": (pages._imports, ListQuery(offset=2450, limit=LIMIT), "failed"),
        "import jobs of one owner": (pages._imports, ListQuery(limit=LIMIT, owner=7), None),
        "audit log, last page": (pages._audit, ListQuery(offset=6600, limit=LIMIT), False),
    }
    results = {}
    for label, (fn, *args) in cases.items():
        seconds, results[label] = timed(engine, fn, *args)
        print(f"{label:34} {seconds * 1000:7.1f} ms")
        assert seconds < BUDGET, (label, seconds)

    page, usage = results["users, first page"]
    assert page.total == USERS and len(page.items) == LIMIT
    first = page.items[0]
    # user-00001 owns the filesets and images i with i % USERS == 0, i.e. USERS, 2*USERS, ...
    mine = range(USERS, IMAGES + 1, USERS)
    assert usage[first["id"]] == {"original_files": len(mine), "original_bytes": sum(1000 + i for i in mine),
                                  "attachment_files": 0, "attachment_bytes": 0, "images": len(mine),
                                  "pyramid_bytes": sum(2000 + i for i in mine), "unmeasured_images": 0}
    assert len(results["users, last page"][0].items) == USERS - last
    assert [u["username"] for u in results["users, search"][0].items] == [f"user-0999{i}" for i in range(10)]
    group, summary, members = results["group, its members"]
    assert summary["members"] == members.total == 200 and len(members.items) == LIMIT
    jobs, owner = results["import jobs of one owner"]
    assert owner == "user-00007" and jobs.total == JOBS // USERS
    failed, _ = results["import jobs, last page, failed"]
    assert failed.total == JOBS // 4 and {j["status"] for j in failed.items} == {"failed"}
    audit = results["audit log, last page"]
    assert audit.total == AUDIT - AUDIT // 3 and audit.items[-1]["actor"] == "user-00001"
