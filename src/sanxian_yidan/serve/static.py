"""Static files of the pages, all served by the service itself (no CDN: pages work without internet).

* ``/static/vendor/leaflet.js``, ``leaflet.css`` — Leaflet 1.9.3 from the same inline copies the offline
  maps embed (the PyPI package folium-offline, a dependency);
* ``/static/verdicts.css`` — verdict colours from the style registry (``data/styles.toml``), as classes,
  since the Content-Security-Policy allows no inline styles;
* everything else from ``serve/static/`` (the page stylesheet, the drawing and search scripts).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

#: URL of each vendored asset in folium-offline's table (Leaflet as folium 0.20 loads it).
VENDOR = {
    "leaflet.js": ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js", "text/javascript"),
    "leaflet.css": ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css", "text/css"),
}
_CACHE = {"cache-control": "public, max-age=86400"}


@cache
def vendor_asset(name: str) -> str:
    """Text of a vendored asset; stylesheet ``url()``s to images that are not bundled are emptied."""
    import re

    from offlinefolium import elements

    url, _ = VENDOR[name]
    body = elements._res[url]  # folium-offline exposes its inline copies only as this table
    if name.endswith(".css"):
        body = re.sub(r"url\((?!['\"]?data:)[^)]*\)", "url(data:,)", body)
    return body


async def vendor(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in VENDOR:
        return Response("not found", status_code=404)
    return Response(vendor_asset(name), media_type=VENDOR[name][1], headers=_CACHE)


@lru_cache(maxsize=1)
def verdict_css() -> str:
    """One class per verdict and finding kind: background in the registry colour, readable text."""
    from ..htmlstyle import text_colour, verdict_colour
    from .views import VERDICT_CLASSES

    rules = []
    for verdict in VERDICT_CLASSES:
        colour = verdict_colour(verdict)
        rules.append(f".v-{verdict} {{ background: {colour}; color: {text_colour(colour)}; }}")
        rules.append(f".b-{verdict} {{ border-left: 8px solid {colour}; }}")
    return "\n".join(rules) + "\n"


async def verdicts(request: Request) -> Response:
    return Response(verdict_css(), media_type="text/css", headers=_CACHE)


def static_app() -> Router:
    """The ``/static`` application."""
    folder = Path(__file__).with_name("static")
    return Router(routes=[Route("/vendor/{name:str}", vendor), Route("/verdicts.css", verdicts),
                          Mount("/", app=StaticFiles(directory=folder))])
