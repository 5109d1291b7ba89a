"""The screening predicates, one registry: what each declares and how it is evaluated, described and worded.

A predicate is what a rule tests (``predicate = "within_distance"`` in ``data/rules.toml``).  Each one here
declares

* its parameters (:class:`Param`: name, type, unit, bounds, required or not) — the rule loader
  (:func:`sanxian_yidan.rules.load_rules`) checks a rule's ``[params]`` against them and names the rule, the
  file and the allowed parameters on a mismatch;
* what it tests (:attr:`Predicate.target`: features of the rule's layer role, or the project itself) and the
  geometry the role must have;
* which tables screening prepares for it: the overlay pieces of the role (:attr:`Predicate.uses_overlay`)
  and/or the role's nearest-feature distances (:attr:`Predicate.uses_distance`);
* how it is evaluated, vectorised over all projects (:meth:`Predicate.evaluate`, given a :class:`Context`);
* which rows it contributes (:meth:`Predicate.outcomes`: findings, notes, rules not evaluated);
* how it is described (:meth:`Predicate.describe`, :meth:`Predicate.describe_zh`) and the messages of its
  findings and notes (:meth:`Predicate.message`).

Adding a predicate means one subclass of :class:`Predicate` passed to :func:`register` (here, or in a module of
one's own imported before the rules are loaded) and rules using it in a rule file.  See ``CONTRIBUTING.md``.

This module knows nothing of the screening internals: evaluation goes through the :class:`Context` protocol,
which :mod:`sanxian_yidan.screening` implements over its overlay and distance tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol

import numpy as np
import pandas as pd
import shapely

from .conditions import Condition, parse_condition, parse_number, parse_where
from .geomutil import OVERLAY_NOISE_M2

__all__ = ["WHERE", "Context", "Hits", "MessageFormatter", "Outcome", "Param", "Predicate", "fmt_area",
           "measures_overlap", "predicate", "predicates", "register", "unregister"]

#: ``fmt(area, share, distance, value, names) -> (message_zh, message_en)`` for one row.
MessageFormatter = Callable[[float | None, float | None, float | None, Any, str], tuple[str, str]]
#: Reasons of not-evaluated rows that are decided by a predicate (the text is in the message).
SEARCH_OUTSIDE = "search_outside_coverage"
COVERAGE_UNKNOWN = "coverage_unknown"
ATTRIBUTE_UNKNOWN = "attribute_unknown"
UNDETERMINED = "undetermined"


# ================================================================================================ parameters
@dataclass(frozen=True)
class Param:
    """One parameter of a predicate (a key of a rule's ``[params]``).

    Attributes
    ----------
    name : str
        Key in ``[params]``.
    kind : str
        ``"conditions"`` (``where``: a table or list of ``{field, op, value}``), ``"number"`` (a finite number
        within ``low``/``high``) or ``"any"`` (checked by the predicate's own :meth:`Predicate.parse`).
    unit : str
        Unit shown in errors and descriptions (``m``, ``fraction of the project area, 0-1``).
    required : bool
        A rule with this predicate must give it.
    low, high : float, optional
        Bounds of a number (``low_open``: ``low`` itself is not allowed).
    """

    name: str
    kind: str = "any"
    unit: str = ""
    required: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False


#: The ``where`` filter every layer predicate accepts.
WHERE = Param("where", "conditions")


# ================================================================================================== context
@dataclass
class Hits:
    """Per-project outcome of one rule's test (arrays of length n_projects).

    Attributes
    ----------
    fired : numpy.ndarray of bool
        The test holds (a finding, when the rule applies).
    note : numpy.ndarray of bool
        A note instead (sliver overlap; for attribute tests: the value is missing).
    area, share, distance : numpy.ndarray, optional
        Measured overlap or outside area [m²], its share of the project [0-1], distance [m].
    value : list, optional
        The project attribute tested.
    names : array or list of str, optional
        Names of the features concerned.
    synthetic : numpy.ndarray of bool, optional
        The features concerned are synthetic sample data.
    missing_reason : str, optional
        Why the test could not run at all (a field missing): every project is then "not evaluated".
    """

    fired: np.ndarray
    note: np.ndarray
    area: np.ndarray | None = None
    share: np.ndarray | None = None
    distance: np.ndarray | None = None
    value: list[Any] | None = None
    names: np.ndarray | list[str] | None = None
    synthetic: np.ndarray | None = None
    missing_reason: str | None = None


class Outcome(NamedTuple):
    """Rows one rule contributes: ``kind`` (finding, note, not_evaluated) for the projects where ``mask``."""

    mask: np.ndarray
    kind: str
    hits: Hits | None
    reason: str | None = None


class Context(Protocol):
    """What screening offers a predicate to evaluate one rule (:mod:`sanxian_yidan.screening` implements it).

    Attributes
    ----------
    n : int
        Number of projects.
    needed : numpy.ndarray of bool
        Projects the rule applies to or may apply to; values for the others are not used.
    footprints : numpy.ndarray of shapely polygons
        Project footprints in the working CRS (metres).
    area : numpy.ndarray
        Footprint areas [m²].
    attributes : pandas.DataFrame
        Project attributes (``industry``, ``project_type``, ``two_high``, ``area_m2`` and the input columns).
    coverage_known : bool
        The catalog has a coverage layer (``admin_boundary``).
    """

    # Read-only: a predicate reads them, and an implementation may compute them (properties).
    @property
    def n(self) -> int: ...

    @property
    def needed(self) -> np.ndarray: ...

    @property
    def footprints(self) -> np.ndarray: ...

    @property
    def area(self) -> np.ndarray: ...

    @property
    def attributes(self) -> pd.DataFrame: ...

    @property
    def coverage_known(self) -> bool: ...

    def layer(self, role: str) -> Any:
        """The role's layer: ``geoms``, ``synthetic`` (bool per feature), ``polygonal``, ``labels``."""

    def pieces(self, role: str) -> Any:
        """The role's overlay table: ``pi``, ``fi`` (project, feature), ``area`` [m²], ``sliver``, ``geoms``."""

    def where_mask(self, rule: Any) -> tuple[np.ndarray | None, str | None]:
        """Features of the rule's layer passing its ``where`` filter, or ``(None, reason)``."""

    def names(self, pi: np.ndarray, fi: np.ndarray, role: str, only: np.ndarray | None = None) -> np.ndarray:
        """Distinct feature names per project (``'; '``-joined, at most five) for the pairs ``pi``/``fi``."""

    def uncovered(self, base: np.ndarray, pi: np.ndarray, geoms: np.ndarray, area: np.ndarray) -> np.ndarray:
        """Part of each ``base`` geometry not covered by its pieces ``geoms`` (``pi``: project of each)."""

    def within(self, features: np.ndarray, distance_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (project, feature, distance [m]) of needed projects and ``features`` within ``distance_m``."""

    def is_sliver(self, area: np.ndarray, perimeter: np.ndarray) -> np.ndarray:
        """True where a piece of ``area`` [m²] and ``perimeter`` [m] is below the sliver tolerance."""

    def covered(self, rule: Any) -> np.ndarray:
        """The part of each footprint an absence test is judged on (the covered part, or the footprint)."""

    def nowhere(self) -> np.ndarray:
        """True for projects wholly outside the data coverage."""

    def search_outside(self, idx: np.ndarray, distance_m: float, role: str) -> tuple[np.ndarray, np.ndarray]:
        """Area [m²] and share of the search area (footprint buffered by ``distance_m``) outside the coverage."""


# ================================================================================================ predicates
class Predicate:
    """Base of the screening predicates; subclasses set the class attributes and override what differs."""

    #: Name used in rule files.
    name: ClassVar[str] = ""
    #: Parameters (keys of ``[params]``).
    params: ClassVar[tuple[Param, ...]] = (WHERE,)
    #: ``"layer"``: tests the features of the rule's role; ``"project"``: the project's own attributes.
    target: ClassVar[str] = "layer"
    #: Geometry families the role must include (``()``: any vector role).
    geometry: ClassVar[tuple[str, ...]] = ()
    #: Screening prepares the overlay pieces of the role / its distances for this predicate.
    uses_overlay: ClassVar[bool] = False
    uses_distance: ClassVar[bool] = False
    #: Rules with this predicate may carry the ``outside_coverage`` severity (the data-coverage rule).
    coverage_severity: ClassVar[bool] = False
    #: Findings measure an overlap area (the sheet words them as land occupied).
    measures_overlap: ClassVar[bool] = False

    def parse(self, params: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
        """Check ``params`` against :attr:`params`; return the parsed values (problems appended to ``problems``)."""
        declared = {p.name: p for p in self.params}
        for key in sorted(set(params) - set(declared)):
            problems.append(f"{where}: key 'params.{key}' is not a parameter of '{self.name}' "
                            f"(allowed: {sorted(declared)})")
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name not in params:
                if p.required:
                    problems.append(f"{where}: predicate '{self.name}' needs 'params.{p.name}'")
                continue
            value = params[p.name]
            if p.kind == "conditions":
                out[p.name] = parse_where(value, where, problems)
            elif p.kind == "number":
                out[p.name] = parse_number(value, f"{where}: key 'params.{p.name}'", problems, low=p.low or 0.0,
                                           high=p.high, low_open=p.low_open, unit=p.unit)
            else:
                out[p.name] = value
        return out

    def evaluate(self, rule: Any, ctx: Context) -> Hits:
        """Test ``rule`` for every project at once."""
        raise NotImplementedError

    def outcomes(self, rule: Any, hits: Hits, applies: np.ndarray, undetermined: np.ndarray,
                 ctx: Context) -> list[Outcome]:
        """Rows of the rule: findings where it applies, not-evaluated rows where applicability is unknown, notes."""
        return [Outcome(hits.fired & applies, "finding", hits),
                Outcome(hits.fired & undetermined, "not_evaluated", hits, UNDETERMINED),
                Outcome(hits.note & (applies | undetermined), "note", hits)]

    def describe(self, rule: Any) -> str:
        """Readable test with parameters (English), e.g. ``within_distance 1000 m of river where ...``."""
        return f"{self.name} {rule.role}{_where_text(rule)}"

    def describe_zh(self, rule: Any, role_zh: str) -> str:
        """The test in Chinese, for reports and sheets."""
        return f"{self.name}：{role_zh}{_where_text(rule, zh=True)}"

    def message(self, rule: Any, kind: str, role_zh: str, role_en: str) -> MessageFormatter:
        """Formatter of the message of a ``finding`` or ``note`` row of ``rule`` (resolved once per rule)."""
        raise NotImplementedError

    def messages(self, rule: Any, kind: str, role_zh: str, role_en: str, area: list[float | None],
                 share: list[float | None], dist: list[float | None], value: list[Any],
                 names: list[str]) -> tuple[list[str], list[str]]:
        """Chinese and English messages of many rows (one formatter call per row; override to vectorise)."""
        fmt = self.message(rule, kind, role_zh, role_en)
        msgs = [fmt(a, s, d, v, nm) for a, s, d, v, nm in zip(area, share, dist, value, names)]
        return [zh for zh, _ in msgs], [en for _, en in msgs]


def _where_text(rule: Any, *, zh: bool = False) -> str:
    if not rule.where:
        return ""
    conditions = " and ".join(c.describe() for c in rule.where)
    return f"（要素条件：{conditions}）" if zh else f" where {conditions}"


def fmt_area(a: float) -> str:
    """An area for a message: ``1,234 m²`` (two decimals below 10 m²)."""
    return f"{a:,.0f} m²" if a >= 10 else f"{a:,.2f} m²"


def _named(text: str, names: str, sep: str = "：") -> str:
    return text + (f"{sep}{names}" if names else "")


class Intersects(Predicate):
    """The footprint shares *area* with a matching feature (lines and points: crosses the footprint's interior).

    A footprint that only touches a boundary does not intersect.  Overlap pieces below the sliver tolerance
    (``data/screening.toml``) are notes, not findings.
    """

    name = "intersects"
    uses_overlay = True
    measures_overlap = True

    def evaluate(self, rule: Any, ctx: Context) -> Hits:
        if not ctx.layer(rule.role).polygonal:
            return _line_crossings(rule, ctx)
        return _overlap(rule, ctx, share_above=None)

    def describe_zh(self, rule: Any, role_zh: str) -> str:
        return f"与{role_zh}相交{_where_text(rule, zh=True)}"

    def message(self, rule: Any, kind: str, role_zh: str, role_en: str) -> MessageFormatter:
        if kind == "note":
            return lambda _a, _s, _d, _v, names: (
                _named(f"与{role_zh}仅有细小碎片重叠（低于容差），不计为重叠", names),
                _named(f"Only sliver overlap with the {role_en} (below the tolerance), not counted as an overlap",
                       names, ": ") + ".")

        def overlap(area: float | None, share: float | None, _d: Any, _v: Any, names: str) -> tuple[str, str]:
            if area is not None and share is not None:
                a, pct = fmt_area(area), f"{share:.1%}"
                return (_named(f"与{role_zh}重叠 {a}（占项目 {pct}）", names),
                        _named(f"Overlaps the {role_en} by {a} ({pct} of the project)", names, ": ") + ".")
            return _named(f"与{role_zh}相交", names), _named(f"Crosses the {role_en}", names, ": ") + "."
        return overlap

    def messages(self, rule: Any, kind: str, role_zh: str, role_en: str, area: list[float | None],
                 share: list[float | None], dist: list[float | None], value: list[Any],
                 names: list[str]) -> tuple[list[str], list[str]]:
        # the common case (overlap findings with area and share) column-wise: thousands of rows, one f-string each
        if kind != "finding" or None in area or None in share:
            return super().messages(rule, kind, role_zh, role_en, area, share, dist, value, names)
        a_txt = [fmt_area(a) for a in area if a is not None]   # None excluded above: all kept
        pct = [f"{s:.1%}" for s in share]
        zh = [f"与{role_zh}重叠 {a}（占项目 {p}）：{nm}" if nm else f"与{role_zh}重叠 {a}（占项目 {p}）"
              for a, p, nm in zip(a_txt, pct, names)]
        en = [f"Overlaps the {role_en} by {a} ({p} of the project): {nm}." if nm
              else f"Overlaps the {role_en} by {a} ({p} of the project)." for a, p, nm in zip(a_txt, pct, names)]
        return zh, en


class OverlapShareAbove(Intersects):
    """Like ``intersects``, but only when the union of matching features covers more than ``share`` of the
    project's area."""

    name = "overlap_share_above"
    params = (Param("share", "number", "fraction of the project area, 0-1", required=True, low=0.0, high=1.0),
              WHERE)
    geometry = ("polygon",)

    def evaluate(self, rule: Any, ctx: Context) -> Hits:
        if not ctx.layer(rule.role).polygonal:
            return _not_polygonal(rule, ctx)
        return _overlap(rule, ctx, share_above=rule.share)

    def describe(self, rule: Any) -> str:
        return f"{self.name} {rule.share:g} of area in {rule.role}{_where_text(rule)}"

    def describe_zh(self, rule: Any, role_zh: str) -> str:
        return f"与{role_zh}重叠超过项目面积的 {rule.share:.0%}{_where_text(rule, zh=True)}"


class WithinDistance(Predicate):
    """The nearest matching feature is at most ``distance_m`` from the footprint (overlap = 0 m)."""

    name = "within_distance"
    params = (Param("distance_m", "number", "m", required=True, low=0.0, low_open=True), WHERE)
    uses_distance = True

    def evaluate(self, rule: Any, ctx: Context) -> Hits:
        n = ctx.n
        mask, missing = ctx.where_mask(rule)
        if mask is None:
            return Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
        layer = ctx.layer(rule.role)
        fidx = np.flatnonzero(mask)
        dist = np.full(n, np.inf)
        nearest = np.full(n, -1)
        if len(fidx):
            pi, fi, d = ctx.within(layer.geoms[mask], rule.distance_m)
            if len(pi):
                order = np.lexsort((d, pi))            # per project, nearest first
                pi_o, fi_o, d_o = pi[order], fi[order], d[order]
                first = np.r_[True, pi_o[1:] != pi_o[:-1]]
                dist[pi_o[first]] = d_o[first]
                nearest[pi_o[first]] = fidx[fi_o[first]]
        found = nearest >= 0
        names = np.full(n, "", dtype=object)
        names[found] = layer.labels[nearest[found]]
        synthetic = np.zeros(n, dtype=bool)
        synthetic[found] = layer.synthetic[nearest[found]]
        return Hits(dist <= rule.distance_m, np.zeros(n, bool), distance=np.where(np.isfinite(dist), dist, np.nan),
                    names=names, synthetic=synthetic)

    def outcomes(self, rule: Any, hits: Hits, applies: np.ndarray, undetermined: np.ndarray,
                 ctx: Context) -> list[Outcome]:
        rows = super().outcomes(rule, hits, applies, undetermined, ctx)
        if ctx.coverage_known:
            # Nothing found within the distance is only "clear" where the data cover the search area.
            clear = np.flatnonzero((applies | undetermined) & ~hits.fired)
            out_area, out_share = ctx.search_outside(clear, float(rule.distance_m), rule.role)
            partly = out_area > 0
            # The part inside the coverage was judged clear on the rule's layer: its synthetic flag carries over.
            edge = Hits(partly, np.zeros(ctx.n, bool), area=out_area, share=out_share, names=[""] * ctx.n,
                        synthetic=np.full(ctx.n, bool(ctx.layer(rule.role).synthetic.any())))
            rows.append(Outcome(partly, "not_evaluated", edge, SEARCH_OUTSIDE))
        return rows

    def describe(self, rule: Any) -> str:
        return f"{self.name} {rule.distance_m:g} m of {rule.role}{_where_text(rule)}"

    def describe_zh(self, rule: Any, role_zh: str) -> str:
        return f"距{role_zh} {rule.distance_m:g} m 以内{_where_text(rule, zh=True)}"

    def message(self, rule: Any, kind: str, role_zh: str, role_en: str) -> MessageFormatter:
        limit = f"{rule.distance_m:,.0f}"
        return lambda _a, _s, dist, _v, names: (f"距{role_zh}“{names}” {dist:,.0f} m（规则阈值 ≤ {limit} m）",
                                                f"{dist:,.0f} m from the {role_en} '{names}' (rule threshold ≤ "
                                                f"{limit} m).")


class OutsideCoverage(Predicate):
    """Part of the footprint (more than a sliver) lies outside the union of the matching features.

    With severity ``outside_coverage`` this is the data-coverage rule; otherwise an absence test ("must lie in
    a park"), judged on the part of the footprint inside the data coverage only.
    """

    name = "outside_coverage"
    geometry = ("polygon",)
    uses_overlay = True
    coverage_severity = True

    def evaluate(self, rule: Any, ctx: Context) -> Hits:
        n = ctx.n
        layer = ctx.layer(rule.role)
        if not layer.polygonal:
            return _not_polygonal(rule, ctx)
        mask, missing = ctx.where_mask(rule)
        if mask is None:
            return Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
        pieces = ctx.pieces(rule.role)
        sel = mask[pieces.fi] & ctx.needed[pieces.pi]
        uncovered = ctx.uncovered(ctx.covered(rule), pieces.pi[sel], pieces.geoms[sel], pieces.area[sel])
        out_area = shapely.area(uncovered)
        out_area = np.where(out_area < OVERLAY_NOISE_M2, 0.0, out_area)
        sliver = ctx.is_sliver(out_area, shapely.length(uncovered))
        outside = out_area > 0
        return Hits(outside & ~sliver, outside & sliver, area=out_area, share=out_area / ctx.area,
                    names=[""] * n, synthetic=np.full(n, bool(layer.synthetic.any())))

    def outcomes(self, rule: Any, hits: Hits, applies: np.ndarray, undetermined: np.ndarray,
                 ctx: Context) -> list[Outcome]:
        if not rule.is_coverage and not ctx.coverage_known:
            # An absence test ("not inside a park") with no coverage layer: whether the data reach the place is
            # unknown, so the missing feature is no finding.
            return [Outcome(hits.fired & (applies | undetermined), "not_evaluated", hits, COVERAGE_UNKNOWN)]
        return super().outcomes(rule, hits, applies, undetermined, ctx)

    def describe_zh(self, rule: Any, role_zh: str) -> str:
        return f"位于{role_zh}之外{_where_text(rule, zh=True)}"

    def message(self, rule: Any, kind: str, role_zh: str, role_en: str) -> MessageFormatter:
        if kind == "note":
            return lambda area, _s, _d, _v, _n: (
                f"仅有细小部分（{fmt_area(area or 0)}）位于{role_zh}范围之外，低于细小碎片容差，不计。",
                f"Only a sliver ({fmt_area(area or 0)}) lies outside the {role_en}; below the sliver tolerance, "
                "not counted.")
        if rule.is_coverage:
            return lambda area, share, _d, _v, _n: (
                f"项目有 {fmt_area(area or 0)}（{(share or 0):.1%}）位于分区管控数据覆盖范围（{role_zh}）之外，该部分无法研判。",
                f"{fmt_area(area or 0)} ({(share or 0):.1%}) of the project lies outside the coverage of the "
                f"zoning data ({role_en}); that part cannot be screened.")
        return lambda area, share, _d, _v, _n: (
            f"项目有 {fmt_area(area or 0)}（{(share or 0):.1%}）位于{role_zh}之外。",
            f"{fmt_area(area or 0)} ({(share or 0):.1%}) of the project lies outside the {role_en}.")


class AttributeTest(Predicate):
    """A test on the project's own attributes (role ``"project"``): ``field op value``.

    Fields: the project's columns plus the derived ``industry``, ``project_type``, ``two_high`` and
    ``area_m2``; ops: :data:`sanxian_yidan.conditions.OPS`.
    """

    name = "attribute_test"
    params = (Param("field", required=True), Param("op", required=True), Param("value", required=True))
    target = "project"

    def parse(self, params: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
        out = super().parse(params, where, problems)
        if all(k in params for k in ("field", "op", "value")):
            return {"test": parse_condition(params, f"{where}: params", problems)}
        return out

    def evaluate(self, rule: Any, ctx: Context) -> Hits:
        """``note`` marks projects whose value is missing (cannot be evaluated)."""
        n = ctx.n
        fld = rule.test.field
        attrs = ctx.attributes
        if fld not in attrs.columns:
            return Hits(np.zeros(n, bool), np.zeros(n, bool),
                        missing_reason=f"project attribute '{fld}' missing (columns: "
                                       f"{[c for c in attrs.columns if not c.startswith('_')]})")
        values = attrs[fld]
        return Hits(rule.test.evaluate(values), rule.test.missing(values),
                    value=[_clean(v) for v in values.tolist()], names=[""] * n, synthetic=np.zeros(n, bool))

    def outcomes(self, rule: Any, hits: Hits, applies: np.ndarray, undetermined: np.ndarray,
                 ctx: Context) -> list[Outcome]:
        return [Outcome(hits.fired & applies, "finding", hits),
                Outcome(hits.note & (applies | undetermined), "not_evaluated", hits, ATTRIBUTE_UNKNOWN),
                Outcome(hits.fired & undetermined, "not_evaluated", hits, UNDETERMINED)]

    def describe(self, rule: Any) -> str:
        return f"{self.name}: {rule.test.describe()}"

    def describe_zh(self, rule: Any, role_zh: str) -> str:
        return f"项目属性：{rule.test.describe()}"

    def message(self, rule: Any, kind: str, role_zh: str, role_en: str) -> MessageFormatter:
        test: Condition = rule.test
        return lambda _a, _s, _d, value, _n: attribute_message(test.field, test.op, test.value, value)


# ============================================================================================ shared tests
def _not_polygonal(rule: Any, ctx: Context) -> Hits:
    return Hits(np.zeros(ctx.n, bool), np.zeros(ctx.n, bool),
                missing_reason=f"layer '{rule.role}' is not polygonal; '{rule.predicate}' needs polygons")


def _overlap(rule: Any, ctx: Context, share_above: float | None) -> Hits:
    """Overlap of each footprint with the matching polygons: any real piece, or (``share_above``) a union
    covering more than that share of the footprint.  Sliver pieces alone make a note."""
    n = ctx.n
    mask, missing = ctx.where_mask(rule)
    if mask is None:
        return Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    layer, pieces = ctx.layer(rule.role), ctx.pieces(rule.role)
    sel = mask[pieces.fi] & ctx.needed[pieces.pi]
    pi, fi, area, sliver = pieces.pi[sel], pieces.fi[sel], pieces.area[sel], pieces.sliver[sel]
    real = ~sliver
    area_sum = np.bincount(pi[real], weights=area[real], minlength=n)
    has_real = np.bincount(pi[real], minlength=n) > 0
    has_sliver = np.bincount(pi[sliver], minlength=n) > 0
    synthetic = np.bincount(pi[real], weights=layer.synthetic[fi[real]].astype(float), minlength=n) > 0
    if share_above is None:
        fired = has_real
        share = area_sum / ctx.area
    else:  # share of the union of matching features
        uncovered = ctx.uncovered(ctx.footprints, pi, pieces.geoms[sel], area)
        out_area = shapely.area(uncovered)
        covered = np.clip(ctx.area - np.where(out_area < OVERLAY_NOISE_M2, 0.0, out_area), 0.0, None)
        share = covered / ctx.area
        fired = has_real & (share > share_above)
        area_sum = covered
    note = has_sliver & ~has_real
    real_names = ctx.names(pi[real], fi[real], rule.role, only=fired)
    sliver_names = ctx.names(pi[sliver], fi[sliver], rule.role, only=note)
    names = np.where(has_real, real_names, sliver_names)
    sliver_area = np.bincount(pi[sliver], weights=area[sliver], minlength=n)
    area_sum = np.where(note, sliver_area, area_sum)
    share = np.where(note, sliver_area / ctx.area, share)
    return Hits(fired, note, area=area_sum, share=share, names=names, synthetic=synthetic)


def _line_crossings(rule: Any, ctx: Context) -> Hits:
    """Line and point layers: features crossing the footprint's interior (touching its edge does not count)."""
    n = ctx.n
    mask, missing = ctx.where_mask(rule)
    if mask is None:
        return Hits(np.zeros(n, bool), np.zeros(n, bool), missing_reason=missing)
    layer = ctx.layer(rule.role)
    feats = layer.geoms[mask]
    fidx = np.flatnonzero(mask)
    at = np.flatnonzero(ctx.needed)
    pi, fi = shapely.STRtree(feats).query(ctx.footprints[at], predicate="intersects")
    pi = at[pi]
    crossing = ~shapely.touches(ctx.footprints[pi], feats[fi])
    pi, fi = pi[crossing], fi[crossing]
    length = shapely.length(shapely.intersection(ctx.footprints[pi], feats[fi]))
    fired = np.bincount(pi, minlength=n) > 0
    synthetic = np.bincount(pi, weights=layer.synthetic[fidx[fi]].astype(float), minlength=n) > 0
    return Hits(fired, np.zeros(n, bool), area=np.bincount(pi, weights=length, minlength=n),
                names=ctx.names(pi, fidx[fi], rule.role, only=fired), synthetic=synthetic)


def _clean(value: Any) -> Any:
    """None for missing values (None, NaN, pd.NA), else the value."""
    return None if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) else value


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
    from .columns import describe

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


# ================================================================================================= registry
_REGISTRY: dict[str, Predicate] = {}


def register(pred: Predicate) -> Predicate:
    """Add (or replace) a predicate under its :attr:`~Predicate.name`; returns it."""
    if not pred.name:
        raise ValueError("a predicate needs a name")
    _REGISTRY[pred.name] = pred
    return pred


def unregister(name: str) -> None:
    """Remove a predicate (tests that register their own)."""
    _REGISTRY.pop(name, None)


def predicate(name: str) -> Predicate:
    """The predicate registered as ``name`` (KeyError if none)."""
    return _REGISTRY[name]


def measures_overlap(name: str | None) -> bool:
    """True when findings of the predicate ``name`` measure an overlap area (False for unknown names)."""
    return name in _REGISTRY and _REGISTRY[name].measures_overlap


def predicates() -> tuple[str, ...]:
    """Names of the registered predicates, in registration order."""
    return tuple(_REGISTRY)


for _cls in (Intersects, OverlapShareAbove, WithinDistance, OutsideCoverage, AttributeTest):
    register(_cls())
