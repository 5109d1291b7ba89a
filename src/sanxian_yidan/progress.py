"""Progress of long analyses: one callback convention for the whole package.

Every long analysis (:func:`~sanxian_yidan.screening.screen`,
:func:`~sanxian_yidan.rooftop.rooftop_potential`, :func:`~sanxian_yidan.brownfield.brownfield_ranking`,
:func:`~sanxian_yidan.mines.mine_priorities`, :func:`~sanxian_yidan.terrain.visibility_from_lines`,
:func:`~sanxian_yidan.study.run_study`) takes ``progress=`` — a callable
``progress(label, done, total)`` called when a step starts: ``label`` names the step (bilingual where it
is shown to planners), ``done`` steps of ``total`` are finished.  The first call has ``done == 0``, the
last ``done == total``.  The CLI draws a progress bar with it; a script may log or ignore it.

Changed from the first API: ``screen`` and ``rooftop_potential`` called ``progress(label, fraction)`` and
``visibility_from_lines`` called ``progress(done, total)``; all now use the three-argument form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["Progress", "report_step"]

log = logging.getLogger(__name__)

#: ``progress(label, steps_done, steps_total)``.
Progress = Callable[[str, int, int], None]


def report_step(progress: Progress | None, label: str, done: int, total: int) -> None:
    """Log a step of a long analysis and pass it to the ``progress`` callback, if any.

    Parameters
    ----------
    progress : callable or None
        ``progress(label, done, total)`` (e.g. a CLI progress bar).
    label : str
        Name of the step starting now.
    done, total : int
        Steps finished so far and the number of steps.
    """
    log.debug("%s (%d/%d)", label, done, total)
    if progress is not None:
        progress(label, done, total)
