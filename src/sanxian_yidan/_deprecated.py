"""Names removed from the package's core modules, kept for one release behind a :class:`DeprecationWarning`.

Each shim says what replaces it and delegates to it; nothing in the package uses them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

from .errors import DataFileError, problem


def deprecated(old: str, new: str) -> None:
    """Warn that ``old`` goes in the next release and ``new`` replaces it (``stacklevel``: the caller's caller)."""
    warnings.warn(f"{old} is deprecated and removed in the next release; use {new}", DeprecationWarning,
                  stacklevel=3)


class Problems:
    """Deprecated: collects the problems of a parameter file to raise them together.

    Replaced by reading the file through its model (``datafiles.load_model``), which reports every
    problem of the file in one :class:`DataFileError`.  Kept: ``add``, ``get``, ``number``, ``source`` and
    ``raise_if_any`` with their former behaviour.
    """

    def __init__(self, file: str) -> None:
        deprecated("datafiles.Problems", "datafiles.load_model with a params.DataModel")
        self.file = file
        self.items: list[str] = []

    def add(self, where: str, text: str) -> None:
        """Record one problem at ``where`` (e.g. ``"[mcda]"``)."""
        self.items.append(f"{where}: {text}")

    def get(self, table: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str,
            default: Any = ..., *, required: bool = True) -> Any:
        """``table[key]`` of type ``kinds`` (ints accepted as floats), else a recorded problem and ``None``."""
        if not isinstance(table, Mapping) or key not in table:
            if isinstance(table, Mapping) and default is not ...:
                return default
            if required or not isinstance(table, Mapping):
                self.add(where, f"missing required key '{key}'" if isinstance(table, Mapping) else "must be a table")
            return None
        value, kinds_t = table[key], kinds if isinstance(kinds, tuple) else (kinds,)
        if float in kinds_t and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds_t) or (isinstance(value, bool) and bool not in kinds_t):
            self.add(where, f"'{key}' must be {' or '.join(k.__name__ for k in kinds_t)}, got "
                            f"{type(value).__name__} {value!r}")
            return None
        return value

    def number(self, table: Mapping[str, Any], key: str, where: str, *, lo: float | None = None,
               hi: float | None = None, default: Any = ...) -> float | None:
        """A finite number in ``[lo, hi]``, else a recorded problem and ``None``."""
        value = self.get(table, key, (int, float), where, default)
        if value is None:
            return None
        if math.isnan(value) or math.isinf(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            self.add(where, f"'{key}' = {value} must be a finite number in [{lo}, {hi}]")
            return None
        return float(value)

    def source(self, table: Mapping[str, Any], where: str) -> str:
        """The entry's non-empty ``source``, else a recorded problem and ``""``."""
        src = table.get("source") if isinstance(table, Mapping) else None
        if not isinstance(src, str) or not src.strip():
            self.add(where, "every entry needs a non-empty 'source' (document and clause, dataset, or "
                            "'assumption (labelled)' with the reasoning)")
            return ""
        return src

    def raise_if_any(self, what: str) -> None:
        """Raise one :class:`DataFileError` listing every recorded problem (``what``: ``"中文 / English"``)."""
        if self.items:
            zh, _, en = what.partition(" / ")
            raise DataFileError(problem(
                f"{zh}参数文件有 {len(self.items)} 处错误。",
                f"The {en or zh} parameter file has {len(self.items)} problem(s):\n  - " + "\n  - ".join(self.items),
                file=self.file, fix="correct each key listed (see the packaged file for the format)"))


def record_problems(exc: Exception, where: str, probs: Any) -> None:
    """Put each error of a pydantic ``ValidationError`` into ``probs`` (``probs.add(where, text)``)."""
    for err in getattr(exc, "errors", lambda: [{"loc": (), "msg": str(exc)}])():
        loc = ".".join(str(p) for p in err["loc"])
        probs.add(f"{where}.{loc}" if where and loc else where or loc, err["msg"])
