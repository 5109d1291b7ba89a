"""Settings of the DXF, KML/KMZ and coordinate-table readers (``data/io_formats.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..datafiles import packaged, packaged_path, require
from ..errors import DataFileError, problem

_DATA_FILE = "io_formats.toml"


@dataclass(frozen=True)
class FormatSettings:
    """Validated contents of ``data/io_formats.toml`` (see the file for the source of each value)."""

    bulge_sagitta_m: float
    closure_tolerance_m: float
    dxf_entity_types: tuple[str, ...]
    max_kml_bytes: int
    point_id_columns: tuple[str, ...]
    ring_columns: tuple[str, ...]
    parcel_columns: tuple[str, ...]
    x_columns: tuple[str, ...]
    y_columns: tuple[str, ...]
    lon_columns: tuple[str, ...]
    area_columns: tuple[str, ...]
    lat_columns: tuple[str, ...]


def _positive(table: dict[str, Any], key: str, where: str, path: Any) -> float:
    value = float(require(table, key, (int, float), file=path, where=where))
    if not value > 0:
        raise DataFileError(problem(f"{where}.{key} 必须为正数。", f"{where}.{key} must be positive, got {value}.",
                                    file=path, fix=f"set {key} to a positive number"))
    return value


def _names(table: dict[str, Any], key: str, where: str, path: Any) -> tuple[str, ...]:
    values = require(table, key, list, file=path, where=where)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise DataFileError(problem(f"{where}.{key} 必须是非空字符串列表。", f"{where}.{key} must be a non-empty list "
                                    "of names.", file=path, fix=f"list the accepted names in {key}"))
    return tuple(v.strip().lower().replace(" ", "") for v in values)


@lru_cache(maxsize=1)
def format_settings() -> FormatSettings:
    """Load and validate ``data/io_formats.toml`` once.

    Raises
    ------
    DataFileError
        A missing table, key or source, or a value out of range.
    """
    data = packaged(_DATA_FILE)
    path = packaged_path(_DATA_FILE)
    dxf = require(data, "dxf", dict, file=path, where="top level")
    for key in ("bulge_source", "closure_source", "entity_source"):
        require(dxf, key, str, file=path, where="dxf")
    kml = require(data, "kml", dict, file=path, where="top level")
    require(kml, "max_kml_source", str, file=path, where="kml")
    table = require(data, "coord_table", dict, file=path, where="top level")
    require(table, "source", str, file=path, where="coord_table")
    types = tuple(str(t).upper() for t in require(dxf, "entity_types", list, file=path, where="dxf"))
    if not types:
        raise DataFileError(problem("dxf.entity_types 为空。", "dxf.entity_types is empty.", file=path,
                                    fix='list e.g. ["LWPOLYLINE", "POLYLINE"]'))
    return FormatSettings(
        bulge_sagitta_m=_positive(dxf, "bulge_sagitta_m", "dxf", path),
        closure_tolerance_m=_positive(dxf, "closure_tolerance_m", "dxf", path),
        dxf_entity_types=types,
        max_kml_bytes=int(_positive(kml, "max_kml_bytes", "kml", path)),
        point_id_columns=_names(table, "point_id", "coord_table", path),
        ring_columns=_names(table, "ring", "coord_table", path),
        parcel_columns=_names(table, "parcel", "coord_table", path),
        x_columns=_names(table, "x", "coord_table", path),
        y_columns=_names(table, "y", "coord_table", path),
        lon_columns=_names(table, "lon", "coord_table", path),
        area_columns=_names(table, "area", "coord_table", path),
        lat_columns=_names(table, "lat", "coord_table", path),
    )
