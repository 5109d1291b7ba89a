"""Screening where the data stop: no finding on the absence of data, distance rules at the edge, footprints
that are nowhere, and projects stated in the wrong CRS.

The hand-built world (tests/fixtures/screening_world.py) covers x 500000-560000, y 3480000-3540000 in
EPSG:4547; every expected area below is computed by hand (products of side lengths, circular segments).
The real stations come from the OpenStreetMap extract of the Suizhou area (reference GeoPackage), whose
Henan stations (明港, 信阳北, 平桥, 桐柏) lie outside the three counties of the sample catalog.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import SAMPLE_CATALOG
from fixtures.screening_world import CRS, write_world
from shapely.geometry import Point, Polygon, box
from typer.testing import CliRunner

from sanxian_yidan import screen
from sanxian_yidan.cli import app
from sanxian_yidan.errors import CRSError, InputFileError, SanxianWarning

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "suizhou_reference.gpkg"
runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("cov_world"))


def _frame(rows, crs: str = CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "project_type": [r[1] for r in rows],
                             "industry": [r[2] for r in rows]}, geometry=[r[3] for r in rows], crs=crs)


def _rows(res, pid: str, kind: str | None = None):
    f = res.findings
    f = f[f["project_id"] == pid]
    return f if kind is None else f[f["kind"] == kind]


# ------------------------------------------------------------------------- 1. absence of data is no finding
def test_park_rule_does_not_fire_where_there_are_no_data(world: Path) -> None:
    res = screen(_frame([
        ("OUT", "industrial", "C2614", box(600000, 3500000, 601000, 3501000)),     # wholly outside
        ("HALF", "industrial", "C2614", box(559000, 3500000, 561000, 3501000)),    # half outside, no park
        ("IN", "industrial", "C2614", box(545000, 3505000, 546000, 3506000)),      # inside, no park
    ]), world)
    table = res.projects.set_index("project_id")
    # wholly outside: nothing is known there — not "outside the park", not 两高 under this region's rules
    assert table.loc["OUT", "verdict"] == "outside_coverage"
    assert _rows(res, "OUT", "finding")["rule_id"].tolist() == ["COV-01"]
    assert not table.loc["OUT", "complete"] and table.loc["OUT", "outside_coverage_share"] == pytest.approx(1.0)
    # half outside: the covered half (1,000 m x 1,000 m) is outside the park and that finding stands; the
    # half outside the data is not counted as "outside the park"
    park = _rows(res, "HALF", "finding").set_index("rule_id").loc["PARK-01"]
    assert park["overlap_area_m2"] == pytest.approx(1e6, rel=1e-9) and park["overlap_share"] == pytest.approx(0.5)
    assert table.loc["HALF", "verdict"] == "prohibited" and not table.loc["HALF", "complete"]
    assert table.loc["HALF", "outside_coverage_share"] == pytest.approx(0.5, rel=1e-9)
    # wholly inside: the park rule fires on the whole footprint, and the screening is complete
    assert _rows(res, "IN", "finding").set_index("rule_id").loc["PARK-01", "overlap_area_m2"] == pytest.approx(1e6)
    assert table.loc["IN", "complete"] and table.loc["IN", "outside_coverage_share"] == 0.0


@pytest.mark.skipif(not REFERENCE.exists(), reason="reference GeoPackage not available")
def test_chemical_plant_at_henan_stations_is_outside_coverage_not_prohibited(tmp_path: Path) -> None:
    stations = gpd.read_file(REFERENCE, layer="osm_rail_stations")
    henan = stations[stations["name"].isin(["明港", "信阳北", "平桥", "桐柏"])]
    assert len(henan) == 4
    path = tmp_path / "henan.geojson"
    henan[["name", "geometry"]].assign(id=henan["name"]).to_file(path, driver="GeoJSON")
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)   # all far from the data: warned, tested below
        result = runner.invoke(app, ["screen", str(path), "--type", "industrial", "--industry", "C2614",
                                     "--catalog", str(SAMPLE_CATALOG), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = json.loads((out / "screening.json").read_text(encoding="utf-8"))
    assert {r["id"] for r in records} == {"明港", "信阳北", "平桥", "桐柏"}
    for rec in records:
        assert rec["verdict"] == "outside_coverage" and rec["verdict_zh"] == "超出数据覆盖范围"
        assert rec["complete"] is False and rec["outside_coverage_share"] == pytest.approx(1.0)
        assert [f["rule_id"] for f in rec["findings"] if f["kind"] == "finding"] == ["COV-01"]
        edge = {f["rule_id"]: f for f in rec["findings"] if f["reason"] == "search_outside_coverage"}
        assert "BF-04" in edge and edge["BF-04"]["share"] == 1.0
        assert edge["BF-04"]["synthetic"] is True      # "clear inside the coverage" rests on the sample farmland
        assert edge["BF-04"]["message_en"].startswith("Not evaluated: the whole 1,000 m search area")
    csv = (out / "screening.csv").read_text(encoding="utf-8-sig")
    assert "超出数据覆盖范围" in csv and "prohibited" not in csv
    layer = gpd.read_file(out / "screening.gpkg", layer="projects")
    assert (layer["verdict"] == "outside_coverage").all() and (layer["outside_coverage_share"] == 1.0).all()
    html = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "超出数据覆盖范围" in html and "100.0% of the project lies outside the coverage" in html
    assert md.count("研判不完整：项目有 100.0% 位于分区管控数据覆盖范围之外") == 4


# ------------------------------------------------------------------------- 2. distance rules at the edge
def _segment(r: float, d: float) -> float:
    """Area of the part of a disc of radius r beyond a line at distance d from its centre."""
    return r * r * math.acos(d / r) - d * math.sqrt(r * r - d * d)


def test_distance_rule_whose_search_area_leaves_the_data_is_partly_not_evaluated(world: Path) -> None:
    # A 1 km square 300 m inside the east edge (x = 560000); BF-04 searches 1,000 m around it.
    res = screen(_frame([
        ("EDGE", "industrial", "C3360", box(558700, 3500000, 559700, 3501000)),
        ("DEEP", "industrial", "C3360", box(545000, 3505000, 546000, 3506000)),
    ]), world)
    # Search area: the square buffered by 1,000 m = 1 km² + 4 sides of 1 km x 1 km + a disc of 1 km radius.
    # Outside x = 560000: a 700 m x 1,000 m band plus, at each end, the quarter-disc beyond 300 m from its
    # centre (half a circular segment at d = 300 m).
    r, d = 1000.0, 300.0
    total = 1e6 + 4e6 + math.pi * r * r
    outside = 700.0 * 1000.0 + _segment(r, d)
    row = _rows(res, "EDGE", "not_evaluated").set_index("rule_id").loc["BF-04"]
    assert row["reason"] == "search_outside_coverage"
    # the buffer is a polygon of 16 segments per quarter circle: its arcs lose < 0.2 % of their area
    assert row["overlap_area_m2"] == pytest.approx(outside, rel=2e-3)
    assert row["overlap_share"] == pytest.approx(outside / total, rel=2e-3)
    assert "Partly not evaluated" in row["message_en"] and "部分未评估" in row["message_zh"]
    assert f"{outside / total:.1%}"[:3] in row["message_en"]
    table = res.projects.set_index("project_id")
    # the footprint itself is inside the data, the search is not: incomplete, never a silent "clear"
    assert table.loc["EDGE", "outside_coverage_share"] == 0.0 and not table.loc["EDGE", "complete"]
    assert table.loc["EDGE", "verdict"] == "outside_coverage"
    assert "COV-01" not in _rows(res, "EDGE", "finding")["rule_id"].tolist()
    # deep inside (in the key control unit U2: CU-04 notice), nothing within 1 km, search area covered
    assert _rows(res, "DEEP", "not_evaluated").empty
    assert table.loc["DEEP", "complete"] and table.loc["DEEP", "verdict"] == "notice"


def test_feature_found_within_the_distance_stands_at_the_edge(world: Path) -> None:
    # 400 m from the river (y = 3530000) and 300 m from the east edge: the river rule fires
    res = screen(_frame([("NEAR", None, "C2614", Point(559700, 3530400)),
                         ("DEEP", None, "C2614", Point(520000, 3530400))]), world, radius_m=1.0)
    found = _rows(res, "NEAR", "finding").set_index("rule_id")
    assert found.loc["YZ-01", "distance_m"] == pytest.approx(399.0, abs=0.01)
    assert "YZ-01" not in _rows(res, "NEAR", "not_evaluated")["rule_id"].tolist()
    assert res.projects["verdict"].tolist() == ["prohibited", "prohibited"]
    # the nearest river is 399 m away, but the data stop 299 m east: a nearer river may lie beyond them
    river = res.distances[res.distances["role"] == "river"].set_index("project_id")
    assert river.loc["NEAR", "nearer_beyond_data"] and not river.loc["DEEP", "nearer_beyond_data"]
    rec = {r["id"]: r for r in res.to_records()}
    assert [d["nearer_beyond_data"] for d in rec["NEAR"]["distances"] if d["role"] == "river"] == [True]


# ------------------------------------------------------------------------- 3. a project that is nowhere
NOWHERE = [
    # (label, geometry, crs, screen kwargs, error type, text in the message)
    ("latitude 320.8", Point(113.38, 320.8), "EPSG:4326", {}, InputFileError,
     "latitude 320.8 is outside [-90, 90] — typo for 32.08?"),
    ("latitude 95", Point(113.38, 95.0), "EPSG:4326", {}, InputFileError, "latitude 95 is outside [-90, 90] ("),
    ("metres stated as degrees", box(530000, 3500000, 531000, 3501000), "EPSG:4326", {}, CRSError,
     "cannot be degrees"),
    ("degrees stated as EPSG:4547", box(114.3, 31.7, 114.31, 31.71), CRS, {}, InputFileError,
     "look like longitude/latitude"),
    ("radius 1e-9", Point(530000, 3500000), CRS, {"radius_m": 1e-9}, InputFileError, "realistic radius"),
    ("0.1 m² polygon", box(530000, 3500000, 530000.1, 3500001), CRS, {}, InputFileError, "0.1 m²"),
    ("thin strip", box(530000, 3500000, 531000, 3500000.05), CRS, {}, InputFileError, "below the sliver"),
    ("1e300 polygon", box(1e300, 1e300, 2e300, 2e300), CRS, {}, InputFileError, "is nowhere"),
    ("1e300 point", Point(1e300, 1e300), CRS, {}, InputFileError, "is nowhere"),
    ("infinite", Point(math.inf, 3500000), CRS, {}, InputFileError, "not finite"),
    ("zone prefix in a CRS without", Point(38530000, 3500000), CRS, {}, InputFileError, "EPSG:4526"),
]


@pytest.mark.parametrize("label, geom, crs, kwargs, error, text", NOWHERE, ids=[n[0] for n in NOWHERE])
def test_a_footprint_that_is_nowhere_is_an_error_naming_the_project(world: Path, label, geom, crs, kwargs, error,
                                                                    text) -> None:
    ok = gpd.GeoSeries([box(530000, 3500000, 531000, 3501000)], crs=CRS).to_crs(crs).iloc[0]
    frame = _frame([("OK", "pv", None, ok), ("BAD", "pv", None, geom)], crs=crs)   # BAD as given, in crs
    with pytest.raises(error, match=r"id='BAD' \(row 2\)") as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            screen(frame, world, **kwargs)
    assert text in str(info.value) and "Fix" in str(info.value)


def test_zone_prefixed_eastings_under_a_crs_without_prefix_say_so_in_the_headline(world: Path,
                                                                                  tmp_path: Path) -> None:
    csv = tmp_path / "zone37.csv"
    csv.write_text("id,name,x,y\nZ1,光伏,37530000,3500000\n", encoding="utf-8")
    result = runner.invoke(app, ["screen", str(csv), "--type", "pv", "--crs", "EPSG:4547", "--catalog",
                                 str(world), "--out", str(tmp_path / "o")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "1 个项目的坐标远在所述坐标系 EPSG:4547 的投影带之外" in text
    assert "lies far outside the zone of the stated CRS EPSG:4547" in text and "zone prefix 37" in text
    assert "无穷大" not in text and "is nowhere" not in text
    assert "state --crs EPSG:4525" in text


def test_a_collinear_polygon_is_an_error(world: Path) -> None:
    line = Polygon([(530000, 3500000), (530500, 3500000), (531000, 3500000)])
    with pytest.raises(InputFileError, match="degenerate"):
        screen(_frame([("LINE", "pv", None, line)]), world)


def test_cli_refuses_a_mistyped_latitude_and_metres_in_a_degrees_file(world: Path, tmp_path: Path) -> None:
    csv = tmp_path / "typo.csv"
    csv.write_text("id,name,lon,lat\nT1,光伏,114.30,320.8\n", encoding="utf-8")
    result = runner.invoke(app, ["screen", str(csv), "--type", "pv", "--crs", "EPSG:4326", "--catalog",
                                 str(world), "--out", str(tmp_path / "o1")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Latitude 320.8 is outside [-90, 90] — typo for 32.08?" in text and "feature 1" in text
    assert "metres" not in text
    assert not (tmp_path / "o1" / "screening.json").exists()
    # metres in a shapefile whose .prj says WGS84 degrees (was: TypeError formatting a None area)
    shp = tmp_path / "metres.shp"
    _frame([("M1", "pv", None, box(530000, 3500000, 531000, 3501000))], crs="EPSG:4326").rename(
        columns={"project_type": "type"}).to_file(shp)
    result = runner.invoke(app, ["screen", str(shp), "--catalog", str(world), "--out", str(tmp_path / "o2")])
    text = " ".join(result.output.split())            # the terminal wraps long lines
    assert result.exit_code == 2 and "cannot be degrees" in text     # refused when read, or by screening
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "--crs EPSG:4547" in text
    # --radius 1e-9: a point footprint of no area
    pts = tmp_path / "pts.geojson"
    _frame([("R1", "pv", None, Point(530000, 3500000))]).to_file(pts, driver="GeoJSON")
    result = runner.invoke(app, ["screen", str(pts), "--radius", "1e-9", "--catalog", str(world), "--out",
                                 str(tmp_path / "o3")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "R1" in text and "realistic radius" in text
    # 1e300 coordinates in a CSV: nowhere on the Earth (was: verdict with an infinite or zero area)
    big = tmp_path / "big.csv"
    big.write_text("id,x,y\nB1,1e300,1e300\n", encoding="utf-8")
    result = runner.invoke(app, ["screen", str(big), "--type", "pv", "--crs", CRS, "--catalog", str(world), "--out",
                                 str(tmp_path / "o4")])
    assert result.exit_code == 2 and "B1" in result.output and not (tmp_path / "o4" / "screening.json").exists()


# ------------------------------------------------------------------------- 4. the wrong Gauss-Krüger zone
def test_zone_37_eastings_stated_as_cm_114_name_the_right_zone(world: Path, tmp_path: Path) -> None:
    # Two world projects, their coordinates computed in CGCS2000 3-degree zone CM 111°E (EPSG:4546) and then
    # stated as CM 114°E (EPSG:4547): ~270 km east of the data.
    inside = _frame([("Z1", "pv", None, box(530000, 3500000, 531000, 3501000)),
                     ("Z2", "pv", None, box(541000, 3521000, 542000, 3522000))])
    zone37 = inside.to_crs("EPSG:4546").set_crs(CRS, allow_override=True)
    with pytest.raises(CRSError, match=r"--crs EPSG:4546") as info:
        screen(zone37, world)
    assert "100%" in str(info.value) and "CM 111E" in str(info.value)
    # the same through the CLI, from a CSV of eastings and northings
    c = shapely.get_coordinates(zone37.geometry.centroid.values)
    csv = tmp_path / "zone37.csv"
    csv.write_text("id,x,y\n" + "".join(f"Z{i + 1},{x:.1f},{y:.1f}\n" for i, (x, y) in enumerate(c)),
                   encoding="utf-8")
    result = runner.invoke(app, ["screen", str(csv), "--type", "pv", "--crs", "EPSG:4547", "--catalog", str(world),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "EPSG:4546" in " ".join(result.output.split())
    assert not (tmp_path / "o" / "screening.json").exists()


def test_every_project_far_away_without_a_better_crs_is_warned(world: Path) -> None:
    far = _frame([("F1", "pv", None, box(700000, 3300000, 701000, 3301000))])       # ~200 km south-east
    with pytest.warns(SanxianWarning, match="at least 2[0-9]{2} km"):
        res = screen(far, world)
    assert res.projects["verdict"].tolist() == ["outside_coverage"] and not res.projects["complete"].any()
    # one project inside the data: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", SanxianWarning)
        screen(_frame([("F1", "pv", None, box(700000, 3300000, 701000, 3301000)),
                       ("I1", "pv", None, box(530000, 3500000, 531000, 3501000))]), world)


def test_county_view_searches_across_the_county_line_where_the_zoning_data_go_on(world: Path) -> None:
    from sanxian_yidan.catalog import Catalog

    view = Catalog.load(world).restricted_to("甲县")               # x 500000-530000; the zoning layers stay whole
    res = screen(_frame([
        ("LINE", "industrial", "C3360", box(528700, 3500000, 529700, 3501000)),   # 300 m from 乙县
        ("WEST", "industrial", "C3360", box(500300, 3500000, 501300, 3501000)),   # 300 m from the world's edge
    ]), view)
    table = res.projects.set_index("project_id")
    # across the county line the farmland layer goes on: the 1 km search is fully evaluated
    assert _rows(res, "LINE", "not_evaluated").empty and table.loc["LINE", "complete"]
    # across the edge of the whole catalog there are no data: 700 m of the search are outside (as above)
    row = _rows(res, "WEST", "not_evaluated").set_index("rule_id").loc["BF-04"]
    outside = 700.0 * 1000.0 + _segment(1000.0, 300.0)
    assert row["overlap_area_m2"] == pytest.approx(outside, rel=2e-3) and not table.loc["WEST", "complete"]


def test_absence_rule_without_a_coverage_layer_is_not_evaluated(world: Path) -> None:
    catalog = write_world(world.parent / "no_counties", without=("counties",))
    res = screen(_frame([("IN", "industrial", "C2614", box(545000, 3505000, 546000, 3506000))]), catalog)
    ne = _rows(res, "IN", "not_evaluated").set_index("rule_id")
    # neither "prohibited: outside the park" nor silence: the park rule is reported as not evaluated
    assert "PARK-01" not in _rows(res, "IN", "finding")["rule_id"].tolist()
    assert ne.loc["PARK-01", "reason"] == "coverage_unknown" and ne.loc["PARK-01", "overlap_area_m2"] == 1e6
    assert ne.loc["COV-01", "reason"] == "layer_missing"
    table = res.projects.set_index("project_id")
    assert not table.loc["IN", "complete"] and np.isnan(table.loc["IN", "outside_coverage_share"])
    assert table.loc["IN", "verdict"] == "needs_assessment"        # TH-01 (两高); never compliant
