"""Tests of sanxian_yidan.mcda against published worked examples and hand-computed values.

Published references checked:

* AHP, Saaty (2008) "Decision making with the analytic hierarchy process", Int. J. Services
  Sciences 1(1):83-98 — relative consumption of drinks in the USA (7 x 7): derived priorities
  coffee .177, wine .019, tea .042, beer .116, soda .190, milk .129, water .327; C.R. = .022.
* AHP, Saaty (1990) "How to make a decision: the analytic hierarchy process", EJOR 48:9-26 —
  choosing a house, 8 criteria: lambda_max = 9.669, C.I. = 0.238, C.R. = 0.169 (an inconsistent
  matrix, used here for the refusal).  Matrix as in the paper (also in LINDO's model library,
  AnaHierProc02).
* TOPSIS, Hwang & Yoon (1981) "Multiple Attribute Decision Making", pp. 133-134 — fighter
  aircraft (4 x 6, weights .2 .1 .1 .1 .2 .3, cost criterion X4): D+ = .0545 .1197 .0580 .1009,
  D- = .0983 .0439 .0920 .0458, C* = .643 .268 .613 .312 (A1 > A3 > A4 > A2).  The book rounds
  intermediate values to 4 decimals, hence the tolerance of 1e-3 on C* (A3: 0.61354 unrounded).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sanxian_yidan import mcda
from sanxian_yidan.errors import DataFileError, SanxianWarning
from sanxian_yidan.mcda import Criterion, McdaError
from sanxian_yidan.mcda import ranking as mcda_ranking

# ---------------------------------------------------------------------------------------------
# published examples
# ---------------------------------------------------------------------------------------------
DRINKS = ["coffee", "wine", "tea", "beer", "soda", "milk", "water"]
DRINK_JUDGMENTS = {  # Saaty (2008), Table: which drink is consumed more in the US, and how much more
    ("coffee", "wine"): 9, ("coffee", "tea"): 5, ("coffee", "beer"): 2, ("coffee", "soda"): 1, ("coffee", "milk"): 1,
    ("water", "coffee"): 2, ("tea", "wine"): 3, ("beer", "wine"): 9, ("beer", "tea"): 3, ("beer", "milk"): 1,
    ("soda", "wine"): 9, ("soda", "tea"): 4, ("soda", "beer"): 2, ("soda", "milk"): 2,
    ("milk", "wine"): 9, ("milk", "tea"): 3,
    ("water", "wine"): 9, ("water", "tea"): 9, ("water", "beer"): 3, ("water", "soda"): 2, ("water", "milk"): 3,
}
DRINK_PRIORITIES = [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]

HOUSE = np.array([  # Saaty (1990), criteria of the house example
    [1, 5, 3, 7, 6, 6, 1 / 3, 1 / 4],
    [1 / 5, 1, 1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
    [1 / 3, 3, 1, 6, 3, 4, 6, 1 / 5],
    [1 / 7, 1 / 5, 1 / 6, 1, 1 / 3, 1 / 4, 1 / 7, 1 / 8],
    [1 / 6, 1 / 3, 1 / 3, 3, 1, 1 / 2, 1 / 5, 1 / 6],
    [1 / 6, 1 / 3, 1 / 4, 4, 2, 1, 1 / 5, 1 / 6],
    [3, 5, 1 / 6, 7, 5, 5, 1, 1 / 2],
    [4, 7, 5, 8, 6, 6, 2, 1],
])
HOUSE_CRITERIA = ["size", "transportation", "neighbourhood", "age", "yard", "modern facilities",
                  "general condition", "financing"]

AIRCRAFT = np.array([  # Hwang & Yoon (1981): speed (Mach), ferry range (NM), payload (lb), cost ($1e6),
    [2.0, 1500, 20000, 5.5, 5, 9],  # reliability, manoeuvrability (interval scale)
    [2.5, 2700, 18000, 6.5, 3, 5],
    [1.8, 2000, 21000, 4.5, 7, 7],
    [2.2, 1800, 20000, 5.0, 5, 5],
])
AIRCRAFT_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.2, 0.3]
AIRCRAFT_BENEFIT = [True, True, True, False, True, True]


def test_ahp_saaty_2008_drinks_weights_and_cr():
    matrix = mcda.pairwise_matrix(DRINKS, DRINK_JUDGMENTS)
    weights, cr = mcda.ahp_weights(matrix)
    np.testing.assert_allclose(weights, DRINK_PRIORITIES, atol=5e-4)     # published to 3 decimals
    assert round(cr, 3) == 0.022
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    mcda.check_consistency(cr)                                              # accepted: CR < 0.1


def test_ahp_saaty_1990_house_is_inconsistent_and_refused():
    result = mcda.ahp(HOUSE)
    assert round(result.lambda_max, 3) == 9.669
    assert round(result.consistency_index, 3) == 0.238
    assert round(result.consistency_ratio, 3) == 0.169
    assert result.random_index == 1.41
    with pytest.raises(McdaError, match=r"CR = 0\.169 >= 0\.1") as info:
        mcda.check_consistency(result.consistency_ratio, matrix=HOUSE, names=HOUSE_CRITERIA)
    text = str(info.value)
    assert "disagrees most" in text and "revise" in text and "force=True" in text
    # forced: accepted with a warning that names the inconsistency
    with pytest.warns(SanxianWarning, match="accepted because force=True"):
        mcda.check_consistency(result.consistency_ratio, force=True)


def test_ahp_consistent_matrix_recovers_weights_exactly():
    w = np.array([0.5, 0.25, 0.15, 0.1])
    weights, cr = mcda.ahp_weights(w[:, None] / w[None, :])
    np.testing.assert_allclose(weights, w, atol=1e-12)
    assert cr == pytest.approx(0.0, abs=1e-12)


def test_ahp_refuses_bad_matrices():
    with pytest.raises(McdaError, match="not reciprocal"):
        mcda.ahp_weights([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 2, 1]])      # a_23 = 2 but a_32 = 2
    with pytest.raises(McdaError, match="positive number"):
        mcda.ahp_weights([[1, 0], [0, 1]])
    with pytest.raises(McdaError, match="must be square"):
        mcda.ahp_weights([[1, 2, 3], [0.5, 1, 2]])
    with pytest.raises(McdaError, match="exceed the random-index table"):
        mcda.ahp_weights(np.ones((11, 11)))
    # reciprocals typed to two decimals are accepted (1/7 written 0.14)
    weights, _ = mcda.ahp_weights([[1, 7], [0.14, 1]])
    assert weights[0] == pytest.approx(0.875, abs=2e-3)


def test_pairwise_matrix_refuses_missing_or_duplicate_judgments():
    with pytest.raises(McdaError, match="Missing judgments"):
        mcda.pairwise_matrix(["a", "b", "c"], {("a", "b"): 3, ("a", "c"): 5})
    with pytest.raises(McdaError, match="judged twice"):
        mcda.pairwise_matrix(["a", "b"], {("a", "b"): 3, ("b", "a"): 1 / 3})


def test_topsis_hwang_yoon_1981_fighter_aircraft():
    details = mcda.topsis_details(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    np.testing.assert_allclose(details.distance_ideal, [0.0545, 0.1197, 0.0580, 0.1009], atol=1e-4)
    np.testing.assert_allclose(details.distance_anti, [0.0983, 0.0439, 0.0920, 0.0458], atol=1e-4)
    closeness = mcda.topsis(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    np.testing.assert_allclose(closeness, [0.643, 0.268, 0.613, 0.312], atol=1e-3)
    assert mcda.rank_scores(closeness, ["A1", "A2", "A3", "A4"]).tolist() == [1, 4, 2, 3]


def test_topsis_missing_values_and_identical_sites():
    x = AIRCRAFT.copy()
    x[1, 2] = np.nan
    c = mcda.topsis(x, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT)
    assert np.isnan(c[1]) and np.isfinite(c[[0, 2, 3]]).all()
    np.testing.assert_allclose(c[[0, 2, 3]], mcda.topsis(AIRCRAFT[[0, 2, 3]], AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT))
    assert mcda.topsis(np.ones((3, 2)), [0.5, 0.5], [True, False]).tolist() == [0.5, 0.5, 0.5]


# ---------------------------------------------------------------------------------------------
# transforms and criteria
# ---------------------------------------------------------------------------------------------
def test_linear_benefit_cost_clip_and_nan():
    v = [-5, 0, 2.5, 10, 20, np.nan]
    np.testing.assert_allclose(mcda.linear(v, 0, 10), [0, 0, 0.25, 1, 1, np.nan])
    np.testing.assert_allclose(mcda.linear(v, 0, 10, benefit=False), [1, 1, 0.75, 0, 0, np.nan])
    with pytest.raises(McdaError, match="lo < hi"):
        mcda.linear(v, 10, 0)


def test_threshold_piecewise_fuzzy():
    np.testing.assert_array_equal(mcda.threshold([1, 5, 9, np.nan], 5), [0, 1, 1, np.nan])
    np.testing.assert_array_equal(mcda.threshold([1, 5, 9], 5, benefit=False), [1, 1, 0])
    np.testing.assert_allclose(mcda.piecewise([-1, 0, 250, 500, 1250, 2000, 3000], [0, 500, 2000], [1, 0.5, 0]),
                               [1, 1, 0.75, 0.5, 0.25, 0, 0])
    with pytest.raises(McdaError, match="strictly increasing"):
        mcda.piecewise([1], [0, 0], [1, 0])
    with pytest.raises(McdaError, match=r"ys must lie in \[0, 1\]"):
        mcda.piecewise([1], [0, 1], [2, 0])
    np.testing.assert_allclose(mcda.fuzzy([0, 2.5, 5, 7, 10, 15, 20, 25], 0, 5, 10, 20),
                               [0, 0.5, 1, 1, 1, 0.5, 0, 0])
    np.testing.assert_allclose(mcda.fuzzy([0, 5, 10, 15], -math.inf, -math.inf, 5, 15), [1, 1, 0.5, 0])
    np.testing.assert_allclose(mcda.fuzzy([0, 5, 10], 5, 5, 10, 10), [0, 1, 1])
    with pytest.raises(McdaError, match="a <= b <= c <= d"):
        mcda.fuzzy([1], 0, 5, 3, 10)


def test_criteria_from_table_and_apply():
    table = [
        {"column": "net_area_m2", "transform": "linear", "lo": 0, "hi": 100000, "weight": 0.5,
         "source": "test"},
        {"column": "slope_mean_deg", "transform": "piecewise", "xs": [0, 15], "ys": [1, 0], "weight": 0.3,
         "source": "test"},
        {"column": "dist_m", "transform": "threshold", "limit": 1000, "benefit": False, "weight": 0.2,
         "missing": 0.0, "name": "near_grid", "source": "test"},
    ]
    criteria = mcda.criteria_from_table(table)
    frame = pd.DataFrame({"net_area_m2": [50000, 200000], "slope_mean_deg": [7.5, np.nan],
                          "dist_m": [500, np.nan]}, index=["a", "b"])
    scores = mcda.apply_criteria(frame, criteria)
    assert list(scores.columns) == ["net_area_m2", "slope_mean_deg", "near_grid"]
    np.testing.assert_allclose(scores.loc["a"], [0.5, 0.5, 1.0])
    assert scores.loc["b", "net_area_m2"] == 1.0 and np.isnan(scores.loc["b", "slope_mean_deg"])
    assert scores.loc["b", "near_grid"] == 0.0                  # missing distance scored 0 as declared
    total = mcda.weighted_sum(scores, [c.weight for c in criteria])
    assert total[0] == pytest.approx(0.5 * 0.5 + 0.3 * 0.5 + 0.2 * 1.0)
    assert np.isnan(total[1])                                   # a missing criterion is not silently 0
    assert scores.attrs["sanxian"]["criteria"][2]["transform"] == "threshold"


def test_criteria_table_reports_every_problem():
    table = [{"column": "a", "transform": "linear", "lo": 1, "weight": 1},
             {"column": "b", "transform": "cubic", "source": "x"},
             {"column": "c", "transform": "linear", "lo": 0, "hi": 1, "weight": -1, "source": "x"}]
    with pytest.raises(DataFileError, match="4 problem") as info:
        mcda.criteria_from_table(table, file="criteria.toml")
    text = str(info.value)
    assert "'source' is missing" in text and "missing hi" in text and "cubic" in text and "weight must be" in text
    with pytest.raises(McdaError, match="Missing column"):
        mcda.apply_criteria(pd.DataFrame({"x": [1]}), [Criterion("a", params={"lo": 0, "hi": 1})])


# ---------------------------------------------------------------------------------------------
# weights, aggregation, ranking
# ---------------------------------------------------------------------------------------------
def test_weights_not_summing_to_one_are_normalised_with_warning():
    with pytest.warns(SanxianWarning, match="sum to 4"):
        w = mcda.normalise_weights([2, 1, 1])
    np.testing.assert_allclose(w, [0.5, 0.25, 0.25])
    with pytest.warns(SanxianWarning, match="divided by their sum"):
        total = mcda.weighted_sum([[1.0, 0.0], [0.0, 1.0]], [3, 1])
    np.testing.assert_allclose(total, [0.75, 0.25])


def test_negative_or_invalid_weights_refused():
    with pytest.raises(McdaError, match="refused: 1: -0.2"):
        mcda.normalise_weights([0.6, -0.2, 0.6])
    with pytest.raises(McdaError, match="All weights are zero"):
        mcda.normalise_weights([0, 0])
    with pytest.raises(McdaError, match="2 weight"):
        mcda.weighted_sum([[0.1, 0.2, 0.3]], [0.5, 0.5])
    with pytest.raises(McdaError, match=r"Scores must lie in \[0, 1\]"):
        mcda.weighted_sum([[5.0, 0.2]], [0.5, 0.5])


def test_rank_ties_broken_by_id_and_missing_last():
    ranks = mcda.rank_scores([0.5, 0.9, 0.5, np.nan, 0.1], ["e", "d", "c", "b", "a"])
    assert ranks.tolist() == [3, 1, 2, 5, 4]
    with pytest.raises(McdaError, match="duplicated"):
        mcda.rank_scores([1, 2], ["x", "x"])


def test_ranking_stable_under_permutation_of_input_order():
    rng = np.random.default_rng(3)
    ids = np.array([f"site{i:03d}" for i in range(60)])
    scores = np.round(rng.random(60), 1)            # many ties
    base = dict(zip(ids, mcda.rank_scores(scores, ids)))
    for _ in range(5):
        perm = rng.permutation(60)
        shuffled = dict(zip(ids[perm], mcda.rank_scores(scores[perm], ids[perm])))
        assert shuffled == base
    assert sorted(base.values()) == list(range(1, 61))


def test_weight_sensitivity_reproducible_and_permutation_invariant():
    rng = np.random.default_rng(11)
    scores = pd.DataFrame(rng.random((30, 4)), index=[f"s{i}" for i in range(30)])
    weights = [0.4, 0.3, 0.2, 0.1]
    a = mcda.weight_sensitivity(scores, weights, k=5, n=400, seed=7)
    b = mcda.weight_sensitivity(scores, weights, k=5, n=400, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(mcda.SENSITIVITY_COLUMNS)
    np.testing.assert_allclose(a["score"], scores.to_numpy() @ np.array(weights))
    shuffled = mcda.weight_sensitivity(scores.sample(frac=1, random_state=1), weights, k=5, n=400, seed=7)
    pd.testing.assert_frame_equal(shuffled.loc[a.index], a)
    assert ((a["rank_p05"] <= a["rank_median"]) & (a["rank_median"] <= a["rank_p95"])).all()
    assert a["p_top_k"].sum() == pytest.approx(5.0)          # exactly k sites in the top k in every draw


def test_weight_sensitivity_limits():
    scores = np.array([[1.0, 1.0], [0.5, 0.2], [0.2, 0.5], [0.0, 0.0]])
    fixed = mcda.weight_sensitivity(scores, [0.5, 0.5], k=2, n=50, spread=0.0)
    assert fixed["p_top_k"].tolist() == [1.0, 1.0, 0.0, 0.0]      # no perturbation: base top 2
    assert (fixed["rank_p05"] == fixed["rank_p95"]).all()
    wide = mcda.weight_sensitivity(scores, [0.5, 0.5], k=1, n=500, spread=0.5, seed=3)
    assert wide.loc[0, "p_top_k"] == 1.0 and wide.loc[3, "p_top_k"] == 0.0   # dominance survives any weights
    # sites 1 and 2 swap places depending on which weight is larger: both ranks occur for each
    assert (wide.loc[1, "rank_p05"], wide.loc[1, "rank_p95"]) == (2, 3)
    assert (wide.loc[2, "rank_p05"], wide.loc[2, "rank_p95"]) == (2, 3)
    with pytest.raises(McdaError, match="negative"):
        mcda.weight_sensitivity(scores, [1.5, -0.5])


def test_weight_sensitivity_topsis_matches_topsis():
    out = mcda.weight_sensitivity(AIRCRAFT, AIRCRAFT_WEIGHTS, method="topsis", benefit=AIRCRAFT_BENEFIT,
                                  ids=["A1", "A2", "A3", "A4"], k=2, n=300, seed=5)
    np.testing.assert_allclose(out["score"], mcda.topsis(AIRCRAFT, AIRCRAFT_WEIGHTS, AIRCRAFT_BENEFIT))
    assert out["rank"].tolist() == [1, 4, 2, 3]
    assert out["p_top_k"].sum() == pytest.approx(2.0)
    zero_spread = mcda.weight_sensitivity(AIRCRAFT, AIRCRAFT_WEIGHTS, method="topsis", benefit=AIRCRAFT_BENEFIT,
                                          k=2, n=10, spread=0.0)
    assert zero_spread["p_top_k"].tolist() == [1.0, 0.0, 1.0, 0.0]
    with pytest.raises(McdaError, match="needs benefit"):
        mcda.weight_sensitivity(AIRCRAFT, AIRCRAFT_WEIGHTS, method="topsis")


def test_dirichlet_draws_centred_on_weights_with_stated_spread():
    w = np.array([0.5, 0.3, 0.2, 0.0])
    draws = mcda_ranking._dirichlet_draws(w, 20000, 0.1, np.random.default_rng(0))
    np.testing.assert_allclose(draws.sum(axis=1), 1.0, atol=1e-12)
    assert (draws[:, 3] == 0).all()
    np.testing.assert_allclose(draws.mean(axis=0), w, atol=3e-3)
    np.testing.assert_allclose(draws[:, :3].std(axis=0), 0.1 * np.sqrt(w[:3] * (1 - w[:3])), rtol=0.05)


def test_settings_validated(tmp_path):
    user = tmp_path / "m.toml"
    user.write_text("[monte_carlo]\nspread = 1.5\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"m.toml: monte_carlo.spread: must be < 1, got 1.5"):
        mcda.load_settings(user)
    assert mcda.default_settings().random_index[2] == 0.58
