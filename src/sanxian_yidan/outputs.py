"""Writers shared by every analysis, and the rules every output place follows.

- :func:`write_csv` / :func:`write_table_csv`: CSV tables (UTF-8 with BOM for Excel, bilingual headers)
  whose text cells cannot run as spreadsheet formulas (:func:`neutralise_csv`).
- :func:`write_layers`: GeoDataFrames as the layers of one GeoPackage.
- :func:`staged_output`: all-or-nothing outputs.  A command writes into a temporary folder and its
  files are moved into place only when the whole command has succeeded (a ``manifest.json`` last);
  a failed or interrupted run leaves the previous outputs as they were and no temporary files.
- :func:`check_output_place`: refuses a filesystem root, a home folder (or a folder above one) as an
  output folder.

Every refusal is an :class:`~sanxian_yidan.errors.OutputError` (or :class:`OutputExistsError`) naming
the path and the fix, so the command line exits with code 2 and a message instead of a traceback.

References
----------
OWASP, "CSV Injection" (cells beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return are
read as formulas by spreadsheet programs; prefixing ``'`` makes them text).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .columns import format_table, label
from .errors import OutputError, OutputExistsError, problem
from .io.gpkg import write_settings

#: First characters that make a spreadsheet read a text cell as a formula (OWASP "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A text cell that is a plain number (``-5``, ``+1.5e3``) is left alone: a spreadsheet reads it as that number.
_PLAIN_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
#: Name part of the temporary folders (staging, and the old files while they are being replaced).
STAGING_MARK = ".sanxian-tmp-"
BACKUP_MARK = ".sanxian-old-"
#: Written last when a staged folder is moved into place: its presence means the run completed.
MANIFEST_NAME = "manifest.json"


# ----------------------------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------------------------
def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula; else unchanged.

    Numbers (also negative ones) are never changed; nor is text that is a plain number (``"-5"``).
    """
    if isinstance(value, str) and value[:1] in FORMULA_START and not re.match(_PLAIN_NUMBER, value):
        return "'" + value
    return value


def neutralise_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and headers cannot run as spreadsheet formulas.

    Text cells beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading
    ``'`` (:func:`neutralise_cell`); numeric columns and numbers inside text columns are untouched.

    Parameters
    ----------
    frame : DataFrame
        The table about to be written.

    Returns
    -------
    DataFrame
        ``frame`` itself when nothing needed changing, else a changed copy.
    """
    out = frame
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if (cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype)) \
                    and any(neutralise_cell(c) is not c for c in cats):
                fixed = col.cat.rename_categories([neutralise_cell(c) for c in cats])
            else:
                continue
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            text = col.str
            danger = text[:1].isin(FORMULA_START) & ~text.match(_PLAIN_NUMBER).fillna(False).astype(bool)
            if not danger.any():
                continue
            values = col.to_numpy(dtype=object, copy=True)
            mask = danger.to_numpy(dtype=bool)
            values[mask] = "'" + values[mask].astype(str)
            fixed = pd.Series(values, index=col.index, name=name)
        else:
            continue
        if out is frame:
            out = frame.copy()
        out.isetitem(i, fixed)
    headers = [neutralise_cell(c) for c in out.columns]
    if any(h is not c for h, c in zip(headers, out.columns)):
        out = out.copy() if out is frame else out
        out.columns = headers
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, **to_csv: Any) -> Path:
    """Write ``frame`` as CSV the way every toolkit table is written.

    UTF-8 with a byte-order mark (so Excel shows Chinese), no index, text cells neutralised against
    formula injection (:func:`neutralise_csv`).  Further keyword arguments go to
    :meth:`pandas.DataFrame.to_csv` (e.g. ``float_format``).
    """
    to_csv.setdefault("index", False)
    to_csv.setdefault("encoding", "utf-8-sig")
    neutralise_csv(frame).to_csv(path, **to_csv)
    return Path(path)


def write_table_csv(frame: pd.DataFrame, path: str | Path, columns: Sequence[str] | None = None) -> Path:
    """Write ``columns`` of ``frame`` (those present; default all, e.g. a table put in shape by
    :func:`sanxian_yidan.schemas.assemble`) as CSV (:func:`write_csv`).

    Headers are the registry's bilingual labels (``中文 / English [unit]``); values are formatted by
    :func:`sanxian_yidan.columns.format_table` (decimals per column, integers, 是/否).
    """
    cols = list(frame.columns) if columns is None else [c for c in columns if c in frame.columns]
    # Decimals per column from the registry, ranks as integers (1, 2, 3 and an empty cell, not 1.0), 是/否.
    table = format_table(pd.DataFrame(frame[cols]))
    table.columns = [label(c) for c in cols]
    return write_csv(table, path)


def write_layers(path: str | Path, layers: Mapping[str, Any]) -> Path:
    """Write GeoDataFrames as the layers of one GeoPackage, replacing the file.

    Polygon layers are promoted to multi-part types, because net areas after
    exclusions may be multipart.
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    with write_settings():
        for name, gdf in layers.items():
            gdf.to_file(path, layer=name, driver="GPKG", promote_to_multi=True)
    __import__("sanxian_yidan.resultmaps").resultmaps.style_result_gpkg(path)  # QGIS styles = the map's look
    return path


# ----------------------------------------------------------------------------------------------
# Output places
# ----------------------------------------------------------------------------------------------
_FIX_WRITABLE = ("choose an output folder you can write to (e.g. one under your project folder) with "
                 "--out (study file: `output`), or ask for write permission on it")


def output_error(exc: OSError, path: Path, *, what: str = "output") -> OutputError:
    """An :class:`OutputError` naming ``path`` and the fix for an ``OSError`` raised while writing there."""
    if isinstance(exc, OutputError):
        return exc
    code = exc.errno
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS):
        zh, en, fix = "没有写入权限或位置只读。", f"The {what} place cannot be written (permission denied or " \
            f"read-only): {exc.strerror or exc}.", _FIX_WRITABLE
    elif isinstance(exc, (NotADirectoryError, FileExistsError)) or code == errno.ENOTDIR:
        zh, en, fix = "路径中的上级是文件而不是文件夹。", f"A part of the {what} path is a file, not a folder " \
            f"({exc.strerror or exc}).", "choose a folder path whose parents are folders (--out)"
    elif isinstance(exc, IsADirectoryError):
        zh, en, fix = "该位置是文件夹，而需要写出文件。", f"The {what} path is a folder where a file is " \
            "written.", "remove or rename that folder, or choose another output path"
    elif isinstance(exc, FileNotFoundError):
        zh, en, fix = "无法在该位置创建文件夹。", f"The {what} folder cannot be created there " \
            f"({exc.strerror or exc}).", _FIX_WRITABLE
    elif code == errno.ENOSPC:
        zh, en, fix = "磁盘空间不足。", "The disk is full.", "free disk space or choose another output folder"
    else:
        zh, en, fix = "无法写出。", f"The {what} cannot be written: {exc}.", _FIX_WRITABLE
    return OutputError(problem(zh, en, file=path, fix=fix))


def protected_folder_reason(folder: Path) -> str | None:
    """Why ``folder`` (resolved) must never be an output folder, else ``None``."""
    if folder == Path(folder.anchor):
        return "a filesystem root / 文件系统根目录"
    home = Path.home().resolve()
    if home == folder or home.is_relative_to(folder):
        return "a home folder or a folder above one / 用户主目录或其上级"
    if folder.parent == Path("/home"):
        return "a home folder / 用户主目录"
    return None


def check_output_place(target: str | Path, *, kind: Literal["dir", "file"] = "dir",
                       protect: Iterable[str | Path] = ()) -> Path:
    """Refuse an output place that must not be written, before anything is computed.

    Parameters
    ----------
    target : str or Path
        Output folder (``kind="dir"``) or file (``kind="file"``).
    kind : {"dir", "file"}
        Whether the command fills a folder or writes one file.
    protect : iterable of path
        Input files of the run: an output equal to one of them is refused.

    Returns
    -------
    Path
        ``target`` resolved (symbolic links followed).

    Raises
    ------
    OutputError
        ``target`` is a filesystem root or home folder (folder outputs), a file where a folder is
        needed, a folder or a device where a file is written, or it would replace an input file.
    """
    path = Path(target)
    resolved = path.resolve()
    if kind == "dir":
        if why := protected_folder_reason(resolved):
            raise OutputError(problem(f"不能把结果写入{why.split(' / ')[1]}。",
                                      f"Refusing to write outputs into {why.split(' / ')[0]}: {path}.",
                                      file=path, fix="give a dedicated output folder, e.g. --out maps/run1"))
        if path.exists() and not path.is_dir():
            raise OutputError(problem("输出位置是文件，而需要文件夹。",
                                      f"The output path {path} is an existing file (or device), not a folder.",
                                      file=path, fix="give a folder path with --out (a new folder is created)"))
    else:
        if path.is_dir():
            raise OutputError(problem("输出位置是文件夹，而需要文件。",
                                      f"The output path {path} is a folder; this command writes one file.",
                                      file=path, fix="give a file path, e.g. --out maps/result.html"))
        if path.exists() and not path.is_file():
            raise OutputError(problem("输出位置不是普通文件。",
                                      f"The output path {path} is a device or special file, not a regular file.",
                                      file=path, fix="give the path of a regular file"))
    for item in protect:
        if Path(item).resolve() == resolved:
            raise OutputError(problem("输出会覆盖输入文件。", f"The output {path} is the run's input {item}.",
                                      file=path, fix="write outputs to another path (--out); input files are "
                                                     "never replaced"))
    return resolved


def _check_dest(entry: Path, dest: Path, overwrite: bool, protect: Sequence[Path]) -> None:
    if not (dest.exists() or dest.is_symlink()):
        return
    if not overwrite:
        raise OutputExistsError(problem("输出已存在，如需覆盖请加 --overwrite。",
                                        f"{dest} already exists.", file=dest,
                                        fix="pass --overwrite to replace it, or choose another output path"))
    if entry.is_dir() != dest.is_dir() or not (dest.is_dir() or dest.is_file()):
        found = "a folder" if dest.is_dir() else ("a file" if dest.is_file() else "a special file")
        needed = "a folder" if entry.is_dir() else "a file"
        raise OutputError(problem("输出位置的类型不对（文件与文件夹混淆）。",
                                  f"{dest} is {found}, but this command writes {needed} there.", file=dest,
                                  fix="remove or rename it, or choose another output folder"))
    real = dest.resolve()
    for p in protect:
        if p == real or p.is_relative_to(real):
            raise OutputError(problem("输出会覆盖输入文件。", f"Writing {dest} would replace the input {p}.",
                                      file=dest, fix="write outputs into a folder of their own; input files "
                                                     "are never replaced"))


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (outermost first)."""
    missing = list(takewhile(lambda p: not p.exists(), (folder, *folder.parents)))[::-1]
    for p in missing:
        p.mkdir()
    return missing


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def _move_entries(staging: Path, target: Path, overwrite: bool, protect: Sequence[Path],
                  owned: Sequence[str] = ()) -> None:
    """Move each entry of ``staging`` into ``target`` (manifest last); undo everything if one move fails.

    Entries named in ``owned`` that this run did not write are removed (outputs of an earlier run that
    would otherwise pass for this run's).
    """
    entries = sorted(staging.iterdir(), key=lambda p: (p.name == MANIFEST_NAME, p.name))
    for entry in entries:
        _check_dest(entry, target / entry.name, overwrite, protect)
    written = {e.name for e in entries}
    stale = [target / n for n in owned if n not in written and ((target / n).exists() or (target / n).is_symlink())]
    if stale and not overwrite:
        raise OutputExistsError(problem("输出目录已有同名文件，如需覆盖请加 --overwrite。",
                                        f"{target} already holds {', '.join(p.name for p in stale)}.", file=target,
                                        fix="pass --overwrite to replace them, or choose another --out"))
    for path in stale:
        if path.resolve() in protect or any(p.is_relative_to(path.resolve()) for p in protect):
            raise OutputError(problem("输出会覆盖输入文件。", f"Removing the old output {path} would remove an "
                                      "input file.", file=path, fix="write outputs into a folder of their own"))
    backup = Path(tempfile.mkdtemp(prefix=BACKUP_MARK, dir=target))
    done: list[tuple[Path, Path | None]] = []   # (dest, backed-up old entry or None)
    try:
        for path in stale:                        # MANIFEST_NAME among them goes first: never a stale manifest
            old = backup / path.name
            os.rename(path, old)
            done.append((path, old))
        for entry in entries:
            dest = target / entry.name
            prior: Path | None = None
            if dest.exists() or dest.is_symlink():
                prior = backup / entry.name
                os.rename(dest, prior)
            done.append((dest, prior))
            os.rename(entry, dest)
    except BaseException:
        for dest, saved in reversed(done):
            if dest.exists() or dest.is_symlink():
                if dest.is_dir() and not dest.is_symlink():
                    shutil.rmtree(dest, ignore_errors=True)
                else:
                    dest.unlink(missing_ok=True)
            if saved is not None and (saved.exists() or saved.is_symlink()):
                os.rename(saved, dest)
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


@contextmanager
def staged_output(target: str | Path, *, overwrite: bool = False, kind: Literal["dir", "file"] = "dir",
                  names: Sequence[str] = (), owned: Sequence[str] = (),
                  protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Write a command's outputs all or nothing.

    The body writes into the yielded place (a temporary folder beside or inside ``target``, or a file
    path in one); when the body returns, the outputs are moved into ``target`` (``manifest.json``
    last).  If the body raises (also ``KeyboardInterrupt``), nothing in ``target`` changes and the
    temporary folder is removed.  Existing entries of a ``target`` folder that the run does not write
    are left alone; an entry it writes replaces the old one whole (a sub-folder too).

    Parameters
    ----------
    target : str or Path
        The output folder (``kind="dir"``) or file (``kind="file"``).
    overwrite : bool
        Whether outputs that already exist may be replaced (``--overwrite``).
    kind : {"dir", "file"}
        Folder of outputs, or one file.
    names : sequence of str
        Names the command will write into a folder target (a trailing ``/`` marks a sub-folder),
        checked before anything is computed (the entries actually written are checked again before
        they are moved).
    owned : sequence of str
        Entries of a folder target that belong to this command (default: ``names``): those this run
        does not write are removed when the outputs are moved in, so that no output of an earlier
        run passes for this run's (e.g. a ``visibility.tif`` of a run that had a DEM).
    protect : iterable of path
        The run's input files: never replaced by an output.

    Yields
    ------
    Path
        The folder to write into (``kind="dir"``) or the file path to write (``kind="file"``).

    Raises
    ------
    OutputError
        The place cannot be written (with the path and the fix), is protected
        (:func:`check_output_place`), or a file stands where a folder is written or the reverse.
    OutputExistsError
        An output exists and ``overwrite`` is false.
    """
    target = Path(target)
    owned = [n.rstrip("/") for n in (owned or names)]     # "sheets/": a folder the command writes
    protected = [Path(p).resolve() for p in protect]
    resolved = check_output_place(target, kind=kind, protect=protected)
    if kind == "file":
        if target.exists() and not overwrite:
            raise OutputExistsError(problem("输出文件已存在，如需覆盖请加 --overwrite。",
                                            f"{target} already exists.", file=target,
                                            fix="pass --overwrite to replace it, or choose another output path"))
    elif target.is_dir():
        existing = [n for n in owned if (target / n).exists() or (target / n).is_symlink()]
        if existing and not overwrite:
            raise OutputExistsError(problem("输出目录已有同名文件，如需覆盖请加 --overwrite。",
                                            f"{target} already holds {', '.join(existing)}.", file=target,
                                            fix="pass --overwrite to replace them, or choose another --out"))
        for n in names:
            dest = target / n
            if dest.resolve() in protected:
                raise OutputError(problem("输出会覆盖输入文件。", f"Writing {dest} would replace an input file.",
                                          file=dest, fix="write outputs into a folder of their own (--out); "
                                                         "input files are never replaced"))
            if dest.is_dir() and not n.endswith("/"):
                raise OutputError(problem("输出位置的类型不对（文件与文件夹混淆）。",
                                          f"{dest} is a folder, but this command writes a file there.",
                                          file=dest, fix="remove or rename that folder, or choose another --out"))
    # The staging folder sits on the same filesystem as the entries it replaces: inside an existing
    # output folder, else beside the output (folder or file).
    inside = kind == "dir" and target.is_dir()
    home = resolved if inside else resolved.parent
    created: list[Path] = []
    staging: Path | None = None
    try:
        created = _make_parents(home)
        staging = Path(tempfile.mkdtemp(prefix=(STAGING_MARK if inside else f".{resolved.name}{STAGING_MARK}"),
                                        dir=home))
        if kind == "dir" and not inside:
            os.chmod(staging, _umask_mode())   # becomes the output folder itself: usual permissions
    except OSError as exc:
        _remove_created(created)
        raise output_error(exc, target) from exc
    committed = False
    try:
        try:
            yield staging / resolved.name if kind == "file" else staging
        except OSError as exc:
            if _is_output_failure(exc, staging):
                raise output_error(exc, target) from exc
            raise
        try:
            if kind == "file":
                produced = staging / resolved.name
                if produced.exists():
                    os.replace(produced, resolved)
            elif inside or resolved.exists():   # an output folder (perhaps created meanwhile): entry by entry
                _move_entries(staging, resolved, overwrite, protected, owned)
            else:
                os.rename(staging, resolved)
        except OSError as exc:
            raise output_error(exc, target) from exc
        committed = True
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if not committed:
            _remove_created(created)


def _is_output_failure(exc: OSError, staging: Path) -> bool:
    """Whether an ``OSError`` raised while a command ran came from writing its outputs.

    True for an error on a path inside the staging folder, or a full disk / quota / read-only
    filesystem; other errors (e.g. reading an input) are left to the caller.
    """
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return True
    return any(isinstance(f, (str, os.PathLike)) and Path(f).resolve().is_relative_to(staging)
               for f in (exc.filename, exc.filename2) if f)


def _remove_created(created: list[Path]) -> None:
    for p in reversed(created):
        try:
            p.rmdir()
        except OSError:
            break
