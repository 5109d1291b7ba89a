"""Screening settings: ``data/screening.toml`` (footprint buffers, sliver tolerance, distances, threads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, model_validator
from pyproj import CRS

from ..datafiles import load_model
from ..parallel import resolve_threads
from ..params import AsTuple, Source, Sourced
from ..roles import role_vocabulary


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


def _known_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    vocab = role_vocabulary()
    bad = [r for r in roles if r not in vocab]
    if bad:
        raise ValueError(f"unknown role(s) {bad} (未知的图层角色); allowed: {sorted(vocab)}")
    return roles


def _known_crs(candidates: tuple[str, ...]) -> tuple[str, ...]:
    bad = []
    for c in candidates:
        try:
            CRS.from_user_input(c)
        except Exception:  # noqa: BLE001 - any pyproj failure is an invalid entry
            bad.append(c)
    if bad:
        raise ValueError(f"{bad} are not CRSs pyproj knows (无法识别的坐标系)")
    return candidates


_Strings = Annotated[tuple[str, ...], AsTuple]
_Roles = Annotated[tuple[str, ...], AsTuple, AfterValidator(_known_roles)]


class _Footprint(Sourced):
    default_radius_m: float = Field(gt=0)
    quad_segs: int = Field(ge=1)
    quad_segs_source: Source
    max_radius_m: float = Field(gt=0)
    max_radius_source: Source

    @model_validator(mode="after")
    def _order(self) -> _Footprint:
        if self.default_radius_m > self.max_radius_m:
            raise ValueError(f"default_radius_m ({self.default_radius_m}) must not exceed max_radius_m "
                             f"({self.max_radius_m}) (默认半径超过上限)")
        return self


class _Sliver(Sourced):
    area_m2: float = Field(ge=0)
    width_m: float = Field(ge=0)


class _Overlap(Sourced):
    report_roles: _Roles


class _Distance(Sourced):
    report_roles: _Roles
    search_m: float = Field(gt=0)


class _Coverage(Sourced):
    far_outside_m: float = Field(gt=0)
    crs_candidates: Annotated[tuple[str, ...], AsTuple, AfterValidator(_known_crs)]
    candidate_share: float = Field(gt=0, le=1)
    sample: int = Field(ge=1)


class _Performance(Sourced):
    threads: int = Field(ge=0)
    min_parallel_pairs: int = Field(ge=1)


class _Columns(Sourced):
    id: _Strings
    name: _Strings
    industry: _Strings
    project_type: _Strings


class ScreeningFile(Sourced):
    """The structure of ``data/screening.toml``."""

    what: ClassVar[str] = "筛查设置 / screening"
    footprint: _Footprint
    sliver: _Sliver
    overlap: _Overlap
    distance: _Distance
    coverage: _Coverage
    performance: _Performance
    columns: _Columns


@lru_cache(maxsize=4)
def screening_settings(path: str | None = None) -> ScreeningSettings:
    """Load and validate the screening settings: the packaged ``screening.toml``, with the tables and keys of
    a user file ``path`` (if given) merged over it.

    Raises
    ------
    DataFileError
        Naming the file and key path of every missing, unknown or invalid value.
    """
    doc = load_model(ScreeningFile, "screening.toml", path)
    foot, cov = doc.footprint, doc.coverage
    tables = ("footprint", "sliver", "overlap", "distance", "columns", "performance", "coverage")
    return ScreeningSettings(
        default_radius_m=foot.default_radius_m, quad_segs=foot.quad_segs, sliver_m2=doc.sliver.area_m2,
        sliver_width_m=doc.sliver.width_m, overlap_roles=doc.overlap.report_roles,
        distance_roles=doc.distance.report_roles, search_m=doc.distance.search_m,
        columns=doc.columns.model_dump(exclude={"source"}), threads=resolve_threads(doc.performance.threads),
        min_parallel_pairs=doc.performance.min_parallel_pairs, max_radius_m=foot.max_radius_m,
        far_outside_m=cov.far_outside_m, crs_candidates=cov.crs_candidates, candidate_share=cov.candidate_share,
        crs_check_sample=cov.sample, sources={n: getattr(doc, n).source for n in tables})
