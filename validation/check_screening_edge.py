"""Screening at the edge of the data, against closed-form geometry.

* Share of a footprint outside the data coverage (``outside_coverage_share`` / rule COV-01) for discs that
  straddle a straight coverage edge: the circular-segment area r²·acos(d/r) − d·√(r² − d²).
* Share of a distance rule's search area outside the coverage (``search_outside_coverage`` rows of BF-04,
  1,000 m): the search area of a disc of radius r is a disc of radius r + 1,000 m, cut by the same edge.

The coverage is one square county (x 500-560 km, y 3,480-3,540 km in EPSG:4547); the footprints are points
buffered by the screening radius, so the toolkit's circles are 64-gons (16 segments per quarter circle) and
agree with the true circles to the polygon's area deficit (< 0.2 %).
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, box

from sanxian_yidan import screen

from .common import Check

CRS = "EPSG:4547"
EDGE_X = 560000.0
RADIUS = 100.0            # footprint radius [m]
SEARCH = 1000.0           # BF-04 distance [m]


def _segment(r: float, d: float) -> float:
    """Area of the part of a disc of radius r beyond a line at signed distance d from its centre."""
    if d >= r:
        return 0.0
    if d <= -r:
        return math.pi * r * r
    return r * r * math.acos(d / r) - d * math.sqrt(r * r - d * d)


def _catalog(folder: Path) -> Path:
    gpkg = folder / "edge.gpkg"
    gpd.GeoDataFrame({"code": ["420001"], "name": ["方县"]}, geometry=[box(500000, 3480000, EDGE_X, 3540000)],
                     crs=CRS).to_file(gpkg, layer="counties", driver="GPKG")
    gpd.GeoDataFrame({"code": ["JBNT"]}, geometry=[box(500000, 3480000, 501000, 3481000)],
                     crs=CRS).to_file(gpkg, layer="farmland", driver="GPKG")
    lines = ["[catalog]", 'title_zh = "边缘检验"', 'title_en = "Edge check"', f'working_crs = "{CRS}"', ""]
    for lid, role in (("counties", "admin_boundary"), ("farmland", "basic_farmland")):
        lines += ["[[layers]]", f'id = "{lid}"', f'role = "{role}"', 'path = "edge.gpkg"', f'layer = "{lid}"',
                  f'title_zh = "{lid}"', f'title_en = "{lid}"', 'source = "closed-form test geometry"',
                  'licence = "CC0"', "synthetic = true", ""]
    path = folder / "catalog.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def checks() -> list[Check]:
    # signed distance of each disc centre inside the edge [m]: negative = centre outside the coverage
    offsets = [-60.0, 0.0, 40.0, 300.0, 700.0, 1050.0]
    with tempfile.TemporaryDirectory() as tmp:
        catalog = _catalog(Path(tmp))
        projects = gpd.GeoDataFrame(
            {"id": [f"D{i}" for i in range(len(offsets))], "industry": ["C3360"] * len(offsets)},
            geometry=[Point(EDGE_X - d, 3500000.0 + 5000.0 * i) for i, d in enumerate(offsets)], crs=CRS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = screen(projects, catalog, radius_m=RADIUS)
    table = res.projects.set_index("project_id")
    f = res.findings
    edge_rows = f[(f["rule_id"] == "BF-04") & (f["reason"] == "search_outside_coverage")].set_index("project_id")
    foot_err, search_err = [], []
    for i, d in enumerate(offsets):
        pid = f"D{i}"
        want = _segment(RADIUS, d) / (math.pi * RADIUS ** 2)
        foot_err.append(abs(float(table.loc[pid, "outside_coverage_share"]) - want))
        r = RADIUS + SEARCH
        want_s = _segment(r, d) / (math.pi * r * r)
        got_s = float(edge_rows.loc[pid, "overlap_share"]) if pid in edge_rows.index else 0.0
        search_err.append(abs(got_s - want_s))
    tol = 2e-3
    return [
        Check(quantity="share of a footprint outside the data coverage (outside_coverage_share) [-]",
              oracle="closed-form circular segment r²·acos(d/r) − d·√(r² − d²)",
              test_set=f"{len(offsets)} discs of r = {RADIUS:.0f} m, centres {offsets} m inside a straight edge",
              tolerance=f"|Δ| ≤ {tol} (64-gon vs circle)",
              measured=f"max |Δ| = {max(foot_err):.2e}", passed=bool(np.max(foot_err) <= tol)),
        Check(quantity="share of BF-04's 1 km search area outside the data coverage [-]",
              oracle="closed-form circular segment of the disc r + 1,000 m",
              test_set=f"the same {len(offsets)} discs (search radius {RADIUS + SEARCH:.0f} m)",
              tolerance=f"|Δ| ≤ {tol} (buffered 64-gon vs circle)",
              measured=f"max |Δ| = {max(search_err):.2e}", passed=bool(np.max(search_err) <= tol)),
    ]
