"""Names of the rooftop outputs: the per-building columns, the aggregated sums and the row labels.

Kept apart from :mod:`.result` so that the writers (:mod:`.output`) and the steps use them without
importing the result class that calls the writers.
"""

from __future__ import annotations

from typing import Any

#: Label used for buildings outside every township polygon.
UNASSIGNED = "（未落入乡镇）/ unassigned"
#: Aggregated quantities (sums) of the township / county tables.
AGGREGATE_SUMS = ("roof_area_m2", "usable_area_m2", "capacity_kwp", "policy_target_kwp", "gap_kwp",
                  "annual_kwh", "co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce")
#: County label of the total row of the county table.
TOTAL = "合计 / total"


def __getattr__(name: str) -> Any:
    # BUILDING_COLUMNS was a tuple here; data/tables.toml [tables.rooftop_buildings] declares the columns now
    if name == "BUILDING_COLUMNS":
        from ..schemas import schema

        return tuple(schema("rooftop_buildings").names)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
