"""Shared look of the HTML outputs (reports, screening sheets): the sample-data banner text and colours.

Verdict colours come from the style registry's one verdict palette (``data/styles.toml``), so a verdict
has the same colour in the reports, the sheets, the maps and the figures.
"""

from __future__ import annotations

__all__ = ["ACCESS_LIST_HEADINGS", "NEUTRAL_COLOUR", "SAMPLE_BANNER_EN", "SAMPLE_BANNER_ZH", "text_colour",
           "verdict_colour"]

SAMPLE_BANNER_ZH = "示例数据 — 合成图层，非官方管控成果，不得用于决策"
SAMPLE_BANNER_EN = "SAMPLE DATA — synthetic layers, not official zoning; not for decisions"
#: Badge colour of findings that are not verdicts (notes, rules not evaluated).
NEUTRAL_COLOUR = "#bdbdbd"
#: The four parts of a control unit's access list (准入清单): record key, Chinese and English heading.
ACCESS_LIST_HEADINGS = (("space", "空间布局约束", "Spatial layout constraints"),
                        ("pollution", "污染物排放管控", "Pollutant discharge controls"),
                        ("risk", "环境风险防控", "Environmental risk prevention"),
                        ("resource", "资源开发效率要求", "Resource-use efficiency"))


def verdict_colour(verdict: str) -> str:
    """Colour of a verdict (or finding severity) from the style registry's one verdict palette."""
    from .maps.styles import verdict_colours

    return verdict_colours().get(verdict, NEUTRAL_COLOUR)


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (WCAG 2 relative luminance, threshold 0.179).

    References
    ----------
    .. [1] W3C (2008). Web Content Accessibility Guidelines (WCAG) 2.0, "relative luminance" and
       "contrast ratio" definitions.
    """
    from matplotlib.colors import to_rgb

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(background))
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "#ffffff"
