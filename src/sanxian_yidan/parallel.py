"""Split vectorised geometry work over CPU cores.

GEOS releases Python's global interpreter lock inside many of shapely's array functions, so a call over a
million geometries can run as a few chunks on threads.  Results never depend on the number of threads:
chunks are contiguous, in order, and concatenated in order.  Settings (thread count, the size below which
one thread is used) are in ``data/performance.toml`` with how they were measured.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from .datafiles import load_model
from .params import Sourced

__all__ = ["PerformanceFile", "chunk_bounds", "chunked", "default_threads", "performance_settings", "resolve_threads"]

_DATA_FILE = "performance.toml"


class _Threads(Sourced):
    threads: int = Field(ge=0)  # 0: one per CPU core
    max_threads: int = Field(ge=1)
    min_parallel_features: int = Field(ge=1)


class _GpkgWrite(Sourced):
    sqlite_cache_mb: int = Field(ge=1)
    page_size_bytes: int = Field(ge=512, le=65536)


class _Collector(Sourced):
    full_collection_after_objects: int = Field(ge=1)


class DaskFile(Sourced):
    """``[dask]`` of ``data/performance.toml``: the Dask engine's settings (see the file for each one)."""

    partition_rows: int = Field(ge=1)
    threads_per_worker: int = Field(ge=1)
    memory_limit: str
    allowed_failures: int = Field(ge=0)
    connect_timeout_s: int = Field(ge=1)
    hilbert_level: int = Field(ge=1, le=31)
    sort_sample: int = Field(ge=1)
    cancel_wait_s: int = Field(ge=0)
    yield_chunks_per_worker: int = Field(ge=1)


class PerformanceFile(Sourced):
    """The structure of ``data/performance.toml`` (threads, GeoPackage writing, the garbage collector during
    bulk geometry creation, the Dask engine)."""

    what: ClassVar[str] = "性能 / performance"
    threads: _Threads
    gpkg_write: _GpkgWrite
    collector: _Collector
    dask: DaskFile


@lru_cache(maxsize=1)
def performance_settings() -> PerformanceFile:
    """The validated ``data/performance.toml`` (read once)."""
    return load_model(PerformanceFile, _DATA_FILE)


def resolve_threads(value: int) -> int:
    """Threads to use for a setting: ``0`` means one per CPU core (at most ``max_threads``)."""
    cap = performance_settings().threads.max_threads
    return max(1, min(os.cpu_count() or 1, cap)) if value == 0 else max(1, int(value))


def default_threads() -> int:
    """Threads from ``data/performance.toml`` ``[threads] threads``, resolved."""
    return resolve_threads(performance_settings().threads.threads)


def chunk_bounds(n: int, threads: int, min_items: int | None = None,
                 groups: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Split ``range(n)`` into at most ``threads`` contiguous ``(start, stop)`` chunks.

    Parameters
    ----------
    n : int
        Number of items.
    threads : int
        Maximum number of chunks.
    min_items : int, optional
        Below this many items one chunk is returned (default ``[threads] min_parallel_features``).
    groups : numpy.ndarray, optional
        Sorted group label of each item; a group is never split across chunks (so that no geometry
        is used by two threads at once).
    """
    floor = performance_settings().threads.min_parallel_features if min_items is None else min_items
    if threads <= 1 or n < floor:
        return [(0, n)]
    cuts = np.linspace(0, n, threads + 1).astype(int)
    if groups is not None and n:
        cuts = np.searchsorted(groups, groups[np.minimum(cuts, n - 1)], side="left")
        cuts[0], cuts[-1] = 0, n
    cuts = np.unique(cuts)
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))


def chunked(fn: Callable[..., np.ndarray], arrays: tuple[np.ndarray, ...], *, threads: int | None = None,
            min_items: int | None = None, groups: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
    """``fn(*arrays, **kwargs)`` computed chunk by chunk on threads; same result as one call.

    ``fn`` must be element-wise over the first axis of every array (e.g. ``shapely.is_valid``,
    ``shapely.intersection``).  ``threads`` defaults to :func:`default_threads`.
    """
    n_threads = default_threads() if threads is None else threads
    bounds = chunk_bounds(len(arrays[0]), n_threads, min_items, groups)
    if len(bounds) == 1:
        return fn(*arrays, **kwargs)
    with ThreadPoolExecutor(len(bounds)) as pool:
        parts = list(pool.map(lambda b: fn(*(a[b[0]:b[1]] for a in arrays), **kwargs), bounds))
    return np.concatenate(parts)
