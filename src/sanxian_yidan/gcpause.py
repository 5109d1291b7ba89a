"""Creating a million geometries without Python's cycle collector scanning them again and again.

Every shapely geometry is an object the cyclic garbage collector tracks.  While a reader creates a
million of them, the collector runs thousands of times (once per 700 new objects, and over all the
objects already made at every step where their number has grown by a quarter): 0.4-0.9 s per million
footprints on this project's test machine, a quarter to a third of the whole read
(``benchmarks/rooftop.py``).  A shapely geometry holds no reference to another Python object (its classes
have empty ``__slots__``), so none can be part of a reference cycle; :func:`collector_paused` switches the
collector off for the duration of such bulk creation and back on afterwards; a block that created many
objects (``data/performance.toml`` ``[collector]``) ends with one full collection, which moves them all to
the oldest generation in one pass instead of the several the collector would make by itself later.
Objects without cycles are freed by reference counting meanwhile, as always; only cyclic garbage made
inside the block waits for the next collection.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .parallel import performance_settings

__all__ = ["collector_paused"]

# The collector is one per process: nested or concurrent blocks (threads) share one pause, started by the
# first block to enter and ended by the last to leave.
_lock = threading.Lock()
_users = 0
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the ``with`` block creates geometries in bulk.

    A collector the caller had switched off stays off.  When the last open block ends having created at
    least ``[collector] full_collection_after_objects`` tracked objects (``data/performance.toml``), one full
    collection runs.  Results are the same either way; only the time changes.

    References
    ----------
    .. [1] Python documentation, ``gc`` module: ``gc.disable``, ``gc.isenabled`` and the generation
       thresholds (docs.python.org/3/library/gc.html).
    """
    global _users, _was_enabled
    with _lock:
        if _users == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            resumed = _users == 0 and _was_enabled
            if resumed:
                gc.enable()
        # Outside the lock: finalisers run by the collection may open a block themselves.
        if resumed and gc.get_count()[0] >= performance_settings().collector.full_collection_after_objects:
            gc.collect()
