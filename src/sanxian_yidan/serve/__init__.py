"""``sanxian serve``: the screening service for a bureau's intranet (ASGI: Starlette on uvicorn).

Planners upload a boundary (any format the toolkit reads), draw it on the offline map or paste
coordinates, and get the verdict with cited rules, the overlapped control units with their access
lists, the map and the screening sheet; other systems use the JSON API (``POST /api/screen``).

Layout: :mod:`.app` builds the application; :mod:`.engine` is the one adapter to the screening
analysis; :mod:`.flow` runs one request; :mod:`.uploads` checks and reads what users send;
:mod:`.pages`, :mod:`.views` and ``templates/`` make the pages; :mod:`.api` and :mod:`.openapi` the
JSON API; :mod:`.security`, :mod:`.users` and :mod:`.store` the logins, headers, history and log;
:mod:`.config` reads ``data/serve.toml``.
"""

from __future__ import annotations

from .app import ServiceState, create_app
from .engine import Engine, catalog_version

__all__ = ["Engine", "ServiceState", "catalog_version", "create_app"]
