"""Vector files to map layers (the ``sanxian map`` command)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import folium
import folium.plugins

from ..errors import problem
from .layers import MapLayer, SingleStyle, style_for_column
from .render import make_map
from .settings import MapError, MapSettings, _default_settings

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------
# Files → layers (the `sanxian map` command)
# ---------------------------------------------------------------------------------------------------
_MULTI_LAYER_SUFFIXES = (".gpkg", ".sqlite", ".kml", ".gdb")


def read_map_layers(paths: Iterable[str | Path], *, column: str | None = None, palette: str | None = None,
                    settings: MapSettings | None = None) -> list[MapLayer]:
    """Read vector files into map layers, styled by ``column`` where they have it.

    Every file goes through :func:`sanxian_yidan.read_vector` and
    :func:`sanxian_yidan.normalize.normalise`; each spatial layer of a GeoPackage becomes one map layer.

    Parameters
    ----------
    paths : iterable of str or Path
        Vector files (any format :func:`~sanxian_yidan.read_vector` reads).
    column : str, optional
        Style column; layers without it are drawn in one colour.
    palette : str, optional
        Palette of ``maps.toml`` for ``column``.
    settings : MapSettings, optional
        Default: the packaged ``maps.toml``.

    Raises
    ------
    MapError
        If ``column`` is in none of the layers (the message lists the columns of each).
    """
    import pyogrio

    from ..crs import WORKING_CRS
    from ..io.vector import read_vector
    from ..normalize import normalise

    s = settings or _default_settings()
    layers: list[MapLayer] = []
    columns_seen: dict[str, list[str]] = {}
    for raw_path in paths:
        path = Path(raw_path)
        names: list[str | None] = [None]
        if path.suffix.lower() in _MULTI_LAYER_SUFFIXES and path.exists():
            listed = pyogrio.list_layers(path)
            names = [str(n) for n, geom in listed if geom is not None] or [None]
        for name in names:
            gdf = normalise(read_vector(path, layer=name), WORKING_CRS, file=str(path), layer=name)
            label = path.stem if name is None or len(names) == 1 else f"{path.stem}: {name}"
            columns_seen[label] = [c for c in gdf.columns if c != gdf.geometry.name]
            style = style_for_column(gdf, column, palette=palette, settings=s) \
                if column is not None and column in gdf.columns else SingleStyle()
            layers.append(MapLayer(gdf, label, label, style=style))
    if column is not None and not any(column in cols for cols in columns_seen.values()):
        raise MapError(problem(f"所有图层都没有列 '{column}'。", f"No layer has the column '{column}'.",
                               fix="choose one of the columns: " + "; ".join(
                                   f"{k}: {v}" for k, v in columns_seen.items())))
    return layers


def map_files(paths: Iterable[str | Path], *, column: str | None = None, palette: str | None = None,
              basemap: str = "none", offline: bool = False, catalog: Any = None, title: str | None = None,
              tianditu_key: str | None = None, settings: MapSettings | None = None) -> folium.Map:
    """Map vector files (the ``sanxian map`` command): :func:`read_map_layers` then :func:`make_map`.

    ``title`` may be ``"中文 / English"``; ``catalog=None`` draws no boundaries.
    """
    layers = read_map_layers(paths, column=column, palette=palette, settings=settings)
    if title:
        zh, _, en = title.partition(" / ")
        title_zh, title_en = zh.strip(), (en or zh).strip()
    else:
        names = ", ".join(layer.name_en for layer in layers)
        title_zh, title_en = f"地图：{names}", f"Map: {names}"
    return make_map(layers, basemap=basemap, offline=offline, title_zh=title_zh, title_en=title_en,
                    catalog=catalog, boundaries=catalog is not None, tianditu_key=tianditu_key, settings=settings)


