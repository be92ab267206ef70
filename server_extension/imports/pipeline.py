"""The import of one job, from named files to catalogue rows.

1. Plan: expand folders, open each source with ``pixels.readers.open_source`` to learn which files
   it reads (a multi-file format's parts, a zarr folder's tree) and which images (series) it holds.
2. Copy the originals into the job's work folder ``<store>/tmp/job-<id>/originals/<n>/``, sha256
   while copying, checked by reading the copy back, left read-only; in a thread, alongside step 3.
3. Write each image's OME-Zarr pyramid with ``pixels.writer.write_pyramid`` into
   ``<store>/tmp/job-<id>/pixels/``. The copy's digest is of the bytes read and every source must be
   unchanged from step 1 to the end, so the pixels are those of the originals kept.
4. In one transaction: filesets, original files, images, channels and dataset links, the job marked
   done; the originals and pyramids move to their places in the store with ``os.replace`` just
   before the commit. An image enters the catalogue only when its pixels are complete.

On any failure the job is marked failed with a reason a person can act on, and the work folder
(and anything already moved) is removed: nothing reaches the catalogue, the sources are only read.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import math
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..catalogue.errors import BadRequest, CatalogueError, Unreadable
from ..catalogue.permissions import Caller, load_caller
from ..database import Database
from ..store import safe_name
from .jobs import ImportJobManager
from .originals import CopiedFile, CopyFailed, copy_file, relative_names, text
from .pyramid_sizes import tree_bytes
from .roots import Candidate, ImportRoots, candidates, is_zarr_folder

log = logging.getLogger(__name__)
# How often a running job writes its progress to the catalogue.
PROGRESS_INTERVAL = 0.5
# The pixel types a label image may have: whole numbers.
LABEL_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32")
ITEM_SIZES = {"uint8": 1, "int8": 1, "uint16": 2, "int16": 2, "uint32": 4, "int32": 4, "float32": 4, "float64": 8}

# A listener is told (fraction 0..1, message) as the job advances; the command line draws a bar with it.
Listener = Callable[[float, str], None]


class ImportStopped(Exception):
    """The job was stopped from outside (the server is stopping, or the job was ended meanwhile)."""


@dataclass
class Source:
    """One thing a reader opens (a file, a multi-file set, a zarr folder) and what became of it."""

    candidate: Candidate
    files: list[Path]  # every file it reads, real paths
    names: list[str]  # their names inside the fileset's folder, same order
    main_name: str  # what to open inside that folder
    infos: list[Any]  # ImageInfo per image (series), from the planning open
    move: bool = False  # an upload already in the store's tmp/: moved, not copied
    expected_sha256: dict[Path, str] = field(default_factory=dict)
    stats: dict[Path, tuple[int, int]] = field(default_factory=dict)  # (size, mtime) when planned
    copied: list[CopiedFile] = field(default_factory=list)
    images: list[tuple[Any, Any, Path]] = field(default_factory=list)  # (ImageInfo, PyramidInfo, work path)

    @property
    def shown(self) -> str:
        return self.candidate.shown


class Progress:
    """Work done -> a fraction 0..1; written to the job row at most every PROGRESS_INTERVAL seconds."""

    def __init__(self, db: Database, job_id: int, listener: Listener | None, should_stop: Callable[[], bool] | None):
        self.db, self.job_id = db, job_id
        self.listener = listener
        self.should_stop = should_stop or (lambda: False)
        self.total = 1.0
        self.done = 0.0
        self.image_units = 0.0  # units of the image being written
        self.image_fraction = 0.0
        self.message = "starting"
        self._written = 0.0
        self._copied = 0  # bytes, counted by the copying thread; reported by the main thread
        self._lock = threading.Lock()

    def plan(self, copy_bytes: int, pixel_bytes: int) -> None:
        # Copying and checking a byte costs about a third of decoding, downsampling and encoding one.
        self.total = max(1.0, copy_bytes * 1.0 + pixel_bytes * 3.0)

    def stage(self, message: str) -> None:
        self.message = text(message)
        self.update(force=True)

    def copied(self, n: int) -> None:
        """Bytes copied: called from the copying thread, so it only counts."""
        with self._lock:
            self._copied += n

    def start_image(self, units: float) -> None:
        self.image_units, self.image_fraction = units, 0.0

    def image(self, *args: Any) -> None:
        """The writer's callback: ``(fraction)`` or ``(done, total)``."""
        if len(args) >= 2 and args[1]:
            fraction = float(args[0]) / float(args[1])
        elif args:
            fraction = float(args[0])
        else:
            fraction = self.image_fraction
        self.image_fraction = max(self.image_fraction, min(1.0, fraction))
        self.update()

    def end_image(self) -> None:
        self.done += self.image_units
        self.image_units, self.image_fraction = 0.0, 0.0

    @property
    def fraction(self) -> float:
        with self._lock:
            copied = self._copied
        return min(0.99, (self.done + copied + self.image_units * self.image_fraction) / self.total)

    def update(self, force: bool = False) -> None:
        if self.should_stop():
            raise ImportStopped("the server stopped during the import; run it again")
        now = time.monotonic()
        if self.listener is not None:
            self.listener(self.fraction, self.message)
        if force or now - self._written >= PROGRESS_INTERVAL:
            self._written = now
            self.db.call(ImportJobManager().progress, self.job_id, self.fraction, self.message)


class ImportPipeline:
    """Runs jobs against one catalogue and store. ``roots`` None (the command line) reads any path."""

    def __init__(self, db: Database, store_root: Path, roots: ImportRoots | None):
        self.db = db
        self.root = Path(store_root)
        self.roots = roots
        self.jobs = ImportJobManager()

    def run(self, job_id: int, listener: Listener | None = None,
            should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Run a job this process has claimed and holds the lock of; returns the job as the API shows it."""
        job, caller = self.db.call(self._load, job_id)
        if (job.request or {}).get("write_id") is not None:
            # An image written from a client (``B/writes``): its chunks, not files, become the image.
            from ..writes.commit import WriteCommit

            return WriteCommit(self.db, self.root).run(job, caller, listener, should_stop)
        work = self.root / "tmp" / f"job-{job_id}"
        moved: list[Path] = []
        progress = Progress(self.db, job_id, listener, should_stop)
        current: list[str] = [""]  # what is being worked on, for unexpected errors
        try:
            work.mkdir(parents=True, exist_ok=True)
            sources, skipped = self._plan(job, progress, current)
            self._copy_and_write(sources, work, progress, current)
            progress.stage("saving to the catalogue")
            self._commit(job_id, caller, sources, work, moved, skipped)
            if listener is not None:
                listener(1.0, "done")
        except BaseException as e:
            reason = text(describe_error(e, current[0]))
            if isinstance(e, CatalogueError | ImportStopped):
                log.info("import %s failed: %s", job_id, reason)
            else:
                log.exception("import %s failed: %s", job_id, reason)
            self._discard(moved)
            shutil.rmtree(work, ignore_errors=True)
            self.db.call(self.jobs.fail, job_id, reason)
            if not isinstance(e, Exception):
                raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
            self._remove_uploads(job.request)
        return self.db.call(lambda s: self.jobs.describe(s, [s.get(m.ImportJob, job_id)])[0])

    def _load(self, session: Session, job_id: int) -> tuple[m.ImportJob, Caller]:
        job = session.get(m.ImportJob, job_id)
        if job is None:
            raise ImportStopped(f"import {job_id} does not exist")
        caller = load_caller(session, job.owner_id, real_user_id=(job.request or {}).get("acting_admin_id"))
        session.expunge(job)
        return job, caller

    # ---- 1. plan -----------------------------------------------------------------------------
    def _plan(self, job: m.ImportJob, progress: Progress, current: list[str]) -> tuple[list[Source], int]:
        request = job.request or {}
        progress.stage("looking at the files")
        uploads = request.get("uploads")
        roots = self.roots
        expected: dict[Path, str] = {}
        label = bool(request.get("label"))  # every image a label image; "labels" names some paths as such
        if uploads:
            named = [(self.root / u["path"], u["name"], label) for u in uploads]
            expected = {Path(os.path.realpath(self.root / u["path"])): u["sha256"] for u in uploads}
            roots = None
        else:
            given = [(p, label) for p in request.get("paths", [])] + [(p, True) for p in request.get("labels", [])]
            named = [(roots.resolve(p) if roots is not None else Path(p), p, is_label) for p, is_label in given]
        found, skipped = candidates(named, roots)
        if not found:
            raise BadRequest(f"no image files found in {', '.join(n[1] for n in named)}"
                             + (f" ({skipped} other files skipped)" if skipped else ""))
        consumed: set[Path] = set()
        sources = []
        for candidate in found:
            if candidate.path in consumed:
                continue  # a part of a multi-file image already planned
            current[0] = candidate.shown
            files, infos = inspect_source(candidate)
            if candidate.label:
                check_label(candidate.shown, infos)
            if roots is not None:
                for f in files:
                    roots.check(f, str(f))
            base = Path(os.path.commonpath([str(candidate.path.parent), *(str(f.parent) for f in files)]))
            names = relative_names(files, base)
            main_name = relative_names([candidate.path], base)[0]
            consumed.update(files)
            consumed.add(candidate.path)
            stats = {f: (st.st_size, st.st_mtime_ns) for f in files for st in [f.stat()]}
            sources.append(Source(candidate, files, names, main_name, infos, move=bool(uploads),
                                  expected_sha256=expected, stats=stats))
        copy_bytes = sum(f.stat().st_size for s in sources for f in s.files)
        progress.plan(copy_bytes, sum(_pixel_bytes(i) for s in sources for i in s.infos))
        return sources, skipped

    # ---- 2 and 3. originals and pixels, side by side -------------------------------------------
    def _copy_and_write(self, sources: list[Source], work: Path, progress: Progress, current: list[str]) -> None:
        """Copy the originals in a thread while this one writes the pyramids.

        Uploads are already in the store's ``tmp/``: moved first, and their pixels read from there.
        Files named by path are read twice at once, by the copy and by the reader, which overlaps the
        copy's hashing and disk writes with the pyramid's decoding (one disk read serves both through
        the page cache). The pixels are those of the originals kept: the copy's sha256 is of the bytes
        read, and every source must be unchanged (size, mtime) from planning to the end.
        """
        for n, source in enumerate(sources):
            if source.move:
                current[0] = source.shown
                progress.stage(f"storing {source.shown}")
                self._copy_source(n, source, work, progress)
        stop = threading.Event()
        failure: list[BaseException] = []
        to_copy = [(n, s) for n, s in enumerate(sources) if not s.move]

        def copy_all() -> None:
            try:
                for n, source in to_copy:
                    self._copy_source(n, source, work, progress, stop)
            except BaseException as e:  # handed to the main thread
                failure.append(e)

        thread = threading.Thread(target=copy_all, name="scopehub-import-copy", daemon=True)
        thread.start()
        try:
            self._write_pixels(sources, work, progress, current, failure, copying=thread.is_alive)
            if thread.is_alive():
                progress.stage("copying the originals into the store"
                               + (f" ({len(to_copy)} filesets)" if len(to_copy) > 1 else ""))
            while thread.is_alive():
                thread.join(PROGRESS_INTERVAL)
                progress.update()
        finally:
            stop.set()
            thread.join()  # nothing may still write into the work folder when it is removed
        if failure:
            raise failure[0]
        for source in sources:
            for path, (size, mtime) in source.stats.items():
                if source.move:
                    continue
                try:
                    st = path.stat()
                except OSError as e:
                    raise CopyFailed(f"{path}: it went away during the import ({e.strerror})") from None
                if (st.st_size, st.st_mtime_ns) != (size, mtime):
                    raise CopyFailed(f"{source.shown if path == source.candidate.path else path} changed while it "
                                     "was being imported; import it again once nothing writes to it")

    def _copy_source(self, n: int, source: Source, work: Path, progress: Progress,
                     stop: threading.Event | None = None) -> None:
        folder = work / "originals" / str(n)

        def counted(k: int) -> None:
            if stop is not None and stop.is_set():
                raise ImportStopped("stopped")
            progress.copied(k)

        for path, name in zip(source.files, source.names, strict=True):
            client_path = text(source.shown if (source.move or path == source.candidate.path) else str(path))
            source.copied.append(copy_file(path, folder / name, client_path, name, counted, move=source.move,
                                           expected_sha256=source.expected_sha256.get(path)))

    def _write_pixels(self, sources: list[Source], work: Path, progress: Progress, current: list[str],
                      copy_failure: list[BaseException], copying: Callable[[], bool]) -> None:
        from ..pixels.readers import open_source
        from ..pixels.writer import write_pyramid

        def report(*args: Any) -> None:
            if copy_failure:  # the copy failed: stop writing pixels nobody will keep
                raise ImportStopped("the copy failed")
            progress.image(*args)

        (work / "pixels").mkdir(parents=True, exist_ok=True)
        for n, source in enumerate(sources):
            current[0] = source.shown
            main = work / "originals" / str(n) / source.main_name if source.move else source.candidate.path
            try:
                with open_source(main) as opened:
                    if len(opened.images) != len(source.infos):
                        raise Unreadable(f"{source.shown}: it reads differently from when the import began")
                    for k, image in enumerate(opened.images):
                        label = source.shown + (f" [{k + 1} of {len(opened.images)}]" if len(opened.images) > 1 else "")
                        progress.stage(f"writing the pixels of {label}"
                                       + (" while copying the originals" if copying() else ""))
                        progress.start_image(_pixel_bytes(image.info) * 3.0)
                        destination = work / "pixels" / f"{n}-{k}.ome.zarr"
                        if source.candidate.label:  # levels by nearest value, window from min to max
                            image.info.is_label = True
                        pyramid = write_pyramid(image, destination, progress=report)
                        progress.end_image()
                        # Measured here, where nothing else writes to it; the move to the store keeps it.
                        pyramid.stored_bytes = tree_bytes(destination)
                        source.images.append((image.info, pyramid, destination))
            except CatalogueError as e:
                raise Unreadable(_prefixed(source.shown, e.message)) from None
            except (MemoryError, OSError, ImportStopped):
                if copy_failure:
                    raise copy_failure[0] from None
                raise
            except Exception as e:
                log.warning("writing the pixels of %s failed", source.shown, exc_info=True)
                raise Unreadable(f"{source.shown}: reading or writing its pixels failed ({type(e).__name__}: {e}); "
                                 "the file may be damaged (the server log has the details)") from None

    # ---- 4. catalogue ------------------------------------------------------------------------
    def _commit(self, job_id: int, caller: Caller, sources: list[Source], work: Path, moved: list[Path],
                skipped: int) -> None:
        date = dt.date.today().isoformat()
        owner_dir = safe_name(caller.username)
        originals = [f"originals/{owner_dir}/{date}/{uuid.uuid4().hex}" for _ in sources]
        pixels = [[f"pixels/{date}/{uuid.uuid4().hex}.ome.zarr" for _ in s.images] for s in sources]
        # Recorded first: if this process dies between the moves and the commit, recovery finds them.
        self.db.call(self.jobs.add_work_paths, job_id, originals + [p for ps in pixels for p in ps])
        renames = [(work / "originals" / str(n), self.root / originals[n]) for n in range(len(sources))]
        renames += [(dest, self.root / pixels[n][k]) for n, s in enumerate(sources)
                    for k, (_i, _p, dest) in enumerate(s.images)]

        def transaction(session: Session) -> None:
            job = session.get(m.ImportJob, job_id, with_for_update=True)
            if job is None or job.status != "running":
                raise ImportStopped("the import was ended while it ran")
            dataset = self.jobs.target_dataset(session, caller, job)
            group_id = dataset.group_id if dataset is not None else job.group_id
            request = job.request or {}
            image_ids: list[int] = []
            filesets: list[int] = []
            total_images = sum(len(s.images) for s in sources)
            for n, source in enumerate(sources):
                fileset = m.Fileset(owner_id=caller.user_id, group_id=group_id, name=source.main_name[-255:])
                session.add(fileset)
                session.flush()
                filesets.append(fileset.id)
                for f in source.copied:
                    session.add(m.OriginalFile(
                        owner_id=caller.user_id, group_id=group_id, fileset_id=fileset.id, name=f.name[-255:],
                        client_path=f.client_path, size=f.size, sha256=f.sha256, mimetype=f.mimetype,
                        store_path=f"{originals[n]}/{f.name}"))
                for k, (info, pyramid, _dest) in enumerate(source.images):
                    name = _image_name(request.get("name"), source, k, info, total_images, len(image_ids))
                    image = image_row(info, pyramid, name, request.get("description") or info.description or "")
                    image.owner_id, image.group_id, image.fileset_id = caller.user_id, group_id, fileset.id
                    image.zarr_path, image.pyramid_bytes = pixels[n][k], pyramid.stored_bytes
                    session.add(image)
                    session.flush()
                    session.add_all(channel_rows(image.id, info, pyramid))
                    if dataset is not None:
                        session.add(m.DatasetImageLink(parent_id=dataset.id, child_id=image.id,
                                                       owner_id=caller.user_id, group_id=group_id))
                    image_ids.append(image.id)
            job.status, job.progress, job.finished, job.modified = "done", 1.0, m.now(), m.now()
            job.image_ids, job.fileset_id = image_ids, filesets[0] if filesets else None
            job.dataset_id = dataset.id if dataset is not None else None
            files = sum(len(s.copied) for s in sources)
            job.message = (f"imported {len(image_ids)} image{'s' * (len(image_ids) != 1)} from {files} "
                           f"file{'s' * (files != 1)}" + (f"; {skipped} other files skipped" if skipped else ""))
            session.flush()
            # The files move last, once every row is in: a failure above leaves nothing to undo.
            for src, dst in renames:
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
                moved.append(dst)

        self.db.call(transaction)

    # ---- clean-up ----------------------------------------------------------------------------
    def _discard(self, moved: list[Path]) -> None:
        for path in moved:
            remove_tree(path)

    def _remove_uploads(self, request: dict[str, Any] | None) -> None:
        for folder in {Path(u["path"]).parts[:2] for u in (request or {}).get("uploads", [])}:
            shutil.rmtree(self.root.joinpath(*folder), ignore_errors=True)


def inspect_source(candidate: Candidate) -> tuple[list[Path], list[Any]]:
    """Open a source: the files it reads (real paths, the named one first) and its images' ``ImageInfo``.
    Raises Unreadable (422) with a reason a person can act on."""
    from ..pixels.readers import open_source

    try:
        with open_source(candidate.path) as source:
            reported = list(getattr(source, "files", None) or [])
            infos = [image.info for image in source.images]
    except CatalogueError as e:
        raise Unreadable(_prefixed(candidate.shown, e.message)) from None
    except (MemoryError, ImportStopped):
        raise
    except Exception as e:
        log.info("reading %s failed", candidate.path, exc_info=True)
        raise Unreadable(f"{candidate.shown}: no reader could read it ({type(e).__name__}: {e})") from None
    if not infos:
        raise Unreadable(f"{candidate.shown}: it holds no image")
    files = _expand([Path(os.path.realpath(f)) for f in reported] or [candidate.path])
    if candidate.path.is_file() and candidate.path not in files:
        files.insert(0, candidate.path)
    return files, infos


def check_readable(named: list[tuple[Path, str, bool]], limit: int = 20) -> None:
    """Refuse now, before a job is made, files named in a request that no reader accepts (422), or that are
    to be label images but hold float or RGB data (400).

    ``named`` holds (path, as the user named it, as a label image). Only files (and zarr folders)
    named outright, at most ``limit`` of them: what a folder holds is the job's to find out, and so
    is anything past the limit.
    """
    consumed: set[Path] = set()
    checked = 0
    for path, shown, label in named:
        real = Path(os.path.realpath(path))
        if checked >= limit:
            return
        if real in consumed or not (real.is_file() or is_zarr_folder(real)):
            continue
        files, infos = inspect_source(Candidate(real, shown, True, label))
        if label:
            check_label(shown, infos)
        consumed.update(files)
        checked += 1


def check_label(shown: str, infos: list[Any]) -> None:
    """Refuse (400) to make a label image of float or RGB data: a label image holds one integer id per object."""
    for info in infos:
        if info.is_rgb:
            why = "it is an RGB colour image"
        elif info.pixel_type not in LABEL_TYPES:
            why = f"its pixels are {info.pixel_type}"
        else:
            continue
        raise BadRequest(f"{shown}: cannot be imported as a label image: {why}, and a label image holds whole "
                         "numbers (one id per object, 0 for background). Import it without label.")


def remove_tree(path: Path) -> None:
    """Remove a file or folder of the store (the shared folders above it stay)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _expand(files: list[Path]) -> list[Path]:
    """Folders (a zarr source) become the files under them, hidden ones included (a zarr v2 ``.zattrs``)."""
    out: list[Path] = []
    for f in files:
        if f.is_dir():
            out.extend(sorted(p for p in f.rglob("*") if p.is_file()))
        else:
            out.append(f)
    seen: set[Path] = set()
    return [f for f in out if not (f in seen or seen.add(f))]


def _pixel_bytes(info: Any) -> int:
    return info.size_x * info.size_y * info.size_z * info.size_c * info.size_t * ITEM_SIZES.get(info.pixel_type, 2)


def _prefixed(shown: str, message: str) -> str:
    """The reason, naming the file as the user named it (readers name it by its base name)."""
    if not shown or shown in message:
        return message
    base = Path(shown).name
    if message.startswith(base + ":"):
        return shown + message[len(base):]
    return f"{shown}: {message}"


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _image_name(requested: str | None, source: Source, k: int, info: Any, total: int, index: int) -> str:
    if requested:
        name = requested if total == 1 else f"{requested} [{index + 1}]"
    else:
        base = Path(source.main_name).name
        if len(source.infos) == 1:
            name = base
        else:
            label = info.name if info.name and info.name != base else f"series {k + 1}"
            name = f"{base} [{label}]"
    return text(name)[:m.NAME_LENGTH]


def image_row(info: Any, pyramid: Any, name: str, description: str) -> m.Image:
    return m.Image(
        name=name, description=description, series=info.series, acquisition_date=info.acquisition_date,
        size_x=info.size_x, size_y=info.size_y, size_z=info.size_z, size_c=info.size_c, size_t=info.size_t,
        pixel_type=info.pixel_type, physical_size_x=_finite(info.physical_size_x),
        physical_size_y=_finite(info.physical_size_y), physical_size_z=_finite(info.physical_size_z),
        instrument=info.instrument or {}, pyramid=pyramid.to_json(), is_label=bool(info.is_label),
        is_rgb=bool(info.is_rgb))


def channel_rows(image_id: int, info: Any, pyramid: Any) -> list[m.Channel]:
    from ..pixels.info import DEFAULT_COLORS, ChannelInfo

    channels = list(getattr(pyramid, "channels", None) or info.channels)
    while len(channels) < info.size_c:
        channels.append(ChannelInfo(color=DEFAULT_COLORS[len(channels) % len(DEFAULT_COLORS)]))
    return [m.Channel(image_id=image_id, index=i, name=(c.name or "")[:m.NAME_LENGTH], color=c.color or "FFFFFF",
                      emission_wavelength=_finite(c.emission_wavelength),
                      excitation_wavelength=_finite(c.excitation_wavelength),
                      min_value=_finite(c.min_value), max_value=_finite(c.max_value),
                      window_start=_finite(c.window_start), window_end=_finite(c.window_end))
            for i, c in enumerate(channels[:info.size_c])]


def describe_error(error: BaseException, current: str = "") -> str:
    """A reason a person can act on."""
    if isinstance(error, CatalogueError):
        return error.message
    if isinstance(error, ImportStopped):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted; run the import again"
    if isinstance(error, SystemExit):
        return "the import process was stopped; run the import again"
    if isinstance(error, MemoryError):
        return (f"{current or 'the import'}: ran out of memory; import it on a machine with more memory, "
                "or with fewer imports at once")
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return "the store's disk is full: free some space (or ask an admin to), then run the import again"
        where = error.filename or current or "the store"
        return f"{where}: {error.strerror or error}"
    return (f"{current + ': ' if current else ''}internal error ({type(error).__name__}: {error}); "
            "the server log has the details")


__all__ = ["ImportPipeline", "ImportStopped", "channel_rows", "check_label", "check_readable", "describe_error",
           "image_row", "inspect_source"]
