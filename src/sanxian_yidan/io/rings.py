"""Polygons from loose rings (CAD polylines, coordinate-table rings): holes by nesting, the even-odd rule."""

from __future__ import annotations

import numpy as np
import shapely


def nest_rings(rings: list[np.ndarray]) -> tuple[np.ndarray, list[int], list[int]]:
    """Assemble rings into polygons by the even-odd rule.

    Returns
    -------
    (polygons, shell indices, hole counts)
        A ring contained by an even number of other rings is a shell; one
        contained by an odd number is a hole of the smallest ring containing
        it (whose depth is one less).
    """
    simple = shapely.polygons([shapely.linearrings(r) for r in rings])
    simple = shapely.make_valid(simple, method="structure") if not shapely.is_valid(simple).all() else simple
    # ring i is nested in ring j when the area ring i encloses lies within the area ring j encloses
    inner, outer = shapely.STRtree(simple).query(simple, predicate="within")
    keep = inner != outer
    inner, outer = inner[keep], outer[keep]
    depth = np.bincount(inner, minlength=len(rings))
    area = shapely.area(simple)
    parent = np.full(len(rings), -1)
    # for each hole, the containing ring one level up with the smallest area
    candidates = depth[outer] == depth[inner] - 1
    for i, o in sorted(zip(inner[candidates], outer[candidates]), key=lambda p: area[p[1]], reverse=True):
        parent[i] = o  # the last assignment is the smallest container
    # a ring of odd depth without a parent one level up (e.g. duplicated rings) stays a shell
    is_hole = (depth % 2 == 1) & (parent >= 0)
    shells = [int(i) for i in np.flatnonzero(~is_hole)]
    holes_of: dict[int, list[int]] = {s: [] for s in shells}
    for i in np.flatnonzero(is_hole):
        holes_of.setdefault(int(parent[i]), []).append(int(i))
    polygons = []
    for s in shells:
        geom = simple[s]
        for h in holes_of[s]:
            geom = shapely.difference(geom, simple[h])
        polygons.append(geom)
    return np.array(polygons, dtype=object), shells, [len(holes_of[s]) for s in shells]
