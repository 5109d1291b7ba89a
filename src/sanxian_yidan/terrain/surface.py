"""Slope, aspect and hillshade (Horn's method, as gdaldem computes them)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import problem
from .dem import Dem, require_metric
from .horn import slope_aspect_grid, window
from .settings import TerrainError


def _elevation_and_res(dem: Dem | np.ndarray, res: float | tuple[float, float] | None
                       ) -> tuple[np.ndarray, float, float]:
    if isinstance(dem, Dem):
        if res is not None:
            raise TerrainError(problem("Dem 已含分辨率，不能再给 res。",
                                       "res is only for plain arrays; a Dem carries its own cell size.",
                                       file=dem.source, fix="drop res= or pass dem.elevation"))
        require_metric(dem)
        return (dem.elevation, *dem.res)
    if res is None:
        raise TerrainError(problem("数组输入需要给出分辨率 res。", "A plain array needs res= (cell size in metres).",
                                   fix="pass res=90.0 or res=(xres, yres), or wrap it in a Dem"))
    xres, yres = (float(res), float(res)) if isinstance(res, int | float | np.number) else (float(res[0]), float(res[1]))
    if not (xres > 0 and yres > 0 and math.isfinite(xres) and math.isfinite(yres)):
        raise TerrainError(problem("分辨率必须为正数。", f"res must be positive, got {res!r}.", fix="pass res=90.0"))
    z = np.asarray(dem, dtype=np.float64)
    if z.ndim != 2:
        raise TerrainError(problem("高程数据必须是二维数组。", f"Elevations must be 2-D, got shape {z.shape}.",
                                   fix="pass one band as a 2-D array"))
    return z, xres, yres


def slope_aspect(dem: Dem | np.ndarray, *, res: float | tuple[float, float] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Slope and aspect by Horn's method, as ``gdaldem slope`` / ``gdaldem aspect`` compute them.

    Parameters
    ----------
    dem : Dem or numpy.ndarray
        The DEM, or a 2-D array of elevations [m] (north row first) with ``res``.
    res : float or (float, float), optional
        Cell size (x, y) [m]; only for a plain array.

    Returns
    -------
    slope : numpy.ndarray
        Slope [deg], 0 = flat.
    aspect : numpy.ndarray
        Direction the slope faces (downslope), degrees clockwise from north in
        [0, 360): 0 north, 90 east, 180 south, 270 west.  ``NaN`` on flat cells
        (where ``gdaldem aspect`` writes -9999).

    Notes
    -----
    With ``a b c / d e f / g h i`` the 3×3 window (north row first)::

        dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 xres)
        dz/dy = ((g + 2h + i) - (a + 2b + c)) / (8 yres)      (southwards)
        slope  = atan(hypot(dz/dx, dz/dy))
        aspect = atan2(-dz/dx, dz/dy) mod 360

    which is ``gdaldem``'s ``atan2(dy, -dx)`` turned into an azimuth.  The
    first and last rows and columns are ``NaN`` (``gdaldem`` without
    ``-compute_edges``), and so is any nodata cell or cell whose window touches one.
    For square cells the aspect equals ``gdaldem``'s exactly; for non-square
    cells this function scales the gradient by the cell size (``gdaldem``'s
    aspect ignores the cell size and is then slightly off).

    References
    ----------
    .. [1] Horn (1981), see the module references.
    .. [2] GDAL, ``gdaldem`` slope and aspect (Horn algorithm).
    """
    z, xres, yres = _elevation_and_res(dem, res)
    return slope_aspect_grid(z, xres, yres)


def hillshade(dem: Dem | np.ndarray, *, azimuth: float = 315.0, altitude: float = 45.0, z_factor: float = 1.0,
              res: float | tuple[float, float] | None = None) -> np.ndarray:
    """Hillshade as ``gdaldem hillshade`` computes it (Horn gradient, not combined).

    Parameters
    ----------
    dem : Dem or numpy.ndarray
        The DEM, or a 2-D array with ``res``.
    azimuth : float, default 315
        Direction the light comes from, degrees clockwise from north.
    altitude : float, default 45
        Sun elevation above the horizon [deg].
    z_factor : float, default 1
        Vertical exaggeration.
    res : float or (float, float), optional
        Cell size [m] for a plain array.

    Returns
    -------
    numpy.ndarray
        Shade values in [1, 255] as floats (``gdaldem`` rounds them into a Byte
        band); ``NaN`` at the edges and next to nodata (``gdaldem`` writes 0).

    Notes
    -----
    ``cang = (sin(alt) - cos(alt) * zf * r * sin(θ - az)) / sqrt(1 + zf² r²)``
    with ``zf = z_factor / 8``, ``r = hypot(x, y)``, ``θ = atan2(y, x)``,
    ``x = ((a + 2d + g) - (c + 2f + i)) / xres`` and
    ``y = ((g + 2h + i) - (a + 2b + c)) / -yres``; the value is ``1`` where
    ``cang <= 0`` and ``1 + 254 cang`` elsewhere.  This equals the textbook
    ``cos(zenith) cos(slope) + sin(zenith) sin(slope) cos(az - aspect)``.

    References
    ----------
    .. [1] GDAL, ``gdaldem hillshade`` (``GDALHillshadeAlg``).
    """
    z, xres, yres = _elevation_and_res(dem, res)
    out = np.full(z.shape, np.nan)
    if min(z.shape) < 3:
        return out
    a, b, c, d, _, f, g, h, i = window(z)
    x = ((a + 2 * d + g) - (c + 2 * f + i)) / xres
    y = ((g + 2 * h + i) - (a + 2 * b + c)) / -yres
    zf = z_factor / 8.0
    alt, az = math.radians(altitude), math.radians(azimuth)
    r2 = x * x + y * y
    cang = ((math.sin(alt) - math.cos(alt) * zf * np.sqrt(r2) * np.sin(np.arctan2(y, x) - az))
            / np.sqrt(1 + zf * zf * r2))
    with np.errstate(invalid="ignore"):
        out[1:-1, 1:-1] = np.where(cang <= 0.0, 1.0, 1.0 + 254.0 * cang)
    out[1:-1, 1:-1][np.isnan(cang)] = np.nan
    out[np.isnan(z)] = np.nan                 # nodata centre (the window formula skips it)
    return out


