"""CAD red-line drawings (红线图) in DXF: closed polylines of one layer → polygons, holes by nesting.

Design institutes hand red lines over as AutoCAD drawings.  The boundary is a
closed LWPOLYLINE or 2-D POLYLINE on a layer such as ``红线`` next to roads,
labels and frames on other layers; arcs are stored as *bulges*.  This reader

* reads model space with ``ezdxf`` (the text encoding comes from the file:
  UTF-8 from AutoCAD 2007 on, ``$DWGCODEPAGE`` such as ANSI_936 = GBK before,
  overruled by the bytes when it names a Western code page over Chinese text),
  block references (INSERT) expanded into world coordinates;
* matches the layer name without regard to case, as CAD does;
* keeps closed polylines (closed flag, or last vertex on the first within
  ``closure_tolerance_m``) of the chosen layer, replacing each arc by chords
  whose sagitta is at most ``bulge_sagitta_m`` (``data/io_formats.toml``);
* builds polygons by nesting: a ring inside an odd number of other rings is a
  hole of the smallest ring containing it (even-odd rule, as CAD hatching);
* leaves the CRS unknown: drawings carry none, and the caller
  (:func:`~sanxian_yidan.io.vector.read_vector`) states or infers it like for
  every other input.

DWG (the binary AutoCAD format) cannot be read without proprietary
libraries; it is refused with the fix (save as DXF).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from ..errors import EmptyLayerError, InputFileError, problem
from .encoding import detect_bytes_encoding
from .formats_settings import format_settings
from .rings import nest_rings
from .safety import check_input_file

#: First bytes of a DWG file ("AC10xx" version tag).
_DWG_MAGIC = b"AC10"


def refuse_dwg(path: Path) -> None:
    """Raise the error for a DWG file: the fix is to save it as DXF.

    Raises
    ------
    InputFileError
        Always.
    """
    raise InputFileError(problem(
        "不支持 DWG 格式（AutoCAD 专有二进制格式）。",
        "DWG (AutoCAD's proprietary binary format) cannot be read.", file=path,
        fix="open the drawing in AutoCAD / 中望CAD / 浩辰CAD and use 另存为 (Save As) → 'AutoCAD DXF (*.dxf)', "
            "or convert it with the free ODA File Converter; then read the .dxf and choose the red-line layer "
            "with --layer (layer= in Python)"))


def is_dwg(path: Path) -> bool:
    """True for a ``.dwg`` file or a file starting with the DWG version tag."""
    if path.suffix.lower() == ".dwg":
        return True
    with path.open("rb") as fh:
        return fh.read(4) == _DWG_MAGIC


def read_dxf(path: str | Path, *, layer: str | None = None, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read the closed polylines of one DXF layer as polygons (CRS not set).

    Parameters
    ----------
    path : str or Path
        DXF file (ASCII or binary, any AutoCAD version ezdxf reads).
    layer : str, optional
        Layer holding the red lines.  Required when closed polylines lie on
        more than one layer (the error lists them with their counts).
    encoding : str, optional
        Text encoding of a drawing older than AutoCAD 2007.  By default the
        ``$DWGCODEPAGE`` of the file; when that names a Western code page
        (e.g. ANSI_1252, as some converters write) but the text is not
        ASCII, the bytes decide between UTF-8 and GBK (with a warning).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per polygon (a shell with the holes nested in it), columns
        ``layer``, ``handle`` (the shell's DXF entity handle), ``dxf_type``,
        ``holes`` (number of holes); CRS ``None``.  ``attrs["sanxian"]`` holds
        ``format``, ``encoding``, ``layer``, ``dxf_version``, ``insunits``,
        ``bulge_sagitta_m`` and ``warnings`` (open polylines skipped, arcs
        approximated).

    Raises
    ------
    InputFileError
        Not a DXF file, damaged, a DWG, several candidate layers and no
        ``layer``, or an unknown layer.
    EmptyLayerError
        No closed polyline on the layer.

    References
    ----------
    .. [1] Autodesk, AutoCAD 2012 DXF Reference (LWPOLYLINE group code 42 bulge = tan(θ/4)).
    .. [2] TD/T 1001-2012 地籍调查规程 (boundary point accuracy behind ``bulge_sagitta_m``).
    """
    import ezdxf

    path = check_input_file(path, what="drawing")  # no folder, pipe, device or empty file
    if is_dwg(path):
        refuse_dwg(path)
    settings = format_settings().dxf
    notes: list[str] = []
    encoding = _text_encoding(path, notes) if encoding is None else encoding
    try:
        doc = ezdxf.readfile(path, encoding=encoding) if encoding else ezdxf.readfile(path)
    except (OSError, ezdxf.DXFError) as exc:
        raise InputFileError(problem("无法读取该 DXF 文件（格式错误或文件损坏）。", f"Cannot read the DXF file: {exc}",
                                     file=path, fix="open it in CAD and save it again as DXF (R2000 or later)")) \
            from exc
    wanted = set(settings.entity_types)
    entities = [e for e in _model_entities(doc.modelspace()) if e.dxftype() in wanted
                and not (e.dxftype() == "POLYLINE" and not e.is_2d_polyline)]
    rings: list[np.ndarray] = []
    meta: list[tuple[str, str, str]] = []
    open_handles: list[str] = []
    arcs = 0
    for entity in entities:
        name = _decoded(entity.dxf.layer)
        if layer is not None and name.casefold() != layer.casefold():  # CAD layer names ignore case
            continue
        xyb = _vertices(entity)
        flagged = bool(entity.closed if entity.dxftype() == "LWPOLYLINE" else entity.is_closed)
        closed = len(xyb) >= 3 and (
            flagged or float(np.hypot(*(xyb[0, :2] - xyb[-1, :2]))) <= settings.closure_tolerance_m)
        handle = str(entity.dxf.get("handle") or getattr(entity, "_insert_handle", ""))
        if not closed:
            open_handles.append(handle)
            continue
        arcs += int(xyb[:, 2].any())
        rings.append(flatten_bulges(xyb, closed=flagged, sagitta=settings.bulge_sagitta_m))
        meta.append((name, handle, entity.dxftype()))
    by_layer = Counter(m[0] for m in meta)  # closed polylines per layer, in drawing order
    all_layers = sorted({_decoded(e.dxf.layer) for e in _model_entities(doc.modelspace())})
    if layer is not None and layer.casefold() not in {n.casefold() for n in all_layers}:
        raise InputFileError(problem(f"DXF 中没有图层 '{layer}'。", f"Layer '{layer}' is not in the drawing; layers: "
                                     f"{all_layers}.", file=path, fix=f"use one of {all_layers}"))
    if layer is None and len(by_layer) > 1:
        counts = ", ".join(f"'{k}' ({v})" for k, v in sorted(by_layer.items()))
        raise InputFileError(problem(
            "DXF 中多个图层有闭合多段线，请指定红线所在图层。",
            f"Closed polylines lie on {len(by_layer)} layers (count): {counts}.", file=path,
            fix=f"choose the red-line layer: --layer <name> on the command line, layer='<name>' in Python "
                f"(e.g. --layer {sorted(by_layer)[0]})"))
    if not rings:
        raise EmptyLayerError(problem(
            "DXF 中没有闭合多段线（红线）。",
            f"No closed LWPOLYLINE/POLYLINE{' on this layer' if layer else ''}"
            f"{f'; {len(open_handles)} open polyline(s) skipped' if open_handles else ''}.", file=path, layer=layer,
            fix="close the red line in CAD (PEDIT → Close, or the Closed property) and save again; "
                f"layers in the drawing: {all_layers}"))
    polygons, shells, holes = nest_rings(rings)
    frame = gpd.GeoDataFrame([(*meta[i], n) for i, n in zip(shells, holes)],
                             columns=["layer", "handle", "dxf_type", "holes"], geometry=polygons, crs=None)
    if open_handles:
        shown = ", ".join(open_handles[:10]) + (" …" if len(open_handles) > 10 else "")
        notes.append(f"{len(open_handles)} open polyline(s) skipped (not closed; handles {shown}) / "
                     f"{len(open_handles)} 条未闭合多段线已忽略")
    if arcs:
        notes.append(f"{arcs} polyline(s) contain arcs (bulges), replaced by chords with sagitta at most "
                     f"{settings.bulge_sagitta_m} m / 含圆弧的多段线已按弦高不大于 {settings.bulge_sagitta_m} m 折线化")
    frame.attrs["sanxian"] = {
        # from AutoCAD 2007 (AC1021) on, DXF text is UTF-8 whatever $DWGCODEPAGE says
        "format": "dxf", "encoding": "utf-8" if doc.dxfversion >= "AC1021" else doc.encoding,
        "layer": layer or next(iter(by_layer)),
        "dxf_version": doc.dxfversion, "insunits": int(doc.header.get("$INSUNITS", 0)),
        "bulge_sagitta_m": settings.bulge_sagitta_m, "warnings": notes,
    }
    return frame


#: Code pages of East Asian text: a drawing that names one is read as it says.
_CJK_CODEPAGES = {"ANSI_936", "ANSI_950", "ANSI_932", "ANSI_949", "ANSI_1361"}
_HEADER = re.compile(rb"\$(ACADVER|DWGCODEPAGE)\s*\r?\n\s*\d+\s*\r?\n\s*([^\r\n]*)")


def _text_encoding(path: Path, notes: list[str]) -> str | None:
    """An encoding to override a wrong ``$DWGCODEPAGE`` with, or None to trust the file."""
    data = path.read_bytes()
    header = {m.group(1).decode(): m.group(2).strip().decode("ascii", "replace")
              for m in _HEADER.finditer(data[:20000])}
    version, codepage = header.get("ACADVER", ""), header.get("DWGCODEPAGE", "").upper()
    if data.startswith(b"AutoCAD Binary DXF") or version >= "AC1021" or data.isascii() \
            or codepage in _CJK_CODEPAGES:
        return None
    try:
        guess = detect_bytes_encoding(data, file=path)
    except InputFileError:
        return None  # neither UTF-8 nor GBK: leave it to the code page
    notes.append(f"the drawing declares code page {codepage or '(none)'} but its text is {guess.reason}; read as "
                 f"{guess.encoding} (pass encoding= to override) / 图纸声明代码页 {codepage or '无'}，但文字为 "
                 f"{guess.encoding}，已按 {guess.encoding} 读取")
    return guess.encoding


#: Block references nested deeper than this are not expanded (guards against self-referencing blocks).
_MAX_BLOCK_DEPTH = 8


def _model_entities(space: Any, depth: int = 0, insert_layer: str | None = None,
                    insert_handle: str | None = None) -> Any:
    """Entities of model space with block references (INSERT) expanded into world coordinates.

    An entity of a block on layer ``0`` takes the layer of the block reference, as AutoCAD draws it.
    """
    for entity in space:
        if insert_layer is not None:
            if entity.dxf.get("layer", "0") == "0":
                entity.dxf.layer = insert_layer
            entity._insert_handle = insert_handle  # virtual entities have no handle of their own
        if entity.dxftype() == "INSERT":
            if depth >= _MAX_BLOCK_DEPTH:
                continue
            try:
                children = list(entity.virtual_entities())
            except Exception:  # noqa: BLE001 - a block ezdxf cannot explode (e.g. non-uniform scale on arcs)
                continue
            yield from _model_entities(children, depth + 1, entity.dxf.layer,
                                       insert_handle or str(entity.dxf.handle))
        else:
            yield entity


def _vertices(entity: Any) -> np.ndarray:
    """``(x, y, bulge)`` rows of an LWPOLYLINE or 2-D POLYLINE (OCS = WCS for drawings in the XY plane)."""
    if entity.dxftype() == "LWPOLYLINE":
        return np.array([(x, y, b) for x, y, b in entity.get_points("xyb")], dtype=float).reshape(-1, 3)
    return np.array([(v.dxf.location.x, v.dxf.location.y, v.dxf.bulge) for v in entity.vertices],
                    dtype=float).reshape(-1, 3)


def flatten_bulges(xyb: np.ndarray, *, closed: bool, sagitta: float) -> np.ndarray:
    """Replace the arcs of a polyline by chords on the true circle.

    Parameters
    ----------
    xyb : numpy.ndarray
        ``(n, 3)`` vertices ``x, y, bulge``; the bulge of vertex i belongs
        to the segment from vertex i to vertex i+1 (to vertex 0 for the
        closing segment of a closed polyline).
    closed : bool
        Whether the polyline has the closing segment.
    sagitta : float
        Largest distance allowed between an arc and its chords [drawing units].

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` vertices; every inserted vertex lies exactly on the arc,
        and each arc of radius r and angle θ gets the fewest chords N with
        ``r * (1 - cos(θ / (2 N))) <= sagitta``.

    References
    ----------
    .. [1] Autodesk, AutoCAD DXF Reference, LWPOLYLINE group code 42: bulge = tan(θ/4), negative for
       a clockwise arc.
    """
    n = len(xyb)
    segments = n if closed else n - 1
    out: list[np.ndarray] = []
    for i in range(segments):
        p0, p1, bulge = xyb[i, :2], xyb[(i + 1) % n, :2], xyb[i, 2]
        out.append(p0[None, :])
        chord = float(np.hypot(*(p1 - p0)))
        if bulge == 0 or chord == 0:
            continue
        theta = 4.0 * np.arctan(bulge)  # signed included angle, counter-clockwise positive
        radius = chord / (2.0 * abs(np.sin(theta / 2.0)))
        left = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / chord
        centre = (p0 + p1) / 2.0 + left * (chord / 2.0) * (1.0 - bulge * bulge) / (2.0 * bulge)
        step = 2.0 * np.arccos(max(-1.0, 1.0 - sagitta / radius))
        count = max(1, int(np.ceil(abs(theta) / step))) if step > 0 else 1
        start = np.arctan2(*(p0 - centre)[::-1])
        angles = start + theta * np.arange(1, count) / count
        out.append(centre + radius * np.column_stack([np.cos(angles), np.sin(angles)]))
    if not closed:
        out.append(xyb[-1:, :2])
    return np.vstack(out)


def _decoded(name: Any) -> str:
    """Layer name with AutoCAD's ``\\U+XXXX`` escapes decoded (written for characters outside the code page)."""
    from ezdxf.lldxf.encoding import decode_dxf_unicode, has_dxf_unicode

    text = str(name)
    return decode_dxf_unicode(text) if has_dxf_unicode(text) else text
