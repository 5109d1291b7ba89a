"""Provenance manifests: which inputs, code versions and parameters produced a set of outputs.

A planner must be able to show, months later, exactly what a figure in a
review-meeting report was computed from.  The manifest lists every input
file with its size and SHA-256, the versions of the toolkit and of the
libraries that shaped the numbers, the parameters and data files in force,
and every output with its SHA-256.  Timestamps are kept in one field so that
two runs can be compared byte for byte apart from it.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

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


def file_record(path: str | Path, *, relative_to: Path | None = None) -> dict[str, Any]:
    """Name, size [bytes] and SHA-256 of one file."""
    path = Path(path)
    name = str(path.relative_to(relative_to)) if relative_to and path.is_relative_to(relative_to) else str(path)
    return {"path": name.replace("\\", "/"), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def build_manifest(*, inputs: Iterable[Path], outputs: Iterable[Path], parameters: dict[str, Any],
                   data_files: Iterable[Path] = (), base: Path | None = None,
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
        Rule, factor and parameter files used (packaged or the user's).
    base : Path, optional
        Paths are shown relative to this folder where possible.
    created : datetime, optional
        Run time (UTC now by default); the only field that differs between identical runs.
    """
    created = created or datetime.now(timezone.utc)
    unique = lambda paths: sorted({Path(p).resolve() for p in paths})  # noqa: E731 - local helper
    return {
        "created_utc": created.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": package_versions(),
        "parameters": parameters,
        "inputs": [file_record(p, relative_to=base) for p in unique(inputs)],
        "data_files": [file_record(p, relative_to=base) for p in unique(data_files)],
        "outputs": [file_record(p, relative_to=base) for p in unique(outputs)],
    }


def write_manifest(manifest: dict[str, Any], path: str | Path) -> Path:
    """Write ``manifest`` as indented UTF-8 JSON with sorted keys and return the path."""
    path = Path(path)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")
    return path
