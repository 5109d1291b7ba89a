"""Output table schemas: which columns each output table writes, in which order, and how screens display them.

The schemas live in ``data/tables.toml``; labels, units and default decimals of each column stay in the column
registry (:mod:`sanxian_yidan.columns`).  :func:`assemble` puts a result table into its declared shape and
**fails** on a column the schema does not declare, so a column an analysis adds is never dropped silently:
it is declared as written (``columns``) or as computed-but-not-written (``internal``).  :func:`view_rows`
formats the columns of an on-screen table (short headers, display units such as m² → ha, decimals).

Adding an output column means declaring it in ``data/columns/<module>.toml`` (label, unit) and placing it in
its table here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import BeforeValidator, Field

from .columns import describe
from .datafiles import PACKAGED_PREFIX, load_model
from .errors import DataFileError, problem
from .params import AsTuple, DataModel, Sourced

__all__ = ["DisplayUnit", "TableColumn", "TableSchema", "assemble", "display_unit", "order", "schema", "table_names",
           "view_columns", "view_rows"]

TABLES_FILE = "tables.toml"


def _entries(value: Any) -> Any:
    """A column list as written: names or tables; names become ``{name = ...}``."""
    if isinstance(value, list):
        return tuple({"name": v} if isinstance(v, str) else v for v in value)
    return value


class TableColumn(DataModel):
    """One column of a table schema (``data/tables.toml``).

    Attributes
    ----------
    name : str
        Column name (declared in the column registry).
    required : bool
        :func:`assemble` fails when the frame lacks it.
    optional : bool
        In a view: may be absent (every other view column must be present).
    dtype : {"text", "number", "bool"} or None
        Checked by :func:`assemble` when given.
    display : str or None
        Display unit on screen (a key of ``[units]``).
    digits : int or None
        Decimals on screen (default: the registry's digits for the column).
    head : str or None
        Short header on screen (may contain ``{placeholders}`` filled by :func:`view_rows`).
    """

    name: str
    required: bool = False
    optional: bool = False
    dtype: Literal["text", "number", "bool"] | None = None
    display: str | None = None
    digits: int | None = Field(default=None, ge=0, le=9)
    head: str | None = None


class TableSchema(DataModel):
    """The schema of one output table (or, with ``view``, of an on-screen selection of one)."""

    zh: str
    en: str
    columns: Annotated[tuple[TableColumn, ...], BeforeValidator(_entries)]
    internal: Annotated[tuple[str, ...], AsTuple] = ()
    view: bool = False
    #: A view whose columns may each be absent (a map popup shows what the layer has).
    partial: bool = False

    @property
    def names(self) -> list[str]:
        """Written column names, in order."""
        return [c.name for c in self.columns]


class DisplayUnit(Sourced):
    """A display unit: one of it is ``per`` of the stored unit ``from`` (1 ha = 10,000 m²)."""

    from_unit: str = Field(alias="from")
    per: float = Field(gt=0)


class TablesFile(Sourced):
    """The structure of ``data/tables.toml``."""

    what: ClassVar[str] = "输出表结构 / output table schema"
    units: dict[str, DisplayUnit]
    tables: dict[str, TableSchema]


@lru_cache(maxsize=1)
def _tables() -> TablesFile:
    doc = load_model(TablesFile, TABLES_FILE)
    problems = []
    for tname, table in doc.tables.items():
        problems += [f"[tables.{tname}]: column '{name}' is not in the column registry (declare it in "
                     "sanxian_yidan/data/columns/<module>.toml)" for name in (*table.names, *table.internal)
                     if describe(name) is None]
        for col in table.columns:
            if col.display is None:
                continue
            unit = doc.units.get(col.display)
            stored = getattr(describe(col.name), "unit", None)
            if unit is None:
                problems.append(f"[tables.{tname}]: column '{col.name}': display unit '{col.display}' is not "
                                f"declared in [units] ({sorted(doc.units)})")
            elif stored is not None and unit.from_unit != stored:
                problems.append(f"[tables.{tname}]: column '{col.name}' is stored in '{stored}', display unit "
                                f"'{col.display}' converts from '{unit.from_unit}'")
    if problems:
        raise DataFileError(problem(f"输出表结构有 {len(problems)} 处错误。",
                                    f"The output table schemas have {len(problems)} problem(s):\n  - "
                                    + "\n  - ".join(problems),
                                    file=PACKAGED_PREFIX + TABLES_FILE, fix="correct each entry listed"))
    return doc


def display_unit(name: str) -> DisplayUnit:
    """The display unit ``name`` of ``[units]`` in ``data/tables.toml`` (e.g. ``ha``: ``per`` = 10,000 m²)."""
    return _tables().units[name]


def table_names() -> tuple[str, ...]:
    """Names of the declared tables."""
    return tuple(_tables().tables)


def schema(table: str) -> TableSchema:
    """The schema of ``table``.

    Raises
    ------
    DataFileError
        If no table of that name is declared.
    """
    tables = _tables().tables
    if table not in tables:
        raise DataFileError(problem(f"没有名为“{table}”的输出表结构。", f"No output table schema named '{table}'.",
                                    file=PACKAGED_PREFIX + TABLES_FILE,
                                    fix=f"use one of {sorted(tables)} or declare [tables.{table}]"))
    return tables[table]


def _fail(table: str, zh: str, en: str, fix: str) -> DataFileError:
    return DataFileError(problem(f"输出表“{table}”：{zh}", f"Output table '{table}': {en}",
                                 file=PACKAGED_PREFIX + TABLES_FILE, fix=fix))


_DTYPE_CHECKS = {"number": pd.api.types.is_numeric_dtype, "bool": pd.api.types.is_bool_dtype}


def _dtype_ok(series: pd.Series, dtype: str) -> bool:
    if series.isna().all():
        return True
    if dtype == "text":
        return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    if _DTYPE_CHECKS[dtype](series):
        return True
    # object columns holding numbers / booleans (and missing values) pass as well
    kinds = series.dropna().map(lambda v: isinstance(v, bool) if dtype == "bool"
                                else isinstance(v, (int, float)) and not isinstance(v, bool))
    return bool(kinds.all())


def order(table: str, names: Iterable[str]) -> list[str]:
    """The written columns among ``names``, in the order of ``table``.

    Raises
    ------
    DataFileError
        A name the schema neither writes nor lists as internal (it would be dropped silently).
    """
    spec = schema(table)
    given = list(names)
    undeclared = [c for c in given if c not in spec.names and c not in spec.internal]
    if undeclared:
        raise _undeclared(table, undeclared)
    return [c for c in spec.names if c in given]


def _undeclared(table: str, columns: list[str]) -> DataFileError:
    return _fail(table, f"列 {columns} 未在表结构中声明（会被静默丢弃）。",
                 f"column(s) {columns} are not declared in the schema (they would be dropped silently).",
                 f"add each to [tables.{table}] columns (written) or internal (not written) in "
                 f"sanxian_yidan/data/tables.toml, and to the column registry (data/columns/*.toml)")


def assemble(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns of ``table`` in their declared order (and its geometry, if any, last).

    Parameters
    ----------
    table : str
        Table name in ``data/tables.toml``.
    frame : DataFrame or GeoDataFrame
        The result table (machine column names).

    Returns
    -------
    DataFrame or GeoDataFrame
        The declared columns present, in order; ``internal`` columns left out.

    Raises
    ------
    DataFileError
        A column of ``frame`` that the schema neither writes nor lists as internal (unless the table is a
        view), a required column missing, a value of the wrong dtype, or a view column missing — naming the
        table and the column.
    """
    spec = schema(table)
    geometry = getattr(frame, "_geometry_column_name", None)      # a GeoDataFrame's active geometry
    geometry = geometry if geometry in frame.columns else None
    declared = set(spec.names) | set(spec.internal)
    undeclared = [c for c in frame.columns if c not in declared and c != geometry]
    if undeclared and not spec.view:
        raise _undeclared(table, undeclared)
    missing = [c.name for c in spec.columns
               if (c.required or (spec.view and not (c.optional or spec.partial))) and c.name not in frame.columns]
    if missing:
        raise _fail(table, f"缺少必需列 {missing}。", f"required column(s) {missing} are missing.",
                    "the analysis must compute them, or the schema must not require them")
    for col in spec.columns:
        if col.dtype and col.name in frame.columns and not _dtype_ok(frame[col.name], col.dtype):
            raise _fail(table, f"列“{col.name}”应为 {col.dtype}，实为 {frame[col.name].dtype}。",
                        f"column '{col.name}' should hold {col.dtype} values, has dtype {frame[col.name].dtype}.",
                        f"convert the column, or correct its dtype in [tables.{table}]")
    keep = [c for c in spec.names if c in frame.columns] + ([geometry] if geometry else [])
    return frame[keep]


def view_columns(table: str, frame: pd.DataFrame) -> list[str]:
    """The columns of the view ``table`` that ``frame`` has, in order (e.g. a map popup).

    Raises
    ------
    DataFileError
        A view column not marked ``optional`` is missing.
    """
    assemble(table, frame)
    return [c for c in schema(table).names if c in frame.columns]


def _cell(value: Any, digits: int | None, per: float) -> str:
    """Number with thousands separators and ``digits`` decimals; "–" for missing values; text as it is."""
    if digits is None:
        return str(value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    try:
        return f"{float(value) / per:,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def view_rows(table: str, frame: pd.DataFrame, **fields: Any) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells of an on-screen table (``view = true`` in ``data/tables.toml``).

    Parameters
    ----------
    table : str
        The view's name.
    frame : DataFrame
        Rows to show (every column of the view must be present).
    **fields
        Values for ``{placeholders}`` in the headers (e.g. ``top_k=10``).

    Returns
    -------
    (list of str, list of list of str)
        Headers, and per row the cells: numbers in the display unit with the column's decimals.
    """
    spec = schema(table)
    assemble(table, frame)                      # every view column present
    units: Mapping[str, DisplayUnit] = _tables().units
    heads = [(c.head or c.name).format(**fields) for c in spec.columns]
    formats = [(c.name, c.digits, units[c.display].per if c.display else 1.0) for c in spec.columns]
    rows = [[_cell(row[name], digits, per) for name, digits, per in formats]
            for _, row in frame.iterrows()]
    return heads, rows
