"""Text damaged before it reached the toolkit: U+FFFD replacement characters and '锟斤拷' mojibake.

Once a GBK text has been decoded as UTF-8 with replacement (U+FFFD, shown as
``�``) — and, when that result is saved as GBK again, read back as the
characters ``锟斤拷`` (the GBK bytes of two U+FFFD: EF BF BD EF BF BD) — the
original characters are gone.  No encoding choice can bring them back; the
planner must get a clean export.  This check names the fields and features.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

#: What damaged text looks like: the Unicode replacement character and its GBK round-trip.
MARKERS = ("\ufffd", "锟斤拷")
#: How many feature ids a warning lists before it only counts.
_MAX_IDS = 10


def corrupted_text_warnings(gdf: gpd.GeoDataFrame) -> list[str]:
    """One warning per text field that holds replacement characters or '锟斤拷'.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer as read.

    Returns
    -------
    list of str
        E.g. ``"field 'name': text damaged before reading (U+FFFD '�' / '锟斤拷') in 2 feature(s) [rows 0, 3]
        ..."``; empty when the text is clean.
    """
    out = []
    pattern = "|".join(MARKERS)
    damaged_names = [str(c) for c in gdf.columns if any(m in str(c) for m in MARKERS)]
    if damaged_names:
        out.append(f"field name(s) {damaged_names} damaged before reading (U+FFFD '\ufffd' / '锟斤拷'): the "
                   "original names are lost; map the fields by position or ask for a clean export / "
                   f"字段名 {damaged_names} 在读入前已损坏")
    for col in gdf.columns.drop(gdf.geometry.name):
        series = gdf[col]
        if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
            continue
        text = series if isinstance(series.dtype, pd.StringDtype) else series.astype("string")
        if not _may_hold_markers(text):
            continue
        rows = np.flatnonzero(text.str.contains(pattern, regex=True, na=False).to_numpy(dtype=bool))
        if not rows.size:  # the screen's false alarm
            continue
        ids = ", ".join(str(int(r)) for r in rows[:_MAX_IDS]) + (" …" if rows.size > _MAX_IDS else "")
        out.append(f"field '{col}': text damaged before reading (U+FFFD '\ufffd' / '锟斤拷') in {rows.size} "
                   f"feature(s) [rows {ids}]; the original characters are lost and no encoding can restore them: "
                   "ask for a clean export (e.g. a shapefile with its .cpg, or a GeoPackage) / "
                   f"字段 '{col}' 的文字在读入前已损坏（乱码 '锟斤拷' 或 '\ufffd'），请索取未损坏的数据")
    return out


def _may_hold_markers(text: pd.Series) -> bool:
    """Whether a text column can hold a marker: a screen of clean columns (every column of most layers).

    Arrow-backed text is searched as the UTF-8 bytes of its buffers (a byte search over a million values
    takes milliseconds); a byte found outside the values (a sliced array) only costs the exact search.
    Other text is searched literally, at about half a regex's cost.
    """
    if getattr(text.dtype, "storage", None) != "pyarrow":
        return any(bool(text.str.contains(m, regex=False, na=False).any()) for m in MARKERS)
    needles = [m.encode("utf-8") for m in MARKERS]
    data = [c.buffers()[2] for c in pa.chunked_array(pa.array(text.array)).chunks]
    raw = [buf.to_pybytes() for buf in data if buf is not None]
    return any(n in b for b in raw for n in needles)
