"""Annotations: create, read, edit, delete; link to and unlink from any object; attachments."""

from __future__ import annotations

import mimetypes

import pydantic

from ..catalogue.annotations import AnnotationManager
from ..catalogue.errors import BadRequest
from ..catalogue.kinds import ANNOTATABLE
from . import schemas as s
from .base import ScopehubHandler, ValidationFailed, operation, path_id

annotations = AnnotationManager()


class AnnotationsHandler(ScopehubHandler):
    """``B/annotations``: list (``?on=image:12``, ``?type=tag``) or create (JSON, or multipart for a file)."""

    @operation("List annotations you can see, or those on one object", reply=s.page_of(s.AnnotationOut),
               query=("on", "type", "offset", "limit", "owner", "group", "q", "order"), errors=(404,))
    async def get(self) -> None:
        on = self.get_query_argument("on", None)
        kind = self.get_query_argument("type", None)
        page = await self.call(annotations.list, self.list_query(), on=on, kind=kind)
        self.reply(page.as_reply())

    @operation("Create an annotation and link it to objects", body=s.AnnotationCreate, reply=s.AnnotationOut,
               status=201, errors=(403, 404, 413), multipart=True)
    async def post(self) -> None:
        """A file attachment is sent as multipart/form-data with a ``file`` part and optional
        ``on`` (repeatable), ``description``, ``namespace`` and ``group_id`` fields."""
        if self.request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            fields, stored = await self._stored_attachment()
        else:
            fields, stored = self.fields(s.AnnotationCreate), None
        try:
            created = await self.call(annotations.create, fields, stored)
        except BaseException:
            if stored is not None:
                # The transaction rolled back, so the copy in the store has no record: it goes too.
                await self.scopehub.run_blocking(self.scopehub.store.remove, stored["store_path"])
            raise
        self.reply(created, 201)

    async def _stored_attachment(self):
        uploads = self.request.files.get("file") or []
        if len(uploads) != 1:
            raise BadRequest("send exactly one part named 'file'")
        upload = uploads[0]
        args = self.request.body_arguments
        unknown = set(args) - {"on", "description", "namespace", "group_id"}
        if unknown:
            raise BadRequest(f"unknown form fields: {', '.join(sorted(unknown))}")
        text = {k: [v.decode("utf-8", "replace") for v in vs] for k, vs in args.items()}
        group = text.get("group_id", [""])[0]
        try:
            fields = s.AnnotationCreate.model_validate({
                "type": "comment", "value": "-",  # validated as a comment, then turned into a file
                "on": text.get("on", []), "description": text.get("description", [""])[0],
                "namespace": text.get("namespace", [""])[0], "group_id": group or None,
            }, strict=False).model_dump()
        except pydantic.ValidationError as e:
            raise ValidationFailed(e) from None
        fields.update(type="file", value=None)
        caller = await self.get_caller()
        store = self.scopehub.store
        stored = await self.scopehub.run_blocking(store.put, caller.username, upload.filename,
                                                  [upload.body], self.scopehub.max_attachment_size)
        stored["mimetype"] = (upload.content_type or mimetypes.guess_type(upload.filename)[0]
                              or "application/octet-stream")[:255]
        return fields, stored


class AnnotationHandler(ScopehubHandler):
    """``B/annotations/{id}``."""

    @operation("Get an annotation with its links", reply=s.AnnotationOut, errors=(404,))
    async def get(self, ann_id: str) -> None:
        self.reply(await self.call(annotations.get, path_id(ann_id)))

    @operation("Edit an annotation", body=s.AnnotationUpdate, reply=s.AnnotationOut, errors=(403, 404, 409))
    async def patch(self, ann_id: str) -> None:
        fields = self.fields(s.AnnotationUpdate)
        version = self.expected_version(fields)
        self.reply(await self.call(annotations.update, path_id(ann_id), fields, version))

    @operation("Delete an annotation and its links", reply=s.DeleteReport, errors=(403, 404))
    async def delete(self, ann_id: str) -> None:
        self.reply(await self.call(annotations.delete, path_id(ann_id)))


class AnnotationFileHandler(ScopehubHandler):
    """``B/annotations/{id}/file``: the attached file's bytes, unchanged."""

    @operation("Download an attached file", binary="*/*", errors=(404,))  # served with its own media type
    async def get(self, ann_id: str) -> None:
        original = await self.call(annotations.file_of, path_id(ann_id))
        path = self.scopehub.store.path(original.store_path)
        self.set_header("Content-Type", original.mimetype)
        self.set_header("Content-Length", str(original.size))
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{_quote(original.name)}")
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()


class AnnotationLinkHandler(ScopehubHandler):
    """``B/{type}s/{id}/annotations/{annotation_id}``: link or unlink an annotation."""

    kind: str

    @operation("Link an annotation to a {kind}", reply=s.AnnotationLinkCreated, errors=(400, 403, 404))
    async def put(self, obj_id: str, ann_id: str) -> None:
        self.reply(await self.call(annotations.link, self.kind, path_id(obj_id), path_id(ann_id)))

    @operation("Unlink an annotation from a {kind}", status=204, errors=(403, 404))
    async def delete(self, obj_id: str, ann_id: str) -> None:
        await self.call(annotations.unlink, self.kind, path_id(obj_id), path_id(ann_id))
        self.set_status(204)
        self.finish()


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def annotation_handlers() -> list[tuple[str, type]]:
    routes: list[tuple[str, type]] = [("annotations", AnnotationsHandler), (r"annotations/(\d+)", AnnotationHandler),
                                      (r"annotations/(\d+)/file", AnnotationFileHandler)]
    for kind in ANNOTATABLE:
        routes.append((rf"{kind}s/(\d+)/annotations/(\d+)", type(
            f"{kind.capitalize()}AnnotationLinkHandler", (AnnotationLinkHandler,), {"kind": kind})))
    return routes
