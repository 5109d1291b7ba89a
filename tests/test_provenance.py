"""Provenance: manifests (hashes, versions, determinism apart from the timestamp) and the synthetic layers
behind a result (every layer read, not only the main input)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from sanxian_yidan.catalog import Catalog
from sanxian_yidan.provenance import (
    TrackedCatalog,
    build_manifest,
    package_versions,
    sha256_file,
    synthetic_layers_of,
    write_manifest,
)

SAMPLE_CATALOG = Path(__file__).resolve().parents[1] / "layers" / "catalog.toml"


def test_sha256_matches_hashlib_on_a_multi_chunk_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # 2.3 MB, more than two 1 MiB chunks
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_manifest_lists_inputs_outputs_and_versions(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("输入", encoding="utf-8")
    (tmp_path / "out.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    when = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    manifest = build_manifest(inputs=[tmp_path / "in.txt", tmp_path / "in.txt"], outputs=[tmp_path / "out.csv"],
                              parameters={"k": 5}, base=tmp_path, created=when)
    assert manifest["inputs"] == [{"path": "in.txt", "bytes": 6,
                                   "sha256": hashlib.sha256("输入".encode()).hexdigest()}]
    assert manifest["outputs"][0]["path"] == "out.csv" and manifest["outputs"][0]["bytes"] == 8
    assert manifest["created_utc"] == "2026-11-25T12:00:00+00:00"
    assert manifest["packages"]["shapely"].startswith("2.")
    assert package_versions(["no-such-package-xyz"]) == {"no-such-package-xyz": "not installed"}
    path = write_manifest(manifest, tmp_path / "manifest.json")
    assert json.loads(path.read_text(encoding="utf-8")) == manifest


def test_tracked_catalog_records_every_layer_read_and_which_are_synthetic() -> None:
    cat = Catalog.load(SAMPLE_CATALOG)
    ctx = TrackedCatalog(cat)
    assert ctx.synthetic_layers() == [] and ctx.working_crs == cat.working_crs
    ctx.read("admin_boundary")                       # real county boundaries (synthetic = false)
    assert ctx.used_layers() == ["counties"] and ctx.synthetic_layers() == []
    ctx.unrestricted().read("eco_redline")           # reads of the whole catalog are recorded in the same list
    ctx.raster_path("dem")
    assert ctx.used_layers() == ["counties", "dem", "eco_redline"]
    assert ctx.synthetic_layers() == ["dem", "eco_redline"]
    view = TrackedCatalog(cat.restricted_to("随县"))
    assert view.coverage().equals(cat.restricted_to("随县").region) and view.used_layers() == ["counties"]
    assert view.unrestricted().coverage().area == pytest.approx(cat.read("admin_boundary").area.sum(), rel=1e-9)


def test_synthetic_layers_of_frames() -> None:
    frame = gpd.GeoDataFrame({"layer_id": ["a", "b", "b"], "synthetic": ["false", "0", "是"]},
                             geometry=[shapely.Point(0, 0)] * 3, crs="EPSG:4547")
    assert synthetic_layers_of(frame, "x") == ["b"]
    plain = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:4547")
    assert synthetic_layers_of(plain, "x") == []
    plain.attrs["sanxian"] = {"synthetic": True}
    assert synthetic_layers_of(plain, "x") == ["x"]
    assert synthetic_layers_of(None, "x") == []


@pytest.mark.parametrize("town_real", [True, False])
def test_mines_on_a_real_mine_layer_are_synthetic_when_a_layer_they_use_is(tmp_path: Path, town_real: bool) -> None:
    from sanxian_yidan.catalog import Catalog
    from sanxian_yidan.mines import run_mines

    x0, y0 = 440_000.0, 3_507_000.0
    gpkg = tmp_path / "layers.gpkg"
    gpd.GeoDataFrame({"name": ["县"]}, geometry=[shapely.box(x0 - 5000, y0 - 5000, x0 + 5000, y0 + 5000)],
                     crs="EPSG:4547").to_file(gpkg, layer="counties")
    gpd.GeoDataFrame({"name": ["矿"], "status": ["废弃"]}, geometry=[shapely.box(x0, y0, x0 + 300, y0 + 300)],
                     crs="EPSG:4547").to_file(gpkg, layer="mines")
    gpd.GeoDataFrame({"name": ["路"], "category": ["国道"]},
                     geometry=[shapely.LineString([(x0 - 2000, y0 - 100), (x0 + 2000, y0 - 100)])],
                     crs="EPSG:4547").to_file(gpkg, layer="roads")
    gpd.GeoDataFrame({"name": ["镇"]}, geometry=[shapely.box(x0 + 1300, y0, x0 + 1500, y0 + 300)],
                     crs="EPSG:4547").to_file(gpkg, layer="town")

    def entry(lid: str, role: str, synthetic: bool, fields: str = "") -> str:
        return (f'[[layers]]\nid = "{lid}"\nrole = "{role}"\npath = "layers.gpkg"\nlayer = "{lid}"\n'
                f'title_zh = "测"\ntitle_en = "t"\nsource = "test"\nlicence = "CC0"\n'
                f'synthetic = {str(synthetic).lower()}\n{fields}')
    (tmp_path / "catalog.toml").write_text(
        '[catalog]\ntitle_zh = "测试"\ntitle_en = "Test"\nworking_crs = "EPSG:4547"\n'
        + entry("counties", "admin_boundary", False, '[layers.fields]\nname = "name"\n')
        + entry("mines", "mine_site", False, '[layers.fields]\nname = "name"\nstatus = "status"\n')
        + entry("roads", "road", False, '[layers.fields]\nname = "name"\ncategory = "category"\n')
        + entry("town", "built_up_area", not town_real, '[layers.fields]\nname = "name"\n'),
        encoding="utf-8")
    import warnings

    from sanxian_yidan.errors import SanxianWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        result = run_mines(Catalog.load(tmp_path / "catalog.toml"))
    res = result.mines
    # real mine and road; the built-up land 1,000 m east decides the distance to urban land (a 三区 criterion)
    assert res["dist_urban_m"].iloc[0] == pytest.approx(1000.0)
    assert res["synthetic"].tolist() == [not town_real]
    assert res["synthetic_layers"].tolist() == ["none" if town_real else "town"]
    assert result.synthetic_layers == ([] if town_real else ["town"])
