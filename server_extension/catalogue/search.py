"""Search across everything the caller may see: names, descriptions, tags, key-values, comments.

``q`` is words (each matched as a prefix), or ``key=value`` for an exact key-value pair, or
``tag:name`` for a tag by its exact name (any case).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import models as m
from .containers import ContainerManager
from .errors import BadRequest
from .kinds import KINDS
from .permissions import Caller, PermissionPolicy
from .queries import ListQuery, Page, matches_words

SEARCHABLE = ("project", "dataset", "image", "screen", "plate")


class SearchManager:
    def annotation_condition(self, q: str) -> sa.ColumnElement[bool]:
        if q.lower().startswith("tag:"):
            return sa.and_(m.Annotation.kind == "tag", sa.func.lower(m.Annotation.text_value) == q[4:].strip().lower())
        if "=" in q:
            key, _, value = q.partition("=")
            return m.Annotation.id.in_(sa.select(m.MapEntry.annotation_id)
                                       .where(m.MapEntry.key == key.strip(), m.MapEntry.value == value.strip()))
        entry_vector = sa.func.to_tsvector("simple", m.MapEntry.key.op("||")(" ").op("||")(m.MapEntry.value))
        return sa.or_(matches_words(m.Annotation.search_vector, q),
                      m.Annotation.id.in_(sa.select(m.MapEntry.annotation_id).where(matches_words(entry_vector, q))))

    def search(self, session: Session, caller: Caller, q: str, types: list[str] | None, query: ListQuery) -> Page:
        q = (q or "").strip()
        if not q:
            raise BadRequest("q must not be empty")
        types = types or list(SEARCHABLE)
        unknown = set(types) - set(SEARCHABLE)
        if unknown:
            raise BadRequest(f"type must be among {', '.join(SEARCHABLE)}")
        policy = PermissionPolicy(caller)
        annotations = sa.select(m.Annotation.id).where(policy.visible(m.Annotation), self.annotation_condition(q))
        structured = q.lower().startswith("tag:") or "=" in q
        parts = []
        for rank, name in enumerate(types):
            model = KINDS[name].model
            annotated = sa.select(m.AnnotationLink.parent_id).where(
                m.AnnotationLink.parent_type == name, m.AnnotationLink.annotation_id.in_(annotations))
            found = model.id.in_(annotated)
            if not structured:
                found = sa.or_(matches_words(model.search_vector, q), found)
            parts.append(sa.select(sa.literal(rank).label("rank"), sa.literal(name).label("type"),
                                   model.id.label("id"), sa.func.lower(model.name).label("sort"))
                         .where(policy.visible(model), found))
        union = sa.union_all(*parts).subquery()
        # The total rides along with the page (a window over every match), so the matches are found
        # once, not twice; only a page past the end needs its own count.
        rows = session.execute(sa.select(union.c.type, union.c.id, sa.func.count().over().label("total"))
                               .order_by(union.c.rank, union.c.sort, union.c.id)
                               .offset(query.offset).limit(query.limit)).all()
        hits = [(row.type, row.id) for row in rows]
        if rows:
            total = rows[0].total
        elif query.offset == 0:
            total = 0
        else:
            total = session.execute(sa.select(sa.func.count()).select_from(union)).scalar_one()
        containers = ContainerManager()
        by_key = {}
        for name in {t for t, _ in hits}:
            ids = [i for t, i in hits if t == name]
            model = KINDS[name].model
            rows = session.execute(sa.select(model).where(model.id.in_(ids))).scalars().all()
            for item in containers.describe(session, policy, KINDS[name], list(rows)):
                by_key[(name, item["id"])] = item
        return Page([by_key[(t, i)] for t, i in hits], query.offset, query.limit, total)
