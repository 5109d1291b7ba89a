"""MCDA settings: ``data/mcda.toml`` (Saaty's random indices, consistency limit, sensitivity defaults), validated."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field

from ..datafiles import load_model
from ..params import AsTuple, DataModel, Former, FormerAttributes, Source, Sourced

#: Packaged settings file (``sanxian_yidan/data/mcda.toml``).
DATA_FILE = "mcda.toml"
#: Columns of :func:`weight_sensitivity` (declared in ``data/columns/mcda.toml``).
SENSITIVITY_COLUMNS = ("score", "rank", "p_top_k", "rank_p05", "rank_median", "rank_p95")


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


def _sources(doc: Any) -> dict[str, str]:
    """The source of each value by its key path (the former ``McdaSettings.sources``)."""
    mc = doc.monte_carlo
    return {"random_index.values": doc.random_index_table.source, "consistency.max_ratio": doc.consistency.source,
            "reciprocal.tolerance": doc.reciprocal.source,
            **{f"monte_carlo.{k}": getattr(mc, f"{k}_source") for k in ("draws", "spread", "seed", "top_k")}}


class McdaFile(FormerAttributes, Sourced):
    """MCDA defaults, each with its source: ``data/mcda.toml`` validated.

    ``random_index`` (``[random_index] values``; the table is ``random_index_table``): Saaty's random index for
    n = 1, 2, ... (index 0 is n = 1);
    ``consistency.max_ratio``: consistency ratios at or above it are refused unless forced;
    ``reciprocal.tolerance``: the allowed ``|a_ij * a_ji - 1|``; ``monte_carlo``: the draws, spread, seed and
    top k of :func:`weight_sensitivity`, each with its ``<key>_source``.
    """

    what: ClassVar[str] = "多准则决策 / MCDA"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "max_consistency_ratio": "consistency.max_ratio",
        "reciprocal_tolerance": "reciprocal.tolerance",
        "draws": "monte_carlo.draws",
        "spread": "monte_carlo.spread",
        "seed": "monte_carlo.seed",
        "top_k": "monte_carlo.top_k",
        "sources": ("<table>.source and monte_carlo.<key>_source", _sources),
        "file": "loaded_from",
    }
    random_index_table: _RandomIndex = Field(alias="random_index")
    consistency: _Consistency
    reciprocal: _Reciprocal
    monte_carlo: _MonteCarlo

    @property
    def random_index(self) -> tuple[float, ...]:
        """Saaty's random index for n = 1, 2, ... (index 0 is n = 1), as before the file became its model."""
        return self.random_index_table.values

#: The MCDA settings under the name the decision functions take them by.
McdaSettings = McdaFile


def load_settings(path: str | Path | None = None) -> McdaSettings:
    """Load the MCDA settings, optionally overridden table by table by a user TOML file.

    Raises
    ------
    DataFileError
        Listing every unknown, missing, mistyped or out-of-range value and every missing source.
    """
    return load_model(McdaFile, DATA_FILE, path)


@lru_cache(maxsize=1)
def default_settings() -> McdaSettings:
    """The packaged MCDA settings (parsed once per process)."""
    return load_settings()


