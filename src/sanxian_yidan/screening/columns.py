"""Result columns joined from per-rule and per-role parts, with the dtypes pandas itself would give them.

The finding, overlap and distance tables are made of parts — one per rule and kind of finding, one per
role.  Building a small DataFrame per part and joining them with ``pd.concat`` costs more than the geometry
of a single project's screening (``benchmarks/serve.py``), so the parts are kept as numpy arrays and each
table is built once.  The tables keep the dtypes that the frames-and-concat construction gave them, which
pandas (>= 3) decides by two rules reproduced here:

* a part built from Python values is *inferred*: texts (with missing values) become the ``str`` dtype with
  NaN for missing, floats (with None) ``float64`` with NaN, booleans ``bool``, only None ``object``;
* joining parts of one dtype keeps it; joining parts of different dtypes gives ``object``, each value as
  ``astype(object)`` gives it (a missing text stays NaN, a None stays None).

Values this module does not recognise are inferred by pandas itself (:func:`infer`), so the rules above are
a shortcut, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from geopandas.array import from_shapely

__all__ = ["TEXT_DTYPE", "Part", "column", "empty", "frame", "geoframe", "infer", "join", "part_of", "take"]

#: The dtype pandas infers for Python texts (``str``, NaN for missing; the default string storage).
TEXT_DTYPE = pd.Series(["text"]).dtype
#: Kinds of part: the dtype pandas gives the part's values.
_NUMPY_KINDS = {"f": "float", "i": "int", "u": "int", "b": "bool"}


@dataclass(frozen=True)
class Part:
    """One part of a column: ``kind`` is the dtype pandas gives it (``"float"``, ``"int"``, ``"bool"``,
    ``"text"`` or ``"object"``); ``values`` hold it as numpy (texts as objects, NaN for missing)."""

    kind: str
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)


def part_of(values: np.ndarray) -> Part:
    """The part of a numpy array of numbers or booleans (kept as they are), or of objects (inferred)."""
    kind = _NUMPY_KINDS.get(values.dtype.kind)
    if kind is not None:
        return Part(kind, values)
    return infer(values)


def infer(values: Sequence[Any] | np.ndarray) -> Part:
    """The part pandas' constructor makes of Python ``values`` (``pd.Series(values)``, pandas >= 3)."""
    types = set(map(type, values))
    n = len(values)
    if n and types <= {str, type(None)} and str in types:
        arr = np.empty(n, dtype=object)
        arr[:] = [np.nan if v is None else v for v in values] if type(None) in types else values
        return Part("text", arr)
    if not types or types == {type(None)}:
        arr = np.empty(n, dtype=object)
        arr[:] = values
        return Part("object", arr)
    if types <= {float, type(None)}:
        return Part("float", np.array([np.nan if v is None else v for v in values], dtype=float))
    if types == {bool}:
        return Part("bool", np.array(values, dtype=bool))
    series = pd.Series(values if isinstance(values, np.ndarray) else list(values))   # anything else: pandas
    if series.dtype == TEXT_DTYPE:
        return Part("text", series.to_numpy(dtype=object))
    kind = _NUMPY_KINDS.get(series.dtype.kind, "object") if isinstance(series.dtype, np.dtype) else "object"
    if kind == "object":
        return Part("object", series.to_numpy(dtype=object))
    return Part(kind, series.to_numpy())


def join(parts: Sequence[Part]) -> Part:
    """The parts one after the other, in the dtype ``pd.concat`` of their frames would give."""
    if not parts:
        return Part("object", np.empty(0, dtype=object))
    kinds = {p.kind for p in parts}
    if len(parts) == 1:
        return parts[0]
    if len(kinds) == 1:
        return Part(parts[0].kind, np.concatenate([p.values for p in parts]))
    return Part("object", np.concatenate([p.values.astype(object) for p in parts]))


def take(part: Part, order: np.ndarray) -> Part:
    """The rows ``order`` of a part."""
    return Part(part.kind, part.values[order])


def column(part: Part) -> Any:
    """A part as a frame column of its dtype (text as ``str``, other objects kept as objects)."""
    if part.kind == "text":
        return pd.array(part.values, dtype=TEXT_DTYPE)
    if part.kind == "object":
        return pd.Series(part.values, dtype=object, copy=False)
    return part.values


def frame(columns: Mapping[str, Part | Any]) -> pd.DataFrame:
    """A DataFrame of parts (and ready columns), in the order given, with a range index."""
    return pd.DataFrame({name: column(c) if isinstance(c, Part) else c for name, c in columns.items()})


def empty(names: Sequence[str]) -> pd.DataFrame:
    """A table without rows whose columns ``names`` are all of dtype ``object``."""
    return pd.DataFrame(np.empty((0, len(names)), dtype=object), columns=list(names))


def geoframe(columns: Mapping[str, Part | Any], geoms: np.ndarray, crs: Any) -> gpd.GeoDataFrame:
    """A GeoDataFrame of parts (and ready columns) and the shapely geometries ``geoms`` (column ``geometry``,
    last).  Built from one dict: setting the geometry on a frame afterwards costs several times more."""
    data = {name: column(c) if isinstance(c, Part) else c for name, c in columns.items()}
    data["geometry"] = from_shapely(geoms, crs=crs)
    return gpd.GeoDataFrame(data, geometry="geometry", crs=crs)
