"""Legacy datums (Xi'an 1980, Beijing 1954): recognising them and the warning that a local transformation is needed."""

from __future__ import annotations

from typing import Any

from pyproj import CRS

from .inference import as_crs
from .settings import crs_settings


# --------------------------------------------------------------------------------------------------
# legacy datums
# --------------------------------------------------------------------------------------------------
def _datum_names(crs: CRS) -> list[str]:
    parts = crs.sub_crs_list if crs.is_compound else [crs]
    return [p.geodetic_crs.datum.name for p in parts if p.geodetic_crs is not None and p.geodetic_crs.datum is not None]


def _legacy_match(crs: Any) -> str | None:
    if crs is None:
        return None
    # ESRI .prj files spell datums 'D_Xian_1980'; pyproj keeps that spelling when it cannot map it.
    names = [name.lower().replace("_", " ").strip().removeprefix("d ") for name in _datum_names(as_crs(crs))]
    return next((d for name in names for d in crs_settings().legacy_datums if name == d.lower()), None)


def is_legacy_datum(crs: Any) -> bool:
    """Tell whether a CRS is based on a legacy Chinese datum.

    Parameters
    ----------
    crs : str, int, pyproj.CRS or None
        Any CRS pyproj understands (geographic, projected or compound).

    Returns
    -------
    bool
        True for Xian 1980, Beijing 1954 and New Beijing (list in
        ``legacy_datums.datums`` of ``data/crs.toml``); False for ``None``.
    """
    return _legacy_match(crs) is not None


def legacy_datum_warning(crs: Any) -> str | None:
    """Return the warning for data on a legacy datum, or None.

    Parameters
    ----------
    crs : str, int, pyproj.CRS or None
        The data's CRS.

    Returns
    -------
    str or None
        Bilingual text saying that sub-metre work needs the local
        7-parameter transformation (``legacy_datums.message``), or ``None``
        for CGCS2000, WGS84 and other datums.

    References
    ----------
    .. [1] ``data/crs.toml`` ``[legacy_datums]``.
    """
    legacy = _legacy_match(crs)
    if legacy is None:
        return None
    s = crs_settings().legacy_datums_table
    zh = (s.zh_names.model_extra or {}).get(legacy, legacy)
    return s.message.format(name=as_crs(crs).name, datum=legacy, datum_zh=zh)
