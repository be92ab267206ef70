"""PermissionPolicy against the hand-written matrix: ``of`` for single objects, ``visible`` for lists.

The HTTP test (tests/server_extension/test_permissions_matrix.py) walks the same cells through the
API on PostgreSQL; this one is fast and pins the policy itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from scopehub.server_extension.catalogue.permissions import Caller, PermissionPolicy

from ..permission_matrix import ACTIONS, ACTORS, HIDDEN, LEVELS, MATRIX, NO, YES, expected, markdown

DATA_OWNER = 1
# Group ids: one per level, plus the group the non-member belongs to.
GROUPS = {level: gid for gid, level in enumerate(LEVELS, start=10)}
OUTSIDE_GROUP = 99
USER_IDS = {"owner": DATA_OWNER, "member": 2, "group-owner": 3, "admin": 4, "non-member": 5}


def caller(actor: str, *, can_write: bool = True) -> Caller:
    """The actor as the catalogue sees them: the same user in every level's group, as in the HTTP test."""
    levels = {gid: level for level, gid in GROUPS.items()} | {OUTSIDE_GROUP: "read-write"}
    role = {"owner": "member", "member": "member", "group-owner": "owner"}.get(actor)
    roles = {gid: role for gid in GROUPS.values()} if role else {}
    if actor == "non-member":
        roles = {OUTSIDE_GROUP: "member"}
    return Caller(
        user_id=USER_IDS[actor],
        username=actor,
        is_admin=actor == "admin",
        roles=roles,
        group_levels=levels,
        can_write=can_write,
    )


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("level", LEVELS)
def test_of_matches_matrix(level: str, actor: str) -> None:
    perms = PermissionPolicy(caller(actor)).of(DATA_OWNER, GROUPS[level])
    got = {a: perms.allows(a) for a in ACTIONS}
    want = {a: expected(level, actor, a) == YES for a in ACTIONS}
    assert got == want
    # The reply flags are the same facts.
    assert perms.as_reply() == {f"can_{a}": want[a] for a in ("edit", "delete", "annotate", "link", "chown", "chgrp")}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("level", LEVELS)
def test_read_only_token_may_only_view(level: str, actor: str) -> None:
    """A token with the read scope and not write: the view column, nothing else."""
    perms = PermissionPolicy(caller(actor, can_write=False)).of(DATA_OWNER, GROUPS[level])
    assert perms.can_view == (expected(level, actor, "view") == YES)
    assert not any(perms.allows(a) for a in ACTIONS if a != "view")


@pytest.mark.parametrize("actor", ACTORS)
def test_own_data_in_a_group_one_has_left(actor: str) -> None:
    """Data a user still owns in a group they no longer belong to stays theirs to see and edit;
    only an admin may give it away or move it, their own included."""
    me = caller(actor)
    perms = PermissionPolicy(me).of(me.user_id, 12345)
    assert perms.can_view and perms.can_edit and perms.can_delete
    assert perms.can_chown == perms.can_chgrp == (actor == "admin")


def test_visible_filters_rows_as_the_matrix_says() -> None:
    """``visible`` is a SQL clause: run it on a table holding one object per group level."""
    meta = sa.MetaData()
    objects = sa.Table(
        "objects",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer),
        sa.Column("group_id", sa.Integer),
    )
    engine = sa.create_engine("sqlite://")
    try:
        meta.create_all(engine)
        rows = [{"id": gid, "owner_id": DATA_OWNER, "group_id": gid} for gid in GROUPS.values()]
        # Something in the non-member's own group, which nobody else in the matrix belongs to.
        rows.append({"id": OUTSIDE_GROUP, "owner_id": USER_IDS["non-member"], "group_id": OUTSIDE_GROUP})
        with engine.begin() as conn:
            conn.execute(objects.insert(), rows)
            for actor in ACTORS:
                clause = PermissionPolicy(caller(actor)).visible(objects.c)
                seen = set(conn.execute(sa.select(objects.c.id).where(clause)).scalars())
                want = {gid for level, gid in GROUPS.items() if expected(level, actor, "view") != HIDDEN}
                if actor in ("admin", "non-member"):
                    want.add(OUTSIDE_GROUP)  # admins see everything; the non-member owns it
                assert seen == want, actor
    finally:
        engine.dispose()


def test_docs_show_the_same_matrix() -> None:
    """docs/permissions.md carries the table the tests check, word for word."""
    docs = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"
    assert markdown() in docs.read_text(encoding="utf-8")


def test_matrix_is_well_formed() -> None:
    """Every cell of the literal table is filled, and an invisible object is invisible to every action."""
    for level in LEVELS:
        assert set(MATRIX[level]) == set(ACTORS)
        for actor in ACTORS:
            cells = MATRIX[level][actor].split()
            assert len(cells) == len(ACTIONS) and set(cells) <= {YES, NO, HIDDEN}, (level, actor)
            assert (HIDDEN in cells) == (set(cells) == {HIDDEN}), (level, actor)
