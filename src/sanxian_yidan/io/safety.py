"""Input safety: refuse files the toolkit cannot read safely, before reading them.

Every place that opens a user's file (vector layers, land-boundary TXT, CSV/XLSX
tables, TOML data, catalog and rule files, study files) calls
:func:`check_input_file` first, so that a folder, a named pipe (which would block
forever), a device such as ``/dev/zero`` behind a symlink (which would fill the
memory) or an empty file is refused with a message that names the file and the
fix.  Text is read with :func:`read_bytes_bounded`; zipped layers are checked by
:func:`check_zip` against a zip bomb; shapefile sidecars are checked against each
other by :func:`check_shapefile` (a truncated ``.dbf`` made the Arrow reader
return fewer rows than the file holds).  Coordinates are checked by
:mod:`sanxian_yidan.crs.plausibility`.

All limits live in ``data/input_limits.toml`` with their sources.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import ClassVar

import numpy as np
from pydantic import Field

from ..datafile_basics import packaged_path, tomllib
from ..errors import EmptyLayerError, InputFileError, MissingFileError, problem
from ..params import PACKAGED_PREFIX, Former, FormerAttributes, Sourced, validate_layers

DATA_FILE = "input_limits.toml"


class _Files(Sourced):
    max_text_bytes: int = Field(ge=1)
    max_toml_bytes: int = Field(ge=1)
    max_columns: int = Field(ge=3)


class _Zip(Sourced):
    max_uncompressed_bytes: int = Field(ge=1)
    max_ratio: float = Field(ge=1)
    ratio_applies_above_bytes: int = Field(ge=0)


class _Coordinates(Sourced):
    lon_min: float = Field(ge=-180, le=0)
    lon_max: float = Field(ge=0, le=180)
    lat_min: float = Field(ge=-90, le=0)
    lat_max: float = Field(ge=0, le=90)
    max_projected_abs: float = Field(ge=1e7)


class _Text(Sourced):
    max_suspicious_share: float = Field(ge=0, le=1)
    min_characters: int = Field(ge=1)


class InputLimitsFile(FormerAttributes, Sourced):
    """Validated contents of ``data/input_limits.toml`` (see the file for the sources).

    Attributes
    ----------
    files : model
        ``max_text_bytes``, ``max_toml_bytes``: largest text / TOML file read whole [bytes];
        ``max_columns``: most columns a CSV/XLSX table may have.
    zip : model
        ``max_uncompressed_bytes``: largest total uncompressed size of a zipped layer [bytes];
        ``max_ratio``: largest uncompressed/compressed ratio above ``ratio_applies_above_bytes`` [bytes].
    coordinates : model
        ``lon_min`` ... ``lat_max``: valid longitude / latitude [degrees]; ``max_projected_abs``:
        largest magnitude of a projected coordinate [m].
    text : model
        ``max_suspicious_share``: share of suspicious non-ASCII characters above which decoded text is
        implausible; ``min_characters``: non-ASCII characters needed before text is judged.
    """

    what: ClassVar[str] = "输入安全限值 / input-limits"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "max_text_bytes": "files.max_text_bytes",
        "max_toml_bytes": "files.max_toml_bytes",
        "max_columns": "files.max_columns",
        "zip_max_uncompressed_bytes": "zip.max_uncompressed_bytes",
        "zip_max_ratio": "zip.max_ratio",
        "zip_ratio_applies_above_bytes": "zip.ratio_applies_above_bytes",
        "max_projected_abs": "coordinates.max_projected_abs",
        "max_suspicious_share": "text.max_suspicious_share",
        "min_characters": "text.min_characters",
    }
    files: _Files
    zip: _Zip
    coordinates: _Coordinates
    text: _Text

    @property
    def lon_range(self) -> tuple[float, float]:
        """Valid longitude ``(min, max)`` [degrees]."""
        return self.coordinates.lon_min, self.coordinates.lon_max

    @property
    def lat_range(self) -> tuple[float, float]:
        """Valid latitude ``(min, max)`` [degrees]."""
        return self.coordinates.lat_min, self.coordinates.lat_max


#: The validated contents of ``data/input_limits.toml``.
InputLimits = InputLimitsFile


@lru_cache(maxsize=1)
def limits() -> InputLimits:
    """Load and validate the packaged input limits (once per process).

    Raises
    ------
    DataFileError
        Listing every missing, unknown or out-of-range key.
    """
    # Parsed directly (not with load_toml, which itself applies these limits to the files it reads).
    doc = tomllib.loads(packaged_path(DATA_FILE).read_text(encoding="utf-8"))
    return validate_layers(InputLimitsFile, [(PACKAGED_PREFIX + DATA_FILE, doc)])


# --------------------------------------------------------------------------------------------- files

# Chinese and English name of each non-regular file type.
_KINDS = ((stat.S_ISDIR, "文件夹", "a folder"), (stat.S_ISFIFO, "命名管道", "a named pipe (FIFO)"),
          (stat.S_ISCHR, "设备文件", "a device"), (stat.S_ISBLK, "设备文件", "a device"),
          (stat.S_ISSOCK, "套接字", "a socket"))


def _kind(mode: int) -> tuple[str, str]:
    """Chinese and English name of a non-regular file type."""
    return next(((zh, en) for test, zh, en in _KINDS if test(mode)), ("特殊文件", "a special file"))


def check_input_file(path: str | os.PathLike[str], *, what: str = "input file", allow_empty: bool = False,
                     dir_suffixes: tuple[str, ...] = (), fix: str | None = None) -> Path:
    """Refuse anything but an existing, non-empty regular file, before it is opened.

    Symlinks are resolved first, so a link named ``projects.csv`` that points at
    ``/dev/zero`` or at a named pipe is refused like the target itself.  Nothing
    is opened: a FIFO is never blocked on.

    Parameters
    ----------
    path : path-like
        The user's input.
    what : str
        What the file is for (English, e.g. ``"rule file"``), used in messages.
    allow_empty : bool
        Accept a 0-byte file (valid for TOML, whose empty document is a valid one).
    dir_suffixes : tuple of str
        Folder suffixes that are valid inputs (``(".gdb",)`` for a File Geodatabase).
    fix : str, optional
        Fix hint for a missing file (default: check the path).

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path` (not resolved: messages keep the user's spelling).

    Raises
    ------
    MissingFileError
        The path (or the target of a symlink) does not exist.
    InputFileError
        A folder, named pipe, device or socket.
    EmptyLayerError
        A 0-byte file (unless ``allow_empty``).
    """
    path = Path(path)
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError as exc:
        dangling = path.is_symlink()
        raise MissingFileError(problem(
            "文件不存在。" if not dangling else "符号链接指向的文件不存在。",
            f"File not found: the {what} does not exist." if not dangling
            else f"File not found: the {what} is a symbolic link to '{os.readlink(path)}', which does not exist.",
            file=path,
            fix=fix or (f"check the path (a relative path is read from the current folder, {Path.cwd()})"
                        if not path.is_absolute() else "check the path"))) from exc
    except (OSError, ValueError) as exc:  # permission denied, name too long, NUL in the name
        raise InputFileError(problem("无法访问该文件。", f"Cannot access the {what}: {exc}.", file=path,
                                     fix="check the path and the file's permissions")) from exc
    mode = st.st_mode
    if stat.S_ISDIR(mode) and dir_suffixes and path.suffix.lower() in dir_suffixes:
        return path
    if not stat.S_ISREG(mode):
        zh, en = _kind(mode)
        target = f" (a link to '{path.resolve()}')" if path.is_symlink() else ""
        hint = ("give the file inside the folder (e.g. folder/name.shp), not the folder" if stat.S_ISDIR(mode)
                else "save the data to an ordinary file and give its path")
        raise InputFileError(problem(
            f"不是普通文件，而是{zh}，无法读取。",
            f"The {what} is {en}{target}, not an ordinary file; it is not read.",
            file=path, fix=hint))
    if st.st_size == 0 and not allow_empty:
        raise EmptyLayerError(problem(
            "文件是空的（0 字节）。", f"The {what} is empty (0 bytes).", file=path,
            fix="the export or copy did not finish: export the data again"))
    return path


def read_bytes_bounded(path: str | os.PathLike[str], *, limit: int | None = None, what: str = "input file",
                       allow_empty: bool = False) -> bytes:
    """Read a whole (checked) regular file, refusing one larger than ``limit`` bytes.

    Parameters
    ----------
    path : path-like
        File to read; :func:`check_input_file` is applied first.
    limit : int, optional
        Largest size read [bytes]; default ``max_text_bytes`` of the input limits.
    what : str
        What the file is for, for messages.
    allow_empty : bool
        Accept a 0-byte file.

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    InputFileError
        The file is larger than ``limit`` (also when it grows while being read).
    """
    path = check_input_file(path, what=what, allow_empty=allow_empty)
    limit = limits().files.max_text_bytes if limit is None else limit
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(problem(
            "文件过大，无法作为文本读取。",
            f"The {what} is larger than {limit:,} bytes, the most read as text.",
            file=path, fix="split the file, or convert it to GeoPackage (sanxian convert) and give that"))
    return data


def check_column_count(n_columns: int, *, file: Path, what: str = "table") -> None:
    """Refuse a table wider than ``max_columns`` (no GeoPackage layer can hold it; parsing it is slow).

    Raises
    ------
    InputFileError
        Naming the number of columns and the limit.
    """
    limit = limits().files.max_columns
    if n_columns > limit:
        raise InputFileError(problem(
            f"表格有 {n_columns:,} 列，超过上限 {limit:,} 列。",
            f"The {what} has {n_columns:,} columns; at most {limit:,} are read (the most a GeoPackage layer "
            "can hold).", file=file,
            fix="keep only the columns the analysis needs (name, codes, coordinates) and save the table again"))


def check_zip(path: str | os.PathLike[str]) -> None:
    """Refuse a zip archive that is damaged or would expand beyond the limits (a zip bomb).

    Only the archive's directory is read (the sizes members declare); nothing is unpacked.

    Raises
    ------
    InputFileError
        Not a zip archive, or total uncompressed size or compression ratio over the limits.
    """
    path = Path(path)
    lim = limits().zip
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFileError(problem("压缩包已损坏或不是 zip 文件。", f"Not a readable zip archive: {exc}.",
                                     file=path, fix="zip the files again, or unpack them and give the .shp")) from exc
    total = sum(i.file_size for i in infos)
    ratio = total / max(sum(i.compress_size for i in infos), 1)
    if total > lim.max_uncompressed_bytes or (total > lim.ratio_applies_above_bytes
                                                   and ratio > lim.max_ratio):
        raise InputFileError(problem(
            "压缩包解压后过大（疑似“压缩炸弹”），未读取。",
            f"The zip would expand to {total:,} bytes ({ratio:,.0f} times its packed size); the limits are "
            f"{lim.max_uncompressed_bytes:,} bytes and a ratio of {lim.max_ratio:g}; it looks like a "
            "zip bomb and is not read.",
            file=path, fix="unpack it yourself if you trust it and give the layer file inside, "
                           "or convert it to GeoPackage"))


# ----------------------------------------------------------------------------------------- shapefile

def sidecar(shp: Path, suffix: str) -> Path | None:
    """The file next to ``shp`` with ``suffix`` (lower or upper case), or None when there is none."""
    for candidate in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def zipped_shapefile_members(archive: str | Path) -> list[str]:
    """Names of the ``.shp`` members of a zip archive (empty if none or not a zip)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return [n for n in zf.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, OSError):
        return []


def zipped_shapefile_stem(archive: str | Path, layer: str | None = None) -> str | None:
    """Member name without ``.shp`` of the shapefile in a zip (the one named ``layer`` if several), or None."""
    shps = zipped_shapefile_members(archive)
    if layer is not None:
        shps = [n for n in shps if PurePosixPath(n).stem == layer] or shps
    return str(PurePosixPath(shps[0]).with_suffix("")) if shps else None


def shx_record_count(size: int) -> int:
    """Records a ``.shx`` index of ``size`` bytes holds (100-byte header, 8 bytes a record).

    References
    ----------
    ESRI Shapefile Technical Description (1998), "Organization of the Index File".
    """
    return max(size - 100, 0) // 8


def check_shapefile(shp: str | os.PathLike[str]) -> int | None:
    """Check a shapefile's sidecars before reading; return its feature count from ``.shx``.

    A missing ``.dbf`` would silently drop every attribute (project names, codes) and
    renumber the features; a ``.dbf`` cut short, or one that disagrees with ``.shx``,
    makes readers return fewer rows than the file holds.  Both are refused.

    Parameters
    ----------
    shp : path-like
        The ``.shp`` file.

    Returns
    -------
    int or None
        Number of features a reader must return: the records the ``.shx`` index lists, less
        those the ``.dbf`` flags as deleted (``None`` without ``.shx``).

    Raises
    ------
    InputFileError
        Missing ``.dbf``, truncated ``.dbf``, or record counts that disagree.

    References
    ----------
    ESRI Shapefile Technical Description (1998); dBASE III file header (record count at bytes 4-7).
    """
    shp = Path(shp)
    dbf = sidecar(shp, ".dbf")
    copy_fix = (f"copy every file of the layer together ({shp.stem}.shp, .shx, .dbf, .prj, .cpg) "
                "or re-export it from your GIS")
    if dbf is None:
        raise InputFileError(problem(
            f"缺少属性表 {shp.stem}.dbf（项目名称、代码等全部属性会丢失）。",
            f"The attribute table {shp.stem}.dbf is missing next to {shp.name}: every attribute (names, codes) "
            "would be lost and the features renumbered.", file=shp, fix=copy_fix))
    check_input_file(dbf, what="attribute table (.dbf)")
    size = dbf.stat().st_size
    with open(dbf, "rb") as fh:
        head = fh.read(32)
    declared, header_len, record_len = struct.unpack("<IHH", head[4:12]) if len(head) == 32 else (0, 0, 0)
    if not (header_len >= 32 and record_len >= 1 and size >= header_len):
        raise InputFileError(problem(f"属性表 {dbf.name} 的文件头不完整。",
                                     f"The header of {dbf.name} is incomplete ({size} bytes).",
                                     file=dbf, fix=copy_fix))
    present = (size - header_len) // record_len
    if present < declared:
        raise InputFileError(problem(
            f"属性表 {dbf.name} 被截断：文件头记 {declared} 条记录，实际只有 {present} 条完整记录。",
            f"{dbf.name} is truncated: its header declares {declared} records but the file holds only "
            f"{present} whole records (an interrupted copy or download).", file=dbf, fix=copy_fix))
    shx = sidecar(shp, ".shx")
    if shx is None:
        return None
    check_input_file(shx, what="shape index (.shx)")
    n_shx = shx_record_count(shx.stat().st_size)
    if n_shx != declared:
        raise InputFileError(problem(
            f"{shx.name} 与 {dbf.name} 的要素数不一致（{n_shx} 对 {declared}）。",
            f"{shx.name} lists {n_shx} shapes but {dbf.name} declares {declared} records: the files do not "
            "belong together or one is damaged.", file=shp, fix=copy_fix))
    _check_shp_length(shp, shx, n_shx, copy_fix)
    # Records flagged deleted ('*') stay in both files but no reader returns them.
    return n_shx - _deleted_records(dbf, header_len, record_len, declared)


def _check_shp_length(shp: Path, shx: Path, n_records: int, copy_fix: str) -> None:
    """Refuse a ``.shp`` cut short: the last shape the ``.shx`` indexes must end inside the file.

    GDAL returns a shape past the end of the file as a missing geometry, silently.  Each ``.shx``
    record is a big-endian (offset, content length) pair in 16-bit words; a shape record has an
    8-byte header before its content.

    References
    ----------
    ESRI Shapefile Technical Description (1998), "Organization of the Index File".
    """
    if n_records == 0:
        return
    index = np.fromfile(shx, dtype=">i4", count=2 * n_records, offset=100).reshape(-1, 2).astype(np.int64)
    ends = (index[:, 0] + index[:, 1]) * 2 + 8  # bytes
    size = shp.stat().st_size
    beyond = np.flatnonzero(ends > size)
    if beyond.size:
        raise InputFileError(problem(
            f"{shp.name} 被截断：{beyond.size} 个图形超出文件末尾。",
            f"{shp.name} is truncated: {beyond.size} of its {n_records} shapes (the first is feature "
            f"{int(beyond[0]) + 1}) end beyond its {size:,} bytes; they would be read as missing geometries.",
            file=shp, fix=copy_fix))


def zipped_dbf_rows(archive: str | os.PathLike[str], layer: str | None = None) -> int | None:
    """Rows a reader must return for the shapefile inside a zip: ``.dbf`` records not flagged deleted.

    Parameters
    ----------
    archive : path-like
        The ``.zip`` (already checked by :func:`check_zip`).
    layer : str, optional
        Stem of the ``.shp`` member when the archive holds several.

    Returns
    -------
    int or None
        ``None`` when the archive holds no shapefile.

    Raises
    ------
    InputFileError
        The ``.dbf`` member is missing or truncated.
    """
    archive = Path(archive)
    stem = zipped_shapefile_stem(archive, layer)
    if stem is None:
        return None
    copy_fix = f"zip every file of the layer together ({PurePosixPath(stem).name}.shp, .shx, .dbf, .prj, .cpg)"
    with zipfile.ZipFile(archive) as zf:
        dbf = {n.lower(): n for n in zf.namelist()}.get(stem.lower() + ".dbf")
        if dbf is None:
            raise InputFileError(problem(
                f"压缩包中缺少属性表 {stem}.dbf。",
                f"The attribute table {stem}.dbf is missing in the zip: every attribute would be lost.",
                file=archive, fix=copy_fix))
        data = zf.read(dbf)
    if len(data) < 32:
        raise InputFileError(problem(f"属性表 {dbf} 的文件头不完整。", f"The header of {dbf} is incomplete.",
                                     file=archive, fix=copy_fix))
    declared, header_len, record_len = struct.unpack("<IHH", data[4:12])
    present = (len(data) - header_len) // max(record_len, 1) if len(data) >= header_len else 0
    if present < declared:
        raise InputFileError(problem(
            f"属性表 {dbf} 被截断：文件头记 {declared} 条记录，实际只有 {present} 条完整记录。",
            f"{dbf} is truncated: its header declares {declared} records but the file holds only {present} "
            "whole records.", file=archive, fix=copy_fix))
    if declared == 0:
        return 0
    flags = np.frombuffer(data, dtype=np.uint8, count=declared * record_len, offset=header_len)
    return declared - int(np.count_nonzero(flags[::record_len] == 0x2A))


def _deleted_records(dbf: Path, header_len: int, record_len: int, n_records: int) -> int:
    """Number of ``.dbf`` records whose deletion flag (first byte of the record) is ``'*'`` (0x2A)."""
    if n_records == 0:
        return 0
    flags = np.memmap(dbf, dtype=np.uint8, mode="r", offset=header_len, shape=(n_records, record_len))[:, 0]
    return int(np.count_nonzero(flags == 0x2A))


def check_row_count(n_read: int, expected: int | None, *, file: Path, layer: str | None) -> None:
    """Refuse a short (or long) read: the rows read must equal the file's own feature count.

    Parameters
    ----------
    n_read : int
        Rows the reader returned.
    expected : int or None
        Feature count the file declares (``None`` or negative: unknown, nothing checked).

    Raises
    ------
    InputFileError
        The counts differ.
    """
    if expected is None or expected < 0 or n_read == expected:
        return
    raise InputFileError(problem(
        f"读取不完整：文件记有 {expected} 个要素，只读到 {n_read} 个。",
        f"Short read: the file declares {expected} features but {n_read} were read; the file is damaged "
        "or incomplete and is not used.", file=file, layer=layer,
        fix="re-export or copy the layer again (all of its files) and check it opens in QGIS"))
