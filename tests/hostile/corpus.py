"""Hostile-input corpus: files a planner (or a damaged USB stick) may hand the ``sanxian`` command line.

Each :class:`Case` writes its inputs into a fresh folder at test time (nothing large is kept in the
repository) and returns the command-line arguments that feed them to the CLI.  The expectations are
what a planner must see: the exit code (0 when the input is usable, possibly with a warning; 2 for a
refused input; never 1 or a signal), and substrings that name the problem and the fix.

Run by ``tests/test_hostile_inputs.py``; the world the screening cases run against is the hand-built
zoning world of ``tests/fixtures/screening_world.py`` (one catalog shared by every case).
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Point, Polygon, box

#: CRS of the world (CGCS2000 / 3-degree GK CM 114E) and a parcel on its basic farmland (x, y in metres).
CRS = "EPSG:4547"
PARCEL = (541000.0, 3521000.0, 542000.0, 3522000.0)
#: The parcel's centre in longitude/latitude (EPSG:4326), computed with pyproj from (541500, 3521500).
LON, LAT = 114.4383, 31.8157

Build = Callable[[Path, "World"], list[str]]


@dataclass(frozen=True)
class World:
    """The shared screening world: its catalog and folder."""

    catalog: Path
    folder: Path


@dataclass(frozen=True)
class Case:
    """One hostile input.

    Attributes
    ----------
    id : str
        Test id.
    build : callable
        ``build(folder, world) -> argv`` writes the inputs into ``folder`` and returns the CLI arguments
        (an output goes to ``folder / "out"``).
    exit_code : int
        0 (usable, maybe with a warning) or 2 (refused with a toolkit error).
    expect : tuple of str
        Substrings that must all appear in the combined output (whitespace-normalised): the problem
        and the fix.
    slow : bool
        Large input (written at test time); marked ``@pytest.mark.slow``.
    xfail : str or None
        Reason, when the fix belongs to work not on main yet (strict xfail).
    check : callable or None
        ``check(folder)`` extra assertions on the outputs (e.g. HTML escaped).
    """

    id: str
    build: Build
    exit_code: int
    expect: tuple[str, ...]
    slow: bool = False
    xfail: str | None = None
    check: Callable[[Path], None] | None = field(default=None, compare=False)


# ------------------------------------------------------------------------------------------- helpers

def screen(project: Path | str, world: World, folder: Path, *extra: str) -> list[str]:
    """Arguments of ``sanxian screen`` on the world, output in ``folder/out``."""
    return ["screen", str(project), "--catalog", str(world.catalog), "--type", "pv",
            "--out", str(folder / "out"), *extra]


def convert(source: Path | str, folder: Path, *extra: str, target: str = "out/converted.geojson") -> list[str]:
    """Arguments of ``sanxian convert`` into ``folder/out``."""
    (folder / "out").mkdir(exist_ok=True)
    return ["convert", str(source), str(folder / target), *extra]


def parcel_frame(crs: str = CRS, **columns: list) -> gpd.GeoDataFrame:
    """One project on the world's farmland."""
    cols = {"name": ["光伏项目"], **columns}
    return gpd.GeoDataFrame(cols, geometry=[box(*PARCEL)], crs=CRS).to_crs(crs)


def shapefile(folder: Path, frame: gpd.GeoDataFrame, *, encoding: str = "UTF-8", cpg: bool = True,
              name: str = "projects") -> Path:
    """Write a shapefile; without ``cpg`` the ``.cpg`` sidecar is removed (as many Chinese GIS exports)."""
    path = folder / f"{name}.shp"
    frame.to_file(path, encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def three_points(folder: Path) -> Path:
    """A 3-feature point shapefile near the parcel (WGS84)."""
    frame = gpd.GeoDataFrame({"name": ["甲项目", "乙项目", "丙项目"], "code": [1, 2, 3]},
                             geometry=[Point(LON + 0.001 * i, LAT) for i in range(3)], crs="EPSG:4326")
    return shapefile(folder, frame)


def csv(folder: Path, text: str, name: str = "projects.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def gpkg(folder: Path, geoms: list, crs: str = CRS, name: str = "projects.gpkg", **columns: list) -> Path:
    path = folder / name
    cols = {"name": [f"项目{i + 1}" for i in range(len(geoms))], **columns}
    gpd.GeoDataFrame(cols, geometry=geoms, crs=crs).to_file(path, driver="GPKG")
    return path


def geojson(folder: Path, coordinates_json: str, kind: str = "Polygon", name: str = "projects.geojson") -> Path:
    """A one-feature GeoJSON whose coordinates are written verbatim (may hold NaN / Infinity)."""
    path = folder / name
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
                    '{"name": "坏坐标"}, "geometry": {"type": "' + kind + '", "coordinates": '
                    + coordinates_json + '}}]}',
                    encoding="utf-8")
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path, 0o600)
    return path


def devzero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def big5_names() -> list[str]:
    return ["隨州市曾都區光伏發電項目", "廣水市風電場", "隨縣殷店鎮養殖場"]


def zip_bomb(path: Path, gib: float = 1.0) -> Path:
    """A zip whose shapefile member expands to ``gib`` GiB of zeros (a few MB packed, written streaming)."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("bomb.shp", "w", force_zip64=True) as fh:
            for _ in range(int(gib * 1024)):
                fh.write(chunk)
        zf.writestr("bomb.shx", b"\0" * 100)
        zf.writestr("bomb.dbf", b"\0" * 32)
    return path


def zipped_shapefile(folder: Path, shp: Path, name: str = "projects.zip") -> Path:
    archive = folder / name
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for sidecar in sorted(shp.parent.glob(shp.stem + ".*")):
            zf.write(sidecar, sidecar.name)
    for sidecar in shp.parent.glob(shp.stem + ".*"):
        if sidecar != archive:
            sidecar.unlink()
    return archive


def rule_file(folder: Path, data: bytes, name: str = "rules.toml") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def catalog_copy(world: World, folder: Path, encoding: str) -> Path:
    """The world's catalog re-saved in ``encoding`` (its paths made absolute so it works from ``folder``)."""
    text = world.catalog.read_text(encoding="utf-8").replace('path = "world.gpkg"',
                                                             f'path = "{(world.folder / "world.gpkg").as_posix()}"')
    path = folder / "catalog.toml"
    path.write_bytes(text.encode(encoding))
    return path


BOUNDARY_TXT_HEAD = "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=38\n[地块坐标]\n"


def not_escaped(folder: Path, name: str) -> None:
    """Assert that no output in ``folder/out`` contains the raw script payload."""
    out = folder / "out"
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".md")]
    assert files, f"{name}: no outputs to check"
    for p in files:
        assert "<script>alert" not in p.read_text(encoding="utf-8", errors="replace"), f"raw payload in {p.name}"


# --------------------------------------------------------------------------------------------- cases

def _truncated_dbf(d: Path, w: World) -> list[str]:
    shp = three_points(d)
    dbf = shp.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes()[:-60])  # the last record and a half gone: a copy cut short
    return screen(shp, w, d)


def _truncated_shp(d: Path, w: World) -> list[str]:
    frame = gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=[box(*PARCEL), box(PARCEL[0] + 2000, PARCEL[1],
                                                                               PARCEL[2] + 2000, PARCEL[3])], crs=CRS)
    shp = shapefile(d, frame)
    shp.write_bytes(shp.read_bytes()[:-40])  # the second parcel's last vertices gone
    return screen(shp, w, d)


def _missing_dbf(d: Path, w: World) -> list[str]:
    shp = three_points(d)
    shp.with_suffix(".dbf").unlink()
    return screen(shp, w, d)


def _shx_dbf_disagree(d: Path, w: World) -> list[str]:
    shp = three_points(d)
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[4:8] = struct.pack("<I", 2)  # header now says 2 records, .shx lists 3
    dbf.write_bytes(bytes(data))
    return screen(shp, w, d)


def _zip_gbk(d: Path, w: World) -> list[str]:
    shp = shapefile(d, parcel_frame("EPSG:4326", name=["随州市曾都区光伏项目"]), encoding="gbk", cpg=False)
    return convert(zipped_shapefile(d, shp), d, target="out/converted.csv")


def _big5(d: Path, w: World) -> list[str]:
    frame = gpd.GeoDataFrame({"name": big5_names()}, geometry=[Point(LON + 0.001 * i, LAT) for i in range(3)],
                             crs="EPSG:4326")
    return convert(shapefile(d, frame, encoding="big5", cpg=False), d)


def _html_screen(d: Path, w: World) -> list[str]:
    path = gpkg(d, [box(*PARCEL)], name="projects.gpkg")
    frame = gpd.read_file(path)
    frame["name"] = ['<script>alert("x")</script><img src=x onerror=alert(1)>']
    path.unlink()
    frame.to_file(path, driver="GPKG")
    return screen(path, w, d, "--map", "--offline")


def _html_map(d: Path, w: World) -> list[str]:
    path = gpkg(d, [box(*PARCEL)], name="projects.gpkg")
    frame = gpd.read_file(path)
    frame["name"] = ["<script>alert(1)</script>"]
    path.unlink()
    frame.to_file(path, driver="GPKG")
    return ["map", str(path), "--no-boundaries", "--offline", "-o", str(d / "out" / "map.html")]


def _many_vertices(d: Path, w: World) -> list[str]:
    t = np.linspace(0, 2 * np.pi, 200_000, endpoint=False)
    cx, cy = (PARCEL[0] + PARCEL[2]) / 2, (PARCEL[1] + PARCEL[3]) / 2
    ring = np.column_stack([cx + 400 * np.cos(t), cy + 400 * np.sin(t)])
    return screen(gpkg(d, [Polygon(ring)]), w, d)


def _deep_toml(d: Path, w: World) -> list[str]:
    depth = 20_000
    return screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n"), w, d, "--crs", "EPSG:4326", "--rules",
                  str(rule_file(d, b"x = " + b"[" * depth + b"]" * depth + b"\n")))


def _gbk_catalog(d: Path, w: World) -> list[str]:
    return ["layers", "check", str(catalog_copy(w, d, "gbk"))]


def _utf16_catalog(d: Path, w: World) -> list[str]:
    return ["layers", "check", str(catalog_copy(w, d, "utf-16"))]


def _study_gbk(d: Path, w: World) -> list[str]:
    # A study file saved by a Windows editor in GBK, missing its required tables: read, then validated.
    path = d / "study.toml"
    path.write_bytes('[study]\ntitle = "随县光伏选址"\n'.encode("gbk"))
    return ["study", "run", str(path)]


def _study_binary(d: Path, w: World) -> list[str]:
    path = d / "study.toml"
    path.write_bytes(bytes(range(256)) * 4)
    return ["study", "run", str(path)]


def _bad_points_txt(d: Path, w: World) -> list[str]:
    text = BOUNDARY_TXT_HEAD + ("9,100.0000,DK01,地块,面,,建设用地,0602,@\n"
                                "J1,1,3522000.000,38541000.000\nJ2,1,3522000.000,38542000.000\n"
                                "J3,1,3521000.000,38542000.000\nJ1,1,3522000.000,38541000.000\n")
    return screen(csv(d, text, "parcel.txt", "gbk"), w, d)


def _kml_entities(d: Path, w: World) -> list[str]:
    lol = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    path = d / "projects.kml"
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE kml [{lol}]>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
                    f"<Document><Placemark><name>&lol9;</name><Point><coordinates>{LON},{LAT}</coordinates>"
                    "</Point></Placemark></Document></kml>", encoding="utf-8")
    return convert(path, d)


CASES: list[Case] = [
    # ---- files: empty, folder, pipe, device, wrong format, damaged shapefiles, zip bomb
    Case("empty_csv", lambda d, w: screen(csv(d, ""), w, d), 2, ("empty (0 bytes)", "export the data again")),
    Case("empty_txt", lambda d, w: screen(csv(d, "", "parcel.txt"), w, d), 2, ("empty (0 bytes)", "export the data again")),
    Case("header_only_csv", lambda d, w: screen(csv(d, "name,lon,lat\n"), w, d), 2, ("no data rows", "add at least one row")),
    Case("blank_csv", lambda d, w: screen(csv(d, "\n\n  \n"), w, d), 2, ("table is empty", "header row")),
    Case("dir_named_txt", lambda d, w: (d / "projects.txt").mkdir() or screen(d / "projects.txt", w, d), 2,
         ("is a folder", "not the folder")),
    Case("dir_as_rules", lambda d, w: (d / "rules.toml").mkdir() or screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n"),
                                                                              w, d, "--crs", "EPSG:4326", "--rules",
                                                                              str(d / "rules.toml")), 2,
         ("is a folder", "not the folder")),
    Case("dir_as_catalog", lambda d, w: (d / "catalog.toml").mkdir() or ["layers", "check",
                                                                         str(d / "catalog.toml")], 2,
         ("is a folder", "not the folder")),
    Case("fifo_csv", lambda d, w: screen(fifo(d / "projects.csv"), w, d), 2, ("named pipe", "ordinary file")),
    Case("fifo_txt", lambda d, w: convert(fifo(d / "parcel.txt"), d), 2,
         ("named pipe", "save the data to an ordinary file")),
    Case("fifo_rules", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n"), w, d, "--crs", "EPSG:4326",
                                           "--rules", str(fifo(d / "rules.toml"))), 2,
         ("named pipe", "save the data to an ordinary file")),
    Case("devzero_csv", lambda d, w: screen(devzero(d / "projects.csv"), w, d), 2,
         ("a device", "/dev/zero", "save the data to an ordinary file")),
    Case("devzero_txt", lambda d, w: convert(devzero(d / "parcel.txt"), d), 2,
         ("a device", "save the data to an ordinary file")),
    Case("devzero_catalog", lambda d, w: ["layers", "check", str(devzero(d / "catalog.toml"))], 2,
         ("a device", "save the data to an ordinary file")),
    Case("devzero_study", lambda d, w: ["study", "run", str(devzero(d / "study.toml"))], 2,
         ("a device", "save the data to an ordinary file")),
    Case("csv_100000_columns", lambda d, w: screen(csv(d, ",".join(f"c{i}" for i in range(100_000)) + ",lon,lat\n"
                                                      + "1," * 100_000 + f"{LON},{LAT}\n"), w, d, "--crs", "EPSG:4326"),
         2, ("100,002 columns", "keep only the columns")),
    Case("csv_named_xlsx", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n", "projects.xlsx"), w, d), 2,
         ("not an Excel workbook", "rename it to .csv")),
    Case("broken_gpkg", lambda d, w: screen(rule_file(d, b"SQLite format 3\0" + b"\x13" * 300, "projects.gpkg"), w, d),
         2, ("Cannot open the file", "check the file is complete")),
    Case("truncated_dbf", _truncated_dbf, 2, ("truncated", "declares 3 records", "copy every file")),
    Case("truncated_shp", _truncated_shp, 2, ("projects.shp is truncated", "feature 2", "copy every file")),
    Case("missing_dbf", _missing_dbf, 2, ("projects.dbf is missing", "copy every file")),
    Case("shx_dbf_disagree", _shx_dbf_disagree, 2, ("lists 3 shapes", "declares 2 records")),
    Case("zip_bomb", lambda d, w: convert(zip_bomb(d / "projects.zip"), d), 2, ("zip bomb", "unpack it yourself"),
         slow=True),
    # ---- encodings
    Case("zip_gbk_no_cpg", _zip_gbk, 0, ("encoding gb18030",)),
    Case("big5_as_gbk", _big5, 0, ("looks wrong", "--encoding big5")),
    Case("csv_gbk", lambda d, w: convert(csv(d, f"名称,经度,纬度\n随州项目,{LON},{LAT}\n", encoding="gbk"), d,
                                         "--crs", "EPSG:4326"), 0, ("encoding gb18030",)),
    Case("csv_binary", lambda d, w: screen(rule_file(d, bytes(range(256)) * 8, "projects.csv"), w, d), 2,
         ("neither UTF-8 nor GBK", "--encoding")),
    Case("unknown_encoding", lambda d, w: convert(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n"), d, "--encoding",
                                                  "klingon", "--crs", "EPSG:4326"), 2,
         ("Unknown text encoding", "gb18030")),
    # ---- TOML data files
    Case("deep_toml_rules", _deep_toml, 2, ("too deeply", "damaged by mistake")),
    Case("gbk_catalog", _gbk_catalog, 0, ("saved as GBK", "save it as UTF-8")),
    Case("utf16_catalog", _utf16_catalog, 0, ("control_units", "saved as UTF-16", "save it as UTF-8")),
    Case("gbk_study", _study_gbk, 2, ("saved as GBK", "study")),
    Case("binary_study", _study_binary, 2, ("not UTF-8", "save it as UTF-8")),
    # ---- CRS mistakes
    Case("prj_wgs84_on_metres", lambda d, w: screen(shapefile(d, parcel_frame().set_crs("EPSG:4326",
                                                                                         allow_override=True)),
                                                    w, d), 2,
         ("cannot be degrees", "the .prj", "EPSG:4547")),
    Case("gcj02_on_metres", lambda d, w: screen(csv(d, "name,x,y\n甲,541500,3521500\n"), w, d, "--crs", "GCJ-02"), 2,
         ("cannot be degrees", "drop --crs GCJ-02")),
    Case("latitude_typo", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n乙,{LON},318.157\n"), w, d,
                                              "--crs", "EPSG:4326"), 2, ("318.157", "typo for 31.8157", "line 3")),
    Case("latitude_typo_no_crs", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n乙,{LON},318.157\n"), w,
                                                     d), 2, ("typo for 31.8157", "correct the latitude")),
    Case("no_crs_ambiguous", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n"), w, d), 2,
         ("no CRS", "--crs EPSG:4326")),
    Case("unknown_crs", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n"), w, d, "--crs", "EPSG:99999"),
         2, ("EPSG:99999", "EPSG:4547")),
    # ---- geometry
    Case("infinity_geojson", lambda d, w: screen(geojson(d, f"[[[{LON},{LAT}],[Infinity,{LAT}],[{LON},31.9],"
                                                            f"[{LON},{LAT}]]]"), w, d), 2,
         ("not finite", "correct the coordinates")),
    Case("inf_csv", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,inf,{LAT}\n"), w, d, "--crs", "EPSG:4326"), 2,
         ("not finite", "line 2", "correct the coordinates")),
    Case("nan_csv", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,nan,{LAT}\n"), w, d, "--crs", "EPSG:4326"), 2,
         ("row 2", "decimal degrees")),
    Case("huge_convert", lambda d, w: convert(gpkg(d, [box(1e300, 1e300, 2e300, 2e300)]), d), 2,
         ("no place on Earth", "correct the coordinates")),
    Case("huge_map", lambda d, w: ["map", str(gpkg(d, [box(541000, 3521000, 1e300, 1e300)])), "--no-boundaries",
                                   "-o", str(d / "out" / "map.html")], 2,
         ("no place on Earth", "correct the coordinates")),
    Case("fifo_map_gpkg", lambda d, w: ["map", str(fifo(d / "projects.gpkg")), "--no-boundaries",
                                        "-o", str(d / "out" / "map.html")], 2,
         ("named pipe", "save the data to an ordinary file")),
    Case("fifo_map_raster", lambda d, w: ["map", str(fifo(d / "dem.tif")), "--no-boundaries",
                                          "-o", str(d / "out" / "map.html")], 2, ("named pipe",)),
    Case("huge_wkt_csv_map", lambda d, w: ["map", str(csv(d, f'name,wkt\n甲,"POINT (1e300 1e300)"\n乙,"POINT ({LON} '
                                                           f'{LAT})"\n')), "--no-boundaries",
                                           "-o", str(d / "out" / "map.html")], 2,
         ("no place on Earth", "correct the coordinates")),
    Case("infinity_map", lambda d, w: ["map", str(geojson(d, f"[Infinity, {LAT}]", "Point")), "--no-boundaries",
                                       "-o", str(d / "out" / "map.html")], 2,
         ("not finite", "correct the coordinates")),
    Case("outside_projection_domain", lambda d, w: screen(csv(d, "name,lon,lat\n甲,-156.0,0.0\n"), w, d, "--crs",
                                                          "EPSG:4326"), 2,
         ("cannot be transformed", "EPSG:4547", "choose a working CRS")),
    Case("bowtie_polygon", lambda d, w: screen(gpkg(d, [Polygon([(541000, 3521000), (542000, 3522000),
                                                                 (542000, 3521000), (541000, 3522000)])]), w, d), 0,
         ("1 projects",)),
    Case("degenerate_polygon", lambda d, w: screen(gpkg(d, [Polygon([(541000, 3521000), (542000, 3521000),
                                                                     (543000, 3521000)])]), w, d), 2,
         ("degenerate",)),
    Case("tiny_footprint", lambda d, w: screen(gpkg(d, [Point(541500, 3521500).buffer(1e-4)]), w, d), 2,
         ("sliver tolerance", "correct the polygon")),
    Case("far_outside_coverage", lambda d, w: screen(gpkg(d, [box(100000, 3000000, 101000, 3001000)]), w, d), 0,
         ("outside the coverage", "check the CRS")),
    Case("empty_geometry", lambda d, w: screen(gpkg(d, [shapely.Polygon()]), w, d), 2, ("empty geometry", "draw the project")),
    Case("many_vertices", _many_vertices, 0, ("1 projects",), slow=True),
    # ---- land-boundary TXT
    Case("txt_point_count", _bad_points_txt, 2, ("点数=9", "4 point lines", "correct 点数")),
    Case("txt_garbage", lambda d, w: screen(csv(d, "这不是界址点文件\n只有一些文字\n", "parcel.txt"), w, d), 2,
         ("No coordinate columns", "name the columns")),
    # ---- HTML payloads in names: outputs escape them
    Case("html_in_name_screen", _html_screen, 0, ("1 projects",), check=lambda d: not_escaped(d, "screen")),
    Case("html_in_name_map", _html_map, 0, ("Map written",), check=lambda d: not_escaped(d, "map")),
    # ---- industry codes
    Case("industry_unknown", lambda d, w: screen(gpkg(d, [box(*PARCEL)], industry=["ZZ99<b>"]), w, d), 2,
         ("Unknown GB/T 4754-2017 industry code", "C2614")),
    Case("industry_option_unknown", lambda d, w: screen(csv(d, f"name,lon,lat\n甲,{LON},{LAT}\n"), w, d, "--crs",
                                                        "EPSG:4326", "--industry", "99999"), 2,
         ("industry code", "2-4 digits")),
    # ---- XML entity expansion (billion laughs) in KML
    Case("kml_entities", _kml_entities, 2, ("DOCTYPE or ENTITY declaration", "projects.kml")),
    # ---- single coordinates
    Case("coords_huge", lambda d, w: ["coords", "convert", "1e300", "1e300", "--from", "gcj02"], 2,
         ("outside [-180, 180]", "give decimal degrees")),
    Case("coords_nan", lambda d, w: ["coords", "convert", "nan", "nan", "--from", "gcj02"], 2,
         ("finite numbers", "give decimal degrees")),
    Case("coords_inf", lambda d, w: ["coords", "convert", "inf", "inf", "--from", "bd09"], 2,
         ("finite numbers", "give decimal degrees")),
    Case("coords_latitude_typo", lambda d, w: ["coords", "convert", "113.37", "320.8", "--from", "gcj02"], 2,
         ("typo for 32.08", "check the latitude")),
]

__all__ = ["CASES", "Case", "World"]
