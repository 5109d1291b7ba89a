"""Declared dependencies match the code: every third-party import is declared, nothing declared is dead,
and folium is pinned to the version whose assets folium-offline carries."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

from sanxian_yidan.datafiles import tomllib

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "sanxian_yidan"

#: Declared runtime dependencies that no module imports by name, and why they are declared.
NOT_IMPORTED = {
    "fiona": "part of the declared GIS stack; vector reading goes through pyogrio",
    "openpyxl": "pandas' engine for .xlsx coordinate tables (pd.read_excel)",
    "h5py": "pvlib's reader of its altitude grid (pvlib.location.lookup_altitude)",
    "mplfonts": "its CJK font file is read with importlib.resources, not imported",
    "tomli": "TOML reader on Python < 3.11 only",
    "pillow": "matplotlib's image I/O (and PNG encoding where a module imports PIL)",
    "python-multipart": "starlette's parser of multipart form uploads (sanxian serve)",
}


#: Optional extras whose packages the code may import (only behind a clear error when they are missing).
OPTIONAL_EXTRAS = ("dask",)  # sanxian_yidan.engine: --engine dask


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extras: tuple[str, ...] = ()) -> set[str]:
    doc = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = list(doc["project"]["dependencies"])
    for extra in extras:
        reqs += doc["project"]["optional-dependencies"][extra]
    return {_norm(re.match(r"[A-Za-z0-9_.\-]+", req).group(0)) for req in reqs}


def _imported_top_level() -> set[str]:
    names = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"sanxian_yidan", "tomli"}}


def test_every_third_party_import_is_declared():
    dists = md.packages_distributions()
    declared = _declared(OPTIONAL_EXTRAS)
    missing = {m: dists.get(m) for m in _imported_top_level()
               if not any(_norm(d) in declared for d in dists.get(m, [m]))}
    assert not missing, f"imported but not in [project] dependencies of pyproject.toml: {missing}"


def test_every_declared_dependency_is_used():
    dists = md.packages_distributions()
    used = {_norm(d) for m in _imported_top_level() for d in dists.get(m, [m])}
    unused = _declared(OPTIONAL_EXTRAS) - used - set(NOT_IMPORTED)
    assert not unused, f"declared but never imported (remove, or list in NOT_IMPORTED with the reason): {unused}"


def test_folium_offline_has_every_default_asset_of_folium():
    import folium
    from offlinefolium import elements

    urls = [url for _, url in folium.Map.default_js] + [url for _, url in folium.Map.default_css]
    assert len(urls) >= 5
    missing = [url for url in urls if url not in elements._res]
    assert not missing, f"folium {folium.__version__} loads assets folium-offline has no inline copy of: {missing}"
    assert folium.__version__.startswith("0.20.")
