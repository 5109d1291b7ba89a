"""Candidate polygons as one site table, and the net developable area left after the hard exclusions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..errors import CRSError, problem
from ..geomutil import OVERLAY_NOISE_M2, polygonal_parts
from ..provenance import truthy_flags

if TYPE_CHECKING:  # parameter records of data/brownfield.toml, read by attribute only
    from ..brownfield.params import CandidateRole, Exclusion
    from ..provenance import CatalogLike


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


def require_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> None:
    """Refuse a frame without a projected CRS (areas and distances are in metres); ``what`` names it, bilingual."""
    if gdf.crs is None or not gdf.crs.is_projected:
        raise CRSError(problem(
            f"{what}没有投影坐标系，无法计算面积/距离。",
            f"{what} must be in a projected CRS in metres (got {gdf.crs}).",
            fix="reproject to the working CRS (EPSG:4547) first, e.g. gdf.to_crs('EPSG:4547')"))


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
    return np.lexsort([wkb, *(gdf[k].astype(str).to_numpy() for k in reversed(keys))])


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
    data |= {col: gdf[col].to_numpy() if col in gdf.columns else None for col in CARRIED_FIELDS}
    # text flags ("false", "否", "0") are read as what they say, not as non-empty strings
    data["synthetic"] = truthy_flags(gdf["synthetic"].to_numpy()) if "synthetic" in gdf.columns else False
    data["source"] = gdf["source"].astype(str).to_numpy() if "source" in gdf.columns else ""
    data["layer_id"] = gdf["layer_id"].astype(str).to_numpy() if "layer_id" in gdf.columns else cand.role
    geoms = polygonal_parts(gdf.geometry.values)
    out = gpd.GeoDataFrame(data, geometry=geoms, crs=gdf.crs)
    out["gross_area_m2"] = shapely.area(geoms)
    return out


def exclusion_layers(catalog: CatalogLike, exclusions: Iterable[Exclusion]) -> tuple[gpd.GeoDataFrame, list[str]]:
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
        for fld, values in ex.where.items():
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
        return gpd.GeoDataFrame({"reason_role": [], "reason_zh": [], "reason_en": [], "rule_source": [],
                                 "synthetic": []}, geometry=[], crs=catalog.working_crs), notes
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
    require_projected(sites, "候选地块 / The sites")
    site_geoms = np.asarray(sites.geometry.values, dtype=object)
    n = len(site_geoms)
    covered = np.array([shapely.MultiPolygon()] * n, dtype=object)
    parts: list[gpd.GeoDataFrame] = []
    if len(exclusions):
        ex_geoms_all = np.asarray(exclusions.geometry.values, dtype=object)
        for reason in pd.unique(exclusions["reason_role"].to_numpy()):
            sel = np.flatnonzero(exclusions["reason_role"].to_numpy() == reason)
            ex_geoms = ex_geoms_all[sel]
            si, ei = STRtree(ex_geoms).query(site_geoms, predicate="intersects")
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
            parts.append(gpd.GeoDataFrame({
                id_column: sites[id_column].to_numpy()[ids[ok]],
                "reason_role": reason, "reason_zh": first["reason_zh"], "reason_en": first["reason_en"],
                "rule_source": first["rule_source"], "excluded_area_m2": area[ok],
                "synthetic": syn_by_site.reindex(ids[ok]).to_numpy(dtype=bool)}, geometry=new_part[ok], crs=sites.crs))
    net = polygonal_parts(shapely.difference(site_geoms, covered)) if n else site_geoms
    if parts:
        excluded = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=sites.crs)
    else:
        excluded = gpd.GeoDataFrame({id_column: [], "reason_role": [], "reason_zh": [], "reason_en": [],
                                     "rule_source": [], "excluded_area_m2": [], "synthetic": []},
                                    geometry=[], crs=sites.crs)
    return net, excluded


def site_synthetic_layers(layer_ids: Iterable[Any], own: Iterable[bool], context: Iterable[str]) -> list[str]:
    """Per site, the synthetic layers behind it, ``;``-joined (``"none"`` for none): its own layer when its
    feature is synthetic, and every synthetic layer that decided something for all sites (``context``)."""
    shared = set(context)
    return [";".join(sorted(({str(lid)} if o else set()) | shared)) or "none" for lid, o in zip(layer_ids, own)]


def synthetic_note(layer_ids: Sequence[str]) -> list[str]:
    """The run note naming the synthetic layers behind a result (none when there are none)."""
    return ["合成数据，非官方管控成果，不得用于决策 / synthetic sample layers, not official zoning: "
            + ", ".join(layer_ids)] if layer_ids else []
