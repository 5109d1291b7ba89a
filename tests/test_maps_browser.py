"""Offline map in a real browser: headless Chromium with the network disabled renders the features.

Chromium (Debian package ``chromium``) is driven directly through its command line: ``--dump-dom``
returns the DOM after the page's scripts ran, ``--screenshot`` a PNG.  A probe script appended to a
copy of the page writes what it measured (paths drawn, tiles, banner, legend, JS errors, resources
requested, the text of an opened popup) into the DOM as JSON.  Screenshots are kept in the pytest tmp
dir and copied to ``tests/artifacts/`` (git-ignored); their paths are printed.

The study-map test opens the map of the Suixian sample study the way a planner does in a review meeting
(1400 x 1000 window, no network) and checks what a person sees: every project marker in its verdict
colour on the screenshot, popups inside the window and clear of the legend and layer list, a legend that
lists only the layers switched on, Chinese glyphs rendered, and no request leaving the page.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from browser_util import ERROR_HOOK
from browser_util import keep as _keep
from browser_util import near as _near
from browser_util import rgb as _rgb
from browser_util import run_chromium as _run_chromium
from conftest import SAMPLE_CATALOG
from matplotlib.image import imread
from shapely.geometry import Point

from sanxian_yidan import Catalog
from sanxian_yidan.maps import (
    CategoryStyle,
    MapLayer,
    external_references,
    load_map_settings,
    make_map,
    save_map,
)
from sanxian_yidan.maps.styles import layer_style, palette_colours, verdict_colours, verdict_labels

SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = '<img src=x onerror="window.__xss=1">'
BANNER = "示例数据 SAMPLE DATA — synthetic layers, not official zoning / 合成图层，非官方管控成果"

PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = {};
  var paths = Array.prototype.slice.call(document.querySelectorAll('path.leaflet-interactive'));
  out.paths = paths.length;
  out.emptyPaths = paths.filter(function (p) {
    var d = p.getAttribute('d') || ''; return d.length < 8 || d === 'M0 0'; }).length;
  out.fills = paths.map(function (p) { return p.getAttribute('fill'); });
  out.tiles = document.querySelectorAll('img.leaflet-tile').length;
  var banner = document.querySelector('.sx-banner'); out.banner = banner ? banner.textContent : null;
  var legend = document.querySelector('.sx-legend'); out.legend = legend ? legend.textContent : null;
  out.overlays = document.querySelectorAll('.leaflet-control-layers-overlays label').length;
  out.scale = document.querySelectorAll('.leaflet-control-scale-line').length;
  out.measure = document.querySelectorAll('.leaflet-control-measure').length;
  out.fullscreen = document.querySelectorAll('.leaflet-control-zoom-fullscreen').length;
  out.resources = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  var map = null;
  for (var k in window) { try { if (k.indexOf('map_') === 0 && window[k] instanceof L.Map) { map = window[k]; } }
                          catch (e) {} }
  // open the popup and the tooltip of each feature whose text looks like markup
  out.popups = []; out.tooltips = []; out.injected = 0;
  if (map) {
    map.eachLayer(function (l) {
      var p = l.feature && l.feature.properties;
      if (!p || JSON.stringify(p._p || []).indexOf('<') < 0) { return; }
      l.openPopup();
      var content = l.getPopup().getElement().querySelector('.leaflet-popup-content');
      out.popups.push(content ? content.textContent : null);
      l.closePopup();
      l.openTooltip();
      out.tooltips.push(l.getTooltip().getElement().textContent);
      l.closeTooltip();
    });
    out.injected = document.querySelectorAll(
      '.leaflet-pane script, .leaflet-pane img:not(.leaflet-tile):not(.leaflet-image-layer)').length;
  }
  out.xss = window.__xss === undefined ? null : window.__xss;
  out.errors = window.__sxErrors;
  var pre = document.createElement('pre'); pre.id = 'sx-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _probe(page: Path, tmp_path: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    probed = tmp_path / f"probe_{page.name}"
    probed.write_text(text.replace("<head>", "<head>" + ERROR_HOOK, 1).replace("</html>", PROBE + "</html>"),
                      encoding="utf-8")
    dom = _run_chromium(probed.as_uri(), tmp_path / "profile", "--dump-dom")
    found = re.search(r'<pre id="sx-probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the probe script did not run: " + dom[-1500:]
    return json.loads(html.unescape(found.group(1)))


def _sample_map(tmp_path: Path) -> tuple[Path, int]:
    """Counties, townships, control units by class and four fake screening points, saved offline."""
    cat = Catalog.load(SAMPLE_CATALOG)
    units = cat.read("control_unit")
    points = gpd.GeoDataFrame(
        {"id": ["P1", "P2", "P3", "P4"], "name": ["厂房屋顶光伏", SCRIPT_NAME, IMG_NAME, "废弃矿山光伏"],
         "verdict": ["prohibited", "restricted", "needs_assessment", "compliant"],
         "verdict_zh": ["禁止", "限制", "需论证", "符合"],
         "findings": ['[{"rule_id": "R01", "severity": "prohibited", "source": "(十二)"}]', "[]", "[]", "[]"],
         "synthetic": [True] * 4},
        geometry=[Point(113.10, 31.80), Point(113.38, 31.72), Point(113.62, 31.98), Point(113.85, 31.62)],
        crs="EPSG:4326").to_crs("EPSG:4547")
    layers = [MapLayer(units, "环境管控单元（合成）", "Environmental control units (synthetic)",
                       style=CategoryStyle("category", palette="control_unit_category"),
                       popup=["code", "name", "category", "county", "list_space"]),
              MapLayer(points, "项目研判结论（示例）", "Screening verdicts (sample)", style=CategoryStyle("verdict"),
                       popup=["id", "name", "verdict", "verdict_zh", "findings"], tooltip="name")]
    m = make_map(layers, catalog=cat, offline=True, title_zh="随州市三线一单研判示例",
                 title_en="Suizhou zoning screening (sample)")
    features = len(units) + len(points) + len(cat.read("admin_boundary")) + len(cat.read("township"))
    return save_map(m, tmp_path / "offline_map.html"), features


def test_probe_sees_blocked_network_requests(tmp_path: Path) -> None:
    """Control: a page that asks the network is caught by the probe, and the request fails."""
    page = tmp_path / "control.html"
    page.write_text('<html><head></head><body><img id="t" src="https://tile.openstreetmap.org/1/1/1.png">'
                    '<script>window.L = {Map: function () {}};</script></body></html>', encoding="utf-8")
    result = _probe(page, tmp_path)
    assert result["resources"] == ["https://tile.openstreetmap.org/1/1/1.png"]
    loaded = _run_chromium(page.as_uri(), tmp_path / "profile", "--dump-dom")
    assert '<img id="t"' in loaded  # the page rendered although the image could not be fetched


def test_offline_map_renders_without_network(tmp_path: Path) -> None:
    page, n_features = _sample_map(tmp_path)
    assert external_references(page.read_text(encoding="utf-8")) == []
    result = _probe(page, tmp_path)
    assert result["errors"] == []
    assert result["resources"] == []          # nothing was requested, not even a local file
    assert result["tiles"] == 0
    assert result["paths"] >= n_features      # every feature drawn as SVG paths (plus the basemap's) ...
    assert result["emptyPaths"] == 0          # ... with real geometry
    units = palette_colours("control_unit_category")
    assert set(units.values()) <= set(result["fills"])  # the three unit classes, registry colours
    assert result["banner"].startswith(BANNER)
    assert "优先保护单元 / Priority protection unit" in result["legend"]
    assert "禁止 / Prohibited (1)" in result["legend"]
    assert result["scale"] == 1 and result["measure"] == 1 and result["fullscreen"] == 1
    # the feature named like a script shows its name as text and runs nothing
    assert len(result["popups"]) == 2
    assert any(SCRIPT_NAME in text for text in result["popups"])
    assert any(IMG_NAME in text for text in result["popups"]), result["popups"]
    assert sorted(result["tooltips"]) == sorted([SCRIPT_NAME, IMG_NAME])
    assert result["injected"] == 0 and result["xss"] is None

    shot = tmp_path / "offline_map.png"
    _run_chromium(page.as_uri(), tmp_path / "profile", f"--screenshot={shot}")
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (900, 1400)
    settings = load_map_settings()
    banner_red = _near(pixels, _rgb(settings.banner_background))
    look = layer_style("control_unit")
    # a priority-protection unit's fill over the hillshaded ground: its hue dominates (green > red, blue)
    assert banner_red.sum() > 3_000           # the banner is visible (one line above the map)
    green = (pixels[..., 1] > pixels[..., 0] + 0.04) & (pixels[..., 1] > pixels[..., 2] + 0.04)
    assert green.sum() > 20_000, look          # priority-protection units drawn
    _keep(shot)


# --- the study map in a review meeting ---------------------------------------------------------------
MEETING_PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = {errors: window.__sxErrors, popups: []};
  var map = null;
  for (var k in window) { try { if (k.indexOf('map_') === 0 && window[k] instanceof L.Map) { map = window[k]; } }
                          catch (e) {} }
  // Headless Chromium's virtual time does not run CSS transitions or animation frames: pans and fades
  // are made instant so the popups are measured where a person sees them once the animation ends.
  map._fadeAnimated = false; map.options.fadeAnimation = false;
  var panBy = map.panBy;
  map.panBy = function (offset, options) { return panBy.call(this, offset, L.extend({}, options, {animate: false})); };
  var box = map.getContainer().getBoundingClientRect();
  out.window = [window.innerWidth, window.innerHeight];
  out.zoom = map.getZoom();
  function rect(el) { var r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
  out.controls = Array.prototype.map.call(document.querySelectorAll('.sx-legend, .leaflet-control-layers'), rect);
  out.header = rect(document.querySelector('.sx-header'));
  var markers = [];
  map.eachLayer(function (l) {
    var p = l.feature && l.feature.properties;
    if (p && p._m && l.getLatLng) {
      var pt = map.latLngToContainerPoint(l.getLatLng());
      markers.push(l);
      l.__sxAt = [pt.x + box.left, pt.y + box.top];
    }
  });
  out.labels = Array.prototype.map.call(document.querySelectorAll('.leaflet-tooltip.sx-marker-label'),
                                       function (el) { return {text: el.textContent, rect: rect(el)}; });
  out.markers = markers.map(function (l) { return {id: l.feature.properties._m, at: l.__sxAt,
                                                  fill: l.options.fillColor, radius: l.options.radius}; });
  // legend: every layer named in it must be a checked entry of the layer list
  function checked() {
    var on = [];
    document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function (lab) {
      var input = lab.querySelector('input');
      if (input && input.checked) { on.push(lab.textContent.trim()); }
    });
    return on;
  }
  function listed() {
    var names = [];
    document.querySelectorAll('.sx-legend .sx-layer').forEach(function (el) {
      if (el.offsetParent === null) { return; }
      var n = el.querySelector('.sx-layer-name'); var syn = n.querySelector('.sx-syn, .sx-count');
      var text = n.cloneNode(true); text.querySelectorAll('.sx-syn, .sx-count').forEach(function (x) { x.remove(); });
      names.push(text.textContent.trim());
    });
    return names;
  }
  out.checked = checked(); out.listed = listed();
  // switch farmland on: the legend follows; off again: it is gone
  var farm = Array.prototype.filter.call(document.querySelectorAll('.leaflet-control-layers-overlays label'),
                                         function (lab) { return lab.textContent.indexOf('永久基本农田') >= 0; })[0];
  farm.querySelector('input').click(); out.listedFarmOn = listed(); farm.querySelector('input').click();
  out.listedFarmOff = listed();
  // Chinese glyphs: two different characters must not draw the same (missing-glyph boxes are identical)
  var c = document.createElement('canvas'); c.width = 40; c.height = 40; var g = c.getContext('2d');
  var font = getComputedStyle(document.querySelector('.sx-title')).fontFamily;
  function ink(ch) { g.clearRect(0, 0, 40, 40); g.font = '28px ' + font; g.fillText(ch, 2, 30);
                     return Array.prototype.join.call(g.getImageData(0, 0, 40, 40).data, ''); }
  out.glyphsDiffer = ink('随') !== ink('县') && ink('随') !== ink('\uFFFF');
  out.glyphWidth = (function () { g.font = '28px ' + font; return g.measureText('随县').width; })();
  out.resources = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  // open each marker's popup in turn, let auto-pan finish, measure it
  var i = 0;
  function next() {
    if (i > 0) {
      var el = markers[i - 1].getPopup().getElement();
      var content = el.querySelector('.leaflet-popup-content');
      out.popups.push({id: markers[i - 1].feature.properties._m, rect: rect(el),
                       controls: Array.prototype.map.call(document.querySelectorAll('.sx-legend, .leaflet-control-layers'), rect),
                       hscroll: content.scrollWidth > content.clientWidth + 1, text: content.textContent,
                       rows: Array.prototype.map.call(content.querySelectorAll('tr'), function (tr) {
                         return [tr.cells[0].textContent, tr.cells[1].textContent]; })});
      markers[i - 1].closePopup();
    }
    if (i < markers.length) { markers[i].openPopup(); i += 1; setTimeout(next, 700); return; }
    var pre = document.createElement('pre'); pre.id = 'sx-probe'; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  next();
}, 500); });
</script>"""


@pytest.fixture(scope="module")
def study_map(sample_study) -> tuple[Path, object]:
    """The Suixian sample study's map.html as `sanxian demo` writes it, and the study run."""
    out, run = sample_study
    return out / "map.html", run


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_study_map_in_a_review_meeting(study_map, tmp_path: Path) -> None:
    page, run = study_map
    text = page.read_text(encoding="utf-8")
    assert external_references(text) == []
    probed = tmp_path / "probe_map.html"
    probed.write_text(text.replace("<head>", "<head>" + ERROR_HOOK, 1).replace("</html>", MEETING_PROBE + "</html>"),
                      encoding="utf-8")
    dom = _run_chromium(probed.as_uri(), tmp_path / "profile", "--dump-dom", window="1400,1000", budget=15000)
    found = re.search(r'<pre id="sx-probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the probe did not finish: " + dom[-1500:]
    r = json.loads(html.unescape(found.group(1)))
    assert r["errors"] == [] and r["resources"] == []   # no script error, no request at all
    width, height = r["window"]  # headless Chromium's --dump-dom viewport is the window minus its frame
    assert width == 1400 and height > 800

    # every project has a marker in its verdict colour, at county zoom
    projects = run.results["screening"].projects
    colours = verdict_colours()
    expected = {pid: colours[v] for pid, v in zip(projects["project_id"], projects["verdict"])}
    assert r["zoom"] < load_map_settings().marker_max_zoom
    assert {m["id"]: m["fill"] for m in r["markers"]} == expected

    # ... and a person sees it: on the screenshot, one blob of exactly that colour per project marker
    from scipy import ndimage

    shot = tmp_path / "study_map.png"
    _run_chromium(page.as_uri(), tmp_path / "profile2", f"--screenshot={shot}", window="1400,1000")
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1000, 1400)
    radius = r["markers"][0]["radius"]
    for colour in set(expected.values()):
        blobs, n = ndimage.label(_near(pixels, _rgb(colour), tol=6 / 255))
        sizes = np.bincount(blobs.ravel())[1:]
        # a marker disc of radius r holds ~pi r^2 pixels; at least a third shows the verdict colour unblended
        markers_seen = int((sizes >= np.pi * radius ** 2 / 3).sum())
        wanted = sum(1 for c in expected.values() if c == colour)
        assert markers_seen >= wanted, (colour, markers_seen, wanted, sorted(sizes)[-8:])
    _keep(shot)

    # the project ids beside the markers: one label per project, inside the map, no two covering each other
    labels = r["labels"]
    assert sorted(lab["text"] for lab in labels) == sorted(expected)
    assert all(lab["rect"][0] >= 0 and lab["rect"][2] <= width and lab["rect"][3] <= height for lab in labels)
    assert not [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
                if _overlap(a["rect"], b["rect"])]

    # popups: inside the window, clear of the legend and the layer list, no sideways scrolling, no empty rows
    assert len(r["popups"]) == len(expected)
    for p in r["popups"]:
        left, top, right, bottom = p["rect"]
        assert left >= 0 and top >= r["header"][3] - 1 and right <= width and bottom <= height, p["id"]
        assert not any(_overlap(p["rect"], c) for c in p["controls"]), p["id"]
        assert not p["hscroll"], p["id"]
        assert all(value.strip() for _, value in p["rows"]), p["rows"]
        assert "研判结论 / Verdict" in dict(p["rows"]), p["rows"]
        assert dict(p["rows"])["研判结论 / Verdict"] in verdict_labels().values()  # label, not a raw code

    # the legend names only layers that are switched on, and follows the layer list
    basemap = "底图 / Basemap"
    assert set(r["listed"]) - {basemap} <= set(r["checked"]), (r["listed"], r["checked"])
    assert not any("永久基本农田" in name for name in r["listed"])
    assert any("永久基本农田" in name for name in r["listedFarmOn"])
    assert r["listedFarmOff"] == r["listed"]
    assert r["glyphsDiffer"] and r["glyphWidth"] > 40  # two 28 px CJK glyphs, not missing-glyph boxes


LABEL_PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  function rect(el) { var r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
  var out = {errors: window.__sxErrors};
  out.labels = Array.prototype.map.call(document.querySelectorAll('.leaflet-tooltip.sx-marker-label'),
                                        function (el) { return {text: el.textContent, rect: rect(el)}; });
  var pre = document.createElement('pre'); pre.id = 'sx-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 500); });
</script>"""


def test_marker_labels_of_a_cluster_do_not_cover_each_other(tmp_path: Path) -> None:
    """Five projects within 40 m of each other (one screen point at county zoom) and two far away: each id
    label finds a free place (right, left, then a label height up or down), no two labels intersect."""
    from browser_util import probe_page

    x0, y0 = 500_000.0, 3_510_000.0  # EPSG:4547, inside Suizhou
    near = [Point(x0 + 10 * i, y0 + 10 * (i % 2)) for i in range(5)]
    far = [Point(x0 - 20_000, y0 - 15_000), Point(x0 + 20_000, y0 + 15_000)]
    ids = [f"CL-{i}" for i in range(1, 6)] + ["FAR-1", "FAR-2"]
    gdf = gpd.GeoDataFrame({"id": ids, "verdict": ["prohibited", "restricted", "notice", "compliant",
                                                   "prohibited", "notice", "notice"]},
                           geometry=[p.buffer(5) for p in near + far], crs="EPSG:4547")
    m = make_map([MapLayer(gdf, "项目", "Projects", look="projects", markers="id")], boundaries=False,
                 offline=True)
    page = save_map(m, tmp_path / "cluster.html")
    r = probe_page(page, tmp_path, LABEL_PROBE, window="1400,1000")
    assert r["errors"] == []
    labels = r["labels"]
    assert sorted(lab["text"] for lab in labels) == sorted(ids)   # the map opens below marker_max_zoom
    clustered = [lab["rect"] for lab in labels if lab["text"].startswith("CL-")]
    centre = np.mean([[(a[0] + a[2]) / 2, (a[1] + a[3]) / 2] for a in clustered], axis=0)
    # the five cluster labels stay near their common marker (within a few label heights) ...
    assert all(abs((a[1] + a[3]) / 2 - centre[1]) <= 3 * (a[3] - a[1]) for a in clustered), clustered
    # ... and none covers another
    assert not [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
                if _overlap(a["rect"], b["rect"])], labels


ZOOM_PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var map = null;
  for (var k in window) { try { if (k.indexOf('map_') === 0 && window[k] instanceof L.Map) { map = window[k]; } }
                          catch (e) {} }
  function shown() {  // every label a person can see: project ids and place names not hidden
    return Array.prototype.filter.call(document.querySelectorAll('.leaflet-tooltip.sx-marker-label, .sx-label'),
      function (el) { return getComputedStyle(el).visibility !== 'hidden'; }).map(function (el) {
        var r = (el.classList.contains('sx-label') ? el.firstChild : el).getBoundingClientRect();
        return {text: el.textContent, rect: [r.left, r.top, r.right, r.bottom]}; });
  }
  var out = {errors: window.__sxErrors, steps: [{zoom: map.getZoom(), labels: shown()}]};
  function step(dz, then) {
    map.once('zoomend', function () { setTimeout(function () {
      out.steps.push({zoom: map.getZoom(), labels: shown()}); then(); }, 100); });
    map.setZoom(map.getZoom() + dz, {animate: false});
  }
  step(1, function () { step(-1, function () {
    var pre = document.createElement('pre'); pre.id = 'sx-probe'; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre); }); });
}, 500); });
</script>"""


def test_study_map_labels_never_cover_each_other(study_map, tmp_path: Path) -> None:
    """Township names give way to the project ids and to each other: at the zoom the map opens at, one
    zoom in and back out, no two visible labels intersect, every project id stays, and place names stay."""
    from browser_util import probe_page

    page, run = study_map
    r = probe_page(page, tmp_path, ZOOM_PROBE, window="1400,1000", budget=15000)
    assert r["errors"] == []
    ids = sorted(run.results["screening"].projects["project_id"])
    zooms = [s["zoom"] for s in r["steps"]]
    assert zooms[1] == zooms[0] + 1 and zooms[2] == zooms[0], zooms
    for s in r["steps"]:
        labels = s["labels"]
        assert sorted(lab["text"] for lab in labels if lab["text"] in ids) == ids, s["zoom"]
        assert len(labels) - len(ids) >= 10, s  # most of the 24 townships keep their name
        assert not [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
                    if _overlap(a["rect"], b["rect"])], s["zoom"]
    # zoomed in, names hidden at the opening zoom have room again
    assert len(r["steps"][1]["labels"]) > len(r["steps"][0]["labels"])


def test_cdn_page_without_network_says_so(tmp_path: Path) -> None:
    """A page that loads Leaflet from the internet, opened without network, is not a blank page."""
    points = gpd.GeoDataFrame({"id": ["P1"]}, geometry=[Point(113.37, 31.69)], crs="EPSG:4326")
    m = make_map([MapLayer(points, "点", "Points")], boundaries=False, offline=False)
    page = save_map(m, tmp_path / "cdn.html")
    assert external_references(page.read_text(encoding="utf-8"))  # it does need the network
    dom = _run_chromium(page.as_uri(), tmp_path / "profile", "--dump-dom")
    message = re.search(r'<div class="sx-offline-error" role="alert"[^>]*>(.*?)</div>', dom, re.DOTALL)
    assert message, dom[-1500:]
    assert "地图组件未能从网络加载" in message.group(1) and "without --cdn" in message.group(1)
