"""The vertices of a layer's polygons, extracted once and handed from the reader to the analysis.

Reading a footprint layer (:func:`~sanxian_yidan.io.vector.read_vector`) gets every vertex to check
that the coordinates are finite and plausible — through Arrow, decoded with the geometries themselves
(:func:`~sanxian_yidan.io.wkb.decode`), otherwise extracted from them; normalising it for an analysis
(:func:`~sanxian_yidan.normalize.normalise_with_rings`) needs the same vertices for its validity check and
the roof orientation.  On a million footprints one extraction costs about a third of a second, so the reader
leaves its :class:`~sanxian_yidan.normalize.PolygonRings` here and the analysis takes them back (once: what
is taken is no longer held here).  The vertex array may be a view of an Arrow buffer it was decoded into
(read-only or not): it is never written to.  The cost: a polygon layer that is read but never normalised keeps its
vertices (16 bytes a vertex, about 80 MB for a million footprints) for as long as its frame lives.

What is handed on is tied to the geometry objects themselves, not to a frame: a copy of the frame (which
shares the geometries) finds them, while a frame whose geometries were replaced, reordered, filtered or
edited in place does not, and its vertices are extracted anew.  The remembered geometries are held
(so that no other geometry can take their place in memory) only while the frame the reader returned is alive.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any

import numpy as np

__all__ = ["remember", "take"]

#: id of the owning geometry array -> (the geometries, their identities, their rings).  The rings are a
#: :class:`~sanxian_yidan.normalize.PolygonRings`, typed ``Any`` here because normalize imports this module.
_remembered: dict[int, tuple[np.ndarray, np.ndarray, Any]] = {}


def _identities(geoms: np.ndarray) -> np.ndarray:
    """The identity of each object of an object array (its address), as unsigned integers.

    An object array stores one reference per element; reading them as integers compares a million
    geometries for identity in milliseconds, where ``==`` would call each geometry's ``__eq__``.
    """
    geoms = np.ascontiguousarray(geoms, dtype=object)
    if not geoms.size:
        return np.empty(0, dtype=np.uintp)
    raw = (ctypes.c_char * geoms.nbytes).from_address(geoms.ctypes.data)
    return np.frombuffer(memoryview(raw), dtype=np.uintp).copy()


def remember(owner: Any, geoms: np.ndarray, rings: Any) -> None:
    """Keep ``rings`` (the vertices of ``geoms``) for as long as ``owner`` (the frame's geometry array) lives.

    Parameters
    ----------
    owner : geopandas.array.GeometryArray
        The geometry array of the frame handed to the user; when it is garbage-collected, so is this entry.
    geoms : numpy.ndarray of shapely geometries
        The geometries ``rings`` were extracted from, row for row.
    rings : PolygonRings
    """
    key = id(owner)
    snapshot = np.array(geoms, dtype=object, copy=True)
    _remembered[key] = (snapshot, _identities(snapshot), rings)
    weakref.finalize(owner, _remembered.pop, key, None)


def take(geoms: np.ndarray) -> Any:
    """The rings remembered for exactly these geometry objects, in this order (forgotten here), or ``None``.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries

    Returns
    -------
    PolygonRings or None
    """
    if not _remembered:
        return None
    identities = None
    for key, (snapshot, known, rings) in list(_remembered.items()):
        if len(snapshot) != len(geoms):
            continue
        if identities is None:
            identities = _identities(geoms)
        if np.array_equal(known, identities):
            # pop: the owner's finalizer may have forgotten the entry meanwhile (a collected original frame)
            _remembered.pop(key, None)
            return rings
    return None
