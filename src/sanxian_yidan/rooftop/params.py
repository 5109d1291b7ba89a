"""Rooftop parameters: ``data/rooftop.toml`` (use categories and 整县推进 pilot shares, roof types, module density,
exclusions) merged with a user's overrides and validated."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator

from ..datafiles import load_model, resolve_params
from ..params import AsTuple, Former, FormerAttributes, Keyed, KeyedTable, Sourced

logger = logging.getLogger(__name__)

_DATA_FILE = "rooftop.toml"

# ------------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------------
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Strings = Annotated[tuple[str, ...], AsTuple]
_Map = Annotated[dict[str, str], AfterValidator(lambda m: {k.strip().lower(): v for k, v in m.items()})]


def _layer_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    from ..roles import role_vocabulary

    unknown = sorted(set(roles) - set(role_vocabulary()))
    if unknown:
        raise ValueError(f"{unknown} are not layer roles (未知的图层角色)")
    return roles


class Category(Keyed, Sourced):
    """A use category with its 2021 pilot minimum share (see ``data/rooftop.toml``); ``id`` is its key."""

    zh: _Text
    en: _Text
    pilot_share: float = Field(ge=0, le=1)
    default_roof_type: _Text


def _optimal_as_none(value: Any) -> Any:
    return None if value == "optimal" else value


class RoofType(Keyed, Sourced):
    """A roof type: usable share of the footprint and how modules are mounted; ``id`` is its key.

    ``tilt_deg`` is ``None`` for the site's optimal fixed tilt (``tilt_deg = "optimal"`` in the file); ``zh`` and
    ``en`` default to the id.
    """

    labels_from_id: ClassVar[tuple[str, ...]] = ("zh", "en")
    zh: str | None = None
    en: str | None = None
    usable_share: float = Field(ge=0, le=1)
    mount: Literal["rack", "flush"]  # rows at tilt and gcr, or in the roof plane
    gcr: float = Field(ge=0.01, le=1)
    tilt_deg: Annotated[Annotated[float, Field(ge=0, lt=90)] | None, BeforeValidator(_optimal_as_none)]

    @model_validator(mode="after")
    def _flush_tilt(self) -> RoofType:
        if self.mount == "flush" and self.tilt_deg is None:
            raise ValueError("a flush mount needs a numeric tilt_deg (the roof pitch) (平铺安装须给出屋面坡度)")
        return self


class _Use(Sourced):
    columns: _Strings
    default_category: str
    missing_values: _Strings
    map: _Map = {}

    @cached_property
    def missing(self) -> frozenset[str]:
        """``missing_values`` as compared with the normalised (stripped, lower-case) attribute values."""
        return frozenset(v.strip().lower() for v in self.missing_values)


class _Roof(Sourced):
    columns: _Strings
    azimuth_columns: _Strings
    azimuth_class_deg: float = Field(ge=1, le=90)
    map: _Map = {}


class _Modules(Sourced):
    power_density_w_m2: float = Field(ge=50, le=300)


class _Exclusions(Sourced):
    roles: Annotated[tuple[str, ...], AsTuple, AfterValidator(_layer_roles)]
    min_footprint_area_m2: float = Field(ge=0, le=1e4)


class _Reference(Sourced):
    range: Annotated[tuple[float, float], AsTuple]


class RooftopFile(FormerAttributes, Sourced):
    """Validated rooftop parameters: ``data/rooftop.toml`` merged with user overrides.  A user file may add
    ``[solar]`` (tables of ``data/solar.toml``) and ``[factors]`` (of ``data/benefits.toml``), checked by their
    own loaders when the run uses them."""

    what: ClassVar[str] = "屋顶光伏 / rooftop"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "use_columns": "use.columns", "default_category": "use.default_category", "missing_values": "use.missing",
        "use_map": "use.map", "roof_columns": "roof.columns", "roof_azimuth_columns": "roof.azimuth_columns",
        "roof_map": "roof.map", "azimuth_class_deg": "roof.azimuth_class_deg",
        "power_density_w_m2": "modules.power_density_w_m2", "exclusion_roles": "exclusions.roles",
        "min_footprint_area_m2": "exclusions.min_footprint_area_m2", "solar_overrides": ("solar", lambda p: dict(p.solar)),
        "factor_overrides": ("factors", lambda p: {"factors": dict(p.factors)} if p.factors else {}),
        "sources": ("use.source, roof.source, modules.source, exclusions.source",
                    lambda p: {n: getattr(p, n).source for n in ("use", "roof", "modules", "exclusions")}),
        "file": "loaded_from",
    }
    categories: Annotated[dict[str, Category], KeyedTable, Field(min_length=1)]
    use: _Use
    roof_types: Annotated[dict[str, RoofType], KeyedTable, Field(min_length=1)]
    roof: _Roof
    modules: _Modules
    exclusions: _Exclusions
    reference: dict[str, _Reference] = {}
    solar: dict[str, Any] = {}
    factors: dict[str, Any] = {}

    @model_validator(mode="after")
    def _references(self) -> RooftopFile:
        problems = [] if self.use.default_category in self.categories else [
            f"use.default_category {self.use.default_category!r} is not a category ({sorted(self.categories)})"]
        problems += [f"categories.{cid}.default_roof_type {c.default_roof_type!r} is not a roof type "
                     f"({sorted(self.roof_types)})" for cid, c in self.categories.items()
                     if c.default_roof_type not in self.roof_types]
        for name, mapping, targets in (("use", self.use.map, self.categories), ("roof", self.roof.map, self.roof_types)):
            problems += [f"{name}.map: '{key}' -> unknown {'category' if name == 'use' else 'roof type'} {target!r} "
                         f"(known: {sorted(targets)})" for key, target in mapping.items() if target not in targets]
        if problems:
            raise ValueError("; ".join(problems) + " (引用了不存在的类别或屋顶类型)")
        return self

    def kwp_per_m2(self, roof: RoofType, tilt_deg: float | np.ndarray) -> float | np.ndarray:
        """DC capacity per m^2 of usable roof (footprint) area [kWp/m^2]."""
        density = self.modules.power_density_w_m2 / 1000.0
        if roof.mount == "rack":
            return density * roof.gcr
        # Flush modules lie in the slope: the slope area is the footprint area / cos(tilt).
        return density / np.cos(np.radians(tilt_deg))


#: Validated rooftop parameters (``data/rooftop.toml`` merged with user overrides).
RooftopParams = RooftopFile


def load_params(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> RooftopParams:
    """Load ``data/rooftop.toml``, optionally overridden by a user TOML and/or a dict.

    Parameters
    ----------
    path : str or Path, optional
        User TOML with any of the tables of ``data/rooftop.toml`` (only the keys given change);
        it may also hold ``[solar]`` (same tables as ``data/solar.toml``) and ``[factors]``
        (same tables as ``data/benefits.toml``) to override those for the run.
    overrides : mapping, optional
        Same structure, applied last.

    Raises
    ------
    DataFileError
        Listing every problem found, each with its key path.
    """
    return load_model(RooftopFile, _DATA_FILE, path, overrides)


def resolve_rooftop_params(params: RooftopParams | str | Path | Mapping[str, Any] | None) -> RooftopParams:
    return resolve_params(params, RooftopParams, load_params)


