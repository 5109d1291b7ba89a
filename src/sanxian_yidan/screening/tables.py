"""Output tables of a screening: per project, overlaps, slivers and distances."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..geomutil import nearest_features
from ..rules import (
    VERDICT_RANK,
    VERDICT_ZH,
    RuleSet,
)
from .coverage import Coverage, nearer_beyond_data
from .evaluate import SEARCH_OUTSIDE, _names_per_project, _role_en, _role_zh
from .inputs import _Layer, _Pieces, _Projects
from .result import ACCESS_LIST_FIELDS
from .settings import ScreeningSettings

logger = logging.getLogger(__name__)

#: Attributes copied from overlapped features into the overlap table (when the layer has them).
_FEATURE_FIELDS = ("code", "name", "category", "level", "county")

# ============================================================================================ output tables
def _project_table(proj: _Projects, findings: pd.DataFrame, pieces: dict[str, _Pieces],
                   layers: dict[str, _Layer], coverage: Coverage) -> gpd.GeoDataFrame:
    """One row per project: verdict, completeness, share outside the coverage, counties, synthetic flag.

    ``complete`` is false when an applicable rule could not be evaluated, when part of the footprint lies
    outside the coverage (the coverage rule fired) or when a distance rule's search area leaves it.
    """
    n = len(proj.ids)
    rank = np.zeros(n, dtype=int)
    n_find = np.zeros(n, dtype=int)
    incomplete = np.zeros(n, dtype=bool)
    edge = np.zeros(n, dtype=bool)                       # a search area leaves the coverage
    syn = np.zeros(n, dtype=bool)
    if len(findings):
        p = findings["_p"].to_numpy(dtype=int)
        hit = findings["kind"].to_numpy() == "finding"
        codes, severities = pd.factorize(findings["severity"])
        ranks = np.array([VERDICT_RANK.get(s, 0) for s in severities], dtype=int)[codes]
        np.maximum.at(rank, p[hit], ranks[hit])
        n_find = np.bincount(p[hit], minlength=n)
        not_eval = findings["kind"].to_numpy() == "not_evaluated"
        at_edge = not_eval & (findings["reason"].to_numpy(dtype=object) == SEARCH_OUTSIDE)
        incomplete[p[not_eval & ~at_edge]] = True
        edge[p[at_edge]] = True
        syn[p[findings["feature_synthetic"].to_numpy(dtype=bool)]] = True
    for role, pc in pieces.items():
        syn[pc.pi[layers[role].synthetic[pc.fi]]] = True
    # A verdict rests on every layer consulted — "no overlap with the red line" is only as good as the red
    # line — and on the project data itself, so any synthetic input marks every project.
    if any(bool(np.any(layer.synthetic)) for layer in layers.values()):
        syn[:] = True
    if "synthetic" in proj.frame.columns:
        syn |= proj.frame["synthetic"].fillna(False).astype(bool).to_numpy()
    # An applicable rule that could not be evaluated (layer or attribute missing) means the project still
    # needs assessment: an incomplete screening is never reported as compliant or as a mere notice.
    # A rule left partly unevaluated because its search area leaves the data is, like a footprint outside
    # the data, at least "outside_coverage".
    outside_rank = VERDICT_RANK["outside_coverage"]
    rank = np.where(edge, np.maximum(rank, outside_rank), rank)
    floor = VERDICT_RANK["needs_assessment"]
    rank = np.where(incomplete & (rank < floor) & (rank != outside_rank), floor, rank)
    by_rank = {r: v for v, r in VERDICT_RANK.items()}
    ranks_seen, at = np.unique(rank, return_inverse=True)
    verdicts_seen = [by_rank.get(r, "compliant") if r > 0 else "compliant" for r in ranks_seen.tolist()]
    verdict = np.array(verdicts_seen, dtype=object)[at.reshape(-1)]
    verdict_zh = np.array([VERDICT_ZH[v] for v in verdicts_seen], dtype=object)[at.reshape(-1)]
    counties = [""] * n
    if "admin_boundary" in pieces:
        pc = pieces["admin_boundary"]
        real = ~pc.sliver
        counties = _names_per_project(n, pc.pi[real], pc.fi[real], layers["admin_boundary"])
    return gpd.GeoDataFrame({
        "project_id": proj.id_text, "project_name": proj.names, "industry": proj.industry,
        "industry_name": proj.industry_name, "two_high": pd.array(proj.two_high, dtype="boolean"),
        "project_type": proj.project_type, "footprint": proj.footprint_kind, "footprint_area_m2": proj.area,
        "verdict": verdict, "verdict_zh": verdict_zh, "complete": ~(incomplete | edge | coverage.outside),
        "outside_coverage_share": coverage.outside_share,
        "n_findings": n_find, "counties": counties, "synthetic_data": syn,
    }, geometry=gpd.GeoSeries(proj.footprints, crs=proj.frame.crs), crs=proj.frame.crs)


def _take(frame: pd.DataFrame, name: str, fi: np.ndarray) -> pd.Series | np.ndarray:
    """Values of column ``name`` at rows ``fi``, keeping the column's dtype (None where the layer lacks it).

    Taking before converting keeps string columns in their (Arrow) storage: converting whole text columns to
    Python objects would cost more than the overlay itself on large layers.
    """
    if name not in frame.columns:
        return np.full(len(fi), None, dtype=object)
    return frame[name].take(fi).reset_index(drop=True)


def _feature_columns(frame: pd.DataFrame, fi: np.ndarray) -> dict[str, np.ndarray]:
    return {f"feature_{name}": _take(frame, name, fi) for name in _FEATURE_FIELDS}


def _overlap_table(proj: _Projects, layers: dict[str, _Layer], pieces: dict[str, _Pieces]) -> gpd.GeoDataFrame:
    """Overlap pieces (slivers excluded) with the overlapped features' attributes.

    Order: role (alphabetical), then project (input order), then largest piece first; equal areas (to the
    mm²) in layer order, so outputs are deterministic.  Sorting uses numeric keys only and text columns are
    taken once, in their (Arrow) storage.  A text column that joining the roles turns into Python objects
    anyway (e.g. the access lists, which only control units have) is decoded from the layer's distinct texts
    instead (:meth:`_Layer.objects_at`): the same values, without converting each one.
    """
    roles = [role for role in sorted(pieces) if not pieces[role].sliver.all()]
    columns = ["project_id", "role", "layer_id", *[f"feature_{f}" for f in _FEATURE_FIELDS], "overlap_area_m2",
               "overlap_share", "feature_synthetic", "feature_source", *ACCESS_LIST_FIELDS, "geometry"]
    if not roles:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns[:-1]},
                                geometry=gpd.GeoSeries([], crs=proj.frame.crs), crs=proj.frame.crs)
    as_objects = _joined_object_texts([layers[role] for role in roles])
    frames = []
    for role in roles:
        pc = pieces[role]
        real = np.flatnonzero(~pc.sliver)
        order = real[_piece_order(pc.pi[real], pc.area[real], pc.fi[real])]
        lay, objects = layers[role], as_objects[role]
        fi, pi, area = pc.fi[order], pc.pi[order], pc.area[order]
        cols: dict[str, Any] = {"_p": pi, "project_id": proj.id_text.take(pi).reset_index(drop=True),
                                "role": role, "layer_id": _text_at(lay, "layer_id", fi, objects)
                                if "layer_id" in lay.frame.columns else role}
        cols.update({f"feature_{name}": _text_at(lay, name, fi, objects) for name in _FEATURE_FIELDS})
        cols["overlap_area_m2"] = area
        cols["overlap_share"] = area / proj.area[pi]
        cols["feature_synthetic"] = lay.synthetic[fi]
        cols["feature_source"] = _text_at(lay, "source", fi, objects)
        for name in ACCESS_LIST_FIELDS:
            cols[name] = _text_at(lay, name, fi, objects)
        frames.append(gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(pc.geoms[order], crs=proj.frame.crs)))
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return gpd.GeoDataFrame(out[columns], geometry="geometry", crs=proj.frame.crs)


def _piece_order(pi: np.ndarray, area: np.ndarray, fi: np.ndarray) -> np.ndarray:
    """Order of pieces by project, then largest first (areas rounded to the mm²), then feature index.

    The same order as ``np.lexsort((fi, -np.round(area, 6), pi))``, computed as one unstable sort of a
    combined integer key (project, dense rank of the rounded area, feature): each (project, feature) pair
    occurs once, so the key is unique.  Stable sorts of floats are several times slower.
    """
    neg_area = -np.round(area, 6)
    if len(pi) == 0:
        return np.empty(0, dtype=np.int64)
    by_area = np.argsort(neg_area)
    ranked = neg_area[by_area]
    dense = np.empty(len(pi), dtype=np.int64)
    dense[by_area] = np.cumsum(np.r_[False, ranked[1:] != ranked[:-1]])
    n_rank, n_feat = int(dense.max()) + 1, int(fi.max()) + 1
    if (int(pi.max()) + 1) * n_rank * n_feat >= 2**62:            # key would overflow int64
        return np.lexsort((fi, neg_area, pi))
    return np.argsort((pi.astype(np.int64) * n_rank + dense) * n_feat + fi)


def _text_at(layer: _Layer, name: str, fi: np.ndarray, as_objects: set[str]) -> pd.Series | np.ndarray:
    """Column ``name`` of ``layer`` at rows ``fi``: decoded to Python objects if it is in ``as_objects``,
    else taken in its own dtype (:func:`_take`)."""
    if name in as_objects:
        return pd.Series(layer.objects_at(name, fi), dtype=object)
    return _take(layer.frame, name, fi)


#: Layer columns behind the text columns of the overlap table.
_OVERLAP_TEXTS = ("layer_id", "source", *_FEATURE_FIELDS, *ACCESS_LIST_FIELDS)


def _joined_object_texts(layers: list[_Layer]) -> dict[str, set[str]]:
    """Per role, the text columns (of Arrow string dtype) that ``pd.concat`` of the roles' overlap rows turns
    into Python objects.

    The joined dtype is that of the concatenated first rows (it does not depend on the length), built as
    :func:`_overlap_table` builds its columns: the layer's column, or None where the layer lacks it (the
    role's name for a missing ``layer_id``).
    """
    out: dict[str, set[str]] = {lay.role: set() for lay in layers}
    if len(layers) < 2:
        return out
    # It depends only on the layers' dtypes: computed once per catalog and set of roles, kept on the first
    # layer (layers are prepared once per catalog, see inputs._load_layer).
    key = tuple(lay.role for lay in layers)
    if key not in layers[0].joined:
        layers[0].joined[key] = _object_texts(layers, out)
    return layers[0].joined[key]


def _object_texts(layers: list[_Layer], out: dict[str, set[str]]) -> dict[str, set[str]]:
    """Fill ``out`` (role -> set) for :func:`_joined_object_texts` by joining the layers' first rows."""
    for name in _OVERLAP_TEXTS:
        heads = [lay.frame[name].iloc[:1].reset_index(drop=True) if name in lay.frame.columns
                 else pd.Series([lay.role] if name == "layer_id" else np.full(1, None, dtype=object))
                 for lay in layers]
        texts = [pd.api.types.is_string_dtype(h.dtype) and h.dtype != object for h in heads]
        if not any(texts) or len({h.dtype for h in heads}) == 1:
            continue
        if pd.concat(heads, ignore_index=True).dtype == object:
            for lay, is_text in zip(layers, texts):
                if is_text:
                    out[lay.role].add(name)
    return out


def _sliver_table(proj: _Projects, layers: dict[str, _Layer], pieces: dict[str, _Pieces]) -> pd.DataFrame:
    frames = []
    for role, pc in pieces.items():
        if not pc.sliver.any():
            continue
        lay = layers[role]
        fi = pc.fi[pc.sliver]
        area = pc.area[pc.sliver]
        width = pc.width[pc.sliver]
        feat = _feature_columns(lay.frame, fi)
        frames.append(pd.DataFrame({
            "_p": pc.pi[pc.sliver], "project_id": proj.ids[pc.pi[pc.sliver]], "role": role,
            "feature_code": feat["feature_code"], "feature_name": feat["feature_name"],
            "overlap_area_m2": area, "mean_width_m": width,
            "message_zh": [f"与{_role_zh(role)}的细小碎片重叠 {a:.3f} m²（平均宽度 {w:.3f} m），低于容差，不计为重叠"
                           for a, w in zip(area, width)],
            "message_en": [f"Sliver overlap with the {_role_en(role).lower()}: {a:.3f} m² (mean width {w:.3f} m), "
                           "below the tolerance, not counted as an overlap" for a, w in zip(area, width)],
        }))
    columns = ["project_id", "role", "feature_code", "feature_name", "overlap_area_m2", "mean_width_m",
               "message_zh", "message_en"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(frames, ignore_index=True).sort_values(["_p", "role"], kind="stable")
    return out[columns].reset_index(drop=True)


def _distance_table(proj: _Projects, layers: dict[str, _Layer], settings: ScreeningSettings,
                    ruleset: RuleSet, coverage: Coverage) -> pd.DataFrame:
    """Nearest feature per project and reported role within ``search_m``; ``nearer_beyond_data`` is True where
    the data stop within that distance, so a nearer feature may exist outside them."""
    roles = list(dict.fromkeys([*settings.distance_roles,
                                *sorted({r.role for r in ruleset if r.spec.uses_distance})]))
    frames = []
    for role in roles:
        if role not in layers or len(layers[role].geoms) == 0:
            continue
        lay = layers[role]
        nearest, dist = nearest_features(proj.footprints, lay.geoms, max_distance=settings.search_m)
        pi = np.flatnonzero(nearest >= 0)
        fi, d = nearest[pi], dist[pi]
        frames.append(pd.DataFrame({"_p": pi, "project_id": proj.ids[pi], "role": role,
                                    "feature_name": lay.labels[fi], "distance_m": d,
                                    "feature_synthetic": lay.synthetic[fi],
                                    "nearer_beyond_data": nearer_beyond_data(coverage, proj, pi, d, role)}))
    columns = ["project_id", "role", "feature_name", "distance_m", "feature_synthetic", "nearer_beyond_data"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(frames, ignore_index=True).sort_values(["_p"], kind="stable")
    return out[columns].reset_index(drop=True)
