"""Rule evaluation: which projects each rule fires for, and the bilingual messages of the findings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..geomutil import OVERLAY_NOISE_M2
from ..roles import role_vocabulary
from ..rules import (
    SEVERITY_EN,
    SEVERITY_ZH,
    Condition,
    Rule,
)
from .inputs import _Layer, _Pieces, _Projects
from .overlay import _chunked, _is_sliver, _query, _uncovered
from .result import _clean
from .settings import ScreeningSettings

logger = logging.getLogger(__name__)

#: ``reason`` of a not-evaluated row whose search area leaves the coverage (``coverage.SEARCH_OUTSIDE``).
SEARCH_OUTSIDE = "search_outside_coverage"
#: ``reason`` of an absence test that fired while the catalog has no coverage layer.
COVERAGE_UNKNOWN = "coverage_unknown"

#: How many feature names a finding lists before it only counts them.
_MAX_NAMES = 5

# ============================================================================================ evaluation
@dataclass
class _Hits:
    """Per-project outcome of one rule's spatial/attribute test (arrays of length n_projects)."""

    fired: np.ndarray
    note: np.ndarray
    area: np.ndarray | None = None
    share: np.ndarray | None = None
    distance: np.ndarray | None = None
    value: list[Any] | None = None
    names: np.ndarray | list[str] | None = None
    synthetic: np.ndarray | None = None
    missing_reason: str | None = None


def _names_per_project(n: int, pi: np.ndarray, fi: np.ndarray, layer: _Layer,
                       only: np.ndarray | None = None) -> np.ndarray:
    """Distinct labels of the features ``fi`` per project ``pi``, joined with '; ' (for projects where
    ``only`` is True).

    Labels keep the order of the pairs; after ``_MAX_NAMES`` names only the count of the others is given.
    Vectorised: duplicates are found on the layer's label codes, and the text is joined in one pass per name
    position (at most ``_MAX_NAMES``), not one per project.
    """
    out = np.full(n, "", dtype=object)
    if only is not None:
        keep = only[pi]
        pi, fi = pi[keep], fi[keep]
    if len(pi) == 0:
        return out
    order = np.argsort(pi, kind="stable")
    p, f = pi[order], fi[order]
    out[p] = layer.labels[f]                              # projects with one piece: the label as it is
    multi = np.bincount(p, minlength=n)[p] > 1
    if not multi.any():
        return out
    # projects with several pieces: distinct labels (first appearance first), joined as text
    p, f = p[multi], f[multi]
    codes, n_codes = layer.label_codes
    first = ~pd.Series(p.astype(np.int64) * n_codes + codes[f]).duplicated().to_numpy()
    p, lab = p[first], layer.labels[f[first]]
    if layer.labels_missing:                              # e.g. pd.NA: joined as its text, like str.join would
        missing = pd.isna(lab)
        lab = lab.copy()
        lab[missing] = [str(x) for x in lab[missing]]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    counts = np.diff(np.r_[starts, len(p)])
    rank = np.arange(len(p)) - np.repeat(starts, counts)
    out[p[starts]] = lab[starts]
    later = rank > 0
    p_later, rank, sep_lab = p[later], rank[later], "; " + lab[later]
    for r in range(1, min(_MAX_NAMES, int(counts.max()))):
        at = rank == r
        out[p_later[at]] += sep_lab[at]
    for start, count in zip(starts[counts > _MAX_NAMES].tolist(), counts[counts > _MAX_NAMES].tolist()):
        out[p[start]] += f"; … (+{count - _MAX_NAMES})"
    return out


def _where_mask(rule: Rule, layer: _Layer) -> tuple[np.ndarray | None, str | None]:
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


def _eval_overlap(rule: Rule, layer: _Layer, pieces: _Pieces, projects: _Projects,
                  settings: ScreeningSettings, needed: np.ndarray) -> _Hits:
    n = len(projects.ids)
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    sel = mask[pieces.fi] & needed[pieces.pi]
    pi, fi, area, sliver = pieces.pi[sel], pieces.fi[sel], pieces.area[sel], pieces.sliver[sel]
    real = ~sliver
    area_sum = np.bincount(pi[real], weights=area[real], minlength=n)
    has_real = np.bincount(pi[real], minlength=n) > 0
    has_sliver = np.bincount(pi[sliver], minlength=n) > 0
    synthetic = np.bincount(pi[real], weights=layer.synthetic[fi[real]].astype(float), minlength=n) > 0
    if rule.predicate == "intersects":
        fired = has_real
        share = area_sum / projects.area
    else:  # overlap_share_above: share of the union of matching features
        uncovered = _uncovered(projects.footprints, pi, pieces.geoms[sel], area, projects.area, settings.threads,
                               settings.min_parallel_pairs)
        out_area = shapely.area(uncovered)
        covered = np.clip(projects.area - np.where(out_area < OVERLAY_NOISE_M2, 0.0, out_area), 0.0, None)
        share = covered / projects.area
        fired = has_real & (share > rule.share)
        area_sum = covered
    note = has_sliver & ~has_real
    real_names = _names_per_project(n, pi[real], fi[real], layer, only=fired)
    sliver_names = _names_per_project(n, pi[sliver], fi[sliver], layer, only=note)
    names = np.where(has_real, real_names, sliver_names)
    sliver_area = np.bincount(pi[sliver], weights=area[sliver], minlength=n)
    area_sum = np.where(note, sliver_area, area_sum)
    share = np.where(note, sliver_area / projects.area, share)
    return _Hits(fired, note, area=area_sum, share=share, names=names, synthetic=synthetic)


def _eval_line_intersects(rule: Rule, layer: _Layer, projects: _Projects, needed: np.ndarray) -> _Hits:
    n = len(projects.ids)
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    feats = layer.geoms[mask]
    fidx = np.flatnonzero(mask)
    tree = shapely.STRtree(feats)
    at = np.flatnonzero(needed)
    pi, fi = tree.query(projects.footprints[at], predicate="intersects")
    pi = at[pi]
    crossing = ~shapely.touches(projects.footprints[pi], feats[fi])
    pi, fi = pi[crossing], fi[crossing]
    length = shapely.length(shapely.intersection(projects.footprints[pi], feats[fi]))
    fired = np.bincount(pi, minlength=n) > 0
    synthetic = np.bincount(pi, weights=layer.synthetic[fidx[fi]].astype(float), minlength=n) > 0
    return _Hits(fired, np.zeros(n, bool), area=np.bincount(pi, weights=length, minlength=n),
                 names=_names_per_project(n, pi, fidx[fi], layer, only=fired), synthetic=synthetic)


def _eval_distance(rule: Rule, layer: _Layer, projects: _Projects, settings: ScreeningSettings,
                   needed: np.ndarray) -> _Hits:
    n = len(projects.ids)
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    feats = layer.geoms[mask]
    fidx = np.flatnonzero(mask)
    dist = np.full(n, np.inf)
    nearest = np.full(n, -1)
    if len(feats):
        tree = shapely.STRtree(feats)
        at = np.flatnonzero(needed)
        pi, fi = _query(tree, projects.footprints[at], settings.threads, settings.min_parallel_pairs,
                        predicate="dwithin", distance=rule.distance_m)
        pi = at[pi]
        if len(pi):
            d = _chunked(shapely.distance, (projects.footprints[pi], feats[fi]), settings.threads,
                         settings.min_parallel_pairs, groups=pi)
            order = np.lexsort((d, pi))            # per project, nearest first
            pi_o, fi_o, d_o = pi[order], fi[order], d[order]
            first = np.r_[True, pi_o[1:] != pi_o[:-1]]
            dist[pi_o[first]] = d_o[first]
            nearest[pi_o[first]] = fidx[fi_o[first]]
    fired = dist <= rule.distance_m
    found = nearest >= 0
    names = np.full(n, "", dtype=object)
    if found.any():
        names[found] = layer.labels[nearest[found]]
    synthetic = np.zeros(n, dtype=bool)
    synthetic[found] = layer.synthetic[nearest[found]]
    return _Hits(fired, np.zeros(n, bool), distance=np.where(np.isfinite(dist), dist, np.nan), names=names,
                 synthetic=synthetic)


def _eval_outside(rule: Rule, layer: _Layer, pieces: _Pieces, projects: _Projects, sliver_m2: float,
                  settings: ScreeningSettings, needed: np.ndarray, base: np.ndarray | None = None) -> _Hits:
    """Part of each footprint outside the matching features.

    ``base`` replaces the footprints as the area tested (the covered part of each footprint, for rules other
    than the coverage rule: the absence of a feature is only a finding where the data cover the place).  The
    pieces are those of the whole footprints; shares are of the whole footprint.
    """
    n = len(projects.ids)
    base = projects.footprints if base is None else base
    mask, missing = _where_mask(rule, layer)
    if mask is None:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    sel = mask[pieces.fi] & needed[pieces.pi]
    uncovered = _uncovered(base, pieces.pi[sel], pieces.geoms[sel], pieces.area[sel], projects.area,
                           settings.threads, settings.min_parallel_pairs)
    out_area = shapely.area(uncovered)
    out_area = np.where(out_area < OVERLAY_NOISE_M2, 0.0, out_area)
    perim = shapely.length(uncovered)
    sliver = _is_sliver(out_area, perim, sliver_m2, settings.sliver_width_m)
    outside = out_area > 0
    fired = outside & ~sliver
    note = outside & sliver
    return _Hits(fired, note, area=out_area, share=out_area / projects.area,
                 names=[""] * n, synthetic=np.full(n, bool(layer.synthetic.any())))


def _eval_attribute(rule: Rule, projects: _Projects) -> _Hits:
    """Test a project attribute; ``note`` marks projects whose value is missing (cannot be evaluated)."""
    n = len(projects.ids)
    assert rule.test is not None
    fld = rule.test.field
    if fld not in projects.attrs.columns:
        return _Hits(np.zeros(n, bool), np.zeros(n, bool),
                     missing_reason=f"project attribute '{fld}' missing (columns: "
                                    f"{[c for c in projects.attrs.columns if not c.startswith('_')]})")
    values = projects.attrs[fld]
    return _Hits(rule.test.evaluate(values), rule.test.missing(values), value=[_clean(v) for v in values.tolist()],
                 names=[""] * n, synthetic=np.zeros(n, bool))


# ============================================================================================ messages
def _role_zh(role: str) -> str:
    vocab = role_vocabulary()
    return vocab[role].zh if role in vocab else role


def _role_en(role: str) -> str:
    vocab = role_vocabulary()
    return vocab[role].en if role in vocab else role


def _fmt_area(a: float) -> str:
    return f"{a:,.0f} m²" if a >= 10 else f"{a:,.2f} m²"


def _message_columns(rule: Rule, kind: str, reason: str | None, area: list[float | None],
                     share: list[float | None], dist: list[float | None], value: list[Any],
                     names: list[str]) -> tuple[list[str], list[str]]:
    """Chinese and English message of each row (see :func:`_message_formatter` for the texts).

    The common case — an overlap finding with its area and share — is formatted column-wise in list
    comprehensions; the other cases call the rule's formatter once per row.
    """
    if (kind == "finding" and rule.predicate in ("intersects", "overlap_share_above")
            and None not in area and None not in share):
        rz, re_ = _role_zh(rule.role), _role_en(rule.role).lower()
        a_txt = [f"{a:,.0f} m²" if a >= 10 else f"{a:,.2f} m²" for a in area]     # _fmt_area
        pct = [f"{s:.1%}" for s in share]
        zh = [f"与{rz}重叠 {a}（占项目 {p}）：{nm}" if nm else f"与{rz}重叠 {a}（占项目 {p}）"
              for a, p, nm in zip(a_txt, pct, names)]
        en = [f"Overlaps the {re_} by {a} ({p} of the project): {nm}." if nm
              else f"Overlaps the {re_} by {a} ({p} of the project)." for a, p, nm in zip(a_txt, pct, names)]
        return zh, en
    fmt = _message_formatter(rule, kind, reason)
    msgs = [fmt(a, s, d, v, nm) for a, s, d, v, nm in zip(area, share, dist, value, names)]
    return [zh for zh, _ in msgs], [en for _, en in msgs]


MessageFormatter = Callable[[float | None, float | None, float | None, Any, str], tuple[str, str]]


def _message_formatter(rule: Rule, kind: str, reason: str | None) -> MessageFormatter:
    """Formatter ``fmt(area, share, dist, value, names) -> (message_zh, message_en)`` for one rule and kind.

    Everything that does not depend on the project (role names, severity, thresholds, the branch taken) is
    resolved once here, so that formatting thousands of rows costs one call and one f-string per row.
    """
    rz, re_ = _role_zh(rule.role), _role_en(rule.role).lower()
    sev_zh, sev_en = SEVERITY_ZH[rule.severity], SEVERITY_EN[rule.severity]

    def constant(zh: str, en: str) -> MessageFormatter:
        return lambda _a, _s, _d, _v, _n: (zh, en)

    if kind == "not_evaluated":
        if reason == SEARCH_OUTSIDE:
            limit = f"{rule.distance_m:,.0f}"

            def edge(area: float | None, share: float | None, _d: Any, _v: Any, _n: str) -> tuple[str, str]:
                a, pct = _fmt_area(area or 0), f"{(share or 0):.1%}"
                if pct == "100.0%":
                    return (f"未评估：{limit} m 搜索范围全部位于分区管控数据覆盖范围之外，那里是否有{rz}未知。",
                            f"Not evaluated: the whole {limit} m search area lies outside the coverage of the "
                            f"zoning data, where it is unknown whether there is a {re_}.")
                return (f"部分未评估：{limit} m 搜索范围有 {pct}（{a}）位于分区管控数据覆盖范围之外，那里是否有{rz}未知；"
                        f"覆盖范围内 {limit} m 以内未发现{rz}。",
                        f"Partly not evaluated: {pct} ({a}) of the {limit} m search area lies outside the coverage "
                        f"of the zoning data, where it is unknown whether there is a {re_}; none was found within "
                        f"{limit} m inside the coverage.")
            return edge
        if reason == COVERAGE_UNKNOWN:
            return lambda area, share, _d, _v, _n: (
                f"未评估：项目有 {_fmt_area(area or 0)}（{(share or 0):.1%}）不在{rz}内，但图层目录没有数据覆盖范围图层"
                f"（admin_boundary），无法判断那里是确实没有{rz}还是没有数据。",
                (f"Not evaluated: {_fmt_area(area or 0)} ({(share or 0):.1%}) of the project is outside every "
                 f"{re_}, but the catalog has no coverage layer (admin_boundary), so it cannot be said whether "
                 f"there is no {re_} there or no data."))
        if reason == "layer_missing":
            return constant(f"未评估：图层目录中没有“{rz}”图层（{rule.role}）；规则未能检验。",
                            f"Not evaluated: layer missing — the catalog has no '{rule.role}' layer ({re_}).")
        if reason and reason.startswith("field"):
            return constant(f"未评估：图层缺少所需字段（{reason}）。", f"Not evaluated: {reason}.")
        if reason == "attribute_unknown":
            fld = rule.test.field if rule.test else ""
            return constant(f"未评估：项目缺少属性“{fld}”，无法判断。",
                            f"Not evaluated: the project has no value for '{fld}'.")
        applies = rule.applies_to.describe()
        zh0 = f"未评估：项目行业代码或类型未知，无法判断本规则是否适用；若适用（{applies}），结论为“{sev_zh}”。位置条件已满足"
        en0 = (f"Not evaluated: the project's industry or type is unknown, so it cannot be said whether the rule "
               f"applies ({applies}); if it does, the finding is '{sev_en}'. The location test is met")
        return lambda _a, _s, _d, _v, names: (zh0 + (f"：{names}" if names else ""),
                                              en0 + (f": {names}" if names else "") + ".")
    if kind == "note":
        if rule.predicate == "outside_coverage":
            return lambda area, _s, _d, _v, _n: (
                f"仅有细小部分（{_fmt_area(area or 0)}）位于{rz}范围之外，低于细小碎片容差，不计。",
                (f"Only a sliver ({_fmt_area(area or 0)}) lies outside the {re_}; below the sliver tolerance, "
                 "not counted."))
        return lambda _a, _s, _d, _v, names: (
            f"与{rz}仅有细小碎片重叠（低于容差），不计为重叠" + (f"：{names}" if names else ""),
            f"Only sliver overlap with the {re_} (below the tolerance), not counted as an overlap"
            + (f": {names}" if names else "") + ".")
    if rule.predicate in ("intersects", "overlap_share_above"):
        def overlap(area: float | None, share: float | None, _d: Any, _v: Any, names: str) -> tuple[str, str]:
            if area is not None and share is not None:
                a, pct = _fmt_area(area), f"{share:.1%}"
                if names:
                    return (f"与{rz}重叠 {a}（占项目 {pct}）：{names}",
                            f"Overlaps the {re_} by {a} ({pct} of the project): {names}.")
                return f"与{rz}重叠 {a}（占项目 {pct}）", f"Overlaps the {re_} by {a} ({pct} of the project)."
            return (f"与{rz}相交" + (f"：{names}" if names else ""),
                    f"Crosses the {re_}" + (f": {names}" if names else "") + ".")
        return overlap
    if rule.predicate == "within_distance":
        limit = f"{rule.distance_m:,.0f}"
        return lambda _a, _s, dist, _v, names: (f"距{rz}“{names}” {dist:,.0f} m（规则阈值 ≤ {limit} m）",
                                                f"{dist:,.0f} m from the {re_} '{names}' (rule threshold ≤ {limit} m).")
    if rule.predicate == "outside_coverage":
        if rule.is_coverage:
            return lambda area, share, _d, _v, _n: (
                f"项目有 {_fmt_area(area or 0)}（{(share or 0):.1%}）位于分区管控数据覆盖范围（{rz}）之外，该部分无法研判。",
                (f"{_fmt_area(area or 0)} ({(share or 0):.1%}) of the project lies outside the coverage of the "
                 f"zoning data ({re_}); that part cannot be screened."))
        return lambda area, share, _d, _v, _n: (
            f"项目有 {_fmt_area(area or 0)}（{(share or 0):.1%}）位于{rz}之外。",
            f"{_fmt_area(area or 0)} ({(share or 0):.1%}) of the project lies outside the {re_}.")
    assert rule.test is not None
    test = rule.test
    return lambda _a, _s, _d, value, _n: attribute_message(test.field, test.op, test.value, value)


#: Plain wording of the attribute-test operators (Chinese, English) for planners.
_OP_WORDS = {"==": ("为", "is"), "!=": ("不是", "is not"), "in": ("属于", "is one of"),
             "not_in": ("不属于", "is none of"), "startswith": ("属于以下行业（代码开头）", "falls under"),
             ">": ("大于", "is above"), ">=": ("不小于", "is at least"), "<": ("小于", "is below"),
             "<=": ("不大于", "is at most")}


def _plain(value: Any, zh: bool) -> str:
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if isinstance(value, (list, tuple)):
        return ("、" if zh else ", ").join(_plain(v, zh) for v in value)
    return str(value)


def attribute_message(field: str, op: str, expected: Any, value: Any) -> tuple[str, str]:
    """A project-attribute finding in plain Chinese and English, e.g. ``项目属于“两高”行业。``.

    Parameters
    ----------
    field : str
        Project attribute the rule tests (``two_high``, ``industry``, ...).
    op : str
        Operator of the test (``==``, ``in``, ``startswith``, ...).
    expected : Any
        Value(s) the rule tests against.
    value : Any
        The project's value.
    """
    if field == "two_high" and op == "==" and expected is True:
        return ("项目属于“两高”（高耗能、高排放）行业。",
                "The project belongs to a 两高 (energy-intensive, high-emission) industry.")
    from ..columns import describe

    col = describe(field)
    zh_name, en_name = (col.zh, col.en) if col else (field, field)
    op_zh, op_en = _OP_WORDS.get(op, (op, op))
    if op == "startswith":
        return (f"项目{zh_name} {_plain(value, True)} 属于本规则所列行业（代码以 {_plain(expected, True)} 开头）。",
                f"The project's {en_name.lower()} {_plain(value, False)} falls under the industries this rule "
                f"lists (codes starting with {_plain(expected, False)}).")
    return (f"项目{zh_name}为 {_plain(value, True)}，本规则适用于{zh_name}{op_zh} {_plain(expected, True)} 的项目。",
            f"The project's {en_name} is {_plain(value, False)}; the rule applies where it {op_en} "
            f"{_plain(expected, False)}.")


