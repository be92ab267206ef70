"""The audit log: what admins, and admins acting as others, changed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .kinds import KINDS
from .permissions import Caller
from .queries import ListQuery, Page, count

# Entries the hub service writes on its own when a user's hub groups change (hub_extension/sync.py).
HUB_SYNC_ACTIONS = ("hub_sync_join", "hub_sync_leave")
# What a target_id names, by target_type, so that entries can say it by name while it exists.
TARGET_NAMES = {"user": (m.Experimenter, m.Experimenter.username), "group": (m.Group, m.Group.name),
                **{name: (kind.model, kind.model.name) for name, kind in KINDS.items()}}


def record(session: Session, caller: Caller, action: str, target_type: str = "", target_id: int | None = None,
           details: dict[str, Any] | None = None) -> None:
    """Add one entry; ``actor`` is the real person, ``acting_as`` who they acted as (if anyone)."""
    actor = caller.real_user_id if caller.real_user_id is not None else caller.user_id
    acting_as = caller.user_id if caller.real_user_id is not None else None
    session.add(m.AuditEntry(actor_id=actor, acting_as_id=acting_as, action=action,
                             target_type=target_type, target_id=target_id, details=details or {}))


def entries(session: Session, query: ListQuery, *, hub_sync: bool = True) -> Page:
    """Newest first; ``hub_sync=False`` leaves out the membership changes the hub made."""
    stmt = sa.select(m.AuditEntry).order_by(m.AuditEntry.id.desc())
    if not hub_sync:
        stmt = stmt.where(m.AuditEntry.action.not_in(HUB_SYNC_ACTIONS))
    total = count(session, stmt)
    rows = session.execute(stmt.offset(query.offset).limit(query.limit)).scalars().all()
    users = _names(session, "user", {r.actor_id for r in rows} | {r.acting_as_id for r in rows})
    targets: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        if r.target_type in TARGET_NAMES and r.target_id is not None:
            targets[r.target_type].add(r.target_id)
    target_names = {kind: _names(session, kind, ids) for kind, ids in targets.items()}
    return Page([{"id": r.id, "time": r.time.isoformat(), "actor_id": r.actor_id, "actor": users.get(r.actor_id),
                  "acting_as_id": r.acting_as_id, "acting_as": users.get(r.acting_as_id), "action": r.action,
                  "target_type": r.target_type, "target_id": r.target_id,
                  "target_name": target_names.get(r.target_type, {}).get(r.target_id), "details": r.details}
                 for r in rows], query.offset, query.limit, total)


def _names(session: Session, target_type: str, ids: set[int | None]) -> dict[int, str]:
    """Names of the objects of one type that still exist."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    model, name = TARGET_NAMES[target_type]
    return dict(session.execute(sa.select(model.id, name).where(model.id.in_(ids))).all())
