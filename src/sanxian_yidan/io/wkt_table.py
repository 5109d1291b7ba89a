"""CSV tables with a ``wkt`` geometry column, as ``sanxian convert`` writes them (and QGIS/Excel keep them).

``sanxian convert IN OUT.csv`` writes the attributes, a ``wkt`` column and a
``crs`` column (the same CRS string on every row, e.g. ``EPSG:4547``) so that
the file can be read back without guessing: the geometry comes from the WKT,
the CRS from the ``crs`` column when all its values agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from ..errors import CRSError, InputFileError, problem
from .encoding import detect_bytes_encoding
from .tabular import read_table

#: Name of the geometry column (case-insensitive) and of the CRS column.
WKT_COLUMN = "wkt"
CRS_COLUMN = "crs"


def has_wkt_column(path: Path, encoding: str | None = None) -> bool:
    """True for a CSV whose header names a ``wkt`` column."""
    if path.suffix.lower() != ".csv":
        return False
    with path.open("rb") as fh:
        head = fh.read(65536)
    line = head.split(b"\n", 1)[0]  # the header line whole: a character cut at 64 KiB must not fail detection
    try:
        enc = encoding or detect_bytes_encoding(line, file=path).encoding
        first = line.decode(enc, errors="replace").lstrip("\ufeff").splitlines()[:1]
    except (LookupError, InputFileError):
        return False  # an unknown or undetectable encoding is reported by the table reader, with its fix
    return bool(first) and WKT_COLUMN in [c.strip().strip('"').lower() for c in first[0].split(",")]


def read_wkt_table(path: Path, *, encoding: str | None = None) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Read a CSV with a ``wkt`` column (and optionally a ``crs`` column).

    Returns
    -------
    (GeoDataFrame, dict)
        Geometries from the WKT, the other columns as text; the CRS from the
        ``crs`` column when it holds one value (else ``None``: the caller
        states or infers it).  The dict: ``encoding``, ``crs_column`` (the
        value used or ``None``).

    Raises
    ------
    InputFileError
        A cell that is not valid WKT (naming the row), or a ``crs`` column
        with several values.
    """
    frame, enc = read_table(path, encoding=encoding)  # the shared, bounded table reader
    col = next(c for c in frame.columns if str(c).strip().lower() == WKT_COLUMN)
    try:
        geoms = shapely.from_wkt(frame[col].to_numpy(dtype=object), on_invalid="raise")
    except shapely.errors.GEOSException as exc:
        bad = int(pd.isna(shapely.from_wkt(frame[col].to_numpy(dtype=object), on_invalid="ignore")).argmax())
        raise InputFileError(problem(f"第 {bad + 2} 行的 WKT 几何无效。", f"Row {bad + 2} of column '{col}' is not "
                                     f"valid WKT: {exc}", file=path, feature=f"row {bad + 2}",
                                     fix="correct or remove that row")) from exc
    crs_value = None
    crs_col = next((c for c in frame.columns if str(c).strip().lower() == CRS_COLUMN), None)
    if crs_col is not None:
        values = sorted(set(v.strip() for v in frame[crs_col] if v.strip()))
        if len(values) > 1:
            raise InputFileError(problem("crs 列含有多个坐标系。", f"Column '{crs_col}' names several CRSs: {values}.",
                                         file=path, fix="split the rows by CRS, or convert them to one CRS"))
        if values:
            try:
                crs_value = CRS.from_user_input(values[0])
            except PyprojCRSError as exc:
                raise CRSError(problem(f"crs 列的坐标系 {values[0]!r} 无法识别。", f"Unknown CRS {values[0]!r} in "
                                       f"column '{crs_col}': {exc}", file=path,
                                       fix="write an EPSG code such as EPSG:4547")) from exc
        frame = frame.drop(columns=[crs_col])
    gdf = gpd.GeoDataFrame(frame.drop(columns=[col]), geometry=geoms, crs=crs_value)
    return gdf, {"encoding": enc, "crs_column": crs_value.to_string() if crs_value is not None else None}
