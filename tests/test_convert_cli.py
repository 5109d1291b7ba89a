"""`sanxian convert`: keeps the data's own zone, GeoJSON in WGS84, reads its own CSV back, names the CRS used;
areas in the right frame (distortion warning).

Independent checks: geodesic areas from pyproj.Geod (GRS80 ellipsoid, which CGCS2000 shares to 0.1 mm),
areal scale factors from the transverse-Mercator series k = 1 + (x/R)²/2, the DXF/KML fixtures' documented
shapes (tests/data/README.md).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from typer.testing import CliRunner

from sanxian_yidan import read_vector
from sanxian_yidan.cli import app
from sanxian_yidan.crs import area_distortion_warning, areal_scale_range, own_zone
from sanxian_yidan.errors import SanxianWarning
from sanxian_yidan.normalize import normalise

runner = CliRunner()
DATA = Path(__file__).parent / "data"
GEOD = Geod(ellps="GRS80")
#: A 5 km square in Hangzhou (120.15-120.20 E, 30.25-30.30 N), far from Suizhou's CM 114E.
HANGZHOU = shapely.box(120.15, 30.25, 120.20, 30.30)


def _run(*args: str):
    """Invoke the CLI; return the result and its output with the console's line wrapping undone."""
    res = runner.invoke(app, list(args))
    return res, " ".join(res.output.split())


def _geodesic_area(poly) -> float:
    return abs(GEOD.geometry_area_perimeter(poly)[0])


def test_hangzhou_area_in_cm114_is_inflated_and_warned() -> None:
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[HANGZHOU], crs="EPSG:4490")
    with pytest.warns(SanxianWarning, match=r"EPSG:4547 scales areas.*\+0\.8\d %.*EPSG:4549"):
        in_114 = normalise(gdf, "EPSG:4547")
    truth = _geodesic_area(HANGZHOU)
    assert in_114.area[0] / truth - 1 == pytest.approx(0.0088, abs=0.0003)  # the silent inflation
    # Independent: TM areal scale k² with k = 1 + (d/R)²/2, d = distance from the CM along the parallel.
    r = 6_371_000.0
    d = (120.175 - 114.0) * math.pi / 180 * r * math.cos(math.radians(30.275))
    assert in_114.area[0] / truth == pytest.approx((1 + (d / r) ** 2 / 2) ** 2, abs=3e-4)
    # Its own zone (CM 120E) keeps the area true to well under the tolerance, without a warning.
    assert own_zone(gdf).to_epsg() == 4549
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        in_120 = normalise(gdf, "EPSG:4549")
    assert in_120.area[0] == pytest.approx(truth, rel=1e-4)


def test_suizhou_data_in_its_zone_is_not_warned() -> None:
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(112.8, 31.4, 114.1, 32.4)], crs="EPSG:4490").to_crs("EPSG:4547")
    low, high = areal_scale_range(gdf)
    assert 1.0 <= low < high < 1.0004 and area_distortion_warning(gdf) is None
    assert areal_scale_range(gdf.to_crs("EPSG:4490")) is None  # degrees: not an area


def test_convert_keeps_the_source_zone_by_default(tmp_path: Path) -> None:
    src = tmp_path / "hz.gpkg"
    gpd.GeoDataFrame({"名称": ["杭州地块"]}, geometry=[HANGZHOU], crs="EPSG:4490").to_crs("EPSG:4549").to_file(src)
    out = tmp_path / "hz_out.gpkg"
    res, text = _run("convert", str(src), str(out))
    assert res.exit_code == 0, res.output
    back = read_vector(out)
    assert back.crs.to_epsg() == 4549 and "(CRS EPSG:4549)" in text
    assert back.area[0] == pytest.approx(_geodesic_area(HANGZHOU), rel=1e-4)
    forced = tmp_path / "hz_114.gpkg"
    res, text = _run("convert", str(src), str(forced), "--to-crs", "EPSG:4547")
    assert res.exit_code == 0 and "scales areas" in text


def test_convert_writes_geojson_in_wgs84(tmp_path: Path) -> None:
    out = tmp_path / "red.geojson"
    res, text = _run("convert", str(DATA / "dxf" / "red_line_r2000_gbk.dxf"), str(out), "--layer", "红线",
                     "--crs", "EPSG:4547")
    assert res.exit_code == 0, res.output
    assert "CRS EPSG:4547: stated" in text and "(CRS EPSG:4326)" in text
    back = gpd.read_file(out)
    assert back.crs.to_epsg() == 4326 and 113.2 < back.total_bounds[0] < 113.5
    # geodesic area of the WGS84 output = the drawn shape (200x100 + half disc r 50 - 20x20 courtyard), chords
    # lose at most sagitta x arc length = 1.6 m²
    exact = 200 * 100 + math.pi * 50 ** 2 / 2 - 400
    assert _geodesic_area(back.geometry[0]) == pytest.approx(exact, abs=2.0 + exact * 3e-4)
    asked = tmp_path / "red_gk.geojson"
    res, text = _run("convert", str(DATA / "dxf" / "red_line_r2000_gbk.dxf"), str(asked), "--layer", "红线",
                     "--crs", "EPSG:4547", "--to-crs", "EPSG:4547")
    assert res.exit_code == 0 and "not RFC 7946" in text


def test_convert_reads_its_own_csv_back_and_names_the_crs(tmp_path: Path) -> None:
    first = tmp_path / "parcels.csv"
    res = runner.invoke(app, ["convert", str(DATA / "xlsx" / "parcels_cm114.xlsx"), str(first), "--crs", "EPSG:4547"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(first, encoding="utf-8-sig")
    assert {"wkt", "crs"} <= set(table.columns) and set(table["crs"]) == {"EPSG:4547"}
    second = tmp_path / "again.gpkg"
    res, text = _run("convert", str(first), str(second))
    assert res.exit_code == 0, res.output
    assert "CRS EPSG:4547: declared in the file's crs column" in text
    back = read_vector(second)
    np.testing.assert_allclose(back.area, [100 * 80 - 10 * 10, 2 * 30 * 30], rtol=1e-9)


def test_convert_names_the_crs_of_gcj02_input(tmp_path: Path) -> None:
    out = tmp_path / "kml.gpkg"
    res, text = _run("convert", str(DATA / "kml" / "ovi_folders.kml"), str(out), "--layer", "一期红线",
                     "--crs", "GCJ-02")
    assert res.exit_code == 0, res.output
    assert "CRS None" not in text and "CRS EPSG:4326: GCJ02 web-map coordinates converted" in text


def test_brownfields_reads_red_lines_from_a_dxf_layer(tmp_path: Path) -> None:
    catalog = Path(__file__).resolve().parents[1] / "layers" / "catalog.toml"
    dxf = DATA / "dxf" / "red_line_r2000_gbk.dxf"
    res, text = _run("brownfields", "--catalog", str(catalog), "--parcels", str(dxf), "--out", str(tmp_path))
    assert res.exit_code == 2 and "--layer" in text  # three layers in the drawing: which one is the red line?
    res, text = _run("brownfields", "--catalog", str(catalog), "--parcels", str(dxf), "--layer", "红线",
                     "--crs", "EPSG:4547", "--out", str(tmp_path), "--overwrite")
    assert res.exit_code == 0, res.output
    sites = gpd.read_file(tmp_path / "brownfields.gpkg", layer="sites")
    parcels = sites[sites["site_type"] == "parcel"].sort_values("gross_area_m2")
    exact = [60 * 40, 200 * 100 + math.pi * 50 ** 2 / 2 - 400]  # the drawn shapes (tests/data/README.md)
    np.testing.assert_allclose(parcels["gross_area_m2"], exact, atol=2.0)


def test_screen_reads_projects_from_a_dxf_layer(tmp_path: Path) -> None:
    catalog = Path(__file__).resolve().parents[1] / "layers" / "catalog.toml"
    dxf = DATA / "dxf" / "red_line_r2000_gbk.dxf"
    res, text = _run("screen", str(dxf), "--type", "pv", "--catalog", str(catalog), "--layer", "红线",
                     "--out", str(tmp_path))
    assert res.exit_code == 2 and "refuses to guess" in text and "--crs EPSG:4547" in text
    res, text = _run("screen", str(dxf), "--type", "pv", "--catalog", str(catalog), "--layer", "红线",
                     "--crs", "EPSG:4547", "--out", str(tmp_path), "--overwrite")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "screening.csv", encoding="utf-8-sig")
    assert len(table) == 2  # the two red-line parcels of the drawing


def test_points_far_from_the_meridian_are_not_warned_about_areas() -> None:
    pts = gpd.GeoDataFrame(geometry=shapely.points([[120.17, 30.27], [120.2, 30.3]]), crs="EPSG:4490")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalise(pts, "EPSG:4547")
    assert area_distortion_warning(pts.to_crs("EPSG:4547")) is None
