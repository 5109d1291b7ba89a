"""Brownfield candidate sites: the candidates of the catalog roles and user parcels, their readiness from
their status, and the ground-mounted PV capacity of an area.

The steps brownfields share with the mine analysis (exclusions, location and coverage, distances,
terrain, conditions, scoring) live in :mod:`sanxian_yidan.siteengine`; their names stay importable
from here with a DeprecationWarning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import rules, siteengine
from .._deprecated import deprecated
from ..errors import CRSError, DataFileError, EmptyLayerError, InputFileError, problem
from ..siteengine import canonical_order, require_projected, site_frame
from .params import M2_PER_HA, BrownfieldParams, CandidateRole, load_params

if TYPE_CHECKING:
    from ..catalog import Catalog

log = logging.getLogger(__name__)


# =============================================================================================
# Capacity
# =============================================================================================
def ground_capacity_mw(polygons: gpd.GeoSeries | gpd.GeoDataFrame, *, mw_per_ha: float | None = None,
                       density: str | None = None) -> pd.Series:
    """Installable PV capacity of ground-mounted arrays on each polygon [MW].

    ``capacity_mw = area_m2 / 10,000 × mw_per_ha``.

    Parameters
    ----------
    polygons : GeoSeries or GeoDataFrame
        Net developable land in a projected CRS (metres).
    mw_per_ha : float, optional
        Power density [MW/ha]; overrides ``density``.
    density : str, optional
        Name of a density of ``data/brownfield.toml``: ``"cn_layout"`` (default, shade-free fixed rows
        per GB 50797-2012 with current modules, 0.72 MW/ha DC [3]_), ``"nrel_rev"`` (36 MW/km² DC [1]_)
        or ``"epa_repowering"`` (about 5 acres per MW, 0.494 MW/ha [2]_).

    Returns
    -------
    pandas.Series
        Capacity [MW] with the index of ``polygons``; ``attrs["source"]`` names the density used.

    Raises
    ------
    CRSError
        If the polygons are not in a projected CRS.
    ValueError
        If ``mw_per_ha`` is not a positive finite number or ``density`` is unknown.

    References
    ----------
    .. [1] NREL reV default PV power density, 36 MW/km² (DC).
    .. [2] U.S. EPA RE-Powering America's Land, Pre-Screening: a five-acre solar site supports up to 1 MW.
    .. [3] GB 50797-2012 光伏发电站设计规范 (rows shade-free 9:00-15:00 true solar time on the winter solstice).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> round(float(ground_capacity_mw(gpd.GeoSeries([shapely.box(0, 0, 100, 100)], crs="EPSG:4547")).iloc[0]), 3)
    0.723
    """
    require_projected(polygons, "地块 / The polygons")
    if mw_per_ha is None:
        params = load_params()
        name = density or params.capacity.default
        if name not in params.densities:
            raise DataFileError(problem(
                f"未知的功率密度 '{name}'。", f"Unknown power density '{name}'.",
                fix=f"use one of {sorted(params.densities)} or give mw_per_ha"))
        chosen = params.densities[name]
        mw_per_ha, source = chosen.mw_per_ha, chosen.source
    else:
        source = "mw_per_ha given by the caller"
    if isinstance(mw_per_ha, bool) or not np.isfinite(mw_per_ha) or mw_per_ha <= 0:
        raise InputFileError(problem(
            "功率密度必须为正数。", f"mw_per_ha must be a positive finite number, got {mw_per_ha!r}.",
            fix="give the density in MW per hectare, e.g. 0.72 (Chinese fixed-row layout, DC)"))
    area = shapely.area(polygons.geometry.values)
    area = np.where(np.isfinite(area), area, 0.0)
    out = pd.Series(area / M2_PER_HA * float(mw_per_ha), index=polygons.index, name="capacity_mw")
    out.attrs["source"] = source
    out.attrs["mw_per_ha"] = float(mw_per_ha)
    return out


# =============================================================================================
# Candidates
# =============================================================================================


def read_parcels(parcels: str | Path | gpd.GeoDataFrame, working_crs: str) -> gpd.GeoDataFrame:
    """User parcels → polygons in the working CRS (through read_vector + normalise).

    Parameters
    ----------
    parcels : path or GeoDataFrame
        Any format :func:`sanxian_yidan.read_vector` reads (GBK shapefile, land-boundary TXT, …),
        or a GeoDataFrame with a CRS.
    working_crs : str
        Target CRS.
    """
    from ..io.vector import read_vector
    from ..normalize import normalise

    name = str(parcels) if not isinstance(parcels, gpd.GeoDataFrame) else "<GeoDataFrame parcels>"
    gdf = read_vector(parcels) if not isinstance(parcels, gpd.GeoDataFrame) else parcels
    if gdf.crs is None:
        raise CRSError(problem("地块没有坐标系。", "The parcels have no CRS.", file=name,
                               fix="set the CRS (gdf.set_crs(...)) or read the file with read_vector(path, crs=...)"))
    gdf = normalise(gdf, working_crs, expected="polygon", file=name)
    if len(gdf) == 0:
        raise EmptyLayerError(problem("地块图层为空。", "The parcels layer has no usable polygon.", file=name,
                                      fix="check the file"))
    return gdf


def candidate_sites(catalog: Catalog, params: BrownfieldParams, *,
                    parcels: str | Path | gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Collect the candidate sites of every candidate role in the catalog (and user parcels).

    Parameters
    ----------
    catalog : Catalog
        Layer catalog (``sanxian_yidan.catalog.Catalog``).
    params : BrownfieldParams
    parcels : path or GeoDataFrame, optional
        Extra candidate parcels (site type ``parcel``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site in a canonical order (independent of input order) with ``site_id``,
        ``site_type``, ``site_type_zh``, carried attributes, ``gross_area_m2``, ``synthetic``,
        ``source``, ``layer_id``.
    """
    frames = catalog_candidates(catalog, params)
    if parcels is not None:
        gdf = read_parcels(parcels, catalog.working_crs)
        ident = parcel_id_column({c: gdf[c] for c in PARCEL_ID_COLUMNS if c in gdf.columns})
        if ident is not None:
            ids = "parcel-" + gdf[ident].astype(str)
        else:
            # each parcel's position in the content order (the inverse of that permutation)
            ids = parcel_ids(np.argsort(canonical_order(gdf, [])), gdf.index)
        frames.append(parcel_sites(gdf, parcel_role(params), ids))
    if not frames:
        raise no_candidates(catalog, params)
    return combine_sites(frames)


#: Parcel columns that name a parcel, in order of preference (the first filled and unique one gives the ids).
PARCEL_ID_COLUMNS = ("id", "parcel_id", "code", "name")


def catalog_candidates(catalog: Catalog, params: BrownfieldParams) -> list[gpd.GeoDataFrame]:
    """The site tables of the catalog's candidate roles (one per role with features)."""
    frames = []
    for cand in params.candidate_roles:
        if cand.role == "parcel":
            continue
        if not catalog.has(cand.role):
            log.info("catalog has no layer with role %s; no %s candidates", cand.role, cand.en)
            continue
        gdf = catalog.read(cand.role)
        if len(gdf) == 0:
            continue
        frames.append(site_frame(gdf, cand, ids=gdf["layer_id"].astype(str) + "-" + gdf["src_fid"].astype(str)))
    return frames


def parcel_role(params: BrownfieldParams) -> CandidateRole:
    """The candidate role of user parcels (``[candidates.parcel]``, or its default)."""
    return next((c for c in params.candidate_roles if c.role == "parcel"),
                CandidateRole("parcel", "用户提供地块", "User parcel", "user input"))


def parcel_id_column(columns: dict[str, pd.Series]) -> str | None:
    """The first of :data:`PARCEL_ID_COLUMNS` whose values (of *all* parcels) are all filled and unique."""
    return next((c for c in PARCEL_ID_COLUMNS if c in columns and columns[c].astype(str).str.len().gt(0).all()
                 and columns[c].astype(str).is_unique), None)


def parcel_ids(rank: np.ndarray, index: pd.Index) -> pd.Series:
    """Ids of parcels without a usable id column, from their rank in the content order of all parcels."""
    return pd.Series([f"parcel-{r:04d}" for r in rank], index=index)


def parcel_sites(gdf: gpd.GeoDataFrame, cand: CandidateRole, ids: pd.Series) -> gpd.GeoDataFrame:
    """Normalised user parcels as the common site table (default ``synthetic``, ``source``, ``layer_id``)."""
    gdf = gdf.copy()
    for col, default in (("synthetic", False), ("source", "user parcels"), ("layer_id", "parcels"), ("name", "")):
        if col not in gdf.columns:
            gdf[col] = default
    return site_frame(gdf, cand, ids=ids)


def no_candidates(catalog: Catalog, params: BrownfieldParams) -> EmptyLayerError:
    """The error of a run without any candidate site."""
    return EmptyLayerError(problem(
        "没有候选地块：图层目录中没有矿山、沉陷区、填埋场或污染地块图层，也未提供地块。",
        "No candidate sites: the catalog has none of the roles "
        f"{[c.role for c in params.candidate_roles if c.role != 'parcel']} and no parcels were given.",
        file=getattr(catalog, "path", None), fix="add such layers to the catalog or pass --parcels FILE"))


def combine_sites(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Site tables as one, in canonical order; repeated site ids are refused."""
    sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    check_unique_sites(sites["site_id"])
    order = canonical_order(sites, ["site_type", "site_id"])
    return sites.iloc[order].reset_index(drop=True)


def check_unique_sites(ids: pd.Series) -> None:
    """Refuse repeated site ids (two parcels with one id, or a parcel id equal to a catalog site's)."""
    if not ids.is_unique:
        dup = ids[ids.duplicated()].tolist()[:5]
        raise InputFileError(problem("地块编号重复。", f"Duplicate site ids {dup}.",
                                     fix="give each parcel a unique 'id' or 'name'"))


def site_readiness(sites: pd.DataFrame, params: BrownfieldParams) -> pd.DataFrame:
    """Readiness [0-1], eligibility and reasons per site from its status fields.

    Every ``[[status]]`` entry whose role, field and value match applies: readiness is the
    lowest matched value, eligibility requires all matched entries to allow it.  Sites that no
    entry matches get ``[status_default]`` and the note "status unknown".

    Returns
    -------
    pandas.DataFrame
        ``readiness``, ``eligible`` (bool), ``status_notes`` (list of str) aligned with ``sites``.
    """
    n = len(sites)
    readiness = np.full(n, np.inf)
    eligible = np.ones(n, dtype=bool)
    matched = np.zeros(n, dtype=bool)
    notes: list[list[str]] = [[] for _ in range(n)]
    stype = sites["site_type"].to_numpy()
    for rule in params.status:
        if rule.field not in sites.columns:
            continue
        # Same comparison semantics as every other condition (rules.Condition): trimmed text, 1 == "1.0".
        hit = (stype == rule.role) & rules.Condition(rule.field, "in", tuple(rule.values)).evaluate(sites[rule.field])
        if not hit.any():
            continue
        matched |= hit
        readiness[hit] = np.minimum(readiness[hit], rule.readiness)
        if not rule.eligible:
            eligible[hit] = False
        if rule.reason_zh or rule.reason_en:
            text = f"{rule.reason_zh} / {rule.reason_en}".strip(" /")
            for i in np.flatnonzero(hit):
                notes[i].append(text)
    readiness[~matched] = params.status_default.readiness
    for i in np.flatnonzero(~matched):
        notes[i].append("状态未知 / status unknown")
    return pd.DataFrame({"readiness": readiness, "eligible": eligible, "status_notes": notes}, index=sites.index)


def __getattr__(name: str) -> Any:
    # the site engine's names were importable from here before they moved to sanxian_yidan.siteengine
    if name in siteengine.__all__:
        deprecated(f"brownfield.sites.{name}", f"sanxian_yidan.siteengine.{name}")
        return getattr(siteengine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
