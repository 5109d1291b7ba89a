"""Criterion transforms: raw values (area, slope, distance, ...) to scores in [0, 1]."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataFileError, SanxianError, problem


class McdaError(SanxianError, ValueError):
    """Scores, weights or a pairwise matrix given to a decision function cannot be used."""


def _values(values: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise McdaError(problem("准则数值不是数字。", f"Criterion values must be numbers: {exc}",
                                fix="convert the column to numbers (empty cells become NaN)")) from exc


def _floats(**params: Any) -> dict[str, float]:
    """Each parameter as a float (``nan`` when it is not a number)."""
    out = {}
    for name, value in params.items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            out[name] = math.nan
    return out


def _finite_params(**params: float) -> dict[str, float]:
    out = _floats(**params)
    for name, value in out.items():
        if math.isnan(value):
            raise McdaError(problem(f"参数 {name} 必须是数字。", f"Parameter {name} must be a number, "
                                    f"got {params[name]!r}.", fix=f"give {name} as a number"))
    return out


def linear(values: Any, lo: float, hi: float, *, benefit: bool = True) -> np.ndarray:
    """Linear score between two anchors, clipped to [0, 1].

    Parameters
    ----------
    values : array-like
        Raw criterion values (``NaN`` stays ``NaN``).
    lo, hi : float
        Values scoring 0 and 1 (benefit) — or 1 and 0 (cost), ``lo < hi``.
    benefit : bool, default True
        True if more is better; False for a cost criterion (distance, slope).

    Returns
    -------
    numpy.ndarray
        ``(v - lo) / (hi - lo)`` clipped to [0, 1]; ``1 -`` that for a cost.
    """
    p = _finite_params(lo=lo, hi=hi)
    if not p["lo"] < p["hi"]:
        raise McdaError(problem("linear 变换要求 lo < hi。", f"linear needs lo < hi, got lo={lo}, hi={hi}.",
                                fix="swap them and use benefit=false for a cost criterion"))
    score = np.clip((_values(values) - p["lo"]) / (p["hi"] - p["lo"]), 0.0, 1.0)
    return score if benefit else 1.0 - score


def threshold(values: Any, limit: float, *, benefit: bool = True) -> np.ndarray:
    """Pass/fail score: 1 at or beyond the limit, 0 otherwise.

    Parameters
    ----------
    values : array-like
        Raw values (``NaN`` stays ``NaN``).
    limit : float
        The threshold.
    benefit : bool, default True
        True: score 1 where ``value >= limit``; False: score 1 where ``value <= limit``.
    """
    p = _finite_params(limit=limit)
    v = _values(values)
    with np.errstate(invalid="ignore"):
        passed = v >= p["limit"] if benefit else v <= p["limit"]
    return np.where(np.isnan(v), np.nan, passed.astype(np.float64))


def piecewise(values: Any, xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
    """Piecewise-linear score through the points ``(xs[i], ys[i])``, flat beyond the ends.

    Parameters
    ----------
    values : array-like
        Raw values (``NaN`` stays ``NaN``).
    xs : sequence of float
        Strictly increasing breakpoints (at least 2).
    ys : sequence of float
        Scores at the breakpoints, each in [0, 1].
    """
    x = _values(xs)
    y = _values(ys)
    if x.ndim != 1 or x.size < 2 or x.shape != y.shape or not np.all(np.isfinite(x)) or not np.all(np.diff(x) > 0):
        raise McdaError(problem("piecewise 变换的断点无效。",
                                f"piecewise needs >= 2 strictly increasing xs and as many ys; got xs={list(xs)}, "
                                f"ys={list(ys)}.", fix="e.g. xs = [0, 500, 2000], ys = [1, 0.5, 0]"))
    if not np.all((y >= 0) & (y <= 1)):
        raise McdaError(problem("piecewise 的得分必须在 0–1 之间。",
                                f"piecewise ys must lie in [0, 1], got {list(ys)}.",
                                fix="give scores between 0 and 1"))
    v = _values(values)
    return np.where(np.isnan(v), np.nan, np.interp(v, x, y))


def fuzzy(values: Any, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Trapezoidal membership: 0 below ``a``, rising to 1 at ``b``, 1 up to ``c``, falling to 0 at ``d``.

    Parameters
    ----------
    values : array-like
        Raw values (``NaN`` stays ``NaN``).
    a, b, c, d : float
        ``a <= b <= c <= d``; use ``-inf``/``inf`` for open shoulders (e.g.
        ``fuzzy(v, -inf, -inf, 5, 15)`` is 1 up to 5 and 0 from 15 on).

    Returns
    -------
    numpy.ndarray
        Membership in [0, 1]; a vertical edge (``a == b`` or ``c == d``) belongs to the plateau.
    """
    p = _floats(a=a, b=b, c=c, d=d)
    if any(math.isnan(x) for x in p.values()) or not (p["a"] <= p["b"] <= p["c"] <= p["d"]) \
            or not (math.isfinite(p["b"]) or math.isfinite(p["c"])):
        raise McdaError(problem("fuzzy 变换要求 a ≤ b ≤ c ≤ d。",
                                f"fuzzy needs numbers a <= b <= c <= d with a finite plateau edge, "
                                f"got {a}, {b}, {c}, {d}.",
                                fix="e.g. a = 0, b = 5, c = 10, d = 20 (or -inf/inf for an open side)"))
    v = _values(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        rise = np.ones_like(v) if p["a"] == p["b"] else np.clip((v - p["a"]) / (p["b"] - p["a"]), 0.0, 1.0)
        fall = np.ones_like(v) if p["c"] == p["d"] else np.clip((p["d"] - v) / (p["d"] - p["c"]), 0.0, 1.0)
        out = np.minimum(rise, fall)
        out = np.where((v < p["a"]) | (v > p["d"]), 0.0, out)
    return np.where(np.isnan(v), np.nan, out)


#: Transforms by name, as a criterion table names them.
TRANSFORMS: dict[str, Callable[..., np.ndarray]] = {
    "linear": linear, "threshold": threshold, "piecewise": piecewise, "fuzzy": fuzzy}
# Parameters each transform takes from Criterion.params (benefit is a Criterion field).
_TRANSFORM_PARAMS = {"linear": ("lo", "hi"), "threshold": ("limit",), "piecewise": ("xs", "ys"),
                     "fuzzy": ("a", "b", "c", "d")}


@dataclass(frozen=True)
class Criterion:
    """One decision criterion described as data.

    Attributes
    ----------
    column : str
        Input column holding the raw values (e.g. ``slope_mean_deg``).
    transform : str, default "linear"
        One of ``linear``, ``threshold``, ``piecewise``, ``fuzzy``.
    weight : float, optional
        Weight (>= 0); ``None`` when the weights come from AHP.
    benefit : bool, default True
        True if more is better (``linear`` and ``threshold`` only; a cost criterion
        of ``piecewise``/``fuzzy`` is expressed by its ys / shape).
    params : mapping
        Transform parameters: ``lo, hi`` (linear), ``limit`` (threshold),
        ``xs, ys`` (piecewise), ``a, b, c, d`` (fuzzy).
    name : str, optional
        Name of the score column (default: ``column``).
    source : str
        Where the anchors and weight come from (document, rationale or labelled assumption).
    missing : float, optional
        Score given to missing raw values; ``None`` keeps ``NaN`` (the site then
        gets no total score and ranks last — nothing is silently treated as good or bad).
    """

    column: str
    transform: str = "linear"
    weight: float | None = None
    benefit: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    source: str = ""
    missing: float | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise McdaError(problem(f"准则 '{self.label}' 定义有误。",
                                    f"Criterion '{self.label}' is invalid: " + "; ".join(problems),
                                    fix="see sanxian_yidan.mcda.Criterion for the keys each transform needs"))

    @property
    def label(self) -> str:
        """Name of the score column."""
        return self.name or self.column

    def problems(self) -> list[str]:
        """Every problem with this definition (empty if valid)."""
        if self.transform not in TRANSFORMS:
            return [f"transform '{self.transform}' is not one of {sorted(TRANSFORMS)}"]
        out = []
        needed = _TRANSFORM_PARAMS[self.transform]
        missing = [p for p in needed if p not in self.params]
        unknown = [p for p in self.params if p not in needed]
        if missing:
            out.append(f"'{self.transform}' needs {', '.join(needed)}; missing {', '.join(missing)}")
        if unknown:
            out.append(f"unknown parameter(s) {', '.join(unknown)} for '{self.transform}'")
        if self.weight is not None and (not isinstance(self.weight, (int, float)) or isinstance(self.weight, bool)
                                        or not math.isfinite(self.weight) or self.weight < 0):
            out.append(f"weight must be a number >= 0, got {self.weight!r} (write a cost criterion with "
                       "benefit = false, not a negative weight)")
        if self.missing is not None and not (0.0 <= float(self.missing) <= 1.0):
            out.append(f"missing must be a score in [0, 1], got {self.missing!r}")
        if not out:
            try:
                self.score(np.zeros(1))
            except McdaError as exc:
                out.append(str(exc).splitlines()[1])
        return out

    def score(self, values: Any) -> np.ndarray:
        """Scores in [0, 1] of raw ``values`` (``missing`` fills ``NaN`` if set)."""
        kwargs = {p: self.params[p] for p in _TRANSFORM_PARAMS[self.transform]}
        if self.transform in ("linear", "threshold"):
            kwargs["benefit"] = self.benefit
        out = TRANSFORMS[self.transform](values, **kwargs)
        if self.missing is not None:
            out = np.where(np.isnan(out), float(self.missing), out)
        return out


def criteria_from_table(items: Iterable[Mapping[str, Any]], *, file: str | Path | None = None,
                        where: str = "[[criteria]]") -> list[Criterion]:
    """Build criteria from parsed TOML tables (e.g. the ``[[criteria]]`` array), checking all at once.

    Each table has ``column``, ``transform``, ``weight`` (optional with AHP),
    ``benefit``, ``source``, optional ``name`` and ``missing``, and the transform's
    parameters as keys (``lo``/``hi``, ``limit``, ``xs``/``ys``, ``a``..``d``).

    Raises
    ------
    DataFileError
        Listing the problems of every criterion (missing source, unknown transform, ...).
    """
    problems: list[str] = []
    out: list[Criterion] = []
    own = {"column", "transform", "weight", "benefit", "source", "name", "missing"}
    for i, raw in enumerate(items):
        loc = f"{where}[{i}]"
        if not isinstance(raw, Mapping):
            problems.append(f"{loc}: must be a table")
            continue
        column, source = raw.get("column"), raw.get("source")
        if not isinstance(column, str) or not column:
            problems.append(f"{loc}: 'column' (the input column) is missing")
            continue
        if not isinstance(source, str) or not source.strip():
            problems.append(f"{loc} ({column}): 'source' is missing — give the document, rationale or "
                            "'assumption (labelled)'")
        try:
            out.append(Criterion(column=column, transform=raw.get("transform", "linear"), weight=raw.get("weight"),
                                 benefit=bool(raw.get("benefit", True)), name=raw.get("name"),
                                 params={k: v for k, v in raw.items() if k not in own},
                                 source=source if isinstance(source, str) else "", missing=raw.get("missing")))
        except McdaError as exc:
            problems.append(f"{loc} ({column}): " + str(exc).splitlines()[1])
    if problems:
        raise DataFileError(problem(f"准则表有 {len(problems)} 处错误。",
                                    f"The criteria table has {len(problems)} problem(s):\n  - "
                                    + "\n  - ".join(problems),
                                    file=file, fix="correct each criterion listed"))
    return out


def apply_criteria(frame: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Score every row of ``frame`` on every criterion.

    Parameters
    ----------
    frame : pandas.DataFrame
        Raw values, one row per site (not modified).
    criteria : sequence of Criterion
        The criteria; their ``column`` must exist in ``frame``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``frame``, one column per criterion named :attr:`Criterion.label`
        holding scores in [0, 1] (``NaN`` for missing raw values unless the criterion
        sets ``missing``).  ``attrs["sanxian"]["criteria"]`` records each transform,
        its parameters, weight and source.

    Raises
    ------
    McdaError
        If a column is missing (all missing columns are named) or two criteria share a label.
    """
    absent = [c.column for c in criteria if c.column not in frame.columns]
    if absent:
        raise McdaError(problem("缺少准则所需的列。", f"Missing column(s) {absent}; available: {list(frame.columns)}.",
                                fix="compute those columns first or correct the criterion 'column'"))
    labels = [c.label for c in criteria]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise McdaError(problem("准则名称重复。", f"Criterion names {dupes} appear twice.",
                                fix="give each criterion its own 'name'"))
    out = pd.DataFrame({c.label: c.score(frame[c.column].to_numpy(dtype=np.float64, na_value=np.nan))
                        for c in criteria}, index=frame.index)
    out.attrs["sanxian"] = {"criteria": [
        {"name": c.label, "column": c.column, "transform": c.transform, "benefit": c.benefit,
         "params": dict(c.params), "weight": c.weight, "source": c.source} for c in criteria]}
    return out


