"""Co-benefits (sanxian_yidan.benefits): every quantity is kWh x the published factor, exactly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sanxian_yidan import co_benefits
from sanxian_yidan.benefits import BASES, Factor, factor_notes, load_factors, select_factors
from sanxian_yidan.errors import DataFileError, InputFileError


def test_quantities_are_kwh_times_factor_exactly() -> None:
    kwh = np.array([0.0, 1.0, 1234.5, 2.5e6])
    out = co_benefits(kwh)
    # Central China 2023 grid factor 0.5271 kgCO2/kWh (生态环境部/国家统计局 2023 announcement); CEC 2022: SO2 0.101,
    # NOx 0.152, PM 0.022 g/kWh, 300.7 gce/kWh — the values of data/benefits.toml.
    np.testing.assert_array_equal(out["co2_t"].to_numpy(), kwh * 0.5271 / 1000.0)
    np.testing.assert_array_equal(out["so2_kg"].to_numpy(), kwh * 0.101 / 1000.0)
    np.testing.assert_array_equal(out["nox_kg"].to_numpy(), kwh * 0.152 / 1000.0)
    np.testing.assert_array_equal(out["pm_kg"].to_numpy(), kwh * 0.022 / 1000.0)
    np.testing.assert_array_equal(out["coal_tce"].to_numpy(), kwh * 300.7 / 1_000_000.0)
    assert out.loc[3, "co2_t"] == pytest.approx(1317.75)      # 2.5 GWh x 0.5271 kg/kWh = 1,317.75 t
    assert out.loc[3, "coal_tce"] == pytest.approx(751.75)    # 2.5 GWh x 300.7 g/kWh = 751.75 tce
    assert set(out["factor_ids"]) == {"grid_co2_central_china_2023;so2_thermal_cec_2022;nox_thermal_cec_2022;"
                                      "pm_thermal_cec_2022;coal_supply_cec_2022"}


def test_scalar_series_and_national_grid() -> None:
    one = co_benefits(1000.0, grid="national")
    assert len(one) == 1 and one["co2_t"].iloc[0] == 1000.0 * 0.5306 / 1000.0
    series = pd.Series([10.0, 20.0], index=["a", "b"])
    out = co_benefits(series)
    assert list(out.index) == ["a", "b"]
    assert out.attrs["sanxian"]["factors"]["co2"].year == 2023


def test_factors_are_frozen_and_carry_provenance() -> None:
    factors = load_factors()
    f = factors["grid_co2_central_china_2023"]
    assert (f.value, f.unit, f.year) == (0.5271, "kgCO2/kWh", 2023)
    assert "生态环境部" in f.publisher and f.source
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        f.value = 1.0  # type: ignore[misc]
    unconfirmed = co_benefits(1.0).attrs["sanxian"]["unconfirmed"]
    assert set(unconfirmed) == {"so2_thermal_cec_2022", "nox_thermal_cec_2022", "pm_thermal_cec_2022"}
    assert any("UNCONFIRMED" in line for line in factor_notes(co_benefits(1.0)))


def test_user_toml_overrides_value_and_marks_source(tmp_path: Path) -> None:
    user = tmp_path / "factors.toml"
    user.write_text('[factors.so2_thermal_cec_2022]\nvalue = 0.2\n', encoding="utf-8")
    out = co_benefits(1000.0, factors=user)
    assert out["so2_kg"].iloc[0] == 1000.0 * 0.2 / 1000.0
    factor = out.attrs["sanxian"]["factors"]["so2"]
    assert "set by" in factor.source and str(user) in factor.source


def test_explicit_kind_mapping() -> None:
    mine = Factor("my_grid", "co2", 0.6, "kgCO2/kWh", 2024, "test", "hand-made for the test", grid="x",
                  basis="grid average")
    out = co_benefits([100.0], factors={"co2": mine})
    assert out["co2_t"].iloc[0] == 100.0 * 0.6 / 1000.0
    assert select_factors({"co2": mine})["so2"].id == "so2_thermal_cec_2022"


def test_bad_input_and_bad_factors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="negative"):
        co_benefits([1.0, -5.0])
    with pytest.raises(DataFileError, match="No CO2 factor for grid 'mars'"):
        co_benefits(1.0, grid="mars")
    bad = tmp_path / "bad.toml"
    bad.write_text('[factors.grid_co2_national_2023]\nunit = "tCO2/MWh"\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"factors.grid_co2_national_2023: unit 'tCO2/MWh' must be 'kgCO2/kWh'"):
        load_factors(bad)
    wrong = Factor("w", "so2", 0.1, "g/kWh", 2022, "p", "s", basis="per kWh of coal/thermal power")
    with pytest.raises(DataFileError, match="Expected a Factor of kind 'co2'"):
        co_benefits(1.0, factors={"co2": wrong})


def test_nan_propagates() -> None:
    out = co_benefits([np.nan, 2.0])
    assert np.isnan(out["co2_t"].iloc[0]) and out["co2_t"].iloc[1] == 2.0 * 0.5271 / 1000.0


# ------------------------------------------------------------------------------------------------
# the basis of each factor
# ------------------------------------------------------------------------------------------------
def test_every_factor_states_its_basis() -> None:
    factors = load_factors()
    for fid, f in factors.items():
        assert f.basis in BASES, fid
    # Grid factors are averages over all generation; coal and pollutants are per kWh of thermal power.
    assert {f.basis for f in factors.values() if f.id.startswith("grid_co2")} == {"grid average"}
    assert {f.basis for f in factors.values() if f.kind in ("coal", "so2", "nox", "pm")} == \
        {"per kWh of coal/thermal power"}
    notes = factor_notes(co_benefits(1.0))
    assert notes[0].startswith("co2_t: 0.5271 kgCO2/kWh 全电网平均 / grid average (2023")
    assert all("per kWh of coal/thermal power" in line for line in notes[1:])


def test_fossil_power_factor_is_offered_by_id_not_as_the_grid_default() -> None:
    # 2023 national fossil-power factor 0.8273 kgCO2/kWh (生态环境部/国家统计局 2023 announcement).
    fossil = co_benefits(1000.0, grid="fossil_co2_national_2023")
    assert fossil["co2_t"].iloc[0] == 1000.0 * 0.8273 / 1000.0
    assert fossil.attrs["sanxian"]["factors"]["co2"].basis == "per kWh of fossil power"
    # grid="national" still means the grid average even though a 2023 national fossil factor exists.
    assert co_benefits(1000.0, grid="national")["co2_t"].iloc[0] == 1000.0 * 0.5306 / 1000.0
    assert load_factors()["fossil_co2_national_2022"].value == 0.8325


def test_a_factor_without_a_valid_basis_is_refused(tmp_path: Path) -> None:
    user = tmp_path / "factors.toml"
    user.write_text('[factors.my_so2]\nkind = "so2"\nvalue = 0.2\nunit = "g/kWh"\nyear = 2024\n'
                    'publisher = "p"\nsource = "s"\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"factors.my_so2.basis: missing required key"):
        load_factors(user)
    with pytest.raises(DataFileError,
                       match=r"factors.so2_thermal_cec_2022.basis: must be one of 'grid average', .*got 'average'"):
        load_factors(overrides={"factors": {"so2_thermal_cec_2022": {"basis": "average"}}})
    no_basis = Factor("mine", "co2", 0.6, "kgCO2/kWh", 2024, "p", "s", grid="x")
    with pytest.raises(DataFileError, match="must state one of"):
        co_benefits(1.0, factors={"co2": no_basis})


def test_factor_basis_is_named_in_chinese_and_english() -> None:
    from sanxian_yidan.benefits import load_factors

    labels = {f.basis_label for f in load_factors().values()}
    assert "全电网平均 / grid average" in labels
    assert "按煤电/火电发电量 / per kWh of coal/thermal power" in labels
