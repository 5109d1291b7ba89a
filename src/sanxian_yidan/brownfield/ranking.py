"""Brownfield ranking: the pipeline :func:`run_brownfields` (on the shared :mod:`sanxian_yidan.siteengine`) and its result."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..analysis import (
    LayerRecord,
    Note,
    OutputFile,
    ParamRecord,
    Provenance,
    ReportChart,
    ReportColumn,
    ReportSection,
    ReportTable,
    Result,
    common_data_files,
    data_file_hashes,
    frame_layer_records,
    merge_layer_records,
    parameter_files,
    summary_frame,
    tracked_layer_records,
)
from ..datafiles import packaged_path
from ..progress import Progress, report_step
from ..provenance import TrackedCatalog, display_path
from ..schemas import assemble, schema
from ..siteengine import (
    OUTSIDE_COVERAGE_LABEL,
    TERRAIN_COLUMNS,
    criterion_objects,  # noqa: F401  (importable from here as before)
    criterion_weights,  # noqa: F401
    cut_exclusions,
    edge_limited,
    edge_table,
    exclusion_layers,
    layer_distance,
    locate_sites,
    location_yields,
    mcda_param_records,
    prescreen,
    resolve_dem,
    score_and_rank,
    search_radius_m,
    share_text,
    site_synthetic_layers,
    sort_by_rank,
    substation_distances,
    synthetic_note,
    terrain_table,
    yield_locations,
    yield_tilt,
)
from .params import BrownfieldParams, load_params
from .sites import candidate_sites, ground_capacity_mw, read_parcels, site_readiness

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..provenance import CatalogLike
    from ..terrain import Dem

log = logging.getLogger(__name__)

#: Number of progress steps :func:`brownfield_ranking` reports (for progress bars).
RANKING_STEPS = 7

# =============================================================================================
# Result
# =============================================================================================
#: The files a brownfield result writes, declared once (``write``, the CLI, studies and the manifest use them).
BROWNFIELD_OUTPUTS = (
    OutputFile("brownfields.gpkg", "gpkg", ("sites", "excluded"),
               "棕地净可开发面积（图层 sites）及扣除部分（图层 excluded）",
               "Net developable area per site (layer sites) and the parts cut away (layer excluded)"),
    OutputFile("brownfields.csv", "csv", ("sites",), "棕地光伏排序表", "The brownfield PV ranking table"),
)
#: Package data files a brownfield ranking reads besides ``brownfield.toml`` and the common ones
#: (:func:`sanxian_yidan.analysis.common_data_files`), listed in its provenance.
DATA_FILES = ("solar.toml", "benefits.toml", "terrain.toml", "mcda.toml")


class _SummaryTable(pd.DataFrame):
    """The summary table; calling it, as the former ``summary()`` method, gives :meth:`BrownfieldResult.totals`."""

    _metadata = ["totals_dict"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def __call__(self) -> dict[str, float]:
        import warnings

        warnings.warn("BrownfieldResult.summary() is deprecated: use .totals() (dict) or .summary (table)",
                      DeprecationWarning, stacklevel=2)
        return dict(self.totals_dict)


@dataclass
class BrownfieldResult(Result):
    """Outcome of :func:`run_brownfields` (the ``brownfields`` analysis).

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
    notes : list of Note
        Run-level notes: layers missing, factors unconfirmed, synthetic inputs.
    provenance : Provenance
        Layers read (with their synthetic flag), parameters with sources, data files with SHA-256.
    """

    analysis: ClassVar[str] = "brownfields"
    outputs: ClassVar[tuple[OutputFile, ...]] = BROWNFIELD_OUTPUTS

    sites: gpd.GeoDataFrame
    excluded: gpd.GeoDataFrame
    params: BrownfieldParams
    weights: pd.Series
    notes: list[Note] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def synthetic(self) -> bool:
        """True if any input layer is synthetic (results are then not for decisions)."""
        return self.provenance.synthetic or bool(self.sites["synthetic"].any())

    @property
    def synthetic_layers(self) -> list[str]:
        """Ids of the synthetic layers behind the result, sorted (the report banner lists them)."""
        return self.provenance.synthetic_layers

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """``sites``, ``excluded``, ``by_type`` and ``excluded_by_reason``."""
        return {"sites": self.sites, "excluded": self.excluded, "by_type": self.by_type(),
                "excluded_by_reason": self.excluded_by_reason()}

    def report_section(self, options: Mapping[str, Any], catalog: Catalog) -> ReportSection:
        """Capacity of the ``top`` ranked sites (default 15) as chart and table, net areas by score on a map."""
        from ..figures import FigureLayer

        ranked = self.sites[self.sites["rank"].notna()].head(int(options.get("top", 15)))
        layers = [FigureLayer(self.excluded, "excluded_parts")] if len(self.excluded) else []
        layers.append(FigureLayer(self.sites[~self.sites.geometry.is_empty], "brownfield_sites", column="score",
                                  label="综合得分 / score", markers=True))
        cols = (ReportColumn("rank"), ReportColumn("name"), ReportColumn("site_type_zh"),
                ReportColumn("net_area_m2", numeric=True), ReportColumn("capacity_mw", numeric=True, digits=2),
                ReportColumn("annual_mwh", numeric=True), ReportColumn("co2_t", numeric=True),
                ReportColumn("score", numeric=True, digits=3), ReportColumn("p_top_k", numeric=True, digits=2))
        return ReportSection(
            figure_title="棕地净可开发面积（按综合得分着色）/ Brownfield net areas by score",
            figure_layers=tuple(layers),
            chart=ReportChart([f"{int(r)}. {n}" for r, n in zip(ranked["rank"], ranked["name"])],
                              list(ranked["capacity_mw"]), "入围棕地装机容量 / Capacity of the ranked brownfield sites",
                              "MW", fmt="{:,.1f}"),
            tables=(ReportTable(ranked.to_dict("records"), cols),), notes=tuple(n.text() for n in self.notes))

    def totals(self) -> dict[str, float]:
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

    @property
    def summary(self) -> pd.DataFrame:
        """Headline figures (:func:`sanxian_yidan.analysis.summary_frame`) from :meth:`totals`, with sources."""
        t = self.totals()
        p = self.params
        density = f"{p.density.name} {p.density.mw_per_ha:g} MW/ha: {p.density.source}"
        energy = "pvlib specific yield at each site (data/solar.toml) × capacity"
        co2 = f"grid emission factor '{p.yield_.grid}' of data/benefits.toml"
        table = summary_frame([
            {"label_zh": "候选地块", "label_en": "Candidate sites", "value": t["sites"],
             "source": "catalog roles " + ", ".join(c.role for c in p.candidate_roles)},
            {"label_zh": "参与排序地块", "label_en": "Ranked sites", "value": t["ranked"],
             "source": "status, pre-screen and data coverage of data/brownfield.toml"},
            {"label_zh": "总面积", "label_en": "Gross area", "value": t["gross_area_m2"], "unit": "m²"},
            {"label_zh": "硬约束扣除面积", "label_en": "Area cut away by hard exclusions",
             "value": t["excluded_area_m2"], "unit": "m²", "source": "[[exclusions]] of data/brownfield.toml"},
            {"label_zh": "净可开发面积", "label_en": "Net developable area", "value": t["net_area_m2"], "unit": "m²"},
            {"label_zh": "装机容量", "label_en": "Capacity", "value": t["capacity_mw"], "unit": "MW",
             "source": density},
            {"label_zh": "年发电量", "label_en": "Annual energy", "value": t["annual_mwh"], "unit": "MWh/yr",
             "source": energy},
            {"label_zh": "CO₂ 减排", "label_en": "Avoided CO₂", "value": t["co2_t"], "unit": "t/yr", "source": co2},
            {"label_zh": "入围地块装机容量", "label_en": "Capacity of the ranked sites",
             "value": t["ranked_capacity_mw"], "unit": "MW", "source": density},
            {"label_zh": "入围地块年发电量", "label_en": "Annual energy of the ranked sites",
             "value": t["ranked_annual_mwh"], "unit": "MWh/yr", "source": energy},
            {"label_zh": "入围地块 CO₂ 减排", "label_en": "Avoided CO₂ of the ranked sites",
             "value": t["ranked_co2_t"], "unit": "t/yr", "source": co2},
        ])
        out = _SummaryTable(table)
        out.totals_dict = t
        return out

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
        order = [c.role for c in self.params.candidate_roles if c.role in grouped.index]
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
        return ex.groupby("reason_role", sort=False).agg(
            reason_zh=("reason_zh", "first"), reason_en=("reason_en", "first"), parts=("site_id", "size"),
            excluded_area_m2=("excluded_area_m2", "sum"))

    def write_into(self, folder: Path) -> dict[str, Path]:
        """Write :data:`BROWNFIELD_OUTPUTS` into ``folder`` (which exists); return file name -> path."""
        from ..outputs import write_layers, write_table_csv

        sites = assemble("brownfield_sites", self.sites)
        write_layers(folder / "brownfields.gpkg", {"sites": sites, "excluded": self.excluded})
        write_table_csv(sites.drop(columns="geometry"), folder / "brownfields.csv")
        return {n: folder / n for n in self.output_names()}

    def headline(self) -> str:
        """Sites ranked of the candidates and their capacity."""
        t = self.totals()
        return f"{t['ranked']} of {t['sites']} sites ranked, {t['ranked_capacity_mw']:,.1f} MW"

    def map_layers(self) -> list[Any]:
        """Net developable areas by score and the excluded parts (:func:`sanxian_yidan.resultmaps.brownfield_layers`)."""
        from ..resultmaps import brownfield_layers

        return brownfield_layers(self)


def load_catalog(catalog: Catalog | str | Path) -> Catalog:
    """A :class:`sanxian_yidan.catalog.Catalog`: loaded from ``catalog`` if it is a path, else as given."""
    from ..catalog import Catalog

    return Catalog.load(catalog) if isinstance(catalog, (str, Path)) else catalog


def brownfield_ranking(catalog: Catalog | str | Path, *, parcels: str | Path | gpd.GeoDataFrame | None = None,
                       params: str | Path | Mapping[str, Any] | BrownfieldParams | None = None,
                       dem: Dem | str | Path | None = None, progress: Progress | None = None) -> BrownfieldResult:
    """:func:`run_brownfields` for a catalog and parcels given as paths (read here) or as objects."""
    cat = load_catalog(catalog)
    if parcels is not None and not isinstance(parcels, gpd.GeoDataFrame):
        parcels = read_parcels(parcels, cat.working_crs)
    return run_brownfields(cat, parcels, params=params, dem=dem, progress=progress)


def run_from_options(catalog: Catalog, options: Mapping[str, Any], progress: Progress | None = None) -> BrownfieldResult:
    """:func:`run_brownfields` from a study section or CLI options (``parcels`` and ``params`` files are read here)."""
    return brownfield_ranking(catalog, parcels=options.get("parcels"), params=options.get("params"), progress=progress)


def run_brownfields(catalog: Catalog, parcels: gpd.GeoDataFrame | None = None, *,
                    params: str | Path | Mapping[str, Any] | BrownfieldParams | None = None,
                    dem: Dem | str | Path | None = None, progress: Progress | None = None) -> BrownfieldResult:
    """Rank brownfield land for ground-mounted PV: net area, capacity, yield, co-benefits, score, rank.

    Parameters
    ----------
    catalog : Catalog
        Layer catalog with the candidate roles (mine_site, subsidence_area, landfill,
        contaminated_site), the exclusion roles and substation / road / built-up layers.
    parcels : GeoDataFrame, optional
        Extra candidate parcels with a CRS (:func:`brownfield_ranking` reads them from a file).
    params : path, mapping or BrownfieldParams, optional
        Overrides of ``data/brownfield.toml``.
    dem : terrain Dem or path, optional
        DEM for slope and aspect; default the catalog's ``dem`` layer.  Sites the DEM does not
        cover get empty terrain values and a note in ``reasons``.
    progress : callable, optional
        ``progress(step_label, steps_done, steps_total)`` when each step starts, and once at the end
        (:mod:`sanxian_yidan.progress`).

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
    # Candidate layers are read from `catalog` (each site keeps its own synthetic flag); every other
    # layer is read through `ctx`, which records it: those layers decide something for every site
    # (exclusions, distances, terrain, county and township), so their synthetic flags reach every site.
    ctx = TrackedCatalog(catalog)
    report_step(progress, "候选地块 / candidate sites", 0, total)
    sites = candidate_sites(catalog, p, parcels=parcels)
    shared = shared_layers(ctx, p, dem)
    ev = evaluate_sites(sites, ctx, p, shared, progress=progress)
    report_step(progress, "发电量与协同效益 / yield and co-benefits", 4, total)
    locations = distinct_locations([ev.locations])
    tilt = yield_tilt(locations, azimuth_deg=p.yield_.azimuth_deg, tilt_deg=p.yield_.tilt_deg) if len(locations) \
        else p.yield_.tilt_deg
    yields = location_yields(locations, tilt_deg=tilt, azimuth_deg=p.yield_.azimuth_deg) if tilt is not None \
        else locations.assign(sy=np.nan)
    factors = finish_measures(ev, p, yields, tilt)
    report_step(progress, "预筛与评分 / pre-screen and scoring", 5, total)
    return rank_sites(ev, ctx, p, shared, n_runs=len(locations), tilt=tilt, factors=factors, params_file=params,
                      progress=progress)


@dataclass(frozen=True)
class SharedLayers:
    """What every part of a ranking reads the same: the buffered hard exclusions (and their notes) and the DEM.

    Attributes
    ----------
    exclusions : GeoDataFrame
        The hard-exclusion zones in the working CRS, each buffered by its ``buffer_m`` [m].
    exclusion_notes : list of str
        Bilingual run notes of the exclusion layers (missing layers, filters).
    dem : object or None
        The DEM raster the terrain measures read (``None``: slope and aspect not assessed).
    dem_given : bool
        The DEM was passed by the caller (not taken from the catalog): listed in the provenance.
    """

    exclusions: gpd.GeoDataFrame
    exclusion_notes: list[str]
    dem: Dem | None
    dem_given: bool


def shared_layers(ctx: TrackedCatalog, p: BrownfieldParams, dem: Dem | str | Path | None = None) -> SharedLayers:
    """Read the exclusion layers and the DEM once, through ``ctx`` (which records them).

    Parameters
    ----------
    ctx : TrackedCatalog
        The catalog the layers are read from (recording them for the provenance).
    p : BrownfieldParams
        ``[[exclusions]]`` (roles, filters, buffers [m]).
    dem : path or raster, optional
        A DEM to use instead of the catalog's ``dem`` layer.

    Returns
    -------
    SharedLayers
        The buffered exclusion zones, their notes and the DEM.
    """
    ex_layers, ex_notes = exclusion_layers(ctx, p.exclusions)
    return SharedLayers(ex_layers, ex_notes, resolve_dem(ctx, dem), dem is not None)


@dataclass
class SiteEvaluation:
    """The row-local part of a ranking for a set of sites (all of them in memory; one partition on Dask).

    Every value here depends on the site and the catalog only; what depends on the whole site set
    (the yield tilt, the pre-screen notes' totals, the score normalisation, rank and ``p_top_k``, the run
    notes counting sites) is left to :func:`finish_measures` (given the tilt) and :func:`rank_sites`.

    Attributes
    ----------
    frame : DataFrame
        One row per site: the site table's columns plus ``county``, ``township``, ``outside_coverage_share``
        [0-1], ``net_area_m2`` and ``excluded_area_m2`` [m²], ``net_share`` [0-1], ``capacity_mw`` [MW],
        ``slope_mean_deg`` / ``slope_max_deg`` [deg], ``flat_share`` / ``south_share`` / ``dem_coverage``
        [0-1], ``elevation_mean_m`` [m], ``dist_substation_m`` / ``dist_any_substation_m`` / ``dist_road_m``
        / ``dist_setback_m`` [m], ``required_kv`` / ``substation_kv`` [kV], ``substation_name`` and
        ``edge_limited`` (a search reached the data's edge).  :func:`finish_measures` and
        :func:`rank_sites` add their columns to it.
    net, dist_geoms : ndarray of shapely geometries
        Per site: its net area after the hard exclusions, and the geometry distances are measured from
        (the net area, or the site's outline when nothing is left), in the working CRS [m].
    excluded : GeoDataFrame
        The parts cut away, one row per site and exclusion zone.
    where, edge, readiness : DataFrame
        Per site: county / township and outside-coverage share; the search-edge table; ``readiness`` [0-1]
        and ``eligible`` from the ``[[status]]`` rules.
    status_notes, terr_notes, edge_notes, pre_notes : list of list of str
        Per site: the notes of its status, terrain, search edges and pre-screen.
    notes, run_notes : list of str
        Run notes (missing layers, no DEM ...) and those :func:`finish_measures` adds (co-benefit factors).
    locations : DataFrame
        ``lon`` / ``lat`` [deg, WGS 84] of each site that has one, rounded to ``[yield] location_round_deg``.
    has_location : ndarray of bool
        Per site: it has a yield location.
    region : str or None
        The catalog's region view, if any.
    crs : CRS
        The working CRS (metres).
    site_records : list of LayerRecord
        The site layers, for the provenance.
    """

    frame: pd.DataFrame
    net: np.ndarray
    dist_geoms: np.ndarray
    excluded: gpd.GeoDataFrame
    where: pd.DataFrame
    edge: pd.DataFrame
    readiness: pd.DataFrame
    status_notes: list[list[str]]
    terr_notes: list[list[str]]
    edge_notes: list[list[str]]
    notes: list[str]
    locations: pd.DataFrame
    has_location: np.ndarray
    region: str | None
    crs: Any
    site_records: list[LayerRecord] = field(default_factory=list)
    pre_notes: list[list[str]] = field(default_factory=list)
    run_notes: list[str] = field(default_factory=list)

    @classmethod
    def concat(cls, parts: list[SiteEvaluation]) -> SiteEvaluation:
        """The evaluations of several partitions as one (rows in partition order; run notes of the first)."""
        first = parts[0]
        changes: dict[str, Any] = {k: [x for q in parts for x in getattr(q, k)] for k in _ROW_LISTS}
        changes |= {k: np.concatenate([getattr(q, k) for q in parts]) for k in _ROW_ARRAYS}
        changes |= {k: pd.concat([getattr(q, k) for q in parts], ignore_index=True) for k in _ROW_FRAMES}
        changes["excluded"] = gpd.GeoDataFrame(pd.concat([q.excluded for q in parts], ignore_index=True),
                                               geometry="geometry", crs=first.excluded.crs)
        changes["site_records"] = merge_layer_records(*(q.site_records for q in parts))
        return replace(first, **changes)

    def take(self, order: np.ndarray) -> SiteEvaluation:
        """The rows in ``order`` (positions)."""
        changes: dict[str, Any] = {k: [getattr(self, k)[i] for i in order] for k in _ROW_LISTS if getattr(self, k)}
        changes |= {k: getattr(self, k)[order] for k in _ROW_ARRAYS}
        changes |= {k: getattr(self, k).iloc[order].reset_index(drop=True) for k in _ROW_FRAMES if k != "locations"}
        # one location per site that has one, in the sites' order
        position = np.cumsum(self.has_location) - 1
        changes["locations"] = self.locations.iloc[position[order[self.has_location[order]]]].reset_index(drop=True)
        return replace(self, **changes)


#: Per-site fields of a :class:`SiteEvaluation` (lists, arrays, frames of one row per site).
_ROW_LISTS = ("status_notes", "terr_notes", "edge_notes", "pre_notes")
_ROW_ARRAYS = ("net", "dist_geoms", "has_location")
_ROW_FRAMES = ("frame", "where", "edge", "readiness", "locations")


def evaluate_sites(sites: gpd.GeoDataFrame, ctx: TrackedCatalog, p: BrownfieldParams, shared: SharedLayers, *,
                   progress: Progress | None = None) -> SiteEvaluation:
    """Location, net area after the hard exclusions, capacity, terrain, distances and search edges of ``sites``.

    Row-local: the same for a site whichever other sites are evaluated with it (the Dask engine runs it
    per partition).

    Parameters
    ----------
    sites : GeoDataFrame
        The site table (catalog candidates and / or parcels as :func:`~sanxian_yidan.siteengine.geometry.site_frame`
        builds it: ``site_id``, ``site_type``, ``gross_area_m2`` [m²] ...), in the working CRS [m].
    ctx : TrackedCatalog
        The catalog (substations, roads, setbacks, admin boundaries), recording the layers read.
    p : BrownfieldParams
        Density [MW/ha], terrain thresholds [deg, 0-1], grid classes [MW, kV], search radii [m], status rules.
    shared : SharedLayers
        The buffered exclusions and the DEM (:func:`shared_layers`).
    progress : callable, optional
        ``progress(label, done, total)``: the steps 1-3 of :data:`RANKING_STEPS`.

    Returns
    -------
    SiteEvaluation
        One row per site in ``sites``' order (see :class:`SiteEvaluation` for the columns and units).
    """
    total = RANKING_STEPS
    crs = ctx.working_crs
    notes: list[str] = []
    site_geoms = np.asarray(sites.geometry.values, dtype=object)
    where, coverage = locate_sites(site_geoms, ctx)
    if coverage is None:
        notes.append("图层目录没有行政区界（admin_boundary），数据覆盖范围未知：未检查地块是否超出数据范围 / the "
                     "catalog has no admin_boundary layer: its data coverage is unknown, so sites were not checked "
                     "against it and searches reaching beyond the data could not be flagged")

    report_step(progress, "硬约束扣除 / cutting hard exclusions", 1, total)
    notes.extend(shared.exclusion_notes)
    net, excluded = cut_exclusions(sites, shared.exclusions)
    ready = site_readiness(sites, p)
    frame = sites.drop(columns="geometry").copy()
    _fill_location(frame, where)
    frame["net_area_m2"] = shapely.area(net)
    frame["excluded_area_m2"] = np.maximum(frame["gross_area_m2"].to_numpy() - frame["net_area_m2"].to_numpy(), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["net_share"] = np.where(frame["gross_area_m2"] > 0, frame["net_area_m2"] / frame["gross_area_m2"], 0.0)
    frame["capacity_mw"] = ground_capacity_mw(gpd.GeoSeries(net, crs=crs), mw_per_ha=p.density.mw_per_ha).to_numpy()

    report_step(progress, "地形 / terrain (slope, aspect)", 2, total)
    terr, terr_notes = terrain_table(net, crs, shared.dem, **p.terrain.thresholds())
    frame[list(TERRAIN_COLUMNS)] = terr[list(TERRAIN_COLUMNS)].to_numpy(dtype=float)
    if shared.dem is None:
        notes.append("无 DEM / no DEM: slope and aspect not assessed")

    report_step(progress, "电网与道路距离 / grid, road and setback distances", 3, total)
    # distances are measured from the net developable area (where the array would stand); a
    # fully excluded site falls back to its outline so that it still shows a distance
    dist_geoms = np.where(shapely.is_empty(net), site_geoms, net)
    notes.extend(_grid_and_access(frame, ctx, p, dist_geoms))
    # a distance whose layer is missing is unknown anyway (run note above); the others may be edge-limited
    searched = {"dist_substation_m": ctx.has(p.grid.role),
                "dist_road_m": any(ctx.has(r) for r in p.access.road_roles),
                "dist_setback_m": any(ctx.has(r) for r in p.setback.roles)}
    columns = [c for c in EDGE_DISTANCE_COLUMNS if searched.get(c)]
    edge, edge_notes = edge_table(site_geoms, dist_geoms, {c: frame[c].to_numpy() for c in columns},
                                  {c: search_radius_m(p, c) for c in columns}, coverage,
                                  exclusion_buffer_m=max((ex.buffer_m for ex in p.exclusions), default=0.0))
    frame["edge_limited"], _ = edge_limited(edge, "个地块", "site(s)")
    has_location, locations = yield_locations(dist_geoms, crs, round_deg=p.yield_.location_round_deg)
    return SiteEvaluation(frame=frame, net=np.asarray(net, dtype=object), dist_geoms=dist_geoms,
                          excluded=excluded, where=where, edge=edge, status_notes=list(ready["status_notes"]),
                          readiness=ready[["readiness", "eligible"]].reset_index(drop=True),
                          terr_notes=terr_notes, edge_notes=edge_notes, notes=notes, locations=locations,
                          has_location=has_location, region=getattr(ctx, "region_name", None), crs=crs,
                          site_records=frame_layer_records(sites, role_column="site_type"))


def distinct_locations(locations: list[pd.DataFrame]) -> pd.DataFrame:
    """The distinct yield locations of all sites (``lon`` / ``lat`` [deg]), sorted: one model run each.

    Parameters
    ----------
    locations : list of DataFrame
        ``SiteEvaluation.locations`` of each part.

    Returns
    -------
    DataFrame
        ``lon`` / ``lat`` [deg], each pair once, sorted by ``lon`` then ``lat``.
    """
    both = pd.concat(locations, ignore_index=True) if locations else pd.DataFrame({"lon": [], "lat": []})
    return both.drop_duplicates().sort_values(["lon", "lat"]).reset_index(drop=True)


def finish_measures(ev: SiteEvaluation, p: BrownfieldParams, yields: pd.DataFrame,
                    tilt: float | None) -> Mapping[str, Any]:
    """Add yield, energy and co-benefits, then the pre-screen; return the benefit factors.

    Parameters
    ----------
    ev : SiteEvaluation
        All sites (concatenated partitions on Dask); its ``frame`` gains ``specific_yield_kwh_kwp``
        [kWh/kWp/yr], ``annual_mwh`` [MWh/yr], ``co2_t`` [t/yr], ``so2_kg`` / ``nox_kg`` / ``pm_kg`` [kg/yr],
        ``coal_tce`` [tce/yr], ``readiness`` [0-1], ``eligible``, ``prescreen_pass`` and ``prescreen_failed``
        (``;``-joined test ids); ``run_notes`` and ``pre_notes`` are set.
    p : BrownfieldParams
        Grid region of the co-benefit factors and the ``[[prescreen]]`` tests.
    yields : DataFrame
        The specific yield ``sy`` [kWh/kWp/yr] at every distinct location (``lon`` / ``lat`` [deg],
        :func:`distinct_locations`).
    tilt : float or None
        The run's module tilt [deg], fixed from all sites' locations (for the log).

    Returns
    -------
    Mapping
        The co-benefit factors used (per MWh, with their sources), for the provenance.
    """
    from ..benefits import co_benefits, factor_notes

    frame = ev.frame
    sy = np.full(len(frame), np.nan)
    if ev.has_location.any():
        sy[ev.has_location] = ev.locations.merge(yields, on=["lon", "lat"], how="left")["sy"].to_numpy()
    log.info("specific yield at %d distinct locations for %d sites (tilt %s°)", len(yields), len(frame), tilt)
    frame["specific_yield_kwh_kwp"] = sy
    frame["annual_mwh"] = frame["capacity_mw"].to_numpy() * sy  # MW × kWh/kWp = MWh
    cb = co_benefits(np.nan_to_num(frame["annual_mwh"].to_numpy(), nan=0.0) * 1000.0, grid=p.yield_.grid)
    for c in ("co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce"):
        frame[c] = np.where(np.isnan(sy), np.nan, cb[c].to_numpy())
    ev.run_notes = [f"协同效益因子 / co-benefit factor: {line}" for line in factor_notes(cb)]
    frame["readiness"] = ev.readiness["readiness"].to_numpy()
    frame["eligible"] = ev.readiness["eligible"].to_numpy()
    ok, failed, ev.pre_notes = prescreen(frame, p.prescreen)
    frame["prescreen_pass"] = ok & frame["eligible"].to_numpy()
    frame["prescreen_failed"] = [";".join(f) for f in failed]
    factors: Mapping[str, Any] = cb.attrs["sanxian"]["factors"]
    return factors


def rank_sites(ev: SiteEvaluation, ctx: TrackedCatalog, p: BrownfieldParams, shared: SharedLayers, *, n_runs: int,
               tilt: float | None, factors: Mapping[str, Any],
               params_file: str | Path | Mapping[str, Any] | BrownfieldParams | None = None,
               progress: Progress | None = None) -> BrownfieldResult:
    """What needs every site: coverage notes, the MCDA score, rank and ``p_top_k``, reasons, order, provenance.

    Parameters
    ----------
    ev : SiteEvaluation
        All sites (concatenated partitions on Dask) with :func:`finish_measures` applied.
    ctx : TrackedCatalog
        The catalog with every layer the run read recorded (on Dask: the workers' records merged).
    p : BrownfieldParams
        The MCDA (method, criteria, weights, top k, draws).
    shared : SharedLayers
        The DEM (listed in the provenance when given).
    n_runs : int
        Yield model runs (distinct locations), for the provenance.
    tilt : float or None
        The run's module tilt [deg].
    factors : Mapping
        The co-benefit factors (:func:`finish_measures`).
    params_file : path or mapping, optional
        The ``params`` argument of the run (a path is listed in the provenance).
    progress : callable, optional
        ``progress(label, done, total)``: the last steps of :data:`RANKING_STEPS`.

    Returns
    -------
    BrownfieldResult
        The sites in rank order with ``score`` [0-1], ``rank`` (1 = best; empty when not ranked),
        ``p_top_k`` [0-1] (share of weight draws placing the site in the top k), ``reasons``, ``synthetic``
        and ``synthetic_layers``; the excluded parts, weights, notes and provenance.
    """
    total = RANKING_STEPS
    frame, crs = ev.frame, ev.crs
    _, edge_run_notes = edge_limited(ev.edge, "个地块", "site(s)")
    notes = [*ev.notes, *edge_run_notes, *ev.run_notes]
    covered, coverage_notes = _covered(frame, ev.where, ev.region, notes)
    rankable = frame["prescreen_pass"].to_numpy() & covered

    report_step(progress, "排序与权重敏感性 / ranking and weight sensitivity", 6, total)
    scores, weights, score_notes = score_and_rank(frame, p.mcda_spec(), rankable, ids=frame["site_id"].to_numpy())
    frame = frame.join(scores.astype({"rank": "Int64"}))
    notes.extend(score_notes)

    excluded = ev.excluded
    frame["reasons"] = _site_reasons(frame, excluded, ev.status_notes, ev.pre_notes, ev.terr_notes, rankable,
                                     coverage_notes, ev.edge_notes)
    cut_by_synthetic = frame["site_id"].isin(excluded.loc[excluded["synthetic"].astype(bool), "site_id"]).to_numpy()
    dem_synthetic = shared.dem_given and getattr(shared.dem, "synthetic", False)
    context_synthetic = sorted(set(ctx.synthetic_layers()) | ({"dem"} if dem_synthetic else set()))
    own_synthetic = frame["synthetic"].astype(bool).to_numpy()
    frame["synthetic"] = own_synthetic | cut_by_synthetic | bool(context_synthetic)
    # per site: its own layer when that is synthetic, and every synthetic layer that decided something for it
    frame["synthetic_layers"] = site_synthetic_layers(frame["layer_id"].to_numpy(), own_synthetic, context_synthetic)

    out = sort_by_rank(gpd.GeoDataFrame(frame, geometry=ev.net, crs=crs))
    excluded = _decorate_excluded(excluded, out)
    files = parameter_files("brownfield.toml", params_file)
    provenance = Provenance(
        layers=merge_layer_records(ev.site_records, tracked_layer_records(ctx),
                                   [LayerRecord("dem", "dem", True)] if shared.dem_given and "dem" in context_synthetic
                                   else []),
        parameters=_param_records(p, weights, factors, n_runs=n_runs, tilt=tilt),
        data_files=data_file_hashes([*files, *map(packaged_path, DATA_FILES), *common_data_files()]),
        inputs=[display_path(f) for f in files[1:]])
    notes.extend(synthetic_note(provenance.synthetic_layers))
    report_step(progress, "完成 / done", total, total)
    return BrownfieldResult(sites=out, excluded=excluded, params=p, weights=weights,
                            notes=[Note.from_text(n, _note_level(n)) for n in notes], provenance=provenance)


def _note_level(text: str) -> Literal["info", "warning"]:
    """Notes on factors and weight sensitivity inform; the others (missing layers, coverage, synthetic) warn."""
    return "info" if text.startswith(("协同效益因子", "权重敏感性")) else "warning"


def _param_records(p: BrownfieldParams, weights: pd.Series, factors: Mapping[str, Any], *, n_runs: int,
                   tilt: float | None) -> list[ParamRecord]:
    """The parameters of a run with units and sources (for the provenance)."""
    here = "data/brownfield.toml"
    recs = [ParamRecord("density.mw_per_ha", p.density.mw_per_ha, "MW/ha", f"{p.density.name}: {p.density.source}"),
            ParamRecord("yield.tilt_deg", tilt, "deg", here if p.yield_.tilt_deg is not None
                        else "optimal fixed tilt at the median site (sanxian_yidan.solar.optimal_tilt)"),
            ParamRecord("yield.azimuth_deg", p.yield_.azimuth_deg, "deg", here),
            ParamRecord("yield.locations", n_runs, "", f"sites rounded to {p.yield_.location_round_deg:g}° ({here})"),
            ParamRecord("slope_threshold_deg", p.terrain.slope_threshold_deg, "deg", here),
            ParamRecord("min_dem_coverage", p.terrain.min_dem_coverage, "", here)]
    recs += [ParamRecord(f"exclusions.{ex.role}.buffer_m", ex.buffer_m, "m", ex.source) for ex in p.exclusions]
    recs += [ParamRecord(f"grid.{g.min_voltage_kv:g}kv.max_capacity_mw", g.max_capacity_mw, "MW", g.source)
             for g in p.grid.classes]
    recs += [ParamRecord(f"prescreen.{t.id}", f"{t.column} {t.op} {t.value}", "", t.source) for t in p.prescreen]
    recs += [ParamRecord(f"benefits.{kind}", f.value, f.unit, f"{f.publisher} {f.year}: {f.source}")
             for kind, f in factors.items()]
    return recs + mcda_param_records(p.mcda_spec(), weights)


#: Distance columns whose search may reach beyond the data coverage (see :func:`sanxian_yidan.siteengine.edge_table`).
EDGE_DISTANCE_COLUMNS = ("dist_substation_m", "dist_road_m", "dist_setback_m")


def _fill_location(frame: pd.DataFrame, where: pd.DataFrame) -> None:
    """County and township of every site by spatial join; a county given in the data is kept.

    A site whose representative point lies in no county of a catalog with a coverage is labelled
    :data:`~sanxian_yidan.siteengine.OUTSIDE_COVERAGE_LABEL` rather than left blank.
    """
    share = where["outside_coverage_share"].to_numpy(dtype=float)
    outside = np.isfinite(share) & (share > 0)
    given = (frame["county"].astype(object).where(frame["county"].notna(), "").astype(str).str.strip().to_numpy()
             if "county" in frame.columns else np.full(len(frame), "", dtype=object))
    joined = where["county"].to_numpy(dtype=object)
    county = np.where(given != "", given, joined)
    frame["county"] = np.where((county == "") & outside, OUTSIDE_COVERAGE_LABEL, county)
    town = where["township"].to_numpy(dtype=object)
    frame["township"] = np.where((town == "") & outside & (joined == ""), OUTSIDE_COVERAGE_LABEL, town)
    frame["outside_coverage_share"] = share


def _covered(frame: pd.DataFrame, where: pd.DataFrame, region: str | None, notes: list[str]
             ) -> tuple[np.ndarray, list[list[str]]]:
    """Sites that may be ranked: wholly inside the data coverage and touching the view's region; and the
    note of each site that may not.

    A site (partly) outside the coverage has unknown exclusions and distances there: it is listed in
    the run notes, a :class:`~sanxian_yidan.errors.SanxianWarning` is issued, and it is not ranked.
    """
    import warnings

    from ..errors import SanxianWarning

    share = frame["outside_coverage_share"].to_numpy(dtype=float)
    outside = np.isfinite(share) & (share > 0)
    off_region = ~where["in_region"].to_numpy(dtype=bool)
    ids = frame["site_id"].astype(str).to_numpy()
    if outside.any():
        listed = ", ".join(f"{ids[i]} ({share_text(share[i])})" for i in np.flatnonzero(outside))
        text = (f"{int(outside.sum())} 个地块（部分）超出数据范围，不参与排序 / {int(outside.sum())} site(s) lie wholly or "
                f"partly outside the data coverage (the catalog's admin_boundary) and are not ranked — share "
                f"outside: {listed}")
        notes.append(text)
        warnings.warn(text, SanxianWarning, stacklevel=3)
    if off_region.any():
        listed = ", ".join(ids[off_region])
        text = (f"{int(off_region.sum())} 个地块不在研究区 {region} 内，不参与排序 / {int(off_region.sum())} site(s) lie "
                f"outside the study region {region} and are not ranked: {listed}")
        notes.append(text)
        warnings.warn(text, SanxianWarning, stacklevel=3)
    site_notes: list[list[str]] = [[] for _ in range(len(frame))]
    for i in np.flatnonzero(outside):
        site_notes[i].append(f"超出数据范围：地块 {share_text(share[i])} 在图层目录的行政区界之外，该部分的约束未知，"
                             "不参与排序 / outside "
                             f"coverage: {share_text(share[i])} of the site lies outside the catalog's admin_boundary, "
                             "where exclusions and distances are unknown — not ranked")
    for i in np.flatnonzero(off_region):
        site_notes[i].append(f"不在研究区 {region} 内，不参与排序 / outside the study region {region} — not ranked")
    return ~outside & ~off_region, site_notes


def _grid_and_access(frame: pd.DataFrame, cat: CatalogLike, p: BrownfieldParams, geoms: np.ndarray) -> list[str]:
    """Add grid (by voltage class), road and setback distances to ``frame``; return notes."""
    notes = []
    if cat.has(p.grid.role):
        sd = substation_distances(geoms, cat.read(p.grid.role), p.grid.classes, frame["capacity_mw"].to_numpy(),
                                  unknown_voltage=p.grid.unknown_voltage)
        for c in sd.columns:
            frame[c] = sd[c].to_numpy()
    else:
        notes.append(f"无变电站图层 / no '{p.grid.role}' layer: grid distance unknown")
        frame[["dist_substation_m", "dist_any_substation_m", "required_kv", "substation_kv"]] = np.nan
        frame["substation_name"] = ""
    frame["dist_road_m"], used_roads, _ = layer_distance(cat, p.access.road_roles, geoms)
    if not used_roads:
        notes.append(f"无道路图层 / no road layer ({', '.join(p.access.road_roles)}): road distance unknown")
    frame["dist_setback_m"], used_setback, _ = layer_distance(cat, p.setback.roles, geoms)
    if not used_setback:
        notes.append(f"无建成区/居住区图层 / no layer of {', '.join(p.setback.roles)}: setback unknown")
    return notes


def _site_reasons(frame: pd.DataFrame, excluded: pd.DataFrame, status_notes: list[list[str]],
                  pre_notes: list[list[str]], terr_notes: list[list[str]], rankable: np.ndarray,
                  coverage_notes: list[list[str]], edge_notes: list[list[str]]) -> list[str]:
    """One text per site: coverage, exclusions cut away, status notes, pre-screen results, DEM gaps,
    searches reaching beyond the data."""
    ex_by_site: dict[str, list[str]] = {}
    for sid, zh, en, a in excluded[["site_id", "reason_zh", "reason_en", "excluded_area_m2"]].itertuples(index=False):
        ex_by_site.setdefault(sid, []).append(f"扣除 / excluded: {zh} / {en} {a:,.0f} m²")
    no_score = rankable & frame["score"].isna().to_numpy()
    eligible = frame["eligible"].to_numpy()
    reasons = []
    for i, sid in enumerate(frame["site_id"].to_numpy()):
        parts = (coverage_notes[i] + ex_by_site.get(sid, []) + list(status_notes[i]) + pre_notes[i]
                 + terr_notes[i] + edge_notes[i])
        if not eligible[i]:
            parts.append("不参与排序（状态）/ not ranked (status)")
        if no_score[i]:
            parts.append("缺少准则值，无综合评分，排在最后 / a criterion value is missing: no score, ranked last")
        reasons.append("; ".join(dict.fromkeys(parts)))
    return reasons


def _decorate_excluded(excluded: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = excluded.join(sites.set_index("site_id")[["site_type", "name"]], on="site_id")[[
        "site_id", "site_type", "name", "reason_role", "reason_zh", "reason_en", "excluded_area_m2", "rule_source",
        "synthetic", "geometry"]]
    order = np.lexsort([out["reason_role"].astype(str).to_numpy(), out["site_id"].astype(str).to_numpy()])
    return gpd.GeoDataFrame(out.iloc[order].reset_index(drop=True), geometry="geometry", crs=excluded.crs)


def __getattr__(name: str) -> Any:
    # SITE_COLUMNS was a tuple here; data/tables.toml [tables.brownfield_sites] declares the columns now
    if name == "SITE_COLUMNS":
        return tuple(schema("brownfield_sites").names)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_outputs(result: BrownfieldResult, out: str | Path) -> dict[str, Path]:
    """Write ``brownfields.gpkg`` (layers ``sites`` and ``excluded``) and ``brownfields.csv`` into ``out``.

    Existing files are replaced (:meth:`BrownfieldResult.write` with ``overwrite=True``): callers decide
    whether that is allowed.  Returns ``{"gpkg": path, "csv": path}``.
    """
    paths = result.write(out, overwrite=True)
    return {"gpkg": paths["brownfields.gpkg"], "csv": paths["brownfields.csv"]}
