"""The one-page screening sheet (研判单) per project: HTML with A4 print CSS, optionally PDF.

Each sheet holds the project's id, name, industry (GB/T 4754 code and name), a static location map of
the footprint over the constraint layers (same styles as the web map), the verdict in large type in the
verdict colour, every finding as a plain sentence with its legal source, the access-list text of the
control units it overlaps, and the data caveats (synthetic sample layers, parts outside the data
coverage, rules not evaluated, assumed distances).  Rendered with a Jinja2 template shipped in the
package (``templates/sheet.html.j2``) with autoescaping on, so any text from the data shows as text.

PDF: headless Chromium (``--print-to-pdf``) prints the HTML sheet with its A4 CSS when a Chromium or
Chrome binary is found (``SANXIAN_CHROMIUM``, else ``chromium``, ``chromium-browser``, ``google-chrome``,
``chrome``, ``msedge`` on the PATH).  Chromium renders the CJK text, the map and the CSS exactly as the
browser shows them, needs no extra Python package and is on most planners' machines (Chrome, Edge);
pure-Python HTML→PDF converters either need system libraries (WeasyPrint: Pango) or drop much of the
CSS and the CJK fonts (xhtml2pdf).  Without a browser no PDF is written and a warning says how to
get one (print the HTML from any browser, or install Chromium).
"""

from __future__ import annotations

import base64
import datetime as _dt
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .htmlstyle import ACCESS_LIST_HEADINGS, SAMPLE_BANNER_EN, SAMPLE_BANNER_ZH, text_colour, verdict_colour
from .predicates import measures_overlap

if TYPE_CHECKING:  # pragma: no cover
    from .catalog import Catalog
    from .figures import FigureLayer, SheetText

__all__ = ["find_chromium", "html_to_pdf", "location_map_layers", "location_map_png", "map_roles", "pdf_beside",
           "sheet_html", "write_sheets", "SheetPdfWarning"]

log = logging.getLogger(__name__)

#: Browser executables tried for the PDF export, in this order (after ``SANXIAN_CHROMIUM``).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "msedge")
#: Seconds allowed for Chromium to print one sheet.
PDF_TIMEOUT_S = 120
_VERDICT_EN = {"prohibited": "Prohibited", "restricted": "Restricted", "needs_assessment": "Needs assessment",
               "outside_coverage": "Outside data coverage", "notice": "Notice", "compliant": "No restriction found"}
_VERDICT_ZH = {"compliant": "未发现限制"}


class ScreenedProjects(Protocol):
    """What the screening report and sheets read of a screening result
    (:class:`~sanxian_yidan.screening.ScreeningResult`); naming the protocol, not the class, keeps the
    presentation modules out of the screening package's imports (the result writes its reports with them)."""

    projects: Any
    overlaps: Any
    parameters: dict[str, Any]
    layers_used: list[Any]
    missing_roles: list[str]

    @property
    def synthetic(self) -> bool: ...
    @property
    def synthetic_layers(self) -> list[str]: ...
    def to_records(self) -> list[dict[str, Any]]: ...
    def verdict_counts(self) -> dict[str, int]: ...


class SheetPdfWarning(UserWarning):
    """A PDF sheet was asked for but could not be made (no browser, or the browser failed)."""


def _area(area_m2: float) -> tuple[str, str]:
    """An overlap area as the sheet says it (Chinese, English): in hectares, a small one with its m² beside.

    The hectare (``[units.ha]`` of ``data/tables.toml``) and the decimals of hectares and of the overlap area's
    own unit (``data/csv_format.toml``, the column registry) are those of every other output; from
    ``[sheet] large_area_ha`` of the same file on, one decimal less (never below none) and no m² are said.
    """
    from .columns import csv_format, digits_of
    from .schemas import display_unit

    fmt = csv_format()
    ha, digits = area_m2 / display_unit("ha").per, int(fmt["unit_digits"]["ha"])
    if ha >= float(fmt["sheet"]["large_area_ha"]):
        fewer = max(digits - 1, 0)
        return f"{ha:,.{fewer}f} 公顷", f"{ha:,.{fewer}f} ha"
    m2 = f"{area_m2:,.{digits_of('overlap_area_m2')}f} m²"
    return f"{ha:,.{digits}f} 公顷（{m2}）", f"{ha:,.{digits}f} ha ({m2})"


def _sentences(f: Mapping[str, Any], roles: Mapping[str, Any]) -> tuple[str, str]:
    """A finding as one plain sentence (Chinese, English): what, how much, which feature."""
    role = roles.get(str(f.get("role") or ""))
    zh_role, en_role = (role.zh, role.en) if role else (f.get("role") or "", f.get("role") or "")
    names = f.get("features") or ""
    if measures_overlap(f.get("predicate")) and f.get("area_m2") is not None:
        share = f"，占项目 {100 * f['share']:.1f}%" if f.get("share") is not None else ""
        share_en = f", {100 * f['share']:.1f}% of the project" if f.get("share") is not None else ""
        area_zh, area_en = _area(f["area_m2"])
        return (f"占用{zh_role} {area_zh}{share}" + (f"（{names}）" if names else ""),
                f"Occupies {area_en} of {en_role.lower()}{share_en}" + (f" ({names})" if names else ""))
    return f["message_zh"].rstrip("。"), f["message_en"].rstrip(".")


def _caveats(rec: Mapping[str, Any], result: ScreenedProjects) -> list[dict[str, Any]]:
    out = []
    if rec["synthetic_data"]:
        out.append({"warn": True, "zh": "本研判使用了合成示例图层（见上方标识），结论仅演示方法，不得用于决策。",
                    "en": "This result uses synthetic sample layers: it demonstrates the method and must not be "
                          "used for decisions."})
    share = rec.get("outside_coverage_share")
    if share:
        out.append({"warn": True, "zh": f"项目有 {100 * share:.1f}% 位于分区管控数据覆盖范围之外，该部分无法研判。",
                    "en": f"{100 * share:.1f}% of the project lies outside the coverage of the zoning data; that "
                          "part could not be screened."})
    elif share is None:
        out.append({"warn": True, "zh": "图层目录没有行政区界图层，数据覆盖范围未知。",
                    "en": "The catalog has no admin_boundary layer: the data coverage is unknown."})
    if rec["not_evaluated"]:
        out.append({"warn": True, "zh": f"以下规则未能评估（缺少图层或属性）：{'、'.join(rec['not_evaluated'])}；结论不完整。",
                    "en": f"Rules not evaluated (missing layer or attribute): {', '.join(rec['not_evaluated'])}; "
                          "the result is incomplete."})
    out.extend({"warn": True, "zh": "读取项目文件时的处理，请核对坐标：", "en": note}    # each note in both languages
               for note in result.parameters.get("input_notes") or [])
    if result.missing_roles:
        out.append({"warn": False, "zh": f"图层目录缺少：{'、'.join(result.missing_roles)}；相关规则无法检查。",
                    "en": f"Roles missing from the catalog: {', '.join(result.missing_roles)}; rules that need "
                          "them cannot be checked."})
    if any(f["assumption"] for f in rec["findings"] if f["kind"] == "finding"):
        out.append({"warn": False, "zh": "标注“含假定值”的规则所用距离无官方出处，须由使用者确认。",
                    "en": "Rules marked 'assumed value' use a distance with no verified official source: "
                          "confirm it."})
    out.append({"warn": False, "zh": "法规条文摘自公开转载文本，引用前请核对正式发布原文；本单为初筛，不替代环境影响评价。",
                "en": "Clauses are quoted from copies published online; check the officially published text before "
                      "citing. This is a first screening, not an environmental impact assessment."})
    return out


def _finding_layer_names(record: Mapping[str, Any]) -> list[str]:
    """The ``中文 / English`` style names of the layers the project's findings rest on (drawn on its map)."""
    from .maps.styles import styles

    known = styles().layers
    return [f"{known[r].zh} / {known[r].en}" for r in map_roles(record, ()) if r in known]


def _cut(text: Any, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut); whether it was cut."""
    text = "" if text is None else str(text)
    return (text, False) if len(text) <= limit else (text[:limit].rstrip() + "…", True)


def _access_lists(units: Sequence[Mapping[str, Any]], limits: SheetText) -> tuple[list[dict[str, Any]], bool]:
    """The control units' access lists as printed on the sheet, each field cut to the limit; whether any
    text was left out (a cut field or an unprinted unit)."""
    out, cut_any = [], len(units) > limits.access_list_units
    for unit in units[:limits.access_list_units]:
        row = dict(unit)
        for key, _zh, _en in ACCESS_LIST_HEADINGS:
            row[key], cut = _cut(unit.get(key), limits.access_list_field_chars)
            cut_any |= cut
        out.append(row)
    return out, cut_any


def _template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("sanxian_yidan", "templates"),
                      autoescape=select_autoescape(("html", "j2", "html.j2"), default=True),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("sheet.html.j2")


def sheet_html(result: ScreenedProjects, project_id: str, *, map_png: bytes | None = None,
               generated: _dt.datetime | None = None, record: Mapping[str, Any] | None = None) -> str:
    """The screening sheet of one project as a self-contained HTML page.

    Parameters
    ----------
    result : ScreeningResult
        From :func:`sanxian_yidan.screen`.
    project_id : str
        Id of the project (``project_id`` column).
    map_png : bytes, optional
        Location map (PNG), e.g. from :func:`location_map_png`.
    generated : datetime, optional
        Date shown on the sheet (default now).
    record : mapping, optional
        The project's record from ``result.to_records()`` (computed when not given).
    """
    from .catalog import role_vocabulary
    from .figures import sheet_text_limits

    rec = record or next(r for r in result.to_records() if r["id"] == project_id)
    roles = role_vocabulary()
    limits = sheet_text_limits()
    verdict = rec["verdict"]
    vcol = verdict_colour(verdict)
    findings = []
    cut_any = False
    all_findings = [f for f in rec["findings"] if f["kind"] == "finding"]
    for f in all_findings[:limits.findings]:
        zh, en = _sentences(f, roles)
        sev_colour = verdict_colour(f["severity"])
        source, cut = _cut(f["source"], limits.finding_source_chars)
        cut_any |= cut
        findings.append({"severity_zh": f["severity_zh"], "sentence_zh": zh, "sentence_en": en,
                         "note_zh": f.get("note_zh"), "note_en": f.get("note_en"),
                         "source": source, "assumption": f["assumption"], "colour": sev_colour,
                         "text": text_colour(sev_colour)})
    access_lists, cut = _access_lists(rec["access_lists"] or [], limits)
    industry = " ".join(x for x in (rec["industry"], rec["industry_name_zh"]) if x) or "未知 / unknown"
    if rec["industry"]:
        industry += "（GB/T 4754-2017）"
    counties = "；".join(f"{c['name']}（{100 * c['share']:.0f}%）" if c.get("share") is not None and c["share"] < 0.995
                        else str(c["name"]) for c in rec["counties"])
    when = (generated or _dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    context = {
        "finding_layers": _finding_layer_names(rec),
        "p": rec, "industry": industry, "counties": counties, "area": _area(rec["area_m2"] or 0)[0],
        "generated": f"生成日期 / generated {when}",
        "verdict": {"zh": _VERDICT_ZH.get(verdict, rec["verdict_zh"]), "en": _VERDICT_EN.get(verdict, verdict),
                    "colour": vcol, "text": text_colour(vcol)},
        "synthetic_layers": result.synthetic_layers if rec["synthetic_data"] else [],
        "banner_zh": SAMPLE_BANNER_ZH, "banner_en": SAMPLE_BANNER_EN,
        "map_png": base64.b64encode(map_png).decode("ascii") if map_png else "",
        "findings": findings, "more_findings": len(all_findings) - len(findings),
        "access_lists": access_lists, "more_units": rec["access_lists"][limits.access_list_units:],
        "list_fields": ACCESS_LIST_HEADINGS, "cut": cut_any or cut,
        "caveats": _caveats(rec, result),
        "rules_files": ", ".join(result.parameters.get("rules_files") or []) or "—",
    }
    return _template().render(**context)


def map_roles(record: Mapping[str, Any], context_roles: Sequence[str]) -> list[str]:
    """Roles drawn on a project's location map, bottom to top: the sheet's context roles, then the role of
    every finding of the project that is not among them (in the order of the findings).

    A planner reads every finding against the map, so each layer a finding rests on is drawn (and in the
    legend) even when it is not a default context layer (e.g. mine sites).
    """
    roles = list(context_roles)
    for f in record["findings"]:
        role = str(f.get("role") or "")
        if f["kind"] == "finding" and role and role not in roles:
            roles.append(role)
    return roles


def location_map_layers(result: ScreenedProjects, project_id: str, catalog: Catalog | None, *,
                        cache: dict[str, Any] | None = None,
                        record: Mapping[str, Any] | None = None) -> tuple[list[FigureLayer], tuple[float, ...]]:
    """The layers of one project's location map (bottom to top) and its extent (working CRS, m).

    Context layers are the ``[sheet] context_roles`` of ``figures.toml`` plus the layers of the project's
    findings (:func:`map_roles`), each clipped to the map's extent; then the overlap pieces, the other
    projects in view and the project's footprint in its verdict colour.
    """
    from .figures import FigureLayer, catalog_context, figure_settings, padded_bounds

    settings = figure_settings("sheet")
    projects = result.projects
    mine = projects[projects["project_id"].astype(str) == str(project_id)]
    bounds = padded_bounds(mine.geometry, settings)
    layers: list[FigureLayer] = []
    if catalog is not None:
        rec = record or next(r for r in result.to_records() if str(r["id"]) == str(project_id))
        layers = catalog_context(catalog, map_roles(rec, settings.context_roles), bounds, cache=cache)
    pieces = result.overlaps
    if len(pieces):
        pieces = pieces[(pieces["project_id"].astype(str) == str(project_id))
                        & ~pieces["role"].isin(("admin_boundary", "control_unit"))]
        if len(pieces):
            layers.append(FigureLayer(pieces, "overlap_pieces"))
    others = projects[projects["project_id"].astype(str) != str(project_id)].cx[bounds[0]:bounds[2],
                                                                                  bounds[1]:bounds[3]]
    if len(others):
        layers.append(FigureLayer(others, "projects", colour="#ffffff", label="其他拟建项目 / other projects"))
    layers.append(FigureLayer(mine, "projects", colour=verdict_colour(str(mine["verdict"].iloc[0])),
                              label=f"本项目 / this project ({project_id})"))
    return layers, bounds


def location_map_png(result: ScreenedProjects, project_id: str, catalog: Catalog | None, *,
                     cache: dict[str, Any] | None = None, record: Mapping[str, Any] | None = None) -> bytes:
    """Static map of one project's footprint (verdict colour) over the constraint layers and the layers
    of its findings (:func:`location_map_layers`), PNG bytes."""
    from .figures import figure_settings, map_png

    layers, bounds = location_map_layers(result, project_id, catalog, cache=cache, record=record)
    note = "含合成示例数据 / includes synthetic sample data" if result.synthetic else ""
    return map_png(layers, bounds, settings=figure_settings("sheet"), note=note)


def _safe_name(project_id: str) -> str:
    """A file name for a project id: letters, digits, CJK, ``-`` and ``_`` kept, anything else ``_``."""
    return (re.sub(r"[^\w\-\u4e00-\u9fff]+", "_", str(project_id)).strip("._") or "project")[:80]


def write_sheets(result: ScreenedProjects, out_dir: str | Path, *, catalog: Catalog | None = None,
                 pdf: bool = False, generated: _dt.datetime | None = None) -> list[Path]:
    """Write ``sheets/<id>.html`` (and ``sheets/<id>.pdf`` with ``pdf=True``) for every project.

    Returns
    -------
    list of Path
        The files written.  A PDF that could not be made is skipped with a :class:`SheetPdfWarning`.
    """
    folder = Path(out_dir) / "sheets"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    cache: dict[str, Any] = {}
    browser = find_chromium() if pdf else None
    if pdf and browser is None:
        _warn_no_browser("PDF 研判单", "no PDF sheets were written", "sheets/*.html")
    records = result.to_records()
    for rec, name in zip(records, sheet_names([r["id"] for r in records])):
        png = location_map_png(result, rec["id"], catalog, cache=cache, record=rec)
        path = folder / f"{name}.html"
        path.write_text(sheet_html(result, rec["id"], map_png=png, generated=generated, record=rec),
                        encoding="utf-8")
        written.append(path)
        if browser is not None:
            try:
                written.append(html_to_pdf(path, path.with_suffix(".pdf"), browser=browser))
            except RuntimeError as exc:
                warnings.warn(SheetPdfWarning(str(exc)), stacklevel=2)
    return written


def _warn_no_browser(missing_zh: str, missing_en: str, page: str) -> None:
    """Warn (:class:`SheetPdfWarning`, at the caller's caller) that no browser printed ``missing``, and how to
    print ``page`` instead."""
    warnings.warn(SheetPdfWarning(
        f"未找到 Chromium/Chrome 浏览器，未生成 {missing_zh}；可用任一浏览器打开 {page} 打印为 PDF（A4），"
        f"或安装 Chromium（Debian/Ubuntu: apt-get install chromium）或设置 SANXIAN_CHROMIUM。 / No Chromium or "
        f"Chrome found, so {missing_en}: open {page} in any browser and print to PDF (A4), "
        "or install Chromium (Debian/Ubuntu: apt-get install chromium) or set SANXIAN_CHROMIUM."), stacklevel=3)


def find_chromium() -> str | None:
    """Path of a Chromium-family browser for the PDF export, or ``None``."""
    if given := os.environ.get("SANXIAN_CHROMIUM"):
        return shutil.which(given)
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, browser: str | None = None) -> Path:
    """Print an HTML file to PDF (A4, its own print CSS) with headless Chromium.

    Network access is cut (every request goes to a dead proxy): the sheets are self-contained. Links to
    files beside the page are printed as plain text: a PDF holds them as absolute ``file://`` addresses of
    this machine, which break once the outputs move.

    Raises
    ------
    RuntimeError
        If no browser is found, or it fails or writes no PDF (message in Chinese and English).
    """
    browser = browser or find_chromium()
    if browser is None:
        raise RuntimeError("未找到 Chromium/Chrome，无法生成 PDF / no Chromium or Chrome found to print the PDF")
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    # Chromium writes a link to a file beside the page as an absolute file:// URI: it would carry this
    # machine's folders into the PDF and break once the outputs are moved, so the printed copy, written
    # beside the page for its relative images, keeps such links as plain text.
    printed = html_path.with_name(f".print-{html_path.name}")
    printed.write_text(_LOCAL_HREF.sub("", html_path.read_text(encoding="utf-8")), encoding="utf-8")
    try:
        return _print(browser, printed, pdf_path, html_path.name)
    finally:
        printed.unlink(missing_ok=True)


#: An ``href`` to a file next to the page (not a web address, an anchor or an e-mail address).
_LOCAL_HREF = re.compile(r"""\shref=(["'])(?!https?:|#|mailto:)[^"']*\1""", re.IGNORECASE)


def _print(browser: str, html_path: Path, pdf_path: Path, name: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="sanxian-pdf-") as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                   "--no-pdf-header-footer", "--print-to-pdf-no-header",
                   f"--print-to-pdf={pdf_path.resolve()}", html_path.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PDF_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"浏览器打印 PDF 失败 / the browser could not print {name} to PDF: "
                               f"{exc}") from exc
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"浏览器打印 PDF 失败 / the browser could not print {name} to PDF "
                           f"(exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return pdf_path


def pdf_beside(page: str | Path) -> list[Path]:
    """``page`` printed to a PDF beside it (A4, its own print CSS, headless Chromium).

    Returns
    -------
    list of Path
        ``[pdf]``, or ``[]`` with a :class:`SheetPdfWarning` when no browser is found or it fails (the HTML
        stays; any browser prints it).
    """
    page = Path(page)
    pdf = page.with_suffix(".pdf")
    browser = find_chromium()
    if browser is None:
        _warn_no_browser(pdf.name, f"{pdf.name} was not written", page.name)
        return []
    try:
        return [html_to_pdf(page, pdf, browser=browser)]
    except RuntimeError as exc:
        warnings.warn(SheetPdfWarning(str(exc)), stacklevel=2)
        return []


def sheet_names(ids: Sequence[str]) -> list[str]:
    """File stems :func:`write_sheets` uses for ``ids`` (same order)."""
    used: set[str] = set()
    out = []
    for pid in ids:
        name = _safe_name(pid)
        while name in used:
            name += "_"
        used.add(name)
        out.append(name)
    return out
