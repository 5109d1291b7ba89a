"""Terrain: slope, aspect and hillshade, slope statistics per site, and visibility from lines (三区两线).

A planner asks three terrain questions of a candidate site: *how steep is it*,
*which way does it face* and *can it be seen from the expressway*.  This module
answers them from a DEM:

* :func:`slope_aspect` and :func:`hillshade` follow ``gdaldem`` exactly (Horn's
  3×3 method, edges left empty as ``gdaldem`` does without ``-compute_edges``);
* :func:`zonal_terrain_stats` gives mean and maximum slope, the flat share, the
  south-facing share and the mean elevation of every polygon in one vectorised
  pass (no loop over polygons), with the DEM coverage of each site so that a
  site outside the DEM is *reported*, not a crash;
* :func:`visibility_from_lines` marks every cell seen from observers placed
  along roads, railways or rivers (the 直观可视范围 of 三区两线), searching the
  bilinear terrain between observer and target exactly, and
  :func:`visible_share` turns that raster into a share per site.

Conventions
-----------
Elevations are metres, the DEM must be in a projected CRS with metre units
(the working CRS EPSG:4547 for Suizhou) and north-up.  Nodata is ``NaN`` in
:attr:`Dem.elevation`.  Slopes are degrees; aspects are degrees clockwise from
north of the downslope direction (GDAL's azimuth convention), ``NaN`` on flat
cells (``gdaldem`` writes its nodata value -9999 there).

Which cells belong to a polygon
-------------------------------
By default (``[zonal] weighting = "coverage"`` in ``data/terrain.toml``) every cell a
polygon overlaps belongs to it, weighted by the share of the cell's area the polygon
covers, so the statistics are area-weighted as exactextract computes them (a 90 m cell
is 0.81 ha: on parcels under 5 ha the cell-centre rule moves the mean slope by degrees).
With ``weighting="centre"`` a cell belongs to a polygon when the polygon contains or
touches its centre (GDAL's rasterisation without ``all_touched``), each counted fully.
Polygons may overlap: the cell→polygon table keeps one row per (polygon, cell) pair, so
a cell shared by two sites counts for both.  A polygon that gets no cell (no cell centre
inside under the centre rule, or no area: a line or point) gets the one cell containing
its representative point (:func:`shapely.point_on_surface`), so every non-empty site
has a value.  Cells outside the DEM belong to polygons like any other cell; they have no
data and lower the site's ``dem_coverage``.

References
----------
.. [1] Horn, B.K.P. (1981). Hill shading and the reflectance map.
   Proceedings of the IEEE 69(1), 14-47.
.. [2] GDAL ``gdaldem`` documentation and ``apps/gdaldem_lib.cpp``
   (slope, aspect and hillshade algorithms, Horn variant).
.. [3] Franklin, W.R. and Ray, C. (1994). Higher isn't necessarily better:
   visibility algorithms and experiments.  Advances in GIS Research,
   6th Int. Symposium on Spatial Data Handling, 751-770 (the "R3" per-target
   line-of-sight viewshed).
"""

from __future__ import annotations

from .dem import (  # noqa: F401  (every public name, as before the split)
    Dem,
    read_dem,
    write_raster,
)
from .settings import (  # noqa: F401  (every public name, as before the split)
    DATA_FILE,
    LINE_OF_SIGHT_METHODS,
    ZONAL_COLUMNS,
    ZONAL_WEIGHTINGS,
    TerrainError,
    TerrainSettings,
    default_settings,
    load_settings,
)
from .surface import (  # noqa: F401  (every public name, as before the split)
    hillshade,
    slope_aspect,
)
from .visibility import (  # noqa: F401  (every public name, as before the split)
    VISIBILITY_LABEL,
    observer_cells,
    visibility_from_lines,
)
from .zonal import (  # noqa: F401  (every public name, as before the split)
    CellMap,
    polygon_cells,
    visible_share,
    zonal_terrain_stats,
)

