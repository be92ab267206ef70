"""Tags, tag sets, key-value maps, comments, file attachments and ratings, and their links."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .containers import owned_fields, user_and_group_names
from .errors import BadRequest, Conflict, NotFound
from .kinds import ANNOTATABLE
from .permissions import Caller, PermissionPolicy
from .queries import ListQuery, Page, count, matches_words, order_by


def parse_target(text: str) -> tuple[str, int]:
    """``image:12`` -> ("image", 12)."""
    kind, _, ident = text.partition(":")
    # isascii: str.isdigit() also accepts other scripts' digits ("٣"), which are no id.
    if kind not in ANNOTATABLE or not (ident.isascii() and ident.isdigit()):
        raise BadRequest(f"cannot annotate {text!r}: name an object as TYPE:ID, TYPE one of {', '.join(ANNOTATABLE)}")
    if not 1 <= int(ident) <= 2**63 - 1:  # past bigint: no such object, not a database error
        raise NotFound(f"{kind} {ident} not found")
    return kind, int(ident)


class AnnotationManager:
    """Annotations are owned objects like any other; so is every link that attaches one."""

    def describe(self, session: Session, policy: PermissionPolicy, rows: list[m.Annotation],
                 links: dict[int, list[m.AnnotationLink]] | None = None) -> list[dict[str, Any]]:
        user_ids = {r.owner_id for r in rows} | {lk.owner_id for ls in (links or {}).values() for lk in ls}
        users, groups = user_and_group_names(session, user_ids, {r.group_id for r in rows})
        entries: dict[int, list[list[str]]] = {}
        map_ids = [r.id for r in rows if r.kind == "map"]
        if map_ids:
            for e in session.execute(sa.select(m.MapEntry).where(m.MapEntry.annotation_id.in_(map_ids))
                                     .order_by(m.MapEntry.annotation_id, m.MapEntry.index)).scalars():
                entries.setdefault(e.annotation_id, []).append([e.key, e.value])
        files = {}
        file_ids = [r.file_id for r in rows if r.file_id is not None]
        if file_ids:
            files = {f.id: f for f in session.execute(sa.select(m.OriginalFile).where(m.OriginalFile.id.in_(file_ids))).scalars()}
        items = []
        for row in rows:
            item: dict[str, Any] = {"type": row.kind, **owned_fields(row, policy, users, groups),
                                    "namespace": row.namespace, "description": row.description}
            if row.kind in ("tag", "tagset", "comment"):
                item["value"] = row.text_value
            elif row.kind == "rating":
                item["value"] = row.long_value
            elif row.kind == "map":
                item["values"] = entries.get(row.id, [])
            elif row.kind == "file":
                f = files[row.file_id]
                item["file"] = {"id": f.id, "name": f.name, "size": f.size, "sha256": f.sha256, "mimetype": f.mimetype}
            if links is not None:
                item["links"] = [{"id": lk.id, "parent": {"type": lk.parent_type, "id": lk.parent_id},
                                  "owner": {"id": lk.owner_id, "username": users.get(lk.owner_id, "")},
                                  "can_delete": policy.of(lk.owner_id, lk.group_id).can_delete}
                                 for lk in links.get(row.id, [])]
            items.append(item)
        return items

    def target_row(self, session: Session, policy: PermissionPolicy, kind: str, obj_id: int, action: str = "view"):
        model = ANNOTATABLE[kind]
        row = session.get(model, obj_id)
        if row is None:
            raise NotFound(f"{kind} {obj_id} not found")
        policy.require(row, action)
        return row

    def get_row(self, session: Session, policy: PermissionPolicy, ann_id: int, action: str = "view",
                lock: bool = False) -> m.Annotation:
        stmt = sa.select(m.Annotation).where(m.Annotation.id == ann_id)
        row = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if row is None:
            raise NotFound(f"annotation {ann_id} not found")
        policy.require(row, action)
        return row

    # ---- reading -------------------------------------------------------------------------
    def list(self, session: Session, caller: Caller, query: ListQuery, on: str | None = None,
             kind: str | None = None) -> Page:
        policy = PermissionPolicy(caller)
        stmt = sa.select(m.Annotation).where(policy.visible(m.Annotation))
        if kind is not None:
            if kind not in m.ANNOTATION_KINDS:
                raise BadRequest(f"type must be one of {', '.join(m.ANNOTATION_KINDS)}")
            stmt = stmt.where(m.Annotation.kind == kind)
        if query.owner is not None:
            stmt = stmt.where(m.Annotation.owner_id == query.owner)
        if query.group is not None:
            stmt = stmt.where(m.Annotation.group_id == query.group)
        if query.q:
            stmt = stmt.where(matches_words(m.Annotation.search_vector, query.q))
        target = None
        if on is not None:
            target = parse_target(on)
            self.target_row(session, policy, *target)
            linked = (sa.select(m.AnnotationLink.annotation_id)
                      .where(m.AnnotationLink.parent_type == target[0], m.AnnotationLink.parent_id == target[1],
                             policy.visible(m.AnnotationLink)))
            stmt = stmt.where(m.Annotation.id.in_(linked))
        total = count(session, stmt)
        order = query.order.replace("name", "id")
        rows = session.execute(stmt.order_by(*order_by(m.Annotation, order)).offset(query.offset)
                               .limit(query.limit)).scalars().all()
        links = None
        if target is not None:
            links = {}
            for lk in session.execute(sa.select(m.AnnotationLink).where(
                    m.AnnotationLink.parent_type == target[0], m.AnnotationLink.parent_id == target[1],
                    m.AnnotationLink.annotation_id.in_([r.id for r in rows]),
                    policy.visible(m.AnnotationLink)).order_by(m.AnnotationLink.id)).scalars():
                links.setdefault(lk.annotation_id, []).append(lk)
        return Page(self.describe(session, policy, list(rows), links), query.offset, query.limit, total)

    def get(self, session: Session, caller: Caller, ann_id: int) -> dict:
        policy = PermissionPolicy(caller)
        row = self.get_row(session, policy, ann_id)
        links = {row.id: list(session.execute(sa.select(m.AnnotationLink).where(
            m.AnnotationLink.annotation_id == row.id, policy.visible(m.AnnotationLink))
            .order_by(m.AnnotationLink.id)).scalars())}
        return self.describe(session, policy, [row], links)[0]

    def file_of(self, session: Session, caller: Caller, ann_id: int) -> m.OriginalFile:
        row = self.get_row(session, PermissionPolicy(caller), ann_id)
        if row.kind != "file":
            raise NotFound(f"annotation {ann_id} has no file")
        return session.get(m.OriginalFile, row.file_id)

    # ---- writing -------------------------------------------------------------------------
    def create(self, session: Session, caller: Caller, fields: dict[str, Any],
               stored_file: dict[str, Any] | None = None) -> dict:
        """Create an annotation and link it to each object of ``fields["on"]``."""
        from .containers import ContainerManager

        policy = PermissionPolicy(caller)
        kind = fields["type"]
        targets = [parse_target(t) for t in fields.get("on", [])]
        target_rows = [self.target_row(session, policy, k, i, "annotate") for k, i in targets]
        group_id = fields.get("group_id")
        if group_id is None:
            group_id = target_rows[0].group_id if target_rows else ContainerManager().default_group(session, caller)
        policy.require_member(group_id)
        for (k, i), row in zip(targets, target_rows, strict=True):
            if row.group_id != group_id:
                raise BadRequest(f"{k} {i} is in another group than the annotation")
        ann = m.Annotation(owner_id=caller.user_id, group_id=group_id, kind=kind,
                           namespace=fields.get("namespace") or "", description=fields.get("description") or "")
        self._set_value(ann, kind, fields, creating=True)
        if kind == "file":
            if stored_file is None:
                raise BadRequest("a file annotation needs a file: send it as multipart/form-data")
            original = m.OriginalFile(owner_id=caller.user_id, group_id=group_id, **stored_file)
            session.add(original)
            session.flush()
            ann.file_id = original.id
        session.add(ann)
        session.flush()
        if kind == "map":
            self._set_entries(session, ann.id, fields.get("values") or [])
        for k, i in targets:
            self._add_link(session, caller, ann, k, i)
        session.flush()
        return self.get(session, caller, ann.id)

    def _set_value(self, ann: m.Annotation, kind: str, fields: dict[str, Any], creating: bool) -> None:
        value = fields.get("value")
        if kind in ("tag", "tagset", "comment"):
            if creating and (not isinstance(value, str) or not value.strip()):
                raise BadRequest(f"a {kind} needs a non-empty text value")
            if value is not None:
                if not isinstance(value, str):
                    raise BadRequest(f"a {kind}'s value is text")
                ann.text_value = value
        elif kind == "rating":
            if creating and value is None:
                raise BadRequest("a rating needs a value from 1 to 5")
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                    raise BadRequest("a rating's value is a whole number from 1 to 5")
                ann.long_value = value
        elif value is not None:
            raise BadRequest(f"a {kind} annotation takes no value" + (" (use values)" if kind == "map" else ""))
        if kind != "map" and fields.get("values") is not None:
            raise BadRequest("only a map annotation takes values")

    def _set_entries(self, session: Session, ann_id: int, values: list) -> None:
        session.execute(sa.delete(m.MapEntry).where(m.MapEntry.annotation_id == ann_id))
        for index, (key, value) in enumerate(values):
            session.add(m.MapEntry(annotation_id=ann_id, index=index, key=key, value=value))

    def update(self, session: Session, caller: Caller, ann_id: int, fields: dict[str, Any],
               expected_version: int | None = None) -> dict:
        policy = PermissionPolicy(caller)
        ann = self.get_row(session, policy, ann_id, "edit", lock=True)
        if expected_version is not None and expected_version != ann.version:
            raise Conflict(f"annotation {ann_id} was changed by someone else (version {ann.version}); read it again")
        self._set_value(ann, ann.kind, fields, creating=False)
        for key in ("namespace", "description"):
            if fields.get(key) is not None:
                setattr(ann, key, fields[key])
        if fields.get("values") is not None:
            self._set_entries(session, ann.id, fields["values"])
        ann.version += 1
        ann.modified = sa.func.now()
        session.flush()
        return self.get(session, caller, ann_id)

    def delete(self, session: Session, caller: Caller, ann_id: int) -> dict:
        policy = PermissionPolicy(caller)
        ann = self.get_row(session, policy, ann_id, "delete", lock=True)
        session.execute(sa.delete(m.AnnotationLink).where(
            sa.or_(m.AnnotationLink.annotation_id == ann_id,
                   sa.and_(m.AnnotationLink.parent_type == "annotation", m.AnnotationLink.parent_id == ann_id))))
        if ann.file_id is not None:
            original = session.get(m.OriginalFile, ann.file_id)
            session.delete(ann)
            session.flush()
            session.info.setdefault("remove_after_commit", []).append(original.store_path)
            session.delete(original)
        else:
            session.delete(ann)
        return {"deleted": {"annotation": [ann_id]}}

    def _add_link(self, session: Session, caller: Caller, ann: m.Annotation, kind: str, obj_id: int) -> m.AnnotationLink:
        if kind == "annotation":
            parent = session.get(m.Annotation, obj_id)
            if parent.kind != "tagset" or ann.kind != "tag":
                raise BadRequest("only tags can be linked to an annotation, and only to a tag set")
        existing = session.execute(sa.select(m.AnnotationLink).where(
            m.AnnotationLink.parent_type == kind, m.AnnotationLink.parent_id == obj_id,
            m.AnnotationLink.annotation_id == ann.id, m.AnnotationLink.owner_id == caller.user_id)).scalar_one_or_none()
        if existing is not None:
            return existing
        link = m.AnnotationLink(annotation_id=ann.id, parent_type=kind, parent_id=obj_id,
                                owner_id=caller.user_id, group_id=ann.group_id)
        session.add(link)
        session.flush()
        return link

    def link(self, session: Session, caller: Caller, kind: str, obj_id: int, ann_id: int) -> dict:
        policy = PermissionPolicy(caller)
        target = self.target_row(session, policy, kind, obj_id, "annotate")
        ann = self.get_row(session, policy, ann_id)
        if ann.group_id != target.group_id:
            raise BadRequest(f"annotation {ann_id} and {kind} {obj_id} are in different groups")
        link = self._add_link(session, caller, ann, kind, obj_id)
        return {"id": link.id, "annotation_id": ann_id, "parent": {"type": kind, "id": obj_id},
                "owner_id": link.owner_id}

    def unlink(self, session: Session, caller: Caller, kind: str, obj_id: int, ann_id: int) -> None:
        """Remove the caller's links (or, where the matrix allows, anyone's) of ``ann_id`` from the object."""
        policy = PermissionPolicy(caller)
        self.target_row(session, policy, kind, obj_id)
        self.get_row(session, policy, ann_id)
        links = session.execute(sa.select(m.AnnotationLink).where(
            m.AnnotationLink.parent_type == kind, m.AnnotationLink.parent_id == obj_id,
            m.AnnotationLink.annotation_id == ann_id, policy.visible(m.AnnotationLink))).scalars().all()
        if not links:
            raise NotFound(f"annotation {ann_id} is not linked to {kind} {obj_id}")
        mine = [lk for lk in links if lk.owner_id == caller.user_id]
        for lk in mine or links:
            policy.require(lk, "delete")
            session.delete(lk)
