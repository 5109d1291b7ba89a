"""Land-boundary coordinate TXT (界址点坐标交换文件): areas read from the exporter corpus, checked independently.

The corpus in ``tests/data/boundary_txt/`` reproduces the variants real exporters write (unclosed rings,
报省部标 and land-consolidation layouts, areas in 平方米/亩, UTF-16, legacy datums ...).  Row 1 compares the
plane area of every parcel the toolkit reads with the geodesic area of the same vertices, computed by
GeographicLib (pyproj.Geod) on each file's own ellipsoid after PROJ's inverse Gauss-Kruger projection: an
oracle that shares neither the parser nor the shapely/GEOS area.  The two differ only by the Gauss-Kruger
area scale (1 + y²/2R²)², with y the distance from the central meridian.  Row 2 compares the declared
面积, converted to hectares by the toolkit from whatever unit the file uses, with the fixtures' design
areas worked out by hand (README of the corpus: e.g. 100 m × 200 m − 20 m × 30 m = 1.94 ha; 22.5 亩 = 1.5 ha
with 1 亩 = 10000/15 m²).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import shapely
from pyproj import Geod, Transformer

from sanxian_yidan.io.boundary_txt import read_boundary_txt
from validation.common import Check

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "boundary_txt"
# Design areas of the fixtures [ha], by hand (tests/data/boundary_txt/README.md); NaN where none is declared.
DESIGN_HA = {
    "unclosed_rings_csharp_gbk_crlf.txt": [(100 * 200 - 20 * 30) / 1e4, 50 * 50 / 1e4],
    "xian80_arcpy_short_layout_utf8bom.txt": [120 * 80 / 1e4],
    "provincial_bsbb_utf16_m2.txt": [10.943 * 10 / 1e4, np.nan],
    "consolidation_13_fields_beijing54_gbk.txt": [22.5 / 15],
    "fullwidth_units_mixed_eol_no_suffix": [50 * 20 / 1e4, 40 * 25 / 1e4, 2.997 / 15],
}
EARTH_RADIUS_M = 6_371_000.0  # mean radius, only for the tolerance


def _geodesic_m2(geom: shapely.Geometry, crs: pyproj.CRS) -> tuple[float, float]:
    """(|geodesic area| [m²], largest distance of a vertex from the central meridian [m])."""
    to_lonlat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    ellipsoid = crs.ellipsoid
    geod = Geod(a=ellipsoid.semi_major_metre, b=ellipsoid.semi_minor_metre)
    total = 0.0
    for poly in getattr(geom, "geoms", [geom]):
        for k, ring in enumerate([poly.exterior, *poly.interiors]):
            lon, lat = to_lonlat.transform(*np.asarray(ring.coords).T)
            area = abs(geod.polygon_area_perimeter(lon, lat)[0])
            total += area if k == 0 else -area
    false_easting = next(p.value for p in crs.coordinate_operation.params if p.name == "False easting")
    y = float(np.max(np.abs(shapely.get_coordinates(geom)[:, 0] - false_easting)))
    return total, y


def checks() -> list[Check]:
    """Corpus parcel areas against GeographicLib; declared areas against the hand-computed design."""
    ratios, bounds, n_parcels = [], [], 0
    declared, design = [], []
    for name, expected in DESIGN_HA.items():
        gdf = read_boundary_txt(CORPUS / name, emit_warnings=False)
        for geom in gdf.geometry:
            geodesic, y = _geodesic_m2(geom, gdf.crs)
            ratios.append(geom.area / geodesic)
            bounds.append((1.0 + y**2 / (2.0 * EARTH_RADIUS_M**2)) ** 2)
            n_parcels += 1
        declared += gdf["area_ha"].tolist()
        design += expected
    ratios_a, bounds_a = np.array(ratios), np.array(bounds)
    # The plane area exceeds the geodesic one by the GK area scale; allow that scale + 1e-5 for the
    # mean-radius approximation and the latitude dependence of the scale.
    excess = ratios_a - 1.0
    ok_area = bool(np.all((excess >= -1e-5) & (excess <= bounds_a - 1.0 + 1e-5)))
    d, e = np.array(declared, float), np.array(design, float)
    same_nan = bool(np.array_equal(np.isnan(d), np.isnan(e)))
    rel = np.abs(d[~np.isnan(e)] / e[~np.isnan(e)] - 1.0)
    return [
        Check(quantity="parcel area read from land-boundary TXT, plane vs geodesic [m²]",
              oracle=f"GeographicLib geodesic polygon area (pyproj {pyproj.__version__} Geod, file's ellipsoid) of "
                     "the vertices after PROJ's inverse Gauss-Kruger projection",
              test_set=f"{n_parcels} parcels in {len(DESIGN_HA)} exporter-variant files (tests/data/boundary_txt: "
                       "unclosed rings, 报省部标, 13-field, UTF-16, Xian 1980, Beijing 1954, CGCS2000)",
              tolerance="0 ≤ plane/geodesic − 1 ≤ GK area scale (1 + y²/2R²)² − 1 (+1e-5), y = distance from the "
                        "central meridian",
              measured=f"plane/geodesic − 1 from {excess.min():.2e} to {excess.max():.2e} (scale bound up to "
                       f"{(bounds_a - 1).max():.2e})",
              passed=ok_area),
        Check(quantity="declared 面积 converted to hectares [ha]",
              oracle="fixture design areas by hand arithmetic (1 ha = 10 000 m²; 1 亩 = 10000/15 m²)",
              test_set=f"{len(d)} parcels: 面积 in 公顷, 平方米 and 亩, with and without a unit, one blank ('0,0,...')",
              tolerance="relative |Δ| ≤ 1e-9 (float rounding); blank stays blank",
              measured=f"max relative |Δ| = {rel.max():.1e}; blanks {'match' if same_nan else 'DIFFER'}",
              passed=same_nan and bool(rel.max() <= 1e-9)),
    ]
