"""Hub users and groups become catalogue users and groups; membership follows the hub.

A hub user is a catalogue user from the first request they make. Each hub group they belong to
is a catalogue group (``hub_managed``), made on first sight at ``new_group_level``; their
memberships of hub-managed groups are exactly their hub groups: joining a group in the hub adds
them, leaving it removes them. Everything else stays scopehub's business: group permission levels,
group owners (an owner stays owner while in the hub group), and groups made in scopehub itself,
whose members are managed there. Every hub user is also a member of ``everyone_group`` (private
unless an admin says otherwise), so that someone in no hub group still has a place for their data.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..server_extension.catalogue import models as m
from ..server_extension.catalogue.accounts import AccountManager
from ..server_extension.catalogue.audit import record
from ..server_extension.catalogue.permissions import load_caller

HUB_GROUP_DESCRIPTION = "A JupyterHub group; its members follow the hub."


@dataclass(frozen=True)
class HubAccount:
    """What the hub says about a user: the part of its user model the catalogue follows."""

    name: str
    admin: bool
    groups: tuple[str, ...]

    @classmethod
    def from_model(cls, model: dict) -> HubAccount:
        return cls(name=model["name"], admin=bool(model.get("admin")),
                   groups=tuple(sorted(set(model.get("groups") or ()))))


class HubAccountSync:
    """Brings one user's catalogue account in line with the hub, in the caller's transaction."""

    def __init__(self, new_group_level: str = "private", everyone_group: str = "hub-users"):
        self.new_group_level = new_group_level
        self.everyone_group = everyone_group

    def sync(self, session: Session, account: HubAccount) -> int:
        """Create or update the user, its hub groups and memberships; return the user's id."""
        user = AccountManager().ensure_user(session, account.name, admin=account.admin)
        wanted = {self._group(session, name).id for name in account.groups}
        everyone = self._group(session, self.everyone_group, level="private") if self.everyone_group else None
        if everyone is not None:
            wanted.add(everyone.id)
        current = dict(session.execute(
            sa.select(m.Membership.group_id, m.Group.name)
            .join(m.Group, m.Group.id == m.Membership.group_id)
            .where(m.Membership.user_id == user.id, m.Group.hub_managed)
        ).all())
        caller = load_caller(session, user.id)
        for group_id in wanted - set(current):
            session.add(m.Membership(group_id=group_id, user_id=user.id, role="member"))
            record(session, caller, "hub_sync_join", "group", group_id, {"user": account.name})
        gone = set(current) - wanted
        if gone:
            session.execute(sa.delete(m.Membership).where(m.Membership.user_id == user.id,
                                                          m.Membership.group_id.in_(gone)))
            for group_id in gone:
                record(session, caller, "hub_sync_leave", "group", group_id, {"user": account.name})
        session.flush()
        member_of = set(session.execute(
            sa.select(m.Membership.group_id).where(m.Membership.user_id == user.id)).scalars())
        if user.default_group_id not in member_of:
            # The first hub group, else the everyone group: where new data goes when no group is named.
            first = [self._group(session, name).id for name in account.groups]
            user.default_group_id = first[0] if first else (everyone.id if everyone else None)
        return user.id

    def _group(self, session: Session, name: str, level: str | None = None) -> m.Group:
        group = session.execute(sa.select(m.Group).where(m.Group.name == name)).scalar_one_or_none()
        if group is None:
            group = m.Group(name=name, level=level or self.new_group_level, hub_managed=True,
                            description=HUB_GROUP_DESCRIPTION)
            session.add(group)
            session.flush()
        elif not group.hub_managed:
            # A scopehub group of the same name: from now on the hub decides who is in it.
            group.hub_managed = True
        return group
