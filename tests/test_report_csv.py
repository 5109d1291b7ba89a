"""CSV tables: decimals per column from the registry, whole ranks, 是/否, no float residue such as 2.9e-11."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from sanxian_yidan.columns import csv_format, digits_of, format_table, label
from sanxian_yidan.outputs import write_table_csv


def test_digits_come_from_the_column_then_its_unit_then_the_default() -> None:
    fmt = csv_format()
    assert digits_of("rank") == 0  # declared digits = 0
    assert digits_of("factor_value") == 6  # declared: emission factors keep their published digits
    assert digits_of("net_area_m2") == fmt["unit_digits"]["m²"] == 0
    assert digits_of("capacity_mw") == fmt["unit_digits"]["MW"] == 2
    assert digits_of("score") == fmt["default_digits"] == 3  # unit-less decimal
    assert digits_of("not_a_registered_column") == fmt["default_digits"]


def test_format_table_rounds_and_writes_integers_and_yes_no() -> None:
    frame = pd.DataFrame({
        "rank": [1.0, 2.0, math.nan],
        "excluded_area_m2": [2.9103830456733704e-11, 14647.598085623555, -1e-12],
        "capacity_mw": [14.301860144670565, 12.43094034118503, 0.004],
        "score": [0.7590001, 0.73449, 0.0],
        "synthetic": [True, False, True],
        "name": ["a", "b", "c"],
    })
    out = format_table(frame)
    assert list(out["rank"].astype(object)) == [1, 2, pd.NA]
    assert list(out["excluded_area_m2"]) == [0, 14648, 0]
    assert list(out["capacity_mw"]) == [14.3, 12.43, 0.0]
    assert list(out["score"]) == [0.759, 0.734, 0.0]
    assert list(out["synthetic"]) == ["是", "否", "是"]
    assert list(out["name"]) == ["a", "b", "c"]
    assert frame["capacity_mw"].iloc[0] == 14.301860144670565  # the input frame is not changed


def test_written_csv_has_no_scientific_notation_and_bilingual_headers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"rank": [1.0, math.nan], "excluded_area_m2": [2.9103830456733704e-11, 5.0],
                          "synthetic": [False, True]})
    path = write_table_csv(frame, tmp_path / "t.csv", ["rank", "excluded_area_m2", "synthetic"])
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == ",".join(label(c) for c in ("rank", "excluded_area_m2", "synthetic"))
    assert lines[1:] == ["1,0,否", ",5,是"]
    assert "e-" not in text


@pytest.mark.parametrize("bad", [-1, 10, 1.5, True, "2"])
def test_a_bad_digits_value_in_the_registry_is_refused(bad, tmp_path: Path, monkeypatch) -> None:
    from sanxian_yidan import columns
    from sanxian_yidan.errors import DataFileError

    folder = tmp_path / "cols"
    folder.mkdir()
    value = f'"{bad}"' if isinstance(bad, str) else str(bad).lower()
    (folder / "x.toml").write_text(f'[x_m]\nzh = "x"\nen = "x"\nunit = "m"\ndescription = "d"\ndigits = {value}\n',
                                   encoding="utf-8")
    monkeypatch.setattr(columns, "_column_files", lambda: sorted(folder.glob("*.toml")))
    columns.registry.cache_clear()
    try:
        with pytest.raises(DataFileError, match="digits"):
            columns.registry()
    finally:
        columns.registry.cache_clear()
