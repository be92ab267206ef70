"""The API's own description: version and mode, who you are, search, the audit log, the spec."""

from __future__ import annotations

from ..catalogue import audit
from ..catalogue.accounts import AccountManager
from ..catalogue.errors import BadRequest, Forbidden
from ..catalogue.search import SEARCHABLE, SearchManager
from . import schemas as s
from .base import ScopehubHandler, operation

HUB_SYNC_QUERY = {"type": "boolean", "default": True,
                  "description": "false: leave out the membership changes the hub made (hub mode)."}


class RootHandler(ScopehubHandler):
    @operation("Version, mode and current user", reply=s.RootOut)
    async def get(self) -> None:
        from scopehub import __version__

        caller = await self.get_caller()
        self.reply({"name": "scopehub", "version": __version__, "api_version": "v1",
                    "mode": self.scopehub.identity.mode, "user": caller.username})


class MeHandler(ScopehubHandler):
    @operation("Your user, groups with role, admin flag and scopes", reply=s.MeOut)
    async def get(self) -> None:
        caller = await self.get_caller()
        me = await self.call(lambda session, c: AccountManager().get_user(session, c, c.user_id))
        # Admin as this request is: in hub mode a token's custom:scopehub:admin makes its holder one.
        me.update(is_admin=caller.is_admin, scopes=list(caller.scopes), acting_as=caller.real_user_id is not None)
        self.reply(me)


class SearchHandler(ScopehubHandler):
    @operation("Search names, descriptions, tags, key-values and comments", reply="search",
               query=("q", "type", "offset", "limit"), errors=(400,))
    async def get(self) -> None:
        """``q`` is words (prefixes), ``key=value`` for an exact pair, or ``tag:name``.
        ``type`` is a comma-separated subset of project, dataset, image, screen, plate."""
        q = self.get_query_argument("q", "")
        if len(q) > 1000:
            raise BadRequest("q must be at most 1000 characters")
        types = [t for t in (self.get_query_argument("type", "") or "").split(",") if t] or None
        page = await self.call(SearchManager().search, q, types, self.list_query())
        self.reply(page.as_reply())


class AuditHandler(ScopehubHandler):
    @operation("The audit log of admin actions (admins)", reply=s.page_of(s.AuditOut),
               query=("offset", "limit", ("hub_sync", HUB_SYNC_QUERY)), errors=(403,))
    async def get(self) -> None:
        """Newest first."""
        caller = await self.get_caller()
        if not caller.is_admin:
            raise Forbidden("only admins may read the audit log")
        query = self.list_query()
        hub_sync = self.bool_arg("hub_sync") if self.get_query_argument("hub_sync", "") else True
        page = await self.scopehub.db.run(audit.entries, query, hub_sync=hub_sync)
        self.reply(page.as_reply())


class OpenAPIHandler(ScopehubHandler):
    @operation("This API's OpenAPI description", binary="application/json")
    async def get(self) -> None:
        from .openapi import openapi_spec

        self.reply(openapi_spec(self.scopehub.routes, self.settings.get("base_url", "/"), self.scopehub.api_prefix))


def meta_handlers() -> list[tuple[str, type]]:
    return [("", RootHandler), ("me", MeHandler), ("search", SearchHandler), ("audit", AuditHandler),
            ("openapi.json", OpenAPIHandler)]


__all__ = ["SEARCHABLE", "meta_handlers"]
