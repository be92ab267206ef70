"""How the ``scopehub`` command line prints: tables for people, JSON for scripts.

On a terminal, rich draws tables with colours; off one (a pipe, a CI log) the same tables come out
as plain Markdown at their natural width, so that they stay readable and can be pasted anywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


class Output:
    """Tables for people (colours on a terminal, Markdown-style tables in logs) or JSON for scripts."""

    def __init__(self, as_json: bool):
        from rich.console import Console

        self.as_json = as_json
        self.tty = sys.stdout.isatty()
        # Off a terminal, a table takes its natural width instead of wrapping at 80 columns.
        self.console = Console(highlight=False, width=None if self.tty else 1000)

    def _show(self, renderable) -> None:
        if self.tty:
            self.console.print(renderable)
            return
        with self.console.capture() as capture:
            self.console.print(renderable)
        lines = [line.rstrip() for line in capture.get().splitlines()]
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        sys.stdout.write("\n".join(lines) + "\n")

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(box=box.ROUNDED if self.tty else box.MARKDOWN, header_style="bold" if self.tty else "")
        for column in columns:
            table.add_column(column)
        for row in rows:
            # Text(), never markup: a user named "[red]x" is shown as typed.
            table.add_row(*(Text(self._cell(v)) for v in row))
        self._show(table)

    def fields(self, pairs: Iterable[tuple[str, Any]]) -> None:
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold" if self.tty else "")
        grid.add_column()
        for key, value in pairs:
            grid.add_row(Text(key), Text(self._cell(value, escape=False)))
        self._show(grid)

    def message(self, text: str) -> None:
        sys.stdout.write(text + "\n")

    def json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")

    def _cell(self, value: Any, escape: bool = True) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        text = str(value)
        # A "|" inside a Markdown table cell would read as a column break.
        return text.replace("|", "\\|") if escape and not self.tty else text


def human_size(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
