"""The result of a rooftop run (:class:`RooftopResult`) and the names of its columns."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Label used for buildings outside every township polygon.
UNASSIGNED = "（未落入乡镇）/ unassigned"
#: Output columns of the per-building layer (in order; input attributes follow).
BUILDING_COLUMNS = (
    "rank", "capacity_kwp", "annual_kwh", "co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce", "factor_ids",
    "policy_target_kwp", "pilot_share", "use_category", "use_value", "use_defaulted", "roof_type",
    "roof_defaulted", "area_m2", "usable_area_m2", "tilt_deg", "azimuth_deg", "specific_yield_kwh_kwp",
    "excluded_reason", "township", "county", "synthetic",
)
#: Aggregated quantities (sums) of the township / county tables.
AGGREGATE_SUMS = ("roof_area_m2", "usable_area_m2", "capacity_kwp", "policy_target_kwp", "gap_kwp",
                  "annual_kwh", "co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce")

# ------------------------------------------------------------------------------------------------
# result
# ------------------------------------------------------------------------------------------------
@dataclass
class RooftopResult:
    """Outcome of :func:`rooftop_potential`.

    Attributes
    ----------
    buildings : geopandas.GeoDataFrame
        One row per building kept (see :data:`BUILDING_COLUMNS`), input attributes after them.
    townships : pandas.DataFrame
        One row per (county, township): counts and the sums of :data:`AGGREGATE_SUMS`, ``rank``.
    counties : pandas.DataFrame
        One row per county and a total row (``county == "合计 / total"``).
    categories : pandas.DataFrame
        Per county and use category: roof area, technical and policy-target capacity, pilot share.
    yield_classes : pandas.DataFrame
        The distinct orientation classes and their specific yield (computed once each).
    summary : dict
        Counts (input, kept, dropped, repaired, excluded by reason, use defaulted / unmapped values,
        roof defaulted), ``exclusions_not_applied`` (exclusion role -> why it was not applied, e.g.
        ``"layer missing from the catalog"``), ``area_source`` (``"none"`` = no township
        aggregation), site used for the yield, weather source, factor provenance (``factors``:
        kind -> :class:`~sanxian_yidan.benefits.Factor`; ``unconfirmed_factors``: ids), the
        synthetic flag and ``synthetic_layers``: ids of every synthetic layer that influenced a
        number (the footprints, catalog exclusion layers, townships, extra layers given).
    """

    buildings: gpd.GeoDataFrame
    townships: pd.DataFrame
    counties: pd.DataFrame
    categories: pd.DataFrame
    yield_classes: pd.DataFrame
    summary: dict[str, Any]

    @property
    def synthetic(self) -> bool:
        """True when any layer behind the numbers was synthetic (reports must say so)."""
        return bool(self.summary.get("synthetic"))

    def area_table(self) -> pd.DataFrame:
        """Townships then county and total rows, with a ``level`` column (what the CSV holds)."""
        towns = self.townships.assign(level="township")
        counties = self.counties.assign(level=np.where(self.counties["county"] == TOTAL, "total", "county"),
                                        township="")
        cols = ["level", "county", "township"] + [c for c in towns.columns if c not in ("level", "county",
                                                                                         "township")]
        return pd.concat([towns[cols], counties.reindex(columns=cols)], ignore_index=True)


TOTAL = "合计 / total"


