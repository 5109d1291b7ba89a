"""Shared pieces of the ``sanxian`` command line: the app, consoles, error exit (output places: ``outputs``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import typer
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.markup import escape
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..schemas import view_rows

# Help texts are Markdown: paragraphs are reflowed to the terminal width and brackets such as [solar] or
# [factors] (TOML tables named in the help) stay literal instead of being read as Rich style tags.
app = typer.Typer(help="三线一单 screening and PV siting toolkit for Suizhou / 随州三线一单与光伏选址工具",
                  no_args_is_help=True, add_completion=False, rich_markup_mode="markdown")


def _flag_type(self: Any, ctx: Any) -> str | None:
    """No type column for an on/off flag (``--overwrite``), which takes no value (Typer shows ``<bool>``)."""
    return None if getattr(self, "is_flag", False) else _display_type_rich(self, ctx)


_display_type_rich = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]
console = Console()
err_console = Console(stderr=True)
DEFAULT_CATALOG = Path("layers/catalog.toml")

#: The Dask engine's options, the same on every command that takes ``--engine dask``.
SCHEDULER_HELP = "Address of a running Dask scheduler (tcp://host:8786); default: a local cluster for this run."
WORKERS_HELP = "Workers of the local Dask cluster (default: one per core)."
MEMORY_LIMIT_HELP = "Memory limit per local Dask worker, e.g. 2GB."


#: A cell that is a number (optionally with thousands separators, a sign, a decimal part, a unit or %).
_NUMBER = re.compile(r"^\s*[-+−]?[\d,]+(\.\d+)?(\s*(%|[a-zA-Z²³/°]+))?\s*$")


class DataTable(Table):
    """A rich table that shows its text headers and cells literally and never splits a number.

    Rich reads ``[...]`` as markup, so a unit such as ``[kWp]`` or ``[ha]`` in a bilingual label, or a
    bracket in a feature name, would silently disappear: plain strings are escaped here; a cell that is
    meant to be styled is passed as a :class:`rich.text.Text` (e.g. ``Text.from_markup("[red]ERROR[/red]")``).

    A number is never split (``19,116`` is not printed as ``19,11`` / ``6``: a numeric cell sets its
    column's minimum width), and a cell is only broken at spaces.  When the terminal is too narrow for
    that (e.g. 80 columns, the default when output is piped), the table is printed vertically instead:
    one block per row with ``header: value`` lines.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers: list[str] = []
        self._raw_rows: list[tuple[Any, ...]] = []

    def add_column(self, header: Any = "", *args: Any, **kwargs: Any) -> None:  # noqa: D102
        kwargs.setdefault("overflow", "fold")  # wrap a long cell; never cut a number or a name with "…"
        self._headers.append(str(header))
        super().add_column(escape(header) if isinstance(header, str) else header, *args, **kwargs)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:  # noqa: D102
        self._raw_rows.append(cells)
        for column, cell in zip(self.columns, cells):
            text = cell.plain if isinstance(cell, Text) else cell
            if isinstance(text, str) and _NUMBER.match(text):  # a number (with its unit) is one unbreakable unit
                column.min_width = max(column.min_width or 0, cell_len(text.strip()))
        super().add_row(*(escape(c) if isinstance(c, str) else c for c in cells), **kwargs)

    def _min_widths(self) -> list[int]:
        """Per column, the widest unbreakable piece: a number with its unit, or a word (CJK text between
        spaces counts as one word, so a name such as 矿点15（示例） is never broken)."""
        words = [0] * len(self.columns)
        for cells in self._raw_rows + [tuple(self._headers)]:
            for i, cell in enumerate(cells[: len(words)]):
                text = cell.plain if isinstance(cell, Text) else ("" if cell is None else str(cell))
                longest = max((cell_len(w) for w in text.split()), default=0)
                words[i] = max(words[i], longest, self.columns[i].min_width or 0)
        return words

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Any:  # noqa: D105
        words = self._min_widths()
        edges = (3 * len(self.columns) + 1) if self.show_edge else (3 * len(self.columns) - 1)
        if not self._raw_rows or sum(words) + edges <= options.max_width:
            for column, width in zip(self.columns, words):
                column.min_width = width
            segments = list(super().__rich_console__(console, options))
            # Rich cannot always fold headers down to these minimum widths; then it draws the table wider
            # than the terminal and the right-hand columns are cut off: print it vertically instead.
            lines = Segment.split_lines(cast("list[Segment]", segments))  # a table renders to Segments
            if not self._raw_rows or max((Segment.get_line_length(line) for line in lines), default=0) \
                    <= options.max_width:
                yield from segments
                return
        if self.title:
            yield Text(str(self.title.plain if isinstance(self.title, Text) else self.title), style="bold")
        for n, cells in enumerate(self._raw_rows):
            block = Table(show_header=False, box=None, padding=(0, 1), expand=False)
            block.add_column(style="dim", no_wrap=False, max_width=max(12, options.max_width // 3))
            block.add_column(overflow="fold")
            for header, cell in zip(self._headers, cells):
                block.add_row(escape(header), escape(cell) if isinstance(cell, str) else cell)
            yield Text(f"— {n + 1} —", style="dim")
            yield block


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
    if not console.quiet:
        err_console.print(f"[yellow]警告 / warning[/yellow] {escape(str(message))}", highlight=False)


def print_view(title: str, view: str, frame: Any, *, fold: bool = True, extra: Any = None, **fields: Any) -> None:
    """Print ``frame`` as the on-screen table ``view`` of data/tables.toml (headers, display units, decimals).

    ``fold`` wraps long cells instead of cutting them; ``extra`` is an optional pair (headers, rows of cells)
    appended to the view's columns (columns that vary with the data, e.g. one per mode)."""
    table = DataTable(title=title)
    heads, rows = view_rows(view, frame, **fields)
    if extra is not None:
        heads, rows = heads + extra[0], [cells + more for cells, more in zip(rows, extra[1])]
    for head in heads:
        table.add_column(head, overflow="fold") if fold else table.add_column(head)
    for cells in rows:
        table.add_row(*cells)
    console.print(table)
