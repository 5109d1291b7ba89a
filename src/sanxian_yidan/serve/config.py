"""Settings of the screening service, read from ``data/serve.toml`` (limits, session lifetime, passwords)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..datafiles import load_model
from ..params import Former, FormerAttributes, Sourced

DATA_FILE = "serve.toml"

#: A count or size that must be positive (bytes, projects, seconds, entries).
_Positive = Annotated[int, Field(gt=0)]


class _Upload(Sourced):
    """What one request may send: sizes [bytes], expansion ratio of a zipped upload, members, projects."""

    max_bytes: _Positive
    max_expanded_bytes: _Positive
    max_ratio: float = Field(gt=0)
    ratio_applies_above_bytes: _Positive
    max_members: _Positive
    max_projects: _Positive


class _Screening(Sourced):
    time_limit_s: float = Field(gt=0)
    concurrent: _Positive


class _Session(Sourced):
    lifetime_s: _Positive
    cookie: str = Field(min_length=1)


class _Login(Sourced):
    max_failures: _Positive
    window_s: _Positive


class _Password(Sourced):
    min_length: _Positive


class _History(Sourced):
    page_size: _Positive
    cached_results: _Positive
    cached_maps: _Positive


class ServeSettings(FormerAttributes, Sourced):
    """Validated contents of ``data/serve.toml`` (see the file for the meaning and source of every value).

    Tables ``upload`` (``max_bytes``, ``max_expanded_bytes``, ``max_ratio``, ``ratio_applies_above_bytes``,
    ``max_members``, ``max_projects``), ``screening`` (``time_limit_s``, ``concurrent``), ``session``
    (``lifetime_s``, ``cookie``), ``login`` (``max_failures``, ``window_s``), ``password`` (``min_length``) and
    ``history`` (``page_size``, ``cached_results``, ``cached_maps``); sizes in bytes, times in seconds.
    """

    what: ClassVar[str] = "服务配置 / service settings"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "max_upload_bytes": "upload.max_bytes", "max_expanded_bytes": "upload.max_expanded_bytes",
        "max_ratio": "upload.max_ratio", "ratio_applies_above_bytes": "upload.ratio_applies_above_bytes",
        "max_members": "upload.max_members", "max_projects": "upload.max_projects",
        "time_limit_s": "screening.time_limit_s", "concurrent": "screening.concurrent",
        "session_lifetime_s": "session.lifetime_s", "cookie": "session.cookie",
        "max_failures": "login.max_failures", "failure_window_s": "login.window_s",
        "min_password_length": "password.min_length", "page_size": "history.page_size",
        "cached_results": "history.cached_results", "cached_maps": "history.cached_maps",
    }
    upload: _Upload
    screening: _Screening
    session: _Session
    login: _Login
    password: _Password
    history: _History


def load_serve_settings(path: str | Path | Mapping[str, Any] | None = None) -> ServeSettings:
    """Read and check the service settings: the packaged ``data/serve.toml``, with a user file merged over it.

    Parameters
    ----------
    path : str, Path or mapping, optional
        A TOML file (or its parsed content) with the tables and keys to change.

    Raises
    ------
    DataFileError
        Every problem at once (unknown or missing key, wrong type, a value not positive, a table without
        ``source``), each named by its file and key path.
    """
    return load_model(ServeSettings, DATA_FILE, path)


@lru_cache(maxsize=1)
def serve_settings() -> ServeSettings:
    """The packaged service settings (read once per process)."""
    return load_serve_settings()
