"""Brownfield PV land: candidate sites, hard exclusions, net area, capacity, yield and a defended ranking.

Serves clause (十二) of Suizhou's pollution-and-carbon synergy plan ("探索利用废弃矿山、采煤沉陷区受损土地、
已封场垃圾填埋场、污染地块等因地制宜规划建设光伏发电") and issue 5 of the toolkit.

Steps (:func:`brownfield_ranking`)
---------------------------------
1. **Candidates** from the catalog roles ``mine_site``, ``subsidence_area``, ``landfill``,
   ``contaminated_site`` (and user parcels), each with a readiness score and eligibility from its
   status (``[[status]]`` of ``data/brownfield.toml``).
2. **Hard exclusions** (red line, basic farmland, level-1 water-source zones, nature reserves,
   heritage ranges, …) are cut away by polygon difference: the **net developable area** per site,
   and the excluded parts as their own layer with the reason.
3. **Criteria**: net area, slope and south-facing share (DEM), specific yield, distance to the
   nearest substation of the voltage class the plant needs, distance to roads, setback from
   built-up land, status.
4. **Capacity** from a cited power density, **yield** and **co-benefits**.
5. **Pre-screening** in the style of EPA RE-Powering (minimum area, distance to grid, slope).
6. **MCDA** score (weighted sum or TOPSIS, weights direct or AHP), rank of the sites that pass,
   and the Monte-Carlo probability ``p_top_k`` that each stays in the top k when the weights vary.

Every number comes from the data file with its source; results carry ``synthetic`` per site.

References
----------
.. [1] 随州市减污降碳协同增效实施方案, clauses (九) and (十二) (``../shared/docs/suizhou_synergy_plan.txt``).
.. [2] 自然资源部办公厅 国家林业和草原局办公室 国家能源局综合司《关于支持光伏发电产业发展规范用地管理有关
       工作的通知》自然资办发〔2023〕12号 (2023-03-20).
.. [3] NREL, reV (Renewable Energy Potential model): default PV power density 36 MW/km² (DC).
.. [4] U.S. EPA, RE-Powering America's Land: Pre-Screening (about five acres per megawatt; sites of at
       least five acres of developable area).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from .datafiles import deep_merge, load_toml, packaged_path
from .errors import CRSError, DataFileError, EmptyLayerError, InputFileError, SanxianWarning, problem
from . import rules
from .geomutil import nearest_features, polygonal_parts
from .progress import Progress, report_step

log = logging.getLogger(__name__)

#: Square metres per international acre (definition: 1 acre = 4,046.8564224 m²).
M2_PER_ACRE = 4046.8564224
#: Square metres per hectare.
M2_PER_HA = 10_000.0
#: Comparison operators allowed in pre-screening tests and mode rules.
OPERATORS = tuple(op for op in rules.OPS if op != "startswith")
DATA_FILE = "brownfield.toml"
#: Number of progress steps :func:`brownfield_ranking` reports (for progress bars).
RANKING_STEPS = 7



# =============================================================================================
# Parameters (data file → frozen dataclasses)
# =============================================================================================
@dataclass(frozen=True)
class CandidateRole:
    """A catalog role whose features are candidate PV land."""

    role: str
    zh: str
    en: str
    source: str


@dataclass(frozen=True)
class StatusRule:
    """Readiness [0-1] and eligibility of sites of ``role`` whose ``field`` is in ``values``."""

    role: str
    field: str
    values: tuple[str, ...]
    readiness: float
    eligible: bool
    reason_zh: str
    reason_en: str
    source: str


@dataclass(frozen=True)
class Exclusion:
    """A hard-exclusion layer: features of ``role`` (optionally filtered) cut away from sites."""

    role: str
    reason_zh: str
    reason_en: str
    source: str
    buffer_m: float = 0.0
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Density:
    """A PV power density for ground-mounted arrays."""

    name: str
    mw_per_ha: float
    basis: str
    source: str


@dataclass(frozen=True)
class GridClass:
    """Plants up to ``max_capacity_mw`` connect to a substation of at least ``min_voltage_kv``."""

    max_capacity_mw: float
    min_voltage_kv: float
    source: str


@dataclass(frozen=True)
class Condition:
    """One test ``column op value`` (pre-screen test or part of a mode rule)."""

    column: str
    op: str
    value: Any
    id: str = ""
    zh: str = ""
    en: str = ""
    on_missing: str = "flag"
    source: str = ""

    def label(self) -> str:
        """Short bilingual text of the test (for reasons and reports)."""
        text = " / ".join(t for t in (self.zh, self.en) if t)
        return text or f"{self.column} {self.op} {self.value!r}"

    @property
    def test(self) -> rules.Condition:
        """The same test in the screening rules' engine, which evaluates it (one set of semantics)."""
        return rules.Condition(self.column, self.op, self.value)


@dataclass(frozen=True)
class CriterionSpec:
    """A decision criterion as written in the data file (converted to an mcda criterion later)."""

    column: str
    transform: str
    benefit: bool
    weight: float | None
    options: Mapping[str, Any]
    source: str


@dataclass(frozen=True)
class AhpSpec:
    """Weights from an AHP pairwise-comparison matrix over ``order`` (criterion columns)."""

    order: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]
    force: bool
    source: str


@dataclass(frozen=True)
class McdaSpec:
    """Method, criteria, weights and Monte-Carlo settings."""

    method: str
    top_k: int
    n_samples: int
    seed: int
    criteria: tuple[CriterionSpec, ...]
    ahp: AhpSpec | None
    source: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BrownfieldParams:
    """All parameters of the brownfield ranking, each traceable to its source.

    Build with :func:`load_params`; fields mirror the tables of ``data/brownfield.toml``.
    """

    candidates: tuple[CandidateRole, ...]
    status: tuple[StatusRule, ...]
    status_default_readiness: float
    exclusions: tuple[Exclusion, ...]
    densities: Mapping[str, Density]
    default_density: str
    yield_round_deg: float
    yield_azimuth_deg: float
    yield_tilt_deg: float | None
    grid_region: str
    substation_role: str
    unknown_voltage: str
    grid_classes: tuple[GridClass, ...]
    road_roles: tuple[str, ...]
    setback_roles: tuple[str, ...]
    slope_threshold_deg: float
    south_range_deg: tuple[float, float]
    min_dem_coverage: float
    prescreen: tuple[Condition, ...]
    mcda: McdaSpec
    files: tuple[str, ...] = ()

    @property
    def density(self) -> Density:
        """The power density in force."""
        return self.densities[self.default_density]


def read_params_document(default_name: str, params: str | Path | Mapping[str, Any] | None
                         ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Packaged data file ``default_name`` merged with a user TOML file or mapping.

    The user document is merged over the packaged one with
    :func:`sanxian_yidan.datafiles.deep_merge` (tables merge, arrays of tables are replaced
    whole), so keys are required of the merged result.

    Returns
    -------
    (dict, tuple of str)
        The merged document and the files it came from (for provenance).
    """
    base_path = packaged_path(default_name)
    doc = load_toml(base_path)
    files = [str(base_path)]
    if params is None:
        return doc, tuple(files)
    if isinstance(params, Mapping):
        files.append("<parameters given as a mapping>")
        return deep_merge(doc, params), tuple(files)
    user = Path(params)
    files.append(str(user.resolve()))
    return deep_merge(doc, load_toml(user)), tuple(files)


class Problems:
    """Collects every problem of a parameter file so that they are reported together.

    Validators call :meth:`get`, :meth:`number` and :meth:`source` for each key (which record a
    problem and return ``None`` instead of raising), then :meth:`raise_if_any` once at the end:
    the planner sees every mistake of the file in one message.

    Parameters
    ----------
    file : str
        The file named in the error message (the user file when there is one).
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[str] = []

    def add(self, where: str, text: str) -> None:
        """Record one problem at ``where`` (a dotted location such as ``"[mcda]"``)."""
        self.items.append(f"{where}: {text}")

    def get(self, table: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str,
            default: Any = ..., *, required: bool = True) -> Any:
        """``table[key]`` checked against ``kinds`` (ints accepted where floats are).

        A missing key returns ``default`` when one is given, else records "missing required
        key" (if ``required``) and returns ``None``; a value of the wrong type is recorded and
        ``None`` returned.
        """
        if not isinstance(table, Mapping):
            self.add(where, "must be a table")
            return None
        if key not in table:
            if default is not ...:
                return default
            if required:
                self.add(where, f"missing required key '{key}'")
            return None
        value = table[key]
        kinds_t = kinds if isinstance(kinds, tuple) else (kinds,)
        if float in kinds_t and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds_t) or (isinstance(value, bool) and bool not in kinds_t):
            names = " or ".join(k.__name__ for k in kinds_t)
            self.add(where, f"'{key}' must be {names}, got {type(value).__name__} {value!r}")
            return None
        return value

    def number(self, table: Mapping[str, Any], key: str, where: str, *, lo: float | None = None,
               hi: float | None = None, default: Any = ..., allow_inf: bool = False) -> float | None:
        """A finite number in ``[lo, hi]`` (infinity only if ``allow_inf``), else a recorded problem."""
        value = self.get(table, key, (int, float), where, default)
        if value is None or value is ...:
            return value
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            self.add(where, f"'{key}' must be a finite number, got {value}")
            return None
        if lo is not None and value < lo:
            self.add(where, f"'{key}' = {value} is below the allowed minimum {lo}")
            return None
        if hi is not None and value > hi:
            self.add(where, f"'{key}' = {value} is above the allowed maximum {hi}")
            return None
        return value

    def source(self, table: Mapping[str, Any], where: str) -> str:
        """The entry's non-empty ``source`` text, else a recorded problem and ``""``."""
        src = table.get("source") if isinstance(table, Mapping) else None
        if not isinstance(src, str) or not src.strip():
            self.add(where, "every entry needs a non-empty 'source' (document and clause, dataset, or "
                            "'assumption (labelled)' with the reasoning)")
            return ""
        return src

    def raise_if_any(self, what: str) -> None:
        """Raise one :class:`DataFileError` listing every recorded problem (if any).

        Parameters
        ----------
        what : str
            Bilingual name of the parameter set, e.g. ``"棕地光伏 / brownfield"``.
        """
        if self.items:
            raise DataFileError(problem(
                f"{what}参数文件有 {len(self.items)} 处错误。",
                f"The {what} parameter file has {len(self.items)} problem(s):\n  - " + "\n  - ".join(self.items),
                file=self.file, fix="correct each key listed (see the packaged file for the format)"))


def parse_condition(raw: Any, where: str, probs: Problems, *, prescreen: bool = False) -> Condition | None:
    """Validate one ``{column, op, value}`` table (pre-screen test or mode-rule condition)."""
    if not isinstance(raw, Mapping):
        probs.add(where, "must be a table with column, op and value")
        return None
    column = probs.get(raw, "column", str, where)
    op = probs.get(raw, "op", str, where)
    if op is not None and op not in OPERATORS:
        probs.add(where, f"op '{op}' is not one of {list(OPERATORS)}")
        op = None
    if "value" not in raw:
        probs.add(where, "missing required key 'value'")
        return None
    value = raw["value"]
    if op in ("in", "not_in") and not isinstance(value, list):
        probs.add(where, f"op '{op}' needs a list value, got {value!r}")
        return None
    if op in ("<", "<=", ">", ">=") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        probs.add(where, f"op '{op}' needs a number, got {value!r}")
        return None
    on_missing = raw.get("on_missing", "flag")
    if on_missing not in ("fail", "flag", "pass"):
        probs.add(where, f"on_missing must be 'fail', 'flag' or 'pass', got {on_missing!r}")
    src = probs.source(raw, where) if prescreen else str(raw.get("source", ""))
    if column is None or op is None:
        return None
    return Condition(column=column, op=op, value=tuple(value) if isinstance(value, list) else value,
                     id=str(raw.get("id", column)), zh=str(raw.get("zh", "")), en=str(raw.get("en", "")),
                     on_missing=on_missing, source=src)


def parse_criteria(raw_list: Any, where: str, probs: Problems) -> tuple[CriterionSpec, ...]:
    """Validate ``[[criteria]]``: column, transform, benefit, weight (>= 0) and source."""
    if not isinstance(raw_list, list) or not raw_list:
        probs.add(where, "at least one [[criteria]] entry is needed")
        return ()
    out = []
    for i, raw in enumerate(raw_list):
        w = f"{where}[{i}]"
        if not isinstance(raw, Mapping):
            probs.add(w, "must be a table")
            continue
        column = probs.get(raw, "column", str, w)
        transform = probs.get(raw, "transform", str, w, "linear")
        benefit = probs.get(raw, "benefit", bool, w, True)
        weight = raw.get("weight")
        if weight is not None:
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or math.isnan(weight):
                probs.add(w, f"'weight' must be a number, got {weight!r}")
                weight = None
            elif weight < 0:
                probs.add(w, f"'weight' = {weight} is negative; weights must be >= 0 "
                             "(a cost criterion is written with benefit = false, not a negative weight)")
                weight = None
            else:
                weight = float(weight)
        src = probs.source(raw, w)
        options = {k: v for k, v in raw.items() if k not in ("column", "transform", "benefit", "weight", "source")}
        if column is not None:
            out.append(CriterionSpec(column, transform or "linear", bool(benefit), weight, options, src))
    return tuple(out)


def parse_mcda(doc: Mapping[str, Any], probs: Problems, *, criteria_key: str = "criteria") -> McdaSpec | None:
    """Validate ``[mcda]`` (+ optional ``[mcda.ahp]``) and the criteria list.

    ``method``, ``top_k``, ``n_samples``, ``seed`` and ``source`` are required in ``[mcda]`` (the
    packaged data files give them; a user file only overrides them).

    Returns
    -------
    McdaSpec or None
        ``None`` when a required value is missing or invalid (the problem is recorded in
        ``probs``, which the caller raises).
    """
    raw = doc.get("mcda", {})
    where = "[mcda]"
    if not isinstance(raw, Mapping):
        probs.add(where, "must be a table")
        raw = {}
    method = probs.get(raw, "method", str, where)
    if method is not None and method not in ("weighted_sum", "topsis"):
        probs.add(where, f"method must be 'weighted_sum' or 'topsis', got {method!r}")
        method = None
    top_k = probs.get(raw, "top_k", int, where)
    n_samples = probs.get(raw, "n_samples", int, where)
    seed = probs.get(raw, "seed", int, where)
    if isinstance(top_k, int) and top_k < 1:
        probs.add(where, f"top_k must be >= 1, got {top_k}")
        top_k = None
    if isinstance(n_samples, int) and n_samples < 0:
        probs.add(where, f"n_samples must be >= 0, got {n_samples}")
        n_samples = None
    src = probs.source(raw, where)
    criteria = parse_criteria(doc.get(criteria_key), f"[[{criteria_key}]]", probs)
    ahp = None
    raw_ahp = raw.get("ahp")
    if raw_ahp is not None:
        w = "[mcda.ahp]"
        order = probs.get(raw_ahp, "order", list, w)
        matrix = probs.get(raw_ahp, "matrix", list, w)
        force = probs.get(raw_ahp, "force", bool, w, False)
        asrc = probs.source(raw_ahp, w)
        if order is not None and matrix is not None:
            cols = [c.column for c in criteria]
            if sorted(order) != sorted(cols):
                probs.add(w, f"order {order} must list exactly the criteria columns {cols}")
            if len(matrix) != len(order) or any(not isinstance(r, list) or len(r) != len(order) for r in matrix):
                probs.add(w, f"matrix must be {len(order)}×{len(order)} (one row and column per criterion in order)")
            else:
                try:
                    ahp = AhpSpec(tuple(order), tuple(tuple(float(v) for v in r) for r in matrix), bool(force), asrc)
                except (TypeError, ValueError):
                    probs.add(w, "matrix entries must be numbers")
    elif isinstance(doc.get(criteria_key), list) and any(
            isinstance(c, Mapping) and "weight" not in c for c in doc[criteria_key]):
        probs.add(f"[[{criteria_key}]]", "every criterion needs a 'weight' unless [mcda.ahp] gives the weights")
    options = {k: v for k, v in raw.items() if k not in ("method", "top_k", "n_samples", "seed", "source", "ahp")}
    if method is None or top_k is None or n_samples is None or seed is None:
        return None
    return McdaSpec(method=method, top_k=int(top_k), n_samples=int(n_samples), seed=int(seed), criteria=criteria,
                    ahp=ahp, source=src, options=options)


def load_params(params: str | Path | Mapping[str, Any] | BrownfieldParams | None = None) -> BrownfieldParams:
    """Load the brownfield parameters: packaged defaults, optionally overridden by a user file.

    Parameters
    ----------
    params : path, mapping or BrownfieldParams, optional
        A user TOML file (or an already parsed mapping) whose tables override those of
        ``data/brownfield.toml``; arrays of tables are replaced whole.

    Returns
    -------
    BrownfieldParams

    Raises
    ------
    DataFileError
        Listing every problem found (missing ``source``, negative weight, unknown operator, a
        required key missing from the merged document, …).  Every number the ranking uses is
        required: the code holds no fallback values (``[status_default] readiness``,
        ``[yield] location_round_deg`` / ``azimuth_deg`` / ``grid``, ``[terrain]`` thresholds,
        ``[mcda] method`` / ``top_k`` / ``n_samples`` / ``seed``, …).
    """
    if isinstance(params, BrownfieldParams):
        return params
    doc, files = read_params_document(DATA_FILE, params)
    probs = Problems(files[-1])

    candidates = []
    for role, raw in (doc.get("candidates") or {}).items():
        w = f"[candidates.{role}]"
        if not isinstance(raw, Mapping):
            probs.add(w, "must be a table")
            continue
        candidates.append(CandidateRole(role, str(raw.get("zh", role)), str(raw.get("en", role)), probs.source(raw, w)))
    if not candidates:
        probs.add("[candidates]", "at least one candidate role is needed")

    status = []
    for i, raw in enumerate(doc.get("status", [])):
        w = f"[[status]][{i}]"
        role = probs.get(raw, "role", str, w)
        fld = probs.get(raw, "field", str, w)
        values = probs.get(raw, "values", list, w)
        readiness = probs.number(raw, "readiness", w, lo=0.0, hi=1.0)
        eligible = probs.get(raw, "eligible", bool, w, True)
        src = probs.source(raw, w)
        if None not in (role, fld, values, readiness):
            status.append(StatusRule(role, fld, tuple(str(v) for v in values), readiness, bool(eligible),
                                     str(raw.get("reason_zh", "")), str(raw.get("reason_en", "")), src))
    sd = doc.get("status_default", {})
    default_readiness = probs.number(sd, "readiness", "[status_default]", lo=0.0, hi=1.0)
    probs.source(sd, "[status_default]")

    exclusions = [parse_exclusion(raw, f"[[exclusions]][{i}]", probs)
                  for i, raw in enumerate(doc.get("exclusions", []))]

    cap = doc.get("capacity", {})
    densities = {}
    for name, raw in (cap.get("densities") or {}).items():
        w = f"[capacity.densities.{name}]"
        if "mw_per_ha" in raw:
            mw_per_ha = probs.number(raw, "mw_per_ha", w, lo=0.0)
        elif "acres_per_mw" in raw:
            acres = probs.number(raw, "acres_per_mw", w, lo=0.0)
            mw_per_ha = None if not acres else M2_PER_HA / (acres * M2_PER_ACRE)
        else:
            probs.add(w, "give mw_per_ha or acres_per_mw")
            mw_per_ha = None
        if mw_per_ha is not None and mw_per_ha <= 0:
            probs.add(w, "the power density must be > 0")
            mw_per_ha = None
        src = probs.source(raw, w)
        if mw_per_ha is not None:
            densities[name] = Density(name, float(mw_per_ha), str(raw.get("basis", "")), src)
    default_density = probs.get(cap, "default", str, "[capacity]")
    if default_density is not None and default_density not in densities:
        probs.add("[capacity]", f"default density '{default_density}' is not among {sorted(densities)}")

    yl = doc.get("yield", {})
    round_deg = probs.number(yl, "location_round_deg", "[yield]", lo=0.0)
    azimuth = probs.number(yl, "azimuth_deg", "[yield]", lo=0.0, hi=360.0)
    # no tilt_deg means "the optimal fixed tilt" (solar.optimal_tilt), not a hidden number
    tilt = probs.number(yl, "tilt_deg", "[yield]", lo=0.0, hi=90.0, default=None)
    grid_region = probs.get(yl, "grid", str, "[yield]")

    grid = doc.get("grid", {})
    substation_role = probs.get(grid, "role", str, "[grid]")
    unknown_voltage = probs.get(grid, "unknown_voltage", str, "[grid]")
    if unknown_voltage is not None and unknown_voltage not in ("exclude", "include"):
        probs.add("[grid]", f"unknown_voltage must be 'exclude' or 'include', got {unknown_voltage!r}")
    classes = []
    for i, raw in enumerate(grid.get("classes", [])):
        w = f"[[grid.classes]][{i}]"
        mx = probs.number(raw, "max_capacity_mw", w, lo=0.0, allow_inf=True)
        kv = probs.number(raw, "min_voltage_kv", w, lo=0.0)
        src = probs.source(raw, w)
        if mx is not None and kv is not None:
            classes.append(GridClass(mx, kv, src))
    classes.sort(key=lambda c: c.max_capacity_mw)
    if not classes:
        probs.add("[grid]", "at least one [[grid.classes]] entry is needed")

    road_roles = probs.get(doc.get("access", {}), "road_roles", list, "[access]")
    setback_roles = probs.get(doc.get("setback", {}), "roles", list, "[setback]")

    terr = doc.get("terrain", {})
    slope_thr = probs.number(terr, "slope_threshold_deg", "[terrain]", lo=0.0, hi=90.0)
    s_min = probs.number(terr, "south_min_deg", "[terrain]", lo=0.0, hi=360.0)
    s_max = probs.number(terr, "south_max_deg", "[terrain]", lo=0.0, hi=360.0)
    min_cov = probs.number(terr, "min_dem_coverage", "[terrain]", lo=0.0, hi=1.0)

    prescreen = [parse_condition(raw, f"[[prescreen]][{i}]", probs, prescreen=True)
                 for i, raw in enumerate(doc.get("prescreen", []))]
    mcda = parse_mcda(doc, probs)
    probs.raise_if_any("棕地光伏 / brownfield")
    return BrownfieldParams(
        candidates=tuple(candidates), status=tuple(status), status_default_readiness=float(default_readiness),
        exclusions=tuple(e for e in exclusions if e is not None), densities=densities,
        default_density=str(default_density), yield_round_deg=float(round_deg), yield_azimuth_deg=float(azimuth),
        yield_tilt_deg=tilt, grid_region=str(grid_region), substation_role=str(substation_role),
        unknown_voltage=str(unknown_voltage), grid_classes=tuple(classes),
        road_roles=tuple(map(str, road_roles)), setback_roles=tuple(map(str, setback_roles)),
        slope_threshold_deg=float(slope_thr), south_range_deg=(float(s_min), float(s_max)),
        min_dem_coverage=float(min_cov), prescreen=tuple(c for c in prescreen if c is not None), mcda=mcda,
        files=files)


def parse_exclusion(raw: Any, where: str, probs: Problems) -> Exclusion | None:
    """Validate one ``[[exclusions]]`` entry."""
    if not isinstance(raw, Mapping):
        probs.add(where, "must be a table")
        return None
    role = probs.get(raw, "role", str, where)
    # an exclusion without buffer_m cuts the zone itself (0 m is "no buffer", not a tuned value)
    buffer_m = probs.number(raw, "buffer_m", where, lo=0.0, default=0.0)
    src = probs.source(raw, where)
    where_tbl = raw.get("where", {})
    filt = []
    if not isinstance(where_tbl, Mapping):
        probs.add(where, "'where' must be a table { field = [values] }")
    else:
        for fld, vals in where_tbl.items():
            vals = vals if isinstance(vals, list) else [vals]
            filt.append((str(fld), tuple(str(v) for v in vals)))
    if role is None:
        return None
    return Exclusion(role=role, reason_zh=str(raw.get("reason_zh", role)), reason_en=str(raw.get("reason_en", role)),
                     source=src, buffer_m=float(buffer_m or 0.0), where=tuple(filt))


# =============================================================================================
# Geometry helpers
# =============================================================================================
def grouped_union(geoms: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union geometries that share a group id.

    Groups with a single member are passed through; only groups with several members call
    ``shapely.union_all`` (so the Python-level work is proportional to the number of
    overlapping groups, not to the number of geometries).

    Parameters
    ----------
    geoms : ndarray of geometries
    groups : ndarray of int
        Group id per geometry.

    Returns
    -------
    (ids, unions) : ndarray, ndarray
        Sorted unique group ids and the union per group.
    """
    order = np.argsort(groups, kind="stable")
    g_sorted = groups[order]
    geoms_sorted = np.asarray(geoms, dtype=object)[order]
    ids, starts, counts = np.unique(g_sorted, return_index=True, return_counts=True)
    unions = geoms_sorted[starts].copy()
    for j in np.flatnonzero(counts > 1):
        unions[j] = shapely.union_all(geoms_sorted[starts[j]:starts[j] + counts[j]])
    return ids, unions


def _require_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> None:
    if gdf.crs is None or not gdf.crs.is_projected:
        raise CRSError(problem(
            f"{what}没有投影坐标系，无法计算面积/距离。",
            f"{what} must be in a projected CRS in metres (got {gdf.crs}).",
            fix="reproject to the working CRS (EPSG:4547) first, e.g. gdf.to_crs('EPSG:4547')"))


# =============================================================================================
# Capacity
# =============================================================================================
def ground_capacity_mw(polygons: gpd.GeoSeries | gpd.GeoDataFrame, *, mw_per_ha: float | None = None,
                       density: str | None = None) -> pd.Series:
    """Installable PV capacity of ground-mounted arrays on each polygon [MW].

    ``capacity_mw = area_m2 / 10,000 × mw_per_ha``.

    Parameters
    ----------
    polygons : GeoSeries or GeoDataFrame
        Net developable land in a projected CRS (metres).
    mw_per_ha : float, optional
        Power density [MW/ha]; overrides ``density``.
    density : str, optional
        Name of a density of ``data/brownfield.toml``: ``"nrel_rev"`` (default, 36 MW/km² DC [1]_)
        or ``"epa_repowering"`` (about 5 acres per MW, 0.494 MW/ha [2]_).

    Returns
    -------
    pandas.Series
        Capacity [MW] with the index of ``polygons``; ``attrs["source"]`` names the density used.

    Raises
    ------
    CRSError
        If the polygons are not in a projected CRS.
    ValueError
        If ``mw_per_ha`` is not a positive finite number or ``density`` is unknown.

    References
    ----------
    .. [1] NREL reV default PV power density, 36 MW/km² (DC).
    .. [2] U.S. EPA RE-Powering America's Land, Pre-Screening: a five-acre solar site supports up to 1 MW.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> float(ground_capacity_mw(gpd.GeoSeries([shapely.box(0, 0, 100, 100)], crs="EPSG:4547")).iloc[0])
    0.36
    """
    _require_projected(polygons, "地块 / The polygons")
    if mw_per_ha is None:
        params = load_params()
        name = density or params.default_density
        if name not in params.densities:
            raise DataFileError(problem(
                f"未知的功率密度 '{name}'。", f"Unknown power density '{name}'.",
                fix=f"use one of {sorted(params.densities)} or give mw_per_ha"))
        chosen = params.densities[name]
        mw_per_ha, source = chosen.mw_per_ha, chosen.source
    else:
        source = "mw_per_ha given by the caller"
    if isinstance(mw_per_ha, bool) or not np.isfinite(mw_per_ha) or mw_per_ha <= 0:
        raise InputFileError(problem(
            "功率密度必须为正数。", f"mw_per_ha must be a positive finite number, got {mw_per_ha!r}.",
            fix="give the density in MW per hectare, e.g. 0.36 (NREL reV, 36 MW/km² DC)"))
    geoms = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
    area = shapely.area(geoms.values)
    area = np.where(np.isfinite(area), area, 0.0)
    out = pd.Series(area / M2_PER_HA * float(mw_per_ha), index=polygons.index, name="capacity_mw")
    out.attrs["source"] = source
    out.attrs["mw_per_ha"] = float(mw_per_ha)
    return out


# =============================================================================================
# Candidates
# =============================================================================================
#: Attribute columns carried from the candidate layers (when present) into the result.
CARRIED_FIELDS = ("name", "status", "remediation_status", "risk_class", "mineral", "closed_year", "county")


def canonical_order(gdf: gpd.GeoDataFrame, keys: Sequence[str]) -> np.ndarray:
    """Row order that depends only on content, not on the order of the input features.

    Rows are sorted by the ``keys`` columns (as text), then by the WKB of the normalised
    geometry, so that a ranking (whose ties are broken by row id) is the same whatever order the
    source file lists its features in.

    Parameters
    ----------
    gdf : GeoDataFrame
    keys : sequence of str
        Columns to sort by first (may be empty: geometry only).

    Returns
    -------
    numpy.ndarray
        Positions (for ``gdf.iloc``) in canonical order.
    """
    wkb = shapely.to_wkb(shapely.normalize(gdf.geometry.values), hex=True)
    frame = pd.DataFrame({k: gdf[k].astype(str).to_numpy() for k in keys})
    frame["__wkb"] = wkb
    return np.lexsort([frame[c].to_numpy() for c in reversed(list(frame.columns))])


def read_parcels(parcels: str | Path | gpd.GeoDataFrame, working_crs: str) -> gpd.GeoDataFrame:
    """User parcels → polygons in the working CRS (through read_vector + normalise).

    Parameters
    ----------
    parcels : path or GeoDataFrame
        Any format :func:`sanxian_yidan.read_vector` reads (GBK shapefile, land-boundary TXT, …),
        or a GeoDataFrame with a CRS.
    working_crs : str
        Target CRS.
    """
    from .io.vector import read_vector
    from .normalize import normalise

    name = str(parcels) if not isinstance(parcels, gpd.GeoDataFrame) else "<GeoDataFrame parcels>"
    gdf = read_vector(parcels) if not isinstance(parcels, gpd.GeoDataFrame) else parcels
    if gdf.crs is None:
        raise CRSError(problem("地块没有坐标系。", "The parcels have no CRS.", file=name,
                               fix="set the CRS (gdf.set_crs(...)) or read the file with read_vector(path, crs=...)"))
    gdf = normalise(gdf, working_crs, expected="polygon", file=name)
    if len(gdf) == 0:
        raise EmptyLayerError(problem("地块图层为空。", "The parcels layer has no usable polygon.", file=name,
                                      fix="check the file"))
    return gdf


def candidate_sites(catalog: Any, params: BrownfieldParams, *,
                    parcels: str | Path | gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Collect the candidate sites of every candidate role in the catalog (and user parcels).

    Parameters
    ----------
    catalog : Catalog
        Layer catalog (``sanxian_yidan.catalog.Catalog``).
    params : BrownfieldParams
    parcels : path or GeoDataFrame, optional
        Extra candidate parcels (site type ``parcel``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site in a canonical order (independent of input order) with ``site_id``,
        ``site_type``, ``site_type_zh``, carried attributes, ``gross_area_m2``, ``synthetic``,
        ``source``, ``layer_id``.
    """
    frames = []
    for cand in params.candidates:
        if cand.role == "parcel":
            continue
        if not catalog.has(cand.role):
            log.info("catalog has no layer with role %s; no %s candidates", cand.role, cand.en)
            continue
        gdf = catalog.read(cand.role)
        if len(gdf) == 0:
            continue
        frames.append(site_frame(gdf, cand, ids=gdf["layer_id"].astype(str) + "-" + gdf["src_fid"].astype(str)))
    if parcels is not None:
        cand = next((c for c in params.candidates if c.role == "parcel"),
                    CandidateRole("parcel", "用户提供地块", "User parcel", "user input"))
        gdf = read_parcels(parcels, catalog.working_crs)
        for col, default in (("synthetic", False), ("source", "user parcels"), ("layer_id", "parcels")):
            if col not in gdf.columns:
                gdf[col] = default
        if "name" not in gdf.columns:
            gdf["name"] = ""
        # ids from the parcel's own name or id when unique, else from its content (never from row order)
        ident = next((c for c in ("id", "parcel_id", "code", "name") if c in gdf.columns
                      and gdf[c].astype(str).str.len().gt(0).all() and gdf[c].astype(str).is_unique), None)
        if ident is not None:
            ids = "parcel-" + gdf[ident].astype(str)
        else:
            order = canonical_order(gdf, [])
            rank = np.empty(len(gdf), dtype=int)
            rank[order] = np.arange(len(gdf))
            ids = pd.Series([f"parcel-{r:04d}" for r in rank], index=gdf.index)
        frames.append(site_frame(gdf, cand, ids=ids))
    if not frames:
        raise EmptyLayerError(problem(
            "没有候选地块：图层目录中没有矿山、沉陷区、填埋场或污染地块图层，也未提供地块。",
            "No candidate sites: the catalog has none of the roles "
            f"{[c.role for c in params.candidates if c.role != 'parcel']} and no parcels were given.",
            file=getattr(catalog, "path", None), fix="add such layers to the catalog or pass --parcels FILE"))
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    if not sites["site_id"].is_unique:
        dup = sites.loc[sites["site_id"].duplicated(), "site_id"].tolist()[:5]
        raise InputFileError(problem("地块编号重复。", f"Duplicate site ids {dup}.",
                                     fix="give each parcel a unique 'id' or 'name'"))
    order = canonical_order(sites, ["site_type", "site_id"])
    return sites.iloc[order].reset_index(drop=True)


def site_frame(gdf: gpd.GeoDataFrame, cand: CandidateRole, *, ids: pd.Series) -> gpd.GeoDataFrame:
    """Candidate features of one role as the common site table.

    Parameters
    ----------
    gdf : GeoDataFrame
        Normalised catalog layer (or user parcels) in the working CRS.
    cand : CandidateRole
        The role, with its Chinese name for ``site_type_zh``.
    ids : pandas.Series
        Stable site id per feature (from the layer id and source feature id, never the row order).

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id``, ``site_type``, ``site_type_zh``, the :data:`CARRIED_FIELDS` (``None`` where the
        layer lacks them), ``synthetic``, ``source``, ``layer_id``, ``gross_area_m2`` [m²] and the
        polygonal part of each geometry.
    """
    data: dict[str, Any] = {"site_id": ids.to_numpy(), "site_type": cand.role, "site_type_zh": cand.zh}
    for col in CARRIED_FIELDS:
        data[col] = gdf[col].to_numpy() if col in gdf.columns else None
    data["synthetic"] = gdf["synthetic"].astype(bool).to_numpy() if "synthetic" in gdf.columns else False
    data["source"] = gdf["source"].astype(str).to_numpy() if "source" in gdf.columns else ""
    data["layer_id"] = gdf["layer_id"].astype(str).to_numpy() if "layer_id" in gdf.columns else cand.role
    geoms = polygonal_parts(gdf.geometry.values)
    out = gpd.GeoDataFrame(data, geometry=geoms, crs=gdf.crs)
    out["gross_area_m2"] = shapely.area(geoms)
    return out


def site_readiness(sites: pd.DataFrame, params: BrownfieldParams) -> pd.DataFrame:
    """Readiness [0-1], eligibility and reasons per site from its status fields.

    Every ``[[status]]`` entry whose role, field and value match applies: readiness is the
    lowest matched value, eligibility requires all matched entries to allow it.  Sites that no
    entry matches get ``[status_default]`` and the note "status unknown".

    Returns
    -------
    pandas.DataFrame
        ``readiness``, ``eligible`` (bool), ``status_notes`` (list of str) aligned with ``sites``.
    """
    n = len(sites)
    readiness = np.full(n, np.inf)
    eligible = np.ones(n, dtype=bool)
    matched = np.zeros(n, dtype=bool)
    notes: list[list[str]] = [[] for _ in range(n)]
    stype = sites["site_type"].to_numpy()
    for rule in params.status:
        if rule.field not in sites.columns:
            continue
        vals = sites[rule.field].astype(str).str.strip().to_numpy()
        hit = (stype == rule.role) & np.isin(vals, rule.values)
        if not hit.any():
            continue
        matched |= hit
        readiness[hit] = np.minimum(readiness[hit], rule.readiness)
        if not rule.eligible:
            eligible[hit] = False
        if rule.reason_zh or rule.reason_en:
            text = f"{rule.reason_zh} / {rule.reason_en}".strip(" /")
            for i in np.flatnonzero(hit):
                notes[i].append(text)
    readiness[~matched] = params.status_default_readiness
    for i in np.flatnonzero(~matched):
        notes[i].append("状态未知 / status unknown")
    return pd.DataFrame({"readiness": readiness, "eligible": eligible, "status_notes": notes}, index=sites.index)


# =============================================================================================
# Hard exclusions → net developable area
# =============================================================================================
def exclusion_layers(catalog: Any, exclusions: Iterable[Exclusion]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read, filter and buffer the exclusion layers of the catalog.

    Returns
    -------
    (GeoDataFrame, list of str)
        Exclusion polygons with ``reason_role``, ``reason_zh``, ``reason_en``, ``rule_source``,
        ``synthetic``; and notes on exclusions that could not be applied as written (role
        missing in the catalog, filter field missing) — those are reported, never silently skipped.

    Notes
    -----
    A filter (``where = { field = [values] }``) whose field the layer does not have cannot tell
    which features match, so every feature is taken as matching that field (the other filter
    fields still apply): for a hard exclusion the conservative error is to exclude too much,
    never to let a site into a protected zone.  E.g. a water-source layer without ``level``
    is excluded whole, level-2 zones included, and a run note names the layer and the field.
    """
    frames, notes = [], []
    for ex in exclusions:
        if not catalog.has(ex.role):
            notes.append(f"排除图层缺失 / exclusion layer missing: {ex.role} ({ex.reason_en}) — not applied")
            continue
        gdf = catalog.read(ex.role)
        reason_zh, reason_en = ex.reason_zh, ex.reason_en
        for fld, values in ex.where:
            if fld not in gdf.columns:
                layers = ", ".join(sorted(set(gdf["layer_id"].astype(str)))) if "layer_id" in gdf.columns else ex.role
                notes.append(
                    f"排除条件字段缺失：图层 {layers}（{ex.role}）没有字段 '{fld}'，无法筛选 {list(values)}，"
                    f"为保守起见整层扣除 / exclusion filter field '{fld}' is missing in layer {layers} "
                    f"(role {ex.role}): features with {fld} in {list(values)} cannot be selected, so the whole "
                    f"layer is excluded (conservative) — fix: map the field in the catalog "
                    f"([layers.fields] {fld} = \"<column of the source file>\")")
                reason_zh = f"{reason_zh}（缺字段 {fld}，整层扣除）"
                reason_en = f"{reason_en} (field '{fld}' missing: whole layer)"
                continue
            gdf = gdf[gdf[fld].astype(str).str.strip().isin(values).to_numpy()]
        geoms = polygonal_parts(gdf.geometry.values)
        if ex.buffer_m > 0:
            geoms = polygonal_parts(shapely.buffer(geoms, ex.buffer_m))
        frames.append(gpd.GeoDataFrame({
            "reason_role": ex.role, "reason_zh": reason_zh, "reason_en": reason_en,
            "rule_source": ex.source,
            "synthetic": gdf["synthetic"].astype(bool).to_numpy() if "synthetic" in gdf.columns else False,
        }, geometry=geoms, crs=catalog.working_crs))
    if not frames:
        empty = gpd.GeoDataFrame({"reason_role": [], "reason_zh": [], "reason_en": [], "rule_source": [],
                                  "synthetic": []}, geometry=[], crs=catalog.working_crs)
        return empty, notes
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=catalog.working_crs), notes


def cut_exclusions(sites: gpd.GeoDataFrame, exclusions: gpd.GeoDataFrame, *, id_column: str = "site_id"
                   ) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """Cut the exclusion polygons out of each site: the net developable geometry per site.

    For each reason (in the order of first appearance in ``exclusions``) the exclusion polygons
    that intersect a site are found with one STRtree query, intersected with their site, and
    unioned per site; a part already excluded for an earlier reason is not counted again, so
    ``gross = net + Σ excluded parts`` holds exactly (up to floating point).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate polygons (projected CRS) with an id column.
    exclusions : GeoDataFrame
        Output of :func:`exclusion_layers` (``reason_role``, ``reason_zh``, ``reason_en``,
        ``rule_source``).

    Returns
    -------
    (ndarray, GeoDataFrame)
        Net geometry per site (aligned with ``sites``; empty MultiPolygon if nothing is left), and
        the excluded parts: one row per site and reason with ``excluded_area_m2``.
    """
    _require_projected(sites, "候选地块 / The sites")
    site_geoms = np.asarray(sites.geometry.values, dtype=object)
    n = len(site_geoms)
    covered = np.array([shapely.MultiPolygon()] * n, dtype=object)
    rows: list[pd.DataFrame] = []
    part_geoms: list[np.ndarray] = []
    if len(exclusions):
        reasons = pd.unique(exclusions["reason_role"].to_numpy())
        ex_geoms_all = np.asarray(exclusions.geometry.values, dtype=object)
        for reason in reasons:
            sel = np.flatnonzero(exclusions["reason_role"].to_numpy() == reason)
            ex_geoms = ex_geoms_all[sel]
            tree = STRtree(ex_geoms)
            si, ei = tree.query(site_geoms, predicate="intersects")
            if len(si) == 0:
                continue
            pieces = polygonal_parts(shapely.intersection(site_geoms[si], ex_geoms[ei]))
            keep = shapely.area(pieces) > 0
            if not keep.any():
                continue
            ids, unions = grouped_union(pieces[keep], si[keep])
            unions = polygonal_parts(unions)
            new_part = polygonal_parts(shapely.difference(unions, covered[ids]))
            covered[ids] = polygonal_parts(shapely.union(covered[ids], unions))
            area = shapely.area(new_part)
            ok = area > 0
            if not ok.any():
                continue
            first = exclusions.iloc[sel[0]]
            syn = exclusions["synthetic"].to_numpy()[sel][ei[keep]]
            syn_by_site = pd.Series(syn).groupby(si[keep]).any()
            rows.append(pd.DataFrame({
                id_column: sites[id_column].to_numpy()[ids[ok]],
                "reason_role": reason, "reason_zh": first["reason_zh"], "reason_en": first["reason_en"],
                "rule_source": first["rule_source"], "excluded_area_m2": area[ok],
                "synthetic": syn_by_site.reindex(ids[ok]).to_numpy(dtype=bool)}))
            part_geoms.append(new_part[ok])
    net = polygonal_parts(shapely.difference(site_geoms, covered)) if n else site_geoms
    if rows:
        excluded = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True),
                                    geometry=np.concatenate(part_geoms), crs=sites.crs)
    else:
        excluded = gpd.GeoDataFrame({id_column: [], "reason_role": [], "reason_zh": [], "reason_en": [],
                                     "rule_source": [], "excluded_area_m2": [], "synthetic": []},
                                    geometry=[], crs=sites.crs)
    return net, excluded


# =============================================================================================
# Distances
# =============================================================================================
def parse_voltage_kv(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """Voltages as kV from numbers or text (``110``, ``"110kV"``, ``"110000"``, ``"110000;35000"``).

    Values above 1,000 are taken as volts (OSM's convention); a list separated by ``;`` gives
    the highest; anything unreadable gives ``nan``.
    """
    s = pd.Series(values, dtype=object).astype(str).str.lower().str.replace("kv", "", regex=False)
    parts = s.str.split(r"[;,/]", regex=True).explode()
    num = pd.to_numeric(parts.str.strip(), errors="coerce")
    num = num.where(num <= 1000, num / 1000.0)
    return num.groupby(level=0).max().reindex(range(len(s))).to_numpy(dtype=float)


def substation_distances(geoms: np.ndarray, substations: gpd.GeoDataFrame, classes: Sequence[GridClass],
                         capacity_mw: np.ndarray, *, unknown_voltage: str = "exclude") -> pd.DataFrame:
    """Distance to the nearest substation of the voltage class each site's plant needs.

    Parameters
    ----------
    geoms : ndarray
        Site geometries (projected CRS).
    substations : GeoDataFrame
        Points or polygons with ``voltage_kv`` (numbers or OSM-style text) and optionally ``name``.
    classes : sequence of GridClass
        Sorted by ``max_capacity_mw``; a site uses the first class whose ``max_capacity_mw`` is at
        least its capacity.
    capacity_mw : ndarray
        Capacity per site [MW].
    unknown_voltage : {"exclude", "include"}
        Whether substations of unknown voltage count for the class distances.

    Returns
    -------
    pandas.DataFrame
        ``dist_substation_m`` (class needed), ``substation_kv`` (its voltage), ``substation_name``,
        ``required_kv``, ``dist_any_substation_m`` and one ``dist_substation_<kv>kv_m`` per class.
    """
    n = len(geoms)
    kv = parse_voltage_kv(substations["voltage_kv"]) if "voltage_kv" in substations.columns else np.full(
        len(substations), np.nan)
    names = (substations["name"].astype(object).where(substations["name"].notna(), "").astype(str).to_numpy()
             if "name" in substations.columns else np.full(len(substations), "", dtype=object))
    sub_geoms = np.asarray(substations.geometry.values, dtype=object)
    out = pd.DataFrame(index=range(n))
    _, d_any = nearest_features(geoms, sub_geoms)
    out["dist_any_substation_m"] = d_any
    per_class = {}
    for cls in classes:
        ok = (kv >= cls.min_voltage_kv) | (np.isnan(kv) & (unknown_voltage == "include"))
        sel = np.flatnonzero(ok)
        j, d = nearest_features(geoms, sub_geoms[sel])
        j_full = np.where(j >= 0, sel[np.maximum(j, 0)] if len(sel) else -1, -1)
        per_class[cls.min_voltage_kv] = (d, j_full)
        out[f"dist_substation_{cls.min_voltage_kv:g}kv_m"] = d
    cap = np.nan_to_num(np.asarray(capacity_mw, dtype=float), nan=0.0)
    maxes = np.array([c.max_capacity_mw for c in classes])
    which = np.minimum(np.searchsorted(maxes, cap, side="left"), len(classes) - 1)
    req = np.array([classes[w].min_voltage_kv for w in which])
    dist = np.full(n, np.nan)
    j_sel = np.full(n, -1)
    for k, cls in enumerate(classes):
        m = which == k
        d, j = per_class[cls.min_voltage_kv]
        dist[m], j_sel[m] = d[m], j[m]
    out["required_kv"] = req
    out["dist_substation_m"] = dist
    has = j_sel >= 0
    out["substation_kv"] = np.where(has, kv[np.maximum(j_sel, 0)] if len(kv) else np.nan, np.nan)
    out["substation_name"] = np.where(has, names[np.maximum(j_sel, 0)] if len(names) else "", "")
    return out


def layer_distance(catalog: Any, roles: Iterable[str], geoms: np.ndarray) -> tuple[np.ndarray, list[str], bool]:
    """Distance [m] to the nearest feature of any of ``roles`` present in the catalog.

    Returns
    -------
    (ndarray, list of str, bool)
        Distances (``nan`` when no such layer exists), the roles used, and whether any feature
        used is synthetic.
    """
    frames = [catalog.read(r) for r in roles if catalog.has(r)]
    used = [r for r in roles if catalog.has(r)]
    if not frames:
        return np.full(len(geoms), np.nan), used, False
    targets = np.concatenate([np.asarray(f.geometry.values, dtype=object) for f in frames])
    syn = any(bool(f["synthetic"].any()) for f in frames if "synthetic" in f.columns)
    return nearest_features(geoms, targets)[1], used, syn


# =============================================================================================
# Conditions (pre-screen tests, mode rules)
# =============================================================================================
def evaluate_condition(frame: pd.DataFrame, cond: Condition) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``column op value`` over the rows, with the screening rules' engine (:class:`rules.Condition`).

    Text is compared after trimming, numbers by value (``1`` equals ``1.0``), booleans as true/false;
    ``!=`` and ``not_in`` never match a missing value.

    Returns
    -------
    (ndarray of bool, ndarray of bool)
        The test result (False where undetermined) and the "undetermined" mask (value missing, or not a
        number for an order comparison).

    Raises
    ------
    DataFileError
        If the column does not exist in ``frame`` (a typo in a rule must not pass silently).
    """
    if cond.column not in frame.columns:
        raise DataFileError(problem(
            f"规则引用了不存在的列 '{cond.column}'。",
            f"A rule refers to column '{cond.column}', which the result does not have.",
            fix=f"use one of {sorted(map(str, frame.columns))}"))
    col = frame[cond.column]
    test = cond.test
    return test.evaluate(col), test.undetermined(col)


def prescreen(frame: pd.DataFrame, tests: Sequence[Condition]) -> tuple[np.ndarray, list[list[str]], list[list[str]]]:
    """Apply the pre-screening tests.

    Returns
    -------
    (ndarray of bool, list of list of str, list of list of str)
        Pass mask; ids of failed tests per row; notes per row (failed tests and values not known).
    """
    n = len(frame)
    ok = np.ones(n, dtype=bool)
    failed: list[list[str]] = [[] for _ in range(n)]
    notes: list[list[str]] = [[] for _ in range(n)]
    for test in tests:
        res, missing = evaluate_condition(frame, test)
        fail = ~res & ~missing
        if test.on_missing == "fail":
            fail |= missing
        ok &= ~fail
        for i in np.flatnonzero(fail):
            failed[i].append(test.id)
            notes[i].append(f"未通过预筛 / fails pre-screen: {test.label()}"
                            + (" (值未知 / value unknown)" if missing[i] else ""))
        if test.on_missing == "flag":
            for i in np.flatnonzero(missing):
                notes[i].append(f"无法判断 / cannot assess: {test.label()} (值未知 / value unknown)")
    return ok, failed, notes


# =============================================================================================
# Yield and co-benefits
# =============================================================================================
def site_specific_yield(geoms: np.ndarray, crs: Any, *, round_deg: float, azimuth_deg: float,
                        tilt_deg: float | None = None) -> tuple[np.ndarray, int, float | None]:
    """Specific yield [kWh/kWp/yr] at each site's centroid, computed once per rounded location.

    Parameters
    ----------
    geoms : ndarray of geometries
        Sites (any CRS; centroids are taken in ``crs`` and converted to WGS84).
    crs : CRS of ``geoms``.
    round_deg : float
        Longitudes and latitudes are rounded to this step [deg] before the model is run, so that
        many sites share one computation (0 disables rounding).
    azimuth_deg, tilt_deg : float
        Array orientation; ``tilt_deg=None`` uses the optimal fixed tilt
        (:func:`sanxian_yidan.solar.optimal_tilt`) at the median location of the sites, for all.

    Returns
    -------
    (ndarray, int, float or None)
        Specific yield per site (``nan`` for empty geometries), the number of model runs and the
        tilt used [deg] (``None`` if there was no site).
    """
    from pyproj import Transformer

    from . import solar

    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), np.nan)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return out, 0, tilt_deg
    cent = shapely.centroid(geoms[ok])
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(shapely.get_x(cent), shapely.get_y(cent))
    if round_deg > 0:
        lon = np.round(np.asarray(lon) / round_deg) * round_deg
        lat = np.round(np.asarray(lat) / round_deg) * round_deg
    keys = pd.DataFrame({"lon": np.round(lon, 6), "lat": np.round(lat, 6)})
    uniq = keys.drop_duplicates().sort_values(["lon", "lat"]).reset_index(drop=True)
    if tilt_deg is None:
        # the optimal fixed tilt changes by a fraction of a degree across a city: search it once,
        # at the middle of the sites, instead of at every location (halves the run time)
        tilt_deg = solar.optimal_tilt(float(np.median(uniq["lon"])), float(np.median(uniq["lat"])),
                                      azimuth=azimuth_deg)
    values = np.array([solar.specific_yield(float(x), float(y), tilt_deg, azimuth_deg)
                       for x, y in zip(uniq["lon"], uniq["lat"])], dtype=float)
    uniq["sy"] = values
    out[ok] = keys.merge(uniq, on=["lon", "lat"], how="left")["sy"].to_numpy()
    return out, len(uniq), float(tilt_deg)


# =============================================================================================
# Terrain and MCDA adapters (thin wrappers over sanxian_yidan.terrain / sanxian_yidan.mcda)
# =============================================================================================
TERRAIN_COLUMNS = ("slope_mean_deg", "slope_max_deg", "flat_share", "south_share", "elevation_mean_m", "dem_coverage")


def resolve_dem(catalog: Any, dem: Any) -> Any:
    """The DEM to use: ``dem`` as given (a terrain ``Dem`` or a path), else the catalog's ``dem`` role.

    Returns ``None`` when there is no DEM at all (terrain criteria are then left empty and said so).
    """
    from . import terrain

    if dem is None:
        if catalog is None or not catalog.has("dem"):
            return None
        return terrain.read_dem(catalog.raster_path("dem"), synthetic=catalog.is_synthetic("dem"))
    if isinstance(dem, (str, Path)):
        return terrain.read_dem(dem)
    return dem


def terrain_table(geoms: np.ndarray, crs: Any, dem: Any, *, slope_threshold_deg: float,
                  south_range_deg: tuple[float, float], min_dem_coverage: float
                  ) -> tuple[pd.DataFrame, list[list[str]]]:
    """Zonal slope / aspect / elevation per geometry, with per-site notes where the DEM falls short.

    Empty geometries and sites the DEM covers less than ``min_dem_coverage`` get ``nan`` terrain
    values (never a crash) and a note saying so.
    """
    from . import terrain

    n = len(geoms)
    table = pd.DataFrame({c: np.full(n, np.nan) for c in TERRAIN_COLUMNS})
    notes: list[list[str]] = [[] for _ in range(n)]
    if dem is None:
        for i in range(n):
            notes[i].append("无 DEM，坡度/朝向未评价 / no DEM: slope and aspect not assessed")
        return table, notes
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        polys = gpd.GeoSeries(geoms[ok], crs=crs)
        with warnings.catch_warnings():
            # coverage gaps are reported per site in `reasons` below, not as a global warning
            warnings.filterwarnings("ignore", message=r".*covered by the DEM|.*outside the DEM", category=SanxianWarning)
            stats = terrain.zonal_terrain_stats(polys, dem, slope_threshold_deg=slope_threshold_deg,
                                                south_range=tuple(south_range_deg))
        for c in TERRAIN_COLUMNS:
            if c in stats.columns:
                table.loc[ok, c] = pd.to_numeric(stats[c], errors="coerce").to_numpy(dtype=float)
    cov = table["dem_coverage"].to_numpy()
    short = ok & ~(cov >= min_dem_coverage)
    for i in np.flatnonzero(short):
        c = cov[i]
        notes[i].append(f"DEM 未覆盖地块（覆盖率 {0 if np.isnan(c) else c:.0%}），坡度/朝向未评价 / DEM does not "
                        f"cover the site ({0 if np.isnan(c) else c:.0%} covered): slope and aspect not assessed")
    table.loc[short, [c for c in TERRAIN_COLUMNS if c != "dem_coverage"]] = np.nan
    table.loc[ok & np.isnan(cov), "dem_coverage"] = 0.0
    return table, notes


# =============================================================================================
# Main entry point
# =============================================================================================
@dataclass
class BrownfieldResult:
    """Outcome of :func:`brownfield_ranking`.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per candidate site, geometry = **net developable area** (empty where everything
        was excluded), sorted by rank (ranked sites first), then score, then ``site_id``.
    excluded : GeoDataFrame
        The excluded parts: one row per site and exclusion reason, with ``excluded_area_m2``.
    params : BrownfieldParams
        Parameters in force (every number with its source).
    weights : pandas.Series
        Criterion weights used (normalised to sum 1), indexed by criterion column.
    notes : list of str
        Run-level notes: layers missing, factors unconfirmed, synthetic inputs.
    synthetic_layers : list of str
        Catalog layer ids that are synthetic (the report banner lists them).
    """

    sites: gpd.GeoDataFrame
    excluded: gpd.GeoDataFrame
    params: BrownfieldParams
    weights: pd.Series
    notes: list[str] = field(default_factory=list)
    synthetic_layers: list[str] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        """True if any input layer is synthetic (results are then not for decisions)."""
        return bool(self.synthetic_layers) or bool(self.sites["synthetic"].any())

    def summary(self) -> dict[str, float]:
        """Totals: sites, ranked sites, gross / net area [m²], capacity [MW], energy [MWh/yr], CO₂ [t/yr]."""
        s = self.sites
        ranked = s["rank"].notna()
        return {
            "sites": len(s), "ranked": int(ranked.sum()),
            "gross_area_m2": float(s["gross_area_m2"].sum()), "net_area_m2": float(s["net_area_m2"].sum()),
            "excluded_area_m2": float(s["excluded_area_m2"].sum()),
            "capacity_mw": float(s["capacity_mw"].sum()), "annual_mwh": float(s["annual_mwh"].sum(skipna=True)),
            "co2_t": float(s["co2_t"].sum(skipna=True)),
            "ranked_capacity_mw": float(s.loc[ranked, "capacity_mw"].sum()),
            "ranked_annual_mwh": float(s.loc[ranked, "annual_mwh"].sum(skipna=True)),
            "ranked_co2_t": float(s.loc[ranked, "co2_t"].sum(skipna=True)),
        }

    def by_type(self) -> pd.DataFrame:
        """Totals per site type (mine, subsidence land, landfill, contaminated plot, parcel).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``site_type`` (order of the data file's candidate roles), with
            ``site_type_zh``, ``sites``, ``ranked`` (sites that passed and got a rank),
            ``gross_area_m2``, ``net_area_m2`` [m²], ``capacity_mw`` [MW], ``annual_mwh``
            [MWh/yr] and ``co2_t`` [t/yr] (missing yields count as 0 in the sums).
        """
        s = self.sites
        grouped = s.assign(ranked=s["rank"].notna()).groupby("site_type", sort=False).agg(
            site_type_zh=("site_type_zh", "first"), sites=("site_id", "size"), ranked=("ranked", "sum"),
            gross_area_m2=("gross_area_m2", "sum"), net_area_m2=("net_area_m2", "sum"),
            capacity_mw=("capacity_mw", "sum"), annual_mwh=("annual_mwh", "sum"), co2_t=("co2_t", "sum"))
        grouped["sites"] = grouped["sites"].astype(int)
        grouped["ranked"] = grouped["ranked"].astype(int)
        order = [c.role for c in self.params.candidates if c.role in grouped.index]
        return grouped.loc[order + [t for t in grouped.index if t not in order]]

    def excluded_by_reason(self) -> pd.DataFrame:
        """Excluded parts per hard-exclusion reason.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``reason_role`` (order of first appearance), with ``reason_zh``,
            ``reason_en``, ``parts`` (site parts cut away) and ``excluded_area_m2`` [m²].
        """
        ex = self.excluded
        if len(ex) == 0:
            return pd.DataFrame({"reason_zh": [], "reason_en": [], "parts": [], "excluded_area_m2": []},
                                index=pd.Index([], name="reason_role"))
        out = ex.groupby("reason_role", sort=False).agg(
            reason_zh=("reason_zh", "first"), reason_en=("reason_en", "first"), parts=("site_id", "size"),
            excluded_area_m2=("excluded_area_m2", "sum"))
        out["parts"] = out["parts"].astype(int)
        return out


def load_catalog(catalog: Any) -> Any:
    """A :class:`sanxian_yidan.catalog.Catalog`: loaded from ``catalog`` if it is a path, else as given."""
    from .catalog import Catalog

    return Catalog.load(catalog) if isinstance(catalog, (str, Path)) else catalog


def brownfield_ranking(catalog: Any, *, parcels: str | Path | gpd.GeoDataFrame | None = None,
                       params: str | Path | Mapping[str, Any] | BrownfieldParams | None = None,
                       dem: Any = None, progress: Progress | None = None) -> BrownfieldResult:
    """Rank brownfield land for ground-mounted PV: net area, capacity, yield, co-benefits, score, rank.

    Parameters
    ----------
    catalog : Catalog or path
        Layer catalog with the candidate roles (mine_site, subsidence_area, landfill,
        contaminated_site), the exclusion roles and substation / road / built-up layers.
    parcels : path or GeoDataFrame, optional
        Extra candidate parcels (any format :func:`sanxian_yidan.read_vector` reads).
    params : path, mapping or BrownfieldParams, optional
        Overrides of ``data/brownfield.toml``.
    dem : terrain Dem or path, optional
        DEM for slope and aspect; default the catalog's ``dem`` layer.  Sites the DEM does not
        cover get empty terrain values and a note in ``reasons``.
    progress : callable, optional
        ``progress(step_label, steps_done, steps_total)`` after each step.

    Returns
    -------
    BrownfieldResult
        ``.sites`` (one row per site, net geometry) and ``.excluded`` (excluded parts).
        The ranking does not depend on the order of the input features.

    References
    ----------
    .. [1] 随州市减污降碳协同增效实施方案 (十二).
    .. [2] 自然资办发〔2023〕12号 (land PV arrays may not use).
    .. [3] U.S. EPA RE-Powering America's Land, Pre-Screening.
    """
    total = RANKING_STEPS
    p = load_params(params)
    cat = load_catalog(catalog)
    crs = cat.working_crs
    notes: list[str] = []

    report_step(progress, "候选地块 / candidate sites", 0, total)
    sites = candidate_sites(cat, p, parcels=parcels)
    ready = site_readiness(sites, p)

    report_step(progress, "硬约束扣除 / cutting hard exclusions", 1, total)
    ex_layers, ex_notes = exclusion_layers(cat, p.exclusions)
    notes.extend(ex_notes)
    net, excluded = cut_exclusions(sites, ex_layers)
    frame = sites.drop(columns="geometry").copy()
    frame["net_area_m2"] = shapely.area(net)
    frame["excluded_area_m2"] = np.maximum(frame["gross_area_m2"].to_numpy() - frame["net_area_m2"].to_numpy(), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["net_share"] = np.where(frame["gross_area_m2"] > 0, frame["net_area_m2"] / frame["gross_area_m2"], 0.0)
    cap = ground_capacity_mw(gpd.GeoSeries(net, crs=crs), mw_per_ha=p.density.mw_per_ha)
    frame["capacity_mw"] = cap.to_numpy()

    report_step(progress, "地形 / terrain (slope, aspect)", 2, total)
    dem_obj = resolve_dem(cat, dem)
    terr, terr_notes = terrain_table(net, crs, dem_obj, slope_threshold_deg=p.slope_threshold_deg,
                                     south_range_deg=p.south_range_deg, min_dem_coverage=p.min_dem_coverage)
    for c in TERRAIN_COLUMNS:
        frame[c] = terr[c].to_numpy()
    if dem_obj is None:
        notes.append("无 DEM / no DEM: slope and aspect not assessed")

    report_step(progress, "电网与道路距离 / grid, road and setback distances", 3, total)
    # distances are measured from the net developable area (where the array would stand); a
    # fully excluded site falls back to its outline so that it still shows a distance
    dist_geoms = np.where(shapely.is_empty(net), sites.geometry.values, net)
    notes.extend(_grid_and_access(frame, cat, p, dist_geoms))

    report_step(progress, "发电量与协同效益 / yield and co-benefits", 4, total)
    n_runs, tilt_used = _yield_and_benefits(frame, dist_geoms, crs, p, notes)

    report_step(progress, "预筛与评分 / pre-screen and scoring", 5, total)
    frame["readiness"] = ready["readiness"].to_numpy()
    frame["eligible"] = ready["eligible"].to_numpy()
    ok, failed, pre_notes = prescreen(frame, p.prescreen)
    frame["prescreen_pass"] = ok & frame["eligible"].to_numpy()
    frame["prescreen_failed"] = [";".join(f) for f in failed]
    rankable = frame["prescreen_pass"].to_numpy()

    report_step(progress, "排序与权重敏感性 / ranking and weight sensitivity", 6, total)
    scores, weights, score_notes = score_and_rank(frame, p.mcda, rankable, ids=frame["site_id"].to_numpy())
    frame["score"] = scores["score"].to_numpy()
    frame["rank"] = scores["rank"].astype("Int64").to_numpy()
    frame["p_top_k"] = scores["p_top_k"].to_numpy()
    notes.extend(score_notes)

    reasons = _site_reasons(frame, excluded, ready["status_notes"], pre_notes, terr_notes, rankable)
    frame["reasons"] = reasons
    ex_syn = excluded.groupby("site_id")["synthetic"].any() if len(excluded) else pd.Series(dtype=bool)
    cut_by_synthetic = frame["site_id"].map(ex_syn).fillna(False).astype(bool).to_numpy()
    frame["synthetic"] = frame["synthetic"].astype(bool).to_numpy() | cut_by_synthetic

    out = gpd.GeoDataFrame(frame, geometry=net, crs=crs)
    out = _sort_result(out)
    out.attrs["sanxian"] = {"density": p.density.name, "density_source": p.density.source,
                            "yield_locations": n_runs, "tilt_deg": tilt_used, "azimuth_deg": p.yield_azimuth_deg,
                            "params_files": list(p.files)}
    excluded = _decorate_excluded(excluded, out)
    syn_layers = [e.id for e in cat.synthetic_entries()]
    if syn_layers:
        notes.append("合成数据，非官方管控成果，不得用于决策 / synthetic sample layers, not official zoning: "
                     + ", ".join(syn_layers))
    report_step(progress, "完成 / done", total, total)
    return BrownfieldResult(sites=out, excluded=excluded, params=p, weights=weights, notes=notes,
                            synthetic_layers=syn_layers)


def _grid_and_access(frame: pd.DataFrame, cat: Any, p: BrownfieldParams, geoms: np.ndarray) -> list[str]:
    """Add grid (by voltage class), road and setback distances to ``frame``; return notes."""
    notes = []
    if cat.has(p.substation_role):
        sd = substation_distances(geoms, cat.read(p.substation_role), p.grid_classes, frame["capacity_mw"].to_numpy(),
                                  unknown_voltage=p.unknown_voltage)
        for c in sd.columns:
            frame[c] = sd[c].to_numpy()
    else:
        notes.append(f"无变电站图层 / no '{p.substation_role}' layer: grid distance unknown")
        for c in ("dist_substation_m", "dist_any_substation_m", "required_kv", "substation_kv"):
            frame[c] = np.nan
        frame["substation_name"] = ""
    frame["dist_road_m"], used_roads, _ = layer_distance(cat, p.road_roles, geoms)
    if not used_roads:
        notes.append(f"无道路图层 / no road layer ({', '.join(p.road_roles)}): road distance unknown")
    frame["dist_setback_m"], used_setback, _ = layer_distance(cat, p.setback_roles, geoms)
    if not used_setback:
        notes.append(f"无建成区/居住区图层 / no layer of {', '.join(p.setback_roles)}: setback unknown")
    return notes


def _yield_and_benefits(frame: pd.DataFrame, geoms: np.ndarray, crs: Any, p: BrownfieldParams,
                        notes: list[str]) -> tuple[int, float | None]:
    """Add specific yield, annual energy and co-benefits to ``frame``; return (model runs, tilt)."""
    from .benefits import co_benefits, factor_notes

    sy, n_runs, tilt = site_specific_yield(geoms, crs, round_deg=p.yield_round_deg, azimuth_deg=p.yield_azimuth_deg,
                                           tilt_deg=p.yield_tilt_deg)
    log.info("specific yield computed at %d distinct locations for %d sites (tilt %s°)", n_runs, len(frame), tilt)
    frame["specific_yield_kwh_kwp"] = sy
    frame["annual_mwh"] = frame["capacity_mw"].to_numpy() * sy  # MW × kWh/kWp = MWh
    cb = co_benefits(np.nan_to_num(frame["annual_mwh"].to_numpy(), nan=0.0) * 1000.0, grid=p.grid_region)
    for c in ("co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce"):
        frame[c] = np.where(np.isnan(sy), np.nan, cb[c].to_numpy())
    notes.extend(f"协同效益因子 / co-benefit factor: {line}" for line in factor_notes(cb))
    return n_runs, tilt


def _site_reasons(frame: pd.DataFrame, excluded: pd.DataFrame, status_notes: pd.Series, pre_notes: list[list[str]],
                  terr_notes: list[list[str]], rankable: np.ndarray) -> list[str]:
    """One text per site: exclusions cut away, status notes, pre-screen results, DEM gaps."""
    ex_by_site: dict[str, list[str]] = {}
    for sid, zh, en, a in excluded[["site_id", "reason_zh", "reason_en", "excluded_area_m2"]].itertuples(index=False):
        ex_by_site.setdefault(sid, []).append(f"扣除 / excluded: {zh} / {en} {a:,.0f} m²")
    no_score = rankable & frame["score"].isna().to_numpy()
    eligible = frame["eligible"].to_numpy()
    reasons = []
    for i, sid in enumerate(frame["site_id"].to_numpy()):
        parts = ex_by_site.get(sid, []) + list(status_notes.iloc[i]) + pre_notes[i] + terr_notes[i]
        if not eligible[i]:
            parts.append("不参与排序（状态）/ not ranked (status)")
        if no_score[i]:
            parts.append("缺少准则值，无综合评分，排在最后 / a criterion value is missing: no score, ranked last")
        reasons.append("; ".join(dict.fromkeys(parts)))
    return reasons


def _sort_result(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    key = pd.DataFrame({"r": gdf["rank"].astype("float").fillna(np.inf).to_numpy(),
                        "s": -gdf["score"].fillna(-np.inf).to_numpy(), "id": gdf["site_id"].astype(str).to_numpy()})
    order = np.lexsort([key["id"].to_numpy(), key["s"].to_numpy(), key["r"].to_numpy()])
    return gdf.iloc[order].reset_index(drop=True)


def _decorate_excluded(excluded: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    info = sites.set_index("site_id")[["site_type", "name"]]
    out = excluded.join(info, on="site_id")
    cols = ["site_id", "site_type", "name", "reason_role", "reason_zh", "reason_en", "excluded_area_m2",
            "rule_source", "synthetic", "geometry"]
    out = out[cols]
    order = np.lexsort([out["reason_role"].astype(str).to_numpy(), out["site_id"].astype(str).to_numpy()])
    return gpd.GeoDataFrame(out.iloc[order].reset_index(drop=True), geometry="geometry", crs=excluded.crs)


def criterion_objects(spec: McdaSpec) -> list[Any]:
    """The data-file criteria as :class:`sanxian_yidan.mcda.Criterion` objects."""
    from . import mcda

    out = []
    for c in spec.criteria:
        params = {k: v for k, v in c.options.items() if k not in ("missing", "name")}
        out.append(mcda.Criterion(column=c.column, transform=c.transform, weight=c.weight, benefit=c.benefit,
                                  params=params, name=c.options.get("name"), source=c.source,
                                  missing=c.options.get("missing")))
    return out


def criterion_weights(spec: McdaSpec) -> pd.Series:
    """Weights per criterion column, summing to 1: direct (normalised with a warning) or from AHP.

    Raises
    ------
    McdaError
        Negative weights, an AHP matrix that is not reciprocal, or CR >= 0.1 without ``force``.
    """
    from . import mcda

    labels = [c.options.get("name") or c.column for c in spec.criteria]
    if spec.ahp is not None:
        w, cr = mcda.ahp_weights(np.array(spec.ahp.matrix))
        mcda.check_consistency(cr, spec.ahp.force, matrix=np.array(spec.ahp.matrix), names=list(spec.ahp.order))
        by_name = dict(zip(spec.ahp.order, w))
        out = pd.Series([by_name[c.column] for c in spec.criteria], index=labels, name="weight")
        out.attrs["consistency_ratio"] = float(cr)
        return out
    return pd.Series(mcda.normalise_weights([c.weight for c in spec.criteria]), index=labels, name="weight")


def score_and_rank(frame: pd.DataFrame, spec: McdaSpec, rankable: np.ndarray, *, ids: np.ndarray
                   ) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Score every row, rank the ``rankable`` ones, and estimate ``p_top_k`` by Monte Carlo.

    Parameters
    ----------
    frame : DataFrame
        Raw criterion values (columns named by the criteria).
    spec : McdaSpec
        Method, criteria, weights, top_k, n_samples, seed (and optional ``spread`` in ``[mcda]``).
    rankable : ndarray of bool
        Rows that take part in the ranking (others get a score for information but no rank).
    ids : ndarray
        Unique row ids; ties are broken by id, so the result does not depend on row order.

    Returns
    -------
    (DataFrame, Series, list of str)
        ``score``, ``rank`` (float, NaN if not ranked) and ``p_top_k`` per row; the weights used
        (summing to 1, by criterion); notes for the report.
    """
    from . import mcda

    n = len(frame)
    weights = criterion_weights(spec)
    crit = criterion_objects(spec)
    notes = []
    out = pd.DataFrame({"score": np.full(n, np.nan), "rank": np.full(n, np.nan), "p_top_k": np.full(n, np.nan)},
                       index=frame.index)
    idx = np.flatnonzero(rankable)
    if spec.method == "weighted_sum":
        scores = mcda.apply_criteria(frame, crit)
        out["score"] = mcda.weighted_sum(scores, weights.to_numpy())
        matrix = scores.iloc[idx]
        benefit = None
    else:
        matrix = frame[[c.column for c in spec.criteria]].iloc[idx].astype(float)
        benefit = np.array([c.benefit for c in spec.criteria])
        if len(idx):
            out.iloc[idx, out.columns.get_loc("score")] = mcda.topsis(matrix, weights.to_numpy(), benefit)
    if len(idx):
        sub_ids = np.asarray(ids)[idx]
        out.iloc[idx, out.columns.get_loc("rank")] = mcda.rank_scores(out["score"].to_numpy()[idx], sub_ids)
        if spec.n_samples > 0:
            spread = spec.options.get("spread")
            sens = mcda.weight_sensitivity(matrix, weights.to_numpy(), method=spec.method, k=spec.top_k,
                                           n=spec.n_samples, seed=spec.seed, ids=sub_ids, benefit=benefit,
                                           spread=None if spread is None else float(spread))
            out.iloc[idx, out.columns.get_loc("p_top_k")] = sens["p_top_k"].to_numpy()
            notes.append(f"权重敏感性 / weight sensitivity: {spec.n_samples} Dirichlet draws (spread "
                         f"{sens.attrs['sanxian']['spread']}, seed {spec.seed}), p_top_k = share of draws in the "
                         f"top {spec.top_k}")
    missing = out["score"].isna().to_numpy() & rankable
    if missing.any():
        notes.append(f"{int(missing.sum())} ranked row(s) lack a criterion value and rank last (score empty)")
    return out, weights, notes


__all__ = [
    "RANKING_STEPS",
    "BrownfieldParams",
    "BrownfieldResult",
    "CandidateRole",
    "Condition",
    "CriterionSpec",
    "Density",
    "Exclusion",
    "GridClass",
    "McdaSpec",
    "Problems",
    "Progress",
    "StatusRule",
    "brownfield_ranking",
    "candidate_sites",
    "canonical_order",
    "criterion_weights",
    "cut_exclusions",
    "evaluate_condition",
    "exclusion_layers",
    "ground_capacity_mw",
    "load_catalog",
    "load_params",
    "parse_condition",
    "parse_mcda",
    "parse_voltage_kv",
    "prescreen",
    "read_params_document",
    "report_step",
    "score_and_rank",
    "site_frame",
    "site_readiness",
    "site_specific_yield",
    "substation_distances",
    "terrain_table",
    "write_outputs",
]


#: Columns of brownfields.gpkg layer `sites` and of brownfields.csv, in this order.
SITE_COLUMNS = (
    "rank", "site_id", "site_type", "site_type_zh", "name", "status", "remediation_status", "risk_class",
    "county", "gross_area_m2", "net_area_m2", "excluded_area_m2", "net_share", "capacity_mw",
    "specific_yield_kwh_kwp", "annual_mwh", "co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce",
    "slope_mean_deg", "slope_max_deg", "flat_share", "south_share", "elevation_mean_m", "dem_coverage",
    "dist_substation_m", "required_kv", "substation_kv", "substation_name", "dist_any_substation_m",
    "dist_road_m", "dist_setback_m", "readiness", "eligible", "prescreen_pass", "prescreen_failed",
    "score", "p_top_k", "reasons", "synthetic", "source", "layer_id")


def write_outputs(result: BrownfieldResult, out: str | Path) -> dict[str, Path]:
    """Write ``brownfields.gpkg`` (layers ``sites`` and ``excluded``) and ``brownfields.csv`` into ``out``.

    Existing files are replaced: callers (the CLI, studies) decide whether that is allowed.
    """
    from .outputs import write_layers, write_table_csv

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    sites = result.sites
    gpkg = write_layers(folder / "brownfields.gpkg",
                        {"sites": sites[[c for c in SITE_COLUMNS if c in sites.columns] + ["geometry"]],
                         "excluded": result.excluded})
    csv = write_table_csv(sites, folder / "brownfields.csv", SITE_COLUMNS)
    return {"gpkg": gpkg, "csv": csv}
