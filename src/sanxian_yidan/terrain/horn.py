"""Horn's 3×3 gradient on a plain elevation grid: the array kernel behind slope, aspect and hillshade.

This module knows nothing of :class:`~sanxian_yidan.terrain.dem.Dem`: it works on a 2-D
array and its cell size, so both the DEM container (:attr:`Dem.grids`) and the public
functions in :mod:`sanxian_yidan.terrain.surface` can use it without importing each other.

References
----------
.. [1] Horn, B.K.P. (1981). Hill shading and the reflectance map.
   Proceedings of the IEEE 69(1), 14-47.
.. [2] GDAL ``gdaldem`` documentation and ``apps/gdaldem_lib.cpp`` (Horn variant).
"""

from __future__ import annotations

import numpy as np


def window(z: np.ndarray) -> tuple[np.ndarray, ...]:
    """The nine neighbours a..i of every interior cell (gdaldem's afWin[0..8], north row first).

    Parameters
    ----------
    z : numpy.ndarray
        2-D elevations [m], north row first, at least 3×3.

    Returns
    -------
    tuple of numpy.ndarray
        Nine views of shape ``(rows - 2, cols - 2)``: ``a b c / d e f / g h i``.
    """
    return (z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:],
            z[1:-1, :-2], z[1:-1, 1:-1], z[1:-1, 2:],
            z[2:, :-2], z[2:, 1:-1], z[2:, 2:])


def horn_gradient(z: np.ndarray, xres: float, yres: float) -> tuple[np.ndarray, np.ndarray]:
    """Horn's gradient of the interior cells.

    Parameters
    ----------
    z : numpy.ndarray
        2-D elevations [m], north row first, at least 3×3.
    xres, yres : float
        Cell size east-west and north-south [m], both positive.

    Returns
    -------
    dz_east, dz_south : numpy.ndarray
        ``dz/dx`` eastwards and ``dz/dy`` southwards [m/m] of the interior cells.

    References
    ----------
    .. [1] Horn (1981), see the module references.
    """
    a, b, c, d, _, f, g, h, i = window(z)
    dz_east = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * xres)
    dz_south = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * yres)
    return dz_east, dz_south


def slope_aspect_grid(z: np.ndarray, xres: float, yres: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope [deg] and aspect [deg clockwise from north] of a plain elevation grid.

    The computation of :func:`sanxian_yidan.terrain.surface.slope_aspect` once the
    elevations and cell size are known (see there for the formulas and conventions):
    edges, nodata cells and windows touching nodata are ``NaN``; flat cells have a
    ``NaN`` aspect.

    Parameters
    ----------
    z : numpy.ndarray
        2-D float elevations [m], north row first, ``NaN`` for nodata.
    xres, yres : float
        Cell size east-west and north-south [m], both positive.

    Returns
    -------
    slope, aspect : numpy.ndarray
        Arrays of the shape of ``z``.

    References
    ----------
    .. [1] Horn (1981), see the module references.
    .. [2] GDAL, ``gdaldem`` slope and aspect (Horn algorithm).
    """
    slope = np.full(z.shape, np.nan)
    aspect = np.full(z.shape, np.nan)
    if min(z.shape) < 3:
        return slope, aspect
    dz_east, dz_south = horn_gradient(z, xres, yres)
    inner = (slice(1, -1), slice(1, -1))
    slope[inner] = np.degrees(np.arctan(np.hypot(dz_east, dz_south)))
    with np.errstate(invalid="ignore"):
        azimuth = np.mod(np.degrees(np.arctan2(-dz_east, dz_south)), 360.0)
    azimuth[azimuth == 360.0] = 0.0          # rounding of tiny negative angles, as gdaldem does
    azimuth[(dz_east == 0) & (dz_south == 0)] = np.nan
    aspect[inner] = azimuth
    # the window formula does not use the centre cell: a nodata centre is nodata (as gdaldem)
    slope[np.isnan(z)] = np.nan
    aspect[np.isnan(z)] = np.nan
    return slope, aspect
