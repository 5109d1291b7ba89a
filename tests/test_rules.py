"""The rule set as data: packaged rules, user extension/override, validation, conditions, applicability."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sanxian_yidan import load_rules
from sanxian_yidan.errors import DataFileError
from sanxian_yidan.rules import (
    OPS,
    PREDICATES,
    SEVERITIES,
    VERDICTS,
    Applicability,
    Condition,
    RuleSet,
)

RULE = """
[[rules]]
id = "{id}"
title_zh = "测试规则"
title_en = "Test rule"
role = "{role}"
predicate = "{predicate}"
severity = "{severity}"
source = "test source, art. 1"
"""


def _write(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_rules_are_many_sourced_and_valid() -> None:
    rules = load_rules()
    assert isinstance(rules, RuleSet) and len(rules) >= 25
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule.severity in (*SEVERITIES, "outside_coverage")
        assert rule.predicate in PREDICATES
        assert rule.title_zh and rule.title_en and len(rule.source) > 20
        # every source names a document: a law/regulation title, a document number or a plan clause
        assert re.search(r"《|〔\d{4}〕|\(\S+\)|（|ASSUMPTION|sanxian_yidan|HJ/T|GB ", rule.source), rule.id
        if rule.assumption:
            assert "ASSUMPTION" in rule.source, rule.id
    assert rules["COV-01"].is_coverage and rules["COV-01"].role == "admin_boundary"
    # the synergy plan's clauses the issue names are cited
    sources = " ".join(r.source for r in rules)
    for clause in ("(一)", "(二)", "(十二)", "(九)"):
        assert f"随州市减污降碳协同增效实施方案 {clause}" in sources, clause
    assert "长江保护法" in sources and "水污染防治法" in sources and "自然资办发〔2023〕12号" in sources


def test_packaged_rule_details() -> None:
    rules = load_rules()
    yz = rules["YZ-01"]
    assert (yz.role, yz.predicate, yz.distance_m, yz.severity) == ("river", "within_distance", 1000.0, "prohibited")
    assert "C26" in yz.applies_to.industries and "第二十六条" in yz.source
    ws = rules["WS-01"]
    assert ws.where[0].field == "level" and ws.where[0].op == "in"
    assert rules["TH-01"].test == Condition("two_high", "==", True)
    assert rules["PARK-01"].predicate == "outside_coverage" and rules["PARK-01"].severity == "prohibited"


def test_user_file_extends_amends_and_disables(tmp_path: Path) -> None:
    text = """
[[rules]]
id = "YZ-01"
[rules.params]
distance_m = 500.0

[[rules]]
id = "NR-02"
enabled = false

[[rules]]
id = "LOCAL-01"
title_zh = "本地规则：距水库 300 m 内的光伏须论证"
title_en = "Local rule: PV within 300 m of a reservoir needs assessment"
role = "reservoir"
predicate = "within_distance"
severity = "needs_assessment"
source = "随州市某局通知 (2025) 第3条"
[rules.applies_to]
project_types = ["pv"]
[rules.params]
distance_m = 300
"""
    rules = load_rules(_write(tmp_path, text))
    assert rules["YZ-01"].distance_m == 500.0
    assert rules["YZ-01"].applies_to.industries == load_rules()["YZ-01"].applies_to.industries  # merged, kept
    assert "NR-02" in rules.disabled
    with pytest.raises(KeyError, match="NR-02"):
        rules["NR-02"]
    local = rules["LOCAL-01"]
    assert local.distance_m == 300.0 and local.applies_to.project_types == ("pv",)
    assert [r.id for r in rules][-1] == "LOCAL-01"
    assert len(rules) == len(load_rules())
    assert str(tmp_path / "rules.toml") in rules.files


def test_replace_defaults_keeps_only_user_rules(tmp_path: Path) -> None:
    text = "replace_defaults = true\n" + RULE.format(id="COV", role="admin_boundary", predicate="outside_coverage",
                                                       severity="outside_coverage")
    rules = load_rules(_write(tmp_path, text))
    assert [r.id for r in rules] == ["COV"]


def test_a_rule_set_without_coverage_rule_is_refused(tmp_path: Path) -> None:
    text = "replace_defaults = true\n" + RULE.format(id="A", role="eco_redline", predicate="intersects",
                                                       severity="prohibited")
    with pytest.raises(DataFileError, match="no enabled coverage rule"):
        load_rules(_write(tmp_path, text))
    with pytest.raises(DataFileError, match=r"<no rule file>: \(top level\): the rule set has no enabled coverage"):
        load_rules(defaults=False)


def test_every_problem_of_a_malformed_file_is_reported_at_once(tmp_path: Path) -> None:
    text = """
colour = "red"

[[rules]]
id = "B1"
title_zh = "坏规则"
title_en = "Bad rule"
role = "eco_redline"
predicate = "overlaps_a_lot"
severity = "forbidden"
source = "x"
wrong_key = 1

[[rules]]
id = "B2"
title_zh = "坏规则2"
title_en = "Bad rule 2"
role = "red_line"
predicate = "intersects"
severity = "prohibited"

[[rules]]
id = "B3"
title_zh = "坏距离"
title_en = "Bad distance"
role = "river"
predicate = "within_distance"
severity = "restricted"
source = "y"
[rules.applies_to]
industries = ["C2O14", "@nope"]
project_types = ["solar"]
[rules.params]
distance_m = -5

[[rules]]
id = "B4"
title_zh = "属性"
title_en = "Attribute"
role = "river"
predicate = "attribute_test"
severity = "notice"
source = "z"
[rules.params]
field = "two_high"
op = "is"
value = true

[[rules]]
id = "B5"
title_zh = "覆盖"
title_en = "Coverage misuse"
role = "river"
predicate = "outside_coverage"
severity = "notice"
source = "w"
[rules.params]
where = [{ field = "level", op = "==", value = [1, 2] }]
share = 0.5

[[rules]]
id = "B6"
title_zh = "严重程度"
title_en = "Severity misuse"
role = "eco_redline"
predicate = "intersects"
severity = "outside_coverage"
source = "v"
"""
    path = _write(tmp_path, text)
    with pytest.raises(DataFileError, match="规则数据文件有") as info:
        load_rules(path)
    msg = str(info.value)
    assert "规则数据文件有" in msg and str(path) in msg and "Fix" in msg and "rules.toml for the format" in msg
    expected = [
        f"{path}: colour: unknown key",
        "rules.toml: rules.B1.wrong_key: unknown key",
        "rules.B1.predicate: unknown value 'overlaps_a_lot'; allowed: ['intersects', 'overlap_share_above'",
        "rules.B1.severity: unknown value 'forbidden'; allowed: ['prohibited (禁止)'",
        "rules.B2.source: missing required key",
        "rules.B2.role: unknown layer role 'red_line'; allowed: [",
        "rules.B3.applies_to.industries: unknown industry code 'C2O14' (nearest valid codes: C2614",
        "unknown industry group '@nope'",   # same key, same line
        "rules.B3.applies_to.project_types: unknown project type(s) ['solar']",
        "rules.B3.params.distance_m: must be > 0 [m], got -5",
        "rules.B4.role: attribute_test tests the project itself, so role must be 'project'",
        "rules.B4.params: key 'op': unknown value 'is'; allowed:",
        "rules.B5.role: predicate 'outside_coverage' needs a polygon role, 'river' is line",
        "rules.B5.params.share: is not a parameter of 'outside_coverage'",
        "rules.B5.params.where[0]: key 'value' must be a single value for op '=='",
        "rules.B6.severity: unknown value 'outside_coverage'",
        "only allowed with predicate 'outside_coverage'",
    ]
    for text_ in expected:
        assert text_ in msg, text_
    assert "problem(s)" in msg and msg.count("\n  - ") == 15


def test_duplicate_ids_and_syntax_errors(tmp_path: Path) -> None:
    dup = RULE.format(id="D", role="eco_redline", predicate="intersects", severity="notice") * 2
    with pytest.raises(DataFileError, match=r"rules.toml: rules.D: duplicate id in rules.toml"):
        load_rules(_write(tmp_path, dup))
    with pytest.raises(DataFileError, match="TOML syntax error"):
        load_rules(_write(tmp_path, "[[rules]\nid = 1", "broken.toml"))


def test_ops_and_verdict_order_are_fixed() -> None:
    assert VERDICTS == ("prohibited", "restricted", "needs_assessment", "outside_coverage", "notice", "compliant")
    assert set(OPS) == {"==", "!=", "in", "not_in", "<", "<=", ">", ">=", "startswith"}


@pytest.mark.parametrize("cond, values, expected", [
    (Condition("level", "in", (1, "一级")), [1, "1", 1.0, "一级", 2, None, float("nan"), " 1 "],
     [True, True, True, True, False, False, False, True]),
    (Condition("category", "!=", "自然保护区"), ["自然保护区", "森林公园", None], [False, True, False]),
    (Condition("voltage_kv", ">=", 110), [220, "110", 35, None, "abc"], [True, True, False, False, False]),
    (Condition("industry", "startswith", ("C31", "C3011")), ["C3120", "C3011", "C30", None],
     [True, True, False, False]),
    (Condition("two_high", "==", True), [True, False, None], [True, False, False]),
    (Condition("level", "not_in", (1,)), [1, 2, None], [False, True, False]),
    # numeric targets match numbers written as text; booleans match yes/no encodings
    (Condition("level", "==", 1), ["1.0", "01", 1.0, "一级", ""], [True, True, True, False, False]),
    (Condition("two_high", "==", True), [1, 0, "是", "否", "yes", "?"], [True, False, True, False, True, False]),
    # a column mixing True with 1 (equal hashes) is not merged by the distinct-value shortcut
    (Condition("flag", "in", (True,)), [True, 1, 2, 1, "x", True], [True, True, False, True, False, True]),
    (Condition("n", "==", 1), [True, 1, 2, 1], [False, True, False, True]),
    (Condition("n", ">=", 1), [True, 1, "2", False], [False, True, True, False]),   # a yes/no is not a number
])
def test_condition_evaluation(cond: Condition, values: list, expected: list) -> None:
    assert cond.evaluate(values).tolist() == expected


def test_applicability_undetermined_and_exclusions() -> None:
    industries = ["C2614", "D4416", None, None]
    types = ["industrial", "pv", None, "pv"]
    two_high = [True, False, None, False]
    chem = Applicability(industries=("C26",))
    applies, undetermined = chem.evaluate(industries, types, two_high)
    assert applies.tolist() == [True, False, False, False]
    assert undetermined.tolist() == [False, False, True, True]
    # exclusions are conservative: a project of unknown type is not exempt
    not_pv = Applicability(project_types_except=("pv",))
    applies, undetermined = not_pv.evaluate(industries, types, two_high)
    assert applies.tolist() == [True, False, True, False] and not undetermined.any()
    th = Applicability(two_high=True)
    applies, undetermined = th.evaluate(industries, types, two_high)
    assert applies.tolist() == [True, False, False, False] and undetermined.tolist() == [False, False, True, False]
    assert Applicability().is_universal
    assert np.all(Applicability().evaluate(industries, types, two_high)[0])
