"""Outputs carry nothing of the project's development nor any path of the machine that wrote them.

The demo study and ``sanxian screen --out`` are run from a folder laid out like the repository (layers and
study files linked in), and every file they write — HTML, Markdown, CSV, JSON, GeoPackage, GeoTIFF — is
searched byte for byte for development notes ("issue 5", "RULES_REFERENCE", "search tool", ...) and for
absolute paths (the test folder's own path, ``/work/``, ``/tmp/``, ``/root/``, ``/home/``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.errors import SanxianWarning
from sanxian_yidan.study import run_study

REPO = Path(__file__).resolve().parents[1]
#: Development notes that must never reach an output (checked case-insensitively on the bytes).
LEAKS = [rb"RULES_REFERENCE", rb"SUIZHOU_FACTS", rb"issue \d", rb"issue #\d", rb"search tool", rb"shared/docs",
         rb"\.\./shared", rb"as issue", rb"did not return",
         # absolute paths (not URL paths such as chic.org.cn/home/...)
         rb"(?<![\w.-])/work/", rb"(?<![\w.-])/tmp/", rb"(?<![\w.-])/root/", rb"(?<![\w.-])/home/"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> tuple[Path, list[Path]]:
    base = tmp_path_factory.mktemp("leaks")
    (base / "layers").symlink_to(REPO / "layers")
    (base / "studies").mkdir()
    (base / "studies" / "suixian_projects.geojson").symlink_to(REPO / "studies" / "suixian_projects.geojson")
    study = (REPO / "studies" / "suixian.toml").read_text(encoding="utf-8").replace("../maps/suixian", "../out")
    (base / "studies" / "suixian.toml").write_text(study, encoding="utf-8")
    monkeypatch_module.chdir(base)
    run_study(Path("studies/suixian.toml"), allow_paths=[REPO], generated=datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc))
    result = CliRunner().invoke(app, ["screen", "studies/suixian_projects.geojson", "--catalog",
                                      "layers/catalog.toml", "--out", "screen_out", "--map"])
    assert result.exit_code == 0, result.output
    files = sorted(p for folder in ("out", "screen_out") for p in (base / folder).rglob("*") if p.is_file())
    return base, files


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_outputs_were_written(outputs) -> None:
    base, files = outputs
    names = {p.relative_to(base).as_posix() for p in files}
    for expected in ("out/report.html", "out/manifest.json", "out/screening/report.html",
                     "out/brownfields/brownfields.csv", "screen_out/report.html", "screen_out/screening.json"):
        assert expected in names


def test_no_development_note_nor_machine_path_in_any_output(outputs) -> None:
    base, files = outputs
    patterns = LEAKS + [re.escape(str(base).encode())]
    found = []
    for path in files:
        data = path.read_bytes()
        for pat in patterns:
            m = re.search(pat, data, flags=re.IGNORECASE)
            if m:
                found.append(f"{path.relative_to(base)}: {data[max(0, m.start() - 60):m.end() + 30]!r}")
    assert not found, "\n".join(found)


def test_the_leak_search_finds_a_planted_path(outputs, tmp_path: Path) -> None:
    """The search above is not vacuous: the same patterns catch a planted absolute path and note."""
    planted = b"<td>/work/main/layers/catalog.toml</td><td>as issue 5 specifies</td>"
    hits = [p for p in LEAKS if re.search(p, planted, flags=re.IGNORECASE)]
    assert hits == [rb"issue \d", rb"as issue", LEAKS[-4]]
    assert not any(re.search(p, b"(read at chic.org.cn/home/Index)") for p in LEAKS)


def test_study_report_appendix_is_collapsed_and_values_read_plainly(outputs) -> None:
    base, _ = outputs
    html = (base / "out" / "report.html").read_text(encoding="utf-8")
    appendix = html.index("<details class='appendix'>")
    assert html.index("准入规则 / Screening rules") > appendix and html.index("数据溯源 / Provenance") > appendix
    assert not re.search(r"<td>\d+\.0</td>", html)  # ranks and counts as integers, never "1.0"
    assert "<td>1</td><td>万和镇" in html or re.search(r"<td>1</td><td>[^<]+（示例）</td>", html)
    assert "<td></td><td>" not in html.split("参数与系数 / Parameters and factors")[1].split("</table>")[0]


def test_attribute_findings_are_sentences_not_code(outputs) -> None:
    base, _ = outputs
    text = (base / "out" / "screening" / "report.html").read_text(encoding="utf-8")
    assert "项目属于“两高”（高耗能、高排放）行业。" in text
    assert "two_high ==" not in text and "meets" not in text


def test_report_says_the_project_coordinates_were_swapped_back(tmp_path: Path) -> None:
    """A planner reading the report (not the terminal) learns that the reader repaired the project file."""
    from sanxian_yidan import screen
    from sanxian_yidan.catalog import Catalog
    from sanxian_yidan.report import screening_report_html, screening_report_markdown
    from sanxian_yidan.screening.inputs import read_projects

    source = tmp_path / "swapped.csv"
    source.write_text("id,name,lat,lon\nP1,a,113.38,31.70\n", encoding="utf-8")   # lon in the lat column
    with pytest.warns(SanxianWarning, match="swapped back"):
        projects = read_projects(source, crs="EPSG:4326")
    result = screen(projects, catalog=Catalog.load(REPO / "layers" / "catalog.toml"))
    assert [n.code for n in result.notes if n.code == "input"] == ["input"]
    assert "swapped back" in result.parameters["input_notes"][0]
    assert "颠倒，已纠正" in screening_report_html(result)
    assert "读取项目文件 / Reading the project file" in screening_report_markdown(result)
    from sanxian_yidan.sheet import sheet_html

    sheet = sheet_html(result, "P1")
    assert "读取项目文件时的处理" in sheet and "颠倒，已纠正" in sheet       # the one-page sheet says it too
