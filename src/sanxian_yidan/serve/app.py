"""The ASGI application of ``sanxian serve``: state loaded once, routes, middleware.

:func:`create_app` loads the catalog (layers, rules) once, reads its layers into memory with a first
screening, opens the SQLite store and returns a Starlette application.  Pages (:mod:`.pages`) and the
JSON API (:mod:`.api`) share one engine (:mod:`.engine`) and one request flow (:mod:`.flow`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from .config import ServeSettings, load_serve_settings, serve_settings
from .engine import Engine
from .security import BodyLimit, SecurityHeaders
from .store import Store
from .users import User, load_users

__all__ = ["CONFIG_ENV", "ServiceState", "app_from_env", "create_app"]

#: Environment variable through which ``sanxian serve --workers N`` hands the options to each worker process.
CONFIG_ENV = "SANXIAN_SERVE_CONFIG"

log = logging.getLogger(__name__)


@dataclass
class ServiceState:
    """Everything a request handler needs, created once per process.

    Attributes
    ----------
    engine : Engine
        The catalog in memory and the screening adapter.
    store : Store
        Sessions, history, request log (SQLite).
    settings : ServeSettings
        Limits and lifetimes (``data/serve.toml`` or the file given).
    users : dict or None
        Users allowed to log in; None on a local-only server without a users file (one local user).
    templates : jinja2.Environment
        Page templates, autoescaped.
    limiter : anyio.CapacityLimiter
        Screenings running at once.
    secure_cookies : bool
        Mark cookies Secure (behind an HTTPS proxy).
    """

    engine: Engine
    store: Store
    settings: ServeSettings
    users: dict[str, User] | None
    templates: Environment
    limiter: anyio.CapacityLimiter
    secure_cookies: bool = False

    @property
    def local(self) -> bool:
        """True when no users file is used: everyone reaching the (localhost-only) server is the local user."""
        return self.users is None


def templates() -> Environment:
    """The page templates (``serve/templates``), autoescaped."""
    return Environment(loader=PackageLoader("sanxian_yidan", "serve/templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def create_app(catalog: str | Path, *, db: str | Path, users: str | Path | None = None,
               settings: str | Path | None = None, secure_cookies: bool = False,
               warm: bool = True) -> Starlette:
    """Build the service for ``catalog``.

    Parameters
    ----------
    catalog : path
        Layer catalog (``layers/catalog.toml``).
    db : path
        SQLite file for sessions, history and the request log (created when missing).
    users : path, optional
        Users file (``sanxian serve adduser``); without it the service has one local user and must only
        listen on localhost (the command line enforces this).
    settings : path, optional
        Service settings merged over the packaged ``data/serve.toml`` (only the keys to change).
    secure_cookies : bool
        Send cookies only over HTTPS (when an HTTPS reverse proxy is in front).
    warm : bool
        Read every layer at start-up (default); tests may skip it.
    """
    from . import api, pages

    conf = load_serve_settings(settings) if settings is not None else serve_settings()
    engine = Engine(catalog, cached_results=conf.history.cached_results, cached_maps=conf.history.cached_maps)
    if warm:
        log.info("catalog %s read into memory in %.1f s", engine.version, engine.warm())
    store = Store(db)
    state = ServiceState(engine=engine, store=store, settings=conf,
                         users=load_users(users) if users is not None else None, templates=templates(),
                         limiter=anyio.CapacityLimiter(conf.screening.concurrent), secure_cookies=secure_cookies)
    routes: list[Any] = [*pages.routes(), *api.routes(), Route("/healthz", api.health),
                         Route("/favicon.ico", lambda request: Response(status_code=204))]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, store=store),
                                               Middleware(BodyLimit, limit=conf.upload.max_bytes)],
                    exception_handlers=pages.exception_handlers())
    app.state.service = state
    return app


def app_from_env() -> Starlette:
    """The application built from the JSON options in :data:`CONFIG_ENV` (uvicorn's factory for workers).

    Every worker process loads the catalog itself; sessions and history are shared through the SQLite file.
    """
    import warnings

    from ..errors import SanxianWarning

    warnings.simplefilter("ignore", SanxianWarning)  # readers' notes go to each user's result page instead
    options = json.loads(os.environ[CONFIG_ENV])
    return create_app(options.pop("catalog"), **options)
