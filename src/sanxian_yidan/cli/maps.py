"""``sanxian map``: draw any vector files (e.g. DIR/screening.gpkg) on an HTML map."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from ..errors import SanxianError
from ._common import DEFAULT_CATALOG, app, console, fail


@app.command("map")
def map_command(
    layer_files: list[Path] = typer.Argument(..., help="Files to draw: vector files (every layer of a GeoPackage), "
                                                      "GeoTIFF rasters (e.g. visibility.tif), CSV tables with a "
                                                      "WKT or lon/lat columns."),
    column: Optional[str] = typer.Option(None, "--column", "-c",
                                         help="Style by this column (verdict, score, rank, mode, ...)."),
    palette: Optional[str] = typer.Option(None, help="Colour table of data/maps.toml for --column, "
                                                     "e.g. control_unit_category."),
    basemap: str = typer.Option("none", help="none | osm | tianditu | amap (tianditu needs TIANDITU_KEY)."),
    offline: Optional[bool] = typer.Option(None, "--offline/--cdn", help="One self-contained HTML file, no network "
                                           "needed (default); --cdn: smaller file loading Leaflet from the internet "
                                           "(default with a tile --basemap)."),
    catalog: Optional[Path] = typer.Option(None, help="Catalog for the county/township boundaries "
                                                      "(default layers/catalog.toml if present)."),
    no_boundaries: bool = typer.Option(False, "--no-boundaries", help="Do not draw the catalog boundaries."),
    title: Optional[str] = typer.Option(None, help="Map title (Chinese / English)."),
    out: Path = typer.Option(Path("map.html"), "--out", "-o", help="Output HTML file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
) -> None:
    """Draw result files on an interactive map with layer control, legend, popups and scale bar.

    Any result file: screening.gpkg, rooftops.gpkg, mines.gpkg, visibility.tif, a CSV with WKT or
    lon/lat.  The map is one self-contained file unless --cdn.
    绘制结果文件（研判结果、栅格、带坐标的表格）为交互式 HTML 地图。
    """
    from ..maps import map_files, save_map
    from ..outputs import staged_output
    from ..resultmaps import decorate_file_layers

    offline = (basemap == "none") if offline is None else offline
    if catalog is None and DEFAULT_CATALOG.exists():
        catalog = DEFAULT_CATALOG
    try:
        with staged_output(out, overwrite=overwrite, kind="file",
                           protect=[*layer_files, *([catalog] if catalog else [])]) as staged, \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with console.status("Drawing the map / 正在绘制地图…"):
                m = map_files(layer_files, column=column, palette=palette, basemap=basemap, offline=offline,
                              catalog=None if no_boundaries else catalog, title=title,
                              decorate=decorate_file_layers)
                save_map(m, staged, offline=offline)
    except SanxianError as exc:
        fail(exc)
    for w in caught:
        console.print(f"[yellow]warning[/yellow] {escape(str(w.message))}", highlight=False)
    info = m.sanxian  # type: ignore[attr-defined]  # the toolkit's record attached to the folium map
    for name, entries in info["legend"].items():
        if name in info.get("base_layers", ()):
            continue
        counts = (f"{entries[0].count} features / 个要素" if len(entries) == 1 and entries[0].label == name
                  else ", ".join(f"{e.label} ({e.count})" for e in entries))
        console.print(escape(f"  {name}: {counts}"), highlight=False)
    if info["synthetic"]:
        console.print("[magenta]示例数据 SAMPLE DATA[/magenta] — synthetic layers / 合成图层: "
                      + "; ".join(info["synthetic_layers"]), highlight=False)
    console.print(f"Map written / 地图已写出: {out} ({out.stat().st_size / 1024:,.0f} kB"
                  + (", self-contained / 离线单文件" if offline else "") + ")", highlight=False)
