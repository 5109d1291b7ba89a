"""Where the data stop: the coverage of a screening and what may be concluded near and beyond it.

The coverage is the union of the features of the coverage rule(s) (``COV-01`` in ``data/rules.toml``: the
catalog's ``admin_boundary`` layer).  Zoning layers describe the land inside it and say nothing about the land
outside, so

* the part of a footprint outside the coverage gets the coverage finding (verdict ``outside_coverage``,
  ``complete`` false) — never a silent pass;
* a rule that fires on the *absence* of a feature (``outside_coverage`` predicate of a non-coverage rule,
  e.g. "not inside an industrial park") is judged on the covered part of the footprint only: that a park is
  missing where there are no data is no finding;
* a distance rule that finds nothing within its distance while its search area (the footprint buffered by
  the distance) leaves the coverage is *partly not evaluated*: the share of the search area outside is
  reported and ``complete`` is false.  A feature found within the distance stands, even near the edge;
* rules on the project's own attributes apply to projects with some land inside the coverage: the rule set is
  that of the covered region;
* when every project lies wholly outside the coverage and far from it, the coordinates are probably stated
  in the wrong CRS (a neighbouring Gauss-Krüger zone, a missing zone prefix, swapped axes): screening stops
  and names the CRS that would put them inside, or warns.

References
----------
.. [1] 中办/国办《关于加强生态环境分区管控的意见》(2024-03-06): zoning is set over whole administrative areas,
   so land outside the data is "not screened", never "compliant" (``data/rules.toml`` COV-01).
.. [2] ``data/screening.toml`` [coverage] (thresholds and candidate CRSs with their rationale).
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from ..errors import CRSError, SanxianWarning, problem
from ..geomutil import OVERLAY_NOISE_M2, polygonal_parts
from ..predicates import COVERAGE_UNKNOWN, SEARCH_OUTSIDE  # noqa: F401  (reasons re-exported)
from ..roles import REGION_ROLES
from ..rules import Rule, RuleSet
from .inputs import Layer, Pieces, Projects, where_mask
from .overlay import chunked_call, is_sliver, uncovered_parts
from .settings import ScreeningSettings

#: Vertices per piece of the coverage boundary in its spatial index (a performance setting, not a result:
#: any value gives the same answers).
_BOUNDARY_PIECE_VERTICES = 32



@dataclass
class Coverage:
    """The coverage of a screening and each footprint's relation to it.

    Attributes
    ----------
    known : bool
        False when no coverage rule could be evaluated (its layer or ``where`` field is missing); the other
        arrays then treat every footprint as covered (the coverage rule is itself reported as not evaluated).
    geom : shapely geometry or None
        Union of the coverage features (prepared), in the working CRS.
    covered : numpy.ndarray of geometries
        Part of each footprint inside the coverage.
    outside_area : numpy.ndarray
        Area of each footprint outside the coverage [m²] (0 below the overlay noise).
    outside : numpy.ndarray of bool
        The part outside is more than a sliver (the coverage rule fires).
    nowhere : numpy.ndarray of bool
        The part inside is empty or a sliver: the project lies wholly outside the coverage.
    whole_geom : shapely geometry or None
        The whole catalog's coverage when the catalog is a county view (else None).
    """

    known: bool
    geom: Any
    covered: np.ndarray
    outside_area: np.ndarray
    outside: np.ndarray
    nowhere: np.ndarray
    whole_geom: Any = None
    search_areas: dict[str, _SearchCoverage] = field(default_factory=dict)

    def search_coverage(self, role: str) -> _SearchCoverage:
        """Where the data of ``role`` exist, for the search areas of distance rules.

        In a county view of a catalog (:meth:`~sanxian_yidan.catalog.Catalog.restricted_to`) the coverage
        rule tests the county, but the zoning layers stay whole: their data reach over the whole catalog's
        coverage (``whole_geom``).  The layers a view cuts to the county (``REGION_ROLES``) stop at it.
        """
        key = "whole" if self.whole_geom is not None and role not in REGION_ROLES else "region"
        if key not in self.search_areas:
            self.search_areas[key] = _SearchCoverage(self.whole_geom if key == "whole" else self.geom)
        return self.search_areas[key]

    @cached_property
    def outside_share(self) -> np.ndarray:
        """Share (0-1) of each footprint outside the coverage; NaN when the coverage is unknown."""
        if not self.known:
            return np.full(len(self.covered), np.nan)
        areas = shapely.area(self.covered) + self.outside_area
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(areas > 0, self.outside_area / areas, 0.0)


@dataclass
class _SearchCoverage:
    """A coverage polygon (prepared), an index of its boundary, and search results cached per distance."""

    geom: Any
    cache: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shapely.prepare(self.geom)

    @cached_property
    def boundary_tree(self) -> shapely.STRtree:
        """Spatial index of the coverage boundary cut into short pieces (:func:`search_outside`).

        Kept per coverage polygon (:data:`_BOUNDARY_TREES`): the coverage of a catalog is the same polygon for
        every screening against it (the union is cached with the layer), and cutting a county outline into
        pieces costs more than a single project's distance tests.
        """
        if self.geom not in _BOUNDARY_TREES:
            _BOUNDARY_TREES[self.geom] = shapely.STRtree(_boundary_pieces(self.geom, _BOUNDARY_PIECE_VERTICES))
        return _BOUNDARY_TREES[self.geom]


#: Boundary index per coverage polygon, dropped with the polygon (STRtree queries only read it).
_BOUNDARY_TREES: weakref.WeakKeyDictionary[Any, shapely.STRtree] = weakref.WeakKeyDictionary()


def coverage_rules(ruleset: RuleSet) -> list[Rule]:
    """The enabled coverage rules of a rule set (``Rule.is_coverage``)."""
    return [r for r in ruleset if r.is_coverage]


def unknown_coverage(proj: Projects) -> Coverage:
    n = len(proj.ids)
    return Coverage(False, None, np.array(proj.footprints, dtype=object), np.zeros(n), np.zeros(n, bool),
                    np.zeros(n, bool))


def coverage_of(ruleset: RuleSet, layers: dict[str, Layer], pieces: dict[str, Pieces], proj: Projects,
                settings: ScreeningSettings, sliver_m2: float, whole_geom: Any = None) -> Coverage:
    """Coverage of the screening: the footprints' parts inside and outside the coverage features.

    A place is covered when it lies inside the matching features of every coverage rule whose layer is
    present.  The outside part is computed from the overlap pieces already cut for the coverage role (one
    ``shapely.difference`` round per piece rank, :func:`~sanxian_yidan.screening.overlay.uncovered_parts`).
    ``whole_geom`` is the whole catalog's coverage when the catalog is a county view (see
    :meth:`Coverage.search_coverage`).
    """
    uncovered: np.ndarray | None = None
    geoms = []
    for rule in coverage_rules(ruleset):
        layer = layers.get(rule.role)
        if layer is None or not layer.polygonal or rule.role not in pieces:
            continue
        mask, missing = where_mask(rule, layer)
        if mask is None:
            continue
        pc = pieces[rule.role]
        sel = mask[pc.fi]
        out = uncovered_parts(proj.footprints, pc.pi[sel], pc.geoms[sel], pc.area[sel], proj.area, settings.threads,
                              settings.min_parallel_pairs)
        uncovered = out if uncovered is None else polygonal_parts(shapely.union(uncovered, out))
        geoms.append(layer.union(rule.where, mask))
    if uncovered is None:
        return unknown_coverage(proj)
    geom = geoms[0] if len(geoms) == 1 else shapely.intersection_all(geoms)
    shapely.prepare(geom)
    out_area = shapely.area(uncovered)
    clean = out_area < OVERLAY_NOISE_M2
    out_area = np.where(clean, 0.0, out_area)
    covered = np.array(proj.footprints, dtype=object)
    part = ~clean
    if part.any():
        covered[part] = polygonal_parts(chunked_call(shapely.difference, (covered[part], uncovered[part]),
                                                     settings.threads, settings.min_parallel_pairs))
    outside = (out_area > 0) & ~is_sliver(out_area, shapely.length(uncovered), sliver_m2, settings.sliver_width_m)
    in_area = shapely.area(covered)
    nowhere = (in_area <= 0) | is_sliver(in_area, shapely.length(covered), sliver_m2, settings.sliver_width_m)
    return Coverage(True, geom, covered, out_area, outside, nowhere, whole_geom=whole_geom)


def search_outside(cov: Coverage, proj: Projects, idx: np.ndarray, distance_m: float, role: str,
                   settings: ScreeningSettings, sliver_m2: float) -> tuple[np.ndarray, np.ndarray]:
    """Area [m²] and share (0-1) of the search area of a distance rule outside the coverage.

    The search area of a project is its footprint buffered by ``distance_m``.  A footprint inside the
    coverage with no piece of the coverage boundary within ``distance_m`` (one bulk ``dwithin`` query of an
    index of short boundary pieces) has its whole search area covered; one wholly outside with no boundary
    near has it wholly outside; only the others (near the edge) are buffered and cut.  An outside part that is
    a sliver counts as covered.  Results are cached per distance: rules with the same distance share them.

    Returns
    -------
    area, share : numpy.ndarray
        Arrays over all projects (0 except at ``idx``).
    """
    n = len(proj.ids)
    area, share = np.zeros(n), np.zeros(n)
    if not cov.known or len(idx) == 0:
        return area, share
    sc = cov.search_coverage(role)
    known_area, known_share, done = sc.cache.setdefault(
        float(distance_m), (np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)))
    todo = idx[~done[idx]]
    if len(todo):
        near = np.zeros(n, dtype=bool)
        qi, _ = sc.boundary_tree.query(proj.footprints[todo], predicate="dwithin", distance=distance_m)
        near[todo[qi]] = True
        rest = todo[~near[todo]]                 # no boundary within the distance: wholly inside or outside
        far_out = rest[~shapely.intersects(sc.geom, proj.footprints[rest])]
        whole = shapely.area(shapely.buffer(proj.footprints[far_out], distance_m, quad_segs=settings.quad_segs))
        known_area[far_out], known_share[far_out] = whole, 1.0
        edge = todo[near[todo]]
        if len(edge):
            search = shapely.buffer(proj.footprints[edge], distance_m, quad_segs=settings.quad_segs)
            # The coverage clipped to each search area's box first: a difference against the whole coverage
            # would walk every vertex of the county boundaries for each project.
            b = shapely.bounds(search)
            boxes = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
            local = chunked_call(shapely.intersection, (np.full(len(edge), sc.geom, dtype=object), boxes),
                                 settings.threads, settings.min_parallel_pairs)
            out = polygonal_parts(chunked_call(shapely.difference, (search, local), settings.threads,
                                               settings.min_parallel_pairs))
            a = shapely.area(out)
            a = np.where(is_sliver(a, shapely.length(out), sliver_m2, settings.sliver_width_m), 0.0, a)
            known_area[edge], known_share[edge] = a, a / shapely.area(search)
        done[todo] = True
    area[idx], share[idx] = known_area[idx], known_share[idx]
    return area, share


def nearer_beyond_data(cov: Coverage, proj: Projects, idx: np.ndarray, distance_m: np.ndarray,
                       role: str) -> np.ndarray:
    """For projects ``idx`` whose nearest ``role`` feature lies ``distance_m`` away: could a nearer one lie
    outside the data?  True when the coverage boundary is within that distance of the footprint (one bulk
    ``dwithin`` query of the boundary index) or the footprint lies wholly outside; False when the coverage is
    unknown (the coverage rule is then reported as not evaluated)."""
    flag = np.zeros(len(idx), dtype=bool)
    if not cov.known or len(idx) == 0:
        return flag
    sc = cov.search_coverage(role)
    qi, _ = sc.boundary_tree.query(proj.footprints[idx], predicate="dwithin", distance=np.asarray(distance_m, float))
    flag[qi] = True
    flag |= ~shapely.intersects(sc.geom, proj.footprints[idx])
    return flag


def _boundary_pieces(geom: Any, vertices: int) -> np.ndarray:
    """The boundary of ``geom`` cut into linestrings of at most ``vertices`` vertices (for a spatial index:
    a whole county ring would make every project a candidate of every query)."""
    rings = shapely.get_parts(shapely.get_parts(shapely.boundary(geom)))
    pieces = []
    step = max(vertices - 1, 1)
    for ring in rings.tolist():
        xy = shapely.get_coordinates(ring)
        pieces += [xy[s0:s0 + vertices] for s0 in range(0, len(xy) - 1, step)]   # each of >= 2 vertices
    if not pieces:
        return np.empty(0, dtype=object)
    sizes = np.array([len(c) for c in pieces])
    return shapely.linestrings(np.concatenate(pieces), indices=np.repeat(np.arange(len(pieces)), sizes))


def check_far_outside(cov: Coverage, proj: Projects, working_crs: str, settings: ScreeningSettings) -> None:
    """Stop (or warn) when every project lies wholly outside the coverage and far from it.

    Such a project set is almost always stated in the wrong CRS: a Gauss-Krüger zone other than the data's
    (zone-37 eastings read as CM 114°E move Suizhou about 270 km east), a missing or extra zone prefix, or
    swapped longitude/latitude.  The first projects (``[coverage] sample``) are re-read in each candidate CRS
    of ``data/screening.toml`` [coverage] (and with x/y swapped); if one puts at least ``candidate_share`` of
    them inside the coverage, a :class:`~sanxian_yidan.errors.CRSError` names it.  Otherwise a
    :class:`~sanxian_yidan.errors.SanxianWarning` says that every project is far away.

    Raises
    ------
    CRSError
        A candidate CRS puts the projects inside the coverage.
    """
    if not cov.known or not cov.nowhere.all() or proj.raw_points is None:
        return
    k = min(len(proj.ids), settings.crs_check_sample)
    dist = shapely.distance(cov.geom, proj.footprints[:k])
    nearest = float(np.nanmin(dist)) if np.isfinite(dist).any() else float("inf")
    if nearest < settings.far_outside_m:
        return
    pts = proj.raw_points
    stated = pts.crs
    best: tuple[float, str, bool] = (0.0, "", False)
    for swapped in (False, True):
        base = pts if not swapped else gpd.GeoSeries(shapely.transform(pts.values, lambda c: c[:, ::-1]),
                                                     crs=stated)
        for cand in ((stated.to_string(),) if swapped else ()) + tuple(settings.crs_candidates):
            if not swapped and stated is not None and CRS.from_user_input(cand).equals(stated):
                continue
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    moved = base.set_crs(cand, allow_override=True).to_crs(working_crs).values
            except Exception:  # noqa: BLE001 - a candidate that cannot transform these numbers is not the one
                continue
            if not len(moved) or not np.isfinite(shapely.get_coordinates(moved)).all():
                continue
            share = float(np.mean(shapely.intersects(cov.geom, moved)))
            if share > best[0]:
                best = (share, cand, swapped)
    km = nearest / 1000.0
    stated_txt = stated.to_string() if stated is not None else "?"
    if best[0] >= settings.candidate_share:
        share, cand, swapped = best
        name = CRS.from_user_input(cand).name
        how = (f"with x and y swapped in {cand} ({name})" if swapped else f"in {cand} ({name})")
        how_zh = f"交换 x、y 后按 {cand}" if swapped else f"按 {cand}（{name}）"
        raise CRSError(problem(
            f"所有项目都位于数据覆盖范围之外，且距其至少 {km:,.0f} km；坐标系很可能有误：{how_zh}解读时，"
            f"{share:.0%} 的项目落在覆盖范围内。",
            f"Every project lies outside the coverage of the zoning data, at least {km:,.0f} km from it, in the "
            f"stated CRS {stated_txt}. The CRS is probably wrong (another Gauss-Krüger zone, a missing zone "
            f"prefix or swapped axes): read {how}, {share:.0%} of the projects fall inside the coverage.",
            fix=(f"state the right CRS: sanxian screen --crs {cand} (screen(..., crs='{cand}'))"
                 + (" after swapping the x and y columns" if swapped else "")
                 + ", or correct the file's .prj; screening in the wrong CRS would judge the wrong place")))
    warnings.warn(problem(
        f"所有项目都位于数据覆盖范围之外，且距其至少 {km:,.0f} km；请检查坐标系（分带、带号前缀、经纬度顺序）。",
        f"Every project lies outside the coverage of the zoning data, at least {km:,.0f} km from it, in the "
        f"stated CRS {stated_txt}: they are all reported as outside_coverage. If they are meant to be inside, "
        "the CRS or the Gauss-Krüger zone is probably wrong.",
        fix="check the CRS (--crs / the .prj), the zone and its prefix, and the x/y order of the coordinates"),
        SanxianWarning, stacklevel=3)
