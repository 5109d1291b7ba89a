"""A new county study needs only a study file: studies/zengdu.toml (曾都区) on the sample layers.

The counts are checked against an independent selection of the sample layers with shapely
(features intersecting the district polygon in the working CRS), not against the toolkit's region view.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import tomllib

from sanxian_yidan.study import run_study
from sanxian_yidan.studyconfig import load_study

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "zengdu.toml"
SITE_ROLES = ("mine_site", "landfill", "contaminated_site", "subsidence_area")


def _count_in_district(roles: tuple[str, ...]) -> int:
    """Sample features of ``roles`` intersecting 曾都区, read straight from the GeoPackage."""
    catalog = tomllib.loads((REPO / "layers" / "catalog.toml").read_text(encoding="utf-8"))
    crs = catalog["catalog"]["working_crs"]
    counties = gpd.read_file(REPO / "layers" / "suizhou_sample.gpkg", layer="counties").to_crs(crs)
    district = counties.loc[counties["name"] == "曾都区"].geometry.iloc[0]
    total = 0
    for layer in catalog["layers"]:
        if layer["role"] in roles:
            frame = gpd.read_file(REPO / "layers" / layer["path"], layer=layer["layer"]).to_crs(crs)
            total += int(frame.intersects(district).sum())
    return total


@pytest.fixture(scope="module")
def zengdu_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("zengdu") / "out"
    config = dataclasses.replace(load_study(STUDY), output=out)
    return out, run_study(config)


def test_the_district_study_runs_from_its_study_file_alone(zengdu_run) -> None:
    out, run = zengdu_run
    assert run.config.region == "曾都区"
    assert {p.name for p in out.iterdir()} >= {"report.html", "map.html", "manifest.json", "rooftops", "brownfields"}


def test_a_district_without_mines_skips_the_mine_analysis_with_its_reason(zengdu_run) -> None:
    _, run = zengdu_run
    assert _count_in_district(("mine_site",)) == 0
    assert "mines" not in run.results
    assert "曾都区" in run.skipped["mines"] and "mine_site" in run.skipped["mines"]


def test_brownfield_sites_are_those_of_the_district(zengdu_run) -> None:
    out, _ = zengdu_run
    table = pd.read_csv(out / "brownfields" / "brownfields.csv")
    assert len(table) == _count_in_district(SITE_ROLES) == 7
    assert set(table["县（市、区） / County"]) == {"曾都区"}
