"""Terrain statistics per polygon (slope, flat and south-facing shares, elevation), vectorised over cells."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from ..errors import (
    CRSError,
    SanxianWarning,
    problem,
)
from .dem import Dem
from .settings import ZONAL_WEIGHTINGS, TerrainError, default_settings

if TYPE_CHECKING:
    import geopandas as gpd

log = logging.getLogger(__name__)

# Candidate (polygon, cell) pairs tested per vectorised chunk: bounds memory to ~0.5 GB worst case.
_PAIRS_PER_CHUNK = 4_000_000
# Coverage weights at or below this share of a cell are rounding noise (a boundary along a cell edge).
_MIN_COVERAGE = 1e-9


@dataclass(frozen=True, eq=False)
class CellMap:
    """Which DEM cells belong to which polygon: one row per (polygon, cell) pair.

    Attributes
    ----------
    polygon : numpy.ndarray
        Position (0-based) of the polygon in the input frame, sorted ascending.
    row, col : numpy.ndarray
        Cell row and column (may lie outside the DEM: such cells have no data).
    n_polygons : int
        Number of input polygons.
    fallback : numpy.ndarray
        Per polygon, True if it was given the cell of its representative point
        (no cell centre inside; with coverage weighting: no area, e.g. a line or point).
    shape : tuple of int
        Shape of the DEM grid.
    weight : numpy.ndarray or None
        Per pair, the share of the cell's area the polygon covers, in (0, 1]
        (``weighting="coverage"``); ``None`` when every pair counts fully (cell-centre rule).
    """

    polygon: np.ndarray
    row: np.ndarray
    col: np.ndarray
    n_polygons: int
    fallback: np.ndarray
    shape: tuple[int, int]
    weight: np.ndarray | None = None

    @cached_property
    def inside(self) -> np.ndarray:
        """True for pairs whose cell lies inside the DEM grid."""
        rows, cols = self.shape
        return (self.row >= 0) & (self.row < rows) & (self.col >= 0) & (self.col < cols)

    def values(self, grid: np.ndarray) -> np.ndarray:
        """Value of ``grid`` at every pair's cell (``NaN`` outside the DEM)."""
        out = np.full(self.polygon.shape, np.nan)
        inside = self.inside
        out[inside] = grid[self.row[inside], self.col[inside]]
        return out

    def pairs(self) -> np.ndarray:
        """Number of cells assigned to each polygon (unweighted)."""
        return np.bincount(self.polygon, minlength=self.n_polygons)

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Number of pairs per polygon (where ``mask`` is true, if given), each pair counted with its weight."""
        weights = np.ones(self.polygon.shape) if mask is None else mask.astype(np.float64)
        if self.weight is not None:
            weights = weights * self.weight
        return np.bincount(self.polygon, weights=weights, minlength=self.n_polygons).astype(np.float64)

    def total(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per polygon (weighted), ``NaN`` values skipped."""
        values = np.where(np.isnan(values), 0.0, values)
        if self.weight is not None:
            values = values * self.weight
        return np.bincount(self.polygon, weights=values, minlength=self.n_polygons)

    def maximum(self, values: np.ndarray) -> np.ndarray:
        """Maximum of ``values`` per polygon (``NaN`` skipped; ``NaN`` if none)."""
        out = np.full(self.n_polygons, np.nan)
        finite = ~np.isnan(values)
        if not finite.any():
            return out
        filled = np.where(finite, values, -np.inf)
        starts = np.searchsorted(self.polygon, np.arange(self.n_polygons))
        present = np.bincount(self.polygon, minlength=self.n_polygons) > 0
        seg_max = np.maximum.reduceat(filled, starts[present])
        out[present] = np.where(np.isneginf(seg_max), np.nan, seg_max)
        return out


def geometries_in_crs_of(frame: gpd.GeoDataFrame | gpd.GeoSeries, dem: Dem, what: str) -> np.ndarray:
    """The geometries of a GeoDataFrame/GeoSeries as a shapely array in the DEM's CRS (never mutates).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame or geopandas.GeoSeries
        The sites or lines to put on the DEM; reprojected when their CRS differs.
    dem : Dem
        The DEM whose CRS the geometries are wanted in.
    what : str
        What the geometries are (``"polygons"``, ``"lines"``), for the error message.

    Returns
    -------
    numpy.ndarray of shapely geometries

    Raises
    ------
    TerrainError
        If ``frame`` is not a GeoDataFrame or GeoSeries.
    CRSError
        If ``frame`` has no CRS.
    """
    import geopandas as gpd
    import pyproj

    if not isinstance(frame, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise TerrainError(problem(f"{what}必须是 GeoDataFrame。",
                                   f"{what} must be a GeoDataFrame or GeoSeries, got {type(frame).__name__}.",
                                   fix="read the layer with read_vector or catalog.read"))
    geo = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geo.crs is None:
        raise CRSError(problem(f"{what}没有坐标系。", f"The {what} have no CRS.",
                               fix="read them with sanxian_yidan.read_vector / catalog.read (working CRS EPSG:4547)"))
    dem_crs = pyproj.CRS.from_user_input(dem.crs)
    if not pyproj.CRS.from_user_input(geo.crs).equals(dem_crs):
        log.info("reprojecting %d %s from %s to the DEM CRS", len(geo), what, geo.crs.to_string())
        geo = geo.to_crs(dem_crs)
    return np.asarray(geo.values, dtype=object)


def _prepared(geoms: np.ndarray) -> np.ndarray:
    """Prepare geometries not yet prepared (speeds up point tests); returns the mask of those prepared here."""
    valid = ~shapely.is_missing(geoms)
    mine = valid.copy()
    mine[valid] = ~shapely.is_prepared(geoms[valid])
    shapely.prepare(geoms[mine])
    return mine


@dataclass(frozen=True)
class _Edges:
    """Non-vertical boundary edges of polygons, split at DEM column lines, sorted by (polygon, column).

    Rings are oriented by :func:`shapely.normalize` (exterior clockwise, holes counter-clockwise), so
    that for every cell ``sum over edges of ∫ clamp(y(x) - bottom, 0, yres) dx`` over the cell's column is
    the area of the polygon inside the cell (Green's theorem on the cell; holes subtract).
    """

    key: np.ndarray          # polygon * span + (column - first column)
    xa: np.ndarray           # start and end of the piece, x relative to the DEM's west edge [m]
    xb: np.ndarray
    ya: np.ndarray           # y relative to the DEM's north edge (negative southwards) [m]
    yb: np.ndarray
    first_col: int
    span: int


def _column_edges(geoms: np.ndarray, dem: Dem) -> _Edges:
    x0, y0 = dem.transform.c, dem.transform.f
    xres = dem.res[0]
    valid = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    parts, part_of = shapely.get_parts(shapely.normalize(geoms[valid]), return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    parts, part_of = parts[polygonal], part_of[polygonal]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, vertex_of = shapely.get_coordinates(rings, return_index=True)
    same = vertex_of[1:] == vertex_of[:-1]
    poly = valid[part_of[ring_of[vertex_of[:-1][same]]]]
    x1, y1 = xy[:-1, 0][same] - x0, xy[:-1, 1][same] - y0
    x2, y2 = xy[1:, 0][same] - x0, xy[1:, 1][same] - y0
    slanted = x1 != x2                      # vertical edges enclose no area under them
    poly, x1, y1, x2, y2 = poly[slanted], x1[slanted], y1[slanted], x2[slanted], y2[slanted]
    c_lo = np.floor(np.minimum(x1, x2) / xres).astype(np.int64)
    c_hi = np.ceil(np.maximum(x1, x2) / xres).astype(np.int64) - 1
    n_cols = np.maximum(c_hi - c_lo + 1, 1)
    which = np.repeat(np.arange(poly.size), n_cols)
    col = c_lo[which] + (np.arange(which.size) - np.repeat(np.cumsum(n_cols) - n_cols, n_cols))
    ex1, ey1, ex2, ey2 = x1[which], y1[which], x2[which], y2[which]
    left, right = col * xres, (col + 1) * xres
    xa, xb = np.clip(ex1, left, right), np.clip(ex2, left, right)
    slope = (ey2 - ey1) / (ex2 - ex1)
    ya, yb = ey1 + (xa - ex1) * slope, ey1 + (xb - ex1) * slope
    first = int(col.min()) if col.size else 0
    span = int(col.max()) - first + 1 if col.size else 1
    key = poly[which] * span + (col - first)
    order = np.argsort(key, kind="stable")
    return _Edges(key[order], xa[order], xb[order], ya[order], yb[order], first, span)


def _overlap_areas(edges: _Edges, p: np.ndarray, r: np.ndarray, c: np.ndarray, yres: float) -> np.ndarray:
    """Area [m²] of polygon ``p`` inside cell (``r``, ``c``), for every pair, by the edge integral."""
    area = np.zeros(p.size)
    inside = (c >= edges.first_col) & (c < edges.first_col + edges.span)
    key = p * edges.span + (c - edges.first_col)
    start = np.where(inside, np.searchsorted(edges.key, key, side="left"), 0)
    count = np.where(inside, np.searchsorted(edges.key, key, side="right") - start, 0)
    ends = np.cumsum(count)
    lo = 0
    while lo < p.size:                       # bound the expanded (pair, edge) rows per step
        base = ends[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + _PAIRS_PER_CHUNK, side="right")))
        n = count[lo:hi]
        pair = np.repeat(np.arange(lo, hi), n)
        e = start[pair] + (np.arange(pair.size) - np.repeat(np.cumsum(n) - n, n))
        bottom = -(r[pair] + 1.0) * yres       # the cell's southern edge, relative to the DEM's north edge
        ya, yb = edges.ya[e] - bottom, edges.yb[e] - bottom
        dx, dy = edges.xb[e] - edges.xa[e], yb - ya

        def antiderivative(y: np.ndarray) -> np.ndarray:   # of clamp(y, 0, yres)
            return np.where(y <= 0, 0.0, np.where(y < yres, 0.5 * y * y, yres * (y - 0.5 * yres)))

        flat = np.abs(dy) < 1e-6
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_height = np.where(flat, np.clip(0.5 * (ya + yb), 0.0, yres),
                                   (antiderivative(yb) - antiderivative(ya)) / np.where(flat, 1.0, dy))
        area[lo:hi] = np.bincount(pair - lo, weights=dx * mean_height, minlength=hi - lo)
        lo = hi
    return area


def _weighting(weighting: str | None) -> str:
    """The cell weighting asked for, or the default from ``data/terrain.toml`` (validated)."""
    chosen = default_settings().zonal.weighting if weighting is None else weighting
    if chosen not in ZONAL_WEIGHTINGS:
        raise TerrainError(problem(f"未知的像元计权方式 {chosen!r}。", f"Unknown weighting {chosen!r}.",
                                   fix=f"pass weighting= one of {', '.join(ZONAL_WEIGHTINGS)}"))
    return chosen


def polygon_cells(polygons: gpd.GeoDataFrame | gpd.GeoSeries, dem: Dem, *, weighting: str | None = None) -> CellMap:
    """Map every polygon to its DEM cells (vectorised, overlaps allowed).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Sites (any CRS; reprojected to the DEM's if needed).  Points and lines
        get the cell they lie in (the representative-point fallback).
    dem : Dem
        Grid to map onto.
    weighting : {"coverage", "centre"}, optional
        ``"coverage"``: every cell the polygon overlaps, weighted by the share of
        the cell's area it covers (as exactextract does); ``"centre"``: the cells
        whose centres the polygon contains or touches, each counted fully (GDAL's
        rasterisation without ``all_touched``).  Default from ``data/terrain.toml``
        (``[zonal] weighting``).

    Returns
    -------
    CellMap
        With ``weight`` set for ``"coverage"``.

    Notes
    -----
    Candidate cells are those in each polygon's bounding box (cell centres inside
    it for ``"centre"``); they are generated for all polygons at once with
    ``numpy.repeat`` and tested per chunk of 4 million candidates with vectorised
    shapely predicates / numpy, so there is no Python loop over polygons.  For
    ``"coverage"`` the area of the polygon inside each candidate cell is the
    integral, over the polygon's boundary edges split at the cell's column lines,
    of their height above the cell's southern edge clamped to the cell
    (Green's theorem; exact for straight edges, holes subtract), so no polygon is
    intersected cell by cell; shares at or below 1e-9 of a cell are dropped as
    rounding noise.  Polygons that get no cell
    (smaller than a cell under ``"centre"``, or without area) get the one cell
    containing :func:`shapely.point_on_surface`, with weight 1.
    """
    weighting = _weighting(weighting)
    coverage = weighting == "coverage"
    geoms = geometries_in_crs_of(polygons, dem, "polygons")
    n = len(geoms)
    rows, cols = dem.shape
    x0, y0 = dem.transform.c, dem.transform.f
    xres, yres = dem.res
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        if coverage:          # every cell whose square overlaps the bounding box
            c_first = np.floor((bounds[:, 0] - x0) / xres)
            c_last = np.ceil((bounds[:, 2] - x0) / xres) - 1
            r_first = np.floor((y0 - bounds[:, 3]) / yres)
            r_last = np.ceil((y0 - bounds[:, 1]) / yres) - 1
        else:                 # every cell whose centre lies in the bounding box
            c_first = np.ceil((bounds[:, 0] - x0) / xres - 0.5)
            c_last = np.floor((bounds[:, 2] - x0) / xres - 0.5)
            r_first = np.ceil((y0 - bounds[:, 3]) / yres - 0.5)
            r_last = np.floor((y0 - bounds[:, 1]) / yres - 0.5)
    n_cols = np.where(empty, 0, np.maximum(c_last - c_first + 1, 0)).astype(np.int64)
    n_rows = np.where(empty, 0, np.maximum(r_last - r_first + 1, 0)).astype(np.int64)
    c_first = np.where(empty, 0, c_first).astype(np.int64)
    r_first = np.where(empty, 0, r_first).astype(np.int64)
    counts = n_cols * n_rows
    ends = np.cumsum(counts)
    starts = ends - counts
    total = int(ends[-1]) if n else 0
    cell_area = xres * yres
    edges = _column_edges(geoms, dem) if coverage else None

    mine = _prepared(geoms) if not coverage else np.zeros(n, dtype=bool)
    parts_p, parts_r, parts_c, parts_w = [], [], [], []
    try:
        for lo in range(0, total, _PAIRS_PER_CHUNK):
            k = np.arange(lo, min(lo + _PAIRS_PER_CHUNK, total), dtype=np.int64)
            p = np.searchsorted(ends, k, side="right")
            local = k - starts[p]
            r = r_first[p] + local // n_cols[p]
            c = c_first[p] + local % n_cols[p]
            if edges is not None:
                weight = _overlap_areas(edges, p, r, c, yres) / cell_area
                hit = weight > _MIN_COVERAGE
                parts_w.append(np.minimum(weight[hit], 1.0))
            else:
                hit = shapely.intersects_xy(geoms[p], x0 + (c + 0.5) * xres, y0 - (r + 0.5) * yres)
            parts_p.append(p[hit])
            parts_r.append(r[hit])
            parts_c.append(c[hit])
    finally:
        shapely.destroy_prepared(geoms[mine])
    poly = np.concatenate(parts_p) if parts_p else np.empty(0, np.int64)
    found = np.bincount(poly, minlength=n) > 0
    fallback = ~found & ~empty
    if fallback.any():
        points = shapely.point_on_surface(geoms[fallback])
        x, y = shapely.get_x(points), shapely.get_y(points)
        parts_p.append(np.flatnonzero(fallback))
        parts_r.append(np.floor((y0 - y) / yres).astype(np.int64))
        parts_c.append(np.floor((x - x0) / xres).astype(np.int64))
        parts_w.append(np.ones(int(fallback.sum())))
        log.debug("%d polygon(s) without a cell got their representative-point cell", int(fallback.sum()))
    poly = np.concatenate(parts_p) if parts_p else np.empty(0, np.int64)
    row = np.concatenate(parts_r) if parts_r else np.empty(0, np.int64)
    col = np.concatenate(parts_c) if parts_c else np.empty(0, np.int64)
    order = np.argsort(poly, kind="stable")
    weights = (np.concatenate(parts_w) if parts_w else np.empty(0))[order] if coverage else None
    return CellMap(poly[order].astype(np.int64), row[order].astype(np.int64), col[order].astype(np.int64),
                   n, fallback, (rows, cols), weights)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def _in_aspect_range(aspect: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """True where aspect lies in [lo, hi] clockwise (wrapping through north if lo > hi); False for NaN."""
    with np.errstate(invalid="ignore"):
        if lo <= hi:
            return (aspect >= lo) & (aspect <= hi)
        return (aspect >= lo) | (aspect <= hi)


def _warn_coverage(index: pd.Index, coverage: np.ndarray, source: str) -> None:
    for mask, what in ((coverage == 0, f"lie outside the DEM {source} or have an empty geometry (dem_coverage = 0, "
                                       "terrain values NaN)"),
                       ((coverage > 0) & (coverage < 1), f"are only partly covered by the DEM {source} (see dem_coverage)")):
        sites = np.flatnonzero(mask)
        if sites.size:
            ids = ", ".join(str(v) for v in index[sites[:20]])
            warnings.warn(f"{sites.size} site(s) {what}: {ids}{' …' if sites.size > 20 else ''}", SanxianWarning,
                          stacklevel=3)


def zonal_terrain_stats(polygons: gpd.GeoDataFrame | gpd.GeoSeries, dem: Dem, *,
                        slope_threshold_deg: float | None = None, south_range: tuple[float, float] | None = None,
                        cells: CellMap | None = None, weighting: str | None = None) -> pd.DataFrame:
    """Slope, aspect and elevation statistics of every polygon, in one vectorised pass.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Sites (reprojected to the DEM CRS if needed; never modified).
    dem : Dem
        Elevations; slope and aspect come from :attr:`Dem.grids` (computed once per DEM).
    slope_threshold_deg : float, optional
        Cells with slope at or below this count as flat [deg]; default from ``data/terrain.toml``.
    south_range : (float, float), optional
        Aspect range counted as south-facing, clockwise from north [deg], inclusive;
        default (135, 225) from ``data/terrain.toml``.  ``lo > hi`` wraps through north.
    cells : CellMap, optional
        A precomputed :func:`polygon_cells` result for these polygons and this DEM
        (its weighting is then used and ``weighting`` must not be given).
    weighting : {"coverage", "centre"}, optional
        How cells count (see :func:`polygon_cells`): ``"coverage"`` weights every cell
        the polygon overlaps by the share of the cell it covers (area-weighted
        statistics, as exactextract); ``"centre"`` counts the cells whose centres
        fall inside fully.  Default from ``data/terrain.toml`` (``"coverage"``:
        on parcels under 5 ha of the 90 m sample DEM the two differ by degrees).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``polygons`` with columns

        * ``slope_mean_deg`` [deg] — (weighted) mean over the cells with a slope;
          ``slope_max_deg`` [deg] — maximum over them (any cell the polygon touches);
        * ``flat_share`` — (weighted) share of those cells with slope <= threshold;
        * ``south_share`` — (weighted) share of those cells facing within ``south_range``
          (flat cells have no aspect and do not count as south-facing);
        * ``elevation_mean_m`` [m] — (weighted) mean over cells with data;
        * ``dem_coverage`` — (weighted) share of the polygon's cells that have elevation
          data, i.e. with coverage weighting the share of its area over DEM data
          (0 for a site outside the DEM; its other values are then ``NaN``);
        * ``cell_count`` — cells assigned to the polygon (1 for a site without a cell
          centre, or without area with coverage weighting).

        ``attrs["sanxian"]`` records the DEM source, synthetic flag, threshold and their sources.

    Warns
    -----
    SanxianWarning
        Listing sites outside the DEM or only partly covered.

    Notes
    -----
    Cells on the DEM's outer rows/columns have elevation but no slope (see
    :func:`slope_aspect`); the slope statistics use the cells that have one.
    """
    settings = default_settings().zonal
    threshold = settings.slope_threshold_deg if slope_threshold_deg is None else float(slope_threshold_deg)
    lo, hi = settings.south_range_deg if south_range is None else (float(south_range[0]), float(south_range[1]))
    if not (0.0 <= threshold <= 90.0):
        raise TerrainError(problem("坡度阈值须在 0–90° 之间。",
                                   f"slope_threshold_deg must be in 0-90, got {threshold}.",
                                   fix="pass e.g. slope_threshold_deg=15"))
    if not (0.0 <= lo <= 360.0 and 0.0 <= hi <= 360.0):
        raise TerrainError(problem("朝向范围须在 0–360° 之间。", f"south_range must lie in 0-360, got {(lo, hi)}.",
                                   fix="pass e.g. south_range=(135, 225)"))
    index = polygons.index
    from_settings = weighting is None and cells is None
    if cells is None:
        cells = polygon_cells(polygons, dem, weighting=weighting)
    elif weighting is not None and (weighting == "coverage") != (cells.weight is not None):
        raise TerrainError(problem("cells 与 weighting 不一致。",
                                   f"weighting={weighting!r} contradicts the precomputed cells "
                                   f"({'coverage' if cells.weight is not None else 'centre'} weighted).",
                                   fix="drop weighting= or compute cells with polygon_cells(..., weighting=...)"))
    slope, aspect = dem.grids
    elev_v = cells.values(dem.elevation)
    slope_v = cells.values(slope)
    aspect_v = cells.values(aspect)
    has_slope = ~np.isnan(slope_v)
    n_cells = cells.count()
    n_elev = cells.count(~np.isnan(elev_v))
    n_slope = cells.count(has_slope)
    with np.errstate(invalid="ignore"):
        flat = has_slope & (slope_v <= threshold)
    south = has_slope & _in_aspect_range(aspect_v, lo, hi)
    coverage = np.where(n_cells > 0, _safe_divide(n_elev, n_cells), 0.0)
    out = pd.DataFrame({
        "slope_mean_deg": _safe_divide(cells.total(slope_v), n_slope),
        "slope_max_deg": cells.maximum(slope_v),
        "flat_share": _safe_divide(cells.count(flat), n_slope),
        "south_share": _safe_divide(cells.count(south), n_slope),
        "elevation_mean_m": _safe_divide(cells.total(elev_v), n_elev),
        "dem_coverage": coverage,
        "cell_count": cells.pairs().astype(np.int64),
    }, index=index)
    _warn_coverage(index, coverage, dem.source)
    out.attrs["sanxian"] = {
        "dem_source": dem.source, "synthetic": bool(dem.synthetic),
        "slope_method": "Horn (1981) 3x3, as gdaldem; edges and cells next to nodata have no slope",
        "slope_threshold_deg": threshold,
        "slope_threshold_source": settings.slope_threshold_source if slope_threshold_deg is None
        else "given by the caller",
        "south_range_deg": (lo, hi),
        "south_range_source": settings.south_source if south_range is None else "given by the caller",
        "cell_rule": ("coverage-weighted: every cell the polygon overlaps, weighted by the share of the cell it "
                      "covers (as exactextract); representative-point cell for polygons without area"
                      if cells.weight is not None else
                      "cell centre inside or on the polygon; representative-point cell for polygons smaller "
                      "than a cell"),
        "weighting": "coverage" if cells.weight is not None else "centre",
        "weighting_source": settings.weighting_source if from_settings else "given by the caller",
    }
    return out


def visible_share(polygons: gpd.GeoDataFrame | gpd.GeoSeries, visible: np.ndarray, dem: Dem, *,
                  cells: CellMap | None = None, weighting: str | None = None) -> pd.Series:
    """Share of each polygon's cells (with elevation data) that are visible (weighted as in :func:`polygon_cells`).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Sites.
    visible : numpy.ndarray
        Boolean raster from :func:`visibility_from_lines` on the same DEM.
    dem : Dem
        The DEM ``visible`` was computed on.
    cells : CellMap, optional
        Precomputed :func:`polygon_cells` result.
    weighting : {"coverage", "centre"}, optional
        Cell weighting when ``cells`` is not given; default from ``data/terrain.toml``.

    Returns
    -------
    pandas.Series
        ``visible_share`` in [0, 1], indexed like ``polygons``; ``NaN`` for a
        site without any DEM cell (see ``dem_coverage`` of :func:`zonal_terrain_stats`).
    """
    visible = np.asarray(visible)
    if visible.shape != dem.shape or visible.dtype != bool:
        raise TerrainError(problem("可视栅格与 DEM 不匹配。",
                                   f"visible must be a boolean array of the DEM's shape {dem.shape}, "
                                   f"got {visible.dtype} {visible.shape}.",
                                   file=dem.source, fix="pass the result of visibility_from_lines on this DEM"))
    if cells is None:
        cells = polygon_cells(polygons, dem, weighting=weighting)
    has_data = ~np.isnan(cells.values(dem.elevation))
    seen = np.zeros(cells.polygon.shape, dtype=bool)
    inside = cells.inside
    seen[inside] = visible[cells.row[inside], cells.col[inside]]
    share = _safe_divide(cells.count(seen & has_data), cells.count(has_data))
    return pd.Series(share, index=polygons.index, name="visible_share")


