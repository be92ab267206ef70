"""A throwaway PostgreSQL cluster that tests reach only by URL, as they would an external server.

It uses Debian's server binaries (/usr/lib/postgresql/<ver>/bin, newest version present) and
assumes nothing is running: each call makes its own cluster on a free TCP port, with password
(scram-sha-256) authentication over TCP, and removes it again on stop.

    with external_postgres() as pg:
        engine = sqlalchemy.create_engine(pg.url)

From a pytest session fixture:

    @pytest.fixture(scope="session")
    def postgres_url():
        with external_postgres() as pg:
            yield pg.url
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATABASE = "scopehub_test"
SUPERUSER = "postgres"
# As root the cluster must belong to an unprivileged user: postgres refuses to run as root.
OS_USER = "postgres"
PORT_ATTEMPTS = 3


def find_pg_bin() -> Path:
    """The bin folder of the newest Debian PostgreSQL install (override: SCOPEHUB_PG_BIN)."""
    if override := os.environ.get("SCOPEHUB_PG_BIN"):
        return Path(override)
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql")
    newest = max(found, key=lambda p: float(Path(p).parts[-3]))
    return Path(newest).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ExternalPostgres:
    """A running throwaway cluster; `url` is what the code under test gets."""

    bin_dir: Path
    root: Path  # removed on stop; holds the data dir, which is also the socket dir
    port: int
    password: str
    database: str = DATABASE

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return (
            f"postgresql+psycopg://{SUPERUSER}:{self.password}"
            f"@127.0.0.1:{self.port}/{self.database}"
        )

    def log_text(self) -> str:
        log = self.data_dir / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its files; safe to call twice."""
        if self.data_dir.joinpath("postmaster.pid").exists():
            _run(self, "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _run(pg: ExternalPostgres, tool: str, *args: str, check: bool = True):
    cmd = [str(pg.bin_dir / tool), *args]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", OS_USER, "--", *cmd]
    # cwd: the OS user may not be allowed into the caller's working directory.
    res = subprocess.run(cmd, cwd=pg.root, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}{pg.log_text()}"
        )
    return res


def start_external_postgres(bin_dir: Path | None = None) -> ExternalPostgres:
    """initdb + start a cluster on a free port, create DATABASE; the caller must stop() it."""
    bin_dir = bin_dir or find_pg_bin()
    # mkdtemp gives 0700; open it so the OS user can reach the data dir inside.
    root = Path(tempfile.mkdtemp(prefix="scopehub-pg-", dir="/tmp"))
    root.chmod(0o755)
    pg = ExternalPostgres(bin_dir, root, port=0, password=secrets.token_urlsafe(24))
    try:
        pg.data_dir.mkdir(mode=0o700)
        pwfile = root / "pwfile"
        pwfile.write_text(pg.password + "\n")
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            for path in (pg.data_dir, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        initdb_args = ["-D", str(pg.data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}"]
        initdb_args += ["--auth-local=trust", "--auth-host=scram-sha-256"]
        initdb_args += ["--encoding=UTF8", "--no-locale", "--no-sync"]
        _run(pg, "initdb", *initdb_args)
        pwfile.unlink()
        # A free port can be taken between probing and binding: retry on a new one.
        for attempt in range(PORT_ATTEMPTS):
            pg.port = _free_port()
            # Durability is pointless for a throwaway cluster; turning it off speeds up tests.
            opts = (
                f"-p {pg.port} -k {pg.data_dir} -c listen_addresses=127.0.0.1"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            # -l matters: without it the server inherits our pipes and run() never returns.
            log = str(pg.data_dir / "server.log")
            start = ["-D", str(pg.data_dir), "-o", opts, "-l", log, "-w", "start"]
            res = _run(pg, "pg_ctl", *start, check=attempt == PORT_ATTEMPTS - 1)
            if res.returncode == 0:
                break
        # Local (unix socket) connections are trusted, so no password is needed here.
        _run(pg, "createdb", "-h", str(pg.data_dir), "-p", str(pg.port), "-U", SUPERUSER, DATABASE)
    except BaseException:
        pg.stop()
        raise
    return pg


@contextlib.contextmanager
def external_postgres(bin_dir: Path | None = None) -> Iterator[ExternalPostgres]:
    """Context manager around start_external_postgres(); stops and deletes the cluster on exit."""
    pg = start_external_postgres(bin_dir)
    try:
        yield pg
    finally:
        pg.stop()
