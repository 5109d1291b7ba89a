"""Command-line interface ``sanxian``: a thin layer over the Python API.

Heavy imports (geopandas, rasterio) happen inside the commands so that
``sanxian --help`` answers at once.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import SanxianError

app = typer.Typer(help="三线一单 screening and PV siting toolkit for Suizhou / 随州三线一单与光伏选址工具",
                  no_args_is_help=True, add_completion=False)
layers_app = typer.Typer(help="Layer catalog: check and list layers / 图层目录", no_args_is_help=True)
coords_app = typer.Typer(help="Coordinate conversions / 坐标转换", no_args_is_help=True)
app.add_typer(layers_app, name="layers")
app.add_typer(coords_app, name="coords")

console = Console()
err_console = Console(stderr=True)
DEFAULT_CATALOG = Path("layers/catalog.toml")


@app.callback()
def _main(verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output (-vv for debug)."),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors.")) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]错误 / Error[/bold red] ({type(exc).__name__}):\n{exc}", highlight=False)
    raise typer.Exit(code=2)


@layers_app.command("check")
def layers_check(catalog: Path = typer.Argument(DEFAULT_CATALOG, help="Catalog TOML (default layers/catalog.toml)."),
                 working_crs: Optional[str] = typer.Option(None, help="Override the working CRS.")) -> None:
    """Open every layer of a catalog and report features, CRS, encoding, repairs, bbox, synthetic flag.

    Exit code 1 if any layer has an error.
    """
    from .catalog import Catalog

    try:
        cat = Catalog.load(catalog, working_crs=working_crs)
    except SanxianError as exc:
        _fail(exc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are shown in the table instead
        with console.status("Reading layers / 正在读取图层…"):
            results = cat.check()
    table = Table(title=f"{cat.meta.get('title_zh', '')} / {cat.meta.get('title_en', '')}\n"
                        f"working CRS 工作坐标系 {cat.working_crs}", show_lines=False)
    for col in ("id", "role", "features", "source CRS", "encoding", "repairs", "bbox (working CRS, m)",
                "synthetic", "status"):
        table.add_column(col, overflow="fold")
    for r in results:
        bbox = "" if r.bbox is None else " ".join(f"{v:.0f}" for v in r.bbox)
        status = "[red]ERROR[/red]" if r.errors else ("[yellow]warn[/yellow]" if r.warnings else "[green]ok[/green]")
        repairs = str(sum(rep.count for rep in r.repairs)) if r.repairs else "0"
        table.add_row(r.entry.id, r.entry.role, "" if r.features is None else f"{r.features:,}",
                      r.source_crs or "", r.encoding or "", repairs, bbox,
                      "[magenta]SYNTHETIC 合成[/magenta]" if r.entry.synthetic else "real 真实", status)
    console.print(table)
    for r in results:
        for rep in r.repairs:
            console.print(f"[yellow]repair[/yellow] {r.entry.id}: {rep}")
        for w in r.warnings:
            console.print(f"[yellow]warning[/yellow] {r.entry.id}: {w}")
    bad = [r for r in results if r.errors]
    for r in bad:
        err_console.print(f"[bold red]ERROR[/bold red] {r.entry.id}:\n" + "\n".join(r.errors), highlight=False)
    n_syn = sum(r.entry.synthetic for r in results)
    console.print(f"{len(results)} layers, {len(bad)} with errors, {n_syn} synthetic "
                  f"(合成数据，非官方管控成果 / synthetic, not official zoning).")
    if bad:
        raise typer.Exit(code=1)


@layers_app.command("roles")
def layers_roles() -> None:
    """List the layer-role vocabulary a catalog entry may use."""
    from .catalog import role_vocabulary

    table = Table(title="Layer roles / 图层角色")
    for col in ("role", "中文", "English", "geometry", "canonical fields"):
        table.add_column(col)
    for role in role_vocabulary().values():
        table.add_row(role.id, role.zh, role.en, "/".join(role.geometry), ", ".join(role.fields))
    console.print(table)


@app.command("convert")
def convert(source: Path = typer.Argument(..., help="Any supported input (shp, gpkg, geojson, kml, csv/xlsx, TXT)."),
            target: Path = typer.Argument(..., help="Output .gpkg, .geojson, .csv or land-boundary .txt."),
            layer: Optional[str] = typer.Option(None, help="Layer or sheet of the input."),
            crs: Optional[str] = typer.Option(None, help="CRS of the input if it has none, or GCJ-02 / BD-09."),
            encoding: Optional[str] = typer.Option(None, help="Attribute encoding of the input (default: detect)."),
            to_crs: str = typer.Option("EPSG:4547", help="CRS of the output (TXT output is always GK)."),
            overwrite: bool = typer.Option(False, help="Replace an existing output file.")) -> None:
    """Read any supported input, repair and reproject it, and write an open format."""
    from .normalize import normalise
    from .io.vector import read_vector

    if target.exists() and not overwrite:
        _fail(FileExistsError(f"{target} exists; pass --overwrite to replace it / 输出文件已存在"))
    try:
        gdf = read_vector(source, layer=layer, crs=crs, encoding=encoding)
        meta = gdf.attrs.get("sanxian", {})
        gdf = normalise(gdf, to_crs, file=str(source), layer=layer)
        repairs = gdf.attrs["sanxian"]["repairs"]
        _write(gdf.drop(columns=["src_fid"]), target, overwrite)
    except SanxianError as exc:
        _fail(exc)
    console.print(f"read {source} (encoding {meta.get('encoding')}, CRS {meta.get('crs')}: {meta.get('crs_reason')})")
    for rep in repairs:
        console.print(f"  {rep}")
    console.print(f"wrote {len(gdf):,} features to {target}")


def _write(gdf, target: Path, overwrite: bool) -> None:  # type: ignore[no-untyped-def]
    suffix = target.suffix.lower()
    if suffix == ".txt":
        from .io.boundary_txt import write_boundary_txt
        write_boundary_txt(gdf, target, overwrite=overwrite)
    elif suffix == ".csv":
        frame = gdf.drop(columns=gdf.geometry.name).assign(wkt=gdf.geometry.to_wkt())
        frame.to_csv(target, index=False, encoding="utf-8-sig")  # BOM so Excel shows Chinese correctly
    else:
        driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}.get(suffix)
        if driver is None:
            raise typer.BadParameter(f"unsupported output {suffix}; use .gpkg, .geojson, .csv or .txt")
        if target.exists():
            target.unlink()
        gdf.to_file(target, driver=driver)


@coords_app.command("convert")
def coords_convert(lon: float = typer.Argument(..., help="Longitude / 经度"),
                   lat: float = typer.Argument(..., help="Latitude / 纬度"),
                   source: str = typer.Option(..., "--from", help="wgs84, gcj02 or bd09"),
                   target: str = typer.Option("wgs84", "--to", help="wgs84, gcj02 or bd09")) -> None:
    """Convert one point between WGS84, GCJ-02 (Amap/Tencent) and BD-09 (Baidu)."""
    from . import crs as crsmod

    funcs = {("gcj02", "wgs84"): crsmod.gcj02_to_wgs84, ("wgs84", "gcj02"): crsmod.wgs84_to_gcj02,
             ("bd09", "wgs84"): crsmod.bd09_to_wgs84, ("wgs84", "bd09"): crsmod.wgs84_to_bd09,
             ("gcj02", "bd09"): crsmod.gcj02_to_bd09, ("bd09", "gcj02"): crsmod.bd09_to_gcj02}
    key = (source.lower().replace("-", ""), target.lower().replace("-", ""))
    if key not in funcs:
        raise typer.BadParameter(f"cannot convert {source} → {target}; use wgs84, gcj02, bd09")
    x, y = funcs[key](lon, lat)
    console.print(f"{x:.7f} {y:.7f}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SanxianError as exc:  # pragma: no cover - commands catch their own
        err_console.print(str(exc))
        sys.exit(2)
