"""Imports as jobs (by path inside the import roots, or by upload streamed to disk) and the originals kept.

``POST B/imports`` takes one of:

- JSON ``{"paths": [...], "labels": [...], "label": false, "dataset_id": N | "target": "Project:P/Dataset:D",
  "name", "description"}``: files or folders inside the import roots (relative paths are looked up in
  each root in turn); those in ``labels`` (and all of them with ``"label": true``) become label images;
- a raw body (any other media type, e.g. ``application/octet-stream``): the file itself, named by
  ``?filename=``, with the target in the query (``?dataset_id=`` or ``?target=``, ``&name=``,
  ``&description=``, ``&label=true``);
- ``multipart/form-data`` with one or more ``file`` parts (one multi-file image, or several files)
  and the fields ``dataset_id``, ``target``, ``name``, ``description``, ``label`` (or the same in the query).

Uploads are written to disk as they arrive, never held in memory; a body larger than
``ScopehubApp.max_upload_size`` gets 413. The reply is 202 and the job; poll ``B/imports/{id}``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Annotated, Any, Literal
from urllib.parse import quote

import pydantic
from pydantic import BaseModel, Field, StringConstraints, model_validator
from tornado import web

from ..catalogue.errors import BadRequest, CatalogueError, TooLarge
from ..imports.filesets import FilesetManager
from ..imports.jobs import STATES, ImportJobManager
from ..imports.pipeline import check_readable
from ..imports.uploads import UploadReceiver
from . import schemas as s
from .base import ScopehubHandler, ValidationFailed, operation, path_id

JSON_LIMIT = 1 << 20
FLAGS = {"true": True, "1": True, "false": False, "0": False}
DISCARD_SLACK = 64 << 20  # a refused body up to this much over the limit is read (so the client sees the 413)
CHUNK = 1 << 20
jobs = ImportJobManager()
filesets = FilesetManager()

ImportPath = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
TargetText = Annotated[str, StringConstraints(min_length=1, max_length=600, pattern=r"^(Project:[^/]+/)?Dataset:.+$")]


class ImportCreate(s.Request):
    """An import by path: files or folders inside the server's import roots."""

    paths: list[ImportPath] = Field([], max_length=10_000,
                                    description="Files or folders (walked recursively) inside the import roots; "
                                    "at least one here or in labels.")
    labels: list[ImportPath] = Field([], max_length=10_000, description=(
        "Files or folders imported as label images (segmentations: one integer id per object), besides paths."))
    label: bool = Field(False, description=(
        "Import every image as a label image: pyramid levels by nearest value instead of by mean, label "
        "colours (glasbey.lut) by default, the window from the data's min to max. Integer pixels only: "
        "float or RGB data gets 400."))
    dataset_id: s.Id | None = Field(None, description="Link the images into this dataset.")
    target: TargetText | None = Field(None, description="'Project:P/Dataset:D' or 'Dataset:D': your project and "
                                      "dataset of these names, created when absent.")
    name: s.Name | None = Field(None, description="The images' name (default: the file name).")
    description: s.Text = ""

    @model_validator(mode="after")
    def _one_target(self) -> ImportCreate:
        if self.dataset_id is not None and self.target is not None:
            raise ValueError("give a dataset_id or a target, not both")
        if not self.paths and not self.labels:
            raise ValueError("give at least one path (in paths or labels)")
        if len(self.paths) + len(self.labels) > 10_000:
            raise ValueError("at most 10000 paths in paths and labels together")
        return self


class ImportJobOut(BaseModel):
    id: int
    status: Literal[STATES]  # type: ignore[valid-type]
    progress: float = Field(description="0 to 1.")
    message: str = Field(description="What the job is doing, or what it did.")
    error: str | None = Field(description="Why it failed: a reason a person can act on.")
    owner: s.OwnerRef
    group: s.GroupRef
    dataset_id: int | None
    target: str | None
    name: str | None
    description: str
    sources: list[str] = Field(description="The paths (paths, then labels) or uploaded file names imported.")
    label: bool = Field(description="Every image is imported as a label image.")
    labels: list[str] = Field(description="Those of the sources given in labels (imported as label images).")
    images: list[int] = Field(description="The images created (once done).")
    label_images: list[int] = Field(description="Those of the images that are label images (is_label).")
    filesets: list[int]
    created: str | None
    started: str | None
    finished: str | None


class OriginalFileOut(BaseModel):
    id: int
    name: str = Field(description="The file's name inside its fileset (a zarr source keeps its tree).")
    client_path: str
    size: int
    sha256: str
    mimetype: str
    fileset_id: int | None
    created: str | None


class ImageOriginalsOut(BaseModel):
    image_id: int
    fileset_id: int | None
    images: list[int] = Field(default_factory=list, description="The fileset's images you can see.")
    items: list[OriginalFileOut]


UPLOAD_CONTENT = {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                       "dataset_id": {"type": "integer", "minimum": 1}, "target": {"type": "string"},
                       "name": {"type": "string"}, "description": {"type": "string"},
                       "label": {"type": "string", "enum": ["true", "false", "1", "0"],
                                 "description": "true: import the files as label images"}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                            "description": "The file itself; name it with ?filename="}},
}


QUERY = {
    "status": {"type": "string", "enum": list(STATES), "description": "Only imports in this state."},
    "filename": {"type": "string", "maxLength": 255, "description": "A raw upload's file name."},
    "dataset_id": {"type": "integer", "minimum": 1, "description": "Link the imported images into this dataset."},
    "target": {"type": "string", "maxLength": 600, "pattern": "^(Project:[^/]+/)?Dataset:.+$",
               "description": "'Project:P/Dataset:D' or 'Dataset:D': your project and dataset of these names, "
               "created when absent."},
    "name": {"type": "string", "maxLength": 255, "description": "The imported images' name."},
    # 4k in a query: even percent-encoded (9 bytes a character) the request line must fit in tornado's
    # 64 KiB header limit, else the connection just closes (a form field may hold 100k).
    "description": {"type": "string", "maxLength": 4_000, "description": "The imported images' description."},
    "label": {"type": "string", "enum": ["true", "false", "1", "0"],
              "description": "true: import the upload as label images (integer pixels only; float or RGB data "
              "gets 400)."},
}


def _content_length(handler: web.RequestHandler) -> int | None:
    text = handler.request.headers.get("Content-Length")
    try:
        return int(text) if text is not None else None
    except ValueError:
        raise BadRequest("Content-Length must be a number") from None


@web.stream_request_body
class ImportsHandler(ScopehubHandler):
    """``B/imports``: your jobs (an admin's list holds everyone's), or a new import."""

    # Defaults for requests refused before prepare() sets them (401, 405): on_finish reads them.
    _receiver: UploadReceiver | None = None
    _error: BaseException | None = None
    _json: bytearray | None = None

    @property
    def imports(self):
        return self.scopehub.extras["imports"]

    async def prepare(self) -> None:
        self._json: bytearray | None = None
        self._receiver: UploadReceiver | None = None
        self._error: BaseException | None = None
        self._pending_target: dict[str, Any] = {}
        self._body_read = False
        await super().prepare()
        if self.request.method != "POST":
            return
        media = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        length = _content_length(self)
        if media == "application/json":
            self._refuse_if_longer(length, JSON_LIMIT, "a JSON body is at most 1 MiB")
            self.request.connection.set_max_body_size(JSON_LIMIT)
            self._json = bytearray()
            return
        limit = self.imports.max_upload_size
        self._refuse_if_longer(length, limit, f"the upload is larger than the limit of {limit} bytes "
                               "(an admin sets ScopehubApp.max_upload_size)")
        # A chunked body over the limit is read on (and dropped) a little way, so the client sees the 413.
        self.request.connection.set_max_body_size(limit + DISCARD_SLACK)
        boundary = None
        if media == "multipart/form-data":
            boundary = self._boundary()
        else:
            self._pending_target = self._query_target()
            await self.call(jobs.check_target, self._pending_target.get("dataset_id"),
                            self._pending_target.get("target"))
        filename = self.get_query_argument("filename", None)
        self._receiver = UploadReceiver(self.scopehub.store.root, limit, filename=filename, boundary=boundary)

    def _refuse_if_longer(self, length: int | None, limit: int, message: str) -> None:
        if length is not None and length > limit:
            # Read a modest excess and drop it (the client then reads the 413); close on a huge one.
            self.request.connection.set_max_body_size(length if length <= limit + DISCARD_SLACK else 0)
            raise TooLarge(message)

    def _boundary(self) -> bytes:
        header = self.request.headers.get("Content-Type", "")
        for part in header.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "boundary" and value:
                return value.strip('"').encode("latin-1")
        raise BadRequest("multipart/form-data needs a boundary")

    def _query_target(self, fields: dict[str, str] | None = None) -> dict[str, Any]:
        """Target, name and description of an upload, from the query (and, for multipart, the form)."""
        fields = fields or {}
        out: dict[str, Any] = {}
        for key in ("dataset_id", "target", "name", "description", "label"):
            query = self.get_query_argument(key, None)
            if query is not None and key in fields:
                raise BadRequest(f"{key} is both in the query and in the form")
            value = fields.get(key, query)
            if value is None or value == "":
                continue
            if "\x00" in value:
                raise BadRequest(f"{key} may not contain NUL")
            if key == "dataset_id":
                try:
                    out[key] = path_id(value)
                except ValueError:
                    raise BadRequest("dataset_id must be a whole number") from None
            elif key == "label":
                if value.strip().lower() not in FLAGS:
                    raise BadRequest("label must be true or false (or 1 or 0)")
                out[key] = FLAGS[value.strip().lower()]
            else:
                limit = 100_000 if key == "description" else 600 if key == "target" else 255
                if len(value) > limit:
                    raise BadRequest(f"{key} is at most {limit} characters")
                out[key] = value.strip() if key != "description" else value
        return out

    def data_received(self, chunk: bytes) -> None:
        if self._error is not None:
            return  # refused already: drop the rest
        try:
            if self._json is not None:
                self._json += chunk
                if len(self._json) > JSON_LIMIT:
                    raise TooLarge("a JSON body is at most 1 MiB")
            elif self._receiver is not None:
                self._receiver.feed(chunk)
        except CatalogueError as e:
            # Raising here would drop the connection without a reply: answer when the body ends.
            self._error = e
            if self._receiver is not None:
                self._receiver.abort()

    def on_connection_close(self) -> None:
        if self._receiver is not None:
            self._receiver.abort()
        super().on_connection_close()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if self.request.method == "POST" and not getattr(self, "_body_read", True):
            # Refused before its body was read: tornado drops the rest and closes; say so, or the client
            # sends its next request on a dead connection.
            self.set_header("Connection", "close")
        super().write_error(status_code, **kwargs)

    def on_finish(self) -> None:
        if self._receiver is not None and self._error is not None:
            self._receiver.abort()

    @operation("List your imports, newest first (admins see everyone's)", reply=s.page_of(ImportJobOut),
               query=(("status", QUERY["status"]), "owner", "offset", "limit"))
    async def get(self) -> None:
        status = self.get_query_argument("status", None) or None
        page = await self.call(jobs.list, self.list_query(), status)
        self.reply(page.as_reply())

    @operation("Import files into a dataset, as a job", body=ImportCreate, reply=ImportJobOut, status=202,
               query=tuple((k, QUERY[k]) for k in ("filename", "dataset_id", "target", "name", "description", "label")),
               errors=(403, 404, 413, 422),
               upload=UPLOAD_CONTENT)
    async def post(self) -> None:
        """JSON names files or folders inside the import roots; any other body is an upload, streamed to
        disk (``multipart/form-data`` with ``file`` parts, or the raw file named by ``?filename=``).
        Answers 202 with the job; ``GET B/imports/{id}`` follows it. A file named outright (or
        uploaded) that no reader accepts gets 422 at once; one found in a folder fails the job.
        Label images (``label``, ``labels``) must have integer pixels: float or RGB data gets 400."""
        self._body_read = True
        if self._error is not None:
            raise self._error
        if self._json is not None:
            job = await self._import_paths()
        elif self._receiver is not None:
            job = await self._import_upload()
        else:
            raise BadRequest("send JSON with paths, or upload a file")
        self.set_header("Location", f"{self.request.path.rstrip('/')}/{job['id']}")
        self.reply(job, 202)

    async def _import_paths(self) -> dict[str, Any]:
        if not self._json:
            raise BadRequest("this request needs a JSON body")
        try:
            body = ImportCreate.model_validate_json(bytes(self._json))
        except pydantic.ValidationError as e:
            raise ValidationFailed(e) from None
        roots = self.imports.roots
        loop = asyncio.get_running_loop()
        # Refused (400/404/422) now rather than as a failed job; the worker checks again when it runs.
        named = [(await loop.run_in_executor(None, roots.resolve, path), path, body.label) for path in body.paths]
        named += [(await loop.run_in_executor(None, roots.resolve, path), path, True) for path in body.labels]
        await loop.run_in_executor(None, check_readable, named)
        request = body.model_dump(exclude_none=True)
        return await self._submit(request)

    async def _import_upload(self) -> dict[str, Any]:
        receiver = self._receiver
        try:
            loop = asyncio.get_running_loop()
            files = await loop.run_in_executor(None, receiver.finish)
            target = self._pending_target or self._query_target(receiver.fields)
            # A file no reader accepts (422), or float or RGB data as a label image (400): refused now, and the
            # upload is removed.
            label = bool(target.get("label"))
            await loop.run_in_executor(None, check_readable,
                                       [(self.scopehub.store.root / f.path, f.name, label) for f in files])
            request = {**target, "uploads": [f.__dict__ for f in files]}
            return await self._submit(request, work_paths=[receiver.folder_name])
        except BaseException:
            receiver.abort()
            raise

    async def _submit(self, request: dict[str, Any], work_paths: list[str] | None = None) -> dict[str, Any]:
        def create(session, caller):
            return jobs.describe(session, [jobs.create(session, caller, request, work_paths=work_paths)])[0]

        job = await self.call(create)
        try:
            self.imports.submit(job["id"])
        except RuntimeError:  # the server is stopping
            await self.scopehub.db.run(jobs.fail, job["id"], "the server is stopping; run the import again")
            raise BadRequest("the server is stopping; run the import again") from None
        return job


class ImportHandler(ScopehubHandler):
    """``B/imports/{id}``: one job's status, progress, images or error."""

    @operation("Follow an import: status, progress, images, error", reply=ImportJobOut, errors=(404,))
    async def get(self, job_id: str) -> None:
        self.reply(await self.call(jobs.get, path_id(job_id)))


class ImageOriginalsHandler(ScopehubHandler):
    """``B/images/{id}/originals``: the original files of the image's fileset."""

    @operation("List the original files an image was imported from", reply=ImageOriginalsOut, errors=(404,))
    async def get(self, image_id: str) -> None:
        self.reply(await self.call(filesets.originals_of_image, path_id(image_id)))


class OriginalHandler(ScopehubHandler):
    """``B/originals/{id}``: an original file's bytes, unchanged."""

    @operation("Download an original file, byte for byte", binary="*/*", errors=(404,))  # its own media type
    async def get(self, file_id: str) -> None:
        """Streamed with its size (``Content-Length``) and sha256 (``Repr-Digest``, and the ETag)."""
        original = await self.call(filesets.original, path_id(file_id))
        path = self.scopehub.store.path(original["store_path"])
        loop = asyncio.get_running_loop()
        f = await loop.run_in_executor(None, open, path, "rb")
        try:
            name = original["name"].rsplit("/", 1)[-1]
            self.set_header("Content-Type", original["mimetype"])
            self.set_header("Content-Length", str(original["size"]))
            self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name, safe='')}")
            self.set_header("ETag", f'"{original["sha256"]}"')
            digest = base64.b64encode(bytes.fromhex(original["sha256"])).decode()
            self.set_header("Repr-Digest", f"sha-256=:{digest}:")
            while chunk := await loop.run_in_executor(None, f.read, CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            with contextlib.suppress(OSError):
                f.close()
        self.finish()


def import_handlers() -> list[tuple[str, type]]:
    return [("imports", ImportsHandler), (r"imports/(\d+)", ImportHandler),
            (r"images/(\d+)/originals", ImageOriginalsHandler), (r"originals/(\d+)", OriginalHandler)]


__all__ = ["import_handlers"]
