"""Gauss-Krüger zones: 3- and 6-degree zone CRSs, zone numbers from eastings, zone prefixes."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from pyproj import CRS

from ..errors import CRSError, problem
from .settings import DATUMS, GKFamily, crs_settings
from .webmap import Coordinate

# Digit-count conventions of GK coordinates: an easting with the zone prefix has 8 integer digits, one
# without it at most 6 (false easting 500 km); a northing has 7 in mainland China (2.0e6-6.0e6 m).
PREFIXED_RANGE = (1e7, 1e8)
UNPREFIXED_RANGE = (1e5, 1e6)

# --------------------------------------------------------------------------------------------------
# Gauss-Kruger zones
# --------------------------------------------------------------------------------------------------
def gk_family(width: int) -> GKFamily:
    for fam in crs_settings().gk:
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
    fam = gk_family(width)
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
    fam = gk_family(width)
    values = np.asarray(easting, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise CRSError(problem("没有有效的东坐标。", "No finite easting values were given.",
                               fix="pass the easting column (Y in Chinese surveying notation)"))
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi < UNPREFIXED_RANGE[1]:
        return None
    if not (lo >= PREFIXED_RANGE[0] and hi < PREFIXED_RANGE[1]):
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
        other = next((f for f in crs_settings().gk if f.width != width and f.first_zone <= zone <= f.last_zone), None)
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
    width = next((f.width for f in crs_settings().gk if f.first_zone <= zone <= f.last_zone), 3)
    found = zone_from_easting(easting, width=width)
    if found != zone:
        raise CRSError(problem(f"东坐标不带 {zone} 带号。",
                               f"The eastings do not start with zone {zone} (found "
                               f"{'no prefix' if found is None else f'zone {found}'}).",
                               fix="pass the zone read with zone_from_easting(); leave unprefixed eastings as they are"))
    arr = np.asarray(easting, dtype=float) - zone * 1e6
    return float(arr) if arr.ndim == 0 else arr


