"""Users, groups and memberships."""

from __future__ import annotations

from urllib.parse import unquote

from ..catalogue.accounts import AccountManager
from . import schemas as s
from .base import ScopehubHandler, operation, path_id

accounts = AccountManager()


class UsersHandler(ScopehubHandler):
    @operation("List users (admins see all; others, the members of their groups)", reply=s.page_of(s.UserOut),
               query=("offset", "limit", "q", "group", "order"))
    async def get(self) -> None:
        self.reply((await self.call(accounts.list_users, self.list_query())).as_reply())

    @operation("Create a user (admins)", body=s.UserCreate, reply=s.UserOut, status=201, errors=(403, 409))
    async def post(self) -> None:
        self.reply(await self.call(accounts.create_user, self.fields(s.UserCreate)), 201)


class UserHandler(ScopehubHandler):
    @operation("Get a user", reply=s.UserOut, errors=(404,))
    async def get(self, user_id: str) -> None:
        self.reply(await self.call(accounts.get_user, path_id(user_id)))

    @operation("Edit a user (yourself, or anyone as admin)", body=s.UserUpdate, reply=s.UserOut, errors=(403, 404))
    async def patch(self, user_id: str) -> None:
        self.reply(await self.call(accounts.update_user, path_id(user_id), self.fields(s.UserUpdate)))


class GroupsHandler(ScopehubHandler):
    @operation("List groups (admins see all; others, their own)", reply=s.page_of(s.GroupOut),
               query=("offset", "limit", "order"))
    async def get(self) -> None:
        self.reply((await self.call(accounts.list_groups, self.list_query())).as_reply())

    @operation("Create a group (admins)", body=s.GroupCreate, reply=s.GroupOut, status=201, errors=(403, 409))
    async def post(self) -> None:
        self.reply(await self.call(accounts.create_group, self.fields(s.GroupCreate)), 201)


class GroupHandler(ScopehubHandler):
    @operation("Get a group with its members", reply=s.GroupOut, errors=(404,))
    async def get(self, group_id: str) -> None:
        self.reply(await self.call(accounts.get_group, path_id(group_id)))

    @operation("Edit a group: name, description, permission level (admins, group owners)", body=s.GroupUpdate,
               reply=s.GroupOut, errors=(403, 404, 409))
    async def patch(self, group_id: str) -> None:
        fields = self.fields(s.GroupUpdate)
        version = self.expected_version(fields)
        self.reply(await self.call(accounts.update_group, path_id(group_id), fields, version))


class MemberHandler(ScopehubHandler):
    """``B/groups/{id}/members/{user}``: ``user`` is an id or a username."""

    @operation("Add a member or change their role (admins, group owners)", body=s.MemberPut, reply=s.GroupOut,
               errors=(403, 404))
    async def put(self, group_id: str, user: str) -> None:
        role = self.body(s.MemberPut).role if self.request.body else "member"
        self.reply(await self.call(accounts.set_member, path_id(group_id), self._user(user), role))

    @operation("Remove a member (admins, group owners)", reply=s.GroupOut, errors=(403, 404))
    async def delete(self, group_id: str, user: str) -> None:
        self.reply(await self.call(accounts.remove_member, path_id(group_id), self._user(user)))

    def _user(self, text: str) -> str | int:
        text = unquote(text)
        return path_id(text) if text.isascii() and text.isdigit() else text


def account_handlers() -> list[tuple[str, type]]:
    return [("users", UsersHandler), (r"users/(\d+)", UserHandler), ("groups", GroupsHandler),
            (r"groups/(\d+)", GroupHandler), (r"groups/(\d+)/members/([^/]+)", MemberHandler)]
