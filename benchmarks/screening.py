"""Benchmark: screen 10,000 projects against >= 50,000 generated control-unit polygons.

Prints the time of ``sanxian_yidan.screen`` (and of its overlay engine alone) and the ratios against three
baselines measured in the same run:

(a) a per-project ``geopandas.overlay`` loop, timed on a sample of projects and extrapolated to all;
(b) one vectorised ``geopandas.overlay(projects, units, how="intersection")``;
(c) the floor: one ``STRtree.query`` + array ``shapely.intersection`` + ``area`` and nothing else.

Targets (issue 3): >= 100x faster than (a), not slower than (b), within 2x of (c).  ``screen`` is timed on
one thread and on every core (its bulk GEOS calls run on threads, ``data/screening.toml`` [performance]); the
baselines run on one thread.  Times are the best of ``--repeats`` runs (the machine may be shared).

The data are synthetic and seeded: control units are the Voronoi cells of random points (clipped to a
120 km square in EPSG:4547 around Suizhou), projects are rotated rectangles of 150-900 m sides.

Run::

    python benchmarks/screening.py                 # 10,000 projects, ~50,600 units
    python benchmarks/screening.py --projects 2000 --units 10000 --sample 20   # quick look
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from sanxian_yidan.catalog import Catalog
from sanxian_yidan.rules import load_rules
from sanxian_yidan.screening import overlay_pieces, screen

CRS = "EPSG:4547"
X0, Y0, SIDE = 400000.0, 3460000.0, 120000.0
SEED = 20261124

RULES = """replace_defaults = true
[[rules]]
id = "COV-01"
title_zh = "数据覆盖范围之外"
title_en = "Outside coverage"
role = "admin_boundary"
predicate = "outside_coverage"
severity = "outside_coverage"
source = "benchmark copy of the packaged COV-01"
[[rules]]
id = "CU-01"
title_zh = "优先保护单元两高"
title_en = "两高 in priority units"
role = "control_unit"
predicate = "intersects"
severity = "prohibited"
source = "benchmark copy of the packaged CU-01"
[rules.applies_to]
two_high = true
[rules.params]
where = [{ field = "category", op = "in", value = [1] }]
[[rules]]
id = "CU-03"
title_zh = "优先保护单元光伏"
title_en = "PV in priority units"
role = "control_unit"
predicate = "intersects"
severity = "needs_assessment"
source = "benchmark copy of the packaged CU-03"
[rules.applies_to]
project_types = ["pv"]
[rules.params]
where = [{ field = "category", op = "in", value = [1] }]
[[rules]]
id = "CU-02"
title_zh = "优先保护单元工业"
title_en = "Industry in priority units"
role = "control_unit"
predicate = "intersects"
severity = "restricted"
source = "benchmark copy of the packaged CU-02"
[rules.applies_to]
project_types = ["industrial"]
[rules.params]
where = [{ field = "category", op = "in", value = [1] }]
[[rules]]
id = "CU-04"
title_zh = "重点管控单元工业"
title_en = "Industry in key-control units"
role = "control_unit"
predicate = "intersects"
severity = "notice"
source = "benchmark copy of the packaged CU-04"
[rules.applies_to]
project_types = ["industrial"]
[rules.params]
where = [{ field = "category", op = "in", value = [2] }]
"""


def make_units(n_units: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi cells of ``n_units`` random points clipped to the square (about ``n_units`` polygons)."""
    pts = shapely.points(rng.uniform(X0, X0 + SIDE, n_units), rng.uniform(Y0, Y0 + SIDE, n_units))
    domain = shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=domain))
    cells = shapely.intersection(cells, domain)
    cells = cells[shapely.area(cells) > 0]
    n = len(cells)
    category = rng.choice([1, 2, 3], size=n, p=[0.358, 0.252, 0.390])
    return gpd.GeoDataFrame({
        "HJZHGKDYBM": [f"ZH421321{c}{i:05d}" for i, c in enumerate(category)],
        "HJZHGKDYMC": [f"单元{i}" for i in range(n)],
        "ZHGKDYFL": category,
        "KJBJYS": "【示例】空间布局约束", "PWWPFGK": "【示例】污染物排放管控", "HJFXFK": "【示例】环境风险防控",
        "ZYKFXLYQ": "【示例】资源开发效率要求",
    }, geometry=cells, crs=CRS)


def make_projects(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Rotated rectangles of 150-900 m sides inside the square."""
    cx = rng.uniform(X0 + 1000, X0 + SIDE - 1000, n)
    cy = rng.uniform(Y0 + 1000, Y0 + SIDE - 1000, n)
    w = rng.uniform(150, 900, n)
    h = rng.uniform(150, 900, n)
    ang = rng.uniform(0, math.pi, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float) / 2
    xs = corners[None, :, 0] * w[:, None]
    ys = corners[None, :, 1] * h[:, None]
    rx = cx[:, None] + xs * np.cos(ang)[:, None] - ys * np.sin(ang)[:, None]
    ry = cy[:, None] + xs * np.sin(ang)[:, None] + ys * np.cos(ang)[:, None]
    rings = shapely.linearrings(np.stack([rx, ry], axis=-1))
    kinds = rng.choice(["pv", "industrial"], size=n, p=[0.7, 0.3])
    industry = np.where(kinds == "pv", "D4416", rng.choice(["C2614", "C3670", "C3011"], size=n))
    return gpd.GeoDataFrame({"id": [f"B{i:05d}" for i in range(n)], "project_type": kinds, "industry": industry},
                            geometry=shapely.polygons(rings), crs=CRS)


def write_catalog(folder: Path, units: gpd.GeoDataFrame) -> Path:
    gpkg = folder / "bench.gpkg"
    units.to_file(gpkg, layer="control_units", driver="GPKG")
    gpd.GeoDataFrame({"code": ["421321"], "name": ["基准县"]},
                     geometry=[shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE)], crs=CRS).to_file(
        gpkg, layer="county", driver="GPKG")
    (folder / "rules.toml").write_text(RULES, encoding="utf-8")
    cat = folder / "catalog.toml"
    cat.write_text(f"""[catalog]
working_crs = "{CRS}"
[[layers]]
id = "county"
role = "admin_boundary"
path = "bench.gpkg"
layer = "county"
title_zh = "基准县"
title_en = "Benchmark county"
source = "benchmarks/screening.py"
licence = "CC0"
synthetic = true
[layers.fields]
code = "code"
name = "name"
[[layers]]
id = "control_units"
role = "control_unit"
path = "bench.gpkg"
layer = "control_units"
title_zh = "基准管控单元"
title_en = "Benchmark control units"
source = "benchmarks/screening.py (Voronoi, seed {SEED})"
licence = "CC0"
synthetic = true
[layers.fields]
code = "HJZHGKDYBM"
name = "HJZHGKDYMC"
category = "ZHGKDYFL"
list_space = "KJBJYS"
list_pollution = "PWWPFGK"
list_risk = "HJFXFK"
list_resource = "ZYKFXLYQ"
""", encoding="utf-8")
    return cat


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=50_625, help="seed points of the Voronoi units")
    parser.add_argument("--sample", type=int, default=40, help="projects timed for the per-project loop (a)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    threads = max(1, min(os.cpu_count() or 1, 8))
    rng = np.random.default_rng(SEED)
    t = time.perf_counter()
    units = make_units(args.units, rng)
    projects = make_projects(args.projects, rng)
    print(f"data: {len(projects):,} projects, {len(units):,} control units "
          f"(mean unit {units.area.mean() / 1e6:.3f} km², mean project {projects.area.mean() / 1e4:.1f} ha); "
          f"generated in {time.perf_counter() - t:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cat_path = write_catalog(folder, units)
        cat = Catalog.load(cat_path)
        unit_layer = cat.read("control_unit")          # warm the catalog cache: reading is not screening
        cat.read("admin_boundary")
        rules = load_rules(folder / "rules.toml")
        ugeoms = np.asarray(unit_layer.geometry.values, dtype=object)
        pgeoms = np.asarray(projects.geometry.values, dtype=object)

        # (c) floor: STRtree query + GEOS intersection + area
        def floor():
            tree = shapely.STRtree(ugeoms)
            pi, fi = tree.query(pgeoms, predicate="intersects")
            return shapely.area(shapely.intersection(pgeoms[pi], ugeoms[fi]))
        t_floor, floor_area = best_of(floor, args.repeats)

        # overlay engine of screen() alone, on one thread and on every core
        t_engine1, (pi, _fi, _pieces, area) = best_of(lambda: overlay_pieces(pgeoms, ugeoms), args.repeats)
        t_engine, _ = best_of(lambda: overlay_pieces(pgeoms, ugeoms, threads=threads), args.repeats)

        # screen() end to end (projects prepared, rules evaluated, tables assembled)
        t_screen1, _ = best_of(lambda: screen(projects, cat, rules, threads=1), args.repeats)
        t_screen, result = best_of(lambda: screen(projects, cat, rules, threads=0), args.repeats)

        # for information: the full packaged rule set (roles absent from this catalog → not_evaluated rows)
        t_full, full = best_of(lambda: screen(projects, cat), 1)

        # (b) one vectorised geopandas.overlay
        t_overlay, ov = best_of(lambda: gpd.overlay(projects, unit_layer[["code", "category", "geometry"]],
                                                    how="intersection", keep_geom_type=True), args.repeats)

        # (a) per-project geopandas.overlay loop on a sample, extrapolated
        sample = rng.choice(len(projects), size=min(args.sample, len(projects)), replace=False)
        small = unit_layer[["code", "category", "geometry"]]
        t0 = time.perf_counter()
        for i in sample:
            gpd.overlay(projects.iloc[[int(i)]], small, how="intersection", keep_geom_type=True)
        per_project = (time.perf_counter() - t0) / len(sample)
        t_loop = per_project * len(projects)

    # consistency: the three computations agree on the total overlap area
    total_floor = float(np.sum(floor_area))
    total_engine = float(np.sum(area))
    total_overlay = float(ov.area.sum())
    pieces_out = float(result.overlaps.loc[result.overlaps["role"] == "control_unit", "overlap_area_m2"].sum())
    print(f"total overlap area [km²]: floor {total_floor / 1e6:,.3f}, engine {total_engine / 1e6:,.3f}, "
          f"geopandas.overlay {total_overlay / 1e6:,.3f}, screen (non-sliver pieces) {pieces_out / 1e6:,.3f}")
    print(f"pairs: {len(pi):,}; verdicts: {result.verdict_counts()}")
    print()
    print(f"{'method':58s} {'time [s]':>10s}")
    rows = [
        (f"screen() end to end, {threads} threads (best of {args.repeats})", t_screen),
        (f"screen() end to end, 1 thread (best of {args.repeats})", t_screen1),
        (f"  overlay engine of screen() alone, {threads} threads", t_engine),
        ("  overlay engine of screen() alone, 1 thread", t_engine1),
        (f"  screen() with all {len(full.rules)} packaged rules ({len(full.findings):,} finding rows)", t_full),
        ("(a) per-project geopandas.overlay loop, extrapolated", t_loop),
        (f"    ({len(sample)} projects timed, {per_project * 1e3:.1f} ms each)", per_project * len(sample)),
        (f"(b) one vectorised geopandas.overlay (best of {args.repeats})", t_overlay),
        (f"(c) floor: STRtree query + GEOS intersection (best of {args.repeats})", t_floor),
    ]
    for name, value in rows:
        print(f"{name:58s} {value:10.3f}")
    print()
    print(f"machine: {os.cpu_count()} CPU cores; baselines (a)-(c) run on one thread")
    for label_, t in ((f"screen, {threads} threads", t_screen), ("screen, 1 thread", t_screen1)):
        print(f"{label_}:")
        print(f"  ratio (a) / screen = {t_loop / t:8.1f}x   (target >= 100x faster)")
        print(f"  ratio (b) / screen = {t_overlay / t:8.2f}x   (target >= 1: not slower)")
        print(f"  ratio screen / (c) = {t / t_floor:8.2f}x   (target <= 2x of the floor)")
    print(f"engine / (c): {t_engine / t_floor:.2f}x ({threads} threads), {t_engine1 / t_floor:.2f}x (1 thread)")


if __name__ == "__main__":
    main()
