"""Place names as tables, popups and map labels show them: Chinese where the data have it, else the
romanised name marked as having no Chinese source.

GeoNames, the source of the sample's township seats, gives 10 of the 46 towns only in pinyin (``Fujia``,
``Xinglong`` …): no Chinese name was found for them in a source (the 2023 township list of the National
Bureau of Statistics, 统计用区划代码, names none of them but 骆店镇 for ``Luodian``), and a name is
never guessed from the pinyin.  Such a place is shown everywhere with one label, ``Fujia（拼音，无中文来源）``,
so a reader sees at once that the name is a transliteration and why, instead of a mix of 淅河镇 and Fujia.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["NO_CHINESE_SOURCE", "display_names", "has_chinese"]

#: Marks a romanised name for which no source gives the Chinese name.
NO_CHINESE_SOURCE = "（拼音，无中文来源）"


def has_chinese(values: pd.Series) -> np.ndarray:
    """Whether each text holds a CJK ideograph (U+4E00–U+9FFF)."""
    return values.fillna("").astype(str).str.contains(r"[\u4e00-\u9fff]", regex=True).to_numpy(dtype=bool)


def display_names(frame: pd.DataFrame) -> np.ndarray:
    """The shown name of each feature: ``name_zh`` when given, else ``name`` when it is Chinese, else
    ``name`` followed by :data:`NO_CHINESE_SOURCE`; ``""`` when the feature has no name at all.

    Parameters
    ----------
    frame : DataFrame
        With a ``name`` and/or a ``name_zh`` column (missing columns count as empty).
    """
    empty = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    name = (frame["name"] if "name" in frame.columns else empty).fillna("").astype(str).str.strip()
    zh = (frame["name_zh"] if "name_zh" in frame.columns else empty).fillna("").astype(str).str.strip()
    out = np.where(name.to_numpy() != "", (name + NO_CHINESE_SOURCE).to_numpy(dtype=object), "")
    out = np.where(has_chinese(name), name.to_numpy(dtype=object), out)
    return np.where(zh.to_numpy() != "", zh.to_numpy(dtype=object), out).astype(object)
