"""Records that were frozen dataclasses and are now data-file models still build the former way, with a warning.

Each former construction (positional order, former keyword names, a ``Path`` for a text field) gives the record
built the new way; the warning names the new form.  In a data file a former name stays an unknown key.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from sanxian_yidan import catalog, columns, figures, rules
from sanxian_yidan.conditions import Condition
from sanxian_yidan.errors import DataFileError
from sanxian_yidan.params import validate_layers

_TITLES = {"title_zh": "河流缓冲", "title_en": "River buffer", "source": "GB 3838 4.1"}


def _former(match: str) -> pytest.WarningsRecorder:
    return pytest.warns(DeprecationWarning, match=match)


def test_applicability_positional_and_industry_labels_give_the_applies_to():
    with pytest.deprecated_call() as caught:
        old = rules.Applicability(("C26",), ("C2614",), ("pv",), (), True, ("@chemical",))
    assert {str(w.message).split(":")[0] for w in caught} == {"AppliesTo"}
    assert all(w.filename == __file__ for w in caught)  # the warnings name the caller's line
    assert any("industry_labels=" in str(w.message) for w in caught)
    new = rules.AppliesTo(industries=["C26"], industries_except=["C2614"], project_types=["pv"], two_high=True)
    assert old.model_dump() == new.model_dump()
    assert (old.industry_labels, new.industry_labels) == (("@chemical",), ("C26",))
    assert old.describe() == "industries @chemical; except industries C2614; types pv; 两高 only"
    with _former("industry_labels="):
        labelled = rules.Applicability(industries=("C26",), industry_labels=("C26",))
    assert labelled == rules.AppliesTo(industries=("C26",)) and hash(labelled) == hash(rules.AppliesTo(industries=("C26",)))


def _rule(**params: object) -> rules.Rule:
    return rules.Rule(id="R-1", role="river", predicate="within_distance", severity="restricted", **_TITLES,
                      params=params)


def test_rule_former_keywords_go_into_params_and_origin():
    where = (Condition("level", "in", ("一级", 1)), Condition("width_m", ">=", 5))
    with _former(r'where=, distance_m=, origin= are deprecated.*params=\{"distance_m": \.\.\.\}'):
        old = rules.Rule(id="R-1", role="river", predicate="within_distance", severity="restricted", **_TITLES,
                         where=where, distance_m=500, origin="my_rules.toml")
    new = _rule(where=[{"field": "level", "op": "in", "value": ["一级", 1]},
                       {"field": "width_m", "op": ">=", "value": 5}], distance_m=500)
    new._origin = "my_rules.toml"
    assert old == new and hash(old) == hash(new)
    assert (old.where, old.distance_m, old.origin) == (where, 500.0, "my_rules.toml")
    assert old.describe_test() == new.describe_test()


def test_rule_former_positional_order_with_its_defaults_and_parsed_params():
    test = Condition("two_high", "==", True)
    args = ("R-2", "两高项目", "Two-high project", "project", "attribute_test", "notice", "clause 3",
            rules.AppliesTo(), (), None, None, test, True, "注", "note", "packaged", MappingProxyType({"test": test}))
    with pytest.deprecated_call() as caught:
        old = rules.Rule(*args)
    assert all(w.filename == __file__ for w in caught)
    new = rules.Rule(id="R-2", title_zh="两高项目", title_en="Two-high project", role="project",
                     predicate="attribute_test", severity="notice", source="clause 3", assumption=True, note_zh="注",
                     note_en="note", params={"field": "two_high", "op": "==", "value": True})
    new._origin = "packaged"
    assert old == new and old.test == test and old.where == () and old.distance_m is None


def test_rules_and_rule_sets_hash_as_the_dataclasses_did():
    a, b = _rule(distance_m=100), _rule(distance_m=100)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert hash(rules.RuleSet((a,), ("rules.toml",))) == hash(rules.RuleSet((b,), ("rules.toml",)))
    assert _rule(distance_m=200) != a  # params still count for equality


def test_a_former_name_in_a_rule_file_is_still_an_unknown_key(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[[rules]]\nid = "ECO-01"\norigin = "x"\ndistance_m = 5\n', encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        rules.load_rules(path)
    assert "rules.ECO-01.origin: unknown key" in str(err.value)
    assert "rules.ECO-01.distance_m: unknown key" in str(err.value)


_ENTRY = {"id": "river", "role": "river", "title_zh": "河流", "title_en": "Rivers", "source": "survey 2020",
          "licence": "CC-BY", "synthetic": True}


def test_layer_entry_takes_a_path_without_warning_and_the_former_order_with_one(recwarn):
    entry = catalog.LayerEntry(path=Path("data") / "river.gpkg", layer=None, **_ENTRY)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
    assert entry == catalog.LayerEntry(path="data/river.gpkg", **_ENTRY) and entry.path == Path("data/river.gpkg")
    with _former("positional arguments are deprecated"):
        old = catalog.LayerEntry("river", "river", Path("data/river.gpkg"), "rivers", "河流", "Rivers", "survey 2020",
                                 "CC-BY", True, None, "gbk", MappingProxyType({"name": "MC"}))
    assert old == catalog.LayerEntry(path="data/river.gpkg", layer="rivers", encoding="gbk", fields={"name": "MC"},
                                     **_ENTRY)


def test_column_name_keyword_and_order_give_the_registry_column():
    with _former("keywords name= are deprecated"):
        old = columns.Column(name="area_m2", zh="面积", en="Area", unit="m²", description="Project area.", digits=0)
    new = columns.Column(zh="面积", en="Area", unit="m²", description="Project area.", digits=0)
    new._name = "area_m2"
    assert old == new and old.name == "area_m2" and old.label == new.label
    with pytest.deprecated_call():
        assert columns.Column("area_m2", "面积", "Area", "m²", "Project area.", 0) == new
    with pytest.raises(DataFileError, match=r"x\.toml: area_m2\.name: unknown key"):
        validate_layers(columns.ColumnsFile, [("x.toml", {"area_m2": {"name": "a", "zh": "面积", "en": "Area",
                                                                     "unit": "m²", "description": "d"}})])


def test_figure_settings_positional_without_source_warns_and_builds():
    args = (("river", "county"), 0.1, 250, 6.5, 4, 150, 0.05, "below", 8)
    with pytest.deprecated_call() as caught:
        old = figures.FigureSettings(*args)
    messages = " | ".join(str(w.message) for w in caught)
    assert "positional arguments are deprecated" in messages and "without source=" in messages
    assert all(w.filename == __file__ for w in caught)
    new = figures.FigureSettings(context_roles=["river", "county"], margin_share=0.1, min_margin_m=250.0,
                                 width_in=6.5, height_in=4.0, dpi=150, region_margin_share=0.05, legend="below",
                                 legend_font_pt=8.0, source=figures.FORMER_SOURCE)
    assert old == new
    with pytest.deprecated_call(match="positional"):
        assert figures.FigureSettings(*args, "GB/T 1").source == "GB/T 1"


def test_a_figure_table_without_source_is_still_an_error():
    table = figures.figure_settings("sheet").model_dump()
    del table["source"]
    doc = {"source": "s", "sheet": table, "study": figures.figure_settings("study").model_dump(),
           "sheet_text": figures.sheet_text_limits().model_dump()}
    with pytest.raises(DataFileError, match=r"sheet\.source: missing required key"):
        validate_layers(figures.FiguresFile, [("figures.toml", doc)])


def test_role_and_map_records_build_the_former_dataclass_way():
    from sanxian_yidan import roles
    from sanxian_yidan.maps import settings as maps_settings

    packaged = roles.role_vocabulary()["eco_redline"]
    with pytest.deprecated_call() as caught:
        old_map = roles.MapUse(packaged.map.context, packaged.map.order, packaged.map.style, packaged.map.show,
                               packaged.map.labels)
        old = roles.Role("eco_redline", packaged.zh, packaged.en, packaged.geometry, packaged.fields, old_map)
    assert any("positional arguments are deprecated" in str(w.message) for w in caught)
    assert any("id=" in str(w.message) for w in caught)                   # id is the key in the file now
    assert old == packaged and old.id == "eco_redline" and old.map == packaged.map
    assert old.replace(zh="生态红线").zh == "生态红线"                     # dataclasses.replace's successor
    with pytest.deprecated_call():
        tiles = (maps_settings.TileSource("https://t/{z}/{x}/{y}.png", "© t"),)
        base = maps_settings.Basemap("osm", "街道", "Streets", "wgs84", 18, "abc", "", tiles, "OSM tiles")
        line = maps_settings.BoundaryStyle("county", "admin_boundary", "#333333", 1.5, "4 2", "GB/T 20257")
    assert (base.id, base.max_zoom, base.tiles[0].attribution, base.source) == ("osm", 18, "© t", "OSM tiles")
    assert (line.id, line.role, line.weight, line.dash) == ("county", "admin_boundary", 1.5, "4 2")
    with _former("id="):
        keyword = maps_settings.BoundaryStyle(id="county", role="admin_boundary", colour="#333333", weight=1.5,
                                              dash="4 2", source="GB/T 20257")
    assert keyword == line and keyword.id == "county"
