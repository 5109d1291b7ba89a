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


def test_screen_refuses_to_replace_a_map_without_overwrite(tmp_path: Path) -> None:
    src = tmp_path / "p.geojson"
    gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(113.37, 31.69)], crs="EPSG:4326").to_file(src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "map.html").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["screen", str(src), "--catalog", str(CATALOG), "--out", str(out), "--map"])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "map.html").read_text(encoding="utf-8") == "mine"
