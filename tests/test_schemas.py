"""Output table schemas (data/tables.toml): assemble() orders a table and fails loudly on an undeclared or missing
column; view_rows() shows on-screen tables in their display units."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from sanxian_yidan.brownfield import BrownfieldResult, load_params, write_outputs
from sanxian_yidan.errors import DataFileError
from sanxian_yidan.schemas import assemble, schema, table_names, view_rows


def _summary(**extra) -> pd.DataFrame:
    names = schema("screening_summary").names
    frame = pd.DataFrame({c: ["x"] for c in reversed(names)})      # every column, in the wrong order
    for key, value in extra.items():
        frame[key] = value
    return frame


def test_every_declared_table_loads_with_registered_columns() -> None:
    assert {"brownfield_sites", "mines", "screening_findings", "screening_summary"} <= set(table_names())
    assert schema("screening_summary").names[:3] == ["project_id", "project_name", "verdict"]


def test_assemble_orders_the_declared_columns_and_keeps_geometry_last() -> None:
    out = assemble("screening_summary", _summary())
    assert list(out.columns) == schema("screening_summary").names
    gdf = gpd.GeoDataFrame({"site_id": ["M1"], "mineral": ["石灰岩"], "flat_share": [0.5], "rank": [1.0],
                            "name": ["甲矿"]}, geometry=[Point(0, 0)], crs="EPSG:4547")
    mines = assemble("mines", gdf)
    # internal columns (flat_share) are computed but not written; mineral is written
    assert list(mines.columns) == ["rank", "site_id", "name", "mineral", "geometry"]
    assert isinstance(mines, gpd.GeoDataFrame)


def test_an_undeclared_column_fails_naming_the_table_and_the_column() -> None:
    with pytest.raises(DataFileError) as err:
        assemble("screening_summary", _summary(new_score=[1.0]))
    text = str(err.value)
    assert "screening_summary" in text and "new_score" in text
    assert "未在表结构中声明" in text and "would be dropped silently" in text and "tables.toml" in text


def test_a_missing_required_column_and_a_wrong_dtype_fail() -> None:
    with pytest.raises(DataFileError, match=r"required column\(s\) \['verdict'\] are missing"):
        assemble("screening_summary", _summary().drop(columns="verdict"))
    frame = pd.DataFrame({"site_id": ["S1"], "rank": ["first"]})
    with pytest.raises(DataFileError, match="column 'rank' should hold number values"):
        assemble("brownfield_sites", frame)


def test_a_writer_refuses_a_site_table_with_a_column_nobody_declared(tmp_path: Path) -> None:
    sites = gpd.GeoDataFrame({"site_id": ["S1"], "rank": [1.0], "carbon_price_yuan": [50.0]},
                             geometry=[Point(0, 0).buffer(10)], crs="EPSG:4547")
    excluded = gpd.GeoDataFrame({"site_id": []}, geometry=[], crs="EPSG:4547")
    with pytest.raises(DataFileError, match="carbon_price_yuan"):
        write_outputs(BrownfieldResult(sites=sites, excluded=excluded, params=load_params(),
                                       weights=pd.Series(dtype=float)), tmp_path)
    assert not (tmp_path / "brownfields.csv").exists()


def test_view_rows_show_display_units_and_decimals() -> None:
    rows = pd.DataFrame({"rank": [1.0, 2.0], "name": ["甲", "乙"], "site_type_zh": ["废弃矿山", "垃圾填埋场"],
                         "net_area_m2": [123456.0, 5000.0], "capacity_mw": [12.345, np.nan],
                         "annual_mwh": [1234.4, 0.0], "co2_t": [999.5, 1.0], "dist_substation_m": [2550.0, 300.0],
                         "score": [0.81234, 0.5], "p_top_k": [0.9, 0.1], "other": [1, 2]})
    heads, cells = view_rows("brownfield_top", rows, top_k=10)
    assert heads[3] == "净面积 ha" and heads[-1] == "p_top10"
    # 123,456 m² = 12.3456 ha -> 12.3; 2,550 m = 2.55 km -> 2.5 or 2.6 by float rounding of 2.55 (2.5499...)
    assert cells[0] == ["1", "甲", "废弃矿山", "12.3", "12.35", "1,234", "1,000", f"{2550 / 1000:,.1f}", "0.812", "0.90"]
    assert cells[1][3] == "0.5" and cells[1][4] == "–"
    with pytest.raises(DataFileError, match="name"):
        view_rows("brownfield_top", rows.drop(columns="name"))


def test_summary_views_convert_areas_to_hectares() -> None:
    from sanxian_yidan.mines import focus_headers

    by_type = pd.DataFrame({"site_type_zh": ["废弃矿山", "合计 / total"], "sites": [3, 12], "ranked": [2, 9],
                            "gross_area_m2": [250000.0, 1234567.0], "net_area_m2": [149999.0, 5.0e5],
                            "capacity_mw": [10.84, 36.0], "annual_mwh": [12345.6, 40000.0], "co2_t": [6500.4, 1.0]})
    heads, cells = view_rows("brownfield_by_type", by_type)
    assert heads[3:5] == ["总面积 / gross [ha]", "净面积 / net [ha]"]
    # 250,000 m² = 25 ha; 149,999 m² = 14.9999 ha -> 15.0; 1,234,567 m² -> 123.5 ha; counts as written
    assert cells == [["废弃矿山", "3", "2", "25.0", "15.0", "10.8", "12,346", "6,500"],
                     ["合计 / total", "12", "9", "123.5", "50.0", "36.0", "40,000", "1"]]
    ex = pd.DataFrame({"reason_zh": ["生态保护红线"], "parts": [4], "excluded_area_m2": [31250.0]})
    assert view_rows("brownfield_exclusions", ex)[1] == [["生态保护红线", "4", "3.1"]]
    modes = pd.DataFrame({"mode": ["pv"], "mode_zh": ["光伏复合"], "mines": [5], "gross_area_m2": [86000.0]})
    assert view_rows("mines_modes", modes) == (["mode", "模式", "矿山 / mines", "面积 / area [ha]"],
                                               [["pv", "光伏复合", "5", "8.6"]])
    focus = pd.DataFrame({"area": ["吴山镇"], "mines": [7], "abandoned_or_closed": [6], "gross_area_m2": [45000.0],
                          "visible_mines": [2], "in_sanqu": [1], "mean_priority": [0.51234], "top_k": [3]})
    heads, cells = view_rows("mines_focus", focus, top_k=5)
    assert heads[-1] == "前5" and cells == [["吴山镇", "7", "6", "4.5", "2", "1", "0.512", "3"]]
    # the CSV keeps m² and names the same columns with long bilingual headers
    headers = focus_headers(5)
    assert list(headers)[:-1] == list(focus.columns) and headers["gross_area_m2"] == "矿山面积 / Mine area [m²]"
    assert headers["top_k"] == "前5名矿山 / Mines in top 5" and headers["source"] == "依据 / Source"


def test_rooftop_buildings_refuse_a_computed_column_nobody_declared() -> None:
    from sanxian_yidan.rooftop.steps import assemble_buildings

    gdf = gpd.GeoDataFrame({"height": [12.0]}, geometry=[Point(0, 0).buffer(5)], crs="EPSG:4547")
    out = assemble_buildings(gdf, {"capacity_kwp": np.array([3.0]), "rank": np.array([1])})
    # declared columns in schema order, input attributes after them
    assert list(out.columns) == ["rank", "capacity_kwp", "synthetic", "height", "geometry"]
    with pytest.raises(DataFileError, match=r"rooftop_buildings.*\['battery_kwh'\]"):
        assemble_buildings(gdf, {"capacity_kwp": np.array([3.0]), "battery_kwh": np.array([1.0])})
