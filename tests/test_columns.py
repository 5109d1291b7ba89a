"""Output-column registry: every packaged declaration loads, clashes are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanxian_yidan import columns
from sanxian_yidan.errors import DataFileError


def test_packaged_registry_loads_and_labels_carry_units() -> None:
    columns.registry.cache_clear()
    reg = columns.registry()
    assert reg["synthetic"].zh == "合成数据"
    assert columns.label("layer_id") == "图层 / Layer id"
    assert columns.label("not_a_column") == "not_a_column"
    with_units = [c for c in reg.values() if c.unit]
    assert all(c.label.endswith(f"[{c.unit}]") for c in with_units)


def test_a_column_declared_twice_with_different_text_is_refused(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.toml").write_text('[area_m2]\nzh = "面积"\nen = "Area"\nunit = "m2"\ndescription = "x"\n',
                                     encoding="utf-8")
    (tmp_path / "b.toml").write_text('[area_m2]\nzh = "面积"\nen = "Area"\nunit = "ha"\ndescription = "x"\n',
                                     encoding="utf-8")
    monkeypatch.setattr(columns, "_column_files", lambda: sorted(tmp_path.glob("*.toml")))
    columns.registry.cache_clear()
    try:
        with pytest.raises(DataFileError, match="Column 'area_m2' is declared twice"):
            columns.registry()
    finally:
        columns.registry.cache_clear()
