"""sanxian_yidan: 三线一单 zoning screening and photovoltaic siting for Suizhou.

The public API is imported lazily so that ``import sanxian_yidan`` stays fast
and the CLI starts quickly.

Stable names
------------
read_vector, read_boundary_txt, write_boundary_txt
    Ingest Chinese GIS data (encodings, CRSs, land-boundary TXT).
gcj02_to_wgs84, wgs84_to_gcj02, bd09_to_wgs84, wgs84_to_bd09
    Web-map coordinate conversions (scalars or arrays).
Catalog
    The layer catalog (roles, provenance, synthetic flags).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "read_vector": "sanxian_yidan.io.vector",
    "read_boundary_txt": "sanxian_yidan.io.boundary_txt",
    "write_boundary_txt": "sanxian_yidan.io.boundary_txt",
    "gcj02_to_wgs84": "sanxian_yidan.crs",
    "wgs84_to_gcj02": "sanxian_yidan.crs",
    "bd09_to_wgs84": "sanxian_yidan.crs",
    "wgs84_to_bd09": "sanxian_yidan.crs",
    "gcj02_to_bd09": "sanxian_yidan.crs",
    "bd09_to_gcj02": "sanxian_yidan.crs",
    "infer_crs": "sanxian_yidan.crs",
    "Catalog": "sanxian_yidan.catalog",
    "normalise": "sanxian_yidan.normalize",
    "SanxianError": "sanxian_yidan.errors",
    # screening (三线一单 access screening)
    "screen": "sanxian_yidan.screening",
    "load_rules": "sanxian_yidan.rules",
    # solar resource, co-benefits, rooftop PV
    "specific_yield": "sanxian_yidan.solar",
    "co_benefits": "sanxian_yidan.benefits",
    "rooftop_potential": "sanxian_yidan.rooftop",
    # terrain, brownfields, decision analysis, mines
    "slope_aspect": "sanxian_yidan.terrain",
    "ahp_weights": "sanxian_yidan.mcda",
    "topsis": "sanxian_yidan.mcda",
    "ground_capacity_mw": "sanxian_yidan.brownfield",
    "brownfield_ranking": "sanxian_yidan.brownfield",
    "run_brownfields": "sanxian_yidan.brownfield",
    "mine_priorities": "sanxian_yidan.mines",
    "run_mines": "sanxian_yidan.mines",
    # maps, reports, studies
    "make_map": "sanxian_yidan.maps",
    "run_study": "sanxian_yidan.study",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sanxian_yidan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
