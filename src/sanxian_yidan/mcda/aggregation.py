"""Aggregation of criterion scores: weighted sum and TOPSIS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import problem
from .transforms import McdaError
from .weights import normalise_weights


def criteria_matrix(values: Any, what: str) -> np.ndarray:
    """A sites × criteria float matrix from an array or DataFrame (a 1-D input is one criterion).

    Parameters
    ----------
    values : array-like or pandas.DataFrame
        One row per site, one numeric column per criterion (``NaN`` kept).
    what : str
        What the matrix is, for the error message (e.g. ``"decision matrix"``).

    Returns
    -------
    numpy.ndarray
        2-D float64 array.

    Raises
    ------
    McdaError
        If the values are not numeric or not 1-D/2-D.
    """
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


def weights_for(m: np.ndarray, weights: Any) -> np.ndarray:
    """Weights normalised to sum to 1 (:func:`normalise_weights`), one per column of ``m``.

    Parameters
    ----------
    m : numpy.ndarray
        The sites × criteria matrix (from :func:`criteria_matrix`).
    weights : array-like
        Non-negative weights, one per criterion.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    McdaError
        If the weights are invalid or their number differs from the number of criteria.
    """
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
    m = criteria_matrix(scores, "score matrix")
    w = weights_for(m, weights)
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


def benefit_mask(benefit: Any, n: int) -> np.ndarray:
    """One boolean per criterion: True for a benefit (more is better), False for a cost.

    Parameters
    ----------
    benefit : bool or array-like of bool
        One flag for all ``n`` criteria, or one per criterion.
    n : int
        Number of criteria.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)

    Raises
    ------
    McdaError
        If ``benefit`` does not hold exactly ``n`` boolean (or 0/1) values.
    """
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
    x = criteria_matrix(matrix, "decision matrix")
    w = weights_for(x, weights)
    b = benefit_mask(benefit, x.shape[1])
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


