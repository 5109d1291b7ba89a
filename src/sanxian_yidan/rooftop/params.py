"""Rooftop parameters: ``data/rooftop.toml`` (use categories and 整县推进 pilot shares, roof types, module density,
exclusions) merged with a user's overrides and validated."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..datafiles import (
    Problems,
    deep_merge,
    load_toml,
    packaged,
    packaged_path,
    reject_unknown_keys,
    resolve_params,
)

logger = logging.getLogger(__name__)

_DATA_FILE = "rooftop.toml"

# ------------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Category:
    """A use category with its 2021 pilot minimum share (see ``data/rooftop.toml``)."""

    id: str
    zh: str
    en: str
    pilot_share: float
    default_roof_type: str
    source: str


@dataclass(frozen=True)
class RoofType:
    """A roof type: usable share of the footprint and how modules are mounted."""

    id: str
    zh: str
    en: str
    usable_share: float
    mount: str          # "rack" (rows at tilt, gcr) or "flush" (in the roof plane)
    gcr: float
    tilt_deg: float | None  # None = the site's optimal fixed tilt
    source: str


@dataclass(frozen=True)
class RooftopParams:
    """Validated rooftop parameters (``data/rooftop.toml`` merged with user overrides)."""

    categories: Mapping[str, Category]
    use_columns: tuple[str, ...]
    default_category: str
    missing_values: frozenset[str]
    use_map: Mapping[str, str]
    roof_types: Mapping[str, RoofType]
    roof_columns: tuple[str, ...]
    roof_azimuth_columns: tuple[str, ...]
    roof_map: Mapping[str, str]
    azimuth_class_deg: float
    power_density_w_m2: float
    exclusion_roles: tuple[str, ...]
    min_footprint_area_m2: float
    solar_overrides: Mapping[str, Any] = field(default_factory=dict)
    factor_overrides: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    file: str = ""

    def kwp_per_m2(self, roof: RoofType, tilt_deg: float | np.ndarray) -> float | np.ndarray:
        """DC capacity per m^2 of usable roof (footprint) area [kWp/m^2]."""
        density = self.power_density_w_m2 / 1000.0
        if roof.mount == "rack":
            return density * roof.gcr
        # Flush modules lie in the slope: the slope area is the footprint area / cos(tilt).
        return density / np.cos(np.radians(tilt_deg))


#: Parts of a user file not checked key by key against data/rooftop.toml: ``[solar]`` and ``[factors]`` (checked by
#: their own loaders) and the value -> category tables, whose keys are attribute values of the user's data.
_FREE_KEYS = ("solar", "factors", "use.map", "roof.map")


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
        Listing every problem found.
    """
    doc: dict[str, Any] = dict(packaged(_DATA_FILE))
    file = str(packaged_path(_DATA_FILE))
    if path is not None:
        user = load_toml(path)
        reject_unknown_keys(user, doc, file=path, optional=_FREE_KEYS)
        doc = deep_merge(doc, user)
        file = f"{file} + {path}"
    if overrides:
        reject_unknown_keys(overrides, doc, file="<overrides>", optional=_FREE_KEYS)
        doc = deep_merge(doc, overrides)
        file = f"{file} + overrides"
    return _parse(doc, file)


_WHAT = "屋顶光伏 / rooftop"


def _parse(doc: Mapping[str, Any], file: str) -> RooftopParams:
    """Validate the merged rooftop document; every problem is reported at once (:class:`Problems`)."""
    probs = Problems(file)
    categories = _parse_categories(probs.table(doc, "categories"), probs)
    roof_types = _parse_roof_types(probs.table(doc, "roof_types"), probs)
    use, roof, modules, excl = (_sourced_table(doc, name, probs) for name in ("use", "roof", "modules", "exclusions"))
    use_map = _parse_map(use, "use", categories, "category", probs)
    roof_map = _parse_map(roof, "roof", roof_types, "roof type", probs)
    default_category = str(use.get("default_category", ""))
    if default_category not in categories:
        probs.add("[use]", f"default_category {default_category!r} is not a category ({sorted(categories)})")
    for cat in categories.values():
        if cat.default_roof_type not in roof_types:
            probs.add(f"[categories.{cat.id}]", f"default_roof_type {cat.default_roof_type!r} is not a roof type "
                                                f"({sorted(roof_types)})")
    from ..roles import role_vocabulary
    roles = probs.strings(excl, "roles", "[exclusions]")
    unknown_roles = sorted(set(roles) - set(role_vocabulary()))
    if unknown_roles:
        probs.add("[exclusions]", f"roles {unknown_roles} are not layer roles")
    solar_over, factor_over = doc.get("solar", {}), doc.get("factors", {})
    if not isinstance(solar_over, Mapping) or not isinstance(factor_over, Mapping):
        probs.add("[solar] / [factors]", "must be tables when given")
        solar_over, factor_over = {}, {}
    params = RooftopParams(
        categories=categories, use_columns=probs.strings(use, "columns", "[use]"), default_category=default_category,
        missing_values=frozenset(v.strip().lower() for v in probs.strings(use, "missing_values", "[use]")),
        use_map=use_map, roof_types=roof_types, roof_columns=probs.strings(roof, "columns", "[roof]"),
        roof_azimuth_columns=probs.strings(roof, "azimuth_columns", "[roof]"), roof_map=roof_map,
        azimuth_class_deg=_number(probs, roof, "azimuth_class_deg", "[roof]", 1.0, 90.0),
        power_density_w_m2=_number(probs, modules, "power_density_w_m2", "[modules]", 50.0, 300.0),
        exclusion_roles=roles,
        min_footprint_area_m2=_number(probs, excl, "min_footprint_area_m2", "[exclusions]", 0.0, 1e4),
        solar_overrides=dict(solar_over), factor_overrides={"factors": dict(factor_over)} if factor_over else {},
        sources={name: str(doc[name].get("source", "")) for name in ("use", "roof", "modules", "exclusions")
                 if isinstance(doc.get(name), Mapping)},
        file=file)
    probs.raise_if_any(_WHAT)
    return params


def _number(probs: Problems, table: Mapping[str, Any], key: str, where: str, lo: float, hi: float) -> float:
    """A number in ``[lo, hi]``; NaN (with a recorded problem) otherwise, so parsing can go on."""
    value = probs.number(table, key, where, lo=lo, hi=hi)
    return float("nan") if value is None else value


def _sourced_table(doc: Mapping[str, Any], name: str, probs: Problems) -> Mapping[str, Any]:
    table = probs.table(doc, name)
    if isinstance(doc.get(name), Mapping):  # present (even empty): it must say where its values come from
        probs.source(table, f"[{name}]")
    return table


def _parse_categories(tables: Mapping[str, Any], probs: Problems) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    for cid, spec in tables.items():
        where = f"[categories.{cid}]"
        if not isinstance(spec, Mapping):
            probs.add(where, "must be a table")
            continue
        texts = {key: spec.get(key) for key in ("zh", "en", "default_roof_type")}
        for key, value in texts.items():
            if not isinstance(value, str) or not value.strip():
                probs.add(where, f"'{key}' is required (non-empty string)")
                texts[key] = ""
        categories[cid] = Category(cid, texts["zh"], texts["en"], _number(probs, spec, "pilot_share", where, 0.0, 1.0),
                                   texts["default_roof_type"], probs.source(spec, where))
    return categories


def _parse_roof_types(tables: Mapping[str, Any], probs: Problems) -> dict[str, RoofType]:
    roof_types: dict[str, RoofType] = {}
    for rid, spec in tables.items():
        where = f"[roof_types.{rid}]"
        if not isinstance(spec, Mapping):
            probs.add(where, "must be a table")
            continue
        mount = spec.get("mount")
        if mount not in ("rack", "flush"):
            probs.add(where, f"mount must be \"rack\" or \"flush\", got {mount!r}")
        roof_types[rid] = RoofType(rid, str(spec.get("zh", rid)), str(spec.get("en", rid)),
                                   _number(probs, spec, "usable_share", where, 0.0, 1.0), str(mount),
                                   _number(probs, spec, "gcr", where, 0.01, 1.0), _roof_tilt(spec, mount, where, probs),
                                   probs.source(spec, where))
    return roof_types


def _roof_tilt(spec: Mapping[str, Any], mount: Any, where: str, probs: Problems) -> float | None:
    """The roof's module tilt: ``None`` for "optimal" (rack mounts only), else a number in 0-90 degrees."""
    tilt = spec.get("tilt_deg")
    if tilt == "optimal":
        if mount == "flush":
            probs.add(where, "a flush mount needs a numeric tilt_deg (the roof pitch)")
        return None
    if isinstance(tilt, (int, float)) and not isinstance(tilt, bool) and 0 <= tilt < 90:
        return float(tilt)
    probs.add(where, f"tilt_deg must be \"optimal\" or a number from 0 up to (not including) 90, got {tilt!r}")
    return None


def _parse_map(table: Mapping[str, Any], name: str, targets: Mapping[str, Any], kind: str,
               probs: Problems) -> dict[str, str]:
    """``[<name>.map]``: attribute value (case-folded, trimmed) -> a known target id."""
    raw = probs.table(table, "map", f"[{name}.map]") if "map" in table else {}
    mapping = {str(k).strip().lower(): v for k, v in raw.items()}
    for key, target in mapping.items():
        if not isinstance(target, str) or target not in targets:
            probs.add(f"[{name}.map]", f"'{key}' -> unknown {kind} {target!r} (known: {sorted(targets)})")
    return mapping


def _resolve_params(params: RooftopParams | str | Path | Mapping[str, Any] | None) -> RooftopParams:
    return resolve_params(params, RooftopParams, load_params)


