"""Thread splitting (parallel) and GeoPackage write settings (io.gpkg): same results, settings restored."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from sanxian_yidan import parallel
from sanxian_yidan.io.gpkg import write_settings
from sanxian_yidan.normalize import normalise


def test_chunks_cover_the_range_in_order_and_never_split_a_group() -> None:
    groups = np.repeat(np.arange(10), [1, 5, 2, 8, 3, 1, 1, 6, 2, 4])
    bounds = parallel.chunk_bounds(len(groups), 4, 1, groups)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(groups)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))   # contiguous, no gap, no overlap
    assert all(groups[b - 1] != groups[b] for _, b in bounds[:-1])
    assert len(bounds) > 1
    assert parallel.chunk_bounds(33, 4, 34) == [(0, 33)]           # under the floor: one chunk
    assert parallel.chunk_bounds(33, 1, 1) == [(0, 33)]            # one thread: one chunk


def test_chunked_equals_one_call() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, size=(5000, 2))
    polys = shapely.buffer(shapely.points(xy), rng.uniform(0.5, 5, 5000))
    # every 7th polygon is a bow-tie (invalid)
    bow = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    polys[::7] = bow
    one = shapely.is_valid(polys)
    split = parallel.chunked(shapely.is_valid, (polys,), threads=3, min_items=1)
    np.testing.assert_array_equal(one, split)
    assert (~split).sum() == len(polys[::7])
    inter = parallel.chunked(shapely.intersection, (polys, polys[::-1]), threads=4, min_items=1)
    assert shapely.equals(inter, shapely.intersection(polys, polys[::-1])).all()


def test_resolve_threads() -> None:
    assert parallel.resolve_threads(3) == 3
    import os

    assert parallel.resolve_threads(0) == max(1, min(os.cpu_count() or 1, 8))   # one per core, at most 8
    assert parallel.default_threads() >= 1


def test_normalise_repairs_the_same_features_whatever_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # L-shapes, not boxes: convex single rings are accepted without GEOS, and the test needs every
    # feature to go through the thread splitter.
    squares = [shapely.Polygon([(i * 10, 0), (i * 10 + 5, 0), (i * 10 + 5, 2), (i * 10 + 2, 2), (i * 10 + 2, 5),
                                (i * 10, 5)]) for i in range(200)]
    squares[17] = shapely.Polygon([(170, 0), (175, 5), (175, 0), (170, 5), (170, 0)])
    squares[140] = shapely.Polygon([(1400, 0), (1405, 5), (1405, 0), (1400, 5), (1400, 0)])
    gdf = gpd.GeoDataFrame({"id": range(200)}, geometry=squares, crs="EPSG:4547")
    serial = normalise(gdf, "EPSG:4547")
    base = parallel.performance_settings()          # force 4 chunks of 50
    forced = base.threads.model_copy(update={"threads": 4, "max_threads": 8, "min_parallel_features": 1})
    monkeypatch.setattr(parallel, "performance_settings", lambda: base.model_copy(update={"threads": forced}))
    import sanxian_yidan.normalize as norm_mod

    chunks: list[int] = []
    real_chunk_bounds = parallel.chunk_bounds
    monkeypatch.setattr(parallel, "chunk_bounds",
                        lambda *a, **k: chunks.append(len(b := real_chunk_bounds(*a, **k))) or b)
    assert norm_mod.chunked is parallel.chunked      # normalise goes through the thread splitter
    threaded = normalise(gdf, "EPSG:4547")
    assert chunks and chunks[0] == 4
    repairs = [r for r in threaded.attrs["sanxian"]["repairs"] if r.kind == "invalid_geometry"]
    assert repairs[0].count == 2 and set(repairs[0].feature_ids) == {17, 140}
    assert shapely.equals(serial.geometry.values, threaded.geometry.values).all()


@pytest.fixture()
def no_user_sqlite_options(monkeypatch: pytest.MonkeyPatch):
    """Run without OGR_SQLITE_* set by the environment (the tests assert what the package sets)."""
    for key in ("OGR_SQLITE_CACHE", "OGR_SQLITE_PRAGMA"):
        monkeypatch.delenv(key, raising=False)
    pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": None, "OGR_SQLITE_PRAGMA": None})
    yield


def _page_size(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:18], "big")   # SQLite header, big-endian


def test_gpkg_write_settings_apply_during_the_write_and_are_restored(tmp_path: Path,
                                                                     no_user_sqlite_options: None) -> None:
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_CACHE") is None
    with write_settings():
        assert str(pyogrio.get_gdal_config_option("OGR_SQLITE_CACHE")) == "64"
        gdf = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)],
                               crs="EPSG:4547")
        gdf.to_file(tmp_path / "a.gpkg", driver="GPKG")
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_CACHE") is None
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_PRAGMA") is None
    back = gpd.read_file(tmp_path / "a.gpkg")
    assert back["v"].tolist() == [1, 2]
    assert _page_size(tmp_path / "a.gpkg") == 16384


def test_gpkg_write_settings_nested_and_concurrent_blocks_share_one_setting(tmp_path: Path,
                                                                           no_user_sqlite_options: None) -> None:
    import threading

    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4547")
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with write_settings():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    with write_settings():
        release.set()
        thread.join(10)           # the first block has closed; the second is still open
        gdf.to_file(tmp_path / "b.gpkg", driver="GPKG")
    assert _page_size(tmp_path / "b.gpkg") == 16384
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_PRAGMA") is None
    # a value the user sets inside a block survives its end
    with write_settings():
        pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": "7"})
    try:
        assert str(pyogrio.get_gdal_config_option("OGR_SQLITE_CACHE")) == "7"
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_PRAGMA") is None
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": None})


def test_gpkg_write_settings_leave_a_users_own_setting_alone(no_user_sqlite_options: None) -> None:
    pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": "7"})
    try:
        with write_settings():
            assert str(pyogrio.get_gdal_config_option("OGR_SQLITE_CACHE")) == "7"
        assert str(pyogrio.get_gdal_config_option("OGR_SQLITE_CACHE")) == "7"
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_CACHE": None})
