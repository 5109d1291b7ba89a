"""Map layers for analysis results: the bridge between results and :mod:`sanxian_yidan.maps`.

Each function turns one kind of result into :class:`~sanxian_yidan.maps.MapLayer` objects drawn the
way a review meeting reads them — the look of each layer comes from the style registry
(``data/styles.toml``: verdicts in the Okabe–Ito palette, scores and capacities on ramps, context
layers in their role colours) — with popups that list the figures and their sources and show codes
as Chinese / English labels.  ``sanxian screen --map``, ``sanxian map`` and the studies all use them,
so a layer looks the same on every map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import geopandas as gpd
import numpy as np

from .errors import SanxianError
from .maps import MapLayer
from .maps.raster import RasterLayer
from .maps.styles import layer_style, palette_labels
from .roles import MapUse, context_roles, role_vocabulary
from .schemas import view_columns

if TYPE_CHECKING:
    import pandas as pd

    from .catalog import Catalog

_CONTEXT_POPUP = ("code", "name", "category", "level", "voltage_kv", "capacity_mva", "county", "area_ha",
                  "list_space", "list_pollution", "list_risk", "list_resource", "synthetic", "source")


# What the layer builders read from each result (named by their members: the result modules import this one).
class ScreeningTables(Protocol):
    """A :class:`~sanxian_yidan.screening.ScreeningResult`: the projects, their findings and overlap pieces."""

    @property
    def projects(self) -> gpd.GeoDataFrame: ...
    @property
    def findings(self) -> pd.DataFrame: ...
    @property
    def overlaps(self) -> gpd.GeoDataFrame: ...


class BuildingTable(Protocol):
    """A :class:`~sanxian_yidan.rooftop.RooftopResult`: one row per building."""

    @property
    def buildings(self) -> gpd.GeoDataFrame: ...


class SiteTables(Protocol):
    """A :class:`~sanxian_yidan.brownfield.BrownfieldResult`: the net sites and the excluded parts."""

    @property
    def sites(self) -> gpd.GeoDataFrame: ...
    @property
    def excluded(self) -> gpd.GeoDataFrame: ...


def _layer(gdf: gpd.GeoDataFrame, look: str, popup: Sequence[str], **kw: Any) -> MapLayer:
    """A result layer named and drawn as its ``look`` in the style registry; popup columns it lacks are
    left out (optional ones such as rule_ids may be absent)."""
    style = layer_style(look)
    return MapLayer(gdf, kw.pop("name_zh", style.zh), kw.pop("name_en", style.en),
                    popup=[c for c in popup if c in gdf.columns], look=look, **kw)


def _in_region(gdf: gpd.GeoDataFrame, region: Any) -> gpd.GeoDataFrame:
    """Features intersecting ``region`` (a shapely geometry in the working CRS), via the spatial index."""
    if region is None or len(gdf) == 0:
        return gdf
    from .crs import WORKING_CRS

    area = gpd.GeoSeries([region], crs=WORKING_CRS).to_crs(gdf.crs).iloc[0]
    hits = gdf.sindex.query(area, predicate="intersects")
    return gdf.iloc[np.sort(hits)]


def context_layers(catalog: Catalog, roles: Sequence[str] | None = None) -> list[MapLayer]:
    """Context layers the findings depend on (zoning, farmland, water sources, reserves, grid …), each in
    the look its role declares and switched off when the map opens unless the role says otherwise.

    Parameters
    ----------
    catalog : Catalog
        Layers are drawn for the roles it has.
    roles : sequence of str, optional
        Roles to draw; default the roles flagged ``map.context`` in ``data/roles.toml``
        (:func:`sanxian_yidan.roles.context_roles`), in their drawing order.

    For a region view (``Catalog.restricted_to``) only the features intersecting the region are drawn
    and counted, so a county's legend shows the county's numbers.
    """
    vocab = role_vocabulary()
    region = getattr(catalog, "region", None)
    layers = []
    for role in context_roles() if roles is None else roles:
        if not catalog.has(role):
            continue
        use = vocab[role].map if role in vocab else MapUse()
        gdf = _in_region(catalog.read(role), region)
        synthetic = any(e.synthetic for e in catalog.entries_for(role)) or None
        tooltip = "name" if "name" in gdf.columns else ("code" if "code" in gdf.columns else "")
        # a role drawn in another role's look keeps its own name in the legend
        names = ({"name_zh": vocab[role].zh, "name_en": vocab[role].en}
                 if use.style and use.style != role and role in vocab else {})
        layers.append(_layer(gdf, use.style or role, _CONTEXT_POPUP, tooltip=tooltip, synthetic=synthetic, show=use.show,
                             value_labels={col: palette_labels(pal) for col, pal in use.labels} or None, **names))
    return layers


def __getattr__(name: str) -> Any:
    # CONTEXT_ROLES was a tuple here; the roles now declare it (data/roles.toml)
    if name == "CONTEXT_ROLES":
        return context_roles()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def finding_lines(result: ScreeningTables) -> list[list[str]]:
    """Per project (in ``result.projects`` order), one line per finding: rule, severity, message, source."""
    f = result.findings
    f = f[f["kind"] != "note"] if "kind" in f.columns else f
    severity = f["severity"].astype(str).map(lambda v: palette_labels("severity").get(v, v))
    lines = (f["rule_id"].astype(str) + " [" + severity + "] " + f["message_zh"].astype(str)
             + " / " + f["message_en"].astype(str) + " — 依据 source: " + f["rule_source"].astype(str))
    grouped = lines.groupby(f["project_id"].to_numpy()).agg(list)
    return [grouped.get(pid, []) for pid in result.projects["project_id"]]


def screening_layers(result: ScreeningTables) -> list[MapLayer]:
    """Project footprints coloured by verdict, with a verdict-coloured marker and the project id at county
    zoom (popups list every finding with its source), and the overlap pieces (hidden)."""
    projects = result.projects.assign(findings=finding_lines(result))
    layers = [_layer(projects, "projects", view_columns("popup_projects", projects), tooltip="project_name",
                     markers="project_id", value_labels={"verdict": palette_labels("verdict")})]
    if len(result.overlaps):
        layers.insert(0, _layer(result.overlaps, "overlap_pieces",
                                ["project_id", "role", "feature_code", "feature_name", "overlap_area_m2",
                                 "overlap_share"], tooltip="feature_name", value_labels={"role": _role_labels()}))
    return layers


def _role_labels() -> dict[str, str]:
    from .maps.styles import styles

    return {k: v.label for k, v in styles().layers.items()}


def _rooftop_use_labels() -> dict[str, str]:
    try:
        from .rooftop.params import load_params

        return {k: f"{c.zh} / {c.en}" for k, c in load_params().categories.items()}
    except (SanxianError, AttributeError):  # labels are a convenience: codes stay readable without them
        return {}


def rooftop_layers(result: BuildingTable) -> list[MapLayer]:
    """Buildings by installable capacity (hidden by default: many features)."""
    return [_layer(result.buildings, "rooftops", view_columns("popup_rooftops", result.buildings),
                   tooltip="use_category", value_labels={"use_category": _rooftop_use_labels()})]


def brownfield_layers(result: SiteTables) -> list[MapLayer]:
    """Net developable areas by score, and the excluded parts (hidden).  The popup says what k of
    "top k" is (``[mcda] top_k`` of the brownfield parameters)."""
    sites = result.sites[~result.sites.geometry.is_empty]
    k = getattr(getattr(getattr(result, "params", None), "mcda", None), "top_k", None)
    labels = {"p_top_k": f"权重扰动下保持前 {k} 名的概率 / Probability of staying in the top {k} when the weights "
                         f"vary"} if k else None
    layers = [_layer(sites, "brownfield_sites", view_columns("popup_brownfield_sites", sites), tooltip="name",
                     markers=None, popup_labels=labels)]
    if len(result.excluded):
        layers.insert(0, _layer(result.excluded, "excluded_parts", view_columns("popup_excluded_parts", result.excluded),
                                tooltip="reason_zh"))
    return layers


def _mine_mode_labels() -> dict[str, str]:
    try:
        from .datafiles import load_toml, packaged_path

        return {m["id"]: f"{m['zh']} / {m['en']}" for m in load_toml(packaged_path("mines.toml")).get("modes", [])}
    except (SanxianError, KeyError, TypeError):  # labels are a convenience: codes stay readable without them
        return {}


def mine_layers(result: object) -> list[Any]:
    """Mine sites by rehabilitation priority, and the 三区两线 viewshed the visibility criterion used
    (both hidden by default).  ``result``: a mines result (``.mines``, ``.visibility``) or a mine table."""
    raster = viewshed_layer(result)
    mines = getattr(result, "mines", result)
    return ([] if raster is None else [raster]) + [_layer(mines, "mines", view_columns("popup_mines", mines),
                                                          tooltip="name", value_labels={"mode": _mine_mode_labels()})]


def viewshed_layer(result: object) -> RasterLayer | None:
    """The visibility raster kept with a mines result (``.visibility``), as an image layer in the
    registry's ``viewshed`` style; ``None`` if the result carries none (a bare mine table carries none)."""
    vis = getattr(result, "visibility", None)
    if vis is None or getattr(vis, "visible", None) is None:
        return None
    data = np.asarray(vis.visible, dtype="float64")
    elevation = getattr(vis.dem, "elevation", None)
    if elevation is not None and elevation.shape == data.shape:
        data = np.where(np.isfinite(elevation), data, np.nan)
    style = layer_style("viewshed")
    return RasterLayer(data, vis.dem.transform, vis.dem.crs, style.zh, style.en, mode="classes", look="viewshed",
                       synthetic=bool(getattr(vis, "synthetic", False)))


def labels_for(columns: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
    """Code → label tables for result columns found in ``columns`` (used by ``sanxian map`` for files)."""
    tables = {"verdict": lambda: palette_labels("verdict"), "severity": lambda: palette_labels("severity"),
              "mode": _mine_mode_labels, "use_category": _rooftop_use_labels, "role": _role_labels}
    return {column: labels() for column, labels in tables.items() if column in columns}


#: GeoPackage layer names the toolkit writes → style registry look (and marker column).
RESULT_FILE_LAYERS = {"projects": ("projects", "project_id"), "overlaps": ("overlap_pieces", None),
                      "rooftops": ("rooftops", None), "sites": ("brownfield_sites", None),
                      "excluded": ("excluded_parts", None), "mines": ("mines", None)}


def decorate_file_layers(layers: list[Any], column: str | None = None) -> list[Any]:
    """Give layers read from the toolkit's result files (``sanxian map``) the look, names, markers and
    code labels they have on the study map; other layers only get code labels.  ``column`` (the user's
    ``--column``) keeps its own style."""
    out = []
    for layer in layers:
        if not isinstance(layer, MapLayer):
            out.append(layer)
            continue
        columns = list(layer.gdf.columns)
        layer.value_labels = labels_for(columns)
        known = RESULT_FILE_LAYERS.get(str(layer.gdf.attrs.get("sanxian_layer", "")))
        if known is not None:
            look, marker = known
            style = layer_style(look)
            layer.look = look
            layer.name_zh, layer.name_en = style.zh, style.en
            if column is None or column not in columns:
                layer.style = None
            if marker and marker in columns:
                layer.markers = marker
        elif column is None and (found := next((c for c in ("verdict", "severity") if c in columns), None)):
            from .maps import CategoryStyle

            layer.style = CategoryStyle(found, palette=found)  # any table with verdicts: the verdict colours
        out.append(layer)
    return out


def style_result_gpkg(path: Any, tables: Mapping[str, Any] | None = None) -> None:
    """Write the default QGIS style (``layer_styles``) of every result layer of a GeoPackage the toolkit
    wrote, from the style registry, so it opens in QGIS looking like the meeting map.  Layers that are not
    result layers (tables, unknown names) are left unstyled.

    ``tables`` maps a layer name to the table just written as that layer: a graduated style takes its
    column from there instead of reading it back from the file (the same values).
    """
    import sqlite3
    from contextlib import closing

    from .maps.qgis import write_layer_styles

    with closing(sqlite3.connect(path)) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM gpkg_geometry_columns")]
    for name in names:
        if name in RESULT_FILE_LAYERS:
            style = RESULT_FILE_LAYERS[name][0]
            column = layer_style(style).column
            table = (tables or {}).get(name)
            values = table[column].to_numpy() if table is not None and column in getattr(table, "columns", ()) else None
            write_layer_styles(path, name, style, values=values)
