"""The lowest layer of data-file handling: where the packaged files are and the TOML parser.

:mod:`sanxian_yidan.datafiles` (which reads every data file through the input-safety guards)
re-exports these names and is what the rest of the toolkit imports.  They live here so that the
guards themselves (:func:`sanxian_yidan.io.safety.limits`, which reads ``data/input_limits.toml``)
can use them without importing the loader that depends on the guards.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["packaged_path", "tomllib"]


def packaged_path(name: str) -> Path:
    """Return the path of a data file shipped in ``sanxian_yidan/data``.

    Parameters
    ----------
    name : str
        File name, e.g. ``"crs.toml"``.
    """
    return Path(str(resources.files("sanxian_yidan") / "data" / name))
