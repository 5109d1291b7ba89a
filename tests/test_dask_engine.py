"""The Dask engine gives the in-memory engine's results: same rows, values, ranks, aggregates and files.

100,000 generated footprints (rooftops) run through both engines; the Dask run uses small partitions
(25,000 rows), a Hilbert spatial sort and two worker processes, so every whole-set quantity (global rank
with ties, township sums, the yield site, summary counts) has to be reduced across partitions to match.
Failures: a task that raises fails the run with the toolkit's own error and writes nothing; a worker
that dies is replaced and its task re-run; one that keeps dying fails the run with a clear error.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("distributed")

from sanxian_yidan.catalog import Catalog  # noqa: E402
from sanxian_yidan.engine import Engine, EngineError, resolve_engine, run_partitions  # noqa: E402
from sanxian_yidan.errors import InputFileError, SanxianWarning  # noqa: E402
from sanxian_yidan.outputs import staged_output  # noqa: E402
from sanxian_yidan.rooftop import rooftop_potential, write_outputs  # noqa: E402
from sanxian_yidan.rooftop.distributed import PARQUET_NAME, rooftop_potential_dask  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"
N = 100_000
USES = np.array(["住宅", "农村住宅", "工业厂房", "商业", "学校", "党政机关", None, "加油站"], dtype=object)


def _footprints(n: int, seed: int = 16) -> gpd.GeoDataFrame:
    """``n`` rotated rectangles inside the sample townships, plus rows that test the reductions:
    exact duplicates of earlier footprints (rank ties broken by input position), zero-area and
    bow-tie polygons (dropped / repaired), and footprints outside the catalog's coverage."""
    rng = np.random.default_rng(seed)
    towns = Catalog.load(CATALOG).read("township")
    x0, y0, x1, y1 = towns.total_bounds
    union = shapely.union_all(towns.geometry.values)
    shapely.prepare(union)
    x = rng.uniform(x0, x1, 3 * n)
    y = rng.uniform(y0, y1, 3 * n)
    keep = shapely.contains_xy(union, x, y)
    x, y = x[keep][:n], y[keep][:n]
    w = rng.uniform(8.0, 40.0, n)
    h = w * rng.uniform(0.4, 0.9, n)
    theta = np.radians(rng.uniform(-45.0, 45.0, n))
    dx = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    dy = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    px = x[:, None] + w[:, None] * dx * c - h[:, None] * dy * s
    py = y[:, None] + w[:, None] * dx * s + h[:, None] * dy * c
    geoms = shapely.polygons(np.stack([px, py], axis=-1))
    use = rng.choice(USES, size=n)
    roof = rng.choice(np.array(["平屋顶", "坡屋顶", None], dtype=object), size=n)
    # Last rows: 200 copies of earlier footprints (same energy and capacity: ties), 20 zero-area
    # slivers, 20 bow-ties, 50 far outside the coverage (east of Suizhou).
    dup = rng.integers(0, n - 400, 200)
    geoms[n - 290:n - 90] = geoms[dup]
    use[n - 290:n - 90], roof[n - 290:n - 90] = use[dup], roof[dup]
    geoms[n - 90:n - 70] = [shapely.Polygon([(a, b), (a + 5, b), (a + 10, b)])
                            for a, b in zip(x[n - 90:n - 70], y[n - 90:n - 70])]
    geoms[n - 70:n - 50] = [shapely.Polygon([(a, b), (a + 12, b + 12), (a + 12, b), (a, b + 12)])
                            for a, b in zip(x[n - 70:n - 50], y[n - 70:n - 50])]
    geoms[n - 50:] = [box(a, b, a + 20, b + 15) for a, b in zip(np.full(50, 700_000.0) + np.arange(50) * 30,
                                                                 np.full(50, 3_500_000.0))]
    return gpd.GeoDataFrame({"bid": np.arange(n), "use": use, "roof_type": roof,
                             "floors": rng.integers(1, 20, n)}, geometry=geoms, crs="EPSG:4547")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GB", processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def runs(client, tmp_path_factory):
    """Both engines on the same 100,000 footprints (GeoParquet input for Dask)."""
    tmp = tmp_path_factory.mktemp("dask")
    gdf = _footprints(N)
    source = tmp / "footprints.parquet"
    gdf.to_parquet(source)
    cat = Catalog.load(CATALOG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        memory = rooftop_potential(gdf, catalog=cat)
    write_outputs(memory, tmp / "memory", factors_csv=True)
    steps: list[tuple[str, int, int]] = []
    with pytest.warns(SanxianWarning, match="50 building"):
        dask = rooftop_potential_dask(source, tmp / "dask", catalog=CATALOG, client=client,
                                      engine=Engine("dask", partition_rows=25_000),
                                      progress=lambda *a: steps.append(a))
    return memory, dask, tmp, steps


def _same_values(a: pd.Series, b: pd.Series) -> None:
    if a.dtype.kind == "f":
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, equal_nan=True, err_msg=a.name)
    else:
        na = pd.isna(a).to_numpy()
        np.testing.assert_array_equal(na, pd.isna(b).to_numpy(), err_msg=str(a.name))
        np.testing.assert_array_equal(a[~na].astype(str).to_numpy(), b[~na].astype(str).to_numpy(),
                                      err_msg=str(a.name))


def test_every_building_has_the_in_memory_values_and_rank(runs) -> None:
    memory, dask, tmp, _ = runs
    assert dask.partitions == 4
    parts = sorted((tmp / "dask" / PARQUET_NAME).glob("part.*.parquet"))
    assert len(parts) == 4
    got = gpd.read_parquet(tmp / "dask" / PARQUET_NAME).sort_values("bid").reset_index(drop=True)
    want = memory.buildings.sort_values("bid").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) == N - 20  # the 20 zero-area slivers are dropped
    assert got.geometry.geom_equals_exact(want.geometry, 0.0).all()
    for column in want.columns.drop("geometry"):
        _same_values(want[column], got[column])
    # The rank is global: 1..k over all partitions, ties (the 200 duplicates) broken by input position.
    ranked = got.loc[got["rank"] > 0, "rank"].sort_values().to_numpy()
    np.testing.assert_array_equal(ranked, np.arange(1, len(ranked) + 1))
    assert (want["rank"] > 0).sum() == len(ranked)


def test_partitions_are_spatially_compact(runs) -> None:
    _, _, tmp, _ = runs
    parts = [gpd.read_parquet(p) for p in sorted((tmp / "dask" / PARQUET_NAME).glob("part.*.parquet"))]
    whole = shapely.box(*pd.concat(parts).total_bounds).area
    # A Hilbert-sorted partition covers a fraction of the extent (input order would cover all of it).
    assert max(shapely.box(*p.total_bounds).area for p in parts[:-1]) < 0.6 * whole


def test_tables_and_summary_are_reduced_across_partitions(runs) -> None:
    memory, dask, _, _ = runs
    pd.testing.assert_frame_equal(dask.townships, memory.townships, rtol=1e-10)
    pd.testing.assert_frame_equal(dask.counties, memory.counties, rtol=1e-10)
    pd.testing.assert_frame_equal(dask.categories, memory.categories, rtol=1e-10)
    assert len(dask.yield_classes) == len(memory.yield_classes)
    for key, value in memory.details.items():
        got = dask.details[key]
        if key == "totals":
            assert got == pytest.approx(value, rel=1e-12)
        elif key == "repairs":  # same kinds, counts and listed feature ids (the detail text is a sample)
            assert [(r.kind, r.count, r.feature_ids) for r in got] == [(r.kind, r.count, r.feature_ids)
                                                                       for r in value]
        else:
            assert got == value, key
    assert dask.details["excluded"]["outside_coverage"] == 50
    assert dask.details["dropped_empty_or_zero_area"] == 20
    # The analysis contract's surface: the same summary table, notes and provenance.
    pd.testing.assert_frame_equal(pd.DataFrame(dask.summary), pd.DataFrame(memory.summary), rtol=1e-12)
    assert dask.notes == memory.notes
    assert dask.provenance.as_dict() == memory.provenance.as_dict()


def test_files_match_the_in_memory_files(runs) -> None:
    memory, dask, tmp, _ = runs
    mem_dir, dask_dir = tmp / "memory", tmp / "dask"
    a = pyogrio.read_info(mem_dir / "rooftops.gpkg", layer="rooftops")
    b = pyogrio.read_info(dask_dir / "rooftops.gpkg", layer="rooftops")
    assert b["features"] == a["features"] == N - 20
    assert list(b["fields"]) == list(a["fields"])
    assert b["layer_metadata"] == a["layer_metadata"]
    cols = ["bid", "rank", "annual_kwh"]
    gm = pyogrio.read_dataframe(mem_dir / "rooftops.gpkg", layer="rooftops", columns=cols).sort_values("bid")
    gd = pyogrio.read_dataframe(dask_dir / "rooftops.gpkg", layer="rooftops", columns=cols).sort_values("bid")
    np.testing.assert_array_equal(gd["rank"].to_numpy(), gm["rank"].to_numpy())
    np.testing.assert_allclose(gd["annual_kwh"].to_numpy(), gm["annual_kwh"].to_numpy(), rtol=1e-12)
    for name in ("rooftops_by_township.csv", "rooftops_factors.csv"):
        cm = pd.read_csv(mem_dir / name, encoding="utf-8-sig")
        cd = pd.read_csv(dask_dir / name, encoding="utf-8-sig")
        pd.testing.assert_frame_equal(cd, cm, rtol=1e-10)
    assert sorted(p.name for p in dask_dir.iterdir()) == sorted(
        ["rooftops.gpkg", "rooftops_by_township.csv", "rooftops_factors.csv", PARQUET_NAME])
    assert sorted(dask.files) == ["csv", "factors", "gpkg", "parquet"]


def test_progress_is_fed_from_zero_to_the_total(runs) -> None:
    _, _, _, steps = runs
    total = steps[-1][2]
    assert steps[-1][1] == total == 2 * 4 + 4
    done = [d for _, d, t in steps if t == total]
    assert done == sorted(done) and done[-1] == total
    assert sum(1 for label, _, _ in steps if label.startswith("partitions")) == 4 + 1  # start + one per partition


def test_a_task_that_raises_fails_the_run_and_writes_nothing(client, tmp_path: Path) -> None:
    source = tmp_path / "f.parquet"
    _footprints(3000, seed=3).to_parquet(source)
    out = tmp_path / "out"
    no_crs = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)])  # raises InputFileError inside every task
    with pytest.raises(InputFileError, match="has no CRS"):
        with staged_output(out, names=["rooftops.gpkg", "rooftops.parquet/"]) as stage:
            rooftop_potential_dask(source, stage, catalog=CATALOG, client=client, exclusions={"flood": no_crs},
                                   engine=Engine("dask", partition_rows=1000))
    assert not out.exists() or not any(out.iterdir())


def test_the_bucket_sort_gives_the_partitions_of_the_p2p_shuffle(client, tmp_path: Path) -> None:
    from sanxian_yidan.engine import read_partitions, scan, spatial_sort

    engine = Engine("dask", partition_rows=4_000)
    ddf = read_partitions(_footprints(20_000, seed=5), engine)
    found = scan(ddf)
    stage = tmp_path / "sort"
    by_files = spatial_sort(ddf, engine, found, stage=stage, client=client)
    files = [p for p in client.compute(by_files.to_delayed(), sync=True)]
    shuffled = [p for p in client.compute(spatial_sort(ddf, engine, found).to_delayed(), sync=True) if len(p)]
    assert len(files) == len(shuffled) == 5
    assert sum(len(p) for p in files) == 20_000
    for got, want in zip(files, shuffled):
        # Same rows in each Hilbert range, ascending along the curve, same columns, types and geometries.
        assert got.index.is_monotonic_increasing
        want = want.sort_values("_row")
        got = got.sort_values("_row")
        np.testing.assert_array_equal(got["_row"].to_numpy(), want["_row"].to_numpy())
        np.testing.assert_array_equal(got.index.to_numpy(), want.index.to_numpy())
        assert got.dtypes.to_dict() == want.dtypes.to_dict() and got.crs == want.crs
        assert shapely.equals_exact(got.geometry.values, want.geometry.values).all()
    # One file per (input partition, range) reached, in one folder per range.
    assert len(list(stage.glob("bucket.*"))) == 5 and not list(stage.rglob("*.tmp"))


def _die_once(value: int, index: int, marker: str) -> int:
    """Kill this worker process the first time partition 1 runs; return the value otherwise."""
    if index == 1 and not os.path.exists(marker):
        Path(marker).write_text("died")
        os._exit(1)
    return value * 10


def _always_die(value: int, index: int) -> int:
    os._exit(1)


def test_a_dead_worker_is_replaced_and_its_task_rerun(client, tmp_path: Path) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(__import__(__name__))
    try:
        marker = str(tmp_path / "died")
        assert run_partitions(client, _die_once, [1, 2, 3], marker) == [10, 20, 30]
        assert Path(marker).read_text() == "died"
    finally:
        cloudpickle.unregister_pickle_by_value(__import__(__name__))


def test_a_worker_that_keeps_dying_fails_with_a_clear_error(client) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(__import__(__name__))
    try:
        with pytest.raises(EngineError, match="memory-limit"):
            run_partitions(client, _always_die, [1])
    finally:
        cloudpickle.unregister_pickle_by_value(__import__(__name__))


def test_engine_options_are_checked() -> None:
    assert resolve_engine("dask", workers=2, memory_limit="1GB") == Engine("dask", workers=2, memory_limit="1GB")
    assert resolve_engine(None).kind == "memory"
    with pytest.raises(InputFileError, match="Unknown engine"):
        resolve_engine("spark")
    with pytest.raises(InputFileError, match="--engine dask"):
        resolve_engine("memory", scheduler="tcp://localhost:8786")
    with pytest.raises(InputFileError, match="at least 1"):
        resolve_engine("dask", workers=0)


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "f.parquet"
    _footprints(1000).to_parquet(source)
    with pytest.raises(EngineError, match="Cannot reach the Dask scheduler"):
        rooftop_potential_dask(source, tmp_path / "out", catalog=CATALOG,
                               engine=Engine("dask", scheduler="tcp://127.0.0.1:9"))


def test_cli_engine_dask_reads_a_geopackage_in_chunks_and_writes_the_memory_results(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sanxian_yidan.cli import app

    source = tmp_path / "footprints.gpkg"
    _footprints(4000, seed=5).to_file(source, layer="buildings", driver="GPKG")
    runner = CliRunner()
    args = ["rooftops", str(source), "--catalog", str(CATALOG), "--top", "3"]
    memory = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert memory.exit_code == 0, memory.output
    dask = runner.invoke(app, [*args, "--out", str(tmp_path / "d"), "--engine", "dask", "--workers", "1",
                               "--memory-limit", "1GB"])
    assert dask.exit_code == 0, dask.output
    assert "dashboard" in dask.output and "1 worker(s) x 1GB" in dask.output
    cols = ["bid", "rank", "capacity_kwp", "township"]
    m = pyogrio.read_dataframe(tmp_path / "m" / "rooftops.gpkg", layer="rooftops", columns=cols).sort_values("bid")
    d = pyogrio.read_dataframe(tmp_path / "d" / "rooftops.gpkg", layer="rooftops", columns=cols).sort_values("bid")
    assert len(d) == len(m) == 4000 - 20
    np.testing.assert_array_equal(d["rank"].to_numpy(), m["rank"].to_numpy())
    np.testing.assert_allclose(d["capacity_kwp"].to_numpy(), m["capacity_kwp"].to_numpy(), rtol=1e-12)
    assert (d["township"].to_numpy() == m["township"].to_numpy()).all()
    assert (tmp_path / "d" / PARQUET_NAME).is_dir() and not (tmp_path / "m" / PARQUET_NAME).exists()
    # The same ranking table on screen (its top 3 rows).
    top_m = memory.output[memory.output.index("Roof ranking"):].split("\n")[:8]
    top_d = dask.output[dask.output.index("Roof ranking"):].split("\n")[:8]
    assert top_d == top_m


# ------------------------------------------------------------------------------------------------ screening
def _projects(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    """Rectangles and points over the sample townships (mixed project types, 5 % without an id), plus 30
    far outside the coverage."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = Catalog.load(CATALOG).read("township").total_bounds
    cx, cy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    w, h = rng.uniform(100, 800, n), rng.uniform(100, 800, n)
    geoms = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    points = rng.random(n) < 0.2
    geoms[points] = shapely.points(cx[points], cy[points])
    far = np.arange(n - 30, n)
    geoms[far] = shapely.box(cx[far] + 400_000, cy[far], cx[far] + 400_300, cy[far] + 300)
    ids = np.array([f"X{i}" for i in range(n)], dtype=object)
    ids[rng.random(n) < 0.05] = None
    kinds = rng.choice(np.array(["pv", "industrial", "wind", None], dtype=object), size=n)
    return gpd.GeoDataFrame({"id": ids, "project_type": kinds}, geometry=geoms, crs="EPSG:4547")


def test_screening_10000_projects_gives_the_in_memory_tables(client, tmp_path: Path) -> None:
    from sanxian_yidan.screening import screen
    from sanxian_yidan.screening.distributed import screen_dask

    gdf = _projects(10_000)
    source = tmp_path / "projects.parquet"
    gdf.to_parquet(source)
    memory = screen(gdf, CATALOG)
    steps: list[tuple[str, int, int]] = []
    dask = screen_dask(source, CATALOG, client=client, engine=Engine("dask", partition_rows=2_500),
                       progress=lambda *a: steps.append(a))
    assert steps[-1][1] == steps[-1][2] == 4 + 2
    for name in ("projects", "overlaps", "findings", "distances", "slivers"):
        pd.testing.assert_frame_equal(pd.DataFrame(getattr(dask, name)), pd.DataFrame(getattr(memory, name)),
                                      rtol=1e-10, check_dtype=False, obj=name)
    assert (dask.projects["project_id"] == "P18").any() == (memory.projects["project_id"] == "P18").any()
    assert dask.verdict_counts() == memory.verdict_counts()
    assert (memory.projects["verdict"] == "outside_coverage").sum() >= 30
    assert dask.parameters["projects"] == "projects.parquet"
    assert dask.missing_roles == memory.missing_roles
    assert [(r.kind, r.count) for r in dask.repairs] == [(r.kind, r.count) for r in memory.repairs]


def test_screening_refuses_ids_repeated_across_partitions(client, tmp_path: Path) -> None:
    from sanxian_yidan.screening.distributed import screen_dask

    gdf = _projects(2_000, seed=2)
    gdf.loc[[3, 1_990], "id"] = "SAME"   # far apart: in different spatial partitions
    with pytest.raises(InputFileError, match="repeated: \\['SAME'\\]"):
        screen_dask(gdf, CATALOG, client=client, engine=Engine("dask", partition_rows=500))


def test_cli_screen_engine_dask_writes_the_memory_csv(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sanxian_yidan.cli import app

    source = tmp_path / "projects.gpkg"
    _projects(300, seed=4).to_file(source, driver="GPKG")
    runner = CliRunner()
    args = ["screen", str(source), "--catalog", str(CATALOG), "--no-sheets"]
    memory = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert memory.exit_code == 0, memory.output
    dask = runner.invoke(app, [*args, "--out", str(tmp_path / "d"), "--engine", "dask", "--workers", "1"])
    assert dask.exit_code == 0, dask.output
    a = pd.read_csv(tmp_path / "m" / "screening.csv", encoding="utf-8-sig")
    b = pd.read_csv(tmp_path / "d" / "screening.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(b, a)


def _fail_fast_or_write_late(part, index: int, bounds, divisions, stage: str):
    """Partition 0 fails at once; the others write their bucket files a second later (still running when the
    run has failed and its staging folder is removed, unless the run waits for them)."""
    import time

    from sanxian_yidan.engine import _write_buckets

    if index == 0:
        raise ValueError("partition 0 fails")
    time.sleep(1.0)
    return _write_buckets(part, index, bounds, divisions, stage)


def test_a_failed_sort_leaves_no_staging_folder_behind(client, tmp_path: Path) -> None:
    # A task still running when another fails must not write into (or recreate) the removed staging folder.
    import time

    import cloudpickle

    from sanxian_yidan.engine import SORT_STAGE, bucket_sort, read_partitions, sort_stage

    engine = Engine("dask", partition_rows=500)
    ddf = read_partitions(_footprints(1500, seed=9), engine)
    bounds = np.array([0.0, 0.0, 1e7, 1e7])
    cloudpickle.register_pickle_by_value(__import__(__name__))
    try:
        with pytest.raises(EngineError, match="partition 0 fails"):
            with sort_stage(client, tmp_path) as stage:
                assert stage == tmp_path / SORT_STAGE
                (stage / "bucket.00000").mkdir()  # as bucket_sort makes its range folders before the tasks run
                run_partitions(client, _fail_fast_or_write_late, ddf.to_delayed(), bounds,
                               np.array([0, 4 ** 16 - 1]), str(stage))
        time.sleep(2.5)  # longer than the late writes take: nothing may appear after the removal
        assert not (tmp_path / SORT_STAGE).exists()
    finally:
        cloudpickle.unregister_pickle_by_value(__import__(__name__))
    # The client makes every bucket folder before the writing tasks run (the tasks make none).
    stage = tmp_path / "made"
    bucket_sort(ddf, bounds, [0, 4 ** 15, 4 ** 16 - 1], stage, client=client)
    assert sorted(p.name for p in stage.iterdir()) == ["bucket.00000", "bucket.00001"]


class _FakeClient:
    def __init__(self, scheduler: str, workers: list[str]) -> None:
        self.info = {"address": scheduler, "workers": {w: {} for w in workers}}

    def scheduler_info(self) -> dict:
        return self.info


def test_the_sort_stage_is_local_only_when_scheduler_and_workers_are(tmp_path: Path) -> None:
    from sanxian_yidan.engine import cluster_is_local, sort_stage

    local = _FakeClient("tcp://127.0.0.1:8786", ["tcp://127.0.0.1:40001", "tcp://127.0.0.1:40002"])
    # Workers on the loopback of a scheduler on another machine are that machine's workers.
    remote = _FakeClient("tcp://10.2.3.4:8786", ["tcp://127.0.0.1:40001"])
    assert cluster_is_local(local) and not cluster_is_local(remote)
    assert not cluster_is_local(_FakeClient("tcp://127.0.0.1:8786", []))
    with sort_stage(local) as folder:
        assert folder is not None and folder.is_dir() and folder.name.startswith("sanxian_sort_")
    assert not folder.exists()
    with sort_stage(remote) as none:
        assert none is None
    # With a folder the workers see (the output folder), its _sort sub-folder, also for a remote cluster.
    (tmp_path / "_sort").mkdir()
    (tmp_path / "_sort" / "stale.parquet").write_text("left by a killed run")
    with sort_stage(remote, tmp_path) as shared:
        assert shared == tmp_path / "_sort" and list(shared.iterdir()) == []
    assert not shared.exists() and tmp_path.exists()


@pytest.mark.parametrize("name", ["projects.parquet", "buildings.gpkg"])
def test_a_missing_input_is_refused_as_missing_before_dask_reads_it(tmp_path: Path, name: str) -> None:
    from sanxian_yidan.engine import read_partitions
    from sanxian_yidan.errors import MissingFileError

    with pytest.raises(MissingFileError, match="not found"):
        read_partitions(tmp_path / name, Engine("dask", partition_rows=1000))
    empty = tmp_path / f"empty_{name}"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty|0 bytes"):
        read_partitions(empty, Engine("dask", partition_rows=1000))


def test_cli_dask_run_prints_no_scheduler_log_lines(tmp_path: Path) -> None:
    """Without -v the command line shows warnings and errors only, also from Dask's own loggers (INFO)."""
    import subprocess
    import sys

    source = tmp_path / "projects.gpkg"
    _projects(60, seed=5).to_file(source, driver="GPKG")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    run = subprocess.run([sys.executable, "-m", "sanxian_yidan", "screen", str(source), "--catalog", str(CATALOG),
                          "--no-sheets", "--out", str(tmp_path / "d"), "--engine", "dask", "--workers", "1"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "dashboard" in run.stdout + run.stderr                 # the run still names its dashboard
    # Warnings still show (a worker slow to stop on a loaded machine says so); the INFO chatter does not.
    assert not [line for line in run.stderr.splitlines() if line.startswith("INFO")], run.stderr


def test_a_mistyped_path_or_catalog_is_reported_before_a_cluster_starts(tmp_path: Path, monkeypatch) -> None:
    """Starting a cluster takes seconds: the input file and the catalog are checked first."""
    from sanxian_yidan import engine as engine_mod
    from sanxian_yidan.brownfield import distributed as bf_dist
    from sanxian_yidan.errors import CatalogError, MissingFileError
    from sanxian_yidan.rooftop import distributed as rt_dist
    from sanxian_yidan.screening import distributed as sc_dist

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started before the inputs were checked")

    for module in (engine_mod, rt_dist, sc_dist, bf_dist):
        monkeypatch.setattr(module, "dask_client", no_cluster)
    missing = tmp_path / "buildngs.gpkg"
    with pytest.raises(MissingFileError, match="buildngs.gpkg"):
        rt_dist.rooftop_potential_dask(missing, tmp_path / "out", catalog=CATALOG)
    with pytest.raises(MissingFileError, match="buildngs.gpkg"):
        sc_dist.screen_dask(missing, CATALOG)
    with pytest.raises(MissingFileError, match="buildngs.gpkg"):
        bf_dist.brownfield_ranking_dask(CATALOG, parcels=missing)
    with pytest.raises(CatalogError):
        sc_dist.screen_dask(REPO / "layers" / "suizhou_sample.gpkg", tmp_path / "catalg.toml")
