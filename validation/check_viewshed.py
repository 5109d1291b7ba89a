"""三区两线 viewshed (terrain.visibility_from_lines) against GRASS GIS r.viewshed and a fine line of sight.

Test set: observers on the 两线 lines of the embedded sample (its roads, railways and rivers are
synthetic, as is the DEM's detail), one per non-overlapping window so that every sight line stays
inside the DEM.  Every (observer, target cell within 1 km) pair is compared.

Conventions made equal on both sides: eye 1.2 m above the observer's cell, target 0 m above each
target cell, observer and targets at cell centres, 1,000 m reach centre to centre, curvature with
refraction k = 1/7 (r.viewshed ``-c -r refraction_coeff=0.142857``; GRASS uses the ellipsoid's radius,
the toolkit the mean radius: 0.0001 m apart at 1 km).  r.viewshed approximates the same bilinear
terrain with its sweep-line events, so it differs from an exact bilinear search where the target
clears or misses the horizon by a hair; the check separates those pairs by their *margin* (how many
metres the target clears, > 0, or misses, < 0, the steepest sight line before it, from the fine reference).
r.viewshed also ignores cells that touch a sight line only at a corner: on flat ground with two 100 m
cells diagonal to each other it sees the cells beyond the gap between their corners, where the bilinear
terrain (the mean of the four cells, 50 m) hides them; sight lines through a cell corner (offsets
``dr / g`` and ``dc / g`` both odd, ``g`` their gcd) are therefore counted apart.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine

from sanxian_yidan import mines, terrain
from sanxian_yidan.catalog import Catalog
from validation.common import Check
from validation.los_reference import PairResult, fine_line_of_sight

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CATALOG = REPO / "layers" / "catalog.toml"
SAMPLE_DEM = REPO / "layers" / "suizhou_dem.tif"
#: Observers compared (at most; one per non-overlapping window along the sample's lines).
N_OBSERVERS = 120
#: Reference sampling step [cells]: 50x finer than the toolkit's former 0.5-cell step.
FINE_STEP_CELLS = 0.01
#: Pairs whose target clears or misses the horizon by more than this [m] are "clear-cut" for GRASS:
#: the sample DEM's elevations are whole metres, so a smaller margin is below the data's precision.
CLEAR_MARGIN_M = 1.0


def half_window(dem: terrain.Dem) -> int:
    """Cells around an observer that hold every target and every patch its sight lines touch."""
    return int(terrain.default_settings().visibility.max_distance_m // dem.res[0]) + 2


@lru_cache(maxsize=2)
def _line_observers(dem_source: str, shape: tuple[int, int]) -> np.ndarray:
    dem = terrain.read_dem(dem_source)
    catalog = Catalog.load(SAMPLE_CATALOG)
    lines, _ = mines.line_features(catalog, mines.load_params().lines)
    flat = terrain.observer_cells(lines, dem, spacing_m=terrain.default_settings().visibility.spacing_m)
    return np.stack([flat // shape[1], flat % shape[1]], axis=1)


def observer_sample(dem: terrain.Dem, n: int = N_OBSERVERS) -> np.ndarray:
    """Up to ``n`` observer cells (rows, cols) on the sample's 两线 lines, deterministic.

    The DEM is tiled into blocks of ``2 w + 1`` cells (``w`` = :func:`half_window`); only blocks with
    even block row and column are used and each gives its first observer, so no two observers' windows
    overlap (GRASS patches their viewsheds into one map) and every window lies inside the DEM.
    """
    w = half_window(dem)
    size = 2 * w + 1
    rows, cols = dem.shape
    cells = _line_observers(str(dem.source), dem.shape)
    inside = (cells >= w).all(axis=1) & (cells[:, 0] < rows - w) & (cells[:, 1] < cols - w)
    cells = cells[inside]
    block = cells // size
    even = (block % 2 == 0).all(axis=1)
    cells, block = cells[even], block[even]
    _, first = np.unique(block, axis=0, return_index=True)
    cells = cells[np.sort(first)]
    if len(cells) > n:
        cells = cells[np.linspace(0, len(cells) - 1, n).round().astype(int)]
    return cells


def toolkit_pairs(dem: terrain.Dem, observers: np.ndarray, ref: PairResult, **kwargs) -> np.ndarray:
    """The toolkit's visibility of every pair in ``ref`` (one observer at a time, on a window of the DEM)."""
    w = half_window(dem)
    out = np.zeros(ref.visible.shape, dtype=bool)
    for i, (r, c) in enumerate(observers):
        transform = dem.transform @ Affine.translation(c - w, r - w)
        window = terrain.Dem(dem.elevation[r - w:r + w + 1, c - w:c + w + 1], transform, dem.crs)
        x, y = transform @ (w + 0.5, w + 0.5)
        vis = terrain.visibility_from_lines(gpd.GeoSeries([shapely.Point(x, y)], crs=dem.crs), window, **kwargs)
        mine = ref.observer == i
        out[mine] = vis[ref.row[mine] - r + w, ref.col[mine] - c + w]
    return out


def through_corner(dr: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """True where the sight line between two cell centres ``(dr, dc)`` apart passes through a cell corner."""
    g = np.maximum(np.gcd(np.abs(dr), np.abs(dc)), 1)
    return ((dr // g) % 2 == 1) & ((dc // g) % 2 == 1)


def grass_version() -> str | None:
    exe = shutil.which("grass")
    if exe is None:
        return None
    done = subprocess.run([exe, "--config", "version"], capture_output=True, text=True, timeout=60)
    return f"GRASS GIS {done.stdout.strip()}" if done.returncode == 0 else None


def grass_pairs(dem: terrain.Dem, observers: np.ndarray, ref: PairResult) -> np.ndarray:
    """GRASS r.viewshed's visibility of every pair in ``ref`` (temporary location, deleted afterwards)."""
    s = terrain.default_settings().visibility
    w = half_window(dem)
    epsg = dem.crs.to_epsg()
    with tempfile.TemporaryDirectory() as tmp:
        job = {"dem": str(Path(dem.source).resolve()), "observers": observers.tolist(), "half_window": w,
               "eye": s.eye_height_m, "target": s.target_height_m, "max_distance": s.max_distance_m,
               "refraction": s.refraction_coefficient, "flags": "bcr", "out": str(Path(tmp) / "vs.npy")}
        (Path(tmp) / "job.json").write_text(json.dumps(job), encoding="utf-8")
        subprocess.run(["grass", "--tmp-location", f"EPSG:{epsg}", "--exec", "python3",
                        str(Path(__file__).with_name("grass_viewshed.py")), str(Path(tmp) / "job.json")],
                       check=True, capture_output=True, timeout=600, cwd=tmp)
        grids = np.load(job["out"]).astype(bool)
    return grids[ref.observer, ref.row - observers[ref.observer, 0] + w, ref.col - observers[ref.observer, 1] + w]


def checks() -> list[Check]:
    s = terrain.default_settings().visibility
    dem = terrain.read_dem(SAMPLE_DEM)
    observers = observer_sample(dem)
    ref = fine_line_of_sight(dem.elevation, dem.res[0], observers, eye=s.eye_height_m, target=s.target_height_m,
                             max_distance=s.max_distance_m, step_cells=FINE_STEP_CELLS,
                             k=s.refraction_coefficient, radius=s.earth_radius_m)
    got = toolkit_pairs(dem, observers, ref)
    n = ref.visible.size
    test_set = (f"{len(observers)} observers on the sample's synthetic 两线 lines × every cell within "
                f"{s.max_distance_m:,.0f} m = {n:,} pairs, sample DEM (90 m, synthetic detail)")
    agree = (got == ref.visible).mean()
    optimistic = (got & ~ref.visible).mean()
    rows = [
        Check("viewshed: visible / hidden per (observer, target) pair [-]",
              f"independent line of sight sampled every {FINE_STEP_CELLS} cell (SciPy ndimage.map_coordinates, "
              "bilinear), validation/los_reference.py",
              test_set, "agreement ≥ 99.5 % of pairs",
              f"{100 * agree:.3f} % agree", bool(agree >= 0.995)),
        Check("viewshed: pairs seen by the toolkit but hidden in the reference (optimistic errors) [-]",
              f"same reference (every {FINE_STEP_CELLS} cell)", test_set,
              "≤ 0.05 % of pairs (the former 0.5-cell sampling: about 1.5 %)",
              f"{100 * optimistic:.4f} %", bool(optimistic <= 0.0005)),
    ]
    version = grass_version()
    oracle = f"{version or 'GRASS GIS (not installed)'} r.viewshed -b -c -r refraction_coeff=1/7, observer_elevation=" \
             f"{s.eye_height_m}, target_elevation={s.target_height_m}, max_distance={s.max_distance_m:.0f}"
    if version is None:
        missing = "GRASS not found: install the Debian package grass-core (bash scripts/setup_tests.sh)"
        rows.append(Check("viewshed vs r.viewshed [-]", oracle, test_set, "—", missing, False))
        return rows
    grass = grass_pairs(dem, observers, ref)
    corner = through_corner(ref.row - observers[ref.observer, 0], ref.col - observers[ref.observer, 1])
    clear = (np.abs(ref.margin) > CLEAR_MARGIN_M) & ~corner
    agree_clear = (got[clear] == grass[clear]).mean()
    clear_corner = (np.abs(ref.margin) > CLEAR_MARGIN_M) & corner
    agree_all = (got == grass).mean()
    rows += [
        Check("viewshed: visible / hidden per pair, clear-cut pairs [-]", oracle,
              f"{clear.sum():,} of the {n:,} pairs whose target clears or misses the horizon by more than "
              f"{CLEAR_MARGIN_M:g} m (fine reference) and whose sight line passes through no cell corner",
              "agreement ≥ 99 % (r.viewshed's sweep-line events approximate the bilinear terrain)",
              f"{100 * agree_clear:.2f} % agree (through a corner: "
              f"{100 * (got[clear_corner] == grass[clear_corner]).mean():.2f} % of {clear_corner.sum():,})",
              bool(agree_clear >= 0.99)),
        Check("viewshed: visible / hidden per pair, all pairs [-]", oracle, test_set,
              "agreement ≥ 95 % (near-tangent sight lines over flat ground differ by convention)",
              f"{100 * agree_all:.2f} % agree; r.viewshed sees {100 * (grass & ~got).mean():.2f} % more pairs, "
              f"the toolkit {100 * (got & ~grass).mean():.2f} %", bool(agree_all >= 0.95)),
    ]
    return rows
