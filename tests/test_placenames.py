"""Township names as every output shows them: Chinese where a source gives it, else the pinyin marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import SAMPLE_CATALOG

from sanxian_yidan import Catalog
from sanxian_yidan.placenames import NO_CHINESE_SOURCE, display_names, has_chinese


def test_display_names_prefers_chinese_and_marks_pinyin() -> None:
    frame = pd.DataFrame({"name": ["Xihe", "淅河镇", "Fujia", "", None, "Fujia"],
                          "name_zh": ["淅河镇", "", "", "", None, "  "]})
    assert list(display_names(frame)) == ["淅河镇", "淅河镇", "Fujia（拼音，无中文来源）", "", "",
                                          "Fujia（拼音，无中文来源）"]
    assert list(display_names(pd.DataFrame({"name": ["Fujia", "吴山镇"]}))) == [f"Fujia{NO_CHINESE_SOURCE}", "吴山镇"]


def test_sample_towns_are_chinese_or_marked_pinyin() -> None:
    """37 of the 46 sample towns have a sourced Chinese name (骆店镇 from the NBS 2023 list); the other 9
    are shown with the mark; the synthetic names built from the towns carry the same mark, never bare pinyin."""
    cat = Catalog.load(SAMPLE_CATALOG)
    seats = cat.read("township_seat")
    shown = display_names(seats)
    marked = np.char.endswith(shown.astype(str), NO_CHINESE_SOURCE)
    assert len(shown) == 46 and int(marked.sum()) == 9
    assert sorted(seats["name"][marked]) == ["Baolin", "Dayanpo", "Fengjiang", "Fujia", "Pinglin", "Shuanghe",
                                             "Tianhekou", "Xincheng", "Xinglong"]
    assert shown[list(seats["name"]).index("Luodian")] == "骆店镇"
    assert has_chinese(pd.Series(shown)).all()
    # names built from the towns: a pinyin town name appears only with its mark
    pinyin = set(seats["name"][marked])
    for role, column in (("built_up_area", "name"), ("substation", "name"), ("control_unit", "name")):
        names = cat.read(role)[column].astype(str)
        for town in pinyin:
            bare = names.str.contains(town) & ~names.str.contains(town + NO_CHINESE_SOURCE, regex=False)
            assert not bare.any(), (role, town, list(names[bare]))
    assert cat.read("built_up_area")["name"].str.contains("Fujia（拼音，无中文来源）镇区", regex=False).any()


def test_mine_townships_use_the_same_label() -> None:
    from sanxian_yidan.mines import township_names

    cat = Catalog.load(SAMPLE_CATALOG)
    mines = cat.read("mine_site")
    towns = pd.Series(township_names(cat, np.asarray(mines.geometry.values)))
    named = towns[towns != ""]
    assert len(named) and has_chinese(named).all()   # no bare pinyin such as "Fujia"
    polygons = cat.read("township")
    expected = set(display_names(polygons))
    assert set(named) <= expected
