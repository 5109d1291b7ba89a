"""Solar resource and PV specific yield for any site, tilt and azimuth (pvlib).

Two kinds of input:

* **default, fully offline** — pvlib's Ineichen clear-sky irradiance (with pvlib's bundled Linke
  turbidity climatology) for an hourly reference year, scaled month by month to Suizhou's cited
  sunshine climatology with the sunshine formula ``H = H_clear * (a + b*S)`` (``data/solar.toml``);
  the scaled global irradiance is split into beam and diffuse with the Erbs model.  The sunshine and
  temperature are Suizhou's: the default is refused for a site outside the region declared in
  ``[climatology.validity]`` (Suizhou prefecture plus a margin) — pass a weather file for such a site,
  or opt in with ``outside = "warn"`` (a :class:`SanxianWarning`, and the weather source is marked);
* **a user weather file** — EPW, TMY3, PVGIS TMY or a CSV with a ``ghi`` column (plus optionally
  ``dni``, ``dhi``, ``temp_air``, ``wind_speed``), read with :mod:`pvlib.iotools`.

The sun's position is NREL's SPA (pvlib), at the site's altitude for the default reference year (the
clear sky and the planes see the same sun) and at sea-level pressure for a weather file.
The PV chain is PVWatts v5: Hay-Davies transposition, physical IAM on beam, SAPM cell temperature,
``pvwatts_dc`` with the 14.08 % loss stack, PVWatts inverter.  Every factor lives in
``data/solar.toml`` with its source; a user TOML (or a dict) overrides any of them.

Example
-------
>>> import sanxian_yidan as sx
>>> sx.specific_yield(113.37, 31.69)                 # doctest: +SKIP
1114.9                                              # kWh/kWp/yr at the optimal fixed tilt (29.4°)

References
----------
.. [1] Ineichen, P. and Perez, R. (2002) A new airmass independent formulation for the Linke
   turbidity coefficient. Solar Energy 73(3), 151-157.
.. [2] Erbs, D.G., Klein, S.A., Duffie, J.A. (1982) Estimation of the diffuse radiation fraction for
   hourly, daily and monthly-average global radiation. Solar Energy 28(4), 293-302.
.. [3] Dobos, A.P. (2014) PVWatts Version 5 Manual. NREL/TP-6A20-62641.
.. [4] Zuo Dakang et al. (1963) 中国地区太阳总辐射的空间分布特征. 气象学报 33(1) (coefficients as
   commonly quoted; see the source string in ``data/solar.toml``).
"""

from __future__ import annotations

import logging
import operator
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from .datafiles import load_model, resolve_params
from .errors import (
    InputFileError,
    MissingFileError,
    OutsideValidityError,
    SanxianWarning,
    problem,
)
from .params import AsTuple, DataModel, Former, FormerAttributes, Source, Sourced

logger = logging.getLogger(__name__)

_DATA_FILE = "solar.toml"
_WEATHER_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")


# ------------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------------
#: What the default climatology does for a site outside its validity region.
OUTSIDE_POLICIES = ("error", "warn")
_Monthly = Annotated[tuple[float, ...], AsTuple]


class _Site(Sourced):
    timezone: str
    reference_year: int


class _ClearSky(Sourced):
    model: Literal["ineichen", "haurwitz", "simplified_solis"]


class _Validity(Sourced):
    place: str = Field(min_length=1)
    west: float
    south: float
    east: float
    north: float
    margin_km: float = Field(ge=0, le=2000)
    outside: Literal["error", "warn"] = "error"

    @model_validator(mode="after")
    def _box(self) -> _Validity:
        if not (-180 <= self.west < self.east <= 180 and -90 <= self.south < self.north <= 90):
            raise ValueError(f"needs -180 <= west < east <= 180 and -90 <= south < north <= 90, got west={self.west}, "
                             f"south={self.south}, east={self.east}, north={self.north} (经纬度范围无效)")
        return self


class _Coefficients(Sourced):
    a: float = Field(ge=0, le=1)
    b: float

    @model_validator(mode="after")
    def _sum(self) -> _Coefficients:
        if not 0 < self.a + self.b <= 1.2:
            raise ValueError(f"needs 0 < a + b <= 1.2, got a + b = {self.a + self.b} (系数之和无效)")
        return self


class _Climatology(Sourced):
    annual_sunshine_h: float = Field(gt=0, lt=4500)
    annual_sunshine_h_range: Annotated[tuple[float, float], AsTuple] | None = None
    monthly_sunshine_h: Annotated[tuple[Annotated[float, Field(ge=0, le=450)], ...], AsTuple]
    monthly_ghi_kwh_m2: Annotated[tuple[Annotated[float, Field(ge=0, le=350)], ...], AsTuple]
    validity: _Validity
    coefficients: _Coefficients

    @model_validator(mode="after")
    def _twelve(self) -> _Climatology:
        for key in ("monthly_sunshine_h", "monthly_ghi_kwh_m2"):
            if len(getattr(self, key)) not in (0, 12):
                raise ValueError(f"'{key}' must list 12 monthly values (or none), got {len(getattr(self, key))} "
                                 "(需要 12 个月的数值)")
        return self


class _AirTemperature(Sourced):
    monthly_mean_c: _Monthly = Field(min_length=12, max_length=12)
    wind_speed_m_s: float = Field(ge=0)


class _Performance(Sourced):
    system_losses_pct: float = Field(ge=0, lt=100)
    inverter_efficiency: float = Field(gt=0, le=1)
    dc_ac_ratio: float = Field(ge=0.5, le=3)
    gamma_pdc_per_c: float = Field(gt=-0.02, le=0)
    albedo: float = Field(ge=0, le=1)
    transposition_model: Literal["isotropic", "haydavies", "reindl", "klucher"]
    temperature_model: str

    @field_validator("temperature_model")
    @classmethod
    def _sapm(cls, value: str) -> str:
        from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS

        if value not in TEMPERATURE_MODEL_PARAMETERS["sapm"]:
            raise ValueError(f"must be one of {', '.join(TEMPERATURE_MODEL_PARAMETERS['sapm'])}, got {value!r} "
                             "(温度模型无效)")
        return value


class _OptimalTilt(Sourced):
    min_deg: float = Field(ge=0)
    max_deg: float = Field(le=90)
    step_deg: float = Field(gt=0, le=10)
    tolerance_deg: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> _OptimalTilt:
        if not self.min_deg < self.max_deg:
            raise ValueError(f"needs min_deg < max_deg, got {self.min_deg} and {self.max_deg} (倾角范围无效)")
        return self


class _Weather(Sourced):
    far_warning_km: float = Field(gt=0, le=20_000)


class _Reference(DataModel):
    """Published figures the tests compare against (not used in any computation)."""

    ghi_kwh_m2: Annotated[tuple[float, float], AsTuple]
    ghi_place: str
    ghi_source: Source
    optimal_tilt_deg: Annotated[tuple[float, float], AsTuple]
    optimal_tilt_source: Source
    yield_kwh_kwp: float
    yield_place: str
    yield_basis: str
    yield_source: Source


#: The tables whose sources the former ``SolarParams.sources`` listed, in its order.
_SOURCED_TABLES = ("site", "clear_sky", "climatology", "air_temperature", "performance", "optimal_tilt", "weather",
                   "climatology.coefficients", "climatology.validity")


class SolarFile(FormerAttributes, Sourced):
    """The structure of ``data/solar.toml``: the validated settings (see that file for every source).

    Frozen and hashable, so that the expensive clear-sky year is computed once per
    (site, parameters) and cached.
    """

    what: ClassVar[str] = "光伏资源 / solar"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "timezone": "site.timezone",
        "reference_year": "site.reference_year",
        "clear_sky_model": "clear_sky.model",
        "annual_sunshine_h": "climatology.annual_sunshine_h",
        "monthly_sunshine_h": "climatology.monthly_sunshine_h",
        "monthly_ghi_kwh_m2": "climatology.monthly_ghi_kwh_m2",
        "ap_a": "climatology.coefficients.a",
        "ap_b": "climatology.coefficients.b",
        "monthly_air_temp_c": "air_temperature.monthly_mean_c",
        "wind_speed_m_s": "air_temperature.wind_speed_m_s",
        "system_losses_pct": "performance.system_losses_pct",
        "inverter_efficiency": "performance.inverter_efficiency",
        "dc_ac_ratio": "performance.dc_ac_ratio",
        "gamma_pdc_per_c": "performance.gamma_pdc_per_c",
        "albedo": "performance.albedo",
        "transposition_model": "performance.transposition_model",
        "temperature_model": "performance.temperature_model",
        "tilt_min_deg": "optimal_tilt.min_deg",
        "tilt_max_deg": "optimal_tilt.max_deg",
        "tilt_step_deg": "optimal_tilt.step_deg",
        "tilt_tolerance_deg": "optimal_tilt.tolerance_deg",
        "far_weather_km": "weather.far_warning_km",
        "validity_place": "climatology.validity.place",
        "validity_bbox": ("climatology.validity.west/.south/.east/.north",
                          lambda p: tuple(getattr(p.climatology.validity, k) for k in ("west", "south", "east", "north"))),
        "validity_margin_km": "climatology.validity.margin_km",
        "validity_outside": "climatology.validity.outside",
        "sources": ("<table>.source", lambda p: tuple((t, operator.attrgetter(t)(p).source) for t in _SOURCED_TABLES)),
        "file": "loaded_from",
    }
    site: _Site
    clear_sky: _ClearSky
    climatology: _Climatology
    air_temperature: _AirTemperature
    performance: _Performance
    optimal_tilt: _OptimalTilt
    weather: _Weather
    reference: _Reference


#: The settings of ``data/solar.toml`` under the name the analyses take them by.
SolarParams = SolarFile


def load_params(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> SolarParams:
    """Load ``data/solar.toml``, optionally overridden by a user TOML and/or a dict.

    Parameters
    ----------
    path : str or Path, optional
        User TOML with the same tables as ``data/solar.toml``; only the keys given replace the
        packaged values (e.g. ``[climatology] monthly_sunshine_h = [...]``).
    overrides : mapping, optional
        Same structure as the TOML, applied last.

    Raises
    ------
    DataFileError
        Listing every problem found (unknown or missing keys, wrong types, out-of-range values).
    """
    return load_model(SolarFile, _DATA_FILE, path, overrides)


@lru_cache(maxsize=1)
def default_params() -> SolarParams:
    """The packaged settings (parsed once)."""
    return load_params()


def _resolve_params(params: SolarParams | str | Path | Mapping[str, Any] | None) -> SolarParams:
    return resolve_params(params, SolarParams, load_params, default_params)


# ------------------------------------------------------------------------------------------------
# weather
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Weather:
    """One year (or more) of irradiance and temperature at a site, with its provenance.

    Attributes
    ----------
    data : pandas.DataFrame
        Tz-aware index; columns ``ghi``, ``dni``, ``dhi`` [W/m^2], ``temp_air`` [degC],
        ``wind_speed`` [m/s].
    lat, lon : float or None
        Location stated by the file (None if it has none).
    source : str
        Where the data came from (file name, or the default climatology and its sources).
    solar_position : pandas.DataFrame or None
        The sun's ``apparent_zenith`` and ``azimuth`` [deg] at ``lat``/``lon`` for every time step, when the
        data were built from them (the default climatology, at the site's altitude): the plane computations
        at that site use the same sun instead of computing it again.
    """

    data: pd.DataFrame = field(compare=False)
    lat: float | None
    lon: float | None
    source: str
    key: str = ""
    solar_position: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def step_hours(self) -> float:
        """Time step of the series [h]."""
        idx = self.data.index
        return float(np.median(np.diff(idx.asi8)) / 3.6e12) if len(idx) > 1 else 1.0

    @property
    def years(self) -> float:
        """Length of the series in years (8,760 h = 1)."""
        return len(self.data) * self.step_hours / 8760.0


def read_weather(path: str | Path, *, timezone: str | None = None) -> Weather:
    """Read a weather file with :mod:`pvlib.iotools`.

    Parameters
    ----------
    path : str or Path
        ``.epw`` (EnergyPlus), TMY3 ``.csv`` (first line holds station metadata), PVGIS TMY
        (``.json``/``.csv``/``.epw`` from PVGIS), or any ``.csv`` with a time column
        (``time``/``timestamp``/``datetime``/``date``) and at least ``ghi`` [W/m^2].
    timezone : str, optional
        Time zone of naive timestamps in a plain CSV (default ``Asia/Shanghai``).

    Raises
    ------
    MissingFileError, InputFileError
        The file is missing, cannot be parsed or lacks GHI.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(problem("气象数据文件不存在。", "Weather file not found.", file=path,
                                       fix="give the path of an EPW, TMY3 or CSV file"))
    from .io.safety import check_input_file

    check_input_file(path, what="weather file")  # no folder, named pipe, device or empty file
    import pvlib

    meta: Any = {}  # the file's metadata, where it states the station's latitude and longitude
    suffix = path.suffix.lower()
    try:
        if suffix == ".epw":
            data, meta = pvlib.iotools.read_epw(path)
        elif suffix == ".json" or _looks_like_pvgis(path):
            out = pvlib.iotools.read_pvgis_tmy(path, map_variables=True)
            data, meta = out[0], out[-1]
            inputs = meta.get("inputs", meta) if isinstance(meta, dict) else {}
            meta = inputs.get("location", inputs) if isinstance(inputs, dict) else {}
        elif suffix == ".csv" and _looks_like_tmy3(path):
            data, meta = pvlib.iotools.read_tmy3(path, coerce_year=default_params().site.reference_year,
                                                 map_variables=True)
        else:
            data = _read_plain_csv(path, timezone or default_params().site.timezone)
        lat, lon = meta.get("latitude"), meta.get("longitude")
    except (InputFileError, MissingFileError):
        raise
    except Exception as exc:  # pvlib raises ValueError/KeyError/IndexError on malformed files
        raise InputFileError(problem("无法读取气象数据文件。", f"Cannot read the weather file: {exc}", file=path,
                                     fix="use an EPW, TMY3, PVGIS TMY or a CSV with columns time, ghi "
                                         "(optional dni, dhi, temp_air, wind_speed)")) from exc
    data = _complete_weather(data, path)
    return Weather(data=data, lat=None if lat is None else float(lat), lon=None if lon is None else float(lon),
                   source=f"weather file {path.name}", key=f"file:{path.resolve()}:{path.stat().st_mtime_ns}")


def _looks_like_tmy3(path: Path) -> bool:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    parts = first.split(",")
    return len(parts) >= 7 and parts[0].strip().isdigit() and not any(c.isalpha() for c in parts[0])


def _looks_like_pvgis(path: Path) -> bool:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        head = fh.read(400)
    return "Latitude (decimal degrees)" in head or "PVGIS" in head


def _read_plain_csv(path: Path, timezone: str) -> pd.DataFrame:
    from .io.encoding import detect_bytes_encoding

    frame = pd.read_csv(path, encoding=detect_bytes_encoding(path.read_bytes()[:200_000], file=path).encoding)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    time_col = next((c for c in ("time", "timestamp", "datetime", "date", "时间") if c in frame.columns), None)
    if time_col is None or "ghi" not in frame.columns:
        raise InputFileError(problem(
            "气象 CSV 需要时间列和 ghi 列。",
            f"The CSV needs a time column (time/timestamp/datetime) and 'ghi'; columns found: {list(frame.columns)}.",
            file=path, fix="rename the columns to time, ghi (W/m2) and optionally dni, dhi, temp_air, wind_speed"))
    index = pd.DatetimeIndex(pd.to_datetime(frame[time_col], errors="coerce"))
    if index.isna().any():
        bad = int(np.flatnonzero(index.isna())[0]) + 2
        raise InputFileError(problem("时间列有无法解析的值。", f"Unparseable time value on line {bad}.",
                                     file=path, fix="use ISO timestamps such as 2021-06-01 12:30"))
    if index.tz is None:
        index = index.tz_localize(timezone)
    return frame.drop(columns=[time_col]).set_index(index)


def _complete_weather(data: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """Keep the standard columns; derive beam and diffuse from GHI (Erbs) where the file lacks them."""
    if "ghi" not in data.columns:
        raise InputFileError(problem("气象数据缺少 GHI。", "The weather data has no 'ghi' column.", file=path,
                                     fix="provide global horizontal irradiance in W/m2"))
    data = data.sort_index()
    out = pd.DataFrame(index=data.index)
    for col in _WEATHER_COLUMNS:
        if col in data.columns:
            out[col] = pd.to_numeric(data[col], errors="coerce").astype(float)
    out["ghi"] = out["ghi"].fillna(0.0).clip(lower=0.0)
    if "dni" not in out or "dhi" not in out:
        # GHI only: beam and diffuse are derived later with the Erbs correlation at the site (see _sky).
        out.attrs["needs_split"] = True
    out.attrs["source_columns"] = [c for c in _WEATHER_COLUMNS if c in data.columns]
    for col in ("temp_air", "wind_speed"):
        if col not in out:
            out[col] = np.nan
    return out


def distance_outside_climatology_km(lon: float, lat: float,
                                    params: SolarParams | str | Path | Mapping[str, Any] | None = None) -> float:
    """Distance from a site to the validity region of the default climatology [km] (0 inside it).

    The region is the ``[climatology.validity]`` box of ``data/solar.toml`` (the place whose
    sunshine and temperature the default climatology holds); the distance is the WGS84 geodesic
    distance to the nearest point of the box.

    Parameters
    ----------
    lon, lat : float
        Site in decimal degrees.
    params : SolarParams, path or mapping, optional
        Settings overriding ``data/solar.toml``.

    Returns
    -------
    float
        0.0 inside the box, else the distance to it [km].
    """
    v = _resolve_params(params).climatology.validity
    near_lon = min(max(float(lon), v.west), v.east)
    near_lat = min(max(float(lat), v.south), v.north)
    if near_lon == float(lon) and near_lat == float(lat):
        return 0.0
    return _distance_km(float(lon), float(lat), near_lon, near_lat)


def _climatology_weather(lon: float, lat: float, params: SolarParams) -> Weather:
    """The default climatology at a site, refused (or, if the settings opt in, marked) outside its region."""
    km = distance_outside_climatology_km(lon, lat, params)
    v = params.climatology.validity
    outside = km > v.margin_km
    if outside:
        where = f"{v.place} ({v.west:g}-{v.east:g} E, {v.south:g}-{v.north:g} N, +{v.margin_km:g} km)"
        if v.outside == "error":
            raise OutsideValidityError(problem(
                f"默认光照气候资料只代表{v.place}；场址 ({lon:.4f}, {lat:.4f}) 在其有效范围外 "
                f"{km:.0f} km，不能用它计算。",
                f"The default solar climatology describes {where} only; the site ({lon:.4f}, {lat:.4f}) lies "
                f"{km:.0f} km outside that region, so its sunshine and temperature would not be the site's.",
                feature=f"site ({lon:.4f}, {lat:.4f})",
                fix="give a weather file for the site (weather= an EPW, TMY3, PVGIS or CSV file), or a settings "
                    "TOML with the site's own [climatology] and [climatology.validity]; to compute anyway with "
                    "this climatology set [climatology.validity] outside = \"warn\" (results are marked)"))
        warnings.warn(f"site ({lon:.4f}, {lat:.4f}) is {km:.0f} km outside the region of the default climatology, "
                      f"{where}: the result uses that place's sunshine and temperature (outside = \"warn\") / "
                      f"场址超出默认气候资料有效范围，结果仅供参考", SanxianWarning, stacklevel=4)
    return _default_weather(round(float(lon), 4), round(float(lat), 4), params, outside)


@lru_cache(maxsize=32)
def _default_weather(lon: float, lat: float, params: SolarParams, outside: bool = False) -> Weather:
    """Clear-sky reference year scaled to the sunshine climatology (cached per site and settings)."""
    import pvlib

    site, clim = params.site, params.climatology
    times = pd.date_range(f"{site.reference_year}-01-01 00:30", periods=8760, freq="h", tz=site.timezone)
    loc = pvlib.location.Location(lat, lon, tz=site.timezone, altitude=float(pvlib.location.lookup_altitude(lat, lon)))
    solpos = loc.get_solarposition(times)
    clear = loc.get_clearsky(times, model=params.clear_sky.model, solar_position=solpos)
    month = times.month.to_numpy() - 1
    zenith = solpos["apparent_zenith"].to_numpy()
    factor, sunshine = _monthly_factor(clear["ghi"], lon, lat, params)
    ghi = clear["ghi"].to_numpy() * factor[month]
    if sunshine is not None:
        # Two-state sky implied by the sunshine formula: for a fraction S of the daylight the sky is
        # clear (clear-sky beam and diffuse), otherwise overcast (diffuse only).  With a + b = 1 the
        # mean is exactly H_clear*(a + b*S) and the overcast sky gives a*H_clear; the expected beam
        # is therefore S * DNI_clear, and the diffuse part is what remains of the target GHI.
        cos_z = np.clip(np.cos(np.radians(zenith)), 0.0, None)
        dni = clear["dni"].to_numpy() * sunshine[month]
        dhi = np.clip(ghi - dni * cos_z, 0.0, None)
    else:
        # Monthly GHI only: split the scaled GHI into beam and diffuse with the Erbs correlation.
        split = pvlib.irradiance.erbs(ghi, zenith, times.day_of_year.to_numpy())
        dni, dhi = np.asarray(split["dni"], float), np.asarray(split["dhi"], float)
    data = pd.DataFrame({"ghi": ghi, "dni": dni, "dhi": dhi,
                         "temp_air": np.asarray(params.air_temperature.monthly_mean_c)[month],
                         "wind_speed": params.air_temperature.wind_speed_m_s}, index=times)
    source = (f"default climatology: pvlib {params.clear_sky.model} clear sky scaled monthly by a + b*S "
              f"(a={clim.coefficients.a}, b={clim.coefficients.b}); {clim.source}; "
              f"coefficients: {clim.coefficients.source}")
    if outside:
        source = (f"OUTSIDE THE CLIMATOLOGY'S REGION 超出气候资料有效范围 ({clim.validity.place}): site "
                  f"({lon}, {lat}); " + source)
    logger.debug("default weather for (%.4f, %.4f): annual GHI %.0f kWh/m2", lon, lat, ghi.sum() / 1000)
    weather = Weather(data=data, lat=lat, lon=lon, source=source, key=f"default:{lon}:{lat}:{hash(params)}",
                      solar_position=solpos[["apparent_zenith", "azimuth"]])
    weather.data.attrs["outside_climatology"] = outside
    return weather


def _monthly_factor(clear_ghi: pd.Series, lon: float, lat: float,
                    params: SolarParams) -> tuple[np.ndarray, np.ndarray | None]:
    """Ratio of actual to clear-sky GHI per month, and the relative sunshine S per month (or None).

    Returns
    -------
    factor : ndarray, shape (12,)
        ``a + b*S`` (or monthly target GHI / clear-sky GHI when monthly GHI is given).
    sunshine : ndarray, shape (12,), or None
        Relative sunshine duration S (None when the climatology is given as monthly GHI).
    """
    clim = params.climatology
    clear_month = clear_ghi.groupby(clear_ghi.index.month).sum().to_numpy() / 1000.0  # kWh/m2
    if clim.monthly_ghi_kwh_m2:
        return np.asarray(clim.monthly_ghi_kwh_m2) / clear_month, None
    possible = _possible_sunshine_hours(lon, lat, params)
    if clim.monthly_sunshine_h:
        relative = np.asarray(clim.monthly_sunshine_h) / possible
    else:
        relative = np.full(12, clim.annual_sunshine_h / possible.sum())
    relative = np.clip(relative, 0.0, 1.0)
    return clim.coefficients.a + clim.coefficients.b * relative, relative


def _possible_sunshine_hours(lon: float, lat: float, params: SolarParams) -> np.ndarray:
    """Astronomically possible sunshine hours per month (sunrise to sunset, SPA) [h]."""
    import pvlib

    site = params.site
    days = pd.date_range(f"{site.reference_year}-01-01", periods=365, freq="D", tz=site.timezone)
    rst = pvlib.solarposition.sun_rise_set_transit_spa(days, lat, lon)
    hours = (rst["sunset"] - rst["sunrise"]).dt.total_seconds().to_numpy() / 3600.0
    return pd.Series(hours, index=days).groupby(days.month).sum().to_numpy()


def _weather_for(lon: float, lat: float, weather: Weather | str | Path | pd.DataFrame | None,
                 params: SolarParams) -> Weather:
    _check_site(lon, lat)
    if weather is None:
        return _climatology_weather(lon, lat, params)
    if isinstance(weather, (str, Path)):
        weather = read_weather(weather, timezone=params.site.timezone)
    elif isinstance(weather, pd.DataFrame):
        # No cache key: an in-memory frame may change between calls.
        weather = Weather(data=_complete_weather(weather, "<DataFrame>"), lat=None, lon=None,
                          source="weather DataFrame", key="")
    if weather.lat is not None and weather.lon is not None:
        km = _distance_km(lon, lat, weather.lon, weather.lat)
        if km > params.weather.far_warning_km:
            warnings.warn(f"{weather.source} is for ({weather.lon:.2f}, {weather.lat:.2f}), {km:.0f} km from the "
                          f"site ({lon:.2f}, {lat:.2f}) / 气象数据地点距场址较远", SanxianWarning, stacklevel=3)
    return weather


def _check_site(lon: float, lat: float) -> None:
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputFileError(problem("经纬度无效。", f"Invalid site longitude/latitude ({lon}, {lat}).",
                                     fix="give decimal degrees, e.g. lon=113.37, lat=31.69 (Suizhou)"))


def _distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]) / 1000.0


@dataclass(frozen=True)
class _Sky:
    """Weather plus the solar geometry at a site (what every plane computation shares)."""

    times: pd.DatetimeIndex
    ghi: np.ndarray
    dni: np.ndarray
    dhi: np.ndarray
    temp_air: np.ndarray
    wind: np.ndarray
    zenith: np.ndarray
    azimuth: np.ndarray
    dni_extra: np.ndarray
    airmass: np.ndarray
    step_h: float
    per_year: float
    source: str
    key: tuple[Any, ...] | None = None  # None: not cacheable (in-memory weather)
    outside_climatology: bool = False  # default climatology used outside its region (opted in with "warn")


_SKY_CACHE: dict[tuple[Any, ...], _Sky] = {}


def _sky(lon: float, lat: float, weather: Any, params: SolarParams) -> _Sky:
    wx = _weather_for(lon, lat, weather, params)
    key = (round(float(lon), 4), round(float(lat), 4), wx.key, hash(params))
    if wx.key and key in _SKY_CACHE:
        return _SKY_CACHE[key]
    import pvlib

    data = wx.data
    times = pd.DatetimeIndex(data.index)
    solpos = _solar_position(wx, times, lat, lon)
    zenith = solpos["apparent_zenith"].to_numpy()
    ghi = data["ghi"].to_numpy(float)
    if data.attrs.get("needs_split") or "dni" not in data or "dhi" not in data:
        split = pvlib.irradiance.erbs(ghi, zenith, times.day_of_year.to_numpy())
        dni, dhi = np.asarray(split["dni"], float), np.asarray(split["dhi"], float)
    else:
        dni, dhi = data["dni"].to_numpy(float), data["dhi"].to_numpy(float)
    month = times.month.to_numpy() - 1
    temp = data["temp_air"].to_numpy(float)
    temp = np.where(np.isnan(temp), np.asarray(params.air_temperature.monthly_mean_c)[month], temp)
    wind = data["wind_speed"].fillna(params.air_temperature.wind_speed_m_s).to_numpy(float)
    sky = _Sky(times=times, ghi=ghi, dni=np.nan_to_num(dni), dhi=np.nan_to_num(dhi), temp_air=temp, wind=wind,
               zenith=zenith, azimuth=solpos["azimuth"].to_numpy(),
               dni_extra=np.asarray(pvlib.irradiance.get_extra_radiation(times), float),
               airmass=np.asarray(pvlib.atmosphere.get_relative_airmass(zenith), float),
               step_h=wx.step_hours, per_year=1.0 / max(wx.years, 1e-9), source=wx.source,
               key=key if wx.key else None, outside_climatology=bool(data.attrs.get("outside_climatology", False)))
    if wx.key:
        if len(_SKY_CACHE) > 64:
            _SKY_CACHE.clear()
        _SKY_CACHE[key] = sky
    return sky


def _solar_position(wx: Weather, times: pd.DatetimeIndex, lat: float, lon: float) -> pd.DataFrame:
    """The sun's apparent zenith and azimuth [deg] at the site: the weather's own when it was built from them at
    this very site and time steps (the sky and the planes then see one sun), else computed (SPA, sea-level
    pressure)."""
    import pvlib

    own = wx.solar_position
    if own is not None and wx.lat == lat and wx.lon == lon and own.index.equals(times):
        return own
    return pvlib.solarposition.get_solarposition(times, lat, lon)


# ------------------------------------------------------------------------------------------------
# plane-of-array and yield
# ------------------------------------------------------------------------------------------------
def _plane(sky: _Sky, tilt: float | np.ndarray, azimuth: float,
           params: SolarParams) -> tuple[np.ndarray, np.ndarray]:
    """Hourly POA global and effective (IAM-corrected) irradiance [W/m^2] on one plane (or, for a column of
    tilts, one row per plane)."""
    import pvlib

    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, sky.zenith, sky.azimuth, sky.dni, sky.ghi, sky.dhi, dni_extra=sky.dni_extra,
        airmass=sky.airmass, albedo=params.performance.albedo,
        model=params.performance.transposition_model)
    direct = np.nan_to_num(np.asarray(poa["poa_direct"], float))
    diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], float))
    aoi = pvlib.irradiance.aoi(tilt, azimuth, sky.zenith, sky.azimuth)
    # Reflection losses on the beam only (PVWatts applies its IAM to beam); diffuse IAM is neglected.
    iam = np.nan_to_num(np.asarray(pvlib.iam.physical(aoi), float))
    return direct + diffuse, direct * iam + diffuse


def _ac_power(sky: _Sky, poa_global: np.ndarray, poa_eff: np.ndarray, params: SolarParams) -> np.ndarray:
    """AC power per kWp DC [W/kWp] at each time step of the plane(s) (PVWatts v5 chain: SAPM cell temperature,
    ``pvwatts_dc`` with the loss stack, PVWatts inverter)."""
    import pvlib

    perf = params.performance
    t_params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][perf.temperature_model]
    t_cell = pvlib.temperature.sapm_cell(poa_global, sky.temp_air, sky.wind, **t_params)
    pdc = pvlib.pvsystem.pvwatts_dc(poa_eff, t_cell, pdc0=1000.0, gamma_pdc=perf.gamma_pdc_per_c)
    pdc = np.asarray(pdc, float) * (1.0 - perf.system_losses_pct / 100.0)
    inverter_dc_limit = 1000.0 / perf.dc_ac_ratio / perf.inverter_efficiency
    pac = np.asarray(pvlib.inverter.pvwatts(pdc, inverter_dc_limit, eta_inv_nom=perf.inverter_efficiency), float)
    return np.clip(pac, 0.0, None)


def _yield_from_plane(sky: _Sky, poa_global: np.ndarray, poa_eff: np.ndarray, params: SolarParams) -> float:
    """Annual AC energy per kWp DC [kWh/kWp/yr] for one plane."""
    return float(_ac_power(sky, poa_global, poa_eff, params).sum() * sky.step_h / 1000.0 * sky.per_year)


def annual_ghi(lon: float, lat: float, *, weather: Weather | str | Path | pd.DataFrame | None = None,
               params: SolarParams | str | Path | Mapping[str, Any] | None = None) -> float:
    """Annual global horizontal irradiation [kWh/m^2/yr].

    Parameters
    ----------
    lon, lat : float
        Site in decimal degrees (WGS84/CGCS2000).
    weather : Weather, path or DataFrame, optional
        Weather file or data; default is the offline sunshine-scaled clear-sky climatology, which
        describes one region only (``[climatology.validity]``, Suizhou): a site outside it is refused
        unless the settings set ``outside = "warn"``.
    params : SolarParams, path, mapping, optional
        Settings overriding ``data/solar.toml``.

    Returns
    -------
    float
        Global horizontal irradiation summed over the year [kWh/m^2/yr]; a weather series
        longer or shorter than a year is scaled to one year (8,760 h).

    Raises
    ------
    InputFileError, MissingFileError
        Invalid site, a site outside the default climatology's region (without a weather file),
        or a weather file that is missing or cannot be read.
    """
    p = _resolve_params(params)
    sky = _sky(lon, lat, weather, p)
    return float(sky.ghi.sum() * sky.step_h / 1000.0 * sky.per_year)


def annual_poa_irradiation(lon: float, lat: float, tilt: float, azimuth: float, *,
                           weather: Weather | str | Path | pd.DataFrame | None = None,
                           params: SolarParams | str | Path | Mapping[str, Any] | None = None) -> float:
    """Annual plane-of-array irradiation [kWh/m^2/yr] on a fixed plane.

    Parameters
    ----------
    lon, lat : float
        Site [deg].
    tilt : float
        Plane tilt from horizontal [deg].
    azimuth : float
        Plane azimuth, clockwise from north [deg] (180 = facing south).
    weather, params
        See :func:`annual_ghi`.

    Returns
    -------
    float
        Plane-of-array global irradiation (beam + sky diffuse + ground-reflected, before
        reflection losses) summed over the year [kWh/m^2/yr], scaled to one year (8,760 h).

    Raises
    ------
    InputFileError, MissingFileError
        Tilt outside 0-90 deg, azimuth outside 0-360 deg, invalid site, unreadable weather file.
    """
    p = _resolve_params(params)
    _check_plane(tilt, azimuth)
    sky = _sky(lon, lat, weather, p)
    poa, _ = _plane(sky, float(tilt), float(azimuth), p)
    return float(poa.sum() * sky.step_h / 1000.0 * sky.per_year)


def _check_plane(tilt: float, azimuth: float) -> None:
    if not (np.isfinite(tilt) and 0 <= tilt <= 90):
        raise InputFileError(problem("倾角无效。", f"Tilt {tilt!r} is outside 0-90 degrees.",
                                     fix="give the module tilt from horizontal in degrees"))
    if not (np.isfinite(azimuth) and 0 <= azimuth <= 360):
        raise InputFileError(problem("方位角无效。", f"Azimuth {azimuth!r} is outside 0-360 degrees.",
                                     fix="give the azimuth clockwise from north (180 = south)"))


def _yield_at(sky: _Sky, tilt: float, azimuth: float, params: SolarParams) -> float:
    poa, eff = _plane(sky, tilt, azimuth, params)
    return _yield_from_plane(sky, poa, eff, params)


def optimal_tilt(lon: float, lat: float, *, azimuth: float = 180.0,
                 weather: Weather | str | Path | pd.DataFrame | None = None,
                 params: SolarParams | str | Path | Mapping[str, Any] | None = None) -> float:
    """Fixed tilt that maximises the annual specific yield [deg].

    A grid search over ``[optimal_tilt] min_deg..max_deg`` followed by a bounded scalar
    refinement to ``tolerance_deg``.

    Parameters
    ----------
    lon, lat : float
        Site [deg].
    azimuth : float, default 180
        Plane azimuth [deg], clockwise from north.
    weather, params
        See :func:`annual_ghi`.
    """
    p = _resolve_params(params)
    _check_plane(0.0, azimuth)
    sky = _sky(lon, lat, weather, p)
    return _optimal_tilt_cached(sky, float(azimuth), p)


_TILT_CACHE: dict[tuple[Any, ...], float] = {}


def _optimal_tilt_cached(sky: _Sky, azimuth: float, params: SolarParams) -> float:
    key = (sky.key, azimuth, params)
    if sky.key is not None and key in _TILT_CACHE:
        return _TILT_CACHE[key]
    from scipy.optimize import minimize_scalar

    o = params.optimal_tilt
    grid = np.arange(o.min_deg, o.max_deg + 1e-9, o.step_deg)
    best = int(np.argmax(_grid_yields(sky, grid, azimuth, params)))
    best_value = _yield_at(sky, float(grid[best]), azimuth, params)  # the best step, evaluated as before
    lo = max(o.min_deg, grid[best] - o.step_deg)
    hi = min(o.max_deg, grid[best] + o.step_deg)
    res = minimize_scalar(lambda t: -_yield_at(sky, float(t), azimuth, params), bounds=(lo, hi), method="bounded",
                          options={"xatol": o.tolerance_deg})
    tilt = float(res.x) if -res.fun >= best_value else float(grid[best])
    if sky.key is not None:
        if len(_TILT_CACHE) > 256:
            _TILT_CACHE.clear()
        _TILT_CACHE[key] = tilt
    return tilt


def _grid_yields(sky: _Sky, tilts: np.ndarray, azimuth: float, params: SolarParams) -> np.ndarray:
    """Specific yield [kWh/kWp/yr] at each tilt of a grid, all planes in one array pass.

    Only the hours with any irradiance are computed: the others give exactly 0 W on every plane.  The sums
    may differ from :func:`_yield_at` in the last bits (another summation order), so they serve to pick the
    best grid step, which is then evaluated exactly.
    """
    lit = (sky.ghi > 0) | (sky.dni > 0) | (sky.dhi > 0)
    hourly: dict[str, Any] = {f.name: v[lit] for f in fields(sky)
                              if isinstance(v := getattr(sky, f.name), (np.ndarray, pd.Index))}
    day = replace(sky, key=None, **hourly)
    poa, eff = _plane(day, np.asarray(tilts, dtype=float)[:, None], azimuth, params)  # (tilts, hours)
    return _ac_power(day, poa, eff, params).sum(axis=1) * sky.step_h / 1000.0 * sky.per_year


def specific_yield(lon: float, lat: float, tilt: float | None = None, azimuth: float = 180.0, *,
                   weather: Weather | str | Path | pd.DataFrame | None = None,
                   params: SolarParams | str | Path | Mapping[str, Any] | None = None) -> float:
    """Annual AC energy per installed DC kilowatt-peak [kWh/kWp/yr].

    Parameters
    ----------
    lon, lat : float
        Site in decimal degrees.
    tilt : float, optional
        Module tilt from horizontal [deg]; ``None`` uses the site's optimal fixed tilt for
        ``azimuth`` (see :func:`optimal_tilt`).
    azimuth : float, default 180
        Module azimuth clockwise from north [deg] (180 = south).
    weather : Weather, path or DataFrame, optional
        Weather file (EPW/TMY3/PVGIS/CSV) or data; default is the offline Suizhou climatology,
        valid only inside its ``[climatology.validity]`` region (see :func:`annual_ghi`).
    params : SolarParams, path or mapping, optional
        Overrides of ``data/solar.toml`` (losses, inverter, temperature model, climatology).

    Returns
    -------
    float
        kWh/kWp/yr (AC energy at the inverter output per kWp of modules).

    References
    ----------
    .. [1] Dobos, A.P. (2014) PVWatts Version 5 Manual. NREL/TP-6A20-62641.
    """
    p = _resolve_params(params)
    sky = _sky(lon, lat, weather, p)
    if tilt is None:
        tilt = _optimal_tilt_cached(sky, float(azimuth), p)
    _check_plane(float(tilt), float(azimuth))
    return _yield_at(sky, float(tilt), float(azimuth), p)


def yield_table(lon: float, lat: float, tilts: Sequence[float] | np.ndarray, azimuths: Sequence[float] | np.ndarray,
                *, weather: Weather | str | Path | pd.DataFrame | None = None,
                params: SolarParams | str | Path | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Specific yield and POA irradiation for each distinct (tilt, azimuth) class.

    Parameters
    ----------
    lon, lat : float
        Site [deg].
    tilts, azimuths : array-like of equal length
        Plane pairs [deg]; a NaN tilt means "optimal tilt for that azimuth".  Duplicates are
        computed once.
    weather, params
        See :func:`specific_yield`.

    Returns
    -------
    pandas.DataFrame
        One row per distinct pair, sorted, with ``tilt_class_deg`` (as given, NaN for optimal),
        ``azimuth_deg``, ``tilt_deg`` (the tilt used), ``poa_kwh_m2`` and
        ``specific_yield_kwh_kwp``.  ``attrs["sanxian"]`` holds the weather source.
    """
    p = _resolve_params(params)
    t = np.asarray(tilts, dtype=float).ravel()
    a = np.asarray(azimuths, dtype=float).ravel()
    if t.shape != a.shape:
        raise InputFileError(problem("倾角与方位角数量不一致。",
                                     f"tilts ({t.size}) and azimuths ({a.size}) must have the same length.",
                                     fix="pass one azimuth per tilt"))
    pairs = pd.DataFrame({"tilt_class_deg": t, "azimuth_deg": a}).drop_duplicates().sort_values(
        ["azimuth_deg", "tilt_class_deg"], na_position="first").reset_index(drop=True)
    sky = _sky(lon, lat, weather, p)
    used, poa_sum, yields = [], [], []
    for tilt_class, azimuth in pairs.itertuples(index=False):  # one iteration per distinct class
        tilt = _optimal_tilt_cached(sky, float(azimuth), p) if np.isnan(tilt_class) else float(tilt_class)
        _check_plane(tilt, float(azimuth))
        poa, eff = _plane(sky, tilt, float(azimuth), p)
        used.append(tilt)
        poa_sum.append(float(poa.sum() * sky.step_h / 1000.0 * sky.per_year))
        yields.append(_yield_from_plane(sky, poa, eff, p))
    out = pairs.assign(tilt_deg=used, poa_kwh_m2=poa_sum, specific_yield_kwh_kwp=yields)
    out.attrs["sanxian"] = {"weather_source": sky.source, "site": (float(lon), float(lat)), "settings": p.loaded_from,
                            "outside_climatology": sky.outside_climatology}
    logger.info("yield table: %d distinct plane classes at (%.3f, %.3f)", len(out), lon, lat)
    return out


def shade_free_gcr(latitude_deg: float, tilt_deg: float, *, declination_deg: float,
                   start_hour: float, end_hour: float) -> float:
    """Ground coverage ratio of fixed rows that do not shade each other in a daily window on the winter solstice.

    Rows face the equator at ``tilt_deg``; the row pitch ``D`` (measured along the ground, north-south)
    is the smallest that keeps the top edge of one row from shading the bottom edge of the next
    between ``start_hour`` and ``end_hour`` of true solar time on the day of declination
    ``declination_deg`` (the winter solstice):

    ``D / L = cos(tilt) + sin(tilt) * max_t( cos(gamma_s(t)) / tan(alpha_s(t)) )``,

    with ``L`` the slant length of a row, ``alpha_s`` the sun's altitude and ``gamma_s`` its azimuth
    from the equator direction; the ratio ``GCR = L / D`` does not depend on ``L``.

    Parameters
    ----------
    latitude_deg : float
        Site latitude [deg] (the southern hemisphere is mirrored).
    tilt_deg : float
        Row tilt from horizontal [deg], 0-90.
    declination_deg : float
        Solar declination on the design day [deg] (winter solstice: minus the obliquity, -23.44).
    start_hour, end_hour : float
        Shade-free window in true (apparent) solar time [h], e.g. 9 and 15.

    Returns
    -------
    float
        Ground coverage ratio (module slant length / row pitch), 0-1.

    Raises
    ------
    InputFileError
        If the sun is below the horizon at some time of the window or an input is out of range.

    References
    ----------
    .. [1] GB 50797-2012 光伏发电站设计规范: rows of a fixed array spaced so that they do not shade each other
       from 9:00 to 15:00 true solar time on the winter solstice.
    .. [2] Duffie, J.A., Beckman, W.A. (2013) Solar Engineering of Thermal Processes, 4th ed., ch. 1.6
       (altitude and azimuth from latitude, declination and hour angle) and 1.9 (row shading).
    """
    if not (np.isfinite(latitude_deg) and abs(latitude_deg) < 66.0 and np.isfinite(tilt_deg) and 0 <= tilt_deg < 90
            and 0 <= start_hour < 12 < end_hour <= 24):
        raise InputFileError(problem(
            "排间距计算参数无效。",
            f"Invalid row-spacing inputs: latitude {latitude_deg!r}, tilt {tilt_deg!r}, window {start_hour!r}-"
            f"{end_hour!r} h.", fix="give |latitude| < 66 deg, tilt 0-90 deg and a window around noon, e.g. 9-15 h"))
    phi = np.radians(abs(float(latitude_deg)))
    delta = np.radians(-abs(float(declination_deg)))
    hours = np.linspace(float(start_hour), float(end_hour), 721)          # every 30 s of the window
    omega = np.radians(15.0 * (hours - 12.0))
    sin_alt = np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.cos(omega)
    if sin_alt.min() <= 0:
        raise InputFileError(problem(
            "冬至日该时段太阳在地平线以下。",
            f"The sun is below the horizon during {start_hour}-{end_hour} h on the design day at latitude "
            f"{latitude_deg}.", fix="shorten the shade-free window"))
    alt = np.arcsin(sin_alt)
    # cosine of the sun's azimuth measured from the equator direction (south in the northern hemisphere)
    cos_az = (sin_alt * np.sin(phi) - np.sin(delta)) / (np.cos(alt) * np.cos(phi))
    shadow = np.max(np.clip(cos_az, 0.0, 1.0) / np.tan(alt))
    beta = np.radians(float(tilt_deg))
    return float(1.0 / (np.cos(beta) + np.sin(beta) * shadow))


def clear_caches() -> None:
    """Forget cached weather years and optimal tilts (e.g. after editing a weather file)."""
    _default_weather.cache_clear()
    _SKY_CACHE.clear()
    _TILT_CACHE.clear()


def describe_default(lon: float, lat: float) -> dict[str, Any]:
    """Monthly clear-sky and scaled GHI of the default climatology (for reports) [kWh/m^2]."""
    p = default_params()
    _check_site(lon, lat)
    wx = _climatology_weather(lon, lat, p)
    monthly = wx.data["ghi"].groupby(wx.data.index.month).sum() / 1000.0
    return {"monthly_ghi_kwh_m2": monthly.round(1).tolist(), "annual_ghi_kwh_m2": round(float(monthly.sum()), 1),
            "source": wx.source}


__all__ = ["SolarParams", "Weather", "annual_ghi", "annual_poa_irradiation", "clear_caches", "default_params",
           "describe_default", "distance_outside_climatology_km", "load_params", "optimal_tilt", "read_weather",
           "shade_free_gcr", "specific_yield", "yield_table"]
