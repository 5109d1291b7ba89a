"""Conditions and pre-screen tests on site tables, and the MCDA score, rank and weight sensitivity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..analysis import ParamRecord
from ..errors import DataFileError, problem

if TYPE_CHECKING:  # parameter records of data/brownfield.toml, read by attribute only
    from ..brownfield.params import Condition, McdaSpec


def evaluate_condition(frame: pd.DataFrame, cond: Condition) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``column op value`` over the rows, with the screening rules' engine (:class:`rules.Condition`).

    Text is compared after trimming, numbers by value (``1`` equals ``1.0``), booleans as true/false;
    ``!=`` and ``not_in`` never match a missing value.

    Returns
    -------
    (ndarray of bool, ndarray of bool)
        The test result (False where undetermined) and the "undetermined" mask (value missing, or not a
        number for an order comparison).

    Raises
    ------
    DataFileError
        If the column does not exist in ``frame`` (a typo in a rule must not pass silently).
    """
    if cond.column not in frame.columns:
        raise DataFileError(problem(
            f"规则引用了不存在的列 '{cond.column}'。",
            f"A rule refers to column '{cond.column}', which the result does not have.",
            fix=f"use one of {sorted(map(str, frame.columns))}"))
    test = cond.test
    return test.evaluate(frame[cond.column]), test.undetermined(frame[cond.column])


def prescreen(frame: pd.DataFrame, tests: Sequence[Condition]) -> tuple[np.ndarray, list[list[str]], list[list[str]]]:
    """Apply the pre-screening tests.

    Returns
    -------
    (ndarray of bool, list of list of str, list of list of str)
        Pass mask; ids of failed tests per row; notes per row (failed tests and values not known).
    """
    n = len(frame)
    ok = np.ones(n, dtype=bool)
    failed: list[list[str]] = [[] for _ in range(n)]
    notes: list[list[str]] = [[] for _ in range(n)]
    for test in tests:
        res, missing = evaluate_condition(frame, test)
        fail = ~res & ~missing
        if test.on_missing == "fail":
            fail |= missing
        ok &= ~fail
        for i in np.flatnonzero(fail):
            failed[i].append(test.id)
            notes[i].append(f"未通过预筛 / fails pre-screen: {test.label()}"
                            + (" (值未知 / value unknown)" if missing[i] else ""))
        if test.on_missing == "flag":
            for i in np.flatnonzero(missing):
                notes[i].append(f"无法判断 / cannot assess: {test.label()} (值未知 / value unknown)")
    return ok, failed, notes


def criterion_objects(spec: McdaSpec) -> list[Any]:
    """The data-file criteria as :class:`sanxian_yidan.mcda.Criterion` objects."""
    from .. import mcda

    return [mcda.Criterion(column=c.column, transform=c.transform, weight=c.weight, benefit=c.benefit,
                           params={k: v for k, v in c.options.items() if k not in ("missing", "name")},
                           name=c.options.get("name"), source=c.source, missing=c.options.get("missing"))
            for c in spec.criteria]


def criterion_weights(spec: McdaSpec) -> pd.Series:
    """Weights per criterion column, summing to 1: direct (normalised with a warning) or from AHP.

    Raises
    ------
    McdaError
        Negative weights, an AHP matrix that is not reciprocal, or CR >= 0.1 without ``force``.
    """
    from .. import mcda

    labels = [c.options.get("name") or c.column for c in spec.criteria]
    if spec.ahp is not None:
        w, cr = mcda.ahp_weights(np.array(spec.ahp.matrix))
        mcda.check_consistency(cr, spec.ahp.force, matrix=np.array(spec.ahp.matrix), names=list(spec.ahp.order))
        by_name = dict(zip(spec.ahp.order, w))
        out = pd.Series([by_name[c.column] for c in spec.criteria], index=labels, name="weight")
        out.attrs["consistency_ratio"] = float(cr)
        return out
    return pd.Series(mcda.normalise_weights([c.weight for c in spec.criteria]), index=labels, name="weight")


def score_and_rank(frame: pd.DataFrame, spec: McdaSpec, rankable: np.ndarray, *, ids: np.ndarray
                   ) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Score every row, rank the ``rankable`` ones, and estimate ``p_top_k`` by Monte Carlo.

    Parameters
    ----------
    frame : DataFrame
        Raw criterion values (columns named by the criteria).
    spec : McdaSpec
        Method, criteria, weights, top_k, n_samples, seed (and optional ``spread`` in ``[mcda]``).
    rankable : ndarray of bool
        Rows that take part in the ranking (others get a score for information but no rank).
    ids : ndarray
        Unique row ids; ties are broken by id, so the result does not depend on row order.

    Returns
    -------
    (DataFrame, Series, list of str)
        ``score``, ``rank`` (float, NaN if not ranked) and ``p_top_k`` per row; the weights used
        (summing to 1, by criterion); notes for the report.
    """
    from .. import mcda

    weights = criterion_weights(spec)
    crit = criterion_objects(spec)
    notes = []
    out = pd.DataFrame(np.nan, index=frame.index, columns=["score", "rank", "p_top_k"])
    idx = np.flatnonzero(rankable)
    if spec.method == "weighted_sum":
        scores = mcda.apply_criteria(frame, crit)
        out["score"] = mcda.weighted_sum(scores, weights.to_numpy())
        matrix = scores.iloc[idx]
        benefit = None
    else:
        matrix = frame[[c.column for c in spec.criteria]].iloc[idx].astype(float)
        benefit = np.array([c.benefit for c in spec.criteria])
        if len(idx):
            out.iloc[idx, out.columns.get_loc("score")] = mcda.topsis(matrix, weights.to_numpy(), benefit)
    if len(idx):
        sub_ids = np.asarray(ids)[idx]
        out.iloc[idx, out.columns.get_loc("rank")] = mcda.rank_scores(out["score"].to_numpy()[idx], sub_ids)
        if spec.n_samples > 0:
            spread = spec.options.get("spread")
            sens = mcda.weight_sensitivity(matrix, weights.to_numpy(), method=spec.method, k=spec.top_k,
                                           n=spec.n_samples, seed=spec.seed, ids=sub_ids, benefit=benefit,
                                           spread=None if spread is None else float(spread))
            out.iloc[idx, out.columns.get_loc("p_top_k")] = sens["p_top_k"].to_numpy()
            notes.append(f"权重敏感性 / weight sensitivity: {spec.n_samples} Dirichlet draws (spread "
                         f"{sens.attrs['sanxian']['spread']}, seed {spec.seed}), p_top_k = share of draws in the "
                         f"top {spec.top_k}")
    missing = out["score"].isna().to_numpy() & rankable
    if missing.any():
        notes.append(f"{int(missing.sum())} ranked row(s) lack a criterion value and rank last (score empty)")
    return out, weights, notes


def mcda_param_records(spec: McdaSpec, weights: pd.Series) -> list[ParamRecord]:
    """Method, top k, Monte-Carlo draws and the weight of each criterion, with sources (for provenance)."""
    recs = [ParamRecord(f"mcda.{key}", getattr(spec, key), "", spec.source)
            for key in ("method", "top_k", "n_samples", "seed")]
    sources = [spec.ahp.source if spec.ahp is not None else c.source for c in spec.criteria]
    recs += [ParamRecord(f"mcda.weight.{label}", float(w), "", src)
             for (label, w), src in zip(weights.items(), sources)]
    return recs


def sort_by_rank(gdf: gpd.GeoDataFrame, score_column: str = "score") -> gpd.GeoDataFrame:
    """Rows by rank (ranked first), then by ``score_column`` (highest first), then by ``site_id``; new index."""
    rank = gdf["rank"].astype("float").fillna(np.inf).to_numpy()
    score = -gdf[score_column].astype("float").fillna(-np.inf).to_numpy()
    order = np.lexsort([gdf["site_id"].astype(str).to_numpy(), score, rank])
    return gdf.iloc[order].reset_index(drop=True)
