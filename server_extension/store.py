"""The managed store: files kept byte for byte, checksummed, read-only, never written again."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path

from .catalogue.errors import BadRequest, TooLarge

CHUNK = 1 << 20


def safe_name(name: str) -> str:
    """A file name that cannot climb out of its folder or hide (the original name stays in the catalogue)."""
    base = os.path.basename(name.replace("\\", "/")).strip()
    base = re.sub(r"[\x00-\x1f]", "", base).lstrip(".")
    # At most 200 bytes once encoded (file systems allow 255): 200 characters of "é" would be 400.
    base = base.encode("utf-8", "surrogatepass")[:200].decode("utf-8", "ignore")
    return base or "file"


class ManagedStore:
    """Originals live under ``root/originals/{owner}/{date}/{unique}/{name}``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "originals").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def put(self, owner: str, name: str, chunks: Iterable[bytes], max_size: int) -> dict:
        """Copy ``chunks`` into the store; returns name, size, sha256 and the store path."""
        if not name:
            raise BadRequest("the file needs a name")
        digest = hashlib.sha256()
        size = 0
        tmp = self.root / "tmp" / f"{uuid.uuid4().hex}.part"
        try:
            with open(tmp, "xb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_size:
                        raise TooLarge(f"the file is larger than the limit of {max_size} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            relative = Path("originals") / safe_name(owner) / dt.date.today().isoformat() / uuid.uuid4().hex / safe_name(name)
            final = self.root / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            os.chmod(final, stat.S_IRUSR | stat.S_IRGRP)
        finally:
            tmp.unlink(missing_ok=True)
        return {"name": name[:255], "size": size, "sha256": digest.hexdigest(), "store_path": relative.as_posix()}

    def path(self, store_path: str) -> Path:
        full = (self.root / store_path).resolve()
        if not full.is_relative_to(self.root.resolve()):
            raise BadRequest("not a store path")
        return full

    def remove(self, store_path: str) -> None:
        """Remove a file or folder (an image's OME-Zarr pyramid) whose catalogue record is gone, and the
        folders it leaves empty, up to the fileset's own folder (``originals/<owner>/<date>/<uuid>``)."""
        full = self.path(store_path)
        if full == self.root.resolve():
            raise BadRequest("not a store path")
        if full.is_dir() and not full.is_symlink():
            shutil.rmtree(full, ignore_errors=True)
        else:
            full.unlink(missing_ok=True)
        parent = full.parent
        # Shared folders (an owner's, a day's) stay: another import may be moving into them right now.
        while len(parent.relative_to(self.root.resolve()).parts) > 3:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
