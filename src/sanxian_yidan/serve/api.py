"""The JSON API: ``POST /api/screen`` and friends, described by ``GET /api/openapi.json``.

Other systems log in with ``POST /api/login`` and send ``Authorization: Bearer <token>``; a browser
session (cookie) may call the API too, with its CSRF token in ``X-CSRF-Token``.  On a local server
without users file every caller is the local user.  Bodies must be ``application/json``, so that no
cross-site HTML form can post to the API.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import SanxianError
from . import views
from .flow import Inputs, clean_options, run_request
from .openapi import openapi_document
from .security import BodyTooLarge, attempt_login, check_csrf, new_session, session_of
from .store import Session
from .uploads import too_large

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["health", "routes"]


def _state(request: Request) -> Any:
    return request.app.state.service


def _caller(request: Request) -> Session | None:
    """The API caller's session: bearer token, or cookie (plus the CSRF header for a POST), or the local user."""
    state = _state(request)
    session, _ = session_of(request, state.store, state.settings.session.cookie)
    if session is not None:
        bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
        reading = request.method in ("GET", "HEAD")          # only a request that changes something needs CSRF
        if bearer or reading or check_csrf(session.csrf, request.headers.get("x-csrf-token")):
            return session
    if state.local:
        return Session("local", "admin", "", float("inf"))
    return None


async def _json_body(request: Request) -> dict[str, Any] | Response:
    state = _state(request)
    if not request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        return views.api_error(415, "请求体必须是 JSON（Content-Type: application/json）。 / The body must be JSON "
                                    "(Content-Type: application/json).")
    try:
        if getattr(request.state, "body_too_large", None):
            raise BodyTooLarge()
        body = json.loads(await request.body())
    except BodyTooLarge:
        return views.api_error(413, str(too_large(state.settings.upload.max_bytes + 1, state.settings, "request")))
    except (ValueError, UnicodeDecodeError) as exc:
        return views.api_error(400, f"请求体不是有效的 JSON。 / The body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return views.api_error(400, "请求体必须是 JSON 对象。 / The body must be a JSON object.")
    return body


async def api_login(request: Request) -> Response:
    state = _state(request)
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    if state.local:
        return JSONResponse({"token": None, "user": "local", "note": "local server: no login needed"})
    name = str(body.get("username", ""))
    user, status, refusal = attempt_login(state.store, state.settings, state.users, name,
                                          str(body.get("password", "")))
    if user is None:
        request.state.user = f"failed:{name[:64]}"
        return views.api_error(status, refusal)
    token, session = new_session(state.store, user.name, user.role, state.settings.session.lifetime_s)
    request.state.user = user.name
    return JSONResponse({"token": token, "user": user.name, "role": user.role, "expires": session.expires})


async def api_screen(request: Request) -> Response:
    state = _state(request)
    caller = _caller(request)
    if caller is None:
        return views.api_error(401, views.STATUS_TEXT[401])
    request.state.user = caller.user
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    try:
        options = clean_options(body.get("industry"), body.get("project_type"), body.get("radius_m"), body.get("crs"),
                                body.get("layer"))
        inputs = Inputs("api", str(body.get("name") or "API")[:200], **options)
        if body.get("geojson") is not None:
            geojson = json.dumps(body["geojson"]) if not isinstance(body["geojson"], str) else body["geojson"]
            key, screening = await run_request(state, caller.user, inputs, geojson=geojson)
        else:
            text = str(body.get("coordinates") or "")
            if not text.strip():        # else the empty text reaches the file sniffer: "binary content"
                raise views.no_api_input()
            key, screening = await run_request(state, caller.user, inputs, text=text)
    except SanxianError as exc:
        return views.api_error(422, str(exc))
    request.state.verdict = screening.verdict
    stored = state.store.screening(key)
    return JSONResponse({"id": key, "catalog_version": state.engine.version, "verdict": screening.verdict,
                         "seconds": round(screening.seconds, 3), "projects": screening.records,
                         "notes": (stored.notes if stored else None) or [], "links": _links(key, screening.records)})


def _links(key: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    base = f"/screenings/{key}"
    return {"page": base, "json": f"{base}/screening.json", "gpkg": f"{base}/screening.gpkg", "map": f"{base}/map",
            "sheets": {str(r["id"]): f"{base}/sheet/{quote(str(r['id']), safe='')}.html" for r in records}}


async def api_screening(request: Request) -> Response:
    state = _state(request)
    caller = _caller(request)
    if caller is None:
        return views.api_error(401, views.STATUS_TEXT[401])
    request.state.user = caller.user
    entry = state.store.screening(request.path_params["key"])
    if entry is None or not (caller.admin or entry.user == caller.user):
        return views.api_error(404, views.NOT_FOUND)
    request.state.verdict = entry.verdict
    return JSONResponse({"id": entry.id, "user": entry.user, "created": entry.created,
                         "catalog_version": entry.catalog_version, "verdict": entry.verdict,
                         "projects": entry.records, "notes": entry.notes or [],
                         "links": _links(entry.id, entry.records or [])})


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


async def basemap(request: Request) -> Response:
    """County and township outlines (WGS84) for the drawing map."""
    if _caller(request) is None and not _state(request).local:
        return views.api_error(401, views.STATUS_TEXT[401])
    return Response(_basemap_geojson(_state(request).engine), media_type="application/geo+json",
                    headers={"cache-control": "private, max-age=3600"})


@lru_cache(maxsize=4)
def _basemap_geojson(engine: Engine) -> str:
    return engine.outline_geojson()


async def health(request: Request) -> Response:
    """Liveness and the catalog version (no login needed; no data)."""
    return JSONResponse({"ok": True, "catalog_version": _state(request).engine.version})


def routes() -> list[Route]:
    """The API routes."""
    return [Route("/api/login", api_login, methods=["POST"]), Route("/api/screen", api_screen, methods=["POST"]),
            Route("/api/screenings/{key:str}", api_screening), Route("/api/openapi.json", openapi),
            Route("/api/basemap.geojson", basemap)]
