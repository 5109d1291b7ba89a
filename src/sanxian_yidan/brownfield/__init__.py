"""Brownfield PV land: candidate sites, hard exclusions, net area, capacity, yield and a defended ranking.

Serves clause (十二) of Suizhou's pollution-and-carbon synergy plan ("探索利用废弃矿山、采煤沉陷区受损土地、
已封场垃圾填埋场、污染地块等因地制宜规划建设光伏发电").

Steps (:func:`brownfield_ranking`)
---------------------------------
1. **Candidates** from the catalog roles ``mine_site``, ``subsidence_area``, ``landfill``,
   ``contaminated_site`` (and user parcels), each with a readiness score and eligibility from its
   status (``[[status]]`` of ``data/brownfield.toml``).
2. **Hard exclusions** (red line, basic farmland, level-1 water-source zones, nature reserves,
   heritage ranges, …) are cut away by polygon difference: the **net developable area** per site,
   and the excluded parts as their own layer with the reason.
3. **Criteria**: net area, slope and south-facing share (DEM), specific yield, distance to the
   nearest substation of the voltage class the plant needs, distance to roads, setback from
   built-up land, status.
4. **Capacity** from a cited power density, **yield** and **co-benefits**.
5. **Pre-screening** in the style of EPA RE-Powering (minimum area, distance to grid, slope).
6. **MCDA** score (weighted sum or TOPSIS, weights direct or AHP), rank of the sites that pass,
   and the Monte-Carlo probability ``p_top_k`` that each stays in the top k when the weights vary.

Every number comes from the data file with its source; results carry ``synthetic`` per site.

References
----------
.. [1] 随州市减污降碳协同增效实施方案, clauses (九) and (十二).
.. [2] 自然资源部办公厅 国家林业和草原局办公室 国家能源局综合司《关于支持光伏发电产业发展规范用地管理有关
       工作的通知》自然资办发〔2023〕12号 (2023-03-20).
.. [3] GB 50797-2012 光伏发电站设计规范 (row spacing; the default density is a shade-free fixed-row layout, 0.72
       MW/ha DC); NREL reV's 36 MW/km² (DC) remains available as an alternative.
.. [4] U.S. EPA, RE-Powering America's Land: Pre-Screening (about five acres per megawatt; sites of at
       least five acres of developable area).
"""

from __future__ import annotations

from ..analysis import Analysis, register
from ..progress import Progress, report_step  # noqa: F401
from ..siteengine import (  # noqa: F401  (the shared site engine's names, importable from here as before)
    CARRIED_FIELDS,
    OUTSIDE_COVERAGE_LABEL,
    TERRAIN_COLUMNS,
    area_names,
    canonical_order,
    column_names,
    criterion_objects,
    criterion_weights,
    cut_exclusions,
    distance_text,
    edge_table,
    evaluate_condition,
    exclusion_layers,
    grouped_union,
    layer_distance,
    locate_sites,
    mcda_param_records,
    outside_shares,
    parse_voltage_kv,
    prescreen,
    resolve_dem,
    score_and_rank,
    search_radius_m,
    site_frame,
    site_specific_yield,
    substation_distances,
    terrain_table,
)
from ._deprecated import (  # noqa: F401  (deprecated: removed in the next release)
    parse_condition,
    parse_criteria,
    parse_exclusion,
    parse_mcda,
    read_params_document,
)
from .params import (  # noqa: F401  (every public name, as before the split)
    DATA_FILE,
    M2_PER_ACRE,
    M2_PER_HA,
    OPERATORS,
    AhpSpec,
    BrownfieldParams,
    CandidateRole,
    Condition,
    CriterionSpec,
    Density,
    Exclusion,
    GridClass,
    McdaSpec,
    StatusRule,
    load_document,
    load_params,
)
from .ranking import (  # noqa: F401  (every public name, as before the split)
    BROWNFIELD_OUTPUTS,
    EDGE_DISTANCE_COLUMNS,
    RANKING_STEPS,
    SITE_COLUMNS,
    BrownfieldResult,
    brownfield_ranking,
    load_catalog,
    run_brownfields,
    run_from_options,
    write_outputs,
)
from .sites import candidate_sites, ground_capacity_mw, read_parcels, site_readiness  # noqa: F401

# roles: the catalog candidate roles of data/brownfield.toml (a test keeps the two in step)
register(Analysis("brownfields", "棕地光伏排序", "Brownfield PV ranking", run=run_brownfields,
                  result_type=BrownfieldResult, roles=("mine_site", "subsidence_area", "landfill", "contaminated_site"),
                  from_options=run_from_options))

__all__ = [
    "BROWNFIELD_OUTPUTS",
    "RANKING_STEPS",
    "BrownfieldParams",
    "BrownfieldResult",
    "CandidateRole",
    "Condition",
    "CriterionSpec",
    "Density",
    "Exclusion",
    "GridClass",
    "McdaSpec",
    "Progress",
    "StatusRule",
    "brownfield_ranking",
    "candidate_sites",
    "canonical_order",
    "criterion_weights",
    "cut_exclusions",
    "evaluate_condition",
    "exclusion_layers",
    "ground_capacity_mw",
    "load_catalog",
    "load_params",
    "parse_voltage_kv",
    "prescreen",
    "report_step",
    "run_brownfields",
    "score_and_rank",
    "site_frame",
    "site_readiness",
    "site_specific_yield",
    "substation_distances",
    "terrain_table",
    "write_outputs",
]
