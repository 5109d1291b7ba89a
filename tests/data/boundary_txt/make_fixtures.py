"""Write the land-boundary TXT fixtures of this folder (run once; the files are committed).

Every file is written by this script, byte for byte, to reproduce one exporter variant named in README.md.
No third-party file is copied.  Coordinates: parcels a few hundred metres from the anchor point
(ANCHOR_LON, ANCHOR_LAT), Suizhou city centre, projected with pyproj into the Gauss-Kruger CRS each file
declares, rounded to the millimetre.  Usage: ``python tests/data/boundary_txt/make_fixtures.py``.
"""

from __future__ import annotations

from pathlib import Path

from pyproj import Transformer

HERE = Path(__file__).resolve().parent
ANCHOR_LON, ANCHOR_LAT = 113.37, 31.69


def anchor(epsg: int) -> tuple[float, float]:
    """(northing, easting) of the anchor in the EPSG CRS, to the millimetre."""
    east, north = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(ANCHOR_LON,
                                                                                              ANCHOR_LAT)
    return round(north, 3), round(east, 3)


def rect(n0: float, e0: float, dn: float, de: float, width: float, height: float) -> list[tuple[float, float]]:
    """Clockwise corners (north-up map) of a width (east) x height (north) rectangle, NW corner first."""
    n, e = n0 + dn, e0 + de
    return [(n + height, e), (n + height, e + width), (n, e + width), (n, e)]


def points(rings: list[tuple[int, list[tuple[float, float]]]], *, close: bool, prefix: str = "J") -> list[str]:
    out, k = [], 1
    for ring_no, corners in rings:
        first = k
        for north, east in corners:
            out.append(f"{prefix}{k},{ring_no},{north:.3f},{east:.3f}")
            k += 1
        if close:
            out.append(f"{prefix}{first},{ring_no},{corners[0][0]:.3f},{corners[0][1]:.3f}")
    return out


def write(name: str, lines: list[str], encoding: str, eol: str | list[str]) -> None:
    if isinstance(eol, str):
        text = eol.join(lines) + eol
    else:  # mixed line ends, cycled
        text = "".join(line + eol[i % len(eol)] for i, line in enumerate(lines))
    (HERE / name).write_bytes(text.encode(encoding))


def main() -> None:
    # 1. ArcObjects C# exporter: 分带=3度带, empty 带号, rings never closed, holes written before their
    #    exterior, 点数 = points written.  GBK, CRLF.  CGCS2000 zone 38, prefixed eastings.
    n0, e0 = anchor(4526)
    hole = rect(n0, e0, 50, 40, 20, 30)
    outer = rect(n0, e0, 0, 0, 100, 200)   # 100 m x 200 m - 20 m x 30 m = 19 400 m2
    small = rect(n0, e0, 400, 0, 50, 50)   # 2 500 m2
    body = ["[属性描述]", "投影类型=高斯克吕格", "坐标系=2000国家大地坐标系", "分带=3度带", "带号=", "[地块坐标]"]
    pts = points([(2, hole), (1, outer)], close=False)
    body += [f"{len(pts)},1.94,DK01,曾都区光伏地块,面,,工业用地,0601,@"] + pts
    pts = points([(1, small)], close=False)
    body += [f"{len(pts)},0.25,DK02,淅河镇地块,面,,工业用地,0601,@"] + pts
    write("unclosed_rings_csharp_gbk_crlf.txt", body, "gbk", "\r\n")

    # 2. arcpy exporter: ' [属性描述]' with a leading blank, 坐标系=80国家大地坐标系, 7-field parcel line
    #    (',面,,,@'), closed rings.  UTF-8 with byte-order mark, LF.  Xian 1980 zone 38 (EPSG:2362).
    n0, e0 = anchor(2362)
    parcel = rect(n0, e0, 0, 0, 120, 80)   # 9 600 m2 = 0.96 ha
    pts = points([(1, parcel)], close=True, prefix="")
    body = [" [属性描述]", "格式版本号=1.00版本", "数据产生单位=某某信息技术有限公司", "数据产生日期=2019-03-02",
            "坐标系=80国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=38", "精度=",
            "转换参数=", "[地块坐标]", f"{len(pts)},0.96,,西安80地块,面,,,@"] + pts
    write("xian80_arcpy_short_layout_utf8bom.txt", body, "utf-8-sig", "\n")

    # 3. ArcObjects C++ exporter, 报省部标 layout (界址点数,地块面积,乡镇代码,行政区名称,地块编号,地块名称,面,
    #    图幅号,地块用途,地类编码,@), area = IArea.Area in m2 with 4 decimals (bare number), one line
    #    '0,0,<code>,<village>,...' without count and area; 转换参数=0,0,0,0,0,0,0; UTF-16 LE with mark, CRLF.
    n0, e0 = anchor(4526)
    tiny = rect(n0, e0, 0, 0, 10.943, 10)   # 109.43 m2 = 0.010943 ha
    other = rect(n0, e0, 100, 0, 30, 40)   # 1 200 m2
    body = ["[属性描述]", "格式版本号=", "数据产生单位=国土资源部", "数据产生日期=2016-12-14",
            "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=38",
            "精度=0.001", "转换参数=0,0,0,0,0,0,0", "[地块坐标]"]
    pts = points([(1, tiny)], close=True)
    body += [f"{len(pts)},109.4300,421303100,淅河镇某某村,DK1,地块1,面,,建设用地,0602,@"] + pts
    pts = points([(1, other)], close=True)
    body += ["0,0,421303100,淅河镇某某村,DK2,地块2,面,,建设用地,0602,@"] + pts
    write("provincial_bsbb_utf16_m2.txt", body, "utf-16", "\r\n")

    # 4. Land-consolidation layout, 13 fields (JZDS,DKMJ,DKBH,DKMC,JLTXSX,TFH,DKYT,DLBM,TBLX,DL,GZQ,GZH,BZ,@),
    #    optional [扩展信息] section first, 54北京坐标系, 带号 = central meridian 114, 6-digit eastings,
    #    面积 a bare number in mu.  GBK, LF.  Beijing 1954 GK CM 114E (EPSG:2435).
    n0, e0 = anchor(2435)
    field_a = rect(n0, e0, 0, 0, 150, 100)   # 15 000 m2 = 22.5 亩 = 1.5 ha
    body = ["[扩展信息]", "项目名称=随州市某某土地整治项目", "[属性描述]", "格式版本号=", "数据产生单位=",
            "数据产生日期=2021-09-30", "坐标系=54北京坐标系", "几度分带=3", "投影类型=高斯克吕格",
            "计量单位=米", "带号=114", "精度=0.001", "转换参数=0,0,0,0,0,0,0", "[地块坐标]"]
    pts = points([(1, field_a)], close=True)
    body += [f"{len(pts)},22.5,ZZ01,高标准农田一区,面,,耕地,0103,提质,水田,9,7,整治后,@"] + pts
    write("consolidation_13_fields_beijing54_gbk.txt", body, "gbk", "\n")

    # 5. No suffix; 【】 brackets; 坐标系=国家2000; mixed CRLF/LF line ends; 面积 with units (公顷, 平方米,
    #    亩) as written by a web-map exporter ('0.7655公顷'); UTF-8 without mark.  CGCS2000 zone 38.
    n0, e0 = anchor(4526)
    a = rect(n0, e0, 0, 0, 50, 20)   # 1 000 m2 = 0.1 ha
    b = rect(n0, e0, 100, 0, 40, 25)   # 1 000 m2
    c = rect(n0, e0, 200, 0, 66.6, 30)   # 1 998 m2 = 2.997 亩
    body = ["【属性描述】", "坐标系=国家2000", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=38",
            "精度=0.001", "转换参数=,,,,,,", "【地块坐标】"]
    for name, area, corners in (("甲", "0.1公顷", a), ("乙", "1000平方米", b), ("丙", "2.997亩", c)):
        pts = points([(1, corners)], close=True)
        body += [f"{len(pts)},{area},,地块{name},面,,,,@"] + pts
    write("fullwidth_units_mixed_eol_no_suffix", body, "utf-8", ["\r\n", "\n"])

    # 6. A .txt that is neither this format nor a coordinate table (notes with quotes and commas).
    (HERE / "neither_format.txt").write_bytes('说明,"未闭合的引号\n第二行,1,2,3,4,5\n'.encode())


if __name__ == "__main__":
    main()
