"""The admin pages at ``/services/scopehub/``: groups, users and their storage, import jobs, the audit log.

Thin handlers: each reads its arguments, calls catalogue managers in one transaction (which check
permissions and write the audit log, exactly as for the JSON API), and renders a template in the hub's
look. Forms post back to these handlers with the hub's XSRF token; a change is followed by a redirect
to the page it came from with a short message, and a refusal renders the catalogue's reason with its
status. Only catalogue admins (hub admins, and holders of ``custom:scopehub:admin``) get past
:meth:`AdminPage.caller`; a browser that is not logged in goes through the hub's OAuth login first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pydantic
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from sqlalchemy.orm import Session
from tornado import web

from ..server_extension.api import schemas as s
from ..server_extension.catalogue import audit
from ..server_extension.catalogue.accounts import AccountManager
from ..server_extension.catalogue.errors import BadRequest, CatalogueError
from ..server_extension.catalogue.models import GROUP_LEVELS, IMPORT_STATES, MEMBER_ROLES
from ..server_extension.catalogue.permissions import Caller, require_admin
from ..server_extension.catalogue.queries import ListQuery
from ..server_extension.catalogue.storage import StorageManager
from ..server_extension.imports.jobs import ImportJobManager
from .auth import refusal
from .sync import HUB_GROUP_DESCRIPTION

FLASH_COOKIE = "scopehub-admin-message"
TABS = (("groups", "Groups"), ("users", "Users"), ("imports", "Import jobs"), ("audit", "Audit log"))
accounts, storage, jobs = AccountManager(), StorageManager(), ImportJobManager()


@dataclass(frozen=True)
class PageUser:
    """What JupyterHub's ``page.html`` reads of ``user``."""

    name: str

    @property
    def json_escaped_name(self) -> str:
        return json.dumps(self.name)[1:-1]


@dataclass(frozen=True)
class Pager:
    """One page of a table: where it starts, how long it is, and links to its neighbours."""

    offset: int
    limit: int
    total: int
    path: str
    args: tuple[tuple[str, str], ...]  # the other query arguments, kept across pages

    @property
    def first_row(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.limit, self.total)

    def url(self, offset: int) -> str:
        args = [*self.args, ("offset", str(offset))] if offset else list(self.args)
        return self.path + ("?" + urlencode(args) if args else "")

    @property
    def links(self) -> list[tuple[str, str | None]]:
        """(label, url or None when there is nowhere to go) for first, previous, next, last."""
        last = max(0, (self.total - 1) // self.limit * self.limit)
        before, after = self.offset > 0, self.offset + self.limit < self.total
        return [("First", self.url(0) if before else None),
                ("Previous", self.url(max(0, self.offset - self.limit)) if before else None),
                ("Next", self.url(self.offset + self.limit) if after else None),
                ("Last", self.url(last) if after else None)]


class AdminPage(ExtensionHandlerMixin, JupyterHandler):
    """The base of every admin page: the admin check, arguments, rendering in the hub's look, errors."""

    tab = ""

    @property
    def scopehub(self):
        return self.settings["scopehub"]

    async def caller(self) -> Caller:
        """The catalogue admin making this request; 403 for anyone else."""
        caller = await self.scopehub.identity.caller_for(self.current_user, None, self.request.method,
                                                         self.request.path)
        require_admin(caller, "use scopehub's admin pages")
        return caller

    async def run(self, fn, *args: Any, **kwargs: Any) -> Any:
        """``fn(session, caller, ...)`` for the admin, in one transaction on the database threads."""
        caller = await self.caller()
        return await self.scopehub.db.run(fn, caller, *args, **kwargs)

    # ---- arguments ---------------------------------------------------------------------------
    def int_arg(self, name: str, default: int | None = None, *, query: bool = True) -> int | None:
        text = (self.get_query_argument(name, "") if query else self.get_body_argument(name, "")).strip()
        if not text:
            return default
        if not (text.isascii() and text.isdigit()) or int(text) > 2**62:
            raise BadRequest(f"{name} must be a whole number, 0 or more")
        return int(text)

    def list_query(self, **fields: Any) -> ListQuery:
        limit = self.extensionapp.page_size
        return ListQuery(offset=self.int_arg("offset", 0), limit=limit, **fields)

    def pager(self, page: Any, *keep: str) -> Pager:
        args = tuple((k, v) for k in keep if (v := self.get_query_argument(k, "")))
        return Pager(page.offset, page.limit, page.total, self.request.path, args)

    def form(self, model: type[pydantic.BaseModel], **fields: Any) -> dict[str, Any]:
        """Form fields checked by the API's own request model, so the rules are the same."""
        try:
            return model.model_validate(fields).model_dump(exclude_none=True)
        except pydantic.ValidationError as e:
            first = e.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadRequest(f"{where}: {first['msg']}" if where else first["msg"]) from None

    def next_url(self, fallback: str) -> str:
        """Where to go after a change: the form's ``next`` if it is one of these pages."""
        target = self.get_body_argument("next", "")
        return target if target.startswith(self.base_url) and "//" not in target else fallback

    def page_url(self, *parts: Any) -> str:
        return url_path_join(self.base_url, *map(str, parts))

    def done(self, message: str, fallback: str) -> None:
        """After a change: back to the page, which shows ``message`` once."""
        self.set_signed_cookie(FLASH_COOKIE, message, expires_days=None, path=self.base_url, httponly=True,
                               samesite="Lax")
        self.redirect(self.next_url(fallback), status=303)

    def _pop_message(self) -> str | None:
        value = self.get_signed_cookie(FLASH_COOKIE, max_age_days=1)
        if value is None:
            return None
        self.clear_cookie(FLASH_COOKIE, path=self.base_url)
        return value.decode("utf-8", "replace")

    # ---- output ------------------------------------------------------------------------------
    def show(self, template: str, *, http_status: int = 200, **ns: Any) -> None:
        self.set_status(http_status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        env = self.settings["scopehub_admin_env"]
        self.finish(env.get_template(template).render({**self._namespace(), **ns}))

    def _namespace(self) -> dict[str, Any]:
        """What JupyterHub's ``page.html`` expects, pointing at the hub, plus our own."""
        hub_auth = self.identity_provider.hub_auth
        hub_prefix = hub_auth.hub_prefix
        model = getattr(getattr(self, "_jupyter_current_user", None), "hub_user", None) or {}

        def static_url(path: str, include_version: bool = True) -> str:
            return url_path_join(hub_prefix, "static", path)

        return {
            "base_url": hub_prefix,  # page.html's links (home, token, logo) are the hub's
            "prefix": hub_prefix.removesuffix("hub/") or "/",
            "static_url": static_url,
            "version_hash": "",
            "user": PageUser(model["name"]) if model else None,
            "no_spawner_check": True,
            "parsed_scopes": {"admin-ui"} if model.get("admin") else set(),
            "services": [],
            "announcement": None,
            "login_url": hub_auth.login_url,
            "logout_url": self.page_url("logout"),
            "xsrf_token": self.xsrf_token.decode("ascii"),
            "service_url": self.base_url,
            "tabs": TABS,
            "tab": self.tab,
            "message": self._pop_message(),
        }

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CatalogueError):
            status_code, message = exc.status, exc.message
        elif isinstance(exc, web.HTTPError):
            message = refusal(self) or exc.log_message or self._reason
        else:
            message = "internal error; the service's log has the details"
        back = self.request.headers.get("Referer", "") if self.request.method == "POST" else ""
        # Someone refused sees no tabs: they would only lead to the same refusal.
        tab = "" if status_code in (401, 403) else self.tab
        ours = back.startswith(f"{self.request.protocol}://{self.request.host}{self.base_url}")
        self.show("admin-error.html", http_status=status_code, status_code=status_code, reason=self._reason,
                  error=message, tab=tab, back=back if ours else "")

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CatalogueError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, CatalogueError):
            self.log.info("%s %s: %s %s", self.request.method, self.request.uri, value.status, value.message)
            return
        super().log_exception(typ, value, tb)


# ---- the pages ------------------------------------------------------------------------------------
class RootPage(AdminPage):
    @web.authenticated
    async def get(self) -> None:
        await self.caller()
        self.redirect(self.page_url("groups"))


class GroupsPage(AdminPage):
    """Every group: level (editable), hub group or not, members and owners; and a form for a new group."""

    tab = "groups"

    @web.authenticated
    async def get(self) -> None:
        page, summaries = await self.run(_groups, self.list_query())
        self.show("groups.html", groups=page.items, summaries=summaries, pager=self.pager(page),
                  levels=GROUP_LEVELS, hub_group_description=HUB_GROUP_DESCRIPTION)

    @web.authenticated
    async def post(self) -> None:
        fields = self.form(s.GroupCreate, name=self.get_body_argument("name", ""),
                           description=self.get_body_argument("description", ""),
                           level=self.get_body_argument("level", "read-only"))
        group = await self.run(accounts.create_group, fields)
        self.done(f"Group {group['name']} created ({group['level']}).", self.page_url("groups", group["id"]))


class GroupPage(AdminPage):
    """One group: its level, and its members page by page with their roles."""

    tab = "groups"

    @web.authenticated
    async def get(self, group_id: str) -> None:
        q = self.get_query_argument("q", "").strip()
        group, summary, members = await self.run(_group, int(group_id), self.list_query(q=q or None))
        self.show("group.html", group=group, summary=summary, members=members.items, q=q,
                  pager=self.pager(members, "q"), levels=GROUP_LEVELS, roles=MEMBER_ROLES)

    @web.authenticated
    async def post(self, group_id: str) -> None:
        """Change the level (``level``, with the ``version`` the page showed)."""
        fields = self.form(s.GroupUpdate, level=self.get_body_argument("level", ""),
                           version=self.int_arg("version", query=False))
        version = fields.pop("version", None)
        group = await self.run(accounts.update_group, int(group_id), fields, version)
        self.done(f"Group {group['name']} is now {group['level']}.", self.page_url("groups", group_id))


class MembersPage(AdminPage):
    """``groups/{id}/members``: add a member to a scopehub group (``username``, ``role``)."""

    @web.authenticated
    async def post(self, group_id: str) -> None:
        username = self.get_body_argument("username", "").strip()
        role = self.form(s.MemberPut, role=self.get_body_argument("role", "member"))["role"]
        if not username:
            raise BadRequest("name the user to add")
        group = await self.run(accounts.set_member, int(group_id), username, role)
        self.done(f"{username} is now {_a(role)} of {group['name']}.", self.page_url("groups", group_id))


class MemberPage(AdminPage):
    """``groups/{id}/members/{user id}``: ``action`` owner or member (the role), or remove."""

    @web.authenticated
    async def post(self, group_id: str, user_id: str) -> None:
        action = self.get_body_argument("action", "")
        if action == "remove":
            group = await self.run(accounts.remove_member, int(group_id), int(user_id))
            message = f"Removed from {group['name']}."
        elif action in MEMBER_ROLES:
            group = await self.run(accounts.set_member, int(group_id), int(user_id), action)
            who = next((m["username"] for m in group["members"] if m["id"] == int(user_id)), f"user {user_id}")
            message = f"{who} is now {_a(action)} of {group['name']}."
        else:
            raise BadRequest(f"action must be one of {', '.join((*MEMBER_ROLES, 'remove'))}")
        self.done(message, self.page_url("groups", group_id))


class UsersPage(AdminPage):
    """Every catalogue user: admin flag, groups, and what they keep in the store."""

    tab = "users"

    @web.authenticated
    async def get(self) -> None:
        q = self.get_query_argument("q", "").strip()
        page, usage = await self.run(_users, self.list_query(q=q or None))
        self.show("users.html", users=page.items, usage=usage, q=q, pager=self.pager(page, "q"))


class ImportsPage(AdminPage):
    """Everyone's import jobs, newest first, by status and owner."""

    tab = "imports"

    @web.authenticated
    async def get(self) -> None:
        status = self.get_query_argument("status", "") or None
        owner = self.int_arg("owner")
        page, owner_name = await self.run(_imports, self.list_query(owner=owner), status)
        self.show("imports.html", jobs=page.items, status=status or "", owner=owner, owner_name=owner_name,
                  states=IMPORT_STATES, pager=self.pager(page, "status", "owner"))


class AuditPage(AdminPage):
    """The audit log, newest first; the hub's own membership changes only when asked for."""

    tab = "audit"

    @web.authenticated
    async def get(self) -> None:
        hub_sync = self.get_query_argument("hub_sync", "") == "1"
        page = await self.run(_audit, self.list_query(), hub_sync)
        self.show("audit.html", entries=page.items, hub_sync=hub_sync, pager=self.pager(page, "hub_sync"))


def page_handlers() -> list[tuple[str, type]]:
    """The pages' routes, relative to the service's base URL."""
    return [("/?", RootPage), ("groups/?", GroupsPage), (r"groups/(\d{1,18})/?", GroupPage),
            (r"groups/(\d{1,18})/members", MembersPage), (r"groups/(\d{1,18})/members/(\d{1,18})", MemberPage),
            ("users/?", UsersPage), ("imports/?", ImportsPage), ("audit/?", AuditPage)]


# ---- what each page reads, in one transaction -----------------------------------------------------
def _groups(session: Session, caller: Caller, query: ListQuery):
    page = accounts.list_groups(session, caller, query)
    return page, accounts.group_summaries(session, caller, [g["id"] for g in page.items])


def _group(session: Session, caller: Caller, group_id: int, query: ListQuery):
    group = accounts.get_group(session, caller, group_id, members=False)
    query.group = group_id
    members = accounts.list_users(session, caller, query)
    for user in members.items:
        user["role"] = next(g["role"] for g in user["groups"] if g["id"] == group_id)
    return group, accounts.group_summaries(session, caller, [group_id])[group_id], members


def _users(session: Session, caller: Caller, query: ListQuery):
    page = accounts.list_users(session, caller, query)
    return page, storage.usage(session, caller, [u["id"] for u in page.items])


def _imports(session: Session, caller: Caller, query: ListQuery, status: str | None):
    owner = accounts.get_user(session, caller, query.owner)["username"] if query.owner else None
    return jobs.list(session, caller, query, status), owner


def _audit(session: Session, caller: Caller, query: ListQuery, hub_sync: bool):
    return audit.entries(session, query, hub_sync=hub_sync)


def _a(role: str) -> str:
    return "an owner" if role == "owner" else "a member"
