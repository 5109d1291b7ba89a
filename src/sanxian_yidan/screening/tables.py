"""Output tables of a screening: per project, overlaps, slivers and distances."""

from __future__ import annotations

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
from . import columns
from .coverage import Coverage, nearer_beyond_data
from .evaluate import SEARCH_OUTSIDE, names_per_project, role_en, role_zh
from .inputs import Layer, Pieces, Projects
from .result import ACCESS_LIST_FIELDS
from .settings import ScreeningSettings

__all__ = ["distance_table", "overlap_table", "project_table", "sliver_table"]

#: Attributes copied from overlapped features into the overlap table (when the layer has them).
_FEATURE_FIELDS = ("code", "name", "category", "level", "county")

# ============================================================================================ output tables
def project_table(proj: Projects, findings: pd.DataFrame, pieces: dict[str, Pieces],
                  layers: dict[str, Layer], coverage: Coverage) -> gpd.GeoDataFrame:
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
    counties: list[str] | np.ndarray = [""] * n
    if "admin_boundary" in pieces:
        pc = pieces["admin_boundary"]
        real = ~pc.sliver
        counties = names_per_project(n, pc.pi[real], pc.fi[real], layers["admin_boundary"])
    return columns.geoframe({
        "project_id": proj.id_text, "project_name": proj.names, "industry": proj.industry,
        "industry_name": proj.industry_name, "two_high": pd.array(proj.two_high, dtype="boolean"),
        "project_type": proj.project_type, "footprint": proj.footprint_kind, "footprint_area_m2": proj.area,
        "verdict": verdict, "verdict_zh": verdict_zh, "complete": ~(incomplete | edge | coverage.outside),
        "outside_coverage_share": coverage.outside_share,
        "n_findings": n_find, "counties": counties, "synthetic_data": syn,
    }, proj.footprints, proj.frame.crs)


def overlap_table(proj: Projects, layers: dict[str, Layer], pieces: dict[str, Pieces]) -> gpd.GeoDataFrame:
    """Overlap pieces (slivers excluded) with the overlapped features' attributes.

    Order: role (alphabetical), then project (input order), then largest piece first; equal areas (to the
    mm²) in layer order, so outputs are deterministic.  Sorting uses numeric keys only.  The table is built
    once, column by column, with the dtypes a frame per role joined by ``pd.concat`` would have
    (:func:`_joined_dtypes`): a layer column taken in its own dtype where the roles agree on it — text stays
    in its (Arrow) storage — and decoded from the layer's distinct values (:meth:`Layer.objects_at`) where
    joining the roles turns it into Python objects.
    """
    roles = [role for role in sorted(pieces) if not pieces[role].sliver.all()]
    names = ["project_id", "role", "layer_id", *[f"feature_{f}" for f in _FEATURE_FIELDS], "overlap_area_m2",
             "overlap_share", "feature_synthetic", "feature_source", *ACCESS_LIST_FIELDS, "geometry"]
    if not roles:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in names[:-1]},
                                geometry=gpd.GeoSeries([], crs=proj.frame.crs), crs=proj.frame.crs)
    lays = [layers[role] for role in roles]
    dtypes = _joined_dtypes(lays)
    orders = []
    for role in roles:
        pc = pieces[role]
        real = np.flatnonzero(~pc.sliver)
        orders.append(real[_piece_order(pc.pi[real], pc.area[real], pc.fi[real])])
    fis = [pieces[role].fi[o] for role, o in zip(roles, orders)]
    pi = np.concatenate([pieces[role].pi[o] for role, o in zip(roles, orders)])
    area = np.concatenate([pieces[role].area[o] for role, o in zip(roles, orders)])
    sizes = [len(o) for o in orders]
    texts = {name: _joined_texts(lays, fis, name, dtypes[name]) for name in _OVERLAP_TEXTS}
    cols: dict[str, Any] = {
        "project_id": proj.id_text.array.take(pi),
        "role": pd.array(np.repeat(np.array(roles, dtype=object), sizes), dtype=columns.TEXT_DTYPE),
        "layer_id": texts["layer_id"], **{f"feature_{name}": texts[name] for name in _FEATURE_FIELDS},
        "overlap_area_m2": area, "overlap_share": area / proj.area[pi],
        "feature_synthetic": np.concatenate([lay.synthetic[fi] for lay, fi in zip(lays, fis)]),
        "feature_source": texts["source"], **{name: texts[name] for name in ACCESS_LIST_FIELDS}}
    geoms = np.concatenate([pieces[role].geoms[o] for role, o in zip(roles, orders)])
    return columns.geoframe(cols, geoms, proj.frame.crs)


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


#: Layer columns behind the text columns of the overlap table.
_OVERLAP_TEXTS = ("layer_id", "source", *_FEATURE_FIELDS, *ACCESS_LIST_FIELDS)


def _head(layer: Layer, name: str) -> pd.Series:
    """The first value of a layer's column for the overlap table, in its dtype: the column's, or the role's
    name for a missing ``layer_id``, or None for another missing column."""
    if name in layer.frame.columns:
        return layer.frame[name].iloc[:1].reset_index(drop=True)
    return pd.Series([layer.role] if name == "layer_id" else np.full(1, None, dtype=object))


def _joined_dtypes(layers: list[Layer]) -> dict[str, Any]:
    """Per layer column of the overlap table, the dtype ``pd.concat`` gives it when joining these roles.

    It depends only on the layers' dtypes, not on the rows, so it is found once by joining the layers' first
    values, and kept per catalog and set of roles on the first layer (layers are prepared once per catalog,
    see inputs.load_layer).
    """
    key = tuple(lay.role for lay in layers)
    if key not in layers[0].joined:
        layers[0].joined[key] = {name: _joined_dtype([_head(lay, name) for lay in layers]) for name in _OVERLAP_TEXTS}
    return layers[0].joined[key]


#: The dtype of Python objects (joined columns of different dtypes).
_OBJECT = np.dtype(object)

#: Joined dtype per sequence of distinct dtypes (:func:`_joined_dtype`).
_JOINED: dict[tuple[Any, ...], Any] = {}


def _joined_dtype(heads: list[pd.Series]) -> Any:
    """The dtype ``pd.concat`` gives ``heads``; found once per sequence of distinct dtypes (few)."""
    key = tuple(dict.fromkeys(h.dtype for h in heads))
    if key not in _JOINED:
        _JOINED[key] = pd.concat(heads, ignore_index=True).dtype
    return _JOINED[key]


def _joined_texts(layers: list[Layer], fis: list[np.ndarray], name: str, dtype: Any) -> Any:
    """Column ``name`` of each layer at its rows ``fis``, one layer after the other, as a column of ``dtype``
    (:func:`_joined_dtypes`).

    A layer whose column has that dtype gives its values as they are stored (an Arrow text column stays
    Arrow); where the joined dtype is ``object``, values come from the layer's distinct values
    (:meth:`Layer.objects_at`), as ``astype(object)`` would give them.
    """
    parts = []
    for lay, fi in zip(layers, fis):
        if name in lay.frame.columns:
            col = lay.frame[name]
            if col.dtype == dtype:
                parts.append(col.array.take(fi))
            elif dtype == _OBJECT:
                parts.append(lay.objects_at(name, fi))
            else:                                            # e.g. integers joined with floats: pandas converts
                return pd.concat([pd.Series(_layer_values(la, name, f)) for la, f in zip(layers, fis)],
                                 ignore_index=True).array
        else:
            missing = np.full(len(fi), lay.role if name == "layer_id" else None, dtype=object)
            parts.append(missing if dtype == _OBJECT else pd.array(missing, dtype=dtype))
    if dtype == _OBJECT:
        joined = np.concatenate([np.asarray(p, dtype=object) for p in parts])
        return pd.Series(joined, dtype=object, copy=False)
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return type(parts[0])._concat_same_type(parts)


def _layer_values(layer: Layer, name: str, fi: np.ndarray) -> Any:
    """Column ``name`` of ``layer`` at rows ``fi`` in its own dtype (the role / None where it lacks it)."""
    if name in layer.frame.columns:
        return layer.frame[name].array.take(fi)
    return np.full(len(fi), layer.role if name == "layer_id" else None, dtype=object)


def sliver_table(proj: Projects, layers: dict[str, Layer], pieces: dict[str, Pieces]) -> pd.DataFrame:
    """Sliver overlaps (listed as notes), by project and role."""
    names = ["project_id", "role", "feature_code", "feature_name", "overlap_area_m2", "mean_width_m",
             "message_zh", "message_en"]
    roles = [role for role, pc in pieces.items() if pc.sliver.any()]
    if not roles:
        return columns.empty(names)
    lays = [layers[role] for role in roles]
    dtypes = _joined_dtypes(lays)
    fis = [pieces[role].fi[pieces[role].sliver] for role in roles]
    pi = np.concatenate([pieces[role].pi[pieces[role].sliver] for role in roles])
    area = np.concatenate([pieces[role].area[pieces[role].sliver] for role in roles])
    width = np.concatenate([pieces[role].width[pieces[role].sliver] for role in roles])
    role_of_row = np.repeat(np.array(roles, dtype=object), [len(fi) for fi in fis])
    order = np.lexsort((role_of_row.astype(str), pi))                # by project, then role (stable)
    zh = [f"与{role_zh(role)}的细小碎片重叠 {a:.3f} m²（平均宽度 {w:.3f} m），低于容差，不计为重叠"
          for role, a, w in zip(role_of_row.tolist(), area.tolist(), width.tolist())]
    en = [f"Sliver overlap with the {role_en(role).lower()}: {a:.3f} m² (mean width {w:.3f} m), "
          "below the tolerance, not counted as an overlap"
          for role, a, w in zip(role_of_row.tolist(), area.tolist(), width.tolist())]
    code = pd.Series(_joined_texts(lays, fis, "code", dtypes["code"]))
    name = pd.Series(_joined_texts(lays, fis, "name", dtypes["name"]))
    return columns.frame({
        "project_id": columns.take(columns.infer(proj.ids[pi]), order),
        "role": columns.Part("text", role_of_row[order]),
        "feature_code": code.take(order).reset_index(drop=True),
        "feature_name": name.take(order).reset_index(drop=True),
        "overlap_area_m2": area[order], "mean_width_m": width[order],
        "message_zh": columns.take(columns.infer(zh), order), "message_en": columns.take(columns.infer(en), order),
    })


def distance_table(proj: Projects, layers: dict[str, Layer], settings: ScreeningSettings,
                   ruleset: RuleSet, coverage: Coverage) -> pd.DataFrame:
    """Nearest feature per project and reported role within ``search_m``; ``nearer_beyond_data`` is True where
    the data stop within that distance, so a nearer feature may exist outside them.

    Built once from the roles' arrays, with the dtypes a frame per role joined by ``pd.concat`` would have
    (:mod:`.columns`: e.g. project ids are text unless some role found nothing near any project).
    """
    roles = list(dict.fromkeys([*settings.distance_roles,
                                *sorted({r.role for r in ruleset if r.spec.uses_distance})]))
    names = ["project_id", "role", "feature_name", "distance_m", "feature_synthetic", "nearer_beyond_data"]
    parts: dict[str, list[columns.Part]] = {c: [] for c in ("_p", *names)}
    for role in roles:
        if role not in layers or len(layers[role].geoms) == 0:
            continue
        lay = layers[role]
        nearest, dist = nearest_features(proj.footprints, lay.geoms, max_distance=settings.search_m)
        pi = np.flatnonzero(nearest >= 0)
        fi, d = nearest[pi], dist[pi]
        parts["_p"].append(columns.Part("int", pi))
        parts["project_id"].append(columns.infer(proj.ids[pi]))
        parts["role"].append(columns.Part("text", np.full(len(pi), role, dtype=object)))
        parts["feature_name"].append(columns.infer(lay.labels[fi]))
        parts["distance_m"].append(columns.part_of(np.asarray(d, dtype=float)))
        parts["feature_synthetic"].append(columns.part_of(lay.synthetic[fi]))
        parts["nearer_beyond_data"].append(columns.part_of(np.asarray(nearer_beyond_data(coverage, proj, pi, d,
                                                                                        role))))
    if not parts["_p"]:
        return columns.empty(names)
    joined = {c: columns.join(p) for c, p in parts.items()}
    order = np.argsort(joined["_p"].values, kind="stable")
    return columns.frame({c: columns.take(joined[c], order) for c in names})
