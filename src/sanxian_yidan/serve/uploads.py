"""Turn what a user sends (an uploaded file, pasted coordinates, a drawn geometry) into projects.

Everything is written into the request's own temporary folder under a name chosen here from the file's
*content* (the uploaded name is only shown, never used as a path), then read by the toolkit's readers
(:func:`sanxian_yidan.io.read_vector`), which detect encodings and CRSs and refuse special files, zip
bombs and impossible coordinates (:mod:`sanxian_yidan.io.safety`).  Before that, this module refuses
what a service must not even store: an upload over the size limit, an archive whose members would
expand beyond the service's limits or whose paths would leave the folder, a type no reader knows.
The caller removes the folder whatever happens (:func:`request_folder`).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd

from ..errors import InputFileError, problem
from .config import ServeSettings

__all__ = ["UploadTooLarge", "detect_suffix", "parse_coordinates_text", "read_projects", "request_folder",
           "write_limited"]

#: Accepted formats, for the error that lists them.
FORMATS = ("land-boundary TXT (界址点坐标交换文件)", "zipped shapefile (.zip)", "GeoPackage", "GeoJSON", "KML/KMZ",
           "DXF", "CSV/XLSX (坐标表 or lon/lat columns)")
_TEXT_HEAD = 4096
_PAIR = re.compile(r"^\s*(?:([^\s,;，；]+)[\s,;，；]+)?([-+]?\d+(?:\.\d+)?)[\s,;，；]+([-+]?\d+(?:\.\d+)?)\s*$")


class UploadTooLarge(InputFileError):
    """The upload is larger than the service accepts."""


@contextlib.contextmanager
def request_folder() -> Iterator[Path]:
    """A private temporary folder for one request, removed on exit whatever happened."""
    with tempfile.TemporaryDirectory(prefix="sanxian-serve-", ignore_cleanup_errors=True) as folder:
        yield Path(folder)


def too_large(size: int, settings: ServeSettings, what: str) -> UploadTooLarge:
    """The bilingual error for an upload over the size limit."""
    limit_mb = settings.upload.max_bytes / 2**20
    return UploadTooLarge(problem(
        f"上传内容超过 {limit_mb:g} MB 上限，未处理。",
        f"The {what} is larger than the limit of {limit_mb:g} MB ({size:,}+ bytes) and was not processed.",
        fix="send only the project boundary (a few kB to a few MB), or zip a shapefile; the limit is "
            "[upload] max_bytes in the service settings (serve.toml)"))


def write_limited(chunks: Iterator[bytes], dest: Path, settings: ServeSettings, what: str = "upload") -> int:
    """Write ``chunks`` to ``dest``, stopping with :class:`UploadTooLarge` past the size limit."""
    size = 0
    with open(dest, "wb") as fh:
        for chunk in chunks:
            size += len(chunk)
            if size > settings.upload.max_bytes:
                raise too_large(size, settings, what)
            fh.write(chunk)
    return size


def _check_archive(path: Path, settings: ServeSettings, shown: str) -> list[str]:
    """Member names of a zip upload after refusing bombs, path escapes and too many members."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFileError(problem("压缩包已损坏或不是 zip 文件。", f"Not a readable zip archive: {exc}.",
                                     file=shown, fix="zip the files again")) from exc
    if len(infos) > settings.upload.max_members:
        raise InputFileError(problem("压缩包内文件过多。", f"The archive holds {len(infos):,} members; at most "
                                     f"{settings.upload.max_members:,} are accepted.", file=shown,
                                     fix="zip only the layer's files (.shp, .shx, .dbf, .prj, .cpg)"))
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", name):
            raise InputFileError(problem(
                "压缩包内的路径指向压缩包之外，已拒绝。",
                f"The archive member '{info.filename}' would be unpacked outside its folder (absolute path or "
                "'..'); the archive was refused.", file=shown,
                fix="zip the layer's files from inside their folder (no absolute paths)"))
    total = sum(i.file_size for i in infos)
    ratio = total / max(sum(i.compress_size for i in infos), 1)
    if total > settings.upload.max_expanded_bytes or (total > settings.upload.ratio_applies_above_bytes
                                               and ratio > settings.upload.max_ratio):
        raise InputFileError(problem(
            "压缩包解压后过大（疑似“压缩炸弹”），未读取。",
            f"The archive would expand to {total:,} bytes ({ratio:,.0f} times its packed size); the service "
            f"accepts {settings.upload.max_expanded_bytes:,} bytes and a ratio of {settings.upload.max_ratio:g}; it "
            "looks like a zip bomb and was not read.", file=shown,
            fix="send only the project boundary's files"))
    return [i.filename for i in infos if not i.is_dir()]


def _decode_head(head: bytes) -> str:
    """The first bytes as text (UTF-8/UTF-16 with BOM, UTF-8, GB18030), '' when they are not text."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, errors="ignore")
    if b"\0" in head:
        return ""
    for codec in ("utf-8", "gb18030"):
        try:
            return head.decode(codec)
        except UnicodeDecodeError as exc:
            if exc.start > len(head) - 4:  # cut in the middle of a character at the end of the sample
                return head[:exc.start].decode(codec)
    return ""


def detect_suffix(path: Path, settings: ServeSettings, shown: str) -> str:
    """The file suffix the toolkit's readers need for this content (the uploaded name is not trusted).

    Raises
    ------
    InputFileError
        A type no reader knows, a lone ``.shp``, or an archive refused by the checks above.
    """
    with open(path, "rb") as fh:
        head = fh.read(_TEXT_HEAD)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        names = [n.lower() for n in _check_archive(path, settings, shown)]
        if any(n.endswith(".kml") for n in names):
            return ".kmz"
        if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
            return ".xlsx"
        if any(n.endswith((".shp", ".gpkg", ".geojson")) for n in names):
            return ".zip"
        raise _unknown(shown, "a zip archive without a shapefile, GeoPackage, KML or workbook inside")
    if head.startswith(b"SQLite format 3\0"):
        return ".gpkg"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ".xls"
    if head.startswith(b"AC10"):
        return ".dwg"  # the DXF reader refuses DWG with the fix (save as DXF)
    if head[:4] == b"\x00\x00\x27\x0a":
        raise InputFileError(problem("只上传了 .shp 主文件，缺少 .dbf/.shx/.prj。",
                                     "A lone .shp main file was uploaded; its .dbf, .shx and .prj are missing.",
                                     file=shown, fix="zip the .shp with its .shx, .dbf, .prj (and .cpg) and upload the zip"))
    text = _decode_head(head).lstrip()
    if not text:
        raise _unknown(shown, "binary content")
    if text[0] in "{[" and '"type"' in text[:_TEXT_HEAD]:
        return ".geojson"
    if text.startswith("<") and "<kml" in text.lower():
        return ".kml"
    lines = [line.strip() for line in text.splitlines()[:4]]
    if len(lines) >= 2 and lines[0] == "0" and lines[1] in ("SECTION", "HEADER"):
        return ".dxf"
    if "[地块坐标]" in text or "[属性描述]" in text:
        return ".txt"
    return ".csv"


def _unknown(shown: str, what: str) -> InputFileError:
    return InputFileError(problem("无法识别的文件类型。", f"Unrecognised file type ({what}).", file=shown,
                                  fix="upload one of: " + "; ".join(FORMATS)))


def read_projects(path: Path, settings: ServeSettings, *, shown: str, crs: str | None = None,
                  layer: str | None = None) -> gpd.GeoDataFrame:
    """Read projects from a file in a request folder: type by content, then the toolkit's reader.

    ``shown`` is the name the user gave (for messages only); ``layer`` names the layer of a multi-layer
    file (GeoPackage layer, DXF layer, KML folder, workbook sheet).  Returns a GeoDataFrame with a CRS.
    """
    from ..io import read_vector

    suffix = detect_suffix(path, settings, shown)
    typed = path.with_name("input" + suffix)
    path.rename(typed)
    try:
        gdf = read_vector(typed, crs=crs or None, layer=layer or None)
    except InputFileError as exc:
        raise type(exc)(_renamed(str(exc), typed, shown)) from exc
    if len(gdf) > settings.upload.max_projects:
        raise InputFileError(problem(f"一次最多研判 {settings.upload.max_projects} 个项目。",
                                     f"The file holds {len(gdf):,} features; one screening takes at most "
                                     f"{settings.upload.max_projects:,} projects.", file=shown,
                                     fix="split the file, or use the command line (sanxian screen) for long lists"))
    return gdf


def _renamed(message: str, typed: Path, shown: str) -> str:
    """A reader's message with the temporary path replaced by the name the user knows."""
    message = message.replace(str(typed), shown).replace(str(typed.parent), ".")
    # The readers' fixes speak of the command line; on the page the same choice is the layer field.
    return message.replace("--layer <name> on the command line", "the 图层 / layer field of the form (--layer <name> "
                                                                 "on the command line)")


def parse_coordinates_text(text: str) -> str | None:
    """Bare coordinate pairs (``x,y`` or ``id x y`` per line; blank lines separate parcels) as GeoJSON.

    One pair makes a point, two a line, three or more a polygon.  Returns None when the text is not bare
    pairs (then it is read as a file: land-boundary TXT or a table with a header).
    """
    groups: list[list[tuple[float, float]]] = [[]]
    for line in text.strip().splitlines():
        if not line.strip():
            if groups[-1]:
                groups.append([])
            continue
        match = _PAIR.match(line)
        if match is None:
            return None
        groups[-1].append((float(match.group(2)), float(match.group(3))))
    features = [_feature(i, g) for i, g in enumerate(g for g in groups if g)]
    if not features:
        return None
    return json.dumps({"type": "FeatureCollection", "features": features})


def _feature(i: int, pairs: list[tuple[float, float]]) -> dict[str, Any]:
    if len(pairs) == 1:
        geometry: dict[str, Any] = {"type": "Point", "coordinates": list(pairs[0])}
    elif len(pairs) == 2:
        geometry = {"type": "LineString", "coordinates": [list(p) for p in pairs]}
    else:
        ring = [list(p) for p in pairs] + ([] if pairs[0] == pairs[-1] else [list(pairs[0])])
        geometry = {"type": "Polygon", "coordinates": [ring]}
    return {"type": "Feature", "properties": {"id": f"P{i + 1}"}, "geometry": geometry}
