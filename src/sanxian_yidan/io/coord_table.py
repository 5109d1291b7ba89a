"""Parcel coordinate tables (界址点坐标表 / 坐标表) in Excel or CSV → polygons.

A planner often gets a red line as a spreadsheet: a title row or two, then a
header ``点号 | (圈号) | X | Y`` and one row per boundary point, the parcel
number (``地块编号``) in a merged cell at the parcel's first row.  This reader

* finds the header row among the first rows (title rows above it are skipped);
* fills merged-cell gaps of the parcel and ring columns downwards;
* takes the northing and the easting by magnitude, not by label (Chinese
  surveying writes X for the northing and Y for the easting, GIS software the
  reverse; a northing in China has 7 digits, an easting 6 without the zone
  prefix or 8 with it);
* builds one polygon per parcel, rings nested by the even-odd rule (圈号
  numbers the rings; an inner ring is a hole, a disjoint one another part);
* leaves the CRS unknown: the caller states it or infers it from the numbers
  (a zone prefix identifies the zone; without it the zone is never guessed).

A table without a point-number column is not a coordinate table; it is read
as points by :mod:`sanxian_yidan.io.tabular`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputFileError, problem
from ..schemas import display_unit
from .formats_settings import format_settings
from .rings import nest_rings
from .tabular import parse_coordinates, read_table

#: How many rows from the top are searched for the header (title rows above it are common).
_HEADER_SEARCH_ROWS = 15
#: Northings in mainland China [m] (about 2 000 km to 6 000 km from the equator): 7 digits.
_NORTHING = (1e6, 1e7)


def _key(value: Any) -> str:
    return str(value).strip().lower().replace(" ", "").replace("（", "(").replace("）", ")")


def _columns(header: list[str]) -> dict[str, int] | None:
    s = format_settings().coord_table
    keys = [_key(h) for h in header]

    def find(names: tuple[str, ...]) -> int | None:
        return next((keys.index(n) for n in names if n in keys), None)

    found = {"point": find(s.point_id), "x": find(s.x), "y": find(s.y)}
    if found["x"] is None or found["y"] is None:  # points in degrees: 经度 is the x, 纬度 the y
        found["x"], found["y"] = find(s.lon), find(s.lat)
    if any(v is None for v in found.values()) or found["x"] == found["y"]:
        return None
    ring, parcel = find(s.ring), find(s.parcel)
    area = next((i for i, k in enumerate(keys) if any(k.startswith(n) for n in s.area)), None)
    out = {k: int(v) for k, v in found.items() if v is not None}
    if area is not None and area not in out.values():
        out["area"] = area
    if ring is not None:
        out["ring"] = ring
    if parcel is not None and parcel not in out.values():
        out["parcel"] = parcel
    return out


def detect_coordinate_table(path: Path, *, layer: str | None = None,
                            encoding: str | None = None) -> tuple[pd.DataFrame, int, dict[str, int], str] | None:
    """Tell whether a CSV/Excel sheet is a parcel coordinate table.

    Returns
    -------
    (raw frame, header row, column positions, encoding) or None
        ``None`` when no row among the first ones names a point-number column
        and X and Y columns.
    """
    # The shared table reader refuses special/empty files, non-workbooks named .xlsx and unparsable CSV.
    raw, used = read_table(path, layer=layer, encoding=encoding, header=None, warn=False)  # table_to_points warns
    for row in range(min(_HEADER_SEARCH_ROWS, len(raw))):
        cols = _columns(raw.iloc[row].tolist())
        if cols is not None:
            return raw, row, cols, used
    return None


def read_coordinate_table(path: str | Path, *, layer: str | None = None,
                          encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a parcel coordinate table into polygons (CRS not set).

    Parameters
    ----------
    path : str or Path
        ``.xlsx``/``.xls``/``.csv`` file.
    layer : str, optional
        Sheet of a workbook (default: the first).
    encoding : str, optional
        Text encoding of a CSV (detected when omitted).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per parcel: ``parcel`` (the parcel number, or ``"1"`` when the
        table has no parcel column), ``points`` (boundary points read),
        ``rings``, ``holes``; polygons in GIS axis order (x = easting).
        ``attrs["sanxian"]`` holds ``format``, ``encoding``, ``header_row``,
        ``columns`` (the headings used for each role), ``axis_order``
        (``"X=northing"`` or ``"X=easting"``) and ``warnings``.

    Raises
    ------
    InputFileError
        Not a coordinate table, a coordinate that is not a number, values
        that are neither northings nor eastings, or a ring of fewer than 3
        distinct points (naming the parcel and ring).

    References
    ----------
    .. [1] TD/T 1001-2012 地籍调查规程, 界址点成果表 (点号, X, Y; X = northing).
    """
    path = Path(path)
    found = detect_coordinate_table(path, layer=layer, encoding=encoding)
    if found is None:
        s = format_settings().coord_table
        raise InputFileError(problem("不是坐标表：找不到点号、X、Y 列。",
                                     "Not a coordinate table: no header row with point-number, X and Y columns.",
                                     file=path, layer=layer,
                                     fix=f"name the columns e.g. 点号, 圈号, X, Y (accepted: {s.point_id}, "
                                         f"{s.x}, {s.y})"))
    raw, header_row, cols, used = found
    headings = [str(h).strip() for h in raw.iloc[header_row].tolist()]
    body = raw.iloc[header_row + 1:].reset_index(drop=True)
    blank = body.apply(_empty).all(axis=1)
    body = body[~blank.to_numpy()].reset_index(drop=True)
    rows_in_file = np.flatnonzero(~blank.to_numpy()) + header_row + 2  # 1-based spreadsheet row numbers
    if body.empty:
        raise InputFileError(problem("坐标表没有数据行。", "The coordinate table has no point rows.", file=path,
                                     layer=layer, fix="add the boundary points below the header"))
    # A point-number cell left empty is a row of notes (e.g. 面积 / 合计 at the bottom): skip it.
    notes = _empty(body.iloc[:, cols["point"]]).to_numpy()
    body, rows_in_file = body[~notes].reset_index(drop=True), rows_in_file[~notes]
    a = parse_coordinates(body.iloc[:, cols["x"]].astype(str), column=headings[cols["x"]], file=path)
    b = parse_coordinates(body.iloc[:, cols["y"]].astype(str), column=headings[cols["y"]], file=path)
    east, north, order = _axes(a, b, headings[cols["x"]], headings[cols["y"]], path, layer)
    parcel = _filled(body, cols.get("parcel"), "1")
    ring = _filled(body, cols.get("ring"), "1")
    declared = body.iloc[:, cols["area"]].astype(object).where(~_empty(body.iloc[:, cols["area"]])).to_numpy() \
        if "area" in cols else None
    notes = []
    if used == "xlsx" and layer is None:
        sheets = pd.ExcelFile(path).sheet_names
        if len(sheets) > 1:
            notes.append(f"the workbook has {len(sheets)} sheets {sheets}; read the first, '{sheets[0]}': choose "
                         f"another with --layer <sheet> (layer=) / 工作簿有多个工作表，已读取第一个")
    frame = _polygons(path, layer, east, north, parcel, ring, rows_in_file, {
        "format": "coordinate table", "encoding": used, "header_row": header_row + 1,
        "columns": {k: headings[v] for k, v in cols.items()}, "axis_order": order, "warnings": notes})
    if declared is not None and order != "X=longitude":
        _check_declared_areas(frame, parcel, declared, headings[cols["area"]])
    return frame


def _check_declared_areas(frame: gpd.GeoDataFrame, parcel: np.ndarray, declared: np.ndarray, heading: str) -> None:
    """Compare each parcel's declared area with its plane area (units and tolerance of data/boundary_txt.toml).

    Adds ``area_declared_m2`` (the declared value in m², in the unit the heading names or, without one, the
    first unit of ``inference_order`` that matches) and ``area_unit``; a parcel whose declared area matches
    in no admissible unit gets a warning naming it.
    """
    from .boundary_txt import _settings as boundary_txt_settings

    cfg = boundary_txt_settings()
    units, check, ha = cfg.area_units.entries, cfg.area_check, display_unit("ha").per
    unit_text = re.sub(r"^(" + "|".join(map(re.escape, format_settings().coord_table.area)) + ")", "", _key(heading))
    named = next((u for u, v in units.items() if any(n.lower() in unit_text for n in v.names)), None)
    order = [named] if named else list(cfg.area_units.inference_order)
    declared_m2: list[tuple[float, str | None]] = []  # per parcel: the declared area [m²] and its unit
    for pid, geom in zip(frame["parcel"], frame.geometry):
        cells = [v for v in declared[parcel == pid] if v is not None and str(v).strip()]
        number = pd.to_numeric(re.sub(r"[^0-9.eE+-]", "", str(cells[0])) if cells else "", errors="coerce")
        computed = float(geom.area)
        if not np.isfinite(number):
            declared_m2.append((np.nan, None))
            continue
        allowed = max(check.absolute_ha * ha, check.relative * computed)
        unit = next((u for u in order if abs(number * ha / units[u].per_hectare - computed) <= allowed), None)
        declared_m2.append((number * ha / units[unit or order[0]].per_hectare, unit))
        if unit is None:
            frame.attrs["sanxian"]["warnings"].append(
                f"parcel {pid}: declared area {cells[0]} ({heading}) does not match the {computed:.1f} m² "
                f"({computed / ha:.4f} ha, {computed / ha * units['mu'].per_hectare:.2f} 亩) of its coordinates in "
                f"{' or '.join(units[u].label for u in order)} (tolerance {100 * check.relative:.1f} %): "
                f"check the coordinates or the area / 地块 {pid} 的面积与坐标计算的面积不符")
    frame["area_declared_m2"], frame["area_unit"] = ([row[i] for row in declared_m2] for i in (0, 1))


def _empty(column: pd.Series) -> pd.Series:
    """True for empty cells: missing, blank text, or the text 'nan'/'None' of a missing value."""
    return column.astype(object).where(column.notna(), "").astype(str).str.strip().isin(["", "nan", "None"])


def _filled(body: pd.DataFrame, col: int | None, default: str) -> np.ndarray:
    if col is None:
        return np.full(len(body), default, dtype=object)
    # merged cells: the number stands in the first row of the parcel only
    filled = body.iloc[:, col].astype(object).where(~_empty(body.iloc[:, col])).ffill().fillna(default)
    return filled.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()) \
        .to_numpy(dtype=object)


def _is_northing(v: np.ndarray) -> bool:
    return bool(np.all((v >= _NORTHING[0]) & (v < _NORTHING[1])))


def _is_easting(v: np.ndarray) -> bool:
    return bool(np.all(((v > 0) & (v < 1e6)) | ((v >= 1e7) & (v < 1e8))))


def _axes(x: np.ndarray, y: np.ndarray, xname: str, yname: str, path: Path,
          layer: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Easting and northing from the columns labelled X and Y, decided by magnitude."""
    if _is_northing(x) and _is_easting(y):
        return y, x, "X=northing"
    if _is_easting(x) and _is_northing(y):
        return x, y, "X=easting"
    if np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        return x, y, "X=longitude"  # degrees: the CRS inference checks the order
    raise InputFileError(problem(
        "坐标列的数值既不像北坐标也不像东坐标。",
        f"Column '{xname}' ranges {x.min():.3f}-{x.max():.3f} and column '{yname}' {y.min():.3f}-{y.max():.3f}: "
        "one must be a 7-digit northing and the other a 6-digit (or 8-digit, with the zone prefix) easting.",
        file=path, layer=layer, fix="check the coordinate columns (metres, Gauss-Kruger) and that every row is a "
                                    "coordinate; state the CRS with --crs"))


def _polygons(path: Path, layer: str | None, east: np.ndarray, north: np.ndarray, parcel: np.ndarray,
              ring: np.ndarray, rows: np.ndarray, info: dict[str, Any]) -> gpd.GeoDataFrame:
    records: list[dict[str, Any]] = []
    geoms = []
    for pid in pd.unique(parcel):
        at = np.flatnonzero(parcel == pid)
        rings = []
        for rid in pd.unique(ring[at]):
            idx = at[ring[at] == rid]
            xy = np.column_stack([east[idx], north[idx]])
            if len(xy) > 1 and np.array_equal(xy[0], xy[-1]):
                xy = xy[:-1]  # the closing point repeats the first
            if len(np.unique(xy, axis=0)) < 3:
                raise InputFileError(problem(
                    f"地块 {pid} 第 {rid} 圈的界址点少于 3 个不同的点。",
                    f"Parcel {pid} ring {rid} has fewer than 3 distinct points (rows {rows[idx].tolist()}).",
                    file=path, layer=layer, feature=f"parcel {pid}",
                    fix="check the point rows of that ring (a parcel number or 圈号 typed wrong splits a ring)"))
            rings.append(xy)
        polys, shells, holes = nest_rings(rings)
        geoms.append(polys[0] if len(polys) == 1 else gpd.GeoSeries(list(polys)).union_all())
        records.append({"parcel": pid, "points": int(len(at)), "rings": len(rings), "holes": int(sum(holes))})
    frame = gpd.GeoDataFrame(records, geometry=geoms, crs=None)
    frame.attrs["sanxian"] = info
    return frame
