"""Parameter files: misspelled keys are errors with a "did you mean", weights not summing to 1 are warned."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sanxian_yidan import mines
from sanxian_yidan.brownfield import load_params as load_brownfield
from sanxian_yidan.cli import app
from sanxian_yidan.errors import DataFileError, SanxianWarning
from sanxian_yidan.mcda import load_settings as load_mcda
from sanxian_yidan.mcda import normalise_weights
from sanxian_yidan.rooftop import load_params as load_rooftop
from sanxian_yidan.solar import load_params as load_solar
from sanxian_yidan.terrain.settings import load_settings as load_terrain

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"


def _toml(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("load", "text", "message"), [
    (load_brownfield, "[mcda]\ntop_kk = 3\n", r"mcda.top_kk: unknown key \(未知的键\); did you mean 'top_k'\?"),
    (mines.load_params, "[visibility]\nwindow_margin = 500\n",
     r"visibility.window_margin: unknown key \(未知的键\); did you mean 'window_margin_m'\?"),
    (load_rooftop, "[modules]\npower_density_w_m3 = 200\n",
     r"modules.power_density_w_m3: unknown key \(未知的键\); did you mean 'power_density_w_m2'\?"),
    (load_solar, "[performance]\nsystem_loses = 0.1\n", r"performance.system_loses: unknown key"),
    (load_terrain, "[zonal]\nslope_threshold_dg = 20\n",
     r"zonal.slope_threshold_dg: unknown key \(未知的键\); did you mean 'slope_threshold_deg'\?"),
    (load_mcda, "[consistency]\nmax_ration = 0.2\n",
     r"consistency.max_ration: unknown key \(未知的键\); did you mean 'max_ratio'\?"),
    (load_brownfield, "[mcdaa]\ntop_k = 3\n", r"mcdaa: unknown key \(未知的键\); did you mean 'mcda'\?"),
])
def test_a_misspelled_key_is_an_error_naming_the_file_and_the_likely_key(tmp_path: Path, load, text: str,
                                                                          message: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(DataFileError, match=message) as info:
        load(path)
    assert str(path) in str(info.value)


def test_mapping_overrides_are_checked_too() -> None:
    with pytest.raises(DataFileError, match=r"mcda.seeed: unknown key \(未知的键\); did you mean 'seed'\?"):
        load_brownfield({"mcda": {"seeed": 1}})
    with pytest.raises(DataFileError, match=r"site.azimuth: unknown key"):
        load_solar(overrides={"site": {"azimuth": 10}})


def test_benefit_factor_overrides_are_checked(tmp_path: Path) -> None:
    from sanxian_yidan.benefits import load_factors

    with pytest.raises(DataFileError, match=r"factors.grid_co2_central_china_2023.valeu: unknown key "
                                            r"\(未知的键\); did you mean 'value'\?"):
        load_factors(overrides={"factors": {"grid_co2_central_china_2023": {"valeu": 0.5}}})
    path = _toml(tmp_path, '[defaults]\ngird = "grid_co2_national_2023"\n')
    with pytest.raises(DataFileError, match=r"defaults.gird: unknown key \(未知的键\); did you mean 'grid'\?"):
        load_factors(path)
    # A new factor is a new entry of the [factors] collection: accepted.
    new = {"factors": {"my_grid_2024": {k: v for k, v in load_factors()["grid_co2_central_china_2023"].__dict__.items()
                                        if k not in ("id",)}}}
    assert "my_grid_2024" in load_factors(overrides=new)


def test_optional_keys_and_new_collection_entries_are_accepted(tmp_path: Path) -> None:
    # [mcda] spread and [mcda.ahp] are read although the packaged file does not set them; a new density
    # model or candidate role is a new entry of a collection; attribute values in [use.map] are free.
    p = load_brownfield({"mcda": {"spread": 0.2}})
    assert p.mcda_table.spread == 0.2 and p.mcda.options["spread"] == 0.2 and p.mcda == p.mcda_spec()
    assert load_rooftop(overrides={"use": {"map": {"厂房": "industrial_commercial"}}}).use.map["厂房"] \
        == "industrial_commercial"
    mine = {"capacity": {"densities": {"mine": {"mw_per_ha": 0.5, "basis": "DC", "source": "t"}}}}
    assert load_brownfield(mine).densities["mine"].mw_per_ha == 0.5
    with pytest.raises(DataFileError, match=r"capacity.densities.mine.mw_per_h: unknown key \(未知的键\); "
                                            r"did you mean 'mw_per_ha'\?"):
        load_brownfield({"capacity": {"densities": {"mine": {"mw_per_h": 0.5, "source": "t"}}}})


def test_brownfields_cli_refuses_a_misspelled_parameter_before_running(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[mcda]\ntop_kk = 3\n")
    res = CliRunner().invoke(app, ["brownfields", "--catalog", str(CATALOG), "--params", str(path),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "did you mean 'top_k'?" in " ".join(res.output.split())
    assert not (tmp_path / "out").exists()


def test_weights_not_summing_to_one_are_warned_in_both_languages() -> None:
    with pytest.warns(SanxianWarning, match=r"权重之和为 4.*weights sum to 4, not 1.*a: 0.25, b: 0.75"):
        w = normalise_weights({"a": 1.0, "b": 3.0})
    assert list(w) == [0.25, 0.75]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalise_weights([0.25, 0.75])                   # summing to 1: no warning


def test_brownfield_weights_summing_to_four_are_warned_on_the_command_line(tmp_path: Path) -> None:
    import tomllib

    doc = tomllib.loads((REPO / "src" / "sanxian_yidan" / "data" / "brownfield.toml").read_text(encoding="utf-8"))
    lines = []
    for c in doc["criteria"]:
        lines.append("[[criteria]]")
        lines += [f"{k} = {v!r}".replace("True", "true").replace("False", "false").replace("'", '"')
                  for k, v in c.items() if k != "weight"]
        lines.append(f"weight = {c['weight'] * 4!r}")
    path = _toml(tmp_path, "\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["brownfields", "--catalog", str(CATALOG), "--params", str(path),
                                   "--out", str(tmp_path / "out"), "--top", "3"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "权重之和为 4" in text and "weights sum to 4, not 1" in text
