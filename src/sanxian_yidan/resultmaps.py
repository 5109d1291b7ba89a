"""Map layers for analysis results: the bridge between results and :mod:`sanxian_yidan.maps`.

Each function turns one kind of result into :class:`~sanxian_yidan.maps.MapLayer` objects styled the
way a review meeting reads them (verdict colours, score and capacity ramps) with popups that list the
figures and their sources.  ``sanxian screen --map`` and the studies both use them.
"""

from __future__ import annotations

from typing import Any, Sequence

import geopandas as gpd

from .maps import CategoryStyle, MapLayer, NumericStyle


def _layer(gdf: gpd.GeoDataFrame, zh: str, en: str, popup: Sequence[str], **kw: Any) -> MapLayer:
    # Popups list the columns the result has; optional ones (e.g. rule_ids) may be absent.
    return MapLayer(gdf, zh, en, popup=[c for c in popup if c in gdf.columns], **kw)


def context_layers(catalog: Any) -> list[MapLayer]:
    """Control units (by class) and the ecological red line, hidden by default."""
    layers = []
    if catalog.has("control_unit"):
        layers.append(_layer(catalog.read("control_unit"), "环境管控单元", "Control units",
                             ["code", "name", "category"], style=CategoryStyle("category",
                                                                               palette="control_unit_category"),
                             tooltip="name", show=False))
    if catalog.has("eco_redline"):
        layers.append(_layer(catalog.read("eco_redline"), "生态保护红线", "Ecological red line", ["code", "name"],
                             tooltip="name", show=False))
    return layers


def finding_lines(result: Any) -> list[list[str]]:
    """Per project (in ``result.projects`` order), one line per finding: rule, severity, message, source."""
    f = result.findings
    f = f[f["kind"] != "note"] if "kind" in f.columns else f
    lines = (f["rule_id"].astype(str) + " [" + f["severity"].astype(str) + "] " + f["message_zh"].astype(str)
             + " / " + f["message_en"].astype(str) + " — 依据 source: " + f["rule_source"].astype(str))
    grouped = lines.groupby(f["project_id"].to_numpy()).agg(list)
    return [grouped.get(pid, []) for pid in result.projects["project_id"]]


def screening_layers(result: Any) -> list[MapLayer]:
    """Project footprints coloured by verdict (popups list every finding with its source), and the overlap
    pieces (hidden)."""
    projects = result.projects.assign(findings=finding_lines(result))
    layers = [_layer(projects, "拟建项目研判结论", "Screening verdicts",
                     ["project_id", "project_name", "industry", "industry_name", "project_type", "verdict_zh",
                      "verdict", "counties", "complete", "findings"],
                     style=CategoryStyle("verdict", palette="verdict"), tooltip="project_name")]
    if len(result.overlaps):
        layers.insert(0, _layer(result.overlaps, "叠加部分", "Overlap pieces",
                                ["project_id", "role", "feature_code", "feature_name", "overlap_area_m2",
                                 "overlap_share"], tooltip="feature_name", show=False))
    return layers


def rooftop_layers(result: Any) -> list[MapLayer]:
    """Buildings by installable capacity (hidden by default: many features)."""
    return [_layer(result.buildings, "屋顶光伏潜力", "Rooftop PV potential",
                   ["rank", "use_category", "capacity_kwp", "annual_kwh", "co2_t", "excluded_reason"],
                   style=NumericStyle("capacity_kwp", ramp="capacity"), tooltip="use_category", show=False)]


def brownfield_layers(result: Any) -> list[MapLayer]:
    """Net developable areas by score, and the excluded parts (hidden)."""
    sites = result.sites[~result.sites.geometry.is_empty]
    layers = [_layer(sites, "棕地光伏（净可开发面积）", "Brownfield PV (net developable area)",
                     ["rank", "name", "site_type_zh", "net_area_m2", "capacity_mw", "annual_mwh", "co2_t", "score",
                      "p_top_k", "reasons"], style=NumericStyle("score", ramp="score"), tooltip="name")]
    if len(result.excluded):
        layers.insert(0, _layer(result.excluded, "扣除部分（禁止用地）", "Excluded parts",
                                ["site_id", "reason_zh", "reason_en", "excluded_area_m2", "rule_source"],
                                tooltip="reason_zh", show=False))
    return layers


def mine_layers(mines: gpd.GeoDataFrame) -> list[MapLayer]:
    """Mine sites by rehabilitation priority, hidden by default."""
    return [_layer(mines, "矿山修复优先度", "Mine rehabilitation priority",
                   ["rank", "name", "township", "priority", "visible_share", "mode_zh", "mode_en", "mode_source",
                    "reasons"], style=NumericStyle("priority", ramp="priority"), tooltip="name", show=False)]
