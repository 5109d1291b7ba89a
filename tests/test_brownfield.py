"""Tests of sanxian_yidan.brownfield: exclusions, net area, capacity, distances, pre-screen, ranking.

Fixtures are hand-built squares in EPSG:4547 near Suizhou city (x ≈ 440 km, y ≈ 3,507 km) whose
areas and distances can be checked by hand.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

import sanxian_yidan as sx
from sanxian_yidan import brownfield as bf
from sanxian_yidan.catalog import Catalog
from sanxian_yidan.errors import CRSError, DataFileError, InputFileError, SanxianWarning

X0, Y0 = 440_000.0, 3_507_000.0
CRS = "EPSG:4547"
SAMPLE = Path(__file__).resolve().parents[1] / "layers" / "catalog.toml"
#: Default power density [MW/ha] (cn_layout of data/brownfield.toml), used for the area x density arithmetic;
#: its value is checked against a hand calculation in test_default_density_is_the_chinese_row_layout.
DENSITY = bf.load_params().density.mw_per_ha


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """Axis-aligned rectangle with lower-left corner (X0 + x, Y0 + y)."""
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def write_catalog(tmp: Path, layers: dict[str, tuple[str, gpd.GeoDataFrame]], *, dem: Path | None = None,
                  real: frozenset[str] = frozenset()) -> Catalog:
    """Write layers (id → (role, frame)) to one GeoPackage and a catalog.toml; return the loaded catalog.

    Every layer is marked synthetic except the ids in ``real``."""
    gpkg = tmp / "fixture.gpkg"
    lines = ["[catalog]", 'title_zh = "测试"', 'title_en = "test"', f'working_crs = "{CRS}"', ""]
    for lid, (role, gdf) in layers.items():
        gdf.to_file(gpkg, layer=lid, driver="GPKG")
        fields = [c for c in gdf.columns if c != "geometry"]
        lines += ["[[layers]]", f'id = "{lid}"', f'role = "{role}"', 'path = "fixture.gpkg"', f'layer = "{lid}"',
                  'title_zh = "测试"', 'title_en = "test"', 'source = "hand-built test fixture"',
                  'licence = "CC0"', f"synthetic = {'false' if lid in real else 'true'}", "[layers.fields]"]
        lines += [f'{c} = "{c}"' for c in fields if c in _canonical()]
        lines.append("")
    if dem is not None:
        lines += ["[[layers]]", 'id = "dem"', 'role = "dem"', f'path = "{dem.name}"', 'title_zh = "测试"',
                  'title_en = "test"', 'source = "synthetic test DEM"', 'licence = "CC0"', "synthetic = true", ""]
    (tmp / "catalog.toml").write_text("\n".join(lines), encoding="utf-8")
    return Catalog.load(tmp / "catalog.toml")


def _canonical() -> set[str]:
    from sanxian_yidan.catalog import canonical_fields
    return canonical_fields()


def write_dem(path: Path, elevation: np.ndarray, *, x0: float, y_top: float, cell: float) -> Path:
    import rasterio
    with rasterio.open(path, "w", driver="GTiff", height=elevation.shape[0], width=elevation.shape[1], count=1,
                       dtype="float32", crs=CRS, transform=Affine(cell, 0, x0, 0, -cell, y_top),
                       nodata=-9999.0) as dst:
        dst.write(elevation.astype("float32"), 1)
    return path


def gdf(geoms: list, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=CRS)


# ---------------------------------------------------------------------------------------------
# Exclusions → net area
# ---------------------------------------------------------------------------------------------
def _sites(*geoms: shapely.Geometry) -> gpd.GeoDataFrame:
    return gdf(list(geoms), site_id=[f"s{i}" for i in range(len(geoms))])


def _excl(rows: list[tuple[str, shapely.Geometry]]) -> gpd.GeoDataFrame:
    return gdf([g for _, g in rows], reason_role=[r for r, _ in rows], reason_zh=[r for r, _ in rows],
               reason_en=[r for r, _ in rows], rule_source="test", synthetic=False)


def test_redline_strip_leaves_exact_net_area():
    # 100 m × 100 m site minus a 40 m × 100 m red-line strip (which sticks out of the site) = 6,000 m²
    sites = _sites(box(0, 0, 100, 100))
    net, excluded = bf.cut_exclusions(sites, _excl([("eco_redline", box(60, -50, 100, 200))]))
    assert shapely.area(net[0]) == pytest.approx(6000.0, abs=1e-6)
    assert len(excluded) == 1
    assert excluded["reason_role"].iloc[0] == "eco_redline"
    assert excluded["excluded_area_m2"].iloc[0] == pytest.approx(4000.0, abs=1e-6)
    assert shapely.area(excluded.geometry.iloc[0]) == pytest.approx(4000.0, abs=1e-6)
    # the net part is exactly the western 60 m
    assert shapely.equals(shapely.normalize(net[0]), shapely.normalize(shapely.MultiPolygon([box(0, 0, 60, 100)])))


def test_overlapping_exclusions_counted_once_and_attributed_in_order():
    # red line covers x 0-40; farmland covers x 20-70 (overlaps the red line on x 20-40)
    sites = _sites(box(0, 0, 100, 100), box(500, 0, 50, 50))
    ex = _excl([("eco_redline", box(0, 0, 40, 100)), ("basic_farmland", box(20, 0, 50, 100)),
                ("basic_farmland", box(510, 10, 10, 10)), ("basic_farmland", box(515, 10, 10, 10))])
    net, excluded = bf.cut_exclusions(sites, ex)
    assert shapely.area(net[0]) == pytest.approx(3000.0, abs=1e-6)        # x 70-100 left
    by = excluded.set_index(["site_id", "reason_role"])["excluded_area_m2"]
    assert by[("s0", "eco_redline")] == pytest.approx(4000.0, abs=1e-6)
    assert by[("s0", "basic_farmland")] == pytest.approx(3000.0, abs=1e-6)  # only x 40-70 is new
    # two overlapping farmland squares in site 1: union 15 × 10 = 150 m²
    assert by[("s1", "basic_farmland")] == pytest.approx(150.0, abs=1e-6)
    assert shapely.area(net[1]) == pytest.approx(2500.0 - 150.0, abs=1e-6)
    gross = shapely.area(sites.geometry.values)
    assert gross.sum() == pytest.approx(shapely.area(net).sum() + excluded["excluded_area_m2"].sum(), abs=1e-6)


def test_touching_exclusion_removes_nothing_and_output_is_polygonal():
    sites = _sites(box(0, 0, 100, 100))
    net, excluded = bf.cut_exclusions(sites, _excl([("eco_redline", box(100, 0, 50, 100))]))
    assert shapely.area(net[0]) == pytest.approx(10_000.0)
    assert len(excluded) == 0
    assert shapely.get_type_id(net[0]) in (3, 6)


def test_fully_excluded_site_has_empty_net_geometry():
    sites = _sites(box(0, 0, 100, 100))
    net, excluded = bf.cut_exclusions(sites, _excl([("nature_reserve", box(-10, -10, 200, 200))]))
    assert shapely.is_empty(net[0])
    assert shapely.area(net[0]) == 0.0
    assert excluded["excluded_area_m2"].sum() == pytest.approx(10_000.0)


def test_exclusion_layers_filter_level1_and_buffer(tmp_path):
    # level-1 zone crosses the site at x 40-60; level-2 zone covers the rest: only level 1 is excluded
    cat = write_catalog(tmp_path, {
        "mines": ("mine_site", gdf([box(0, 0, 100, 100)], name=["矿A"], status=["废弃"])),
        "wsz": ("water_source_zone", gdf([box(40, -100, 20, 300), box(0, 0, 40, 100)], name=["一级", "二级"],
                                         level=[1, 2])),
    })
    params = bf.load_params({"exclusions": [
        {"role": "water_source_zone", "where": {"level": ["1"]}, "reason_zh": "一级", "reason_en": "level 1",
         "buffer_m": 10.0, "source": "test"}]})
    layers, notes = bf.exclusion_layers(cat, params.exclusions)
    assert notes == []
    assert len(layers) == 1
    sites = bf.candidate_sites(cat, params)
    net, excluded = bf.cut_exclusions(sites, layers)
    # strip x 40-60 grown by 10 m on each side → x 30-70 within the site: 40 × 100 m
    assert excluded["excluded_area_m2"].sum() == pytest.approx(4000.0, rel=1e-9)
    assert shapely.area(net[0]) == pytest.approx(6000.0, rel=1e-9)


def test_exclusion_filter_field_missing_excludes_the_whole_layer_with_a_note(tmp_path):
    # the water-source layer has no `level` field, so its level-1 zones cannot be selected: both
    # zones (strip x 40-60 and block x 0-40) must be cut (conservative), leaving x 60-100 = 4,000 m²
    cat = write_catalog(tmp_path, {
        "mines": ("mine_site", gdf([box(0, 0, 100, 100)], name=["矿A"], status=["废弃"])),
        "wsz": ("water_source_zone", gdf([box(40, -100, 20, 300), box(0, 0, 40, 100)], name=["甲", "乙"])),
    })
    params = bf.load_params({"exclusions": [
        {"role": "water_source_zone", "where": {"level": ["1", "一级"]}, "reason_zh": "一级", "reason_en": "level 1",
         "source": "test"}]})
    layers, notes = bf.exclusion_layers(cat, params.exclusions)
    assert len(layers) == 2
    assert len(notes) == 1
    assert "'level'" in notes[0] and "wsz" in notes[0] and "water_source_zone" in notes[0]
    assert "whole layer is excluded" in notes[0] and "整层扣除" in notes[0]
    assert "map the field in the catalog" in notes[0]
    sites = bf.candidate_sites(cat, params)
    net, excluded = bf.cut_exclusions(sites, layers)
    assert excluded["excluded_area_m2"].sum() == pytest.approx(6000.0, rel=1e-12)
    assert shapely.area(net[0]) == pytest.approx(4000.0, rel=1e-12)
    assert "whole layer" in excluded["reason_en"].iloc[0]
    # the run notes of the full ranking carry it too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        res = bf.brownfield_ranking(cat, params=params)
    assert any("'level'" in n.text() and "whole layer" in n.text() for n in res.notes)
    assert res.sites["net_area_m2"].iloc[0] == pytest.approx(4000.0, rel=1e-12)


def test_exclusion_other_filter_fields_still_apply_when_one_is_missing(tmp_path):
    # `level` is missing (taken as matching), `name` is present: only the zone named 甲 is cut
    cat = write_catalog(tmp_path, {
        "mines": ("mine_site", gdf([box(0, 0, 100, 100)], name=["矿A"], status=["废弃"])),
        "wsz": ("water_source_zone", gdf([box(40, -100, 20, 300), box(0, 0, 40, 100)], name=["甲", "乙"])),
    })
    params = bf.load_params({"exclusions": [
        {"role": "water_source_zone", "where": {"level": ["1"], "name": ["甲"]}, "reason_zh": "一级",
         "reason_en": "level 1", "source": "test"}]})
    layers, notes = bf.exclusion_layers(cat, params.exclusions)
    assert len(layers) == 1 and len(notes) == 1
    _, excluded = bf.cut_exclusions(bf.candidate_sites(cat, params), layers)
    assert excluded["excluded_area_m2"].sum() == pytest.approx(2000.0, rel=1e-12)


def test_missing_exclusion_layer_is_reported_not_skipped_silently(tmp_path):
    cat = write_catalog(tmp_path, {"mines": ("mine_site", gdf([box(0, 0, 100, 100)], name=["矿A"], status=["废弃"]))})
    layers, notes = bf.exclusion_layers(cat, bf.load_params().exclusions)
    assert len(layers) == 0
    assert any("eco_redline" in n for n in notes) and any("basic_farmland" in n for n in notes)


# ---------------------------------------------------------------------------------------------
# Capacity
# ---------------------------------------------------------------------------------------------
def test_capacity_is_net_area_times_density_exactly():
    polys = gpd.GeoSeries([box(0, 0, 60, 100), box(0, 0, 1000, 1000), shapely.MultiPolygon()], crs=CRS)
    cap = sx.ground_capacity_mw(polys)
    assert cap.tolist() == pytest.approx([0.6 * DENSITY, 100 * DENSITY, 0.0], rel=1e-12)
    assert "GB 50797" in cap.attrs["source"]
    rev = bf.ground_capacity_mw(polys, density="nrel_rev")
    assert rev.iloc[1] == pytest.approx(100 * 0.36, rel=1e-12) and "reV" in rev.attrs["source"]
    epa = bf.ground_capacity_mw(polys, density="epa_repowering")
    # 5 acres per MW: 1 ha = 10,000 / 4,046.8564224 acres
    assert epa.iloc[1] == pytest.approx(100 * 10_000 / 4046.8564224 / 5.0, rel=1e-12)
    assert bf.ground_capacity_mw(polys, mw_per_ha=0.5).iloc[0] == pytest.approx(0.3, rel=1e-12)


def test_default_density_is_the_chinese_row_layout():
    # Before: NREL reV's US figure 0.36 MW/ha, about half of a current Chinese layout.
    # Hand calculation (Duffie & Beckman eqs. 1.6.5-1.6.6): winter solstice (declination -23.44°), 9:00 true solar
    # time (hour angle -45°), latitude 31.69° N: sin(altitude) = sin31.69 sin(-23.44) + cos31.69 cos23.44 cos45
    # = 0.3430, altitude 20.06°; cos(azimuth from south) = (0.3430 sin31.69 + sin23.44) / (cos20.06 cos31.69)
    # = 0.7232; shadow length per unit height 0.7232 / tan20.06 = 1.980.  Rows at 25°:
    # GCR = 1 / (cos25 + sin25 x 1.980) = 1 / (0.9063 + 0.8368) = 0.5737; 210 W/m² x 0.5737 x 0.60 = 72.3 W/m².
    p = bf.load_params()
    assert p.capacity.default == "cn_layout"
    assert p.density.mw_per_ha == pytest.approx(0.7228, rel=1e-3)
    assert p.density.basis == "DC"
    assert "GCR 0.574" in p.density.source and "array share 0.6" in p.density.source
    assert p.densities["nrel_rev"].mw_per_ha == 0.36
    # the alternatives stay: reV is about half, EPA's 5 acres/MW about two thirds of the default
    assert 0.45 < p.densities["nrel_rev"].mw_per_ha / p.density.mw_per_ha < 0.55


def test_row_layout_inputs_are_validated():
    with pytest.raises(DataFileError, match=r"capacity.densities.cn_layout.array_share: must be <= 1, got 1.5"):
        bf.load_params({"capacity": {"densities": {"cn_layout": {"array_share": 1.5}}}})
    with pytest.raises(DataFileError, match="capacity.densities.cn_layout.tilt_deg_source: needs a non-empty source"):
        bf.load_params({"capacity": {"densities": {"cn_layout": {"tilt_deg_source": ""}}}})
    steeper = bf.load_params({"capacity": {"densities": {"cn_layout": {"tilt_deg": 35.0}}}})
    assert steeper.density.mw_per_ha < bf.load_params().density.mw_per_ha   # steeper rows cast longer shadows


def test_capacity_refuses_bad_density_and_geographic_crs():
    polys = gpd.GeoSeries([box(0, 0, 100, 100)], crs=CRS)
    with pytest.raises(InputFileError, match="mw_per_ha must be a positive"):
        bf.ground_capacity_mw(polys, mw_per_ha=-0.36)
    with pytest.raises(DataFileError, match="Unknown power density 'nrel'"):
        bf.ground_capacity_mw(polys, density="nrel")
    with pytest.raises(CRSError, match="projected CRS"):
        bf.ground_capacity_mw(polys.to_crs("EPSG:4326"))


# ---------------------------------------------------------------------------------------------
# Status, pre-screen, voltages, distances
# ---------------------------------------------------------------------------------------------
def test_readiness_takes_lowest_matching_rule_and_default():
    sites = pd.DataFrame({"site_type": ["contaminated_site", "contaminated_site", "mine_site", "mine_site", "landfill"],
                          "remediation_status": ["已修复", "已修复", None, None, None],
                          "risk_class": ["低", "高", None, None, None],
                          "status": [None, None, "闭坑", "在采", "??"]})
    r = bf.site_readiness(sites, bf.load_params())
    assert r["readiness"].tolist() == [1.0, 0.5, 1.0, 0.0, 0.5]
    assert r["eligible"].tolist() == [True, True, True, False, True]
    assert any("ecological space" in n for n in r["status_notes"].iloc[1])
    assert any("status unknown" in n for n in r["status_notes"].iloc[4])


def test_prescreen_fail_and_flag_on_missing():
    frame = pd.DataFrame({"net_area_m2": [30_000.0, 10_000.0, 30_000.0], "slope_mean_deg": [5.0, 5.0, np.nan],
                          "dist_substation_m": [1000.0, 1000.0, np.nan]})
    ok, failed, notes = bf.prescreen(frame, bf.load_params().prescreen)
    assert ok.tolist() == [True, False, False]
    assert failed[1] == ["min_area"]
    assert failed[2] == ["grid_distance"]                       # on_missing = fail
    assert any("cannot assess" in n and "slope" in n for n in notes[2])   # on_missing = flag


def test_parse_voltage_kv_reads_numbers_text_and_osm_volts():
    kv = bf.parse_voltage_kv([110, "220kV", "110000", "110000;35000", None, "abc", 35.0])
    assert kv[:4].tolist() == [110.0, 220.0, 110.0, 110.0]
    assert math.isnan(kv[4]) and math.isnan(kv[5])
    assert kv[6] == 35.0


def test_substation_distance_uses_voltage_class_of_capacity():
    site = np.array([box(0, 0, 100, 100)] * 2, dtype=object)
    subs = gdf([shapely.Point(X0 + 1100, Y0 + 50), shapely.Point(X0 + 100, Y0 + 3050), shapely.Point(X0 + 600, Y0 + 50)],
               name=["A110", "B220", "C35"], voltage_kv=[110, 220, 35])
    classes = bf.load_params().grid.classes
    out = bf.substation_distances(site, subs, classes, np.array([5.0, 150.0]))
    assert out["required_kv"].tolist() == [110.0, 220.0]
    assert out["dist_substation_m"].tolist() == pytest.approx([1000.0, 2950.0])
    assert out["substation_name"].tolist() == ["A110", "B220"]
    assert out["dist_any_substation_m"].tolist() == pytest.approx([500.0, 500.0])


def test_condition_on_unknown_column_is_refused():
    with pytest.raises(DataFileError, match="column 'slope_deg'"):
        bf.evaluate_condition(pd.DataFrame({"a": [1]}), bf.Condition(column="slope_deg", op="<=", value=15.0))


def test_conditions_hand_checked_values_and_undetermined_rows():
    frame = pd.DataFrame({"slope": [3.0, 15.0, 16.0, None, "steep"],
                          "status": [" 在采", "闭坑", None, "在采", "停产"],
                          "flag": [True, False, None, np.True_, False]})
    res, undecided = bf.evaluate_condition(frame, bf.Condition(column="slope", op="<=", value=15))
    assert res.tolist() == [True, True, False, False, False]
    assert undecided.tolist() == [False, False, False, True, True]      # missing and non-numeric
    res, undecided = bf.evaluate_condition(frame, bf.Condition(column="status", op="not_in", value=("在采",)))
    assert res.tolist() == [False, True, False, False, True]            # trimmed text; missing never matches
    assert undecided.tolist() == [False, False, True, False, False]
    res, undecided = bf.evaluate_condition(frame, bf.Condition(column="flag", op="==", value=True))
    assert res.tolist() == [True, False, False, True, False]
    assert undecided.tolist() == [False, False, True, False, False]
    # yes/no fields as shapefiles and CSVs write them (no boolean type there)
    coded = pd.DataFrame({"flag": [1, 0, "是", "否", "T", "maybe"], "code": ["15.0", "15", 15, " 16 ", "x", None]})
    res, undecided = bf.evaluate_condition(coded, bf.Condition(column="flag", op="==", value=True))
    assert res.tolist() == [True, False, True, False, True, False]
    assert undecided.tolist() == [False, False, False, False, False, True]
    res, undecided = bf.evaluate_condition(coded, bf.Condition(column="flag", op="!=", value=True))
    assert res.tolist() == [False, True, False, True, False, False]   # "maybe" is undecided, not "not true"
    res, _ = bf.evaluate_condition(coded, bf.Condition(column="code", op="==", value=15))
    assert res.tolist() == [True, True, True, False, False, False]
    res, _ = bf.evaluate_condition(coded, bf.Condition(column="code", op="not_in", value=(15, 16)))
    assert res.tolist() == [False, False, False, False, True, False]


# ---------------------------------------------------------------------------------------------
# Parameter validation
# ---------------------------------------------------------------------------------------------
def test_negative_weight_refused_and_all_problems_reported_together():
    bad = {"criteria": [{"column": "net_area_m2", "transform": "linear", "lo": 0, "hi": 1, "weight": -0.2,
                         "source": "test"},
                        {"column": "slope_mean_deg", "transform": "linear", "lo": 0, "hi": 1, "weight": 0.5}],
           "prescreen": [{"id": "x", "column": "net_area_m2", "op": "=>", "value": 1, "source": "t"}]}
    with pytest.raises(DataFileError, match=r"criteria\[0\].weight: -0.2 is negative; weights must be >= 0") as info:
        bf.load_params(bad)
    text = str(info.value)
    assert "criteria[1].source: missing required key" in text and "prescreen[0].op: must be one of" in text
    assert "got '=>'" in text and "3 problem" in text


def test_user_params_file_overrides_packaged_defaults(tmp_path):
    user = tmp_path / "bf.toml"
    user.write_text('[capacity]\ndefault = "epa_repowering"\nsource = "test: EPA density"\n', encoding="utf-8")
    p = bf.load_params(user)
    assert p.density.name == "epa_repowering"
    assert p.density.mw_per_ha == pytest.approx(10_000 / (5 * 4046.8564224))
    assert p.loaded_from.split(" + ")[1:] == [str(user.resolve())]   # packaged first, then the user file
    assert len(p.exclusions) == 5   # untouched tables stay


@pytest.mark.parametrize(("table", "key"), [
    ("mcda", "method"), ("mcda", "top_k"), ("mcda", "n_samples"), ("mcda", "seed"),
    ("status_default", "readiness"), ("yield", "location_round_deg"), ("yield", "azimuth_deg"), ("yield", "grid"),
    ("capacity", "default"), ("grid", "unknown_voltage"), ("terrain", "slope_threshold_deg"),
    ("terrain", "south_min_deg"), ("terrain", "south_max_deg"), ("terrain", "min_dem_coverage")])
def test_parameters_without_a_value_in_the_data_file_are_refused_not_defaulted(monkeypatch, table, key):
    # a user file merges over the packaged one and cannot delete keys; a packaged file edited to
    # drop one must fail by name, never fall back to a number hidden in the code
    from sanxian_yidan import datafiles

    doc = datafiles.deep_merge(datafiles.packaged(bf.DATA_FILE), {})
    del doc[table][key]
    monkeypatch.setattr(datafiles, "packaged", lambda name: doc)
    with pytest.raises(DataFileError, match=f"brownfield.toml: {table}.{key}: missing required key"):
        bf.load_params()


def test_deep_merge_merges_tables_replaces_arrays_and_copies():
    from sanxian_yidan.datafiles import deep_merge

    base = {"mcda": {"top_k": 5, "seed": 1, "ahp": {"force": False}}, "criteria": [{"a": 1}], "x": 1}
    over = {"mcda": {"top_k": 3, "ahp": {"force": True}}, "criteria": [{"b": 2}], "new": {"k": 1}}
    out = deep_merge(base, over)
    assert out == {"mcda": {"top_k": 3, "seed": 1, "ahp": {"force": True}}, "criteria": [{"b": 2}], "x": 1,
                   "new": {"k": 1}}
    assert base["mcda"] == {"top_k": 5, "seed": 1, "ahp": {"force": False}}    # inputs untouched
    out["mcda"]["seed"] = 99
    out["new"]["k"] = 2
    assert base["mcda"]["seed"] == 1 and over["new"]["k"] == 1                  # no shared tables


# ---------------------------------------------------------------------------------------------
# Whole ranking on hand-built fixtures
# ---------------------------------------------------------------------------------------------
def _fixture_catalog(tmp_path: Path, *, dem_cols: int = 60) -> Catalog:
    # DEM: 30 m cells over x 0..dem_cols*30, y 0..1800; a south-facing slope of 10 % (5.71°)
    rows = 60
    yy = (np.arange(rows) + 0.5) * 30.0                        # distance from the top edge
    elev = np.tile((100.0 + 0.1 * (1800 - yy))[:, None], (1, dem_cols))  # higher in the north
    dem = write_dem(tmp_path / "dem.tif", elev, x0=X0, y_top=Y0 + 1800, cell=30.0)
    return write_catalog(tmp_path, {
        "mines": ("mine_site", gdf([box(0, 0, 300, 300), box(600, 0, 200, 200), box(0, 900, 400, 400),
                                    box(3000, 0, 300, 300)],
                                   name=["矿A", "矿B", "矿C", "矿D"], status=["废弃", "闭坑", "废弃", "废弃"])),
        "landfills": ("landfill", gdf([box(1200, 300, 250, 250)], name=["填埋场"], status=["已封场"])),
        "redline": ("eco_redline", gdf([box(0, 0, 100, 300)], name=["红线"])),
        "subs": ("substation", gdf([shapely.Point(X0 + 900, Y0 + 1000)], name=["站"], voltage_kv=[110])),
        "roads": ("road", gdf([shapely.LineString([(X0 - 100, Y0 - 50), (X0 + 4000, Y0 - 50)])], name=["路"])),
        "towns": ("built_up_area", gdf([box(2000, 1500, 300, 300)], name=["镇"])),
    }, dem=dem)


@pytest.fixture(scope="module")
def fixture_result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bf")
    cat = _fixture_catalog(tmp)
    steps: list[tuple[str, int, int]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        result = bf.brownfield_ranking(cat, progress=lambda label, done, total: steps.append((label, done, total)))
    result.steps_reported = steps  # for the progress test
    return cat, result


def test_progress_steps_run_from_zero_to_the_announced_total(fixture_result):
    steps = fixture_result[1].steps_reported
    assert [d for _, d, _ in steps] == list(range(bf.RANKING_STEPS + 1))
    assert {t for _, _, t in steps} == {bf.RANKING_STEPS}
    assert steps[-1][0] == "完成 / done"


def test_fixture_ranking_values(fixture_result):
    _, res = fixture_result
    s = res.sites.set_index("name")
    assert s.loc["矿A", "net_area_m2"] == pytest.approx(60_000.0)            # 300×300 minus 100×300 red line
    assert s.loc["矿A", "excluded_area_m2"] == pytest.approx(30_000.0)
    assert s.loc["矿A", "capacity_mw"] == pytest.approx(6.0 * DENSITY)
    assert s.loc["矿B", "net_area_m2"] == pytest.approx(40_000.0)
    # 10 % slope facing due south: slope atan(0.1) = 5.71°, aspect 180° → fully south-facing
    assert s.loc["矿B", "slope_mean_deg"] == pytest.approx(math.degrees(math.atan(0.1)), abs=1e-6)
    assert s.loc["矿B", "south_share"] == pytest.approx(1.0)
    # grid distance from the net area: 矿B (x 600-800, y 0-200) to (900, 1000) = hypot(100, 800)
    assert s.loc["矿B", "dist_substation_m"] == pytest.approx(math.hypot(100, 800))
    assert s.loc["矿B", "dist_road_m"] == pytest.approx(50.0)
    assert s.loc["矿A", "annual_mwh"] == pytest.approx(s.loc["矿A", "capacity_mw"] * s.loc["矿A", "specific_yield_kwh_kwp"])
    assert 900 < s.loc["矿A", "specific_yield_kwh_kwp"] < 1400
    assert s.loc["矿A", "co2_t"] == pytest.approx(s.loc["矿A", "annual_mwh"] * 1000 * 0.5271 / 1000, rel=1e-9)
    assert set(res.excluded["reason_role"]) == {"eco_redline"}
    assert res.sites["synthetic"].all()


def test_totals_by_site_type_and_by_exclusion_reason(fixture_result):
    _, res = fixture_result
    by = res.by_type()
    assert list(by.index) == ["mine_site", "landfill"]                  # order of the data file's roles
    mine, fill = by.loc["mine_site"], by.loc["landfill"]
    assert mine["site_type_zh"] == "废弃矿山" and mine["sites"] == 4
    # 300² + 200² + 400² + 300² gross; 矿A loses its 100 × 300 m red-line strip
    assert mine["gross_area_m2"] == pytest.approx(380_000.0)
    assert mine["net_area_m2"] == pytest.approx(350_000.0)
    assert mine["capacity_mw"] == pytest.approx(35 * DENSITY)
    assert fill["sites"] == 1 and fill["gross_area_m2"] == pytest.approx(62_500.0)
    assert fill["capacity_mw"] == pytest.approx(6.25 * DENSITY)
    ranked = res.sites[res.sites["rank"].notna()]
    assert by["ranked"].sum() == len(ranked)
    assert mine["ranked"] == (ranked["site_type"] == "mine_site").sum()
    assert by["annual_mwh"].sum() == pytest.approx(res.sites["annual_mwh"].sum())
    assert by["co2_t"].sum() == pytest.approx(res.totals()["co2_t"])
    ex = res.excluded_by_reason()
    assert list(ex.index) == ["eco_redline"]
    assert ex.loc["eco_redline", "parts"] == 1
    assert ex.loc["eco_redline", "excluded_area_m2"] == pytest.approx(30_000.0)


def test_dem_not_covering_a_site_is_reported_per_site(fixture_result):
    _, res = fixture_result
    d = res.sites.set_index("name").loc["矿D"]              # x 3000-3300 lies east of the 1,800 m DEM
    assert d["dem_coverage"] == 0.0
    assert math.isnan(d["slope_mean_deg"])
    assert "DEM does not cover the site" in d["reasons"]
    assert "cannot assess" in d["reasons"]                   # slope pre-screen flagged, not failed
    assert bool(d["prescreen_pass"])


def test_ranked_sites_are_those_passing_prescreen(fixture_result):
    _, res = fixture_result
    s = res.sites
    ranked = s[s["rank"].notna()]
    assert (ranked["prescreen_pass"]).all()
    assert sorted(ranked["rank"].astype(int)) == list(range(1, len(ranked) + 1))
    assert (ranked.sort_values("rank")["score"].diff().dropna() <= 1e-12).all()
    assert ranked["p_top_k"].between(0, 1).all()
    assert s.loc[~s["prescreen_pass"], "rank"].isna().all()


def test_ranking_stable_under_permutation_of_input_order(tmp_path, fixture_result):
    cat, _ = fixture_result
    parcels = gdf([box(1600, 0, 200, 200), box(1900, 0, 150, 300), box(2200, 0, 200, 150)],
                  name=["地块1", "地块2", "地块3"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        a = bf.brownfield_ranking(cat, parcels=parcels).sites
        shuffled = parcels.iloc[[2, 0, 1]].reset_index(drop=True)
        b = bf.brownfield_ranking(cat, parcels=shuffled).sites
    cols = ["site_id", "name", "net_area_m2", "score", "rank", "p_top_k"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a["site_type"].eq("parcel").sum() == 3


def test_weights_not_summing_to_one_are_normalised_with_warning(tmp_path, fixture_result):
    cat, res = fixture_result
    doubled = [{"column": c.column, "transform": c.transform, "benefit": c.benefit, "weight": 2 * c.weight,
                "source": c.source, **dict(c.options)} for c in res.params.criteria]
    with pytest.warns(SanxianWarning, match="sum"):
        again = bf.brownfield_ranking(cat, params={"criteria": doubled})
    assert again.weights.sum() == pytest.approx(1.0)
    pd.testing.assert_series_equal(again.sites["score"], res.sites["score"])


# ---------------------------------------------------------------------------------------------
# Sample catalog end to end (real values, consistency)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        return bf.brownfield_ranking(Catalog.load(SAMPLE))


def test_sample_areas_consistent(sample_result):
    s, ex = sample_result.sites, sample_result.excluded
    assert len(s) == 58 + 6 + 6 + 12
    assert (s["net_area_m2"] <= s["gross_area_m2"] + 1e-6).all()
    assert (s["net_area_m2"] >= 0).all()
    assert s["gross_area_m2"].sum() == pytest.approx(s["net_area_m2"].sum() + ex["excluded_area_m2"].sum(), rel=1e-9)
    per_site = ex.groupby("site_id")["excluded_area_m2"].sum()
    assert s.set_index("site_id")["excluded_area_m2"].reindex(per_site.index).to_numpy() == pytest.approx(
        per_site.to_numpy(), rel=1e-9)
    assert s["capacity_mw"].to_numpy() == pytest.approx(s["net_area_m2"].to_numpy() / 10_000 * DENSITY, rel=1e-12)
    # geometry of each site is its net area
    assert shapely.area(s.geometry.values) == pytest.approx(s["net_area_m2"].to_numpy(), rel=1e-9, abs=1e-6)


def test_sample_values_plausible(sample_result):
    s = sample_result.sites
    has = s["net_area_m2"] > 0
    assert s.loc[has, "specific_yield_kwh_kwp"].between(950, 1350).all()
    assert s.loc[has, "slope_mean_deg"].between(0, 45).all()
    assert s.loc[has, "dist_substation_m"].between(0, 60_000).all()
    # an operating mine (在采) is never ranked
    assert s.loc[s["status"] == "在采", "rank"].isna().all()
    ranked = s[s["rank"].notna()]
    assert len(ranked) >= 5
    assert ranked["net_area_m2"].min() >= 20_234.28
    assert ranked["p_top_k"].between(0, 1).all()
    assert ranked.sort_values("rank")["p_top_k"].iloc[0] >= ranked["p_top_k"].median()


# ---------------------------------------------------------------------------------------------
# AHP weights, TOPSIS, real OSM substations
# ---------------------------------------------------------------------------------------------
_THREE = [{"column": "net_area_m2", "transform": "linear", "lo": 20234.28, "hi": 200000.0, "benefit": True,
           "source": "test"},
          {"column": "dist_substation_m", "transform": "linear", "lo": 0.0, "hi": 10000.0, "benefit": False,
           "source": "test"},
          {"column": "slope_mean_deg", "transform": "linear", "lo": 0.0, "hi": 15.0, "benefit": False,
           "source": "test"}]


def test_ahp_weights_from_data_file(fixture_result):
    from sanxian_yidan.mcda import ahp_weights

    cat, _ = fixture_result
    matrix = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    params = {"criteria": _THREE, "mcda": {"ahp": {"order": ["net_area_m2", "dist_substation_m", "slope_mean_deg"],
                                                   "matrix": matrix, "source": "test judgments"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        res = bf.brownfield_ranking(cat, params=params)
    w, cr = ahp_weights(matrix)
    assert res.weights.to_numpy() == pytest.approx(w, abs=1e-12)
    assert res.weights.attrs["consistency_ratio"] == pytest.approx(cr)
    assert res.weights.to_numpy() == pytest.approx([0.637, 0.258, 0.105], abs=1e-3)   # Saaty's 3×3 example
    # the matrix order need not follow the criteria order
    shuffled = {"criteria": _THREE, "mcda": {"ahp": {"order": ["slope_mean_deg", "net_area_m2", "dist_substation_m"],
                                                     "matrix": [[1, 1 / 5, 1 / 3], [5, 1, 3], [3, 1 / 3, 1]],
                                                     "source": "test"}}}
    assert bf.criterion_weights(bf.load_params(shuffled).mcda_spec()).to_numpy() == pytest.approx(w, abs=1e-9)


def test_ahp_inconsistent_or_not_reciprocal_is_refused():
    from sanxian_yidan.mcda import McdaError

    order = ["net_area_m2", "dist_substation_m", "slope_mean_deg"]
    bad = bf.load_params({"criteria": _THREE, "mcda": {"ahp": {"order": order, "source": "t",
                                                               "matrix": [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]}}})
    with pytest.raises(McdaError, match="inconsistent"):
        bf.criterion_weights(bad.mcda_spec())
    forced = bf.load_params({"criteria": _THREE, "mcda": {"ahp": {"order": order, "source": "t", "force": True,
                                                                  "matrix": [[1, 9, 1 / 9], [1 / 9, 1, 9],
                                                                             [9, 1 / 9, 1]]}}})
    with pytest.warns(SanxianWarning, match="force"):
        bf.criterion_weights(forced.mcda_spec())
    not_reciprocal = bf.load_params({"criteria": _THREE, "mcda": {"ahp": {"order": order, "source": "t",
                                                                          "matrix": [[1, 3, 5], [3, 1, 3], [1 / 5, 1 / 3, 1]]}}})
    with pytest.raises(McdaError, match="recipro"):
        bf.criterion_weights(not_reciprocal.mcda_spec())


def test_topsis_method_ranks_the_same_sites(fixture_result):
    cat, res = fixture_result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        top = bf.brownfield_ranking(cat, params={"mcda": {"method": "topsis"}}).sites
    ranked = top[top["rank"].notna()]
    assert set(ranked["site_id"]) == set(res.sites.loc[res.sites["rank"].notna(), "site_id"])
    assert ranked["score"].dropna().between(0, 1).all()
    assert top.loc[top["rank"].isna(), "score"].isna().all()     # TOPSIS is relative to the ranked set only


def test_real_osm_substations_by_voltage_class(reference_gpkg, sample_result):
    subs = gpd.read_file(reference_gpkg, layer="osm_substations").to_crs(CRS)
    subs = subs.rename(columns={"voltage": "voltage_kv"})          # OSM text such as "110000;35000" [V]
    kv = bf.parse_voltage_kv(subs["voltage_kv"])
    assert np.nanmax(kv) >= 220 and (kv[~np.isnan(kv)] >= 10).all()
    sites = sample_result.sites
    has_net = ~shapely.is_empty(sites.geometry.values)
    geoms = sites.geometry.values[has_net]
    cap = sites.loc[has_net, "capacity_mw"].to_numpy()
    out = bf.substation_distances(geoms, subs, bf.load_params().grid.classes, cap)
    assert (out["substation_kv"] >= 110).all()
    assert (out["dist_substation_m"] >= out["dist_any_substation_m"] - 1e-9).all()
    assert out["dist_substation_m"].between(0, 40_000).all()       # Suizhou is well covered by 110 kV stations


# ---------------------------------------------------------------------------------------------
# Data coverage, county of every site, searches reaching beyond the data, provenance
# ---------------------------------------------------------------------------------------------
# Two counties side by side: 甲县 x 0-2000 m, 乙县 x 2000-4000 m (y 0-2000 m); the catalog's data
# coverage is their union.
def _counties() -> gpd.GeoDataFrame:
    return gdf([box(0, 0, 2000, 2000), box(2000, 0, 2000, 2000)], name=["甲县", "乙县"], code=["1", "2"])


def _coverage_catalog(tmp: Path, *, real: frozenset[str]) -> Catalog:
    return write_catalog(tmp, {
        "counties": ("admin_boundary", _counties()),
        "redline": ("eco_redline", gdf([box(3000, 1500, 200, 200)], name=["红线"])),
        "subs": ("substation", gdf([shapely.Point(X0 + 1100, Y0 + 950)], name=["站"], voltage_kv=[110])),
    }, real=real)


def _parcels() -> gpd.GeoDataFrame:
    return gdf([box(500, 500, 300, 300), box(2500, 500, 300, 300), box(5000, 500, 300, 300),
                box(3850, 1000, 200, 200), box(100, 900, 100, 100)],
               name=["甲地块", "乙地块", "境外地块", "跨界地块", "边缘地块"])


@pytest.mark.parametrize("redline_real", [False, True])
def test_parcels_outside_coverage_not_ranked_and_every_parcel_gets_its_county(tmp_path, redline_real):
    real = frozenset({"counties", "subs"} | ({"redline"} if redline_real else set()))
    cat = _coverage_catalog(tmp_path, real=real)
    with pytest.warns(SanxianWarning, match="outside the data coverage"):
        res = bf.brownfield_ranking(cat, parcels=_parcels())
    s = res.sites.set_index("name")
    # share of each parcel outside the two counties, by hand: 0, 0, all, 50 of 200 m, 0
    assert s["outside_coverage_share"].to_dict() == pytest.approx(
        {"甲地块": 0.0, "乙地块": 0.0, "境外地块": 1.0, "跨界地块": 0.25, "边缘地块": 0.0}, abs=1e-9)
    assert s["county"].to_dict() == {"甲地块": "甲县", "乙地块": "乙县", "境外地块": bf.OUTSIDE_COVERAGE_LABEL,
                                     "跨界地块": "乙县", "边缘地块": "甲县"}
    # the two parcels inside pass the pre-screen (9 ha, substation within 10 km, no DEM: slope flagged)
    # (no DEM: slope unknown, so no score; the two are ranked 1 and 2 by id, the others not at all)
    assert sorted(s.loc[["甲地块", "乙地块"], "rank"].astype(int)) == [1, 2]
    assert s.loc[["境外地块", "跨界地块"], "rank"].isna().all()
    assert "outside coverage" in s.loc["境外地块", "reasons"] and "超出数据范围" in s.loc["境外地块", "reasons"]
    assert "25% of the site lies outside" in s.loc["跨界地块", "reasons"]
    listed = [n.text() for n in res.notes if "outside the data coverage" in n.text()]
    assert len(listed) == 1 and "parcel-境外地块 (100%)" in listed[0] and "parcel-跨界地块 (25%)" in listed[0]
    # provenance: the parcels are real, but the red line (read for every parcel) may be synthetic
    expected = "none" if redline_real else "redline"
    assert set(s["synthetic_layers"]) == {expected}
    assert s["synthetic"].tolist() == [not redline_real] * len(s)
    assert res.synthetic is (not redline_real)
    assert res.synthetic_layers == ([] if redline_real else ["redline"])


def _disc_share_outside(x0: float, y0: float, x1: float, y1: float, r: float, *, step: float = 2.0) -> float:
    """Share of {points within r of the box [x0,x1]x[y0,y1]} with x < 0, counted on a grid (independent
    of shapely's polygonal buffer)."""
    xs = np.arange(x0 - r, x1 + r, step) + step / 2
    ys = np.arange(y0 - r, y1 + r, step) + step / 2
    gx, gy = np.meshgrid(xs, ys)
    dx = np.maximum(np.maximum(x0 - gx, gx - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - gy, gy - y1), 0.0)
    inside = dx ** 2 + dy ** 2 <= r ** 2
    return float((inside & (gx < 0)).sum() / inside.sum())


def test_distance_search_reaching_beyond_the_data_is_edge_limited(tmp_path):
    cat = _coverage_catalog(tmp_path, real=frozenset({"counties", "subs", "redline"}))
    with pytest.warns(SanxianWarning):
        res = bf.brownfield_ranking(cat, parcels=_parcels())
    s = res.sites.set_index("name")
    edge = s.loc["边缘地块"]                       # x 100-200, y 900-1000: 100 m from the data's west edge
    assert edge["dist_substation_m"] == pytest.approx(900.0)        # to (1100, 950)
    share = _disc_share_outside(100, 900, 200, 1000, 900.0)         # ≈ 0.34 of the 900 m search area
    assert bool(edge["edge_limited"])
    # phrased for planners: the column's name from the column registry, the distance with its unit
    note = next(p for p in edge["reasons"].split("; ") if p.startswith("距所需电压等级变电站距离 900 m 仅为上限"))
    assert "dist_substation_m" not in note
    found = re.search(r"Distance to substation of the required voltage: 900 m is only an upper bound, (\d+)% of the "
                      r"area within 900 m lies outside the data coverage", note)
    assert found, note
    assert int(found.group(1)) / 100 == pytest.approx(share, abs=0.01)
    # 甲地块's 335 m search around it stays inside the data: nothing to flag
    assert not bool(s.loc["甲地块", "edge_limited"]) and "upper bound" not in s.loc["甲地块", "reasons"]
    # the site across the outer edge: its exclusions are partly unknown too
    assert "hard exclusions partly unknown: 25% of the site" in s.loc["跨界地块", "reasons"]


def test_outside_shares_matches_a_grid_count():
    cov = shapely.box(0, 0, 4000, 2000)
    geoms = np.array([shapely.box(100, 900, 200, 1000), shapely.box(1000, 900, 1100, 1000), None], dtype=object)
    got = bf.outside_shares(geoms, cov, np.array([900.0, 900.0, 10.0]))
    assert got[0] == pytest.approx(_disc_share_outside(100, 900, 200, 1000, 900.0), abs=0.01)
    assert got[1] == 0.0 and np.isnan(got[2])
    assert np.isnan(bf.outside_shares(geoms[:1], None)).all()          # coverage unknown: nan, not 0


def test_county_view_keeps_constraints_across_the_county_line(tmp_path):
    # A mine in 甲县 50 m from 乙县; the red line (100 m buffer), the substation and the built-up land
    # all lie in 乙县.  Analysing 甲县 alone must still see them (edge-correct buffers).
    cat = write_catalog(tmp_path, {
        "counties": ("admin_boundary", _counties()),
        "mines": ("mine_site", gdf([box(1700, 900, 250, 250), box(2600, 300, 300, 300)],
                                   name=["边界矿", "乙县矿"], status=["废弃", "废弃"])),
        "redline": ("eco_redline", gdf([box(2000, 900, 100, 300)], name=["红线"])),
        "subs": ("substation", gdf([shapely.Point(X0 + 2300, Y0 + 1000)], name=["站"], voltage_kv=[110])),
        "town": ("built_up_area", gdf([box(2100, 1300, 200, 200)], name=["镇"])),
    })
    params = {"exclusions": [{"role": "eco_redline", "reason_zh": "生态保护红线", "reason_en": "red line",
                              "buffer_m": 100.0, "source": "test: 100 m buffer"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        whole = bf.brownfield_ranking(cat, params=params).sites.set_index("name")
        view = bf.brownfield_ranking(cat.restricted_to("甲县"), params=params).sites.set_index("name")
    assert list(view.index) == ["边界矿"]                      # the view assesses 甲县's mines only
    for res in (whole, view):
        m = res.loc["边界矿"]
        assert m["excluded_area_m2"] == pytest.approx(50.0 * 250.0)   # x 1900-1950 within 100 m of the red line
        assert m["dist_substation_m"] == pytest.approx(400.0)        # net area x 1700-1900 to x 2300
        assert m["dist_setback_m"] == pytest.approx(math.hypot(200.0, 150.0))
        assert m["county"] == "甲县" and m["outside_coverage_share"] == 0.0
        assert not bool(m["edge_limited"])     # 乙县 is data in the view too: nothing beyond the data here


def test_parcel_synthetic_flags_written_as_text_are_read_as_written(tmp_path):
    cat = _coverage_catalog(tmp_path, real=frozenset({"counties", "subs", "redline"}))
    parcels = _parcels().iloc[:2].assign(synthetic=["否", "true"], layer_id=["survey", "sketch"])
    res = bf.brownfield_ranking(cat, parcels=parcels)
    s = res.sites.set_index("name")
    assert s["synthetic"].to_dict() == {"甲地块": False, "乙地块": True}
    assert s["synthetic_layers"].to_dict() == {"甲地块": "none", "乙地块": "sketch"}
    assert res.synthetic_layers == ["sketch"]


def test_engine_names_stay_importable_from_brownfield_sites_with_a_deprecation_warning() -> None:
    """brownfield.sites no longer re-exports the site engine: its former names still resolve, to the engine's
    own objects, with a DeprecationWarning naming the new place; an unknown name is still an AttributeError."""
    from sanxian_yidan import siteengine
    from sanxian_yidan.brownfield import sites

    moved = r"brownfield\.sites\.terrain_table is deprecated.*use sanxian_yidan\.siteengine\.terrain_table"
    with pytest.warns(DeprecationWarning, match=moved):
        assert sites.terrain_table is siteengine.terrain_table
    with pytest.warns(DeprecationWarning):
        assert sites.OUTSIDE_COVERAGE_LABEL == siteengine.OUTSIDE_COVERAGE_LABEL
    with pytest.raises(AttributeError, match="no_such_name"):
        sites.no_such_name  # noqa: B018
