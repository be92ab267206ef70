"""Wells of a plate, and the images each holds (high-content screening)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .containers import ContainerManager
from .errors import BadRequest, Conflict
from .kinds import KINDS
from .permissions import Caller, PermissionPolicy
from .queries import ListQuery, Page, count


class WellManager:
    def describe(self, session: Session, wells: list[m.Well]) -> list[dict[str, Any]]:
        samples: dict[int, list[dict]] = {}
        if wells:
            for ws in session.execute(sa.select(m.WellSample).where(m.WellSample.well_id.in_([w.id for w in wells]))
                                      .order_by(m.WellSample.id)).scalars():
                samples.setdefault(ws.well_id, []).append({"id": ws.id, "image_id": ws.image_id})
        return [{"id": w.id, "plate_id": w.plate_id, "row": w.row, "column": w.column,
                 "external_description": w.external_description, "samples": samples.get(w.id, [])} for w in wells]

    def list(self, session: Session, caller: Caller, plate_id: int, query: ListQuery) -> Page:
        policy = PermissionPolicy(caller)
        ContainerManager().get_row(session, policy, KINDS["plate"], plate_id)
        stmt = sa.select(m.Well).where(m.Well.plate_id == plate_id, policy.visible(m.Well))
        total = count(session, stmt)
        wells = session.execute(stmt.order_by(m.Well.row, m.Well.column).offset(query.offset)
                                .limit(query.limit)).scalars().all()
        return Page(self.describe(session, list(wells)), query.offset, query.limit, total)

    def create(self, session: Session, caller: Caller, plate_id: int, fields: dict[str, Any]) -> dict:
        policy = PermissionPolicy(caller)
        plate = ContainerManager().get_row(session, policy, KINDS["plate"], plate_id, "link", lock=True)
        if (plate.rows and fields["row"] >= plate.rows) or (plate.columns and fields["column"] >= plate.columns):
            raise BadRequest(f"plate {plate_id} has {plate.rows} rows and {plate.columns} columns")
        taken = session.execute(sa.select(m.Well.id).where(
            m.Well.plate_id == plate_id, m.Well.row == fields["row"], m.Well.column == fields["column"])).first()
        if taken:
            raise Conflict(f"plate {plate_id} already has a well at row {fields['row']}, column {fields['column']}")
        images = [ContainerManager().get_row(session, policy, KINDS["image"], i, "link")
                  for i in fields.get("image_ids", [])]
        for image in images:
            if image.group_id != plate.group_id:
                raise BadRequest(f"image {image.id} is in another group than plate {plate_id}")
        well = m.Well(owner_id=caller.user_id, group_id=plate.group_id, plate_id=plate_id, row=fields["row"],
                      column=fields["column"], external_description=fields.get("external_description", ""))
        session.add(well)
        session.flush()
        for image in images:
            session.add(m.WellSample(owner_id=caller.user_id, group_id=plate.group_id, well_id=well.id,
                                     image_id=image.id))
        session.flush()
        return self.describe(session, [well])[0]
