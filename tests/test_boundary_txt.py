"""Land-boundary coordinate exchange TXT (界址点坐标交换文件): reading, writing, round trips and bad input.

Every file is written into tmp_path by the test itself (GBK or UTF-8 bytes).  Reference values are computed
independently: areas by hand from rectangle sides, projected coordinates and CRS names with pyproj/the EPSG
registry, distances with pyproj.Geod.  Input files are hashed before and after each read to prove they are
never modified.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import SUIZHOU_LAT, SUIZHOU_LON
from pyproj import CRS, Geod, Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from sanxian_yidan.datafiles import packaged
from sanxian_yidan.errors import (
    BoundaryTxtError,
    CRSError,
    EncodingDetectionError,
    InputFileError,
    SanxianWarning,
)
from sanxian_yidan.io import read_vector
from sanxian_yidan.io.boundary_txt import (
    PARCEL_COLUMNS,
    looks_like_boundary_txt,
    read_boundary_txt,
    write_boundary_txt,
)

HEADER = """[属性描述]
格式版本号=
数据产生单位=随州市自然资源和规划局
数据产生日期=2024-05-01
坐标系={datum}
几度分带=3
投影类型=高斯克吕格
计量单位=米
带号={zone}
精度=0.001
转换参数=,,,,,,
[地块坐标]
"""

# Parcel 1: 100 m (east) x 200 m (north) rectangle with a 20 m x 30 m hole -> 20000 - 600 = 19400 m2 = 1.94 ha.
# Parcel 2: 50 m x 50 m square -> 2500 m2 = 0.25 ha.  Eastings carry the zone-38 prefix.
PARCELS = """10,1.9400,DK01,随州光伏项目地块,面,,建设用地,0602,@
J1,1,3500200.000,38500000.000
J2,1,3500200.000,38500100.000
J3,1,3500000.000,38500100.000
J4,1,3500000.000,38500000.000
J1,1,3500200.000,38500000.000
J5,2,3500050.000,38500040.000
J6,2,3500080.000,38500040.000
J7,2,3500080.000,38500060.000
J8,2,3500050.000,38500060.000
J5,2,3500050.000,38500040.000
5,0.2500,DK02,曾都区淅河镇地块,面,,农用地,0101,@
J1,1,3501000.000,38501000.000
J2,1,3501050.000,38501000.000
J3,1,3501050.000,38501050.000
J4,1,3501000.000,38501050.000
J1,1,3501000.000,38501000.000
"""
HAND_AREA_M2 = (100.0 * 200.0 - 20.0 * 30.0, 50.0 * 50.0)

# One 100 m x 200 m parcel = 2.0000 ha, for the bad-input variants.  Line numbers in the comments.
SINGLE = """[属性描述]
坐标系=2000国家大地坐标系
几度分带=3
投影类型=高斯克吕格
计量单位=米
带号=38
[地块坐标]
5,2.0000,DK01,测试地块,面,,,,@
J1,1,3500200.000,38500000.000
J2,1,3500200.000,38500100.000
J3,1,3500000.000,38500100.000
J4,1,3500000.000,38500000.000
J1,1,3500200.000,38500000.000
"""
#                                                   line 1 [属性描述], 2 坐标系, 6 带号, 7 [地块坐标],
#                                                   8 parcel header, 9-13 points

GEOD = Geod(ellps="GRS80")  # CGCS2000 uses the GRS80-equivalent ellipsoid; sub-mm difference for distances


def _write(path: Path, text: str, encoding: str = "gbk", *, crlf: bool = False) -> Path:
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes(text.encode(encoding))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _coords(geom) -> np.ndarray:
    """Coordinates of a geometry in canonical ring order and orientation (start vertex, direction)."""
    return shapely.get_coordinates(shapely.normalize(geom))


# ------------------------------------------------------------------------------------------ reading
def test_two_parcel_gbk_file_with_hole(tmp_path):
    path = _write(tmp_path / "parcels.txt", HEADER.format(datum="2000国家大地坐标系", zone=38) + PARCELS)
    before = _sha(path)
    gdf = read_boundary_txt(path)
    assert _sha(path) == before
    assert len(gdf) == 2
    assert list(gdf.columns[:-1]) == list(PARCEL_COLUMNS)
    assert gdf["name"].tolist() == ["随州光伏项目地块", "曾都区淅河镇地块"]
    assert gdf["parcel_id"].tolist() == ["DK01", "DK02"]
    assert gdf["use"].tolist() == ["建设用地", "农用地"]
    assert gdf["land_class_code"].tolist() == ["0602", "0101"]
    assert gdf["geom_kind"].tolist() == ["面", "面"]
    assert gdf["point_count"].tolist() == [10, 5]
    assert gdf["area_ha"].tolist() == [1.94, 0.25]
    assert gdf.crs.to_epsg() == 4526
    assert gdf.crs.name == "CGCS2000 / 3-degree Gauss-Kruger zone 38"
    np.testing.assert_allclose(gdf.area.to_numpy(), HAND_AREA_M2, rtol=0, atol=1e-6)
    first = gdf.geometry.iloc[0]
    assert first.geom_type == "Polygon" and len(first.interiors) == 1
    assert shapely.Polygon(first.interiors[0]).area == pytest.approx(600.0, abs=1e-9)
    # x = easting (with prefix), y = northing: J1 is (38500000, 3500200).
    assert first.exterior.coords[0] == (38500000.0, 3500200.0)
    meta = gdf.attrs["sanxian"]
    assert meta["encoding"] == "gbk"
    assert meta["source_path"] == str(path)
    assert meta["header"]["坐标系"] == "2000国家大地坐标系"
    assert meta["header"]["数据产生单位"] == "随州市自然资源和规划局"
    assert meta["header"]["转换参数"] == ",,,,,,"
    assert meta["warnings"] == []


def test_zone_38_prefixed_txt_lands_inside_suizhou(tmp_path):
    to_gk = Transformer.from_crs("EPSG:4490", "EPSG:4526", always_xy=True)
    east, north = to_gk.transform(SUIZHOU_LON, SUIZHOU_LAT)
    assert 38_000_000 < east < 39_000_000 and 3_000_000 < north < 4_000_000
    e0, n0 = round(east, 3), round(north, 3)
    corners = [(n0, e0), (n0, e0 + 50), (n0 - 50, e0 + 50), (n0 - 50, e0), (n0, e0)]
    lines = "".join(f"J{i % 4 + 1},1,{n:.3f},{e:.3f}\n" for i, (n, e) in enumerate(corners))
    path = _write(tmp_path / "suizhou.txt", HEADER.format(datum="2000国家大地坐标系", zone=38)
                  + "5,0.2500,DK01,随州地块,面,,,,@\n" + lines)
    gdf = read_boundary_txt(path)
    assert gdf.crs.to_epsg() == 4526
    lonlat = gdf.to_crs("EPSG:4326")
    west, south, east_, north_ = lonlat.total_bounds
    assert 112.7 <= west and east_ <= 114.2 and 31.3 <= south and north_ <= 32.5
    lon, lat = lonlat.geometry.iloc[0].exterior.coords[0]
    assert GEOD.inv(lon, lat, SUIZHOU_LON, SUIZHOU_LAT)[2] < 1.0


def test_unprefixed_eastings_with_zone_38_header_give_cm_114(tmp_path):
    text = HEADER.format(datum="CGCS2000", zone=38) + PARCELS.replace(",38500", ",500").replace(",38501", ",501")
    gdf = read_boundary_txt(_write(tmp_path / "cm114.txt", text))
    assert gdf.crs.to_epsg() == 4547
    assert gdf.crs.name == "CGCS2000 / 3-degree Gauss-Kruger CM 114E"
    assert gdf.geometry.iloc[0].exterior.coords[0] == (500000.0, 3500200.0)
    np.testing.assert_allclose(gdf.area.to_numpy(), HAND_AREA_M2, rtol=0, atol=1e-6)


def test_zone_field_holding_the_central_meridian(tmp_path):
    text = HEADER.format(datum="CGCS2000", zone=114) + PARCELS.replace(",38500", ",500").replace(",38501", ",501")
    gdf = read_boundary_txt(_write(tmp_path / "cm.txt", text))
    assert gdf.crs.to_epsg() == 4547
    assert any("central meridian 114E" in w for w in gdf.attrs["sanxian"]["warnings"])


@pytest.mark.parametrize("bom", [True, False])
def test_utf8_with_crlf_reads_and_records_encoding(tmp_path, bom):
    encoding = "utf-8-sig" if bom else "utf-8"
    path = _write(tmp_path / "utf8.txt", HEADER.format(datum="2000国家大地坐标系", zone=38) + PARCELS,
                  encoding, crlf=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") is bom
    assert b"\r\n" in path.read_bytes()
    gdf = read_boundary_txt(path)
    assert gdf.attrs["sanxian"]["encoding"] == encoding
    assert gdf["name"].tolist() == ["随州光伏项目地块", "曾都区淅河镇地块"]
    assert gdf.attrs["sanxian"]["header"]["坐标系"] == "2000国家大地坐标系"
    np.testing.assert_allclose(gdf.area.to_numpy(), HAND_AREA_M2, rtol=0, atol=1e-6)


def test_explicit_encoding_is_used_and_a_wrong_one_is_refused(tmp_path):
    path = _write(tmp_path / "gbk.txt", HEADER.format(datum="2000国家大地坐标系", zone=38) + PARCELS)
    assert read_boundary_txt(path, encoding="gbk").attrs["sanxian"]["encoding"] == "gbk"
    with pytest.raises(EncodingDetectionError, match="does not decode as 'utf-8'"):
        read_boundary_txt(path, encoding="utf-8")


def test_undecodable_bytes_name_the_file(tmp_path):
    path = tmp_path / "garbage.txt"
    path.write_bytes(b"[\xff\xfe\xff]\n\xff\xff,1,2,3\n")
    before = _sha(path)
    with pytest.raises(EncodingDetectionError, match="garbage.txt"):
        read_boundary_txt(path)
    assert _sha(path) == before


# EPSG codes checked against the registry names below (Xian 1980 zone 38 is EPSG:2362, not 2364 = zone 40).
@pytest.mark.parametrize("datum_text, epsg, name", [
    ("80西安坐标系", 2362, "Xian 1980 / 3-degree Gauss-Kruger zone 38"),
    ("西安80", 2362, "Xian 1980 / 3-degree Gauss-Kruger zone 38"),
    ("1980西安坐标系", 2362, "Xian 1980 / 3-degree Gauss-Kruger zone 38"),
    ("54北京坐标系", 2414, "Beijing 1954 / 3-degree Gauss-Kruger zone 38"),
    ("北京54", 2414, "Beijing 1954 / 3-degree Gauss-Kruger zone 38"),
    ("1954北京坐标系", 2414, "Beijing 1954 / 3-degree Gauss-Kruger zone 38"),
])
def test_legacy_datums_give_their_crs_and_a_warning(tmp_path, datum_text, epsg, name):
    assert CRS.from_epsg(epsg).name == name
    gdf = read_boundary_txt(_write(tmp_path / "legacy.txt", HEADER.format(datum=datum_text, zone=38) + PARCELS))
    assert gdf.crs.to_epsg() == epsg
    legacy = "Xian 1980" if "Xian" in name else "Beijing 1954"
    warns = gdf.attrs["sanxian"]["warnings"]
    assert len(warns) == 1 and f"legacy {legacy} datum" in warns[0] and "7-parameter" in warns[0]


def test_missing_datum_is_taken_as_cgcs2000_with_a_warning(tmp_path):
    gdf = read_boundary_txt(_write(tmp_path / "nodatum.txt", HEADER.format(datum="", zone=38) + PARCELS))
    assert gdf.crs.to_epsg() == 4526
    assert any("taken as CGCS2000" in w for w in gdf.attrs["sanxian"]["warnings"])


def test_easting_first_is_recognised_by_magnitude(tmp_path):
    swapped = re.sub(r"^(J\d+,\d),(\d+\.\d+),(\d+\.\d+)$", r"\1,\3,\2", PARCELS, flags=re.MULTILINE)
    assert "J1,1,38500000.000,3500200.000" in swapped
    gdf = read_boundary_txt(_write(tmp_path / "swapped.txt", HEADER.format(datum="CGCS2000", zone=38) + swapped))
    assert gdf.geometry.iloc[0].exterior.coords[0] == (38500000.0, 3500200.0)
    np.testing.assert_allclose(gdf.area.to_numpy(), HAND_AREA_M2, rtol=0, atol=1e-6)
    assert any("easting before the northing" in w for w in gdf.attrs["sanxian"]["warnings"])


def test_declared_area_far_from_the_coordinates_is_noted(tmp_path):
    # 3.5 fits the 1.94 ha parcel in no unit (ha 1.94, m2 19400, mu 29.1); 0.2501 is within the 1 m2 tolerance.
    text = PARCELS.replace("10,1.9400,DK01", "10,3.5,DK01").replace("5,0.2500,DK02", "5,0.2501,DK02")
    gdf = read_boundary_txt(_write(tmp_path / "area.txt", HEADER.format(datum="CGCS2000", zone=38) + text),
                            emit_warnings=False)
    assert gdf["area_ha"].tolist() == [3.5, 0.2501]  # no unit matches: the format's hectares are kept
    assert gdf["area_unit"].tolist() == ["ha", "ha"]
    warns = gdf.attrs["sanxian"]["warnings"]
    assert len(warns) == 1 and "'DK01'" in warns[0] and "1.9400 ha" in warns[0] and "every unit tried" in warns[0]


def test_area_in_mu_or_m2_without_unit_is_recognised_and_converted(tmp_path):
    # The 1.94 ha parcel declared as 29.1 (mu: 1.94 * 15) and the 0.25 ha one as 2500 (m2).
    text = PARCELS.replace("10,1.9400,DK01", "10,29.1,DK01").replace("5,0.2500,DK02", "5,2500,DK02")
    with pytest.warns(SanxianWarning, match=r"matches the coordinates in 亩 \(mu\)"):
        gdf = read_boundary_txt(_write(tmp_path / "area.txt", HEADER.format(datum="CGCS2000", zone=38) + text))
    hand_ha = np.array(HAND_AREA_M2) / 1e4
    np.testing.assert_allclose(gdf["area_ha"], hand_ha, rtol=1e-12)
    assert gdf["area_unit"].tolist() == ["mu", "m2"]
    assert gdf["area_declared"].tolist() == [29.1, 2500.0]
    assert any("平方米 (m2)" in w for w in gdf.attrs["sanxian"]["warnings"])


def test_outer_rings_become_parts_and_ring_order_does_not_matter(tmp_path):
    # Ring 1 is the hole, ring 2 the exterior (anticlockwise), ring 3 a separate square: 2 parts, 1 hole.
    text = HEADER.format(datum="CGCS2000", zone=38) + """15,,DK09,多部件地块,面,,,,@
J1,1,3500050.000,38500040.000
J2,1,3500080.000,38500040.000
J3,1,3500080.000,38500060.000
J4,1,3500050.000,38500060.000
J1,1,3500050.000,38500040.000
J5,2,3500000.000,38500000.000
J6,2,3500000.000,38500100.000
J7,2,3500200.000,38500100.000
J8,2,3500200.000,38500000.000
J5,2,3500000.000,38500000.000
J9,3,3500300.000,38500000.000
J10,3,3500300.000,38500010.000
J11,3,3500310.000,38500010.000
J12,3,3500310.000,38500000.000
J9,3,3500300.000,38500000.000
"""
    geom = read_boundary_txt(_write(tmp_path / "multi.txt", text)).geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert sorted(len(p.interiors) for p in geom.geoms) == [0, 1]
    assert geom.area == pytest.approx(19400.0 + 100.0, abs=1e-6)


def test_line_and_point_parcels(tmp_path):
    text = HEADER.format(datum="CGCS2000", zone=38) + """4,,XL1,线路,线,,,,@
J1,1,3500000.000,38500000.000
J2,1,3500000.000,38500030.000
J3,2,3500100.000,38500000.000
J4,2,3500100.000,38500040.000
1,,DW1,测量点,点,,,,@
J1,1,3500500.000,38500500.000
"""
    gdf = read_boundary_txt(_write(tmp_path / "lines.txt", text))
    assert gdf["geom_kind"].tolist() == ["线", "点"]
    assert gdf.geometry.iloc[0].geom_type == "MultiLineString"
    assert gdf.geometry.iloc[0].length == pytest.approx(30.0 + 40.0)
    assert gdf.geometry.iloc[1].equals(Point(38500500.0, 3500500.0))


# ------------------------------------------------------------------------------------------ bad input
def _variant(old: str, new: str) -> str:
    assert old in SINGLE
    return SINGLE.replace(old, new, 1)


BAD = [
    ("no_section", _variant("[地块坐标]\n", ""), r"has no \[地块坐标\] section"),
    ("closing_point_moved", SINGLE[:SINGLE.rindex("J1,1")] + "J1,1,3500100.000,38500000.000\n",
     (r"Ring 1 of parcel 'DK01' is not closed: its last point J1 \(line 13\) repeats the number of its first "
      r"point \(line 9\) at other coordinates \(3500100.000, 38500000.000 instead of 3500200.000, "
      r"38500000.000\)")),
    ("point_count_unclosed", _variant("5,2.0000,DK01", "6,2.0000,DK01")[:SINGLE.rindex("J1,1") + 1],
     r"declares 点数=6 but has 4 point lines \(lines 9-12\) \(5 with the closing repeats its 1 unclosed"),
    ("open_ring_too_short", SINGLE[:SINGLE.index("5,2.0000")] + "2,,DK01,测试地块,面,,,,@\n"
     "J1,1,3500200.000,38500000.000\nJ2,1,3500200.000,38500100.000\n",
     r"Ring 1 of parcel 'DK01' \(lines 9-10\) has only 2 point lines; a polygon ring needs 3 corners \(at"),
    ("bad_area_unit", _variant("5,2.0000,DK01", "5,2.0000平方公里,DK01"),
     r"面积 \(area\) '2.0000平方公里' on line 8 is not a number with an optional unit"),
    ("unknown_layout", _variant("5,2.0000,DK01,测试地块,面,,,,@", "5,2.0000,DK01,测试,地块,面,,,,,,@"),
     r"The parcel header on line 8 has 11 fields before '@'; the known layouts have \[7, 8, 10, 13\]"),
    ("non_numeric", _variant("J3,1,3500000.000", "J3,1,35OO000.000"),
     r"Coordinate '35OO000.000' on line 11 is not a number"),
    ("point_count", _variant("5,2.0000,DK01", "6,2.0000,DK01"),
     r"'DK01' \(line 8\) declares 点数=6 but has 5 point lines \(lines 9-13\)"),
    ("point_before_parcel", _variant("[地块坐标]\n", "[地块坐标]\nJ0,1,3500200.000,38500000.000\n"),
     r"Point line 8 comes before any parcel header line"),
    ("short_ring", SINGLE[:SINGLE.index("5,2.0000")] + "3,,DK01,测试地块,面,,,,@\n"
     "J1,1,3500200.000,38500000.000\nJ2,1,3500200.000,38500100.000\nJ1,1,3500200.000,38500000.000\n",
     r"Ring 1 of parcel 'DK01' \(lines 9-11\) has only 3 point lines; a polygon ring needs 3 corners"),
    ("unknown_datum", _variant("坐标系=2000国家大地坐标系", "坐标系=WGS84坐标系"),
     r"Unknown 坐标系 'WGS84坐标系' on line 2"),
    ("zone_disagrees", _variant("带号=38", "带号=37"),
     r"带号=37 on line 6 disagrees with the zone prefix 38 of the eastings"),
    ("no_zone", _variant("带号=38", "带号=").replace(",38500", ",500"),
     r"no zone prefix \(e.g. 500000.000 on line 9\) and \[属性描述\] gives no 带号"),
    ("mixed_prefix", _variant("J3,1,3500000.000,38500100.000", "J3,1,3500000.000,500100.000"),
     r"easting on line 11 lacks the zone prefix"),
    ("degrees", _variant("J2,1,3500200.000,38500100.000", "J2,1,31.69,113.37"),
     r"Line 10: coordinates 31.69, 113.37 are not a Gauss-Kruger northing"),
    ("zone_width", _variant("几度分带=3", "几度分带=5"), r"几度分带 \(zone width\) '5' on line 3 is not one of"),
    ("bad_prefix", SINGLE.replace("带号=38", "带号=").replace(",38500", ",12500"),
     r"zone prefix of the eastings \(e.g. 12500000.000 on line 9\) is not valid"),
]


@pytest.mark.parametrize("text, pattern", [(t, p) for _, t, p in BAD], ids=[n for n, _, _ in BAD])
def test_bad_input_raises_with_line_numbers_and_leaves_the_file_alone(tmp_path, text, pattern):
    path = _write(tmp_path / "bad.txt", text)
    before = _sha(path)
    with pytest.raises(BoundaryTxtError, match=pattern) as info:
        read_boundary_txt(path)
    message = str(info.value)
    assert str(path) in message and "Fix:" in message
    assert _sha(path) == before


def test_bad_parcel_errors_name_the_parcel(tmp_path):
    path = _write(tmp_path / "bad.txt", _variant("5,2.0000,DK01", "6,2.0000,DK01"))
    with pytest.raises(BoundaryTxtError, match=r"feature parcel 编号 'DK01' \(line 8\)"):
        read_boundary_txt(path)


@pytest.mark.parametrize("content", [b"", b"  \r\n\r\n\t\n"], ids=["zero_bytes", "blank_lines"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(BoundaryTxtError, match="The file is empty"):
        read_boundary_txt(path)
    assert path.read_bytes() == content


def test_all_problems_are_reported_together(tmp_path):
    text = _variant("带号=38", "带号=37").replace("J3,1,3500000.000", "J3,1,35OO000.000")
    with pytest.raises(BoundaryTxtError, match="has 2 problems") as info:
        read_boundary_txt(_write(tmp_path / "two.txt", text))
    message = str(info.value)
    assert "带号=37 on line 6" in message and "'35OO000.000' on line 11" in message
    assert message.index("line 6") < message.index("line 11")


# ------------------------------------------------------------------------------------------ writing
def _suizhou_frame(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """A polygon with a hole and a two-part multipolygon (one part with a hole) at Suizhou, mm coordinates."""
    e0, n0 = Transformer.from_crs("EPSG:4490", "EPSG:4526", always_xy=True).transform(SUIZHOU_LON, SUIZHOU_LAT)

    def square(e: float, n: float, size: float) -> list[tuple[float, float]]:
        jitter = rng.uniform(-1.0, 1.0, size=(4, 2))
        pts = np.array([(e, n), (e + size, n), (e + size, n + size), (e, n + size)]) + jitter
        return [tuple(p) for p in np.round(pts, 3)]

    holed = Polygon(square(e0, n0, 200), [square(e0 + 50, n0 + 50, 40)])
    multi = MultiPolygon([Polygon(square(e0 + 500, n0, 100), [square(e0 + 530, n0 + 30, 20)]),
                          Polygon(square(e0 + 800, n0 + 300, 60))])
    return gpd.GeoDataFrame({"parcel_id": ["A-1", "B-2"], "name": ["光伏地块一", "光伏地块二"],
                             "use": ["建设用地", None]}, geometry=[holed, multi], crs="EPSG:4526")


@pytest.mark.parametrize("prefixed, epsg", [(True, 4526), (False, 4547)])
def test_round_trip_is_exact_to_the_millimetre(tmp_path, prefixed, epsg):
    original = _suizhou_frame(np.random.default_rng(20240501))
    kept = original.copy()
    out = write_boundary_txt(original, tmp_path / "out.txt", prefixed=prefixed)
    pd.testing.assert_frame_equal(original, kept)  # the caller's frame is untouched
    back = read_boundary_txt(out)
    assert back.crs.to_epsg() == epsg
    assert back["parcel_id"].tolist() == ["A-1", "B-2"]
    assert back["name"].tolist() == ["光伏地块一", "光伏地块二"]
    assert back["use"].tolist() == ["建设用地", ""]
    assert back.attrs["sanxian"]["encoding"] == "gbk"
    assert back.attrs["sanxian"]["warnings"] == []
    assert back.geometry.iloc[1].geom_type == "MultiPolygon"
    shift = 0.0 if prefixed else 38_000_000.0
    for got, want in zip(back.geometry, original.geometry):
        assert got.geom_type == want.geom_type
        got_xy = _coords(shapely.transform(got, lambda c: c + [shift, 0.0]))
        want_xy = _coords(want)
        assert got_xy.shape == want_xy.shape
        assert np.abs(got_xy - want_xy).max() <= 0.001
    np.testing.assert_allclose(back["area_ha"], np.round(original.area / 1e4, 4), rtol=0, atol=1e-12)


def test_read_write_read_round_trip_of_a_file(tmp_path):
    first = read_boundary_txt(_write(tmp_path / "in.txt", HEADER.format(datum="2000国家大地坐标系", zone=38)
                                     + PARCELS))
    second = read_boundary_txt(write_boundary_txt(first, tmp_path / "again.txt"))
    assert second.crs == first.crs
    for got, want in zip(second.geometry, first.geometry):
        assert np.abs(_coords(got) - _coords(want)).max() <= 0.001
    assert second[list(PARCEL_COLUMNS)].equals(first[list(PARCEL_COLUMNS)])


def test_written_layout_numbering_and_orientation(tmp_path):
    # The hand file's exterior is clockwise already; its hole (J5-J8) is clockwise too and must be reversed.
    gdf = read_boundary_txt(_write(tmp_path / "in.txt", HEADER.format(datum="CGCS2000", zone=38) + PARCELS))
    multi = MultiPolygon([Polygon([(38502000, 3502000), (38502010, 3502000), (38502010, 3502010),
                                   (38502000, 3502010)]),
                          Polygon([(38503000, 3503000), (38503000, 3503020), (38503020, 3503020),
                                   (38503020, 3503000)])])
    frame = pd.concat([gdf, gpd.GeoDataFrame({"parcel_id": [None]}, geometry=[multi], crs=gdf.crs)],
                      ignore_index=True)
    out = write_boundary_txt(frame, tmp_path / "out.txt")
    lines = out.read_bytes().decode("gbk").split("\r\n")
    assert lines[0] == "[属性描述]" and "[地块坐标]" in lines
    header = dict(line.split("=", 1) for line in lines[1:lines.index("[地块坐标]")])
    assert header["坐标系"] == "2000国家大地坐标系"
    assert header["带号"] == "38" and header["几度分带"] == "3" and header["精度"] == "0.001"
    body = lines[lines.index("[地块坐标]") + 1:-1]
    assert body[0] == "10,1.9400,DK01,随州光伏项目地块,面,,建设用地,0602,@"
    assert [ln.split(",")[0] for ln in body[1:11]] == ["J1", "J2", "J3", "J4", "J1", "J5", "J6", "J7", "J8", "J5"]
    assert [ln.split(",")[1] for ln in body[1:11]] == ["1"] * 5 + ["2"] * 5
    assert body[1] == "J1,1,3500200.000,38500000.000"
    # The third parcel: missing parcel_id -> DK3, area 100 + 400 m2, rings 1 and 2 for the two parts.
    third = body[body.index(next(ln for ln in body if ",DK3," in ln)):]
    assert third[0] == "10,0.0500,DK3,,面,,,,@"
    assert [ln.split(",")[1] for ln in third[1:]] == ["1"] * 5 + ["2"] * 5
    assert [ln.split(",")[0] for ln in third[1:]] == ["J1", "J2", "J3", "J4", "J1", "J5", "J6", "J7", "J8", "J5"]
    back = read_boundary_txt(out)
    for geom in back.geometry:
        for poly in getattr(geom, "geoms", [geom]):
            assert not poly.exterior.is_ccw
            assert all(ring.is_ccw for ring in poly.interiors)


def test_lonlat_input_is_projected_to_the_zone_of_its_longitude(tmp_path):
    lon0, lat0 = SUIZHOU_LON, SUIZHOU_LAT
    square = box(lon0, lat0, lon0 + 0.002, lat0 + 0.002)
    gdf = gpd.GeoDataFrame({"name": ["经纬度地块"]}, geometry=[square], crs="EPSG:4490")
    back = read_boundary_txt(write_boundary_txt(gdf, tmp_path / "ll.txt"))
    assert back.crs.to_epsg() == 4526  # round(113.37 / 3) = 38
    assert back["parcel_id"].tolist() == ["DK1"]
    x, y = Transformer.from_crs("EPSG:4490", "EPSG:4526", always_xy=True).transform(
        *np.asarray(square.exterior.coords).T)
    want = _coords(Polygon(np.column_stack([x, y])))
    assert np.abs(_coords(back.geometry.iloc[0]) - want).max() <= 0.0005 + 1e-9  # rounding to mm only

    other = read_boundary_txt(write_boundary_txt(gdf, tmp_path / "z37.txt", zone=37, prefixed=True))
    assert other.crs.to_epsg() == 4525
    assert other.attrs["sanxian"]["header"]["带号"] == "37"


def test_writing_xian_data_as_cgcs2000_warns(tmp_path):
    gdf = read_boundary_txt(_write(tmp_path / "xian.txt", HEADER.format(datum="西安80", zone=38) + PARCELS))
    with pytest.warns(SanxianWarning, match="legacy Xian 1980 datum"):
        write_boundary_txt(gdf, tmp_path / "cgcs.txt")
    kept = read_boundary_txt(write_boundary_txt(gdf, tmp_path / "xian_out.txt", datum="Xian1980"))
    assert kept.crs.to_epsg() == 2362
    assert kept.attrs["sanxian"]["header"]["坐标系"] == "1980西安坐标系"
    assert np.abs(_coords(kept.geometry.iloc[0]) - _coords(gdf.geometry.iloc[0])).max() <= 0.001


def test_write_refuses_to_overwrite_without_permission(tmp_path):
    gdf = _suizhou_frame(np.random.default_rng(1))
    path = write_boundary_txt(gdf, tmp_path / "out.txt")
    before = _sha(path)
    with pytest.raises(InputFileError, match="already exists"):
        write_boundary_txt(gdf.iloc[:1], path)
    assert _sha(path) == before
    write_boundary_txt(gdf.iloc[:1], path, overwrite=True)
    assert len(read_boundary_txt(path)) == 1


def test_write_refuses_non_polygons(tmp_path):
    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), LineString([(0, 0), (1, 1)]), Point(0, 0)],
                           crs="EPSG:4547")
    with pytest.raises(InputFileError, match=r"2 row\(s\) are LineString, Point"):
        write_boundary_txt(gdf, tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists()


def test_write_refuses_missing_crs_and_bad_text(tmp_path):
    gdf = _suizhou_frame(np.random.default_rng(2))
    with pytest.raises(CRSError, match="has no CRS"):
        write_boundary_txt(gdf.set_crs(None, allow_override=True), tmp_path / "a.txt")
    with pytest.raises(InputFileError, match=r"Column 'name' holds a comma"):
        write_boundary_txt(gdf.assign(name=["甲,乙", "丙"]), tmp_path / "b.txt")
    emoji = gdf.assign(name=["光伏☀️地块", "丙"])
    with pytest.raises(InputFileError, match="cannot be written in gbk"):
        write_boundary_txt(emoji, tmp_path / "c.txt")
    assert read_boundary_txt(write_boundary_txt(emoji, tmp_path / "c.txt", encoding="utf-8"))["name"][0] \
        == "光伏☀️地块"


def test_every_table_of_the_data_file_has_a_source():
    def walk(table: dict, where: str) -> list[str]:
        missing = [] if "source" in table else [where]
        for key, value in table.items():
            if isinstance(value, dict):
                missing += walk(value, f"{where}.{key}")
        return missing

    assert walk(packaged("boundary_txt.toml"), "boundary_txt.toml") == []


# ------------------------------------------------------------------------------------------ real-exporter corpus
# Files in tests/data/boundary_txt/ (README.md there names the exporter or document each reproduces).  Every
# expected value is computed here independently of the reader: point lines are picked out of the decoded text
# with a regular expression, each ring's area by the shoelace formula on the raw numbers (ring 1 adds, higher
# 圈号 subtract: every fixture has its holes under 圈号 >= 2), and the placement by pyproj from the anchor point.
CORPUS = Path(__file__).resolve().parent / "data" / "boundary_txt"
ANCHOR_LON, ANCHOR_LAT = 113.37, 31.69  # the point the fixtures were generated around (make_fixtures.py)
_POINT_LINE = re.compile(r"^\s*[^,@]*,(\d+),(\d+\.\d+),(\d+\.\d+)\s*$")


def _shoelace_areas(text: str) -> list[float]:
    """Net area [m2] of each parcel of a TXT, from the raw numbers: sum over rings of +-|shoelace|."""
    parcels: list[dict[int, list[tuple[float, float]]]] = []
    for line in text.replace("\r", "\n").split("\n"):
        if line.strip().endswith("@"):
            parcels.append({})
            continue
        m = _POINT_LINE.match(line)
        if m and parcels:
            parcels[-1].setdefault(int(m.group(1)), []).append((float(m.group(2)), float(m.group(3))))
    out = []
    for rings in parcels:
        total = 0.0
        for ring_no, pts in rings.items():
            xy = np.array(pts)
            x, y = xy[:, 0] - xy[0, 0], xy[:, 1] - xy[0, 1]  # shifted to the first point: no cancellation
            area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))  # closed or not: same
            total += area if ring_no == 1 else -area
        out.append(total)
    return out


CORPUS_CASES = {
    # file: (encoding, EPSG, declared area_ha, area_unit, rings closed by the reader)
    "unclosed_rings_csharp_gbk_crlf.txt": ("gbk", 4526, [1.94, 0.25], ["ha", "ha"], 3),
    "xian80_arcpy_short_layout_utf8bom.txt": ("utf-8-sig", 2362, [0.96], ["ha"], 0),
    "provincial_bsbb_utf16_m2.txt": ("utf-16", 4526, [0.010943, np.nan], ["m2", ""], 0),
    "consolidation_13_fields_beijing54_gbk.txt": ("gbk", 2435, [1.5], ["mu"], 0),
    "fullwidth_units_mixed_eol_no_suffix": ("utf-8", 4526, [0.1, 0.1, 0.1998], ["ha", "m2", "mu"], 0),
}


@pytest.mark.parametrize("name", sorted(CORPUS_CASES))
def test_corpus_file_reads_with_independent_areas_and_placement(name):
    path = CORPUS / name
    encoding, epsg, area_ha, units, closed = CORPUS_CASES[name]
    before = _sha(path)
    gdf = read_boundary_txt(path, emit_warnings=False)
    assert _sha(path) == before
    meta = gdf.attrs["sanxian"]
    assert meta["encoding"] == encoding
    assert gdf.crs.to_epsg() == epsg
    text = path.read_bytes().decode(encoding)
    np.testing.assert_allclose(gdf.area.to_numpy(), _shoelace_areas(text), rtol=0, atol=1e-6)
    np.testing.assert_allclose(gdf["area_ha"].to_numpy(), area_ha, rtol=1e-9)
    assert gdf["area_unit"].tolist() == units
    # Declared areas agree with the geometry (in the unit found) wherever one is declared.
    declared = np.isfinite(gdf["area_ha"].to_numpy())
    np.testing.assert_allclose(gdf["area_ha"].to_numpy()[declared], gdf.area.to_numpy()[declared] / 1e4,
                               rtol=1e-6)
    assert not any("declares 面积" in w for w in meta["warnings"])
    repairs = meta["repairs"]
    if closed:
        assert len(repairs) == 1 and repairs[0].kind == "ring_closed"
        assert repairs[0].detail.startswith(f"{closed} ring(s)") and repairs[0].detail in meta["warnings"]
    else:
        assert repairs == []
    # Placement: every parcel's SW corner lies where it was generated, a few hundred metres from the anchor.
    lon, lat = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True).transform(
        *gdf.geometry.iloc[0].bounds[:2])
    west, south = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True).transform(
        *Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(ANCHOR_LON, ANCHOR_LAT))
    assert GEOD.inv(lon, lat, west, south)[2] < 0.01  # the first parcel's SW corner is the anchor (mm rounding)
    assert GEOD.inv(lon, lat, ANCHOR_LON, ANCHOR_LAT)[2] < 0.01


def test_corpus_unclosed_rings_are_closed_with_holes_in_place():
    gdf = read_boundary_txt(CORPUS / "unclosed_rings_csharp_gbk_crlf.txt", emit_warnings=False)
    first = gdf.geometry.iloc[0]
    assert first.geom_type == "Polygon" and len(first.interiors) == 1  # ring 2 came first in the file
    assert first.exterior.is_closed and first.area == pytest.approx(100 * 200 - 20 * 30, abs=1e-6)
    assert gdf["point_count"].tolist() == [8, 4]  # 点数 counts the points written
    repair = gdf.attrs["sanxian"]["repairs"][0]
    assert "ring 2 of parcel 'DK01' (lines 8-11)" in repair.detail
    assert (repair.kind, repair.count, repair.feature_ids) == ("ring_closed", 2, (0, 1))


def test_unclosed_ring_warns_and_point_count_may_include_the_missing_repeat(tmp_path):
    open_ring = SINGLE[:SINGLE.rindex("J1,1")]  # J1..J4 without the closing J1; 点数 still says 5
    with pytest.warns(SanxianWarning, match=r"1 ring\(s\) written without repeating their first point were closed"):
        gdf = read_boundary_txt(_write(tmp_path / "open.txt", open_ring))
    assert gdf.area.iloc[0] == pytest.approx(100.0 * 200.0, abs=1e-9)
    four = read_boundary_txt(_write(tmp_path / "open4.txt", open_ring.replace("5,2.0000,DK01", "4,2.0000,DK01")),
                             emit_warnings=False)
    assert four.area.iloc[0] == pytest.approx(20000.0, abs=1e-9) and four["point_count"].iloc[0] == 4


def test_corpus_extra_layout_columns():
    prov = read_boundary_txt(CORPUS / "provincial_bsbb_utf16_m2.txt", emit_warnings=False)
    assert prov["township_code"].tolist() == ["421303100", "421303100"]
    assert prov["district_name"].tolist() == ["淅河镇某某村"] * 2
    assert prov["parcel_id"].tolist() == ["DK1", "DK2"] and prov["name"].tolist() == ["地块1", "地块2"]
    assert prov["point_count"].isna().tolist() == [False, True]  # '0,0,...' means not given
    cons = read_boundary_txt(CORPUS / "consolidation_13_fields_beijing54_gbk.txt", emit_warnings=False)
    assert cons[["patch_type", "land_class", "grade_before", "grade_after", "remark"]].iloc[0].tolist() == \
        ["提质", "水田", "9", "7", "整治后"]
    assert cons["land_class_code"].tolist() == ["0103"]
    assert any("legacy Beijing 1954 datum" in w for w in cons.attrs["sanxian"]["warnings"])


def test_parcel_lines_of_no_known_layout_are_read_as_the_standard_one(tmp_path):
    # Shorter than the standard 8 fields: padded with blanks.
    standard = "5,2.0000,DK01,测试地块,面,,,,@"
    short = read_boundary_txt(_write(tmp_path / "s.txt", _variant(standard, "5,2.0000,DK01,测试地块,面,@")),
                              emit_warnings=False)
    assert short[["parcel_id", "name", "geom_kind", "use"]].iloc[0].tolist() == ["DK01", "测试地块", "面", ""]
    assert "extra_fields" not in short.columns
    # Longer than every layout (15 fields) and starting like the standard one: the rest kept in extra_fields.
    long_line = "5,2.0000,DK01,测试地块,面,,建设用地,0602,a1,a2,b,c,d,e,f,@"
    long = read_boundary_txt(_write(tmp_path / "l.txt", _variant(standard, long_line)),
                             emit_warnings=False)
    assert long[["use", "land_class_code", "extra_fields"]].iloc[0].tolist() == ["建设用地", "0602", "a1,a2,b,c,d,e,f"]
    assert any("has 15 fields; the first 8 were read as the standard ones" in w
               for w in long.attrs["sanxian"]["warnings"])


def test_m2_area_no_longer_fills_area_ha_unchanged(tmp_path):
    # Before: 109.43 (m2) landed in area_ha as 109.43 'ha' for a 0.0109 ha parcel.
    gdf = read_boundary_txt(CORPUS / "provincial_bsbb_utf16_m2.txt", emit_warnings=False)
    shoelace_m2 = _shoelace_areas((CORPUS / "provincial_bsbb_utf16_m2.txt").read_bytes().decode("utf-16"))[0]
    assert gdf["area_ha"].iloc[0] == pytest.approx(shoelace_m2 / 1e4, rel=1e-9)
    assert gdf["area_ha"].iloc[0] == pytest.approx(109.43 / 1e4, rel=1e-12)


def test_declared_unit_is_kept_and_checked(tmp_path):
    # Written '2.0平方米' for a 2 ha parcel: the written unit is taken, and the mismatch reported in that unit.
    gdf = read_boundary_txt(_write(tmp_path / "u.txt", _variant("5,2.0000,DK01", "5,2.0平方米,DK01")),
                            emit_warnings=False)
    assert gdf["area_unit"].tolist() == ["m2"] and gdf["area_ha"].iloc[0] == pytest.approx(2.0e-4)
    warns = gdf.attrs["sanxian"]["warnings"]
    assert len(warns) == 1 and "the unit written (平方米)" in warns[0] and "2.0000 ha" in warns[0]


@pytest.mark.parametrize("datum_text, datum", [
    ("80国家大地坐标系", "Xian 1980"), ("1980西安国家大地坐标系", "Xian 1980"), ("西安80", "Xian 1980"),
    ("西安1980国家大地坐标系", "Xian 1980"), ("54北京坐标系", "Beijing 1954"), ("北京54", "Beijing 1954"),
    ("2000国家大地坐标系", None), ("CGCS2000", None), ("国家2000", None), ("CGCS 2000", None),
    ("中国2000国家大地坐标系", None), ("2000国家大地坐标系（CGCS2000）", None),
    ("CGCS2000_3_Degree_GK_Zone_38", None), ("Xian_1980_3_Degree_GK_Zone_38", "Xian 1980"),
    ("Beijing_1954_3_Degree_GK_CM_114E", "Beijing 1954"),
])
def test_datum_spellings(tmp_path, datum_text, datum):
    gdf = read_boundary_txt(_write(tmp_path / "d.txt", HEADER.format(datum=datum_text, zone=38) + PARCELS),
                            emit_warnings=False)
    warns = gdf.attrs["sanxian"]["warnings"]
    if datum is None:
        assert gdf.crs.to_epsg() == 4526 and warns == []
    else:
        assert gdf.crs.name == f"{datum} / 3-degree Gauss-Kruger zone 38"
        assert len(warns) == 1 and f"legacy {datum} datum" in warns[0]


@pytest.mark.parametrize("zone_text", ["38", "第38带", "38带", " 38 "])
def test_zone_number_spellings(tmp_path, zone_text):
    text = SINGLE.replace("带号=38", f"带号={zone_text}").replace(",38500", ",500")
    assert read_boundary_txt(_write(tmp_path / "z.txt", text), emit_warnings=False).crs.to_epsg() == 4547


@pytest.mark.parametrize("width_line", ["几度分带=3", "分带=3度带", "分带=3度", "几度分带=三度带", "投影分带=3°"])
def test_zone_width_spellings(tmp_path, width_line):
    text = HEADER.format(datum="CGCS2000", zone=38).replace("几度分带=3", width_line) + PARCELS
    assert read_boundary_txt(_write(tmp_path / "w.txt", text), emit_warnings=False).crs.to_epsg() == 4526


def test_six_degree_zone_width_written_in_words(tmp_path):
    # 6-degree zone 19 (CM 111E) prefixed: 19 500 000 m easting.
    text = SINGLE.replace("带号=38", "带号=19").replace("几度分带=3", "分带=6度带").replace(",38500", ",19500")
    assert read_boundary_txt(_write(tmp_path / "six.txt", text), emit_warnings=False).crs.name == \
        "CGCS2000 / Gauss-Kruger zone 19"


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r", "mixed"])
def test_line_ends(tmp_path, eol):
    text = HEADER.format(datum="CGCS2000", zone=38) + PARCELS
    if eol == "mixed":
        lines = text.split("\n")
        data = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines))
    else:
        data = text.replace("\n", eol)
    gdf = read_boundary_txt(_write(tmp_path / "eol.txt", data), emit_warnings=False)
    np.testing.assert_allclose(gdf.area.to_numpy(), HAND_AREA_M2, rtol=0, atol=1e-6)


def test_fullwidth_brackets_and_no_suffix_are_recognised_by_content(tmp_path):
    path = CORPUS / "fullwidth_units_mixed_eol_no_suffix"
    assert path.suffix == "" and looks_like_boundary_txt(path)
    gdf = read_vector(path)
    assert gdf.attrs["sanxian"]["format"] == "land-boundary TXT"
    np.testing.assert_allclose(gdf.area.to_numpy(), [1000.0, 1000.0, 1998.0], rtol=0, atol=1e-6)
    assert gdf.attrs["sanxian"]["repairs"] == []
    other = tmp_path / "parcels.dat"
    other.write_bytes(path.read_bytes())
    assert read_vector(other).attrs["sanxian"]["format"] == "land-boundary TXT"


def test_long_preamble_before_the_sections_is_still_recognised(tmp_path):
    # More than 4 KB before [属性描述] (a long [扩展信息] section): the old sniffer sent this to pandas.
    preamble = "[扩展信息]\n" + "".join(f"备注{i}=随州市曾都区某某项目补充说明第{i}条\n" for i in range(300))
    assert len(preamble.encode("gbk")) > 4096
    path = _write(tmp_path / "long.txt", preamble + HEADER.format(datum="CGCS2000", zone=38) + PARCELS)
    gdf = read_vector(path)
    assert gdf.attrs["sanxian"]["format"] == "land-boundary TXT"
    np.testing.assert_allclose(gdf.area.to_numpy(), HAND_AREA_M2, rtol=0, atol=1e-6)
    assert gdf.attrs["sanxian"]["warnings"] == []  # [扩展信息] is a known optional section


def test_file_that_is_neither_format_gets_the_toolkit_error():
    path = CORPUS / "neither_format.txt"
    before = _sha(path)
    assert not looks_like_boundary_txt(path)
    with pytest.raises(InputFileError, match=r"neither a land-boundary coordinate TXT .*\[地块坐标\]") as info:
        read_vector(path)
    assert "neither_format.txt" in str(info.value)
    assert _sha(path) == before


def test_sniffer_on_encodings_and_non_files(tmp_path):
    text = "【属性描述】\n坐标系=国家2000\n【地块坐标】\n"
    for encoding in ("utf-8", "utf-8-sig", "gbk", "utf-16"):
        assert looks_like_boundary_txt(_write(tmp_path / f"s_{encoding}", text, encoding)), encoding
    assert not looks_like_boundary_txt(tmp_path)  # a folder
    assert not looks_like_boundary_txt(tmp_path / "missing.txt")
    assert not looks_like_boundary_txt(_write(tmp_path / "t.csv", "x,y\n1,[地块坐标]\n", "utf-8"))


# ------------------------------------------------------------------------------------------ writer keeps the header
def test_writer_keeps_producer_version_and_date_of_the_file_read(tmp_path):
    src = CORPUS / "xian80_arcpy_short_layout_utf8bom.txt"
    for gdf in (read_boundary_txt(src, emit_warnings=False), read_vector(src)):
        out = write_boundary_txt(gdf, tmp_path / "kept.txt", datum="Xian1980", overwrite=True)
        header = read_boundary_txt(out, emit_warnings=False).attrs["sanxian"]["header"]
        assert (header["格式版本号"], header["数据产生单位"], header["数据产生日期"]) == \
            ("1.00版本", "某某信息技术有限公司", "2019-03-02")
    out = write_boundary_txt(gdf, tmp_path / "told.txt", datum="Xian1980", producer="随州市自然资源和规划局",
                             produced_on=__import__("datetime").date(2025, 1, 2), format_version="")
    header = read_boundary_txt(out, emit_warnings=False).attrs["sanxian"]["header"]
    assert (header["格式版本号"], header["数据产生单位"], header["数据产生日期"]) == \
        ("", "随州市自然资源和规划局", "2025-01-02")
    with pytest.raises(InputFileError, match="holds a line break"):
        write_boundary_txt(gdf, tmp_path / "bad.txt", producer="甲\n乙")


def test_two_closed_parts_under_one_ring_number_are_split(tmp_path):
    # Two 10 m and 20 m squares, both written as 圈号 1, each closed: two parts, 100 + 400 m2 (hand).
    text = HEADER.format(datum="CGCS2000", zone=38) + """10,0.05,DK9,两块,面,,,,@
J1,1,3500000.000,38500000.000
J2,1,3500010.000,38500000.000
J3,1,3500010.000,38500010.000
J4,1,3500000.000,38500010.000
J1,1,3500000.000,38500000.000
J5,1,3500100.000,38500100.000
J6,1,3500120.000,38500100.000
J7,1,3500120.000,38500120.000
J8,1,3500100.000,38500120.000
J5,1,3500100.000,38500100.000
"""
    gdf = read_boundary_txt(_write(tmp_path / "two.txt", text), emit_warnings=False)
    geom = gdf.geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon" and sorted(p.area for p in geom.geoms) == [100.0, 400.0]
    (repair,) = gdf.attrs["sanxian"]["repairs"]
    assert (repair.kind, repair.count, repair.feature_ids) == ("ring_split", 1, (0,))
    assert repair.detail == (
        "1 ring(s) continue under the 圈号 of a ring that had already closed; each closed ring was read as a "
        "ring of its own: 圈号 1 of parcel 'DK9' (line 19) / 1 个界址圈与前一圈同圈号，已按闭合点分开")
    assert gdf["area_ha"].iloc[0] == 0.05 and gdf.attrs["sanxian"]["warnings"][1:] == []


def test_closing_point_written_twice_is_one_ring(tmp_path):
    text = SINGLE.replace("5,2.0000", "6,2.0000") + "J1,1,3500200.000,38500000.000\n"
    gdf = read_boundary_txt(_write(tmp_path / "dup.txt", text), emit_warnings=False)
    assert gdf.area.iloc[0] == 20000.0 and gdf.attrs["sanxian"]["repairs"] == []
    assert gdf.attrs["sanxian"]["warnings"] == []


def test_self_crossing_rings_are_read_but_flagged(tmp_path):
    # A bow-tie (J2 and J3 swapped): the reader keeps the coordinates as written and says they are not valid.
    text = _variant("J2,1,3500200.000,38500100.000\nJ3,1,3500000.000,38500100.000",
                    "J2,1,3500000.000,38500100.000\nJ3,1,3500200.000,38500100.000")
    gdf = read_boundary_txt(_write(tmp_path / "bow.txt", text), emit_warnings=False)
    assert not gdf.geometry.iloc[0].is_valid
    assert any("do not form a valid polygon (Self-intersection" in w for w in gdf.attrs["sanxian"]["warnings"])


# ------------------------------------------------------------------------------------------ property tests
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sanxian_yidan.errors import SanxianError  # noqa: E402

_E0, _N0 = 38_520_000_000, 3_510_000_000  # zone-38 easting / northing of Suizhou [mm]
_GBK_TEXT = st.text(alphabet=st.sampled_from(list("随州曾都广水地块光伏农田甲乙丙丁ABCxyz0123456789-_（）")),
                    max_size=8)


@st.composite
def _star_polygon(draw, e_mm: int, n_mm: int) -> Polygon:
    """A simple polygon: vertices at distinct angles around a centre, millimetre coordinates."""
    k = draw(st.integers(3, 9))
    angles = sorted(draw(st.lists(st.integers(0, 359), min_size=k, max_size=k, unique=True)))
    radii = draw(st.lists(st.integers(5_000, 60_000), min_size=k, max_size=k))  # 5-60 m
    pts = [(e_mm + round(r * np.cos(np.radians(a))), n_mm + round(r * np.sin(np.radians(a))))
           for a, r in zip(angles, radii)]
    poly = Polygon([(e / 1000.0, n / 1000.0) for e, n in pts])
    return poly


@st.composite
def _parcels(draw) -> gpd.GeoDataFrame:
    n = draw(st.integers(1, 4))
    geoms = []
    for i in range(n):
        parts = [draw(_star_polygon(_E0 + i * 1_000_000 + j * 200_000, _N0 + j * 200_000))
                 for j in range(draw(st.integers(1, 2)))]
        parts = [p for p in parts if p.is_valid and p.area > 1.0]
        if not parts:
            parts = [box((_E0 + i * 1_000_000) / 1000, _N0 / 1000, (_E0 + i * 1_000_000) / 1000 + 10,
                         _N0 / 1000 + 10)]
        geoms.append(parts[0] if len(parts) == 1 else MultiPolygon(parts))
    frame = {"parcel_id": [f"DK{i + 1}" for i in range(n)],
             "name": draw(st.lists(_GBK_TEXT, min_size=n, max_size=n)),
             "use": draw(st.lists(_GBK_TEXT, min_size=n, max_size=n)),
             "land_class_code": draw(st.lists(st.sampled_from(["", "0101", "0602", "1001"]), min_size=n,
                                              max_size=n))}
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4526")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gdf=_parcels(), encoding=st.sampled_from(["gbk", "utf-8"]), prefixed=st.booleans())
def test_property_written_files_read_back_exactly(tmp_path, gdf, encoding, prefixed):
    out = write_boundary_txt(gdf, tmp_path / "p.txt", encoding=encoding, prefixed=prefixed, overwrite=True)
    back = read_boundary_txt(out, emit_warnings=False)
    assert back.attrs["sanxian"]["warnings"] == [] and back.attrs["sanxian"]["repairs"] == []
    assert back.crs.to_epsg() == (4526 if prefixed else 4547)
    for column in ("parcel_id", "name", "use", "land_class_code"):
        assert back[column].tolist() == [s.strip() for s in gdf[column]]
    shift = 0.0 if prefixed else 38_000_000.0
    for got, want in zip(back.geometry, gdf.geometry):
        got = shapely.transform(got, lambda c: c + [shift, 0.0])
        # Millimetre coordinates survive '%.3f' and float() exactly: compare with no tolerance at all.
        assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(want), tolerance=0.0)
    np.testing.assert_array_equal(back["area_ha"].to_numpy(), np.round(gdf.area.to_numpy() / 1e4, 4))
    assert set(back["area_unit"]) == {"ha"}


_VALID = (HEADER.format(datum="2000国家大地坐标系", zone=38) + PARCELS).split("\n")


@st.composite
def _mangled_file(draw) -> bytes:
    """A valid file with random line edits, or random bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    lines = list(_VALID)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "truncate", "field"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif op == "replace" and lines and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + draw(st.text(max_size=3)) + lines[i][j + 1:]
        elif op == "insert":
            lines.insert(i, draw(st.text(alphabet=st.sampled_from(list("J1,.@面线点0-9[]【】=x ")), max_size=40)))
        elif op == "truncate" and lines:
            lines = lines[:i]
        elif op == "field" and lines and "," in lines[i]:
            fields = lines[i].split(",")
            j = draw(st.integers(0, len(fields) - 1))
            fields[j] = draw(st.sampled_from(["", "0", "1", "2", "线", "点", "面", "@", "-1", "1e308", "nan",
                                              "0.0001", "31.69", "113.37", "38999999.999", "9999999",
                                              "3500000.000", "5平方米", "2亩", "J1"]))
            lines[i] = ",".join(fields)
    return "\n".join(lines).encode(draw(st.sampled_from(["gb18030", "utf-8", "utf-16"])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_mangled_file())
def test_property_garbage_raises_only_toolkit_errors(tmp_path, data):
    path = tmp_path / "garbage.txt"
    path.write_bytes(data)
    for read in (lambda: read_boundary_txt(path, emit_warnings=False), lambda: read_vector(path)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read()
        except SanxianError:
            pass
    assert path.read_bytes() == data


def test_read_vector_and_normalise_carry_the_ring_repairs():
    from sanxian_yidan.normalize import normalise
    with pytest.warns(SanxianWarning, match="were closed"):
        gdf = read_vector(CORPUS / "unclosed_rings_csharp_gbk_crlf.txt")
    kinds = [r.kind for r in normalise(gdf, "EPSG:4547").attrs["sanxian"]["repairs"]]
    assert kinds == ["ring_closed", "reprojected"]
