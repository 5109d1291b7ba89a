"""Where an analysis runs: in this process (``"memory"``) or partitioned on a Dask cluster (``"dask"``).

The Dask engine runs the *same* analysis functions, one partition of the input at a time, on the workers
of a :mod:`dask.distributed` cluster, and reduces on the client only what needs the whole set: sums of
partial aggregates, and ranks over all rows.  Without a scheduler address a
:class:`~distributed.LocalCluster` starts with the command and stops with it; with one
(``tcp://host:8786``, a cluster started with ``dask scheduler`` / ``dask worker``, dask-jobqueue or
dask-kubernetes) that cluster is used and left running.

Inputs are read lazily by partition (GeoParquet file or folder: by row group / file; GeoPackage,
Shapefile and other vector files: in chunks of features) and, by default, spatially sorted along a Hilbert
curve so that each partition is compact.  Every row carries its position in the input (``_row``), so ties
are broken as the in-memory engine breaks them.

Dask is an optional dependency: ``pip install "sanxian_yidan[dask]"``.  Settings (rows per partition,
threads per worker, default memory limit, retries after a worker died) are in ``data/performance.toml``
``[dask]``.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np

from .errors import InputFileError, SanxianError, problem
from .io import safety
from .parallel import DaskFile, performance_settings
from .progress import Progress, report_step

__all__ = ["ENGINES", "ROW", "SORT_STAGE", "Engine", "EngineError", "Scan", "bucket_sort", "check_source", "dask_client",
           "global_rows", "is_geoparquet", "merge_repairs", "read_partitions", "resolve_engine", "run_partitions", "scan",
           "cluster_is_local", "sort_stage", "spatial_sort"]

logger = logging.getLogger(__name__)

#: Engines an analysis can run on.
ENGINES = ("memory", "dask")
#: Column holding each input row's position (partition-major), added by :func:`read_partitions`.
ROW = "_row"
# A row id is partition * 2**40 + position in the partition: ordered like the input rows, with room for
# 2**23 partitions of up to 10^12 rows.
_ROW_SHIFT = 40
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
_SORT_KEY = "_hilbert"
#: Folder of the spatial sort's bucket files inside a folder the workers see (:func:`sort_stage`).
SORT_STAGE = "_sort"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class EngineError(SanxianError, RuntimeError):
    """The Dask engine cannot run: Dask missing, scheduler unreachable, a worker died too often."""


#: ``data/performance.toml`` ``[dask]``, validated.
DaskSettings = DaskFile


def settings() -> DaskSettings:
    """The Dask engine settings from ``data/performance.toml`` ``[dask]`` (validated with the whole file)."""
    return performance_settings().dask


@dataclass(frozen=True)
class Engine:
    """Where and how an analysis runs.

    Attributes
    ----------
    kind : {"memory", "dask"}
        ``"memory"``: the whole input in this process (the default).  ``"dask"``: partitioned on a
        Dask cluster.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).  ``None``: a local cluster is
        started for the run and stopped after it.
    workers : int, optional
        Workers of the local cluster (default: one per CPU core).  Ignored with ``scheduler``.
    memory_limit : str, optional
        Memory limit of each local worker in Dask's syntax (``"2GB"``; default
        ``[dask] memory_limit``).  A worker over its limit is restarted and its task re-run.
    partition_rows : int, optional
        Input rows per partition (default ``[dask] partition_rows``).
    spatial_sort : bool
        Sort the input along a Hilbert curve so that partitions are spatially compact (one extra pass
        over the input plus a shuffle).  Results do not depend on it.
    """

    kind: Literal["memory", "dask"] = "memory"
    scheduler: str | None = None
    workers: int | None = None
    memory_limit: str | None = None
    partition_rows: int | None = None
    spatial_sort: bool = True

    @property
    def rows_per_partition(self) -> int:
        """Rows per partition, resolved from the settings."""
        return int(self.partition_rows or settings().partition_rows)


def resolve_engine(engine: Engine | str | None = None, **options: Any) -> Engine:
    """An :class:`Engine` from a name (``"memory"`` / ``"dask"``), an Engine, or ``None`` (memory).

    Keyword options (``scheduler``, ``workers``, ``memory_limit``, ``partition_rows``, ``spatial_sort``)
    replace the engine's; ``None`` values are ignored.

    Raises
    ------
    InputFileError
        An unknown engine name, a worker count below 1, or options for a remote scheduler that only a
        local cluster takes.
    """
    if engine is None:
        engine = Engine()
    elif isinstance(engine, str):
        if engine not in ENGINES:
            raise InputFileError(problem(f"未知的计算引擎 '{engine}'。", f"Unknown engine '{engine}'.",
                                         fix=f"use one of: {', '.join(ENGINES)}"))
        engine = Engine(kind=engine)  # type: ignore[arg-type]
    engine = replace(engine, **{k: v for k, v in options.items() if v is not None})
    if engine.kind == "memory" and (engine.scheduler or engine.workers):
        raise InputFileError(problem("--scheduler / --workers 仅用于 Dask 引擎。",
                                     "--scheduler and --workers apply to the Dask engine only.",
                                     fix="add --engine dask, or drop --scheduler / --workers"))
    if engine.workers is not None and engine.workers < 1:
        raise InputFileError(problem("工作进程数须至少为 1。", f"--workers must be at least 1, got {engine.workers}.",
                                     fix="pass --workers 2 (or leave it out: one per CPU core)"))
    if engine.partition_rows is not None and engine.partition_rows < 1:
        raise InputFileError(problem("每个分区的行数须至少为 1。",
                                     f"partition_rows must be at least 1, got {engine.partition_rows}.",
                                     fix="leave it out to use data/performance.toml [dask] partition_rows"))
    return engine


def _import_distributed() -> Any:
    try:
        import dask_geopandas  # noqa: F401
        import distributed
    except ImportError as exc:
        raise EngineError(problem("未安装 Dask（dask-geopandas 与 dask.distributed），无法使用 --engine dask。",
                                  f"The Dask engine needs dask-geopandas and dask.distributed ({exc}).",
                                  fix='pip install "sanxian_yidan[dask]" (or run without --engine dask)')) from exc
    return distributed


@contextmanager
def dask_client(engine: Engine, *, announce: Callable[[str], None] | None = None) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``engine``: connected to its scheduler, or to a local cluster
    started now and stopped when the block ends.

    Parameters
    ----------
    engine : Engine
        ``scheduler`` / ``workers`` / ``memory_limit``.
    announce : callable, optional
        Called with one line naming the cluster and its dashboard link (the CLI prints it).

    Raises
    ------
    EngineError
        Dask is not installed, or the scheduler cannot be reached.
    """
    distributed = _import_distributed()
    import dask

    s = settings()
    # The P2P shuffle of the spatial sort logs every shuffle it starts and ends at WARNING level.
    shuffle_log = logging.getLogger("distributed.shuffle._scheduler_plugin")
    shuffle_level = shuffle_log.level
    shuffle_log.setLevel(logging.ERROR)
    with dask.config.set({"distributed.scheduler.allowed-failures": s.allowed_failures}):
        cluster = None
        if engine.scheduler:
            try:
                client = distributed.Client(engine.scheduler, timeout=f"{s.connect_timeout_s}s")
            except (OSError, TimeoutError) as exc:
                raise EngineError(problem(f"无法连接 Dask 调度器 {engine.scheduler}。",
                                          f"Cannot reach the Dask scheduler at {engine.scheduler}: {exc}.",
                                          fix="start it with `dask scheduler` (and workers with `dask worker "
                                              "ADDRESS`), check the address and port, or leave out --scheduler "
                                              "to use a local cluster")) from exc
            where = f"Dask scheduler {engine.scheduler}"
        else:
            workers = engine.workers or max(1, min(4, __import__("os").cpu_count() or 1))
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=s.threads_per_worker,
                                               memory_limit=engine.memory_limit or s.memory_limit,
                                               processes=True, dashboard_address=":0")
            client = distributed.Client(cluster)
            where = (f"Dask local cluster: {workers} worker(s) x {engine.memory_limit or s.memory_limit}")
        try:
            if announce is not None:
                announce(f"{where}; dashboard 监控面板: {client.dashboard_link}")
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
            shuffle_log.setLevel(shuffle_level)


def check_source(source: Any) -> None:
    """The in-memory reader's refusals of an input file (missing, empty, FIFO, device), before any Dask work.

    Called before a cluster starts, so that a mistyped path is reported at once; frames pass unchecked.

    Raises
    ------
    MissingFileError, InputFileError
        With the file named and the fix.
    """
    if not isinstance(source, (str, Path)):
        return
    path = Path(source)
    if not (path.is_dir() and is_geoparquet(path)):  # a folder of GeoParquet parts is one input too
        safety.check_input_file(path, what="input layer", dir_suffixes=(".gdb",),
                                fix="check the path and the working directory")


def is_geoparquet(path: str | Path) -> bool:
    """True for a GeoParquet file or a folder of them (read lazily by partition)."""
    path = Path(path)
    if path.is_dir():
        return any(p.suffix.lower() in _PARQUET_SUFFIXES for p in path.iterdir())
    return path.suffix.lower() in _PARQUET_SUFFIXES


def _with_row_ids(part: gpd.GeoDataFrame, partition_info: dict[str, Any] | None = None) -> gpd.GeoDataFrame:
    number = int(partition_info["number"]) if partition_info else 0
    out = part.copy()
    out[ROW] = (np.int64(number) << _ROW_SHIFT) + np.arange(len(part), dtype=np.int64)
    return out


def read_partitions(source: Any, engine: Engine, *, layer: str | None = None, crs: str | None = None,
                    require_crs: bool = True) -> Any:
    """The input as a lazy, partitioned :class:`dask_geopandas.GeoDataFrame` with a ``_row`` column.

    Parameters
    ----------
    source : path or GeoDataFrame
        GeoParquet file or folder of GeoParquet files (read by row group / file), any vector file
        pyogrio reads (GeoPackage, Shapefile ...; read in chunks of ``engine.rows_per_partition``
        features), a GeoDataFrame (split in memory) or a dask-geopandas frame.
    engine : Engine
        Rows per partition and whether to sort spatially (Hilbert curve).
    layer : str, optional
        Layer of a multi-layer vector file.
    crs : str, optional
        CRS of an input that has none.
    require_crs : bool
        Refuse an input without a CRS when ``crs`` is not given (``False``: the analysis resolves it, as
        screening does for web-map coordinates).

    Raises
    ------
    InputFileError
        The input has no CRS and ``crs`` is not given, or it cannot be read.
    """
    _import_distributed()
    import dask_geopandas

    rows = engine.rows_per_partition
    if isinstance(source, dask_geopandas.GeoDataFrame):
        ddf = source
    elif isinstance(source, gpd.GeoDataFrame):
        ddf = dask_geopandas.from_geopandas(source, chunksize=rows, sort=False)
    else:
        path = Path(source)
        check_source(path)
        try:
            if is_geoparquet(path):
                # One partition per row group: a file written with large row groups still reads in pieces
                # a worker can hold next to its running partitions.
                ddf = dask_geopandas.read_parquet(str(path), split_row_groups=True)
            else:
                ddf = dask_geopandas.read_file(str(path), layer=layer, chunksize=rows)
        except (OSError, ValueError) as exc:
            raise InputFileError(problem("无法分区读取输入文件。", f"Cannot read {path.name} by partition: {exc}.",
                                         file=path, fix="check the file, or convert it to GeoParquet")) from exc
    if ddf.crs is None and (require_crs or crs is not None):
        if crs is None:
            raise InputFileError(problem("输入图层没有坐标系。", "The input layer has no CRS.",
                                         fix="pass --crs EPSG:.... (the CRS its coordinates are in)"))
        ddf = ddf.set_crs(crs)
    return ddf.map_partitions(_with_row_ids)


@dataclass(frozen=True)
class Scan:
    """What one pass over the input as read tells: rows per partition, total bounds (input CRS), a sample of
    footprint midpoints (to place the spatial sort's partition boundaries) and per-partition extras."""

    lengths: np.ndarray
    bounds: np.ndarray
    sample: np.ndarray
    extras: np.ndarray


def scan(ddf: Any, extra: Callable[[gpd.GeoDataFrame], Sequence[float]] | None = None, n_extra: int = 0) -> Scan:
    """One pass over ``ddf`` (:class:`Scan`); ``extra(part)`` adds ``n_extra`` numbers per partition."""
    import pandas as pd
    import shapely

    sample_size = settings().sort_sample

    def one(part: gpd.GeoDataFrame) -> pd.DataFrame:
        g = np.asarray(part.geometry.array)
        g = g[~(shapely.is_missing(g) | shapely.is_empty(g))]
        b = shapely.bounds(g)
        mid = np.column_stack([(b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0]) if len(g) else np.empty((0, 2))
        step = max(1, len(mid) // sample_size)
        total = shapely.total_bounds(g) if len(g) else np.full(4, np.nan)
        more = list(extra(part)) if extra is not None else []
        return pd.DataFrame({"n": [len(part)], "bounds": [total.tolist()], "sample": [mid[::step].tolist()],
                             "extra": [more]})

    meta = pd.DataFrame({"n": pd.Series(dtype=np.int64), "bounds": pd.Series(dtype=object),
                         "sample": pd.Series(dtype=object), "extra": pd.Series(dtype=object)})
    got = ddf.map_partitions(one, meta=meta).compute()
    bounds = np.array(got["bounds"].tolist(), dtype=float).reshape(-1, 4)
    with np.errstate(all="ignore"):
        total = np.array([np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]), np.nanmax(bounds[:, 2]),
                          np.nanmax(bounds[:, 3])]) if len(bounds) else np.full(4, np.nan)
    sample = np.array([xy for pts in got["sample"] for xy in pts], dtype=float).reshape(-1, 2)
    extras = np.array(got["extra"].tolist(), dtype=float).reshape(len(got), n_extra)
    return Scan(got["n"].to_numpy(dtype=np.int64), total, sample, extras)


def spatial_sort(ddf: Any, engine: Engine, found: Scan, *, stage: str | Path | None = None, client: Any = None,
                 progress: Progress | None = None) -> Any:
    """``ddf`` shuffled along a Hilbert curve into partitions of about ``engine.rows_per_partition`` rows
    (unchanged when ``engine.spatial_sort`` is off or one partition suffices).

    The curve spans the input's bounds and the partition boundaries are quantiles of the sampled midpoints'
    distances (both from :func:`scan`): the data are read once more, for the shuffle itself.

    Parameters
    ----------
    ddf : dask_geopandas.GeoDataFrame
        The input as read (:func:`read_partitions`).
    engine : Engine
        Rows per partition; ``spatial_sort`` off returns ``ddf`` as it is.
    found : Scan
        The input's bounds and sampled midpoints.
    stage : str or Path, optional
        A folder of the run the workers can all reach (:func:`sort_stage`: inside the output folder on a
        shared file system, or a temporary folder of a local cluster).  Given, the sort is an explicit
        disk-bucket shuffle run now on ``client`` (:func:`bucket_sort`): memory per task is one partition,
        whatever the input size.  The caller removes the folder once the sorted partitions are computed
        (:func:`sort_stage` does).  Not given: Dask's P2P
        shuffle (lazy; enough for inputs of a few hundred thousand rows, see ``data/performance.toml``
        ``[dask]``).
    client : distributed.Client, optional
        The client the bucket shuffle runs on (default: the current one).
    progress : callable, optional
        ``progress(label, done, total)`` for the bucket shuffle's writing tasks.
    """
    n_rows = int(found.lengths.sum())
    target = max(1, math.ceil(n_rows / engine.rows_per_partition))
    if not engine.spatial_sort or target == 1 or not np.isfinite(found.bounds).all() or len(found.sample) == 0:
        return ddf
    divisions = _hilbert_divisions(found, target)
    if stage is not None:
        return bucket_sort(ddf, found.bounds, divisions, stage, client=client, progress=progress)
    return _p2p_sort(ddf, found.bounds, divisions)


def _hilbert_divisions(found: Scan, target: int) -> list[int]:
    """Boundaries of ``target`` Hilbert-distance ranges holding about equal shares of the sampled midpoints."""
    from dask_geopandas.hilbert_distance import _hilbert_distance

    level = settings().hilbert_level
    points = gpd.GeoSeries(gpd.points_from_xy(found.sample[:, 0], found.sample[:, 1]))
    dist = np.sort(np.asarray(_hilbert_distance(gpd.GeoDataFrame(geometry=points), found.bounds, level)))
    inner = np.quantile(dist, np.linspace(0, 1, target + 1)[1:-1], method="lower").astype(np.int64)
    return sorted({0, *inner.tolist(), 4 ** level - 1})


def _p2p_sort(ddf: Any, bounds: np.ndarray, divisions: list[int]) -> Any:
    """The lazy sort by Dask's P2P shuffle (used without a staging folder)."""
    import pandas as pd
    import shapely
    from dask_geopandas.hilbert_distance import _hilbert_distance

    level = settings().hilbert_level
    crs, name = ddf.crs, ddf.geometry.name
    meta = ddf._meta

    def to_plain(part: gpd.GeoDataFrame) -> Any:
        # Dask's P2P shuffle (disk-backed, bounded memory) moves Arrow tables: the geometry travels as WKB.
        key = _hilbert_distance(part, bounds, level) if len(part) else np.empty(0, dtype=np.int64)
        plain = pd.DataFrame(part.drop(columns=name))
        plain[name] = shapely.to_wkb(np.asarray(part.geometry.array))
        plain[_SORT_KEY] = np.asarray(key, dtype=np.int64)
        return plain

    def to_geo(part: Any) -> gpd.GeoDataFrame:
        geoms = shapely.from_wkb(part[name].to_numpy()) if len(part) else np.empty(0, dtype=object)
        out = gpd.GeoDataFrame(part.drop(columns=name), geometry=gpd.GeoSeries(geoms, index=part.index), crs=crs)
        return out[list(meta.columns)]

    plain_meta = pd.DataFrame(meta.drop(columns=name))
    plain_meta[name] = pd.Series(dtype=object)
    plain_meta[_SORT_KEY] = pd.Series(dtype=np.int64)
    plain = ddf.map_partitions(to_plain, meta=plain_meta)
    shuffled = plain.set_index(_SORT_KEY, sorted=False, divisions=divisions, shuffle_method="p2p")
    return shuffled.map_partitions(to_geo, meta=meta.set_index(pd.Index([], dtype=np.int64, name=_SORT_KEY)))


def _bucket_dir(stage: Path, bucket: int) -> Path:
    return stage / f"bucket.{bucket:05d}"


def _write_buckets(part: gpd.GeoDataFrame, index: int, bounds: np.ndarray, divisions: np.ndarray,
                   stage: str) -> np.ndarray:
    """Shuffle step 1 (one input partition): its rows split by Hilbert range, one small Parquet file per
    range it reaches (geometry as WKB, the sort key added); returns the rows written per range.

    A file is written under a temporary name and renamed, so a task re-run after its worker died
    overwrites whole files and a reader never sees half of one."""
    import os

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely
    from dask_geopandas.hilbert_distance import _hilbert_distance

    n_buckets = len(divisions) - 1
    counts = np.zeros(n_buckets, dtype=np.int64)
    if len(part) == 0:
        return counts
    name = part.geometry.name
    key = np.asarray(_hilbert_distance(part, bounds, settings().hilbert_level), dtype=np.int64)
    # Range j holds divisions[j] <= key < divisions[j + 1], the last range also its upper end (as set_index).
    bucket = np.clip(np.searchsorted(divisions, key, side="right") - 1, 0, n_buckets - 1)
    plain = pd.DataFrame(part.drop(columns=name))
    plain[name] = shapely.to_wkb(np.asarray(part.geometry.array))
    plain[_SORT_KEY] = key
    order = np.argsort(bucket, kind="stable")
    plain, bucket = plain.take(order), bucket[order]
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(bucket)]
    for a, b in zip(starts, ends):
        j = int(bucket[a])
        # The client made the folder (bucket_sort): a task still running after a failed run was cancelled and
        # its stage removed fails here instead of recreating the folder with a partial file.
        folder = _bucket_dir(Path(stage), j)
        target = folder / f"from.{index:05d}.parquet"
        partial = folder / f".from.{index:05d}.{os.getpid()}.tmp"
        pq.write_table(pa.Table.from_pandas(plain.iloc[a:b], preserve_index=False), partial)
        os.replace(partial, target)
        counts[j] = b - a
    return counts


def _read_bucket(folder: str, sources: Sequence[int], meta: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shuffle step 2 (one output partition): the range's files read, rows sorted by Hilbert distance (then
    input position), the GeoDataFrame rebuilt with the sort key as index (as the P2P sort gives)."""
    import pandas as pd
    import pyarrow.parquet as pq
    import shapely

    name = meta.geometry.name
    tables = [pq.read_table(Path(folder) / f"from.{i:05d}.parquet") for i in sources]
    plain = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    plain = plain.take(np.lexsort((plain[ROW].to_numpy(), plain[_SORT_KEY].to_numpy())))
    index = pd.Index(plain[_SORT_KEY].to_numpy(dtype=np.int64), name=_SORT_KEY)
    geoms = shapely.from_wkb(plain[name].to_numpy())
    out = gpd.GeoDataFrame(plain.drop(columns=[name, _SORT_KEY]).set_index(index),
                           geometry=gpd.GeoSeries(geoms, index=index), crs=meta.crs)
    return out[list(meta.columns)]


def bucket_sort(ddf: Any, bounds: np.ndarray, divisions: Sequence[int], stage: str | Path, *, client: Any = None,
                progress: Progress | None = None) -> Any:
    """``ddf`` sorted by Hilbert distance into the ranges ``divisions`` through files in ``stage``.

    One task per input partition computes the sort key of its rows and writes them, split by range, as small
    Parquet files (run now, on the cluster, with :func:`run_partitions`'s retries and errors); the result is
    a lazy frame of one partition per non-empty range, whose task reads that range's files and sorts them.
    Memory per task is one partition (Dask's generic shuffles hold far more at millions of rows).  The files
    stay in ``stage`` until the caller removes it, after computing the partitions.

    Parameters
    ----------
    ddf : dask_geopandas.GeoDataFrame
        The input as read.
    bounds : ndarray
        ``(minx, miny, maxx, maxy)`` the Hilbert curve spans (the input's total bounds).
    divisions : sequence of int
        Range boundaries (ascending Hilbert distances; the last range includes its upper end).
    stage : str or Path
        Folder every worker reaches under this path.  It and its range folders are made here, on the
        client; the tasks only write files into them (a task still running after a failed run cannot
        recreate a folder the caller removed).
    client : distributed.Client, optional
        Default: the current client.
    progress : callable, optional
        ``progress(label, done, total)`` as the writing tasks finish.

    Raises
    ------
    EngineError
        A writing task failed or its worker died too often: nothing is returned.
    """
    import dask
    import dask.dataframe as dd
    import pandas as pd

    distributed = _import_distributed()
    client = client if client is not None else distributed.get_client()
    stage = Path(stage)
    div = np.asarray(divisions, dtype=np.int64)
    stage.mkdir(parents=True, exist_ok=True)
    for j in range(len(div) - 1):
        _bucket_dir(stage, j).mkdir(exist_ok=True)
    counts = run_partitions(client, _write_buckets, ddf.to_delayed(), np.asarray(bounds, dtype=float), div,
                            str(stage), progress=progress, label="sort 空间排序")
    written = np.vstack(counts) if counts else np.zeros((0, len(div) - 1), dtype=np.int64)
    meta = ddf._meta.set_index(pd.Index([], dtype=np.int64, name=_SORT_KEY))
    parts = [dask.delayed(_read_bucket, pure=True)(str(_bucket_dir(stage, j)), sources, meta)
             for j in range(len(div) - 1) if (sources := np.flatnonzero(written[:, j] > 0).tolist())]
    if not parts:
        return ddf
    # Sorted ranges, but the divisions are not declared: the last key of a range is not known here.
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def merge_repairs(lists: Sequence[Sequence[Any]]) -> list[Any]:
    """Geometry repairs of several partitions as one list, one entry per kind, as one frame would give: counts
    summed, the lowest feature ids listed (partitions list their lowest), the first partition's detail text."""
    from .normalize import MAX_IDS_LISTED, Repair

    merged: dict[str, Any] = {}
    for repairs in lists:
        for r in repairs:
            old = merged.get(r.kind)
            merged[r.kind] = r if old is None else Repair(
                r.kind, old.count + r.count, tuple(sorted(old.feature_ids + r.feature_ids))[:MAX_IDS_LISTED],
                old.detail)
    return list(merged.values())


def global_rows(row_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Input positions (0 .. n-1, as the in-memory engine numbers rows) of ``_row`` ids, from the lengths of
    the partitions as read (before any spatial sort)."""
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    ids = np.asarray(row_ids, dtype=np.int64)
    return offsets[ids >> _ROW_SHIFT] + (ids & ((np.int64(1) << _ROW_SHIFT) - 1))


def run_partitions(client: Any, fn: Callable[..., Any], parts: Sequence[Any], *args: Any,
                   progress: Progress | None = None, label: str = "partitions", offset: int = 0,
                   total: int | None = None, per_partition: Sequence[Any] | None = None) -> list[Any]:
    """``fn(part, index, *args)`` for every partition on the cluster; results in partition order.

    ``parts`` are delayed partitions (``ddf.to_delayed()``) or plain values; ``args`` may hold futures
    scattered to every worker; ``per_partition[i]``, if given, is passed last to partition ``i``'s call.
    ``progress(label, done, total)`` is called as partitions finish (``done``
    counted from ``offset``).  A worker that dies is replaced and its task re-run (``[dask]
    allowed_failures`` times); if a task still fails, the remaining ones are cancelled and the error is
    raised: a run never returns partial results.

    Raises
    ------
    EngineError
        A task's worker died too often (e.g. out of memory), with the fix.
    SanxianError
        A toolkit error raised inside a task (re-raised as it is).
    """
    distributed = _import_distributed()
    import dask

    extra = [(x,) for x in per_partition] if per_partition is not None else [()] * len(parts)
    tasks = [dask.delayed(fn)(part, i, *args, *extra[i]) for i, part in enumerate(parts)]
    futures = client.compute(tasks)
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    steps = total if total is not None else offset + len(futures)
    done = offset
    report_step(progress, label, done, steps)
    try:
        for future in distributed.as_completed(futures):
            results[index[future.key]] = future.result()
            done += 1
            report_step(progress, label, done, steps)
    except distributed.client.FutureCancelledError as exc:  # pragma: no cover - cancelled from outside
        raise EngineError(problem("Dask 任务被取消。", f"A Dask task was cancelled: {exc}.",
                                  fix="run again; check the dashboard for what stopped it")) from exc
    except Exception as exc:
        client.cancel(futures)
        _wait_stopped(client, [f.key for f in futures])
        if isinstance(exc, SanxianError):
            raise
        if type(exc).__name__ == "KilledWorker":
            raise EngineError(problem(
                "Dask 工作进程多次中止（多为内存不足），运行失败，未写出任何结果。",
                f"A Dask worker died {settings().allowed_failures} time(s) while running one partition "
                f"(most often: over its memory limit); nothing was written. {exc}",
                fix="raise --memory-limit, or make partitions smaller (data/performance.toml [dask] "
                    "partition_rows), or use more workers")) from exc
        raise EngineError(problem("Dask 任务失败，未写出任何结果。",
                                  f"A Dask task failed ({type(exc).__name__}: {exc}); nothing was written.",
                                  fix="see the error above; the dashboard shows the failed task")) from exc
    return results


def _running_keys(keys: set[Any], dask_worker: Any = None) -> list[Any]:
    """On a worker: which of ``keys`` its threads still run (a cancelled task runs on until it returns)."""
    state = dask_worker.state
    return [ts.key for ts in (*state.executing, *state.long_running) if ts.key in keys]


def _wait_stopped(client: Any, keys: Sequence[Any]) -> None:
    """Wait (up to ``[dask] cancel_wait_s``) until no worker still runs one of ``keys``.

    ``client.cancel`` forgets the tasks but does not stop one already running: without this wait, a task
    writing into a staging folder could go on writing after the caller removed the folder."""
    deadline = time.monotonic() + settings().cancel_wait_s
    wanted = set(keys)
    while time.monotonic() < deadline:
        try:
            busy = client.run(_running_keys, wanted)
        except Exception:  # noqa: BLE001 - a cluster going away has no task left to wait for
            return
        if not any(busy.values()):
            return
        time.sleep(0.05)
    logger.warning("Dask tasks still running %s s after the run was cancelled", settings().cancel_wait_s)


def cluster_is_local(client: Any) -> bool:
    """True when the scheduler and every worker of ``client`` run on this machine (loopback or in-process
    addresses): only then is a temporary folder of this process one the workers see."""
    info = client.scheduler_info()
    addresses = [urlparse(a) for a in [info.get("address", ""), *info.get("workers", {})]]
    return len(addresses) > 1 and all(a.scheme == "inproc" or a.hostname in _LOOPBACK for a in addresses)


@contextmanager
def sort_stage(client: Any, under: str | Path | None = None) -> Iterator[Path | None]:
    """The staging folder of :func:`spatial_sort`'s bucket files for a run on ``client``; removed when the
    block ends, also on failure (after the run's tasks have stopped, see :func:`run_partitions`).

    Parameters
    ----------
    client : distributed.Client
        The client the sort runs on.
    under : str or Path, optional
        A folder every worker sees under the same path (the run's output folder, as the README requires
        for a cluster): the files go in its ``_sort`` sub-folder, created here by the client.

    Yields
    ------
    Path or None
        ``under/_sort``; without ``under``, a new temporary folder when the scheduler and every worker run
        on this machine; otherwise ``None`` (no folder is shared: :func:`spatial_sort` uses Dask's P2P
        shuffle).
    """
    if under is not None:
        folder = Path(under) / SORT_STAGE
        shutil.rmtree(folder, ignore_errors=True)  # left by a run that was killed
        folder.mkdir(parents=True)
    elif cluster_is_local(client):
        folder = Path(tempfile.mkdtemp(prefix="sanxian_sort_"))
    else:
        yield None
        return
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
