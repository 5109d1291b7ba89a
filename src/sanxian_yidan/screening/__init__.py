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
  it gets the ``COV-01`` finding, ``complete`` false and, unless a more severe finding exists, the verdict
  ``outside_coverage`` — never a silent pass.  No finding rests on the absence of data: an absence rule
  ("not inside a park") tests the covered part of the footprint only, attribute rules skip projects wholly
  outside, and a distance rule whose search area leaves the coverage without finding anything is reported
  as partly not evaluated (:mod:`.coverage`).
* Projects all far outside the coverage are probably in the wrong CRS: screening names the candidate CRS
  that puts them inside (error) or warns.
* A project crossing county lines lists every county it overlaps (with area and share).
* A rule whose role the catalog lacks, or whose ``where`` field the layer lacks, is reported for every
  project it applies to as ``not_evaluated`` with the reason ("layer missing"); the project's ``complete``
  flag is then false.  The same holds when a rule's spatial test fires but the project's industry or type
  is unknown, so that it cannot be said whether the rule applies.
* An empty, degenerate, non-finite or sub-sliver footprint (or "degrees" beyond ±180°/±90°) is an error
  naming the feature and the likely fix; ``compliant`` needs a footprint of positive area inside the data.
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
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..analysis import Analysis, register
from ..catalog import Catalog
from ..errors import (
    InputFileError,
    problem,
)
from ..parallel import resolve_threads
from ..predicates import Hits
from ..progress import Progress, report_step
from ..provenance import display_path
from ..roles import role_vocabulary
from ..rules import (
    PROJECT_ROLE,
    SEVERITY_ZH,
    VERDICT_RANK,
    Rule,
    RuleSet,
    load_rules,
)
from ..schemas import assemble, schema
from . import columns
from .coverage import (
    Coverage,
    check_far_outside,
    coverage_of,
    coverage_rules,
)
from .evaluate import (
    MessageFormatter,  # noqa: F401  (public type alias, as before the split)
    ScreeningContext,
    message_columns,
)
from .inputs import (
    Layer,
    Pieces,
    check_radius,
    load_layer,
    pieces_for,
    prepare_projects,
    read_projects,
)
from .overlay import overlay_pieces
from .result import ACCESS_LIST_FIELDS, SCHEMA_VERSION, LayerUse, ScreeningResult
from .settings import ScreeningSettings, screening_settings
from .tables import distance_table, overlap_table, project_table, sliver_table

__all__ = [
    "ACCESS_LIST_FIELDS",
    "SCHEMA_VERSION",
    "ProgressCallback",
    "ScreeningResult",
    "ScreeningSettings",
    "PARAMETER_KEYS",
    "overlay_pieces",
    "read_projects",
    "run",
    "screen",
    "screening_settings",
]

#: The callback type of ``screen(progress=...)``: an alias of :data:`sanxian_yidan.progress.Progress`.
#: Changed in this version: it receives ``(label, steps_done, steps_total)``, no longer ``(label, fraction)``.
ProgressCallback = Progress

# ================================================================================================ screen
def _input_notes(projects: gpd.GeoDataFrame) -> list[str]:
    """What reading the project file assumed or repaired (CRS taken, X/Y swapped back, datum, encoding), each
    note in both languages, with the file's folder left out (reports name no absolute path)."""
    meta = projects.attrs.get("sanxian", {})
    parent = Path(meta["source_path"]).parent if meta.get("source_path") else None
    folder = str(parent) + os.sep if parent is not None and parent.is_absolute() else None
    return [str(w).replace(folder, "") if folder else str(w) for w in meta.get("warnings", [])]


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

    Warns
    -----
    SanxianWarning
        Every project lies far outside the coverage and no usual CRS puts them inside.

    Returns
    -------
    ScreeningResult
        Per-project table, overlap pieces, findings, distances, slivers and provenance; ``to_json``,
        ``to_gpkg``, ``to_csv``, ``to_records``.

    Raises
    ------
    CRSError
        Project file without a CRS and none stated; "degrees" beyond ±180°/±90° (metres under a WGS84
        ``.prj``, a mistyped latitude); every project far outside the coverage while another usual CRS of the
        region (``data/screening.toml`` [coverage]) puts them inside — the message names it.
    InputFileError
        Empty project geometry (naming the feature); a footprint that is nowhere — non-finite, off the Earth
        in the working CRS, or below the sliver tolerance (degrees under a metric CRS, ``radius_m=1e-9``,
        a collinear or tiny polygon); duplicate ids, bad radius; unknown industry code
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
    cat = catalog if isinstance(catalog, Catalog) else Catalog.load(catalog)
    if isinstance(projects, (str, Path)):
        # Path convenience only: the file is read here, at the boundary; the analysis takes a frame.
        projects, crs = read_projects(projects, crs=crs, layer=layer), None
    params = {"rules": rules, "industry": industry, "project_type": project_type, "radius_m": radius_m,
              "sliver_m2": sliver_m2, "crs": crs, "layer": layer, "threads": threads}
    return run(cat, projects, params, progress)


#: Keys of ``run(params=...)`` (the keyword arguments of :func:`screen` other than the inputs).
PARAMETER_KEYS = ("rules", "industry", "project_type", "radius_m", "sliver_m2", "crs", "layer", "threads")


def run(catalog: Catalog, projects: gpd.GeoDataFrame, params: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None) -> ScreeningResult:
    """Screen the projects of a frame against a catalog: the registered ``screening`` analysis.

    Parameters
    ----------
    catalog : Catalog
        Layer catalog (its ``admin_boundary`` layer defines the coverage).
    projects : GeoDataFrame
        Proposed projects (points, lines, polygons) with a CRS, or with ``params["crs"]`` stating it.
        Files are read by the caller (:func:`read_projects`, :func:`screen`).
    params : mapping, optional
        Any of :data:`PARAMETER_KEYS`, as the keyword arguments of :func:`screen`.
    progress : callable, optional
        ``progress(label, steps_done, steps_total)``.

    Returns
    -------
    ScreeningResult

    Raises
    ------
    InputFileError
        An unknown parameter key (listing the known ones), and every error :func:`screen` lists.
    """
    p = dict(params or {})
    unknown = sorted(set(p) - set(PARAMETER_KEYS))
    if unknown:
        raise InputFileError(problem("未知的研判参数。", f"Unknown screening parameter(s) {unknown}.",
                                     fix=f"use only {', '.join(PARAMETER_KEYS)}"))
    rules, industry, project_type, radius_m, sliver_m2, crs, layer, threads = (p.get(k) for k in PARAMETER_KEYS)
    # The CRS stated for a file read at the boundary (read_projects) is recorded with the run's parameters.
    stated_crs = crs if crs is not None else projects.attrs.get("sanxian", {}).get("crs_stated")
    settings = screening_settings()
    if threads is not None:
        if threads < 0:
            raise InputFileError(problem("线程数不能为负。", f"threads must be >= 0, got {threads}.",
                                         fix="pass threads=0 (one per core) or a positive number"))
        settings = dataclasses.replace(settings, threads=resolve_threads(threads))
    cat = catalog
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    radius = settings.default_radius_m if radius_m is None else float(radius_m)
    check_radius(radius, settings)
    sliver = settings.sliver_m2 if sliver_m2 is None else float(sliver_m2)
    if not math.isfinite(sliver) or sliver < 0:
        raise InputFileError(problem("细小碎片容差必须为非负数。", f"sliver_m2 must be >= 0 [m²], got {sliver_m2!r}.",
                                     fix="pass e.g. sliver_m2=1.0"))
    vocab = role_vocabulary()
    overlap_rule_roles = {r.role for r in ruleset if r.spec.uses_overlay}
    distance_rule_roles = {r.role for r in ruleset if r.spec.uses_distance}
    wanted = (set(settings.overlap_roles) | set(settings.distance_roles) | overlap_rule_roles
              | distance_rule_roles | {"admin_boundary"}) - {PROJECT_ROLE}
    wanted = {r for r in wanted if r in vocab and not vocab[r].is_raster}
    present = sorted(r for r in wanted if cat.has(r))
    missing_roles = sorted(wanted - set(present))
    layers: dict[str, Layer] = {}
    pieces: dict[str, Pieces] = {}
    steps = len(present) + len(ruleset) + 2
    report_step(progress, "读取项目 / reading projects", 0, steps)
    proj = prepare_projects(projects, cat.working_crs, settings, crs=crs, layer=layer, radius_m=radius,
                            industry=industry, project_type=project_type, sliver_m2=sliver)
    n = len(proj.ids)
    done = 0
    # The coverage layers first: where the data stop is known (and a wrong CRS caught) before the others.
    cov_roles = {r.role for r in coverage_rules(ruleset)}
    whole = cat.unrestricted().coverage() if cat.region is not None else None    # a county view's whole data
    coverage: Coverage | None = None
    for role in sorted(present, key=lambda r: r not in cov_roles):
        if coverage is None and role not in cov_roles:
            coverage = coverage_of(ruleset, layers, pieces, proj, settings, sliver, whole)
            check_far_outside(coverage, proj, cat.working_crs, settings)
        done += 1
        report_step(progress, f"叠加分析 / overlay: {role}", done, steps)
        lay = load_layer(cat, role)
        layers[role] = lay
        if lay.polygonal and (role in settings.overlap_roles or role in overlap_rule_roles):
            pieces[role] = pieces_for(lay, proj, settings, sliver)
    if coverage is None:
        coverage = coverage_of(ruleset, layers, pieces, proj, settings, sliver, whole)
        check_far_outside(coverage, proj, cat.working_crs, settings)

    # -- rules -----------------------------------------------------------------------------------------
    rows: list[_RowBlock] = []
    for rule in ruleset:
        done += 1
        report_step(progress, f"规则 / rule {rule.id}", done, steps)
        applies, undetermined = proj.applicability(rule)
        spec = rule.spec
        if spec.target == "project":
            # The rule set is that of the covered region: it says nothing about a project wholly outside.
            applies, undetermined = applies & ~coverage.nowhere, undetermined & ~coverage.nowhere
        if not (applies | undetermined).any():
            continue
        if spec.target == "layer" and rule.role not in layers:
            rows.append(_rows(rule, applies | undetermined, "not_evaluated", n, reason="layer_missing"))
            continue
        ctx = ScreeningContext(proj, layers, pieces, settings, sliver, coverage, applies | undetermined)
        hits = spec.evaluate(rule, ctx)
        if hits.missing_reason is not None:
            rows.append(_rows(rule, applies | undetermined, "not_evaluated", n, reason=hits.missing_reason))
            continue
        rows.extend(_rows(rule, o.mask, o.kind, n, hits=o.hits, reason=o.reason)
                    for o in spec.outcomes(rule, hits, applies, undetermined, ctx))
    findings = _assemble_findings(rows, proj.id_text)

    report_step(progress, "汇总 / assembling", steps - 1, steps)
    projects_out = project_table(proj, findings, pieces, layers, coverage)
    overlaps_out = overlap_table(proj, layers, pieces)
    slivers_out = sliver_table(proj, layers, pieces)
    distances_out = distance_table(proj, layers, settings, ruleset, coverage)
    findings = assemble("screening_findings", findings.drop(columns=["_p"])).reindex(
        columns=schema("screening_findings").names)
    used = [LayerUse(role, e.id, e.title_zh, e.title_en, bool(e.synthetic), e.source)
            for role in present for e in cat.entries_for(role)]
    params = {"radius_m": radius, "sliver_m2": sliver, "sliver_width_m": settings.sliver_width_m,
              "search_m": settings.search_m, "industry": industry, "project_type": project_type,
              "projects": display_path(proj.source), "catalog": display_path(cat.path) if cat.path else None,
              "working_crs": cat.working_crs, "rules_files": [display_path(f) for f in ruleset.files], "n_rules": len(ruleset),
              "crs": None if stated_crs is None else str(stated_crs), "threads": settings.threads,
              "settings_sources": dict(settings.sources),
              "input_notes": _input_notes(projects)}
    report_step(progress, "完成 / done", steps, steps)
    return ScreeningResult(projects=projects_out, overlaps=overlaps_out, findings=findings,
                           distances=distances_out, slivers=slivers_out, layers_used=used,
                           missing_roles=missing_roles, rules=ruleset, parameters=params,
                           repairs=proj.repairs)


#: Order of the kinds of finding rows within a project.
_KIND_ORDER = {"finding": 0, "not_evaluated": 1, "note": 2}


def _assemble_findings(blocks: list[_RowBlock], ids: pd.Series) -> pd.DataFrame:
    """Join the per-rule rows and sort them: by project, findings before not-evaluated rules before notes,
    most severe first; ties keep the rule order.

    The table is built once from the blocks' column parts (:mod:`.columns`, the dtypes of a frame per block
    joined with ``pd.concat``).  The sort keys and the rule's own columns are constant within a block, so they
    are repeated per block rather than looked up per row.
    """
    blocks = [b for b in blocks if len(b.p)]
    if not blocks:
        findings = columns.empty(["_p", *schema("screening_findings").names])
        findings["project_id"] = []
        return findings
    sizes = [len(b.p) for b in blocks]
    kind_key = np.repeat([_KIND_ORDER[b.constants["kind"]] for b in blocks], sizes)
    severity_key = np.repeat([-VERDICT_RANK.get(b.constants["severity"], 0) for b in blocks], sizes)
    p = np.concatenate([b.p for b in blocks])
    order = np.lexsort((severity_key, kind_key, p))          # stable: ties keep the rule order
    block_of_row = np.repeat(np.arange(len(blocks)), sizes)[order]
    cols: dict[str, Any] = {"_p": p[order]}
    for name in blocks[0].parts:
        cols[name] = columns.take(columns.join([b.parts[name] for b in blocks]), order)
    for name in blocks[0].constants:
        cols[name] = columns.take(columns.infer([b.constants[name] for b in blocks]), block_of_row)
    cols["project_id"] = ids.array.take(p[order])
    return columns.frame(cols)


@dataclass
class _RowBlock:
    """Finding rows of one rule and one kind: the rows' projects, their per-row column parts, and the columns
    constant in the block."""

    p: np.ndarray
    parts: dict[str, columns.Part]
    constants: dict[str, Any]


def _rows(rule: Rule, mask: np.ndarray, kind: str, n: int, *, hits: Hits | None = None,
          reason: str | None = None) -> _RowBlock:
    """Finding rows of one rule and kind for the projects where ``mask`` is True.

    The columns are taken from the per-project arrays of ``hits`` at once; only the two message texts are
    formatted row by row.  The rule's own fields (id, titles, severity, source, ...) are kept once per block
    and spread over the rows by :func:`_assemble_findings`, after sorting.
    """
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return _RowBlock(idx, {}, {})
    severity = rule.severity if kind == "finding" else kind
    sev_zh = SEVERITY_ZH.get(severity, {"note": "备注", "not_evaluated": "未评估"}.get(severity, severity))
    constants = {"rule_id": rule.id, "kind": kind, "reason": _reason_code(reason) if kind == "not_evaluated" else None,
                 "severity": severity, "severity_zh": sev_zh,
                 "rule_severity": rule.severity, "title_zh": rule.title_zh, "title_en": rule.title_en,
                 "role": rule.role, "predicate": rule.predicate, "test": rule.describe_test(),
                 "test_zh": rule.describe_test_zh(),
                 "rule_source": rule.source, "assumption": rule.assumption, "note_zh": rule.note_zh or None,
                 "note_en": rule.note_en or None}
    area = _numbers(hits.area if hits else None, idx)
    share = _numbers(hits.share if hits else None, idx)
    dist = _numbers(hits.distance if hits else None, idx)
    value = _pick(hits.value if hits else None, idx)
    names = [nm or "" for nm in _pick(hits.names if hits else None, idx)]
    synthetic = _flags(hits.synthetic if hits else None, idx)
    message_zh, message_en = message_columns(rule, kind, reason, area, share, dist, value, names)
    infer = columns.infer
    return _RowBlock(idx, {
        "overlap_area_m2": infer(area), "overlap_share": infer(share), "distance_m": infer(dist),
        "value": infer([None if v is None else str(v) for v in value]), "features": infer([nm or None for nm in names]),
        "message_zh": infer(message_zh), "message_en": infer(message_en), "feature_synthetic": infer(synthetic),
    }, constants)


#: Stable code of a reason text (by its start) why a rule was not evaluated; other reasons are codes already.
_REASON_CODES = {"field": "field_missing", "project attribute": "attribute_missing", "layer '": "layer_not_polygonal"}


def _reason_code(reason: str | None) -> str | None:
    """Stable code of why a rule was not evaluated (the ``reason`` of a finding row; the text is in the message)."""
    return next((code for start, code in _REASON_CODES.items() if reason.startswith(start)), reason) if reason \
        else reason


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
    return np.asarray(values)[idx].astype(bool).tolist()     # objects by their truth value: None is False


def _f(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def _from_options(catalog: Catalog, options: Mapping[str, Any], progress: ProgressCallback | None = None
                  ) -> ScreeningResult:
    """Screening from a study section: ``projects`` (a file, read here) and the :data:`PARAMETER_KEYS` given."""
    frame = read_projects(options["projects"], crs=options.get("crs"), layer=options.get("layer"))
    params = {k: options[k] for k in PARAMETER_KEYS if options.get(k) is not None and k != "crs"}
    return run(catalog, frame, params, progress)


register(Analysis("screening", "环境准入研判", "Access screening", run=run, result_type=ScreeningResult,
                  roles=("admin_boundary",), from_options=_from_options))
