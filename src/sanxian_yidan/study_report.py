"""The study report: summary figures, charts, tables, every rule and factor with its source, provenance.

Built from a :class:`~sanxian_yidan.study.StudyRun` with the generic helpers of
:mod:`sanxian_yidan.report` (every data-supplied text is escaped).  Charts are
PNG images embedded as data URIs, so ``report.html`` is one self-contained file
that opens on an intranet machine without network.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .charts import bar_chart
from .datafiles import load_toml, packaged_path
from .report import Column, banner_html, escape, page_html, table_html

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .study import StudyRun

#: Data files whose sourced entries the report lists (packaged defaults; a user override is listed too).
PARAMETER_FILES = ("benefits.toml", "solar.toml", "rooftop.toml", "brownfield.toml", "mines.toml",
                   "terrain.toml", "mcda.toml", "screening.toml")
_ANALYSIS_TITLES = {"screening": "环境准入研判 / Access screening", "rooftops": "屋顶光伏 / Rooftop PV",
                    "brownfields": "棕地光伏 / Brownfield PV", "mines": "矿山生态修复 / Mine rehabilitation"}


def write_study_report(run: StudyRun, view: Catalog) -> list[Path]:
    """Write ``report.html`` into the study's output folder and return ``[path]``."""
    path = run.config.output / "report.html"
    path.write_text(study_report_html(run, view), encoding="utf-8")
    return [path]


def study_report_html(run: StudyRun, view: Catalog) -> str:
    """The whole study report as one HTML page."""
    cfg = run.config
    parts = [f"<h1>{escape(cfg.title_zh)}<br><span class='en'>{escape(cfg.title_en)}</span></h1>",
             banner_html(run.synthetic_layers),
             f"<p>区域 / Region: <b>{escape(cfg.region)}</b> · 生成时间 / Generated: "
             f"{escape(run.generated.isoformat(timespec='seconds'))} · 研究文件 / Study file: "
             f"{escape(cfg.path.name)}</p>"]
    if cfg.notes:
        parts.append(f"<p class='src'>{escape(cfg.notes)}</p>")
    parts += [_summary_section(run), _links_section(run), _skipped_section(run)]
    figures = _Figures(run, view)
    parts += [section(run, figures) for name, section in _SECTIONS.items() if name in run.results]
    parts.append("<details class='appendix'><summary>附录：规则、参数、依据与数据溯源（点击展开）/ Appendix: rules, "
                 "parameters, sources and provenance (click to open)</summary>"
                 + _sources_section(run, view) + _provenance_section(run) + "</details>")
    return page_html(f"{cfg.title_zh} / {cfg.title_en}", "\n".join(p for p in parts if p))


# ------------------------------------------------------------------------------------------ sections
def _summary_section(run: StudyRun) -> str:
    rows = []
    r = run.results
    if "screening" in r:
        from .maps.styles import verdict_labels

        counts, labels = r["screening"].verdict_counts(), verdict_labels()
        text = "; ".join(f"{labels.get(k, k)} {v}" for k, v in counts.items() if v)
        rows.append({"item": "拟建项目 / Projects screened", "value": len(r["screening"].projects), "note": text})
    if "rooftops" in r:
        total = _total_row(r["rooftops"].counties)
        rows += [{"item": "屋顶光伏技术潜力 / Rooftop technical potential [MWp]",
                  "value": total["capacity_kwp"] / 1000, "note": "全部可用屋顶 / all usable roofs"},
                 {"item": "整县推进政策目标容量 / Pilot policy-target capacity [MWp]",
                  "value": total["policy_target_kwp"] / 1000, "note": "2021 pilot minimum shares"},
                 {"item": "屋顶光伏年发电量 / Rooftop annual generation [GWh]",
                  "value": total["annual_kwh"] / 1e6, "note": ""},
                 {"item": "屋顶光伏减排 CO₂ / Rooftop avoided CO₂ [t/yr]", "value": total["co2_t"], "note": ""}]
    if "brownfields" in r:
        s = r["brownfields"].totals()
        rows += [{"item": "棕地候选 / Brownfield candidates", "value": s["sites"],
                  "note": f"ranked 入围 {s['ranked']}"},
                 {"item": "净可开发面积 / Net developable area [ha]", "value": s["net_area_m2"] / 1e4,
                  "note": f"excluded 扣除 {s['excluded_area_m2'] / 1e4:,.1f} ha"},
                 {"item": "入围棕地装机 / Ranked brownfield capacity [MW]", "value": s["ranked_capacity_mw"],
                  "note": f"{s['ranked_annual_mwh'] / 1000:,.1f} GWh/yr, {s['ranked_co2_t']:,.0f} t CO₂/yr"}]
    if "mines" in r:
        mines = r["mines"].mines
        visible = int((mines["visible_share"].fillna(0) > 0).sum()) if "visible_share" in mines else 0
        rows.append({"item": "矿山 / Mine sites", "value": len(mines),
                     "note": f"visible from main lines 两线可视 {visible}"})
    for row in rows:
        value = row["value"]
        row["value"] = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    cols = [Column("item", "指标 / Figure"), Column("value", "数值 / Value", numeric=True),
            Column("note", "说明 / Note")]
    return "<h2>摘要 / Summary</h2>" + table_html(rows, cols)


def _links_section(run: StudyRun) -> str:
    base = run.config.output
    links = [p for key in ("map", "screening", "rooftops", "brownfields", "mines") for p in run.outputs.get(key, [])]
    items = "".join(f"<li><a href='{escape(p.relative_to(base).as_posix())}'>"
                    f"{escape(p.relative_to(base).as_posix())}</a></li>" for p in links)
    return f"<h2>地图与输出文件 / Map and output files</h2><ul>{items}</ul>"


def _skipped_section(run: StudyRun) -> str:
    if not run.skipped:
        return ""
    rows = [{"analysis": _ANALYSIS_TITLES.get(k, k), "reason": v} for k, v in run.skipped.items()]
    return ("<h2>未运行的分析 / Analyses skipped</h2><div class='warn'>"
            + table_html(rows, [Column("analysis", "分析 / Analysis"), Column("reason", "原因 / Reason")])
            + "</div>")


def _screening_section(run: StudyRun, figures: _Figures) -> str:
    result = run.results["screening"]
    counts = {k: v for k, v in result.verdict_counts().items() if v}
    from .maps.styles import verdict_labels
    from .report import verdict_colour

    labels = verdict_labels()
    chart = _chart([labels.get(v, v) for v in counts], list(counts.values()), "研判结论 / Verdicts",
                   "项目数 / projects", colours=[verdict_colour(v) for v in counts])
    rows = result.summary_table().to_dict("records")
    cols = [Column.registered("project_id"), Column.registered("project_name"), Column.registered("industry"),
            Column.registered("verdict_zh"), Column.registered("verdict"), Column.registered("n_findings"),
            Column.registered("rule_ids"), Column.registered("counties")]
    from .figures import FigureLayer

    figure = figures([FigureLayer(result.projects, "projects", column="verdict", markers=True)],
                     "拟建项目研判结论 / Screening verdicts of the proposed projects")
    return (f"<h2>{_ANALYSIS_TITLES['screening']}</h2>{figure}{chart}" + table_html(rows, cols)
            + "<p class='src'>每个项目的详细研判（发现、依据、准入清单原文）见 <a href='screening/report.html'>"
              "screening/report.html</a>，可打印的单页研判单见 screening/sheets/ / Findings with citations and "
              "access-list texts per project: screening/report.html; a printable one-page sheet per project: "
              "screening/sheets/</p>")


def _rooftop_section(run: StudyRun, figures: _Figures, top: int | None = None) -> str:
    result = run.results["rooftops"]
    top = top or int(run.config.analyses["rooftops"].get("top", 20))
    towns = result.townships.sort_values(["capacity_kwp", "township"], ascending=[False, True]).head(top)
    chart = _chart([str(t) for t in towns["township"]], list(towns["capacity_kwp"] / 1000),
                   "乡镇屋顶光伏技术潜力 / Rooftop technical potential by township", "MWp")
    cols = [Column.registered("county"), Column.registered("township"),
            Column.registered("capacity_kwp", numeric=True), Column.registered("policy_target_kwp", numeric=True),
            Column.registered("gap_kwp", numeric=True), Column.registered("annual_kwh", numeric=True),
            Column.registered("co2_t", numeric=True, digits=1)]
    from .figures import FigureLayer

    figure = figures([FigureLayer(_township_potential(figures.view, result.townships), "rooftops",
                                  column="capacity_kwp", label="乡镇技术潜力 / township potential [kWp]")],
                     "乡镇屋顶光伏技术潜力 / Rooftop technical potential by township [kWp]")
    return (f"<h2>{_ANALYSIS_TITLES['rooftops']}</h2>{figure}{chart}"
            + table_html(towns.to_dict("records"), cols) + "<h3>县级合计 / County totals</h3>"
            + table_html(result.counties.to_dict("records"), cols))


def _brownfield_section(run: StudyRun, figures: _Figures) -> str:
    result = run.results["brownfields"]
    top = int(run.config.analyses["brownfields"].get("top", 15))
    ranked = result.sites[result.sites["rank"].notna()].head(top)
    chart = _chart([f"{int(r)}. {n}" for r, n in zip(ranked["rank"], ranked["name"])], list(ranked["capacity_mw"]),
                   "入围棕地装机容量 / Capacity of the ranked brownfield sites", "MW", fmt="{:,.1f}")
    cols = [Column.registered("rank"), Column.registered("name"), Column.registered("site_type_zh"),
            Column.registered("net_area_m2", numeric=True), Column.registered("capacity_mw", numeric=True, digits=2),
            Column.registered("annual_mwh", numeric=True), Column.registered("co2_t", numeric=True),
            Column.registered("score", numeric=True, digits=3), Column.registered("p_top_k", numeric=True, digits=2)]
    notes = "".join(f"<li>{escape(n.text())}</li>" for n in result.notes)
    from .figures import FigureLayer

    layers = []
    if len(result.excluded):
        layers.append(FigureLayer(result.excluded, "excluded_parts"))
    layers.append(FigureLayer(result.sites[~result.sites.geometry.is_empty], "brownfield_sites", column="score",
                              label="综合得分 / score", markers=True))
    figure = figures(layers, "棕地净可开发面积（按综合得分着色）/ Brownfield net areas by score")
    return (f"<h2>{_ANALYSIS_TITLES['brownfields']}</h2>{figure}{chart}" + table_html(ranked.to_dict("records"), cols)
            + (f"<ul class='src'>{notes}</ul>" if notes else ""))


def _mines_section(run: StudyRun, figures: _Figures) -> str:
    mines = run.results["mines"].mines
    top = int(run.config.analyses["mines"].get("top", 15))
    modes = mines["mode_zh"].value_counts().sort_index()
    chart = _chart(list(modes.index), list(modes.values), "推荐修复模式 / Recommended mode", "矿山数 / mines")
    ranked = mines[mines["rank"].notna()].sort_values("rank").head(top)
    cols = [Column.registered("rank"), Column.registered("name"), Column.registered("township"),
            Column.registered("priority", numeric=True, digits=3),
            Column.registered("visible_share", numeric=True, digits=2),
            Column.registered("mode_zh"), Column.registered("mode_source")]
    from .figures import FigureLayer

    figure = figures([FigureLayer(mines, "mines", column="priority", label="优先度 / priority", markers=True)],
                     "矿山修复优先度 / Mine rehabilitation priority")
    return f"<h2>{_ANALYSIS_TITLES['mines']}</h2>{figure}{chart}" + table_html(ranked.to_dict("records"), cols)


_SECTIONS = {"screening": _screening_section, "rooftops": _rooftop_section,
             "brownfields": _brownfield_section, "mines": _mines_section}


def _sources_section(run: StudyRun, view: Catalog) -> str:
    parts = ["<h2>规则、参数与依据 / Rules, parameters and their sources</h2>"]
    if "screening" in run.results:
        rules = [{"id": r.id, "title": f"{r.title_zh} / {r.title_en}", "severity": r.severity, "source": r.source}
                 for r in run.results["screening"].rules.rules]
        parts.append("<h3>准入规则 / Screening rules</h3>" + table_html(rules, [
            Column("id", "规则 / Rule"), Column("title", "标题 / Title"), Column("severity", "等级 / Severity"),
            Column("source", "依据 / Source")]))
    rows = list(parameter_sources(run))
    parts.append("<h3>参数与系数 / Parameters and factors</h3>" + table_html(rows, [
        Column("file", "文件 / File"), Column("key", "参数 / Key"), Column("value", "取值 / Value"),
        Column("source", "依据 / Source")]))
    layers = [{"id": e.id, "role": e.role, "title": f"{e.title_zh} / {e.title_en}",
               "synthetic": e.synthetic, "source": e.source, "licence": e.licence} for e in view.entries]
    parts.append("<h3>图层 / Layers</h3>" + table_html(layers, [
        Column("id", "图层 / Layer"), Column("role", "角色 / Role"), Column("title", "名称 / Title"),
        Column("synthetic", "合成 / Synthetic"), Column("source", "来源 / Source"),
        Column("licence", "许可 / Licence")]))
    return "\n".join(parts)


def parameter_sources(run: StudyRun) -> Iterable[dict[str, str]]:
    """Every sourced entry of the parameter files in force: file, key, value(s), source.

    A table with a ``source`` key yields one row holding its other scalar values; a key ``x_source``
    yields a row for the value ``x`` of the same table.
    """
    files = [packaged_path(name) for name in PARAMETER_FILES]
    files += [Path(v) for opts in run.config.analyses.values() for k, v in opts.items() if k == "params"]
    for path in files:
        if path.is_file():
            yield from _sourced_entries(load_toml(path), path.name, "")


def _sourced_entries(table: Mapping[str, Any], file: str, prefix: str) -> Iterable[dict[str, str]]:
    scalars = {k: v for k, v in table.items() if not isinstance(v, (dict, list)) or _is_scalar_list(v)}
    if "source" in scalars:
        values = "; ".join(f"{k} = {_fmt(v)}" for k, v in scalars.items()
                           if k != "source" and not k.endswith("_source"))
        if not values:
            values = (_NO_VALUE_FILE if not prefix else _NO_VALUE_TABLE)
        yield {"file": file, "key": prefix or _WHOLE_FILE, "value": values, "source": str(scalars["source"])}
    for key, value in scalars.items():
        if key.endswith("_source") and key != "source":
            name = key[: -len("_source")]
            named = {k: v for k, v in scalars.items()
                     if (k == name or k.startswith(name + "_")) and not k.endswith("source")}
            shown = "; ".join(f"{k} = {_fmt(v)}" for k, v in named.items()) or _NO_VALUE_KEY
            yield {"file": file, "key": f"{prefix}.{name}".strip("."), "value": shown, "source": str(value)}
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _sourced_entries(value, file, f"{prefix}.{key}".strip("."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                yield from _sourced_entries(item, file, f"{prefix}.{key}[{item.get('id', i)}]".strip("."))


#: Shown instead of an empty value cell, with the reason.
_WHOLE_FILE = "（整个文件）/ (whole file)"
_NO_VALUE_FILE = "— 文件总体来源，各取值见下列条目 / source of the whole file; values in the rows below"
_NO_VALUE_TABLE = "— 本组总体来源，各取值见下列条目 / source of this group; values in the rows below"
_NO_VALUE_KEY = "— 该来源说明的是下列同组取值 / this source covers the values of the same group"


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value)


def _fmt(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 160 else text[:157] + "…"


def _provenance_section(run: StudyRun) -> str:
    import json

    from .provenance import file_record, package_versions
    from .study import study_parameters

    base = run.config.path.parent.parent
    files = [dict(file_record(p, relative_to=base), kind="input 输入") for p in run.inputs]
    files += [dict(file_record(p, relative_to=base), kind="rules/parameters 规则参数") for p in run.data_files]
    file_cols = [Column("kind", "类别 / Kind"), Column("path", "文件 / File"),
                 Column("bytes", "大小 / Size [bytes]", numeric=True), Column("sha256", "SHA-256")]
    versions = [{"package": k, "version": v} for k, v in package_versions().items()]
    params = json.dumps(_public(study_parameters(run), base), ensure_ascii=False, indent=1, sort_keys=True,
                        default=str)
    return ("<h2>数据溯源 / Provenance</h2><h3>输入文件 / Inputs</h3>" + table_html(files, file_cols)
            + "<h3>软件版本 / Package versions</h3>"
            + table_html(versions, [Column("package", "软件包 / Package"), Column("version", "版本 / Version")])
            + f"<h3>参数 / Parameters</h3><pre>{escape(params)}</pre>"
            + "<p>输出文件的 SHA-256 见 / SHA-256 of every output: <a href='manifest.json'>manifest.json</a></p>")


# ------------------------------------------------------------------------------------------ helpers
def _public(value: Any, base: Path) -> Any:
    """``value`` with every absolute file path replaced by its public name (no machine paths in reports)."""
    from .provenance import display_path

    if isinstance(value, dict):
        return {k: _public(v, base) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_public(v, base) for v in value]
    if isinstance(value, str) and Path(value).is_absolute():
        return display_path(value, base)
    return value


def _total_row(counties: pd.DataFrame) -> Mapping[str, float]:
    from .rooftop import TOTAL

    total = counties[counties["county"] == TOTAL]
    return (total.iloc[0] if len(total) else counties.sum(numeric_only=True)).to_dict()


def _township_potential(view: Catalog, townships: pd.DataFrame) -> Any:
    """Township polygons of the catalog with the rooftop table's ``capacity_kwp`` (joined by county and name)."""
    import geopandas as gpd

    if not view.has("township"):
        return gpd.GeoDataFrame(geometry=[])
    polys = view.read("township")
    table = townships[townships["township"].notna()][["county", "township", "capacity_kwp"]]
    from .placenames import display_names

    keys = ["county"] if "county" in polys.columns else []
    # the rooftop table names townships as display_names does (Chinese, else pinyin marked as such)
    polys = polys.assign(_shown=display_names(polys))
    joined = polys.merge(table if keys else table.drop(columns="county"), left_on=["_shown"] + keys,
                         right_on=["township"] + keys)
    return joined.drop(columns="_shown") if len(joined) else gpd.GeoDataFrame(geometry=[])


class _Figures:
    """Draws the static map figures of the study report: ``layers`` over the study's context layers,
    extent = the results with a margin, within the study region (:func:`~sanxian_yidan.figures.zoomed_bounds`);
    the county and township outlines are context; the context layers are read once for all figures."""

    def __init__(self, run: StudyRun, view: Catalog) -> None:
        self.run, self.view, self.cache = run, view, {}

    def __call__(self, layers: list[Any], title: str) -> str:
        from .figures import catalog_context, figure_settings, map_png, zoomed_bounds

        layers = [layer for layer in layers if len(layer.gdf)]
        if not layers:
            return ""
        settings = figure_settings("study")
        region = None
        for role in ("township", "admin_boundary"):  # townships are cut to the study region, counties are not
            if role not in self.cache and self.view.has(role):
                self.cache[role] = self.view.read(role)
            if region is None and len(self.cache.get(role, ())):
                region = self.cache[role]
        results = pd.concat([layer.gdf.geometry for layer in layers])
        bounds = zoomed_bounds(results, region.geometry if region is not None else None, settings)
        context = catalog_context(self.view, settings.context_roles, bounds, cache=self.cache)
        note = "含合成示例数据 / includes synthetic sample data" if self.run.synthetic_layers else ""
        png = map_png(context + layers, bounds, title=title, settings=settings, note=note)
        data = base64.b64encode(png).decode("ascii")
        return (f"<figure><img alt='{escape(title)}' src='data:image/png;base64,{data}'><figcaption>"
                f"{escape(title)}；图式同交互地图 / same styles as the web map (map.html)</figcaption></figure>")


def _chart(labels: list[str], values: list[float], title: str, xlabel: str, *, fmt: str = "{:,.0f}",
           colours: list[str] | None = None) -> str:
    if not labels:
        return ""
    png = bar_chart(labels, values, title=title, xlabel=xlabel, value_format=fmt, colours=colours)
    data = base64.b64encode(png).decode("ascii")
    return f"<p><img alt='{escape(title)}' src='data:image/png;base64,{data}' style='max-width:100%'></p>"
