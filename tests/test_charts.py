"""Charts: the bundled CJK font is registered and Chinese glyphs are drawn, output is deterministic."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import font_manager, ft2font
from matplotlib.image import imread

from sanxian_yidan.charts import CJK_FAMILY, bar_chart, cjk_font


def test_cjk_font_is_registered_and_has_chinese_glyphs() -> None:
    # Which file provides the family (the bundled one, or a system copy of the same font) does not matter;
    # that the family resolves and covers the Chinese the reports print does.
    assert cjk_font() == CJK_FAMILY
    path = font_manager.findfont(CJK_FAMILY, fallback_to_default=False)
    font = ft2font.FT2Font(path)
    for char in "禁止限制需论证提示符合超出数据范围随州广水":
        assert font.get_char_index(ord(char)) != 0, f"{path} has no glyph for {char}"


def test_bar_chart_is_deterministic_png_with_drawn_labels() -> None:
    a = bar_chart(["禁止", "限制"], [3, 1], title="研判结论 / Verdicts", xlabel="项目数 / projects")
    b = bar_chart(["禁止", "限制"], [3, 1], title="研判结论 / Verdicts", xlabel="项目数 / projects")
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    # With a font that lacks the glyphs the labels would be empty boxes; different labels give different pixels.
    c = bar_chart(["允许", "提示"], [3, 1], title="研判结论 / Verdicts", xlabel="项目数 / projects")
    pa, pc = imread(io.BytesIO(a)), imread(io.BytesIO(c))
    assert pa.shape == pc.shape and not np.array_equal(pa, pc)
