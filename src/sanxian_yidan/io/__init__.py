"""Reading and writing the vector formats planners exchange (readers per format)."""

from __future__ import annotations

from typing import Any

__all__ = ["read_vector", "read_boundary_txt", "write_boundary_txt"]


def __getattr__(name: str) -> Any:
    # Lazy so that importing one reader does not import every format's dependencies.
    if name == "read_vector":
        from .vector import read_vector
        return read_vector
    if name in ("read_boundary_txt", "write_boundary_txt"):
        from . import boundary_txt
        return getattr(boundary_txt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
