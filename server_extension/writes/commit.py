"""The job that turns a write's uploaded chunks into a catalogue image, all or nothing.

It runs in an import worker, like an import: the pyramid is built with ``pixels.writer.write_pyramid``
from level 0 read back out of the uploaded chunks (``UploadedLevel``) into the job's work folder
``<store>/tmp/job-<id>/``; then one transaction inserts the image, its channels, its dataset link and
its provenance, marks the write and the job done, and moves the pyramid into ``pixels/`` with
``os.replace`` just before it commits. On any failure the job and the write are failed with a reason
and every file is removed; the catalogue is as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..catalogue.errors import CatalogueError
from ..catalogue.permissions import Caller
from ..catalogue.provenance import ProvenanceManager
from ..database import Database
from ..imports.jobs import ImportJobManager
from ..imports.originals import text
from ..imports.pipeline import ImportStopped, Listener, Progress, channel_rows, describe_error, image_row, remove_tree
from ..imports.pyramid_sizes import tree_bytes
from ..pixels.info import ChannelInfo, ImageInfo
from ..pixels.readers.base import SourceImage
from ..pixels.writer import write_pyramid
from .chunks import ChunkGrid, UploadedChunks, UploadedLevel, write_folder

log = logging.getLogger(__name__)


def image_info(write: m.ImageWrite) -> ImageInfo:
    """What the image will be, from what the client declared."""
    t, c, z, y, x = write.shape
    meta = write.metadata_ or {}
    physical = meta.get("physical_size") or {}
    channels = [ChannelInfo(name=ch.get("name", ""), color=ch.get("color", "FFFFFF"))
                for ch in meta.get("channels", [])]
    return ImageInfo(name=write.name, size_x=x, size_y=y, size_z=z, size_c=c, size_t=t, pixel_type=write.pixel_type,
                     physical_size_x=physical.get("x"), physical_size_y=physical.get("y"),
                     physical_size_z=physical.get("z"), description=write.description, channels=channels,
                     is_label=bool(meta.get("is_label")), format="client")


class WriteCommit:
    """Runs the commit job of one write (a job this process has claimed and holds the lock of)."""

    def __init__(self, db: Database, store_root: Path):
        self.db = db
        self.root = Path(store_root)
        self.jobs = ImportJobManager()

    def run(self, job: m.ImportJob, caller: Caller, listener: Listener | None = None,
            should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
        write_id = int(job.request["write_id"])
        work = self.root / "tmp" / f"job-{job.id}"
        moved: list[Path] = []
        progress = Progress(self.db, job.id, listener, should_stop)
        try:
            write = self.db.call(self._load_write, write_id)
            info = image_info(write)
            grid = ChunkGrid(write.shape, write.pixel_type)
            source = SourceImage(info=info, levels=[UploadedLevel(UploadedChunks(write_folder(self.root, write_id),
                                                                                 grid))])
            pixel_bytes = info.size_x * info.size_y * info.size_z * info.size_c * info.size_t * grid.dtype.itemsize
            progress.plan(0, pixel_bytes)
            progress.stage(f"building the pyramid of {write.name}")
            progress.start_image(pixel_bytes * 3.0)
            work.mkdir(parents=True, exist_ok=True)
            destination = work / "pixels.ome.zarr"
            pyramid = write_pyramid(source, destination, progress=progress.image, label=info.is_label)
            progress.end_image()
            pyramid.stored_bytes = tree_bytes(destination)  # storage use, as an import records it
            # The chunks are in the pyramid now; a failure from here on fails the write anyway.
            shutil.rmtree(write_folder(self.root, write_id), ignore_errors=True)
            progress.stage("saving to the catalogue")
            self._commit(job.id, write_id, caller, info, pyramid, destination, moved)
            if listener is not None:
                listener(1.0, "done")
        except BaseException as e:
            reason = text(describe_error(e, f"write {write_id}"))
            if isinstance(e, CatalogueError | ImportStopped):
                log.info("write %s failed: %s", write_id, reason)
            else:
                log.exception("write %s failed: %s", write_id, reason)
            for path in moved:
                remove_tree(path)
            self.db.call(self._fail, job.id, write_id, reason)
            if not isinstance(e, Exception):
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(write_folder(self.root, write_id), ignore_errors=True)
        return self.db.call(lambda s: self.jobs.describe(s, [s.get(m.ImportJob, job.id)])[0])

    def _load_write(self, session: Session, write_id: int) -> m.ImageWrite:
        write = session.get(m.ImageWrite, write_id)
        if write is None or write.status != "committing":
            raise ImportStopped(f"write {write_id} is no longer being saved")
        session.expunge(write)
        return write

    def _commit(self, job_id: int, write_id: int, caller: Caller, info: ImageInfo, pyramid: Any, destination: Path,
                moved: list[Path]) -> None:
        relative = f"pixels/{dt.date.today().isoformat()}/{uuid.uuid4().hex}.ome.zarr"
        # Recorded first: if this process dies between the move and the commit, recovery finds it.
        self.db.call(self.jobs.add_work_paths, job_id, [relative])

        def transaction(session: Session) -> None:
            job = session.get(m.ImportJob, job_id, with_for_update=True)
            write = session.get(m.ImageWrite, write_id, with_for_update=True)
            if job is None or job.status != "running" or write is None or write.status != "committing":
                raise ImportStopped("the write was ended while it was being saved")
            dataset = self.jobs.target_dataset(session, caller, job)
            group_id = dataset.group_id if dataset is not None else job.group_id
            image = image_row(info, pyramid, info.name, info.description)
            image.owner_id, image.group_id, image.zarr_path = caller.user_id, group_id, relative
            image.pyramid_bytes = pyramid.stored_bytes
            session.add(image)
            session.flush()
            session.add_all(channel_rows(image.id, info, pyramid))
            if dataset is not None:
                session.add(m.DatasetImageLink(parent_id=dataset.id, child_id=image.id, owner_id=caller.user_id,
                                               group_id=group_id))
            if write.provenance is not None:
                ProvenanceManager().record(session, caller.user_id, "image", image.id, write.provenance)
            write.status, write.image_id, write.modified = "done", image.id, m.now()
            job.status, job.progress, job.finished, job.modified = "done", 1.0, m.now(), m.now()
            job.image_ids, job.dataset_id = [image.id], dataset.id if dataset is not None else None
            job.message = f"saved {info.name} as image {image.id}"
            session.flush()
            # The pyramid moves last, once every row is in: a failure above leaves nothing to undo.
            final = self.root / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(destination, final)
            moved.append(final)

        self.db.call(transaction)

    def _fail(self, session: Session, job_id: int, write_id: int, reason: str) -> None:
        self.jobs.fail(session, job_id, reason)
        write = session.get(m.ImageWrite, write_id, with_for_update=True)
        if write is not None and write.status == "committing":
            write.status, write.error, write.modified = "failed", reason, m.now()
