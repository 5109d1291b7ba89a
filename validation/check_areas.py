"""Areas the toolkit reports (m², planar in EPSG:4547) against geodesic areas on the ellipsoid.

The toolkit measures areas in its working CRS EPSG:4547 (CGCS2000 / 3-degree Gauss-Krüger, central
meridian 114° E).  The oracle is the geodesic area of the same region on the GRS80 ellipsoid
(``pyproj.Geod(ellps="GRS80").geometry_area_perimeter``, Karney's algorithm in GeographicLib; CGCS2000's
ellipsoid differs from GRS80 only in the 11th digit of the flattening), computed from the geometry in
CGCS2000 longitude / latitude (EPSG:4490), densified every 50 m before reprojection so that straight
edges stay straight in both.

Expected difference, derived: Gauss-Krüger is conformal with point scale
``k = 1 + (1 + η²) (ℓ cos φ)² / 2 + O(ℓ⁴)`` (ℓ = longitude from the central meridian in radians,
η² = e'² cos² φ, e'² = 0.00673950), so planar areas are ``k²`` times the true areas:
``k² - 1 ≈ (1 + η²) (ℓ cos φ)²``.  Over the study area (112.7-114.2° E, 31.3-32.5° N) ℓ ≤ 1.3°, so
planar areas are at most about 0.04 % too large; the bound is computed below from ``data/crs.toml``
``[study_area]``.  Beyond that bound, dividing by PROJ's areal scale factor at each region's
centroid must recover the geodesic area to 1e-6 (sites) or 1e-5 (overlaps, whose intersection is
recomputed independently in longitude / latitude).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from sanxian_yidan import brownfield, terrain
from sanxian_yidan.catalog import Catalog
from sanxian_yidan.datafiles import packaged
from sanxian_yidan.screening import screen
from validation.check_zonal import small_parcels
from validation.common import Check

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CATALOG = REPO / "layers" / "catalog.toml"
GEOD = pyproj.Geod(ellps="GRS80")
GEOGRAPHIC = "EPSG:4490"
DENSIFY_M = 50.0
CENTRAL_MERIDIAN = 114.0           # EPSG:4547
E2_PRIME = 0.006739496775          # second eccentricity squared of GRS80 / CGCS2000


def distortion_bound() -> float:
    """Largest ``k² - 1`` over the study area: ``(1 + η²)(ℓ cos φ)²`` at its far meridian, lowest latitude."""
    area = packaged("crs.toml")["study_area"]
    ell = math.radians(max(abs(area["west"] - CENTRAL_MERIDIAN), abs(area["east"] - CENTRAL_MERIDIAN)))
    phi = math.radians(area["south"])
    eta2 = E2_PRIME * math.cos(phi) ** 2
    return (1 + eta2) * (ell * math.cos(phi)) ** 2 * 1.01        # + 1 % for the O(ℓ⁴) terms


def geodesic_areas(geoms: np.ndarray, crs: str) -> np.ndarray:
    """Geodesic areas [m²] of planar geometries (densified, then to CGCS2000 lon/lat)."""
    dense = gpd.GeoSeries(shapely.segmentize(geoms, DENSIFY_M), crs=crs).to_crs(GEOGRAPHIC)
    return np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in dense.values])


def areal_scale(geoms: np.ndarray, crs: str) -> np.ndarray:
    """PROJ's areal scale factor of ``crs`` at each geometry's centroid."""
    centre = gpd.GeoSeries(shapely.centroid(geoms), crs=crs).to_crs(GEOGRAPHIC)
    factors = pyproj.Proj(crs).get_factors(centre.x.to_numpy(), centre.y.to_numpy())
    return np.asarray(factors.areal_scale)


def _rows(label: str, tool: np.ndarray, geodesic: np.ndarray, scale: np.ndarray, test_set: str,
          corrected_tol: float) -> list[Check]:
    ratio = tool / geodesic
    bound = distortion_bound()
    corrected = np.abs(ratio / scale - 1)
    return [
        Check(f"{label}: planar EPSG:4547 / geodesic area [-]",
              "pyproj.Geod(ellps='GRS80').geometry_area_perimeter on CGCS2000 lon/lat (EPSG:4490)", test_set,
              f"1 ≤ ratio ≤ 1 + {bound:.2e} (Gauss-Krüger scale k² over the study area, derived)",
              f"ratio {ratio.min():.6f} - {ratio.max():.6f}",
              bool(ratio.min() >= 1 - 1e-9 and ratio.max() <= 1 + bound)),
        Check(f"{label}: planar area / (geodesic area × areal scale at the centroid) - 1 [-]",
              "same geodesic area × PROJ areal scale factor of EPSG:4547 (pyproj.Proj.get_factors)", test_set,
              f"|Δ| ≤ {corrected_tol:g}", f"max |Δ| = {corrected.max():.1e}",
              bool(corrected.max() <= corrected_tol)),
    ]


def checks() -> list[Check]:
    catalog = Catalog.load(SAMPLE_CATALOG)
    crs = catalog.working_crs
    rows: list[Check] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sites = brownfield.candidate_sites(catalog, brownfield.load_params())
    geoms = np.asarray(sites.geometry.values, dtype=object)
    ok = shapely.area(geoms) > 0
    rows += _rows("brownfield gross_area_m2", sites["gross_area_m2"].to_numpy()[ok],
                  geodesic_areas(geoms[ok], crs), areal_scale(geoms[ok], crs),
                  f"{ok.sum()} candidate sites of the sample catalog (mines, landfills, ...; synthetic)", 1e-6)

    dem = terrain.read_dem(REPO / "layers" / "suizhou_dem.tif")
    projects = small_parcels(dem, 40, seed=20261209, area_ha=(5.0, 300.0), margin_cells=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = screen(projects, catalog, project_type="pv")
    foot = np.asarray(res.projects.geometry.values, dtype=object)
    rows += _rows("screening footprint_area_m2", res.projects["footprint_area_m2"].to_numpy(float),
                  geodesic_areas(foot, crs), areal_scale(foot, crs),
                  f"{len(foot)} generated PV projects of 5-300 ha across the sample area", 1e-6)

    # overlaps: recompute each project x feature intersection independently in longitude / latitude
    over = res.overlaps
    over = over[over["overlap_area_m2"].to_numpy(float) > 1.0]
    proj_geo = gpd.GeoSeries(shapely.segmentize(foot, DENSIFY_M), crs=crs).to_crs(GEOGRAPHIC)
    proj_geo.index = res.projects["project_id"].to_numpy()
    tool, oracle, pieces = [], [], []
    for (layer_id, code, name), group in over.groupby(["layer_id", "feature_code", "feature_name"], dropna=False):
        layer = catalog.read(layer_id)
        match = np.ones(len(layer), dtype=bool)
        for column, value in (("code", code), ("name", name)):
            if column in layer.columns and isinstance(value, str):
                match &= layer[column].astype(str).to_numpy() == value
        if match.sum() != 1:
            continue                                     # feature not identifiable by code and name: skipped
        feature = gpd.GeoSeries(shapely.segmentize(layer.geometry.values[match], DENSIFY_M),
                                crs=layer.crs).to_crs(GEOGRAPHIC).values[0]
        for pid, area, geom in zip(group["project_id"], group["overlap_area_m2"].to_numpy(float),
                                   group.geometry.values):
            piece = shapely.intersection(proj_geo.loc[pid], shapely.make_valid(feature))
            oracle.append(abs(GEOD.geometry_area_perimeter(piece)[0]))
            tool.append(area)
            pieces.append(geom)
    rows += _rows("screening overlap_area_m2", np.asarray(tool), np.asarray(oracle),
                  areal_scale(np.asarray(pieces, dtype=object), crs),
                  f"{len(tool)} project × feature overlaps of those projects with the sample's zoning layers "
                  + (f"(of {len(over)}; the rest cannot be matched to one feature by code and name) "
                     if len(tool) < len(over) else "")
                  + "(partly synthetic), intersection recomputed in lon/lat", 1e-5)
    return rows

