"""The layer catalog: which file plays which role, where it came from, and whether it is synthetic.

A catalog is a TOML file (``layers/catalog.toml`` for the embedded sample) with
one ``[[layers]]`` table per layer.  Analyses ask for a *role* (see
``data/roles.toml``) and receive a normalised GeoDataFrame in the working CRS
with canonical column names, a ``synthetic`` flag and a ``source`` on every
feature, and a record of every repair made on the way in.

Example
-------
>>> cat = Catalog.load("layers/catalog.toml")          # doctest: +SKIP
>>> units = cat.read("control_unit")                    # doctest: +SKIP
>>> units[["code", "name", "category"]].head()          # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import crs as crsmod
from .datafiles import load_toml
from .errors import CatalogError, SanxianError, UnknownLayerError, problem
from .io.vector import read_vector
from .normalize import Repair, normalise
from .roles import (  # noqa: F401  (re-exported: the vocabulary was defined here before roles.py)
    REGION_ROLES,
    Role,
    canonical_fields,
    role_vocabulary,
)

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_ENTRY_KEYS = {"id", "role", "path", "layer", "title_zh", "title_en", "source", "licence", "synthetic",
               "crs", "encoding", "fields", "notes"}
_CATALOG_KEYS = {"title_zh", "title_en", "region_zh", "region_en", "working_crs", "notes"}


@dataclass(frozen=True)
class LayerEntry:
    """A validated catalog entry.

    Attributes
    ----------
    id, role : str
        Unique id and role from the vocabulary.
    path : Path
        Absolute path of the data file.
    layer : str or None
        Layer inside the file.
    title_zh, title_en, source, licence : str
        Description and provenance (shown in every report).
    synthetic : bool
        True when the data are not real (sample data).  Maps and reports say so.
    crs, encoding : str or None
        Overrides when the file lacks a CRS or its encoding is misdetected.
    fields : Mapping[str, str]
        Canonical field name → column in the file.
    """

    id: str
    role: str
    path: Path
    layer: str | None
    title_zh: str
    title_en: str
    source: str
    licence: str
    synthetic: bool
    crs: str | None = None
    encoding: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_raster(self) -> bool:
        """True for raster layers (DEM)."""
        return role_vocabulary()[self.role].is_raster


@dataclass
class LayerCheck:
    """Outcome of checking one catalog entry (see :meth:`Catalog.check`)."""

    entry: LayerEntry
    features: int | None = None
    source_crs: str | None = None
    encoding: str | None = None
    repairs: list[Repair] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the entry could be read without error."""
        return not self.errors


class Catalog:
    """A set of layers with roles, read into one working CRS.

    Use :meth:`Catalog.load` to create one from a TOML file.
    """

    def __init__(self, entries: list[LayerEntry], *, path: Path | None = None,
                 working_crs: str | None = None, meta: Mapping[str, Any] | None = None) -> None:
        self.entries: tuple[LayerEntry, ...] = tuple(entries)
        self.path = path
        self.working_crs = working_crs or crsmod.WORKING_CRS
        self.meta = dict(meta or {})
        self._cache: dict[str, gpd.GeoDataFrame] = {}
        self.region: Any = None
        self.region_name: str | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, *, working_crs: str | None = None) -> Catalog:
        """Load and validate a catalog TOML file.

        Every problem in the file is collected and reported in one
        :class:`~sanxian_yidan.errors.CatalogError`.  Data files are not opened
        here (see :meth:`check`).

        Parameters
        ----------
        path : str or Path
            Catalog file.
        working_crs : str, optional
            Override the catalog's ``working_crs`` (default EPSG:4547,
            CGCS2000 / 3-degree Gauss-Kruger CM 114E).
        """
        path = Path(path).resolve()
        if not path.exists():
            raise CatalogError(problem("图层目录文件不存在。", "Catalog file not found.", file=path,
                                       fix="give the path of a catalog.toml (the sample is layers/catalog.toml)"))
        doc = load_toml(path)
        problems: list[str] = []
        meta = doc.get("catalog", {})
        for key in sorted(set(meta) - _CATALOG_KEYS):
            problems.append(f"[catalog]: unknown key '{key}' (allowed: {sorted(_CATALOG_KEYS)})")
        for key in sorted(set(doc) - {"catalog", "layers"}):
            problems.append(f"unknown top-level table '{key}' (allowed: [catalog], [[layers]])")
        raw_layers = doc.get("layers", [])
        if not isinstance(raw_layers, list) or not raw_layers:
            problems.append("no [[layers]] entries")
            raw_layers = []
        entries = []
        seen: set[str] = set()
        for i, raw in enumerate(raw_layers):
            entry = _parse_entry(raw, i, path.parent, problems)
            if entry is None:
                continue
            if entry.id in seen:
                problems.append(f"layers[{i}] ({entry.id}): duplicate id '{entry.id}'")
            seen.add(entry.id)
            entries.append(entry)
        wcrs = working_crs or meta.get("working_crs")
        if wcrs is not None:
            try:
                from pyproj import CRS
                if CRS.from_user_input(wcrs).is_geographic:
                    problems.append(f"[catalog] working_crs {wcrs} is geographic; areas and distances need a "
                                    "projected CRS (e.g. EPSG:4547)")
            except Exception as exc:  # pyproj raises its own CRSError
                problems.append(f"[catalog] working_crs {wcrs!r} is not a valid CRS: {exc}")
        if problems:
            raise CatalogError(problem(
                f"图层目录有 {len(problems)} 处错误。",
                f"The catalog has {len(problems)} problem(s):\n  - " + "\n  - ".join(problems),
                file=path, fix="correct each entry listed; see layers/README.md for the format"))
        return cls(entries, path=path, working_crs=wcrs, meta=meta)

    # -- lookup ---------------------------------------------------------------------------------
    def entries_for(self, role_or_id: str) -> list[LayerEntry]:
        """Entries with this id, or else all entries with this role.

        Raises
        ------
        UnknownLayerError
            If neither an id nor a role of this catalog matches.
        """
        by_id = [e for e in self.entries if e.id == role_or_id]
        if by_id:
            return by_id
        by_role = [e for e in self.entries if e.role == role_or_id]
        if by_role:
            return by_role
        known_role = role_or_id in role_vocabulary()
        raise UnknownLayerError(problem(
            f"图层目录中没有 '{role_or_id}'。",
            f"No layer with id or role '{role_or_id}' in the catalog"
            + (" (the role exists, but no layer of this catalog has it)." if known_role else "."),
            file=self.path,
            fix=f"add a [[layers]] entry with role = '{role_or_id}'" if known_role else
            f"use one of the ids {[e.id for e in self.entries]} or roles {sorted(self.roles)}"))

    def has(self, role_or_id: str) -> bool:
        """True if a layer with this id or role exists."""
        return any(e.id == role_or_id or e.role == role_or_id for e in self.entries)

    @property
    def roles(self) -> set[str]:
        """Roles present in this catalog."""
        return {e.role for e in self.entries}

    def is_synthetic(self, role_or_id: str) -> bool:
        """True if any layer with this id or role is synthetic."""
        return any(e.synthetic for e in self.entries_for(role_or_id))

    def synthetic_entries(self) -> list[LayerEntry]:
        """All synthetic entries (for banners on maps and reports)."""
        return [e for e in self.entries if e.synthetic]

    def raster_path(self, role_or_id: str = "dem") -> Path:
        """Path of a raster layer (e.g. the DEM); checks that it exists."""
        entry = self.entries_for(role_or_id)[0]
        if not entry.is_raster:
            raise CatalogError(problem(f"'{entry.id}' 不是栅格图层。", f"Layer '{entry.id}' is not a raster.",
                                       file=self.path, fix="ask for a raster role such as 'dem'"))
        _require_file(entry, self.path)
        return entry.path

    def restricted_to(self, region: str) -> Catalog:
        """A view of this catalog limited to one county (or other admin_boundary feature).

        The layers a study assesses (roles in :data:`REGION_ROLES`: townships,
        buildings, mines, landfills, contaminated and subsidence land) keep only
        the features that intersect the region (not clipped, so site areas stay
        whole); the admin_boundary layer keeps only the region itself, so
        anything outside it is "outside coverage".  Zoning and infrastructure
        layers and rasters stay whole.

        Parameters
        ----------
        region : str
            The ``name`` (e.g. ``"随县"``) or ``code`` (e.g. ``"421321"``) of an admin_boundary feature.

        Raises
        ------
        UnknownLayerError
            If no admin_boundary feature has that name or code (the message lists them).
        """
        bounds = self.read("admin_boundary")
        keys = [c for c in ("name", "code") if c in bounds.columns]
        match = np.zeros(len(bounds), dtype=bool)
        for key in keys:
            match |= bounds[key].astype(str).to_numpy() == str(region)
        if not match.any():
            known = sorted(set(bounds[keys[0]].astype(str))) if keys else []
            raise UnknownLayerError(problem(f"行政区 '{region}' 不在图层目录的行政区界中。",
                                            f"Region '{region}' is not a feature of the admin_boundary layer.",
                                            file=self.path, fix=f"use one of {known}"))
        view = Catalog(list(self.entries), path=self.path, working_crs=self.working_crs, meta=self.meta)
        view._cache = self._cache  # the files are read once, whichever view asks first
        view.region = bounds.geometry[match].union_all()
        view.region_name = str(region)
        return view

    def unrestricted(self) -> Catalog:
        """The whole catalog a region view was made from (this catalog itself when it is not a view).

        Shares the read cache.  A county analysis uses it where the region limit must not apply:
        which county and township a site lies in, and the data coverage beyond the county border.
        """
        if self.region is None:
            return self
        whole = Catalog(list(self.entries), path=self.path, working_crs=self.working_crs, meta=self.meta)
        whole._cache = self._cache
        return whole

    def coverage(self) -> Any:
        """The area the catalog's data cover: the union of its ``admin_boundary`` features.

        In a region view this is the region (``view.unrestricted().coverage()`` gives the whole
        catalog's).  ``None`` when the catalog has no admin_boundary layer (coverage unknown).
        """
        if not self.has("admin_boundary"):
            return None
        bounds = self.read("admin_boundary")
        return bounds.geometry.union_all() if len(bounds) else None

    # -- reading --------------------------------------------------------------------------------
    def read(self, role_or_id: str) -> gpd.GeoDataFrame:
        """Read a layer (or all layers of a role) normalised into the working CRS.

        Parameters
        ----------
        role_or_id : str
            A layer id, or a role (all layers with that role are concatenated).

        Returns
        -------
        geopandas.GeoDataFrame
            A new frame (safe to modify) with canonical column names from the
            entry's field mapping, plus ``layer_id``, ``synthetic``, ``source``
            and ``src_fid``.  ``attrs["sanxian"]`` holds ``repairs`` (list of
            :class:`~sanxian_yidan.normalize.Repair`), ``layers`` (entry ids) and
            ``synthetic`` (bool).
        """
        entries = self.entries_for(role_or_id)
        frames = [self._in_region(self._read_entry(e), e) for e in entries]
        if len(frames) == 1:
            out = frames[0].copy()
            out.attrs = {"sanxian": dict(frames[0].attrs["sanxian"])}
            return out
        out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        out.attrs["sanxian"] = {
            "layers": [e.id for e in entries],
            "synthetic": any(e.synthetic for e in entries) or bool(out["synthetic"].any()),
            "repairs": [r for f in frames for r in f.attrs["sanxian"]["repairs"]],
        }
        return out

    def _in_region(self, gdf: gpd.GeoDataFrame, entry: LayerEntry) -> gpd.GeoDataFrame:
        if self.region is None or entry.role not in REGION_ROLES:
            return gdf
        if entry.role == "admin_boundary":
            keep = gdf.geometry.intersection(self.region).area > 0.5 * gdf.geometry.area
        else:
            keep = gdf.geometry.intersects(self.region)
        out = gdf[keep.to_numpy()]
        out.attrs = {"sanxian": dict(gdf.attrs["sanxian"], region=self.region_name)}
        return out

    def _read_entry(self, entry: LayerEntry) -> gpd.GeoDataFrame:
        if entry.id not in self._cache:
            self._cache[entry.id] = self._load_entry(entry)
        return self._cache[entry.id]

    def _load_entry(self, entry: LayerEntry) -> gpd.GeoDataFrame:
        if entry.is_raster:
            raise CatalogError(problem(f"'{entry.id}' 是栅格图层。", f"Layer '{entry.id}' is a raster.",
                                       file=self.path, fix="use catalog.raster_path(...) for rasters"))
        _require_file(entry, self.path)
        raw = read_vector(entry.path, layer=entry.layer, crs=entry.crs, encoding=entry.encoding)
        read_meta = raw.attrs.get("sanxian", {})
        gdf = _apply_field_mapping(raw, entry)
        gdf = _attach_provenance(gdf, entry)
        role = role_vocabulary()[entry.role]
        allowed = None if "any" in role.geometry else role.geometry
        gdf = normalise(gdf, self.working_crs, expected=allowed, file=str(entry.path), layer=entry.layer)
        meta = gdf.attrs["sanxian"]
        meta.update(read=read_meta, layers=[entry.id], synthetic=bool(entry.synthetic or gdf["synthetic"].any()))
        return gdf

    # -- validation -----------------------------------------------------------------------------
    def check(self) -> list[LayerCheck]:
        """Open every layer and report features, CRS, encoding, repairs, bbox and errors.

        Never raises for a bad layer: its problem is recorded in
        :attr:`LayerCheck.errors` so that all problems are reported together.
        """
        return [self._check_entry(e) for e in self.entries]

    def _check_entry(self, entry: LayerEntry) -> LayerCheck:
        result = LayerCheck(entry)
        try:
            if entry.is_raster:
                _check_raster(entry, self, result)
                return result
            gdf = self._read_entry(entry)
        except (SanxianError, OSError) as exc:
            result.errors.append(str(exc))
            return result
        meta = gdf.attrs["sanxian"]
        read_meta = meta.get("read", {})
        result.features = len(gdf)
        result.source_crs = read_meta.get("source_crs") or read_meta.get("crs")
        result.encoding = read_meta.get("encoding")
        result.repairs = [r for r in meta["repairs"] if r.kind != "reprojected"]
        result.warnings = list(read_meta.get("warnings", []))
        result.bbox = tuple(float(v) for v in gdf.total_bounds) if len(gdf) else None
        flagged = gdf["synthetic"].to_numpy(dtype=bool)
        if not entry.synthetic and flagged.any():
            result.errors.append(problem(
                "图层目录标为真实数据，但有要素标为合成。",
                f"The entry says synthetic = false but {int(flagged.sum())} feature(s) have synthetic = true.",
                file=entry.path, layer=entry.layer, fix="set synthetic = true in the catalog entry"))
        if len(gdf) == 0:
            result.errors.append(problem("图层为空。", "No usable features after repair.", file=entry.path,
                                         layer=entry.layer, fix="check the data"))
        return result


def _parse_entry(raw: Any, i: int, base: Path, problems: list[str]) -> LayerEntry | None:
    where = f"layers[{i}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table")
        return None
    if isinstance(raw.get("id"), str):
        where = f"layers[{i}] ({raw['id']})"
    before = len(problems)
    for key in sorted(set(raw) - _ENTRY_KEYS):
        problems.append(f"{where}: unknown key '{key}' (allowed: {sorted(_ENTRY_KEYS)})")
    for key in ("id", "role", "path", "title_zh", "title_en", "source", "licence"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: '{key}' is required and must be a non-empty string")
    if not isinstance(raw.get("synthetic"), bool):
        problems.append(f"{where}: 'synthetic' is required and must be true or false "
                        "(sample data must say whether it is real)")
    for key in ("layer", "crs", "encoding"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{where}: '{key}' must be a string")
    if isinstance(raw.get("id"), str) and not _ID_PATTERN.match(raw["id"]):
        problems.append(f"{where}: id '{raw['id']}' must be lower-case letters, digits and '_'")
    vocab = role_vocabulary()
    role = raw.get("role")
    if isinstance(role, str) and role not in vocab:
        problems.append(f"{where}: unknown role '{role}'; allowed roles: {sorted(vocab)}")
    fields = raw.get("fields", {})
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        problems.append(f"{where}: [fields] must map canonical names to column names (strings)")
        fields = {}
    unknown = sorted(set(fields) - canonical_fields())
    if unknown:
        problems.append(f"{where}: unknown canonical field(s) {unknown}; allowed: {sorted(canonical_fields())}")
    if len(problems) > before:
        return None
    return LayerEntry(id=raw["id"], role=role, path=(base / raw["path"]).resolve(), layer=raw.get("layer"),
                      title_zh=raw["title_zh"], title_en=raw["title_en"], source=raw["source"],
                      licence=raw["licence"], synthetic=raw["synthetic"], crs=raw.get("crs"),
                      encoding=raw.get("encoding"), fields=dict(fields))


def _require_file(entry: LayerEntry, catalog_path: Path | None) -> None:
    if not entry.path.exists():
        raise CatalogError(problem(
            f"图层 '{entry.id}' 的数据文件不存在。", f"Data file of layer '{entry.id}' not found.",
            file=entry.path, fix=f"fix `path` in the catalog {catalog_path} (paths are relative to the catalog file)"))
    from .io.safety import check_input_file

    # A folder, named pipe or device (e.g. a symlink to /dev/zero) is refused before GDAL opens it.
    check_input_file(entry.path, what=f"data file of layer '{entry.id}'", dir_suffixes=(".gdb",))


def _apply_field_mapping(gdf: gpd.GeoDataFrame, entry: LayerEntry) -> gpd.GeoDataFrame:
    missing = {k: v for k, v in entry.fields.items() if v not in gdf.columns}
    if missing:
        raise CatalogError(problem(
            "字段映射指向不存在的列。",
            f"Field mapping of layer '{entry.id}' names column(s) not in the file: {missing}; "
            f"columns present: {[c for c in gdf.columns if c != gdf.geometry.name]}.",
            file=entry.path, layer=entry.layer, fix="correct [layers.fields] in the catalog"))
    rename = {column: canonical for canonical, column in entry.fields.items() if column != canonical}
    clash = [c for c in rename.values() if c in gdf.columns and c not in rename]
    # A file column that already has a canonical name but is not the mapped one would be shadowed.
    out = gdf.drop(columns=clash).rename(columns=rename) if clash else gdf.rename(columns=rename)
    out.attrs = gdf.attrs
    return out


def _attach_provenance(gdf: gpd.GeoDataFrame, entry: LayerEntry) -> gpd.GeoDataFrame:
    out = gdf.copy()
    if "synthetic" in out.columns:
        flags = out["synthetic"].map(_truthy).to_numpy(dtype=bool)
        # Never lose a synthetic marker: the entry's flag or the feature's, whichever says synthetic.
        out["synthetic"] = flags | entry.synthetic
    else:
        out["synthetic"] = entry.synthetic
    if "source" in out.columns:
        src = out["source"].astype("string")
        out["source"] = src.where(src.notna() & (src.str.strip() != ""), entry.source).astype(str)
    else:
        out["source"] = entry.source
    out["layer_id"] = entry.id
    out.attrs = gdf.attrs
    return out


def _truthy(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, (int, np.integer, float)):
        return value != 0
    return str(value).strip().lower() in {"true", "1", "yes", "y", "t", "是"}


def _check_raster(entry: LayerEntry, catalog: Catalog, result: LayerCheck) -> None:
    import rasterio

    _require_file(entry, catalog.path)
    with rasterio.open(entry.path) as src:
        result.features = src.width * src.height
        result.source_crs = src.crs.to_string() if src.crs else None
        result.encoding = f"{src.dtypes[0]}, {abs(src.res[0]):g} m" if src.crs and src.crs.is_projected \
            else src.dtypes[0]
        if src.crs is None and entry.crs is None:
            result.errors.append(problem("栅格没有坐标系。", "The raster has no CRS.", file=entry.path,
                                         fix="set `crs` in the catalog entry or re-export with a CRS"))
            return
        if src.nodata is None:
            result.warnings.append("raster has no nodata value; every cell is treated as valid")
        from rasterio.warp import transform_bounds
        result.bbox = tuple(transform_bounds(src.crs or entry.crs, catalog.working_crs, *src.bounds))
