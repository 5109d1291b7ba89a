"""Detect the text encoding of attribute data written by Chinese GIS software.

Shapefiles from ArcGIS/MapGIS/SuperMap in China are usually written in the
Windows code page 936 (GBK) and often ship without a ``.cpg`` file; GDAL then
falls back to ISO-8859-1 and every Chinese value turns into mojibake.  Valid
UTF-8 is very unlikely to occur by accident in GBK text, so a strict UTF-8
decode decides first; GB18030 (a superset of GBK and GB2312) is the fallback.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import EncodingDetectionError, problem

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
    """

    encoding: str
    reason: str


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
        return EncodingGuess("utf-8-sig", "UTF-8 byte-order mark")
    if data.isascii():
        return EncodingGuess("utf-8", "ASCII only (read as UTF-8)")
    try:
        data.decode("utf-8")
        return EncodingGuess("utf-8", "valid UTF-8 (non-ASCII text decodes strictly)")
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return EncodingGuess("gb18030", "not UTF-8; decodes as GBK/GB18030")
    except UnicodeDecodeError as exc:
        raise EncodingDetectionError(problem(
            "无法识别文字编码（既不是 UTF-8 也不是 GBK/GB18030）。",
            f"Cannot determine the text encoding: neither UTF-8 nor GBK/GB18030 "
            f"(invalid byte at offset {exc.start}).",
            file=file,
            fix="pass encoding='...' (e.g. 'big5', 'latin-1') or re-export the data as UTF-8")) from exc


def _dbf_text_bytes(dbf: Path) -> tuple[bytes, int]:
    """Return the concatenated bytes of all character fields and the LDID byte."""
    raw = dbf.read_bytes()
    if len(raw) < 32:
        return b"", 0
    n_records, header_len, record_len = struct.unpack("<IHH", raw[4:12])
    ldid = raw[29]
    fields = []
    offset = 1  # each record starts with a deletion flag
    pos = 32
    while pos + 32 <= header_len and raw[pos] != 0x0D:
        ftype = chr(raw[pos + 11])
        flen = raw[pos + 16]
        if ftype in "CM":
            fields.append((offset, flen))
        offset += flen
        pos += 32
    chunks = []
    for i in range(n_records):
        start = header_len + i * record_len
        rec = raw[start:start + record_len]
        chunks.extend(rec[o:o + n] for o, n in fields)
    # Joining with a space keeps a multi-byte character from straddling two fields.
    return b" ".join(chunks), ldid


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
    dbf = _sidecar(shp, ".dbf")
    if dbf is None:
        return EncodingGuess("utf-8", "no .dbf attribute table")
    text, ldid = _dbf_text_bytes(dbf)
    cpg = _sidecar(shp, ".cpg")
    if cpg is not None:
        declared = cpg.read_text(encoding="ascii", errors="replace").strip().lower()
        codec = _CPG_ALIASES.get(declared)
        if codec is not None:
            try:
                text.decode(codec)
                return EncodingGuess(codec, f".cpg file declares {declared!r}")
            except UnicodeDecodeError:
                pass  # a wrong .cpg is common; fall through to detection
    guess = detect_bytes_encoding(text, file=dbf)
    if guess.encoding == "utf-8" and text.isascii() and ldid in _CHINESE_LDIDS:
        return EncodingGuess(_CHINESE_LDIDS[ldid], f"ASCII only; .dbf language driver 0x{ldid:02X} (code page 936)")
    if cpg is not None:
        return EncodingGuess(guess.encoding, f".cpg does not match the data; {guess.reason}")
    return EncodingGuess(guess.encoding, f"no .cpg; {guess.reason}")


def _sidecar(shp: Path, suffix: str) -> Path | None:
    for candidate in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None
