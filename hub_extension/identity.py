"""Hub users as catalogue callers: their account, groups and what their token's scopes allow.

Scopes (declared by ``configure``; each implies the one before):

- ``custom:scopehub:read``: browse and view; every request needs at least this;
- ``custom:scopehub:write``: create, import, annotate, edit, within the permission matrix;
- ``custom:scopehub:admin``: catalogue admin. Hub admins are catalogue admins too.

A hub admin's token without the custom scopes may still do everything: the hub's admin role
predates them and does not list them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from traitlets import Enum, Unicode
from traitlets.config import LoggingConfigurable

from ..server_extension.caller_cache import CallerCache
from ..server_extension.catalogue.errors import Forbidden, NotAuthenticated, NotFound
from ..server_extension.catalogue.permissions import Caller, load_caller
from ..server_extension.database import Database
from ..server_extension.identity import READ_METHODS, Identity, act_as
from .sync import HubAccount, HubAccountSync

if TYPE_CHECKING:
    from ..server_extension.app import ScopehubApp

READ = "custom:scopehub:read"
WRITE = "custom:scopehub:write"
ADMIN = "custom:scopehub:admin"


class HubIdentity(LoggingConfigurable, Identity):
    """Maps the hub user of each request (``JupyterHubUser.hub_user``) to a catalogue caller."""

    mode = "hub"

    new_group_level = Enum(
        ["private", "read-only", "read-annotate", "read-write"],
        "private",
        config=True,
        help="""Permission level of a catalogue group made for a hub group on first sight. Admins change
        it afterwards in scopehub (the admin pages, ``PATCH B/groups/{id}`` or ``scopehub groups``); the
        hub decides only who is in the group.""",
    )

    everyone_group = Unicode(
        "hub-users",
        config=True,
        help="""A catalogue group every hub user belongs to (made private on first use), so that a user in
        no hub group still has somewhere to keep data. Empty: none; such users can only read until an
        admin adds them to a group.""",
    )

    def __init__(self, db: Database, service_name: str = "scopehub", callers: CallerCache | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.db = db
        self.callers = callers  # reads of a known, unchanged account reuse its caller for a few seconds
        self.sync = HubAccountSync(new_group_level=self.new_group_level, everyone_group=self.everyone_group)
        self.service_name = service_name
        # username -> (what the hub said last, user id): the sync's writes happen only on a change.
        self._known: dict[str, tuple[HubAccount, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_app(cls, app: ScopehubApp, db: Database, callers: CallerCache | None = None) -> HubIdentity:
        return cls(db, os.environ.get("JUPYTERHUB_SERVICE_NAME", "scopehub"), callers=callers, parent=app)

    def describe(self) -> str:
        return f"hub service {self.service_name!r}: hub users, groups and scopes are the catalogue's"

    async def caller_for(self, jupyter_user: Any, who: str | None, method: str, path: str = "") -> Caller:
        model = getattr(jupyter_user, "hub_user", None)
        if not model or model.get("kind", "user") != "user":
            # A service's own token: services are not catalogue users.
            raise NotAuthenticated("a hub user's token is needed")
        scopes = frozenset(model.get("scopes") or ())
        account = HubAccount.from_model(model)
        admin = account.admin or ADMIN in scopes
        can_write = admin or WRITE in scopes
        if not (can_write or READ in scopes):
            raise Forbidden(f"the token lacks {READ}: ask the hub's admin for access to scopehub")
        if method not in READ_METHODS and not can_write:
            raise Forbidden(f"this token may only read (it has {READ} but not {WRITE})")
        granted = tuple(sorted(s for s in (READ, WRITE, ADMIN) if s in scopes))
        with self._lock:
            known = self._known.get(account.name)
        user_id = known[1] if known is not None and known[0] == account else None
        if user_id is not None and self.callers is not None and method in READ_METHODS:
            # What the hub says (account, scopes) is part of the key: a change there is a new entry.
            key = (account, admin, granted, who or None)
            load = functools.partial(self._load_known, account, user_id, admin, can_write, granted, who, method, path)
            return await self.callers.get_or_load(key, load)
        caller, synced = await self.db.run(self._caller, account, user_id, admin, can_write, granted, who,
                                           method, path)
        if synced:  # remembered once committed: a failed transaction syncs again next time
            with self._lock:
                self._known[account.name] = (account, caller.real_user_id or caller.user_id)
        return caller

    async def _load_known(self, account: HubAccount, *args: Any) -> Caller:
        caller, synced = await self.db.run(self._caller, account, *args)
        if synced:  # the user had been deleted and was made again
            with self._lock:
                self._known[account.name] = (account, caller.real_user_id or caller.user_id)
        return caller

    def _caller(self, session: Session, account: HubAccount, user_id: int | None, admin: bool, can_write: bool,
                scopes: tuple[str, ...], who: str | None, method: str, path: str) -> tuple[Caller, bool]:
        synced = user_id is None
        if synced:
            user_id = self.sync.sync(session, account)
        try:
            caller = load_caller(session, user_id, can_write=can_write, scopes=scopes)
        except NotFound:  # an admin deleted the user since we last saw them: make them again
            synced, user_id = True, self.sync.sync(session, account)
            caller = load_caller(session, user_id, can_write=can_write, scopes=scopes)
        if admin and not caller.is_admin:
            caller = dataclasses.replace(caller, is_admin=True)
        return (act_as(session, caller, who, method, path) if who else caller), synced
