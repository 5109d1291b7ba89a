"""Attribute conditions ``field op value`` of screening rules: ``where`` filters on a layer's features and the
``attribute_test`` on a project, with the parsers that read them from TOML and report every problem.

Values are compared as text for equality ops (so ``1``, ``1.0`` and ``"1"`` are equal) and as numbers for
ordering ops; yes/no values as written in shapefiles and CSVs (``是``/``否``, ``1``/``0``, ``true``/``false``)
match a boolean target.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["OPS", "Condition", "parse_condition", "parse_number", "parse_where"]

OPS: tuple[str, ...] = ("==", "!=", "in", "not_in", "<", "<=", ">", ">=", "startswith")
_LIST_OPS = {"in", "not_in", "startswith"}
_ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _norm_text(value: Any) -> str:
    """Text form used for equality tests: None/NaN → '', True → 'true', 1.0 → '1'."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


#: How yes/no fields are written in the files planners receive (shapefiles and CSVs have no boolean type).
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否"})


def _as_bool(value: Any) -> bool | None:
    """``True``/``False`` for a yes/no value (bool, 1/0, true/false, yes/no, 是/否), ``None`` otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = _norm_text(value).lower()
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    return None


def _numbers_not_booleans(series: pd.Series) -> np.ndarray:
    """Values as floats (numbers and numeric text); NaN for booleans, which are yes/no, not 1/0."""
    is_bool = series.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    return pd.to_numeric(series.where(~is_bool), errors="coerce").to_numpy(dtype=float)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _objects(values: pd.Series | np.ndarray | list[Any]) -> pd.Series:
    return pd.Series(list(values) if not isinstance(values, pd.Series) else values.tolist(), dtype=object)


def _per_distinct(series: pd.Series, test: Callable[[pd.Series], np.ndarray], missing: bool) -> np.ndarray:
    """``test`` run once per distinct value of ``series`` and spread back to its rows; ``missing`` for None/NaN.

    Layers repeat a few category/level values many times, so each is tested once.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    out = np.full(len(series), missing, dtype=bool)
    valid = codes >= 0
    out[valid] = test(pd.Series(list(uniques), dtype=object))[codes[valid]]
    return out


@dataclass(frozen=True)
class Condition:
    """One attribute test ``field op value`` (used by ``where`` filters and ``attribute_test``).

    Attributes
    ----------
    field : str
        Attribute name (canonical layer field, or project attribute).
    op : str
        One of :data:`OPS`.
    value : scalar or tuple
        Comparison value; a tuple for ``in``, ``not_in`` and ``startswith``.
    """

    field: str
    op: str
    value: Any

    def evaluate(self, values: pd.Series | np.ndarray | list[Any]) -> np.ndarray:
        """Vectorised test over ``values``; missing values never match (``!=``/``not_in`` included).

        Text is compared after trimming; a numeric target also matches the same number written as text
        (``15`` matches ``"15.0"``); a boolean target matches yes/no values written as booleans, 1/0,
        true/false, yes/no or 是/否 (anything else is undetermined, see :meth:`undetermined`).

        Returns
        -------
        numpy.ndarray of bool
        """
        series = _objects(values)
        if pd.api.types.infer_dtype(series, skipna=True).startswith("mixed"):
            # factorize would merge True with 1 and False with 0 (equal hashes): test every value.
            return self._evaluate_distinct(series)
        return _per_distinct(series, self._evaluate_distinct, False)

    def _evaluate_distinct(self, series: pd.Series) -> np.ndarray:
        missing = self.missing(series)
        if self.op in _ORDER_OPS:
            numbers = _numbers_not_booleans(series)
            with np.errstate(invalid="ignore"):
                out = _ORDER_OPS[self.op](numbers, float(self.value))
            return np.asarray(out & ~np.isnan(numbers), dtype=bool)
        targets = self.targets
        if self.op == "startswith":
            prefixes = tuple(_norm_text(t) for t in targets)
            out = series.map(_norm_text).map(lambda s: s.startswith(prefixes)).to_numpy(dtype=bool)
            return np.asarray(out & ~missing, dtype=bool)
        if self._boolean:
            flags = series.map(_as_bool)
            hit = flags.isin([bool(t) for t in targets]).to_numpy(dtype=bool)
            known = flags.notna().to_numpy(dtype=bool)
        else:
            hit = series.map(_norm_text).isin([_norm_text(t) for t in targets]).to_numpy(dtype=bool)
            wanted = [float(t) for t in targets if _is_number(t)]
            if wanted:  # "15.0" in a text column equals 15; a boolean is not the number 1 or 0
                hit = hit | np.isin(_numbers_not_booleans(series), wanted)
            known = ~missing
        out = hit if self.op in ("==", "in") else ~hit
        return np.asarray(out & known & ~missing, dtype=bool)

    @property
    def targets(self) -> tuple[Any, ...]:
        """The comparison value(s) as a tuple."""
        return self.value if isinstance(self.value, tuple) else (self.value,)

    @property
    def _boolean(self) -> bool:
        """A yes/no test: every target is a boolean (``== true``, ``in [false]``)."""
        return self.op in ("==", "!=", "in", "not_in") and all(isinstance(t, (bool, np.bool_)) for t in self.targets)

    @staticmethod
    def missing(values: pd.Series | np.ndarray | list[Any]) -> np.ndarray:
        """True where a value is absent (None, NaN, empty text)."""
        return _per_distinct(_objects(values), lambda u: u.map(_norm_text).eq("").to_numpy(dtype=bool), True)

    def undetermined(self, values: pd.Series | np.ndarray | list[Any]) -> np.ndarray:
        """True where the test cannot be decided: the value is absent, not a number for ``<``, ``>``, ..., or
        not a yes/no value for a test against ``true``/``false``.

        (:meth:`evaluate` is False there.)
        """
        absent = self.missing(values)
        if self.op not in _ORDER_OPS and not self._boolean:
            return absent
        series = _objects(values)
        if self._boolean:  # a yes/no test on a value that is neither
            return absent | series.map(_as_bool).isna().to_numpy(dtype=bool)
        return absent | np.isnan(_numbers_not_booleans(series))

    def describe(self) -> str:
        """Readable form, e.g. ``level in [1, '一级']``."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.field} {self.op} {value!r}"


def parse_number(value: Any, where: str, problems: list[str], *, low: float, high: float | None = None,
            low_open: bool, unit: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(f"{where} must be a number [{unit}], got {value!r}")
        return None
    too_low = value <= low if low_open else value < low
    if too_low or (high is not None and value > high):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        if high is not None:
            bound += f" and <= {high:g}"
        problems.append(f"{where} must be {bound} [{unit}], got {value!r}")
        return None
    return float(value)


def parse_where(value: Any, where: str, problems: list[str]) -> tuple[Condition, ...]:
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        problems.append(f"{where}: key 'params.where' must be a table or a list of tables "
                        "{{ field = ..., op = ..., value = ... }}")
        return ()
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"{where}: key 'params.where[{i}]' must be a table {{ field, op, value }}")
            continue
        unknown = sorted(set(item) - {"field", "op", "value"})
        if unknown:
            problems.append(f"{where}: key 'params.where[{i}]' has unknown key(s) {unknown} (allowed: field, op, value)")
            continue
        cond = parse_condition(item, f"{where}: params.where[{i}]", problems)
        if cond is not None:
            out.append(cond)
    return tuple(out)


def parse_condition(table: Mapping[str, Any], where: str, problems: list[str]) -> Condition | None:
    fld, op, value = table.get("field"), table.get("op"), table.get("value", None)
    ok = True
    if not isinstance(fld, str) or not fld.strip():
        problems.append(f"{where}: key 'field' must be a non-empty string")
        ok = False
    if op not in OPS:
        problems.append(f"{where}: key 'op': unknown value {op!r}; allowed: {list(OPS)}")
        return None
    if "value" not in table:
        problems.append(f"{where}: key 'value' is required")
        return None
    if op in _ORDER_OPS and (isinstance(value, bool) or not isinstance(value, (int, float))):
        problems.append(f"{where}: key 'value' must be a number for op '{op}', got {value!r}")
        ok = False
    if op in _LIST_OPS:
        value = tuple(value) if isinstance(value, list) else (value,)
        if not value:
            problems.append(f"{where}: key 'value' must not be an empty list")
            ok = False
    elif isinstance(value, list):
        problems.append(f"{where}: key 'value' must be a single value for op '{op}' (use 'in' for a list)")
        ok = False
    return Condition(str(fld), str(op), value) if ok else None
