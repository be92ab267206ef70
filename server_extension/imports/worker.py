"""The import worker pool: a few processes beside the server, one job at a time each.

Workers are started with ``spawn`` (never ``fork``: the server holds database connections and
threads), at a lower CPU priority, on the first job; each keeps its own database connections.
A supervisor thread in the server hands queued jobs to idle workers through one pipe per worker,
so the death of one (even by SIGKILL) touches no other: its job is marked failed, its files are
removed, and a fresh worker takes its place. The server's event loop never waits on an import.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
NICENESS = 10  # imports yield the CPU to tile requests
STOP_GRACE = 10.0  # seconds a stopping worker gets to clean up before it is killed


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker process needs; picklable (the URL carries the password: never put it on a command line)."""

    database_url: str
    store_dir: str
    import_roots: tuple[str, ...]
    log_level: int = logging.INFO


# ---- the worker process -----------------------------------------------------------------------
_state = {"busy": False, "stopping": False}


def _on_sigterm(signum: int, frame: Any) -> None:
    # Idle: leave at once. Busy: the job notices at its next progress step, cleans up and fails.
    _state["stopping"] = True
    if not _state["busy"]:
        raise SystemExit(0)


def worker_main(conn: Connection, settings: WorkerSettings) -> None:
    """Entry point of a worker process: run the jobs the supervisor sends until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the server decides
    signal.signal(signal.SIGTERM, _on_sigterm)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    logging.basicConfig(level=settings.log_level, format="[scopehub import worker %(process)d] %(message)s")
    from ..database import Database, create_engine
    from .jobs import ImportJobManager, job_lock
    from .pipeline import ImportPipeline
    from .roots import ImportRoots

    parent = os.getppid()
    engine = create_engine(settings.database_url, pool_size=2)
    db = Database(engine, threads=1)
    pipeline = ImportPipeline(db, Path(settings.store_dir), ImportRoots(settings.import_roots))
    jobs = ImportJobManager()
    try:
        while not _state["stopping"]:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the server is gone
                break
            if message[0] != "run":
                break
            job_id = message[1]
            _state["busy"] = True
            try:
                with job_lock(engine, job_id):
                    if db.call(jobs.claim, job_id, os.getpid()) is not None:
                        pipeline.run(job_id, should_stop=lambda: _state["stopping"] or os.getppid() != parent)
            except Exception as e:  # outside the pipeline's own handling (the database went away, say)
                log.exception("import %s: the worker failed", job_id)
                with contextlib.suppress(Exception):
                    db.call(jobs.fail, job_id, f"the import worker failed ({type(e).__name__}: {e}); run the "
                            "import again, and if it fails again an admin should look at the server log")
            finally:
                _state["busy"] = False
            try:
                conn.send(("done", job_id))
            except (EOFError, OSError):
                break
    finally:
        db.close()


# ---- the supervisor, in the server --------------------------------------------------------------
class _Worker:
    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection):
        self.process = process
        self.conn = conn
        self.job: int | None = None


class ImportWorkerPool:
    """Hands jobs to ``size`` worker processes; ``on_lost(job_id, reason)`` is called when a worker dies mid-job."""

    def __init__(self, settings: WorkerSettings, size: int, on_lost, context: str = "spawn"):
        self.settings = settings
        self.size = size
        self.on_lost = on_lost
        self.ctx = multiprocessing.get_context(context)
        self._pending: collections.deque[int] = collections.deque()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = self.ctx.Pipe(duplex=False)
        self._thread: threading.Thread | None = None
        self._stopping = False

    # ---- called from the server -----------------------------------------------------------
    def submit(self, job_id: int) -> None:
        with self._lock:
            if self._stopping:
                raise RuntimeError("the import workers are stopping")
            self._pending.append(job_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._supervise, name="scopehub-imports", daemon=True)
                self._thread.start()
        self._wake()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    def shutdown(self, timeout: float = STOP_GRACE) -> list[int]:
        """Stop the workers: idle ones leave, busy ones fail their job cleanly (or are killed after
        ``timeout``). Returns the queued jobs that never started (the caller fails them)."""
        with self._lock:
            self._stopping = True
            pending = list(self._pending)
            self._pending.clear()
            thread = self._thread
        self._wake()
        if thread is not None:
            thread.join(timeout + 5)
        return pending

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(None)

    # ---- the supervisor thread ------------------------------------------------------------
    def _supervise(self) -> None:
        while True:
            with self._lock:
                stopping = self._stopping
            if stopping:
                self._stop_workers()
                return
            try:
                self._dispatch()
                waitables: list[Any] = [self._wake_r]
                for w in self._workers:
                    waitables += [w.conn, w.process.sentinel]
                for ready in wait(waitables, timeout=30):
                    if ready is self._wake_r:
                        with contextlib.suppress(EOFError, OSError):
                            while self._wake_r.poll():
                                self._wake_r.recv()
                        continue
                    self._service(ready)
            except Exception:  # keep supervising: a stuck queue would be worse
                log.exception("scopehub: the import supervisor hit an error")
                time.sleep(1)

    def _service(self, ready: Any) -> None:
        for w in list(self._workers):
            if ready is w.conn:
                try:
                    message = w.conn.recv()
                except (EOFError, OSError):
                    self._reap(w)
                    return
                if message[0] == "done" and w.job == message[1]:
                    w.job = None
                return
            if ready == w.process.sentinel:
                self._reap(w)
                return

    def _dispatch(self) -> None:
        unstarted: list[int] = []
        reason = ""
        with self._lock:
            while self._pending:
                idle = next((w for w in self._workers if w.job is None), None)
                if idle is None and len(self._workers) < self.size:
                    try:
                        idle = self._start_worker()
                    except Exception as e:
                        log.exception("scopehub: could not start an import worker")
                        if self._workers:
                            return  # the running ones take the queue in turn
                        unstarted, reason = list(self._pending), f"{type(e).__name__}: {e}"
                        self._pending.clear()
                        break
                if idle is None:
                    return
                job_id = self._pending.popleft()
                try:
                    idle.conn.send(("run", job_id))
                    idle.job = job_id
                except (EOFError, OSError):
                    self._pending.appendleft(job_id)
                    return
        for job_id in unstarted:
            self.on_lost(job_id, f"no import worker could be started ({reason}); an admin should look at the "
                         "server log")

    def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self.ctx.Pipe(duplex=True)
        process = self.ctx.Process(target=worker_main, args=(child_conn, self.settings),
                                   name="scopehub-import-worker", daemon=False)
        # spawn runs the parent's main script again in the child (as __mp_main__) when it knows its
        # path: for `jupyter server` that is all of jupyter_server, seconds of CPU for nothing.
        main = sys.modules.get("__main__")
        hidden = None
        if main is not None and getattr(main, "__spec__", None) is None:
            hidden = main.__dict__.pop("__file__", None)
        try:
            process.start()
        finally:
            if hidden is not None:
                main.__file__ = hidden
        child_conn.close()
        worker = _Worker(process, parent_conn)
        self._workers.append(worker)
        log.info("scopehub: started import worker %s", process.pid)
        return worker

    def _reap(self, w: _Worker) -> None:
        """A worker died (or closed its pipe): fail its job, forget it; a new one starts on demand."""
        w.process.join(5)
        with self._lock:
            if w in self._workers:
                self._workers.remove(w)
        code = w.process.exitcode
        with contextlib.suppress(OSError):
            w.conn.close()
        if w.job is not None:
            how = (f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}")
            reason = (f"the import worker {how} during the import; run it again (if this repeats, the machine "
                      "may be running out of memory: import fewer or smaller files at once)")
            log.warning("scopehub: import worker %s %s while running import %s", w.process.pid, how, w.job)
            try:
                self.on_lost(w.job, reason)
            except Exception:
                log.exception("scopehub: could not clean up after import %s", w.job)

    def _stop_workers(self) -> None:
        for w in self._workers:
            with contextlib.suppress(EOFError, OSError):
                if w.job is None:
                    w.conn.send(("stop",))
            if w.job is not None and w.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.process.pid, signal.SIGTERM)
        for w in list(self._workers):
            w.process.join(STOP_GRACE)
            if w.process.is_alive():
                log.warning("scopehub: import worker %s did not stop; killing it", w.process.pid)
                w.process.kill()
                w.process.join(5)
            if w.job is not None:
                # It was busy: its own clean-up has marked the job failed, unless it had to be killed.
                try:
                    self.on_lost(w.job, "the server stopped during the import; run it again")
                except Exception:
                    log.exception("scopehub: could not clean up after import %s", w.job)
        self._workers.clear()
