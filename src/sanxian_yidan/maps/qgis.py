"""QGIS styles inside GeoPackages: the ``layer_styles`` table QGIS reads when a layer is opened.

Every GeoPackage the toolkit writes carries, for each result layer, a default style (QML, and an SLD
for other GIS) built from the same style registry as the web map (``data/styles.toml``): the verdict
classes with their Okabe–Ito colours and Chinese / English labels, score and capacity ramps with their
class edges, and the outline, dash and opacity of each role.  Opening ``screening.gpkg`` in QGIS then
looks like the meeting map.

References
----------
.. [1] QGIS, "Save style to database": table ``layer_styles`` (f_table_catalog, f_table_schema,
       f_table_name, f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description,
       owner, ui, update_time), as created by QGIS's OGR provider for GeoPackage.
.. [2] OGC Symbology Encoding 1.1.0 (05-077r4) and Styled Layer Descriptor 1.1.0 (05-078r4).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..errors import problem
from .layers import NumericStyle, classify_numeric
from .settings import MapError, default_settings
from .styles import LayerStyle, layer_style, styles

#: 1 CSS px in millimetres (QGIS symbol units): 96 px per inch, 25.4 mm per inch.
PX_MM = 25.4 / 96

_CREATE = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME DEFAULT
  (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""


def _rgba(colour: str, alpha: float = 1.0) -> str:
    from matplotlib.colors import to_rgb

    r, g, b = (int(round(c * 255)) for c in to_rgb(colour))
    return f"{r},{g},{b},{int(round(alpha * 255))}"


def _prop(key: str, value: Any) -> str:
    return f'<prop k={quoteattr(key)} v={quoteattr(str(value))}/>'


def _symbol(name: str, kind: str, st: LayerStyle, fill: str | None) -> str:
    """One QGIS symbol (fill / line / marker) drawn like the web map."""
    dash = st.dash.split()
    width_mm = round(st.weight * PX_MM, 3)
    colour = fill or st.fill
    symbol, layer_class = {"line": ("line", "SimpleLine"), "point": ("marker", "SimpleMarker")}.get(
        kind, ("fill", "SimpleFill"))
    if kind == "line":
        props = [_prop("line_color", _rgba(fill or st.stroke, st.opacity)), _prop("line_width", width_mm),
                 _prop("line_width_unit", "MM"), _prop("line_style", "dash" if dash else "solid"),
                 _prop("use_custom_dash", 1 if dash else 0),
                 _prop("customdash", ";".join(str(round(float(d) * PX_MM, 3)) for d in dash) or "5;2"),
                 _prop("capstyle", "round"), _prop("joinstyle", "round")]
    elif kind == "point":
        props = [_prop("color", _rgba(colour or st.stroke)), _prop("outline_color", _rgba(st.stroke)),
                 _prop("outline_width", width_mm), _prop("size", round(2 * st.radius * PX_MM, 3)),
                 _prop("size_unit", "MM"), _prop("name", "circle")]
    else:
        props = [_prop("color", _rgba(colour or "#000000", st.fill_opacity if colour else 0.0)),
                 _prop("style", "solid" if colour else "no"),
                 _prop("outline_color", _rgba(st.stroke or "#000000", st.opacity)),
                 _prop("outline_width", width_mm), _prop("outline_width_unit", "MM"),
                 _prop("outline_style", "dash" if dash else "solid"), _prop("joinstyle", "round")]
    return (f'<symbol type="{symbol}" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{layer_class}" enabled="1" locked="0" pass="0">{"".join(props)}</layer></symbol>')


def _classes(st: LayerStyle, values: Sequence[Any] | None) -> tuple[str, list[tuple[Any, str, str]]]:
    """(mode, classes): ``("categorized", [(value, label, colour)])``, ``("graduated", [((lo, hi), label,
    colour)])`` or ``("single", [])``."""
    reg = styles()
    if st.palette and st.column:
        return "categorized", [(c.value, c.label, c.colour) for c in reg.palettes[st.palette].classes]
    if st.ramp and st.column and values is not None:
        import numpy as np
        import pandas as pd

        series = pd.to_numeric(pd.Series(values if isinstance(values, (np.ndarray, pd.Series)) else list(values)),
                               errors="coerce")
        if not series.notna().any():
            return "single", []
        classes = classify_numeric(series, NumericStyle(st.column, ramp=st.ramp), default_settings())
        edges = classes.edges
        return "graduated", [((edges[k], edges[k + 1]), entry.label, entry.colour)
                             for k, entry in enumerate(classes.entries[:max(len(edges) - 1, 0)])]
    return "single", []


def style_qml(st: LayerStyle, kind: str, values: Sequence[Any] | None = None) -> str:
    """The QML document of a layer style (QGIS 3 vector renderer), classes named in Chinese / English.

    Parameters
    ----------
    st : LayerStyle
        From the style registry.
    kind : {"polygon", "line", "point"}
        Geometry kind of the layer.
    values : sequence, optional
        Values of ``st.column`` (graduated classes need them to set the class edges).
    """
    mode, classes = _classes(st, values)
    head = ('<!DOCTYPE qgis PUBLIC \'http://mrcc.com/qgis.dtd\' \'SYSTEM\'>\n'
            '<qgis version="3.28.0" styleCategories="Symbology|Labeling">')
    if mode == "categorized":
        cats = "".join(f'<category render="true" symbol="{i}" value={quoteattr(str(v))} label={quoteattr(lbl)}/>'
                       for i, (v, lbl, _c) in enumerate(classes))
        syms = "".join(_symbol(str(i), kind, st, c) for i, (_v, _l, c) in enumerate(classes))
        renderer = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(st.column)} symbollevels="0" '
                    f'enableorderby="0" forceraster="0"><categories>{cats}</categories><symbols>{syms}</symbols>'
                    f'</renderer-v2>')
    elif mode == "graduated":
        ranges = "".join(f'<range render="true" symbol="{i}" lower="{lo!r}" upper="{hi!r}" label={quoteattr(lbl)}/>'
                         for i, ((lo, hi), lbl, _c) in enumerate(classes))
        syms = "".join(_symbol(str(i), kind, st, c) for i, (_r, _l, c) in enumerate(classes))
        renderer = (f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(st.column)} graduatedMethod="GraduatedColor" '
                    f'symbollevels="0" enableorderby="0" forceraster="0"><ranges>{ranges}</ranges>'
                    f'<symbols>{syms}</symbols></renderer-v2>')
    else:
        renderer = (f'<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
                    f'<symbols>{_symbol("0", kind, st, None)}</symbols></renderer-v2>')
    return f"{head}{renderer}<layerGeometryType>{ {'point': 0, 'line': 1}.get(kind, 2) }</layerGeometryType></qgis>"


def _svg(name: str, value: Any) -> str:
    return f'<se:SvgParameter name="{name}">{escape(str(value))}</se:SvgParameter>'


def _sld_symbolizer(st: LayerStyle, kind: str, colour: str | None) -> str:
    """The SE symbolizer of one class, drawn as the QML symbol of :func:`_symbol` is: fill colour and
    opacity, outline colour, opacity, width and dash (widths in pixels, the SE default unit)."""
    dash = f"{_svg('stroke-dasharray', st.dash)}" if st.dash else ""
    if kind == "line":
        return (f"<se:LineSymbolizer><se:Stroke>{_svg('stroke', colour or st.stroke)}"
                f"{_svg('stroke-opacity', st.opacity)}{_svg('stroke-width', st.weight)}"
                f"{_svg('stroke-linejoin', 'round')}{_svg('stroke-linecap', 'round')}{dash}"
                f"</se:Stroke></se:LineSymbolizer>")
    stroke = (f"<se:Stroke>{_svg('stroke', st.stroke or '#000000')}{_svg('stroke-opacity', st.opacity)}"
              f"{_svg('stroke-width', st.weight)}{_svg('stroke-linejoin', 'round')}{dash}</se:Stroke>")
    if kind == "point":  # an opaque outline, as the QML marker's
        outline = f"<se:Stroke>{_svg('stroke', st.stroke or '#000000')}{_svg('stroke-width', st.weight)}</se:Stroke>"
        return (f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>"
                f"<se:Fill>{_svg('fill', colour or st.fill or st.stroke)}</se:Fill>{outline}</se:Mark>"
                f"<se:Size>{2 * st.radius}</se:Size></se:Graphic></se:PointSymbolizer>")
    fill = colour or st.fill
    fill_xml = f"<se:Fill>{_svg('fill', fill)}{_svg('fill-opacity', st.fill_opacity)}</se:Fill>" if fill else ""
    return f"<se:PolygonSymbolizer>{fill_xml}{stroke}</se:PolygonSymbolizer>"


def _compare(op: str, column: str, value: Any) -> str:
    return (f"<ogc:{op}><ogc:PropertyName>{escape(column)}</ogc:PropertyName>"
            f"<ogc:Literal>{escape(str(value))}</ogc:Literal></ogc:{op}>")


def _sld_rule(label: str, name: str, condition: str, symbolizer: str) -> str:
    return (f"<se:Rule><se:Name>{escape(name)}</se:Name><se:Description><se:Title>{escape(label)}</se:Title>"
            f"</se:Description>{condition}{symbolizer}</se:Rule>")


def style_sld(st: LayerStyle, kind: str, layer: str, values: Sequence[Any] | None = None) -> str:
    """An OGC SLD 1.1 document with the classes of :func:`style_qml`: one rule per category or range with
    the same value or bounds, label (``se:Title``) and colours, or one rule for a single style.

    Ranges follow QGIS's graduated renderer: the first range includes its lower bound, every range its
    upper bound, so a value on a class edge falls in the lower class as in QGIS.
    """
    mode, classes = _classes(st, values)
    rules = []
    if mode == "categorized":
        for value, label, colour in classes:
            rules.append(_sld_rule(label, label, "<ogc:Filter>" + _compare("PropertyIsEqualTo", st.column, value)
                                   + "</ogc:Filter>", _sld_symbolizer(st, kind, colour)))
    elif mode == "graduated":
        for k, ((lo, hi), label, colour) in enumerate(classes):
            lower = _compare("PropertyIsGreaterThanOrEqualTo" if k == 0 else "PropertyIsGreaterThan", st.column,
                             repr(lo))
            upper = _compare("PropertyIsLessThanOrEqualTo", st.column, repr(hi))
            rules.append(_sld_rule(label, label, f"<ogc:Filter><ogc:And>{lower}{upper}</ogc:And></ogc:Filter>",
                                   _sld_symbolizer(st, kind, colour)))
    else:
        rules.append(_sld_rule(st.label, st.label, "", _sld_symbolizer(st, kind, None)))
    return ('<?xml version="1.0" encoding="UTF-8"?><StyledLayerDescriptor version="1.1.0" '
            'xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
            'xmlns:se="http://www.opengis.net/se" xmlns:xlink="http://www.w3.org/1999/xlink" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/sld '
            'http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
            f'<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle><se:Name>{escape(st.label)}</se:Name>'
            f'<se:FeatureTypeStyle>{"".join(rules)}</se:FeatureTypeStyle></UserStyle></NamedLayer>'
            '</StyledLayerDescriptor>')


def _kind_of(geometry_type: str) -> str:
    t = geometry_type.upper()
    if "POINT" in t:
        return "point"
    if "LINE" in t or "CURVE" in t and "POLYGON" not in t:
        return "line"
    return "polygon"


def write_layer_styles(gpkg_path: str | Path, layer: str, style: str | LayerStyle,
                       values: Sequence[Any] | None = None) -> None:
    """Write the default QGIS style of one layer of a GeoPackage into its ``layer_styles`` table.

    Parameters
    ----------
    gpkg_path : str or Path
        A GeoPackage the toolkit has just written (not the user's input).
    layer : str
        Table name of a spatial layer in it.
    style : str or LayerStyle
        Layer id in the style registry (``"projects"``, ``"rooftops"`` …) or a style.
    values : sequence, optional
        The layer's values of the style's column, when the caller still holds the table it has just
        written (a graduated style then does not read a million values back from the file).

    Raises
    ------
    MapError
        If the layer is not a spatial layer of the GeoPackage.

    Notes
    -----
    Any earlier style of the same name for the layer is replaced; the row is ``useAsDefault = 1``, so
    QGIS applies it on opening.  The table is not registered in
    ``gpkg_contents`` (QGIS reads ``layer_styles`` by name); :func:`sanxian_yidan.read_vector` does not
    count it as a data layer.  Graduated (ramp) styles read the layer's values to set the class edges.
    """
    st = layer_style(style) if isinstance(style, str) else style
    path = Path(gpkg_path)
    with closing(sqlite3.connect(path)) as con:
        row = con.execute("SELECT column_name, geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?",
                          (layer,)).fetchone()
        if row is None:
            raise MapError(problem(f"GeoPackage 中没有空间图层 '{layer}'，无法写入样式。",
                                   f"'{layer}' is not a spatial layer of {path.name}; no style written.",
                                   file=str(path), fix="write the layer first, then its style"))
        geom_column, geom_type = row
        kind = _kind_of(str(geom_type))
        if values is None and st.ramp and st.column:
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')]
            if st.column in columns:
                values = [r[0] for r in con.execute(f'SELECT "{st.column}" FROM "{layer}"')]
        qml = style_qml(st, kind, values)
        sld = style_sld(st, kind, layer, values)
        con.execute(_CREATE)
        con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?", (layer, st.id))
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (layer,))
        # update_time left empty (NULL): identical inputs give identical files (gpkg_contents keeps the time)
        con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                    "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '', '', NULL)",
                    (layer, geom_column, st.id, qml, sld, f"{st.label} — sanxian_yidan style registry (styles.toml)"))
        con.commit()
