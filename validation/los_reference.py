"""An independent fine line-of-sight reference for the toolkit's viewshed (not a ``check_`` module).

Written apart from :mod:`sanxian_yidan.terrain.visibility`, on purpose differently: one observer at a
time, the sight line to every target sampled densely (default every 0.005 cell, 100× finer than the
toolkit's former 0.5-cell step) and the terrain interpolated by SciPy's ``ndimage.map_coordinates``
(order 1 = bilinear between cell centres), not by the toolkit's own patch arithmetic.

Definition (the toolkit documents the same one): the eye is ``eye`` metres above the observer's cell
centre; a target cell is visible when the elevation angle to its centre (+ ``target`` metres) is at
least the angle to every terrain sample strictly between, all heights lowered by the
curvature/refraction drop ``(1 - k) d² / 2R``; samples in a patch touching nodata never block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class PairResult:
    """Visibility of every (observer, target) pair within reach."""

    observer: np.ndarray   # index into the observers given
    row: np.ndarray        # target row in the grid
    col: np.ndarray        # target column
    visible: np.ndarray    # bool
    margin: np.ndarray     # (angle to target - steepest angle before it) x distance [m]: how far the
                           # target's top clears (> 0) or misses (< 0) the sight line over the horizon


def fine_line_of_sight(z: np.ndarray, res: float, observers: np.ndarray, *, eye: float, target: float,
                       max_distance: float, step_cells: float = 0.005, k: float = 1 / 7,
                       radius: float = 6371008.8) -> PairResult:
    """Visibility of every cell within ``max_distance`` of each observer, by dense sampling.

    Parameters
    ----------
    z : numpy.ndarray
        Elevations [m] of a north-up grid with square cells, ``NaN`` for nodata.
    res : float
        Cell size [m].
    observers : numpy.ndarray
        ``(n, 2)`` integer rows and columns of the observer cells, each at least ``max_distance``
        plus one cell inside the grid (so no sight line leaves it).
    eye, target : float
        Eye height above the observer's cell and target height above the target cell [m].
    max_distance : float
        Reach, centre to centre [m].
    step_cells : float
        Sampling step along the sight line [cells].
    k, radius : float
        Refraction coefficient [-] and Earth radius [m] of the curvature drop.

    Returns
    -------
    PairResult
        Pairs whose target lies in the grid (visible False for nodata targets).
    """
    rows, cols = z.shape
    reach = int(max_distance // res)
    obs = np.asarray(observers, dtype=int).reshape(-1, 2)
    if obs.size and not ((obs >= reach + 1).all() and (obs[:, 0] < rows - reach - 1).all()
                         and (obs[:, 1] < cols - reach - 1).all()):
        raise ValueError("observers must lie at least max_distance + 1 cell inside the grid")
    dr, dc = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1), indexing="ij")
    dr, dc = dr.ravel(), dc.ravel()
    d = np.hypot(dr, dc) * res
    keep = (d > 0) & (d <= max_distance)
    dr, dc, d = dr[keep], dc[keep], d[keep]
    n_seg = np.maximum(np.ceil(d / (step_cells * res)).astype(int), 1)
    kmax = int(n_seg.max())
    kk = np.arange(1, kmax)
    t = kk[None, :] / n_seg[:, None]                 # (targets, samples), valid where kk < n_seg
    valid = kk[None, :] < n_seg[:, None]
    t = np.where(valid, t, 0.5)                      # placeholder, masked below
    drop_coef = (1 - k) / (2 * radius)
    out_obs, out_r, out_c, out_v, out_m = [], [], [], [], []
    for i, (r0, c0) in enumerate(obs):
        z0 = z[r0, c0] + eye
        fr = r0 + dr[:, None] * t
        fc = c0 + dc[:, None] * t
        # samples interpolated from a nodata cell are NaN: they never block (below)
        h = ndimage.map_coordinates(z, [fr.ravel(), fc.ravel()], order=1, mode="constant", cval=np.nan,
                                    prefilter=False).reshape(t.shape)
        s = d[:, None] * t
        ang = (h - drop_coef * s * s - z0) / s
        ang = np.where(valid & ~np.isnan(ang), ang, -np.inf)
        horizon = ang.max(axis=1)
        tr, tc = r0 + dr, c0 + dc
        inside = (tr >= 0) & (tr < rows) & (tc >= 0) & (tc < cols)
        zt = np.full(d.shape, np.nan)
        zt[inside] = z[tr[inside], tc[inside]]
        with np.errstate(invalid="ignore"):
            tan_target = (zt + target - drop_coef * d * d - z0) / d
            vis = tan_target >= horizon
        out_m.append(((tan_target - np.maximum(horizon, -1e6)) * d)[inside])
        out_obs.append(np.full(int(inside.sum()), i))
        out_r.append(tr[inside])
        out_c.append(tc[inside])
        out_v.append(vis[inside])
    return PairResult(np.concatenate(out_obs), np.concatenate(out_r), np.concatenate(out_c),
                      np.concatenate(out_v), np.concatenate(out_m))
