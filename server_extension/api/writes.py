"""Writing an image from a client: open a write, send its chunks, commit it (or abort it).

```
POST   B/writes                                   {name, dataset_id, shape [t,c,z,y,x], dtype, ...} -> 201 write
GET    B/writes                                   your writes, newest first
GET    B/writes/{id}                              status, the commit job's progress, the image once saved
PUT    B/writes/{id}/chunks/{t}/{c}/{z}/{yi}/{xi}  the chunk's raw little-endian bytes -> 204
POST   B/writes/{id}/commit                       -> 202: a job builds the pyramid and saves the image
DELETE B/writes/{id}                              abort: the chunks go, nothing reaches the catalogue
```

Chunks are the stored ones: 512 × 512 pixels of one (t, c, z) plane, cut at the image's bottom and
right edges; sending one again replaces it. Only the write's owner may use it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints
from tornado import web

from ..catalogue.errors import BadRequest, CatalogueError, TooLarge
from ..catalogue.kinds import KINDS
from ..catalogue.models import WRITE_STATES
from ..imports.pipeline import remove_tree
from ..pixels.writer import CHUNK
from ..writes.service import WriteService
from . import schemas as s
from .base import ScopehubHandler, operation, path_id

MAX_CHUNK_BYTES = CHUNK * CHUNK * 8  # a float64 chunk
Size = Annotated[int, Field(ge=1, le=2**31 - 1)]
PhysicalValue = Annotated[float, Field(gt=0, le=1e9)]
Color = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{6}$")]
ChannelName = Annotated[str, StringConstraints(max_length=s.NAME_LENGTH)]


class PhysicalSize(s.Request):
    x: PhysicalValue | None = Field(None, description="Micrometres per pixel along x.")
    y: PhysicalValue | None = None
    z: PhysicalValue | None = Field(None, description="Micrometres between z-sections.")


class InputRef(s.Request):
    type: Literal[tuple(KINDS)]  # type: ignore[valid-type]
    id: s.Id


class ProvenanceIn(s.Request):
    """How the object was made; the server adds who and when."""

    inputs: list[InputRef] = Field(default_factory=list, max_length=10_000,
                                   description="Catalogue objects it was computed from (you must see them).")
    source: Annotated[str, StringConstraints(max_length=4096)] = Field(
        "", description="The notebook (path under the Jupyter root) or script that made it.")
    code: Annotated[str, StringConstraints(max_length=100_000)] | None = Field(
        None, description="The code of the cell (or script) that made it; longer code: send only its hash.")
    code_sha256: Annotated[str, StringConstraints(pattern=r"^([0-9a-fA-F]{64})?$")] = Field(
        "", description="sha256 of the code, UTF-8 (computed by the server when the code is sent).")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Parameters, as JSON (at most 64 KiB).")
    packages: dict[Annotated[str, StringConstraints(max_length=200)],
                   Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=dict, max_length=5000, description="Versions of the packages loaded: {name: version}.")
    environment: dict[str, Any] = Field(default_factory=dict,
                                        description="Python version, platform, client (at most 64 KiB).")


class WriteCreate(s.Request):
    name: s.Name
    description: s.Text = ""
    dataset_id: s.Id | None = Field(None, description="Link the image into this dataset (you must be able to link).")
    shape: list[Size] = Field(min_length=5, max_length=5, description="Level 0 as [t, c, z, y, x].")
    dtype: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="uint8, uint16, uint32, int8, int16, int32, float32 or float64.")
    channel_names: list[ChannelName] | None = Field(None, max_length=100_000)
    channel_colors: list[Color] | None = Field(None, max_length=100_000, description="RRGGBB per channel.")
    physical_size: PhysicalSize | None = None
    label: bool = Field(False, description="A label image (segmentation): its pyramid keeps values (nearest).")
    provenance: ProvenanceIn | None = None


class WriteJobOut(BaseModel):
    id: int
    status: str
    progress: float
    message: str
    error: str | None


class WriteChannelOut(BaseModel):
    name: str
    color: str


class WriteOut(BaseModel):
    id: int
    status: Literal[WRITE_STATES]  # type: ignore[valid-type]
    name: str
    description: str
    dataset_id: int | None
    group_id: int
    shape: list[int] = Field(description="[t, c, z, y, x].")
    dtype: str
    chunk_shape: list[int] = Field(description="[1, 1, 1, 512, 512]: send chunks of this shape (cut at the edges).")
    chunks: int = Field(description="How many chunks the image has.")
    channels: list[WriteChannelOut]
    physical_size: dict[str, float]
    label: bool
    job: WriteJobOut | None = Field(description="The job saving it, once committed: follow B/imports/{id}.")
    image_id: int | None = Field(description="The image, once saved.")
    error: str | None
    created: str | None
    modified: str | None


CHUNK_BODY = {"application/octet-stream": {"schema": {
    "type": "string", "format": "binary",
    "description": "The chunk's pixels, little-endian, row by row: 512 × 512 (less at the edges) × item size."}}}
STATUS_QUERY = (("status", {"type": "string", "enum": list(WRITE_STATES), "description": "Only writes in this state."}),)


class WriteHandlerBase(ScopehubHandler):
    @property
    def writes(self) -> WriteService:
        return self.scopehub.extras["writes"]


class WritesHandler(WriteHandlerBase):
    """``B/writes``: your writes, or a new one."""

    @operation("List your image writes, newest first", reply=s.page_of(WriteOut), query=(*STATUS_QUERY, "offset",
                                                                                           "limit"))
    async def get(self) -> None:
        status = self.get_query_argument("status", None) or None
        page = await self.call(self.writes.manager.list, self.list_query(), status)
        self.reply(page.as_reply())

    @operation("Start writing an image: then send its chunks and commit", body=WriteCreate, reply=WriteOut,
               status=201, errors=(403, 404, 413))
    async def post(self) -> None:
        """Everything is checked now, before any pixel is sent: the dataset (you must be able to link
        to it), the shape and type, the channels, and the provenance (its inputs must be images you
        can see)."""
        fields = self.body(WriteCreate).model_dump(exclude_none=True)
        write = await self.call(self.writes.manager.create, fields)
        self.set_header("Location", f"{self.request.path.rstrip('/')}/{write['id']}")
        self.reply(write, 201)


class WriteHandler(WriteHandlerBase):
    """``B/writes/{id}``."""

    @operation("A write: its status, the commit job's progress, the image once saved", reply=WriteOut,
               errors=(404,))
    async def get(self, write_id: str) -> None:
        self.reply(await self.call(self.writes.manager.get, path_id(write_id)))

    @operation("Abort a write: its chunks are removed, nothing is saved", status=204, errors=(404, 409))
    async def delete(self, write_id: str) -> None:
        folder = await self.call(self.writes.manager.abort, path_id(write_id))
        await self.scopehub.run_blocking(remove_tree, folder)
        self.set_status(204)
        self.finish()


@web.stream_request_body
class ChunkHandler(WriteHandlerBase):
    """``B/writes/{id}/chunks/{t}/{c}/{z}/{yi}/{xi}``: one chunk's bytes."""

    _data: bytearray | None = None
    _error: CatalogueError | None = None

    async def prepare(self) -> None:
        self._data = bytearray()
        self._error = None
        await super().prepare()
        length = self.request.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > MAX_CHUNK_BYTES:
            self.request.connection.set_max_body_size(int(length) if int(length) <= 64 * MAX_CHUNK_BYTES else 0)
            raise TooLarge(f"a chunk is at most {MAX_CHUNK_BYTES} bytes (512 × 512 × 8)")
        self.request.connection.set_max_body_size(MAX_CHUNK_BYTES + 1)

    def data_received(self, chunk: bytes) -> None:
        if self._error is not None or self._data is None:
            return
        self._data += chunk
        if len(self._data) > MAX_CHUNK_BYTES:
            self._error = TooLarge(f"a chunk is at most {MAX_CHUNK_BYTES} bytes (512 × 512 × 8)")
            self._data = None

    @operation("Send one chunk of a write (sending it again replaces it)", status=204, errors=(404, 409, 413),
               upload=CHUNK_BODY)
    async def put(self, write_id: str, t: str, c: str, z: str, yi: str, xi: str) -> None:
        """The body is the chunk's raw bytes, exactly: a wrong size is a 400 that says what was expected."""
        if self._error is not None:
            raise self._error
        data = bytes(self._data or b"")
        index = tuple(int(v) for v in (t, c, z, yi, xi))
        if any(v > 2**31 for v in index):
            raise BadRequest("chunk indices are below 2^31")
        number = path_id(write_id)
        manager = self.writes.manager
        grid = await self.call(manager.chunk_grid, number)
        grid.check(index, len(data))  # type: ignore[arg-type]
        await self.scopehub.run_blocking(manager.chunks(number, grid).save, index, data)
        self.set_status(204)
        self.finish()


class CommitHandler(WriteHandlerBase):
    """``B/writes/{id}/commit``."""

    @operation("Save a write as a catalogue image (a job builds its pyramid)", reply=WriteOut, status=202,
               errors=(403, 404, 409))
    async def post(self, write_id: str) -> None:
        """Every chunk must have arrived (409 says how many are missing). The reply's ``job`` is an
        import job: follow ``B/imports/{job}`` or this write; once done, ``image_id`` is the new image."""
        write = await self.call(self.writes.manager.commit, path_id(write_id))
        imports = self.scopehub.extras["imports"]
        try:
            imports.submit(write["job"]["id"])
        except RuntimeError:  # the server is stopping: the write stays open, to be committed again
            reason = "the server is stopping; commit again once it is back"
            await self.scopehub.db.run(self.writes.manager.reopen, write["id"], write["job"]["id"], reason)
            raise BadRequest(reason) from None
        self.reply(write, 202)


def write_handlers() -> list[tuple[str, type]]:
    return [("writes", WritesHandler), (r"writes/(\d+)", WriteHandler),
            (r"writes/(\d+)/chunks/(\d+)/(\d+)/(\d+)/(\d+)/(\d+)", ChunkHandler),
            (r"writes/(\d+)/commit", CommitHandler)]
