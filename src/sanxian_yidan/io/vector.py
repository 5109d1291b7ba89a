"""``read_vector``: one entry point for every vector format a planner may hand over.

The reader decides the format from the file, the text encoding from the bytes,
and the coordinate reference system from the file, the caller or (only when
unambiguous) the coordinates themselves.  It returns the data in its source
CRS; reprojection to the working CRS and geometry repair happen once, in
:mod:`sanxian_yidan.normalize`.
"""

from __future__ import annotations

import codecs
import importlib.util
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from .. import crs as crsmod
from .. import vertices
from ..crs import plausibility
from ..errors import (
    CRSError,
    EmptyLayerError,
    InputFileError,
    SanxianError,
    SanxianWarning,
    problem,
)
from ..gcpause import collector_paused
from ..normalize import PolygonRings, polygon_rings
from . import safety
from .encoding import detect_shapefile_encoding, detect_zip_shapefile_encoding, zipped_shapefile_members
from .tabular import neither_txt_nor_table, table_to_points
from .text_checks import corrupted_text_warnings

#: Pseudo-CRS names for coordinates copied from Chinese web maps (not EPSG codes).
WEB_MAP_CRS = {"GCJ02": "gcj02", "GCJ-02": "gcj02", "AMAP": "gcj02", "GAODE": "gcj02",
               "TENCENT": "gcj02", "BD09": "bd09", "BD-09": "bd09", "BAIDU": "bd09"}
_TABLE_SUFFIXES = {".csv", ".xlsx", ".xlsm", ".xls"}
#: Suffixes of formats that are never sniffed for land-boundary TXT content.
_NOT_BOUNDARY_TXT = _TABLE_SUFFIXES | {".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml", ".kmz", ".gml",
                                       ".dxf", ".zip", ".gdb", ".sqlite", ".parquet", ".geoparquet", ".pq"}
#: GeoParquet files, read with pyarrow (the GDAL in pyogrio's wheels may lack a working Parquet driver).
_PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
#: How many vertices are enough to judge the CRS of a layer (speed on big layers).
_SAMPLE_VERTICES = 2000
#: Formats whose text is UTF-8 by specification: safe to read through Arrow, which cannot recode.
#: (Shapefiles qualify only when their detected or given encoding is UTF-8.)
_UTF8_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb"}


@lru_cache(maxsize=1)
def has_pyarrow() -> bool:
    """True when pyarrow is importable (pyogrio can then read and write through Arrow).

    The one place the package asks this; :func:`read_vector` and writers such as
    :func:`sanxian_yidan.rooftop.write_outputs` use it.
    """
    return importlib.util.find_spec("pyarrow") is not None


def read_vector(path: str | Path, *, layer: str | None = None, crs: Any = None,
                encoding: str | None = None, use_arrow: bool | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame that always has a CRS.

    Parameters
    ----------
    path : str or Path
        Shapefile, GeoPackage, GeoJSON, CSV/XLSX with coordinate columns
        (``lon``/``lat``, ``经度``/``纬度``, ``X``/``Y``), a parcel coordinate
        table (坐标表: 点号/圈号/X/Y, see :mod:`.coord_table`), a CSV with a
        ``wkt`` column (as ``sanxian convert`` writes), a land-boundary
        coordinate exchange TXT (``[地块坐标]``), a CAD drawing (DXF, see
        :mod:`.dxf`; DWG is refused with the fix) or KML/KMZ (see :mod:`.kml`).
    layer : str, optional
        Layer of a multi-layer file (GeoPackage), layer of a DXF drawing
        (e.g. ``"红线"``), folder of a KML, or sheet of a workbook.
    crs : str, int or pyproj.CRS, optional
        CRS of the data when the file does not say, or to override a wrong
        one.  ``"GCJ-02"`` (Amap, Tencent) and ``"BD-09"`` (Baidu) mark
        web-map coordinates, which are converted to WGS84.
    encoding : str, optional
        Text encoding of the attributes; detected (UTF-8 vs GBK/GB18030) when
        omitted.
    use_arrow : bool, optional
        Read through Apache Arrow (pyogrio ``use_arrow=True``; about half the
        read time of a large layer, same table).  ``None`` (default): use it
        when pyarrow is importable and the text is UTF-8 — GeoPackage,
        GeoJSON, FlatGeobuf, or a Shapefile whose detected (or given)
        encoding is UTF-8 — and fall back silently to the classic reader if
        pyogrio refuses.  GBK/GB18030 Shapefiles are never read through Arrow
        in this mode.  ``True``: always through Arrow (an error if that
        fails); ``False``: never.  Either way the frame has the same columns
        and dtypes as the classic reader's (see :func:`_like_classic`).

    Returns
    -------
    geopandas.GeoDataFrame
        Data in the source CRS (WGS84 for web-map input).  ``gdf.attrs["sanxian"]``
        records the path, layer, encoding used and why, CRS and why, whether
        Arrow was used (``arrow``), and warnings.

    Raises
    ------
    MissingFileError, EmptyLayerError, EncodingDetectionError, CRSError, InputFileError
        With a message naming the file, the problem and the fix.
    """
    # A folder, FIFO, device (/dev/zero behind a symlink) or 0-byte file is refused before it is opened.
    path = safety.check_input_file(path, what="input layer", dir_suffixes=(".gdb",),
                                   fix="check the path and the working directory")
    if encoding is not None:
        _gdal_codec(encoding)  # an unknown codec name is the user's to fix, before any reader sees it
    info: dict[str, Any] = {"source_path": str(path), "layer": layer, "warnings": []}
    gdf = _read_any(path, layer, encoding, info, use_arrow)
    if len(gdf) == 0:
        raise EmptyLayerError(problem("图层没有要素。", "The layer has no features.", file=path, layer=layer,
                                      fix="check that the right file and layer were exported"))
    # One pass over the vertices serves the finiteness and range checks and the CRS sample; the checks'
    # own (slower, message-building) passes run only where this one finds something to report.
    geoms = np.asarray(gdf.geometry.values)
    rings = vertices.take(geoms) or _polygon_rings(geoms)
    coords = rings.coords if rings is not None and rings.simple.all() else shapely.get_coordinates(geoms)
    if gdf.crs is None or not _finite(coords):  # without a CRS the check also looks for degree typos
        plausibility.check_coordinates_finite(gdf, file=path, layer=layer)
    gdf = _resolve_crs(gdf, crs, path, layer, info, coords)
    if info.get("format") in ("kml", "kmz") and crs is None:
        info["crs_reason"] = "WGS84 by the KML standard (OGC KML 2.2)"
        info["warnings"].append(
            "KML coordinates taken as WGS84 (the KML standard); apps drawing on Amap/Tencent base maps (e.g. "
            "奥维互动地图 on a GCJ-02 map) may export GCJ-02 instead, about 600 m off around Suizhou, and the numbers "
            "cannot tell: if so, state --crs GCJ-02 (crs='GCJ-02') / KML 坐标按 WGS84 处理；若导出的是火星坐标"
            "（GCJ-02），请指定 --crs GCJ-02")
    info["warnings"].extend(corrupted_text_warnings(gdf))
    # The vertices checked above are still the layer's unless the CRS step swapped or converted them.
    unchanged = info.get("swapped_xy") is False and "web_map_system" not in info
    if not (unchanged and _in_range(coords, gdf.crs)):
        plausibility.check_coordinate_range(gdf, file=path, layer=layer, web_map=info.get("web_map_system"))
    if rings is not None and unchanged:  # the analysis that normalises this layer takes them back
        vertices.remember(gdf.geometry.values, geoms, rings)
    for message in info["warnings"]:
        warnings.warn(f"{path}: {message}", SanxianWarning, stacklevel=2)
    gdf.attrs["sanxian"] = info
    return gdf


def _polygon_rings(geoms: np.ndarray) -> PolygonRings | None:
    """The vertices of a polygon layer (:func:`~sanxian_yidan.normalize.polygon_rings`), ``None`` for other layers."""
    type_ids = shapely.get_type_id(geoms)
    return polygon_rings(geoms, type_ids) if (type_ids == 3).all() else None


def _finite(coords: np.ndarray) -> bool:
    """Whether every coordinate is a finite number (two reductions: NaN propagates, infinity stays infinite)."""
    return not coords.size or bool(np.isfinite(coords.min()) and np.isfinite(coords.max()))


def _in_range(coords: np.ndarray, crs: CRS | None) -> bool:
    """Whether :func:`~sanxian_yidan.crs.plausibility.check_coordinate_range` would find nothing to report.

    Projected metres within ``max_projected_abs``; degrees also within the longitude and latitude ranges
    (``data/input_limits.toml``).  Finite coordinates are assumed (checked before).
    """
    if crs is None or not coords.size:
        return True
    lim = safety.limits()
    if coords.min() < -lim.coordinates.max_projected_abs or coords.max() > lim.coordinates.max_projected_abs:
        return False
    if not crs.is_geographic:
        return True
    (lon_lo, lon_hi), (lat_lo, lat_hi) = lim.lon_range, lim.lat_range
    lon, lat = coords[:, 0], coords[:, 1]
    return bool(lon.min() >= lon_lo and lon.max() <= lon_hi and lat.min() >= lat_lo and lat.max() <= lat_hi)


def _read_any(path: Path, layer: str | None, encoding: str | None, info: dict[str, Any],
              use_arrow: bool | None = None) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    from .boundary_txt import looks_like_boundary_txt, read_boundary_txt

    if suffix not in _NOT_BOUNDARY_TXT and looks_like_boundary_txt(path):
        # Recognised by content, whatever the suffix (.txt, none, .dat ...) except those of other formats.
        # Its notes: encoding, header (kept for writing the file again) and repairs.
        return _adopt(read_boundary_txt(path, encoding=encoding, emit_warnings=False), info,
                      encoding_reason="land-boundary TXT", format="land-boundary TXT")
    if suffix in _PARQUET_SUFFIXES:
        return _read_geoparquet(path, info)
    if suffix in (".dxf", ".dwg"):
        return _read_module(path, layer, info, "dxf", encoding)
    if suffix in (".kml", ".kmz"):
        return _read_module(path, layer, info, "kml")
    if suffix == ".csv":
        from .wkt_table import has_wkt_column, read_wkt_table
        if has_wkt_column(path, encoding):
            gdf, meta = read_wkt_table(path, encoding=encoding)
            info.update(encoding=meta["encoding"], encoding_reason="given" if encoding else "detected",
                        format="CSV with WKT geometry")
            if meta["crs_column"]:
                info["crs_declared_by"] = "the file's crs column"
            return gdf
    if suffix in _TABLE_SUFFIXES:
        from .coord_table import detect_coordinate_table, read_coordinate_table
        if detect_coordinate_table(path, layer=layer, encoding=encoding) is not None:
            return _adopt(read_coordinate_table(path, layer=layer, encoding=encoding), info,
                          encoding_reason="given" if encoding else "detected")
    if suffix in _TABLE_SUFFIXES or suffix == ".txt":
        try:
            gdf, used = table_to_points(path, layer=layer, encoding=encoding)
        except SanxianError:
            raise
        except Exception as exc:  # pandas parser errors and the like: not the user's fault to debug
            raise neither_txt_nor_table(path, exc) from exc
        info.update(encoding=used, encoding_reason="given" if encoding else "detected", format="table")
        return gdf
    return _read_ogr(path, layer, encoding, info, use_arrow)


def _read_geoparquet(path: Path, info: dict[str, Any]) -> gpd.GeoDataFrame:
    """A GeoParquet file (as ``sanxian rooftops --format geoparquet`` writes) read through pyarrow."""
    try:
        with collector_paused():  # a geometry object per row: see sanxian_yidan.gcpause
            gdf = gpd.read_parquet(path)
    except Exception as exc:  # pyarrow / geopandas raise several types for damaged or non-geo files
        raise InputFileError(problem("无法读取 GeoParquet 文件（文件损坏或缺少几何列元数据）。",
                                     f"Cannot read the file as GeoParquet: {exc}", file=path,
                                     fix="check the file is complete and was written as GeoParquet "
                                         "(geopandas to_parquet, GDAL ogr2ogr -f Parquet)")) from exc
    info.update(format="GeoParquet", arrow=True, encoding="utf-8", encoding_reason="format")
    return gdf


def _read_module(path: Path, layer: str | None, info: dict[str, Any], kind: str,
                 encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a CAD drawing (DXF) or a KML/KMZ with its own reader; keep its notes."""
    if kind == "dxf":
        from .dxf import read_dxf
        gdf = read_dxf(path, layer=layer, encoding=encoding)
    else:
        from .kml import read_kml
        gdf = read_kml(path, layer=layer)
    return _adopt(gdf, info, encoding_reason="format" if kind == "kml" else "DXF version / $DWGCODEPAGE")


def _adopt(gdf: gpd.GeoDataFrame, info: dict[str, Any], **extra: Any) -> gpd.GeoDataFrame:
    """Take over a format reader's notes (``attrs["sanxian"]``): its warnings are added, its layer is not kept."""
    meta = gdf.attrs.get("sanxian", {})
    info.update({k: v for k, v in meta.items() if k not in ("warnings", "layer")}, **extra)
    info["warnings"].extend(meta.get("warnings", []))
    return gdf


def _gdal_codec(encoding: str) -> str:
    """Spell a Python codec name the way GDAL's iconv accepts it ('latin-1' is not understood)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise InputFileError(problem(f"未知的文字编码 '{encoding}'。", f"Unknown text encoding '{encoding}'.",
                                     fix="use a Python codec name such as 'gb18030', 'utf-8', 'big5'")) from exc
    return "utf-8" if name == "utf-8-sig" else name


def _read_ogr(path: Path, layer: str | None, encoding: str | None, info: dict[str, Any],
              use_arrow: bool | None = None) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    if suffix in (".zip", ".kmz"):
        safety.check_zip(path)  # before GDAL unpacks anything: refuse a zip bomb
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several DataSourceError subclasses
        raise InputFileError(problem("无法打开该文件（格式无法识别或文件损坏）。",
                                     f"Cannot open the file as vector data: {exc}", file=path,
                                     fix="check the file is complete; supported: .shp (with .shx/.dbf), "
                                         ".gpkg, .geojson, .kml, .csv/.xlsx, land-boundary .txt")) from exc
    names = [str(n) for n in layers[:, 0] if str(n) != "layer_styles"] if len(layers) else []  # QGIS styles, not data
    if not names:
        raise EmptyLayerError(problem("文件中没有图层。", "The file contains no layers.", file=path,
                                      fix="re-export the data"))
    if layer is None and len(names) > 1:
        raise InputFileError(problem("文件含有多个图层，请指定一个。",
                                     f"The file has {len(names)} layers: {names}.", file=path,
                                     fix="pass layer='<name>' (or set `layer` in the catalog entry)"))
    if layer is not None and layer not in names:
        raise InputFileError(problem(f"找不到图层 '{layer}'。", f"Layer '{layer}' not found; layers: {names}.",
                                     file=path, fix=f"use one of {names}"))
    expected = safety.check_shapefile(path) if suffix == ".shp" else None
    shapefile = suffix == ".shp" or (suffix == ".zip" and bool(zipped_shapefile_members(path)))
    info["encoding_reason"] = "given" if encoding is not None else "format is UTF-8 by specification"
    if shapefile and encoding is None:
        guess = detect_shapefile_encoding(path) if suffix == ".shp" else detect_zip_shapefile_encoding(path, layer)
        assert guess is not None  # a zipped shapefile: the archive holds one
        encoding, info["encoding_reason"] = guess.encoding, guess.reason
        if guess.warning:
            info["warnings"].append(guess.warning)
    # A shapefile's codec is spelled the way GDAL's iconv accepts it.
    kwargs: dict[str, Any] = {} if encoding is None else {"encoding": _gdal_codec(encoding) if shapefile else encoding}
    if shapefile and suffix == ".zip":  # the zip's own .dbf record count guards against a short read
        expected = safety.zipped_dbf_rows(path, layer)
    info["encoding"] = encoding or "utf-8"
    info["format"] = suffix.lstrip(".")
    info["arrow"] = _arrow_wanted(use_arrow, path, info["encoding"])
    gdf = _read_ogr_frame(path, layer, kwargs, info, use_arrow)
    safety.check_row_count(len(gdf), expected, file=path, layer=layer)
    return gdf


def _read_ogr_frame(path: Path, layer: str | None, kwargs: dict[str, Any], info: dict[str, Any],
                    use_arrow: bool | None) -> gpd.GeoDataFrame:
    with collector_paused():  # a geometry object per feature: see sanxian_yidan.gcpause
        return _read_ogr_frame_now(path, layer, kwargs, info, use_arrow)


def _read_ogr_frame_now(path: Path, layer: str | None, kwargs: dict[str, Any], info: dict[str, Any],
                        use_arrow: bool | None) -> gpd.GeoDataFrame:
    try:
        if info["arrow"]:
            try:
                return _like_classic(_read_arrow_frame(path, layer, kwargs))
            except Exception:
                if use_arrow:  # Arrow was required
                    raise
                # pyogrio refused (e.g. text that is not UTF-8 after all): the classic reader recodes.
                info["arrow"] = False
        return pyogrio.read_dataframe(path, layer=layer, use_arrow=False, **kwargs)
    except Exception as exc:
        raise InputFileError(problem("读取图层失败。", f"Reading failed: {exc}", file=path, layer=layer,
                                     fix="open the file in QGIS to check it; re-export if it is damaged")) from exc


#: OGR field types and subtypes whose Arrow columns pandas converts as they are (no parsing afterwards).
_PLAIN_FIELD_TYPES = {"OFTInteger", "OFTInteger64", "OFTReal", "OFTString"}
_PLAIN_FIELD_SUBTYPES = {"OFSTNone", "OFSTBoolean", "OFSTInt16", "OFSTFloat32"}


def _read_arrow_frame(path: Path, layer: str | None, kwargs: dict[str, Any]) -> gpd.GeoDataFrame:
    """pyogrio's Arrow read, the footprints' geometries decoded by :func:`.wkb.decode` (their vertices kept).

    The frame is the one ``pyogrio.read_dataframe(use_arrow=True)`` returns (same columns, dtypes and
    geometries); a layer with date, time or JSON fields, which pyogrio parses after the read, or without a
    geometry column is read by pyogrio itself (the file is opened a second time).
    """
    from pyogrio.raw import open_arrow

    from . import wkb

    with open_arrow(path, layer=layer, use_pyarrow=True, **kwargs) as (meta, reader):
        name = meta["geometry_name"] or "wkb_geometry"
        # A pyogrio too old to describe the field types reads the layer itself.
        plain = (set(meta.get("ogr_types", ["?"])) <= _PLAIN_FIELD_TYPES
                 and set(meta.get("ogr_subtypes", ["?"])) <= _PLAIN_FIELD_SUBTYPES and name in reader.schema.names)
        table = reader.read_all() if plain else None
    if table is None:
        return pyogrio.read_dataframe(path, layer=layer, use_arrow=True,
                                      arrow_to_pandas_kwargs={"date_as_object": False}, **kwargs)
    geometry = table.column(name)
    attributes = table.drop_columns([name])
    del table  # converted without a copy kept (self_destruct), as pyogrio does
    try:
        frame = attributes.to_pandas(self_destruct=True, date_as_object=False, **_string_mapping())
    except UnicodeDecodeError as exc:  # pyogrio's own message, which the callers' fallback relies on
        raise pyogrio.errors.DataSourceError(
            "The file being read is not encoded in UTF-8; please use_arrow=False") from exc
    del attributes
    geoms, rings = wkb.decode(geometry)
    del geometry
    frame["geometry"] = geoms
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=meta["crs"])
    if rings is not None:  # read_vector checks these vertices, then leaves them for the analysis
        vertices.remember(gdf.geometry.values, geoms, rings)
    return gdf


def _string_mapping() -> dict[str, Any]:
    """pyogrio's text conversion for pandas 3 with a pyarrow older than 19 (newer ones do it themselves)."""
    import pyarrow as pa

    if int(pd.__version__.split(".")[0]) < 3 or int(pa.__version__.split(".")[0]) >= 19:
        return {}
    text = pd.StringDtype(na_value=np.nan)
    return {"types_mapper": {pa.string(): text, pa.large_string(): text}.get}


def _arrow_wanted(use_arrow: bool | None, path: Path, encoding: str) -> bool:
    """Whether to read through Arrow (see ``use_arrow`` of :func:`read_vector`)."""
    if use_arrow is not None:
        return bool(use_arrow)
    # A known codec by now: a given one was checked by read_vector, a shapefile's by _read_ogr before this.
    return has_pyarrow() and _gdal_codec(encoding) == "utf-8" and path.suffix.lower() in _UTF8_SUFFIXES | {".shp"}


def _like_classic(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give an Arrow read the dtypes the classic reader gives, where the two differ.

    Only columns with missing values differ (found by comparing both readers on GeoPackage,
    GeoJSON, FlatGeobuf and Shapefile): an all-null text field is ``object`` of ``None``
    classically but a NaN string column through Arrow; a boolean field with nulls is
    ``float64`` (1.0/0.0/NaN) classically but ``object`` (True/False/None) through Arrow.
    The checks are vectorised per column (a handful of columns, no per-row Python).
    """
    for col in gdf.columns.drop(gdf.geometry.name):
        series = gdf[col]
        if isinstance(series.dtype, pd.StringDtype):
            if len(series) and series.isna().all():
                gdf[col] = pd.Series(np.full(len(series), None, dtype=object), index=series.index, dtype=object)
        elif series.dtype == object and series.isna().any() \
                and pd.api.types.infer_dtype(series, skipna=True) in ("boolean", "empty"):
            gdf[col] = series.astype("float64")
    return gdf


def _resolve_crs(gdf: gpd.GeoDataFrame, stated: Any, path: Path, layer: str | None,
                 info: dict[str, Any], coords: np.ndarray | None = None) -> gpd.GeoDataFrame:
    source = gdf.crs
    info["source_crs"] = source.to_string() if source is not None else None
    if stated is not None and str(stated).strip().upper() in WEB_MAP_CRS:
        return _from_web_map(gdf, WEB_MAP_CRS[str(stated).strip().upper()], path, layer, info)
    if stated is not None:
        stated_crs = _parse_crs(stated, path)
        if source is not None and not source.equals(stated_crs):
            info["warnings"].append(f"file declares {source.to_string()} but {stated_crs.to_string()} was stated; "
                                    "using the stated CRS / 文件自带坐标系与指定的不同，已按指定坐标系处理")
        gdf = gdf.set_crs(stated_crs, allow_override=True)
        info["crs_reason"] = "stated by the caller or the catalog"
    elif source is None:
        gdf = _infer(gdf, path, layer, info, coords)
    else:
        info["crs_reason"] = f"declared in {info.get('crs_declared_by', 'the file')}"
    gdf = _fix_swapped(gdf, info, coords)
    legacy = crsmod.legacy_datum_warning(gdf.crs)
    if legacy:
        info["warnings"].append(legacy)
    info["crs"] = gdf.crs.to_string()
    return gdf


def _parse_crs(value: Any, path: Path) -> CRS:
    try:
        return CRS.from_user_input(value)
    except PyprojCRSError as exc:
        raise CRSError(problem(f"无法识别坐标系 {value!r}。", f"Unknown CRS {value!r}: {exc}", file=path,
                               fix="use an EPSG code such as 'EPSG:4547' (CGCS2000 GK CM 114E), 'EPSG:4490', "
                                   "'EPSG:4326', or 'GCJ-02' / 'BD-09' for web-map coordinates")) from exc


def _sample_xy(gdf: gpd.GeoDataFrame, coords: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every step-th vertex of the layer (at most about ``_SAMPLE_VERTICES``), in vertex order.

    ``coords``: the layer's vertices (``shapely.get_coordinates``, missing geometries hold none), when
    :func:`read_vector` has them already; extracted here otherwise.
    """
    coords = shapely.get_coordinates(np.asarray(gdf.geometry.values)) if coords is None else coords
    step = len(coords) // _SAMPLE_VERTICES if len(coords) > _SAMPLE_VERTICES else 1
    return coords[::step, 0], coords[::step, 1]


def _infer(gdf: gpd.GeoDataFrame, path: Path, layer: str | None, info: dict[str, Any],
           coords: np.ndarray | None = None) -> gpd.GeoDataFrame:
    x, y = _sample_xy(gdf, coords)
    if x.size == 0:
        raise EmptyLayerError(problem("图层没有坐标。", "The layer has no coordinates (all geometries empty).",
                                      file=path, layer=layer, fix="re-export the data with geometries"))
    try:
        guess = crsmod.infer_crs(x, y)
    except CRSError as exc:
        raise CRSError(problem("文件没有坐标系信息，且无法从坐标判断。",
                               f"The file has no CRS and the coordinates do not identify one. {exc}",
                               file=path, layer=layer,
                               fix="state the CRS: crs='EPSG:....' in Python, --crs EPSG:.... on the command line, "
                                   "or `crs` in the catalog entry; for a shapefile add the .prj exported by your "
                                   "GIS")) from exc
    if guess.ambiguous:
        raise CRSError(problem(
            "文件没有坐标系信息，且坐标可以有多种解释，分别落在不同地方；不能靠猜测定位数据。",
            f"The file has no CRS and the coordinates fit {len(guess.candidates)} CRSs that put the data in "
            "different places (Gauss-Kruger coordinates without the zone prefix in the easting are valid in "
            f"every zone), so the toolkit refuses to guess:\n{crsmod.describe_candidates(guess)}",
            file=path, layer=layer,
            fix=f"state the CRS the data was surveyed in: --crs EPSG:.... on the command line, crs='EPSG:....' in "
                f"Python, or `crs` in the catalog entry — for data in Suizhou --crs {guess.crs.to_string()} "
                f"({crsmod.home_zone_hint()}); for data elsewhere the code of its place in the list above; or "
                "export the file with its .prj"))
    if not guess.certain:
        raise CRSError(problem("文件没有坐标系信息，坐标判断不唯一。",
                               f"The file has no CRS; a guess would be {guess.crs.to_string()} "
                               f"({guess.reason}) but that is not certain enough to use silently.",
                               file=path, layer=layer,
                               fix=f"if that is right, state it: crs='{guess.crs.to_string()}' in Python, "
                                   f"--crs {guess.crs.to_string()} on the command line"))
    info["crs_reason"] = f"inferred from the coordinates: {guess.reason}"
    info["warnings"].append(f"no CRS in the file; inferred {guess.crs.to_string()} from the coordinates "
                            f"({guess.reason}) / 文件无坐标系，已根据坐标推断")
    gdf = gdf.set_crs(guess.crs)
    if guess.swapped:
        gdf = _swap(gdf)
        info["warnings"].append("X and Y were swapped in the file (northing first); swapped back / 坐标 X、Y 颠倒，已纠正")
        info["swapped_xy"] = True
    return gdf


def _fix_swapped(gdf: gpd.GeoDataFrame, info: dict[str, Any], coords: np.ndarray | None = None) -> gpd.GeoDataFrame:
    if info.get("swapped_xy"):
        return gdf
    x, y = _sample_xy(gdf, coords)
    info["swapped_xy"] = bool(x.size) and crsmod.detect_swapped_xy(x, y, gdf.crs)
    if not info["swapped_xy"]:
        return gdf
    info["warnings"].append("X and Y are swapped for the declared CRS (they only land in Suizhou the other "
                            "way round); swapped back / 坐标 X、Y 颠倒，已纠正")
    return _swap(gdf)


def _swap(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.geometry = shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1])
    return out


def _from_web_map(gdf: gpd.GeoDataFrame, system: str, path: Path, layer: str | None,
                  info: dict[str, Any]) -> gpd.GeoDataFrame:
    source = gdf.crs
    if source is not None and not source.is_geographic:
        raise CRSError(problem("GCJ-02/BD-09 只适用于经纬度坐标。",
                               f"{system.upper()} applies to longitude/latitude, but the file is in "
                               f"{source.to_string()}.", file=path, layer=layer,
                               fix="omit crs= or state the file's projected CRS"))
    to_wgs = crsmod.gcj02_to_wgs84 if system == "gcj02" else crsmod.bd09_to_wgs84
    out = gdf.set_crs("EPSG:4326", allow_override=True)
    out.geometry = shapely.transform(gdf.geometry.values, lambda c: np.column_stack(to_wgs(c[:, 0], c[:, 1])))
    info["crs_reason"] = f"{system.upper()} web-map coordinates converted to WGS84"
    info["web_map_system"] = system
    info["crs"] = out.crs.to_string()
    return out
