"""The ``scopehub`` command line, run as the installed program in real subprocesses.

Every database test runs twice: against the embedded PostgreSQL in a fresh data folder, and
against an external PostgreSQL reached by URL (a fresh database in the throwaway cluster).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from scopehub.server_extension.catalogue import models
from scopehub.server_extension.cli import GROUP_LEVELS, build_parser
from scopehub.server_extension.database import EmbeddedPostgres

from ..api_client import unique

SCOPEHUB = Path(sys.executable).parent / "scopehub"
DATABASES = ("embedded", "external")
# Every command path, so that a command dropped from the parser fails here too.
COMMANDS = {
    (), ("db",), ("db", "upgrade"), ("db", "downgrade"), ("db", "status"), ("db", "history"),
    ("users",), ("users", "list"), ("users", "show"), ("users", "add"), ("users", "set-admin"),
    ("groups",), ("groups", "list"), ("groups", "show"), ("groups", "add"), ("groups", "set-level"),
    ("groups", "add-member"), ("groups", "remove-member"), ("info",), ("import",), ("demo-data",),
}


def _env() -> dict[str, str]:
    """This environment without scopehub's own variables, so that only the options given count."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCOPEHUB_")}


@dataclass
class Target:
    """A catalogue database and the options that point ``scopehub`` at it."""

    kind: str
    data_dir: Path
    database_url: str  # "" for the embedded server
    check_url: str | None = None  # where the test itself reads the database

    @property
    def options(self) -> list[str]:
        return ["--data-dir", str(self.data_dir), "--database-url", self.database_url]

    def run(self, *args: str, code: int = 0, options_first: bool = False) -> subprocess.CompletedProcess:
        """Run ``scopehub ARGS`` and check its exit code; the global options go after ARGS unless told."""
        argv = [*self.options, *args] if options_first else [*args, *self.options]
        res = subprocess.run([str(SCOPEHUB), *argv], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             env=_env(), timeout=120, check=False)
        assert res.returncode == code, f"scopehub {' '.join(args)}: exit {res.returncode}\n{res.stdout}{res.stderr}"
        # Expected failures are one clear line, never a traceback.
        assert "Traceback" not in res.stderr, res.stderr
        return res

    def json(self, *args: str, code: int = 0, options_first: bool = False):
        return json.loads(self.run(*args, "--json", code=code, options_first=options_first).stdout)

    def run_many(self, *calls: tuple[int, tuple[str, ...]]) -> list[subprocess.CompletedProcess]:
        """Run independent commands at once, each as (expected exit code, args); results in order."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda call: self.run(*call[1], code=call[0]), calls))

    def query(self, sql: str, **params) -> list[tuple]:
        engine = sa.create_engine(self.check_url, poolclass=sa.NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(sql), params)]
        finally:
            engine.dispose()


@contextlib.contextmanager
def fresh_target(kind: str, request: pytest.FixtureRequest) -> Iterator[Target]:
    """An empty catalogue: a new data folder, and for ``external`` a new database in the cluster."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"scopehub-cli-{kind}-"))
    try:
        if kind == "embedded":
            yield Target(kind, data_dir, "")
            return
        base = request.getfixturevalue("external_database_url")
        name = f"cli_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
        try:
            yield Target(kind, data_dir, url, check_url=url)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module", params=DATABASES)
def cli(request: pytest.FixtureRequest) -> Iterator[Target]:
    """An up-to-date catalogue shared by this module's account tests.

    For the embedded database the test process holds the server, as a running Jupyter would: the
    command line then attaches to it (and must leave it running) instead of starting its own.
    """
    with fresh_target(request.param, request) as target:
        holder = None
        if target.kind == "embedded":
            holder = EmbeddedPostgres(target.data_dir / "pgdata")
            target.check_url = holder.start().render_as_string(hide_password=False)
        try:
            target.run("db", "upgrade")
            yield target
        finally:
            if holder is not None:
                holder.stop()


# ---- help --------------------------------------------------------------------------------------
def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple, str]]:
    """(path, help text) of every sub-command, at every depth."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), helps.get(name) or ""
                yield from _command_paths(sub, (*path, name))


def test_help_everywhere():
    assert GROUP_LEVELS == models.GROUP_LEVELS  # the CLI keeps a copy so that --help imports nothing heavy
    paths = dict(_command_paths(build_parser()))
    assert set(paths) | {()} == COMMANDS
    assert all(paths.values()), [p for p, text in paths.items() if not text]
    procs = {path: subprocess.Popen([str(SCOPEHUB), *path, "--help"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=_env()) for path in sorted(COMMANDS)}
    for path, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (path, err)
        assert out.startswith(" ".join(("usage: scopehub", *path))), (path, out)
    top = subprocess.run([str(SCOPEHUB), "--help"], capture_output=True, text=True, env=_env(), check=True).stdout
    assert "exit codes:" in top
    for line in ("0  success", "1  error", "2  usage error", "3  the catalogue schema is not up to date",
                 "4  not found"):
        assert line in top
    # No command at all is a usage error.
    assert subprocess.run([str(SCOPEHUB)], capture_output=True, env=_env(), check=False).returncode == 2


# ---- refused before any database is opened ----------------------------------------------------
def test_refusals_without_database(tmp_path: Path):
    cases = {  # args: (exit code, what stderr says)
        ("groups", "add", "lab", "--level", "public"): (2, "invalid choice"),
        ("groups", "set-level", "lab", "everyone"): (2, "invalid choice"),
        ("users", "add", "not a name"): (2, "invalid value: username"),
        ("users", "set-admin", "bob"): (2, "one of the arguments --on --off is required"),
        ("users", "frobnicate"): (2, "invalid choice"),
        # A downgrade deletes data: off a terminal it needs --yes.
        ("db", "downgrade", "base"): (1, "pass --yes to confirm"),
    }
    options = ["--data-dir", str(tmp_path), "--database-url", ""]
    procs = {args: subprocess.Popen([str(SCOPEHUB), *args, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, text=True, env=_env()) for args in cases}
    for args, proc in procs.items():
        _out, err = proc.communicate(timeout=60)
        code, says = cases[args]
        assert proc.returncode == code, (args, err)
        assert says in err and "Traceback" not in err, (args, err)
    assert list(tmp_path.iterdir()) == []  # no database was created for them


def test_unreachable_database():
    url = "postgresql://scopehub:s3cret-pw@127.0.0.1:1/scopehub"
    res = subprocess.run([str(SCOPEHUB), "--database-url", url, "info"], capture_output=True, text=True,
                         env=_env(), timeout=60, check=False)
    assert res.returncode == 1
    assert res.stderr.startswith("scopehub: error: database error on postgresql+psycopg://scopehub:***@127.0.0.1:1")
    assert "s3cret-pw" not in res.stderr + res.stdout and "Traceback" not in res.stderr


# ---- db ----------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("kind", DATABASES)
def test_db_upgrade_status_history_downgrade(kind: str, request: pytest.FixtureRequest):
    with fresh_target(kind, request) as t:
        # An empty database: not up to date (3), and other commands refuse to run on it.
        status = t.json("db", "status", code=3, options_first=True)
        assert status["current"] is None and not status["up_to_date"]
        assert status["pending"] and status["pending"][-1] == status["head"]
        assert "run `scopehub db upgrade`" in t.run("users", "list", code=3).stderr

        assert "upgraded from (empty) to" in t.run("db", "upgrade").stdout
        status = t.json("db", "status")
        assert status == {"current": status["head"], "head": status["head"], "pending": [], "up_to_date": True}
        history = t.json("db", "history")
        assert history[-1]["revision"] == status["head"] and history[-1]["current"] and history[-1]["head"]
        assert all(r["message"] for r in history)

        # Round trip: down to an empty schema and up again.
        assert f"downgraded from {status['head']} to (empty)" in t.run("db", "downgrade", "base", "--yes").stdout
        assert f"upgraded from (empty) to {status['head']}" in t.run("db", "upgrade").stdout

        if kind == "embedded":
            # Started for each command and stopped at its exit: nothing left running.
            pgdata = t.data_dir / "pgdata"
            assert (pgdata / "PG_VERSION").exists()
            assert not (pgdata / "postmaster.pid").exists()
            assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
        else:
            assert t.query("SELECT version_num FROM alembic_version") == [(status["head"],)]
            assert t.query("SELECT count(*) FROM experimenters") == [(0,)]


# ---- users and groups --------------------------------------------------------------------------
def test_users(cli: Target):
    name, operator = unique("alice"), getpass.getuser()
    created = cli.json("users", "add", name, "--display-name", "Alice [b]A[/b]", "--email", "alice@example.org")
    assert created["username"] == name and created["display_name"] == "Alice [b]A[/b]" and not created["is_admin"]

    listed, shown, duplicate = cli.run_many(
        (0, ("users", "list", "--json")),
        (0, ("users", "show", str(created["id"]), "--json")),
        (1, ("users", "add", name)),
    )
    users = {u["username"]: u for u in json.loads(listed.stdout)}
    assert users[name]["email"] == "alice@example.org"
    assert users[operator]["is_admin"]  # the operator (the OS user here) was created as an admin by the first change
    assert json.loads(shown.stdout)["username"] == name and json.loads(shown.stdout)["groups"] == []
    assert duplicate.stderr.strip() == f"scopehub: error: a user named {name!r} already exists"

    assert cli.json("users", "set-admin", name, "--on")["is_admin"] is True
    assert "no longer an admin" in cli.run("users", "set-admin", name, "--off").stdout

    # The changes were made as the operator and are in the audit log under its name.
    actions = cli.query("SELECT a.action, e.username, a.details->>'is_admin' FROM audit_log a "
                        "JOIN experimenters e ON e.id = a.actor_id WHERE a.target_type = 'user' AND a.target_id = :id "
                        "ORDER BY a.id", id=created["id"])
    assert actions == [("create_user", operator, "false"), ("update_user", operator, "true"),
                       ("update_user", operator, "false")]
    assert cli.query("SELECT is_admin FROM experimenters WHERE username = :n", n=name) == [(False,)]


def test_groups(cli: Target):
    lab, owner, member = unique("lab"), unique("olga"), unique("max")
    cli.run_many((0, ("users", "add", owner)), (0, ("users", "add", member)))
    group = cli.json("groups", "add", lab, "--level", "read-annotate", "--description", "microscopy lab")
    assert (group["name"], group["level"], group["description"]) == (lab, "read-annotate", "microscopy lab")
    assert "role" not in group and "can_edit" not in group  # caller-relative fields mean nothing here

    assert cli.json("groups", "set-level", lab, "read-write")["level"] == "read-write"
    cli.run("groups", "add-member", lab, owner, "--owner")
    by_id = cli.json("groups", "add-member", str(group["id"]), member)
    assert {(u["username"], u["role"]) for u in by_id["members"]} == {(owner, "owner"), (member, "member")}
    assert by_id["version"] == 2

    shown, listed, ghost = cli.run_many(
        (0, ("groups", "show", lab)),
        (0, ("groups", "list", "--json")),
        (4, ("groups", "add-member", lab, "ghost")),
    )
    assert "read-write" in shown.stdout and "microscopy lab" in shown.stdout and owner in shown.stdout
    listed = {g["name"]: g for g in json.loads(listed.stdout)}
    assert (listed[lab]["level"], listed[lab]["member_count"]) == ("read-write", 2)
    assert ghost.stderr.strip() == "scopehub: error: user ghost not found"

    removed = cli.json("groups", "remove-member", lab, member)
    assert [u["username"] for u in removed["members"]] == [owner]

    audit = cli.query("SELECT action FROM audit_log WHERE target_type = 'group' AND target_id = :id ORDER BY id",
                      id=group["id"])
    assert [a for (a,) in audit] == ["create_group", "update_group", "set_member", "set_member", "remove_member"]
    assert cli.query("SELECT u.username, m.role FROM memberships m JOIN experimenters u ON u.id = m.user_id "
                     "WHERE m.group_id = :id", id=group["id"]) == [(owner, "owner")]


@pytest.fixture(scope="module")
def external_cli(request: pytest.FixtureRequest) -> Iterator[Target]:
    """An up-to-date catalogue on the external database, for checks that do not depend on the database."""
    with fresh_target("external", request) as target:
        target.run("db", "upgrade")
        yield target


def test_refusals_and_tables(external_cli: Target):
    """Command-line logic that does not depend on which PostgreSQL it runs on: checked once."""
    cli = external_cli
    name, lab = unique("erin"), unique("lab")
    cli.run_many((0, ("users", "add", name, "--display-name", "Erin [b]E[/b] | QA")), (0, ("groups", "add", lab)))
    table, missing, self_demote, not_admin, duplicate, not_member, no_group, bad_revision = cli.run_many(
        (0, ("users", "list")),
        (4, ("users", "show", "nobody-here")),
        # The operator may not drop its own admin flag; a non-admin cannot be the operator.
        (1, ("users", "set-admin", getpass.getuser(), "--off")),
        (1, ("--operator", name, "users", "add", unique("carol"))),
        (1, ("groups", "add", lab)),
        (4, ("groups", "remove-member", lab, name)),
        (4, ("groups", "show", "no-such-group")),
        (1, ("db", "upgrade", "nonexistent")),
    )
    # Off a terminal the table is Markdown, and text is shown as typed (no rich markup, "|" escaped).
    lines = table.stdout.splitlines()
    assert lines[0].startswith("| id | username") and set(lines[1]) <= set("|- ")
    assert any(f"| {name} " in line and "| Erin [b]E[/b] \\| QA " in line for line in lines)
    assert missing.stderr.strip() == "scopehub: error: user nobody-here not found"
    assert "own admin flag" in self_demote.stderr
    assert "not an admin" in not_admin.stderr
    assert "already exists" in duplicate.stderr
    assert "not a member" in not_member.stderr
    assert "group 'no-such-group' not found" in no_group.stderr
    assert "nonexistent" in bad_revision.stderr
    assert cli.json("db", "status")["up_to_date"]


# ---- info --------------------------------------------------------------------------------------
def test_info(cli: Target):
    store = cli.data_dir / "store" / "originals"
    store.mkdir(parents=True, exist_ok=True)
    (store / "a.bin").write_bytes(b"x" * 100_000)
    cli.run("users", "add", unique("ivan"))  # so that counts are not all 0, whichever tests ran before
    as_json, as_text = cli.run_many((0, ("info", "--json")), (0, ("info",)))
    info, text = json.loads(as_json.stdout), as_text.stdout
    assert info["schema"]["up_to_date"] and info["schema"]["current"] == info["schema"]["head"]
    counts = cli.query("SELECT (SELECT count(*) FROM experimenters), (SELECT count(*) FROM groups)")[0]
    assert (info["counts"]["users"], info["counts"]["groups"]) == counts and counts[0] > 0
    assert set(info["counts"]) >= {"users", "groups", "projects", "datasets", "images", "annotations"}
    assert info["database"]["embedded"] is (cli.kind == "embedded")
    assert info["store"]["files"] == 1 and info["store"]["bytes"] == 100_000
    assert info["store"]["bytes_on_disk"] >= 100_000
    assert "up to date" in text and str(cli.data_dir / "store") in text and "on disk" in text
    if cli.kind == "embedded":
        # The commands attached to the server this process holds, and left it running.
        pgdata = cli.data_dir / "pgdata"
        assert (pgdata / "postmaster.pid").exists()
        assert json.loads((pgdata / ".handle_pids.json").read_text()) == [os.getpid()]
    if cli.kind == "external":
        password = sa.make_url(cli.database_url).password
        assert password not in text and password not in json.dumps(info) and "***" in text


# ---- the reference in docs/admin/cli.md --------------------------------------------------------
def test_docs_cover_every_command_and_their_examples_parse(capsys: pytest.CaptureFixture):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "admin" / "cli.md").read_text(encoding="utf-8")
    for path, _help in _command_paths(build_parser()):
        if len(path) == 2:
            assert f"### `{' '.join(path)}" in doc, f"docs/admin/cli.md does not describe `scopehub {' '.join(path)}`"
    lines = doc.splitlines()
    examples = [(n, line[2:]) for n, line in enumerate(lines) if line.startswith("$ scopehub ")]
    assert len(examples) >= 20
    for n, example in examples:
        argv = shlex.split(example.split(" | ")[0])[1:]
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            # Only the examples that show a usage error may fail, and the doc shows the error.
            assert "error: argument" in lines[n + 1], f"docs/admin/cli.md: `{example}` does not parse"
    capsys.readouterr()
