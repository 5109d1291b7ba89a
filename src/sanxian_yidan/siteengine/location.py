"""Where each site lies: county, township, the catalog's data coverage, and searches reaching beyond it.

Also the planner-facing texts of shares and distances used in the per-site notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..geomutil import OVERLAY_NOISE_M2, polygonal_parts
from ..placenames import display_names

if TYPE_CHECKING:  # parameter records of data/brownfield.toml, read by attribute only
    from ..brownfield.params import McdaFile
    from ..provenance import CatalogLike


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


def locate_sites(geoms: np.ndarray, catalog: CatalogLike) -> tuple[pd.DataFrame, Any]:
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
    names = {column: area_names(whole.read(role) if whole.has(role) else None, geoms)
             for column, role in (("county", "admin_boundary"), ("township", "township"))}
    coverage = whole.coverage()
    region = getattr(catalog, "region", None)
    in_region = shapely.intersects(np.asarray(geoms, dtype=object), region) if region is not None else True
    return pd.DataFrame({**names, "outside_coverage_share": outside_shares(geoms, coverage),
                         "in_region": in_region}, index=range(len(geoms))), coverage


def search_radius_m(params: McdaFile, column: str, *extra: float) -> float | None:
    """Farthest distance [m] at which a value of ``column`` still changes a result, from the data file.

    The largest numeric bound of the criteria on ``column`` (``lo`` / ``hi`` of their transform,
    ``params.criteria``), of the pre-screen tests on it (``params.prescreen`` where the
    parameters have one) and of ``extra`` (e.g. a 三区 influence distance); ``None`` when none
    applies.  Beyond it a nearer or farther feature no longer changes the score, the pre-screen or
    the flag, so a search to that distance is enough to assess it.
    """
    values: list[float] = [float(v) for v in extra]
    for crit in params.criteria:
        if crit.column == column:
            values += [float(v) for k, v in crit.options.items()
                       if k in ("lo", "hi") and isinstance(v, (int, float)) and not isinstance(v, bool)]
    for test in getattr(params, "prescreen", ()):
        if test.column == column and isinstance(test.value, (int, float)) and not isinstance(test.value, bool):
            values.append(float(test.value))
    return max((v for v in values if np.isfinite(v)), default=None)


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


def edge_limited(edge: pd.DataFrame, what_zh: str, what_en: str) -> tuple[np.ndarray, list[str]]:
    """Sites with a search reaching beyond the data coverage (a share > 0 in :func:`edge_table`'s table),
    and the run note counting them (``what_zh`` / ``what_en`` name the sites, e.g. ``"座矿山"`` / ``"mine(s)"``)."""
    flags = (edge.fillna(0.0).to_numpy() > 0).any(axis=1) if len(edge.columns) else np.zeros(len(edge), dtype=bool)
    k = int(flags.sum())
    return flags, [f"{k} {what_zh}的搜索范围超出数据范围，相关准则部分未知（见 reasons）/ {k} {what_en} have a search "
                   "area reaching beyond the data coverage: the criteria concerned are partly unknown (see reasons, "
                   "column edge_limited)"] if k else []
