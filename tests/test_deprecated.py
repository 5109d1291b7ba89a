"""Names removed by the move to data-file models stay importable for one release: each warns and still works."""

from __future__ import annotations

import types

import pytest

from sanxian_yidan import brownfield as bf
from sanxian_yidan.brownfield.params import Condition
from sanxian_yidan.datafiles import Problems, load_toml, packaged_path
from sanxian_yidan.errors import DataFileError
from sanxian_yidan.maps import load_map_settings
from sanxian_yidan.maps.settings import parse_palettes, parse_ramps

WARNS = pytest.warns(DeprecationWarning, match="removed in the next release; use ")


class _Collector:
    """The former problem collector's interface: ``add(where, text)``."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, text: str) -> None:
        self.items.append(f"{where}: {text}")


def test_problems_collects_and_raises_every_problem_at_once():
    with pytest.warns(DeprecationWarning, match="datafiles.Problems .*use datafiles.load_model"):
        probs = Problems("user.toml")
    assert probs.get({"a": 2}, "a", float, "[t]") == 2.0 and isinstance(probs.get({"a": 2}, "a", float, "[t]"), float)
    assert probs.get({}, "b", int, "[t]") is None
    assert probs.get({}, "b", int, "[t]", 7) == 7
    assert probs.number({"n": -1}, "n", "[t]", lo=0) is None
    assert probs.source({"source": " "}, "[t]") == ""
    assert probs.source({"source": "GB 1"}, "[t]") == "GB 1"
    assert [p.split(":")[0] for p in probs.items] == ["[t]"] * 3
    with pytest.raises(DataFileError, match=r"3 problem\(s\)") as err:
        probs.raise_if_any("棕地 / brownfield")
    assert "user.toml" in str(err.value) and "missing required key 'b'" in str(err.value)


def test_parse_condition_builds_the_condition_or_records_the_problem():
    probs = _Collector()
    raw = {"column": "slope_mean_deg", "op": "<=", "value": 15, "source": "GB 50797-2012"}
    with WARNS:
        cond = bf.parse_condition(raw, "[[prescreen]][0]", probs, prescreen=True)
    assert (cond.column, cond.op, cond.value, cond.id, cond.on_missing, cond.source) == (
        "slope_mean_deg", "<=", 15, "slope_mean_deg", "flag", "GB 50797-2012")
    with WARNS:
        assert bf.parse_condition({"column": "status", "op": "in", "value": "x"}, "[w]", probs) is None
    with WARNS:  # a pre-screen test needs a source
        assert bf.parse_condition({"column": "a", "op": "<", "value": 1}, "[p]", probs, prescreen=True) is None
    assert len(probs.items) == 2 and probs.items[0].startswith("[w]") and "list" in probs.items[0]
    assert probs.items[1].startswith("[p].source")


def test_parse_mcda_criteria_and_exclusions_give_what_load_params_gives():
    doc = load_toml(packaged_path("brownfield.toml"))
    params = bf.load_params()
    probs = _Collector()
    with WARNS:
        assert bf.parse_mcda(doc, probs) == params.mcda_spec()
    with WARNS:
        assert bf.parse_criteria(doc["criteria"], "[[criteria]]", probs) == tuple(params.criteria)
    for i, raw in enumerate(doc["exclusions"]):
        with WARNS:
            assert bf.parse_exclusion(raw, f"[[exclusions]][{i}]", probs) == params.exclusions[i]
    assert probs.items == []
    bad = dict(doc, mcda={**doc["mcda"], "top_k": 0})
    with WARNS:
        assert bf.parse_mcda(bad, probs) is None
    with WARNS:
        assert bf.parse_criteria([], "[[criteria]]", probs) == ()
    with WARNS:
        assert bf.parse_exclusion({"role": "x", "buffer_m": -5, "source": "s"}, "[[exclusions]][9]", probs) is None
    assert [p.split(":")[0] for p in probs.items] == ["mcda.top_k", "[[criteria]]", "[[exclusions]][9].buffer_m"]


def test_read_params_document_merges_the_user_values_over_the_packaged_file(tmp_path):
    packaged = load_toml(packaged_path("brownfield.toml"))
    with WARNS:
        doc, files = bf.read_params_document("brownfield.toml", {"mcda": {"top_k": 3}})
    assert doc["mcda"]["top_k"] == 3 and doc["mcda"]["method"] == packaged["mcda"]["method"]
    assert files[0].endswith("brownfield.toml") and len(files) == 2
    user = tmp_path / "mine.toml"
    user.write_text("[mcda]\nseed = 11\n", encoding="utf-8")
    with WARNS:
        doc, files = bf.read_params_document("brownfield.toml", user)
    assert doc["mcda"]["seed"] == 11 and doc["criteria"] == packaged["criteria"] and files[1] == str(user.resolve())


def test_parse_palettes_and_ramps_give_the_settings_palettes_and_ramps():
    doc = load_toml(packaged_path("styles.toml"))
    settings = load_map_settings()
    reader = types.SimpleNamespace(problems=[])
    with WARNS:
        assert parse_palettes(reader, doc) == dict(settings.palettes)
    with WARNS:
        assert parse_ramps(reader, doc) == dict(settings.ramps)
    assert reader.problems == []
    with WARNS:
        assert parse_ramps(reader, {"ramps": {"hot": {"colours": ["#fff"], "columns": [], "reverse": False,
                                                       "source": "s"}}}) == {}
    assert any("[ramps.sequential] is missing" in p for p in reader.problems)
    assert any(p.startswith("[ramps.hot.colours]") for p in reader.problems)


# The parameter classes that were frozen dataclasses: the former positional order, each field's value.
_POSITIONAL = [
    ("sanxian_yidan.brownfield.params", "GridClass", (110.0, 50.0, "GB/T 50293 表 4.1")),
    ("sanxian_yidan.brownfield.params", "StatusRule",
     ("landfill", "status", ("closed",), 0.4, False, "封场未满五年", "closed less than five years ago", "assumption")),
    ("sanxian_yidan.brownfield.params", "AhpSpec", (("slope", "dist"), ((1.0, 3.0), (1 / 3, 1.0)), True, "expert panel")),
    ("sanxian_yidan.mines", "LineSource", ("road", "level", ("国道", "省道"), "GB 5768")),
    ("sanxian_yidan.mines", "MineStatus", ("state", ("closed",), True, "已闭坑", "closed", "mine register")),
    ("sanxian_yidan.mines", "FocusArea", ("吴山镇", ("吴山",), "clause (九)")),
    ("sanxian_yidan.brownfield.params", "Condition",
     ("slope_mean_deg", "<=", 15.0, "slope", "坡度", "slope", "fail", "GB 50797-2012")),
    ("sanxian_yidan.brownfield.params", "Exclusion",
     ("water_source", "一级水源保护区", "level-1 water source zone", "HJ 338-2018", 50.0, {"level": ("一级",)})),
    ("sanxian_yidan.mines", "Zone", ("urban", ("built_up_area",), "城镇", "built-up area", 1000.0, "GB 50180")),
    ("sanxian_yidan.mines", "ModeRule", ("pv", "光伏+修复", "PV with restoration",
                                         (Condition(column="pv_pass", op="==", value=True),), "clause (十二)")),
    ("sanxian_yidan.maps.styles", "LayerStyle", ("river", "河流", "River", "line", "#1f78b4", "", 1.5, "4 3", 0.5,
                                                 0.8, 4.0, False, True, "", "", "", "water", "cartographic choice")),
]
POSITIONAL_WARNING = "positional arguments are deprecated; use keywords"


@pytest.mark.parametrize(("module", "name", "args"), _POSITIONAL, ids=[n for _, n, _ in _POSITIONAL])
def test_former_dataclass_positional_order_still_builds_the_same_model(module, name, args):
    import importlib

    cls = getattr(importlib.import_module(module), name)
    with pytest.warns(DeprecationWarning, match=POSITIONAL_WARNING) as caught:
        old = cls(*args)
    assert "位置参数已弃用" in str(caught[0].message) and caught[0].filename == __file__
    new = cls(**dict(zip(cls.positional, args)))
    assert old == new and old.model_dump() == new.model_dump()
    assert [getattr(old, f) for f in cls.positional] == list(args)
    # dataclasses.replace is now obj.replace (validated): one field changed, the others kept.
    field = cls.positional[0]
    changed = old.replace(**{field: args[0]}, source="other")
    assert changed.source == "other" and getattr(changed, field) == args[0] and changed != old
    with pytest.raises(TypeError, match="multiple values"):
        cls(*args[:1], **{cls.positional[0]: args[0]})
    with pytest.raises(TypeError, match="at most"):
        cls(*args, "one too many")


def test_former_dataclass_defaults_and_shapes_still_hold():
    from sanxian_yidan.brownfield.params import Exclusion
    from sanxian_yidan.mines import ModeRule, Zone

    # a label left out (or empty) takes the key it names, as the assembled records did
    assert Condition(column="slope", op="<=", value=15).id == "slope"
    assert Condition(column="level", op="in", value=[1, "一级"]).value == (1, "一级")
    zone = Zone(id="urban", roles=["built_up_area"], zh="", influence_m=500.0, source="s")
    assert (zone.zh, zone.en, zone.roles) == ("urban", "urban", ("built_up_area",))
    assert (ModeRule(id="natural", source="s").zh, ModeRule(id="natural", source="s").when) == ("natural", ())
    ex = Exclusion(role="red_line", source="s", where=(("level", ("一级",)),))  # the former (field, values) pairs
    assert (ex.reason_zh, ex.reason_en, ex.where, ex.buffer_m) == ("red_line", "red_line", {"level": ("一级",)}, 0.0)
    with pytest.raises(ValueError, match="needs a list value"):
        Condition(column="level", op="in", value="一级")


def test_criterion_spec_positional_options_become_transform_keys():
    from sanxian_yidan.brownfield.params import CriterionSpec

    with pytest.warns(DeprecationWarning, match=POSITIONAL_WARNING):
        old = CriterionSpec("slope_deg", "linear", False, 0.3, {"lo": 0.0, "hi": 15.0}, "GB 50797")
    new = CriterionSpec(column="slope_deg", transform="linear", benefit=False, weight=0.3, lo=0.0, hi=15.0,
                        source="GB 50797")
    assert old == new and old.options == {"lo": 0.0, "hi": 15.0}
    # The former keyword call with options= works too (without a warning: only positions are deprecated).
    assert CriterionSpec(column="slope_deg", transform="linear", benefit=False, weight=0.3,
                         options={"lo": 0.0, "hi": 15.0}, source="GB 50797") == new
    with pytest.raises(ValueError, match="negative"):
        old.replace(weight=-1.0)


def test_tile_source_positional_order_still_builds_the_same_model():
    from sanxian_yidan.maps import TileSource

    with pytest.warns(DeprecationWarning, match=POSITIONAL_WARNING):
        old = TileSource("https://tile.example/{z}/{x}/{y}.png", "© example")
    assert old == TileSource(url="https://tile.example/{z}/{x}/{y}.png", attribution="© example")
    assert (old.url, old.attribution) == ("https://tile.example/{z}/{x}/{y}.png", "© example")


def test_report_block_helpers_warn_and_render_the_template_blocks():
    from sanxian_yidan import report
    from sanxian_yidan.report import Column

    parts = report.template_environment().get_template("report_parts.html.j2").module
    rows, cols = [{"a": "<b>x</b>", "n": 1234.4}], [Column("a", "A"), Column("n", "N", numeric=True)]
    with pytest.warns(DeprecationWarning, match="report.table_html .*use the table macro"):
        table = report.table_html(rows, cols)
    assert table == str(parts.table(rows, cols, "—"))
    assert "&lt;b&gt;x&lt;/b&gt;" in table and '<td class="num">1,234</td>' in table  # escaped; digits=0
    with pytest.warns(DeprecationWarning, match="report.banner_html .*use the banner macro"):
        assert "synthetic layers: farm, river" in report.banner_html(["farm", "river"])
    with pytest.warns(DeprecationWarning, match="report.banner_html"):
        assert report.banner_html([]) == ""
    rules = [{"rule_id": "R1", "title": "t", "source": "GB 1", "assumption": False}]
    with pytest.warns(DeprecationWarning, match="report.sources_html .*use the sources macro"):
        sources = report.sources_html(rules, [])
    assert "<h2>依据与数据来源 / Sources</h2>" in sources and "<td>R1</td>" in sources and "<td>否 no</td>" in sources
