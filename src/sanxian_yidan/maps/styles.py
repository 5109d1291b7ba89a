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
from typing import Any

from ..datafiles import load_toml, packaged_path
from ..errors import DataFileError, problem
from .palettes import SettingsReader, parse_palettes, parse_ramps

STYLES_FILE = "styles.toml"
#: Geometry kinds a layer style may have.
KINDS = ("polygon", "line", "point", "raster")
#: Verdict values in severity order (most severe first), as in the screening output.
VERDICT_ORDER = ("prohibited", "restricted", "needs_assessment", "outside_coverage", "notice", "compliant")


@dataclass(frozen=True)
class LayerStyle:
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

    id: str
    zh: str
    en: str
    kind: str
    stroke: str = "#333333"
    fill: str = ""
    weight: float = 1.0
    dash: str = ""
    fill_opacity: float = 0.5
    opacity: float = 0.9
    radius: float = 5.0
    show: bool = True
    basemap: bool = False
    palette: str = ""
    ramp: str = ""
    column: str = ""
    group: str = ""
    source: str = ""

    @property
    def label(self) -> str:
        """``"中文 / English"``."""
        return f"{self.zh} / {self.en}"

    @property
    def colour(self) -> str:
        """The characteristic colour: the fill, else the stroke."""
        return self.fill or self.stroke


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


def _parse_layers(r: Any, doc: dict[str, Any], palettes: Mapping[str, Any],
                  ramps: Mapping[str, Any]) -> dict[str, LayerStyle]:
    out: dict[str, LayerStyle] = {}
    for lid, spec in r.get(doc, "layers", dict, "styles.toml", {}).items():
        where = f"[layers.{lid}]"
        if not isinstance(spec, dict):
            r.problems.append(f"{where} must be a table")
            continue
        kind = r.get(spec, "kind", str, where, "polygon")
        if kind not in KINDS:
            r.problems.append(f"{where}.kind = {kind!r}; allowed: {list(KINDS)}")
        values: dict[str, Any] = {}
        for key in ("stroke", "fill"):
            if key in spec:
                values[key] = "" if spec[key] == "" else r.colour(spec, key, where)
        for key in ("weight", "fill_opacity", "opacity", "radius"):
            if key in spec:
                value = float(r.get(spec, key, (int, float), where, 0.0))
                if value < 0 or (key.endswith("opacity") and value > 1):
                    r.problems.append(f"{where}.{key} = {value} is out of range")
                values[key] = value
        for key in ("dash", "palette", "ramp", "column", "group"):
            if key in spec:
                values[key] = r.get(spec, key, str, where, "")
        for key in ("show", "basemap"):
            if key in spec:
                values[key] = r.get(spec, key, bool, where, False)
        if values.get("palette") and values["palette"] not in palettes:
            r.problems.append(f"{where}.palette = {values['palette']!r} is not a [palettes.*] table")
        if values.get("ramp") and values["ramp"] not in ramps:
            r.problems.append(f"{where}.ramp = {values['ramp']!r} is not a [ramps.*] table")
        if values.get("dash") and not all(p.replace(".", "", 1).isdigit() for p in values["dash"].split()):
            r.problems.append(f"{where}.dash = {values['dash']!r} must be numbers separated by spaces")
        out[lid] = LayerStyle(lid, r.get(spec, "zh", str, where, lid), r.get(spec, "en", str, where, lid), kind,
                              source=r.source(spec, where), **values)
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
        Listing every problem (missing key, bad colour, unknown palette/ramp, missing ``source``, a
        verdict without a colour).
    """
    file = Path(path) if path is not None else packaged_path(STYLES_FILE)
    doc = load_toml(file)
    r = SettingsReader(file)
    r.source(doc, "top level")
    palettes = parse_palettes(r, doc, "styles.toml")
    ramps = parse_ramps(r, doc, "styles.toml")
    groups: dict[str, tuple[str, str]] = {}
    gdoc = r.get(doc, "basemap_groups", dict, "styles.toml", {})
    r.source(gdoc, "[basemap_groups]")
    for gid, spec in gdoc.items():
        if gid != "source":
            groups[gid] = (r.get(spec, "zh", str, f"[basemap_groups.{gid}]", gid),
                           r.get(spec, "en", str, f"[basemap_groups.{gid}]", gid))
    layers = _parse_layers(r, doc, palettes, ramps)
    for lid, st in layers.items():
        if st.group and st.group not in groups:
            r.problems.append(f"[layers.{lid}].group = {st.group!r} is not in [basemap_groups]")
    verdict = palettes.get("verdict")
    missing = [v for v in VERDICT_ORDER if verdict is None or v not in {c.value for c in verdict.classes}]
    if missing:
        r.problems.append(f"[palettes.verdict] has no class for {missing}")
    if r.problems:
        raise DataFileError(problem(
            f"样式表有 {len(r.problems)} 处错误。",
            f"The style registry has {len(r.problems)} problem(s):\n  - " + "\n  - ".join(r.problems),
            file=file, fix="correct each entry listed; compare with the packaged sanxian_yidan/data/styles.toml"))
    return StyleRegistry(file, palettes, ramps, layers, groups)


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
    if not parts:
        return "-"
    return (0, tuple(p / max(weight, 1e-9) for p in parts))


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
