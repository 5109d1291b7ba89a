"""Tests of sanxian_yidan.mines: overlaps, 两线 visibility, mode rules, focus areas, sample run."""

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

from sanxian_yidan import mines as mn
from sanxian_yidan import terrain
from sanxian_yidan.catalog import Catalog, canonical_fields
from sanxian_yidan.errors import DataFileError, SanxianWarning

X0, Y0 = 440_000.0, 3_507_000.0
CRS = "EPSG:4547"
SAMPLE = Path(__file__).resolve().parents[1] / "layers" / "catalog.toml"


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def gdf(geoms: list, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=CRS)


def write_catalog(tmp: Path, layers: dict[str, tuple[str, gpd.GeoDataFrame]], *, dem: Path | None = None) -> Catalog:
    gpkg = tmp / "fixture.gpkg"
    lines = ["[catalog]", 'title_zh = "测试"', 'title_en = "test"', f'working_crs = "{CRS}"', ""]
    for lid, (role, frame) in layers.items():
        frame.to_file(gpkg, layer=lid, driver="GPKG")
        lines += ["[[layers]]", f'id = "{lid}"', f'role = "{role}"', 'path = "fixture.gpkg"', f'layer = "{lid}"',
                  'title_zh = "测试"', 'title_en = "test"', 'source = "hand-built test fixture"', 'licence = "CC0"',
                  "synthetic = true", "[layers.fields]"]
        lines += [f'{c} = "{c}"' for c in frame.columns if c in canonical_fields()]
        lines.append("")
    if dem is not None:
        lines += ["[[layers]]", 'id = "dem"', 'role = "dem"', f'path = "{dem.name}"', 'title_zh = "测试"',
                  'title_en = "test"', 'source = "synthetic test DEM"', 'licence = "CC0"', "synthetic = true", ""]
    (tmp / "catalog.toml").write_text("\n".join(lines), encoding="utf-8")
    return Catalog.load(tmp / "catalog.toml")


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------
def test_overlap_share_exact_and_counted_once():
    geoms = np.array([box(0, 0, 100, 100), box(500, 0, 100, 100)], dtype=object)
    targets = np.array([box(0, -10, 30, 200), box(20, -10, 30, 200)], dtype=object)   # union x 0-50
    share = mn.overlap_share(geoms, targets)
    assert share.tolist() == pytest.approx([0.5, 0.0], abs=1e-12)


def _mode_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "status": ["在采", "废弃", "废弃", "闭坑", "废弃", "废弃"],
        "protected_share": [1.0, 0.8, 0.0, 0.0, 0.0, 0.0],
        "visible_share": [0.9, 0.9, 0.3, 0.0, 0.0, 0.0],
        "in_sanqu": [True, False, False, True, False, False],
        "pv_prescreen_pass": [True, True, True, True, True, False]})


def test_mode_rules_first_match_wins():
    modes = mn.recommend_mode(_mode_frame(), mn.load_params().modes)
    assert modes["mode"].tolist() == ["restore_while_mining", "natural_recovery", "regreening", "regreening",
                                      "pv_restoration", "natural_recovery"]
    assert modes["mode_rule"].tolist() == [0, 1, 2, 3, 4, 5]
    assert "(九)" in modes["mode_source"].iloc[1] and "(十二)" in modes["mode_source"].iloc[4]
    assert modes["mode_zh"].iloc[4] == "光伏+生态修复"


def test_mode_rules_without_default_or_with_bad_operator_are_refused():
    rules = [{"id": "a", "when": [{"column": "visible_share", "op": "~", "value": 1}], "source": "t"},
             {"id": "b", "when": [{"column": "visible_share", "op": ">", "value": 0.5}], "source": "t"}]
    with pytest.raises(DataFileError, match=r"modes\[1\].when: the last mode rule must have") as info:
        mn.load_params({"modes": rules})
    assert "modes[0].when[0].op: must be one of" in str(info.value) and "got '~'" in str(info.value)


def test_focus_area_by_township_then_name_then_cluster():
    frame = pd.DataFrame({"township": ["吴山镇", "Fujia", "Wanhe", "Fujia", "Fujia"],
                          "name": ["矿1", "吴山镇花岗岩矿点21", "矿3", "矿4", "Wushan quarry"],
                          "cluster": ["", "", "", "万和镇", ""]})
    out = mn.assign_focus_areas(frame, mn.load_params().focus_areas)
    assert out["focus_area"].tolist() == ["吴山镇", "吴山镇", "万和镇", "万和镇", ""]
    assert out["focus_basis"].tolist() == ["township", "name", "township", "cluster", ""]



def test_focus_area_reads_a_categorical_township_column_with_gaps():
    """A township column given as a pandas Categorical (with a missing value) is matched like text."""
    frame = pd.DataFrame({"township": pd.Categorical(["吴山镇", None, "Fujia"]),
                          "name": ["矿1", "万和镇采石场", "矿3"]})
    out = mn.assign_focus_areas(frame, mn.load_params().focus_areas)
    assert out["focus_area"].tolist() == ["吴山镇", "万和镇", ""]
    assert out["focus_basis"].tolist() == ["township", "name", ""]

# ---------------------------------------------------------------------------------------------
# Visibility on a synthetic ridge
# ---------------------------------------------------------------------------------------------
CELL = 30.0
N = 80   # 2,400 m × 2,400 m


def _ridge_catalog(tmp: Path) -> Catalog:
    # flat plain at 100 m with a 60 m high wall at x 1500-1560 m; a road runs north-south at x = 1200 m
    import rasterio

    elev = np.full((N, N), 100.0)
    xc = (np.arange(N) + 0.5) * CELL
    elev[:, (xc >= 1500) & (xc <= 1560)] = 160.0
    with rasterio.open(tmp / "dem.tif", "w", driver="GTiff", height=N, width=N, count=1, dtype="float32", crs=CRS,
                       transform=Affine(CELL, 0, X0, 0, -CELL, Y0 + N * CELL), nodata=-9999.0) as dst:
        dst.write(elev.astype("float32"), 1)
    road = shapely.LineString([(X0 + 1200, Y0 + 100), (X0 + 1200, Y0 + 2300)])
    return write_catalog(tmp, {
        "mines": ("mine_site", gdf([box(1260, 1000, 180, 180), box(1680, 1000, 180, 180)],
                                   name=["路边矿", "岭后矿"], status=["废弃", "废弃"])),
        "roads": ("road", gdf([road], name=["示意公路"], category=["provincial"])),
    }, dem=tmp / "dem.tif")


@pytest.fixture(scope="module")
def ridge(tmp_path_factory):
    cat = _ridge_catalog(tmp_path_factory.mktemp("ridge"))
    steps: list[tuple[str, int, int]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        result = mn.run_mines(cat, progress=lambda label, done, total: steps.append((label, done, total)))
    result.steps_reported = steps  # for the progress test
    return cat, result


def test_progress_steps_run_from_zero_to_the_announced_total(ridge):
    steps = ridge[1].steps_reported
    assert [d for _, d, _ in steps] == list(range(mn.PRIORITY_STEPS + 1))
    assert {t for _, _, t in steps} == {mn.PRIORITY_STEPS}


def test_ridge_hides_the_mine_behind_it(ridge):
    _, res = ridge
    s = res.mines.set_index("name")
    assert s.loc["路边矿", "visible_share"] == pytest.approx(1.0)
    assert s.loc["岭后矿", "visible_share"] == pytest.approx(0.0)
    assert s.loc["路边矿", "dist_line_m"] == pytest.approx(60.0)
    assert s.loc["路边矿", "nearest_line"] == "示意公路"
    # visible → regreening (三区两线); hidden, flat, but no substation → not PV: natural recovery
    assert s.loc["路边矿", "mode"] == "regreening"
    assert s.loc["岭后矿", "mode"] == "natural_recovery"
    assert s.loc["路边矿", "priority"] > s.loc["岭后矿", "priority"]
    assert s.loc["路边矿", "rank"] == 1


def test_window_clipping_gives_the_same_share_as_the_whole_lines(ridge):
    cat, _ = ridge
    dem = terrain.read_dem(cat.raster_path("dem"))
    full = terrain.visibility_from_lines(cat.read("road"), dem)
    mines = cat.read("mine_site")
    whole = terrain.visible_share(mines, full, dem).to_numpy()
    clipped, _ = mn.mine_visibility(mines, mn.line_features(cat, mn.load_params().lines)[0], dem, mn.load_params())
    assert clipped.tolist() == whole.tolist()


def test_precomputed_visibility_is_used(ridge):
    cat, _ = ridge
    dem = terrain.read_dem(cat.raster_path("dem"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        res = mn.mine_priorities(cat, dem=dem, visibility=np.zeros(dem.shape, dtype=bool))
    assert res["visible_share"].tolist() == [0.0, 0.0]


def test_without_dem_visibility_and_slope_are_reported_missing(tmp_path):
    cat = write_catalog(tmp_path, {
        "mines": ("mine_site", gdf([box(0, 0, 200, 200)], name=["矿"], status=["废弃"])),
        "roads": ("road", gdf([shapely.LineString([(X0 - 50, Y0), (X0 - 50, Y0 + 300)])], name=["路"],
                              category=["national"])),
    })
    result = mn.run_mines(cat)
    res = result.mines
    assert math.isnan(res["visible_share"].iloc[0])
    assert math.isnan(res["slope_mean_deg"].iloc[0])
    assert "no DEM" in res["reasons"].iloc[0]
    assert any("no DEM" in n.text() for n in result.notes)
    assert res["mode"].iloc[0] in {"natural_recovery", "regreening", "pv_restoration"}


# ---------------------------------------------------------------------------------------------
# Sample catalog: 吴山镇 and 万和镇 (clause (九)) must come out meaningful
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        return mn.run_mines(Catalog.load(SAMPLE))


@pytest.fixture(scope="module")
def sample(sample_result):
    return sample_result.mines


def test_sample_rows_and_ranges(sample):
    assert len(sample) == 58
    assert sample["visible_share"].between(0, 1).all()
    assert sample["priority"].between(0, 1).all()
    assert set(sample["mode"]) <= {"restore_while_mining", "natural_recovery", "regreening", "pv_restoration"}
    ranked = sample[sample["rank"].notna()]
    assert sorted(ranked["rank"].astype(int)) == list(range(1, len(ranked) + 1))
    assert set(ranked["status"]) <= {"废弃", "闭坑"}
    operating = sample[sample["status"] == "在采"]
    assert len(operating) == 19 and operating["rank"].isna().all()
    assert (operating["mode"] == "restore_while_mining").all()
    # mines mostly inside the red line / reserves are never recommended for PV
    assert not ((sample["protected_share"] >= 0.5) & (sample["mode"] == "pv_restoration")).any()
    assert sample["synthetic"].all()


def test_sample_focus_areas_wushan_and_wanhe(sample, sample_result):
    focus = sample_result.tables["focus_summary"].set_index("area")
    # the sample's quarry clusters: 24 around 吴山镇 and 20 around 万和镇 (layers/README.md)
    assert focus.loc["吴山镇", "mines"] == (sample["cluster"] == "吴山镇").sum() == 24
    assert focus.loc["万和镇", "mines"] == (sample["cluster"] == "万和镇").sum() == 20
    for town in ("吴山镇", "万和镇"):
        sub = sample[sample["focus_area"] == town]
        assert focus.loc[town, "abandoned_or_closed"] == sub["status"].isin(["废弃", "闭坑"]).sum() > 0
        assert focus.loc[town, "gross_area_m2"] == pytest.approx(sub["gross_area_m2"].sum())
        assert "(九)" in focus.loc[town, "source"]
        modes = sum(focus.loc[town, c] for c in focus.columns if c.startswith("mode_"))
        assert modes == focus.loc[town, "mines"]
    assert focus.loc["万和镇", "visible_mines"] >= 1


def test_visible_mines_near_lines(sample):
    seen = sample[sample["visible_share"] > 0]
    assert len(seen) >= 3
    assert (seen["dist_line_m"] <= 1000.0 + 1e-6).all()


# ---------------------------------------------------------------------------------------------
# Visibility raster kept with the result and written as visibility.tif
# ---------------------------------------------------------------------------------------------
def test_visibility_raster_is_kept_and_equals_the_viewshed_of_the_whole_lines(ridge):
    import copy

    cat, res = ridge
    raster = res.visibility
    assert isinstance(raster, mn.VisibilityRaster)
    dem = terrain.read_dem(cat.raster_path("dem"))
    expected = terrain.visibility_from_lines(cat.read("road"), dem)
    assert np.array_equal(raster.visible, expected)
    # the wall (x 1500-1560 m) hides everything east of it; the road side is seen within 1 km
    row = N // 2
    assert raster.visible[row, int(1290 // CELL)] and not raster.visible[row, int(1750 // CELL)]
    assert raster.synthetic and raster.lines == ("roads",)
    assert raster.settings["max_distance_m"][0] == 1000.0 and "terrain.toml" in raster.settings["max_distance_m"][1]
    # copies of the result share the (read-only) raster instead of copying the grid
    assert copy.deepcopy(res).visibility is raster
    assert not raster.visible.flags.writeable


def test_write_outputs_writes_visibility_tif_on_the_dem_grid(ridge, tmp_path):
    import rasterio

    cat, res = ridge
    paths = mn.write_outputs(res, tmp_path)
    assert paths["visibility"] == tmp_path / "visibility.tif"
    dem = terrain.read_dem(cat.raster_path("dem"))
    with rasterio.open(paths["visibility"]) as src:
        data = src.read(1)
        assert src.dtypes[0] == "uint8" and src.nodata == 255
        assert src.crs == dem.crs and src.transform == dem.transform and data.shape == dem.shape
        tags = src.tags()
    assert np.array_equal(data, res.visibility.visible.astype(np.uint8))   # no nodata cell
    assert tags["SYNTHETIC"].startswith("SYNTHETIC")
    assert tags["MAX_DISTANCE_M"] == "1000" and tags["SPACING_M"] == "100" and tags["EYE_HEIGHT_M"] == "1.2"
    assert "JTG D20" in tags["EYE_HEIGHT_M_SOURCE"] and "三区两线" in tags["MAX_DISTANCE_M_SOURCE"]
    assert tags["LINES"] == "roads" and "dem.tif" in tags["DEM"]


def test_visibility_tif_marks_cells_outside_the_dem_as_nodata(tmp_path):
    import rasterio

    elev = np.array([[100.0, np.nan], [100.0, 100.0]])
    dem = terrain.Dem(elev, Affine(30.0, 0, X0, 0, -30.0, Y0 + 60), CRS, source="hand-made", synthetic=False)
    visible = np.array([[True, False], [False, True]])
    raster = mn.VisibilityRaster(visible, dem, {"max_distance_m": (500.0, "test")}, ("roads",), False, "test")
    with rasterio.open(raster.write(tmp_path / "v.tif")) as src:
        assert src.read(1).tolist() == [[1, 255], [0, 1]]
        tags = src.tags()
    assert tags["SYNTHETIC"] == "no" and tags["MAX_DISTANCE_M"] == "500" and tags["MAX_DISTANCE_M_SOURCE"] == "test"


def test_visibility_settings_from_mines_toml_carry_its_source():
    p = mn.load_params({"visibility": {"max_distance_m": 500.0, "source": "test: 500 m local rule"}})
    s = mn.visibility_settings(p)
    assert s["max_distance_m"] == (500.0, "data/mines.toml [visibility]: test: 500 m local rule")
    assert s["eye_height_m"][0] == 1.2 and "terrain.toml" in s["eye_height_m"][1]


def test_without_dem_no_raster_is_kept_or_written(tmp_path):
    cat = write_catalog(tmp_path, {
        "mines": ("mine_site", gdf([box(0, 0, 200, 200)], name=["矿"], status=["废弃"])),
        "roads": ("road", gdf([shapely.LineString([(X0 - 50, Y0), (X0 - 50, Y0 + 300)])], name=["路"],
                              category=["national"])),
    })
    res = mn.run_mines(cat)
    assert res.visibility is None
    out = tmp_path / "out"
    out.mkdir()
    (out / "visibility.tif").write_bytes(b"stale raster of an earlier run")
    paths = mn.write_outputs(res, out)
    assert "visibility" not in paths and not (out / "visibility.tif").exists()


# ---------------------------------------------------------------------------------------------
# top k from the parameters; pre-screen tests mines cannot evaluate
# ---------------------------------------------------------------------------------------------
def test_focus_summary_and_csv_header_use_the_configured_top_k(ridge, tmp_path):
    cat, res = ridge
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        one = mn.run_mines(cat, params={"mcda": {"top_k": 1}})
    assert one.top_k == 1
    assert one.tables["focus_summary"]["top_k"].sum() == 1   # ranks 1 and 2, top 1
    assert res.tables["focus_summary"]["top_k"].sum() == 2   # default top 10
    mn.write_outputs(one, tmp_path)
    header = pd.read_csv(tmp_path / "mines_focus_areas.csv", encoding="utf-8-sig").columns
    assert "前1名矿山 / Mines in top 1" in header and not any("10" in h for h in header)


def test_pv_prescreen_notes_tests_on_columns_mines_do_not_have(ridge):
    from sanxian_yidan import brownfield as bf

    cat, _ = ridge
    base = bf.load_params()
    tests = [{"id": t.id, "column": t.column, "op": t.op, "value": t.value, "on_missing": t.on_missing,
              "source": t.source} for t in base.prescreen]
    tests.append({"id": "ready", "column": "readiness", "op": ">=", "value": 0.5, "source": "test"})
    bp = bf.load_params({"prescreen": tests})
    mines = cat.read("mine_site")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        frame, notes = mn.pv_prescreen(mines, cat, bp, terrain.read_dem(cat.raster_path("dem")))
    dropped = [n for n in notes if "not applied" in n and "'ready'" in n]
    assert len(dropped) == 1 and "'readiness'" in dropped[0]
    assert not any("'min_area'" in n for n in notes)
    assert len(frame) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        res = mn.run_mines(cat, brownfield_params={"prescreen": tests})
    assert any("'ready'" in n.text() for n in res.notes)


@pytest.mark.parametrize(("table", "key"), [("visibility", "window_margin_m"), ("mcda", "top_k"),
                                            ("mcda", "n_samples"), ("mcda", "seed")])
def test_mine_parameters_without_a_value_are_refused_not_defaulted(monkeypatch, table, key):

    from sanxian_yidan import datafiles

    doc = datafiles.deep_merge(datafiles.packaged(mn.DATA_FILE), {})
    del doc[table][key]
    monkeypatch.setattr(datafiles, "packaged", lambda name: doc)
    with pytest.raises(DataFileError, match=f"mines.toml: {table}.{key}: missing required key"):
        mn.load_params()


def test_mode_summary_counts_every_mine_once(ridge):
    _, res = ridge
    modes = mn.mode_summary(res.mines)
    assert modes["mines"].sum() == len(res.mines) == 2
    assert modes.loc["regreening", "mode_zh"] == "复绿（三区两线）"
    assert modes["gross_area_m2"].sum() == pytest.approx(2 * 180 * 180)


def test_mine_whose_sanqu_search_reaches_beyond_the_data_is_edge_limited(tmp_path):
    # One county x 0-10 km; mine 甲 100 m from its west edge, built-up land 800 m east of it: the 800 m
    # search around 甲 (urban zone, influence 1,000 m) reaches 700 m past the edge, where a town may lie.
    cat = write_catalog(tmp_path, {
        "county": ("admin_boundary", gdf([box(0, -5000, 10_000, 10_000)], name=["县"])),
        "mines": ("mine_site", gdf([box(100, 0, 300, 300), box(5000, 0, 300, 300)], name=["甲", "乙"],
                                   status=["废弃", "废弃"])),
        "town": ("built_up_area", gdf([box(1200, 0, 200, 300), box(5500, 0, 200, 300)], name=["镇", "镇2"])),
    })
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        res = mn.mine_priorities(cat).set_index("name")
    assert res.loc["甲", "dist_urban_m"] == pytest.approx(800.0) and res.loc["乙", "dist_urban_m"] == pytest.approx(200.0)
    assert bool(res.loc["甲", "edge_limited"]) and not bool(res.loc["乙", "edge_limited"])
    # independent: share of the points within 800 m of the mine square with x < 0, counted on a 2 m grid
    step, r = 2.0, 800.0
    xs = np.arange(100 - r, 400 + r, step) + step / 2
    ys = np.arange(0 - r, 300 + r, step) + step / 2
    gx, gy = np.meshgrid(xs, ys)
    dx = np.maximum(np.maximum(100 - gx, gx - 400), 0.0)
    dy = np.maximum(np.maximum(0 - gy, gy - 300), 0.0)
    near = dx ** 2 + dy ** 2 <= r ** 2
    expected = (near & (gx < 0)).sum() / near.sum()
    note = next(p for p in res.loc["甲", "reasons"].split("; ") if p.startswith("距城镇建成区/居住区距离 800 m 仅为上限"))
    assert "dist_urban_m" not in note
    found = re.search(r"Distance to built-up / residential area: 800 m is only an upper bound, (\d+)% of the area "
                      r"within 800 m lies outside the data coverage", note)
    assert found, note
    assert int(found.group(1)) / 100 == pytest.approx(expected, abs=0.01)


def test_mine_reasons_are_phrased_for_planners() -> None:
    """The reasons text names zones, distances with units and the failed pre-screen tests in words,
    not column names or test ids; the machine-readable columns keep their values."""
    from sanxian_yidan import brownfield as bf

    assert bf.distance_text(850.0) == "850 m" and bf.distance_text(3217.0) == "3.2 km"
    assert bf.distance_text(float("nan")) == "—"
    zone = mn.Zone(id="urban", roles=("built_up_area",), zh="城镇建成区/居住区", en="Built-up / residential area",
                   influence_m=1000.0, source="src")
    frame = pd.DataFrame({"dist_urban_m": [400.0, 2500.0], "in_sanqu": [True, False], "visible_share": [0.25, 0.0],
                          "eligible": [True, True], "priority": [0.5, 0.4], "pv_failed": ["min_area;grid_distance", ""]})
    labels = {t.id: t.label() for t in bf.load_params(None).prescreen}
    reasons = mn._mine_reasons(frame, [("dist_urban_m", zone)], [[], []], [[], []], [[], []], labels)
    parts = reasons[0].split("; ")
    assert "位于三区周边：距城镇建成区/居住区 400 m（影响距离 1.0 km） / around a 三区 zone: 400 m from built-up / " \
           "residential area (influence distance 1.0 km)" in parts
    assert "两线可视比例 25% / Share visible from main lines: 25%" in parts
    assert f"光伏预筛未通过 / PV pre-screen failed: {labels['min_area']}" in parts
    assert f"光伏预筛未通过 / PV pre-screen failed: {labels['grid_distance']}" in parts
    assert "10 km" in labels["grid_distance"]            # the test's own words, with its unit
    assert not re.search(r"\b(dist_\w+_m|min_area|grid_distance)\b", reasons[0])
    assert reasons[1] == ""


def test_a_user_parameter_file_is_named_and_hashed_in_the_provenance(tmp_path, monkeypatch):
    import hashlib

    cat = write_catalog(tmp_path, {"mines": ("mine_site", gdf([box(0, 0, 200, 200)], name=["矿"], status=["废弃"]))})
    user = tmp_path / "my_mines.toml"
    user.write_text("[mcda]\ntop_k = 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)      # outputs name files relative to the working folder, never absolutely
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        res = mn.run_mines(cat, params=user)
    assert res.top_k == 1 and res.provenance.inputs == ["my_mines.toml"]
    files = res.provenance.data_files
    assert files["my_mines.toml"] == hashlib.sha256(user.read_bytes()).hexdigest()
    assert {"sanxian_yidan/data/mines.toml", "sanxian_yidan/data/brownfield.toml"} <= set(files)
    assert res.provenance.synthetic_layers == ["mines"] and res.synthetic
