"""`sanxian rooftops`: outputs, overwrite guard, BUILDINGS as file / 'sample' / catalog role, errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.columns import label

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CATALOG = REPO / "layers" / "catalog.toml"
X0, Y0 = 440_000.0, 3_509_000.0  # Suizhou city centre, EPSG:4547
runner = CliRunner()


def _footprints(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame({"用途": ["厂房", "学校", "农房"], "屋顶类型": ["平屋顶", "平屋顶", "坡屋顶"]},
                           geometry=[box(X0, Y0, X0 + 10, Y0 + 10), box(X0 + 20, Y0, X0 + 40, Y0 + 10),
                                     box(X0 + 50, Y0, X0 + 62, Y0 + 8)], crs="EPSG:4547")
    path = tmp_path / "楼.gpkg"
    gdf.to_file(path, layer="buildings")
    return path


def test_writes_gpkg_and_csv_with_bom(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    layer = pyogrio.read_dataframe(out / "rooftops.gpkg", layer="rooftops")
    for col in ("capacity_kwp", "annual_kwh", "co2_t", "so2_kg", "nox_kg", "rank"):
        assert col in layer.columns
    assert len(layer) == 3
    assert layer.loc[layer["用途"] == "厂房", "capacity_kwp"].iloc[0] == pytest.approx(5.88)  # 100 m² x 0.7 x 0.084
    raw = (out / "rooftops_by_township.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                                   # UTF-8 BOM for Excel
    table = pd.read_csv(out / "rooftops_by_township.csv", encoding="utf-8-sig")
    assert label("capacity_kwp") in table.columns and label("policy_target_kwp") in table.columns
    assert set(table[label("level")]) == {"township", "county", "total"}
    # the footprints fall in the sample's township 随州 of 曾都区
    assert "曾都区" in set(table[label("county")])
    total = table.loc[table[label("level")] == "total", label("capacity_kwp")].iloc[0]
    assert total == pytest.approx(layer["capacity_kwp"].sum(), abs=0.05)  # the CSV shows 0.1 kWp (data/csv_format.toml)
    assert "wrote" in res.output.replace("\n", "")
    assert "[m²]" in res.output and "[kWp]" in res.output   # units in the headers are shown, not eaten as markup


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = _footprints(tmp_path)
    args = ["rooftops", str(path), "--catalog", str(SAMPLE_CATALOG), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert runner.invoke(app, args + ["--overwrite"]).exit_code == 0


def test_sample_keyword_and_catalog_role(tmp_path: Path) -> None:
    res = runner.invoke(app, ["rooftops", "sample", "--catalog", str(SAMPLE_CATALOG), "--out",
                              str(tmp_path / "s"), "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output
    layer = pyogrio.read_info(tmp_path / "s" / "rooftops.gpkg", layer="rooftops")
    assert layer["features"] == 20398
    res2 = runner.invoke(app, ["rooftops", "building", "--catalog", str(SAMPLE_CATALOG), "--out",
                               str(tmp_path / "r"), "--top", "1"])
    assert res2.exit_code == 0, res2.output


def test_unknown_buildings_argument(tmp_path: Path) -> None:
    res = runner.invoke(app, ["rooftops", "no_such_thing", "--catalog", str(SAMPLE_CATALOG), "--out",
                              str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "找不到建筑数据" in res.output and "no_such_thing" in res.output


def test_bad_params_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[modules]\npower_density_w_m2 = 5000\n", encoding="utf-8")
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--params", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "power_density_w_m2" in res.output


def test_no_spatial_index_option(tmp_path: Path) -> None:
    import sqlite3

    out = tmp_path / "o"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(out), "--no-spatial-index"])
    assert res.exit_code == 0, res.output
    assert "no spatial index" in res.output.replace("\n", " ")
    with sqlite3.connect(out / "rooftops.gpkg") as con:
        names = {row[0] for row in con.execute("select name from sqlite_master where type='table'")}
    assert not any(n.startswith("rtree_") for n in names)
    assert len(pyogrio.read_dataframe(out / "rooftops.gpkg")) == 3


def test_footprints_are_read_through_arrow_by_read_vector_not_an_env_switch(tmp_path: Path, monkeypatch) -> None:
    import os

    import pyogrio.raw

    calls: list[tuple[str, object]] = []
    real_frame, real_arrow = pyogrio.read_dataframe, pyogrio.raw.open_arrow

    def spy_frame(*args, **kwargs):
        calls.append(("read_dataframe", kwargs.get("use_arrow")))
        return real_frame(*args, **kwargs)

    def spy_arrow(*args, **kwargs):
        calls.append(("open_arrow", kwargs.get("use_pyarrow")))
        return real_arrow(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "read_dataframe", spy_frame)
    monkeypatch.setattr(pyogrio.raw, "open_arrow", spy_arrow)
    monkeypatch.delenv("PYOGRIO_USE_ARROW", raising=False)
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--no-catalog", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert calls == [("open_arrow", True)]                     # the footprints, through Arrow, asked explicitly
    assert "PYOGRIO_USE_ARROW" not in os.environ
    layer = pyogrio.read_dataframe(tmp_path / "o" / "rooftops.gpkg")
    assert list(layer["用途"]) == ["厂房", "学校", "农房"]


def test_missing_catalog_is_an_error_naming_the_path(tmp_path: Path, monkeypatch) -> None:
    footprints = _footprints(tmp_path)
    missing = tmp_path / "nowhere" / "catalog.toml"
    res = runner.invoke(app, ["rooftops", str(footprints), "--catalog", str(missing), "--out", str(tmp_path / "a")])
    assert res.exit_code == 2
    text = res.output.replace("\n", "")
    assert "MissingFileError" in text and "图层目录文件不存在" in text and "Catalog file not found" in text
    assert str(missing) in text and "--no-catalog" in text
    assert not (tmp_path / "a" / "rooftops.gpkg").exists()
    # the default catalog path is relative: from another folder it is missing too, and said so
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    res = runner.invoke(app, ["rooftops", str(footprints), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2
    text = res.output.replace("\n", "")
    assert "MissingFileError" in text and "layers/catalog.toml" in text and str(elsewhere) in text


def test_no_catalog_runs_and_says_what_was_not_applied(tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--no-catalog", "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "no exclusion layers applied" in text and "heritage_zone, scenic_area, nature_reserve" in text
    assert "no township aggregation" in text
    table = pd.read_csv(out / "rooftops_by_township.csv", encoding="utf-8-sig")
    notes = set(table[label("exclusions_not_applied")])
    assert notes == {("heritage_zone: not applied, no catalog given; scenic_area: not applied, no catalog given; "
                      "nature_reserve: not applied, no catalog given")}
    assert set(table[label("township")].dropna()) == {"（未落入乡镇）/ unassigned"}
    meta = pyogrio.read_info(out / "rooftops.gpkg", layer="rooftops")["layer_metadata"]
    assert "scenic_area: not applied, no catalog given" in meta["EXCLUSIONS"]
    assert "no township aggregation" in meta["TOWNSHIPS"]
    both = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--no-catalog", "--catalog",
                               str(SAMPLE_CATALOG), "--out", str(tmp_path / "x")])
    assert both.exit_code == 2 and "contradict" in both.output


def test_catalog_lacking_exclusion_roles_is_reported(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[catalog]\ntitle_zh = "测试"\ntitle_en = "Test"\nworking_crs = "EPSG:4547"\n'
        f'[[layers]]\nid = "towns"\nrole = "township"\npath = "{(REPO / "layers" / "suizhou_sample.gpkg").as_posix()}"\n'
        'layer = "townships"\ntitle_zh = "乡镇"\ntitle_en = "Townships"\nsource = "test"\nlicence = "CC0"\n'
        'synthetic = true\n', encoding="utf-8")
    out = tmp_path / "o"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(catalog), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    for role in ("heritage_zone", "scenic_area", "nature_reserve"):
        assert f"exclusion '{role}' not applied 未执行排除: layer missing from the catalog" in text
    table = pd.read_csv(out / "rooftops_by_township.csv", encoding="utf-8-sig")
    assert (table[label("exclusions_not_applied")].str.count("layer missing from the catalog") == 3).all()
    description = pyogrio.read_info(out / "rooftops.gpkg", layer="rooftops")["layer_metadata"]["DESCRIPTION"]
    assert "exclusions not applied: heritage_zone: not applied, layer missing from the catalog" in description


def test_factor_provenance_travels_with_every_output(tmp_path: Path) -> None:
    import json

    from sanxian_yidan.benefits import select_factors

    out = tmp_path / "o"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    chosen = select_factors()
    order = ("co2", "so2", "nox", "pm", "coal")
    ids = ";".join(chosen[k].id for k in order)
    unconfirmed = [chosen[k].id for k in order if not chosen[k].confirmed]
    assert unconfirmed                                            # the packaged SO2/NOx/PM factors are unconfirmed
    # GeoPackage: factor_ids column, full provenance in the metadata
    layer = pyogrio.read_dataframe(out / "rooftops.gpkg", layer="rooftops")
    assert set(layer["factor_ids"]) == {ids}
    meta = pyogrio.read_info(out / "rooftops.gpkg", layer="rooftops")["layer_metadata"]
    records = {r["factor_kind"]: r for r in json.loads(meta["FACTORS"])}
    for kind in order:
        f = chosen[kind]
        assert records[kind]["factor_id"] == f.id and records[kind]["factor_value"] == f.value
        assert (records[kind]["factor_unit"], records[kind]["factor_year"]) == (f.unit, f.year)
        assert (records[kind]["factor_publisher"], records[kind]["factor_source"]) == (f.publisher, f.source)
        assert records[kind]["factor_confirmed"] is f.confirmed
    assert meta["UNCONFIRMED_FACTORS"] == ";".join(unconfirmed)
    assert "NOT CONFIRMED" in meta["DESCRIPTION"]
    # township CSV: the notes on every row
    table = pd.read_csv(out / "rooftops_by_township.csv", encoding="utf-8-sig")
    assert set(table[label("factor_ids")]) == {ids}
    assert set(table[label("unconfirmed_factor_ids")]) == {";".join(unconfirmed)}
    # companion CSV: one row per factor, bilingual headers
    factors = pd.read_csv(out / "rooftops_factors.csv", encoding="utf-8-sig")
    assert list(factors[label("quantity")]) == ["co2_t", "so2_kg", "nox_kg", "pm_kg", "coal_tce"]
    assert list(factors[label("factor_id")]) == [chosen[k].id for k in order]
    assert list(factors[label("factor_confirmed")]) == ["是" if chosen[k].confirmed else "否" for k in order]
    assert "系数待核实" in res.output and "rooftops_factors.csv" in res.output.replace("\n", "")


def test_overwrite_guard_covers_the_factor_csv(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "rooftops_factors.csv").write_text("keep me", encoding="utf-8")
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(out)])
    assert res.exit_code == 2 and "rooftops_factors.csv" in res.output.replace("\n", "")
    assert (out / "rooftops_factors.csv").read_text(encoding="utf-8") == "keep me"
    help_text = " ".join(runner.invoke(app, ["rooftops", "--help"]).output.split())
    assert "rooftops_factors.csv" in help_text and "--no-catalog" in help_text


def test_undeclared_column_fails_instead_of_bare_headers(tmp_path: Path, monkeypatch) -> None:
    from sanxian_yidan import columns

    full = columns.registry()
    monkeypatch.setattr(columns, "registry", lambda: {k: v for k, v in full.items() if k != "gap_kwp"})
    out = tmp_path / "o"
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(out)])
    assert res.exit_code == 2
    assert "DataFileError" in res.output and "gap_kwp" in res.output
    assert not (out / "rooftops_by_township.csv").exists()


def test_data_table_shows_brackets_literally_and_keeps_styled_cells() -> None:
    from rich.console import Console
    from rich.text import Text

    from sanxian_yidan.cli._common import DataTable

    console = Console(width=120, record=True, color_system=None)
    table = DataTable()
    table.add_column("面积 / area [ha]")
    table.add_column("status")
    table.add_row("乙 [示例] [b]", Text.from_markup("[red]ERROR[/red]"))
    console.print(table)
    text = console.export_text()
    assert "面积 / area [ha]" in text and "乙 [示例] [b]" in text and "ERROR" in text and "[red]" not in text


def test_real_footprints_with_sample_catalog_are_marked_synthetic(tmp_path: Path, reference_gpkg: Path) -> None:
    # Real polygons (OpenStreetMap power-plant outlines, ODbL) as footprints: the file is not synthetic,
    # but the sample catalog's townships and exclusion layers are, and every figure depends on them.
    out = tmp_path / "out"
    res = runner.invoke(app, ["rooftops", str(reference_gpkg), "--layer", "osm_power_plants", "--catalog",
                              str(SAMPLE_CATALOG), "--out", str(out)])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "SYNTHETIC" in flat
    expected = "heritage_zones;nature_reserves;scenic_areas;townships"   # the sample's synthetic layers used
    for layer_id in expected.split(";"):
        assert layer_id in flat
    meta = pyogrio.read_info(out / "rooftops.gpkg", layer="rooftops")["layer_metadata"]
    assert meta["SYNTHETIC"] == "YES" and meta["SYNTHETIC_LAYERS"] == expected
    layer = pyogrio.read_dataframe(out / "rooftops.gpkg", layer="rooftops")
    assert len(layer) == 8 and layer["synthetic"].all()
    table = pd.read_csv(out / "rooftops_by_township.csv", encoding="utf-8-sig")
    assert table[label("synthetic")].all()
    assert set(table[label("synthetic_layers")]) == {expected}


def test_format_geoparquet_writes_the_same_layer_instead_of_the_gpkg(tmp_path: Path) -> None:
    import json

    import pyarrow.parquet as pq

    path = _footprints(tmp_path)
    base = ["rooftops", str(path), "--catalog", str(SAMPLE_CATALOG)]
    assert runner.invoke(app, [*base, "--out", str(tmp_path / "g")]).exit_code == 0
    out = tmp_path / "p"
    res = runner.invoke(app, [*base, "--out", str(out), "--format", "geoparquet"])
    assert res.exit_code == 0, res.output
    assert not (out / "rooftops.gpkg").exists() and (out / "rooftops_by_township.csv").exists()
    part = out / "rooftops.parquet" / "part.00000.parquet"
    got = gpd.read_parquet(out / "rooftops.parquet")
    want = pyogrio.read_dataframe(tmp_path / "g" / "rooftops.gpkg", layer="rooftops")
    assert list(got.columns) == list(want.columns) and got.crs.to_epsg() == 4547
    assert got["capacity_kwp"].tolist()[:2] == pytest.approx([5.88, 11.76], rel=1e-9)  # flat: 100 / 200 m² x 0.7 x 0.084
    pd.testing.assert_series_equal(got["capacity_kwp"], want["capacity_kwp"])
    assert got["rank"].tolist() == want["rank"].tolist() and got["用途"].tolist() == ["厂房", "学校", "农房"]
    assert got.geometry.geom_equals(want.geometry).all()
    meta = pq.read_schema(part).metadata
    geo = json.loads(meta[b"geo"])
    assert geo["version"] == "1.1.0" and geo["columns"]["geometry"]["geometry_types"] == ["Polygon"]
    assert geo["columns"]["geometry"]["bbox"] == pytest.approx([X0, Y0, X0 + 62, Y0 + 10])
    assert meta[b"sanxian:SYNTHETIC"] == b"YES"                       # sample exclusion and township layers
    assert b"co2" in meta[b"sanxian:FACTORS"]
    # A later GeoPackage run in the same folder replaces the GeoParquet output (never both from two runs)
    again = runner.invoke(app, [*base, "--out", str(out), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert (out / "rooftops.gpkg").exists() and not (out / "rooftops.parquet").exists()


def test_format_unknown_is_an_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["rooftops", str(_footprints(tmp_path)), "--catalog", str(SAMPLE_CATALOG),
                              "--out", str(tmp_path / "o"), "--format", "shp"])
    assert res.exit_code != 0
    assert "--format shp" in res.output and "geoparquet" in res.output
    assert not (tmp_path / "o").exists()
