"""Users, groups and memberships: who may see and do what is decided from these."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from . import models as m
from .audit import record
from .errors import BadRequest, Conflict, Forbidden, NotFound
from .permissions import Caller
from .queries import ListQuery, Page, count


def _user_reply(user: m.Experimenter, groups: list[dict] | None = None) -> dict[str, Any]:
    reply = {"id": user.id, "username": user.username, "display_name": user.display_name,
             "email": user.email, "is_admin": user.is_admin, "default_group_id": user.default_group_id,
             "created": user.created.isoformat()}
    if groups is not None:
        reply["groups"] = groups
    return reply


class AccountManager:
    """Users and groups. Admins manage everything; group owners manage their group's members."""

    # ---- users ---------------------------------------------------------------------------
    def ensure_user(self, session: Session, username: str, *, admin: bool | None = None,
                    display_name: str | None = None) -> m.Experimenter:
        """Find a user by name, creating it on first sight (standalone start, hub login)."""
        user = session.execute(sa.select(m.Experimenter).where(m.Experimenter.username == username)).scalar_one_or_none()
        if user is None:
            # Several processes may see a new user at once (the server and `scopehub` commands, two
            # first requests of a hub user): the first insert wins, the others find its row.
            session.execute(pg_insert(m.Experimenter).values(
                username=username, display_name=display_name or username, email="", is_admin=bool(admin))
                .on_conflict_do_nothing(index_elements=["username"]))
            user = session.execute(sa.select(m.Experimenter).where(m.Experimenter.username == username)).scalar_one()
        if admin is not None and user.is_admin != admin:
            user.is_admin = admin
        return user

    def find_user(self, session: Session, ident: str | int) -> m.Experimenter:
        if isinstance(ident, int) or (str(ident).isascii() and str(ident).isdigit()):
            # An id PostgreSQL's bigint cannot hold names nobody (rather than a database error).
            user = session.get(m.Experimenter, int(ident)) if 0 < int(ident) < 2**63 else None
        elif "\x00" in ident:  # PostgreSQL text cannot hold NUL, so no username has one
            user = None
        else:
            user = session.execute(sa.select(m.Experimenter).where(m.Experimenter.username == ident)).scalar_one_or_none()
        if user is None:
            raise NotFound(f"user {ident} not found")
        return user

    def _visible_user_ids(self, caller: Caller) -> sa.Select | None:
        """Users a non-admin may see: themselves and the members of their groups."""
        if caller.is_admin:
            return None
        return sa.select(m.Membership.user_id).where(m.Membership.group_id.in_(list(caller.roles)))

    def groups_of(self, session: Session, user_ids: list[int]) -> dict[int, list[dict]]:
        out: dict[int, list[dict]] = {u: [] for u in user_ids}
        rows = session.execute(sa.select(m.Membership.user_id, m.Group.id, m.Group.name, m.Group.level, m.Membership.role)
                               .join(m.Group, m.Group.id == m.Membership.group_id)
                               .where(m.Membership.user_id.in_(user_ids)).order_by(m.Group.id))
        for uid, gid, name, level, role in rows:
            out[uid].append({"id": gid, "name": name, "level": level, "role": role})
        return out

    def list_users(self, session: Session, caller: Caller, query: ListQuery) -> Page:
        stmt = sa.select(m.Experimenter)
        visible = self._visible_user_ids(caller)
        if visible is not None:
            stmt = stmt.where(sa.or_(m.Experimenter.id == caller.user_id, m.Experimenter.id.in_(visible)))
        if query.q:
            pattern = "%" + query.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(sa.or_(sa.func.lower(m.Experimenter.username).like(pattern, escape="\\"),
                                     sa.func.lower(m.Experimenter.display_name).like(pattern, escape="\\")))
        if query.group is not None:
            stmt = stmt.where(m.Experimenter.id.in_(sa.select(m.Membership.user_id)
                                                    .where(m.Membership.group_id == query.group)))
        total = count(session, stmt)
        order = m.Experimenter.username.desc() if query.order.startswith("-") else m.Experimenter.username
        rows = session.execute(stmt.order_by(order).offset(query.offset).limit(query.limit)).scalars().all()
        groups = self.groups_of(session, [u.id for u in rows])
        return Page([_user_reply(u, groups[u.id]) for u in rows], query.offset, query.limit, total)

    def get_user(self, session: Session, caller: Caller, ident: str | int) -> dict:
        user = self.find_user(session, ident)
        visible = self._visible_user_ids(caller)
        if visible is not None and user.id != caller.user_id:
            if not session.execute(visible.where(m.Membership.user_id == user.id)).first():
                raise NotFound(f"user {ident} not found")
        return _user_reply(user, self.groups_of(session, [user.id])[user.id])

    def create_user(self, session: Session, caller: Caller, fields: dict[str, Any]) -> dict:
        self._require_admin(caller, "create users")
        if session.execute(sa.select(m.Experimenter.id).where(m.Experimenter.username == fields["username"])).first():
            raise Conflict(f"a user named {fields['username']!r} already exists")
        user = m.Experimenter(username=fields["username"], display_name=fields.get("display_name") or fields["username"],
                              email=fields.get("email") or "", is_admin=bool(fields.get("is_admin")))
        session.add(user)
        session.flush()
        record(session, caller, "create_user", "user", user.id, {"username": user.username, "is_admin": user.is_admin})
        return _user_reply(user, [])

    def update_user(self, session: Session, caller: Caller, ident: str | int, fields: dict[str, Any]) -> dict:
        user = self.find_user(session, ident)
        self.get_user(session, caller, user.id)  # 404 if invisible
        if user.id != caller.user_id and not caller.is_admin:
            raise Forbidden("only admins may edit other users")
        if "is_admin" in fields and not caller.is_admin:
            raise Forbidden("only admins may make admins")
        if fields.get("is_admin") is False and user.id == caller.user_id:
            # Else the last admin can lock everyone out of user and group management.
            raise Forbidden("you cannot remove your own admin flag; ask another admin")
        if fields.get("default_group_id") is not None:
            if session.get(m.Membership, (fields["default_group_id"], user.id)) is None:
                raise BadRequest(f"user {user.username} is not a member of group {fields['default_group_id']}")
        for key, value in fields.items():
            setattr(user, key, value)
        user.modified = sa.func.now()
        if caller.is_admin and user.id != caller.user_id or "is_admin" in fields:
            record(session, caller, "update_user", "user", user.id, fields)
        session.flush()
        return self.get_user(session, caller, user.id)

    # ---- groups --------------------------------------------------------------------------
    def _group_reply(self, session: Session, caller: Caller, group: m.Group, members: bool = False) -> dict:
        reply = {"id": group.id, "name": group.name, "description": group.description, "level": group.level,
                 "hub_managed": group.hub_managed, "version": group.version, "created": group.created.isoformat(),
                 "role": caller.role_in(group.id),
                 "can_edit": caller.can_write and (caller.is_admin or caller.role_in(group.id) == "owner")}
        if members:
            rows = session.execute(sa.select(m.Experimenter.id, m.Experimenter.username, m.Membership.role)
                                   .join(m.Membership, m.Membership.user_id == m.Experimenter.id)
                                   .where(m.Membership.group_id == group.id).order_by(m.Experimenter.username))
            reply["members"] = [{"id": uid, "username": name, "role": role} for uid, name, role in rows]
        return reply

    def find_group(self, session: Session, caller: Caller, group_id: int, lock: bool = False) -> m.Group:
        stmt = sa.select(m.Group).where(m.Group.id == group_id)
        group = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if group is None or not (caller.is_admin or group.id in caller.roles):
            raise NotFound(f"group {group_id} not found")
        return group

    def list_groups(self, session: Session, caller: Caller, query: ListQuery) -> Page:
        stmt = sa.select(m.Group)
        if not caller.is_admin:
            stmt = stmt.where(m.Group.id.in_(list(caller.roles)))
        total = count(session, stmt)
        order = m.Group.name.desc() if query.order.startswith("-") else m.Group.name
        rows = session.execute(stmt.order_by(order).offset(query.offset).limit(query.limit)).scalars().all()
        return Page([self._group_reply(session, caller, g) for g in rows], query.offset, query.limit, total)

    def get_group(self, session: Session, caller: Caller, group_id: int, members: bool = True) -> dict:
        """The group; with every member unless ``members`` is false (page them with ``list_users(group=)``)."""
        return self._group_reply(session, caller, self.find_group(session, caller, group_id), members=members)

    def group_summaries(self, session: Session, caller: Caller, group_ids: list[int]) -> dict[int, dict]:
        """Per group the caller may see: how many members it has, and its owners' usernames."""
        ids = [gid for gid in group_ids if caller.is_admin or gid in caller.roles]
        out: dict[int, dict] = {gid: {"members": 0, "owners": []} for gid in ids}
        if not ids:
            return out
        rows = session.execute(
            sa.select(m.Membership.group_id, sa.func.count(),
                      sa.func.array_agg(m.Experimenter.username).filter(m.Membership.role == "owner"))
            .join(m.Experimenter, m.Experimenter.id == m.Membership.user_id)
            .where(m.Membership.group_id.in_(ids)).group_by(m.Membership.group_id))
        for gid, members, owners in rows:
            out[gid] = {"members": members, "owners": sorted(owners or [])}
        return out

    def create_group(self, session: Session, caller: Caller, fields: dict[str, Any]) -> dict:
        self._require_admin(caller, "create groups")
        if session.execute(sa.select(m.Group.id).where(m.Group.name == fields["name"])).first():
            raise Conflict(f"a group named {fields['name']!r} already exists")
        group = m.Group(name=fields["name"], description=fields.get("description") or "",
                        level=fields.get("level") or "read-only")
        session.add(group)
        session.flush()
        record(session, caller, "create_group", "group", group.id, {"name": group.name, "level": group.level})
        return self._group_reply(session, caller, group, members=True)

    def update_group(self, session: Session, caller: Caller, group_id: int, fields: dict[str, Any],
                     expected_version: int | None = None) -> dict:
        group = self.find_group(session, caller, group_id, lock=True)
        self._require_group_manager(caller, group_id)
        if expected_version is not None and expected_version != group.version:
            raise Conflict(f"group {group_id} was changed by someone else (version {group.version}); read it again")
        if "name" in fields and fields["name"] != group.name:
            if session.execute(sa.select(m.Group.id).where(m.Group.name == fields["name"])).first():
                raise Conflict(f"a group named {fields['name']!r} already exists")
        before = {k: getattr(group, k) for k in fields}
        for key, value in fields.items():
            setattr(group, key, value)
        group.version += 1
        group.modified = sa.func.now()
        record(session, caller, "update_group", "group", group.id, {"before": before, "after": fields})
        session.flush()
        return self._group_reply(session, caller, group, members=True)

    def set_member(self, session: Session, caller: Caller, group_id: int, ident: str | int, role: str) -> dict:
        self.find_group(session, caller, group_id, lock=True)
        self._require_group_manager(caller, group_id)
        user = self.find_user(session, ident)
        membership = session.get(m.Membership, (group_id, user.id))
        if membership is None:
            self._require_local_membership(session, group_id)
            session.add(m.Membership(group_id=group_id, user_id=user.id, role=role))
            if user.default_group_id is None:
                user.default_group_id = group_id
        else:
            membership.role = role
        record(session, caller, "set_member", "group", group_id, {"user": user.username, "role": role})
        session.flush()
        return self.get_group(session, caller, group_id)

    def remove_member(self, session: Session, caller: Caller, group_id: int, ident: str | int) -> dict:
        self.find_group(session, caller, group_id, lock=True)
        self._require_group_manager(caller, group_id)
        user = self.find_user(session, ident)
        membership = session.get(m.Membership, (group_id, user.id))
        if membership is None:
            raise NotFound(f"user {user.username} is not a member of group {group_id}")
        self._require_local_membership(session, group_id)
        session.delete(membership)
        if user.default_group_id == group_id:
            user.default_group_id = None
        record(session, caller, "remove_member", "group", group_id, {"user": user.username})
        session.flush()
        return self.get_group(session, caller, group_id)

    def _require_local_membership(self, session: Session, group_id: int) -> None:
        """Who is in a JupyterHub group is the hub's to say (its level and owners are ours)."""
        group = session.get(m.Group, group_id)
        if group is not None and group.hub_managed:
            raise Conflict(f"group {group.name!r} is a JupyterHub group: add or remove its members in the hub; "
                           "here you can make members owners or plain members")

    def _require_admin(self, caller: Caller, what: str) -> None:
        if not caller.is_admin or not caller.can_write:
            raise Forbidden(f"only admins may {what}")

    def _require_group_manager(self, caller: Caller, group_id: int) -> None:
        if not caller.can_write or not (caller.is_admin or caller.role_in(group_id) == "owner"):
            raise Forbidden(f"only admins and owners of group {group_id} may change it")
