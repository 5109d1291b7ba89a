"""``sanxian mines``: rehabilitation priority and recommended mode per mine site (三区两线)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape

from ..errors import SanxianError
from ._common import DEFAULT_CATALOG, app, console, fail, print_view
from ._progress import progress_bar

if TYPE_CHECKING:
    from ..mines import MinesResult


@app.command("mines")
def mines(catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", help="Layer catalog TOML."),
          params: Optional[Path] = typer.Option(None, "--params", help="TOML overriding data/mines.toml."),
          out: Path = typer.Option(Path("out"), "--out", help="Output folder."),
          overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
          top: int = typer.Option(15, "--top", min=1, help="Rows of the ranking shown on screen (at least 1).")
          ) -> None:
    """Mine rehabilitation priorities (三区两线) and recommended mode (synergy plan (九)(十二)).

    Writes OUT/mines.gpkg (layer `mines`: priority, rank, p_top_k, visible_share, mode, ...),
    OUT/mines.csv, OUT/mines_focus_areas.csv (吴山镇, 万和镇 and the other mines, clause (九)) and
    OUT/visibility.tif (三区两线 visibility raster: 1 visible, 0 not, 255 outside the DEM).
    """
    from ..catalog import Catalog
    from ..mines import MINES_OUTPUTS, PRIORITY_STEPS, run_mines
    from ..outputs import staged_output

    started = time.perf_counter()
    try:
        with staged_output(out, overwrite=overwrite, names=[o.name for o in MINES_OUTPUTS],
                           protect=[p for p in (catalog, params) if p is not None]) as stage:
            cat = Catalog.load(catalog)
            with progress_bar("矿山修复 / mine rehabilitation", PRIORITY_STEPS) as step:
                result = run_mines(cat, params=params, progress=step)
            staged = result.write(stage, overwrite=True)
        paths = {k: out / p.name for k, p in staged.items()}
    except SanxianError as exc:
        fail(exc)
    elapsed = time.perf_counter() - started
    _print_summary(result, top)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())} in {elapsed:.1f} s")


def _print_summary(result: MinesResult, top: int) -> None:
    mines = result.mines
    if result.synthetic or bool(mines["synthetic"].any()):
        console.print("[bold magenta]⚠ 合成示例数据，非官方管控成果，不得用于决策 / SYNTHETIC sample data — "
                      "not official zoning, not for decisions[/bold magenta]")
    # short headers, display units and decimals on screen: data/tables.toml [tables.mines_top], ...
    print_view(f"矿山修复优先序（前 {top}）/ Mine rehabilitation priority (top {top})", "mines_top",
                mines[mines["rank"].notna()].head(top), top_k=result.top_k)
    focus, modes = result.tables["focus_summary"], result.tables["mode_summary"]
    if len(focus):
        mode_cols = [c for c in focus.columns if c.startswith("mode_")]   # one count per mode, named in Chinese
        per_mode = ([modes["mode_zh"].get(c.removeprefix("mode_"), c.removeprefix("mode_")) for c in mode_cols],
                    focus[mode_cols].astype(str).to_numpy().tolist())
        print_view("重点区域（方案(九)：随县吴山镇、万和镇石材矿山）/ Focus areas of clause (九)", "mines_focus",
                    focus, extra=per_mode, top_k=result.top_k)
    print_view("建议修复模式 / Recommended modes", "mines_modes", modes.reset_index(), fold=False)
    for note in result.notes:
        console.print(f"[yellow]note[/yellow] {escape(str(note))}", highlight=False)
