"""Vectorised geometry helpers shared by the screening, brownfield and mine modules.

* :func:`polygonal_parts` keeps the polygonal parts of GEOS overlay results: an intersection of two
  polygons that share an edge or a corner as well as area comes back as a ``GeometryCollection`` that also
  holds that edge (a ``LineString``) or corner (a ``Point``); areas, writers and further overlays want
  ``(Multi)Polygon`` only.
* :func:`nearest_features` finds, for each geometry, the nearest feature of a layer and its distance, with
  one bulk ``STRtree.query_nearest`` call.

Both work on whole arrays (no Python loop over features) and never modify their inputs.

References
----------
.. [1] Shapely 2 documentation, ``shapely.STRtree.query_nearest`` and ``shapely.get_parts``.
.. [2] GEOS OverlayNG: results of mixed dimension are returned as a ``GeometryCollection``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely import GeometryType

__all__ = ["OVERLAY_NOISE_M2", "nearest_features", "polygonal_parts"]

#: Areas below this are floating-point noise of a GEOS overlay (e.g. two polygons that only share an edge
#: leave a sliver of 1e-10 m²), not land [m² in the working CRS].  A numerical tolerance, not a planning rule.
OVERLAY_NOISE_M2 = 1e-3

#: Geometry types made of parts, flattened by :func:`_atomic_parts`.
_MULTI = (GeometryType.MULTIPOINT, GeometryType.MULTILINESTRING, GeometryType.MULTIPOLYGON,
          GeometryType.GEOMETRYCOLLECTION)


def _atomic_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Single-part geometries of ``geoms`` (collections flattened at every depth) and the index of the
    input each comes from, in input order."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    # GEOS puts single parts in overlay collections, but a collection may nest multi-part members: go down
    # level by level until nothing is left to split (a single geometry is its own only part).
    while len(parts) and np.isin(shapely.get_type_id(parts), _MULTI).any():
        parts, sub = shapely.get_parts(parts, return_index=True)
        owner = owner[sub]
    return parts, owner


def polygonal_parts(geoms: Any) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (drop lines and points left by overlay).

    ``Polygon`` and ``MultiPolygon`` entries (empty ones included) are returned as they are (the same
    objects).  Every other entry becomes the ``MultiPolygon`` of its non-empty polygon parts, found at any
    depth of nesting, in their order: a ``GeometryCollection`` of a polygon, a line and a point becomes a
    ``MultiPolygon`` of that one polygon.  An entry without polygon parts (a line, a point, an empty
    collection) or a missing one (``None``) becomes an empty ``MultiPolygon``.

    Parameters
    ----------
    geoms : array_like of shapely geometries
        E.g. the result of an array ``shapely.intersection`` or ``shapely.difference`` [CRS units].

    Returns
    -------
    numpy.ndarray of shapely geometries
        A new object array of the same length; each entry a ``Polygon`` or ``MultiPolygon``, possibly empty.
        Each entry has the area of the input entry (0 for a missing one).

    Examples
    --------
    >>> import shapely
    >>> gc = shapely.from_wkt("GEOMETRYCOLLECTION (POLYGON ((0 0, 1 0, 1 1, 0 0)), LINESTRING (1 1, 2 2))")
    >>> polygonal_parts([gc])[0].wkt
    'MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))'
    """
    geoms = np.asarray(geoms, dtype=object).reshape(-1)
    out = geoms.copy()
    todo = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), (GeometryType.POLYGON, GeometryType.MULTIPOLYGON)))
    if len(todo) == 0:
        return out
    out[todo] = shapely.MultiPolygon()
    parts, owner = _atomic_parts(geoms[todo])
    keep = (shapely.get_type_id(parts) == GeometryType.POLYGON) & ~shapely.is_empty(parts)
    if keep.any():
        # owner is ascending, so the inverse of unique numbers the outputs in order, as multipolygons needs
        owners, slot = np.unique(owner[keep], return_inverse=True)
        out[todo[owners]] = shapely.multipolygons(parts[keep], indices=slot)
    return out


def nearest_features(geoms: Any, targets: Any, *, max_distance: float | None = None,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Index of and distance to the nearest target of each geometry (one bulk ``STRtree`` query).

    Parameters
    ----------
    geoms : array_like of shapely geometries
        Geometries to measure from (projected CRS).
    targets : array_like of shapely geometries
        Candidate features, in the same CRS.
    max_distance : float, optional
        Search radius [CRS units, m in the working CRS]: a geometry whose nearest target is farther than this
        gets no match (a target at exactly ``max_distance`` counts).  Also speeds up the search.  ``None``
        searches without limit.

    Returns
    -------
    index : numpy.ndarray of int
        Position in ``targets`` of the nearest target, ``-1`` where there is none: ``targets`` is empty, the
        geometry is empty or missing, or nothing lies within ``max_distance``.
    distance : numpy.ndarray of float
        Its distance [CRS units]; ``0`` where the geometry touches or overlaps it; ``nan`` where there is none.

    Notes
    -----
    Ties (several targets at exactly the same distance, e.g. two roads sharing a stretch, or a footprint
    overlapping two features) are resolved by GEOS's nearest-neighbour search (``all_matches=False``): it
    reports the first tied target it reaches in the tree built over ``targets``.  That choice is
    deterministic — the same geometries and targets, in the same order, always give the same index, whatever
    other geometries are queried with them — but it is not necessarily the lowest index.  It is kept as it is
    so that results stay the same as those of the code this function replaces.

    References
    ----------
    .. [1] Shapely 2 documentation, ``shapely.STRtree.query_nearest``.
    """
    geoms = np.asarray(geoms, dtype=object).reshape(-1)
    targets = np.asarray(targets, dtype=object).reshape(-1)
    index = np.full(len(geoms), -1, dtype=np.int64)
    distance = np.full(len(geoms), np.nan)
    if len(geoms) == 0 or len(targets) == 0:
        return index, distance
    (gi, ti), d = shapely.STRtree(targets).query_nearest(geoms, max_distance=max_distance, return_distance=True,
                                                          all_matches=False)
    index[gi] = ti
    distance[gi] = d
    return index, distance
