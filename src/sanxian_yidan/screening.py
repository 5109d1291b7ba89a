"""Screen proposed projects against the "three lines, one list" zoning (环境准入研判).

``screen(projects, catalog)`` answers a planner's first question about a proposed project: where does it
fall, which rules apply to it, and what is the verdict?  For every project it reports

* the environmental control units it overlaps (code, name, category, overlap area, share of the project)
  and the four-part access list (准入清单) of each;
* its overlaps with the ecological red line, ecological function areas, permanent basic farmland,
  drinking-water source zones (by level), nature reserves and the other polygon roles a rule tests;
* its distance to rivers, reservoirs, built-up areas and every role a distance rule needs;
* every rule finding with the rule id, severity and source, and the verdict (the most severe finding).

How it is computed (vectorised; no per-project loop over layers)
----------------------------------------------------------------
1. Projects are read with :func:`~sanxian_yidan.io.read_vector`, normalised into the catalog's working CRS
   (EPSG:4547, metres) and turned into footprints: polygons as drawn, points buffered by ``radius_m``,
   lines buffered by ``radius_m`` on each side.
2. For each polygon role needed, one bulk ``STRtree`` query with ``predicate="intersects"`` gives all
   (project, feature) pairs — the features' tree queried with the footprints, or, for layers of few large
   features (a county, red-line patches), the footprints' tree queried with each (prepared) feature, in the
   same pair order; ``shapely.intersection``/``area`` on the pair arrays give the overlap pieces, except for
   footprints lying within their feature, which are their own piece.
3. For each distance role, one bulk ``query(..., predicate="dwithin")`` (rules) or ``query_nearest``
   (report) gives the distances.
4. Each rule is evaluated at once for all the projects it applies to (or may apply to), with numpy on these
   arrays; per-project results are aggregated with ``bincount``; the applicability of a rule is decided once
   per distinct (industry, project type).  Finding rows are built column-wise per rule, and only their
   message texts are formatted row by row.
5. The bulk GEOS calls (query, intersection, difference, distance) are split into chunks on threads — GEOS
   releases Python's GIL — one chunk per core by default (``data/screening.toml`` [performance]).  Chunks
   never split one project's pairs, and the results do not depend on the number of threads.

The only Python loops over projects format text (messages, JSON records) after the geometry work;
``benchmarks/screening.py`` measures the whole against ``geopandas.overlay`` and a bare STRtree +
intersection floor.

Decisions on edge cases
-----------------------
* A footprint that only touches a feature's boundary (intersection of zero area) does **not** overlap it.
* An overlap piece whose area is below ``sliver_m2`` or whose mean width (area / half perimeter) is below
  ``sliver_width_m`` is a **sliver**: it is listed under ``notes`` (and as a ``note`` finding for a rule it
  would have triggered), never as an overlap.  Defaults in ``data/screening.toml``.
* The catalog's coverage is the union of its ``admin_boundary`` layer.  A project partly or wholly outside
  it gets the ``COV-01`` finding and, unless a more severe finding exists, the verdict
  ``outside_coverage`` — never a silent pass.
* A project crossing county lines lists every county it overlaps (with area and share).
* A rule whose role the catalog lacks, or whose ``where`` field the layer lacks, is reported for every
  project it applies to as ``not_evaluated`` with the reason ("layer missing"); the project's ``complete``
  flag is then false.  The same holds when a rule's spatial test fires but the project's industry or type
  is unknown, so that it cannot be said whether the rule applies.
* An empty or degenerate project geometry is an error naming the feature.
* Project files without a CRS are refused unless the CRS is stated (``crs=``): the coordinates of a
  Suizhou project could be WGS84, CGCS2000 or GCJ-02 (Amap) — 600 m apart — and a screening verdict must not
  rest on a guess.  ``crs="GCJ-02"`` / ``"BD-09"`` convert web-map coordinates.

Areas are planar in the working CRS.  Gauss-Kruger areas near the central meridian 114°E differ from
geodesic areas by less than 0.04 % over Suizhou (scale factor 1 + y²/2R², y ≤ 125 km); the tests check
this against ``pyproj.Geod``.

References
----------
.. [1] Issue "Screen proposed projects against the three lines, one list zoning"; ``docs/screening_schema.md``.
.. [2] ``data/rules.toml`` (rule sources), ``data/screening.toml`` (settings with rationale).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import crs as crsmod
from .catalog import Catalog, LayerEntry, role_vocabulary
from .columns import label
from .datafiles import load_toml, packaged_path, require
from .errors import (
    CRSError,
    DataFileError,
    EmptyLayerError,
    InputFileError,
    problem,
)
from .geomutil import nearest_features, polygonal_parts
from .industries import check_project_type, lookup, project_types, type_for_industry
from .io.gpkg import write_settings
from .io.vector import WEB_MAP_CRS, read_vector
from .normalize import normalise
from .parallel import chunk_bounds, chunked, resolve_threads
from .progress import Progress, report_step
from .rules import (
    PROJECT_ROLE,
    SEVERITY_EN,
    SEVERITY_ZH,
    VERDICT_EN,
    VERDICT_RANK,
    VERDICT_ZH,
    VERDICTS,
    Condition,
    Rule,
    RuleSet,
    load_rules,
)

__all__ = [
    "SCHEMA_VERSION",
    "ProgressCallback",
    "ScreeningResult",
    "ScreeningSettings",
    "overlay_pieces",
    "screen",
    "screening_settings",
]

logger = logging.getLogger(__name__)

#: Version of the JSON output schema (docs/screening_schema.md).
SCHEMA_VERSION = 1
#: Residual areas below this are floating-point noise of the overlay, not land outside a layer [m²].
_NOISE_M2 = 1e-3
#: How many feature names a finding lists before it only counts them.
_MAX_NAMES = 5
#: Canonical attributes of the access list (准入清单) of a control unit, in report order.
ACCESS_LIST_FIELDS = ("list_space", "list_pollution", "list_risk", "list_resource")
#: Attributes copied from overlapped features into the overlap table (when the layer has them).
_FEATURE_FIELDS = ("code", "name", "category", "level", "county")

#: The callback type of ``screen(progress=...)``: an alias of :data:`sanxian_yidan.progress.Progress`.
#: Changed in this version: it receives ``(label, steps_done, steps_total)``, no longer ``(label, fraction)``.
ProgressCallback = Progress


# ================================================================================================ settings
@dataclass(frozen=True)
class ScreeningSettings:
    """Settings of the screening engine (``data/screening.toml``; see the sources there).

    Attributes
    ----------
    default_radius_m : float
        Footprint radius of point projects and half-width of line projects [m].
    quad_segs : int
        Segments per quarter circle of buffered points.
    sliver_m2 : float
        Overlap pieces below this area are slivers [m²].
    sliver_width_m : float
        Overlap pieces whose mean width (area / half perimeter) is below this are slivers [m].
    overlap_roles, distance_roles : tuple of str
        Roles always reported in the overlap and distance tables.
    search_m : float
        Nearest features farther than this are not reported [m].
    threads : int
        Threads for the bulk GEOS calls (resolved: >= 1).
    min_parallel_pairs : int
        Smallest number of pairs worth splitting over threads.
    columns : dict
        Recognised column names of project files per attribute (``id``, ``name``, ``industry``,
        ``project_type``).
    sources : dict
        Source/rationale text per table.
    """

    default_radius_m: float
    quad_segs: int
    sliver_m2: float
    sliver_width_m: float
    overlap_roles: tuple[str, ...]
    distance_roles: tuple[str, ...]
    search_m: float
    columns: Mapping[str, tuple[str, ...]]
    sources: Mapping[str, str]
    threads: int = 1
    min_parallel_pairs: int = 5000


@lru_cache(maxsize=4)
def screening_settings(path: str | None = None) -> ScreeningSettings:
    """Load and validate the screening settings (packaged ``screening.toml`` by default).

    Raises
    ------
    DataFileError
        Naming the file and key of any missing or invalid value.
    """
    file = Path(path) if path else packaged_path("screening.toml")
    doc = load_toml(file)
    problems: list[str] = []

    def table(name: str) -> dict[str, Any]:
        value = require(doc, name, dict, file=file, where="top level")
        require(value, "source", str, file=file, where=f"[{name}]")
        return value

    foot, sliver, overlap, dist, cols, perf = (table(n) for n in ("footprint", "sliver", "overlap", "distance",
                                                                  "columns", "performance"))
    threads = require(perf, "threads", int, file=file, where="[performance]")
    min_pairs = require(perf, "min_parallel_pairs", int, file=file, where="[performance]")
    if threads < 0 or min_pairs < 1:
        problems.append(f"performance.threads must be >= 0 (0 = auto) and min_parallel_pairs >= 1, got "
                        f"{threads}, {min_pairs}")
    numbers = {
        "footprint.default_radius_m": require(foot, "default_radius_m", (int, float), file=file, where="[footprint]"),
        "sliver.area_m2": require(sliver, "area_m2", (int, float), file=file, where="[sliver]"),
        "sliver.width_m": require(sliver, "width_m", (int, float), file=file, where="[sliver]"),
        "distance.search_m": require(dist, "search_m", (int, float), file=file, where="[distance]"),
    }
    for key, value in numbers.items():
        if not math.isfinite(value) or value < 0 or (key != "sliver.width_m" and key != "sliver.area_m2" and value == 0):
            problems.append(f"{key} must be a positive number, got {value!r}")
    quad = require(foot, "quad_segs", int, file=file, where="[footprint]")
    if quad < 1:
        problems.append(f"footprint.quad_segs must be >= 1, got {quad}")
    vocab = role_vocabulary()
    roles = {}
    for name, tab in (("overlap", overlap), ("distance", dist)):
        items = require(tab, "report_roles", list, file=file, where=f"[{name}]")
        bad = [r for r in items if r not in vocab]
        if bad:
            problems.append(f"{name}.report_roles: unknown role(s) {bad}; allowed: {sorted(vocab)}")
        roles[name] = tuple(r for r in items if r in vocab)
    columns = {}
    for key in ("id", "name", "industry", "project_type"):
        items = require(cols, key, list, file=file, where="[columns]")
        columns[key] = tuple(str(v) for v in items)
    if problems:
        raise DataFileError(problem("筛查设置文件有错误。", "Invalid screening settings:\n  - " + "\n  - ".join(problems),
                                    file=file, fix="correct the values listed"))
    return ScreeningSettings(
        default_radius_m=float(numbers["footprint.default_radius_m"]), quad_segs=quad,
        sliver_m2=float(numbers["sliver.area_m2"]), sliver_width_m=float(numbers["sliver.width_m"]),
        overlap_roles=roles["overlap"], distance_roles=roles["distance"], search_m=float(numbers["distance.search_m"]),
        columns=columns, threads=resolve_threads(threads), min_parallel_pairs=min_pairs,
        sources={n: doc[n]["source"] for n in ("footprint", "sliver", "overlap", "distance", "columns",
                                              "performance")})


# ================================================================================================== result
@dataclass(frozen=True)
class LayerUse:
    """A catalog layer used by a screening run (for provenance and the synthetic-data banner)."""

    role: str
    layer_id: str
    title_zh: str
    title_en: str
    synthetic: bool
    source: str


@dataclass
class ScreeningResult:
    """Everything a screening run produced.

    Attributes
    ----------
    projects : geopandas.GeoDataFrame
        One row per project (footprint geometry): ``project_id``, ``project_name``, ``industry``,
        ``industry_name``, ``two_high``, ``project_type``, ``footprint``, ``footprint_area_m2``, ``verdict``,
        ``verdict_zh``, ``complete``, ``n_findings``, ``counties``, ``synthetic_data``.
    overlaps : geopandas.GeoDataFrame
        Overlap pieces (not slivers) with the overlapped feature's attributes: ``project_id``, ``role``,
        ``layer_id``, ``feature_code``, ``feature_name``, ``feature_category``, ``feature_level``,
        ``feature_county``, ``overlap_area_m2``, ``overlap_share``, ``feature_synthetic``,
        ``feature_source`` and, for control units, the access-list texts ``list_space`` ... ``list_resource``.
    findings : pandas.DataFrame
        One row per finding, note or not-evaluated rule (see ``docs/screening_schema.md``).
    distances : pandas.DataFrame
        Nearest feature per project and reported role: ``project_id``, ``role``, ``feature_name``,
        ``distance_m``, ``feature_synthetic``.
    slivers : pandas.DataFrame
        Overlap pieces below the sliver tolerance (``notes`` in the JSON).
    layers_used : list of LayerUse
        Catalog layers read.
    missing_roles : list of str
        Roles needed by rules or reports that the catalog lacks.
    rules : RuleSet
        The rules applied.
    parameters : dict
        Radius, sliver tolerance, input and catalog paths, defaults for industry and type.
    repairs : list
        Geometry repairs made to the project input (``normalize.Repair``).
    """

    projects: gpd.GeoDataFrame
    overlaps: gpd.GeoDataFrame
    findings: pd.DataFrame
    distances: pd.DataFrame
    slivers: pd.DataFrame
    layers_used: list[LayerUse]
    missing_roles: list[str]
    rules: RuleSet
    parameters: dict[str, Any]
    repairs: list[Any] = field(default_factory=list)

    # -- summaries ------------------------------------------------------------------------------------
    @property
    def synthetic(self) -> bool:
        """True if any layer used is synthetic (reports must show the SAMPLE DATA banner)."""
        return any(layer.synthetic for layer in self.layers_used)

    @property
    def synthetic_layers(self) -> list[str]:
        """Ids of the synthetic layers used."""
        return [layer.layer_id for layer in self.layers_used if layer.synthetic]

    def verdict_counts(self) -> dict[str, int]:
        """Number of projects per verdict, most severe first."""
        counts = self.projects["verdict"].value_counts()
        return {v: int(counts.get(v, 0)) for v in VERDICTS}

    # -- records ---------------------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per project, in input order (schema: ``docs/screening_schema.md``)."""
        findings = _group_records(self.findings, _finding_record)
        overlaps = _group_records(pd.DataFrame(self.overlaps.drop(columns="geometry")), _overlap_record)
        access = _group_records(pd.DataFrame(self.overlaps.drop(columns="geometry"))
                                .query("role == 'control_unit'"), _access_record) if len(self.overlaps) else {}
        distances = _group_records(self.distances, _distance_record)
        notes = _group_records(self.slivers, _sliver_record)
        counties = _group_records(pd.DataFrame(self.overlaps.drop(columns="geometry"))
                                  .query("role == 'admin_boundary'"), _county_record) if len(self.overlaps) else {}
        out = []
        for row in self.projects.drop(columns="geometry").itertuples(index=False):
            pid = row.project_id
            f = findings.get(pid, [])
            out.append({
                "schema_version": SCHEMA_VERSION,
                "id": pid,
                "name": _clean(row.project_name),
                "verdict": row.verdict,
                "verdict_zh": row.verdict_zh,
                "verdict_en": VERDICT_EN[row.verdict],
                "complete": bool(row.complete),
                "industry": _clean(row.industry),
                "industry_name_zh": _clean(row.industry_name),
                "two_high": None if row.two_high is None or pd.isna(row.two_high) else bool(row.two_high),
                "project_type": _clean(row.project_type),
                "footprint": row.footprint,
                "area_m2": _num(row.footprint_area_m2),
                "counties": counties.get(pid, []),
                "findings": f,
                "not_evaluated": [x["rule_id"] for x in f if x["kind"] == "not_evaluated"],
                "overlaps": [o for o in overlaps.get(pid, []) if o["role"] != "admin_boundary"],
                "access_lists": access.get(pid, []),
                "distances": distances.get(pid, []),
                "notes": notes.get(pid, []),
                "synthetic_data": bool(row.synthetic_data),
            })
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the records as a JSON list (UTF-8, Chinese kept readable)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_records(), ensure_ascii=False, indent=2, allow_nan=False) + "\n",
                        encoding="utf-8")
        return path

    def to_csv(self, path: str | Path) -> Path:
        """Write the per-project summary as CSV (UTF-8 with BOM for Excel; bilingual headers with units)."""
        path = Path(path)
        table = self.summary_table()
        table.rename(columns={c: label(c) for c in table.columns}).to_csv(path, index=False, encoding="utf-8-sig")
        return path

    def summary_table(self) -> pd.DataFrame:
        """Per-project summary (the CSV content, machine column names)."""
        p = pd.DataFrame(self.projects.drop(columns="geometry"))
        f = self.findings
        hits = f[f["kind"] == "finding"]
        rule_ids = hits.groupby("project_id")["rule_id"].agg(lambda s: "; ".join(s))
        not_eval = f[f["kind"] == "not_evaluated"].groupby("project_id")["rule_id"].agg(lambda s: "; ".join(s))
        cols = ["project_id", "project_name", "verdict", "verdict_zh", "complete", "industry", "industry_name",
                "two_high", "project_type", "footprint", "footprint_area_m2", "counties", "n_findings"]
        out = p[cols].copy()
        rule_ids, not_eval = rule_ids.to_dict(), not_eval.to_dict()
        out["rule_ids"] = [rule_ids.get(p, "") for p in out["project_id"]]
        out["rules_not_evaluated"] = [not_eval.get(p, "") for p in out["project_id"]]
        out["synthetic_data"] = p["synthetic_data"].to_numpy()
        return out

    def to_gpkg(self, path: str | Path) -> Path:
        """Write layers ``projects`` and ``overlaps`` (geometries) and ``findings``, ``distances``,
        ``notes`` (tables) to a GeoPackage, replacing the file."""
        import pyogrio

        path = Path(path)
        if path.exists():
            path.unlink()
        with write_settings():
            pyogrio.write_dataframe(self.projects, path, layer="projects", driver="GPKG", promote_to_multi=True)
            pyogrio.write_dataframe(self.overlaps, path, layer="overlaps", driver="GPKG", promote_to_multi=True,
                                    geometry_type="MultiPolygon")
            for name, frame in (("findings", self.findings), ("distances", self.distances),
                                ("notes", self.slivers)):
                pyogrio.write_dataframe(pd.DataFrame(frame), path, layer=name, driver="GPKG")
        return path


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    return value


def _num(value: Any, digits: int = 2) -> float | None:
    value = _clean(value)
    if value is None:
        return None
    return round(float(value), digits)


def _group_records(frame: pd.DataFrame, make: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, list]:
    out: dict[str, list] = {}
    if frame is None or len(frame) == 0:
        return out
    for rec in frame.to_dict("records"):
        out.setdefault(rec["project_id"], []).append(make(rec))
    return out


def _finding_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "rule_id": r["rule_id"], "kind": r["kind"], "severity": r["severity"], "severity_zh": r["severity_zh"],
        "rule_severity": r["rule_severity"], "title_zh": r["title_zh"], "title_en": r["title_en"],
        "role": r["role"], "predicate": r["predicate"], "test": r["test"],
        "area_m2": _num(r["overlap_area_m2"]), "share": _num(r["overlap_share"], 6),
        "distance_m": _num(r["distance_m"], 1), "value": _clean(r["value"]), "features": _clean(r["features"]),
        "message_zh": r["message_zh"], "message_en": r["message_en"], "source": r["rule_source"],
        "assumption": bool(r["assumption"]), "synthetic": bool(r["feature_synthetic"]),
    }


def _overlap_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"role": r["role"], "layer_id": r["layer_id"], "code": _clean(r["feature_code"]),
            "name": _clean(r["feature_name"]), "category": _clean(r["feature_category"]),
            "level": _clean(r["feature_level"]), "area_m2": _num(r["overlap_area_m2"]),
            "share": _num(r["overlap_share"], 6), "synthetic": bool(r["feature_synthetic"])}


def _access_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": _clean(r["feature_code"]), "name": _clean(r["feature_name"]),
            "category": _clean(r["feature_category"]),
            **{k.removeprefix("list_"): _clean(r.get(k)) for k in ACCESS_LIST_FIELDS},
            "synthetic": bool(r["feature_synthetic"])}


def _county_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": _clean(r["feature_code"]), "name": _clean(r["feature_name"]),
            "area_m2": _num(r["overlap_area_m2"]), "share": _num(r["overlap_share"], 6)}


def _distance_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"role": r["role"], "name": _clean(r["feature_name"]), "distance_m": _num(r["distance_m"], 1),
            "synthetic": bool(r["feature_synthetic"])}


def _sliver_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"role": r["role"], "code": _clean(r["feature_code"]), "name": _clean(r["feature_name"]),
            "area_m2": _num(r["overlap_area_m2"], 4), "mean_width_m": _num(r["mean_width_m"], 4),
            "message_zh": r["message_zh"], "message_en": r["message_en"]}


# ============================================================================================ geometry core
def _chunked(fn: Callable[..., np.ndarray], arrays: tuple[np.ndarray, ...], threads: int, min_pairs: int,
             groups: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
    """Run a vectorised shapely function over chunks of its input arrays on threads (GEOS releases the GIL)."""
    return chunked(fn, arrays, threads=threads, min_items=min_pairs, groups=groups, **kwargs)


def _query(tree: shapely.STRtree, geoms: np.ndarray, threads: int, min_pairs: int,
           **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bulk ``tree.query(geoms, ...)`` split by query geometry over threads; pairs sorted by query index."""
    # A query tests every candidate pair: split once there are enough query geometries to matter.
    bounds = chunk_bounds(len(geoms), threads, max(1, min_pairs // 4))
    if len(bounds) == 1:
        return tree.query(geoms, **kwargs)
    with ThreadPoolExecutor(len(bounds)) as pool:
        parts = list(pool.map(lambda b: tree.query(geoms[b[0]:b[1]], **kwargs), bounds))
    pi = np.concatenate([p[0] + b[0] for p, b in zip(parts, bounds)])
    fi = np.concatenate([p[1] for p in parts])
    return pi, fi


def overlay_pieces(footprints: np.ndarray, features: np.ndarray, *, threads: int = 1,
                   min_parallel_pairs: int = 5000, footprint_tree: shapely.STRtree | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bulk polygon overlay: every (footprint, feature) pair sharing area, with its piece.

    One bulk ``STRtree`` query with ``predicate="intersects"`` finds the pairs (see
    :func:`_intersecting_pairs`); a footprint inside its feature is its own piece, the other pieces are
    computed with array ``shapely.intersection``.  Pairs that only touch (zero area) are dropped.

    Parameters
    ----------
    footprints, features : numpy.ndarray of shapely geometries
        Projects and layer polygons in the same projected CRS.
    threads : int
        Threads for the query and the intersections (results do not depend on it).
    min_parallel_pairs : int
        Fewer pairs than this run on one thread.
    footprint_tree : shapely.STRtree, optional
        An index already built over ``footprints`` (reused when the layer is queried feature by feature).

    Returns
    -------
    project_index, feature_index : numpy.ndarray of int
        Pairs ordered by project, then in the spatial index's order of the features.
    pieces : numpy.ndarray of geometries (polygonal)
    area : numpy.ndarray of float [CRS units²]
    """
    pi, fi, inside = _intersecting_pairs(footprints, features, threads, min_parallel_pairs, footprint_tree)
    if len(pi) == 0:
        return pi, fi, np.empty(0, dtype=object), np.empty(0)
    a = footprints[pi]
    pieces = np.empty(len(pi), dtype=object)
    pieces[inside] = a[inside]
    rest = ~inside
    if rest.any():
        pieces[rest] = polygonal_parts(_chunked(shapely.intersection, (a[rest], features[fi[rest]]), threads,
                                                min_parallel_pairs, groups=pi[rest]))
    area = shapely.area(pieces)
    keep = area > 0
    return pi[keep], fi[keep], pieces[keep], area[keep]


#: A layer with at most this share of features per footprint is queried feature by feature (see below).
_FEW_FEATURES = 0.25


def _intersecting_pairs(footprints: np.ndarray, features: np.ndarray, threads: int, min_pairs: int,
                        footprint_tree: shapely.STRtree | None = None,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(footprint, feature) pairs that intersect, and whether the footprint lies within the feature.

    Both ways of asking give the same pairs in the same order — by footprint, then in the order the features'
    ``STRtree`` visits them — but differ in which side GEOS prepares (indexes) for the tests:

    * many features (control units): query the features' tree with each footprint; a footprint is within a
      feature only if its bounding box is, so ``within`` runs on those few pairs only;
    * few features (a county, the red-line patches): query a tree of the footprints with each feature, so
      that each large, detailed feature is prepared once instead of being tested raw against every footprint
      (``contains`` of a prepared county is far cheaper than ``within`` against the raw county).
    """
    tree = shapely.STRtree(features)
    if len(features) > _FEW_FEATURES * len(footprints):
        pi, fi = _query(tree, footprints, threads, min_pairs, predicate="intersects")
        inside = np.zeros(len(pi), dtype=bool)
        if len(pi):
            fb, pb = shapely.bounds(features), shapely.bounds(footprints)
            maybe = np.flatnonzero(np.all(fb[fi, :2] <= pb[pi, :2], axis=1) & np.all(pb[pi, 2:] <= fb[fi, 2:], axis=1))
            inside[maybe] = _chunked(shapely.within, (footprints[pi[maybe]], features[fi[maybe]]), threads,
                                     min_pairs, groups=pi[maybe])
        return pi, fi, inside
    fp_tree = footprint_tree if footprint_tree is not None else shapely.STRtree(footprints)
    fj, pj = fp_tree.query(features, predicate="intersects")
    order = np.lexsort((_visit_rank(tree, features)[fj], pj))   # the order of tree.query(footprints)
    pi, fi = pj[order], fj[order]
    cj, cp = fp_tree.query(features, predicate="contains")
    n = len(features)
    inside = np.isin(pi.astype(np.int64) * n + fi, cp.astype(np.int64) * n + cj)
    return pi, fi, inside


def _visit_rank(tree: shapely.STRtree, geoms: np.ndarray) -> np.ndarray:
    """Position of each geometry in the depth-first order in which ``tree`` reports query results.

    Every query returns its hits as a subsequence of this order, so sorting hits by rank reproduces the
    order of ``tree.query``.
    """
    rank = np.zeros(len(geoms), dtype=np.int64)
    if len(geoms):
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        visited = tree.query(shapely.box(xmin - 1.0, ymin - 1.0, xmax + 1.0, ymax + 1.0))
        rank[visited] = np.arange(len(visited))
    return rank


def _uncovered(footprints: np.ndarray, pi: np.ndarray, pieces: np.ndarray, areas: np.ndarray,
               fp_area: np.ndarray, threads: int = 1, min_pairs: int = 5000) -> np.ndarray:
    """Part of each footprint not covered by its pieces (vectorised by rounds of ``shapely.difference``).

    Round *r* subtracts the *r*-th piece of every project at once, so the number of Python iterations is
    the largest number of pieces of one project, not the number of projects.  Projects covered by one piece
    of their full area need no overlay.
    """
    n = len(footprints)
    remaining = np.array(footprints, dtype=object)
    if len(pi) == 0:
        return remaining
    counts = np.bincount(pi, minlength=n)
    total = np.bincount(pi, weights=areas, minlength=n)
    whole = (counts == 1) & (total >= fp_area * (1 - 1e-12))
    empty = shapely.from_wkt("POLYGON EMPTY")
    remaining[whole] = empty
    sel = ~whole[pi]
    pi_s, pieces_s = pi[sel], pieces[sel]
    if len(pi_s) == 0:
        return remaining
    order = np.argsort(pi_s, kind="stable")
    pi_s, pieces_s = pi_s[order], pieces_s[order]
    starts = np.r_[0, np.flatnonzero(np.diff(pi_s)) + 1]
    sizes = np.diff(np.r_[starts, len(pi_s)])
    rank = np.arange(len(pi_s)) - np.repeat(starts, sizes)
    for r in range(int(rank.max()) + 1):
        at = rank == r
        idx = pi_s[at]
        remaining[idx] = polygonal_parts(_chunked(shapely.difference, (remaining[idx], pieces_s[at]), threads,
                                                  min_pairs))
    return remaining


def _is_sliver(area: np.ndarray, perimeter: np.ndarray, settings_m2: float, width_m: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(perimeter > 0, area / (perimeter / 2.0), 0.0)
    return (area < settings_m2) | (width < width_m)


# ============================================================================================== projects
@dataclass
class _Projects:
    frame: gpd.GeoDataFrame            # normalised input (working CRS), original geometry
    footprints: np.ndarray             # polygons
    area: np.ndarray                   # [m²]
    ids: np.ndarray                    # str
    names: np.ndarray
    industry: list[str | None]
    industry_name: list[str | None]
    project_type: list[str | None]
    two_high: list[bool | None]
    footprint_kind: np.ndarray
    repairs: list[Any]
    source: str
    id_text: pd.Series                 # ids as text: taking from it is cheaper than converting ids[...] each time
    group: np.ndarray                  # index of the project's distinct (industry, type) pair
    group_attributes: tuple[list[Any], list[Any], list[Any]]   # industry, type, 两高 of each pair

    @cached_property
    def attrs(self) -> pd.DataFrame:
        """Project attributes for ``attribute_test`` rules: the input columns plus the resolved ``industry``,
        ``project_type``, ``two_high`` and ``area_m2`` (built on first use: most rule sets test none)."""
        attrs = pd.DataFrame(self.frame.drop(columns=[self.frame.geometry.name, "_row"]))
        attrs["industry"] = self.industry
        attrs["project_type"] = self.project_type
        attrs["two_high"] = self.two_high
        attrs["area_m2"] = self.area
        return attrs.reset_index(drop=True)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index of the footprints, shared by the layers queried feature by feature."""
        return shapely.STRtree(self.footprints)

    def applicability(self, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
        """``rule.applies_to.evaluate`` over the projects, evaluated once per distinct (industry, type)."""
        applies, undetermined = rule.applies_to.evaluate(*self.group_attributes)
        return applies[self.group], undetermined[self.group]


def _find_column(frame: pd.DataFrame, names: Iterable[str]) -> str | None:
    lower = {str(c).lower(): c for c in frame.columns if c != frame.geometry.name}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _feature_labels(frame: pd.DataFrame, settings: ScreeningSettings) -> list[str]:
    col = _find_column(frame, settings.columns["id"])
    if col is not None:
        return [f"{col}={v!r} (row {i + 1})" for i, v in enumerate(frame[col].tolist())]
    return [f"row {i + 1}" for i in range(len(frame))]


def _web_map_to_wgs84(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    to_wgs = crsmod.gcj02_to_wgs84 if system == "gcj02" else crsmod.bd09_to_wgs84

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = gdf.copy()
    out = out.set_crs("EPSG:4326", allow_override=True)
    out.geometry = shapely.transform(gdf.geometry.values, convert)
    return out


def _read_projects(projects: Any, crs: Any, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(projects, (str, Path)):
        path = Path(projects)
        raw = read_vector(path, layer=layer, crs=crs)
        meta = raw.attrs.get("sanxian", {})
        reason = str(meta.get("crs_reason", ""))
        if reason.startswith("inferred"):
            raise CRSError(problem(
                "项目文件没有坐标系信息；研判结论不能建立在推测的坐标系上。",
                f"The project file has no CRS. The coordinates look like {meta.get('crs')} ({reason}), but "
                "WGS84, CGCS2000 and GCJ-02 (Amap) coordinates of Suizhou look alike and lie up to 600 m apart, "
                "so screening refuses to guess.", file=path, layer=layer,
                fix="state the CRS: screen(..., crs='EPSG:4326') / sanxian screen --crs EPSG:4326 for GPS or "
                    "天地图 coordinates, crs='GCJ-02' for Amap/Tencent, 'BD-09' for Baidu, 'EPSG:4547' for "
                    "CGCS2000 GK CM 114E metres; or export the file with its .prj"))
        return raw, str(path)
    if isinstance(projects, gpd.GeoDataFrame):
        raw = projects
        if crs is not None:
            key = str(crs).strip().upper()
            if key in WEB_MAP_CRS:
                if raw.crs is not None and not raw.crs.is_geographic:
                    raise CRSError(problem("GCJ-02/BD-09 只适用于经纬度坐标。",
                                           f"{crs} applies to longitude/latitude, but the frame is in {raw.crs}.",
                                           fix="omit crs= or give the frame's projected CRS"))
                raw = _web_map_to_wgs84(raw, WEB_MAP_CRS[key])
            elif raw.crs is None:
                raw = raw.set_crs(crs)
            else:
                from pyproj import CRS as _CRS
                if not raw.crs.equals(_CRS.from_user_input(crs)):
                    warnings.warn(f"projects declare {raw.crs.to_string()} but crs={crs!r} was stated; using the "
                                  "stated CRS", stacklevel=3)
                    raw = raw.set_crs(crs, allow_override=True)
        elif raw.crs is None:
            raise CRSError(problem("项目数据没有坐标系。", "The projects GeoDataFrame has no CRS.",
                                   fix="set it (gdf.set_crs('EPSG:4547')) or pass crs='EPSG:4326' / 'GCJ-02'"))
        return raw, "<GeoDataFrame>"
    raise InputFileError(problem("不支持的项目输入类型。", f"Projects must be a file path or a GeoDataFrame, got "
                                 f"{type(projects).__name__}.", fix="pass a path or a GeoDataFrame"))


def _prepare_projects(projects: Any, working_crs: str, settings: ScreeningSettings, *, crs: Any,
                      layer: str | None, radius_m: float, industry: str | None,
                      project_type: str | None) -> _Projects:
    raw, source = _read_projects(projects, crs, layer)
    file = None if source.startswith("<") else source
    if len(raw) == 0:
        raise EmptyLayerError(problem("项目图层没有要素。", "The project layer has no features.", file=file,
                                      fix="give at least one project"))
    geoms = raw.geometry.values
    empty = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if empty.any():
        labels = _feature_labels(raw, settings)           # texts for the error only
        bad = [labels[i] for i in np.flatnonzero(empty)]
        raise InputFileError(problem(
            f"{len(bad)} 个项目的几何为空，无法研判。",
            f"{len(bad)} project(s) have an empty geometry: {', '.join(bad[:10])}"
            + (" …" if len(bad) > 10 else "") + ".", file=file, layer=layer,
            feature=bad[0], fix="draw the project's location (point, line or polygon) or remove the row"))
    frame = raw.copy()
    frame["_row"] = np.arange(len(frame))
    norm, repairs = _normalise_by_family(frame, working_crs, file=file, layer=layer)
    norm = _without_attrs(norm)                       # the repairs are taken; the metadata is not needed
    if len(norm) < len(raw):
        lost = sorted(set(range(len(raw))) - set(norm["_row"].tolist()))
        labels = _feature_labels(raw, settings)
        bad = [labels[i] for i in lost]
        raise InputFileError(problem(
            f"{len(bad)} 个项目的几何退化（面积为零），修复后为空。",
            f"{len(bad)} project geometry(ies) are degenerate (e.g. a polygon with zero area) and became empty "
            f"when repaired: {', '.join(bad[:10])}.", file=file, layer=layer, feature=bad[0],
            fix="correct the coordinates of these projects"))
    # -- ids and names
    id_col = _find_column(norm, settings.columns["id"])
    if id_col is not None:
        ids = np.array([v or f"P{r + 1}" for v, r in zip(_stripped_texts(norm[id_col]), norm["_row"].tolist())],
                       dtype=object)
    else:
        ids = np.array([f"P{r + 1}" for r in norm["_row"].tolist()], dtype=object)
    id_text = pd.Series(ids)
    dup = id_text.duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputFileError(problem(
            "项目编号重复。", f"Project ids must be unique; repeated: {sorted(set(ids[dup].tolist()))[:10]}.",
            file=file, layer=layer, fix=f"give each project its own id (column '{id_col}')"))
    name_col = _find_column(norm, settings.columns["name"])
    names = np.array([_clean(v) for v in norm[name_col].tolist()] if name_col else [None] * len(norm), dtype=object)
    # -- footprints
    if radius_m is None or not math.isfinite(radius_m) or radius_m <= 0:
        raise InputFileError(problem("项目占地半径必须为正数。", f"radius_m must be a positive number [m], got "
                                     f"{radius_m!r}.", fix="pass e.g. radius_m=100 (--radius 100)"))
    g = norm.geometry.values
    tid = shapely.get_type_id(g)
    is_poly = np.isin(tid, (3, 6))
    is_point = np.isin(tid, (0, 4))
    footprints = np.array(g, dtype=object)
    if (~is_poly).any():
        footprints[~is_poly] = shapely.buffer(g[~is_poly], radius_m, quad_segs=settings.quad_segs)
    kind = np.where(is_poly, "polygon", np.where(is_point, f"point buffered {radius_m:g} m",
                                                   f"line buffered ±{radius_m:g} m"))
    area = shapely.area(footprints)
    # -- industry, type, 两高
    ind_col = _find_column(norm, settings.columns["industry"])
    type_col = _find_column(norm, settings.columns["project_type"])
    ind_vals = norm[ind_col].tolist() if ind_col else [None] * len(norm)
    type_vals = norm[type_col].tolist() if type_col else [None] * len(norm)
    ind_keys, ind_codes = _attribute_keys(norm[ind_col] if ind_col else None, len(norm))
    type_keys, type_codes = _attribute_keys(norm[type_col] if type_col else None, len(norm))
    types_vocab = project_types()
    default_type = check_project_type(project_type) if project_type is not None else None
    default_ind = lookup(industry, warn=True) if industry is not None else None
    # Each distinct (industry, type) pair is resolved once, in order of first appearance, so that an error
    # names the first project that has it.
    pair = ind_codes.astype(np.int64) * len(type_keys) + type_codes
    _, first, group = np.unique(pair, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    group_values = np.empty((len(first), 4), dtype=object)     # industry code, name, type, 两高 per pair
    resolved: dict[tuple[str, str], tuple[str | None, str | None, str | None, bool | None]] = {}
    for g in np.argsort(first, kind="stable").tolist():
        i = int(first[g])
        key = (ind_keys[ind_codes[i]], type_keys[type_codes[i]])
        if key not in resolved:
            pid = ids[i]
            ptype = check_project_type(type_vals[i], feature=pid, file=file) if key[1] else default_type
            ind = lookup(ind_vals[i], feature=pid, file=file) if key[0] else default_ind
            if ind is None and ptype is not None and types_vocab[ptype].industry:
                ind = lookup(types_vocab[ptype].industry, warn=False)
            if ptype is None and ind is not None:
                ptype = type_for_industry(ind.code)
            resolved[key] = (ind.code if ind else None, ind.zh if ind else None, ptype,
                             ind.is_two_high if ind else None)
        group_values[g] = resolved[key]
    industries, industry_names, ptypes, two_high = (group_values[group, j].tolist() for j in range(4))
    return _Projects(frame=norm, footprints=footprints, area=area, ids=ids, names=names, industry=industries,
                     industry_name=industry_names, project_type=ptypes, two_high=two_high, footprint_kind=kind,
                     repairs=repairs, source=source, id_text=id_text, group=group,
                     group_attributes=(group_values[:, 0].tolist(), group_values[:, 2].tolist(),
                                       group_values[:, 3].tolist()))


def _normalise_by_family(frame: gpd.GeoDataFrame, working_crs: str, *, file: str | None,
                         layer: str | None) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """Normalise points, lines and polygons separately (a project list may mix them; a layer may not)."""
    tid = shapely.get_type_id(frame.geometry.values)
    family = np.where(np.isin(tid, (0, 4)), "point", np.where(np.isin(tid, (1, 2, 5)), "line", "polygon"))
    families = [fam for fam in ("polygon", "line", "point") if (family == fam).any()]
    parts, repairs = [], []
    for fam in families:
        sub = frame if len(families) == 1 else frame[family == fam]
        part = normalise(sub, working_crs, expected=fam, file=file, layer=layer)
        repairs.extend(part.attrs.get("sanxian", {}).get("repairs", []))
        parts.append(part)
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    out = gpd.GeoDataFrame(out, geometry=parts[0].geometry.name, crs=parts[0].crs)
    if not out["_row"].is_monotonic_increasing:          # one family keeps the input order
        out = out.sort_values("_row", kind="stable")
    return out.reset_index(drop=True), repairs


def _attribute_keys(values: pd.Series | None, n: int) -> tuple[list[str], np.ndarray]:
    """Distinct texts of a project attribute ('' when absent) and the index of each project's text.

    Text columns are factorised directly; other columns are converted value by value first, so that e.g.
    ``1`` and ``1.0`` (equal as numbers) stay distinct texts, as they are when written out.
    """
    if values is None:
        return [""], np.zeros(n, dtype=np.int64)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        keys = [str(u) if _present(u) else "" for u in uniques] + [""]
        return keys, np.where(codes < 0, len(keys) - 1, codes)
    codes, uniques = pd.factorize(np.array([str(v) if _present(v) else "" for v in values.tolist()], dtype=object))
    return list(uniques), codes


def _stripped_texts(values: pd.Series) -> list[str]:
    """``str(v).strip()`` of each value, '' where absent (text columns without a per-value ``_clean``)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return [v.strip() if isinstance(v, str) else "" for v in values.tolist()]
    return [str(v).strip() if _clean(v) is not None else "" for v in values.tolist()]


def _present(value: Any) -> bool:
    value = _clean(value)
    return value is not None and str(value).strip() != ""


# =============================================================================================== layers
@dataclass
class _Layer:
    role: str
    frame: gpd.GeoDataFrame
    geoms: np.ndarray
    polygonal: bool
    synthetic: np.ndarray
    entries: list[LayerEntry]
    masks: dict[Any, tuple[np.ndarray | None, str | None]] = field(default_factory=dict)
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def objects_at(self, name: str, fi: np.ndarray) -> np.ndarray:
        """Values of text column ``name`` at rows ``fi`` as Python objects (NaN where missing).

        Decoded from the column's distinct texts: access lists repeat a few texts over many units, and taking
        codes is far cheaper than converting every value.
        """
        if name not in self.decoded:
            codes, uniques = pd.factorize(self.frame[name], use_na_sentinel=True)
            self.decoded[name] = (codes, np.append(np.asarray(uniques, dtype=object), np.nan))
        codes, table = self.decoded[name]
        return table[codes[fi]]                      # code -1 (missing) picks the NaN at the end

    @cached_property
    def label_text(self) -> pd.Series:
        """Label of each feature for messages, as text (computed on first use; see :func:`_feature_labels_text`)."""
        return _feature_labels_text(self.frame)

    @cached_property
    def labels(self) -> np.ndarray:
        """Label of each feature for messages."""
        return self.label_text.to_numpy(dtype=object)

    @cached_property
    def labels_missing(self) -> bool:
        """True if some label is missing (NA)."""
        return bool(self.label_text.isna().any())

    @cached_property
    def label_codes(self) -> tuple[np.ndarray, int]:
        """Code of each feature's label (equal labels, equal codes) and the number of distinct labels."""
        codes, uniques = pd.factorize(self.label_text, use_na_sentinel=False)
        return codes, len(uniques)


def _without_attrs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shallow copy of ``frame`` without its ``attrs`` metadata.

    pandas deep-copies ``attrs`` into every derived object (each column access, take, copy), which costs more
    than the operation itself on the many small steps of a screening; the results never carry it.
    """
    out = frame.copy(deep=False)
    out.attrs = {}
    return out


def _feature_labels_text(frame: pd.DataFrame) -> pd.Series:
    """Label of each feature for messages: its name, else its code, else ``layer_id#src_fid``."""
    def col(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].astype("string").str.strip().fillna("")
        return pd.Series([""] * len(frame), index=frame.index, dtype="string")

    name = col("name")
    if (name != "").all():                                # every feature has a name: nothing to fall back on
        return name
    code = col("code")
    if "layer_id" in frame.columns and "src_fid" in frame.columns:
        fallback = frame["layer_id"].astype("string") + "#" + frame["src_fid"].astype("string")
    else:
        fallback = pd.Series([f"#{i}" for i in range(len(frame))], index=frame.index, dtype="string")
    return name.where(name != "", code.where(code != "", fallback))


def _load_layer(catalog: Catalog, role: str) -> _Layer:
    frame = _without_attrs(catalog.read(role))
    geoms = frame.geometry.values
    tid = shapely.get_type_id(np.asarray(geoms))
    polygonal = bool(len(tid)) and bool(np.isin(tid, (3, 6)).all())
    entries = catalog.entries_for(role)
    synthetic = frame["synthetic"].to_numpy(dtype=bool) if "synthetic" in frame.columns \
        else np.full(len(frame), any(e.synthetic for e in entries))
    return _Layer(role, frame, np.asarray(geoms, dtype=object), polygonal, synthetic, entries)


@dataclass
class _Pieces:
    pi: np.ndarray
    fi: np.ndarray
    geoms: np.ndarray
    area: np.ndarray
    sliver: np.ndarray
    width: np.ndarray


def _pieces_for(layer: _Layer, projects: _Projects, settings: ScreeningSettings, sliver_m2: float) -> _Pieces:
    few = len(layer.geoms) <= _FEW_FEATURES * len(projects.footprints)     # then the footprints' tree is used
    pi, fi, geoms, area = overlay_pieces(projects.footprints, layer.geoms, threads=settings.threads,
                                         footprint_tree=projects.tree if few else None,
                                         min_parallel_pairs=settings.min_parallel_pairs)
    perim = shapely.length(geoms) if len(geoms) else np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(perim > 0, area / (perim / 2.0), 0.0)
    sliver = (area < sliver_m2) | (width < settings.sliver_width_m)        # as _is_sliver, width computed once
    return _Pieces(pi, fi, geoms, area, sliver, width)


# ============================================================================================ evaluation
@dataclass
class _Hits:
    """Per-project outcome of one rule's spatial/attribute test (arrays of length n_projects)."""

    fired: np.ndarray
    note: np.ndarray
    area: np.ndarray | None = None
    share: np.ndarray | None = None
    distance: np.ndarray | None = None
    value: list[Any] | None = None
    names: np.ndarray | list[str] | None = None
    synthetic: np.ndarray | None = None
    missing_reason: str | None = None


def _names_per_project(n: int, pi: np.ndarray, fi: np.ndarray, layer: _Layer,
                       only: np.ndarray | None = None) -> np.ndarray:
    """Distinct labels of the features ``fi`` per project ``pi``, joined with '; ' (for projects where
    ``only`` is True).

    Labels keep the order of the pairs; after ``_MAX_NAMES`` names only the count of the others is given.
    Vectorised: duplicates are found on the layer's label codes, and the text is joined in one pass per name
    position (at most ``_MAX_NAMES``), not one per project.
    """
    out = np.full(n, "", dtype=object)
    if only is not None:
        keep = only[pi]
        pi, fi = pi[keep], fi[keep]
    if len(pi) == 0:
        return out
    order = np.argsort(pi, kind="stable")
    p, f = pi[order], fi[order]
    out[p] = layer.labels[f]                              # projects with one piece: the label as it is
    multi = np.bincount(p, minlength=n)[p] > 1
    if not multi.any():
        return out
    # projects with several pieces: distinct labels (first appearance first), joined as text
    p, f = p[multi], f[multi]
    codes, n_codes = layer.label_codes
    first = ~pd.Series(p.astype(np.int64) * n_codes + codes[f]).duplicated().to_numpy()
    p, lab = p[first], layer.labels[f[first]]
    if layer.labels_missing:                              # e.g. pd.NA: joined as its text, like str.join would
        missing = pd.isna(lab)
        lab = lab.copy()
        lab[missing] = [str(x) for x in lab[missing]]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    counts = np.diff(np.r_[starts, len(p)])
    rank = np.arange(len(p)) - np.repeat(starts, counts)
    out[p[starts]] = lab[starts]
    later = rank > 0
    p_later, rank, sep_lab = p[later], rank[later], "; " + lab[later]
    for r in range(1, min(_MAX_NAMES, int(counts.max()))):
        at = rank == r
        out[p_later[at]] += sep_lab[at]
    for start, count in zip(starts[counts > _MAX_NAMES].tolist(), counts[counts > _MAX_NAMES].tolist()):
        out[p[start]] += f"; … (+{count - _MAX_NAMES})"
    return out


def _where_mask(rule: Rule, layer: _Layer) -> tuple[np.ndarray | None, str | None]:
    key = rule.where
    if key in layer.masks:
        return layer.masks[key]
    mask = np.ones(len(layer.frame), dtype=bool)
    result: tuple[np.ndarray | None, str | None] = (mask, None)
    for cond in rule.where:
        if cond.field not in layer.frame.columns:
            result = (None, f"field '{cond.field}' missing in layer(s) {[e.id for e in layer.entries]}")
            break
        mask &= _evaluate_on_column(cond, layer.frame[cond.field])
    layer.masks[key] = result
    return result


def _evaluate_on_column(cond: Condition, column: pd.Series) -> np.ndarray:
    """``cond.evaluate(column)``, with the column's distinct values found in its own dtype.

    ``Condition.evaluate`` tests each distinct value once too, but first converts the whole column to Python
    objects; factorising the column as it is stored (integers, Arrow text) is several times cheaper on large
    layers.  Missing values never match, as in ``Condition.evaluate``.
    """
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True).startswith("mixed"):
        return cond.evaluate(column)  # factorize would merge True with 1 (equal hashes)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if len(uniques) == len(column):
        return cond.evaluate(column)
    distinct = cond.evaluate(uniques.tolist())
    return np.where(codes >= 0, distinct[np.maximum(codes, 0)], False) if len(distinct) else np.zeros(len(codes), bool)


def _eval_overlap(rule: Rule, layer: _Layer, pieces: _Pieces, projects: _Projects,
                  settings: ScreeningSettings, needed: np.ndarray) -> _Hits:
    n = len(projects.ids)
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    sel = mask[pieces.fi] & needed[pieces.pi]
    pi, fi, area, sliver = pieces.pi[sel], pieces.fi[sel], pieces.area[sel], pieces.sliver[sel]
    real = ~sliver
    area_sum = np.bincount(pi[real], weights=area[real], minlength=n)
    has_real = np.bincount(pi[real], minlength=n) > 0
    has_sliver = np.bincount(pi[sliver], minlength=n) > 0
    synthetic = np.bincount(pi[real], weights=layer.synthetic[fi[real]].astype(float), minlength=n) > 0
    if rule.predicate == "intersects":
        fired = has_real
        share = area_sum / projects.area
    else:  # overlap_share_above: share of the union of matching features
        uncovered = _uncovered(projects.footprints, pi, pieces.geoms[sel], area, projects.area, settings.threads,
                               settings.min_parallel_pairs)
        out_area = shapely.area(uncovered)
        covered = np.clip(projects.area - np.where(out_area < _NOISE_M2, 0.0, out_area), 0.0, None)
        share = covered / projects.area
        fired = has_real & (share > rule.share)
        area_sum = covered
    note = has_sliver & ~has_real
    real_names = _names_per_project(n, pi[real], fi[real], layer, only=fired)
    sliver_names = _names_per_project(n, pi[sliver], fi[sliver], layer, only=note)
    names = np.where(has_real, real_names, sliver_names)
    sliver_area = np.bincount(pi[sliver], weights=area[sliver], minlength=n)
    area_sum = np.where(note, sliver_area, area_sum)
    share = np.where(note, sliver_area / projects.area, share)
    return _Hits(fired, note, area=area_sum, share=share, names=names, synthetic=synthetic)


def _eval_line_intersects(rule: Rule, layer: _Layer, projects: _Projects, needed: np.ndarray) -> _Hits:
    n = len(projects.ids)
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    feats = layer.geoms[mask]
    fidx = np.flatnonzero(mask)
    tree = shapely.STRtree(feats)
    at = np.flatnonzero(needed)
    pi, fi = tree.query(projects.footprints[at], predicate="intersects")
    pi = at[pi]
    crossing = ~shapely.touches(projects.footprints[pi], feats[fi])
    pi, fi = pi[crossing], fi[crossing]
    length = shapely.length(shapely.intersection(projects.footprints[pi], feats[fi]))
    fired = np.bincount(pi, minlength=n) > 0
    synthetic = np.bincount(pi, weights=layer.synthetic[fidx[fi]].astype(float), minlength=n) > 0
    return _Hits(fired, np.zeros(n, bool), area=np.bincount(pi, weights=length, minlength=n),
                 names=_names_per_project(n, pi, fidx[fi], layer, only=fired), synthetic=synthetic)


def _eval_distance(rule: Rule, layer: _Layer, projects: _Projects, settings: ScreeningSettings,
                   needed: np.ndarray) -> _Hits:
    n = len(projects.ids)
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    feats = layer.geoms[mask]
    fidx = np.flatnonzero(mask)
    dist = np.full(n, np.inf)
    nearest = np.full(n, -1)
    if len(feats):
        tree = shapely.STRtree(feats)
        at = np.flatnonzero(needed)
        pi, fi = _query(tree, projects.footprints[at], settings.threads, settings.min_parallel_pairs,
                        predicate="dwithin", distance=rule.distance_m)
        pi = at[pi]
        if len(pi):
            d = _chunked(shapely.distance, (projects.footprints[pi], feats[fi]), settings.threads,
                         settings.min_parallel_pairs, groups=pi)
            order = np.lexsort((d, pi))            # per project, nearest first
            pi_o, fi_o, d_o = pi[order], fi[order], d[order]
            first = np.r_[True, pi_o[1:] != pi_o[:-1]]
            dist[pi_o[first]] = d_o[first]
            nearest[pi_o[first]] = fidx[fi_o[first]]
    fired = dist <= rule.distance_m
    found = nearest >= 0
    names = np.full(n, "", dtype=object)
    if found.any():
        names[found] = layer.labels[nearest[found]]
    synthetic = np.zeros(n, dtype=bool)
    synthetic[found] = layer.synthetic[nearest[found]]
    return _Hits(fired, np.zeros(n, bool), distance=np.where(np.isfinite(dist), dist, np.nan), names=names,
                 synthetic=synthetic)


def _eval_outside(rule: Rule, layer: _Layer, pieces: _Pieces, projects: _Projects, sliver_m2: float,
                  settings: ScreeningSettings, needed: np.ndarray) -> _Hits:
    n = len(projects.ids)
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    sel = mask[pieces.fi] & needed[pieces.pi]
    uncovered = _uncovered(projects.footprints, pieces.pi[sel], pieces.geoms[sel], pieces.area[sel], projects.area,
                           settings.threads, settings.min_parallel_pairs)
    out_area = shapely.area(uncovered)
    out_area = np.where(out_area < _NOISE_M2, 0.0, out_area)
    perim = shapely.length(uncovered)
    sliver = _is_sliver(out_area, perim, sliver_m2, settings.sliver_width_m)
    outside = out_area > 0
    fired = outside & ~sliver
    note = outside & sliver
    return _Hits(fired, note, area=out_area, share=out_area / projects.area,
                 names=[""] * n, synthetic=np.full(n, bool(layer.synthetic.any())))


def _eval_attribute(rule: Rule, projects: _Projects) -> _Hits:
    """Test a project attribute; ``note`` marks projects whose value is missing (cannot be evaluated)."""
    n = len(projects.ids)
    assert rule.test is not None
    fld = rule.test.field
    if fld not in projects.attrs.columns:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool),
                     missing_reason=f"project attribute '{fld}' missing (columns: "
                                    f"{[c for c in projects.attrs.columns if not c.startswith('_')]})")
    values = projects.attrs[fld]
    return _Hits(rule.test.evaluate(values), rule.test.missing(values), value=[_clean(v) for v in values.tolist()],
                 names=[""] * n, synthetic=np.zeros(n, bool))


# ============================================================================================ messages
def _role_zh(role: str) -> str:
    vocab = role_vocabulary()
    return vocab[role].zh if role in vocab else role


def _role_en(role: str) -> str:
    vocab = role_vocabulary()
    return vocab[role].en if role in vocab else role


def _fmt_area(a: float) -> str:
    return f"{a:,.0f} m²" if a >= 10 else f"{a:,.2f} m²"


def _message_columns(rule: Rule, kind: str, reason: str | None, area: list[float | None],
                     share: list[float | None], dist: list[float | None], value: list[Any],
                     names: list[str]) -> tuple[list[str], list[str]]:
    """Chinese and English message of each row (see :func:`_message_formatter` for the texts).

    The common case — an overlap finding with its area and share — is formatted column-wise in list
    comprehensions; the other cases call the rule's formatter once per row.
    """
    if (kind == "finding" and rule.predicate in ("intersects", "overlap_share_above")
            and None not in area and None not in share):
        rz, re_ = _role_zh(rule.role), _role_en(rule.role).lower()
        a_txt = [f"{a:,.0f} m²" if a >= 10 else f"{a:,.2f} m²" for a in area]     # _fmt_area
        pct = [f"{s:.1%}" for s in share]
        zh = [f"与{rz}重叠 {a}（占项目 {p}）：{nm}" if nm else f"与{rz}重叠 {a}（占项目 {p}）"
              for a, p, nm in zip(a_txt, pct, names)]
        en = [f"Overlaps the {re_} by {a} ({p} of the project): {nm}." if nm
              else f"Overlaps the {re_} by {a} ({p} of the project)." for a, p, nm in zip(a_txt, pct, names)]
        return zh, en
    fmt = _message_formatter(rule, kind, reason)
    msgs = [fmt(a, s, d, v, nm) for a, s, d, v, nm in zip(area, share, dist, value, names)]
    return [zh for zh, _ in msgs], [en for _, en in msgs]


MessageFormatter = Callable[[float | None, float | None, float | None, Any, str], tuple[str, str]]


def _message_formatter(rule: Rule, kind: str, reason: str | None) -> MessageFormatter:
    """Formatter ``fmt(area, share, dist, value, names) -> (message_zh, message_en)`` for one rule and kind.

    Everything that does not depend on the project (role names, severity, thresholds, the branch taken) is
    resolved once here, so that formatting thousands of rows costs one call and one f-string per row.
    """
    rz, re_ = _role_zh(rule.role), _role_en(rule.role).lower()
    sev_zh, sev_en = SEVERITY_ZH[rule.severity], SEVERITY_EN[rule.severity]

    def constant(zh: str, en: str) -> MessageFormatter:
        return lambda _a, _s, _d, _v, _n: (zh, en)

    if kind == "not_evaluated":
        if reason == "layer_missing":
            return constant(f"未评估：图层目录中没有“{rz}”图层（{rule.role}）；规则未能检验。",
                            f"Not evaluated: layer missing — the catalog has no '{rule.role}' layer ({re_}).")
        if reason and reason.startswith("field"):
            return constant(f"未评估：图层缺少所需字段（{reason}）。", f"Not evaluated: {reason}.")
        if reason == "attribute_unknown":
            fld = rule.test.field if rule.test else ""
            return constant(f"未评估：项目缺少属性“{fld}”，无法判断。",
                            f"Not evaluated: the project has no value for '{fld}'.")
        applies = rule.applies_to.describe()
        zh0 = f"未评估：项目行业代码或类型未知，无法判断本规则是否适用；若适用（{applies}），结论为“{sev_zh}”。位置条件已满足"
        en0 = (f"Not evaluated: the project's industry or type is unknown, so it cannot be said whether the rule "
               f"applies ({applies}); if it does, the finding is '{sev_en}'. The location test is met")
        return lambda _a, _s, _d, _v, names: (zh0 + (f"：{names}" if names else ""),
                                              en0 + (f": {names}" if names else "") + ".")
    if kind == "note":
        if rule.predicate == "outside_coverage":
            return lambda area, _s, _d, _v, _n: (
                f"仅有细小部分（{_fmt_area(area or 0)}）位于{rz}范围之外，低于细小碎片容差，不计。",
                (f"Only a sliver ({_fmt_area(area or 0)}) lies outside the {re_}; below the sliver tolerance, "
                 "not counted."))
        return lambda _a, _s, _d, _v, names: (
            f"与{rz}仅有细小碎片重叠（低于容差），不计为重叠" + (f"：{names}" if names else ""),
            f"Only sliver overlap with the {re_} (below the tolerance), not counted as an overlap"
            + (f": {names}" if names else "") + ".")
    if rule.predicate in ("intersects", "overlap_share_above"):
        def overlap(area: float | None, share: float | None, _d: Any, _v: Any, names: str) -> tuple[str, str]:
            if area is not None and share is not None:
                a, pct = _fmt_area(area), f"{share:.1%}"
                if names:
                    return (f"与{rz}重叠 {a}（占项目 {pct}）：{names}",
                            f"Overlaps the {re_} by {a} ({pct} of the project): {names}.")
                return f"与{rz}重叠 {a}（占项目 {pct}）", f"Overlaps the {re_} by {a} ({pct} of the project)."
            return (f"与{rz}相交" + (f"：{names}" if names else ""),
                    f"Crosses the {re_}" + (f": {names}" if names else "") + ".")
        return overlap
    if rule.predicate == "within_distance":
        limit = f"{rule.distance_m:,.0f}"
        return lambda _a, _s, dist, _v, names: (f"距{rz}“{names}” {dist:,.0f} m（规则阈值 ≤ {limit} m）",
                                                f"{dist:,.0f} m from the {re_} '{names}' (rule threshold ≤ {limit} m).")
    if rule.predicate == "outside_coverage":
        if rule.is_coverage:
            return lambda area, share, _d, _v, _n: (
                f"项目有 {_fmt_area(area or 0)}（{(share or 0):.1%}）位于分区管控数据覆盖范围（{rz}）之外，该部分无法研判。",
                (f"{_fmt_area(area or 0)} ({(share or 0):.1%}) of the project lies outside the coverage of the "
                 f"zoning data ({re_}); that part cannot be screened."))
        return lambda area, share, _d, _v, _n: (
            f"项目有 {_fmt_area(area or 0)}（{(share or 0):.1%}）位于{rz}之外。",
            f"{_fmt_area(area or 0)} ({(share or 0):.1%}) of the project lies outside the {re_}.")
    assert rule.test is not None
    field_, test = rule.test.field, rule.test.describe()
    return lambda _a, _s, _d, value, _n: (f"项目属性 {field_} = {value!r} 满足条件 {test}。",
                                          f"Project attribute {field_} = {value!r} meets {test}.")


# ================================================================================================ screen
def screen(projects: gpd.GeoDataFrame | str | Path, catalog: Catalog | str | Path,
           rules: RuleSet | str | Path | None = None, *, industry: str | None = None,
           project_type: str | None = None, radius_m: float | None = None, sliver_m2: float | None = None,
           progress: ProgressCallback | None = None, crs: Any = None, layer: str | None = None,
           threads: int | None = None) -> ScreeningResult:
    """Screen proposed projects against the zoning layers of a catalog and a rule set.

    Parameters
    ----------
    projects : GeoDataFrame or path
        Any input :func:`~sanxian_yidan.io.read_vector` reads (Shapefile, GeoPackage, GeoJSON, KML,
        CSV/XLSX with coordinates, land-boundary TXT).  Points, lines and polygons are accepted.
        Recognised attribute columns (``data/screening.toml`` ``[columns]``): ``id``, ``name``,
        ``industry`` (GB/T 4754-2017 code) and ``project_type``.
    catalog : Catalog or path
        Layer catalog (e.g. ``layers/catalog.toml``).  Its ``admin_boundary`` layer defines the coverage.
    rules : RuleSet or path, optional
        Rule set; default the packaged ``data/rules.toml``; a path is loaded with :func:`load_rules`
        (packaged rules amended/extended by the file).
    industry : str, optional
        Industry code for projects whose own ``industry`` attribute is empty.
    project_type : str, optional
        Project type (``pv``, ``wind``, ``industrial``, ...) for projects without their own.  When a
        project has a type but no industry, the type's default industry is used (pv → D4416); when it has
        an industry but no type, the type is derived from the industry.
    radius_m : float, optional
        Footprint radius of point projects / half-width of line projects [m]; default from
        ``data/screening.toml`` (100 m).
    sliver_m2 : float, optional
        Sliver area tolerance [m²]; default from ``data/screening.toml``.
    progress : callable, optional
        Called as ``progress(label, steps_done, steps_total)`` (:mod:`sanxian_yidan.progress`).
    crs : optional
        CRS of the project coordinates when the file has none (or to override it): an EPSG code, or
        ``"GCJ-02"`` / ``"BD-09"`` for web-map coordinates (converted to WGS84).
    layer : str, optional
        Layer of a multi-layer project file.
    threads : int, optional
        Threads for the bulk GEOS calls (0 = one per core); default from ``data/screening.toml``.  The
        results do not depend on it.

    Returns
    -------
    ScreeningResult
        Per-project table, overlap pieces, findings, distances, slivers and provenance; ``to_json``,
        ``to_gpkg``, ``to_csv``, ``to_records``.

    Raises
    ------
    CRSError
        Project file without a CRS and none stated.
    InputFileError
        Empty project geometry (naming the feature), duplicate ids, bad radius; unknown industry code
        (:class:`~sanxian_yidan.industries.UnknownIndustryCodeError`, listing the nearest valid codes);
        unknown project type.
    DataFileError
        Malformed rule file.

    Examples
    --------
    >>> result = screen("projects.geojson", "layers/catalog.toml", project_type="pv")  # doctest: +SKIP
    >>> result.projects[["project_id", "verdict", "verdict_zh"]]                        # doctest: +SKIP
    >>> result.to_json("out/screening.json")                                            # doctest: +SKIP
    """
    settings = screening_settings()
    if threads is not None:
        if threads < 0:
            raise InputFileError(problem("线程数不能为负。", f"threads must be >= 0, got {threads}.",
                                         fix="pass threads=0 (one per core) or a positive number"))
        settings = dataclasses.replace(settings, threads=resolve_threads(threads))
    cat = catalog if isinstance(catalog, Catalog) else Catalog.load(catalog)
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    radius = settings.default_radius_m if radius_m is None else float(radius_m)
    sliver = settings.sliver_m2 if sliver_m2 is None else float(sliver_m2)
    if not math.isfinite(sliver) or sliver < 0:
        raise InputFileError(problem("细小碎片容差必须为非负数。", f"sliver_m2 must be >= 0 [m²], got {sliver_m2!r}.",
                                     fix="pass e.g. sliver_m2=1.0"))
    vocab = role_vocabulary()
    overlap_rule_roles = {r.role for r in ruleset if r.predicate in ("intersects", "overlap_share_above",
                                                                        "outside_coverage")}
    distance_rule_roles = {r.role for r in ruleset if r.predicate == "within_distance"}
    wanted = (set(settings.overlap_roles) | set(settings.distance_roles) | overlap_rule_roles
              | distance_rule_roles | {"admin_boundary"}) - {PROJECT_ROLE}
    wanted = {r for r in wanted if r in vocab and not vocab[r].is_raster}
    present = sorted(r for r in wanted if cat.has(r))
    missing_roles = sorted(wanted - set(present))
    layers: dict[str, _Layer] = {}
    pieces: dict[str, _Pieces] = {}
    steps = len(present) + len(ruleset) + 2
    report_step(progress, "读取项目 / reading projects", 0, steps)
    proj = _prepare_projects(projects, cat.working_crs, settings, crs=crs, layer=layer, radius_m=radius,
                             industry=industry, project_type=project_type)
    n = len(proj.ids)
    done = 0
    for role in present:
        done += 1
        report_step(progress, f"叠加分析 / overlay: {role}", done, steps)
        lay = _load_layer(cat, role)
        layers[role] = lay
        if lay.polygonal and (role in settings.overlap_roles or role in overlap_rule_roles):
            pieces[role] = _pieces_for(lay, proj, settings, sliver)

    # -- rules -----------------------------------------------------------------------------------------
    rows: list[_RowBlock] = []
    for rule in ruleset:
        done += 1
        report_step(progress, f"规则 / rule {rule.id}", done, steps)
        applies, undetermined = proj.applicability(rule)
        if not (applies | undetermined).any():
            continue
        if rule.predicate != "attribute_test" and rule.role not in layers:
            rows.append(_rows(rule, applies | undetermined, "not_evaluated", n, reason="layer_missing"))
            continue
        hits = _evaluate(rule, layers, pieces, proj, sliver, settings, applies | undetermined)
        if hits.missing_reason is not None:
            rows.append(_rows(rule, applies | undetermined, "not_evaluated", n, reason=hits.missing_reason))
            continue
        if rule.predicate == "attribute_test":
            unknown = hits.note
            rows.append(_rows(rule, hits.fired & applies, "finding", n, hits=hits))
            rows.append(_rows(rule, unknown & (applies | undetermined), "not_evaluated", n, hits=hits,
                              reason="attribute_unknown"))
            rows.append(_rows(rule, hits.fired & undetermined, "not_evaluated", n, hits=hits, reason="undetermined"))
            continue
        rows.append(_rows(rule, hits.fired & applies, "finding", n, hits=hits))
        rows.append(_rows(rule, hits.fired & undetermined, "not_evaluated", n, hits=hits, reason="undetermined"))
        rows.append(_rows(rule, hits.note & (applies | undetermined), "note", n, hits=hits))
    findings = _assemble_findings(rows, proj.id_text)

    report_step(progress, "汇总 / assembling", steps - 1, steps)
    projects_out = _project_table(proj, findings, pieces, layers)
    overlaps_out = _overlap_table(proj, layers, pieces)
    slivers_out = _sliver_table(proj, layers, pieces)
    distances_out = _distance_table(proj, layers, settings, ruleset)
    findings = findings.drop(columns=["_p"]).reindex(columns=_FINDING_COLUMNS)
    used = [LayerUse(role, e.id, e.title_zh, e.title_en, bool(e.synthetic), e.source)
            for role in present for e in cat.entries_for(role)]
    params = {"radius_m": radius, "sliver_m2": sliver, "sliver_width_m": settings.sliver_width_m,
              "search_m": settings.search_m, "industry": industry, "project_type": project_type,
              "projects": proj.source, "catalog": str(cat.path) if cat.path else None,
              "working_crs": cat.working_crs, "rules_files": list(ruleset.files), "n_rules": len(ruleset),
              "crs": None if crs is None else str(crs), "threads": settings.threads,
              "settings_sources": dict(settings.sources)}
    report_step(progress, "完成 / done", steps, steps)
    return ScreeningResult(projects=projects_out, overlaps=overlaps_out, findings=findings,
                           distances=distances_out, slivers=slivers_out, layers_used=used,
                           missing_roles=missing_roles, rules=ruleset, parameters=params,
                           repairs=proj.repairs)


def _evaluate(rule: Rule, layers: dict[str, _Layer], pieces: dict[str, _Pieces], proj: _Projects,
              sliver: float, settings: ScreeningSettings, needed: np.ndarray) -> _Hits:
    """Test one rule for the projects where ``needed`` is True (those it applies to, or may apply to).

    The values for the other projects are not meaningful: no finding row is made for them.
    """
    if rule.predicate == "attribute_test":
        return _eval_attribute(rule, proj)
    layer = layers[rule.role]
    if rule.predicate == "within_distance":
        return _eval_distance(rule, layer, proj, settings, needed)
    if not layer.polygonal:
        if rule.predicate == "intersects":
            return _eval_line_intersects(rule, layer, proj, needed)
        n = len(proj.ids)
        return _Hits(np.zeros(n, bool), np.zeros(n, bool),
                     missing_reason=f"layer '{rule.role}' is not polygonal; '{rule.predicate}' needs polygons")
    if rule.role not in pieces:
        pieces[rule.role] = _pieces_for(layer, proj, settings, sliver)
    if rule.predicate == "outside_coverage":
        return _eval_outside(rule, layer, pieces[rule.role], proj, sliver, settings, needed)
    return _eval_overlap(rule, layer, pieces[rule.role], proj, settings, needed)


_FINDING_COLUMNS = ["project_id", "rule_id", "kind", "severity", "severity_zh", "rule_severity", "title_zh",
                    "title_en", "role", "predicate", "test", "overlap_area_m2", "overlap_share", "distance_m",
                    "value", "features", "message_zh", "message_en", "rule_source", "assumption",
                    "feature_synthetic"]


def _empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ["_p"] + _FINDING_COLUMNS})


#: Order of the kinds of finding rows within a project.
_KIND_ORDER = {"finding": 0, "not_evaluated": 1, "note": 2}


def _assemble_findings(blocks: list[_RowBlock], ids: pd.Series) -> pd.DataFrame:
    """Join the per-rule rows and sort them: by project, findings before not-evaluated rules before notes,
    most severe first; ties keep the rule order.

    The sort keys and the rule's own columns are constant within a block, so they are repeated per block
    rather than looked up per row, and the constant columns are built once, already in sorted order.
    """
    blocks = [b for b in blocks if len(b.frame)]
    if not blocks:
        findings = _empty_findings()
        findings["project_id"] = []
        return findings
    findings = pd.concat([b.frame for b in blocks], ignore_index=True)
    sizes = [len(b.frame) for b in blocks]
    kind_key = np.repeat([_KIND_ORDER[b.constants["kind"]] for b in blocks], sizes)
    severity_key = np.repeat([-VERDICT_RANK.get(b.constants["severity"], 0) for b in blocks], sizes)
    p = findings["_p"].to_numpy(dtype=int)
    order = np.lexsort((severity_key, kind_key, p))          # stable: ties keep the rule order
    findings = findings.take(order).reset_index(drop=True)
    block_of_row = np.repeat(np.arange(len(blocks)), sizes)[order]
    for name in blocks[0].constants:
        findings[name] = pd.Series([b.constants[name] for b in blocks]).take(block_of_row).reset_index(drop=True)
    findings["project_id"] = ids.take(p[order]).reset_index(drop=True)
    return findings


@dataclass
class _RowBlock:
    """Finding rows of one rule and one kind: the per-row columns, and the columns constant in the block."""

    frame: pd.DataFrame
    constants: dict[str, Any]


def _rows(rule: Rule, mask: np.ndarray, kind: str, n: int, *, hits: _Hits | None = None,
          reason: str | None = None) -> _RowBlock:
    """Finding rows of one rule and kind for the projects where ``mask`` is True.

    The columns are taken from the per-project arrays of ``hits`` at once; only the two message texts are
    formatted row by row.  The rule's own fields (id, titles, severity, source, ...) are kept once per block
    and spread over the rows by :func:`_assemble_findings`, after sorting.
    """
    idx = np.flatnonzero(mask)
    m = len(idx)
    if m == 0:
        return _RowBlock(pd.DataFrame(), {})
    severity = rule.severity if kind == "finding" else kind
    sev_zh = SEVERITY_ZH.get(severity, {"note": "备注", "not_evaluated": "未评估"}.get(severity, severity))
    constants = {"rule_id": rule.id, "kind": kind, "severity": severity, "severity_zh": sev_zh,
                 "rule_severity": rule.severity, "title_zh": rule.title_zh, "title_en": rule.title_en,
                 "role": rule.role, "predicate": rule.predicate, "test": rule.describe_test(),
                 "rule_source": rule.source, "assumption": rule.assumption}
    area = _numbers(hits.area if hits else None, idx)
    share = _numbers(hits.share if hits else None, idx)
    dist = _numbers(hits.distance if hits else None, idx)
    value = _pick(hits.value if hits else None, idx)
    names = [nm or "" for nm in _pick(hits.names if hits else None, idx)]
    synthetic = _flags(hits.synthetic if hits else None, idx)
    message_zh, message_en = _message_columns(rule, kind, reason, area, share, dist, value, names)
    return _RowBlock(pd.DataFrame({
        "_p": idx, "overlap_area_m2": area if rule.predicate != "within_distance" else [None] * m,
        "overlap_share": share, "distance_m": dist,
        "value": [None if v is None else str(v) for v in value], "features": [nm or None for nm in names],
        "message_zh": message_zh, "message_en": message_en, "feature_synthetic": synthetic,
    }), constants)


def _pick(values: Any, idx: np.ndarray) -> list[Any]:
    """``values[idx]`` as a list (``None`` for each row when ``values`` is None)."""
    if values is None:
        return [None] * len(idx)
    if isinstance(values, np.ndarray):
        return values[idx].tolist()
    return [values[i] for i in idx.tolist()]


def _numbers(values: Any, idx: np.ndarray) -> list[float | None]:
    """``values[idx]`` as Python floats, None where absent or not finite (:func:`_f` of each, vectorised)."""
    if values is None:
        return [None] * len(idx)
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiub":
        return [_f(v) for v in arr[idx].tolist()]
    x = arr[idx].astype(float)
    finite = np.isfinite(x)
    if finite.all():
        return x.tolist()
    out = x.astype(object)
    out[~finite] = None
    return out.tolist()


def _flags(values: Any, idx: np.ndarray) -> list[bool]:
    """``values[idx]`` as bools (False where absent)."""
    if values is None:
        return [False] * len(idx)
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr[idx].tolist()
    return [bool(s) if s is not None else False for s in arr[idx].tolist()]


def _f(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


# ============================================================================================ output tables
def _project_table(proj: _Projects, findings: pd.DataFrame, pieces: dict[str, _Pieces],
                   layers: dict[str, _Layer]) -> gpd.GeoDataFrame:
    n = len(proj.ids)
    rank = np.zeros(n, dtype=int)
    n_find = np.zeros(n, dtype=int)
    incomplete = np.zeros(n, dtype=bool)
    syn = np.zeros(n, dtype=bool)
    if len(findings):
        p = findings["_p"].to_numpy(dtype=int)
        hit = findings["kind"].to_numpy() == "finding"
        codes, severities = pd.factorize(findings["severity"])
        ranks = np.array([VERDICT_RANK.get(s, 0) for s in severities], dtype=int)[codes]
        np.maximum.at(rank, p[hit], ranks[hit])
        n_find = np.bincount(p[hit], minlength=n)
        incomplete[p[findings["kind"].to_numpy() == "not_evaluated"]] = True
        syn[p[findings["feature_synthetic"].to_numpy(dtype=bool)]] = True
    for role, pc in pieces.items():
        syn[pc.pi[layers[role].synthetic[pc.fi]]] = True
    # A verdict rests on every layer consulted — "no overlap with the red line" is only as good as the red
    # line — and on the project data itself, so any synthetic input marks every project.
    if any(bool(np.any(layer.synthetic)) for layer in layers.values()):
        syn[:] = True
    if "synthetic" in proj.frame.columns:
        syn |= proj.frame["synthetic"].fillna(False).astype(bool).to_numpy()
    # An applicable rule that could not be evaluated (layer or attribute missing) means the project still
    # needs assessment: an incomplete screening is never reported as compliant or as a mere notice.
    floor = VERDICT_RANK["needs_assessment"]
    rank = np.where(incomplete & (rank < floor) & (rank != VERDICT_RANK.get("outside_coverage", -1)),
                    floor, rank)
    by_rank = {r: v for v, r in VERDICT_RANK.items()}
    ranks_seen, at = np.unique(rank, return_inverse=True)
    verdicts_seen = [by_rank.get(r, "compliant") if r > 0 else "compliant" for r in ranks_seen.tolist()]
    verdict = np.array(verdicts_seen, dtype=object)[at.reshape(-1)]
    verdict_zh = np.array([VERDICT_ZH[v] for v in verdicts_seen], dtype=object)[at.reshape(-1)]
    counties = [""] * n
    if "admin_boundary" in pieces:
        pc = pieces["admin_boundary"]
        real = ~pc.sliver
        counties = _names_per_project(n, pc.pi[real], pc.fi[real], layers["admin_boundary"])
    return gpd.GeoDataFrame({
        "project_id": proj.id_text, "project_name": proj.names, "industry": proj.industry,
        "industry_name": proj.industry_name, "two_high": pd.array(proj.two_high, dtype="boolean"),
        "project_type": proj.project_type, "footprint": proj.footprint_kind, "footprint_area_m2": proj.area,
        "verdict": verdict, "verdict_zh": verdict_zh, "complete": ~incomplete,
        "n_findings": n_find, "counties": counties, "synthetic_data": syn,
    }, geometry=gpd.GeoSeries(proj.footprints, crs=proj.frame.crs), crs=proj.frame.crs)


def _take(frame: pd.DataFrame, name: str, fi: np.ndarray) -> pd.Series | np.ndarray:
    """Values of column ``name`` at rows ``fi``, keeping the column's dtype (None where the layer lacks it).

    Taking before converting keeps string columns in their (Arrow) storage: converting whole text columns to
    Python objects would cost more than the overlay itself on large layers.
    """
    if name not in frame.columns:
        return np.full(len(fi), None, dtype=object)
    return frame[name].take(fi).reset_index(drop=True)


def _feature_columns(frame: pd.DataFrame, fi: np.ndarray) -> dict[str, np.ndarray]:
    return {f"feature_{name}": _take(frame, name, fi) for name in _FEATURE_FIELDS}


def _overlap_table(proj: _Projects, layers: dict[str, _Layer], pieces: dict[str, _Pieces]) -> gpd.GeoDataFrame:
    """Overlap pieces (slivers excluded) with the overlapped features' attributes.

    Order: role (alphabetical), then project (input order), then largest piece first; equal areas (to the
    mm²) in layer order, so outputs are deterministic.  Sorting uses numeric keys only and text columns are
    taken once, in their (Arrow) storage.  A text column that joining the roles turns into Python objects
    anyway (e.g. the access lists, which only control units have) is decoded from the layer's distinct texts
    instead (:meth:`_Layer.objects_at`): the same values, without converting each one.
    """
    roles = [role for role in sorted(pieces) if not pieces[role].sliver.all()]
    columns = ["project_id", "role", "layer_id", *[f"feature_{f}" for f in _FEATURE_FIELDS], "overlap_area_m2",
               "overlap_share", "feature_synthetic", "feature_source", *ACCESS_LIST_FIELDS, "geometry"]
    if not roles:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns[:-1]},
                                geometry=gpd.GeoSeries([], crs=proj.frame.crs), crs=proj.frame.crs)
    as_objects = _joined_object_texts([layers[role] for role in roles])
    frames = []
    for role in roles:
        pc = pieces[role]
        real = np.flatnonzero(~pc.sliver)
        order = real[_piece_order(pc.pi[real], pc.area[real], pc.fi[real])]
        lay, objects = layers[role], as_objects[role]
        fi, pi, area = pc.fi[order], pc.pi[order], pc.area[order]
        cols: dict[str, Any] = {"_p": pi, "project_id": proj.id_text.take(pi).reset_index(drop=True),
                                "role": role, "layer_id": _text_at(lay, "layer_id", fi, objects)
                                if "layer_id" in lay.frame.columns else role}
        cols.update({f"feature_{name}": _text_at(lay, name, fi, objects) for name in _FEATURE_FIELDS})
        cols["overlap_area_m2"] = area
        cols["overlap_share"] = area / proj.area[pi]
        cols["feature_synthetic"] = lay.synthetic[fi]
        cols["feature_source"] = _text_at(lay, "source", fi, objects)
        for name in ACCESS_LIST_FIELDS:
            cols[name] = _text_at(lay, name, fi, objects)
        frames.append(gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(pc.geoms[order], crs=proj.frame.crs)))
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return gpd.GeoDataFrame(out[columns], geometry="geometry", crs=proj.frame.crs)


def _piece_order(pi: np.ndarray, area: np.ndarray, fi: np.ndarray) -> np.ndarray:
    """Order of pieces by project, then largest first (areas rounded to the mm²), then feature index.

    The same order as ``np.lexsort((fi, -np.round(area, 6), pi))``, computed as one unstable sort of a
    combined integer key (project, dense rank of the rounded area, feature): each (project, feature) pair
    occurs once, so the key is unique.  Stable sorts of floats are several times slower.
    """
    neg_area = -np.round(area, 6)
    if len(pi) == 0:
        return np.empty(0, dtype=np.int64)
    by_area = np.argsort(neg_area)
    ranked = neg_area[by_area]
    dense = np.empty(len(pi), dtype=np.int64)
    dense[by_area] = np.cumsum(np.r_[False, ranked[1:] != ranked[:-1]])
    n_rank, n_feat = int(dense.max()) + 1, int(fi.max()) + 1
    if (int(pi.max()) + 1) * n_rank * n_feat >= 2**62:            # key would overflow int64
        return np.lexsort((fi, neg_area, pi))
    return np.argsort((pi.astype(np.int64) * n_rank + dense) * n_feat + fi)


def _text_at(layer: _Layer, name: str, fi: np.ndarray, as_objects: set[str]) -> pd.Series | np.ndarray:
    """Column ``name`` of ``layer`` at rows ``fi``: decoded to Python objects if it is in ``as_objects``,
    else taken in its own dtype (:func:`_take`)."""
    if name in as_objects:
        return pd.Series(layer.objects_at(name, fi), dtype=object)
    return _take(layer.frame, name, fi)


#: Layer columns behind the text columns of the overlap table.
_OVERLAP_TEXTS = ("layer_id", "source", *_FEATURE_FIELDS, *ACCESS_LIST_FIELDS)


def _joined_object_texts(layers: list[_Layer]) -> dict[str, set[str]]:
    """Per role, the text columns (of Arrow string dtype) that ``pd.concat`` of the roles' overlap rows turns
    into Python objects.

    The joined dtype is that of the concatenated first rows (it does not depend on the length), built as
    :func:`_overlap_table` builds its columns: the layer's column, or None where the layer lacks it (the
    role's name for a missing ``layer_id``).
    """
    out: dict[str, set[str]] = {lay.role: set() for lay in layers}
    if len(layers) < 2:
        return out
    for name in _OVERLAP_TEXTS:
        heads = [lay.frame[name].iloc[:1].reset_index(drop=True) if name in lay.frame.columns
                 else pd.Series([lay.role] if name == "layer_id" else np.full(1, None, dtype=object))
                 for lay in layers]
        texts = [pd.api.types.is_string_dtype(h.dtype) and h.dtype != object for h in heads]
        if not any(texts) or len({h.dtype for h in heads}) == 1:
            continue
        if pd.concat(heads, ignore_index=True).dtype == object:
            for lay, is_text in zip(layers, texts):
                if is_text:
                    out[lay.role].add(name)
    return out


def _sliver_table(proj: _Projects, layers: dict[str, _Layer], pieces: dict[str, _Pieces]) -> pd.DataFrame:
    frames = []
    for role, pc in pieces.items():
        if not pc.sliver.any():
            continue
        lay = layers[role]
        fi = pc.fi[pc.sliver]
        area = pc.area[pc.sliver]
        width = pc.width[pc.sliver]
        feat = _feature_columns(lay.frame, fi)
        frames.append(pd.DataFrame({
            "_p": pc.pi[pc.sliver], "project_id": proj.ids[pc.pi[pc.sliver]], "role": role,
            "feature_code": feat["feature_code"], "feature_name": feat["feature_name"],
            "overlap_area_m2": area, "mean_width_m": width,
            "message_zh": [f"与{_role_zh(role)}的细小碎片重叠 {a:.3f} m²（平均宽度 {w:.3f} m），低于容差，不计为重叠"
                           for a, w in zip(area, width)],
            "message_en": [f"Sliver overlap with the {_role_en(role).lower()}: {a:.3f} m² (mean width {w:.3f} m), "
                           "below the tolerance, not counted as an overlap" for a, w in zip(area, width)],
        }))
    columns = ["project_id", "role", "feature_code", "feature_name", "overlap_area_m2", "mean_width_m",
               "message_zh", "message_en"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(frames, ignore_index=True).sort_values(["_p", "role"], kind="stable")
    return out[columns].reset_index(drop=True)


def _distance_table(proj: _Projects, layers: dict[str, _Layer], settings: ScreeningSettings,
                    ruleset: RuleSet) -> pd.DataFrame:
    roles = list(dict.fromkeys([*settings.distance_roles,
                                *sorted({r.role for r in ruleset if r.predicate == "within_distance"})]))
    frames = []
    for role in roles:
        if role not in layers or len(layers[role].geoms) == 0:
            continue
        lay = layers[role]
        nearest, dist = nearest_features(proj.footprints, lay.geoms, max_distance=settings.search_m)
        pi = np.flatnonzero(nearest >= 0)
        fi, d = nearest[pi], dist[pi]
        frames.append(pd.DataFrame({"_p": pi, "project_id": proj.ids[pi], "role": role,
                                    "feature_name": lay.labels[fi], "distance_m": d,
                                    "feature_synthetic": lay.synthetic[fi]}))
    columns = ["project_id", "role", "feature_name", "distance_m", "feature_synthetic"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(frames, ignore_index=True).sort_values(["_p"], kind="stable")
    return out[columns].reset_index(drop=True)
