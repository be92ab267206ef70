"""CallerCache: callers are reused for reads, forgotten at once when accounts change through this
process, and reread after the TTL when they change elsewhere.

In-process, on a fresh database of the external PostgreSQL; a second engine (not watched) stands for
another process (the command line, another server). The clock is the cache's own, moved by hand.
The same rules through the HTTP API are in tests/server_extension/api/test_caller_cache.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from scopehub.server_extension.caller_cache import CallerCache
from scopehub.server_extension.catalogue import models as m
from scopehub.server_extension.catalogue import schema
from scopehub.server_extension.catalogue.accounts import AccountManager
from scopehub.server_extension.catalogue.permissions import Caller, load_caller
from scopehub.server_extension.catalogue.queries import ListQuery
from scopehub.server_extension.database import Database, create_engine
from scopehub.server_extension.identity import StandaloneIdentity

TTL = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def database_url(external_database_url: str) -> Iterator[str]:
    """A new database in the external cluster, with the catalogue schema."""
    name = f"callers_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(external_database_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(external_database_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def here(database_url: str) -> Iterator[Database]:
    """This process's database: its sessions are the watched ones."""
    db = Database(create_engine(database_url, pool_size=2), threads=2)
    yield db
    db.close()


@pytest.fixture
def elsewhere(database_url: str) -> Iterator[Database]:
    """Another process's view of the same database: nothing watches it."""
    db = Database(create_engine(database_url, pool_size=2), threads=2)
    yield db
    db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def identity(here: Database, clock: Clock) -> StandaloneIdentity:
    callers = CallerCache(TTL, clock=clock)
    callers.watch(here.sessions)
    return StandaloneIdentity(here, f"admin-{uuid.uuid4().hex[:8]}", callers=callers)


def setup_member(db: Database, admin_id: int) -> tuple[str, int]:
    """A new user, member of a new read-only group; returns (username, group id)."""
    name = f"user-{uuid.uuid4().hex[:8]}"

    def make(session):
        admin = load_caller(session, admin_id)
        accounts = AccountManager()
        accounts.create_user(session, admin, {"username": name})
        group = accounts.create_group(session, admin, {"name": f"group-{uuid.uuid4().hex[:8]}", "level": "read-only"})
        accounts.set_member(session, admin, group["id"], name, "member")
        return group["id"]

    return name, db.call(make)


def caller(identity: StandaloneIdentity, act_as: str | None, method: str = "GET") -> Caller:
    async def ask() -> Caller:
        return await identity.caller_for(None, act_as, method, "/test")

    return asyncio.run(ask())


def admin(session, identity: StandaloneIdentity) -> Caller:
    return load_caller(session, identity.user_id)


def test_reads_reuse_the_caller_until_the_ttl(identity: StandaloneIdentity, elsewhere: Database,
                                              clock: Clock) -> None:
    """A change made elsewhere is seen once the TTL has passed, not before (and never by writes late)."""
    name, group = setup_member(identity.db, identity.user_id)
    assert caller(identity, name).role_in(group) == "member"

    def leave(session):
        AccountManager().remove_member(session, admin(session, identity), group, name)

    elsewhere.call(leave)
    clock.now += TTL - 0.01
    assert caller(identity, name).role_in(group) == "member"  # cached: the other process's change is not seen yet
    assert caller(identity, name, "POST").role_in(group) is None  # a write reads the caller afresh
    clock.now += 0.02
    assert caller(identity, name).role_in(group) is None  # past the TTL: read again

    def make_admin(session, flag: bool):
        user = session.execute(sa.select(m.Experimenter).where(m.Experimenter.username == name)).scalar_one()
        user.is_admin = flag

    elsewhere.call(make_admin, True)
    assert not caller(identity, name).is_admin
    clock.now += TTL
    assert caller(identity, name).is_admin
    elsewhere.call(make_admin, False)
    clock.now += TTL
    assert not caller(identity, name).is_admin


def test_changes_through_this_process_take_effect_at_once(identity: StandaloneIdentity) -> None:
    """Memberships, admin flags and group levels changed through the watched sessions: no wait at all."""
    db = identity.db
    name, group = setup_member(db, identity.user_id)
    assert caller(identity, name).role_in(group) == "member"
    assert caller(identity, None).is_admin  # the admin's own entry is cached too
    accounts = AccountManager()

    db.call(lambda s: accounts.remove_member(s, admin(s, identity), group, name))
    assert caller(identity, name).role_in(group) is None

    db.call(lambda s: accounts.set_member(s, admin(s, identity), group, name, "owner"))
    assert caller(identity, name).role_in(group) == "owner"

    assert not caller(identity, name).is_admin
    db.call(lambda s: accounts.update_user(s, admin(s, identity), name, {"is_admin": True}))
    assert caller(identity, name).is_admin
    db.call(lambda s: accounts.update_user(s, admin(s, identity), name, {"is_admin": False}))
    assert not caller(identity, name).is_admin

    assert caller(identity, name).group_levels[group] == "read-only"
    db.call(lambda s: accounts.update_group(s, admin(s, identity), group, {"level": "private"}))
    assert caller(identity, name).group_levels[group] == "private"

    # A new group is in every caller's view of the groups (an admin may create data in it) at once.
    created = db.call(lambda s: accounts.create_group(s, admin(s, identity), {"name": f"new-{uuid.uuid4()}"}))
    assert created["id"] in caller(identity, None).group_levels

    # A bulk statement on a watched table counts as well.
    assert caller(identity, name).group_levels[group] == "private"
    db.call(lambda s: s.execute(sa.update(m.Group).where(m.Group.id == group).values(level="read-write")))
    assert caller(identity, name).group_levels[group] == "read-write"


def test_a_load_under_way_when_accounts_change_is_not_kept(identity: StandaloneIdentity) -> None:
    """A caller read before a change that commits while it is on its way must not be cached."""
    db = identity.db
    name, group = setup_member(db, identity.user_id)
    cache = identity.callers
    assert cache is not None
    key = ("raced", name)

    async def load_then_change() -> Caller:
        found = await db.run(lambda s: load_caller(s, s.execute(
            sa.select(m.Experimenter.id).where(m.Experimenter.username == name)).scalar_one()))
        db.call(lambda s: AccountManager().remove_member(s, admin(s, identity), group, name))
        return found

    stale = asyncio.run(cache.get_or_load(key, load_then_change))
    assert stale.role_in(group) == "member"  # what that request read, and may use
    assert cache.get(key) is None  # but nobody after it


def test_rollback_and_reads_leave_the_cache_alone(identity: StandaloneIdentity) -> None:
    db = identity.db
    name, _group = setup_member(db, identity.user_id)
    caller(identity, name)
    before = len(identity.callers)
    db.call(lambda s: AccountManager().list_users(s, admin(s, identity), ListQuery()))

    def fails(session):
        AccountManager().create_user(session, admin(session, identity), {"username": f"x-{uuid.uuid4()}"})
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        db.call(fails)
    assert len(identity.callers) == before > 0


def test_zero_ttl_keeps_nothing_and_size_is_bounded(clock: Clock) -> None:
    async def load() -> Caller:
        return Caller(1, "u", False, {}, {})

    off = CallerCache(0, clock=clock)
    asyncio.run(off.get_or_load("k", load))
    assert off.get("k") is None and len(off) == 0

    small = CallerCache(TTL, max_entries=3, clock=clock)
    for k in range(5):
        asyncio.run(small.get_or_load(k, load))
    assert len(small) == 3 and small.get(4) is not None and small.get(0) is None
