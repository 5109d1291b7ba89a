"""Result maps: `sanxian screen --map` and the study map layers."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.maps import external_references

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"


def test_screen_map_is_offline_escaped_and_coloured_by_verdict(tmp_path: Path) -> None:
    projects = gpd.read_file(REPO / "studies" / "guangshui_projects.geojson")
    projects.loc[0, "name"] = "<script>alert('x')</script>"
    src = tmp_path / "p.gpkg"
    projects.to_file(src)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["screen", str(src), "--catalog", str(CATALOG), "--out", str(out),
                                      "--map", "--offline"])
    assert result.exit_code == 0, result.output
    page = (out / "map.html").read_text(encoding="utf-8")
    assert external_references(page) == []
    assert "<script>alert('x')</script>" not in page  # only ever present as escaped data
    assert "SAMPLE DATA" in page
    records = json.loads((out / "screening.json").read_text(encoding="utf-8"))
    verdicts = {p["verdict"] for p in records}
    # Popups carry every finding with its source (JSON-encoded in the page, so compare the encoded text).
    finding = next(f for p in records for f in p["findings"] if f["severity"] == "prohibited")
    assert json.dumps(finding["source"])[1:-1] in page or finding["source"] in page
    assert "prohibited" in verdicts
    # Every verdict present appears in the legend with its colour from maps.toml.
    from sanxian_yidan.maps import load_map_settings
    colours = {c.value: c.colour for c in load_map_settings().palettes["verdict"].classes}
    for verdict in verdicts:
        assert colours[verdict].lower() in page.lower()
    # The map opens on the screened projects (their footprints' bounds), not on the county, zoomed in at most
    # to [map].result_max_zoom.
    import re

    fit = re.search(r"map_[0-9a-f]+\.fitBounds\(\s*(\[\[.*?\]\]),\s*(\{.*?\})\s*\)", page, re.DOTALL)
    assert fit, "the map sets no opening view"
    (south, west), (north, east) = json.loads(fit.group(1))
    footprints = gpd.read_file(out / "screening.gpkg", layer="projects").to_crs("EPSG:4326")
    assert [west, south, east, north] == [round(float(v), 6) for v in footprints.total_bounds]
    assert json.loads(fit.group(2))["maxZoom"] == load_map_settings().result_max_zoom


def test_screen_refuses_to_replace_a_map_without_overwrite(tmp_path: Path) -> None:
    src = tmp_path / "p.geojson"
    gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(113.37, 31.69)], crs="EPSG:4326").to_file(src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "map.html").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["screen", str(src), "--catalog", str(CATALOG), "--out", str(out), "--map"])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "map.html").read_text(encoding="utf-8") == "mine"


def test_every_result_geopackage_opens_styled_in_qgis(tmp_path: Path) -> None:
    """Each result layer the writers produce has a default style whose QML parses and names its classes."""
    import sqlite3
    import xml.etree.ElementTree as ET

    from sanxian_yidan.resultmaps import RESULT_FILE_LAYERS

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["screen", str(REPO / "studies" / "guangshui_projects.geojson"), "--catalog",
                                      str(CATALOG), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(out / "screening.gpkg") as con:
        spatial = {r[0] for r in con.execute("SELECT table_name FROM gpkg_geometry_columns")}
        styles = {r[0]: r for r in con.execute("SELECT f_table_name, styleName, styleQML, useAsDefault FROM layer_styles")}
    assert spatial <= set(styles) and spatial <= set(RESULT_FILE_LAYERS)
    for name, (_, style_name, qml, default) in styles.items():
        assert default == 1 and style_name == RESULT_FILE_LAYERS[name][0]
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert root.find("renderer-v2") is not None
    projects = ET.fromstring(styles["projects"][2].split("\n", 1)[1])
    assert {c.get("label") for c in projects.iter("category")} >= {"禁止 / Prohibited", "符合 / Compliant"}


def test_brownfield_popup_says_what_k_is_and_mine_modes_are_labelled() -> None:
    import types

    from sanxian_yidan.resultmaps import brownfield_layers, mine_layers

    sites = gpd.GeoDataFrame({"name": ["甲"], "score": [0.5], "p_top_k": [0.8], "reasons": [""]},
                             geometry=[Point(500_000, 3_510_000).buffer(100)], crs="EPSG:4547")
    result = types.SimpleNamespace(sites=sites, excluded=sites.iloc[:0],
                                   params=types.SimpleNamespace(mcda=types.SimpleNamespace(top_k=7)))
    layer = brownfield_layers(result)[0]
    assert "top 7" in layer.popup_labels["p_top_k"] and "前 7 名" in layer.popup_labels["p_top_k"]
    mines = sites.assign(mode=["natural_recovery"], priority=[0.2])
    mine = [x for x in mine_layers(mines) if hasattr(x, "value_labels")][0]
    assert mine.value_labels["mode"]["natural_recovery"] == "自然恢复 / Natural recovery"
    from sanxian_yidan.resultmaps import rooftop_layers

    roofs = rooftop_layers(types.SimpleNamespace(buildings=sites.assign(use_category=["industrial_commercial"])))[0]
    assert roofs.value_labels["use_category"]["industrial_commercial"] == "工商业厂房 / Industrial and commercial buildings"


def test_context_layers_of_a_region_count_only_its_features() -> None:
    from sanxian_yidan import Catalog
    from sanxian_yidan.resultmaps import context_layers

    cat = Catalog.load(CATALOG)
    whole = {layer.look: len(layer.gdf) for layer in context_layers(cat)}
    county = cat.restricted_to("广水市")
    region = {layer.look: len(layer.gdf) for layer in context_layers(county)}
    units = cat.read("control_unit")
    inside = int(units.intersects(gpd.GeoSeries([county.region], crs=cat.working_crs).to_crs(units.crs).iloc[0]).sum())
    assert region["control_unit"] == inside < whole["control_unit"]
    assert {"basic_farmland", "water_source_zone", "nature_reserve", "substation", "eco_redline"} <= set(whole)
    assert all(not layer.visible for layer in context_layers(cat))  # all switched off when the map opens


def test_every_layer_a_finding_or_score_depends_on_is_drawable() -> None:
    """Each role named by the rules and the analysis parameters is a context layer, part of the basemap, or
    drawn by a result layer (projects, mines, buildings) — and has a style in the registry."""
    import re

    from sanxian_yidan.datafiles import packaged_path
    from sanxian_yidan.maps.styles import styles
    from sanxian_yidan.roles import context_roles

    reg = styles()
    roles: set[str] = set()
    for name in ("rules.toml", "brownfield.toml", "mines.toml", "rooftop.toml", "screening.toml"):
        text = packaged_path(name).read_text(encoding="utf-8")
        roles |= set(re.findall(r'\brole\s*=\s*"([a-z_]+)"', text))
        for listed in re.findall(r'\broles\s*=\s*\[([^\]]*)\]', text):
            roles |= set(re.findall(r'"([a-z_]+)"', listed))
    assert len(roles) >= 10  # the parse found the roles
    basemap = {k for k, v in reg.layers.items() if v.basemap}
    by_results = {"project": "projects", "mine_site": "mines", "building": "rooftops"}
    for role in roles:
        assert role in context_roles() or role in basemap or role in by_results, role
        assert role in reg.layers or by_results.get(role) in reg.layers, role


def test_a_new_role_flagged_as_context_is_on_the_study_map(tmp_path: Path, monkeypatch) -> None:
    """A role declared in the vocabulary with ``map.context`` appears in the study map's layer list, in the look
    it names, under its own name, switched off; no map code knows it."""
    import types

    import tomllib
    from shapely.geometry import box

    from sanxian_yidan import Catalog, roles
    from sanxian_yidan.datafiles import packaged_path
    from sanxian_yidan.maps import make_map
    from sanxian_yidan.study import study_map_layers

    doc = tomllib.loads(packaged_path("roles.toml").read_text(encoding="utf-8"))
    doc["roles"]["bird_habitat"] = {"zh": "鸟类栖息地", "en": "Bird habitat", "geometry": "polygon",
                                    "fields": ["name"], "map": {"context": True, "order": 99,
                                                                "style": "nature_reserve"}}
    packaged = roles.packaged
    monkeypatch.setattr(roles, "packaged", lambda name: doc if name == roles.DATA_FILE else packaged(name))
    roles.role_vocabulary.cache_clear()
    try:
        assert roles.context_roles()[-1] == "bird_habitat"
        gpkg = tmp_path / "birds.gpkg"
        gpd.GeoDataFrame({"name": ["白鹭湖"]}, geometry=[box(500000, 3480000, 501000, 3481000)],
                         crs="EPSG:4547").to_file(gpkg, layer="birds", driver="GPKG")
        (tmp_path / "catalog.toml").write_text("""[[layers]]
id = "birds"
role = "bird_habitat"
path = "birds.gpkg"
layer = "birds"
title_zh = "鸟类栖息地"
title_en = "Bird habitat"
source = "test"
licence = "CC0"
synthetic = false
[layers.fields]
name = "name"
""", encoding="utf-8")
        cat = Catalog.load(tmp_path / "catalog.toml")
        layers = study_map_layers(types.SimpleNamespace(results={}), cat)
        assert [(la.look, la.name_zh, la.name_en, la.visible, len(la.gdf)) for la in layers] == [
            ("nature_reserve", "鸟类栖息地", "Bird habitat", False, 1)]
        html = make_map(layers, offline=True, catalog=cat).get_root().render()
        assert "鸟类栖息地" in html
    finally:
        roles.role_vocabulary.cache_clear()
