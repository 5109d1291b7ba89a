"""The HTML page of a map: rendering, offline inlining of Leaflet and its plugins, saving, stable element ids."""

from __future__ import annotations

import html
import logging
import re
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import folium
import folium.plugins

from ..errors import SanxianWarning, problem
from .settings import MapError, MapSettings, default_settings

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------
# Rendering, offline inlining, saving
# ---------------------------------------------------------------------------------------------------
_SCRIPT_SRC = re.compile(r'<script\s+src="(?P<url>[^"]+)"\s*>\s*</script>', re.IGNORECASE)
_LINK_CSS = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>[^"]+)"\s*/?>', re.IGNORECASE)
_CSS_URL = re.compile(r'url\(\s*(?P<q>["\']?)(?P<url>[^)"\']*)(?P=q)\s*\)', re.IGNORECASE)
# Anything a browser would fetch by itself: src/href of script, link, img, iframe, source, audio, video,
# embed and object; CSS url() and @import; tile URL templates in scripts.
_REF_PATTERNS = (
    re.compile(r'<(?:script|img|iframe|source|audio|video|embed|input|track)\b[^>]*?\bsrc\s*=\s*["\']?([^"\'\s>]+)',
               re.IGNORECASE),
    re.compile(r'<link\b[^>]*?\bhref\s*=\s*["\']?([^"\'\s>]+)', re.IGNORECASE),
    re.compile(r'<object\b[^>]*?\bdata\s*=\s*["\']?([^"\'\s>]+)', re.IGNORECASE),
    re.compile(r'url\(\s*["\']?((?:https?:)?//[^"\')\s]+)', re.IGNORECASE),
    re.compile(r'@import\s+(?:url\()?\s*["\']?((?:https?:)?//[^"\')\s;]+)', re.IGNORECASE),
    re.compile(r'["\']((?:https?:)?//[^"\'\s]*\{[xyz]\}[^"\'\s]*)["\']', re.IGNORECASE),
)


def external_references(page: str) -> list[str]:
    """Network addresses an HTML page would request by itself (empty for a self-contained page).

    Parameters
    ----------
    page : str
        HTML text.

    Returns
    -------
    list of str
        Every ``http://``, ``https://`` or protocol-relative ``//`` address in a ``src``/``href`` of a
        script, stylesheet link, image, frame or media element, in a CSS ``url()`` or ``@import``, or
        as a tile URL template (``{z}/{x}/{y}``) — in page order, once per occurrence.  Hyperlinks
        (``<a href>``) and XML namespaces are not requests and are not listed.
    """
    found: dict[int, str] = {}  # by position, so a URL two patterns see (@import url(...)) counts once
    for pattern in _REF_PATTERNS:
        for match in pattern.finditer(page):
            url = match.group(1)
            if re.match(r"(?:https?:)?//", url, re.IGNORECASE):
                found[match.start(1)] = url
    return [found[position] for position in sorted(found)]


@lru_cache(maxsize=1)
def _offline_assets() -> Mapping[str, str]:
    """URL → content of the scripts and stylesheets bundled by the PyPI package folium-offline."""
    try:
        from offlinefolium import elements
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise MapError(problem("缺少 folium-offline 包，无法生成离线地图。",
                               "The package folium-offline (import name offlinefolium) is not installed.",
                               fix="pip install folium-offline==0.20.0.2")) from exc
    return elements._res  # the package exposes its assets only this way


def _clean_css(css: str) -> str:
    # Inlined stylesheets cannot reach the images/fonts that sat next to them on the CDN; point such
    # relative url()s at an empty data URI so the browser does not look for them at all.
    return _CSS_URL.sub(lambda mt: mt.group(0) if mt.group("url").startswith(("data:", "#")) else "url(data:,)", css)


def inline_assets(page: str, *, settings: MapSettings | None = None) -> tuple[str, list[str]]:
    """Replace every external script and stylesheet of a folium page by an inline copy.

    Parameters
    ----------
    page : str
        HTML rendered by folium.
    settings : MapSettings, optional
        ``[offline].drop`` names resources left out (icon-marker assets).

    Returns
    -------
    page : str
        Self-contained HTML.
    notes : list of str
        One line per resource left out (and why).
    """
    s = settings or default_settings()
    assets = _offline_assets()
    notes: list[str] = []

    def replace(match: re.Match[str], kind: str) -> str:
        url = html.unescape(match.group("url"))
        name = url.rsplit("/", 1)[-1]
        if any(d in url for d in s.offline_drop):
            notes.append(f"dropped {name}: {s.offline_drop_reason}")
            return f"<!-- sanxian offline: {html.escape(name)} left out (not needed by this map) -->"
        if url not in assets:
            notes.append(f"dropped {name}: no inline copy in folium-offline")
            return f"<!-- sanxian offline: {html.escape(name)} left out (no inline copy) -->"
        body = assets[url]
        if kind == "script":
            return "<script>" + re.sub(r"</(script)", r"<\\/\1", body, flags=re.IGNORECASE) + "</script>"
        return "<style>" + re.sub(r"</(style)", r"<\\/\1", _clean_css(body), flags=re.IGNORECASE) + "</style>"

    page = _SCRIPT_SRC.sub(lambda mt: replace(mt, "script"), page)
    page = _LINK_CSS.sub(lambda mt: replace(mt, "style"), page)
    return page, notes


def _drop_tile_layers(m: folium.Map) -> list[str]:
    tiles = {k: c for k, c in m._children.items() if isinstance(c, folium.TileLayer)}  # folium keeps its children there
    for key in tiles:
        del m._children[key]
    return [tile.tile_name for tile in tiles.values()]


# A CDN page without network is a blank page: say so.  Scripts or stylesheets that fail to load (error
# events seen in the capture phase) and a Leaflet that never arrived show a message at the top of the page.
_ASSET_CHECK = """<script>
(function () {
  var shown = false;
  function show(what) {
    if (shown) { return; } shown = true;
    var div = document.createElement('div');
    div.className = 'sx-offline-error'; div.setAttribute('role', 'alert');
    div.style.cssText = 'background:#fff3cd;color:#5a3e00;border:2px solid #b8860b;padding:10px 14px;' +
      'font:14px sans-serif;position:relative;z-index:2000';
    div.textContent = '地图组件未能从网络加载（' + what + '），地图无法显示。请联网后刷新，或用离线方式重新生成' +
      '（不加 --cdn）。 / Map components could not be loaded from the internet (' + what + '), so the map cannot ' +
      'be shown. Connect and reload, or rebuild the map offline (without --cdn).';
    (document.body || document.documentElement).insertBefore(div, document.body ? document.body.firstChild : null);
  }
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { show(String(t.src || t.href).split('/').pop()); }
  }, true);
  window.addEventListener('load', function () { if (typeof L === 'undefined') { show('Leaflet'); } });
})();
</script>"""


def render_html(m: folium.Map, *, offline: bool | None = None) -> str:
    """Render a map to HTML, self-contained when ``offline`` (default: as the map was built).

    Raises
    ------
    MapError
        If an offline page still refers to the network, or an Amap map (GCJ-02 overlays) is asked for
        offline (the overlays would be ~600 m off without the Amap tiles).
    """
    info = getattr(m, "sanxian", {})
    offline = info.get("offline", False) if offline is None else offline
    if not offline:
        return re.sub(r"<head>", lambda _m: "<head>" + _ASSET_CHECK, m.get_root().render(), count=1,
                      flags=re.IGNORECASE)
    if info.get("gcj02"):
        raise MapError(problem(
            "该地图按高德（GCJ-02）底图偏移了叠加图层，离线保存会使图层偏离约 600 米。",
            "This map's overlays were shifted to GCJ-02 for Amap tiles; offline (without tiles) they would be "
            "~600 m off.", fix="build it with make_map(..., offline=True) or basemap='none'"))
    if dropped := _drop_tile_layers(m):
        warnings.warn(f"offline map: tile layers {dropped} left out (they need the network)", SanxianWarning,
                      stacklevel=2)
    page, notes = inline_assets(m.get_root().render())
    for note in notes:
        logger.info("offline map: %s", note)
    if remaining := external_references(page):
        raise MapError(problem("离线地图仍引用网络资源。",
                               f"The offline page still refers to the network: {sorted(set(remaining))}",
                               fix="remove elements that load remote resources (icons, tiles, remote GeoJSON)"))
    return page


def save_map(m: folium.Map, path: str | Path, *, offline: bool | None = None) -> Path:
    """Write a map to an HTML file (UTF-8).

    Parameters
    ----------
    m : folium.Map
        From :func:`make_map`.
    path : str or Path
        Output file (parent folders are created).
    offline : bool, optional
        Inline every script and stylesheet so the file works without any network; checked with
        :func:`external_references`.  Default: as the map was built (``make_map(offline=...)``).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    page = render_html(m, offline=offline)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    logger.info("map written to %s (%.0f kB%s)", path, len(page.encode("utf-8")) / 1024,
                ", self-contained" if (offline or getattr(m, "sanxian", {}).get("offline")) else "")
    return path


_ELEMENT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def stable_element_ids(page: str) -> str:
    """Replace folium's random 32-hex element ids by ``000…001``-style counters in order of appearance.

    folium names every map element with a random id, so two renders of the same map differ; studies
    promise identical outputs for identical inputs.  Longer hex strings (SHA-256 digests) are untouched.
    """
    mapping: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        return mapping.setdefault(match.group(0), f"{len(mapping) + 1:032x}")

    return _ELEMENT_ID.sub(replace, page)
