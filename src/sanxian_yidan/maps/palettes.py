"""Colour tables of the map files: palettes (categorical), ramps (numeric) and the reader that validates them.

``data/maps.toml`` and ``data/styles.toml`` both define palettes and ramps; this module reads
them for either file, so the map settings (:mod:`.settings`) and the style registry
(:mod:`.styles`) share one parser without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class SettingsReader:
    """Reads keys of a map settings or styles file, collecting every problem so they are reported together.

    Each method returns the value (or a harmless default) and appends a message to
    :attr:`problems` when the key is missing or of the wrong kind; the caller raises one
    :class:`~sanxian_yidan.errors.DataFileError` listing them all at the end.

    Parameters
    ----------
    path : Path
        The file being read (named in the error message by the caller).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def get(self, table: Any, key: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
        if not isinstance(table, dict):
            self.problems.append(f"{where} must be a table")
            return default
        if key not in table:
            self.problems.append(f"{where}: missing key '{key}'")
            return default
        value = table[key]
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            self.problems.append(f"{where}.{key} must be a number, got {value!r}")
            return default
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.problems.append(f"{where}.{key} must be {names}, got {type(value).__name__} {value!r}")
            return default
        return value

    def colour(self, table: Any, key: str, where: str) -> str:
        value = self.get(table, key, str, where, "#000000")
        if not COLOUR.match(value):
            self.problems.append(f"{where}.{key} = {value!r} is not a colour (#rrggbb or a CSS name)")
            return "#000000"
        return value

    def colours(self, table: Any, key: str, where: str) -> tuple[str, ...]:
        values = self.get(table, key, list, where, [])
        bad = [v for v in values if not (isinstance(v, str) and COLOUR.match(v))]
        if bad:
            self.problems.append(f"{where}.{key}: not colours: {bad}")
        if not values:
            self.problems.append(f"{where}.{key} must list at least one colour")
        return tuple(v for v in values if isinstance(v, str) and COLOUR.match(v)) or ("#000000",)

    def strings(self, table: Any, key: str, where: str) -> tuple[str, ...]:
        values = self.get(table, key, list, where, [])
        if any(not isinstance(v, str) for v in values):
            self.problems.append(f"{where}.{key} must be a list of strings")
        return tuple(str(v) for v in values)

    def source(self, table: Any, where: str) -> str:
        value = self.get(table, "source", str, where, "")
        if isinstance(table, dict) and "source" in table and not str(value).strip():
            self.problems.append(f"{where}.source is empty")
        return value


def parse_palettes(r: SettingsReader, doc: dict[str, Any], file: str = "maps.toml") -> dict[str, Palette]:
    """The ``[palettes.<id>]`` tables of ``doc``: colour tables for categorical columns.

    Parameters
    ----------
    r : SettingsReader
        Collects the problems (bad colour, missing ``source``, ...).
    doc : dict
        The parsed TOML document.
    file : str
        Name of the file, used as the location of a missing ``[palettes]`` table.

    Returns
    -------
    dict of str to Palette
    """
    out = {}
    for pid, spec in r.get(doc, "palettes", dict, file, {}).items():
        where = f"[palettes.{pid}]"
        classes = []
        for value, cls in r.get(spec, "classes", dict, where, {}).items():
            cwhere = f"{where}.classes.{value}"
            classes.append(PaletteClass(str(value), r.get(cls, "zh", str, cwhere, value),
                                        r.get(cls, "en", str, cwhere, value), r.colour(cls, "colour", cwhere)))
        out[pid] = Palette(pid, r.strings(spec, "columns", where), tuple(classes), r.source(spec, where))
    return out


def parse_ramps(r: SettingsReader, doc: dict[str, Any], file: str = "maps.toml") -> dict[str, Ramp]:
    """The ``[ramps.<id>]`` tables of ``doc``: colour ramps for numeric columns (``sequential`` required).

    Parameters
    ----------
    r : SettingsReader
        Collects the problems (fewer than two colours, missing ``sequential`` ramp, ...).
    doc : dict
        The parsed TOML document.
    file : str
        Name of the file, used as the location of a missing ``[ramps]`` table.

    Returns
    -------
    dict of str to Ramp
    """
    out = {}
    for rid, spec in r.get(doc, "ramps", dict, file, {}).items():
        where = f"[ramps.{rid}]"
        colours = r.colours(spec, "colours", where)
        if len(colours) < 2:
            r.problems.append(f"{where}.colours needs at least two colours to make a ramp")
        out[rid] = Ramp(rid, colours, r.strings(spec, "columns", where), r.get(spec, "reverse", bool, where, False),
                        r.source(spec, where))
    if "sequential" not in out:
        r.problems.append("[ramps.sequential] is missing (the default ramp for numeric columns)")
    return out
