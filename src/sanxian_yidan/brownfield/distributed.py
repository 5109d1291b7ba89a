"""Brownfield ranking on the Dask engine: the sites evaluated by partition, scored over the whole set.

A provincial review ranks tens of thousands of candidate parcels.  Most of the work is row-local — each
site's net area after the hard exclusions, capacity, terrain, distances to substations, roads and built-up
land, and the search edges of the data coverage — and runs per partition with the in-memory code
(:func:`~sanxian_yidan.brownfield.ranking.evaluate_sites`) on workers that hold the catalog with every
layer already read and the buffered hard exclusions (broadcast once).  What needs the whole set is
computed across partitions, as the in-memory engine computes it:

* parcel ids: the id column is the first one filled and unique over *all* parcels, and parcels without
  one are numbered in the content order of all parcels (ties by input row); repeated site ids are refused;
* the yield tilt is the optimal one at the median of the distinct locations of all sites; the yield model
  runs once per distinct location (on the cluster, a second pass) and every site takes its location's value;
* the MCDA score, rank, ``p_top_k`` (weight draws over all ranked sites), the run notes that count or list
  sites, the summary tables and the provenance are computed on the client from the gathered site table
  (a :class:`~sanxian_yidan.brownfield.BrownfieldResult` holds every site anyway) by the in-memory functions
  (:func:`~sanxian_yidan.brownfield.ranking.finish_measures`, :func:`~sanxian_yidan.brownfield.ranking.rank_sites`).

The result is the in-memory one: same sites, values (sums to float tolerance), ranks, notes and provenance.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..engine import (
    ROW,
    Engine,
    check_source,
    dask_client,
    global_rows,
    is_geoparquet,
    read_partitions,
    resolve_engine,
    run_partitions,
    scan,
    settings,
    sort_stage,
    spatial_sort,
)
from ..errors import CRSError, EmptyLayerError, problem
from ..progress import Progress, report_step
from ..provenance import TrackedCatalog
from .params import BrownfieldParams, load_params
from .ranking import (
    BrownfieldResult,
    SharedLayers,
    SiteEvaluation,
    distinct_locations,
    evaluate_sites,
    finish_measures,
    load_catalog,
    rank_sites,
    shared_layers,
)
from .sites import (
    PARCEL_ID_COLUMNS,
    catalog_candidates,
    check_unique_sites,
    no_candidates,
    parcel_id_column,
    parcel_ids,
    parcel_role,
    parcel_sites,
)

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..terrain import Dem


__all__ = ["brownfield_ranking_dask"]

#: Steps besides one per partition: candidates, parcel ids, yield, ranking, done.
_EXTRA_STEPS = 5


@dataclass(frozen=True)
class _Context:
    """What every partition task gets (broadcast once): the catalog with its layers read, the parameters,
    the shared layers, and how parcels are named."""

    catalog: Catalog
    params: BrownfieldParams
    shared: SharedLayers
    lengths: np.ndarray | None
    id_column: str | None
    rank_by_row: np.ndarray | None
    source: str


def _normalised(part: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """One partition of the parcels as :func:`~sanxian_yidan.brownfield.sites.read_parcels` normalises them."""
    from ..normalize import normalise

    return normalise(part, ctx.catalog.working_crs, expected="polygon", file=ctx.source)


def _parcel_names(part: gpd.GeoDataFrame, index: int, ctx: _Context) -> dict[str, Any]:
    """Pass over the parcels: how many are usable and the values of their candidate id columns."""
    gdf = _normalised(part, ctx)
    return {"n": len(gdf), "columns": {c: gdf[c].astype(str).to_numpy() for c in PARCEL_ID_COLUMNS if c in gdf.columns}}


def _parcel_content(part: gpd.GeoDataFrame, index: int, ctx: _Context) -> tuple[np.ndarray, np.ndarray]:
    """Input rows and content keys (WKB of the normalised geometry, as ``canonical_order``) of the parcels."""
    gdf = _normalised(part, ctx)
    rows = global_rows(gdf[ROW].to_numpy(), ctx.lengths) if ctx.lengths is not None else np.empty(0, np.int64)
    return rows, shapely.to_wkb(shapely.normalize(gdf.geometry.values), hex=True)


def _parcel_frame(part: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """One partition of the parcels as site table, named as the whole set names them."""
    gdf = _normalised(part, ctx)
    if ctx.id_column is not None:
        ids = "parcel-" + gdf[ctx.id_column].astype(str)
    else:
        assert ctx.rank_by_row is not None and ctx.lengths is not None
        ids = parcel_ids(ctx.rank_by_row[global_rows(gdf[ROW].to_numpy(), ctx.lengths)], gdf.index)
    return parcel_sites(gdf.drop(columns=[ROW]), parcel_role(ctx.params), ids)


def _evaluate_partition(part: gpd.GeoDataFrame, index: int, ctx: _Context, kind: str) -> dict[str, Any] | None:
    """Evaluate one partition (catalog sites, or raw parcels when ``kind`` is ``"parcels"``) with the in-memory
    code; return the evaluation, the layers read (for provenance) and the warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sites = _parcel_frame(part, ctx) if kind == "parcels" else part
        if len(sites) == 0:
            return None
        tracked = TrackedCatalog(ctx.catalog)
        ev = evaluate_sites(sites, tracked, ctx.params, ctx.shared)
    return {"ev": ev, "used": tracked.used, "warnings": [(w.category, str(w.message)) for w in caught]}


def _yields_task(chunk: pd.DataFrame, index: int, tilt: float, azimuth: float) -> pd.DataFrame:
    from ..siteengine import location_yields

    return location_yields(chunk, tilt_deg=tilt, azimuth_deg=azimuth)


def _read_parcels(parcels: Any, eng: Engine, working_crs: str, layer: str | None, crs: str | None) -> tuple[Any, str]:
    """The parcels as a lazy partitioned frame: GeoParquet by row group / file, other formats read here as the
    in-memory engine reads them (:func:`~sanxian_yidan.brownfield.sites.read_parcels`) and split."""
    from .sites import read_parcels

    if isinstance(parcels, (str, Path)) and is_geoparquet(parcels):
        ddf = read_partitions(parcels, eng, crs=crs, require_crs=False)
        name = str(parcels)
    else:
        name = str(parcels) if isinstance(parcels, (str, Path)) else "<GeoDataFrame parcels>"
        if isinstance(parcels, (str, Path)) and (layer is not None or crs is not None):
            from ..io.vector import read_vector

            parcels = read_vector(parcels, layer=layer, crs=crs)
        ddf = read_partitions(read_parcels(parcels, working_crs), eng, require_crs=False)
    if ddf.crs is None:
        raise CRSError(problem("地块没有坐标系。", "The parcels have no CRS.", file=name,
                               fix="set the CRS (gdf.set_crs(...)) or read the file with read_vector(path, crs=...)"))
    return ddf, name


def _name_parcels(client: Any, ddf: Any, found: Any, base: _Context) -> _Context:
    """The parcel id column of the whole set, or (without one) every parcel's rank in the content order."""
    [shared] = client.scatter([base], broadcast=True)
    named = run_partitions(client, _parcel_names, ddf.to_delayed(), shared, label="parcel ids")
    if sum(q["n"] for q in named) == 0:
        raise EmptyLayerError(problem("地块图层为空。", "The parcels layer has no usable polygon.", file=base.source,
                                      fix="check the file"))
    present = [c for c in PARCEL_ID_COLUMNS if all(c in q["columns"] for q in named)]
    ident = parcel_id_column({c: pd.Series(np.concatenate([q["columns"][c] for q in named])) for c in present})
    if ident is not None:
        return replace(base, id_column=ident)
    content = run_partitions(client, _parcel_content, ddf.to_delayed(), shared, label="parcel ids")
    rows = np.concatenate([r for r, _ in content])
    keys = np.concatenate([k for _, k in content])
    order = np.lexsort((rows, keys))  # content first, ties by input row (a stable sort of the input)
    rank_by_row = np.full(int(found.lengths.sum()), -1, dtype=np.int64)
    rank_by_row[rows[order]] = np.arange(len(order))
    return replace(base, rank_by_row=rank_by_row)


def _catalog_parts(cat: Catalog, p: BrownfieldParams, rows: int) -> list[gpd.GeoDataFrame]:
    """The catalog's candidate sites (read here, as in memory) in pieces of ``rows`` sites."""
    frames = catalog_candidates(cat, p)
    if not frames:
        return []
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    return [sites.iloc[i:i + rows].reset_index(drop=True) for i in range(0, len(sites), rows)]


def _preload(ctx: TrackedCatalog, p: BrownfieldParams) -> None:
    """Read the layers every partition uses now, so that they travel (cached) with the catalog."""
    whole = ctx.unrestricted()
    for role in ("admin_boundary", "township"):
        if whole.has(role):
            whole.read(role)
    for role in (p.grid.role, *p.access.road_roles, *p.setback.roles):
        if ctx.has(role):
            ctx.read(role)


def brownfield_ranking_dask(catalog: Catalog | str | Path, *, parcels: str | Path | gpd.GeoDataFrame | None = None,
                            params: str | Path | Mapping[str, Any] | BrownfieldParams | None = None,
                            dem: Dem | str | Path | None = None, layer: str | None = None, crs: str | None = None,
                            engine: Engine | str | None = "dask", client: Any = None,
                            progress: Progress | None = None, announce: Any = None,
                            staging: str | Path | None = None) -> BrownfieldResult:
    """Rank a large set of brownfield candidates partitioned on a Dask cluster; same result as
    :func:`~sanxian_yidan.brownfield.brownfield_ranking`.

    Parameters
    ----------
    catalog : Catalog or path
        Layer catalog; its candidate layers are read here, its other layers once here and broadcast.
    parcels : path or GeoDataFrame, optional
        Candidate parcels: a GeoParquet file or folder is read by partition on the workers; any other
        format is read here as the in-memory engine reads it, then split.
    params, dem
        As for :func:`~sanxian_yidan.brownfield.run_brownfields`.
    layer, crs : str, optional
        Layer of the parcels file; CRS of parcels that have none.
    engine : Engine or str
        Scheduler address or local workers, memory limit, rows per partition, spatial sort.
    client : distributed.Client, optional
        Use this client instead of connecting per ``engine``.
    progress : callable, optional
        ``progress(label, done, total)``: candidates, parcel ids, one step per partition, yield, ranking.
    announce : callable, optional
        Called with the cluster and its dashboard link.
    staging : str or Path, optional
        A folder every worker sees under the same path (e.g. the output folder): the parcels' spatial sort
        writes its bucket files in its ``_sort`` sub-folder, removed at the end.  Without it: a temporary
        folder when the scheduler and every worker run on this machine, else Dask's P2P shuffle
        (:func:`~sanxian_yidan.engine.sort_stage`).

    Returns
    -------
    BrownfieldResult
        As the in-memory engine returns it.

    Raises
    ------
    EngineError
        Dask missing, scheduler unreachable, a worker died too often.
    EmptyLayerError, InputFileError, CRSError, DataFileError
        As :func:`~sanxian_yidan.brownfield.brownfield_ranking` (no candidates, repeated site ids, parcels
        without a CRS, bad parameters).
    """
    eng = resolve_engine(engine)
    if client is None:
        check_source(parcels)  # a mistyped path or catalog is reported before a cluster starts
        catalog = load_catalog(catalog)
        with dask_client(eng, announce=announce) as own:
            return brownfield_ranking_dask(catalog, parcels=parcels, params=params, dem=dem, layer=layer, crs=crs,
                                           engine=eng, client=own, progress=progress, staging=staging)
    cat = load_catalog(catalog)
    p = load_params(params)
    report_step(progress, "候选地块 / candidate sites", 0, _EXTRA_STEPS)
    pieces: list[Any] = _catalog_parts(cat, p, eng.rows_per_partition)
    if not pieces and parcels is None:
        raise no_candidates(cat, p)
    ctx = TrackedCatalog(cat)
    shared = shared_layers(ctx, p, dem)
    _preload(ctx, p)
    kinds = ["sites"] * len(pieces)
    base = _Context(cat, p, shared, None, None, None, "")
    # The parcels' bucket files stay in the staging folder until the partitions are evaluated (also on failure).
    with sort_stage(client, staging) if parcels is not None else nullcontext() as stage:
        if parcels is not None:
            ddf, name = _read_parcels(parcels, eng, cat.working_crs, layer, crs)
            found = scan(ddf)
            base = _Context(cat, p, shared, found.lengths, None, None, name)
            report_step(progress, "地块编号 / parcel ids", 1, _EXTRA_STEPS)
            base = _name_parcels(client, ddf, found, base)
            parts = spatial_sort(ddf, eng, found, stage=stage, client=client).to_delayed()
            pieces += parts
            kinds += ["parcels"] * len(parts)
        total = len(pieces) + _EXTRA_STEPS
        [shared_ctx] = client.scatter([base], broadcast=True)
        partials = run_partitions(client, _evaluate_partition, pieces, shared_ctx, progress=progress,
                                  label="评价分区 / evaluating partitions", offset=2, total=total,
                                  per_partition=kinds)
    done = [q for q in partials if q is not None]
    ev = SiteEvaluation.concat([q["ev"] for q in done])
    check_unique_sites(ev.frame["site_id"].astype(str))
    # The in-memory order (canonical_order by site type, then site id: the ids are unique).
    ev = ev.take(np.lexsort((ev.frame["site_id"].astype(str).to_numpy(), ev.frame["site_type"].astype(str).to_numpy())))
    for q in done:
        ctx.merge_used(q["used"])
    _repeat_warnings(done)

    report_step(progress, "发电量 / yield", total - 3, total)
    yields, tilt = _yields(client, ev, p)
    factors = finish_measures(ev, p, yields, tilt)
    report_step(progress, "排序与权重敏感性 / ranking and weight sensitivity", total - 2, total)
    result = rank_sites(ev, ctx, p, shared, n_runs=len(yields), tilt=tilt, factors=factors, params_file=params)
    report_step(progress, "完成 / done", total, total)
    return result


def _yields(client: Any, ev: SiteEvaluation, p: BrownfieldParams) -> tuple[pd.DataFrame, float | None]:
    """Specific yield at every distinct location of all sites, at the tilt of the whole set; on the cluster."""
    from ..siteengine import yield_tilt

    locations = distinct_locations([ev.locations])
    if not len(locations):
        return locations.assign(sy=np.nan), p.yield_.tilt_deg
    tilt = yield_tilt(locations, azimuth_deg=p.yield_.azimuth_deg, tilt_deg=p.yield_.tilt_deg)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    chunks_wanted = settings().yield_chunks_per_worker * n_workers  # data/performance.toml [dask]
    bounds = np.linspace(0, len(locations), min(len(locations), chunks_wanted) + 1).astype(int)
    chunks = [locations.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    got = run_partitions(client, _yields_task, chunks, tilt, p.yield_.azimuth_deg, label="yield")
    return pd.concat(got, ignore_index=True), tilt


def _repeat_warnings(partials: list[dict[str, Any]]) -> None:
    """The partitions' warnings, once each."""
    shown: set[str] = set()
    for q in partials:
        for category, message in q["warnings"]:
            if message not in shown:
                shown.add(message)
                warnings.warn(message, category, stacklevel=3)
