"""Rooftop PV potential: capacity, yield, co-benefits, 整县推进 policy targets and ranking.

Serves clauses (三) (整县推进 rooftop PV, rural distributed PV in 随县 and 广水) and (七) (PV on new
factories and public buildings) of Suizhou's synergy plan.  From building footprints with optional
attributes (use, roof type) it computes, per building,

* the usable roof area (roof-type share of the footprint) and the installable DC capacity
  (module power density; flat roofs with rack-mounted rows at the site's optimal tilt and the
  ground coverage ratio, pitched roofs flush on the sun-facing slope);
* the annual energy from the specific yield of its orientation class (computed once per distinct
  tilt/azimuth class with :func:`sanxian_yidan.solar.yield_table`, never per building);
* avoided CO2, SO2, NOx, PM and standard coal (:func:`sanxian_yidan.benefits.co_benefits`);
* the policy-target capacity from the 2021 whole-county pilot's minimum shares (党政机关 50 %,
  公共建筑 40 %, 工商业厂房 30 %, 农村居民 20 %),

and aggregates technical potential, policy target and the gap per township and county.  Every
parameter lives in ``data/rooftop.toml`` with its source; a user TOML overrides any of them.

Outputs (:func:`write_outputs`):

* ``rooftops.gpkg`` — layer ``rooftops``, one row per building (stable columns ``capacity_kwp``,
  ``annual_kwh``, ``co2_t``, ``so2_kg``, ``nox_kg``, ``rank``, ...; ``factor_ids`` names the
  co-benefit factors used).  The layer metadata holds the factor provenance (id, value, unit,
  year, publisher, source, confirmed), the exclusion layers applied or not applied, and the
  synthetic-data flag;
* ``rooftops_by_township.csv`` — technical and policy-target capacity per township, county and
  total (UTF-8 with BOM, bilingual headers); the columns ``factor_ids``,
  ``unconfirmed_factor_ids`` and ``exclusions_not_applied`` repeat the run's provenance notes on
  every row so the table cannot travel without them;
* ``rooftops_factors.csv`` (``factors_csv=True``; always written by ``sanxian rooftops``) — one
  row per co-benefit factor: quantity, id, value, unit, year, publisher, source, confirmed.

Exclusion roles of ``[exclusions] roles`` that the catalog lacks are not silently skipped: the
result's ``summary["exclusions_not_applied"]`` names each with the reason, and every output
repeats it.

Everything is vectorised (shapely 2 arrays, STRtree, numpy, pandas groupby): there is no Python
loop over buildings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import benefits as benefits_mod
from . import solar as solar_mod
from .datafiles import Problems, deep_merge, load_toml, packaged, packaged_path
from .errors import DataFileError, EmptyLayerError, InputFileError, problem
from .io.gpkg import write_settings
from .io.vector import has_pyarrow
from .progress import Progress, report_step

if TYPE_CHECKING:
    from .catalog import Catalog

logger = logging.getLogger(__name__)

_DATA_FILE = "rooftop.toml"
#: Label used for buildings outside every township polygon.
UNASSIGNED = "（未落入乡镇）/ unassigned"
#: Output columns of the per-building layer (in order; input attributes follow).
BUILDING_COLUMNS = (
    "rank", "capacity_kwp", "annual_kwh", "co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce", "factor_ids",
    "policy_target_kwp", "pilot_share", "use_category", "use_value", "use_defaulted", "roof_type",
    "roof_defaulted", "area_m2", "usable_area_m2", "tilt_deg", "azimuth_deg", "specific_yield_kwh_kwp",
    "excluded_reason", "township", "county", "synthetic",
)
#: Aggregated quantities (sums) of the township / county tables.
AGGREGATE_SUMS = ("roof_area_m2", "usable_area_m2", "capacity_kwp", "policy_target_kwp", "gap_kwp",
                  "annual_kwh", "co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce")

#: Steps :func:`rooftop_potential` reports (for progress bars).
ROOFTOP_STEPS = 8


# ------------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Category:
    """A use category with its 2021 pilot minimum share (see ``data/rooftop.toml``)."""

    id: str
    zh: str
    en: str
    pilot_share: float
    default_roof_type: str
    source: str


@dataclass(frozen=True)
class RoofType:
    """A roof type: usable share of the footprint and how modules are mounted."""

    id: str
    zh: str
    en: str
    usable_share: float
    mount: str          # "rack" (rows at tilt, gcr) or "flush" (in the roof plane)
    gcr: float
    tilt_deg: float | None  # None = the site's optimal fixed tilt
    source: str


@dataclass(frozen=True)
class RooftopParams:
    """Validated rooftop parameters (``data/rooftop.toml`` merged with user overrides)."""

    categories: Mapping[str, Category]
    use_columns: tuple[str, ...]
    default_category: str
    missing_values: frozenset[str]
    use_map: Mapping[str, str]
    roof_types: Mapping[str, RoofType]
    roof_columns: tuple[str, ...]
    roof_azimuth_columns: tuple[str, ...]
    roof_map: Mapping[str, str]
    azimuth_class_deg: float
    power_density_w_m2: float
    exclusion_roles: tuple[str, ...]
    min_footprint_area_m2: float
    solar_overrides: Mapping[str, Any] = field(default_factory=dict)
    factor_overrides: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    file: str = ""

    def kwp_per_m2(self, roof: RoofType, tilt_deg: float | np.ndarray) -> float | np.ndarray:
        """DC capacity per m^2 of usable roof (footprint) area [kWp/m^2]."""
        density = self.power_density_w_m2 / 1000.0
        if roof.mount == "rack":
            return density * roof.gcr
        # Flush modules lie in the slope: the slope area is the footprint area / cos(tilt).
        return density / np.cos(np.radians(tilt_deg))


def load_params(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> RooftopParams:
    """Load ``data/rooftop.toml``, optionally overridden by a user TOML and/or a dict.

    Parameters
    ----------
    path : str or Path, optional
        User TOML with any of the tables of ``data/rooftop.toml`` (only the keys given change);
        it may also hold ``[solar]`` (same tables as ``data/solar.toml``) and ``[factors]``
        (same tables as ``data/benefits.toml``) to override those for the run.
    overrides : mapping, optional
        Same structure, applied last.

    Raises
    ------
    DataFileError
        Listing every problem found.
    """
    doc: dict[str, Any] = dict(packaged(_DATA_FILE))
    file = str(packaged_path(_DATA_FILE))
    if path is not None:
        doc = deep_merge(doc, load_toml(path))
        file = f"{file} + {path}"
    if overrides:
        doc = deep_merge(doc, overrides)
        file = f"{file} + overrides"
    return _parse(doc, file)


_WHAT = "屋顶光伏 / rooftop"


def _parse(doc: Mapping[str, Any], file: str) -> RooftopParams:
    """Validate the merged rooftop document; every problem is reported at once (:class:`Problems`)."""
    probs = Problems(file)
    categories = _parse_categories(probs.table(doc, "categories"), probs)
    roof_types = _parse_roof_types(probs.table(doc, "roof_types"), probs)
    use, roof, modules, excl = (_sourced_table(doc, name, probs) for name in ("use", "roof", "modules", "exclusions"))
    use_map = _parse_map(use, "use", categories, "category", probs)
    roof_map = _parse_map(roof, "roof", roof_types, "roof type", probs)
    default_category = str(use.get("default_category", ""))
    if default_category not in categories:
        probs.add("[use]", f"default_category {default_category!r} is not a category ({sorted(categories)})")
    for cat in categories.values():
        if cat.default_roof_type not in roof_types:
            probs.add(f"[categories.{cat.id}]", f"default_roof_type {cat.default_roof_type!r} is not a roof type "
                                                f"({sorted(roof_types)})")
    from .catalog import role_vocabulary
    roles = probs.strings(excl, "roles", "[exclusions]")
    unknown_roles = sorted(set(roles) - set(role_vocabulary()))
    if unknown_roles:
        probs.add("[exclusions]", f"roles {unknown_roles} are not layer roles")
    solar_over, factor_over = doc.get("solar", {}), doc.get("factors", {})
    if not isinstance(solar_over, Mapping) or not isinstance(factor_over, Mapping):
        probs.add("[solar] / [factors]", "must be tables when given")
        solar_over, factor_over = {}, {}
    params = RooftopParams(
        categories=categories, use_columns=probs.strings(use, "columns", "[use]"), default_category=default_category,
        missing_values=frozenset(v.strip().lower() for v in probs.strings(use, "missing_values", "[use]")),
        use_map=use_map, roof_types=roof_types, roof_columns=probs.strings(roof, "columns", "[roof]"),
        roof_azimuth_columns=probs.strings(roof, "azimuth_columns", "[roof]"), roof_map=roof_map,
        azimuth_class_deg=_number(probs, roof, "azimuth_class_deg", "[roof]", 1.0, 90.0),
        power_density_w_m2=_number(probs, modules, "power_density_w_m2", "[modules]", 50.0, 300.0),
        exclusion_roles=roles,
        min_footprint_area_m2=_number(probs, excl, "min_footprint_area_m2", "[exclusions]", 0.0, 1e4),
        solar_overrides=dict(solar_over), factor_overrides={"factors": dict(factor_over)} if factor_over else {},
        sources={name: str(doc[name].get("source", "")) for name in ("use", "roof", "modules", "exclusions")
                 if isinstance(doc.get(name), Mapping)},
        file=file)
    probs.raise_if_any(_WHAT)
    return params


def _number(probs: Problems, table: Mapping[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    """A number in ``[lo, hi]``; NaN (with a recorded problem) otherwise, so parsing can go on."""
    value = probs.number(table, key, where, lo=lo, hi=hi)
    return float("nan") if value is None else value


def _sourced_table(doc: Mapping[str, Any], name: str, probs: Problems) -> Mapping[str, Any]:
    table = probs.table(doc, name)
    if isinstance(doc.get(name), Mapping):  # present (even empty): it must say where its values come from
        probs.source(table, f"[{name}]")
    return table


def _parse_categories(tables: Mapping[str, Any], probs: Problems) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    for cid, spec in tables.items():
        where = f"[categories.{cid}]"
        if not isinstance(spec, Mapping):
            probs.add(where, "must be a table")
            continue
        texts = {key: spec.get(key) for key in ("zh", "en", "default_roof_type")}
        for key, value in texts.items():
            if not isinstance(value, str) or not value.strip():
                probs.add(where, f"'{key}' is required (non-empty string)")
                texts[key] = ""
        categories[cid] = Category(cid, texts["zh"], texts["en"], _number(probs, spec, "pilot_share", where, 0.0, 1.0),
                                   texts["default_roof_type"], probs.source(spec, where))
    return categories


def _parse_roof_types(tables: Mapping[str, Any], probs: Problems) -> dict[str, RoofType]:
    roof_types: dict[str, RoofType] = {}
    for rid, spec in tables.items():
        where = f"[roof_types.{rid}]"
        if not isinstance(spec, Mapping):
            probs.add(where, "must be a table")
            continue
        mount = spec.get("mount")
        if mount not in ("rack", "flush"):
            probs.add(where, f"mount must be \"rack\" or \"flush\", got {mount!r}")
        roof_types[rid] = RoofType(rid, str(spec.get("zh", rid)), str(spec.get("en", rid)),
                                   _number(probs, spec, "usable_share", where, 0.0, 1.0), str(mount),
                                   _number(probs, spec, "gcr", where, 0.01, 1.0), _roof_tilt(spec, mount, where, probs),
                                   probs.source(spec, where))
    return roof_types


def _roof_tilt(spec: Mapping[str, Any], mount: Any, where: str, probs: Problems) -> float | None:
    """The roof's module tilt: ``None`` for "optimal" (rack mounts only), else a number in 0-90 degrees."""
    tilt = spec.get("tilt_deg")
    if tilt == "optimal":
        if mount == "flush":
            probs.add(where, "a flush mount needs a numeric tilt_deg (the roof pitch)")
        return None
    if isinstance(tilt, (int, float)) and not isinstance(tilt, bool) and 0 <= tilt < 90:
        return float(tilt)
    probs.add(where, f"tilt_deg must be \"optimal\" or a number from 0 up to (not including) 90, got {tilt!r}")
    return None


def _parse_map(table: Mapping[str, Any], name: str, targets: Mapping[str, Any], kind: str,
               probs: Problems) -> dict[str, str]:
    """``[<name>.map]``: attribute value (case-folded, trimmed) -> a known target id."""
    raw = probs.table(table, "map", f"[{name}.map]") if "map" in table else {}
    mapping = {str(k).strip().lower(): v for k, v in raw.items()}
    for key, target in mapping.items():
        if not isinstance(target, str) or target not in targets:
            probs.add(f"[{name}.map]", f"'{key}' -> unknown {kind} {target!r} (known: {sorted(targets)})")
    return mapping


def _resolve_params(params: RooftopParams | str | Path | Mapping[str, Any] | None) -> RooftopParams:
    if params is None:
        return load_params()
    if isinstance(params, RooftopParams):
        return params
    if isinstance(params, Mapping):
        return load_params(overrides=params)
    return load_params(params)


# ------------------------------------------------------------------------------------------------
# result
# ------------------------------------------------------------------------------------------------
@dataclass
class RooftopResult:
    """Outcome of :func:`rooftop_potential`.

    Attributes
    ----------
    buildings : geopandas.GeoDataFrame
        One row per building kept (see :data:`BUILDING_COLUMNS`), input attributes after them.
    townships : pandas.DataFrame
        One row per (county, township): counts and the sums of :data:`AGGREGATE_SUMS`, ``rank``.
    counties : pandas.DataFrame
        One row per county and a total row (``county == "合计 / total"``).
    categories : pandas.DataFrame
        Per county and use category: roof area, technical and policy-target capacity, pilot share.
    yield_classes : pandas.DataFrame
        The distinct orientation classes and their specific yield (computed once each).
    summary : dict
        Counts (input, kept, dropped, repaired, excluded by reason, use defaulted / unmapped values,
        roof defaulted), ``exclusions_not_applied`` (exclusion role -> why it was not applied, e.g.
        ``"layer missing from the catalog"``), ``area_source`` (``"none"`` = no township
        aggregation), site used for the yield, weather source, factor provenance (``factors``:
        kind -> :class:`~sanxian_yidan.benefits.Factor`; ``unconfirmed_factors``: ids), synthetic flag.
    """

    buildings: gpd.GeoDataFrame
    townships: pd.DataFrame
    counties: pd.DataFrame
    categories: pd.DataFrame
    yield_classes: pd.DataFrame
    summary: dict[str, Any]

    @property
    def synthetic(self) -> bool:
        """True when any input layer was synthetic (reports must say so)."""
        return bool(self.summary.get("synthetic"))

    def area_table(self) -> pd.DataFrame:
        """Townships then county and total rows, with a ``level`` column (what the CSV holds)."""
        towns = self.townships.assign(level="township")
        counties = self.counties.assign(level=np.where(self.counties["county"] == TOTAL, "total", "county"),
                                        township="")
        cols = ["level", "county", "township"] + [c for c in towns.columns if c not in ("level", "county",
                                                                                         "township")]
        return pd.concat([towns[cols], counties.reindex(columns=cols)], ignore_index=True)


TOTAL = "合计 / total"


# ------------------------------------------------------------------------------------------------
# main entry
# ------------------------------------------------------------------------------------------------
def rooftop_potential(buildings: gpd.GeoDataFrame, *, catalog: Catalog | str | Path | None = None,
                      params: RooftopParams | str | Path | Mapping[str, Any] | None = None,
                      exclusions: Mapping[str, gpd.GeoDataFrame] | None = None,
                      townships: gpd.GeoDataFrame | None = None, lon: float | None = None,
                      lat: float | None = None, weather: Any = None,
                      progress: Progress | None = None) -> RooftopResult:
    """Rooftop PV technical potential, policy target and ranking for building footprints.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprint polygons with a CRS; optional attributes for the use (``use``/``用途``/``use_en``/
        OSM ``building``), the roof type (``roof_type``/``屋顶类型``/OSM ``roof:shape``) and the roof
        azimuth.  Normalised here (reprojected to the working CRS, invalid geometries repaired);
        the input is not modified.
    catalog : Catalog, str or Path, optional
        A loaded :class:`~sanxian_yidan.catalog.Catalog` or the path of a catalog TOML.  Supplies
        the exclusion layers (roles in ``[exclusions] roles``), townships (role ``township``, else
        counties from ``admin_boundary``) and the working CRS.  ``None``: no catalog — the
        exclusion roles are recorded as not applied and, without ``townships``, every building is
        "unassigned" (no township aggregation).
    params : RooftopParams, path or mapping, optional
        Overrides of ``data/rooftop.toml`` (and ``[solar]`` / ``[factors]`` tables).
    exclusions : mapping of str to GeoDataFrame, optional
        Extra exclusion polygons by reason (e.g. ``{"flood_zone": gdf}``); each must have a CRS.
        A name that is also an exclusion role stands in for the catalog's layer of that role
        when the catalog has none.
    townships : GeoDataFrame, optional
        Township polygons with ``name`` (and ``name_zh``) and ``county``; overrides the catalog's.
    lon, lat : float, optional
        Site of the yield computation [deg]; default the centre of the buildings' extent.
    weather : optional
        Weather file or data for :mod:`sanxian_yidan.solar` (default: the offline climatology).
    progress : callable, optional
        Called as ``progress(step, steps_done, ROOFTOP_STEPS)`` (:mod:`sanxian_yidan.progress`).

    Returns
    -------
    RooftopResult

    Raises
    ------
    EmptyLayerError
        No building with a usable footprint.
    InputFileError, DataFileError
        Bad geometries that cannot be used, an extra exclusion layer without a CRS, bad parameters.
    CatalogError
        ``catalog`` is a path that is not a valid catalog file.

    References
    ----------
    .. [1] 国家能源局综合司 (2021-06-20) 关于报送整县（市、区）屋顶分布式光伏开发试点方案的通知.
    .. [2] 随州市减污降碳协同增效实施方案, clauses (三) and (七).
    """
    p = _resolve_params(params)
    cat = _load_catalog(catalog)
    working_crs = cat.working_crs if cat is not None else _default_crs()
    n_input = len(buildings)
    report_step(progress, "prepare", 0, ROOFTOP_STEPS)
    gdf, area, repairs, n_dropped = _prepare(buildings, working_crs)
    if len(gdf) == 0:
        raise EmptyLayerError(problem("没有可用的建筑轮廓。",
                                      f"No usable building footprint among {n_input} feature(s) "
                                      f"({n_dropped} empty or zero-area).",
                                      fix="check the footprint layer (polygons with area > 0)"))
    geoms = np.asarray(gdf.geometry.array)
    report_step(progress, "attributes", 1, ROOFTOP_STEPS)
    use = _classify(gdf, p.use_columns, p.use_map, p.missing_values, list(p.categories), p.default_category)
    use_codes = use.codes
    cat_ids = list(p.categories)
    cat_default_roof = np.array([list(p.roof_types).index(p.categories[c].default_roof_type) for c in cat_ids])
    roof = _classify(gdf, p.roof_columns, p.roof_map, p.missing_values, list(p.roof_types), None)
    roof_defaulted = roof.codes < 0
    roof_codes = np.where(roof_defaulted, cat_default_roof[use_codes], roof.codes)
    report_step(progress, "exclusions", 2, ROOFTOP_STEPS)
    excl_codes, excl_names, excl_stats, not_applied = _exclusions(gdf, geoms, area, p, cat, exclusions)
    report_step(progress, "orientation", 3, ROOFTOP_STEPS)
    tilt_class, azimuth = _orientation(gdf, geoms, roof_codes, p)
    report_step(progress, "yield", 4, ROOFTOP_STEPS)
    site = _site(gdf, lon, lat)
    solar_params = solar_mod.load_params(overrides=p.solar_overrides) if p.solar_overrides else None
    classes, class_index = _yield_classes(site, tilt_class, azimuth, solar_params, weather)
    tilt_used = classes["tilt_deg"].to_numpy()[class_index]
    spec_yield = classes["specific_yield_kwh_kwp"].to_numpy()[class_index]
    report_step(progress, "capacity", 5, ROOFTOP_STEPS)
    roof_list = list(p.roof_types.values())
    usable_share = np.array([r.usable_share for r in roof_list])[roof_codes]
    kwp_per_m2 = np.empty(len(gdf))
    for i, roof_type in enumerate(roof_list):  # one pass per roof type (a handful), vectorised inside
        mask = roof_codes == i
        kwp_per_m2[mask] = p.kwp_per_m2(roof_type, tilt_used[mask])
    included = excl_codes == 0
    usable_area = np.where(included, area * usable_share, 0.0)
    capacity = usable_area * kwp_per_m2
    pilot_share = np.array([p.categories[c].pilot_share for c in cat_ids])[use_codes]
    target = np.where(included, area * pilot_share * kwp_per_m2, 0.0)
    annual_kwh = capacity * spec_yield
    factors = benefits_mod.select_factors(overrides=p.factor_overrides or None)
    cob = benefits_mod.co_benefits(annual_kwh, factors=factors)
    report_step(progress, "areas", 6, ROOFTOP_STEPS)
    areas = _assign_areas(gdf, geoms, cat, townships, working_crs)
    rank = _rank(annual_kwh, capacity, included)
    benefit_arrays = {c: cob[c].to_numpy() for c in benefits_mod.BENEFIT_COLUMNS}
    use_defaulted = use.status != _MAPPED
    out = _assemble(gdf, {
        "rank": rank, "capacity_kwp": capacity, "annual_kwh": annual_kwh, **benefit_arrays,
        "factor_ids": cob["factor_ids"].array,  # one category: integer codes, no per-building strings
        "policy_target_kwp": target, "pilot_share": pilot_share,
        "use_category": pd.Categorical.from_codes(use_codes, categories=cat_ids),
        "use_value": _labels(use.raw_codes, use.raw_values), "use_defaulted": use_defaulted,
        "roof_type": pd.Categorical.from_codes(roof_codes, categories=list(p.roof_types)),
        "roof_defaulted": roof_defaulted, "area_m2": area, "usable_area_m2": usable_area,
        "tilt_deg": tilt_used, "azimuth_deg": azimuth, "specific_yield_kwh_kwp": spec_yield,
        "excluded_reason": _labels(excl_codes, excl_names),
        "township": _labels(areas.town_codes, areas.town_names),
        "county": _labels(areas.county_codes, areas.county_names),
    })
    report_step(progress, "aggregate", 7, ROOFTOP_STEPS)
    # Aggregation works on the integer codes (categoricals), not on the per-building strings.
    keys = {"county": pd.Categorical.from_codes(areas.county_codes, categories=areas.county_names),
            "township": pd.Categorical.from_codes(areas.town_codes, categories=areas.town_names),
            "use_category": pd.Categorical.from_codes(use_codes, categories=cat_ids)}
    values = {"n_included": included.astype(np.int64), "roof_area_m2": area, "usable_area_m2": usable_area,
              "capacity_kwp": capacity, "policy_target_kwp": target, "annual_kwh": annual_kwh, **benefit_arrays,
              "synthetic": out["synthetic"].to_numpy(dtype=bool)}
    towns_table, county_table, category_table = _aggregate(keys, values, p)
    synthetic = bool(values["synthetic"].any()) or bool(buildings.attrs.get("sanxian", {}).get("synthetic", False))
    summary = {
        "input_features": n_input, "buildings": len(out), "dropped_empty_or_zero_area": n_dropped,
        "repairs": [r for r in repairs if r.kind != "reprojected"],
        "invalid_repaired": sum(r.count for r in repairs if r.kind == "invalid_geometry"),
        "excluded": excl_stats, "exclusions_not_applied": not_applied, "included": int(included.sum()),
        "use_columns": use.columns, "use_defaulted": int(use_defaulted.sum()),
        "use_missing": int((use.status == _MISSING).sum()), "use_unmapped": int((use.status == _UNMAPPED).sum()),
        "use_unmapped_values": use.unmapped_values, "default_category": p.default_category,
        "roof_columns": roof.columns, "roof_defaulted": int(roof_defaulted.sum()),
        "roof_unmapped_values": roof.unmapped_values,
        "site_lon_lat": site, "weather_source": classes.attrs.get("sanxian", {}).get("weather_source", ""),
        "yield_classes": len(classes), "area_source": areas.source,
        "factors": cob.attrs["sanxian"]["factors"], "unconfirmed_factors": cob.attrs["sanxian"]["unconfirmed"],
        "params_file": p.file, "synthetic": synthetic,
        "totals": {k: float(county_table.loc[county_table["county"] == TOTAL, k].iloc[0])
                   for k in ("capacity_kwp", "policy_target_kwp", "gap_kwp", "annual_kwh", "co2_t")},
    }
    report_step(progress, "done", ROOFTOP_STEPS, ROOFTOP_STEPS)
    logger.info("rooftop potential: %d buildings, %d included, %.0f kWp", len(out), int(included.sum()),
                float(capacity.sum()))
    return RooftopResult(out, towns_table, county_table, category_table, classes, summary)


# ------------------------------------------------------------------------------------------------
# steps
# ------------------------------------------------------------------------------------------------
def _default_crs() -> str:
    from . import crs as crsmod

    return crsmod.WORKING_CRS


def _load_catalog(catalog: Catalog | str | Path | None) -> Catalog | None:
    """The catalog to use: a :class:`Catalog` as given, a path loaded, ``None`` kept (no catalog).

    Raises
    ------
    CatalogError
        ``catalog`` is a path but not a valid catalog file (e.g. it does not exist).
    InputFileError
        ``catalog`` is of another type.
    """
    from .catalog import Catalog

    if catalog is None or isinstance(catalog, Catalog):
        return catalog
    if isinstance(catalog, (str, Path)):
        return Catalog.load(catalog)
    raise InputFileError(problem("catalog 参数类型错误。",
                                 f"catalog must be a Catalog, a path or None, got {type(catalog).__name__}.",
                                 fix="pass Catalog.load('layers/catalog.toml') or its path"))


def _prepare(buildings: gpd.GeoDataFrame,
             working_crs: Any) -> tuple[gpd.GeoDataFrame, np.ndarray, list[Any], int]:
    """Normalise (reproject, repair) and drop footprints that are empty or of zero area.

    Returns the kept footprints, their area [m^2] (computed once, reused by every later step),
    the repairs made and the number of features dropped.
    """
    from .normalize import normalise

    if not isinstance(buildings, gpd.GeoDataFrame):
        raise InputFileError(problem("建筑轮廓须为 GeoDataFrame。",
                                     f"buildings must be a GeoDataFrame, got {type(buildings).__name__}.",
                                     fix="read the file with sanxian_yidan.read_vector(...)"))
    if buildings.crs is None:
        raise InputFileError(problem("建筑轮廓没有坐标系。", "The building layer has no CRS.",
                                     fix="read it with read_vector(path, crs='EPSG:....')"))
    meta = buildings.attrs.get("sanxian", {})
    norm = normalise(buildings, working_crs, expected="polygon", file=meta.get("source_path"),
                     layer=meta.get("layer"))
    repairs = list(norm.attrs["sanxian"]["repairs"])
    area = shapely.area(np.asarray(norm.geometry.array))
    zero = area <= 0.0
    if zero.any():
        norm = norm[~zero].reset_index(drop=True)
        area = area[~zero]
    return norm, area, repairs, len(buildings) - len(norm)


def _normalise_text(values: np.ndarray) -> np.ndarray:
    return np.array([str(v).strip().lower() for v in values], dtype=object)


# Status of a building's attribute after :func:`_classify` (int8 codes, not per-row strings).
_MISSING, _UNMAPPED, _MAPPED = 0, 1, 2


@dataclass(frozen=True)
class _Classified:
    """Result of :func:`_classify`.

    ``codes`` index the targets (-1 = none and no default); ``raw_codes`` index ``raw_values``
    (the original attribute value used, -1 = none); ``status`` holds _MISSING/_UNMAPPED/_MAPPED.
    """

    codes: np.ndarray
    raw_codes: np.ndarray
    raw_values: list[Any]
    status: np.ndarray
    columns: list[str]
    unmapped_values: dict[str, int]


def _classify(gdf: pd.DataFrame, columns: Sequence[str], mapping: Mapping[str, str], missing: frozenset[str],
              targets: list[str], default: str | None) -> _Classified:
    """Map attribute values of the first present columns to category codes (vectorised by unique value).

    Only the distinct values of each column are looked at in Python (``pd.factorize``); every
    per-building array is an integer code.  The first column with a mapped value wins; the original
    value kept is the first non-missing one, or the mapped one.
    """
    n = len(gdf)
    present = [c for c in columns if c in gdf.columns]
    target_index = {t: i for i, t in enumerate(targets)}
    codes = np.full(n, -1, dtype=np.int64)
    raw_codes = np.full(n, -1, dtype=np.int64)
    raw_lookup: dict[Any, int] = {}
    status = np.full(n, _MISSING, dtype=np.int8)
    for col in present:
        values, uniques = pd.factorize(gdf[col], use_na_sentinel=True)
        if len(uniques) == 0:
            continue
        originals = np.asarray(uniques, dtype=object)
        norm = _normalise_text(originals)
        u_code = np.array([target_index.get(mapping.get(v, ""), -1) for v in norm], dtype=np.int64)
        u_missing = np.array([v in missing for v in norm], dtype=bool)
        u_raw = np.array([raw_lookup.setdefault(v, len(raw_lookup)) for v in originals], dtype=np.int64)
        has = values >= 0
        safe = np.where(has, values, 0)
        row_code = np.where(has, u_code[safe], -1)
        row_missing = ~has | u_missing[safe]
        take = (codes < 0) & (row_code >= 0)
        codes[take] = row_code[take]
        status[take] = _MAPPED
        keep_raw = ((raw_codes < 0) & ~row_missing) | take
        raw_codes[keep_raw] = u_raw[values[keep_raw]]
        status[(status != _MAPPED) & ~row_missing & (row_code < 0)] = _UNMAPPED
    raw_values = list(raw_lookup)
    # A value unmapped in one column but mapped in a later one counts as mapped.
    unmapped: dict[str, int] = {}
    is_unmapped = status == _UNMAPPED
    if is_unmapped.any():
        counts = np.bincount(raw_codes[is_unmapped], minlength=len(raw_values))
        for value, count in zip(raw_values, counts):
            if count:
                unmapped[str(value)] = unmapped.get(str(value), 0) + int(count)
    if default is not None:
        codes[codes < 0] = target_index[default]
    by_count = dict(sorted(sorted(unmapped.items()), key=lambda kv: -kv[1]))  # most frequent first, then by name
    return _Classified(codes, raw_codes, raw_values, status, present, by_count)


def _labels(codes: np.ndarray, names: Sequence[Any]) -> Any:
    """``names[codes]`` per row (-1 = missing) as an array pandas stores without re-parsing strings.

    With pyarrow (pandas' default string storage) the strings are gathered by ``pyarrow.take``,
    which is far cheaper than building a million Python strings and converting them again.
    Non-string names (e.g. numeric use codes) give an object array, as before.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if all(isinstance(v, str) for v in names) and _arrow_strings():
        import pyarrow as pa

        taken = pa.array(list(names), type=pa.large_string()).take(pa.array(codes, mask=codes < 0))
        return pd.array(taken, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    lookup = np.empty(len(names) + 1, dtype=object)
    lookup[:-1] = list(names)
    lookup[-1] = None
    return lookup[np.where(codes < 0, len(names), codes)]


def _arrow_strings() -> bool:
    """True when pandas' default string dtype is stored in pyarrow (pyarrow installed)."""
    dtype = pd.Series(["a"]).dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


#: Why an exclusion role of ``[exclusions] roles`` was not applied (``summary["exclusions_not_applied"]``).
NOT_APPLIED_MISSING = "layer missing from the catalog"
NOT_APPLIED_NO_CATALOG = "no catalog given"


def _exclusions(gdf: gpd.GeoDataFrame, geoms: np.ndarray, area: np.ndarray, p: RooftopParams, cat: Any,
                extra: Mapping[str, gpd.GeoDataFrame] | None
                ) -> tuple[np.ndarray, list[str], dict[str, int], dict[str, str]]:
    """Reason each building is excluded: codes into the returned names (0 = "" = included).

    The first matching layer wins, then the minimum footprint area.  Also returns the count per
    reason and, for each exclusion role that could not be applied, why (never silently skipped).

    Raises
    ------
    InputFileError
        An extra exclusion layer that is not a GeoDataFrame or has no CRS (its coordinates
        cannot be related to the buildings').
    """
    extra = dict(extra or {})
    for name, layer in extra.items():
        _check_extra_exclusion(name, layer)
    reason = np.zeros(len(gdf), dtype=np.int16)
    names: list[str] = [""]
    layers: list[tuple[str, gpd.GeoDataFrame]] = []
    not_applied: dict[str, str] = {}
    for role in p.exclusion_roles:
        if cat is not None and cat.has(role):
            layers.append((role, cat.read(role)))
        elif role not in extra:
            not_applied[role] = NOT_APPLIED_MISSING if cat is not None else NOT_APPLIED_NO_CATALOG
    if not_applied:
        logger.warning("exclusion layers not applied: %s", not_applied)
    for name, layer in extra.items():
        layers.append((name, layer))
    stats: dict[str, int] = {}

    def code_of(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    for name, layer in layers:
        if layer is None or len(layer) == 0:
            stats.setdefault(name, 0)
            continue
        polys = layer.to_crs(gdf.crs) if not layer.crs.equals(gdf.crs) else layer
        tree = shapely.STRtree(np.asarray(polys.geometry.values))
        hit_idx = tree.query(geoms, predicate="intersects")[0]
        hit = np.zeros(len(gdf), dtype=bool)
        hit[hit_idx] = True
        new = hit & (reason == 0)
        reason[new] = code_of(name)
        # A catalog layer and an extra layer may share a name (role): their counts add up.
        stats[name] = stats.get(name, 0) + int(new.sum())
    small = (area < p.min_footprint_area_m2) & (reason == 0)
    reason[small] = code_of("min_area")
    stats["min_area"] = int(small.sum())
    return reason, names, stats, not_applied


def _check_extra_exclusion(name: str, layer: Any) -> None:
    if layer is None:
        return
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputFileError(problem(f"排除图层 '{name}' 须为 GeoDataFrame。",
                                     f"Exclusion layer '{name}' must be a GeoDataFrame, got {type(layer).__name__}.",
                                     layer=name, fix="read it with sanxian_yidan.read_vector(path)"))
    if layer.crs is None:
        raise InputFileError(problem(f"排除图层 '{name}' 没有坐标系，无法与建筑轮廓叠加。",
                                     f"Exclusion layer '{name}' has no CRS, so it cannot be overlaid on the "
                                     "buildings (its coordinates would be taken as the buildings' CRS).",
                                     layer=name, fix=f"set its CRS first, e.g. exclusions={{'{name}': "
                                                     "gdf.set_crs('EPSG:4547')}, or read it with "
                                                     "read_vector(path, crs='EPSG:....')"))


def _orientation(gdf: gpd.GeoDataFrame, geoms: np.ndarray, roof_codes: np.ndarray,
                 p: RooftopParams) -> tuple[np.ndarray, np.ndarray]:
    """Tilt class (NaN = optimal) and azimuth [deg] of each building's modules."""
    n = len(gdf)
    roofs = list(p.roof_types.values())
    tilt = np.full(n, np.nan)
    azimuth = np.full(n, 180.0)
    flush = np.zeros(n, dtype=bool)
    for i, roof in enumerate(roofs):
        mask = roof_codes == i
        tilt[mask] = np.nan if roof.tilt_deg is None else roof.tilt_deg
        if roof.mount == "flush":
            flush |= mask
    if flush.any():
        az = _slope_azimuth(geoms[flush])
        given = _given_azimuth(gdf, p.roof_azimuth_columns)
        if given is not None:
            g = given[flush]
            az = np.where(np.isfinite(g), g % 360.0, az)
        step = p.azimuth_class_deg
        azimuth[flush] = (np.round(az / step) * step) % 360.0
    return tilt, azimuth


def _given_azimuth(gdf: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    for col in columns:
        if col in gdf.columns:
            return pd.to_numeric(gdf[col], errors="coerce").to_numpy(dtype=float)
    return None


def _slope_azimuth(geoms: np.ndarray) -> np.ndarray:
    """Azimuth [deg, clockwise from grid north] of the roof slope facing nearest to south.

    The ridge is taken along the long side of the footprint's minimum-area bounding rectangle (a
    gable roof); its two slopes face the ridge direction ± 90 degrees.  Grid north of the working
    CRS differs from true north by the meridian convergence (under 1 degree across Suizhou).
    """
    ridge = _ridge_bearing(geoms)
    face_a = (ridge + 90.0) % 360.0
    face_b = (ridge + 270.0) % 360.0
    dist_a = np.abs(((face_a - 180.0) + 180.0) % 360.0 - 180.0)
    dist_b = np.abs(((face_b - 180.0) + 180.0) % 360.0 - 180.0)
    az = np.where(dist_a <= dist_b, face_a, face_b)
    return np.where(np.isfinite(ridge), az, 180.0)


#: Convex footprints with up to this many vertices get their minimum-area rectangle from numpy
#: (k^2 projections each); others from GEOS.  An algorithmic switch, not a planning parameter:
#: both give the same rectangle.
_MAX_VERTICES_NUMPY = 16
#: Footprints per vectorised block in :func:`_ridge_bearing` (arrays of k x block floats stay in the
#: CPU cache: 3-4x faster than one pass over a million footprints).  Not a planning parameter.
_BLOCK = 16_384


def _ridge_bearing(geoms: np.ndarray) -> np.ndarray:
    """Bearing [deg, 0-180) of the long side of each footprint's minimum-area bounding rectangle.

    NaN where the footprint has no rectangle (degenerate).  The minimum-area rectangle has one side
    on an edge of the convex hull; for a convex polygon the hull is the polygon itself, so the
    rectangle is found by projecting the k vertices on each of the k edge directions, vectorised
    over all footprints with the same k.  Other footprints (concave, with holes, multipart, more
    than :data:`_MAX_VERTICES_NUMPY` vertices) use GEOS ``oriented_envelope``, which gives the same
    rectangle up to rounding but costs about five times more per footprint.  When two
    orientations tie (a square footprint) the ridge direction is undefined and either may be taken.
    """
    n = len(geoms)
    bearing = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    simple = np.flatnonzero((shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0))
    if simple.size:
        coords, idx = shapely.get_coordinates(geoms[simple], return_index=True)
        counts = np.bincount(idx, minlength=len(simple))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        k = counts - 1  # closed rings repeat the first vertex
        for kk in np.unique(k[(k >= 3) & (k <= _MAX_VERTICES_NUMPY)]):  # a dozen vertex counts at most
            same_k = np.flatnonzero(k == kk)
            for first in range(0, len(same_k), _BLOCK):  # blocks that stay in the CPU cache
                pos = same_k[first:first + _BLOCK]
                take = starts[pos][None, :] + np.arange(kk)[:, None]      # (k, m): vertex j of footprint i
                x, y = coords[take, 0], coords[take, 1]
                value, ok = _rectangle_axis(x - x.mean(axis=0), y - y.mean(axis=0))
                bearing[simple[pos[ok]]] = value[ok]
                done[simple[pos[ok]]] = True
    rest = np.flatnonzero(~done)
    if rest.size:
        bearing[rest] = _ridge_bearing_geos(geoms[rest])
    return bearing


def _rectangle_axis(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Long-side bearing [deg] of the minimum-area rectangle of rings given as (k, m) centred coordinates.

    Also returns whether the numpy answer holds (convex ring with a non-degenerate rectangle).
    The arrays are laid out vertex-major so that every operation runs over the m footprints.
    """
    k, m = x.shape
    nxt = np.r_[1:k, 0]
    ex, ey = x[nxt] - x, y[nxt] - y
    length = np.hypot(ex, ey)
    cross = ex * ey[nxt] - ey * ex[nxt]
    tol = 1e-9 * length * length[nxt]           # collinear vertices do not make a ring concave
    convex = ~((cross > tol).any(axis=0) & (cross < -tol).any(axis=0))
    valid_edge = length > 0
    safe = np.where(valid_edge, length, 1.0)
    ux, uy = ex / safe, ey / safe
    along_lo, along_hi = np.full((k, m), np.inf), np.full((k, m), -np.inf)
    across_lo, across_hi = np.full((k, m), np.inf), np.full((k, m), -np.inf)
    for j in range(k):  # vertex position (k <= 16), vectorised over all edges and footprints
        along = ux * x[j] + uy * y[j]
        across = ux * y[j] - uy * x[j]
        np.minimum(along_lo, along, out=along_lo)
        np.maximum(along_hi, along, out=along_hi)
        np.minimum(across_lo, across, out=across_lo)
        np.maximum(across_hi, across, out=across_hi)
    len_along, len_across = along_hi - along_lo, across_hi - across_lo
    rect_area = np.where(valid_edge, len_along * len_across, np.inf)
    best = np.argmin(rect_area, axis=0)
    cols = np.arange(m)
    bux, buy = ux[best, cols], uy[best, cols]
    long_is_along = len_along[best, cols] >= len_across[best, cols]
    ax = np.where(long_is_along, bux, -buy)
    ay = np.where(long_is_along, buy, bux)
    bearing = np.degrees(np.arctan2(ax, ay)) % 180.0
    best_area = rect_area[best, cols]
    return bearing, convex & np.isfinite(best_area) & (best_area > 0)


def _ridge_bearing_geos(geoms: np.ndarray) -> np.ndarray:
    """Long-side bearing from GEOS ``oriented_envelope`` (footprints numpy does not handle)."""
    env = shapely.oriented_envelope(geoms)
    coords, idx = shapely.get_coordinates(env, return_index=True)
    n = len(geoms)
    if len(coords) == 0:
        return np.full(n, np.nan)
    counts = np.bincount(idx, minlength=n)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ok = counts >= 4
    s = np.where(ok, start, 0)
    last = max(len(coords) - 1, 0)
    p0, p1, p2 = coords[s], coords[np.minimum(s + 1, last)], coords[np.minimum(s + 2, last)]
    e1, e2 = p1 - p0, p2 - p1
    long_edge = np.where((np.hypot(*e1.T) >= np.hypot(*e2.T))[:, None], e1, e2)
    ridge = np.degrees(np.arctan2(long_edge[:, 0], long_edge[:, 1])) % 180.0
    return np.where(ok, ridge, np.nan)


def _site(gdf: gpd.GeoDataFrame, lon: float | None, lat: float | None) -> tuple[float, float]:
    if lon is not None and lat is not None:
        return float(lon), float(lat)
    from pyproj import Transformer

    x0, y0, x1, y1 = gdf.total_bounds
    to_geo = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True)
    clon, clat = to_geo.transform((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    return round(float(clon), 4), round(float(clat), 4)


def _yield_classes(site: tuple[float, float], tilt_class: np.ndarray, azimuth: np.ndarray,
                   solar_params: Any, weather: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct (tilt, azimuth) classes, their yield (computed once each) and each building's class."""
    # One 1-D key per (tilt, azimuth) pair (azimuth < 360 < 1000): far faster than a row-wise unique.
    key_tilt = np.where(np.isnan(tilt_class), -1.0, tilt_class)
    uniq, inverse = np.unique(key_tilt * 1000.0 + azimuth, return_inverse=True)
    tilt_u = np.floor((uniq + 1000.0) / 1000.0) - 1.0
    az_u = np.round(uniq - tilt_u * 1000.0, 9)
    tilts = np.where(tilt_u < 0, np.nan, tilt_u)
    table = solar_mod.yield_table(site[0], site[1], tilts, az_u, weather=weather, params=solar_params)
    # yield_table sorts its rows; align them with np.unique's order.
    merged = pd.DataFrame({"tilt_class_deg": tilts, "azimuth_deg": az_u}).merge(
        table, on=["tilt_class_deg", "azimuth_deg"], how="left")
    merged.attrs = table.attrs
    return merged, inverse.ravel()



@dataclass(frozen=True)
class _Areas:
    """Township and county of each building as codes into sorted name lists (:func:`_assign_areas`)."""

    town_codes: np.ndarray
    town_names: list[str]
    county_codes: np.ndarray
    county_names: list[str]
    source: str


def _assign_areas(gdf: gpd.GeoDataFrame, geoms: np.ndarray, cat: Any, townships: gpd.GeoDataFrame | None,
                  working_crs: Any) -> _Areas:
    """Township and county of each building (by its bounding-box centre), vectorised per township.

    Names are returned once (sorted, so that grouping on the codes orders rows like grouping on
    the names) with one integer code per building.
    """
    n = len(gdf)
    layer, source = townships, "townships given"
    if layer is None and cat is not None and cat.has("township"):
        layer, source = cat.read("township"), "catalog role 'township'"
    county_only = False
    if layer is None and cat is not None and cat.has("admin_boundary"):
        layer, source, county_only = cat.read("admin_boundary"), "catalog role 'admin_boundary' (counties)", True
    if layer is None or len(layer) == 0:
        return _Areas(np.zeros(n, dtype=np.int64), [UNASSIGNED], np.zeros(n, dtype=np.int64), [UNASSIGNED], "none")
    if layer.crs is not None and not layer.crs.equals(gdf.crs):
        layer = layer.to_crs(gdf.crs)
    names = _area_names(layer)
    counties = (names if county_only else
                layer["county"].astype(str).to_numpy(dtype=object) if "county" in layer.columns
                else np.full(len(layer), UNASSIGNED, dtype=object))
    towns = np.full(len(layer), "", dtype=object) if county_only else names
    # Bounding-box centre of each footprint (cheaper than the centroid, inside any compact footprint);
    # one vectorised point-in-polygon test per township, restricted to the points in its bounding box.
    bounds = shapely.bounds(geoms)
    x = (bounds[:, 0] + bounds[:, 2]) / 2.0
    y = (bounds[:, 1] + bounds[:, 3]) / 2.0
    polys = np.asarray(layer.geometry.array)
    pbounds = shapely.bounds(polys)
    first = np.full(n, -1, dtype=np.int64)
    for i, poly in enumerate(polys):  # one pass per township polygon (tens), vectorised over buildings
        candidates = np.flatnonzero((x >= pbounds[i, 0]) & (x <= pbounds[i, 2]) & (y >= pbounds[i, 1])
                                    & (y <= pbounds[i, 3]) & (first < 0))
        if candidates.size:
            inside = shapely.contains_xy(poly, x[candidates], y[candidates])
            # On a shared border the first polygon (lowest index) keeps the building.
            first[candidates[inside]] = i
    # Polygon index -> name code; the extra last slot is "unassigned".
    polygon = np.where(first >= 0, first, len(layer))
    town_codes, town_names = _codes_for(np.append(towns, UNASSIGNED), polygon)
    county_codes, county_names = _codes_for(np.append(counties, UNASSIGNED), polygon)
    return _Areas(town_codes, town_names, county_codes, county_names, source)


def _codes_for(labels_per_polygon: np.ndarray, polygon: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes into the sorted distinct labels, per building, from each building's polygon index."""
    used = np.unique(polygon)
    names = sorted({str(labels_per_polygon[i]) for i in used})
    lookup = {name: j for j, name in enumerate(names)}
    polygon_code = np.array([lookup.get(str(v), -1) for v in labels_per_polygon], dtype=np.int64)  # tens of polygons
    return polygon_code[polygon], names


def _area_names(layer: gpd.GeoDataFrame) -> np.ndarray:
    name = layer["name"].astype(str) if "name" in layer.columns else pd.Series([""] * len(layer), index=layer.index)
    if "name_zh" in layer.columns:
        zh = layer["name_zh"].astype("string").fillna("").str.strip()
        name = zh.where(zh != "", name).astype(str)
    return name.to_numpy(dtype=object)


def _rank(annual_kwh: np.ndarray, capacity: np.ndarray, included: np.ndarray) -> np.ndarray:
    """1 = largest annual energy among included roofs with capacity; 0 for the others."""
    eligible = included & (capacity > 0)
    order = np.lexsort((np.arange(len(annual_kwh)), -capacity, -annual_kwh))
    order = order[eligible[order]]
    rank = np.zeros(len(annual_kwh), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank



def _assemble(gdf: gpd.GeoDataFrame, columns: dict[str, Any]) -> gpd.GeoDataFrame:
    extra = [c for c in gdf.columns if c not in columns and c != gdf.geometry.name]
    data = {name: columns[name] for name in BUILDING_COLUMNS if name in columns}
    data["synthetic"] = (gdf["synthetic"].to_numpy(dtype=bool) if "synthetic" in gdf.columns
                         else np.zeros(len(gdf), dtype=bool))
    # Input attributes keep their own arrays (no round trip through Python objects), and the columns
    # are not consolidated into one block (copy=False, geometry passed by name): a million-row frame
    # is built without copying its data.
    data.update({c: gdf[c].array for c in extra})
    data["geometry"] = gdf.geometry.values
    frame = pd.DataFrame(data, index=gdf.index, copy=False)
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=gdf.crs, copy=False)
    out.attrs = {"sanxian": dict(gdf.attrs.get("sanxian", {}))}
    return out


def _aggregate(keys: Mapping[str, pd.Categorical], values: Mapping[str, np.ndarray],
               p: RooftopParams) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per township, per county (+ total) and per county x category sums.

    Groups on categorical codes; the (small) result tables get plain string keys, sorted by name.
    """
    base = pd.DataFrame({**keys, "n_buildings": np.ones(len(values["capacity_kwp"]), dtype=np.int64),
                         **values}, copy=False)
    base["gap_kwp"] = base["capacity_kwp"] - base["policy_target_kwp"]
    sums = ["n_buildings", "n_included", *AGGREGATE_SUMS]

    def group(by: list[str]) -> pd.DataFrame:
        grouped = base.groupby(by, sort=False, observed=True)
        agg = grouped[sums].sum()
        agg["synthetic"] = grouped["synthetic"].any()
        agg = agg.reset_index()
        for key in by:
            agg[key] = agg[key].astype(object).astype(str)
        return agg.sort_values(by, kind="stable").reset_index(drop=True)

    towns = group(["county", "township"])
    towns["rank"] = towns["capacity_kwp"].rank(ascending=False, method="first").astype(np.int64)
    counties = group(["county"])
    counties["rank"] = counties["capacity_kwp"].rank(ascending=False, method="first").astype(np.int64)
    total = pd.DataFrame({"county": [TOTAL], **{c: [base[c].sum()] for c in sums},
                          "synthetic": [bool(base["synthetic"].any())], "rank": [0]})
    counties = pd.concat([counties, total.astype(counties.dtypes.to_dict())], ignore_index=True)
    cats = group(["county", "use_category"])
    cats["pilot_share"] = cats["use_category"].map({c.id: c.pilot_share for c in p.categories.values()})
    cats["category_zh"] = cats["use_category"].map({c.id: c.zh for c in p.categories.values()})
    return towns, counties, cats


# ------------------------------------------------------------------------------------------------
# output
# ------------------------------------------------------------------------------------------------
GPKG_NAME = "rooftops.gpkg"
CSV_NAME = "rooftops_by_township.csv"
FACTORS_CSV_NAME = "rooftops_factors.csv"
#: Columns of ``rooftops_factors.csv`` (declared in ``data/columns/rooftop.toml``).
FACTOR_COLUMNS = ("quantity", "factor_kind", "factor_id", "factor_value", "factor_unit", "factor_year",
                  "factor_publisher", "factor_source", "factor_confirmed")
#: Columns appended to every row of ``rooftops_by_township.csv``: the run's provenance notes.
NOTE_COLUMNS = ("factor_ids", "unconfirmed_factor_ids", "exclusions_not_applied")
_NONE = "none"


def factor_table(result: RooftopResult) -> pd.DataFrame:
    """Provenance of the co-benefit factors behind ``co2_t`` ... ``coal_tce`` (one row per factor).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FACTOR_COLUMNS`: output column, kind, id, value, unit, year, publisher,
        source and whether the value was confirmed against the publisher's own text.
    """
    factors = result.summary["factors"]
    rows = []
    for kind, (_, column, _) in benefits_mod.KINDS.items():
        f = factors.get(kind)
        if f is not None:
            rows.append((column, kind, f.id, f.value, f.unit, f.year, f.publisher, f.source, bool(f.confirmed)))
    return pd.DataFrame(rows, columns=list(FACTOR_COLUMNS))


def provenance_notes(result: RooftopResult) -> dict[str, str]:
    """The run's provenance notes as text: factor ids used, unconfirmed ones, exclusions not applied.

    Keys are :data:`NOTE_COLUMNS`; a value is ``"none"`` when there is nothing to report.
    """
    s = result.summary
    # Same order as co_benefits' factor_ids column (co2, so2, nox, pm, coal).
    ids = ";".join(s["factors"][kind].id for kind in benefits_mod.KINDS if kind in s["factors"])
    not_applied = s.get("exclusions_not_applied", {})
    return {"factor_ids": ids or _NONE,
            "unconfirmed_factor_ids": ";".join(s["unconfirmed_factors"]) or _NONE,
            "exclusions_not_applied": "; ".join(f"{role}: not applied, {why}" for role, why in not_applied.items())
                                      or _NONE}


def _layer_metadata(result: RooftopResult, dropped: Mapping[str, str], spatial_index: bool) -> dict[str, str]:
    """GeoPackage layer metadata: a readable DESCRIPTION plus structured provenance items."""
    s = result.summary
    notes = provenance_notes(result)
    factors = factor_table(result)
    excluded = s["excluded"]
    applied = [f"{name}: applied, {n} building(s) excluded" for name, n in excluded.items()]
    exclusions = applied + [f"{role}: not applied, {why}" for role, why in s.get("exclusions_not_applied", {}).items()]
    townships = ("not assigned (no township layer): no township aggregation" if s["area_source"] == "none"
                 else s["area_source"])
    description = ("sanxian_yidan rooftop PV potential (one row per building); "
                   + ("SYNTHETIC input - not for decisions; " if result.synthetic else "")
                   + ("no spatial index (create one in QGIS if panning is slow); " if not spatial_index else "")
                   + (f"co-benefit factors NOT CONFIRMED against the publisher: {notes['unconfirmed_factor_ids']}; "
                      if s["unconfirmed_factors"] else "")
                   + (f"exclusions not applied: {notes['exclusions_not_applied']}; "
                      if s.get("exclusions_not_applied") else "")
                   + f"factor_ids: {notes['factor_ids']} (see FACTORS); townships: {townships}"
                   + "".join(f"; {c}: {v}" for c, v in dropped.items()))
    return {
        "DESCRIPTION": description,
        "FACTORS": json.dumps(factors.to_dict(orient="records"), ensure_ascii=False),
        "UNCONFIRMED_FACTORS": notes["unconfirmed_factor_ids"],
        "EXCLUSIONS": "; ".join(exclusions),
        "TOWNSHIPS": townships,
        "SYNTHETIC": "YES" if result.synthetic else "NO",
    }


def declared_labels(names: Sequence[str]) -> dict[str, str]:
    """Bilingual labels of output columns, each of which must be declared in the column registry.

    Raises
    ------
    DataFileError
        A name is not declared (``data/columns/*.toml``), or the registry itself is broken (a
        column declared twice with different text).  Outputs are never written with bare names.
    """
    from .columns import describe

    missing = [str(n) for n in names if describe(str(n)) is None]
    if missing:
        raise DataFileError(problem("输出列未在列注册表中声明。",
                                    f"Output column(s) {missing} are not declared in the column registry.",
                                    file="sanxian_yidan/data/columns/rooftop.toml",
                                    fix="declare each as [name] with zh, en, unit and description"))
    return {str(n): describe(str(n)).label for n in names}


def write_outputs(result: RooftopResult, out: str | Path, *, spatial_index: bool = True,
                  factors_csv: bool = False) -> dict[str, Path]:
    """Write ``rooftops.gpkg`` (one row per building) and ``rooftops_by_township.csv``.

    The CSVs are UTF-8 with a byte-order mark (so Excel shows Chinese) and have bilingual headers
    from the column registry (``中文 / English [unit]``).  Existing files are replaced: callers
    (the CLI) decide whether that is allowed.  The GeoPackage is written through Arrow when
    pyarrow is installed (about twice as fast for large layers; same table and field types), with
    the SQLite cache and page size of :func:`sanxian_yidan.io.gpkg.write_settings`.

    Provenance travels with the files: the GeoPackage layer keeps a ``factor_ids`` column and
    its metadata holds ``FACTORS`` (JSON: id, value, unit, year, publisher, source, confirmed
    of each co-benefit factor), ``UNCONFIRMED_FACTORS``, ``EXCLUSIONS`` (applied / not applied
    and why), ``TOWNSHIPS`` and ``SYNTHETIC``; the township CSV repeats :data:`NOTE_COLUMNS` on
    every row.

    Parameters
    ----------
    result : RooftopResult
        From :func:`rooftop_potential`.
    out : str or Path
        Output folder (created if missing).
    spatial_index : bool, default True
        Build the GeoPackage R-tree spatial index.  ``False`` saves about a quarter of the write
        time of a large layer (0.9-1.0 s of 3.5 s for a million footprints, ``benchmarks/rooftop.py``); QGIS still opens the file but pans and zooms more slowly on it
        (it offers to create the index: Layer Properties > Source > Create Spatial Index).
    factors_csv : bool, default False
        Also write ``rooftops_factors.csv`` (:func:`factor_table`, one row per factor).
        ``sanxian rooftops`` always does.

    Returns
    -------
    dict
        ``{"gpkg": path, "csv": path}`` plus ``"factors": path`` when ``factors_csv``.

    Raises
    ------
    DataFileError
        A column written is not declared in the column registry (or declared twice differently).
    """
    import pyogrio

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    gpkg, csv = folder / GPKG_NAME, folder / CSV_NAME
    table = result.area_table().assign(**provenance_notes(result))
    # Labels first: an undeclared or clashing column fails before any file is touched.
    headers = declared_labels(table.columns)
    declared_labels([c for c in BUILDING_COLUMNS if c in result.buildings.columns])
    factors = factor_table(result) if factors_csv else None
    factor_headers = declared_labels(FACTOR_COLUMNS) if factors_csv else {}
    if gpkg.exists():
        gpkg.unlink()
    # Per-layer provenance strings (source, layer_id) are the same on every row: they go to the layer
    # metadata instead of one copy per building (they dominate the write time of large layers).
    buildings = result.buildings
    drop = [c for c in ("source", "layer_id") if c in buildings.columns and buildings[c].nunique() <= 16]
    dropped = {c: " | ".join(map(str, buildings[c].unique())) for c in drop}
    # use_value repeats the input's own use column (kept as an attribute): not written twice.
    layer = buildings.drop(columns=drop + ["use_value"])
    use_arrow = has_pyarrow()
    if not use_arrow:
        # Without Arrow, pyogrio needs plain strings; with it, categoricals are written as TEXT fields.
        for col in layer.columns:
            if isinstance(layer[col].dtype, pd.CategoricalDtype):
                layer[col] = layer[col].astype(str)
    with write_settings():
        pyogrio.write_dataframe(layer, gpkg, layer="rooftops", driver="GPKG",
                                layer_metadata=_layer_metadata(result, dropped, spatial_index), use_arrow=use_arrow,
                                layer_options={"SPATIAL_INDEX": "YES" if spatial_index else "NO"})
    table.rename(columns=headers).to_csv(csv, index=False, encoding="utf-8-sig", float_format="%.3f")
    paths = {"gpkg": gpkg, "csv": csv}
    if factors is not None:
        paths["factors"] = folder / FACTORS_CSV_NAME
        factors.rename(columns=factor_headers).to_csv(paths["factors"], index=False, encoding="utf-8-sig")
    return paths


__all__ = ["AGGREGATE_SUMS", "ROOFTOP_STEPS", "BUILDING_COLUMNS", "CSV_NAME", "Category", "FACTORS_CSV_NAME", "FACTOR_COLUMNS",
           "GPKG_NAME", "NOTE_COLUMNS", "NOT_APPLIED_MISSING", "NOT_APPLIED_NO_CATALOG", "RoofType", "RooftopParams",
           "RooftopResult", "TOTAL", "UNASSIGNED", "declared_labels", "factor_table", "load_params", "provenance_notes",
           "rooftop_potential", "write_outputs"]
