"""Rebuild the DXF and XLSX fixtures of tests/data/dxf and tests/data/xlsx (``python tests/data/make_format_fixtures.py``).

The fixtures are committed so that the tests read the same bytes every time; this script documents how they
were made.  Coordinates are CGCS2000 3-degree Gauss-Kruger CM 114E (EPSG:4547) of points near Zengdu,
Suizhou, computed with pyproj; the shapes are hand-chosen so their areas can be checked by hand.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
#: Origin of the drawings [m], EPSG:4547 (about 113.37 E, 31.69 N): easting, northing.
E0, N0 = 440000.0, 3507000.0


def red_line_dxf(path: Path, *, version: str = "R2000", encoding: str | None = "gbk",
                 prefix: float = 0.0) -> None:
    """A red-line drawing as design institutes send it (AutoCAD R2000, GBK layer names).

    Layer 红线: parcel A, a 200 m x 100 m rectangle whose east side is a half-circle arc bulging outwards
    (bulge 1, radius 50 m) with a 20 m x 20 m courtyard hole; parcel B, a 60 m x 40 m rectangle drawn as a
    2-D POLYLINE whose last vertex sits on the first without the closed flag.  Layer 道路 (roads): an open
    polyline and a closed 10 m square.  Layer 标注 (labels): a TEXT.  ``encoding=None`` writes the file in
    ezdxf's default code page, where Chinese becomes AutoCAD's ``\\U+XXXX`` escapes; ``prefix`` adds a zone
    prefix (e.g. 38e6) to the eastings.
    """
    import ezdxf

    doc = ezdxf.new(version)
    if encoding is not None:
        doc.encoding = encoding  # ezdxf writes $DWGCODEPAGE from it: gbk -> ANSI_936
    doc.header["$INSUNITS"] = 6  # metres
    msp = doc.modelspace()
    for name in ("红线", "道路", "标注"):
        doc.layers.add(name)
    e, n = E0 + prefix, N0
    msp.add_lwpolyline([(e, n, 0), (e + 200, n, 1), (e + 200, n + 100, 0), (e, n + 100, 0)], format="xyb",
                       close=True, dxfattribs={"layer": "红线"})
    msp.add_lwpolyline([(e + 50, n + 40), (e + 70, n + 40), (e + 70, n + 60), (e + 50, n + 60)], close=True,
                       dxfattribs={"layer": "红线"})
    msp.add_polyline2d([(e + 400, n), (e + 460, n), (e + 460, n + 40), (e + 400, n + 40), (e + 400, n)],
                       dxfattribs={"layer": "红线"})
    msp.add_lwpolyline([(e - 50, n - 20), (e + 500, n - 20)], dxfattribs={"layer": "道路"})
    msp.add_lwpolyline([(e - 30, n), (e - 20, n), (e - 20, n + 10), (e - 30, n + 10)], close=True,
                       dxfattribs={"layer": "道路"})
    msp.add_text("曾都光伏一号", dxfattribs={"layer": "标注", "insert": (e + 20, n + 20)})
    doc.saveas(path)


def coordinate_table_xlsx(path: Path) -> None:
    """A 界址点坐标表 as a planner receives it: a title row, merged 地块编号 cells, 点号/圈号/X/Y, X = northing.

    Parcel 2024-01: 100 m x 80 m with a 10 m x 10 m hole (圈号 2); parcel 2024-02: two disjoint 30 m x 30 m
    squares (圈号 1 and 2), its closing point repeated; a 合计 note row at the bottom.
    """
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "坐标表"
    ws.append(["随州市曾都区光伏项目用地界址点坐标成果表（CGCS2000，3度带，中央经线114°）"])
    ws.merge_cells("A1:E1")
    ws.append(["地块编号", "点号", "圈号", "X", "Y"])
    rows = []
    a = [(0, 0), (100, 0), (100, 80), (0, 80)]
    hole = [(40, 30), (40, 40), (50, 40), (50, 30)]
    for i, (dx, dy) in enumerate(a):
        rows.append(["2024-01" if i == 0 else None, f"J{i + 1}", 1, N0 + dy, E0 + dx])
    for i, (dx, dy) in enumerate(hole):
        rows.append([None, f"J{i + 5}", 2, N0 + dy, E0 + dx])
    sq1 = [(300, 0), (330, 0), (330, 30), (300, 30), (300, 0)]
    sq2 = [(400, 0), (430, 0), (430, 30), (400, 30)]
    for i, (dx, dy) in enumerate(sq1):
        rows.append(["2024-02" if i == 0 else None, f"J{i + 1}", 1, N0 + dy, E0 + dx])
    for i, (dx, dy) in enumerate(sq2):
        rows.append([None, f"J{i + 6}", 2, N0 + dy, E0 + dx])
    for row in rows:
        ws.append(row)
    ws.merge_cells(start_row=3, start_column=1, end_row=10, end_column=1)
    ws.merge_cells(start_row=11, start_column=1, end_row=19, end_column=1)
    ws.append([None, None, None, "合计", "2 宗地"])
    wb.save(path)


if __name__ == "__main__":
    red_line_dxf(HERE / "dxf" / "red_line_r2000_gbk.dxf")
    coordinate_table_xlsx(HERE / "xlsx" / "parcels_cm114.xlsx")
