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

Real exporters deviate from this in known ways, all accepted here: rings that never repeat their first point
(closed, with a recorded repair), other spellings of the datum and of the header keys (``分带=3度带``), an
empty ``带号`` or one holding the central meridian, parcel lines with 7, 10 (报省部标) or 13 (land
consolidation) fields, ``面积`` in square metres or mu, with or without a unit, full-width section brackets,
UTF-8 with or without byte-order mark, UTF-16, GBK, any line ends.  Files are recognised by their content
(:func:`looks_like_boundary_txt`), not by their suffix.

Because tools label and order the two columns inconsistently, which value is the northing is decided by
its number of digits (northing 7, easting 6 or 8), never by position alone.  The reader keeps the
coordinates exactly as written (no reprojection) and gives them the Gauss-Kruger CRS they are in; the
writer reprojects to a 3-degree zone when needed.

References
----------
.. [1] 建设项目用地红线坐标文件内容要求 (附件1): layout of the header and parcel lines, area in hectares.
.. [2] Public sample files of the 界址点坐标交换文件 (northing first; 8-digit eastings carry the zone prefix).
.. [3] ``data/boundary_txt.toml`` (accepted spellings, layouts, area units, digit rules, tolerances, formats,
   each with its source).
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pyproj import CRS, Transformer

from .. import crs as crsmod
from ..datafiles import load_model
from ..errors import (
    BoundaryTxtError,
    CRSError,
    EmptyLayerError,
    EncodingDetectionError,
    InputFileError,
    MissingFileError,
    SanxianWarning,
    problem,
)
from ..normalize import MAX_IDS_LISTED, Repair
from ..params import AsTuple, Sourced
from .encoding import decode_or_none, detect_bytes_encoding
from .safety import read_bytes_bounded

__all__ = ["PARCEL_COLUMNS", "EXTRA_COLUMNS", "looks_like_boundary_txt", "read_boundary_txt",
           "write_boundary_txt"]

_DATA_FILE = "boundary_txt.toml"

# Names fixed by the format itself (建设项目用地红线坐标文件内容要求, 附件1), not settings.
_ATTRIBUTE_SECTION = "属性描述"
_COORDINATE_SECTION = "地块坐标"
_KEY_VERSION = "格式版本号"
_KEY_PRODUCER = "数据产生单位"
_KEY_DATE = "数据产生日期"
_KEY_DATUM = "坐标系"
_KEY_WIDTH = "几度分带"
_KEY_PROJECTION = "投影类型"
_KEY_UNIT = "计量单位"
_KEY_ZONE = "带号"
_WRITTEN_HEADER_KEYS = (_KEY_VERSION, _KEY_PRODUCER, _KEY_DATE, _KEY_DATUM, _KEY_WIDTH, _KEY_PROJECTION,
                        _KEY_UNIT, _KEY_ZONE, "精度", "转换参数")
_PARCEL_END = "@"
_POLYGON, _LINE, _POINT = "面", "线", "点"
_KINDS = (_POLYGON, _LINE, _POINT)

#: Attribute columns of :func:`read_boundary_txt`, in this order, before the geometry.
PARCEL_COLUMNS = ("point_count", "area_ha", "parcel_id", "name", "geom_kind", "sheet", "use", "land_class_code",
                  "area_declared", "area_unit")
#: Further columns, present only when a parcel line of the file has them (报省部标 and land-consolidation layouts).
EXTRA_COLUMNS = ("township_code", "district_name", "patch_type", "land_class", "grade_before", "grade_after",
                 "remark", "extra_fields")
# Header-line fields that become text columns as they are.
_TEXT_FIELDS = ("parcel_id", "name", "sheet", "use", "land_class_code") + EXTRA_COLUMNS[:-1]
_LAYOUT_FIELDS = frozenset(("point_count", "area", "geom_kind") + _TEXT_FIELDS)
# Columns the writer takes from the caller's frame (and the header field each fills).
_TEXT_COLUMNS = ("parcel_id", "name", "sheet", "use", "land_class_code")

_M2_PER_HA = 10_000.0
# One zone's worth of easting: the zone number stands in front of the 6-digit easting (zone * 1e6 m).
_ZONE_PREFIX_M = 1_000_000.0
# Minimum number of point lines: a polygon ring needs 3 corners plus the closing repeat, a line 2 points.
_MIN_POINTS = {_POLYGON: 4, _LINE: 2, _POINT: 1}
# A ring written without its closing repeat needs its 3 corners.
_MIN_OPEN_RING = 3

# Section lines: ASCII, full-width or CJK brackets (【属性描述】, ［地块坐标］).
_SECTION_RE = re.compile(r"[\[【［]\s*(.*?)\s*[\]】］]")
_INTEGER_RE = re.compile(r"[+]?\d+")
# ArcGIS names of the Chinese Gauss-Kruger grids, e.g. CGCS2000_3_Degree_GK_Zone_38, Xian_1980_GK_CM_111E.
_ESRI_GK_RE = re.compile(r"(CGCS_?2000|Xian_?1980|Beijing_?1954)(?:_[36]_Degree)?_GK_(?:Zone_\d+|CM_\d+E)",
                         re.IGNORECASE)
_AREA_RE = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*")
# How much of a file the content sniffer looks at [bytes].
_SNIFF_BYTES = 65_536
_SNIFF_SECTION_RE = re.compile(r"^[ \t\ufeff]*[\[【［][ \t]*(属性描述|地块坐标)[ \t]*[\]】］]", re.MULTILINE)


# --------------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    """Spelling-insensitive form of a header value (case, blanks, separators and parentheses ignored)."""
    return re.sub(r"[\s_\-.·()（）]", "", text).casefold()


_Names = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], AsTuple]


def _pair(value: tuple[float, float]) -> tuple[float, float]:
    if not value[0] < value[1]:
        raise ValueError(f"must be [min, max] with min < max, got {list(value)} (下限须小于上限)")
    return value


_Pair = Annotated[tuple[float, float], AsTuple, AfterValidator(_pair)]


class _Table(Sourced):
    """A table whose keys besides ``source`` are its entries."""

    model_config = ConfigDict(extra="allow")

    @property
    def entries(self) -> dict[str, Any]:
        return self.model_extra or {}


class _Written(Sourced):
    CGCS2000: str
    Xian1980: str
    Beijing1954: str


class _Datums(Sourced):
    CGCS2000: _Names
    Xian1980: _Names
    Beijing1954: _Names
    written: _Written

    @cached_property
    def by_alias(self) -> dict[str, str]:
        """Datum of each accepted spelling (in :func:`_norm` form)."""
        return {_norm(alias): name for name in crsmod.DATUMS for alias in getattr(self, name)}


class _Numerals(_Table):
    __pydantic_extra__: dict[str, int]  # Chinese numeral -> zone width


class _Keys(_Table):
    __pydantic_extra__: dict[str, str]  # other name -> key of the format

    @cached_property
    def aliases(self) -> dict[str, str]:
        return {k.strip(): v.strip() for k, v in self.entries.items()}


class _Header(Sourced):
    default_datum: str
    default_zone_width: int
    zone_widths: Annotated[tuple[int, ...], AsTuple]
    projections: _Names
    units: _Names
    width_words: _Names
    width_numerals: _Numerals
    optional_sections: _Names
    keys: _Keys


def _layout(fields: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(fields) - _LAYOUT_FIELDS)
    missing = sorted({"point_count", "area", "parcel_id", "name", "geom_kind"} - set(fields))
    if unknown or missing or len(set(fields)) != len(fields):
        raise ValueError(f"unknown fields {unknown}, missing fields {missing} or a field twice; use only "
                         f"{sorted(_LAYOUT_FIELDS)}, each once (字段无效)")
    return fields


class _Layouts(_Table):
    __pydantic_extra__: dict[str, Annotated[_Names, AfterValidator(_layout)]]  # layout name -> its fields

    @model_validator(mode="after")
    def _distinct(self) -> _Layouts:
        layouts = self.entries
        if "standard" not in layouts:
            raise ValueError('the \'standard\' layout is missing: add standard = ["point_count", "area", ...]')
        if len({len(f) for f in layouts.values()}) != len(layouts):
            raise ValueError("two layouts have the same number of fields; layouts are told apart by their number "
                             "of fields, give each a different length (两个布局字段数相同)")
        return self


class _AreaUnitEntry(Sourced):
    per_hectare: float = Field(gt=0)
    label: str
    names: _Names


class _AreaUnits(_Table):
    __pydantic_extra__: dict[str, _AreaUnitEntry]  # unit code -> unit
    default: str
    inference_order: _Names

    @model_validator(mode="after")
    def _known(self) -> _AreaUnits:
        units = self.entries
        if self.default not in units or not set(self.inference_order) <= set(units) \
                or self.inference_order[:1] != (self.default,):
            raise ValueError(f"default {self.default!r} and inference_order {list(self.inference_order)} must name "
                             f"units of the table ({sorted(units)}), the default first")
        return self

    @cached_property
    def by_name(self) -> dict[str, str]:
        """Unit code of each accepted unit name (in :func:`_norm` form)."""
        return {_norm(n): code for code, unit in self.entries.items() for n in unit.names}


class _Magnitudes(Sourced):
    northing: _Pair
    easting: _Pair
    prefixed_easting: _Pair


class _AreaCheck(Sourced):
    absolute_ha: float = Field(ge=0)
    relative: float = Field(ge=0)


class _Writer(Sourced):
    coordinate_decimals: int = Field(ge=0)
    area_decimals: int = Field(ge=0)
    zone_width: int
    line_ending: str
    conversion_parameters: str


class _ReaderTable(Sourced):
    max_reported_problems: int = Field(ge=1)


class BoundaryTxtFile(Sourced):
    """The structure of ``data/boundary_txt.toml``."""

    what: ClassVar[str] = "界址点坐标文件格式 / land-boundary TXT format"
    datums: _Datums
    header: _Header
    parcel_layouts: _Layouts
    area_units: _AreaUnits
    magnitudes: _Magnitudes
    area_check: _AreaCheck
    writer: _Writer
    reader: _ReaderTable


@lru_cache(maxsize=1)
def _settings() -> BoundaryTxtFile:
    return load_model(BoundaryTxtFile, _DATA_FILE)


# --------------------------------------------------------------------------------------------------
# recognising the format
# --------------------------------------------------------------------------------------------------
def _sniff_text(head: bytes) -> str:
    """Best-effort text of the first bytes of a file, for recognising it (never for reading it)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return head.decode(codec)
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # only a character cut at the end of the sample
                return head[:exc.start].decode(codec, errors="ignore")
    return head.decode("utf-8", errors="ignore")


def looks_like_boundary_txt(path: str | Path) -> bool:
    """Whether a file is a land-boundary coordinate TXT, judged by its content (not its suffix).

    Parameters
    ----------
    path : str or Path
        Any file; only its first 64 KiB are read.

    Returns
    -------
    bool
        True when a line of that sample is a ``[属性描述]`` or ``[地块坐标]``
        section line (ASCII, full-width or 【】 brackets, leading blanks
        allowed), in UTF-8, GBK/GB18030 or UTF-16 (with byte-order mark).
        False for anything else, including folders and unreadable files.
    """
    path = Path(path)
    try:
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    return bool(_SNIFF_SECTION_RE.search(_sniff_text(head)))


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
        limit = _settings().reader.max_reported_problems
        head = f"界址点坐标文件中有 {len(items)} 处问题。 / The land-boundary TXT has {len(items)} problems"
        if len(items) > limit:
            head += f" (the first {limit} are listed)"
        raise BoundaryTxtError(head + ":\n\n" + "\n\n".join(message for _, message in items[:limit]))


@dataclass(frozen=True)
class _Parcel:
    line: int
    point_count: int | None
    area_value: float
    area_unit: str | None
    parcel_id: str
    name: str
    kind: str
    text: dict[str, str]

    @property
    def where(self) -> str:
        return f"parcel 编号 '{self.parcel_id}' (line {self.line})"


@dataclass
class _Parsed:
    header: dict[str, str] = field(default_factory=dict)
    # Value (stripped) and line of each header key of the format, found under its own name or an alias.
    canonical: dict[str, tuple[str, int]] = field(default_factory=dict)
    has_coordinates: bool = False
    parcels: list[_Parcel] = field(default_factory=list)
    pt_parcel: list[int] = field(default_factory=list)
    pt_ring: list[int] = field(default_factory=list)
    pt_name: list[str] = field(default_factory=list)
    pt_tokens: list[tuple[str, str]] = field(default_factory=list)
    pt_values: list[tuple[float, float]] = field(default_factory=list)
    pt_line: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    zero_counts: list[int] = field(default_factory=list)


def read_boundary_txt(path: str | Path, *, encoding: str | None = None,
                      emit_warnings: bool = True) -> gpd.GeoDataFrame:
    """Read a land-boundary coordinate exchange TXT (界址点坐标交换文件).

    Parameters
    ----------
    path : str or Path
        The file, whatever its suffix (``.txt`` or none).  It is only read,
        never modified.
    encoding : str, optional
        Text encoding.  By default a UTF-16 byte-order mark is honoured,
        then strict UTF-8 (with or without byte-order mark) is tried, then
        GB18030 (a superset of GBK, in which most of these files are written).
    emit_warnings : bool
        Also emit every entry of ``attrs["sanxian"]["warnings"]`` as a
        :class:`~sanxian_yidan.errors.SanxianWarning` (default).
        :func:`sanxian_yidan.io.read_vector` passes False and emits them itself.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per parcel with the columns of :data:`PARCEL_COLUMNS`:
        ``point_count`` (点数 as written; NaN when blank or 0),
        ``area_ha`` (the declared 面积 converted to hectares [ha], NaN when
        blank or 0), ``parcel_id`` (编号), ``name`` (名称), ``geom_kind``
        (面/线/点), ``sheet`` (图幅号), ``use`` (用途), ``land_class_code``
        (地类编码), ``area_declared`` (the number written) and ``area_unit``
        (``"ha"``, ``"m2"`` or ``"mu"``: the unit written after the number,
        else the unit whose area matches the coordinates, hectares first;
        ``""`` when no area is declared); then the columns of
        :data:`EXTRA_COLUMNS` that the file's parcel lines have (报省部标:
        ``township_code``, ``district_name``; land consolidation:
        ``patch_type``, ``land_class``, ``grade_before``, ``grade_after``,
        ``remark``); and a geometry: Polygon or MultiPolygon for 面 (rings
        inside another ring are holes, whatever their 圈号 and orientation;
        rings written without their closing repeat are closed), LineString or
        MultiLineString for 线, Point or MultiPoint for 点.  Coordinates are
        exactly those of the file (x = easting, with the zone prefix if the
        file has it; y = northing) [m], and the CRS is the Gauss-Kruger CRS
        they are in: the zone of the 8-digit eastings or of ``带号``, the datum
        of ``坐标系``.  ``gdf.attrs["sanxian"]`` holds ``source_path``,
        ``encoding`` (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"gbk"``,
        ``"gb18030"`` or the one given), ``header`` (every ``[属性描述]`` key
        and value as written), ``repairs`` (:class:`sanxian_yidan.normalize.Repair`
        of kind ``"ring_closed"`` or ``"ring_split"``, feature ids = row
        numbers) and ``warnings``
        (legacy datum, repairs, area units, declared areas that differ from
        the coordinates, assumptions made).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    EncodingDetectionError
        If the bytes are neither UTF-8, UTF-16 (with mark) nor GBK/GB18030
        (or not the encoding given).
    BoundaryTxtError
        For an empty file, a missing ``[地块坐标]`` section, point lines before
        any parcel header, non-numeric values, a ``点数`` that fits neither the
        point lines written nor those with the missing closing repeats, a
        ring whose last point repeats the first point's number at other
        coordinates, rings too short, coordinates that are not Gauss-Kruger
        northing/easting, an unknown ``坐标系``, a parcel line with a field
        count of no known layout, or a ``带号`` that disagrees with the zone
        prefix of the eastings.  All problems of the file are listed
        together, each with its line number, parcel and fix.

    References
    ----------
    .. [1] 建设项目用地红线坐标文件内容要求 (附件1), layout and hectares.
    .. [2] Public sample files of the 界址点坐标交换文件.
    .. [3] ``data/boundary_txt.toml`` (spellings, layouts, units, tolerances with their sources).
    """
    path = Path(path)
    # Refuses a missing path, a folder, a FIFO or a device (e.g. /dev/zero behind a symlink) before reading.
    data = read_bytes_bounded(path, what="land-boundary TXT", allow_empty=True)
    text, used = _decode(data, path, encoding)
    if not text.strip():
        raise BoundaryTxtError(problem("文件为空。", "The file is empty.", file=path,
                                       fix="export the land-boundary TXT again; the file has no content"))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems = _Problems(path)
    parsed = _parse(lines, problems)
    if not parsed.has_coordinates:
        raise BoundaryTxtError(problem(
            f"文件中没有 [{_COORDINATE_SECTION}] 节，不是界址点坐标交换文件。",
            f"The file has no [{_COORDINATE_SECTION}] section, so it has no parcel coordinates; a land-boundary "
            f"coordinate TXT (界址点坐标交换文件) has a [{_ATTRIBUTE_SECTION}] section followed by a "
            f"[{_COORDINATE_SECTION}] section.",
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
    rings, repairs = _check_structure(parsed, kinds, pp, values, pt_line, problems)
    problems.raise_if_any()
    assert crs is not None  # every path that leaves crs unset records a problem
    notes.extend(r.detail for r in repairs)

    geoms = _build_geometries(np.column_stack([easting, northing]), pp, rings, kinds, len(parsed.parcels))
    parcels = parsed.parcels
    invalid = np.flatnonzero((kinds == _POLYGON) & ~shapely.is_valid(geoms))
    for i in invalid[:_settings().reader.max_reported_problems]:
        p = parcels[i]
        notes.append(f"parcel {p.parcel_id!r} (line {p.line}): its rings do not form a valid polygon "
                     f"({shapely.is_valid_reason(geoms[i])}); its area is not reliable until repaired (the toolkit's "
                     f"normalisation repairs it with make_valid); check the 圈号 of its rings and their order / 地块 "
                     f"{p.parcel_id} 的界址圈不构成有效多边形，请检查圈号与点序")
    area_ha, unit_codes, area_notes = _declared_areas(parcels, shapely.area(geoms))
    notes.extend(area_notes)
    # The text columns as written (blank where the parcel line's layout lacks the field); the extra columns
    # only when some parcel line has them.
    computed = {"point_count": pd.array([p.point_count for p in parcels], dtype="Int64"), "area_ha": area_ha,
                "geom_kind": [p.kind for p in parcels], "area_unit": unit_codes,
                "area_declared": np.array([p.area_value for p in parcels], dtype=float)}
    columns = {c: computed[c] if c in computed else [p.text.get(c, "") for p in parcels]
               for c in PARCEL_COLUMNS + EXTRA_COLUMNS if c in PARCEL_COLUMNS or any(c in p.text for p in parcels)}
    gdf = gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)
    legacy = crsmod.legacy_datum_warning(crs)
    if legacy:
        notes.insert(0, legacy)
    gdf.attrs["sanxian"] = {"source_path": str(path), "encoding": used, "header": dict(parsed.header),
                            "repairs": list(repairs), "warnings": notes}
    if emit_warnings:
        for note in notes:
            warnings.warn(f"{path}: {note}", SanxianWarning, stacklevel=2)
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
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows 'Unicode' text (UTF-16 with byte-order mark), as written by wide-character exporters.
        try:
            return data.decode("utf-16").lstrip("\ufeff"), "utf-16"
        except UnicodeDecodeError as exc:
            raise EncodingDetectionError(problem(
                "文件以 UTF-16 字节顺序标记开头，但内容不是有效的 UTF-16。",
                f"The file starts with a UTF-16 byte-order mark but is not valid UTF-16 (offset {exc.start}).",
                file=path, fix="save the file again as UTF-8 or GBK")) from exc
    guess = detect_bytes_encoding(data, file=path)
    # GB18030 decodes every GBK file identically; report the narrower name when it fits, since that is what
    # the exporting software (code page 936) wrote.
    gbk = guess.encoding == "gb18030" and decode_or_none(data, "gbk") is not None
    return data.decode(guess.encoding).lstrip("\ufeff"), "gbk" if gbk else guess.encoding


def _parse(lines: list[str], problems: _Problems) -> _Parsed:
    """Split the text into header values, parcels and point lines; record syntax problems."""
    s = _settings()
    out = _Parsed()
    section: str | None = None
    ignored: list[int] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        match = _SECTION_RE.fullmatch(line)
        if match:
            section = match.group(1)
            if section == _COORDINATE_SECTION:
                out.has_coordinates = True
            elif section != _ATTRIBUTE_SECTION and section not in s.header.optional_sections:
                out.notes.append(f"section [{section}] (line {number}) is not part of the format and was "
                                 f"ignored / 第 {number} 行的 [{section}] 节不属于本格式，已忽略")
            continue
        if section == _ATTRIBUTE_SECTION:
            key, sep, value = line.replace("＝", "=").partition("=")
            if sep:
                key, value = key.strip(), value.strip()
                out.header[key] = value
                canonical = s.header.keys.aliases.get(key, key)
                if canonical not in out.canonical or key == canonical:
                    out.canonical[canonical] = (value, number)
            else:
                ignored.append(number)
        elif section == _COORDINATE_SECTION:
            _parse_coordinate_line(line, number, out, problems)
        elif section not in s.header.optional_sections:
            ignored.append(number)
    if ignored:
        shown = ", ".join(str(n) for n in ignored[:10]) + (" ..." if len(ignored) > 10 else "")
        out.notes.append(f"{len(ignored)} line(s) outside the format were ignored (lines {shown}) / "
                         f"忽略了 {len(ignored)} 行格式之外的内容")
    if out.zero_counts:
        shown = ", ".join(str(n) for n in out.zero_counts[:10]) + (" ..." if len(out.zero_counts) > 10 else "")
        out.notes.append(f"点数=0 on {len(out.zero_counts)} parcel line(s) (lines {shown}) was read as 'not "
                         f"given' / {len(out.zero_counts)} 个地块的点数为 0，按未填写处理")
    return out


def _parse_coordinate_line(line: str, number: int, out: _Parsed, problems: _Problems) -> None:
    fields = [f.strip() for f in line.split(",")]
    if fields[-1] == _PARCEL_END or len(fields) >= min(len(f) for f in _settings().parcel_layouts.entries.values()):
        _parse_parcel_header(fields, number, out, problems)
    elif len(fields) == 4:
        _parse_point_line(fields, number, out, problems)
    else:
        problems.add(number, f"第 {number} 行既不是地块行也不是界址点行。",
                     f"Line {number} is neither a parcel header nor a point line: {line!r} has {len(fields)} "
                     "comma-separated fields.",
                     fix="a parcel header reads '点数,面积,编号,名称,面,图幅号,用途,地类编码,@', a point line "
                         "'点号,圈号,X,Y'")


def _pick_layout(body: list[str]) -> tuple[str, ...] | None:
    """The layout of a parcel line's fields: same number of fields and a 面/线/点 where it belongs.

    Trailing empty fields beyond the standard layout are dropped until a layout fits.
    """
    layouts = _settings().parcel_layouts.entries
    by_length = {len(f): f for f in layouts.values()}

    def fits(fields: tuple[str, ...], values: list[str]) -> bool:
        # A blank 图形属性 (read as 面) is only trusted in layouts no longer than the standard one: in a
        # longer line it cannot tell the layout from a standard line with surplus commas.
        kind = values[fields.index("geom_kind")]
        return kind in _KINDS or (kind == "" and len(fields) <= len(layouts["standard"]))

    trimmed = list(body)
    while True:
        candidate = by_length.get(len(trimmed))
        if candidate and fits(candidate, trimmed):
            return candidate
        if not (trimmed and trimmed[-1] == "" and len(trimmed) > len(layouts["standard"])):
            return None
        trimmed.pop()


def _parse_parcel_header(fields: list[str], number: int, out: _Parsed, problems: _Problems) -> None:
    s = _settings()
    body = fields[:-1] if fields[-1] == _PARCEL_END else list(fields)
    standard = s.parcel_layouts.entries["standard"]
    names = _pick_layout(body)
    extra = ""
    if names is None:
        # Read as the standard layout: a shorter line padded with blanks, a longer one cut.
        names = standard
        if len(body) >= len(standard) and body[standard.index("geom_kind")] in _KINDS:
            # A longer line of no known layout that starts like the standard one: keep the rest as it is.
            extra = ",".join(body[len(standard):]).strip(",")
            out.notes.append(f"the parcel line on line {number} has {len(fields) - 1} fields; the first "
                             f"{len(standard)} were read as the standard ones and the rest kept in column "
                             f"'extra_fields' / 第 {number} 行地块信息字段较多，多余字段保存在 extra_fields 列")
        elif len(body) >= len(standard):
            known = sorted(len(f) for f in s.parcel_layouts.entries.values())
            problems.add(number, f"第 {number} 行地块信息的字段数（{len(body)} 个）不符合任何已知格式。",
                         f"The parcel header on line {number} has {len(body)} fields before '@'; the known "
                         f"layouts have {known} fields with 面/线/点 at their 图形属性 position.",
                         feature=f"parcel 编号 '{body[standard.index('parcel_id')]}' (line {number})",
                         fix="remove commas from 名称/用途 (a comma separates fields), or write the standard "
                             "'点数,面积,编号,名称,面,图幅号,用途,地类编码,@'")
        body = (body + [""] * len(standard))[:len(standard)]
    values = dict(zip(names, body))
    parcel_id = values["parcel_id"]
    where = f"parcel 编号 '{parcel_id}' (line {number})"
    raw_count = values["point_count"]
    count = int(raw_count) if _INTEGER_RE.fullmatch(raw_count) else None
    if count == 0:
        out.zero_counts.append(number)
    elif raw_count and count is None:
        problems.add(number, f"第 {number} 行的点数 '{raw_count}' 不是整数。",
                     f"点数 (point count) {raw_count!r} on line {number} is not a whole number.",
                     feature=where, fix="write the number of point lines of the parcel, closing repeats included")
    area, unit = _parse_area(values["area"], number, where, problems)
    kind = values["geom_kind"] or _POLYGON
    if kind not in _KINDS:
        problems.add(number, f"第 {number} 行的图形类型 '{kind}' 无效。",
                     f"Geometry type {kind!r} on line {number} is not 面, 线 or 点.",
                     feature=where, fix="write 面 (polygon), 线 (line) or 点 (point) in the 5th field")
        kind = _POLYGON
    text = {k: v for k, v in values.items() if k in _TEXT_FIELDS}
    if extra:
        text["extra_fields"] = extra
    out.parcels.append(_Parcel(number, count or None, area, unit, parcel_id, values["name"], kind, text))


def _parse_area(token: str, number: int, where: str, problems: _Problems) -> tuple[float, str | None]:
    """Number and unit code of a 面积 field ('1.94', '109.43平方米', '0.7655公顷'); NaN when blank or 0."""
    if not token:
        return np.nan, None
    s = _settings()
    match = _AREA_RE.fullmatch(token)
    unit: str | None = None
    if match is not None and match.group(2):
        unit = s.area_units.by_name.get(_norm(match.group(2)))
    if match is None or (match.group(2) and unit is None):
        names = sorted({u.label for u in s.area_units.entries.values()})
        problems.add(number, f"第 {number} 行的面积 '{token}' 不是数字（可带单位）。",
                     f"面积 (area) {token!r} on line {number} is not a number with an optional unit "
                     f"({', '.join(names)}).",
                     feature=where, fix="write the area in hectares, e.g. 1.9400, or leave it blank")
        return np.nan, None
    value = float(match.group(1))
    if value == 0.0:
        return np.nan, None
    return value, unit


def _parse_point_line(fields: list[str], number: int, out: _Parsed, problems: _Problems) -> None:
    if not out.parcels:
        problems.add(number, f"第 {number} 行界址点出现在任何地块行之前。",
                     f"Point line {number} comes before any parcel header line.",
                     fix="put the parcel header '点数,面积,编号,名称,面,图幅号,用途,地类编码,@' above its points")
        return
    parcel = out.parcels[-1]
    ring = int(fields[1]) if _INTEGER_RE.fullmatch(fields[1]) and int(fields[1]) >= 1 else -1
    if ring == -1:
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
    value = float(token)
    return value if np.isfinite(value) else np.nan


def _in(values: NDArray[np.float64], bounds: tuple[float, float]) -> NDArray[np.bool_]:
    return (values >= bounds[0]) & (values < bounds[1])


def _order_axes(values: NDArray[np.float64], parsed: _Parsed, problems: _Problems,
                notes: list[str]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Tell northing from easting by their digits; return (northing, easting), NaN where unusable."""
    m = _settings().magnitudes
    a, b = values[:, 0], values[:, 1]

    def is_easting(v: NDArray[np.float64]) -> NDArray[np.bool_]:
        return _in(v, m.easting) | _in(v, m.prefixed_easting)

    normal = _in(a, m.northing) & is_easting(b)
    swapped = _in(b, m.northing) & is_easting(a)
    bad = np.isfinite(a) & np.isfinite(b) & ~normal & ~swapped
    for i in np.flatnonzero(bad).tolist():
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
    northing, easting = (b, a) if swap else (a, b)
    return np.where(usable, northing, np.nan), np.where(usable, easting, np.nan)


def _datum_of(raw: str) -> str:
    """Datum name of a 坐标系 value, or "" when it is none of the accepted spellings.

    Tried in turn: the value; the value without what stands in parentheses ('2000国家大地坐标系(CGCS2000)');
    the datum at the front of an ArcGIS projected-CRS name ('CGCS2000_3_Degree_GK_Zone_38',
    'Xian_1980_3_Degree_GK_CM_114E'), as arcpy-based exporters write the layer's spatial-reference name.
    """
    aliases = _settings().datums.by_alias
    datum = aliases.get(_norm(raw)) or aliases.get(_norm(re.sub(r"[（(].*?[）)]", "", raw)))
    if datum:
        return datum
    esri = _ESRI_GK_RE.fullmatch(raw.strip())
    return aliases.get(_norm(esri.group(1)), "") if esri else ""


def _width_digits(raw: str) -> str:
    """'3', '3度', '3度带', '3°', '三度带' -> '3' (anything else is returned without its blanks)."""
    header = _settings().header
    text = re.sub(r"\s", "", raw)
    for word in sorted(header.width_words, key=len, reverse=True):
        text = text.replace(word, "")
    return "".join(str(header.width_numerals.entries.get(c, c)) for c in text)


def _header_crs(parsed: _Parsed, easting: NDArray[np.float64], pt_line: NDArray[np.int64],
                problems: _Problems, notes: list[str]) -> CRS | None:
    """The Gauss-Kruger CRS of the file from 坐标系, 几度分带, 带号 and the eastings."""
    s = _settings()
    h = s.header
    known = len(problems.items)  # the header's own problems leave the CRS undecided

    raw, line = parsed.canonical.get(_KEY_DATUM, ("", 0))
    if not raw:
        datum = h.default_datum
        notes.append(f"no 坐标系 in [{_ATTRIBUTE_SECTION}]: the coordinates were taken as {datum} / "
                     f"未注明坐标系，按 {getattr(s.datums.written, datum)} 处理")
    else:
        datum = _datum_of(raw)
        if not datum:
            problems.add(line, f"无法识别的坐标系 '{raw}'。",
                         f"Unknown 坐标系 {raw!r} on line {line}: only the CGCS2000, Xian 1980 and Beijing 1954 "
                         "Gauss-Kruger grids are defined for this format.",
                         fix="write 坐标系=2000国家大地坐标系 (or 1980西安坐标系 / 1954北京坐标系); local or "
                             "WGS84 coordinates must be converted first")

    raw, line = parsed.canonical.get(_KEY_WIDTH, ("", 0))
    width = h.default_zone_width
    if raw:
        digits = _width_digits(raw)
        if _INTEGER_RE.fullmatch(digits) and int(digits) in h.zone_widths:
            width = int(digits)
        else:
            problems.add(line, f"几度分带 '{raw}' 无效。",
                         f"几度分带 (zone width) {raw!r} on line {line} is not one of {list(h.zone_widths)}.",
                         fix="write 几度分带=3 (or 6)")

    for key, accepted, example in ((_KEY_PROJECTION, h.projections, "高斯克吕格"), (_KEY_UNIT, h.units, "米")):
        raw, line = parsed.canonical.get(key, ("", 0))
        if raw and _norm(raw) not in map(_norm, accepted):
            problems.add(line, f"不支持的{key} '{raw}'。",
                         f"{key} {raw!r} on line {line} is not supported: the format holds Gauss-Kruger "
                         "coordinates in metres.", fix=f"write {key}={example} (convert the coordinates first)")

    raw, zone_line = parsed.canonical.get(_KEY_ZONE, ("", 0))
    header_zone: int | None = None
    if raw:
        digits = re.sub(r"[\s第带号]", "", raw)  # '38', '第38带'
        header_zone = _zone_of(digits, width) if _INTEGER_RE.fullmatch(digits) else None
        if header_zone is None:
            problems.add(zone_line, f"带号 '{raw}' 无效。",
                         f"带号 (zone) {raw!r} on line {zone_line} is neither a {width}-degree zone number nor "
                         "a central meridian.", fix="write the zone number, e.g. 带号=38 for Suizhou")
        elif header_zone != int(digits):
            notes.append(f"带号={raw} was read as the central meridian {digits}E, i.e. zone {header_zone} / "
                         f"带号 {raw} 按中央经线理解（第 {header_zone} 带）")

    finite = np.isfinite(easting)
    if not finite.any() or len(problems.items) > known:
        return None
    east = easting[finite]
    lines = pt_line[finite]
    prefixed = _in(east, s.magnitudes.prefixed_easting)
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
    # Without the prefix gk_crs takes the central meridian: 3n E for 3-degree zone n, 6n-3 E for 6-degree zone n.
    value = zone if prefixed else 3 * zone if width == 3 else 6 * zone - 3
    return crsmod.gk_crs(value, datum=datum, prefixed=prefixed, width=width)


def _zone_of(raw: str, width: int) -> int | None:
    """Zone number of a 带号 value, which some tools fill with the central meridian instead."""
    value = int(raw)
    with suppress(CRSError):
        crsmod.gk_crs(value, prefixed=True, width=width)
        return value
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
                     pt_line: NDArray[np.int64], problems: _Problems) -> tuple[_Rings, list[Repair]]:
    """Split points into rings; check 点数, closure and ring length; list the rings closed as repairs.

    A polygon ring whose last point differs from its first was written without the closing repeat (some
    exporters never write it): it is closed, and 点数 may count either the points written or those plus the
    missing repeats.  A last point with the *number* of the first at other coordinates contradicts itself and
    is refused.
    """
    n_parcels = len(parsed.parcels)
    counts = np.bincount(pp, minlength=n_parcels)
    n = len(pp)
    ring_no = np.asarray(parsed.pt_ring, dtype=np.int64)
    new_ring = np.ones(n, dtype=bool)
    new_ring[1:] = (pp[1:] != pp[:-1]) | (ring_no[1:] != ring_no[:-1])
    split = _split_closed_runs(new_ring, values, kinds[pp] == _POLYGON if n else np.zeros(0, dtype=bool))
    new_ring = new_ring | split
    start = np.flatnonzero(new_ring)
    end = np.append(start[1:], n)[:start.size] - 1
    rings = _Rings(of_point=np.cumsum(new_ring) - 1, parcel=pp[start])
    size = end - start + 1
    kind = kinds[rings.parcel]
    a, b = values[start], values[end]
    finite = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    open_ = (kind == _POLYGON) & finite & (a != b).any(axis=1)
    names = np.asarray(parsed.pt_name, dtype=object)
    conflict = open_ & (names[start] == names[end]) & (names[start] != "")
    repaired = open_ & ~conflict
    open_per_parcel = np.bincount(rings.parcel[repaired], minlength=n_parcels)

    for i, parcel in enumerate(parsed.parcels):
        if counts[i] == 0:
            problems.add(parcel.line, f"地块 {parcel.parcel_id} 没有界址点。",
                         f"Parcel {parcel.parcel_id!r} (line {parcel.line}) has no point lines.",
                         feature=parcel.where, fix="add its point lines '点号,圈号,X,Y' below the header line")
        elif parcel.point_count is not None and parcel.point_count not in (counts[i],
                                                                           counts[i] + open_per_parcel[i]):
            first, last = pt_line[pp == i][[0, -1]].tolist()
            also = (f" ({counts[i] + open_per_parcel[i]} with the closing repeats its {open_per_parcel[i]} "
                    "unclosed ring(s) lack)") if open_per_parcel[i] else ""
            problems.add(parcel.line, f"地块 {parcel.parcel_id} 的点数 {parcel.point_count} 与界址点行数 "
                         f"{counts[i]} 不符。",
                         f"Parcel {parcel.parcel_id!r} (line {parcel.line}) declares 点数={parcel.point_count} "
                         f"but has {counts[i]} point lines (lines {first}-{last}){also}.",
                         feature=parcel.where,
                         fix="correct 点数 (it counts every point line, the closing repeats included) or restore "
                             "the missing point lines")
    if n == 0:
        return rings, []
    need = np.select([kind == k for k in _KINDS], [_MIN_POINTS[k] for k in _KINDS])
    need = np.where(repaired, _MIN_OPEN_RING, need)
    for r in np.flatnonzero(conflict | (size < need)):
        parcel = parsed.parcels[rings.parcel[r]]
        s_line, e_line = int(pt_line[start[r]]), int(pt_line[end[r]])
        ring = ring_no[start[r]]
        if conflict[r]:
            name = parsed.pt_name[end[r]]
            problems.add(e_line, f"地块 {parcel.parcel_id} 的第 {ring} 圈未闭合：末点 {name} 与首点同号但坐标不同。",
                         f"Ring {ring} of parcel {parcel.parcel_id!r} is not closed: its last point {name} "
                         f"(line {e_line}) repeats the number of its first point (line {s_line}) at other "
                         f"coordinates ({', '.join(parsed.pt_tokens[end[r]])} instead of "
                         f"{', '.join(parsed.pt_tokens[start[r]])}).",
                         feature=parcel.where,
                         fix="correct the coordinates of the closing point (it must repeat the first point)")
        if size[r] < need[r]:
            what = ("a polygon ring needs 3 corners" + ("" if repaired[r] else " and the closing repeat")
                    if kind[r] == _POLYGON else "a line needs 2 points")
            problems.add(s_line, f"地块 {parcel.parcel_id} 的第 {ring} 圈点数不足（{size[r]} 个）。",
                         f"Ring {ring} of parcel {parcel.parcel_id!r} (lines {s_line}-{e_line}) has only "
                         f"{size[r]} point lines; {what} (at least {need[r]}).",
                         feature=parcel.where, fix="restore the missing points or remove the ring")
    repairs = []
    if split.any():
        where = sorted({f"圈号 {ring_no[i]} of parcel {parsed.parcels[pp[i]].parcel_id!r} (line {pt_line[i]})"
                        for i in np.flatnonzero(split)})
        parcels = np.unique(pp[split])
        repairs.append(Repair("ring_split", int(parcels.size), tuple(parcels[:MAX_IDS_LISTED].tolist()),
                              f"{int(split.sum())} ring(s) continue under the 圈号 of a ring that had already "
                              f"closed; each closed ring was read as a ring of its own: {'; '.join(where[:5])}"
                              f"{' ...' if len(where) > 5 else ''} / {int(split.sum())} 个界址圈与前一圈同圈号，"
                              "已按闭合点分开"))
    closed = np.flatnonzero(repaired & (size >= need))
    if closed.size:
        shown = "; ".join(f"ring {ring_no[start[r]]} of parcel {parsed.parcels[rings.parcel[r]].parcel_id!r} "
                          f"(lines {pt_line[start[r]]}-{pt_line[end[r]]})" for r in closed[:5])
        more = f" and {closed.size - 5} more" if closed.size > 5 else ""
        parcels = np.unique(rings.parcel[closed])
        repairs.append(Repair("ring_closed", int(parcels.size), tuple(parcels[:MAX_IDS_LISTED].tolist()),
                              f"{closed.size} ring(s) written without repeating their first point were closed: "
                              f"{shown}{more} / {closed.size} 个界址圈未重复首点，已自动闭合"))
    return rings, repairs


def _split_closed_runs(new_ring: NDArray[np.bool_], values: NDArray[np.float64],
                       polygon: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Points that start a further ring inside a run of one 圈号 (polygon parcels only).

    A ring closes where a point repeats the ring's first point; points after it that still carry the same
    圈号 form another ring (exporters that number every part 1).  Repeated until no ring closes early, each
    pass splitting at most one further ring per run.
    """
    n = len(new_ring)
    split = np.zeros(n, dtype=bool)
    if n < 2:
        return split
    index = np.arange(n)
    while True:
        starts = new_ring | split
        first = np.flatnonzero(starts)[np.cumsum(starts) - 1]
        closes = (values == values[first]).all(axis=1) & (index != first) & polygon
        after = np.zeros(n, dtype=bool)
        # A closing point written twice (some exporters add the first point to an already closed ring) is
        # not the start of another ring.
        after[1:] = closes[:-1] & ~starts[1:] & polygon[1:] & (values[1:] != values[:-1]).any(axis=1)
        if not after.any():
            return split
        split |= after


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
    return shapely.polygons(rings[order], indices=part_index), parcel[owners]


def _collect(parts: NDArray[Any], part_parcel: NDArray[np.int64], out: NDArray[Any],
             multi: Callable[..., NDArray[Any]]) -> None:
    """Put single parts into ``out`` as they are and join several parts of a parcel into a multi-geometry."""
    _, inverse, counts = np.unique(part_parcel, return_inverse=True, return_counts=True)
    single = counts[inverse] == 1
    out[part_parcel[single]] = parts[single]
    if not single.all():
        parcels, index = np.unique(part_parcel[~single], return_inverse=True)
        out[parcels] = multi(parts[~single], indices=index)


def _declared_areas(parcels: list[_Parcel], computed_m2: NDArray[np.float64]
                    ) -> tuple[NDArray[np.float64], list[str], list[str]]:
    """Declared 面积 in hectares, the unit it is in, and notes on inferred units and mismatches.

    The unit written after the number is used as it is.  A bare number of a polygon parcel is read in the
    first unit of ``area_units.inference_order`` (hectares, the unit of the format, first) whose area matches
    the coordinates within ``max(area_check.absolute_ha, area_check.relative * computed)``; when none matches,
    in hectares, and the mismatch is noted.  Lines and points are never checked.

    Parameters
    ----------
    parcels : list of _Parcel
        Parsed parcel header lines.
    computed_m2 : ndarray
        Plane area of each parcel's geometry [m²] (0 for lines and points).

    Returns
    -------
    (ndarray, list of str, list of str)
        ``area_ha`` [ha] (NaN when no area is declared), unit codes (``""`` when none) and notes.

    References
    ----------
    .. [1] ``data/boundary_txt.toml`` ``[area_units]`` (1 ha = 10 000 m², 1 亩 = 10000/15 m²) and ``[area_check]``.
    """
    s = _settings()
    table = s.area_units.entries
    codes = list(s.area_units.inference_order)
    n = len(parcels)
    value = np.array([p.area_value for p in parcels], dtype=float)
    polygon = np.array([p.kind == _POLYGON for p in parcels], dtype=bool)
    written = np.array([codes.index(p.area_unit) if p.area_unit in codes else -1 for p in parcels], dtype=np.int64)
    as_m2 = value[:, None] * np.array([_M2_PER_HA / table[c].per_hectare for c in codes])[None, :]
    tolerance = np.maximum(s.area_check.absolute_ha * _M2_PER_HA, s.area_check.relative * computed_m2)
    match = np.abs(as_m2 - computed_m2[:, None]) <= tolerance[:, None]
    first_match = np.where(match.any(axis=1), match.argmax(axis=1), -1)
    chosen = np.where(written >= 0, written, np.where(polygon & (first_match >= 0), first_match, 0))
    declared = np.isfinite(value)
    area_ha = np.where(declared, as_m2[np.arange(n), chosen] / _M2_PER_HA, np.nan)
    units = [codes[c] if d else "" for c, d in zip(chosen.tolist(), declared.tolist())]

    notes = []
    inferred = declared & polygon & (written < 0) & (chosen > 0)
    for c in np.unique(chosen[inferred]):
        rows = np.flatnonzero(inferred & (chosen == c))
        unit = table[codes[c]]
        ids = ", ".join(repr(parcels[i].parcel_id) for i in rows[:5]) + (" ..." if rows.size > 5 else "")
        notes.append(f"面积 of {rows.size} parcel(s) ({ids}) is a bare number that matches the coordinates in "
                     f"{unit.label} ({codes[c]}), not in 公顷 as the format requires; area_ha was converted from "
                     f"{unit.label} / {rows.size} 个地块的面积按{unit.label}填写（格式要求公顷），已换算为公顷")
    mismatch = declared & polygon & ~match[np.arange(n), chosen]
    computed_ha = computed_m2 / _M2_PER_HA
    for i in np.flatnonzero(mismatch):
        p = parcels[i]
        unit = table[codes[chosen[i]]]
        tol_ha = tolerance[i] / _M2_PER_HA
        tried = (f"the unit written ({unit.label})" if written[i] >= 0
                 else "every unit tried (" + ", ".join(table[c].label for c in codes) + ")")
        notes.append(f"parcel {p.parcel_id!r} (line {p.line}) declares 面积={value[i]:g} {unit.label} = "
                     f"{area_ha[i]:.4f} ha but its coordinates enclose {computed_ha[i]:.4f} ha (difference "
                     f"{area_ha[i] - computed_ha[i]:+.4f} ha, tolerance {tol_ha:.4f} ha) in "
                     f"{tried}; check the area and the rings / 地块 "
                     f"{p.parcel_id} 申报面积 {value[i]:g}{unit.label} 与坐标计算面积 {computed_ha[i]:.4f} 公顷不符")
    return area_ha, units, notes


# --------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------
def write_boundary_txt(gdf: gpd.GeoDataFrame, path: str | Path, *, zone: int | None = None,
                       encoding: str = "gbk", prefixed: bool = True, datum: str = "CGCS2000",
                       overwrite: bool = False, format_version: str | None = None, producer: str | None = None,
                       produced_on: str | _dt.date | None = None) -> Path:
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
    format_version, producer, produced_on : str, optional
        ``格式版本号``, ``数据产生单位`` and ``数据产生日期`` (a ``datetime.date``
        is written as ``YYYY-MM-DD``).  By default those of the file ``gdf``
        was read from (``gdf.attrs["sanxian"]["header"]``, kept by
        :func:`read_boundary_txt` and :func:`sanxian_yidan.io.read_vector`);
        without them blank, blank and today's date.  Pass ``""`` to write a
        field blank.

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
    .. [1] 建设项目用地红线坐标文件内容要求 (附件1).
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
    bad = ~np.isin(shapely.get_type_id(geoms), (3, 6)) | shapely.is_empty(geoms)  # 3 Polygon, 6 MultiPolygon
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
    canonical = s.datums.by_alias.get(_norm(str(datum)))
    if canonical is None:
        raise CRSError(problem(f"未知的坐标系 {datum!r}。", f"Unknown datum {datum!r}.", file=path,
                               fix=f"use one of {list(crsmod.DATUMS)}"))
    source = CRS.from_user_input(gdf.crs)
    zone = _zone_of_longitude(geoms, source, s.writer.zone_width) if zone is None else zone
    target = _gk(zone, canonical, prefixed=prefixed, width=s.writer.zone_width)
    _warn_datum_change(source, target)
    oriented = _orient_clockwise(_to_target(geoms, source, target, zone, canonical, prefixed, s.writer.zone_width))
    kept = _kept_header(gdf, {_KEY_VERSION: format_version, _KEY_PRODUCER: producer, _KEY_DATE: produced_on},
                        path)
    text = _format(gdf, oriented, zone, canonical, path, kept)
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


def _datum_name(crs: CRS) -> str | None:
    datum = crs.geodetic_crs.datum if crs.geodetic_crs is not None else None
    return datum.name if datum is not None else None


def _warn_datum_change(source: CRS, target: CRS) -> None:
    message = crsmod.legacy_datum_warning(source) or crsmod.legacy_datum_warning(target)
    if message and _datum_name(source) != _datum_name(target):
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
        values = ["" if pd.isna(v) else str(v).strip() for v in gdf[column]] if column in gdf.columns else [""] * n
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


def _kept_header(gdf: gpd.GeoDataFrame, given: dict[str, Any], path: Path) -> dict[str, str]:
    """格式版本号, 数据产生单位, 数据产生日期 to write: as given, else as read, else blank/blank/today."""
    meta = gdf.attrs.get("sanxian")
    read = meta.get("header") if isinstance(meta, dict) else None
    read = read if isinstance(read, dict) else {}
    out = {}
    for key, value in given.items():
        value = next((v for v in (value, read.get(key)) if v is not None),
                     _dt.date.today() if key == _KEY_DATE else "")
        value = (value.isoformat() if isinstance(value, _dt.date) else str(value)).strip()
        if "\r" in value or "\n" in value:
            raise InputFileError(problem(f"{key} 含有换行。", f"{key} {value!r} holds a line break.", file=path,
                                         fix=f"pass {key} on one line"))
        out[key] = value
    return out


def _format(gdf: gpd.GeoDataFrame, geoms: NDArray[Any], zone: int, datum: str, path: Path,
            kept: dict[str, str]) -> str:
    s = _settings().writer
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
    counts = np.bincount(ring_parcel[coord_ring], minlength=len(geoms))
    areas = shapely.area(geoms) / _M2_PER_HA

    d = s.coordinate_decimals
    point_lines = [f"J{p},{r},{north:.{d}f},{east:.{d}f}" for p, r, east, north in
                   zip(point_number.tolist(), ring_number[coord_ring].tolist(), coords[:, 0].tolist(),
                       coords[:, 1].tolist())]
    header = dict.fromkeys(_WRITTEN_HEADER_KEYS, "") | kept | {
        _KEY_DATUM: getattr(_settings().datums.written, datum), _KEY_WIDTH: str(s.zone_width),
        _KEY_PROJECTION: "高斯克吕格", _KEY_UNIT: "米", _KEY_ZONE: str(zone), "精度": f"{10.0 ** -d:.{d}f}",
        "转换参数": s.conversion_parameters}
    out = [f"[{_ATTRIBUTE_SECTION}]"] + [f"{k}={v}" for k, v in header.items()] + [f"[{_COORDINATE_SECTION}]"]
    starts = np.cumsum(counts) - counts
    for i in range(len(geoms)):
        out.append(",".join([str(counts[i]), f"{areas[i]:.{s.area_decimals}f}", fields["parcel_id"][i],
                             fields["name"][i], _POLYGON, fields["sheet"][i], fields["use"][i],
                             fields["land_class_code"][i], _PARCEL_END]))
        out.extend(point_lines[starts[i]:starts[i] + counts[i]])
    return s.line_ending.join(out) + s.line_ending
