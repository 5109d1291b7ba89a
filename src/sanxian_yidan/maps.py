"""Interactive HTML maps of screening results, PV rankings and mine priorities (folium / Leaflet).

A map is built from :class:`MapLayer` objects — any GeoDataFrame with a bilingual name, a style
(:class:`CategoryStyle` by a categorical column such as ``verdict``, :class:`NumericStyle` by a numeric
column such as ``score`` or ``rank``, or one :class:`SingleStyle` colour) and the columns to list in
the popups — so the results of every analysis plug in the same way::

    from sanxian_yidan.maps import CategoryStyle, MapLayer, make_map, save_map

    layer = MapLayer(results, "项目研判结论", "Screening verdicts", style=CategoryStyle("verdict"),
                     popup=["id", "verdict", "verdict_zh", "findings"], tooltip="id")
    m = make_map([layer], catalog="layers/catalog.toml", offline=True)
    save_map(m, "maps/screening.html")

Every map has a layer control, a bilingual legend, a metric scale bar, a measure tool and a fullscreen
button.  User-supplied text never reaches the page as markup: popups and tooltips are filled with
``textContent``; names, titles and legend labels are HTML-escaped.  Without a tile basemap
(``basemap="none"``, the default and the only choice offline) the county and township boundaries of
the catalog are drawn as the background.  Amap tiles are in GCJ-02, so with ``basemap="amap"`` every
overlay is shifted into GCJ-02 to line up with the streets.  Offline maps (``offline=True``) are one self-contained HTML file:
Leaflet, the plugins and their stylesheets are inlined from the assets of the PyPI package
folium-offline, and :func:`external_references` checks that nothing refers to the network.  Whenever
a layer used is synthetic a red "示例数据 SAMPLE DATA" banner is shown.

Basemap URLs, colour tables, ramps and layout settings live in ``data/maps.toml``.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from . import columns as columns_registry
from .crs import wgs84_to_gcj02
from .datafiles import load_toml, packaged_path
from .errors import CRSError, DataFileError, SanxianError, SanxianWarning, problem

logger = logging.getLogger(__name__)

__all__ = [
    "BASEMAPS", "CategoryStyle", "MapError", "MapLayer", "MapSettings", "NumericStyle", "SingleStyle",
    "external_references", "inline_assets", "load_map_settings", "make_map", "map_files", "popup_content",
    "read_map_layers", "render_html", "save_map", "style_for_column", "to_gcj02",
]

#: Basemap choices of :func:`make_map` (the tile sources are in ``data/maps.toml``).
BASEMAPS = ("none", "osm", "tianditu", "amap")
_SETTINGS_FILE = "maps.toml"
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|[a-zA-Z]{3,20})$")
# Columns never listed in a popup by default: internal bookkeeping of the catalog and of this module.
_HIDDEN_COLUMNS = ("src_fid",)
# Columns tried, in order, for the hover tooltip when the layer does not name one.
_TOOLTIP_CANDIDATES = ("name_zh", "name", "id", "code", "project_id")


class MapError(SanxianError, ValueError):
    """A map cannot be built as asked (unknown basemap, missing column or key, external references)."""


# ---------------------------------------------------------------------------------------------------
# Settings (data/maps.toml)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TileSource:
    """One tile layer of a basemap: Leaflet URL template and HTML attribution."""

    url: str
    attribution: str


@dataclass(frozen=True)
class Basemap:
    """A tile basemap (``[basemaps.<id>]`` in ``maps.toml``).

    Attributes
    ----------
    crs : {"wgs84", "gcj02"}
        Coordinates the tiles are drawn in; ``"gcj02"`` shifts every overlay.
    key_env : str
        Environment variable holding the access key (``""`` if none is needed).
    tiles : tuple of TileSource
        First = base layer, further = overlays (e.g. Tianditu labels).
    """

    id: str
    zh: str
    en: str
    crs: str
    max_zoom: int
    subdomains: str
    key_env: str
    tiles: tuple[TileSource, ...]
    source: str


@dataclass(frozen=True)
class PaletteClass:
    """One class of a categorical colour table: value (as text), bilingual label, colour."""

    value: str
    zh: str
    en: str
    colour: str

    @property
    def label(self) -> str:
        """``"中文 / English"``."""
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class Palette:
    """Colour table for a categorical column (``[palettes.<id>]``)."""

    id: str
    columns: tuple[str, ...]
    classes: tuple[PaletteClass, ...]
    source: str


@dataclass(frozen=True)
class Ramp:
    """Colour ramp for a numeric column, low value first (``[ramps.<id>]``)."""

    id: str
    colours: tuple[str, ...]
    columns: tuple[str, ...]
    reverse: bool
    source: str


@dataclass(frozen=True)
class BoundaryStyle:
    """How the catalog's boundary layer of one role is drawn (``[boundaries.<id>]``)."""

    id: str
    role: str
    colour: str
    weight: float
    dash: str
    source: str


@dataclass(frozen=True)
class MapSettings:
    """Validated content of ``maps.toml`` (see that file for the meaning and source of each value)."""

    path: Path
    background: str
    coordinate_decimals: int
    popup_max_width_px: int
    popup_max_height_px: int
    max_legend_classes: int
    numeric_classes: int
    numeric_method: str
    no_data_colour: str
    font_family: str
    fill_opacity: float
    polygon_weight: float
    line_weight: float
    point_radius: float
    point_stroke: str
    point_weight: float
    layer_colours: tuple[str, ...]
    category_colours: tuple[str, ...]
    boundaries: tuple[BoundaryStyle, ...]
    banner_text: str
    banner_background: str
    banner_colour: str
    offline_drop: tuple[str, ...]
    offline_drop_reason: str
    basemaps: Mapping[str, Basemap]
    palettes: Mapping[str, Palette]
    ramps: Mapping[str, Ramp]
    field_labels: Mapping[str, str]

    def palette_for(self, column: str) -> Palette | None:
        """The palette whose ``columns`` list ``column``, if any."""
        return next((p for p in self.palettes.values() if column in p.columns), None)

    def ramp_for(self, column: str) -> Ramp:
        """The ramp whose ``columns`` list ``column``, else the ``sequential`` ramp."""
        found = next((r for r in self.ramps.values() if column in r.columns), None)
        return found or self.ramps["sequential"]


class _Reader:
    """Collects every problem of a settings file so they are reported together."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def get(self, table: Any, key: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
        if not isinstance(table, dict):
            self.problems.append(f"{where} must be a table")
            return default
        if key not in table:
            self.problems.append(f"{where}: missing key '{key}'")
            return default
        value = table[key]
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            self.problems.append(f"{where}.{key} must be a number, got {value!r}")
            return default
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.problems.append(f"{where}.{key} must be {names}, got {type(value).__name__} {value!r}")
            return default
        return value

    def colour(self, table: Any, key: str, where: str) -> str:
        value = self.get(table, key, str, where, "#000000")
        if not _COLOUR.match(value):
            self.problems.append(f"{where}.{key} = {value!r} is not a colour (#rrggbb or a CSS name)")
            return "#000000"
        return value

    def colours(self, table: Any, key: str, where: str) -> tuple[str, ...]:
        values = self.get(table, key, list, where, [])
        bad = [v for v in values if not (isinstance(v, str) and _COLOUR.match(v))]
        if bad:
            self.problems.append(f"{where}.{key}: not colours: {bad}")
        if not values:
            self.problems.append(f"{where}.{key} must list at least one colour")
        return tuple(v for v in values if isinstance(v, str) and _COLOUR.match(v)) or ("#000000",)

    def strings(self, table: Any, key: str, where: str) -> tuple[str, ...]:
        values = self.get(table, key, list, where, [])
        if any(not isinstance(v, str) for v in values):
            self.problems.append(f"{where}.{key} must be a list of strings")
        return tuple(str(v) for v in values)

    def source(self, table: Any, where: str) -> str:
        value = self.get(table, "source", str, where, "")
        if isinstance(table, dict) and "source" in table and not str(value).strip():
            self.problems.append(f"{where}.source is empty")
        return value


def _parse_basemaps(r: _Reader, doc: dict[str, Any]) -> dict[str, Basemap]:
    out = {}
    table = r.get(doc, "basemaps", dict, "maps.toml", {})
    for bid in ("osm", "tianditu", "amap"):
        if bid not in table:
            r.problems.append(f"[basemaps.{bid}] is missing (make_map offers basemap='{bid}')")
    for bid, spec in table.items():
        where = f"[basemaps.{bid}]"
        tiles = []
        for i, tile in enumerate(r.get(spec, "tiles", list, where, [])):
            tiles.append(TileSource(r.get(tile, "url", str, f"{where}.tiles[{i}]", ""),
                                    r.get(tile, "attribution", str, f"{where}.tiles[{i}]", "")))
        if not tiles:
            r.problems.append(f"{where}: needs at least one [[basemaps.{bid}.tiles]] entry")
        crs = r.get(spec, "crs", str, where, "wgs84")
        if crs not in ("wgs84", "gcj02"):
            r.problems.append(f"{where}.crs = {crs!r}; allowed: 'wgs84', 'gcj02'")
        out[bid] = Basemap(bid, r.get(spec, "zh", str, where, bid), r.get(spec, "en", str, where, bid), crs,
                           r.get(spec, "max_zoom", int, where, 18), r.get(spec, "subdomains", str, where, ""),
                           r.get(spec, "key_env", str, where, ""), tuple(tiles), r.source(spec, where))
    return out


def _parse_palettes(r: _Reader, doc: dict[str, Any]) -> dict[str, Palette]:
    out = {}
    for pid, spec in r.get(doc, "palettes", dict, "maps.toml", {}).items():
        where = f"[palettes.{pid}]"
        classes = []
        for value, cls in r.get(spec, "classes", dict, where, {}).items():
            cwhere = f"{where}.classes.{value}"
            classes.append(PaletteClass(str(value), r.get(cls, "zh", str, cwhere, value),
                                        r.get(cls, "en", str, cwhere, value), r.colour(cls, "colour", cwhere)))
        out[pid] = Palette(pid, r.strings(spec, "columns", where), tuple(classes), r.source(spec, where))
    return out


def _parse_ramps(r: _Reader, doc: dict[str, Any]) -> dict[str, Ramp]:
    out = {}
    for rid, spec in r.get(doc, "ramps", dict, "maps.toml", {}).items():
        where = f"[ramps.{rid}]"
        colours = r.colours(spec, "colours", where)
        if len(colours) < 2:
            r.problems.append(f"{where}.colours needs at least two colours to make a ramp")
        out[rid] = Ramp(rid, colours, r.strings(spec, "columns", where), r.get(spec, "reverse", bool, where, False),
                        r.source(spec, where))
    if "sequential" not in out:
        r.problems.append("[ramps.sequential] is missing (the default ramp for numeric columns)")
    return out


def load_map_settings(path: str | Path | None = None) -> MapSettings:
    """Read and validate map settings (default: the packaged ``data/maps.toml``).

    Parameters
    ----------
    path : str or Path, optional
        A user file with the structure of ``data/maps.toml`` (e.g. other colours or a company tile
        server).  It replaces the packaged file as a whole.

    Returns
    -------
    MapSettings

    Raises
    ------
    DataFileError
        Listing every problem of the file (missing key, wrong type, bad colour, missing ``source``).
    """
    file = Path(path) if path is not None else packaged_path(_SETTINGS_FILE)
    doc = load_toml(file)
    r = _Reader(file)
    r.source(doc, "top level")
    mp = r.get(doc, "map", dict, "[map]", {})
    ov = r.get(doc, "overlay", dict, "[overlay]", {})
    bn = r.get(doc, "banner", dict, "[banner]", {})
    off = r.get(doc, "offline", dict, "[offline]", {})
    for table, where in ((mp, "[map]"), (ov, "[overlay]"), (bn, "[banner]"), (off, "[offline]")):
        r.source(table, where)
    boundaries = []
    for bid, spec in r.get(doc, "boundaries", dict, "maps.toml", {}).items():
        where = f"[boundaries.{bid}]"
        boundaries.append(BoundaryStyle(bid, r.get(spec, "role", str, where, ""), r.colour(spec, "colour", where),
                                        float(r.get(spec, "weight", (int, float), where, 1.0)),
                                        r.get(spec, "dash", str, where, ""), r.source(spec, where)))
    labels_table = r.get(doc, "field_labels", dict, "maps.toml", {})
    r.source(labels_table, "[field_labels]")
    labels = r.get(labels_table, "names", dict, "[field_labels]", {})
    method = r.get(mp, "numeric_method", str, "[map]", "quantile")
    if method not in ("quantile", "equal"):
        r.problems.append(f"[map].numeric_method = {method!r}; allowed: 'quantile', 'equal'")
    settings = MapSettings(
        path=file,
        background=r.colour(mp, "background", "[map]"),
        coordinate_decimals=r.get(mp, "coordinate_decimals", int, "[map]", 6),
        popup_max_width_px=r.get(mp, "popup_max_width_px", int, "[map]", 440),
        popup_max_height_px=r.get(mp, "popup_max_height_px", int, "[map]", 320),
        max_legend_classes=r.get(mp, "max_legend_classes", int, "[map]", 12),
        numeric_classes=r.get(mp, "numeric_classes", int, "[map]", 5),
        numeric_method=method,
        no_data_colour=r.colour(mp, "no_data_colour", "[map]"),
        font_family=r.get(mp, "font_family", str, "[map]", "sans-serif"),
        fill_opacity=float(r.get(ov, "fill_opacity", (int, float), "[overlay]", 0.5)),
        polygon_weight=float(r.get(ov, "polygon_weight", (int, float), "[overlay]", 1.0)),
        line_weight=float(r.get(ov, "line_weight", (int, float), "[overlay]", 3.0)),
        point_radius=float(r.get(ov, "point_radius", (int, float), "[overlay]", 6.0)),
        point_stroke=r.colour(ov, "point_stroke", "[overlay]"),
        point_weight=float(r.get(ov, "point_weight", (int, float), "[overlay]", 1.0)),
        layer_colours=r.colours(ov, "layer_colours", "[overlay]"),
        category_colours=r.colours(ov, "category_colours", "[overlay]"),
        boundaries=tuple(boundaries),
        banner_text=r.get(bn, "text", str, "[banner]", ""),
        banner_background=r.colour(bn, "background", "[banner]"),
        banner_colour=r.colour(bn, "colour", "[banner]"),
        offline_drop=r.strings(off, "drop", "[offline]"),
        offline_drop_reason=r.get(off, "drop_reason", str, "[offline]", ""),
        basemaps=_parse_basemaps(r, doc),
        palettes=_parse_palettes(r, doc),
        ramps=_parse_ramps(r, doc),
        field_labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
    )
    if "SAMPLE DATA" not in settings.banner_text:
        r.problems.append("[banner].text must contain 'SAMPLE DATA' (the banner says the layers are synthetic)")
    if r.problems:
        raise DataFileError(problem(
            f"地图设置文件有 {len(r.problems)} 处错误。",
            f"The map settings file has {len(r.problems)} problem(s):\n  - " + "\n  - ".join(r.problems),
            file=file, fix="correct each entry listed; compare with the packaged sanxian_yidan/data/maps.toml"))
    return settings


@lru_cache(maxsize=1)
def _default_settings() -> MapSettings:
    return load_map_settings()


# ---------------------------------------------------------------------------------------------------
# Styles and layers
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryStyle:
    """Colour features by the values of a categorical column.

    Parameters
    ----------
    column : str
        Column to style by (e.g. ``verdict``, ``mode``, ``category``).
    palette : str or mapping, optional
        Name of a palette in ``maps.toml`` (e.g. ``"control_unit_category"``), or a mapping
        value → colour.  Default: the palette that lists ``column`` (``verdict`` → ``verdict``), else
        colours are given in turn from ``[overlay].category_colours``.
    labels : mapping, optional
        Value → legend label, overriding the palette's bilingual labels.
    """

    column: str
    palette: str | Mapping[Any, str] | None = None
    labels: Mapping[Any, str] | None = None


@dataclass(frozen=True)
class NumericStyle:
    """Colour features by classes of a numeric column (score, rank, capacity, priority).

    Parameters
    ----------
    column : str
        Numeric column.
    ramp : str or sequence of str, optional
        Name of a ramp in ``maps.toml`` or a list of colours, low value first.  Default: the ramp that
        lists ``column`` (``score``, ``rank``, ``priority``, ``capacity_kwp`` …), else ``sequential``.
    classes : int, optional
        Number of classes (default ``[map].numeric_classes``).
    method : {"quantile", "equal"}, optional
        Class breaks at quantiles of the values or at equal intervals (default ``[map].numeric_method``).
    breaks : sequence of float, optional
        Explicit class edges, ascending, including the lowest and highest (overrides ``classes``).
    reverse : bool, optional
        Darkest colour for the lowest value (default: the ramp's ``reverse``; ``rank`` is reversed).
    """

    column: str
    ramp: str | Sequence[str] | None = None
    classes: int | None = None
    method: str | None = None
    breaks: Sequence[float] | None = None
    reverse: bool | None = None


@dataclass(frozen=True)
class SingleStyle:
    """One colour for every feature (default: the next of ``[overlay].layer_colours``)."""

    colour: str | None = None


Style = CategoryStyle | NumericStyle | SingleStyle


@dataclass
class MapLayer:
    """A GeoDataFrame to draw, with its bilingual name, style, popup and tooltip.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features in any CRS (results are in EPSG:4547); not modified.
    name_zh, name_en : str
        Layer name in Chinese and English (layer control and legend).
    style : CategoryStyle, NumericStyle or SingleStyle, optional
        How to colour the features (default: one colour).
    popup : sequence of str, optional
        Columns listed in the popup, labelled from the column registry
        (:func:`sanxian_yidan.columns.label`).  Default: every attribute column.
    tooltip : str, optional
        Column shown on hover (default: the first of ``name_zh``, ``name``, ``id``, ``code``,
        ``project_id`` present, else none; ``""`` for none).
    show : bool
        Whether the layer is switched on when the map opens.
    synthetic : bool, optional
        ``True`` marks the layer synthetic.  Without it the layer counts as synthetic when its
        ``synthetic`` column has any true value or ``gdf.attrs["sanxian"]["synthetic"]`` is true;
        ``False`` cannot hide a ``synthetic`` column that says otherwise.
    """

    gdf: gpd.GeoDataFrame
    name_zh: str
    name_en: str
    style: Style | None = None
    popup: Sequence[str] | None = None
    tooltip: str | None = None
    show: bool = True
    synthetic: bool | None = None

    @property
    def name(self) -> str:
        """``"中文 / English"`` (not escaped)."""
        return f"{self.name_zh} / {self.name_en}" if self.name_en and self.name_en != self.name_zh else self.name_zh

    @property
    def is_synthetic(self) -> bool:
        """True if the layer is flagged synthetic by the flag, its ``synthetic`` column or its attrs."""
        if self.synthetic:
            return True
        if "synthetic" in self.gdf.columns:
            # read from a file the flag may be text ("true", "1", "是"); compare as text, not truthiness
            keys = {_category_key(v) for v in self.gdf["synthetic"].unique()}
            if keys & {"true", "True", "TRUE", "1", "yes", "是"}:
                return True
        return bool(self.gdf.attrs.get("sanxian", {}).get("synthetic", False))


def style_for_column(gdf: gpd.GeoDataFrame, column: str | None, *, palette: str | None = None,
                     settings: MapSettings | None = None) -> Style:
    """Choose a style for ``column``: categorical for text or a palette's column, else numeric classes.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer (to look at the column's type).
    column : str or None
        Column to style by; ``None`` gives :class:`SingleStyle`.
    palette : str, optional
        Palette name in ``maps.toml``; forces a categorical style.
    settings : MapSettings, optional
        Default: the packaged ``maps.toml``.

    Raises
    ------
    MapError
        If ``column`` is not a column of ``gdf``.
    """
    settings = settings or _default_settings()
    if column is None:
        return SingleStyle()
    _require_column(gdf, column, "style")
    series = gdf[column]
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if palette is not None or settings.palette_for(column) is not None or not numeric:
        return CategoryStyle(column, palette=palette)
    return NumericStyle(column)


def _require_column(gdf: gpd.GeoDataFrame, column: str, what: str, layer: str | None = None) -> None:
    if column not in gdf.columns:
        available = [c for c in gdf.columns if c != gdf.geometry.name]
        raise MapError(problem(f"图层中没有 {what} 所需的列 '{column}'。",
                               f"Column '{column}' (for the {what}) is not in the layer.", layer=layer,
                               fix=f"use one of the columns {available}"))


# ---------------------------------------------------------------------------------------------------
# Classification: every feature gets a class index; every class a colour, label and count
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LegendEntry:
    """One swatch of the legend."""

    label: str
    colour: str
    count: int
    dash: str = ""


@dataclass(frozen=True)
class _Classes:
    index: np.ndarray            # class of each feature (into entries)
    entries: tuple[LegendEntry, ...]
    heading: str                 # what the classes are (column label), "" for a single style


def _category_key(value: Any) -> str | None:
    """Text key of a category value: 1, 1.0 and "1" match; True → "true"; missing → None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _category_keys(series: pd.Series) -> pd.Series:
    """:func:`_category_key` of every value, computed once per distinct value."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([_category_key(v) for v in uniques] + [None], dtype=object)  # code -1 → None
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _valid_colour(colour: str, where: str) -> str:
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        raise MapError(problem("颜色无效。", f"{where}: {colour!r} is not a colour.",
                               fix="give colours as #rrggbb (or a CSS colour name)"))
    return colour


def _classify_category(series: pd.Series, style: CategoryStyle, s: MapSettings) -> _Classes:
    keys = _category_keys(series)
    known: list[PaletteClass] = []
    if isinstance(style.palette, str):
        if style.palette not in s.palettes:
            raise MapError(problem(f"没有名为 '{style.palette}' 的配色表。", f"No palette '{style.palette}'.",
                                   file=s.path, fix=f"use one of {sorted(s.palettes)}"))
        known = list(s.palettes[style.palette].classes)
    elif isinstance(style.palette, Mapping):
        known = [PaletteClass(_category_key(v) or "", str(v), str(v), _valid_colour(c, f"palette[{v!r}]"))
                 for v, c in style.palette.items()]
    elif (p := s.palette_for(style.column)) is not None:
        known = list(p.classes)
    labels = {(_category_key(k) or ""): str(v) for k, v in (style.labels or {}).items()}
    counts = keys.value_counts(dropna=True)
    by_value = {c.value: c for c in known}
    # Legend order: the palette's order, then other values from the most frequent.
    ordered = [c.value for c in known if c.value in counts.index]
    ordered += [v for v in counts.index if v not in by_value]
    limit = max(s.max_legend_classes, 1)
    shown, other = ordered[:limit], ordered[limit:]
    entries: list[LegendEntry] = []
    auto = iter(s.category_colours * (limit // len(s.category_colours) + 1))
    code_of: dict[str, int] = {}
    for value in shown:
        cls = by_value.get(value)
        colour = cls.colour if cls else next(auto)
        label = labels.get(value) or (cls.label if cls else value)
        code_of[value] = len(entries)
        entries.append(LegendEntry(label, colour, int(counts[value])))
    index = keys.map(code_of).to_numpy(dtype=object)
    extra: list[tuple[np.ndarray, LegendEntry]] = []
    if other:
        mask = keys.isin(other).to_numpy()
        extra.append((mask, LegendEntry(f"其他（{len(other)} 类）/ Other ({len(other)} classes)",
                                        s.no_data_colour, int(mask.sum()))))
    missing = keys.isna().to_numpy()
    if missing.any():
        extra.append((missing, LegendEntry("无数据 / No data", s.no_data_colour, int(missing.sum()))))
    for mask, entry in extra:
        index[mask] = len(entries)
        entries.append(entry)
    return _Classes(index.astype(int), tuple(entries), _column_label(style.column, s))


def _ramp_colours(colours: Sequence[str], n: int) -> list[str]:
    """``n`` colours along a ramp (linear interpolation in RGB between the given stops)."""
    from matplotlib.colors import LinearSegmentedColormap, to_hex

    if n == len(colours):
        return list(colours)
    cmap = LinearSegmentedColormap.from_list("ramp", list(colours))
    return [to_hex(cmap(x)) for x in np.linspace(0.0, 1.0, n)] if n > 1 else [to_hex(cmap(1.0))]


def _format_number(value: float) -> str:
    if not np.isfinite(value):
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _classify_numeric(series: pd.Series, style: NumericStyle, s: MapSettings) -> _Classes:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(values)
    ramp = s.ramp_for(style.column)
    colours_in: Sequence[str] = ramp.colours
    reverse = ramp.reverse
    if isinstance(style.ramp, str):
        if style.ramp not in s.ramps:
            raise MapError(problem(f"没有名为 '{style.ramp}' 的色带。", f"No colour ramp '{style.ramp}'.",
                                   file=s.path, fix=f"use one of {sorted(s.ramps)}"))
        colours_in, reverse = s.ramps[style.ramp].colours, s.ramps[style.ramp].reverse
    elif style.ramp is not None:
        colours_in = [_valid_colour(c, "ramp") for c in style.ramp]
    if style.reverse is not None:
        reverse = style.reverse
    if style.breaks is not None:
        edges = np.asarray(sorted(float(b) for b in style.breaks))
        if len(edges) < 2:
            raise MapError(problem("分级断点至少需要两个值。", "Class breaks need at least two values.",
                                   fix="give the lowest and highest edge and any edges between"))
    elif finite.any():
        n = max(int(style.classes or s.numeric_classes), 1)
        low, high = float(values[finite].min()), float(values[finite].max())
        if (style.method or s.numeric_method) == "quantile":
            edges = np.unique(np.quantile(values[finite], np.linspace(0.0, 1.0, n + 1)))
        else:
            edges = np.unique(np.linspace(low, high, n + 1))
        if len(edges) == 1:
            edges = np.array([low, high])
    else:
        edges = np.array([0.0, 0.0])
    n_classes = max(len(edges) - 1, 1)
    palette = _ramp_colours(colours_in, n_classes)
    if reverse:
        palette = palette[::-1]
    # Right-closed classes except the first, which includes its lower edge: [e0, e1], (e1, e2], ...
    index = np.clip(np.searchsorted(edges, values, side="left") - 1, 0, n_classes - 1)
    outside = finite & ((values < edges[0]) | (values > edges[-1]))
    entries = []
    for k in range(n_classes):
        members = finite & ~outside & (index == k)
        label = (_format_number(edges[k]) if edges[k] == edges[k + 1] or len(edges) == 1
                 else f"{_format_number(edges[k])} – {_format_number(edges[k + 1])}")
        entries.append(LegendEntry(label, palette[k], int(members.sum())))
    index = index.astype(int)
    extra = [(finite & outside, "超出分级范围 / Outside the class breaks"), (~finite, "无数据 / No data")]
    for mask, label in extra:
        if mask.any():
            index[mask] = len(entries)
            entries.append(LegendEntry(label, s.no_data_colour, int(mask.sum())))
    return _Classes(index, tuple(entries), _column_label(style.column, s))


def _classify(layer: MapLayer, colour_slot: int, s: MapSettings) -> _Classes:
    style = layer.style or SingleStyle()
    if isinstance(style, SingleStyle):
        colour = _valid_colour(style.colour, "SingleStyle.colour") if style.colour else \
            s.layer_colours[colour_slot % len(s.layer_colours)]
        return _Classes(np.zeros(len(layer.gdf), dtype=int), (LegendEntry(layer.name, colour, len(layer.gdf)),), "")
    _require_column(layer.gdf, style.column, "style", layer.name)
    if isinstance(style, CategoryStyle):
        return _classify_category(layer.gdf[style.column], style, s)
    if isinstance(style, NumericStyle):
        return _classify_numeric(layer.gdf[style.column], style, s)
    raise MapError(problem("未知的样式类型。", f"Unknown style {style!r}.",
                           fix="use CategoryStyle, NumericStyle or SingleStyle"))


# ---------------------------------------------------------------------------------------------------
# Popups and tooltips: plain text per feature, put into the page by the browser with textContent
# ---------------------------------------------------------------------------------------------------
def _column_label(name: str, s: MapSettings) -> str:
    registered = columns_registry.label(name)
    if registered != name:
        return registered
    return s.field_labels.get(name, name)


PopupValue = str | list[str]


def _format_scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "是 / yes" if value else "否 / no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        return _format_number(float(value))
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_format_scalar(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(_format_scalar(v) for v in value)
    return str(value)


def _format_value(value: Any) -> PopupValue:
    """Text of one attribute value; a list (e.g. findings, also as JSON text) becomes a list of lines."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] == "[" and text[-1:] == "]":
            try:
                value = json.loads(text)
            except ValueError:
                return value
        else:
            return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_format_scalar(v) for v in value]
    return _format_scalar(value)


def _default_popup_columns(gdf: gpd.GeoDataFrame) -> list[str]:
    return [c for c in gdf.columns if c != gdf.geometry.name and c not in _HIDDEN_COLUMNS
            and not isinstance(gdf[c].dtype, gpd.array.GeometryDtype)]


def popup_content(gdf: gpd.GeoDataFrame, columns: Sequence[str] | None = None, *,
                  settings: MapSettings | None = None) -> tuple[list[str], list[list[PopupValue]]]:
    """Labels and per-feature values of a popup table, as plain text.

    The map puts them into the page with ``textContent`` (never as HTML), so a value such as
    ``<script>alert(1)</script>`` is shown as those characters and nothing runs.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features.
    columns : sequence of str, optional
        Columns to list (default: all attribute columns but ``src_fid``).  Labels come from the column
        registry (:func:`sanxian_yidan.columns.label`), then ``[field_labels]`` of ``maps.toml``, else
        the bare name.
    settings : MapSettings, optional
        Default: the packaged ``maps.toml``.

    Returns
    -------
    labels : list of str
        One bilingual label per column.
    values : list of list
        Per feature, one text per column; lists (e.g. ``findings``, also given as JSON text) are lists
        of lines, a dict item as ``"key: value; ..."``.
    """
    s = settings or _default_settings()
    names = list(columns) if columns is not None else _default_popup_columns(gdf)
    for name in names:
        _require_column(gdf, name, "popup")
    labels = [_column_label(name, s) for name in names]
    cells = [gdf[name].map(_format_value).tolist() for name in names]
    return labels, [list(row) for row in zip(*cells)] if names else [[] for _ in range(len(gdf))]


def _tooltips(layer: MapLayer) -> list[str] | None:
    gdf = layer.gdf
    column = layer.tooltip
    if column == "":
        return None
    if column is None:
        column = next((c for c in _TOOLTIP_CANDIDATES if c in gdf.columns), None)
        if column is None:
            return None  # the popup names the layer; a tooltip repeating it on every feature adds nothing
    _require_column(gdf, column, "tooltip", layer.name)
    return gdf[column].map(lambda v: "" if _category_key(v) is None else _format_scalar(v)).tolist()


# ---------------------------------------------------------------------------------------------------
# Geometry for display: WGS84 (or GCJ-02 for Amap), rounded
# ---------------------------------------------------------------------------------------------------
def _gcj02_coords(xy: np.ndarray) -> np.ndarray:
    lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy with every coordinate moved from WGS84 into GCJ-02 (for Amap tiles).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features in any CRS (reprojected to EPSG:4326 first).

    Returns
    -------
    geopandas.GeoDataFrame
        Longitude/latitude in GCJ-02.  The frame is labelled EPSG:4326 because no EPSG code exists for
        GCJ-02; ``attrs["sanxian"]["coordinates"] == "GCJ-02"`` says so.  Use only to draw on GCJ-02
        tiles, never for analysis.

    Notes
    -----
    All vertices of all geometries are converted in one vectorised call
    (:func:`shapely.transform` with :func:`sanxian_yidan.crs.wgs84_to_gcj02`); around Suizhou points
    move by 590-630 m [1]_.

    References
    ----------
    .. [1] RULES_REFERENCE.md, "Coordinates".
    """
    _require_crs(gdf, "to_gcj02")
    out = gdf.to_crs("EPSG:4326")
    out = out.set_geometry(shapely.transform(np.asarray(out.geometry.values), _gcj02_coords), crs="EPSG:4326")
    out.attrs = {"sanxian": {**gdf.attrs.get("sanxian", {}), "coordinates": "GCJ-02"}}
    return out


def _require_crs(gdf: gpd.GeoDataFrame, layer: str) -> None:
    if gdf.crs is None:
        raise CRSError(problem("图层没有坐标参考系，无法绘制。", "The layer has no CRS, so it cannot be drawn.",
                               layer=layer, fix="read it with sanxian_yidan.read_vector (which resolves the CRS) "
                                                "or call gdf.set_crs(...)"))


def _display_geometries(gdf: gpd.GeoDataFrame, *, gcj02: bool, decimals: int, layer: str) -> np.ndarray:
    _require_crs(gdf, layer)
    geoms = np.asarray(gdf.geometry.to_crs("EPSG:4326").values)
    if gcj02:
        geoms = shapely.transform(geoms, _gcj02_coords)
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _geometry_rank(geoms: np.ndarray) -> int:
    """Draw order: polygons 0, lines 2, points 3 (boundaries are 1), so small things stay on top."""
    types = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    if types & {0, 4}:       # Point, MultiPoint
        return 3
    if types & {1, 2, 5}:    # LineString, LinearRing, MultiLineString
        return 2
    return 0


def _kind(geoms: np.ndarray) -> str:
    return {3: "point", 2: "line"}.get(_geometry_rank(geoms), "polygon")


# ---------------------------------------------------------------------------------------------------
# Small HTML/JS elements: overlays appended to the map container, the legend control, the scale bar
# ---------------------------------------------------------------------------------------------------
def _js_json(value: Any) -> str:
    """JSON for a JS literal that is safe inside <script> (keeps Chinese readable in the HTML source)."""
    return (json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _js_string(text: str) -> str:
    """A JS string literal safe inside <script>."""
    return _js_json(text)


class _MapOverlay(MacroElement):
    """A div added inside the map container (stays visible in fullscreen), e.g. title and banner."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var div = L.DomUtil.create('div', {{ this.css_class }});
            div.innerHTML = {{ this.content }};
            {{ this._parent.get_name() }}.getContainer().appendChild(div);
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
        })();
        {% endmacro %}
    """)

    def __init__(self, content_html: str, css_class: str) -> None:
        super().__init__()
        self._name = "SanxianOverlay"
        self.content = _js_string(content_html)
        self.css_class = _js_string(css_class)


class _LegendControl(MacroElement):
    """The bilingual legend as a Leaflet control (bottom right)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function () {
                var div = L.DomUtil.create('div', 'sx-legend leaflet-control');
                div.innerHTML = {{ this.content }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, content_html: str) -> None:
        super().__init__()
        self._name = "SanxianLegend"
        self.content = _js_string(content_html)


class _MetricScale(MacroElement):
    """Scale bar in metres/kilometres only (planners in China work in metric units)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, position: 'bottomleft'}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "SanxianScale"


# A small "stacked layers" icon for a collapsed layer control; Leaflet's own icon is a PNG next to
# leaflet.css that an inlined stylesheet cannot reach.
_LAYERS_ICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 26 26'%3E"
                "%3Cpath d='M13 3 2 9l11 6 11-6z' fill='%23555'/%3E%3Cpath d='m2 13 11 6 11-6M2 17l11 6 11-6' "
                "fill='none' stroke='%23555' stroke-width='2'/%3E%3C/svg%3E")


def _css(s: MapSettings) -> str:
    # Selectors are one step more specific than leaflet.css's, which is inserted after this sheet.
    return f"""<style>
.folium-map.leaflet-container {{ background: {s.background}; font-family: {s.font_family}; }}
.leaflet-control-layers-toggle {{ background-image: url("{_LAYERS_ICON}"); background-size: 26px 26px; }}
.sx-header {{ position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 1000;
  max-width: 44%; text-align: center; pointer-events: none; }}
.leaflet-control-layers-expanded {{ max-width: 26vw; max-height: 45vh; overflow-y: auto; font-size: 12px; }}
.sx-title {{ background: rgba(255,255,255,0.92); border-radius: 4px; padding: 4px 12px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); display: inline-block; pointer-events: auto; }}
.sx-title .zh {{ font-size: 17px; font-weight: bold; display: block; }}
.sx-title .en {{ font-size: 12px; color: #444; display: block; }}
.sx-banner {{ margin-top: 6px; background: {s.banner_background}; color: {s.banner_colour}; font-weight: bold;
  font-size: 14px; padding: 5px 12px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.4);
  pointer-events: auto; }}
.sx-banner small {{ display: block; font-weight: normal; font-size: 11px; }}
.sx-legend {{ background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 4px; font-size: 12px;
  line-height: 1.35; box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-height: 60vh; max-width: 340px;
  overflow-y: auto; }}
.sx-legend h4 {{ margin: 0 0 4px 0; font-size: 13px; }}
.sx-legend .sx-layer {{ margin-top: 6px; }}
.sx-legend .sx-layer-name {{ font-weight: bold; }}
.sx-legend .sx-heading {{ color: #555; font-style: italic; }}
.sx-legend .sx-item {{ padding-left: 21px; text-indent: -21px; }}
.sx-legend .sx-count {{ color: #777; }}
.sx-legend .sx-syn {{ color: {s.banner_background}; font-weight: bold; }}
.sx-legend .sx-notes {{ margin-top: 6px; color: #555; font-size: 11px; white-space: normal; }}
.sx-swatch {{ display: inline-block; width: 14px; height: 12px; margin-right: 5px; vertical-align: middle;
  border: 1px solid rgba(0,0,0,0.35); }}
.sx-swatch.line {{ height: 0; border: none; border-top-width: 3px; border-top-style: solid; width: 18px; }}
.sx-swatch.point {{ border-radius: 50%; width: 11px; height: 11px; }}
.sx-swatch.outline {{ background: transparent !important; border-width: 2px; }}
table.sx-popup {{ border-collapse: collapse; font-size: 12px; }}
table.sx-popup th {{ text-align: left; vertical-align: top; padding: 2px 8px 2px 0; color: #333;
  white-space: nowrap; }}
table.sx-popup td {{ padding: 2px 0; vertical-align: top; }}
table.sx-popup ul {{ margin: 0; padding-left: 16px; }}
.leaflet-popup-content {{ max-height: {s.popup_max_height_px}px; overflow-y: auto; }}
</style>"""


def _swatch(entry: LegendEntry, kind: str, *, outline: bool = False) -> str:
    border = "dashed" if entry.dash else "solid"
    if outline:
        return f'<span class="sx-swatch outline" style="border-color: {entry.colour}; border-style: {border};"></span>'
    if kind == "line":
        return (f'<span class="sx-swatch line" style="border-top-color: {entry.colour}; '
                f'border-top-style: {border};"></span>')
    return f'<span class="sx-swatch {kind}" style="background: {entry.colour};"></span>'


@dataclass
class _LegendBlock:
    name: str
    heading: str
    entries: tuple[LegendEntry, ...]
    kind: str
    synthetic: bool
    outline: bool = False
    show_counts: bool = True


def _legend_html(blocks: Sequence[_LegendBlock], notes: Sequence[str]) -> str:
    parts = ['<h4>图例 / Legend</h4>']
    for b in blocks:
        syn = ' <span class="sx-syn">合成 synthetic</span>' if b.synthetic else ""
        if b.entries and len(b.entries) == 1 and not b.heading:
            # One symbol (boundaries, single-colour layers): show it next to the layer name.
            entry = b.entries[0]
            count = f' <span class="sx-count">({entry.count:,})</span>' if b.show_counts else ""
            parts.append(f'<div class="sx-layer"><div class="sx-item sx-layer-name">'
                         f'{_swatch(entry, b.kind, outline=b.outline)}{html.escape(b.name)}{count}{syn}</div></div>')
            continue
        parts.append(f'<div class="sx-layer"><div class="sx-layer-name">{html.escape(b.name)}{syn}</div>')
        if b.heading:
            parts.append(f'<div class="sx-heading">{html.escape(b.heading)}</div>')
        for e in b.entries:
            count = f' <span class="sx-count">({e.count:,})</span>' if b.show_counts else ""
            parts.append(f'<div class="sx-item">{_swatch(e, b.kind, outline=b.outline)}'
                         f'{html.escape(e.label)}{count}</div>')
        if not b.entries:
            parts.append('<div class="sx-item sx-count">无要素 / no features</div>')
        parts.append("</div>")
    if notes:
        parts.append('<div class="sx-notes">' + "<br>".join(html.escape(n) for n in notes) + "</div>")
    return "".join(parts)


def _header_html(title_zh: str, title_en: str, banner: str | None, synthetic_names: Sequence[str]) -> str:
    out = (f'<div class="sx-title"><span class="zh">{html.escape(title_zh)}</span>'
           f'<span class="en">{html.escape(title_en)}</span></div>')
    if banner:
        names = "；".join(synthetic_names)
        out += (f'<div class="sx-banner" role="alert">{html.escape(banner)}'
                f'<small>合成图层 Synthetic layers: {html.escape(names)}</small></div>')
    return out


# ---------------------------------------------------------------------------------------------------
# Drawing layers
# ---------------------------------------------------------------------------------------------------
# Popup table and tooltip are built with DOM calls and textContent: no feature text is ever parsed as HTML.
_ON_EACH_FEATURE = """function (feature, layer) {
    var labels = %(labels)s;
    var p = feature.properties || {};
    if (p._p && labels.length) {
        layer.bindPopup(function () {
            var table = document.createElement('table');
            table.className = 'sx-popup';
            for (var i = 0; i < labels.length; i++) {
                var row = table.insertRow();
                var th = document.createElement('th');
                th.textContent = labels[i];
                row.appendChild(th);
                var td = row.insertCell();
                var v = p._p[i];
                if (Array.isArray(v)) {
                    var ul = document.createElement('ul');
                    for (var j = 0; j < v.length; j++) {
                        var li = document.createElement('li');
                        li.textContent = v[j];
                        ul.appendChild(li);
                    }
                    td.appendChild(ul);
                } else {
                    td.textContent = (v === null || v === undefined) ? '' : String(v);
                }
            }
            return table;
        }, {maxWidth: %(width)d});
    }
    if (p._t) {
        layer.bindTooltip(function () {
            var span = document.createElement('span');
            span.textContent = p._t;
            return span;
        }, {sticky: true});
    }
}"""


def _feature_style(kind: str, colour: str, s: MapSettings, *, outline: bool = False, dash: str = "",
                   weight: float | None = None) -> dict[str, Any]:
    if outline:
        return {"color": colour, "weight": weight or s.polygon_weight, "fill": False, "dashArray": dash or None,
                "opacity": 0.95}
    if kind == "point":
        return {"color": s.point_stroke, "weight": s.point_weight, "fill": True, "fillColor": colour,
                "fillOpacity": 0.9, "radius": s.point_radius}
    if kind == "line":
        return {"color": colour, "weight": weight or s.line_weight, "opacity": 0.9}
    return {"color": colour, "weight": weight or s.polygon_weight, "fillColor": colour,
            "fillOpacity": s.fill_opacity, "opacity": 0.9}


def _feature_collection(geoms: np.ndarray, values: Sequence[list[PopupValue]],
                        tips: Sequence[str] | None) -> dict[str, Any]:
    """GeoJSON with only what the page needs: geometry, popup values ``_p`` and tooltip ``_t``."""
    geometries = shapely.to_geojson(geoms)  # vectorised
    features = []
    for i, (geometry, row) in enumerate(zip(geometries, values)):
        props: dict[str, Any] = {"_p": row}
        if tips is not None and tips[i]:
            props["_t"] = tips[i]
        features.append({"type": "Feature", "id": str(i), "geometry": json.loads(geometry), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _add_geojson(group: folium.FeatureGroup, geoms: np.ndarray, labels: list[str],
                 values: Sequence[list[PopupValue]], tips: Sequence[str] | None, style: dict[str, Any], kind: str,
                 s: MapSettings, *, interactive_highlight: bool) -> None:
    data = _feature_collection(geoms, values, tips)
    highlight = None
    if interactive_highlight and style.get("fill") is not False:
        bold = {"weight": float(style.get("weight", 1.0)) * 2.5,
                "fillOpacity": min(float(style.get("fillOpacity", 0.5)) + 0.2, 0.95)}
        highlight = lambda _feature, bold=bold: bold  # folium wants a callable
    folium.GeoJson(
        data, control=False, style_function=lambda _feature, style=style: style,
        highlight_function=highlight,
        marker=folium.CircleMarker(radius=s.point_radius) if kind == "point" else None,
        on_each_feature=folium.JsCode(_ON_EACH_FEATURE % {"labels": _js_json(labels),
                                                          "width": s.popup_max_width_px}),
    ).add_to(group)


def _draw_layer(m: folium.Map, layer: MapLayer, classes: _Classes, geoms: np.ndarray, kind: str,
                s: MapSettings) -> None:
    group = folium.FeatureGroup(name=html.escape(layer.name), show=layer.show, overlay=True, control=True)
    labels, values = popup_content(layer.gdf, layer.popup, settings=s)
    tips = _tooltips(layer)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    for k, entry in enumerate(classes.entries):
        members = np.flatnonzero(ok & (classes.index == k))
        if not len(members):
            continue
        _add_geojson(group, geoms[members], labels, [values[i] for i in members],
                     None if tips is None else [tips[i] for i in members],
                     _feature_style(kind, entry.colour, s), kind, s, interactive_highlight=True)
    group.add_to(m)


def _resolve_catalog(catalog: Any) -> Any:
    if catalog is None:
        return None
    from .catalog import Catalog

    return catalog if isinstance(catalog, Catalog) else Catalog.load(catalog)


@dataclass
class _Prepared:
    layer: MapLayer
    geoms: np.ndarray
    kind: str
    rank: int
    classes: _Classes | None = None
    boundary: BoundaryStyle | None = None
    synthetic: bool = False


def _boundary_layers(cat: Any, s: MapSettings) -> list[tuple[MapLayer, BoundaryStyle]]:
    out = []
    for b in s.boundaries:
        if not cat.has(b.role):
            logger.info("catalog has no '%s' layer: no %s boundaries drawn", b.role, b.id)
            continue
        entries = cat.entries_for(b.role)
        gdf = cat.read(b.role)
        synthetic = any(e.synthetic for e in entries)
        name_zh = "；".join(e.title_zh for e in entries)
        name_en = "; ".join(e.title_en for e in entries)
        popup = [c for c in ("name", "name_zh", "name_en", "code", "county", "synthetic", "source")
                 if c in gdf.columns]
        out.append((MapLayer(gdf, name_zh, name_en, popup=popup, synthetic=synthetic or None), b))
    return out


def _tile_url(basemap: Basemap, key: str | None) -> list[TileSource]:
    return [TileSource(t.url.replace("{tk}", key or ""), t.attribution) for t in basemap.tiles]


def _resolve_key(basemap: Basemap, key: str | None) -> str | None:
    if not basemap.key_env:
        return None
    key = key or os.environ.get(basemap.key_env, "").strip()
    if not key:
        raise MapError(problem(
            f"{basemap.zh} 需要访问密钥（tk），但未提供。",
            f"The {basemap.en} basemap needs an access key (tk) and none was given.",
            fix=f"apply for a browser key at the Tianditu developer site (lbs.tianditu.gov.cn), then set the "
                f"environment variable {basemap.key_env}=<key> or pass tianditu_key=...; or use "
                f"basemap='none' / 'osm'"))
    if not re.fullmatch(r"[0-9A-Za-z]+", key):
        raise MapError(problem("天地图密钥格式不正确。", "The Tianditu key must be letters and digits only.",
                               fix=f"check the value of {basemap.key_env}"))
    return key


def make_map(layers: Sequence[MapLayer], *, basemap: str = "none", offline: bool = False,
             title_zh: str = "随州市三线一单与光伏选址", title_en: str = "Suizhou zoning screening and PV siting",
             catalog: Any = None, boundaries: bool = True, synthetic: bool | None = None,
             tianditu_key: str | None = None, settings: MapSettings | None = None) -> folium.Map:
    """Build an interactive map of result layers over boundaries or a tile basemap.

    Parameters
    ----------
    layers : sequence of MapLayer
        Layers to draw (polygons first, then lines, then points, so small features stay on top).
    basemap : {"none", "osm", "tianditu", "amap"}
        ``"none"`` draws no tiles (the catalog's boundaries are the background);
        ``"tianditu"`` needs a key (``tianditu_key`` or the environment variable ``TIANDITU_KEY``);
        ``"amap"`` tiles are GCJ-02, so every overlay is shifted into GCJ-02.
    offline : bool
        Build for a single self-contained file (no tiles: a tile basemap is left out with a
        :class:`~sanxian_yidan.errors.SanxianWarning` and a note in the legend).  Save with
        :func:`save_map`, which inlines every script and stylesheet.
    title_zh, title_en : str
        Map title (shown at the top and as the page title).
    catalog : Catalog, str or Path, optional
        Catalog to take the county (``admin_boundary``) and township (``township``) boundaries from.
    boundaries : bool
        Draw those boundaries (default True; they are the background when ``basemap="none"``).
    synthetic : bool, optional
        ``True`` shows the SAMPLE DATA banner even if no drawn layer is synthetic (e.g. results computed
        from synthetic catalog layers).  The banner is always shown when a drawn layer is synthetic.
    tianditu_key : str, optional
        Tianditu browser key (``tk``); default: the environment variable ``TIANDITU_KEY``.
    settings : MapSettings, optional
        Map settings (default: the packaged ``data/maps.toml``).

    Returns
    -------
    folium.Map
        With ``m.sanxian`` = dict of ``offline``, ``basemap``, ``gcj02``, ``synthetic``,
        ``synthetic_layers``, ``notes`` and the legend entries per layer.

    Raises
    ------
    MapError
        Unknown basemap, missing style/popup/tooltip column, missing Tianditu key.
    CRSError
        A layer without a CRS.
    """
    s = settings or _default_settings()
    if basemap not in BASEMAPS:
        raise MapError(problem(f"未知底图 '{basemap}'。", f"Unknown basemap '{basemap}'.",
                               fix=f"use one of {list(BASEMAPS)}"))
    notes: list[str] = []
    if offline and basemap != "none":
        message = (f"离线地图不能包含底图瓦片（需联网），已省略 {s.basemaps[basemap].zh} / Offline map: basemap "
                   f"tiles need the network, so {s.basemaps[basemap].en} was left out")
        warnings.warn(message, SanxianWarning, stacklevel=2)
        notes.append(message)
        basemap = "none"
    tile_basemap = s.basemaps.get(basemap) if basemap != "none" else None
    key = _resolve_key(tile_basemap, tianditu_key) if tile_basemap else None
    gcj02 = bool(tile_basemap and tile_basemap.crs == "gcj02")
    cat = _resolve_catalog(catalog) if boundaries else None

    prepared: list[_Prepared] = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, MapLayer):
            raise MapError(problem("图层必须是 MapLayer。", f"Layer {i} is a {type(layer).__name__}, not a MapLayer.",
                                   fix="wrap each GeoDataFrame: MapLayer(gdf, '名称', 'Name', ...)"))
        geoms = _display_geometries(layer.gdf, gcj02=gcj02, decimals=s.coordinate_decimals, layer=layer.name)
        prepared.append(_Prepared(layer, geoms, _kind(geoms), _geometry_rank(geoms),
                                  synthetic=layer.is_synthetic))
    if cat is not None:
        for layer, bstyle in _boundary_layers(cat, s):
            geoms = _display_geometries(layer.gdf, gcj02=gcj02, decimals=s.coordinate_decimals, layer=layer.name)
            prepared.append(_Prepared(layer, geoms, "polygon", 1, boundary=bstyle, synthetic=layer.is_synthetic))
    slot = 0
    for p in prepared:
        if p.boundary is None:
            p.classes = _classify(p.layer, slot, s)
            slot += isinstance(p.layer.style or SingleStyle(), SingleStyle)

    m = _new_map(title_zh, title_en, s)
    if tile_basemap:
        _add_tiles(m, tile_basemap, key)
        notes.append(f"底图 Basemap: {tile_basemap.zh} / {tile_basemap.en}"
                     + ("；叠加图层已转换为 GCJ-02 / overlays shifted to GCJ-02" if gcj02 else ""))
    elif any(p.boundary is not None for p in prepared):
        notes.append("无底图瓦片：背景为县、乡镇界 / No basemap tiles: county and township boundaries as background")
    else:
        notes.append("无底图瓦片 / No basemap tiles")
    # Draw order: polygons, boundaries, lines, points (stable within a rank).
    for p in sorted(prepared, key=lambda p: p.rank):
        if p.boundary is not None:
            _draw_boundary(m, p, s)
        else:
            assert p.classes is not None
            _draw_layer(m, p.layer, p.classes, p.geoms, p.kind, s)

    synthetic_layers = [p.layer.name for p in prepared if p.synthetic]
    show_banner = bool(synthetic_layers) or bool(synthetic)
    if synthetic and not synthetic_layers:
        synthetic_layers = ["分析所用的图层 / layers used by the analysis"]
    blocks = [_legend_block(p) for p in prepared if p.boundary is None]
    blocks += [_legend_block(p) for p in prepared if p.boundary is not None]
    notes.append("坐标 Coordinates: " + ("GCJ-02（高德）" if gcj02 else "WGS84 / CGCS2000"))
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _LegendControl(_legend_html(blocks, notes)).add_to(m)
    _MapOverlay(_header_html(title_zh, title_en, s.banner_text if show_banner else None, synthetic_layers),
                "sx-header").add_to(m)
    _MetricScale().add_to(m)
    folium.plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                                  secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                                  secondary_area_unit="hectares").add_to(m)
    folium.plugins.Fullscreen(position="topleft", title="全屏 / Full screen",
                              title_cancel="退出全屏 / Exit full screen").add_to(m)
    _fit(m, prepared)
    m.sanxian = {"offline": offline, "basemap": basemap, "gcj02": gcj02, "synthetic": show_banner,
                 "synthetic_layers": synthetic_layers, "notes": notes,
                 "legend": {b.name: b.entries for b in blocks}}
    return m


def _legend_block(p: _Prepared) -> _LegendBlock:
    if p.boundary is not None:
        entry = LegendEntry(p.layer.name, p.boundary.colour, len(p.layer.gdf), dash=p.boundary.dash)
        return _LegendBlock(p.layer.name, "", (entry,), "polygon", p.synthetic, outline=True, show_counts=False)
    assert p.classes is not None
    entries = tuple(e for e in p.classes.entries if e.count > 0)
    return _LegendBlock(p.layer.name, p.classes.heading, entries, p.kind, p.synthetic)


def _new_map(title_zh: str, title_en: str, s: MapSettings) -> folium.Map:
    # Fractional zoom lets the county extent fill the window (Leaflet options zoomSnap / zoomDelta).
    m = folium.Map(location=[31.69, 113.37], zoom_start=9, tiles=None, control_scale=False, zoom_snap=0.25,
                   zoom_delta=0.5)
    root = m.get_root()
    root.title = html.escape(f"{title_zh} / {title_en}")
    root.header.add_child(Element('<meta charset="utf-8" />'), name="sx_meta_charset")
    root.header.add_child(Element(_css(s)), name="sx_css")
    return m


def _add_tiles(m: folium.Map, basemap: Basemap, key: str | None) -> None:
    for i, tile in enumerate(_tile_url(basemap, key)):
        name = basemap.zh if i == 0 else f"{basemap.zh} 注记 / labels"
        options: dict[str, Any] = {"subdomains": basemap.subdomains} if basemap.subdomains else {}
        folium.TileLayer(tiles=tile.url, attr=tile.attribution, name=html.escape(name), overlay=i > 0,
                         control=True, max_zoom=basemap.max_zoom, **options).add_to(m)


def _draw_boundary(m: folium.Map, p: _Prepared, s: MapSettings) -> None:
    assert p.boundary is not None
    group = folium.FeatureGroup(name=html.escape(p.layer.name), show=True, overlay=True, control=True)
    labels, values = popup_content(p.layer.gdf, p.layer.popup, settings=s)
    ok = np.flatnonzero(~(shapely.is_missing(p.geoms) | shapely.is_empty(p.geoms)))
    tips = _tooltips(p.layer)
    style = _feature_style("polygon", p.boundary.colour, s, outline=True, dash=p.boundary.dash,
                           weight=p.boundary.weight)
    _add_geojson(group, p.geoms[ok], labels, [values[i] for i in ok], None if tips is None else [tips[i] for i in ok],
                 style, "polygon", s, interactive_highlight=False)
    group.add_to(m)


def _fit(m: folium.Map, prepared: Sequence[_Prepared]) -> None:
    data = [p.geoms for p in prepared if p.boundary is None and len(p.geoms)]
    chosen = data or [p.geoms for p in prepared if len(p.geoms)]
    if not chosen:
        return
    geoms = np.concatenate(chosen)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return
    west, south, east, north = shapely.total_bounds(geoms)
    # Keep the features clear of the title/banner (top) and the legend (right).
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], max_zoom=15,
                 padding_top_left=(20, 120), padding_bottom_right=(320, 20))
    m.location = [float((south + north) / 2), float((west + east) / 2)]


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

    from .crs import WORKING_CRS
    from .io.vector import read_vector
    from .normalize import normalise

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


# ---------------------------------------------------------------------------------------------------
# Rendering, offline inlining, saving
# ---------------------------------------------------------------------------------------------------
_SCRIPT_SRC = re.compile(r'<script\s+src="(?P<url>[^"]+)"\s*>\s*</script>', re.IGNORECASE)
_LINK_CSS = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>[^"]+)"\s*/?>', re.IGNORECASE)
_CSS_URL = re.compile(r'url\(\s*(?P<q>["\']?)(?P<url>[^)"\']*)(?P=q)\s*\)', re.IGNORECASE)
# Anything a browser would fetch by itself: src/href of script, link, img, iframe, source, audio, video,
# embed and object; CSS url() and @import; tile URL templates in scripts.
_REF_PATTERNS = (
    re.compile(r'<(?:script|img|iframe|source|audio|video|embed|input|track)\b[^>]*?\bsrc\s*=\s*["\']?([^"\'\s>]+)',
               re.IGNORECASE),
    re.compile(r'<link\b[^>]*?\bhref\s*=\s*["\']?([^"\'\s>]+)', re.IGNORECASE),
    re.compile(r'<object\b[^>]*?\bdata\s*=\s*["\']?([^"\'\s>]+)', re.IGNORECASE),
    re.compile(r'url\(\s*["\']?((?:https?:)?//[^"\')\s]+)', re.IGNORECASE),
    re.compile(r'@import\s+(?:url\()?\s*["\']?((?:https?:)?//[^"\')\s;]+)', re.IGNORECASE),
    re.compile(r'["\']((?:https?:)?//[^"\'\s]*\{[xyz]\}[^"\'\s]*)["\']', re.IGNORECASE),
)


def external_references(page: str) -> list[str]:
    """Network addresses an HTML page would request by itself (empty for a self-contained page).

    Parameters
    ----------
    page : str
        HTML text.

    Returns
    -------
    list of str
        Every ``http://``, ``https://`` or protocol-relative ``//`` address in a ``src``/``href`` of a
        script, stylesheet link, image, frame or media element, in a CSS ``url()`` or ``@import``, or
        as a tile URL template (``{z}/{x}/{y}``) — in page order, once per occurrence.  Hyperlinks
        (``<a href>``) and XML namespaces are not requests and are not listed.
    """
    found: dict[int, str] = {}  # by position, so a URL two patterns see (@import url(...)) counts once
    for pattern in _REF_PATTERNS:
        for match in pattern.finditer(page):
            url = match.group(1)
            if re.match(r"(?:https?:)?//", url, re.IGNORECASE):
                found[match.start(1)] = url
    return [found[position] for position in sorted(found)]


@lru_cache(maxsize=1)
def _offline_assets() -> Mapping[str, str]:
    """URL → content of the scripts and stylesheets bundled by the PyPI package folium-offline."""
    try:
        from offlinefolium import elements
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise MapError(problem("缺少 folium-offline 包，无法生成离线地图。",
                               "The package folium-offline (import name offlinefolium) is not installed.",
                               fix="pip install folium-offline==0.20.0.2")) from exc
    return elements._res  # the package exposes its assets only this way


def _clean_css(css: str) -> str:
    # Inlined stylesheets cannot reach the images/fonts that sat next to them on the CDN; point such
    # relative url()s at an empty data URI so the browser does not look for them at all.
    return _CSS_URL.sub(lambda mt: mt.group(0) if mt.group("url").startswith(("data:", "#")) else "url(data:,)", css)


def inline_assets(page: str, *, settings: MapSettings | None = None) -> tuple[str, list[str]]:
    """Replace every external script and stylesheet of a folium page by an inline copy.

    Parameters
    ----------
    page : str
        HTML rendered by folium.
    settings : MapSettings, optional
        ``[offline].drop`` names resources left out (icon-marker assets).

    Returns
    -------
    page : str
        Self-contained HTML.
    notes : list of str
        One line per resource left out (and why).
    """
    s = settings or _default_settings()
    assets = _offline_assets()
    notes: list[str] = []

    def replace(match: re.Match[str], kind: str) -> str:
        url = html.unescape(match.group("url"))
        name = url.rsplit("/", 1)[-1]
        if any(d in url for d in s.offline_drop):
            notes.append(f"dropped {name}: {s.offline_drop_reason}")
            return f"<!-- sanxian offline: {html.escape(name)} left out (not needed by this map) -->"
        if url not in assets:
            notes.append(f"dropped {name}: no inline copy in folium-offline")
            return f"<!-- sanxian offline: {html.escape(name)} left out (no inline copy) -->"
        body = assets[url]
        if kind == "script":
            return "<script>" + re.sub(r"</(script)", r"<\\/\1", body, flags=re.IGNORECASE) + "</script>"
        return "<style>" + re.sub(r"</(style)", r"<\\/\1", _clean_css(body), flags=re.IGNORECASE) + "</style>"

    page = _SCRIPT_SRC.sub(lambda mt: replace(mt, "script"), page)
    page = _LINK_CSS.sub(lambda mt: replace(mt, "style"), page)
    return page, notes


def _drop_tile_layers(m: folium.Map) -> list[str]:
    dropped = []
    for key, child in list(m._children.items()):  # folium keeps its children there
        if isinstance(child, folium.TileLayer):
            dropped.append(child.tile_name)
            del m._children[key]
    return dropped


def render_html(m: folium.Map, *, offline: bool | None = None) -> str:
    """Render a map to HTML, self-contained when ``offline`` (default: as the map was built).

    Raises
    ------
    MapError
        If an offline page still refers to the network, or an Amap map (GCJ-02 overlays) is asked for
        offline (the overlays would be ~600 m off without the Amap tiles).
    """
    info = getattr(m, "sanxian", {})
    offline = info.get("offline", False) if offline is None else offline
    if not offline:
        return m.get_root().render()
    if info.get("gcj02"):
        raise MapError(problem(
            "该地图按高德（GCJ-02）底图偏移了叠加图层，离线保存会使图层偏离约 600 米。",
            "This map's overlays were shifted to GCJ-02 for Amap tiles; offline (without tiles) they would be "
            "~600 m off.", fix="build it with make_map(..., offline=True) or basemap='none'"))
    dropped = _drop_tile_layers(m)
    if dropped:
        warnings.warn(f"offline map: tile layers {dropped} left out (they need the network)", SanxianWarning,
                      stacklevel=2)
    page, notes = inline_assets(m.get_root().render())
    for note in notes:
        logger.info("offline map: %s", note)
    remaining = external_references(page)
    if remaining:
        raise MapError(problem("离线地图仍引用网络资源。",
                               f"The offline page still refers to the network: {sorted(set(remaining))}",
                               fix="remove elements that load remote resources (icons, tiles, remote GeoJSON)"))
    return page


def save_map(m: folium.Map, path: str | Path, *, offline: bool | None = None) -> Path:
    """Write a map to an HTML file (UTF-8).

    Parameters
    ----------
    m : folium.Map
        From :func:`make_map`.
    path : str or Path
        Output file (parent folders are created).
    offline : bool, optional
        Inline every script and stylesheet so the file works without any network; checked with
        :func:`external_references`.  Default: as the map was built (``make_map(offline=...)``).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    page = render_html(m, offline=offline)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    logger.info("map written to %s (%.0f kB%s)", path, len(page.encode("utf-8")) / 1024,
                ", self-contained" if (offline or getattr(m, "sanxian", {}).get("offline")) else "")
    return path


_ELEMENT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def stable_element_ids(page: str) -> str:
    """Replace folium's random 32-hex element ids by ``000…001``-style counters in order of appearance.

    folium names every map element with a random id, so two renders of the same map differ; studies
    promise identical outputs for identical inputs.  Longer hex strings (SHA-256 digests) are untouched.
    """
    mapping: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        return mapping.setdefault(match.group(0), f"{len(mapping) + 1:032x}")

    return _ELEMENT_ID.sub(replace, page)
