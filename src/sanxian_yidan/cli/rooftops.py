"""``sanxian rooftops``: rooftop PV potential, 整县推进 policy targets and ranking from building footprints.

BUILDINGS is, in this order of precedence:

1. a path to an existing vector file (Shapefile, GeoPackage, GeoJSON, CSV, ...), read with
   ``read_vector`` (``--layer``, ``--crs``) and normalised;
2. the word ``sample``: the ``building`` role of the embedded sample catalog (``layers/catalog.toml``,
   synthetic footprints);
3. a layer id or role of ``--catalog`` (e.g. ``building``).

Files in UTF-8 formats (GeoPackage, GeoJSON, FlatGeobuf) are read through Arrow when pyarrow is
installed (same data, about half the read time of a million footprints); Shapefiles, whose text
may be GBK, are read the classic way.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from ..errors import SanxianError
from ._common import DEFAULT_CATALOG, app, console, fail, guard_output_dir

OUTPUTS = ["rooftops.gpkg", "rooftops_by_township.csv"]
#: Formats whose text is UTF-8 by specification: safe to read through Arrow (which cannot recode).
_ARROW_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb"}


def _fmt(value: Any, digits: int = 0) -> str:
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def resolve_buildings(spec: str, catalog: Path, layer: Optional[str], crs: Optional[str]) -> tuple[Any, Any]:
    """Return (buildings GeoDataFrame, catalog or None) for the BUILDINGS argument (see module doc)."""
    from ..catalog import Catalog
    from ..errors import UnknownLayerError, problem

    path = Path(spec)
    cat = Catalog.load(catalog) if catalog.exists() else None
    if path.exists():
        return read_footprints(path, layer, crs), cat
    if spec == "sample":
        # The sample catalog is --catalog when that is the embedded sample (or any catalog with buildings).
        sample = cat if cat is not None and cat.has("building") else Catalog.load(DEFAULT_CATALOG)
        return sample.read("building"), (cat or sample)
    if cat is not None and cat.has(spec):
        return cat.read(spec), cat
    raise UnknownLayerError(problem(
        f"找不到建筑数据 '{spec}'。",
        f"'{spec}' is neither an existing file, nor 'sample', nor a layer id/role of the catalog {catalog}.",
        fix="give a footprint file (e.g. buildings.shp), the word sample, or a catalog role such as building"))


def read_footprints(path: Path, layer: Optional[str], crs: Optional[str]) -> Any:
    """``read_vector`` through Arrow where that is safe and faster (see the module docstring)."""
    from ..errors import InputFileError
    from ..io.vector import read_vector

    if path.suffix.lower() not in _ARROW_SUFFIXES or not _has_pyarrow():
        return read_vector(path, layer=layer, crs=crs)
    try:
        with _pyogrio_arrow():
            return read_vector(path, layer=layer, crs=crs)
    except InputFileError as exc:
        if "use_arrow=False" not in str(exc):  # pyogrio's advice for text that is not UTF-8
            raise
    return read_vector(path, layer=layer, crs=crs)


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def _pyogrio_arrow() -> Iterator[None]:
    """Make pyogrio read through Arrow for the duration (its documented ``PYOGRIO_USE_ARROW`` switch).

    ``read_vector`` does not pass ``use_arrow`` itself; the previous setting is restored afterwards.
    """
    before = os.environ.get("PYOGRIO_USE_ARROW")
    os.environ["PYOGRIO_USE_ARROW"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYOGRIO_USE_ARROW", None)
        else:
            os.environ["PYOGRIO_USE_ARROW"] = before


@app.command("rooftops")
def rooftops(buildings: str = typer.Argument(..., help="Footprint file, 'sample', or a catalog layer id/role."),
             catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog",
                                          help="Layer catalog (exclusion layers, townships, working CRS)."),
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
             top: int = typer.Option(15, "--top", help="Roofs of the ranking shown on screen."),
             no_spatial_index: bool = typer.Option(
                 False, "--no-spatial-index",
                 help="Write rooftops.gpkg without its R-tree spatial index: about 2 s faster per million "
                      "buildings, but QGIS pans/zooms the layer more slowly until you create one (Layer "
                      "Properties > Source > Create Spatial Index). 不建空间索引（写出更快，QGIS 浏览较慢）。")
             ) -> None:
    """Rooftop PV potential per building and per township (synergy plan (三), (七)).

    Writes OUT/rooftops.gpkg (one row per building: capacity_kwp, annual_kwh, co2_t, so2_kg, nox_kg,
    rank, policy_target_kwp, ...; with a spatial index unless --no-spatial-index) and
    OUT/rooftops_by_township.csv (technical and policy-target capacity per township and county,
    UTF-8 with BOM for Excel).
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..rooftop import rooftop_potential, write_outputs

    guard_output_dir(out, overwrite, OUTPUTS)
    started = time.perf_counter()
    try:
        gdf, cat = resolve_buildings(buildings, catalog, layer, crs)
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                      transient=True) as bar:
            task = bar.add_task("屋顶光伏 / rooftop PV", total=1.0)

            def step(label: str, fraction: float) -> None:
                bar.update(task, description=f"屋顶光伏 / rooftop PV: {label}", completed=fraction)

            result = rooftop_potential(gdf, catalog=cat, params=params, weather=weather, progress=step)
        paths = write_outputs(result, out, spatial_index=not no_spatial_index)
    except SanxianError as exc:
        fail(exc)
    _print_summary(result, top)
    console.print(f"wrote {paths['gpkg']} and {paths['csv']} in {time.perf_counter() - started:.1f} s")
    if no_spatial_index:
        console.print("[yellow]note[/yellow] rooftops.gpkg has no spatial index 无空间索引 (--no-spatial-index): "
                      "create one in QGIS if panning is slow", highlight=False)


def _label(name: str) -> str:
    from ..columns import label
    from ..errors import DataFileError

    try:
        return label(name)
    except DataFileError:  # another module's broken column file must not hide the results
        return name


def _print_summary(result: Any, top: int) -> None:
    label = _label
    s = result.summary
    if result.synthetic:
        console.print("[bold magenta]⚠ 含合成示例数据，非官方成果，不得用于决策 / includes SYNTHETIC sample data — "
                      "not for decisions[/bold magenta]")
    b = result.buildings
    ranked = b[b["rank"] > 0].sort_values("rank").head(top)
    t1 = Table(title=f"屋顶排序（前 {top}）/ Roof ranking (top {top})")
    cols = [("rank", 0), ("township", None), ("use_category", None), ("roof_type", None), ("area_m2", 0),
            ("capacity_kwp", 1), ("annual_kwh", 0), ("co2_t", 1), ("so2_kg", 1), ("nox_kg", 1)]
    for c, _ in cols:
        t1.add_column(label(c), overflow="fold")
    for row in ranked[[c for c, _ in cols]].itertuples(index=False):  # at most `top` rows
        t1.add_row(*[str(v) if d is None else _fmt(v, d) for v, (_, d) in zip(row, cols)])
    console.print(t1)

    t2 = Table(title="按县汇总 / Totals by county")
    cols2 = [("county", None), ("n_buildings", 0), ("n_included", 0), ("capacity_kwp", 0),
             ("policy_target_kwp", 0), ("gap_kwp", 0), ("annual_kwh", 0), ("co2_t", 0), ("coal_tce", 0)]
    for c, _ in cols2:
        t2.add_column(label(c), overflow="fold")
    for row in result.counties[[c for c, _ in cols2]].itertuples(index=False):
        t2.add_row(*[str(v) if d is None else _fmt(v, d) for v, (_, d) in zip(row, cols2)])
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
                  f"lat {s['site_lon_lat'][1]}; townships from {s['area_source']}", highlight=False)
    for line in _factor_lines(s):
        console.print(f"[dim]{line}[/dim]", highlight=False)
    if s["unconfirmed_factors"]:
        console.print(f"[yellow]note[/yellow] factors not yet confirmed against the publisher 系数待核实: "
                      f"{', '.join(s['unconfirmed_factors'])}", highlight=False)


def _factor_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for kind, f in summary["factors"].items():
        lines.append(f"{kind}: {f.value} {f.unit} ({f.year}, {f.publisher}) — {f.id}")
    return lines
