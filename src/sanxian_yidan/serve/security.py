"""Security of the service: response headers (CSP), request-size limit, request log, sessions and CSRF.

* Every response carries a Content-Security-Policy that allows scripts, styles and connections only from
  the service itself (no inline script, no CDN); the result-map frame, a self-contained offline map page,
  gets its own stricter-origin policy (:data:`MAP_CSP`) and is shown in a sandboxed frame.
* A request body larger than the upload limit is cut off while it arrives (chunked bodies too).
* Each request is logged (who, when, method, path without query string, status, verdict, time) in the
  SQLite store and the ``sanxian_yidan.serve.access`` logger; passwords, tokens and form fields never.
* Sessions are random tokens in an HttpOnly, SameSite=Strict cookie (or an ``Authorization: Bearer``
  header for other systems), stored hashed, expiring after ``[session] lifetime_s``.  Every form carries
  the session's CSRF token; the login form a double-submit token.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .store import Session, Store

if TYPE_CHECKING:
    from .config import ServeSettings
    from .users import User

__all__ = ["CSP", "MAP_CSP", "BodyLimit", "SecurityHeaders", "check_csrf", "new_session", "session_of"]

access_log = logging.getLogger("sanxian_yidan.serve.access")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
#: The offline result map is one self-contained page of inline scripts and styles (folium): it may run
#: them (its measuring tool, leaflet-measure, compiles its templates with ``new Function``: 'unsafe-eval'),
#: but load nothing and send nothing; it is framed with ``sandbox="allow-scripts"`` (no cookies, no origin).
MAP_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; "
           "font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
#: Downloaded sheets: styles and embedded images only.
SHEET_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"SAMEORIGIN"), (b"cross-origin-opener-policy", b"same-origin"))


class SecurityHeaders:
    """ASGI middleware: security headers on every response, and the request log."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                headers.extend(h for h in _HEADERS if h[0] not in names)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            state = scope.get("state", {})
            ms = 1000 * (time.perf_counter() - start)
            user, verdict = state.get("user"), state.get("verdict")
            if not scope["path"].startswith("/static/"):
                self.store.log_request(user=user, method=scope["method"], path=scope["path"],
                                       status=status["code"], verdict=verdict, ms=ms)
            access_log.info("%s %s %s %d %s %.0f ms", user or "-", scope["method"], scope["path"], status["code"],
                            verdict or "-", ms)


class BodyTooLarge(Exception):
    """The request body passed the limit while it arrived."""


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes (Content-Length, or counted as they arrive).

    ``slack`` bytes are allowed on top for the multipart framing and the form's other fields.
    """

    def __init__(self, app: ASGIApp, limit: int, slack: int = 1 << 20) -> None:
        self.app = app
        self.limit = limit + slack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            scope.setdefault("state", {})["body_too_large"] = int(length)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(seen)
            return message

        await self.app(scope, limited, send)


def session_of(request: Request, store: Store, cookie: str) -> tuple[Session | None, str | None]:
    """The live session of the request (bearer header first, then cookie) and its token."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies.get(cookie)
    if not token:
        return None, None
    found = store.session(token)
    return (found, token) if found else (None, None)


def new_session(store: Store, user: str, role: str, lifetime_s: int) -> tuple[str, Session]:
    """Create a session; returns its token (for the cookie or the API client) and the session."""
    token = secrets.token_urlsafe(32)
    session = Session(user, role, secrets.token_urlsafe(32), time.time() + lifetime_s)
    store.add_session(token, session)
    return token, session


def attempt_login(store: Store, settings: ServeSettings, users: dict[str, User], name: str, password: str
                  ) -> tuple[User | None, int, str]:
    """Check a login: ``(user, 200, "")`` on success, ``(None, HTTP status, bilingual reason)`` on failure.

    A name with ``[login] max_failures`` failures within ``window_s`` is refused without checking the
    password, so guessing is slowed for everyone alike.
    """
    from .users import verify_password
    from .views import LOGIN_ERROR

    if store.failures(name, settings.login.window_s) >= settings.login.max_failures:
        minutes = max(1, round(settings.login.window_s / 60))
        return None, 429, (f"该用户登录失败次数过多，请 {minutes} 分钟后再试。 / Too many failed logins for this user: "
                           f"try again in {minutes} minutes.")
    user = verify_password(users, name, password)
    if user is None:
        store.add_failure(name)
        return None, 401, LOGIN_ERROR
    store.clear_failures(name)
    return user, 200, ""


def check_csrf(expected: str | None, given: Any) -> bool:
    """True if the form's (or header's) token equals the session's, in constant time."""
    return bool(expected and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode()))


def cookie_kwargs(secure: bool, max_age: int) -> dict[str, Any]:
    """Attributes of the session cookie: HttpOnly, SameSite=Strict, Secure behind HTTPS."""
    return {"httponly": True, "samesite": "strict", "secure": secure, "max_age": max_age, "path": "/"}
