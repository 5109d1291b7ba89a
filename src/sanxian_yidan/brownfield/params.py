"""Brownfield parameters: ``data/brownfield.toml`` (and a user's overrides) validated into frozen dataclasses.

All problems of a file are collected by :class:`Problems` and reported together; the mine module reuses
the same parsers for ``data/mines.toml``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import rules
from ..datafiles import Problems, deep_merge, load_toml, packaged_path, reject_unknown_keys

log = logging.getLogger(__name__)


#: Square metres per international acre (definition: 1 acre = 4,046.8564224 m²).
M2_PER_ACRE = 4046.8564224
#: Square metres per hectare.
M2_PER_HA = 10_000.0
#: Comparison operators allowed in pre-screening tests and mode rules.
OPERATORS = tuple(op for op in rules.OPS if op != "startswith")
DATA_FILE = "brownfield.toml"




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


#: Inputs of a ``model = "row_pitch"`` density: key -> (low, high) allowed range; each key needs ``<key>_source``.
ROW_PITCH_INPUTS = {"latitude_deg": (-66.0, 66.0), "tilt_deg": (0.0, 89.0), "winter_declination_deg": (-23.5, -23.4),
                    "shade_free_from_h": (6.0, 12.0), "shade_free_to_h": (12.0, 18.0),
                    "module_w_per_m2": (50.0, 300.0), "array_share": (0.05, 1.0)}



def row_pitch_density(raw: Mapping[str, Any], where: str, probs: Problems) -> tuple[float | None, str]:
    """Power density [MW/ha] of shade-free fixed rows: ``module_w_per_m2 x GCR x array_share / 100``.

    The ground coverage ratio is :func:`sanxian_yidan.solar.shade_free_gcr` at ``latitude_deg`` and
    ``tilt_deg`` for the shade-free window on the winter solstice; 1 W/m² = 0.01 MW/ha.

    References
    ----------
    .. [1] GB 50797-2012 光伏发电站设计规范 (no mutual shading 9:00-15:00 true solar time on the winter solstice).
    """
    values = {key: probs.number(raw, key, where, lo=lo, hi=hi) for key, (lo, hi) in ROW_PITCH_INPUTS.items()}
    for key in ROW_PITCH_INPUTS:
        if not str(raw.get(f"{key}_source", "")).strip():
            probs.add(where, f"'{key}_source' is required (where the input comes from)")
    if any(v is None for v in values.values()):
        return None, ""
    from ..solar import shade_free_gcr

    v = values
    gcr = shade_free_gcr(v["latitude_deg"], v["tilt_deg"], declination_deg=v["winter_declination_deg"],
                         start_hour=v["shade_free_from_h"], end_hour=v["shade_free_to_h"])
    mw_per_ha = v["module_w_per_m2"] * gcr * v["array_share"] / 100.0
    note = (f"computed: {v['module_w_per_m2']:g} W/m² modules × GCR {gcr:.3f} (rows at {v['tilt_deg']:g}° tilt, "
            f"{v['latitude_deg']:g}° latitude, shade-free {v['shade_free_from_h']:g}-{v['shade_free_to_h']:g} h on "
            f"the winter solstice) × array share {v['array_share']:g} = {mw_per_ha:.3f} MW/ha")
    return mw_per_ha, note


#: Keys read although the packaged files do not set them: ``[mcda.ahp]`` (AHP weights) and ``[mcda] spread``
#: (Dirichlet spread of the weight sensitivity).  Any other key a user file adds is refused as unknown.
MCDA_OPTIONAL_KEYS = ("mcda.ahp", "mcda.spread")
#: Optional keys per packaged parameter file read through :func:`read_params_document` (other modules add
#: theirs, e.g. mines.toml's viewshed settings); a file not listed gets :data:`MCDA_OPTIONAL_KEYS`.
OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {DATA_FILE: MCDA_OPTIONAL_KEYS}


def read_params_document(default_name: str, params: str | Path | Mapping[str, Any] | None
                         ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Packaged data file ``default_name`` merged with a user TOML file or mapping.

    The user document is merged over the packaged one with
    :func:`sanxian_yidan.datafiles.deep_merge` (tables merge, arrays of tables are replaced
    whole), so keys are required of the merged result.  A key of the user document that the packaged
    one does not have (a misspelling such as ``top_kk``) is an error with a "did you mean"
    (:func:`sanxian_yidan.datafiles.reject_unknown_keys`).

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
        user_doc: Mapping[str, Any] = params
    else:
        user = Path(params)
        files.append(str(user.resolve()))
        user_doc = load_toml(user)
    reject_unknown_keys(user_doc, doc, file=files[-1],
                        optional=OPTIONAL_KEYS.get(default_name, MCDA_OPTIONAL_KEYS))
    return deep_merge(doc, user_doc), tuple(files)


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
        layout_note = ""
        if raw.get("model") == "row_pitch":
            mw_per_ha, layout_note = row_pitch_density(raw, w, probs)
        elif "mw_per_ha" in raw:
            mw_per_ha = probs.number(raw, "mw_per_ha", w, lo=0.0)
        elif "acres_per_mw" in raw:
            acres = probs.number(raw, "acres_per_mw", w, lo=0.0)
            mw_per_ha = None if not acres else M2_PER_HA / (acres * M2_PER_ACRE)
        else:
            probs.add(w, "give mw_per_ha, acres_per_mw or model = \"row_pitch\" with its inputs")
            mw_per_ha = None
        if mw_per_ha is not None and mw_per_ha <= 0:
            probs.add(w, "the power density must be > 0")
            mw_per_ha = None
        src = probs.source(raw, w)
        if mw_per_ha is not None:
            densities[name] = Density(name, float(mw_per_ha), str(raw.get("basis", "")),
                                      f"{src}; {layout_note}" if layout_note else src)
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


