"""normalise(): working CRS, repairs recorded, areas preserved (checked against geodesic areas)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon, box

from sanxian_yidan.errors import InputFileError
from sanxian_yidan.normalize import normalise

BOWTIE = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])  # two triangles of 25 m² each


def _frame(geoms, crs="EPSG:4547") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": range(len(geoms))}, geometry=geoms, crs=crs)


def test_self_intersecting_polygon_is_repaired_and_reported() -> None:
    src = _frame([box(0, 0, 1, 1), BOWTIE])
    out = normalise(src, "EPSG:4547")
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[1].area == pytest.approx(50.0)
    repairs = {r.kind: r for r in out.attrs["sanxian"]["repairs"]}
    assert repairs["invalid_geometry"].feature_ids == (1,)
    assert "Self-intersection" in repairs["invalid_geometry"].detail
    assert not src.geometry.iloc[1].is_valid  # caller's data untouched


def test_empty_and_null_geometries_are_dropped_and_named() -> None:
    out = normalise(_frame([box(0, 0, 1, 1), Polygon(), None]), "EPSG:4547")
    assert len(out) == 1
    (rep,) = [r for r in out.attrs["sanxian"]["repairs"] if r.kind == "empty_geometry"]
    assert rep.feature_ids == (1, 2)


def test_z_is_dropped() -> None:
    out = normalise(_frame([Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5), (0, 0, 5)])]), "EPSG:4547")
    assert not shapely.has_z(out.geometry.values).any()
    assert any(r.kind == "z_dropped" for r in out.attrs["sanxian"]["repairs"])


def test_mixed_geometry_types_are_refused_with_rows() -> None:
    with pytest.raises(InputFileError, match="mixes geometry types"):
        normalise(_frame([box(0, 0, 1, 1), Point(0, 0), box(2, 2, 3, 3)]), "EPSG:4547", file="x.shp")


def test_wrong_family_for_role_is_refused() -> None:
    with pytest.raises(InputFileError, match="Expected polygon"):
        normalise(_frame([LineString([(0, 0), (1, 1)])]), "EPSG:4547", expected="polygon")


def test_reprojected_area_matches_geodesic_area() -> None:
    # A 0.05° x 0.05° cell near Suizhou; GK CM 114E scale error there is < 1e-4.
    cell = box(113.30, 31.65, 113.35, 31.70)
    out = normalise(_frame([cell], crs="EPSG:4326"), "EPSG:4547")
    geodesic = abs(Geod(ellps="GRS80").geometry_area_perimeter(cell)[0])
    assert out.geometry.iloc[0].area == pytest.approx(geodesic, rel=5e-4)
    assert out.crs.to_epsg() == 4547


def test_sliver_parts_from_repair_are_dropped() -> None:
    # A polygon with a zero-width spike: make_valid yields polygon + line; the line is dropped.
    spiky = Polygon([(0, 0), (4, 0), (4, 4), (2, 4), (2, 8), (2, 4), (0, 4), (0, 0)])
    out = normalise(_frame([spiky]), "EPSG:4547", expected="polygon")
    assert out.geometry.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    assert out.geometry.iloc[0].area == pytest.approx(16.0)


def _string_families(gdf: gpd.GeoDataFrame) -> list[str]:
    """The former per-feature classification (geometry type strings through a dict), as the oracle."""
    from sanxian_yidan.normalize import _FAMILY_OF_TYPE

    return [_FAMILY_OF_TYPE.get(t, "collection") for t in gdf.geometry.geom_type.to_numpy()]


def _mixed_geometries(rng: np.random.Generator, n: int) -> list:
    from shapely.geometry import (
        GeometryCollection,
        LinearRing,
        MultiLineString,
        MultiPoint,
        MultiPolygon,
    )

    kinds = [Point(0, 0), LineString([(0, 0), (1, 1)]), LinearRing([(0, 0), (1, 0), (1, 1)]), box(0, 0, 1, 1),
             MultiPoint([(0, 0), (1, 1)]), MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3)]]),
             MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]), GeometryCollection([Point(0, 0), box(0, 0, 1, 1)]),
             None]
    return [kinds[i] for i in rng.integers(0, len(kinds), n)]


def test_vectorised_family_classification_matches_the_type_names() -> None:
    from sanxian_yidan.normalize import _FAMILIES, _dominant_family, _family_codes

    rng = np.random.default_rng(20261124)
    frame = _frame(_mixed_geometries(rng, 2000))
    codes = _family_codes(frame)
    assert [_FAMILIES[c] for c in codes] == _string_families(frame)
    # the most frequent family wins; collections and missing geometries do not count
    for geoms, expected in (([box(0, 0, 1, 1)] * 3 + [Point(0, 0)], "polygon"),
                            ([LineString([(0, 0), (1, 1)])] * 2 + [box(0, 0, 1, 1), None], "line"),
                            ([shapely.GeometryCollection([Point(0, 0)]), None], "polygon")):
        assert _dominant_family(_frame(geoms)) == expected


def test_mixed_families_message_counts_and_rows_unchanged() -> None:
    geoms = [box(0, 0, 1, 1), Point(0, 0), box(2, 2, 3, 3), LineString([(0, 0), (1, 1)]), Point(5, 5), Point(6, 6),
             shapely.GeometryCollection([Point(0, 0)])]
    with pytest.raises(InputFileError, match=r"mixes geometry types \{'line': 1, 'point': 3, 'polygon': 2\}; "
                                             r"e\.g\. line features at rows \[3\]"):
        normalise(_frame(geoms), "EPSG:4547", file="x.shp")


def test_strictly_convex_polygons_only_vouches_for_valid_rings() -> None:
    from sanxian_yidan.normalize import strictly_convex_polygons

    star = Polygon([(0, 0), (2, 6), (4, 0), (-1, 4), (5, 4)])             # all turns one way, but twice round
    shapes = {
        "square": (box(0, 0, 1, 1), True),
        "triangle": (Polygon([(0, 0), (1, 0), (0, 1)]), True),
        "hexagon": (Polygon([(0, 0), (2, 0), (3, 1), (2, 2), (0, 2), (-1, 1)]), True),
        "pentagram": (star, False),
        "concave": (Polygon([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2)]), False),
        "collinear vertex": (Polygon([(0, 0), (1, 0), (2, 0), (1, 1)]), False),
        "bowtie": (Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), False),
        "hole": (box(0, 0, 10, 10).difference(box(2, 2, 3, 3)), False),
        "repeated vertex": (Polygon([(0, 0), (1, 0), (1, 0), (1, 1), (0, 1)]), False),
        "multipart": (shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]), False),
        "missing": (None, False),
    }
    geoms = np.array([g for g, _ in shapes.values()], dtype=object)
    got = strictly_convex_polygons(geoms)
    assert dict(zip(shapes, got.tolist())) == {name: want for name, (_, want) in shapes.items()}
    assert shapely.is_valid(geoms[got]).all()        # the pentagram and the bowtie are invalid for GEOS too
    assert not shapely.is_valid(star)
    # Random convex rings of 3..16 vertices (convex hulls of random points): all vouched for, all valid
    rng = np.random.default_rng(5)
    hulls = np.array([shapely.convex_hull(shapely.multipoints(rng.uniform(4e5, 4e5 + 30, (k, 2))))
                      for k in rng.integers(3, 17, 300)], dtype=object)
    hulls = hulls[shapely.get_type_id(hulls) == 3]
    assert strictly_convex_polygons(hulls).all() and shapely.is_valid(hulls).all()


def test_normalise_repairs_the_same_features_with_the_convex_fast_path() -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    gdf = gpd.GeoDataFrame({"i": [0, 1, 2]}, geometry=[box(0, 0, 5, 5), bowtie, box(20, 0, 30, 4)], crs="EPSG:4547")
    out = normalise(gdf, "EPSG:4547")
    repairs = {r.kind: r for r in out.attrs["sanxian"]["repairs"]}
    assert repairs["invalid_geometry"].count == 1 and repairs["invalid_geometry"].feature_ids == (1,)
    assert out.geometry.is_valid.all() and out.geometry.area.tolist() == [25.0, 50.0, 40.0]


def test_rings_are_handed_on_only_while_the_geometries_are_those_extracted() -> None:
    """normalise_with_rings: the vertices of the single-ring polygons, row for row; none after a repair or a
    reprojection (the vertices would no longer be the frame's)."""
    from sanxian_yidan.normalize import normalise_with_rings

    holed = box(0, 0, 10, 10).difference(box(2, 2, 3, 3))
    geoms = [box(0, 0, 2, 1), None, holed, Polygon([(5, 5), (9, 5), (7, 8)])]
    out, rings = normalise_with_rings(_frame(geoms), "EPSG:4547", expected="polygon")
    assert rings is not None and len(out) == 3                            # the missing one dropped
    np.testing.assert_array_equal(rings.simple, [True, False, True])
    np.testing.assert_array_equal(rings.counts, [5, 0, 4])
    for row in (0, 2):
        start, count = rings.starts[row], rings.counts[row]
        np.testing.assert_array_equal(rings.coords[start:start + count],
                                      shapely.get_coordinates(out.geometry.iloc[row]))
    assert normalise_with_rings(_frame([box(0, 0, 1, 1), BOWTIE]), "EPSG:4547")[1] is None     # repaired
    assert normalise_with_rings(_frame([box(113.3, 31.7, 113.301, 31.701)], crs="EPSG:4326"),
                                "EPSG:4547")[1] is None                                       # reprojected
