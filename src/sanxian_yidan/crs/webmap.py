"""Chinese web-map coordinates: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to and from WGS84."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import SanxianWarning, problem
from .settings import crs_settings

#: A coordinate value as returned by the conversions: ``float`` for scalar input, array otherwise.
Coordinate = float | NDArray[np.float64]
# Parameters of the GCJ-02 obfuscation as reconstructed in the widely circulated public code: the Krasovsky
# 1940 ellipsoid (semi-major axis [m], first eccentricity squared).  These are constants of the algorithm,
# not settings: changing them would no longer reproduce what Amap/Tencent serve.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# Baidu's BD-09 scrambling of GCJ-02 (the widely circulated formula): angular factor and fixed shift [deg].
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006
# Radius used only to express a residual in degrees as metres for the stopping test; 0.5 % is plenty there.
_EARTH_RADIUS_M = 6378137.0
# One conversion step: longitude/latitude arrays [deg] in, converted arrays out.
_Step = Callable[[NDArray[np.float64], NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]

# --------------------------------------------------------------------------------------------------
# GCJ-02 / BD-09
# --------------------------------------------------------------------------------------------------
def _convert(lon: ArrayLike, lat: ArrayLike, *steps: _Step) -> tuple[Coordinate, Coordinate]:
    """Apply the conversion ``steps`` in turn to the broadcast inputs; floats for scalar input, arrays otherwise."""
    # broadcast_arrays returns read-only views of the caller's data; copy so no later step can write back.
    lon_a, lat_a = (np.array(a, dtype=float) for a in np.broadcast_arrays(np.asarray(lon, dtype=float),
                                                                           np.asarray(lat, dtype=float)))
    for step in steps:
        lon_a, lat_a = step(lon_a, lat_a)
    if np.ndim(lon) == 0 and np.ndim(lat) == 0:
        return float(lon_a), float(lat_a)
    return lon_a, lat_a


def outside_mainland_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a point lies outside the mainland-China box in which GCJ-02 and BD-09 differ from WGS84.

    Parameters
    ----------
    lon, lat : float or array_like
        Longitude and latitude [deg].

    References
    ----------
    .. [1] ``data/crs.toml`` ``[gcj02] mainland_bbox``.
    """
    return _outside_mainland(np.atleast_1d(np.asarray(lon, dtype=float)), np.atleast_1d(np.asarray(lat, dtype=float)))


def _outside_mainland(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    west, south, east, north = crs_settings().gcj02.mainland_bbox
    return (lon < west) | (lon > east) | (lat < south) | (lat > north)


def _gcj_offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 minus WGS84 [deg] at a WGS84 position (zero outside mainland China)."""
    # The obfuscation polynomial works on offsets from (105E, 35N) and returns metres-like values on the
    # Krasovsky ellipsoid, which are then turned into degrees with its meridian and prime-vertical radii.
    x = lon - 105.0
    y = lat - 35.0
    two_thirds = 2.0 / 3.0
    pi = math.pi
    shared = (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * two_thirds
    north_m = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + shared
               + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * two_thirds
               + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * two_thirds)
    east_m = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + shared
              + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * two_thirds
              + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * two_thirds)
    phi = np.radians(lat)
    w2 = 1.0 - _GCJ_EE * np.sin(phi) ** 2
    meridian_radius = _GCJ_A * (1.0 - _GCJ_EE) / (w2 * np.sqrt(w2))
    parallel_radius = _GCJ_A / np.sqrt(w2) * np.cos(phi)
    outside = _outside_mainland(lon, lat)
    return (np.where(outside, 0.0, np.degrees(east_m / parallel_radius)),
            np.where(outside, 0.0, np.degrees(north_m / meridian_radius)))


def _wgs_to_gcj(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    radius = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    angle = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return radius * np.cos(angle) + _BD_DLON, radius * np.sin(angle) + _BD_DLAT


def _bd_to_gcj_first_guess(lon: NDArray[np.float64],
                           lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # The circulated one-step inverse; off by up to ~0.13 m around Suizhou, so it only seeds the iteration.
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    radius = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    angle = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return radius * np.cos(angle), radius * np.sin(angle)


def _residual_m(dlon: NDArray[np.float64], dlat: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    k = math.radians(1.0) * _EARTH_RADIUS_M
    return np.hypot(dlon * k * np.cos(np.radians(lat)), dlat * k)


def _invert(forward: _Step, target_lon: NDArray[np.float64], target_lat: NDArray[np.float64],
            lon: NDArray[np.float64], lat: NDArray[np.float64], what: str
            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Solve ``forward(lon, lat) == target`` by fixed-point iteration from the given start.

    Both obfuscations are the identity plus an offset that changes by a few thousandths of the distance
    moved, so ``p <- p - (forward(p) - target)`` gains two to three digits per step (around Suizhou:
    3 m after the first guess, 1 cm after one step, under 1 mm after two).
    """
    s = crs_settings().gcj02
    shape = target_lon.shape
    target_lon, target_lat, lon, lat = (np.array(a, dtype=float).ravel() for a in (target_lon, target_lat, lon, lat))
    active = np.isfinite(target_lon) & np.isfinite(target_lat)
    worst = 0.0
    for _ in range(s.max_iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        flon, flat = forward(lon[idx], lat[idx])
        rlon = flon - target_lon[idx]
        rlat = flat - target_lat[idx]
        err = _residual_m(rlon, rlat, lat[idx])
        open_ = err > s.iteration_tolerance_m
        active[idx[~open_]] = False
        move = idx[open_]
        lon[move] -= rlon[open_]
        lat[move] -= rlat[open_]
        worst = float(err[open_].max()) if open_.any() else 0.0
    if active.any():
        warnings.warn(problem(
            f"{what} 反算未收敛。",
            f"The {what} inverse did not converge for {int(active.sum())} point(s) within "
            f"{s.max_iterations} iterations (last residual {worst:.3g} m); such points usually lie at the edge "
            "of the mainland-China box, where the offset switches on and off.",
            fix="check that the points are really web-map coordinates inside mainland China"), SanxianWarning,
            stacklevel=5)  # _invert, the inverse, _convert, the public conversion, its caller
    return lon.reshape(shape), lat.reshape(shape)


def _gcj_inverse(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    dlon, dlat = _gcj_offset(lon, lat)
    return _invert(_wgs_to_gcj, lon, lat, lon - dlon, lat - dlat, "GCJ-02")


def _bd_inverse(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return _invert(_gcj_to_bd, lon, lat, *_bd_to_gcj_first_guess(lon, lat), "BD-09")


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Coordinate, Coordinate]:
    """Convert WGS84 longitude/latitude to GCJ-02 (Amap, Tencent, Google China maps).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 (or CGCS2000) longitude and latitude [deg].

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 coordinates [deg]; floats for scalar input, arrays of the
        broadcast shape otherwise.  Points outside the rough mainland-China
        box (``gcj02.mainland_bbox`` in ``data/crs.toml``) are returned
        unchanged, as the web maps do; NaN stays NaN.

    Notes
    -----
    GCJ-02 is the officially required obfuscation of Chinese web maps.  The
    algorithm is not published by the authority; this is the reconstruction
    every open tool uses (Krasovsky 1940 ellipsoid, offset polynomial in
    ``lon - 105``, ``lat - 35``).  Around Suizhou it moves points by
    590-630 m [2]_.

    References
    ----------
    .. [1] The widely circulated public reconstruction of the GCJ-02 algorithm
       (e.g. the public-domain ``prcoords`` library).
    .. [2] Measured with pyproj.Geod over the Suizhou study area (tests/test_crs.py): 590-630 m around the
       city, 575-632 m over the whole box.
    """
    return _convert(lon, lat, _wgs_to_gcj)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Coordinate, Coordinate]:
    """Convert GCJ-02 longitude/latitude (copied from Amap/Tencent) to WGS84.

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude [deg].

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS84 coordinates [deg] (floats for scalar input).  Unchanged outside
        the rough mainland-China box.

    Notes
    -----
    The obfuscation has no closed-form inverse.  The one-step approximation
    (subtract the offset computed at the GCJ-02 point) is off by metres; here
    it only seeds a fixed-point iteration that stops when the forward image of
    the estimate is within ``gcj02.iteration_tolerance_m`` (1 mm) of the input,
    so the result is far inside the 0.5 m requirement.  A
    :class:`~sanxian_yidan.errors.SanxianWarning` is issued if any point does
    not converge within ``gcj02.max_iterations``.

    References
    ----------
    .. [1] ``data/crs.toml`` ``[gcj02]``; see :func:`wgs84_to_gcj02`.
    """
    return _convert(lon, lat, _gcj_inverse)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Coordinate, Coordinate]:
    """Convert GCJ-02 longitude/latitude to Baidu's BD-09.

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 longitude and latitude [deg].

    Returns
    -------
    lon, lat : float or numpy.ndarray
        BD-09 coordinates [deg] (floats for scalar input).

    Notes
    -----
    Baidu's formula (``x_pi = pi * 3000 / 180``: a small radial and angular
    perturbation of the polar form, then a shift of 0.0065° E, 0.006° N).
    Unlike GCJ-02 it has no mainland-China test: it is applied everywhere.

    References
    ----------
    .. [1] The widely circulated BD-09 formula attributed to Baidu
       (``x_pi = pi * 3000 / 180``), as reproduced e.g. by the public-domain
       ``prcoords`` library.
    """
    return _convert(lon, lat, _gcj_to_bd)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Coordinate, Coordinate]:
    """Convert BD-09 longitude/latitude (copied from Baidu Maps) to GCJ-02.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude [deg].

    Returns
    -------
    lon, lat : float or numpy.ndarray
        GCJ-02 coordinates [deg] (floats for scalar input).

    Notes
    -----
    The circulated one-step inverse is off by about a decimetre; it seeds the same
    fixed-point iteration as :func:`gcj02_to_wgs84` (1 mm tolerance).

    References
    ----------
    .. [1] See :func:`gcj02_to_bd09`.
    """
    return _convert(lon, lat, _bd_inverse)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Coordinate, Coordinate]:
    """Convert WGS84 longitude/latitude to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude [deg].

    Returns
    -------
    lon, lat : float or numpy.ndarray
        BD-09 coordinates [deg] (floats for scalar input).  Around Suizhou the
        shift is 1.24-1.29 km [1]_.  Outside mainland China only the BD-09 step
        applies (GCJ-02 equals WGS84 there).

    References
    ----------
    .. [1] Measured with pyproj.Geod over the Suizhou study area (tests/test_crs.py): 1.24-1.29 km around
       the city, 1.21-1.30 km over the whole box.
    """
    return _convert(lon, lat, _wgs_to_gcj, _gcj_to_bd)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Coordinate, Coordinate]:
    """Convert BD-09 longitude/latitude (copied from Baidu Maps) to WGS84.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 longitude and latitude [deg].

    Returns
    -------
    lon, lat : float or numpy.ndarray
        WGS84 coordinates [deg] (floats for scalar input); both inverse steps
        are iterated to 1 mm.

    References
    ----------
    .. [1] See :func:`bd09_to_gcj02` and :func:`gcj02_to_wgs84`.
    """
    return _convert(lon, lat, _bd_inverse, _gcj_inverse)


