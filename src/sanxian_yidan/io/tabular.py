"""Point tables (CSV, XLSX) with coordinate columns, as planners keep project lists.

Project lists arrive as spreadsheets with columns such as ``经度``/``纬度``,
``lon``/``lat`` or ``X``/``Y``; coordinates may be decimal degrees, degrees-
minutes-seconds strings (``113°22'30"``) or projected metres.  The CRS is not
decided here: the caller (``read_vector``) infers or checks it.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import EmptyLayerError, InputFileError, SanxianWarning, problem
from . import safety
from .encoding import EncodingGuess, detect_bytes_encoding

#: Column names recognised for the horizontal and vertical coordinate, in order of preference.
X_COLUMNS = ("lon", "lng", "long", "longitude", "经度", "东经", "經度", "東經", "x", "x坐标", "easting", "东坐标", "y坐标(东)")
Y_COLUMNS = ("lat", "latitude", "纬度", "北纬", "緯度", "北緯", "y", "y坐标", "northing", "北坐标", "x坐标(北)")

_DMS = re.compile(
    r"^\s*(?P<deg>-?\d+(?:\.\d+)?)\s*[°度]\s*"
    r"(?:(?P<min>\d+(?:\.\d+)?)\s*['′分]\s*)?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)\s*)?"
    r"(?P<hemi>[NSEW北南东西])?\s*$"
)


def read_table(path: Path, *, layer: str | None = None, encoding: str | None = None,
               header: int | None = 0, warn: bool = True) -> tuple[pd.DataFrame, str]:
    """Read a CSV or Excel sheet into a DataFrame, detecting the CSV text encoding.

    The file is checked first (:func:`sanxian_yidan.io.safety.check_input_file`: no folder,
    pipe, device or empty file) and a CSV is read whole, bounded in size, then parsed from
    memory.  Text that decodes implausibly (e.g. Big5 read as GBK) is reported with a
    :class:`~sanxian_yidan.errors.SanxianWarning` naming ``--encoding``.

    Parameters
    ----------
    path : Path
        ``.csv`` (any other suffix is read as CSV text too), ``.xlsx``, ``.xlsm`` or ``.xls``.
    layer : str, optional
        Sheet of a workbook (default: the first).
    encoding : str, optional
        Text encoding of a CSV (detected when omitted).
    header : int or None
        Header row as in pandas; ``None`` reads every row as data (cells as text/objects),
        as the parcel coordinate-table reader needs.
    warn : bool
        Warn when the decoded text looks like the wrong code page; either way the warning
        text is kept in ``frame.attrs["encoding_warning"]``.

    Returns
    -------
    (DataFrame, str)
        The table and the encoding used (``"xlsx"`` for spreadsheets).

    Raises
    ------
    InputFileError
        A workbook that is not one (e.g. a CSV renamed ``.xlsx``), a CSV that cannot be
        parsed or decoded, or a sheet that does not exist.
    EmptyLayerError
        An empty file, or a table without a header.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return _read_workbook(path, layer, header), "xlsx"
    data = safety.read_bytes_bounded(path, what="table")
    guess = detect_bytes_encoding(data, file=path) if encoding is None else EncodingGuess(encoding, "given")
    encoding, suspicious = guess.encoding, guess.warning
    if suspicious and warn:
        warnings.warn(f"{path}: {suspicious}", SanxianWarning, stacklevel=3)
    try:
        text = data.decode(encoding).removeprefix("\ufeff")
    except LookupError as exc:
        raise InputFileError(problem(f"未知的文字编码 '{encoding}'。", f"Unknown text encoding '{encoding}'.",
                                     file=path, fix="use a Python codec name such as 'gb18030', 'utf-8', "
                                                    "'big5'")) from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(problem(f"文件不能按 {encoding} 解码。",
                                     f"The file cannot be decoded as {encoding} (byte {exc.start}).", file=path,
                                     fix="omit --encoding to detect it, or give the encoding it was saved "
                                         "in")) from exc
    if not text.strip():
        raise EmptyLayerError(problem("表格是空的（没有表头和数据）。", "The table is empty: no header, no rows.",
                                      file=path, fix="export the table again with its header row"))
    try:
        rows = csv.reader(io.StringIO(text))
        n_columns = len(next(rows, [])) if header is not None else max((len(r) for r in rows), default=1)
    except csv.Error:
        n_columns = 0  # pandas reports the parse error below, with the fix
    safety.check_column_count(n_columns, file=path)  # before pandas spends minutes on 100,000 columns
    try:
        # Without a header row (coordinate tables), title rows above the real header are often narrower
        # than it: name as many columns as the widest line so that pandas pads the short ones.
        width = {} if header is not None else {"names": range(n_columns)}
        frame = pd.read_csv(io.StringIO(text), header=header, dtype=str, keep_default_na=False, **width)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        if path.suffix.lower() != ".csv":  # a .txt that is not a land-boundary TXT either
            raise neither_txt_nor_table(path, exc) from exc
        raise InputFileError(problem("CSV 文件无法解析。", f"The CSV cannot be parsed: {exc}", file=path,
                                     fix="save it from Excel as 'CSV UTF-8 (comma delimited)' and check "
                                         "quotes and the number of columns per row")) from exc
    frame.attrs["encoding_warning"] = suspicious
    return frame, encoding


def _read_workbook(path: Path, layer: str | None, header: int | None = 0) -> pd.DataFrame:
    """Read one sheet of a workbook, with the toolkit's errors for a file that is not one."""
    safety.check_input_file(path, what="workbook")
    with path.open("rb") as fh:
        head = fh.read(8)
    # .xlsx/.xlsm are zip archives ("PK"); .xls is an OLE2 compound file.
    is_zip, is_ole = head.startswith(b"PK\x03\x04"), head.startswith(b"\xd0\xcf\x11\xe0")
    if not (is_zip or is_ole):
        looks_text = b"," in head or head.isascii()
        raise InputFileError(problem(
            "该文件不是 Excel 工作簿。",
            f"{path.name} is not an Excel workbook" + (" (it looks like CSV/plain text)" if looks_text else "") + ".",
            file=path, fix="if it is a CSV, rename it to .csv; otherwise open it in Excel and save it as .xlsx"))
    if is_zip:
        safety.check_zip(path)
    try:
        # Without a header row (coordinate tables) every cell is kept as written (objects).
        frame = pd.read_excel(path, sheet_name=layer or 0, header=header, dtype=object if header is None else None)
    except ImportError as exc:
        raise InputFileError(problem("缺少读取 Excel 的组件。", f"Cannot read Excel files here: {exc}", file=path,
                                     fix="save the sheet as CSV (UTF-8) and give that, or pip install "
                                         "openpyxl")) from exc
    except (ValueError, KeyError, IndexError, zipfile.BadZipFile, OSError) as exc:
        missing_sheet = layer is not None and ("not found" in str(exc) or isinstance(exc, (KeyError, IndexError)))
        raise InputFileError(problem(
            f"找不到工作表 '{layer}'。" if missing_sheet else "Excel 工作簿无法读取（文件损坏或格式不对）。",
            f"Sheet '{layer}' not found: {exc}" if missing_sheet else f"The workbook cannot be read: {exc}",
            file=path, fix="give an existing sheet name with --layer" if missing_sheet
            else "open it in Excel and save it again as .xlsx, or save the sheet as CSV")) from exc
    safety.check_column_count(frame.shape[1], file=path, what="sheet")
    return frame


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
    return -value if deg < 0 or match["hemi"] in tuple("SW南西") else value


def table_to_points(path: Path, *, layer: str | None = None, encoding: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Turn a coordinate table into a point GeoDataFrame without a CRS.

    Returns
    -------
    (GeoDataFrame, str)
        Points (CRS still unknown) and the encoding used.
    """
    frame, used = read_table(path, layer=layer, encoding=encoding)
    garbled = frame.attrs.get("encoding_warning")
    if garbled and all(str(c).strip().lower() not in X_COLUMNS + Y_COLUMNS for c in frame.columns):
        # The header itself is unreadable: the encoding, not the column names, is what to fix.
        raise InputFileError(problem(
            "表头乱码，找不到坐标列：文件编码可能不对。",
            f"No coordinate columns found among {list(frame.columns)}: the header looks garbled ({garbled})",
            file=path, fix="state the file's encoding, e.g. --encoding big5, or save it as UTF-8"))
    if frame.empty:
        raise EmptyLayerError(problem("表格没有数据行。", "The table has no data rows.", file=path,
                                      fix="add at least one row below the header"))
    xcol, ycol = find_coordinate_columns(list(frame.columns), file=path)
    x = parse_coordinates(frame[xcol], column=str(xcol), file=path)
    y = parse_coordinates(frame[ycol], column=str(ycol), file=path)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(x, y), crs=None)
    gdf.attrs["sanxian_table"] = True  # messages name the spreadsheet line (header = line 1)
    return gdf, used


def neither_txt_nor_table(path: Path, exc: Exception) -> InputFileError:
    """The error for a text file that is neither a land-boundary TXT nor a table with coordinates."""
    return InputFileError(problem(
        "无法识别该文件：既不是界址点坐标交换文件，也不是带坐标列的表格。",
        f"The file is neither a land-boundary coordinate TXT (a [属性描述] and a [地块坐标] section) nor "
        f"a delimited table with coordinate columns ({type(exc).__name__}: {exc}).", file=path,
        fix="check the file; a land-boundary TXT needs its '[地块坐标]' line, a table a header row with "
            "lon/lat, 经度/纬度 or X/Y columns"))
