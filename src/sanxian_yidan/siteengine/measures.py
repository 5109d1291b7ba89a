"""What is measured at each site: grid and layer distances, terrain (slope, aspect) and PV specific yield."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import SanxianWarning
from ..geomutil import nearest_features

if TYPE_CHECKING:  # parameter records of data/brownfield.toml, read by attribute only
    from ..brownfield.params import GridClass
    from ..provenance import CatalogLike
    from ..terrain import Dem


def parse_voltage_kv(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """Voltages as kV from numbers or text (``110``, ``"110kV"``, ``"110000"``, ``"110000;35000"``).

    Values above 1,000 are taken as volts (OSM's convention); a list separated by ``;`` gives
    the highest; anything unreadable gives ``nan``.
    """
    s = pd.Series(values, dtype=object).astype(str).str.lower().str.replace("kv", "", regex=False)
    parts = s.str.split(r"[;,/]", regex=True).explode()
    num = pd.to_numeric(parts.str.strip(), errors="coerce")
    num = num.where(num <= 1000, num / 1000.0)
    return num.groupby(level=0).max().reindex(range(len(s))).to_numpy(dtype=float)


def substation_distances(geoms: np.ndarray, substations: gpd.GeoDataFrame, classes: Sequence[GridClass],
                         capacity_mw: np.ndarray, *, unknown_voltage: str = "exclude") -> pd.DataFrame:
    """Distance to the nearest substation of the voltage class each site's plant needs.

    Parameters
    ----------
    geoms : ndarray
        Site geometries (projected CRS).
    substations : GeoDataFrame
        Points or polygons with ``voltage_kv`` (numbers or OSM-style text) and optionally ``name``.
    classes : sequence of GridClass
        Sorted by ``max_capacity_mw``; a site uses the first class whose ``max_capacity_mw`` is at
        least its capacity.
    capacity_mw : ndarray
        Capacity per site [MW].
    unknown_voltage : {"exclude", "include"}
        Whether substations of unknown voltage count for the class distances.

    Returns
    -------
    pandas.DataFrame
        ``dist_substation_m`` (class needed), ``substation_kv`` (its voltage), ``substation_name``,
        ``required_kv``, ``dist_any_substation_m`` and one ``dist_substation_<kv>kv_m`` per class.
    """
    n = len(geoms)
    kv = parse_voltage_kv(substations["voltage_kv"]) if "voltage_kv" in substations.columns else np.full(
        len(substations), np.nan)
    names = (substations["name"].astype(object).where(substations["name"].notna(), "").astype(str).to_numpy()
             if "name" in substations.columns else np.full(len(substations), "", dtype=object))
    sub_geoms = np.asarray(substations.geometry.values, dtype=object)
    out = pd.DataFrame(index=range(n))
    _, d_any = nearest_features(geoms, sub_geoms)
    out["dist_any_substation_m"] = d_any
    cap = np.nan_to_num(np.asarray(capacity_mw, dtype=float), nan=0.0)
    which = np.minimum(np.searchsorted([c.max_capacity_mw for c in classes], cap, side="left"), len(classes) - 1)
    dist = np.full(n, np.nan)
    j_sel = np.full(n, -1)
    for k, cls in enumerate(classes):
        sel = np.flatnonzero((kv >= cls.min_voltage_kv) | (np.isnan(kv) & (unknown_voltage == "include")))
        j, d = nearest_features(geoms, sub_geoms[sel])
        out[f"dist_substation_{cls.min_voltage_kv:g}kv_m"] = d
        m = which == k  # the sites whose plant needs this class
        dist[m] = d[m]
        j_sel[m] = np.where(j[m] >= 0, sel[np.maximum(j[m], 0)] if len(sel) else -1, -1)
    out["required_kv"] = np.array([classes[w].min_voltage_kv for w in which])
    out["dist_substation_m"] = dist
    has = j_sel >= 0
    out["substation_kv"] = np.where(has, kv[np.maximum(j_sel, 0)] if len(kv) else np.nan, np.nan)
    out["substation_name"] = np.where(has, names[np.maximum(j_sel, 0)] if len(names) else "", "")
    return out


def layer_distance(catalog: CatalogLike, roles: Iterable[str], geoms: np.ndarray) -> tuple[np.ndarray, list[str], bool]:
    """Distance [m] to the nearest feature of any of ``roles`` present in the catalog.

    Returns
    -------
    (ndarray, list of str, bool)
        Distances (``nan`` when no such layer exists), the roles used, and whether any feature
        used is synthetic.
    """
    used = [r for r in roles if catalog.has(r)]
    frames = [catalog.read(r) for r in used]
    if not frames:
        return np.full(len(geoms), np.nan), used, False
    targets = np.concatenate([np.asarray(f.geometry.values, dtype=object) for f in frames])
    syn = any(bool(f["synthetic"].any()) for f in frames if "synthetic" in f.columns)
    return nearest_features(geoms, targets)[1], used, syn


def site_specific_yield(geoms: np.ndarray, crs: Any, *, round_deg: float, azimuth_deg: float,
                        tilt_deg: float | None = None) -> tuple[np.ndarray, int, float | None]:
    """Specific yield [kWh/kWp/yr] at each site's centroid, computed once per rounded location.

    Parameters
    ----------
    geoms : ndarray of geometries
        Sites (any CRS; centroids are taken in ``crs`` and converted to WGS84).
    crs : CRS of ``geoms``.
    round_deg : float
        Longitudes and latitudes are rounded to this step [deg] before the model is run, so that
        many sites share one computation (0 disables rounding).
    azimuth_deg, tilt_deg : float
        Array orientation; ``tilt_deg=None`` uses the optimal fixed tilt
        (:func:`sanxian_yidan.solar.optimal_tilt`) at the median location of the sites, for all.

    Returns
    -------
    (ndarray, int, float or None)
        Specific yield per site (``nan`` for empty geometries), the number of model runs and the
        tilt used [deg] (``None`` if there was no site).
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), np.nan)
    ok, keys = yield_locations(geoms, crs, round_deg=round_deg)
    if not ok.any():
        return out, 0, tilt_deg
    uniq = keys.drop_duplicates().sort_values(["lon", "lat"]).reset_index(drop=True)
    tilt = yield_tilt(uniq, azimuth_deg=azimuth_deg, tilt_deg=tilt_deg)
    sy = location_yields(uniq, tilt_deg=tilt, azimuth_deg=azimuth_deg)
    out[ok] = keys.merge(sy, on=["lon", "lat"], how="left")["sy"].to_numpy()
    return out, len(uniq), tilt


def yield_locations(geoms: np.ndarray, crs: Any, *, round_deg: float) -> tuple[np.ndarray, pd.DataFrame]:
    """Where the yield model runs for each site: its centroid in WGS84, rounded to ``round_deg`` [deg].

    Returns
    -------
    (ndarray of bool, DataFrame)
        Sites with a geometry, and ``lon`` / ``lat`` [deg] of those sites (in their order).
    """
    from pyproj import Transformer

    geoms = np.asarray(geoms, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return ok, pd.DataFrame({"lon": np.empty(0), "lat": np.empty(0)})
    cent = shapely.centroid(geoms[ok])
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(shapely.get_x(cent), shapely.get_y(cent))
    if round_deg > 0:
        lon = np.round(np.asarray(lon) / round_deg) * round_deg
        lat = np.round(np.asarray(lat) / round_deg) * round_deg
    return ok, pd.DataFrame({"lon": np.round(lon, 6), "lat": np.round(lat, 6)})


def yield_tilt(locations: pd.DataFrame, *, azimuth_deg: float, tilt_deg: float | None = None) -> float:
    """The array tilt [deg]: ``tilt_deg`` when given, else the optimal fixed tilt at the median of the distinct
    ``locations`` (all sites' locations, each once: a statistic of the whole site set)."""
    from .. import solar

    if tilt_deg is not None:
        return float(tilt_deg)
    # the optimal fixed tilt changes by a fraction of a degree across a city: search it once,
    # at the middle of the sites, instead of at every location (halves the run time)
    return float(solar.optimal_tilt(float(np.median(locations["lon"])), float(np.median(locations["lat"])),
                                    azimuth=azimuth_deg))


def location_yields(locations: pd.DataFrame, *, tilt_deg: float, azimuth_deg: float) -> pd.DataFrame:
    """``locations`` (``lon`` / ``lat`` [deg]) with ``sy``, the specific yield there [kWh/kWp/yr]: one model run
    per row."""
    out = locations[["lon", "lat"]].reset_index(drop=True)
    out["sy"] = np.array([solar_yield(float(x), float(y), tilt_deg, azimuth_deg)
                          for x, y in zip(out["lon"], out["lat"])], dtype=float)
    return out


def solar_yield(lon: float, lat: float, tilt_deg: float, azimuth_deg: float) -> float:
    """:func:`sanxian_yidan.solar.specific_yield` at one location [kWh/kWp/yr]."""
    from .. import solar

    return float(solar.specific_yield(lon, lat, tilt_deg, azimuth_deg))


TERRAIN_COLUMNS = ("slope_mean_deg", "slope_max_deg", "flat_share", "south_share", "elevation_mean_m", "dem_coverage")


def resolve_dem(catalog: CatalogLike | None, dem: Dem | str | Path | None) -> Dem | None:
    """The DEM to use: ``dem`` as given (a terrain ``Dem`` or a path), else the catalog's ``dem`` role.

    Returns ``None`` when there is no DEM at all (terrain criteria are then left empty and said so).
    """
    from .. import terrain

    if dem is None:
        if catalog is None or not catalog.has("dem"):
            return None
        return terrain.read_dem(catalog.raster_path("dem"), synthetic=catalog.is_synthetic("dem"))
    if isinstance(dem, (str, Path)):
        return terrain.read_dem(dem)
    return dem


def terrain_table(geoms: np.ndarray, crs: Any, dem: Dem | None, *, slope_threshold_deg: float,
                  south_range_deg: tuple[float, float], min_dem_coverage: float
                  ) -> tuple[pd.DataFrame, list[list[str]]]:
    """Zonal slope / aspect / elevation per geometry, with per-site notes where the DEM falls short.

    Empty geometries and sites the DEM covers less than ``min_dem_coverage`` get ``nan`` terrain
    values (never a crash) and a note saying so.
    """
    from .. import terrain

    n = len(geoms)
    table = pd.DataFrame({c: np.full(n, np.nan) for c in TERRAIN_COLUMNS})
    if dem is None:
        return table, [["无 DEM，坡度/朝向未评价 / no DEM: slope and aspect not assessed"] for _ in range(n)]
    notes: list[list[str]] = [[] for _ in range(n)]
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        polys = gpd.GeoSeries(geoms[ok], crs=crs)
        with warnings.catch_warnings():
            # coverage gaps are reported per site in `reasons` below, not as a global warning
            warnings.filterwarnings("ignore", message=r".*covered by the DEM|.*outside the DEM", category=SanxianWarning)
            stats = terrain.zonal_terrain_stats(polys, dem, slope_threshold_deg=slope_threshold_deg,
                                                south_range=(float(south_range_deg[0]), float(south_range_deg[1])))
        for c in TERRAIN_COLUMNS:
            if c in stats.columns:
                table.loc[ok, c] = pd.to_numeric(stats[c], errors="coerce").to_numpy(dtype=float)
    cov = table["dem_coverage"].to_numpy()
    short = ok & ~(cov >= min_dem_coverage)
    for i in np.flatnonzero(short).tolist():
        c = cov[i]
        notes[i].append(f"DEM 未覆盖地块（覆盖率 {0 if np.isnan(c) else c:.0%}），坡度/朝向未评价 / DEM does not "
                        f"cover the site ({0 if np.isnan(c) else c:.0%} covered): slope and aspect not assessed")
    table.loc[short, [c for c in TERRAIN_COLUMNS if c != "dem_coverage"]] = np.nan
    table.loc[ok & np.isnan(cov), "dem_coverage"] = 0.0
    return table, notes
