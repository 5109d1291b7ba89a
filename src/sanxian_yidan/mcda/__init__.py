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

from .aggregation import (  # noqa: F401  (every public name, as before the split)
    TopsisResult,
    topsis,
    topsis_details,
    weighted_sum,
)
from .ranking import (  # noqa: F401  (every public name, as before the split)
    rank_scores,
    weight_sensitivity,
)
from .settings import (  # noqa: F401  (every public name, as before the split)
    DATA_FILE,
    SENSITIVITY_COLUMNS,
    McdaSettings,
    default_settings,
    load_settings,
)
from .transforms import (  # noqa: F401  (every public name, as before the split)
    TRANSFORMS,
    Criterion,
    McdaError,
    apply_criteria,
    criteria_from_table,
    fuzzy,
    linear,
    piecewise,
    threshold,
)
from .weights import (  # noqa: F401  (every public name, as before the split)
    AhpResult,
    ahp,
    ahp_weights,
    check_consistency,
    normalise_weights,
    pairwise_matrix,
)

