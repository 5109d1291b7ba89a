"""MCDA settings: ``data/mcda.toml`` (Saaty's random indices, consistency limit, sensitivity defaults), validated."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..datafiles import load_toml, packaged_path, reject_unknown_keys
from ..errors import DataFileError, problem

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


def load_settings(path: str | Path | None = None) -> McdaSettings:
    """Load the MCDA settings, optionally overridden table by table by a user TOML file.

    Raises
    ------
    DataFileError
        Listing every missing, mistyped or out-of-range value and every missing source.
    """
    doc = load_toml(packaged_path(DATA_FILE))
    files = [str(packaged_path(DATA_FILE))]
    if path is not None:
        user = load_toml(path)
        reject_unknown_keys(user, doc, file=path)
        for table, values in user.items():
            doc[table] = {**doc.get(table, {}), **values} if isinstance(values, Mapping) else values
        files.append(str(path))
    problems: list[str] = []

    def get(table: str, key: str, kind: type, source_key: str, ok: Callable[[Any], bool], rule: str) -> Any:
        raw = doc.get(table)
        if not isinstance(raw, Mapping):
            problems.append(f"[{table}]: missing table")
            return None
        value = raw.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) or not ok(value):
            problems.append(f"[{table}]: '{key}' must be {rule}, got {value!r}")
            value = None
        source = raw.get(source_key)
        if not isinstance(source, str) or not source.strip():
            problems.append(f"[{table}]: '{source_key}' (the source of '{key}') is missing or empty")
        else:
            sources[f"{table}.{key}"] = source
        return value

    sources: dict[str, str] = {}
    ri = get("random_index", "values", list, "source",
             lambda v: len(v) >= 2 and all(isinstance(x, (int, float)) and x >= 0 for x in v),
             "a list of at least 2 non-negative numbers (RI for n = 1, 2, ...)")
    max_cr = get("consistency", "max_ratio", float, "source", lambda v: 0 < v < 1, "a number in (0, 1)")
    tol = get("reciprocal", "tolerance", float, "source", lambda v: 0 <= v < 0.5, "a number in [0, 0.5)")
    draws = get("monte_carlo", "draws", int, "draws_source", lambda v: v >= 1, "an integer >= 1")
    spread = get("monte_carlo", "spread", float, "spread_source", lambda v: 0 <= v < 1, "a number in [0, 1)")
    seed = get("monte_carlo", "seed", int, "seed_source", lambda v: v >= 0, "an integer >= 0")
    top_k = get("monte_carlo", "top_k", int, "top_k_source", lambda v: v >= 1, "an integer >= 1")
    if problems:
        raise DataFileError(problem(f"多准则决策参数文件有 {len(problems)} 处错误。",
                                    f"The MCDA settings have {len(problems)} problem(s):\n  - "
                                    + "\n  - ".join(problems),
                                    file=" + ".join(files), fix="correct each key listed (see the packaged "
                                                                "sanxian_yidan/data/mcda.toml)"))
    return McdaSettings(random_index=tuple(float(x) for x in ri), max_consistency_ratio=max_cr,
                        reciprocal_tolerance=tol, draws=draws, spread=spread, seed=seed, top_k=top_k,
                        sources=sources, file=" + ".join(files))


@lru_cache(maxsize=1)
def default_settings() -> McdaSettings:
    """The packaged MCDA settings (parsed once per process)."""
    return load_settings()


