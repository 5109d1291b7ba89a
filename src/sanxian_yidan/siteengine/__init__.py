"""The site engine: what brownfield PV ranking and mine rehabilitation priorities both do to candidate polygons.

:mod:`sanxian_yidan.brownfield` and :mod:`sanxian_yidan.mines` are two analyses over the same kind of
input — polygons of land (mines, landfills, subsidence land, contaminated plots, user parcels) — and
share these steps, each a pure function on GeoDataFrames and arrays:

* :mod:`.geometry` — the common site table (:func:`site_frame`, stable ids and :func:`canonical_order`),
  the hard exclusions cut away (:func:`exclusion_layers`, :func:`cut_exclusions`): the net developable
  area per site;
* :mod:`.location` — county and township of each site and the data coverage (:func:`locate_sites`),
  searches reaching beyond the data (:func:`edge_table`, :func:`search_radius_m`), planner-facing
  distance and share texts;
* :mod:`.measures` — distances to substations by voltage class and to other layers, terrain
  (:func:`terrain_table`) and PV specific yield;
* :mod:`.scoring` — conditions and pre-screen tests, the MCDA score, rank and ``p_top_k``
  (:func:`score_and_rank`), the order of a ranked table and the provenance records of the weights.

The analyses own their parameters (``data/brownfield.toml``, ``data/mines.toml``) and their results;
the engine reads parameter records by attribute only.
"""

from __future__ import annotations

from .geometry import (
    CARRIED_FIELDS,
    canonical_order,
    cut_exclusions,
    exclusion_layers,
    grouped_union,
    require_projected,
    site_frame,
    site_synthetic_layers,
    synthetic_note,
)
from .location import (
    OUTSIDE_COVERAGE_LABEL,
    area_names,
    column_names,
    distance_text,
    edge_limited,
    edge_table,
    locate_sites,
    outside_shares,
    search_radius_m,
    share_text,
)
from .measures import (
    TERRAIN_COLUMNS,
    layer_distance,
    location_yields,
    parse_voltage_kv,
    resolve_dem,
    site_specific_yield,
    substation_distances,
    terrain_table,
    yield_locations,
    yield_tilt,
)
from .scoring import (
    criterion_objects,
    criterion_weights,
    evaluate_condition,
    mcda_param_records,
    prescreen,
    score_and_rank,
    sort_by_rank,
)

__all__ = [
    "CARRIED_FIELDS",
    "OUTSIDE_COVERAGE_LABEL",
    "TERRAIN_COLUMNS",
    "area_names",
    "canonical_order",
    "column_names",
    "criterion_objects",
    "criterion_weights",
    "cut_exclusions",
    "distance_text",
    "edge_limited",
    "edge_table",
    "evaluate_condition",
    "exclusion_layers",
    "grouped_union",
    "layer_distance",
    "location_yields",
    "locate_sites",
    "mcda_param_records",
    "outside_shares",
    "parse_voltage_kv",
    "prescreen",
    "require_projected",
    "resolve_dem",
    "score_and_rank",
    "search_radius_m",
    "share_text",
    "site_frame",
    "site_specific_yield",
    "site_synthetic_layers",
    "sort_by_rank",
    "substation_distances",
    "synthetic_note",
    "terrain_table",
    "yield_locations",
    "yield_tilt",
]
