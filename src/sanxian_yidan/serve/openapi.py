"""OpenAPI 3.1 description of the JSON API (served at ``/api/openapi.json``).

The record schema of each project is that of ``sanxian screen``'s ``screening.json``
(``docs/screening_schema.md``); it is referenced, not repeated, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "status": {"type": "integer"}, "message": {"type": "string", "description": "中文 / English, with the fix"}}}}}
_SCREEN_REQUEST = {
    "type": "object",
    "description": "One of geojson or coordinates.",
    "properties": {
        "geojson": {"type": "object", "description": "GeoJSON FeatureCollection, Feature or geometry (WGS84 unless "
                                                     "crs says otherwise); properties id, name, industry, "
                                                     "project_type are read as in `sanxian screen`"},
        "coordinates": {"type": "string", "description": "Pasted text: bare 'x,y' pairs (one point, two a line, "
                                                         "three or more a polygon; blank lines separate parcels), a "
                                                         "land-boundary TXT or a CSV coordinate table"},
        "crs": {"type": "string", "examples": ["EPSG:4326", "EPSG:4547", "GCJ-02", "BD-09"]},
        "industry": {"type": "string", "description": "GB/T 4754-2017 code, e.g. C2614"},
        "project_type": {"type": "string", "examples": ["pv", "industrial", "mining"]},
        "radius_m": {"type": "number", "description": "Footprint radius of points / half-width of lines [m]"},
        "layer": {"type": "string", "description": "Layer of a multi-layer input (pasted tables: sheet)"},
        "name": {"type": "string", "description": "Label kept in the history"},
    },
}
_SCREEN_RESPONSE = {"type": "object", "properties": {
    "id": {"type": "string", "description": "History id"},
    "catalog_version": {"type": "string", "description": "sha256 prefix of the catalog and its layer files"},
    "verdict": {"type": "string", "enum": ["prohibited", "restricted", "needs_assessment", "outside_coverage",
                                          "notice", "compliant"]},
    "seconds": {"type": "number"},
    "projects": {"type": "array", "items": {"type": "object", "description": "docs/screening_schema.md record"}},
    "notes": {"type": "array", "items": {"type": "string"},
              "description": "What reading the input assumed or repaired (CRS taken, X/Y swapped back, datum, encoding); "
                             "the result page shows the same list"},
    "links": {"type": "object"}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", **_json(_ERROR)} for c in codes}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the service's JSON API."""
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "sanxian serve — 环境准入研判 / access screening API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/api/login": {"post": {
                "summary": "Log in; returns a bearer token (expires with the session lifetime)",
                "requestBody": _json({"type": "object", "required": ["username", "password"], "properties": {
                    "username": {"type": "string"}, "password": {"type": "string"}}}),
                "responses": {"200": {"description": "token", **_json({"type": "object", "properties": {
                    "token": {"type": "string"}, "user": {"type": "string"}, "role": {"type": "string"},
                    "expires": {"type": "number"}}})}, **_errors(400, 401, 415, 429)}}},
            "/api/screen": {"post": {
                "summary": "Screen one or more projects against the 三线一单 zoning", "security": bearer,
                "requestBody": _json(_SCREEN_REQUEST),
                "responses": {"200": {"description": "verdict and records", **_json(_SCREEN_RESPONSE)},
                              **_errors(400, 401, 413, 415, 422)}}},
            "/api/screenings/{id}": {"get": {
                "summary": "A stored screening (own screenings; an admin sees all)", "security": bearer,
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "stored screening", **_json(_SCREEN_RESPONSE)},
                              **_errors(401, 404)}}},
            "/api/basemap.geojson": {"get": {"summary": "County and township outlines (WGS84)", "security": bearer,
                                             "responses": {"200": {"description": "GeoJSON"}}}},
            "/healthz": {"get": {"summary": "Liveness and catalog version", "responses": {"200": {
                "description": "ok"}}}},
        },
    }
