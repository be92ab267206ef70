"""Who a request is, as a catalogue caller.

In standalone mode the Jupyter user is the catalogue's admin (one configured username). In the hub
service, ``scopehub.hub_extension.identity.HubIdentity`` maps hub users instead. Either way an
admin may act as another user with the ``X-Scopehub-Act-As`` header, so that every multi-user rule
can be exercised without a hub; each write made that way goes into the audit log.

Reads use a :class:`~.caller_cache.CallerCache` (a caller is read from the database once every few
seconds, not once per tile); writes always read the caller afresh.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from .caller_cache import CallerCache
from .catalogue import models as m
from .catalogue.accounts import AccountManager
from .catalogue.audit import record
from .catalogue.errors import BadRequest, Forbidden
from .catalogue.permissions import Caller, load_caller
from .database import Database

if TYPE_CHECKING:
    from .app import ScopehubApp

READ_METHODS = ("GET", "HEAD", "OPTIONS")


class Identity:
    """Turns the user jupyter_server authenticated into a catalogue :class:`Caller`."""

    mode = ""

    @classmethod
    def from_app(cls, app: ScopehubApp, db: Database, callers: CallerCache | None = None) -> Identity:
        """Build the identity from the extension's configuration (``callers``: a cache it may use for reads)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for the server log."""
        return self.mode

    async def caller_for(self, jupyter_user: Any, act_as: str | None, method: str, path: str = "") -> Caller:
        """The caller of one request; raise a ``CatalogueError`` to refuse it."""
        raise NotImplementedError


def act_as(session: Session, caller: Caller, who: str, method: str, path: str) -> Caller:
    """An admin acting as another user (``X-Scopehub-Act-As``); writes go into the audit log."""
    if not caller.is_admin:
        raise Forbidden("only admins may act as another user")
    if len(who) > 255:
        raise BadRequest("X-Scopehub-Act-As names a user by id or username")
    target = AccountManager().find_user(session, who)
    acting = load_caller(session, target.id, real_user_id=caller.user_id, can_write=caller.can_write,
                         scopes=caller.scopes)
    if method not in READ_METHODS:
        record(session, acting, "act_as", "user", target.id, {"method": method, "path": path})
    return acting


class StandaloneIdentity(Identity):
    """Maps every authenticated Jupyter request to the standalone admin user."""

    mode = "standalone"

    @classmethod
    def from_app(cls, app: ScopehubApp, db: Database, callers: CallerCache | None = None) -> StandaloneIdentity:
        return cls(db, app.standalone_username, callers=callers)

    def describe(self) -> str:
        return f"standalone mode, Jupyter user is catalogue admin {self.username!r}"

    def __init__(self, db: Database, username: str, default_group: str = "default",
                 callers: CallerCache | None = None):
        self.db = db
        self.username = username
        self.user_id = db.call(self._ensure_admin, default_group)
        self.callers = callers  # None: every request reads its caller

    def _ensure_admin(self, session: Session, default_group: str) -> int:
        accounts = AccountManager()
        user = accounts.ensure_user(session, self.username, admin=True)
        if user.default_group_id is None:
            group = session.query(m.Group).filter_by(name=default_group).one_or_none()
            if group is None:
                group = m.Group(name=default_group, level="read-annotate",
                                description="Created for the Jupyter user on first start.")
                session.add(group)
                session.flush()
            if session.get(m.Membership, (group.id, user.id)) is None:
                session.add(m.Membership(group_id=group.id, user_id=user.id, role="owner"))
            user.default_group_id = group.id
        return user.id

    async def caller_for(self, jupyter_user, act_as: str | None, method: str, path: str = "") -> Caller:
        load = functools.partial(self.db.run, self._caller, act_as, method, path)
        if self.callers is None or method not in READ_METHODS:
            return await load()  # a write: the caller as it is now, and its act-as audit record
        return await self.callers.get_or_load((self.user_id, act_as or None), load)

    def _caller(self, session: Session, who: str | None, method: str, path: str) -> Caller:
        caller = load_caller(session, self.user_id)
        return act_as(session, caller, who, method, path) if who else caller
