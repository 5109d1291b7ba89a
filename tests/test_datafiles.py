"""Data-file problems are reported, not crashed on; CSV number formatting."""

from __future__ import annotations

import pytest

from sanxian_yidan.errors import DataFileError


def test_huge_integers_and_non_table_maps_are_reported_not_crashed() -> None:
    from sanxian_yidan.rooftop import load_params

    with pytest.raises(DataFileError, match=r"roof_types.flat.gcr: 1000+\.\.\. is too large a number"):
        load_params(overrides={"roof_types": {"flat": {"gcr": 10**400}}})
    with pytest.raises(DataFileError, match=r"use.map: must be a table / 表, got str 'abc'"):
        load_params(overrides={"use": {"map": "abc"}})
    with pytest.raises(DataFileError, match=r"use.map.a: must be text / 文本, got list \['x'\]"):
        load_params(overrides={"use": {"map": {"a": ["x"]}}})


def test_csv_ranks_are_whole_numbers_with_empty_cells_for_unranked(tmp_path) -> None:
    import pandas as pd

    from sanxian_yidan.outputs import write_table_csv

    path = write_table_csv(pd.DataFrame({"rank": [1.0, 2.0, None], "score": [0.9, 0.5, 0.1]}), tmp_path / "t.csv",
                           ["rank", "score"])
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", ""]
