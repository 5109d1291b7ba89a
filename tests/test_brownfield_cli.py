"""Tests of the `sanxian brownfields` and `sanxian mines` commands (typer CliRunner, outputs opened again)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from sanxian_yidan.brownfield import load_params as bf_params
from sanxian_yidan.cli import app
from sanxian_yidan.columns import label

SAMPLE = Path(__file__).resolve().parents[1] / "layers" / "catalog.toml"
runner = CliRunner()


@pytest.fixture(scope="module")
def brownfield_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("bf")
    result = runner.invoke(app, ["brownfields", "--catalog", str(SAMPLE), "--out", str(out), "--top", "5"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_brownfields_writes_gpkg_layers_and_csv(brownfield_out):
    out, text = brownfield_out
    layers = dict(pyogrio.list_layers(out / "brownfields.gpkg"))
    assert set(layers) == {"sites", "excluded", "layer_styles"}  # layer_styles: the QGIS styles of the two
    sites = gpd.read_file(out / "brownfields.gpkg", layer="sites")
    excluded = gpd.read_file(out / "brownfields.gpkg", layer="excluded")
    for col in ("net_area_m2", "capacity_mw", "annual_mwh", "co2_t", "score", "rank", "p_top_k", "prescreen_pass",
                "reasons", "synthetic"):
        assert col in sites.columns
    assert len(sites) == 82
    assert (sites["net_area_m2"] <= sites["gross_area_m2"] + 1e-6).all()
    assert sites["gross_area_m2"].sum() == pytest.approx(sites["net_area_m2"].sum() + excluded["excluded_area_m2"].sum(),
                                                         rel=1e-9)
    density = bf_params().density.mw_per_ha  # cn_layout default, 0.7228 MW/ha (see test_brownfield)
    assert sites["capacity_mw"].sum() == pytest.approx(sites["net_area_m2"].sum() * density / 10_000, rel=1e-9)
    assert set(excluded["reason_role"]) <= {"eco_redline", "basic_farmland", "water_source_zone", "nature_reserve",
                                            "heritage_zone"}
    # excluded parts lie inside their sites
    gross = sites.set_index("site_id")
    assert excluded["excluded_area_m2"].to_numpy() == pytest.approx(shapely.area(excluded.geometry.values), rel=1e-9)
    assert excluded["site_id"].isin(gross.index).all()
    csv = pd.read_csv(out / "brownfields.csv", encoding="utf-8-sig")
    assert len(csv) == 82
    assert label("net_area_m2") in csv.columns and label("rank") in csv.columns
    # the CSV rounds to whole m² per row
    assert csv[label("net_area_m2")].sum() == pytest.approx(sites["net_area_m2"].sum(), abs=0.5 * len(csv))
    assert "SYNTHETIC" in text and "Brownfield PV ranking" in text
    # totals by type (BrownfieldResult.by_type): one row per candidate role of the sample (the
    # narrow test terminal cuts the names after three characters)
    assert "Totals by site type" in text
    for zh in ("废弃矿", "采矿沉", "已封场", "污染地"):
        assert zh in text


def test_brownfields_refuses_to_overwrite(brownfield_out):
    out, _ = brownfield_out
    result = runner.invoke(app, ["brownfields", "--catalog", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 2
    assert "--overwrite" in result.output


def test_brownfields_params_parcels_and_overwrite(brownfield_out, tmp_path):
    out, _ = brownfield_out
    params = tmp_path / "epa.toml"
    params.write_text('[capacity]\ndefault = "epa_repowering"\nsource = "test: EPA 5 acres per MW"\n', encoding="utf-8")
    parcels = tmp_path / "parcels.geojson"
    # A in 曾都区, B in 广水市, C outside Suizhou (south-west of the city's boundary)
    gpd.GeoDataFrame({"name": ["试验地块A", "试验地块B", "市外地块C"]},
                     geometry=[shapely.box(440_000, 3_507_000, 440_300, 3_507_300),
                               shapely.box(484_000, 3_512_700, 484_300, 3_513_000),
                               shapely.box(360_000, 3_440_000, 360_300, 3_440_300)],
                     crs="EPSG:4547").to_crs("EPSG:4326").to_file(parcels, driver="GeoJSON")
    result = runner.invoke(app, ["brownfields", "--catalog", str(SAMPLE), "--params", str(params), "--parcels",
                                 str(parcels), "--out", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    sites = gpd.read_file(out / "brownfields.gpkg", layer="sites")
    assert len(sites) == 85
    parcel = sites[sites["name"] == "试验地块A"].iloc[0]
    assert parcel["site_type"] == "parcel"
    assert parcel["gross_area_m2"] == pytest.approx(90_000.0, rel=1e-4)   # through WGS84 and back
    # every parcel gets its county by spatial join; the one outside the city is not ranked and is listed
    by_name = sites[sites["site_type"] == "parcel"].set_index("name")
    assert by_name["county"].to_dict() == {"试验地块A": "曾都区", "试验地块B": "广水市",
                                           "市外地块C": "超出数据范围 / outside coverage"}
    assert by_name.loc["市外地块C", "outside_coverage_share"] == 1.0 and pd.isna(by_name.loc["市外地块C", "rank"])
    flat = " ".join(result.output.split())
    assert "outside the data coverage" in flat and "parcel-市外地块C (100%)" in flat
    # real parcels, synthetic sample zoning and substations: every parcel's numbers rest on synthetic layers
    assert by_name["synthetic"].all()
    layers = set(by_name.loc["试验地块A", "synthetic_layers"].split(";"))
    assert {"eco_redline", "basic_farmland", "substations", "roads", "dem"} <= layers and "mine_sites" not in layers
    csv = pd.read_csv(out / "brownfields.csv", encoding="utf-8-sig")
    assert csv.loc[csv[label("name")] == "试验地块B", label("county")].iloc[0] == "广水市"
    mw_per_ha = 10_000 / (5 * 4046.8564224)
    assert sites["capacity_mw"].to_numpy() == pytest.approx(sites["net_area_m2"].to_numpy() / 10_000 * mw_per_ha,
                                                            rel=1e-12)


def test_brownfields_bad_params_file_is_a_bilingual_error(tmp_path):
    params = tmp_path / "bad.toml"
    params.write_text('[[criteria]]\ncolumn = "net_area_m2"\ntransform = "linear"\nlo = 0\nhi = 1\nweight = -1\n'
                      'source = "t"\n', encoding="utf-8")
    result = runner.invoke(app, ["brownfields", "--catalog", str(SAMPLE), "--params", str(params),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "negative" in result.output and "错误" in result.output


def test_mines_writes_priorities_and_modes(tmp_path):
    result = runner.invoke(app, ["mines", "--catalog", str(SAMPLE), "--out", str(tmp_path), "--top", "5"])
    assert result.exit_code == 0, result.output
    assert [name for name, geom in pyogrio.list_layers(tmp_path / "mines.gpkg") if geom] == ["mines"]
    mines = gpd.read_file(tmp_path / "mines.gpkg", layer="mines")
    for col in ("priority", "rank", "p_top_k", "visible_share", "mode", "mode_zh", "mode_source", "township",
                "focus_area", "in_sanqu", "reasons"):
        assert col in mines.columns
    assert len(mines) == 58
    assert mines["visible_share"].between(0, 1).all()
    assert set(mines["focus_area"].dropna()) >= {"吴山镇", "万和镇"}
    csv = pd.read_csv(tmp_path / "mines.csv", encoding="utf-8-sig")
    assert label("priority") in csv.columns and len(csv) == 58
    assert "吴山镇" in result.output and "万和镇" in result.output
    assert "[ha]" in result.output                               # unit in a header, shown literally
    focus = pd.read_csv(tmp_path / "mines_focus_areas.csv", encoding="utf-8-sig").set_index("区域 / Area")
    assert focus.loc["吴山镇", "矿山数 / Mines"] == 24 and focus.loc["万和镇", "矿山数 / Mines"] == 20
    assert focus["矿山数 / Mines"].sum() == 58
    assert "前10名矿山 / Mines in top 10" in focus.columns          # k from data/mines.toml [mcda] top_k
    # the 三区两线 raster on the sample DEM's grid, flagged synthetic, listed among the outputs
    import rasterio

    assert "visibility.tif" in " ".join(result.output.split())
    with rasterio.open(SAMPLE.parent / "suizhou_dem.tif") as dem, rasterio.open(tmp_path / "visibility.tif") as vis:
        assert (vis.width, vis.height, vis.transform, vis.crs) == (dem.width, dem.height, dem.transform, dem.crs)
        assert vis.dtypes[0] == "uint8" and vis.nodata == 255
        values = set(np.unique(vis.read(1)).tolist())
        assert vis.tags()["SYNTHETIC"].startswith("SYNTHETIC")
    assert {0, 1} <= values <= {0, 1, 255}
    again = runner.invoke(app, ["mines", "--catalog", str(SAMPLE), "--out", str(tmp_path)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_mines_refuses_to_replace_a_visibility_raster(tmp_path):
    (tmp_path / "visibility.tif").write_bytes(b"an earlier raster")
    result = runner.invoke(app, ["mines", "--catalog", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "visibility.tif" in result.output and "--overwrite" in result.output
    assert (tmp_path / "visibility.tif").read_bytes() == b"an earlier raster"
