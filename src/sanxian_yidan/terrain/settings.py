"""Terrain settings: ``data/terrain.toml`` (flat and south-facing thresholds, visibility reach, batches), validated."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..datafiles import load_toml, packaged_path, reject_unknown_keys
from ..errors import (
    DataFileError,
    SanxianError,
    problem,
)

log = logging.getLogger(__name__)

#: Packaged settings file (``sanxian_yidan/data/terrain.toml``).
DATA_FILE = "terrain.toml"
#: Output columns of :func:`zonal_terrain_stats` (declared in ``data/columns/brownfield.toml`` and ``terrain.toml``).
ZONAL_COLUMNS = ("slope_mean_deg", "slope_max_deg", "flat_share", "south_share", "elevation_mean_m",
                 "dem_coverage", "cell_count")
#: Cell weightings of the zonal statistics (``[zonal] weighting``).
ZONAL_WEIGHTINGS = ("coverage", "centre")
#: Line-of-sight methods of :func:`visibility_from_lines` (``[visibility] line_of_sight``).
LINE_OF_SIGHT_METHODS = ("exact", "sampled")


class TerrainError(SanxianError, ValueError):
    """Arrays or parameters given to a terrain function cannot be used."""

# ----------------------------------------------------------------------------------------------
# Settings (data/terrain.toml)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TerrainSettings:
    """Defaults of the terrain analyses, each with its source (``data/terrain.toml``).

    Attributes
    ----------
    slope_threshold_deg : float
        Slope at or below which a cell counts as flat [deg].
    south_range_deg : tuple of float
        Aspect range counted as south-facing, clockwise from north [deg].
    zonal_weighting : str
        ``"coverage"`` (cells weighted by the share of their area inside the polygon) or ``"centre"``.
    max_distance_m : float
        Horizontal reach of the 三区两线 visibility analysis [m].
    spacing_m : float
        Spacing of observers along the lines [m].
    eye_height_m : float
        Observer eye height above the ground [m].
    target_height_m : float
        Height above the ground of the point that must be seen in each cell [m].
    line_of_sight : str
        ``"exact"`` (every bilinear patch crossed, at its highest point) or ``"sampled"``.
    sample_step_cells : float
        Spacing of line-of-sight samples of the ``"sampled"`` method [DEM cells].
    earth_radius_m : float
        Earth radius for the curvature correction [m].
    refraction_coefficient : float
        Atmospheric refraction coefficient k [-].
    batch_samples : int
        Line-of-sight samples processed per vectorised batch (bounds memory).
    sources : mapping of str to str
        Source or rationale of every value, keyed by attribute name.
    file : str
        The data file(s) the values came from.
    """

    slope_threshold_deg: float
    south_range_deg: tuple[float, float]
    zonal_weighting: str
    max_distance_m: float
    spacing_m: float
    eye_height_m: float
    target_height_m: float
    line_of_sight: str
    sample_step_cells: float
    earth_radius_m: float
    refraction_coefficient: float
    batch_samples: int
    sources: Mapping[str, str]
    file: str


# key -> (table, source key, minimum, maximum, minimum allowed?)
_SETTING_SPECS: dict[str, tuple[str, str, float, float, bool]] = {
    "slope_threshold_deg": ("zonal", "slope_threshold_source", 0.0, 90.0, True),
    "south_min_deg": ("zonal", "south_source", 0.0, 360.0, True),
    "south_max_deg": ("zonal", "south_source", 0.0, 360.0, True),
    "max_distance_m": ("visibility", "max_distance_source", 0.0, math.inf, False),
    "spacing_m": ("visibility", "spacing_source", 0.0, math.inf, False),
    "eye_height_m": ("visibility", "eye_height_source", 0.0, math.inf, True),
    "target_height_m": ("visibility", "target_height_source", 0.0, math.inf, True),
    "sample_step_cells": ("visibility", "sample_step_source", 0.0, 1.0, False),
    "earth_radius_m": ("visibility", "earth_radius_source", 0.0, math.inf, False),
    "refraction_coefficient": ("visibility", "refraction_source", 0.0, 1.0, True),
    "batch_samples": ("visibility", "batch_source", 1.0, math.inf, True),
}


def load_settings(path: str | Path | None = None) -> TerrainSettings:
    """Load the terrain defaults, optionally overridden by a user TOML file.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with ``[zonal]`` and/or ``[visibility]`` tables; its keys
        replace the packaged ones (give a ``*_source`` next to every value you change).

    Returns
    -------
    TerrainSettings

    Raises
    ------
    DataFileError
        Listing every missing, mistyped or out-of-range key and every missing source.
    """
    base = load_toml(packaged_path(DATA_FILE))
    files = [str(packaged_path(DATA_FILE))]
    if path is not None:
        user = load_toml(path)
        reject_unknown_keys(user, base, file=path)
        files.append(str(path))
        for table, values in user.items():
            if isinstance(values, Mapping) and isinstance(base.get(table), Mapping):
                base[table] = {**base[table], **values}
            else:
                base[table] = values
    problems: list[str] = []
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for key, (table_name, source_key, lo, hi, lo_ok) in _SETTING_SPECS.items():
        table = base.get(table_name)
        where = f"[{table_name}]"
        if not isinstance(table, Mapping):
            problems.append(f"{where}: missing table")
            continue
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{where}: '{key}' must be a number, got {value!r}")
        elif not (lo < value or (lo_ok and value == lo)) or value > hi or math.isnan(value):
            bound = ">=" if lo_ok else ">"
            problems.append(f"{where}: '{key}' = {value} must be {bound} {lo} and <= {hi}")
        else:
            values[key] = float(value)
        source = table.get(source_key)
        if not isinstance(source, str) or not source.strip():
            problems.append(f"{where}: '{source_key}' (the source of '{key}') is missing or empty")
        else:
            sources[key] = source
    choices: dict[str, str] = {}
    for table_name, key, allowed, attr in (("visibility", "line_of_sight", LINE_OF_SIGHT_METHODS, "line_of_sight"),
                                            ("zonal", "weighting", ZONAL_WEIGHTINGS, "zonal_weighting")):
        table = base.get(table_name) if isinstance(base.get(table_name), Mapping) else {}
        value = table.get(key)
        if value not in allowed:
            problems.append(f"[{table_name}]: '{key}' must be one of {', '.join(allowed)}, got {value!r}")
        else:
            choices[attr] = str(value)
        source = table.get(f"{key}_source")
        if not isinstance(source, str) or not source.strip():
            problems.append(f"[{table_name}]: '{key}_source' (the source of '{key}') is missing or empty")
        else:
            sources[attr] = source
    if problems:
        raise DataFileError(problem(f"地形参数文件有 {len(problems)} 处错误。",
                                    f"The terrain settings have {len(problems)} problem(s):\n  - "
                                    + "\n  - ".join(problems),
                                    file=" + ".join(files), fix="correct each key listed (see the packaged "
                                                                "sanxian_yidan/data/terrain.toml)"))
    sources["south_range_deg"] = sources.pop("south_min_deg")
    sources.pop("south_max_deg")
    return TerrainSettings(
        slope_threshold_deg=values["slope_threshold_deg"],
        south_range_deg=(values["south_min_deg"], values["south_max_deg"]),
        zonal_weighting=choices["zonal_weighting"],
        max_distance_m=values["max_distance_m"], spacing_m=values["spacing_m"],
        eye_height_m=values["eye_height_m"], target_height_m=values["target_height_m"],
        line_of_sight=choices["line_of_sight"], sample_step_cells=values["sample_step_cells"],
        earth_radius_m=values["earth_radius_m"],
        refraction_coefficient=values["refraction_coefficient"], batch_samples=int(values["batch_samples"]),
        sources=sources, file=" + ".join(files))


@lru_cache(maxsize=1)
def default_settings() -> TerrainSettings:
    """The packaged terrain settings (parsed once per process)."""
    return load_settings()


