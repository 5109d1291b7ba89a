"""The reader's WKB decoding gives the geometries shapely.from_wkb gives, and the footprints' vertices with them."""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely
from shapely.errors import GEOSException

from sanxian_yidan import vertices
from sanxian_yidan.io.vector import read_vector
from sanxian_yidan.io.wkb import decode
from sanxian_yidan.normalize import polygon_rings


def _footprints(n: int = 40, seed: int = 3) -> np.ndarray:
    """Single-ring polygons of 4 to 9 distinct corners (closed rings of 5 to 10 vertices), concave ones too."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = 4 + i % 6
        angle = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = rng.uniform(5, 20, k)
        out.append(shapely.Polygon(np.c_[500_000 + 100 * i + radius * np.cos(angle),
                                         3_500_000 + radius * np.sin(angle)]))
    return np.array(out, dtype=object)


def _polygon_wkb(ring: list[tuple[float, float]]) -> bytes:
    """Little-endian WKB of a one-ring polygon, written by hand (shapely will not build some of these)."""
    return b"\x01" + struct.pack("<III", 3, 1, len(ring)) + b"".join(struct.pack("<dd", x, y) for x, y in ring)


def _odd_ones() -> list:
    """Every kind of record the numpy decoding leaves to GEOS, each as WKB bytes (None: missing)."""
    ring = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]
    big_endian = (b"\x00" + struct.pack(">III", 3, 1, 5)
                  + b"".join(struct.pack(">dd", x, y) for x, y in ring))
    return [shapely.to_wkb(shapely.Polygon(ring, [[(2, 2), (4, 2), (4, 4), (2, 2)]])),       # a hole
            shapely.to_wkb(shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])),
            shapely.to_wkb(shapely.Point(1, 2)),
            shapely.to_wkb(shapely.Polygon()),                                                 # empty
            shapely.to_wkb(shapely.Polygon([(x, y, 7.0) for x, y in ring])),                   # Z
            _polygon_wkb([(0, 0), (np.nan, 1), (1, 1), (0, 0)]),                               # NaN vertex
            big_endian,
            None]


def _expected(values: list) -> np.ndarray:
    return shapely.from_wkb(np.array(values, dtype=object))


def _same_geometries(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == object and len(got) == len(want)
    missing = np.array([g is None for g in want])
    assert [g is None for g in got] == missing.tolist()
    a, b = got[~missing], want[~missing]
    assert (shapely.get_type_id(a) == shapely.get_type_id(b)).all()
    assert (shapely.has_z(a) == shapely.has_z(b)).all()
    assert all(np.array_equal(shapely.get_coordinates(x, include_z=True), shapely.get_coordinates(y, include_z=True),
                              equal_nan=True) for x, y in zip(a, b))


def test_footprints_decode_to_the_same_polygons_with_their_vertices() -> None:
    values = shapely.to_wkb(_footprints()).tolist()
    geoms, rings = decode(pa.array(values, type=pa.binary()))
    _same_geometries(geoms, _expected(values))
    independent = polygon_rings(_expected(values))
    assert rings is not None and rings.simple.all()
    for field in ("coords", "starts", "counts"):
        assert np.array_equal(getattr(rings, field), getattr(independent, field))
    assert sorted(set(rings.counts.tolist())) == [5, 6, 7, 8, 9, 10]


def test_every_other_record_is_decoded_by_geos_in_its_place() -> None:
    simple = shapely.to_wkb(_footprints(12)).tolist()
    values = [v for pair in zip(simple, _odd_ones() + [simple[0]] * 3) for v in pair]  # interleaved
    geoms, rings = decode(pa.array(values, type=pa.binary()))
    _same_geometries(geoms, _expected(values))
    assert rings is None  # not every row a single-ring polygon: the caller extracts what it needs


@pytest.mark.parametrize("layout", ["large_binary", "chunked", "sliced"])
def test_arrow_layouts_decode_alike(layout: str) -> None:
    values = shapely.to_wkb(_footprints(30)).tolist() + _odd_ones()
    if layout == "large_binary":
        column, want = pa.array(values, type=pa.large_binary()), values
    elif layout == "chunked":
        column, want = pa.chunked_array([pa.array(values[:7], pa.binary()), pa.array(values[7:], pa.binary())]), values
    else:
        column, want = pa.array(values, type=pa.binary()).slice(5, 20), values[5:25]
    geoms, _ = decode(column)
    _same_geometries(geoms, _expected(want))


def test_an_unclosed_ring_gets_geos_error_as_before() -> None:
    # The second: its first and last vertices are NaN, which GEOS does not take for a closed ring either.
    for unclosed in (_polygon_wkb([(0, 0), (1, 0), (1, 1), (0, 1)]), _polygon_wkb([(np.nan, 0), (1, 0), (1, 1), (np.nan, 0)])):
        with pytest.raises(GEOSException, match="closed"):
            shapely.from_wkb(unclosed)
        with pytest.raises(GEOSException, match="closed"):
            decode(pa.array([shapely.to_wkb(shapely.box(0, 0, 1, 1)), unclosed], type=pa.binary()))


def test_read_vector_gives_pyogrios_frame_and_hands_on_the_vertices(tmp_path: Path) -> None:
    geoms = _footprints(60)
    frame = gpd.GeoDataFrame({"use": ["住宅", None, "工业"] * 20, "floors": np.arange(60),
                              "area": np.linspace(1, 2, 60), "flag": [True, False] * 30},
                             geometry=geoms, crs="EPSG:4547")
    path = tmp_path / "buildings.gpkg"
    frame.to_file(path, layer="buildings")
    got = read_vector(path, layer="buildings")
    want = pyogrio.read_dataframe(path, layer="buildings", use_arrow=True)
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(want.drop(columns="geometry")))
    assert got.crs == want.crs and list(got.columns) == list(want.columns)
    _same_geometries(np.asarray(got.geometry.values), np.asarray(want.geometry.values))
    handed = vertices.take(np.asarray(got.geometry.values))
    assert handed is not None
    assert np.array_equal(handed.coords, polygon_rings(np.asarray(want.geometry.values)).coords)


def test_layers_with_dates_are_read_by_pyogrio_alike(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"surveyed": pd.to_datetime(["2023-05-01 10:00", "2024-01-02 08:30"]),
                              "name": ["甲", "乙"]}, geometry=list(_footprints(2)), crs="EPSG:4547")
    path = tmp_path / "dated.gpkg"
    frame.to_file(path)
    got = read_vector(path)
    want = pyogrio.read_dataframe(path, use_arrow=True, arrow_to_pandas_kwargs={"date_as_object": False})
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(want.drop(columns="geometry")))
    assert got["surveyed"].dt.year.tolist() == [2023, 2024]


def test_a_pyogrio_that_does_not_describe_field_types_reads_the_layer_itself(tmp_path: Path, monkeypatch) -> None:
    import contextlib

    import pyogrio.raw

    path = tmp_path / "buildings.gpkg"
    gpd.GeoDataFrame({"use": ["住宅", "工业"]}, geometry=list(_footprints(2)), crs="EPSG:4547").to_file(path)
    real_open, calls = pyogrio.raw.open_arrow, []

    @contextlib.contextmanager
    def older_open_arrow(*args, **kwargs):
        # pyogrio's own read_arrow (behind read_dataframe) passes batch_size and gets the real description.
        with real_open(*args, **kwargs) as (meta, reader):
            yield ({k: v for k, v in meta.items() if k not in ("ogr_types", "ogr_subtypes")}
                   if "batch_size" not in kwargs else meta), reader

    real_frame = pyogrio.read_dataframe
    monkeypatch.setattr(pyogrio.raw, "open_arrow", older_open_arrow)
    monkeypatch.setattr(pyogrio, "read_dataframe", lambda *a, **k: calls.append(k.get("use_arrow")) or real_frame(*a, **k))
    got = read_vector(path, use_arrow=True)
    assert calls == [True] and got["use"].tolist() == ["住宅", "工业"]
