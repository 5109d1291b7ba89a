"""GCJ-02 / BD-09 conversions (sanxian_yidan.crs.webmap) against published test vectors, and round trips.

Published vectors (numbers quoted from the projects' test files; no code taken):

* googollee/eviltransform, ``python/test.py`` (BSD-2-Clause, © 2015 Googol Lee and contributors):
  WGS84 → GCJ-02 for Shanghai, Shenzhen and Beijing, 14-16 significant digits.  Its ``TESTS_bd``
  (BD-09 → WGS84) are *not* used: the project's own ``bd2wgs`` (BD-09 formula, then one-step GCJ-02
  inverse) lands 10 m and 40 m from them, so they come from elsewhere (probably Baidu's online
  converter) and do not test the formula.
* wandergis/coordtransform, ``test/app.js`` (MIT, © 2015 wandergis): for the input (116.404, 39.915)
  the forward WGS84 → GCJ-02 and GCJ-02 → BD-09 results, and the results of its one-step
  approximate inverses GCJ-02 → WGS84 and BD-09 → GCJ-02.

Distances are geodesic on the WGS84 ellipsoid (pyproj.Geod).  The toolkit inverts both
obfuscations by iteration to 1 mm (``data/crs.toml`` ``[gcj02] iteration_tolerance_m``), so an
inverse of a published forward pair must return the published input within that, up to 1 %: the
stopping test measures the residual on a sphere of radius 6,378,137 m (up to 0.7 % shorter than the
geodesic distance on the ellipsoid) and the inverse's Jacobian is within 0.3 % of the identity (the
offsets change by a few thousandths of the distance moved).  BD-09 → WGS84 chains two inverses, so
its round trip may reach twice that.
"""

from __future__ import annotations

import numpy as np
import pyproj

import sanxian_yidan as sx
from sanxian_yidan.crs.settings import crs_settings
from sanxian_yidan.datafiles import packaged
from validation.common import Check

EVIL = "googollee/eviltransform python/test.py (BSD-2-Clause)"
WANDER = "wandergis/coordtransform test/app.js (MIT)"

# (WGS84 lon, lat) -> (GCJ-02 lon, lat), published forward results
WGS_TO_GCJ = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), EVIL + ", Shanghai"),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766), EVIL + ", Shenzhen"),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069), EVIL + ", Beijing"),
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164), WANDER + ", wgs84togcj02"),
]
# (GCJ-02 lon, lat) -> (BD-09 lon, lat)
GCJ_TO_BD = [((116.404, 39.915), (116.41036949371029, 39.92133699351021), WANDER + ", gcj02tobd09")]
# one-step approximate inverses published by wandergis for the same input (116.404, 39.915)
APPROX_GCJ_TO_WGS = ((116.404, 39.915), (116.39775550083061, 39.91359571849836))
APPROX_BD_TO_GCJ = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))

_GEOD = pyproj.Geod(ellps="WGS84")


def _dist(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _grid(west: float, south: float, east: float, north: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(west, east, n), np.linspace(south, north, n))
    return lon.ravel(), lat.ravel()


def checks() -> list[Check]:
    tol_iter = crs_settings().gcj02.iteration_tolerance_m
    tol_one = 1.01 * tol_iter            # one inverse (see the module docstring)
    tol_two = 2 * tol_one                # BD-09 -> GCJ-02 -> WGS84
    one = f"|Δ| ≤ {tol_one * 1000:g} mm (the iteration stops at a {tol_iter * 1000:g} mm residual, +1 %)"
    rows: list[Check] = []

    src = np.array([v[0] for v in WGS_TO_GCJ])
    ref = np.array([v[1] for v in WGS_TO_GCJ])
    got = np.column_stack(sx.wgs84_to_gcj02(src[:, 0], src[:, 1]))
    err = _dist(got[:, 0], got[:, 1], ref[:, 0], ref[:, 1]).max()
    rows.append(Check("WGS84 → GCJ-02 (wgs84_to_gcj02) [m]", f"{EVIL}; {WANDER}",
                      f"{len(src)} published points (Shanghai, Shenzhen, Beijing ×2)",
                      "|Δ| ≤ 1e-6 m (same closed formula: floating-point only)", f"max |Δ| = {err:.1e} m",
                      bool(err <= 1e-6)))
    back = np.column_stack(sx.gcj02_to_wgs84(ref[:, 0], ref[:, 1]))
    err = _dist(back[:, 0], back[:, 1], src[:, 0], src[:, 1]).max()
    rows.append(Check("GCJ-02 → WGS84 (gcj02_to_wgs84) [m]", f"{EVIL}; {WANDER}: the published forward pairs read "
                      "backwards", f"{len(src)} published points",
                      one, f"max |Δ| = {err * 1000:.3f} mm", bool(err <= tol_one)))

    (g_src, b_ref, _), = GCJ_TO_BD
    b_got = sx.gcj02_to_bd09(*g_src)
    err_f = float(_dist(b_got[0], b_got[1], *b_ref))
    rows.append(Check("GCJ-02 → BD-09 (gcj02_to_bd09) [m]", WANDER, "1 published point (116.404 E, 39.915 N)",
                      "|Δ| ≤ 1e-6 m (same closed formula)", f"|Δ| = {err_f:.1e} m", bool(err_f <= 1e-6)))
    g_back = sx.bd09_to_gcj02(*b_ref)
    err_b = float(_dist(g_back[0], g_back[1], *g_src))
    rows.append(Check("BD-09 → GCJ-02 (bd09_to_gcj02) [m]", WANDER + ": the published forward pair read backwards",
                      "1 published point", one, f"|Δ| = {err_b * 1000:.3f} mm", bool(err_b <= tol_one)))

    w = sx.gcj02_to_wgs84(*APPROX_GCJ_TO_WGS[0])
    g = sx.bd09_to_gcj02(*APPROX_BD_TO_GCJ[0])
    e_w = float(_dist(w[0], w[1], *APPROX_GCJ_TO_WGS[1]))
    e_g = float(_dist(g[0], g[1], *APPROX_BD_TO_GCJ[1]))
    rows.append(Check("exact inverses vs the one-step approximations in common use [m]",
                      WANDER + ": gcj02towgs84 and bd09togcj02 of (116.404, 39.915)", "2 published points",
                      "|Δ| ≤ 2 m (eviltransform's README gives 1-2 m for the one-step GCJ-02 inverse)",
                      f"GCJ-02 → WGS84 {e_w:.3f} m, BD-09 → GCJ-02 {e_g:.3f} m",
                      bool(max(e_w, e_g) <= 2.0)))

    for name, box, n in (("Suizhou (112.7-114.2 E, 31.3-32.5 N)", (112.7, 31.3, 114.2, 32.5), 60),
                         ("mainland China (75-135 E, 18-53 N)", (75.0, 18.0, 135.0, 53.0), 80)):
        lon, lat = _grid(*box, n)
        glon, glat = sx.wgs84_to_gcj02(lon, lat)
        wlon, wlat = sx.gcj02_to_wgs84(glon, glat)
        blon, blat = sx.wgs84_to_bd09(lon, lat)
        vlon, vlat = sx.bd09_to_wgs84(blon, blat)
        e_gcj = float(_dist(wlon, wlat, lon, lat).max())
        e_bd = float(_dist(vlon, vlat, lon, lat).max())
        rows.append(Check("round trip WGS84 → GCJ-02 / BD-09 → WGS84 [m]",
                          "the input itself (the forward formula is the published one, checked above)",
                          f"{n * n:,} grid points over {name}",
                          f"GCJ-02 ≤ {tol_one * 1000:g} mm, BD-09 ≤ {tol_two * 1000:g} mm (two inverses) "
                          f"(the toolkit's requirement: {packaged('crs.toml')['gcj02']['required_accuracy_m']} m)",
                          f"max |Δ| GCJ-02 {e_gcj * 1000:.3f} mm, BD-09 {e_bd * 1000:.3f} mm",
                          bool(e_gcj <= tol_one and e_bd <= tol_two)))
    return rows
