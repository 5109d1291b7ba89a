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

Basemap URLs and layout settings live in ``data/maps.toml``; every colour (verdict palette, ramps, the
look of each layer role) in the style registry ``data/styles.toml`` (:mod:`sanxian_yidan.maps.styles`),
shared with the static figures and the QGIS styles written into GeoPackages (:mod:`sanxian_yidan.maps.qgis`).
"""

from __future__ import annotations

from .files import (  # noqa: F401  (every public name, as before the split)
    map_files,
    read_map_layers,
)
from .layers import (  # noqa: F401  (every public name, as before the split)
    CategoryStyle,
    LegendEntry,
    MapLayer,
    NumericStyle,
    PopupValue,
    SingleStyle,
    Style,
    popup_content,
    style_for_column,
)
from .page import (  # noqa: F401  (every public name, as before the split)
    external_references,
    inline_assets,
    render_html,
    save_map,
    stable_element_ids,
)
from .raster import (  # noqa: F401
    RasterLayer,
    raster_image,
    read_raster_layer,
)
from .render import (  # noqa: F401  (every public name, as before the split)
    make_map,
    to_gcj02,
)
from .settings import (  # noqa: F401  (every public name, as before the split)
    BASEMAPS,
    Basemap,
    BoundaryStyle,
    MapError,
    MapSettings,
    Palette,
    PaletteClass,
    Ramp,
    TileSource,
    load_map_settings,
)

__all__ = [
    "RasterLayer", "read_raster_layer", "BASEMAPS", "CategoryStyle", "MapError", "MapLayer", "MapSettings",
    "NumericStyle", "SingleStyle",
    "external_references", "inline_assets", "load_map_settings", "make_map", "map_files", "popup_content",
    "read_map_layers", "render_html", "save_map", "style_for_column", "to_gcj02",
]
