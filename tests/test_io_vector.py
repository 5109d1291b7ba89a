"""read_vector: formats, encodings, CRS decisions and bad input (inputs are never modified)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SUIZHOU_LAT, SUIZHOU_LON, sha256_tree
from shapely.geometry import Point, box

from sanxian_yidan import crs as crsmod
from sanxian_yidan import read_vector
from sanxian_yidan.errors import (
    CRSError,
    EmptyLayerError,
    EncodingDetectionError,
    InputFileError,
    MissingFileError,
    SanxianWarning,
)

NAMES = ["随县吴山镇一般管控单元", "广水市城区重点管控单元", "曾都区淅河镇"]


def _gdf(crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    pts = [Point(SUIZHOU_LON + 0.01 * i, SUIZHOU_LAT + 0.01 * i) for i in range(3)]
    return gpd.GeoDataFrame({"name": NAMES, "code": ["a", "b", "c"]}, geometry=pts, crs=crs)


def _write_shp(gdf: gpd.GeoDataFrame, path: Path, encoding: str, *, keep_cpg: bool = False,
               keep_prj: bool = True) -> Path:
    gdf.to_file(path, driver="ESRI Shapefile", encoding=encoding)
    if not keep_cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if not keep_prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    return path


def test_gbk_shapefile_without_cpg_reads_chinese(tmp_path: Path) -> None:
    shp = _write_shp(_gdf(), tmp_path / "units.shp", "GBK")
    raw = shp.with_suffix(".dbf").read_bytes()
    assert NAMES[0].encode("gbk") in raw and not shp.with_suffix(".cpg").exists()
    before = sha256_tree(tmp_path)
    out = read_vector(shp)
    assert out["name"].tolist() == NAMES
    assert out.attrs["sanxian"]["encoding"] == "gb18030"
    assert "no .cpg" in out.attrs["sanxian"]["encoding_reason"]
    assert sha256_tree(tmp_path) == before


def test_utf8_shapefile_without_cpg(tmp_path: Path) -> None:
    shp = _write_shp(_gdf(), tmp_path / "u.shp", "UTF-8")
    out = read_vector(shp)
    assert out["name"].tolist() == NAMES
    assert out.attrs["sanxian"]["encoding"] == "utf-8"


def test_wrong_cpg_is_overruled_by_the_bytes(tmp_path: Path) -> None:
    shp = _write_shp(_gdf(), tmp_path / "w.shp", "GBK")
    shp.with_suffix(".cpg").write_text("UTF-8")
    out = read_vector(shp)
    assert out["name"].tolist() == NAMES
    assert ".cpg does not match" in out.attrs["sanxian"]["encoding_reason"]


def test_undecodable_attributes_raise_and_explicit_encoding_reads(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"name": ["abc"]}, geometry=[Point(SUIZHOU_LON, SUIZHOU_LAT)], crs="EPSG:4326")
    shp = _write_shp(gdf, tmp_path / "bad.shp", "UTF-8")
    dbf = shp.with_suffix(".dbf")
    data = dbf.read_bytes()
    # 0xFF is invalid in UTF-8 and as a GB18030 lead byte: neither codec can decode it.
    dbf.write_bytes(data.replace(b"abc", b"\xff\xff\xff"))
    with pytest.raises(EncodingDetectionError, match="neither UTF-8 nor GBK"):
        read_vector(shp)
    assert read_vector(shp, encoding="latin-1")["name"].iloc[0] == "ÿÿÿ"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="File not found"):
        read_vector(tmp_path / "nope.shp")


def test_empty_layer(tmp_path: Path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(EmptyLayerError, match="no features"):
        read_vector(path)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"this is not a geopackage")
    with pytest.raises(InputFileError, match="broken.gpkg"):
        read_vector(path)


def test_multilayer_file_requires_a_layer(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    _gdf().to_file(path, layer="a")
    _gdf().to_file(path, layer="b")
    with pytest.raises(InputFileError, match="pass layer="):
        read_vector(path)
    assert len(read_vector(path, layer="b")) == 3


def test_no_crs_but_unambiguous_lonlat_is_inferred_with_warning(tmp_path: Path) -> None:
    shp = _write_shp(_gdf(), tmp_path / "noprj.shp", "UTF-8", keep_prj=False)
    with pytest.warns(SanxianWarning, match="inferred"):
        out = read_vector(shp)
    assert out.crs.to_epsg() == 4490


def test_no_crs_prefixed_gauss_kruger_is_inferred(tmp_path: Path) -> None:
    gk = _gdf().to_crs("EPSG:4526")
    assert gk.geometry.x.min() > 38_000_000
    shp = _write_shp(gk.set_crs(None, allow_override=True), tmp_path / "gk.shp", "UTF-8", keep_prj=False)
    with pytest.warns(SanxianWarning, match="inferred"):
        out = read_vector(shp)
    assert out.crs.to_epsg() == 4526
    np.testing.assert_allclose(out.geometry.x, gk.geometry.x, atol=1e-6)


def test_no_crs_outside_study_area_is_refused(tmp_path: Path) -> None:
    beijing = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(116.40, 39.90)], crs=None)
    shp = _write_shp(beijing, tmp_path / "bj.shp", "UTF-8", keep_prj=False)
    with pytest.raises(CRSError, match="no CRS"):
        read_vector(shp)
    out = read_vector(shp, crs="EPSG:4326")
    assert out.crs.to_epsg() == 4326


def test_coordinates_fitting_no_crs_are_refused(tmp_path: Path) -> None:
    odd = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(5.0, 1e9)], crs=None)
    shp = _write_shp(odd, tmp_path / "odd.shp", "UTF-8", keep_prj=False)
    with pytest.raises(CRSError, match="crs="):
        read_vector(shp)


def test_swapped_xy_with_declared_crs_is_corrected(tmp_path: Path) -> None:
    swapped = _gdf("EPSG:4490")
    swapped.geometry = shapely.transform(swapped.geometry.values, lambda c: c[:, ::-1])
    path = tmp_path / "swapped.gpkg"
    swapped.to_file(path)
    with pytest.warns(SanxianWarning, match="swapped"):
        out = read_vector(path)
    np.testing.assert_allclose(out.geometry.x, _gdf().geometry.x)
    assert out.attrs["sanxian"]["swapped_xy"] is True


def test_csv_gbk_with_chinese_columns_and_dms(tmp_path: Path) -> None:
    text = "名称,经度,纬度\n随县项目甲,113°22'12\",31°41'24\"\n广水项目乙,113.8264,31.6174\n"
    path = tmp_path / "projects.csv"
    path.write_bytes(text.encode("gbk"))
    with pytest.warns(SanxianWarning, match="inferred"):
        out = read_vector(path)
    assert out["名称"].tolist() == ["随县项目甲", "广水项目乙"]
    assert out.geometry.x.iloc[0] == pytest.approx(113 + 22 / 60 + 12 / 3600, abs=1e-12)
    assert out.geometry.y.iloc[0] == pytest.approx(31 + 41 / 60 + 24 / 3600, abs=1e-12)
    assert out.attrs["sanxian"]["encoding"] == "gb18030"


def test_csv_bad_coordinate_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,lon,lat\na,113.3,31.7\nb,abc,31.7\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="row 3"):
        read_vector(path, crs="EPSG:4326")


def test_csv_without_coordinate_columns(tmp_path: Path) -> None:
    path = tmp_path / "nocoords.csv"
    path.write_text("name,value\na,1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="No coordinate columns"):
        read_vector(path)


def test_gcj02_csv_is_converted_to_wgs84(tmp_path: Path) -> None:
    glon, glat = crsmod.wgs84_to_gcj02(SUIZHOU_LON, SUIZHOU_LAT)
    path = tmp_path / "amap.csv"
    path.write_text(f"name,lng,lat\n高德点,{glon:.8f},{glat:.8f}\n", encoding="utf-8")
    out = read_vector(path, crs="GCJ-02")
    assert out.crs.to_epsg() == 4326
    assert out.geometry.x.iloc[0] == pytest.approx(SUIZHOU_LON, abs=1e-6)
    assert out.geometry.y.iloc[0] == pytest.approx(SUIZHOU_LAT, abs=1e-6)


def test_bd09_csv_is_converted_to_wgs84(tmp_path: Path) -> None:
    blon, blat = crsmod.wgs84_to_bd09(SUIZHOU_LON, SUIZHOU_LAT)
    path = tmp_path / "baidu.csv"
    path.write_text(f"name,lng,lat\n百度点,{blon:.8f},{blat:.8f}\n", encoding="utf-8")
    out = read_vector(path, crs="BD-09")
    assert out.geometry.x.iloc[0] == pytest.approx(SUIZHOU_LON, abs=1e-6)


def test_xlsx_with_lon_lat(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    pd.DataFrame({"项目": ["甲"], "lon": [113.5], "lat": [31.8]}).to_excel(path, index=False)
    out = read_vector(path, crs="EPSG:4490")
    assert out.geometry.iloc[0].equals(Point(113.5, 31.8))


def test_kml_reads_in_wgs84(tmp_path: Path) -> None:
    path = tmp_path / "p.kml"
    gpd.GeoDataFrame({"Name": ["厉山"]}, geometry=[box(113.3, 31.8, 113.31, 31.81)],
                     crs="EPSG:4326").to_file(path, driver="KML")
    out = read_vector(path)
    assert out.crs.to_epsg() == 4326
    assert out["Name"].iloc[0] == "厉山"
    assert out.geometry.iloc[0].bounds == pytest.approx((113.3, 31.8, 113.31, 31.81))


def test_legacy_datum_warns_about_seven_parameters(tmp_path: Path) -> None:
    path = tmp_path / "xian80.gpkg"
    _gdf().to_crs("EPSG:2385").to_file(path)  # Xian 1980 / 3-degree GK CM 120E
    with pytest.warns(SanxianWarning, match="7-parameter"):
        read_vector(path)


def _typed_frame() -> gpd.GeoDataFrame:
    """Field types where the Arrow and classic readers could differ (dates, nulls, booleans)."""
    import datetime

    pts = [Point(SUIZHOU_LON + 0.01 * i, SUIZHOU_LAT) for i in range(3)]
    return gpd.GeoDataFrame({"name": NAMES, "n": [1, 2, 3], "x": [1.5, None, 2.0],
                             "day": [datetime.date(2020, 1, 1), None, datetime.date(2021, 2, 3)],
                             "empty_text": pd.Series([None, None, None], dtype=object),
                             "flag": pd.array([True, None, False], dtype="boolean")},
                            geometry=pts, crs="EPSG:4326")


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb", ".shp"])
def test_utf8_formats_are_read_through_arrow_with_the_classic_table(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"typed{suffix}"
    _typed_frame().to_file(path, encoding="UTF-8") if suffix == ".shp" else _typed_frame().to_file(path)
    fast = read_vector(path)
    plain = read_vector(path, use_arrow=False)
    assert fast.attrs["sanxian"]["arrow"] is True and plain.attrs["sanxian"]["arrow"] is False
    pd.testing.assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                                  pd.DataFrame(plain.drop(columns="geometry")))
    assert fast.geometry.geom_equals_exact(plain.geometry, 0.0).all() and fast.crs == plain.crs
    assert sorted(fast["name"]) == sorted(NAMES)             # FlatGeobuf's spatial index reorders features


def test_gbk_shapefile_is_not_read_through_arrow(tmp_path: Path, monkeypatch) -> None:
    import pyogrio

    shp = _write_shp(_gdf(), tmp_path / "units.shp", "GBK")
    calls: list[object] = []
    real = pyogrio.read_dataframe
    monkeypatch.setattr(pyogrio, "read_dataframe", lambda *a, **k: calls.append(k.get("use_arrow")) or real(*a, **k))
    out = read_vector(shp)
    assert calls == [False] and out.attrs["sanxian"]["arrow"] is False
    assert out["name"].tolist() == NAMES and out.attrs["sanxian"]["encoding"] == "gb18030"


def test_arrow_refusal_falls_back_silently_unless_arrow_was_required(tmp_path: Path, monkeypatch) -> None:
    import pyogrio
    import pyogrio.raw

    path = tmp_path / "pts.gpkg"
    _gdf().to_file(path)
    real = pyogrio.read_dataframe

    def refuse_arrow(*args, **kwargs):
        if kwargs.get("use_arrow") or kwargs.get("use_pyarrow"):
            raise pyogrio.errors.DataSourceError("The file being read is not encoded in UTF-8; please use_arrow=False")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "read_dataframe", refuse_arrow)
    monkeypatch.setattr(pyogrio.raw, "open_arrow", refuse_arrow)  # the reader's own Arrow path
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # silently: no warning either
        out = read_vector(path)
    assert out["name"].tolist() == NAMES and out.attrs["sanxian"]["arrow"] is False
    with pytest.raises(InputFileError, match="use_arrow=False"):
        read_vector(path, use_arrow=True)


def test_without_pyarrow_the_classic_reader_is_used(tmp_path: Path, monkeypatch) -> None:
    from sanxian_yidan.io import vector

    path = tmp_path / "pts.geojson"
    _gdf().to_file(path)
    monkeypatch.setattr(vector, "has_pyarrow", lambda: False)
    out = read_vector(path)
    assert out.attrs["sanxian"]["arrow"] is False and out["name"].tolist() == NAMES


def test_unprefixed_gk_table_without_crs_is_refused_with_candidates(tmp_path: Path) -> None:
    # Real Hefei coordinates in their own zone (CGCS2000 CM 117E, EPSG:4548), without the zone prefix: the old
    # reader put them in the CM 114E zone ("falls in Suizhou"), ~284 km west, with only a warning.
    from pyproj import Transformer
    x, y = Transformer.from_crs("EPSG:4490", "EPSG:4548", always_xy=True).transform([117.2272, 117.25],
                                                                                    [31.8206, 31.84])
    path = tmp_path / "hefei.csv"
    pd.DataFrame({"X": x, "Y": y}).to_csv(path, index=False)
    with pytest.raises(CRSError, match=r"(?s)EPSG:4548.*117\.2\d°E.*安徽 Anhui.*--crs EPSG:4547.*EPSG:2383"):
        read_vector(path)
    out = read_vector(path, crs="EPSG:4548")
    lon, lat = Transformer.from_crs("EPSG:4548", "EPSG:4490", always_xy=True).transform(out.geometry.x,
                                                                                        out.geometry.y)
    np.testing.assert_allclose(lon, [117.2272, 117.25], atol=1e-7)
    assert out.attrs["sanxian"]["crs_reason"] == "stated by the caller or the catalog"


def test_crs_sample_is_every_step_th_vertex_of_the_layer() -> None:
    """read_vector's coordinate sample (CRS inference, swapped axes) unpacks only the geometries it needs;
    it must be exactly every step-th vertex of the whole layer, in order, with missing geometries skipped."""
    from sanxian_yidan.io.vector import _SAMPLE_VERTICES, _sample_xy

    rng = np.random.default_rng(4)
    geoms = []
    for _ in range(3_000):
        r = rng.random()
        geoms.append(None if r < 0.05 else shapely.Point(rng.random(2)) if r < 0.3 else
                     shapely.convex_hull(shapely.multipoints(rng.random((int(rng.integers(3, 25)), 2)))))
    gdf = gpd.GeoDataFrame(geometry=geoms)
    coords = shapely.get_coordinates(np.array([g for g in geoms if g is not None], dtype=object))
    assert len(coords) > _SAMPLE_VERTICES
    want = coords[:: len(coords) // _SAMPLE_VERTICES]
    x, y = _sample_xy(gdf)
    np.testing.assert_array_equal(np.column_stack([x, y]), want)
    x, y = _sample_xy(gdf, coords)  # the vertices read_vector extracted once for its checks
    np.testing.assert_array_equal(np.column_stack([x, y]), want)
    small = gdf.iloc[:20]
    x, y = _sample_xy(small)
    np.testing.assert_array_equal(np.column_stack([x, y]), shapely.get_coordinates(small.geometry.dropna().values))


def test_one_bad_vertex_inside_a_large_layer_is_still_refused(tmp_path: Path) -> None:
    """read_vector screens the layer's vertices in one pass; a single NaN or out-of-range vertex in the
    middle of a ring, of a feature other than the first, must still reach the full check and its message."""
    from sanxian_yidan.errors import InputFileError

    ok = [shapely.box(541000 + 50 * i, 3521000, 541020 + 50 * i, 3521020) for i in range(300)]
    with warnings.catch_warnings():  # shapely notes the NaN it is asked to store
        warnings.simplefilter("ignore", RuntimeWarning)
        bad = shapely.Polygon([(541000, 3522000), (541020, 3522000), (np.nan, 3522020), (541000, 3522020)])
    path = tmp_path / "nan.gpkg"
    gpd.GeoDataFrame(geometry=[*ok[:150], bad, *ok[150:]], crs="EPSG:4547").to_file(path)
    with pytest.raises(InputFileError, match=r"(?s)not finite.*feature 151"):
        read_vector(path)
    lonlat = [shapely.box(113.3 + 0.001 * i, 31.7, 113.3005 + 0.001 * i, 31.7005) for i in range(300)]
    slip = shapely.Polygon([(113.4, 31.8), (113.401, 31.8), (113.401, 318.01), (113.4, 31.801)])  # 318.01 for 31.801
    path = tmp_path / "typo.gpkg"
    gpd.GeoDataFrame(geometry=[*lonlat[:70], slip, *lonlat[70:]], crs="EPSG:4326").to_file(path)
    with pytest.raises(InputFileError, match=r"(?s)Latitude 318.01.*typo for 31\.801.*feature 71"):
        read_vector(path)


def test_geoparquet_read_in_memory_like_the_geopackage(tmp_path: Path) -> None:
    """GeoParquet (what ``--format geoparquet`` writes) reads without Dask: same rows, values and CRS."""
    src = _gdf("EPSG:4490")
    src.to_parquet(tmp_path / "a.parquet")
    src.to_file(tmp_path / "a.gpkg")
    got = read_vector(tmp_path / "a.parquet")
    ref = read_vector(tmp_path / "a.gpkg")
    assert got.crs == ref.crs == src.crs
    assert got["name"].tolist() == NAMES
    assert shapely.equals_exact(got.geometry.values, ref.geometry.values, tolerance=0).all()
    assert got.attrs["sanxian"]["format"] == "GeoParquet"


def test_geoparquet_damaged_names_the_file_and_fix(tmp_path: Path) -> None:
    bad = tmp_path / "cut.parquet"
    _gdf().to_parquet(tmp_path / "whole.parquet")
    bad.write_bytes((tmp_path / "whole.parquet").read_bytes()[:200])
    with pytest.raises(InputFileError, match="cut.parquet.*GeoParquet|GeoParquet.*cut.parquet"):
        read_vector(bad)
