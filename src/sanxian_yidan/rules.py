"""Screening rules as data: the model, the predicates, loading and validation.

A rule says *which projects* (industry, 两高 flag, project type) it applies to, *which layer role* it tests,
*how* (the predicate and its parameters), *how severe* a hit is and *where it comes from* (document number
and clause).  The default set ships as ``data/rules.toml``; a planner can pass a TOML file of their own that
adds rules or amends/replaces/disables packaged ones by id.  Everything is validated on load and every
problem is reported at once in one bilingual :class:`~sanxian_yidan.errors.DataFileError`.

Predicates
----------
``intersects``
    The project footprint shares *area* with a feature of the role (optionally filtered by ``where``).  A
    footprint that only touches a boundary does not intersect.  Overlap pieces smaller than the sliver
    tolerance (see ``data/screening.toml``) do not trigger the rule; they are reported as notes.  For line
    and point roles, any crossing of the footprint's interior counts.
``overlap_share_above``
    Like ``intersects``, but only when the union of matching features covers more than ``share`` (0-1) of
    the project's area.
``within_distance``
    The nearest matching feature is at most ``distance_m`` metres from the footprint (overlap = 0 m).
``outside_coverage``
    Part of the footprint (more than a sliver) lies outside the union of the matching features.  With the
    ``admin_boundary`` role and severity ``outside_coverage`` this is the data-coverage rule that keeps a
    project outside the zoning data from passing silently; with e.g. ``industrial_park`` it expresses
    "must be located inside a park" and is tested on the part of the footprint inside the data coverage only
    (the absence of a park where there are no data is no finding).
``attribute_test``
    A test on the project's own attributes (role ``"project"``): its columns plus the derived ``industry``,
    ``project_type``, ``two_high`` and ``area_m2``.  Ops: ``==``, ``!=``, ``in``, ``not_in``, ``<``,
    ``<=``, ``>``, ``>=``, ``startswith``.

``where`` filters use the same ops on the layer's (canonical) attribute names.  Values are compared as text
for equality ops (so ``1``, ``1.0`` and ``"1"`` are equal) and as numbers for ordering ops.

Severities, most severe first: ``prohibited`` 禁止, ``restricted`` 限制, ``needs_assessment`` 需论证,
``notice`` 提示.  ``outside_coverage`` is reserved for rules with the ``outside_coverage`` predicate.

A project's verdict is its most severe finding in the order of :data:`VERDICTS`: prohibited > restricted >
needs_assessment > outside_coverage > notice > compliant.  A definite prohibition/restriction/assessment
found on the covered part of a project stands whatever the uncovered part holds; otherwise a project that is
not wholly covered by the data is ``outside_coverage`` — never ``notice`` or ``compliant``.

References
----------
.. [1] ``data/rules.toml``: each rule's ``source`` names its document and clause.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .datafiles import load_toml, packaged_path
from .errors import DataFileError, problem
from .industries import expand_prefixes, matches, project_types
from .roles import role_vocabulary

__all__ = [
    "DEFAULT_RULES",
    "OPS",
    "PREDICATES",
    "SEVERITIES",
    "SEVERITY_ZH",
    "VERDICTS",
    "VERDICT_EN",
    "VERDICT_RANK",
    "VERDICT_ZH",
    "Applicability",
    "Condition",
    "Rule",
    "RuleSet",
    "load_rules",
]

logger = logging.getLogger(__name__)

DEFAULT_RULES = "rules.toml"
#: Rule severities, most severe first (ids are part of the JSON schema).
SEVERITIES: tuple[str, ...] = ("prohibited", "restricted", "needs_assessment", "notice")
#: Severity reserved for the data-coverage rule.
COVERAGE_SEVERITY = "outside_coverage"
SEVERITY_ZH = {"prohibited": "禁止", "restricted": "限制", "needs_assessment": "需论证", "notice": "提示",
               "outside_coverage": "超出数据覆盖范围"}
SEVERITY_EN = {"prohibited": "prohibited", "restricted": "restricted", "needs_assessment": "needs assessment",
               "notice": "notice", "outside_coverage": "outside coverage"}
#: Verdicts, most severe first (see the module docstring for why outside_coverage sits above notice).
VERDICTS: tuple[str, ...] = ("prohibited", "restricted", "needs_assessment", "outside_coverage", "notice",
                             "compliant")
VERDICT_RANK = {v: len(VERDICTS) - i for i, v in enumerate(VERDICTS)}
VERDICT_ZH = {**{k: SEVERITY_ZH[k] for k in SEVERITIES}, "outside_coverage": "超出数据覆盖范围",
              "compliant": "未发现限制"}
VERDICT_EN = {**SEVERITY_EN, "compliant": "compliant (no restriction found)"}
PREDICATES: tuple[str, ...] = ("intersects", "overlap_share_above", "within_distance", "outside_coverage",
                               "attribute_test")
OPS: tuple[str, ...] = ("==", "!=", "in", "not_in", "<", "<=", ">", ">=", "startswith")
_LIST_OPS = {"in", "not_in", "startswith"}
_ORDER_OPS = {"<", "<=", ">", ">="}
#: The pseudo-role of attribute tests on the project itself.
PROJECT_ROLE = "project"
_RULE_KEYS = {"id", "title_zh", "title_en", "role", "predicate", "params", "severity", "source", "applies_to",
              "assumption", "note_zh", "note_en", "enabled"}
_REQUIRED = ("id", "title_zh", "title_en", "role", "predicate", "severity", "source")
_APPLIES_KEYS = {"industries", "industries_except", "project_types", "project_types_except", "two_high"}
_PARAM_KEYS = {
    "intersects": {"where"},
    "overlap_share_above": {"share", "where"},
    "within_distance": {"distance_m", "where"},
    "outside_coverage": {"where"},
    "attribute_test": {"field", "op", "value"},
}
_REQUIRED_PARAMS = {"overlap_share_above": ("share",), "within_distance": ("distance_m",),
                    "attribute_test": ("field", "op", "value")}
_POLYGON_ONLY = {"overlap_share_above", "outside_coverage"}
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_FILE_KEYS = {"source", "rules", "replace_defaults"}


# --------------------------------------------------------------------------------------------- conditions
def _norm_text(value: Any) -> str:
    """Text form used for equality tests: None/NaN → '', True → 'true', 1.0 → '1'."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if value is pd.NA:
        return ""
    return str(value).strip()


#: How yes/no fields are written in the files planners receive (shapefiles and CSVs have no boolean type).
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否"})


def _as_bool(value: Any) -> bool | None:
    """``True``/``False`` for a yes/no value (bool, 1/0, true/false, yes/no, 是/否), ``None`` otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = _norm_text(value).lower()
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    return None


def _numbers_not_booleans(series: pd.Series) -> np.ndarray:
    """Values as floats (numbers and numeric text); NaN for booleans, which are yes/no, not 1/0."""
    is_bool = series.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    return pd.to_numeric(series.where(~is_bool), errors="coerce").to_numpy(dtype=float)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Condition:
    """One attribute test ``field op value`` (used by ``where`` filters and ``attribute_test``).

    Attributes
    ----------
    field : str
        Attribute name (canonical layer field, or project attribute).
    op : str
        One of :data:`OPS`.
    value : scalar or tuple
        Comparison value; a tuple for ``in``, ``not_in`` and ``startswith``.
    """

    field: str
    op: str
    value: Any

    def evaluate(self, values: pd.Series | np.ndarray | list[Any]) -> np.ndarray:
        """Vectorised test over ``values``; missing values never match (``!=``/``not_in`` included).

        Text is compared after trimming; a numeric target also matches the same number written as text
        (``15`` matches ``"15.0"``); a boolean target matches yes/no values written as booleans, 1/0,
        true/false, yes/no or 是/否 (anything else is undetermined, see :meth:`undetermined`).

        Returns
        -------
        numpy.ndarray of bool
        """
        series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.tolist(), dtype=object)
        if pd.api.types.infer_dtype(series, skipna=True).startswith("mixed"):
            # factorize would merge True with 1 and False with 0 (equal hashes): test every value.
            return self._evaluate_distinct(series)
        # Test each distinct value once (layers repeat a few category/level values many times).
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) < len(series):
            unique_result = self._evaluate_distinct(pd.Series(list(uniques), dtype=object))
            out = np.zeros(len(series), dtype=bool)
            valid = codes >= 0
            out[valid] = unique_result[codes[valid]]
            return out
        return self._evaluate_distinct(series)

    def _evaluate_distinct(self, series: pd.Series) -> np.ndarray:
        missing = self.missing(series)
        if self.op in _ORDER_OPS:
            numbers = _numbers_not_booleans(series)
            target = float(self.value)
            with np.errstate(invalid="ignore"):
                out = {"<": numbers < target, "<=": numbers <= target, ">": numbers > target,
                       ">=": numbers >= target}[self.op]
            return np.asarray(out & ~np.isnan(numbers), dtype=bool)
        targets = self.targets
        if self.op == "startswith":
            prefixes = tuple(_norm_text(t) for t in targets)
            out = series.map(_norm_text).map(lambda s: s.startswith(prefixes)).to_numpy(dtype=bool)
            return np.asarray(out & ~missing, dtype=bool)
        if self._boolean:
            flags = series.map(_as_bool)
            hit = flags.isin([bool(t) for t in targets]).to_numpy(dtype=bool)
            known = flags.notna().to_numpy(dtype=bool)
        else:
            hit = series.map(_norm_text).isin([_norm_text(t) for t in targets]).to_numpy(dtype=bool)
            numbers = [float(t) for t in targets if _is_number(t)]
            if numbers:  # "15.0" in a text column equals 15; a boolean is not the number 1 or 0
                hit = hit | np.isin(_numbers_not_booleans(series), numbers)
            known = ~missing
        out = hit if self.op in ("==", "in") else ~hit
        return np.asarray(out & known & ~missing, dtype=bool)

    @property
    def targets(self) -> tuple[Any, ...]:
        """The comparison value(s) as a tuple."""
        return self.value if isinstance(self.value, tuple) else (self.value,)

    @property
    def _boolean(self) -> bool:
        """A yes/no test: every target is a boolean (``== true``, ``in [false]``)."""
        return self.op in ("==", "!=", "in", "not_in") and all(isinstance(t, (bool, np.bool_)) for t in self.targets)

    @staticmethod
    def missing(values: pd.Series | np.ndarray | list[Any]) -> np.ndarray:
        """True where a value is absent (None, NaN, empty text)."""
        series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.tolist(), dtype=object)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        empty = np.array([_norm_text(u) == "" for u in uniques], dtype=bool)
        out = np.ones(len(series), dtype=bool)
        valid = codes >= 0
        out[valid] = empty[codes[valid]]
        return out

    def undetermined(self, values: pd.Series | np.ndarray | list[Any]) -> np.ndarray:
        """True where the test cannot be decided: the value is absent, not a number for ``<``, ``>``, ..., or
        not a yes/no value for a test against ``true``/``false``.

        (:meth:`evaluate` is False there.)
        """
        absent = self.missing(values)
        if self.op not in _ORDER_OPS and not self._boolean:
            return absent
        series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.tolist(), dtype=object)
        if self._boolean:  # a yes/no test on a value that is neither
            return absent | series.map(_as_bool).isna().to_numpy(dtype=bool)
        return absent | np.isnan(_numbers_not_booleans(series))

    def describe(self) -> str:
        """Readable form, e.g. ``level in [1, '一级']``."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return f"{self.field} {self.op} {value!r}"


# ------------------------------------------------------------------------------------------ applicability
@dataclass(frozen=True)
class Applicability:
    """Which projects a rule applies to.  Empty criteria match every project.

    All given criteria must hold.  When a project lacks the attribute an *inclusion* criterion needs
    (no industry code for ``industries`` or ``two_high``, no type for ``project_types``) the rule is
    *undetermined* for it: screening reports it as "not evaluated" if its spatial test fires.  *Exclusion*
    criteria (``*_except``) are conservative: a project of unknown type is not exempt.

    Attributes
    ----------
    industries, industries_except : tuple of str
        Canonical GB/T 4754 code prefixes (groups already expanded).
    project_types, project_types_except : tuple of str
        Project-type ids (``data/industries.toml``).
    two_high : bool or None
        True: only 两高 industries; False: only non-两高; None: any.
    industry_labels : tuple of str
        The entries as written (``"@chemical"``), for reports.
    """

    industries: tuple[str, ...] = ()
    industries_except: tuple[str, ...] = ()
    project_types: tuple[str, ...] = ()
    project_types_except: tuple[str, ...] = ()
    two_high: bool | None = None
    industry_labels: tuple[str, ...] = ()

    @property
    def is_universal(self) -> bool:
        """True when the rule applies to every project."""
        return not (self.industries or self.industries_except or self.project_types
                    or self.project_types_except or self.two_high is not None)

    def evaluate(self, industry: Iterable[str | None], project_type: Iterable[str | None],
                 two_high: Iterable[bool | None]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(applies, undetermined)`` boolean arrays over projects.

        Parameters
        ----------
        industry : iterable of str or None
            Canonical industry code per project (None = unknown).
        project_type : iterable of str or None
            Project-type id per project (None = unknown).
        two_high : iterable of bool or None
            两高 flag per project (None = unknown).
        """
        ind = list(industry)
        typ = list(project_type)
        th = list(two_high)
        n = len(ind)
        applies = np.ones(n, dtype=bool)
        unknown = np.zeros(n, dtype=bool)
        ind_known = np.array([c is not None for c in ind], dtype=bool)
        typ_known = np.array([t is not None for t in typ], dtype=bool)
        if self.industries:
            hit = np.array([matches(c, self.industries) for c in ind], dtype=bool)
            applies &= hit | ~ind_known
            unknown |= ~ind_known
        if self.industries_except:
            applies &= ~np.array([matches(c, self.industries_except) for c in ind], dtype=bool)
        if self.project_types:
            hit = np.isin(np.array(typ, dtype=object), list(self.project_types))
            applies &= hit | ~typ_known
            unknown |= ~typ_known
        if self.project_types_except:
            applies &= ~np.isin(np.array(typ, dtype=object), list(self.project_types_except))
        if self.two_high is not None:
            known = np.array([v is not None for v in th], dtype=bool)
            hit = np.array([bool(v) == self.two_high if v is not None else False for v in th], dtype=bool)
            applies &= hit | ~known
            unknown |= ~known
        undetermined = applies & unknown
        return applies & ~unknown, undetermined

    def describe(self) -> str:
        """Readable summary (English, codes as written)."""
        parts = []
        if self.industry_labels:
            parts.append("industries " + ", ".join(self.industry_labels))
        if self.industries_except:
            parts.append("except industries " + ", ".join(self.industries_except))
        if self.project_types:
            parts.append("types " + ", ".join(self.project_types))
        if self.project_types_except:
            parts.append("all types except " + ", ".join(self.project_types_except))
        if self.two_high is not None:
            parts.append("两高 only" if self.two_high else "non-两高 only")
        return "; ".join(parts) or "all projects"


# ------------------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    """One screening rule (see the module docstring for the predicates).

    Attributes
    ----------
    id, title_zh, title_en : str
        Identity and titles.
    role : str
        Layer role tested, or ``"project"`` for ``attribute_test``.
    predicate : str
        One of :data:`PREDICATES`.
    severity : str
        One of :data:`SEVERITIES`, or ``"outside_coverage"`` (coverage rules only).
    source : str
        Document, number and clause.
    applies_to : Applicability
        Which projects the rule concerns.
    where : tuple of Condition
        Filter on the layer's features (all must hold).
    distance_m : float or None
        ``within_distance`` threshold [m].
    share : float or None
        ``overlap_share_above`` threshold [-] (0-1).
    test : Condition or None
        ``attribute_test`` condition.
    assumption : bool
        True when a number in the rule has no verified official source (the source says so).
    note_zh, note_en : str
        What to do about a hit (may be empty).
    origin : str
        File the rule (last) came from.
    """

    id: str
    title_zh: str
    title_en: str
    role: str
    predicate: str
    severity: str
    source: str
    applies_to: Applicability = field(default_factory=Applicability)
    where: tuple[Condition, ...] = ()
    distance_m: float | None = None
    share: float | None = None
    test: Condition | None = None
    assumption: bool = False
    note_zh: str = ""
    note_en: str = ""
    origin: str = ""

    @property
    def severity_zh(self) -> str:
        """Chinese severity label (禁止/限制/需论证/提示)."""
        return SEVERITY_ZH[self.severity]

    @property
    def is_coverage(self) -> bool:
        """True for the data-coverage rule (verdict ``outside_coverage``)."""
        return self.severity == COVERAGE_SEVERITY

    def describe_test(self) -> str:
        """Readable predicate with parameters, e.g. ``within_distance 1000 m of river``."""
        if self.predicate == "attribute_test":
            assert self.test is not None
            return f"attribute_test: {self.test.describe()}"
        extra = ""
        if self.predicate == "within_distance":
            extra = f" {self.distance_m:g} m of"
        elif self.predicate == "overlap_share_above":
            extra = f" {self.share:g} of area in"
        where = f" where {' and '.join(c.describe() for c in self.where)}" if self.where else ""
        return f"{self.predicate}{extra} {self.role}{where}"


@dataclass(frozen=True)
class RuleSet:
    """A validated, ordered set of rules.

    Attributes
    ----------
    rules : tuple of Rule
        Enabled rules in file order (packaged first, then user additions).
    files : tuple of str
        Files the rules were read from.
    disabled : tuple of str
        Ids disabled by a user file (``enabled = false``), kept for the report.
    """

    rules: tuple[Rule, ...]
    files: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule with id {rule_id!r}; ids: {[r.id for r in self.rules]}")

    @property
    def roles(self) -> set[str]:
        """Layer roles the rules test (without the ``project`` pseudo-role)."""
        return {r.role for r in self.rules if r.role != PROJECT_ROLE}


# ----------------------------------------------------------------------------------------------- loading
def load_rules(path: str | Path | None = None, *, defaults: bool = True) -> RuleSet:
    """Load the packaged rule set, optionally extended or amended by a user file.

    Parameters
    ----------
    path : str or Path, optional
        A user rule file.  Its ``[[rules]]`` entries with a new id are added; entries with the id of a
        packaged rule amend it (top-level keys replace, ``params`` and ``applies_to`` are merged key by
        key; ``enabled = false`` disables it).  With ``replace_defaults = true`` at the top of the file,
        or ``defaults=False``, only the user's rules are used.
    defaults : bool
        Start from the packaged rules (``data/rules.toml``).

    Returns
    -------
    RuleSet

    Raises
    ------
    DataFileError
        Listing every problem: unknown keys, missing keys, wrong types, unknown roles, predicates,
        severities, ops, industry codes (with the nearest valid codes) or project types, parameters that
        do not fit the predicate, duplicate ids, or a rule set without a coverage rule.
    """
    files: list[str] = []
    raw: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    order: list[str] = []
    problems: list[str] = []
    user_doc: dict[str, Any] | None = None
    if path is not None:
        user_path = Path(path)
        user_doc = load_toml(user_path)
        for key in sorted(set(user_doc) - _FILE_KEYS):
            problems.append(f"top level: unknown key '{key}' (allowed: {sorted(_FILE_KEYS)})")
        if "replace_defaults" in user_doc and not isinstance(user_doc["replace_defaults"], bool):
            problems.append("top level: 'replace_defaults' must be true or false")
        if user_doc.get("replace_defaults") is True:
            defaults = False
    if defaults:
        default_path = packaged_path(DEFAULT_RULES)
        _collect(load_toml(default_path), str(default_path), raw, origin, order, problems, amend=False)
        files.append(str(default_path))
    if user_doc is not None:
        _collect(user_doc, str(path), raw, origin, order, problems, amend=True)
        files.append(str(path))
    disabled = tuple(rid for rid in order if raw[rid].get("enabled") is False)
    rules = []
    for rid in order:
        if rid in disabled:
            continue
        rule = _parse_rule(raw[rid], origin[rid], problems)
        if rule is not None:
            rules.append(rule)
    if not problems and not any(r.is_coverage for r in rules):
        problems.append("the rule set has no enabled coverage rule (predicate = 'outside_coverage', severity = "
                        "'outside_coverage'); without it a project outside the zoning data would pass silently")
    if problems:
        where = str(path) if path is not None else str(packaged_path(DEFAULT_RULES))
        raise DataFileError(problem(
            f"规则文件有 {len(problems)} 处错误。",
            f"The rule file has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems),
            file=where,
            fix="correct each entry listed (see the header of sanxian_yidan/data/rules.toml for the format: "
                f"predicates {list(PREDICATES)}, severities {list(SEVERITIES)}, ops {list(OPS)})"))
    logger.info("loaded %d rules from %s", len(rules), files)
    return RuleSet(tuple(rules), tuple(files), disabled)


def _collect(doc: Mapping[str, Any], file: str, raw: dict[str, dict[str, Any]], origin: dict[str, str],
             order: list[str], problems: list[str], *, amend: bool) -> None:
    entries = doc.get("rules", [])
    if not isinstance(entries, list):
        problems.append(f"{file}: 'rules' must be an array of tables ([[rules]])")
        return
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"rules[{i}]: must be a table")
            continue
        rid = entry.get("id")
        if not isinstance(rid, str) or not rid.strip():
            problems.append(f"rules[{i}]: 'id' is required and must be a non-empty string")
            continue
        if rid in seen:
            problems.append(f"rule '{rid}': duplicate id in {Path(file).name}")
            continue
        seen.add(rid)
        if amend and rid in raw:
            merged = dict(raw[rid])
            for key, value in entry.items():
                if key in ("params", "applies_to") and isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
            raw[rid] = merged
        else:
            raw[rid] = dict(entry)
            order.append(rid)
        origin[rid] = file


def _parse_rule(entry: Mapping[str, Any], file: str, problems: list[str]) -> Rule | None:
    rid = entry["id"]
    where = f"rule '{rid}'"
    before = len(problems)
    vocab = role_vocabulary()
    for key in sorted(set(entry) - _RULE_KEYS):
        problems.append(f"{where}: unknown key '{key}' (allowed: {sorted(_RULE_KEYS)})")
    for key in _REQUIRED:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: '{key}' is required and must be a non-empty string")
    if not _ID.match(rid):
        problems.append(f"{where}: id must start with a letter and use letters, digits, '-' and '_'")
    for key in ("assumption", "enabled"):
        if key in entry and not isinstance(entry[key], bool):
            problems.append(f"{where}: '{key}' must be true or false, got {entry[key]!r}")
    for key in ("note_zh", "note_en"):
        if key in entry and not isinstance(entry[key], str):
            problems.append(f"{where}: '{key}' must be a string")
    predicate = entry.get("predicate")
    role = entry.get("role")
    severity = entry.get("severity")
    if isinstance(predicate, str) and predicate not in PREDICATES:
        problems.append(f"{where}: key 'predicate': unknown value '{predicate}'; allowed: {list(PREDICATES)}")
    allowed_sev = list(SEVERITIES) + ([COVERAGE_SEVERITY] if predicate == "outside_coverage" else [])
    if isinstance(severity, str) and severity not in allowed_sev:
        extra = (f" ('{COVERAGE_SEVERITY}' is only allowed with predicate 'outside_coverage')"
                 if severity == COVERAGE_SEVERITY else "")
        problems.append(f"{where}: key 'severity': unknown value '{severity}'; allowed: "
                        f"{[f'{s} ({SEVERITY_ZH[s]})' for s in allowed_sev]}{extra}")
    if isinstance(role, str):
        if predicate == "attribute_test":
            if role != PROJECT_ROLE:
                problems.append(f"{where}: key 'role': attribute_test tests the project itself, so role must be "
                                f"'{PROJECT_ROLE}', got '{role}'")
        elif role not in vocab or role == PROJECT_ROLE:
            problems.append(f"{where}: key 'role': unknown layer role '{role}'; allowed: "
                            f"{sorted(r for r in vocab if r != PROJECT_ROLE and not vocab[r].is_raster)}")
        elif vocab[role].is_raster:
            problems.append(f"{where}: key 'role': '{role}' is a raster role; rules test vector layers")
        elif predicate in _POLYGON_ONLY and "polygon" not in vocab[role].geometry:
            problems.append(f"{where}: predicate '{predicate}' needs a polygon role, '{role}' is "
                            f"{'/'.join(vocab[role].geometry)}")
    applies = _parse_applies(entry.get("applies_to", {}), where, problems)
    params = entry.get("params", {})
    if not isinstance(params, dict):
        problems.append(f"{where}: [params] must be a table")
        params = {}
    conditions: tuple[Condition, ...] = ()
    distance = share = None
    test = None
    if isinstance(predicate, str) and predicate in PREDICATES:
        for key in sorted(set(params) - _PARAM_KEYS[predicate]):
            problems.append(f"{where}: key 'params.{key}' is not a parameter of '{predicate}' "
                            f"(allowed: {sorted(_PARAM_KEYS[predicate])})")
        for key in _REQUIRED_PARAMS.get(predicate, ()):
            if key not in params:
                problems.append(f"{where}: predicate '{predicate}' needs 'params.{key}'")
        if "where" in params:
            conditions = _parse_where(params["where"], where, problems)
        if "distance_m" in params:
            distance = _number(params["distance_m"], f"{where}: key 'params.distance_m'", problems, low=0.0,
                               low_open=True, unit="m")
        if "share" in params:
            share = _number(params["share"], f"{where}: key 'params.share'", problems, low=0.0, high=1.0,
                            low_open=False, unit="fraction of the project area, 0-1")
        if predicate == "attribute_test" and all(k in params for k in ("field", "op", "value")):
            test = _parse_condition(params, f"{where}: params", problems)
    if len(problems) > before:
        return None
    return Rule(id=rid, title_zh=entry["title_zh"], title_en=entry["title_en"], role=role, predicate=predicate,
                severity=severity, source=entry["source"], applies_to=applies, where=conditions,
                distance_m=distance, share=share, test=test, assumption=bool(entry.get("assumption", False)),
                note_zh=entry.get("note_zh", ""), note_en=entry.get("note_en", ""), origin=file)


def _number(value: Any, where: str, problems: list[str], *, low: float, high: float | None = None,
            low_open: bool, unit: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(f"{where} must be a number [{unit}], got {value!r}")
        return None
    too_low = value <= low if low_open else value < low
    if too_low or (high is not None and value > high):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        if high is not None:
            bound += f" and <= {high:g}"
        problems.append(f"{where} must be {bound} [{unit}], got {value!r}")
        return None
    return float(value)


def _parse_applies(table: Any, where: str, problems: list[str]) -> Applicability:
    if not isinstance(table, dict):
        problems.append(f"{where}: [applies_to] must be a table")
        return Applicability()
    for key in sorted(set(table) - _APPLIES_KEYS):
        problems.append(f"{where}: key 'applies_to.{key}' is unknown (allowed: {sorted(_APPLIES_KEYS)})")
    types = project_types()
    out: dict[str, Any] = {}
    for key in ("industries", "industries_except"):
        items = table.get(key, [])
        if not isinstance(items, list) or not all(isinstance(v, (str, int)) for v in items):
            problems.append(f"{where}: key 'applies_to.{key}' must be a list of GB/T 4754 codes or '@group' names")
            continue
        out[key] = expand_prefixes([str(v) for v in items], where=f"{where}: key 'applies_to.{key}'",
                                   problems=problems)
        if key == "industries":
            out["industry_labels"] = tuple(str(v) for v in items)
    for key in ("project_types", "project_types_except"):
        items = table.get(key, [])
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            problems.append(f"{where}: key 'applies_to.{key}' must be a list of project types")
            continue
        bad = [v for v in items if v not in types]
        if bad:
            problems.append(f"{where}: key 'applies_to.{key}': unknown project type(s) {bad}; allowed: {sorted(types)}")
        out[key] = tuple(v for v in items if v in types)
    if "two_high" in table:
        if not isinstance(table["two_high"], bool):
            problems.append(f"{where}: key 'applies_to.two_high' must be true or false, got {table['two_high']!r}")
        else:
            out["two_high"] = table["two_high"]
    return Applicability(**out)


def _parse_where(value: Any, where: str, problems: list[str]) -> tuple[Condition, ...]:
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        problems.append(f"{where}: key 'params.where' must be a table or a list of tables "
                        "{{ field = ..., op = ..., value = ... }}")
        return ()
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"{where}: key 'params.where[{i}]' must be a table {{ field, op, value }}")
            continue
        unknown = sorted(set(item) - {"field", "op", "value"})
        if unknown:
            problems.append(f"{where}: key 'params.where[{i}]' has unknown key(s) {unknown} (allowed: field, op, value)")
            continue
        cond = _parse_condition(item, f"{where}: params.where[{i}]", problems)
        if cond is not None:
            out.append(cond)
    return tuple(out)


def _parse_condition(table: Mapping[str, Any], where: str, problems: list[str]) -> Condition | None:
    fld, op, value = table.get("field"), table.get("op"), table.get("value", None)
    ok = True
    if not isinstance(fld, str) or not fld.strip():
        problems.append(f"{where}: key 'field' must be a non-empty string")
        ok = False
    if op not in OPS:
        problems.append(f"{where}: key 'op': unknown value {op!r}; allowed: {list(OPS)}")
        return None
    if "value" not in table:
        problems.append(f"{where}: key 'value' is required")
        return None
    if op in _ORDER_OPS and (isinstance(value, bool) or not isinstance(value, (int, float))):
        problems.append(f"{where}: key 'value' must be a number for op '{op}', got {value!r}")
        ok = False
    if op in _LIST_OPS:
        value = tuple(value) if isinstance(value, list) else (value,)
        if not value:
            problems.append(f"{where}: key 'value' must not be an empty list")
            ok = False
    elif isinstance(value, list):
        problems.append(f"{where}: key 'value' must be a single value for op '{op}' (use 'in' for a list)")
        ok = False
    return Condition(fld, op, value) if ok else None
