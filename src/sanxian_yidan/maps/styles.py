"""The style registry: one look per layer role and result class for every map, figure and GeoPackage.

``data/styles.toml`` says how each layer is drawn — catalog roles (``basic_farmland``, ``river``,
``eco_redline`` …) and result layers (``projects``, ``overlap_pieces``, ``excluded_parts``,
``viewshed`` …) — and holds the categorical palettes (``verdict``: the Okabe–Ito colour-blind-safe
verdict colours) and numeric ramps.  The interactive maps, the static PNG figures and the
``layer_styles`` table written into GeoPackages (QGIS) all read it, so a verdict has the same colour
everywhere::

    from sanxian_yidan.maps.styles import layer_style, verdict_colours, mpl_style

    verdict_colours()["prohibited"]          # '#d55e00'
    layer_style("basic_farmland").fill       # '#e8d9a0'
    ax.add_collection(..., **mpl_style("river"))   # matplotlib keyword arguments

References
----------
.. [1] Okabe M., Ito K. (2008). Color Universal Design (CUD): how to make figures and presentations
       that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
.. [2] Wong B. (2011). Points of view: Color blindness. Nature Methods 8, 441.
.. [3] Brewer C. A. ColorBrewer 2.0, colorbrewer2.org (Apache-2.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field

from ..datafiles import load_toml, packaged_path
from ..errors import DataFileError, problem
from ..params import PACKAGED_PREFIX, DataModel, PositionalFields, Sourced, validate_layers
from .palettes import OptionalColour, PaletteEntry, RampEntry, build_palettes, build_ramps, sequential_ramp_problem

STYLES_FILE = "styles.toml"
#: Geometry kinds a layer style may have.
KINDS = ("polygon", "line", "point", "raster")
#: Verdict values in severity order (most severe first), as in the screening output.
VERDICT_ORDER = ("prohibited", "restricted", "needs_assessment", "outside_coverage", "notice", "compliant")


@dataclass(frozen=True)
class StyleRegistry:
    """Validated content of ``styles.toml``: palettes, ramps and layer styles."""

    path: Path
    palettes: Mapping[str, Any]   # id -> settings.Palette
    ramps: Mapping[str, Any]      # id -> settings.Ramp
    layers: Mapping[str, LayerStyle]
    basemap_groups: Mapping[str, tuple[str, str]] = None  # type: ignore[assignment]  # id -> (zh, en)

    def group_name(self, group: str) -> tuple[str, str]:
        """(zh, en) name of a basemap group."""
        return (self.basemap_groups or {}).get(group, (group, group))

    def layer(self, name: str) -> LayerStyle:
        """The style of layer ``name``.

        Raises
        ------
        DataFileError
            If the registry has no such layer.
        """
        if name not in self.layers:
            raise DataFileError(problem(f"样式表中没有图层 '{name}'。", f"The style registry has no layer '{name}'.",
                                        file=self.path, fix=f"use one of {sorted(self.layers)} or add "
                                                            f"[layers.{name}] to the file"))
        return self.layers[name]


def _dash(value: str) -> str:
    if value and not all(p.replace(".", "", 1).isdigit() for p in value.split()):
        raise ValueError(f"{value!r} must be numbers separated by spaces, e.g. \"4 3\" (虚线格式无效)")
    return value


class _LayerEntry(Sourced):
    zh: str
    en: str
    kind: Literal["polygon", "line", "point", "raster"]
    stroke: OptionalColour = "#333333"
    fill: OptionalColour = ""
    weight: float = Field(default=1.0, ge=0)
    dash: Annotated[str, AfterValidator(_dash)] = ""
    fill_opacity: float = Field(default=0.5, ge=0, le=1)
    opacity: float = Field(default=0.9, ge=0, le=1)
    radius: float = Field(default=5.0, ge=0)
    show: bool = True
    basemap: bool = False
    palette: str = ""
    ramp: str = ""
    column: str = ""
    group: str = ""


class LayerStyle(PositionalFields, _LayerEntry):
    """How one layer is drawn (``[layers.<id>]`` of ``styles.toml``).

    Attributes
    ----------
    id : str
        Catalog role (``river``) or result layer name (``projects``).
    zh, en : str
        Bilingual layer name.
    kind : {"polygon", "line", "point", "raster"}
    stroke, fill : str
        Outline / line colour and fill colour (``""`` = none), CSS hex.
    weight : float
        Line width [CSS px].
    dash : str
        SVG dash pattern, e.g. ``"4 3"`` (``""`` = solid).
    fill_opacity, opacity : float
        0–1.
    radius : float
        Point marker radius [px].
    show : bool
        Switched on when the map opens.
    basemap : bool
        Part of the offline basemap (drawn beneath the analysis layers).
    palette, ramp, column : str
        Classified layers: colour by ``column`` with this palette or ramp (``""`` = single style).
    group : str
        Basemap group (``[basemap_groups]``) switched on and off together.
    source : str
    """

    # The former dataclass' field order (PositionalFields); ``source`` was optional there.
    positional: ClassVar[tuple[str, ...]] = ("id", *(f for f in _LayerEntry.model_fields if f != "source"), "source")
    id: str
    source: str = ""

    @property
    def label(self) -> str:
        """``"中文 / English"``."""
        return f"{self.zh} / {self.en}"

    @property
    def colour(self) -> str:
        """The characteristic colour: the fill, else the stroke."""
        return self.fill or self.stroke


class _Group(DataModel):
    zh: str
    en: str


class _Groups(Sourced):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, _Group]  # group id -> bilingual name


class StylesFile(Sourced):
    """The structure of ``data/styles.toml``."""

    what: ClassVar[str] = "样式 / style registry"
    palettes: dict[str, PaletteEntry]
    ramps: dict[str, RampEntry]
    basemap_groups: _Groups
    layers: dict[str, _LayerEntry]

    @classmethod
    def document_problems(cls, doc: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
        def table(value: Any) -> Mapping[str, Any]:
            return value if isinstance(value, Mapping) else {}

        palettes, ramps, groups = (table(doc.get(k)) for k in ("palettes", "ramps", "basemap_groups"))
        out = sequential_ramp_problem(doc)
        for lid, spec in table(doc.get("layers")).items():
            for key, known, what in (("palette", palettes, "[palettes.*]"), ("ramp", ramps, "[ramps.*]"),
                                     ("group", groups, "[basemap_groups]")):
                ref = table(spec).get(key)
                if ref and (ref not in known or ref == "source"):
                    out.append((("layers", lid, key), f"{ref!r} is not in {what} (引用的表不存在)"))
        verdict = table(table(palettes.get("verdict")).get("classes"))
        if missing := [v for v in VERDICT_ORDER if v not in verdict]:
            out.append((("palettes", "verdict"), f"has no class for {missing} (判定配色不完整)"))
        return out


def load_styles(path: str | Path | None = None) -> StyleRegistry:
    """Read and validate a style registry (default: the packaged ``data/styles.toml``).

    Parameters
    ----------
    path : str or Path, optional
        A user file with the structure of ``data/styles.toml``; it replaces the packaged file as a whole.

    Returns
    -------
    StyleRegistry

    Raises
    ------
    DataFileError
        Listing every problem (unknown or missing key, bad colour, unknown palette/ramp/group, missing
        ``source``, a verdict without a colour), each with its key path.
    """
    file = Path(path) if path is not None else packaged_path(STYLES_FILE)
    label = str(path) if path is not None else PACKAGED_PREFIX + STYLES_FILE
    doc = validate_layers(StylesFile, [(label, load_toml(file))])
    layers = {lid: LayerStyle(id=lid, **e.model_dump()) for lid, e in doc.layers.items()}
    groups = {gid: (g.zh, g.en) for gid, g in (doc.basemap_groups.model_extra or {}).items()}
    return StyleRegistry(file, build_palettes(doc.palettes), build_ramps(doc.ramps), layers, groups)


@lru_cache(maxsize=1)
def styles() -> StyleRegistry:
    """The packaged style registry (read once)."""
    return load_styles()


def layer_style(name: str) -> LayerStyle:
    """Style of the layer ``name`` (a catalog role or a result layer) in the packaged registry."""
    return styles().layer(name)


def palette_colours(name: str) -> dict[str, str]:
    """Class value → colour of the palette ``name``, in legend order."""
    reg = styles()
    if name not in reg.palettes:
        raise DataFileError(problem(f"样式表中没有配色表 '{name}'。", f"The style registry has no palette '{name}'.",
                                    file=reg.path, fix=f"use one of {sorted(reg.palettes)}"))
    return {c.value: c.colour for c in reg.palettes[name].classes}


def palette_labels(name: str) -> dict[str, str]:
    """Class value → ``"中文 / English"`` label of the palette ``name``, in legend order."""
    palette_colours(name)  # raises for an unknown palette
    return {c.value: c.label for c in styles().palettes[name].classes}


def verdict_colours() -> dict[str, str]:
    """Verdict value → colour (Okabe–Ito), most severe first: the one verdict palette of every output."""
    return palette_colours("verdict")


def verdict_labels() -> dict[str, str]:
    """Verdict value → ``"禁止 / Prohibited"`` etc., most severe first."""
    return palette_labels("verdict")


def mpl_dashes(dash: str, weight: float = 1.0) -> Any:
    """An SVG dash pattern in px (``"4 3"``) as a matplotlib linestyle (``"-"`` when solid)."""
    parts = [float(p) for p in dash.split()]
    return (0, tuple(p / max(weight, 1e-9) for p in parts)) if parts else "-"


def mpl_style(name: str | LayerStyle, *, colour: str | None = None) -> dict[str, Any]:
    """matplotlib keyword arguments (``GeoDataFrame.plot``) drawing a layer as on the web map.

    Parameters
    ----------
    name : str or LayerStyle
        Layer id in the registry, or a style.
    colour : str, optional
        Fill (polygons, points) or line colour overriding the style's (e.g. a verdict colour).

    Returns
    -------
    dict
        ``facecolor``, ``edgecolor``, ``linewidth`` [pt], ``linestyle``, ``alpha`` for polygons;
        ``color``, ``linewidth``, ``linestyle`` for lines; ``color``, ``edgecolor``, ``markersize``
        for points.  CSS px are converted to points (1 px = 0.75 pt).
    """
    st = layer_style(name) if isinstance(name, str) else name
    px = 0.75  # 1 CSS px = 0.75 pt (CSS 2.1: 96 px per inch, 72 pt per inch)
    if st.kind == "line":
        return {"color": colour or st.stroke, "linewidth": st.weight * px, "linestyle": mpl_dashes(st.dash, st.weight),
                "alpha": st.opacity}
    if st.kind == "point":
        return {"color": colour or st.fill or st.stroke, "edgecolor": st.stroke, "linewidth": st.weight * px,
                "markersize": (2 * st.radius * px) ** 2}
    fill = colour or st.fill
    from matplotlib.colors import to_rgba

    return {"facecolor": to_rgba(fill, st.fill_opacity) if fill else "none", "edgecolor": st.stroke,
            "linewidth": st.weight * px, "linestyle": mpl_dashes(st.dash, st.weight)}
