"""Shared pieces of the ``sanxian`` command line: the app, consoles, error exit (output places: ``outputs``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="三线一单 screening and PV siting toolkit for Suizhou / 随州三线一单与光伏选址工具",
                  no_args_is_help=True, add_completion=False)
console = Console()
err_console = Console(stderr=True)
DEFAULT_CATALOG = Path("layers/catalog.toml")


class DataTable(Table):
    """A rich table that shows its text headers and cells literally.

    Rich reads ``[...]`` as markup, so a unit such as ``[kWp]`` or ``[ha]`` in a bilingual label, or a
    bracket in a feature name, would silently disappear.  Columns wrap long cells instead of cutting them.
    Plain strings are escaped here; a cell that is meant to be styled is passed as a
    :class:`rich.text.Text` (e.g. ``Text.from_markup("[red]ERROR[/red]")``).
    """

    def add_column(self, header: Any = "", *args: Any, **kwargs: Any) -> None:  # noqa: D102
        kwargs.setdefault("overflow", "fold")  # wrap a long cell; never cut a number or a name with "…"
        super().add_column(escape(header) if isinstance(header, str) else header, *args, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:  # noqa: D102
        super().add_row(*(escape(c) if isinstance(c, str) else c for c in cells), **kwargs)


def fail(exc: Exception) -> None:
    """Print a bilingual error for ``exc`` and exit with code 2.

    The message is printed literally: ``[name]`` in a fix hint is TOML syntax, not Rich markup.
    """
    err_console.print(f"[bold red]错误 / Error[/bold red] ({type(exc).__name__}):\n{escape(str(exc))}", highlight=False)
    raise typer.Exit(code=2)


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """``warnings.showwarning`` for the command line: the message only, no source file or code line.

    Silent under ``-q`` (which quiets :data:`console`).
    """
    if console.quiet:
        return
    err_console.print(f"[yellow]警告 / warning[/yellow] {escape(str(message))}", highlight=False)

