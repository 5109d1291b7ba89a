"""Areas and placement of inputs without a stated frame, against independent oracles.

* Areal distortion reported by :func:`sanxian_yidan.crs.areal_scale_range` and the area the toolkit
  measures after reprojection, against geodesic areas on the GRS80 ellipsoid (pyproj.Geod, Karney's
  algorithm), for parcels in Suizhou and in Hangzhou measured in Suizhou's CM 114E zone.
* DXF red-line areas (arcs as bulges) against the analytic area of the drawn shape.
* Placement of Gauss-Kruger coordinates without zone prefix: the candidate of the true zone must put Hefei and
  Nanjing data where pyproj's inverse projection puts them, and none may be taken as certain.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import pyproj
import shapely
from pyproj import Geod, Transformer

from sanxian_yidan.crs import areal_scale_range, infer_crs
from sanxian_yidan.io.vector import read_vector

from .common import Check

GEOD = Geod(ellps="GRS80")


def _geodesic(poly) -> float:
    return abs(GEOD.geometry_area_perimeter(poly)[0])


def _area_checks() -> list[Check]:
    rows = []
    for name, box in (("Suizhou 10 km square (113.3-113.4 E)", shapely.box(113.3, 31.7, 113.4, 31.8)),
                      ("Hangzhou 5 km square (120.15-120.20 E)", shapely.box(120.15, 30.25, 120.20, 30.30))):
        gdf = gpd.GeoDataFrame(geometry=[shapely.segmentize(box, 0.001)], crs="EPSG:4490")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gk = gdf.to_crs("EPSG:4547")
        ratio = float(gk.area.iloc[0]) / _geodesic(gdf.geometry.iloc[0])
        low, high = areal_scale_range(gk)
        inside = low - 2e-5 <= ratio <= high + 2e-5
        rows.append(Check(
            quantity="area in EPSG:4547 / geodesic area; reported areal scale range [-]",
            oracle=f"pyproj {pyproj.__version__} Geod (GRS80, Karney) geodesic polygon area",
            test_set=name,
            tolerance="measured ratio within the reported [min, max] scale ± 2e-5",
            measured=f"ratio {ratio:.6f}; reported {low:.6f}-{high:.6f}",
            passed=bool(inside)))
    return rows


def _dxf_check() -> list[Check]:
    import ezdxf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "arc.dxf"
        doc = ezdxf.new("R2010")
        e0, n0 = 440000.0, 3507000.0
        doc.modelspace().add_lwpolyline([(e0, n0, 0), (e0 + 200, n0, 1), (e0 + 200, n0 + 100, 0), (e0, n0 + 100, 0)],
                                        format="xyb", close=True, dxfattribs={"layer": "红线"})
        doc.saveas(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            area = float(read_vector(path, crs="EPSG:4547").area.iloc[0])
    exact = 200 * 100 + math.pi * 50 ** 2 / 2
    loss = exact - area
    bound = 0.01 * math.pi * 50
    return [Check(
        quantity="DXF red-line area with a half-circle bulge [m²]",
        oracle="analytic area: 200 m x 100 m rectangle + half disc of radius 50 m",
        test_set="1 LWPOLYLINE, bulge 1 on the east side",
        tolerance=f"0 < exact - read <= sagitta 0.01 m x arc length = {bound:.2f} m²",
        measured=f"exact - read = {loss:.3f} m²",
        passed=bool(0 < loss <= bound))]


def _placement_checks() -> list[Check]:
    rows = []
    for name, lon, lat, epsg in (("Hefei", 117.2272, 31.8206, 4548), ("Nanjing", 118.7969, 32.0603, 4549)):
        x, y = Transformer.from_crs("EPSG:4490", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
        guess = infer_crs(x, y)
        true = next((p for p in guess.candidates if p.crs.to_epsg() == epsg), None)
        ok = true is not None and not guess.certain
        err = GEOD.inv(lon, lat, true.lon, true.lat)[2] if true is not None else float("inf")
        rows.append(Check(
            quantity="placement of unprefixed GK coordinates without a CRS [m]",
            oracle=f"pyproj {pyproj.__version__} inverse projection of the true zone (EPSG:{epsg})",
            test_set=f"{name} ({lon} E, {lat} N) projected to its own CM zone, prefix dropped",
            tolerance="not certain (refused); true zone among the candidates within 1 m",
            measured=f"certain={guess.certain}, {len(guess.candidates)} candidates, true-zone error {err:.3g} m",
            passed=bool(ok and err <= 1.0)))
    return rows


def checks() -> list[Check]:
    """Area distortion vs geodesic areas, DXF arc areas, placement of unprefixed GK data."""
    return _area_checks() + _dxf_check() + _placement_checks()
