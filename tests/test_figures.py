"""Extent of the study report's analysis figures: zoomed to the results, kept within the region."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from sanxian_yidan.figures import figure_settings, zoomed_bounds


def test_study_figure_zooms_to_the_results_within_the_region() -> None:
    settings = figure_settings("study").model_copy(
        update={"margin_share": 0.08, "min_margin_m": 2000.0, "region_margin_share": 0.03})
    region = gpd.GeoSeries([box(-10_000, -10_000, 10_000, 1_000)])
    # two small sites 1 km apart: margin max(0.08 × 1000, 2000) = 2000 m; the region + 600 m caps the top
    results = gpd.GeoSeries([Point(0, 0), Point(1_000, 500)])
    assert zoomed_bounds(results, region, settings) == pytest.approx((-2_000, -2_000, 3_000, 1_600))
    # results spread over the whole region: the region plus 3 % of its larger side (20 km × 0.03 = 600 m)
    spread = gpd.GeoSeries([Point(-9_900, -9_900), Point(9_900, 900)])
    assert zoomed_bounds(spread, region, settings) == pytest.approx((-10_600, -10_600, 10_600, 1_600))
    # no region: the results plus the margin
    assert zoomed_bounds(results, None, settings) == pytest.approx((-2_000, -2_000, 3_000, 2_500))


def test_packaged_study_settings_have_the_region_limit() -> None:
    s = figure_settings("study")
    assert s.region_margin_share is not None and s.region_margin_share >= 0
    assert figure_settings("sheet").region_margin_share is None
