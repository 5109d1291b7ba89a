"""A progress bar for long analyses, shared by the commands (underscore: not a command module)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from ._common import console as default_console

#: The callback the analyses accept: ``step(label, steps_done, steps_total)``.
Step = Callable[[str, int, int], None]


@contextmanager
def progress_bar(description: str, total: int, *, console: Console | None = None,
                 prefix: str = "") -> Iterator[Step]:
    """Show a transient rich progress bar while the block runs; yield its ``step`` callback.

    Parameters
    ----------
    description : str
        Text shown before the first step (bilingual, e.g. ``"矿山修复 / mine rehabilitation"``).
    total : int
        Number of steps the analysis reports (e.g. ``brownfield.RANKING_STEPS``); an analysis that
        states its own total in each call (screening) overrides it.
    console : rich.console.Console, optional
        Where to draw (default: the commands' standard-output console; the screening command
        draws on standard error).
    prefix : str, optional
        Put before every step label (e.g. the analysis name when the labels are short ids).

    Yields
    ------
    callable
        ``step(label, done, total)``: shows ``label`` and moves the bar to ``done`` of ``total``;
        pass it as the analysis' ``progress=`` argument, e.g.
        ``with progress_bar("矿山修复 / mine rehabilitation", PRIORITY_STEPS) as step:
        mine_priorities(cat, progress=step)``.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console or default_console, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def step(label: str, done: int, steps: int) -> None:
            bar.update(task, description=prefix + label, completed=done, total=steps)

        yield step
