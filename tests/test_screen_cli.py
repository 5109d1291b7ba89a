"""``sanxian screen``: outputs written and opened again, overwrite guard, land-boundary TXT input, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from fixtures.screening_world import CRS, write_world
from shapely.geometry import box
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.cli.screen import OUTPUT_NAMES

runner = CliRunner()

# Parcel on the world's basic farmland (x 541000-542000, y 3521000-3522000): northing first, easting with the
# zone-38 prefix, ring closed; 1,000 m x 1,000 m = 100 ha.
BOUNDARY_TXT = """[属性描述]
坐标系=2000国家大地坐标系
几度分带=3
投影类型=高斯克吕格
计量单位=米
带号=38
精度=0.001
转换参数=,,,,,,
[地块坐标]
5,100.0000,DK01,农田上的光伏地块,面,,建设用地,0602,@
J1,1,3522000.000,38541000.000
J2,1,3522000.000,38542000.000
J3,1,3521000.000,38542000.000
J4,1,3521000.000,38541000.000
J1,1,3522000.000,38541000.000
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("cli_world"))


@pytest.fixture(scope="module")
def projects_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli_projects")
    gdf = gpd.GeoDataFrame({
        "id": ["A", "B", "C"],
        "name": ["红线光伏", "<script>alert(1)</script>", "跨县光伏"],
    }, geometry=[box(509500, 3489500, 510500, 3490500), box(541000, 3521000, 542000, 3522000),
                 box(529000, 3515000, 531000, 3516000)], crs=CRS).to_crs("EPSG:4326")
    path = folder / "projects.geojson"
    gdf.to_file(path, driver="GeoJSON")
    return path


@pytest.fixture(scope="module")
def run(world: Path, projects_file: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("cli_out") / "result"
    result = runner.invoke(app, ["screen", str(projects_file), "--type", "pv", "--catalog", str(world),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_screen_writes_every_output(run) -> None:
    out, result = run
    assert sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir()) == sorted(OUTPUT_NAMES)
    assert sorted(p.name for p in (out / "sheets").iterdir()) == ["A.html", "B.html", "C.html"]
    data = json.loads((out / "screening.json").read_text(encoding="utf-8"))
    assert [(d["id"], d["verdict"]) for d in data] == [("A", "prohibited"), ("B", "prohibited"), ("C", "compliant")]
    assert data[0]["findings"][0]["rule_id"] == "ECO-01" and "厅字〔2019〕48号" in data[0]["findings"][0]["source"]
    assert sorted(c["name"] for c in data[2]["counties"]) == ["乙县", "甲县"]
    assert sum(c["share"] for c in data[2]["counties"]) == pytest.approx(1.0, abs=1e-6)
    layers = dict(pyogrio.list_layers(out / "screening.gpkg").tolist())
    assert {"projects", "overlaps", "findings"} <= set(layers)
    csv = pd.read_csv(out / "screening.csv", encoding="utf-8-sig")
    assert csv["项目编号 / Project id"].tolist() == ["A", "B", "C"]
    assert "禁止" in result.output and "SAMPLE DATA" in result.output


def test_report_renders_hostile_names_as_text(run) -> None:
    out, _ = run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "示例数据" in html and "SAMPLE DATA" in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "## 项目 / Project B" in md


def test_refuses_to_overwrite_without_the_flag(run, world: Path, projects_file: Path) -> None:
    out, _ = run
    before = (out / "screening.json").stat().st_mtime_ns
    result = runner.invoke(app, ["screen", str(projects_file), "--type", "pv", "--catalog", str(world),
                                 "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "screening.json").stat().st_mtime_ns == before
    result = runner.invoke(app, ["screen", str(projects_file), "--type", "pv", "--catalog", str(world),
                                 "--out", str(out), "--overwrite", "--radius", "20"])
    assert result.exit_code == 0, result.output


def test_land_boundary_txt_input(world: Path, tmp_path: Path) -> None:
    txt = tmp_path / "报批坐标.txt"
    txt.write_bytes(BOUNDARY_TXT.encode("gb18030"))
    result = runner.invoke(app, ["screen", str(txt), "--type", "pv", "--catalog", str(world),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "screening.json").read_text(encoding="utf-8"))
    assert (data[0]["id"], data[0]["name"], data[0]["verdict"]) == ("DK01", "农田上的光伏地块", "prohibited")
    assert data[0]["area_m2"] == pytest.approx(1e6) and data[0]["findings"][0]["rule_id"] == "BF-02"


def test_bad_industry_code_exits_with_the_nearest_codes(world: Path, projects_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["screen", str(projects_file), "--industry", "C2O14", "--catalog", str(world),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Nearest valid codes" in result.output and "C2614" in result.output


def test_file_without_crs_needs_crs_option(world: Path, tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    pd.DataFrame({"id": ["X"], "X": [541500.0], "Y": [3521500.0]}).to_csv(csv, index=False)
    result = runner.invoke(app, ["screen", str(csv), "--type", "pv", "--catalog", str(world),
                                 "--out", str(tmp_path / "o1")])
    assert result.exit_code == 2 and "--crs" in result.output
    result = runner.invoke(app, ["screen", str(csv), "--type", "pv", "--catalog", str(world), "--crs", "EPSG:4547",
                                 "--out", str(tmp_path / "o2")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "o2" / "screening.json").read_text(encoding="utf-8"))
    assert data[0]["verdict"] == "prohibited"


def test_rules_option_amends_the_packaged_rules(world: Path, projects_file: Path, tmp_path: Path) -> None:
    rules = tmp_path / "local.toml"
    rules.write_text('[[rules]]\nid = "ECO-01"\nseverity = "restricted"\n', encoding="utf-8")
    result = runner.invoke(app, ["screen", str(projects_file), "--type", "pv", "--catalog", str(world),
                                 "--rules", str(rules), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "screening.json").read_text(encoding="utf-8"))
    assert data[0]["verdict"] == "restricted" and data[0]["findings"][0]["severity"] == "restricted"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nid = "ECO-01"\nseverity = "forbidden"\n', encoding="utf-8")
    result = runner.invoke(app, ["screen", str(projects_file), "--type", "pv", "--catalog", str(world),
                                 "--rules", str(bad), "--out", str(tmp_path / "out2")])
    assert result.exit_code == 2 and "unknown value 'forbidden'" in result.output
