"""CRS inference and plausibility: which CRS coordinates without one can be in (inside the study area), swapped X/Y."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from ..errors import CRSError, problem
from .gauss_kruger import PREFIXED_RANGE, UNPREFIXED_RANGE, gk_crs, gk_family
from .settings import WORKING_CRS, crs_settings, points_in_study_area, provinces_at, where_is

# Web Mercator covers |x|, |y| <= pi * 6378137 (the square of the EPSG:3857 world).
_WEB_MERCATOR_LIMIT = math.pi * 6378137.0
_NORTHING_RANGE = (1e6, 1e7)

# --------------------------------------------------------------------------------------------------
# inference and plausibility
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Where one interpretation of coordinates without a CRS puts them.

    Attributes
    ----------
    crs : pyproj.CRS
        The CRS of this interpretation (GIS axis order).
    swapped : bool
        True when the stored x holds northing/latitude under this interpretation.
    lon, lat : float
        Centre of the data's longitude/latitude box under this interpretation [deg].
    where : str
        Provincial boxes containing that centre (coarse, see ``data/crs.toml`` ``[provinces]``).
    in_study_area : bool
        Every point falls in the study area (box plus margin).
    """

    crs: CRS
    swapped: bool
    lon: float
    lat: float
    where: str
    in_study_area: bool

    def describe(self) -> str:
        """One line: CRS, axis order, where the data would be."""
        code = self.crs.to_string()
        name = self.crs.name.replace("3-degree Gauss-Kruger", "GK").replace("Gauss-Kruger", "GK 6°")
        axes = ", X/Y swapped" if self.swapped else ""
        here = " (Suizhou study area / 随州研究区)" if self.in_study_area else ""
        return f"{code} {name}{axes} → {self.lon:.2f}°E {self.lat:.2f}°N: {self.where}{here}"


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
        True when this is the only interpretation that puts the coordinates
        in China and it puts every point in the study area (box plus
        margin), so it may be used with a warning; False for a guess that
        the caller must confirm with ``crs=``.
    candidates : tuple of Placement
        Every interpretation that puts all points in China (this one
        included when it does).  More than one means the coordinates alone
        cannot tell where the data is.
    """

    crs: CRS
    swapped: bool
    reason: str
    certain: bool
    candidates: tuple[Placement, ...] = ()

    @property
    def ambiguous(self) -> bool:
        """True when more than one interpretation puts the data in China."""
        return len(self.candidates) > 1


def as_crs(crs: Any) -> CRS:
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
    datum = crs.geodetic_crs.datum if crs.geodetic_crs is not None else None
    if crs.is_geographic and datum is not None and datum.name in (
            "China 2000", "World Geodetic System 1984 ensemble", "World Geodetic System 1984"):
        return x, y  # no datum change worth a transformation for a plausibility test
    lon, lat = _to_lonlat(crs).transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _lands(x: NDArray[np.float64], y: NDArray[np.float64], crs: CRS) -> bool:
    return bool(np.all(points_in_study_area(*_lonlat(x, y, crs))))


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
    target = as_crs(crs)
    return not _lands(x_a, y_a, target) and _lands(y_a, x_a, target)


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


@dataclass(frozen=True)
class _Reading:
    """One interpretation of the stored numbers: CRS, axis order, and the explanation."""

    crs: CRS
    swapped: bool
    east: NDArray[np.float64]
    north: NDArray[np.float64]
    en: str
    zh: str
    lonlat: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None


def _geographic_readings(x: NDArray[np.float64], y: NDArray[np.float64]) -> Iterator[_Reading]:
    crs = CRS.from_epsg(4490)
    for swapped, (lon, lat) in ((False, (x, y)), (True, (y, x))):
        if np.all(np.abs(lon) <= 180.0) and np.all(np.abs(lat) <= 90.0):
            yield _Reading(
                crs, swapped, lon, lat,
                "longitude/latitude in degrees, taken as CGCS2000 (EPSG:4490); pyproj treats CGCS2000 and WGS84 as "
                "identical and they agree to about a metre. Coordinates copied from Amap/Tencent (GCJ-02) or Baidu "
                "(BD-09) look the same but are 0.6-1.3 km off: state crs='GCJ-02' or 'BD-09' for those",
                "经纬度坐标，按 CGCS2000（EPSG:4490）处理；高德/百度坐标（GCJ-02/BD-09）无法从数值区分，需另行指定")


def _prefixed_readings(x: NDArray[np.float64], y: NDArray[np.float64]) -> Iterator[_Reading]:
    for swapped, (east, north) in ((False, (x, y)), (True, (y, x))):
        if not (_within(east, PREFIXED_RANGE) and _within(north, (0.0, _NORTHING_RANGE[1]))):
            continue
        zones = np.unique(np.floor(east / 1e6).astype(int))
        if zones.size != 1:
            continue
        zone = int(zones[0])
        fam = next((f for f in crs_settings().gk if f.first_zone <= zone <= f.last_zone), None)
        if fam is None:
            continue
        crs = gk_crs(zone, prefixed=True, width=fam.width)
        yield _Reading(
            crs, swapped, east, north,
            f"8-digit eastings with zone prefix {zone}: CGCS2000 {fam.width}-degree Gauss-Kruger zone {zone} "
            f"({crs.to_string()}); Xian 1980 / Beijing 1954 grids have the same digits and differ by tens of "
            "metres: state their EPSG code if the data is in one of them",
            f"8 位带号东坐标，按 CGCS2000 {fam.width} 度带第 {zone} 带（{crs.to_string()}）处理；"
            "若为1980西安或1954北京坐标请指定其 EPSG 代码")


def _home_cms(width: int = 3) -> list[int]:
    """Central meridians of the zones that cover part of the study area, nearest to its centre first."""
    west, _, east, _ = crs_settings().bounds
    fam = gk_family(width)
    half = width / 2.0
    cms = [cm for cm in range(fam.first_cm, fam.last_cm + 1, width) if cm - half < east and cm + half > west]
    return sorted(cms, key=lambda cm: abs(cm - (west + east) / 2.0))


def _unprefixed_readings(x: NDArray[np.float64], y: NDArray[np.float64]) -> Iterator[_Reading]:
    """One reading per 3-degree central meridian: without the prefix every zone fits the numbers."""
    home = _home_cms()[0]
    fam = gk_family(3)
    for swapped, (east, north) in ((False, (x, y)), (True, (y, x))):
        if not (_within(east, (0.0, UNPREFIXED_RANGE[1])) and _within(north, _NORTHING_RANGE)):
            continue
        lon, lat = _lonlat(east, north, gk_crs(home, prefixed=False))
        # Every central meridian gives the same transverse Mercator turned about the polar axis: the longitudes
        # for meridian cm are those for the home meridian shifted by (cm - home), so one transform serves all.
        for cm in range(fam.first_cm, fam.last_cm + 1, 3):
            crs = gk_crs(cm, prefixed=False)
            yield _Reading(
                crs, swapped, east, north,
                f"6-digit eastings and 7-digit northings (Gauss-Kruger without zone prefix): CGCS2000 3-degree CM "
                f"{cm}E ({crs.to_string()}); without the zone prefix the same numbers are valid in every zone; "
                "Xian 1980 / Beijing 1954 grids have the same digits and differ by tens of metres",
                f"无带号高斯-克吕格坐标，按 CGCS2000 3 度带中央经线 {cm}°（{crs.to_string()}）处理；"
                "无带号时同一组数值在每个投影带中都有效",
                (lon + (cm - home), lat))


def _web_mercator_readings(x: NDArray[np.float64], y: NDArray[np.float64]) -> Iterator[_Reading]:
    crs = CRS.from_epsg(3857)
    for swapped, (east, north) in ((False, (x, y)), (True, (y, x))):
        if not (np.all(np.abs(east) <= _WEB_MERCATOR_LIMIT) and np.all(np.abs(north) <= _WEB_MERCATOR_LIMIT)):
            continue
        yield _Reading(crs, swapped, east, north,
                       "Web Mercator metres (EPSG:3857, e.g. Tianditu '_w' tiles or web-map exports)",
                       "Web 墨卡托坐标（EPSG:3857）")


def _place(reading: _Reading) -> tuple[Placement, bool]:
    """Where a reading puts the data, and whether every point lies in some provincial box."""
    lon, lat = reading.lonlat if reading.lonlat is not None else _lonlat(reading.east, reading.north, reading.crs)
    finite = np.isfinite(lon) & np.isfinite(lat)
    in_china = bool(finite.all() and provinces_at(lon, lat).any(axis=1).all())
    lands = bool(finite.all() and np.all(points_in_study_area(lon, lat)))
    if finite.any():
        clon = float((np.nanmin(lon[finite]) + np.nanmax(lon[finite])) / 2)
        clat = float((np.nanmin(lat[finite]) + np.nanmax(lat[finite])) / 2)
    else:
        clon = clat = float("nan")
    where = where_is(clon, clat) if finite.any() else "nowhere (outside the CRS's domain)"
    return Placement(reading.crs, reading.swapped, clon, clat, where, lands), in_china


def infer_crs(x: ArrayLike, y: ArrayLike) -> CRSGuess:
    """Infer the CRS of coordinates that come without one.

    Every interpretation whose magnitudes fit the numbers is considered:

    1. longitude/latitude (either axis order) → CGCS2000 EPSG:4490;
    2. 8-digit eastings with a zone prefix (either order) → CGCS2000 GK zone
       of that prefix (3-degree for 25-45, 6-degree for 13-23);
    3. 6-digit eastings and 7-digit northings (either order) → CGCS2000
       3-degree GK, one interpretation per central meridian (CM 75E-135E):
       without the zone prefix the same numbers are valid in every zone;
    4. Web Mercator EPSG:3857.

    An interpretation is *plausible* when it puts every point inside some
    provincial box of China (``data/crs.toml`` ``[provinces]``).  The guess
    is ``certain`` only when exactly one interpretation is plausible and it
    puts every point in the study area (box plus margin).  Several plausible
    interpretations (always the case for GK without zone prefix) give
    ``certain=False`` with all of them in ``candidates``; the caller must
    refuse and ask for the CRS.  Coordinates cannot tell CGCS2000 from Xian
    1980/Beijing 1954 or WGS84 from GCJ-02/BD-09; the reason says so.

    Parameters
    ----------
    x, y : array_like
        Coordinates as stored (x first); NaN values are ignored.

    Returns
    -------
    CRSGuess
        The CRS (for GIS axis order; among several plausible ones, the one
        landing in the study area), whether x/y are swapped, the reason,
        whether the guess is certain, and every plausible placement.

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
    placed = [(r, *_place(r)) for family in (_geographic_readings, _prefixed_readings, _unprefixed_readings,
                                             _web_mercator_readings) for r in family(x_a, y_a)]
    plausible = [(r, p) for r, p, in_china in placed if in_china]
    candidates = tuple(p for _, p in plausible)
    if plausible or placed:
        # One reading in China: certain if it lands in the study area.  Several: name the one that lands in
        # the study area (if any) as the guess, but never as certain -- the numbers alone do not say where
        # the data is.  None in China: the first reading, only as a guess.
        reading, place = (next(((r, p) for r, p in plausible if p.in_study_area), plausible[0]) if plausible
                          else placed[0][:2])
        en, zh = reading.en, reading.zh
        if len(plausible) > 1:
            en += (f"; but {len(plausible)} interpretations put the coordinates in different places in China, so "
                   "the coordinates alone cannot tell which is meant")
            zh += f"；但共有 {len(plausible)} 种解释分别把数据放在中国的不同位置，无法仅凭坐标判断"
        return CRSGuess(reading.crs, reading.swapped,
                        _reason(en, zh, lands=place.in_study_area, swapped=reading.swapped),
                        len(plausible) == 1 and place.in_study_area, candidates)
    raise CRSError(problem(
        "无法根据坐标判断坐标系。",
        f"The coordinates fit no known CRS: x from {x_a.min():.6g} to {x_a.max():.6g}, y from {y_a.min():.6g} to "
        f"{y_a.max():.6g}. Tried longitude/latitude, Gauss-Kruger with an 8-digit zone-prefixed or a 6-digit "
        "easting (CGCS2000 / Xian 1980 / Beijing 1954) and Web Mercator.",
        fix=f"state the CRS: crs='EPSG:....' in Python or --crs EPSG:.... on the command line (e.g. {WORKING_CRS} "
            "for CGCS2000 GK CM 114E, EPSG:4490 for CGCS2000 longitude/latitude), or `crs` in the catalog entry"))


def describe_candidates(guess: CRSGuess) -> str:
    """List where each plausible interpretation would put the data, one per line.

    Parameters
    ----------
    guess : CRSGuess
        From :func:`infer_crs`.

    Returns
    -------
    str
        Lines ``"  - EPSG:4547 CGCS2000 / GK CM 114E → 113.37°E 31.69°N: 湖北 Hubei / 河南 Henan"``;
        empty when there are no candidates.
    """
    return "\n".join(f"  - {p.describe()}" for p in guess.candidates)


def home_zone_hint() -> str:
    """Name the EPSG codes of the study area's own GK zone without prefix, for each datum (for messages).

    Returns
    -------
    str
        E.g. ``"the study area's own zone CM 114E without prefix: CGCS2000 EPSG:4547, Xian 1980
        EPSG:2383, Beijing 1954 EPSG:2435"``.
    """
    cm = _home_cms()[0]
    codes = ", ".join(f"{label} {gk_crs(cm, datum=d, prefixed=False).to_string()}"
                      for d, label in (("CGCS2000", "CGCS2000"), ("Xian1980", "Xian 1980"),
                                       ("Beijing1954", "Beijing 1954")))
    return f"the study area's own zone CM {cm}E without prefix: {codes}"
