"""How many bytes each image's stored pyramid takes: measured at import, and once for older images.

An import records the size of every pyramid it writes (``images.pyramid_bytes``), so that storage use
is a sum in SQL. Images imported before that column existed (schema revision 0004) have NULL there;
:func:`measure_unsized` walks their pyramids in the store once and fills it in. The server runs it in
the background when it starts, and ``scopehub db upgrade`` runs it after upgrading.

Sizes are apparent sizes (``st_size``, what ``du --apparent-size`` counts), as the originals' sizes
are: the bytes kept, not the file system's blocks.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..database import Database

log = logging.getLogger(__name__)
BATCH = 200


def tree_bytes(path: Path) -> int:
    """The apparent size of a file, or of every file under a folder (symbolic links are not followed)."""
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path):
        return st.st_size
    total = 0
    for folder, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:  # removed while we walk
                continue
    return total


@dataclass
class Measured:
    """What :func:`measure_unsized` did."""

    measured: int = 0
    bytes: int = 0
    missing: list[int] = field(default_factory=list)  # ids of images whose pyramid is not in the store


def measure_unsized(db: Database, store_root: Path, batch: int = BATCH) -> Measured:
    """Measure, in the store, the pyramids of images that have none recorded; one transaction per batch."""
    result = Measured()
    after = 0
    root = Path(store_root).resolve()
    while True:
        rows = db.call(_unsized, after, batch)
        if not rows:
            return result
        sizes: dict[int, int] = {}
        for image_id, zarr_path in rows:
            path = (root / zarr_path).resolve()
            if not path.is_relative_to(root) or not path.exists():
                result.missing.append(image_id)
                continue
            sizes[image_id] = tree_bytes(path)
        if sizes:
            db.call(_record, sizes)
        result.measured += len(sizes)
        result.bytes += sum(sizes.values())
        after = rows[-1][0]


def measure_in_background(db: Database, store_root: Path, logger: logging.Logger | None = None) -> None:
    """:func:`measure_unsized`, logging what it did; for a thread started with the server."""
    logger = logger or log
    try:
        result = measure_unsized(db, store_root)
    except Exception:  # the server may be stopping (the pool closed): it tries again at the next start
        logger.warning("scopehub: measuring stored pyramids failed", exc_info=True)
        return
    if result.measured:
        logger.info("scopehub: measured the stored pyramids of %d images (%d bytes)", result.measured, result.bytes)
    if result.missing:
        logger.warning("scopehub: %d images have no pyramid in the store (ids %s); their size stays unknown",
                       len(result.missing), ", ".join(map(str, result.missing[:20])))


def _unsized(session: Session, after: int, batch: int) -> list[tuple[int, str]]:
    return list(session.execute(
        sa.select(m.Image.id, m.Image.zarr_path)
        .where(m.Image.pyramid_bytes.is_(None), m.Image.zarr_path.is_not(None), m.Image.id > after)
        .order_by(m.Image.id).limit(batch)).all())


def _record(session: Session, sizes: dict[int, int]) -> None:
    # Only where still unknown: an image re-imported meanwhile keeps what its import recorded.
    for image_id, size in sizes.items():
        session.execute(sa.update(m.Image).where(m.Image.id == image_id, m.Image.pyramid_bytes.is_(None))
                        .values(pyramid_bytes=size))
