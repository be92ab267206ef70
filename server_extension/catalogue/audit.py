"""The audit log: what admins, and admins acting as others, changed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .permissions import Caller
from .queries import ListQuery, Page, count


def record(session: Session, caller: Caller, action: str, target_type: str = "", target_id: int | None = None,
           details: dict[str, Any] | None = None) -> None:
    """Add one entry; ``actor`` is the real person, ``acting_as`` who they acted as (if anyone)."""
    actor = caller.real_user_id if caller.real_user_id is not None else caller.user_id
    acting_as = caller.user_id if caller.real_user_id is not None else None
    session.add(m.AuditEntry(actor_id=actor, acting_as_id=acting_as, action=action,
                             target_type=target_type, target_id=target_id, details=details or {}))


def entries(session: Session, query: ListQuery) -> Page:
    stmt = sa.select(m.AuditEntry).order_by(m.AuditEntry.id.desc())
    total = count(session, stmt)
    rows = session.execute(stmt.offset(query.offset).limit(query.limit)).scalars().all()
    return Page([{"id": r.id, "time": r.time.isoformat(), "actor_id": r.actor_id, "acting_as_id": r.acting_as_id,
                  "action": r.action, "target_type": r.target_type, "target_id": r.target_id,
                  "details": r.details} for r in rows], query.offset, query.limit, total)
