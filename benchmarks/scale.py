"""Benchmark: province scale on the Dask engine (``--engine dask``) against the in-memory engine.

Rooftops: ``--buildings`` generated footprints (default 5,000,000) through the Dask engine on a local
cluster of ``--workers`` workers of ``--memory-limit`` each (default 2 x 2 GB), end to end (lazy GeoParquet
read by partition, Hilbert sort, analysis, global rank, partitioned GeoParquet + GeoPackage + CSVs), next to
the in-memory engine on ``--memory-buildings`` (default 1,000,000) footprints (read + analysis + GeoPackage
+ CSVs); and the same Dask run on ``--scaling-buildings`` footprints with 1 and with 2 workers.

Screening: ``--projects`` generated projects (default 200,000) x ``--units`` control units (default
50,000, the Voronoi layer of ``benchmarks/screening.py``) through both engines the same way.

Each measurement runs in a fresh Python process.  Reported per run: wall time, throughput (rows/s), peak
resident memory of the client process and of each Dask worker (``ru_maxrss`` read inside the worker at the
end), and whether a worker was restarted (a restart means it went over its memory limit: Dask's nanny
kills a worker at 95 % of it).  Inputs are generated into a temporary folder (never into the repository),
seeded, as GeoParquet files of at most 500,000 rows (read lazily one file / row group at a time).

The machine the numbers in the README came from has 2 cores shared with other jobs: absolute times vary
from run to run; the ratios printed are between runs of the same invocation.

Usage::

    python benchmarks/scale.py                                     # everything, default sizes
    python benchmarks/scale.py --buildings 2000000 --memory-buildings 0 --scaling-buildings 0 --skip-screening
    python benchmarks/scale.py --buildings 200000 --memory-buildings 200000 --scaling-buildings 100000 \
        --projects 20000 --units 10000                             # a quick look
    python benchmarks/scale.py --buildings 0 --memory-buildings 0 --skip-screening   # 1 vs 2 workers only

A size of 0 skips that run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"
HERE = Path(__file__).resolve().parent
CHUNK = 500_000
SEED = 20261207


# ------------------------------------------------------------------------------------------------ inputs
def generate_buildings(folder: Path, n: int) -> Path:
    """``n`` footprints as GeoParquet files of <= CHUNK rows (the generator of benchmarks/rooftop.py)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    sys.path.insert(0, str(HERE))
    from rooftop import USE_P, USES

    from sanxian_yidan.catalog import Catalog

    folder.mkdir(parents=True, exist_ok=True)
    towns = Catalog.load(CATALOG).read("township")
    x0, y0, x1, y1 = towns.total_bounds
    union = shapely.union_all(towns.geometry.values)
    shapely.prepare(union)
    for k, start in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - start)
        rng = np.random.default_rng(SEED + k)
        xs, ys = [], []
        while sum(len(a) for a in xs) < m:
            x = rng.uniform(x0, x1, m)
            y = rng.uniform(y0, y1, m)
            keep = shapely.contains_xy(union, x, y)
            xs.append(x[keep])
            ys.append(y[keep])
        x, y = np.concatenate(xs)[:m], np.concatenate(ys)[:m]
        w = rng.uniform(8.0, 40.0, m)
        h = w * rng.uniform(0.4, 0.9, m)
        t = np.radians(rng.uniform(-45.0, 45.0, m))
        dx = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
        dy = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
        c, s = np.cos(t)[:, None], np.sin(t)[:, None]
        px = x[:, None] + w[:, None] * dx * c - h[:, None] * dy * s
        py = y[:, None] + w[:, None] * dx * s + h[:, None] * dy * c
        use = rng.choice(np.array(USES, dtype=object), size=m, p=USE_P)
        roof = rng.choice(np.array(["平屋顶", "坡屋顶", None], dtype=object), size=m, p=[0.6, 0.3, 0.1])
        gdf = gpd.GeoDataFrame({"bid": np.arange(start, start + m), "use": use, "roof_type": roof,
                                "floors": rng.integers(1, 20, m)},
                               geometry=shapely.polygons(np.stack([px, py], axis=-1)), crs="EPSG:4547")
        gdf.to_parquet(folder / f"part.{k:04d}.parquet", row_group_size=100_000)
    return folder


def generate_screening(folder: Path, n_projects: int, n_units: int) -> tuple[Path, Path, Path]:
    """Projects (GeoParquet), catalog and rules of benchmarks/screening.py at the given sizes."""
    import numpy as np

    sys.path.insert(0, str(HERE))
    import screening as bench

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    catalog = bench.write_catalog(folder, bench.make_units(n_units, rng))
    projects = bench.make_projects(n_projects, rng)
    projects["id"] = [f"B{i:07d}" for i in range(n_projects)]
    path = folder / "projects.parquet"
    projects.to_parquet(path, row_group_size=50_000)
    return path, catalog, folder / "rules.toml"


# ------------------------------------------------------------------------------------------------ stages
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker_peaks(client) -> dict[str, float]:
    import resource as res

    return client.run(lambda: res.getrusage(res.RUSAGE_SELF).ru_maxrss / 1024.0)


def _cluster(workers: int, memory_limit: str):
    import distributed

    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=memory_limit,
                                       processes=True, dashboard_address=":0")
    return cluster, distributed.Client(cluster)


def stage_rooftops_memory(source: str, out: str) -> dict:
    import warnings

    import geopandas as gpd

    from sanxian_yidan.catalog import Catalog
    from sanxian_yidan.rooftop import rooftop_potential, write_outputs

    warnings.simplefilter("ignore")
    cat = Catalog.load(CATALOG)
    t0 = time.perf_counter()
    gdf = gpd.read_parquet(source)
    t_read = time.perf_counter() - t0
    result = rooftop_potential(gdf, catalog=cat)
    t_analysis = time.perf_counter() - t0 - t_read
    write_outputs(result, out, factors_csv=True)
    total = time.perf_counter() - t0
    return {"rows": len(gdf), "seconds": total, "read": t_read, "analysis": t_analysis,
            "write": total - t_read - t_analysis, "client_peak_mb": _peak_mb()}


def stage_rooftops_dask(source: str, out: str, workers: int, memory_limit: str) -> dict:
    import warnings

    from sanxian_yidan.engine import Engine
    from sanxian_yidan.rooftop.distributed import rooftop_potential_dask

    warnings.simplefilter("ignore")
    cluster, client = _cluster(workers, memory_limit)
    try:
        before = set(client.scheduler_info()["workers"])
        marks: dict[str, float] = {}
        t0 = time.perf_counter()

        def progress(label: str, done: int, total: int) -> None:
            marks.setdefault(label.split()[0], time.perf_counter() - t0)

        result = rooftop_potential_dask(source, out, catalog=CATALOG, client=client, progress=progress,
                                        engine=Engine("dask", workers=workers, memory_limit=memory_limit))
        total = time.perf_counter() - t0
        after = set(client.scheduler_info()["workers"])
        peaks = _worker_peaks(client)
    finally:
        client.close()
        cluster.close()
    return {"rows": int(result.details["input_features"]), "seconds": total, "partitions": result.partitions,
            "marks": marks, "worker_peak_mb": sorted(peaks.values()), "restarted": before != after,
            "client_peak_mb": _peak_mb()}


def stage_screening_memory(source: str, catalog: str, rules: str, out: str) -> dict:
    import warnings

    import geopandas as gpd

    from sanxian_yidan.catalog import Catalog
    from sanxian_yidan.screening import screen

    warnings.simplefilter("ignore")
    cat = Catalog.load(catalog)
    cat.read("control_unit")
    cat.read("admin_boundary")
    t0 = time.perf_counter()
    gdf = gpd.read_parquet(source)
    result = screen(gdf, cat, rules)
    t_analysis = time.perf_counter() - t0
    result.to_gpkg(Path(out) / "screening.gpkg")
    result.to_csv(Path(out) / "screening.csv")
    total = time.perf_counter() - t0
    return {"rows": len(gdf), "seconds": total, "analysis": t_analysis, "client_peak_mb": _peak_mb()}


def stage_screening_dask(source: str, catalog: str, rules: str, out: str, workers: int, memory_limit: str) -> dict:
    import warnings

    from sanxian_yidan.engine import Engine
    from sanxian_yidan.screening.distributed import screen_dask

    warnings.simplefilter("ignore")
    cluster, client = _cluster(workers, memory_limit)
    try:
        before = set(client.scheduler_info()["workers"])
        t0 = time.perf_counter()
        result = screen_dask(source, catalog, rules, client=client,
                             engine=Engine("dask", workers=workers, memory_limit=memory_limit, partition_rows=25_000))
        t_analysis = time.perf_counter() - t0
        result.to_gpkg(Path(out) / "screening.gpkg")
        result.to_csv(Path(out) / "screening.csv")
        total = time.perf_counter() - t0
        after = set(client.scheduler_info()["workers"])
        peaks = _worker_peaks(client)
    finally:
        client.close()
        cluster.close()
    return {"rows": len(result.projects), "seconds": total, "analysis": t_analysis,
            "worker_peak_mb": sorted(peaks.values()), "restarted": before != after, "client_peak_mb": _peak_mb()}


STAGES = {"rooftops_memory": stage_rooftops_memory, "rooftops_dask": stage_rooftops_dask,
          "screening_memory": stage_screening_memory, "screening_dask": stage_screening_dask}


def run_stage(name: str, *args: object) -> dict:
    """Run a stage in a fresh process and return its measurements."""
    proc = subprocess.run([sys.executable, __file__, "--stage", name, *map(str, args)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout)[-1500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------ report
def _line(label: str, r: dict, limit_mb: float | None = None) -> str:
    load = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    if "error" in r:
        return f"{label:<44} FAILED ({load}): {r['error']}"
    text = (f"{label:<44} {r['seconds']:8.1f} s  {r['rows'] / r['seconds']:10,.0f} rows/s  "
            f"client peak {r['client_peak_mb']:7,.0f} MB")
    if "worker_peak_mb" in r:
        peaks = ", ".join(f"{p:,.0f}" for p in r["worker_peak_mb"])
        ok = "" if limit_mb is None else (" (under the limit)" if max(r["worker_peak_mb"]) < limit_mb
                                          and not r["restarted"] else " (OVER THE LIMIT / restarted)")
        text += f"  worker peaks [{peaks}] MB{ok}"
    return f"{text}  ({load} at the end)"


def _mb(limit: str) -> float:
    units = {"GB": 1e9, "MB": 1e6, "GIB": 2 ** 30, "MIB": 2 ** 20}
    for unit, factor in units.items():
        if limit.upper().endswith(unit):
            return float(limit[: -len(unit)]) * factor / 2 ** 20
    return float(limit) / 2 ** 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=5_000_000)
    ap.add_argument("--memory-buildings", type=int, default=1_000_000)
    ap.add_argument("--scaling-buildings", type=int, default=1_000_000)
    ap.add_argument("--projects", type=int, default=200_000)
    ap.add_argument("--units", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--skip-rooftops", action="store_true")
    ap.add_argument("--skip-screening", action="store_true")
    ap.add_argument("--skip-screening-memory", action="store_true", help="screening: no in-memory run")
    ap.add_argument("--skip-screening-1-worker", action="store_true", help="screening: no 1-worker Dask run")
    ap.add_argument("--stage", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        name, *rest = args.stage
        fn = STAGES[name]
        typed = [int(a) if a.isdigit() else a for a in rest]
        print(json.dumps(fn(*typed)))
        return
    limit = _mb(args.memory_limit)
    with tempfile.TemporaryDirectory(prefix="sanxian_scale_") as tmp:
        t = Path(tmp)
        if not args.skip_rooftops:
            print(f"rooftops (footprints; {args.workers} worker(s) x {args.memory_limit}):", flush=True)
            skipped = {"error": "skipped (size 0)"}
            r_mem, r_1, r_2 = skipped, skipped, skipped
            if args.memory_buildings:
                r_mem = run_stage("rooftops_memory", generate_buildings(t / "mem", args.memory_buildings), t / "out_mem")
                print(_line(f"in-memory, {args.memory_buildings:,}", r_mem), flush=True)
            if args.scaling_buildings:
                scl = generate_buildings(t / "scl", args.scaling_buildings)
                r_1 = run_stage("rooftops_dask", scl, t / "out_s1", 1, args.memory_limit)
                print(_line(f"dask 1 worker, {args.scaling_buildings:,}", r_1, limit), flush=True)
                r_2 = run_stage("rooftops_dask", scl, t / "out_s2", 2, args.memory_limit)
                print(_line(f"dask 2 workers, {args.scaling_buildings:,}", r_2, limit), flush=True)
            r_big = skipped
            if args.buildings:
                big = generate_buildings(t / "big", args.buildings)
                r_big = run_stage("rooftops_dask", big, t / "out_big", args.workers, args.memory_limit)
                print(_line(f"dask {args.workers} workers, {args.buildings:,}", r_big, limit), flush=True)
            if "error" not in r_1 and "error" not in r_2:
                print(f"  scaling 1 -> 2 workers: {r_1['seconds'] / r_2['seconds']:.2f}x faster")
            if "error" not in r_big and "error" not in r_mem:
                print(f"  dask {args.buildings:,} throughput / in-memory {args.memory_buildings:,}: "
                      f"{(r_big['rows'] / r_big['seconds']) / (r_mem['rows'] / r_mem['seconds']):.2f}")
                print(f"  dask stage marks [s from start]: {json.dumps(r_big['marks'], ensure_ascii=False)}")
        if not args.skip_screening:
            source, catalog, rules = generate_screening(t / "scr", args.projects, args.units)
            print(f"screening ({args.projects:,} projects x {args.units:,} units):", flush=True)
            (t / "so_m").mkdir()
            (t / "so_1").mkdir()
            (t / "so_2").mkdir()
            if not args.skip_screening_memory:
                s_mem = run_stage("screening_memory", source, catalog, rules, t / "so_m")
                print(_line("in-memory", s_mem), flush=True)
            if args.workers > 1 and not args.skip_screening_1_worker:
                s_1 = run_stage("screening_dask", source, catalog, rules, t / "so_1", 1, args.memory_limit)
                print(_line("dask 1 worker", s_1, limit), flush=True)
            s_2 = run_stage("screening_dask", source, catalog, rules, t / "so_2", args.workers, args.memory_limit)
            print(_line(f"dask {args.workers} workers", s_2, limit), flush=True)


if __name__ == "__main__":
    main()
