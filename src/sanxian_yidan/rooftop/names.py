"""Names of the rooftop outputs: the per-building columns, the aggregated sums and the row labels.

Kept apart from :mod:`.result` so that the writers (:mod:`.output`) and the steps use them without
importing the result class that calls the writers.
"""

from __future__ import annotations

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
#: County label of the total row of the county table.
TOTAL = "合计 / total"
