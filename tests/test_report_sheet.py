"""The one-page screening sheet (研判单): content against the screening result, escaping, PDF export."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest

from sanxian_yidan.catalog import Catalog
from sanxian_yidan.htmlstyle import text_colour
from sanxian_yidan.maps.styles import verdict_colours
from sanxian_yidan.screening import screen
from sanxian_yidan.sheet import SheetPdfWarning, location_map_png, sheet_html, write_sheets

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"
PROJECTS = REPO / "studies" / "suixian_projects.geojson"


@pytest.fixture(scope="module")
def screened():
    cat = Catalog.load(CATALOG)
    return cat, screen(PROJECTS, cat)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_sheet_states_verdict_findings_sources_and_access_list(screened) -> None:
    cat, result = screened
    png = location_map_png(result, "SX-03", cat)
    assert png.startswith(b"\x89PNG")
    html = sheet_html(result, "SX-03", map_png=png)
    rec = next(r for r in result.to_records() if r["id"] == "SX-03")
    # Verdict in large type in the registry's verdict colour, text colour readable on it.
    colour = verdict_colours()["prohibited"]
    assert f'class="verdict" style="background:{colour};color:{text_colour(colour)}"' in html
    assert ">禁止<small>Prohibited</small>" in html
    # The farmland finding as a sentence: hectares from the overlap area of the result (independent read).
    f = next(x for x in rec["findings"] if x["kind"] == "finding" and x["role"] == "basic_farmland")
    pieces = result.overlaps[(result.overlaps["project_id"] == "SX-03") & (result.overlaps["role"] == "basic_farmland")]
    area = float(pieces.geometry.area.sum())
    assert abs(area - f["area_m2"]) < 1.0  # m², tolerance for rounding in the record
    text = _text(html)
    assert f"占用永久基本农田 {area / 1e4:,.2f} 公顷" in text
    assert "自然资办发〔2023〕12号" in text  # its legal source, next to the finding
    # The access list of the overlapped control unit, word for word.
    unit = rec["access_lists"][0]
    assert unit["space"] and unit["space"] in html
    # Caveats: the synthetic banner and the reminder that this is a first screening.
    assert "示例数据" in html and "不替代环境影响评价" in html
    assert "data:image/png;base64," in html  # the location map


def test_yellow_and_grey_verdicts_get_black_text() -> None:
    colours = verdict_colours()
    assert text_colour(colours["needs_assessment"]) == "#000000"  # Okabe-Ito yellow
    assert text_colour("#000000") == "#ffffff"


def test_text_from_the_data_is_escaped(screened, tmp_path: Path) -> None:
    _, result = screened
    src = gpd.read_file(PROJECTS).iloc[[0]].copy()
    src["name"] = "<script>alert(1)</script>"
    path = tmp_path / "p.geojson"
    src.to_file(path, driver="GeoJSON")
    bad = screen(path, CATALOG)
    html = sheet_html(bad, str(bad.projects["project_id"].iloc[0]))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_write_sheets_one_file_per_project_and_a4_pdf(screened, tmp_path: Path, monkeypatch) -> None:
    cat, result = screened
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.fail("headless Chromium is needed (scripts/setup_tests.sh installs the Debian package chromium)")
    paths = write_sheets(result, tmp_path, catalog=cat, pdf=True)
    names = sorted(p.name for p in paths)
    ids = list(result.projects["project_id"])
    assert names == sorted([f"{i}.html" for i in ids] + [f"{i}.pdf" for i in ids])
    pdf = (tmp_path / "sheets" / "SX-03.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert re.search(rb"/MediaBox \[0 0 59[45]\.\d* 84[12]\.\d*\]", pdf)  # A4 = 595.3 × 841.9 pt
    assert re.findall(rb"/Count (\d+)", pdf)[0] == b"1"  # SX-03 fits on one page


def test_no_browser_gives_a_warning_and_html_only(screened, tmp_path: Path, monkeypatch) -> None:
    _, result = screened
    monkeypatch.setenv("SANXIAN_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.warns(SheetPdfWarning, match="print to PDF"):
        paths = write_sheets(result, tmp_path, catalog=None, pdf=True)
    assert paths and all(p.suffix == ".html" for p in paths)


def test_screen_cli_no_sheets(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sanxian_yidan.cli import app

    result = CliRunner().invoke(app, ["screen", str(PROJECTS), "--catalog", str(CATALOG), "--out",
                                      str(tmp_path / "o"), "--no-sheets"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "report.html").is_file() and not (tmp_path / "o" / "sheets").exists()
    assert "sheets/" not in result.output.split("outputs / 输出:")[1]


def test_one_verdict_palette_for_report_and_sheet(screened, monkeypatch) -> None:
    """The screening report's badges and the sheet's verdict box and finding badges take their colours
    from the style registry only: a changed registry palette shows in both, no colour of their own."""
    from sanxian_yidan import htmlstyle
    from sanxian_yidan.maps import styles
    from sanxian_yidan.report import screening_report_html

    _, result = screened
    fake = {v: f"#{i + 1:02d}{i + 1:02d}{i + 1:02d}" for i, v in enumerate(styles.VERDICT_ORDER)}
    monkeypatch.setattr(styles, "verdict_colours", lambda: dict(fake))
    assert htmlstyle.verdict_colour("prohibited") == fake["prohibited"]
    assert htmlstyle.verdict_colour("no_such_verdict") == htmlstyle.NEUTRAL_COLOUR
    sheet = sheet_html(result, "SX-03")
    assert f'class="verdict" style="background:{fake["prohibited"]};' in sheet
    assert re.findall(r'class="sev" style="background:(#[0-9a-f]{6})', sheet)
    assert set(re.findall(r'class="sev" style="background:(#[0-9a-f]{6})', sheet)) <= set(fake.values())
    report = screening_report_html(result, sheets=False)
    badges = set(re.findall(r'class="badge" style="background:(#[0-9a-fA-F]{6})', report))
    assert badges and badges <= set(fake.values()), badges
    assert badges >= {fake[v] for v in set(result.projects["verdict"])}


def test_long_access_lists_are_cut_with_a_pointer_to_the_full_text(screened, tmp_path: Path) -> None:
    """An access list far longer than a page: each field cut at the [sheet_text] limit with "…", units past
    the limit named only, a note pointing to the report and the GeoPackage; the sheet still prints on one page."""
    from sanxian_yidan.figures import sheet_text_limits
    from sanxian_yidan.sheet import html_to_pdf

    cat, result = screened
    limits = sheet_text_limits()
    rec = copy.deepcopy(next(r for r in result.to_records() if r["id"] == "SX-04"))
    long_text = "".join(f"第{i}条：禁止新建、扩建高污染项目。" for i in range(1, 80))  # ~1,300 characters
    unit = dict(rec["access_lists"][0], space=long_text, pollution=long_text, risk=long_text, resource=long_text)
    rec["access_lists"] = [dict(unit, code=f"ZH4213210{i:04d}", name=f"单元{i}") for i in range(1, 4)]
    html = sheet_html(result, "SX-04", map_png=location_map_png(result, "SX-04", cat), record=rec)
    text = _text(html)
    assert long_text not in text
    assert text.count(long_text[:limits.access_list_field_chars] + "…") == 4 * limits.access_list_units
    shown, named = rec["access_lists"][:limits.access_list_units], rec["access_lists"][limits.access_list_units:]
    assert all(f"{u['code']} {u['name']}" in text for u in shown)
    assert named and "另涉及管控单元 / also overlaps: " + "；".join(f"{u['code']} {u['name']}" for u in named) in text
    assert "全文见研判报告（report.html）与 screening.gpkg" in text
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.fail("headless Chromium is needed (scripts/setup_tests.sh installs the Debian package chromium)")
    page = tmp_path / "long.html"
    page.write_text(html, encoding="utf-8")
    pdf = html_to_pdf(page, tmp_path / "long.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 1


def test_sheet_without_cut_text_has_no_cut_note(screened) -> None:
    _, result = screened
    html = sheet_html(result, "SX-03")
    assert "…" not in _text(html).replace("部门联审会商机制…", "")
    assert "全文见研判报告" not in html


def test_screening_report_template_escapes_text_and_attributes(tmp_path: Path) -> None:
    """The screening report is rendered by an autoescaped Jinja2 template: a project id that tries to leave
    its attribute and a name with a script tag show as text, in the section id and in the tables."""
    from sanxian_yidan.report import screening_report_html

    src = gpd.read_file(PROJECTS).iloc[[0]].copy()
    id_col = next(c for c in ("project_id", "id") if c in src.columns)
    src[id_col] = 'X" onmouseover="alert(1)'
    src["name"] = "<script>alert(1)</script>"
    path = tmp_path / "p.geojson"
    src.to_file(path, driver="GeoJSON")
    html = screening_report_html(screen(path, CATALOG), sheets=True)
    assert "<script>alert(1)</script>" not in html and 'onmouseover="alert' not in html
    assert '<section id="project-X&#34; onmouseover=&#34;alert(1)">' in html
    assert "项目 / Project X&#34; onmouseover=&#34;alert(1) · &lt;script&gt;alert(1)&lt;/script&gt;</h2>" in html
    assert html.count("<section ") == 1 and html.rstrip().endswith("</body></html>")


def test_sheet_areas_follow_the_display_unit_and_digits_of_the_schemas(monkeypatch):
    # the hectare of data/tables.toml and the decimals of data/csv_format.toml, not numbers of the sheet's own
    from sanxian_yidan import columns, schemas
    from sanxian_yidan.sheet import _area

    assert _area(12_345.0) == ("1.23 公顷（12,345 m²）", "1.23 ha (12,345 m²)")
    assert _area(2_500_000.0) == ("250.0 公顷", "250.0 ha")
    ha = schemas.display_unit("ha")
    monkeypatch.setattr(schemas, "display_unit", lambda name: ha.model_copy(update={"per": 1000.0}))
    fmt = columns.csv_format()
    monkeypatch.setattr(columns, "csv_format", lambda: {**fmt, "unit_digits": {**fmt["unit_digits"], "ha": 3}})
    assert _area(12_345.0) == ("12.345 公顷（12,345 m²）", "12.345 ha (12,345 m²)")


def test_sheet_large_areas_follow_the_csv_format_file_also_with_whole_hectares(monkeypatch):
    # hectares written without decimals: a large area is said with none (not "missing precision")
    from sanxian_yidan import columns
    from sanxian_yidan.sheet import _area

    fmt = columns.csv_format()
    assert fmt["sheet"]["large_area_ha"] == 100
    monkeypatch.setattr(columns, "csv_format", lambda: {**fmt, "unit_digits": {**fmt["unit_digits"], "ha": 0}})
    assert _area(2_500_000.0) == ("250 公顷", "250 ha")
    assert _area(12_345.0) == ("1 公顷（12,345 m²）", "1 ha (12,345 m²)")
    # the switch is the file's: at 500 ha, 250 ha keeps its m²
    monkeypatch.setattr(columns, "csv_format", lambda: {**fmt, "sheet": {**fmt["sheet"], "large_area_ha": 500}})
    assert _area(2_500_000.0) == ("250.00 公顷（2,500,000 m²）", "250.00 ha (2,500,000 m²)")


def test_pdf_keeps_no_link_to_this_machines_files(tmp_path: Path) -> None:
    """A page linking to files beside it prints to a PDF with no file:// address (they name this machine's
    folders and break once the outputs move); web links stay links; the page itself is left as it was."""
    from sanxian_yidan.sheet import html_to_pdf

    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.fail("headless Chromium is needed (scripts/setup_tests.sh installs the Debian package chromium)")
    html = ('<html><body><p><a href="brownfields/brownfields.csv">brownfields.csv</a> '
            "<a href='map.html#x'>map</a> <a href=\"https://www.mee.gov.cn/\">MEE</a></p></body></html>")
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    pdf = html_to_pdf(page, tmp_path / "report.pdf").read_bytes()
    assert b"file://" not in pdf
    assert b"https://www.mee.gov.cn/" in pdf
    assert page.read_text(encoding="utf-8") == html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"]


def test_sheet_map_draws_and_lists_the_layer_of_every_finding(screened) -> None:
    """SX-01's only finding is an overlap with a mine site, a role that is not a default sheet layer: the map
    still draws the mine sites in view (clipped to the map's extent) and the sheet names that layer."""
    from shapely import box

    from sanxian_yidan.figures import figure_settings
    from sanxian_yidan.maps.styles import styles
    from sanxian_yidan.sheet import location_map_layers

    cat, result = screened
    rec = next(r for r in result.to_records() if r["id"] == "SX-01")
    finding_roles = {f["role"] for f in rec["findings"] if f["kind"] == "finding"}
    assert finding_roles == {"mine_site"}  # the case under test: no default layer carries the finding
    defaults = figure_settings("sheet").context_roles
    assert "mine_site" not in defaults
    layers, bounds = location_map_layers(result, "SX-01", cat, record=rec)
    drawn = [layer.style for layer in layers]
    assert "mine_site" in drawn
    assert drawn.index("mine_site") < drawn.index("projects")  # beneath the footprint
    assert [s for s in drawn if s in defaults] == [r for r in defaults if r in drawn]  # defaults keep their order
    # Clipped as the other context layers: every mine site crossing the extent, none beyond its box.
    mines = cat.read("mine_site")
    frame = box(*bounds)
    drawn_mines = next(layer.gdf for layer in layers if layer.style == "mine_site")
    assert set(mines.index[mines.geometry.intersects(frame)]) <= set(drawn_mines.index)
    assert drawn_mines.geometry.envelope.intersects(frame).all()
    overlapped = next(f for f in rec["findings"] if f["kind"] == "finding")["features"]
    assert overlapped and overlapped in set(drawn_mines["name"].astype(str))
    # In the legend (the style's name) and named in the map's text alternative on the sheet.
    assert next(layer for layer in layers if layer.style == "mine_site").legend
    mine_style = styles().layers["mine_site"]
    png = location_map_png(result, "SX-01", cat, record=rec)
    html = sheet_html(result, "SX-01", map_png=png, record=rec)
    alt = re.search(r'<img alt="([^"]*)"', html)
    assert alt and alt.group(1).endswith(f"layers of the findings: {mine_style.zh} / {mine_style.en}")
