"""Overlay core: project footprints against a layer's features, vectorised (STRtree + GEOS, optionally on threads)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely

from ..geomutil import polygonal_parts
from ..parallel import chunk_bounds, chunked

__all__ = ["FEW_FEATURES", "chunked_call", "is_sliver", "mean_width", "overlay_pieces", "query_pairs", "uncovered_parts"]


# ============================================================================================ geometry core
def chunked_call(fn: Callable[..., np.ndarray], arrays: tuple[np.ndarray, ...], threads: int, min_pairs: int,
                 groups: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
    """Run a vectorised shapely function over chunks of its input arrays on threads (GEOS releases the GIL)."""
    return chunked(fn, arrays, threads=threads, min_items=min_pairs, groups=groups, **kwargs)


def query_pairs(tree: shapely.STRtree, geoms: np.ndarray, threads: int, min_pairs: int,
                **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bulk ``tree.query(geoms, ...)`` split by query geometry over threads; pairs sorted by query index."""
    # A query tests every candidate pair: split once there are enough query geometries to matter.
    bounds = chunk_bounds(len(geoms), threads, max(1, min_pairs // 4))
    if len(bounds) == 1:
        return tree.query(geoms, **kwargs)
    with ThreadPoolExecutor(len(bounds)) as pool:
        parts = list(pool.map(lambda b: tree.query(geoms[b[0]:b[1]], **kwargs), bounds))
    pi = np.concatenate([p[0] + b[0] for p, b in zip(parts, bounds)])
    fi = np.concatenate([p[1] for p in parts])
    return pi, fi


def overlay_pieces(footprints: np.ndarray, features: np.ndarray, *, threads: int = 1,
                   min_parallel_pairs: int = 5000, footprint_tree: shapely.STRtree | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bulk polygon overlay: every (footprint, feature) pair sharing area, with its piece.

    One bulk ``STRtree`` query with ``predicate="intersects"`` finds the pairs (see
    :func:`_intersecting_pairs`); a footprint inside its feature is its own piece, the other pieces are
    computed with array ``shapely.intersection``.  Pairs that only touch (zero area) are dropped.

    Parameters
    ----------
    footprints, features : numpy.ndarray of shapely geometries
        Projects and layer polygons in the same projected CRS.
    threads : int
        Threads for the query and the intersections (results do not depend on it).
    min_parallel_pairs : int
        Fewer pairs than this run on one thread.
    footprint_tree : shapely.STRtree, optional
        An index already built over ``footprints`` (reused when the layer is queried feature by feature).

    Returns
    -------
    project_index, feature_index : numpy.ndarray of int
        Pairs ordered by project, then in the spatial index's order of the features.
    pieces : numpy.ndarray of geometries (polygonal)
    area : numpy.ndarray of float [CRS units²]
    """
    pi, fi, inside = _intersecting_pairs(footprints, features, threads, min_parallel_pairs, footprint_tree)
    if len(pi) == 0:
        return pi, fi, np.empty(0, dtype=object), np.empty(0)
    a = footprints[pi]
    pieces = np.empty(len(pi), dtype=object)
    pieces[inside] = a[inside]
    rest = ~inside
    if rest.any():
        pieces[rest] = polygonal_parts(chunked_call(shapely.intersection, (a[rest], features[fi[rest]]), threads,
                                                    min_parallel_pairs, groups=pi[rest]))
    area = shapely.area(pieces)
    keep = area > 0
    return pi[keep], fi[keep], pieces[keep], area[keep]


#: A layer with at most this share of features per footprint is queried feature by feature (see below).
FEW_FEATURES = 0.25


def _intersecting_pairs(footprints: np.ndarray, features: np.ndarray, threads: int, min_pairs: int,
                        footprint_tree: shapely.STRtree | None = None,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(footprint, feature) pairs that intersect, and whether the footprint lies within the feature.

    Both ways of asking give the same pairs in the same order — by footprint, then in the order the features'
    ``STRtree`` visits them — but differ in which side GEOS prepares (indexes) for the tests:

    * many features (control units): query the features' tree with each footprint; a footprint is within a
      feature only if its bounding box is, so ``within`` runs on those few pairs only;
    * few features (a county, the red-line patches): query a tree of the footprints with each feature, so
      that each large, detailed feature is prepared once instead of being tested raw against every footprint
      (``contains`` of a prepared county is far cheaper than ``within`` against the raw county).
    """
    tree = shapely.STRtree(features)
    if len(features) > FEW_FEATURES * len(footprints):
        pi, fi = query_pairs(tree, footprints, threads, min_pairs, predicate="intersects")
        inside = np.zeros(len(pi), dtype=bool)
        if len(pi):
            fb, pb = shapely.bounds(features), shapely.bounds(footprints)
            maybe = np.flatnonzero(np.all(fb[fi, :2] <= pb[pi, :2], axis=1) & np.all(pb[pi, 2:] <= fb[fi, 2:], axis=1))
            inside[maybe] = chunked_call(shapely.within, (footprints[pi[maybe]], features[fi[maybe]]), threads,
                                         min_pairs, groups=pi[maybe])
        return pi, fi, inside
    fp_tree = footprint_tree if footprint_tree is not None else shapely.STRtree(footprints)
    fj, pj = fp_tree.query(features, predicate="intersects")
    order = np.lexsort((_visit_rank(tree, features)[fj], pj))   # the order of tree.query(footprints)
    pi, fi = pj[order], fj[order]
    cj, cp = fp_tree.query(features, predicate="contains")
    n = len(features)
    inside = np.isin(pi.astype(np.int64) * n + fi, cp.astype(np.int64) * n + cj)
    return pi, fi, inside


def _visit_rank(tree: shapely.STRtree, geoms: np.ndarray) -> np.ndarray:
    """Position of each geometry in the depth-first order in which ``tree`` reports query results.

    Every query returns its hits as a subsequence of this order, so sorting hits by rank reproduces the
    order of ``tree.query``.
    """
    rank = np.zeros(len(geoms), dtype=np.int64)
    if len(geoms):
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        visited = tree.query(shapely.box(xmin - 1.0, ymin - 1.0, xmax + 1.0, ymax + 1.0))
        rank[visited] = np.arange(len(visited))
    return rank


def uncovered_parts(footprints: np.ndarray, pi: np.ndarray, pieces: np.ndarray, areas: np.ndarray,
                    fp_area: np.ndarray, threads: int = 1, min_pairs: int = 5000) -> np.ndarray:
    """Part of each footprint not covered by its pieces (vectorised by rounds of ``shapely.difference``).

    Round *r* subtracts the *r*-th piece of every project at once, so the number of Python iterations is
    the largest number of pieces of one project, not the number of projects.  Projects covered by one piece
    of their full area need no overlay.
    """
    n = len(footprints)
    remaining = np.array(footprints, dtype=object)
    if len(pi) == 0:
        return remaining
    counts = np.bincount(pi, minlength=n)
    total = np.bincount(pi, weights=areas, minlength=n)
    whole = (counts == 1) & (total >= fp_area * (1 - 1e-12))
    empty = shapely.from_wkt("POLYGON EMPTY")
    remaining[whole] = empty
    sel = ~whole[pi]
    pi_s, pieces_s = pi[sel], pieces[sel]
    if len(pi_s) == 0:
        return remaining
    order = np.argsort(pi_s, kind="stable")
    pi_s, pieces_s = pi_s[order], pieces_s[order]
    starts = np.r_[0, np.flatnonzero(np.diff(pi_s)) + 1]
    sizes = np.diff(np.r_[starts, len(pi_s)])
    rank = np.arange(len(pi_s)) - np.repeat(starts, sizes)
    for r in range(int(rank.max()) + 1):
        at = rank == r
        idx = pi_s[at]
        remaining[idx] = polygonal_parts(chunked_call(shapely.difference, (remaining[idx], pieces_s[at]), threads,
                                                      min_pairs))
    return remaining


def mean_width(area: np.ndarray, perimeter: np.ndarray) -> np.ndarray:
    """Mean width of polygons, area / half perimeter [m] (0 without perimeter)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perimeter > 0, area / (perimeter / 2.0), 0.0)


def is_sliver(area: np.ndarray, perimeter: np.ndarray, settings_m2: float, width_m: float) -> np.ndarray:
    return (area < settings_m2) | (mean_width(area, perimeter) < width_m)


