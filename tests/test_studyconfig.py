"""Study files: validation of keys, paths and required entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanxian_yidan.errors import DataFileError
from sanxian_yidan.studyconfig import STUDY_KEYS, load_study

REPO = Path(__file__).resolve().parents[1]

MINIMAL = """
[study]
id = "t"
title_zh = "测试"
title_en = "Test"
region = "随县"
catalog = "../layers/catalog.toml"
output = "../out/t"
"""


def _write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "studies"
    folder.mkdir(exist_ok=True)
    path = folder / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_studies_load_with_safe_paths() -> None:
    for name in ("suixian", "guangshui"):
        study = load_study(REPO / "studies" / f"{name}.toml", safe_paths=True)
        assert study.id == name
        assert study.catalog == REPO / "layers" / "catalog.toml"
        assert study.output == REPO / "maps" / name
        assert study.analyses["screening"]["projects"].exists()
        assert set(study.analyses) == {"screening", "rooftops", "brownfields", "mines"}


def test_paths_resolve_relative_to_the_study_file(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, MINIMAL))
    assert study.catalog == (tmp_path / "layers" / "catalog.toml").resolve()
    assert study.output == (tmp_path / "out" / "t").resolve()
    assert study.rules is None and study.analyses == {} and study.region == "随县"


def test_unknown_key_is_named_with_the_valid_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + '\n[rooftops]\nparmas = "x.toml"\n')
    with pytest.raises(DataFileError, match=r"unknown key 'parmas' in \[rooftops\]; valid keys: params") as info:
        load_study(path)
    assert str(path) in str(info.value)


def test_unknown_table_and_missing_keys_are_reported_together(tmp_path: Path) -> None:
    text = MINIMAL.replace('id = "t"\n', "") + "\n[rooftop]\ntop = 3\n[screening]\nlayer = 'a'\n"
    with pytest.raises(DataFileError, match=r"unknown table \[rooftop\]") as info:
        load_study(_write(tmp_path, text))
    message = str(info.value)
    assert "unknown table [rooftop]; valid tables: " + ", ".join(STUDY_KEYS) in message
    assert "[study] needs 'id'" in message
    assert "[screening] needs 'projects'" in message


def test_safe_paths_refuses_an_escaping_path(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace('output = "../out/t"', 'output = "../../../etc/sanxian"'))
    load_study(path)  # allowed without --safe-paths
    with pytest.raises(DataFileError, match=r"\[study\] output = '../../../etc/sanxian' leaves the project folder"):
        load_study(path, safe_paths=True)


def test_wrong_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"\[study\] catalog must be a path string, got 3"):
        load_study(_write(tmp_path, MINIMAL.replace('catalog = "../layers/catalog.toml"', "catalog = 3")))
