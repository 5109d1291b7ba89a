"""Coordinates that cannot be right: non-finite values, and values outside the range of their CRS.

Checked right after reading, before the CRS is resolved or anything is reprojected, so that a latitude typed
320.8 for 32.08, 1e300, or metres under a ``.prj`` that says degrees are refused with the feature named and
the likely fix (a misplaced decimal point is suggested only where the corrected point lies in China).
Limits live in ``data/input_limits.toml`` with their sources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..errors import CRSError, InputFileError, problem
from ..io.safety import limits
from .settings import provinces_at


def _feature_label(gdf: Any, pos: int) -> str:
    """``'3 (name 某项目)'``: the 1-based feature number and, when present, a name or id value.

    For a table (``attrs["sanxian_table"]``) the spreadsheet line is named too, counting the header as line 1.
    """
    label = f"{pos + 1}" + (f" (table line {pos + 2})" if getattr(gdf, "attrs", {}).get("sanxian_table") else "")
    for col in ("name", "名称", "项目名称", "project_id", "id", "编号"):
        if col in getattr(gdf, "columns", ()):
            value = gdf[col].iloc[pos]
            if value is not None and str(value) != "nan":
                return f"{label} ({col} {value})"
    return label


def _coords(gdf: Any) -> tuple[np.ndarray, np.ndarray]:
    """All vertices and the row of each (what ``get_coordinates(return_index=True)`` gives, at half its cost)."""
    geoms = np.asarray(gdf.geometry.values)
    index = np.repeat(np.arange(len(geoms)), shapely.get_num_coordinates(geoms))
    return shapely.get_coordinates(geoms), index


_COORDINATE_FIX = "correct the coordinates of the feature(s) named (an export error or a typing slip) and read again"


def _first_bad(gdf: Any, coords: np.ndarray, index: np.ndarray,
               bad_rows: np.ndarray) -> tuple[float, float, int, str]:
    """The first bad vertex, how many features have one, and the label of the first such feature."""
    first = int(np.flatnonzero(bad_rows)[0])
    x, y = coords[first]
    return float(x), float(y), int(np.unique(index[bad_rows]).size), _feature_label(gdf, int(index[first]))


def check_coordinates_finite(gdf: Any, *, file: Path, layer: str | None = None) -> None:
    """Refuse NaN and infinite coordinates, whatever the CRS (before the CRS is resolved).

    Raises
    ------
    InputFileError
        Naming the first feature concerned and the value.
    """
    coords, index = _coords(gdf)
    if not coords.size:
        return
    bad_rows = ~np.isfinite(coords).all(axis=1)
    if not bad_rows.any():
        if gdf.crs is None:
            _check_degree_outliers(gdf, coords, index, file=file, layer=layer)
        return
    x, y, n_features, feature = _first_bad(gdf, coords, index, bad_rows)
    raise InputFileError(problem(
        "坐标无效（非数值或无穷大）。",
        f"{n_features} feature(s) have coordinates that are not finite numbers (NaN or infinity), "
        f"e.g. ({float(x)}, {float(y)}).",
        file=file, layer=layer, feature=feature, fix=_COORDINATE_FIX))


def _check_degree_outliers(gdf: Any, coords: np.ndarray, index: np.ndarray, *, file: Path,
                           layer: str | None) -> None:
    """Without a CRS: when most points are longitude/latitude, the few out of range are typing slips.

    Checked before the CRS is inferred, so that the message names the feature and the likely
    typo instead of "no CRS can be inferred".
    """
    lim = limits()
    (lon_lo, lon_hi), (lat_lo, lat_hi) = lim.lon_range, lim.lat_range
    ok = ((coords[:, 0] >= lon_lo) & (coords[:, 0] <= lon_hi) & (coords[:, 1] >= lat_lo) & (coords[:, 1] <= lat_hi))
    if ok.all() or ok.mean() < 0.5:
        return
    _raise_out_of_range(gdf, coords, index, ~ok, file=file, layer=layer)


def _check_projected(gdf: Any, coords: np.ndarray, index: np.ndarray, *, file: Path, layer: str | None) -> None:
    """Refuse projected coordinates larger than any place on Earth (e.g. 1e300)."""
    lim = limits().coordinates.max_projected_abs
    if coords.min() >= -lim and coords.max() <= lim:  # two reductions instead of a 2 x n temporary
        return
    bad_rows = (np.abs(coords) > lim).any(axis=1)
    if not bad_rows.any():
        return
    x, y, n_features, feature = _first_bad(gdf, coords, index, bad_rows)
    raise InputFileError(problem(
        "坐标数值大得离谱，不可能在地球上。",
        f"{n_features} feature(s) have coordinates beyond {lim:g} m in magnitude, which no place on Earth has, "
        f"e.g. ({x:.6g}, {y:.6g}).",
        file=file, layer=layer, feature=feature, fix=_COORDINATE_FIX))


def degree_typo(value: float, lo: float, hi: float) -> str:
    """``' — typo for 32.08?'`` when dividing by a power of ten brings ``value`` into [lo, hi]."""
    fixed = next((c for c in (value / 10 ** k for k in range(1, 4)) if lo <= c <= hi), None)
    return "" if fixed is None else f" — typo for {fixed:.10g}?"


def point_typos(lon: float, lat: float) -> tuple[str, str]:
    """Typo hints (``' — typo for 32.08?'``) for the longitude and the latitude of one point.

    A misplaced decimal point (the value divided by 10, 100 or 1000) is suggested only when the corrected
    point — with the other coordinate as given, or corrected too — lies inside the box of a Chinese
    provincial-level division (``data/crs.toml`` ``[provinces]``), where every place this toolkit screens
    lies: 320.8 with longitude 113.1 becomes 32.08, but 200 with latitude 95 has no plausible reading
    (20 / 9.5 is off West Africa), so nothing is suggested.

    Returns
    -------
    tuple of str
        Hint for the longitude and for the latitude; ``""`` where the value is in range or no plausible
        correction exists.
    """

    lim = limits()
    (lon_lo, lon_hi), (lat_lo, lat_hi) = lim.lon_range, lim.lat_range

    def candidates(value: float, lo: float, hi: float) -> list[float]:
        return [value] if lo <= value <= hi else [value / 10 ** k for k in range(1, 4)]

    for c_lon in candidates(lon, lon_lo, lon_hi):
        for c_lat in candidates(lat, lat_lo, lat_hi):
            if (c_lon, c_lat) != (lon, lat) and bool(provinces_at(c_lon, c_lat).any()):
                return (f" — typo for {c_lon:.10g}?" if c_lon != lon else "",
                        f" — typo for {c_lat:.10g}?" if c_lat != lat else "")
    return "", ""


def check_coordinate_range(gdf: Any, *, file: Path, layer: str | None = None,
                           web_map: str | None = None) -> None:
    """Refuse coordinates outside the valid range of the layer's CRS.

    Longitude must lie in [-180, 180] and latitude in [-90, 90] degrees; projected
    coordinates must not exceed ``max_projected_abs`` metres (no place on Earth does).  When most values
    are far beyond that (metres), the CRS itself is wrong: a ``.prj`` that says WGS84 on a
    projected file, or ``--crs GCJ-02`` given for projected coordinates.

    Parameters
    ----------
    gdf : GeoDataFrame
        Layer with its CRS resolved.
    file, layer : for messages.
    web_map : str, optional
        ``"gcj02"``/``"bd09"`` when the coordinates were stated to be web-map degrees.

    Raises
    ------
    CRSError
        Coordinates that cannot be degrees (wrong CRS).
    InputFileError
        Some longitudes/latitudes out of range (typing slips), or absurd projected values,
        naming the first feature.
    """
    crs = gdf.crs
    coords, index = _coords(gdf)
    if crs is None or not coords.size:
        return
    # Values beyond any place on Earth are corrupt data whatever the CRS says (e.g. 1e300 in a WGS84 file).
    _check_projected(gdf, coords, index, file=file, layer=layer)
    if not crs.is_geographic:
        return
    lim = limits()
    (lon_lo, lon_hi), (lat_lo, lat_hi) = lim.lon_range, lim.lat_range
    lon, lat = coords[:, 0], coords[:, 1]
    bad_lon = (lon < lon_lo) | (lon > lon_hi)
    bad_lat = (lat < lat_lo) | (lat > lat_hi)
    bad = bad_lon | bad_lat
    if not bad.any():
        return
    stated = {"gcj02": "--crs GCJ-02 (Amap/Tencent)", "bd09": "--crs BD-09 (Baidu)"}.get(web_map or "")
    # Projected metres (eastings ~1e5-1e7, northings ~1e6) are out of range on BOTH axes; a point with one
    # plausible degree value and the other out of range is a typing slip (latitude 320.8 for 32.08), even
    # when it is the only point of the file.
    metre_like = bad_lon & bad_lat
    if bad.mean() > 0.5 and metre_like.sum() > 0.5 * bad.sum():
        sample = coords[np.flatnonzero(metre_like)[0]]
        said = stated or f"the file's CRS {crs.name} ({crs.to_string()})"
        raise CRSError(problem(
            "坐标不可能是经纬度（数值超出 ±180/±90 度），坐标系设置有误。",
            f"Coordinates that cannot be degrees: {said} means longitude/latitude, but values such as "
            f"({sample[0]:.6g}, {sample[1]:.6g}) are far outside ±180/±90 — they look like projected metres.",
            file=file, layer=layer,
            fix=("drop --crs GCJ-02/BD-09 (those are for degrees copied from web maps) and state the projected "
                 "CRS, e.g. --crs EPSG:4547 (CGCS2000 GK CM 114E) or EPSG:4526 (zone 38 with prefix)" if stated else
                 "the .prj (or declared CRS) is wrong: state the real projected CRS, e.g. --crs EPSG:4547 "
                 "(CGCS2000 GK CM 114E), or `crs` in the catalog entry, or replace the .prj from your GIS")))
    _raise_out_of_range(gdf, coords, index, bad, file=file, layer=layer)


def _raise_out_of_range(gdf: Any, coords: np.ndarray, index: np.ndarray, bad: np.ndarray, *, file: Path,
                        layer: str | None) -> None:
    """Raise for the first longitude/latitude out of range, suggesting the decimal-point typo."""
    lim = limits()
    (lon_lo, lon_hi), (lat_lo, lat_hi) = lim.lon_range, lim.lat_range
    first = int(np.flatnonzero(bad)[0])
    lon, lat = float(coords[first, 0]), float(coords[first, 1])
    lon_typo, lat_typo = point_typos(lon, lat)
    if lat < lat_lo or lat > lat_hi:
        value, axis, zh_axis, typo = lat, "latitude", "纬度", lat_typo
        rng = f"[{lat_lo:g}, {lat_hi:g}]"
    else:
        value, axis, zh_axis, typo = lon, "longitude", "经度", lon_typo
        rng = f"[{lon_lo:g}, {lon_hi:g}]"
    raise InputFileError(problem(
        f"{zh_axis} {value:.10g} 超出有效范围 {rng}。",
        f"{axis.capitalize()} {value:.10g} is outside {rng}{typo} ({np.unique(index[bad]).size} feature(s) out of "
        "range).",
        file=file, layer=layer, feature=_feature_label(gdf, int(index[first])),
        fix=f"correct the {axis} of the feature(s) named (a misplaced decimal point or swapped digits)"))
