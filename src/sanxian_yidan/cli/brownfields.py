"""``sanxian brownfields``: rank brownfield land (mines, subsidence land, landfills, contaminated plots) for PV."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape

from ..errors import SanxianError
from ._common import DEFAULT_CATALOG, MEMORY_LIMIT_HELP, SCHEDULER_HELP, WORKERS_HELP, app, console, fail, print_view
from ._progress import progress_bar

if TYPE_CHECKING:
    from ..brownfield import BrownfieldResult
    from ..catalog import Catalog
    from ..engine import Engine


@app.command("brownfields")
def brownfields(catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", help="Layer catalog TOML."),
                parcels: Optional[Path] = typer.Option(None, "--parcels",
                                                       help="Extra candidate parcels (any supported vector file)."),
                layer: Optional[str] = typer.Option(None, "--layer",
                                                    help="Layer of the --parcels file (GeoPackage layer, DXF "
                                                         "layer such as 红线, KML folder, workbook sheet)."),
                crs: Optional[str] = typer.Option(None, "--crs",
                                                  help="CRS of the --parcels file when it has none (e.g. "
                                                       "EPSG:4547), or GCJ-02 / BD-09."),
                params: Optional[Path] = typer.Option(None, "--params",
                                                      help="TOML overriding data/brownfield.toml."),
                out: Path = typer.Option(Path("out"), "--out", help="Output folder."),
                overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
                top: int = typer.Option(15, "--top", min=1,
                                        help="Rows of the ranking shown on screen (at least 1)."),
                engine: str = typer.Option("memory", "--engine",
                                           help="memory: every candidate in this process; dask: candidates "
                                                "evaluated by partition on a Dask cluster (local unless --scheduler), "
                                                "same ranking. 计算引擎（dask 用于大量候选地块）。"),
                scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
                workers: Optional[int] = typer.Option(None, "--workers", help=WORKERS_HELP),
                memory_limit: Optional[str] = typer.Option(None, "--memory-limit", help=MEMORY_LIMIT_HELP)
                ) -> None:
    """Rank brownfield land for ground-mounted PV (synergy plan (十二)).

    Writes OUT/brownfields.gpkg (layers `sites`: net developable area per site with capacity_mw,
    annual_mwh, co2_t, score, rank, p_top_k; `excluded`: the parts cut away, with the reason) and
    OUT/brownfields.csv.

    With --engine dask the candidates are evaluated partition by partition on a Dask cluster (a GeoParquet
    --parcels file or folder is read lazily; other formats are read here first); scores, ranks and
    totals are computed over all candidates, so the outputs are the in-memory ones.
    """
    from ..brownfield import BROWNFIELD_OUTPUTS, RANKING_STEPS, brownfield_ranking
    from ..catalog import Catalog
    from ..engine import resolve_engine
    from ..outputs import staged_output

    started = time.perf_counter()
    try:
        eng = resolve_engine(engine, scheduler=scheduler, workers=workers, memory_limit=memory_limit)
        with staged_output(out, overwrite=overwrite, names=[o.name for o in BROWNFIELD_OUTPUTS],
                           protect=[p for p in (catalog, parcels, params) if p is not None]) as stage:
            cat = Catalog.load(catalog)
            if eng.kind == "dask":
                result = _run_dask(cat, eng, parcels=parcels, params=params, layer=layer, crs=crs, staging=stage)
            else:
                if parcels is not None and (layer is not None or crs is not None):
                    from ..io.vector import read_vector
                    parcels = read_vector(parcels, layer=layer, crs=crs)
                with progress_bar("棕地光伏 / brownfield PV", RANKING_STEPS) as step:
                    result = brownfield_ranking(cat, parcels=parcels, params=params, progress=step)
            result.write(stage, overwrite=True)
    except SanxianError as exc:
        fail(exc)
    elapsed = time.perf_counter() - started
    _print_summary(result, top)
    console.print(f"wrote {out / 'brownfields.gpkg'} (layers sites, excluded) and {out / 'brownfields.csv'} "
                  f"in {elapsed:.1f} s")


def _run_dask(cat: Catalog, eng: Engine, *, parcels: Optional[Path], params: Optional[Path], layer: Optional[str],
              crs: Optional[str], staging: Path) -> BrownfieldResult:
    """The ranking on the Dask engine (a GeoParquet --parcels file is read by partition on the workers; the
    spatial sort's files go in the output staging folder, which a cluster's workers see)."""
    from ..brownfield.distributed import brownfield_ranking_dask

    with progress_bar("棕地光伏 / brownfield PV (Dask)", 1) as step:
        return brownfield_ranking_dask(cat, parcels=parcels, params=params, layer=layer, crs=crs, engine=eng,
                                       staging=staging, progress=step, announce=lambda line: console.print(line, highlight=False))


def _print_summary(result: BrownfieldResult, top: int) -> None:
    sites = result.sites
    s = result.totals()
    if result.synthetic:
        console.print("[bold magenta]⚠ 合成示例数据，非官方管控成果，不得用于决策 / SYNTHETIC sample data — "
                      "not official zoning, not for decisions[/bold magenta]")
    import pandas as pd

    # short headers, display units and decimals on screen: data/tables.toml [tables.brownfield_top], ...
    by_type = pd.concat([result.by_type(), pd.DataFrame([{**s, "site_type_zh": "合计 / total"}])])
    print_view(f"棕地光伏排序（前 {top}）/ Brownfield PV ranking (top {top})", "brownfield_top",
                sites[sites["rank"].notna()].head(top), top_k=result.params.mcda.top_k)
    print_view("按类型汇总 / Totals by site type", "brownfield_by_type", by_type, fold=False)
    if len(ex := result.excluded_by_reason()):
        print_view("硬约束扣除 / Hard exclusions cut away", "brownfield_exclusions", ex, fold=False)
    console.print(f"ranked sites 参与排序: {s['ranked']} — {s['ranked_capacity_mw']:,.1f} MW, "
                  f"{s['ranked_annual_mwh']:,.0f} MWh/yr, {s['ranked_co2_t']:,.0f} t CO₂/yr; "
                  f"density {result.params.density.name} ({result.params.density.mw_per_ha:g} MW/ha)")
    for note in result.notes:
        console.print(f"[yellow]note[/yellow] {escape(str(note))}", highlight=False)
