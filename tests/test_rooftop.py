"""Rooftop PV potential (sanxian_yidan.rooftop) on hand-built footprints with hand-computable answers.

Packaged parameters used below (src/sanxian_yidan/data/rooftop.toml): module power density 210 W/m²;
flat roofs: usable share 0.70, rack rows with ground coverage ratio 0.4 (PVWatts default GCR) ->
0.21 x 0.4 = 0.084 kWp per m² of usable roof; pitched roofs: usable share 0.26 (NREL small buildings), flush at 25° ->
0.21 / cos(25°) kWp per m²; pilot shares 党政机关 0.5, 公共建筑 0.4, 工商业 0.3, 农村居民 0.2.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon, box

from sanxian_yidan import rooftop_potential, solar
from sanxian_yidan.catalog import Catalog
from sanxian_yidan.columns import label
from sanxian_yidan.errors import DataFileError, EmptyLayerError, InputFileError, SanxianWarning
from sanxian_yidan.rooftop import TOTAL, load_params, write_outputs

X0, Y0 = 440_000.0, 3_509_000.0  # Suizhou city centre in EPSG:4547 (CGCS2000 GK CM 114E)
LON, LAT = 113.37, 31.69
FLAT = 0.21 * 0.4                              # kWp per m² of usable flat roof
PITCHED = 0.21 / math.cos(math.radians(25.0))  # kWp per m² of usable pitched roof (flush, 25°)


def _buildings() -> gpd.GeoDataFrame:
    rows = [
        ("b0", box(X0, Y0, X0 + 10, Y0 + 10), "厂房", "平屋顶"),            # 100 m² flat industrial
        ("b1", box(X0 + 20, Y0, X0 + 40, Y0 + 10), "学校", None),            # 200 m² school, roof -> flat
        ("b2", box(X0 + 50, Y0, X0 + 62, Y0 + 8), "农房", "坡屋顶"),          # 96 m², ridge E-W
        ("b3", box(X0 + 70, Y0, X0 + 80, Y0 + 10), None, None),              # use missing
        ("b4", box(X0 + 90, Y0, X0 + 100, Y0 + 10), "加油站", "flat"),        # use not recognised
        ("b5", Polygon([(X0 + 110, Y0), (X0 + 120, Y0 + 10), (X0 + 120, Y0), (X0 + 110, Y0 + 10)]),
         "government", "flat"),                                              # bow-tie: 2 triangles, 50 m²
        ("b6", Polygon([(X0 + 130, Y0), (X0 + 140, Y0), (X0 + 150, Y0), (X0 + 130, Y0)]), "住宅", "flat"),  # zero area
        ("b7", box(X0 + 160, Y0, X0 + 165, Y0 + 5), "住宅", "平屋顶"),         # 25 m² < 30 m² minimum
        ("b8", box(X0 + 600, Y0, X0 + 610, Y0 + 10), "厂房", "平屋顶"),        # inside the heritage zone
        ("b9", box(X0 + 200, Y0, X0 + 208, Y0 + 12), "农房", "坡屋顶"),        # 96 m², ridge N-S
    ]
    return gpd.GeoDataFrame({"bid": [r[0] for r in rows], "用途": [r[2] for r in rows],
                             "屋顶类型": [r[3] for r in rows]}, geometry=[r[1] for r in rows], crs="EPSG:4547")


def _townships() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["Fuhe", "Hedian"], "name_zh": ["府河镇", ""], "county": ["曾都区", "曾都区"]},
                            geometry=[box(X0 - 1000, Y0 - 1000, X0 + 500, Y0 + 1000),
                                      box(X0 + 500, Y0 - 1000, X0 + 2000, Y0 + 1000)], crs="EPSG:4547")


def _heritage() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["测试墓群"]}, geometry=[box(X0 + 590, Y0 - 10, X0 + 700, Y0 + 50)],
                            crs="EPSG:4547")


@pytest.fixture(scope="module")
def result():
    return rooftop_potential(_buildings(), townships=_townships(), exclusions={"heritage_zone": _heritage()},
                             lon=LON, lat=LAT)


def _row(result, bid: str) -> pd.Series:
    b = result.buildings
    return b[b["bid"] == bid].iloc[0]


def test_hand_computed_capacities(result) -> None:
    b0 = _row(result, "b0")
    assert b0["use_category"] == "industrial_commercial" and b0["roof_type"] == "flat"
    assert b0["usable_area_m2"] == pytest.approx(70.0)
    assert b0["capacity_kwp"] == pytest.approx(100 * 0.70 * FLAT)          # 5.88 kWp
    assert b0["capacity_kwp"] == pytest.approx(5.88)
    assert b0["policy_target_kwp"] == pytest.approx(100 * 0.30 * FLAT)     # 2.52 kWp
    b1 = _row(result, "b1")                                                # school: public, roof defaulted flat
    assert (b1["use_category"], b1["roof_type"], bool(b1["roof_defaulted"])) == ("public", "flat", True)
    assert b1["capacity_kwp"] == pytest.approx(11.76)
    assert b1["policy_target_kwp"] == pytest.approx(200 * 0.40 * FLAT)     # 6.72 kWp
    b2 = _row(result, "b2")
    assert (b2["use_category"], b2["roof_type"]) == ("rural_residential", "pitched")
    assert b2["capacity_kwp"] == pytest.approx(96 * 0.26 * PITCHED)
    assert b2["policy_target_kwp"] == pytest.approx(96 * 0.20 * PITCHED)
    assert (b2["tilt_deg"], b2["azimuth_deg"]) == (25.0, 180.0)            # ridge E-W: slope faces south
    assert _row(result, "b9")["azimuth_deg"] in (90.0, 270.0)              # ridge N-S: east or west slope


def test_yield_per_orientation_class(result) -> None:
    flat_yield = solar.specific_yield(LON, LAT)                   # optimal tilt, south
    pitched_yield = solar.specific_yield(LON, LAT, 25.0, 180.0)
    b0, b2 = _row(result, "b0"), _row(result, "b2")
    assert b0["annual_kwh"] == pytest.approx(b0["capacity_kwp"] * flat_yield, rel=1e-12)
    assert b2["annual_kwh"] == pytest.approx(b2["capacity_kwp"] * pitched_yield, rel=1e-12)
    assert b0["co2_t"] == pytest.approx(b0["annual_kwh"] * 0.5271 / 1000, rel=1e-12)
    # one yield computation per class: flat (optimal, 180), pitched 180, pitched 90 or 270
    classes = result.yield_classes
    assert len(classes) == 3 == result.details["yield_classes"]
    assert len(result.buildings[["tilt_deg", "azimuth_deg"]].drop_duplicates()) == 3


def test_bad_geometries_and_missing_use_are_counted(result) -> None:
    s = result.details
    assert s["input_features"] == 10
    assert s["dropped_empty_or_zero_area"] == 1                   # b6
    assert "b6" not in set(result.buildings["bid"])
    assert s["invalid_repaired"] >= 1                             # the bow-tie b5 (and b6 before it vanished)
    b5 = _row(result, "b5")
    assert b5["area_m2"] == pytest.approx(50.0) and b5["use_category"] == "government"
    assert b5["capacity_kwp"] == pytest.approx(50 * 0.70 * FLAT)
    assert s["use_missing"] == 1 and s["use_unmapped"] == 1 and s["use_defaulted"] == 2
    assert s["use_unmapped_values"] == {"加油站": 1}
    assert _row(result, "b3")["use_category"] == "other" and bool(_row(result, "b3")["use_defaulted"])
    assert _row(result, "b4")["policy_target_kwp"] == 0.0        # 'other' has no pilot minimum
    assert s["use_columns"] == ["用途"] and s["roof_columns"] == ["屋顶类型"]


def test_exclusions(result) -> None:
    b7, b8 = _row(result, "b7"), _row(result, "b8")
    assert b7["excluded_reason"] == "min_area" and b7["capacity_kwp"] == 0 and b7["rank"] == 0
    assert b8["excluded_reason"] == "heritage_zone" and b8["capacity_kwp"] == 0 and b8["policy_target_kwp"] == 0
    assert result.details["excluded"] == {"heritage_zone": 1, "min_area": 1}


def test_ranking(result) -> None:
    b = result.buildings
    ranked = b[b["rank"] > 0].sort_values("rank")
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["annual_kwh"].is_monotonic_decreasing
    assert ranked.iloc[0]["bid"] == "b1"                          # 11.76 kWp, the largest roof


def test_aggregation_totals_equal_sum_of_parts(result) -> None:
    b, towns, counties = result.buildings, result.townships, result.counties
    # Chinese name where given, else the pinyin marked as having no Chinese source
    assert set(towns["township"]) == {"府河镇", "Hedian（拼音，无中文来源）"}
    for col in ("capacity_kwp", "policy_target_kwp", "annual_kwh", "co2_t", "so2_kg", "roof_area_m2"):
        src = "area_m2" if col == "roof_area_m2" else col
        assert towns[col].sum() == pytest.approx(b[src].sum(), rel=1e-12)
        total = counties.loc[counties["county"] == TOTAL, col].iloc[0]
        assert total == pytest.approx(b[src].sum(), rel=1e-12)
        assert counties.loc[counties["county"] != TOTAL, col].sum() == pytest.approx(total, rel=1e-12)
    fuhe = towns[towns["township"] == "府河镇"].iloc[0]
    assert fuhe["n_buildings"] == 8 and fuhe["n_included"] == 7     # b7 is excluded (min area)
    np.testing.assert_allclose(towns["gap_kwp"], towns["capacity_kwp"] - towns["policy_target_kwp"], rtol=1e-12)
    table = result.area_table()
    assert list(table["level"]) == ["township", "township", "county", "total"]
    cats = result.categories
    assert cats.loc[cats["use_category"] == "public", "pilot_share"].iloc[0] == 0.4


def test_input_not_modified_and_english_osm_values() -> None:
    gdf = gpd.GeoDataFrame({"building": ["school", "industrial", "house", "yes"]},
                           geometry=[box(X0 + i * 50, Y0, X0 + i * 50 + 20, Y0 + 20) for i in range(4)],
                           crs="EPSG:4547")
    before = gdf.copy()
    res = rooftop_potential(gdf, lon=LON, lat=LAT)
    pd.testing.assert_frame_equal(gdf, before)
    assert list(res.buildings["use_category"]) == ["public", "industrial_commercial", "residential", "other"]
    assert res.details["use_missing"] == 1                       # OSM building=yes means unknown
    assert (res.buildings["township"] == res.buildings["county"]).all()   # no township layer: unassigned


def test_user_toml_overrides_density(tmp_path: Path) -> None:
    user = tmp_path / "roof.toml"
    user.write_text("[modules]\npower_density_w_m2 = 200.0\nsource = \"test\"\n"
                    "[categories.industrial_commercial]\npilot_share = 0.5\n", encoding="utf-8")
    res = rooftop_potential(_buildings().iloc[:1], params=user, lon=LON, lat=LAT)
    assert res.buildings["capacity_kwp"].iloc[0] == pytest.approx(100 * 0.70 * 0.200 * 0.4)
    assert res.buildings["policy_target_kwp"].iloc[0] == pytest.approx(100 * 0.5 * 0.200 * 0.4)


def test_catalog_supplies_exclusions_and_townships(tmp_path: Path) -> None:
    gpkg = tmp_path / "layers.gpkg"
    _heritage().to_file(gpkg, layer="heritage")
    _townships().to_file(gpkg, layer="townships")
    (tmp_path / "catalog.toml").write_text(
        '[catalog]\ntitle_zh = "测试"\ntitle_en = "Test"\nworking_crs = "EPSG:4547"\n'
        '[[layers]]\nid = "heritage"\nrole = "heritage_zone"\npath = "layers.gpkg"\nlayer = "heritage"\n'
        'title_zh = "文保"\ntitle_en = "Heritage"\nsource = "test"\nlicence = "CC0"\nsynthetic = true\n'
        '[[layers]]\nid = "towns"\nrole = "township"\npath = "layers.gpkg"\nlayer = "townships"\n'
        'title_zh = "乡镇"\ntitle_en = "Townships"\nsource = "test"\nlicence = "CC0"\nsynthetic = true\n'
        '[layers.fields]\nname = "name"\ncounty = "county"\n', encoding="utf-8")
    res = rooftop_potential(_buildings(), catalog=tmp_path / "catalog.toml", lon=LON, lat=LAT)
    assert res.details["excluded"]["heritage_zone"] == 1
    # the catalog has no scenic_area or nature_reserve layer: recorded, not silently skipped
    assert res.details["exclusions_not_applied"] == {"scenic_area": "layer missing from the catalog",
                                                     "nature_reserve": "layer missing from the catalog"}
    assert res.details["area_source"] == "catalog role 'township'"
    assert set(res.townships["township"]) == {"府河镇", "Hedian（拼音，无中文来源）"}


def test_sample_buildings_end_to_end() -> None:
    cat = Catalog.load(Path(__file__).resolve().parents[1] / "layers" / "catalog.toml")
    sample = cat.read("building").iloc[:3000]
    res = rooftop_potential(sample, catalog=cat)
    assert res.synthetic
    assert res.details["use_defaulted"] == 0                     # every sample use is one of the pilot's
    assert res.counties.loc[res.counties["county"] == TOTAL, "capacity_kwp"].iloc[0] == pytest.approx(
        res.buildings["capacity_kwp"].sum())
    assert res.details["yield_classes"] <= 1 + 360 // 15


def test_bad_input() -> None:
    with pytest.raises(InputFileError, match="GeoDataFrame"):
        rooftop_potential(pd.DataFrame({"a": [1]}))
    nocrs = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)])
    with pytest.raises(InputFileError, match="no CRS"):
        rooftop_potential(nocrs)
    degenerate = gpd.GeoDataFrame(geometry=[Polygon([(X0, Y0), (X0 + 5, Y0), (X0 + 10, Y0), (X0, Y0)])],
                                  crs="EPSG:4547")
    with pytest.raises(EmptyLayerError, match="No usable building footprint"):
        rooftop_potential(degenerate, lon=LON, lat=LAT)
    with pytest.raises(DataFileError, match=r"use.map: '学校' -> unknown category 'schools'"):
        load_params(overrides={"use": {"map": {"学校": "schools"}}})
    with pytest.raises(DataFileError, match=r"categories.public.pilot_share: must be <= 1, got 1.5"):
        load_params(overrides={"categories": {"public": {"pilot_share": 1.5}}})


def test_no_per_building_python_loop_on_many_footprints() -> None:
    rng = np.random.default_rng(20261124)
    n = 20_000
    x = X0 + rng.uniform(0, 5000, n)
    y = Y0 + rng.uniform(0, 5000, n)
    w = rng.uniform(8, 40, n)
    geoms = shapely.box(x, y, x + w, y + w * 0.6)  # vectorised construction
    gdf = gpd.GeoDataFrame({"use": rng.choice(["住宅", "农房", "厂房", "学校"], n),
                            "roof_type": rng.choice(["平屋顶", "坡屋顶"], n)}, geometry=geoms, crs="EPSG:4547")
    res = rooftop_potential(gdf, lon=LON, lat=LAT)
    assert len(res.buildings) == n
    assert res.details["yield_classes"] <= 1 + 360 // 15          # classes, not buildings


def test_ridge_bearing_from_numpy_rectangle_matches_hand_angle_and_geos() -> None:
    from sanxian_yidan.rooftop.orientation import _ridge_bearing, _ridge_bearing_geos

    rng = np.random.default_rng(7)
    n = 500
    theta = rng.uniform(0.0, 180.0, n)                  # direction of the long side, deg from the x axis
    long_side = rng.uniform(10.0, 40.0, n)
    short_side = long_side * rng.uniform(0.3, 0.9, n)   # never square: the long side is defined
    t = np.radians(theta)
    ux, uy = np.cos(t), np.sin(t)
    # corners: centre +- half the long side along (ux, uy) +- half the short side along (-uy, ux)
    corners = np.stack([np.stack([X0 + a * ux * long_side / 2 - b * uy * short_side / 2,
                                  Y0 + a * uy * long_side / 2 + b * ux * short_side / 2], axis=-1)
                        for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))], axis=1)
    rects = shapely.polygons(corners)
    got = _ridge_bearing(rects)
    expected = (90.0 - theta) % 180.0                   # bearing: clockwise from grid north
    diff = np.abs(((got - expected) + 90.0) % 180.0 - 90.0)
    assert diff.max() < 1e-6                            # float rounding of metre coordinates near 4e5
    # concave, holed and multipart footprints take the GEOS path; convex ones agree with GEOS
    ell = Polygon([(X0, Y0), (X0 + 20, Y0), (X0 + 20, Y0 + 6), (X0 + 6, Y0 + 6), (X0 + 6, Y0 + 15), (X0, Y0 + 15)])
    holed = box(X0, Y0, X0 + 30, Y0 + 10).difference(box(X0 + 5, Y0 + 2, X0 + 8, Y0 + 5))
    multi = shapely.MultiPolygon([box(X0, Y0, X0 + 10, Y0 + 4), box(X0 + 20, Y0, X0 + 30, Y0 + 4)])
    others = np.array([ell, holed, multi, rects[0]], dtype=object)
    # GEOS builds its rectangle corners with some rounding (1e-4 deg here); numpy matched the exact angle
    np.testing.assert_allclose(_ridge_bearing(others), _ridge_bearing_geos(others), atol=1e-3)
    assert _ridge_bearing(others)[1] == pytest.approx(90.0)    # 30 x 10 m box: ridge runs east-west


def test_text_columns_keep_pandas_string_dtype(result) -> None:
    b = result.buildings
    text = pd.Series(["a"]).dtype                       # pandas' default string dtype in this environment
    for col in ("township", "county", "excluded_reason", "use_value"):
        assert b[col].dtype == text, col
    assert set(b["excluded_reason"]) == {"", "min_area", "heritage_zone"}
    assert b.loc[b["bid"] == "b3", "use_value"].isna().all()    # use missing: no original value


def test_gpkg_with_and_without_spatial_index(result, tmp_path: Path) -> None:
    import sqlite3

    import pyogrio

    from sanxian_yidan.rooftop import write_outputs

    with_index = write_outputs(result, tmp_path / "a")["gpkg"]
    without = write_outputs(result, tmp_path / "b", spatial_index=False)["gpkg"]

    def tables(path: Path) -> set[str]:
        with sqlite3.connect(path) as con:
            return {row[0] for row in con.execute("select name from sqlite_master where type='table'")}

    assert "rtree_rooftops_geom" in tables(with_index)
    assert not any(t.startswith("rtree_") for t in tables(without))
    a, b = pyogrio.read_dataframe(with_index), pyogrio.read_dataframe(without)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert a.geometry.geom_equals_exact(b.geometry, 0.0).all() and len(a) == len(result.buildings)
    assert "no spatial index" in pyogrio.read_info(without)["layer_metadata"]["DESCRIPTION"]
    assert a["capacity_kwp"].sum() == pytest.approx(result.buildings["capacity_kwp"].sum(), rel=1e-12)


def test_exclusion_roles_not_applied_are_recorded(result) -> None:
    # no catalog; heritage_zone given as an extra layer stands in for that role
    assert result.details["exclusions_not_applied"] == {"scenic_area": "no catalog given",
                                                        "nature_reserve": "no catalog given"}
    assert result.details["area_source"] == "townships given"
    bare = rooftop_potential(_buildings().iloc[:1], lon=LON, lat=LAT)
    assert list(bare.details["exclusions_not_applied"]) == ["heritage_zone", "scenic_area", "nature_reserve"]
    assert bare.details["area_source"] == "none"


def test_extra_exclusion_layer_without_crs_is_refused() -> None:
    nocrs = gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(X0 + 590, Y0 - 10, X0 + 700, Y0 + 50)])
    with pytest.raises(InputFileError, match=r"(?s)排除图层 'flood_zone' 没有坐标系.*'flood_zone' has no CRS"):
        rooftop_potential(_buildings(), exclusions={"flood_zone": nocrs}, lon=LON, lat=LAT)
    with pytest.raises(InputFileError, match="must be a GeoDataFrame"):
        rooftop_potential(_buildings(), exclusions={"flood_zone": [box(0, 0, 1, 1)]}, lon=LON, lat=LAT)
    # with a CRS (even another one) it is used: reprojected onto the buildings
    wgs = _heritage().to_crs("EPSG:4326")
    res = rooftop_potential(_buildings(), exclusions={"flood_zone": wgs}, lon=LON, lat=LAT)
    assert _row(res, "b8")["excluded_reason"] == "flood_zone"


def test_catalog_argument_types() -> None:
    from sanxian_yidan.errors import CatalogError
    from sanxian_yidan.rooftop import load_catalog

    cat = Catalog.load(Path(__file__).resolve().parents[1] / "layers" / "catalog.toml")
    assert load_catalog(None) is None and load_catalog(cat) is cat
    assert load_catalog(str(cat.path)).path == cat.path
    with pytest.raises(CatalogError, match="Catalog file not found"):
        load_catalog(Path("/nonexistent/catalog.toml"))
    with pytest.raises(InputFileError, match="catalog must be a Catalog, a path or None"):
        load_catalog(42)


def test_factor_ids_column_and_provenance_in_outputs(result, tmp_path: Path) -> None:
    import json

    import pyogrio

    from sanxian_yidan.benefits import select_factors
    from sanxian_yidan.columns import label
    from sanxian_yidan.rooftop import write_outputs

    chosen = select_factors()
    order = ("co2", "so2", "nox", "pm", "coal")
    ids = ";".join(chosen[k].id for k in order)
    b = result.buildings
    assert isinstance(b["factor_ids"].dtype, pd.CategoricalDtype) and list(b["factor_ids"].cat.categories) == [ids]
    paths = write_outputs(result, tmp_path / "a")
    assert set(paths) == {"gpkg", "csv"} and not (tmp_path / "a" / "rooftops_factors.csv").exists()
    layer = pyogrio.read_dataframe(paths["gpkg"])
    assert set(layer["factor_ids"]) == {ids}
    meta = pyogrio.read_info(paths["gpkg"])["layer_metadata"]
    assert [r["factor_id"] for r in json.loads(meta["FACTORS"])] == [chosen[k].id for k in order]
    assert meta["UNCONFIRMED_FACTORS"] == ";".join(chosen[k].id for k in order if not chosen[k].confirmed)
    assert "scenic_area: not applied, no catalog given" in meta["EXCLUSIONS"]
    assert "heritage_zone: applied, 1 building(s) excluded" in meta["EXCLUSIONS"]
    table = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert set(table[label("factor_ids")]) == {ids}
    assert set(table[label("exclusions_not_applied")]) == {
        "scenic_area: not applied, no catalog given; nature_reserve: not applied, no catalog given"}
    with_factors = write_outputs(result, tmp_path / "b", factors_csv=True)
    factors = pd.read_csv(with_factors["factors"], encoding="utf-8-sig")
    assert list(factors[label("factor_value")]) == [chosen[k].value for k in order]
    assert list(factors[label("factor_year")]) == [chosen[k].year for k in order]


def test_gpkg_without_pyarrow_writes_the_same_table(result, tmp_path: Path, monkeypatch) -> None:
    import pyogrio

    from sanxian_yidan.rooftop import output, write_outputs

    with_arrow = write_outputs(result, tmp_path / "a")["gpkg"]
    monkeypatch.setattr(output, "has_pyarrow", lambda: False)
    without = write_outputs(result, tmp_path / "b")["gpkg"]
    a, b = pyogrio.read_dataframe(with_arrow), pyogrio.read_dataframe(without)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert isinstance(result.buildings["factor_ids"].dtype, pd.CategoricalDtype)   # the result is not modified


def test_every_written_column_is_declared(result) -> None:
    from sanxian_yidan.columns import describe
    from sanxian_yidan.rooftop import (
        BUILDING_COLUMNS,
        FACTOR_COLUMNS,
        NOTE_COLUMNS,
        declared_labels,
    )

    written = [*BUILDING_COLUMNS, *result.area_table().columns, *NOTE_COLUMNS, *FACTOR_COLUMNS]
    assert [c for c in written if describe(c) is None] == []
    with pytest.raises(DataFileError, match=r"not declared in the column registry"):
        declared_labels(["capacity_kwp", "no_such_column_xyz"])


def test_parameter_merging_and_pyarrow_check_live_in_one_place() -> None:
    from sanxian_yidan import datafiles, rooftop
    from sanxian_yidan import params as param_layer
    from sanxian_yidan.cli import rooftops as cli_rooftops
    from sanxian_yidan.io import vector
    from sanxian_yidan.rooftop import output

    assert datafiles.deep_merge is param_layer.deep_merge      # the one merge (defaults <- file <- overrides)
    assert not hasattr(rooftop, "_deep_merge") and not hasattr(solar, "_deep_merge")
    assert output.has_pyarrow is vector.has_pyarrow
    assert not hasattr(rooftop, "_has_pyarrow") and not hasattr(cli_rooftops, "_has_pyarrow")
    # a nested override changes one key and keeps its siblings
    p = load_params(overrides={"categories": {"public": {"pilot_share": 0.45}}})
    assert p.categories["public"].pilot_share == 0.45 and p.categories["public"].zh == "公共建筑（学校、医院、村委会等）"


def test_progress_reports_every_step_from_zero_to_the_total():
    from sanxian_yidan.rooftop import ROOFTOP_STEPS

    calls = []
    rooftop_potential(_buildings(), townships=_townships(), exclusions={"heritage_zone": _heritage()},
                      progress=lambda label, done, total: calls.append((label, done, total)))
    assert [d for _, d, _ in calls] == list(range(ROOFTOP_STEPS + 1))
    assert {t for _, _, t in calls} == {ROOFTOP_STEPS}
    assert calls[0][0] == "prepare" and calls[-1][0] == "done"


def test_pitched_usable_share_lies_in_the_published_range() -> None:
    # Before: 0.40 (one slope x 0.8), 1.5x NREL's measured 26 % for small buildings -> 92.7 W per m² of footprint.
    from sanxian_yidan.datafiles import packaged

    lo, hi = packaged("rooftop.toml")["reference"]["pitched_usable_share"]["range"]
    pitched = load_params().roof_types["pitched"]
    assert (lo, hi) == (0.20, 0.28)
    assert lo <= pitched.usable_share <= hi
    # W per m² of pitched footprint: 0.26 x 210 / cos25 = 60.2 (modules lie in the 25° slope)
    assert pitched.usable_share * load_params().kwp_per_m2(pitched, 25.0) * 1000 == pytest.approx(60.24, abs=0.01)


def _tiny_catalog(tmp_path: Path, *, heritage_synthetic: bool, towns_synthetic: bool) -> Path:
    gpkg = tmp_path / "layers.gpkg"
    _heritage().to_file(gpkg, layer="heritage")
    _townships().to_file(gpkg, layer="townships")
    path = tmp_path / "catalog.toml"
    path.write_text(
        '[catalog]\ntitle_zh = "测试"\ntitle_en = "Test"\nworking_crs = "EPSG:4547"\n'
        '[[layers]]\nid = "heritage"\nrole = "heritage_zone"\npath = "layers.gpkg"\nlayer = "heritage"\n'
        f'title_zh = "文保"\ntitle_en = "Heritage"\nsource = "test"\nlicence = "CC0"\n'
        f'synthetic = {str(heritage_synthetic).lower()}\n'
        '[[layers]]\nid = "towns"\nrole = "township"\npath = "layers.gpkg"\nlayer = "townships"\n'
        'title_zh = "乡镇"\ntitle_en = "Townships"\nsource = "test"\nlicence = "CC0"\n'
        f'synthetic = {str(towns_synthetic).lower()}\n'
        '[layers.fields]\nname = "name"\ncounty = "county"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(("heritage_syn", "towns_syn", "expected"), [
    (False, False, []), (True, False, ["heritage"]), (False, True, ["towns"]), (True, True, ["heritage", "towns"])])
def test_synthetic_context_layers_mark_real_buildings(tmp_path: Path, heritage_syn: bool, towns_syn: bool,
                                                      expected: list[str]) -> None:
    # Real footprints (no synthetic flag) with a synthetic exclusion layer or synthetic townships: every
    # number depends on that layer (which roofs are excluded, which township they count for).
    buildings = _buildings()
    assert "synthetic" not in buildings.columns
    res = rooftop_potential(buildings, catalog=_tiny_catalog(tmp_path, heritage_synthetic=heritage_syn,
                                                             towns_synthetic=towns_syn), lon=LON, lat=LAT)
    assert res.details["synthetic_layers"] == expected
    assert res.synthetic is bool(expected)
    assert res.buildings["synthetic"].to_numpy(dtype=bool).tolist() == [bool(expected)] * len(res.buildings)
    assert res.townships["synthetic"].tolist() == [bool(expected)] * len(res.townships)
    assert res.counties["synthetic"].tolist() == [bool(expected)] * len(res.counties)
    paths = write_outputs(res, tmp_path / "out")
    meta = pyogrio.read_info(paths["gpkg"], layer="rooftops")["layer_metadata"]
    assert meta["SYNTHETIC"] == ("YES" if expected else "NO")
    assert meta["SYNTHETIC_LAYERS"] == (";".join(expected) or "none")
    assert ("SYNTHETIC" in meta["DESCRIPTION"]) is bool(expected)
    table = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert set(table[label("synthetic_layers")]) == {";".join(expected) or "none"}
    assert set(table[label("synthetic")]) == {"是" if expected else "否"}  # yes/no written as 是/否 (data/csv_format.toml)


def test_synthetic_extra_layers_and_flagged_footprints() -> None:
    heritage = _heritage()
    heritage.attrs["sanxian"] = {"synthetic": True, "layers": ["sample_heritage"]}
    res = rooftop_potential(_buildings(), townships=_townships(), exclusions={"heritage_zone": heritage},
                            lon=LON, lat=LAT)
    assert res.details["synthetic_layers"] == ["sample_heritage"]
    assert res.buildings["synthetic"].all()
    towns = _townships().assign(synthetic=["是", "否"])   # one township flagged in the data itself
    res = rooftop_potential(_buildings(), townships=towns, lon=LON, lat=LAT)
    assert res.details["synthetic_layers"] == ["townships"] and res.buildings["synthetic"].all()
    flagged = _buildings().assign(synthetic=[True] + [False] * 9)   # the footprints' own flag stays per row
    res = rooftop_potential(flagged, townships=_townships(), lon=LON, lat=LAT)
    assert res.details["synthetic_layers"] == ["buildings"]
    assert res.buildings.set_index("bid")["synthetic"].to_dict() == {
        b: b == "b0" for b in res.buildings["bid"]}


def test_buildings_outside_the_catalog_coverage_are_excluded_and_counted(tmp_path: Path) -> None:
    # Coverage = one county west of x = X0 + 150: b7 (centre X0 + 162.5), b8 (X0 + 605) and b9 (X0 + 204)
    # lie outside, where no exclusion layer can vouch for them.
    cat_path = _tiny_catalog(tmp_path, heritage_synthetic=False, towns_synthetic=False)
    county = gpd.GeoDataFrame({"name": ["曾都区"]}, geometry=[box(X0 - 1000, Y0 - 1000, X0 + 150, Y0 + 1000)],
                              crs="EPSG:4547")
    county.to_file(tmp_path / "layers.gpkg", layer="county")
    with cat_path.open("a", encoding="utf-8") as fh:
        fh.write('[[layers]]\nid = "county"\nrole = "admin_boundary"\npath = "layers.gpkg"\nlayer = "county"\n'
                 'title_zh = "县"\ntitle_en = "County"\nsource = "test"\nlicence = "CC0"\nsynthetic = false\n'
                 '[layers.fields]\nname = "name"\n')
    with pytest.warns(SanxianWarning, match="3 building\\(s\\) lie outside the catalog's data coverage"):
        res = rooftop_potential(_buildings(), catalog=cat_path, lon=LON, lat=LAT)
    reasons = res.buildings.set_index("bid")["excluded_reason"].to_dict()
    assert {b for b, r in reasons.items() if r == "outside_coverage"} == {"b7", "b8", "b9"}
    assert res.details["excluded"]["outside_coverage"] == 3
    assert res.details["excluded"]["heritage_zone"] == 0 and res.details["excluded"]["min_area"] == 0
    out = res.buildings.set_index("bid")
    assert (out.loc[["b7", "b8", "b9"], "capacity_kwp"] == 0).all() and (out.loc[["b7", "b8", "b9"], "rank"] == 0).all()
    assert res.details["included"] == 6                     # b0-b5 (b6 has no area and is dropped)


def test_roof_type_optimal_tilt_is_none_and_labels_default_to_the_id() -> None:
    """``tilt_deg = "optimal"`` reads as None (the site's optimal tilt) and labels left out read as the id."""
    from sanxian_yidan.rooftop.params import load_params

    packaged = load_params()
    assert packaged.roof_types["flat"].tilt_deg is None                     # "optimal" in data/rooftop.toml
    assert packaged.roof_types["pitched"].tilt_deg == pytest.approx(25.0)
    user = load_params({"roof_types": {"shed": {"usable_share": 0.5, "mount": "rack", "gcr": 0.4,
                                                "tilt_deg": "optimal", "source": "test"}}})
    shed = user.roof_types["shed"]
    assert (shed.id, shed.zh, shed.en, shed.tilt_deg) == ("shed", "shed", "shed", None)
