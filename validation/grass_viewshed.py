"""Run inside GRASS GIS (``grass --tmp-location EPSG:4547 --exec python3 grass_viewshed.py JOB.json``).

Imports the DEM, runs ``r.viewshed`` once per observer in a window of ``2 w + 1`` cells around it (the
region is passed to each run through ``GRASS_REGION``, so observers need not share one), patches the
boolean viewsheds (windows must not overlap) and writes them to ``out`` as an ``int8`` array of shape
``(observers, 2 w + 1, 2 w + 1)``.  Used by ``validation/check_viewshed.py``; not part of the toolkit.
"""

from __future__ import annotations

import json
import os
import sys

import grass.script as gs
import numpy as np
from grass.script import array as garray


def main(job_file: str) -> None:
    job = json.loads(open(job_file, encoding="utf-8").read())
    w = int(job["half_window"])
    size = 2 * w + 1
    gs.run_command("r.in.gdal", input=job["dem"], output="dem", quiet=True)
    gs.run_command("g.region", raster="dem")
    reg = gs.region()
    north, west, res = reg["n"], reg["w"], reg["nsres"]
    names = []
    for i, (r, c) in enumerate(job["observers"]):
        env = os.environ.copy()
        n, s = north - (r - w) * res, north - (r + w + 1) * res
        x0, x1 = west + (c - w) * res, west + (c + w + 1) * res
        env["GRASS_REGION"] = (f"proj:{reg['projection']};zone:{reg['zone']};north:{n};south:{s};east:{x1};"
                               f"west:{x0};cols:{size};rows:{size};e-w resol:{res};n-s resol:{res};top:1;bottom:0;"
                               f"cols3:{size};rows3:{size};depths:1;e-w resol3:{res};n-s resol3:{res};t-b resol:1;")
        x, y = west + (c + 0.5) * res, north - (r + 0.5) * res          # the observer cell's centre
        gs.run_command("r.viewshed", flags=job["flags"], input="dem", output=f"vs{i}", coordinates=(x, y),
                       observer_elevation=job["eye"], target_elevation=job["target"],
                       max_distance=job["max_distance"], refraction_coeff=job["refraction"],
                       overwrite=True, quiet=True, env=env)
        names.append(f"vs{i}")
    if len(names) > 1:
        gs.run_command("r.patch", input=",".join(names), output="all", quiet=True)
    else:
        gs.run_command("g.copy", raster=f"{names[0]},all", quiet=True)
    grid = garray.array("all", null=-1)
    out = np.stack([grid[r - w:r + w + 1, c - w:c + w + 1] for r, c in job["observers"]]).astype(np.int8)
    np.save(job["out"], out)


if __name__ == "__main__":
    main(sys.argv[1])
