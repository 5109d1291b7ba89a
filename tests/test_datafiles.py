"""Problems: every mistake of a parameter file is collected and reported once, bilingually."""

from __future__ import annotations

import pytest

from sanxian_yidan.datafiles import Problems
from sanxian_yidan.errors import DataFileError


def test_problems_collects_everything_then_raises_once() -> None:
    probs = Problems("user.toml")
    doc = {"modules": {"power_density_w_m2": 400, "source": ""}, "use": ["not", "a", "table"],
           "roof": {"columns": ["roof_type", 3]}}
    modules = probs.table(doc, "modules")
    assert probs.number(modules, "power_density_w_m2", "[modules]", lo=50, hi=300) is None
    assert probs.source(modules, "[modules]") == ""
    assert probs.table(doc, "use") == {} and probs.table(doc, "missing") == {}
    assert probs.strings(doc["roof"], "columns", "[roof]") == ()
    assert probs.strings(doc["roof"], "absent", "[roof]") == ()          # absent list: empty, no problem
    assert probs.number({"x": 2}, "x", "[t]", lo=0, hi=5) == 2.0
    assert len(probs.items) == 5
    with pytest.raises(DataFileError) as info:
        probs.raise_if_any("屋顶光伏 / rooftop")
    text = str(info.value)
    assert "屋顶光伏参数文件有 5 处错误" in text and "The rooftop parameter file has 5 problem(s)" in text
    assert "[modules]: 'power_density_w_m2' = 400.0 is above the allowed maximum 300" in text
    assert "[use]: must be a table" in text and "[missing]: missing table" in text
    assert "user.toml" in text


def test_huge_integers_and_non_table_maps_are_reported_not_crashed() -> None:
    from sanxian_yidan.rooftop import load_params

    with pytest.raises(DataFileError, match=r"roof_types.flat.gcr: 1000+\.\.\. is too large a number"):
        load_params(overrides={"roof_types": {"flat": {"gcr": 10**400}}})
    with pytest.raises(DataFileError, match=r"use.map: must be a table / 表, got str 'abc'"):
        load_params(overrides={"use": {"map": "abc"}})
    with pytest.raises(DataFileError, match=r"use.map.a: must be text / 文本, got list \['x'\]"):
        load_params(overrides={"use": {"map": {"a": ["x"]}}})


def test_no_problem_no_error() -> None:
    Problems("f.toml").raise_if_any("x / x")


def test_csv_ranks_are_whole_numbers_with_empty_cells_for_unranked(tmp_path) -> None:
    import pandas as pd

    from sanxian_yidan.outputs import write_table_csv

    path = write_table_csv(pd.DataFrame({"rank": [1.0, 2.0, None], "score": [0.9, 0.5, 0.1]}), tmp_path / "t.csv",
                           ["rank", "score"])
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", ""]
