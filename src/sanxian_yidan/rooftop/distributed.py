"""Rooftop PV potential on the Dask engine: :func:`rooftop_potential` per partition, reduced on the client.

The per-building analysis is row-local once three whole-set quantities are fixed, so each partition runs
the in-memory :func:`~sanxian_yidan.rooftop.rooftop_potential` unchanged, with

* the yield site fixed for all partitions (the centre of the whole input's extent, computed first, or
  ``lon``/``lat`` as given), so every partition uses the same specific yield per orientation class;
* the catalog layers (exclusions, townships, coverage) read once on the client and broadcast to every
  worker;
* the rank over all buildings computed on the client from each partition's eligible rows (annual
  energy, capacity, input position: 24 bytes a building) and written back in a second pass,

and the township / county / category tables are sums of the partitions' partial tables (their ranks and
the total row recomputed after the sum).  Outputs, written all or nothing by the caller's staged folder:

* ``rooftops.parquet/`` — one GeoParquet file per partition (spatially sorted when the input was), the
  same columns as ``rooftops.gpkg``;
* ``rooftops.gpkg``, ``rooftops_by_township.csv``, ``rooftops_factors.csv`` — as
  :func:`~sanxian_yidan.rooftop.write_outputs` writes them (the GeoPackage is filled partition by
  partition, never from one frame of all buildings).

Rows come in partition order (spatial order), not in input order; every value, rank and aggregate is
that of the in-memory engine (sums to float tolerance: they are added in another order).
"""

from __future__ import annotations

import logging
import shutil
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..engine import (
    ROW,
    Engine,
    check_source,
    dask_client,
    global_rows,
    merge_repairs,
    read_partitions,
    resolve_engine,
    run_partitions,
    scan,
    sort_stage,
    spatial_sort,
)
from ..errors import EmptyLayerError, SanxianWarning, problem
from ..progress import Progress, report_step
from .output import PARQUET_NAME, for_pyogrio, write_outputs
from .result import AGGREGATE_SUMS, TOTAL, RooftopResult

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..solar import Weather
    from .params import RooftopParams

logger = logging.getLogger(__name__)

_PASS1 = "_pass1"
_SUMS = ("n_buildings", "n_included", *AGGREGATE_SUMS)
#: Steps reported besides one per partition and pass: reading, site, rank, GeoPackage, done.
_EXTRA_STEPS = 4


@dataclass
class PartitionedRooftopResult(RooftopResult):
    """Outcome of :func:`rooftop_potential_dask`: a :class:`~sanxian_yidan.rooftop.RooftopResult` whose
    tables, details, provenance and notes are those of the in-memory run, but whose ``buildings`` holds
    only the best-ranked buildings (``top`` of them): all buildings are in ``files["parquet"]`` (one
    GeoParquet file per partition) and ``files["gpkg"]``, written by the run.

    Attributes
    ----------
    files : dict
        ``gpkg``, ``csv``, ``factors`` and ``parquet`` (folder) paths as written.
    partitions : int
        Partitions the input was analysed in.
    """

    files: dict[str, Path] = field(default_factory=dict)
    partitions: int = 0

    def write_into(self, folder: Path) -> dict[str, Path]:
        """Copy the files the run wrote into ``folder`` (the buildings are not held in memory)."""
        out = {}
        for path in self.files.values():
            target = Path(folder) / path.name
            if path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                shutil.copy2(path, target)
            out[path.name] = target
        return out


@dataclass(frozen=True)
class _Context:
    """What every partition needs, broadcast to every worker once."""

    catalog: Catalog | None
    params: RooftopParams
    exclusions: Mapping[str, gpd.GeoDataFrame] | None
    townships: gpd.GeoDataFrame | None
    lon: float
    lat: float
    weather: Weather | str | Path | pd.DataFrame | None
    attrs: dict[str, Any]
    stage: str
    lengths: np.ndarray


def _empty_partial(index: int, n_input: int) -> dict[str, Any]:
    return {"index": index, "path": None, "rows": 0, "n_input": n_input}


def _analyse_partition(part: gpd.GeoDataFrame, index: int, ctx: _Context) -> dict[str, Any]:
    """Pass 1: the in-memory analysis on one partition; buildings to a staged file, partial tables back."""
    from . import rooftop_potential

    if len(part) == 0:
        return _empty_partial(index, 0)
    part = part.reset_index(drop=True)
    # Rows numbered as in the whole input: ties in the rank and the source feature ids (src_fid) of
    # repairs are those of the in-memory engine.
    part[ROW] = global_rows(part[ROW].to_numpy(), ctx.lengths)
    # Within a partition rows keep their input order (the partition itself is spatially compact): its
    # lists of feature ids (repairs) start, as the in-memory engine's, with the lowest.
    part = part.sort_values(ROW, kind="stable").reset_index(drop=True)
    if "src_fid" not in part.columns:
        part["src_fid"] = part[ROW].to_numpy()
    part.attrs = {"sanxian": dict(ctx.attrs)}
    try:
        with warnings.catch_warnings():
            # Per-partition warnings (e.g. buildings outside the coverage) are repeated once, with the
            # whole run's count, by the client.
            warnings.simplefilter("ignore", SanxianWarning)
            res = rooftop_potential(part, catalog=ctx.catalog, params=ctx.params, exclusions=ctx.exclusions,
                                    townships=ctx.townships, lon=ctx.lon, lat=ctx.lat, weather=ctx.weather)
    except EmptyLayerError:
        return _empty_partial(index, len(part))  # no usable footprint in this partition: others may have some
    b = res.buildings
    b.attrs = {}
    path = Path(ctx.stage) / _PASS1 / f"part.{index:05d}.parquet"
    b.to_parquet(path, index=False)
    eligible = b["rank"].to_numpy() > 0
    details = dict(res.details)
    details.pop("totals", None)
    return {"index": index, "path": str(path), "rows": len(b), "n_input": len(part),
            "keys": (b[ROW].to_numpy()[eligible], b["annual_kwh"].to_numpy()[eligible],
                     b["capacity_kwp"].to_numpy()[eligible]),
            "towns": res.townships.drop(columns="rank"),
            "counties": res.counties[res.counties["county"] != TOTAL].drop(columns="rank"),
            "categories": res.categories, "yield_classes": res.yield_classes, "details": details,
            "layers_used": res.layers_used}


def _finalise_partition(item: tuple[str, int], position: int, schema: Any, out_dir: str,
                        ranked: tuple[np.ndarray, np.ndarray]) -> str:
    """Pass 2: set the global rank of one partition's buildings and write its final GeoParquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (path, index), (rows, ranks) = item, ranked
    del position  # the partition's own index (item) names its file

    table = pq.read_table(path)
    row_ids = table.column(ROW).to_numpy()
    rank = np.zeros(len(row_ids), dtype=np.int64)
    rank[pd.Index(row_ids).get_indexer(rows)] = ranks
    table = table.set_column(table.schema.get_field_index("rank"), "rank", pa.array(rank))
    table = table.drop_columns([ROW])
    table = table.cast(schema.with_metadata(table.schema.metadata))
    target = Path(out_dir) / f"part.{index:05d}.parquet"
    pq.write_table(table, target)
    Path(path).unlink()
    return str(target)


def _site_bounds(working_crs: Any) -> Any:
    """Per partition: bounds in the working CRS of its footprints with area > 0 (for the yield site)."""

    def bounds(part: gpd.GeoDataFrame) -> list[float]:
        import shapely

        g = np.asarray(part.geometry.to_crs(working_crs).array) if len(part) else np.empty(0, dtype=object)
        g = g[~shapely.is_missing(g)]
        g = g[shapely.area(g) > 0]
        return shapely.total_bounds(g).tolist() if len(g) else [np.nan] * 4

    return bounds


def _site(extras: np.ndarray, working_crs: Any) -> tuple[float, float] | None:
    """The yield site of the whole input: centre of the extent of its footprints with area > 0, as
    :func:`rooftop_potential` computes it (``None``: no such footprint)."""
    from .steps import yield_site

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        extent = np.r_[np.nanmin(extras[:, :2], axis=0), np.nanmax(extras[:, 2:], axis=0)]
    if not np.isfinite(extent).all():
        return None
    return yield_site(gpd.GeoDataFrame(geometry=[], crs=working_crs), None, None, extent)


def _global_rank(used: list[dict[str, Any]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Rank over all partitions, as :func:`rooftop_potential` ranks one frame: annual energy, then capacity
    (both descending), then input position; returns partition index -> (row ids, ranks)."""
    rows, kwh, cap = (np.concatenate([p["keys"][k] for p in used]) for k in range(3))
    owner = np.repeat([p["index"] for p in used], [len(p["keys"][0]) for p in used])
    order = np.lexsort((rows, -cap, -kwh))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return {p["index"]: (rows[owner == p["index"]], rank[owner == p["index"]]) for p in used}


def _no_footprint(n_features: int) -> EmptyLayerError:
    return EmptyLayerError(problem("没有可用的建筑轮廓。",
                                   f"No usable building footprint among {n_features} feature(s) (all empty or "
                                   "zero-area).", fix="check the footprint layer (polygons with area > 0)"))


def _reduce_group(frames: list[pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """Sum partial group tables (``_SUMS``; ``synthetic`` = any), keys sorted as the in-memory tables."""
    grouped = pd.concat(frames, ignore_index=True).groupby(by, sort=False)
    agg = grouped[list(_SUMS)].sum()
    agg["synthetic"] = grouped["synthetic"].any()
    agg = agg.reset_index()
    for key in by:
        agg[key] = agg[key].astype(object).astype(str)
    return agg.sort_values(by, kind="stable").reset_index(drop=True)


def _reduce_tables(used: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    towns = _reduce_group([p["towns"] for p in used], ["county", "township"])
    towns["rank"] = towns["capacity_kwp"].rank(ascending=False, method="first").astype(np.int64)
    counties = _reduce_group([p["counties"] for p in used], ["county"])
    counties["rank"] = counties["capacity_kwp"].rank(ascending=False, method="first").astype(np.int64)
    total = pd.DataFrame({"county": [TOTAL], **{c: [counties[c].sum()] for c in _SUMS},
                          "synthetic": [bool(counties["synthetic"].any())], "rank": [0]})
    counties = pd.concat([counties, total.astype(counties.dtypes.to_dict())], ignore_index=True)
    cats = _reduce_group([p["categories"] for p in used], ["county", "use_category"])
    labels = pd.concat([p["categories"] for p in used]).drop_duplicates("use_category").set_index("use_category")
    cats["pilot_share"] = cats["use_category"].map(labels["pilot_share"])
    cats["category_zh"] = cats["use_category"].map(labels["category_zh"])
    return towns, counties, cats[list(used[0]["categories"].columns)]


def _sum_counts(maps: list[Mapping[str, int]]) -> dict[str, int]:
    """Counts of several partitions added key by key (keys in order of first appearance, zeros kept)."""
    out: Counter[str] = Counter()
    for counts in maps:
        out.update(counts)
    return {k: int(v) for k, v in out.items()}


def _reduce_details(partials: list[dict[str, Any]], used: list[dict[str, Any]], classes: pd.DataFrame,
                    counties: pd.DataFrame) -> dict[str, Any]:
    """The run details of the whole input: counts summed, value counts merged, provenance united."""
    s = dict(used[0]["details"])
    n_input = sum(p["n_input"] for p in partials)
    s["input_features"] = n_input
    for key in ("buildings", "invalid_repaired", "included", "use_defaulted", "use_missing", "use_unmapped",
                "roof_defaulted"):
        s[key] = sum(int(p["details"][key]) for p in used)
    s["dropped_empty_or_zero_area"] = n_input - s["buildings"]
    # The ids listed are the lowest of all partitions; the detail text is the first partition's.
    s["excluded"] = _sum_counts([p["details"]["excluded"] for p in used])
    s["repairs"] = merge_repairs([p["details"]["repairs"] for p in used])
    for key in ("use_unmapped_values", "roof_unmapped_values"):
        counts = _sum_counts([p["details"][key] for p in used])
        s[key] = dict(sorted(sorted(counts.items()), key=lambda kv: -kv[1]))  # most frequent first, then by name
    s["yield_classes"] = len(classes)
    s["synthetic_layers"] = sorted({layer for p in used for layer in p["details"]["synthetic_layers"]})
    s["synthetic"] = any(p["details"]["synthetic"] for p in used)
    s["totals"] = {k: float(counties.loc[counties["county"] == TOTAL, k].iloc[0])
                   for k in ("capacity_kwp", "policy_target_kwp", "gap_kwp", "annual_kwh", "co2_t")}
    return s


def _unified_schema(paths: list[str]) -> Any:
    """One Arrow schema for every partition file (a column all-null in one partition takes the others' type)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    unified = pa.unify_schemas([pq.read_schema(p).remove_metadata() for p in paths], promote_options="permissive")
    return unified.remove(unified.get_field_index(ROW))


def _write_gpkg(parts: list[str], reduced: RooftopResult, stage: Path, spatial_index: bool) -> dict[str, Path]:
    """``rooftops.gpkg`` and the CSVs: the first partition through :func:`write_outputs`, then the others
    appended one at a time (never all buildings in memory)."""
    import pyogrio

    from ..io.gpkg import write_settings
    from ..io.vector import has_pyarrow

    first = gpd.read_parquet(parts[0])
    paths = write_outputs(dc_replace(reduced, buildings=first), stage, spatial_index=spatial_index, factors_csv=True)
    # write_outputs drops per-layer provenance columns holding few values and use_value; the appended
    # partitions must match its columns.
    written = set(pyogrio.read_info(paths["gpkg"], layer="rooftops")["fields"])
    use_arrow = has_pyarrow()
    with write_settings():
        for path in parts[1:]:
            frame = gpd.read_parquet(path)
            frame = frame[[c for c in frame.columns if c in written or c == frame.geometry.name]]
            frame = for_pyogrio(frame, use_arrow)
            pyogrio.write_dataframe(frame, paths["gpkg"], layer="rooftops", driver="GPKG", append=True,
                                    use_arrow=use_arrow)
    return paths


def rooftop_potential_dask(buildings: Any, out: str | Path, *, catalog: Catalog | str | Path | None = None,
                           params: RooftopParams | str | Path | Mapping[str, Any] | None = None,
                           exclusions: Mapping[str, gpd.GeoDataFrame] | None = None,
                           townships: gpd.GeoDataFrame | None = None, lon: float | None = None,
                           lat: float | None = None, weather: Weather | str | Path | pd.DataFrame | None = None,
                           engine: Engine | str | None = "dask",
                           layer: str | None = None, crs: str | None = None, spatial_index: bool = True,
                           top: int = 100, client: Any = None, progress: Progress | None = None,
                           announce: Any = None) -> PartitionedRooftopResult:
    """Rooftop PV potential of a large footprint layer, partitioned on a Dask cluster.

    Same analysis, parameters and outputs as :func:`~sanxian_yidan.rooftop.rooftop_potential` followed by
    :func:`~sanxian_yidan.rooftop.write_outputs` (``factors_csv=True``), plus ``rooftops.parquet/``.

    Parameters
    ----------
    buildings : path or GeoDataFrame
        GeoParquet file or folder, a vector file (read in chunks), a GeoDataFrame or a dask-geopandas
        frame (see :func:`sanxian_yidan.engine.read_partitions`).
    out : str or Path
        Folder the outputs are written into; it must be reachable by the workers under the same path
        (a shared file system on a cluster).  Callers wanting all-or-nothing outputs pass a staged
        folder (:func:`sanxian_yidan.outputs.staged_output`), as ``sanxian rooftops`` does.
    catalog, params, exclusions, townships, lon, lat, weather
        As for :func:`~sanxian_yidan.rooftop.rooftop_potential`.
    engine : Engine or str
        Scheduler address, local workers and memory limit, rows per partition, spatial sort.
    layer, crs : str, optional
        Layer of a multi-layer file; CRS of an input that has none.
    spatial_index : bool
        Build the GeoPackage's R-tree index.
    top : int
        Best-ranked buildings kept in memory in the result (``top``).
    client : distributed.Client, optional
        Use this client instead of connecting per ``engine``.
    progress : callable, optional
        ``progress(label, done, total)``: one step per partition and pass, plus reading, the site, the
        rank and the GeoPackage.
    announce : callable, optional
        Called with the cluster and its dashboard link.

    Returns
    -------
    PartitionedRooftopResult

    Raises
    ------
    EmptyLayerError
        No building with a usable footprint in the whole input.
    EngineError
        Dask missing, scheduler unreachable, a worker died too often: nothing is returned.
    """
    from . import load_catalog as _load_catalog
    from . import resolve_rooftop_params as _resolve_params
    from .steps import default_working_crs as _default_crs

    eng = resolve_engine(engine)
    if client is None:
        check_source(buildings)  # a mistyped path or catalog is reported before a cluster starts
        catalog = _load_catalog(catalog)
        with dask_client(eng, announce=announce) as own:
            return rooftop_potential_dask(buildings, out, catalog=catalog, params=params, exclusions=exclusions,
                                          townships=townships, lon=lon, lat=lat, weather=weather, engine=eng,
                                          layer=layer, crs=crs, spatial_index=spatial_index, top=top,
                                          client=own, progress=progress)
    p = _resolve_params(params)
    cat = _load_catalog(catalog)
    working_crs = cat.working_crs if cat is not None else _default_crs()
    if cat is not None:
        _preload(cat, p)
    out = Path(out)
    (out / _PASS1).mkdir(parents=True, exist_ok=True)
    (out / PARQUET_NAME).mkdir(parents=True, exist_ok=True)
    report_step(progress, "read", 0, 1)
    ddf = read_partitions(buildings, eng, layer=layer, crs=crs)
    report_step(progress, "scan 扫描", 1, 2)
    found = scan(ddf, _site_bounds(working_crs), 4)
    site, lengths = _site(found.extras, working_crs), found.lengths
    if site is None:
        raise _no_footprint(int(lengths.sum()))
    if lon is None or lat is None:
        lon, lat = site
    attrs = dict(getattr(buildings, "attrs", {}).get("sanxian", {})) if isinstance(buildings, gpd.GeoDataFrame) \
        else ({"source_path": str(buildings), "layer": layer} if isinstance(buildings, (str, Path)) else {})
    ctx = _Context(cat, p, exclusions, townships, float(lon), float(lat), weather, attrs, str(out), lengths)
    # The spatial sort's bucket files live in the output folder (reachable by every worker) until pass 1 has
    # read them; removed then, and on any failure.
    with sort_stage(client, out) as stage:
        ddf_sorted = spatial_sort(ddf, eng, found, stage=stage, client=client, progress=progress)
        n_parts = ddf_sorted.npartitions
        total = 2 * n_parts + _EXTRA_STEPS
        [shared] = client.scatter([ctx], broadcast=True)
        partials = run_partitions(client, _analyse_partition, ddf_sorted.to_delayed(), shared, progress=progress,
                                  label="partitions 分区分析", offset=2, total=total)
    used = [q for q in partials if q["path"] is not None]
    if not used:
        raise _no_footprint(sum(q["n_input"] for q in partials))
    report_step(progress, "rank 全局排序", 2 + n_parts, total)
    ranks = _global_rank(used)
    schema = _unified_schema([q["path"] for q in used])
    # Pass 2 on the cluster: one task per partition with its own row ids and ranks.
    parts = run_partitions(client, _finalise_partition, [(q["path"], q["index"]) for q in used], schema,
                           str(out / PARQUET_NAME), progress=progress, label="rank 写排序", offset=3 + n_parts,
                           total=total, per_partition=[ranks[q["index"]] for q in used])
    shutil.rmtree(out / _PASS1, ignore_errors=True)
    towns, counties, cats = _reduce_tables(used)
    classes = (pd.concat([q["yield_classes"] for q in used], ignore_index=True)
               .drop_duplicates(["tilt_class_deg", "azimuth_deg"]).sort_values(["tilt_class_deg", "azimuth_deg"])
               .reset_index(drop=True))
    classes.attrs = used[0]["yield_classes"].attrs
    details = _reduce_details(partials, used, classes, counties)
    outside = details["excluded"].get("outside_coverage", 0)
    if outside:
        warnings.warn(f"{outside} 栋建筑在图层目录的数据范围（行政区界）之外，排除图层无法核查，不计入潜力 / "
                      f"{outside} building(s) lie outside the catalog's data coverage (its admin_boundary): their "
                      "exclusion layers are unknown, so they are excluded (excluded_reason = outside_coverage)",
                      SanxianWarning, stacklevel=2)
    layers = list(dict.fromkeys(layer for q in used for layer in q["layers_used"]))
    reduced = RooftopResult(gpd.GeoDataFrame(), towns, counties, cats, classes, details, params=p, layers_used=layers)
    report_step(progress, "gpkg 写出", total - 1, total)
    files = _write_gpkg(parts, reduced, out, spatial_index)
    files["parquet"] = out / PARQUET_NAME
    best = _top(parts, top)
    report_step(progress, "done", total, total)
    return PartitionedRooftopResult(best, towns, counties, cats, classes, details, params=p, layers_used=layers,
                                    files=files, partitions=n_parts)


def _top(parts: list[str], n: int) -> gpd.GeoDataFrame:
    """The ``n`` best-ranked buildings, read from the partition files with a filter on ``rank``."""
    frames = [gpd.read_parquet(p, filters=[("rank", ">", 0), ("rank", "<=", n)]) for p in parts]
    return pd.concat(frames, ignore_index=True).sort_values("rank").reset_index(drop=True)


def _preload(cat: Catalog, p: RooftopParams) -> None:
    """Read the catalog layers every partition uses now, so that they travel (cached) with the catalog."""
    for role in (*p.exclusions.roles, "township", "admin_boundary"):
        if cat.has(role):
            cat.read(role)
    if cat.has("admin_boundary"):
        cat.unrestricted().coverage()
