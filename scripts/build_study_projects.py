"""Build the hypothetical proposed projects screened by the sample studies.

Writes ``studies/suixian_projects.geojson`` and ``studies/guangshui_projects.geojson``.
Every project is HYPOTHETICAL (``synthetic = true``): each is placed on purpose
inside, beside or away from a sample layer so that the study exercises every
kind of verdict.  Placement is derived from the embedded sample layers, so the
script is deterministic and follows the layers if they are rebuilt.

Usage::

    python scripts/build_study_projects.py            # write both files
    python scripts/build_study_projects.py --check    # verify the committed files are current
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import Point

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "layers" / "suizhou_sample.gpkg"
WORKING_CRS = "EPSG:4547"
SOURCE = ("Hypothetical project placed by scripts/build_study_projects.py on the synthetic sample layers "
          "to exercise the screening; NOT a real proposal")


def _layer(name: str, county: str | None = None) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(SAMPLE, layer=name).to_crs(WORKING_CRS)
    if county is not None and "county" in gdf.columns:
        gdf = gdf[gdf["county"] == county]
    return gdf.reset_index(drop=True)


def _county(name: str) -> shapely.Geometry:
    counties = _layer("counties")
    return counties.loc[counties["name"] == name].geometry.iloc[0]


def _largest(gdf: gpd.GeoDataFrame) -> shapely.Geometry:
    return gdf.geometry.iloc[int(gdf.geometry.area.argmax())]


def _clear(sites: gpd.GeoDataFrame, avoid: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """The sites that touch none of the ``avoid`` layers (falls back to all sites)."""
    blocked = shapely.union_all([g.geometry.union_all() for g in avoid if len(g)])
    keep = sites[~sites.geometry.intersects(blocked)]
    return keep if len(keep) else sites


def _inside(geom: shapely.Geometry, radius: float) -> shapely.Geometry:
    """A disc of ``radius`` around a point well inside ``geom``."""
    core = geom.buffer(-radius)
    anchor = core if not core.is_empty else geom
    return anchor.point_on_surface().buffer(radius, quad_segs=16)


def _clear_of(county: shapely.Geometry, avoid: list[gpd.GeoDataFrame], radius: float, margin: float,
              seed_offset: float = 0.0) -> shapely.Geometry:
    """A disc inside ``county`` at least ``margin`` from every geometry in ``avoid`` (grid search)."""
    blocked = shapely.union_all([g.geometry.buffer(margin).union_all() for g in avoid if len(g)])
    free = county.buffer(-radius - 2000).difference(blocked)
    if free.is_empty:
        raise SystemExit("no free land found for a compliant project; relax the margin")
    parts = sorted(shapely.get_parts(free), key=lambda p: (-round(p.area, -4), p.centroid.x))
    return parts[0].point_on_surface().buffer(radius, quad_segs=16)


def _near_river(county: shapely.Geometry, rivers: gpd.GeoDataFrame, distance: float,
                radius: float) -> shapely.Geometry:
    """A disc whose edge is about ``distance`` from the longest river inside ``county``."""
    inside = rivers.geometry.intersection(county)
    river = inside.iloc[int(inside.length.argmax())]
    mid = river.interpolate(0.5, normalized=True)
    ahead = river.interpolate(min(river.length, river.project(mid) + 50.0))
    dx, dy = ahead.x - mid.x, ahead.y - mid.y
    norm = (dx * dx + dy * dy) ** 0.5
    offset = distance + radius
    return Point(mid.x - dy / norm * offset, mid.y + dx / norm * offset).buffer(radius, quad_segs=16)


def suixian() -> list[dict]:
    county = _county("随县")
    redline = _layer("eco_redline", "随县")
    farmland = _layer("basic_farmland", "随县")
    mines = _layer("mine_sites", "随县")
    rivers = _layer("rivers")
    protected = [redline, farmland, _layer("water_source_zones"), _layer("nature_reserves"),
                 _layer("built_up_areas"), mines, _layer("scenic_areas"), _layer("heritage_zones")]
    return [
        dict(id="SX-01", name="吴山镇废弃石材矿山光伏电站", industry="4416", project_type="pv",
             note="PV on an abandoned stone mine clear of the red line and farmland (synergy plan (十二))",
             geometry=_inside(_largest(_clear(mines[mines["cluster"].str.contains("吴山", na=False)],
                                              [redline, farmland, _layer("water_source_zones"),
                                               _layer("nature_reserves")])), 120)),
        dict(id="SX-02", name="大洪山红线内光伏项目", industry="4416", project_type="pv",
             note="inside the ecological red line", geometry=_inside(_largest(redline), 400)),
        dict(id="SX-03", name="基本农田上的农光项目", industry="4416", project_type="pv",
             note="on permanent basic farmland", geometry=_inside(_largest(farmland), 150)),
        dict(id="SX-04", name="沿河化工原料项目", industry="2614", project_type="industrial",
             note="chemical plant 500 m from a main river", geometry=_near_river(county, rivers, 500.0, 300.0)),
        dict(id="SX-05", name="水泥熟料生产线", industry="3011", project_type="industrial",
             note="两高 cement plant on open land", geometry=_clear_of(county, protected, 400.0, 1500.0)),
        dict(id="SX-06", name="县界外项目（枣阳方向）", industry="4416", project_type="pv",
             note="west of the county line, outside the catalog's coverage",
             geometry=Point(county.bounds[0] - 3000.0, county.centroid.y).buffer(500.0, quad_segs=16)),
    ]


def guangshui() -> list[dict]:
    county = _county("广水市")
    parks = _layer("industrial_parks")
    parks = parks[parks.intersects(county)]
    wsz = _layer("water_source_zones")
    wsz = wsz[wsz.intersects(county)]
    level1 = wsz[wsz["level"].astype(str).str.contains("1|一", regex=True)]
    landfill = _layer("landfills", "广水市")
    built = _layer("built_up_areas")
    built = built[built.intersects(county)]
    protected = [_layer("eco_redline"), _layer("basic_farmland"), wsz, _layer("nature_reserves"), built]
    projects = [
        dict(id="GS-01", name="广水经济开发区汽车零部件厂", industry="3670", project_type="industrial",
             note="factory inside an industrial park", geometry=_inside(_largest(parks), 200)),
        dict(id="GS-02", name="水源地一级保护区内光伏", industry="4416", project_type="pv",
             note="inside a level-1 drinking-water protection zone",
             geometry=_inside(_largest(level1 if len(level1) else wsz), 100)),
        dict(id="GS-03", name="城区炼钢扩建项目", industry="3120", project_type="industrial",
             note="steel (两高) expansion inside the built-up area", geometry=_inside(_largest(built), 250)),
        dict(id="GS-04", name="山地风电场", industry="4415", project_type="wind",
             note="wind farm on open land", geometry=_clear_of(county, protected, 600.0, 1000.0)),
    ]
    if len(landfill):
        projects.append(dict(id="GS-05", name="封场垃圾填埋场光伏", industry="4416", project_type="pv",
                             note="PV on a closed landfill (synergy plan (十二))",
                             geometry=_inside(_largest(landfill), 80)))
    return projects


def to_geojson(projects: list[dict]) -> str:
    gdf = gpd.GeoDataFrame(projects, geometry="geometry", crs=WORKING_CRS).to_crs("EPSG:4326")
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-7)
    gdf["synthetic"] = True
    gdf["source"] = SOURCE
    return gdf.to_json(drop_id=True, ensure_ascii=False, indent=1) + "\n"


def build() -> dict[Path, str]:
    """Return the file contents keyed by path."""
    return {REPO / "studies" / "suixian_projects.geojson": to_geojson(suixian()),
            REPO / "studies" / "guangshui_projects.geojson": to_geojson(guangshui())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files are current")
    args = parser.parse_args(argv)
    stale = []
    for path, text in build().items():
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)} ({len(json.loads(text)['features'])} projects)")
    if stale:
        print("stale:", *stale, sep="\n  ")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
