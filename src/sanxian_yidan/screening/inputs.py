"""Screening inputs: the proposed projects (read, normalised, typed) and the catalog layers they are screened against."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .. import crs as crsmod
from ..catalog import Catalog, LayerEntry
from ..errors import (
    CRSError,
    EmptyLayerError,
    InputFileError,
    problem,
)
from ..industries import check_project_type, lookup, project_types, type_for_industry
from ..io.vector import WEB_MAP_CRS, read_vector
from ..normalize import normalise
from ..rules import (
    Rule,
)
from . import overlay
from .overlay import overlay_pieces
from .result import _clean
from .settings import ScreeningSettings

logger = logging.getLogger(__name__)


# ============================================================================================== projects
@dataclass
class _Projects:
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

    @cached_property
    def attrs(self) -> pd.DataFrame:
        """Project attributes for ``attribute_test`` rules: the input columns plus the resolved ``industry``,
        ``project_type``, ``two_high`` and ``area_m2`` (built on first use: most rule sets test none)."""
        attrs = pd.DataFrame(self.frame.drop(columns=[self.frame.geometry.name, "_row"]))
        attrs["industry"] = self.industry
        attrs["project_type"] = self.project_type
        attrs["two_high"] = self.two_high
        attrs["area_m2"] = self.area
        return attrs.reset_index(drop=True)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index of the footprints, shared by the layers queried feature by feature."""
        return shapely.STRtree(self.footprints)

    def applicability(self, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
        """``rule.applies_to.evaluate`` over the projects, evaluated once per distinct (industry, type)."""
        applies, undetermined = rule.applies_to.evaluate(*self.group_attributes)
        return applies[self.group], undetermined[self.group]


def _find_column(frame: pd.DataFrame, names: Iterable[str]) -> str | None:
    lower = {str(c).lower(): c for c in frame.columns if c != frame.geometry.name}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _feature_labels(frame: pd.DataFrame, settings: ScreeningSettings) -> list[str]:
    col = _find_column(frame, settings.columns["id"])
    if col is not None:
        return [f"{col}={v!r} (row {i + 1})" for i, v in enumerate(frame[col].tolist())]
    return [f"row {i + 1}" for i in range(len(frame))]


def _web_map_to_wgs84(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    to_wgs = crsmod.gcj02_to_wgs84 if system == "gcj02" else crsmod.bd09_to_wgs84

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = gdf.copy()
    out = out.set_crs("EPSG:4326", allow_override=True)
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


def _read_projects(projects: Any, crs: Any, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(projects, (str, Path)):
        path = Path(projects)
        raw = read_vector(path, layer=layer, crs=crs)
        meta = raw.attrs.get("sanxian", {})
        reason = str(meta.get("crs_reason", ""))
        if reason.startswith("inferred"):
            raise CRSError(_guessed_crs_problem(meta, reason, path, layer))
        return raw, str(path)
    if isinstance(projects, gpd.GeoDataFrame):
        raw = projects
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
            else:
                from pyproj import CRS as _CRS
                if not raw.crs.equals(_CRS.from_user_input(crs)):
                    warnings.warn(f"projects declare {raw.crs.to_string()} but crs={crs!r} was stated; using the "
                                  "stated CRS", stacklevel=3)
                    raw = raw.set_crs(crs, allow_override=True)
        elif raw.crs is None:
            raise CRSError(problem("项目数据没有坐标系。", "The projects GeoDataFrame has no CRS.",
                                   fix="set it (gdf.set_crs('EPSG:4547')) or pass crs='EPSG:4326' / 'GCJ-02'"))
        return raw, "<GeoDataFrame>"
    raise InputFileError(problem("不支持的项目输入类型。", f"Projects must be a file path or a GeoDataFrame, got "
                                 f"{type(projects).__name__}.", fix="pass a path or a GeoDataFrame"))


def _prepare_projects(projects: Any, working_crs: str, settings: ScreeningSettings, *, crs: Any,
                      layer: str | None, radius_m: float, industry: str | None,
                      project_type: str | None) -> _Projects:
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
    id_col = _find_column(norm, settings.columns["id"])
    if id_col is not None:
        ids = np.array([v or f"P{r + 1}" for v, r in zip(_stripped_texts(norm[id_col]), norm["_row"].tolist())],
                       dtype=object)
    else:
        ids = np.array([f"P{r + 1}" for r in norm["_row"].tolist()], dtype=object)
    id_text = pd.Series(ids)
    dup = id_text.duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputFileError(problem(
            "项目编号重复。", f"Project ids must be unique; repeated: {sorted(set(ids[dup].tolist()))[:10]}.",
            file=file, layer=layer, fix=f"give each project its own id (column '{id_col}')"))
    name_col = _find_column(norm, settings.columns["name"])
    names = np.array([_clean(v) for v in norm[name_col].tolist()] if name_col else [None] * len(norm), dtype=object)
    # -- footprints
    if radius_m is None or not math.isfinite(radius_m) or radius_m <= 0:
        raise InputFileError(problem("项目占地半径必须为正数。", f"radius_m must be a positive number [m], got "
                                     f"{radius_m!r}.", fix="pass e.g. radius_m=100 (--radius 100)"))
    g = norm.geometry.values
    tid = shapely.get_type_id(g)
    is_poly = np.isin(tid, (3, 6))
    is_point = np.isin(tid, (0, 4))
    footprints = np.array(g, dtype=object)
    if (~is_poly).any():
        footprints[~is_poly] = shapely.buffer(g[~is_poly], radius_m, quad_segs=settings.quad_segs)
    kind = np.where(is_poly, "polygon", np.where(is_point, f"point buffered {radius_m:g} m",
                                                   f"line buffered ±{radius_m:g} m"))
    area = shapely.area(footprints)
    # -- industry, type, 两高
    ind_col = _find_column(norm, settings.columns["industry"])
    type_col = _find_column(norm, settings.columns["project_type"])
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
    return _Projects(frame=norm, footprints=footprints, area=area, ids=ids, names=names, industry=industries,
                     industry_name=industry_names, project_type=ptypes, two_high=two_high, footprint_kind=kind,
                     repairs=repairs, source=source, id_text=id_text, group=group,
                     group_attributes=(group_values[:, 0].tolist(), group_values[:, 2].tolist(),
                                       group_values[:, 3].tolist()))


def _normalise_by_family(frame: gpd.GeoDataFrame, working_crs: str, *, file: str | None,
                         layer: str | None) -> tuple[gpd.GeoDataFrame, list[Any]]:
    """Normalise points, lines and polygons separately (a project list may mix them; a layer may not)."""
    tid = shapely.get_type_id(frame.geometry.values)
    family = np.where(np.isin(tid, (0, 4)), "point", np.where(np.isin(tid, (1, 2, 5)), "line", "polygon"))
    families = [fam for fam in ("polygon", "line", "point") if (family == fam).any()]
    parts, repairs = [], []
    for fam in families:
        sub = frame if len(families) == 1 else frame[family == fam]
        part = normalise(sub, working_crs, expected=fam, file=file, layer=layer)
        repairs.extend(part.attrs.get("sanxian", {}).get("repairs", []))
        parts.append(part)
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    out = gpd.GeoDataFrame(out, geometry=parts[0].geometry.name, crs=parts[0].crs)
    if not out["_row"].is_monotonic_increasing:          # one family keeps the input order
        out = out.sort_values("_row", kind="stable")
    return out.reset_index(drop=True), repairs


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
    """``str(v).strip()`` of each value, '' where absent (text columns without a per-value ``_clean``)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return [v.strip() if isinstance(v, str) else "" for v in values.tolist()]
    return [str(v).strip() if _clean(v) is not None else "" for v in values.tolist()]


def _present(value: Any) -> bool:
    value = _clean(value)
    return value is not None and str(value).strip() != ""


# =============================================================================================== layers
@dataclass
class _Layer:
    role: str
    frame: gpd.GeoDataFrame
    geoms: np.ndarray
    polygonal: bool
    synthetic: np.ndarray
    entries: list[LayerEntry]
    masks: dict[Any, tuple[np.ndarray | None, str | None]] = field(default_factory=dict)
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

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


def _load_layer(catalog: Catalog, role: str) -> _Layer:
    frame = _without_attrs(catalog.read(role))
    geoms = frame.geometry.values
    tid = shapely.get_type_id(np.asarray(geoms))
    polygonal = bool(len(tid)) and bool(np.isin(tid, (3, 6)).all())
    entries = catalog.entries_for(role)
    synthetic = frame["synthetic"].to_numpy(dtype=bool) if "synthetic" in frame.columns \
        else np.full(len(frame), any(e.synthetic for e in entries))
    return _Layer(role, frame, np.asarray(geoms, dtype=object), polygonal, synthetic, entries)


@dataclass
class _Pieces:
    pi: np.ndarray
    fi: np.ndarray
    geoms: np.ndarray
    area: np.ndarray
    sliver: np.ndarray
    width: np.ndarray


def _pieces_for(layer: _Layer, projects: _Projects, settings: ScreeningSettings, sliver_m2: float) -> _Pieces:
    few = len(layer.geoms) <= overlay._FEW_FEATURES * len(projects.footprints)     # then the footprints' tree is used
    pi, fi, geoms, area = overlay_pieces(projects.footprints, layer.geoms, threads=settings.threads,
                                         footprint_tree=projects.tree if few else None,
                                         min_parallel_pairs=settings.min_parallel_pairs)
    perim = shapely.length(geoms) if len(geoms) else np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(perim > 0, area / (perim / 2.0), 0.0)
    sliver = (area < sliver_m2) | (width < settings.sliver_width_m)        # as _is_sliver, width computed once
    return _Pieces(pi, fi, geoms, area, sliver, width)


