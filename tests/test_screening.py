"""Screening: hand-built world with hand-computable areas and verdicts, geodesic cross-check, edge cases, bad
input, outputs and reports, and an end-to-end run on the embedded sample catalog.

The world (tests/fixtures/screening_world.py) is made of axis-parallel boxes in EPSG:4547 near Suizhou, so
every overlap area below is a product of two side lengths.  Geodesic areas come from pyproj.Geod on the
CGCS2000 ellipsoid (GRS80 parameters), independently of the planar computation.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import SAMPLE_CATALOG
from fixtures.screening_world import CRS, write_world
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point, Polygon, box

from sanxian_yidan import crs as crsmod
from sanxian_yidan import screen
from sanxian_yidan.errors import CRSError, InputFileError
from sanxian_yidan.industries import UnknownIndustryCodeError
from sanxian_yidan.report import screening_report_html, screening_report_markdown
from sanxian_yidan.rules import VERDICTS
from sanxian_yidan.screening.settings import screening_settings
from sanxian_yidan.sheet import sheet_html

# Area of the 64-gon that buffers a point with radius r (quad_segs = 16): (64/2)·r²·sin(2π/64).
CIRCLE_64 = 32 * math.sin(2 * math.pi / 64)

PROJECTS = [
    # id, name, project_type, industry, geometry
    ("P1", "红线光伏", "pv", None, box(509500, 3489500, 510500, 3490500)),      # 1/4 in the red line
    ("P2", "触边光伏", "pv", None, box(510000, 3485000, 511000, 3486000)),      # touches the red line
    ("P3", "窄条光伏", "pv", None, box(509999.5, 3486000, 510500, 3486100)),    # 0.5 m x 100 m in the red line
    ("P3w", "细条光伏", "pv", None, box(509999.9, 3487000, 511000, 3488000)),   # 0.1 m x 1000 m: a sliver
    ("P4", "跨县光伏", "pv", None, box(529000, 3515000, 531000, 3516000)),      # half in each county
    ("P5", "部分出界", "pv", None, box(559000, 3500000, 561000, 3501000)),      # half outside coverage
    ("P6", "完全出界", "pv", None, box(600000, 3500000, 601000, 3501000)),      # wholly outside
    ("P7", "化工近河", None, "C2614", Point(520000, 3530500)),                  # 400 m from the river
    ("P8", "园区化工", None, "2614", box(536000, 3496000, 537000, 3497000)),    # inside the park
    ("P9", "水源地光伏", "pv", None, box(515200, 3520200, 515800, 3520800)),    # inside level-1 zone
    ("P10", "农田光伏", "pv", None, box(541000, 3521000, 542000, 3522000)),     # on basic farmland
    ("P11", "类型未知", None, None, box(541000, 3523000, 542000, 3524000)),     # on farmland, type unknown
    ("P12", "类型未知近河", None, None, Point(530000, 3530200)),                # 100 m from the river
    ("P13", "保护区光伏", "pv", None, box(521000, 3486000, 522000, 3487000)),   # in the nature reserve
    ("P14", "出界化工", None, "C2614", box(559500, 3529500, 560500, 3530500)),  # on the river, half outside
]
EXPECTED_VERDICT = {
    "P1": "prohibited", "P2": "needs_assessment", "P3": "prohibited", "P3w": "needs_assessment",
    "P4": "compliant", "P5": "outside_coverage", "P6": "outside_coverage", "P7": "prohibited",
    "P8": "needs_assessment", "P9": "prohibited", "P10": "prohibited", "P11": "prohibited",
    # P12: no finding, but the chemical 1 km river rule could not be evaluated (industry unknown)
    "P12": "needs_assessment",
    "P13": "prohibited", "P14": "prohibited",
}


def _projects(rows=PROJECTS, crs: str | None = CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "name": [r[1] for r in rows],
                             "project_type": [r[2] for r in rows], "industry": [r[3] for r in rows]},
                            geometry=[r[4] for r in rows], crs=crs)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def result(world: Path):
    return screen(_projects(), world)


def _findings(res, pid: str, kind: str = "finding") -> pd.DataFrame:
    f = res.findings
    return f[(f["project_id"] == pid) & (f["kind"] == kind)]


def _rule_ids(res, pid: str, kind: str = "finding") -> list[str]:
    return _findings(res, pid, kind)["rule_id"].tolist()


def _overlap(res, pid: str, role: str) -> pd.DataFrame:
    o = res.overlaps
    return o[(o["project_id"] == pid) & (o["role"] == role)]


# ------------------------------------------------------------------------------------------ verdicts
def test_verdicts_of_the_hand_built_projects(result) -> None:
    got = dict(zip(result.projects["project_id"], result.projects["verdict"]))
    assert got == EXPECTED_VERDICT
    assert set(result.projects["verdict"]) <= set(VERDICTS)
    zh = dict(zip(result.projects["project_id"], result.projects["verdict_zh"]))
    assert (zh["P1"], zh["P2"], zh["P4"], zh["P5"]) == ("禁止", "需论证", "未发现限制", "超出数据覆盖范围")


def test_rules_found_per_project(result) -> None:
    assert _rule_ids(result, "P1") == ["ECO-01", "CU-03"]          # most severe first
    assert _rule_ids(result, "P7") == ["YZ-01", "PARK-01", "TH-01"]
    assert _rule_ids(result, "P8") == ["TH-01", "CU-04"]
    assert _rule_ids(result, "P9") == ["WS-01"]
    assert _rule_ids(result, "P10") == ["BF-02"]
    assert _rule_ids(result, "P13") == ["NR-01", "CU-03"]
    # needs_assessment ranks above outside_coverage (module docstring of sanxian_yidan.rules)
    assert _rule_ids(result, "P14") == ["YZ-01", "PARK-01", "TH-01", "COV-01"]
    # every finding cites its rule and its source
    hits = result.findings[result.findings["kind"] == "finding"]
    assert hits["rule_id"].notna().all() and (hits["rule_source"].str.len() > 10).all()


def test_overlap_areas_computed_by_hand(result) -> None:
    p1 = _findings(result, "P1").set_index("rule_id")
    assert p1.loc["ECO-01", "overlap_area_m2"] == pytest.approx(500 * 500, rel=1e-9)
    assert p1.loc["ECO-01", "overlap_share"] == pytest.approx(0.25, rel=1e-9)
    red = _overlap(result, "P1", "eco_redline")
    assert red["overlap_area_m2"].tolist() == pytest.approx([250_000.0]) and red["feature_code"].tolist() == ["HX01"]
    unit = _overlap(result, "P1", "control_unit")
    assert (unit["feature_code"].tolist(), unit["feature_category"].tolist()) == (["ZH42000110001"], [1])
    assert unit["overlap_share"].tolist() == pytest.approx([1.0])
    assert _findings(result, "P9").iloc[0]["overlap_area_m2"] == pytest.approx(600 * 600)
    assert _findings(result, "P3").iloc[0]["overlap_area_m2"] == pytest.approx(0.5 * 100)
    p7 = result.projects.set_index("project_id").loc["P7"]
    assert p7["footprint_area_m2"] == pytest.approx(CIRCLE_64 * 100 ** 2, rel=1e-12)
    assert p7["footprint"] == "point buffered 100 m"
    # the 64-gon has a vertex straight south of the centre, so the distance to y = 3530000 is 500 - 100
    assert _findings(result, "P7").set_index("rule_id").loc["YZ-01", "distance_m"] == pytest.approx(400.0)
    assert _findings(result, "P7").set_index("rule_id").loc["PARK-01", "overlap_share"] == pytest.approx(1.0)


def test_geodesic_cross_check_within_half_a_percent(result) -> None:
    geod = Geod(ellps="GRS80")   # CGCS2000 uses the GRS80 ellipsoid parameters (f differs by 1e-11)
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4490", always_xy=True)
    pieces = result.overlaps[result.overlaps["project_id"].isin(["P1", "P4", "P14", "P9"])]
    assert len(pieces) >= 8
    for piece in pieces.itertuples():
        lonlat = shapely.transform(piece.geometry, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1])))
        geodesic = abs(geod.geometry_area_perimeter(lonlat)[0])
        assert piece.overlap_area_m2 == pytest.approx(geodesic, rel=0.005), (piece.project_id, piece.role)
    # and the whole footprint of the easternmost project (60 km from the central meridian)
    fp = result.projects.set_index("project_id").loc["P14"]
    lonlat = shapely.transform(fp.geometry, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1])))
    assert fp["footprint_area_m2"] == pytest.approx(abs(geod.geometry_area_perimeter(lonlat)[0]), rel=0.005)


# ---------------------------------------------------------------------------------------- edge cases
def test_touching_a_boundary_is_not_an_overlap(result) -> None:
    assert "ECO-01" not in _rule_ids(result, "P2") + _rule_ids(result, "P2", "note")
    assert _overlap(result, "P2", "eco_redline").empty
    assert (result.slivers["project_id"] == "P2").sum() == 0
    d = result.distances[(result.distances["project_id"] == "P2") & (result.distances["role"] == "eco_redline")]
    assert d["distance_m"].tolist() == [0.0]


def test_slivers_are_notes_not_overlaps(result, world: Path) -> None:
    note = _findings(result, "P3w", "note")
    assert note["rule_id"].tolist() == ["ECO-01"]
    assert note.iloc[0]["overlap_area_m2"] == pytest.approx(100.0)
    assert "细小碎片" in note.iloc[0]["message_zh"] and "sliver" in note.iloc[0]["message_en"].lower()
    assert _overlap(result, "P3w", "eco_redline").empty
    sliver = result.slivers[result.slivers["project_id"] == "P3w"].iloc[0]
    assert (sliver["role"], sliver["feature_code"]) == ("eco_redline", "HX01")
    assert sliver["mean_width_m"] == pytest.approx(100.0 / ((0.1 + 1000) / 1), rel=1e-6)
    # the 50 m² strip of P3 (0.5 m wide) counts at the default 1 m² tolerance but not at 100 m²
    strict = screen(_projects([PROJECTS[2]]), world, sliver_m2=100.0)
    assert strict.projects["verdict"].tolist() == ["needs_assessment"]
    assert _rule_ids(strict, "P3", "note") == ["ECO-01"] and strict.parameters["sliver_m2"] == 100.0


def test_outside_coverage_is_never_a_silent_pass(result) -> None:
    for pid, share in (("P5", 0.5), ("P6", 1.0)):
        cov = _findings(result, pid).set_index("rule_id").loc["COV-01"]
        assert cov["severity"] == "outside_coverage" and cov["overlap_share"] == pytest.approx(share)
        assert cov["overlap_area_m2"] == pytest.approx(share * (2e6 if pid == "P5" else 1e6))
    table = result.projects.set_index("project_id")
    assert table.loc["P6", "counties"] == "" and table.loc["P5", "counties"] == "乙县"
    # a prohibition found on the covered part stands; the coverage finding is still listed
    assert table.loc["P14", "verdict"] == "prohibited" and "COV-01" in _rule_ids(result, "P14")



def test_rule_notes_say_what_to_do_in_findings_json_report_and_sheet(result) -> None:
    # COV-01 carries a note in data/rules.toml; ECO-01 has none
    cov = _findings(result, "P6").set_index("rule_id").loc["COV-01"]
    assert cov["note_zh"] == "请补充覆盖该位置的分区管控数据后重新研判。"
    assert cov["note_en"] == "Add zoning data covering this location and screen again."
    record = next(r for r in result.to_records() if r["id"] == "P6")
    cov_rec = next(f for f in record["findings"] if f["rule_id"] == "COV-01")
    assert (cov_rec["note_zh"], cov_rec["note_en"]) == (cov["note_zh"], cov["note_en"])
    hits = result.findings[result.findings["rule_id"] == "ECO-01"]
    assert len(hits) and hits["note_zh"].isna().all()
    html = screening_report_html(result)
    assert "建议 / What to do" in html and "请补充覆盖该位置的分区管控数据后重新研判。" in html
    sheet = sheet_html(result, "P6")
    assert "请补充覆盖该位置的分区管控数据后重新研判。" in sheet and "Add zoning data covering this location" in sheet

def test_crossing_county_lines_lists_each_county(result) -> None:
    counties = _overlap(result, "P4", "admin_boundary")
    assert counties["feature_name"].tolist() == ["甲县", "乙县"]
    assert counties["feature_code"].tolist() == ["420001", "420002"]
    assert counties["overlap_area_m2"].tolist() == pytest.approx([1e6, 1e6])
    assert counties["overlap_share"].tolist() == pytest.approx([0.5, 0.5])
    assert result.projects.set_index("project_id").loc["P4", "counties"] == "甲县; 乙县"
    rec = {r["id"]: r for r in result.to_records()}["P4"]
    assert [c["name"] for c in rec["counties"]] == ["甲县", "乙县"]
    assert all(o["role"] != "admin_boundary" for o in rec["overlaps"])


def test_unknown_industry_or_type_is_reported_not_guessed(result) -> None:
    # P11: type unknown on farmland -> BF-01 applies (exemptions must be claimed); PV-only BF-02 undetermined
    assert _rule_ids(result, "P11") == ["BF-01"]
    ne = _findings(result, "P11", "not_evaluated").set_index("rule_id")
    assert {"BF-02", "TH-01", "TH-02"} <= set(ne.index)
    assert "industry or type is unknown" in ne.loc["BF-02", "message_en"]
    assert "缺少属性" in ne.loc["TH-01", "message_zh"]
    # P12: 100 m from the river, industry unknown -> the chemical 1 km rule is reported, not dropped
    assert _rule_ids(result, "P12") == []
    yz = _findings(result, "P12", "not_evaluated").set_index("rule_id").loc["YZ-01"]
    assert yz["distance_m"] == pytest.approx(100.0) and yz["rule_severity"] == "prohibited"
    table = result.projects.set_index("project_id")
    assert not table.loc["P11", "complete"] and not table.loc["P12", "complete"] and table.loc["P1", "complete"]
    # An incomplete screening is never "compliant": P12 has no finding but needs assessment.
    assert table.loc["P12", "n_findings"] == 0 and table.loc["P12", "verdict"] == "needs_assessment"


def test_industry_type_and_two_high_resolution(result) -> None:
    t = result.projects.set_index("project_id")
    assert (t.loc["P8", "industry"], t.loc["P8", "project_type"], bool(t.loc["P8", "two_high"])) == \
        ("C2614", "industrial", True)
    assert (t.loc["P1", "industry"], bool(t.loc["P1", "two_high"])) == ("D4416", False)   # pv -> 4416
    assert pd.isna(t.loc["P11", "industry"]) and pd.isna(t.loc["P11", "two_high"])


def test_keyword_defaults_fill_missing_attributes(world: Path) -> None:
    rows = [("Q1", "无属性", None, None, box(541000, 3523000, 542000, 3524000))]
    res = screen(_projects(rows), world, project_type="pv")
    assert res.projects["industry"].tolist() == ["D4416"] and _rule_ids(res, "Q1") == ["BF-02"]
    res = screen(_projects(rows), world, industry="C3011")
    assert res.projects["project_type"].tolist() == ["industrial"]
    assert "TH-02" in _rule_ids(res, "Q1") and "PARK-01" in _rule_ids(res, "Q1")


def test_missing_layer_role_is_reported_never_skipped(world: Path) -> None:
    cat = write_world(world.parent, without=("nature_reserves",))
    res = screen(_projects(), cat)
    assert "nature_reserve" in res.missing_roles
    p13 = _findings(res, "P13", "not_evaluated").set_index("rule_id")
    assert "NR-01" in p13.index and "layer missing" in p13.loc["NR-01", "message_en"]
    assert "图层目录中没有" in p13.loc["NR-01", "message_zh"]
    assert res.projects.set_index("project_id").loc["P13", "verdict"] == "needs_assessment"   # CU-03 only
    # every project the rule applies (or may apply) to gets the row, and loses 'complete'
    pv = [r[0] for r in PROJECTS if r[2] == "pv"]
    unknown = [r[0] for r in PROJECTS if r[2] is None and r[3] is None]
    ne = res.findings[(res.findings["rule_id"] == "NR-01") & (res.findings["kind"] == "not_evaluated")]
    assert sorted(ne["project_id"]) == sorted(pv + unknown)
    assert not res.projects.set_index("project_id").loc[pv, "complete"].any()
    rec = {r["id"]: r for r in res.to_records()}["P13"]
    assert "NR-01" in rec["not_evaluated"] and rec["complete"] is False


def test_missing_where_field_is_not_evaluated(world: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("""
[[rules]]
id = "LOCAL-RED"
title_zh = "按级别的红线规则"
title_en = "Red line by level"
role = "eco_redline"
predicate = "intersects"
severity = "restricted"
source = "test rule"
[rules.params]
where = [{ field = "grade", op = "==", value = "一类" }]
""", encoding="utf-8")
    res = screen(_projects([PROJECTS[0]]), world, rules)
    ne = _findings(res, "P1", "not_evaluated").set_index("rule_id")
    assert "field 'grade' missing" in ne.loc["LOCAL-RED", "message_en"]


def test_line_projects_are_corridors(world: Path) -> None:
    line = LineString([(507500, 3480500), (507500, 3495500)])   # crosses the red line north-south
    res = screen(_projects([("L1", "管线", "infrastructure", None, line)]), world, radius_m=10)
    row = res.projects.iloc[0]
    assert row["footprint"] == "line buffered ±10 m"
    assert row["footprint_area_m2"] == pytest.approx(15000 * 20 + CIRCLE_64 * 100, rel=1e-6)
    eco = _findings(res, "L1").set_index("rule_id").loc["ECO-02"]   # infrastructure: limited activity
    assert eco["overlap_area_m2"] == pytest.approx(5000 * 20, rel=1e-9)


def test_inputs_are_not_modified(world: Path) -> None:
    gdf = _projects(PROJECTS[:3])
    before = gdf.copy()
    screen(gdf, world)
    pd.testing.assert_frame_equal(pd.DataFrame(gdf.drop(columns="geometry")), pd.DataFrame(before.drop(columns="geometry")))
    assert gdf.geometry.geom_equals(before.geometry).all()


# --------------------------------------------------------------------------------------------- bad input
def test_no_crs_is_refused_unless_stated(world: Path, tmp_path: Path) -> None:
    with pytest.raises(CRSError, match="has no CRS"):
        screen(_projects(PROJECTS[:1], crs=None), world)
    assert screen(_projects(PROJECTS[:1], crs=None), world, crs="EPSG:4547").projects["verdict"].tolist() == \
        ["prohibited"]
    csv = tmp_path / "projects.csv"
    pd.DataFrame({"id": ["C1"], "X": [507500.0], "Y": [3487500.0], "project_type": ["pv"]}).to_csv(csv, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CRSError, match=r"(?s)no CRS.*refuses to guess.*--crs"):
            screen(csv, world)
        res = screen(csv, world, crs="EPSG:4547")
    assert _rule_ids(res, "C1")[0] == "ECO-01"


def test_gcj02_coordinates_declared_by_the_caller(world: Path, tmp_path: Path) -> None:
    # The true (WGS84) location is the centre of the 1 km level-1 water-source zone; Amap gives GCJ-02.
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(515500.0, 3520500.0)
    glon, glat = crsmod.wgs84_to_gcj02(lon, lat)
    csv = tmp_path / "amap.csv"
    pd.DataFrame({"id": ["G1"], "lon": [glon], "lat": [glat], "project_type": ["pv"]}).to_csv(csv, index=False)
    res = screen(csv, world, crs="GCJ-02", radius_m=10)
    centre = res.projects.geometry.iloc[0].centroid
    assert math.hypot(centre.x - 515500.0, centre.y - 3520500.0) < 1.0
    assert res.projects["verdict"].tolist() == ["prohibited"] and _rule_ids(res, "G1") == ["WS-01"]
    assert res.parameters["crs"] == "GCJ-02"
    # read as if it were WGS84 the same numbers land 0.6 km away: the declaration matters
    wrong = screen(csv, world, crs="EPSG:4326", radius_m=10).projects.geometry.iloc[0].centroid
    assert math.hypot(wrong.x - 515500.0, wrong.y - 3520500.0) > 500
    # a GeoDataFrame of GCJ-02 lon/lat can be declared the same way
    gdf = gpd.GeoDataFrame({"id": ["G2"], "project_type": ["pv"]}, geometry=[Point(glon, glat)], crs=None)
    centre = screen(gdf, world, crs="GCJ-02", radius_m=10).projects.geometry.iloc[0].centroid
    assert math.hypot(centre.x - 515500.0, centre.y - 3520500.0) < 1.0


def test_unknown_industry_code_lists_nearest_codes(world: Path) -> None:
    with pytest.raises(UnknownIndustryCodeError, match=r"(?s)C2O14.*Nearest valid codes: C2614"):
        screen(_projects(PROJECTS[:1]), world, industry="C2O14")
    rows = [("X1", "坏代码", None, "C99", box(541000, 3523000, 542000, 3524000))]
    with pytest.raises(UnknownIndustryCodeError, match=r"(?s)division 99 does not exist.*feature X1"):
        screen(_projects(rows), world)


def test_empty_geometry_is_an_error_naming_the_feature(world: Path, tmp_path: Path) -> None:
    gdf = _projects(PROJECTS[:2])
    gdf.loc[1, "geometry"] = Polygon()
    with pytest.raises(InputFileError, match=r"(?s)1 project\(s\) have an empty geometry: id='P2' \(row 2\)"):
        screen(gdf, world)
    path = tmp_path / "with_null.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "N1"}, "geometry": {"type": "Point", "coordinates": [113.4, 31.7]}},
        {"type": "Feature", "properties": {"id": "N2"}, "geometry": None}]}), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"(?s)empty geometry: id='N2'.*with_null.geojson"):
        screen(path, world)
    degenerate = _projects([("D1", "退化", "pv", None, Polygon([(510000, 3486000), (511000, 3486000),
                                                                (512000, 3486000)]))])
    with pytest.raises(InputFileError, match=r"(?s)degenerate.*D1"):
        screen(degenerate, world)


def test_duplicate_ids_and_bad_radius(world: Path) -> None:
    rows = [PROJECTS[0], ("P1", "重复", "pv", None, box(541000, 3521000, 542000, 3522000))]
    with pytest.raises(InputFileError, match=r"Project ids must be unique; repeated: \['P1'\]"):
        screen(_projects(rows), world)
    with pytest.raises(InputFileError, match=r"radius_m \(--radius\) must be a finite positive number"):
        screen(_projects(PROJECTS[:1]), world, radius_m=0)


@pytest.mark.parametrize("radius", [float("inf"), float("nan"), -5.0])
def test_non_finite_radius_is_named_finite_positive(world: Path, radius: float) -> None:
    with pytest.raises(InputFileError, match=r"(?s)must be a finite positive number.*Fix: give --radius"):
        screen(_projects(PROJECTS[:1]), world, radius_m=radius)


@pytest.mark.parametrize("radius", [1e300, 1e6, 5000.5])
def test_radius_above_the_maximum_names_radius_not_the_coordinates(world: Path, radius: float) -> None:
    # The maximum comes from data/screening.toml; the message blames --radius, not the project's position.
    limit = screening_settings().max_radius_m
    assert limit == 5000.0
    with pytest.raises(InputFileError, match=r"(?s)larger than the maximum of 5000 m.*Fix: give --radius") as e:
        screen(_projects(PROJECTS[:1]), world, radius_m=radius)
    assert "nowhere" not in str(e.value)
    screen(_projects(PROJECTS[:1]), world, radius_m=limit)  # the maximum itself is accepted


# ----------------------------------------------------------------------------------------------- outputs
def test_json_schema(result, tmp_path: Path) -> None:
    path = result.to_json(tmp_path / "screening.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, list) and [d["id"] for d in data] == [r[0] for r in PROJECTS]
    for obj in data:
        assert obj["verdict"] in VERDICTS and obj["verdict_zh"]
        for f in obj["findings"]:
            assert {"rule_id", "severity", "source", "kind"} <= set(f)
        for o in obj["overlaps"]:
            assert {"role", "code", "name", "area_m2", "share"} <= set(o)
    p1 = data[0]
    assert p1["findings"][0]["rule_id"] == "ECO-01" and p1["findings"][0]["severity"] == "prohibited"
    assert p1["findings"][0]["area_m2"] == 250000.0 and p1["findings"][0]["share"] == 0.25
    units = [a for a in p1["access_lists"]]
    assert units[0]["code"] == "ZH42000110001" and units[0]["space"].startswith("空间布局约束")
    assert set(units[0]) >= {"space", "pollution", "risk", "resource"}
    assert p1["synthetic_data"] is True


def test_gpkg_and_csv(result, tmp_path: Path) -> None:
    gpkg = result.to_gpkg(tmp_path / "screening.gpkg")
    layers = dict(pyogrio.list_layers(gpkg).tolist())
    assert set(layers) == {"projects", "overlaps", "findings", "distances", "notes"}
    projects = gpd.read_file(gpkg, layer="projects")
    assert projects["verdict"].tolist() == [EXPECTED_VERDICT[r[0]] for r in PROJECTS]
    overlaps = gpd.read_file(gpkg, layer="overlaps")
    p1 = overlaps[(overlaps["project_id"] == "P1") & (overlaps["role"] == "eco_redline")]
    assert p1.geometry.area.tolist() == pytest.approx([250_000.0])
    assert overlaps.loc[overlaps["role"] == "control_unit", "list_space"].str.startswith("空间布局约束").all()
    csv = pd.read_csv(result.to_csv(tmp_path / "screening.csv"), encoding="utf-8-sig")
    assert "研判结论 / Verdict" in csv.columns and "项目面积 / Footprint area [m²]" in csv.columns
    assert csv["研判结论 / Verdict"].tolist() == projects["verdict"].tolist()


def test_synthetic_layers_are_recorded(result) -> None:
    used = {u.layer_id: u.synthetic for u in result.layers_used}
    assert used["counties"] is False and used["control_units"] is True
    assert result.synthetic and "counties" not in result.synthetic_layers
    assert result.overlaps.loc[result.overlaps["role"] == "admin_boundary", "feature_synthetic"].eq(False).all()


def test_report_escapes_user_text_and_shows_the_banner(world: Path) -> None:
    rows = [("X<1>", "<script>alert(1)</script>", "pv", None, box(509500, 3489500, 510500, 3490500))]
    res = screen(_projects(rows), world)
    html = screening_report_html(res)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "X&lt;1&gt;" in html and "<b>测试</b>" not in html and "&lt;b&gt;测试&lt;/b&gt;" in html
    assert "示例数据" in html and "SAMPLE DATA" in html and 'class="banner"' in html
    assert "ECO-01" in html and "厅字〔2019〕48号" in html         # finding with its citation
    md = screening_report_markdown(res)
    assert "<script>" not in md and "&lt;script&gt;" in md and "SAMPLE DATA" in md
    assert md.index("## 项目 / Project") < md.index("## 依据与数据来源 / Sources")


def test_report_has_no_banner_when_every_layer_is_real(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"code": ["1"], "name": ["真县"]}, geometry=[box(500000, 3480000, 560000, 3540000)],
                     crs=CRS).to_file(tmp_path / "real.gpkg", layer="c", driver="GPKG")
    (tmp_path / "catalog.toml").write_text("""[[layers]]
id = "c"
role = "admin_boundary"
path = "real.gpkg"
layer = "c"
title_zh = "县界"
title_en = "County"
source = "test"
licence = "CC0"
synthetic = false
[layers.fields]
code = "code"
name = "name"
""", encoding="utf-8")
    (tmp_path / "rules.toml").write_text("""replace_defaults = true
[[rules]]
id = "COV-01"
title_zh = "覆盖"
title_en = "Coverage"
role = "admin_boundary"
predicate = "outside_coverage"
severity = "outside_coverage"
source = "test"
""", encoding="utf-8")
    res = screen(_projects(PROJECTS[:1]), tmp_path / "catalog.toml", tmp_path / "rules.toml")
    assert not res.synthetic and res.projects["verdict"].tolist() == ["compliant"]
    html = screening_report_html(res)
    assert 'class="banner"' not in html and "SAMPLE DATA" not in html


# ------------------------------------------------------------------------------------ embedded sample
SAMPLE_PROJECTS = [
    # verified against layers/suizhou_sample.gpkg (synthetic layers): positions are representative points
    ("S1", "大洪山光伏", "pv", None, Point(401670, 3503385)),            # red line 03 (大洪山)
    ("S2", "农田光伏", "pv", None, Point(437040, 3522497)),              # farmland JBNT42130300011
    ("S3", "高新区化工", None, "C2614", Point(446344, 3507394)),         # in the 高新区 park, 217 m from 府河
    ("S4", "水源地光伏", "pv", None, Point(474612, 3489022)),            # 徐家河 level-1 zone
    ("S5", "跨县光伏", "pv", None, box(431910, 3512675, 432510, 3513275)),  # on the 曾都区 / 随县 border
    ("S7", "一般单元光伏", "pv", None, Point(455378, 3511755)),          # general-control unit, nothing near
    ("S8", "府河边化工", None, "C2614", Point(434366, 3508489)),         # outside parks, 542 m from 府河
    ("S9", "境外项目", "pv", None, Point(360000, 3500000)),              # west of Suizhou
]


def test_end_to_end_on_the_embedded_sample() -> None:
    res = screen(_projects(SAMPLE_PROJECTS), SAMPLE_CATALOG, radius_m=50)
    verdicts = dict(zip(res.projects["project_id"], res.projects["verdict"]))
    assert verdicts == {"S1": "prohibited", "S2": "prohibited", "S3": "prohibited", "S4": "prohibited",
                        "S5": "compliant", "S7": "compliant", "S8": "prohibited", "S9": "outside_coverage"}
    assert _rule_ids(res, "S1")[0] == "ECO-01" and _rule_ids(res, "S2") == ["BF-02"]
    assert _rule_ids(res, "S3")[0] == "YZ-01" and "PARK-01" not in _rule_ids(res, "S3")
    assert _rule_ids(res, "S4")[0] == "WS-01" and _rule_ids(res, "S8")[:2] == ["YZ-01", "PARK-01"]
    counties = _overlap(res, "S5", "admin_boundary")
    assert counties["feature_name"].tolist() == ["曾都区", "随县"]
    assert counties["overlap_share"].sum() == pytest.approx(1.0, abs=1e-6)
    # S9 lies outside the data: its screening is not complete (the others are)
    complete = dict(zip(res.projects["project_id"], res.projects["complete"]))
    assert [pid for pid, ok in complete.items() if not ok] == ["S9"]
    s1_unit = _overlap(res, "S1", "control_unit").iloc[0]
    assert s1_unit["feature_category"] == 1 and s1_unit["list_space"].startswith("【示例文本，非官方】")
    assert res.synthetic and "control_units" in res.synthetic_layers and "counties" not in res.synthetic_layers
    assert res.missing_roles == ["residential_area"]
    html = screening_report_html(res)
    assert "SAMPLE DATA" in html and "【示例文本，非官方】" in html


def test_progress_steps_start_at_zero_and_end_at_the_total(world: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    screen(_projects(PROJECTS[:2]), world, progress=lambda msg, done, total: calls.append((msg, done, total)))
    done = [d for _, d, _ in calls]
    totals = {t for _, _, t in calls}
    assert len(totals) == 1 and done[0] == 0 and done[-1] == totals.pop() and done == sorted(done)
    assert any("ECO-01" in msg for msg, _, _ in calls)


def test_overlay_pieces_drops_pairs_that_only_touch() -> None:
    from sanxian_yidan.screening import overlay_pieces

    footprints = np.array([box(0, 0, 10, 10), box(20, 0, 30, 10)], dtype=object)
    features = np.array([box(10, 0, 20, 10), box(5, 5, 25, 6)], dtype=object)   # touches both / crosses both
    pi, fi, pieces, area = overlay_pieces(footprints, features)
    assert sorted(zip(pi.tolist(), fi.tolist(), area.tolist())) == [(0, 1, 5.0), (1, 1, 5.0)]
    assert all(p.geom_type in ("Polygon", "MultiPolygon") for p in pieces)


def test_threaded_bulk_calls_give_identical_results(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import sanxian_yidan.screening as scr

    rng = np.random.default_rng(7)
    centres = rng.uniform([500500, 3480500], [559500, 3539500], size=(300, 2))
    sides = rng.uniform(50, 3000, size=(300, 2))
    rows = [(f"R{i}", None, ["pv", "industrial", "livestock"][i % 3], None,
             box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)) for i, ((x, y), (w, h)) in enumerate(zip(centres, sides))]
    gdf = _projects(rows)
    serial = screen(gdf, world, threads=1)
    base = scr.screening_settings()
    monkeypatch.setattr(scr, "screening_settings", lambda: dataclasses.replace(base, min_parallel_pairs=1))
    threaded = screen(gdf, world, threads=3)
    assert threaded.parameters["threads"] == 3
    pd.testing.assert_frame_equal(pd.DataFrame(serial.projects.drop(columns="geometry")),
                                  pd.DataFrame(threaded.projects.drop(columns="geometry")))
    pd.testing.assert_frame_equal(serial.findings, threaded.findings)
    pd.testing.assert_frame_equal(pd.DataFrame(serial.overlaps.drop(columns="geometry")),
                                  pd.DataFrame(threaded.overlaps.drop(columns="geometry")))



# ------------------------------------------------------------------- equivalences the fast paths rely on
def test_both_query_directions_give_the_same_pairs_in_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    import sanxian_yidan.screening.overlay as scr_overlay

    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 1000, size=(400, 2))
    footprints = np.array([box(x, y, x + w, y + h) for (x, y), (w, h) in zip(xy, rng.uniform(5, 60, (400, 2)))],
                          dtype=object)
    # a few large features, one of which contains many footprints outright
    features = np.array([box(0, 0, 500, 500), Polygon([(400, 0), (1000, 0), (1000, 700), (600, 300)]),
                         box(450, 450, 1000, 1000), box(100, 600, 300, 900)], dtype=object)
    tree = shapely.STRtree(features)
    pi_ref, fi_ref = tree.query(footprints, predicate="intersects")
    inside_ref = shapely.within(footprints[pi_ref], features[fi_ref])
    for share in (0.0, 1.0):                 # 0: features' tree queried by footprints; 1: the reverse
        monkeypatch.setattr(scr_overlay, "FEW_FEATURES", share)
        pi, fi, inside = scr_overlay._intersecting_pairs(footprints, features, 1, 5000)
        assert pi.tolist() == pi_ref.tolist() and fi.tolist() == fi_ref.tolist()
        assert inside.tolist() == inside_ref.tolist() and inside.sum() > 50


def test_piece_order_is_the_lexsort_order_including_ties() -> None:
    from sanxian_yidan.screening.tables import _piece_order

    rng = np.random.default_rng(5)
    pi = np.sort(rng.integers(0, 300, 3000))
    fi = rng.permutation(3000)                                   # each (project, feature) pair once
    area = rng.choice([1.0, 2.5, 2.5000000001, 10.0, 1e6 / 3], size=3000) * rng.choice([1, 1, 7], size=3000)
    expected = np.lexsort((fi, -np.round(area, 6), pi))
    assert _piece_order(pi, area, fi).tolist() == expected.tolist()


def test_feature_names_per_project_are_distinct_ordered_and_truncated() -> None:
    import sanxian_yidan.screening.evaluate as scr_evaluate
    import sanxian_yidan.screening.inputs as scr_inputs

    names = ["甲", "乙", "甲", "丙", "丁", "戊", "己", "庚"]
    frame = gpd.GeoDataFrame({"name": names}, geometry=[box(i, 0, i + 1, 1) for i in range(8)], crs=CRS)
    layer = scr_inputs.Layer("eco_redline", frame, np.asarray(frame.geometry.values, dtype=object), True,
                       np.zeros(8, bool), [])
    # project 0: 甲 乙 甲 (a name twice); project 1: eight pieces, seven distinct names, first five listed;
    # project 2: one piece; project 3: pieces but not reported
    pi = np.array([1, 0, 1, 0, 1, 1, 0, 1, 2, 1, 1, 1, 3])
    fi = np.array([0, 0, 1, 1, 3, 2, 2, 4, 7, 5, 6, 7, 3])
    only = np.array([True, True, True, False])
    out = scr_evaluate.names_per_project(4, pi, fi, layer, only=only)
    assert out.tolist() == ["甲; 乙", "甲; 乙; 丙; 丁; 戊; … (+2)", "庚", ""]


def test_where_filters_give_the_condition_results_for_every_column_type() -> None:
    from sanxian_yidan.rules import Condition
    from sanxian_yidan.screening.inputs import _evaluate_on_column

    columns = [pd.Series([1, 2, 3, 1, 2, 2, 1]),
               pd.Series([1.0, 2.5, np.nan, 1.0, -0.0, 0.0, 2.5]),
               pd.Series(["一级", "二级", None, "一级", " 一级 ", "", "二级"], dtype="str"),
               pd.Series([1, "1", True, None, 1.0, "x", float("nan")], dtype=object),
               pd.Series([None] * 7, dtype=object)]
    conditions = [Condition("f", "==", 1), Condition("f", "!=", 1), Condition("f", "in", (1, "一级")),
                  Condition("f", "not_in", (2, "二级")), Condition("f", "<", 2), Condition("f", ">=", 1),
                  Condition("f", "startswith", ("一", "1")), Condition("f", "==", "true")]
    for column in columns:
        for cond in conditions:
            assert _evaluate_on_column(cond, column).tolist() == cond.evaluate(column).tolist(), (column, cond)


def test_synthetic_data_flags_every_project_screened_on_synthetic_inputs() -> None:
    repo = Path(__file__).resolve().parents[1]
    res = screen(repo / "studies" / "suixian_projects.geojson", repo / "layers" / "catalog.toml")
    table = res.projects.set_index("project_id")
    # SX-06 lies wholly outside the data (no overlap with any synthetic feature), yet it is a hypothetical
    # project screened with synthetic layers: its record must say so.
    assert table.loc["SX-06", "verdict"] == "outside_coverage"
    assert table["synthetic_data"].all()
