"""Mine rehabilitation priorities (三区两线) and the recommended rehabilitation mode per mine.

Serves clause (九) of Suizhou's pollution-and-carbon synergy plan — "以矿山生态修复为重点……加快'三区两线'
矿山复绿，在随县吴山镇、万和镇石材矿山重点区域实施一批生态修复示范项目。坚持以自然恢复为主" — and (十二)
("积极开展废弃矿山生态修复……探索利用废弃矿山……规划建设光伏发电").

For each mine site (catalog role ``mine_site``):

* **两线** — the share of the mine visible from main roads, railways and rivers within the viewing
  distance (DEM line-of-sight, :func:`sanxian_yidan.terrain.visibility_from_lines`, computed once
  for all lines over the whole DEM); the visibility raster itself is kept with the result
  (:class:`VisibilityRaster`) and written as ``visibility.tif`` by :meth:`MinesResult.write`;
* **三区** — distance to nature reserves, scenic areas and built-up / residential areas;
* overlap with ecological function areas, with the red line / nature reserves; size; slope;
* the brownfield PV pre-screen (net area after hard exclusions, grid distance, slope);
* a **priority** score (weighted criteria of ``data/mines.toml``), its rank among the mines that
  are a public rehabilitation task, and the Monte-Carlo ``p_top_k``;
* a recommended **mode** — natural recovery 自然恢复, regreening 复绿, PV combined with restoration
  光伏+修复 (or restoration by the operator for operating mines) — from ordered rules in the data
  file, each with its source.

References
----------
.. [1] 随州市减污降碳协同增效实施方案, clauses (九), (十二).
.. [2] 自然资办发〔2023〕12号 (land PV arrays may not use).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field
from shapely import STRtree

from . import brownfield as bf
from . import rules
from .analysis import (
    Analysis,
    LayerRecord,
    Note,
    OutputFile,
    ParamRecord,
    Provenance,
    ReportChart,
    ReportColumn,
    ReportSection,
    ReportTable,
    Result,
    common_data_files,
    data_file_hashes,
    frame_layer_records,
    merge_layer_records,
    parameter_files,
    register,
    summary_frame,
    tracked_layer_records,
)
from .brownfield import Condition
from .brownfield import params as bf_params
from .datafiles import packaged_path
from .errors import EmptyLayerError, SanxianError, problem
from .geomutil import nearest_features, polygonal_parts
from .params import AsTuple, Former, FormerAttributes, Keyed, KeyedTable, PositionalFields, Sourced
from .progress import Progress, report_step
from .provenance import TrackedCatalog, display_path
from .schemas import assemble, schema
from .siteengine import (
    TERRAIN_COLUMNS,
    area_names,
    canonical_order,
    column_names,
    cut_exclusions,
    distance_text,
    edge_limited,
    edge_table,
    evaluate_condition,
    exclusion_layers,
    grouped_union,
    layer_distance,
    mcda_param_records,
    prescreen,
    resolve_dem,
    score_and_rank,
    search_radius_m,
    site_frame,
    site_synthetic_layers,
    sort_by_rank,
    substation_distances,
    synthetic_note,
    terrain_table,
)

if TYPE_CHECKING:
    from .catalog import Catalog
    from .provenance import CatalogLike
    from .terrain import Dem

DATA_FILE = "mines.toml"
#: Number of progress steps :func:`mine_priorities` reports (for progress bars).
PRIORITY_STEPS = 7
#: Visibility settings that ``[visibility]`` of data/mines.toml may set (else data/terrain.toml's apply).
VISIBILITY_KEYS = ("max_distance_m", "spacing_m", "eye_height_m", "target_height_m")
#: Cell value of visibility.tif outside the DEM (GeoTIFF nodata; 0 and 1 are data).
VISIBILITY_NODATA = 255


# =============================================================================================
# Parameters
# =============================================================================================
class _Visibility(Sourced):
    window_margin_m: float = Field(ge=0)
    # optional: without them the settings of data/terrain.toml [visibility] apply (with their sources)
    max_distance_m: float | None = Field(default=None, ge=0)
    spacing_m: float | None = Field(default=None, ge=0)
    eye_height_m: float | None = Field(default=None, ge=0)
    target_height_m: float | None = Field(default=None, ge=0)


class LineSource(PositionalFields, Sourced):
    """``[[lines]]``: line features (两线) of ``role``, optionally only those whose ``field`` is in ``values``."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("role", "field", "values", "source")

    role: str
    field: str | None = None
    values: bf_params.Values = ()


class Zone(PositionalFields, bf_params.DefaultLabels, Sourced):
    """``[[zones]]``: a 三区 zone, features of ``roles``; a mine within ``influence_m`` is "around" it."""

    # The former dataclass' field order (PositionalFields); the names default to the id.
    positional: ClassVar[tuple[str, ...]] = ("id", "roles", "zh", "en", "influence_m", "source")
    defaults: ClassVar[dict[str, str]] = {"zh": "id", "en": "id"}

    id: str
    roles: bf_params.Roles
    zh: str = ""
    en: str = ""
    influence_m: float = Field(ge=0)


class Overlap(Keyed, Sourced):
    """``[overlaps.<column>]``: the share of each mine's area inside the union of ``roles`` fills ``column``."""

    roles: bf_params.Roles

    @property
    def column(self) -> str:
        """The result column the share fills: the entry's key in ``[overlaps]``."""
        return self.id


class MineStatus(PositionalFields, Sourced):
    """``[[status]]``: eligibility (public rehabilitation task, ranked) of mines whose ``field`` is in ``values``."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("field", "values", "eligible", "reason_zh", "reason_en", "source")

    field: str
    values: bf_params.Values
    eligible: bool = True
    reason_zh: str = ""
    reason_en: str = ""


class ModeRule(PositionalFields, bf_params.DefaultLabels, Sourced):
    """``[[modes]]``: recommended mode ``id`` when every condition of ``when`` holds (first matching rule wins)."""

    # The former dataclass' field order (PositionalFields); the names default to the id.
    positional: ClassVar[tuple[str, ...]] = ("id", "zh", "en", "when", "source")
    defaults: ClassVar[dict[str, str]] = {"zh": "id", "en": "id"}

    id: str
    zh: str = ""
    en: str = ""
    when: Annotated[tuple[Condition, ...], AsTuple] = ()


class FocusArea(PositionalFields, Sourced):
    """``[[focus_areas]]``: a township reported separately (e.g. 吴山镇, 万和镇 of clause (九))."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("township", "aliases", "source")

    township: str
    aliases: bf_params.Values = ()

    def matches(self, name: str) -> bool:
        """True if ``name`` is this township or one of its aliases."""
        return name.strip() in {self.township, *self.aliases}


class MinesFile(FormerAttributes, bf_params.McdaFile):
    """All parameters of the mine ranking: ``data/mines.toml`` validated (build with :func:`load_params`).

    ``visibility_table``, ``overlap_table`` and ``mcda_table`` are ``[visibility]``, ``[overlaps]`` and
    ``[mcda]``; ``visibility``, ``overlaps`` and ``mcda`` keep their former records (the visibility settings
    given, the :class:`Overlap` entries with their column, the :class:`~sanxian_yidan.brownfield.McdaSpec`).
    """

    what: ClassVar[str] = "矿山修复 / mine rehabilitation"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "window_margin_m": "visibility_table.window_margin_m",
        "visibility_source": "visibility_table.source",
        "files": ("loaded_from", lambda p: tuple(p._files)),
    }
    visibility_table: _Visibility = Field(alias="visibility")
    lines: Annotated[tuple[LineSource, ...], AsTuple] = Field(min_length=1)
    zones: Annotated[tuple[Zone, ...], AsTuple] = ()
    overlap_table: Annotated[dict[str, Overlap], KeyedTable] = Field(default={}, alias="overlaps")
    status: Annotated[tuple[MineStatus, ...], AsTuple] = ()
    modes: Annotated[tuple[ModeRule, ...], AsTuple] = Field(min_length=1)
    focus_areas: Annotated[tuple[FocusArea, ...], AsTuple] = ()

    @classmethod
    def document_problems(cls, doc: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
        modes = doc.get("modes")
        if isinstance(modes, list) and modes and isinstance(modes[-1], Mapping) and modes[-1].get("when"):
            return [(("modes", len(modes) - 1, "when"), "the last mode rule must have `when = []` (the default), "
                                                         "so every mine gets a mode (最后一条须为默认规则)")]
        return []

    @property
    def visibility(self) -> dict[str, float]:
        """The visibility settings ``[visibility]`` (``visibility_table``) sets among :data:`VISIBILITY_KEYS`."""
        return {k: v for k in VISIBILITY_KEYS if (v := getattr(self.visibility_table, k)) is not None}

    @property
    def overlaps(self) -> tuple[Overlap, ...]:
        """The overlap shares of ``[overlaps]`` (``overlap_table``, keyed by column), each with its ``column``."""
        return tuple(self.overlap_table.values())


#: The mine parameters under the name the analysis takes them by.
MinesParams = MinesFile


def load_params(params: str | Path | Mapping[str, Any] | MinesParams | None = None) -> MinesParams:
    """Load ``data/mines.toml``, optionally overridden by a user TOML file or mapping.

    Raises
    ------
    DataFileError
        Listing every problem (unknown key, missing source, unknown operator, negative weight, a required
        key such as ``[visibility] window_margin_m`` or ``[mcda] top_k`` missing from the merged
        document, …).
    """
    if isinstance(params, MinesParams):
        return params
    return bf_params.load_document(MinesFile, DATA_FILE, params)


# =============================================================================================
# Building blocks
# =============================================================================================
def overlap_share(geoms: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Share (0-1) of each geometry's area inside the union of ``targets``.

    Overlapping targets are unioned per geometry first, so nothing is counted twice.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms))
    targets = np.asarray(targets, dtype=object)
    si, ti = STRtree(targets).query(geoms, predicate="intersects")
    if len(si) == 0:  # also without geometries or targets
        return out
    pieces = polygonal_parts(shapely.intersection(geoms[si], targets[ti]))
    ids, unions = grouped_union(pieces, si)
    area = shapely.area(geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[ids] = np.where(area[ids] > 0, shapely.area(unions) / area[ids], 0.0)
    return np.clip(out, 0.0, 1.0)


def line_features(catalog: CatalogLike, sources: Sequence[LineSource]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The 两线 lines (filtered by category) as one frame with ``line_role``, ``name``, ``synthetic``
    and ``layer_id``, and notes on line layers missing from the catalog."""
    frames, notes = [], []
    for src in sources:
        if not catalog.has(src.role):
            notes.append(f"缺少两线图层 / no '{src.role}' layer: its visibility is not counted")
            continue
        gdf = catalog.read(src.role)
        if src.field and src.values:
            if src.field not in gdf.columns:
                notes.append(f"'{src.role}' has no field '{src.field}': all its features are used")
            else:
                gdf = gdf[gdf[src.field].astype(str).str.strip().isin(src.values).to_numpy()]
        frames.append(gpd.GeoDataFrame({
            "line_role": src.role,
            "name": gdf["name"].astype(str).to_numpy() if "name" in gdf.columns else "",
            "synthetic": gdf["synthetic"].astype(bool).to_numpy() if "synthetic" in gdf.columns else False,
            "layer_id": gdf["layer_id"].astype(str).to_numpy() if "layer_id" in gdf.columns else src.role,
        }, geometry=gdf.geometry.values, crs=catalog.working_crs))
    if not frames:
        return gpd.GeoDataFrame({"line_role": [], "name": [], "synthetic": [], "layer_id": []}, geometry=[],
                                crs=catalog.working_crs), notes
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=catalog.working_crs), notes


def township_names(catalog: CatalogLike, geoms: np.ndarray) -> np.ndarray:
    """Township (乡镇) of each geometry: the township polygon holding its representative point.

    Uses ``name_zh`` where the layer has a non-empty one, else ``name``; ``""`` outside every
    township or when the catalog has no township layer.
    """
    return area_names(catalog.read("township") if catalog.has("township") else None, geoms)


def assign_focus_areas(frame: pd.DataFrame, areas: Sequence[FocusArea]) -> pd.DataFrame:
    """Focus area of each mine: by township polygon, else by the mine's name or cluster field.

    Mine registers name a mine after its township (e.g. 随县吴山镇某石材矿), so a mine whose
    representative point falls just across a (possibly approximate) township boundary is still
    assigned by its name.  ``focus_basis`` says which rule matched.

    Returns
    -------
    pandas.DataFrame
        ``focus_area`` (township name or ``""``) and ``focus_basis`` (``township``, ``name``,
        ``cluster`` or ``""``) aligned with ``frame``.
    """
    blank = pd.Series("", index=frame.index)
    # as objects first: a Categorical column cannot take the "" of its gaps
    town, name, cluster = (frame[c].astype(object).fillna("").astype(str) if c in frame.columns else blank
                           for c in ("township", "name", "cluster"))
    out = pd.DataFrame({"focus_area": blank, "focus_basis": blank})
    for f in areas:
        names = {f.township, *f.aliases}
        # Chinese names only for text search: pinyin aliases would match unrelated words
        words = "|".join(re.escape(w) for w in names if w and not w.isascii())
        by_name = name.str.contains(words) if words else False
        by_cluster = cluster.str.strip().isin(names) & (cluster != "")
        for mask, label in ((town.str.strip().isin(names), "township"), (by_name, "name"), (by_cluster, "cluster")):
            out.loc[mask & (out["focus_area"] == ""), ["focus_area", "focus_basis"]] = (f.township, label)
    return out


def mine_visibility(mines: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, dem: Dem | None, params: MinesParams,
                    visibility: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Share of each mine visible from the 两线 lines (one viewshed for all lines), shares only.

    Lines are clipped to the mines grown by ``window_margin_m`` (>= the viewing distance): an
    observer farther than the viewing distance from every mine cannot see any of them, so the
    shares equal those of the viewshed of the whole lines (up to where observers fall along the
    clipped lines), at a fraction of the cost.  The raster computed here is valid on the mines
    only, so it is not returned; :func:`mine_priorities` uses :func:`lines_visibility` (whole
    lines, whole DEM) instead, because it keeps and writes the raster.

    Returns
    -------
    (ndarray, list of str)
        Visible share per mine (``nan`` without a DEM) and notes.
    """
    from . import terrain

    if dem is None or (visibility is None and len(lines) == 0):
        share, _, notes = _visibility(mines, lines, dem, params, None)
        return share, notes
    geoms = np.asarray(mines.geometry.values, dtype=object)
    if visibility is None:
        # only observers within the margin of some mine can see it: clip the lines to the mines
        # grown by the margin, so the viewshed costs in proportion to the lines near mines
        window = shapely.union_all(shapely.buffer(geoms, params.visibility_table.window_margin_m))
        clipped = shapely.intersection(np.asarray(lines.geometry.values, dtype=object), window)
        keep = ~shapely.is_empty(clipped)
        if not keep.any():
            return np.zeros(len(geoms)), []
        win_lines = gpd.GeoDataFrame(lines[keep].drop(columns="geometry"), geometry=clipped[keep], crs=lines.crs)
        kwargs: dict[str, Any] = {k: v for k, (v, _) in visibility_settings(params).items()}
        visibility = terrain.visibility_from_lines(win_lines, dem, **kwargs)
    return terrain.visible_share(gpd.GeoSeries(geoms, crs=mines.crs), visibility, dem).to_numpy(dtype=float), []


def visibility_settings(params: MinesParams) -> dict[str, tuple[float, str]]:
    """The viewshed settings in force, each with its source.

    ``[visibility]`` of data/mines.toml may set any of :data:`VISIBILITY_KEYS`; the others come
    from ``[visibility]`` of data/terrain.toml (:func:`sanxian_yidan.terrain.default_settings`).

    Returns
    -------
    dict
        ``{key: (value, source)}`` for ``max_distance_m``, ``spacing_m``, ``eye_height_m`` and
        ``target_height_m`` [m].
    """
    from . import terrain

    ts = terrain.default_settings().visibility
    out: dict[str, tuple[float, str]] = {}
    for key in VISIBILITY_KEYS:
        if key in params.visibility:
            out[key] = (float(params.visibility[key]), f"data/mines.toml [visibility]: {params.visibility_table.source}")
        else:
            source = getattr(ts, key.removesuffix("_m") + "_source")
            out[key] = (float(getattr(ts, key)), f"data/terrain.toml [visibility]: {source}")
    return out


@dataclass(frozen=True, eq=False)
class VisibilityRaster:
    """The 三区两线 visibility raster of a run, on the DEM's grid, with its provenance.

    Kept as ``MinesResult.visibility`` and written as ``visibility.tif`` by :meth:`MinesResult.write`.
    Immutable: the array is a read-only copy, and copies of a result share this object instead of
    copying the grid.

    Attributes
    ----------
    visible : numpy.ndarray of bool
        True where the cell is seen from at least one observer on the lines (DEM shape).
    dem : sanxian_yidan.terrain.Dem
        The DEM the raster was computed on (grid, CRS, source, synthetic flag).
    settings : mapping
        ``{key: (value, source)}`` of the viewshed settings (:func:`visibility_settings`);
        empty when the raster was given by the caller.
    lines : tuple of str
        Catalog layer ids of the 两线 lines used.
    synthetic : bool
        True if the DEM or any line feature is synthetic.
    origin : str
        How the raster was obtained.
    """

    visible: np.ndarray
    dem: Dem
    settings: Mapping[str, tuple[float, str]]
    lines: tuple[str, ...]
    synthetic: bool
    origin: str

    def __post_init__(self) -> None:
        grid = np.array(self.visible, dtype=bool, copy=True)
        grid.setflags(write=False)
        object.__setattr__(self, "visible", grid)

    def __deepcopy__(self, memo: dict[int, Any]) -> VisibilityRaster:
        return self          # immutable: share it, never copy the grid

    def tags(self) -> dict[str, str]:
        """GeoTIFF metadata: meaning of the values, SYNTHETIC flag, settings and their sources."""
        tags = {
            "TITLE": "三区两线可视范围 / Area visible from the main lines (三区两线)",
            "VALUES": f"1 = 可见 / visible; 0 = 不可见 / not visible; {VISIBILITY_NODATA} = 无数据 / no data "
                      "(outside the DEM)",
            "SYNTHETIC": ("SYNTHETIC - 合成示例数据，非官方成果，不得用于决策 / synthetic sample data (DEM or lines), "
                          "not official, not for decisions") if self.synthetic else "no",
            "DEM": f"{display_path(self.dem.source)}{' (synthetic)' if self.dem.synthetic else ''}",
            "LINES": ", ".join(self.lines) or "-",
            "ORIGIN": self.origin,
            "ALGORITHM": "sanxian_yidan.terrain.visibility_from_lines: line of sight over the bare-earth DEM from "
                         "observers placed along the lines (R3, Franklin and Ray 1994); see its docstring for the "
                         "approximations",
        }
        for key, (value, source) in self.settings.items():
            tags[key.upper()] = f"{value:g}"
            tags[f"{key.upper()}_SOURCE"] = source
        return tags

    def write(self, path: str | Path) -> Path:
        """Write the raster as a GeoTIFF (uint8 0/1, nodata 255 outside the DEM, the DEM's grid and CRS).

        An existing file is replaced (callers decide whether that is allowed).
        """
        import rasterio

        path = Path(path)
        data = self.visible.astype(np.uint8)
        data[np.isnan(self.dem.elevation)] = VISIBILITY_NODATA
        rows, cols = self.dem.shape
        path.unlink(missing_ok=True)
        with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="uint8",
                           crs=self.dem.crs, transform=self.dem.transform, nodata=VISIBILITY_NODATA,
                           compress="deflate") as dst:
            dst.write(data, 1)
            dst.update_tags(**self.tags())
        return path


def lines_visibility(lines: gpd.GeoDataFrame, dem: Dem, params: MinesParams) -> VisibilityRaster:
    """Viewshed of all the 两线 lines over the whole DEM (:func:`sanxian_yidan.terrain.visibility_from_lines`).

    Unlike :func:`mine_visibility` the lines are not clipped to a window around the mines, so the
    raster is complete everywhere on the DEM and can be shown as the 直观可视范围 of the lines.

    Parameters
    ----------
    lines : GeoDataFrame
        Output of :func:`line_features` (``synthetic`` and ``layer_id`` columns are used).
    dem : sanxian_yidan.terrain.Dem
    params : MinesParams
        Viewshed settings (:func:`visibility_settings`).
    """
    from . import terrain

    settings = visibility_settings(params)
    kwargs: dict[str, Any] = {k: v for k, (v, _) in settings.items()}
    visible = terrain.visibility_from_lines(lines, dem, **kwargs)
    syn_lines = bool(lines["synthetic"].astype(bool).any()) if "synthetic" in lines.columns else False
    ids = tuple(dict.fromkeys(lines["layer_id"].astype(str))) if "layer_id" in lines.columns else ()
    return VisibilityRaster(visible, dem, settings, ids, bool(dem.synthetic) or syn_lines,
                            "computed from the lines over the whole DEM")


def recommend_mode(frame: pd.DataFrame, rules: Sequence[ModeRule]) -> pd.DataFrame:
    """Apply the ordered mode rules: the first rule whose conditions all hold gives the mode.

    Returns
    -------
    pandas.DataFrame
        ``mode``, ``mode_zh``, ``mode_en``, ``mode_rule`` (index of the rule, 0-based) and
        ``mode_source`` aligned with ``frame``.
    """
    n = len(frame)
    chosen = np.full(n, -1)
    for k, rule in enumerate(rules):
        hold = np.all([evaluate_condition(frame, cond)[0] for cond in rule.when], axis=0)  # True without conditions
        chosen = np.where((chosen < 0) & hold, k, chosen)
    chosen = np.where(chosen < 0, len(rules) - 1, chosen)
    return pd.DataFrame({
        "mode": [rules[k].id for k in chosen], "mode_zh": [rules[k].zh for k in chosen],
        "mode_en": [rules[k].en for k in chosen], "mode_rule": chosen,
        "mode_source": [rules[k].source for k in chosen]}, index=frame.index)


# =============================================================================================
# Main entry point
# =============================================================================================
def mine_priorities(catalog: Catalog | str | Path, *, params: str | Path | Mapping[str, Any] | MinesParams | None = None,
                    dem: Dem | str | Path | None = None, visibility: np.ndarray | None = None, progress: Progress | None = None,
                    brownfield_params: str | Path | Mapping[str, Any] | bf.BrownfieldParams | None = None
                    ) -> gpd.GeoDataFrame:
    """The mine table of :func:`run_mines` (``catalog`` may be a path): one row per mine.

    The notes, weights, focus-area summary and visibility raster are on the :class:`MinesResult`
    that :func:`run_mines` returns; this function gives its ``mines`` table only.
    """
    return run_mines(bf.load_catalog(catalog), params=params, dem=dem, visibility=visibility, progress=progress,
                     brownfield_params=brownfield_params).mines


def run_mines(catalog: Catalog, *, params: str | Path | Mapping[str, Any] | MinesParams | None = None,
              dem: Dem | str | Path | None = None, visibility: np.ndarray | None = None, progress: Progress | None = None,
              brownfield_params: str | Path | Mapping[str, Any] | bf.BrownfieldParams | None = None) -> MinesResult:
    """Priority, rank and recommended rehabilitation mode of every mine site (the ``mines`` analysis).

    Parameters
    ----------
    catalog : Catalog
        Layer catalog with ``mine_site`` and, where available, roads, railways, rivers, nature
        reserves, scenic areas, built-up areas, ecological function areas, red line, townships,
        substations and the DEM.
    params : path, mapping or MinesParams, optional
        Overrides of ``data/mines.toml``.
    dem : terrain Dem or path, optional
        DEM for slope and visibility (default the catalog's ``dem``).
    visibility : ndarray of bool, optional
        A visibility raster on the DEM grid computed earlier (e.g. by a study); skips the viewshed.
        It becomes the run's raster (``.visibility``), tagged as given by the caller.
    progress : callable, optional
        ``progress(step_label, steps_done, steps_total)``.
    brownfield_params : optional
        Overrides of ``data/brownfield.toml`` for the PV pre-screen.

    Returns
    -------
    MinesResult
        ``.mines``: one row per mine (geometry = mine outline) with ``visible_share``, distances to
        the 三区, overlaps, ``priority``, ``rank``, ``p_top_k``, ``mode`` (+ ``mode_zh``,
        ``mode_source``), ``township``, ``focus_area``, ``reasons`` and ``synthetic``; sorted by rank,
        then priority, then ``site_id``.  ``.visibility``: the :class:`VisibilityRaster` of the 两线
        lines over the whole DEM (``None`` without a DEM or without line layers), written as
        ``visibility.tif``.  Notes, weights, the focus-area summary and the provenance with it.
    """
    total = PRIORITY_STEPS
    p = load_params(params)
    bp = bf.load_params(brownfield_params)
    # The mines are read from `catalog` (each keeps its own synthetic flag); every other layer is read
    # through `ctx`, which records it, so that its synthetic flag reaches every mine it was applied to.
    ctx = TrackedCatalog(catalog)
    crs = catalog.working_crs
    notes: list[str] = []

    report_step(progress, "矿山 / mine sites", 0, total)
    if not catalog.has("mine_site"):
        raise EmptyLayerError(problem("图层目录中没有矿山图层。", "The catalog has no layer with role 'mine_site'.",
                                      file=getattr(catalog, "path", None), fix="add the mine layer to the catalog"))
    raw = catalog.read("mine_site")
    cand = next((c for c in bp.candidate_roles if c.role == "mine_site"),
                bf.CandidateRole("mine_site", "矿山", "Mine", "catalog"))
    mines = site_frame(raw, cand, ids=raw["layer_id"].astype(str) + "-" + raw["src_fid"].astype(str))
    if "cluster" in raw.columns:
        mines["cluster"] = raw["cluster"].to_numpy()
    mines = mines.iloc[canonical_order(mines, ["site_id"])].reset_index(drop=True)
    if len(mines) == 0:
        raise EmptyLayerError(problem("矿山图层为空。", "The mine layer has no features.", fix="check the layer"))
    geoms = np.asarray(mines.geometry.values, dtype=object)
    frame = mines.drop(columns="geometry").copy()
    frame["township"] = township_names(ctx.unrestricted(), geoms)  # a mine across a county line keeps its township
    frame = frame.join(assign_focus_areas(frame, p.focus_areas))

    report_step(progress, "地形 / terrain", 1, total)
    dem_obj = resolve_dem(ctx, dem)
    terr, terr_notes = terrain_table(geoms, crs, dem_obj, **bp.terrain.thresholds())
    frame = frame.join(terr[list(TERRAIN_COLUMNS)])

    report_step(progress, "三区距离与重叠 / 三区 distances and overlaps", 2, total)
    zone_cols = _sanqu_and_overlaps(frame, ctx, p, geoms, notes)

    report_step(progress, "两线可视性 / visibility from main lines (三区两线)", 3, total)
    lines, line_notes = line_features(ctx, p.lines)
    notes.extend(line_notes)
    j_line, d_line = nearest_features(geoms, np.asarray(lines.geometry.values, dtype=object))
    frame["dist_line_m"] = d_line
    frame["nearest_line"] = np.where(j_line >= 0, lines["name"].to_numpy()[np.maximum(j_line, 0)]
                                     if len(lines) else "", "")
    share, vis_raster, vis_notes = _visibility(mines, lines, dem_obj, p, visibility)
    notes.extend(vis_notes)
    frame["visible_share"] = share

    report_step(progress, "光伏预筛 / PV pre-screen", 4, total)
    pv, pv_notes = pv_prescreen(mines, ctx, bp, dem_obj)
    notes.extend(pv_notes)
    frame = frame.join(pv)
    edge_notes = _edge(frame, ctx, p, bp, geoms, zone_cols, lines, notes)

    report_step(progress, "优先度评分 / priority scoring", 5, total)
    eligible, status_notes = _status_eligibility(frame, p)
    frame["eligible"] = eligible
    scores, weights, score_notes = score_and_rank(frame, p.mcda_spec(), eligible, ids=frame["site_id"].to_numpy())
    frame = frame.join(scores.rename(columns={"score": "priority"}).astype({"rank": "Int64"}))
    notes.extend(score_notes)

    report_step(progress, "修复模式 / recommended mode", 6, total)
    frame = frame.join(recommend_mode(frame, p.modes))
    frame["reasons"] = _mine_reasons(frame, zone_cols, status_notes, terr_notes, edge_notes,
                                     {t.id: t.label() for t in bp.prescreen})
    context_synthetic = sorted(set(ctx.synthetic_layers())
                               | ({"dem"} if dem is not None and getattr(dem_obj, "synthetic", False) else set()))
    own_synthetic = frame["synthetic"].astype(bool).to_numpy()
    frame["synthetic"] = (own_synthetic | bool(lines["synthetic"].any() if len(lines) else False)
                          | bool(context_synthetic))
    frame["synthetic_layers"] = site_synthetic_layers(frame["layer_id"].to_numpy(), own_synthetic, context_synthetic)

    frame = frame.drop(columns=[c for c in _NOT_FOR_MINES if c in frame.columns])
    out = sort_by_rank(gpd.GeoDataFrame(frame, geometry=geoms, crs=crs), "priority")
    files = parameter_files(DATA_FILE, params) + parameter_files("brownfield.toml", brownfield_params)
    provenance = Provenance(
        layers=merge_layer_records(frame_layer_records(mines, "mine_site"), tracked_layer_records(ctx),
                                   [LayerRecord("dem", "dem", True)] if "dem" in context_synthetic else []),
        parameters=_param_records(p, weights, vis_raster),
        data_files=data_file_hashes([*files, *map(packaged_path, DATA_FILES), *common_data_files()]),
        inputs=[display_path(f) for f in files if not f.is_relative_to(packaged_path("."))])
    notes.extend(synthetic_note(provenance.synthetic_layers))
    report_step(progress, "完成 / done", total, total)
    return MinesResult(mines=out, params=p, weights=weights, visibility=vis_raster,
                       notes=[Note.from_text(n, "info" if n.startswith("权重敏感性") else "warning") for n in notes],
                       provenance=provenance)


def _param_records(p: MinesParams, weights: pd.Series, raster: VisibilityRaster | None) -> list[ParamRecord]:
    """The parameters of a mine run with units and sources (for the provenance)."""
    settings = raster.settings if raster is not None and raster.settings else visibility_settings(p)
    recs = [ParamRecord(f"visibility.{k}", v, "m", src) for k, (v, src) in settings.items()]
    recs += [ParamRecord(f"zones.{z.id}.influence_m", z.influence_m, "m", z.source) for z in p.zones]
    recs += [ParamRecord(f"lines.{ln.role}", ", ".join(ln.values) or "all", "", ln.source) for ln in p.lines]
    recs += [ParamRecord(f"modes.{m.id}", "; ".join(c.label() for c in m.when) or "default", "", m.source)
             for m in p.modes]
    return recs + mcda_param_records(p.mcda_spec(), weights)


def _visibility(mines: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, dem: Dem | None, p: MinesParams,
                given: np.ndarray | None) -> tuple[np.ndarray, VisibilityRaster | None, list[str]]:
    """Visible share per mine and the raster it came from (given by the caller or computed)."""
    from . import terrain

    n = len(mines)
    if dem is None:
        return np.full(n, np.nan), None, ["无 DEM，两线可视性未评价 / no DEM: visibility not assessed"]
    if given is not None:
        share = terrain.visible_share(mines, given, dem)       # validates shape and dtype first
        # the caller's lines are not known: flag it synthetic if the DEM or the catalog's lines are
        syn_lines = bool(lines["synthetic"].astype(bool).any()) if len(lines) else False
        raster = VisibilityRaster(given, dem, {}, (), bool(dem.synthetic) or syn_lines,
                                  "precomputed raster given by the caller (its lines and settings are not known here)")
        return share.to_numpy(dtype=float), raster, []
    if len(lines) == 0:
        return np.zeros(n), None, ["无两线图层，可视比例按 0 计 / no line layers: visible share set to 0"]
    raster = lines_visibility(lines, dem, p)
    share = terrain.visible_share(mines, raster.visible, dem)
    return share.to_numpy(dtype=float), raster, []


#: Candidate-site columns that mean nothing for mines (dropped from the mine table).
_NOT_FOR_MINES = ("site_type", "site_type_zh", "remediation_status", "risk_class", "closed_year")


def _sanqu_and_overlaps(frame: pd.DataFrame, cat: CatalogLike, p: MinesParams, geoms: np.ndarray,
                        notes: list[str]) -> list[tuple[str, Zone]]:
    """Add the 三区 distances, ``in_sanqu``, ``dist_sanqu_m`` and the overlap shares to ``frame``."""
    zone_cols = []
    for zone in p.zones:
        d, used, _ = layer_distance(cat, zone.roles, geoms)
        col = f"dist_{zone.id}_m"
        frame[col] = d
        zone_cols.append((col, zone))
        if not used:
            notes.append(f"缺少三区图层 / no layer of {', '.join(zone.roles)}: {zone.en} not assessed")
    # without zones: one unknown distance, so no mine is around a zone and its nearest zone is unknown
    dmat = np.column_stack([frame[c].to_numpy(dtype=float) for c, _ in zone_cols] or [np.full(len(frame), np.nan)])
    with np.errstate(invalid="ignore"):
        frame["in_sanqu"] = np.any(dmat <= np.array([z.influence_m for _, z in zone_cols] or [np.nan]), axis=1)
    frame["dist_sanqu_m"] = np.fmin.reduce(dmat, axis=1)  # the nearest known zone; nan when none is known
    for ov in p.overlaps:
        targets = [np.asarray(cat.read(r).geometry.values, dtype=object) for r in ov.roles if cat.has(r)]
        frame[ov.column] = overlap_share(geoms, np.concatenate(targets)) if targets else 0.0
        if not targets:
            notes.append(f"缺少图层 / no layer of {', '.join(ov.roles)}: {ov.column} set to 0")
    return zone_cols


def _edge(frame: pd.DataFrame, cat: CatalogLike, p: MinesParams, bp: bf.BrownfieldParams, geoms: np.ndarray,
          zone_cols: list[tuple[str, Zone]], lines: gpd.GeoDataFrame, notes: list[str]) -> list[list[str]]:
    """``edge_limited`` per mine: a 三区, 两线 or substation search reaching beyond the data coverage.

    The 三区 distances are searched to their influence distance (or the criterion's range), the
    两线 to the viewing distance (a line outside the data within it could see the mine), the
    substation to the PV pre-screen's range (:func:`sanxian_yidan.siteengine.edge_table`).  Adds
    the column and a run note; returns the notes per mine for ``reasons``.
    """
    radii: dict[str, float | None] = {}   # by distance column searched
    for col, zone in zone_cols:
        if any(cat.has(r) for r in zone.roles):   # a zone whose layer is missing is unknown anyway (run note)
            radii[col] = search_radius_m(p, col, zone.influence_m)
    if len(lines):
        radii["dist_line_m"] = visibility_settings(p)["max_distance_m"][0]
    if cat.has(bp.grid.role):
        radii["dist_substation_m"] = search_radius_m(bp, "dist_substation_m")
    distances = {col: frame[col].to_numpy(dtype=float) for col in radii}
    edge, edge_notes = edge_table(geoms, geoms, distances, radii, cat.unrestricted().coverage())
    frame["edge_limited"], edge_run_notes = edge_limited(edge, "座矿山", "mine(s)")
    notes.extend(edge_run_notes)
    return edge_notes


def _status_eligibility(frame: pd.DataFrame, p: MinesParams) -> tuple[np.ndarray, list[list[str]]]:
    """Which mines are ranked (public rehabilitation task) and the status notes per mine."""
    eligible = np.ones(len(frame), dtype=bool)
    notes: list[list[str]] = [[] for _ in range(len(frame))]
    for st in p.status:
        if st.field not in frame.columns:
            continue
        hit = rules.Condition(st.field, "in", tuple(st.values)).evaluate(frame[st.field])
        if not st.eligible:
            eligible &= ~hit
        if st.reason_zh or st.reason_en:
            for i in np.flatnonzero(hit):
                notes[i].append(f"{st.reason_zh} / {st.reason_en}".strip(" /"))
    return eligible, notes


def _mine_reasons(frame: pd.DataFrame, zone_cols: list[tuple[str, Zone]], status_notes: list[list[str]],
                  terr_notes: list[list[str]], edge_notes: list[list[str]], prescreen_labels: dict[str, str]
                  ) -> list[str]:
    """One text per mine: status, 三区 and 两线 findings, PV pre-screen, data gaps, searches beyond the data.

    Phrased for planners in Chinese and English with units (``"距城镇建成区/居住区 0.4 km …"``); the
    machine-readable columns (``dist_*_m``, ``visible_share``, ``pv_failed`` ids) stay as they are.
    ``prescreen_labels`` maps a pre-screen test id to its bilingual text.
    """
    reasons = []
    vis_zh, vis_en = column_names("visible_share")
    for i in range(len(frame)):
        parts = list(status_notes[i]) + terr_notes[i]
        if frame["in_sanqu"].iat[i]:
            near = [(z, float(frame[c].iat[i])) for c, z in zone_cols if frame[c].iat[i] <= z.influence_m]
            zh = "，".join(f"距{z.zh} {distance_text(d)}（影响距离 {distance_text(z.influence_m)}）"
                          for z, d in near)
            en = ", ".join(f"{distance_text(d)} from {z.en.lower()} (influence distance "
                           f"{distance_text(z.influence_m)})" for z, d in near)
            parts.append(f"位于三区周边：{zh} / around a 三区 zone: {en}")
        vs = frame["visible_share"].iat[i]
        if np.isfinite(vs) and vs > 0:
            parts.append(f"{vis_zh} {vs:.0%} / {vis_en}: {vs:.0%}")
        if frame["eligible"].iat[i] and np.isnan(frame["priority"].iat[i]):
            parts.append("缺少准则值，无优先度，排在最后 / a criterion value is missing: no priority, ranked last")
        failed = [t for t in str(frame["pv_failed"].iat[i] or "").split(";") if t]
        parts += [f"光伏预筛未通过 / PV pre-screen failed: {prescreen_labels.get(t, t)}" for t in failed]
        parts += edge_notes[i]
        reasons.append("; ".join(dict.fromkeys(parts)))
    return reasons


def pv_prescreen(mines: gpd.GeoDataFrame, catalog: CatalogLike, bp: bf.BrownfieldParams, dem: Dem | None
                 ) -> tuple[pd.DataFrame, list[str]]:
    """The brownfield PV pre-screen applied to the mines (net area, capacity, grid distance, slope).

    Only the columns listed under Returns are computed for mines.  A ``[[prescreen]]`` test of
    the brownfield parameters on another column (e.g. ``readiness`` or ``dist_road_m``) cannot
    be evaluated here: it is not applied and a note names its id.  It is not refused, because
    the same brownfield file is valid for ``sanxian brownfields``, where that column exists.

    Returns
    -------
    (pandas.DataFrame, list of str)
        ``pv_net_area_m2``, ``pv_capacity_mw``, ``dist_substation_m``, ``pv_prescreen_pass`` and
        ``pv_failed`` (ids of failed tests); and notes (tests not applied, exclusion layers
        missing or applied whole).
    """
    ex_layers, ex_notes = exclusion_layers(catalog, bp.exclusions)
    notes = [f"光伏预筛 / PV pre-screen: {n}" for n in ex_notes]
    net, _ = cut_exclusions(mines, ex_layers)
    crs = catalog.working_crs
    frame = pd.DataFrame(index=range(len(mines)))
    frame["net_area_m2"] = shapely.area(net)
    frame["capacity_mw"] = bf.ground_capacity_mw(gpd.GeoSeries(net, crs=crs), mw_per_ha=bp.density.mw_per_ha).to_numpy()
    geoms = np.where(shapely.is_empty(net), mines.geometry.values, net)
    frame["dist_substation_m"] = substation_distances(
        geoms, catalog.read(bp.grid.role), bp.grid.classes, frame["capacity_mw"].to_numpy(),
        unknown_voltage=bp.grid.unknown_voltage)["dist_substation_m"].to_numpy() if catalog.has(bp.grid.role) else np.nan
    terr, _ = terrain_table(net, crs, dem, **bp.terrain.thresholds())
    frame["slope_mean_deg"] = terr["slope_mean_deg"].to_numpy()
    tests = [t for t in bp.prescreen if t.column in frame.columns]
    for t in bp.prescreen:
        if t.column not in frame.columns:
            notes.append(f"光伏预筛条件 '{t.id}'（列 {t.column}）不适用于矿山，未采用 / PV pre-screen test '{t.id}' "
                         f"on column '{t.column}' is not computed for mines and was not applied "
                         f"(mines compute {', '.join(frame.columns)})")
    ok, failed, _ = prescreen(frame, tests)
    out = frame.drop(columns="slope_mean_deg").rename(columns={"net_area_m2": "pv_net_area_m2",
                                                               "capacity_mw": "pv_capacity_mw"})
    return out.assign(pv_prescreen_pass=ok, pv_failed=[";".join(f) for f in failed]), notes


def focus_summary(mines: pd.DataFrame, params: MinesParams) -> pd.DataFrame:
    """One row per focus area (e.g. 吴山镇, 万和镇 of clause (九)) and one for all other mines.

    Columns: ``area``, ``mines``, ``abandoned_or_closed`` (eligible), ``gross_area_m2``,
    ``visible_mines`` (visible_share > 0), ``in_sanqu``, ``mean_priority`` (eligible mines),
    ``top_k`` (eligible mines ranked in the top k, k = ``[mcda] top_k`` of the parameters; the
    CSV header names k, see :func:`focus_headers`), one count per mode, and ``source``.
    """
    top_k = params.mcda.top_k
    rows = []
    groups = [(f.township, mines["focus_area"] == f.township, f.source) for f in params.focus_areas]
    others = ~mines["focus_area"].astype(bool) if len(params.focus_areas) else pd.Series(True, index=mines.index)
    groups.append(("其他 / other", others, ""))
    mode_ids = list(dict.fromkeys(r.id for r in params.modes))
    for name, mask, src in groups:
        sub = mines[mask.to_numpy()]
        elig = sub[sub["eligible"].astype(bool)]
        row: dict[str, Any] = {
            "area": name, "mines": len(sub), "abandoned_or_closed": len(elig),
            "gross_area_m2": float(sub["gross_area_m2"].sum()),
            "visible_mines": int((sub["visible_share"].fillna(0) > 0).sum()),
            "in_sanqu": int(sub["in_sanqu"].astype(bool).sum()),
            "mean_priority": float(elig["priority"].mean()) if len(elig) else float("nan"),
            "top_k": int((elig["rank"].astype("float") <= top_k).sum())}
        for m in mode_ids:
            row[f"mode_{m}"] = int((sub["mode"] == m).sum())
        row["source"] = src
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "MINES_OUTPUTS",
    "PRIORITY_STEPS",
    "FocusArea",
    "LineSource",
    "MineStatus",
    "MinesResult",
    "MinesParams",
    "ModeRule",
    "Overlap",
    "VisibilityRaster",
    "Zone",
    "assign_focus_areas",
    "focus_headers",
    "focus_summary",
    "line_features",
    "lines_visibility",
    "load_params",
    "mine_priorities",
    "mine_visibility",
    "mode_summary",
    "overlap_share",
    "pv_prescreen",
    "recommend_mode",
    "run_mines",
    "township_names",
    "visibility_settings",
    "write_outputs",
]


def __getattr__(name: str) -> Any:
    # MINE_COLUMNS was a tuple here; data/tables.toml [tables.mines] declares the columns now
    if name == "MINE_COLUMNS":
        return tuple(schema("mines").names)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def focus_headers(top_k: int) -> dict[str, str]:
    """Headers of mines_focus_areas.csv (the focus-area summary of clause (九)) for a given top k
    (data/tables.toml [tables.mines_focus_areas])."""
    return {c.name: (c.head or c.name).format(top_k=top_k) for c in schema("mines_focus_areas").columns}


def mode_summary(mines: pd.DataFrame) -> pd.DataFrame:
    """Mines and their area per recommended mode.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``mode`` (order of first appearance in ``mines``), with ``mode_zh``, ``mines``
        and ``gross_area_m2`` [m²].
    """
    return mines.groupby("mode", sort=False).agg(mode_zh=("mode_zh", "first"), mines=("site_id", "size"),
                                                 gross_area_m2=("gross_area_m2", "sum"))


#: The files a mines result writes, declared once (``write``, the CLI, studies and the manifest use them).
MINES_OUTPUTS = (
    OutputFile("mines.gpkg", "gpkg", ("mines",), "矿山修复优先度（图层 mines）", "Mine priorities (layer mines)"),
    OutputFile("mines.csv", "csv", ("mines",), "矿山修复优先度表", "The mine priority table"),
    OutputFile("mines_focus_areas.csv", "csv", ("focus_summary",), "重点区域汇总（方案(九)）",
               "Focus-area summary of clause (九)"),
    OutputFile("visibility.tif", "tif", (), "三区两线可视范围（1 可见，0 不可见，255 无数据；有 DEM 与两线图层时）",
               "Area visible from the main lines (1 visible, 0 not, 255 no data; written when the run had a DEM "
               "and line layers)"),
)
#: Package data files a mine run reads besides mines.toml, brownfield.toml and the common ones
#: (:func:`sanxian_yidan.analysis.common_data_files`), listed in its provenance.
DATA_FILES = ("terrain.toml", "mcda.toml")
#: Keys of the mapping :func:`write_outputs` returns, by file name (as before results declared their files).
_LEGACY_KEYS = {"mines.gpkg": "gpkg", "mines.csv": "csv", "mines_focus_areas.csv": "focus_csv",
                "visibility.tif": "visibility"}


@dataclass
class MinesResult(Result):
    """Outcome of :func:`run_mines` (the ``mines`` analysis).

    Attributes
    ----------
    mines : GeoDataFrame
        One row per mine (see :func:`run_mines`), sorted by rank, then priority, then ``site_id``.
    params : MinesParams
        Parameters in force.
    weights : pandas.Series
        Criterion weights used (summing to 1).
    visibility : VisibilityRaster or None
        The 三区两线 visibility raster (``None`` without a DEM or without line layers).
    notes : list of Note
        Run notes: layers missing, tests not applied, searches beyond the data, synthetic inputs.
    provenance : Provenance
        Layers read (with their synthetic flag), parameters with sources, data files with SHA-256.
    """

    analysis: ClassVar[str] = "mines"
    outputs: ClassVar[tuple[OutputFile, ...]] = MINES_OUTPUTS

    mines: gpd.GeoDataFrame
    params: MinesParams
    weights: pd.Series
    visibility: VisibilityRaster | None = None
    notes: list[Note] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def top_k(self) -> int:
        """k of ``top_k`` and ``p_top_k`` (``[mcda] top_k`` of the parameters)."""
        return int(self.params.mcda.top_k)

    @property
    def synthetic_layers(self) -> list[str]:
        """Ids of the synthetic layers behind the result, sorted."""
        return self.provenance.synthetic_layers

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """``mines``, ``focus_summary`` (:func:`focus_summary`) and ``mode_summary`` (:func:`mode_summary`)."""
        return {"mines": self.mines, "focus_summary": focus_summary(self.mines, self.params),
                "mode_summary": mode_summary(self.mines)}

    def report_section(self, options: Mapping[str, Any], catalog: Catalog) -> ReportSection:
        """Recommended modes as a chart, priorities on a map, the ``top`` ranked mines (default 15) as a table."""
        from .figures import FigureLayer

        modes = self.mines["mode_zh"].value_counts().sort_index()
        ranked = self.mines[self.mines["rank"].notna()].sort_values("rank").head(int(options.get("top", 15)))
        cols = (ReportColumn("rank"), ReportColumn("name"), ReportColumn("township"),
                ReportColumn("priority", numeric=True, digits=3),
                ReportColumn("visible_share", numeric=True, digits=2), ReportColumn("mode_zh"),
                ReportColumn("mode_source"))
        return ReportSection(
            figure_title="矿山修复优先度 / Mine rehabilitation priority",
            figure_layers=(FigureLayer(self.mines, "mines", column="priority", label="优先度 / priority",
                                       markers=True),),
            chart=ReportChart(list(modes.index), list(modes.values), "推荐修复模式 / Recommended mode",
                              "矿山数 / mines"),
            tables=(ReportTable(ranked.to_dict("records"), cols),))

    @property
    def summary(self) -> pd.DataFrame:
        """Headline figures (:func:`sanxian_yidan.analysis.summary_frame`), with sources."""
        m = self.mines
        eligible = m["eligible"].astype(bool)
        pv = m["pv_prescreen_pass"].astype(bool)
        return summary_frame([
            {"label_zh": "矿山", "label_en": "Mine sites", "value": len(m), "source": "catalog role mine_site"},
            {"label_zh": "公共修复任务（废弃+闭坑）", "label_en": "Public rehabilitation tasks (abandoned or closed)",
             "value": int(eligible.sum()), "source": "[[status]] of data/mines.toml"},
            {"label_zh": "参与排序矿山", "label_en": "Ranked mines", "value": int(m["rank"].notna().sum()),
             "source": self.params.mcda.source},
            {"label_zh": "矿山面积", "label_en": "Mine area", "value": float(m["gross_area_m2"].sum()), "unit": "m²"},
            {"label_zh": "两线可视矿山", "label_en": "Mines visible from the main lines",
             "value": int((m["visible_share"].fillna(0) > 0).sum()), "source": self.params.visibility_table.source},
            {"label_zh": "三区周边矿山", "label_en": "Mines around 三区", "value": int(m["in_sanqu"].astype(bool).sum()),
             "source": "; ".join(f"{z.id}: {z.source}" for z in self.params.zones)},
            {"label_zh": "通过光伏预筛矿山", "label_en": "Mines passing the PV pre-screen", "value": int(pv.sum()),
             "source": "[[prescreen]] of data/brownfield.toml"},
            {"label_zh": "通过光伏预筛矿山装机容量", "label_en": "PV capacity of the mines passing the pre-screen",
             "value": float(m.loc[pv, "pv_capacity_mw"].sum()), "unit": "MW",
             "source": "[capacity] density of data/brownfield.toml"},
        ])

    def write_into(self, folder: Path) -> dict[str, Path]:
        """Write :data:`MINES_OUTPUTS` into ``folder`` (which exists); return file name -> path.

        ``visibility.tif`` (:class:`VisibilityRaster`: uint8, 1 visible, 0 not visible, 255 nodata
        outside the DEM, on the DEM's grid and CRS, with tags giving the SYNTHETIC flag, the settings
        and their sources) is written only when the run had one; :meth:`write` (all or nothing) then
        removes a ``visibility.tif`` of an earlier run in its folder, so that it cannot pass for this run's.
        """
        from .columns import format_table
        from .outputs import write_csv, write_layers, write_table_csv

        table = assemble("mines", self.mines)
        write_layers(folder / "mines.gpkg", {"mines": table})
        write_table_csv(table.drop(columns="geometry"), folder / "mines.csv")
        headers = focus_headers(self.top_k)
        focus = format_table(focus_summary(self.mines, self.params))
        write_csv(focus.rename(columns=lambda c: headers.get(c, c.replace("mode_", "模式 / mode: "))),
                  folder / "mines_focus_areas.csv")
        if self.visibility is not None:
            self.visibility.write(folder / "visibility.tif")
        return {n: folder / n for n in self.output_names() if n != "visibility.tif" or self.visibility is not None}

    def headline(self) -> str:
        """Mines assessed and how many each recommended mode got."""
        modes = self.mines["mode_zh"].value_counts().sort_index()
        return f"{len(self.mines)} mines, modes: " + ", ".join(f"{k} {v}" for k, v in modes.items())

    def map_layers(self) -> list[Any]:
        """The viewshed and the mines by priority (:func:`sanxian_yidan.resultmaps.mine_layers`)."""
        from .resultmaps import mine_layers

        return mine_layers(self)


def write_outputs(result: MinesResult, out: str | Path) -> dict[str, Path]:
    """Write the files of :data:`MINES_OUTPUTS` into ``out`` (:meth:`MinesResult.write`, replacing them).

    Existing files are replaced: callers (the CLI, studies) decide whether that is allowed.

    Returns
    -------
    dict of str to Path
        ``gpkg``, ``csv``, ``focus_csv`` and, when written, ``visibility``.

    Raises
    ------
    SanxianError
        ``result`` is a mine table rather than the :class:`MinesResult` of :func:`run_mines`.
    """
    if not isinstance(result, MinesResult):
        raise SanxianError(problem(
            "write_outputs 需要 run_mines 的结果（MinesResult），而不是矿山表。",
            f"write_outputs needs the MinesResult of run_mines, got {type(result).__name__}: the mine table "
            "of mine_priorities carries no focus-area summary or visibility raster.",
            fix="call run_mines(catalog) and pass its result (or use result.write(out))"))
    return {_LEGACY_KEYS[name]: path for name, path in result.write(out, overwrite=True).items()}


register(Analysis("mines", "矿山生态修复优先级", "Mine rehabilitation priorities", run=run_mines,
                  result_type=MinesResult, roles=("mine_site",)))
