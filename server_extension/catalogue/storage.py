"""Storage use per user: the bytes of the originals and pyramids they own, summed in SQL.

- originals: the files of the filesets a user imported (``original_files`` in a fileset), at the size
  recorded when they were copied into the store; attachments (file annotations) are counted apart;
- pyramids: the OME-Zarr pyramids of the images a user owns (``images.pyramid_bytes``, measured when
  the pyramid was written). An image whose pyramid was never measured counts as ``unmeasured``.

Ownership is the catalogue's: changing an image's owner moves its pyramid to the new owner, while its
originals stay with whoever imported them (the fileset's owner).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .errors import Forbidden
from .permissions import Caller


def _empty() -> dict[str, int]:
    return {"original_files": 0, "original_bytes": 0, "attachment_files": 0, "attachment_bytes": 0,
            "images": 0, "pyramid_bytes": 0, "unmeasured_images": 0}


class StorageManager:
    """What users keep in the store. Admins see everyone's; others only their own."""

    def usage(self, session: Session, caller: Caller, user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Per user id: files and bytes of originals and attachments, images and bytes of pyramids."""
        ids = sorted(set(user_ids))
        if not caller.is_admin and any(uid != caller.user_id for uid in ids):
            raise Forbidden("only admins may see other users' storage use")
        out = {uid: _empty() for uid in ids}
        if not ids:
            return out
        f = m.OriginalFile
        in_fileset = f.fileset_id.is_not(None)
        files = session.execute(
            sa.select(f.owner_id,
                      sa.func.count().filter(in_fileset), sa.func.coalesce(sa.func.sum(f.size).filter(in_fileset), 0),
                      sa.func.count().filter(~in_fileset), sa.func.coalesce(sa.func.sum(f.size).filter(~in_fileset), 0))
            .where(f.owner_id.in_(ids)).group_by(f.owner_id))
        for owner, n_orig, orig_bytes, n_att, att_bytes in files:
            out[owner].update(original_files=n_orig, original_bytes=int(orig_bytes), attachment_files=n_att,
                              attachment_bytes=int(att_bytes))
        i = m.Image
        images = session.execute(
            sa.select(i.owner_id, sa.func.count(), sa.func.coalesce(sa.func.sum(i.pyramid_bytes), 0),
                      sa.func.count().filter(i.pyramid_bytes.is_(None)))
            .where(i.zarr_path.is_not(None), i.owner_id.in_(ids)).group_by(i.owner_id))
        for owner, n_images, pyramid_bytes, unmeasured in images:
            out[owner].update(images=n_images, pyramid_bytes=int(pyramid_bytes), unmeasured_images=unmeasured)
        return out

