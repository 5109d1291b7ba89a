"""Settings of the screening service, read from ``data/serve.toml`` (limits, session lifetime, passwords)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..datafiles import load_toml, packaged_path
from ..errors import DataFileError, problem

DATA_FILE = "serve.toml"


@dataclass(frozen=True)
class ServeSettings:
    """Validated contents of ``data/serve.toml`` (see the file for the sources).

    Attributes
    ----------
    max_upload_bytes : int
        Largest upload, pasted text or drawn geometry [bytes].
    max_expanded_bytes : int
        Largest total uncompressed size of a zipped upload [bytes].
    max_ratio : float
        Largest uncompressed/compressed ratio of a zipped upload above ``ratio_applies_above_bytes``.
    ratio_applies_above_bytes : int
        Uncompressed size [bytes] above which the ratio limit applies.
    max_members : int
        Most members of a zipped upload.
    max_projects : int
        Most projects one screening may hold.
    time_limit_s : float
        Time limit of one screening [s].
    concurrent : int
        Screenings run at once in one server process.
    session_lifetime_s : int
        Lifetime of a login [s].
    cookie : str
        Session cookie name.
    max_failures : int
        Failed logins per user name within ``failure_window_s`` before that name is refused.
    failure_window_s : int
        Window of the failed-login count [s].
    min_password_length : int
        Shortest password ``sanxian serve adduser`` accepts [characters].
    page_size : int
        Screenings per history page.
    cached_results : int
        Screening results kept in memory for downloads.
    cached_maps : int
        Result maps kept rendered in memory.
    """

    max_upload_bytes: int
    max_expanded_bytes: int
    max_ratio: float
    ratio_applies_above_bytes: int
    max_members: int
    max_projects: int
    time_limit_s: float
    concurrent: int
    session_lifetime_s: int
    cookie: str
    max_failures: int
    failure_window_s: int
    min_password_length: int
    page_size: int
    cached_results: int
    cached_maps: int


#: (table, key, attribute, type) of every setting.
_FIELDS = (
    ("upload", "max_bytes", "max_upload_bytes", int),
    ("upload", "max_expanded_bytes", "max_expanded_bytes", int),
    ("upload", "max_ratio", "max_ratio", float),
    ("upload", "ratio_applies_above_bytes", "ratio_applies_above_bytes", int),
    ("upload", "max_members", "max_members", int),
    ("upload", "max_projects", "max_projects", int),
    ("screening", "time_limit_s", "time_limit_s", float),
    ("screening", "concurrent", "concurrent", int),
    ("session", "lifetime_s", "session_lifetime_s", int),
    ("session", "cookie", "cookie", str),
    ("login", "max_failures", "max_failures", int),
    ("login", "window_s", "failure_window_s", int),
    ("password", "min_length", "min_password_length", int),
    ("history", "page_size", "page_size", int),
    ("history", "cached_results", "cached_results", int),
    ("history", "cached_maps", "cached_maps", int),
)


def load_serve_settings(path: str | Path | None = None) -> ServeSettings:
    """Read and check the service settings (default: the packaged ``data/serve.toml``).

    Every problem is reported at once, with its key.

    Raises
    ------
    DataFileError
        A table without a ``source``, a missing key, a value of the wrong type or not positive.
    """
    file = Path(path) if path is not None else packaged_path(DATA_FILE)
    doc = load_toml(file)
    problems: list[str] = []
    values: dict[str, Any] = {}
    for table, key, attr, kind in _FIELDS:
        section = doc.get(table)
        if not isinstance(section, dict) or not isinstance(section.get("source"), str):
            problems.append(f"[{table}] needs a table with a 'source' string")
            continue
        value = section.get(key)
        ok = isinstance(value, str) if kind is str else (isinstance(value, (int, float)) and not isinstance(value, bool)
                                                          and (kind is float or float(value).is_integer())
                                                          and value > 0)
        if not ok or value is None:
            problems.append(f"[{table}] {key} = {value!r}: expected a positive {kind.__name__}")
            continue
        values[attr] = kind(value)
    if problems:
        raise DataFileError(problem("服务配置文件有误。", "The service settings file is invalid: " + "; ".join(problems),
                                    file=file.name, fix="correct the keys named above (see the packaged serve.toml)"))
    return ServeSettings(**values)


@lru_cache(maxsize=1)
def serve_settings() -> ServeSettings:
    """The packaged service settings (read once per process)."""
    return load_serve_settings()
