"""Colour tables of the map files: palettes (categorical), ramps (numeric) and their models.

``data/maps.toml`` and ``data/styles.toml`` both define palettes and ramps; the models here
(:class:`PaletteEntry`, :class:`RampEntry`, the :data:`Colour` type) serve either file, so the map
settings (:mod:`.settings`) and the style registry (:mod:`.styles`) share them without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from ..params import AsTuple, DataModel, Sourced

#: A colour as maps.toml and styles.toml write it: ``#rgb``, ``#rrggbb``, ``#rrggbbaa`` or a CSS name.
COLOUR = re.compile(r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|[a-zA-Z]{3,20})$")


@dataclass(frozen=True)
class PaletteClass:
    """One class of a categorical colour table: value (as text), bilingual label, colour."""

    value: str
    zh: str
    en: str
    colour: str

    @property
    def label(self) -> str:
        """``"中文 / English"``."""
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class Palette:
    """Colour table for a categorical column (``[palettes.<id>]``)."""

    id: str
    columns: tuple[str, ...]
    classes: tuple[PaletteClass, ...]
    source: str


@dataclass(frozen=True)
class Ramp:
    """Colour ramp for a numeric column, low value first (``[ramps.<id>]``)."""

    id: str
    colours: tuple[str, ...]
    columns: tuple[str, ...]
    reverse: bool
    source: str


def _colour(value: str) -> str:
    if not COLOUR.match(value):
        raise ValueError(f"{value!r} is not a colour (#rrggbb or a CSS name) (颜色无效)")
    return value


#: A colour (:data:`COLOUR`).
Colour = Annotated[str, AfterValidator(_colour)]
#: A colour, or ``""`` for none.
OptionalColour = Annotated[str, AfterValidator(lambda v: v if v == "" else _colour(v))]
Strings = Annotated[tuple[str, ...], AsTuple]


class _ClassEntry(DataModel):
    zh: str
    en: str
    colour: Colour


class PaletteEntry(Sourced):
    """``[palettes.<id>]``: the columns it colours and its classes, in legend order."""

    columns: Strings
    classes: dict[str, _ClassEntry]


class RampEntry(Sourced):
    """``[ramps.<id>]``: colours from low to high (at least two)."""

    colours: Annotated[tuple[Colour, ...], AsTuple] = Field(min_length=2)
    columns: Strings
    reverse: bool


def sequential_ramp_problem(doc: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """The ``sequential`` ramp (default of numeric columns) must exist: a problem for ``document_problems``."""
    ramps = doc.get("ramps")
    if isinstance(ramps, Mapping) and "sequential" not in ramps:
        return [(("ramps",), "[ramps.sequential] is missing (the default ramp for numeric columns) (缺少默认色带)")]
    return []


def build_palettes(entries: Mapping[str, PaletteEntry]) -> dict[str, Palette]:
    """:class:`Palette` objects of validated ``[palettes.*]`` tables."""
    return {pid: Palette(pid, e.columns, tuple(PaletteClass(str(v), c.zh, c.en, c.colour) for v, c in e.classes.items()),
                         e.source) for pid, e in entries.items()}


def build_ramps(entries: Mapping[str, RampEntry]) -> dict[str, Ramp]:
    """:class:`Ramp` objects of validated ``[ramps.*]`` tables."""
    return {rid: Ramp(rid, e.colours, e.columns, e.reverse, e.source) for rid, e in entries.items()}
