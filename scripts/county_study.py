"""A county siting study written against the Python API — an example for planners who script.

It does what ``sanxian study run studies/suixian.toml`` (or ``guangshui.toml``) does, step by step,
so each step can be changed: a different rule file, other weights, another set of projects.

Usage (from the repository root)::

    python scripts/county_study.py --county 随县   --projects studies/suixian_projects.geojson   --out out/suixian
    python scripts/county_study.py --county 广水市 --projects studies/guangshui_projects.geojson --out out/guangshui

The embedded sample layers are partly SYNTHETIC: the outputs demonstrate the method only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sanxian_yidan as sx
from sanxian_yidan import brownfield, mines, rooftop
from sanxian_yidan.maps import save_map
from sanxian_yidan.report import write_screening_reports
from sanxian_yidan.resultmaps import brownfield_layers, context_layers, mine_layers, rooftop_layers, screening_layers

REPO = Path(__file__).resolve().parents[1]


def county_study(county: str, projects: Path, out: Path, *, catalog: Path = REPO / "layers" / "catalog.toml") -> dict:
    """Run screening, rooftop and brownfield ranking and mine priorities for one county; return the results."""
    out.mkdir(parents=True, exist_ok=True)
    # 1. The layer catalog, limited to the county (zoning and infrastructure stay whole).
    cat = sx.Catalog.load(catalog).restricted_to(county)

    # 2. Screen the proposed projects against the 三线一单 zoning (packaged rule set; pass rules=... for yours).
    screening = sx.screen(projects, cat)
    screening.to_json(out / "screening.json")
    screening.to_gpkg(out / "screening.gpkg")
    write_screening_reports(screening, out)
    print("verdicts:", {k: v for k, v in screening.verdict_counts().items() if v})

    # 3. Rooftop PV: technical potential and the 整县推进 policy target per township.
    roofs = sx.rooftop_potential(cat.read("building"), catalog=cat)
    rooftop.write_outputs(roofs, out)
    total = roofs.counties.iloc[-1]
    print(f"rooftops: {total['capacity_kwp'] / 1000:,.1f} MWp technical, "
          f"{total['policy_target_kwp'] / 1000:,.1f} MWp policy target")

    # 4. Brownfield PV: net developable area after hard exclusions, MCDA score, Monte Carlo p_top_k.
    sites = sx.brownfield_ranking(cat)
    brownfield.write_outputs(sites, out)
    summary = sites.totals()
    print(f"brownfields: {summary['ranked']} of {summary['sites']} ranked, {summary['ranked_capacity_mw']:,.1f} MW")

    # 5. Mine rehabilitation priorities (三区两线 visibility, recommended mode).
    mine_result = mines.run_mines(cat)
    mine_result.write(out, overwrite=True)
    print("mine modes:", mine_result.mines["mode_zh"].value_counts().to_dict())

    # 6. One offline map with every result as a layer.
    layers = (context_layers(cat) + mine_layers(mine_result) + brownfield_layers(sites) + rooftop_layers(roofs)
              + screening_layers(screening))
    m = sx.make_map(layers, offline=True, title_zh=f"{county}光伏选址（示例数据）",
                    title_en=f"{county} PV siting (sample data)", catalog=cat)
    save_map(m, out / "map.html")
    print(f"outputs in {out}")
    return {"screening": screening, "rooftops": roofs, "brownfields": sites, "mines": mine_result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--county", required=True, help="county name in the catalog, e.g. 随县 or 广水市")
    parser.add_argument("--projects", type=Path, required=True, help="proposed projects (any vector file)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--catalog", type=Path, default=REPO / "layers" / "catalog.toml")
    args = parser.parse_args()
    county_study(args.county, args.projects, args.out, catalog=args.catalog)


if __name__ == "__main__":
    main()
