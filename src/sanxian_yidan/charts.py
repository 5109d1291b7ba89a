"""Charts for reports: matplotlib with a CJK font so Chinese labels render, returned as PNG bytes.

The font is Noto Sans CJK SC shipped by the PyPI package ``mplfonts`` (SIL Open
Font License), so charts render Chinese on a fresh machine without system
fonts.  Charts are drawn with the non-interactive Agg backend and carry no
timestamp, so the same data give byte-identical PNGs.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib import font_manager  # noqa: E402

log = logging.getLogger(__name__)

#: Font file inside the mplfonts package, and the family name it registers.
CJK_FONT_FILE = "fonts/NotoSansCJKsc-Regular.otf"
CJK_FAMILY = "Noto Sans CJK SC"


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register the bundled CJK font with matplotlib and return its family name.

    Returns
    -------
    str
        ``"Noto Sans CJK SC"``, or matplotlib's default family if the font
        package is missing (Chinese then renders as boxes; a warning is logged).
    """
    try:
        path = resources.files("mplfonts") / CJK_FONT_FILE
        font_manager.fontManager.addfont(str(path))
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        log.warning("CJK font not available (%s); install mplfonts so Chinese labels render", exc)
        return matplotlib.rcParams["font.family"][0]
    return font_manager.FontProperties(fname=str(path)).get_name()


def png_bytes(fig: plt.Figure, dpi: int = 110) -> bytes:
    """``fig`` as PNG bytes at ``dpi`` [dots per inch], without a timestamp (same figure, same bytes); closes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str,
              colours: Sequence[str] | None = None, value_format: str = "{:,.0f}") -> bytes:
    """Horizontal bar chart as PNG bytes.

    Parameters
    ----------
    labels : sequence of str
        Bar labels (Chinese allowed), drawn top to bottom in the given order.
    values : sequence of float
        Bar lengths, in the unit named by ``xlabel``.
    title, xlabel : str
        Chart title and axis label (bilingual text recommended).
    colours : sequence of str, optional
        One colour per bar; a single default colour otherwise.
    value_format : str
        Format of the value printed at the end of each bar.
    """
    family = cjk_font()
    with plt.rc_context({"font.family": family, "axes.unicode_minus": False}):
        height = 0.8 + 0.32 * max(len(labels), 1)
        fig, ax = plt.subplots(figsize=(7.5, height))
        positions = range(len(labels))[::-1]
        ax.barh(list(positions), list(values), color=list(colours) if colours else "#3b7dbf")
        ax.set_yticks(list(positions), labels=list(labels))
        for y, v in zip(positions, values):
            ax.text(v, y, " " + value_format.format(v), va="center", fontsize=8)
        ax.set(title=title, xlabel=xlabel)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(x=0.15)
        return png_bytes(fig)
