"""The screening sheet (研判单) and the study report in a real browser, offline.

Both pages of the Suixian sample study are opened in headless Chromium (1400 x 1000 window, every
network request sent to a dead proxy) the way a planner opens them, and the test checks what a person
sees: the sheet's verdict in large type in its verdict colour (the colour from ``data/styles.toml``
found on the screenshot), Chinese glyphs drawn (not missing-glyph boxes), no request leaving the page,
every sheet printed to one A4 page; the report's appendix folded and the page not endless.
Screenshots are copied to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from browser_util import chromium, keep, near, probe_page, rgb, run_chromium
from matplotlib.image import imread

from sanxian_yidan.maps.styles import verdict_colours
from sanxian_yidan.rules import VERDICT_RANK
from sanxian_yidan.sheet import html_to_pdf, sheet_names

#: A4 in PDF points (210 x 297 mm at 72 pt per inch), tolerance 1 pt.
A4_PT = (595.28, 841.89)
#: Longest study report a person scrolls through with the appendix folded, CSS px at 1400 px width.
MAX_REPORT_HEIGHT_PX = 15_000

PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = {errors: window.__sxErrors};
  out.resources = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  out.height = document.documentElement.scrollHeight;
  out.overflowX = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  var v = document.querySelector('.verdict');
  if (v) { var s = getComputedStyle(v), r = v.getBoundingClientRect();
           out.verdict = {text: v.textContent, fontSize: parseFloat(s.fontSize), background: s.backgroundColor,
                          rect: [r.left, r.top, r.right, r.bottom]}; }
  out.details = Array.prototype.map.call(document.querySelectorAll('details'), function (d) {
    return {open: d.open, cls: d.className, height: d.getBoundingClientRect().height}; });
  out.images = Array.prototype.map.call(document.querySelectorAll('img'), function (i) {
    return [i.naturalWidth, i.naturalHeight]; });
  // Chinese glyphs: different characters must draw differently (missing-glyph boxes are all alike)
  var c = document.createElement('canvas'); c.width = 40; c.height = 40; var g = c.getContext('2d');
  var font = getComputedStyle(document.body).fontFamily;
  function ink(ch) { g.clearRect(0, 0, 40, 40); g.font = '28px ' + font; g.fillText(ch, 2, 30);
                     return Array.prototype.join.call(g.getImageData(0, 0, 40, 40).data, ''); }
  out.glyphsDiffer = ink('研') !== ink('判') && ink('研') !== ink('\\uFFFF') && ink('判') !== ink('\\uFFFE');
  g.font = '28px ' + font; out.glyphWidth = g.measureText('随县').width;
  var h1 = document.querySelector('h1'); out.h1 = h1 ? h1.textContent : null;
  var pre = document.createElement('pre'); pre.id = 'sx-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 200); });
</script>"""


def _most_severe(run) -> tuple[str, str]:
    projects = run.results["screening"].projects
    order = np.argsort([-VERDICT_RANK[v] for v in projects["verdict"]], kind="stable")
    i = int(order[0])
    return str(projects["project_id"].iloc[i]), str(projects["verdict"].iloc[i])


def _pdf_pages(pdf: Path) -> tuple[int, list[tuple[float, float]]]:
    """Pages of a Chromium (Skia) PDF: its page objects and their MediaBox sizes (pt)."""
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    boxes = [(float(b[2]) - float(b[0]), float(b[3]) - float(b[1]))
             for b in re.findall(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", data)]
    return pages, boxes


def test_pdf_page_count_control(tmp_path: Path) -> None:
    """Control for the page counter: a page forced onto three A4 sheets counts three."""
    page = tmp_path / "three.html"
    page.write_text('<html><head><style>@page{size:A4} div{break-after:page}</style></head><body>'
                    '<div>1</div><div>2</div><div>3</div></body></html>', encoding="utf-8")
    pages, boxes = _pdf_pages(html_to_pdf(page, tmp_path / "three.pdf", browser=chromium()))
    assert pages == 3
    assert boxes and all(abs(w - A4_PT[0]) <= 1 and abs(h - A4_PT[1]) <= 1 for w, h in boxes)


def test_screening_sheet_in_the_browser(sample_study, tmp_path: Path) -> None:
    out, run = sample_study
    pid, verdict = _most_severe(run)
    projects = run.results["screening"].projects
    names = dict(zip(projects["project_id"], sheet_names(list(projects["project_id"]))))
    page = out / "screening" / "sheets" / f"{names[pid]}.html"
    assert page.is_file(), sorted(p.name for p in page.parent.iterdir())
    colour = verdict_colours()[verdict]

    r = probe_page(page, tmp_path, PROBE, window="1400,1000")
    assert r["errors"] == [] and r["resources"] == []   # no script error, no request at all
    assert r["overflowX"] <= 0                          # no sideways scrolling
    assert r["h1"] == "建设项目环境准入研判单"
    assert r["glyphsDiffer"] and r["glyphWidth"] > 40   # two 28 px CJK glyphs, not boxes
    # the verdict in large type (22 pt = 29.3 px) on its verdict colour
    v = r["verdict"]
    assert v["fontSize"] >= 28, v
    assert v["background"] == "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5))), v
    assert r["images"] and all(w > 100 and h > 100 for w, h in r["images"])  # the location map decoded

    # a person sees it: a block of the verdict colour where the verdict box is
    shot = tmp_path / f"sheet_{names[pid]}.png"
    run_chromium(page.as_uri(), tmp_path / "profile", f"--screenshot={shot}", window="1400,1000")
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1000, 1400)
    left, top, right, bottom = (int(round(x)) for x in v["rect"])
    box = near(pixels[top:bottom, left:right], rgb(colour), tol=4 / 255)
    assert box.mean() > 0.5, box.mean()   # more than half of the box is the verdict colour (the rest is text)
    assert box.sum() > 4_000, box.sum()
    keep(shot)



def test_every_sample_sheet_prints_on_one_a4_page(sample_study) -> None:
    """研判单 means one page: the study run with the PDF export printed each sheet of the sample with
    Chromium and its print CSS; every PDF is exactly one A4 page (the longest holds five findings with their
    legal sources and an access list)."""
    out, run = sample_study
    ids = list(run.results["screening"].projects["project_id"])
    counts = {}
    for pid, name in zip(ids, sheet_names(ids)):
        pdf = out / "screening" / "sheets" / f"{name}.pdf"
        assert pdf in run.outputs["screening"] and pdf.read_bytes().startswith(b"%PDF-"), pdf
        pages, boxes = _pdf_pages(pdf)
        assert boxes and all(abs(w - A4_PT[0]) <= 1 and abs(h - A4_PT[1]) <= 1 for w, h in boxes), (pid, boxes)
        counts[pid] = pages
    assert len(counts) == 6 and counts == dict.fromkeys(ids, 1), counts


def test_study_report_pdf(sample_study) -> None:
    """`study run --pdf` / `demo --pdf` print the study report to report.pdf: a valid A4 PDF whose page
    count is that of the report with its appendix folded (11 pages for the sample: summary, the four analyses
    with a figure and tables each; fewer than 6 would mean sections are missing, more than 16 that the
    appendix or a table printed unfolded)."""
    out, run = sample_study
    pdf = out / "report.pdf"
    assert run.outputs["report"] == [out / "report.html", pdf]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages, boxes = _pdf_pages(pdf)
    assert 6 <= pages <= 16, pages
    assert len(boxes) >= pages and all(abs(w - A4_PT[0]) <= 1 and abs(h - A4_PT[1]) <= 1 for w, h in boxes), boxes
    assert len(re.findall(rb"/Subtype\s*/Image", data)) >= 4   # the analysis figures and charts are in it


def test_pdf_without_a_browser_warns_and_keeps_the_html(tmp_path: Path, monkeypatch) -> None:
    import pytest

    from sanxian_yidan.sheet import SheetPdfWarning, pdf_beside

    page = tmp_path / "report.html"
    page.write_text("<html><body>x</body></html>", encoding="utf-8")
    monkeypatch.setenv("SANXIAN_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.warns(SheetPdfWarning, match="report.pdf was not written: open report.html"):
        assert pdf_beside(page) == []
    assert not (tmp_path / "report.pdf").exists() and page.is_file()


def test_study_report_in_the_browser(sample_study, tmp_path: Path) -> None:
    out, run = sample_study
    page = out / "report.html"
    r = probe_page(page, tmp_path, PROBE, window="1400,1000")
    assert r["errors"] == [] and r["resources"] == []
    assert r["overflowX"] <= 0
    assert r["glyphsDiffer"] and r["glyphWidth"] > 40
    appendix = [d for d in r["details"] if "appendix" in d["cls"]]
    assert len(appendix) == 1 and appendix[0]["open"] is False, r["details"]
    assert appendix[0]["height"] < 100           # folded: only its summary line shows
    assert r["height"] < MAX_REPORT_HEIGHT_PX, r["height"]
    assert r["images"] and all(w > 100 and h > 100 for w, h in r["images"])  # every figure decoded

    # the verdict-count chart shows the verdict colours of the projects screened
    shot = tmp_path / "study_report.png"
    height = min(int(r["height"]) + 20, MAX_REPORT_HEIGHT_PX)
    run_chromium(page.as_uri(), tmp_path / "profile", f"--screenshot={shot}", window=f"1400,{height}")
    pixels = imread(shot)[..., :3]
    keep(shot)
    colours = verdict_colours()
    for verdict in set(run.results["screening"].projects["verdict"]):
        seen = int(near(pixels, rgb(colours[verdict]), tol=4 / 255).sum())
        assert seen > 200, (verdict, colours[verdict], seen)
