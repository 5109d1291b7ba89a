"""Catalog: loading and validation, role lookup, field mapping, synthetic flags, `sanxian layers check`."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from sanxian_yidan import Catalog
from sanxian_yidan.cli import app
from sanxian_yidan.errors import CatalogError, UnknownLayerError

BOWTIE = Polygon([(0, 0), (100, 100), (100, 0), (0, 100), (0, 0)])
ORIGIN = (500_000.0, 3_510_000.0)  # inside Suizhou in EPSG:4547 (CM 114E)


def _units(tmp_path: Path) -> Path:
    x0, y0 = ORIGIN
    geoms = [box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 3000, y0 + 1000)]
    gdf = gpd.GeoDataFrame({"HJZHGKDYBM": ["ZH42132110001", "ZH42132130002"],
                            "HJZHGKDYMC": ["优先保护单元甲", "一般管控单元乙"], "ZHGKDYFL": [1, 3]},
                           geometry=geoms, crs="EPSG:4547")
    path = tmp_path / "units.gpkg"
    gdf.to_file(path, layer="units")
    return path


CATALOG = """
[catalog]
title_zh = "测试目录"
title_en = "Test catalog"
working_crs = "EPSG:4547"

[[layers]]
id = "units"
role = "control_unit"
path = "units.gpkg"
layer = "units"
title_zh = "管控单元"
title_en = "Control units"
source = "test fixture"
licence = "CC0"
synthetic = true
[layers.fields]
code = "HJZHGKDYBM"
name = "HJZHGKDYMC"
category = "ZHGKDYFL"
"""


def test_read_maps_fields_and_marks_synthetic(tmp_path: Path) -> None:
    _units(tmp_path)
    (tmp_path / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    cat = Catalog.load(tmp_path / "catalog.toml")
    units = cat.read("control_unit")
    assert units["code"].tolist() == ["ZH42132110001", "ZH42132130002"]
    assert units["category"].tolist() == [1, 3]
    assert units["synthetic"].all() and (units["source"] == "test fixture").all()
    assert units.crs.to_epsg() == 4547
    assert units.geometry.area.tolist() == pytest.approx([1e6, 2e6])
    assert cat.read("units")["layer_id"].eq("units").all()
    assert cat.is_synthetic("control_unit")
    units.loc[0, "code"] = "changed"  # the cache must hand out copies
    assert cat.read("units")["code"].iloc[0] == "ZH42132110001"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = """
[[layers]]
id = "a"
role = "red_line"
path = "x.gpkg"
title_zh = "甲"
title_en = "A"
source = "s"
licence = "l"
synthetic = "yes"

[[layers]]
id = "a"
role = "river"
path = "y.gpkg"
title_zh = "乙"
title_en = "B"
source = "s"
licence = "l"
synthetic = false
colour = "blue"
"""
    (tmp_path / "catalog.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(CatalogError, match="unknown role 'red_line'") as info:
        Catalog.load(tmp_path / "catalog.toml")
    msg = str(info.value)
    assert "layers[0].role: unknown role 'red_line'" in msg and "eco_redline" in msg
    assert "layers[0].synthetic: must be true or false / 布尔值, got str 'yes'" in msg
    assert "layers[1].colour: unknown key" in msg
    assert "layers[1].id: duplicate id 'a'" in msg
    assert "4 problem(s)" in msg


def test_unknown_role_lookup(tmp_path: Path) -> None:
    _units(tmp_path)
    (tmp_path / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    cat = Catalog.load(tmp_path / "catalog.toml")
    with pytest.raises(UnknownLayerError, match="role exists, but no layer"):
        cat.read("eco_redline")
    with pytest.raises(KeyError, match="No layer with id or role 'nonsense'"):
        cat.read("nonsense")


def test_check_reports_missing_file_bad_mapping_and_repairs(tmp_path: Path) -> None:
    _units(tmp_path)
    shifted = Polygon([(x + ORIGIN[0], y + ORIGIN[1]) for x, y in BOWTIE.exterior.coords])
    gpd.GeoDataFrame({"n": [1]}, geometry=[shifted], crs="EPSG:4547").to_file(tmp_path / "redline.gpkg")
    text = CATALOG.replace('category = "ZHGKDYFL"', 'category = "NO_SUCH_COLUMN"') + """
[[layers]]
id = "redline"
role = "eco_redline"
path = "redline.gpkg"
title_zh = "红线"
title_en = "Red line"
source = "fixture"
licence = "CC0"
synthetic = true

[[layers]]
id = "farmland"
role = "basic_farmland"
path = "missing.gpkg"
title_zh = "基本农田"
title_en = "Farmland"
source = "fixture"
licence = "CC0"
synthetic = true
"""
    (tmp_path / "catalog.toml").write_text(text, encoding="utf-8")
    results = {r.entry.id: r for r in Catalog.load(tmp_path / "catalog.toml").check()}
    assert "NO_SUCH_COLUMN" in results["units"].errors[0]
    assert results["redline"].ok and results["redline"].features == 1
    assert results["redline"].repairs[0].kind == "invalid_geometry"
    assert "not found" in results["farmland"].errors[0] and "missing.gpkg" in results["farmland"].errors[0]

    result = CliRunner().invoke(app, ["layers", "check", str(tmp_path / "catalog.toml")])
    assert result.exit_code == 1
    assert "missing.gpkg" in result.output


def test_synthetic_features_in_a_real_entry_are_an_error(tmp_path: Path) -> None:
    _units(tmp_path)
    gdf = gpd.read_file(tmp_path / "units.gpkg")
    gdf["synthetic"] = [True, False]
    gdf.to_file(tmp_path / "units.gpkg", layer="units")
    (tmp_path / "catalog.toml").write_text(CATALOG.replace("synthetic = true", "synthetic = false"),
                                           encoding="utf-8")
    cat = Catalog.load(tmp_path / "catalog.toml")
    (result,) = cat.check()
    assert "synthetic = true" in result.errors[0]
    assert cat.read("units")["synthetic"].tolist() == [True, False]


def test_layers_check_passes_on_the_embedded_sample() -> None:
    sample = Path(__file__).resolve().parents[1] / "layers" / "catalog.toml"
    result = CliRunner().invoke(app, ["layers", "check", str(sample)])
    assert result.exit_code == 0, result.output
    cat = Catalog.load(sample)
    assert f"{len(cat.entries)} layers, 0 with errors" in " ".join(result.output.split())


def test_sample_layers_read_in_the_working_crs_with_flags() -> None:
    cat = Catalog.load(Path(__file__).resolve().parents[1] / "layers" / "catalog.toml")
    units = cat.read("control_unit")
    assert units.crs.to_epsg() == 4547
    assert units.geometry.is_valid.all() and not units.geometry.is_empty.any()
    assert units["synthetic"].all()
    assert set(units["category"].astype(int)) == {1, 2, 3}
    counties = cat.read("admin_boundary")
    assert not counties["synthetic"].any()
    # The three counties tile Suizhou: 9,636 km² land area (figure in issue 2), ± 3 %; GK scale error < 0.05 %.
    assert counties.area.sum() / 1e6 == pytest.approx(9636, rel=0.03)


def test_region_view_keeps_features_touching_the_county_and_only_its_boundary() -> None:
    cat = Catalog.load(Path(__file__).resolve().parents[1] / "layers" / "catalog.toml")
    view = cat.restricted_to("随县")
    county = cat.read("admin_boundary").set_index("name").geometry["随县"]
    assert view.read("admin_boundary")["name"].tolist() == ["随县"]
    mines_all, mines = cat.read("mine_site"), view.read("mine_site")
    expected = mines_all.geometry.intersects(county)
    assert len(mines) == int(expected.sum()) and 0 < len(mines) < len(mines_all)
    assert mines.geometry.area.sum() == pytest.approx(mines_all.geometry[expected].area.sum())  # not clipped
    assert len(view.read("substation")) == len(cat.read("substation"))  # infrastructure stays whole
    assert cat.restricted_to("421321").region.equals(view.region)
    with pytest.raises(UnknownLayerError, match=r"Region '枣阳市' is not a feature"):
        cat.restricted_to("枣阳市")


def test_a_missing_catalog_says_where_it_was_looked_for_and_how_to_name_another(tmp_path: Path, monkeypatch) -> None:
    # a newcomer running `sanxian screen` outside the repository gets the default's resolved path and the option
    monkeypatch.chdir(tmp_path)
    projects = tmp_path / "p.geojson"
    projects.write_text('{"type": "Point", "coordinates": [113.37, 31.69]}', encoding="utf-8")
    res = CliRunner().invoke(app, ["screen", str(projects), "--crs", "EPSG:4326", "--out", str(tmp_path / "out")])
    text = "".join(res.output.split())              # the terminal wraps long lines, also inside the path
    assert res.exit_code == 2 and "图层目录文件不存在" in text and "Catalogfilenotfound" in text
    assert "".join(str(tmp_path / "layers" / "catalog.toml").split()) in text
    assert "runfromtherepositoryfolder" in text and "--catalogFILE" in text
    with pytest.raises(CatalogError, match=r"Catalog\.load\(FILE\)"):
        Catalog.load(tmp_path / "nowhere.toml")
