"""The service's SQLite file: sessions, the history of screenings and the request log.

SQLite is embedded (no server to run) and safe for the few writes per second of a screening desk; the
file is opened in WAL mode so that pages read while a screening is written.  Session tokens are stored
as their sha256 only, so the file does not hold a usable login; passwords are never stored here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HistoryEntry", "Session", "Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY, user TEXT NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL,
    expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS screenings (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, created REAL NOT NULL, catalog_version TEXT NOT NULL,
    source TEXT NOT NULL, name TEXT NOT NULL, crs TEXT, industry TEXT, project_type TEXT, radius_m REAL,
    n_projects INTEGER NOT NULL, verdict TEXT NOT NULL, input_geojson TEXT NOT NULL, records_json TEXT NOT NULL,
    notes_json TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS screenings_user ON screenings (user, created);
CREATE TABLE IF NOT EXISTS login_failures (name TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    at REAL NOT NULL, user TEXT, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
    verdict TEXT, ms REAL NOT NULL);
"""


def token_hash(token: str) -> str:
    """sha256 of a session token (what the file stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    """A logged-in user."""

    user: str
    role: str
    csrf: str
    expires: float

    @property
    def admin(self) -> bool:
        """True for the admin role (sees every user's history)."""
        return self.role == "admin"


@dataclass(frozen=True)
class HistoryEntry:
    """One stored screening (without its records and input unless asked for)."""

    id: str
    user: str
    created: float
    catalog_version: str
    source: str
    name: str
    n_projects: int
    verdict: str
    crs: str | None = None
    industry: str | None = None
    project_type: str | None = None
    radius_m: float | None = None
    input_geojson: str = ""
    records: list[dict[str, Any]] | None = None
    notes: list[str] | None = None


class Store:
    """The SQLite file of one service (created when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    # -- sessions ----------------------------------------------------------------------------------
    def add_session(self, token: str, session: Session) -> None:
        """Store a new session under (the hash of) ``token``; expired sessions are dropped."""
        db = self._db()
        db.execute("DELETE FROM sessions WHERE expires < ?", (time.time(),))
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                   (token_hash(token), session.user, session.role, session.csrf, session.expires))

    def session(self, token: str) -> Session | None:
        """The live session of ``token``, or None (unknown or expired)."""
        row = self._db().execute("SELECT user, role, csrf, expires FROM sessions WHERE token_sha256 = ?",
                                 (token_hash(token),)).fetchone()
        return None if row is None or row[3] < time.time() else Session(*row)

    def drop_session(self, token: str) -> None:
        """Log out: forget the session."""
        self._db().execute("DELETE FROM sessions WHERE token_sha256 = ?", (token_hash(token),))

    # -- failed logins -----------------------------------------------------------------------------
    def add_failure(self, name: str) -> None:
        """Count a failed login for ``name``."""
        self._db().execute("INSERT INTO login_failures VALUES (?, ?)", (name[:64], time.time()))

    def failures(self, name: str, window_s: float) -> int:
        """Failed logins for ``name`` within the last ``window_s`` seconds (older ones are dropped)."""
        db = self._db()
        since = time.time() - window_s
        db.execute("DELETE FROM login_failures WHERE at < ?", (since,))
        return db.execute("SELECT COUNT(*) FROM login_failures WHERE name = ? AND at >= ?",
                          (name[:64], since)).fetchone()[0]

    def clear_failures(self, name: str) -> None:
        """Forget the failed logins of ``name`` (after a successful login)."""
        self._db().execute("DELETE FROM login_failures WHERE name = ?", (name[:64],))

    # -- history -----------------------------------------------------------------------------------
    def add_screening(self, entry: HistoryEntry) -> None:
        """Store a finished screening with its input (WGS84 GeoJSON) and records."""
        self._db().execute(
            "INSERT INTO screenings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry.id, entry.user, entry.created, entry.catalog_version, entry.source, entry.name, entry.crs,
             entry.industry, entry.project_type, entry.radius_m, entry.n_projects, entry.verdict,
             entry.input_geojson, json.dumps(entry.records, ensure_ascii=False, allow_nan=False),
             json.dumps(entry.notes or [], ensure_ascii=False)))

    def history(self, user: str | None, *, limit: int, offset: int = 0) -> list[HistoryEntry]:
        """Newest first: ``user``'s screenings, or everyone's when ``user`` is None (admin)."""
        cols = "id, user, created, catalog_version, source, name, n_projects, verdict"
        where, args = ("", ()) if user is None else ("WHERE user = ? ", (user,))
        rows = self._db().execute(f"SELECT {cols} FROM screenings {where}ORDER BY created DESC LIMIT ? OFFSET ?",
                                  (*args, limit, offset)).fetchall()
        return [HistoryEntry(*row) for row in rows]

    def screening(self, screening_id: str) -> HistoryEntry | None:
        """A stored screening with its input and records, or None."""
        row = self._db().execute(
            "SELECT id, user, created, catalog_version, source, name, n_projects, verdict, crs, industry, "
            "project_type, radius_m, input_geojson, records_json, notes_json FROM screenings WHERE id = ?",
            (screening_id,)).fetchone()
        return None if row is None else dataclasses.replace(HistoryEntry(*row[:13]), records=json.loads(row[13]),
                                                            notes=json.loads(row[14]))

    # -- request log -------------------------------------------------------------------------------
    def log_request(self, *, user: str | None, method: str, path: str, status: int, verdict: str | None,
                    ms: float) -> None:
        """One line of the request log (who, when, what, verdict): never a password, token or query string."""
        self._db().execute("INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (time.time(), user, method, path, status, verdict, ms))

    def requests(self, limit: int = 100) -> list[tuple[Any, ...]]:
        """The newest request-log lines."""
        return self._db().execute("SELECT * FROM requests ORDER BY at DESC LIMIT ?", (limit,)).fetchall()
