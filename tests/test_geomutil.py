"""Tests of sanxian_yidan.geomutil: polygonal parts of overlay results, nearest feature search.

Fixtures are unit squares, L-shapes and points on a small integer grid (metres), so every area and
distance can be checked by hand; the seeded random cases are checked against a brute-force distance
matrix computed independently with ``shapely.distance``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from sanxian_yidan.geomutil import nearest_features, polygonal_parts

P = shapely.Point


# =============================================================================== polygonal_parts
def test_collection_of_polygon_line_and_point_keeps_only_the_polygon() -> None:
    square = shapely.box(0, 0, 1, 1)
    gc = shapely.GeometryCollection([square, shapely.LineString([(1, 1), (2, 2)]), P(5, 5)])
    out = polygonal_parts(np.array([gc], dtype=object))
    assert out[0].geom_type == "MultiPolygon"
    assert len(out[0].geoms) == 1
    assert out[0].geoms[0].equals(square)
    assert out[0].area == 1.0


def test_intersection_sharing_area_and_an_edge() -> None:
    # The L-shape overlaps the 2 x 2 square in [1, 2] x [0, 1] (area 1 m²) and shares its edge x = 2,
    # 1 <= y <= 2: GEOS returns the square piece and that edge as a collection.
    a = shapely.box(0, 0, 2, 2)
    b = shapely.Polygon([(1, 0), (3, 0), (3, 2), (2, 2), (2, 1), (1, 1)])
    raw = shapely.intersection(a, b)
    assert raw.geom_type == "GeometryCollection"
    out = polygonal_parts([raw])
    assert out[0].geom_type == "MultiPolygon"
    assert out[0].equals(shapely.box(1, 0, 2, 1))
    assert out[0].area == 1.0


def test_polygons_pass_unchanged_and_input_is_not_modified() -> None:
    square, empty_poly = shapely.box(0, 0, 1, 1), shapely.Polygon()
    multi = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)])
    gc = shapely.GeometryCollection([square, P(9, 9)])
    geoms = np.array([square, multi, empty_poly, gc], dtype=object)
    before = geoms.copy()
    out = polygonal_parts(geoms)
    assert out is not geoms
    assert out[0] is square and out[1] is multi and out[2] is empty_poly    # same objects, not copies
    assert all(g is b for g, b in zip(geoms, before))                        # the caller's array untouched
    assert out[3].geom_type == "MultiPolygon"


def test_entries_without_polygons_become_empty_multipolygons() -> None:
    geoms = [shapely.LineString([(0, 0), (1, 1)]), P(0, 0), shapely.MultiPoint([(0, 0), (1, 1)]),
             shapely.from_wkt("GEOMETRYCOLLECTION EMPTY"),
             shapely.GeometryCollection([P(0, 0), shapely.LineString([(0, 0), (0, 1)])]), None]
    out = polygonal_parts(geoms)
    assert len(out) == 6
    assert [g.wkt for g in out] == ["MULTIPOLYGON EMPTY"] * 6


def test_nested_and_empty_parts() -> None:
    # A multipolygon inside a collection keeps both squares (2 m²); an empty polygon part is dropped.
    two = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)])
    gc = shapely.GeometryCollection([two, shapely.LineString([(0, 0), (3, 0)]), shapely.Polygon()])
    out = polygonal_parts([gc])
    assert out[0].geom_type == "MultiPolygon"
    assert len(out[0].geoms) == 2
    assert out[0].area == 2.0
    assert out[0].equals(two)


def test_empty_input() -> None:
    out = polygonal_parts(np.array([], dtype=object))
    assert out.shape == (0,) and out.dtype == object
    assert polygonal_parts([]).shape == (0,)


def _box_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Area of the intersection of axis-aligned boxes given as (xmin, ymin, xmax, ymax) rows."""
    dx = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    dy = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    return dx * dy


def test_area_is_kept_on_random_overlays() -> None:
    # Seeded boxes and L-shapes on an integer grid share many edges and corners, so their intersections
    # include collections; the polygonal part must carry all of the area and nothing else.
    rng = np.random.default_rng(20260501)
    n = 150
    xy = rng.integers(0, 12, (n, 2)).astype(float)
    wh = rng.integers(2, 5, (n, 2)).astype(float)
    boxes = np.c_[xy, xy + wh]
    # L-shape = arm1 ∪ arm2: a 1 m high arm along x and a 1 m wide arm along y, sharing a 1 m² corner
    arm1 = np.c_[xy, xy[:, 0] + wh[:, 0], xy[:, 1] + 1]
    arm2 = np.c_[xy, xy[:, 0] + 1, xy[:, 1] + wh[:, 1]]
    ells = shapely.union(shapely.box(*arm1.T), shapely.box(*arm2.T))
    i, j = shapely.STRtree(ells).query(shapely.box(*boxes.T), predicate="intersects")
    raw = shapely.intersection(shapely.box(*boxes.T)[i], ells[j])
    out = polygonal_parts(raw)
    assert (shapely.get_type_id(raw) == shapely.GeometryType.GEOMETRYCOLLECTION).sum() >= 10
    assert np.isin(shapely.get_type_id(out), (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)).all()
    # inclusion-exclusion over the two arms (their common corner is the 1 m square at xy)
    corner = np.c_[xy, xy + 1]
    expected = (_box_overlap(boxes[i], arm1[j]) + _box_overlap(boxes[i], arm2[j])
                - _box_overlap(boxes[i], corner[j]))
    np.testing.assert_allclose(shapely.area(out), expected, rtol=1e-12, atol=1e-12)


def test_accepts_a_geoseries_array() -> None:
    s = gpd.GeoSeries([shapely.box(0, 0, 1, 1), shapely.GeometryCollection([shapely.box(0, 0, 2, 1), P(7, 7)])])
    out = polygonal_parts(s.values)
    assert list(shapely.area(out)) == [1.0, 2.0]


# ============================================================================== nearest_features
def test_nearest_hand_checked_distances() -> None:
    targets = [P(3, 4), shapely.box(10, 0, 12, 2), shapely.LineString([(0, -6), (10, -6)])]
    geoms = [P(0, 0),            # 5 m to (3, 4) (3-4-5), 6 m to the line, 10 m to the box
             P(11, 1),           # inside the box
             P(5, -9),           # 3 m below the line
             shapely.box(7, 0, 9, 1)]   # 1 m left of the box
    index, distance = nearest_features(geoms, targets)
    assert index.tolist() == [0, 1, 2, 1]
    assert distance.tolist() == [5.0, 0.0, 3.0, 1.0]
    assert index.dtype == np.int64 and distance.dtype == np.float64


def test_nearest_max_distance() -> None:
    targets = [P(3, 4)]
    geoms = [P(0, 0), P(3, 5), P(30, 40)]      # 5 m, 1 m, 45 m
    index, distance = nearest_features(geoms, targets, max_distance=5.0)
    assert index.tolist() == [0, 0, -1]        # exactly 5 m still counts
    assert distance[:2].tolist() == [5.0, 1.0] and np.isnan(distance[2])
    index, distance = nearest_features(geoms, targets, max_distance=4.99)
    assert index.tolist() == [-1, 0, -1]
    # without a limit every geometry has a match
    assert nearest_features(geoms, targets)[1].tolist() == [5.0, 1.0, 45.0]


def test_nearest_empty_inputs_and_missing_geometries() -> None:
    index, distance = nearest_features([], [P(0, 0)])
    assert index.shape == (0,) and distance.shape == (0,)
    index, distance = nearest_features([P(0, 0), P(1, 1)], [])
    assert index.tolist() == [-1, -1] and np.isnan(distance).all()
    index, distance = nearest_features([None, shapely.from_wkt("POINT EMPTY"), P(1, 0)], [P(0, 0)])
    assert index.tolist() == [-1, -1, 0]
    assert np.isnan(distance[:2]).all() and distance[2] == 1.0


def test_nearest_ties_are_broken_deterministically() -> None:
    # (0, 0) is exactly 1 m from both (-1, 0) and (1, 0); the footprint overlaps both squares (0 m).
    targets = np.array([P(-1, 0), P(1, 0), shapely.box(10, 0, 11, 1), shapely.box(11, 0, 12, 1)], dtype=object)
    point, footprint = P(0, 0), shapely.box(10.5, 0.2, 11.5, 0.8)
    index, distance = nearest_features([point, footprint], targets)
    assert distance.tolist() == [1.0, 0.0]
    assert index[0] in (0, 1) and index[1] in (2, 3)
    # the same choice on every call, with a fresh index each time, alone or among other geometries
    for _ in range(5):
        assert nearest_features([point, footprint], targets)[0].tolist() == index.tolist()
    assert nearest_features([footprint], targets)[0].tolist() == [index[1]]
    assert nearest_features([P(50, 50), point, P(-7, 3)], targets)[0][1] == index[0]


def test_nearest_matches_brute_force() -> None:
    rng = np.random.default_rng(20260502)
    lo = rng.uniform(0, 100, (2, 60))
    targets = shapely.box(*lo, *(lo + rng.uniform(1, 5, (2, 60))))
    geoms = shapely.points(rng.uniform(-20, 120, (200, 2)))
    full = shapely.distance(geoms[:, None], targets[None, :])          # independent (200, 60) matrix
    index, distance = nearest_features(geoms, targets)
    np.testing.assert_array_equal(distance, full.min(axis=1))
    np.testing.assert_array_equal(full[np.arange(len(geoms)), index], full.min(axis=1))   # a true argmin
    index_r, distance_r = nearest_features(geoms, targets, max_distance=3.0)
    within = full.min(axis=1) <= 3.0
    assert within.any() and (~within).any()
    np.testing.assert_array_equal(index_r >= 0, within)
    np.testing.assert_array_equal(distance_r[within], distance[within])
    assert np.isnan(distance_r[~within]).all()
