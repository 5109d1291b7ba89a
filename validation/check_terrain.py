"""Slope, aspect and hillshade (terrain.slope_aspect / hillshade) against GDAL's ``gdaldem`` (Horn).

Test set: the whole sample DEM (layers/suizhou_dem.tif, 90 m in EPSG:4547, synthetic detail on real
relief) written as float32 with a 3 x 3 nodata hole, so that edges and the neighbours of nodata are
compared as well.  ``gdaldem`` is the Debian package gdal-bin (scripts/setup_tests.sh installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import rasterio

from sanxian_yidan import terrain
from validation.common import Check

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DEM = REPO / "layers" / "suizhou_dem.tif"
NODATA = -9999.0


def _gdaldem(exe: str, mode: str, src: Path, dst: Path) -> np.ndarray:
    subprocess.run([exe, mode, str(src), str(dst), "-q"], check=True, capture_output=True, timeout=300)
    with rasterio.open(dst) as ds:
        out = ds.read(1).astype(float)
        if ds.nodata is not None:
            out[out == ds.nodata] = np.nan
    return out


def checks() -> list[Check]:
    exe = shutil.which("gdaldem")
    dem = terrain.read_dem(SAMPLE_DEM)
    test_set = f"sample DEM {dem.shape[0]} x {dem.shape[1]} cells of 90 m (synthetic detail) with a 3 x 3 nodata hole"
    if exe is None:
        missing = "gdaldem not found: install the Debian package gdal-bin (bash scripts/setup_tests.sh)"
        return [Check("slope / aspect / hillshade", "GDAL gdaldem (not installed)", test_set, "—", missing, False)]
    version = subprocess.run(["gdalinfo", "--version"], capture_output=True, text=True).stdout.split(",")[0].strip()
    oracle = f"{version or 'GDAL'} gdaldem (Horn, no -compute_edges)"
    z = np.array(dem.elevation, dtype=np.float32)
    r, c = z.shape[0] // 2, z.shape[1] // 2
    z[r:r + 3, c:c + 3] = NODATA
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "dem.tif"
        with rasterio.open(src, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1, dtype="float32",
                           crs=dem.crs, transform=dem.transform, nodata=NODATA) as ds:
            ds.write(z, 1)
        window = terrain.read_dem(src)
        slope, aspect = terrain.slope_aspect(window)
        shade = terrain.hillshade(window)
        ref_slope = _gdaldem(exe, "slope", src, Path(tmp) / "slope.tif")
        ref_aspect = _gdaldem(exe, "aspect", src, Path(tmp) / "aspect.tif")
        ref_shade = _gdaldem(exe, "hillshade", src, Path(tmp) / "shade.tif")
    rows: list[Check] = []
    same_cells = bool(np.array_equal(np.isnan(slope), np.isnan(ref_slope)))
    both = ~np.isnan(slope) & ~np.isnan(ref_slope)
    err = float(np.abs(slope[both] - ref_slope[both]).max())
    rows.append(Check("slope [deg]", oracle, f"{test_set}: {both.sum():,} cells",
                      "|Δ| ≤ 1e-4 deg (gdaldem writes float32) and the same empty cells (edges, next to nodata)",
                      f"max |Δ| = {err:.1e} deg; empty cells {'identical' if same_cells else 'DIFFER'}",
                      bool(err <= 1e-4 and same_cells)))
    # gdaldem writes nodata (-9999) for a flat cell's aspect; the toolkit writes NaN
    both = ~np.isnan(aspect) & ~np.isnan(ref_aspect)
    same_flat = bool(np.array_equal(np.isnan(aspect), np.isnan(ref_aspect)))
    diff = np.abs((aspect[both] - ref_aspect[both] + 180.0) % 360.0 - 180.0)
    err = float(diff.max())
    rows.append(Check("aspect [deg clockwise from north]", oracle, f"{test_set}: {both.sum():,} cells",
                      "circular |Δ| ≤ 1e-3 deg and the same cells without aspect (flat, edges, nodata)",
                      f"max |Δ| = {err:.1e} deg; cells without aspect {'identical' if same_flat else 'DIFFER'}",
                      bool(err <= 1e-3 and same_flat)))
    both = ~np.isnan(shade) & ~np.isnan(ref_shade)
    err = float(np.abs(shade[both] - ref_shade[both]).max())
    rows.append(Check("hillshade (azimuth 315°, altitude 45°) [1-255]", oracle, f"{test_set}: {both.sum():,} cells",
                      "|Δ| ≤ 0.501 (gdaldem rounds to the nearest byte, the toolkit does not: ≤ 0.5, plus "
                      "float32 rounding)", f"max |Δ| = {err:.4f}", bool(err <= 0.501)))
    return rows
