"""The parsers of ``brownfield.toml`` replaced by its models, kept for one release behind a DeprecationWarning.

Each takes its former arguments (``probs``: a collector with ``add(where, text)``, e.g. the deprecated
``datafiles.Problems``) and returns its former result, validated by the models of :mod:`.params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .._deprecated import deprecated, record_problems
from ..datafiles import deep_merge, load_toml, packaged_path
from .params import (
    Condition,
    CriterionSpec,
    Exclusion,
    McdaFile,
    McdaSpec,
    _PrescreenEntry,
)


def parse_condition(raw: Any, where: str, probs: Any, *, prescreen: bool = False) -> Condition | None:
    """Deprecated: one ``{column, op, value}`` test as a :class:`Condition` (``None`` and a problem if invalid)."""
    deprecated("brownfield.parse_condition", "brownfield.params.Condition.model_validate(raw)")
    try:
        return (_PrescreenEntry if prescreen else Condition).model_validate(raw)
    except ValidationError as exc:
        record_problems(exc, where, probs)
        return None


def parse_criteria(raw_list: Any, where: str, probs: Any) -> tuple[CriterionSpec, ...]:
    """Deprecated: the ``[[criteria]]`` entries as :class:`CriterionSpec` (``()`` and problems if invalid)."""
    deprecated("brownfield.parse_criteria", "brownfield.params.McdaFile (its mcda_spec().criteria)")
    try:
        entries = TypeAdapter(list[CriterionSpec]).validate_python(raw_list)
    except ValidationError as exc:
        record_problems(exc, where, probs)
        return ()
    if not entries:
        probs.add(where, "at least one [[criteria]] entry is needed")
    return tuple(entries)


def parse_mcda(doc: Mapping[str, Any], probs: Any, *, criteria_key: str = "criteria") -> McdaSpec | None:
    """Deprecated: ``[mcda]`` and the criteria of ``doc`` as a :class:`McdaSpec` (``None`` and problems if invalid)."""
    deprecated("brownfield.parse_mcda", "brownfield.params.McdaFile.model_validate(doc).mcda_spec()")
    part = {"source": doc.get("source") or "—", "mcda": doc.get("mcda"), "criteria": doc.get(criteria_key)}
    try:
        return McdaFile.model_validate(part).mcda_spec()
    except ValidationError as exc:
        record_problems(exc, "", probs)
        return None


def parse_exclusion(raw: Any, where: str, probs: Any) -> Exclusion | None:
    """Deprecated: one ``[[exclusions]]`` entry as an :class:`Exclusion` (``None`` and a problem if invalid)."""
    deprecated("brownfield.parse_exclusion", "brownfield.load_params(...).exclusions")
    try:
        return Exclusion.model_validate(raw)
    except ValidationError as exc:
        record_problems(exc, where, probs)
        return None


def read_params_document(default_name: str, params: str | Path | Mapping[str, Any] | None
                         ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Deprecated: packaged ``default_name`` with a user file or mapping merged over it, and the files read."""
    deprecated("brownfield.read_params_document", "brownfield.params.load_document(Model, name, params)")
    base = packaged_path(default_name)
    if params is None:
        return load_toml(base), (str(base),)
    if isinstance(params, Mapping):
        return deep_merge(load_toml(base), params), (str(base), "<parameters given as a mapping>")
    user = Path(params).resolve()
    return deep_merge(load_toml(base), load_toml(user)), (str(base), str(user))
