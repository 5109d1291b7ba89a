"""Screening rules as data: the model, the predicates, loading and validation.

A rule says *which projects* (industry, 两高 flag, project type) it applies to, *which layer role* it tests,
*how* (the predicate and its parameters), *how severe* a hit is and *where it comes from* (document number
and clause).  The default set ships as ``data/rules.toml``; a planner can pass a TOML file of their own that
adds rules or amends/replaces/disables packaged ones by id.  The files' ``[[rules]]`` are merged by id and
validated once through :class:`RulesFile` (:mod:`sanxian_yidan.params`): every problem is reported at once, with
its file and key path (``rules.<id>.params.distance_m``), in one bilingual :class:`~sanxian_yidan.errors.DataFileError`.

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
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
from pydantic import (
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .conditions import OPS, Condition
from .datafiles import load_toml, packaged, packaged_path
from .errors import DataFileError
from .industries import expand_prefixes, matches, project_types
from .params import (
    PACKAGED_PREFIX,
    AsTuple,
    DataModel,
    FormerKeyword,
    FormerKeywords,
    PositionalFields,
    Source,
    deep_merge,
    format_errors,
)
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
    "RuleEntry",
    "RuleSet",
    "RulesFile",
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


# ------------------------------------------------------------------------------------------------ models
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
if TYPE_CHECKING:  # codes are read as written (text or numbers) and kept as canonical prefixes (text)
    Codes = tuple[str, ...]
else:
    Codes = Annotated[tuple[str | int, ...], AsTuple]
Names = Annotated[tuple[str, ...], AsTuple]


class AppliesTo(PositionalFields, FormerKeywords, DataModel):
    """Which projects a rule applies to (a rule's ``[applies_to]`` table).  Empty criteria match every project.

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

    # The former dataclass (``Applicability``): its field order, and its labels now kept from ``industries``.
    positional: ClassVar[tuple[str, ...]] = ("industries", "industries_except", "project_types",
                                             "project_types_except", "two_high", "industry_labels")
    former_keywords: ClassVar[Mapping[str, FormerKeyword]] = {"industry_labels": "_labels"}
    industries: Codes = ()
    industries_except: Codes = ()
    project_types: Names = ()
    project_types_except: Names = ()
    two_high: bool | None = None
    _labels: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("industries", "industries_except")
    @classmethod
    def _known_codes(cls, items: tuple[str | int, ...]) -> tuple[str, ...]:
        # groups are expanded here, so that every rule is checked against canonical code prefixes
        problems: list[str] = []
        prefixes = expand_prefixes([str(v) for v in items], problems=problems)
        if problems:
            raise ValueError("; ".join(p.removeprefix(": ") for p in problems) + " (行业代码无效)")
        return prefixes

    @field_validator("project_types", "project_types_except")
    @classmethod
    def _known_types(cls, items: tuple[str, ...]) -> tuple[str, ...]:
        types = project_types()
        if bad := [v for v in items if v not in types]:
            raise ValueError(f"unknown project type(s) {bad}; allowed: {sorted(types)} (项目类型无效)")
        return items

    @model_validator(mode="wrap")
    @classmethod
    def _keep_labels(cls, data: Any, handler: ModelWrapValidatorHandler[AppliesTo]) -> AppliesTo:
        applies = handler(data)
        if isinstance(data, Mapping):
            applies._labels = tuple(str(v) for v in data.get("industries", ()))
        return applies

    @property
    def industry_labels(self) -> tuple[str, ...]:
        """The ``industries`` entries as written (``"@chemical"``), for reports."""
        return self._labels

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
        ind, typ, th = list(industry), np.array(list(project_type), dtype=object), list(two_high)
        applies, unknown = np.ones(len(ind), dtype=bool), np.zeros(len(ind), dtype=bool)
        if self.industries:
            ind_unknown = np.array([c is None for c in ind], dtype=bool)
            applies &= np.array([matches(c, self.industries) for c in ind], dtype=bool) | ind_unknown
            unknown |= ind_unknown
        if self.industries_except:
            applies &= ~np.array([matches(c, self.industries_except) for c in ind], dtype=bool)
        if self.project_types:
            typ_unknown = np.array([t is None for t in typ], dtype=bool)
            applies &= np.isin(typ, list(self.project_types)) | typ_unknown
            unknown |= typ_unknown
        if self.project_types_except:
            applies &= ~np.isin(typ, list(self.project_types_except))
        if self.two_high is not None:
            th_unknown = np.array([v is None for v in th], dtype=bool)
            applies &= np.array([v is not None and bool(v) == self.two_high for v in th], dtype=bool) | th_unknown
            unknown |= th_unknown
        return applies & ~unknown, applies & unknown

    def describe(self) -> str:
        """Readable summary (English, codes as written)."""
        lists = (("industries ", self.industry_labels), ("except industries ", self.industries_except),
                 ("types ", self.project_types), ("all types except ", self.project_types_except))
        parts = [label + ", ".join(items) for label, items in lists if items]
        if self.two_high is not None:
            parts.append("两高 only" if self.two_high else "non-两高 only")
        return "; ".join(parts) or "all projects"


#: Former name of :class:`AppliesTo`.
Applicability = AppliesTo


class RuleEntry(PositionalFields, FormerKeywords, DataModel):
    """One screening rule, a ``[[rules]]`` entry (see the module docstring for the predicates).

    Its role, severity and ``[params]`` are checked against its predicate's declaration
    (:mod:`sanxian_yidan.predicates`) and reported with the field problems.

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
    applies_to : AppliesTo
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

    Notes
    -----
    A rule hashes by its fields other than ``params`` (equal rules hash alike; ``params`` may hold lists).
    """

    # The former dataclass (``Rule``): its field order, and its keywords now read from ``params`` (given as the
    # file writes them) or set when loaded (``origin``); a former default (None, ``()``) says nothing.
    positional: ClassVar[tuple[str, ...]] = ("id", "title_zh", "title_en", "role", "predicate", "severity", "source",
                                             "applies_to", "where", "distance_m", "share", "test", "assumption",
                                             "note_zh", "note_en", "origin", "params")
    former_keywords: ClassVar[Mapping[str, FormerKeyword]] = {
        "where": ('params={"where": [{"field": ..., "op": ..., "value": ...}, ...]}',
                  lambda v: {"params": {"where": _tables(v)}} if v else {}),
        "distance_m": ('params={"distance_m": ...}', lambda v: {} if v is None else {"params": {"distance_m": v}}),
        "share": ('params={"share": ...}', lambda v: {} if v is None else {"params": {"share": v}}),
        "test": ('params={"field": ..., "op": ..., "value": ...}', lambda v: {} if v is None else {"params": _table(v)}),
        "origin": "_origin"}
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")]
    title_zh: Text
    title_en: Text
    role: Text
    predicate: Text
    severity: Text
    source: Source
    applies_to: AppliesTo = AppliesTo()
    params: Mapping[str, Any] = {}
    assumption: bool = False
    note_zh: str = ""
    note_en: str = ""
    enabled: bool = True
    _origin: str = PrivateAttr(default="")

    @model_validator(mode="wrap")
    @classmethod
    def _fits_predicate(cls, data: Any, handler: ModelWrapValidatorHandler[RuleEntry]) -> RuleEntry:
        errors: list[Any] = []
        parsed: dict[str, Any] = {}
        cross = _predicate_problems(data, parsed) if isinstance(data, Mapping) else []
        if not cross and isinstance(data, Mapping) and isinstance(data.get("params", {}), Mapping):
            data = {**data, "params": parsed}  # the rule keeps its parameters as its predicate parsed them
        try:
            entry = handler(data)
        except ValidationError as exc:
            errors = [{k: e[k] for k in ("type", "loc", "input", "ctx") if k in e} for e in exc.errors()]
        errors += [InitErrorDetails(type=PydanticCustomError("value_error", "{error}", {"error": msg}), loc=loc,
                                    input=data.get(loc[0])) for loc, msg in cross]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return entry

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        at = self.positional.index("params")  # the former dataclass' last field
        params = args[at] if len(args) > at else kwargs.get("params")
        if isinstance(params, Mapping) and any(_is_parsed(v) for v in params.values()):
            warnings.warn("Rule: 已解析的参数已弃用 / params holding parsed Condition objects are deprecated and will be "
                          "removed in the next release; give params as the file writes them "
                          '({"where": [{"field": ..., "op": ..., "value": ...}]})', DeprecationWarning, stacklevel=2)
            raw = {k: _raw(v) for k, v in params.items() if k != "test" and v != ()} | (
                _table(params["test"]) if params.get("test") is not None else {})
            args, kwargs = (args[:at] + (raw,) + args[at + 1:], kwargs) if len(args) > at else (args, {**kwargs, "params": raw})
        super().__init__(*args, **kwargs)

    def __hash__(self) -> int:
        return hash(tuple(v for k, v in self.__dict__.items() if k != "params"))

    @property
    def origin(self) -> str:
        """File the rule (last) came from."""
        return self._origin

    @property
    def where(self) -> tuple[Condition, ...]:
        """Filter on the layer's features (all must hold)."""
        return self.params.get("where", ())

    @property
    def distance_m(self) -> float | None:
        """``within_distance`` threshold [m]."""
        return self.params.get("distance_m")

    @property
    def share(self) -> float | None:
        """``overlap_share_above`` threshold [-] (0-1)."""
        return self.params.get("share")

    @property
    def test(self) -> Condition | None:
        """``attribute_test`` condition."""
        return self.params.get("test")

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
        return self.spec.describe_zh(self, getattr(role_vocabulary().get(self.role), "zh", self.role))


#: A loaded rule is its validated entry.
Rule = RuleEntry


def _table(cond: Condition) -> dict[str, Any]:
    """A parsed condition as the file writes it (``{field, op, value}``, a list for list ops)."""
    return {"field": cond.field, "op": cond.op, "value": list(cond.value) if isinstance(cond.value, tuple) else cond.value}


def _tables(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    return [_table(c) for c in conditions]


def _is_parsed(value: Any) -> bool:
    return isinstance(value, Condition) or (isinstance(value, tuple) and any(isinstance(v, Condition) for v in value))


def _raw(value: Any) -> Any:
    """A parameter as the file writes it (parsed conditions become tables)."""
    if isinstance(value, tuple) and all(isinstance(v, Condition) for v in value):
        return _tables(value)
    return _table(value) if isinstance(value, Condition) else value


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


class RulesFile(DataModel):
    """A rule file: ``source``, ``replace_defaults`` and the enabled rules by id (``[[rules]]`` keyed by ``id``)."""

    what: ClassVar[str] = "规则 / rule"
    source: str | None = None
    replace_defaults: bool = False
    rules: dict[str, RuleEntry] = {}

    @model_validator(mode="after")
    def _has_coverage_rule(self) -> RulesFile:
        if not any(r.severity == COVERAGE_SEVERITY for r in self.rules.values()):
            raise ValueError("the rule set has no enabled coverage rule (predicate = 'outside_coverage', severity = "
                             "'outside_coverage'); without it a project outside the zoning data would pass silently "
                             "(没有启用的数据覆盖规则)")
        return self


def _predicate_problems(entry: Mapping[str, Any], parsed: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """(key path, message) of what does not fit the entry's predicate; its parsed ``params`` go into ``parsed``."""
    name, role, severity, params = (entry.get(k) for k in ("predicate", "role", "severity", "params"))
    spec = predicate_of(name) if isinstance(name, str) else None
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(name, str) and spec is None:
        out.append((("predicate",), f"unknown value '{name}'; allowed: {list(predicates())} (a new predicate is "
                                    "registered in sanxian_yidan.predicates, see CONTRIBUTING.md) (未知的检验方式)"))
    allowed = list(SEVERITIES) + ([COVERAGE_SEVERITY] if spec is not None and spec.coverage_severity else [])
    if isinstance(severity, str) and severity not in allowed:
        extra = (f" ('{COVERAGE_SEVERITY}' is only allowed with predicate 'outside_coverage')"
                 if severity == COVERAGE_SEVERITY else "")
        out.append((("severity",), f"unknown value '{severity}'; allowed: "
                                   f"{[f'{s} ({SEVERITY_ZH[s]})' for s in allowed]}{extra} (严重程度无效)"))
    if isinstance(role, str) and (msg := _role_problem(role, spec)):
        out.append((("role",), f"{msg} (图层角色与检验方式不符)"))
    if spec is not None and isinstance(params, Mapping):
        problems: list[str] = []
        parsed.update(spec.parse(params, "", problems))
        for text in (p.removeprefix(": ") for p in problems):
            key = re.search(r"params\.(\w+)(?:\[(\d+)\])?", text)
            loc = ("params",) if key is None else ("params", key[1], *(() if key[2] is None else (int(key[2]),)))
            text = re.sub(r"^(params(\.\w+(\[\d+\])?)?: |key 'params\.\w+(\[\d+\])?' )", "", text)
            out.append((loc, f"{text} (参数错误)"))
    return out


def predicate_of(name: str) -> Predicate | None:
    """The registered predicate ``name``, or None."""
    try:
        return predicate(name)
    except KeyError:
        return None


def _role_problem(role: str, spec: Predicate | None) -> str | None:
    """Why ``role`` does not fit the predicate (``project`` for tests of the project, else a vector layer role of
    the geometry the predicate needs), or None."""
    vocab = role_vocabulary()
    if spec is not None and spec.target == "project":
        return None if role == PROJECT_ROLE else (f"{spec.name} tests the project itself, so role must be "
                                                  f"'{PROJECT_ROLE}', got '{role}'")
    if role not in vocab or role == PROJECT_ROLE:
        return (f"unknown layer role '{role}'; allowed: "
                f"{sorted(r for r in vocab if r != PROJECT_ROLE and not vocab[r].is_raster)}")
    if vocab[role].is_raster:
        return f"'{role}' is a raster role; rules test vector layers"
    if spec is not None and any(g not in vocab[role].geometry for g in spec.geometry):
        return (f"predicate '{spec.name}' needs a {'/'.join(spec.geometry)} role, '{role}' is "
                f"{'/'.join(vocab[role].geometry)}")
    return None


# ----------------------------------------------------------------------------------------------- loading
def load_rules(path: str | Path | None = None, *, defaults: bool = True) -> RuleSet:
    """Load the packaged rule set, optionally extended or amended by a user file.

    Parameters
    ----------
    path : str or Path, optional
        A user rule file.  Its ``[[rules]]`` entries with a new id are added; entries with the id of a
        packaged rule amend it (keys replace, ``params`` and ``applies_to`` are merged key by key;
        ``enabled = false`` disables it).  With ``replace_defaults = true`` at the top of the file,
        or ``defaults=False``, only the user's rules are used.
    defaults : bool
        Start from the packaged rules (``data/rules.toml``).

    Returns
    -------
    RuleSet

    Raises
    ------
    DataFileError
        Listing every problem with its file and key path (``rules.<id>.params.distance_m``): unknown keys,
        missing keys, wrong types, unknown roles, predicates, severities, ops, industry codes (with the
        nearest valid codes) or project types, parameters that do not fit the predicate, duplicate ids, or a
        rule set without a coverage rule.
    """
    sources: list[tuple[str, Path, Mapping[str, Any]]] = []  # label in messages, file, content
    user = load_toml(path) if path is not None else {}
    if defaults and user.get("replace_defaults") is not True:
        sources.append((PACKAGED_PREFIX + DEFAULT_RULES, packaged_path(DEFAULT_RULES), packaged(DEFAULT_RULES)))
    if path is not None:
        sources.append((str(path), Path(path), user))
    problems: list[tuple[tuple[Any, ...], str]] = []
    layers = [(label, _by_id(file.name, content, problems)) for label, file, content in sources] or [
        ("<no rule file>", {"rules": {}})]
    doc: dict[str, Any] = reduce(deep_merge, (d for _, d in layers), {})
    disabled = tuple(rid for rid, e in doc["rules"].items() if isinstance(e, Mapping) and e.get("enabled") is False)
    doc["rules"] = {rid: e for rid, e in doc["rules"].items() if rid not in disabled}
    errors: list[Any] = []
    try:
        model = RulesFile.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    if errors or problems:
        raise DataFileError(format_errors(errors, RulesFile, layers, extra=problems, fix=(
            "correct each entry listed (see the header of sanxian_yidan/data/rules.toml for the format: "
            f"predicates {list(predicates())}, severities {list(SEVERITIES)}, ops {list(OPS)})")))
    origin = {rid: str(file) for (_, file, _), (_, layer) in zip(sources, layers) for rid in layer["rules"]}
    for rid, entry in model.rules.items():
        entry._origin = origin[rid]
    rules = tuple(model.rules.values())
    logger.info("loaded %d rules from %s", len(rules), [label for label, _ in layers])
    return RuleSet(rules, tuple(str(file) for _, file, _ in sources), disabled)


def _by_id(name: str, doc: Mapping[str, Any], problems: list[tuple[tuple[Any, ...], str]]) -> dict[str, Any]:
    """``doc`` with its ``[[rules]]`` keyed by id, so that layers merge rule by rule; malformed entries and
    duplicate ids go to ``problems``."""
    entries = doc.get("rules", [])
    if not isinstance(entries, list):
        problems.append((("rules",), "must be an array of tables ([[rules]])"))
        entries = []
    rules: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        rid = entry.get("id") if isinstance(entry, Mapping) else None
        if not isinstance(entry, Mapping):
            problems.append((("rules", i), "must be a table"))
        elif not isinstance(rid, str) or not rid.strip():
            problems.append((("rules", i, "id"), "'id' is required and must be a non-empty string"))
        elif rid in rules:
            problems.append((("rules", rid), f"duplicate id in {name} (编号重复)"))
        else:
            rules[rid] = entry
    return {**doc, "rules": rules}
