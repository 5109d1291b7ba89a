"""KML and KMZ from field apps (奥维互动地图, Google Earth, 两步路…): every placemark, with its folder path.

GDAL's KML drivers turn each folder into a separate layer and the LIBKML
driver needs the layer named, while a field-app export is one survey with
placemarks in nested folders (``项目/一期/红线``).  This reader flattens them
into one table with a ``folder`` column; ``layer=`` selects a folder (its full
path ``项目/一期`` or its own name ``一期``, subfolders included).

The XML is parsed with the standard library after refusing any document type
declaration, so no entity (internal or external) is ever expanded.

KML coordinates are WGS84 longitude/latitude by the OGC standard.  Apps that
draw on Amap or Tencent maps may export GCJ-02 instead, and the numbers do
not tell (they differ by 600 m around Suizhou): the user states it
(``--crs GCJ-02``); the reader never guesses.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import shapely

from ..errors import EmptyLayerError, InputFileError, problem
from .encoding import decode_or_none
from .formats_settings import format_settings
from .safety import check_input_file

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _as_utf8(data: bytes) -> bytes:
    """The document re-encoded as UTF-8 when it is UTF-16 (so the DTD check sees its markup), else as is."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"<\x00?\x00", b"\x00<\x00?")
    text = decode_or_none(data, "utf-16") if utf16 else None
    return data if text is None else text.encode("utf-8")


def _local(tag: str) -> str:
    """Tag name without its namespace (KML 2.0/2.1/2.2 and gx: are all accepted)."""
    return tag.rsplit("}", 1)[-1]


def read_kml_bytes(path: Path) -> bytes:
    """The KML document of a .kml file or a .kmz archive (its ``doc.kml``, else its first .kml member).

    Raises
    ------
    InputFileError
        A damaged archive, no KML inside, or a member larger than ``kml.max_kml_bytes``.
    """
    limit = format_settings().kml.max_kml_bytes
    if not zipfile.is_zipfile(path):
        if path.stat().st_size > limit:
            raise InputFileError(problem("KML 文件过大。", f"The KML file is larger than {limit} bytes.", file=path,
                                         fix="split the export, or raise kml.max_kml_bytes in a copy of the settings"))
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if i.filename.lower().endswith(".kml")]
            if not members:
                raise InputFileError(problem("KMZ 压缩包中没有 KML 文件。", "The KMZ archive contains no .kml file.",
                                             file=path, fix="export the data again as KML or KMZ"))
            member = next((i for i in members if i.filename.lower() == "doc.kml"), members[0])
            if member.file_size > limit:
                raise InputFileError(problem("KMZ 中的 KML 过大。", f"{member.filename} unpacks to {member.file_size} "
                                             f"bytes (limit {limit}).", file=path, fix="split the export"))
            with archive.open(member) as fh:
                data = fh.read(limit + 1)
    except zipfile.BadZipFile as exc:
        raise InputFileError(problem("KMZ 文件损坏。", f"The KMZ archive is damaged: {exc}", file=path,
                                     fix="export it again")) from exc
    if len(data) > limit:
        raise InputFileError(problem("KMZ 中的 KML 过大。", f"The KML unpacks to more than {limit} bytes.", file=path,
                                     fix="split the export"))
    return data


def read_kml(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read every placemark of a KML/KMZ file into one GeoDataFrame in WGS84.

    Parameters
    ----------
    path : str or Path
        ``.kml`` or ``.kmz`` file.
    layer : str, optional
        Folder to keep: its full path (``"项目/一期"``) or its own name
        (``"一期"``); placemarks of its subfolders are kept too.  The
        document's name (GDAL's layer name for a KML without folders)
        selects every placemark.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``Name``, ``Description`` (named as GDAL's KML drivers name them), ``folder`` (path of folder names
        joined by ``/``), one column per ExtendedData field, geometry (Point,
        LineString, Polygon with holes, or Multi*/GeometryCollection for
        MultiGeometry; altitudes dropped); CRS EPSG:4326 (the KML standard).
        ``attrs["sanxian"]`` holds ``format``, ``folders`` (placemark count
        per folder) and ``warnings``.

    Raises
    ------
    InputFileError
        Not well-formed XML, a DTD (refused: entity expansion), or an unknown folder.
    EmptyLayerError
        No placemark with a geometry (in the folder).

    References
    ----------
    .. [1] OGC 07-147r2, OGC KML 2.2 (coordinates are WGS84 lon,lat[,alt]; Folder, Placemark, ExtendedData).
    """
    path = check_input_file(path, what="KML/KMZ file")  # no folder, pipe, device or empty file
    data = read_kml_bytes(path)
    if _DTD.search(data) or _DTD.search(_as_utf8(data)):
        raise InputFileError(problem(
            "KML 含有 DOCTYPE/ENTITY 声明，出于安全原因拒绝读取。",
            "The KML contains a DOCTYPE or ENTITY declaration; it is refused because entity expansion can read "
            "local files or exhaust memory (KML never needs one).", file=path,
            fix="export the data again from the app; do not hand-edit entity declarations into it"))
    try:
        root = ET.parse(io.BytesIO(data)).getroot()
    except ET.ParseError as exc:
        raise InputFileError(problem("KML 不是有效的 XML。", f"The KML is not well-formed XML: {exc}", file=path,
                                     fix="export it again; a KML cut off during transfer is incomplete")) from exc
    rows: list[dict[str, Any]] = []
    skipped = [0]
    try:
        _walk(root, [], rows, skipped)
    except RecursionError as exc:
        raise InputFileError(problem("KML 的文件夹或几何嵌套过深。", "Folders or MultiGeometry are nested too deeply "
                                     "to be a field-app export (hundreds of levels).", file=path,
                                     fix="export the data again; flatten the folder structure")) from exc
    folders = dict(Counter(row["folder"] for row in rows))
    if layer is not None:
        chosen = [r for r in rows if _in_folder(r["folder"], layer)] or [r for r in rows if r["_doc"] == layer]
        if not chosen:
            names = sorted(folders)
            raise InputFileError(problem(f"KML 中没有文件夹 '{layer}'。", f"No folder '{layer}' with placemarks; "
                                         f"folders: {names}.", file=path, fix=f"use one of {names}"))
        rows = chosen
    if not rows:
        raise EmptyLayerError(problem("KML 中没有带几何的地标。", "The KML has no placemark with a geometry.",
                                      file=path, layer=layer, fix="check the export contains points, lines or areas"))
    geoms = [r.pop("geometry") for r in rows]
    for r in rows:
        r.pop("_doc")
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    warnings = []
    if skipped[0]:
        warnings.append(f"{skipped[0]} placemark(s) without a supported geometry skipped (e.g. tracks, models) / "
                        f"{skipped[0]} 个无几何的地标已忽略")
    if len({_FAMILY[t] for t in shapely.get_type_id(frame.geometry.values).tolist()}) > 1 and layer is None:
        warnings.append(f"the file mixes points, lines and areas; choose one folder with layer= (--layer); "
                        f"folders: {sorted(folders)} / 文件混有点、线、面，可用 --layer 选择文件夹")
    frame.attrs["sanxian"] = {"format": "kmz" if zipfile.is_zipfile(path) else "kml", "folders": folders,
                              "warnings": warnings, "encoding": "utf-8"}
    return frame


# The multi-part type of parts that are all of one simple type (anything else: a GeometryCollection).
_MULTI: dict[str, Any] = {"Polygon": shapely.MultiPolygon, "LineString": shapely.MultiLineString,
                          "Point": shapely.MultiPoint}
_FAMILY = {0: "point", 1: "line", 2: "line", 3: "polygon", 4: "point", 5: "line", 6: "polygon", 7: "collection"}


def _in_folder(folder: str, wanted: str) -> bool:
    wanted = wanted.strip("/")
    return folder == wanted or folder.startswith(wanted + "/") or wanted in (folder.split("/") if folder else [])


def _text(element: ET.Element, name: str) -> str | None:
    child = _find(element, name)
    return None if child is None else (child.text or "").strip()


def _walk(element: ET.Element, folders: list[str], rows: list[dict[str, Any]], skipped: list[int],
          document: str | None = None) -> None:
    for child in element:
        tag = _local(child.tag)
        if tag == "Document":
            # the Document's own name is the file title, not a folder the user made (GDAL names its layer so)
            _walk(child, folders, rows, skipped, _text(child, "name"))
        elif tag == "Folder":
            name = _text(child, "name")
            _walk(child, folders + [name] if name else folders, rows, skipped, document)
        elif tag == "Placemark":
            geom = _geometry(child)
            if geom is None:
                skipped[0] += 1
                continue
            # Name/Description as GDAL's KML drivers call them, so catalogs written for those keep working
            row: dict[str, Any] = {"Name": _text(child, "name"), "Description": _text(child, "description"),
                                   "folder": "/".join(folders), "_doc": document}
            row.update(_extended(child))
            row["geometry"] = geom
            rows.append(row)
        elif tag == "kml":
            _walk(child, folders, rows, skipped, document)


def _extended(placemark: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ext in placemark:
        if _local(ext.tag) != "ExtendedData":
            continue
        for item in ext.iter():
            tag = _local(item.tag)
            if tag == "Data" and item.get("name"):
                out[str(item.get("name"))] = _text(item, "value")
            elif tag == "SimpleData" and item.get("name"):
                out[str(item.get("name"))] = (item.text or "").strip()
    return {k: v for k, v in out.items() if k not in ("Name", "Description", "folder", "geometry", "_doc")}


def _coords(element: ET.Element | None) -> np.ndarray | None:
    if element is None:
        return None
    for child in element.iter():
        if _local(child.tag) == "coordinates":
            values = [t.split(",") for t in (child.text or "").split()]
            try:
                arr = np.array([(float(v[0]), float(v[1])) for v in values if len(v) >= 2], dtype=float)
            except ValueError:
                return None
            return arr if len(arr) else None
    return None


def _find(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _geometry(element: Iterable[ET.Element]) -> Any:
    """The geometry among the children of ``element`` (a placemark, or ``[part]`` for one MultiGeometry part)."""
    for child in element:
        tag = _local(child.tag)
        if tag == "Point":
            c = _coords(child)
            return shapely.points(c[0]) if c is not None else None
        if tag in ("LineString", "LinearRing"):
            c = _coords(child)
            return shapely.linestrings(c) if c is not None and len(c) >= 2 else None
        if tag == "Polygon":
            outer = _coords(_find(child, "outerBoundaryIs"))
            if outer is None or len(outer) < 3:
                return None
            holes = [h for h in (_coords(b) for b in child if _local(b.tag) == "innerBoundaryIs")
                     if h is not None and len(h) >= 3]
            return shapely.Polygon(outer, holes)
        if tag == "MultiGeometry":
            parts = [g for g in (_geometry([c]) for c in child) if g is not None]
            if not parts:
                return None
            kind = parts[0].geom_type if len({p.geom_type for p in parts}) == 1 else ""
            return _MULTI.get(kind, shapely.GeometryCollection)(parts)
    return None
