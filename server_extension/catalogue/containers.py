"""Projects, datasets, images, screens and plates: list, read, create, edit, link, change owner or group."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .audit import record
from .errors import BadRequest, Conflict, NotFound
from .kinds import KINDS, Kind
from .permissions import Caller, PermissionPolicy
from .queries import ListQuery, Page, count, matches_words, order_by

PIXEL_FIELDS = ("size_x", "size_y", "size_z", "size_c", "size_t", "pixel_type",
                "physical_size_x", "physical_size_y", "physical_size_z")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_and_group_names(session: Session, user_ids: set[int], group_ids: set[int]):
    users = dict(session.execute(sa.select(m.Experimenter.id, m.Experimenter.username)
                                 .where(m.Experimenter.id.in_(user_ids))).all()) if user_ids else {}
    groups = dict(session.execute(sa.select(m.Group.id, m.Group.name)
                                  .where(m.Group.id.in_(group_ids))).all()) if group_ids else {}
    return users, groups


def owned_fields(obj, policy: PermissionPolicy, users: dict, groups: dict) -> dict[str, Any]:
    """The fields every owned object shares in a reply, with the caller's permissions."""
    return {
        "id": obj.id,
        "owner": {"id": obj.owner_id, "username": users.get(obj.owner_id, "")},
        "group": {"id": obj.group_id, "name": groups.get(obj.group_id, "")},
        "created": _iso(obj.created),
        "modified": _iso(obj.modified),
        "version": obj.version,
        **policy.of(obj.owner_id, obj.group_id).as_reply(),
    }


class ContainerManager:
    """Named catalogue objects of every kind in :data:`KINDS`, through one permission policy."""

    # ---- replies -------------------------------------------------------------------------
    def describe(self, session: Session, policy: PermissionPolicy, kind: Kind, rows: list) -> list[dict]:
        users, groups = user_and_group_names(session, {r.owner_id for r in rows}, {r.group_id for r in rows})
        child_counts: dict[int, int] = {}
        if kind.child and rows:
            child = KINDS[kind.child].model
            link = kind.child_link
            child_counts = dict(session.execute(
                sa.select(link.parent_id, sa.func.count())
                .join(child, child.id == link.child_id)
                .where(link.parent_id.in_([r.id for r in rows]), policy.visible(child))
                .group_by(link.parent_id)
            ).all())
        roi_counts: dict[int, int] = {}
        if kind.name == "image" and rows:
            roi_counts = dict(session.execute(
                sa.select(m.Roi.image_id, sa.func.count())
                .where(m.Roi.image_id.in_([r.id for r in rows]), policy.visible(m.Roi))
                .group_by(m.Roi.image_id)
            ).tuples().all())
        from .provenance import ProvenanceManager

        with_provenance = ProvenanceManager().recorded(session, kind.name, [r.id for r in rows])
        items = []
        for row in rows:
            item = {"type": kind.name, **owned_fields(row, policy, users, groups),
                    "name": row.name, "description": row.description,
                    "has_provenance": row.id in with_provenance}
            if kind.child:
                item["child_count"] = child_counts.get(row.id, 0)
            if kind.name == "image":
                item["fileset_id"] = row.fileset_id
                item["acquisition_date"] = _iso(row.acquisition_date)
                item["pixels"] = ({f: getattr(row, f) for f in PIXEL_FIELDS}
                                  | {"levels": row.pyramid, "is_label": row.is_label, "is_rgb": row.is_rgb}
                                  if row.size_x is not None else None)
                item["roi_count"] = roi_counts.get(row.id, 0)
            if kind.name == "plate":
                item["rows"], item["columns"] = row.rows, row.columns
            items.append(item)
        return items

    # ---- reading -------------------------------------------------------------------------
    def visible_query(self, policy: PermissionPolicy, kind: Kind, query: ListQuery) -> sa.Select:
        model = kind.model
        stmt = sa.select(model).where(policy.visible(model))
        if query.owner is not None:
            stmt = stmt.where(model.owner_id == query.owner)
        if query.group is not None:
            stmt = stmt.where(model.group_id == query.group)
        if query.q:
            stmt = stmt.where(matches_words(model.search_vector, query.q))
        if query.parent is not None:
            if kind.parent_link is None:
                raise BadRequest(f"a {kind.name} has no parent to filter by")
            link = kind.parent_link
            stmt = stmt.join(link, link.child_id == model.id).where(link.parent_id == query.parent)
        if query.orphaned:
            if kind.parent_link is None:
                raise BadRequest(f"a {kind.name} has no parent, so cannot be orphaned")
            if query.parent is not None:
                raise BadRequest("orphaned and a parent filter exclude each other")
            link = kind.parent_link
            stmt = stmt.where(~sa.exists().where(link.child_id == model.id))
        return stmt

    def list(self, session: Session, caller: Caller, kind_name: str, query: ListQuery) -> Page:
        kind = KINDS[kind_name]
        policy = PermissionPolicy(caller)
        if query.parent is not None:
            self.get_row(session, policy, KINDS[kind.parent], query.parent)  # 404 if invisible
        stmt = self.visible_query(policy, kind, query)
        total = count(session, stmt)
        rows = session.execute(stmt.order_by(*order_by(kind.model, query.order))
                               .offset(query.offset).limit(query.limit)).scalars().all()
        return Page(self.describe(session, policy, kind, list(rows)), query.offset, query.limit, total)

    def get_row(self, session: Session, policy: PermissionPolicy, kind: Kind, obj_id: int,
                action: str = "view", lock: bool = False):
        stmt = sa.select(kind.model).where(kind.model.id == obj_id)
        if lock:
            stmt = stmt.with_for_update()
        row = session.execute(stmt).scalar_one_or_none()
        if row is None:
            raise NotFound(f"{kind.name} {obj_id} not found")
        policy.require(row, action)
        return row

    def get(self, session: Session, caller: Caller, kind_name: str, obj_id: int) -> dict:
        kind = KINDS[kind_name]
        policy = PermissionPolicy(caller)
        row = self.get_row(session, policy, kind, obj_id)
        item = self.describe(session, policy, kind, [row])[0]
        if kind.name == "image":
            channels = session.execute(sa.select(m.Channel).where(m.Channel.image_id == row.id)
                                       .order_by(m.Channel.index)).scalars()
            item["channels"] = [{"index": c.index, "name": c.name, "color": c.color,
                                 "emission_wavelength": c.emission_wavelength,
                                 "excitation_wavelength": c.excitation_wavelength,
                                 "min": c.min_value, "max": c.max_value,
                                 "window_start": c.window_start, "window_end": c.window_end} for c in channels]
        if kind.parent_link is not None:
            link, parent = kind.parent_link, KINDS[kind.parent].model
            item["parents"] = list(session.execute(
                sa.select(parent.id).join(link, link.parent_id == parent.id)
                .where(link.child_id == row.id, policy.visible(parent)).order_by(parent.id)).scalars())
        return item

    # ---- writing -------------------------------------------------------------------------
    def create(self, session: Session, caller: Caller, kind_name: str, fields: dict[str, Any]) -> dict:
        kind = KINDS[kind_name]
        policy = PermissionPolicy(caller)
        group_id = fields.get("group_id") or self.default_group(session, caller)
        policy.require_member(group_id)
        parent = None
        if fields.get("parent_id") is not None:
            parent = self.get_row(session, policy, KINDS[kind.parent], fields["parent_id"], "link")
            if parent.group_id != group_id:
                raise BadRequest(f"{kind.parent} {parent.id} is in another group")
        values = {k: v for k, v in fields.items() if k not in ("group_id", "parent_id")}
        row = kind.model(owner_id=caller.user_id, group_id=group_id, **values)
        session.add(row)
        session.flush()
        if parent is not None:
            session.add(kind.parent_link(parent_id=parent.id, child_id=row.id,
                                         owner_id=caller.user_id, group_id=group_id))
            session.flush()
        return self.get(session, caller, kind_name, row.id)

    def default_group(self, session: Session, caller: Caller) -> int:
        user = session.get(m.Experimenter, caller.user_id)
        if user.default_group_id is not None and user.default_group_id in caller.roles:
            return user.default_group_id
        if caller.roles:
            return min(caller.roles)
        raise BadRequest("you belong to no group yet; an admin must add you to one")

    def update(self, session: Session, caller: Caller, kind_name: str, obj_id: int,
               fields: dict[str, Any], expected_version: int | None = None) -> dict:
        kind = KINDS[kind_name]
        policy = PermissionPolicy(caller)
        row = self.get_row(session, policy, kind, obj_id, lock=True)
        if expected_version is not None and expected_version != row.version:
            raise Conflict(f"{kind.name} {obj_id} was changed by someone else (version {row.version}, "
                           f"you sent {expected_version}); read it again")
        fields = dict(fields)
        new_owner = fields.pop("owner_id", None)
        new_group = fields.pop("group_id", None)
        if fields:
            policy.require(row, "edit")
            for key, value in fields.items():
                setattr(row, key, value)
        if new_owner is not None and new_owner != row.owner_id:
            self.change_owner(session, policy, kind, row, new_owner)
        if new_group is not None and new_group != row.group_id:
            from .graph import GraphManager

            GraphManager().change_group(session, policy, kind, row, new_group)
        row.version += 1
        row.modified = sa.func.now()
        session.flush()
        return self.get(session, caller, kind_name, obj_id)

    def change_owner(self, session: Session, policy: PermissionPolicy, kind: Kind, row, new_owner: int) -> None:
        policy.require(row, "chown")
        member = session.get(m.Membership, (row.group_id, new_owner))
        if member is None:
            raise BadRequest(f"user {new_owner} is not a member of the object's group")
        record(session, policy.caller, "chown", kind.name, row.id, {"from": row.owner_id, "to": new_owner})
        row.owner_id = new_owner

    def link(self, session: Session, caller: Caller, parent_kind: str, parent_id: int, child_id: int) -> dict:
        kind = KINDS[parent_kind]
        policy = PermissionPolicy(caller)
        parent = self.get_row(session, policy, kind, parent_id)
        child = self.get_row(session, policy, KINDS[kind.child], child_id)
        if parent.group_id != child.group_id:
            raise BadRequest(f"{kind.name} {parent_id} and {kind.child} {child_id} are in different groups")
        policy.require(parent, "link")
        policy.require(child, "link")
        link_model = kind.child_link
        existing = session.execute(sa.select(link_model).where(
            link_model.parent_id == parent_id, link_model.child_id == child_id)).scalar_one_or_none()
        if existing is None:
            existing = link_model(parent_id=parent_id, child_id=child_id, owner_id=caller.user_id,
                                  group_id=parent.group_id)
            session.add(existing)
            session.flush()
        return {"id": existing.id, "parent": {"type": kind.name, "id": parent_id},
                "child": {"type": kind.child, "id": child_id}, "owner_id": existing.owner_id}

    def unlink(self, session: Session, caller: Caller, parent_kind: str, parent_id: int, child_id: int) -> None:
        kind = KINDS[parent_kind]
        policy = PermissionPolicy(caller)
        self.get_row(session, policy, kind, parent_id)
        self.get_row(session, policy, KINDS[kind.child], child_id)
        link_model = kind.child_link
        link = session.execute(sa.select(link_model).where(
            link_model.parent_id == parent_id, link_model.child_id == child_id)).scalar_one_or_none()
        if link is None:
            raise NotFound(f"{kind.child} {child_id} is not linked to {kind.name} {parent_id}")
        policy.require(link, "delete")
        session.delete(link)
