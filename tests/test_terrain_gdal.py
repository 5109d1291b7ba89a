"""Slope, aspect and hillshade against GDAL's own ``gdaldem`` (Debian package gdal-bin).

The test set-up (scripts/setup_tests.sh) installs gdal-bin; without it this test fails with the
install command instead of skipping, so the agreement is always checked in CI.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from sanxian_yidan import terrain

REPO = Path(__file__).resolve().parents[1]


def _gdaldem() -> str:
    exe = shutil.which("gdaldem")
    assert exe, "gdaldem not found: install the Debian package gdal-bin (scripts/setup_tests.sh does)"
    return exe


def _run(exe: str, mode: str, src: Path, dst: Path, *extra: str) -> np.ndarray:
    subprocess.run([exe, mode, str(src), str(dst), "-q", *extra], check=True, capture_output=True, timeout=120)
    with rasterio.open(dst) as ds:
        out = ds.read(1).astype(float)
        if ds.nodata is not None:
            out[out == ds.nodata] = np.nan
    return out


def test_slope_aspect_hillshade_agree_with_gdaldem_on_the_sample_dem(tmp_path: Path) -> None:
    exe = _gdaldem()
    dem = terrain.read_dem(REPO / "layers" / "suizhou_dem.tif")
    # A 300 x 300 window with mountains (大洪山) and plain, written as float32 with a nodata hole.
    z = np.array(dem.elevation[600:900, 300:600], dtype=np.float32)
    z[150:153, 150:153] = -9999.0
    x0 = dem.transform.c + 300 * dem.transform.a
    y0 = dem.transform.f + 600 * dem.transform.e
    transform = from_origin(x0, y0, dem.res[0], dem.res[1])
    src = tmp_path / "dem.tif"
    with rasterio.open(src, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1, dtype="float32",
                       crs=dem.crs, transform=transform, nodata=-9999.0) as ds:
        ds.write(z, 1)
    window = terrain.read_dem(src)
    slope, aspect = terrain.slope_aspect(window)
    shade = terrain.hillshade(window)
    ref_slope = _run(exe, "slope", src, tmp_path / "slope.tif")
    ref_aspect = _run(exe, "aspect", src, tmp_path / "aspect.tif")
    ref_shade = _run(exe, "hillshade", src, tmp_path / "shade.tif")
    # Same cells have values (edges and the neighbours of nodata are empty in both).
    np.testing.assert_array_equal(np.isnan(slope), np.isnan(ref_slope))
    np.testing.assert_allclose(slope, ref_slope, atol=1e-4, equal_nan=True)  # gdaldem writes float32
    # gdaldem writes -9999 (nodata) for flat cells' aspect; we write NaN.
    both = ~np.isnan(aspect) & ~np.isnan(ref_aspect)
    assert both.sum() > 0.95 * np.isfinite(ref_slope).sum()
    diff = np.abs((aspect[both] - ref_aspect[both] + 180.0) % 360.0 - 180.0)
    assert diff.max() < 1e-3
    # Hillshade: gdaldem rounds to bytes (1..255); ours is the unrounded value.
    ok = ~np.isnan(shade) & ~np.isnan(ref_shade)
    assert ok.sum() > 0.95 * np.isfinite(ref_slope).sum()
    assert np.abs(shade[ok] - ref_shade[ok]).max() <= 1.0
