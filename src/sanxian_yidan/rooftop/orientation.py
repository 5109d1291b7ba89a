"""Roof orientation: module tilt class and azimuth per building, from the roof type and the footprint's
minimum-area rectangle (pitched roofs), vectorised over all footprints."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .params import RooftopParams

if TYPE_CHECKING:
    from ..normalize import PolygonRings

logger = logging.getLogger(__name__)

def roof_orientation(gdf: gpd.GeoDataFrame, geoms: np.ndarray, roof_codes: np.ndarray,
                     p: RooftopParams, rings: PolygonRings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Tilt class (NaN = optimal) and azimuth [deg] of each building's modules.

    ``rings``: the footprints' :class:`~sanxian_yidan.normalize.PolygonRings` (row for row with ``geoms``)
    when normalising extracted them; otherwise extracted here.
    """
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
        az = _slope_azimuth(geoms, np.flatnonzero(flush), rings)
        given = _given_azimuth(gdf, p.roof.azimuth_columns)
        if given is not None:
            g = given[flush]
            az = np.where(np.isfinite(g), g % 360.0, az)
        step = p.roof.azimuth_class_deg
        azimuth[flush] = (np.round(az / step) * step) % 360.0
    return tilt, azimuth


def _given_azimuth(gdf: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    for col in columns:
        if col in gdf.columns:
            return pd.to_numeric(gdf[col], errors="coerce").to_numpy(dtype=float)
    return None


def _slope_azimuth(geoms: np.ndarray, rows: np.ndarray | None = None,
                   rings: PolygonRings | None = None) -> np.ndarray:
    """Azimuth [deg, clockwise from grid north] of the roof slope facing nearest to south.

    The ridge is taken along the long side of the footprint's minimum-area bounding rectangle (a
    gable roof); its two slopes face the ridge direction ± 90 degrees.  Grid north of the working
    CRS differs from true north by the meridian convergence (under 1 degree across Suizhou).
    """
    ridge = _ridge_bearing(geoms, rows, rings)
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
#: Footprints per vectorised block in :func:`_ridge_bearing`: the k x block arrays of one block (a few dozen)
#: stay in the CPU's L2 cache (measured: 2,048 about twice as fast as 16,384).  Not a planning parameter.
_BLOCK = 2_048


def _ridge_bearing(geoms: np.ndarray, rows: np.ndarray | None = None,
                   rings: PolygonRings | None = None) -> np.ndarray:
    """Bearing [deg, 0-180) of the long side of each footprint's minimum-area bounding rectangle.

    For ``geoms[rows]`` (all footprints when ``rows`` is None).  NaN where the footprint has no
    rectangle (degenerate).  The minimum-area rectangle has one side
    on an edge of the convex hull; for a convex polygon the hull is the polygon itself, so the
    rectangle is found by projecting the k vertices on each of the k edge directions, vectorised
    over all footprints with the same k.  Other footprints (concave, with holes, multipart, more
    than :data:`_MAX_VERTICES_NUMPY` vertices) use GEOS ``oriented_envelope``, which gives the same
    rectangle up to rounding but costs about five times more per footprint.  When two
    orientations tie (a square footprint) the ridge direction is undefined and either may be taken.
    """
    rows = np.arange(len(geoms)) if rows is None else np.asarray(rows)
    n = len(rows)
    bearing = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    coords, starts, counts, simple = _simple_rings(geoms, rows, rings)
    if simple.size:
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
        bearing[rest] = _ridge_bearing_geos(geoms[rows[rest]])
    return bearing


#: Share of the layer above which the footprints' vertices are read for the whole layer at once (in
#: storage order, about twice as fast per vertex as reading a scattered subset).  Not a planning parameter.
_WHOLE_LAYER_SHARE = 0.3


def _simple_rings(geoms: np.ndarray, rows: np.ndarray,
                  rings: PolygonRings | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of the single-ring polygons among ``geoms[rows]``.

    Returns the vertex array, each simple polygon's first vertex in it and its vertex count, and the
    positions (into ``rows``) of the simple polygons.  ``rings`` (of all ``geoms``): taken from there.
    """
    if rings is not None:
        simple = np.flatnonzero(rings.simple[rows])
        return rings.coords, rings.starts[rows[simple]], rings.counts[rows[simple]], simple
    whole = len(rows) > _WHOLE_LAYER_SHARE * len(geoms)
    subset = geoms if whole else geoms[rows]
    at = rows if whole else np.arange(len(rows))
    is_simple = ((shapely.get_type_id(subset) == 3) & (shapely.get_num_interior_rings(subset) == 0))[at]
    simple = np.flatnonzero(is_simple)
    if simple.size == 0:
        return np.empty((0, 2)), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), simple
    if whole:
        all_counts = shapely.get_num_coordinates(geoms)
        coords = shapely.get_coordinates(geoms)
        counts = all_counts[rows[simple]]
        starts = (np.cumsum(all_counts) - all_counts)[rows[simple]]
    else:
        # Counts per footprint instead of return_index: the same layout without a million-entry index array.
        coords = shapely.get_coordinates(subset[simple])
        counts = shapely.get_num_coordinates(subset[simple])
        starts = np.cumsum(counts) - counts
    return coords, starts, counts, simple


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
    # Every vertex (axis 1) projected on every edge direction (axis 0) and its normal, for all footprints at once.
    along = ux[:, None, :] * x[None, :, :]
    along += uy[:, None, :] * y[None, :, :]
    across = ux[:, None, :] * y[None, :, :]
    across -= uy[:, None, :] * x[None, :, :]
    len_along = along.max(axis=1) - along.min(axis=1)
    len_across = across.max(axis=1) - across.min(axis=1)
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


