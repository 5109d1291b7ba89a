"""Writers shared by every analysis: GeoPackage layers and CSV tables with bilingual headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from .columns import label
from .io.gpkg import write_settings


def write_table_csv(frame: Any, path: str | Path, columns: Sequence[str]) -> Path:
    """Write ``columns`` of ``frame`` (those present) as CSV.

    UTF-8 with a byte-order mark so Excel shows Chinese; headers are the
    registry's bilingual labels (``中文 / English [unit]``).
    """
    cols = [c for c in columns if c in frame.columns]
    table = frame[cols].copy()
    for col in cols:
        # A rank with gaps (unranked rows) is stored as float; write 1, 2, 3 and an empty cell, not 1.0.
        if col == "rank" and pd.api.types.is_float_dtype(table[col]):
            whole = table[col].dropna()
            if (whole == whole.round()).all():
                table[col] = table[col].astype("Int64")
    table.columns = [label(c) for c in cols]
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return Path(path)


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
