"""Detect the text encoding of attribute data written by Chinese GIS software.

Shapefiles from ArcGIS/MapGIS/SuperMap in China are usually written in the
Windows code page 936 (GBK) and often ship without a ``.cpg`` file; GDAL then
falls back to ISO-8859-1 and every Chinese value turns into mojibake.  Valid
UTF-8 is very unlikely to occur by accident in GBK text, so a strict UTF-8
decode decides first; GB18030 (a superset of GBK and GB2312) is the fallback.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EncodingDetectionError, problem
from .safety import limits, sidecar, zipped_shapefile_members, zipped_shapefile_stem  # noqa: F401  (re-exported)

#: dBASE language-driver ids (header byte 29) that name a Chinese code page.
#: Source: dBASE/ESRI LDID table (0x4D = code page 936 GBK, 0x7A = 936 PRC GBK).
_CHINESE_LDIDS = {0x4D: "gb18030", 0x7A: "gb18030"}
_CPG_ALIASES = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "gbk": "gb18030", "936": "gb18030", "cp936": "gb18030", "gb2312": "gb18030",
    "gb18030": "gb18030", "ansi 936": "gb18030",
}


@dataclass(frozen=True)
class EncodingGuess:
    """Result of an encoding detection.

    Attributes
    ----------
    encoding : str
        Python codec name to decode with (``"utf-8"``, ``"gb18030"``, ``"ascii"`` ...).
    reason : str
        How it was decided (shown to the user).
    warning : str or None
        Set when the decoded text is implausible (rare characters, private-use code
        points, mixed scripts: see :func:`implausible_text`); names ``--encoding``.
    """

    encoding: str
    reason: str
    warning: str | None = field(default=None, compare=False)


def detect_bytes_encoding(data: bytes, *, file: str | Path) -> EncodingGuess:
    """Decide between UTF-8 and GB18030/GBK for a byte string.

    Parameters
    ----------
    data : bytes
        Raw text bytes (attribute values or a whole text file).
    file : str or Path
        File the bytes came from, for messages.

    Returns
    -------
    EncodingGuess

    Raises
    ------
    EncodingDetectionError
        If the bytes are neither valid UTF-8 nor valid GB18030.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return _judged(EncodingGuess("utf-8-sig", "UTF-8 byte-order mark"), data, file)
    if data.isascii():
        return EncodingGuess("utf-8", "ASCII only (read as UTF-8)")
    if decode_or_none(data, "utf-8") is not None:
        return _judged(EncodingGuess("utf-8", "valid UTF-8 (non-ASCII text decodes strictly)"), data, file)
    try:
        data.decode("gb18030")
        return _judged(EncodingGuess("gb18030", "not UTF-8; decodes as GBK/GB18030"), data, file)
    except UnicodeDecodeError as exc:
        raise EncodingDetectionError(problem(
            "无法识别文字编码（既不是 UTF-8 也不是 GBK/GB18030）。",
            f"Cannot determine the text encoding: neither UTF-8 nor GBK/GB18030 "
            f"(invalid byte at offset {exc.start}).",
            file=file,
            fix="pass --encoding big5 (or latin-1 ...) on the command line, encoding='...' in Python or in the "
                "catalog entry, or re-export the data as UTF-8")) from exc


#: Encodings tried, in order, when decoded text is implausible (to suggest one that reads better).
_ALTERNATIVES = ("big5", "gb18030", "utf-8", "shift_jis", "euc_kr")


def _suspicious(char: str) -> bool:
    """A character unlikely in genuine Chinese attribute text (see :func:`implausible_text`)."""
    o = ord(char)
    if 0xE000 <= o <= 0xF8FF or o >= 0xF0000 or 0x80 <= o <= 0x9F or o == 0xFFFD:
        return True  # private use, C1 control characters, replacement character
    if 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0x20000 <= o <= 0x3FFFF:
        for common in ("gb2312", "big5"):  # simplified and traditional everyday characters
            with suppress(UnicodeEncodeError):
                char.encode(common)
                return False
        return True
    # kana, Greek, Cyrillic, box drawing, bopomofo, Hangul: GB 2312 symbol rows that Big5 bytes fall into
    return 0x3040 <= o <= 0x30FF or 0x0370 <= o <= 0x04FF or 0x2500 <= o <= 0x257F or 0x3100 <= o <= 0x312F \
        or 0xAC00 <= o <= 0xD7AF


def implausible_text(text: str | Iterable[str], *, max_chars: int = 20000) -> tuple[float, str] | None:
    """Judge whether decoded text looks like a wrong code page was used.

    Parameters
    ----------
    text : str or iterable of str
        Decoded attribute values (only the first ``max_chars`` non-ASCII characters are judged).
    max_chars : int
        Bound on the characters examined (speed on large layers).

    Returns
    -------
    (float, str) or None
        Share of suspicious non-ASCII characters and a short sample of them, when the share
        exceeds ``max_suspicious_share`` of ``data/input_limits.toml``; ``None`` if the text
        is plausible or too short to judge.
    """
    lim = limits().text
    if not isinstance(text, str):
        text = " ".join(str(t) for t in text)
    chars = [c for c in text if ord(c) > 127][:max_chars]
    if len(chars) < lim.min_characters:
        return None
    flags = [_suspicious(c) for c in chars]
    share = sum(flags) / len(chars)
    if share <= lim.max_suspicious_share:
        return None
    first = flags.index(True)
    return share, "".join(chars[max(first - 3, 0):first + 9])


def decode_or_none(data: bytes, codec: str) -> str | None:
    """``data`` decoded strictly with ``codec``, or None when it does not decode."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _judged(guess: EncodingGuess, data: bytes, file: str | Path) -> EncodingGuess:
    """Attach a warning to ``guess`` when its decoded text is implausible, suggesting a better codec."""
    verdict = implausible_text(data.decode(guess.encoding, errors="replace"))
    if verdict is None:
        return guess
    share, sample = verdict
    others = (alt for alt in _ALTERNATIVES
              if alt != guess.encoding and not (alt == "utf-8" and guess.encoding == "utf-8-sig"))
    better = next((alt for alt in others if (text := decode_or_none(data, alt)) is not None
                   and implausible_text(text) is None and any(ord(c) > 127 for c in text)), None)
    suggestion = better or "big5"
    warning = (f"text decoded as {guess.encoding} looks wrong ({share:.0%} of its non-ASCII characters are "
               f"rare, private-use or mixed-script, e.g. '{sample}'). "
               + (f"It reads plausibly as {better}. " if better else "")
               + f"If names are garbled, state the encoding: --encoding {suggestion} (sanxian convert), "
               f"encoding='{suggestion}' in Python or in the catalog entry / 文字解码结果可疑（可能是繁体 Big5 等编码），"
               f"请用 --encoding 指定编码")
    return EncodingGuess(guess.encoding, guess.reason, warning)


def _dbf_text_bytes(dbf: Path | bytes) -> tuple[bytes, int]:
    """Return the concatenated bytes of all character fields and the LDID byte."""
    raw = dbf if isinstance(dbf, bytes) else dbf.read_bytes()
    if len(raw) < 32:
        return b"", 0
    n_records, header_len, record_len = struct.unpack("<IHH", raw[4:12])
    fields = []
    offset = 1  # each record starts with a deletion flag
    for pos in range(32, header_len - 31, 32):  # 32-byte field descriptors, ended by 0x0D
        if raw[pos] == 0x0D:
            break
        if chr(raw[pos + 11]) in "CM":
            fields.append((offset, raw[pos + 16]))
        offset += raw[pos + 16]
    # A damaged header's record length of 0 leaves no record bytes to read (range() refuses a step of 0).
    records = range(header_len, header_len + n_records * record_len, record_len) if record_len else range(0)
    chunks = [raw[start:start + record_len][o:o + n] for start in records for o, n in fields]
    # Joining with a space keeps a multi-byte character from straddling two fields.
    return b" ".join(chunks), raw[29]  # byte 29: the language-driver id


def detect_shapefile_encoding(shp: str | Path) -> EncodingGuess:
    """Detect the attribute encoding of a shapefile.

    The ``.cpg`` sidecar wins when present and consistent with the bytes;
    otherwise the character fields of the ``.dbf`` are tested (UTF-8 strict,
    then GB18030) and the dBASE language-driver byte breaks ties for pure
    ASCII files.

    Parameters
    ----------
    shp : str or Path
        Path of the ``.shp`` file.

    Returns
    -------
    EncodingGuess
    """
    shp = Path(shp)
    dbf = sidecar(shp, ".dbf")
    if dbf is None:
        return EncodingGuess("utf-8", "no .dbf attribute table")
    cpg = sidecar(shp, ".cpg")
    return detect_dbf_encoding(dbf.read_bytes(), cpg.read_text(encoding="ascii", errors="replace") if cpg else None,
                               file=dbf)


def detect_dbf_encoding(dbf: bytes, cpg: str | None, *, file: str | Path) -> EncodingGuess:
    """Detect the encoding of a ``.dbf`` given its bytes and the text of its ``.cpg`` (if any).

    Parameters
    ----------
    dbf : bytes
        The ``.dbf`` file's content.
    cpg : str or None
        Content of the ``.cpg`` sidecar, ``None`` when there is none.
    file : str or Path
        Name used in messages (the ``.dbf``, or ``archive.zip/name.dbf``).

    Returns
    -------
    EncodingGuess
    """
    text, ldid = _dbf_text_bytes(dbf)
    declared = cpg.strip().lower() if cpg is not None else ""
    codec = _CPG_ALIASES.get(declared)
    if codec is not None and decode_or_none(text, codec) is not None:  # a wrong .cpg is common: detect then
        return _judged(EncodingGuess(codec, f".cpg file declares {declared!r}"), text, file)
    guess = detect_bytes_encoding(text, file=file)
    if guess.encoding == "utf-8" and text.isascii() and ldid in _CHINESE_LDIDS:
        return EncodingGuess(_CHINESE_LDIDS[ldid], f"ASCII only; .dbf language driver 0x{ldid:02X} (code page 936)")
    why = ".cpg does not match the data" if cpg is not None else "no .cpg"
    return EncodingGuess(guess.encoding, f"{why}; {guess.reason}", guess.warning)


def detect_zip_shapefile_encoding(archive: str | Path, layer: str | None = None) -> EncodingGuess | None:
    """Detect the attribute encoding of a shapefile inside a zip archive.

    The same detection as :func:`detect_shapefile_encoding`, on the ``.dbf`` and
    ``.cpg`` members next to the ``.shp`` (the one named ``layer`` when the archive
    holds several).

    Parameters
    ----------
    archive : str or Path
        The ``.zip`` file (already checked by :func:`sanxian_yidan.io.safety.check_zip`).
    layer : str, optional
        Layer name (the ``.shp`` member's stem).

    Returns
    -------
    EncodingGuess or None
        ``None`` when the archive holds no shapefile.
    """
    stem = zipped_shapefile_stem(archive, layer)
    if stem is None:
        return None
    with zipfile.ZipFile(archive) as zf:
        names = {n.lower(): n for n in zf.namelist()}
        dbf = names.get(stem.lower() + ".dbf")
        if dbf is None:
            return EncodingGuess("utf-8", "no .dbf attribute table in the zip")
        cpg = names.get(stem.lower() + ".cpg")
        cpg_text = zf.read(cpg).decode("ascii", errors="replace") if cpg is not None else None
        return detect_dbf_encoding(zf.read(dbf), cpg_text, file=f"{archive}/{dbf}")

