"""Areas in the right frame: how much a projected CRS scales areas where the data lies, and the CRS that does not.

A Gauss-Krüger projection is conformal; its areal scale k² grows with the
square of the distance from the central meridian.  Inside a 3-degree zone it
stays below 0.07 %, but Hangzhou data projected into Suizhou's CM 114E zone
comes out 0.9 % too large.  These functions measure that factor at the data's
own vertices (pyproj ``Proj.get_factors``), name the data's own zone, and
word the warning; the tolerance is ``data/crs.toml`` ``[area]``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Proj, Transformer

from .gauss_kruger import gk_crs
from .settings import crs_settings

#: How many vertices are enough to bound the scale over a layer (speed on big layers).
_SAMPLE = 2000


@lru_cache(maxsize=16)
def _to_lonlat(crs: CRS) -> Transformer:
    """Transformer from ``crs`` to WGS84 longitude/latitude, built once per CRS: building one searches the PROJ
    database and costs more than the rest of a single-project screening (pyproj >= 3.1 transformers are
    thread-safe)."""
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


@lru_cache(maxsize=16)
def _proj(crs: CRS) -> Proj:
    """The projection of ``crs`` (for its scale factors), built once per CRS."""
    return Proj(crs)


def _lonlat_vertices(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    coords = shapely.get_coordinates(gdf.geometry.values[~gdf.geometry.isna().to_numpy()])
    if len(coords) > _SAMPLE:
        coords = coords[:: len(coords) // _SAMPLE]
    if len(coords) == 0:
        return np.empty(0), np.empty(0)
    lon, lat = _to_lonlat(CRS.from_user_input(gdf.crs)).transform(coords[:, 0], coords[:, 1], errcheck=False)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    keep = np.isfinite(lon) & np.isfinite(lat)
    return lon[keep], lat[keep]


def areal_scale_range(gdf: gpd.GeoDataFrame, crs: Any = None) -> tuple[float, float] | None:
    """Smallest and largest areal scale factor of a projected CRS over a layer's vertices.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer with a CRS.
    crs : str, int or pyproj.CRS, optional
        CRS whose areal scale is measured (default: the layer's own).

    Returns
    -------
    (float, float) or None
        ``(min, max)`` of k² (1.0 = true areas); ``None`` for a geographic
        CRS (areas in square degrees are not areas) or no vertices.

    References
    ----------
    .. [1] PROJ ``proj_factors`` (pyproj ``Proj.get_factors().areal_scale``).
    """
    target = CRS.from_user_input(crs if crs is not None else gdf.crs)
    if target.is_geographic:
        return None
    lon, lat = _lonlat_vertices(gdf)
    if lon.size == 0:
        return None
    scale = np.asarray(_proj(target).get_factors(lon, lat, errcheck=False).areal_scale, dtype=float)
    scale = scale[np.isfinite(scale)]
    return (float(scale.min()), float(scale.max())) if scale.size else None


def own_zone(gdf: gpd.GeoDataFrame) -> CRS:
    """CGCS2000 3-degree GK zone (no prefix) whose central meridian is nearest the layer's centre.

    Returns
    -------
    pyproj.CRS
        E.g. EPSG:4549 (CM 120E) for Hangzhou, EPSG:4547 (CM 114E) for Suizhou.
    """
    lon, _ = _lonlat_vertices(gdf)
    centre = (float(lon.min()) + float(lon.max())) / 2.0
    return gk_crs(int(3 * round(centre / 3.0)), prefixed=False)


def area_distortion_warning(gdf: gpd.GeoDataFrame, crs: Any = None) -> str | None:
    """Warn when ``crs`` (default: the layer's) scales the layer's areas by more than the tolerance.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer with a CRS.
    crs : str, int or pyproj.CRS, optional
        CRS the areas are (or will be) measured in.

    Returns
    -------
    str or None
        A bilingual message naming the distortion, the CRS and the layer's own
        zone; ``None`` within tolerance, for geographic CRSs, or for a layer
        without polygons.
    """
    if not np.isin(shapely.get_type_id(gdf.geometry.values), (3, 6, 7)).any():
        return None  # no polygons: no areas to distort
    scale = areal_scale_range(gdf, crs)
    tolerance = crs_settings().area.distortion_tolerance
    if scale is None or max(abs(scale[0] - 1.0), abs(scale[1] - 1.0)) <= tolerance:
        return None
    target = CRS.from_user_input(crs if crs is not None else gdf.crs)
    own = own_zone(gdf)
    return (f"{target.to_string()} scales areas of this data by {100 * (scale[0] - 1):+.2f} % to "
            f"{100 * (scale[1] - 1):+.2f} % (tolerance {100 * tolerance:.2f} %): the data lies far from its "
            f"central meridian; measure areas in its own zone ({own.to_string()}, {own.name}) / 该坐标系使面积"
            f"失真 {100 * (scale[1] - 1):+.2f} %，请在数据所在投影带（{own.to_string()}）中计算面积")
