"""Mine rehabilitation priorities (三区两线) and the recommended rehabilitation mode per mine.

Serves clause (九) of Suizhou's pollution-and-carbon synergy plan — "以矿山生态修复为重点……加快'三区两线'
矿山复绿，在随县吴山镇、万和镇石材矿山重点区域实施一批生态修复示范项目。坚持以自然恢复为主" — and (十二)
("积极开展废弃矿山生态修复……探索利用废弃矿山……规划建设光伏发电").

For each mine site (catalog role ``mine_site``):

* **两线** — the share of the mine visible from main roads, railways and rivers within the viewing
  distance (DEM line-of-sight, :func:`sanxian_yidan.terrain.visibility_from_lines`, computed once
  for all lines inside a window around the mines);
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

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from . import brownfield as bf
from .brownfield import Condition, McdaSpec, Progress, _Problems
from .errors import EmptyLayerError, problem

log = logging.getLogger(__name__)
DATA_FILE = "mines.toml"


# =============================================================================================
# Parameters
# =============================================================================================
@dataclass(frozen=True)
class LineSource:
    """Line features (两线) of ``role``, optionally only those whose ``field`` is in ``values``."""

    role: str
    field: str | None
    values: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Zone:
    """A 三区 zone: features of ``roles``; a mine within ``influence_m`` is "around" it."""

    id: str
    roles: tuple[str, ...]
    zh: str
    en: str
    influence_m: float
    source: str


@dataclass(frozen=True)
class Overlap:
    """Share of each mine's area inside the union of ``roles`` → column ``column``."""

    column: str
    roles: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class MineStatus:
    """Eligibility (public rehabilitation task, ranked) of mines whose ``field`` is in ``values``."""

    field: str
    values: tuple[str, ...]
    eligible: bool
    reason_zh: str
    reason_en: str
    source: str


@dataclass(frozen=True)
class ModeRule:
    """Recommended mode ``id`` when every condition of ``when`` holds (first matching rule wins)."""

    id: str
    zh: str
    en: str
    when: tuple[Condition, ...]
    source: str


@dataclass(frozen=True)
class FocusArea:
    """A township reported separately (e.g. 吴山镇, 万和镇 of clause (九))."""

    township: str
    aliases: tuple[str, ...]
    source: str

    def matches(self, name: str) -> bool:
        """True if ``name`` is this township or one of its aliases."""
        return name.strip() in {self.township, *self.aliases}


@dataclass(frozen=True)
class MinesParams:
    """All parameters of the mine ranking (fields mirror ``data/mines.toml``)."""

    lines: tuple[LineSource, ...]
    zones: tuple[Zone, ...]
    overlaps: tuple[Overlap, ...]
    status: tuple[MineStatus, ...]
    mcda: McdaSpec
    modes: tuple[ModeRule, ...]
    focus_areas: tuple[FocusArea, ...]
    visibility: Mapping[str, float]
    window_margin_m: float
    files: tuple[str, ...] = ()


def load_params(params: str | Path | Mapping[str, Any] | MinesParams | None = None) -> MinesParams:
    """Load ``data/mines.toml``, optionally overridden by a user TOML file or mapping.

    Raises
    ------
    DataFileError
        Listing every problem (missing source, unknown operator, negative weight, …).
    """
    if isinstance(params, MinesParams):
        return params
    doc, files = bf.read_params_document(DATA_FILE, params)
    probs = _Problems(files[-1])

    vis_raw = doc.get("visibility", {})
    vis: dict[str, float] = {}
    for key, lo in (("max_distance_m", 0.0), ("spacing_m", 0.0), ("eye_height_m", 0.0)):
        if key in vis_raw:
            v = probs.number(vis_raw, key, "[visibility]", lo=lo)
            if v is not None:
                vis[key] = v
    margin = probs.number(vis_raw, "window_margin_m", "[visibility]", lo=0.0, default=1000.0)
    if vis_raw:
        probs.source(vis_raw, "[visibility]")

    lines = []
    for i, raw in enumerate(doc.get("lines", [])):
        w = f"[[lines]][{i}]"
        role = probs.get(raw, "role", str, w)
        fld = probs.get(raw, "field", str, w, None)
        values = probs.get(raw, "values", list, w, [])
        src = probs.source(raw, w)
        if role is not None:
            lines.append(LineSource(role, fld, tuple(str(v) for v in values or ()), src))
    if not lines:
        probs.add("[[lines]]", "at least one line source (两线) is needed")

    zones = []
    for i, raw in enumerate(doc.get("zones", [])):
        w = f"[[zones]][{i}]"
        zid = probs.get(raw, "id", str, w)
        roles = probs.get(raw, "roles", list, w)
        infl = probs.number(raw, "influence_m", w, lo=0.0)
        src = probs.source(raw, w)
        if zid is not None and roles is not None and infl is not None:
            zones.append(Zone(zid, tuple(map(str, roles)), str(raw.get("zh", zid)), str(raw.get("en", zid)), infl, src))

    overlaps = []
    for col, raw in (doc.get("overlaps") or {}).items():
        w = f"[overlaps.{col}]"
        roles = probs.get(raw, "roles", list, w)
        src = probs.source(raw, w)
        if roles is not None:
            overlaps.append(Overlap(col, tuple(map(str, roles)), src))

    status = []
    for i, raw in enumerate(doc.get("status", [])):
        w = f"[[status]][{i}]"
        fld = probs.get(raw, "field", str, w)
        values = probs.get(raw, "values", list, w)
        eligible = probs.get(raw, "eligible", bool, w, True)
        src = probs.source(raw, w)
        if fld is not None and values is not None:
            status.append(MineStatus(fld, tuple(map(str, values)), bool(eligible), str(raw.get("reason_zh", "")),
                                     str(raw.get("reason_en", "")), src))

    modes = []
    for i, raw in enumerate(doc.get("modes", [])):
        w = f"[[modes]][{i}]"
        mid = probs.get(raw, "id", str, w)
        when_raw = probs.get(raw, "when", list, w, [])
        conds = [bf.parse_condition(c, f"{w}.when[{j}]", probs) for j, c in enumerate(when_raw or [])]
        src = probs.source(raw, w)
        if mid is not None:
            modes.append(ModeRule(mid, str(raw.get("zh", mid)), str(raw.get("en", mid)),
                                  tuple(c for c in conds if c is not None), src))
    if not modes:
        probs.add("[[modes]]", "at least one mode rule is needed")
    elif modes[-1].when:
        probs.add("[[modes]]", "the last mode rule must have `when = []` (the default), so every mine gets a mode")

    focus = []
    for i, raw in enumerate(doc.get("focus_areas", [])):
        w = f"[[focus_areas]][{i}]"
        town = probs.get(raw, "township", str, w)
        aliases = probs.get(raw, "aliases", list, w, [])
        src = probs.source(raw, w)
        if town is not None:
            focus.append(FocusArea(town, tuple(map(str, aliases or ())), src))

    mcda = bf.parse_mcda(doc, probs)
    probs.raise_if_any("矿山修复 / mine rehabilitation")
    return MinesParams(lines=tuple(lines), zones=tuple(zones), overlaps=tuple(overlaps), status=tuple(status),
                       mcda=mcda, modes=tuple(modes), focus_areas=tuple(focus), visibility=vis,
                       window_margin_m=float(margin), files=files)


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
    if len(targets) == 0 or len(geoms) == 0:
        return out
    si, ti = STRtree(targets).query(geoms, predicate="intersects")
    if len(si) == 0:
        return out
    pieces = bf.polygonal(shapely.intersection(geoms[si], targets[ti]))
    ids, unions = bf.grouped_union(pieces, si)
    area = shapely.area(geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[ids] = np.where(area[ids] > 0, shapely.area(unions) / area[ids], 0.0)
    return np.clip(out, 0.0, 1.0)


def _read_roles(catalog: Any, roles: Sequence[str]) -> gpd.GeoDataFrame | None:
    frames = [catalog.read(r) for r in roles if catalog.has(r)]
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def line_features(catalog: Any, sources: Sequence[LineSource]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The 两线 lines (filtered by category) as one frame with ``line_role`` and ``name``."""
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
        }, geometry=gdf.geometry.values, crs=catalog.working_crs))
    if not frames:
        return gpd.GeoDataFrame({"line_role": [], "name": [], "synthetic": []}, geometry=[],
                                crs=catalog.working_crs), notes
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=catalog.working_crs), notes


def township_names(catalog: Any, geoms: np.ndarray) -> np.ndarray:
    """Township (乡镇) of each geometry: the township polygon holding its representative point.

    Uses ``name_zh`` where the layer has a non-empty one, else ``name``; ``""`` outside every
    township or when the catalog has no township layer.
    """
    out = np.full(len(geoms), "", dtype=object)
    if not catalog.has("township"):
        return out
    towns = catalog.read("township")
    names = towns["name"].astype(str).to_numpy() if "name" in towns.columns else np.full(len(towns), "")
    if "name_zh" in towns.columns:
        zh = towns["name_zh"].fillna("").astype(str).str.strip().to_numpy()
        names = np.where(zh != "", zh, names)
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    pi, ti = STRtree(np.asarray(towns.geometry.values, dtype=object)).query(pts, predicate="within")
    # a point on a shared boundary may fall in two townships: keep the lowest township index
    first = pd.Series(ti).groupby(pi).min()
    out[first.index.to_numpy()] = names[first.to_numpy()]
    return out


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
    n = len(frame)
    area = np.full(n, "", dtype=object)
    basis = np.full(n, "", dtype=object)
    town = frame["township"].astype(str).to_numpy() if "township" in frame.columns else np.full(n, "")
    name = frame["name"].fillna("").astype(str).to_numpy() if "name" in frame.columns else np.full(n, "")
    cluster = frame["cluster"].fillna("").astype(str).to_numpy() if "cluster" in frame.columns else np.full(n, "")
    for f in areas:
        # Chinese names only for text search: pinyin aliases would match unrelated words
        words = [w for w in (f.township, *f.aliases) if w and not w.isascii()]
        by_town = np.array([f.matches(t) for t in town], dtype=bool)
        by_name = np.array([any(w in x for w in words) for x in name], dtype=bool)
        by_cluster = np.array([f.matches(c) if c else False for c in cluster], dtype=bool)
        for mask, label in ((by_town, "township"), (by_name, "name"), (by_cluster, "cluster")):
            pick = mask & (area == "")
            area[pick] = f.township
            basis[pick] = label
    return pd.DataFrame({"focus_area": area, "focus_basis": basis}, index=frame.index)


def mine_visibility(mines: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, dem: Any, params: MinesParams,
                    visibility: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Share of each mine visible from the 两线 lines (one viewshed for all lines).

    Lines are clipped to the mines grown by ``window_margin_m`` (>= the viewing distance): an
    observer farther than the viewing distance from every mine cannot see any of them, so the
    result equals the viewshed of the whole lines on the mines' cells, at a fraction of the cost.

    Returns
    -------
    (ndarray, list of str)
        Visible share per mine (``nan`` without a DEM) and notes.
    """
    from . import terrain

    notes: list[str] = []
    geoms = np.asarray(mines.geometry.values, dtype=object)
    if dem is None:
        return np.full(len(geoms), np.nan), ["无 DEM，两线可视性未评价 / no DEM: visibility not assessed"]
    if visibility is None:
        if len(lines) == 0:
            return np.zeros(len(geoms)), ["无两线图层，可视比例按 0 计 / no line layers: visible share set to 0"]
        # only observers within the margin of some mine can see it: clip the lines to the mines
        # grown by the margin, so the viewshed costs in proportion to the lines near mines
        window = shapely.union_all(shapely.buffer(geoms, params.window_margin_m))
        clipped = shapely.intersection(np.asarray(lines.geometry.values, dtype=object), window)
        keep = ~shapely.is_empty(clipped)
        win_lines = gpd.GeoDataFrame(lines[keep].drop(columns="geometry"), geometry=clipped[keep], crs=lines.crs)
        if len(win_lines) == 0:
            return np.zeros(len(geoms)), notes
        kwargs = {k: params.visibility[k] for k in ("max_distance_m", "spacing_m", "eye_height_m")
                  if k in params.visibility}
        visibility = terrain.visibility_from_lines(win_lines, dem, **kwargs)
    share = terrain.visible_share(gpd.GeoSeries(geoms, crs=mines.crs), visibility, dem)
    return np.asarray(share, dtype=float), notes


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
        hold = np.ones(n, dtype=bool)
        for cond in rule.when:
            res, _ = bf.evaluate_condition(frame, cond)
            hold &= res
        chosen = np.where((chosen < 0) & hold, k, chosen)
    chosen = np.where(chosen < 0, len(rules) - 1, chosen)
    return pd.DataFrame({
        "mode": [rules[k].id for k in chosen], "mode_zh": [rules[k].zh for k in chosen],
        "mode_en": [rules[k].en for k in chosen], "mode_rule": chosen,
        "mode_source": [rules[k].source for k in chosen]}, index=frame.index)


# =============================================================================================
# Main entry point
# =============================================================================================
def mine_priorities(catalog: Any, *, params: str | Path | Mapping[str, Any] | MinesParams | None = None,
                    dem: Any = None, visibility: np.ndarray | None = None, progress: Progress | None = None,
                    brownfield_params: str | Path | Mapping[str, Any] | bf.BrownfieldParams | None = None
                    ) -> gpd.GeoDataFrame:
    """Priority, rank and recommended rehabilitation mode of every mine site.

    Parameters
    ----------
    catalog : Catalog or path
        Layer catalog with ``mine_site`` and, where available, roads, railways, rivers, nature
        reserves, scenic areas, built-up areas, ecological function areas, red line, townships,
        substations and the DEM.
    params : path, mapping or MinesParams, optional
        Overrides of ``data/mines.toml``.
    dem : terrain Dem or path, optional
        DEM for slope and visibility (default the catalog's ``dem``).
    visibility : ndarray of bool, optional
        A visibility raster on the DEM grid computed earlier (e.g. by a study); skips the viewshed.
    progress : callable, optional
        ``progress(step_label, steps_done, steps_total)``.
    brownfield_params : optional
        Overrides of ``data/brownfield.toml`` for the PV pre-screen.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per mine (geometry = mine outline) with ``visible_share``, distances to the 三区,
        overlaps, ``priority``, ``rank``, ``p_top_k``, ``mode`` (+ ``mode_zh``, ``mode_source``),
        ``township``, ``focus_area``, ``reasons`` and ``synthetic``; sorted by rank, then priority,
        then ``site_id``.  ``attrs["sanxian"]`` holds run notes, weights (dict) and the focus-area
        summary (list of records, see :func:`focus_summary`).
    """
    total = 7
    p = load_params(params)
    bp = bf.load_params(brownfield_params)
    cat = bf._load_catalog(catalog)
    crs = cat.working_crs
    notes: list[str] = []

    bf._step(progress, "矿山 / mine sites", 0, total)
    if not cat.has("mine_site"):
        raise EmptyLayerError(problem("图层目录中没有矿山图层。", "The catalog has no layer with role 'mine_site'.",
                                      file=getattr(cat, "path", None), fix="add the mine layer to the catalog"))
    raw = cat.read("mine_site")
    cand = next((c for c in bp.candidates if c.role == "mine_site"),
                bf.CandidateRole("mine_site", "矿山", "Mine", "catalog"))
    mines = bf._site_frame(raw, cand, ids=raw["layer_id"].astype(str) + "-" + raw["src_fid"].astype(str))
    if "cluster" in raw.columns:
        mines["cluster"] = raw["cluster"].to_numpy()
    mines = mines.iloc[bf._canonical_order(mines, ["site_id"])].reset_index(drop=True)
    if len(mines) == 0:
        raise EmptyLayerError(problem("矿山图层为空。", "The mine layer has no features.", fix="check the layer"))
    geoms = np.asarray(mines.geometry.values, dtype=object)
    frame = mines.drop(columns="geometry").copy()
    frame["township"] = township_names(cat, geoms)
    focus = assign_focus_areas(frame, p.focus_areas)
    frame["focus_area"] = focus["focus_area"].to_numpy()
    frame["focus_basis"] = focus["focus_basis"].to_numpy()

    bf._step(progress, "地形 / terrain", 1, total)
    dem_obj = bf.resolve_dem(cat, dem)
    terr, terr_notes = bf.terrain_table(geoms, crs, dem_obj, slope_threshold_deg=bp.slope_threshold_deg,
                                        south_range_deg=bp.south_range_deg, min_dem_coverage=bp.min_dem_coverage)
    for c in bf.TERRAIN_COLUMNS:
        frame[c] = terr[c].to_numpy()

    bf._step(progress, "三区距离与重叠 / 三区 distances and overlaps", 2, total)
    zone_cols = _sanqu_and_overlaps(frame, cat, p, geoms, notes)

    bf._step(progress, "两线可视性 / visibility from main lines (三区两线)", 3, total)
    lines, line_notes = line_features(cat, p.lines)
    notes.extend(line_notes)
    d_line, j_line = bf.nearest(geoms, np.asarray(lines.geometry.values, dtype=object))
    frame["dist_line_m"] = d_line
    frame["nearest_line"] = np.where(j_line >= 0, lines["name"].to_numpy()[np.maximum(j_line, 0)]
                                     if len(lines) else "", "")
    share, vis_notes = mine_visibility(mines, lines, dem_obj, p, visibility)
    notes.extend(vis_notes)
    frame["visible_share"] = share

    bf._step(progress, "光伏预筛 / PV pre-screen", 4, total)
    pv = pv_prescreen(mines, cat, bp, dem_obj)
    for c in pv.columns:
        frame[c] = pv[c].to_numpy()

    bf._step(progress, "优先度评分 / priority scoring", 5, total)
    eligible, status_notes = _status_eligibility(frame, p)
    frame["eligible"] = eligible
    scores, weights, score_notes = bf.score_and_rank(frame, p.mcda, eligible, ids=frame["site_id"].to_numpy())
    frame["priority"] = scores["score"].to_numpy()
    frame["rank"] = scores["rank"].astype("Int64").to_numpy()
    frame["p_top_k"] = scores["p_top_k"].to_numpy()
    notes.extend(score_notes)

    bf._step(progress, "修复模式 / recommended mode", 6, total)
    modes = recommend_mode(frame, p.modes)
    for c in modes.columns:
        frame[c] = modes[c].to_numpy()
    reasons = _mine_reasons(frame, zone_cols, status_notes, terr_notes)
    frame["reasons"] = reasons
    frame["synthetic"] = frame["synthetic"].astype(bool) | bool(lines["synthetic"].any() if len(lines) else False)

    frame = frame.drop(columns=[c for c in _NOT_FOR_MINES if c in frame.columns])
    out = gpd.GeoDataFrame(frame, geometry=geoms, crs=crs)
    out = _sort(out)
    syn_layers = [e.id for e in cat.synthetic_entries()]
    if syn_layers:
        notes.append("合成数据，非官方管控成果，不得用于决策 / synthetic sample layers, not official zoning: "
                     + ", ".join(syn_layers))
    # attrs hold plain Python values only (pandas compares attrs when concatenating frames)
    out.attrs["sanxian"] = {"notes": notes, "weights": {k: float(v) for k, v in weights.items()},
                            "synthetic_layers": syn_layers,
                            "focus_summary": focus_summary(out, p).to_dict(orient="records"),
                            "params_files": list(p.files)}
    bf._step(progress, "完成 / done", total, total)
    return out


#: Candidate-site columns that mean nothing for mines (dropped from the mine table).
_NOT_FOR_MINES = ("site_type", "site_type_zh", "remediation_status", "risk_class", "closed_year")


def _sanqu_and_overlaps(frame: pd.DataFrame, cat: Any, p: MinesParams, geoms: np.ndarray,
                        notes: list[str]) -> list[tuple[str, Zone]]:
    """Add the 三区 distances, ``in_sanqu``, ``dist_sanqu_m`` and the overlap shares to ``frame``."""
    zone_cols = []
    for zone in p.zones:
        d, used, _ = bf.layer_distance(cat, zone.roles, geoms)
        col = f"dist_{zone.id}_m"
        frame[col] = d
        zone_cols.append((col, zone))
        if not used:
            notes.append(f"缺少三区图层 / no layer of {', '.join(zone.roles)}: {zone.en} not assessed")
    if zone_cols:
        dmat = np.column_stack([frame[c].to_numpy() for c, _ in zone_cols])
        infl = np.array([z.influence_m for _, z in zone_cols])
        with np.errstate(invalid="ignore"):
            frame["in_sanqu"] = np.any(dmat <= infl, axis=1)
        known = ~np.all(np.isnan(dmat), axis=1)
        frame["dist_sanqu_m"] = np.where(known, np.min(np.where(np.isnan(dmat), np.inf, dmat), axis=1), np.nan)
    else:
        frame["in_sanqu"] = False
        frame["dist_sanqu_m"] = np.nan
    for ov in p.overlaps:
        targets = _read_roles(cat, ov.roles)
        if targets is None:
            frame[ov.column] = 0.0
            notes.append(f"缺少图层 / no layer of {', '.join(ov.roles)}: {ov.column} set to 0")
        else:
            frame[ov.column] = overlap_share(geoms, np.asarray(targets.geometry.values, dtype=object))
    return zone_cols


def _status_eligibility(frame: pd.DataFrame, p: MinesParams) -> tuple[np.ndarray, list[list[str]]]:
    """Which mines are ranked (public rehabilitation task) and the status notes per mine."""
    eligible = np.ones(len(frame), dtype=bool)
    notes: list[list[str]] = [[] for _ in range(len(frame))]
    for st in p.status:
        if st.field not in frame.columns:
            continue
        hit = frame[st.field].astype(str).str.strip().isin(st.values).to_numpy()
        if not st.eligible:
            eligible &= ~hit
        if st.reason_zh or st.reason_en:
            for i in np.flatnonzero(hit):
                notes[i].append(f"{st.reason_zh} / {st.reason_en}".strip(" /"))
    return eligible, notes


def _mine_reasons(frame: pd.DataFrame, zone_cols: list[tuple[str, Zone]], status_notes: list[list[str]],
                  terr_notes: list[list[str]]) -> list[str]:
    """One text per mine: status, 三区 and 两线 findings, PV pre-screen, data gaps."""
    reasons = []
    for i in range(len(frame)):
        parts = list(status_notes[i]) + terr_notes[i]
        if frame["in_sanqu"].iat[i]:
            near = [z.zh for c, z in zone_cols if frame[c].iat[i] <= z.influence_m]
            parts.append(f"位于三区周边 / around 三区: {', '.join(near)}")
        vs = frame["visible_share"].iat[i]
        if np.isfinite(vs) and vs > 0:
            parts.append(f"两线可视 / visible from lines: {vs:.0%}")
        if frame["eligible"].iat[i] and np.isnan(frame["priority"].iat[i]):
            parts.append("缺少准则值，无优先度，排在最后 / a criterion value is missing: no priority, ranked last")
        if frame["pv_failed"].iat[i]:
            parts.append(f"光伏预筛未通过 / PV pre-screen failed: {frame['pv_failed'].iat[i]}")
        reasons.append("; ".join(dict.fromkeys(parts)))
    return reasons


def pv_prescreen(mines: gpd.GeoDataFrame, catalog: Any, bp: bf.BrownfieldParams, dem: Any) -> pd.DataFrame:
    """The brownfield PV pre-screen applied to the mines (net area, capacity, grid distance, slope).

    Returns
    -------
    pandas.DataFrame
        ``pv_net_area_m2``, ``pv_capacity_mw``, ``dist_substation_m``, ``pv_prescreen_pass`` and
        ``pv_failed`` (ids of failed tests).
    """
    ex_layers, _ = bf.exclusion_layers(catalog, bp.exclusions)
    net, _ = bf.cut_exclusions(mines, ex_layers)
    crs = catalog.working_crs
    frame = pd.DataFrame(index=range(len(mines)))
    frame["net_area_m2"] = shapely.area(net)
    frame["capacity_mw"] = bf.ground_capacity_mw(gpd.GeoSeries(net, crs=crs), mw_per_ha=bp.density.mw_per_ha).to_numpy()
    geoms = np.where(shapely.is_empty(net), mines.geometry.values, net)
    if catalog.has(bp.substation_role):
        sd = bf.substation_distances(geoms, catalog.read(bp.substation_role), bp.grid_classes,
                                     frame["capacity_mw"].to_numpy(), unknown_voltage=bp.unknown_voltage)
        frame["dist_substation_m"] = sd["dist_substation_m"].to_numpy()
    else:
        frame["dist_substation_m"] = np.nan
    terr, _ = bf.terrain_table(net, crs, dem, slope_threshold_deg=bp.slope_threshold_deg,
                               south_range_deg=bp.south_range_deg, min_dem_coverage=bp.min_dem_coverage)
    frame["slope_mean_deg"] = terr["slope_mean_deg"].to_numpy()
    ok, failed, _ = bf.prescreen(frame, [t for t in bp.prescreen if t.column in frame.columns])
    return pd.DataFrame({"pv_net_area_m2": frame["net_area_m2"].to_numpy(),
                         "pv_capacity_mw": frame["capacity_mw"].to_numpy(),
                         "dist_substation_m": frame["dist_substation_m"].to_numpy(),
                         "pv_prescreen_pass": ok, "pv_failed": [";".join(f) for f in failed]})


def _sort(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    r = gdf["rank"].astype("float").fillna(np.inf).to_numpy()
    s = -gdf["priority"].fillna(-np.inf).to_numpy()
    order = np.lexsort([gdf["site_id"].astype(str).to_numpy(), s, r])
    return gdf.iloc[order].reset_index(drop=True)


def focus_summary(mines: pd.DataFrame, params: MinesParams) -> pd.DataFrame:
    """One row per focus area (e.g. 吴山镇, 万和镇 of clause (九)) and one for all other mines.

    Columns: ``area``, ``mines``, ``abandoned_or_closed`` (eligible), ``gross_area_m2``,
    ``visible_mines`` (visible_share > 0), ``in_sanqu``, ``mean_priority`` (eligible mines),
    ``top10`` (eligible mines ranked in the top 10), one count per mode, and ``source``.
    """
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
            "top10": int((elig["rank"].astype("float") <= 10).sum())}
        for m in mode_ids:
            row[f"mode_{m}"] = int((sub["mode"] == m).sum())
        row["source"] = src
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["FocusArea", "LineSource", "MineStatus", "MinesParams", "ModeRule", "Overlap", "Zone",
           "assign_focus_areas", "focus_summary", "line_features", "load_params", "mine_priorities", "mine_visibility",
           "overlap_share", "pv_prescreen", "recommend_mode", "township_names"]


#: Columns of mines.gpkg layer `mines` and of mines.csv, in this order.
MINE_COLUMNS = (
    "rank", "site_id", "name", "mineral", "status", "county", "cluster", "township", "focus_area", "focus_basis",
    "gross_area_m2", "slope_mean_deg", "slope_max_deg", "elevation_mean_m", "dem_coverage",
    "visible_share", "dist_line_m", "nearest_line", "dist_nature_reserve_m", "dist_scenic_area_m",
    "dist_urban_m", "dist_sanqu_m", "in_sanqu", "eco_overlap_share", "protected_share",
    "pv_net_area_m2", "pv_capacity_mw", "dist_substation_m", "pv_prescreen_pass", "pv_failed",
    "eligible", "priority", "p_top_k", "mode", "mode_zh", "mode_en", "mode_rule", "mode_source",
    "reasons", "synthetic", "source", "layer_id")
#: Headers of mines_focus_areas.csv (the focus-area summary of clause (九)).
FOCUS_HEADERS = {"area": "区域 / Area", "mines": "矿山数 / Mines", "abandoned_or_closed": "废弃+闭坑 / Abandoned or closed",
                 "gross_area_m2": "矿山面积 / Mine area [m²]", "visible_mines": "两线可视矿山 / Mines visible from lines",
                 "in_sanqu": "三区周边矿山 / Mines around 三区", "mean_priority": "平均优先度 / Mean priority",
                 "top10": "前10名矿山 / Mines in top 10", "source": "依据 / Source"}


def write_outputs(result: gpd.GeoDataFrame, out: str | Path) -> dict[str, Path]:
    """Write ``mines.gpkg`` (layer ``mines``), ``mines.csv`` and ``mines_focus_areas.csv`` into ``out``.

    Existing files are replaced: callers (the CLI, studies) decide whether that is allowed.
    """
    from .outputs import write_layers, write_table_csv

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    cols = [c for c in MINE_COLUMNS if c in result.columns]
    gpkg = write_layers(folder / "mines.gpkg", {"mines": result[cols + ["geometry"]]})
    csv = write_table_csv(result, folder / "mines.csv", MINE_COLUMNS)
    focus = pd.DataFrame(result.attrs["sanxian"]["focus_summary"])
    focus_csv = folder / "mines_focus_areas.csv"
    focus.rename(columns=lambda c: FOCUS_HEADERS.get(c, c.replace("mode_", "模式 / mode: "))).to_csv(
        focus_csv, index=False, encoding="utf-8-sig")
    return {"gpkg": gpkg, "csv": csv, "focus_csv": focus_csv}
