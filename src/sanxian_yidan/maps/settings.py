"""Map settings: basemaps, palettes, ramps and layout from ``data/maps.toml``, validated."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field

from ..datafiles import load_toml, packaged_path
from ..errors import SanxianError
from ..params import (
    PACKAGED_PREFIX,
    AsTuple,
    DataModel,
    FormerKeyword,
    FormerKeywords,
    Keyed,
    KeyedTable,
    PositionalFields,
    Sourced,
    validate_layers,
)
from ._deprecated import parse_palettes, parse_ramps  # noqa: F401  (deprecated: removed in the next release)
from .palettes import (  # noqa: F401  (PaletteClass, Palette, Ramp: public names, as before palettes.py)
    COLOUR,
    Colour,
    Palette,
    PaletteClass,
    PaletteEntry,
    Ramp,
    RampEntry,
    Strings,
    build_palettes,
    build_ramps,
    sequential_ramp_problem,
)

logger = logging.getLogger(__name__)

#: Basemap choices of :func:`make_map` (the tile sources are in ``data/maps.toml``).
BASEMAPS = ("none", "osm", "tianditu", "amap")
_SETTINGS_FILE = "maps.toml"


class MapError(SanxianError, ValueError):
    """A map cannot be built as asked (unknown basemap, missing column or key, external references)."""


# ---------------------------------------------------------------------------------------------------
# Settings (data/maps.toml)
# ---------------------------------------------------------------------------------------------------
class TileSource(PositionalFields, DataModel):
    """One tile layer of a basemap: Leaflet URL template and HTML attribution."""

    positional: ClassVar[tuple[str, ...]] = ("url", "attribution")
    url: str
    attribution: str


class Basemap(PositionalFields, FormerKeywords, Keyed, Sourced):
    """A tile basemap (``[basemaps.<id>]`` in ``maps.toml``; ``id`` is its key).

    Attributes
    ----------
    crs : {"wgs84", "gcj02"}
        Coordinates the tiles are drawn in; ``"gcj02"`` shifts every overlay.
    key_env : str
        Environment variable holding the access key (``""`` if none is needed).
    tiles : tuple of TileSource
        First = base layer, further = overlays (e.g. Tianditu labels).
    """

    # The former dataclass' field order and its ``id=`` (now the key in the file), deprecated, still built.
    positional: ClassVar[tuple[str, ...]] = ("id", "zh", "en", "crs", "max_zoom", "subdomains", "key_env", "tiles",
                                             "source")
    former_keywords: ClassVar[Mapping[str, FormerKeyword]] = {"id": "_id"}
    zh: str
    en: str
    crs: Literal["wgs84", "gcj02"]
    max_zoom: int = Field(ge=0)
    subdomains: str
    key_env: str
    tiles: Annotated[tuple[TileSource, ...], AsTuple] = Field(min_length=1)


class BoundaryStyle(PositionalFields, FormerKeywords, Keyed, Sourced):
    """How the catalog's boundary layer of one role is drawn (``[boundaries.<id>]``; ``id`` is its key)."""

    positional: ClassVar[tuple[str, ...]] = ("id", "role", "colour", "weight", "dash", "source")
    former_keywords: ClassVar[Mapping[str, FormerKeyword]] = {"id": "_id"}

    role: str
    colour: Colour
    weight: float = Field(ge=0)
    dash: str


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
    label_gap_px: float = 2.0
    popup_pad_right_px: int = 330
    result_max_zoom: float = 16.0
    result_padding_px: int = 60

    def palette_for(self, column: str) -> Palette | None:
        """The palette whose ``columns`` list ``column``, if any."""
        return next((p for p in self.palettes.values() if column in p.columns), None)

    def ramp_for(self, column: str) -> Ramp:
        """The ramp whose ``columns`` list ``column``, else the ``sequential`` ramp."""
        found = next((r for r in self.ramps.values() if column in r.columns), None)
        return found or self.ramps["sequential"]


class _MapTable(Sourced):
    background: Colour
    coordinate_decimals: int = Field(ge=0, le=15)
    popup_max_width_px: int = Field(ge=1)
    popup_max_height_px: int = Field(ge=1)
    max_legend_classes: int = Field(ge=1)
    numeric_classes: int = Field(ge=1)
    numeric_method: Literal["quantile", "equal"]
    no_data_colour: Colour
    marker_max_zoom: float = Field(ge=0)
    label_min_zoom: float = Field(ge=0)
    label_gap_px: float = Field(2.0, ge=0)
    popup_pad_right_px: int = Field(ge=0)
    result_max_zoom: float = Field(16.0, ge=0)
    result_padding_px: int = Field(60, ge=0)
    font_family: str


class _Overlay(Sourced):
    fill_opacity: float = Field(ge=0, le=1)
    polygon_weight: float = Field(ge=0)
    line_weight: float = Field(ge=0)
    point_radius: float = Field(ge=0)
    point_stroke: Colour
    point_weight: float = Field(ge=0)
    layer_colours: Annotated[tuple[Colour, ...], AsTuple] = Field(min_length=1)
    category_colours: Annotated[tuple[Colour, ...], AsTuple] = Field(min_length=1)


def _sample_banner(text: str) -> str:
    if "SAMPLE DATA" not in text:
        raise ValueError("must contain 'SAMPLE DATA' (the banner says the layers are synthetic) (横幅须标明示例数据)")
    return text


class _Banner(Sourced):
    text: Annotated[str, AfterValidator(_sample_banner)]
    background: Colour
    colour: Colour


class _Raster(Sourced):
    max_size_px: int = Field(ge=1)
    hillshade_levels: int = Field(ge=2)


class _Offline(Sourced):
    drop: Strings
    drop_reason: str


class _FieldLabels(Sourced):
    names: dict[str, str]


class MapsFile(Sourced):
    """The structure of ``data/maps.toml``."""

    what: ClassVar[str] = "地图 / map"
    map: _MapTable
    overlay: _Overlay
    banner: _Banner
    raster: _Raster
    offline: _Offline
    basemaps: Annotated[dict[str, Basemap], KeyedTable]
    boundaries: Annotated[dict[str, BoundaryStyle], KeyedTable] = {}   # optional: the style registry draws boundaries
    field_labels: _FieldLabels
    # colours come from the style registry (data/styles.toml) unless this file brings its own tables
    palettes: dict[str, PaletteEntry] | None = None
    ramps: dict[str, RampEntry] | None = None

    @classmethod
    def document_problems(cls, doc: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
        raw = doc.get("basemaps")
        basemaps = raw if isinstance(raw, Mapping) else {}
        return sequential_ramp_problem(doc) + [
            (("basemaps", bid), f"is missing (make_map offers basemap='{bid}') (缺少底图)")
            for bid in BASEMAPS[1:] if bid not in basemaps]


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
        Listing every problem of the file (unknown or missing key, wrong type, bad colour, missing
        ``source``), each with its key path.
    """
    from .styles import styles  # the registry's colours, unless this file brings its own tables

    file = Path(path) if path is not None else packaged_path(_SETTINGS_FILE)
    label = str(path) if path is not None else PACKAGED_PREFIX + _SETTINGS_FILE
    doc = validate_layers(MapsFile, [(label, load_toml(file))])
    bn = doc.banner
    # [map] and [overlay] keys are MapSettings fields of the same names
    return MapSettings(
        path=file, **doc.map.model_dump(exclude={"source"}), **doc.overlay.model_dump(exclude={"source"}),
        boundaries=tuple(doc.boundaries.values()), basemaps=dict(doc.basemaps),
        banner_text=bn.text, banner_background=bn.background, banner_colour=bn.colour,
        offline_drop=doc.offline.drop, offline_drop_reason=doc.offline.drop_reason,
        palettes=build_palettes(doc.palettes) if doc.palettes is not None else dict(styles().palettes),
        ramps=build_ramps(doc.ramps) if doc.ramps is not None else dict(styles().ramps),
        field_labels=dict(doc.field_labels.names), raster_max_size_px=doc.raster.max_size_px,
        hillshade_levels=doc.raster.hillshade_levels)


@lru_cache(maxsize=1)
def default_settings() -> MapSettings:
    """The packaged map settings (``data/maps.toml``, read once): the default of every ``settings`` argument."""
    return load_map_settings()


