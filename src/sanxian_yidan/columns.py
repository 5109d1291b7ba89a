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

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, PrivateAttr

from .datafiles import load_model, load_toml
from .errors import DataFileError, problem
from .params import DataModel, FormerKeyword, FormerKeywords, PositionalFields, Sourced, validate_layers

_Digits = Annotated[int, Field(ge=0, le=9)]  # decimals written to CSV and shown in tables


class Column(PositionalFields, FormerKeywords, DataModel):
    """One output column (a ``[<name>]`` table of ``data/columns/<module>.toml``).

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
    digits : int, optional
        Decimals written to CSV and shown in tables (default: by unit, see ``data/csv_format.toml``).
    """

    # The former dataclass: its field order, and its name, now the column's key in the registry's file.
    positional: ClassVar[tuple[str, ...]] = ("name", "zh", "en", "unit", "description", "digits")
    former_keywords: ClassVar[Mapping[str, FormerKeyword]] = {"name": "_name"}
    zh: str
    en: str
    unit: str
    description: str
    digits: _Digits | None = None  # none: by unit (data/csv_format.toml)
    _name: str = PrivateAttr(default="")

    @property
    def name(self) -> str:
        """Column name as written to files (its key in the registry)."""
        return self._name

    @property
    def label(self) -> str:
        """Bilingual label with the unit, e.g. ``"装机容量 / Installed capacity [kWp]"``."""
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.zh} / {self.en}{unit}"


def _column_files() -> list[Path]:
    folder = Path(str(resources.files("sanxian_yidan") / "data" / "columns"))
    return sorted(folder.glob("*.toml"))


class ColumnsFile(DataModel):
    """The structure of a ``data/columns/*.toml`` file: one ``[<column name>]`` table per output column."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Column]
    what: ClassVar[str] = "输出列 / output-column registry"


class _Sheet(Sourced):
    large_area_ha: float = Field(gt=0)


class CsvFormatFile(Sourced):
    """The structure of ``data/csv_format.toml``."""

    what: ClassVar[str] = "表格格式 / CSV format"
    default_digits: _Digits
    true_text: str
    false_text: str
    unit_digits: dict[str, _Digits]
    sheet: _Sheet


@lru_cache(maxsize=1)
def registry() -> dict[str, Column]:
    """All declared output columns by name (loaded once, validated).

    Raises
    ------
    DataFileError
        If an entry lacks a key or has an unknown one, or a column is declared twice with different meaning.
    """
    columns: dict[str, Column] = {}
    for path in _column_files():
        entries = validate_layers(ColumnsFile, [(str(path), load_toml(path))]).model_extra or {}
        for name, col in entries.items():
            col._name = name
            if name in columns and columns[name] != col:
                raise DataFileError(problem(f"输出列 '{name}' 重复定义且含义不同。",
                                            f"Column '{name}' is declared twice with different text.",
                                            file=path, fix="declare each column once, or identically"))
            columns[name] = col
    return columns


@lru_cache(maxsize=1)
def csv_format() -> dict:
    """The validated ``data/csv_format.toml``: ``default_digits``, ``true_text``, ``false_text``, ``unit_digits``,
    ``sheet``."""
    return load_model(CsvFormatFile, "csv_format.toml").model_dump(exclude={"source"})


def digits_of(name: str) -> int:
    """Decimals of column ``name``: its registry ``digits``, else by its unit, else the default."""
    fmt = csv_format()
    col = describe(name)
    if col is not None and col.digits is not None:
        return col.digits
    if col is not None and col.unit in fmt["unit_digits"]:
        return int(fmt["unit_digits"][col.unit])
    return int(fmt["default_digits"])


def format_table(frame: Any) -> Any:
    """A copy of ``frame`` (machine column names) ready to be written: decimals per column (:func:`digits_of`),
    whole-number columns as integers (``1`` not ``1.0``, empty cells kept), yes/no as ``是``/``否``.

    Every value that rounds to zero is written as 0, so a float residue such as ``2.9e-11`` m² never
    appears.  Text columns are left alone.
    """
    import numpy as np
    import pandas as pd

    fmt = csv_format()
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.map({True: fmt["true_text"], False: fmt["false_text"]}).astype(object)
        elif s.dtype == object and len(s) and s.map(lambda v: isinstance(v, (bool, np.bool_)) or v is None
                                                 or (isinstance(v, float) and v != v)).all() \
                and s.map(lambda v: isinstance(v, (bool, np.bool_))).any():
            out[col] = s.map(lambda v: fmt["true_text"] if v is True or v is np.True_ else
                             (fmt["false_text"] if v is False or v is np.False_ else v))
        elif pd.api.types.is_float_dtype(s.dtype):
            digits = digits_of(str(col))
            rounded = s.round(digits) + 0.0  # + 0.0 turns -0.0 into 0.0
            whole = rounded.dropna()
            if digits == 0 or (len(whole) and (whole == whole.round()).all() and col in _WHOLE_WHEN_INTEGRAL):
                out[col] = rounded.astype("Int64")
            else:
                out[col] = rounded
    return out


#: Float columns written as integers when every value is whole (ranks with gaps are floats).
_WHOLE_WHEN_INTEGRAL = {"rank", "n_findings", "buildings", "n_buildings", "mines", "count"}


def describe(name: str) -> Column | None:
    """Return the registered :class:`Column` called ``name``, or ``None``."""
    return registry().get(name)


def label(name: str) -> str:
    """Bilingual label with unit for ``name``; the bare name if it is not registered."""
    col = describe(name)
    return col.label if col else name
