"""Settings of the DXF, KML/KMZ and coordinate-table readers (``data/io_formats.toml``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from ..datafiles import load_model
from ..params import AsTuple, DataModel, Former, FormerAttributes, Source, Sourced

_DATA_FILE = "io_formats.toml"


_Names = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], AsTuple, Field(min_length=1)]
# Column headings are compared lower-case without blanks, DXF entity types upper-case.
_Headings = Annotated[_Names, AfterValidator(lambda names: tuple(n.strip().lower().replace(" ", "") for n in names))]
_EntityTypes = Annotated[_Names, AfterValidator(lambda names: tuple(n.upper() for n in names))]


class _Dxf(DataModel):
    bulge_sagitta_m: float = Field(gt=0)
    bulge_source: Source
    closure_tolerance_m: float = Field(gt=0)
    closure_source: Source
    entity_types: _EntityTypes
    entity_source: Source


class _Kml(DataModel):
    max_kml_bytes: int = Field(gt=0)
    max_kml_source: Source


class _CoordTable(Sourced):
    point_id: _Headings
    ring: _Headings
    parcel: _Headings
    x: _Headings
    y: _Headings
    area: _Headings
    lon: _Headings
    lat: _Headings


class IoFormatsFile(FormerAttributes, Sourced):
    """The structure of ``data/io_formats.toml``."""

    what: ClassVar[str] = "读取格式 / reader-format"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "bulge_sagitta_m": "dxf.bulge_sagitta_m",
        "closure_tolerance_m": "dxf.closure_tolerance_m",
        "dxf_entity_types": "dxf.entity_types",
        "max_kml_bytes": "kml.max_kml_bytes",
        "point_id_columns": "coord_table.point_id",
        "ring_columns": "coord_table.ring",
        "parcel_columns": "coord_table.parcel",
        "x_columns": "coord_table.x",
        "y_columns": "coord_table.y",
        "lon_columns": "coord_table.lon",
        "area_columns": "coord_table.area",
        "lat_columns": "coord_table.lat",
    }
    dxf: _Dxf
    kml: _Kml
    coord_table: _CoordTable


#: The validated contents of ``data/io_formats.toml`` (see the file for the source of each value).
FormatSettings = IoFormatsFile


@lru_cache(maxsize=1)
def format_settings() -> FormatSettings:
    """Load and validate ``data/io_formats.toml`` once.

    Raises
    ------
    DataFileError
        A missing or unknown table or key, an empty source, or a value out of range.
    """
    return load_model(IoFormatsFile, _DATA_FILE)
