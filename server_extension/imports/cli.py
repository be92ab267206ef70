"""``scopehub import PATH... --dataset ID | --target "Project:P/Dataset:D" [--label]``: the same import as the
API's, run here and now in this process, with a progress bar.

It runs as the operator (a catalogue admin: the OS user by default) or, with ``--user NAME``, as
that catalogue user on the operator's behalf (recorded in the audit log). Any path the OS user can
read may be imported: the server's import roots do not apply here. The job appears in
``B/imports`` like any other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cli import Context


def add_import_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``import`` to the ``scopehub`` command line."""
    from ..cli import SUB_EPILOG, _global_options, _json_option

    text = "import image files or folders (recursively) into a dataset"
    sub = commands.add_parser("import", help=text, description=text[0].upper() + text[1:] + ".",
                              formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SUB_EPILOG)
    _global_options(sub, defaults=False)
    _json_option(sub)
    sub.set_defaults(func=cmd_import)
    sub.add_argument("paths", nargs="+", metavar="PATH",
                     help="files, or folders walked recursively (hidden files and files that do not look like "
                     "images are skipped there; a zarr folder is one image source)")
    target = sub.add_mutually_exclusive_group(required=True)
    target.add_argument("--dataset", type=int, metavar="ID", help="link the images into this dataset")
    target.add_argument("--target", metavar="Project:P/Dataset:D",
                        help="your project and dataset of these names ('Dataset:D' for a dataset alone), created "
                        "when absent")
    sub.add_argument("--name", metavar="TEXT", help="the images' name (default: the file name)")
    sub.add_argument("--description", metavar="TEXT", default="", help="the images' description")
    sub.add_argument("--label", action="store_true",
                     help="import the images as label images (segmentations: integer ids, pyramid levels by nearest "
                     "value, label colours); refused for float or RGB data")
    sub.add_argument("--user", metavar="NAME",
                     help="import as this catalogue user, who will own the images (default: the operator)")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar (it goes to stderr)")
    return sub


def cmd_import(ctx: Context) -> int:
    from ..catalogue.permissions import load_caller
    from ..cli import ERROR, NOT_FOUND, OK, USAGE, CliError, _operator
    from .jobs import create_locked
    from .pipeline import ImportPipeline

    args = ctx.args
    paths = []
    for text in args.paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise CliError(f"no file or folder {text!r}", NOT_FOUND)
        paths.append(str(path.resolve()))
    if args.dataset is not None and args.dataset < 1:
        raise CliError("--dataset must be a positive id", USAGE)
    request: dict[str, Any] = {"paths": paths, "description": args.description}
    if args.dataset is not None:
        request["dataset_id"] = args.dataset
    if args.target is not None:
        from .jobs import parse_target

        try:
            parse_target(args.target)
        except Exception as e:
            raise CliError(getattr(e, "message", str(e)), USAGE) from None
        request["target"] = args.target
    if args.name:
        request["name"] = args.name
    if args.label:
        request["label"] = True

    def caller_of(session):
        operator = _operator(session, args.operator)
        if not args.user or args.user == operator.username:
            return operator
        from ..catalogue.accounts import AccountManager
        from ..catalogue.audit import record

        user = AccountManager().find_user(session, args.user)
        caller = load_caller(session, user.id, real_user_id=operator.user_id)
        record(session, caller, "act_as", "user", user.id, {"command": "scopehub import"})
        return caller

    caller = ctx.db.call(caller_of)
    if not caller.roles and caller.real_user_id is None and args.dataset is None:
        # A fresh catalogue: the operator gets the group the Jupyter user gets in standalone mode.
        from ..identity import StandaloneIdentity

        StandaloneIdentity(ctx.db, caller.username)
        caller = ctx.db.call(caller_of)
    pipeline = ImportPipeline(ctx.db, ctx.store_dir, roots=None)
    (ctx.store_dir / "tmp").mkdir(parents=True, exist_ok=True)
    with create_locked(ctx.engine, caller, request) as job_id, _progress_bar(args, job_id) as listener:
        result = pipeline.run(job_id, listener=listener)
    if ctx.out.as_json:
        ctx.out.json(result)
    elif result["status"] == "done":
        where = f" into dataset {result['dataset_id']}" if result["dataset_id"] else ""
        ids = ", ".join(str(i) for i in result["images"])
        ctx.out.message(f"import {job_id}: {result['message']}{where} (image ids: {ids})")
    if result["status"] != "done":
        print(f"scopehub: error: import {job_id} failed: {result['error']}", file=sys.stderr)
        return ERROR
    return OK


class _progress_bar:  # noqa: N801 - used as a context manager, like a function
    """A rich progress bar on stderr (or nothing with --no-progress / --json off a terminal)."""

    def __init__(self, args: argparse.Namespace, job_id: int):
        self.enabled = not args.no_progress
        self.job_id = job_id
        self.progress = None
        self.task = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
        self.progress = Progress(TextColumn(f"import {self.job_id}"), BarColumn(), TaskProgressColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                                 transient=False)
        self.progress.start()
        self.task = self.progress.add_task("starting", total=1.0)
        self._last = ""
        return self.update

    def update(self, fraction: float, message: str) -> None:
        self.progress.update(self.task, completed=fraction, description=_short(message))
        if not sys.stderr.isatty() and message != self._last:
            # Off a terminal the bar is drawn once at the end: say each step as it starts.
            self._last = message
            self.progress.console.print(f"import {self.job_id}: {message}", highlight=False, markup=False,
                                        soft_wrap=True)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


def _short(text: str, width: int = 70) -> str:
    """Long paths lose their middle: the step's verb and the file's name stay."""
    return text if len(text) <= width else text[:24] + "…" + text[-(width - 25):]


__all__ = ["add_import_parser", "cmd_import"]
