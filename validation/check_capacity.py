"""Ground-mount PV power density: the row-layout geometry against pvlib, the density against cited plants.

The toolkit's default density (``cn_layout`` in ``data/brownfield.toml``) is module power per m² × the
ground coverage ratio of fixed rows that stay shade-free 9:00-15:00 true solar time on the winter
solstice (GB 50797-2012) × the share of the land under rows.  Row 1 recomputes the ground coverage ratio
from pvlib's NREL SPA sun positions (an independent solar-position algorithm, sampled each minute).
Rows 2-5 place the density among published plant figures: older or agri-PV plants near Suizhou are lower
bounds (2015 modules, hilly land, raised agri-PV rows); the US fixed-tilt median of
2019 on mostly flat land is an upper reference.  The land-use standard 《光伏发电站工程项目用地控制指标》
(自然资源部, in force 2023-08-01) could not be read, so it is not compared here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib

from sanxian_yidan.brownfield import load_params
from sanxian_yidan.datafiles import packaged
from sanxian_yidan.solar import shade_free_gcr
from validation.common import Check

M2_PER_MU = 10_000.0 / 15.0  # 1 亩 = 1/15 ha (exact, statutory)


def _pvlib_gcr(lon: float, lat: float, tilt: float, start_h: float, end_h: float) -> float:
    """GCR from pvlib SPA positions on 2021-12-21, every minute of true solar time in the window."""
    times = pd.date_range("2021-12-21 00:00", "2021-12-21 23:59", freq="1min", tz="Asia/Shanghai")
    eot = pvlib.solarposition.equation_of_time_spencer71(times.dayofyear.to_numpy())
    hour_angle = np.asarray(pvlib.solarposition.hour_angle(times, lon, eot), float)   # deg, 0 at true noon
    keep = (hour_angle >= 15.0 * (start_h - 12.0)) & (hour_angle <= 15.0 * (end_h - 12.0))
    pos = pvlib.solarposition.spa_python(times[keep], lat, lon)
    elev = np.radians(pos["elevation"].to_numpy())           # geometric, no refraction
    az_from_south = np.radians(pos["azimuth"].to_numpy() - 180.0)
    shadow = np.max(np.cos(az_from_south) / np.tan(elev))
    beta = np.radians(tilt)
    return float(1.0 / (np.cos(beta) + np.sin(beta) * shadow))


def checks() -> list[Check]:
    """GCR against pvlib SPA; default density against cited plant densities."""
    p = load_params()
    d = p.density
    layout = packaged("brownfield.toml")["capacity"]["densities"][p.capacity.default]
    lat, tilt = float(layout["latitude_deg"]), float(layout["tilt_deg"])
    start, end = float(layout["shade_free_from_h"]), float(layout["shade_free_to_h"])
    toolkit = shade_free_gcr(lat, tilt, declination_deg=float(layout["winter_declination_deg"]),
                             start_hour=start, end_hour=end)
    oracle = _pvlib_gcr(113.37, lat, tilt, start, end)
    rows = [Check(
        quantity="ground coverage ratio of shade-free fixed rows [-]",
        oracle=f"pvlib {pvlib.__version__} solarposition.spa_python (NREL SPA) every minute of "
               f"{start:g}:00-{end:g}:00 true solar time (hour angle with equation_of_time_spencer71) on 2021-12-21",
        test_set=f"Suizhou (113.37 E, {lat} N), rows at {tilt:g}° tilt facing south",
        tolerance="|Δ| ≤ 1 % (solstice declination 23.44° vs SPA's 23.43° on the day, 1-min sampling)",
        measured=f"toolkit {toolkit:.4f} vs pvlib {oracle:.4f} (Δ {toolkit / oracle - 1:+.2%})",
        passed=abs(toolkit / oracle - 1.0) <= 0.01)]

    lower = [
        ("晶泰 淅河 mountain PV phase 1 (曾都区, 2015)", 100.0, 3637 * M2_PER_MU / 1e4,
         "随州日报 report, read as reposted at eastwp.net/bidding/show.php?itemid=29188: 100 MW on 3,637 亩"),
        ("晶泰 淅河 mountain PV phase 2 (曾都区)", 100.0, 3845 * M2_PER_MU / 1e4,
         "same report: 100 MW on 3,845 亩"),
        ("安陆 巡店镇 80 MWp agri-PV (2020-21)", 80.0, 2400 * M2_PER_MU / 1e4,
         "新华网 report, read at whereislife.com/news/show.php?itemid=83415: 80 MWp, '占地面积近2400亩'"),
    ]
    for name, mw, ha, source in lower:
        density = mw / ha
        rows.append(Check(
            quantity=f"default power density vs {name} [MW/ha]",
            oracle=f"{source} → {mw:g} MW / {ha:,.0f} ha",
            test_set=f"data/brownfield.toml [capacity] default = {p.capacity.default}",
            tolerance="lower bound: default ≥ the plant (2015 modules of lower efficiency, hilly land, or raised "
                      "agri-PV rows with wide spacing need more land per MW)",
            measured=f"default {d.mw_per_ha:.3f} vs plant {density:.3f} MW/ha (×{d.mw_per_ha / density:.2f})",
            passed=d.mw_per_ha >= density))
    bolinger = 0.87
    rows.append(Check(
        quantity="default power density vs US fixed-tilt median 2019 [MW DC/ha]",
        oracle="Bolinger, M. and Bolinger, G. (2022) Land Requirements for Utility-Scale PV: An Empirical Update on "
               "Power and Energy Density, IEEE Journal of Photovoltaics: fixed-tilt median 0.35 MWdc/acre "
               "(0.87 MWdc/ha) for plants built in 2019 (as summarised by pv-magazine-usa.com, 2022-01-20)",
        test_set=f"data/brownfield.toml [capacity] default = {p.capacity.default}",
        tolerance="upper reference: default ≤ 0.87 (large, mostly flat US sites at 33-40° N need no terrain "
                  "or irregular-parcel allowance)",
        measured=f"default {d.mw_per_ha:.3f} vs {bolinger} MW/ha (×{d.mw_per_ha / bolinger:.2f}); NREL reV "
                 f"alternative {p.densities['nrel_rev'].mw_per_ha:.2f}, EPA RE-Powering "
                 f"{p.densities['epa_repowering'].mw_per_ha:.3f}",
        passed=d.mw_per_ha <= bolinger))
    return rows + _rooftop_rows()


def _rooftop_rows() -> list[Check]:
    """Pitched-roof usable share and density against NREL's rooftop studies and the 2021 pilot floor."""
    from sanxian_yidan.rooftop import load_params as rooftop_params

    rp = rooftop_params()
    pitched = rp.roof_types["pitched"]
    ref = packaged("rooftop.toml")["reference"]["pitched_usable_share"]
    lo, hi = ref["range"]
    w_per_m2 = pitched.usable_share * float(rp.kwp_per_m2(pitched, pitched.tilt_deg)) * 1000.0
    # NREL small buildings: 26 % of the roof area suitable, 731 GW on 4,920 km² of suitable area (2016-era modules)
    nrel_suitable_w_m2 = 731e9 / 4920e6
    nrel_whole_roof = 0.26 * nrel_suitable_w_m2
    module_ratio = float(rp.kwp_per_m2(pitched, pitched.tilt_deg)) * 1000.0 / nrel_suitable_w_m2
    ratio = w_per_m2 / nrel_whole_roof
    return [
        Check(quantity="usable share of pitched roofs [-]",
              oracle=ref["source"],
              test_set="data/rooftop.toml [roof_types.pitched] usable_share",
              tolerance=f"within the published range {lo}-{hi}",
              measured=f"{pitched.usable_share:.2f}",
              passed=lo <= pitched.usable_share <= hi),
        Check(quantity="capacity per m² of pitched footprint [W/m²]",
              oracle="Gagnon et al. 2016 (NREL/TP-6A20-65298) and Phillips et al. 2018, abstracts: small buildings, 26 % "
                     "of roof area suitable, 731 GW on 4,920 km² of suitable area → "
                     f"{nrel_whole_roof:.1f} W per m² of roof with 2016-era modules ({nrel_suitable_w_m2:.0f} W/m²)",
              test_set=f"usable share {pitched.usable_share} × {rp.modules.power_density_w_m2:g} W/m² modules flush at "
                       f"{pitched.tilt_deg:g}°",
              tolerance="the ratio to NREL's density may not exceed the ratio of module power per m² of footprint "
                        f"(current modules in the slope vs NREL's suitable-area density: ×{module_ratio:.2f}) by more "
                        "than 10 %",
              measured=f"{w_per_m2:.1f} vs {nrel_whole_roof:.1f} W/m² (×{ratio:.2f}; module ratio ×{module_ratio:.2f})",
              passed=ratio <= module_ratio * 1.10),
    ]
