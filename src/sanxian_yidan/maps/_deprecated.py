"""The readers of ``[palettes]`` and ``[ramps]`` replaced by models, kept for one release behind a DeprecationWarning.

``r`` is the former problem collector: any object with a ``problems`` list (or ``None``).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from .._deprecated import deprecated
from .palettes import Palette, PaletteEntry, Ramp, RampEntry, build_palettes, build_ramps, sequential_ramp_problem


def _problems(exc: ValidationError, table: str, r: Any) -> None:
    for err in exc.errors():
        getattr(r, "problems", []).append(f"[{table}.{'.'.join(str(p) for p in err['loc'])}]: {err['msg']}")


def parse_palettes(r: Any, doc: dict[str, Any], file: str = "maps.toml") -> dict[str, Palette]:
    """Deprecated: the ``[palettes.<id>]`` tables of ``doc`` as :class:`Palette` objects ({} and problems if invalid)."""
    deprecated("maps.parse_palettes", "maps.palettes.build_palettes of PaletteEntry models (maps.load_map_settings)")
    try:
        return build_palettes(TypeAdapter(dict[str, PaletteEntry]).validate_python(doc.get("palettes", {})))
    except ValidationError as exc:
        _problems(exc, "palettes", r)
        return {}


def parse_ramps(r: Any, doc: dict[str, Any], file: str = "maps.toml") -> dict[str, Ramp]:
    """Deprecated: the ``[ramps.<id>]`` tables of ``doc`` as :class:`Ramp` objects ({} and problems if invalid)."""
    deprecated("maps.parse_ramps", "maps.palettes.build_ramps of RampEntry models (maps.load_map_settings)")
    getattr(r, "problems", []).extend(text for _, text in sequential_ramp_problem(doc))
    try:
        return build_ramps(TypeAdapter(dict[str, RampEntry]).validate_python(doc.get("ramps", {})))
    except ValidationError as exc:
        _problems(exc, "ramps", r)
        return {}
