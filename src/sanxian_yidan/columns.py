"""Registry of output columns: names carry units, each has a bilingual description.

Every analysis module declares the columns it writes in its own file
``sanxian_yidan/data/columns/<module>.toml``::

    [capacity_kwp]
    zh = "装机容量"
    en = "Installed capacity"
    unit = "kWp"
    description = "DC nameplate capacity of the modules that fit on the usable roof area."

CSV headers, map popups and report tables take their labels from here, so a
column reads the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .datafiles import load_toml, require
from .errors import DataFileError, problem


@dataclass(frozen=True)
class Column:
    """One output column.

    Attributes
    ----------
    name : str
        Column name as written to files (unit suffix included, e.g. ``area_m2``).
    zh, en : str
        Chinese and English labels.
    unit : str
        Unit of the values (``""`` for text or dimensionless).
    description : str
        What the value means and how it was computed.
    """

    name: str
    zh: str
    en: str
    unit: str
    description: str

    @property
    def label(self) -> str:
        """Bilingual label with the unit, e.g. ``"装机容量 / Installed capacity [kWp]"``."""
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.zh} / {self.en}{unit}"


def _column_files() -> list[Path]:
    folder = Path(str(resources.files("sanxian_yidan") / "data" / "columns"))
    return sorted(folder.glob("*.toml"))


@lru_cache(maxsize=1)
def registry() -> dict[str, Column]:
    """All declared output columns by name (loaded once, validated).

    Raises
    ------
    DataFileError
        If an entry lacks a key or a column is declared twice with different meaning.
    """
    columns: dict[str, Column] = {}
    for path in _column_files():
        for name, entry in load_toml(path).items():
            where = f"[{name}]"
            col = Column(name=name, zh=require(entry, "zh", str, file=path, where=where),
                         en=require(entry, "en", str, file=path, where=where),
                         unit=require(entry, "unit", str, file=path, where=where),
                         description=require(entry, "description", str, file=path, where=where))
            if name in columns and columns[name] != col:
                raise DataFileError(problem(f"输出列 '{name}' 重复定义且含义不同。",
                                            f"Column '{name}' is declared twice with different text.",
                                            file=path, fix="declare each column once, or identically"))
            columns[name] = col
    return columns


def describe(name: str) -> Column | None:
    """Return the registered :class:`Column` called ``name``, or ``None``."""
    return registry().get(name)


def label(name: str) -> str:
    """Bilingual label with unit for ``name``; the bare name if it is not registered."""
    col = describe(name)
    return col.label if col else name
