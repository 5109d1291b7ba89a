"""The brownfield ranking on the Dask engine gives the in-memory ranking: same sites, values, ranks, notes.

20,000 generated parcels (GeoParquet, four row groups of 5,000) plus the sample catalog's own candidate
sites run through both engines; the Dask run reads the parcels by partition, sorts them along a Hilbert
curve and evaluates them on two worker processes.  Everything that depends on the whole set has to be
computed across partitions to match: the parcel ids (no id column, so they number the parcels in the
content order of *all* of them, ties by input row), the yield tilt (median of all sites' locations), the
TOPSIS normalisation (over every ranked site), the rank, ``p_top_k`` and the run notes that count sites.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("distributed")

from sanxian_yidan.brownfield import brownfield_ranking  # noqa: E402
from sanxian_yidan.brownfield.distributed import brownfield_ranking_dask  # noqa: E402
from sanxian_yidan.catalog import Catalog  # noqa: E402
from sanxian_yidan.engine import Engine  # noqa: E402
from sanxian_yidan.errors import SanxianWarning  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"
N = 20_000
ROWS = 5_000
#: Coarse yield locations and few weight draws keep the run short; TOPSIS normalises over all ranked sites.
PARAMS = {"mcda": {"method": "topsis", "n_samples": 200}, "yield": {"location_round_deg": 0.5}}
#: Parcels at the end that repeat the geometry of the first ones (id ties broken by input row).
N_DUPLICATES = 10


def _parcels(n: int, seed: int = 3) -> gpd.GeoDataFrame:
    """``n`` rectangles (80-400 m sides) over the sample townships, with a status but no usable id
    (``name`` repeats), the last :data:`N_DUPLICATES` repeating the first ones' geometry."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = Catalog.load(CATALOG).read("township").total_bounds
    cx, cy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    w, h = rng.uniform(80, 400, n), rng.uniform(80, 400, n)
    geoms = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    geoms[-N_DUPLICATES:] = geoms[:N_DUPLICATES]
    return gpd.GeoDataFrame({"name": [f"地块{i % 50}" for i in range(n)],
                             "status": rng.choice(np.array(["废弃", "闭坑", None], dtype=object), n)},
                            geometry=geoms, crs="EPSG:4547")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GB", processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def runs(client, tmp_path_factory):
    """Both engines on the same parcels (GeoParquet in four row groups for Dask)."""
    tmp = tmp_path_factory.mktemp("dask_brownfields")
    parcels = _parcels(N)
    source = tmp / "parcels.parquet"
    parcels.to_parquet(source, row_group_size=ROWS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        memory = brownfield_ranking(Catalog.load(CATALOG), parcels=parcels, params=PARAMS)
    steps: list[tuple[str, int, int]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        dask = brownfield_ranking_dask(CATALOG, parcels=source, params=PARAMS, client=client,
                                       engine=Engine("dask", partition_rows=ROWS),
                                       progress=lambda *a: steps.append(a))
    return memory, dask, parcels, steps


def _same_values(a: pd.Series, b: pd.Series) -> None:
    if a.dtype.kind == "f":
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=a.name)
    else:
        na = pd.isna(a).to_numpy()
        np.testing.assert_array_equal(na, pd.isna(b).to_numpy(), err_msg=str(a.name))
        np.testing.assert_array_equal(a[~na].astype(str).to_numpy(), b[~na].astype(str).to_numpy(),
                                      err_msg=str(a.name))


def test_the_parcels_ran_in_several_partitions(runs) -> None:
    *_, steps = runs
    evaluated = {done for label, done, _ in steps if label.startswith("评价分区")}
    # the catalog's own candidates (one piece) and at least three partitions of parcels
    assert len(evaluated) >= 1 + 4
    assert steps[-1][1] == steps[-1][2]


def test_every_site_has_the_in_memory_values_rank_and_order(runs) -> None:
    memory, dask, *_ = runs
    m, d = memory.sites, dask.sites
    assert list(d.columns) == list(m.columns)
    assert len(d) == len(m) > N
    assert d["site_id"].tolist() == m["site_id"].tolist()  # same order: rank, score, site id
    for col in m.columns:
        if col != m.geometry.name:
            _same_values(m[col], d[col])
    both_empty = m.geometry.is_empty.to_numpy() & d.geometry.is_empty.to_numpy()
    assert (shapely.equals_exact(m.geometry.values, d.geometry.values, 1e-6) | both_empty).all()
    ranked = d["rank"].dropna().to_numpy()
    assert ranked.size > 100
    np.testing.assert_array_equal(np.sort(ranked), np.arange(1, ranked.size + 1))


def test_weight_draws_run_over_all_ranked_sites(runs) -> None:
    _, dask, *_ = runs
    # every draw puts exactly top_k sites in its top k: the shares sum to k over the whole set (k per
    # partition if the draws ran per partition)
    k = dask.params.mcda.top_k
    assert dask.sites["p_top_k"].sum() == pytest.approx(k, abs=1e-9)


def test_parcel_ids_number_all_parcels_in_content_order(runs) -> None:
    _, dask, parcels, _ = runs
    wkb = shapely.to_wkb(shapely.normalize(parcels.geometry.values), hex=True)
    order = np.lexsort((np.arange(len(parcels)), wkb))       # content, ties by input row
    expected = np.empty(len(parcels), dtype=object)
    expected[order] = [f"parcel-{r:04d}" for r in range(len(parcels))]
    by_id = dask.sites.set_index("site_id")
    got = by_id.loc[by_id["site_type"] == "parcel"]
    assert sorted(got.index) == sorted(expected)
    # a duplicate and the parcel it repeats: the earlier row gets the lower number
    for i in range(N_DUPLICATES):
        first, again = expected[i], expected[N - N_DUPLICATES + i]
        assert int(first.split("-")[1]) + 1 == int(again.split("-")[1])
        assert got.loc[first, "gross_area_m2"] == pytest.approx(shapely.area(parcels.geometry.values[i]), rel=1e-12)


def test_notes_tables_and_provenance_are_the_in_memory_ones(runs) -> None:
    memory, dask, *_ = runs
    assert [n.text() for n in dask.notes] == [n.text() for n in memory.notes]
    assert any("site(s)" in n.text() for n in dask.notes)  # the coverage / edge notes that count sites
    pd.testing.assert_frame_equal(dask.summary, memory.summary, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(dask.by_type(), memory.by_type(), check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(dask.excluded_by_reason(), memory.excluded_by_reason(), check_exact=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(dask.excluded.drop(columns="geometry"), memory.excluded.drop(columns="geometry"),
                                  check_exact=False, rtol=1e-9)
    assert dask.provenance == memory.provenance
    params = {r.key: r.value for r in dask.provenance.parameters}
    assert params["yield.locations"] > 1 and params["yield.tilt_deg"] > 0
    pd.testing.assert_series_equal(dask.weights, memory.weights)


def test_cli_engine_dask_writes_the_memory_ranking(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from sanxian_yidan import engine
    from sanxian_yidan.cli import app

    # three partitions of the 1,500 parcels
    small = engine.settings().model_copy(update={"partition_rows": 500})
    monkeypatch.setattr(engine, "settings", lambda: small)
    parcels = _parcels(1_500, seed=11).assign(id=[f"Q{i}" for i in range(1_500)])
    source = tmp_path / "parcels.gpkg"
    parcels.to_file(source, layer="parcels", driver="GPKG")
    params = tmp_path / "params.toml"
    params.write_text("[mcda]\nn_samples = 100\n\n[yield]\nlocation_round_deg = 0.5\n", encoding="utf-8")
    runner = CliRunner()
    args = ["brownfields", "--catalog", str(CATALOG), "--parcels", str(source), "--params", str(params), "--top", "5"]
    memory = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert memory.exit_code == 0, memory.output
    dask = runner.invoke(app, [*args, "--out", str(tmp_path / "d"), "--engine", "dask", "--workers", "1",
                               "--memory-limit", "1GB"])
    assert dask.exit_code == 0, dask.output
    assert "dashboard" in dask.output and "1 worker(s) x 1GB" in dask.output
    # the spatial sort's files went into the output staging folder and were removed with it
    assert not list((tmp_path / "d").rglob("_sort")) and not list((tmp_path / "d").rglob("bucket.*"))
    m = pd.read_csv(tmp_path / "m" / "brownfields.csv")
    d = pd.read_csv(tmp_path / "d" / "brownfields.csv")
    assert len(d) == len(m) > 1_500
    assert d["地块编号 / Site id"].str.startswith("parcel-Q").sum() == 1_500
    pd.testing.assert_frame_equal(d, m, check_exact=False, rtol=1e-9)
    # the same ranking table on screen
    top_m = memory.output[memory.output.index("Brownfield PV ranking"):].split("\n")[:10]
    top_d = dask.output[dask.output.index("Brownfield PV ranking"):].split("\n")[:10]
    assert top_d == top_m


def test_memory_engine_refuses_dask_options() -> None:
    from typer.testing import CliRunner

    from sanxian_yidan.cli import app

    out = CliRunner().invoke(app, ["brownfields", "--catalog", str(CATALOG), "--workers", "2"])
    assert out.exit_code != 0
    assert "--engine dask" in out.output


def test_parcels_without_a_crs_are_refused_as_in_memory(client, tmp_path: Path) -> None:
    from sanxian_yidan.errors import CRSError

    source = tmp_path / "no_crs.parquet"
    _parcels(50).set_crs(None, allow_override=True).to_parquet(source)
    with pytest.raises(CRSError, match="no CRS"):
        brownfield_ranking_dask(CATALOG, parcels=source, client=client, engine=Engine("dask", partition_rows=20))


def _both_engines(client, tmp_path: Path, parcels: gpd.GeoDataFrame) -> tuple:
    """In memory on the frame, Dask on the same parcels as GeoParquet in two row groups (two partitions)."""
    source = tmp_path / "parcels.parquet"
    parcels.to_parquet(source, row_group_size=len(parcels) // 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        memory = brownfield_ranking(Catalog.load(CATALOG), parcels=parcels, params=PARAMS)
        dask = brownfield_ranking_dask(CATALOG, parcels=source, params=PARAMS, client=client,
                                       engine=Engine("dask", partition_rows=len(parcels) // 2))
    return memory, dask


def test_geoparquet_ids_repeated_across_row_groups_are_not_taken_as_ids(client, tmp_path: Path) -> None:
    # Each row group's ids are unique, the whole set's are not: as in memory, the id column is not used
    # (the parcels are numbered in content order), which a check per partition would miss.
    parcels = _parcels(2_000, seed=21).assign(id=[f"Q{i % 1_000}" for i in range(2_000)])
    assert parcels["id"].iloc[:1_000].is_unique and parcels["id"].iloc[1_000:].is_unique
    memory, dask = _both_engines(client, tmp_path, parcels)
    ids = dask.sites["site_id"]
    assert not ids.str.startswith("parcel-Q").any() and ids.str.startswith("parcel-").sum() == 2_000
    assert ids.tolist() == memory.sites["site_id"].tolist()


def test_geoparquet_with_an_id_column_gives_the_in_memory_ranking(client, tmp_path: Path) -> None:
    parcels = _parcels(2_000, seed=22).assign(id=[f"Q{i}" for i in range(2_000)])
    memory, dask = _both_engines(client, tmp_path, parcels)
    m, d = memory.sites, dask.sites
    assert d["site_id"].str.startswith("parcel-Q").sum() == 2_000
    assert d["site_id"].tolist() == m["site_id"].tolist()
    for col in m.columns:
        if col != m.geometry.name:
            _same_values(m[col], d[col])
    assert dask.provenance == memory.provenance
