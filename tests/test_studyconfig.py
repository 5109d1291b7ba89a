"""Study files: validation of keys, paths and required entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanxian_yidan.errors import DataFileError, SanxianWarning
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
    """``text`` as tmp_path/studies/t.toml inside a project folder (tmp_path holds layers/catalog.toml)."""
    (tmp_path / "layers").mkdir(exist_ok=True)
    (tmp_path / "layers" / "catalog.toml").write_text("", encoding="utf-8")
    folder = tmp_path / "studies"
    folder.mkdir(exist_ok=True)
    path = folder / "t.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_studies_load_with_the_default_path_confinement() -> None:
    for name in ("suixian", "guangshui"):
        study = load_study(REPO / "studies" / f"{name}.toml")
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
    with pytest.raises(DataFileError, match=r"t.toml: rooftops.parmas: unknown key \(未知的键\); "
                                            r"did you mean 'params'\? \(valid keys: params, top\)") as info:
        load_study(path)
    assert str(path) in str(info.value)


def test_unknown_table_and_missing_keys_are_reported_together(tmp_path: Path) -> None:
    text = MINIMAL.replace('id = "t"\n', "") + "\n[rooftop]\ntop = 3\n[screening]\nlayer = 'a'\n"
    with pytest.raises(DataFileError, match=r"rooftop: unknown key \(未知的键\); did you mean 'rooftops'\?") as info:
        load_study(_write(tmp_path, text))
    message = str(info.value)
    assert "(valid keys: " + ", ".join(sorted(STUDY_KEYS)) + ")" in message
    assert "t.toml: study.id: missing required key" in message
    assert "t.toml: screening.projects: missing required key" in message


def test_an_escaping_path_is_refused_by_default(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace('output = "../out/t"', 'output = "../../../etc/sanxian"'))
    with pytest.raises(DataFileError, match=r"\[study\] output = '../../../etc/sanxian' lies outside the folders"):
        load_study(path)
    assert load_study(path, unsafe_paths=True).output == (tmp_path / "../../etc/sanxian").resolve()
    assert load_study(path, allow_paths=[tmp_path.parent.parent]).output.name == "sanxian"


def test_wrong_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"study.catalog: must be text / 文本, got int 3"):
        load_study(_write(tmp_path, MINIMAL.replace('catalog = "../layers/catalog.toml"', "catalog = 3")))


def test_a_received_study_in_a_plain_folder_cannot_read_outside_it(tmp_path: Path) -> None:
    # A study file saved in a folder that is no project folder (no layers/catalog.toml beside it or above
    # it): the old --safe-paths took its grandparent as the project, so ../etc/passwd from /tmp passed.
    folder = tmp_path / "downloads"
    folder.mkdir()
    path = folder / "s.toml"
    path.write_text(MINIMAL.replace("../layers/catalog.toml", "catalog.toml").replace("../out/t", "out")
                    + '\n[screening]\nprojects = "../../etc/passwd"\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"\[screening\] projects = '../../etc/passwd' lies outside") as info:
        load_study(path)
    fix = str(info.value).split("Fix: ", 1)[1]
    assert "--allow-path DIR" in fix and "--unsafe-paths" in fix
    with pytest.warns(SanxianWarning, match="deprecated"):          # the old flag no longer widens anything
        with pytest.raises(DataFileError, match="lies outside"):
            load_study(path, safe_paths=True)
    ok = load_study(path, unsafe_paths=True)
    assert ok.analyses["screening"]["projects"] == (tmp_path / "../etc/passwd").resolve()


@pytest.mark.parametrize(("output", "why"), [
    ("/", "filesystem root"),
    (".", "would hold the study's inputs"),
    ("../layers", "would hold the study's inputs"),
    ("..", "would hold the study's inputs"),
])
def test_output_into_a_root_or_an_input_folder_is_refused_even_when_unsafe(tmp_path: Path, output: str,
                                                                           why: str) -> None:
    path = _write(tmp_path, MINIMAL.replace('output = "../out/t"', f'output = "{output}"'))
    for flags in ({}, {"unsafe_paths": True}):
        with pytest.raises(DataFileError, match=why):
            load_study(path, **flags)


def test_output_into_a_home_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home" / "planner"))
    (tmp_path / "home" / "planner").mkdir(parents=True)
    path = _write(tmp_path, MINIMAL.replace('output = "../out/t"', 'output = "../home/planner"'))
    with pytest.raises(DataFileError, match="home folder"):
        load_study(path)
    assert load_study(_write(tmp_path, MINIMAL.replace('"../out/t"', '"../home/planner/out"'))).output.name == "out"


@pytest.mark.parametrize("bad", ["-5", "0", "2.5", "true", '"3"'])
def test_top_must_be_a_whole_number_of_at_least_one(tmp_path: Path, bad: str) -> None:
    with pytest.raises(DataFileError, match=r"t.toml: mines.top: must be (>= 1|a whole number)"):
        load_study(_write(tmp_path, MINIMAL + f"\n[mines]\ntop = {bad}\n"))
    assert load_study(_write(tmp_path, MINIMAL + "\n[mines]\ntop = 1\n")).analyses["mines"]["top"] == 1


def test_radius_and_offline_values_are_checked(tmp_path: Path) -> None:
    text = MINIMAL + '\n[screening]\nprojects = "p.geojson"\nradius_m = -100\n[map]\noffline = "yes"\n'
    with pytest.raises(DataFileError, match=r"screening.radius_m: must be > 0, got -100") as info:
        load_study(_write(tmp_path, text))
    assert "map.offline: must be true or false / 布尔值, got str 'yes'" in str(info.value)
