"""One screening request from input to history, shared by the pages and the JSON API.

The input (an uploaded file, pasted text or a drawn/posted GeoJSON) is written into the request's own
temporary folder, read, screened and stored — all on a worker thread, at most ``[screening] concurrent``
at a time per process — and the folder is removed whatever happened.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import geopandas as gpd

from ..errors import InputFileError, problem
from .engine import Engine, Screening
from .store import HistoryEntry, Store
from .uploads import parse_coordinates_text, read_projects, request_folder

if TYPE_CHECKING:
    from .config import ServeSettings

__all__ = ["Inputs", "run_request"]


class ServiceParts(Protocol):
    """What a screening request uses of :class:`~sanxian_yidan.serve.app.ServiceState` (named by its members:
    the app imports the pages, which import this module)."""

    engine: Engine
    store: Store
    settings: ServeSettings
    limiter: anyio.CapacityLimiter


@dataclass(frozen=True)
class Inputs:
    """What a screening request asked for, besides the geometry."""

    source: str              # "upload", "draw", "paste" or "api"
    name: str                # shown name: the uploaded file's name or a label
    crs: str | None = None
    industry: str | None = None
    project_type: str | None = None
    radius_m: float | None = None
    layer: str | None = None   # layer of a multi-layer file: GeoPackage layer, DXF layer, KML folder, sheet


def clean_options(industry: Any, project_type: Any, radius: Any, crs: Any, layer: Any = None) -> dict[str, Any]:
    """Form or JSON options as screening arguments: empty strings are None, the radius a number."""
    def text(value: Any) -> str | None:
        value = "" if value is None else str(value).strip()
        return value or None

    code = text(industry)
    code = code and code.split()[0]  # the list shows "C2614 有机化学原料制造"; the code is the first word
    r = text(radius)
    radius_m: float | None = None
    if r is not None:
        try:
            radius_m = float(r)
        except ValueError:
            raise InputFileError(problem("半径必须是数字（米）。", f"The radius must be a number of metres, got {r!r}.",
                                         fix="enter e.g. 100, or leave it empty for the default")) from None
    return {"industry": code, "project_type": text(project_type), "radius_m": radius_m, "crs": text(crs),
            "layer": text(layer)}


def _read(folder: Path, payload: bytes | None, text: str | None, geojson: str | None, inputs: Inputs,
          state: ServiceParts) -> gpd.GeoDataFrame:
    if payload is not None:                      # an uploaded file, already size-checked
        path = folder / "upload.bin"
        path.write_bytes(payload)
        return read_projects(path, state.settings, shown=inputs.name, crs=inputs.crs, layer=inputs.layer)
    if text is not None:                         # pasted coordinates or a pasted file
        bare = parse_coordinates_text(text)
        path = folder / "pasted.bin"
        path.write_text(bare if bare is not None else text, encoding="utf-8")
        return read_projects(path, state.settings, shown=inputs.name, crs=inputs.crs or ("EPSG:4326" if bare else None))
    if geojson is not None:                      # drawn on the map or posted to the API
        path = folder / "drawn.bin"
        path.write_text(geojson, encoding="utf-8")
        return read_projects(path, state.settings, shown=inputs.name, crs=inputs.crs)
    raise InputFileError(problem("没有收到项目边界。", "No project boundary was sent.",
                                 fix="upload a file, draw on the map or paste coordinates"))


def _work(state: ServiceParts, user: str, inputs: Inputs, payload: bytes | None, text: str | None,
          geojson: str | None) -> tuple[str, Screening]:
    engine: Engine = state.engine
    store: Store = state.store
    start = time.monotonic()
    with request_folder() as folder:
        projects = _read(folder, payload, text, geojson, inputs, state)
        # The time limit covers reading too: the screening gets what is left of it.
        left = state.settings.screening.time_limit_s - (time.monotonic() - start)
        screening = engine.screen(projects, industry=inputs.industry, project_type=inputs.project_type,
                                  radius_m=inputs.radius_m, time_limit_s=max(left, 1e-9),
                                  limit_s=state.settings.screening.time_limit_s)
        key = secrets.token_hex(8)
        store.add_screening(HistoryEntry(
            id=key, user=user, created=time.time(), catalog_version=engine.version, source=inputs.source,
            name=inputs.name[:200], n_projects=len(screening.records), verdict=screening.verdict, crs=inputs.crs,
            industry=inputs.industry, project_type=inputs.project_type, radius_m=inputs.radius_m,
            input_geojson=engine.input_geojson(projects), records=screening.records,
            notes=_reader_notes(projects, folder, inputs.name)))
    engine.keep(key, screening)
    return key, screening


def _reader_notes(projects: gpd.GeoDataFrame, folder: Path, shown: str) -> list[str]:
    """What the reader assumed or repaired (CRS taken, legacy datum, encoding ...), with the user's file name."""
    notes = projects.attrs.get("sanxian", {}).get("warnings", [])
    cleaned = [str(n).replace(str(folder) + "/input", shown).replace(str(folder), ".") for n in notes]
    return list(dict.fromkeys(cleaned))              # a reader may note the same thing twice


async def run_request(state: ServiceParts, user: str, inputs: Inputs, *, payload: bytes | None = None,
                      text: str | None = None, geojson: str | None = None) -> tuple[str, Screening]:
    """Read, screen and store one request on a worker thread; returns the history id and the screening.

    Raises
    ------
    SanxianError
        With the CLI's bilingual message (bad file, bad CRS, unknown industry, time limit ...).
    """
    work: Callable[[], tuple[str, Screening]] = lambda: _work(state, user, inputs, payload, text, geojson)  # noqa: E731
    return await anyio.to_thread.run_sync(work, limiter=state.limiter)


def rerun(state: ServiceParts, entry: HistoryEntry) -> Screening:
    """Screen a stored input again (for downloads after its result left the memory cache)."""
    from ..io import read_vector

    with request_folder() as folder:
        path = folder / "stored.geojson"
        path.write_text(entry.input_geojson, encoding="utf-8")
        projects = read_vector(path)
        return state.engine.screen(projects, industry=entry.industry, project_type=entry.project_type,
                                   radius_m=entry.radius_m, time_limit_s=state.settings.screening.time_limit_s)
