"""Benchmark: rooftop PV potential for 1,000,000 generated footprints, end to end.

Measures, each in a fresh Python process (so that peak memory is per stage):

* baseline — merely reading the footprint GeoPackage with ``pyogrio.read_dataframe(use_arrow=True)``
  (falls back to ``use_arrow=False`` when pyarrow is not installed, and says so);
* pipeline — what ``sanxian rooftops FILE`` does: read (``read_vector``, which reads a GeoPackage
  through Arrow when pyarrow is installed) + ``rooftop_potential`` (normalise, use/roof mapping, exclusions from the
  sample catalog, orientation, yield per class, capacity, co-benefits, township assignment,
  aggregation) + ``write_outputs`` (GeoPackage with its spatial index + township CSV + factor
  CSV), stage by stage;
  then, outside the pipeline total, the same write without the GeoPackage spatial index
  (``--no-spatial-index``), to show what skipping the index saves;
* floor — what any implementation of the stable output must at least do: the same read, then a
  GeoPackage holding only the geometry and the six stable columns of the output (``capacity_kwp``,
  ``annual_kwh``, ``co2_t``, ``so2_kg``, ``nox_kg``, ``rank``) with its spatial index, written with
  the package's GeoPackage settings and no analysis at all (the values are random placeholders),

and prints the times, the ratio pipeline / baseline (target: within 2x), whether the target is met,
and the peak resident memory of each process (``resource.getrusage(...).ru_maxrss``).  Module
imports (geopandas, pyogrio, pvlib, ...) happen before the clocks start in both processes.  The
footprints are generated into /tmp (never into the repository), seeded, inside the sample's townships.

Usage::

    python benchmarks/rooftop.py                # 1,000,000 footprints, one run
    python benchmarks/rooftop.py --repeat 3     # three baseline/pipeline pairs on the same file
    python benchmarks/rooftop.py --n 100000     # smaller run
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"
USES = ["住宅", "农村住宅", "工业厂房", "商业", "学校", "医院", "党政机关", "村委会", None, "加油站"]
USE_P = [0.40, 0.35, 0.08, 0.05, 0.03, 0.01, 0.01, 0.02, 0.04, 0.01]
WRITE = "write (gpkg with spatial index + csvs)"


def generate(path: Path, n: int, seed: int = 20261124) -> None:
    """Write ``n`` rectangular footprints (random size and rotation) inside the sample townships."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from sanxian_yidan.catalog import Catalog

    rng = np.random.default_rng(seed)
    towns = Catalog.load(CATALOG).read("township")
    x0, y0, x1, y1 = towns.total_bounds
    union = shapely.union_all(towns.geometry.values)
    shapely.prepare(union)
    xs, ys = [], []
    while sum(len(a) for a in xs) < n:  # rejection sampling in vectorised batches
        x = rng.uniform(x0, x1, n)
        y = rng.uniform(y0, y1, n)
        keep = shapely.contains_xy(union, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n]
    w = rng.uniform(8.0, 40.0, n)
    h = w * rng.uniform(0.4, 0.9, n)
    theta = np.radians(rng.uniform(-45.0, 45.0, n))
    dx = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    dy = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    px = x[:, None] + (w[:, None] * dx) * np.cos(theta)[:, None] - (h[:, None] * dy) * np.sin(theta)[:, None]
    py = y[:, None] + (w[:, None] * dx) * np.sin(theta)[:, None] + (h[:, None] * dy) * np.cos(theta)[:, None]
    geoms = shapely.polygons(np.stack([px, py], axis=-1))
    use = rng.choice(np.array(USES, dtype=object), size=n, p=USE_P)
    roof = np.where(np.isin(use, ["农村住宅"]), "坡屋顶", rng.choice(np.array(["平屋顶", "坡屋顶", None], dtype=object),
                                                                  size=n, p=[0.6, 0.3, 0.1]))
    gdf = gpd.GeoDataFrame({"use": use, "roof_type": roof, "floors": rng.integers(1, 20, n)},
                           geometry=geoms, crs="EPSG:4547")
    gdf.to_file(path, layer="buildings", driver="GPKG")


def stage_baseline(path: Path) -> dict:
    import pyogrio

    pyogrio.read_info(path)  # open GDAL and its drivers once before the clock, as the pipeline's catalog reads do
    note = "use_arrow=True"
    t0 = time.perf_counter()
    try:
        df = pyogrio.read_dataframe(path, use_arrow=True)
    except Exception as exc:  # pyarrow missing
        note = f"use_arrow=False (arrow unavailable: {type(exc).__name__}: {str(exc)[:80]})"
        t0 = time.perf_counter()
        df = pyogrio.read_dataframe(path, use_arrow=False)
    return {"seconds": time.perf_counter() - t0, "rows": len(df), "note": note}


def stage_pipeline(path: Path, out: Path) -> dict:
    import warnings

    import pvlib  # noqa: F401  imported before the clock, like pyogrio in the baseline

    from sanxian_yidan.catalog import Catalog
    from sanxian_yidan.io.vector import read_vector
    from sanxian_yidan.rooftop import rooftop_potential, write_outputs

    warnings.simplefilter("ignore")
    cat = Catalog.load(CATALOG)
    for role in ("township", "heritage_zone", "scenic_area", "nature_reserve"):
        cat.read(role)  # catalog layers are small; read them outside the timed part like any cached input
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    gdf = read_vector(path, layer="buildings")
    times["read" + (" (arrow)" if gdf.attrs["sanxian"].get("arrow") else " (classic, no arrow)")] = \
        time.perf_counter() - t0
    marks: dict[str, float] = {}
    t1 = time.perf_counter()
    result = rooftop_potential(gdf, catalog=cat,
                               progress=lambda step, done, total: marks.setdefault(step, time.perf_counter()))
    times["analyse"] = time.perf_counter() - t1
    steps = list(marks.items())
    times.update({f"  {a}": marks[b] - marks[a] for (a, _), (b, _) in zip(steps, steps[1:])})
    t2 = time.perf_counter()
    write_outputs(result, out, factors_csv=True)
    times[WRITE] = time.perf_counter() - t2
    total = time.perf_counter() - t0
    t3 = time.perf_counter()
    write_outputs(result, out.with_name(out.name + "_noindex"), spatial_index=False, factors_csv=True)
    no_index = time.perf_counter() - t3
    return {"seconds": total, "times": times, "write_no_index": no_index, "rows": len(result.buildings),
            "yield_classes": result.details["yield_classes"], "included": result.details["included"],
            "capacity_mwp": result.details["totals"]["capacity_kwp"] / 1000.0}


def stage_floor(path: Path, out: Path) -> dict:
    """Read, then write geometry + the six stable columns (no analysis): the least the output costs."""
    import numpy as np
    import pyogrio

    from sanxian_yidan.io.gpkg import write_settings
    from sanxian_yidan.io.vector import read_vector

    pyogrio.read_info(path)
    t0 = time.perf_counter()
    gdf = read_vector(path, layer="buildings")
    read = time.perf_counter() - t0
    n = len(gdf)
    # Random placeholders, not zeros: SQLite stores whole-number REALs in fewer bytes, which would flatter the floor.
    rng = np.random.default_rng(1)
    stable = {c: rng.uniform(0.0, 1e4, n) for c in ("capacity_kwp", "annual_kwh", "co2_t", "so2_kg", "nox_kg")}
    table = gdf[[gdf.geometry.name]].assign(**stable, rank=np.arange(1, n + 1))
    target = out.with_name(out.name + "_floor.gpkg")
    if target.exists():
        target.unlink()
    t1 = time.perf_counter()
    with write_settings():
        pyogrio.write_dataframe(table, target, layer="rooftops", driver="GPKG", use_arrow=True)
    write = time.perf_counter() - t1
    return {"seconds": read + write, "read": read, "write": write}


def _run_stage(stage: str, path: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--stage", stage, "--file", str(path), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report(run: int, base: dict, pipe: dict, floor: dict) -> tuple[float, float]:
    print(f"run {run}")
    print(f"  baseline  read only ({base['note']}): {base['seconds']:.2f} s, peak RSS {base['peak_rss_mb']:.0f} MB")
    print(f"  pipeline  end to end: {pipe['seconds']:.2f} s, peak RSS {pipe['peak_rss_mb']:.0f} MB "
          f"({pipe['rows']:,} buildings, {pipe['included']:,} included, {pipe['yield_classes']} yield classes, "
          f"{pipe['capacity_mwp']:,.0f} MWp)")
    for name, seconds in pipe["times"].items():
        print(f"      {name:<40} {seconds:7.2f} s")
    ratio = pipe["seconds"] / base["seconds"]
    write = pipe["times"][WRITE]
    ratio_no_index = (pipe["seconds"] - write + pipe["write_no_index"]) / base["seconds"]
    print(f"  ratio pipeline / read = {ratio:.2f}x (target <= 2x: {'met' if ratio <= 2 else 'NOT met'})")
    print(f"  floor     read + write geometry and the six stable columns only, with spatial index, no analysis: "
          f"{floor['seconds']:.2f} s (read {floor['read']:.2f} s, write {floor['write']:.2f} s) = "
          f"{floor['seconds'] / base['seconds']:.2f}x the read; pipeline / floor = {pipe['seconds'] / floor['seconds']:.2f}x")
    print(f"  without the GeoPackage spatial index (--no-spatial-index; QGIS can build it later): write "
          f"{pipe['write_no_index']:.2f} s, ratio {ratio_no_index:.2f}x "
          f"(target: {'met' if ratio_no_index <= 2 else 'NOT met'})")
    return ratio, ratio_no_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="baseline/pipeline pairs on the same file")
    parser.add_argument("--stage", choices=["baseline", "pipeline", "floor"])
    parser.add_argument("--file", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the generated file in /tmp")
    args = parser.parse_args()
    if args.stage:  # child process: run one stage, print JSON with its peak memory
        stages = {"baseline": lambda: stage_baseline(args.file), "pipeline": lambda: stage_pipeline(args.file, args.out),
                  "floor": lambda: stage_floor(args.file, args.out)}
        result = stages[args.stage]()
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps(result, ensure_ascii=False))
        return
    tmp = Path(tempfile.mkdtemp(prefix="sanxian_rooftop_bench_", dir="/tmp"))
    path = tmp / f"footprints_{args.n}.gpkg"
    t0 = time.perf_counter()
    generate(path, args.n)
    print(f"generated {args.n:,} footprints in {time.perf_counter() - t0:.1f} s -> {path} "
          f"({path.stat().st_size / 1e6:.0f} MB)")
    ratios = []
    for run in range(1, args.repeat + 1):
        base = _run_stage("baseline", path, tmp / "out")
        pipe = _run_stage("pipeline", path, tmp / "out")
        floor = _run_stage("floor", path, tmp / "out")
        ratios.append(_report(run, base, pipe, floor))
    if args.repeat > 1:
        print(f"ratios with spatial index: {', '.join(f'{r:.2f}x' for r, _ in ratios)}; "
              f"without: {', '.join(f'{r:.2f}x' for _, r in ratios)}")
    if not args.keep:
        for p in sorted(tmp.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        tmp.rmdir()


if __name__ == "__main__":
    main()
