"""Which polygon contains each point: exact, vectorised, and cheap for a million points and tens of polygons.

``shapely.contains_xy`` over every point and every polygon costs one point-in-polygon test per pair.  Here the
points' extent is cut into a grid of cells first; a cell that meets exactly one polygon and lies wholly in its
interior decides all its points at once, a cell that meets no polygon decides them as outside, and only the points
of the remaining cells (those on a polygon's boundary) are tested one by one.  The answer is the same as the
per-point test: the grid only sorts out which points need one.
"""

from __future__ import annotations

import numpy as np
import shapely

#: Average points per grid cell (an algorithmic switch, not a planning parameter: any value gives the same
#: answer).  Fewer points per cell leave fewer points on boundary cells but cost more cell tests.
_POINTS_PER_CELL = 64
#: At most this many cells per side (bounds the cell tests for very large inputs).
_MAX_CELLS_PER_SIDE = 512


def first_containing(polygons: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the first polygon that contains each point (``shapely.contains_xy``), -1 for none.

    Parameters
    ----------
    polygons : numpy.ndarray of shapely geometries
        Polygons in priority order: a point in several gets the lowest index.  They are prepared
        (``shapely.prepare``) in place.
    x, y : numpy.ndarray of float
        Point coordinates [CRS units of the polygons]; a non-finite point is in no polygon.

    Returns
    -------
    numpy.ndarray of int64
        Per point, the index into ``polygons`` or -1.  A point on a polygon's boundary is not contained
        (as with ``contains_xy``).
    """
    return PointGrid(x, y).first_containing(polygons)


class PointGrid:
    """Points sorted into grid cells once, for several :meth:`first_containing` lookups (e.g. the data
    coverage, then the townships, of the same footprint centres).

    Parameters
    ----------
    x, y : numpy.ndarray of float
        Point coordinates [CRS units]; non-finite points are kept off the grid and contained nowhere.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        finite = np.isfinite(self.x) & np.isfinite(self.y)
        # e.g. the centre of an empty geometry: contained nowhere, and kept off the grid
        self._on_grid = None if finite.all() else np.flatnonzero(finite)
        gx, gy = (self.x, self.y) if self._on_grid is None else (self.x[finite], self.y[finite])
        self._gx, self._gy = gx, gy
        self._cell, self._tree = None, None
        if len(gx):
            self._cell, boxes = _grid(gx, gy)
            self._tree = shapely.STRtree(boxes)

    def first_containing(self, polygons: np.ndarray) -> np.ndarray:
        """:func:`first_containing` of these points: index of the first polygon holding each, -1 for none."""
        first = np.full(len(self.x), -1, dtype=np.int64)
        if self._tree is None or len(polygons) == 0:
            return first
        on_grid = self._first_on_grid(np.asarray(polygons))
        if self._on_grid is None:
            return on_grid
        first[self._on_grid] = on_grid
        return first

    def _first_on_grid(self, polygons: np.ndarray) -> np.ndarray:
        assert self._tree is not None and self._cell is not None
        shapely.prepare(polygons)  # for the cell tests and the remaining point tests (same answers, faster)
        cell, n_cells = self._cell, len(self._tree.geometries)
        meet_poly, meet_cell = self._tree.query(polygons, predicate="intersects")
        in_poly, in_cell = self._tree.query(polygons, predicate="contains_properly")
        n_meets = np.bincount(meet_cell, minlength=n_cells)
        # Per cell: the polygon holding all of it when it is the only one the cell meets, -1 when it meets none.
        holder = np.full(n_cells, -1, dtype=np.int64)
        holder[in_cell] = in_poly
        decided = (n_meets == 0) | ((n_meets == 1) & (holder >= 0))
        first = np.where(decided, holder, -1)[cell]
        rest = np.flatnonzero(~decided[cell])
        if rest.size:
            first[rest] = _first_containing_exact(polygons, self._gx[rest], self._gy[rest], cell[rest],
                                                  meet_cell, meet_poly)
        return first


def _grid(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell index of each point (into the returned boxes) and the boxes of the cells that hold points."""
    side = int(np.clip(np.sqrt(len(x) / _POINTS_PER_CELL), 1, _MAX_CELLS_PER_SIDE))
    x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    dx = (x1 - x0) / side or 1.0
    dy = (y1 - y0) / side or 1.0
    ix = np.clip(((x - x0) / dx).astype(np.int64), 0, side - 1)
    iy = np.clip(((y - y0) / dy).astype(np.int64), 0, side - 1)
    # Cells that hold points, numbered in order (a lookup table, not a sort of a million cell ids).
    full = iy * side + ix
    used = np.flatnonzero(np.bincount(full, minlength=side * side))
    lookup = np.empty(side * side, dtype=np.int64)
    lookup[used] = np.arange(len(used))
    cy, cx = np.divmod(used, side)
    # Boxes widened by a millionth of a cell: rounding in ix/iy cannot put a point outside its cell's box,
    # and a wider box only makes a cell undecided more often, never decides a point wrongly.
    mx, my = dx * 1e-6, dy * 1e-6
    boxes = shapely.box(x0 + cx * dx - mx, y0 + cy * dy - my, x0 + (cx + 1) * dx + mx, y0 + (cy + 1) * dy + my)
    return lookup[full], boxes


def _first_containing_exact(polygons: np.ndarray, x: np.ndarray, y: np.ndarray, cell: np.ndarray,
                            meet_cell: np.ndarray, meet_poly: np.ndarray) -> np.ndarray:
    """Point-in-polygon test of each point against each polygon its cell meets (one vectorised call)."""
    order = np.argsort(meet_cell, kind="stable")
    polys_sorted = meet_poly[order]
    # Each cell's run of (cell, polygon) pairs in that order, looked up per point (cell ids are small integers).
    per_cell = np.bincount(meet_cell, minlength=int(cell.max()) + 1)
    first_pair = np.cumsum(per_cell) - per_cell
    start, count = first_pair[cell], per_cell[cell]
    point = np.repeat(np.arange(len(x)), count)
    # Position of each pair within its point's run of candidate polygons.
    within = np.arange(len(point)) - np.repeat(np.cumsum(count) - count, count)
    poly = polys_sorted[np.repeat(start, count) + within]
    hit = shapely.contains_xy(polygons[poly], x[point], y[point])
    first = np.full(len(x), len(polygons), dtype=np.int64)
    np.minimum.at(first, point[hit], poly[hit])
    return np.where(first < len(polygons), first, -1)
