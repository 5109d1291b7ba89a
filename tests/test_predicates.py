"""The predicate registry: a predicate added in a module of its own is validated, evaluated, described and worded
end to end, with no change to the screening code.

World: the hand-built zoning world of ``fixtures/screening_world.py`` (red line R1: x 505000-510000,
y 3485000-3490000, EPSG:4547).  The new predicate ``overlap_area_at_least`` fires where the footprint overlaps
matching features by at least ``area_m2``; the areas below are computed by hand from the boxes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from fixtures.screening_world import CRS, write_world
from shapely.geometry import box

from sanxian_yidan import screen
from sanxian_yidan.errors import DataFileError
from sanxian_yidan.predicates import predicate, predicates, unregister
from sanxian_yidan.rules import VERDICTS, load_rules

MODULE = '''
import numpy as np

from sanxian_yidan.predicates import WHERE, Hits, Param, Predicate, fmt_area, register


class OverlapAreaAtLeast(Predicate):
    """The footprint overlaps matching polygons by at least ``area_m2`` (slivers included)."""

    name = "overlap_area_at_least"
    params = (Param("area_m2", "number", "m²", required=True, low=0.0, low_open=True), WHERE)
    geometry = ("polygon",)
    uses_overlay = True
    measures_overlap = True

    def evaluate(self, rule, ctx):
        mask, missing = ctx.where_mask(rule)
        if mask is None:
            return Hits(np.zeros(ctx.n, bool), np.zeros(ctx.n, bool), missing_reason=missing)
        p = ctx.pieces(rule.role)
        sel = mask[p.fi] & ctx.needed[p.pi]
        area = np.bincount(p.pi[sel], weights=p.area[sel], minlength=ctx.n)
        fired = area >= rule.params["area_m2"]
        return Hits(fired, np.zeros(ctx.n, bool), area=area, share=area / ctx.area,
                    names=ctx.names(p.pi[sel], p.fi[sel], rule.role, only=fired),
                    synthetic=np.zeros(ctx.n, bool))

    def describe(self, rule):
        return f"{self.name} {rule.params['area_m2']:g} m² of {rule.role}"

    def message(self, rule, kind, role_zh, role_en):
        limit = fmt_area(rule.params["area_m2"])
        return lambda area, share, _d, _v, names: (f"与{role_zh}重叠 {fmt_area(area)}，不少于 {limit}",
                                                   f"Overlaps the {role_en} by {fmt_area(area)}, at least {limit}.")


register(OverlapAreaAtLeast())
'''

RULES = '''replace_defaults = true
[[rules]]
id = "COV-01"
title_zh = "覆盖"
title_en = "Coverage"
role = "admin_boundary"
predicate = "outside_coverage"
severity = "outside_coverage"
source = "test"

[[rules]]
id = "BIG-01"
title_zh = "大面积占用红线"
title_en = "Large overlap with the red line"
role = "eco_redline"
predicate = "overlap_area_at_least"
severity = "restricted"
source = "test rule"
note_zh = "缩小用地范围。"
note_en = "Shrink the site."
[rules.params]
area_m2 = {area}
'''


@pytest.fixture()
def new_predicate(tmp_path: Path):
    path = tmp_path / "my_predicates.py"
    path.write_text(MODULE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("my_predicates", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["my_predicates"] = module
    spec.loader.exec_module(module)
    yield predicate("overlap_area_at_least")
    unregister("overlap_area_at_least")
    sys.modules.pop("my_predicates", None)


def test_a_predicate_registered_in_its_own_module_is_screened_end_to_end(new_predicate, tmp_path: Path) -> None:
    world = write_world(tmp_path / "world")
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(area=500000), encoding="utf-8")
    projects = gpd.GeoDataFrame(
        {"id": ["A", "B"], "project_type": ["pv", "pv"]},
        # A: x 509000-510000 x y 3489000-3490000 inside R1 = 1,000,000 m²; B: 100 m x 100 m = 10,000 m²
        geometry=[box(509000, 3489000, 511000, 3491000), box(509900, 3489900, 510100, 3490100)], crs=CRS)
    result = screen(projects, world, rules)
    assert result.projects.set_index("project_id")["verdict"].to_dict() == {"A": "restricted", "B": "compliant"}
    row = result.findings[result.findings["rule_id"] == "BIG-01"].iloc[0]
    assert row["project_id"] == "A" and row["overlap_area_m2"] == pytest.approx(1e6)
    assert row["overlap_share"] == pytest.approx(0.25)
    assert row["message_en"] == "Overlaps the ecological protection red line by 1,000,000 m², at least 500,000 m²."
    assert row["test"] == "overlap_area_at_least 500000 m² of eco_redline"
    assert row["test_zh"] == "overlap_area_at_least：生态保护红线"
    assert row["note_en"] == "Shrink the site."
    # the role's overlay was prepared for it: the overlap table lists the red-line piece of A
    pieces = result.overlaps[result.overlaps["role"] == "eco_redline"]
    assert pieces["project_id"].tolist() == ["A", "B"]


def test_parameters_are_checked_against_the_declaration(new_predicate, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(area=-3) + "radius = 5\n", encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_rules(rules)
    text = str(err.value)
    assert "rules.toml: rules.BIG-01.params.area_m2: must be > 0 [m²], got -3" in text
    assert "rules.toml: rules.BIG-01.params.radius: is not a parameter of 'overlap_area_at_least' " \
           "(allowed: ['area_m2', 'where'])" in text
    assert "规则数据文件" in text and "Fix: correct each entry listed" in text


def test_unknown_predicate_names_the_rule_the_file_and_the_fix(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(area=1), encoding="utf-8")
    assert "overlap_area_at_least" not in predicates()
    with pytest.raises(DataFileError) as err:
        load_rules(rules)
    text = str(err.value)
    assert "rules.toml: rules.BIG-01.predicate: unknown value 'overlap_area_at_least'" in text
    assert "sanxian_yidan.predicates" in text and str(rules) in text


def test_packaged_predicates_describe_their_rules_in_both_languages() -> None:
    rules = load_rules()
    assert rules["ECO-01"].describe_test() == "intersects eco_redline"
    assert rules["ECO-01"].describe_test_zh() == "与生态保护红线相交"
    yz = rules["YZ-01"]
    assert yz.describe_test() == "within_distance 1000 m of river"
    assert yz.describe_test_zh() == "距河流 1000 m 以内"
    assert rules["COV-01"].describe_test_zh() == "位于行政区界（县级）之外"
    assert rules["CU-01"].describe_test_zh().startswith("与环境管控单元相交（要素条件：category in [")


def test_no_module_switches_on_a_predicate_name() -> None:
    """Only the registry knows the predicates: no ``rule.predicate == "..."`` or predicate-name literal elsewhere."""
    import re

    src = Path(__file__).resolve().parents[1] / "src" / "sanxian_yidan"
    # "outside_coverage" is also a severity and a verdict: only the other names are looked for as literals
    names = "|".join(n for n in predicates() if n not in VERDICTS)
    pattern = re.compile(rf"\.predicate\s*(==|!=|\bin\b)|[\"'](?:{names})[\"']")
    offenders = [f"{path.relative_to(src)}:{i}" for path in src.rglob("*.py") if path.name != "predicates.py"
                 for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line) and 'predicate="intersects"' not in line]   # shapely's STRtree argument
    assert not offenders, offenders
