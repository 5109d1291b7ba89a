"""``sanxian layers``: check a layer catalog and list the role vocabulary."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.text import Text

from ..errors import SanxianError
from ._common import DEFAULT_CATALOG, DataTable, app, console, err_console, fail

layers_app = typer.Typer(help="Layer catalog: check and list layers / 图层目录", no_args_is_help=True,
                         rich_markup_mode="markdown")
app.add_typer(layers_app, name="layers")


#: Terminal width [characters] from which `layers check` also shows each layer's source CRS, encoding and
#: bounding box (on a narrower terminal they would wrap every row into many lines; the details still print
#: below the table for layers with repairs or warnings).
_WIDE_TERMINAL = 140


@layers_app.command("check")
def layers_check(catalog: Path = typer.Argument(DEFAULT_CATALOG, help="Catalog TOML (default layers/catalog.toml)."),
                 working_crs: Optional[str] = typer.Option(None, help="Override the working CRS.")) -> None:
    """Open every layer of a catalog and report features, CRS, encoding, repairs, bbox, synthetic flag.

    Exit code 1 if any layer has an error.
    """
    from ..catalog import Catalog

    try:
        cat = Catalog.load(catalog, working_crs=working_crs)
    except SanxianError as exc:
        fail(exc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are shown in the table instead
        with console.status("Reading layers / 正在读取图层…"):
            results = cat.check()
    table = DataTable(title=f"{cat.meta.get('title_zh', '')} / {cat.meta.get('title_en', '')}\n"
                        f"working CRS 工作坐标系 {cat.working_crs}", show_lines=False)
    wide = console.width >= _WIDE_TERMINAL
    for col in ("id", "role", "features", *(["source CRS", "encoding"] if wide else []), "repairs",
                *(["bbox (working CRS, m)"] if wide else []), "synthetic", "status"):
        table.add_column(col, overflow="fold", no_wrap=col in ("id", "role"))
    for r in results:
        bbox = "" if r.bbox is None else " ".join(f"{v:.0f}" for v in r.bbox)
        status = Text.from_markup("[red]ERROR[/red]" if r.errors else
                                  ("[yellow]warn[/yellow]" if r.warnings else "[green]ok[/green]"))
        repairs = str(sum(rep.count for rep in r.repairs)) if r.repairs else "0"
        table.add_row(r.entry.id, r.entry.role, "" if r.features is None else f"{r.features:,}",
                      *([r.source_crs or "", r.encoding or ""] if wide else []), repairs, *([bbox] if wide else []),
                      Text("SYNTHETIC 合成", style="magenta") if r.entry.synthetic else "real 真实", status)
    console.print(table)
    for r in results:
        for rep in r.repairs:
            console.print(f"[yellow]repair[/yellow] {escape(f'{r.entry.id}: {rep}')}")
        for w in r.warnings:
            console.print(f"[yellow]warning[/yellow] {escape(f'{r.entry.id}: {w}')}")
    bad = [r for r in results if r.errors]
    for r in bad:
        err_console.print(f"[bold red]ERROR[/bold red] {escape(r.entry.id)}:\n" + escape("\n".join(r.errors)),
                          highlight=False)
    n_syn = sum(r.entry.synthetic for r in results)
    console.print(f"{len(results)} layers, {len(bad)} with errors, {n_syn} synthetic "
                  f"(合成数据，非官方管控成果 / synthetic, not official zoning).")
    if bad:
        raise typer.Exit(code=1)


@layers_app.command("roles")
def layers_roles() -> None:
    """List the layer-role vocabulary a catalog entry may use."""
    from ..roles import role_vocabulary

    table = DataTable(title="Layer roles / 图层角色")
    for col in ("role", "中文", "English", "geometry", "canonical fields"):
        table.add_column(col, no_wrap=col == "role", overflow="fold")  # the role id is never cut
    for role in role_vocabulary().values():
        table.add_row(role.id, role.zh, role.en, "/".join(role.geometry), ", ".join(role.fields))
    console.print(table)
