"""OMERO's permission matrix, in one place.

Group levels: private, read-only, read-annotate, read-write. On other members' data:

======================  ==========================  ===============  =============
action                  member                      group owner      admin
======================  ==========================  ===============  =============
view                    all but private             always           always
annotate                read-annotate, read-write   all but private  all but private
edit, delete, unlink    read-write only             always           always
move to another group   never                       never            yes
change owner            never                       yes              yes
======================  ==========================  ===============  =============

Everyone may do anything to their own data but change its owner or move it between groups.
A caller outside a group sees nothing of it (unless admin). Lists filter in SQL with
:meth:`PermissionPolicy.visible`; single objects are checked with :meth:`PermissionPolicy.of`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .errors import Forbidden, NotFound
from .models import Experimenter, Group, Membership

ACTIONS = ("view", "annotate", "edit", "delete", "link", "chown", "chgrp")


@dataclass(frozen=True)
class Caller:
    """Who is asking: the catalogue user, their groups and roles, and what the token allows."""

    user_id: int
    username: str
    is_admin: bool
    roles: Mapping[int, str]  # group id -> "member" | "owner", for the caller's groups
    group_levels: Mapping[int, str]  # group id -> level, for every group
    # False for a token that may only read (the hub's custom:scopehub:read without write).
    can_write: bool = True
    # The admin who is acting as this user, if any (recorded in the audit log).
    real_user_id: int | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)

    def role_in(self, group_id: int) -> str | None:
        return self.roles.get(group_id)


@dataclass(frozen=True)
class Permissions:
    """What the caller may do with one object."""

    can_view: bool
    can_annotate: bool
    can_edit: bool
    can_delete: bool
    can_link: bool
    can_chown: bool
    can_chgrp: bool

    def allows(self, action: str) -> bool:
        return getattr(self, f"can_{action}")

    def as_reply(self) -> dict[str, bool]:
        """The flags every object in a reply carries."""
        return {
            "can_edit": self.can_edit,
            "can_delete": self.can_delete,
            "can_annotate": self.can_annotate,
            "can_link": self.can_link,
            "can_chown": self.can_chown,
            "can_chgrp": self.can_chgrp,
        }


NOTHING = Permissions(False, False, False, False, False, False, False)


class PermissionPolicy:
    """The matrix above, applied for one caller."""

    def __init__(self, caller: Caller):
        self.caller = caller
        # Groups in which the caller sees everyone's data (not only their own).
        self.visible_groups = sorted(
            gid
            for gid, role in caller.roles.items()
            if role == "owner" or caller.group_levels.get(gid, "private") != "private"
        )

    def visible(self, model) -> sa.ColumnElement[bool]:
        """A WHERE clause for the rows of ``model`` (anything with owner_id, group_id) the caller sees."""
        if self.caller.is_admin:
            return sa.true()
        clause = model.owner_id == self.caller.user_id
        if self.visible_groups:
            clause = sa.or_(clause, model.group_id.in_(self.visible_groups))
        return clause

    def of(self, owner_id: int, group_id: int) -> Permissions:
        """The caller's permissions on an object owned by ``owner_id`` in ``group_id``."""
        caller = self.caller
        level = caller.group_levels.get(group_id, "private")
        role = caller.role_in(group_id)
        own = owner_id == caller.user_id
        group_owner = role == "owner"
        admin = caller.is_admin

        if own:
            view = annotate = edit = True
        elif admin or group_owner:
            view, edit = True, True
            annotate = level != "private"
        elif role == "member":
            view = level != "private"
            annotate = level in ("read-annotate", "read-write")
            edit = level == "read-write"
        else:
            return NOTHING
        chown = admin or group_owner
        chgrp = admin
        if not caller.can_write:
            return Permissions(view, False, False, False, False, False, False)
        return Permissions(view, annotate, edit, edit, edit, chown, chgrp)

    def require(self, obj, action: str = "view") -> Permissions:
        """Raise unless the caller may do ``action`` to ``obj``: 404 if it is invisible, 403 otherwise."""
        perms = self.of(obj.owner_id, obj.group_id)
        if not perms.can_view:
            raise NotFound(f"{type(obj).__name__.lower()} {obj.id} not found")
        if not perms.allows(action):
            raise Forbidden(f"you may not {action} {type(obj).__name__.lower()} {obj.id}")
        return perms

    def require_member(self, group_id: int) -> None:
        """Raise unless the caller may create data in ``group_id``."""
        if not self.caller.can_write:
            raise Forbidden("this token may only read")
        if self.caller.role_in(group_id) is None and not self.caller.is_admin:
            raise Forbidden(f"you are not a member of group {group_id}")
        if group_id not in self.caller.group_levels:  # else an admin's insert fails on the foreign key
            raise NotFound(f"group {group_id} not found")


def require_admin(caller: Caller, what: str) -> None:
    """Raise 403 unless the caller is a catalogue admin."""
    if not caller.is_admin:
        raise Forbidden(f"only catalogue admins may {what}")


def load_caller(session: Session, user_id: int, *, can_write: bool = True, real_user_id: int | None = None,
                scopes: tuple[str, ...] = ()) -> Caller:
    """Read the caller's admin flag, groups and roles, and every group's level.

    One round trip (every request pays it): a row per group, with the caller's role or NULL.
    """
    rows = session.execute(
        sa.select(Experimenter.username, Experimenter.is_admin, Group.id, Group.level, Membership.role)
        .select_from(Experimenter)
        .outerjoin(Group, sa.true())
        .outerjoin(Membership, sa.and_(Membership.group_id == Group.id, Membership.user_id == Experimenter.id))
        .where(Experimenter.id == user_id)
    ).all()
    if not rows:
        raise NotFound(f"user {user_id} not found")
    username, is_admin = rows[0][0], rows[0][1]
    return Caller(
        user_id=user_id,
        username=username,
        is_admin=is_admin,
        roles={gid: role for _, _, gid, _, role in rows if role is not None},
        group_levels={gid: level for _, _, gid, level, _ in rows if gid is not None},
        can_write=can_write,
        real_user_id=real_user_id,
        scopes=scopes,
    )
