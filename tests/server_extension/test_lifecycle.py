"""The server's life: database work never blocks the event loop; SIGTERM stops the embedded
PostgreSQL; a restart on the same data folder finds every record again."""

from __future__ import annotations

import concurrent.futures
import signal
import tempfile
import time
from pathlib import Path

import psutil
import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from tests.api_client import Api, unique
from tests.jupyter import JupyterServerProcess

PROMPT = 1.0  # seconds within which an unrelated request must be answered


def postmaster(pgdata: Path) -> dict[str, str] | None:
    """What PostgreSQL's postmaster.pid says: pid, data dir, port and socket dir."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    return {"pid": lines[0].strip(), "pgdata": lines[1].strip(), "port": lines[3].strip(), "socket": lines[4].strip()}


def conninfo(catalogue) -> dict[str, str]:
    """How to reach the catalogue's own database directly, for either kind of catalogue."""
    if catalogue.database_url:
        url = make_url(catalogue.database_url)
        return {"host": url.host, "port": str(url.port), "user": url.username, "password": url.password,
                "dbname": url.database}
    info = postmaster(Path(catalogue.data_dir) / "pgdata")
    assert info is not None, "the embedded PostgreSQL is not running"
    return {"host": info["socket"], "port": info["port"], "user": "postgres", "dbname": "scopehub"}


def blocked_requests(watch: psycopg.Connection) -> int:
    """The catalogue's database sessions now waiting for a lock."""
    return watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                         " AND application_name LIKE 'scopehub-%'").fetchone()[0]


def timed(call) -> tuple[float, requests.Response]:
    start = time.perf_counter()
    r = call()
    return time.perf_counter() - start, r


def test_event_loop_never_waits_for_the_database(api: Api, catalogue) -> None:
    """A request stuck behind a table lock inside PostgreSQL does not hold up the others."""
    project = api.ok("POST", "projects", 201, json={"name": unique("locked")})
    info = conninfo(catalogue)
    with psycopg.connect(**info, autocommit=True) as watch, psycopg.connect(**info) as locker:
        locker.execute("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")  # held until rollback
        slow_client = Api(api.base, api.token)  # its own HTTP connection
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow = pool.submit(timed, lambda: slow_client.get(f"projects/{project['id']}"))
            deadline = time.monotonic() + 10
            while blocked_requests(watch) == 0:
                assert time.monotonic() < deadline, "the request never reached the lock"
                assert not slow.done(), slow.result()[1].text
                time.sleep(0.02)
            # While it waits inside PostgreSQL, the server answers everything else at once.
            for path in ("me", "groups", "", "datasets", "users", "openapi.json"):
                elapsed, r = timed(lambda path=path: api.get(path))
                assert r.status_code == 200, (path, r.text)
                assert elapsed < PROMPT, f"GET B/{path} took {elapsed:.2f} s while another request waited"
            # Hold the lock a little longer: the request keeps waiting, and only for the lock.
            time.sleep(PROMPT)
            assert not slow.done() and blocked_requests(watch) == 1
            locker.rollback()
            elapsed, r = slow.result(timeout=30)
    assert r.status_code == 200 and r.json()["id"] == project["id"]
    assert elapsed > PROMPT


def pids_of_cluster(pgdata: Path) -> list[int]:
    """Live postgres processes whose command line names this data folder."""
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "postgres" in (proc.info["name"] or "") and str(pgdata) in cmd and proc.info["status"] != "zombie":
            found.append(proc.info["pid"])
    return found


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_sigterm_stops_embedded_postgres_and_restart_finds_everything() -> None:
    with tempfile.TemporaryDirectory(prefix="scopehub-lifecycle-") as data_dir:
        pgdata = Path(data_dir) / "pgdata"
        args = [f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=admin"]
        with JupyterServerProcess(args) as server:
            api = Api(server.url + "scopehub/api/v1/", server.token)
            group = api.make_group("read-annotate")
            user = api.make_user()
            api.add_member(group["id"], user["username"])
            alice = api.as_user(user["username"])
            project = alice.ok("POST", "projects", 201, json={"name": "survives", "group_id": group["id"]})
            dataset = alice.ok("POST", "datasets", 201, json={"name": "inside", "group_id": group["id"],
                                                              "project_id": project["id"]})
            tag = alice.ok("POST", "annotations", 201, json={"type": "tag", "value": "kept",
                                                             "on": [f"dataset:{dataset['id']}"]})
            r = alice.post("annotations", files={"file": ("notes.txt", b"bytes that stay")},
                           data={"on": f"project:{project['id']}"})
            assert r.status_code == 201, r.text
            attachment = r.json()
            info = postmaster(pgdata)
            assert info is not None and Path(info["pgdata"]).resolve() == pgdata.resolve()
            pid = int(info["pid"])
            assert psutil.pid_exists(pid)
            code = server.stop(signal.SIGTERM)
            log = server.log_text()
        # A clean exit, not the SIGKILL that stop() falls back to.
        assert code == 0, log[-3000:]
        assert gone(pid), f"postgres {pid} still runs after Jupyter stopped"
        assert pids_of_cluster(pgdata) == []
        assert postmaster(pgdata) is None  # a clean shutdown removes it

        with JupyterServerProcess(args) as again:
            api = Api(again.url + "scopehub/api/v1/", again.token)
            alice = api.as_user(user["username"])
            assert alice.ok("GET", f"projects/{project['id']}")["name"] == "survives"
            assert alice.ok("GET", f"datasets/{dataset['id']}")["parents"] == [project["id"]]
            got = alice.ok("GET", "annotations", params={"on": f"dataset:{dataset['id']}"})
            assert [a["id"] for a in got["items"]] == [tag["id"]]
            assert alice.get(f"annotations/{attachment['id']}/file").content == b"bytes that stay"
            me = alice.ok("GET", "me")
            assert [g["id"] for g in me["groups"]] == [group["id"]]
            new_pid = int(postmaster(pgdata)["pid"])
            assert new_pid != pid
        assert gone(new_pid)
