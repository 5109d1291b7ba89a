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

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from . import crs as crsmod
from .datafiles import load_toml
from .errors import CatalogError, SanxianError, UnknownLayerError, problem
from .io.vector import read_vector
from .normalize import GeometryFamily, Repair, normalise
from .params import DataModel, PositionalFields, validate_layers
from .roles import (  # noqa: F401  (re-exported: the vocabulary was defined here before roles.py)
    REGION_ROLES,
    Role,
    canonical_fields,
    role_vocabulary,
)

_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


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
                                       fix="run from the repository folder (the default is its layers/catalog.toml) "
                                           "or give the path of a catalog.toml: --catalog FILE on the command "
                                           "line, Catalog.load(FILE) in Python"))
        layers = [(str(path), load_toml(path))]
        if working_crs is not None:
            layers.append(("<working_crs argument>", {"catalog": {"working_crs": working_crs}}))
        doc = validate_layers(CatalogFile, layers, fix="correct each entry listed; see layers/README.md for the format")
        entries = [e.model_copy(update={"path": (path.parent / e.path).resolve()}) for e in doc.layers]
        return cls(entries, path=path, working_crs=doc.catalog.working_crs,
                   meta=doc.catalog.model_dump(exclude_none=True))

    # -- lookup ---------------------------------------------------------------------------------
    def entries_for(self, role_or_id: str) -> list[LayerEntry]:
        """Entries with this id, or else all entries with this role.

        Raises
        ------
        UnknownLayerError
            If neither an id nor a role of this catalog matches.
        """
        found = [e for e in self.entries if e.id == role_or_id] or [e for e in self.entries if e.role == role_or_id]
        if found:
            return found
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
        view = self._view()
        view.region = bounds.geometry[match].union_all()
        view.region_name = str(region)
        return view

    def unrestricted(self) -> Catalog:
        """The whole catalog a region view was made from (this catalog itself when it is not a view).

        Shares the read cache.  A county analysis uses it where the region limit must not apply:
        which county and township a site lies in, and the data coverage beyond the county border.
        """
        return self if self.region is None else self._view()

    def _view(self) -> Catalog:
        view = Catalog(list(self.entries), path=self.path, working_crs=self.working_crs, meta=self.meta)
        view._cache = self._cache  # the files are read once, whichever view asks first
        return view

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
        gdf = _attach_provenance(_apply_field_mapping(raw, entry), entry)
        role = role_vocabulary()[entry.role]
        allowed = None if "any" in role.geometry else cast("tuple[GeometryFamily, ...]", role.geometry)
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
        if len(gdf):
            x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
            result.bbox = (x0, y0, x1, y1)
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


_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _layer_id(value: str) -> str:
    if not _ID_PATTERN.match(value):
        raise ValueError(f"id {value!r} must be lower-case letters, digits and '_' (编号格式无效)")
    return value


def _known_role(value: str) -> str:
    if value not in role_vocabulary():
        raise ValueError(f"unknown role {value!r}; allowed roles: {sorted(role_vocabulary())} (未知的图层角色)")
    return value


def _canonical(fields: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(fields) - canonical_fields())
    if unknown:
        raise ValueError(f"unknown canonical field(s) {unknown}; allowed: {sorted(canonical_fields())}")
    return fields


def _working_crs(value: str | None) -> str | None:
    from pyproj import CRS

    try:
        geographic = value is not None and CRS.from_user_input(value).is_geographic
    except Exception as exc:  # noqa: BLE001 - pyproj raises its own CRSError
        raise ValueError(f"{value!r} is not a valid CRS: {exc}") from None
    if geographic:
        raise ValueError(f"{value} is geographic; areas and distances need a projected CRS (e.g. EPSG:4547)")
    return value


def _fspath(value: Any) -> Any:
    # a path given in Python (pathlib.Path, os.PathLike) is the text a file would give
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _plain_dict(value: Any) -> Any:
    # any mapping given in Python (the former dataclass took one, e.g. a MappingProxyType) is a table
    return dict(value) if isinstance(value, Mapping) else value


if TYPE_CHECKING:  # read as text (or a path given in Python), kept as a path (made absolute by Catalog.load)
    _FilePath = Path
else:
    _FilePath = Annotated[_Text, BeforeValidator(_fspath), AfterValidator(lambda text: Path(text))]


class LayerEntry(PositionalFields, DataModel):
    """A validated catalog entry (a ``[[layers]]`` table).

    Attributes
    ----------
    id, role : str
        Unique id and role from the vocabulary.
    path : Path
        Absolute path of the data file (written relative to the catalog file).
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
    notes : str or None
        Free text of the catalog's author.
    """

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("id", "role", "path", "layer", "title_zh", "title_en", "source",
                                             "licence", "synthetic", "crs", "encoding", "fields")
    id: Annotated[_Text, AfterValidator(_layer_id)]
    role: Annotated[_Text, AfterValidator(_known_role)]
    path: _FilePath
    layer: str | None = None
    title_zh: _Text
    title_en: _Text
    source: _Text
    licence: _Text
    synthetic: bool  # sample data must say whether it is real
    crs: str | None = None
    encoding: str | None = None
    # canonical name -> column in the file
    fields: Annotated[dict[str, str], BeforeValidator(_plain_dict), AfterValidator(_canonical)] = {}
    notes: str | None = None

    @property
    def is_raster(self) -> bool:
        """True for raster layers (DEM)."""
        return role_vocabulary()[self.role].is_raster


class _Meta(DataModel):
    title_zh: str | None = None
    title_en: str | None = None
    region_zh: str | None = None
    region_en: str | None = None
    working_crs: Annotated[str | None, AfterValidator(_working_crs)] = None
    notes: str | None = None


class CatalogFile(DataModel):
    """The structure of a catalog TOML (``layers/catalog.toml``): ``[catalog]`` and ``[[layers]]``."""

    what: ClassVar[str] = "图层目录 / catalog"
    error: ClassVar[type[Exception]] = CatalogError
    catalog: _Meta = _Meta()
    layers: list[LayerEntry] = Field(min_length=1)

    @classmethod
    def document_problems(cls, doc: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
        raw_layers = doc.get("layers")
        layers = raw_layers if isinstance(raw_layers, list) else []
        ids = [raw.get("id") if isinstance(raw, Mapping) else None for raw in layers]
        return [(("layers", i, "id"), f"duplicate id '{lid}' (编号重复)") for i, lid in enumerate(ids)
                if lid is not None and lid in ids[:i]]


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
