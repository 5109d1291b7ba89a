"""Screening rules as data: the model, the predicates, loading and validation.

A rule says *which projects* (industry, 两高 flag, project type) it applies to, *which layer role* it tests,
*how* (the predicate and its parameters), *how severe* a hit is and *where it comes from* (document number
and clause).  The default set ships as ``data/rules.toml``; a planner can pass a TOML file of their own that
adds rules or amends/replaces/disables packaged ones by id.  Everything is validated on load and every
problem is reported at once in one bilingual :class:`~sanxian_yidan.errors.DataFileError`.

Predicates
----------
Each predicate is declared once in :mod:`sanxian_yidan.predicates` (its parameters with units, the role it
needs, its evaluation, description and messages); a rule's ``[params]`` are checked against that declaration.
The packaged ones are ``intersects``, ``overlap_share_above``, ``within_distance``, ``outside_coverage``
(also the data-coverage rule) and ``attribute_test`` (role ``"project"``).

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
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .conditions import OPS, Condition
from .datafiles import load_toml, packaged_path
from .errors import DataFileError, problem
from .industries import expand_prefixes, matches, project_types
from .predicates import Predicate, predicate, predicates
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
#: The packaged predicates (:mod:`sanxian_yidan.predicates`; ``predicates()`` lists those registered now).
PREDICATES: tuple[str, ...] = predicates()
#: The pseudo-role of attribute tests on the project itself.
PROJECT_ROLE = "project"
_RULE_KEYS = {"id", "title_zh", "title_en", "role", "predicate", "params", "severity", "source", "applies_to",
              "assumption", "note_zh", "note_en", "enabled"}
_REQUIRED = ("id", "title_zh", "title_en", "role", "predicate", "severity", "source")
_APPLIES_KEYS = {"industries", "industries_except", "project_types", "project_types_except", "two_high"}
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_FILE_KEYS = {"source", "rules", "replace_defaults"}


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
    params : mapping
        Every parameter as parsed by the predicate (``where``, ``distance_m``, ... and those of predicates
        registered later).
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
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def spec(self) -> Predicate:
        """The rule's predicate (:mod:`sanxian_yidan.predicates`)."""
        return predicate(self.predicate)

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
        return self.spec.describe(self)

    def describe_test_zh(self) -> str:
        """The test in Chinese, e.g. ``距河流 1000 m 以内``."""
        vocab = role_vocabulary()
        return self.spec.describe_zh(self, vocab[self.role].zh if self.role in vocab else self.role)


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
                f"predicates {list(predicates())}, severities {list(SEVERITIES)}, ops {list(OPS)})"))
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
    name, role, severity = entry.get("predicate"), entry.get("role"), entry.get("severity")
    spec = predicate_of(name) if isinstance(name, str) else None
    if isinstance(name, str) and spec is None:
        problems.append(f"{where}: key 'predicate': unknown value '{name}'; allowed: {list(predicates())} "
                        f"(a new predicate is registered in sanxian_yidan.predicates, see CONTRIBUTING.md)")
    allowed_sev = list(SEVERITIES) + ([COVERAGE_SEVERITY] if spec is not None and spec.coverage_severity else [])
    if isinstance(severity, str) and severity not in allowed_sev:
        extra = (f" ('{COVERAGE_SEVERITY}' is only allowed with predicate 'outside_coverage')"
                 if severity == COVERAGE_SEVERITY else "")
        problems.append(f"{where}: key 'severity': unknown value '{severity}'; allowed: "
                        f"{[f'{s} ({SEVERITY_ZH[s]})' for s in allowed_sev]}{extra}")
    if isinstance(role, str):
        _check_role(role, spec, vocab, where, problems)
    applies = _parse_applies(entry.get("applies_to", {}), where, problems)
    params = entry.get("params", {})
    if not isinstance(params, dict):
        problems.append(f"{where}: [params] must be a table")
        params = {}
    parsed = spec.parse(params, where, problems) if spec is not None else {}
    if len(problems) > before:
        return None
    return Rule(id=rid, title_zh=entry["title_zh"], title_en=entry["title_en"], role=role, predicate=name,
                severity=severity, source=entry["source"], applies_to=applies, where=parsed.get("where", ()),
                distance_m=parsed.get("distance_m"), share=parsed.get("share"), test=parsed.get("test"),
                assumption=bool(entry.get("assumption", False)), note_zh=entry.get("note_zh", ""),
                note_en=entry.get("note_en", ""), origin=file, params=MappingProxyType(parsed))


def predicate_of(name: str) -> Predicate | None:
    """The registered predicate ``name``, or None."""
    try:
        return predicate(name)
    except KeyError:
        return None


def _check_role(role: str, spec: Predicate | None, vocab: Mapping[str, Any], where: str, problems: list[str]) -> None:
    """The rule's role fits its predicate: ``project`` for tests of the project, else a vector layer role of the
    geometry the predicate needs."""
    if spec is not None and spec.target == "project":
        if role != PROJECT_ROLE:
            problems.append(f"{where}: key 'role': {spec.name} tests the project itself, so role must be "
                            f"'{PROJECT_ROLE}', got '{role}'")
    elif role not in vocab or role == PROJECT_ROLE:
        problems.append(f"{where}: key 'role': unknown layer role '{role}'; allowed: "
                        f"{sorted(r for r in vocab if r != PROJECT_ROLE and not vocab[r].is_raster)}")
    elif vocab[role].is_raster:
        problems.append(f"{where}: key 'role': '{role}' is a raster role; rules test vector layers")
    elif spec is not None and any(g not in vocab[role].geometry for g in spec.geometry):
        problems.append(f"{where}: predicate '{spec.name}' needs a {'/'.join(spec.geometry)} role, '{role}' is "
                        f"{'/'.join(vocab[role].geometry)}")


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
