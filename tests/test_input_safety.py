"""Input safety through the Python API: special files, short reads, encodings, TOML data files, coordinates.

Each test reproduces a way bad input used to crash, hang or garble data; the command-line view of the
same inputs is ``tests/test_hostile_inputs.py``.
"""

from __future__ import annotations

import os
import struct
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from sanxian_yidan import read_vector
from sanxian_yidan.crs import plausibility
from sanxian_yidan.datafiles import load_toml
from sanxian_yidan.errors import (
    CRSError,
    DataFileError,
    EmptyLayerError,
    InputFileError,
    MissingFileError,
    SanxianError,
    SanxianWarning,
)
from sanxian_yidan.io import safety
from sanxian_yidan.io.encoding import detect_bytes_encoding, implausible_text
from sanxian_yidan.io.tabular import table_to_points

LON, LAT = 114.4383, 31.8157
NAMES = ["甲项目", "乙项目", "丙项目"]


def _three_points(folder: Path, *, encoding: str = "UTF-8", names: list[str] = NAMES) -> Path:
    path = folder / "p.shp"
    gpd.GeoDataFrame({"name": names, "code": [1, 2, 3]},
                     geometry=[Point(LON + 0.001 * i, LAT) for i in range(3)], crs="EPSG:4326").to_file(
        path, encoding=encoding)
    return path


# ------------------------------------------------------------------------------- shapefile short reads

@pytest.mark.parametrize("use_arrow", [True, False, None])
def test_truncated_dbf_is_refused_not_read_short(tmp_path: Path, use_arrow: bool | None) -> None:
    shp = _three_points(tmp_path)
    dbf = shp.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes()[:-60])  # header still says 3 records; 2 whole records remain
    with pytest.raises(InputFileError, match="declares 3 records but the file holds only 2"):
        read_vector(shp, use_arrow=use_arrow)


def test_missing_dbf_is_an_error_naming_the_file(tmp_path: Path) -> None:
    shp = _three_points(tmp_path)
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(InputFileError, match=r"p\.dbf is missing next to p\.shp"):
        read_vector(shp)


def test_shx_and_dbf_counts_must_agree(tmp_path: Path) -> None:
    shp = _three_points(tmp_path)
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[4:8] = struct.pack("<I", 2)
    dbf.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="lists 3 shapes but p.dbf declares 2 records"):
        read_vector(shp)


def test_intact_shapefile_reads_every_row(tmp_path: Path) -> None:
    shp = _three_points(tmp_path)
    assert safety.check_shapefile(shp) == 3
    assert read_vector(shp)["name"].tolist() == NAMES


def test_short_read_check() -> None:
    safety.check_row_count(3, 3, file=Path("x.shp"), layer=None)
    safety.check_row_count(1, None, file=Path("x.shp"), layer=None)
    with pytest.raises(InputFileError, match="declares 3 features but 1 were read"):
        safety.check_row_count(1, 3, file=Path("x.shp"), layer=None)


# ---------------------------------------------------------------------------------------- encodings

def test_dbf_with_a_zero_record_length_is_judged_by_its_language_driver() -> None:
    """A damaged .dbf header (record length 0) holds no text: detection falls back on the LDID, no crash."""
    from sanxian_yidan.io.encoding import detect_dbf_encoding

    header = bytearray(32)
    header[0] = 3
    header[4:12] = struct.pack("<IHH", 2, 65, 0)  # 2 records, 65-byte header, 0-byte records
    header[29] = 0x4D  # code page 936
    name = bytearray(32)
    name[:4], name[11], name[16] = b"NAME", ord("C"), 10
    guess = detect_dbf_encoding(bytes(header + name) + b"\x0d" + b" " * 20, None, file="p.dbf")
    assert guess.encoding == "gb18030" and "language driver 0x4D" in guess.reason


def test_zipped_gbk_shapefile_without_cpg_is_detected(tmp_path: Path) -> None:
    shp = _three_points(tmp_path, encoding="gbk")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj"):
            zf.write(shp.with_suffix(f".{ext}"), f"p.{ext}")
    gdf = read_vector(archive)
    assert gdf["name"].tolist() == NAMES
    meta = gdf.attrs["sanxian"]
    assert meta["encoding"] == "gb18030" and "UTF-8 by specification" not in meta["encoding_reason"]


def test_big5_decoded_as_gbk_warns_and_names_the_option(tmp_path: Path) -> None:
    traditional = ["隨州市曾都區光伏發電項目", "廣水市風電場", "隨縣殷店鎮養殖場"]
    shp = _three_points(tmp_path, encoding="big5", names=traditional)
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    with pytest.warns(SanxianWarning, match="reads plausibly as big5.*--encoding big5"):
        read_vector(shp)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SanxianWarning)
        assert read_vector(shp, encoding="big5")["name"].tolist() == traditional


def test_plausible_chinese_is_not_flagged() -> None:
    text = "随州市曾都区光伏发电项目 广水市风电场 随县殷店镇养殖场 淅河镇 厉山镇 隨州市（繁體）"
    assert implausible_text(text) is None
    assert detect_bytes_encoding(text.encode("gb18030"), file="x").warning is None
    assert detect_bytes_encoding(text.encode("utf-8"), file="x").warning is None
    share, _ = implausible_text("隨州市曾都區光伏發電項目".encode("big5").decode("gb18030"))
    assert share > 0.3  # 7 of 12 characters are rare, private-use or kana (counted by hand)


# ------------------------------------------------------------------------------------- input places

def test_empty_csv_and_txt_are_toolkit_errors(tmp_path: Path) -> None:
    for name in ("empty.csv", "empty.txt"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(EmptyLayerError, match=r"empty \(0 bytes\)"):
            read_vector(tmp_path / name)
    (tmp_path / "blank.csv").write_text("\n \n")
    with pytest.raises(EmptyLayerError, match="no header"):
        read_vector(tmp_path / "blank.csv")


def test_csv_renamed_xlsx_says_rename(tmp_path: Path) -> None:
    path = tmp_path / "projects.xlsx"
    path.write_text(f"name,lon,lat\n甲,{LON},{LAT}\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="rename it to .csv"):
        read_vector(path)


def test_folder_named_txt_is_refused(tmp_path: Path) -> None:
    (tmp_path / "projects.txt").mkdir()
    with pytest.raises(InputFileError, match="is a folder"):
        read_vector(tmp_path / "projects.txt")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "projects.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match=r"named pipe \(FIFO\)"):
        read_vector(fifo)  # opening it would block forever: the check must not open it
    with pytest.raises(DataFileError, match="named pipe"):
        load_toml(fifo)


def test_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    for name in ("projects.csv", "parcel.txt", "rules.toml"):
        link = tmp_path / name
        link.symlink_to("/dev/zero")
        with pytest.raises(SanxianError, match="a device"):
            read_vector(link) if name != "rules.toml" else load_toml(link)


def test_dangling_symlink_is_missing(tmp_path: Path) -> None:
    link = tmp_path / "projects.csv"
    link.symlink_to(tmp_path / "gone.csv")
    with pytest.raises(MissingFileError, match="symbolic link"):
        read_vector(link)


def test_bounded_read_refuses_a_larger_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 101)
    assert safety.read_bytes_bounded(path, limit=101) == b"x" * 101
    with pytest.raises(InputFileError, match="larger than 100 bytes"):
        safety.read_bytes_bounded(path, limit=100)


def test_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    lim = safety.limits().zip
    size = lim.ratio_applies_above_bytes + (1 << 20)  # just above the floor of the ratio rule
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("bomb.shp", "w", force_zip64=True) as fh:
            for _ in range(size >> 20):
                fh.write(b"\0" * (1 << 20))
    with pytest.raises(InputFileError, match="zip bomb"):
        read_vector(path)


# -------------------------------------------------------------------------------------- TOML files

def test_toml_in_gbk_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_bytes('title = "随县光伏选址"\n'.encode("gbk"))
    with pytest.warns(SanxianWarning, match="save it as UTF-8"):
        assert load_toml(path) == {"title": "随县光伏选址"}


def test_toml_with_utf8_bom_is_read_silently(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_bytes('title = "随州"\n'.encode("utf-8-sig"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SanxianWarning)
        assert load_toml(path) == {"title": "随州"}


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_toml_in_utf16_with_bom_is_read_with_a_warning(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "study.toml"
    text = 'title = "随州"\n'
    path.write_bytes(("\ufeff" + text).encode(codec) if codec == "utf-16-be" else text.encode(codec))
    with pytest.warns(SanxianWarning, match=r"saved as UTF-16 .*save it as UTF-8"):
        assert load_toml(path) == {"title": "随州"}


@pytest.mark.parametrize("codec, name", [("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")])
@pytest.mark.parametrize("text", ['title = "随州光伏"\n', 'title = "Suizhou"\n'])
def test_toml_in_utf16_without_bom_is_refused_naming_utf16(tmp_path: Path, codec: str, name: str,
                                                           text: str) -> None:
    path = tmp_path / "study.toml"
    path.write_bytes(text.encode(codec))
    with pytest.raises(DataFileError, match=rf"(?s)looks like {name} without a byte-order mark.*save it as UTF-8"):
        load_toml(path)


def test_binary_toml_with_nul_bytes_is_not_called_utf16(tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataFileError, match="not UTF-8") as err:
        load_toml(path)
    assert "without a byte-order mark" not in str(err.value)


def test_undecodable_toml_fix_mentions_utf16(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(b"title = \"\xff\xff\xff\"\n")
    with pytest.raises(DataFileError, match=r"(?s)not UTF-8.*if it was saved as UTF-16"):
        load_toml(path)


def test_undecodable_toml_says_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(b"title = \"\xff\xff\xff\"\n")
    with pytest.raises(DataFileError, match="save it as UTF-8"):
        load_toml(path)


def test_deeply_nested_toml_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("x = " + "[" * 20_000 + "]" * 20_000 + "\n")
    with pytest.raises(DataFileError, match="too deeply"):
        load_toml(path)


def test_folder_as_toml_is_a_data_file_error(tmp_path: Path) -> None:
    (tmp_path / "catalog.toml").mkdir()
    with pytest.raises(DataFileError, match="is a folder"):
        load_toml(tmp_path / "catalog.toml")


def test_input_limits_are_validated() -> None:
    lim = safety.limits()
    assert lim.lon_range == (-180.0, 180.0) and lim.lat_range == (-90.0, 90.0)
    assert lim.coordinates.max_projected_abs == 1.0e8 and 0 < lim.text.max_suspicious_share < 1
    # The former flat names still read, with a warning naming the new place.
    with pytest.warns(DeprecationWarning, match="coordinates.max_projected_abs"):
        assert getattr(lim, "max_projected_abs") == 1.0e8  # noqa: B009  (a name mypy no longer knows)


# ------------------------------------------------------------------------------------- coordinates

def _frame(geoms: list, crs: str | None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"项目{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs)


def test_latitude_typo_names_the_feature_and_the_likely_value(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    _frame([Point(LON, LAT), Point(LON, 320.8)], "EPSG:4326").to_file(path)
    with pytest.raises(InputFileError, match=r"Latitude 320\.8 is outside \[-90, 90\] — typo for 32\.08\?") as err:
        read_vector(path)
    assert "feature 2 (name 项目1)" in str(err.value)


def test_one_row_latitude_typo_is_a_typo_not_metres(tmp_path: Path) -> None:
    # A single point with a plausible longitude and a latitude slightly out of range is a typing slip; the
    # "look like projected metres" diagnosis needs both axes out of range.
    path = tmp_path / "l.csv"
    path.write_text("id,name,lon,lat,industry\nP1,a,113.10,320.8,4416\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"Latitude 320\.8 is outside \[-90, 90\] — typo for 32\.08\?") as err:
        read_vector(path, crs="EPSG:4326")
    assert "feature 1 (table line 2)" in str(err.value) and "metres" not in str(err.value)


def test_point_typos_only_suggest_a_place_in_china() -> None:
    assert plausibility.point_typos(113.1, 320.8) == ("", " — typo for 32.08?")
    assert plausibility.point_typos(1134.5, 31.7) == (" — typo for 113.45?", "")
    assert plausibility.point_typos(200.0, 95.0) == ("", "")          # 20 E / 9.5 N: no Chinese province
    assert plausibility.point_typos(113.1, 1e300) == ("", "")


def test_metres_in_a_wgs84_file_cannot_be_degrees(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    _frame([box(541000, 3521000, 542000, 3522000)], "EPSG:4326").to_file(path)
    with pytest.raises(CRSError, match=r"(?s)cannot be degrees.*EPSG:4547"):
        read_vector(path)


def test_gcj02_on_projected_coordinates_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("name,x,y\n甲,541500,3521500\n")
    with pytest.raises(CRSError, match=r"(?s)cannot be degrees.*drop --crs GCJ-02"):
        read_vector(path, crs="GCJ-02")


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400"])
def test_non_finite_csv_coordinates_are_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f"name,lon,lat\n甲,{LON},{LAT}\n乙,{value},{LAT}\n")
    with pytest.raises(InputFileError, match=r"(?s)not finite.*feature 2 \(table line 3\)"):
        read_vector(path, crs="EPSG:4326")


def test_absurd_projected_coordinates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    _frame([box(541000, 3521000, 542000, 3522000), box(1e300, 1e300, 2e300, 2e300)], "EPSG:4547").to_file(path)
    with pytest.raises(InputFileError, match="no place on Earth"):
        read_vector(path)


def test_infinite_geojson_coordinate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                    f'"geometry": {{"type": "LineString", "coordinates": [[{LON}, {LAT}], [Infinity, {LAT}]]}}}}]}}')
    with pytest.raises(InputFileError, match="not finite"):
        read_vector(path)


def test_degree_typo_suggestion() -> None:
    assert plausibility.degree_typo(320.8, -90, 90) == " — typo for 32.08?"
    assert plausibility.degree_typo(1134.5, -180, 180) == " — typo for 113.45?"
    assert plausibility.degree_typo(1e300, -90, 90) == ""


# ----------------------------------------------------------------------- property: CSV coordinate reader

_cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-200, max_value=200).map(lambda v: f"{v:.6f}"),
    st.text(alphabet="0123456789.-+e°'\"′″度分秒NSEW北南东西 ", max_size=14),
    st.text(max_size=8),
)


@pytest.mark.filterwarnings("ignore::sanxian_yidan.errors.SanxianWarning")  # random text may look garbled
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_cell, _cell), min_size=0, max_size=5),
       header=st.sampled_from(["lon,lat", "经度,纬度", "x,y", "名称,备注"]))
def test_csv_reader_raises_only_toolkit_errors(tmp_path: Path, rows: list[tuple[str, str]], header: str) -> None:
    path = tmp_path / "p.csv"
    lines = [header] + [",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        gdf = read_vector(path, crs="EPSG:4326")
    except SanxianError:
        return
    coords = np.column_stack([gdf.geometry.x, gdf.geometry.y])
    assert np.isfinite(coords).all()
    assert (np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()


@pytest.mark.filterwarnings("ignore::sanxian_yidan.errors.SanxianWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_as_csv_raise_only_toolkit_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    try:
        table_to_points(path)
    except SanxianError:
        pass


def test_normalise_refuses_features_the_projection_cannot_hold() -> None:
    from sanxian_yidan.normalize import normalise

    # 90° east of the central meridian on the equator: PROJ's transverse Mercator returns infinity.
    gdf = _frame([Point(LON, LAT), Point(-156.0, 0.0)], "EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)  # the area-distortion note is not the point here
        with pytest.raises(InputFileError, match=r"(?s)1 feature\(s\) cannot be transformed.*source rows \[1\]"):
            normalise(gdf, "EPSG:4547")


def test_absurd_values_in_a_degree_file_are_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    _frame([Point(LON, LAT), Point(1e300, LAT)], "EPSG:4326").to_file(path)
    with pytest.raises(InputFileError, match=r"(?s)no place on Earth.*feature 2"):
        read_vector(path)


def test_unknown_encoding_name_is_a_toolkit_error(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f"name,lon,lat\n甲,{LON},{LAT}\n")
    with pytest.raises(InputFileError, match="Unknown text encoding 'klingon'"):
        read_vector(path, encoding="klingon", crs="EPSG:4326")


@pytest.mark.parametrize("reader, name", [("read_kml", "p.kml"), ("read_dxf", "p.dxf"),
                                          ("read_coordinate_table", "p.csv"), ("read_boundary_txt", "p.txt")])
def test_every_public_reader_refuses_a_fifo(tmp_path: Path, reader: str, name: str) -> None:
    import sanxian_yidan.io as sio

    fifo = tmp_path / name
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match="named pipe"):
        getattr(sio, reader)(fifo)  # opening a FIFO to sniff its format would block for ever


def test_dem_reader_refuses_a_device(tmp_path: Path) -> None:
    from sanxian_yidan.terrain.dem import read_dem

    link = tmp_path / "dem.tif"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputFileError, match="a device"):
        read_dem(link)


def test_big5_csv_with_garbled_header_points_at_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    text = "名稱,經度,緯度\n隨州市曾都區光伏發電項目,114.43,31.81\n廣水市風電場,114.1,31.8\n"
    path.write_bytes(text.encode("big5"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        with pytest.raises(InputFileError, match=r"(?s)header looks garbled.*--encoding big5"):
            read_vector(path, crs="EPSG:4326")
    gdf = read_vector(path, crs="EPSG:4326", encoding="big5")
    assert gdf["名稱"].tolist() == ["隨州市曾都區光伏發電項目", "廣水市風電場"]
    assert gdf.geometry.x.tolist() == [114.43, 114.1]


def test_table_wider_than_a_geopackage_is_refused_before_parsing(tmp_path: Path) -> None:
    limit = safety.limits().files.max_columns
    assert limit == 2000
    path = tmp_path / "wide.csv"
    header = ",".join(f"c{i}" for i in range(limit - 1)) + ",lon,lat"   # limit + 1 columns
    path.write_text(header + "\n" + ",".join(["1"] * (limit - 1)) + f",{LON},{LAT}\n")
    with pytest.raises(InputFileError, match=r"has 2,001 columns; at most 2,000"):
        read_vector(path, crs="EPSG:4326")
    path.write_text(",".join(f"c{i}" for i in range(10)) + ",lon,lat\n" + ",".join(["1"] * 10) + f",{LON},{LAT}\n")
    assert len(read_vector(path, crs="EPSG:4326").columns) == 13  # 12 columns + geometry


def test_records_flagged_deleted_are_not_a_short_read(tmp_path: Path) -> None:
    shp = _three_points(tmp_path)
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    _, header_len, record_len = struct.unpack("<IHH", data[4:12])
    data[header_len + record_len] = ord("*")  # the second record deleted, as dBASE/ArcGIS leave it
    dbf.write_bytes(bytes(data))
    assert safety.check_shapefile(shp) == 2
    for use_arrow in (True, False):
        assert read_vector(shp, use_arrow=use_arrow)["name"].tolist() == ["甲项目", "丙项目"]


def test_zipped_shapefile_truncated_or_missing_dbf(tmp_path: Path) -> None:
    shp = _three_points(tmp_path)
    dbf = shp.with_suffix(".dbf")

    def zipped(name: str, members: dict[str, bytes]) -> Path:
        archive = tmp_path / name
        with zipfile.ZipFile(archive, "w") as zf:
            for member, data in members.items():
                zf.writestr(member, data)
        return archive

    files = {f"p.{e}": shp.with_suffix(f".{e}").read_bytes() for e in ("shp", "shx", "dbf", "prj")}
    assert read_vector(zipped("ok.zip", files))["name"].tolist() == NAMES
    cut = dict(files, **{"p.dbf": dbf.read_bytes()[:-60]})
    with pytest.raises(InputFileError, match="declares 3 records but the file holds only 2"):
        read_vector(zipped("cut.zip", cut))
    no_dbf = {k: v for k, v in files.items() if k != "p.dbf"}
    with pytest.raises(InputFileError, match=r"p\.dbf is missing in the zip"):
        read_vector(zipped("nodbf.zip", no_dbf))


def test_symlink_loop_is_a_toolkit_error(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(InputFileError, match="Cannot access the input layer"):
        read_vector(a)


@pytest.mark.filterwarnings("ignore::sanxian_yidan.errors.SanxianWarning")  # GBK fallback warns by design
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200),
                      st.text(max_size=80).map(lambda t: t.encode("utf-8")),
                      st.text(max_size=40).map(lambda t: t.encode("utf-16"))))
def test_toml_loader_raises_only_data_file_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.toml"
    path.write_bytes(data)
    try:
        doc = load_toml(path)
    except DataFileError:
        return
    assert isinstance(doc, dict)


def test_truncated_shp_is_refused_not_read_as_missing_geometry(tmp_path: Path) -> None:
    path = tmp_path / "p.shp"
    gpd.GeoDataFrame({"name": NAMES}, geometry=[Point(LON + 0.01 * i, LAT).buffer(0.001) for i in range(3)],
                     crs="EPSG:4326").to_file(path)
    path.write_bytes(path.read_bytes()[:-200])  # the third polygon loses its last 200 bytes
    with pytest.raises(InputFileError, match=r"p\.shp is truncated: 1 of its 3 shapes \(the first is feature 3\)"):
        read_vector(path)
