"""Offline map in a real browser: headless Chromium with the network disabled renders the features.

Chromium (Debian package ``chromium``) is driven directly through its command line: ``--dump-dom``
returns the DOM after the page's scripts ran, ``--screenshot`` a PNG.  A probe script appended to a
copy of the page writes what it measured (paths drawn, tiles, banner, legend, JS errors, resources
requested, the text of an opened popup) into the DOM as JSON.  The screenshot is kept in the pytest
tmp dir; with ``SANXIAN_KEEP_ARTIFACTS`` set it is also copied to ``tests/artifacts/offline_map.png``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import REPO, SAMPLE_CATALOG
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

INSTALL_HINT = ("headless Chromium is required for this test: install the Debian package chromium "
                "(apt-get install -y chromium chromium-driver), or set SANXIAN_CHROMIUM to a Chromium binary")
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = '<img src=x onerror="window.__xss=1">'
BANNER = "示例数据 SAMPLE DATA — synthetic layers, not official zoning / 合成图层，非官方管控成果"

# Errors are collected from the first script on; the probe runs after 'load' and writes JSON into the DOM.
ERROR_HOOK = ("<script>window.__sxErrors = []; window.addEventListener('error', function (e) "
              "{ window.__sxErrors.push(String(e.message || e)); });</script>")
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
    out.injected = document.querySelectorAll('.leaflet-pane script, .leaflet-pane img:not(.leaflet-tile)').length;
  }
  out.xss = window.__xss === undefined ? null : window.__xss;
  out.errors = window.__sxErrors;
  var pre = document.createElement('pre'); pre.id = 'sx-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 300); });
</script>"""


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0


def _near(pixels: np.ndarray, rgb: np.ndarray, tol: float = 3 / 255) -> np.ndarray:
    return np.all(np.abs(pixels - rgb) <= tol, axis=-1)


def _chromium() -> str:
    """Path of the Chromium binary; a missing browser fails the test (CI installs it), never skips it."""
    given = os.environ.get("SANXIAN_CHROMIUM")
    found = shutil.which(given) if given else (shutil.which("chromium") or shutil.which("chromium-browser"))
    if not found:
        pytest.fail(INSTALL_HINT + (f" (SANXIAN_CHROMIUM={given!r} is not an executable)" if given else ""))
    return found


def _run_chromium(url: str, profile: Path, *extra: str) -> str:
    """Run headless Chromium with every network request sent to a dead proxy (127.0.0.1:9)."""
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
               "--virtual-time-budget=5000", "--window-size=1400,900", *extra, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return done.stdout


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
    assert result["paths"] == n_features      # every feature drawn as one SVG path ...
    assert result["emptyPaths"] == 0          # ... with real geometry
    assert {"#1a9850", "#d73027", "#fee08b"} <= set(result["fills"])  # the three unit classes
    assert result["banner"].startswith(BANNER)
    assert "优先保护单元 / Priority protection unit" in result["legend"]
    assert "禁止 / Prohibited (1)" in result["legend"]
    assert result["overlays"] == 4 and result["scale"] == 1 and result["measure"] == 1
    assert result["fullscreen"] == 1
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
    # a priority-protection unit's fill seen over the map background: alpha blending
    alpha = settings.fill_opacity
    unit_green = _near(pixels, alpha * _rgb("#1a9850") + (1 - alpha) * _rgb(settings.background))
    assert banner_red.sum() > 5_000           # the banner is visible (about 600 x 70 px)
    assert unit_green.sum() > 20_000          # priority-protection units drawn
    if os.environ.get("SANXIAN_KEEP_ARTIFACTS"):
        target = REPO / "tests" / "artifacts" / "offline_map.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
