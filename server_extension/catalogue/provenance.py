"""Provenance: how an object was made from a notebook or a script.

One record per object (an image written back from a notebook, a dataset made by a script): the
catalogue objects it was computed from, the notebook or script and the code of the cell (with its
sha256), the parameters, the versions of the packages loaded, who made it and when. The client
gathers it; the server checks it (sizes, inputs the caller may see) and keeps it. Whoever may see
the object may read its provenance; inputs the reader may not see are counted, never named.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .errors import BadRequest, Conflict, NotFound
from .kinds import KINDS
from .permissions import Caller, PermissionPolicy

MAX_JSON = 64 * 1024  # parameters, environment: bytes of JSON each
MAX_CODE = 100_000  # characters of code kept; the client sends only the hash of a longer cell


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


class ProvenanceManager:
    """Check, record and read provenance records."""

    def check(self, session: Session, caller: Caller, record: dict[str, Any]) -> dict[str, Any]:
        """A provenance record as stored: sizes checked, the code hashed, every input visible to the caller.

        An input the caller may not see is a 404, as if it did not exist.
        """
        policy = PermissionPolicy(caller)
        inputs = []
        seen: set[tuple[str, int]] = set()
        for ref in record.get("inputs") or []:
            kind, obj_id = ref["type"], int(ref["id"])
            if kind not in KINDS:
                raise BadRequest(f"an input is one of {', '.join(KINDS)}, not {kind!r}")
            if (kind, obj_id) in seen:
                continue
            seen.add((kind, obj_id))
            row = session.get(KINDS[kind].model, obj_id)
            if row is None or not policy.of(row.owner_id, row.group_id).can_view:
                raise NotFound(f"input {kind} {obj_id} not found")
            inputs.append({"type": kind, "id": obj_id})
        code = record.get("code")
        digest = (record.get("code_sha256") or "").lower()
        if code is not None:
            if len(code) > MAX_CODE:
                raise BadRequest(f"code is at most {MAX_CODE} characters; send only its code_sha256")
            actual = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
            if digest and digest != actual:
                raise BadRequest("code_sha256 is not the sha256 of code (UTF-8)")
            digest = actual
        for key in ("parameters", "environment"):
            if _json_size(record.get(key) or {}) > MAX_JSON:
                raise BadRequest(f"{key} is at most {MAX_JSON // 1024} KiB of JSON")
        return {
            "inputs": inputs,
            "source": record.get("source") or "",
            "code_sha256": digest,
            "code": code,
            "parameters": record.get("parameters") or {},
            "packages": dict(record.get("packages") or {}),
            "environment": record.get("environment") or {},
        }

    def record(self, session: Session, user_id: int, kind: str, obj_id: int, checked: dict[str, Any]) -> None:
        """Store a checked record for an object (in the transaction that makes the object)."""
        exists = session.execute(sa.select(m.Provenance.id).where(
            m.Provenance.object_type == kind, m.Provenance.object_id == obj_id)).scalar_one_or_none()
        if exists is not None:
            raise Conflict(f"{kind} {obj_id} already has its provenance; it is recorded once")
        session.add(m.Provenance(object_type=kind, object_id=obj_id, user_id=user_id, **checked))
        session.flush()

    def add(self, session: Session, caller: Caller, kind: str, obj_id: int, record: dict[str, Any]) -> dict:
        """Record the provenance of an object the caller may edit (a dataset a script just made)."""
        from .containers import ContainerManager

        policy = PermissionPolicy(caller)
        ContainerManager().get_row(session, policy, KINDS[kind], obj_id, "edit")
        self.record(session, caller.user_id, kind, obj_id, self.check(session, caller, record))
        return self.get(session, caller, kind, obj_id)

    def get(self, session: Session, caller: Caller, kind: str, obj_id: int) -> dict[str, Any]:
        from .containers import ContainerManager, _iso

        policy = PermissionPolicy(caller)
        ContainerManager().get_row(session, policy, KINDS[kind], obj_id)
        row = session.execute(sa.select(m.Provenance).where(
            m.Provenance.object_type == kind, m.Provenance.object_id == obj_id)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"{kind} {obj_id} has no provenance (it was not made from a notebook or script)")
        user = session.get(m.Experimenter, row.user_id) if row.user_id is not None else None
        inputs = []
        for ref in row.inputs:
            model = KINDS[ref["type"]].model
            found = session.execute(sa.select(model.name, model.owner_id, model.group_id)
                                    .where(model.id == ref["id"])).first()
            if found is not None and policy.of(found.owner_id, found.group_id).can_view:
                inputs.append({"type": ref["type"], "id": ref["id"], "name": found.name})
        return {
            "object": {"type": kind, "id": obj_id},
            "user": {"id": user.id, "username": user.username} if user is not None else None,
            "created": _iso(row.created),
            "inputs": inputs,
            "hidden_inputs": len(row.inputs) - len(inputs),
            "source": row.source,
            "code_sha256": row.code_sha256,
            "code": row.code,
            "parameters": row.parameters,
            "packages": row.packages,
            "environment": row.environment,
        }

    def recorded(self, session: Session, kind: str, ids: list[int]) -> set[int]:
        """Those of ``ids`` that have a provenance record."""
        if not ids:
            return set()
        return set(session.execute(sa.select(m.Provenance.object_id).where(
            m.Provenance.object_type == kind, m.Provenance.object_id.in_(ids))).scalars())

    def forget(self, session: Session, reached: dict[str, set[int]]) -> None:
        """Remove the records of deleted objects (graph delete)."""
        for kind, ids in reached.items():
            if ids and kind in m.PROVENANCE_TYPES:
                session.execute(sa.delete(m.Provenance).where(m.Provenance.object_type == kind,
                                                              m.Provenance.object_id.in_(ids)))
