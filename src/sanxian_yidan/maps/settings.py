"""Map settings: basemaps, palettes, ramps and layout from ``data/maps.toml``, validated."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..datafiles import load_toml, packaged_path
from ..errors import DataFileError, SanxianError, problem
from .palettes import (  # noqa: F401  (PaletteClass, Palette, Ramp: public names, as before palettes.py)
    COLOUR,
    Palette,
    PaletteClass,
    Ramp,
    SettingsReader,
    parse_palettes,
    parse_ramps,
)

logger = logging.getLogger(__name__)

#: Basemap choices of :func:`make_map` (the tile sources are in ``data/maps.toml``).
BASEMAPS = ("none", "osm", "tianditu", "amap")
_SETTINGS_FILE = "maps.toml"

#: Former private names, kept for modules written against them (now public in :mod:`.palettes`).
_COLOUR = COLOUR
_Reader = SettingsReader
_parse_palettes = parse_palettes
_parse_ramps = parse_ramps


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
    raster_max_size_px: int = 900
    hillshade_levels: int = 24
    marker_max_zoom: float = 13.0
    label_min_zoom: float = 9.0
    popup_pad_right_px: int = 330

    def palette_for(self, column: str) -> Palette | None:
        """The palette whose ``columns`` list ``column``, if any."""
        return next((p for p in self.palettes.values() if column in p.columns), None)

    def ramp_for(self, column: str) -> Ramp:
        """The ramp whose ``columns`` list ``column``, else the ``sequential`` ramp."""
        found = next((r for r in self.ramps.values() if column in r.columns), None)
        return found or self.ramps["sequential"]


def _parse_basemaps(r: SettingsReader, doc: dict[str, Any]) -> dict[str, Basemap]:
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
    r = SettingsReader(file)
    r.source(doc, "top level")
    mp = r.get(doc, "map", dict, "[map]", {})
    ov = r.get(doc, "overlay", dict, "[overlay]", {})
    bn = r.get(doc, "banner", dict, "[banner]", {})
    off = r.get(doc, "offline", dict, "[offline]", {})
    rs = r.get(doc, "raster", dict, "[raster]", {})
    for table, where in ((mp, "[map]"), (ov, "[overlay]"), (bn, "[banner]"), (off, "[offline]"), (rs, "[raster]")):
        r.source(table, where)
    boundaries = []
    for bid, spec in (doc.get("boundaries") or {}).items():  # optional: the style registry draws boundaries
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
        # Colours come from the style registry (data/styles.toml) unless this file brings its own tables.
        palettes=parse_palettes(r, doc) if "palettes" in doc else dict(_registry().palettes),
        ramps=parse_ramps(r, doc) if "ramps" in doc else dict(_registry().ramps),
        field_labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        raster_max_size_px=r.get(rs, "max_size_px", int, "[raster]", 900),
        hillshade_levels=r.get(rs, "hillshade_levels", int, "[raster]", 24),
        marker_max_zoom=float(r.get(mp, "marker_max_zoom", (int, float), "[map]", 13.0)),
        label_min_zoom=float(r.get(mp, "label_min_zoom", (int, float), "[map]", 9.0)),
        popup_pad_right_px=r.get(mp, "popup_pad_right_px", int, "[map]", 330),
    )
    if "SAMPLE DATA" not in settings.banner_text:
        r.problems.append("[banner].text must contain 'SAMPLE DATA' (the banner says the layers are synthetic)")
    if r.problems:
        raise DataFileError(problem(
            f"地图设置文件有 {len(r.problems)} 处错误。",
            f"The map settings file has {len(r.problems)} problem(s):\n  - " + "\n  - ".join(r.problems),
            file=file, fix="correct each entry listed; compare with the packaged sanxian_yidan/data/maps.toml"))
    return settings


def _registry() -> Any:
    from .styles import styles

    return styles()


@lru_cache(maxsize=1)
def _default_settings() -> MapSettings:
    return load_map_settings()


