"""The study report: summary figures, charts, tables, every rule and factor with its source, provenance.

Built from a :class:`~sanxian_yidan.study.StudyRun`: this module gathers the rows, figures and charts, the
template ``templates/study_report.html.j2`` lays them out with the building blocks of the screening report
(``report_parts.html.j2``), autoescaped, so every data-supplied text is escaped.  Charts are
PNG images embedded as data URIs, so ``report.html`` is one self-contained file
that opens on an intranet machine without network.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from .charts import bar_chart
from .datafiles import load_toml, packaged_path
from .report import Column, page_html

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .screening.result import ScreeningResult
    from .studyrun import StudyRun

#: Data files whose sourced entries the report lists (packaged defaults; a user override is listed too).
PARAMETER_FILES = ("benefits.toml", "solar.toml", "rooftop.toml", "brownfield.toml", "mines.toml",
                   "terrain.toml", "mcda.toml", "screening.toml")


def _title(name: str) -> str:
    """``中文 / English`` title of a registered analysis (its name when it is not registered)."""
    from .analysis import analyses

    found = analyses().get(name)
    return found.title if found is not None else name


def write_study_report(run: StudyRun, view: Catalog) -> list[Path]:
    """Write ``report.html`` into the study's output folder and return ``[path]``."""
    path = run.config.output / "report.html"
    path.write_text(study_report_html(run, view), encoding="utf-8")
    return [path]


def study_report_html(run: StudyRun, view: Catalog) -> str:
    """The whole study report as one HTML page (template ``templates/study_report.html.j2``, autoescaped)."""
    from .report import template_environment

    cfg = run.config
    figures = _Figures(run, view)
    summary_rows, summary_cols = _summary_rows(run)
    files, file_cols, versions, version_cols, params = _provenance(run)
    body = template_environment().get_template("study_report.html.j2").render(
        title_zh=cfg.title_zh, title_en=cfg.title_en, synthetic_layers=list(run.synthetic_layers or []),
        region=cfg.region, generated=run.generated.isoformat(timespec="seconds"), study_file=cfg.path.name,
        notes=cfg.notes, summary_rows=summary_rows, summary_cols=summary_cols, links=_links(run),
        skipped_rows=[{"analysis": _title(k), "reason": v} for k, v in run.skipped.items()],
        skipped_cols=[Column("analysis", "分析 / Analysis"), Column("reason", "原因 / Reason")],
        sections=[section(run, figures) for name, section in _SECTIONS.items() if name in run.results],
        source_tables=_source_tables(run, view), files=files, file_cols=file_cols, versions=versions,
        version_cols=version_cols, params=params)
    return page_html(f"{cfg.title_zh} / {cfg.title_en}", body)


def _section(name: str, figure: dict[str, str] | None, chart: dict[str, str] | None, *tables: dict[str, Any],
             notes: Iterable[str] = (), screening_link: bool = False) -> dict[str, Any]:
    """One analysis section as the template draws it: title, map figure, chart, tables, notes."""
    return {"title": _title(name), "figure": figure, "chart": chart, "tables": list(tables),
            "notes": list(notes), "screening_link": screening_link}


def _table(rows: Iterable[Mapping[str, Any]], cols: list[Column], heading: str | None = None) -> dict[str, Any]:
    return {"heading": heading, "rows": list(rows), "cols": cols}


# ------------------------------------------------------------------------------------------ sections
def _summary_rows(run: StudyRun) -> tuple[list[dict[str, Any]], list[Column]]:
    """The headline figures of every result (its ``summary`` table), analysis by analysis."""
    rows = [{"analysis": _title(name), "item": f"{row['label_zh']} / {row['label_en']}",
             "value": _figure(row["value"]), "unit": row["unit"], "source": row["source"] or "—"}
            for name, result in run.results.items() for row in result.summary.to_dict("records")]
    cols = [Column("analysis", "分析 / Analysis"), Column("item", "指标 / Figure"),
            Column("value", "数值 / Value", numeric=True), Column("unit", "单位 / Unit"),
            Column("source", "依据 / Source")]
    return rows, cols


def _figure(value: Any) -> str:
    """A headline figure as read aloud: counts as integers, other numbers to one decimal, with separators."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "dtype"):
        return str(value)
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.1f}"


def _links(run: StudyRun) -> list[str]:
    """The output files the report links to, relative to the study's output folder."""
    base = run.config.output
    return [p.relative_to(base).as_posix()
            for key in ("map", *run.results) for p in run.outputs.get(key, [])]


def _screening_section(run: StudyRun, figures: _Figures) -> dict[str, Any]:
    result = cast("ScreeningResult", run.results["screening"])
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

    figure = figures([FigureLayer(result.tables["projects"], "projects", column="verdict", markers=True)],
                     "拟建项目研判结论 / Screening verdicts of the proposed projects")
    return _section("screening", figure, chart, _table(rows, cols), screening_link=True)


def _rooftop_section(run: StudyRun, figures: _Figures, top: int | None = None) -> dict[str, Any]:
    tables = run.results["rooftops"].tables
    top = top or int(run.config.analyses["rooftops"].get("top", 20))
    towns = tables["townships"].sort_values(["capacity_kwp", "township"], ascending=[False, True]).head(top)
    chart = _chart([str(t) for t in towns["township"]], list(towns["capacity_kwp"] / 1000),
                   "乡镇屋顶光伏技术潜力 / Rooftop technical potential by township", "MWp")
    cols = [Column.registered("county"), Column.registered("township"),
            Column.registered("capacity_kwp", numeric=True), Column.registered("policy_target_kwp", numeric=True),
            Column.registered("gap_kwp", numeric=True), Column.registered("annual_kwh", numeric=True),
            Column.registered("co2_t", numeric=True, digits=1)]
    from .figures import FigureLayer

    figure = figures([FigureLayer(_township_potential(figures.view, tables["townships"]), "rooftops",
                                  column="capacity_kwp", label="乡镇技术潜力 / township potential [kWp]")],
                     "乡镇屋顶光伏技术潜力 / Rooftop technical potential by township [kWp]")
    return _section("rooftops", figure, chart, _table(towns.to_dict("records"), cols),
                    _table(tables["counties"].to_dict("records"), cols, "县级合计 / County totals"))


def _brownfield_section(run: StudyRun, figures: _Figures) -> dict[str, Any]:
    result = run.results["brownfields"]
    sites, excluded = result.tables["sites"], result.tables["excluded"]
    top = int(run.config.analyses["brownfields"].get("top", 15))
    ranked = sites[sites["rank"].notna()].head(top)
    chart = _chart([f"{int(r)}. {n}" for r, n in zip(ranked["rank"], ranked["name"])], list(ranked["capacity_mw"]),
                   "入围棕地装机容量 / Capacity of the ranked brownfield sites", "MW", fmt="{:,.1f}")
    cols = [Column.registered("rank"), Column.registered("name"), Column.registered("site_type_zh"),
            Column.registered("net_area_m2", numeric=True), Column.registered("capacity_mw", numeric=True, digits=2),
            Column.registered("annual_mwh", numeric=True), Column.registered("co2_t", numeric=True),
            Column.registered("score", numeric=True, digits=3), Column.registered("p_top_k", numeric=True, digits=2)]
    notes = [n.text() for n in result.notes]
    from .figures import FigureLayer

    layers = []
    if len(excluded):
        layers.append(FigureLayer(excluded, "excluded_parts"))
    layers.append(FigureLayer(sites[~sites.geometry.is_empty], "brownfield_sites", column="score",
                              label="综合得分 / score", markers=True))
    figure = figures(layers, "棕地净可开发面积（按综合得分着色）/ Brownfield net areas by score")
    return _section("brownfields", figure, chart, _table(ranked.to_dict("records"), cols), notes=notes)


def _mines_section(run: StudyRun, figures: _Figures) -> dict[str, Any]:
    mines = run.results["mines"].tables["mines"]
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
    return _section("mines", figure, chart, _table(ranked.to_dict("records"), cols))


_SECTIONS = {"screening": _screening_section, "rooftops": _rooftop_section,
             "brownfields": _brownfield_section, "mines": _mines_section}


def _source_tables(run: StudyRun, view: Catalog) -> list[dict[str, Any]]:
    """The appendix tables: screening rules, sourced parameters and factors, layers (each with its source)."""
    parts = []
    if "screening" in run.results:
        rules = [{"id": r.id, "title": f"{r.title_zh} / {r.title_en}", "severity": r.severity, "source": r.source}
                 for r in cast("ScreeningResult", run.results["screening"]).rules.rules]
        parts.append(_table(rules, [
            Column("id", "规则 / Rule"), Column("title", "标题 / Title"), Column("severity", "等级 / Severity"),
            Column("source", "依据 / Source")], "准入规则 / Screening rules"))
    rows = list(parameter_sources(run))
    parts.append(_table(rows, [
        Column("file", "文件 / File"), Column("key", "参数 / Key"), Column("value", "取值 / Value"),
        Column("source", "依据 / Source")], "参数与系数 / Parameters and factors"))
    layers = [{"id": e.id, "role": e.role, "title": f"{e.title_zh} / {e.title_en}",
               "synthetic": e.synthetic, "source": e.source, "licence": e.licence} for e in view.entries]
    parts.append(_table(layers, [
        Column("id", "图层 / Layer"), Column("role", "角色 / Role"), Column("title", "名称 / Title"),
        Column("synthetic", "合成 / Synthetic"), Column("source", "来源 / Source"),
        Column("licence", "许可 / Licence")], "图层 / Layers"))
    return parts


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


def _provenance(run: StudyRun) -> tuple[list[dict[str, Any]], list[Column], list[dict[str, str]], list[Column], str]:
    """Provenance of the appendix: input and rule files (size, SHA-256), package versions, the parameters (JSON)."""
    import json

    from .provenance import file_record, package_versions
    from .studyrun import study_parameters

    base = run.config.path.parent.parent
    files = [dict(file_record(p, relative_to=base), kind="input 输入") for p in run.inputs]
    files += [{"kind": "rules/parameters 规则参数", "path": name, "bytes": None, "sha256": sha}
              for name, sha in run.data_files.items()]
    file_cols = [Column("kind", "类别 / Kind"), Column("path", "文件 / File"),
                 Column("bytes", "大小 / Size [bytes]", numeric=True), Column("sha256", "SHA-256")]
    versions = [{"package": k, "version": v} for k, v in package_versions().items()]
    params = json.dumps(_public(study_parameters(run), base), ensure_ascii=False, indent=1, sort_keys=True,
                        default=str)
    version_cols = [Column("package", "软件包 / Package"), Column("version", "版本 / Version")]
    return files, file_cols, versions, version_cols, params


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
        self.run, self.view = run, view
        self.cache: dict[str, Any] = {}

    def __call__(self, layers: list[Any], title: str) -> dict[str, str] | None:
        from .figures import catalog_context, figure_settings, map_png, zoomed_bounds

        layers = [layer for layer in layers if len(layer.gdf)]
        if not layers:
            return None
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
        return {"title": title, "png": base64.b64encode(png).decode("ascii")}


def _chart(labels: list[str], values: list[float], title: str, xlabel: str, *, fmt: str = "{:,.0f}",
           colours: list[str] | None = None) -> dict[str, str] | None:
    """A bar chart (PNG, base64) for the template, or ``None`` without bars."""
    if not labels:
        return None
    png = bar_chart(labels, values, title=title, xlabel=xlabel, value_format=fmt, colours=colours)
    return {"title": title, "png": base64.b64encode(png).decode("ascii")}
