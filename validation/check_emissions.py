"""Co-benefit factors shipped in ``data/benefits.toml`` against the published values, digit for digit.

The oracle of each row is the sentence of the publication (as reported; the report read is named) from which the
number is parsed here, independently of the data file.  Two rows check the published year-on-year changes
against the shipped pairs of years.  Factors that could not be read in a publication must carry
``confirmed = false`` (they are reported as such in every output).
"""

from __future__ import annotations

import re

from sanxian_yidan.benefits import load_factors
from validation.common import Check

_MEE_2023 = ("《关于发布2023年电力二氧化碳排放因子的公告》(生态环境部、国家统计局), as reported by 光明日报 "
             "(163.com/dy/article/KIQVBKCG05567I2C.html) and 中国电力报 2026-01-15 (reportify.ai)")
_MEE_2022 = ("《关于发布2022年电力二氧化碳排放因子的公告》(生态环境部、国家统计局, 2024-12-20), as reported by 新京报 "
             "2024-12-27 (daydaynews.cc/zh-hant/finance/3899452.html)")

#: factor id -> (quoted sentence holding the value, the number's position in the quote, publication, basis stated).
PUBLISHED: dict[str, tuple[str, int, str, str]] = {
    "grid_co2_national_2023": ("2023年全国电力平均二氧化碳排放因子为0.5306kgCO2/kWh", 1, _MEE_2023, "grid average"),
    "grid_co2_central_china_2023": ("2023年华北、东北、华东、华中、西北电力平均二氧化碳排放因子分别为0.6361、0.5122、0.5500、"
                                    "0.5271、0.5543kgCO2/kWh", 4, _MEE_2023, "grid average"),
    "fossil_co2_national_2023": ("2023年全国化石能源电力二氧化碳排放因子为0.8273千克二氧化碳/千瓦时", 1, _MEE_2023,
                                 "per kWh of fossil power"),
    "grid_co2_national_2022": ("全国电力平均二氧化碳排放因子为0.5366,即每千瓦时电力需要排放二氧化碳0.5366千克", 1,
                               _MEE_2022, "grid average"),
    "grid_co2_central_china_2022": ("西北、华东、东北、华中、南方依次为0.5857、0.5617、0.5564、0.5395、0.3869", 4,
                                    _MEE_2022, "grid average"),
    "fossil_co2_national_2022": ("2022年全国化石能源电力二氧化碳排放因子为0.8325,比2021年的0.8426降低0.0101", 1,
                                 _MEE_2022, "per kWh of fossil power"),
}

#: Published year-on-year changes: (later id, earlier id, stated relative change, quote).
CHANGES = (
    ("grid_co2_national_2023", "grid_co2_national_2022", -0.011,
     "2023年全国电力平均二氧化碳排放因子为0.5306kgCO2/kWh,较2022年0.5366kgCO2/kWh下降1.1%"),
    ("grid_co2_central_china_2023", "grid_co2_central_china_2022", -0.023,
     "华中……较2022年分别下降……2.3%"),
)


def _number(quote: str, position: int) -> float:
    numbers = re.findall(r"\d+\.\d+", quote)
    return float(numbers[position - 1])


def checks() -> list[Check]:
    """Each confirmed factor equals its published value; unconfirmed ones are flagged; year-on-year changes."""
    factors = load_factors()
    rows = []
    for fid, (quote, position, publication, basis) in PUBLISHED.items():
        published = _number(quote, position)
        f = factors[fid]
        ok = f.value == published and f.basis == basis and f.confirmed
        rows.append(Check(
            quantity=f"{fid} [{f.unit}]",
            oracle=f"{publication}: 「{quote}」",
            test_set=f"data/benefits.toml [factors.{fid}] (basis: {f.basis})",
            tolerance=f"exactly equal, basis '{basis}', confirmed = true",
            measured=f"shipped {f.value} vs published {published}; basis '{f.basis}'; confirmed = {f.confirmed}",
            passed=ok))
    for later, earlier, change, quote in CHANGES:
        a, b = factors[later].value, factors[earlier].value
        rel = a / b - 1.0
        rows.append(Check(
            quantity=f"{later} / {earlier} - 1 [relative change]",
            oracle=f"{_MEE_2023}: 「{quote}」",
            test_set="two shipped factors of successive years",
            tolerance="|Δ| ≤ 0.0005 (the stated change is rounded to 0.1 %)",
            measured=f"{rel:+.4f} vs stated {change:+.3f}",
            passed=abs(rel - change) <= 0.0005))
    unconfirmed = sorted(fid for fid, f in factors.items() if fid not in PUBLISHED and f.kind in ("so2", "nox", "pm"))
    flagged = [fid for fid in unconfirmed if not factors[fid].confirmed]
    rows.append(Check(
        quantity="SO2 / NOx / PM per kWh of thermal power (CEC annual report) flagged unconfirmed",
        oracle="中国电力企业联合会《中国电力行业年度发展报告》: the report's g/kWh table was not available to "
               "the project in a citable form, so no value of it can be checked here",
        test_set=", ".join(unconfirmed),
        tolerance="every such factor has confirmed = false (outputs mark it 待核实)",
        measured=f"{len(flagged)} of {len(unconfirmed)} flagged",
        passed=bool(unconfirmed) and flagged == unconfirmed))
    return rows
