"""GB/T 4754-2017 industry codes, the 两高 flag (环环评〔2021〕45号), industry groups and project types."""

from __future__ import annotations

import re

import pytest

from sanxian_yidan import industries as ind
from sanxian_yidan.errors import InputFileError, SanxianWarning


@pytest.mark.parametrize("value, code", [
    ("2614", "C2614"), ("C2614", "C2614"), (" c26 ", "C26"), (2614, "C2614"), ("C", "C"),
    ("0311", "A0311"), ("4416", "D4416"), ("有机化学原料制造", "C2614"), ("太阳能发电", "D4416"), ("101", "B101"),
])
def test_codes_are_normalised_with_their_section_letter(value: object, code: str) -> None:
    assert ind.normalise_code(value) == code


def test_table_holds_all_sections_and_divisions() -> None:
    table = ind.industry_table()
    sections = [c for c, i in table.items() if i.level == "section"]
    divisions = sorted(int(c[1:]) for c, i in table.items() if i.level == "division")
    assert sections == list("ABCDEFGHIJKLMNOPQRST")
    assert divisions == list(range(1, 98))      # GB/T 4754-2017 has divisions 01-97 without gaps
    assert table["C26"].zh == "化学原料和化学制品制造业"
    assert table["D4416"].zh == "太阳能发电"


@pytest.mark.parametrize("code, category", [
    ("D4411", "coal_power"), ("C2511", "petrochemical"), ("C2521", "petrochemical"), ("C2614", "chemical"),
    ("C2699", "chemical"), ("C3120", "steel"), ("C3216", "nonferrous"), ("C3011", "building_materials"),
    ("C3041", "building_materials"),
])
def test_two_high_categories_of_45(code: str, category: str) -> None:
    # The six categories of 环环评〔2021〕45号: 煤电、石化、化工、钢铁、有色金属冶炼、建材.
    with pytest.warns(SanxianWarning, match="not in sanxian_yidan's subset") if code == "C2699" else _nothing():
        found = ind.lookup(code)
    assert found.two_high == category
    assert ind.is_two_high(code)


@pytest.mark.parametrize("code", ["D4416", "D4415", "C3670", "C325", "C3031", "A0313", "B1012"])
def test_not_two_high(code: str) -> None:
    assert not ind.is_two_high(code)


def test_two_high_source_cites_45() -> None:
    assert "环环评〔2021〕45号" in ind.TWO_HIGH_SOURCE
    cats = ind.two_high_categories()
    assert {c["zh"] for c in cats.values()} >= {"煤电", "化工", "钢铁", "有色金属冶炼", "建材"}


def test_unlisted_class_of_a_known_division_resolves_with_a_warning() -> None:
    with pytest.warns(SanxianWarning, match=r"C3999 is not in sanxian_yidan's subset.*treated as C39"):
        found = ind.lookup("3999")
    assert (found.code, found.listed, found.level) == ("C3999", False, "class")
    assert "计算机" in found.zh


@pytest.mark.parametrize("bad, why, nearest", [
    ("C2O14", "expected a section letter", "C2614"),          # letter O for zero
    ("C99", "division 99 does not exist", "C"),
    ("26141", "expected a section letter", "C2614"),
    ("D2614", "belongs to section C, not D", "C2614"),
    ("", "expected a section letter", "A01"),
])
def test_unknown_codes_list_the_nearest_valid_codes(bad: str, why: str, nearest: str) -> None:
    with pytest.raises(ind.UnknownIndustryCodeError, match=re.escape(why)) as info:
        ind.lookup(bad, feature="P7", file="projects.csv")
    text = str(info.value)
    assert "最接近的有效代码" in text and "Nearest valid codes" in text
    assert nearest in text.split("Nearest valid codes:")[1]
    assert "feature P7" in text and "projects.csv" in text
    assert isinstance(info.value, InputFileError) and isinstance(info.value, ValueError)


def test_nearest_codes_prefers_the_typo_neighbour() -> None:
    assert ind.nearest_codes("C2O14")[0] == "C2614"
    assert ind.nearest_codes("4461")[:3] and "D4416" in ind.nearest_codes("4461")


def test_matches_and_group_expansion() -> None:
    prefixes = ind.expand_prefixes(["@chemical", "2211"])
    assert prefixes == ("C251", "C252", "C26", "C2211")
    assert ind.matches("C2614", prefixes) and ind.matches("C2521", prefixes)
    assert not ind.matches("C2710", prefixes) and not ind.matches(None, prefixes)
    problems: list[str] = []
    assert ind.expand_prefixes(["@nope", "C2O14"], where="rule 'X'", problems=problems) == ()
    assert any("unknown industry group '@nope'" in p for p in problems)
    assert any("unknown industry code 'C2O14'" in p and "C2614" in p for p in problems)


def test_every_group_code_and_type_default_is_listed() -> None:
    table = ind.industry_table()
    for group in ind.industry_groups().values():
        assert group.source and all(code in table for code in group.codes)
    for ptype in ind.project_types().values():
        assert ptype.source
        assert ptype.industry is None or ptype.industry in table


@pytest.mark.parametrize("code, ptype", [
    ("D4416", "pv"), ("D4415", "wind"), ("C2614", "industrial"), ("B1012", "mining"), ("A0313", "livestock"),
    ("D4610", "water_supply"), ("N7820", "waste"), ("K70", "real_estate"), ("D4413", None), (None, None),
])
def test_type_is_derived_from_the_industry(code: str | None, ptype: str | None) -> None:
    assert ind.type_for_industry(code) == ptype


def test_project_type_check() -> None:
    assert ind.check_project_type("PV") == "pv"
    assert ind.check_project_type("光伏发电") == "pv"
    with pytest.raises(ind.UnknownProjectTypeError, match=r"(?s)Unknown project type 'solar'.*pv \(光伏发电\)"):
        ind.check_project_type("solar", feature="P1")


class _nothing:  # a no-op context manager for parametrised warning checks
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False
