"""The rooftop analysis's fast paths give the answers of the plain computations they replace.

Each fast path (grid point-in-polygon, one spatial index for all exclusion layers, bincount aggregation,
sort-based ranking, hashed yield classes) is checked against the straightforward computation on inputs
built to hit its edge cases: points on shared borders and in overlaps, ties in energy, empty groups.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity
from shapely.geometry import Polygon, box

from sanxian_yidan.rooftop.locate import first_containing
from sanxian_yidan.rooftop.steps import _first_layer_hit, _group_sums, rank_by_energy


def _first_containing_plain(polygons: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    first = np.full(len(x), -1, dtype=np.int64)
    for i in range(len(polygons) - 1, -1, -1):  # lowest index wins: assign it last
        first[shapely.contains_xy(polygons[i], x, y)] = i
    return first


def _polygons() -> np.ndarray:
    holed = Polygon([(20, 0), (40, 0), (40, 20), (20, 20)], [[(25, 5), (35, 5), (35, 15), (25, 15)]])
    wedge = Polygon([(0, 20), (20, 40), (0, 40)])
    return np.array([box(0, 0, 10, 10), box(10, 0, 20, 10),      # shared border x = 10
                     box(5, 5, 15, 15),                           # overlaps both: lower index keeps the point
                     holed, wedge], dtype=object)


def test_first_containing_hand_checked_points() -> None:
    x = np.array([5.0, 10.0, 12.0, 7.0, 30.0, 22.0, 2.0, 50.0, 17.0])
    y = np.array([5.0, 5.0, 5.0, 12.0, 10.0, 2.0, 35.0, 50.0, 12.0])
    # (5,5): on square 2's corner, inside square 0 -> 0; (10,5): on the shared border -> none;
    # (12,5): square 1 and square 2 -> 1; (7,12): only square 2; (30,10): in the hole -> none;
    # (22,2): ring of the holed polygon -> 3; (2,35): wedge; (50,50): outside; (17,12): none (square 2 ends at 15)
    assert first_containing(_polygons(), x, y).tolist() == [0, -1, 1, 2, -1, 3, 4, -1, -1]


def test_first_containing_matches_per_point_test_on_many_points() -> None:
    rng = np.random.default_rng(7)
    polygons = _polygons()
    # Random points, plus points exactly on every polygon vertex and on grid lines of the polygons.
    x = np.concatenate([rng.uniform(-5, 45, 30_000), np.repeat(np.arange(0.0, 41.0, 5.0), 9)])
    y = np.concatenate([rng.uniform(-5, 45, 30_000), np.tile(np.arange(0.0, 41.0, 5.0), 9)])
    expected = _first_containing_plain(polygons, x, y)
    got = first_containing(polygons, x, y)
    np.testing.assert_array_equal(got, expected)
    assert set(np.unique(got)) == {-1, 0, 1, 2, 3, 4}


def test_first_containing_degenerate_inputs() -> None:
    polygons = _polygons()
    assert first_containing(polygons, np.array([]), np.array([])).tolist() == []
    assert first_containing(np.array([], dtype=object), np.array([1.0]), np.array([1.0])).tolist() == [-1]
    x = np.array([5.0, np.nan, 12.0, np.inf])
    assert first_containing(polygons, x, np.array([5.0, 5.0, np.nan, 5.0])).tolist() == [0, -1, -1, -1]
    # All points at one place: a grid of one cell
    assert first_containing(polygons, np.full(100, 3.0), np.full(100, 3.0)).tolist() == [0] * 100


def test_first_layer_hit_is_the_first_layer_in_order() -> None:
    crs = "EPSG:4547"
    a = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs=crs)
    b = gpd.GeoDataFrame(geometry=[box(5, 0, 20, 10), box(100, 100, 101, 101)], crs=crs)
    footprints = np.array([box(1, 1, 2, 2), box(8, 1, 9, 2), box(15, 1, 16, 2), box(10, 20, 11, 21),
                           box(10, 10, 11, 11)], dtype=object)   # the last touches a's corner: intersects
    assert _first_layer_hit(footprints, [a, b]).tolist() == [0, 0, 1, 2, 0]
    assert _first_layer_hit(footprints, [b, a]).tolist() == [1, 0, 0, 2, 0]
    assert _first_layer_hit(footprints, []).tolist() == [0] * 5


def _rank_plain(annual: np.ndarray, capacity: np.ndarray, included: np.ndarray) -> np.ndarray:
    eligible = included & (capacity > 0)
    order = np.lexsort((np.arange(len(annual)), -capacity, -annual))
    order = order[eligible[order]]
    rank = np.zeros(len(annual), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def test_rank_ties_larger_capacity_then_input_order() -> None:
    annual = np.array([100.0, 200.0, 100.0, 100.0, 50.0, 300.0])
    capacity = np.array([1.0, 2.0, 3.0, 1.0, 0.0, 4.0])
    included = np.array([True, True, True, True, True, False])
    # 200 first; the three 100s: capacity 3 first, then rows 0 and 3 in input order; row 4 has no capacity
    assert rank_by_energy(annual, capacity, included).tolist() == [3, 1, 2, 4, 0, 0]


@pytest.mark.parametrize("ties", [False, True])
def test_rank_matches_lexsort(ties: bool) -> None:
    rng = np.random.default_rng(3)
    n = 5_000
    annual = rng.integers(0, 50, n).astype(float) if ties else rng.uniform(0, 1e4, n)
    capacity = rng.integers(0, 5, n).astype(float)
    included = rng.random(n) < 0.9
    np.testing.assert_array_equal(rank_by_energy(annual, capacity, included), _rank_plain(annual, capacity, included))


def test_group_sums_match_pandas_groupby() -> None:
    rng = np.random.default_rng(11)
    n = 20_000
    county = pd.Categorical.from_codes(rng.integers(0, 3, n), categories=["乙县", "丙县", "甲县"])
    # Category "unused" never occurs: no row for it (observed groups only)
    town = pd.Categorical.from_codes(rng.integers(0, 3, n), categories=["a", "b", "c", "unused"])
    columns = {"n_buildings": np.ones(n, dtype=np.int64), "n_included": rng.integers(0, 2, n),
               "capacity_kwp": rng.uniform(0, 100, n), "synthetic": rng.random(n) < 0.001}
    names = ["n_buildings", "n_included", "capacity_kwp", "synthetic"]
    sizes = {"county": 3, "town": 4}
    got = _group_sums({"county": county.codes, "town": town.codes}, sizes, columns, names)
    frame = pd.DataFrame({"county": county, "town": town, **columns})
    grouped = frame.groupby(["county", "town"], observed=True, sort=True)
    want = grouped[names].sum().reset_index()
    assert len(got["county"]) == len(want) == 9
    assert list(county.categories[got["county"]]) == want["county"].astype(str).tolist()
    assert list(town.categories[got["town"]]) == want["town"].astype(str).tolist()
    for name in names:
        np.testing.assert_allclose(got[name], want[name].astype(float), rtol=1e-12)
    assert got["n_buildings"].sum() == n
    # Summed again over fewer keys: the per-county sums
    again = _group_sums({"county": got["county"]}, sizes, got, names)
    by_county = frame.groupby("county", observed=True, sort=True)[names].sum()
    np.testing.assert_allclose(again["capacity_kwp"], by_county["capacity_kwp"], rtol=1e-12)
    np.testing.assert_array_equal(again["n_included"], by_county["n_included"])


@pytest.mark.parametrize("share", [0.1, 0.9])
def test_ridge_bearing_of_some_rows_equals_that_of_those_footprints(share: float) -> None:
    from sanxian_yidan.rooftop.orientation import _ridge_bearing

    rng = np.random.default_rng(2)
    n = 400
    x0, y0 = rng.uniform(4e5, 4.1e5, n), rng.uniform(3.5e6, 3.51e6, n)
    theta = rng.uniform(0, np.pi, n)
    w, h = rng.uniform(8, 30, n), rng.uniform(5, 12, n)
    rects = [shapely.affinity.rotate(box(x - a / 2, y - b / 2, x + a / 2, y + b / 2), t, use_radians=True)
             for x, y, a, b, t in zip(x0, y0, w, h, theta)]
    rects[3] = box(0, 0, 10, 10).difference(box(2, 2, 3, 3))      # holed: the GEOS path
    rects[5] = Polygon([(0, 0), (20, 0), (20, 6), (6, 6), (6, 15), (0, 15)])   # concave: the GEOS path
    geoms = np.array(rects, dtype=object)
    rows = np.flatnonzero(rng.random(n) < share)
    rows = np.union1d(rows, [3, 5])
    np.testing.assert_array_equal(_ridge_bearing(geoms, rows), _ridge_bearing(geoms[rows]))
    # the long side of each rotated rectangle: its rotation, or 90 degrees off it when h > w
    plain = np.setdiff1d(rows, [3, 5])
    want = np.degrees(np.where(w >= h, theta, theta + np.pi / 2))[plain]
    got = _ridge_bearing(geoms, plain)
    diff = np.abs((90 - got) % 180 - want % 180)                       # bearing from north vs angle from east
    assert np.minimum(diff, 180 - diff).max() < 1e-6
    # The vertices normalising extracted (shared instead of a second pass) give the same bearings.
    from sanxian_yidan.normalize import polygon_rings

    rings = polygon_rings(geoms)
    np.testing.assert_array_equal(rings.simple, [g.geom_type == "Polygon" and not g.interiors for g in rects])
    np.testing.assert_array_equal(_ridge_bearing(geoms, rows, rings), _ridge_bearing(geoms, rows))
    kept = np.ones(n, dtype=bool)
    kept[[0, 7]] = False                                                # e.g. zero-area footprints dropped
    sub = np.flatnonzero(rng.random(n - 2) < share)
    np.testing.assert_array_equal(_ridge_bearing(geoms[kept], sub, rings.take(kept)),
                                  _ridge_bearing(geoms[kept], sub))


def _mixed_geometries() -> np.ndarray:
    rng = np.random.default_rng(7)
    rects = [shapely.affinity.rotate(box(x, y, x + w, y + 0.6 * w), a, origin="centroid")
             for x, y, w, a in zip(rng.uniform(0, 1e5, 300), rng.uniform(3e6, 3.1e6, 300), rng.uniform(5, 40, 300),
                                   rng.uniform(-45, 45, 300))]
    odd = shapely.from_wkt([
        "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 3 2, 3 3, 2 2))",   # a hole
        "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))", "POLYGON EMPTY", "POLYGON Z ((0 0 1, 1 0 1, 1 1 1, 0 0 1))",
        "POINT (1 2)", "POLYGON ((0 0, 1 0, 1 1, 0 1, 0.5 0.5, 0 0))"])
    # Several vertex counts interleaved (buffered rectangles), odd ones and a missing geometry in between.
    return np.array([*rects[:100], *odd, None, *shapely.buffer(np.array(rects[100:150], dtype=object), 1.5),
                     *rects[150:]], dtype=object)


@pytest.mark.parametrize("which", ["footprints", "mixed", "odd only", "missing only"])
def test_wkb_array_is_byte_for_byte_shapely_to_wkb(which: str) -> None:
    import pyarrow as pa

    from sanxian_yidan.rooftop.output import wkb_array

    geoms = _mixed_geometries()
    geoms = {"footprints": geoms[:100], "mixed": geoms, "odd only": geoms[100:106],
             "missing only": np.array([None, None], dtype=object)}[which]
    expected = pa.array(shapely.to_wkb(geoms), type=pa.binary())
    assert wkb_array(geoms).equals(expected)


@pytest.mark.parametrize("which", ["footprints", "mixed"])
def test_wkb_array_in_several_blocks(which: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from sanxian_yidan.rooftop import output

    monkeypatch.setattr(output, "_WKB_BLOCK", 7)  # many blocks per vertex count, a short last one
    geoms = _mixed_geometries()
    geoms = geoms[:100] if which == "footprints" else geoms
    assert output.wkb_array(geoms).equals(pa.array(shapely.to_wkb(geoms), type=pa.binary()))


def test_geoparquet_bbox_and_types_match_geos() -> None:
    import json

    from sanxian_yidan.rooftop.output import geoparquet_table

    geoms = _mixed_geometries()
    layer = gpd.GeoDataFrame({"n": np.arange(len(geoms))}, geometry=gpd.GeoSeries(geoms), crs="EPSG:4547")
    column = json.loads(geoparquet_table(layer).schema.metadata[b"geo"])["columns"]["geometry"]
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    assert column["bbox"] == [float(v) for v in shapely.total_bounds(geoms[present])]
    assert column["geometry_types"] == ["MultiPolygon", "Point", "Polygon"]


def test_centres_and_extent_from_one_bounds_pass() -> None:
    """The bounding-box centres and the layer extent (yield site) equal bbox_centres and GeoSeries.total_bounds,
    also with a missing geometry (NaN bounds, skipped) and for an empty layer."""
    from sanxian_yidan.rooftop.steps import bbox_centres, centres_and_extent, yield_site

    geoms = np.array([box(10, 20, 14, 30), None, box(-5, 2, 1, 3), Polygon([(0, 0), (8, 0), (3, 9)])], dtype=object)
    (x, y), extent = centres_and_extent(geoms)
    np.testing.assert_array_equal(x, [12.0, np.nan, -2.0, 4.0])           # (xmin + xmax) / 2, by hand
    np.testing.assert_array_equal(y, [25.0, np.nan, 2.5, 4.5])
    np.testing.assert_array_equal(extent, [-5.0, 0.0, 14.0, 30.0])
    np.testing.assert_array_equal(extent, gpd.GeoSeries(geoms).total_bounds)
    for got, want in zip((x, y), bbox_centres(geoms)):
        np.testing.assert_array_equal(got, want)
    assert np.isnan(centres_and_extent(np.array([], dtype=object))[1]).all()
    gdf = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, crs="EPSG:4547"))
    assert yield_site(gdf, None, None, extent) == yield_site(gdf, None, None)


def test_polygon_rings_with_counts_and_types_given_match_its_own_passes() -> None:
    """normalising hands its vertex counts and geometry types to polygon_rings: the same rings either way."""
    from sanxian_yidan.normalize import polygon_rings

    geoms = _mixed_geometries()
    own = polygon_rings(geoms)
    given = polygon_rings(geoms, shapely.get_type_id(geoms), shapely.get_num_coordinates(geoms))
    for name in ("simple", "coords", "starts", "counts"):
        np.testing.assert_array_equal(getattr(given, name), getattr(own, name))
    rects = np.array([box(0, 0, 2, 1), box(5, 5, 6, 8)], dtype=object)      # every geometry simple: no gather
    rings = polygon_rings(rects, np.array([3, 3]), np.array([5, 5]))
    np.testing.assert_array_equal(rings.starts, [0, 5])
    np.testing.assert_array_equal(rings.coords[5:7], [[6, 5], [6, 8]])


def test_classify_attribute_first_column_tables_match_the_row_by_row_path() -> None:
    """The first column present is classified from per-value tables; hand-checked codes, originals and status,
    and the same answer through the row-by-row path (the same values behind an all-missing first column)."""
    from sanxian_yidan.rooftop.steps import STATUS_MAPPED, STATUS_MISSING, STATUS_UNMAPPED, classify_attribute

    mapping = {"住宅": "res", "factory": "ind"}
    values = ["住宅", " Factory", "无", None, "barn", "住宅", "barn"]
    frame = pd.DataFrame({"use": values, "first": ["factory"] + [None] * (len(values) - 1)})
    got = classify_attribute(frame, ["use"], mapping, frozenset({"无"}), ["res", "ind"], None)
    np.testing.assert_array_equal(got.codes, [0, 1, -1, -1, -1, 0, -1])
    assert [None if c < 0 else got.raw_values[c] for c in got.raw_codes] == ["住宅", " Factory", None, None, "barn",
                                                                             "住宅", "barn"]
    np.testing.assert_array_equal(got.status, [STATUS_MAPPED, STATUS_MAPPED, STATUS_MISSING, STATUS_MISSING,
                                               STATUS_UNMAPPED, STATUS_MAPPED, STATUS_UNMAPPED])
    assert got.unmapped_values == {"barn": 2} and got.status.dtype == np.int8 and got.codes.dtype == np.int64
    # Row 0 decided by the first column ("factory"): the other rows take the row-by-row path through "use".
    general = classify_attribute(frame, ["first", "use"], mapping, frozenset({"无"}), ["res", "ind"], "res")
    np.testing.assert_array_equal(general.codes, [1, 1, 0, 0, 0, 0, 0])                 # default "res" filled in
    assert [None if c < 0 else general.raw_values[c] for c in general.raw_codes] == [
        "factory", " Factory", None, None, "barn", "住宅", "barn"]
    np.testing.assert_array_equal(general.status, got.status)
    assert general.unmapped_values == {"barn": 2}


@pytest.mark.parametrize("values, shared", [
    (["住宅", "barn", None, "住宅"], True),     # one column, no "missing" word: its own array is the answer
    (["住宅", "无", None, "barn"], False),      # "无" is a missing word: it becomes NaN, so the labels are gathered
])
def test_raw_value_labels_share_the_column_only_when_it_is_the_answer(values: list, shared: bool) -> None:
    """``use_value`` equals the labels gathered from the codes, shares the input's Arrow buffers when it can,
    and never aliases the input column (editing one leaves the other as it was)."""
    from sanxian_yidan.rooftop.steps import classify_attribute, code_labels, raw_value_labels

    frame = pd.DataFrame({"use": pd.array(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))})
    got = classify_attribute(frame, ["use"], {"住宅": "res"}, frozenset({"无"}), ["res"], "res")
    labels = raw_value_labels(frame, got)
    expected = code_labels(got.raw_codes, got.raw_values)
    pd.testing.assert_extension_array_equal(labels, expected)
    assert (labels._pa_array is frame["use"].array._pa_array) is shared
    assert labels is not frame["use"].array
    if shared:
        labels[0] = "edited"
        assert frame["use"].iloc[0] == "住宅"
    two = pd.DataFrame({"use": frame["use"], "用途": frame["use"]})
    assert classify_attribute(two, ["use", "用途"], {"住宅": "res"}, frozenset({"无"}), ["res"], "res").raw_column is None


def test_decoded_footprints_skip_the_z_check_and_others_keep_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Footprints decoded from 2-D WKB are known to have no Z (no pass over them); a layer with Z is still
    flattened and the repair recorded."""
    import pyarrow as pa

    from sanxian_yidan import normalize, vertices
    from sanxian_yidan.io.wkb import decode

    flat = [box(0, 0, 10, 5), box(20, 0, 26, 9)]
    geoms, rings = decode(pa.array(shapely.to_wkb(np.array(flat, dtype=object))))
    assert rings is not None and rings.planar
    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=list(geoms), crs="EPSG:4547")
    vertices.remember(frame.geometry.values, np.asarray(frame.geometry.values), rings)
    calls: list[int] = []
    real = normalize._drop_z
    monkeypatch.setattr(normalize, "_drop_z", lambda gdf, repairs: calls.append(len(gdf)) or real(gdf, repairs))
    out, kept = normalize.normalise_with_rings(frame, "EPSG:4547", expected="polygon")
    assert calls == [] and kept is not None and kept.planar
    assert shapely.equals(np.asarray(out.geometry.values), np.asarray(flat, dtype=object)).all()
    with_z = gpd.GeoDataFrame({"n": [1]}, geometry=[Polygon([(0, 0, 3), (4, 0, 3), (4, 4, 3), (0, 0, 3)])],
                              crs="EPSG:4547")
    flattened = normalize.normalise(with_z, "EPSG:4547", expected="polygon")
    assert calls == [1] and not shapely.has_z(flattened.geometry.values).any()
    assert [r.kind for r in flattened.attrs["sanxian"]["repairs"]] == ["z_dropped"]
