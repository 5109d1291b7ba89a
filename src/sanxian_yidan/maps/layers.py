"""Map layers and their styles: categorical and numeric classification, legend entries, popups and tooltips."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import columns as columns_registry
from ..errors import problem
from .palettes import COLOUR
from .settings import MapError, MapSettings, PaletteClass, default_settings

logger = logging.getLogger(__name__)

# Columns never listed in a popup by default: internal bookkeeping of the catalog and of this module.
_HIDDEN_COLUMNS = ("src_fid",)
# Columns tried, in order, for the hover tooltip when the layer does not name one.
_TOOLTIP_CANDIDATES = ("name_zh", "name", "id", "code", "project_id")

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
    show : bool, optional
        Whether the layer is switched on when the map opens (default: the ``show`` of its ``look`` in the
        style registry, else ``True``).
    look : str, optional
        Layer id in the style registry (``data/styles.toml``: a catalog role such as
        ``basic_farmland`` or a result layer such as ``overlap_pieces``): outline, fill, weight, dash
        and opacity come from there, so every map draws the role the same way.
    markers : str, optional
        Column labelling a marker drawn at each feature's representative point while the map is zoomed
        out (below ``[map].marker_max_zoom``), in the feature's class colour: small footprints stay
        visible at county zoom.
    value_labels : mapping, optional
        Column → {code → label}: codes shown as labels in popups and tooltips (e.g.
        ``{"mode": {"natural_recovery": "自然恢复 / Natural recovery"}}``).
    popup_labels : mapping, optional
        Column → label overriding the registry label of a popup row (e.g. to say what k is in "top k").
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
    show: bool | None = None
    synthetic: bool | None = None
    look: str | None = None
    markers: str | None = None
    value_labels: Mapping[str, Mapping[Any, str]] | None = None
    popup_labels: Mapping[str, str] | None = None

    @property
    def visible(self) -> bool:
        """Switched on when the map opens: ``show``, else the registry's ``show`` of ``look``, else True."""
        if self.show is not None:
            return bool(self.show)
        if self.look:
            from .styles import layer_style

            return layer_style(self.look).show
        return True

    @property
    def name(self) -> str:
        """``"中文 / English"`` (not escaped)."""
        return f"{self.name_zh} / {self.name_en}" if self.name_en and self.name_en != self.name_zh else self.name_zh

    @property
    def is_synthetic(self) -> bool:
        """True if the layer is flagged synthetic by the flag, its ``synthetic`` column (``synthetic_data``
        in screening results) or its attrs."""
        if self.synthetic:
            return True
        for column in ("synthetic", "synthetic_data"):
            if column in self.gdf.columns:
                # read from a file the flag may be text ("true", "1", "是"); compare as text, not truthiness
                keys = {category_key(v) for v in self.gdf[column].unique()}
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
    settings = settings or default_settings()
    if column is None:
        return SingleStyle()
    require_column(gdf, column, "style")
    series = gdf[column]
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if palette is not None or settings.palette_for(column) is not None or not numeric:
        return CategoryStyle(column, palette=palette)
    return NumericStyle(column)


def require_column(gdf: gpd.GeoDataFrame, column: str, what: str, layer: str | None = None) -> None:
    """Raise a bilingual :class:`MapError` naming the layer and the available columns when ``column`` is missing."""
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
class LayerClasses:
    """The classes of a layer's features: each feature's class, the legend entries and what they classify."""

    index: np.ndarray            # class of each feature (into entries)
    entries: tuple[LegendEntry, ...]
    heading: str                 # what the classes are (column label), "" for a single style
    edges: tuple[float, ...] = ()  # numeric classes: class k spans edges[k]..edges[k + 1]


def category_key(value: Any) -> str | None:
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
    """:func:`category_key` of every value, computed once per distinct value."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([category_key(v) for v in uniques] + [None], dtype=object)  # code -1 → None
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _valid_colour(colour: str, where: str) -> str:
    if not isinstance(colour, str) or not COLOUR.match(colour):
        raise MapError(problem("颜色无效。", f"{where}: {colour!r} is not a colour.",
                               fix="give colours as #rrggbb (or a CSS colour name)"))
    return colour


def _classify_category(series: pd.Series, style: CategoryStyle, s: MapSettings) -> LayerClasses:
    keys = _category_keys(series)
    known: list[PaletteClass] = []
    if isinstance(style.palette, str):
        if style.palette not in s.palettes:
            raise MapError(problem(f"没有名为 '{style.palette}' 的配色表。", f"No palette '{style.palette}'.",
                                   file=s.path, fix=f"use one of {sorted(s.palettes)}"))
        known = list(s.palettes[style.palette].classes)
    elif isinstance(style.palette, Mapping):
        known = [PaletteClass(category_key(v) or "", str(v), str(v), _valid_colour(c, f"palette[{v!r}]"))
                 for v, c in style.palette.items()]
    elif (p := s.palette_for(style.column)) is not None:
        known = list(p.classes)
    labels = {(category_key(k) or ""): str(v) for k, v in (style.labels or {}).items()}
    counts = keys.value_counts(dropna=True)
    by_value = {c.value: c for c in known}
    # Legend order: the palette's order, then other values from the most frequent.
    ordered = [c.value for c in known if c.value in counts.index]
    ordered += [v for v in counts.index if v not in by_value]
    limit = max(s.max_legend_classes, 1)
    shown, other = ordered[:limit], ordered[limit:]
    auto = iter(s.category_colours * (limit // len(s.category_colours) + 1))  # for values no palette lists
    entries = [LegendEntry(labels.get(v) or (by_value[v].label if v in by_value else v),
                           by_value[v].colour if v in by_value else next(auto), int(counts[v])) for v in shown]
    index = keys.map({v: k for k, v in enumerate(shown)}).to_numpy(dtype=object)
    _grey_classes(index, entries, s, [
        (keys.isin(other).to_numpy(), f"其他（{len(other)} 类）/ Other ({len(other)} classes)"),
        (keys.isna().to_numpy(), "无数据 / No data")])
    return LayerClasses(index.astype(int), tuple(entries), _column_label(style.column, s))


def _grey_classes(index: np.ndarray, entries: list[LegendEntry], s: MapSettings,
                  extra: Sequence[tuple[np.ndarray, str]]) -> None:
    """Append a class in the no-data colour for each (mask, label) of ``extra`` that has members."""
    for mask, label in extra:
        if mask.any():
            index[mask] = len(entries)
            entries.append(LegendEntry(label, s.no_data_colour, int(mask.sum())))


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


def classify_numeric(series: pd.Series, style: NumericStyle, s: MapSettings) -> LayerClasses:
    """Class of each value of ``series`` by the breaks of ``style`` (quantile, equal or given), with legend entries."""
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
    entries = [LegendEntry(_format_number(edges[k]) if edges[k] == edges[k + 1] or len(edges) == 1
                           else f"{_format_number(edges[k])} – {_format_number(edges[k + 1])}",
                           palette[k], int((finite & ~outside & (index == k)).sum())) for k in range(n_classes)]
    index = index.astype(int)
    _grey_classes(index, entries, s, [(finite & outside, "超出分级范围 / Outside the class breaks"),
                                      (~finite, "无数据 / No data")])
    return LayerClasses(index, tuple(entries), _column_label(style.column, s), tuple(float(e) for e in edges))


def effective_style(layer: MapLayer) -> Style:
    """The layer's style; without one, the style of its ``look`` in the style registry (palette or ramp by
    the look's column when the layer has it, else the look's single colour), else a single colour."""
    if layer.style is not None:
        return layer.style
    if layer.look:
        from .styles import layer_style

        look = layer_style(layer.look)
        if look.column and look.column in layer.gdf.columns:
            if look.palette:
                return CategoryStyle(look.column, palette=look.palette)
            if look.ramp:
                return NumericStyle(look.column, ramp=look.ramp)
        return SingleStyle(look.fill or look.stroke)
    return SingleStyle()


def classify_layer(layer: MapLayer, colour_slot: int, s: MapSettings) -> LayerClasses:
    """Class and legend entry of each feature of ``layer`` by its effective style (single, categorical or numeric)."""
    style = effective_style(layer)
    if isinstance(style, SingleStyle):
        colour = _valid_colour(style.colour, "SingleStyle.colour") if style.colour else \
            s.layer_colours[colour_slot % len(s.layer_colours)]
        return LayerClasses(np.zeros(len(layer.gdf), dtype=int), (LegendEntry(layer.name, colour, len(layer.gdf)),), "")
    require_column(layer.gdf, style.column, "style", layer.name)
    if isinstance(style, CategoryStyle):
        return _classify_category(layer.gdf[style.column], style, s)
    if isinstance(style, NumericStyle):
        return classify_numeric(layer.gdf[style.column], style, s)
    raise MapError(problem("未知的样式类型。", f"Unknown style {style!r}.",
                           fix="use CategoryStyle, NumericStyle or SingleStyle"))


# ---------------------------------------------------------------------------------------------------
# Popups and tooltips: plain text per feature, put into the page by the browser with textContent
# ---------------------------------------------------------------------------------------------------
def _column_label(name: str, s: MapSettings) -> str:
    registered = columns_registry.label(name)
    return registered if registered != name else s.field_labels.get(name, name)


PopupValue = str | list[str]


def format_scalar(value: Any) -> str:
    """A cell value as popup text: numbers with separators, yes/no for flags, missing values as ""."""
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
        return "; ".join(f"{k}: {format_scalar(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(format_scalar(v) for v in value)
    return str(value)


def _format_value(value: Any) -> PopupValue:
    """Text of one attribute value; a list (e.g. findings, also as JSON text) becomes a list of lines."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] != "[" or text[-1:] != "]":
            return value
        try:
            value = json.loads(text)
        except ValueError:
            return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [format_scalar(v) for v in value]
    return format_scalar(value)


def _default_popup_columns(gdf: gpd.GeoDataFrame) -> list[str]:
    return [c for c in gdf.columns if c != gdf.geometry.name and c not in _HIDDEN_COLUMNS
            and not isinstance(gdf[c].dtype, gpd.array.GeometryDtype)]


def popup_content(gdf: gpd.GeoDataFrame, columns: Sequence[str] | None = None, *,
                  settings: MapSettings | None = None, value_labels: Mapping[str, Mapping[Any, str]] | None = None,
                  label_overrides: Mapping[str, str] | None = None) -> tuple[list[str], list[list[PopupValue]]]:
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
    value_labels : mapping, optional
        Column → {code → label}: codes of that column are shown as their labels.
    label_overrides : mapping, optional
        Column → row label replacing the registry label.

    Returns
    -------
    labels : list of str
        One bilingual label per column.
    values : list of list
        Per feature, one text per column; lists (e.g. ``findings``, also given as JSON text) are lists
        of lines, a dict item as ``"key: value; ..."``.
    """
    s = settings or default_settings()
    names = list(columns) if columns is not None else _default_popup_columns(gdf)
    for name in names:
        require_column(gdf, name, "popup")
    overrides = label_overrides or {}
    labels = [overrides.get(name) or _column_label(name, s) for name in names]
    cells = [_coded(gdf[name], (value_labels or {}).get(name)).map(_format_value).tolist() for name in names]
    return labels, [list(row) for row in zip(*cells)] if names else [[] for _ in range(len(gdf))]


def _coded(series: pd.Series, labels: Mapping[Any, str] | None) -> pd.Series:
    """Codes replaced by their labels (matched as text, see :func:`category_key`); others unchanged."""
    if not labels:
        return series
    by_key = {category_key(k): v for k, v in labels.items()}
    keys = _category_keys(series)
    return pd.Series([by_key.get(k, v) for k, v in zip(keys, series)], index=series.index, dtype=object)


def tooltip_texts(layer: MapLayer) -> list[str] | None:
    """Plain-text tooltip of each feature (``layer.tooltip`` column, coded values as labels), or ``None``."""
    gdf = layer.gdf
    column = layer.tooltip
    if column is None:
        column = next((c for c in _TOOLTIP_CANDIDATES if c in gdf.columns), "")
    if not column:  # none named, or none found: the popup names the layer; a tooltip repeating it adds nothing
        return None
    require_column(gdf, column, "tooltip", layer.name)
    coded = _coded(gdf[column], (layer.value_labels or {}).get(column))
    return coded.map(lambda v: "" if category_key(v) is None else format_scalar(v)).tolist()


