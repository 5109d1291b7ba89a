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
from typing import TYPE_CHECKING, Any

import pandas as pd

from .analysis import ReportChart, ReportColumn, ReportSection, ReportTable, analyses
from .charts import bar_chart
from .datafiles import load_toml, packaged_path
from .report import Column, page_html

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .studyrun import StudyRun

#: Data files whose sourced entries the report lists (packaged defaults; a user override is listed too).
PARAMETER_FILES = ("benefits.toml", "solar.toml", "rooftop.toml", "brownfield.toml", "mines.toml",
                   "terrain.toml", "mcda.toml", "screening.toml")


def _title(name: str) -> str:
    """``中文 / English`` title of a registered analysis (its name when it is not registered)."""
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
    sections = {name: section for name, result in run.results.items()
                if (section := result.report_section(cfg.analyses.get(name, {}), view)) is not None}
    files, versions, params = _provenance(run)
    body = template_environment().get_template("study_report.html.j2").render(
        title_zh=cfg.title_zh, title_en=cfg.title_en, synthetic_layers=list(run.synthetic_layers or []),
        region=cfg.region, generated=run.generated.isoformat(timespec="seconds"), study_file=cfg.path.name,
        notes=cfg.notes, summary=_table(_summary(run)), links=_links(run),
        skipped=_table(ReportTable([{"analysis": _title(k), "reason": v} for k, v in run.skipped.items()],
                                   _headed(("analysis", "分析 / Analysis"), ("reason", "原因 / Reason")))),
        sections=[_section(name, section, figures) for name, section in sections.items()],
        source_tables=[_table(t) for s in sections.values() for t in s.appendix] + _source_tables(run, view),
        files=files, versions=versions, params=params)
    return page_html(f"{cfg.title_zh} / {cfg.title_en}", body)


def _section(name: str, section: ReportSection, figures: _Figures) -> dict[str, Any]:
    """One analysis section as the template draws it: title, map figure, chart, tables, notes, pointer."""
    return {"title": _title(name), "figure": figures(list(section.figure_layers), section.figure_title),
            "chart": section.chart and _chart(section.chart),
            "tables": [_table(t) for t in section.tables], "notes": list(section.notes),
            "see_also": section.see_also and (section.see_also[0], f"{name}/{section.see_also[1]}",
                                              section.see_also[2])}


def _table(table: ReportTable) -> dict[str, Any]:
    cols = [Column.registered(c.key, numeric=c.numeric, digits=c.digits, header=c.header) for c in table.columns]
    return {"heading": table.heading, "rows": list(table.rows), "cols": cols}


# ------------------------------------------------------------------------------------------ sections
def _summary(run: StudyRun) -> ReportTable:
    """The headline figures of every result (its ``summary`` table), analysis by analysis."""
    rows = [{"analysis": _title(name), "item": f"{row['label_zh']} / {row['label_en']}",
             "value": _figure(row["value"]), "unit": row["unit"], "source": row["source"] or "—"}
            for name, result in run.results.items() for row in result.summary.to_dict("records")]
    return ReportTable(rows, (*_headed(("analysis", "分析 / Analysis"), ("item", "指标 / Figure")),
                              ReportColumn("value", numeric=True, header="数值 / Value"),
                              *_headed(("unit", "单位 / Unit"), ("source", "依据 / Source"))))


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


def _source_tables(run: StudyRun, view: Catalog) -> list[dict[str, Any]]:
    """The appendix tables after the analyses' own (e.g. rules): sourced parameters and factors, layers."""
    params = ReportTable(list(parameter_sources(run)), _headed(
        ("file", "文件 / File"), ("key", "参数 / Key"), ("value", "取值 / Value"), ("source", "依据 / Source")),
        "参数与系数 / Parameters and factors")
    layers = ReportTable([{"id": e.id, "role": e.role, "title": f"{e.title_zh} / {e.title_en}",
                           "synthetic": e.synthetic, "source": e.source, "licence": e.licence} for e in view.entries],
                         _headed(("id", "图层 / Layer"), ("role", "角色 / Role"), ("title", "名称 / Title"),
                                 ("synthetic", "合成 / Synthetic"), ("source", "来源 / Source"),
                                 ("licence", "许可 / Licence")), "图层 / Layers")
    return [_table(params), _table(layers)]


def _headed(*columns: tuple[str, str]) -> tuple[ReportColumn, ...]:
    return tuple(ReportColumn(key, header=header) for key, header in columns)


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
                           if k != "source" and not k.endswith("_source")) or (_NO_VALUE_TABLE if prefix else _NO_VALUE_FILE)
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


def _provenance(run: StudyRun) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Provenance of the appendix: input and rule files (size, SHA-256), package versions, the parameters (JSON)."""
    import json

    from .provenance import file_record, package_versions
    from .studyrun import study_parameters

    base = run.config.path.parent.parent
    files = [dict(file_record(p, relative_to=base), kind="input 输入") for p in run.inputs]
    files += [{"kind": "rules/parameters 规则参数", "path": name, "bytes": None, "sha256": sha}
              for name, sha in run.data_files.items()]
    file_cols = (*_headed(("kind", "类别 / Kind"), ("path", "文件 / File")),
                 ReportColumn("bytes", numeric=True, header="大小 / Size [bytes]"), *_headed(("sha256", "SHA-256")))
    versions = [{"package": k, "version": v} for k, v in package_versions().items()]
    params = json.dumps(_public(study_parameters(run), base), ensure_ascii=False, indent=1, sort_keys=True,
                        default=str)
    return (_table(ReportTable(files, file_cols)), _table(ReportTable(versions, _headed(
        ("package", "软件包 / Package"), ("version", "版本 / Version")))), params)


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


def _chart(chart: ReportChart) -> dict[str, str] | None:
    """A section's bar chart (PNG, base64) for the template, or ``None`` without bars."""
    if not chart.labels:
        return None
    png = bar_chart(chart.labels, chart.values, title=chart.title, xlabel=chart.xlabel, value_format=chart.fmt,
                    colours=chart.colours)
    return {"title": chart.title, "png": base64.b64encode(png).decode("ascii")}
