"""Loading of the TOML data files shipped in the package or supplied by users.

Rules, thresholds, factors and settings live in TOML files so that planners
can read and edit them.  This module only finds and parses them; each
consumer validates the structure it needs and raises
:class:`~sanxian_yidan.errors.DataFileError` naming the file and key.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import DataFileError, problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def packaged_path(name: str) -> Path:
    """Return the path of a data file shipped in ``sanxian_yidan/data``.

    Parameters
    ----------
    name : str
        File name, e.g. ``"crs.toml"``.
    """
    return Path(str(resources.files("sanxian_yidan") / "data" / name))


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into a :class:`DataFileError`.

    Parameters
    ----------
    path : str or Path
        File to read (UTF-8, as TOML requires).
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise DataFileError(
            problem("数据文件不存在。", "Data file not found.", file=path,
                    fix="check the path; packaged defaults live in sanxian_yidan/data/")
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(
            problem("TOML 语法错误。", f"TOML syntax error: {exc}", file=path,
                    fix="correct the line named above (strings need quotes; tables [name])")
        ) from exc


@lru_cache(maxsize=None)
def packaged(name: str) -> dict[str, Any]:
    """Parse a packaged data file once per process (read-only use)."""
    return load_toml(packaged_path(name))


def require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], *,
            file: str | Path, where: str) -> Any:
    """Return ``table[key]`` checked against ``kind`` or raise a precise error.

    Parameters
    ----------
    table : dict
        Parsed TOML table.
    key : str
        Required key.
    kind : type or tuple of types
        Allowed Python types of the value.
    file : str or Path
        File the table came from (for the message).
    where : str
        Dotted location of the table inside the file, e.g. ``"layer[3]"``.
    """
    if key not in table:
        raise DataFileError(problem(
            f"缺少必填项 '{key}'。", f"Missing required key '{key}' in {where}.",
            file=file, fix=f"add `{key} = ...` to {where}"))
    value = table[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataFileError(problem(
            f"'{key}' 的类型错误。",
            f"Key '{key}' in {where} must be {names}, got {type(value).__name__} {value!r}.",
            file=file, fix=f"write {key} as a {names}"))
    return value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a user document over a packaged one, table by table.

    Tables (mappings) present in both are merged recursively; any other value in
    ``override`` (numbers, strings, arrays, arrays of tables) replaces the one in
    ``base`` whole.  This is how a user TOML overrides the packaged defaults: it
    can change any key but cannot delete one, so the keys a consumer requires are
    checked on the merged result.

    Parameters
    ----------
    base : mapping
        Parsed packaged document.
    override : mapping
        Parsed user document (or a mapping given in Python).

    Returns
    -------
    dict
        A new document; neither input is modified (nested tables are new dicts,
        leaf values are shared).

    Examples
    --------
    >>> deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [4, 5]})
    {'a': {'x': 1, 'y': 3}, 'b': [4, 5]}
    """
    out: dict[str, Any] = {k: (deep_merge(v, {}) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        elif isinstance(value, Mapping):
            out[key] = deep_merge(value, {})
        else:
            out[key] = value
    return out
