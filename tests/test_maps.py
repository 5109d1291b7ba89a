"""Maps: escaping, synthetic banner, GCJ-02 shift, offline self-containment, legend, controls, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import SAMPLE_CATALOG, SUIZHOU_LAT, SUIZHOU_LON
from pyproj import Geod
from shapely.geometry import Point, box
from typer.testing import CliRunner

from sanxian_yidan import columns
from sanxian_yidan.cli import app
from sanxian_yidan.crs import wgs84_to_gcj02
from sanxian_yidan.errors import CRSError, DataFileError, SanxianWarning
from sanxian_yidan.maps import (
    CategoryStyle,
    MapError,
    MapLayer,
    NumericStyle,
    SingleStyle,
    external_references,
    load_map_settings,
    make_map,
    popup_content,
    render_html,
    save_map,
    style_for_column,
    to_gcj02,
)

GEOD = Geod(ellps="WGS84")
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = '<img src=x onerror="window.__xss=1">'


def _projects(synthetic: bool = False) -> gpd.GeoDataFrame:
    """Four 1 km squares near Suizhou with verdicts, one named like a script."""
    x0, y0 = 500_000.0, 3_510_000.0  # EPSG:4547, inside Suizhou
    return gpd.GeoDataFrame(
        {"id": ["P1", "P2", "P3", "P4"],
         "name": ["甲项目", SCRIPT_NAME, IMG_NAME, "丁项目"],
         "verdict": ["prohibited", "compliant", "compliant", "some_new_verdict"],
         "score": [0.9, 0.1, 0.5, np.nan],
         "synthetic": [synthetic] * 4},
        geometry=[box(x0 + 2000 * i, y0, x0 + 2000 * i + 1000, y0 + 1000) for i in range(4)], crs="EPSG:4547")


def _control_names(page: str) -> list[str]:
    """Overlay names of the layer control, decoded from the JS object literal folium writes."""
    block = re.search(r"overlays\s*:\s*\{(.*?)\}", page, re.DOTALL)
    assert block is not None
    return [json.loads(key) for key in re.findall(r'("(?:[^"\\]|\\.)*")\s*:', block.group(1))]


def _page(layers: list[MapLayer], **kwargs: object) -> str:
    kwargs.setdefault("boundaries", False)
    return render_html(make_map(layers, **kwargs))  # type: ignore[arg-type]


# --- escaping --------------------------------------------------------------------------------------
def test_popup_content_is_plain_text_with_registry_labels() -> None:
    gdf = _projects()
    gdf["<b>col</b>"] = ["x", "y", "z", "w"]
    labels, values = popup_content(gdf, ["name", "<b>col</b>", "score"])
    # registry label first (other modules register their columns), else maps.toml [field_labels], else the name
    assert labels[0] == (columns.label("name") if columns.describe("name") else "名称 / Name")
    assert labels[1] == "<b>col</b>"
    assert values[1] == [SCRIPT_NAME, "y", "0.1"]  # text, set with textContent in the page
    assert values[3][2] == ""  # NaN shows empty


def test_popup_lists_findings_one_line_each() -> None:
    gdf = _projects().iloc[:1].copy()
    gdf["findings"] = [json.dumps([{"rule_id": "R07", "severity": "prohibited", "source": "(十二)"},
                                   {"rule_id": "R09", "severity": "notice", "source": "GB 3838"}])]
    _, values = popup_content(gdf, ["findings"])
    assert values == [[["rule_id: R07; severity: prohibited; source: (十二)",
                        "rule_id: R09; severity: notice; source: GB 3838"]]]


def test_popups_are_built_with_text_nodes_only() -> None:
    page = _page([MapLayer(_projects(), "项目", "Projects", tooltip="name")])
    code = page[page.index("var labels = "):]
    code = code[:code.index("bindTooltip")]
    assert "textContent" in code and "innerHTML" not in code


def test_saved_page_holds_no_raw_user_markup(tmp_path: Path) -> None:
    layer = MapLayer(_projects(), "<b>研判</b>", "<i>Verdicts</i>", style=CategoryStyle("verdict"), tooltip="name")
    m = make_map([layer], boundaries=False, title_zh="<u>标题</u>", title_en="T", offline=True)
    page = save_map(m, tmp_path / "m.html").read_text(encoding="utf-8")
    for raw in (SCRIPT_NAME, "<img src=x", "<b>研判</b>", "<i>Verdicts</i>", "<u>标题</u>"):
        assert raw not in page
    # Leaflet puts layer-control names into innerHTML: escaped once, they render as the literal text
    assert _control_names(page) == ["&lt;b&gt;研判&lt;/b&gt; / &lt;i&gt;Verdicts&lt;/i&gt;"]


# --- synthetic banner -------------------------------------------------------------------------------
def test_no_banner_for_real_layers() -> None:
    m = make_map([MapLayer(_projects(synthetic=False), "项目", "Projects")], boundaries=False)
    assert m.sanxian["synthetic"] is False
    assert "SAMPLE DATA" not in render_html(m)


@pytest.mark.parametrize("how", ["column", "flag", "attrs", "map"])
def test_banner_whenever_a_layer_is_synthetic(how: str) -> None:
    gdf = _projects(synthetic=how == "column")
    if how == "attrs":
        gdf.attrs["sanxian"] = {"synthetic": True}
    layer = MapLayer(gdf, "项目", "Projects", synthetic=True if how == "flag" else None)
    page = _page([layer], synthetic=True if how == "map" else None)
    assert page.count("示例数据 SAMPLE DATA — synthetic layers, not official zoning / 合成图层，非官方管控成果") == 1


def test_false_flag_cannot_hide_a_synthetic_column() -> None:
    layer = MapLayer(_projects(synthetic=True), "项目", "Projects", synthetic=False)
    assert layer.is_synthetic
    assert "SAMPLE DATA" in _page([layer])


def test_catalog_basemap_draws_and_flags_only_synthetic_layers() -> None:
    from sanxian_yidan import Catalog

    cat = Catalog.load(SAMPLE_CATALOG)
    m = make_map([MapLayer(_projects(), "项目", "Projects")], catalog=cat)
    legend = m.sanxian["legend"]
    county = next(k for k in legend if "County boundaries" in k)
    township = next(k for k in legend if "Township areas" in k)
    assert legend[county][0].count == 3 and legend[township][0].count == 46
    # the banner names exactly the basemap layers the catalog marks synthetic (counties are real)
    expected = {f"底图：{st.zh} / Basemap: {st.en}" for role, st in __import__(
        "sanxian_yidan.maps.styles", fromlist=["styles"]).styles().layers.items()
        if st.basemap and st.kind != "raster" and cat.has(role) and any(e.synthetic for e in cat.entries_for(role))}
    assert county not in m.sanxian["synthetic_layers"] and township in m.sanxian["synthetic_layers"]
    assert set(m.sanxian["synthetic_layers"]) == expected
    # hillshade, water, roads, built-up areas and Chinese place names make the offline basemap
    assert {"地形晕渲 / Hillshade", "底图：河流 / Basemap: Rivers", "底图：道路 / Basemap: Roads",
            "底图：城镇建成区 / Basemap: Built-up areas"} <= set(m.sanxian["base_layers"])
    assert "随县" in m.sanxian["labels"]["county"] and "万和镇" in m.sanxian["labels"]["township"]
    # Chinese names; the 9 towns no source names in Chinese carry their pinyin with a visible note
    pinyin = [t for t in m.sanxian["labels"]["township"] if re.search(r"[A-Za-z]", t)]
    assert len(pinyin) == 9 and all(re.fullmatch(r"[A-Z][a-z]+（拼音，无中文来源）", t) for t in pinyin)
    page = render_html(m)
    assert "SAMPLE DATA" in page and "data:image/png;base64," in page


# --- GCJ-02 shift -----------------------------------------------------------------------------------
def test_gcj02_moves_a_suizhou_point_by_about_600_m() -> None:
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(SUIZHOU_LON, SUIZHOU_LAT)], crs="EPSG:4326")
    shifted = to_gcj02(gdf.to_crs("EPSG:4547"))
    lon, lat = shifted.geometry.iloc[0].x, shifted.geometry.iloc[0].y
    _, _, dist = GEOD.inv(SUIZHOU_LON, SUIZHOU_LAT, lon, lat)
    assert 590.0 <= dist <= 630.0  # RULES_REFERENCE.md: GCJ-02 is 590-630 m off WGS84 around Suizhou
    ref_lon, ref_lat = wgs84_to_gcj02(SUIZHOU_LON, SUIZHOU_LAT)
    assert lon == pytest.approx(ref_lon, abs=1e-7) and lat == pytest.approx(ref_lat, abs=1e-7)
    assert shifted.attrs["sanxian"]["coordinates"] == "GCJ-02"


def test_gcj02_moves_every_vertex() -> None:
    poly = gpd.GeoDataFrame(geometry=[box(113.30, 31.60, 113.40, 31.70)], crs="EPSG:4326")
    before = np.asarray(poly.geometry.iloc[0].exterior.coords)
    after = np.asarray(to_gcj02(poly).geometry.iloc[0].exterior.coords)
    _, _, dist = GEOD.inv(before[:, 0], before[:, 1], after[:, 0], after[:, 1])
    assert len(dist) == 5 and np.all((dist > 590.0) & (dist < 630.0))


def test_amap_basemap_shifts_every_overlay_including_boundaries() -> None:
    point = gpd.GeoDataFrame({"name": ["p"]}, geometry=[Point(113.37, 31.69)], crs="EPSG:4326")
    m = make_map([MapLayer(point, "点", "Point")], basemap="amap", catalog=SAMPLE_CATALOG)
    page = render_html(m)
    lon, lat = wgs84_to_gcj02(113.37, 31.69)
    assert f"[{round(lon, 6)}, {round(lat, 6)}]" in page
    assert "[113.37, 31.69]" not in page
    assert "webrd0{s}.is.autonavi.com" in page and m.sanxian["gcj02"] is True
    counties = gpd.read_file(SAMPLE_CATALOG.parent / "suizhou_sample.gpkg", layer="counties")
    x, y = np.asarray(counties.geometry.iloc[0].exterior.coords[0] if counties.geom_type.iloc[0] == "Polygon"
                      else counties.geometry.iloc[0].geoms[0].exterior.coords[0])
    gx, gy = wgs84_to_gcj02(x, y)
    assert f"[{round(gx, 6)}, {round(gy, 6)}]" in page  # the county boundary moved too


# --- offline ----------------------------------------------------------------------------------------
def test_offline_page_is_self_contained(tmp_path: Path) -> None:
    m = make_map([MapLayer(_projects(), "项目", "Projects", style=CategoryStyle("verdict"))], boundaries=False,
                 offline=True)
    page = save_map(m, tmp_path / "offline.html").read_text(encoding="utf-8")
    assert external_references(page) == []
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page
    assert "L.control.layers(" in page and "new L.Control.Measure(" in page and "L.control.fullscreen(" in page
    assert 300_000 < len(page.encode("utf-8")) < 600_000  # Leaflet, jQuery, plugins inlined; icon assets not


def test_online_page_refers_to_the_cdn_and_the_check_sees_it() -> None:
    page = _page([MapLayer(_projects(), "项目", "Projects")])
    refs = external_references(page)
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in refs
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css" in refs


def test_external_references_finds_requests_not_hyperlinks() -> None:
    page = """<script src="https://a.example/x.js"></script><link rel="stylesheet" href="//b.example/y.css"/>
    <img src='http://c.example/i.png'><style>@import url("https://d.example/f.css");
    .x{background:url(https://e.example/b.png)} .y{background:url(data:image/png;base64,AAAA)}</style>
    <a href="https://leafletjs.com">Leaflet</a>
    <svg xmlns="http://www.w3.org/2000/svg"></svg><script src="local.js"></script>
    <script>L.tileLayer("https://t{s}.example/{z}/{x}/{y}.png")</script>"""
    assert external_references(page) == [
        "https://a.example/x.js", "//b.example/y.css", "http://c.example/i.png", "https://d.example/f.css",
        "https://e.example/b.png", "https://t{s}.example/{z}/{x}/{y}.png"]


def test_offline_drops_tile_basemap_with_a_note() -> None:
    with pytest.warns(SanxianWarning, match="tiles need the network"):
        m = make_map([MapLayer(_projects(), "项目", "Projects")], basemap="osm", offline=True, boundaries=False)
    page = render_html(m)
    assert m.sanxian["basemap"] == "none" and external_references(page) == []
    assert any("OpenStreetMap was left out" in n for n in m.sanxian["notes"])


def test_saving_an_amap_map_offline_is_refused() -> None:
    m = make_map([MapLayer(_projects(), "项目", "Projects")], basemap="amap", boundaries=False)
    with pytest.raises(MapError, match="shifted to GCJ-02"):
        render_html(m, offline=True)


# --- legend and styles ------------------------------------------------------------------------------
def test_category_legend_follows_palette_order_with_counts_and_unknown_values() -> None:
    m = make_map([MapLayer(_projects(), "项目", "Projects", style=CategoryStyle("verdict"))], boundaries=False)
    entries = m.sanxian["legend"]["项目 / Projects"]
    assert [(e.label, e.colour, e.count) for e in entries] == [
        ("禁止 / Prohibited", "#d55e00", 1), ("符合 / Compliant", "#009e73", 2),
        ("some_new_verdict", "#66c2a5", 1)]  # unknown value: first automatic colour, raw label
    page = render_html(m)
    assert "图例 / Legend" in page and "禁止 / Prohibited" in page and "研判结论 / Verdict" in page


def test_numeric_quantile_classes_hold_two_values_each() -> None:
    gdf = gpd.GeoDataFrame({"score": np.arange(1.0, 11.0)},
                           geometry=[Point(113.3 + 0.01 * i, 31.7) for i in range(10)], crs="EPSG:4326")
    m = make_map([MapLayer(gdf, "得分", "Score", style=NumericStyle("score"))], boundaries=False)
    entries = m.sanxian["legend"]["得分 / Score"]
    assert [e.count for e in entries] == [2, 2, 2, 2, 2]
    assert [e.label for e in entries] == ["1 – 2.8", "2.8 – 4.6", "4.6 – 6.4", "6.4 – 8.2", "8.2 – 10"]
    assert [e.colour for e in entries] == ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]


def test_rank_is_reversed_and_explicit_breaks_count_no_data() -> None:
    gdf = _projects()
    gdf["rank"] = [1, 2, 3, 4]
    m = make_map([MapLayer(gdf, "排名", "Rank", style=style_for_column(gdf, "rank")),
                  MapLayer(gdf, "得分", "Score", style=NumericStyle("score", breaks=[0, 0.5, 1]))],
                 boundaries=False)
    rank = m.sanxian["legend"]["排名 / Rank"]
    assert rank[0].colour == "#253494"  # rank 1 = best = darkest
    score = m.sanxian["legend"]["得分 / Score"]
    assert [(e.label, e.count) for e in score] == [("0 – 0.5", 2), ("0.5 – 1", 1), ("无数据 / No data", 1)]


def test_style_for_column_picks_category_for_text_and_palette_columns() -> None:
    gdf = _projects()
    gdf["ZHGKDYFL"] = [1, 2, 3, 1]
    assert isinstance(style_for_column(gdf, "verdict"), CategoryStyle)
    assert isinstance(style_for_column(gdf, "ZHGKDYFL"), CategoryStyle)  # numeric codes with a palette
    assert isinstance(style_for_column(gdf, "score"), NumericStyle)
    assert isinstance(style_for_column(gdf, None), SingleStyle)


def test_control_unit_palette_matches_integer_codes() -> None:
    gdf = _projects()
    gdf["category"] = [1, 2, 3, 3]
    m = make_map([MapLayer(gdf, "单元", "Units", style=CategoryStyle("category", palette="control_unit_category"))],
                 boundaries=False)
    assert [(e.label, e.count) for e in m.sanxian["legend"]["单元 / Units"]] == [
        ("优先保护单元 / Priority protection unit", 1), ("重点管控单元 / Key control unit", 1),
        ("一般管控单元 / General control unit", 2)]


# --- controls and basemaps --------------------------------------------------------------------------
def test_layer_control_scale_measure_fullscreen_present() -> None:
    page = _page([MapLayer(_projects(), "项目", "Projects"), MapLayer(_projects(), "二", "Two", show=False)])
    assert "L.control.layers(" in page
    assert _control_names(page) == ["项目 / Projects", "二 / Two"]
    assert "L.control.scale({metric: true, imperial: false" in page
    assert "new L.Control.Measure(" in page and "L.control.fullscreen(" in page


def test_tianditu_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(MapError, match="TIANDITU_KEY"):
        make_map([MapLayer(_projects(), "项目", "Projects")], basemap="tianditu", boundaries=False)
    monkeypatch.setenv("TIANDITU_KEY", "abc123def")
    page = _page([MapLayer(_projects(), "项目", "Projects")], basemap="tianditu")
    assert page.count("tk=abc123def") == 2 and "vec_w/wmts" in page and "cva_w/wmts" in page


def test_osm_basemap_has_attribution() -> None:
    page = _page([MapLayer(_projects(), "项目", "Projects")], basemap="osm")
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page and "OpenStreetMap" in page


# --- bad input --------------------------------------------------------------------------------------
def test_bad_input_errors_are_precise() -> None:
    with pytest.raises(MapError, match="Unknown basemap 'google'"):
        make_map([], basemap="google")
    with pytest.raises(MapError, match="Column 'nope'"):
        make_map([MapLayer(_projects(), "项目", "Projects", style=CategoryStyle("nope"))], boundaries=False)
    with pytest.raises(MapError, match="No palette 'rainbow'"):
        make_map([MapLayer(_projects(), "项目", "Projects", style=CategoryStyle("verdict", palette="rainbow"))],
                 boundaries=False)
    with pytest.raises(MapError, match="is not a colour"):
        make_map([MapLayer(_projects(), "项目", "Projects", style=SingleStyle("red;}body{display:none"))],
                 boundaries=False)
    no_crs = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(113.3, 31.7)])
    with pytest.raises(CRSError, match="no CRS"):
        make_map([MapLayer(no_crs, "无", "None")], boundaries=False)


def test_broken_settings_file_lists_every_problem(tmp_path: Path) -> None:
    from sanxian_yidan.datafiles import packaged_path

    text = packaged_path("maps.toml").read_text(encoding="utf-8")
    text = text.replace('background = "#f3f1ea"', 'background = "beige!!"')
    text = text.replace('font_family = ', 'font_family_typo = ', 1)
    bad = tmp_path / "maps.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"3 problem\(s\)") as info:
        load_map_settings(bad)
    assert "maps.toml: map.background: 'beige!!' is not a colour" in str(info.value)
    assert "maps.toml: map.font_family: missing required key" in str(info.value)
    assert "map.font_family_typo: unknown key (未知的键); did you mean 'font_family'?" in str(info.value)


def test_broken_style_registry_lists_every_problem(tmp_path: Path) -> None:
    from sanxian_yidan.datafiles import packaged_path
    from sanxian_yidan.maps.styles import load_styles

    text = packaged_path("styles.toml").read_text(encoding="utf-8")
    text = re.sub(r'(\[ramps\.priority\]\n(?:.*\n)*?)source = .*\n', r"\1", text, count=1)
    text = text.replace('[palettes.verdict.classes.notice]', '[palettes.verdict.classes.notice_typo]', 1)
    text = text.replace('stroke = "#4a90c2"', 'stroke = "blue!!"', 1)
    text = text.replace('ramp = "capacity"', 'ramp = "capacty"', 1)
    bad = tmp_path / "styles.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"4 problem\(s\)") as info:
        load_styles(bad)
    message = str(info.value)
    assert "styles.toml: ramps.priority.source: missing required key" in message
    assert "styles.toml: palettes.verdict: has no class for ['notice']" in message
    assert "styles.toml: layers.river.stroke: 'blue!!' is not a colour" in message
    assert "styles.toml: layers.rooftops.ramp: 'capacty' is not in [ramps.*]" in message


def test_empty_layer_is_listed_without_features() -> None:
    empty = _projects().iloc[:0]
    m = make_map([MapLayer(empty, "空", "Empty", style=CategoryStyle("verdict"))], boundaries=False)
    assert m.sanxian["legend"]["空 / Empty"] == ()
    assert "无要素 / no features" in render_html(m)


# --- CLI --------------------------------------------------------------------------------------------
def test_cli_maps_a_result_file_offline(tmp_path: Path) -> None:
    src = tmp_path / "screening.gpkg"
    _projects(synthetic=True).to_file(src, layer="projects")
    out = tmp_path / "out" / "map.html"
    runner = CliRunner()
    args = ["map", str(src), "--column", "verdict", "--offline", "--no-boundaries", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "禁止 / Prohibited (1)" in result.output and "SAMPLE DATA" in result.output
    assert external_references(out.read_text(encoding="utf-8")) == []
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert runner.invoke(app, args + ["--overwrite"]).exit_code == 0
    wrong = runner.invoke(app, ["map", str(src), "--column", "verdikt", "--no-boundaries", "--out",
                                str(tmp_path / "w.html")])
    assert wrong.exit_code == 2 and "No layer has the column 'verdikt'" in wrong.output


def test_features_without_geometry_are_counted_in_a_note_and_synthetic_data_flags_the_layer() -> None:
    gdf = _projects().drop(columns="synthetic")
    gdf.loc[1, "geometry"] = None                          # e.g. a site cut away entirely by exclusions
    gdf["synthetic_data"] = [False, False, True, False]    # screening results flag synthetic inputs this way
    m = make_map([MapLayer(gdf, "项目", "Projects")])
    assert any("1 feature(s) without geometry" in note and "项目" in note for note in m.sanxian["notes"])
    assert m.sanxian["synthetic"] is True
    plain = make_map([MapLayer(_projects(), "项目", "Projects")])
    assert not any("without geometry" in note for note in plain.sanxian["notes"])


# --- style registry ---------------------------------------------------------------------------------
def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of linear sRGB rows (IEC 61966-2-1 matrix, CIE 1976 formulas)."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = np.clip(rgb, 0, 1) @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])])


# Machado, Oliveira & Fernandes (2009), IEEE TVCG 15(6): simulation matrices at severity 1.0.
_CVD = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def _hex_rgb(colours: list[str]) -> np.ndarray:
    return np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours])


def test_verdict_palette_is_okabe_ito_and_distinct_under_colour_blindness() -> None:
    from sanxian_yidan.maps.styles import VERDICT_ORDER, verdict_colours

    colours = verdict_colours()
    assert tuple(colours) == VERDICT_ORDER
    # Okabe & Ito (2008) / Wong (2011) RGB triples, typed from the paper's table.
    okabe_ito = {(213, 94, 0), (230, 159, 0), (240, 228, 66), (86, 180, 233), (0, 158, 115), (153, 153, 153)}
    assert {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours.values()} == okabe_ito
    linear = _srgb_to_linear(_hex_rgb(list(colours.values())))
    for name, matrix in _CVD.items():
        lab = _linear_to_lab(linear @ matrix.T)
        delta = np.sqrt(((lab[:, None, :] - lab[None, :, :]) ** 2).sum(-1))
        closest = delta[np.triu_indices(len(lab), 1)].min()
        # Delta E*ab >= 10: clearly distinguishable side by side (a JND is ~2.3).
        assert closest >= 10, (name, closest)


def test_every_map_uses_one_colour_per_role_and_red_line_differs_from_priority_units() -> None:
    from sanxian_yidan.maps.styles import layer_style, palette_colours, styles, verdict_colours

    reg = styles()
    for role in ("basic_farmland", "water_source_zone", "nature_reserve", "eco_redline", "river", "road",
                 "substation", "viewshed", "hillshade", "overlap_pieces", "excluded_parts", "projects"):
        assert role in reg.layers and reg.layers[role].source
    redline = _srgb_to_linear(_hex_rgb([layer_style("eco_redline").fill, palette_colours("control_unit_category")["1"]]))
    lab = _linear_to_lab(redline)
    assert np.sqrt(((lab[0] - lab[1]) ** 2).sum()) > 25
    # No context layer borrows a verdict colour: a verdict colour on the map always means a verdict.
    verdict = {c.lower() for c in verdict_colours().values()}
    for lid, st in reg.layers.items():
        if lid != "projects":
            assert not ({st.fill.lower(), st.stroke.lower()} & verdict), lid


# --- sanxian map: any result file ----------------------------------------------------------------------
def test_cli_maps_rasters_with_a_legend_and_offline_by_default(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    vis = tmp_path / "visibility.tif"
    data = np.zeros((40, 50), dtype="uint8")
    data[10:20, 10:30] = 1                       # 200 visible cells
    data[:, 45:] = 255                           # outside the DEM
    with rasterio.open(vis, "w", driver="GTiff", width=50, height=40, count=1, dtype="uint8", crs="EPSG:4547",
                       transform=from_origin(480_000, 3_520_000, 90, 90), nodata=255) as dst:
        dst.write(data, 1)
    elev = tmp_path / "dem.tif"
    with rasterio.open(elev, "w", driver="GTiff", width=50, height=40, count=1, dtype="float32", crs="EPSG:4547",
                       transform=from_origin(480_000, 3_520_000, 90, 90)) as dst:
        dst.write(np.linspace(50, 900, 2000, dtype="float32").reshape(40, 50), 1)
    out = tmp_path / "m.html"
    result = CliRunner().invoke(app, ["map", str(vis), str(elev), "--no-boundaries", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert external_references(page) == [] and "self-contained" in result.output  # offline is the default
    assert len(re.findall(r"L\.imageOverlay\(\s*\"data:image/png;base64,", page)) == 2
    assert "三区两线可见 / Visible from 三区两线" in result.output and "不可见" not in result.output
    # the continuous DEM gets quantile classes along a ramp: 5 classes named by their edges
    assert result.output.count(" – ") >= 5


def test_raster_image_colours_visible_cells_and_keeps_the_rest_transparent() -> None:
    import base64
    from io import BytesIO

    from PIL import Image
    from rasterio.transform import from_origin

    from sanxian_yidan.maps import RasterLayer, raster_image
    from sanxian_yidan.maps.styles import palette_colours

    data = np.zeros((30, 30))
    data[:15] = 1
    layer = RasterLayer(data, from_origin(480_000, 3_520_000, 90, 90), "EPSG:4547", "可视", "Visible",
                        mode="classes", look="viewshed")
    image = raster_image(layer, load_map_settings())
    png = np.asarray(Image.open(BytesIO(base64.b64decode(image.uri.split(",", 1)[1]))))
    visible = palette_colours("viewshed")["1"]
    rgb = tuple(int(visible[i:i + 2], 16) for i in (1, 3, 5))
    opaque = png[..., 3] == 255
    # half the cells are visible: about half the warped image is opaque, all of it in the visible colour
    assert abs(opaque.mean() - 0.5) < 0.06
    assert (png[opaque][:, :3] == rgb).all()
    (south, west), (north, east) = image.bounds
    assert 31 < south < north < 33 and 112 < west < east < 115


def test_cli_maps_csv_tables_with_wkt_or_lon_lat(tmp_path: Path) -> None:
    wkt = tmp_path / "sites.csv"
    wkt.write_text("研判结论 / Verdict,wkt\nprohibited,\"POLYGON ((113.3 31.7, 113.31 31.7, 113.31 31.71, 113.3 31.7))\"\n"
                   "compliant,\"POINT (113.4 31.8)\"\n", encoding="utf-8-sig")
    lonlat = tmp_path / "points.csv"
    lonlat.write_text("name,经度,纬度\n甲,113.35,31.75\n乙,113.45,31.65\n", encoding="utf-8")
    out = tmp_path / "m.html"
    result = CliRunner().invoke(app, ["map", str(wkt), str(lonlat), "--no-boundaries", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # the toolkit's bilingual header is read back as the verdict column: verdict colours and labels
    assert "禁止 / Prohibited (1)" in result.output and "符合 / Compliant (1)" in result.output
    assert "points: 2 features" in result.output
    no_geometry = tmp_path / "table.csv"
    no_geometry.write_text("a,b\n1,2\n", encoding="utf-8")
    bad = CliRunner().invoke(app, ["map", str(no_geometry), "--no-boundaries", "--out", str(tmp_path / "b.html")])
    assert bad.exit_code == 2 and "has no geometry" in bad.output and "Traceback" not in bad.output


def test_cdn_page_says_when_its_assets_cannot_load() -> None:
    page = render_html(make_map([MapLayer(_projects(), "项目", "Projects")], boundaries=False), offline=False)
    assert external_references(page)  # a CDN page
    head = page[:page.index("</head>")]
    assert "sx-offline-error" in head and "typeof L === 'undefined'" in head
    offline = render_html(make_map([MapLayer(_projects(), "项目", "Projects")], boundaries=False, offline=True))
    assert "typeof L === 'undefined'" not in offline


def test_popups_show_labels_for_codes_and_overridden_row_names() -> None:
    gdf = _projects()
    labels, values = popup_content(gdf, ["verdict", "score"], value_labels={"verdict": {"prohibited": "禁止 / Prohibited"}},
                                   label_overrides={"score": "得分（前 5 名）/ Score (top 5)"})
    assert labels[1] == "得分（前 5 名）/ Score (top 5)"
    assert [row[0] for row in values] == ["禁止 / Prohibited", "compliant", "compliant", "some_new_verdict"]


def test_markers_mark_every_feature_with_its_class_colour() -> None:
    from sanxian_yidan.maps.styles import verdict_colours

    m = make_map([MapLayer(_projects(), "项目", "Projects", look="projects", markers="id")], boundaries=False)
    page = render_html(m)
    colours = verdict_colours()
    # one marker layer per class present, in the pane above the analysis layers, labelled with the id
    # (each of the 3 layers names the pane twice: for the layer and in the options of its circle markers)
    assert page.count('"pane": "sxMarkers"') == 2 * 3
    for pid in ("P1", "P2", "P3", "P4"):
        assert f'"_m": "{pid}"' in page
    assert colours["prohibited"] in page and colours["compliant"] in page
    assert "getZoom() >= 13.0" in page


# --- QGIS styles ----------------------------------------------------------------------------------------
def test_write_layer_styles_makes_a_default_qgis_style_naming_the_classes(tmp_path: Path) -> None:
    import sqlite3
    import xml.etree.ElementTree as ET

    from sanxian_yidan.maps.qgis import write_layer_styles
    from sanxian_yidan.maps.styles import verdict_colours, verdict_labels

    gpkg = tmp_path / "r.gpkg"
    _projects().to_file(gpkg, layer="projects")
    write_layer_styles(gpkg, "projects", "projects")
    write_layer_styles(gpkg, "projects", "projects")  # written twice: still one default row
    with sqlite3.connect(gpkg) as con:
        rows = con.execute("SELECT f_table_name, f_geometry_column, styleQML, styleSLD, useAsDefault "
                           "FROM layer_styles").fetchall()
    assert len(rows) == 1 and rows[0][0] == "projects" and rows[0][4] == 1
    import pyogrio

    assert [n for n, geom in pyogrio.list_layers(gpkg) if geom] == ["projects"]
    qml = ET.fromstring(rows[0][2].split("\n", 1)[1])
    renderer = qml.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "verdict"
    cats = {c.get("value"): c.get("label") for c in renderer.iter("category")}
    assert cats == verdict_labels()
    fills = [next(p.get("v") for p in s.iter("prop") if p.get("k") == "color") for s in renderer.iter("symbol")]
    first = verdict_colours()["prohibited"]
    assert fills[0].startswith(",".join(str(int(first[i:i + 2], 16)) for i in (1, 3, 5)))
    sld = ET.fromstring(rows[0][3])
    names = [e.text for e in sld.iter("{http://www.opengis.net/se}Name")]
    assert "禁止 / Prohibited" in names
    with pytest.raises(MapError, match="not a spatial layer"):
        write_layer_styles(gpkg, "nothing", "projects")


def test_county_map_shows_the_county_ground_and_opens_on_it() -> None:
    """A county view: basemap clipped to the county, hidden layers (here: a city-wide one) do not widen the view."""
    from sanxian_yidan import Catalog

    cat = Catalog.load(SAMPLE_CATALOG).restricted_to("广水市")
    county = gpd.GeoSeries([cat.region], crs=cat.working_crs).to_crs("EPSG:4326")
    west, south, east, north = county.total_bounds
    city = Catalog.load(SAMPLE_CATALOG).read("admin_boundary")
    hidden = MapLayer(city, "全市", "Whole city", show=False)
    m = make_map([hidden, MapLayer(_projects(), "项目", "Projects")], catalog=cat)
    page = render_html(m)
    bounds = json.loads(re.findall(r"fitBounds\(\s*(\[\[.*?\]\])", page)[-1])
    (s_, w_), (n_, e_) = bounds
    tol = 0.01  # degrees (~1 km)
    assert w_ >= west - tol and e_ <= east + tol and s_ >= south - tol and n_ <= north + tol
    roads = next(b for b in m.sanxian["legend"] if "Roads" in b)
    whole = Catalog.load(SAMPLE_CATALOG).read("road")
    assert 0 < m.sanxian["legend"][roads][0].count <= len(whole)
    assert "随县" not in m.sanxian["labels"]["county"] and "广水市" in m.sanxian["labels"]["county"]


def test_a_styled_single_layer_geopackage_still_reads_without_naming_the_layer(tmp_path: Path) -> None:
    from sanxian_yidan import read_vector
    from sanxian_yidan.maps.qgis import write_layer_styles

    gpkg = tmp_path / "rooftops.gpkg"
    _projects().to_file(gpkg, layer="rooftops")
    write_layer_styles(gpkg, "rooftops", "rooftops")
    assert len(read_vector(gpkg)) == 4  # the QGIS layer_styles table is not taken for a second layer


def _qml_classes(qml_text: str) -> tuple[str, list[dict]]:
    """Renderer type and classes of a QML document: value or bounds, label, fill and outline (r,g,b,a 0-255)."""
    import xml.etree.ElementTree as ET

    renderer = ET.fromstring(qml_text.split("\n", 1)[1]).find("renderer-v2")
    symbols = {s.get("name"): {p.get("k"): p.get("v") for p in s.iter("prop")} for s in renderer.iter("symbol")}
    rows = []
    for c in list(renderer.iter("category")) + list(renderer.iter("range")):
        sym = symbols[c.get("symbol")]
        rows.append({"value": c.get("value"), "bounds": (c.get("lower"), c.get("upper")), "label": c.get("label"),
                     "fill": sym.get("color") if sym.get("style", "solid") != "no" else None,
                     "line": sym.get("line_color"), "outline": sym.get("outline_color")})
    return renderer.get("type"), rows


def _sld_classes(sld_text: str) -> list[dict]:
    """Rules of an SLD document: comparison literals, title, fill and stroke as r,g,b,a 0-255."""
    import xml.etree.ElementTree as ET

    se, ogc = "{http://www.opengis.net/se}", "{http://www.opengis.net/ogc}"

    def rgba(colour, opacity) -> str | None:
        if colour is None:
            return None
        c = colour.lstrip("#")
        return ",".join(str(int(c[i:i + 2], 16)) for i in (0, 2, 4)) + f",{int(round(float(opacity) * 255))}"

    rows = []
    for rule in ET.fromstring(sld_text).iter(f"{se}Rule"):
        params = {}
        for kind in ("Fill", "Stroke"):
            el = rule.find(f".//{se}{kind}")
            params[kind] = {} if el is None else {p.get("name"): p.text for p in el.iter(f"{se}SvgParameter")}
        filt = rule.find(f"{ogc}Filter")
        ops = [] if filt is None else [(op.tag.replace(ogc, ""), op.find(f"{ogc}PropertyName").text,
                                        op.find(f"{ogc}Literal").text)
                                       for op in filt.iter() if op.find(f"{ogc}Literal") is not None]
        fill, stroke = params["Fill"], params["Stroke"]
        rows.append({"ops": ops, "label": rule.find(f"{se}Description/{se}Title").text,
                     "fill": rgba(fill.get("fill"), fill.get("fill-opacity", 1)),
                     "stroke": rgba(stroke.get("stroke"), stroke.get("stroke-opacity", 1)),
                     "width": stroke.get("stroke-width"), "dash": stroke.get("stroke-dasharray")})
    return rows


@pytest.mark.parametrize("style_id", ["projects", "overlap_pieces", "excluded_parts", "brownfield_sites", "rooftops",
                                      "mines"])
def test_sld_carries_the_classes_and_colours_of_the_qml(style_id: str) -> None:
    """Every result layer's SLD, parsed, has the QML's classes one for one: the same category values or range
    bounds (first range closed below, the others open below, as QGIS's graduated renderer), the same labels,
    fill colour with its opacity, outline colour, width (px) and dash as the style registry."""
    from sanxian_yidan.maps.qgis import style_qml, style_sld
    from sanxian_yidan.maps.styles import layer_style

    st = layer_style(style_id)
    values = list(np.linspace(0.0, 1.0, 23) * (1000 if style_id == "rooftops" else 1))
    kind, qml = _qml_classes(style_qml(st, "polygon", values))
    sld = _sld_classes(style_sld(st, "polygon", style_id, values))
    assert kind == ("categorizedSymbol" if st.palette else "graduatedSymbol" if st.ramp else "singleSymbol")
    if kind == "singleSymbol":
        assert len(sld) == 1 and sld[0]["ops"] == [] and sld[0]["label"] == st.label
        qml = [{"fill": None if not st.fill else qml_fill, "outline": qml_outline}
               for qml_fill, qml_outline in [_single_symbol_colours(style_qml(st, "polygon"))]]
    else:
        assert len(sld) == len(qml) >= 2
        for i, (q, s) in enumerate(zip(qml, sld)):
            assert s["label"] == q["label"]
            if kind == "categorizedSymbol":
                assert s["ops"] == [("PropertyIsEqualTo", st.column, q["value"])]
            else:
                lower = "PropertyIsGreaterThanOrEqualTo" if i == 0 else "PropertyIsGreaterThan"
                assert s["ops"] == [(lower, st.column, q["bounds"][0]),
                                    ("PropertyIsLessThanOrEqualTo", st.column, q["bounds"][1])]
        # the ranges tile the values: each upper bound is the next lower bound
        if kind == "graduatedSymbol":
            assert all(a["ops"][1][2] == b["ops"][0][2] for a, b in zip(sld, sld[1:]))
    for q, s in zip(qml, sld):
        assert s["fill"] == q["fill"], (q, s)
        assert s["stroke"] == q["outline"], (q, s)
        assert float(s["width"]) == st.weight and s["dash"] == (st.dash or None)


def _single_symbol_colours(qml_text: str) -> tuple[str | None, str]:
    import xml.etree.ElementTree as ET

    sym = {p.get("k"): p.get("v") for p in ET.fromstring(qml_text.split("\n", 1)[1]).iter("prop")}
    return (sym["color"] if sym.get("style") != "no" else None), sym["outline_color"]
