"""Static map figures (PNG) for the screening sheet (研判单) and the study report.

Every layer is drawn with the style registry (:mod:`sanxian_yidan.maps.styles`), so a printed figure
looks like the interactive map: the same verdict colours (Okabe–Ito), the same farmland tint, the same
dashed red line.  Figures are drawn with matplotlib's Agg backend in the working CRS (metres), with a
scale bar, a legend and the bundled CJK font; they carry no timestamp, so the same data give the same
PNG bytes.  Layer lists, margins and sizes live in ``data/figures.toml``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from .charts import cjk_font, png_bytes
from .datafiles import load_model
from .params import AsTuple, PositionalFields, Sourced, python_only

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from .catalog import Catalog

__all__ = ["FigureLayer", "FigureSettings", "SheetText", "catalog_context", "figure_settings", "map_png",
           "padded_bounds", "sheet_text_limits", "zoomed_bounds"]

FIGURES_FILE = "figures.toml"


#: The source of a :class:`FigureSettings` built the former way, without one (the dataclass had no ``source``).
FORMER_SOURCE = "not given (settings built in Python without a source) / 未注明来源"


class FigureSettings(PositionalFields, Sourced):
    """One ``[sheet]`` / ``[study]`` table of ``figures.toml`` (validated: types, ranges, legend place).

    Attributes
    ----------
    context_roles : tuple of str
        Catalog roles drawn beneath the results, bottom to top.
    margin_share, min_margin_m : float
        Margin around the focus: ``margin_share`` × its larger side [-], at least ``min_margin_m`` [m].
    width_in, height_in : float
        Figure size [inch].
    dpi : int
        Resolution [dots per inch].
    region_margin_share : float or None
        Optional outer limit of the extent: the study region plus this share of its larger side [-]
        (``None``: no limit).
    legend : {"right", "below"}
        Where the legend goes: right of the map, or below it (a narrow, tall figure that sits beside
        text on an A4 sheet).
    legend_font_pt : float
        Legend font size [pt].
    source : str
        Where the sizes and margins come from.
    """

    # The former dataclass' field order (PositionalFields); it had no ``source`` (see ``__init__``).
    positional: ClassVar[tuple[str, ...]] = ("context_roles", "margin_share", "min_margin_m", "width_in", "height_in",
                                             "dpi", "region_margin_share", "legend", "legend_font_pt", "source")
    context_roles: Annotated[tuple[str, ...], AsTuple]
    margin_share: float = Field(ge=0)
    min_margin_m: float = Field(ge=0)
    width_in: float = Field(gt=0)
    height_in: float = Field(gt=0)
    dpi: int = Field(ge=30)
    region_margin_share: float | None = Field(default=None, ge=0)
    legend: Literal["right", "below"] = "right"
    legend_font_pt: float = Field(default=7.0, ge=4)

    @python_only  # a table of the file without a source stays an error
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "source" not in kwargs and len(args) < len(self.positional):
            warnings.warn(f"FigureSettings: 缺少来源已弃用 / settings without source= are deprecated and will be "
                          f"refused in the next release; give source= (where the sizes and margins come from); "
                          f"source is {FORMER_SOURCE!r} until then", DeprecationWarning, stacklevel=2)
            kwargs["source"] = FORMER_SOURCE
        super().__init__(*args, **kwargs)


class SheetText(Sourced):
    """``[sheet_text]``: how much long text the one-page screening sheet prints (characters, counts)."""

    access_list_field_chars: int = Field(ge=1)
    access_list_units: int = Field(ge=1)
    findings: int = Field(ge=1)
    finding_source_chars: int = Field(ge=1)


class FiguresFile(Sourced):
    """The structure of ``data/figures.toml``."""

    what: ClassVar[str] = "静态地图 / figure"
    sheet: FigureSettings
    study: FigureSettings
    sheet_text: SheetText


@lru_cache(maxsize=4)
def figure_settings(kind: str) -> FigureSettings:
    """The validated ``[kind]`` table (``"sheet"`` or ``"study"``) of the packaged ``figures.toml``.

    Raises
    ------
    DataFileError
        If a table or a key is missing, unknown, or has the wrong type or range.
    """
    return getattr(load_model(FiguresFile, FIGURES_FILE), kind)


@lru_cache(maxsize=1)
def sheet_text_limits() -> SheetText:
    """The validated ``[sheet_text]`` table of the packaged ``figures.toml`` (text limits of the sheet).

    Raises
    ------
    DataFileError
        If the table or a key is missing, unknown, or not a positive integer.
    """
    return load_model(FiguresFile, FIGURES_FILE).sheet_text


@dataclass
class FigureLayer:
    """A layer of a figure.

    Attributes
    ----------
    gdf : GeoDataFrame
        Features in the figure's CRS.
    style : str
        Layer id in the style registry (``basic_farmland``, ``projects``, ...).
    column : str, optional
        Colour by this column with the style's palette or ramp (``None`` = the style's single look).
    label : str, optional
        Legend text (default: the style's ``中文 / English`` name).
    colour : str, optional
        Override of the fill / line colour (e.g. one verdict colour).
    legend : bool
        Whether the layer appears in the legend.
    markers : bool
        Also mark each feature with a dot at a representative point, so features too small for the
        figure's scale stay visible.
    extra : dict
        Further keyword arguments of ``GeoDataFrame.plot``.
    """

    gdf: Any
    style: str
    column: str | None = None
    label: str | None = None
    colour: str | None = None
    legend: bool = True
    markers: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def catalog_context(catalog: Catalog, roles: Sequence[str], bounds: Sequence[float] | None = None,
                    *, cache: dict[str, Any] | None = None) -> list[FigureLayer]:
    """Context layers of ``catalog`` for the ``roles`` it has, clipped to ``bounds`` (box in the working CRS).

    ``cache`` (role → frame) avoids reading a layer again for the next figure.
    """
    from .maps.styles import styles

    known = styles().layers
    cache = {} if cache is None else cache
    out = []
    for role in roles:
        if role not in known or not catalog.has(role) or any(e.is_raster for e in catalog.entries_for(role)):
            continue
        if role not in cache:
            cache[role] = catalog.read(role)
        gdf = cache[role]
        if bounds is not None and len(gdf):
            gdf = gdf.cx[bounds[0]:bounds[2], bounds[1]:bounds[3]]
        if len(gdf):
            column = known[role].column
            out.append(FigureLayer(gdf, role, column=column if column and column in gdf.columns else None))
    return out


def _ramp_colours(values: Any, ramp_colours: Sequence[str], reverse: bool) -> tuple[list[Any], float, float]:
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    cmap = LinearSegmentedColormap.from_list("ramp", list(ramp_colours)[::-1] if reverse else list(ramp_colours))
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    norm = Normalize(lo, hi if hi > lo else lo + 1)
    return [cmap(norm(x)) if np.isfinite(x) else (0.8, 0.8, 0.8, 1.0) for x in v], lo, hi


def _draw(ax: Any, layer: FigureLayer, handles: list[Any]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .maps.styles import mpl_style, palette_colours, palette_labels, styles

    reg = styles()
    st = reg.layer(layer.style)
    gdf = layer.gdf[~layer.gdf.geometry.is_empty & layer.gdf.geometry.notna()]
    if not len(gdf):
        return
    label = layer.label or f"{st.zh} / {st.en}"
    kw = mpl_style(st, colour=layer.colour)
    column = layer.column if layer.column and layer.column in gdf.columns else None
    fill: list[Any] | None = None
    if column and st.palette:
        colours, labels = palette_colours(st.palette), palette_labels(st.palette)
        keys = gdf[column].astype(str)
        fill = [colours.get(k, st.fill or "#999999") for k in keys]
        legend = [_handle(st.kind, kw, colours[k], labels[k] if st.palette == "verdict" else f"{st.zh} {labels[k]}")
                  for k in colours if (keys == k).any()]
    elif column and st.ramp:
        ramp = reg.ramps[st.ramp]
        fill, lo, hi = _ramp_colours(gdf[column], ramp.colours, ramp.reverse)
        legend = [_handle(st.kind, kw, ramp.colours[0], f"{label}: {_number(lo)}"),
                  _handle(st.kind, kw, ramp.colours[-1], f"{label}: {_number(hi)}")]
    else:
        legend = [Line2D([], [], color=kw["color"], linewidth=kw["linewidth"], linestyle=kw["linestyle"], label=label)
                  if st.kind == "line" else Patch(facecolor=kw.get("facecolor", kw.get("color")),
                                                  edgecolor=kw.get("edgecolor"), linestyle=kw.get("linestyle", "-"),
                                                  label=label)]
    _plot(ax, gdf, st.kind, kw, fill, layer.extra)
    if layer.markers:
        _markers(ax, gdf, fill or [kw.get("facecolor", kw.get("color"))] * len(gdf), kw)
    if layer.legend:
        handles += legend


def _number(value: float) -> str:
    """A legend number: thousands separated, three significant digits below 100, never scientific."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 1e-3 else "0"


def _markers(ax: Any, gdf: gpd.GeoDataFrame, colours: list[Any], kw: dict[str, Any]) -> None:
    from matplotlib.colors import to_rgba

    points = gdf.geometry.representative_point()
    ax.scatter(points.x, points.y, s=22, c=[to_rgba(c, 1.0) for c in colours], edgecolors="#1a1a1a",
               linewidths=0.6, zorder=5)


def _handle(kind: str, kw: dict[str, Any], colour: str, label: str) -> Any:
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if kind == "line":
        return Line2D([], [], color=colour, linewidth=kw["linewidth"], label=label)
    alpha = to_rgba(kw["facecolor"])[3] if kw.get("facecolor") not in (None, "none") else 1.0
    return Patch(facecolor=to_rgba(colour, alpha), edgecolor=kw.get("edgecolor", colour), label=label)


def _plot(ax: Any, gdf: gpd.GeoDataFrame, kind: str, kw: dict[str, Any], colours: list[Any] | None,
          extra: dict[str, Any]) -> None:
    from matplotlib.colors import to_rgba

    geom_types = set(gdf.geom_type)
    if kind == "line" or geom_types <= {"LineString", "MultiLineString"}:
        color = colours if colours is not None else kw.get("color", kw.get("edgecolor"))
        gdf.plot(ax=ax, color=color, linewidth=kw["linewidth"], linestyle=kw.get("linestyle", "-"), **extra)
    elif kind == "point" or geom_types <= {"Point", "MultiPoint"}:
        color = colours if colours is not None else kw.get("color", kw.get("facecolor"))
        gdf.plot(ax=ax, color=color, edgecolor=kw.get("edgecolor", "#333333"), markersize=40, **extra)
    else:
        face = kw["facecolor"]
        if colours is not None:
            alpha = to_rgba(face)[3] if face != "none" else 1.0
            face = [to_rgba(c, alpha) for c in colours]
        gdf.plot(ax=ax, facecolor=face, edgecolor=kw["edgecolor"], linewidth=kw["linewidth"],
                 linestyle=kw["linestyle"], **extra)


def _scale_bar(ax: Any, bounds: Sequence[float]) -> None:
    width = bounds[2] - bounds[0]
    target = width / 5
    exp = 10 ** np.floor(np.log10(max(target, 1e-9)))
    length = max(n * exp for n in (1, 2, 5) if n * exp <= target) if target >= exp else exp
    x0 = bounds[0] + 0.04 * width
    y0 = bounds[1] + 0.05 * (bounds[3] - bounds[1])
    ax.plot([x0, x0 + length], [y0, y0], color="#000000", linewidth=3, solid_capstyle="butt")
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + 0.015 * (bounds[3] - bounds[1]), text, ha="center", va="bottom", fontsize=8)


def map_png(layers: Sequence[FigureLayer], bounds: Sequence[float], *, title: str = "",
            settings: FigureSettings, note: str = "") -> bytes:
    """Draw ``layers`` (bottom to top) within ``bounds`` and return PNG bytes.

    Parameters
    ----------
    layers : sequence of FigureLayer
        Bottom layer first.
    bounds : (minx, miny, maxx, maxy)
        Extent in the layers' CRS [m]; widened to the figure's aspect ratio.
    title : str
        Figure title (bilingual recommended).
    settings : FigureSettings
        Size and resolution.
    note : str
        Small text at the bottom (e.g. "合成示例数据 / synthetic sample data").
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font()
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    with plt.rc_context({"font.family": family, "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(settings.width_in, settings.height_in))
        if settings.legend == "below":  # the map takes the whole width; bbox_inches="tight" adds the legend
            fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99 if not title else 0.93)
        else:
            fig.subplots_adjust(left=0.01, right=0.70, bottom=0.02, top=0.93)  # legend to the right of the map
        pos = ax.get_position()
        aspect = (pos.width * settings.width_in) / (pos.height * settings.height_in)
        w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
        if w / h < aspect:
            cx = (minx + maxx) / 2
            minx, maxx = cx - h * aspect / 2, cx + h * aspect / 2
        else:
            cy = (miny + maxy) / 2
            miny, maxy = cy - w / aspect / 2, cy + w / aspect / 2
        handles: list[Any] = []
        for layer in layers:
            _draw(ax, layer, handles)
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
        ax.set_aspect("equal", adjustable="box")
        ax.set(xlabel="", ylabel="", xticks=[], yticks=[])
        for spine in ax.spines.values():
            spine.set_color("#90a4ae")
        _scale_bar(ax, (minx, miny, maxx, maxy))
        ax.annotate("N", xy=(0.96, 0.93), xytext=(0.96, 0.83), xycoords="axes fraction", ha="center",
                    arrowprops={"arrowstyle": "-|>", "color": "#000000"}, fontsize=9)
        if title:
            ax.set_title(title, fontsize=10)
        if handles and settings.legend == "below":
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=1,
                      fontsize=settings.legend_font_pt, frameon=False, borderaxespad=0.2, handlelength=1.6,
                      labelspacing=0.25)
        elif handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                      fontsize=settings.legend_font_pt, frameon=False)
        if note and settings.legend == "below":  # inside the frame, top left: the legend is below
            ax.text(0.01, 0.99, note, transform=ax.transAxes, fontsize=settings.legend_font_pt, color="#b71c1c",
                    va="top", ha="left", bbox={"facecolor": "#ffffff", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        elif note:
            fig.text(0.01, -0.01, note, fontsize=7, color="#b71c1c", va="top")
        return png_bytes(fig, settings.dpi)


def padded_bounds(geoms: gpd.GeoSeries | gpd.GeoDataFrame, settings: FigureSettings) -> tuple[float, float, float, float]:
    """Bounds of ``geoms`` (GeoSeries / GeoDataFrame) plus the settings' margin on every side [m]."""
    minx, miny, maxx, maxy = (float(v) for v in geoms.total_bounds)
    margin = max(settings.margin_share * max(maxx - minx, maxy - miny), settings.min_margin_m)
    return minx - margin, miny - margin, maxx + margin, maxy + margin


def zoomed_bounds(results: gpd.GeoSeries, region: gpd.GeoSeries | None, settings: FigureSettings
                  ) -> tuple[float, float, float, float]:
    """Extent of an analysis figure: the results' bounds with the settings' margin, kept within the
    region's bounds plus ``region_margin_share`` of its larger side [m].

    Parameters
    ----------
    results : GeoSeries
        Geometries of the results drawn (projects, sites, mines) in the working CRS.
    region : GeoSeries or None
        The study region (townships or counties); ``None`` or empty: no outer limit.
    """
    inner = padded_bounds(results, settings)
    if region is None or not len(region) or settings.region_margin_share is None:
        return inner
    rminx, rminy, rmaxx, rmaxy = (float(v) for v in region.total_bounds)
    m = settings.region_margin_share * max(rmaxx - rminx, rmaxy - rminy)
    outer = (rminx - m, rminy - m, rmaxx + m, rmaxy + m)
    box = (max(inner[0], outer[0]), max(inner[1], outer[1]), min(inner[2], outer[2]), min(inner[3], outer[3]))
    return box if box[0] < box[2] and box[1] < box[3] else inner
