"""Images written from a client: create a write, check its chunks, commit it as a job, abort, expire.

A write is a row of ``image_writes``: open -> committing -> done | failed, or open -> aborted (by
its owner, or when left alone longer than ``ScopehubApp.write_max_age``). Only its owner may use it
(anyone else gets 404, as for an object they cannot see). Committing makes an import job that builds
the pyramid from the uploaded chunks and inserts the image in one transaction (``commit.py``).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..catalogue.containers import _iso
from ..catalogue.errors import BadRequest, Conflict, Forbidden, NotFound, TooLarge
from ..catalogue.permissions import Caller
from ..catalogue.provenance import ProvenanceManager
from ..catalogue.queries import ListQuery, Page, count
from ..imports.jobs import ImportJobManager
from ..pixels.info import DEFAULT_COLORS, PIXEL_TYPES
from ..pixels.readers.base import DEFAULT_MAX_PLANE_PIXELS
from .chunks import CHUNK_SHAPE, ChunkGrid, UploadedChunks, relative_folder, write_folder

# A chunk upload refreshes the write's activity time at most this often (seconds): one cheap UPDATE
# a minute, not one per chunk.
TOUCH_INTERVAL = 60
jobs = ImportJobManager()


def _dtype_hint(name: str) -> str:
    """What to do with a type the store does not keep."""
    if name in ("int64", "uint64"):
        return " (64-bit integers: cast with array.astype('int32') or 'uint32' if the values fit)"
    if name == "bool":
        return " (masks: cast with array.astype('uint8'))"
    if name == "float16":
        return " (cast with array.astype('float32'))"
    return ""


class WriteManager:
    """Writes for a caller; ``store_root`` is where their chunks wait."""

    def __init__(self, store_root: Path, max_bytes: int = 2**40):
        self.store_root = Path(store_root)
        self.max_bytes = max_bytes

    # ---- replies -------------------------------------------------------------------------
    def describe(self, session: Session, write: m.ImageWrite) -> dict[str, Any]:
        job = None
        if write.job_id is not None:
            row = session.get(m.ImportJob, write.job_id)
            if row is not None:
                job = {"id": row.id, "status": row.status, "progress": round(row.progress, 4),
                       "message": row.message, "error": row.error}
        meta = write.metadata_ or {}
        return {
            "id": write.id,
            "status": write.status,
            "name": write.name,
            "description": write.description,
            "dataset_id": write.dataset_id,
            "group_id": write.group_id,
            "shape": list(write.shape),
            "dtype": write.pixel_type,
            "chunk_shape": list(CHUNK_SHAPE),
            "chunks": ChunkGrid(write.shape, write.pixel_type).count,
            "channels": meta.get("channels", []),
            "physical_size": meta.get("physical_size", {}),
            "label": bool(meta.get("is_label")),
            "job": job,
            "image_id": write.image_id,
            "error": write.error,
            "created": _iso(write.created),
            "modified": _iso(write.modified),
        }

    # ---- create --------------------------------------------------------------------------
    def create(self, session: Session, caller: Caller, fields: dict[str, Any]) -> dict[str, Any]:
        """Check everything the image will need (target, shape, type, channels, provenance) and open a write."""
        if not caller.can_write:
            raise Forbidden("this token may only read")
        group_id = jobs.check_target(session, caller, fields.get("dataset_id"), None)
        shape = [int(s) for s in fields["shape"]]
        dtype = fields["dtype"]
        if dtype not in PIXEL_TYPES:
            raise BadRequest(f"pixel type {dtype!r} is not supported: the store keeps {', '.join(PIXEL_TYPES)}"
                             + _dtype_hint(dtype))
        t, c, z, y, x = shape
        if y * x > DEFAULT_MAX_PLANE_PIXELS:
            raise BadRequest(f"a plane of {y} × {x} pixels is more than the limit of {DEFAULT_MAX_PLANE_PIXELS}")
        total = math.prod(shape) * np.dtype(dtype).itemsize
        if total > self.max_bytes:
            raise TooLarge(f"the image holds {total / 2**30:.1f} GiB of pixels, more than the limit of "
                           f"{self.max_bytes / 2**30:.1f} GiB (an admin sets ScopehubApp.max_write_size)")
        names = fields.get("channel_names")
        colors = fields.get("channel_colors")
        for what, values in (("channel_names", names), ("channel_colors", colors)):
            if values is not None and len(values) != c:
                raise BadRequest(f"{what} has {len(values)} entries for {c} channel{'s' * (c != 1)}")
        if colors is None:
            colors = ["FFFFFF"] if c == 1 else [DEFAULT_COLORS[i % len(DEFAULT_COLORS)] for i in range(c)]
        channels = [{"name": (names[i] if names else "") or f"Channel {i}", "color": colors[i].upper()}
                    for i in range(c)]
        physical = {k: v for k, v in (fields.get("physical_size") or {}).items() if v is not None}
        for axis, value in physical.items():
            if not (math.isfinite(value) and value > 0):
                raise BadRequest(f"physical_size.{axis} must be a positive number of micrometres")
        provenance = fields.get("provenance")
        checked = ProvenanceManager().check(session, caller, provenance) if provenance is not None else None
        dataset_id = fields.get("dataset_id")
        write = m.ImageWrite(owner_id=caller.user_id, group_id=group_id, status="open", dataset_id=dataset_id,
                             to_dataset=dataset_id is not None, name=fields["name"],
                             description=fields.get("description") or "", shape=shape, pixel_type=dtype,
                             metadata_={"channels": channels, "physical_size": physical,
                                        "is_label": bool(fields.get("label"))},
                             provenance=checked)
        session.add(write)
        session.flush()
        return self.describe(session, write)

    # ---- read ----------------------------------------------------------------------------
    def owned(self, session: Session, caller: Caller, write_id: int, lock: bool = False) -> m.ImageWrite:
        """The caller's own write; anyone else's (or none) is a 404."""
        stmt = sa.select(m.ImageWrite).where(m.ImageWrite.id == write_id)
        write = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if write is None or write.owner_id != caller.user_id:
            raise NotFound(f"write {write_id} not found")
        return write

    def get(self, session: Session, caller: Caller, write_id: int) -> dict[str, Any]:
        return self.describe(session, self.owned(session, caller, write_id))

    def list(self, session: Session, caller: Caller, query: ListQuery, status: str | None = None) -> Page:
        """The caller's writes, newest first."""
        stmt = sa.select(m.ImageWrite).where(m.ImageWrite.owner_id == caller.user_id)
        if status is not None:
            if status not in m.WRITE_STATES:
                raise BadRequest(f"status must be one of {', '.join(m.WRITE_STATES)}")
            stmt = stmt.where(m.ImageWrite.status == status)
        total = count(session, stmt)
        rows = session.execute(stmt.order_by(m.ImageWrite.id.desc()).offset(query.offset).limit(query.limit))
        return Page([self.describe(session, w) for w in rows.scalars()], query.offset, query.limit, total)

    # ---- chunks --------------------------------------------------------------------------
    def chunk_grid(self, session: Session, caller: Caller, write_id: int) -> ChunkGrid:
        """Where a chunk of an open write may go: 404 if not the caller's, 409 unless open."""
        if not caller.can_write:
            raise Forbidden("this token may only read")
        row = session.execute(sa.select(m.ImageWrite.owner_id, m.ImageWrite.status, m.ImageWrite.shape,
                                        m.ImageWrite.pixel_type).where(m.ImageWrite.id == write_id)).first()
        if row is None or row.owner_id != caller.user_id:
            raise NotFound(f"write {write_id} not found")
        if row.status != "open":
            raise Conflict(f"write {write_id} is {row.status}: it takes no more chunks")
        session.execute(sa.update(m.ImageWrite).where(
            m.ImageWrite.id == write_id,
            m.ImageWrite.modified < sa.func.now() - dt.timedelta(seconds=TOUCH_INTERVAL)).values(modified=m.now()))
        return ChunkGrid(row.shape, row.pixel_type)

    def chunks(self, write_id: int, grid: ChunkGrid) -> UploadedChunks:
        return UploadedChunks(write_folder(self.store_root, write_id), grid)

    # ---- commit and abort ----------------------------------------------------------------
    def commit(self, session: Session, caller: Caller, write_id: int) -> dict[str, Any]:
        """Check every chunk is there and queue the job that makes the image (409 with what is missing)."""
        write = self.owned(session, caller, write_id, lock=True)
        self._require_open(write)
        if write.to_dataset and write.dataset_id is None:
            raise NotFound(f"the dataset of write {write_id} was deleted; nothing was saved")
        absent, first = self.chunks(write_id, ChunkGrid(write.shape, write.pixel_type)).missing()
        if absent:
            total = ChunkGrid(write.shape, write.pixel_type).count
            shown = ", ".join(f"t={t} c={c} z={z} yi={yi} xi={xi}" for t, c, z, yi, xi in first)
            raise Conflict(f"{absent} of {total} chunks of write {write_id} are missing (first: {shown}); "
                           "send them, then commit again")
        request: dict[str, Any] = {"write_id": write.id, "name": write.name}
        if write.to_dataset:
            request["dataset_id"] = write.dataset_id
        job = jobs.create(session, caller, request, work_paths=[relative_folder(write.id)])
        write.status, write.job_id, write.modified = "committing", job.id, m.now()
        session.flush()
        return self.describe(session, write)

    def reopen(self, session: Session, write_id: int, job_id: int, reason: str) -> None:
        """A commit whose job could not be queued: the job fails, the write is open again."""
        jobs.fail(session, job_id, reason)
        session.execute(sa.update(m.ImageWrite).where(m.ImageWrite.id == write_id, m.ImageWrite.job_id == job_id)
                        .values(status="open", job_id=None, modified=m.now()))

    def abort(self, session: Session, caller: Caller, write_id: int) -> Path:
        """Abandon an open write; returns its folder, for the caller to remove once this commits."""
        write = self.owned(session, caller, write_id, lock=True)
        if write.status == "committing":
            raise Conflict(f"write {write_id} is being saved (import {write.job_id}); it can no longer be aborted")
        if write.status == "done":
            raise Conflict(f"write {write_id} was saved as image {write.image_id}; delete the image instead")
        if write.status == "open":
            write.status, write.error, write.modified = "aborted", "aborted by its owner", m.now()
        return write_folder(self.store_root, write_id)

    def _require_open(self, write: m.ImageWrite) -> None:
        if write.status == "committing":
            raise Conflict(f"write {write.id} is already being saved (import {write.job_id})")
        if write.status == "done":
            raise Conflict(f"write {write.id} was already saved as image {write.image_id}")
        if write.status != "open":
            raise Conflict(f"write {write.id} was {write.status}" + (f": {write.error}" if write.error else ""))

    # ---- expiry --------------------------------------------------------------------------
    def expire(self, session: Session, max_age: float) -> list[int]:
        """Abort open writes that have received nothing for ``max_age`` seconds; their ids."""
        hours = max_age / 3600
        return list(session.execute(
            sa.update(m.ImageWrite)
            .where(m.ImageWrite.status == "open",
                   m.ImageWrite.modified < sa.func.now() - dt.timedelta(seconds=max_age))
            .values(status="aborted", modified=m.now(),
                    error=f"expired: nothing was sent for {hours:.3g} hours (ScopehubApp.write_max_age)")
            .returning(m.ImageWrite.id)).scalars())

    def live_folders(self, session: Session) -> set[str]:
        """Store-relative folders of writes that still need their chunks (open or being saved)."""
        ids = session.execute(sa.select(m.ImageWrite.id).where(
            m.ImageWrite.status.in_(("open", "committing")))).scalars()
        return {relative_folder(i) for i in ids}
