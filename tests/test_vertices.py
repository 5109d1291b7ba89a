"""The footprint vertices the reader extracted are handed to the analysis only for the very same geometries."""

from __future__ import annotations

import gc
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from sanxian_yidan import vertices
from sanxian_yidan.io.vector import read_vector
from sanxian_yidan.normalize import normalise_with_rings, polygon_rings


def _footprints(tmp_path: Path, n: int = 50) -> Path:
    rng = np.random.default_rng(7)
    x = 500_000 + rng.uniform(0, 5_000, n)
    y = 3_500_000 + rng.uniform(0, 5_000, n)
    geoms = shapely.box(x, y, x + rng.uniform(5, 30, n), y + rng.uniform(5, 30, n))
    path = tmp_path / "footprints.gpkg"
    gpd.GeoDataFrame({"bid": np.arange(n)}, geometry=geoms, crs="EPSG:4547").to_file(path, layer="buildings")
    return path


def _same(a: object, b: object) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("simple", "coords", "starts", "counts"))


def test_a_copy_of_the_frame_read_finds_the_readers_vertices(tmp_path: Path) -> None:
    gdf = read_vector(_footprints(tmp_path), layer="buildings")
    copy = gdf.copy()
    found = vertices.take(np.asarray(copy.geometry.values))
    assert found is not None
    assert _same(found, polygon_rings(np.asarray(gdf.geometry.values)))  # independent extraction
    assert found.coords.shape == (50 * 5, 2)                             # five vertices a closed box
    assert vertices.take(np.asarray(gdf.geometry.values)) is None         # taken once, no longer held


def test_replaced_reordered_or_filtered_geometries_extract_anew(tmp_path: Path) -> None:
    gdf = read_vector(_footprints(tmp_path), layer="buildings")
    edited = gdf.copy()
    edited.loc[3, "geometry"] = shapely.box(0, 0, 1, 1)
    assert vertices.take(np.asarray(edited.geometry.values)) is None
    assert vertices.take(np.asarray(gdf.geometry.values)[::-1]) is None
    assert vertices.take(np.asarray(gdf.geometry.values)[1:]) is None
    gdf.geometry.values[0] = shapely.box(0, 0, 2, 2)                     # edited in place
    assert vertices.take(np.asarray(gdf.geometry.values)) is None


def test_normalising_gives_the_same_rings_with_or_without_the_readers(tmp_path: Path) -> None:
    gdf = read_vector(_footprints(tmp_path), layer="buildings")
    _, handed = normalise_with_rings(gdf, "EPSG:4547", expected="polygon")
    assert vertices.take(np.asarray(gdf.geometry.values)) is None         # normalising took them
    plain = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=shapely.from_wkb(shapely.to_wkb(gdf.geometry.values)),
                             crs=gdf.crs)
    assert vertices.take(np.asarray(plain.geometry.values)) is None
    _, extracted = normalise_with_rings(plain, "EPSG:4547", expected="polygon")
    assert handed is not None and extracted is not None and _same(handed, extracted)


def test_nothing_is_held_once_the_frame_is_gone(tmp_path: Path) -> None:
    gdf = read_vector(_footprints(tmp_path), layer="buildings")
    geoms = np.asarray(gdf.geometry.values).copy()                       # the same geometry objects
    del gdf
    gc.collect()
    assert vertices.take(geoms) is None


def test_point_layers_hand_nothing_on(tmp_path: Path) -> None:
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame({"a": [1, 2]}, geometry=shapely.points([[500_000, 3_500_000], [500_100, 3_500_100]]),
                     crs="EPSG:4547").to_file(path)
    gdf = read_vector(path)
    assert vertices.take(np.asarray(gdf.geometry.values)) is None


def test_handed_vertices_follow_dropped_empty_and_z_dropped_rows(tmp_path: Path) -> None:
    boxes = shapely.box([500_000, 500_050, 500_100], 3_500_000, [500_020, 500_070, 500_120], 3_500_020)
    with_z = shapely.force_3d(boxes, 12.0)
    geoms = np.array([with_z[0], shapely.Polygon(), with_z[1], with_z[2]], dtype=object)
    path = tmp_path / "z.gpkg"
    gpd.GeoDataFrame({"bid": [1, 2, 3, 4]}, geometry=geoms, crs="EPSG:4547").to_file(path)
    gdf = read_vector(path)
    out, rings = normalise_with_rings(gdf, "EPSG:4547", expected="polygon")
    assert list(out["bid"]) == [1, 3, 4]                                  # the empty one dropped
    assert not shapely.has_z(np.asarray(out.geometry.values)).any()
    assert rings is not None and _same(rings, polygon_rings(np.asarray(out.geometry.values)))


def test_a_frame_collected_while_its_copy_is_being_matched_does_not_break_the_hand_over(tmp_path: Path,
                                                                                         monkeypatch) -> None:
    """The garbage collector may finalize the frame read (forgetting its entry) in the middle of ``take``
    for a copy that shares its geometries: the copy still gets the vertices, and nothing raises."""
    gdf = read_vector(_footprints(tmp_path), layer="buildings")
    copy = gdf.copy()
    expected = polygon_rings(np.asarray(copy.geometry.values))
    original = vertices._identities
    state = {"frame": gdf}
    del gdf

    def identities_after_collecting_the_frame(geoms: np.ndarray) -> np.ndarray:
        state.pop("frame", None)  # the last reference to the frame read: its finalizer runs here
        gc.collect()
        return original(geoms)

    monkeypatch.setattr(vertices, "_identities", identities_after_collecting_the_frame)
    found = vertices.take(np.asarray(copy.geometry.values))
    assert found is not None and _same(found, expected)
    assert vertices.take(np.asarray(copy.geometry.values)) is None  # taken once
