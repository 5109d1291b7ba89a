"""Writers shared by every analysis: GeoPackage layers and CSV tables with bilingual headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from .columns import label
from .io.gpkg import write_settings


def write_table_csv(frame: Any, path: str | Path, columns: Sequence[str]) -> Path:
    """Write ``columns`` of ``frame`` (those present) as CSV.

    UTF-8 with a byte-order mark so Excel shows Chinese; headers are the
    registry's bilingual labels (``中文 / English [unit]``).
    """
    cols = [c for c in columns if c in frame.columns]
    table = frame[cols].copy()
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
    return path
