"""Point tables (CSV, XLSX) with coordinate columns, as planners keep project lists.

Project lists arrive as spreadsheets with columns such as ``经度``/``纬度``,
``lon``/``lat`` or ``X``/``Y``; coordinates may be decimal degrees, degrees-
minutes-seconds strings (``113°22'30"``) or projected metres.  The CRS is not
decided here: the caller (``read_vector``) infers or checks it.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import EmptyLayerError, InputFileError, problem
from .encoding import detect_bytes_encoding

#: Column names recognised for the horizontal and vertical coordinate, in order of preference.
X_COLUMNS = ("lon", "lng", "long", "longitude", "经度", "东经", "x", "x坐标", "easting", "东坐标", "y坐标(东)")
Y_COLUMNS = ("lat", "latitude", "纬度", "北纬", "y", "y坐标", "northing", "北坐标", "x坐标(北)")

_DMS = re.compile(
    r"^\s*(?P<deg>-?\d+(?:\.\d+)?)\s*[°度]\s*"
    r"(?:(?P<min>\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)\s*)?"
    r"(?P<hemi>[NSEW北南东西])?\s*$"
)


def read_table(path: Path, *, layer: str | None = None, encoding: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read a CSV or Excel sheet into a DataFrame, detecting the CSV text encoding.

    Returns
    -------
    (DataFrame, str)
        The table and the encoding used (``"xlsx"`` for spreadsheets).
    """
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path, sheet_name=layer or 0), "xlsx"
    if encoding is None:
        encoding = detect_bytes_encoding(path.read_bytes(), file=path).encoding
    return pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False), encoding


def find_coordinate_columns(columns: list[str], *, file: Path) -> tuple[str, str]:
    """Pick the x and y columns of a table by name (case-insensitive).

    Raises
    ------
    InputFileError
        If no recognised pair exists; the message lists the names accepted.
    """
    lowered = {str(c).strip().lower(): c for c in columns}
    x = next((lowered[n] for n in X_COLUMNS if n in lowered), None)
    y = next((lowered[n] for n in Y_COLUMNS if n in lowered), None)
    if x is None or y is None or x == y:
        raise InputFileError(problem(
            "表格中找不到坐标列。",
            f"No coordinate columns found among {list(columns)}.",
            file=file,
            fix=f"name the columns one of {X_COLUMNS} and one of {Y_COLUMNS} (e.g. 经度, 纬度)"))
    return x, y


def parse_coordinates(values: pd.Series, *, column: str, file: Path) -> np.ndarray:
    """Parse decimal numbers or degree-minute-second strings into floats.

    Raises
    ------
    InputFileError
        Naming the first row whose value is neither.
    """
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float).copy()
    bad = np.isnan(numeric)
    if bad.any():
        numeric[bad] = [_parse_dms(v) for v in values[bad]]
    still_bad = np.flatnonzero(np.isnan(numeric))
    if still_bad.size:
        row = int(still_bad[0])
        raise InputFileError(problem(
            f"第 {row + 2} 行的坐标无法解析。",
            f"Column '{column}' row {row + 2} (counting the header as row 1) is not a number "
            f"or a degree-minute-second value: {values.iloc[row]!r}.",
            file=file, feature=f"row {row + 2}",
            fix="write decimal degrees (113.375) or D°M'S\" (113°22'30\"E)"))
    return numeric


def _parse_dms(text: object) -> float:
    match = _DMS.match(str(text))
    if match is None:
        return float("nan")
    deg = float(match["deg"])
    value = abs(deg) + float(match["min"] or 0) / 60 + float(match["sec"] or 0) / 3600
    negative = deg < 0 or (match["hemi"] or "") in "SW南西" and match["hemi"] is not None
    return -value if negative else value


def table_to_points(path: Path, *, layer: str | None = None, encoding: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Turn a coordinate table into a point GeoDataFrame without a CRS.

    Returns
    -------
    (GeoDataFrame, str)
        Points (CRS still unknown) and the encoding used.
    """
    frame, used = read_table(path, layer=layer, encoding=encoding)
    if frame.empty:
        raise EmptyLayerError(problem("表格没有数据行。", "The table has no data rows.", file=path,
                                      fix="add at least one row below the header"))
    xcol, ycol = find_coordinate_columns(list(frame.columns), file=path)
    x = parse_coordinates(frame[xcol], column=str(xcol), file=path)
    y = parse_coordinates(frame[ycol], column=str(ycol), file=path)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=None), used
