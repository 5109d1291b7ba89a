"""Screening inputs: the proposed projects (read, normalised, typed) and the catalog layers they are screened against."""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from .. import crs as crsmod
from ..catalog import Catalog, LayerEntry
from ..conditions import Condition
from ..crs.plausibility import point_typos
from ..errors import CRSError, EmptyLayerError, InputFileError, problem
from ..industries import check_project_type, lookup, project_types, type_for_industry
from ..io.vector import WEB_MAP_CRS, read_vector
from ..normalize import GeometryFamily, normalise
from ..rules import Rule
from . import overlay
from .overlay import mean_width, overlay_pieces
from .result import clean_value
from .settings import ScreeningSettings

__all__ = ["LAT_LIMIT_DEG", "LON_LIMIT_DEG", "Layer", "Pieces", "Projects", "check_radius", "find_column", "load_layer",
           "pieces_for", "prepare_projects", "read_projects", "where_mask"]

#: Longitudes lie within ±180°, latitudes within ±90° (the definition of geographic coordinates).
LON_LIMIT_DEG, LAT_LIMIT_DEG = 180.0, 90.0


# ============================================================================================== projects
@dataclass
class Projects:
    frame: gpd.GeoDataFrame            # normalised input (working CRS), original geometry
    footprints: np.ndarray             # polygons
    area: np.ndarray                   # [m²]
    ids: np.ndarray                    # str
    names: np.ndarray
    industry: list[str | None]
    industry_name: list[str | None]
    project_type: list[str | None]
    two_high: list[bool | None]
    footprint_kind: np.ndarray
    repairs: list[Any]
    source: str
    id_text: pd.Series                 # ids as text: taking from it is cheaper than converting ids[...] each time
    group: np.ndarray                  # index of the project's distinct (industry, type) pair
    group_attributes: tuple[list[Any], list[Any], list[Any]]   # industry, type, 两高 of each pair
    raw_points: gpd.GeoSeries | None = None   # a point on each of the first projects, in the stated CRS

    @cached_property
    def attrs(self) -> pd.DataFrame:
        """Project attributes for ``attribute_test`` rules: the input columns plus the resolved ``industry``,
        ``project_type``, ``two_high`` and ``area_m2`` (built on first use: most rule sets test none)."""
        # Built from one dict: dropping columns from the GeoDataFrame re-checks its geometry, and setting
        # columns one by one copies the frame each time.
        skip = {self.frame.active_geometry_name, "_row"}
        data: dict[str, Any] = {name: col.array for name, col in pd.DataFrame(self.frame).items() if name not in skip}
        data.update({"industry": self.industry, "project_type": self.project_type, "two_high": self.two_high,
                     "area_m2": self.area})
        return pd.DataFrame(data)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index of the footprints, shared by the layers queried feature by feature."""
        return shapely.STRtree(self.footprints)

    def applicability(self, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
        """``rule.applies_to.evaluate`` over the projects, evaluated once per distinct (industry, type)."""
        applies, undetermined = rule.applies_to.evaluate(*self.group_attributes)
        return applies[self.group], undetermined[self.group]


def find_column(frame: pd.DataFrame, names: Iterable[str]) -> str | None:
    geometry = getattr(frame, "active_geometry_name", None)      # without building the geometry column
    lower = {str(c).lower(): c for c in frame.columns if c != geometry}
    return next((lower[name.lower()] for name in names if name.lower() in lower), None)


def _feature_labels(frame: pd.DataFrame, settings: ScreeningSettings) -> list[str]:
    col = find_column(frame, settings.columns["id"])
    if col is not None:
        return [f"{col}={v!r} (row {i + 1})" for i, v in enumerate(frame[col].tolist())]
    return [f"row {i + 1}" for i in range(len(frame))]


def _web_map_to_wgs84(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    to_wgs = crsmod.gcj02_to_wgs84 if system == "gcj02" else crsmod.bd09_to_wgs84

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = gdf.set_crs("EPSG:4326", allow_override=True)    # a copy
    out.geometry = shapely.transform(gdf.geometry.values, convert)
    return out


def _guessed_crs_problem(meta: Mapping[str, Any], reason: str, path: Any, layer: str | None) -> str:
    """Why a project file without a CRS is refused, worded for degrees or for metres."""
    guess = str(meta.get("crs"))
    try:
        geographic = CRS.from_user_input(guess).is_geographic
    except Exception:  # noqa: BLE001 - an unparsable guess is treated like degrees
        geographic = True
    if geographic:
        why = ("WGS84, CGCS2000 and GCJ-02 (Amap) coordinates of Suizhou look alike and lie up to 600 m apart")
        fix = ("state the CRS: sanxian screen --crs EPSG:4326 (screen(..., crs='EPSG:4326')) for GPS or 天地图 "
               "coordinates, --crs GCJ-02 for Amap/Tencent, --crs BD-09 for Baidu; or export the file with its .prj")
    else:
        why = ("the same Gauss-Krüger numbers are used on several datums (CGCS2000, Xi'an 1980, Beijing 1954) and by "
               "other projections, and only the file's producer knows which one")
        fix = (f"state the CRS: sanxian screen --crs {guess} (screen(..., crs='{guess}')) if the data are CGCS2000, "
               "or the EPSG code of their datum and zone; or export the file with its .prj")
    return problem("项目文件没有坐标系信息；研判结论不能建立在推测的坐标系上。",
                   f"The project file has no CRS. The coordinates look like {guess} ({reason}), but {why}, "
                   "so screening refuses to guess.", file=path, layer=layer, fix=fix)


def read_projects(path: str | Path, *, crs: Any = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a project file for screening (any format :func:`~sanxian_yidan.io.read_vector` reads).

    A CRS the reader could only guess is refused: a screening verdict must not rest on a guess.  The
    frame's ``attrs["sanxian"]`` keep the file (``source_path``, named in later messages) and the CRS stated
    (``crs_stated``, recorded in the result's parameters).

    Parameters
    ----------
    path : str or Path
        Project file.
    crs : optional
        CRS of the coordinates when the file has none (EPSG code, ``"GCJ-02"``, ``"BD-09"``).
    layer : str, optional
        Layer of a multi-layer file.

    Raises
    ------
    CRSError
        The file has no CRS and none is stated.
    """
    path = Path(path)
    raw = read_vector(path, layer=layer, crs=crs)
    meta = raw.attrs.get("sanxian", {})
    reason = str(meta.get("crs_reason", ""))
    if reason.startswith("inferred"):
        raise CRSError(_guessed_crs_problem(meta, reason, path, layer))
    raw.attrs.setdefault("sanxian", {})["crs_stated"] = None if crs is None else str(crs)
    return raw


def _read_projects(projects: Any, crs: Any, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(projects, (str, Path)):
        return read_projects(projects, crs=crs, layer=layer), str(projects)
    if isinstance(projects, gpd.GeoDataFrame):
        raw = projects
        # A frame read by read_projects keeps its file's name for the messages below.
        read_from = str(projects.attrs.get("sanxian", {}).get("source_path") or "<GeoDataFrame>")
        if crs is not None:
            key = str(crs).strip().upper()
            if key in WEB_MAP_CRS:
                if raw.crs is not None and not raw.crs.is_geographic:
                    raise CRSError(problem("GCJ-02/BD-09 只适用于经纬度坐标。",
                                           f"{crs} applies to longitude/latitude, but the frame is in {raw.crs}.",
                                           fix="omit crs= or give the frame's projected CRS"))
                raw = _web_map_to_wgs84(raw, WEB_MAP_CRS[key])
            elif raw.crs is None:
                raw = raw.set_crs(crs)
            elif not raw.crs.equals(CRS.from_user_input(crs)):
                warnings.warn(f"projects declare {raw.crs.to_string()} but crs={crs!r} was stated; using the "
                              "stated CRS", stacklevel=3)
                raw = raw.set_crs(crs, allow_override=True)
        elif raw.crs is None:
            raise CRSError(problem("项目数据没有坐标系。", "The projects GeoDataFrame has no CRS.",
                                   fix="set it (gdf.set_crs('EPSG:4547')) or pass crs='EPSG:4326' / 'GCJ-02'"))
        return raw, read_from
    raise InputFileError(problem("不支持的项目输入类型。", f"Projects must be a file path or a GeoDataFrame, got "
                                 f"{type(projects).__name__}.", fix="pass a path or a GeoDataFrame"))


def prepare_projects(projects: Any, working_crs: str, settings: ScreeningSettings, *, crs: Any,
                     layer: str | None, radius_m: float, industry: str | None,
                     project_type: str | None, sliver_m2: float = 0.0) -> Projects:
    raw, source = _read_projects(projects, crs, layer)
    file = None if source.startswith("<") else source
    if len(raw) == 0:
        raise EmptyLayerError(problem("项目图层没有要素。", "The project layer has no features.", file=file,
                                      fix="give at least one project"))
    geoms = raw.geometry.values
    empty = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if empty.any():
        labels = _feature_labels(raw, settings)           # texts for the error only
        bad = [labels[i] for i in np.flatnonzero(empty)]
        raise InputFileError(problem(
            f"{len(bad)} 个项目的几何为空，无法研判。",
            f"{len(bad)} project(s) have an empty geometry: {', '.join(bad[:10])}"
            + (" …" if len(bad) > 10 else "") + ".", file=file, layer=layer,
            feature=bad[0], fix="draw the project's location (point, line or polygon) or remove the row"))
    _check_raw_coordinates(raw, settings, file=file, layer=layer)
    frame = raw.copy()
    frame["_row"] = np.arange(len(frame))
    norm, repairs = _normalise_by_family(frame, working_crs, file=file, layer=layer)
    norm = _without_attrs(norm)                       # the repairs are taken; the metadata is not needed
    if len(norm) < len(raw):
        lost = sorted(set(range(len(raw))) - set(norm["_row"].tolist()))
        labels = _feature_labels(raw, settings)
        bad = [labels[i] for i in lost]
        raise InputFileError(problem(
            f"{len(bad)} 个项目的几何退化（面积为零），修复后为空。",
            f"{len(bad)} project geometry(ies) are degenerate (e.g. a polygon with zero area) and became empty "
            f"when repaired: {', '.join(bad[:10])}.", file=file, layer=layer, feature=bad[0],
            fix="correct the coordinates of these projects"))
    # -- ids and names
    id_col = find_column(norm, settings.columns["id"])
    texts = _stripped_texts(norm[id_col]) if id_col is not None else [""] * len(norm)
    ids = np.array([v or f"P{r + 1}" for v, r in zip(texts, norm["_row"].tolist())], dtype=object)
    id_text = pd.Series(ids)
    dup = id_text.duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputFileError(problem(
            "项目编号重复。", f"Project ids must be unique; repeated: {sorted(set(ids[dup].tolist()))[:10]}.",
            file=file, layer=layer, fix=f"give each project its own id (column '{id_col}')"))
    name_col = find_column(norm, settings.columns["name"])
    names = np.array([clean_value(v) for v in norm[name_col].tolist()] if name_col else [None] * len(norm),
                     dtype=object)
    # -- footprints
    check_radius(radius_m, settings)
    g = norm.geometry.values
    tid = shapely.get_type_id(g)
    is_poly = np.isin(tid, (3, 6))
    is_point = np.isin(tid, (0, 4))
    footprints = np.array(g, dtype=object)
    footprints[~is_poly] = shapely.buffer(g[~is_poly], radius_m, quad_segs=settings.quad_segs)
    kind = np.where(is_poly, "polygon", np.where(is_point, f"point buffered {radius_m:g} m",
                                                   f"line buffered ±{radius_m:g} m"))
    area = shapely.area(footprints)
    _check_footprints(footprints, area, is_poly, raw, norm, working_crs, settings, sliver_m2=sliver_m2,
                      radius_m=radius_m, file=file, layer=layer)
    # -- industry, type, 两高
    ind_col = find_column(norm, settings.columns["industry"])
    type_col = find_column(norm, settings.columns["project_type"])
    ind_vals = norm[ind_col].tolist() if ind_col else [None] * len(norm)
    type_vals = norm[type_col].tolist() if type_col else [None] * len(norm)
    ind_keys, ind_codes = _attribute_keys(norm[ind_col] if ind_col else None, len(norm))
    type_keys, type_codes = _attribute_keys(norm[type_col] if type_col else None, len(norm))
    types_vocab = project_types()
    default_type = check_project_type(project_type) if project_type is not None else None
    default_ind = lookup(industry, warn=True) if industry is not None else None
    # Each distinct (industry, type) pair is resolved once, in order of first appearance, so that an error
    # names the first project that has it.
    pair = ind_codes.astype(np.int64) * len(type_keys) + type_codes
    _, first, group = np.unique(pair, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    group_values = np.empty((len(first), 4), dtype=object)     # industry code, name, type, 两高 per pair
    resolved: dict[tuple[str, str], tuple[str | None, str | None, str | None, bool | None]] = {}
    for g in np.argsort(first, kind="stable").tolist():
        i = int(first[g])
        key = (ind_keys[ind_codes[i]], type_keys[type_codes[i]])
        if key not in resolved:
            pid = ids[i]
            ptype = check_project_type(type_vals[i], feature=pid, file=file) if key[1] else default_type
            ind = lookup(ind_vals[i], feature=pid, file=file) if key[0] else default_ind
            if ind is None and ptype is not None and types_vocab[ptype].industry:
                ind = lookup(types_vocab[ptype].industry, warn=False)
            if ptype is None and ind is not None:
                ptype = type_for_industry(ind.code)
            resolved[key] = (ind.code if ind else None, ind.zh if ind else None, ptype,
                             ind.is_two_high if ind else None)
        group_values[g] = resolved[key]
    industries, industry_names, ptypes, two_high = (group_values[group, j].tolist() for j in range(4))
    return Projects(frame=norm, footprints=footprints, area=area, ids=ids, names=names, industry=industries,
                    raw_points=_raw_sample(raw, settings.crs_check_sample),
                    industry_name=industry_names, project_type=ptypes, two_high=two_high, footprint_kind=kind,
                    repairs=repairs, source=source, id_text=id_text, group=group,
                    group_attributes=(group_values[:, 0].tolist(), group_values[:, 2].tolist(),
                                       group_values[:, 3].tolist()))


def check_radius(radius_m: float | None, settings: ScreeningSettings) -> None:
    """Refuse a footprint radius / half-width that is not a finite number in (0, ``max_radius_m``] [m].

    Parameters
    ----------
    radius_m : float
        Radius of point projects / half-width of line projects [m] (``--radius``).
    settings : ScreeningSettings
        Holds ``max_radius_m`` (``data/screening.toml`` [footprint], with its rationale).

    Raises
    ------
    InputFileError
        Naming the value and ``--radius`` in the fix.
    """
    limit = settings.max_radius_m
    fix = (f"give --radius (radius_m) in metres, e.g. --radius 100, at most {limit:g} m; draw a larger site "
           "as a polygon or a land-boundary TXT instead")
    if radius_m is None or not math.isfinite(radius_m) or radius_m <= 0:
        raise InputFileError(problem(
            f"项目占地半径（--radius）必须是有限的正数（米），实际为 {radius_m!r}。",
            f"radius_m (--radius) must be a finite positive number [m], got {radius_m!r}.", fix=fix))
    if radius_m > limit:
        raise InputFileError(problem(
            f"项目占地半径（--radius）{radius_m:g} m 过大，超过上限 {limit:g} m（data/screening.toml）。",
            f"radius_m (--radius) {radius_m:g} m is larger than the maximum of {limit:g} m "
            f"(a circle of {math.pi * limit ** 2 / 1e6:.4g} km², data/screening.toml [footprint] max_radius_m): "
            "no single point project is that large, so it is most likely a typing slip.", fix=fix))


def _raw_sample(raw: gpd.GeoDataFrame, n: int) -> gpd.GeoSeries:
    """A point on each of the first ``n`` project geometries, in the CRS they were stated in (for the
    wrong-CRS diagnosis of :func:`sanxian_yidan.screening.coverage.check_far_outside`)."""
    geoms = raw.geometry.values[:n]
    return gpd.GeoSeries(shapely.point_on_surface(np.asarray(geoms, dtype=object)), crs=raw.crs)


def _check_raw_coordinates(raw: gpd.GeoDataFrame, settings: ScreeningSettings, *, file: str | None,
                           layer: str | None) -> None:
    """Refuse coordinates that are not numbers, and "degrees" that cannot be degrees, before projecting.

    A latitude typed 320.8 for 32.08, or Gauss-Krüger metres in a file whose ``.prj`` says WGS84, would be
    projected to infinity (an empty or infinite footprint that meets no rule); they are refused here, naming
    the first feature concerned.

    Raises
    ------
    InputFileError
        A coordinate is NaN or infinite.
    CRSError
        The CRS is geographic but a longitude lies outside ±180° or a latitude outside ±90°.
    """
    coords, index = shapely.get_coordinates(np.asarray(raw.geometry.values, dtype=object), return_index=True)
    if len(coords) == 0:
        return
    finite = np.isfinite(coords).all(axis=1)
    if not finite.all():
        i = int(index[np.flatnonzero(~finite)[0]])
        label = _feature_labels(raw, settings)[i]
        raise InputFileError(problem(
            "项目坐标含有非数值（NaN 或无穷大），无法定位。",
            f"Project {label} has coordinates that are not finite numbers (NaN or infinity), so it is nowhere "
            "and cannot be screened.", file=file, layer=layer, feature=label,
            fix="correct the coordinates of this project (empty cells in a CSV become NaN) or remove the row"))
    if raw.crs is None or not raw.crs.is_geographic:
        return
    x, y = coords[:, 0], coords[:, 1]
    lon_lim, lat_lim = LON_LIMIT_DEG, LAT_LIMIT_DEG
    bad = (np.abs(x) > lon_lim) | (np.abs(y) > lat_lim)
    if not bad.any():
        return
    k = int(np.flatnonzero(bad)[0])
    i = int(index[k])
    label = _feature_labels(raw, settings)[i]
    n_bad = len(np.unique(index[bad]))
    lon_bad, lat_bad = np.abs(x[k]) > lon_lim, np.abs(y[k]) > lat_lim
    if not (lon_bad and lat_bad):
        # One coordinate a plausible degree value, the other out of range: a typing slip, not metres.
        lon_typo, lat_typo = point_typos(float(x[k]), float(y[k]))
        axis, zh_axis, value, lim, typo = (("latitude", "纬度", y[k], lat_lim, lat_typo) if lat_bad
                                           else ("longitude", "经度", x[k], lon_lim, lon_typo))
        raise InputFileError(problem(
            f"项目 {label} 的{zh_axis} {value:.10g} 超出有效范围 [-{lim:g}, {lim:g}]。",
            f"Project {label}: {axis} {value:.10g} is outside [-{lim:g}, {lim:g}]{typo} ({n_bad} project(s) "
            "out of range).", file=file, layer=layer, feature=label,
            fix=f"correct the {axis} of this project (a misplaced decimal point, swapped digits, or longitude "
                "and latitude swapped)"))
    raise CRSError(problem(
        f"{n_bad} 个项目的坐标不可能是经纬度（经度须在 ±{lon_lim:g}° 内，纬度须在 ±{lat_lim:g}° 内），"
        f"但坐标系 {raw.crs.to_string()} 是经纬度坐标系。",
        f"{n_bad} project(s) have coordinates that cannot be degrees, yet the CRS {raw.crs.to_string()} is "
        f"geographic: {label} has x = {x[k]:.10g}, y = {y[k]:.10g} (longitude must lie within ±{lon_lim:g}°, "
        f"latitude within ±{lat_lim:g}°).", file=file, layer=layer, feature=label,
        fix="if the coordinates are metres (e.g. Gauss-Krüger eastings such as 438000 or 38438000), the stated "
            "CRS is wrong: state the projected CRS (--crs EPSG:4547 / crs='EPSG:4547' for CGCS2000 3-degree "
            "zone CM 114°E) or correct the file's .prj; if a value was mistyped (e.g. latitude 320.8 for 32.08, "
            "or longitude and latitude swapped), correct it"))


@lru_cache(maxsize=8)
def _to_lonlat(crs: str) -> Transformer:
    """Transformer from ``crs`` to WGS84 longitude/latitude, built once per CRS (building one searches the PROJ
    database and costs more than a whole small screening; pyproj >= 3.1 transformers are thread-safe)."""
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _check_footprints(footprints: np.ndarray, area: np.ndarray, is_poly: np.ndarray, raw: gpd.GeoDataFrame,
                      norm: gpd.GeoDataFrame, working_crs: str, settings: ScreeningSettings,
                      *, sliver_m2: float, radius_m: float, file: str | None, layer: str | None) -> None:
    """Refuse footprints that are nowhere: empty, not finite, off the Earth, or below the sliver tolerance.

    A footprint of (almost) no area meets no rule — not even the coverage rule — and would be reported as
    ``compliant``; so screening requires every footprint to be a finite polygon of the working CRS whose
    area is at least the sliver tolerance ``sliver_m2`` and whose mean width (area / half perimeter) is at
    least ``sliver_width_m`` (``data/screening.toml`` [sliver]).

    Raises
    ------
    InputFileError
        Naming the first project concerned and the likely cause (degrees given a metric CRS, a radius too
        small, collinear or tiny polygon).
    """
    n = len(footprints)
    coords, index = shapely.get_coordinates(footprints, return_index=True)
    finite_geom = np.ones(n, dtype=bool)
    np.logical_and.at(finite_geom, index, np.isfinite(coords).all(axis=1))
    bounds = shapely.bounds(footprints)
    # The drawn geometry too: buffering a line with a vertex at 1e300 overflows into an invalid polygon whose
    # bounds look ordinary, while the line itself lies off the Earth.
    drawn = shapely.bounds(np.asarray(norm.geometry.values, dtype=object))
    with np.errstate(invalid="ignore"):
        bounds = np.c_[np.fmin(bounds[:, :2], drawn[:, :2]), np.fmax(bounds[:, 2:], drawn[:, 2:])]
    # Back to longitude/latitude: a Gauss-Krüger easting of 1e8 or 1e300 has no place on the Earth.
    to_geo = _to_lonlat(working_crs)
    with np.errstate(invalid="ignore", over="ignore"):
        lon0, lat0 = to_geo.transform(bounds[:, 0], bounds[:, 1], errcheck=False)
        lon1, lat1 = to_geo.transform(bounds[:, 2], bounds[:, 3], errcheck=False)
    on_earth = np.isfinite(np.c_[lon0, lat0, lon1, lat1]).all(axis=1)
    nowhere = shapely.is_empty(footprints) | ~finite_geom | ~np.isfinite(area) | ~on_earth
    width = mean_width(area, shapely.length(footprints))
    tiny = ~nowhere & ((area <= 0) | (area < sliver_m2) | (width < settings.sliver_width_m))
    if not (nowhere | tiny).any():
        return
    rows = norm["_row"].to_numpy()
    labels = _feature_labels(raw, settings)
    bad = np.flatnonzero(nowhere | tiny)
    names = [labels[int(rows[i])] for i in bad]
    i = int(bad[0])
    more = f" (and {len(bad) - 1} more: {', '.join(names[1:10])}{' …' if len(bad) > 10 else ''})" \
        if len(bad) > 1 else ""
    if nowhere[i]:
        fix = ("correct the coordinates; if they are right, the CRS stated for them is wrong (state it with "
               "--crs / crs=, or correct the file's .prj)")
        prefixed = _zone_prefix_crs(raw, int(rows[i]))
        if prefixed:
            zone, stated = prefixed[1], raw.crs.to_string()
            raise InputFileError(problem(
                f"{len(bad)} 个项目的坐标远在所述坐标系 {stated} 的投影带之外：东坐标带有高斯-克吕格第 {zone} 带的"
                "带号，无法研判。",
                f"Project {names[0]} lies far outside the zone of the stated CRS {stated}: its easting carries the "
                f"Gauss-Krüger zone prefix {zone} (bounds {bounds[i].round(3).tolist()}){more}.", file=file,
                layer=layer, feature=names[0], fix=prefixed[0]))
        raise InputFileError(problem(
            f"{len(bad)} 个项目的位置无法确定（坐标为无穷大、超出地球范围或投影后为空），无法研判。",
            f"Project {names[0]} is nowhere: in the working CRS {working_crs} its footprint is empty, not finite "
            f"or off the Earth (bounds {bounds[i].round(3).tolist()}){more}.", file=file, layer=layer,
            feature=names[0], fix=fix))
    raw_crs = raw.crs
    raw_coords = shapely.get_coordinates(raw.geometry.values[int(rows[i]):int(rows[i]) + 1])
    looks_like_degrees = (raw_crs is not None and not raw_crs.is_geographic and len(raw_coords) > 0
                          and bool((np.abs(raw_coords[:, 0]) <= LON_LIMIT_DEG).all()
                                   and (np.abs(raw_coords[:, 1]) <= LAT_LIMIT_DEG).all()))
    if looks_like_degrees:
        fix = (f"the coordinates look like longitude/latitude in degrees, but the CRS {raw_crs.to_string()} is "
               "in metres: state --crs EPSG:4326 (crs='EPSG:4326'), or GCJ-02 / BD-09 for web-map coordinates, "
               "or correct the file's .prj")
    elif not is_poly[i]:
        fix = (f"the footprint is a point or line buffered by {radius_m:g} m: give a realistic radius "
               "(--radius / radius_m, default from data/screening.toml), or draw the project as a polygon")
    else:
        fix = "correct the polygon's coordinates (it is collinear, tiny or a thin strip) or remove the row"
    raise InputFileError(problem(
        f"{len(bad)} 个项目的占地面积为零或低于细小碎片容差（{sliver_m2:g} m²，平均宽度 "
        f"{settings.sliver_width_m:g} m），无法研判。",
        f"Project {names[0]} has a footprint of {area[i]:.6g} m² (mean width {width[i]:.3g} m), below the "
        f"sliver tolerance of {sliver_m2:g} m² / {settings.sliver_width_m:g} m: it can meet no rule, not even "
        f"the coverage rule, so it cannot be screened{more}.", file=file, layer=layer, feature=names[0],
        fix=fix))


#: EPSG code = offset + zone number for the CGCS2000 Gauss-Krüger CRSs whose eastings carry the zone prefix
#: (EPSG registry: 4513-4533 = 3-degree zones 25-45, 4491-4501 = 6-degree zones 13-23).
_PREFIXED_ZONES = {"3-degree": (4488, range(25, 46)), "6-degree": (4478, range(13, 24))}


def _zone_prefix_crs(raw: gpd.GeoDataFrame, row: int) -> tuple[str, int] | None:
    """Fix text and zone number for eastings that carry a Gauss-Krüger zone prefix (e.g. 38541000) given a
    CRS without one."""
    if raw.crs is None or raw.crs.is_geographic:
        return None
    xy = shapely.get_coordinates(raw.geometry.values[row:row + 1])
    if len(xy) == 0 or not np.isfinite(xy).all():
        return None
    zone = int(abs(xy[0, 0]) // 1_000_000)
    for kind, (offset, zones) in _PREFIXED_ZONES.items():
        if zone in zones:
            code = f"EPSG:{offset + zone}"
            return (f"the easting {xy[0, 0]:.0f} carries the Gauss-Krüger zone prefix {zone}, but the CRS "
                    f"{raw.crs.to_string()} has none: state --crs {code} (CGCS2000 {kind} zone {zone}, with the "
                    "prefix) or correct the file's .prj", zone)
    return None


#: Geometry families normalised separately, in the order the projects of a mixed list are normalised.
_FAMILIES: tuple[GeometryFamily, ...] = ("polygon", "line", "point")


def _normalise_by_family(frame: gpd.GeoDataFrame, working_crs: str, *, file: str | None,
                         layer: str | None) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """Normalise points, lines and polygons separately (a project list may mix them; a layer may not)."""
    tid = shapely.get_type_id(frame.geometry.values)
    family = np.where(np.isin(tid, (0, 4)), "point", np.where(np.isin(tid, (1, 2, 5)), "line", "polygon"))
    families = [fam for fam in _FAMILIES if (family == fam).any()]
    parts, repairs = [], []
    for fam in families:
        sub = frame if len(families) == 1 else frame[family == fam]
        part = normalise(sub, working_crs, expected=fam, file=file, layer=layer)
        repairs.extend(part.attrs.get("sanxian", {}).get("repairs", []))
        parts.append(part)
    if len(parts) == 1:                                   # one family: normalise kept the order and index
        return parts[0], repairs
    out = gpd.GeoDataFrame(pd.concat(parts), geometry=parts[0].geometry.name, crs=parts[0].crs)
    return out.sort_values("_row", kind="stable").reset_index(drop=True), repairs


def _attribute_keys(values: pd.Series | None, n: int) -> tuple[list[str], np.ndarray]:
    """Distinct texts of a project attribute ('' when absent) and the index of each project's text.

    Text columns are factorised directly; other columns are converted value by value first, so that e.g.
    ``1`` and ``1.0`` (equal as numbers) stay distinct texts, as they are when written out.
    """
    if values is None:
        return [""], np.zeros(n, dtype=np.int64)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        keys = [str(u) if _present(u) else "" for u in uniques] + [""]
        return keys, np.where(codes < 0, len(keys) - 1, codes)
    codes, uniques = pd.factorize(np.array([str(v) if _present(v) else "" for v in values.tolist()], dtype=object))
    return list(uniques), codes


def _stripped_texts(values: pd.Series) -> list[str]:
    """``str(v).strip()`` of each value, '' where absent (text columns without a per-value ``clean_value``)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return [v.strip() if isinstance(v, str) else "" for v in values.tolist()]
    return [str(v).strip() if clean_value(v) is not None else "" for v in values.tolist()]


def _present(value: Any) -> bool:
    value = clean_value(value)
    return value is not None and str(value).strip() != ""


# =============================================================================================== layers
@dataclass
class Layer:
    role: str
    frame: gpd.GeoDataFrame
    geoms: np.ndarray
    polygonal: bool
    synthetic: np.ndarray
    entries: list[LayerEntry]
    masks: dict[Any, tuple[np.ndarray | None, str | None]] = field(default_factory=dict)
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: Per set of joined roles, the dtypes joining them gives the overlap table's layer columns (tables._joined_dtypes).
    joined: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    unions: dict[Any, shapely.Geometry] = field(default_factory=dict)

    def union(self, key: Any, mask: np.ndarray) -> shapely.Geometry:
        """Union of the features where ``mask`` is True (the mask of a rule's ``where``, ``key``), prepared.

        Computed once per layer and ``where``: the union of a few detailed county outlines costs more than the
        rest of a single project's coverage test.  It is prepared before it is kept, so that screenings on
        several threads only read it.
        """
        if key not in self.unions:
            geom = shapely.union_all(self.geoms[mask])
            shapely.prepare(geom)
            self.unions[key] = geom
        return self.unions[key]

    def objects_at(self, name: str, fi: np.ndarray) -> np.ndarray:
        """Values of text column ``name`` at rows ``fi`` as Python objects (NaN where missing).

        Decoded from the column's distinct texts: access lists repeat a few texts over many units, and taking
        codes is far cheaper than converting every value.
        """
        if name not in self.decoded:
            codes, uniques = pd.factorize(self.frame[name], use_na_sentinel=True)
            self.decoded[name] = (codes, np.append(np.asarray(uniques, dtype=object), np.nan))
        codes, table = self.decoded[name]
        return table[codes[fi]]                      # code -1 (missing) picks the NaN at the end

    @cached_property
    def label_text(self) -> pd.Series:
        """Label of each feature for messages, as text (computed on first use; see :func:`_feature_labels_text`)."""
        return _feature_labels_text(self.frame)

    @cached_property
    def labels(self) -> np.ndarray:
        """Label of each feature for messages."""
        return self.label_text.to_numpy(dtype=object)

    @cached_property
    def labels_missing(self) -> bool:
        """True if some label is missing (NA)."""
        return bool(self.label_text.isna().any())

    @cached_property
    def label_codes(self) -> tuple[np.ndarray, int]:
        """Code of each feature's label (equal labels, equal codes) and the number of distinct labels."""
        codes, uniques = pd.factorize(self.label_text, use_na_sentinel=False)
        return codes, len(uniques)


def _without_attrs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shallow copy of ``frame`` without its ``attrs`` metadata.

    pandas deep-copies ``attrs`` into every derived object (each column access, take, copy), which costs more
    than the operation itself on the many small steps of a screening; the results never carry it.
    """
    out = frame.copy(deep=False)
    out.attrs = {}
    return out


def _feature_labels_text(frame: pd.DataFrame) -> pd.Series:
    """Label of each feature for messages: its name, else its code, else ``layer_id#src_fid``."""
    def col(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].astype("string").str.strip().fillna("")
        return pd.Series([""] * len(frame), index=frame.index, dtype="string")

    name = col("name")
    if (name != "").all():                                # every feature has a name: nothing to fall back on
        return name
    code = col("code")
    if "layer_id" in frame.columns and "src_fid" in frame.columns:
        fallback = frame["layer_id"].astype("string") + "#" + frame["src_fid"].astype("string")
    else:
        fallback = pd.Series([f"#{i}" for i in range(len(frame))], index=frame.index, dtype="string")
    return name.where(name != "", code.where(code != "", fallback))


#: Layers prepared for screening, per catalog object.  A catalog's layers do not change once read (the catalog
#: keeps them in its own cache), and a prepared layer's caches (labels, ``where`` masks, decoded texts) depend
#: on the layer alone; so a process screening many requests against one catalog (``sanxian serve``) prepares
#: each layer once.  Filling a cache twice from two threads gives the same values.
_PREPARED: weakref.WeakKeyDictionary[Catalog, dict[str, Layer]] = weakref.WeakKeyDictionary()


def load_layer(catalog: Catalog, role: str) -> Layer:
    prepared = _PREPARED.setdefault(catalog, {})
    if role not in prepared:
        prepared[role] = _prepare_layer(catalog, role)
    return prepared[role]


def _prepare_layer(catalog: Catalog, role: str) -> Layer:
    frame = _without_attrs(catalog.read(role))
    geoms = frame.geometry.values
    tid = shapely.get_type_id(np.asarray(geoms))
    polygonal = bool(len(tid)) and bool(np.isin(tid, (3, 6)).all())
    entries = catalog.entries_for(role)
    synthetic = frame["synthetic"].to_numpy(dtype=bool) if "synthetic" in frame.columns \
        else np.full(len(frame), any(e.synthetic for e in entries))
    return Layer(role, frame, np.asarray(geoms, dtype=object), polygonal, synthetic, entries)


@dataclass
class Pieces:
    pi: np.ndarray
    fi: np.ndarray
    geoms: np.ndarray
    area: np.ndarray
    sliver: np.ndarray
    width: np.ndarray


def pieces_for(layer: Layer, projects: Projects, settings: ScreeningSettings, sliver_m2: float) -> Pieces:
    few = len(layer.geoms) <= overlay.FEW_FEATURES * len(projects.footprints)     # then the footprints' tree is used
    pi, fi, geoms, area = overlay_pieces(projects.footprints, layer.geoms, threads=settings.threads,
                                         footprint_tree=projects.tree if few else None,
                                         min_parallel_pairs=settings.min_parallel_pairs)
    width = mean_width(area, shapely.length(geoms) if len(geoms) else np.empty(0))
    sliver = (area < sliver_m2) | (width < settings.sliver_width_m)        # as is_sliver, width computed once
    return Pieces(pi, fi, geoms, area, sliver, width)


def where_mask(rule: Rule, layer: Layer) -> tuple[np.ndarray | None, str | None]:
    key = rule.where
    if key in layer.masks:
        return layer.masks[key]
    mask = np.ones(len(layer.frame), dtype=bool)
    result: tuple[np.ndarray | None, str | None] = (mask, None)
    for cond in rule.where:
        if cond.field not in layer.frame.columns:
            result = (None, f"field '{cond.field}' missing in layer(s) {[e.id for e in layer.entries]}")
            break
        mask &= _evaluate_on_column(cond, layer.frame[cond.field])
    layer.masks[key] = result
    return result


def _evaluate_on_column(cond: Condition, column: pd.Series) -> np.ndarray:
    """``cond.evaluate(column)``, with the column's distinct values found in its own dtype.

    ``Condition.evaluate`` tests each distinct value once too, but first converts the whole column to Python
    objects; factorising the column as it is stored (integers, Arrow text) is several times cheaper on large
    layers.  Missing values never match, as in ``Condition.evaluate``.
    """
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True).startswith("mixed"):
        return cond.evaluate(column)  # factorize would merge True with 1 (equal hashes)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if len(uniques) == len(column):
        return cond.evaluate(column)
    distinct = cond.evaluate(uniques.tolist())
    return np.where(codes >= 0, distinct[np.maximum(codes, 0)], False) if len(distinct) else np.zeros(len(codes), bool)
