"""Benchmark of sanxian_yidan.terrain on the embedded Suizhou sample (90 m DEM, 1,515 x 1,404 cells).

1. Zonal slope statistics for 10,000 generated parcels: ``terrain.zonal_terrain_stats`` (slope and
   aspect computed from the DEM inside the timed call; with ``weighting="centre"``, the cell rule
   rasterstats uses, and with the default coverage weighting) against ``rasterstats.zonal_stats`` (mean,
   max, count) on the same parcels over a slope GeoTIFF precomputed by terrain.slope_aspect.
   rasterstats is timed on a subset first; if its extrapolated time for all parcels is under
   ``--full-limit`` seconds it is also run on all of them, otherwise the extrapolation is reported
   (and said to be one).  The two results are compared parcel by parcel.
2. 三区两线 visibility from the main roads (role "road", classes expressway / national / provincial)
   over the whole city DEM with the packaged defaults (1,000 m, observers every 100 m, eye 1.2 m),
   and the same for roads + railways + rivers.

Run:  python benchmarks/terrain.py            (from the repository root; needs the `bench` extra)
Times are wall-clock on this machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sanxian_yidan import terrain  # noqa: E402
from sanxian_yidan.catalog import Catalog  # noqa: E402

MAIN_ROAD_CLASSES = ("expressway", "national", "provincial")   # 三区两线: 高速, 国道, 省道


def generate_parcels(dem: terrain.Dem, n: int, seed: int) -> gpd.GeoDataFrame:
    """Rotated rectangles of 0.5-30 ha (log-uniform), aspect ratio 1-3, centred on cells with data."""
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(np.isfinite(dem.elevation))
    pick = rng.integers(0, rows.size, n)
    xres, yres = dem.res
    cx = dem.transform.c + (cols[pick] + rng.random(n)) * xres
    cy = dem.transform.f - (rows[pick] + rng.random(n)) * yres
    area = np.exp(rng.uniform(np.log(5_000), np.log(300_000), n))
    ratio = rng.uniform(1, 3, n)
    half_w, half_h = np.sqrt(area * ratio) / 2, np.sqrt(area / ratio) / 2
    theta = rng.uniform(0, np.pi, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    lx = corners[None, :, 0] * half_w[:, None]
    ly = corners[None, :, 1] * half_h[:, None]
    x = cx[:, None] + lx * np.cos(theta)[:, None] - ly * np.sin(theta)[:, None]
    y = cy[:, None] + lx * np.sin(theta)[:, None] + ly * np.cos(theta)[:, None]
    geoms = shapely.polygons(np.stack([x, y], axis=-1))
    return gpd.GeoDataFrame({"parcel": np.arange(n)}, geometry=geoms, crs=dem.crs.to_string())


def time_rasterstats(parcels: gpd.GeoDataFrame, slope_tif: Path) -> tuple[float, list[dict]]:
    from rasterstats import zonal_stats

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = zonal_stats(parcels, str(slope_tif), stats=["mean", "max", "count"], nodata=-9999.0)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=10_000)
    parser.add_argument("--subset", type=int, default=1_000, help="parcels timed first with rasterstats")
    parser.add_argument("--full-limit", type=float, default=120.0,
                        help="run rasterstats on all parcels if the extrapolation is below this [s]")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()

    cat = Catalog.load(REPO / "layers" / "catalog.toml")
    dem_path = cat.raster_path("dem")
    dem = terrain.read_dem(dem_path, synthetic=cat.is_synthetic("dem"))
    print(f"DEM {dem_path.name}: {dem.shape[1]} x {dem.shape[0]} cells of {dem.res[0]:g} m, {dem.crs.to_string()}")
    parcels = generate_parcels(dem, args.parcels, args.seed)
    print(f"{len(parcels):,} parcels, {parcels.area.min() / 1e4:.2f}-{parcels.area.max() / 1e4:.1f} ha "
          f"(seed {args.seed})")

    # --- ours: slope/aspect + cell mapping + aggregation, from a fresh Dem (nothing cached) ---------
    fresh = terrain.Dem(dem.elevation, dem.transform, dem.crs, source=dem.source, synthetic=dem.synthetic)
    start = time.perf_counter()
    _ = fresh.grids
    t_grids = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_cov = terrain.zonal_terrain_stats(parcels, fresh)              # default: coverage-weighted
        t_cov = time.perf_counter() - start
        start = time.perf_counter()
        ours = terrain.zonal_terrain_stats(parcels, fresh, weighting="centre")
    t_zonal = time.perf_counter() - start
    t_ours = t_grids + t_zonal
    print(f"\nsanxian_yidan.terrain.zonal_terrain_stats, weighting='centre' (the rule rasterstats uses): "
          f"{t_ours:.2f} s (slope+aspect grids {t_grids:.2f} s, cell mapping + 7 statistics {t_zonal:.2f} s)")
    print(f"default weighting='{ours_cov.attrs['sanxian']['weighting']}' (area-weighted, as exactextract): "
          f"{t_grids + t_cov:.2f} s (cell mapping + 7 statistics {t_cov:.2f} s)")

    # --- baseline: rasterstats over a precomputed slope GeoTIFF ------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        slope_tif = Path(tmp) / "slope.tif"
        slope = np.where(np.isnan(dem.grids[0]), -9999.0, dem.grids[0])
        import rasterio
        with rasterio.open(slope_tif, "w", driver="GTiff", width=dem.shape[1], height=dem.shape[0], count=1,
                           dtype="float32", crs=dem.crs, transform=dem.transform, nodata=-9999.0) as dst:
            dst.write(slope.astype(np.float32), 1)
        subset = parcels.iloc[: args.subset]
        t_sub, rs_sub = time_rasterstats(subset, slope_tif)
        per_parcel = t_sub / len(subset)
        estimate = per_parcel * len(parcels)
        print(f"rasterstats.zonal_stats (mean, max, count) on {len(subset):,} parcels: {t_sub:.2f} s "
              f"-> {estimate:.1f} s extrapolated to {len(parcels):,}")
        if estimate <= args.full_limit and len(subset) < len(parcels):
            t_full, rs_all = time_rasterstats(parcels, slope_tif)
            print(f"rasterstats.zonal_stats on all {len(parcels):,} parcels: {t_full:.2f} s (measured)")
            baseline, compared, how = t_full, rs_all, "measured"
        else:
            baseline, compared, how = estimate, rs_sub, "extrapolated from the subset"
        print(f"speed-up: {baseline / t_ours:.1f}x with the same cell-centre rule, {baseline / (t_grids + t_cov):.1f}x "
              f"with the default coverage weighting (rasterstats {how}; ours includes computing slope and aspect, "
              "rasterstats reads a precomputed slope raster)")

    # --- agreement ---------------------------------------------------------------------------------
    n = len(compared)
    rs_mean = np.array([np.nan if s["mean"] is None else s["mean"] for s in compared])
    rs_max = np.array([np.nan if s["max"] is None else s["max"] for s in compared])
    rs_count = np.array([s["count"] for s in compared])
    mine = ours.iloc[:n]
    cells = terrain.polygon_cells(parcels.iloc[:n], dem, weighting="centre")   # rasterstats counts cells with a slope
    slope_cells = cells.count(~np.isnan(cells.values(dem.grids[0])))
    fallback = cells.fallback
    both = np.isfinite(rs_mean) & np.isfinite(mine["slope_mean_deg"].to_numpy())
    same_cells = (rs_count == slope_cells)[~fallback]
    print(f"agreement on {n:,} parcels: {int(fallback.sum())} contain no cell centre (rasterstats: no value; ours: "
          f"the representative-point cell); of the other {int((~fallback).sum()):,}, {int(same_cells.sum()):,} have "
          f"the same cells with a slope; max |mean slope difference| "
          f"{np.nanmax(np.abs(rs_mean[both] - mine['slope_mean_deg'].to_numpy()[both])):.1e} deg, max |max slope "
          f"difference| {np.nanmax(np.abs(rs_max[both] - mine['slope_max_deg'].to_numpy()[both])):.1e} deg "
          "(float32 slope raster)")

    # --- visibility --------------------------------------------------------------------------------
    roads = cat.read("road")
    main_roads = roads[roads["category"].isin(MAIN_ROAD_CLASSES)]
    settings = terrain.default_settings().visibility
    print(f"\nvisibility (三区两线): {len(main_roads)} main roads ({', '.join(MAIN_ROAD_CLASSES)}), "
          f"{main_roads.length.sum() / 1000:.0f} km; max distance {settings.max_distance_m:g} m, "
          f"observers every {settings.spacing_m:g} m, eye {settings.eye_height_m:g} m")
    observers = terrain.observer_cells(main_roads, dem, spacing_m=settings.spacing_m)
    start = time.perf_counter()
    visible = terrain.visibility_from_lines(main_roads, dem)
    t_vis = time.perf_counter() - start
    print(f"main roads: {observers.size:,} observer cells, {t_vis:.1f} s, "
          f"{visible.sum():,} cells visible ({100 * visible.mean():.1f}% of the DEM, "
          f"{visible.sum() * dem.cell_area_m2 / 1e6:,.0f} km²)")
    lines = gpd.pd.concat([main_roads[["geometry"]], cat.read("railway")[["geometry"]],
                           cat.read("river")[["geometry"]]], ignore_index=True)
    lines = gpd.GeoDataFrame(lines, geometry="geometry", crs=main_roads.crs)
    start = time.perf_counter()
    visible_all = terrain.visibility_from_lines(lines, dem)
    t_all = time.perf_counter() - start
    n_obs = terrain.observer_cells(lines, dem, spacing_m=settings.spacing_m).size
    print(f"roads + railways + rivers: {n_obs:,} observer cells, {t_all:.1f} s, "
          f"{100 * visible_all.mean():.1f}% of the DEM visible")
    print("\nThe DEM and all lines are synthetic sample data (合成数据): times are meaningful, areas are not.")


if __name__ == "__main__":
    main()
