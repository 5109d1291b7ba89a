"""Rooftop outputs: ``rooftops.gpkg``, ``rooftops_by_township.csv`` and ``rooftops_factors.csv`` with their
provenance (factor ids and sources, exclusions applied or not, synthetic data)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from .. import benefits as benefits_mod
from ..errors import DataFileError, InputFileError, problem
from ..io.gpkg import write_settings
from ..io.vector import has_pyarrow
from .names import BUILDING_COLUMNS

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)


class RooftopTables(Protocol):
    """What the writers read from a :class:`~sanxian_yidan.rooftop.result.RooftopResult` (named by its
    members: the result module imports this one)."""

    @property
    def buildings(self) -> gpd.GeoDataFrame: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def synthetic(self) -> bool: ...
    def area_table(self) -> pd.DataFrame: ...


# ------------------------------------------------------------------------------------------------
# output
# ------------------------------------------------------------------------------------------------
GPKG_NAME = "rooftops.gpkg"
#: GeoParquet output (``format="geoparquet"``): a folder of part files, laid out as the Dask engine writes it.
PARQUET_NAME = "rooftops.parquet"
#: The one part file the in-memory engine writes into :data:`PARQUET_NAME`.
PARQUET_PART = "part.00000.parquet"
#: GeoParquet specification version written (1.1: WKB geometry, read by GDAL 3.8+, QGIS 3.28+, geopandas).
GEOPARQUET_VERSION = "1.1.0"
#: Output formats of the per-building layer.
FORMATS = ("gpkg", "geoparquet")
CSV_NAME = "rooftops_by_township.csv"
FACTORS_CSV_NAME = "rooftops_factors.csv"
#: Columns of ``rooftops_factors.csv`` (declared in ``data/columns/rooftop.toml``).
FACTOR_COLUMNS = ("quantity", "factor_kind", "factor_id", "factor_value", "factor_unit", "factor_basis",
                  "factor_year", "factor_publisher", "factor_source", "factor_confirmed")
#: Columns appended to every row of ``rooftops_by_township.csv``: the run's provenance notes.
NOTE_COLUMNS = ("factor_ids", "unconfirmed_factor_ids", "exclusions_not_applied", "synthetic_layers")
_NONE = "none"


def factor_table(result: RooftopTables) -> pd.DataFrame:
    """Provenance of the co-benefit factors behind ``co2_t`` ... ``coal_tce`` (one row per factor).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FACTOR_COLUMNS`: output column, kind, id, value, unit, basis, year, publisher,
        source and whether the value was confirmed against the publisher's own text.
    """
    factors = result.details["factors"]
    rows = [(column, kind, f.id, f.value, f.unit, f.basis_label, f.year, f.publisher, f.source, bool(f.confirmed))
            for kind, (_, column, _) in benefits_mod.KINDS.items() if (f := factors.get(kind)) is not None]
    return pd.DataFrame(rows, columns=list(FACTOR_COLUMNS))


def provenance_notes(result: RooftopTables) -> dict[str, str]:
    """The run's provenance notes as text: factor ids used, unconfirmed ones, exclusions not applied,
    synthetic layers behind the numbers (footprints, exclusion layers, townships).

    Keys are :data:`NOTE_COLUMNS`; a value is ``"none"`` when there is nothing to report.
    """
    s = result.details
    # Same order as co_benefits' factor_ids column (co2, so2, nox, pm, coal).
    ids = ";".join(s["factors"][kind].id for kind in benefits_mod.KINDS if kind in s["factors"])
    not_applied = s.get("exclusions_not_applied", {})
    return {"factor_ids": ids or _NONE,
            "unconfirmed_factor_ids": ";".join(s["unconfirmed_factors"]) or _NONE,
            "exclusions_not_applied": "; ".join(f"{role}: not applied, {why}" for role, why in not_applied.items())
                                      or _NONE,
            "synthetic_layers": ";".join(s.get("synthetic_layers", [])) or _NONE}


def _layer_metadata(result: RooftopTables, dropped: Mapping[str, str], spatial_index: bool) -> dict[str, str]:
    """GeoPackage layer metadata: a readable DESCRIPTION plus structured provenance items."""
    s = result.details
    notes = provenance_notes(result)
    factors = factor_table(result)
    applied = [f"{name}: applied, {n} building(s) excluded" for name, n in s["excluded"].items()]
    exclusions = applied + [f"{role}: not applied, {why}" for role, why in s.get("exclusions_not_applied", {}).items()]
    townships = ("not assigned (no township layer): no township aggregation" if s["area_source"] == "none"
                 else s["area_source"])
    description = ("sanxian_yidan rooftop PV potential (one row per building); "
                   + (f"SYNTHETIC input - not for decisions (synthetic layers: {notes['synthetic_layers']}); "
                      if result.synthetic else "")
                   + ("no spatial index (create one in QGIS if panning is slow); " if not spatial_index else "")
                   + (f"co-benefit factors NOT CONFIRMED against the publisher: {notes['unconfirmed_factor_ids']}; "
                      if s["unconfirmed_factors"] else "")
                   + (f"exclusions not applied: {notes['exclusions_not_applied']}; "
                      if s.get("exclusions_not_applied") else "")
                   + f"factor_ids: {notes['factor_ids']} (see FACTORS); townships: {townships}"
                   + "".join(f"; {c}: {v}" for c, v in dropped.items()))
    return {
        "DESCRIPTION": description,
        "FACTORS": json.dumps(factors.to_dict(orient="records"), ensure_ascii=False),
        "UNCONFIRMED_FACTORS": notes["unconfirmed_factor_ids"],
        "EXCLUSIONS": "; ".join(exclusions),
        "TOWNSHIPS": townships,
        "SYNTHETIC": "YES" if result.synthetic else "NO",
        "SYNTHETIC_LAYERS": notes["synthetic_layers"],
    }


def declared_labels(names: Sequence[str]) -> dict[str, str]:
    """Bilingual labels of output columns, each of which must be declared in the column registry.

    Raises
    ------
    DataFileError
        A name is not declared (``data/columns/*.toml``), or the registry itself is broken (a
        column declared twice with different text).  Outputs are never written with bare names.
    """
    from ..columns import describe

    missing = [str(n) for n in names if describe(str(n)) is None]
    if missing:
        raise DataFileError(problem("输出列未在列注册表中声明。",
                                    f"Output column(s) {missing} are not declared in the column registry.",
                                    file="sanxian_yidan/data/columns/rooftop.toml",
                                    fix="declare each as [name] with zh, en, unit and description"))
    return {str(n): declared.label for n in names if (declared := describe(str(n))) is not None}


def write_outputs(result: RooftopTables, out: str | Path, *, spatial_index: bool = True,
                  factors_csv: bool = False, format: str = "gpkg") -> dict[str, Path]:
    """Write the per-building layer (``rooftops.gpkg`` or GeoParquet) and ``rooftops_by_township.csv``.

    The CSVs are UTF-8 with a byte-order mark (so Excel shows Chinese) and have bilingual headers
    from the column registry (``中文 / English [unit]``).  Existing files are replaced: callers
    (the CLI) decide whether that is allowed.  The GeoPackage is written through Arrow when
    pyarrow is installed (about twice as fast for large layers; same table and field types), with
    the SQLite cache and page size of :func:`sanxian_yidan.io.gpkg.write_settings`.

    Provenance travels with the files: the building layer keeps a ``factor_ids`` column and
    its metadata holds ``FACTORS`` (JSON: id, value, unit, year, publisher, source, confirmed
    of each co-benefit factor), ``UNCONFIRMED_FACTORS``, ``EXCLUSIONS`` (applied / not applied
    and why), ``TOWNSHIPS``, ``SYNTHETIC`` and ``SYNTHETIC_LAYERS`` (every synthetic layer that
    influenced a number: footprints, exclusion layers, townships) — GeoPackage layer metadata, or
    the GeoParquet file's key-value metadata; the township CSV repeats :data:`NOTE_COLUMNS` on every row.

    Parameters
    ----------
    result : RooftopResult
        From :func:`rooftop_potential`.
    out : str or Path
        Output folder (created if missing).
    spatial_index : bool, default True
        Build the GeoPackage R-tree spatial index.  ``False`` saves about a quarter of the write
        time of a large layer (``benchmarks/rooftop.py`` measures it);
        QGIS still opens the file but pans and zooms more slowly on it
        (it offers to create the index: Layer Properties > Source > Create Spatial Index).
        Not used for GeoParquet (row groups carry their own bounding boxes).
    factors_csv : bool, default False
        Also write ``rooftops_factors.csv`` (:func:`factor_table`, one row per factor).
        ``sanxian rooftops`` always does.
    format : {"gpkg", "geoparquet"}, default "gpkg"
        ``"gpkg"``: ``rooftops.gpkg`` (layer ``rooftops``, with QGIS styles).  ``"geoparquet"``:
        ``rooftops.parquet/part.00000.parquet`` (GeoParquet 1.1, WKB geometry, the same columns and
        provenance) — the layout of the Dask engine's output, several times faster to write than the
        GeoPackage for large layers; QGIS 3.28+ and GDAL 3.8+ open the part file, geopandas and Dask
        the folder.

    Returns
    -------
    dict
        ``{"gpkg": path, "csv": path}`` (``"parquet"``: the folder, instead of ``"gpkg"`` for GeoParquet)
        plus ``"factors": path`` when ``factors_csv``.

    Raises
    ------
    DataFileError
        A column written is not declared in the column registry (or declared twice differently).
    InputFileError
        ``format`` is not one of :data:`FORMATS`.
    """
    from ..columns import format_table
    from ..outputs import write_csv

    if format not in FORMATS:
        raise InputFileError(problem(f"不支持的输出格式 '{format}'。", f"Unknown output format '{format}'.",
                                     fix=f"use one of {', '.join(FORMATS)}"))
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    table = result.area_table().assign(**provenance_notes(result))
    # Labels first: an undeclared or clashing column fails before any file is touched.
    headers = declared_labels(table.columns)
    declared_labels([c for c in BUILDING_COLUMNS if c in result.buildings.columns])
    factors = factor_table(result) if factors_csv else None
    factor_headers = declared_labels(FACTOR_COLUMNS) if factors_csv else {}
    layer, dropped = building_layer(result.buildings)
    metadata = _layer_metadata(result, dropped, spatial_index or format == "geoparquet")
    if format == "geoparquet":
        paths = {"parquet": _write_geoparquet(layer, folder / PARQUET_NAME, metadata)}
    else:
        paths = {"gpkg": _write_gpkg(layer, folder / GPKG_NAME, metadata, spatial_index)}
    paths["csv"] = write_csv(format_table(table).rename(columns=headers), folder / CSV_NAME)
    if factors is not None:
        paths["factors"] = write_csv(format_table(factors).rename(columns=factor_headers),
                                     folder / FACTORS_CSV_NAME)
    return paths


def building_layer(buildings: gpd.GeoDataFrame) -> tuple[Any, dict[str, str]]:
    """The per-building table as written, and the per-layer strings moved to the metadata."""
    # Per-layer provenance strings (source, layer_id) are the same on every row: they go to the layer
    # metadata instead of one copy per building (they dominate the write time of large layers).
    drop = [c for c in ("source", "layer_id") if c in buildings.columns and buildings[c].nunique() <= 16]
    dropped = {c: " | ".join(map(str, buildings[c].unique())) for c in drop}
    # use_value repeats the input's own use column (kept as an attribute): not written twice.
    return buildings.drop(columns=drop + ["use_value"]), dropped


def _write_gpkg(layer: Any, gpkg: Path, metadata: dict[str, str], spatial_index: bool) -> Path:
    import pyogrio

    if gpkg.exists():
        gpkg.unlink()
    use_arrow = has_pyarrow()
    layer = for_pyogrio(layer, use_arrow)
    with write_settings():
        pyogrio.write_dataframe(layer, gpkg, layer="rooftops", driver="GPKG", layer_metadata=metadata,
                                use_arrow=use_arrow, layer_options={"SPATIAL_INDEX": "YES" if spatial_index else "NO"})
    # QGIS styles = the map's look; the class edges come from the table in memory, not read back from the file.
    __import__("sanxian_yidan.resultmaps").resultmaps.style_result_gpkg(gpkg, {"rooftops": layer})
    return gpkg


def for_pyogrio(frame: Any, use_arrow: bool) -> Any:
    """``frame`` as pyogrio writes it: categorical columns as plain strings unless written through Arrow."""
    # Without Arrow, pyogrio needs plain strings; with it, categoricals are written as TEXT fields.
    categorical = {c: str for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    return frame.astype(categorical) if categorical and not use_arrow else frame


def _write_geoparquet(layer: Any, folder: Path, metadata: dict[str, str]) -> Path:
    """GeoParquet (WKB geometry, GeoParquet ``geo`` metadata) with the provenance as key-value metadata."""
    import shutil

    import pyarrow.parquet as pq

    if folder.exists():
        shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
    folder.mkdir(parents=True)
    table = geoparquet_table(layer)
    extra = {f"sanxian:{key}".encode(): value.encode("utf-8") for key, value in metadata.items()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    pq.write_table(table, folder / PARQUET_PART)
    return folder


#: GeoParquet geometry type names of shapely type ids (GeoParquet 1.1 ``geometry_types``).
_GEOPARQUET_TYPES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
                     6: "MultiPolygon", 7: "GeometryCollection"}


def geoparquet_table(layer: Any) -> Any:
    """The layer as an Arrow table with GeoParquet 1.1 ``geo`` metadata (WKB geometry column).

    Built directly rather than through ``GeoDataFrame.to_parquet``, whose metadata step lists the
    geometry type of every feature as a string (a second pass as long as the WKB encoding itself).
    The attribute columns are handed to Arrow one by one (no consolidated copy of the frame first), and the
    geometry types, WKB and bounding box come from one set of passes over the geometries.
    """
    import numpy as np
    import pyarrow as pa
    import shapely

    name = layer.geometry.name
    geoms = np.asarray(layer.geometry.array)
    attributes = pa.Table.from_pandas(pd.DataFrame({c: layer[c] for c in layer.columns if c != name}, copy=False),
                                      preserve_index=False)
    type_ids = shapely.get_type_id(geoms)
    wkb, simple_bbox, simple = _encode_wkb(geoms, type_ids)
    table = attributes.append_column(name, wkb)
    # Bounding box of the non-empty geometries: the simple polygons' from their vertices, the others' from GEOS.
    rest = np.flatnonzero(~simple & (type_ids >= 0))
    rest = rest[~shapely.is_empty(geoms[rest])]
    boxes = [simple_bbox] if simple_bbox is not None else []
    if rest.size:
        boxes.append(shapely.total_bounds(geoms[rest]))
    bbox = ([float(min(b[0] for b in boxes)), float(min(b[1] for b in boxes)), float(max(b[2] for b in boxes)),
             float(max(b[3] for b in boxes))] if boxes else [])
    column = {"encoding": "WKB", "geometry_types": sorted(_GEOPARQUET_TYPES[int(t)] for t in np.unique(type_ids)
                                                          if int(t) in _GEOPARQUET_TYPES),
              "crs": layer.crs.to_json_dict() if layer.crs is not None else None, "bbox": bbox}
    geo = {"version": GEOPARQUET_VERSION, "primary_column": name, "columns": {name: column}}
    return table.replace_schema_metadata({**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()})


#: Rows per block of :func:`wkb_array`'s vectorised encoding (bounds its temporary arrays).  Not a planning
#: parameter: the bytes are the same for any block size.
_WKB_BLOCK = 262_144
#: Offsets of an Arrow ``binary`` array are 32-bit: beyond this many bytes the encoding is left to shapely/Arrow.
_BINARY_LIMIT = 2**31 - 1


def wkb_array(geoms: Any) -> Any:
    """Well-known binary of each geometry as an Arrow ``binary`` array, byte for byte what ``shapely.to_wkb`` writes.

    Single-ring 2-D polygons (building footprints) are encoded in numpy from their coordinates, grouped by
    vertex count, without a Python ``bytes`` object per feature; every other geometry (holes, multipart,
    empty, Z/M, missing = null) goes through ``shapely.to_wkb``.  Little-endian, as shapely writes on this
    byte order; on a big-endian machine everything goes through shapely.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries (or None)

    Returns
    -------
    pyarrow.Array
        ``binary``, one value per geometry (null for a missing one).
    """
    import numpy as np
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    return _encode_wkb(geoms, shapely.get_type_id(geoms))[0]


def _encode_wkb(geoms: Any, type_ids: Any) -> tuple[Any, Any, Any]:
    """:func:`wkb_array` given the type ids; also the bounding box of the simple polygons (None: none)
    and which rows they are."""
    import sys

    import numpy as np
    import pyarrow as pa
    import shapely

    n = len(geoms)
    simple = type_ids == 3
    candidates = np.flatnonzero(simple)
    sub = geoms if candidates.size == n else geoms[candidates]  # footprints: all polygons, no copy
    ok = (shapely.get_num_interior_rings(sub) == 0) & (shapely.get_coordinate_dimension(sub) == 2)
    counts = shapely.get_num_coordinates(sub)
    ok &= counts >= 4  # a ring has at least 4 coordinates; an empty polygon has none
    rows, counts = candidates[ok], counts[ok]
    simple[:] = False
    simple[rows] = True
    if sys.byteorder != "little" or rows.size == 0 or int((13 + 16 * counts).sum()) > _BINARY_LIMIT:
        return pa.array(shapely.to_wkb(geoms), type=pa.binary()), None, np.zeros(n, dtype=bool)
    coords = np.ascontiguousarray(shapely.get_coordinates(geoms if rows.size == n else geoms[rows]), dtype="<f8")
    bbox = (coords[:, 0].min(), coords[:, 1].min(), coords[:, 0].max(), coords[:, 1].max())
    vertices = coords.view(np.complex128).ravel()  # one 16-byte item per vertex: gathered whole
    starts = np.cumsum(counts) - counts
    chunks, order = [], []
    for k in np.unique(counts):  # a dozen vertex counts at most
        same_k = np.flatnonzero(counts == k)
        # Fixed-size record: byte order 1, type 3 (Polygon), 1 ring, k points, then k (x, y) float64 pairs.
        header = np.frombuffer(b"\x01" + np.array([3, 1, k], dtype="<u4").tobytes(), dtype=np.uint8)
        record = 13 + 16 * int(k)
        for first in range(0, len(same_k), _WKB_BLOCK):
            pos = same_k[first:first + _WKB_BLOCK]
            body = np.empty((len(pos), record), dtype=np.uint8)
            body[:, :13] = header
            if len(same_k) == len(rows):  # one vertex count: the vertices are already in order
                block = vertices[starts[pos[0]]:starts[pos[0]] + len(pos) * int(k)]
            else:
                block = vertices[(starts[pos][:, None] + np.arange(k)).ravel()]
            body[:, 13:] = block.view(np.uint8).reshape(len(pos), -1)
            offsets = np.arange(len(pos) + 1, dtype=np.int32) * np.int32(record)
            chunks.append(pa.Array.from_buffers(pa.binary(), len(pos), [None, pa.py_buffer(offsets),
                                                                         pa.py_buffer(body)]))
            order.append(rows[pos])
    if not simple.all():
        chunks.append(pa.array(shapely.to_wkb(geoms[~simple]), type=pa.binary()))
        order.append(np.flatnonzero(~simple))
    joined = pa.concat_arrays(chunks)
    at = np.concatenate(order)
    if np.array_equal(at, np.arange(n)):
        return joined, bbox, simple
    position = np.empty(n, dtype=np.int64)
    position[at] = np.arange(n)
    return joined.take(pa.array(position)), bbox, simple
