"""Screening settings: ``data/screening.toml`` (footprint buffers, sliver tolerance, distances, threads)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pyproj import CRS

from ..datafiles import load_toml, packaged_path, require
from ..errors import (
    DataFileError,
    problem,
)
from ..parallel import resolve_threads
from ..roles import role_vocabulary

logger = logging.getLogger(__name__)


# ================================================================================================ settings
@dataclass(frozen=True)
class ScreeningSettings:
    """Settings of the screening engine (``data/screening.toml``; see the sources there).

    Attributes
    ----------
    default_radius_m : float
        Footprint radius of point projects and half-width of line projects [m].
    quad_segs : int
        Segments per quarter circle of buffered points.
    max_radius_m : float
        Largest footprint radius / half-width accepted [m].
    sliver_m2 : float
        Overlap pieces below this area are slivers [m²].
    sliver_width_m : float
        Overlap pieces whose mean width (area / half perimeter) is below this are slivers [m].
    overlap_roles, distance_roles : tuple of str
        Roles always reported in the overlap and distance tables.
    search_m : float
        Nearest features farther than this are not reported [m].
    threads : int
        Threads for the bulk GEOS calls (resolved: >= 1).
    far_outside_m : float
        Projects all wholly outside the coverage and at least this far from it trigger the wrong-CRS
        diagnosis [m].
    crs_candidates : tuple of str
        CRSs tried by that diagnosis.
    candidate_share : float
        Share (0-1) of the sampled projects a candidate CRS must put inside the coverage to be named.
    crs_check_sample : int
        Projects sampled by the diagnosis.
    min_parallel_pairs : int
        Smallest number of pairs worth splitting over threads.
    columns : dict
        Recognised column names of project files per attribute (``id``, ``name``, ``industry``,
        ``project_type``).
    sources : dict
        Source/rationale text per table.
    """

    default_radius_m: float
    quad_segs: int
    sliver_m2: float
    sliver_width_m: float
    overlap_roles: tuple[str, ...]
    distance_roles: tuple[str, ...]
    search_m: float
    columns: Mapping[str, tuple[str, ...]]
    sources: Mapping[str, str]
    threads: int = 1
    min_parallel_pairs: int = 5000
    far_outside_m: float = 20000.0
    crs_candidates: tuple[str, ...] = ()
    candidate_share: float = 0.5
    crs_check_sample: int = 200
    max_radius_m: float = 5000.0


@lru_cache(maxsize=4)
def screening_settings(path: str | None = None) -> ScreeningSettings:
    """Load and validate the screening settings (packaged ``screening.toml`` by default).

    Raises
    ------
    DataFileError
        Naming the file and key of any missing or invalid value.
    """
    file = Path(path) if path else packaged_path("screening.toml")
    doc = load_toml(file)
    problems: list[str] = []

    def table(name: str) -> dict[str, Any]:
        value = require(doc, name, dict, file=file, where="top level")
        require(value, "source", str, file=file, where=f"[{name}]")
        return value

    foot, sliver, overlap, dist, cols, perf, cov = (table(n) for n in ("footprint", "sliver", "overlap",
                                                                       "distance", "columns", "performance",
                                                                       "coverage"))
    far = require(cov, "far_outside_m", (int, float), file=file, where="[coverage]")
    cand_share = require(cov, "candidate_share", (int, float), file=file, where="[coverage]")
    sample = require(cov, "sample", int, file=file, where="[coverage]")
    candidates = require(cov, "crs_candidates", list, file=file, where="[coverage]")
    if not math.isfinite(far) or far <= 0:
        problems.append(f"coverage.far_outside_m must be a positive number [m], got {far!r}")
    if not (0 < cand_share <= 1):
        problems.append(f"coverage.candidate_share must lie in (0, 1], got {cand_share!r}")
    if sample < 1:
        problems.append(f"coverage.sample must be >= 1, got {sample}")
    for c in candidates:
        try:
            CRS.from_user_input(c)
        except Exception:  # noqa: BLE001 - any pyproj failure is an invalid entry
            problems.append(f"coverage.crs_candidates: '{c}' is not a CRS pyproj knows")
    threads = require(perf, "threads", int, file=file, where="[performance]")
    min_pairs = require(perf, "min_parallel_pairs", int, file=file, where="[performance]")
    if threads < 0 or min_pairs < 1:
        problems.append(f"performance.threads must be >= 0 (0 = auto) and min_parallel_pairs >= 1, got "
                        f"{threads}, {min_pairs}")
    numbers = {
        "footprint.default_radius_m": require(foot, "default_radius_m", (int, float), file=file, where="[footprint]"),
        "footprint.max_radius_m": require(foot, "max_radius_m", (int, float), file=file, where="[footprint]"),
        "sliver.area_m2": require(sliver, "area_m2", (int, float), file=file, where="[sliver]"),
        "sliver.width_m": require(sliver, "width_m", (int, float), file=file, where="[sliver]"),
        "distance.search_m": require(dist, "search_m", (int, float), file=file, where="[distance]"),
    }
    for key, value in numbers.items():
        if not math.isfinite(value) or value < 0 or (key != "sliver.width_m" and key != "sliver.area_m2" and value == 0):
            problems.append(f"{key} must be a positive number, got {value!r}")
    require(foot, "max_radius_source", str, file=file, where="[footprint]")
    if numbers["footprint.default_radius_m"] > numbers["footprint.max_radius_m"]:
        problems.append("footprint.default_radius_m must not exceed footprint.max_radius_m")
    quad = require(foot, "quad_segs", int, file=file, where="[footprint]")
    if quad < 1:
        problems.append(f"footprint.quad_segs must be >= 1, got {quad}")
    vocab = role_vocabulary()
    roles = {}
    for name, tab in (("overlap", overlap), ("distance", dist)):
        items = require(tab, "report_roles", list, file=file, where=f"[{name}]")
        bad = [r for r in items if r not in vocab]
        if bad:
            problems.append(f"{name}.report_roles: unknown role(s) {bad}; allowed: {sorted(vocab)}")
        roles[name] = tuple(r for r in items if r in vocab)
    columns = {}
    for key in ("id", "name", "industry", "project_type"):
        items = require(cols, key, list, file=file, where="[columns]")
        columns[key] = tuple(str(v) for v in items)
    if problems:
        raise DataFileError(problem("筛查设置文件有错误。", "Invalid screening settings:\n  - " + "\n  - ".join(problems),
                                    file=file, fix="correct the values listed"))
    return ScreeningSettings(
        default_radius_m=float(numbers["footprint.default_radius_m"]), quad_segs=quad,
        sliver_m2=float(numbers["sliver.area_m2"]), sliver_width_m=float(numbers["sliver.width_m"]),
        overlap_roles=roles["overlap"], distance_roles=roles["distance"], search_m=float(numbers["distance.search_m"]),
        columns=columns, threads=resolve_threads(threads), min_parallel_pairs=min_pairs,
        max_radius_m=float(numbers["footprint.max_radius_m"]),
        far_outside_m=float(far), crs_candidates=tuple(str(c) for c in candidates),
        candidate_share=float(cand_share), crs_check_sample=sample,
        sources={n: doc[n]["source"] for n in ("footprint", "sliver", "overlap", "distance", "columns",
                                              "performance", "coverage")})


