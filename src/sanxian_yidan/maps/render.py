"""Drawing a map: display geometry (WGS84 or GCJ-02), legend, scale bar, boundaries and :func:`make_map`."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from ..crs import wgs84_to_gcj02
from ..errors import CRSError, SanxianWarning, problem
from .layers import (
    LayerClasses,
    LegendEntry,
    MapLayer,
    PopupValue,
    SingleStyle,
    category_key,
    classify_layer,
    effective_style,
    format_scalar,
    popup_content,
    require_column,
    tooltip_texts,
)
from .settings import BASEMAPS, Basemap, MapError, MapSettings, default_settings

if TYPE_CHECKING:
    from pathlib import Path

    from ..catalog import Catalog

logger = logging.getLogger(__name__)


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
    .. [1] GCJ-02 is the obfuscated datum required of web maps published in China (Amap, Tencent);
           around Suizhou it lies 590-630 m from WGS84 (:mod:`sanxian_yidan.crs.webmap`).
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


def _drawn(geoms: np.ndarray) -> np.ndarray:
    """Mask of the geometries that can be drawn (neither missing nor empty)."""
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


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
# Small HTML/JS elements
# ---------------------------------------------------------------------------------------------------
def _js_json(value: Any) -> str:
    """JSON for a JS literal that is safe inside <script> (keeps Chinese readable in the HTML source)."""
    return (json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _Script(MacroElement):
    """Raw JavaScript run in the map's script block, in the order elements are added to the map."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.code }}
        {% endmacro %}
    """)

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "SanxianScript"
        self.code = code


# Panes (z-index): hillshade and other rasters beneath the basemap vectors, basemap vectors beneath the
# analysis layers (overlayPane 400), boundaries and place names above the analysis fills, verdict
# markers above everything but popups (Leaflet: markerPane 600, tooltipPane 650, popupPane 700).
_PANES = (("sxHill", 205), ("sxBase", 220), ("sxRaster", 390), ("sxBounds", 450), ("sxLabels", 460),
          ("sxMarkers", 620))


# A small "stacked layers" icon for a collapsed layer control; Leaflet's own icon is a PNG next to
# leaflet.css that an inlined stylesheet cannot reach.
_LAYERS_ICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 26 26'%3E"
                "%3Cpath d='M13 3 2 9l11 6 11-6z' fill='%23555'/%3E%3Cpath d='m2 13 11 6 11-6M2 17l11 6 11-6' "
                "fill='none' stroke='%23555' stroke-width='2'/%3E%3C/svg%3E")
_HALO = "0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 1px 1px 0 #fff, -1px -1px 0 #fff"


def _css(s: MapSettings) -> str:
    # Selectors are one step more specific than leaflet.css's, which is inserted after this sheet.
    # The page is a column: the header (title, SAMPLE DATA banner) sits ABOVE the map, never over a popup.
    control_w = max(s.popup_pad_right_px - 30, 200)
    return f"""<style>
html, body {{ height: 100%; margin: 0; }}
body {{ display: flex; flex-direction: column; font-family: {s.font_family}; }}
.folium-map.leaflet-container {{ flex: 1 1 auto; min-height: 0; height: auto !important; position: relative;
  background: {s.background}; font-family: {s.font_family}; }}
.leaflet-control-layers-toggle {{ background-image: url("{_LAYERS_ICON}"); background-size: 26px 26px; }}
.sx-header {{ flex: 0 0 auto; display: flex; flex-wrap: wrap; align-items: center; gap: 4px 14px;
  padding: 4px 10px; background: #fff; border-bottom: 1px solid #ccc; z-index: 1100; }}
.sx-title .zh {{ font-size: 17px; font-weight: bold; }}
.sx-title .en {{ font-size: 12px; color: #444; margin-left: 8px; }}
.sx-banner {{ background: {s.banner_background}; color: {s.banner_colour}; font-weight: bold; font-size: 13px;
  padding: 3px 10px; border-radius: 4px; }}
.sx-banner details {{ display: inline-block; margin-left: 10px; font-weight: normal; font-size: 12px; }}
.sx-banner summary {{ cursor: pointer; }}
.sx-banner small {{ display: block; font-size: 11px; max-width: 90vw; }}
.sx-offline-error {{ background: #fff3cd; color: #5a3e00; border: 2px solid #b8860b; padding: 10px 14px;
  font-size: 14px; }}
.leaflet-control-layers-expanded {{ max-width: {control_w}px; max-height: 33vh; overflow-y: auto; font-size: 12px; }}
.sx-legend {{ background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 4px; font-size: 12px;
  line-height: 1.35; box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-height: 42vh; width: {control_w}px;
  overflow-y: auto; box-sizing: border-box; }}
.sx-legend h4 {{ margin: 0 0 4px 0; font-size: 13px; }}
.sx-legend .sx-layer {{ margin-top: 6px; }}
.sx-legend .sx-layer-name {{ font-weight: bold; }}
.sx-legend .sx-heading {{ color: #555; font-style: italic; }}
.sx-legend .sx-item {{ padding-left: 21px; text-indent: -21px; }}
.sx-legend .sx-count {{ color: #777; }}
.sx-legend .sx-syn {{ color: {s.banner_background}; font-weight: bold; }}
.sx-legend .sx-notes {{ margin-top: 6px; color: #555; font-size: 11px; white-space: normal; }}
.sx-swatch {{ display: inline-block; width: 14px; height: 12px; margin-right: 5px; vertical-align: middle;
  border: 1px solid rgba(0,0,0,0.35); text-indent: 0; }}
.sx-swatch.line {{ height: 0; border: none; border-top-width: 3px; border-top-style: solid; width: 18px; }}
.sx-swatch.point {{ border-radius: 50%; width: 11px; height: 11px; }}
.sx-swatch.outline {{ background: transparent !important; border-width: 2px; }}
.sx-swatch.raster {{ background: linear-gradient(135deg, #555, #eee); }}
table.sx-popup {{ border-collapse: collapse; font-size: 12px; width: 100%; }}
table.sx-popup th {{ text-align: left; vertical-align: top; padding: 2px 8px 2px 0; color: #333;
  width: 34%; white-space: normal; overflow-wrap: anywhere; }}
table.sx-popup td {{ padding: 2px 0; vertical-align: top; overflow-wrap: anywhere; word-break: break-word; }}
table.sx-popup ul {{ margin: 0; padding-left: 16px; }}
.leaflet-popup-content {{ max-height: min({s.popup_max_height_px}px, 50vh); overflow-y: auto; overflow-x: hidden; }}
/* no zoom transition on place names: their boxes are measured at zoomend to keep them apart */
.leaflet-marker-icon.sx-label {{ background: none; border: none; transition: none; }}
.sx-label span {{ display: inline-block; transform: translate(-50%, -50%); white-space: nowrap;
  text-shadow: {_HALO}; pointer-events: none; }}
.sx-label-county span {{ font-size: 16px; font-weight: bold; color: #1f1f1f; letter-spacing: 2px; }}
.sx-label-township span {{ font-size: 12px; color: #333; }}
.leaflet-tooltip.sx-marker-label {{ background: rgba(255,255,255,0.9); border: 1px solid #555; padding: 0 4px;
  font-size: 12px; font-weight: bold; box-shadow: none; }}
.leaflet-tooltip.sx-marker-label::before {{ display: none; }}
</style>"""


def _swatch(entry: LegendEntry, kind: str, *, outline: bool = False) -> str:
    border = "dashed" if entry.dash else "solid"
    if kind == "raster":
        return '<span class="sx-swatch raster"></span>' if entry.colour == "#808080" else \
            f'<span class="sx-swatch" style="background: {entry.colour};"></span>'
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
    group: int = -1          # index of the layer's group: the block is shown only while the group is on the map


def _legend_html(blocks: Sequence[_LegendBlock], base: Sequence[_LegendBlock], notes: Sequence[str]) -> str:
    parts = ['<h4>图例 / Legend</h4>']

    def attr(b: _LegendBlock) -> str:
        return f' data-sx-g="{b.group}"' if b.group >= 0 else ""

    for b in blocks:
        syn = ' <span class="sx-syn">合成 synthetic</span>' if b.synthetic else ""
        if b.entries and len(b.entries) == 1 and not b.heading:
            entry = b.entries[0]
            count = f' <span class="sx-count">({entry.count:,})</span>' if b.show_counts else ""
            parts.append(f'<div class="sx-layer"{attr(b)}><div class="sx-item sx-layer-name">'
                         f'{_swatch(entry, b.kind, outline=b.outline)}{html.escape(b.name)}{count}{syn}</div></div>')
            continue
        parts.append(f'<div class="sx-layer"{attr(b)}><div class="sx-layer-name">{html.escape(b.name)}{syn}</div>')
        if b.heading:
            parts.append(f'<div class="sx-heading">{html.escape(b.heading)}</div>')
        for e in b.entries:
            count = f' <span class="sx-count">({e.count:,})</span>' if b.show_counts else ""
            parts.append(f'<div class="sx-item">{_swatch(e, b.kind, outline=b.outline)}'
                         f'{html.escape(e.label)}{count}</div>')
        if not b.entries:
            parts.append('<div class="sx-item sx-count">无要素 / no features</div>')
        parts.append("</div>")
    if base:
        parts.append('<div class="sx-layer" data-sx-g="' + " ".join(str(b.group) for b in base)
                     + '"><div class="sx-layer-name">底图 / Basemap</div>')
        for b in base:
            syn = ' <span class="sx-syn">合成</span>' if b.synthetic else ""
            parts.append(f'<div class="sx-item"{attr(b)}>{_swatch(b.entries[0], b.kind, outline=b.outline)}'
                         f'{html.escape(b.name)}{syn}</div>')
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
                f'<details><summary>合成图层 {len(synthetic_names)} 个 / {len(synthetic_names)} synthetic layer(s)'
                f'</summary><small>{html.escape(names)}</small></details></div>')
    return out


# ---------------------------------------------------------------------------------------------------
# Drawing layers
# ---------------------------------------------------------------------------------------------------
# Popup table and tooltip are built with DOM calls and textContent: no feature text is ever parsed as HTML.
# Empty values are left out of the popup (a row without a value tells nothing).
_ON_EACH_FEATURE = """function (feature, layer) {
    var labels = %(labels)s;
    var p = feature.properties || {};
    if (p._p && labels.length) {
        layer.bindPopup(function () {
            var table = document.createElement('table');
            table.className = 'sx-popup';
            for (var i = 0; i < labels.length; i++) {
                var v = p._p[i];
                if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) { continue; }
                var row = table.insertRow();
                var th = document.createElement('th');
                th.textContent = labels[i];
                row.appendChild(th);
                var td = row.insertCell();
                if (Array.isArray(v)) {
                    var ul = document.createElement('ul');
                    for (var j = 0; j < v.length; j++) {
                        var li = document.createElement('li');
                        li.textContent = v[j];
                        ul.appendChild(li);
                    }
                    td.appendChild(ul);
                } else {
                    td.textContent = String(v);
                }
            }
            return table;
        }, {maxWidth: %(width)d, autoPanPaddingTopLeft: [50, 12], autoPanPaddingBottomRight: [%(pad)d, 30]});
    }
    if (p._m) {
        layer.bindTooltip(function () {
            var span = document.createElement('span');
            span.textContent = p._m;
            return span;
        }, {permanent: true, direction: 'right', offset: [8, 0], className: 'sx-marker-label'});
    } else if (p._t) {
        layer.bindTooltip(function () {
            var span = document.createElement('span');
            span.textContent = p._t;
            return span;
        }, {sticky: true});
    }
}"""


def _look(layer: MapLayer) -> Any:
    if not layer.look:
        return None
    from .styles import layer_style

    return layer_style(layer.look)


def _feature_style(kind: str, colour: str, s: MapSettings, *, look: Any = None, outline: bool = False,
                   dash: str = "", weight: float | None = None) -> dict[str, Any]:
    if look is not None:
        dash = dash or look.dash
        weight = weight or look.weight
        outline = outline or (kind == "polygon" and not look.fill)
    if outline:
        stroke = look.stroke if look is not None and look.stroke else colour
        return {"color": stroke, "weight": weight or s.polygon_weight, "fill": False, "dashArray": dash or None,
                "opacity": look.opacity if look is not None else 0.95}
    if kind == "point":
        return {"color": look.stroke if look is not None else s.point_stroke,
                "weight": weight or s.point_weight, "fill": True, "fillColor": colour,
                "fillOpacity": 0.9, "radius": look.radius if look is not None else s.point_radius}
    if kind == "line":
        return {"color": colour, "weight": weight or s.line_weight, "opacity": look.opacity if look is not None else 0.9,
                "dashArray": dash or None}
    style = {"color": colour, "weight": weight or s.polygon_weight, "fillColor": colour,
             "fillOpacity": s.fill_opacity, "opacity": 0.9, "dashArray": dash or None}
    if look is not None:
        style.update({"color": look.stroke or colour, "fillOpacity": look.fill_opacity, "opacity": look.opacity})
    return style


def _feature_collection(geoms: np.ndarray, values: Sequence[list[PopupValue]] | None,
                        tips: Sequence[str] | None, marks: Sequence[str] | None = None) -> dict[str, Any]:
    """GeoJSON with only what the page needs: geometry, popup values ``_p``, tooltip ``_t``, marker label ``_m``."""
    columns = {"_p": values, "_t": tips, "_m": marks}   # popup values are kept even when empty
    features = [{"type": "Feature", "id": str(i), "geometry": json.loads(geometry),
                 "properties": {k: v[i] for k, v in columns.items() if v is not None and (k == "_p" or v[i])}}
                for i, geometry in enumerate(shapely.to_geojson(geoms))]  # to_geojson: vectorised
    return {"type": "FeatureCollection", "features": features}


def _add_geojson(group: folium.FeatureGroup, geoms: np.ndarray, labels: list[str],
                 values: Sequence[list[PopupValue]] | None, tips: Sequence[str] | None, style: dict[str, Any],
                 kind: str, s: MapSettings, *, interactive_highlight: bool, pane: str | None = None,
                 interactive: bool = True, marks: Sequence[str] | None = None) -> None:
    data = _feature_collection(geoms, values if interactive else None, tips if interactive else None, marks)
    highlight: Any = None
    if interactive and interactive_highlight and style.get("fill") is not False:
        bold = {"weight": float(style.get("weight", 1.0)) * 2.5,
                "fillOpacity": min(float(style.get("fillOpacity", 0.5)) + 0.2, 0.95)}
        def highlight(_feature: Any, bold: dict[str, float] = bold) -> dict[str, float]:  # folium wants a callable
            return bold
    options: dict[str, Any] = {**({"pane": pane} if pane else {}), **({} if interactive else {"interactive": False})}
    marker = None
    if kind == "point":
        marker = folium.CircleMarker(radius=style.get("radius", s.point_radius))
        # folium 0.20 leaves a CircleMarker's pane out of its options: points fell into the overlay pane
        marker.options.update(options)
    folium.GeoJson(
        data, control=False, style_function=lambda _feature, style=style: style,
        highlight_function=highlight, marker=marker,
        on_each_feature=folium.JsCode(_ON_EACH_FEATURE % {"labels": _js_json(labels), "width": s.popup_max_width_px,
                                                          "pad": s.popup_pad_right_px}) if interactive else None,
        **options,
    ).add_to(group)


def _popup(layer: MapLayer, s: MapSettings) -> tuple[list[str], list[list[PopupValue]]]:
    return popup_content(layer.gdf, layer.popup, settings=s, value_labels=layer.value_labels,
                         label_overrides=layer.popup_labels)


def _class_members(classes: LayerClasses, ok: np.ndarray) -> Iterator[tuple[LegendEntry, np.ndarray]]:
    """Each class with drawable features: its legend entry and the indices of those features."""
    for k, entry in enumerate(classes.entries):
        members = np.flatnonzero(ok & (classes.index == k))
        if len(members):
            yield entry, members


def _pick(items: Sequence[Any] | None, members: np.ndarray) -> list[Any] | None:
    return None if items is None else [items[i] for i in members]


def _draw_layer(m: folium.Map, p: _Prepared, s: MapSettings) -> folium.FeatureGroup:
    layer, classes, geoms, kind = p.layer, p.classes, p.geoms, p.kind
    assert classes is not None
    look = _look(layer)
    group = folium.FeatureGroup(name=html.escape(layer.name), show=layer.visible, overlay=True, control=True)
    labels, values = _popup(layer, s)
    tips = tooltip_texts(layer)
    ok = _drawn(geoms)
    for entry, members in _class_members(classes, ok):
        _add_geojson(group, geoms[members], labels, _pick(values, members), _pick(tips, members),
                     _feature_style(kind, entry.colour, s, look=look), kind, s, interactive_highlight=True)
    group.add_to(m)
    if layer.markers and ok.any():
        _draw_markers(m, group, p, labels, values, tips, s)
    return group


def _draw_markers(m: folium.Map, group: folium.FeatureGroup, p: _Prepared, labels: list[str],
                  values: list[list[PopupValue]], tips: list[str] | None, s: MapSettings) -> None:
    """A marker in the class colour with the feature's label at each representative point, shown below
    ``marker_max_zoom`` (small footprints are specks at county zoom); from there on only the label stays."""
    layer, classes, geoms = p.layer, p.classes, p.geoms
    assert classes is not None and layer.markers is not None

    require_column(layer.gdf, layer.markers, "markers", layer.name)
    marks = [("" if category_key(v) is None else format_scalar(v)) for v in layer.gdf[layer.markers]]
    look = _look(layer)
    ok = _drawn(geoms)
    points = np.full(len(geoms), None, dtype=object)
    points[ok] = shapely.point_on_surface(geoms[ok])
    markers = folium.FeatureGroup(name="markers", control=False, show=True)
    markers.add_to(group)
    radius = look.radius if look is not None else s.point_radius * 1.5
    for entry, members in _class_members(classes, ok):
        style = {"color": "#1a1a1a", "weight": 2.0, "fill": True, "fillColor": entry.colour, "fillOpacity": 1.0,
                 "radius": radius}
        _add_geojson(markers, points[members], labels, _pick(values, members), _pick(tips, members), style,
                     "point", s, interactive_highlight=False, pane="sxMarkers", marks=_pick(marks, members))
    _Script(f"""(function () {{
    var map = {m.get_name()}, parent = {group.get_name()}, markers = {markers.get_name()};
    // Labels of neighbouring markers must not cover each other: each label takes the first place, right or
    // left of its marker and then one, two, ... label heights above or below, that no label already placed
    // covers; a label with no free place within MAX_STEPS heights stays on the right.
    var MAX_STEPS = 4;
    function hits(r, placed) {{
        return placed.some(function (q) {{
            return r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom; }});
    }}
    function declutter() {{
        var placed = [];
        markers.eachLayer(function (geo) {{ (geo.eachLayer ? geo : L.layerGroup([geo])).eachLayer(function (l) {{
            var t = l.getTooltip && l.getTooltip();
            if (!t || !t.getElement()) {{ return; }}
            t.options.direction = 'right'; t.options.offset = [8, 0]; t.update();
            var r = t.getElement().getBoundingClientRect(), h = r.bottom - r.top, found = !hits(r, placed);
            for (var step = 0; !found && step <= MAX_STEPS; step++) {{
                var dys = step === 0 ? [0] : [-step * h, step * h];
                for (var k = 0; !found && k < dys.length * 2; k++) {{
                    var left = k % 2 === 1, dy = dys[Math.floor(k / 2)];
                    t.options.direction = left ? 'left' : 'right'; t.options.offset = [left ? -8 : 8, dy]; t.update();
                    r = t.getElement().getBoundingClientRect();
                    found = !hits(r, placed);
                }}
            }}
            if (!found) {{ t.options.direction = 'right'; t.options.offset = [8, 0]; t.update();
                           r = t.getElement().getBoundingClientRect(); }}
            placed.push(r);
        }}); }});
    }}
    // Zoomed in, the footprint is large enough to see and click: the disc is hidden (and lets clicks
    // through to the footprint) while the feature's label stays, so every project keeps its id at every zoom.
    function sync() {{
        var high = map.getZoom() >= {s.marker_max_zoom};
        markers.eachLayer(function (geo) {{ (geo.eachLayer ? geo : L.layerGroup([geo])).eachLayer(function (l) {{
            if (!l.setStyle) {{ return; }}
            if (!l.__sxLook) {{ l.__sxLook = {{opacity: l.options.opacity, fillOpacity: l.options.fillOpacity}}; }}
            l.setStyle(high ? {{opacity: 0, fillOpacity: 0}} : l.__sxLook);
            var el = l.getElement && l.getElement();
            if (el) {{ el.style.pointerEvents = high ? 'none' : ''; }}
        }}); }});
        if (map.hasLayer(markers)) {{ declutter(); }}
    }}
    map.on('zoomend', sync); sync();
}})();""").add_to(m)


def _base_group(m: folium.Map, key: str, groups: dict[str, folium.FeatureGroup]) -> folium.FeatureGroup:
    """The layer-list switch of a basemap group (``[basemap_groups]`` of the style registry)."""
    if key not in groups:
        from .styles import styles

        zh, en = styles().group_name(key)
        groups[key] = folium.FeatureGroup(name=html.escape(f"底图：{zh} / Basemap: {en}"), show=True, overlay=True,
                                          control=True)
        groups[key].add_to(m)
    return groups[key]


def _draw_base(p: _Prepared, s: MapSettings, group: folium.FeatureGroup) -> None:
    """A basemap layer: registry style, its own pane, not interactive (boundaries keep their popups)."""
    from .basemap import BOUNDARY_ROLES

    layer = p.layer
    look = _look(layer)
    boundary = layer.look in BOUNDARY_ROLES
    ok = np.flatnonzero(_drawn(p.geoms))
    labels, values = _popup(layer, s) if boundary else ([], None)
    style = _feature_style(p.kind, look.fill or look.stroke, s, look=look)
    if p.kind == "point":
        style["fillColor"] = look.fill or look.stroke
    _add_geojson(group, p.geoms[ok], labels, _pick(values, ok), None, style, p.kind, s, interactive_highlight=False,
                 pane="sxBounds" if boundary else "sxBase", interactive=boundary and bool(labels))


def _draw_raster(m: folium.Map, p: _Prepared, s: MapSettings,
                 group: folium.FeatureGroup | None = None) -> folium.FeatureGroup:
    """A raster image in its own layer-list switch, or (a basemap raster) in the basemap ``group``."""
    assert p.image is not None
    raster = p.raster
    own = group is None
    if group is None:
        group = folium.FeatureGroup(name=html.escape(raster.name), show=raster.visible, overlay=True, control=True)
    # not pixelated: folium's 'pixelated' is a page-wide CSS rule that would make the hillshade blocky too
    folium.raster_layers.ImageOverlay(p.image.uri, bounds=[list(p.image.bounds[0]), list(p.image.bounds[1])],
                                      opacity=raster.alpha, pixelated=False, control=False,
                                      pane="sxHill" if p.base or not own else "sxRaster",
                                      interactive=False).add_to(group)
    if own:
        group.add_to(m)
    return group


def _draw_labels(m: folium.Map, labels: Any, s: MapSettings, group: folium.FeatureGroup) -> folium.FeatureGroup:
    """Place names as text markers (not interactive, white halo), shown from ``labels.min_zoom`` on."""
    data = [[round(float(y), 5), round(float(x), 5), t] for (x, y), t in zip(labels.lonlat, labels.texts)]
    _Script(f"""(function () {{
    var map = {m.get_name()}, group = {group.get_name()}, data = {_js_json(data)}, shown = L.layerGroup();
    data.forEach(function (d) {{
        var span = document.createElement('span');
        span.textContent = d[2];
        L.marker([d[0], d[1]], {{pane: 'sxLabels', interactive: false, keyboard: false,
            icon: L.divIcon({{className: 'sx-label {labels.css_class}', html: span, iconSize: null}})}}).addTo(shown);
    }});
    function sync() {{
        if (map.getZoom() >= {labels.min_zoom}) {{ if (!group.hasLayer(shown)) {{ group.addLayer(shown); }} }}
        else {{ group.removeLayer(shown); }}
    }}
    map.on('zoomend', sync); sync();
}})();""").add_to(m)
    return group


def _declutter_place_names(m: folium.Map, s: MapSettings) -> None:
    """Hide, at each zoom, every place name that would cover a project id or another place name.

    Runs in the browser on the rendered boxes (text width depends on the fonts there) after the project ids
    found their places: the script is added after the layers, so its ``zoomend`` handler runs last.
    """
    _Script(f"""(function () {{
    var map = {m.get_name()}, GAP = {s.label_gap_px};
    // Project ids win (a planner reads them first), then county names, then township names with the
    // narrower first, so that as many names as possible stay; a name that would come within GAP pixels
    // of one already written is hidden until a zoom where it fits.
    function hits(r, placed) {{
        return placed.some(function (q) {{
            return r.left - GAP < q.right && q.left < r.right + GAP && r.top - GAP < q.bottom && q.top < r.bottom + GAP;
        }});
    }}
    function declutter() {{
        var c = map.getContainer();
        var placed = Array.prototype.map.call(c.querySelectorAll('.leaflet-tooltip.sx-marker-label'),
                                              function (el) {{ return el.getBoundingClientRect(); }});
        var names = Array.prototype.map.call(c.querySelectorAll('.sx-label'), function (el) {{
            el.style.visibility = '';
            var r = (el.firstChild || el).getBoundingClientRect();
            return {{el: el, r: r, rank: el.classList.contains('sx-label-county') ? 0 : 1, w: r.right - r.left}};
        }});
        names.sort(function (a, b) {{ return a.rank - b.rank || a.w - b.w; }});
        names.forEach(function (n) {{
            if (hits(n.r, placed)) {{ n.el.style.visibility = 'hidden'; }} else {{ placed.push(n.r); }}
        }});
    }}
    map.on('zoomend overlayadd overlayremove', declutter); declutter();
}})();""").add_to(m)


def _resolve_catalog(catalog: Catalog | str | Path | None) -> Catalog | None:
    if catalog is None:
        return None
    from ..catalog import Catalog

    return catalog if isinstance(catalog, Catalog) else Catalog.load(catalog)


@dataclass
class _Prepared:
    layer: Any
    geoms: np.ndarray
    kind: str
    rank: int
    classes: LayerClasses | None = None
    base: bool = False
    synthetic: bool = False
    raster: Any = None
    image: Any = None
    group: int = -1


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


def make_map(layers: Sequence[Any], *, basemap: str = "none", offline: bool = False,
             title_zh: str = "随州市三线一单与光伏选址", title_en: str = "Suizhou zoning screening and PV siting",
             catalog: Catalog | str | Path | None = None, boundaries: bool = True, synthetic: bool | None = None,
             tianditu_key: str | None = None, settings: MapSettings | None = None,
             view: Literal["county", "results"] = "county") -> folium.Map:
    """Build an interactive map of result layers over the offline basemap or a tile basemap.

    Parameters
    ----------
    layers : sequence of MapLayer or RasterLayer
        Layers to draw (rasters, then polygons, lines and points, so small features stay on top).
    basemap : {"none", "osm", "tianditu", "amap"}
        ``"none"`` draws no tiles: the offline basemap built from the catalog (hillshade of the DEM,
        built-up areas, water, roads, railways, boundaries and Chinese place names) is the ground;
        ``"tianditu"`` needs a key (``tianditu_key`` or the environment variable ``TIANDITU_KEY``);
        ``"amap"`` tiles are GCJ-02, so every overlay is shifted into GCJ-02.  Over tiles only the
        boundaries are drawn from the catalog.
    offline : bool
        Build for a single self-contained file (no tiles: a tile basemap is left out with a
        :class:`~sanxian_yidan.errors.SanxianWarning` and a note in the legend).  Save with
        :func:`save_map`, which inlines every script and stylesheet.
    title_zh, title_en : str
        Map title (shown above the map and as the page title).
    catalog : Catalog, str or Path, optional
        Catalog to build the basemap from.  A region view (``Catalog.restricted_to``) labels only the
        townships of the region.
    boundaries : bool
        Draw the basemap (default True).
    synthetic : bool, optional
        ``True`` shows the SAMPLE DATA banner even if no drawn layer is synthetic (e.g. results computed
        from synthetic catalog layers).  The banner is always shown when a drawn layer is synthetic.
    tianditu_key : str, optional
        Tianditu browser key (``tk``); default: the environment variable ``TIANDITU_KEY``.
    settings : MapSettings, optional
        Map settings (default: the packaged ``data/maps.toml``).
    view : {"county", "results"}
        What the map opens on: ``"county"`` (default, a study map) the layers switched on together with
        the county; ``"results"`` (a screening's map) only the layers switched on, zoomed in at most to
        ``[map].result_max_zoom`` with ``[map].result_padding_px`` around them, so a screened parcel
        fills the view instead of being a speck on the county.

    Returns
    -------
    folium.Map
        With ``m.sanxian`` = dict of ``offline``, ``basemap``, ``gcj02``, ``synthetic``,
        ``synthetic_layers``, ``notes``, the legend entries per layer (``legend``) and the layers
        switched on when the map opens (``shown``).

    Raises
    ------
    MapError
        Unknown basemap, missing style/popup/tooltip column, missing Tianditu key.
    CRSError
        A layer without a CRS.
    """
    from .basemap import BOUNDARY_ROLES, basemap_layers, hillshade_layer, place_labels
    from .raster import RasterLayer, raster_image

    s = settings or default_settings()
    if basemap not in BASEMAPS:
        raise MapError(problem(f"未知底图 '{basemap}'。", f"Unknown basemap '{basemap}'.",
                               fix=f"use one of {list(BASEMAPS)}"))
    notes: list[str] = []
    if offline and basemap != "none":
        message = (f"离线地图不能包含底图瓦片（需联网），已省略 {s.basemaps[basemap].zh}，改用离线底图 / Offline map: "
                   f"basemap tiles need the network, so {s.basemaps[basemap].en} was left out (offline basemap used)")
        warnings.warn(message, SanxianWarning, stacklevel=2)
        notes.append(message)
        basemap = "none"
    tile_basemap = s.basemaps.get(basemap) if basemap != "none" else None
    key = _resolve_key(tile_basemap, tianditu_key) if tile_basemap else None
    gcj02 = bool(tile_basemap and tile_basemap.crs == "gcj02")
    cat = _resolve_catalog(catalog) if boundaries else None

    def display(gdf: Any, name: str) -> np.ndarray:
        return _display_geometries(gdf, gcj02=gcj02, decimals=s.coordinate_decimals, layer=name)

    prepared: list[_Prepared] = []
    for i, layer in enumerate(layers):
        if isinstance(layer, RasterLayer):
            if gcj02:
                raise MapError(problem("栅格图层不能叠加在高德（GCJ-02）底图上。",
                                       f"Raster layer '{layer.name}' cannot be shifted to GCJ-02 for Amap tiles.",
                                       fix="use basemap='none', 'osm' or 'tianditu'"))
            prepared.append(_Prepared(layer, np.array([], dtype=object), "raster", -1, raster=layer,
                                      image=raster_image(layer, s), synthetic=layer.is_synthetic))
            continue
        if not isinstance(layer, MapLayer):
            raise MapError(problem("图层必须是 MapLayer 或 RasterLayer。",
                                   f"Layer {i} is a {type(layer).__name__}, not a MapLayer.",
                                   fix="wrap each GeoDataFrame: MapLayer(gdf, '名称', 'Name', ...)"))
        geoms = display(layer.gdf, layer.name)
        prepared.append(_Prepared(layer, geoms, _kind(geoms), _geometry_rank(geoms), synthetic=layer.is_synthetic))
        undrawn = int((~_drawn(geoms)).sum())
        if undrawn:  # e.g. brownfield sites cut away entirely by exclusions: say so instead of dropping silently
            notes.append(f"{layer.name_zh}：{undrawn} 个要素无几何（如被硬约束全部扣除），未绘制 / {layer.name_en}: "
                         f"{undrawn} feature(s) without geometry (e.g. wholly excluded) are not drawn")
    base: list[_Prepared] = []
    labels: list[Any] = []
    if cat is not None:
        if tile_basemap is None:
            hill = hillshade_layer(cat, s)
            if hill is not None:
                base.append(_Prepared(hill, np.array([], dtype=object), "raster", -1, base=True, raster=hill,
                                      image=raster_image(hill, s), synthetic=False))
        for layer in basemap_layers(cat, s):
            if tile_basemap is not None and layer.look not in BOUNDARY_ROLES:
                continue
            geoms = display(layer.gdf, layer.name)
            base.append(_Prepared(layer, geoms, _kind(geoms), 1, base=True, synthetic=layer.is_synthetic))
        labels = place_labels(cat, s, lambda series: display(gpd.GeoDataFrame(geometry=series), "labels"))
        if missing := sum(lb.missing for lb in labels):
            notes.append(f"{missing} 个地名无中文名称，未标注 / {missing} place(s) without a Chinese name are not labelled")
    slot = 0
    for p in prepared:
        if p.raster is None:
            p.classes = classify_layer(p.layer, slot, s)
            slot += isinstance(effective_style(p.layer), SingleStyle)

    m = _new_map(title_zh, title_en, s)
    _Script("\n".join(f"{m.get_name()}.createPane('{name}').style.zIndex = {z};" for name, z in _PANES)
            + f"\n{m.get_name()}.getPane('sxLabels').style.pointerEvents = 'none';").add_to(m)
    if tile_basemap:
        _add_tiles(m, tile_basemap, key)
        notes.append(f"底图 Basemap: {tile_basemap.zh} / {tile_basemap.en}"
                     + ("；叠加图层已转换为 GCJ-02 / overlays shifted to GCJ-02" if gcj02 else ""))
    elif base:
        notes.append("离线底图：由图层目录生成（地形晕渲、水系、道路、建成区、行政界线）/ Offline basemap drawn from "
                     "the catalog (hillshade, water, roads, built-up areas, boundaries)")
    else:
        notes.append("无底图 / No basemap")
    groups: list[folium.FeatureGroup] = []
    base_groups: dict[str, folium.FeatureGroup] = {}
    for p in base:  # basemap first (its panes keep it beneath the analysis layers anyway)
        look = _look(p.raster or p.layer)
        group = _base_group(m, (look.group or look.id) if look is not None else "base", base_groups)
        if group not in groups:
            groups.append(group)
        p.group = groups.index(group)
        _draw_raster(m, p, s, group) if p.raster is not None else _draw_base(p, s, group)
    label_groups = [_draw_labels(m, lb, s, _base_group(m, "admin", base_groups)) for lb in labels]
    for p in sorted(prepared, key=lambda p: p.rank):
        p.group = len(groups)
        groups.append(_draw_raster(m, p, s) if p.raster is not None else _draw_layer(m, p, s))
    if labels:
        _declutter_place_names(m, s)

    synthetic_layers = [p.layer.name for p in prepared + base if p.synthetic]
    show_banner = bool(synthetic_layers) or bool(synthetic)
    if synthetic and not synthetic_layers:
        synthetic_layers = ["分析所用的图层 / layers used by the analysis"]
    blocks = [_legend_block(p) for p in prepared]
    base_blocks = [_legend_block(p) for p in base]
    notes.append("坐标 Coordinates: " + ("GCJ-02（高德）" if gcj02 else "WGS84 / CGCS2000"))
    _Script(f"""(function () {{
    var map = {m.get_name()};
    var c = map.getContainer();
    var div = document.createElement('div');
    div.className = 'sx-header';
    div.innerHTML = {_js_json(_header_html(title_zh, title_en, s.banner_text if show_banner else None,
                                             synthetic_layers))};
    c.parentNode.insertBefore(div, c);
    map.invalidateSize();
}})();""").add_to(m)
    # The layer list starts with the layers shown when the map opens, then those to switch on, then the
    # basemap switches ("底图…"); within each, the drawing order.
    order = {html.escape(p.layer.name): (0 if (p.raster or p.layer).visible else 1) for p in prepared}
    # folium renders a JsCode option as code; its annotation lists only JSON-like values
    folium.LayerControl(collapsed=False, position="topright", sort_layers=True, sort_function=folium.JsCode(
        f"function (a, b, nameA, nameB) {{ var o = {_js_json(order)}; "
        "function k(n) { return n in o ? o[n] : 2; } return k(nameA) - k(nameB); }"
    )).add_to(m)  # type: ignore[arg-type]
    group_names = ", ".join(g.get_name() for g in groups)
    _Script(f"""(function () {{
    var map = {m.get_name()}, groups = [{group_names}];
    var legend = L.control({{position: 'bottomright'}}), div;
    legend.onAdd = function () {{
        div = L.DomUtil.create('div', 'sx-legend leaflet-control');
        div.innerHTML = {_js_json(_legend_html(blocks, base_blocks, notes))};
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    }};
    legend.addTo(map);
    // Only the layers switched on are listed: the legend follows the layer control.
    function sync() {{
        div.querySelectorAll('[data-sx-g]').forEach(function (el) {{
            var on = el.getAttribute('data-sx-g').split(' ').some(function (i) {{ return map.hasLayer(groups[+i]); }});
            el.style.display = on ? '' : 'none';
        }});
    }}
    map.on('overlayadd overlayremove', sync); sync();
}})();""").add_to(m)
    # Scale bar in metres/kilometres only (planners in China work in metric units).
    _Script(f"L.control.scale({{metric: true, imperial: false, position: 'bottomleft'}}).addTo({m.get_name()});"
            ).add_to(m)
    folium.plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                                  secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                                  secondary_area_unit="hectares").add_to(m)
    fullscreen = folium.plugins.Fullscreen(position="topleft", title="全屏 / Full screen",
                                           title_cancel="退出全屏 / Exit full screen")
    fullscreen.add_to(m)
    # Full screen takes the whole page, so the header with the SAMPLE DATA banner stays visible.
    _Script(f"if ({m.get_name()}.fullscreenControl) {{ {m.get_name()}.fullscreenControl.options.fullscreenElement = "
            "document.body; }").add_to(m)
    _fit(m, prepared + base, s, view)
    shown = [p.layer.name for p in prepared if (p.raster or p.layer).visible]
    # what was drawn, for tests and callers (folium.Map has no such attribute of its own)
    m.sanxian = {  # type: ignore[attr-defined]
                 "offline": offline, "basemap": basemap, "gcj02": gcj02, "synthetic": show_banner,
                 "synthetic_layers": synthetic_layers, "notes": notes, "shown": shown,
                 "legend": {b.name: b.entries for b in blocks + base_blocks},
                 "base_layers": [b.name for b in base_blocks], "labels": {lb.name: lb.texts for lb in labels},
                 "label_groups": len(label_groups)}
    return m


def _legend_block(p: _Prepared) -> _LegendBlock:
    if p.raster is not None:
        assert p.image is not None
        heading, entries = ("", (LegendEntry(p.raster.name, "#808080", 0),)) if p.base else \
            (p.image.heading or "", p.image.entries)
        return _LegendBlock(p.raster.name, heading, entries, "raster", p.synthetic, show_counts=False, group=p.group)
    if p.base:
        look = _look(p.layer)
        outline = p.kind == "polygon" and not look.fill
        entry = LegendEntry(p.layer.name, (look.stroke if outline or p.kind == "line" else look.fill) or look.stroke,
                            len(p.layer.gdf), dash=look.dash)
        return _LegendBlock(p.layer.name, "", (entry,), p.kind, p.synthetic, outline=outline, show_counts=False,
                            group=p.group)
    assert p.classes is not None
    entries = tuple(e for e in p.classes.entries if e.count > 0)
    look = _look(p.layer)
    outline = look is not None and p.kind == "polygon" and not look.fill
    if look is not None and len(entries) == 1 and not p.classes.heading:
        colour = look.fill or look.stroke
        entries = (LegendEntry(entries[0].label, colour, entries[0].count, dash=look.dash),)
    return _LegendBlock(p.layer.name, p.classes.heading, entries, p.kind, p.synthetic, outline=outline, group=p.group)


def _new_map(title_zh: str, title_en: str, s: MapSettings) -> folium.Map:
    # Fractional zoom lets the county extent fill the window (Leaflet options zoomSnap / zoomDelta).
    m = folium.Map(location=[31.69, 113.37], zoom_start=9, tiles=None, control_scale=False, zoom_snap=0.25,
                   zoom_delta=0.5)
    root = cast(Figure, m.get_root())
    root.title = html.escape(f"{title_zh} / {title_en}")
    root.header.add_child(Element('<meta charset="utf-8" />'), name="sx_meta_charset")
    root.header.add_child(Element(_css(s)), name="sx_css")
    return m


def _add_tiles(m: folium.Map, basemap: Basemap, key: str | None) -> None:
    for i, tile in enumerate(basemap.tiles):
        name = basemap.zh if i == 0 else f"{basemap.zh} 注记 / labels"
        options: dict[str, Any] = {"subdomains": basemap.subdomains} if basemap.subdomains else {}
        layer = folium.TileLayer(tiles=tile.url.replace("{tk}", key or ""), attr=tile.attribution,
                                 name=html.escape(name), overlay=i > 0, control=True, max_zoom=basemap.max_zoom,
                                 **options)
        layer.add_to(m)
        # Tiles that cannot be fetched (no network, wrong key) leave the ground blank: say so once.
        _Script(f"""{layer.get_name()}.once('tileerror', function () {{
    var div = document.createElement('div');
    div.className = 'sx-offline-error'; div.setAttribute('role', 'alert');
    div.textContent = {_js_json(f"底图瓦片（{basemap.zh}）无法加载：需联网" + ("并提供有效密钥" if basemap.key_env else "")
                                  + f"。 / Basemap tiles ({basemap.en}) could not be loaded: they need the internet"
                                  + (" and a valid key" if basemap.key_env else "") + ".")};
    var c = {m.get_name()}.getContainer(); c.parentNode.insertBefore(div, c); {m.get_name()}.invalidateSize();
}});""").add_to(m)


def _fit(m: folium.Map, prepared: Sequence[_Prepared], s: MapSettings, view: str = "county") -> None:
    # The view opens on what is switched on (hidden context layers may reach far beyond the results).
    data = [p.geoms for p in prepared if not p.base and p.raster is None and len(p.geoms) and p.layer.visible]
    data = data or [p.geoms for p in prepared if not p.base and p.raster is None and len(p.geoms)]
    chosen = data or [p.geoms for p in prepared if p.raster is None and len(p.geoms)]
    if view == "results" and data:
        # a screening is read on its parcels: the county around them is one zoom-out away
        return _fit_box(m, _box(data), s.result_max_zoom, s.result_padding_px, s)
    # ... together with the county (or the catalog's counties): a meeting starts from the county view
    chosen = chosen + [p.geoms for p in prepared if p.base and p.raster is None and len(p.geoms)
                       and p.layer.look == "admin_boundary"]
    rasters = [p.image.bounds for p in prepared if p.raster is not None and not p.base and p.raster.visible]
    boxes = [box] if chosen and (box := _box(chosen)) is not None else []
    boxes += [(west, south, east, north) for (south, west), (north, east) in rasters]
    if not boxes:
        return
    arr = np.array(boxes, dtype=float)
    _fit_box(m, (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()), 15, 20, s)


def _box(chosen: Sequence[np.ndarray]) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the non-empty geometries of ``chosen`` (display coordinates)."""
    geoms = np.concatenate(chosen)
    geoms = geoms[_drawn(geoms)]
    return tuple(float(v) for v in shapely.total_bounds(geoms)) if len(geoms) else None  # type: ignore[return-value]


def _fit_box(m: folium.Map, box: Sequence[float] | None, max_zoom: float, pad: int, s: MapSettings) -> None:
    """Open the map on ``box`` (west, south, east, north), zoomed in at most to ``max_zoom``, ``pad`` px clear
    of the edges and the layer list and legend (right)."""
    if box is None:
        return
    west, south, east, north = (float(v) for v in box)
    # fractional zoom (zoom_snap) takes a fractional cap; folium annotates max_zoom as int
    m.fit_bounds([[south, west], [north, east]], max_zoom=max_zoom,  # type: ignore[arg-type]
                 padding_top_left=(pad, pad), padding_bottom_right=(max(s.popup_pad_right_px, pad), pad))
    m.location = [(south + north) / 2, (west + east) / 2]

