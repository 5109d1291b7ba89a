"""Zonal terrain statistics (terrain.zonal_terrain_stats) against exactextract, coverage-weighted.

exactextract (pip package ``exactextract``, the Python binding of isciences' C++ library) computes the
exact share of every cell a polygon covers and weights each cell's value by it.  The toolkit's default
``weighting = "coverage"`` (``data/terrain.toml``) does the same with its own vectorised code, so
mean and maximum slope, mean elevation and the flat / south-facing shares must agree to rounding.
The rasters handed to exactextract are the toolkit's slope / aspect grids (Horn, checked against
gdaldem in check_terrain) written as float64 GeoTIFFs, so only the zonal step is compared.

Test set: generated parcels (rotated rectangles, log-uniform area) on the sample DEM (90 m cells of
0.81 ha, synthetic detail), away from the DEM edge: 1,000 small parcels of 0.5-5 ha, where the
cell-centre rule is off by degrees, and 200 parcels of 5-50 ha.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely

from sanxian_yidan import terrain
from validation.common import Check

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DEM = REPO / "layers" / "suizhou_dem.tif"
COLUMNS = ("slope_mean_deg", "slope_max_deg", "elevation_mean_m", "flat_share", "south_share")
UNITS = {"slope_mean_deg": "deg", "slope_max_deg": "deg", "elevation_mean_m": "m", "flat_share": "-",
         "south_share": "-"}


def small_parcels(dem: terrain.Dem, n: int, *, seed: int, area_ha: tuple[float, float] = (0.5, 5.0),
                  margin_cells: int = 20) -> gpd.GeoDataFrame:
    """``n`` rotated rectangles (aspect ratio 1-3, log-uniform area in ``area_ha``) inside the DEM."""
    rng = np.random.default_rng(seed)
    rows, cols = dem.shape
    xres, yres = dem.res
    r = rng.uniform(margin_cells, rows - margin_cells, n)
    c = rng.uniform(margin_cells, cols - margin_cells, n)
    cx, cy = dem.transform.c + c * xres, dem.transform.f - r * yres
    area = np.exp(rng.uniform(np.log(area_ha[0] * 1e4), np.log(area_ha[1] * 1e4), n))
    ratio = rng.uniform(1, 3, n)
    half_w, half_h = np.sqrt(area * ratio) / 2, np.sqrt(area / ratio) / 2
    theta = rng.uniform(0, np.pi, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    lx, ly = corners[None, :, 0] * half_w[:, None], corners[None, :, 1] * half_h[:, None]
    x = cx[:, None] + lx * np.cos(theta)[:, None] - ly * np.sin(theta)[:, None]
    y = cy[:, None] + lx * np.sin(theta)[:, None] + ly * np.cos(theta)[:, None]
    return gpd.GeoDataFrame({"parcel": np.arange(n)}, geometry=shapely.polygons(np.stack([x, y], axis=-1)),
                            crs=dem.crs.to_string())


def _write(path: Path, grid: np.ndarray, dem: terrain.Dem) -> str:
    with rasterio.open(path, "w", driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1,
                       dtype="float64", crs=dem.crs, transform=dem.transform, nodata=np.nan) as ds:
        ds.write(grid.astype(np.float64), 1)
    return str(path)


def exactextract_means(dem: terrain.Dem, parcels: gpd.GeoDataFrame, tmp: Path) -> pd.DataFrame:
    """exactextract's coverage-weighted statistics of the toolkit's terrain grids, per parcel."""
    from exactextract import exact_extract

    settings = terrain.default_settings().zonal
    slope, aspect = dem.grids
    has = ~np.isnan(slope)
    lo, hi = settings.south_range_deg
    flat = np.where(has, (slope <= settings.slope_threshold_deg).astype(float), np.nan)
    with np.errstate(invalid="ignore"):
        south_mask = (aspect >= lo) & (aspect <= hi) if lo <= hi else (aspect >= lo) | (aspect <= hi)
    south = np.where(has, south_mask.astype(float), np.nan)
    out = {}
    for name, grid, op in (("slope_mean_deg", slope, "mean"), ("slope_max_deg", slope, "max"),
                           ("elevation_mean_m", dem.elevation, "mean"), ("flat_share", flat, "mean"),
                           ("south_share", south, "mean")):
        path = _write(Path(tmp) / f"{name}.tif", grid, dem)
        res = exact_extract(path, parcels, [op], output="pandas")
        out[name] = res[op].to_numpy(dtype=float)
    return pd.DataFrame(out, index=parcels.index)


def checks() -> list[Check]:
    dem = terrain.read_dem(SAMPLE_DEM)
    oracle = f"exactextract {version('exactextract')} (coverage-weighted mean / max)"
    rows: list[Check] = []
    for label, n, area, seed in (("0.5-5 ha", 1000, (0.5, 5.0), 20261207), ("5-50 ha", 200, (5.0, 50.0), 20261208)):
        parcels = small_parcels(dem, n, seed=seed, area_ha=area)
        ours = terrain.zonal_terrain_stats(parcels, dem)            # the default weighting
        centre = terrain.zonal_terrain_stats(parcels, dem, weighting="centre")
        with tempfile.TemporaryDirectory() as tmp:
            ref = exactextract_means(dem, parcels, Path(tmp))
        test_set = (f"{n:,} generated parcels of {label} on the sample DEM (90 m, synthetic detail); "
                    f"toolkit default weighting = {ours.attrs['sanxian']['weighting']}")
        for col in COLUMNS:
            err = float(np.nanmax(np.abs(ours[col].to_numpy() - ref[col].to_numpy())))
            both_nan = bool(np.array_equal(ours[col].isna().to_numpy(), np.isnan(ref[col].to_numpy())))
            d_centre = np.abs(centre[col].to_numpy() - ref[col].to_numpy())
            unit = UNITS[col]
            rows.append(Check(
                f"{col} [{unit}]", oracle, test_set,
                f"|Δ| ≤ 1e-6 {unit} (float64 rasters; summation order only)",
                f"max |Δ| = {err:.1e} {unit}; the cell-centre rule would differ by up to "
                f"{np.nanmax(d_centre):.2g} {unit} (90th percentile {np.nanpercentile(d_centre, 90):.2g})",
                bool(err <= 1e-6 and both_nan)))
    return rows
