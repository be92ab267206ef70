"""Start-up recovery: what a dead import left behind goes, so that only a failed job remains of it.

- Jobs ``queued`` or ``running`` whose lock no live process holds become ``failed`` ("the server
  stopped during the import; run it again"); their work folder and any files they had moved into
  place (``work_paths``) but that no catalogue row references are removed.
- ``<store>/tmp/*``: work folders and uploads of dead jobs are debris and are removed.
- ``originals/`` and ``pixels/`` entries that no catalogue row references are removed when older than
  a grace period (a writer in another process, such as an attachment upload, moves its file into
  place just before its row commits).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..database import Database
from .jobs import ImportJobManager, is_locked_elsewhere
from .pipeline import remove_tree

log = logging.getLogger(__name__)
STOPPED = "the server stopped during the import; run it again"
ORPHAN_GRACE = 3600.0  # seconds


@dataclass
class RecoveryReport:
    failed_jobs: list[int] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # store-relative paths


def referenced(session: Session, paths: list[str]) -> set[str]:
    """Those of ``paths`` (store-relative) that a catalogue row uses: an image's pyramid, or a folder of
    originals (``originals/<owner>/<date>/<uuid>``)."""
    if not paths:
        return set()
    used = set(session.execute(sa.select(m.Image.zarr_path).where(m.Image.zarr_path.in_(paths))).scalars())
    folder = sa.func.substring(m.OriginalFile.store_path, r"^(originals/[^/]+/[^/]+/[^/]+)/")
    used |= set(session.execute(sa.select(folder).where(folder.in_(paths)).distinct()).scalars())
    return used


def abandon(session: Session, store_root: Path, job: m.ImportJob, reason: str) -> list[str]:
    """Mark ``job`` failed and remove what it left: its work folder, its uploads, its unreferenced moves
    (and, for the commit of a write, the write's chunks: the write fails with it)."""
    ImportJobManager().fail(session, job.id, reason)
    session.execute(sa.update(m.ImageWrite).where(m.ImageWrite.job_id == job.id, m.ImageWrite.status == "committing")
                    .values(status="failed", error=reason, modified=m.now()))
    removed = []
    keep = referenced(session, list(job.work_paths))
    for path in [f"tmp/job-{job.id}", *job.work_paths]:
        if path in keep:
            continue
        full = store_root / path
        if full.exists() or full.is_symlink():
            remove_tree(full)
            removed.append(path)
    return removed


def abandon_job(db: Database, store_root: Path, job_id: int, reason: str, wait: float = 5.0) -> bool:
    """Fail a job whose process died, once its lock is free (the database notices a dead client at once,
    but not always before we ask). False if it had ended or is still held by a live process."""
    deadline = time.monotonic() + wait

    def attempt(session: Session) -> bool | None:
        job = session.get(m.ImportJob, job_id, with_for_update=True)
        if job is None or job.status not in ("queued", "running"):
            return False
        if is_locked_elsewhere(session, job_id):
            return None
        abandon(session, store_root, job, reason)
        return True

    while True:
        result = db.call(attempt)
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            log.warning("import %s: its worker is gone but its lock is still held; leaving it", job_id)
            return False
        time.sleep(0.1)


def recover(db: Database, store_root: Path, grace: float = ORPHAN_GRACE) -> RecoveryReport:
    """Run at start-up, before any worker starts. The chunks of open writes (``B/writes``) stay: a client
    may go on sending them after a restart (expiry is the write service's business)."""
    store_root = Path(store_root)
    report = RecoveryReport()

    def jobs(session: Session) -> set[str]:
        """Fail dead jobs; return the work paths of live ones (another process, e.g. the command line)."""
        live: set[str] = set()
        rows = session.execute(sa.select(m.ImportJob).where(m.ImportJob.status.in_(("queued", "running")))
                               .order_by(m.ImportJob.id).with_for_update()).scalars().all()
        for job in rows:
            if is_locked_elsewhere(session, job.id):
                live.update([f"tmp/job-{job.id}", *job.work_paths])
                continue
            report.removed.extend(abandon(session, store_root, job, STOPPED))
            report.failed_jobs.append(job.id)
        open_writes = session.execute(sa.select(m.ImageWrite.id).where(m.ImageWrite.status == "open")).scalars()
        live.update(f"tmp/write-{i}" for i in open_writes)
        return live

    live = db.call(jobs)
    tmp = store_root / "tmp"
    if tmp.is_dir():
        for entry in sorted(tmp.iterdir()):
            relative = f"tmp/{entry.name}"
            if relative in live:
                continue
            remove_tree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)
            report.removed.append(relative)
        tmp.mkdir(exist_ok=True)
    report.removed.extend(_orphans(db, store_root, live, grace))
    if report.failed_jobs or report.removed:
        log.info("scopehub: recovery failed %d interrupted imports and removed %d leftovers from the store",
                 len(report.failed_jobs), len(report.removed))
    return report


def _orphans(db: Database, store_root: Path, live: set[str], grace: float) -> list[str]:
    """Folders of originals (``originals/<owner>/<date>/<uuid>``) and pyramids (``pixels/<date>/<uuid>.ome.zarr``)
    that no catalogue row references."""
    now = time.time()
    entries: list[str] = []
    for pattern in ("originals/*/*/*", "pixels/*/*"):
        for path in store_root.glob(pattern):
            relative = path.relative_to(store_root).as_posix()
            try:
                old = now - path.lstat().st_mtime >= grace
            except OSError:
                continue
            if old and relative not in live:
                entries.append(relative)
    if not entries:
        return []

    def used(session: Session) -> set[str]:
        out: set[str] = set()
        for start in range(0, len(entries), 10000):
            out |= referenced(session, entries[start:start + 10000])
        return out

    keep = db.call(used)
    removed = []
    for relative in entries:
        if relative not in keep:
            shutil.rmtree(store_root / relative, ignore_errors=True) if (store_root / relative).is_dir() \
                else (store_root / relative).unlink(missing_ok=True)
            removed.append(relative)
    return removed
