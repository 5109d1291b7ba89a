"""CAD red lines (DXF), KML/KMZ from field apps, Excel coordinate tables, text damaged upstream.

Independent checks: areas from the shapes' analytic definitions (rectangles, half-circles) or from the
shoelace formula on the raw coordinates read straight from the fixture (openpyxl / regular expressions), never
from the reader under test; distances from pyproj.Geod.  Fixtures: tests/data/README.md.
"""

from __future__ import annotations

import math
import re
import sys
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import Point

from sanxian_yidan import read_vector
from sanxian_yidan.errors import CRSError, EmptyLayerError, InputFileError, SanxianWarning
from sanxian_yidan.io.dxf import flatten_bulges
from sanxian_yidan.io.formats_settings import format_settings

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
from make_format_fixtures import E0, N0, red_line_dxf  # noqa: E402

DXF = DATA / "dxf" / "red_line_r2000_gbk.dxf"
KML = DATA / "kml" / "ovi_folders.kml"
XLSX = DATA / "xlsx" / "parcels_cm114.xlsx"
SAGITTA = format_settings().dxf.bulge_sagitta_m


def _shoelace(xy: np.ndarray) -> float:
    x, y = xy[:, 0] - xy[0, 0], xy[:, 1] - xy[0, 1]  # relative to a vertex: no cancellation at 113° or 3.5e6 m
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_vector(*args, **kwargs)


# --------------------------------------------------------------------------------------------------- DXF
def test_dxf_red_line_areas_match_the_drawn_shapes() -> None:
    out = _quiet(DXF, layer="红线", crs="EPSG:4547")
    assert out.crs.to_epsg() == 4547 and out["layer"].tolist() == ["红线", "红线"]
    a, b = out.geometry.values
    # Parcel A: 200 m x 100 m plus a half-disc of radius 50 m (bulge 1), minus the 20 m x 20 m courtyard.
    exact_a = 200 * 100 + math.pi * 50 ** 2 / 2 - 20 * 20
    arc_length = math.pi * 50
    # Chords lie inside a convex arc: the loss is positive and at most sagitta x arc length.
    assert 0 < exact_a - a.area <= SAGITTA * arc_length
    assert out["holes"].tolist() == [1, 0] and len(a.interiors) == 1
    # Parcel B: 60 m x 40 m 2-D POLYLINE closed by its last vertex, not by the flag.
    assert b.area == pytest.approx(60 * 40, abs=1e-9)
    assert b.bounds == pytest.approx((E0 + 400, N0, E0 + 460, N0 + 40))
    # every inserted arc vertex is on the circle (centre E0+200, N0+50; radius 50)
    ring = np.asarray(a.exterior.coords)
    east_of_chord = ring[ring[:, 0] > E0 + 200 + 1e-9]
    np.testing.assert_allclose(np.hypot(east_of_chord[:, 0] - (E0 + 200), east_of_chord[:, 1] - (N0 + 50)), 50,
                               atol=1e-6)
    # only parcel A has an arc (its LWPOLYLINE's bulge); the warning counts it once
    assert any(w.startswith(f"1 polyline(s) contain arcs (bulges), replaced by chords with sagitta at most {SAGITTA} m")
               for w in out.attrs["sanxian"]["warnings"])


def test_dxf_chinese_layer_names_in_gbk_and_in_autocad_escapes(tmp_path: Path) -> None:
    raw = DXF.read_bytes()
    assert b"ANSI_936" in raw and "红线".encode("gbk") in raw  # the fixture really is a GBK drawing
    escaped = tmp_path / "escaped.dxf"
    red_line_dxf(escaped, encoding=None)  # default code page: Chinese written as \U+7EA2\U+7EBF
    assert b"\\u+7ea2\\u+7ebf" in escaped.read_bytes().lower()
    a = _quiet(DXF, layer="红线", crs="EPSG:4547")
    b = _quiet(escaped, layer="红线", crs="EPSG:4547")
    assert shapely.equals(a.geometry.values, b.geometry.values).all()


def test_dxf_with_several_layers_asks_for_one() -> None:
    with pytest.raises(InputFileError, match=r"(?s)'红线' \(3\).*'道路' \(1\).*--layer"):
        read_vector(DXF, crs="EPSG:4547")
    with pytest.raises(InputFileError, match=r"(?s)Layer '红 线' is not in the drawing.*标注"):
        read_vector(DXF, layer="红 线", crs="EPSG:4547")
    with pytest.raises(EmptyLayerError, match="No closed"):
        read_vector(DXF, layer="标注", crs="EPSG:4547")


def test_dxf_open_polylines_are_skipped_with_a_warning() -> None:
    with pytest.warns(SanxianWarning, match="1 open polyline"):
        out = read_vector(DXF, layer="道路", crs="EPSG:4547")
    assert len(out) == 1 and out.geometry.iloc[0].area == pytest.approx(100.0)


def test_dxf_layer_names_ignore_case_as_in_cad(tmp_path: Path) -> None:
    import ezdxf
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline([(E0, N0), (E0 + 10, N0), (E0 + 10, N0 + 10)], close=True,
                                    dxfattribs={"layer": "HONGXIAN"})
    path = tmp_path / "case.dxf"
    doc.saveas(path)
    out = _quiet(path, layer="hongxian", crs="EPSG:4547")
    assert out["layer"].tolist() == ["HONGXIAN"] and out.area.tolist() == [pytest.approx(50.0)]


def test_dxf_without_zone_prefix_is_refused_and_with_prefix_inferred(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match=r"(?s)refuses to guess.*EPSG:4547.*Suizhou study area.*--crs EPSG:4547"):
        read_vector(DXF, layer="红线")
    prefixed = tmp_path / "prefixed.dxf"
    red_line_dxf(prefixed, prefix=38e6)
    with pytest.warns(SanxianWarning, match="inferred EPSG:4526"):
        out = read_vector(prefixed, layer="红线")
    assert out.crs.to_epsg() == 4526
    ref = _quiet(DXF, layer="红线", crs="EPSG:4547")
    np.testing.assert_allclose(out.area, ref.area, rtol=1e-12)


def test_dwg_is_refused_with_the_fix(tmp_path: Path) -> None:
    dwg = tmp_path / "红线.dwg"
    dwg.write_bytes(b"AC1032" + b"\0" * 200)
    with pytest.raises(InputFileError, match=r"(?s)DWG.*Save As.*DXF"):
        read_vector(dwg)
    renamed = tmp_path / "红线.dxf"  # a DWG with the wrong suffix is recognised by its bytes
    renamed.write_bytes(dwg.read_bytes())
    with pytest.raises(InputFileError, match="DWG"):
        read_vector(renamed)


def test_nested_rings_make_holes_and_islands(tmp_path: Path) -> None:
    import ezdxf
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    squares = [(0, 100), (20, 80), (40, 60)]  # outer, hole, island in the hole
    for lo, hi in squares:
        msp.add_lwpolyline([(E0 + lo, N0 + lo), (E0 + hi, N0 + lo), (E0 + hi, N0 + hi), (E0 + lo, N0 + hi)],
                           close=True, dxfattribs={"layer": "红线"})
    path = tmp_path / "nested.dxf"
    doc.saveas(path)
    out = _quiet(path, crs="EPSG:4547")
    assert sorted(out.area.round(6)) == [20.0 ** 2, 100.0 ** 2 - 60.0 ** 2]


@pytest.mark.parametrize("bulge", [1.0, -1.0, 0.4, -0.4, 2.0])
def test_flatten_bulges_against_the_circular_segment_formula(bulge: float) -> None:
    # Square 10 m x 30 m, clockwise; its north side (0,0)->(10,0) is an arc with the given bulge.
    xyb = np.array([[0, 0, bulge], [10, 0, 0], [10, -30, 0], [0, -30, 0]], dtype=float)
    theta = 4 * math.atan(abs(bulge))
    radius = 10 / (2 * math.sin(theta / 2))
    segment = radius ** 2 / 2 * (theta - math.sin(theta))
    # bulge > 0 turns counter-clockwise: the arc lies to the right of east, i.e. inside this ring
    exact = 300 - segment if bulge > 0 else 300 + segment
    pts = flatten_bulges(xyb, closed=True, sagitta=0.001)
    approx = _shoelace(pts)
    assert abs(exact - approx) <= 0.001 * radius * theta
    sagittas = radius * (1 - np.cos(theta / (2 * (len(pts) - 3))))
    assert sagittas <= 0.001


# --------------------------------------------------------------------------------------------------- KML
def test_kml_placemarks_of_nested_folders_with_chinese_names() -> None:
    with pytest.warns(SanxianWarning) as caught:
        out = read_vector(KML)
    messages = " ".join(str(w.message) for w in caught)
    assert "WGS84" in messages and "GCJ-02" in messages and "1 placemark(s) without" in messages
    assert out.crs.to_epsg() == 4326
    assert out["Name"].tolist() == ["曾都光伏一号", "升压站"]
    assert out["folder"].tolist() == ["项目/一期红线", "项目/标注点"]
    assert out["面积亩"].iloc[0] == "120" and out["Description"].iloc[0] == "踏勘 2024-05"
    text = KML.read_text(encoding="utf-8")
    rings = [np.array([[float(v) for v in p.split(",")[:2]] for p in block.split()])
             for block in re.findall(r"<coordinates>(.*?)</coordinates>", text)[:2]]
    assert out.geometry.iloc[0].area == pytest.approx(_shoelace(rings[0]) - _shoelace(rings[1]), rel=1e-12)


def test_kml_folder_selection_and_unknown_folder() -> None:
    for name in ("一期红线", "项目/一期红线"):
        out = _quiet(KML, layer=name)
        assert out["Name"].tolist() == ["曾都光伏一号"] and out.geom_type.tolist() == ["Polygon"]
    assert len(_quiet(KML, layer="项目")) == 2
    assert len(_quiet(KML, layer="随州光伏踏勘")) == 2  # the document name, as GDAL names the layer
    with pytest.raises(InputFileError, match=r"(?s)No folder '二期'.*项目/一期红线"):
        read_vector(KML, layer="二期")


def test_kml_gcj02_is_the_users_statement(tmp_path: Path) -> None:
    wgs = _quiet(KML, layer="一期红线")
    gcj = _quiet(KML, layer="一期红线", crs="GCJ-02")
    assert "GCJ02" in gcj.attrs["sanxian"]["crs_reason"]
    (x0, y0), (x1, y1) = wgs.geometry.iloc[0].exterior.coords[0], gcj.geometry.iloc[0].exterior.coords[0]
    shift = Geod(ellps="WGS84").inv(x0, y0, x1, y1)[2]
    assert 500 < shift < 750  # the GCJ-02 offset around Suizhou is 590-630 m


def test_kmz_reads_like_its_kml(tmp_path: Path) -> None:
    kmz = tmp_path / "踏勘.kmz"
    with zipfile.ZipFile(kmz, "w") as archive:
        archive.write(KML, "doc.kml")
        archive.writestr("files/icon.png", b"\x89PNG")
    a, b = _quiet(KML), _quiet(kmz)
    assert b.attrs["sanxian"]["format"] == "kmz"
    assert shapely.equals(a.geometry.values, b.geometry.values).all() and a["Name"].tolist() == b["Name"].tolist()


def test_kml_entity_declarations_are_refused() -> None:
    with pytest.raises(InputFileError, match="DOCTYPE or ENTITY"):
        read_vector(DATA / "kml" / "entity_attack.kml")


def test_truncated_kml_is_an_input_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.kml"
    cut.write_bytes(KML.read_bytes()[:400])
    with pytest.raises(InputFileError, match="not well-formed"):
        read_vector(cut)


# ------------------------------------------------------------------------------------- coordinate tables
def _raw_table() -> pd.DataFrame:
    from openpyxl import load_workbook
    ws = load_workbook(XLSX).active
    rows = [r for r in ws.iter_rows(min_row=3, values_only=True) if r[1] is not None]
    frame = pd.DataFrame(rows, columns=["parcel", "point", "ring", "X", "Y"])
    frame["parcel"] = frame["parcel"].ffill()
    return frame


def test_xlsx_coordinate_table_areas_by_shoelace_on_raw_rows() -> None:
    with pytest.raises(CRSError, match="refuses to guess"):
        read_vector(XLSX)  # CM 114E without zone prefix: never guessed
    out = _quiet(XLSX, crs="EPSG:4547")
    raw = _raw_table()
    expected = {}
    for pid, group in raw.groupby("parcel", sort=False):
        rings = [g[["Y", "X"]].to_numpy(float) for _, g in group.groupby("ring")]
        areas = [_shoelace(r) for r in rings]
        # 2024-01: ring 2 lies inside ring 1 (a hole); 2024-02: two separate squares (two parts)
        expected[pid] = areas[0] - areas[1] if pid == "2024-01" else sum(areas)
    assert out["parcel"].tolist() == ["2024-01", "2024-02"]
    np.testing.assert_allclose(out.area, [expected["2024-01"], expected["2024-02"]], rtol=1e-12)
    assert expected == {"2024-01": 100 * 80 - 10 * 10, "2024-02": 2 * 30 * 30}  # the fixture as documented
    assert out["holes"].tolist() == [1, 0] and out.geom_type.tolist() == ["Polygon", "MultiPolygon"]
    info = out.attrs["sanxian"]
    assert info["axis_order"] == "X=northing" and info["header_row"] == 2
    # X is the northing: the polygon's eastings are the Y column
    assert out.total_bounds[0] == pytest.approx(raw["Y"].min())


def test_coordinate_table_in_gis_order_with_zone_prefix_csv_gbk(tmp_path: Path) -> None:
    raw = _raw_table()
    csv = tmp_path / "坐标.csv"
    pd.DataFrame({"宗地号": raw["parcel"], "界址点号": raw["point"], "圈号": raw["ring"],
                  "X坐标": raw["Y"] + 38e6, "Y坐标": raw["X"]}).to_csv(csv, index=False, encoding="gbk")
    with pytest.warns(SanxianWarning, match="inferred EPSG:4526"):
        out = read_vector(csv)
    ref = _quiet(XLSX, crs="EPSG:4547")
    assert out.attrs["sanxian"]["axis_order"] == "X=easting"
    np.testing.assert_allclose(out.area, ref.area, rtol=1e-12)


def test_coordinate_table_ring_of_two_points_names_the_parcel(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    pd.DataFrame({"地块编号": ["A", "", "", "B", ""], "点号": ["J1", "J2", "J3", "J1", "J2"],
                  "X": [N0, N0, N0 + 10, N0, N0 + 5], "Y": [E0, E0 + 10, E0 + 10, E0, E0]}).to_csv(csv, index=False)
    with pytest.raises(InputFileError, match=r"(?s)Parcel B ring 1 has fewer than 3 distinct points.*rows \[5, 6\]"):
        read_vector(csv, crs="EPSG:4547")


def test_project_table_without_point_numbers_is_still_points(tmp_path: Path) -> None:
    csv = tmp_path / "projects.csv"
    pd.DataFrame({"项目": ["甲"], "经度": [113.37], "纬度": [31.69]}).to_csv(csv, index=False)
    out = _quiet(csv)
    assert out.geom_type.tolist() == ["Point"] and out.crs.to_epsg() == 4490


# ------------------------------------------------------------------------------------ damaged text
def test_text_damaged_upstream_is_named(tmp_path: Path) -> None:
    path = tmp_path / "damaged.geojson"
    gpd.GeoDataFrame({"名称": ["曾都", "锟斤拷锟斤拷", "随县", "\ufffd\ufffd乡"], "code": ["1", "2", "3", "4"]},
                     geometry=[Point(113.3 + i / 100, 31.7) for i in range(4)], crs="EPSG:4326").to_file(path)
    with pytest.warns(SanxianWarning, match=r"field '名称'.*2 feature\(s\) \[rows 1, 3\]"):
        read_vector(path)
    named = tmp_path / "damaged_name.geojson"
    gpd.GeoDataFrame({"锟斤拷": ["曾都"]}, geometry=[Point(113.3, 31.7)], crs="EPSG:4326").to_file(named)
    with pytest.warns(SanxianWarning, match=r"field name\(s\) \['锟斤拷'\] damaged"):
        read_vector(named)
    clean = tmp_path / "clean.geojson"
    gpd.GeoDataFrame({"名称": ["曾都"]}, geometry=[Point(113.3, 31.7)], crs="EPSG:4326").to_file(clean)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_vector(clean)


def test_gk_placement_of_the_fixture_origin_is_in_zengdu() -> None:
    lon, lat = Transformer.from_crs("EPSG:4547", "EPSG:4490", always_xy=True).transform(E0, N0)
    assert 113.2 < lon < 113.5 and 31.6 < lat < 31.8  # the fixtures' documented place (Zengdu, Suizhou)


def test_truncated_or_foreign_dxf_is_an_input_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.dxf"
    cut.write_bytes(DXF.read_bytes()[:5000])  # cut inside the TABLES section
    with pytest.raises(InputFileError, match=r"(?s)Cannot read the DXF.*save it again as DXF"):
        read_vector(cut, layer="红线", crs="EPSG:4547")
    text = tmp_path / "notes.dxf"
    text.write_text("这不是图纸\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="Cannot read the DXF"):
        read_vector(text, crs="EPSG:4547")


def test_kml_multigeometry_and_workbook_with_several_sheets(tmp_path: Path) -> None:
    kml = tmp_path / "multi.kml"
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<Placemark><name>两块地</name><MultiGeometry>"
        "<Polygon><outerBoundaryIs><LinearRing><coordinates>113.30,31.70 113.31,31.70 113.31,31.71 113.30,31.70"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "<Polygon><outerBoundaryIs><LinearRing><coordinates>113.32,31.70 113.34,31.70 113.34,31.71 113.32,31.70"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</MultiGeometry></Placemark></Document></kml>", encoding="utf-8")
    out = _quiet(kml)
    assert out.geom_type.tolist() == ["MultiPolygon"]
    assert out.geometry.iloc[0].area == pytest.approx(0.5 * 0.01 * 0.01 + 0.5 * 0.02 * 0.01, rel=1e-9)
    book = tmp_path / "two_sheets.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.read_excel(XLSX, header=None).to_excel(writer, sheet_name="一期", header=False, index=False)
        pd.DataFrame({"说明": ["二期待定"]}).to_excel(writer, sheet_name="二期", index=False)
    with pytest.warns(SanxianWarning, match=r"2 sheets.*'一期'.*--layer"):
        first = read_vector(book, crs="EPSG:4547")
    assert len(first) == 2


def test_dxf_with_a_wrong_western_code_page_is_read_by_its_bytes(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_codepage.dxf"
    wrong.write_bytes(DXF.read_bytes().replace(b"ANSI_936", b"ANSI_1252"))  # GBK text, header says Western
    with pytest.warns(SanxianWarning, match="declares code page ANSI_1252 but its text is not UTF-8"):
        out = read_vector(wrong, layer="红线", crs="EPSG:4547")
    assert out["layer"].tolist() == ["红线", "红线"]
    ref = _quiet(DXF, layer="红线", crs="EPSG:4547")
    assert shapely.equals(out.geometry.values, ref.geometry.values).all()


def test_kml_entity_declarations_are_refused_in_utf16_too(tmp_path: Path) -> None:
    text = (DATA / "kml" / "entity_attack.kml").read_text(encoding="utf-8").replace('encoding="UTF-8"',
                                                                                   'encoding="UTF-16"')
    utf16 = tmp_path / "attack16.kml"
    utf16.write_bytes(text.encode("utf-16"))
    with pytest.raises(InputFileError, match="DOCTYPE or ENTITY"):
        read_vector(utf16)


def test_csv_coordinate_table_with_a_title_row(tmp_path: Path) -> None:
    csv = tmp_path / "title.csv"
    lines = ["某某项目红线坐标表（CGCS2000 114°）", "点号,X,Y"]
    square = [(0, 0), (50, 0), (50, 20), (0, 20)]
    lines += [f"J{i + 1},{N0 + dy:.3f},{E0 + dx:.3f}" for i, (dx, dy) in enumerate(square)]
    csv.write_text("\n".join(lines) + "\n", encoding="gbk")
    out = _quiet(csv, crs="EPSG:4547")
    assert out.attrs["sanxian"]["header_row"] == 2 and out.area.tolist() == [pytest.approx(1000.0)]


def test_coordinate_table_in_degrees(tmp_path: Path) -> None:
    csv = tmp_path / "gnss.csv"
    pd.DataFrame({"点号": ["J1", "J2", "J3", "J4"], "经度": ["113°22'00\"", "113.3700", "113.3700", "113.3667"],
                  "纬度": [31.69, 31.69, 31.70, 31.70]}).to_csv(csv, index=False)
    out = _quiet(csv)
    assert out.crs.to_epsg() == 4490 and out.attrs["sanxian"]["axis_order"] == "X=longitude"
    ring = np.array([[113 + 22 / 60, 31.69], [113.37, 31.69], [113.37, 31.70], [113.3667, 31.70]])
    assert out.geometry.iloc[0].area == pytest.approx(_shoelace(ring), rel=1e-9)


def test_dxf_red_lines_inside_block_references(tmp_path: Path) -> None:
    import ezdxf
    doc = ezdxf.new("R2010")
    block = doc.blocks.new("红线块")
    block.add_lwpolyline([(0, 0), (10, 0), (10, 10), (0, 10)], close=True, dxfattribs={"layer": "0"})
    msp = doc.modelspace()
    # placed twice, at two positions and scales, on layer 红线 (entities of layer 0 take the reference's layer)
    msp.add_blockref("红线块", (E0, N0), dxfattribs={"layer": "红线"})
    msp.add_blockref("红线块", (E0 + 100, N0), dxfattribs={"layer": "红线", "xscale": 3, "yscale": 3})
    path = tmp_path / "blocks.dxf"
    doc.saveas(path)
    out = _quiet(path, crs="EPSG:4547")
    assert out["layer"].tolist() == ["红线", "红线"]
    assert sorted(out.area.round(9)) == [100.0, 900.0]
    assert out.total_bounds == pytest.approx((E0, N0, E0 + 130, N0 + 30))


@pytest.mark.parametrize("heading, values, unit, warned", [
    ("面积(平方米)", ["7900", "1800"], "m2", False),
    ("面积（亩）", [f"{7900 * 15 / 1e4:.2f}", f"{1800 * 15 / 1e4:.2f}"], "mu", False),
    ("面积", ["0.79", "0.18"], "ha", False),                   # bare numbers: hectares first
    ("面积(公顷)", ["0.79", "0.30"], "ha", True),               # parcel 2024-02 is 0.18 ha, not 0.30
])
def test_declared_parcel_areas_are_checked(tmp_path: Path, heading, values, unit, warned) -> None:
    raw = _raw_table()
    first = ~raw["parcel"].duplicated()
    area = pd.Series([""] * len(raw), dtype=object)
    area[first.to_numpy()] = values
    csv = tmp_path / "area.csv"
    pd.DataFrame({"地块编号": raw["parcel"], "点号": raw["point"], "圈号": raw["ring"], "X": raw["X"], "Y": raw["Y"],
                  heading: area}).to_csv(csv, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = read_vector(csv, crs="EPSG:4547")
    mismatch = [str(w.message) for w in caught if "does not match" in str(w.message)]
    assert bool(mismatch) == warned
    if warned:
        assert "parcel 2024-02" in mismatch[0] and "1800.0 m²" in mismatch[0]
        assert out["area_unit"].iloc[0] == "ha" and pd.isna(out["area_unit"].iloc[1])
    else:
        assert out["area_unit"].tolist() == [unit, unit]
        np.testing.assert_allclose(out["area_declared_m2"], [7900, 1800], rtol=1e-3)  # 亩 rounded to 0.01


def test_kml_nested_thousands_deep_is_an_input_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.kml"
    depth = 5000
    deep.write_text('<kml xmlns="http://www.opengis.net/kml/2.2"><Document>' + "<Folder><name>f</name>" * depth
                    + "<Placemark><Point><coordinates>113.3,31.7</coordinates></Point></Placemark>"
                    + "</Folder>" * depth + "</Document></kml>", encoding="utf-8")
    with pytest.raises(InputFileError, match="nested too deeply"):
        read_vector(deep)
