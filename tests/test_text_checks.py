"""The byte screen of damaged text finds the same fields and rows as the literal search, whatever the storage."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from sanxian_yidan.io.text_checks import _may_hold_markers, corrupted_text_warnings


@pytest.mark.parametrize("storage", ["pyarrow", "python"])
def test_damaged_rows_named_for_either_string_storage(storage: str) -> None:
    values = ["住宅", "锟斤拷厂房", None, "学\ufffd校", "商业"]
    gdf = gpd.GeoDataFrame({"use": pd.array(values, dtype=pd.StringDtype(storage)),
                            "name": pd.array(["a", "b", "c", "d", "e"], dtype=pd.StringDtype(storage))},
                           geometry=shapely.points([[0, i] for i in range(5)]))
    warnings = corrupted_text_warnings(gdf)
    assert len(warnings) == 1
    assert warnings[0].startswith("field 'use'") and "in 2 feature(s) [rows 1, 3]" in warnings[0]


def test_screen_answers_on_the_values_of_a_slice() -> None:
    series = pd.Series(["锟斤拷", "a", "b"], dtype=pd.StringDtype("pyarrow"))
    assert _may_hold_markers(series)
    assert not _may_hold_markers(pd.Series(["a", "b"], dtype=pd.StringDtype("pyarrow")))
    tail = series.iloc[1:]                  # shares the buffer holding the damaged value: only a false alarm
    gdf = gpd.GeoDataFrame({"t": tail.reset_index(drop=True)}, geometry=shapely.points([[0, 0], [0, 1]]))
    assert corrupted_text_warnings(gdf) == []
