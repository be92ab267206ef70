"""Building blocks for list queries: paging, ordering and word search, all done in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from .errors import BadRequest

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
ORDERS = ("name", "-name", "id", "-id", "created", "-created", "modified", "-modified")


@dataclass
class ListQuery:
    """What a list request asks for; every field is optional."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT
    owner: int | None = None
    group: int | None = None
    q: str | None = None
    order: str = "name"
    parent: int | None = None
    orphaned: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise BadRequest("offset must be 0 or more")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        if self.order not in ORDERS:
            raise BadRequest(f"order must be one of {', '.join(ORDERS)}")


@dataclass
class Page:
    """One page of a list, with the total count of everything the query matches."""

    items: list[dict[str, Any]]
    offset: int
    limit: int
    total: int

    def as_reply(self) -> dict[str, Any]:
        return {"items": self.items, "offset": self.offset, "limit": self.limit, "total": self.total}


def order_by(model, order: str) -> list[sa.ColumnElement]:
    """ORDER BY for ``order`` (``-`` for descending), ties broken by id so pages never overlap."""
    descending = order.startswith("-")
    column = getattr(model, order.lstrip("-"))
    if order.lstrip("-") == "name":
        column = sa.func.lower(column)
    first = column.desc() if descending else column.asc()
    tie = model.id.desc() if descending else model.id.asc()
    return [first] if order.lstrip("-") == "id" else [first, tie]


def prefix_tsquery(q: str) -> sa.ColumnElement:
    """A tsquery matching every word of ``q`` as a prefix, tokenised exactly as the documents are.

    ``plainto_tsquery`` does the tokenising (and quoting) in PostgreSQL; the regular expression
    then marks each lexeme as a prefix. ``q`` only ever travels as a bound parameter.
    """
    plain = sa.cast(sa.func.plainto_tsquery("simple", q), sa.Text)
    return sa.func.to_tsquery("simple", sa.func.regexp_replace(plain, r"'((?:[^']|'')+)'", r"'\1':*", "g"))


def matches_words(vector: sa.ColumnElement, q: str) -> sa.ColumnElement[bool]:
    return vector.op("@@")(prefix_tsquery(q))


def count(session, stmt: sa.Select) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
