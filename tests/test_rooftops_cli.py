"""`sanxian rooftops`: outputs, overwrite guard, BUILDINGS as file / 'sample' / catalog role, errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.columns import label

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CATALOG = REPO / "layers" / "catalog.toml"
X0, Y0 = 440_000.0, 3_509_000.0  # Suizhou city centre, EPSG:4547
runner = CliRunner()


def _footprints(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame({"用途": ["厂房", "学校", "农房"], "屋顶类型": ["平屋顶", "平屋顶", "坡屋顶"]},
                           geometry=[box(X0, Y0, X0 + 10, Y0 + 10), box(X0 + 20, Y0, X0 + 40, Y0 + 10),
                                     box(X0 + 50, Y0, X0 + 62, Y0 + 8)], crs="EPSG:4547")
    path = tmp_path / "楼.gpkg"
    gdf.to_file(path, layer="buildings")
    return path


def test_writes_gpkg_and_csv_with_bom(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    layer = pyogrio.read_dataframe(out / "rooftops.gpkg", layer="rooftops")
    for col in ("capacity_kwp", "annual_kwh", "co2_t", "so2_kg", "nox_kg", "rank"):
        assert col in layer.columns
    assert len(layer) == 3
    assert layer.loc[layer["用途"] == "厂房", "capacity_kwp"].iloc[0] == pytest.approx(5.88)  # 100 m² x 0.7 x 0.084
    raw = (out / "rooftops_by_township.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                                   # UTF-8 BOM for Excel
    table = pd.read_csv(out / "rooftops_by_township.csv", encoding="utf-8-sig")
    assert label("capacity_kwp") in table.columns and label("policy_target_kwp") in table.columns
    assert set(table[label("level")]) == {"township", "county", "total"}
    # the footprints fall in the sample's township 随州 of 曾都区
    assert "曾都区" in set(table[label("county")])
    total = table.loc[table[label("level")] == "total", label("capacity_kwp")].iloc[0]
    assert total == pytest.approx(layer["capacity_kwp"].sum(), abs=1e-3)
    assert "wrote" in res.output.replace("\n", "")


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = _footprints(tmp_path)
    args = ["rooftops", str(path), "--catalog", str(SAMPLE_CATALOG), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert runner.invoke(app, args + ["--overwrite"]).exit_code == 0


def test_sample_keyword_and_catalog_role(tmp_path: Path) -> None:
    res = runner.invoke(app, ["rooftops", "sample", "--catalog", str(SAMPLE_CATALOG), "--out",
                              str(tmp_path / "s"), "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output
    layer = pyogrio.read_info(tmp_path / "s" / "rooftops.gpkg", layer="rooftops")
    assert layer["features"] == 20398
    res2 = runner.invoke(app, ["rooftops", "building", "--catalog", str(SAMPLE_CATALOG), "--out",
                               str(tmp_path / "r"), "--top", "1"])
    assert res2.exit_code == 0, res2.output


def test_unknown_buildings_argument(tmp_path: Path) -> None:
    res = runner.invoke(app, ["rooftops", "no_such_thing", "--catalog", str(SAMPLE_CATALOG), "--out",
                              str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "找不到建筑数据" in res.output and "no_such_thing" in res.output


def test_bad_params_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[modules]\npower_density_w_m2 = 5000\n", encoding="utf-8")
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--params", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "power_density_w_m2" in res.output


def test_no_spatial_index_option(tmp_path: Path) -> None:
    import sqlite3

    out = tmp_path / "o"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(out), "--no-spatial-index"])
    assert res.exit_code == 0, res.output
    assert "no spatial index" in res.output.replace("\n", " ")
    with sqlite3.connect(out / "rooftops.gpkg") as con:
        names = {row[0] for row in con.execute("select name from sqlite_master where type='table'")}
    assert not any(n.startswith("rtree_") for n in names)
    assert len(pyogrio.read_dataframe(out / "rooftops.gpkg")) == 3


def test_footprints_read_through_arrow_equal_plain_read(tmp_path: Path, monkeypatch) -> None:
    import os

    from sanxian_yidan.cli.rooftops import read_footprints
    from sanxian_yidan.io.vector import read_vector

    monkeypatch.delenv("PYOGRIO_USE_ARROW", raising=False)
    path = _footprints(tmp_path)
    fast = read_footprints(path, None, None)
    assert "PYOGRIO_USE_ARROW" not in os.environ              # the switch is restored after the read
    plain = read_vector(path)
    pd.testing.assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                                  pd.DataFrame(plain.drop(columns="geometry")))
    assert fast.geometry.geom_equals_exact(plain.geometry, 0.0).all() and fast.crs == plain.crs
    assert list(fast["用途"]) == ["厂房", "学校", "农房"]
