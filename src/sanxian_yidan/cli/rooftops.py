"""``sanxian rooftops``: rooftop PV potential, 整县推进 policy targets and ranking from building footprints.

BUILDINGS is, in this order of precedence:

1. a path to an existing vector file (Shapefile, GeoPackage, GeoJSON, CSV, ...), read with
   ``read_vector`` (``--layer``, ``--crs``) and normalised;
2. the word ``sample``: the ``building`` role of ``--catalog`` if it has one, else of the embedded
   sample catalog (``layers/catalog.toml``, synthetic footprints);
3. a layer id or role of ``--catalog`` (e.g. ``building``).

The catalog (``--catalog``, default ``layers/catalog.toml`` relative to the current folder)
supplies the exclusion layers and the townships.  A catalog path that does not exist is an
error; ``--no-catalog`` runs without one, and the summary then says that no exclusion layer and
no township aggregation were applied.

Outputs in ``--out``: ``rooftops.gpkg``, ``rooftops_by_township.csv`` and
``rooftops_factors.csv`` (provenance of the co-benefit factors); see
:func:`sanxian_yidan.rooftop.write_outputs`.  ``read_vector`` reads UTF-8 files through Arrow
when pyarrow is installed (GBK Shapefiles the classic way).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape

from ..errors import SanxianError
from ._common import DEFAULT_CATALOG, MEMORY_LIMIT_HELP, SCHEDULER_HELP, WORKERS_HELP, DataTable, app, console, fail
from ._progress import progress_bar

if TYPE_CHECKING:
    import geopandas as gpd

    from ..catalog import Catalog
    from ..engine import Engine
    from ..rooftop import RooftopResult

#: Written by the Dask engine only (one GeoParquet file per partition); removed by an in-memory run.
PARQUET_OUTPUT = "rooftops.parquet/"


def _fmt(value: Any, digits: int = 0) -> str:
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def load_catalog(catalog: Optional[Path], no_catalog: bool) -> Any:
    """The catalog for the run, or None with ``--no-catalog``.

    Raises
    ------
    InputFileError
        ``--catalog`` and ``--no-catalog`` given together.
    MissingFileError
        The catalog file does not exist (a relative default is looked up in the current folder).
    CatalogError
        The file is not a valid catalog.
    """
    from ..catalog import Catalog
    from ..errors import InputFileError, MissingFileError, problem

    if no_catalog:
        if catalog is not None:
            raise InputFileError(problem("--catalog 与 --no-catalog 不能同时使用。",
                                         "--catalog and --no-catalog contradict each other.",
                                         fix="keep one of them"))
        return None
    path = catalog if catalog is not None else DEFAULT_CATALOG
    if not path.exists():
        raise MissingFileError(problem(
            "图层目录文件不存在，无法执行排除图层和乡镇汇总。",
            f"Catalog file not found: {path} (resolved from the current folder: {path.resolve()}). Without it "
            "no exclusion layer (heritage, scenic, nature reserve) and no township aggregation could be applied.",
            file=path, fix="run from the repository folder (the default is layers/catalog.toml), pass "
                           "--catalog /path/to/catalog.toml, or pass --no-catalog to run knowingly without "
                           "exclusions and townships"))
    return Catalog.load(path)


def resolve_buildings(spec: str, cat: Catalog | None, layer: Optional[str], crs: Optional[str]
                      ) -> tuple[gpd.GeoDataFrame, Catalog | None]:
    """Return (buildings GeoDataFrame, catalog or None) for the BUILDINGS argument (see module doc)."""
    from ..catalog import Catalog
    from ..errors import MissingFileError, UnknownLayerError, problem
    from ..io.vector import read_vector

    path = Path(spec)
    if path.exists():
        return read_vector(path, layer=layer, crs=crs), cat
    if spec == "sample":
        if cat is not None and cat.has("building"):
            return cat.read("building"), cat
        if not DEFAULT_CATALOG.exists():
            raise MissingFileError(problem(
                "找不到示例图层目录。", f"'sample' reads the building role of the sample catalog {DEFAULT_CATALOG}, "
                f"which is not in the current folder ({DEFAULT_CATALOG.resolve()}).", file=DEFAULT_CATALOG,
                fix="run from the repository folder or pass --catalog /path/to/layers/catalog.toml"))
        sample = Catalog.load(DEFAULT_CATALOG)
        return sample.read("building"), cat  # with --no-catalog the sample's layers are not used either
    if cat is not None and cat.has(spec):
        return cat.read(spec), cat
    where = f"a layer id/role of the catalog {cat.path}" if cat is not None else "a catalog layer (--no-catalog)"
    raise UnknownLayerError(problem(
        f"找不到建筑数据 '{spec}'。", f"'{spec}' is neither an existing file, nor 'sample', nor {where}.",
        fix="give a footprint file (e.g. buildings.shp), the word sample, or a catalog role such as building"))


@app.command("rooftops")
def rooftops(buildings: str = typer.Argument(..., help="Footprint file, 'sample', or a catalog layer id/role."),
             catalog: Optional[Path] = typer.Option(
                 None, "--catalog",
                 help=f"Layer catalog (exclusion layers, townships, working CRS); default {DEFAULT_CATALOG} "
                      "in the current folder. A missing file is an error. 图层目录（不存在则报错）。"),
             no_catalog: bool = typer.Option(
                 False, "--no-catalog",
                 help="Run without a catalog: no exclusion layer (heritage, scenic, nature reserve) and no "
                      "township aggregation are applied, and the summary says so. 不使用图层目录 （不做排除和乡镇汇总）。"),
             params: Optional[Path] = typer.Option(None, "--params",
                                                   help="TOML overriding data/rooftop.toml (may hold [solar], "
                                                        "[factors])."),
             out: Path = typer.Option(Path("out"), "--out", help="Output folder."),
             overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
             layer: Optional[str] = typer.Option(None, "--layer", help="Layer of a multi-layer BUILDINGS file."),
             crs: Optional[str] = typer.Option(None, "--crs", help="CRS of a BUILDINGS file that has none."),
             weather: Optional[Path] = typer.Option(None, "--weather",
                                                    help="Weather file (EPW/TMY3/CSV) instead of the default "
                                                         "climatology."),
             top: int = typer.Option(15, "--top", min=1, help="Roofs of the ranking shown on screen (at least 1)."),
             no_spatial_index: bool = typer.Option(
                 False, "--no-spatial-index",
                 help="Write rooftops.gpkg without its R-tree spatial index: about 2 s faster per million "
                      "buildings, but QGIS pans/zooms the layer more slowly until you create one (Layer "
                      "Properties > Source > Create Spatial Index). 不建空间索引（写出更快，QGIS 浏览较慢）。"),
             engine: str = typer.Option("memory", "--engine",
                                        help="memory: the whole layer in this process; dask: partitioned on a Dask "
                                             "cluster (local unless --scheduler), also writes rooftops.parquet/. "
                                             "计算引擎（dask 用于千万级建筑）。"),
             scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
             workers: Optional[int] = typer.Option(None, "--workers", help=WORKERS_HELP),
             memory_limit: Optional[str] = typer.Option(None, "--memory-limit", help=MEMORY_LIMIT_HELP),
             output_format: str = typer.Option(
                 "gpkg", "--format",
                 help="gpkg: rooftops.gpkg (QGIS styles included); geoparquet: rooftops.parquet/ (GeoParquet, "
                      "several times faster to write for millions of buildings) instead of rooftops.gpkg. The Dask "
                      "engine writes both. 逐栋输出格式（gpkg 或 geoparquet）。")
             ) -> None:
    """Rooftop PV potential per building and per township (synergy plan (三), (七)).

    Writes OUT/rooftops.gpkg (one row per building: capacity_kwp, annual_kwh, co2_t, so2_kg, nox_kg,
    rank, policy_target_kwp, factor_ids, ...; factor provenance and exclusions applied / not applied
    in the layer metadata; with a spatial index unless --no-spatial-index),
    OUT/rooftops_by_township.csv (technical and policy-target capacity per township and county,
    UTF-8 with BOM for Excel; factor ids, unconfirmed factors and exclusions not applied on every
    row) and OUT/rooftops_factors.csv (one row per co-benefit factor: id, value, unit, year,
    publisher, source, confirmed).

    With --engine dask the footprints are read by partition (GeoParquet by file / row group, other formats in
    chunks), sorted along a Hilbert curve and analysed on a Dask cluster; the results are those of the
    in-memory engine, and OUT/rooftops.parquet/ holds the buildings as partitioned GeoParquet.
    """
    from ..engine import resolve_engine
    from ..outputs import staged_output
    from ..rooftop.result import RooftopResult

    started = time.perf_counter()
    inputs = [p for p in (Path(buildings), catalog, params, weather) if p is not None]
    try:
        eng = resolve_engine(engine, scheduler=scheduler, workers=workers, memory_limit=memory_limit)
        from ..rooftop import FORMATS

        if output_format not in FORMATS:
            from ..errors import InputFileError, problem

            raise InputFileError(problem(f"不支持的输出格式 '{output_format}'。",
                                         f"--format {output_format} is not an output format.",
                                         fix=f"use --format {' or --format '.join(FORMATS)}"))
        parquet_only = eng.kind != "dask" and output_format == "geoparquet"
        declared = RooftopResult.output_names()
        names = ([PARQUET_OUTPUT] + declared[1:] if parquet_only   # GeoParquet instead of the GeoPackage
                 else declared + ([PARQUET_OUTPUT] if eng.kind == "dask" else []))
        with staged_output(out, overwrite=overwrite, names=names, owned=declared + [PARQUET_OUTPUT],
                           protect=inputs) as stage:
            cat = load_catalog(catalog, no_catalog)
            if eng.kind == "dask":
                result, staged = _run_dask(buildings, cat, eng, stage, params=params, weather=weather, layer=layer,
                                           crs=crs, spatial_index=not no_spatial_index, top=top)
            else:
                result, staged = _run_memory(buildings, cat, stage, params=params, weather=weather, layer=layer,
                                             crs=crs, spatial_index=not no_spatial_index, output_format=output_format)
        paths = {k: out / p.name for k, p in staged.items()}
        _print_summary(result, top)
    except SanxianError as exc:
        fail(exc)
    console.print(f"wrote {', '.join(str(p) for p in paths.values())} in "
                  f"{time.perf_counter() - started:.1f} s", highlight=False)
    if no_spatial_index and "gpkg" in paths:
        console.print("[yellow]note[/yellow] rooftops.gpkg has no spatial index 无空间索引 (--no-spatial-index): "
                      "create one in QGIS if panning is slow", highlight=False)


def _run_memory(buildings: str, cat: Catalog | None, stage: Path, *, params: Optional[Path], weather: Optional[Path],
                layer: Optional[str], crs: Optional[str], spatial_index: bool,
                output_format: str = "gpkg") -> tuple[RooftopResult, dict[str, Path]]:
    from ..rooftop import ROOFTOP_STEPS, rooftop_potential, write_outputs

    gdf, cat = resolve_buildings(buildings, cat, layer, crs)
    with progress_bar("屋顶光伏 / rooftop PV", ROOFTOP_STEPS, prefix="屋顶光伏 / rooftop PV: ") as step:
        result = rooftop_potential(gdf, catalog=cat, params=params, weather=weather, progress=step)
    return result, write_outputs(result, stage, spatial_index=spatial_index, factors_csv=True, format=output_format)


def _run_dask(buildings: str, cat: Catalog | None, eng: Engine, stage: Path, *, params: Optional[Path], weather: Optional[Path],
              layer: Optional[str], crs: Optional[str], spatial_index: bool, top: int) -> tuple[RooftopResult, dict[str, Path]]:
    from ..rooftop.distributed import rooftop_potential_dask

    # A file is read by partition on the workers; 'sample' or a catalog layer is small and read here.
    source: Any = Path(buildings) if Path(buildings).exists() else resolve_buildings(buildings, cat, layer, crs)[0]
    with progress_bar("屋顶光伏 / rooftop PV (Dask)", 1, prefix="屋顶光伏 / rooftop PV: ") as step:
        result = rooftop_potential_dask(source, stage, catalog=cat, params=params, weather=weather, engine=eng,
                                        layer=layer, crs=crs, spatial_index=spatial_index, top=top, progress=step,
                                        announce=lambda line: console.print(line, highlight=False))
    return result, result.files


def _print_summary(result: RooftopResult, top: int) -> None:
    from ..rooftop import declared_labels

    def label(name: str) -> str:  # every column shown must be declared (DataFileError otherwise)
        return declared_labels([name])[name]

    s = result.details
    if result.synthetic:
        layers = ", ".join(s.get("synthetic_layers", [])) or "?"
        console.print("[bold magenta]⚠ 含合成示例数据，非官方成果，不得用于决策 / includes SYNTHETIC sample data — "
                      f"not for decisions[/bold magenta] (合成图层 / synthetic layers: {escape(layers)})", highlight=False)
    b = result.buildings
    ranked = b[b["rank"] > 0].sort_values("rank").head(top)
    zh = dict(zip(result.categories["use_category"], result.categories["category_zh"]))
    ranked = ranked.assign(use_category=[zh.get(str(c), str(c)) for c in ranked["use_category"]])  # `top` rows
    t1 = DataTable(title=f"屋顶排序（前 {top}）/ Roof ranking (top {top})")
    cols = [("rank", 0), ("township", None), ("use_category", None), ("roof_type", None), ("area_m2", 0),
            ("capacity_kwp", 1), ("annual_kwh", 0), ("co2_t", 1), ("so2_kg", 1), ("nox_kg", 1)]
    for c, _ in cols:
        t1.add_column(label(c), overflow="fold")
    for row in ranked[[c for c, _ in cols]].itertuples(index=False):  # at most `top` rows
        t1.add_row(*[str(v) if d is None else _fmt(v, d) for v, (_, d) in zip(row, cols)])
    console.print(t1)

    # One row per quantity, one column per county: long bilingual labels and large numbers fit an
    # 80-column terminal this way round.
    t2 = DataTable(title="按县汇总 / Totals by county")
    quantities = ("n_buildings", "n_included", "capacity_kwp", "policy_target_kwp", "gap_kwp", "annual_kwh",
                  "co2_t", "coal_tce")
    t2.add_column(label("county"), overflow="fold")
    counties = result.counties
    for county in counties["county"]:
        t2.add_column(str(county), justify="right", overflow="fold")
    for q in quantities:
        t2.add_row(label(q), *[_fmt(v, 0) for v in counties[q]])
    console.print(t2)

    excluded = ", ".join(f"{k} {v}" for k, v in s["excluded"].items()) or "none"
    console.print(f"buildings 建筑 {s['buildings']:,} of {s['input_features']:,} read; "
                  f"dropped (empty/zero area) 剔除 {s['dropped_empty_or_zero_area']}; "
                  f"invalid repaired 修复 {s['invalid_repaired']}; excluded 排除: {excluded}")
    console.print(f"use defaulted 用途缺省 → '{s['default_category']}': {s['use_defaulted']} "
                  f"(missing {s['use_missing']}, unrecognised {s['use_unmapped']}"
                  + (f": {dict(list(s['use_unmapped_values'].items())[:8])}" if s["use_unmapped_values"] else "")
                  + f"); roof type defaulted 屋顶类型缺省: {s['roof_defaulted']}", highlight=False)
    console.print(f"yield 发电量: {s['yield_classes']} orientation classes at lon {s['site_lon_lat'][0]}, "
                  f"lat {s['site_lon_lat'][1]}", highlight=False)
    for line in _exclusion_lines(s):
        console.print(line, highlight=False)
    for line in _factor_lines(s):
        console.print(f"[dim]{escape(line)}[/dim]", highlight=False)
    if s["unconfirmed_factors"]:
        console.print(f"[yellow]note[/yellow] factors not yet confirmed against the publisher 系数待核实: "
                      f"{', '.join(s['unconfirmed_factors'])}", highlight=False)


def _exclusion_lines(summary: dict[str, Any]) -> list[str]:
    """What was not applied (exclusion layers, township aggregation), said plainly."""
    from ..rooftop import NOT_APPLIED_NO_CATALOG

    lines = []
    not_applied = summary.get("exclusions_not_applied", {})
    if not_applied and set(not_applied.values()) == {NOT_APPLIED_NO_CATALOG}:
        lines.append(f"[yellow]note[/yellow] no catalog (--no-catalog): no exclusion layers applied 未执行排除图层 "
                     f"({', '.join(not_applied)}); only the minimum footprint area was applied")
    else:
        lines.extend(f"[yellow]note[/yellow] exclusion '{role}' not applied 未执行排除: {why}"
                     for role, why in not_applied.items())
    if summary["area_source"] == "none":
        lines.append("[yellow]note[/yellow] no township aggregation 未按乡镇汇总: no township or county layer, every "
                     "building is 'unassigned'")
    else:
        lines.append(f"townships 乡镇 from {summary['area_source']}")
    return lines


def _factor_lines(summary: dict[str, Any]) -> list[str]:
    return [f"{kind}: {f.value} {f.unit} {f.basis_label} ({f.year}, {f.publisher})"
            f"{'' if f.confirmed else ' [UNCONFIRMED 待核实]'} — {f.id}" for kind, f in summary["factors"].items()]
