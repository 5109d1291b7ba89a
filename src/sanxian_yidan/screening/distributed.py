"""Screening on the Dask engine: :func:`~sanxian_yidan.screening.run` per partition of the projects.

A project's verdict depends on the project and the zoning layers only, so each partition of the projects is
screened by the in-memory :func:`~sanxian_yidan.screening.run` unchanged, on a worker that holds the catalog
with every layer already read (broadcast to each worker once; each partition builds its own spatial
indexes over them, a few milliseconds for 50,000 control units).  What depends on the whole set is done on
the client:

* project ids: a project without one gets ``P<input row + 1>`` as in the in-memory engine (the partition is
  given the global row numbers), and ids repeated across partitions are refused with the same error;
* the tables are concatenated and put back in input order (projects; their findings, overlaps, distances and
  slivers grouped by project in the same order);
* warnings are repeated once; the "every project far outside the coverage" warning only when every
  partition gave it (it is about the whole set).

The projects are spatially sorted first (:func:`~sanxian_yidan.engine.spatial_sort`) through bucket files in
the staging folder of :func:`~sanxian_yidan.engine.sort_stage`: inside ``staging`` (the CLI passes its output
folder, which a cluster's workers see) or, without it, a temporary folder when the scheduler and every worker
run on this machine; removed when the partitions are screened (also on failure).  On a remote cluster
without ``staging`` no folder is shared and Dask's P2P shuffle is used.

One difference remains: the check for a wrong CRS runs per partition, so a spatially sorted partition whose
projects *all* lie far outside the coverage is checked on its own (the in-memory engine checks it only when
every project does).  With a wrong CRS this fails the run early, as the in-memory engine would.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
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
from ..errors import InputFileError, problem
from ..progress import Progress, report_step
from . import run, screening_settings
from .result import ScreeningResult

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..rules import RuleSet

#: Text of the coverage warning that concerns the whole project set (see module notes).
_FAR_OUTSIDE = "Every project lies outside the coverage"
_TABLES = ("overlaps", "findings", "distances", "slivers")


@dataclass(frozen=True)
class _Context:
    catalog: Catalog
    params: dict[str, Any]
    lengths: np.ndarray
    id_column: str | None


def _with_ids(part: gpd.GeoDataFrame, position: np.ndarray, id_column: str | None) -> gpd.GeoDataFrame:
    """Fill missing ids with ``P<global row + 1>`` (the in-memory engine's default, by input row)."""
    default = np.array([f"P{r + 1}" for r in position], dtype=object)
    if id_column is None:
        return part.assign(id=default)
    values = part[id_column]
    blank = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
    if blank.any():
        part = part.copy()
        part[id_column] = np.where(blank, default, values.astype(object).to_numpy())
    return part


def _screen_partition(part: gpd.GeoDataFrame, index: int, ctx: _Context) -> dict[str, Any]:
    """Screen one partition; return its result, its projects' input positions and the warnings raised."""
    if len(part) == 0:
        return {"index": index, "result": None, "position": np.empty(0, dtype=np.int64), "warnings": []}
    part = part.copy()
    part[ROW] = global_rows(part[ROW].to_numpy(), ctx.lengths)
    part = part.sort_values(ROW, kind="stable").reset_index(drop=True)
    position = part[ROW].to_numpy()
    part = _with_ids(part.drop(columns=[ROW]), position, ctx.id_column)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(ctx.catalog, part, ctx.params)
    seen = [(w.category, str(w.message)) for w in caught]
    return {"index": index, "result": result, "position": position, "warnings": seen}


def _ordered(frames: list[pd.DataFrame], order_of: dict[str, int], role_rank: dict[str, int] | None) -> pd.DataFrame:
    """Concatenate per-partition tables and sort them as the in-memory tables are: by role (when
    ``role_rank`` is given) then by the project's input position; rows of one project keep their order."""
    table = pd.concat(frames, ignore_index=True)
    pos = table["project_id"].astype(str).map(order_of).to_numpy()
    keys = (pos,) if role_rank is None else (pos, table["role"].map(role_rank).to_numpy())
    out = table.take(np.lexsort(keys)).reset_index(drop=True)
    if isinstance(frames[0], gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=frames[0].crs)
    return out


def _role_order(table: str, ruleset: RuleSet) -> dict[str, int] | None:
    """How the in-memory tables order roles: overlaps alphabetically, slivers with the coverage roles first
    (the order the layers are read in); findings and distances by project only."""
    from ..roles import role_vocabulary
    from .coverage import coverage_rules

    roles = sorted(role_vocabulary())
    if table == "overlaps":
        return {r: i for i, r in enumerate(roles)}
    if table == "slivers":
        cov = {r.role for r in coverage_rules(ruleset)}
        return {r: i for i, r in enumerate(sorted(roles, key=lambda r: r not in cov))}
    return None


def _check_unique(ids: pd.Series, source: str) -> None:
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        repeated = sorted(set(ids[dup].tolist()))[:10]
        raise InputFileError(problem("项目编号重复。", f"Project ids must be unique; repeated: {repeated}.",
                                     file=None if source.startswith("<") else source,
                                     fix="give every project its own id (or leave the id empty: P<row> is used)"))


def screen_dask(projects: Any, catalog: Catalog | str | Path, rules: RuleSet | str | Path | None = None, *,
                industry: str | None = None, project_type: str | None = None, radius_m: float | None = None,
                sliver_m2: float | None = None, crs: Any = None, layer: str | None = None,
                engine: Engine | str | None = "dask", client: Any = None, progress: Progress | None = None,
                announce: Any = None, staging: str | Path | None = None) -> ScreeningResult:
    """Screen a large project set partitioned on a Dask cluster; same result as :func:`~sanxian_yidan.screen`.

    Parameters
    ----------
    projects : path or GeoDataFrame
        GeoParquet file or folder, a vector file pyogrio reads (in chunks), a GeoDataFrame or a dask-geopandas
        frame.  Other formats (coordinate tables, land-boundary TXT, KML ...) are read first with
        :func:`~sanxian_yidan.screening.read_projects` and passed as a GeoDataFrame.
    catalog : Catalog or path
        Layer catalog; its layers are read once here and broadcast to every worker.
    rules, industry, project_type, radius_m, sliver_m2, crs, layer
        As for :func:`~sanxian_yidan.screen`.
    engine : Engine or str
        Scheduler address or local workers, memory limit, rows per partition, spatial sort.
    client : distributed.Client, optional
        Use this client instead of connecting per ``engine``.
    progress : callable, optional
        ``progress(label, done, total)``: reading, one step per partition, assembling.
    announce : callable, optional
        Called with the cluster and its dashboard link.
    staging : str or Path, optional
        A folder every worker sees under the same path (e.g. the output folder): the spatial sort's files
        go in its ``_sort`` sub-folder, removed at the end (:func:`~sanxian_yidan.engine.sort_stage`).

    Returns
    -------
    ScreeningResult
        The tables in input order, as :func:`~sanxian_yidan.screen` returns them.

    Raises
    ------
    EngineError
        Dask missing, scheduler unreachable, a worker died too often.
    InputFileError, CRSError, DataFileError
        As :func:`~sanxian_yidan.screen` (raised inside a partition, or on the client for repeated ids).
    """
    from ..catalog import Catalog
    from ..roles import role_vocabulary
    from ..rules import RuleSet, load_rules

    eng = resolve_engine(engine)
    if client is None:
        check_source(projects)  # a mistyped path or catalog is reported before a cluster starts
        catalog = catalog if isinstance(catalog, Catalog) else Catalog.load(catalog)
        with dask_client(eng, announce=announce) as own:
            return screen_dask(projects, catalog, rules, industry=industry, project_type=project_type,
                               radius_m=radius_m, sliver_m2=sliver_m2, crs=crs, layer=layer, engine=eng,
                               client=own, progress=progress, staging=staging)
    cat = catalog if isinstance(catalog, Catalog) else Catalog.load(catalog)
    vocab = role_vocabulary()
    for role in sorted(cat.roles):
        if role in vocab and not vocab[role].is_raster:
            cat.read(role)
    if cat.region is not None:
        cat.unrestricted().coverage()
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    params = {"rules": ruleset, "industry": industry, "project_type": project_type, "radius_m": radius_m,
              "sliver_m2": sliver_m2, "crs": crs, "layer": layer}
    report_step(progress, "读取项目 / reading projects", 0, 2)
    ddf = read_partitions(projects, eng, layer=layer, crs=None, require_crs=False)
    found = scan(ddf)
    from .inputs import find_column

    id_column = find_column(ddf._meta, screening_settings().columns["id"])
    ctx = _Context(cat, params, found.lengths, id_column)
    with sort_stage(client, staging) as stage:
        parts = spatial_sort(ddf, eng, found, stage=stage, client=client, progress=progress)
        [shared] = client.scatter([ctx], broadcast=True)
        total = parts.npartitions + 2
        partials = run_partitions(client, _screen_partition, parts.to_delayed(), shared, progress=progress,
                                  label="研判分区 / screening partitions", offset=1, total=total)
    report_step(progress, "汇总 / assembling", total - 1, total)
    done = [q for q in partials if q["result"] is not None]
    results: list[ScreeningResult] = [q["result"] for q in done]
    order = np.argsort(np.concatenate([q["position"] for q in done]), kind="stable")
    projects_out = pd.concat([r.projects for r in results], ignore_index=True).take(order).reset_index(drop=True)
    projects_out = gpd.GeoDataFrame(projects_out, geometry=results[0].projects.geometry.name,
                                    crs=results[0].projects.crs)
    source = str(projects) if isinstance(projects, (str, Path)) else "<GeoDataFrame>"
    _check_unique(projects_out["project_id"].astype(str), source)
    order_of = dict(zip(projects_out["project_id"].astype(str), range(len(projects_out))))
    tables = {name: _ordered([getattr(r, name) for r in results], order_of, _role_order(name, ruleset))
              for name in _TABLES}
    _repeat_warnings(done)
    first = results[0]
    parameters = dict(first.parameters)
    # The partitions lost the input's file name and stated CRS (frame attributes): the run's are recorded.
    meta = dict(getattr(projects, "attrs", {}).get("sanxian", {})) if isinstance(projects, gpd.GeoDataFrame) else {}
    path = Path(projects) if isinstance(projects, (str, Path)) else meta.get("source_path")
    if path:
        from ..provenance import display_path

        parameters["projects"] = display_path(path)
    stated = crs if crs is not None else meta.get("crs_stated")
    if stated is not None:
        parameters["crs"] = str(stated)
    report_step(progress, "完成 / done", total, total)
    return replace(first, projects=projects_out, parameters=parameters,
                   repairs=merge_repairs([res.repairs for res in results]), **tables)


def _repeat_warnings(partials: list[dict[str, Any]]) -> None:
    """Warnings of the partitions, once each; the whole-set coverage warning only if every partition gave it."""
    far = [q for q in partials if any(_FAR_OUTSIDE in m for _, m in q["warnings"])]
    shown: set[str] = set()
    for q in partials:
        for category, message in q["warnings"]:
            if message in shown or (_FAR_OUTSIDE in message and (len(far) < len(partials) or shown & {_FAR_OUTSIDE})):
                continue
            shown |= {message} | ({_FAR_OUTSIDE} if _FAR_OUTSIDE in message else set())
            warnings.warn(message, category, stacklevel=3)
