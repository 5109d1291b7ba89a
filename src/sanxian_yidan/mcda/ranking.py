"""Ranking and weight sensitivity: ranks with ties, and the Monte-Carlo probability of staying in the top k."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import problem
from .aggregation import benefit_mask, criteria_matrix, topsis, weighted_sum, weights_for
from .settings import default_settings
from .transforms import McdaError

# Largest number of (draw x site x criterion) values held at once by the TOPSIS sensitivity.
_TOPSIS_BLOCK = 8_000_000


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
    return np.argsort(order).astype(np.int64)  # the inverse permutation: each id's position in the order


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
    return np.argsort(order).astype(np.int64) + 1  # each site's place in the order, from 1


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
    mc = default_settings().monte_carlo
    k = mc.top_k if k is None else int(k)
    n = mc.draws if n is None else int(n)
    spread = mc.spread if spread is None else float(spread)
    seed = mc.seed if seed is None else int(seed)
    if method not in ("weighted_sum", "topsis"):
        raise McdaError(problem("未知的方法。", f"method must be 'weighted_sum' or 'topsis', got {method!r}.",
                                fix="pass method='weighted_sum' or method='topsis'"))
    if k < 1 or n < 1 or not (0.0 <= spread < 1.0):
        raise McdaError(problem("敏感性分析参数无效。", f"Need k >= 1, n >= 1 and 0 <= spread < 1; got k={k}, n={n}, "
                                f"spread={spread}.", fix="e.g. k=5, n=1000, spread=0.1"))
    x = criteria_matrix(scores_or_matrix, "criteria matrix")
    if ids is None:
        ids = scores_or_matrix.index if isinstance(scores_or_matrix, pd.DataFrame) else np.arange(x.shape[0])
    key = _id_order(ids, x.shape[0])
    w = weights_for(x, weights)
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
        b = benefit_mask(benefit, x.shape[1])
        base = topsis(x, w, b)
        score_draws = _topsis_draws(x, draws, b)
    ranks = _batch_ranks(score_draws, key)
    p05, median, p95 = np.quantile(ranks, [0.05, 0.5, 0.95], axis=0, method="inverted_cdf").astype(np.int64)
    out = pd.DataFrame({
        "score": base,
        "rank": rank_scores(base, ids),
        "p_top_k": (ranks <= k).mean(axis=0),
        "rank_p05": p05, "rank_median": median, "rank_p95": p95,
    }, index=pd.Index(ids, name=getattr(ids, "name", None) or "id"))
    out.attrs["sanxian"] = {"method": method, "k": k, "n": n, "spread": spread, "seed": seed,
                            "weights": [float(v) for v in w],
                            "perturbation": "Dirichlet(concentration = 1/spread^2 - 1) around the weights",
                            "spread_source": mc.spread_source if spread == mc.spread
                            else "given by the caller"}
    return out
