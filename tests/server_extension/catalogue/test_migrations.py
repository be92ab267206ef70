"""The Alembic migrations against a fresh PostgreSQL database: upgrade from empty, downgrade to base
and up again (also one revision at a time), and models that match what the migrations build."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine, make_url

from scopehub.server_extension.catalogue import schema
from scopehub.server_extension.catalogue.models import metadata


@pytest.fixture
def engine(external_database_url: str) -> Iterator[Engine]:
    """An engine on a new, empty database of the session's external PostgreSQL."""
    name = f"migrations_{secrets.token_hex(4)}"
    admin = sa.create_engine(external_database_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    fresh = sa.create_engine(make_url(external_database_url).set(database=name), poolclass=sa.NullPool)
    try:
        yield fresh
    finally:
        fresh.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def relations(engine: Engine) -> set[str]:
    """Every table, index, sequence and view in the public schema, and every type defined there."""
    with engine.connect() as conn:
        rels = conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public'")).scalars().all()
        types = conn.execute(sa.text(
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0")).scalars().all()
    return set(rels) | {f"type:{t}" for t in types}


def revisions(engine: Engine) -> list[str]:
    return [rev for rev, _ in schema.history(engine)]


def _normalised(sql: str) -> str:
    """An index expression without the casts and brackets PostgreSQL adds when it prints one back."""
    return re.sub(r"[\s()]", "", re.sub(r"::[a-z ]+", "", sql.lower()))


def cosmetic(diff: tuple) -> bool:
    """A remove_index/add_index pair differs only in how the expression is printed."""
    return diff[0] in ("add_index", "remove_index")


def model_differences(engine: Engine) -> list:
    """What ``alembic revision --autogenerate`` would write, less purely cosmetic differences.

    The one cosmetic difference expected: an expression index (``ix_map_entries_search``) comes back
    from PostgreSQL as ``to_tsvector('simple'::regconfig, (key::text || ' '::text) || value)``, which
    Alembic compares as text against ``to_tsvector('simple', key || ' ' || value)`` and reports as a
    remove plus an add of the same index. Such a pair is dropped only when both sides are the same
    index (name, table, method, uniqueness) and their expressions are equal once casts and brackets
    are taken out; anything else is a real difference.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diffs = compare_metadata(context, metadata)
    removed = {d[1].name: d[1] for d in diffs if isinstance(d, tuple) and d[0] == "remove_index"}
    added = {d[1].name: d[1] for d in diffs if isinstance(d, tuple) and d[0] == "add_index"}

    def same(name: str) -> bool:
        a, b = removed.get(name), added.get(name)
        if a is None or b is None:
            return False
        key = [(i.table.name, i.unique, i.dialect_options["postgresql"].get("using")) for i in (a, b)]
        texts = [[_normalised(str(getattr(e, "text", e))) for e in i.expressions] for i in (a, b)]
        return key[0] == key[1] and texts[0] == texts[1]

    return [d for d in diffs if not (isinstance(d, tuple) and cosmetic(d) and same(d[1].name))]


def test_upgrade_from_empty(engine: Engine) -> None:
    assert relations(engine) == set()
    before = schema.status(engine)
    assert before.current is None and before.pending == revisions(engine) and not before.up_to_date
    schema.upgrade(engine)
    after = schema.status(engine)
    assert after.up_to_date and after.current == after.head == revisions(engine)[-1]
    tables = set(sa.inspect(engine).get_table_names())
    assert tables == set(metadata.tables) | {"alembic_version"}
    # A second upgrade is a no-op.
    schema.upgrade(engine)
    assert schema.status(engine).current == after.head


def test_round_trip(engine: Engine) -> None:
    schema.upgrade(engine)
    built = relations(engine)
    with engine.begin() as conn:  # some data, so that the downgrade must drop full tables
        conn.execute(sa.text("INSERT INTO groups (name, description, level, version) VALUES ('g', '', 'private', 1)"))
    schema.downgrade(engine, "base")
    # Nothing is left but Alembic's own (now empty) bookkeeping.
    assert relations(engine) <= {"alembic_version", "alembic_version_pkc", "type:alembic_version"}
    assert schema.status(engine).current is None
    schema.upgrade(engine)
    assert relations(engine) == built
    assert model_differences(engine) == []


def test_one_revision_at_a_time(engine: Engine) -> None:
    """Each downgrade undoes exactly what its upgrade did."""
    bookkeeping = {"alembic_version", "alembic_version_pkc", "type:alembic_version"}
    seen = [relations(engine)]
    for rev in revisions(engine):
        schema.upgrade(engine, rev)
        assert schema.status(engine).current == rev
        seen.append(relations(engine) - bookkeeping)
    for rev, expected in zip(reversed([None, *revisions(engine)[:-1]]), reversed(seen[:-1]), strict=True):
        schema.downgrade(engine, "-1")
        assert schema.status(engine).current == rev
        assert relations(engine) - bookkeeping == expected


def test_models_match_migrations(engine: Engine) -> None:
    schema.upgrade(engine)
    assert model_differences(engine) == []


def test_a_real_difference_is_reported(engine: Engine) -> None:
    """The comparison above can fail: a column the models do not know is found."""
    schema.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE projects ADD COLUMN stray integer"))
        conn.execute(sa.text("DROP INDEX ix_map_entries_search"))
    diffs = model_differences(engine)
    assert ("remove_column", None, "projects") in [d[:3] for d in diffs if d[0] == "remove_column"]
    assert any(d[0] == "add_index" and d[1].name == "ix_map_entries_search" for d in diffs)
