"""Normalise a layer once on the way in: one working CRS, valid 2-D geometries, no empties.

Everything downstream (screening, PV siting, maps) assumes this contract, so
repairs are made here and recorded: a planner must be able to see that feature
17 of the red-line file was self-intersecting and was repaired, and how.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely

from . import vertices
from .crs.area import area_distortion_warning
from .errors import InputFileError, SanxianWarning, problem
from .gcpause import collector_paused
from .parallel import chunked

GeometryFamily = Literal["polygon", "line", "point"]

_FAMILY_OF_TYPE = {
    "Polygon": "polygon", "MultiPolygon": "polygon",
    "LineString": "line", "MultiLineString": "line", "LinearRing": "line",
    "Point": "point", "MultiPoint": "point",
}
#: Family of each shapely type id, indexed by ``type_id + 1`` (-1 = missing geometry, 7 =
#: GeometryCollection: both "collection", i.e. not counted as a family).  Same mapping as
#: :data:`_FAMILY_OF_TYPE`, as an array so that a layer is classified without a Python loop.
_FAMILIES = ("polygon", "line", "point", "collection")
_FAMILY_CODE_OF_TYPE_ID = np.array([3,             # missing
                                    2, 1, 1, 0,    # Point, LineString, LinearRing, Polygon
                                    2, 1, 0,       # MultiPoint, MultiLineString, MultiPolygon
                                    3], dtype=np.int8)  # GeometryCollection
#: shapely type ids of the parts to keep from a GeometryCollection, per family.
_PART_TYPES = {"polygon": (3, 6), "line": (1, 5), "point": (0, 4)}
#: How many feature ids a repair record lists before it only counts.
MAX_IDS_LISTED = 20


@dataclass(frozen=True)
class Repair:
    """One kind of repair applied to some features of a layer.

    Attributes
    ----------
    kind : str
        ``"invalid_geometry"``, ``"empty_geometry"``, ``"z_dropped"``,
        ``"collection_parts_dropped"`` or ``"reprojected"``.
    count : int
        Number of features affected.
    feature_ids : tuple
        Source row ids (first :data:`MAX_IDS_LISTED`).
    detail : str
        Human-readable explanation (e.g. GEOS's reason for invalidity).
    """

    kind: str
    count: int
    feature_ids: tuple[Any, ...]
    detail: str

    def __str__(self) -> str:
        if not self.feature_ids:  # a repair of the whole layer (e.g. reprojection) lists no features
            return f"{self.kind}: {self.count} feature(s) — {self.detail}"
        ids = ", ".join(str(i) for i in self.feature_ids)
        more = "" if self.count <= len(self.feature_ids) else f" (+{self.count - len(self.feature_ids)} more)"
        return f"{self.kind}: {self.count} feature(s) [rows {ids}{more}] — {self.detail}"


def normalise(gdf: gpd.GeoDataFrame, target_crs: Any, *,
              expected: GeometryFamily | tuple[GeometryFamily, ...] | None = None,
              file: str | None = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Return a copy in ``target_crs`` with valid, non-empty, 2-D geometries.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer as read (must have a CRS).
    target_crs : str, int or pyproj.CRS
        Working CRS, e.g. ``"EPSG:4547"``.
    expected : {"polygon", "line", "point"} or tuple of them, optional
        Geometry family (or families) the layer may have.  Parts of other families that
        ``make_valid`` produces (e.g. a collapsed sliver line) are dropped and
        recorded; features of another family in the input are an error.
    file, layer : str, optional
        For messages.

    Returns
    -------
    geopandas.GeoDataFrame
        New frame with a ``src_fid`` column (row position in the source) and
        ``attrs["sanxian"]["repairs"]``: a list of :class:`Repair`.

    Raises
    ------
    InputFileError
        Mixed geometry families, or a family other than ``expected``.
    """
    return normalise_with_rings(gdf, target_crs, expected=expected, file=file, layer=layer)[0]


def normalise_with_rings(gdf: gpd.GeoDataFrame, target_crs: Any, *,
                         expected: GeometryFamily | tuple[GeometryFamily, ...] | None = None,
                         file: str | None = None,
                         layer: str | None = None) -> tuple[gpd.GeoDataFrame, PolygonRings | None]:
    """:func:`normalise`, also handing on the vertices its validity check extracted.

    Returns
    -------
    tuple
        The normalised frame and its :class:`PolygonRings` (row for row), or ``None`` when a repair or a
        reprojection changed geometries after they were extracted.  Later steps that need the vertices of
        the footprints (e.g. the roof orientation) use them instead of a second pass over the layer.
    """
    out = gdf.copy()
    out.attrs = {k: (dict(v) if isinstance(v, dict) else v) for k, v in gdf.attrs.items()}
    if "src_fid" not in out.columns:
        out["src_fid"] = np.arange(len(out))
    repairs: list[Repair] = []
    # The vertices read_vector extracted from these very geometries, if it did (None: extracted below).
    handed = vertices.take(np.asarray(out.geometry.values))
    simple = handed is not None and bool(handed.simple.all())
    # One pass each for the vertex counts (0: missing or empty) and the geometry types, shared by the empty
    # check, the family check and the vertex extraction of the validity check; a layer of polygons without
    # holes has both in the reader's vertices.
    num_coords = handed.counts if simple else shapely.get_num_coordinates(np.asarray(out.geometry.values))
    bad = num_coords == 0
    out = _drop_empty(out, repairs, bad=bad)
    if bad.any():
        num_coords = num_coords[~bad]
        handed = handed.take(~bad) if handed is not None else None
    type_ids = (np.full(len(out), 3, dtype=np.int32) if simple  # 3: GEOS' type id of a polygon
                else shapely.get_type_id(np.asarray(out.geometry.values)))
    allowed = (expected,) if isinstance(expected, str) else expected
    _check_families(out, allowed, file, layer, type_ids)
    if not (handed is not None and handed.planar):  # geometries decoded from 2-D WKB have no Z to drop
        out = _drop_z(out, repairs)  # keeps each geometry's type, vertex count and x/y
    repaired, extracted = _make_valid(out, repairs, type_ids, num_coords, handed)
    rings: PolygonRings | None = extracted if repaired is out else None
    if repaired is not out:  # only a repair can leave a geometry empty
        out = _drop_empty(repaired, repairs, after_repair=True)
    if out.crs is not None and not out.crs.equals(target_crs):
        rings = None  # the vertices move
        source = out.crs.to_string()
        with collector_paused():  # a new geometry object per feature: see sanxian_yidan.gcpause
            out = out.to_crs(target_crs)
        _check_reprojected(out, source, file, layer)
        distortion = area_distortion_warning(out)
        repairs.append(Repair("reprojected", len(out), (), f"{source} → {out.crs.to_string()}"
                              + (f"; {distortion}" if distortion else "")))
        if distortion:
            warnings.warn(f"{file or 'layer'}: {distortion}", SanxianWarning, stacklevel=2)
    out = out.reset_index(drop=True)
    meta = out.attrs.get("sanxian", {})
    out.attrs["sanxian"] = {**meta, "repairs": list(meta.get("repairs", [])) + repairs}
    return out, rings


def _check_reprojected(gdf: gpd.GeoDataFrame, source: str, file: str | None, layer: str | None) -> None:
    """Refuse features that PROJ could not transform (it returns infinity outside a projection's domain).

    E.g. latitude 90° in Web Mercator: the result would be drawn or measured as if it were a place.
    """
    coords, index = shapely.get_coordinates(np.asarray(gdf.geometry.values), return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if not bad.any():
        return
    rows = np.unique(index[bad])
    ids = gdf["src_fid"].to_numpy()[rows][:MAX_IDS_LISTED].tolist()
    raise InputFileError(problem(
        f"{rows.size} 个要素无法从 {source} 转换到 {gdf.crs.to_string()}（超出该投影的适用范围）。",
        f"{rows.size} feature(s) cannot be transformed from {source} to {gdf.crs.to_string()}: the projection gives "
        f"no finite coordinates there (outside its domain); source rows {ids}.",
        file=file, layer=layer, feature=f"row {ids[0]}",
        fix="check those features' coordinates (sign, hemisphere, degrees vs metres) or choose a working CRS "
            "that covers them"))


def _ids(frame: gpd.GeoDataFrame, mask: np.ndarray) -> tuple[Any, ...]:
    return tuple(frame["src_fid"].to_numpy()[mask][:MAX_IDS_LISTED].tolist())


def _drop_empty(gdf: gpd.GeoDataFrame, repairs: list[Repair], *, after_repair: bool = False,
                bad: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Drop missing and empty geometries (``bad``: that mask when already known), recording the repair."""
    if bad is None:
        geoms = gdf.geometry.values
        bad = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if bad.any():
        detail = ("geometry became empty after repair (degenerate); feature dropped" if after_repair
                  else "null or empty geometry; feature dropped")
        repairs.append(Repair("empty_geometry", int(bad.sum()), _ids(gdf, bad), detail))
        gdf = gdf[~bad]
    return gdf


def _family_codes(gdf: gpd.GeoDataFrame, type_ids: np.ndarray | None = None) -> np.ndarray:
    """Index into :data:`_FAMILIES` of each feature (vectorised ``shapely.get_type_id``, or ``type_ids`` given)."""
    type_ids = shapely.get_type_id(np.asarray(gdf.geometry.values)) if type_ids is None else type_ids
    return _FAMILY_CODE_OF_TYPE_ID[type_ids + 1]


def _family_counts(codes: np.ndarray) -> dict[str, int]:
    """Features per family present (collections and missing geometries not counted), by name."""
    counts = np.bincount(codes, minlength=len(_FAMILIES))
    return {_FAMILIES[i]: int(counts[i]) for i in range(len(_FAMILIES) - 1) if counts[i]}


def _check_families(gdf: gpd.GeoDataFrame, allowed: tuple[str, ...] | None, file: str | None,
                    layer: str | None, type_ids: np.ndarray | None = None) -> None:
    codes = _family_codes(gdf, type_ids)
    counts = dict(sorted(_family_counts(codes).items()))
    present = list(counts)
    if len(present) > 1:
        minority = min(counts, key=lambda family: counts[family])
        rows = gdf["src_fid"].to_numpy()[codes == _FAMILIES.index(minority)][:10].tolist()
        raise InputFileError(problem(
            "图层混合了不同的几何类型。",
            f"The layer mixes geometry types {counts}; e.g. {minority} features at rows {rows}.",
            file=file, layer=layer, fix="split the layer by geometry type (one layer per type) and re-export"))
    if allowed and present and present[0] not in allowed:
        raise InputFileError(problem(
            f"几何类型应为 {'/'.join(allowed)}，实际为 {present[0]}。",
            f"Expected {' or '.join(allowed)} geometries for this layer's role, found {present[0]}.",
            file=file, layer=layer, fix="check the catalog role or the file"))


def _drop_z(gdf: gpd.GeoDataFrame, repairs: list[Repair]) -> gpd.GeoDataFrame:
    # On the plain object array: a GeometryArray would go through pandas' extension-array ufunc dispatch.
    has_z = np.asarray(shapely.has_z(np.asarray(gdf.geometry.values)))
    if has_z.any():
        repairs.append(Repair("z_dropped", int(has_z.sum()), _ids(gdf, has_z), "Z coordinates removed (2-D analysis)"))
        gdf = gdf.copy()
        gdf.geometry = shapely.force_2d(gdf.geometry.values)
    return gdf


def _make_valid(gdf: gpd.GeoDataFrame, repairs: list[Repair], type_ids: np.ndarray | None = None,
                num_coords: np.ndarray | None = None,
                rings: PolygonRings | None = None) -> tuple[gpd.GeoDataFrame, PolygonRings]:
    """The frame with invalid geometries repaired (the same frame when none is), and the rings of the input.

    ``type_ids``, ``num_coords`` and ``rings`` are the geometries' ``shapely.get_type_id`` /
    ``get_num_coordinates`` / :func:`polygon_rings` when already computed.
    """
    geoms = gdf.geometry.values
    # The validity check is the costliest step of normalising a large layer: strictly convex single-ring polygons
    # (most building footprints) are valid by construction and recognised in numpy; GEOS checks the others,
    # on threads (it runs without the GIL).
    arr = np.asarray(geoms)
    rings = polygon_rings(arr, type_ids, num_coords) if rings is None else rings
    invalid = np.zeros(len(arr), dtype=bool)
    rest = np.flatnonzero(~strictly_convex_polygons(arr, rings))
    if rest.size:
        invalid[rest] = ~np.asarray(chunked(shapely.is_valid, (arr[rest],)))
    if not invalid.any():
        return gdf, rings
    sample = "; ".join(sorted(set(str(r) for r in shapely.is_valid_reason(geoms[invalid])[:MAX_IDS_LISTED])))
    fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    # Repair keeps the layer's own family: a polygon collapsing to a line is a sliver, not data.
    family = _dominant_family(gdf)
    fixed, dropped = _keep_family(fixed, family)
    new = np.array(geoms, dtype=object)
    new[invalid] = fixed
    gdf = gdf.copy()
    gdf.geometry = gpd.GeoSeries(new, index=gdf.index, crs=gdf.crs)
    repairs.append(Repair("invalid_geometry", int(invalid.sum()), _ids(gdf, invalid),
                          f"repaired with GEOS make_valid (structure method); reasons: {sample}"))
    if dropped.any():
        mask = invalid.copy()
        mask[invalid] = dropped
        repairs.append(Repair("collection_parts_dropped", int(dropped.sum()), _ids(gdf, mask),
                              f"parts that are not {family} (collapsed slivers) removed after repair"))
    return gdf, rings


#: Largest ring (distinct vertices) :func:`strictly_convex_polygons` checks in numpy; larger rings go to GEOS.
#: An algorithmic switch, not a planning parameter: the answer is the same either way.
_MAX_CONVEX_VERTICES = 16
#: Footprints per vectorised block of :func:`strictly_convex_polygons` (keeps the k x block arrays in the L2 cache).
_CONVEX_BLOCK = 4_096
#: A turn counts as strict when |sin| of the angle between consecutive edges exceeds this: far above the
#: rounding of metre coordinates (1e-16 relative), far below any real corner.
_STRICT_TURN_SIN = 1e-9


@dataclass(frozen=True)
class PolygonRings:
    """The single-ring polygons (``Polygon`` without holes) of a geometry array and their vertices.

    Extracted once (one GEOS pass over the layer) and shared by the steps that work on footprint vertices.

    Attributes
    ----------
    simple : numpy.ndarray of bool
        Per geometry: a polygon without holes.
    coords : numpy.ndarray of float, shape (v, 2)
        The vertices of the simple polygons, one after the other, each ring closed [CRS units].
    starts, counts : numpy.ndarray of int64
        Per geometry: its first vertex in ``coords`` and its vertex count (0 where not simple).
    planar : bool
        True when every geometry is known to be 2-D (decoded from 2-D WKB); False: not known.
    """

    simple: np.ndarray
    coords: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    planar: bool = False

    def take(self, rows: np.ndarray) -> PolygonRings:
        """The rings of the geometries ``rows`` (positions or a boolean mask), sharing the vertex array."""
        return PolygonRings(self.simple[rows], self.coords, self.starts[rows], self.counts[rows], self.planar)


def polygon_rings(geoms: np.ndarray, type_ids: np.ndarray | None = None,
                  num_coords: np.ndarray | None = None) -> PolygonRings:
    """:class:`PolygonRings` of a geometry array (vectorised shapely).

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
    type_ids, num_coords : numpy.ndarray of int, optional
        ``shapely.get_type_id(geoms)`` and ``shapely.get_num_coordinates(geoms)`` when already computed
        (each is a pass over the layer).

    Returns
    -------
    PolygonRings
    """
    type_ids = shapely.get_type_id(geoms) if type_ids is None else type_ids
    simple = (type_ids == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    candidates = np.flatnonzero(simple)
    starts = np.zeros(len(geoms), dtype=np.int64)
    counts = np.zeros(len(geoms), dtype=np.int64)
    if candidates.size == 0:
        return PolygonRings(simple, np.empty((0, 2)), starts, counts)
    # Every geometry a simple polygon (a footprint layer): no gathered copy of the array.
    sub = geoms if candidates.size == len(geoms) else geoms[candidates]
    counts[candidates] = shapely.get_num_coordinates(sub) if num_coords is None else num_coords[candidates]
    starts[candidates] = np.cumsum(counts[candidates]) - counts[candidates]
    return PolygonRings(simple, shapely.get_coordinates(sub), starts, counts)


def strictly_convex_polygons(geoms: np.ndarray, rings: PolygonRings | None = None) -> np.ndarray:
    """True for polygons without holes whose ring turns strictly one way once around (valid by construction).

    Such a ring is simple (a closed polyline whose every turn goes the same way and whose turns add up to
    one full turn cannot cross itself) and encloses a positive area, so GEOS would call the polygon valid;
    the test is vectorised over all polygons with the same vertex count.  ``False`` means "not known":
    concave, collinear or repeated vertices, holes, multipart, more than :data:`_MAX_CONVEX_VERTICES`
    vertices or non-finite coordinates — GEOS decides those.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
    rings : PolygonRings, optional
        ``polygon_rings(geoms)`` when already extracted.

    Returns
    -------
    numpy.ndarray of bool
    """
    known = np.zeros(len(geoms), dtype=bool)
    rings = polygon_rings(geoms) if rings is None else rings
    candidates = np.flatnonzero(rings.simple)
    if candidates.size == 0:
        return known
    starts = rings.starts[candidates]
    k = rings.counts[candidates] - 1  # closed rings repeat the first vertex
    for kk in np.unique(k[(k >= 3) & (k <= _MAX_CONVEX_VERTICES)]):  # a dozen vertex counts at most
        same_k = np.flatnonzero(k == kk)
        for first in range(0, len(same_k), _CONVEX_BLOCK):
            pos = same_k[first:first + _CONVEX_BLOCK]
            take = starts[pos][None, :] + np.arange(kk)[:, None]   # (k, m): vertex j of polygon i
            known[candidates[pos]] = _strictly_convex_rings(rings.coords[take, 0], rings.coords[take, 1])
    return known


def _strictly_convex_rings(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rings given as (k, m) vertex coordinates (without the closing vertex): strictly convex, turning once."""
    nxt = np.r_[1:len(x), 0]
    ex, ey = x[nxt] - x, y[nxt] - y
    cross = ex * ey[nxt] - ey * ex[nxt]
    length2 = ex * ex + ey * ey
    # Squared form of |cross| > sin_min |e_i| |e_i+1|.  A non-finite coordinate makes this False (NaN or
    # inf on both sides), so such rings are left to GEOS.
    strict = (cross * cross > _STRICT_TURN_SIN ** 2 * length2 * length2[nxt]).all(axis=0)
    ok = strict & ((cross > 0).all(axis=0) | (cross < 0).all(axis=0))
    if len(x) > 4:
        # Up to 4 vertices, turns all one way add up to one full turn; from 5 on, a star (pentagram) turns
        # twice: the turns of a simple ring add up to +-2 pi.
        dot = ex * ex[nxt] + ey * ey[nxt]
        ok &= np.abs(np.arctan2(cross, dot).sum(axis=0)) < 3.0 * np.pi
    return ok


def _dominant_family(gdf: gpd.GeoDataFrame) -> str:
    """The most frequent family (polygon when there is none; ties: polygon, line, point)."""
    counts = _family_counts(_family_codes(gdf))
    return max(counts, key=lambda f: (counts[f], -_FAMILIES.index(f)), default="polygon")


def _keep_family(geoms: np.ndarray, family: str) -> tuple[np.ndarray, np.ndarray]:
    """Keep only parts of ``family`` from GeometryCollections; flag where parts were dropped."""
    is_coll = np.asarray(shapely.get_type_id(geoms) == 7)
    dropped = np.zeros(len(geoms), dtype=bool)
    if not is_coll.any():
        return geoms, dropped
    out = np.array(geoms, dtype=object)
    parts, index = shapely.get_parts(geoms[is_coll], return_index=True)
    keep = np.isin(shapely.get_type_id(parts), _PART_TYPES[family])
    coll_positions = np.flatnonzero(is_coll)
    make_multi = {"polygon": shapely.multipolygons, "line": shapely.multilinestrings, "point": shapely.multipoints}
    # A collection with no part of the family becomes empty and is dropped later as such.
    result = np.full(is_coll.sum(), shapely.from_wkt("GEOMETRYCOLLECTION EMPTY"), dtype=object)
    if keep.any():
        make_multi[family](parts[keep], indices=index[keep], out=result)
    out[coll_positions] = result
    dropped[coll_positions[np.unique(index[~keep])]] = True
    return out, dropped
