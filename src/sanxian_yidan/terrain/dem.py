"""The DEM: reading a GeoTIFF (or an array with its transform) into :class:`Dem`, windows, nodata, writing."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from ..errors import (
    CRSError,
    EmptyLayerError,
    InputFileError,
    MissingFileError,
    SanxianWarning,
    problem,
)
from .horn import slope_aspect_grid
from .settings import TerrainError


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
        rows, cols = self.elevation.shape
        return rows, cols

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
        """``(slope, aspect)`` of this DEM (computed once, read-only); see :func:`~sanxian_yidan.terrain.slope_aspect`.

        Raises
        ------
        CRSError
            If the DEM is not in a projected CRS with metre units (see :func:`require_metric`).
        """
        require_metric(self)
        slope, aspect = slope_aspect_grid(self.elevation, *self.res)
        slope.setflags(write=False)
        aspect.setflags(write=False)
        return slope, aspect


def require_metric(dem: Dem) -> None:
    """Refuse a DEM whose horizontal units are not metres: slopes and distances need them.

    Parameters
    ----------
    dem : Dem
        The DEM to check.

    Raises
    ------
    CRSError
        If ``dem.crs`` is geographic or projected in a unit other than the metre.
    """
    import pyproj

    crs = pyproj.CRS.from_user_input(dem.crs)
    units = {axis.unit_name for axis in crs.axis_info[:2]}
    if not crs.is_projected or not units <= {"metre", "meter"}:
        raise CRSError(problem("坡度计算需要以米为单位的投影坐标系。",
                               f"Slopes need a projected CRS in metres; the DEM is in {crs.name} ({sorted(units)}).",
                               file=dem.source, fix="reproject the DEM, e.g. gdalwarp -t_srs EPSG:4547 in.tif out.tif"))


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
    from ..io.safety import check_input_file

    check_input_file(path, what="DEM raster")  # no folder, named pipe, device or empty file
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
    with rasterio.open(path, "w", driver="GTiff", width=dem.shape[1], height=dem.shape[0], count=1, dtype=dtype,
                       crs=dem.crs, transform=dem.transform, nodata=nodata, compress="deflate") as dst:
        dst.write(data, 1)
    return path


