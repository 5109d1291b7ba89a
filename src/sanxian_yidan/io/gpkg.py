"""GeoPackage writing settings shared by the package's GeoPackage writers.

A GeoPackage is an SQLite database.  GDAL opens it with SQLite's default 2 MB page cache, which is too
small to build the R-tree spatial index of a layer with a million features without reading pages back
again and again.  :func:`write_settings` raises the cache and the page size (``data/performance.toml``
``[gpkg_write]``, with the measurements behind them) for the duration of a write only, then restores
whatever the user had configured.  The written data are the same; only the time changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pyogrio

from ..parallel import performance_settings

__all__ = ["write_settings"]


@lru_cache(maxsize=1)
def _options() -> dict[str, str]:
    table = performance_settings().gpkg_write
    return {"OGR_SQLITE_CACHE": str(table.sqlite_cache_mb), "OGR_SQLITE_PRAGMA": f"page_size={table.page_size_bytes}"}


# GDAL configuration options belong to the whole process: nested or concurrent blocks (threads) share
# one setting, made by the first block to enter and undone by the last to leave.
_lock = threading.Lock()
_users = 0
_applied: dict[str, str] = {}


@contextmanager
def write_settings() -> Iterator[None]:
    """Use the tuned SQLite cache and page size while the ``with`` block writes GeoPackages.

    GDAL configuration options are process-wide: while any block is open (in any thread) every new
    GeoPackage written by the process gets these settings.  Options the user has set before the first
    block opens (environment or ``pyogrio.set_gdal_config_options``) win and are left untouched; an option
    the user changes while a block is open is not reset when it closes.  Data written are the same either
    way; only the time changes.

    References
    ----------
    .. [1] GDAL, SQLite/SpatiaLite and GeoPackage driver documentation: configuration options
       ``OGR_SQLITE_CACHE`` (page cache in MB) and ``OGR_SQLITE_PRAGMA``.
    .. [2] SQLite, PRAGMA page_size and cache_size (sqlite.org/pragma.html).
    """
    global _users
    with _lock:
        if _users == 0:
            _applied.clear()
            _applied.update({k: v for k, v in _options().items() if pyogrio.get_gdal_config_option(k) is None})
            pyogrio.set_gdal_config_options(dict(_applied))
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                # Undo only what is still ours: a value the user set meanwhile stays.
                ours = {k: None for k, v in _applied.items() if str(pyogrio.get_gdal_config_option(k)) == v}
                pyogrio.set_gdal_config_options(ours)
                _applied.clear()
