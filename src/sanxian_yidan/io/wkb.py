"""Geometries of an Arrow well-known-binary (WKB) column, footprints decoded without a Python object each.

pyogrio's Arrow read hands a layer's geometries over as WKB; ``shapely.from_wkb`` needs them as a numpy
array of Python ``bytes`` first and then parses each record in GEOS.  A building footprint is a polygon
with one ring, whose WKB is a fixed 13-byte header (byte order, type, ring count, point count) followed by
the ring's coordinates: :func:`decode` reads those straight out of the Arrow buffers with numpy, builds
the polygons in one GEOS call (``shapely.from_ragged_array``) and returns their vertices with them, which
the reader checks and the analysis uses (:class:`~sanxian_yidan.normalize.PolygonRings`), so that no
later step extracts them again.  Everything else — holes, multipart, curves, Z or M, big-endian records,
empty or unclosed rings, missing geometries — goes through ``shapely.from_wkb`` as before: the geometries
are the same either way, coordinate for coordinate.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ..normalize import PolygonRings

__all__ = ["decode"]

#: Byte order (1 byte), geometry type, ring count and point count (4 bytes each): ISO/OGC WKB, Polygon.
_HEADER = 13
#: Bytes of one 2-D vertex (two float64).
_VERTEX = 16
#: A closed, non-empty ring has at least four vertices (GEOS refuses one to three).
_MIN_RING = 4
#: WKB geometry type of a 2-D Polygon; byte-order mark of little-endian (NDR) records.
_POLYGON, _NDR = 3, 1


def decode(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, PolygonRings | None]:
    """The geometries of a WKB column, and the vertices of its polygons when they are all single-ring.

    Parameters
    ----------
    column : pyarrow.Array or pyarrow.ChunkedArray
        ``binary`` or ``large_binary`` WKB (or an extension type stored as such, e.g. ``geoarrow.wkb``);
        nulls are missing geometries.

    Returns
    -------
    geoms : numpy.ndarray of shapely geometries (``None`` where missing)
        Equal, coordinate for coordinate, to ``shapely.from_wkb`` of the same values.
    rings : PolygonRings or None
        The vertices of every row, when every row was decoded here (a little-endian 2-D polygon with one
        closed ring: a footprint layer); ``None`` otherwise (the caller extracts what it needs from
        ``geoms``).

    Raises
    ------
    shapely.errors.GEOSException
        A record GEOS cannot read (as ``shapely.from_wkb`` raises).

    References
    ----------
    .. [1] OGC 06-103r4, Simple Feature Access — Part 1: Common Architecture, clause 8.2 (well-known binary).
    """
    parts = [_decode_chunk(_storage(chunk)) for chunk in _few_chunks(column)]
    geoms = np.concatenate([g for g, _ in parts]) if len(parts) != 1 else parts[0][0]
    vertex_sets = [v for _, v in parts if v is not None]
    if len(vertex_sets) < len(parts):
        return geoms, None
    coords = np.concatenate([c for c, _ in vertex_sets]) if len(vertex_sets) != 1 else vertex_sets[0][0]
    counts = np.concatenate([n for _, n in vertex_sets]) if vertex_sets else np.empty(0, dtype=np.int64)
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return geoms, PolygonRings(np.ones(len(counts), dtype=bool), coords, starts, counts, planar=True)


#: 32-bit Arrow offsets address at most this many bytes: chunks beyond it are decoded one by one.
_BINARY_LIMIT = 2**31 - 1


def _few_chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    """The column as one array where its offsets allow (one GEOS call, no concatenation), else its chunks."""
    if not isinstance(column, pa.ChunkedArray):
        return [column]
    if column.num_chunks == 0:
        return [pa.array([], type=pa.binary())]
    if column.num_chunks > 1 and column.nbytes < _BINARY_LIMIT:
        return [column.combine_chunks()]
    return list(column.chunks)


def _storage(chunk: pa.Array) -> pa.Array:
    return chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk


def _decode_chunk(arr: pa.Array) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """One chunk: (geometries, (vertices, vertex counts) when every row is a single-ring polygon)."""
    n = len(arr)
    rows, coords, counts = _single_ring_polygons(arr)
    if rows.size == n:
        return _polygons(coords, counts), (coords, counts)
    geoms = np.empty(n, dtype=object)
    if rows.size:
        geoms[rows] = _polygons(coords, counts)
    rest = np.ones(n, dtype=bool)
    rest[rows] = False
    geoms[rest] = shapely.from_wkb(arr.filter(pa.array(rest)).to_numpy(zero_copy_only=False))
    return geoms, None


def _polygons(coords: np.ndarray, counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if not len(counts):
        return np.empty(0, dtype=object)
    rings = np.arange(len(counts) + 1, dtype=np.int64)  # one ring per polygon
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (offsets, rings))


def _offsets(arr: pa.Array) -> np.ndarray:
    """The value offsets of a binary array (int64, ``len + 1``), whatever its offset width and slice."""
    width = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    raw = np.frombuffer(arr.buffers()[1], dtype=width)
    return raw[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)


def _values(arr: pa.Array) -> np.ndarray:
    """The bytes of every value of a binary array, one after the other."""
    offsets = _offsets(arr)
    data = arr.buffers()[2]
    if data is None:
        return np.empty(0, dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]


def _single_ring_polygons(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows that are little-endian 2-D polygons with one closed ring: (rows, their vertices, vertex counts)."""
    none = (np.empty(0, dtype=np.int64), np.empty((0, 2)), np.empty(0, dtype=np.int64))
    if sys.byteorder != "little" or not pa.types.is_binary(arr.type) and not pa.types.is_large_binary(arr.type):
        return none  # the coordinates are read as native float64: little-endian machines only
    lengths = np.diff(_offsets(arr))
    # A single-ring polygon's record is exactly the header and a whole number of vertices.
    candidate = (lengths >= _HEADER + _MIN_RING * _VERTEX) & ((lengths - _HEADER) % _VERTEX == 0)
    if arr.null_count:
        candidate &= arr.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(candidate)
    if not rows.size:
        return none
    sub = arr if rows.size == len(arr) else arr.filter(pa.array(candidate))
    heads = _values(pc.binary_slice(sub, 0, _HEADER)).reshape(-1, _HEADER)
    words = np.ascontiguousarray(heads[:, 1:]).view("<u4")  # type, rings, points
    counts = (lengths[rows] - _HEADER) // _VERTEX
    ok = (heads[:, 0] == _NDR) & (words[:, 0] == _POLYGON) & (words[:, 1] == 1) & (words[:, 2] == counts)
    if not ok.all():
        rows, counts, sub = rows[ok], counts[ok], sub.filter(pa.array(ok))
        if not rows.size:
            return none
    coords = _values(pc.binary_slice(sub, _HEADER, int(lengths.max()))).view("<f8").reshape(-1, 2)
    last = np.cumsum(counts) - 1
    # GEOS refuses an unclosed ring (and a NaN never equals itself): from_wkb gives those their error.
    closed = (coords[last - counts + 1] == coords[last]).all(axis=1)
    if not closed.all():
        coords = coords[np.repeat(closed, counts)]
        rows, counts = rows[closed], counts[closed]
    return rows, coords, counts
