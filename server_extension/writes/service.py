"""What the server holds for writes: the manager, and a thread that removes writes left alone.

An open write that receives nothing for ``write_max_age`` seconds is aborted and its chunks are
removed; so are the chunks of writes that ended (aborted, failed, saved) but whose folder is still
there (a chunk that arrived while its write was being aborted). It runs at start-up, after
recovery, then every ``interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..database import Database
from ..imports.pipeline import remove_tree
from .manager import WriteManager

log = logging.getLogger(__name__)


class WriteService:
    """Created by the server extension at start-up; handlers reach it as ``self.scopehub.extras["writes"]``."""

    def __init__(self, db: Database, store_root: Path, max_age: float, max_bytes: int, interval: float = 600.0):
        self.db = db
        self.store_root = Path(store_root)
        self.max_age = max_age
        self.interval = interval
        self.manager = WriteManager(self.store_root, max_bytes)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> list[str]:
        """Abort writes past their age and remove chunk folders no live write needs; the folders removed."""
        expired = self.db.call(self.manager.expire, self.max_age)
        tmp = self.store_root / "tmp"
        # Listed before the live writes are read: a write opened in between is not in the list.
        folders = sorted(tmp.glob("write-*")) if tmp.is_dir() else []
        live = self.db.call(self.manager.live_folders)
        removed = []
        for folder in folders:
            relative = f"tmp/{folder.name}"
            if relative not in live:
                remove_tree(folder)
                removed.append(relative)
        if expired or removed:
            log.info("scopehub: %d writes expired, %d chunk folders removed", len(expired), len(removed))
        return removed

    def start(self) -> None:
        self.sweep()
        self._thread = threading.Thread(target=self._run, name="scopehub-writes", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # keep sweeping: the database may be back next time
                log.exception("scopehub: removing expired writes failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
