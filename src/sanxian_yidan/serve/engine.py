"""The one place where the service meets the screening analysis.

Everything the web pages and the JSON API need from a screening goes through :class:`Engine`: run it
(the registered ``screening`` analysis of :mod:`sanxian_yidan.analysis`), its records (the JSON schema of
``docs/screening_schema.md``), the GeoPackage, the screening sheet and the result map (the result's own
``map_layers()`` over the catalog's context layers).  Nothing else in the service knows the result type.

The catalog is loaded once per process: its layers are read into the catalog's own cache by a first
screening at start-up (:meth:`Engine.warm`), so every later request screens against layers already in
memory.  Screenings may run on several threads at once; the catalog cache is filled before the first
request, so they only read it.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import shapely

from ..catalog import Catalog
from ..errors import SanxianError, problem
from ..rules import VERDICT_RANK

if TYPE_CHECKING:
    from ..screening.result import ScreeningResult

__all__ = ["Engine", "Screening", "ScreeningTimeout", "catalog_version"]

#: Bytes read at a time when hashing layer files.
_CHUNK = 1 << 20


class ScreeningTimeout(SanxianError):
    """A screening ran over the service's time limit and was stopped."""


@dataclass
class Screening:
    """One finished screening.

    Attributes
    ----------
    records : list of dict
        One JSON-ready record per project (``docs/screening_schema.md``).
    verdict : str
        The most severe verdict over the projects.
    result : object
        The analysis result (for downloads and maps); not stored.
    seconds : float
        Wall time of the screening [s].
    """

    records: list[dict[str, Any]]
    verdict: str
    result: ScreeningResult
    seconds: float


def catalog_version(catalog: Catalog) -> str:
    """sha256 (first 16 hex digits) of the catalog file and every layer file it names, in catalog order.

    Two servers with the same version judge against byte-identical layers, so a stored verdict can be
    reproduced by screening its stored input against a catalog of that version.
    """
    digest = hashlib.sha256()
    files = ([catalog.path] if catalog.path else []) + sorted({e.path for e in catalog.entries}, key=str)
    for path in files:
        digest.update(Path(path).name.encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _deadline_progress(deadline: float, limit_s: float) -> Callable[[str, int, int], None]:
    """A progress callback that stops the screening at its next step once ``deadline`` has passed."""

    def progress(label: str, done: int, total: int) -> None:
        if time.monotonic() > deadline:
            raise ScreeningTimeout(problem(
                f"研判超过时限（{limit_s:g} 秒），已停止。",
                f"The screening ran over the time limit of {limit_s:g} s and was stopped (at: {label}).",
                fix="send fewer projects at a time, or simplify the boundary (fewer vertices)"))

    return progress


#: Script of the result map (its Leaflet map is ``%(map)s``): a popup opens on the clicked footprint and
#: wholly inside the frame.  Leaflet anchors a footprint's popup where the click was; a click without a
#: position (the keyboard, a script) anchors it at the frame's corner, and its own pan runs before the popup's
#: content is laid out, so a tall popup could stay partly outside the small frame of the result page.
_POPUP_IN_VIEW_JS = """
(function (map) {
    var PAD = {left: 50, top: 12, right: 12, bottom: 30};     // clear of the zoom buttons and the frame edge
    function clamp(bounds, view) {
        return L.latLngBounds([Math.max(bounds.getSouth(), view.getSouth()), Math.max(bounds.getWest(), view.getWest())],
                              [Math.min(bounds.getNorth(), view.getNorth()), Math.min(bounds.getEast(), view.getEast())]);
    }
    function fit(popup) {
        var el = popup.getElement();
        if (!el || !map.hasLayer(popup)) { return; }
        var box = el.getBoundingClientRect(), frame = map.getContainer().getBoundingClientRect();
        var dx = 0, dy = 0;
        if (box.left - PAD.left < frame.left) { dx = box.left - PAD.left - frame.left; }
        else if (box.right + PAD.right > frame.right) {
            dx = Math.min(box.right + PAD.right - frame.right, box.left - PAD.left - frame.left);
        }
        if (box.top - PAD.top < frame.top) { dy = box.top - PAD.top - frame.top; }
        else if (box.bottom + PAD.bottom > frame.bottom) {
            dy = Math.min(box.bottom + PAD.bottom - frame.bottom, box.top - PAD.top - frame.top);
        }
        if (dx || dy) { map.panBy([dx, dy], {animate: false}); }
    }
    map.on('popupopen', function (e) {
        var popup = e.popup, source = popup._source;
        if (source && source.getBounds) {
            var bounds = source.getBounds(), view = map.getBounds(), at = popup.getLatLng();
            if (!bounds.contains(at) || !view.contains(at)) {
                var seen = clamp(bounds, view);
                popup.setLatLng(seen.isValid() ? seen.getCenter() : bounds.getCenter());
            }
        }
        window.requestAnimationFrame(function () { fit(popup); });
    });
})(%(map)s);
"""


def _with_popups_in_view(page: str, map_name: str) -> str:
    """The map page with :data:`_POPUP_IN_VIEW_JS` run after the page's own scripts (which build the map)."""
    script = "<script>" + _POPUP_IN_VIEW_JS % {"map": map_name} + "</script>\n"
    end = page.rfind("</html>")
    return page[:end] + script + page[end:] if end >= 0 else page + script


class Engine:
    """Screening against one catalog kept in memory.

    Parameters
    ----------
    catalog : Catalog or path
        The layer catalog (e.g. ``layers/catalog.toml``).
    cached_results : int
        Finished results kept for downloads and maps (least recently used dropped first).
    cached_maps : int
        Rendered result maps kept.
    """

    def __init__(self, catalog: Catalog | str | Path, *, cached_results: int = 32, cached_maps: int = 4) -> None:
        from ..rules import load_rules

        self.catalog = catalog if isinstance(catalog, Catalog) else Catalog.load(catalog)
        self.rules = load_rules()                    # the packaged rules, parsed once
        self.version = catalog_version(self.catalog)
        self._results: OrderedDict[str, Screening] = OrderedDict()
        self._size = cached_results
        self._lock = threading.Lock()
        self._map_cache: OrderedDict[str, str] = OrderedDict()
        self._maps = cached_maps

    @property
    def synthetic(self) -> bool:
        """True if any catalog layer is synthetic (every page says so)."""
        return bool(self.catalog.synthetic_entries())

    def warm(self) -> float:
        """Read every layer a screening needs into memory with one screening at the coverage's centre.

        Returns the seconds it took.
        """
        start = time.monotonic()
        where = self.catalog.coverage()
        point = where.representative_point() if where is not None else shapely.Point(0, 0)
        probe = gpd.GeoDataFrame({"id": ["warm-up"]}, geometry=[point], crs=self.catalog.working_crs)
        try:
            self.screen(probe)
        except SanxianError:
            pass  # a catalog without coverage still loads its layers on the first real request
        return time.monotonic() - start

    def screen(self, projects: gpd.GeoDataFrame, *, industry: str | None = None, project_type: str | None = None,
               radius_m: float | None = None, time_limit_s: float | None = None,
               limit_s: float | None = None) -> Screening:
        """Screen ``projects`` (a GeoDataFrame with a CRS) and return the records and the verdict.

        ``time_limit_s`` is the time left for this screening [s]; ``limit_s`` the whole limit named in the
        message (default ``time_limit_s``).

        Raises
        ------
        SanxianError
            Any screening error (bad geometry, unknown industry ...), with the CLI's bilingual message;
            :class:`ScreeningTimeout` past ``time_limit_s``.
        """
        from ..analysis import get_analysis

        start = time.monotonic()
        progress = _deadline_progress(start + time_limit_s, limit_s or time_limit_s) if time_limit_s else None
        # One thread per screening: the service runs several screenings at once instead.
        params = {"rules": self.rules, "industry": industry, "project_type": project_type, "radius_m": radius_m,
                  "threads": 1}
        # The registered analysis returns a ScreeningResult (typed as any Result by the registry).
        result = cast("ScreeningResult", get_analysis("screening").run(self.catalog, projects, params=params,
                                                                       progress=progress))
        records = result.to_records()
        verdict = max((r["verdict"] for r in records), key=lambda v: VERDICT_RANK.get(v, 0), default="compliant")
        return Screening(records, verdict, result, time.monotonic() - start)

    # -- results kept for downloads ------------------------------------------------------------------
    def keep(self, key: str, screening: Screening) -> None:
        """Keep a finished result in memory under ``key`` (the history id)."""
        with self._lock:
            self._results[key] = screening
            self._results.move_to_end(key)
            while len(self._results) > self._size:
                self._results.popitem(last=False)

    def kept(self, key: str) -> Screening | None:
        """The result kept under ``key``, or None."""
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
            return found

    # -- renderings ----------------------------------------------------------------------------------
    @staticmethod
    def input_geojson(projects: gpd.GeoDataFrame) -> str:
        """The projects as GeoJSON in WGS84 (stored with the history to reproduce a verdict)."""
        return projects.to_crs("EPSG:4326").to_json(drop_id=True, to_wgs84=False)

    def gpkg_bytes(self, screening: Screening) -> bytes:
        """The result GeoPackage (layers projects, overlaps, findings, distances, notes) as bytes."""
        with tempfile.TemporaryDirectory(prefix="sanxian-serve-") as tmp:
            path = screening.result.to_gpkg(Path(tmp) / "screening.gpkg")
            return path.read_bytes()

    def sheet_html(self, screening: Screening, project_id: str) -> str:
        """The printable screening sheet of one project (self-contained HTML with its location map)."""
        from ..sheet import location_map_png, sheet_html

        record = next(r for r in screening.records if str(r["id"]) == str(project_id))
        png = location_map_png(screening.result, record["id"], self.catalog)
        return sheet_html(screening.result, record["id"], map_png=png, record=record)

    def map_html(self, key: str, screening: Screening) -> str:
        """The offline result map (footprints by verdict, findings in popups, constraint layers)."""
        with self._lock:
            if key in self._map_cache:
                return self._map_cache[key]
        from ..maps import make_map
        from ..maps.page import render_html
        from ..resultmaps import context_layers

        m = make_map(context_layers(self.catalog) + screening.result.map_layers(), offline=True,
                     catalog=self.catalog, title_zh="环境准入研判", title_en="Access screening", view="results")
        page = _with_popups_in_view(render_html(m), m.get_name())
        with self._lock:
            self._map_cache[key] = page
            while len(self._map_cache) > self._maps:
                self._map_cache.popitem(last=False)
        return page

    def outline_geojson(self, roles: tuple[str, ...] = ("admin_boundary", "township"),
                        tolerance_m: float = 20.0) -> str:
        """County and township outlines as WGS84 GeoJSON for the drawing map (simplified by ``tolerance_m``)."""
        frames = []
        for role in roles:
            if self.catalog.has(role):
                layer = self.catalog.read(role)
                names = layer["name"].astype(str) if "name" in layer.columns else ""
                frames.append(gpd.GeoDataFrame({"role": role, "name": names},
                                               geometry=layer.geometry.boundary.simplify(tolerance_m),
                                               crs=layer.crs))
        if not frames:
            return '{"type": "FeatureCollection", "features": []}'
        import pandas as pd

        merged = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        return merged.to_crs("EPSG:4326").to_json(drop_id=True)
