"""Loading of the TOML data files shipped in the package or supplied by users.

Rules, thresholds, factors and settings live in TOML files so that planners
can read and edit them.  This module finds and parses them; :func:`load_model`
reads a file through its declared model (:mod:`sanxian_yidan.params`):
packaged defaults <- a user file <- overrides, every problem reported in one
:class:`~sanxian_yidan.errors.DataFileError` naming the file and key path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from ._deprecated import Problems  # noqa: F401  (deprecated: removed in the next release)
from .datafile_basics import (  # noqa: F401  (re-exported: defined here before datafile_basics.py)
    packaged_path,
    tomllib,
)
from .errors import DataFileError, problem
from .params import PACKAGED_PREFIX, DataModel, deep_merge, validate_layers  # noqa: F401  (deep_merge re-exported)

M = TypeVar("M", bound=DataModel)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning every reading problem into a :class:`DataFileError`.

    The file is checked before it is opened (no folder, named pipe or device: see
    :func:`sanxian_yidan.io.safety.check_input_file`) and read bounded in size.  TOML
    must be UTF-8; files saved by Windows editors are still read: a UTF-8 or UTF-16
    byte-order mark is honoured (UTF-16 with a :class:`~sanxian_yidan.errors.SanxianWarning`), and a file
    that is not UTF-8 but decodes as GBK/GB18030 is read with a warning saying how to save it; UTF-16
    without a byte-order mark (NUL bytes) is refused, naming UTF-16.

    Parameters
    ----------
    path : str or Path
        File to read.

    Raises
    ------
    DataFileError
        Missing file, not a regular file, too large, undecodable, a syntax error, or
        nesting too deep to parse.
    """
    from .errors import SanxianError
    from .io.safety import limits, read_bytes_bounded

    path = Path(path)
    try:
        data = read_bytes_bounded(path, limit=limits().files.max_toml_bytes, what="TOML data file", allow_empty=True)
    except SanxianError as exc:
        raise DataFileError(str(exc)) from exc
    text = _decode_toml(data, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(
            problem("TOML 语法错误。", f"TOML syntax error: {exc}", file=path,
                    fix="correct the line named above (strings need quotes; tables [name])")
        ) from exc
    except RecursionError as exc:
        raise DataFileError(
            problem("TOML 文件嵌套过深，无法读取。",
                    "The TOML file nests arrays or tables too deeply to be read (thousands of levels).",
                    file=path, fix="no rule, catalog or study file needs more than a few levels: "
                                   "check the file was not generated or damaged by mistake")
        ) from exc


def _bomless_utf16(data: bytes) -> str | None:
    """``"UTF-16LE"``/``"UTF-16BE"`` when ``data`` is text in UTF-16 without a byte-order mark, else None.

    TOML text never holds a NUL byte, while UTF-16 puts one beside every ASCII character; the bytes must
    also decode strictly to printable text (so binary junk with NUL bytes is not called UTF-16).
    """
    if b"\x00" not in data or len(data) % 2:
        return None
    odd = data[1::2].count(0) >= data[0::2].count(0)
    for name in ("UTF-16LE", "UTF-16BE") if odd else ("UTF-16BE", "UTF-16LE"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if all(c.isprintable() or c in "\t\r\n" for c in text):
            return name
    return None


def _decode_toml(data: bytes, path: Path) -> str:
    """Text of a TOML file: UTF-8 (with or without BOM); UTF-16 with BOM or GBK with a warning; UTF-16
    without BOM refused."""
    import warnings

    from .errors import SanxianWarning

    save_fix = "save it as UTF-8 (Notepad: Save As, Encoding 'UTF-8'; VS Code: 'Save with Encoding', UTF-8)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFileError(problem("UTF-16 文件无法解码。", f"The file starts like UTF-16 but cannot be "
                                        f"decoded as UTF-16: {exc}", file=path, fix=save_fix)) from exc
        warnings.warn(f"{path}: TOML file saved as UTF-16 (Windows 'Unicode'), not UTF-8 as TOML requires; read as "
                      f"UTF-16. Fix: {save_fix} / 文件是 UTF-16 编码，已按 UTF-16 读取，请另存为 UTF-8",
                      SanxianWarning, stacklevel=4)
        return text
    utf16 = _bomless_utf16(data)
    if utf16:
        raise DataFileError(problem(
            "TOML 文件似乎是没有字节顺序标记（BOM）的 UTF-16 编码，无法读取。",
            f"The TOML file contains NUL bytes: it looks like {utf16} without a byte-order mark, which TOML "
            "does not allow (TOML is UTF-8).", file=path, fix=f"{save_fix}; it is UTF-16 ('Unicode') now"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise DataFileError(problem(
            "TOML 文件不是 UTF-8 编码，也不是 GBK。",
            f"The TOML file is not UTF-8 (invalid byte at offset {utf8_error.start}) nor GBK/GB18030.",
            file=path, fix=f"{save_fix}; if it was saved as UTF-16 ('Unicode') or another encoding, "
                           "re-save it as UTF-8")) from utf8_error
    warnings.warn(f"{path}: TOML file saved as GBK/GB18030, not UTF-8 as TOML requires; read as GBK. "
                  f"Fix: {save_fix} / 文件不是 UTF-8 编码，已按 GBK 读取，请另存为 UTF-8",
                  SanxianWarning, stacklevel=4)
    return text


@cache
def packaged(name: str) -> dict[str, Any]:
    """Parse a packaged data file once per process (read-only use)."""
    return load_toml(packaged_path(name))


def load_model(model: type[M], name: str, user: str | Path | Mapping[str, Any] | None = None,
               overrides: Mapping[str, Any] | None = None, *, fix: str | None = None,
               prepare: Callable[[str, Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]] | None = None) -> M:
    """Load a data file through its model: packaged defaults <- user file <- overrides.

    Parameters
    ----------
    model : type of :class:`~sanxian_yidan.params.DataModel`
        The declared structure of the file.
    name : str
        Packaged file name in ``sanxian_yidan/data`` (``"solar.toml"``).
    user : str, Path or mapping, optional
        A user TOML file (or its parsed content) whose tables are merged over the defaults.
    overrides : mapping, optional
        Same structure, given in Python, applied last.
    fix : str, optional
        The fix the error names (default: correct each key, see the packaged file).
    prepare : callable, optional
        ``prepare(label, layer, packaged)`` returns the layer to merge, for files whose user layers
        need a file-specific adjustment before the merge (e.g. marking a changed factor's source).

    Returns
    -------
    DataModel
        Validated, frozen; ``.loaded_from`` names the files merged.

    Raises
    ------
    DataFileError
        Every problem at once (unknown key, missing key, wrong type, out of range, empty source),
        each as ``file: key.path: what``.
    """
    layers: list[tuple[str, Mapping[str, Any]]] = [(PACKAGED_PREFIX + name, packaged(name))]
    if isinstance(user, Mapping):
        layers.append(("<user parameters>", user))
    elif user is not None:
        layers.append((str(user), load_toml(user)))
    if overrides:
        layers.append(("<overrides>", overrides))
    if prepare is not None:
        layers[1:] = [(label, prepare(label, layer, layers[0][1])) for label, layer in layers[1:]]
    return validate_layers(model, layers, fix=fix)


#: A validated parameter record (``RooftopParams``, ``SolarParams``, ...), for :func:`resolve_params`.
P = TypeVar("P")


def resolve_params(params: P | str | Path | Mapping[str, Any] | None, kind: type[P], load: Callable[..., P],
                   default: Callable[[], P] | None = None) -> P:
    """The parameters an analysis was called with, whatever form the caller chose.

    ``params`` may be ``None`` (the packaged defaults: ``default()`` when given, else ``load()``), an
    already validated ``kind`` instance (used as is), a mapping of overrides (``load(overrides=params)``)
    or the path of a user TOML (``load(params)``).
    """
    if params is None:
        return default() if default is not None else load()
    if isinstance(params, kind):
        return params
    if isinstance(params, Mapping):
        return load(overrides=params)
    return load(params)
