"""Criterion weights: direct weights or AHP pairwise comparisons with Saaty's consistency ratio."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SanxianWarning, problem
from .settings import default_settings
from .transforms import McdaError


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
        used = ", ".join(f"{n}: {x:.4g}" if isinstance(weights, Mapping) else f"{x:.4g}"
                         for n, x in zip(names, w / total))
        warnings.warn(f"权重之和为 {total:.6g}，不等于 1，已按总和归一化 / weights sum to {total:.6g}, not 1; they "
                      f"were divided by their sum ({used}). Check that this is what you meant (e.g. percentages "
                      "written as 25 instead of 0.25 give the same ranking; a forgotten criterion does not).",
                      SanxianWarning, stacklevel=2)
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
    a = _pairwise(matrix, settings.reciprocal.tolerance)
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
    limit = settings.consistency.max_ratio if max_ratio is None else float(max_ratio)
    if cr < limit:
        return
    hint = ""
    if matrix is not None:
        a = _pairwise(matrix, settings.reciprocal.tolerance)
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


