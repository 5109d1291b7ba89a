"""CRS inference and plausibility: which CRS coordinates without one can be in (inside the study area), swapped X/Y."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from ..errors import CRSError, problem
from .gauss_kruger import _PREFIXED_RANGE, _UNPREFIXED_RANGE, _family, gk_crs
from .settings import WORKING_CRS, _settings, points_in_study_area
from .webmap import _outside_mainland

# Web Mercator covers |x|, |y| <= pi * 6378137 (the square of the EPSG:3857 world).
_WEB_MERCATOR_LIMIT = math.pi * 6378137.0
_NORTHING_RANGE = (1e6, 1e7)

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


