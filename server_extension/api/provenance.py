"""``B/{kind}s/{id}/provenance``: how an object was made from a notebook or script.

Images written from a client get theirs when they are saved (``B/writes``); anything else a script
makes (a dataset, a project) can be given one afterwards, once, by someone who may edit it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..catalogue.kinds import KINDS
from ..catalogue.provenance import ProvenanceManager
from . import schemas as s
from .base import ScopehubHandler, operation, path_id
from .writes import ProvenanceIn

provenance = ProvenanceManager()


class InputOut(BaseModel):
    type: str
    id: int
    name: str


class ProvenanceOut(BaseModel):
    object: s.ParentRef
    user: s.OwnerRef | None = Field(description="Who made it (null once the user is gone).")
    created: str | None
    inputs: list[InputOut] = Field(description="What it was computed from, among what you can see.")
    hidden_inputs: int = Field(description="Inputs you cannot see, or that were deleted since.")
    source: str = Field(description="The notebook or script.")
    code_sha256: str
    code: str | None
    parameters: dict[str, Any]
    packages: dict[str, str]
    environment: dict[str, Any]


class ProvenanceHandler(ScopehubHandler):
    kind: str

    @operation("How a {kind} was made: inputs, notebook, code, parameters, packages", reply=ProvenanceOut,
               errors=(404,))
    async def get(self, obj_id: str) -> None:
        """404 when the object is invisible, or was not made from a notebook or script (its
        ``has_provenance`` is false)."""
        self.reply(await self.call(provenance.get, self.kind, path_id(obj_id)))

    @operation("Record how a {kind} was made (once)", body=ProvenanceIn, reply=ProvenanceOut, status=201,
               errors=(403, 404, 409))
    async def post(self, obj_id: str) -> None:
        """For an object you may edit; its inputs must be objects you can see. A second record is a 409."""
        fields = self.body(ProvenanceIn).model_dump(exclude_none=True)
        self.reply(await self.call(provenance.add, self.kind, path_id(obj_id), fields), 201)


def provenance_handlers() -> list[tuple[str, type]]:
    return [(rf"{kind}s/(\d+)/provenance", type(f"{kind.capitalize()}ProvenanceHandler", (ProvenanceHandler,),
                                                {"kind": kind})) for kind in KINDS]
