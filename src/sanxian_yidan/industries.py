"""Industry codes of GB/T 4754-2017 (国民经济行业分类), the 两高 flag, industry groups and project types.

Screening rules apply to industries ("chemical projects within 1 km of a river") and to project types
("PV arrays may not occupy basic farmland").  This module resolves what a planner types — ``"2614"``,
``"C2614"``, ``"c26"``, ``"有机化学原料制造"`` — to one canonical code with its names and its 两高 flag,
and tells whether a code belongs to a rule's list of prefixes or named groups.

Codes are written with the section letter in front (``C``, ``C26``, ``C261``, ``C2614``).  The packaged
table (``data/industries.toml``) holds all 20 sections, all 97 divisions and the groups/classes that the
rules need.  A 4-digit class that is not in the table but whose division exists is accepted and treated as
that division (with a :class:`~sanxian_yidan.errors.SanxianWarning`), because the subset cannot list every
class; anything else is an :class:`UnknownIndustryCodeError` listing the nearest valid codes.

References
----------
.. [1] GB/T 4754-2017 国民经济行业分类, 国家统计局 (2017).
.. [2] 生态环境部, 关于加强高耗能、高排放建设项目生态环境源头防控的指导意见, 环环评〔2021〕45号 (2021):
   两高 projects are counted by six categories — 煤电、石化、化工、钢铁、有色金属冶炼、建材.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, NoReturn

from pydantic import model_validator

from .datafiles import load_model
from .errors import InputFileError, SanxianWarning, problem
from .params import AsTuple, DataModel, Keyed, KeyedTable, Sourced

__all__ = [
    "TWO_HIGH_SOURCE",
    "Industry",
    "IndustryGroup",
    "ProjectType",
    "UnknownIndustryCodeError",
    "UnknownProjectTypeError",
    "expand_prefixes",
    "industry_groups",
    "industry_table",
    "is_two_high",
    "lookup",
    "matches",
    "nearest_codes",
    "normalise_code",
    "project_types",
    "resolve",
    "type_for_industry",
]

_DATA = "industries.toml"
_CODE = re.compile(r"^([A-T])?(\d{2}|\d{3}|\d{4})?$")
#: Level of a canonical code by its length (section letter + 2, 3 or 4 digits).
_LEVELS = {1: "section", 3: "division", 4: "group", 5: "class"}
#: How many near matches an unknown-code error lists.
_NEAREST = 5


class UnknownIndustryCodeError(InputFileError):
    """An industry code is not a GB/T 4754-2017 code (the message lists the nearest valid codes)."""


class UnknownProjectTypeError(InputFileError):
    """A project type is not in the vocabulary (the message lists the allowed types)."""


@dataclass(frozen=True)
class Industry:
    """One GB/T 4754-2017 code.

    Attributes
    ----------
    code : str
        Canonical code with the section letter (``"C2614"``).
    level : str
        ``"section"``, ``"division"`` (2 digits), ``"group"`` (3) or ``"class"`` (4).
    zh, en : str
        Names (English is a translation).
    two_high : str or None
        两高 category id (``"chemical"``, ``"steel"``, ...) of the code or of its nearest flagged parent.
    listed : bool
        False when a class was not in the packaged subset and was resolved to its division.
    """

    code: str
    level: str
    zh: str
    en: str
    two_high: str | None = None
    listed: bool = True

    @property
    def is_two_high(self) -> bool:
        """True for 两高 industries (环环评〔2021〕45号)."""
        return self.two_high is not None

    @property
    def section(self) -> str:
        """Section letter (``"C"``)."""
        return self.code[0]


def _section_of(division: int, sections: Mapping[str, _Section]) -> str | None:
    for letter, section in sections.items():
        if section.divisions[0] <= division <= section.divisions[1]:
            return letter
    return None


class _Section(DataModel):
    zh: str
    en: str
    divisions: Annotated[tuple[int, int], AsTuple]


class _Code(DataModel):
    zh: str
    en: str
    two_high: str | None = None


class _Category(DataModel):
    zh: str
    en: str
    caveat: str


class _TwoHigh(Sourced):
    categories: dict[str, _Category]


class IndustryGroup(Keyed, Sourced):
    """A named list of code prefixes used by rules as ``"@name"`` (``id``, ``zh``, ``en``, ``codes``, ``source``)."""

    zh: str
    en: str
    codes: Annotated[tuple[str, ...], AsTuple]


class ProjectType(Keyed, Sourced):
    """A project type of the screening vocabulary (``pv``, ``wind``, ``industrial``, ...): ``id``, ``zh``, ``en``,
    the default ``industry`` code, the ``industries`` prefixes it is derived from, ``source``."""

    zh: str
    en: str
    industry: str | None = None
    industries: Annotated[tuple[str, ...], AsTuple] = ()


class IndustriesFile(Sourced):
    """The structure of ``data/industries.toml``."""

    what: ClassVar[str] = "行业分类 / industry table"
    sections: dict[str, _Section]
    codes: dict[str, _Code]
    two_high: _TwoHigh
    groups: Annotated[dict[str, IndustryGroup], KeyedTable]
    project_types: Annotated[dict[str, ProjectType], KeyedTable]

    @model_validator(mode="after")
    def _codes_consistent(self) -> IndustriesFile:
        problems = []
        for code, spec in self.codes.items():
            m = _CODE.match(code)
            if not m or not m.group(1) or not m.group(2):
                problems.append(f"codes.{code}: not a letter + 2-4 digits code")
            elif _section_of(int(m.group(2)[:2]), self.sections) != m.group(1):
                problems.append(f"codes.{code}: division {m.group(2)[:2]} is not in section {m.group(1)}")
            if spec.two_high is not None and spec.two_high not in self.two_high.categories:
                problems.append(f"codes.{code}: unknown two_high category '{spec.two_high}' "
                                f"(allowed: {sorted(self.two_high.categories)})")
        known = set(self.codes) | set(self.sections)
        problems += [f"groups.{gid}: code '{c}' is not in [codes]" for gid, g in self.groups.items()
                     for c in g.codes if c not in known]
        problems += [f"project_types.{tid}: code '{c}' is not in [codes]" for tid, t in self.project_types.items()
                     for c in (*t.industries, *([t.industry] if t.industry else [])) if c not in known]
        if problems:
            raise ValueError("; ".join(problems) + " (行业代码表不一致)")
        return self

    @cached_property
    def industries(self) -> dict[str, Industry]:
        """Every listed code (sections, divisions, groups, classes) by canonical code."""
        codes = {letter: Industry(letter, "section", sec.zh, sec.en) for letter, sec in self.sections.items()}
        codes.update({code: Industry(code, _LEVELS[len(code)], spec.zh, spec.en, spec.two_high)
                      for code, spec in self.codes.items()})
        return codes

    @cached_property
    def names(self) -> dict[str, str]:
        """Canonical code by Chinese name."""
        return {ind.zh: ind.code for ind in self.industries.values()}


@lru_cache(maxsize=1)
def _table() -> IndustriesFile:
    return load_model(IndustriesFile, _DATA)


def industry_table() -> dict[str, Industry]:
    """All listed codes (sections, divisions, groups, classes) by canonical code."""
    return dict(_table().industries)


def project_types() -> dict[str, ProjectType]:
    """The project-type vocabulary by id."""
    return dict(_table().project_types)


def industry_groups() -> dict[str, IndustryGroup]:
    """Named industry groups (``@chemical``, ``@heavy_polluting``, ...) by id."""
    return dict(_table().groups)


def two_high_categories() -> dict[str, dict[str, str]]:
    """两高 categories (``zh``, ``en``, ``caveat``) by id."""
    return {k: c.model_dump() for k, c in _table().two_high.categories.items()}


#: Source of the 两高 flag (环环评〔2021〕45号), as given in the data file.
TWO_HIGH_SOURCE: str = _table().two_high.source


def _fail(value: object, why: str, *, feature: object | None = None, file: str | Path | None = None) -> NoReturn:
    near = nearest_codes(str(value))
    shown = ", ".join(f"{c} {_table().industries[c].zh}" for c in near) or "—"
    raise UnknownIndustryCodeError(problem(
        f"未知的国民经济行业代码 {value!r}（GB/T 4754-2017）。最接近的有效代码：{shown}",
        f"Unknown GB/T 4754-2017 industry code {value!r}: {why}. Nearest valid codes: {shown}.",
        file=file, feature=feature,
        fix="give a section letter and/or 2-4 digits, e.g. 'C2614' (有机化学原料制造), 'C26', '2614', 'D4416' "
            "(太阳能发电); the list is in sanxian_yidan/data/industries.toml"))


def normalise_code(value: object, *, feature: object | None = None, file: str | Path | None = None) -> str:
    """Return the canonical form (section letter + digits) of an industry code or listed Chinese name.

    Parameters
    ----------
    value : str or int
        ``"2614"``, ``"C2614"``, ``" c26 "``, ``2614``, ``"C"`` or an exact Chinese name from the table.
    feature, file : optional
        Named in the error message (which project, which file).

    Raises
    ------
    UnknownIndustryCodeError
        If the value is not a well-formed code, its division does not exist or the letter contradicts
        the digits.
    """
    table = _table()
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text in table.names:
        return table.names[text]
    text = text.upper().replace(" ", "")
    m = _CODE.match(text)
    if not text or not m or (m.group(1) is None and m.group(2) is None):
        _fail(value, "expected a section letter A-T and/or 2-4 digits", feature=feature, file=file)
    letter, digits = m.group(1), m.group(2)
    if digits is None:
        return letter
    section = _section_of(int(digits[:2]), table.sections)
    if section is None:
        _fail(value, f"division {digits[:2]} does not exist (divisions run 01-97)", feature=feature, file=file)
    if letter is not None and letter != section:
        _fail(value, f"division {digits[:2]} belongs to section {section}, not {letter}", feature=feature, file=file)
    return f"{section}{digits}"


def lookup(value: object, *, feature: object | None = None, file: str | Path | None = None,
           warn: bool = True) -> Industry:
    """Return the :class:`Industry` for a code (see :func:`normalise_code` for accepted spellings).

    A well-formed group or class that is not in the packaged subset resolves to its nearest listed parent
    (normally the division) with ``listed=False`` and a warning; its 两高 flag is the parent's.

    Raises
    ------
    UnknownIndustryCodeError
        If the code is malformed or its division does not exist.
    """
    code = normalise_code(value, feature=feature, file=file)
    table = _table().industries
    if code in table:
        ind = table[code]
        return Industry(ind.code, ind.level, ind.zh, ind.en, _two_high_of(code), True)
    parent = next(code[:n] for n in range(len(code) - 1, 0, -1) if code[:n] in table)
    if warn:
        warnings.warn(f"industry code {code} is not in sanxian_yidan's subset of GB/T 4754-2017; treated as "
                      f"{parent} {table[parent].zh} / 行业代码 {code} 不在内置子集中，按 {parent} 处理",
                      SanxianWarning, stacklevel=2)
    return Industry(code, _LEVELS[len(code)], f"{table[parent].zh}（{code}）", f"{table[parent].en} ({code})",
                    _two_high_of(code), False)


def resolve(value: object, **kwargs: Any) -> Industry:
    """Alias of :func:`lookup` (reads better in rule code)."""
    return lookup(value, **kwargs)


def _two_high_of(code: str) -> str | None:
    table = _table().industries
    for n in range(len(code), 0, -1):
        ind = table.get(code[:n])
        if ind is not None and ind.two_high is not None:
            return ind.two_high
    return None


def is_two_high(value: object) -> bool:
    """True if the code (or a parent) is flagged 两高 (环环评〔2021〕45号)."""
    return _two_high_of(normalise_code(value)) is not None


def nearest_codes(value: str, n: int = _NEAREST) -> list[str]:
    """The ``n`` listed codes closest to ``value`` (difflib ratio on the canonical spelling)."""
    table = _table().industries
    text = str(value).strip().upper()
    candidates = [c for c in table if len(c) > 1]
    # Compare against both spellings ("C2614" and "2614") so a code typed without its letter finds its kin.
    scored = {c: max(difflib.SequenceMatcher(None, text, c).ratio(), difflib.SequenceMatcher(None, text, c[1:]).ratio())
              for c in candidates}
    best = sorted(scored, key=lambda c: (-scored[c], c))
    close = set(difflib.get_close_matches(text, candidates, n=n, cutoff=0.5))
    ordered = [c for c in best if c in close] + [c for c in best if c not in close]
    return ordered[:n]


def expand_prefixes(items: Iterable[str], *, where: str = "", problems: list[str] | None = None) -> tuple[str, ...]:
    """Turn a rule's industry list (codes or ``"@group"`` names) into canonical code prefixes.

    Parameters
    ----------
    items : iterable of str
        E.g. ``["@chemical", "C3041", "2211"]``.
    where : str
        Location for messages (``"rule 'YZ-01' applies_to.industries"``).
    problems : list of str, optional
        If given, problems are appended here instead of raised (so a rule file reports all at once).
    """
    out: list[str] = []
    groups = _table().groups
    for item in items:
        text = str(item).strip()
        if text.startswith("@"):
            group = groups.get(text[1:])
            if group is None:
                msg = f"{where}: unknown industry group '{text}' (allowed: {['@' + g for g in sorted(groups)]})"
                if problems is None:
                    raise UnknownIndustryCodeError(problem("未知的行业组。", msg, fix="use a group from industries.toml"))
                problems.append(msg)
                continue
            out.extend(group.codes)
            continue
        try:
            out.append(normalise_code(text))
        except UnknownIndustryCodeError as exc:
            if problems is None:
                raise
            near = ", ".join(nearest_codes(text))
            problems.append(f"{where}: unknown industry code '{text}' (nearest valid codes: {near}) — "
                            f"{str(exc).splitlines()[1]}")
    return tuple(dict.fromkeys(out))


def matches(code: str | None, prefixes: Iterable[str]) -> bool:
    """True if canonical ``code`` starts with any canonical prefix (``"C2614"`` matches ``"C26"``)."""
    return code is not None and code.startswith(tuple(prefixes))


def type_for_industry(code: str | None) -> str | None:
    """Project type implied by an industry code (longest matching prefix), or None."""
    found = [(len(prefix), ptype.id) for ptype in _table().project_types.values() for prefix in ptype.industries
             if code is not None and code.startswith(prefix)]
    # the longest prefix wins; among equally long ones the first type declared (max keeps the first)
    return max(found, key=lambda f: f[0])[1] if found else None


def check_project_type(value: object, *, feature: object | None = None, file: str | Path | None = None) -> str:
    """Return the project-type id for ``value`` (id or exact Chinese name) or raise.

    Raises
    ------
    UnknownProjectTypeError
        Listing the allowed types.
    """
    types = _table().project_types
    text = str(value).strip()
    if text.lower() in types:
        return text.lower()
    if by_name := [t.id for t in types.values() if text == t.zh]:
        return by_name[0]
    near = difflib.get_close_matches(text.lower(), list(types), n=3, cutoff=0.6)
    allowed = ", ".join(f"{t.id} ({t.zh})" for t in types.values())
    raise UnknownProjectTypeError(problem(
        f"未知的项目类型 {value!r}。", f"Unknown project type {value!r}"
        + (f"; did you mean {near}?" if near else "."), file=file, feature=feature,
        fix=f"use one of: {allowed}"))
