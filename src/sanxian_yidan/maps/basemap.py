"""The offline basemap: ground to stand on without any tile server, built from the catalog.

Drawn beneath the analysis layers: a hillshade of the catalog DEM (computed by
:func:`sanxian_yidan.terrain.hillshade`, embedded as a PNG), built-up areas, reservoirs, rivers, roads,
railways, the township and county boundaries, and the township and county names in Chinese.  Which
roles belong to it and how each is drawn is said by the style registry (``basemap = true`` in
``data/styles.toml``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

from ..placenames import display_names, has_chinese
from .layers import MapLayer
from .raster import RasterLayer
from .settings import MapSettings
from .styles import styles

if TYPE_CHECKING:
    from ..catalog import Catalog

logger = logging.getLogger(__name__)

#: Roles drawn as outlines above the analysis fills (the rest of the basemap lies beneath them).
BOUNDARY_ROLES = ("admin_boundary", "township")


@dataclass
class Labels:
    """Place names written on the map (not interactive)."""

    name: str
    lonlat: np.ndarray        # (n, 2) in the display CRS
    texts: list[str]
    css_class: str            # sx-label-county | sx-label-township
    min_zoom: float
    missing: int = 0          # features without a Chinese name (not labelled)


def _chinese(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Chinese name per feature: ``name_zh``, else ``name`` when it is written in Chinese, else ''."""
    out = np.full(len(gdf), "", dtype=object)
    for column in ("name", "name_zh"):
        if column in gdf.columns:
            values = gdf[column].fillna("").astype(str).str.strip()
            out = np.where(has_chinese(values), values.to_numpy(dtype=object), out)
    return out


def hillshade_layer(cat: Catalog, s: MapSettings) -> RasterLayer | None:
    """Hillshade of the catalog DEM, decimated to about ``[raster].max_size_px`` before shading, inside
    the catalog's administrative boundaries only.

    Returns ``None`` when the catalog has no ``dem``.

    References
    ----------
    .. [1] GDAL ``gdaldem hillshade`` (Horn 1981 gradient), as :func:`sanxian_yidan.terrain.hillshade`.
    """
    if not cat.has("dem"):
        return None
    from affine import Affine

    from ..terrain import hillshade, read_dem

    entry = cat.entries_for("dem")[0]
    dem = read_dem(cat.raster_path("dem"), synthetic=bool(entry.synthetic))
    step = max(int(np.ceil(max(dem.elevation.shape) / s.raster_max_size_px)), 1)
    z = dem.elevation[::step, ::step]
    t = dem.transform
    transform = Affine(t.a * step, t.b, t.c, t.d, t.e * step, t.f)
    shade = hillshade(z, res=(abs(transform.a), abs(transform.e)))
    if cat.has("admin_boundary"):  # shade only the land the catalog covers (the DEM is a rectangle)
        import warnings

        from rasterio.features import geometry_mask

        area = cat.read("admin_boundary").to_crs(dem.crs).geometry
        with warnings.catch_warnings():  # rasterio 1.4 warns about affine's '*' on every call
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            outside = geometry_mask(list(area.values), out_shape=shade.shape, transform=transform)
        shade = np.where(outside, np.nan, shade)
    style = styles().layer("hillshade")
    return RasterLayer(shade, transform, dem.crs, style.zh, style.en, mode="grey", look="hillshade",
                       synthetic=bool(entry.synthetic))


def basemap_layers(cat: Catalog, s: MapSettings) -> list[MapLayer]:
    """Vector layers of the offline basemap present in the catalog, in drawing order, styled by the registry.

    For a region view (``Catalog.restricted_to``) the layers are clipped to the region, like the hillshade.
    """
    reg = styles()
    out = []
    for role, style in reg.layers.items():
        if not style.basemap or style.kind == "raster" or not cat.has(role):
            continue
        gdf = cat.read(role)
        region = getattr(cat, "region", None)
        if region is not None and len(gdf):  # a county study: the ground of that county only (display only)
            area = gpd.GeoSeries([region], crs=cat.working_crs).to_crs(gdf.crs).iloc[0]
            gdf = gdf.clip(area)
        synthetic = any(e.synthetic for e in cat.entries_for(role))
        popup = [c for c in ("name", "name_zh", "name_en", "code", "county", "category", "synthetic", "source")
                 if c in gdf.columns] if role in BOUNDARY_ROLES else []
        out.append(MapLayer(gdf, f"底图：{style.zh}", f"Basemap: {style.en}", popup=popup, tooltip="",
                            look=role, synthetic=synthetic or None, show=style.show))
    return out


def place_labels(cat: Catalog, s: MapSettings, to_display: Callable[[gpd.GeoSeries], np.ndarray]) -> list[Labels]:
    """County names (at the county's representative point), in Chinese only (features without a Chinese
    name are counted), and township names (at the seat, else the township's representative point) as
    every table shows them (:func:`sanxian_yidan.placenames.display_names`: a town known only in pinyin
    is labelled ``Fujia（拼音，无中文来源）``)."""
    out = []
    if cat.has("admin_boundary"):
        counties = cat.read("admin_boundary")
        names = _chinese(counties)
        pts = to_display(gpd.GeoSeries(shapely.point_on_surface(np.asarray(counties.geometry.values)),
                                       crs=counties.crs))
        keep = names != ""
        out.append(Labels("county", shapely.get_coordinates(pts)[keep], list(names[keep]), "sx-label-county",
                          0.0, int((~keep).sum())))
    role = "township_seat" if cat.has("township_seat") else ("township" if cat.has("township") else None)
    if role is not None:
        towns = cat.read(role)
        if getattr(cat, "region", None) is not None:
            towns = towns[towns.intersects(gpd.GeoSeries([cat.region], crs=cat.working_crs).to_crs(towns.crs)
                                           .iloc[0])]
        names = display_names(towns)
        pts = to_display(gpd.GeoSeries(shapely.point_on_surface(np.asarray(towns.geometry.values)), crs=towns.crs))
        keep = names != ""
        out.append(Labels("township", shapely.get_coordinates(pts)[keep], list(names[keep]),
                          "sx-label-township", s.label_min_zoom, int((~keep).sum())))
    return out
