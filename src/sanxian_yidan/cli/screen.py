"""``sanxian screen``: screen proposed projects against the 三线一单 zoning and write JSON/GPKG/CSV/reports."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.text import Text

from ..errors import SanxianError
from ._common import (
    DEFAULT_CATALOG,
    MEMORY_LIMIT_HELP,
    SCHEDULER_HELP,
    WORKERS_HELP,
    DataTable,
    app,
    console,
    err_console,
    fail,
)
from ._progress import progress_bar

if TYPE_CHECKING:
    from ..engine import Engine
    from ..screening import ScreeningResult

#: Reports and sheets ``sanxian screen`` writes beside the result's own files (``ScreeningResult.outputs``).
REPORT_NAMES = ["report.html", "report.md", "sheets/"]
#: Rows of the summary table printed to the terminal (the CSV and the report list every project).
SUMMARY_ROWS = 50
_VERDICT_STYLE = {"prohibited": "bold red", "restricted": "dark_orange", "needs_assessment": "yellow",
                  "outside_coverage": "magenta", "notice": "blue", "compliant": "green"}


def output_names() -> list[str]:
    """Files ``sanxian screen --out DIR`` writes (names scripts rely on): the result's declared outputs, the
    reports and the sheets folder."""
    from ..screening import ScreeningResult

    return ScreeningResult.output_names() + REPORT_NAMES


def __getattr__(name: str) -> Any:
    # OUTPUT_NAMES, the former constant, stays readable without importing the screening engine at start-up.
    if name == "OUTPUT_NAMES":
        return output_names()
    raise AttributeError(name)


def extra_output_names(options: dict[str, Any]) -> list[str]:
    """Names of additional outputs requested by options (``--map`` → ``map.html``)."""
    return ["map.html"] if options.get("map") else []


def write_extra_outputs(result: ScreeningResult, out: Path, options: dict[str, Any]) -> list[Path]:
    """Write the outputs named by :func:`extra_output_names`; return their paths."""
    if not options.get("map"):
        return []
    from ..catalog import Catalog
    from ..maps import make_map, save_map
    from ..resultmaps import context_layers

    cat = Catalog.load(options["catalog"])
    m = make_map(context_layers(cat) + result.map_layers(), basemap=options["basemap"],
                 offline=options["offline"], title_zh="环境准入研判", title_en="Access screening", catalog=cat,
                 tianditu_key=options.get("tianditu_key"), view="results")
    return [save_map(m, out / "map.html")]


@app.command("screen")
def screen_command(
    projects: Path = typer.Argument(..., help="Projects: Shapefile, GPKG, GeoJSON, KML/KMZ, DXF red lines, CSV/XLSX "
                                              "(incl. 坐标表) or land-boundary TXT / 项目文件"),
    industry: Optional[str] = typer.Option(None, "--industry", help="GB/T 4754-2017 industry code for projects "
                                                                     "without one, e.g. C2614 / 行业代码"),
    project_type: Optional[str] = typer.Option(None, "--type", help="Project type for projects without one: pv, wind, "
                                                                      "industrial, mining, livestock, ... / 项目类型"),
    catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", help="Layer catalog / 图层目录"),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Rule file that extends or amends the packaged "
                                                               "rules / 规则文件"),
    radius: Optional[float] = typer.Option(None, "--radius", help="Footprint radius of point projects and "
                                                                  "half-width of line projects, in metres (default 100)"),
    crs: Optional[str] = typer.Option(None, "--crs", help="CRS of the project coordinates if the file has none: "
                                                          "EPSG:4326, EPSG:4547, GCJ-02 (Amap), BD-09 (Baidu)"),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer of a multi-layer project file: a GPKG "
                                                              "layer, KML folder, sheet or DXF layer / 图层（如 红线）"),
    out: Path = typer.Option(Path("screening_out"), "--out", help="Output folder / 输出目录"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs / 覆盖已有输出"),
    map_: bool = typer.Option(False, "--map", help="Also write DIR/map.html / 同时输出地图"),
    sheets: bool = typer.Option(True, "--sheets/--no-sheets", help="Write one printable screening sheet per "
                                "project to DIR/sheets/ (about 0.5 s per project for its map) / 输出研判单"),
    pdf: bool = typer.Option(False, "--pdf", help="Also print each screening sheet to DIR/sheets/ID.pdf (A4) "
                                                  "with headless Chromium or Chrome / 同时输出 PDF 研判单"),
    offline: Optional[bool] = typer.Option(None, "--offline/--cdn", help="Map as one self-contained file (default; "
                                           "--cdn: smaller file loading Leaflet from the internet, default with a tile "
                                           "--basemap) / 离线地图"),
    basemap: str = typer.Option("none", "--basemap", help="none | osm | tianditu | amap"),
    tianditu_key: Optional[str] = typer.Option(None, "--tianditu-key", envvar="TIANDITU_KEY",
                                               help="天地图 key for --basemap tianditu (or set TIANDITU_KEY)"),
    engine: str = typer.Option("memory", "--engine", help="memory: all projects in this process; dask: partitioned "
                                                          "on a Dask cluster (local unless --scheduler) / 计算引擎"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, "--workers", help=WORKERS_HELP),
    memory_limit: Optional[str] = typer.Option(None, "--memory-limit", help=MEMORY_LIMIT_HELP),
) -> None:
    """Screen proposed projects against the "three lines, one list" zoning (环境准入研判).

    Writes DIR/screening.json, screening.gpkg, screening.csv, report.html, report.md and one printable
    screening sheet per project (DIR/sheets/ID.html; with --pdf also ID.pdf), and with --map DIR/map.html
    (verdict colours, findings and sources in the popups).

    With --engine dask the projects are screened partition by partition on a Dask cluster (a GeoParquet
    file or folder is read lazily; other formats are read here first); the results are the in-memory ones.
    """
    from ..catalog import Catalog
    from ..engine import resolve_engine
    from ..outputs import staged_output
    from ..report import write_screening_reports
    from ..screening import screen

    offline = (basemap == "none") if offline is None else offline
    options: dict[str, Any] = {"map": map_, "offline": offline, "basemap": basemap, "catalog": catalog,
                               "tianditu_key": tianditu_key}
    caught: list[warnings.WarningMessage] = []
    names = output_names()
    try:
        eng = resolve_engine(engine, scheduler=scheduler, workers=workers, memory_limit=memory_limit)
        with staged_output(out, overwrite=overwrite, names=names + extra_output_names(options),
                           owned=names + ["map.html"],
                           protect=[p for p in (projects, catalog, rules) if p is not None]) as stage, \
                warnings.catch_warnings(record=True) as caught, \
                progress_bar("研判 / screening", 1, console=err_console) as step:
            warnings.simplefilter("always")
            if eng.kind == "dask":
                result = _screen_dask(projects, catalog, rules, eng, industry=industry, project_type=project_type,
                                      radius_m=radius, progress=step, crs=crs, layer=layer, staging=stage)
            else:
                result = screen(projects, catalog, rules, industry=industry, project_type=project_type,
                                radius_m=radius, progress=step, crs=crs, layer=layer)
            step("写出结果 / writing outputs", 1, 1)
            result.write(stage, overwrite=True)
            # the sheets' location maps draw the catalog's layers (already validated by the screening)
            write_screening_reports(result, stage, sheets=sheets or pdf,
                                    catalog=Catalog.load(catalog) if sheets or pdf else None, pdf=pdf)
            write_extra_outputs(result, stage, options)
    except SanxianError as exc:
        fail(exc)
    for w in caught:
        err_console.print(f"[yellow]warning[/yellow] {escape(str(w.message))}", highlight=False)
    _print_summary(result, out)


def _screen_dask(projects: Path, catalog: Path, rules: Optional[Path], eng: Engine, *, crs: Optional[str],
                 layer: Optional[str], **options: Any) -> ScreeningResult:
    """Screening on the Dask engine: GeoParquet read by partition on the workers, other formats read here."""
    from ..engine import is_geoparquet
    from ..screening import read_projects
    from ..screening.distributed import screen_dask

    source: Any = projects
    if not is_geoparquet(projects):
        source, crs = read_projects(projects, crs=crs, layer=layer), None
    return screen_dask(source, catalog, rules, crs=crs, layer=layer, engine=eng,
                       announce=lambda line: err_console.print(line, highlight=False), **options)


def _print_summary(result: ScreeningResult, out: Path) -> None:
    table = DataTable(title="环境准入研判 / Screening", show_lines=False)
    for col in ("编号 id", "名称 name", "结论 verdict", "规则 rules", "县 counties", "完整 complete"):
        table.add_column(col, overflow="fold")
    summary = result.summary_table()
    for row in summary.head(SUMMARY_ROWS).itertuples(index=False):
        style = _VERDICT_STYLE.get(row.verdict, "")
        name = "" if row.project_name is None else str(row.project_name)
        table.add_row(str(row.project_id), name, Text(f"{row.verdict_zh} {row.verdict}", style=style),
                      row.rule_ids, row.counties, "yes" if row.complete else Text("no", style="yellow"))
    console.print(table, markup=True, highlight=False)
    if len(summary) > SUMMARY_ROWS:
        console.print(f"… {len(summary) - SUMMARY_ROWS} more / 另有 {len(summary) - SUMMARY_ROWS} 个项目 "
                      f"(see {out / 'screening.csv'})")
    counts = ", ".join(f"{v} {n}" for v, n in result.verdict_counts().items() if n)
    console.print(f"{len(summary)} projects: {counts}")
    if result.missing_roles:
        console.print(f"[yellow]roles missing from the catalog / 目录缺少的图层: {', '.join(result.missing_roles)}"
                      "[/yellow]")
    if result.synthetic:
        console.print("[magenta]示例数据 SAMPLE DATA — synthetic layers, not official zoning: "
                      f"{', '.join(result.synthetic_layers)}[/magenta]")
    written = [n for n in output_names() + ["map.html"] if (out / n.rstrip("/")).exists()]
    console.print(f"outputs / 输出: {out}/ " + ", ".join(written))
