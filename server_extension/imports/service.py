"""What the server holds for imports: the import roots, the upload limit, the worker pool, recovery."""

from __future__ import annotations

import logging
from pathlib import Path

from ..database import Database
from .recovery import RecoveryReport, abandon_job, recover
from .roots import ImportRoots
from .worker import ImportWorkerPool, WorkerSettings

log = logging.getLogger(__name__)


class ImportService:
    """Created by the server extension at start-up; handlers reach it as ``self.scopehub.extras["imports"]``."""

    def __init__(self, db: Database, store_root: Path, database_url: str, roots: list[str], workers: int,
                 max_upload_size: int, app_log: logging.Logger | None = None):
        if app_log is not None:
            # What the supervisor, recovery and the pipeline say goes where the server's own log goes.
            package = logging.getLogger(__package__)
            package.setLevel(logging.INFO)
            package.propagate = False
            for handler in app_log.handlers:
                if handler not in package.handlers:
                    package.addHandler(handler)
        self.db = db
        self.store_root = Path(store_root)
        self.roots = ImportRoots(roots)
        self.max_upload_size = max_upload_size
        settings = WorkerSettings(database_url=database_url, store_dir=str(self.store_root),
                                  import_roots=tuple(str(r) for r in self.roots.roots))
        self.pool = ImportWorkerPool(settings, workers, on_lost=self._lost)

    def recover(self) -> RecoveryReport:
        """At start-up, before any job runs: fail what a dead process left running, remove its files."""
        return recover(self.db, self.store_root)

    def submit(self, job_id: int) -> None:
        self.pool.submit(job_id)

    def _lost(self, job_id: int, reason: str) -> None:
        abandon_job(self.db, self.store_root, job_id, reason)

    def shutdown(self) -> None:
        """Stop the workers; jobs that never started fail with a reason."""
        for job_id in self.pool.shutdown():
            abandon_job(self.db, self.store_root, job_id, "the server stopped before the import started; run it again")
