"""``sanxian brownfields``: rank brownfield land (mines, subsidence land, landfills, contaminated plots) for PV."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from ..errors import SanxianError
from ..schemas import view_rows
from ._common import DEFAULT_CATALOG, DataTable, app, console, fail
from ._progress import progress_bar


def _fmt(value: Any, digits: int = 0) -> str:
    """Number with thousands separators and ``digits`` decimals; "–" for missing values."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


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
                                        help="Rows of the ranking shown on screen (at least 1).")) -> None:
    """Rank brownfield land for ground-mounted PV (synergy plan (十二)).

    Writes OUT/brownfields.gpkg (layers `sites`: net developable area per site with capacity_mw,
    annual_mwh, co2_t, score, rank, p_top_k; `excluded`: the parts cut away, with the reason) and
    OUT/brownfields.csv.
    """
    from ..brownfield import BROWNFIELD_OUTPUTS, RANKING_STEPS, brownfield_ranking
    from ..catalog import Catalog
    from ..outputs import staged_output

    started = time.perf_counter()
    try:
        with staged_output(out, overwrite=overwrite, names=[o.name for o in BROWNFIELD_OUTPUTS],
                           protect=[p for p in (catalog, parcels, params) if p is not None]) as stage:
            cat = Catalog.load(catalog)
            if parcels is not None and (layer is not None or crs is not None):
                from ..io.vector import read_vector
                parcels = read_vector(parcels, layer=layer, crs=crs)  # type: ignore[assignment]
            with progress_bar("棕地光伏 / brownfield PV", RANKING_STEPS) as step:
                result = brownfield_ranking(cat, parcels=parcels, params=params, progress=step)
            result.write(stage, overwrite=True)
    except SanxianError as exc:
        fail(exc)
    elapsed = time.perf_counter() - started
    _print_summary(result, top)
    console.print(f"wrote {out / 'brownfields.gpkg'} (layers sites, excluded) and {out / 'brownfields.csv'} "
                  f"in {elapsed:.1f} s")


def _print_summary(result: Any, top: int) -> None:
    sites = result.sites
    s = result.totals()
    if result.synthetic:
        console.print("[bold magenta]⚠ 合成示例数据，非官方管控成果，不得用于决策 / SYNTHETIC sample data — "
                      "not official zoning, not for decisions[/bold magenta]")
    table = DataTable(title=f"棕地光伏排序（前 {top}）/ Brownfield PV ranking (top {top})")
    # short headers, display units and decimals on screen: data/tables.toml [tables.brownfield_top]
    heads, rows = view_rows("brownfield_top", sites[sites["rank"].notna()].head(top),
                            top_k=result.params.mcda.top_k)
    for head in heads:
        table.add_column(head, overflow="fold")
    for cells in rows:
        table.add_row(*cells)
    console.print(table)

    t2 = DataTable(title="按类型汇总 / Totals by site type")
    for c in ("类型 / type", "地块 / sites", "参与排序 / ranked", "总面积 / gross [ha]", "净面积 / net [ha]",
              "容量 / MW", "年发电 / MWh", "CO₂ t/yr"):
        t2.add_column(c)
    for _, r in result.by_type().iterrows():
        t2.add_row(str(r["site_type_zh"]), str(r["sites"]), str(r["ranked"]), _fmt(r["gross_area_m2"] / 1e4, 1),
                   _fmt(r["net_area_m2"] / 1e4, 1), _fmt(r["capacity_mw"], 1), _fmt(r["annual_mwh"], 0),
                   _fmt(r["co2_t"], 0))
    t2.add_row("合计 / total", str(s["sites"]), str(s["ranked"]), _fmt(s["gross_area_m2"] / 1e4, 1),
               _fmt(s["net_area_m2"] / 1e4, 1), _fmt(s["capacity_mw"], 1), _fmt(s["annual_mwh"], 0),
               _fmt(s["co2_t"], 0))
    console.print(t2)
    ex = result.excluded_by_reason()
    if len(ex):
        t3 = DataTable(title="硬约束扣除 / Hard exclusions cut away")
        for c in ("原因 / reason", "地块部分 / parts", "面积 / area [ha]"):
            t3.add_column(c)
        for _, r in ex.iterrows():
            t3.add_row(str(r["reason_zh"]), str(r["parts"]), _fmt(r["excluded_area_m2"] / 1e4, 1))
        console.print(t3)
    console.print(f"ranked sites 参与排序: {s['ranked']} — {s['ranked_capacity_mw']:,.1f} MW, "
                  f"{s['ranked_annual_mwh']:,.0f} MWh/yr, {s['ranked_co2_t']:,.0f} t CO₂/yr; "
                  f"density {result.params.density.name} ({result.params.density.mw_per_ha:g} MW/ha)")
    for note in result.notes:
        console.print(f"[yellow]note[/yellow] {escape(str(note))}", highlight=False)
