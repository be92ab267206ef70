"""Uploads streamed to disk as they arrive, never held in memory: a raw body, or multipart/form-data.

The files land in ``<store>/tmp/upload-<uuid>/`` (all parts of one request in one folder, so that a
multi-file format finds its companions); the import job then moves them into the store.
"""

from __future__ import annotations

import email.message
import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..catalogue.errors import BadRequest, TooLarge
from ..store import safe_name

MAX_FIELD = 64 * 1024  # a form field (dataset_id, target, name, description, label)
MAX_HEADERS = 16 * 1024
MAX_FILES = 1000
FIELDS = ("dataset_id", "target", "name", "description", "label")


@dataclass
class UploadedFile:
    name: str  # as the client named it (safe)
    path: str  # store-relative
    size: int
    sha256: str


class _FileWriter:
    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "xb")  # noqa: SIM115 - closed by finish() or abort()
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        if data:
            self.file.write(data)
            self.digest.update(data)
            self.size += len(data)

    def close(self) -> None:
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()


class UploadReceiver:
    """Receives one request body. ``feed`` each chunk, then ``finish`` for the files and form fields."""

    def __init__(self, store_root: Path, limit: int, filename: str | None = None, boundary: bytes | None = None):
        self.store_root = Path(store_root)
        self.limit = limit
        self.folder_name = f"tmp/upload-{uuid.uuid4().hex}"
        self.folder = self.store_root / self.folder_name
        self.folder.mkdir(parents=True)
        self.received = 0
        self.files: list[tuple[str, _FileWriter]] = []
        self.fields: dict[str, str] = {}
        self._field: tuple[str, bytearray] | None = None
        self._writer: _FileWriter | None = None
        if boundary is None:  # a raw body: the file itself
            if not filename:
                raise BadRequest("name the uploaded file with ?filename=, or send multipart/form-data")
            self._open_file(filename)
            self._state = "raw"
        else:
            if not 1 <= len(boundary) <= 70:
                raise BadRequest("the multipart boundary must be 1 to 70 characters")
            self._delimiter = b"\r\n--" + boundary
            self._buffer = bytearray(b"\r\n")  # so the first boundary looks like every other one
            self._state = "preamble"

    # ---- receiving -------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.limit:
            raise TooLarge(f"the upload is larger than the limit of {self.limit} bytes "
                           "(an admin sets ScopehubApp.max_upload_size)")
        if self._state == "raw":
            self._writer.write(data)
            return
        self._buffer += data
        self._parse()

    def _parse(self) -> None:
        buf, delim = self._buffer, self._delimiter
        while True:
            if self._state in ("preamble", "body"):
                at = buf.find(delim)
                if at < 0:
                    keep = len(delim) - 1  # a delimiter may be split across chunks
                    if len(buf) > keep:
                        self._part_data(bytes(buf[:-keep]))
                        del buf[:-keep]
                    return
                self._part_data(bytes(buf[:at]))
                del buf[:at + len(delim)]
                self._end_part()
                self._state = "after_delimiter"
            if self._state == "after_delimiter":
                if len(buf) < 2:
                    return
                if buf[:2] == b"--":
                    self._state = "done"
                    del buf[:]
                    return
                if buf[:2] != b"\r\n":
                    raise BadRequest("malformed multipart body: expected a line break after the boundary")
                del buf[:2]
                self._state = "headers"
            if self._state == "headers":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADERS:
                        raise BadRequest("malformed multipart body: part headers too long")
                    return
                self._start_part(bytes(buf[:end]).decode("utf-8", "replace"))
                del buf[:end + 4]
                self._state = "body"
            if self._state == "done":
                del buf[:]  # the epilogue
                return

    def _start_part(self, text: str) -> None:
        headers = email.message.Message()
        for line in text.split("\r\n"):
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip()] = value.strip()
        if headers.get("Content-Disposition") is None:
            raise BadRequest("malformed multipart body: a part has no Content-Disposition")
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        if filename is not None:
            if name != "file":
                raise BadRequest("send files in parts named 'file'")
            if len(self.files) >= MAX_FILES:
                raise BadRequest(f"at most {MAX_FILES} files in one upload")
            self._open_file(filename)
        else:
            if name not in FIELDS:
                raise BadRequest(f"unknown form field {name!r}; the fields are file, {', '.join(FIELDS)}")
            self._field = (name, bytearray())

    def _part_data(self, data: bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)
        elif self._field is not None:
            self._field[1].extend(data)
            if len(self._field[1]) > MAX_FIELD:
                raise BadRequest(f"the form field {self._field[0]!r} is too long")

    def _end_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._field is not None:
            name, value = self._field
            try:
                self.fields[name] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(f"the form field {name!r} is not UTF-8") from None
            self._field = None

    def _open_file(self, filename: str) -> None:
        name = safe_name(filename)
        if any(n == name for n, _ in self.files):
            raise BadRequest(f"two uploaded files are named {name!r}")
        self._writer = _FileWriter(self.folder / name)
        self.files.append((name, self._writer))

    # ---- the end -----------------------------------------------------------------------------
    def finish(self) -> list[UploadedFile]:
        """Close the files (on disk, synced); raises if the body was incomplete or held no file."""
        if self._state == "raw":
            self._writer.close()
        elif self._state != "done":
            raise BadRequest("the multipart body ended before its closing boundary")
        if not self.files:
            raise BadRequest("the upload holds no file: send the image in a part named 'file'")
        return [UploadedFile(name, f"{self.folder_name}/{name}", w.size, w.digest.hexdigest())
                for name, w in self.files]

    def abort(self) -> None:
        """Remove whatever arrived (a refused or broken upload)."""
        for _, writer in self.files:
            if not writer.file.closed:
                writer.file.close()
        shutil.rmtree(self.folder, ignore_errors=True)
