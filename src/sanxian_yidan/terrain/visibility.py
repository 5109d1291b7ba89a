"""Visibility from lines (三区两线: 直观可视范围 from main roads, railways and rivers) over the DEM."""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from ..errors import (
    SanxianWarning,
    problem,
)
from ..progress import Progress
from .dem import Dem
from .settings import TerrainError, default_settings
from .surface import _require_metric
from .zonal import _geometries_in_crs_of

log = logging.getLogger(__name__)

#: Step label :func:`visibility_from_lines` passes to its ``progress`` callback.
VISIBILITY_LABEL = "视域 / visibility"

# ----------------------------------------------------------------------------------------------
# Visibility from lines (三区两线)
# ----------------------------------------------------------------------------------------------
def observer_cells(lines: Any, dem: Dem, *, spacing_m: float) -> np.ndarray:
    """DEM cells of observers placed every ``spacing_m`` along lines (deduplicated).

    Parameters
    ----------
    lines : geopandas.GeoDataFrame or GeoSeries
        Roads, railways, rivers (lines); polygons contribute their boundary and
        points are used as they are.
    dem : Dem
        Grid.
    spacing_m : float
        Distance between observers along each line part [m]; each part also
        gets an observer at its end.

    Returns
    -------
    numpy.ndarray
        Flat indices (``row * ncols + col``) of the distinct cells holding an
        observer, inside the DEM and with elevation data, sorted.
    """
    if not spacing_m > 0:
        raise TerrainError(problem("观察点间距必须为正。", f"spacing_m must be > 0, got {spacing_m}.",
                                   fix="pass e.g. spacing_m=100"))
    geoms = _geometries_in_crs_of(lines, dem, "lines")
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    parts = shapely.get_parts(geoms)
    polygonal = np.isin(shapely.get_type_id(parts), (3, 6))
    parts = np.concatenate([parts[~polygonal], shapely.get_parts(shapely.boundary(parts[polygonal]))])
    is_point = shapely.get_type_id(parts) == 0
    points = [parts[is_point]]
    lines_ = parts[~is_point]
    if lines_.size:
        length = shapely.length(lines_)
        n_inner = np.floor(length / spacing_m).astype(np.int64) + 1      # 0, s, 2s, ... <= length
        which = np.repeat(np.arange(lines_.size), n_inner)
        step = np.arange(which.size) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
        dist = np.concatenate([step * spacing_m, length])                 # plus every end point
        which = np.concatenate([which, np.arange(lines_.size)])
        points.append(shapely.line_interpolate_point(lines_[which], dist))
    pts = np.concatenate(points)
    if pts.size == 0:
        return np.empty(0, np.int64)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    xres, yres = dem.res
    col = np.floor((x - dem.transform.c) / xres).astype(np.int64)
    row = np.floor((dem.transform.f - y) / yres).astype(np.int64)
    rows, cols = dem.shape
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    flat = np.unique(row[ok] * cols + col[ok])
    return flat[~np.isnan(dem.elevation.ravel()[flat])]


@dataclass(frozen=True)
class _LosTemplate:
    """Line-of-sight geometry relative to an observer at a cell centre (same for every observer)."""

    target_offset: np.ndarray       # flat offset of each target cell in the padded grid
    target_dist: np.ndarray         # horizontal distance observer -> target [m]
    target_drop: np.ndarray         # curvature/refraction drop at the target [m]
    sample_offsets: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]   # 4 bilinear neighbours
    sample_weights: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    sample_dist: np.ndarray         # distance observer -> sample [m]
    sample_drop: np.ndarray
    segment_starts: np.ndarray      # first sample of each target that has samples
    has_samples: np.ndarray         # per target


def _los_template(dem: Dem, pad: int, padded_cols: int, max_distance_m: float, step_cells: float,
                  earth_radius_m: float, refraction: float) -> _LosTemplate:
    xres, yres = dem.res
    r_max, c_max = int(max_distance_m // yres), int(max_distance_m // xres)
    dr, dc = np.meshgrid(np.arange(-r_max, r_max + 1), np.arange(-c_max, c_max + 1), indexing="ij")
    dr, dc = dr.ravel(), dc.ravel()
    dist = np.hypot(dr * yres, dc * xres)
    keep = (dist > 0) & (dist <= max_distance_m)
    dr, dc, dist = dr[keep], dc[keep], dist[keep]
    # n segments per line of sight -> n - 1 interior samples at fractions k/n
    n_seg = np.maximum(np.ceil(dist / (step_cells * min(xres, yres))).astype(np.int64), 1)
    n_samp = n_seg - 1
    tgt = np.repeat(np.arange(dist.size), n_samp)
    first = np.cumsum(n_samp) - n_samp
    frac = (np.arange(tgt.size) - first[tgt] + 1) / n_seg[tgt]
    fr, fc = dr[tgt] * frac, dc[tgt] * frac
    r0, c0 = np.floor(fr), np.floor(fc)
    wr, wc = fr - r0, fc - c0
    base = r0.astype(np.int64) * padded_cols + c0.astype(np.int64)
    # where a weight is 0 point at the same cell, so a NaN beyond the grid edge cannot leak in
    down = np.where(wr > 0, padded_cols, 0)
    right = np.where(wc > 0, 1, 0)
    sample_dist = dist[tgt] * frac
    curvature = (1.0 - refraction) / (2.0 * earth_radius_m)
    return _LosTemplate(
        target_offset=dr * padded_cols + dc, target_dist=dist, target_drop=curvature * dist ** 2,
        sample_offsets=(base, base + right, base + down, base + down + right),
        sample_weights=((1 - wr) * (1 - wc), (1 - wr) * wc, wr * (1 - wc), wr * wc),
        sample_dist=sample_dist, sample_drop=curvature * sample_dist ** 2,
        segment_starts=first[n_samp > 0], has_samples=n_samp > 0)


def visibility_from_lines(lines: Any, dem: Dem, *, max_distance_m: float | None = None,
                          spacing_m: float | None = None, eye_height_m: float | None = None,
                          target_height_m: float | None = None,
                          progress: Progress | None = None) -> np.ndarray:
    """Cells visible from at least one observer on the lines (the 直观可视范围 of 三区两线).

    Parameters
    ----------
    lines : geopandas.GeoDataFrame or GeoSeries
        Main roads, railways, rivers (lines; polygon boundaries and points also work).
    dem : Dem
        Terrain (bare earth: no buildings or trees).
    max_distance_m : float, optional
        Horizontal reach [m]; default 1,000 m from ``data/terrain.toml`` (an
        assumption: no official distance was found, RULES_REFERENCE.md).
    spacing_m : float, optional
        Observer spacing along each line [m]; default 100 m.
    eye_height_m : float, optional
        Observer eye height above the DEM [m]; default 1.2 m (driver).
    target_height_m : float, optional
        Height above the ground that must be seen in each cell [m]; default 0.
    progress : callable, optional
        Called as ``progress(label, observers_done, observers_total)`` (:mod:`sanxian_yidan.progress`)
        before the first batch and after every batch.

    Returns
    -------
    numpy.ndarray
        Boolean raster of the DEM's shape: True where the cell (at ``target_height_m``
        above its centre) is seen from at least one observer.

    Notes
    -----
    Algorithm ("R3", Franklin & Ray 1994, vectorised):

    1. Observers are placed every ``spacing_m`` along each line part (and at its
       end), snapped to the centre of their DEM cell and merged per cell; their
       eye is ``eye_height_m`` above that cell's elevation.
    2. For every target cell within ``max_distance_m`` (centre to centre) the
       segment observer→target is sampled every ``sample_step_cells`` (0.5) cells;
       elevations at the samples are interpolated bilinearly between cell centres.
    3. The target is visible if the elevation angle to its centre
       (+ ``target_height_m``) is at least the largest angle to any sample before it.
       Heights are lowered by the curvature/refraction drop ``(1 - k) d² / 2R``.
    4. The geometry of step 2 is the same for every observer at a cell centre, so
       it is precomputed once; observers are then processed in batches with numpy
       gathers and ``maximum.reduceat`` (no loop over targets or samples).

    Approximations: observer positions move by up to half a cell diagonal
    (snapping); bare-earth terrain only (no buildings, trees, noise barriers,
    cuttings finer than the DEM); the road is assumed at ground level of its cell
    (embankments and bridges are ignored); nodata cells never block a view and
    are never visible; the observer's own cell is visible.

    References
    ----------
    .. [1] Franklin and Ray (1994); see the module references.
    """
    settings = default_settings()
    max_distance_m = settings.max_distance_m if max_distance_m is None else float(max_distance_m)
    spacing_m = settings.spacing_m if spacing_m is None else float(spacing_m)
    eye_height_m = settings.eye_height_m if eye_height_m is None else float(eye_height_m)
    target_height_m = settings.target_height_m if target_height_m is None else float(target_height_m)
    for name, value in (("max_distance_m", max_distance_m), ("eye_height_m", eye_height_m),
                        ("target_height_m", target_height_m)):
        if not (math.isfinite(value) and value >= 0):
            raise TerrainError(problem(f"参数 {name} 必须为非负有限数。",
                                       f"{name} must be finite and >= 0, got {value}.",
                                       fix=f"pass a value in metres, e.g. {name}=1000" if name == "max_distance_m"
                                       else f"pass a value in metres, e.g. {name}=1.2"))
    _require_metric(dem)
    started = time.perf_counter()
    rows, cols = dem.shape
    observers = observer_cells(lines, dem, spacing_m=spacing_m)
    if observers.size == 0:
        warnings.warn(f"no observer lies on a DEM cell with data ({len(lines)} line feature(s), DEM {dem.source}); "
                      "nothing is visible — check that the lines overlap the DEM and share its CRS",
                      SanxianWarning, stacklevel=2)
    xres, yres = dem.res
    pad = int(max(max_distance_m // yres, max_distance_m // xres)) + 2
    padded_cols = cols + 2 * pad
    elev = np.full((rows + 2 * pad, padded_cols), np.nan)
    elev[pad:pad + rows, pad:pad + cols] = dem.elevation
    elev_flat = elev.ravel()
    seen = np.zeros(elev.shape, dtype=bool)
    seen_flat = seen.ravel()
    template = _los_template(dem, pad, padded_cols, max_distance_m, settings.sample_step_cells,
                             settings.earth_radius_m, settings.refraction_coefficient)
    obs_flat = (observers // cols + pad) * padded_cols + (observers % cols + pad)
    seen_flat[obs_flat] = True
    total = obs_flat.size
    batch = max(1, settings.batch_samples // max(1, template.sample_dist.size))
    o00, o01, o10, o11 = template.sample_offsets
    w00, w01, w10, w11 = template.sample_weights
    if progress is not None:
        progress(VISIBILITY_LABEL, 0, total)
    for lo in range(0, total, batch):
        base = obs_flat[lo:lo + batch, None]
        eye = elev_flat[base] + eye_height_m
        if template.sample_dist.size:
            z = (w00 * elev_flat[base + o00] + w01 * elev_flat[base + o01]
                 + w10 * elev_flat[base + o10] + w11 * elev_flat[base + o11])
            angle = (z - template.sample_drop - eye) / template.sample_dist
            angle[np.isnan(angle)] = -np.inf          # missing data never blocks the view
            horizon = np.full((base.shape[0], template.target_dist.size), -np.inf)
            horizon[:, template.has_samples] = np.maximum.reduceat(angle, template.segment_starts, axis=1)
        else:
            horizon = np.full((base.shape[0], template.target_dist.size), -np.inf)
        targets = base + template.target_offset
        target_angle = (elev_flat[targets] + target_height_m - template.target_drop - eye) / template.target_dist
        with np.errstate(invalid="ignore"):
            visible = target_angle >= horizon        # NaN target (nodata / outside) -> False
        seen_flat[targets[visible]] = True
        if progress is not None:
            progress(VISIBILITY_LABEL, min(lo + batch, total), total)
    out = seen[pad:pad + rows, pad:pad + cols].copy()
    out &= ~np.isnan(dem.elevation)
    log.info("visibility: %d observers, %d target cells each, %.1f s, %.1f%% of cells visible",
             total, template.target_dist.size, time.perf_counter() - started, 100 * out.mean())
    return out
