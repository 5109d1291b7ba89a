"""MCDA settings: ``data/mcda.toml`` (Saaty's random indices, consistency limit, sensitivity defaults), validated."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field

from ..datafiles import load_model
from ..params import AsTuple, DataModel, Source, Sourced

log = logging.getLogger(__name__)

#: Packaged settings file (``sanxian_yidan/data/mcda.toml``).
DATA_FILE = "mcda.toml"
#: Columns of :func:`weight_sensitivity` (declared in ``data/columns/mcda.toml``).
SENSITIVITY_COLUMNS = ("score", "rank", "p_top_k", "rank_p05", "rank_median", "rank_p95")

# ----------------------------------------------------------------------------------------------
# Settings (data/mcda.toml)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class McdaSettings:
    """MCDA defaults, each with its source (``data/mcda.toml``).

    Attributes
    ----------
    random_index : tuple of float
        Saaty's random index for n = 1, 2, ... (index 0 is n = 1).
    max_consistency_ratio : float
        Consistency ratios at or above this are refused unless forced.
    reciprocal_tolerance : float
        Allowed ``|a_ij * a_ji - 1|``.
    draws, seed, top_k : int
        Monte-Carlo defaults of :func:`weight_sensitivity`.
    spread : float
        Default weight spread of :func:`weight_sensitivity`.
    sources : mapping of str to str
        Source or rationale of each value.
    file : str
        Data file(s) the values came from.
    """

    random_index: tuple[float, ...]
    max_consistency_ratio: float
    reciprocal_tolerance: float
    draws: int
    spread: float
    seed: int
    top_k: int
    sources: Mapping[str, str]
    file: str


class _MonteCarlo(DataModel):
    draws: int = Field(ge=1)
    draws_source: Source
    spread: float = Field(ge=0, lt=1)
    spread_source: Source
    seed: int = Field(ge=0)
    seed_source: Source
    top_k: int = Field(ge=1)
    top_k_source: Source


class _RandomIndex(Sourced):
    values: Annotated[tuple[Annotated[float, Field(ge=0)], ...], AsTuple] = Field(min_length=2)


class _Consistency(Sourced):
    max_ratio: float = Field(gt=0, lt=1)


class _Reciprocal(Sourced):
    tolerance: float = Field(ge=0, lt=0.5)


class McdaFile(Sourced):
    """The structure of ``data/mcda.toml``."""

    what: ClassVar[str] = "多准则决策 / MCDA"
    random_index: _RandomIndex
    consistency: _Consistency
    reciprocal: _Reciprocal
    monte_carlo: _MonteCarlo


def load_settings(path: str | Path | None = None) -> McdaSettings:
    """Load the MCDA settings, optionally overridden table by table by a user TOML file.

    Raises
    ------
    DataFileError
        Listing every unknown, missing, mistyped or out-of-range value and every missing source.
    """
    doc = load_model(McdaFile, DATA_FILE, path)
    mc = doc.monte_carlo
    sources = {"random_index.values": doc.random_index.source, "consistency.max_ratio": doc.consistency.source,
               "reciprocal.tolerance": doc.reciprocal.source}
    sources.update({f"monte_carlo.{k}": getattr(mc, f"{k}_source") for k in ("draws", "spread", "seed", "top_k")})
    return McdaSettings(random_index=doc.random_index.values, max_consistency_ratio=doc.consistency.max_ratio,
                        reciprocal_tolerance=doc.reciprocal.tolerance, draws=mc.draws, spread=mc.spread,
                        seed=mc.seed, top_k=mc.top_k, sources=sources, file=doc.loaded_from)


@lru_cache(maxsize=1)
def default_settings() -> McdaSettings:
    """The packaged MCDA settings (parsed once per process)."""
    return load_settings()


