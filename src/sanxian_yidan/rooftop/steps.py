"""The steps of :func:`sanxian_yidan.rooftop.rooftop_potential` on arrays: footprints, attribute classes,
exclusions, yield classes, township assignment, ranking and aggregation."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import solar as solar_mod
from ..errors import InputFileError, SanxianWarning, problem
from ..provenance import truthy_flags
from ..schemas import order

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..normalize import PolygonRings
    from ..provenance import CatalogLike
from .locate import PointGrid
from .params import RooftopParams
from .result import AGGREGATE_SUMS, TOTAL, UNASSIGNED

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------
# steps
# ------------------------------------------------------------------------------------------------
def default_working_crs() -> str:
    from .. import crs as crsmod

    return crsmod.WORKING_CRS


def load_catalog(catalog: Catalog | str | Path | None) -> Catalog | None:
    """The catalog to use: a :class:`Catalog` as given, a path loaded, ``None`` kept (no catalog).

    Raises
    ------
    CatalogError
        ``catalog`` is a path but not a valid catalog file (e.g. it does not exist).
    InputFileError
        ``catalog`` is of another type.
    """
    from ..catalog import Catalog

    if catalog is None or isinstance(catalog, Catalog):
        return catalog
    if isinstance(catalog, (str, Path)):
        return Catalog.load(catalog)
    raise InputFileError(problem("catalog 参数类型错误。",
                                 f"catalog must be a Catalog, a path or None, got {type(catalog).__name__}.",
                                 fix="pass Catalog.load('layers/catalog.toml') or its path"))


def prepare_footprints(buildings: gpd.GeoDataFrame,
                       working_crs: Any) -> tuple[gpd.GeoDataFrame, np.ndarray, list[Any], int]:
    """Normalise (reproject, repair) and drop footprints that are empty or of zero area.

    Returns the kept footprints, their area [m^2] (computed once, reused by every later step),
    the repairs made and the number of features dropped.
    """
    return prepare_footprints_and_rings(buildings, working_crs)[:4]


def prepare_footprints_and_rings(buildings: gpd.GeoDataFrame, working_crs: Any
                                 ) -> tuple[gpd.GeoDataFrame, np.ndarray, list[Any], int, PolygonRings | None]:
    """:func:`prepare_footprints`, also handing on the footprints' vertices that normalising extracted.

    The fifth value is the kept footprints' :class:`~sanxian_yidan.normalize.PolygonRings` (row for row),
    or ``None`` when a repair or a reprojection changed geometries after they were extracted.
    """
    from ..normalize import normalise_with_rings

    if not isinstance(buildings, gpd.GeoDataFrame):
        raise InputFileError(problem("建筑轮廓须为 GeoDataFrame。",
                                     f"buildings must be a GeoDataFrame, got {type(buildings).__name__}.",
                                     fix="read the file with sanxian_yidan.read_vector(...)"))
    if buildings.crs is None:
        raise InputFileError(problem("建筑轮廓没有坐标系。", "The building layer has no CRS.",
                                     fix="read it with read_vector(path, crs='EPSG:....')"))
    meta = buildings.attrs.get("sanxian", {})
    norm, rings = normalise_with_rings(buildings, working_crs, expected="polygon", file=meta.get("source_path"),
                                       layer=meta.get("layer"))
    repairs = list(norm.attrs["sanxian"]["repairs"])
    area = shapely.area(np.asarray(norm.geometry.array))
    zero = area <= 0.0
    if zero.any():
        norm = norm[~zero].reset_index(drop=True)
        area = area[~zero]
        rings = rings.take(~zero) if rings is not None else None
    return norm, area, repairs, len(buildings) - len(norm), rings


def _normalise_text(values: np.ndarray) -> np.ndarray:
    return np.array([str(v).strip().lower() for v in values], dtype=object)


# Status of a building's attribute after :func:`classify_attribute` (int8 codes, not per-row strings).
STATUS_MISSING, STATUS_UNMAPPED, STATUS_MAPPED = 0, 1, 2


@dataclass(frozen=True)
class _Classified:
    """Result of :func:`classify_attribute`.

    ``codes`` index the targets (-1 = none and no default); ``raw_codes`` index ``raw_values``
    (the original attribute value used, -1 = none); ``status`` holds STATUS_MISSING/STATUS_UNMAPPED/STATUS_MAPPED.
    ``raw_column`` names the column whose values are the original values row for row (one column present
    and none of its values a "missing" word), else ``None``.
    """

    codes: np.ndarray
    raw_codes: np.ndarray
    raw_values: list[Any]
    status: np.ndarray
    columns: list[str]
    unmapped_values: dict[str, int]
    raw_column: str | None = None


def classify_attribute(gdf: pd.DataFrame, columns: Sequence[str], mapping: Mapping[str, str], missing: frozenset[str],
              targets: list[str], default: str | None) -> _Classified:
    """Map attribute values of the first present columns to category codes (vectorised by unique value).

    Only the distinct values of each column are looked at in Python (``pd.factorize``); every
    per-building array is an integer code.  The first column with a mapped value wins; the original
    value kept is the first non-missing one, or the mapped one.
    """
    n = len(gdf)
    present = [c for c in columns if c in gdf.columns]
    target_index = {t: i for i, t in enumerate(targets)}
    codes = np.full(n, -1, dtype=np.int64)
    raw_codes = np.full(n, -1, dtype=np.int64)
    raw_lookup: dict[Any, int] = {}
    status = np.full(n, STATUS_MISSING, dtype=np.int8)
    raw_column = None
    for col in present:
        values, uniques = pd.factorize(gdf[col], use_na_sentinel=True)
        if len(uniques) == 0:
            continue
        originals = np.asarray(uniques, dtype=object)
        norm = _normalise_text(originals)
        u_code = np.array([target_index.get(mapping.get(v, ""), -1) for v in norm], dtype=np.int64)
        u_missing = np.array([v in missing for v in norm], dtype=bool)
        u_raw = np.array([raw_lookup.setdefault(v, len(raw_lookup)) for v in originals], dtype=np.int64)
        if (codes < 0).all() and (raw_codes < 0).all():
            # Nothing decided yet (the first column present): each row's code, original value and status
            # follow from its distinct value alone, so they are gathered from per-value tables (the last
            # entry serves the missing values, -1) instead of computed row by row.
            u_status = np.where(u_code >= 0, STATUS_MAPPED, np.where(u_missing, STATUS_MISSING, STATUS_UNMAPPED))
            codes = np.append(u_code, -1)[values]
            raw_codes = np.append(np.where(u_missing & (u_code < 0), -1, u_raw), -1)[values]
            status = np.append(u_status, STATUS_MISSING).astype(np.int8)[values]
            raw_column = col if len(present) == 1 and not (u_missing & (u_code < 0)).any() else None
            continue
        has = values >= 0
        safe = np.where(has, values, 0)
        row_code = np.where(has, u_code[safe], -1)
        row_missing = ~has | u_missing[safe]
        take = (codes < 0) & (row_code >= 0)
        codes[take] = row_code[take]
        status[take] = STATUS_MAPPED
        keep_raw = ((raw_codes < 0) & ~row_missing) | take
        raw_codes[keep_raw] = u_raw[values[keep_raw]]
        status[(status != STATUS_MAPPED) & ~row_missing & (row_code < 0)] = STATUS_UNMAPPED
    raw_values = list(raw_lookup)
    # A value unmapped in one column but mapped in a later one counts as mapped.
    unmapped: dict[str, int] = {}
    is_unmapped = status == STATUS_UNMAPPED
    if is_unmapped.any():
        counts = np.bincount(raw_codes[is_unmapped], minlength=len(raw_values))
        for value, count in zip(raw_values, counts):
            if count:
                unmapped[str(value)] = unmapped.get(str(value), 0) + int(count)
    if default is not None:
        codes[codes < 0] = target_index[default]
    by_count = dict(sorted(sorted(unmapped.items()), key=lambda kv: -kv[1]))  # most frequent first, then by name
    return _Classified(codes, raw_codes, raw_values, status, present, by_count, raw_column)


def raw_value_labels(gdf: pd.DataFrame, classified: _Classified) -> Any:
    """The original attribute value of each row (:func:`classify_attribute`), as :func:`code_labels` gives it.

    When one column holds them row for row and is already stored as :func:`code_labels` would store them
    (pandas' pyarrow strings), its array is shared instead of gathered anew: Arrow strings are immutable, and a
    million gathered labels cost tens of milliseconds and megabytes of fresh memory.
    """
    column = classified.raw_column
    if column is not None and _arrow_strings():
        array = gdf[column].array
        dtype = array.dtype
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and dtype.na_value is np.nan:
            return array.copy()  # a new array object over the same (immutable) Arrow buffers
    return code_labels(classified.raw_codes, classified.raw_values)


def code_labels(codes: np.ndarray, names: Sequence[Any]) -> Any:
    """``names[codes]`` per row (-1 = missing) as an array pandas stores without re-parsing strings.

    With pyarrow (pandas' default string storage) the strings are gathered by ``pyarrow.take``,
    which is far cheaper than building a million Python strings and converting them again.
    Non-string names (e.g. numeric use codes) give an object array, as before.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if all(isinstance(v, str) for v in names) and _arrow_strings():
        import pyarrow as pa
        import pyarrow.compute as pc

        missing = codes < 0
        # 32-bit indices when they fit: arrow's take runs about twice as fast on them as on 64-bit ones.
        index = codes.astype(np.int32) if len(names) < 2**31 else codes
        # From the system allocator: it reuses the memory the analysis has just freed, where Arrow's own pool
        # (mimalloc) takes fresh pages from the kernel, whose first touch costs more than the gather itself.
        taken = pc.take(pa.array(list(names), type=pa.large_string()),
                        pa.array(index, mask=missing) if missing.any() else pa.array(index),
                        memory_pool=pa.system_memory_pool())
        return pd.array(taken, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    lookup = np.empty(len(names) + 1, dtype=object)
    lookup[:-1] = list(names)
    lookup[-1] = None
    return lookup[np.where(codes < 0, len(names), codes)]


def _arrow_strings() -> bool:
    """True when pandas' default string dtype is stored in pyarrow (pyarrow installed)."""
    dtype = pd.Series(["a"]).dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


#: Why an exclusion role of ``[exclusions] roles`` was not applied (``summary["exclusions_not_applied"]``).
NOT_APPLIED_MISSING = "layer missing from the catalog"
NOT_APPLIED_NO_CATALOG = "no catalog given"
#: ``excluded_reason`` of a building outside the catalog's data coverage.
OUTSIDE_COVERAGE = "outside_coverage"


def exclusion_reasons(gdf: gpd.GeoDataFrame, geoms: np.ndarray, area: np.ndarray, p: RooftopParams,
                      cat: CatalogLike | None, extra: Mapping[str, gpd.GeoDataFrame] | None,
                      centres: PointGrid | tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[np.ndarray, list[str], dict[str, int], dict[str, str]]:
    """Reason each building is excluded: codes into the returned names (0 = "" = included).

    A building outside the catalog's data coverage (:func:`_outside_coverage`) is excluded first
    (``outside_coverage``: its exclusion layers are unknown there, and a
    :class:`~sanxian_yidan.errors.SanxianWarning` says how many); then the first matching layer
    wins, then the minimum footprint area.  Also returns the count per reason and, for each
    exclusion role that could not be applied, why (never silently skipped).

    Raises
    ------
    InputFileError
        An extra exclusion layer that is not a GeoDataFrame or has no CRS (its coordinates
        cannot be related to the buildings').
    """
    extra = dict(extra or {})
    for name, layer in extra.items():
        _check_extra_exclusion(name, layer)
    reason = np.zeros(len(gdf), dtype=np.int16)
    names: list[str] = [""]
    stats: dict[str, int] = {}
    # A roof outside the catalog's data coverage has unknown exclusions: it is excluded, and counted.
    outside = _outside_coverage(gdf, geoms, cat, centres)
    if outside is not None:
        names.append(OUTSIDE_COVERAGE)
        reason[outside] = 1
        stats[OUTSIDE_COVERAGE] = int(outside.sum())
        if outside.any():
            msg = (f"{int(outside.sum())} 栋建筑在图层目录的数据范围（行政区界）之外，排除图层无法核查，不计入潜力 / "
                   f"{int(outside.sum())} building(s) lie outside the catalog's data coverage (its admin_boundary): "
                   f"their exclusion layers are unknown, so they are excluded (excluded_reason = {OUTSIDE_COVERAGE})")
            warnings.warn(msg, SanxianWarning, stacklevel=3)
    layers: list[tuple[str, gpd.GeoDataFrame]] = []
    not_applied: dict[str, str] = {}
    for role in p.exclusions.roles:
        if cat is not None and cat.has(role):
            layers.append((role, cat.read(role)))
        elif role not in extra:
            not_applied[role] = NOT_APPLIED_MISSING if cat is not None else NOT_APPLIED_NO_CATALOG
    if not_applied:
        logger.warning("exclusion layers not applied: %s", not_applied)
    layers += extra.items()

    def code_of(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    applied = [layer for _, layer in layers if layer is not None and len(layer) > 0]
    first = _first_layer_hit(geoms, [layer.to_crs(gdf.crs) if not layer.crs.equals(gdf.crs) else layer
                                     for layer in applied])
    position = -1
    for name, layer in layers:
        if layer is None or len(layer) == 0:
            stats.setdefault(name, 0)
            continue
        position += 1
        new = (first == position) & (reason == 0)
        reason[new] = code_of(name)
        # A catalog layer and an extra layer may share a name (role): their counts add up.
        stats[name] = stats.get(name, 0) + int(new.sum())
    small = (area < p.exclusions.min_footprint_area_m2) & (reason == 0)
    reason[small] = code_of("min_area")
    stats["min_area"] = int(small.sum())
    return reason, names, stats, not_applied


def _first_layer_hit(geoms: np.ndarray, layers: Sequence[gpd.GeoDataFrame]) -> np.ndarray:
    """Position of the first layer with a polygon intersecting each footprint (``len(layers)``: none).

    All layers share one spatial index, so the footprints are looked up once, not once per layer.
    """
    first = np.full(len(geoms), len(layers), dtype=np.int64)
    if not layers:
        return first
    polys = np.concatenate([np.asarray(layer.geometry.array) for layer in layers])
    position = np.repeat(np.arange(len(layers)), [len(layer) for layer in layers])
    # Candidates by bounding box, then one intersects test per candidate pair with the layer polygons
    # prepared: far cheaper than the tree's own predicate, which prepares each footprint instead.
    building, poly = shapely.STRtree(polys).query(geoms)
    shapely.prepare(polys)
    hit = shapely.intersects(polys[poly], geoms[building])
    np.minimum.at(first, building[hit], position[poly[hit]])
    return first


def _outside_coverage(gdf: gpd.GeoDataFrame, geoms: np.ndarray, cat: CatalogLike | None,
                      centres: PointGrid | tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
    """Buildings whose bounding-box centre lies outside the catalog's data coverage (``None``: unknown).

    The coverage is the union of the whole catalog's admin_boundary features (a county view's
    zoning layers are whole, so they cover the neighbouring counties too).  One prepared,
    vectorised point-in-polygon test.
    """
    if cat is None or not cat.has("admin_boundary"):
        return None
    coverage = cat.unrestricted().coverage()
    if coverage is None:
        return None
    cov = gpd.GeoSeries([coverage], crs=cat.working_crs)
    if gdf.crs is not None and not cov.crs.equals(gdf.crs):
        cov = cov.to_crs(gdf.crs)
    return _point_grid(centres, geoms).first_containing(np.asarray(cov.geometry.array)) < 0


def _point_grid(centres: PointGrid | tuple[np.ndarray, np.ndarray] | None, geoms: np.ndarray) -> PointGrid:
    """The footprints' bounding-box centres on a lookup grid (built once when the caller shares it)."""
    if isinstance(centres, PointGrid):
        return centres
    return PointGrid(*(centres if centres is not None else bbox_centres(geoms)))


def bbox_centres(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre of each footprint's bounding box [CRS units]: cheaper than the centroid, inside any compact footprint."""
    return centres_and_extent(geoms)[0]


def centres_and_extent(geoms: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """:func:`bbox_centres` and the layer's extent (``total_bounds``: xmin, ymin, xmax, ymax) from one bounds pass.

    The extent places the yield site (:func:`yield_site`); computing it from the same per-footprint bounds
    spares a second GEOS pass over the layer.  Missing geometries have NaN bounds and are skipped, as in
    ``GeoSeries.total_bounds``.
    """
    bounds = shapely.bounds(geoms)
    centres = ((bounds[:, 0] + bounds[:, 2]) / 2.0, (bounds[:, 1] + bounds[:, 3]) / 2.0)
    if len(bounds) == 0:
        return centres, np.full(4, np.nan)
    with warnings.catch_warnings():  # all-NaN columns (no geometry): NaN, without numpy's warning
        warnings.simplefilter("ignore", RuntimeWarning)
        extent = np.array([np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1]),
                           np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])])
    return centres, extent


def _check_extra_exclusion(name: str, layer: Any) -> None:
    if layer is None:
        return
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputFileError(problem(f"排除图层 '{name}' 须为 GeoDataFrame。",
                                     f"Exclusion layer '{name}' must be a GeoDataFrame, got {type(layer).__name__}.",
                                     layer=name, fix="read it with sanxian_yidan.read_vector(path)"))
    if layer.crs is None:
        raise InputFileError(problem(f"排除图层 '{name}' 没有坐标系，无法与建筑轮廓叠加。",
                                     f"Exclusion layer '{name}' has no CRS, so it cannot be overlaid on the "
                                     "buildings (its coordinates would be taken as the buildings' CRS).",
                                     layer=name, fix=f"set its CRS first, e.g. exclusions={{'{name}': "
                                                     "gdf.set_crs('EPSG:4547')}, or read it with "
                                                     "read_vector(path, crs='EPSG:....')"))


def yield_site(gdf: gpd.GeoDataFrame, lon: float | None, lat: float | None,
               extent: np.ndarray | None = None) -> tuple[float, float]:
    """Site of the yield computation (lon, lat [deg], 4 decimals): as given, else the centre of the extent.

    ``extent`` is ``gdf.total_bounds`` when already computed (:func:`centres_and_extent`).
    """
    if lon is not None and lat is not None:
        return float(lon), float(lat)
    x0, y0, x1, y1 = gdf.total_bounds if extent is None else extent
    clon, clat = _to_lonlat(gdf.crs.to_wkt()).transform((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    return round(float(clon), 4), round(float(clat), 4)


@lru_cache(maxsize=8)
def _to_lonlat(crs_wkt: str) -> Any:
    """Transformer from the CRS (WKT) to longitude/latitude on the CRS's own datum, built once per CRS.

    The yield site only places the sun: a datum shift (CGCS2000, WGS84, Xi'an 1980 and Beijing 1954 differ
    by at most a few hundred metres) does not change it, while a transformer to WGS84 searches the PROJ
    database for the best operation (about 0.1 s, more than the yield step's own arithmetic).  pyproj >= 3.1
    transformers are thread-safe.
    """
    from pyproj import CRS, Transformer

    crs = CRS.from_wkt(crs_wkt)
    return Transformer.from_crs(crs, crs.geodetic_crs or "EPSG:4326", always_xy=True)


def yield_class_table(site: tuple[float, float], tilt_class: np.ndarray, azimuth: np.ndarray,
                   solar_params: solar_mod.SolarParams | None,
                   weather: solar_mod.Weather | str | Path | pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct (tilt, azimuth) classes, their yield (computed once each) and each building's class."""
    # One 1-D key per (tilt, azimuth) pair (azimuth < 360 < 1000): far faster than a row-wise unique.
    key_tilt = np.where(np.isnan(tilt_class), -1.0, tilt_class)
    # Hashing (factorize) then sorting the few distinct keys: same classes and order as np.unique, without
    # sorting a million keys.
    codes, keys = pd.factorize(key_tilt * 1000.0 + azimuth)
    sorter = np.argsort(keys)
    uniq = keys[sorter]
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[sorter] = np.arange(len(keys))
    inverse = inverse[codes]
    tilt_u = np.floor((uniq + 1000.0) / 1000.0) - 1.0
    az_u = np.round(uniq - tilt_u * 1000.0, 9)
    tilts = np.where(tilt_u < 0, np.nan, tilt_u)
    table = solar_mod.yield_table(site[0], site[1], tilts, az_u, weather=weather, params=solar_params)
    # yield_table sorts its rows; align them with np.unique's order.
    merged = pd.DataFrame({"tilt_class_deg": tilts, "azimuth_deg": az_u}).merge(
        table, on=["tilt_class_deg", "azimuth_deg"], how="left")
    merged.attrs = table.attrs
    return merged, inverse.ravel()


@dataclass(frozen=True)
class _Areas:
    """Township and county of each building as codes into sorted name lists (:func:`assign_areas`)."""

    town_codes: np.ndarray
    town_names: list[str]
    county_codes: np.ndarray
    county_names: list[str]
    source: str


def assign_areas(gdf: gpd.GeoDataFrame, geoms: np.ndarray, cat: CatalogLike | None, townships: gpd.GeoDataFrame | None,
                  working_crs: Any, centres: PointGrid | tuple[np.ndarray, np.ndarray] | None = None) -> _Areas:
    """Township and county of each building (by its bounding-box centre, :func:`.locate.first_containing`).

    Names are returned once (sorted, so that grouping on the codes orders rows like grouping on
    the names) with one integer code per building.
    """
    n = len(gdf)
    layer, source = townships, "townships given"
    if layer is None and cat is not None and cat.has("township"):
        layer, source = cat.read("township"), "catalog role 'township'"
    county_only = False
    if layer is None and cat is not None and cat.has("admin_boundary"):
        layer, source, county_only = cat.read("admin_boundary"), "catalog role 'admin_boundary' (counties)", True
    if layer is None or len(layer) == 0:
        return _Areas(np.zeros(n, dtype=np.int64), [UNASSIGNED], np.zeros(n, dtype=np.int64), [UNASSIGNED], "none")
    if layer.crs is not None and not layer.crs.equals(gdf.crs):
        layer = layer.to_crs(gdf.crs)
    from ..placenames import display_names

    names = display_names(layer)
    counties = (names if county_only else
                layer["county"].astype(str).to_numpy(dtype=object) if "county" in layer.columns
                else np.full(len(layer), UNASSIGNED, dtype=object))
    towns = np.full(len(layer), "", dtype=object) if county_only else names
    # One exact point-in-polygon answer per building (bounding-box centre); on a shared border the first
    # polygon (lowest index) keeps the building.
    first = _point_grid(centres, geoms).first_containing(np.asarray(layer.geometry.array))
    # Polygon index -> name code; the extra last slot is "unassigned".
    polygon = np.where(first >= 0, first, len(layer))
    town_codes, town_names = _codes_for(np.append(towns, UNASSIGNED), polygon)
    county_codes, county_names = _codes_for(np.append(counties, UNASSIGNED), polygon)
    return _Areas(town_codes, town_names, county_codes, county_names, source)


def _codes_for(labels_per_polygon: np.ndarray, polygon: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes into the sorted distinct labels, per building, from each building's polygon index."""
    used = np.flatnonzero(np.bincount(polygon, minlength=len(labels_per_polygon)))
    names = sorted({str(labels_per_polygon[i]) for i in used})
    lookup = {name: j for j, name in enumerate(names)}
    polygon_code = np.array([lookup.get(str(v), -1) for v in labels_per_polygon], dtype=np.int64)  # tens of polygons
    return polygon_code[polygon], names


def rank_by_energy(annual_kwh: np.ndarray, capacity: np.ndarray, included: np.ndarray) -> np.ndarray:
    """1 = largest annual energy among included roofs with capacity; 0 for the others."""
    eligible = np.flatnonzero(included & (capacity > 0))
    energy = annual_kwh[eligible]
    order = np.argsort(-energy)
    ranked = energy[order]
    if (ranked[1:] == ranked[:-1]).any() or np.isnan(ranked).any():
        # Ties in energy (or NaN): larger capacity first, then input order (a plain sort leaves ties in any order).
        order = np.lexsort((eligible, -capacity[eligible], -energy))
    order = eligible[order]
    rank = np.zeros(len(annual_kwh), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank


def assemble_buildings(gdf: gpd.GeoDataFrame, columns: dict[str, Any]) -> gpd.GeoDataFrame:
    extra = [c for c in gdf.columns if c not in columns and c != gdf.geometry.name]
    data = {name: columns[name] for name in order("rooftop_buildings", columns)}   # data/tables.toml
    data["synthetic"] = (truthy_flags(gdf["synthetic"].to_numpy()) if "synthetic" in gdf.columns
                         else np.zeros(len(gdf), dtype=bool))
    # Input attributes keep their own arrays (no round trip through Python objects), and the columns
    # are not consolidated into one block (copy=False, geometry passed by name): a million-row frame
    # is built without copying its data.
    data.update({c: gdf[c].array for c in extra})
    data["geometry"] = gdf.geometry.values
    frame = pd.DataFrame(data, index=gdf.index, copy=False)
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=gdf.crs, copy=False)
    out.attrs = {"sanxian": dict(gdf.attrs.get("sanxian", {}))}
    return out


def aggregate_tables(keys: Mapping[str, pd.Categorical], values: Mapping[str, np.ndarray],
               p: RooftopParams) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per township, per county (+ total) and per county x category sums.

    One pass over the buildings (``np.bincount`` per quantity on the finest grouping, county x township x
    use category); the three tables are sums of those few rows.  The (small) result tables get plain string
    keys, sorted by name.
    """
    columns = {"n_buildings": np.ones(len(values["capacity_kwp"]), dtype=np.int64), **values}
    columns["gap_kwp"] = columns["capacity_kwp"] - columns["policy_target_kwp"]
    sums = ["n_buildings", "n_included", *AGGREGATE_SUMS]
    sizes = {k: len(key.categories) for k, key in keys.items()}
    fine = _group_sums({k: keys[k].codes for k in ("county", "township", "use_category")}, sizes, columns,
                       [*sums, "synthetic"])

    def group(by: list[str]) -> pd.DataFrame:
        part = _group_sums({k: fine[k] for k in by}, sizes, fine, [*sums, "synthetic"])
        table = {k: pd.Series(np.asarray(keys[k].categories, dtype=object)[part[k]]).astype(str) for k in by}
        for name in sums:
            table[name] = part[name].astype(columns[name].dtype) if columns[name].dtype.kind in "iub" else part[name]
        table["synthetic"] = part["synthetic"] > 0
        return pd.DataFrame(table).sort_values(by, kind="stable").reset_index(drop=True)

    towns = group(["county", "township"])
    towns["rank"] = towns["capacity_kwp"].rank(ascending=False, method="first").astype(np.int64)
    counties = group(["county"])
    counties["rank"] = counties["capacity_kwp"].rank(ascending=False, method="first").astype(np.int64)
    total = pd.DataFrame({"county": [TOTAL], **{c: [columns[c].sum()] for c in sums},
                          "synthetic": [bool(columns["synthetic"].any())], "rank": [0]})
    counties = pd.concat([counties, total.astype(counties.dtypes.to_dict())], ignore_index=True)
    cats = group(["county", "use_category"])
    cats["pilot_share"] = cats["use_category"].map({c.id: c.pilot_share for c in p.categories.values()})
    cats["category_zh"] = cats["use_category"].map({c.id: c.zh for c in p.categories.values()})
    return towns, counties, cats


def _group_sums(codes: Mapping[str, np.ndarray], sizes: Mapping[str, int], columns: Mapping[str, np.ndarray],
                sums: Sequence[str]) -> dict[str, np.ndarray]:
    """Sums of ``sums`` per observed combination of the keys (one ``np.bincount`` per quantity).

    ``codes[key]`` holds each row's code of the key (0 <= code < ``sizes[key]``).  Returns, for each
    combination with ``columns["n_buildings"] > 0`` (in code order: the keys' category order), each
    key's code under the key's name and the (float) sums under theirs — a result that can itself be
    summed again over fewer keys.
    """
    combined = np.zeros(len(columns["n_buildings"]), dtype=np.int64)
    for key, code in codes.items():
        combined = combined * sizes[key] + np.asarray(code, dtype=np.int64)
    total = int(np.prod([sizes[key] for key in codes]))
    out = {name: np.bincount(combined, weights=columns[name], minlength=total) for name in sums}
    seen = np.flatnonzero(out["n_buildings"] > 0)
    out = {name: value[seen] for name, value in out.items()}
    rest = seen
    for key in reversed(list(codes)):  # combination -> each key's code, last key first
        rest, out[key] = np.divmod(rest, sizes[key])
    return out
