"""Settings of the DXF, KML/KMZ and coordinate-table readers (``data/io_formats.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, ClassVar

from pydantic import Field

from ..datafiles import load_model
from ..params import AsTuple, DataModel, Source, Sourced

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


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower().replace(" ", "") for v in values)


_Names = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], AsTuple, Field(min_length=1)]


class _Dxf(DataModel):
    bulge_sagitta_m: float = Field(gt=0)
    bulge_source: Source
    closure_tolerance_m: float = Field(gt=0)
    closure_source: Source
    entity_types: _Names
    entity_source: Source


class _Kml(DataModel):
    max_kml_bytes: int = Field(gt=0)
    max_kml_source: Source


class _CoordTable(Sourced):
    point_id: _Names
    ring: _Names
    parcel: _Names
    x: _Names
    y: _Names
    area: _Names
    lon: _Names
    lat: _Names


class IoFormatsFile(Sourced):
    """The structure of ``data/io_formats.toml``."""

    what: ClassVar[str] = "读取格式 / reader-format"
    dxf: _Dxf
    kml: _Kml
    coord_table: _CoordTable


@lru_cache(maxsize=1)
def format_settings() -> FormatSettings:
    """Load and validate ``data/io_formats.toml`` once.

    Raises
    ------
    DataFileError
        A missing or unknown table or key, an empty source, or a value out of range.
    """
    doc = load_model(IoFormatsFile, _DATA_FILE)
    t = doc.coord_table
    return FormatSettings(
        bulge_sagitta_m=doc.dxf.bulge_sagitta_m, closure_tolerance_m=doc.dxf.closure_tolerance_m,
        dxf_entity_types=tuple(e.upper() for e in doc.dxf.entity_types), max_kml_bytes=doc.kml.max_kml_bytes,
        point_id_columns=_names(t.point_id), ring_columns=_names(t.ring), parcel_columns=_names(t.parcel),
        x_columns=_names(t.x), y_columns=_names(t.y), lon_columns=_names(t.lon), area_columns=_names(t.area),
        lat_columns=_names(t.lat))
