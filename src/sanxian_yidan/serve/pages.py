"""HTML pages of the service: login, new screening (upload / draw / paste), result, history, downloads."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from ..errors import SanxianError
from . import views
from .flow import Inputs, clean_options, rerun, run_request
from .security import (
    MAP_CSP,
    SHEET_CSP,
    BodyTooLarge,
    attempt_login,
    check_csrf,
    cookie_kwargs,
    new_session,
    session_of,
)
from .static import static_app
from .store import HistoryEntry, Session
from .uploads import UploadTooLarge, too_large

__all__ = ["exception_handlers", "routes"]

Handler = Callable[[Request], Awaitable[Response]]
_LOGIN_CSRF = "sx_login_csrf"


def service(request: Request) -> Any:
    """The :class:`~.app.ServiceState` of the application."""
    return request.app.state.service


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``serve/templates`` (autoescaped), with the session and the sample-data flag."""
    state = service(request)
    session = getattr(request.state, "session", None)
    page = state.templates.get_template(template).render(
        session=session, local=state.local, synthetic=state.engine.synthetic, version=state.engine.version,
        **context)
    return HTMLResponse(page, status_code=status)


def authenticated(handler: Handler) -> Handler:
    """Run ``handler`` for a logged-in user; others go to the login page (a local server logs them in)."""

    async def wrapped(request: Request) -> Response:
        state = service(request)
        session, _ = session_of(request, state.store, state.settings.session.cookie)
        fresh: str | None = None
        if session is None and state.local:
            fresh, session = new_session(state.store, "local", "admin", state.settings.session.lifetime_s)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        request.state.session = session
        request.state.user = session.user
        response = await handler(request)
        if fresh is not None:
            response.set_cookie(state.settings.session.cookie, fresh,
                                **cookie_kwargs(state.secure_cookies, state.settings.session.lifetime_s))
        return response

    return wrapped


# -- login ---------------------------------------------------------------------------------------------
async def login_page(request: Request) -> Response:
    state = service(request)
    if state.local:
        return RedirectResponse("/", status_code=303)
    token = request.cookies.get(_LOGIN_CSRF) or views.random_token()
    response = render(request, "login.html.j2", csrf=token, error=None)
    response.set_cookie(_LOGIN_CSRF, token, **cookie_kwargs(state.secure_cookies, 3600))
    return response


async def login(request: Request) -> Response:
    state = service(request)
    if state.local:
        return RedirectResponse("/", status_code=303)
    form = await request.form()
    token = request.cookies.get(_LOGIN_CSRF)
    if not check_csrf(token, form.get("csrf")):
        return render(request, "login.html.j2", 403, csrf=token or "", error=views.CSRF_ERROR)
    name = str(form.get("username", ""))
    user, status, refusal = attempt_login(state.store, state.settings, state.users, name,
                                          str(form.get("password", "")))
    if user is None:
        request.state.user = f"failed:{name[:64]}"
        return render(request, "login.html.j2", status, csrf=token, error=refusal)
    session_token, _ = new_session(state.store, user.name, user.role, state.settings.session.lifetime_s)
    request.state.user = user.name
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(state.settings.session.cookie, session_token,
                        **cookie_kwargs(state.secure_cookies, state.settings.session.lifetime_s))
    response.delete_cookie(_LOGIN_CSRF, path="/")
    return response


@authenticated
async def logout(request: Request) -> Response:
    state = service(request)
    form = await request.form()
    if not check_csrf(request.state.session.csrf, form.get("csrf")):
        raise HTTPException(403, views.CSRF_ERROR)
    _, token = session_of(request, state.store, state.settings.session.cookie)
    if token:
        state.store.drop_session(token)
    response = RedirectResponse("/login" if not state.local else "/", status_code=303)
    response.delete_cookie(state.settings.session.cookie, path="/")
    return response


# -- new screening -------------------------------------------------------------------------------------
@authenticated
async def index(request: Request) -> Response:
    return render(request, "index.html.j2", **views.form_context(), error=None, values={})


@authenticated
async def screen(request: Request) -> Response:
    state = service(request)
    session: Session = request.state.session
    values: dict[str, Any] = {}
    try:
        if getattr(request.state, "body_too_large", None):
            raise too_large(request.state.body_too_large, state.settings, "upload")
        async with request.form(max_files=1, max_fields=20, max_part_size=state.settings.upload.max_bytes) as form:
            values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
            if not check_csrf(session.csrf, form.get("csrf")):
                raise HTTPException(403, views.CSRF_ERROR)
            options = clean_options(form.get("industry"), form.get("project_type"), form.get("radius"),
                                    form.get("crs"), form.get("layer"))
            key, screening = await _screen_form(request, form, options)
    except BodyTooLarge:
        return render(request, "index.html.j2", 413, **views.form_context(), values=values,
                      error=str(too_large(state.settings.upload.max_bytes + 1, state.settings, "upload")))
    except SanxianError as exc:                        # an upload too large is 413, any other input error 422
        return render(request, "index.html.j2", 413 if isinstance(exc, UploadTooLarge) else 422,
                      **views.form_context(), values=values, error=str(exc))
    request.state.verdict = screening.verdict
    return RedirectResponse(f"/screenings/{key}", status_code=303)


async def _screen_form(request: Request, form: Any, options: dict[str, Any]) -> tuple[str, Any]:
    state = service(request)
    mode = form.get("mode", "upload")
    user = request.state.session.user
    if mode == "upload":
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise views.no_input()
        payload = await upload.read(state.settings.upload.max_bytes + 1)
        if len(payload) > state.settings.upload.max_bytes:
            raise too_large(len(payload), state.settings, "upload")
        name = views.display_name(upload.filename)
        return await run_request(state, user, Inputs("upload", name, **options), payload=payload)
    if mode == "paste":
        text = str(form.get("coordinates") or "")
        if not text.strip():
            raise views.no_input()
        return await run_request(state, user, Inputs("paste", "粘贴的坐标 / pasted coordinates", **options), text=text)
    drawn = str(form.get("geojson") or "")
    if not drawn.strip():
        raise views.no_input()
    return await run_request(state, user, Inputs("draw", "地图绘制 / drawn on the map", **options), geojson=drawn)


# -- results -------------------------------------------------------------------------------------------
def _entry(request: Request) -> HistoryEntry:
    """The screening named in the path, if the user may see it (404 otherwise: no hint that it exists)."""
    state = service(request)
    entry = state.store.screening(request.path_params["key"])
    session: Session = request.state.session
    if entry is None or not (session.admin or entry.user == session.user):
        raise HTTPException(404, views.NOT_FOUND)
    request.state.verdict = entry.verdict
    return entry


async def _result(request: Request, entry: HistoryEntry) -> Any:
    """The analysis result of a stored screening: from memory, else screened again from its input."""
    state = service(request)
    found = state.engine.kept(entry.id)
    if found is not None:
        return found
    if entry.catalog_version != state.engine.version:
        raise HTTPException(409, views.version_changed(entry.catalog_version, state.engine.version))
    screening = await anyio.to_thread.run_sync(lambda: rerun(state, entry), limiter=state.limiter)
    state.engine.keep(entry.id, screening)
    return screening


@authenticated
async def result_page(request: Request) -> Response:
    entry = _entry(request)
    return render(request, "result.html.j2", entry=entry, projects=views.project_views(entry.records or []),
                  created=_dt.datetime.fromtimestamp(entry.created).strftime("%Y-%m-%d %H:%M"),
                  current=entry.catalog_version == service(request).engine.version)


@authenticated
async def result_map(request: Request) -> Response:
    entry = _entry(request)
    screening = await _result(request, entry)
    state = service(request)
    page = await anyio.to_thread.run_sync(lambda: state.engine.map_html(entry.id, screening))
    return HTMLResponse(page, headers={"content-security-policy": MAP_CSP})


@authenticated
async def download(request: Request) -> Response:
    entry = _entry(request)
    what = request.path_params["what"]
    state = service(request)
    if what == "screening.json":
        return views.json_download(entry.records, f"screening-{entry.id}.json")
    if what != "screening.gpkg":
        raise HTTPException(404, views.NOT_FOUND)
    screening = await _result(request, entry)
    data = await anyio.to_thread.run_sync(lambda: state.engine.gpkg_bytes(screening), limiter=state.limiter)
    return views.attachment(data, f"screening-{entry.id}.gpkg", "application/geopackage+sqlite3")


@authenticated
async def sheet(request: Request) -> Response:
    entry = _entry(request)
    state = service(request)
    pid, fmt = request.path_params["pid"], request.path_params["fmt"]
    if fmt not in ("html", "pdf") or not any(str(r["id"]) == pid for r in entry.records or []):
        raise HTTPException(404, views.NOT_FOUND)
    screening = await _result(request, entry)
    page = await anyio.to_thread.run_sync(lambda: state.engine.sheet_html(screening, pid), limiter=state.limiter)
    name = f"sheet-{views.file_stem(pid)}"
    if fmt == "html":
        return views.attachment(page.encode("utf-8"), f"{name}.html", "text/html; charset=utf-8",
                                headers={"content-security-policy": SHEET_CSP})
    pdf = await anyio.to_thread.run_sync(lambda: views.pdf_bytes(page), limiter=state.limiter)
    return views.attachment(pdf, f"{name}.pdf", "application/pdf")


@authenticated
async def history(request: Request) -> Response:
    state = service(request)
    session: Session = request.state.session
    asked = request.query_params.get("page", "1")
    page = max(1, int(asked)) if asked.isdigit() else 1
    size = state.settings.history.page_size
    rows = state.store.history(None if session.admin else session.user, limit=size + 1, offset=(page - 1) * size)
    return render(request, "history.html.j2", rows=views.history_views(rows[:size]), page=page,
                  more=len(rows) > size)


# -- errors --------------------------------------------------------------------------------------------
async def http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "") or views.STATUS_TEXT.get(status, "")
    if request.url.path.startswith("/api/"):
        return views.api_error(status, str(detail))
    return render(request, "error.html.j2", status, code=status, message=str(detail))


def exception_handlers() -> dict[Any, Any]:
    """Bilingual error pages (JSON under /api/)."""
    return {HTTPException: http_error}


def routes() -> list[Any]:
    """The page routes."""
    return [
        Route("/", index), Route("/login", login_page, methods=["GET"]), Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]), Route("/screen", screen, methods=["POST"]),
        Route("/history", history), Route("/screenings/{key:str}", result_page),
        Route("/screenings/{key:str}/map", result_map),
        Route("/screenings/{key:str}/sheet/{pid:str}.{fmt:str}", sheet),
        Route("/screenings/{key:str}/{what:str}", download),
        Mount("/static", app=static_app(), name="static"),
    ]
