"""Provenance: manifests of inputs, versions and parameters, and the synthetic layers behind a result.

A planner must be able to show, months later, exactly what a figure in a
review-meeting report was computed from.  The manifest lists every input
file with its size and SHA-256, the versions of the toolkit and of the
libraries that shaped the numbers, the parameters and data files in force,
and every output with its SHA-256.  Timestamps are kept in one field so that
two runs can be compared byte for byte apart from it.

:class:`TrackedCatalog` and :func:`synthetic_layers_of` follow every layer that influenced a
number (exclusion layers, townships, substations, the DEM, ...), not only the main input file,
so that a result computed on real buildings with synthetic sample zoning is still marked synthetic.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from .catalog import Catalog

#: Distributions whose versions can change results; listed in every manifest.
TRACKED_PACKAGES = ("sanxian_yidan", "geopandas", "shapely", "pyogrio", "pyproj", "rasterio", "numpy",
                    "pandas", "pvlib", "folium", "matplotlib", "scipy")


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (``"not installed"`` where absent)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def display_path(path: str | Path | None, relative_to: Path | None = None) -> str:
    """How a file is named in outputs: never an absolute path of the machine that ran the analysis.

    A packaged data file is shown as ``sanxian_yidan/data/<name>``; a file inside ``relative_to`` (or,
    without it, the current folder) by its relative path; any other file by its name alone (its
    SHA-256 in the manifest identifies it).  ``None`` and non-path text are returned as given.

    Parameters
    ----------
    path : str or Path or None
        The file.
    relative_to : Path, optional
        Folder the outputs refer to (e.g. the study's folder).
    """
    if path is None:
        return ""
    text = str(path)
    p = Path(text)
    if not p.is_absolute():
        return text.replace("\\", "/")
    package = Path(__file__).resolve().parent
    resolved = p.resolve()
    for base in (relative_to, Path.cwd()):
        if base is not None and resolved.is_relative_to(Path(base).resolve()):
            return resolved.relative_to(Path(base).resolve()).as_posix()
    if resolved.is_relative_to(package):
        return "sanxian_yidan/" + resolved.relative_to(package).as_posix()
    return p.name


def file_record(path: str | Path, *, relative_to: Path | None = None) -> dict[str, Any]:
    """Name (see :func:`display_path`), size [bytes] and SHA-256 of one file."""
    path = Path(path)
    return {"path": display_path(path, relative_to), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def build_manifest(*, inputs: Iterable[Path], outputs: Iterable[Path], parameters: dict[str, Any],
                   data_files: Iterable[Path] = (), data_records: Mapping[str, str] | None = None,
                   provenance: Mapping[str, Any] | None = None, base: Path | None = None,
                   created: datetime | None = None) -> dict[str, Any]:
    """Assemble a provenance manifest.

    Parameters
    ----------
    inputs : iterable of Path
        Input files (layers, project files, study file).
    outputs : iterable of Path
        Files written by the run (the manifest itself excluded).
    parameters : dict
        Parameters in force (JSON-serialisable).
    data_files : iterable of Path
        Rule, factor and parameter files used (packaged or the user's), recorded with size and SHA-256.
    data_records : mapping, optional
        More data files as name -> SHA-256 (``Provenance.data_files`` of the results), recorded by name and hash.
    provenance : mapping, optional
        :class:`~sanxian_yidan.analysis.Provenance` per analysis: its layers (with their synthetic flag),
        parameters with sources and data files go under ``analyses``.
    base : Path, optional
        Paths are shown relative to this folder where possible.
    created : datetime, optional
        Run time (UTC now by default); the only field that differs between identical runs.
    """
    created = created or datetime.now(timezone.utc)
    unique = lambda paths: sorted({Path(p).resolve() for p in paths})  # noqa: E731 - local helper
    files = [file_record(p, relative_to=base) for p in unique(data_files)]
    listed = {f["path"] for f in files}
    files += [{"path": name, "sha256": sha} for name, sha in sorted((data_records or {}).items()) if name not in listed]
    manifest = {
        "created_utc": created.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": package_versions(),
        "parameters": parameters,
        "inputs": [file_record(p, relative_to=base) for p in unique(inputs)],
        "data_files": sorted(files, key=lambda f: f["path"]),
        "outputs": [file_record(p, relative_to=base) for p in unique(outputs)],
    }
    if provenance:
        manifest["analyses"] = {name: record.as_dict() for name, record in provenance.items()}
    return manifest


def write_manifest(manifest: dict[str, Any], path: str | Path) -> Path:
    """Write ``manifest`` as indented UTF-8 JSON with sorted keys and return the path."""
    path = Path(path)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# Synthetic-data provenance: which synthetic layers influenced a result
# ------------------------------------------------------------------------------------------------
def truthy_flags(values: Any) -> Any:
    """Boolean array from a ``synthetic`` column (bool, 0/1 or text such as "true"/"是"), vectorised.

    Parameters
    ----------
    values : array-like
        The column's values: booleans, numbers (non-zero is true) or text; text is true when it
        is one of ``true``, ``1``, ``yes``, ``y``, ``t``, ``是`` (any case, surrounding spaces
        ignored), so ``"否"``, ``"false"`` or ``"0"`` read as false.  Missing values are false.

    Returns
    -------
    numpy.ndarray of bool
    """
    import pandas as pd

    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return (s.fillna(0).to_numpy() != 0)
    text = s.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "yes", "y", "t", "是"]).fillna(False).to_numpy(dtype=bool)


#: The former private name of :func:`truthy_flags`, kept so that code written against it still runs.
_truthy_flags = truthy_flags


def synthetic_layers_of(frame: pd.DataFrame | None, name: str) -> list[str]:
    """Ids of the synthetic layers a frame comes from (empty when it is real data).

    A frame is synthetic when its ``attrs["sanxian"]["synthetic"]`` says so (set by the catalog
    and by :func:`sanxian_yidan.read_vector` callers) or when any feature has a true ``synthetic``
    attribute.  The ids are the frame's ``layer_id`` values of the flagged features, else the
    layers named in its attrs, else ``name``.

    Parameters
    ----------
    frame : GeoDataFrame or None
        A layer used by an analysis (``None`` gives an empty list).
    name : str
        What to call the layer when it carries no id (e.g. ``"buildings"``, an exclusion name).
    """
    if frame is None:
        return []
    meta = frame.attrs.get("sanxian", {}) if hasattr(frame, "attrs") else {}
    ids: set[str] = set()
    if "synthetic" in getattr(frame, "columns", ()) and len(frame):
        flags = truthy_flags(frame["synthetic"].to_numpy())
        if flags.any():
            if "layer_id" in frame.columns:
                ids |= {str(v) for v in frame["layer_id"].to_numpy()[flags]}
            else:
                ids.add(name)
    if meta.get("synthetic") and not ids:
        ids |= {str(v) for v in (meta.get("layers") or [name])}
    return sorted(ids)


class TrackedCatalog:
    """A catalog that records every layer an analysis reads from it (for provenance).

    Delegates everything to the wrapped :class:`~sanxian_yidan.catalog.Catalog`; :meth:`read` and
    :meth:`raster_path` also note the entries they served, so that the analysis can say which
    synthetic layers influenced its numbers — not merely whether its main input was synthetic.
    A layer read counts even when none of its features ended up near a site: "no red line here"
    is a conclusion drawn from that layer too.

    Examples
    --------
    >>> ctx = TrackedCatalog(cat)                    # doctest: +SKIP
    >>> units = ctx.read("eco_redline")              # doctest: +SKIP
    >>> ctx.synthetic_layers()                        # doctest: +SKIP
    ['eco_redline']
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._used: dict[str, bool] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)

    @property
    def catalog(self) -> Catalog:
        """The wrapped catalog."""
        return self._catalog

    def _record(self, role_or_id: str, frame: pd.DataFrame | None = None) -> None:
        flagged = set(synthetic_layers_of(frame, role_or_id))        # none without a frame
        self.merge_used({e.id: bool(e.synthetic) or e.id in flagged for e in self._catalog.entries_for(role_or_id)})

    def read(self, role_or_id: str) -> gpd.GeoDataFrame:
        """Read a layer through the catalog and record it (see :meth:`Catalog.read`)."""
        frame = self._catalog.read(role_or_id)
        self._record(role_or_id, frame)
        return frame

    def raster_path(self, role_or_id: str = "dem") -> Path:
        """Path of a raster layer, recorded as used (see :meth:`Catalog.raster_path`)."""
        path = self._catalog.raster_path(role_or_id)
        self._record(role_or_id)
        return path

    def unrestricted(self) -> TrackedCatalog:
        """The whole catalog of a region view, recording into the same list (see :meth:`Catalog.unrestricted`)."""
        whole = TrackedCatalog(self._catalog.unrestricted())
        whole._used = self._used
        return whole

    def coverage(self) -> Any:
        """The catalog's coverage (see :meth:`Catalog.coverage`), its admin_boundary layer recorded as used."""
        from .catalog import Catalog

        return Catalog.coverage(self)  # type: ignore[arg-type]  # reads through this wrapper, so it is recorded

    @property
    def used(self) -> dict[str, bool]:
        """The layers read so far: ``{layer id: synthetic}`` (a copy)."""
        return dict(self._used)

    def merge_used(self, used: dict[str, bool]) -> None:
        """Add the layers another tracker read (e.g. on a Dask worker, its :attr:`used`): a layer is
        synthetic when either tracker saw it synthetic."""
        for layer_id, synthetic in used.items():
            self._used[layer_id] = self._used.get(layer_id, False) or bool(synthetic)

    def used_layers(self) -> list[str]:
        """Ids of every layer read so far, sorted."""
        return sorted(self._used)

    def synthetic_layers(self) -> list[str]:
        """Ids of the synthetic layers read so far, sorted."""
        return sorted(k for k, v in self._used.items() if v)


#: What an analysis step reads layers from: a :class:`~sanxian_yidan.catalog.Catalog`, or the
#: :class:`TrackedCatalog` that records the layers it serves (for annotations; both answer ``read``,
#: ``raster_path``, ``entries_for``, ``coverage``, ...).
CatalogLike: TypeAlias = "Catalog | TrackedCatalog"


def data_file_name(path: str | Path) -> str:
    """How a data file is named in provenance: ``sanxian_yidan/data/<name>`` for a packaged file wherever
    the package is installed, else :func:`display_path` (never an absolute path)."""
    package_data = Path(__file__).resolve().parent / "data"
    resolved = Path(path).resolve()
    if resolved.is_relative_to(package_data):
        return f"sanxian_yidan/data/{resolved.relative_to(package_data).as_posix()}"
    return display_path(path)


def data_file_hashes(paths: Iterable[str | Path]) -> dict[str, str]:
    """Display name (:func:`data_file_name`) -> SHA-256 of each data file that exists, in the given order.

    Package files may be given by their name under ``sanxian_yidan/data`` (``"brownfield.toml"``,
    ``"columns/mines.toml"``); user files by their path.
    """
    package_data = Path(__file__).resolve().parent / "data"
    out: dict[str, str] = {}
    for item in paths:
        path = Path(item)
        if not path.is_absolute() and not path.is_file() and (package_data / path).is_file():
            path = package_data / path
        if path.is_file():
            out[data_file_name(path)] = sha256_file(path)
    return out
