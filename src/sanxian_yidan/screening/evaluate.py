"""Rule evaluation: which projects each rule fires for, and the bilingual messages of the findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..predicates import COVERAGE_UNKNOWN, SEARCH_OUTSIDE, MessageFormatter, fmt_area
from ..roles import role_vocabulary
from ..rules import SEVERITY_EN, SEVERITY_ZH, Rule
from . import coverage as coverage_mod
from .inputs import Layer, Pieces, Projects, pieces_for, where_mask
from .overlay import chunked_call, is_sliver, query_pairs, uncovered_parts
from .settings import ScreeningSettings

__all__ = ["COVERAGE_UNKNOWN", "SEARCH_OUTSIDE", "MessageFormatter", "ScreeningContext", "message_columns",
           "names_per_project", "role_en", "role_zh"]


#: How many feature names a finding lists before it only counts them.
_MAX_NAMES = 5

def names_per_project(n: int, pi: np.ndarray, fi: np.ndarray, layer: Layer,
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


@dataclass
class ScreeningContext:
    """The :class:`sanxian_yidan.predicates.Context` of one screening run, for one rule at a time.

    It hands a predicate the overlay pieces and layers of the run (the pieces of a role are computed on first
    use), and the run's threads, sliver tolerance and data coverage.
    """

    projects: Projects
    layers: dict[str, Layer]
    pieces_by_role: dict[str, Pieces]
    settings: ScreeningSettings
    sliver_m2: float
    coverage: Any
    needed: np.ndarray

    @property
    def n(self) -> int:
        return len(self.projects.ids)

    @property
    def footprints(self) -> np.ndarray:
        return self.projects.footprints

    @property
    def area(self) -> np.ndarray:
        return self.projects.area

    @property
    def attributes(self) -> pd.DataFrame:
        return self.projects.attrs

    @property
    def coverage_known(self) -> bool:
        return bool(self.coverage.known)

    def layer(self, role: str) -> Layer:
        return self.layers[role]

    def pieces(self, role: str) -> Pieces:
        if role not in self.pieces_by_role:
            self.pieces_by_role[role] = pieces_for(self.layers[role], self.projects, self.settings, self.sliver_m2)
        return self.pieces_by_role[role]

    def where_mask(self, rule: Rule) -> tuple[np.ndarray | None, str | None]:
        return where_mask(rule, self.layers[rule.role])

    def names(self, pi: np.ndarray, fi: np.ndarray, role: str, only: np.ndarray | None = None) -> np.ndarray:
        return names_per_project(self.n, pi, fi, self.layers[role], only=only)

    def uncovered(self, base: np.ndarray, pi: np.ndarray, geoms: np.ndarray, area: np.ndarray) -> np.ndarray:
        return uncovered_parts(base, pi, geoms, area, self.projects.area, self.settings.threads,
                               self.settings.min_parallel_pairs)

    def within(self, features: np.ndarray, distance_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.settings
        at = np.flatnonzero(self.needed)
        pi, fi = query_pairs(shapely.STRtree(features), self.footprints[at], s.threads, s.min_parallel_pairs,
                             predicate="dwithin", distance=distance_m)
        pi = at[pi]
        return pi, fi, chunked_call(shapely.distance, (self.footprints[pi], features[fi]), s.threads,
                                    s.min_parallel_pairs, groups=pi)

    def is_sliver(self, area: np.ndarray, perimeter: np.ndarray) -> np.ndarray:
        return is_sliver(area, perimeter, self.sliver_m2, self.settings.sliver_width_m)

    def covered(self, rule: Rule) -> np.ndarray:
        # an absence test is judged where the data are; the coverage rule itself on the whole footprint
        return self.footprints if rule.is_coverage or not self.coverage.known else self.coverage.covered

    def nowhere(self) -> np.ndarray:
        return self.coverage.nowhere

    def search_outside(self, idx: np.ndarray, distance_m: float, role: str) -> tuple[np.ndarray, np.ndarray]:
        return coverage_mod.search_outside(self.coverage, self.projects, idx, distance_m, role, self.settings,
                                           self.sliver_m2)


# ============================================================================================ messages
def role_zh(role: str) -> str:
    return getattr(role_vocabulary().get(role), "zh", role)    # a role outside the vocabulary: its id


def role_en(role: str) -> str:
    return getattr(role_vocabulary().get(role), "en", role)


def message_columns(rule: Rule, kind: str, reason: str | None, area: list[float | None],
                    share: list[float | None], dist: list[float | None], value: list[Any],
                    names: list[str]) -> tuple[list[str], list[str]]:
    """Chinese and English message of each row: the predicate words findings and notes
    (:meth:`~sanxian_yidan.predicates.Predicate.messages`); rules not evaluated are worded here."""
    if kind != "not_evaluated":
        return rule.spec.messages(rule, kind, role_zh(rule.role), role_en(rule.role).lower(), area, share, dist,
                                  value, names)
    fmt = _message_formatter(rule, kind, reason)
    msgs = [fmt(a, s, d, v, nm) for a, s, d, v, nm in zip(area, share, dist, value, names)]
    return [zh for zh, _ in msgs], [en for _, en in msgs]


def _message_formatter(rule: Rule, kind: str, reason: str | None) -> MessageFormatter:
    """Formatter ``fmt(area, share, dist, value, names) -> (message_zh, message_en)`` of a rule not evaluated.

    Everything that does not depend on the project (role names, severity, thresholds, the branch taken) is
    resolved once here, so that formatting thousands of rows costs one call and one f-string per row.
    """
    rz, re_ = role_zh(rule.role), role_en(rule.role).lower()
    sev_zh, sev_en = SEVERITY_ZH[rule.severity], SEVERITY_EN[rule.severity]

    def constant(zh: str, en: str) -> MessageFormatter:
        return lambda _a, _s, _d, _v, _n: (zh, en)

    if reason == SEARCH_OUTSIDE:
        limit = f"{rule.distance_m:,.0f}"

        def edge(area: float | None, share: float | None, _d: Any, _v: Any, _n: str) -> tuple[str, str]:
            a, pct = fmt_area(area or 0), f"{(share or 0):.1%}"
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
            f"未评估：项目有 {fmt_area(area or 0)}（{(share or 0):.1%}）不在{rz}内，但图层目录没有数据覆盖范围图层"
            f"（admin_boundary），无法判断那里是确实没有{rz}还是没有数据。",
            (f"Not evaluated: {fmt_area(area or 0)} ({(share or 0):.1%}) of the project is outside every "
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
