"""Reading and writing the vector formats planners exchange (readers per format)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["read_vector", "read_boundary_txt", "write_boundary_txt", "read_dxf", "read_kml",
           "read_coordinate_table"]

# The module of each public name.
_READERS = {"read_vector": "vector", "read_boundary_txt": "boundary_txt", "write_boundary_txt": "boundary_txt",
            "read_dxf": "dxf", "read_kml": "kml", "read_coordinate_table": "coord_table"}


def __getattr__(name: str) -> Any:
    # Lazy so that importing one reader does not import every format's dependencies.
    if name in _READERS:
        return getattr(importlib.import_module(f"{__name__}.{_READERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
