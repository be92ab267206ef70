"""OMERO's graph rules for delete and change-group.

Deleting (or moving) a container takes its children along only when nothing else holds them: a
dataset linked to a second project stays, as does an image in a second dataset. Objects the caller
may not delete stay too. Comments, maps and ratings go with the last object they annotate; tags,
tag sets and file attachments stay unless asked for. An image's ROIs, whoever drew them, go and move
with it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .audit import record
from .errors import BadRequest, NotFound
from .kinds import KINDS, Kind
from .permissions import PermissionPolicy
from .provenance import ProvenanceManager

# Order matters when deleting: children before the containers that hold them.
DELETE_ORDER = ("image", "dataset", "project", "plate", "screen")
ALWAYS_WITH_OBJECT = ("comment", "map", "rating")
OPTIONAL_ANNOTATIONS = ("tag", "tagset", "file")


class GraphManager:
    """Works out which objects an operation on a container reaches, then applies it."""

    def collect(self, session: Session, policy: PermissionPolicy, kind: Kind, roots: list,
                action: str) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
        """Walk down from ``roots``: (objects reached, objects kept because linked elsewhere or not allowed)."""
        reached: dict[str, set[int]] = defaultdict(set)
        kept: dict[str, set[int]] = defaultdict(set)
        reached[kind.name].update(r.id for r in roots)
        level = kind
        while level.child is not None:
            child_kind = KINDS[level.child]
            link, child = level.child_link, child_kind.model
            parents = reached[level.name]
            if not parents:
                break
            candidates = session.execute(
                sa.select(child).join(link, link.child_id == child.id)
                .where(link.parent_id.in_(parents)).distinct()).scalars().all()
            held_elsewhere = set(session.execute(
                sa.select(link.child_id).where(link.child_id.in_([c.id for c in candidates]),
                                               link.parent_id.not_in(parents))).scalars())
            for obj in candidates:
                if obj.id in held_elsewhere or not policy.of(obj.owner_id, obj.group_id).allows(action):
                    kept[child_kind.name].add(obj.id)
                else:
                    reached[child_kind.name].add(obj.id)
            level = child_kind
        if reached.get("plate"):
            self._collect_plate_images(session, policy, reached, kept, action)
        return reached, kept

    def _collect_plate_images(self, session, policy, reached, kept, action) -> None:
        wells = set(session.execute(sa.select(m.Well.id).where(m.Well.plate_id.in_(reached["plate"]))).scalars())
        reached["well"].update(wells)
        if not wells:
            return
        images = session.execute(
            sa.select(m.Image).join(m.WellSample, m.WellSample.image_id == m.Image.id)
            .where(m.WellSample.well_id.in_(wells)).distinct()).scalars().all()
        ids = [i.id for i in images]
        elsewhere = set(session.execute(sa.select(m.WellSample.image_id).where(
            m.WellSample.image_id.in_(ids), m.WellSample.well_id.not_in(wells))).scalars())
        elsewhere |= set(session.execute(sa.select(m.DatasetImageLink.child_id).where(
            m.DatasetImageLink.child_id.in_(ids))).scalars())
        for image in images:
            if image.id in elsewhere or not policy.of(image.owner_id, image.group_id).allows(action):
                kept["image"].add(image.id)
            else:
                reached["image"].add(image.id)

    def annotations_reached(self, session: Session, policy: PermissionPolicy, reached: dict[str, set[int]],
                            include: set[str]) -> tuple[set[int], set[int]]:
        """(annotations that go, annotation links that go) when ``reached`` objects go."""
        targets = [(t, ids) for t, ids in reached.items() if ids and t in m.ANNOTATABLE_TYPES]
        if not targets:
            return set(), set()
        on_reached = sa.or_(*[sa.and_(m.AnnotationLink.parent_type == t, m.AnnotationLink.parent_id.in_(ids))
                              for t, ids in targets])
        links = session.execute(sa.select(m.AnnotationLink.id, m.AnnotationLink.annotation_id)
                                .where(on_reached)).all()
        link_ids = {lid for lid, _ in links}
        annotation_ids = {aid for _, aid in links}
        if not annotation_ids:
            return set(), link_ids
        linked_elsewhere = set(session.execute(
            sa.select(m.AnnotationLink.annotation_id)
            .where(m.AnnotationLink.annotation_id.in_(annotation_ids), ~on_reached)).scalars())
        going = set()
        for ann in session.execute(sa.select(m.Annotation).where(m.Annotation.id.in_(annotation_ids))).scalars():
            wanted = ann.kind in ALWAYS_WITH_OBJECT or ann.kind in include
            if wanted and ann.id not in linked_elsewhere and policy.of(ann.owner_id, ann.group_id).can_delete:
                going.add(ann.id)
        return going, link_ids

    # ---- delete --------------------------------------------------------------------------
    def delete(self, session: Session, caller, kind_name: str, obj_id: int, *, dry_run: bool = False,
               include: tuple[str, ...] = ()) -> dict[str, Any]:
        """Delete an object and what it alone holds; with ``dry_run``, only say what would go."""
        from .containers import ContainerManager

        kind = KINDS[kind_name]
        policy = PermissionPolicy(caller)
        unknown = set(include) - set(OPTIONAL_ANNOTATIONS)
        if unknown:
            raise BadRequest(f"include may name {', '.join(OPTIONAL_ANNOTATIONS)}, not {', '.join(sorted(unknown))}")
        row = ContainerManager().get_row(session, policy, kind, obj_id, "delete", lock=not dry_run)
        reached, kept = self.collect(session, policy, kind, [row], "delete")
        annotations, annotation_links = self.annotations_reached(session, policy, reached, set(include))
        filesets, files = self._filesets_emptied(session, reached.get("image", set()))
        rois = self._rois_of(session, reached.get("image", set()))
        report = {
            "dry_run": dry_run,
            "deleted": {k: sorted(v) for k, v in reached.items() if v and k != "well"}
            | ({"annotation": sorted(annotations)} if annotations else {})
            | ({"roi": rois} if rois else {})
            | ({"fileset": sorted(filesets)} if filesets else {}),
            "kept": {k: sorted(v) for k, v in kept.items() if v},
        }
        if dry_run:
            return report
        session.execute(sa.delete(m.AnnotationLink).where(m.AnnotationLink.id.in_(annotation_links)))
        if annotations:
            attached = session.execute(sa.select(m.OriginalFile.id, m.OriginalFile.store_path)
                                       .join(m.Annotation, m.Annotation.file_id == m.OriginalFile.id)
                                       .where(m.Annotation.id.in_(annotations))).all()
            session.execute(sa.delete(m.AnnotationLink).where(m.AnnotationLink.annotation_id.in_(annotations)))
            session.execute(sa.delete(m.Annotation).where(m.Annotation.id.in_(annotations)))
            # An attachment's file goes with it: its record now, its copy in the store after commit.
            if attached:
                session.execute(sa.delete(m.OriginalFile).where(m.OriginalFile.id.in_([f for f, _ in attached])))
                session.info.setdefault("remove_after_commit", []).extend(p for _, p in attached)
        if rois:
            # Set-based: the foreign keys would cascade too, but one ROI (and one shapes lookup) at a time.
            session.execute(sa.delete(m.Shape).where(m.Shape.roi_id.in_(
                sa.select(m.Roi.id).where(m.Roi.image_id.in_(reached["image"])))))
            session.execute(sa.delete(m.Roi).where(m.Roi.image_id.in_(reached["image"])))
        if reached.get("image"):
            # Each image's pyramid goes with it (after commit); its originals go with its emptied fileset below.
            session.info.setdefault("remove_after_commit", []).extend(session.execute(
                sa.select(m.Image.zarr_path).where(m.Image.id.in_(reached["image"]),
                                                   m.Image.zarr_path.is_not(None))).scalars())
        ProvenanceManager().forget(session, reached)
        for name in DELETE_ORDER:
            ids = reached.get(name)
            if ids:
                model = KINDS[name].model
                session.execute(sa.delete(model).where(model.id.in_(ids)))
        if filesets:
            store_paths = list(session.execute(sa.select(m.OriginalFile.store_path)
                                               .where(m.OriginalFile.fileset_id.in_(filesets))).scalars())
            session.execute(sa.delete(m.Fileset).where(m.Fileset.id.in_(filesets)))
            session.info.setdefault("remove_after_commit", []).extend(store_paths)
        del files
        if caller.is_admin or caller.real_user_id is not None:
            record(session, caller, "delete", kind.name, obj_id, {"deleted": report["deleted"]})
        return report

    def _rois_of(self, session: Session, image_ids: set[int]) -> list[int]:
        if not image_ids:
            return []
        return list(session.execute(sa.select(m.Roi.id).where(m.Roi.image_id.in_(image_ids))
                                    .order_by(m.Roi.id)).scalars())

    def _filesets_emptied(self, session: Session, image_ids: set[int]) -> tuple[set[int], set[int]]:
        if not image_ids:
            return set(), set()
        filesets = set(session.execute(sa.select(m.Image.fileset_id).where(
            m.Image.id.in_(image_ids), m.Image.fileset_id.is_not(None))).scalars())
        if not filesets:
            return set(), set()
        still_used = set(session.execute(sa.select(m.Image.fileset_id).where(
            m.Image.fileset_id.in_(filesets), m.Image.id.not_in(image_ids))).scalars())
        emptied = filesets - still_used
        files = set(session.execute(sa.select(m.OriginalFile.id).where(m.OriginalFile.fileset_id.in_(emptied))).scalars())
        return emptied, files

    # ---- change group --------------------------------------------------------------------
    def change_group(self, session: Session, policy: PermissionPolicy, kind: Kind, row, group_id: int) -> None:
        """Move ``row`` and what it alone holds to ``group_id`` (admins only, as in OMERO)."""
        policy.require(row, "chgrp")
        if session.get(m.Group, group_id) is None:
            raise NotFound(f"group {group_id} not found")
        reached, _kept = self.collect(session, policy, kind, [row], "chgrp")
        owners = set()
        for name, ids in reached.items():
            if name == "well" or not ids:
                continue
            model = KINDS[name].model
            owners |= set(session.execute(sa.select(model.owner_id).where(model.id.in_(ids))).scalars())
        members = set(session.execute(sa.select(m.Membership.user_id).where(
            m.Membership.group_id == group_id, m.Membership.user_id.in_(owners))).scalars())
        if owners - members:
            raise BadRequest(f"the owners {sorted(owners - members)} are not members of group {group_id}")
        annotations, annotation_links = self.annotations_reached(
            session, policy, reached, set(OPTIONAL_ANNOTATIONS))
        moved = {name: ids for name, ids in reached.items() if ids}
        for name, ids in moved.items():
            model = m.Well if name == "well" else KINDS[name].model
            session.execute(sa.update(model).where(model.id.in_(ids)).values(group_id=group_id))
        # Links inside the moved graph move too; links to anything left behind go.
        for k in KINDS.values():
            if k.child_link is None:
                continue
            link = k.child_link
            parents, children = moved.get(k.name, set()), moved.get(k.child, set())
            session.execute(sa.update(link).where(link.parent_id.in_(parents), link.child_id.in_(children))
                            .values(group_id=group_id))
            session.execute(sa.delete(link).where(
                sa.or_(sa.and_(link.child_id.in_(children), link.parent_id.not_in(parents)),
                       sa.and_(link.parent_id.in_(parents), link.child_id.not_in(children)))))
        session.execute(sa.update(m.WellSample).where(m.WellSample.well_id.in_(moved.get("well", set())))
                        .values(group_id=group_id))
        # A ROI is always in its image's group, whoever drew it.
        session.execute(sa.update(m.Roi).where(m.Roi.image_id.in_(moved.get("image", set())))
                        .values(group_id=group_id))
        session.execute(sa.update(m.Annotation).where(m.Annotation.id.in_(annotations)).values(group_id=group_id))
        session.execute(sa.update(m.AnnotationLink).where(m.AnnotationLink.id.in_(annotation_links),
                                                          m.AnnotationLink.annotation_id.in_(annotations))
                        .values(group_id=group_id))
        session.execute(sa.delete(m.AnnotationLink).where(m.AnnotationLink.id.in_(annotation_links),
                                                          m.AnnotationLink.annotation_id.not_in(annotations)))
        record(session, policy.caller, "chgrp", kind.name, row.id,
               {"from": row.group_id, "to": group_id, "moved": {k: sorted(v) for k, v in moved.items()}})
        row.group_id = group_id
