"""The lowest layer of data-file handling: where the packaged files are, the TOML parser, and the
collector of validation problems.

:mod:`sanxian_yidan.datafiles` (which reads every data file through the input-safety guards)
re-exports these names and is what the rest of the toolkit imports.  They live here so that the
guards themselves (:func:`sanxian_yidan.io.safety.limits`, which reads ``data/input_limits.toml``)
can use them without importing the loader that depends on the guards.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import DataFileError, problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Problems", "packaged_path", "tomllib"]


def packaged_path(name: str) -> Path:
    """Return the path of a data file shipped in ``sanxian_yidan/data``.

    Parameters
    ----------
    name : str
        File name, e.g. ``"crs.toml"``.
    """
    return Path(str(resources.files("sanxian_yidan") / "data" / name))


class Problems:
    """Collects every problem of a parameter file so that they are reported together.

    Validators call :meth:`get`, :meth:`number` and :meth:`source` for each key (which record a
    problem and return ``None`` instead of raising), then :meth:`raise_if_any` once at the end:
    the planner sees every mistake of the file in one message.

    Parameters
    ----------
    file : str
        The file named in the error message (the user file when there is one).
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[str] = []

    def add(self, where: str, text: str) -> None:
        """Record one problem at ``where`` (a dotted location such as ``"[mcda]"``)."""
        self.items.append(f"{where}: {text}")

    def get(self, table: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str,
            default: Any = ..., *, required: bool = True) -> Any:
        """``table[key]`` checked against ``kinds`` (ints accepted where floats are).

        A missing key returns ``default`` when one is given, else records "missing required
        key" (if ``required``) and returns ``None``; a value of the wrong type is recorded and
        ``None`` returned.
        """
        if not isinstance(table, Mapping):
            self.add(where, "must be a table")
            return None
        if key not in table:
            if default is not ...:
                return default
            if required:
                self.add(where, f"missing required key '{key}'")
            return None
        value = table[key]
        kinds_t = kinds if isinstance(kinds, tuple) else (kinds,)
        if float in kinds_t and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:
                self.add(where, f"'{key}' = {value} is too large a number")
                return None
        if not isinstance(value, kinds_t) or (isinstance(value, bool) and bool not in kinds_t):
            names = " or ".join(k.__name__ for k in kinds_t)
            self.add(where, f"'{key}' must be {names}, got {type(value).__name__} {value!r}")
            return None
        return value

    def number(self, table: Mapping[str, Any], key: str, where: str, *, lo: float | None = None,
               hi: float | None = None, default: Any = ..., allow_inf: bool = False) -> float | None:
        """A finite number in ``[lo, hi]`` (infinity only if ``allow_inf``), else a recorded problem."""
        value = self.get(table, key, (int, float), where, default)
        if value is None or value is ...:
            return value
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            self.add(where, f"'{key}' must be a finite number, got {value}")
            return None
        if lo is not None and value < lo:
            self.add(where, f"'{key}' = {value} is below the allowed minimum {lo}")
            return None
        if hi is not None and value > hi:
            self.add(where, f"'{key}' = {value} is above the allowed maximum {hi}")
            return None
        return value

    def strings(self, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        """A list of strings (empty when the key is absent), else a recorded problem and ``()``."""
        value = table.get(key, []) if isinstance(table, Mapping) else None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(where, f"'{key}' must be a list of strings")
            return ()
        return tuple(value)

    def table(self, doc: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
        """The sub-table ``doc[key]``, else a recorded problem and an empty mapping."""
        value = doc.get(key) if isinstance(doc, Mapping) else None
        if not isinstance(value, Mapping):
            self.add(where or f"[{key}]", "missing table" if value is None else "must be a table")
            return {}
        return value

    def source(self, table: Mapping[str, Any], where: str) -> str:
        """The entry's non-empty ``source`` text, else a recorded problem and ``""``."""
        src = table.get("source") if isinstance(table, Mapping) else None
        if not isinstance(src, str) or not src.strip():
            self.add(where, "every entry needs a non-empty 'source' (document and clause, dataset, or "
                            "'assumption (labelled)' with the reasoning)")
            return ""
        return src

    def raise_if_any(self, what: str) -> None:
        """Raise one :class:`DataFileError` listing every recorded problem (if any).

        Parameters
        ----------
        what : str
            Bilingual name of the parameter set, e.g. ``"棕地光伏 / brownfield"``.
        """
        if self.items:
            zh, _, en = what.partition(" / ")
            raise DataFileError(problem(
                f"{zh}参数文件有 {len(self.items)} 处错误。",
                f"The {en or zh} parameter file has {len(self.items)} problem(s):\n  - " + "\n  - ".join(self.items),
                file=self.file, fix="correct each key listed (see the packaged file for the format)"))
