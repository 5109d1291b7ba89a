"""Files to map layers (the ``sanxian map`` command): vector files, GeoTIFFs and CSV tables.

Vector files go through :func:`sanxian_yidan.read_vector`; rasters (``.tif``) become image layers
(:func:`~sanxian_yidan.maps.raster.read_raster_layer`: few integer values = classes, else a ramp);
CSV tables are mapped from a WKT column or longitude/latitude columns, and a result table without
either is mapped from the GeoPackage of the same name next to it, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins

from ..errors import problem
from .layers import MapLayer, SingleStyle, style_for_column
from .render import make_map
from .settings import MapError, MapSettings, default_settings

if TYPE_CHECKING:
    from ..catalog import Catalog

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------
# Files → layers (the `sanxian map` command)
# ---------------------------------------------------------------------------------------------------
_MULTI_LAYER_SUFFIXES = (".gpkg", ".sqlite", ".kml", ".gdb")
#: File endings read as rasters.
RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc")
_WKT = r"^\s*(?:SRID=\d+;)?\s*(?:MULTI)?(?:POINT|LINESTRING|POLYGON)\b|^\s*GEOMETRYCOLLECTION\b"


def _canonical_names(columns: Iterable[str]) -> dict[str, str]:
    """Bilingual CSV headers written by the toolkit ("研判结论 / Verdict") → canonical column names."""
    from .. import columns as registry

    by_label = {col.label: name for name, col in registry.registry().items()}
    return {c: by_label[c] for c in columns if c in by_label}


def read_table_layer(path: str | Path) -> Any:
    """A CSV table as a GeoDataFrame in the working CRS, from a WKT column or longitude/latitude columns.

    A WKT column is any column whose values are all WKT text (``POINT (...)``, ``POLYGON (...)`` …);
    its coordinates are taken as longitude/latitude (EPSG:4326) when they all lie within ±180/±90,
    else as the working CRS (EPSG:4547), and a warning says which.  Toolkit headers such as
    "研判结论 / Verdict" are renamed to their column names, so the verdict colours apply.  Tables without
    WKT go through :func:`sanxian_yidan.read_vector` (longitude/latitude, projected x/y columns).

    Raises
    ------
    MapError
        A table without geometry (the message names the GeoPackage next to it if there is one).
    """
    import warnings

    import geopandas as gpd
    import shapely

    from ..crs import WORKING_CRS
    from ..crs.plausibility import check_coordinate_range, check_coordinates_finite
    from ..errors import SanxianError, SanxianWarning
    from ..io.tabular import read_table
    from ..io.vector import read_vector

    path = Path(path)
    frame = read_table(path)[0]  # text columns, read bounded (encoding detected, parse errors named)
    wkt = [c for c in frame.columns if len(frame) and frame[c].str.contains(_WKT, case=False, regex=True).all()]
    if wkt:
        geoms = shapely.from_wkt(frame[wkt[0]].str.replace(r"^\s*SRID=\d+;", "", regex=True).to_numpy(),
                                 on_invalid="warn")
        xy = shapely.get_coordinates(geoms)
        lonlat = len(xy) > 0 and bool((abs(xy[:, 0]) <= 180).all() and (abs(xy[:, 1]) <= 90).all())
        crs = "EPSG:4326" if lonlat else WORKING_CRS
        warnings.warn(f"{path.name}: geometry from column '{wkt[0]}' read as "
                      + ("longitude/latitude (EPSG:4326)" if lonlat else f"projected coordinates ({WORKING_CRS})"),
                      SanxianWarning, stacklevel=2)
        frame = frame.drop(columns=wkt[0]).rename(columns=_canonical_names(frame.columns))
        gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=crs)
        check_coordinates_finite(gdf, file=path)  # NaN/inf or 1e300 would draw nothing, or draw nonsense
        check_coordinate_range(gdf, file=path)
        return gdf.to_crs(WORKING_CRS)
    try:
        gdf = read_vector(path)
    except SanxianError as exc:
        sibling = path.with_suffix(".gpkg")
        if sibling.exists():
            warnings.warn(f"{path.name} has no geometry (no WKT or coordinate columns): mapped {sibling.name} "
                          f"instead / 表格无几何，改为绘制同名 GeoPackage", SanxianWarning, stacklevel=2)
            return sibling
        raise MapError(problem("表格中没有几何信息（WKT 列或经纬度列），无法绘制。",
                               f"'{path.name}' has no geometry: no WKT column and no longitude/latitude columns.",
                               file=str(path), fix="add a 'wkt' column or 经度/纬度 (lon/lat) columns, or map the "
                                                   "GeoPackage the table was written with")) from exc
    return gdf.rename(columns=_canonical_names(gdf.columns))


def read_map_layers(paths: Iterable[str | Path], *, column: str | None = None, palette: str | None = None,
                    settings: MapSettings | None = None) -> list[Any]:
    """Read files into map layers, styled by ``column`` where they have it.

    Vector files go through :func:`sanxian_yidan.read_vector` and :func:`sanxian_yidan.normalize.normalise`
    (each spatial layer of a GeoPackage becomes one map layer; ``gdf.attrs["sanxian_layer"]`` holds
    its layer name inside the GeoPackage); rasters become :class:`~sanxian_yidan.maps.RasterLayer`; CSV tables are read by
    :func:`read_table_layer`.

    Parameters
    ----------
    paths : iterable of str or Path
        Vector files (any format :func:`~sanxian_yidan.read_vector` reads).
    column : str, optional
        Style column; layers without it are drawn in one colour.
    palette : str, optional
        Palette of ``maps.toml`` for ``column``.
    settings : MapSettings, optional
        Default: the packaged ``maps.toml``.

    Raises
    ------
    MapError
        If ``column`` is in none of the layers (the message lists the columns of each).
    """
    import pyogrio

    from ..crs import WORKING_CRS
    from ..io.safety import check_input_file
    from ..io.vector import read_vector
    from ..normalize import normalise
    from .raster import read_raster_layer

    s = settings or default_settings()
    layers: list[Any] = []
    columns_seen: dict[str, list[str]] = {}
    for raw_path in paths:
        # A folder, named pipe (GDAL would block on it), device or empty file is refused before any reader opens it.
        path = check_input_file(raw_path, what="file to map", dir_suffixes=(".gdb",))
        if path.suffix.lower() in RASTER_SUFFIXES:
            layers.append(read_raster_layer(path))
            continue
        table = None
        if path.suffix.lower() in (".csv", ".txt") and path.is_file():
            table = read_table_layer(path)
            if isinstance(table, Path):
                path, table = table, None
        names: list[str | None] = [None]
        if path.suffix.lower() in _MULTI_LAYER_SUFFIXES and path.exists():
            listed = pyogrio.list_layers(path)
            names = [str(n) for n, geom in listed if geom is not None] or [None]
        for name in names:
            gdf = table if table is not None else normalise(read_vector(path, layer=name), WORKING_CRS,
                                                            file=str(path), layer=name)
            if name is not None:  # the layer name inside a GeoPackage (result files are known by it)
                gdf.attrs = {**gdf.attrs, "sanxian_layer": name}
            label = path.stem if name is None or len(names) == 1 else f"{path.stem}: {name}"
            columns_seen[label] = [c for c in gdf.columns if c != gdf.geometry.name]
            style = style_for_column(gdf, column, palette=palette, settings=s) \
                if column is not None and column in gdf.columns else SingleStyle()
            layers.append(MapLayer(gdf, label, label, style=style, show=True))  # asked for: switched on
    if column is not None and columns_seen and not any(column in cols for cols in columns_seen.values()):
        raise MapError(problem(f"所有图层都没有列 '{column}'。", f"No layer has the column '{column}'.",
                               fix="choose one of the columns: " + "; ".join(
                                   f"{k}: {v}" for k, v in columns_seen.items())))
    return layers


def map_files(paths: Iterable[str | Path], *, column: str | None = None, palette: str | None = None,
              basemap: str = "none", offline: bool = True, catalog: Catalog | str | Path | None = None,
              title: str | None = None, tianditu_key: str | None = None, settings: MapSettings | None = None,
              decorate: Callable[[list[Any], str | None], list[Any]] | None = None) -> folium.Map:
    """Map files (the ``sanxian map`` command): :func:`read_map_layers` then :func:`make_map`.

    ``title`` may be ``"中文 / English"`` (default: the layer names); ``catalog=None`` draws no basemap.
    ``decorate(layers, column)`` may restyle and rename the layers read (``sanxian map`` passes
    :func:`sanxian_yidan.resultmaps.decorate_file_layers`, which knows the toolkit's result layers).
    """
    layers = read_map_layers(paths, column=column, palette=palette, settings=settings)
    if decorate is not None:
        layers = decorate(layers, column)
    if title:
        zh, _, en = title.partition(" / ")
        title_zh, title_en = zh.strip(), (en or zh).strip()
    else:
        title_zh = "地图：" + "、".join(layer.name_zh for layer in layers)
        title_en = "Map: " + ", ".join(layer.name_en for layer in layers)
    return make_map(layers, basemap=basemap, offline=offline, title_zh=title_zh, title_en=title_en,
                    catalog=catalog, boundaries=catalog is not None, tianditu_key=tianditu_key, settings=settings)


