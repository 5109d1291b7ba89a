"""Pollution-and-carbon co-benefits of PV electricity: avoided CO2, SO2, NOx, PM and standard coal.

Suizhou's synergy plan (减污降碳协同增效实施方案) asks every PV result to report carbon and
pollutant reductions together.  This module turns annual PV energy [kWh] into those quantities
with published factors kept in ``data/benefits.toml`` (each with value, unit, year, publisher,
source and a ``confirmed`` flag):

* CO2 from the grid-average emission factor (生态环境部/国家统计局; national or Central China 华中 grid),
  or — named explicitly — the ministry's fossil-power factor (CO2 per kWh of fossil generation);
* standard coal saved from the CEC's coal consumption of power supply (gce per kWh of thermal power);
* SO2, NOx and particulate matter from the CEC's emissions per kWh of thermal power.

The factors do not share one basis: the CO2 default is a grid average (all generation, hydro and
renewables included), the others are per kWh of coal/thermal power.  Every :class:`Factor` states its
``basis`` and every table that lists factors shows it.

Other modules (rooftop, brownfield PV, studies) call :func:`co_benefits` with their energy.

Example
-------
>>> from sanxian_yidan import co_benefits
>>> co_benefits(1_000_000)[["co2_t", "coal_tce"]]      # doctest: +SKIP
   co2_t  coal_tce
0  527.1    300.7
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from .datafiles import load_model
from .errors import DataFileError, InputFileError, problem
from .params import Sourced, SourcedValue

logger = logging.getLogger(__name__)

_DATA_FILE = "benefits.toml"
#: Quantity kind → (required unit, output column, divisor turning kWh × factor into the output unit).
KINDS: dict[str, tuple[str, str, float]] = {
    "co2": ("kgCO2/kWh", "co2_t", 1_000.0),       # kg → t
    "so2": ("g/kWh", "so2_kg", 1_000.0),          # g → kg
    "nox": ("g/kWh", "nox_kg", 1_000.0),
    "pm": ("g/kWh", "pm_kg", 1_000.0),
    "coal": ("gce/kWh", "coal_tce", 1_000_000.0),  # gce → tce
}
#: Plausible upper bounds of each factor (a typo guard, not a rule).
_UPPER = {"co2": 1.5, "so2": 20.0, "nox": 20.0, "pm": 20.0, "coal": 500.0}
#: Output columns in order.
BENEFIT_COLUMNS = ("co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce")
#: What kWh a factor is counted per (``basis`` of each ``[factors.<id>]``; see ``data/benefits.toml``).
GRID_AVERAGE = "grid average"
Basis = Literal["grid average", "per kWh of fossil power", "per kWh of coal/thermal power"]
BASES: tuple[str, ...] = typing.get_args(Basis)
#: How each basis is named in Chinese in tables and reports.
BASIS_ZH = {GRID_AVERAGE: "全电网平均", "per kWh of fossil power": "按化石能源发电量",
            "per kWh of coal/thermal power": "按煤电/火电发电量"}


@dataclass(frozen=True)
class Factor:
    """One published emission or consumption factor.

    Attributes
    ----------
    id : str
        Key in the data file, e.g. ``"grid_co2_central_china_2023"``.
    kind : str
        ``"co2"``, ``"coal"``, ``"so2"``, ``"nox"`` or ``"pm"``.
    value : float
        Factor in ``unit``.
    unit : str
        ``kgCO2/kWh`` (co2), ``gce/kWh`` (coal) or ``g/kWh`` (pollutants).
    year : int
        Year the factor describes.
    publisher : str
        Who published it.
    source : str
        Document and where it was read.
    confirmed : bool
        False when the value could not be checked against the publisher's own text.
    grid : str or None
        Grid a CO2 factor belongs to (``"national"``, ``"central_china"``).
    basis : str
        What kWh the factor is counted per, one of :data:`BASES`: ``"grid average"`` (all
        generation), ``"per kWh of fossil power"`` or ``"per kWh of coal/thermal power"``.
    """

    id: str
    kind: str
    value: float
    unit: str
    year: int
    publisher: str
    source: str
    confirmed: bool = True
    grid: str | None = None
    basis: str = ""

    @property
    def basis_label(self) -> str:
        """The basis in Chinese and English, e.g. ``"全电网平均 / grid average"``."""
        return f"{BASIS_ZH.get(self.basis, self.basis)} / {self.basis}"


class _FactorEntry(SourcedValue):
    kind: Literal["co2", "so2", "nox", "pm", "coal"]
    value: float = Field(ge=0)
    year: int
    publisher: str = Field(min_length=1)
    confirmed: bool = True
    grid: str | None = None
    basis: Basis

    @model_validator(mode="after")
    def _consistent(self) -> _FactorEntry:
        unit, problems = KINDS[self.kind][0], []
        if self.unit != unit:
            problems.append(f"unit {self.unit!r} must be {unit!r} for kind {self.kind!r} (单位与种类不符)")
        if self.value > _UPPER[self.kind]:
            problems.append(f"value {self.value} is implausible: above {_UPPER[self.kind]} {unit} (数值过大)")
        if self.kind == "co2" and self.grid is None:
            problems.append('a co2 factor needs grid = "national" or a regional grid name (缺少电网名称)')
        if problems:
            raise ValueError("; ".join(problems))
        return self


class _Defaults(Sourced):
    coal: str
    so2: str
    nox: str
    pm: str
    grid: str


class BenefitsFile(Sourced):
    """The structure of ``data/benefits.toml``: ``[factors.<id>]`` tables and the ``[defaults]``."""

    what: ClassVar[str] = "减污降碳系数 / co-benefit factor"
    factors: dict[str, _FactorEntry] = Field(min_length=1)
    defaults: _Defaults


def _mark_changed_sources(label: str, layer: Mapping[str, Any], packaged: Mapping[str, Any]) -> Mapping[str, Any]:
    """A user table changing a packaged factor without a ``source`` gets one naming the change: the packaged
    source must never describe a value it no longer holds."""
    factors = layer.get("factors")
    if not isinstance(factors, Mapping):
        return layer
    marked = {}
    for fid, entry in factors.items():
        base = packaged.get("factors", {}).get(fid)
        if isinstance(entry, Mapping) and isinstance(base, Mapping) and "source" not in entry:
            changed = ", ".join(f"{k} = {v!r}" for k, v in entry.items())
            entry = {**entry, "source": f"{changed} set by {label}; packaged entry: {base['source']}"}
        marked[fid] = entry
    return {**layer, "factors": marked}


def _load(path: str | Path | None, overrides: Mapping[str, Any] | None) -> BenefitsFile:
    return load_model(BenefitsFile, _DATA_FILE, path, overrides, prepare=_mark_changed_sources)


def load_factors(path: str | Path | None = None, *,
                 overrides: Mapping[str, Any] | None = None) -> dict[str, Factor]:
    """Load the co-benefit factors (packaged, optionally overridden by a user TOML).

    Parameters
    ----------
    path : str or Path, optional
        User TOML with ``[factors.<id>]`` tables (same keys as ``data/benefits.toml``); a table
        with an existing id replaces the keys it gives, a new id adds a factor.
    overrides : mapping, optional
        Same structure as the TOML (``{"factors": {...}, "defaults": {...}}``), applied last.

    Returns
    -------
    dict of str to Factor
        Factors by id.

    Raises
    ------
    DataFileError
        Listing every problem (unknown or missing keys, wrong unit for the kind, implausible value).
    """
    return {fid: Factor(id=fid, **entry.model_dump()) for fid, entry in _load(path, overrides).factors.items()}


def load_defaults(path: str | Path | None = None, *,
                  overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Default factor id per kind and the default grid (``[defaults]`` of the data file)."""
    return _load(path, overrides).defaults.model_dump(exclude={"source"})


def select_factors(factors: str | Path | Mapping[str, Factor] | None = None,
                   grid: str = "central_china", *, overrides: Mapping[str, Any] | None = None) -> dict[str, Factor]:
    """Resolve the factor of each kind that :func:`co_benefits` will use.

    Parameters
    ----------
    factors : path, mapping or None
        ``None``: packaged factors; a path: a user TOML merged over them; a mapping of
        ``kind → Factor`` (``"co2"``, ``"coal"``, ...): those factors for those kinds; a mapping of
        ``id → Factor``: a factor table replacing the packaged one.
    grid : str, default "central_china"
        Grid of the CO2 factor (the latest grid-average year is taken), or the id of a co2 factor
        (e.g. ``"fossil_co2_national_2023"``, CO2 per kWh of fossil power).
    overrides : mapping, optional
        ``{"factors": {...}, "defaults": {...}}`` tables merged over the file(s).

    Returns
    -------
    dict of str to Factor
        One factor per kind in :data:`KINDS`.
    """
    path = factors if isinstance(factors, (str, Path)) else None
    table = load_factors(path, overrides=overrides)
    defaults = load_defaults(path, overrides=overrides)
    chosen: dict[str, Factor] = {}
    if isinstance(factors, Mapping):
        if set(factors) <= set(KINDS):
            chosen.update({k: _check_factor(k, f) for k, f in factors.items()})
        else:
            table = {fid: _check_factor(f.kind, f) for fid, f in factors.items()}
    if "co2" not in chosen:
        chosen["co2"] = _grid_factor(table, grid)
    for kind in ("coal", "so2", "nox", "pm"):
        if kind in chosen:
            continue
        fid = defaults.get(kind)
        if fid in table and table[fid].kind == kind:
            chosen[kind] = table[fid]
            continue
        candidates = sorted((f for f in table.values() if f.kind == kind), key=lambda f: f.year)
        if not candidates:
            raise DataFileError(problem(f"缺少 {kind} 系数。", f"No factor of kind {kind!r} is available.",
                                        fix=f"add a [factors.<id>] table with kind = \"{kind}\""))
        chosen[kind] = candidates[-1]
    return chosen


def _check_factor(kind: str, factor: Any) -> Factor:
    if not isinstance(factor, Factor) or factor.kind != kind or factor.unit != KINDS[kind][0]:
        raise DataFileError(problem("系数类型或单位不符。",
                                    f"Expected a Factor of kind {kind!r} in {KINDS[kind][0]}, got {factor!r}.",
                                    fix="build factors with load_factors() or sanxian_yidan.benefits.Factor"))
    if factor.basis not in BASES:
        raise DataFileError(problem("系数未说明口径。",
                                    f"Factor {factor.id!r} has basis {factor.basis!r}; it must state one of "
                                    f"{list(BASES)}.",
                                    fix="give Factor(..., basis=\"grid average\") or the basis the publisher states"))
    return factor


def _grid_factor(table: Mapping[str, Factor], grid: str) -> Factor:
    if grid in table and table[grid].kind == "co2":
        return table[grid]
    # A grid name picks the grid-average factor; a fossil-power factor only by its id.
    matches = sorted((f for f in table.values() if f.kind == "co2" and f.grid == grid and f.basis == GRID_AVERAGE),
                     key=lambda f: f.year)
    if not matches:
        grids = sorted({f.grid for f in table.values() if f.kind == "co2" and f.grid})
        raise DataFileError(problem(f"未知电网 '{grid}'。", f"No CO2 factor for grid {grid!r}; grids known: {grids}.",
                                    fix=f"use grid= one of {grids}, a co2 factor id, or add a factor for that grid"))
    return matches[-1]


def co_benefits(annual_kwh: float | np.ndarray | pd.Series | list[float], *,
                factors: str | Path | Mapping[str, Factor] | None = None,
                grid: str = "central_china") -> pd.DataFrame:
    """Avoided CO2, SO2, NOx, particulate matter and standard coal for PV energy.

    Each quantity is ``annual_kwh × factor`` converted to the output unit; nothing else is
    assumed (the PV energy displaces grid / coal-power energy one to one).

    Parameters
    ----------
    annual_kwh : float, array-like or Series
        PV energy per year [kWh/yr]; must be >= 0 (NaN propagates).
    factors : path, mapping or None
        See :func:`select_factors`.
    grid : str, default "central_china"
        Grid of the CO2 factor: ``"central_china"`` (华中, Suizhou's grid) or ``"national"``
        (grid averages), or a co2 factor id such as ``"fossil_co2_national_2023"`` (per kWh of
        fossil power: an upper bound of the CO2 avoided).

    Returns
    -------
    pandas.DataFrame
        Columns ``co2_t`` [t/yr], ``so2_kg``, ``nox_kg``, ``pm_kg`` [kg/yr], ``coal_tce`` [tce/yr]
        and ``factor_ids`` (the factor ids used, one categorical value); one row per input value
        (the Series' index is kept).  ``attrs["sanxian"]["factors"]`` maps kind → :class:`Factor`;
        ``attrs["sanxian"]["unconfirmed"]`` lists factor ids whose value is not confirmed.

    Raises
    ------
    InputFileError
        A negative energy value.
    DataFileError
        An invalid factor file or an unknown grid.
    """
    index = annual_kwh.index if isinstance(annual_kwh, pd.Series) else None
    kwh = np.asarray(annual_kwh, dtype=float).ravel()
    negative = np.flatnonzero(kwh < 0)
    if negative.size:
        raise InputFileError(problem("发电量不能为负。",
                                     f"annual_kwh must be >= 0; {negative.size} negative value(s), first "
                                     f"{kwh[negative[0]]!r} at position {int(negative[0])}.",
                                     feature=int(negative[0]), fix="pass annual PV energy in kWh/yr"))
    chosen = select_factors(factors, grid)
    ids = ";".join(chosen[k].id for k in KINDS)
    # One block per column (copy=False): stacking them into one block would copy every value once more.
    out = pd.DataFrame({column: _scaled(kwh, chosen[kind].value, divisor) for kind, (_, column, divisor) in KINDS.items()},
                       index=index, copy=False)
    # One category, integer codes: no list of a million identical strings.
    out["factor_ids"] = pd.Categorical.from_codes(np.zeros(len(out), dtype=np.int8), categories=[ids])
    out.attrs["sanxian"] = {"factors": dict(chosen),
                            "unconfirmed": [f.id for f in chosen.values() if not f.confirmed],
                            "grid": grid}
    return out


def _scaled(kwh: np.ndarray, value: float, divisor: float) -> np.ndarray:
    """``kwh * value / divisor`` (the same operations in the same order) in one new array, without a temporary."""
    out = np.multiply(kwh, value)
    np.divide(out, divisor, out=out)
    return out


def factor_notes(frame: pd.DataFrame) -> list[str]:
    """Human-readable provenance lines for the factors behind a :func:`co_benefits` result."""
    factors: Mapping[str, Factor] = frame.attrs.get("sanxian", {}).get("factors", {})
    return [f"{column}: {f.value} {f.unit} {f.basis_label} ({f.year}, {f.publisher})"
            f"{'' if f.confirmed else ' [UNCONFIRMED 待核实]'} — {f.id}"
            for kind, (_, column, _) in KINDS.items() if (f := factors.get(kind)) is not None]


__all__ = ["BASES", "BENEFIT_COLUMNS", "Factor", "KINDS", "co_benefits", "factor_notes", "load_defaults", "load_factors",
           "select_factors"]
