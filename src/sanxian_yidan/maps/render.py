"""Drawing a map: display geometry (WGS84 or GCJ-02), legend, scale bar, boundaries and :func:`make_map`."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from ..crs import wgs84_to_gcj02
from ..errors import CRSError, SanxianWarning, problem
from .layers import (
    LegendEntry,
    MapLayer,
    PopupValue,
    SingleStyle,
    _Classes,
    _classify,
    _tooltips,
    popup_content,
)
from .settings import (
    BASEMAPS,
    Basemap,
    BoundaryStyle,
    MapError,
    MapSettings,
    TileSource,
    _default_settings,
)

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
    from ..catalog import Catalog

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
        undrawn = int((shapely.is_missing(geoms) | shapely.is_empty(geoms)).sum())
        if undrawn:  # e.g. brownfield sites cut away entirely by exclusions: say so instead of dropping silently
            notes.append(f"{layer.name_zh}：{undrawn} 个要素无几何（如被硬约束全部扣除），未绘制 / {layer.name_en}: "
                         f"{undrawn} feature(s) without geometry (e.g. wholly excluded) are not drawn")
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


