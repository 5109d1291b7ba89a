"""Terrain settings: ``data/terrain.toml`` (flat and south-facing thresholds, visibility reach, batches), validated."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..datafiles import load_model
from ..errors import SanxianError
from ..params import DataModel, Former, FormerAttributes, Source

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


class _Zonal(DataModel):
    weighting: Literal["coverage", "centre"]
    weighting_source: Source
    slope_threshold_deg: float = Field(ge=0, le=90)
    slope_threshold_source: Source
    south_min_deg: float = Field(ge=0, le=360)
    south_max_deg: float = Field(ge=0, le=360)
    south_source: Source

    @property
    def south_range_deg(self) -> tuple[float, float]:
        """Aspect range counted as south-facing, clockwise from north [deg]."""
        return self.south_min_deg, self.south_max_deg


class _Visibility(DataModel):
    max_distance_m: float = Field(gt=0)
    max_distance_source: Source
    spacing_m: float = Field(gt=0)
    spacing_source: Source
    eye_height_m: float = Field(ge=0)
    eye_height_source: Source
    target_height_m: float = Field(ge=0)
    target_height_source: Source
    line_of_sight: Literal["exact", "sampled"]
    line_of_sight_source: Source
    sample_step_cells: float = Field(gt=0, le=1)
    sample_step_source: Source
    earth_radius_m: float = Field(gt=0)
    earth_radius_source: Source
    refraction_coefficient: float = Field(ge=0, le=1)
    refraction_source: Source
    batch_samples: int = Field(ge=1)
    batch_source: Source


def _sources(doc: Any) -> dict[str, str]:
    """The source of each value keyed by its former flat name (the former ``TerrainSettings.sources``)."""
    z, v = doc.zonal, doc.visibility
    return {"slope_threshold_deg": z.slope_threshold_source, "south_range_deg": z.south_source,
            "zonal_weighting": z.weighting_source, "line_of_sight": v.line_of_sight_source,
            "sample_step_cells": v.sample_step_source, "refraction_coefficient": v.refraction_source,
            "batch_samples": v.batch_source,
            **{f"{key}_m": getattr(v, f"{key}_source")
               for key in ("max_distance", "spacing", "eye_height", "target_height", "earth_radius")}}


class TerrainFile(FormerAttributes, DataModel):
    """Defaults of the terrain analyses (``data/terrain.toml``), every value with its ``*_source``.

    Attributes
    ----------
    zonal : model
        ``slope_threshold_deg``: slope at or below which a cell counts as flat [deg];
        ``south_min_deg``, ``south_max_deg`` (``south_range_deg``): aspect range counted as
        south-facing, clockwise from north [deg]; ``weighting``: ``"coverage"`` (cells weighted by
        the share of their area inside the polygon) or ``"centre"``.
    visibility : model
        ``max_distance_m``: horizontal reach of the 三区两线 visibility analysis [m]; ``spacing_m``:
        spacing of observers along the lines [m]; ``eye_height_m``: observer eye height above the
        ground [m]; ``target_height_m``: height above the ground of the point that must be seen in
        each cell [m]; ``line_of_sight``: ``"exact"`` (every bilinear patch crossed, at its highest
        point) or ``"sampled"``; ``sample_step_cells``: spacing of line-of-sight samples of the
        ``"sampled"`` method [DEM cells]; ``earth_radius_m``: Earth radius for the curvature
        correction [m]; ``refraction_coefficient``: atmospheric refraction coefficient k [-];
        ``batch_samples``: line-of-sight samples processed per vectorised batch (bounds memory).
    """

    what: ClassVar[str] = "地形 / terrain"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "slope_threshold_deg": "zonal.slope_threshold_deg",
        "south_range_deg": "zonal.south_range_deg",
        "zonal_weighting": "zonal.weighting",
        "max_distance_m": "visibility.max_distance_m",
        "spacing_m": "visibility.spacing_m",
        "eye_height_m": "visibility.eye_height_m",
        "target_height_m": "visibility.target_height_m",
        "line_of_sight": "visibility.line_of_sight",
        "sample_step_cells": "visibility.sample_step_cells",
        "earth_radius_m": "visibility.earth_radius_m",
        "refraction_coefficient": "visibility.refraction_coefficient",
        "batch_samples": "visibility.batch_samples",
        "sources": ("zonal.<key>_source and visibility.<key>_source", _sources),
        "file": "loaded_from",
    }
    source: Source
    zonal: _Zonal
    visibility: _Visibility


#: The validated contents of ``data/terrain.toml`` (with a user file's overrides).
TerrainSettings = TerrainFile


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
        Listing every unknown, missing, mistyped or out-of-range key and every empty source.
    """
    return load_model(TerrainFile, DATA_FILE, path)


@lru_cache(maxsize=1)
def default_settings() -> TerrainSettings:
    """The packaged terrain settings (parsed once per process)."""
    return load_settings()


