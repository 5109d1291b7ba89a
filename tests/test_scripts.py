"""The example scripts in scripts/ run and agree with the study runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_county_study_script_gives_the_hand_checked_verdicts(tmp_path: Path) -> None:
    out = tmp_path / "gs"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "county_study.py"), "--county", "广水市",
                           "--projects", str(REPO / "studies" / "guangshui_projects.geojson"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for name in ("screening.json", "screening.gpkg", "report.html", "rooftops.gpkg", "rooftops_by_township.csv",
                 "brownfields.gpkg", "mines.gpkg", "map.html"):
        assert (out / name).stat().st_size > 0, name
    verdicts = {p["id"]: p["verdict"] for p in json.loads((out / "screening.json").read_text(encoding="utf-8"))}
    # Hand-checked placements (scripts/build_study_projects.py): GS-02 lies in a level-1 drinking-water zone,
    # GS-03 is a steel expansion inside the built-up area, GS-01 is a factory inside an industrial park.
    assert verdicts["GS-02"] == "prohibited" and verdicts["GS-03"] == "prohibited"
    assert verdicts["GS-01"] == "notice"  # only the control-unit notice CU-04 applies inside the park


def test_study_projects_are_current() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "build_study_projects.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
