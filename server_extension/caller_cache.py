"""Callers kept for a few seconds, so that a burst of requests (a viewer asking for tiles) reads the
caller's admin flag, groups and roles once rather than once per request.

How stale a cached caller can be:

- A change to users, groups or memberships made through this process (the API, or anything else
  that flushes ``Experimenter``, ``Group`` or ``Membership`` rows through a watched session) empties
  the cache as soon as its transaction commits, before the request that made it answers.
- A change made by another process (the ``scopehub`` command line, another server on the same
  database, SQL by hand) is seen at most ``ttl`` seconds later: an entry lives ``ttl`` seconds from
  the moment its load began, so it never holds data read before that.

A load that was under way when the cache was emptied is not kept (it may have read the old rows).
Identities decide which requests may use the cache (the standalone one: reads only).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from .catalogue.models import Experimenter, Group, Membership
from .catalogue.permissions import Caller

DEFAULT_TTL = 5.0
DEFAULT_ENTRIES = 4096
WATCHED = (Experimenter, Group, Membership)
WATCHED_TABLES = frozenset(model.__table__ for model in WATCHED)
_CHANGED = "scopehub_accounts_changed"  # a flag in Session.info


class CallerCache:
    """``key -> Caller`` for ``ttl`` seconds; emptied when accounts change through watched sessions.

    ``ttl`` 0 keeps nothing. The key is the identity's business: whatever makes two requests the same
    caller (the user, whom an admin acts as, the token's scopes).
    """

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = DEFAULT_ENTRIES,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.hits = self.misses = 0
        self._entries: dict[Hashable, tuple[float, Caller]] = {}  # key -> (expires, caller)
        self._generation = 0  # bumped by every invalidation
        self._lock = threading.Lock()  # invalidations come from the database threads

    def get(self, key: Hashable) -> Caller | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > self.clock():
                self.hits += 1
                return found[1]
            self.misses += 1
            return None

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Caller]]) -> Caller:
        """The cached caller for ``key``, else ``await load()`` (kept unless the cache was emptied meanwhile)."""
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            generation, started = self._generation, self.clock()
        caller = await load()
        self._put(key, caller, generation, started)
        return caller

    def _put(self, key: Hashable, caller: Caller, generation: int, started: float) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= self.max_entries and key not in self._entries:
                now = self.clock()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self.max_entries:
                    del self._entries[next(iter(self._entries))]  # the oldest
            self._entries[key] = (started + self.ttl, caller)

    def invalidate(self) -> None:
        """Forget every caller, and any load under way."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # ---- watching a database's sessions ----------------------------------------------------------
    def watch(self, sessions: sessionmaker) -> None:
        """Empty the cache after each commit of a session from ``sessions`` that changed accounts.

        Caught: ORM changes to users, groups and memberships (added, changed or deleted objects) and
        ORM ``insert``/``update``/``delete`` statements on their tables. Not caught: raw SQL text.
        """
        event.listen(sessions, "after_flush", _note_flushed)
        event.listen(sessions, "do_orm_execute", _note_statement)
        event.listen(sessions, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            self.invalidate()


def _note_flushed(session: Session, _context: Any) -> None:
    for objects in (session.new, session.dirty, session.deleted):
        if any(isinstance(obj, WATCHED) for obj in objects):
            session.info[_CHANGED] = True
            return


def _note_statement(state: Any) -> None:
    if (state.is_insert or state.is_update or state.is_delete) \
            and getattr(state.statement, "table", None) in WATCHED_TABLES:
        state.session.info[_CHANGED] = True
