"""Terrain: slope, aspect and hillshade, slope statistics per site, and visibility from lines (三区两线).

A planner asks three terrain questions of a candidate site: *how steep is it*,
*which way does it face* and *can it be seen from the expressway*.  This module
answers them from a DEM:

* :func:`slope_aspect` and :func:`hillshade` follow ``gdaldem`` exactly (Horn's
  3×3 method, edges left empty as ``gdaldem`` does without ``-compute_edges``);
* :func:`zonal_terrain_stats` gives mean and maximum slope, the flat share, the
  south-facing share and the mean elevation of every polygon in one vectorised
  pass (no loop over polygons), with the DEM coverage of each site so that a
  site outside the DEM is *reported*, not a crash;
* :func:`visibility_from_lines` marks every cell seen from observers placed
  along roads, railways or rivers (the 直观可视范围 of 三区两线), and
  :func:`visible_share` turns that raster into a share per site.

Conventions
-----------
Elevations are metres, the DEM must be in a projected CRS with metre units
(the working CRS EPSG:4547 for Suizhou) and north-up.  Nodata is ``NaN`` in
:attr:`Dem.elevation`.  Slopes are degrees; aspects are degrees clockwise from
north of the downslope direction (GDAL's azimuth convention), ``NaN`` on flat
cells (``gdaldem`` writes its nodata value -9999 there).

Which cells belong to a polygon
-------------------------------
A cell belongs to a polygon when the polygon contains or touches its centre
(the rule of GDAL's rasterisation without ``all_touched``).  Polygons may
overlap: the cell→polygon table keeps one row per (polygon, cell) pair, so a
cell shared by two sites counts for both.  A polygon that contains no cell
centre (smaller than a cell, or a sliver) gets the one cell containing its
representative point (:func:`shapely.point_on_surface`), so every non-empty
site has a value.  Cells outside the DEM belong to polygons like any other
cell; they have no data and lower the site's ``dem_coverage``.

References
----------
.. [1] Horn, B.K.P. (1981). Hill shading and the reflectance map.
   Proceedings of the IEEE 69(1), 14-47.
.. [2] GDAL ``gdaldem`` documentation and ``apps/gdaldem_lib.cpp``
   (slope, aspect and hillshade algorithms, Horn variant).
.. [3] Franklin, W.R. and Ray, C. (1994). Higher isn't necessarily better:
   visibility algorithms and experiments.  Advances in GIS Research,
   6th Int. Symposium on Spatial Data Handling, 751-770 (the "R3" per-target
   line-of-sight viewshed).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import shapely
from affine import Affine

from .datafiles import load_toml, packaged_path
from .errors import (
    CRSError,
    DataFileError,
    EmptyLayerError,
    InputFileError,
    MissingFileError,
    SanxianError,
    SanxianWarning,
    problem,
)
from .progress import Progress

log = logging.getLogger(__name__)

#: Packaged settings file (``sanxian_yidan/data/terrain.toml``).
DATA_FILE = "terrain.toml"
#: Step label :func:`visibility_from_lines` passes to its ``progress`` callback.
VISIBILITY_LABEL = "视域 / visibility"

#: Output columns of :func:`zonal_terrain_stats` (declared in ``data/columns/brownfield.toml`` and ``terrain.toml``).
ZONAL_COLUMNS = ("slope_mean_deg", "slope_max_deg", "flat_share", "south_share", "elevation_mean_m",
                 "dem_coverage", "cell_count")

# Candidate (polygon, cell) pairs tested per vectorised chunk: bounds memory to ~0.5 GB worst case.
_PAIRS_PER_CHUNK = 4_000_000


class TerrainError(SanxianError, ValueError):
    """Arrays or parameters given to a terrain function cannot be used."""


# ----------------------------------------------------------------------------------------------
# Settings (data/terrain.toml)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TerrainSettings:
    """Defaults of the terrain analyses, each with its source (``data/terrain.toml``).

    Attributes
    ----------
    slope_threshold_deg : float
        Slope at or below which a cell counts as flat [deg].
    south_range_deg : tuple of float
        Aspect range counted as south-facing, clockwise from north [deg].
    max_distance_m : float
        Horizontal reach of the 三区两线 visibility analysis [m].
    spacing_m : float
        Spacing of observers along the lines [m].
    eye_height_m : float
        Observer eye height above the ground [m].
    target_height_m : float
        Height above the ground of the point that must be seen in each cell [m].
    sample_step_cells : float
        Spacing of line-of-sight samples [DEM cells].
    earth_radius_m : float
        Earth radius for the curvature correction [m].
    refraction_coefficient : float
        Atmospheric refraction coefficient k [-].
    batch_samples : int
        Line-of-sight samples processed per vectorised batch (bounds memory).
    sources : mapping of str to str
        Source or rationale of every value, keyed by attribute name.
    file : str
        The data file(s) the values came from.
    """

    slope_threshold_deg: float
    south_range_deg: tuple[float, float]
    max_distance_m: float
    spacing_m: float
    eye_height_m: float
    target_height_m: float
    sample_step_cells: float
    earth_radius_m: float
    refraction_coefficient: float
    batch_samples: int
    sources: Mapping[str, str]
    file: str


# key -> (table, source key, minimum, maximum, minimum allowed?)
_SETTING_SPECS: dict[str, tuple[str, str, float, float, bool]] = {
    "slope_threshold_deg": ("zonal", "slope_threshold_source", 0.0, 90.0, True),
    "south_min_deg": ("zonal", "south_source", 0.0, 360.0, True),
    "south_max_deg": ("zonal", "south_source", 0.0, 360.0, True),
    "max_distance_m": ("visibility", "max_distance_source", 0.0, math.inf, False),
    "spacing_m": ("visibility", "spacing_source", 0.0, math.inf, False),
    "eye_height_m": ("visibility", "eye_height_source", 0.0, math.inf, True),
    "target_height_m": ("visibility", "target_height_source", 0.0, math.inf, True),
    "sample_step_cells": ("visibility", "sample_step_source", 0.0, 1.0, False),
    "earth_radius_m": ("visibility", "earth_radius_source", 0.0, math.inf, False),
    "refraction_coefficient": ("visibility", "refraction_source", 0.0, 1.0, True),
    "batch_samples": ("visibility", "batch_source", 1.0, math.inf, True),
}


def load_settings(path: str | Path | None = None) -> TerrainSettings:
    """Load the terrain defaults, optionally overridden by a user TOML file.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with ``[zonal]`` and/or ``[visibility]`` tables; its keys
        replace the packaged ones (give a ``*_source`` next to every value you change).

    Returns
    -------
    TerrainSettings

    Raises
    ------
    DataFileError
        Listing every missing, mistyped or out-of-range key and every missing source.
    """
    base = load_toml(packaged_path(DATA_FILE))
    files = [str(packaged_path(DATA_FILE))]
    if path is not None:
        user = load_toml(path)
        files.append(str(path))
        for table, values in user.items():
            if isinstance(values, Mapping) and isinstance(base.get(table), Mapping):
                base[table] = {**base[table], **values}
            else:
                base[table] = values
    problems: list[str] = []
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for key, (table_name, source_key, lo, hi, lo_ok) in _SETTING_SPECS.items():
        table = base.get(table_name)
        where = f"[{table_name}]"
        if not isinstance(table, Mapping):
            problems.append(f"{where}: missing table")
            continue
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{where}: '{key}' must be a number, got {value!r}")
        elif not (lo < value or (lo_ok and value == lo)) or value > hi or math.isnan(value):
            bound = ">=" if lo_ok else ">"
            problems.append(f"{where}: '{key}' = {value} must be {bound} {lo} and <= {hi}")
        else:
            values[key] = float(value)
        source = table.get(source_key)
        if not isinstance(source, str) or not source.strip():
            problems.append(f"{where}: '{source_key}' (the source of '{key}') is missing or empty")
        else:
            sources[key] = source
    if problems:
        raise DataFileError(problem(f"地形参数文件有 {len(problems)} 处错误。",
                                    f"The terrain settings have {len(problems)} problem(s):\n  - "
                                    + "\n  - ".join(problems),
                                    file=" + ".join(files), fix="correct each key listed (see the packaged "
                                                                "sanxian_yidan/data/terrain.toml)"))
    sources["south_range_deg"] = sources.pop("south_min_deg")
    sources.pop("south_max_deg")
    return TerrainSettings(
        slope_threshold_deg=values["slope_threshold_deg"],
        south_range_deg=(values["south_min_deg"], values["south_max_deg"]),
        max_distance_m=values["max_distance_m"], spacing_m=values["spacing_m"],
        eye_height_m=values["eye_height_m"], target_height_m=values["target_height_m"],
        sample_step_cells=values["sample_step_cells"], earth_radius_m=values["earth_radius_m"],
        refraction_coefficient=values["refraction_coefficient"], batch_samples=int(values["batch_samples"]),
        sources=sources, file=" + ".join(files))


@lru_cache(maxsize=1)
def default_settings() -> TerrainSettings:
    """The packaged terrain settings (parsed once per process)."""
    return load_settings()


# ----------------------------------------------------------------------------------------------
# The DEM
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Dem:
    """A digital elevation model in memory.

    Attributes
    ----------
    elevation : numpy.ndarray
        2-D float64 elevations [m], ``NaN`` where there is no data.  Stored as a
        read-only copy, so the caller's array is never changed.
    transform : affine.Affine
        Cell-corner transform; must be north-up without rotation
        (``b == d == 0``, ``a > 0``, ``e < 0``).  A 6-tuple is read in Affine order
        ``(a, b, c, d, e, f)``; convert a GDAL geotransform with ``Affine.from_gdal``.
    crs : rasterio.crs.CRS
        Coordinate reference system (anything :meth:`rasterio.crs.CRS.from_user_input` accepts).
    source : str
        Where the elevations came from (file path or a description), carried into results.
    synthetic : bool
        True if the DEM is (partly) synthetic, e.g. the embedded Suizhou sample.

    Raises
    ------
    TerrainError
        If ``elevation`` is not a non-empty 2-D numeric array.
    InputFileError
        If the grid is rotated or not north-up.
    CRSError
        If ``crs`` is missing or cannot be parsed.
    """

    elevation: np.ndarray
    transform: Affine
    crs: Any
    source: str = "array"
    synthetic: bool = False

    def __post_init__(self) -> None:
        from rasterio.crs import CRS as RioCRS
        from rasterio.errors import CRSError as RioCRSError

        try:
            elev = np.array(self.elevation, dtype=np.float64, copy=True)
        except (TypeError, ValueError) as exc:
            raise TerrainError(problem("高程数据不是数值数组。", f"Elevations are not numeric: {exc}",
                                       file=self.source, fix="pass a 2-D array of heights in metres")) from exc
        if elev.ndim != 2 or elev.size == 0:
            raise TerrainError(problem("高程数据必须是非空二维数组。",
                                       f"Elevations must be a non-empty 2-D array, got shape {elev.shape}.",
                                       file=self.source, fix="pass one band of the DEM as a 2-D array"))
        elev.setflags(write=False)
        object.__setattr__(self, "elevation", elev)
        transform = self.transform if isinstance(self.transform, Affine) else Affine(*tuple(self.transform)[:6])
        if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
            raise InputFileError(problem(
                "DEM 必须为北向上且无旋转的栅格。",
                f"The DEM grid must be north-up without rotation; its transform is {tuple(transform)[:6]}.",
                file=self.source, fix="warp it first, e.g. gdalwarp -t_srs EPSG:4547 in.tif out.tif"))
        object.__setattr__(self, "transform", transform)
        if self.crs is None:
            raise CRSError(problem("DEM 没有坐标系。", "The DEM has no coordinate reference system.",
                                   file=self.source, fix="pass crs='EPSG:4547' (or the DEM's real CRS)"))
        try:
            crs = RioCRS.from_user_input(self.crs)
        except (RioCRSError, TypeError, ValueError) as exc:
            raise CRSError(problem("无法识别 DEM 的坐标系。", f"Cannot parse the DEM CRS {self.crs!r}: {exc}",
                                   file=self.source, fix="give an EPSG code such as 'EPSG:4547'")) from exc
        object.__setattr__(self, "crs", crs)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the grid."""
        return self.elevation.shape  # type: ignore[return-value]

    @property
    def res(self) -> tuple[float, float]:
        """Cell size (x, y) [CRS units, m for a metric DEM], both positive."""
        return float(self.transform.a), float(-self.transform.e)

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell [m²] (metric DEMs)."""
        xres, yres = self.res
        return xres * yres

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the grid [CRS units]."""
        rows, cols = self.shape
        west, north = self.transform.c, self.transform.f
        xres, yres = self.res
        return west, north - rows * yres, west + cols * xres, north

    @cached_property
    def grids(self) -> tuple[np.ndarray, np.ndarray]:
        """``(slope, aspect)`` of this DEM (computed once, read-only); see :func:`slope_aspect`."""
        slope, aspect = slope_aspect(self)
        slope.setflags(write=False)
        aspect.setflags(write=False)
        return slope, aspect


def read_dem(path: str | Path, *, crs: Any = None, synthetic: bool = False, band: int = 1) -> Dem:
    """Read one band of a DEM raster into a :class:`Dem` (nodata → ``NaN``).

    Parameters
    ----------
    path : str or Path
        Any raster GDAL reads (GeoTIFF, ERDAS IMG, ...).
    crs : str, int or CRS, optional
        The CRS to use when the file has none.  If the file declares a
        different CRS, the stated one wins and a :class:`SanxianWarning` says so.
    synthetic : bool, default False
        Mark the DEM as synthetic (the catalog knows: ``catalog.is_synthetic("dem")``).
    band : int, default 1
        Band holding the elevations.

    Returns
    -------
    Dem

    Raises
    ------
    MissingFileError
        If the file does not exist.
    InputFileError
        If GDAL cannot read it as a raster, or the band does not exist.
    CRSError
        If the file has no CRS and ``crs`` is not given.
    EmptyLayerError
        If every cell is nodata.

    Warns
    -----
    SanxianWarning
        If the file declares no nodata value (every cell is then taken as valid)
        or if a stated ``crs`` overrides the file's.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    path = Path(path)
    if not path.exists():
        raise MissingFileError(problem("DEM 文件不存在。", "DEM file not found.", file=path,
                                       fix="check the path (the catalog's DEM is catalog.raster_path('dem'))"))
    try:
        with rasterio.open(path) as src:
            if not 1 <= band <= src.count:
                raise InputFileError(problem(f"DEM 没有第 {band} 波段。",
                                             f"The raster has {src.count} band(s); band {band} does not exist.",
                                             file=path, fix="pass band=1 (elevations are usually band 1)"))
            data = src.read(band, masked=True)
            file_crs, transform, nodata = src.crs, src.transform, src.nodata
    except RasterioIOError as exc:
        raise InputFileError(problem("无法作为栅格读取。", f"GDAL cannot read the file as a raster: {exc}",
                                     file=path, fix="export the DEM as GeoTIFF")) from exc
    if file_crs is None and crs is None:
        raise CRSError(problem("DEM 没有坐标系。", "The DEM file has no CRS (no .prj / GeoTIFF keys).", file=path,
                               fix="pass crs='EPSG:4547' if it is CGCS2000 GK CM 114E, or re-export with a CRS"))
    if crs is not None and file_crs is not None:
        from rasterio.crs import CRS as RioCRS
        if RioCRS.from_user_input(crs) != file_crs:
            warnings.warn(f"{path}: the file declares {file_crs.to_string()} but {crs} was stated; "
                          "using the stated CRS", SanxianWarning, stacklevel=2)
    if nodata is None:
        warnings.warn(f"{path}: the DEM declares no nodata value; every cell is treated as valid "
                      "(set one with gdal_edit.py -a_nodata if the file uses e.g. -9999 or -32768)",
                      SanxianWarning, stacklevel=2)
    elevation = np.ma.filled(data.astype(np.float64), np.nan)
    if not np.isfinite(elevation).any():
        raise EmptyLayerError(problem("DEM 中没有有效高程。", "Every cell of the DEM is nodata.", file=path,
                                      fix="check the nodata value and the band"))
    return Dem(elevation, transform, crs if crs is not None else file_crs, source=str(path), synthetic=synthetic)


def write_raster(array: np.ndarray, dem: Dem, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a result grid (slope, aspect, visibility, ...) aligned with ``dem`` as a GeoTIFF.

    Parameters
    ----------
    array : numpy.ndarray
        Same shape as the DEM.  Booleans are written as uint8 (1 = true, 0 = false);
        numbers as float32 with ``NaN`` as nodata.
    dem : Dem
        Grid the array belongs to (transform and CRS are copied).
    path : str or Path
        Output file (``.tif``).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The file written.
    """
    import rasterio

    path = Path(path)
    if array.shape != dem.shape:
        raise TerrainError(problem("结果栅格与 DEM 尺寸不一致。",
                                   f"Array shape {array.shape} differs from the DEM shape {dem.shape}.",
                                   file=path, fix="write arrays computed on this DEM"))
    if path.exists() and not overwrite:
        raise TerrainError(problem("输出文件已存在。", "The output file exists.", file=path,
                                   fix="pass overwrite=True or choose another path"))
    if array.dtype == bool:
        data, dtype, nodata = array.astype(np.uint8), "uint8", None
    else:
        data, dtype, nodata = array.astype(np.float32), "float32", float("nan")
    profile = dict(driver="GTiff", width=dem.shape[1], height=dem.shape[0], count=1, dtype=dtype,
                   crs=dem.crs, transform=dem.transform, nodata=nodata, compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


# ----------------------------------------------------------------------------------------------
# Slope, aspect, hillshade (gdaldem, Horn)
# ----------------------------------------------------------------------------------------------
def _require_metric(dem: Dem) -> None:
    """Slopes need horizontal metres: refuse geographic or non-metre CRSs."""
    import pyproj

    crs = pyproj.CRS.from_user_input(dem.crs)
    units = {axis.unit_name for axis in crs.axis_info[:2]}
    if not crs.is_projected or not units <= {"metre", "meter"}:
        raise CRSError(problem("坡度计算需要以米为单位的投影坐标系。",
                               f"Slopes need a projected CRS in metres; the DEM is in {crs.name} ({sorted(units)}).",
                               file=dem.source, fix="reproject the DEM, e.g. gdalwarp -t_srs EPSG:4547 in.tif out.tif"))


def _elevation_and_res(dem: Dem | np.ndarray, res: float | tuple[float, float] | None
                       ) -> tuple[np.ndarray, float, float]:
    if isinstance(dem, Dem):
        if res is not None:
            raise TerrainError(problem("Dem 已含分辨率，不能再给 res。",
                                       "res is only for plain arrays; a Dem carries its own cell size.",
                                       file=dem.source, fix="drop res= or pass dem.elevation"))
        _require_metric(dem)
        xres, yres = dem.res
        return dem.elevation, xres, yres
    if res is None:
        raise TerrainError(problem("数组输入需要给出分辨率 res。", "A plain array needs res= (cell size in metres).",
                                   fix="pass res=90.0 or res=(xres, yres), or wrap it in a Dem"))
    xres, yres = (float(res), float(res)) if np.isscalar(res) else (float(res[0]), float(res[1]))  # type: ignore[index]
    if not (xres > 0 and yres > 0 and math.isfinite(xres) and math.isfinite(yres)):
        raise TerrainError(problem("分辨率必须为正数。", f"res must be positive, got {res!r}.", fix="pass res=90.0"))
    z = np.asarray(dem, dtype=np.float64)
    if z.ndim != 2:
        raise TerrainError(problem("高程数据必须是二维数组。", f"Elevations must be 2-D, got shape {z.shape}.",
                                   fix="pass one band as a 2-D array"))
    return z, xres, yres


def _window(z: np.ndarray) -> tuple[np.ndarray, ...]:
    """The nine neighbours a..i of every interior cell (gdaldem's afWin[0..8], north row first)."""
    return (z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:],
            z[1:-1, :-2], z[1:-1, 1:-1], z[1:-1, 2:],
            z[2:, :-2], z[2:, 1:-1], z[2:, 2:])


def _horn_gradient(z: np.ndarray, xres: float, yres: float) -> tuple[np.ndarray, np.ndarray]:
    """Horn's gradient of the interior cells: (dz/dx eastwards, dz/dy southwards) [m/m]."""
    a, b, c, d, _, f, g, h, i = _window(z)
    dz_east = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * xres)
    dz_south = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * yres)
    return dz_east, dz_south


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
    slope = np.full(z.shape, np.nan)
    aspect = np.full(z.shape, np.nan)
    if min(z.shape) < 3:
        return slope, aspect
    dz_east, dz_south = _horn_gradient(z, xres, yres)
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
    a, b, c, d, _, f, g, h, i = _window(z)
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


# ----------------------------------------------------------------------------------------------
# Cells of polygons (vectorised, overlaps allowed)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CellMap:
    """Which DEM cells belong to which polygon: one row per (polygon, cell) pair.

    Attributes
    ----------
    polygon : numpy.ndarray
        Position (0-based) of the polygon in the input frame, sorted ascending.
    row, col : numpy.ndarray
        Cell row and column (may lie outside the DEM: such cells have no data).
    n_polygons : int
        Number of input polygons.
    fallback : numpy.ndarray
        Per polygon, True if it contains no cell centre and was given the cell of
        its representative point.
    shape : tuple of int
        Shape of the DEM grid.
    """

    polygon: np.ndarray
    row: np.ndarray
    col: np.ndarray
    n_polygons: int
    fallback: np.ndarray
    shape: tuple[int, int]

    @cached_property
    def inside(self) -> np.ndarray:
        """True for pairs whose cell lies inside the DEM grid."""
        rows, cols = self.shape
        return (self.row >= 0) & (self.row < rows) & (self.col >= 0) & (self.col < cols)

    def values(self, grid: np.ndarray) -> np.ndarray:
        """Value of ``grid`` at every pair's cell (``NaN`` outside the DEM)."""
        out = np.full(self.polygon.shape, np.nan)
        inside = self.inside
        out[inside] = grid[self.row[inside], self.col[inside]]
        return out

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Number of pairs per polygon (where ``mask`` is true, if given)."""
        weights = None if mask is None else mask.astype(np.float64)
        return np.bincount(self.polygon, weights=weights, minlength=self.n_polygons).astype(np.float64)

    def total(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per polygon, ``NaN`` values skipped."""
        return np.bincount(self.polygon, weights=np.where(np.isnan(values), 0.0, values),
                           minlength=self.n_polygons)

    def maximum(self, values: np.ndarray) -> np.ndarray:
        """Maximum of ``values`` per polygon (``NaN`` skipped; ``NaN`` if none)."""
        out = np.full(self.n_polygons, np.nan)
        finite = ~np.isnan(values)
        if not finite.any():
            return out
        filled = np.where(finite, values, -np.inf)
        starts = np.searchsorted(self.polygon, np.arange(self.n_polygons))
        present = np.bincount(self.polygon, minlength=self.n_polygons) > 0
        seg_max = np.maximum.reduceat(filled, starts[present])
        out[present] = np.where(np.isneginf(seg_max), np.nan, seg_max)
        return out


def _geometries_in_crs_of(frame: Any, dem: Dem, what: str) -> np.ndarray:
    """The geometries of a GeoDataFrame/GeoSeries as a shapely array in the DEM's CRS (never mutates)."""
    import geopandas as gpd
    import pyproj

    if not isinstance(frame, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise TerrainError(problem(f"{what}必须是 GeoDataFrame。",
                                   f"{what} must be a GeoDataFrame or GeoSeries, got {type(frame).__name__}.",
                                   fix="read the layer with read_vector or catalog.read"))
    geo = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geo.crs is None:
        raise CRSError(problem(f"{what}没有坐标系。", f"The {what} have no CRS.",
                               fix="read them with sanxian_yidan.read_vector / catalog.read (working CRS EPSG:4547)"))
    dem_crs = pyproj.CRS.from_user_input(dem.crs)
    if not pyproj.CRS.from_user_input(geo.crs).equals(dem_crs):
        log.info("reprojecting %d %s from %s to the DEM CRS", len(geo), what, geo.crs.to_string())
        geo = geo.to_crs(dem_crs)
    return np.asarray(geo.values, dtype=object)


def _prepared(geoms: np.ndarray) -> np.ndarray:
    """Prepare geometries not yet prepared (speeds up point tests); returns the mask of those prepared here."""
    valid = ~shapely.is_missing(geoms)
    mine = valid.copy()
    mine[valid] = ~shapely.is_prepared(geoms[valid])
    shapely.prepare(geoms[mine])
    return mine


def polygon_cells(polygons: Any, dem: Dem) -> CellMap:
    """Map every polygon to the DEM cells whose centres it contains (vectorised, overlaps allowed).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Sites (any CRS; reprojected to the DEM's if needed).  Points and lines
        get the cell they lie in (the representative-point fallback).
    dem : Dem
        Grid to map onto.

    Returns
    -------
    CellMap

    Notes
    -----
    Candidate cells are the cell centres inside each polygon's bounding box;
    they are generated for all polygons at once with ``numpy.repeat`` and
    tested with one vectorised :func:`shapely.intersects_xy` call per chunk of
    4 million candidates, so there is no Python loop over polygons.  Centres on
    the boundary count as inside.  Polygons with no centre inside get the cell
    of :func:`shapely.point_on_surface`.
    """
    geoms = _geometries_in_crs_of(polygons, dem, "polygons")
    n = len(geoms)
    rows, cols = dem.shape
    x0, y0 = dem.transform.c, dem.transform.f
    xres, yres = dem.res
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        c_first = np.ceil((bounds[:, 0] - x0) / xres - 0.5)
        c_last = np.floor((bounds[:, 2] - x0) / xres - 0.5)
        r_first = np.ceil((y0 - bounds[:, 3]) / yres - 0.5)
        r_last = np.floor((y0 - bounds[:, 1]) / yres - 0.5)
    n_cols = np.where(empty, 0, np.maximum(c_last - c_first + 1, 0)).astype(np.int64)
    n_rows = np.where(empty, 0, np.maximum(r_last - r_first + 1, 0)).astype(np.int64)
    c_first = np.where(empty, 0, c_first).astype(np.int64)
    r_first = np.where(empty, 0, r_first).astype(np.int64)
    counts = n_cols * n_rows
    ends = np.cumsum(counts)
    starts = ends - counts
    total = int(ends[-1]) if n else 0

    mine = _prepared(geoms)
    parts_p, parts_r, parts_c = [], [], []
    try:
        for lo in range(0, total, _PAIRS_PER_CHUNK):
            k = np.arange(lo, min(lo + _PAIRS_PER_CHUNK, total), dtype=np.int64)
            p = np.searchsorted(ends, k, side="right")
            local = k - starts[p]
            r = r_first[p] + local // n_cols[p]
            c = c_first[p] + local % n_cols[p]
            hit = shapely.intersects_xy(geoms[p], x0 + (c + 0.5) * xres, y0 - (r + 0.5) * yres)
            parts_p.append(p[hit])
            parts_r.append(r[hit])
            parts_c.append(c[hit])
    finally:
        shapely.destroy_prepared(geoms[mine])
    poly = np.concatenate(parts_p) if parts_p else np.empty(0, np.int64)
    found = np.bincount(poly, minlength=n) > 0
    fallback = ~found & ~empty
    if fallback.any():
        points = shapely.point_on_surface(geoms[fallback])
        x, y = shapely.get_x(points), shapely.get_y(points)
        parts_p.append(np.flatnonzero(fallback))
        parts_r.append(np.floor((y0 - y) / yres).astype(np.int64))
        parts_c.append(np.floor((x - x0) / xres).astype(np.int64))
        log.debug("%d polygon(s) smaller than a cell got their representative-point cell", int(fallback.sum()))
    poly = np.concatenate(parts_p) if parts_p else np.empty(0, np.int64)
    row = np.concatenate(parts_r) if parts_r else np.empty(0, np.int64)
    col = np.concatenate(parts_c) if parts_c else np.empty(0, np.int64)
    order = np.argsort(poly, kind="stable")
    return CellMap(poly[order].astype(np.int64), row[order].astype(np.int64), col[order].astype(np.int64),
                   n, fallback, (rows, cols))


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def _in_aspect_range(aspect: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """True where aspect lies in [lo, hi] clockwise (wrapping through north if lo > hi); False for NaN."""
    with np.errstate(invalid="ignore"):
        if lo <= hi:
            return (aspect >= lo) & (aspect <= hi)
        return (aspect >= lo) | (aspect <= hi)


def _warn_coverage(index: pd.Index, coverage: np.ndarray, source: str) -> None:
    outside = np.flatnonzero(coverage == 0)
    partial = np.flatnonzero((coverage > 0) & (coverage < 1))
    if outside.size:
        ids = ", ".join(str(v) for v in index[outside[:20]])
        warnings.warn(f"{outside.size} site(s) lie outside the DEM {source} or have an empty geometry "
                      f"(dem_coverage = 0, terrain values NaN): "
                      f"{ids}{' …' if outside.size > 20 else ''}", SanxianWarning, stacklevel=3)
    if partial.size:
        ids = ", ".join(str(v) for v in index[partial[:20]])
        warnings.warn(f"{partial.size} site(s) are only partly covered by the DEM {source} "
                      f"(see dem_coverage): {ids}{' …' if partial.size > 20 else ''}", SanxianWarning, stacklevel=3)


def zonal_terrain_stats(polygons: Any, dem: Dem, *, slope_threshold_deg: float | None = None,
                        south_range: tuple[float, float] | None = None, cells: CellMap | None = None
                        ) -> pd.DataFrame:
    """Slope, aspect and elevation statistics of every polygon, in one vectorised pass.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Sites (reprojected to the DEM CRS if needed; never modified).
    dem : Dem
        Elevations; slope and aspect come from :attr:`Dem.grids` (computed once per DEM).
    slope_threshold_deg : float, optional
        Cells with slope at or below this count as flat [deg]; default from ``data/terrain.toml``.
    south_range : (float, float), optional
        Aspect range counted as south-facing, clockwise from north [deg], inclusive;
        default (135, 225) from ``data/terrain.toml``.  ``lo > hi`` wraps through north.
    cells : CellMap, optional
        A precomputed :func:`polygon_cells` result for these polygons and this DEM.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``polygons`` with columns

        * ``slope_mean_deg``, ``slope_max_deg`` [deg] over the cells with a slope;
        * ``flat_share`` — share of those cells with slope <= threshold;
        * ``south_share`` — share of those cells facing within ``south_range``
          (flat cells have no aspect and do not count as south-facing);
        * ``elevation_mean_m`` [m] over cells with data;
        * ``dem_coverage`` — share of the polygon's cells that have elevation data
          (0 for a site outside the DEM; its other values are then ``NaN``);
        * ``cell_count`` — cells assigned to the polygon (1 for a site smaller than a cell).

        ``attrs["sanxian"]`` records the DEM source, synthetic flag, threshold and their sources.

    Warns
    -----
    SanxianWarning
        Listing sites outside the DEM or only partly covered.

    Notes
    -----
    Cells on the DEM's outer rows/columns have elevation but no slope (see
    :func:`slope_aspect`); the slope statistics use the cells that have one.
    """
    settings = default_settings()
    threshold = settings.slope_threshold_deg if slope_threshold_deg is None else float(slope_threshold_deg)
    lo, hi = settings.south_range_deg if south_range is None else (float(south_range[0]), float(south_range[1]))
    if not (0.0 <= threshold <= 90.0):
        raise TerrainError(problem("坡度阈值须在 0–90° 之间。",
                                   f"slope_threshold_deg must be in 0-90, got {threshold}.",
                                   fix="pass e.g. slope_threshold_deg=15"))
    if not (0.0 <= lo <= 360.0 and 0.0 <= hi <= 360.0):
        raise TerrainError(problem("朝向范围须在 0–360° 之间。", f"south_range must lie in 0-360, got {(lo, hi)}.",
                                   fix="pass e.g. south_range=(135, 225)"))
    index = polygons.index
    if cells is None:
        cells = polygon_cells(polygons, dem)
    slope, aspect = dem.grids
    elev_v = cells.values(dem.elevation)
    slope_v = cells.values(slope)
    aspect_v = cells.values(aspect)
    has_slope = ~np.isnan(slope_v)
    n_cells = cells.count()
    n_elev = cells.count(~np.isnan(elev_v))
    n_slope = cells.count(has_slope)
    with np.errstate(invalid="ignore"):
        flat = has_slope & (slope_v <= threshold)
    south = has_slope & _in_aspect_range(aspect_v, lo, hi)
    coverage = np.where(n_cells > 0, _safe_divide(n_elev, n_cells), 0.0)
    out = pd.DataFrame({
        "slope_mean_deg": _safe_divide(cells.total(slope_v), n_slope),
        "slope_max_deg": cells.maximum(slope_v),
        "flat_share": _safe_divide(cells.count(flat), n_slope),
        "south_share": _safe_divide(cells.count(south), n_slope),
        "elevation_mean_m": _safe_divide(cells.total(elev_v), n_elev),
        "dem_coverage": coverage,
        "cell_count": n_cells.astype(np.int64),
    }, index=index)
    _warn_coverage(index, coverage, dem.source)
    out.attrs["sanxian"] = {
        "dem_source": dem.source, "synthetic": bool(dem.synthetic),
        "slope_method": "Horn (1981) 3x3, as gdaldem; edges and cells next to nodata have no slope",
        "slope_threshold_deg": threshold,
        "slope_threshold_source": settings.sources["slope_threshold_deg"] if slope_threshold_deg is None
        else "given by the caller",
        "south_range_deg": (lo, hi),
        "south_range_source": settings.sources["south_range_deg"] if south_range is None else "given by the caller",
        "cell_rule": "cell centre inside or on the polygon; representative-point cell for polygons smaller than a cell",
    }
    return out


def visible_share(polygons: Any, visible: np.ndarray, dem: Dem, *, cells: CellMap | None = None) -> pd.Series:
    """Share of each polygon's cells (with elevation data) that are visible.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or GeoSeries
        Sites.
    visible : numpy.ndarray
        Boolean raster from :func:`visibility_from_lines` on the same DEM.
    dem : Dem
        The DEM ``visible`` was computed on.
    cells : CellMap, optional
        Precomputed :func:`polygon_cells` result.

    Returns
    -------
    pandas.Series
        ``visible_share`` in [0, 1], indexed like ``polygons``; ``NaN`` for a
        site without any DEM cell (see ``dem_coverage`` of :func:`zonal_terrain_stats`).
    """
    visible = np.asarray(visible)
    if visible.shape != dem.shape or visible.dtype != bool:
        raise TerrainError(problem("可视栅格与 DEM 不匹配。",
                                   f"visible must be a boolean array of the DEM's shape {dem.shape}, "
                                   f"got {visible.dtype} {visible.shape}.",
                                   file=dem.source, fix="pass the result of visibility_from_lines on this DEM"))
    if cells is None:
        cells = polygon_cells(polygons, dem)
    has_data = ~np.isnan(cells.values(dem.elevation))
    seen = np.zeros(cells.polygon.shape, dtype=bool)
    inside = cells.inside
    seen[inside] = visible[cells.row[inside], cells.col[inside]]
    share = _safe_divide(cells.count(seen & has_data), cells.count(has_data))
    return pd.Series(share, index=polygons.index, name="visible_share")


# ----------------------------------------------------------------------------------------------
# Visibility from lines (三区两线)
# ----------------------------------------------------------------------------------------------
def observer_cells(lines: Any, dem: Dem, *, spacing_m: float) -> np.ndarray:
    """DEM cells of observers placed every ``spacing_m`` along lines (deduplicated).

    Parameters
    ----------
    lines : geopandas.GeoDataFrame or GeoSeries
        Roads, railways, rivers (lines); polygons contribute their boundary and
        points are used as they are.
    dem : Dem
        Grid.
    spacing_m : float
        Distance between observers along each line part [m]; each part also
        gets an observer at its end.

    Returns
    -------
    numpy.ndarray
        Flat indices (``row * ncols + col``) of the distinct cells holding an
        observer, inside the DEM and with elevation data, sorted.
    """
    if not spacing_m > 0:
        raise TerrainError(problem("观察点间距必须为正。", f"spacing_m must be > 0, got {spacing_m}.",
                                   fix="pass e.g. spacing_m=100"))
    geoms = _geometries_in_crs_of(lines, dem, "lines")
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    parts = shapely.get_parts(geoms)
    polygonal = np.isin(shapely.get_type_id(parts), (3, 6))
    parts = np.concatenate([parts[~polygonal], shapely.get_parts(shapely.boundary(parts[polygonal]))])
    is_point = shapely.get_type_id(parts) == 0
    points = [parts[is_point]]
    lines_ = parts[~is_point]
    if lines_.size:
        length = shapely.length(lines_)
        n_inner = np.floor(length / spacing_m).astype(np.int64) + 1      # 0, s, 2s, ... <= length
        which = np.repeat(np.arange(lines_.size), n_inner)
        step = np.arange(which.size) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
        dist = np.concatenate([step * spacing_m, length])                 # plus every end point
        which = np.concatenate([which, np.arange(lines_.size)])
        points.append(shapely.line_interpolate_point(lines_[which], dist))
    pts = np.concatenate(points)
    if pts.size == 0:
        return np.empty(0, np.int64)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    xres, yres = dem.res
    col = np.floor((x - dem.transform.c) / xres).astype(np.int64)
    row = np.floor((dem.transform.f - y) / yres).astype(np.int64)
    rows, cols = dem.shape
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    flat = np.unique(row[ok] * cols + col[ok])
    return flat[~np.isnan(dem.elevation.ravel()[flat])]


@dataclass(frozen=True)
class _LosTemplate:
    """Line-of-sight geometry relative to an observer at a cell centre (same for every observer)."""

    target_offset: np.ndarray       # flat offset of each target cell in the padded grid
    target_dist: np.ndarray         # horizontal distance observer -> target [m]
    target_drop: np.ndarray         # curvature/refraction drop at the target [m]
    sample_offsets: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]   # 4 bilinear neighbours
    sample_weights: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    sample_dist: np.ndarray         # distance observer -> sample [m]
    sample_drop: np.ndarray
    segment_starts: np.ndarray      # first sample of each target that has samples
    has_samples: np.ndarray         # per target


def _los_template(dem: Dem, pad: int, padded_cols: int, max_distance_m: float, step_cells: float,
                  earth_radius_m: float, refraction: float) -> _LosTemplate:
    xres, yres = dem.res
    r_max, c_max = int(max_distance_m // yres), int(max_distance_m // xres)
    dr, dc = np.meshgrid(np.arange(-r_max, r_max + 1), np.arange(-c_max, c_max + 1), indexing="ij")
    dr, dc = dr.ravel(), dc.ravel()
    dist = np.hypot(dr * yres, dc * xres)
    keep = (dist > 0) & (dist <= max_distance_m)
    dr, dc, dist = dr[keep], dc[keep], dist[keep]
    # n segments per line of sight -> n - 1 interior samples at fractions k/n
    n_seg = np.maximum(np.ceil(dist / (step_cells * min(xres, yres))).astype(np.int64), 1)
    n_samp = n_seg - 1
    tgt = np.repeat(np.arange(dist.size), n_samp)
    first = np.cumsum(n_samp) - n_samp
    frac = (np.arange(tgt.size) - first[tgt] + 1) / n_seg[tgt]
    fr, fc = dr[tgt] * frac, dc[tgt] * frac
    r0, c0 = np.floor(fr), np.floor(fc)
    wr, wc = fr - r0, fc - c0
    base = r0.astype(np.int64) * padded_cols + c0.astype(np.int64)
    # where a weight is 0 point at the same cell, so a NaN beyond the grid edge cannot leak in
    down = np.where(wr > 0, padded_cols, 0)
    right = np.where(wc > 0, 1, 0)
    sample_dist = dist[tgt] * frac
    curvature = (1.0 - refraction) / (2.0 * earth_radius_m)
    return _LosTemplate(
        target_offset=dr * padded_cols + dc, target_dist=dist, target_drop=curvature * dist ** 2,
        sample_offsets=(base, base + right, base + down, base + down + right),
        sample_weights=((1 - wr) * (1 - wc), (1 - wr) * wc, wr * (1 - wc), wr * wc),
        sample_dist=sample_dist, sample_drop=curvature * sample_dist ** 2,
        segment_starts=first[n_samp > 0], has_samples=n_samp > 0)


def visibility_from_lines(lines: Any, dem: Dem, *, max_distance_m: float | None = None,
                          spacing_m: float | None = None, eye_height_m: float | None = None,
                          target_height_m: float | None = None,
                          progress: Progress | None = None) -> np.ndarray:
    """Cells visible from at least one observer on the lines (the 直观可视范围 of 三区两线).

    Parameters
    ----------
    lines : geopandas.GeoDataFrame or GeoSeries
        Main roads, railways, rivers (lines; polygon boundaries and points also work).
    dem : Dem
        Terrain (bare earth: no buildings or trees).
    max_distance_m : float, optional
        Horizontal reach [m]; default 1,000 m from ``data/terrain.toml`` (an
        assumption: no official distance was found, RULES_REFERENCE.md).
    spacing_m : float, optional
        Observer spacing along each line [m]; default 100 m.
    eye_height_m : float, optional
        Observer eye height above the DEM [m]; default 1.2 m (driver).
    target_height_m : float, optional
        Height above the ground that must be seen in each cell [m]; default 0.
    progress : callable, optional
        Called as ``progress(label, observers_done, observers_total)`` (:mod:`sanxian_yidan.progress`)
        before the first batch and after every batch.

    Returns
    -------
    numpy.ndarray
        Boolean raster of the DEM's shape: True where the cell (at ``target_height_m``
        above its centre) is seen from at least one observer.

    Notes
    -----
    Algorithm ("R3", Franklin & Ray 1994, vectorised):

    1. Observers are placed every ``spacing_m`` along each line part (and at its
       end), snapped to the centre of their DEM cell and merged per cell; their
       eye is ``eye_height_m`` above that cell's elevation.
    2. For every target cell within ``max_distance_m`` (centre to centre) the
       segment observer→target is sampled every ``sample_step_cells`` (0.5) cells;
       elevations at the samples are interpolated bilinearly between cell centres.
    3. The target is visible if the elevation angle to its centre
       (+ ``target_height_m``) is at least the largest angle to any sample before it.
       Heights are lowered by the curvature/refraction drop ``(1 - k) d² / 2R``.
    4. The geometry of step 2 is the same for every observer at a cell centre, so
       it is precomputed once; observers are then processed in batches with numpy
       gathers and ``maximum.reduceat`` (no loop over targets or samples).

    Approximations: observer positions move by up to half a cell diagonal
    (snapping); bare-earth terrain only (no buildings, trees, noise barriers,
    cuttings finer than the DEM); the road is assumed at ground level of its cell
    (embankments and bridges are ignored); nodata cells never block a view and
    are never visible; the observer's own cell is visible.

    References
    ----------
    .. [1] Franklin and Ray (1994); see the module references.
    """
    settings = default_settings()
    max_distance_m = settings.max_distance_m if max_distance_m is None else float(max_distance_m)
    spacing_m = settings.spacing_m if spacing_m is None else float(spacing_m)
    eye_height_m = settings.eye_height_m if eye_height_m is None else float(eye_height_m)
    target_height_m = settings.target_height_m if target_height_m is None else float(target_height_m)
    for name, value in (("max_distance_m", max_distance_m), ("eye_height_m", eye_height_m),
                        ("target_height_m", target_height_m)):
        if not (math.isfinite(value) and value >= 0):
            raise TerrainError(problem(f"参数 {name} 必须为非负有限数。",
                                       f"{name} must be finite and >= 0, got {value}.",
                                       fix=f"pass a value in metres, e.g. {name}=1000" if name == "max_distance_m"
                                       else f"pass a value in metres, e.g. {name}=1.2"))
    _require_metric(dem)
    started = time.perf_counter()
    rows, cols = dem.shape
    observers = observer_cells(lines, dem, spacing_m=spacing_m)
    if observers.size == 0:
        warnings.warn(f"no observer lies on a DEM cell with data ({len(lines)} line feature(s), DEM {dem.source}); "
                      "nothing is visible — check that the lines overlap the DEM and share its CRS",
                      SanxianWarning, stacklevel=2)
    xres, yres = dem.res
    pad = int(max(max_distance_m // yres, max_distance_m // xres)) + 2
    padded_cols = cols + 2 * pad
    elev = np.full((rows + 2 * pad, padded_cols), np.nan)
    elev[pad:pad + rows, pad:pad + cols] = dem.elevation
    elev_flat = elev.ravel()
    seen = np.zeros(elev.shape, dtype=bool)
    seen_flat = seen.ravel()
    template = _los_template(dem, pad, padded_cols, max_distance_m, settings.sample_step_cells,
                             settings.earth_radius_m, settings.refraction_coefficient)
    obs_flat = (observers // cols + pad) * padded_cols + (observers % cols + pad)
    seen_flat[obs_flat] = True
    total = obs_flat.size
    batch = max(1, settings.batch_samples // max(1, template.sample_dist.size))
    o00, o01, o10, o11 = template.sample_offsets
    w00, w01, w10, w11 = template.sample_weights
    if progress is not None:
        progress(VISIBILITY_LABEL, 0, total)
    for lo in range(0, total, batch):
        base = obs_flat[lo:lo + batch, None]
        eye = elev_flat[base] + eye_height_m
        if template.sample_dist.size:
            z = (w00 * elev_flat[base + o00] + w01 * elev_flat[base + o01]
                 + w10 * elev_flat[base + o10] + w11 * elev_flat[base + o11])
            angle = (z - template.sample_drop - eye) / template.sample_dist
            angle[np.isnan(angle)] = -np.inf          # missing data never blocks the view
            horizon = np.full((base.shape[0], template.target_dist.size), -np.inf)
            horizon[:, template.has_samples] = np.maximum.reduceat(angle, template.segment_starts, axis=1)
        else:
            horizon = np.full((base.shape[0], template.target_dist.size), -np.inf)
        targets = base + template.target_offset
        target_angle = (elev_flat[targets] + target_height_m - template.target_drop - eye) / template.target_dist
        with np.errstate(invalid="ignore"):
            visible = target_angle >= horizon        # NaN target (nodata / outside) -> False
        seen_flat[targets[visible]] = True
        if progress is not None:
            progress(VISIBILITY_LABEL, min(lo + batch, total), total)
    out = seen[pad:pad + rows, pad:pad + cols].copy()
    out &= ~np.isnan(dem.elevation)
    log.info("visibility: %d observers, %d target cells each, %.1f s, %.1f%% of cells visible",
             total, template.target_dist.size, time.perf_counter() - started, 100 * out.mean())
    return out
