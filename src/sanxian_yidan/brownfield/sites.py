"""Brownfield sites: candidates, hard exclusions and net area, capacity, distances, conditions, yield and
terrain adapters — pure functions on GeoDataFrames and arrays, used by :mod:`.ranking` and by
:mod:`sanxian_yidan.mines`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from .. import rules
from ..errors import (
    CRSError,
    DataFileError,
    EmptyLayerError,
    InputFileError,
    SanxianWarning,
    problem,
)
from ..geomutil import OVERLAY_NOISE_M2, nearest_features, polygonal_parts
from ..placenames import display_names
from ..provenance import truthy_flags
from .params import (
    M2_PER_HA,
    BrownfieldParams,
    CandidateRole,
    Condition,
    Exclusion,
    GridClass,
    load_params,
)

log = logging.getLogger(__name__)

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
        Name of a density of ``data/brownfield.toml``: ``"cn_layout"`` (default, shade-free fixed rows
        per GB 50797-2012 with current modules, 0.72 MW/ha DC [3]_), ``"nrel_rev"`` (36 MW/km² DC [1]_)
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
    .. [3] GB 50797-2012 光伏发电站设计规范 (rows shade-free 9:00-15:00 true solar time on the winter solstice).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> round(float(ground_capacity_mw(gpd.GeoSeries([shapely.box(0, 0, 100, 100)], crs="EPSG:4547")).iloc[0]), 3)
    0.723
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
            fix="give the density in MW per hectare, e.g. 0.72 (Chinese fixed-row layout, DC)"))
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
    from ..io.vector import read_vector
    from ..normalize import normalise

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
    # text flags ("false", "否", "0") are read as what they say, not as non-empty strings
    data["synthetic"] = truthy_flags(gdf["synthetic"].to_numpy()) if "synthetic" in gdf.columns else False
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
        # Same comparison semantics as every other condition (rules.Condition): trimmed text, 1 == "1.0".
        hit = (stype == rule.role) & rules.Condition(rule.field, "in", tuple(rule.values)).evaluate(sites[rule.field])
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
            ok = area > OVERLAY_NOISE_M2  # a site touching an exclusion along an edge loses no land
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
# Where each site lies: county, township, data coverage, searches reaching beyond the data
# =============================================================================================
#: County / township label of a site outside the catalog's data coverage.
OUTSIDE_COVERAGE_LABEL = "超出数据范围 / outside coverage"


def area_names(layer: gpd.GeoDataFrame | None, geoms: np.ndarray) -> np.ndarray:
    """Name of the polygon of ``layer`` that holds each geometry's representative point.

    Names as :func:`sanxian_yidan.placenames.display_names` shows them (``name_zh``, else a Chinese
    ``name``, else the pinyin ``name`` marked as such); ``""`` outside every polygon or when ``layer`` is
    ``None``.  A point on a shared boundary keeps the polygon of the
    lowest index.  One bulk STRtree query (no loop over sites).
    """
    out = np.full(len(geoms), "", dtype=object)
    if layer is None or len(layer) == 0 or len(geoms) == 0:
        return out
    names = display_names(layer)
    geoms = np.asarray(geoms, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    pts = np.full(len(geoms), None, dtype=object)
    pts[ok] = shapely.point_on_surface(geoms[ok])
    pi, ti = STRtree(np.asarray(layer.geometry.values, dtype=object)).query(pts, predicate="intersects")
    first = pd.Series(ti).groupby(pi).min()
    out[first.index.to_numpy()] = names[first.to_numpy()]
    return out


def outside_shares(geoms: np.ndarray, coverage: Any, radius_m: Any = 0.0) -> np.ndarray:
    """Share [0-1] of each search area (geometry buffered by ``radius_m``) that lies outside ``coverage``.

    Parameters
    ----------
    geoms : ndarray of geometries
        Sites (projected CRS, metres).
    coverage : shapely geometry or None
        The area the data cover (:meth:`sanxian_yidan.catalog.Catalog.coverage`); ``None`` gives
        ``nan`` everywhere (coverage unknown).
    radius_m : float or ndarray
        Search radius per geometry [m]; ``0`` measures the geometry itself, ``nan`` gives ``nan``.

    Returns
    -------
    numpy.ndarray
        Outside area / search area; an outside part of at most ``OVERLAY_NOISE_M2`` counts as 0.
        Geometries wholly inside the coverage are found with one prepared ``contains_properly``
        test; only those reaching its edge are overlaid.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    radius = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,))
    out = np.full(n, np.nan)
    if coverage is None or n == 0:
        return out
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & np.isfinite(radius)
    search = np.full(n, None, dtype=object)
    search[usable] = np.where(radius[usable] > 0, shapely.buffer(geoms[usable], np.maximum(radius[usable], 0.0)),
                              geoms[usable])
    shapely.prepare(coverage)
    inside = np.zeros(n, dtype=bool)
    inside[usable] = shapely.contains_properly(coverage, search[usable])
    out[usable] = 0.0
    todo = np.flatnonzero(usable & ~inside)
    if len(todo):
        area = shapely.area(search[todo])
        outside = shapely.area(polygonal_parts(shapely.difference(search[todo], coverage)))
        outside = np.where(outside > OVERLAY_NOISE_M2, outside, 0.0)
        out[todo] = np.where(area > 0, np.minimum(outside / np.where(area > 0, area, 1.0), 1.0),
                             (outside > 0).astype(float))
    return out


def share_text(share: float) -> str:
    """A share as a percentage for notes, never rounding a non-zero share to "0%".

    Parameters
    ----------
    share : float
        A fraction in [0, 1].

    Returns
    -------
    str
        ``"<1%"`` for a share in (0, 0.005), else the share rounded to a whole percent (``"37%"``).
    """
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


#: Metres in a kilometre (unit conversion for distances shown to planners).
_M_PER_KM = 1000.0


def distance_text(metres: float) -> str:
    """A distance for planners: whole metres below 1 km (``"850 m"``), else km to 0.1 (``"3.2 km"``).

    Parameters
    ----------
    metres : float
        Distance [m]; not finite gives ``"—"``.
    """
    if not np.isfinite(metres):
        return "—"
    return f"{metres:,.0f} m" if metres < _M_PER_KM else f"{metres / _M_PER_KM:,.1f} km"


def column_names(column: str) -> tuple[str, str]:
    """Chinese and English name of an output column from the column registry (the bare name if unregistered)."""
    from ..columns import describe

    col = describe(column)
    return (col.zh, col.en) if col is not None else (column, column)


def locate_sites(geoms: np.ndarray, catalog: Any) -> tuple[pd.DataFrame, Any]:
    """County, township and data coverage of each site, by spatial join on the whole catalog.

    In a region view (:meth:`~sanxian_yidan.catalog.Catalog.restricted_to`) the names and the data
    coverage come from the whole catalog (a site straddling the county line still gets its county,
    and zoning across the line is data), while ``in_region`` says whether the site touches the view's
    region.

    Returns
    -------
    (DataFrame, geometry or None)
        ``county`` and ``township`` (``""`` where no polygon holds the site, ``county`` also where the
        catalog has no admin_boundary), ``outside_coverage_share`` (share of the site's area outside
        the data coverage, ``nan`` when the catalog has no admin_boundary layer) and ``in_region``
        (bool); and the data coverage itself (``None`` when unknown).
    """
    whole = catalog.unrestricted()
    n = len(geoms)
    county = area_names(whole.read("admin_boundary") if whole.has("admin_boundary") else None, geoms)
    township = area_names(whole.read("township") if whole.has("township") else None, geoms)
    coverage = whole.coverage()
    share = outside_shares(geoms, coverage)
    region = getattr(catalog, "region", None)
    in_region = (shapely.intersects(np.asarray(geoms, dtype=object), region) if region is not None
                 else np.ones(n, dtype=bool))
    return pd.DataFrame({"county": county, "township": township, "outside_coverage_share": share,
                         "in_region": in_region}), coverage


def search_radius_m(params: BrownfieldParams | Any, column: str, *extra: float) -> float | None:
    """Farthest distance [m] at which a value of ``column`` still changes a result, from the data file.

    The largest numeric bound of the criteria on ``column`` (``lo`` / ``hi`` of their transform,
    ``params.mcda.criteria``), of the pre-screen tests on it (``params.prescreen`` where the
    parameters have one) and of ``extra`` (e.g. a 三区 influence distance); ``None`` when none
    applies.  Beyond it a nearer or farther feature no longer changes the score, the pre-screen or
    the flag, so a search to that distance is enough to assess it.
    """
    values: list[float] = [float(v) for v in extra]
    for crit in params.mcda.criteria:
        if crit.column == column:
            values += [float(v) for k, v in crit.options.items()
                       if k in ("lo", "hi") and isinstance(v, (int, float)) and not isinstance(v, bool)]
    for test in getattr(params, "prescreen", ()):
        if test.column == column and isinstance(test.value, (int, float)) and not isinstance(test.value, bool):
            values.append(float(test.value))
    finite = [v for v in values if np.isfinite(v)]
    return max(finite) if finite else None


def edge_table(site_geoms: np.ndarray, dist_geoms: np.ndarray, distances: dict[str, np.ndarray],
               radii: dict[str, float | None], coverage: Any, *, exclusion_buffer_m: float | None = None
               ) -> tuple[pd.DataFrame, list[list[str]]]:
    """Share of each criterion's search area outside the data coverage, and a note per affected site.

    A feature just outside the data still constrains a site inside it (edge-correct buffers, as in
    GLAES).  The catalog cannot show such features, so where a search reaches beyond the data the
    result for that criterion is partly unknown:

    * a distance ``d`` (to the nearest substation, road, built-up land, reserve, ...) is searched
      within ``min(d, R)``, ``R`` = ``radii[column]`` (:func:`search_radius_m`; ``None``: ``d``); if
      part of that disc around the site lies outside the coverage, a nearer feature may exist
      there: ``d`` is an upper bound, and "nothing within R" cannot be claimed;
    * with ``exclusion_buffer_m`` given, the hard exclusions are searched within that buffer (the
      site itself for 0): a part outside the coverage has unknown exclusions.

    Returns
    -------
    (DataFrame, list of list of str)
        One share column per criterion (``exclusions`` and each distance column); notes per site
        (bilingual).  No column and no note when ``coverage`` is ``None`` (unknown).
    """
    n = len(site_geoms)
    table = pd.DataFrame(index=range(n))
    notes: list[list[str]] = [[] for _ in range(n)]
    if coverage is None:
        return table, notes
    if exclusion_buffer_m is not None:
        buffer_m = float(exclusion_buffer_m)
        table["exclusions"] = outside_shares(site_geoms, coverage, buffer_m)
        buffer_zh = f"及其 {buffer_m:,.0f} m 缓冲区" if buffer_m > 0 else ""
        buffer_en = f" and its {buffer_m:,.0f} m buffer" if buffer_m > 0 else ""
        for i in np.flatnonzero(table["exclusions"].to_numpy() > 0):
            share = table["exclusions"].iat[i]
            notes[i].append(f"硬约束部分未知：地块{buffer_zh}有 {share_text(share)} 在数据范围外 / hard exclusions partly "
                            f"unknown: {share_text(share)} of the site{buffer_en} lies outside the data coverage")
    for column, d in distances.items():
        d = np.asarray(d, dtype=float)
        cap = radii.get(column)
        radius = np.where(np.isfinite(d), d if cap is None else np.minimum(d, cap), np.nan if cap is None else cap)
        share = outside_shares(dist_geoms, coverage, radius)
        table[column] = share
        zh, en = column_names(column)
        for i in np.flatnonzero(share > 0):
            pct = share_text(share[i])
            if np.isfinite(d[i]) and radius[i] == d[i]:   # a feature was found: nearer ones may lie outside
                dt = distance_text(d[i])
                notes[i].append(f"{zh} {dt} 仅为上限：周边 {dt} 范围有 {pct} 在数据范围外，那里可能有更近的要素"
                                f" / {en}: {dt} is only an upper bound, {pct} of the area within {dt} lies outside "
                                "the data coverage and a nearer feature may lie there")
            else:                                          # nothing within the search radius inside the data
                rt = distance_text(radius[i])
                notes[i].append(f"{zh}：{rt} 搜索范围有 {pct} 在数据范围外，不能断定 {rt} 内没有"
                                f" / {en}: {pct} of the {rt} search area lies outside the data coverage, so "
                                f"'none within {rt}' cannot be claimed")
    return table, notes


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

    from .. import solar

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
    from .. import terrain

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
    from .. import terrain

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


