"""The former flat attributes of the parameter records read again, deprecated (params.FormerAttributes).

Each parameter class below was a frozen dataclass with flat attributes and is now its validated model, its
values at nested paths.  Every former name must give the value at its new path (written out here, not read from
the class' own mapping), of the former type (tuples stay tuples), with a DeprecationWarning naming that path.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from sanxian_yidan import mines, solar
from sanxian_yidan.brownfield import params as bf
from sanxian_yidan.crs.settings import crs_settings
from sanxian_yidan.io.formats_settings import format_settings
from sanxian_yidan.io.safety import limits
from sanxian_yidan.mcda.settings import default_settings as mcda_settings
from sanxian_yidan.rooftop.params import load_params as rooftop_params
from sanxian_yidan.serve.config import load_serve_settings
from sanxian_yidan.terrain.settings import default_settings as terrain_settings


def _brownfield(p: Any) -> dict[str, Any]:
    return {
        "status_default_readiness": p.status_default.readiness, "default_density": p.capacity.default,
        "yield_round_deg": p.yield_.location_round_deg, "yield_azimuth_deg": p.yield_.azimuth_deg,
        "yield_tilt_deg": p.yield_.tilt_deg, "grid_region": p.yield_.grid, "substation_role": p.grid.role,
        "unknown_voltage": p.grid.unknown_voltage, "grid_classes": tuple(p.grid.classes),
        "road_roles": p.access.road_roles, "setback_roles": p.setback.roles,
        "slope_threshold_deg": p.terrain.slope_threshold_deg,
        "south_range_deg": (p.terrain.south_min_deg, p.terrain.south_max_deg),
        "min_dem_coverage": p.terrain.min_dem_coverage, "files": ("sanxian_yidan/data/brownfield.toml",),
    }


def _mines(p: Any) -> dict[str, Any]:
    return {"window_margin_m": p.visibility_table.window_margin_m, "visibility_source": p.visibility_table.source,
            "files": ("sanxian_yidan/data/mines.toml",)}


def _solar(p: Any) -> dict[str, Any]:
    c, perf, t, v = p.climatology, p.performance, p.optimal_tilt, p.climatology.validity
    return {
        "timezone": p.site.timezone, "reference_year": p.site.reference_year, "clear_sky_model": p.clear_sky.model,
        "annual_sunshine_h": c.annual_sunshine_h, "monthly_sunshine_h": c.monthly_sunshine_h,
        "monthly_ghi_kwh_m2": c.monthly_ghi_kwh_m2, "ap_a": c.coefficients.a, "ap_b": c.coefficients.b,
        "monthly_air_temp_c": p.air_temperature.monthly_mean_c, "wind_speed_m_s": p.air_temperature.wind_speed_m_s,
        "system_losses_pct": perf.system_losses_pct, "inverter_efficiency": perf.inverter_efficiency,
        "dc_ac_ratio": perf.dc_ac_ratio, "gamma_pdc_per_c": perf.gamma_pdc_per_c, "albedo": perf.albedo,
        "transposition_model": perf.transposition_model, "temperature_model": perf.temperature_model,
        "tilt_min_deg": t.min_deg, "tilt_max_deg": t.max_deg, "tilt_step_deg": t.step_deg,
        "tilt_tolerance_deg": t.tolerance_deg, "far_weather_km": p.weather.far_warning_km,
        "validity_place": v.place, "validity_bbox": (v.west, v.south, v.east, v.north),
        "validity_margin_km": v.margin_km, "validity_outside": v.outside,
        "sources": (("site", p.site.source), ("clear_sky", p.clear_sky.source), ("climatology", c.source),
                    ("air_temperature", p.air_temperature.source), ("performance", perf.source),
                    ("optimal_tilt", t.source), ("weather", p.weather.source),
                    ("climatology.coefficients", c.coefficients.source), ("climatology.validity", v.source)),
        "file": "sanxian_yidan/data/solar.toml",
    }


def _mcda(s: Any) -> dict[str, Any]:
    mc = s.monte_carlo
    return {
        "max_consistency_ratio": s.consistency.max_ratio, "reciprocal_tolerance": s.reciprocal.tolerance,
        "draws": mc.draws, "spread": mc.spread, "seed": mc.seed, "top_k": mc.top_k,
        "sources": {"random_index.values": s.random_index_table.source, "consistency.max_ratio": s.consistency.source,
                    "reciprocal.tolerance": s.reciprocal.source, "monte_carlo.draws": mc.draws_source,
                    "monte_carlo.spread": mc.spread_source, "monte_carlo.seed": mc.seed_source,
                    "monte_carlo.top_k": mc.top_k_source},
        "file": "sanxian_yidan/data/mcda.toml",
    }


def _crs(s: Any) -> dict[str, Any]:
    zh = s.legacy_datums_table.zh_names.model_extra
    return {
        "working_crs": s.working.crs, "margin_deg": s.study_area.margin_deg,
        "legacy_zh": tuple((d, zh.get(d, d)) for d in s.legacy_datums_table.datums),
        "legacy_message": s.legacy_datums_table.message, "gcj_tolerance_m": s.gcj02.iteration_tolerance_m,
        "gcj_max_iterations": s.gcj02.max_iterations, "mainland_bbox": s.gcj02.mainland_bbox,
        "area_distortion_tolerance": s.area.distortion_tolerance,
    }


def _limits(s: Any) -> dict[str, Any]:
    return {"max_text_bytes": s.files.max_text_bytes, "max_toml_bytes": s.files.max_toml_bytes,
            "max_columns": s.files.max_columns, "zip_max_uncompressed_bytes": s.zip.max_uncompressed_bytes,
            "zip_max_ratio": s.zip.max_ratio, "zip_ratio_applies_above_bytes": s.zip.ratio_applies_above_bytes,
            "max_projected_abs": s.coordinates.max_projected_abs, "max_suspicious_share": s.text.max_suspicious_share,
            "min_characters": s.text.min_characters}


def _formats(s: Any) -> dict[str, Any]:
    t = s.coord_table
    return {"bulge_sagitta_m": s.dxf.bulge_sagitta_m, "closure_tolerance_m": s.dxf.closure_tolerance_m,
            "dxf_entity_types": s.dxf.entity_types, "max_kml_bytes": s.kml.max_kml_bytes,
            "point_id_columns": t.point_id, "ring_columns": t.ring, "parcel_columns": t.parcel, "x_columns": t.x,
            "y_columns": t.y, "lon_columns": t.lon, "area_columns": t.area, "lat_columns": t.lat}


def _terrain(s: Any) -> dict[str, Any]:
    z, v = s.zonal, s.visibility
    return {
        "slope_threshold_deg": z.slope_threshold_deg, "south_range_deg": (z.south_min_deg, z.south_max_deg),
        "zonal_weighting": z.weighting, "max_distance_m": v.max_distance_m, "spacing_m": v.spacing_m,
        "eye_height_m": v.eye_height_m, "target_height_m": v.target_height_m, "line_of_sight": v.line_of_sight,
        "sample_step_cells": v.sample_step_cells, "earth_radius_m": v.earth_radius_m,
        "refraction_coefficient": v.refraction_coefficient, "batch_samples": v.batch_samples,
        "sources": {"slope_threshold_deg": z.slope_threshold_source, "south_range_deg": z.south_source,
                    "zonal_weighting": z.weighting_source, "max_distance_m": v.max_distance_source,
                    "spacing_m": v.spacing_source, "eye_height_m": v.eye_height_source,
                    "target_height_m": v.target_height_source, "line_of_sight": v.line_of_sight_source,
                    "sample_step_cells": v.sample_step_source, "earth_radius_m": v.earth_radius_source,
                    "refraction_coefficient": v.refraction_source, "batch_samples": v.batch_source},
        "file": "sanxian_yidan/data/terrain.toml",
    }


def _rooftop(p: Any) -> dict[str, Any]:
    return {
        "use_columns": p.use.columns, "default_category": p.use.default_category,
        "missing_values": frozenset(v.strip().lower() for v in p.use.missing_values), "use_map": p.use.map,
        "roof_columns": p.roof.columns, "roof_azimuth_columns": p.roof.azimuth_columns, "roof_map": p.roof.map,
        "azimuth_class_deg": p.roof.azimuth_class_deg, "power_density_w_m2": p.modules.power_density_w_m2,
        "exclusion_roles": p.exclusions.roles, "min_footprint_area_m2": p.exclusions.min_footprint_area_m2,
        "solar_overrides": {}, "factor_overrides": {},
        "sources": {"use": p.use.source, "roof": p.roof.source, "modules": p.modules.source,
                    "exclusions": p.exclusions.source},
        "file": "sanxian_yidan/data/rooftop.toml",
    }


def _serve(s: Any) -> dict[str, Any]:
    u, h = s.upload, s.history
    return {"max_upload_bytes": u.max_bytes, "max_expanded_bytes": u.max_expanded_bytes, "max_ratio": u.max_ratio,
            "ratio_applies_above_bytes": u.ratio_applies_above_bytes, "max_members": u.max_members,
            "max_projects": u.max_projects, "time_limit_s": s.screening.time_limit_s,
            "concurrent": s.screening.concurrent, "session_lifetime_s": s.session.lifetime_s,
            "cookie": s.session.cookie, "max_failures": s.login.max_failures, "failure_window_s": s.login.window_s,
            "min_password_length": s.password.min_length, "page_size": h.page_size,
            "cached_results": h.cached_results, "cached_maps": h.cached_maps}


#: class name -> (loader of the packaged parameters, former name -> value at its new path)
CASES: dict[str, tuple[Callable[[], Any], Callable[[Any], dict[str, Any]]]] = {
    "BrownfieldParams": (bf.load_params, _brownfield),
    "MinesParams": (mines.load_params, _mines),
    "SolarParams": (solar.load_params, _solar),
    "McdaSettings": (mcda_settings, _mcda),
    "CrsSettings": (crs_settings, _crs),
    "InputLimits": (limits, _limits),
    "FormatSettings": (format_settings, _formats),
    "TerrainSettings": (terrain_settings, _terrain),
    "RooftopParams": (rooftop_params, _rooftop),
    "ServeSettings": (load_serve_settings, _serve),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_former_names_read_the_new_paths(name: str) -> None:
    load, expected_of = CASES[name]
    params = load()
    expected = expected_of(params)
    assert sorted(type(params).former) == sorted(expected)   # every former name is covered, no other
    for attr, value in expected.items():
        with pytest.deprecated_call(match=attr):
            got = getattr(params, attr)
        assert type(got) is type(value) and got == value, attr


def test_the_warning_names_the_new_path() -> None:
    with pytest.warns(DeprecationWarning) as record:
        assert bf.load_params().yield_tilt_deg is None
    assert len(record) == 1
    message = str(record[0].message)
    assert "yield_tilt_deg" in message and ".yield_.tilt_deg" in message and "已弃用" in message
    assert record[0].filename == __file__                    # reported at the caller's line


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_attributes_still_raise(name: str) -> None:
    params = CASES[name][0]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # an unknown name warns nothing either
        with pytest.raises(AttributeError, match="no_such_setting"):
            params.no_such_setting  # noqa: B018
        assert not hasattr(params, "yield_tilt_deg_x")


def test_records_still_copy_and_pickle() -> None:
    p = bf.load_params()
    for other in (copy.copy(p), copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert other == p and other.loaded_from == p.loaded_from
        with pytest.deprecated_call():
            assert other.files == ("sanxian_yidan/data/brownfield.toml",)
        assert other._files == p._files                     # a private attribute is read through pydantic as before


def test_names_that_kept_their_former_records() -> None:
    # names that hold their former records again (not deprecated); the file's tables are <name>_table
    p, m = bf.load_params(), mines.load_params()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roles = tuple(bf.CandidateRole(role, c.zh, c.en, c.source) for role, c in p.candidate_table.items())
        assert p.candidates == roles and p.candidate_roles == roles and roles[0].role == "mine_site"
        for params in (p, m):
            t = params.mcda_table
            assert params.mcda == bf.McdaSpec(method=t.method, top_k=t.top_k, n_samples=t.n_samples, seed=t.seed,
                                              criteria=tuple(params.criteria), ahp=t.ahp, source=t.source)
        assert isinstance(m.overlaps, tuple)
        assert [(o.column, o.roles) for o in m.overlaps] == [(k, o.roles) for k, o in m.overlap_table.items()]
        assert {o.column for o in m.overlaps} == {"eco_overlap_share", "protected_share"}
        for params, names in ((p, ("status", "exclusions", "prescreen")),
                              (m, ("lines", "zones", "status", "modes", "focus_areas"))):
            assert all(type(getattr(params, n)) is tuple and getattr(params, n) for n in names)   # arrays of tables
        local = mines.load_params({"visibility": {"max_distance_m": 500.0, "source": "test"}})
        assert m.visibility == {} and local.visibility == {"max_distance_m": 500.0}   # only the keys set
        s = mcda_settings()
        assert s.random_index == s.random_index_table.values and s.random_index[2] == 0.58
        c = crs_settings()
        assert c.legacy_datums == c.legacy_datums_table.datums and "Xian 1980" in c.legacy_datums
        assert c.provinces == c.provinces_table.boxes and isinstance(c.provinces, tuple)


def test_unknown_key_lists_the_keys_as_the_file_spells_them() -> None:
    from sanxian_yidan.errors import DataFileError

    with pytest.raises(DataFileError) as err:
        bf.load_params({"mcda": {"topk": 3}, "yeild": {}})
    text = str(err.value)
    assert "mcda.topk: unknown key" in text and "did you mean 'top_k'?" in text
    assert "did you mean 'yield'?" in text and "candidates, capacity" in text and "mcda_table" not in text


def test_arrays_read_as_tuples_are_reported_as_lists() -> None:
    from sanxian_yidan.errors import DataFileError

    with pytest.raises(DataFileError, match=r"lines: list should have at least 1 item after validation, not 0, "
                                            r"got \[\] \(元素个数不对\)"):
        mines.load_params({"lines": []})


def test_the_warning_names_the_class_by_the_name_users_know() -> None:
    """``BrownfieldParams`` (the former record's name, bound to the model) rather than the model's own name."""
    from sanxian_yidan.brownfield.params import load_params

    with pytest.warns(DeprecationWarning, match=r"^BrownfieldParams\.yield_tilt_deg: .*read \.yield_\.tilt_deg"):
        assert load_params().yield_tilt_deg is None or load_params().yield_tilt_deg >= 0
