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
  year, publisher, source, confirmed), the exclusion layers applied or not applied, the
  synthetic-data flag and the synthetic layers behind it (footprints, exclusion layers, townships:
  a run on real footprints with sample exclusion or township layers is synthetic too);
* ``rooftops_by_township.csv`` — technical and policy-target capacity per township, county and
  total (UTF-8 with BOM, bilingual headers); the columns ``factor_ids``,
  ``unconfirmed_factor_ids``, ``exclusions_not_applied`` and ``synthetic_layers`` repeat the run's provenance notes on
  every row so the table cannot travel without them;
* ``rooftops_factors.csv`` (``factors_csv=True``; always written by ``sanxian rooftops``) — one
  row per co-benefit factor: quantity, id, value, unit, year, publisher, source, confirmed.

Exclusion roles of ``[exclusions] roles`` that the catalog lacks are not silently skipped: the
result's ``details["exclusions_not_applied"]`` names each with the reason, and every output
repeats it.  Buildings outside the catalog's data coverage (the union of its ``admin_boundary``
features) are excluded with reason ``outside_coverage``: no exclusion layer can vouch for them.

Everything is vectorised (shapely 2 arrays, STRtree, numpy, pandas groupby): there is no Python
loop over buildings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import benefits as benefits_mod
from .. import solar as solar_mod
from ..analysis import Analysis, LayerRecord, register
from ..errors import EmptyLayerError, problem
from ..progress import Progress, report_step
from ..provenance import TrackedCatalog, synthetic_layers_of
from .locate import PointGrid
from .orientation import roof_orientation
from .output import (  # noqa: F401  (public names, as before the split)
    CSV_NAME,
    FACTOR_COLUMNS,
    FACTORS_CSV_NAME,
    FORMATS,
    GPKG_NAME,
    NOTE_COLUMNS,
    PARQUET_NAME,
    declared_labels,
    factor_table,
    provenance_notes,
    write_outputs,
)
from .params import Category, RooftopParams, RoofType, load_params, resolve_rooftop_params  # noqa: F401
from .result import AGGREGATE_SUMS, BUILDING_COLUMNS, TOTAL, UNASSIGNED, RooftopResult  # noqa: F401
from .steps import (  # noqa: F401
    NOT_APPLIED_MISSING,
    NOT_APPLIED_NO_CATALOG,
    OUTSIDE_COVERAGE,
    STATUS_MAPPED,
    STATUS_MISSING,
    STATUS_UNMAPPED,
    aggregate_tables,
    assemble_buildings,
    assign_areas,
    bbox_centres,
    centres_and_extent,
    classify_attribute,
    code_labels,
    default_working_crs,
    exclusion_reasons,
    load_catalog,
    prepare_footprints,
    prepare_footprints_and_rings,
    rank_by_energy,
    raw_value_labels,
    yield_class_table,
    yield_site,
)

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..solar import Weather

logger = logging.getLogger(__name__)

#: Steps :func:`rooftop_potential` reports (for progress bars).
ROOFTOP_STEPS = 8


# ------------------------------------------------------------------------------------------------
# main entry
# ------------------------------------------------------------------------------------------------
def rooftop_potential(buildings: gpd.GeoDataFrame, *, catalog: Catalog | str | Path | None = None,
                      params: RooftopParams | str | Path | Mapping[str, Any] | None = None,
                      exclusions: Mapping[str, gpd.GeoDataFrame] | None = None,
                      townships: gpd.GeoDataFrame | None = None, lon: float | None = None,
                      lat: float | None = None, weather: Weather | str | Path | pd.DataFrame | None = None,
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
    p = resolve_rooftop_params(params)
    cat = load_catalog(catalog)
    # Every catalog layer read below (exclusions, townships) is recorded: its synthetic flag
    # travels to every building it was applied to, not only the footprints' own flag.
    ctx = TrackedCatalog(cat) if cat is not None else None
    working_crs = cat.working_crs if cat is not None else default_working_crs()
    n_input = len(buildings)
    report_step(progress, "prepare", 0, ROOFTOP_STEPS)
    gdf, area, repairs, n_dropped, rings = prepare_footprints_and_rings(buildings, working_crs)
    if len(gdf) == 0:
        raise EmptyLayerError(problem("没有可用的建筑轮廓。",
                                      f"No usable building footprint among {n_input} feature(s) "
                                      f"({n_dropped} empty or zero-area).",
                                      fix="check the footprint layer (polygons with area > 0)"))
    geoms = np.asarray(gdf.geometry.array)
    report_step(progress, "attributes", 1, ROOFTOP_STEPS)
    use = classify_attribute(gdf, p.use.columns, p.use.map, p.use.missing, list(p.categories), p.use.default_category)
    use_codes = use.codes
    cat_ids = list(p.categories)
    cat_default_roof = np.array([list(p.roof_types).index(p.categories[c].default_roof_type) for c in cat_ids])
    roof = classify_attribute(gdf, p.roof.columns, p.roof.map, p.use.missing, list(p.roof_types), None)
    roof_defaulted = roof.codes < 0
    roof_codes = np.where(roof_defaulted, cat_default_roof[use_codes], roof.codes)
    report_step(progress, "exclusions", 2, ROOFTOP_STEPS)
    # Where each building is located (coverage, township) and the layer's extent (yield site): one bounds pass.
    centres, extent = centres_and_extent(geoms)
    grid = PointGrid(*centres)  # the coverage and township lookups share the centres' grid
    excl_codes, excl_names, excl_stats, not_applied = exclusion_reasons(gdf, geoms, area, p, ctx, exclusions, grid)
    report_step(progress, "orientation", 3, ROOFTOP_STEPS)
    tilt_class, azimuth = roof_orientation(gdf, geoms, roof_codes, p, rings)
    report_step(progress, "yield", 4, ROOFTOP_STEPS)
    site = yield_site(gdf, lon, lat, extent)
    solar_params = solar_mod.load_params(overrides=p.solar) if p.solar else None
    classes, class_index = yield_class_table(site, tilt_class, azimuth, solar_params, weather)
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
    factors = benefits_mod.select_factors(overrides={"factors": p.factors} if p.factors else None)
    cob = benefits_mod.co_benefits(annual_kwh, factors=factors)
    report_step(progress, "areas", 6, ROOFTOP_STEPS)
    areas = assign_areas(gdf, geoms, ctx, townships, working_crs, grid)
    rank = rank_by_energy(annual_kwh, capacity, included)
    benefit_arrays = {c: cob[c].to_numpy() for c in benefits_mod.BENEFIT_COLUMNS}
    use_defaulted = use.status != STATUS_MAPPED
    out = assemble_buildings(gdf, {
        "rank": rank, "capacity_kwp": capacity, "annual_kwh": annual_kwh, **benefit_arrays,
        "factor_ids": cob["factor_ids"].array,  # one category: integer codes, no per-building strings
        "policy_target_kwp": target, "pilot_share": pilot_share,
        "use_category": pd.Categorical.from_codes(use_codes, categories=cat_ids),
        "use_value": raw_value_labels(gdf, use), "use_defaulted": use_defaulted,
        "roof_type": pd.Categorical.from_codes(roof_codes, categories=list(p.roof_types)),
        "roof_defaulted": roof_defaulted, "area_m2": area, "usable_area_m2": usable_area,
        "tilt_deg": tilt_used, "azimuth_deg": azimuth, "specific_yield_kwh_kwp": spec_yield,
        "excluded_reason": code_labels(excl_codes, excl_names),
        "township": code_labels(areas.town_codes, areas.town_names),
        "county": code_labels(areas.county_codes, areas.county_names),
    })
    synthetic_layers, context_synthetic = _synthetic_layers(buildings, ctx, exclusions,
                                                            townships if areas.source == "townships given" else None)
    own = out["synthetic"].to_numpy(dtype=bool)  # the footprints' own flags, read by assemble_buildings
    out["synthetic"] = own | bool(buildings.attrs.get("sanxian", {}).get("synthetic", False)) | bool(context_synthetic)
    report_step(progress, "aggregate", 7, ROOFTOP_STEPS)
    # Aggregation works on the integer codes (categoricals), not on the per-building strings.
    keys = {"county": pd.Categorical.from_codes(areas.county_codes, categories=areas.county_names),
            "township": pd.Categorical.from_codes(areas.town_codes, categories=areas.town_names),
            "use_category": pd.Categorical.from_codes(use_codes, categories=cat_ids)}
    values = {"n_included": included.astype(np.int64), "roof_area_m2": area, "usable_area_m2": usable_area,
              "capacity_kwp": capacity, "policy_target_kwp": target, "annual_kwh": annual_kwh, **benefit_arrays,
              "synthetic": out["synthetic"].to_numpy(dtype=bool)}
    towns_table, county_table, category_table = aggregate_tables(keys, values, p)
    synthetic = bool(values["synthetic"].any()) or bool(synthetic_layers)
    details = {
        "input_features": n_input, "buildings": len(out), "dropped_empty_or_zero_area": n_dropped,
        "repairs": [r for r in repairs if r.kind != "reprojected"],
        "invalid_repaired": sum(r.count for r in repairs if r.kind == "invalid_geometry"),
        "excluded": excl_stats, "exclusions_not_applied": not_applied, "included": int(included.sum()),
        "use_columns": use.columns, "use_defaulted": int(use_defaulted.sum()),
        "use_missing": int((use.status == STATUS_MISSING).sum()),
        "use_unmapped": int((use.status == STATUS_UNMAPPED).sum()),
        "use_unmapped_values": use.unmapped_values, "default_category": p.use.default_category,
        "roof_columns": roof.columns, "roof_defaulted": int(roof_defaulted.sum()),
        "roof_unmapped_values": roof.unmapped_values,
        "site_lon_lat": site, "weather_source": classes.attrs.get("sanxian", {}).get("weather_source", ""),
        "yield_classes": len(classes), "area_source": areas.source,
        "factors": cob.attrs["sanxian"]["factors"], "unconfirmed_factors": cob.attrs["sanxian"]["unconfirmed"],
        "params_file": p.loaded_from, "synthetic": synthetic, "synthetic_layers": synthetic_layers,
        "totals": {k: float(county_table.loc[county_table["county"] == TOTAL, k].iloc[0])
                   for k in ("capacity_kwp", "policy_target_kwp", "gap_kwp", "annual_kwh", "co2_t")},
    }
    report_step(progress, "done", ROOFTOP_STEPS, ROOFTOP_STEPS)
    logger.info("rooftop potential: %d buildings, %d included, %.0f kWp", len(out), int(included.sum()),
                float(capacity.sum()))
    return RooftopResult(out, towns_table, county_table, category_table, classes, details, params=p,
                         layers_used=_layers_used(buildings, cat, ctx, synthetic_layers))


def _layers_used(buildings: gpd.GeoDataFrame, cat: Catalog | None, ctx: TrackedCatalog | None,
                 synthetic_layers: list[str]) -> list[LayerRecord]:
    """The catalog layers behind the run (footprints read from the catalog, exclusions, townships), or the
    footprints as ``buildings`` when they did not come from the catalog."""
    entries = {e.id: e for e in cat.entries} if cat is not None else {}
    own = [str(i) for i in buildings.attrs.get("sanxian", {}).get("layers", []) if i in entries]
    used = own + [i for i in (ctx.used_layers() if ctx is not None else []) if i not in own]
    records = [LayerRecord(i, entries[i].role, bool(entries[i].synthetic) or i in synthetic_layers, "",
                           str(entries[i].source or "")) for i in used if i in entries]
    if not own:
        records.insert(0, LayerRecord("buildings", "building", "buildings" in synthetic_layers))
    return records


def run(catalog: Catalog, buildings: gpd.GeoDataFrame | None = None,
        params: RooftopParams | str | Path | Mapping[str, Any] | None = None,
        progress: Progress | None = None) -> RooftopResult:
    """Rooftop PV potential: the registered ``rooftops`` analysis.

    Parameters
    ----------
    catalog : Catalog
        Layer catalog (exclusion layers, townships, working CRS).
    buildings : GeoDataFrame, optional
        Footprints; default the catalog's ``building`` layer.
    params : RooftopParams, path or mapping, optional
        Overrides of ``data/rooftop.toml``.
    progress : callable, optional
        ``progress(step, steps_done, ROOFTOP_STEPS)``.

    Returns
    -------
    RooftopResult
        See :func:`rooftop_potential` (which takes more options).
    """
    if buildings is None:
        buildings = catalog.read("building")
    return rooftop_potential(buildings, catalog=catalog, params=params, progress=progress)


def _synthetic_layers(buildings: gpd.GeoDataFrame, ctx: TrackedCatalog | None,
                      exclusions: Mapping[str, gpd.GeoDataFrame] | None,
                      townships: gpd.GeoDataFrame | None) -> tuple[list[str], list[str]]:
    """Synthetic layers behind the run: (all of them, those applied to every building).

    The second list holds the context layers (catalog layers read, extra exclusion layers, the
    township layer given): each of them decided something for every building (excluded or not,
    which township), so each building's ``synthetic`` flag includes them.
    """
    context = set(ctx.synthetic_layers()) if ctx is not None else set()
    for name, layer in (exclusions or {}).items():
        context |= set(synthetic_layers_of(layer, f"exclusion:{name}"))
    context |= set(synthetic_layers_of(townships, "townships"))
    own = set(synthetic_layers_of(buildings, "buildings"))
    return sorted(own | context), sorted(context)


__all__ = ["AGGREGATE_SUMS", "ROOFTOP_STEPS", "BUILDING_COLUMNS", "CSV_NAME", "Category", "FACTORS_CSV_NAME",
           "FACTOR_COLUMNS", "FORMATS", "GPKG_NAME", "NOTE_COLUMNS", "NOT_APPLIED_MISSING", "NOT_APPLIED_NO_CATALOG",
           "OUTSIDE_COVERAGE", "PARQUET_NAME", "RoofType", "RooftopParams", "RooftopResult", "TOTAL", "UNASSIGNED",
           "declared_labels", "factor_table", "load_params", "provenance_notes", "rooftop_potential", "run",
           "write_outputs"]

register(Analysis("rooftops", "屋顶光伏", "Rooftop PV", run=run, result_type=RooftopResult, roles=("building",)))
