"""Coordinate reference systems met in Chinese planning data, and the web-map offsets.

What a planner in Suizhou is handed comes in a handful of systems: CGCS2000
longitude/latitude, CGCS2000 3-degree Gauss-Kruger (GK) coordinates with or
without the zone number in front of the easting, the legacy Xian 1980 and
Beijing 1954 GK grids, WGS84, Web Mercator, and coordinates copied from Amap or
Tencent (GCJ-02) or Baidu (BD-09).  This module

* names the working CRS and the study area (``data/crs.toml``);
* builds the GK CRSs of the three datums and reads/strips easting zone prefixes;
* infers the CRS of coordinates that come without one, and detects swapped
  X/Y, by plausibility against the study area;
* converts between WGS84, GCJ-02 and BD-09 with iterated inverses that are
  accurate to about a millimetre.

All functions are vectorised over numpy arrays and never modify their inputs.

References
----------
.. [1] EPSG Geodetic Parameter Dataset, as shipped in the PROJ database with
   pyproj 3.7 (codes of the GK zones, legacy datums and their transformations).
.. [2] RULES_REFERENCE.md, section "Coordinates" (working CRS, size of the
   GCJ-02 and BD-09 offsets around Suizhou, land-boundary TXT conventions).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from .datafiles import packaged, packaged_path, require
from .errors import CRSError, DataFileError, SanxianWarning, problem

__all__ = [
    "WORKING_CRS", "DATUMS", "CRSGuess", "study_area_bounds", "points_in_study_area",
    "gcj02_to_wgs84", "wgs84_to_gcj02", "bd09_to_wgs84", "wgs84_to_bd09", "gcj02_to_bd09", "bd09_to_gcj02",
    "gk_crs", "zone_from_easting", "strip_zone_prefix", "infer_crs", "detect_swapped_xy",
    "is_legacy_datum", "legacy_datum_warning", "outside_mainland_china",
]

#: A coordinate value as returned by the conversions: ``float`` for scalar input, array otherwise.
Coordinate = Union[float, NDArray[np.float64]]

#: Datum names accepted by :func:`gk_crs`.
DATUMS = ("CGCS2000", "Xian1980", "Beijing1954")

_DATA_FILE = "crs.toml"

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
# Web Mercator covers |x|, |y| <= pi * 6378137 (the square of the EPSG:3857 world).
_WEB_MERCATOR_LIMIT = math.pi * 6378137.0
# Digit-count conventions of GK coordinates: an easting with the zone prefix has 8 integer digits, one
# without it at most 6 (false easting 500 km); a northing has 7 in mainland China (2.0e6-6.0e6 m).
_PREFIXED_RANGE = (1e7, 1e8)
_UNPREFIXED_RANGE = (1e5, 1e6)
_NORTHING_RANGE = (1e6, 1e7)


# --------------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _GKFamily:
    width: int
    first_zone: int
    last_zone: int
    first_cm: int
    last_cm: int
    epsg: tuple[tuple[str, int, int], ...]  # (datum, first prefixed EPSG, first CM EPSG)


@dataclass(frozen=True)
class _Settings:
    working_crs: str
    bounds: tuple[float, float, float, float]
    margin_deg: float
    gk: tuple[_GKFamily, ...]
    legacy_datums: tuple[str, ...]
    legacy_zh: tuple[tuple[str, str], ...]
    legacy_message: str
    gcj_tolerance_m: float
    gcj_max_iterations: int
    mainland_bbox: tuple[float, float, float, float]


def _number(table: dict[str, Any], key: str, where: str) -> float:
    return float(require(table, key, (int, float), file=packaged_path(_DATA_FILE), where=where))


@lru_cache(maxsize=1)
def _settings() -> _Settings:
    data = packaged(_DATA_FILE)
    path = packaged_path(_DATA_FILE)

    def table(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = require(parent, key, dict, file=path, where=where)
        require(value, "source", str, file=path, where=f"{where}.{key}" if where != "top level" else key)
        return value

    working = table(data, "working", "top level")
    area = table(data, "study_area", "top level")
    bounds = tuple(_number(area, k, "study_area") for k in ("west", "south", "east", "north"))
    if not (bounds[0] < bounds[2] and bounds[1] < bounds[3]):
        raise DataFileError(problem("研究区范围无效。", f"study_area bounds are not west<east, south<north: {bounds}",
                                    file=path, fix="correct [study_area] west/east/south/north"))
    families = []
    gk = table(data, "gauss_kruger", "top level")
    for width in (3, 6):
        fam = table(gk, f"width{width}", "gauss_kruger")
        where = f"gauss_kruger.width{width}"
        epsg = []
        for datum in DATUMS:
            d = table(fam, datum, where)
            epsg.append((datum, int(_number(d, "first_epsg", f"{where}.{datum}")),
                         int(_number(d, "cm_first_epsg", f"{where}.{datum}"))))
        families.append(_GKFamily(width, *(int(_number(fam, k, where))
                                           for k in ("first_zone", "last_zone", "first_cm", "last_cm")),
                                  epsg=tuple(epsg)))
    legacy = table(data, "legacy_datums", "top level")
    names = require(legacy, "datums", list, file=path, where="legacy_datums")
    zh = table(legacy, "zh_names", "legacy_datums")
    gcj = table(data, "gcj02", "top level")
    box = require(gcj, "mainland_bbox", list, file=path, where="gcj02")
    if len(box) != 4:
        raise DataFileError(problem("gcj02.mainland_bbox 应有 4 个数。", f"gcj02.mainland_bbox needs 4 numbers, got {box!r}",
                                    file=path, fix="write [west, south, east, north]"))
    tolerance = _number(gcj, "iteration_tolerance_m", "gcj02")
    required = _number(gcj, "required_accuracy_m", "gcj02")
    if not 0 < tolerance < required:
        raise DataFileError(problem(
            "gcj02.iteration_tolerance_m 必须为正且小于 required_accuracy_m。",
            f"gcj02.iteration_tolerance_m ({tolerance}) must be positive and below required_accuracy_m ({required}).",
            file=path, fix="use a tolerance well under the required accuracy, e.g. 0.001"))
    return _Settings(
        working_crs=require(working, "crs", str, file=path, where="working"),
        bounds=bounds,  # type: ignore[arg-type]
        margin_deg=_number(area, "margin_deg", "study_area"),
        gk=tuple(families),
        legacy_datums=tuple(str(n) for n in names),
        legacy_zh=tuple((str(n), str(zh.get(n, n))) for n in names),
        legacy_message=require(legacy, "message", str, file=path, where="legacy_datums"),
        gcj_tolerance_m=tolerance,
        gcj_max_iterations=int(_number(gcj, "max_iterations", "gcj02")),
        mainland_bbox=tuple(float(v) for v in box),  # type: ignore[arg-type]
    )


#: The CRS analyses run in (CGCS2000 / 3-degree GK CM 114E for Suizhou), from ``data/crs.toml``.
WORKING_CRS: str = _settings().working_crs


def study_area_bounds() -> tuple[float, float, float, float]:
    """Return the Suizhou study-area box.

    Returns
    -------
    tuple of float
        ``(west, south, east, north)`` [deg] in longitude/latitude (CGCS2000 ≈
        WGS84), the order of ``GeoDataFrame.total_bounds``; without the
        plausibility margin.

    References
    ----------
    .. [1] ``data/crs.toml`` ``[study_area]`` (shared reference README bbox).
    """
    return _settings().bounds


def points_in_study_area(lon: ArrayLike, lat: ArrayLike, *, margin_deg: float | None = None) -> NDArray[np.bool_]:
    """Tell which points lie in the study area grown by a margin.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude [deg].
    margin_deg : float, optional
        Margin added on every side [deg]; default ``study_area.margin_deg``
        from ``data/crs.toml`` (0.5°).  Pass ``0`` for the bare box.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as the broadcast inputs (0-d for scalars); NaN is ``False``.
    """
    s = _settings()
    m = s.margin_deg if margin_deg is None else float(margin_deg)
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    west, south, east, north = s.bounds
    return ((lon_a >= west - m) & (lon_a <= east + m) & (lat_a >= south - m) & (lat_a <= north + m))


# --------------------------------------------------------------------------------------------------
# GCJ-02 / BD-09
# --------------------------------------------------------------------------------------------------
def _inputs(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    # broadcast_arrays returns read-only views of the caller's data; copy so no later step can write back.
    return np.array(lon_a, dtype=float), np.array(lat_a, dtype=float), scalar


def _outputs(lon: NDArray[np.float64], lat: NDArray[np.float64], scalar: bool) -> tuple[Coordinate, Coordinate]:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


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
    west, south, east, north = _settings().mainland_bbox
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
    dlat = np.degrees(north_m / meridian_radius)
    dlon = np.degrees(east_m / parallel_radius)
    outside = _outside_mainland(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


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


def _invert(forward: Callable[[NDArray[np.float64], NDArray[np.float64]],
                              tuple[NDArray[np.float64], NDArray[np.float64]]],
            target_lon: NDArray[np.float64], target_lat: NDArray[np.float64],
            lon: NDArray[np.float64], lat: NDArray[np.float64], what: str
            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Solve ``forward(lon, lat) == target`` by fixed-point iteration from the given start.

    Both obfuscations are the identity plus an offset that changes by a few thousandths of the distance
    moved, so ``p <- p - (forward(p) - target)`` gains two to three digits per step (around Suizhou:
    3 m after the first guess, 1 cm after one step, under 1 mm after two).
    """
    s = _settings()
    shape = target_lon.shape
    target_lon = target_lon.ravel()
    target_lat = target_lat.ravel()
    lon = lon.ravel().copy()
    lat = lat.ravel().copy()
    active = np.isfinite(target_lon) & np.isfinite(target_lat)
    worst = 0.0
    for _ in range(s.gcj_max_iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        flon, flat = forward(lon[idx], lat[idx])
        rlon = flon - target_lon[idx]
        rlat = flat - target_lat[idx]
        err = _residual_m(rlon, rlat, lat[idx])
        open_ = err > s.gcj_tolerance_m
        active[idx[~open_]] = False
        move = idx[open_]
        lon[move] -= rlon[open_]
        lat[move] -= rlat[open_]
        worst = float(err[open_].max()) if open_.any() else 0.0
    if active.any():
        warnings.warn(problem(
            f"{what} 反算未收敛。",
            f"The {what} inverse did not converge for {int(active.sum())} point(s) within "
            f"{s.gcj_max_iterations} iterations (last residual {worst:.3g} m); such points usually lie at the edge "
            "of the mainland-China box, where the offset switches on and off.",
            fix="check that the points are really web-map coordinates inside mainland China"), SanxianWarning,
            stacklevel=4)
    return lon.reshape(shape), lat.reshape(shape)


def _gcj_inverse(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    dlon, dlat = _gcj_offset(lon, lat)
    return _invert(_wgs_to_gcj, lon, lat, lon - dlon, lat - dlat, "GCJ-02")


def _bd_inverse(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    glon, glat = _bd_to_gcj_first_guess(lon, lat)
    return _invert(_gcj_to_bd, lon, lat, glon, glat, "BD-09")


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
    .. [2] RULES_REFERENCE.md, "Coordinates".
    """
    lon_a, lat_a, scalar = _inputs(lon, lat)
    return _outputs(*_wgs_to_gcj(lon_a, lat_a), scalar)


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
    lon_a, lat_a, scalar = _inputs(lon, lat)
    return _outputs(*_gcj_inverse(lon_a, lat_a), scalar)


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
    lon_a, lat_a, scalar = _inputs(lon, lat)
    return _outputs(*_gcj_to_bd(lon_a, lat_a), scalar)


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
    lon_a, lat_a, scalar = _inputs(lon, lat)
    return _outputs(*_bd_inverse(lon_a, lat_a), scalar)


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
    .. [1] RULES_REFERENCE.md, "Coordinates".
    """
    lon_a, lat_a, scalar = _inputs(lon, lat)
    return _outputs(*_gcj_to_bd(*_wgs_to_gcj(lon_a, lat_a)), scalar)


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
    lon_a, lat_a, scalar = _inputs(lon, lat)
    return _outputs(*_gcj_inverse(*_bd_inverse(lon_a, lat_a)), scalar)


# --------------------------------------------------------------------------------------------------
# Gauss-Kruger zones
# --------------------------------------------------------------------------------------------------
def _family(width: int) -> _GKFamily:
    for fam in _settings().gk:
        if fam.width == width:
            return fam
    raise CRSError(problem(f"不支持 {width} 度分带。", f"Unsupported GK zone width {width!r}; allowed: 3 or 6.",
                           fix="pass width=3 (3-degree zones) or width=6 (6-degree zones)"))


def _canonical_datum(datum: str) -> str:
    key = "".join(ch for ch in str(datum).lower() if ch.isalnum())
    aliases = {"cgcs2000": "CGCS2000", "china2000": "CGCS2000", "xian1980": "Xian1980", "xian80": "Xian1980",
               "beijing1954": "Beijing1954", "beijing54": "Beijing1954"}
    if key not in aliases:
        raise CRSError(problem(f"不支持的大地基准 {datum!r}。", f"Unknown datum {datum!r}; allowed: {', '.join(DATUMS)}.",
                               fix="pass datum='CGCS2000', 'Xian1980' or 'Beijing1954'"))
    return aliases[key]


def gk_crs(zone_or_cm: int, *, datum: str = "CGCS2000", prefixed: bool, width: int = 3) -> CRS:
    """Return the Gauss-Kruger CRS of a zone of one of China's datums.

    Parameters
    ----------
    zone_or_cm : int
        With ``prefixed=True`` the zone number (3-degree: 25-45, 6-degree:
        13-23), whose number stands in front of the easting.  With
        ``prefixed=False`` the central meridian [deg E] (75-135; a multiple of
        3, or of 6 minus 3 for 6-degree zones).
    datum : {"CGCS2000", "Xian1980", "Beijing1954"}
        Geodetic datum (spellings such as "Xian 1980" or "beijing54" are
        accepted).
    prefixed : bool
        Whether the easting carries the zone number (false easting
        ``zone * 1e6 + 500000`` m) or not (500000 m).  Keyword-only and
        required, because the two are easy to confuse.
    width : {3, 6}
        Zone width [deg].

    Returns
    -------
    pyproj.CRS
        E.g. ``gk_crs(38, prefixed=True)`` is EPSG:4526 and
        ``gk_crs(114, prefixed=False)`` EPSG:4547.

    Raises
    ------
    CRSError
        For an unknown datum or width, or a zone/meridian outside China's range.

    References
    ----------
    .. [1] EPSG registry; code ranges in ``data/crs.toml`` ``[gauss_kruger]``.
    """
    fam = _family(width)
    name = _canonical_datum(datum)
    first_epsg, cm_first_epsg = next((p, c) for d, p, c in fam.epsg if d == name)
    value = int(zone_or_cm)
    if value != zone_or_cm:
        raise CRSError(problem("带号/中央经线必须是整数。", f"Zone or central meridian must be an integer, got {zone_or_cm!r}.",
                               fix="pass e.g. 38 (zone) or 114 (central meridian)"))
    if prefixed:
        if not fam.first_zone <= value <= fam.last_zone:
            raise CRSError(problem(f"{width} 度带号 {value} 超出范围。",
                                   f"{width}-degree zone {value} is outside China's zones "
                                   f"{fam.first_zone}-{fam.last_zone}.",
                                   fix="check the zone number (Suizhou: 3-degree zone 38), or pass the right width="))
        return CRS.from_epsg(first_epsg + value - fam.first_zone)
    offset = value - fam.first_cm
    if not (fam.first_cm <= value <= fam.last_cm and offset % width == 0):
        raise CRSError(problem(f"中央经线 {value}° 不是 {width} 度带的中央经线。",
                               f"{value}E is not a {width}-degree central meridian between {fam.first_cm}E and "
                               f"{fam.last_cm}E (every {width}°).",
                               fix="pass the central meridian in degrees, e.g. 114 for Suizhou, or prefixed=True "
                                   "with a zone number"))
    return CRS.from_epsg(cm_first_epsg + offset // width)


def _finite(values: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def zone_from_easting(easting: ArrayLike, *, width: int = 3) -> int | None:
    """Read the zone number from GK eastings that carry it.

    Parameters
    ----------
    easting : float or array_like
        Easting(s) [m] of one data set (the second coordinate of a
        land-boundary TXT point line, e.g. ``40520986.477``).
    width : {3, 6}
        Zone width [deg] whose zone range the prefix must fall in
        (3-degree: 25-45, 6-degree: 13-23).

    Returns
    -------
    int or None
        The zone number for 8-digit eastings, ``None`` for eastings below
        1 000 000 m (no prefix).  NaN values are ignored.

    Raises
    ------
    CRSError
        When the values are not GK eastings (7 digits, more than 8, negative),
        when their prefixes differ, or when the prefix is outside the zone range.
    """
    fam = _family(width)
    values = _finite(easting)
    if values.size == 0:
        raise CRSError(problem("没有有效的东坐标。", "No finite easting values were given.",
                               fix="pass the easting column (Y in Chinese surveying notation)"))
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi < _UNPREFIXED_RANGE[1]:
        return None
    if not (lo >= _PREFIXED_RANGE[0] and hi < _PREFIXED_RANGE[1]):
        raise CRSError(problem(
            "东坐标既不是 8 位（带号）也不是 6 位。",
            f"Eastings range from {lo:.3f} to {hi:.3f} m: neither all 8-digit (zone prefix) nor all below "
            "1 000 000 m (no prefix); 7-digit values are usually northings.",
            fix="pass the easting (in a land-boundary TXT the second coordinate, e.g. 40520986.477), all from "
                "one zone"))
    zones = np.unique(np.floor(values / 1e6).astype(int))
    if zones.size != 1:
        raise CRSError(problem("东坐标的带号不一致。", f"Eastings carry different zone prefixes: {zones.tolist()}.",
                               fix="split the data by zone, or convert it to one zone first"))
    zone = int(zones[0])
    if not fam.first_zone <= zone <= fam.last_zone:
        other = next((f for f in _settings().gk if f.width != width and f.first_zone <= zone <= f.last_zone), None)
        hint = f"; {zone} is a {other.width}-degree zone: pass width={other.width}" if other else ""
        raise CRSError(problem(f"带号 {zone} 不在 {width} 度带范围内。",
                               f"Zone prefix {zone} is outside the {width}-degree zones of China "
                               f"({fam.first_zone}-{fam.last_zone}){hint}.",
                               fix="check that the value is a GK easting (Web Mercator x is also 8 digits) and "
                                   "state the CRS with crs='EPSG:....'"))
    return zone


def strip_zone_prefix(easting: ArrayLike, zone: int) -> Coordinate:
    """Remove the zone number from prefixed GK eastings.

    Parameters
    ----------
    easting : float or array_like
        8-digit eastings [m] of zone ``zone``.
    zone : int
        Their zone number (25-45 for 3-degree zones, 13-23 for 6-degree).

    Returns
    -------
    float or numpy.ndarray
        ``easting - zone * 1e6`` [m] (false easting 500000 m), a float for
        scalar input.

    Raises
    ------
    CRSError
        When the eastings do not carry ``zone`` as their prefix.
    """
    width = next((f.width for f in _settings().gk if f.first_zone <= zone <= f.last_zone), 3)
    found = zone_from_easting(easting, width=width)
    if found != zone:
        raise CRSError(problem(f"东坐标不带 {zone} 带号。",
                               f"The eastings do not start with zone {zone} (found "
                               f"{'no prefix' if found is None else f'zone {found}'}).",
                               fix="pass the zone read with zone_from_easting(); leave unprefixed eastings as they are"))
    arr = np.asarray(easting, dtype=float) - zone * 1e6
    return float(arr) if arr.ndim == 0 else arr


# --------------------------------------------------------------------------------------------------
# inference and plausibility
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CRSGuess:
    """The CRS that a set of coordinates appears to be in.

    Attributes
    ----------
    crs : pyproj.CRS
        The CRS of the coordinates once X/Y are in GIS order (x = easting or
        longitude).
    swapped : bool
        True when the given x holds northing/latitude: swap x and y before
        assigning ``crs``.
    reason : str
        Human-readable explanation (English / Chinese).
    certain : bool
        True when the interpretation puts every point in the study area (box
        plus margin) without stretching, so it may be used with a warning;
        False for a guess that the caller must confirm with ``crs=``.
    """

    crs: CRS
    swapped: bool
    reason: str
    certain: bool


def _to_crs(crs: Any) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except PyprojCRSError as exc:
        raise CRSError(problem(f"无法识别坐标系 {crs!r}。", f"Unknown CRS {crs!r}: {exc}",
                               fix="use an EPSG code such as 'EPSG:4547' or 'EPSG:4490'")) from exc


@lru_cache(maxsize=64)
def _to_lonlat(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4490", always_xy=True)


def _lonlat(x: NDArray[np.float64], y: NDArray[np.float64],
            crs: CRS) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if crs.is_geographic and crs.geodetic_crs is not None and crs.geodetic_crs.datum.name in (
            "China 2000", "World Geodetic System 1984 ensemble", "World Geodetic System 1984"):
        return x, y  # no datum change worth a transformation for a plausibility test
    lon, lat = _to_lonlat(crs).transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _lands(x: NDArray[np.float64], y: NDArray[np.float64], crs: CRS) -> bool:
    lon, lat = _lonlat(x, y, crs)
    return bool(np.all(points_in_study_area(lon, lat)))


def detect_swapped_xy(x: ArrayLike, y: ArrayLike, crs: Any) -> bool:
    """Tell whether X and Y are swapped for a stated CRS.

    Parameters
    ----------
    x, y : array_like
        Coordinates as stored (x first); NaN values are ignored.
    crs : str, int or pyproj.CRS
        The CRS the data claims to be in; axes are taken in GIS order
        (pyproj ``always_xy=True``: longitude/easting first).

    Returns
    -------
    bool
        True when every point lands in the study area (box plus margin) as
        ``(y, x)`` and not every point does as ``(x, y)``.  Data reaching
        beyond the study area is therefore never flagged.
    """
    x_a, y_a = _finite_pairs(x, y)
    if x_a.size == 0:
        return False
    target = _to_crs(crs)
    if _lands(x_a, y_a, target):
        return False
    return _lands(y_a, x_a, target)


def _finite_pairs(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x_a, y_a = np.broadcast_arrays(np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel())
    keep = np.isfinite(x_a) & np.isfinite(y_a)
    return x_a[keep], y_a[keep]


def _within(values: NDArray[np.float64], bounds: tuple[float, float]) -> bool:
    return bool(np.all((values >= bounds[0]) & (values < bounds[1])))


def _reason(en: str, zh: str, *, lands: bool, swapped: bool) -> str:
    """Join the English and Chinese explanation with the study-area and axis-order verdicts."""
    if lands:
        en += "; every point falls in the Suizhou study area"
        zh += "；全部位于随州研究区"
    else:
        en += "; the points do NOT all fall in the Suizhou study area, so this is only a guess"
        zh += "；并非全部位于随州研究区，仅为推测"
    if swapped:
        en += "; X and Y are swapped (northing/latitude first)"
        zh += "；X、Y 颠倒（北坐标/纬度在前）"
    return f"{en} / {zh}"


def _geographic_candidates(x: NDArray[np.float64], y: NDArray[np.float64]) -> list[CRSGuess]:
    out = []
    crs = CRS.from_epsg(4490)
    for swapped, (lon, lat) in ((False, (x, y)), (True, (y, x))):
        if np.all(np.abs(lon) <= 180.0) and np.all(np.abs(lat) <= 90.0):
            certain = _lands(lon, lat, crs)
            out.append(CRSGuess(crs, swapped, _reason(
                "longitude/latitude in degrees, taken as CGCS2000 (EPSG:4490); pyproj treats CGCS2000 and WGS84 as "
                "identical and they agree to about a metre. Coordinates copied from Amap/Tencent (GCJ-02) or Baidu "
                "(BD-09) look the same but are 0.6-1.3 km off: state crs='GCJ-02' or 'BD-09' for those",
                "经纬度坐标，按 CGCS2000（EPSG:4490）处理；高德/百度坐标（GCJ-02/BD-09）无法从数值区分，需另行指定",
                lands=certain, swapped=swapped), certain))
    return out


def _prefixed_candidates(x: NDArray[np.float64], y: NDArray[np.float64]) -> list[CRSGuess]:
    out = []
    for swapped, (east, north) in ((False, (x, y)), (True, (y, x))):
        if not (_within(east, _PREFIXED_RANGE) and _within(north, (0.0, _NORTHING_RANGE[1]))):
            continue
        zones = np.unique(np.floor(east / 1e6).astype(int))
        if zones.size != 1:
            continue
        zone = int(zones[0])
        fam = next((f for f in _settings().gk if f.first_zone <= zone <= f.last_zone), None)
        if fam is None:
            continue
        crs = gk_crs(zone, prefixed=True, width=fam.width)
        certain = _lands(east, north, crs)
        out.append(CRSGuess(crs, swapped, _reason(
            f"8-digit eastings with zone prefix {zone}: CGCS2000 {fam.width}-degree Gauss-Kruger zone {zone} "
            f"({crs.to_string()}); Xian 1980 / Beijing 1954 grids have the same digits and differ by tens of "
            "metres: state their EPSG code if the data is in one of them",
            f"8 位带号东坐标，按 CGCS2000 {fam.width} 度带第 {zone} 带（{crs.to_string()}）处理；"
            "若为1980西安或1954北京坐标请指定其 EPSG 代码",
            lands=certain, swapped=swapped), certain))
    return out


def _home_cms(width: int = 3) -> list[int]:
    """Central meridians of the zones that cover part of the study area, nearest to its centre first."""
    west, _, east, _ = _settings().bounds
    fam = _family(width)
    half = width / 2.0
    cms = [cm for cm in range(fam.first_cm, fam.last_cm + 1, width) if cm - half < east and cm + half > west]
    return sorted(cms, key=lambda cm: abs(cm - (west + east) / 2.0))


def _unprefixed_candidates(x: NDArray[np.float64], y: NDArray[np.float64]) -> list[CRSGuess]:
    out = []
    home = _home_cms()
    fam = _family(3)
    others = [cm for cm in range(fam.first_cm, fam.last_cm + 1, 3) if cm not in home]
    for swapped, (east, north) in ((False, (x, y)), (True, (y, x))):
        if not (_within(east, (0.0, _UNPREFIXED_RANGE[1])) and _within(north, _NORTHING_RANGE)):
            continue
        lon, lat = _lonlat(east, north, gk_crs(home[0], prefixed=False))
        # Every central meridian gives the same transverse Mercator turned about the polar axis: the longitudes
        # for meridian cm are those for home[0] shifted by (cm - home[0]), so one transform tests them all.
        landing = next((cm for cm in home + others
                        if np.all(points_in_study_area(lon + (cm - home[0]), lat))), None)
        # Without the prefix the zone is only implied.  Only the study area's own zone is a safe reading: a
        # neighbouring meridian that happens to land the points here more likely means data from elsewhere.
        certain = landing in home
        cm = home[0] if landing is None else landing
        crs = gk_crs(cm, prefixed=False)
        if landing is None:
            why = "the study area's own central meridian, although the points do not land in Suizhou with any"
        elif certain:
            why = "the study area's own central meridian, which puts the points in Suizhou"
        else:
            why = (f"a meridian outside the study area's own zone (CM {home[0]}E); it puts the points in Suizhou "
                   "but such data more likely comes from elsewhere")
        out.append(CRSGuess(crs, swapped, _reason(
            f"6-digit eastings and 7-digit northings (Gauss-Kruger without zone prefix): CGCS2000 3-degree CM "
            f"{cm}E ({crs.to_string()}), {why}; Xian 1980 / Beijing 1954 grids have the same digits and differ "
            "by tens of metres: state their EPSG code if the data is in one of them",
            f"无带号高斯-克吕格坐标，按 CGCS2000 3 度带中央经线 {cm}°（{crs.to_string()}）处理；"
            "若为1980西安或1954北京坐标请指定其 EPSG 代码",
            lands=landing is not None, swapped=swapped), certain))
    return out


def _web_mercator_candidates(x: NDArray[np.float64], y: NDArray[np.float64]) -> list[CRSGuess]:
    out = []
    crs = CRS.from_epsg(3857)
    for swapped, (east, north) in ((False, (x, y)), (True, (y, x))):
        if not (np.all(np.abs(east) <= _WEB_MERCATOR_LIMIT) and np.all(np.abs(north) <= _WEB_MERCATOR_LIMIT)):
            continue
        lon, lat = _lonlat(east, north, crs)
        # Any pair of moderate numbers is a valid Web Mercator position; only offer it when it is in China.
        if np.any(_outside_mainland(lon, lat)):
            continue
        certain = bool(np.all(points_in_study_area(lon, lat)))
        out.append(CRSGuess(crs, swapped, _reason(
            "Web Mercator metres (EPSG:3857, e.g. Tianditu '_w' tiles or web-map exports)",
            "Web 墨卡托坐标（EPSG:3857）", lands=certain, swapped=swapped), certain))
    return out


def infer_crs(x: ArrayLike, y: ArrayLike) -> CRSGuess:
    """Infer the CRS of coordinates that come without one.

    Interpretations are tried in this order, and the first that puts every
    point in the study area (box plus margin) is returned with
    ``certain=True``:

    1. longitude/latitude (either axis order) → CGCS2000 EPSG:4490;
    2. 8-digit eastings with a zone prefix (either order) → CGCS2000 GK zone
       of that prefix (3-degree for 25-45, 6-degree for 13-23);
    3. 6-digit eastings and 7-digit northings (either order) → CGCS2000
       3-degree GK with the study area's own central meridian (CM 114E for
       Suizhou, EPSG:4547); if only another meridian lands the points in the
       study area, that one is returned with ``certain=False``;
    4. Web Mercator EPSG:3857 (only if it lands in China).

    When none lands in the study area, the first interpretation that fits the
    magnitudes is returned with ``certain=False``.  Coordinates cannot tell
    CGCS2000 from Xian 1980/Beijing 1954 or WGS84 from GCJ-02/BD-09; the
    reason says so.

    Parameters
    ----------
    x, y : array_like
        Coordinates as stored (x first); NaN values are ignored.

    Returns
    -------
    CRSGuess
        The CRS (for GIS axis order), whether x/y are swapped, the reason and
        whether the guess is certain.

    Raises
    ------
    CRSError
        When there are no finite coordinates or they fit no interpretation;
        the message names the ranges seen and asks for ``crs=``.
    """
    x_a, y_a = _finite_pairs(x, y)
    if x_a.size == 0:
        raise CRSError(problem("没有有效坐标。", "No finite coordinates to infer a CRS from.",
                               fix="check the geometry or coordinate columns; state the CRS with crs='EPSG:....'"))
    fallback: CRSGuess | None = None
    for family in (_geographic_candidates, _prefixed_candidates, _unprefixed_candidates, _web_mercator_candidates):
        for guess in family(x_a, y_a):
            if guess.certain:
                return guess
            fallback = fallback or guess
    if fallback is not None:
        return fallback
    raise CRSError(problem(
        "无法根据坐标判断坐标系。",
        f"The coordinates fit no known CRS: x from {x_a.min():.6g} to {x_a.max():.6g}, y from {y_a.min():.6g} to "
        f"{y_a.max():.6g}. Tried longitude/latitude, Gauss-Kruger with an 8-digit zone-prefixed or a 6-digit "
        "easting (CGCS2000 / Xian 1980 / Beijing 1954) and Web Mercator.",
        fix=f"state the CRS: crs='EPSG:....' in Python or --crs EPSG:.... on the command line (e.g. {WORKING_CRS} "
            "for CGCS2000 GK CM 114E, EPSG:4490 for CGCS2000 longitude/latitude), or `crs` in the catalog entry"))


# --------------------------------------------------------------------------------------------------
# legacy datums
# --------------------------------------------------------------------------------------------------
def _datum_names(crs: CRS) -> list[str]:
    parts = [crs]
    if crs.is_compound:
        parts = list(crs.sub_crs_list)
    names = []
    for part in parts:
        geodetic = part.geodetic_crs
        if geodetic is not None and geodetic.datum is not None:
            names.append(geodetic.datum.name)
    return names


def _legacy_match(crs: Any) -> str | None:
    if crs is None:
        return None
    target = _to_crs(crs)
    for name in _datum_names(target):
        # ESRI .prj files spell datums 'D_Xian_1980'; pyproj keeps that spelling when it cannot map it.
        norm = name.lower().replace("_", " ").strip()
        if norm.startswith("d "):
            norm = norm[2:]
        for legacy in _settings().legacy_datums:
            if norm == legacy.lower():
                return legacy
    return None


def is_legacy_datum(crs: Any) -> bool:
    """Tell whether a CRS is based on a legacy Chinese datum.

    Parameters
    ----------
    crs : str, int, pyproj.CRS or None
        Any CRS pyproj understands (geographic, projected or compound).

    Returns
    -------
    bool
        True for Xian 1980, Beijing 1954 and New Beijing (list in
        ``legacy_datums.datums`` of ``data/crs.toml``); False for ``None``.
    """
    return _legacy_match(crs) is not None


def legacy_datum_warning(crs: Any) -> str | None:
    """Return the warning for data on a legacy datum, or None.

    Parameters
    ----------
    crs : str, int, pyproj.CRS or None
        The data's CRS.

    Returns
    -------
    str or None
        Bilingual text saying that sub-metre work needs the local
        7-parameter transformation (``legacy_datums.message``), or ``None``
        for CGCS2000, WGS84 and other datums.

    References
    ----------
    .. [1] ``data/crs.toml`` ``[legacy_datums]``.
    """
    legacy = _legacy_match(crs)
    if legacy is None:
        return None
    s = _settings()
    zh = dict(s.legacy_zh).get(legacy, legacy)
    return s.legacy_message.format(name=_to_crs(crs).name, datum=legacy, datum_zh=zh)
