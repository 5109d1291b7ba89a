"""Readable reports (HTML and Markdown): Chinese first, English alongside.

The screening report has one section per project — verdict, findings with citations, overlap table, the
four-part access list (准入清单) of every overlapped control unit, distances and notes — plus a sources
section (every rule cited and every layer used) and, whenever any layer used is synthetic, a prominent
"示例数据 SAMPLE DATA" banner.

The HTML is rendered with Jinja2 templates shipped in the package (``templates/screening_report.html.j2``
and the building blocks of ``templates/report_parts.html.j2``) with autoescaping on, so **every piece of
user-supplied or data-supplied text is escaped**: a project named ``<script>alert(1)</script>`` renders as
text.  Other HTML reports (the study report) use those building blocks in their own templates
(:func:`template_environment`) and :func:`page_html` for the page; :func:`escape` serves markup built
elsewhere.  :func:`banner_html`, :func:`table_html` and :func:`sources_html`, the blocks as Python calls, are
deprecated.  The Markdown report escapes with :func:`md_escape`.
"""

from __future__ import annotations

import datetime as _dt
import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._deprecated import deprecated
from .columns import describe
from .htmlstyle import ACCESS_LIST_HEADINGS, SAMPLE_BANNER_EN, SAMPLE_BANNER_ZH, text_colour, verdict_colour

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .sheet import ScreenedProjects

__all__ = [
    "SAMPLE_BANNER_EN",
    "SAMPLE_BANNER_ZH",
    "text_colour",
    "verdict_colour",
    "Column",
    "banner_html",
    "banner_markdown",
    "escape",
    "md_escape",
    "md_table",
    "page_html",
    "screening_report_html",
    "screening_report_markdown",
    "sources_html",
    "sources_markdown",
    "table_html",
    "template_environment",
    "write_screening_reports",
]

logger = logging.getLogger(__name__)

#: Page CSS.  Verdict badge colours come from the style registry (``data/styles.toml``, palette ``verdict``)
#: through :func:`sanxian_yidan.htmlstyle.verdict_colour`, the same palette as the maps and the sheets.
_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:2em auto;max-width:1100px;
color:#212121;line-height:1.5;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #37474f}h2{margin-top:2em;border-bottom:1px solid #90a4ae}
table{border-collapse:collapse;margin:.6em 0;width:100%;font-size:.9em}
th,td{border:1px solid #cfd8dc;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#eceff1}td.num{text-align:right;white-space:nowrap}
.banner{background:#b71c1c;color:#fff;font-weight:bold;font-size:1.2em;padding:.8em 1em;margin:1em 0;
border:4px solid #7f0000}
.banner small{display:block;font-weight:normal;font-size:.75em}
.badge{display:inline-block;color:#fff;padding:.15em .6em;border-radius:.3em;font-weight:bold}
.warn{background:#fff3e0;border-left:4px solid #e65100;padding:.5em 1em}
.en{color:#546e7a}.src{font-size:.85em;color:#455a64}
.list dt{font-weight:bold;margin-top:.4em}.list dd{margin-left:1em}
details.appendix{margin-top:2em;border:1px solid #90a4ae;padding:.5em 1em}
details.appendix>summary{cursor:pointer;font-weight:bold;font-size:1.2em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #cfd8dc}figcaption{font-size:.85em;color:#455a64}
.banner,.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@page{size:A4;margin:12mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:9.5pt;line-height:1.35}h2{break-after:avoid}
h3{break-after:avoid}figure,tr{break-inside:avoid}figure img{max-height:200mm}a{color:inherit;text-decoration:none}}
"""


# ================================================================================================ helpers
def escape(value: Any) -> str:
    """HTML-escape any value (None → empty string); quotes are escaped too, so it is safe in attributes."""
    return "" if value is None else html.escape(str(value), quote=True)


def md_escape(value: Any) -> str:
    """Make text safe for a Markdown table cell: HTML entities for ``& < >``, backslash before Markdown
    punctuation, line breaks folded into spaces."""
    if value is None:
        return ""
    text = html.escape(str(value), quote=False)
    for ch in ("\\", "`", "*", "_", "[", "]", "|", "#", "!"):
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


@dataclass(frozen=True)
class Column:
    """A report table column: the key in the row mappings and its header (bilingual label)."""

    key: str
    header: str
    numeric: bool = False
    digits: int = 0

    @classmethod
    def registered(cls, key: str, *, numeric: bool = False, digits: int = 0, header: str | None = None) -> Column:
        """Column whose header comes from the column registry (``中文 / English [unit]``)."""
        col = describe(key)
        return cls(key, header or (col.label if col else key), numeric, digits)


def _cell(value: Any, column: Column) -> str:
    if column.numeric and value is not None and value != "" and not isinstance(value, str):
        try:
            return f"{float(value):,.{column.digits}f}"
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "是 yes" if value else "否 no"
    if isinstance(value, float):
        if value != value:  # NaN: no value
            return ""
        if value.is_integer():  # a rank or a count stored as float (1.0 → 1)
            return str(int(value))
    return "" if value is None else str(value)


@lru_cache(maxsize=1)
def template_environment() -> Any:
    """The Jinja2 environment of the HTML reports: the package's ``templates/``, autoescaping on (every value
    from the data is escaped; only markup these templates rendered is passed on as safe)."""
    from jinja2 import Environment, PackageLoader
    from markupsafe import Markup

    env = Environment(loader=PackageLoader("sanxian_yidan", "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.globals.update(cell=_cell, verdict_colour=verdict_colour, text_colour=text_colour,
                       banner_zh=SAMPLE_BANNER_ZH, banner_en=SAMPLE_BANNER_EN, css=Markup(_CSS))
    return env


def _parts() -> Any:
    """The macros of ``report_parts.html.j2`` (table, banner, badge, sources, page)."""
    return template_environment().get_template("report_parts.html.j2").module


#: What replaces the deprecated Python calls of the template's blocks.
_MACRO = "the {} macro of templates/report_parts.html.j2 in a template of report.template_environment()"


def table_html(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, empty: str = "—") -> str:
    """Deprecated: an HTML table (template ``report_parts.html.j2``, autoescaped).  ``empty`` is shown when there
    are no rows."""
    deprecated("report.table_html", _MACRO.format("table"))
    return str(_parts().table(list(rows), list(columns), empty))


def md_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, empty: str = "—") -> str:
    """A Markdown (GFM) table; every cell escaped."""
    rows = list(rows)
    if not rows:
        return md_escape(empty)
    lines = ["| " + " | ".join(md_escape(c.header) for c in columns) + " |",
             "|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|"]
    lines += ["| " + " | ".join(md_escape(_cell(row.get(c.key), c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def banner_html(synthetic_layers: Sequence[str]) -> str:
    """Deprecated: the SAMPLE DATA banner (empty string when no synthetic layer was used)."""
    deprecated("report.banner_html", _MACRO.format("banner"))
    return str(_parts().banner(list(synthetic_layers or [])))


def banner_markdown(synthetic_layers: Sequence[str]) -> str:
    """The SAMPLE DATA banner as a Markdown block quote."""
    if not synthetic_layers:
        return ""
    return (f"> **⚠ {md_escape(SAMPLE_BANNER_ZH)}**  \n> **{md_escape(SAMPLE_BANNER_EN)}**  \n"
            f"> 合成图层 / synthetic layers: {md_escape(', '.join(synthetic_layers))}\n")


_RULE_COLS = (Column("rule_id", "规则 / Rule"), Column("title", "标题 / Title"),
              Column("source", "依据 / Source"), Column("assumption", "含假定值 / Assumption"))
_LAYER_COLS = (Column("layer_id", "图层 / Layer"), Column("role", "角色 / Role"), Column("title", "名称 / Title"),
               Column("synthetic", "合成 / Synthetic"), Column("source", "来源 / Source"))


def sources_html(rules: Iterable[Mapping[str, Any]], layers: Iterable[Mapping[str, Any]]) -> str:
    """Deprecated: sources section: rules cited (id, title, source) and layers used (id, role, synthetic, source)."""
    deprecated("report.sources_html", _MACRO.format("sources"))
    return str(_parts().sources(list(rules), list(layers), _RULE_COLS, _LAYER_COLS))


def sources_markdown(rules: Iterable[Mapping[str, Any]], layers: Iterable[Mapping[str, Any]]) -> str:
    """Sources section in Markdown."""
    return ("## 依据与数据来源 / Sources\n\n### 引用的规则 / Rules cited\n\n" + md_table(rules, _RULE_COLS)
            + "\n\n### 使用的图层 / Layers used\n\n" + md_table(layers, _LAYER_COLS) + "\n")


def page_html(title: str, body: str, *, lang: str = "zh-CN") -> str:
    """A complete, self-contained HTML page (inline CSS, no external requests).  ``title`` is escaped;
    ``body`` must already be safe HTML, rendered by these helpers or the package's autoescaped templates."""
    from markupsafe import Markup

    return str(_parts().page(title, Markup(body), lang))


# ====================================================================================== screening report
_VERDICT_LINE = {"prohibited": "禁止 prohibited", "restricted": "限制 restricted",
                 "needs_assessment": "需论证 needs assessment", "outside_coverage": "超出数据覆盖范围 outside coverage",
                 "notice": "提示 notice", "compliant": "未发现限制 compliant (no restriction found)"}


_FINDING_COLS = (Column("severity_label", "结论 / Severity"), Column("rule_id", "规则 / Rule"),
                 Column("title", "标题 / Title"), Column("message", "说明 / Finding"),
                 Column("action", "建议 / What to do"), Column("source", "依据 / Source"))
_OVERLAP_COLS = (Column("role_label", "图层 / Layer"), Column("code", "编码 / Code"), Column("name", "名称 / Name"),
                 Column("class", "类别或级别 / Category or level"),
                 Column("area_m2", "重叠面积 / Overlap [m²]", numeric=True, digits=0),
                 Column("share_pct", "占项目 / Share [%]", numeric=True, digits=1),
                 Column("synthetic", "合成 / Synthetic"))
_DISTANCE_COLS = (Column("role_label", "图层 / Layer"), Column("name", "最近要素 / Nearest feature"),
                  Column("distance_m", "距离 / Distance [m]", numeric=True, digits=0),
                  Column("synthetic", "合成 / Synthetic"),
                  Column("nearer_beyond_data", "数据范围外或有更近者 / Nearer one may lie beyond the data"))
_COUNT_COLS = (Column("v", "结论 / Verdict"), Column("n", "项目数 / Projects", numeric=True))
_KV_COLS = (Column("k", "项 / Item"), Column("v", "值 / Value"))


def _role_label(role: str) -> str:
    from .roles import role_vocabulary

    vocab = role_vocabulary()
    return f"{vocab[role].zh} / {vocab[role].en}" if role in vocab else role


def _prepare(result: ScreenedProjects) -> dict[str, Any]:
    records = result.to_records()
    cited: dict[str, dict[str, Any]] = {}  # rules cited: the first finding of each (its id, title, source)
    for rec in records:
        for f in rec["findings"]:
            f["severity_label"] = f"{f['severity_zh']} {f['severity']}"
            f["title"] = f"{f['title_zh']} / {f['title_en']}"
            f["message"] = f"{f['message_zh']} / {f['message_en']}"
            f["action"] = " / ".join(t for t in (f.get("note_zh"), f.get("note_en")) if t) or "—"
            cited.setdefault(f["rule_id"], f)
        for o in rec["overlaps"] + rec["distances"]:
            o["role_label"] = _role_label(o["role"])
        for o in rec["overlaps"]:
            o["class"] = " ".join(str(v) for v in (o.get("category"), o.get("level")) if v not in (None, ""))
            o["share_pct"] = None if o["share"] is None else 100 * o["share"]
        _project_rows(rec)
    layers = [{"layer_id": u.layer_id, "role": u.role, "title": f"{u.title_zh} / {u.title_en}",
               "synthetic": u.synthetic, "source": u.source} for u in result.layers_used]
    return {"records": records, "cited": list(cited.values()), "layers": layers}


def _parameters(result: ScreenedProjects) -> list[dict[str, Any]]:
    p = result.parameters
    rows = [
        ("项目文件 / Projects", p.get("projects")), ("图层目录 / Catalog", p.get("catalog")),
        ("工作坐标系 / Working CRS", p.get("working_crs")),
        ("规则文件 / Rule files", "; ".join(p.get("rules_files", []))), ("规则数 / Rules", p.get("n_rules")),
        ("点、线项目缓冲半径 / Footprint radius [m]", p.get("radius_m")),
        ("细小碎片容差 / Sliver tolerance", f"{p.get('sliver_m2')} m², {p.get('sliver_width_m')} m"),
        ("默认行业 / Default industry", p.get("industry")), ("默认类型 / Default type", p.get("project_type")),
        ("坐标系声明 / Stated CRS", p.get("crs")),
        ("缺少的图层角色 / Roles missing from the catalog", ", ".join(result.missing_roles) or "—"),
        ("读取项目文件 / Reading the project file", "; ".join(p.get("input_notes") or []) or "—"),
    ]
    return [{"k": k, "v": "— 未指定 / not given" if v in (None, "") else v} for k, v in rows]


def _counts(result: ScreenedProjects) -> list[dict[str, Any]]:
    return [{"v": _VERDICT_LINE[v], "n": n} for v, n in result.verdict_counts().items()]


def _title_and_time(title: str | None, generated: _dt.datetime | None) -> tuple[str, str]:
    """The report's title (default: the screening report's) and its generation time as printed."""
    return (title or "建设项目环境准入研判报告 / Project screening report (三线一单)",
            (generated or _dt.datetime.now()).strftime("%Y-%m-%d %H:%M"))


def screening_report_html(result: ScreenedProjects, *, title: str | None = None,
                          generated: _dt.datetime | None = None, sheets: bool = False) -> str:
    """Render a screening result as one self-contained HTML page (Chinese first, English alongside).

    Parameters
    ----------
    result : ScreeningResult
        From :func:`sanxian_yidan.screen`.
    title : str, optional
        Page title (escaped).
    generated : datetime, optional
        Timestamp shown in the header (default now).
    sheets : bool
        Link each project to its screening sheet ``sheets/<id>.html``.
    """
    data = _prepare(result)
    if sheets:
        from .sheet import sheet_names

        for rec, name in zip(data["records"], sheet_names([r["id"] for r in data["records"]])):
            rec["sheet"] = f"sheets/{name}.html"
    title, when = _title_and_time(title, generated)
    p = result.parameters
    body = template_environment().get_template("screening_report.html.j2").render(
        title=title, when=when, synthetic_layers=list(result.synthetic_layers or []),
        counts=_counts(result), count_cols=_COUNT_COLS,
        projects=[{"id": r["id"], "name": r["name"], "verdict": _VERDICT_LINE[r["verdict"]],
                   "complete": r["complete"], "counties": "; ".join(c["name"] or "" for c in r["counties"]),
                   "industry": " ".join(x for x in (r["industry"], r["industry_name_zh"]) if x),
                   "type": r["project_type"]} for r in data["records"]],
        project_cols=[Column("id", "编号 / Id"), Column("name", "名称 / Name"), Column("verdict", "结论 / Verdict"),
                      Column("complete", "完整 / Complete"), Column("counties", "县（市、区）/ Counties"),
                      Column("industry", "行业 / Industry"), Column("type", "类型 / Type")],
        parameters=_parameters(result), kv_cols=_KV_COLS, records=data["records"], verdict_line=_VERDICT_LINE,
        finding_cols=_FINDING_COLS, overlap_cols=_OVERLAP_COLS, distance_cols=_DISTANCE_COLS,
        list_fields=ACCESS_LIST_HEADINGS, cited=data["cited"], layers=data["layers"], rule_cols=_RULE_COLS,
        layer_cols=_LAYER_COLS, sliver_m2=p.get("sliver_m2"), sliver_width_m=p.get("sliver_width_m"))
    return page_html(title, body)


def _incomplete_text(rec: Mapping[str, Any]) -> tuple[str, str]:
    """Why a project's screening is incomplete: its share outside the data coverage and the rules not evaluated
    (Chinese, English)."""
    zh, en = ["研判不完整："], ["Incomplete:"]
    share = rec.get("outside_coverage_share")
    if share:
        zh.append(f"项目有 {share:.1%} 位于分区管控数据覆盖范围之外，该部分无法研判。")
        en.append(f"{share:.1%} of the project lies outside the coverage of the zoning data; that part cannot be "
                  "screened.")
    ids = rec["not_evaluated"]
    if ids:
        zh.append(f"{len(ids)} 条规则未能（完全）评估（见“未评估”）：{', '.join(ids)}。")
        en.append(f"{len(ids)} rule(s) could not be (fully) evaluated (see \"not evaluated\"): {', '.join(ids)}.")
    return "".join(zh), " ".join(en)


def _project_rows(rec: dict[str, Any]) -> None:
    """Add to a project record the rows its report section shows (info table, findings by kind, why incomplete)."""
    info = [("行业 / Industry", " ".join(x for x in (rec["industry"], rec["industry_name_zh"]) if x) or "未知 unknown"),
            ("两高 / 两高 project", {True: "是 yes", False: "否 no", None: "未知 unknown"}[rec["two_high"]]),
            ("类型 / Type", rec["project_type"] or "未知 unknown"), ("研判范围 / Footprint", rec["footprint"]),
            ("面积 / Area [m²]", "—" if rec["area_m2"] is None else f"{rec['area_m2']:,.0f}"),
            ("县（市、区）/ Counties", "; ".join(f"{c['name']} ({c['code']}) {c['area_m2']:,.0f} m² "
                                             f"{100 * c['share']:.1f}%" for c in rec["counties"]) or "—")]
    rec["info"] = [{"k": k, "v": v} for k, v in info]
    for kind in ("finding", "not_evaluated", "note"):
        rec[f"{kind}_rows"] = [f for f in rec["findings"] if f["kind"] == kind]
    rec["incomplete"] = None if rec["complete"] else _incomplete_text(rec)


# ------------------------------------------------------------------------------------------- markdown
def screening_report_markdown(result: ScreenedProjects, *, title: str | None = None,
                              generated: _dt.datetime | None = None) -> str:
    """Render a screening result as Markdown (same content as the HTML report)."""
    data = _prepare(result)
    title, when = _title_and_time(title, generated)
    out = [f"# {md_escape(title)}\n", banner_markdown(result.synthetic_layers),
           f"生成时间 / generated {when} · sanxian_yidan\n", "## 汇总 / Summary\n",
           md_table(_counts(result), _COUNT_COLS) + "\n", "### 参数 / Parameters\n",
           md_table(_parameters(result), _KV_COLS) + "\n"]
    for rec in data["records"]:
        name = f" · {md_escape(rec['name'])}" if rec["name"] else ""
        out += [f"## 项目 / Project {md_escape(rec['id'])}{name}\n",
                f"**研判结论 / Verdict: {md_escape(_VERDICT_LINE[rec['verdict']])}**\n"]
        if not rec["complete"]:
            zh, en = rec["incomplete"]
            out.append(f"> {md_escape(zh)} / {md_escape(en)}\n")
        if rec["synthetic_data"]:
            out.append("> 本项目结论使用了合成示例数据 / this result uses synthetic sample data\n")
        counties = "; ".join(f"{c['name']} ({c['code']}) {100 * c['share']:.1f}%" for c in rec["counties"]) or "—"
        industry = " ".join(x for x in (rec["industry"], rec["industry_name_zh"]) if x) or "未知 unknown"
        out.append(f"- 行业 / Industry: {md_escape(industry)}\n"
                   f"- 类型 / Type: {md_escape(rec['project_type'] or '未知 unknown')}\n"
                   f"- 研判范围 / Footprint: {md_escape(rec['footprint'])}, "
                   f"{'—' if rec['area_m2'] is None else format(rec['area_m2'], ',.0f')} m²\n"
                   f"- 县（市、区）/ Counties: {md_escape(counties)}\n")
        out += ["### 研判发现 / Findings\n",
                md_table(rec["finding_rows"], _FINDING_COLS, empty="未发现适用规则的限制 / no rule finding") + "\n"]
        if rec["not_evaluated_rows"]:
            out += ["### 未评估的规则 / Rules not evaluated\n", md_table(rec["not_evaluated_rows"], _FINDING_COLS) + "\n"]
        out += ["### 叠加分析 / Overlaps\n", md_table(rec["overlaps"], _OVERLAP_COLS, empty="无重叠 / no overlap") + "\n",
                "### 环境管控单元准入清单 / Access lists of the control units\n"]
        for unit in rec["access_lists"] or []:
            syn = "（合成示例 / synthetic sample）" if unit["synthetic"] else ""
            out.append(f"**{md_escape(unit['code'])} {md_escape(unit['name'])}{md_escape(syn)}**\n")
            for key, zh, en in ACCESS_LIST_HEADINGS:
                out.append(f"- {zh} / {en}: {md_escape(unit.get(key) or '—')}")
            out.append("")
        if not rec["access_lists"]:
            out.append("—\n")
        out += ["### 距离 / Distances\n",
                md_table(rec["distances"], _DISTANCE_COLS, empty="5 km 内无 / none within the search radius") + "\n"]
        if rec["note_rows"] or rec["notes"]:
            out.append("### 备注 / Notes\n")
            out.extend(f"- {md_escape(f['rule_id'])}: {md_escape(f['message_zh'])} / {md_escape(f['message_en'])}"
                       for f in rec["note_rows"])
            out.extend(f"- {md_escape(n['message_zh'])} / {md_escape(n['message_en'])}" for n in rec["notes"])
            out.append("")
    out.append(sources_markdown(data["cited"], data["layers"]))
    return "\n".join(x for x in out if x is not None) + "\n"


def write_screening_reports(result: ScreenedProjects, out_dir: str | Path, *,
                            generated: _dt.datetime | None = None, sheets: bool = True,
                            catalog: Catalog | None = None, pdf: bool = False) -> list[Path]:
    """Write ``report.html``, ``report.md`` and (``sheets=True``) one screening sheet per project
    (``sheets/<id>.html``, with ``pdf=True`` also ``sheets/<id>.pdf``) into ``out_dir``; return the paths.

    ``catalog`` supplies the constraint layers drawn on the sheets' location maps.
    """
    out = Path(out_dir)
    paths = [out / "report.html", out / "report.md"]
    paths[0].write_text(screening_report_html(result, generated=generated, sheets=sheets), encoding="utf-8")
    paths[1].write_text(screening_report_markdown(result, generated=generated), encoding="utf-8")
    if sheets:
        from .sheet import write_sheets

        paths += write_sheets(result, out, catalog=catalog, pdf=pdf, generated=generated)
    return paths
