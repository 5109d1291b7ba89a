"""Creating a million geometries without Python's cycle collector scanning them again and again.

Every shapely geometry is an object the cyclic garbage collector tracks.  While a reader creates a
million of them, the collector runs thousands of times (once per 700 new objects, and over all the
objects already made at every step where their number has grown by a quarter): 0.4-0.9 s per million
footprints on this project's test machine, a quarter to a third of the whole read
(``benchmarks/rooftop.py``).  A shapely geometry holds no reference to another Python object (its classes
have empty ``__slots__``), so none can be part of a reference cycle; :func:`collector_paused` switches the
collector off for the duration of such bulk creation and back on afterwards; a block after which many new
objects await the collector (``data/performance.toml`` ``[collector]``) ends with one full collection, which
moves them all to the oldest generation in one pass instead of the several the collector would make by
itself later.  Objects without cycles are freed by reference counting meanwhile, as always; only cyclic
garbage made inside the block waits for the next collection.

The collector belongs to the whole process, so only the main thread pauses it (the command line, scripts,
a notebook): threads of a server or a Dask worker that read layers side by side leave it running, so that
overlapping reads can never keep it off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .parallel import performance_settings

__all__ = ["collector_paused"]

# Open blocks of the main thread (only it pauses the collector): the outermost one decides.
_depth = 0


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the ``with`` block creates geometries in bulk.

    Only in the main thread; elsewhere the block changes nothing.  A collector the caller had switched off
    stays off.  When the outermost block ends with at least ``[collector] full_collection_after_objects``
    (``data/performance.toml``) more tracked objects made than freed since the last collection, one full
    collection runs.  Results are the same either way; only the time changes.

    References
    ----------
    .. [1] Python documentation, ``gc`` module: ``gc.disable``, ``gc.isenabled``, ``gc.get_count`` and the
       generations (docs.python.org/3/library/gc.html).
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outermost = _depth == 0
    resume = outermost and gc.isenabled()
    if resume:
        gc.disable()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if resume:
            gc.enable()
            if gc.get_count()[0] >= performance_settings().collector.full_collection_after_objects:
                gc.collect()
