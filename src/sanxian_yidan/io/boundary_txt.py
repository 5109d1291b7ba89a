"""Land-boundary coordinate exchange TXT (界址点坐标交换文件) used for 建设用地报批 and 勘测定界.

The format of the natural-resources authorities is a small INI-like text file::

    [属性描述]
    坐标系=2000国家大地坐标系
    几度分带=3
    投影类型=高斯克吕格
    计量单位=米
    带号=38
    精度=0.01
    转换参数=,,,,,,
    [地块坐标]
    5,1.9400,DK01,某某项目地块,面,,建设用地,0602,@
    J1,1,3513189.181,38520986.477
    ...

Each parcel starts with a header line ``点数,面积(公顷),编号,名称,面/线/点,图幅号,用途,地类编码,@`` and is
followed by its point lines ``点号,圈号,X,Y``.  In Chinese surveying notation X is the northing and Y the
easting, so the first coordinate is the GIS *y*; the easting carries the zone number in front (8 digits)
or not (6 digits).  Rings are closed by repeating their first point, and ``点数`` counts those repeats.

Because tools label and order the two columns inconsistently, which value is the northing is decided by
its number of digits (northing 7, easting 6 or 8), never by position alone.  The reader keeps the
coordinates exactly as written (no reprojection) and gives them the Gauss-Kruger CRS they are in; the
writer reprojects to a 3-degree zone when needed.

References
----------
.. [1] RULES_REFERENCE.md, section "Coordinates" (layout of the land-boundary TXT).
.. [2] ``data/boundary_txt.toml`` (accepted spellings, digit rules, tolerances, number formats).
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from .. import crs as crsmod
from ..datafiles import packaged, packaged_path, require
from ..errors import (
    BoundaryTxtError,
    CRSError,
    DataFileError,
    EmptyLayerError,
    EncodingDetectionError,
    InputFileError,
    MissingFileError,
    SanxianWarning,
    problem,
)
from .encoding import detect_bytes_encoding

__all__ = ["PARCEL_COLUMNS", "read_boundary_txt", "write_boundary_txt"]

_DATA_FILE = "boundary_txt.toml"

# Names fixed by the format itself (RULES_REFERENCE.md 'Coordinates'), not settings.
_ATTRIBUTE_SECTION = "属性描述"
_COORDINATE_SECTION = "地块坐标"
_KEY_DATUM = "坐标系"
_KEY_WIDTH = "几度分带"
_KEY_PROJECTION = "投影类型"
_KEY_UNIT = "计量单位"
_KEY_ZONE = "带号"
_WRITTEN_HEADER_KEYS = ("格式版本号", "数据产生单位", "数据产生日期", _KEY_DATUM, _KEY_WIDTH, _KEY_PROJECTION,
                        _KEY_UNIT, _KEY_ZONE, "精度", "转换参数")
_PARCEL_END = "@"
_POLYGON, _LINE, _POINT = "面", "线", "点"
_KINDS = (_POLYGON, _LINE, _POINT)

#: Attribute columns of :func:`read_boundary_txt`, in the order of the parcel header line.
PARCEL_COLUMNS = ("point_count", "area_ha", "parcel_id", "name", "geom_kind", "sheet", "use", "land_class_code")
# Columns the writer takes from the caller's frame (and the header field each fills).
_TEXT_COLUMNS = ("parcel_id", "name", "sheet", "use", "land_class_code")

_M2_PER_HA = 10_000.0
# One zone's worth of easting: the zone number stands in front of the 6-digit easting (zone * 1e6 m).
_ZONE_PREFIX_M = 1_000_000.0
# Minimum number of point lines: a polygon ring needs 3 corners plus the closing repeat, a line 2 points.
_MIN_POINTS = {_POLYGON: 4, _LINE: 2, _POINT: 1}

_SECTION_RE = re.compile(r"\[\s*(.*?)\s*\]")
_INTEGER_RE = re.compile(r"[+]?\d+")


# --------------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Settings:
    datum_aliases: dict[str, str]
    datum_written: dict[str, str]
    default_datum: str
    default_width: int
    widths: tuple[int, ...]
    projections: frozenset[str]
    units: frozenset[str]
    northing: tuple[float, float]
    easting: tuple[float, float]
    prefixed_easting: tuple[float, float]
    area_abs_ha: float
    area_rel: float
    coordinate_decimals: int
    area_decimals: int
    writer_width: int
    line_ending: str
    conversion_parameters: str
    max_problems: int


def _norm(text: str) -> str:
    """Spelling-insensitive form of a header value (case, blanks and separators ignored)."""
    return re.sub(r"[\s_\-.·]", "", text).casefold()


@lru_cache(maxsize=1)
def _settings() -> _Settings:
    data = packaged(_DATA_FILE)
    path = packaged_path(_DATA_FILE)

    def table(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = require(parent, key, dict, file=path, where=where)
        require(value, "source", str, file=path, where=key if where == "top level" else f"{where}.{key}")
        return value

    def pair(tab: dict[str, Any], key: str, where: str) -> tuple[float, float]:
        value = require(tab, key, list, file=path, where=where)
        if len(value) != 2 or not all(isinstance(v, (int, float)) for v in value) or not value[0] < value[1]:
            raise DataFileError(problem(f"{where}.{key} 应为 [下限, 上限]。",
                                        f"{where}.{key} must be [min, max] with min < max, got {value!r}.",
                                        file=path, fix=f"write {key} = [min, max]"))
        return float(value[0]), float(value[1])

    datums = table(data, "datums", "top level")
    written = table(datums, "written", "datums")
    aliases: dict[str, str] = {}
    for name in crsmod.DATUMS:
        for alias in require(datums, name, list, file=path, where="datums"):
            aliases[_norm(str(alias))] = name
        require(written, name, str, file=path, where="datums.written")
    header = table(data, "header", "top level")
    mags = table(data, "magnitudes", "top level")
    area = table(data, "area_check", "top level")
    writer = table(data, "writer", "top level")
    reader = table(data, "reader", "top level")
    return _Settings(
        datum_aliases=aliases,
        datum_written={name: str(written[name]) for name in crsmod.DATUMS},
        default_datum=require(header, "default_datum", str, file=path, where="header"),
        default_width=require(header, "default_zone_width", int, file=path, where="header"),
        widths=tuple(int(w) for w in require(header, "zone_widths", list, file=path, where="header")),
        projections=frozenset(_norm(str(p)) for p in require(header, "projections", list, file=path,
                                                               where="header")),
        units=frozenset(_norm(str(u)) for u in require(header, "units", list, file=path, where="header")),
        northing=pair(mags, "northing", "magnitudes"),
        easting=pair(mags, "easting", "magnitudes"),
        prefixed_easting=pair(mags, "prefixed_easting", "magnitudes"),
        area_abs_ha=float(require(area, "absolute_ha", (int, float), file=path, where="area_check")),
        area_rel=float(require(area, "relative", (int, float), file=path, where="area_check")),
        coordinate_decimals=require(writer, "coordinate_decimals", int, file=path, where="writer"),
        area_decimals=require(writer, "area_decimals", int, file=path, where="writer"),
        writer_width=require(writer, "zone_width", int, file=path, where="writer"),
        line_ending=require(writer, "line_ending", str, file=path, where="writer"),
        conversion_parameters=require(writer, "conversion_parameters", str, file=path, where="writer"),
        max_problems=require(reader, "max_reported_problems", int, file=path, where="reader"),
    )


# --------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------
@dataclass
class _Problems:
    """Problems found in one file, reported together so the user can fix them in one pass."""

    path: Path
    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, zh: str, en: str, *, feature: str | None = None, fix: str | None = None) -> None:
        self.items.append((line, problem(zh, en, file=self.path, feature=feature, fix=fix)))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        items = sorted(self.items, key=lambda item: item[0])
        if len(items) == 1:
            raise BoundaryTxtError(items[0][1])
        limit = _settings().max_problems
        head = f"界址点坐标文件中有 {len(items)} 处问题。 / The land-boundary TXT has {len(items)} problems"
        if len(items) > limit:
            head += f" (the first {limit} are listed)"
        raise BoundaryTxtError(head + ":\n\n" + "\n\n".join(message for _, message in items[:limit]))


@dataclass(frozen=True)
class _Parcel:
    line: int
    point_count: int | None
    area_ha: float
    parcel_id: str
    name: str
    kind: str
    sheet: str
    use: str
    land_class_code: str

    @property
    def where(self) -> str:
        return f"parcel 编号 '{self.parcel_id}' (line {self.line})"


@dataclass
class _Parsed:
    header: dict[str, str] = field(default_factory=dict)
    header_lines: dict[str, int] = field(default_factory=dict)
    has_coordinates: bool = False
    parcels: list[_Parcel] = field(default_factory=list)
    pt_parcel: list[int] = field(default_factory=list)
    pt_ring: list[int] = field(default_factory=list)
    pt_name: list[str] = field(default_factory=list)
    pt_tokens: list[tuple[str, str]] = field(default_factory=list)
    pt_values: list[tuple[float, float]] = field(default_factory=list)
    pt_line: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_boundary_txt(path: str | Path, *, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a land-boundary coordinate exchange TXT (界址点坐标交换文件).

    Parameters
    ----------
    path : str or Path
        The ``.txt`` file.  It is only read, never modified.
    encoding : str, optional
        Text encoding.  By default strict UTF-8 (with or without byte-order
        mark) is tried first, then GB18030 (a superset of GBK, in which most
        of these files are written).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per parcel with the columns ``point_count``, ``area_ha`` (as
        declared [ha], NaN when blank), ``parcel_id`` (编号), ``name`` (名称),
        ``geom_kind`` (面/线/点), ``sheet`` (图幅号), ``use`` (用途),
        ``land_class_code`` (地类编码) and a geometry: Polygon or MultiPolygon
        for 面 (rings inside another ring are holes, whatever their 圈号 and
        orientation), LineString or MultiLineString for 线, Point or MultiPoint
        for 点.  Coordinates are exactly those of the file (x = easting, with
        the zone prefix if the file has it; y = northing) [m], and the CRS is
        the Gauss-Kruger CRS they are in: the zone of the 8-digit eastings or
        of ``带号``, the datum of ``坐标系``.  ``gdf.attrs["sanxian"]`` holds
        ``source_path``, ``encoding`` (``"utf-8"``, ``"utf-8-sig"``, ``"gbk"``,
        ``"gb18030"`` or the one given), ``header`` (every ``[属性描述]`` key
        and value) and ``warnings`` (legacy datum, declared areas that differ
        from the coordinates, assumptions made).  The warnings are only
        recorded here; :func:`sanxian_yidan.io.read_vector` emits them.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    EncodingDetectionError
        If the bytes are neither UTF-8 nor GBK/GB18030 (or not the encoding given).
    BoundaryTxtError
        For an empty file, a missing ``[地块坐标]`` section, point lines before
        any parcel header, non-numeric values, a ``点数`` that disagrees with
        the point lines, rings that are not closed or too short, coordinates
        that are not Gauss-Kruger northing/easting, an unknown ``坐标系``, or a
        ``带号`` that disagrees with the zone prefix of the eastings.  All
        problems of the file are listed together, each with its line number,
        parcel and fix.

    References
    ----------
    .. [1] RULES_REFERENCE.md, "Coordinates" (land-boundary TXT).
    .. [2] ``data/boundary_txt.toml``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(problem("文件不存在。", "File not found.", file=path,
                                       fix="check the path and the working directory"))
    data = path.read_bytes()
    text, used = _decode(data, path, encoding)
    if not text.strip():
        raise BoundaryTxtError(problem("文件为空。", "The file is empty.", file=path,
                                       fix="export the land-boundary TXT again; the file has no content"))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems = _Problems(path)
    parsed = _parse(lines, problems)
    if not parsed.has_coordinates:
        raise BoundaryTxtError(problem(
            f"文件中没有 [{_COORDINATE_SECTION}] 节。",
            f"The file has no [{_COORDINATE_SECTION}] section, so it has no parcel coordinates.",
            file=path,
            fix=f"check that this is a land-boundary coordinate TXT; the parcel lines must follow a line "
                f"'[{_COORDINATE_SECTION}]'"))
    if not parsed.parcels and not problems.items:
        raise BoundaryTxtError(problem(
            f"[{_COORDINATE_SECTION}] 节中没有地块。", f"The [{_COORDINATE_SECTION}] section lists no parcel.",
            file=path, fix="each parcel needs a header line '点数,面积,编号,名称,面,图幅号,用途,地类编码,@' "
                           "followed by its point lines"))
    notes = list(parsed.notes)

    kinds = np.array([p.kind for p in parsed.parcels], dtype=object)
    pp = np.asarray(parsed.pt_parcel, dtype=np.int64)
    values = np.asarray(parsed.pt_values, dtype=float).reshape(-1, 2)
    pt_line = np.asarray(parsed.pt_line, dtype=np.int64)
    northing, easting = _order_axes(values, parsed, problems, notes)
    crs = _header_crs(parsed, easting, pt_line, problems, notes)
    rings = _check_structure(parsed, kinds, pp, values, pt_line, problems)
    problems.raise_if_any()
    assert crs is not None  # every path that leaves crs unset records a problem

    xy = np.column_stack([easting, northing])
    geoms = _build_geometries(xy, pp, rings, kinds, len(parsed.parcels))
    gdf = gpd.GeoDataFrame({
        "point_count": pd.array([p.point_count for p in parsed.parcels], dtype="Int64"),
        "area_ha": np.array([p.area_ha for p in parsed.parcels], dtype=float),
        "parcel_id": [p.parcel_id for p in parsed.parcels],
        "name": [p.name for p in parsed.parcels],
        "geom_kind": [p.kind for p in parsed.parcels],
        "sheet": [p.sheet for p in parsed.parcels],
        "use": [p.use for p in parsed.parcels],
        "land_class_code": [p.land_class_code for p in parsed.parcels],
    }, geometry=geoms, crs=crs)
    notes.extend(_area_notes(gdf, parsed.parcels))
    legacy = crsmod.legacy_datum_warning(crs)
    if legacy:
        notes.insert(0, legacy)
    gdf.attrs["sanxian"] = {"source_path": str(path), "encoding": used, "header": dict(parsed.header),
                            "warnings": notes}
    return gdf


def _decode(data: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError as exc:
            raise EncodingDetectionError(problem(
                f"未知的编码名称 {encoding!r}。", f"Unknown text encoding {encoding!r}.", file=path,
                fix="use 'gbk', 'gb18030', 'utf-8', or leave encoding=None to detect it")) from exc
        except UnicodeDecodeError as exc:
            raise EncodingDetectionError(problem(
                f"文件不是 {encoding} 编码。",
                f"The file does not decode as {encoding!r} (invalid byte at offset {exc.start}).",
                file=path, fix="leave encoding=None to detect UTF-8 or GBK")) from exc
        return text.lstrip("\ufeff"), encoding
    guess = detect_bytes_encoding(data, file=path)
    used = guess.encoding
    if used == "gb18030":
        # GB18030 decodes every GBK file identically; report the narrower name when it fits, since that is
        # what the exporting software (code page 936) wrote.
        try:
            data.decode("gbk")
            used = "gbk"
        except UnicodeDecodeError:
            pass
    return data.decode(guess.encoding).lstrip("\ufeff"), used


def _parse(lines: list[str], problems: _Problems) -> _Parsed:
    """Split the text into header values, parcels and point lines; record syntax problems."""
    out = _Parsed()
    section: str | None = None
    ignored: list[int] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        match = _SECTION_RE.fullmatch(line)
        if match:
            section = match.group(1)
            if section == _COORDINATE_SECTION:
                out.has_coordinates = True
            elif section != _ATTRIBUTE_SECTION:
                out.notes.append(f"section [{section}] (line {number}) is not part of the format and was "
                                 f"ignored / 第 {number} 行的 [{section}] 节不属于本格式，已忽略")
            continue
        if section == _ATTRIBUTE_SECTION:
            key, sep, value = line.partition("=")
            if sep:
                out.header[key.strip()] = value.strip()
                out.header_lines[key.strip()] = number
            else:
                ignored.append(number)
        elif section == _COORDINATE_SECTION:
            _parse_coordinate_line(line, number, out, problems)
        else:
            ignored.append(number)
    if ignored:
        shown = ", ".join(str(n) for n in ignored[:10]) + (" ..." if len(ignored) > 10 else "")
        out.notes.append(f"{len(ignored)} line(s) outside the format were ignored (lines {shown}) / "
                         f"忽略了 {len(ignored)} 行格式之外的内容")
    return out


def _parse_coordinate_line(line: str, number: int, out: _Parsed, problems: _Problems) -> None:
    fields = [f.strip() for f in line.split(",")]
    if fields[-1] == _PARCEL_END or len(fields) >= 8:
        _parse_parcel_header(fields, number, out, problems)
    elif len(fields) == 4:
        _parse_point_line(fields, number, out, problems)
    else:
        problems.add(number, f"第 {number} 行既不是地块行也不是界址点行。",
                     f"Line {number} is neither a parcel header nor a point line: {line!r} has {len(fields)} "
                     "comma-separated fields.",
                     fix="a parcel header reads '点数,面积,编号,名称,面,图幅号,用途,地类编码,@', a point line "
                         "'点号,圈号,X,Y'")


def _parse_parcel_header(fields: list[str], number: int, out: _Parsed, problems: _Problems) -> None:
    body = fields[:-1] if fields[-1] == _PARCEL_END else list(fields)
    while len(body) > 8 and body[-1] == "":
        body.pop()
    parcel_id = body[2] if len(body) > 2 else ""
    where = f"parcel 编号 '{parcel_id}' (line {number})"
    if len(body) > 8:
        problems.add(number, f"第 {number} 行地块信息的字段过多（{len(body)} 个）。",
                     f"The parcel header on line {number} has {len(body)} fields before '@', not 8.",
                     feature=where, fix="remove commas from 名称/用途 (a comma separates fields)")
    body = (body + [""] * 8)[:8]
    count: int | None = None
    if body[0]:
        if _INTEGER_RE.fullmatch(body[0]):
            count = int(body[0])
        else:
            problems.add(number, f"第 {number} 行的点数 '{body[0]}' 不是整数。",
                         f"点数 (point count) {body[0]!r} on line {number} is not a whole number.",
                         feature=where, fix="write the number of point lines of the parcel, closing repeats included")
    area = np.nan
    if body[1]:
        area = _number(body[1])
        if np.isnan(area):
            problems.add(number, f"第 {number} 行的面积 '{body[1]}' 不是数字。",
                         f"面积 (area) {body[1]!r} on line {number} is not a number.",
                         feature=where, fix="write the area in hectares, e.g. 1.9400, or leave it blank")
    kind = body[4] or _POLYGON
    if kind not in _KINDS:
        problems.add(number, f"第 {number} 行的图形类型 '{kind}' 无效。",
                     f"Geometry type {kind!r} on line {number} is not 面, 线 or 点.",
                     feature=where, fix="write 面 (polygon), 线 (line) or 点 (point) in the 5th field")
        kind = _POLYGON
    out.parcels.append(_Parcel(number, count, area, parcel_id, body[3], kind, body[5], body[6], body[7]))


def _parse_point_line(fields: list[str], number: int, out: _Parsed, problems: _Problems) -> None:
    if not out.parcels:
        problems.add(number, f"第 {number} 行界址点出现在任何地块行之前。",
                     f"Point line {number} comes before any parcel header line.",
                     fix="put the parcel header '点数,面积,编号,名称,面,图幅号,用途,地类编码,@' above its points")
        return
    parcel = out.parcels[-1]
    ring = -1
    if _INTEGER_RE.fullmatch(fields[1]) and int(fields[1]) >= 1:
        ring = int(fields[1])
    else:
        problems.add(number, f"第 {number} 行的圈号 '{fields[1]}' 不是正整数。",
                     f"圈号 (ring number) {fields[1]!r} on line {number} is not a positive whole number.",
                     feature=parcel.where, fix="use 1 for the outer ring and 2, 3 ... for further rings")
    values = []
    for token in fields[2:]:
        value = _number(token)
        if np.isnan(value):
            problems.add(number, f"第 {number} 行的坐标 '{token}' 不是数字。",
                         f"Coordinate {token!r} on line {number} is not a number.",
                         feature=parcel.where, fix="write X and Y in metres with a decimal point, e.g. "
                                                   "3513189.181,38520986.477")
        values.append(value)
    out.pt_parcel.append(len(out.parcels) - 1)
    out.pt_ring.append(ring)
    out.pt_name.append(fields[0])
    out.pt_tokens.append((fields[2], fields[3]))
    out.pt_values.append((values[0], values[1]))
    out.pt_line.append(number)


def _number(token: str) -> float:
    """A finite decimal number, or NaN (Python's float() would also take 'nan', 'inf' and '1_0')."""
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", token):
        return np.nan
    return float(token)


def _in(values: NDArray[np.float64], bounds: tuple[float, float]) -> NDArray[np.bool_]:
    return (values >= bounds[0]) & (values < bounds[1])


def _order_axes(values: NDArray[np.float64], parsed: _Parsed, problems: _Problems,
                notes: list[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Tell northing from easting by their digits; return (northing, easting), NaN where unusable."""
    s = _settings()
    a, b = values[:, 0], values[:, 1]

    def is_easting(v: NDArray[np.float64]) -> NDArray[np.bool_]:
        return _in(v, s.easting) | _in(v, s.prefixed_easting)

    normal = _in(a, s.northing) & is_easting(b)
    swapped = _in(b, s.northing) & is_easting(a)
    bad = np.isfinite(a) & np.isfinite(b) & ~normal & ~swapped
    for i in np.flatnonzero(bad):
        line = parsed.pt_line[i]
        ta, tb = parsed.pt_tokens[i]
        problems.add(line, f"第 {line} 行的坐标不是高斯-克吕格北坐标（7 位）和东坐标（6 位或带带号 8 位）。",
                     f"Line {line}: coordinates {ta}, {tb} are not a Gauss-Kruger northing (7 digits) and "
                     "easting (6 digits, or 8 with the zone prefix).",
                     feature=parsed.parcels[parsed.pt_parcel[i]].where,
                     fix="write X (northing) and Y (easting) in metres; longitude/latitude in degrees is not "
                         "allowed in this format")
    swap = int(swapped.sum()) > int(normal.sum())
    minority = normal if swap else swapped
    if minority.any() and (swapped if swap else normal).any():
        i = int(np.flatnonzero(minority)[0])
        line = parsed.pt_line[i]
        problems.add(line, f"第 {line} 行的 X、Y 顺序与文件中其他点相反。",
                     f"Line {line} lists easting and northing in the opposite order to the other "
                     f"{int((swapped if swap else normal).sum())} point lines of the file.",
                     feature=parsed.parcels[parsed.pt_parcel[i]].where,
                     fix="write every point as X (northing), Y (easting)")
    if swap:
        notes.append("the file lists the easting before the northing; the order was decided by the number of "
                     "digits / 文件中东坐标在前，已按位数识别")
    usable = normal | swapped
    northing = np.where(usable, np.where(swap, b, a), np.nan)
    easting = np.where(usable, np.where(swap, a, b), np.nan)
    return northing, easting


def _header_value(parsed: _Parsed, key: str) -> tuple[str, int]:
    return parsed.header.get(key, "").strip(), parsed.header_lines.get(key, 0)


def _header_crs(parsed: _Parsed, easting: NDArray[np.float64], pt_line: NDArray[np.int64],
                problems: _Problems, notes: list[str]) -> CRS | None:
    """The Gauss-Kruger CRS of the file from 坐标系, 几度分带, 带号 and the eastings."""
    s = _settings()
    ok = True

    raw, line = _header_value(parsed, _KEY_DATUM)
    if not raw:
        datum = s.default_datum
        notes.append(f"no 坐标系 in [{_ATTRIBUTE_SECTION}]: the coordinates were taken as {datum} / "
                     f"未注明坐标系，按 {s.datum_written[datum]} 处理")
    else:
        datum = s.datum_aliases.get(_norm(raw), "")
        if not datum:
            ok = False
            problems.add(line, f"无法识别的坐标系 '{raw}'。",
                         f"Unknown 坐标系 {raw!r} on line {line}: only the CGCS2000, Xian 1980 and Beijing 1954 "
                         "Gauss-Kruger grids are defined for this format.",
                         fix="write 坐标系=2000国家大地坐标系 (or 1980西安坐标系 / 1954北京坐标系); local or "
                             "WGS84 coordinates must be converted first")

    raw, line = _header_value(parsed, _KEY_WIDTH)
    width = s.default_width
    if raw:
        digits = raw.rstrip("度带 ")
        if _INTEGER_RE.fullmatch(digits) and int(digits) in s.widths:
            width = int(digits)
        else:
            ok = False
            problems.add(line, f"几度分带 '{raw}' 无效。",
                         f"几度分带 (zone width) {raw!r} on line {line} is not one of {list(s.widths)}.",
                         fix="write 几度分带=3 (or 6)")

    for key, accepted, example in ((_KEY_PROJECTION, s.projections, "高斯克吕格"), (_KEY_UNIT, s.units, "米")):
        raw, line = _header_value(parsed, key)
        if raw and _norm(raw) not in accepted:
            ok = False
            problems.add(line, f"不支持的{key} '{raw}'。",
                         f"{key} {raw!r} on line {line} is not supported: the format holds Gauss-Kruger "
                         "coordinates in metres.", fix=f"write {key}={example} (convert the coordinates first)")

    raw, zone_line = _header_value(parsed, _KEY_ZONE)
    header_zone: int | None = None
    if raw:
        header_zone = _zone_of(raw, width) if _INTEGER_RE.fullmatch(raw) else None
        if header_zone is None:
            ok = False
            problems.add(zone_line, f"带号 '{raw}' 无效。",
                         f"带号 (zone) {raw!r} on line {zone_line} is neither a {width}-degree zone number nor "
                         "a central meridian.", fix="write the zone number, e.g. 带号=38 for Suizhou")
        elif header_zone != int(raw):
            notes.append(f"带号={raw} was read as the central meridian {raw}E, i.e. zone {header_zone} / "
                         f"带号 {raw} 按中央经线理解（第 {header_zone} 带）")

    finite = np.isfinite(easting)
    if not finite.any() or not ok:
        return None
    east = easting[finite]
    lines = pt_line[finite]
    prefixed = _in(east, _settings().prefixed_easting)
    if prefixed.all():
        prefixes = np.floor(east / _ZONE_PREFIX_M)
        differs = np.flatnonzero(prefixes != prefixes[0])
        if differs.size:
            i = int(differs[0])
            problems.add(int(lines[i]), "东坐标的带号不一致。",
                         f"The easting on line {lines[i]} carries zone prefix {int(prefixes[i])}, the one on "
                         f"line {lines[0]} zone {int(prefixes[0])}; a file holds one zone.",
                         fix="split the parcels by zone, or convert them to one zone")
            return None
        try:
            zone = crsmod.zone_from_easting(east, width=width)
        except CRSError as exc:
            zh, en = (str(exc).splitlines() + ["", ""])[:2]
            problems.add(int(lines[0]), f"东坐标的带号无效：{zh}",
                         f"The zone prefix of the eastings (e.g. {east[0]:.3f} on line {lines[0]}) is not valid: "
                         f"{en}", fix=f"check 几度分带={width} and the eastings")
            return None
        assert zone is not None  # all eastings are 8-digit here
        if header_zone is not None and header_zone != zone:
            problems.add(zone_line, f"带号 {header_zone} 与东坐标的带号 {zone} 不一致。",
                         f"带号={header_zone} on line {zone_line} disagrees with the zone prefix {zone} of the "
                         f"eastings (e.g. {east[0]:.3f} on line {lines[0]}).",
                         fix=f"correct 带号 (the eastings say {zone}) or the eastings")
            return None
        return _gk(zone, datum, prefixed=True, width=width)
    if prefixed.any():
        i = int(np.flatnonzero(prefixed != prefixed[0])[0])
        problems.add(int(lines[i]), "部分东坐标带带号，部分不带。",
                     f"The easting on line {lines[i]} {'has' if prefixed[i] else 'lacks'} the zone prefix, the one "
                     f"on line {lines[0]} {'has' if prefixed[0] else 'lacks'} it.",
                     fix="write every easting with the zone prefix (8 digits) or every one without (6 digits)")
        return None
    if header_zone is None:
        problems.add(zone_line or int(lines[0]), "东坐标不带带号，文件头也没有带号。",
                     f"The eastings have no zone prefix (e.g. {east[0]:.3f} on line {lines[0]}) and "
                     f"[{_ATTRIBUTE_SECTION}] gives no 带号, so the zone is unknown.",
                     fix=f"add 带号=<zone> to [{_ATTRIBUTE_SECTION}] (Suizhou: 带号=38)")
        return None
    return _gk(header_zone, datum, prefixed=False, width=width)


def _gk(zone: int, datum: str, *, prefixed: bool, width: int) -> CRS:
    """Gauss-Kruger CRS of a zone number, with or without the zone prefix on the easting."""
    if prefixed:
        return crsmod.gk_crs(zone, datum=datum, prefixed=True, width=width)
    # 3-degree zone n has its central meridian at 3n E, 6-degree zone n at 6n-3 E.
    cm = 3 * zone if width == 3 else 6 * zone - 3
    return crsmod.gk_crs(cm, datum=datum, prefixed=False, width=width)


def _zone_of(raw: str, width: int) -> int | None:
    """Zone number of a 带号 value, which some tools fill with the central meridian instead."""
    value = int(raw)
    try:
        crsmod.gk_crs(value, prefixed=True, width=width)
        return value
    except CRSError:
        pass
    try:
        crsmod.gk_crs(value, prefixed=False, width=width)
    except CRSError:
        return None
    # Zone numbers (3-degree 25-45, 6-degree 13-23) and meridians (75-135) do not overlap, so this is safe.
    return value // 3 if width == 3 else (value + 3) // 6


@dataclass(frozen=True)
class _Rings:
    of_point: NDArray[np.int64]
    parcel: NDArray[np.int64]


def _check_structure(parsed: _Parsed, kinds: NDArray[Any], pp: NDArray[np.int64], values: NDArray[np.float64],
                     pt_line: NDArray[np.int64], problems: _Problems) -> _Rings:
    """Split points into rings; check 点数, closure and ring length."""
    n_parcels = len(parsed.parcels)
    counts = np.bincount(pp, minlength=n_parcels)
    for i, parcel in enumerate(parsed.parcels):
        if counts[i] == 0:
            problems.add(parcel.line, f"地块 {parcel.parcel_id} 没有界址点。",
                         f"Parcel {parcel.parcel_id!r} (line {parcel.line}) has no point lines.",
                         feature=parcel.where, fix="add its point lines '点号,圈号,X,Y' below the header line")
        elif parcel.point_count is not None and parcel.point_count != counts[i]:
            first = int(pt_line[pp == i][0])
            last = int(pt_line[pp == i][-1])
            problems.add(parcel.line, f"地块 {parcel.parcel_id} 的点数 {parcel.point_count} 与界址点行数 "
                         f"{counts[i]} 不符。",
                         f"Parcel {parcel.parcel_id!r} (line {parcel.line}) declares 点数={parcel.point_count} "
                         f"but has {counts[i]} point lines (lines {first}-{last}).",
                         feature=parcel.where,
                         fix="correct 点数 (it counts every point line, the closing repeats included) or restore "
                             "the missing point lines")
    n = len(pp)
    ring_no = np.asarray(parsed.pt_ring, dtype=np.int64)
    new_ring = np.ones(n, dtype=bool)
    new_ring[1:] = (pp[1:] != pp[:-1]) | (ring_no[1:] != ring_no[:-1])
    start = np.flatnonzero(new_ring)
    end = np.append(start[1:], n) - 1
    rings = _Rings(of_point=np.cumsum(new_ring) - 1, parcel=pp[start])
    if n == 0:
        return rings
    size = end - start + 1
    kind = kinds[rings.parcel]
    need = np.select([kind == k for k in _KINDS], [_MIN_POINTS[k] for k in _KINDS])
    a, b = values[start], values[end]
    open_ = (kind == _POLYGON) & np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1) & (a != b).any(axis=1)
    for r in np.flatnonzero(open_ | (size < need)):
        parcel = parsed.parcels[rings.parcel[r]]
        s_line, e_line = int(pt_line[start[r]]), int(pt_line[end[r]])
        ring = ring_no[start[r]]
        if open_[r]:
            problems.add(e_line, f"地块 {parcel.parcel_id} 的第 {ring} 圈未闭合。",
                         f"Ring {ring} of parcel {parcel.parcel_id!r} is not closed: its first point "
                         f"{parsed.pt_name[start[r]]} (line {s_line}) differs from its last point "
                         f"{parsed.pt_name[end[r]]} (line {e_line}).",
                         feature=parcel.where, fix="repeat the ring's first point as its last point line")
        if size[r] < need[r]:
            what = "a polygon ring needs 3 corners and the closing repeat" if kind[r] == _POLYGON \
                else "a line needs 2 points"
            problems.add(s_line, f"地块 {parcel.parcel_id} 的第 {ring} 圈点数不足（{size[r]} 个）。",
                         f"Ring {ring} of parcel {parcel.parcel_id!r} (lines {s_line}-{e_line}) has only "
                         f"{size[r]} point lines; {what} (at least {need[r]}).",
                         feature=parcel.where, fix="restore the missing points or remove the ring")
    return rings


def _build_geometries(xy: NDArray[np.float64], pp: NDArray[np.int64], rings: _Rings, kinds: NDArray[Any],
                      n_parcels: int) -> NDArray[Any]:
    """Assemble every parcel's geometry at once (rings → parts → parcels)."""
    out = np.empty(n_parcels, dtype=object)
    pt_kind = kinds[pp]

    mask = pt_kind == _POLYGON
    if mask.any():
        ring_ids, compact = np.unique(rings.of_point[mask], return_inverse=True)
        shells = shapely.linearrings(xy[mask], indices=compact)
        parts, part_parcel = _nest_rings(shells, rings.parcel[ring_ids])
        _collect(parts, part_parcel, out, shapely.multipolygons)
    mask = pt_kind == _LINE
    if mask.any():
        ring_ids, compact = np.unique(rings.of_point[mask], return_inverse=True)
        parts = shapely.linestrings(xy[mask], indices=compact)
        _collect(parts, rings.parcel[ring_ids], out, shapely.multilinestrings)
    mask = pt_kind == _POINT
    if mask.any():
        _collect(shapely.points(xy[mask]), pp[mask], out, shapely.multipoints)
    return out


def _nest_rings(rings: NDArray[Any], parcel: NDArray[np.int64]) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """Turn each parcel's rings into polygons: a ring inside an odd number of the parcel's rings is a hole.

    The order and orientation of the rings do not matter; a ring outside the others is one more part of a
    multipolygon.  Containment is tested for every pair of rings of the same parcel.
    """
    n = len(rings)
    filled = shapely.polygons(rings)
    _, first, inverse, counts = np.unique(parcel, return_index=True, return_inverse=True, return_counts=True)
    k = counts[inverse]
    pair_i = np.repeat(np.arange(n), k)
    offset = np.arange(pair_i.size) - np.repeat(np.cumsum(k) - k, k)
    pair_j = np.repeat(first[inverse], k) + offset
    keep = pair_i != pair_j
    pair_i, pair_j = pair_i[keep], pair_j[keep]
    # Point-in-polygon of an interior point plus a smaller area: robust even for self-intersecting rings,
    # on which GEOS polygon/polygon predicates are undefined.
    area = shapely.area(filled)
    probe = shapely.point_on_surface(filled)
    inside = (area[pair_i] > area[pair_j]) & shapely.contains(filled[pair_i], probe[pair_j])
    depth = np.bincount(pair_j[inside], minlength=n)
    owner = np.arange(n)
    parent = inside & (depth[pair_j] % 2 == 1) & (depth[pair_i] == depth[pair_j] - 1)
    owner[pair_j[parent]] = pair_i[parent]
    hole = owner != np.arange(n)
    order = np.lexsort((np.arange(n), hole, owner))
    owners, part_index = np.unique(owner[order], return_inverse=True)
    parts = shapely.polygons(rings[order], indices=part_index)
    return parts, parcel[owners]


def _collect(parts: NDArray[Any], part_parcel: NDArray[np.int64], out: NDArray[Any],
             multi: Callable[..., NDArray[Any]]) -> None:
    """Put single parts into ``out`` as they are and join several parts of a parcel into a multi-geometry."""
    _, inverse, counts = np.unique(part_parcel, return_inverse=True, return_counts=True)
    single = counts[inverse] == 1
    out[part_parcel[single]] = parts[single]
    if not single.all():
        parcels, index = np.unique(part_parcel[~single], return_inverse=True)
        out[parcels] = multi(parts[~single], indices=index)


def _area_notes(gdf: gpd.GeoDataFrame, parcels: list[_Parcel]) -> list[str]:
    s = _settings()
    declared = gdf["area_ha"].to_numpy(dtype=float)
    computed = shapely.area(np.asarray(gdf.geometry.array, dtype=object)) / _M2_PER_HA
    check = (gdf["geom_kind"].to_numpy() == _POLYGON) & np.isfinite(declared)
    tolerance = np.maximum(s.area_abs_ha, s.area_rel * computed)
    notes = []
    for i in np.flatnonzero(check & (np.abs(declared - computed) > tolerance)):
        p = parcels[i]
        notes.append(f"parcel {p.parcel_id!r} (line {p.line}) declares 面积={declared[i]:g} ha but its "
                     f"coordinates enclose {computed[i]:.4f} ha (difference {declared[i] - computed[i]:+.4f} ha, "
                     f"tolerance {tolerance[i]:.4f} ha); check the unit (公顷, not 亩 or m2) and the rings / "
                     f"地块 {p.parcel_id} 申报面积 {declared[i]:g} 公顷与坐标计算面积 {computed[i]:.4f} 公顷不符")
    return notes


# --------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------
def write_boundary_txt(gdf: gpd.GeoDataFrame, path: str | Path, *, zone: int | None = None,
                       encoding: str = "gbk", prefixed: bool = True, datum: str = "CGCS2000",
                       overwrite: bool = False) -> Path:
    """Write polygons as a land-boundary coordinate exchange TXT (界址点坐标交换文件).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygons or multipolygons with a CRS.  Columns ``parcel_id`` (编号),
        ``name`` (名称), ``sheet`` (图幅号), ``use`` (用途) and
        ``land_class_code`` (地类编码) are written when present; otherwise
        编号 is ``DK1``, ``DK2`` ... and the other fields are blank.  Not modified.
    path : str or Path
        Output file.
    zone : int, optional
        3-degree Gauss-Kruger zone to write in.  By default the zone of the
        mean longitude of the parcels' centroids, ``round(lon / 3)``
        (Suizhou: 38).
    encoding : str
        Text encoding, ``"gbk"`` by default as the receiving desktop software
        expects; ``"utf-8"`` for names outside GBK.
    prefixed : bool
        Write eastings with the zone number in front (8 digits, e.g.
        ``38520986.477``) or without it (6 digits).
    datum : {"CGCS2000", "Xian1980", "Beijing1954"}
        Datum of the written coordinates and of ``坐标系``.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    Data already in the target CRS are written as they are; data in the
    same zone with or without the prefix are shifted by ``zone * 1e6`` m;
    anything else is reprojected with pyproj.  Coordinates are rounded to
    ``writer.coordinate_decimals`` (3: millimetres) and areas, computed on
    the Gauss-Kruger plane, to ``writer.area_decimals`` hectares (4) of
    ``data/boundary_txt.toml``.

    Chinese practice on ring orientation varies.  Exterior rings are written
    clockwise as seen on a north-up map, the direction in which 界址点 are
    customarily numbered, and holes anticlockwise; the reader accepts either.
    Each part's exterior ring and then its holes get successive 圈号 (1, 2,
    ...), points are numbered ``J1``..``Jn`` through all rings of a parcel,
    and each ring is closed by repeating its first point under the same
    point number.

    Raises
    ------
    InputFileError
        If ``path`` exists and ``overwrite`` is False, a geometry is not a
        (multi)polygon or is empty, a text field holds a comma or line
        break, or a character cannot be written in ``encoding``.
    EmptyLayerError
        If ``gdf`` has no rows.
    CRSError
        If ``gdf`` has no CRS, or ``zone``/``datum`` is invalid.
    MissingFileError
        If the output folder does not exist.

    References
    ----------
    .. [1] RULES_REFERENCE.md, "Coordinates" (land-boundary TXT).
    .. [2] ``data/boundary_txt.toml`` ``[writer]``.
    """
    s = _settings()
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputFileError(problem("输出文件已存在。", f"The output file {path} already exists.", file=path,
                                     fix="choose another path or pass overwrite=True"))
    if not path.parent.is_dir():
        raise MissingFileError(problem("输出文件夹不存在。", f"The folder {path.parent} does not exist.",
                                       file=path, fix="create the folder first"))
    if len(gdf) == 0:
        raise EmptyLayerError(problem("没有要写出的地块。", "The GeoDataFrame has no rows to write.", file=path,
                                      fix="pass at least one polygon"))
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    type_ids = shapely.get_type_id(geoms)
    bad = ~np.isin(type_ids, (3, 6)) | shapely.is_empty(geoms)  # 3 Polygon, 6 MultiPolygon
    if bad.any():
        rows = list(gdf.index[bad][:5])
        kinds = sorted({"missing" if g is None else g.geom_type + (" (empty)" if g.is_empty else "")
                        for g in geoms[bad]})
        raise InputFileError(problem(
            "界址点坐标文件只能写面要素。",
            f"Only non-empty Polygon/MultiPolygon rows can be written; {int(bad.sum())} row(s) are "
            f"{', '.join(kinds)} (e.g. index {rows}).", file=path,
            fix="select the polygon rows (gdf[gdf.geom_type.isin(['Polygon', 'MultiPolygon'])]) or buffer "
                "lines and points into polygons first"))
    if gdf.crs is None:
        raise CRSError(problem("数据没有坐标系。", "The GeoDataFrame has no CRS, so it cannot be placed in a "
                               "Gauss-Kruger zone.", file=path, fix="set it first, e.g. gdf.set_crs('EPSG:4547')"))
    canonical = s.datum_aliases.get(_norm(str(datum)))
    if canonical is None:
        raise CRSError(problem(f"未知的坐标系 {datum!r}。", f"Unknown datum {datum!r}.", file=path,
                               fix=f"use one of {list(crsmod.DATUMS)}"))
    source = CRS.from_user_input(gdf.crs)
    if zone is None:
        zone = _zone_of_longitude(geoms, source, s.writer_width)
    target = _gk(zone, canonical, prefixed=prefixed, width=s.writer_width)
    _warn_datum_change(source, target)
    projected = _to_target(geoms, source, target, zone, canonical, prefixed, s.writer_width)
    oriented = _orient_clockwise(projected)
    text = _format(gdf, oriented, zone, canonical, path)
    try:
        data = text.encode(encoding)
    except LookupError as exc:
        raise InputFileError(problem(f"未知的编码名称 {encoding!r}。", f"Unknown text encoding {encoding!r}.",
                                     file=path, fix="use 'gbk' or 'utf-8'")) from exc
    except UnicodeEncodeError as exc:
        line = text[:exc.start].count("\n") + 1
        raise InputFileError(problem(
            f"字符 '{text[exc.start:exc.end]}' 无法用 {encoding} 编码写出。",
            f"The character {text[exc.start:exc.end]!r} (output line {line}) cannot be written in {encoding}.",
            file=path, fix="pass encoding='utf-8' or replace the character in the attribute")) from exc
    path.write_bytes(data)
    return path


def _zone_of_longitude(geoms: NDArray[Any], source: CRS, width: int) -> int:
    x, y = shapely.get_coordinates(shapely.centroid(geoms)).T
    if not source.is_geographic:
        x, y = Transformer.from_crs(source, "EPSG:4490", always_xy=True).transform(x, y)
    lon = float(np.mean(x))
    # Round half up (Python's round() would send a longitude exactly on a zone edge to the even zone).
    return int(np.floor(lon / width + 0.5)) if width == 3 else int(np.floor((lon + 3.0) / 6.0 + 0.5))


def _warn_datum_change(source: CRS, target: CRS) -> None:
    src = source.geodetic_crs.datum.name if source.geodetic_crs is not None else None
    dst = target.geodetic_crs.datum.name if target.geodetic_crs is not None else None
    if src == dst:
        return
    message = crsmod.legacy_datum_warning(source) or crsmod.legacy_datum_warning(target)
    if message:
        warnings.warn(f"converting {source.name} to {target.name}: {message}", SanxianWarning, stacklevel=3)


def _to_target(geoms: NDArray[Any], source: CRS, target: CRS, zone: int, datum: str, prefixed: bool,
               width: int) -> NDArray[Any]:
    if source == target:
        return geoms
    if source == _gk(zone, datum, prefixed=not prefixed, width=width):
        # Same zone, only the prefix differs: shifting keeps the millimetres exact, a reprojection might not.
        shift = zone * _ZONE_PREFIX_M * (1.0 if prefixed else -1.0)
        return shapely.transform(geoms, lambda c: c + np.array([shift, 0.0]))
    return np.asarray(gpd.GeoSeries(geoms, crs=source).to_crs(target).array, dtype=object)


def _orient_clockwise(geoms: NDArray[Any]) -> NDArray[Any]:
    orient = getattr(shapely, "orient_polygons", None)
    if orient is not None:  # shapely >= 2.1
        return orient(geoms, exterior_cw=True)
    from shapely.geometry import MultiPolygon
    from shapely.geometry.polygon import orient as orient_one
    return np.array([orient_one(g, sign=-1.0) if g.geom_type == "Polygon"
                     else MultiPolygon([orient_one(p, sign=-1.0) for p in g.geoms]) for g in geoms], dtype=object)


def _text_fields(gdf: gpd.GeoDataFrame, path: Path) -> dict[str, list[str]]:
    n = len(gdf)
    fields: dict[str, list[str]] = {}
    for column in _TEXT_COLUMNS:
        if column in gdf.columns:
            values = ["" if pd.isna(v) else str(v).strip() for v in gdf[column]]
        else:
            values = [f"DK{i + 1}" for i in range(n)] if column == "parcel_id" else [""] * n
        if column == "parcel_id":
            values = [v or f"DK{i + 1}" for i, v in enumerate(values)]
        bad = [i for i, v in enumerate(values) if any(c in v for c in ",\r\n")]
        if bad:
            raise InputFileError(problem(
                f"'{column}' 列含有逗号或换行。",
                f"Column {column!r} holds a comma or line break in row(s) {list(gdf.index[bad][:5])} "
                f"(e.g. {values[bad[0]]!r}); commas separate the fields of the format.", file=path,
                fix=f"replace the commas in {column!r}, e.g. with '，' or '、'"))
        fields[column] = values
    return fields


def _format(gdf: gpd.GeoDataFrame, geoms: NDArray[Any], zone: int, datum: str, path: Path) -> str:
    s = _settings()
    fields = _text_fields(gdf, path)
    polys, poly_parcel = shapely.get_parts(geoms, return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    ring_parcel = poly_parcel[ring_poly]
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    n_rings = len(rings)
    ring_len = np.bincount(coord_ring, minlength=n_rings)
    ring_first_coord = np.cumsum(ring_len) - ring_len
    first_ring_of_parcel = np.searchsorted(ring_parcel, ring_parcel, side="left")
    ring_number = np.arange(n_rings) - first_ring_of_parcel + 1
    # Points of a ring without its closing repeat, and how many earlier rings of the parcel used up.
    unique_pts = ring_len - 1
    before = np.cumsum(unique_pts) - unique_pts
    ring_offset = before - before[first_ring_of_parcel]
    position = np.arange(len(coords)) - ring_first_coord[coord_ring]
    closing = position == ring_len[coord_ring] - 1
    point_number = ring_offset[coord_ring] + np.where(closing, 0, position) + 1
    coord_parcel = ring_parcel[coord_ring]
    counts = np.bincount(coord_parcel, minlength=len(geoms))
    areas = shapely.area(geoms) / _M2_PER_HA

    d = s.coordinate_decimals
    point_lines = [f"J{p},{r},{north:.{d}f},{east:.{d}f}" for p, r, east, north in
                   zip(point_number.tolist(), ring_number[coord_ring].tolist(), coords[:, 0].tolist(),
                       coords[:, 1].tolist())]
    header = {key: "" for key in _WRITTEN_HEADER_KEYS}
    header.update({"数据产生日期": _dt.date.today().isoformat(), _KEY_DATUM: s.datum_written[datum],
                   _KEY_WIDTH: str(s.writer_width), _KEY_PROJECTION: "高斯克吕格", _KEY_UNIT: "米",
                   _KEY_ZONE: str(zone), "精度": f"{10.0 ** -d:.{d}f}", "转换参数": s.conversion_parameters})
    out = [f"[{_ATTRIBUTE_SECTION}]"] + [f"{k}={v}" for k, v in header.items()] + [f"[{_COORDINATE_SECTION}]"]
    starts = np.cumsum(counts) - counts
    for i in range(len(geoms)):
        out.append(",".join([str(counts[i]), f"{areas[i]:.{s.area_decimals}f}", fields["parcel_id"][i],
                             fields["name"][i], _POLYGON, fields["sheet"][i], fields["use"][i],
                             fields["land_class_code"][i], _PARCEL_END]))
        out.extend(point_lines[starts[i]:starts[i] + counts[i]])
    return s.line_ending.join(out) + s.line_ending
