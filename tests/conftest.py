"""Shared fixtures: tiny hand-checkable layers written into tmp_path, and paths to shared data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE_GPKG = SHARED / "reference" / "suizhou_reference.gpkg"
SAMPLE_CATALOG = REPO / "layers" / "catalog.toml"

#: Suizhou city centre (approx., WGS84) used to place fixtures inside the study area.
SUIZHOU_LON, SUIZHOU_LAT = 113.37, 31.69


def sha256_tree(path: Path) -> dict[str, str]:
    """Hash every file in a directory (to prove inputs were not modified)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir()) if p.is_file()}


@pytest.fixture
def reference_gpkg() -> Path:
    if not REFERENCE_GPKG.exists():
        pytest.fail(f"shared reference data missing: {REFERENCE_GPKG} (CI must have ../shared beside the repo)")
    return REFERENCE_GPKG


@pytest.fixture(scope="session")
def sample_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The Suixian sample study run once per session into a tmp folder, with the PDF export (report.pdf and
    one PDF per screening sheet, printed by headless Chromium): (output folder, StudyRun)."""
    from browser_util import run_sample_study

    tmp = tmp_path_factory.mktemp("study")
    return tmp / "out", run_sample_study(tmp, pdf=True)
