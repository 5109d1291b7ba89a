"""Raster layers on a web map: a grid reprojected to Web Mercator, coloured and embedded as a PNG data URI.

Leaflet's image overlay stretches an image linearly between two corners on the screen, and the screen
is Web Mercator (EPSG:3857), so the grid is first warped onto a Web Mercator grid of at most
``[raster].max_size_px`` pixels on its longer side; the overlay then lines up with the vector layers
at every zoom.  Classified rasters (e.g. the 三区两线 viewshed: 1 visible, 0 not) take a palette,
continuous rasters (elevation, scores) a ramp with classes like :class:`~sanxian_yidan.maps.NumericStyle`,
and a hillshade is drawn in grey.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import problem
from .layers import LegendEntry, NumericStyle, category_key, classify_numeric
from .settings import MapError, MapSettings

logger = logging.getLogger(__name__)


@dataclass
class RasterLayer:
    """A 2-D grid to draw as an image overlay.

    Parameters
    ----------
    data : numpy.ndarray
        2-D values (any numeric type); ``NaN`` and ``nodata`` are transparent.
    transform : affine.Affine
        Cell-corner transform of ``data`` (north-up).
    crs : Any
        CRS of the grid (anything rasterio accepts).
    name_zh, name_en : str
        Bilingual layer name.
    mode : {"classes", "ramp", "grey"}
        ``"classes"``: each value listed in ``palette`` gets its colour, other values are transparent;
        ``"ramp"``: numeric classes along a ramp (legend with class edges); ``"grey"``: 0-255 grey
        levels (hillshade).
    palette : str or mapping, optional
        Palette id of the style registry, or value → colour (``mode="classes"``).
    ramp : str or sequence of str, optional
        Ramp id or colours, low first (``mode="ramp"``).
    look : str, optional
        Layer id in the style registry (``viewshed``, ``hillshade``): opacity, show and palette/ramp.
    nodata : sequence of float
        Values drawn transparent (besides NaN).
    opacity : float, optional
        Image opacity 0-1 (default: the look's, else 0.6).
    show : bool, optional
        Switched on when the map opens (default: the look's, else True).
    synthetic : bool
        The grid is (partly) synthetic (shows the SAMPLE DATA banner).
    heading : str
        What the values are (legend heading), e.g. ``"高程 / Elevation [m]"``.
    """

    data: np.ndarray
    transform: Any
    crs: Any
    name_zh: str
    name_en: str
    mode: str = "classes"
    palette: str | Mapping[Any, str] | None = None
    ramp: str | Sequence[str] | None = None
    look: str | None = None
    nodata: Sequence[float] = field(default_factory=tuple)
    opacity: float | None = None
    show: bool | None = None
    synthetic: bool = False
    heading: str = ""

    @property
    def name(self) -> str:
        """``"中文 / English"``."""
        return f"{self.name_zh} / {self.name_en}" if self.name_en and self.name_en != self.name_zh else self.name_zh

    @property
    def is_synthetic(self) -> bool:
        return bool(self.synthetic)

    def _look(self) -> Any:
        if not self.look:
            return None
        from .styles import layer_style

        return layer_style(self.look)

    @property
    def visible(self) -> bool:
        if self.show is not None:
            return bool(self.show)
        look = self._look()
        return look.show if look is not None else True

    @property
    def alpha(self) -> float:
        if self.opacity is not None:
            return float(self.opacity)
        look = self._look()
        return look.opacity if look is not None else 0.6


@dataclass(frozen=True)
class RasterImage:
    """A raster layer ready for the page: PNG data URI, corners in lat/lon, legend entries."""

    uri: str
    bounds: tuple[tuple[float, float], tuple[float, float]]  # ((south, west), (north, east))
    entries: tuple[LegendEntry, ...]
    heading: str
    width: int
    height: int


def _to_web_mercator(layer: RasterLayer, max_px: int, categorical: bool) -> tuple[np.ndarray, Any]:
    """Warp the grid onto a Web Mercator grid of at most ``max_px`` on its longer side (NaN outside)."""
    import warnings

    from rasterio.crs import CRS
    from rasterio.transform import array_bounds, from_bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    data = np.asarray(layer.data, dtype="float64")
    if data.ndim != 2 or min(data.shape) < 1:
        raise MapError(problem("栅格图层必须是二维数组。", f"Raster layer '{layer.name}' is not a 2-D grid.",
                               fix="pass one band as a 2-D array"))
    data = data.copy()
    for value in layer.nodata:
        data[data == value] = np.nan
    src_crs = CRS.from_user_input(layer.crs)
    h, w = data.shape
    with warnings.catch_warnings():
        # rasterio 1.4 builds transforms with affine's '*' operator and warns about it on every call
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        west, south, east, north = transform_bounds(src_crs, "EPSG:3857", *array_bounds(h, w, layer.transform),
                                                    densify_pts=21)
        scale = max(east - west, north - south) / max_px
        width = max(int(np.ceil((east - west) / scale)), 1)
        height = max(int(np.ceil((north - south) / scale)), 1)
        dst_transform = from_bounds(west, south, east, north, width, height)
        out = np.full((height, width), np.nan)
        reproject(data, out, src_transform=layer.transform, src_crs=src_crs, dst_transform=dst_transform,
                  dst_crs="EPSG:3857", src_nodata=np.nan, dst_nodata=np.nan,
                  resampling=Resampling.nearest if categorical else Resampling.bilinear)
    return out, dst_transform


def _png_uri(rgba: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _hex(colour: str) -> tuple[int, int, int]:
    from matplotlib.colors import to_rgb

    return tuple(int(round(c * 255)) for c in to_rgb(colour))  # type: ignore[return-value]


def raster_image(layer: RasterLayer, s: MapSettings) -> RasterImage:
    """Colour a raster layer and encode it as a PNG data URI in Web Mercator.

    Parameters
    ----------
    layer : RasterLayer
    s : MapSettings
        ``[raster].max_size_px`` bounds the image size.

    Returns
    -------
    RasterImage
        With legend entries counting cells of the warped image per class.
    """
    from pyproj import Transformer

    look = layer._look()
    mode = layer.mode
    if mode not in ("classes", "ramp", "grey"):
        raise MapError(problem("栅格图层的绘制方式无效。", f"Raster mode {mode!r} of '{layer.name}' is unknown.",
                               fix="use 'classes', 'ramp' or 'grey'"))
    grid, transform = _to_web_mercator(layer, s.raster_max_size_px, categorical=mode == "classes")
    finite = np.isfinite(grid)
    rgba = np.zeros(grid.shape + (4,), dtype=np.uint8)
    entries: list[LegendEntry] = []
    if mode == "grey":
        levels = max(s.hillshade_levels, 2)
        step = 256 / levels
        grey = np.clip(np.floor(np.nan_to_num(grid) / step) * step + step / 2, 0, 255).astype(np.uint8)
        rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = grey
        rgba[..., 3] = np.where(finite, 255, 0)
        entries.append(LegendEntry(layer.name, "#808080", int(finite.sum())))
    elif mode == "classes":
        palette = layer.palette if layer.palette is not None else (look.palette if look is not None else None)
        if isinstance(palette, str):
            from .styles import styles

            reg = styles()
            if palette not in reg.palettes:
                raise MapError(problem(f"没有名为 '{palette}' 的配色表。", f"No palette '{palette}'.",
                                       fix=f"use one of {sorted(reg.palettes)}"))
            classes = [(c.value, c.label, c.colour) for c in reg.palettes[palette].classes]
        elif isinstance(palette, Mapping):
            classes = [(category_key(k) or "", str(k), str(v)) for k, v in palette.items()]
        else:
            values = np.unique(grid[finite])[: s.max_legend_classes]
            auto = s.category_colours
            classes = [(category_key(v) or "", category_key(v) or "", auto[i % len(auto)])
                       for i, v in enumerate(values)]
        keys = pd.Series(grid[finite]).map(category_key).to_numpy(dtype=object)
        flat = np.zeros((int(finite.sum()), 4), dtype=np.uint8)
        for value, label, colour in classes:
            member = keys == value
            if colour.lower() in ("#ffffff", "white", "transparent"):
                # 'not visible' and similar background classes stay transparent: only what matters is drawn
                continue
            flat[member] = (*_hex(colour), 255)
            if member.any():
                entries.append(LegendEntry(label, colour, int(member.sum())))
        rgba[finite] = flat
    else:
        values = pd.Series(grid[finite])
        ramp = layer.ramp if layer.ramp is not None else (look.ramp if look is not None and look.ramp else None)
        ramp_classes = classify_numeric(values, NumericStyle("value", ramp=ramp), s)
        flat = np.zeros((len(values), 4), dtype=np.uint8)
        for k, entry in enumerate(ramp_classes.entries):
            flat[ramp_classes.index == k] = (*_hex(entry.colour), 255)
        rgba[finite] = flat
        entries = [e for e in ramp_classes.entries if e.count]
    t = transform
    west, south, east, north = t.c, t.f + t.e * grid.shape[0], t.c + t.a * grid.shape[1], t.f
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([west, east], [south, north])
    return RasterImage(_png_uri(rgba), ((lat0, lon0), (lat1, lon1)), tuple(entries), layer.heading, grid.shape[1],
                       grid.shape[0])


def read_raster_layer(path: Any, *, name_zh: str | None = None, name_en: str | None = None,
                      look: str | None = None, synthetic: bool = False) -> RasterLayer:
    """Read band 1 of a GeoTIFF into a :class:`RasterLayer`, classified or continuous by its values.

    Integer grids with at most ``12`` distinct values are drawn as classes (a visibility mask, a land
    class), anything else along a ramp.  A grid named ``visibility`` takes the ``viewshed`` look.

    Raises
    ------
    MapError
        If the file cannot be read as a raster or has no CRS (bilingual, naming the file).
    """
    from pathlib import Path

    import rasterio

    path = Path(path)
    try:
        with rasterio.open(path) as src:
            data = src.read(1).astype("float64")
            nodata = () if src.nodata is None else (float(src.nodata),)
            transform, crs, dtype = src.transform, src.crs, src.dtypes[0]
    except rasterio.errors.RasterioIOError as exc:
        raise MapError(problem("无法读取栅格文件。", f"Cannot read '{path.name}' as a raster.", file=str(path),
                               fix="give a GeoTIFF (.tif) written by the toolkit or a GIS")) from exc
    if crs is None:
        raise MapError(problem("栅格文件没有坐标参考系，无法绘制。", f"The raster '{path.name}' has no CRS.",
                               file=str(path), fix="assign its CRS in a GIS (e.g. gdal_edit.py -a_srs EPSG:4547)"))
    if look is None and path.stem.lower() in ("visibility", "viewshed"):
        look = "viewshed"
    if look == "viewshed":
        return RasterLayer(data, transform, crs, name_zh or "三区两线可视范围", name_en or "三区两线 viewshed",
                           mode="classes", look=look, nodata=nodata + (255.0,), synthetic=synthetic, show=True)
    finite = data[np.isfinite(data) & ~np.isin(data, nodata)]
    distinct = np.unique(finite[: 2_000_000]) if finite.size else np.array([])
    integer = np.issubdtype(np.dtype(dtype), np.integer)
    mode = "classes" if integer and len(distinct) <= 12 else "ramp"
    return RasterLayer(data, transform, crs, name_zh or path.stem, name_en or path.stem, mode=mode, look=look,
                       nodata=nodata, synthetic=synthetic, heading="栅格值 / Cell value", show=True)
