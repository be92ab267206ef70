"""An image's original files, seen through the image: whoever may see an image of a fileset may read its originals.

Permission comes from the images, not from the file rows' own group, because an admin may move
images to another group (the fileset's files stay where they are, as in OMERO).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..catalogue.containers import ContainerManager
from ..catalogue.errors import NotFound
from ..catalogue.kinds import KINDS
from ..catalogue.permissions import Caller, PermissionPolicy


def describe_file(f: m.OriginalFile) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "client_path": f.client_path, "size": f.size, "sha256": f.sha256,
            "mimetype": f.mimetype, "fileset_id": f.fileset_id, "created": f.created.isoformat() if f.created else None}


class FilesetManager:
    """Reads of the originals kept for imported images."""

    def originals_of_image(self, session: Session, caller: Caller, image_id: int) -> dict[str, Any]:
        policy = PermissionPolicy(caller)
        image = ContainerManager().get_row(session, policy, KINDS["image"], image_id)
        if image.fileset_id is None:
            return {"image_id": image.id, "fileset_id": None, "items": []}
        files = session.execute(sa.select(m.OriginalFile).where(m.OriginalFile.fileset_id == image.fileset_id)
                                .order_by(m.OriginalFile.id)).scalars().all()
        images = list(session.execute(sa.select(m.Image.id).where(m.Image.fileset_id == image.fileset_id,
                                                                  policy.visible(m.Image))
                                      .order_by(m.Image.id)).scalars())
        return {"image_id": image.id, "fileset_id": image.fileset_id, "images": images,
                "items": [describe_file(f) for f in files]}

    def original(self, session: Session, caller: Caller, file_id: int) -> dict[str, Any]:
        """One original file of an imported image the caller can see, with where it is in the store."""
        policy = PermissionPolicy(caller)
        row = session.get(m.OriginalFile, file_id)
        visible = row is not None and row.fileset_id is not None and session.execute(
            sa.select(m.Image.id).where(m.Image.fileset_id == row.fileset_id, policy.visible(m.Image)).limit(1)
        ).first() is not None
        if not visible:
            raise NotFound(f"original file {file_id} not found")
        return {**describe_file(row), "store_path": row.store_path}
