"""User code never gets the database: not from its environment, its files, or the database's socket.

bob's code runs as bob's own system account (the local process spawner); everything here is tried
as bob with ``runuser``, the way code in his kernel would try it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from .conftest import Hub


def as_bob(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "bob", "--", *argv], capture_output=True, text=True, timeout=60)


def _catalogue_url(hub: Hub) -> str:
    text = (hub.demo.workdir / "jupyterhub_config.py").read_text()
    return text.split("database_url=", 1)[1].split(",\n", 1)[0].strip().strip("'\"")


def _server_process(user: str) -> psutil.Process:
    for proc in psutil.process_iter(["username", "cmdline"]):
        if proc.info["username"] == user and any("jupyterhub-singleuser" in a for a in proc.info["cmdline"] or ()):
            return proc
    raise LookupError(f"no server process of {user}")


def test_the_secret_is_what_we_think(hub: Hub) -> None:
    url = _catalogue_url(hub)
    assert url.startswith("postgresql") and "pgdata" in url  # the embedded server's socket folder
    env = psutil.Process(hub.demo.service_pid()).environ()
    assert env["SCOPEHUB_DATABASE_URL"] == url  # the service does get it


def test_user_server_environment_has_no_database(hub: Hub) -> None:
    hub.server_url("bob")
    env = _server_process("bob").environ()
    assert env.get("SCOPEHUB_MODE") == "hub-client" and env.get("SCOPEHUB_SERVICE_URL")
    url = _catalogue_url(hub)
    for key, value in env.items():
        assert "postgresql" not in value.lower() and url not in value, key
        assert not key.startswith(("SCOPEHUB_DATABASE", "PG")), key


def test_bob_cannot_read_the_service_or_its_files(hub: Hub) -> None:
    service = hub.demo.service_pid()
    for path in (f"/proc/{service}/environ", str(hub.demo.workdir / "jupyterhub_config.py"),
                 str(hub.demo.workdir / "scopehub-data" / "store"), str(hub.demo.workdir / "pgdata")):
        r = as_bob("cat" if not Path(path).is_dir() else "ls", path)
        assert r.returncode != 0 and "Permission denied" in r.stderr, (path, r.stdout[:200], r.stderr)
    # No process's command line (world-readable) names the database.
    url = _catalogue_url(hub)
    r = as_bob("sh", "-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '")
    assert url not in r.stdout and "SCOPEHUB_DATABASE_URL" not in r.stdout
    # Nor does anything bob can read in the hub's working folder or his home.
    r = as_bob("grep", "-rls", "postgresql", str(hub.demo.workdir), os.path.expanduser("~bob"))
    assert r.stdout.strip() == "", r.stdout


def test_bob_cannot_connect_to_the_database(hub: Hub) -> None:
    url = _catalogue_url(hub)
    code = ("import sys, psycopg; url = sys.argv[1].replace('postgresql+psycopg', 'postgresql');\n"
            "try:\n    psycopg.connect(url, connect_timeout=5).close(); print('CONNECTED')\n"
            "except Exception as e:\n    print('refused:', e)")
    r = as_bob(sys.executable, "-c", code, url)
    assert "CONNECTED" not in r.stdout and "refused" in r.stdout, (r.stdout, r.stderr)
    assert "Permission denied" in r.stdout or "permission denied" in r.stdout.lower()
    # Root (the service's account) can: the check above is about bob, not a broken URL.
    r = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, timeout=60)
    assert "CONNECTED" in r.stdout, r.stdout + r.stderr
