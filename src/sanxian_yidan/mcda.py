"""Multi-criteria decision analysis: criterion scores, AHP weights, weighted sum, TOPSIS, sensitivity.

A ranking shown in a review meeting must be reproducible and defensible: which
criteria, how each raw value became a 0-1 score, which weights and where they
came from, and how much the order would change if the weights were somewhat
different.  This module provides each step as a small pure function:

1. **Criterion transforms** turn raw values into scores in [0, 1]:
   :func:`linear`, :func:`threshold`, :func:`piecewise`, :func:`fuzzy`;
   a :class:`Criterion` describes one of them as data (so a TOML file can
   list the criteria) and :func:`apply_criteria` scores a whole table.
2. **Weights** are given directly (:func:`normalise_weights`: sums other than 1
   are normalised with a warning, negative weights refused) or derived from an
   AHP pairwise-comparison matrix (:func:`ahp_weights`, principal eigenvector,
   consistency ratio; :func:`check_consistency` refuses CR >= 0.1 unless forced).
3. **Aggregation**: :func:`weighted_sum` of scores, or :func:`topsis` (closeness
   to the ideal solution, Hwang & Yoon 1981) of a raw decision matrix.
4. **Ranking**: :func:`rank_scores` — 1 = best, ties broken by site id, so the
   ranking does not depend on the order of the input rows.
5. **Sensitivity**: :func:`weight_sensitivity` — Monte-Carlo draws of the weights
   around the given ones (Dirichlet), vectorised over draws; per site the
   probability of staying in the top k and the 5-95 % range of its rank.

References
----------
.. [1] Saaty, T.L. (1980). The Analytic Hierarchy Process. McGraw-Hill, New York.
.. [2] Saaty, T.L. (1990). How to make a decision: the analytic hierarchy
   process. European Journal of Operational Research 48, 9-26.
.. [3] Saaty, T.L. (2008). Decision making with the analytic hierarchy process.
   International Journal of Services Sciences 1(1), 83-98.
.. [4] Hwang, C.-L. and Yoon, K. (1981). Multiple Attribute Decision Making:
   Methods and Applications. Springer, Berlin (TOPSIS, pp. 128-140).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .datafiles import load_toml, packaged_path
from .errors import DataFileError, SanxianError, SanxianWarning, problem

log = logging.getLogger(__name__)

#: Packaged settings file (``sanxian_yidan/data/mcda.toml``).
DATA_FILE = "mcda.toml"

#: Columns of :func:`weight_sensitivity` (declared in ``data/columns/mcda.toml``).
SENSITIVITY_COLUMNS = ("score", "rank", "p_top_k", "rank_p05", "rank_median", "rank_p95")

# Largest number of (draw x site x criterion) values held at once by the TOPSIS sensitivity.
_TOPSIS_BLOCK = 8_000_000


class McdaError(SanxianError, ValueError):
    """Scores, weights or a pairwise matrix given to a decision function cannot be used."""


# ----------------------------------------------------------------------------------------------
# Settings (data/mcda.toml)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class McdaSettings:
    """MCDA defaults, each with its source (``data/mcda.toml``).

    Attributes
    ----------
    random_index : tuple of float
        Saaty's random index for n = 1, 2, ... (index 0 is n = 1).
    max_consistency_ratio : float
        Consistency ratios at or above this are refused unless forced.
    reciprocal_tolerance : float
        Allowed ``|a_ij * a_ji - 1|``.
    draws, seed, top_k : int
        Monte-Carlo defaults of :func:`weight_sensitivity`.
    spread : float
        Default weight spread of :func:`weight_sensitivity`.
    sources : mapping of str to str
        Source or rationale of each value.
    file : str
        Data file(s) the values came from.
    """

    random_index: tuple[float, ...]
    max_consistency_ratio: float
    reciprocal_tolerance: float
    draws: int
    spread: float
    seed: int
    top_k: int
    sources: Mapping[str, str]
    file: str


def load_settings(path: str | Path | None = None) -> McdaSettings:
    """Load the MCDA settings, optionally overridden table by table by a user TOML file.

    Raises
    ------
    DataFileError
        Listing every missing, mistyped or out-of-range value and every missing source.
    """
    doc = load_toml(packaged_path(DATA_FILE))
    files = [str(packaged_path(DATA_FILE))]
    if path is not None:
        for table, values in load_toml(path).items():
            doc[table] = {**doc.get(table, {}), **values} if isinstance(values, Mapping) else values
        files.append(str(path))
    problems: list[str] = []

    def get(table: str, key: str, kind: type, source_key: str, ok: Callable[[Any], bool], rule: str) -> Any:
        raw = doc.get(table)
        if not isinstance(raw, Mapping):
            problems.append(f"[{table}]: missing table")
            return None
        value = raw.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) or not ok(value):
            problems.append(f"[{table}]: '{key}' must be {rule}, got {value!r}")
            value = None
        source = raw.get(source_key)
        if not isinstance(source, str) or not source.strip():
            problems.append(f"[{table}]: '{source_key}' (the source of '{key}') is missing or empty")
        else:
            sources[f"{table}.{key}"] = source
        return value

    sources: dict[str, str] = {}
    ri = get("random_index", "values", list, "source",
             lambda v: len(v) >= 2 and all(isinstance(x, (int, float)) and x >= 0 for x in v),
             "a list of at least 2 non-negative numbers (RI for n = 1, 2, ...)")
    max_cr = get("consistency", "max_ratio", float, "source", lambda v: 0 < v < 1, "a number in (0, 1)")
    tol = get("reciprocal", "tolerance", float, "source", lambda v: 0 <= v < 0.5, "a number in [0, 0.5)")
    draws = get("monte_carlo", "draws", int, "draws_source", lambda v: v >= 1, "an integer >= 1")
    spread = get("monte_carlo", "spread", float, "spread_source", lambda v: 0 <= v < 1, "a number in [0, 1)")
    seed = get("monte_carlo", "seed", int, "seed_source", lambda v: v >= 0, "an integer >= 0")
    top_k = get("monte_carlo", "top_k", int, "top_k_source", lambda v: v >= 1, "an integer >= 1")
    if problems:
        raise DataFileError(problem(f"多准则决策参数文件有 {len(problems)} 处错误。",
                                    f"The MCDA settings have {len(problems)} problem(s):\n  - "
                                    + "\n  - ".join(problems),
                                    file=" + ".join(files), fix="correct each key listed (see the packaged "
                                                                "sanxian_yidan/data/mcda.toml)"))
    return McdaSettings(random_index=tuple(float(x) for x in ri), max_consistency_ratio=max_cr,
                        reciprocal_tolerance=tol, draws=draws, spread=spread, seed=seed, top_k=top_k,
                        sources=sources, file=" + ".join(files))


@lru_cache(maxsize=1)
def default_settings() -> McdaSettings:
    """The packaged MCDA settings (parsed once per process)."""
    return load_settings()


# ----------------------------------------------------------------------------------------------
# Criterion transforms: raw values -> scores in [0, 1]
# ----------------------------------------------------------------------------------------------
def _values(values: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise McdaError(problem("准则数值不是数字。", f"Criterion values must be numbers: {exc}",
                                fix="convert the column to numbers (empty cells become NaN)")) from exc


def _finite_params(**params: float) -> dict[str, float]:
    out = {}
    for name, value in params.items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            out[name] = math.nan
        if math.isnan(out[name]):
            raise McdaError(problem(f"参数 {name} 必须是数字。", f"Parameter {name} must be a number, got {value!r}.",
                                    fix=f"give {name} as a number"))
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
    p = {}
    for name, value in (("a", a), ("b", b), ("c", c), ("d", d)):
        try:
            p[name] = float(value)
        except (TypeError, ValueError):
            p[name] = math.nan
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
        out = []
        if self.transform not in TRANSFORMS:
            out.append(f"transform '{self.transform}' is not one of {sorted(TRANSFORMS)}")
            return out
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


# ----------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------
def normalise_weights(weights: Any) -> np.ndarray:
    """Weights as a float array summing to 1.

    Parameters
    ----------
    weights : array-like or mapping
        Non-negative weights (a mapping's values are used in order).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    McdaError
        If a weight is negative or not finite, or all are zero.

    Warns
    -----
    SanxianWarning
        If the weights do not sum to 1 (within 1e-9); they are then divided by their sum.
    """
    raw = list(weights.values()) if isinstance(weights, Mapping) else weights
    w = np.asarray(raw, dtype=np.float64).ravel()
    names = list(weights.keys()) if isinstance(weights, Mapping) else list(range(w.size))
    if w.size == 0:
        raise McdaError(problem("没有权重。", "No weights given.", fix="give one weight per criterion"))
    bad = [f"{names[i]}: {w[i]}" for i in np.flatnonzero(~np.isfinite(w) | (w < 0))]
    if bad:
        raise McdaError(problem("权重不能为负数或非数值。",
                                f"Weights must be finite and >= 0; refused: {', '.join(bad)}.",
                                fix="use benefit = false for a cost criterion instead of a negative weight"))
    total = w.sum()
    if total <= 0:
        raise McdaError(problem("权重全为零。", "All weights are zero.", fix="give at least one positive weight"))
    if abs(total - 1.0) > 1e-9:
        warnings.warn(f"weights sum to {total:.6g}, not 1; they were divided by their sum "
                      f"({', '.join(f'{x:.4g}' for x in w / total)})", SanxianWarning, stacklevel=2)
    return w / total


@dataclass(frozen=True)
class AhpResult:
    """Result of the AHP eigenvector method.

    Attributes
    ----------
    weights : numpy.ndarray
        Principal right eigenvector normalised to sum 1.
    lambda_max : float
        Principal eigenvalue.
    consistency_index : float
        ``CI = (lambda_max - n) / (n - 1)`` (0 for n <= 2).
    random_index : float
        Saaty's RI for this n.
    consistency_ratio : float
        ``CR = CI / RI`` (0 for n <= 2).
    """

    weights: np.ndarray
    lambda_max: float
    consistency_index: float
    random_index: float
    consistency_ratio: float


def _pairwise(matrix: Any, tolerance: float) -> np.ndarray:
    try:
        a = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise McdaError(problem("两两比较矩阵不是数值矩阵。", f"The pairwise matrix is not numeric: {exc}",
                                fix="give numbers from Saaty's 1-9 scale and their reciprocals")) from exc
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise McdaError(problem("两两比较矩阵必须是方阵。", f"The pairwise matrix must be square, got shape {a.shape}.",
                                fix="one row and one column per criterion, in the same order"))
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        i, j = np.argwhere(~np.isfinite(a) | (a <= 0))[0]
        raise McdaError(problem("两两比较矩阵的元素必须为正数。",
                                f"Every entry must be a positive number; a[{i},{j}] = {a[i, j]}.",
                                fix="use 1-9 and reciprocals 1/2 ... 1/9 (never 0 or negative)"))
    off = np.abs(a * a.T - 1.0)
    np.fill_diagonal(off, np.abs(np.diag(a) - 1.0))
    if np.any(off > tolerance):
        pairs = [(int(i), int(j)) for i, j in np.argwhere(off > tolerance) if i <= j]
        shown = "; ".join(f"a[{i},{j}] = {a[i, j]:.4g}, a[{j},{i}] = {a[j, i]:.4g}" for i, j in pairs[:10])
        raise McdaError(problem("两两比较矩阵不互反（a_ij × a_ji ≠ 1，对角线须为 1）。",
                                f"The pairwise matrix is not reciprocal (need a_ij * a_ji = 1 and a_ii = 1, tolerance "
                                f"{tolerance}): {shown}{' …' if len(pairs) > 10 else ''}.",
                                fix="fill the upper triangle only and set each a_ji = 1 / a_ij "
                                    "(sanxian_yidan.mcda.pairwise_matrix does this)"))
    return a


def ahp(matrix: Any) -> AhpResult:
    """AHP weights and consistency of a reciprocal pairwise-comparison matrix (eigenvector method).

    Parameters
    ----------
    matrix : array-like
        ``n × n`` with ``a[i, j]`` = importance of criterion i over j on Saaty's
        1-9 scale, ``a[j, i] = 1 / a[i, j]``, ones on the diagonal.

    Returns
    -------
    AhpResult

    Raises
    ------
    McdaError
        If the matrix is not square, has a non-positive entry, is not reciprocal
        (beyond the tolerance of ``data/mcda.toml``) or is larger than the random-index table.

    References
    ----------
    .. [1] Saaty (1980); Saaty (1990), see the module references.
    """
    settings = default_settings()
    a = _pairwise(matrix, settings.reciprocal_tolerance)
    n = a.shape[0]
    if n > len(settings.random_index):
        raise McdaError(problem(f"准则过多（{n} 个）：随机一致性指标表只到 {len(settings.random_index)}。",
                                f"{n} criteria exceed the random-index table (n <= {len(settings.random_index)}).",
                                fix="group the criteria into a hierarchy of at most 9 per matrix (Saaty's 7 ± 2)"))
    eigenvalues, vectors = np.linalg.eig(a)
    k = int(np.argmax(eigenvalues.real))
    lam = float(eigenvalues[k].real)
    w = np.abs(vectors[:, k].real)
    w = w / w.sum()
    ri = settings.random_index[n - 1]
    ci = max((lam - n) / (n - 1), 0.0) if n > 2 else 0.0
    cr = ci / ri if ri > 0 else 0.0
    return AhpResult(weights=w, lambda_max=lam, consistency_index=ci, random_index=ri, consistency_ratio=cr)


def ahp_weights(matrix: Any) -> tuple[np.ndarray, float]:
    """Weights (principal eigenvector, summing to 1) and consistency ratio of an AHP matrix.

    The consistency ratio is *returned*, not judged: call :func:`check_consistency`
    before using the weights (it refuses CR >= 0.1 unless forced).

    Parameters
    ----------
    matrix : array-like
        Reciprocal pairwise-comparison matrix (see :func:`ahp`).

    Returns
    -------
    (numpy.ndarray, float)
        Weights and consistency ratio CR = CI / RI (Saaty's RI from ``data/mcda.toml``).

    Examples
    --------
    >>> w, cr = ahp_weights([[1, 3], [1/3, 1]])
    >>> [round(float(x), 3) for x in w], cr
    ([0.75, 0.25], 0.0)
    """
    result = ahp(matrix)
    return result.weights, result.consistency_ratio


def pairwise_matrix(names: Sequence[str], judgments: Mapping[tuple[str, str], float]) -> np.ndarray:
    """Build a reciprocal matrix from judgments ``{(a, b): how much more important a is than b}``.

    Parameters
    ----------
    names : sequence of str
        Criteria in matrix order.
    judgments : mapping
        One entry per pair (either orientation); missing pairs are refused.

    Returns
    -------
    numpy.ndarray
    """
    index = {name: i for i, name in enumerate(names)}
    a = np.ones((len(names), len(names)))
    given = np.eye(len(names), dtype=bool)
    for (x, y), value in judgments.items():
        if x not in index or y not in index or x == y:
            raise McdaError(problem("两两比较引用了未知或相同的准则。", f"Judgment ({x!r}, {y!r}) names an unknown or "
                                    f"identical criterion; criteria are {list(names)}.", fix="correct the names"))
        if not (isinstance(value, (int, float)) and value > 0):
            raise McdaError(problem("判断值必须为正数。", f"Judgment ({x}, {y}) = {value!r} must be positive.",
                                    fix="use Saaty's 1-9 scale or reciprocals"))
        i, j = index[x], index[y]
        if given[i, j]:
            raise McdaError(problem("同一对准则给了两次判断。", f"The pair ({x}, {y}) is judged twice.",
                                    fix="keep one judgment per pair"))
        a[i, j], a[j, i] = float(value), 1.0 / float(value)
        given[i, j] = given[j, i] = True
    if not given.all():
        missing = [(names[i], names[j]) for i, j in np.argwhere(~given) if i < j]
        raise McdaError(problem("缺少两两比较判断。", f"Missing judgments for {missing}.",
                                fix="judge every pair (n(n-1)/2 judgments)"))
    return a


def check_consistency(cr: float, force: bool = False, *, matrix: Any = None, names: Sequence[str] | None = None,
                      max_ratio: float | None = None) -> None:
    """Refuse inconsistent AHP judgments (CR >= 0.1) unless ``force`` is set.

    Parameters
    ----------
    cr : float
        Consistency ratio from :func:`ahp_weights`.
    force : bool, default False
        Accept the weights anyway (a :class:`SanxianWarning` is issued; say so in the report).
    matrix : array-like, optional
        The pairwise matrix: lets the error name the judgment that disagrees most with the derived weights.
    names : sequence of str, optional
        Criterion names for that message.
    max_ratio : float, optional
        Threshold; default 0.1 from ``data/mcda.toml`` (Saaty 1980, 1990).

    Raises
    ------
    McdaError
        If ``cr >= max_ratio`` and not forced; the message says which judgment to revise.
    """
    settings = default_settings()
    limit = settings.max_consistency_ratio if max_ratio is None else float(max_ratio)
    if cr < limit:
        return
    hint = ""
    if matrix is not None:
        a = _pairwise(matrix, settings.reciprocal_tolerance)
        w = ahp(a).weights
        error = np.abs(np.log(a * w[None, :] / w[:, None]))
        i, j = np.unravel_index(int(np.argmax(np.triu(error, 1))), a.shape)
        label = (lambda k: names[k]) if names is not None else (lambda k: f"criterion {k}")
        hint = (f" The judgment that disagrees most with the derived weights is {label(i)} vs {label(j)} = "
                f"{a[i, j]:.3g}, while the weights imply {w[i] / w[j]:.3g}; revise it first.")
    if force:
        warnings.warn(f"AHP consistency ratio {cr:.3f} >= {limit} accepted because force=True; the weights rest on "
                      f"inconsistent judgments.{hint}", SanxianWarning, stacklevel=2)
        return
    raise McdaError(problem(
        f"两两比较判断不一致：一致性比率 CR = {cr:.3f} ≥ {limit}。",
        f"The pairwise judgments are inconsistent: consistency ratio CR = {cr:.3f} >= {limit} (Saaty). "
        f"Some judgments contradict each other (e.g. A > B and B > C, but C >= A).{hint}",
        fix="revise the judgments named above (or re-do the comparisons) until CR < 0.1; "
            "only if the meeting accepts inconsistent weights pass force=True"))


# ----------------------------------------------------------------------------------------------
# Aggregation
# ----------------------------------------------------------------------------------------------
def _matrix(values: Any, what: str) -> np.ndarray:
    try:
        m = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan) if isinstance(values, pd.DataFrame)
                     else values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise McdaError(problem(f"{what}不是数值矩阵。", f"The {what} is not numeric: {exc}",
                                fix="one row per site, one numeric column per criterion")) from exc
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2:
        raise McdaError(problem(f"{what}必须是二维的。", f"The {what} must be 2-D (sites × criteria), got {m.shape}.",
                                fix="one row per site, one column per criterion"))
    return m


def _weights_for(m: np.ndarray, weights: Any) -> np.ndarray:
    w = normalise_weights(weights)
    if w.size != m.shape[1]:
        raise McdaError(problem("权重个数与准则个数不一致。",
                                f"{w.size} weight(s) for {m.shape[1]} criteria.", fix="give one weight per criterion"))
    return w


def weighted_sum(scores: Any, weights: Any) -> np.ndarray:
    """Weighted sum of criterion scores.

    Parameters
    ----------
    scores : array-like or DataFrame
        Sites × criteria, scores in [0, 1] (from :func:`apply_criteria`).
    weights : array-like or mapping
        One weight per criterion (normalised with a warning if they do not sum to 1).

    Returns
    -------
    numpy.ndarray
        Score per site in [0, 1]; ``NaN`` if any of its criterion scores is ``NaN``.

    Raises
    ------
    McdaError
        If a score lies outside [0, 1] (raw values passed by mistake) or the shapes disagree.
    """
    m = _matrix(scores, "score matrix")
    w = _weights_for(m, weights)
    finite = m[~np.isnan(m)]
    if finite.size and (finite.min() < -1e-12 or finite.max() > 1 + 1e-12):
        raise McdaError(problem("加权求和的得分必须在 0–1 之间。",
                                f"Scores must lie in [0, 1]; got values from {finite.min():.4g} to {finite.max():.4g}.",
                                fix="transform raw values first (apply_criteria), or use topsis on raw values"))
    return m @ w


@dataclass(frozen=True)
class TopsisResult:
    """All intermediate steps of TOPSIS (for a report that shows the working).

    Attributes
    ----------
    closeness : numpy.ndarray
        Relative closeness C* = D- / (D+ + D-) per site, in [0, 1] (1 = ideal).
    normalised : numpy.ndarray
        Vector-normalised matrix r_ij = x_ij / sqrt(sum_i x_ij²).
    weighted : numpy.ndarray
        v_ij = w_j r_ij.
    ideal, anti_ideal : numpy.ndarray
        Best and worst weighted value per criterion.
    distance_ideal, distance_anti : numpy.ndarray
        Euclidean separations D+ and D- per site.
    """

    closeness: np.ndarray
    normalised: np.ndarray
    weighted: np.ndarray
    ideal: np.ndarray
    anti_ideal: np.ndarray
    distance_ideal: np.ndarray
    distance_anti: np.ndarray


def _benefit_mask(benefit: Any, n: int) -> np.ndarray:
    b = np.asarray(benefit)
    if b.ndim == 0:
        b = np.full(n, bool(b))
    if b.shape != (n,) or b.dtype.kind not in "bi":
        raise McdaError(problem("benefit 必须是每个准则一个布尔值。",
                                f"benefit must hold one true/false per criterion ({n}), got {benefit!r}.",
                                fix="e.g. benefit=[True, False, True] (False = cost criterion)"))
    return b.astype(bool)


def topsis_details(matrix: Any, weights: Any, benefit: Any) -> TopsisResult:
    """TOPSIS with every intermediate step (see :func:`topsis`)."""
    x = _matrix(matrix, "decision matrix")
    w = _weights_for(x, weights)
    b = _benefit_mask(benefit, x.shape[1])
    complete = ~np.isnan(x).any(axis=1)
    norm = np.sqrt((x[complete] ** 2).sum(axis=0))
    r = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    r[~complete] = np.nan
    v = r * w
    vc = v[complete]
    if vc.shape[0] == 0:
        nan = np.full(x.shape[1], np.nan)
        return TopsisResult(np.full(x.shape[0], np.nan), r, v, nan, nan, np.full(x.shape[0], np.nan),
                            np.full(x.shape[0], np.nan))
    ideal = np.where(b, vc.max(axis=0), vc.min(axis=0))
    anti = np.where(b, vc.min(axis=0), vc.max(axis=0))
    d_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - anti) ** 2).sum(axis=1))
    total = d_plus + d_minus
    with np.errstate(invalid="ignore"):
        c = np.where(total > 0, d_minus / np.where(total > 0, total, 1.0), 0.5)
    c[~complete] = np.nan
    return TopsisResult(c, r, v, ideal, anti, d_plus, d_minus)


def topsis(matrix: Any, weights: Any, benefit: Any) -> np.ndarray:
    """TOPSIS relative closeness to the ideal solution (Hwang & Yoon 1981).

    Parameters
    ----------
    matrix : array-like or DataFrame
        Raw decision matrix, sites × criteria (any units).
    weights : array-like or mapping
        One weight per criterion (normalised with a warning if not summing to 1).
    benefit : sequence of bool or bool
        True where more is better, False for cost criteria.

    Returns
    -------
    numpy.ndarray
        Closeness C* in [0, 1] per site, higher is better.  Sites with a missing
        value get ``NaN`` and are left out of the normalisation and the ideal
        points.  If every site is identical, all get 0.5.

    Notes
    -----
    1. ``r_ij = x_ij / sqrt(sum_i x_ij²)`` (vector normalisation; a column of zeros stays 0);
    2. ``v_ij = w_j r_ij``;
    3. ideal ``A+`` = best ``v_j`` (max for benefit, min for cost), anti-ideal ``A-`` the worst;
    4. ``D+_i``, ``D-_i`` Euclidean distances to ``A+`` and ``A-``;
    5. ``C*_i = D-_i / (D+_i + D-_i)``.

    References
    ----------
    .. [1] Hwang and Yoon (1981), pp. 128-134 (fighter-aircraft example pp. 133-134).
    """
    return topsis_details(matrix, weights, benefit).closeness


# ----------------------------------------------------------------------------------------------
# Ranking and sensitivity
# ----------------------------------------------------------------------------------------------
def _id_order(ids: Any, n: int) -> np.ndarray:
    """Position of each id in sorted id order (ties impossible: ids must be unique)."""
    index = pd.Index(ids)
    if len(index) != n:
        raise McdaError(problem("编号个数与得分个数不一致。", f"{len(index)} id(s) for {n} score(s).",
                                fix="give one id per site"))
    if not index.is_unique:
        dupes = list(index[index.duplicated()].unique()[:10])
        raise McdaError(problem("地块编号重复。", f"Site ids must be unique; duplicated: {dupes}.",
                                fix="give every site its own id"))
    try:
        order = index.argsort()
    except TypeError:                       # mixed types: compare as text
        order = index.astype(str).argsort()
    key = np.empty(n, dtype=np.int64)
    key[order] = np.arange(n)
    return key


def rank_scores(scores: Any, ids: Any) -> np.ndarray:
    """Rank sites by score: 1 = highest, ties broken by id, missing scores last.

    Parameters
    ----------
    scores : array-like
        One score per site (higher is better); ``NaN`` ranks after every number.
    ids : array-like
        Unique site ids (numbers or text); among equal scores the smaller id ranks first.

    Returns
    -------
    numpy.ndarray
        Integer ranks 1..n aligned with ``scores``.  Because ties are broken by
        id, shuffling the input rows shuffles the ranks with them and changes nothing else.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    key = _id_order(ids, s.size)
    missing = np.isnan(s)
    order = np.lexsort((key, -np.where(missing, 0.0, s), missing))
    ranks = np.empty(s.size, dtype=np.int64)
    ranks[order] = np.arange(1, s.size + 1)
    return ranks


def _dirichlet_draws(w: np.ndarray, n: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` weight vectors around ``w``: Dirichlet with concentration 1/spread² - 1; zero weights stay 0."""
    draws = np.tile(w, (n, 1))
    positive = w > 0
    if spread > 0 and positive.sum() > 1:
        concentration = 1.0 / spread ** 2 - 1.0
        draws[:, positive] = rng.dirichlet(w[positive] * concentration, size=n)
    return draws


def _batch_ranks(score_draws: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Ranks (1 = best) of each row of ``score_draws`` (draws × sites), ties by id, NaN last."""
    by_id = np.argsort(key)                               # sites in id order
    sorted_scores = score_draws[:, by_id]
    primary = np.where(np.isnan(sorted_scores), np.inf, -sorted_scores)
    order = np.argsort(primary, axis=1, kind="stable")   # stable: equal scores keep id order
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, order.shape[1] + 1)[None, :], axis=1)
    out = np.empty_like(ranks)
    out[:, by_id] = ranks
    return out


def _topsis_draws(x: np.ndarray, weight_draws: np.ndarray, benefit: np.ndarray) -> np.ndarray:
    complete = ~np.isnan(x).any(axis=1)
    norm = np.sqrt((x[complete] ** 2).sum(axis=0))
    r = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)[complete]
    out = np.full((weight_draws.shape[0], x.shape[0]), np.nan)
    if r.shape[0] == 0:
        return out
    block = max(1, _TOPSIS_BLOCK // max(1, r.size))
    for lo in range(0, weight_draws.shape[0], block):
        v = r[None, :, :] * weight_draws[lo:lo + block, None, :]
        hi_v, lo_v = v.max(axis=1), v.min(axis=1)
        ideal = np.where(benefit, hi_v, lo_v)[:, None, :]
        anti = np.where(benefit, lo_v, hi_v)[:, None, :]
        d_plus = np.sqrt(((v - ideal) ** 2).sum(axis=2))
        d_minus = np.sqrt(((v - anti) ** 2).sum(axis=2))
        total = d_plus + d_minus
        with np.errstate(invalid="ignore"):
            c = np.where(total > 0, d_minus / np.where(total > 0, total, 1.0), 0.5)
        out[lo:lo + block][:, complete] = c
    return out


def weight_sensitivity(scores_or_matrix: Any, weights: Any, *, method: str = "weighted_sum", k: int | None = None,
                       n: int | None = None, spread: float | None = None, seed: int | None = None,
                       ids: Any = None, benefit: Any = None) -> pd.DataFrame:
    """Monte-Carlo sensitivity of the ranking to the weights.

    Parameters
    ----------
    scores_or_matrix : array-like or DataFrame
        Criterion scores in [0, 1] (``method="weighted_sum"``) or the raw decision
        matrix (``method="topsis"``), sites × criteria.
    weights : array-like or mapping
        The weights of the ranking being tested (normalised with a warning if needed).
    method : {"weighted_sum", "topsis"}
        Aggregation used for every draw.
    k : int, optional
        Size of the short list; default ``top_k`` of ``data/mcda.toml`` (5).
    n : int, optional
        Number of weight draws; default 1,000.
    spread : float, optional
        Standard deviation of each drawn weight in units of ``sqrt(w (1 - w))``, in
        [0, 1); default 0.1 (a weight of 0.2 varies by about ±0.04).  0 disables the perturbation.
    seed : int, optional
        Seed of the random generator; default from ``data/mcda.toml`` (results are reproducible).
    ids : array-like, optional
        Unique site ids; default the DataFrame index or 0..n-1.
    benefit : sequence of bool, optional
        Required for TOPSIS: True where more is better.

    Returns
    -------
    pandas.DataFrame
        Indexed by site id: ``score`` and ``rank`` with the given weights,
        ``p_top_k`` (share of draws in which the site ranks <= k), ``rank_p05``,
        ``rank_median``, ``rank_p95`` (empirical quantiles of its rank over the
        draws).  ``attrs["sanxian"]`` records method, k, n, spread, seed and weights.

    Notes
    -----
    Weight vectors are drawn from a Dirichlet distribution with mean ``w`` and
    concentration ``1/spread² - 1``, so every draw is non-negative and sums to 1
    and ``sd(w_j) = spread · sqrt(w_j (1 - w_j))``.  Criteria with weight 0 stay
    at 0.  All draws are scored at once (a matrix product for the weighted sum,
    broadcasting for TOPSIS) and ranked with one stable ``argsort`` along the site
    axis (ties broken by id, as in :func:`rank_scores`).
    """
    settings = default_settings()
    k = settings.top_k if k is None else int(k)
    n = settings.draws if n is None else int(n)
    spread = settings.spread if spread is None else float(spread)
    seed = settings.seed if seed is None else int(seed)
    if method not in ("weighted_sum", "topsis"):
        raise McdaError(problem("未知的方法。", f"method must be 'weighted_sum' or 'topsis', got {method!r}.",
                                fix="pass method='weighted_sum' or method='topsis'"))
    if k < 1 or n < 1 or not (0.0 <= spread < 1.0):
        raise McdaError(problem("敏感性分析参数无效。", f"Need k >= 1, n >= 1 and 0 <= spread < 1; got k={k}, n={n}, "
                                f"spread={spread}.", fix="e.g. k=5, n=1000, spread=0.1"))
    x = _matrix(scores_or_matrix, "criteria matrix")
    if ids is None:
        ids = scores_or_matrix.index if isinstance(scores_or_matrix, pd.DataFrame) else np.arange(x.shape[0])
    key = _id_order(ids, x.shape[0])
    w = _weights_for(x, weights)
    rng = np.random.default_rng(seed)
    draws = _dirichlet_draws(w, n, spread, rng)
    if method == "weighted_sum":
        base = weighted_sum(x, w)
        score_draws = draws @ np.nan_to_num(x, nan=0.0).T
        score_draws[:, np.isnan(x).any(axis=1)] = np.nan
    else:
        if benefit is None:
            raise McdaError(problem("TOPSIS 需要 benefit。", "method='topsis' needs benefit= (one bool per criterion).",
                                    fix="e.g. benefit=[True, False, True]"))
        b = _benefit_mask(benefit, x.shape[1])
        base = topsis(x, w, b)
        score_draws = _topsis_draws(x, draws, b)
    ranks = _batch_ranks(score_draws, key)
    out = pd.DataFrame({
        "score": base,
        "rank": rank_scores(base, ids),
        "p_top_k": (ranks <= k).mean(axis=0),
        "rank_p05": np.quantile(ranks, 0.05, axis=0, method="inverted_cdf").astype(np.int64),
        "rank_median": np.quantile(ranks, 0.5, axis=0, method="inverted_cdf").astype(np.int64),
        "rank_p95": np.quantile(ranks, 0.95, axis=0, method="inverted_cdf").astype(np.int64),
    }, index=pd.Index(ids, name=getattr(ids, "name", None) or "id"))
    out.attrs["sanxian"] = {"method": method, "k": k, "n": n, "spread": spread, "seed": seed,
                            "weights": [float(v) for v in w],
                            "perturbation": "Dirichlet(concentration = 1/spread^2 - 1) around the weights",
                            "spread_source": settings.sources["monte_carlo.spread"] if spread == settings.spread
                            else "given by the caller"}
    return out
