"""The admin pages' jupyter_server extension: loaded by the hub service beside the catalogue's API.

``ScopehubServiceApp`` loads it (``SERVICE_EXTENSIONS``); it registers the page handlers of
``pages.py`` at the service's root (``/services/scopehub/``) and the jinja environment they render
with: scopehub's templates first, then JupyterHub's own (``page.html``), so that the pages look like
the hub's and take its navigation bar. The hub serves the CSS and scripts those name
(``{hub_prefix}static/``); nothing is loaded from elsewhere.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from jupyter_server.extension.application import ExtensionApp
from traitlets import Int, Unicode, default, validate

TEMPLATES = Path(__file__).parent / "templates"


class AdminPagesApp(ExtensionApp):
    """scopehub's admin pages: groups, users and their storage, import jobs, the audit log."""

    name = "scopehub_admin"
    description = "The scopehub catalogue's admin pages, in the hub service."
    load_other_extensions = True

    page_size = Int(
        50,
        config=True,
        help="Rows per page in the admin pages' tables (users, group members, import jobs, audit log).",
    )

    @validate("page_size")
    def _valid_page_size(self, proposal):
        if not 10 <= proposal["value"] <= 1000:
            raise ValueError("page_size must be between 10 and 1000")
        return proposal["value"]

    hub_templates = Unicode(
        config=True,
        help="""Folder with JupyterHub's page templates (``page.html``), which the admin pages extend so
        that they look like the hub. Default: the installed jupyterhub package's
        ``share/jupyterhub/templates``. Point it at your hub's ``JupyterHub.template_paths`` folder to
        follow a customised hub look.""",
    )

    @default("hub_templates")
    def _default_hub_templates(self) -> str:
        from jupyterhub._data import DATA_FILES_PATH

        return os.path.join(DATA_FILES_PATH, "templates")

    def initialize_settings(self) -> None:
        if not (Path(self.hub_templates) / "page.html").is_file():
            raise RuntimeError(f"no JupyterHub page.html in {self.hub_templates}: set AdminPagesApp.hub_templates")
        self.settings["scopehub_admin_env"] = page_environment(self.hub_templates)

    def initialize_handlers(self) -> None:
        from .pages import page_handlers

        self.handlers.extend(page_handlers())


def page_environment(hub_templates: str) -> Environment:
    """Jinja for the admin pages: ours first, then the hub's (for ``page.html``); always escaped."""
    env = Environment(loader=ChoiceLoader([FileSystemLoader(TEMPLATES), FileSystemLoader(hub_templates)]),
                      autoescape=True)
    env.filters["bytes"] = human_bytes
    env.filters["number"] = lambda n: f"{n:,}"
    env.filters["utc"] = utc_text
    env.filters["plural"] = plural
    return env


def human_bytes(n: int | None) -> str:
    """1536 -> '1.5 KiB', in binary units as ``du -h`` counts them."""
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def plural(n: int, noun: str) -> str:
    """(1, 'owner') -> '1 owner'; (2, 'owner') -> '2 owners'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def utc_text(iso: str | None) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM UTC': what a browser without scripts shows (the script shows local time)."""
    if not iso:
        return ""
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
