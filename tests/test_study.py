"""Studies: a full run on the sample, determinism, skipped analyses, the CLI."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.study import OutputExistsError, run_study

REPO = Path(__file__).resolve().parents[1]
T1 = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 26, 17, 5, tzinfo=timezone.utc)


def _study(tmp_path: Path, *, catalog: Path | None = None, tables: str | None = None) -> Path:
    """A copy of studies/suixian.toml writing into tmp_path (paths made absolute)."""
    text = (REPO / "studies" / "suixian.toml").read_text(encoding="utf-8")
    text = text.replace('catalog = "../layers/catalog.toml"', f'catalog = "{(catalog or REPO / "layers" / "catalog.toml").as_posix()}"')
    text = text.replace('output = "../maps/suixian"', f'output = "{(tmp_path / "out").as_posix()}"')
    text = text.replace('projects = "suixian_projects.geojson"',
                        f'projects = "{(REPO / "studies" / "suixian_projects.geojson").as_posix()}"')
    if tables is not None:
        text = text[: text.index("[screening]")] + tables
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def suixian_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("suixian")
    steps: list[tuple[str, int, int]] = []
    run = run_study(_study(tmp), generated=T1, progress=lambda label, done, total: steps.append((label, done, total)))
    run.steps_reported = steps  # for the progress test
    return tmp, run, _digests(tmp / "out")


def test_progress_steps_run_from_zero_to_the_announced_total(suixian_run) -> None:
    steps = suixian_run[1].steps_reported
    total = steps[0][2]
    assert [d for _, d, _ in steps] == list(range(total + 1)) and {t for _, _, t in steps} == {total}
    assert [label for label, _, _ in steps][-3:] == ["map", "report", "done"]


def test_full_run_writes_every_output_and_marks_sample_data(suixian_run) -> None:
    tmp, run, digests = suixian_run
    assert run.skipped == {}
    expected = {"report.html", "map.html", "manifest.json", "screening/screening.json", "screening/screening.gpkg",
                "screening/screening.csv", "screening/report.html", "screening/report.md",
                "rooftops/rooftops.gpkg", "rooftops/rooftops_by_township.csv", "rooftops/rooftops_factors.csv", "brownfields/brownfields.gpkg",
                "brownfields/brownfields.csv", "mines/mines.gpkg", "mines/mines.csv", "mines/mines_focus_areas.csv",
                "mines/visibility.tif"}
    assert set(digests) == expected
    out = tmp / "out"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "SAMPLE DATA" in report and "示例数据" in report
    assert "SAMPLE DATA" in (out / "map.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") == 4  # verdicts, townships, brownfield MW, mine modes
    # Every screening rule appears in the sources table with its source text.
    for rule in run.results["screening"].rules.rules:
        assert rule.id in report
    # The manifest hashes match the files on disk.
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    recorded = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert {k.split("out/", 1)[1]: v for k, v in recorded.items()} == {k: v for k, v in digests.items()
                                                                        if k != "manifest.json"}
    assert manifest["created_utc"] == "2026-11-25T09:30:00+00:00"
    # The report lists the inputs with the same SHA-256 as the manifest.
    for record in manifest["inputs"]:
        assert record["sha256"] in report


def test_rerun_without_overwrite_is_refused_and_changes_nothing(suixian_run) -> None:
    tmp, _, first = suixian_run
    with pytest.raises(OutputExistsError, match="already holds"):
        run_study(_study(tmp), generated=T2)
    assert _digests(tmp / "out") == first


def test_results_are_limited_to_the_county(suixian_run) -> None:
    _, run, _ = suixian_run
    assert set(run.results["rooftops"].townships["county"]) == {"随县"}
    mines = run.results["mines"]
    assert (mines["county"] == "随县").all() and len(mines) > 0
    verdicts = dict(zip(run.results["screening"].projects["project_id"], run.results["screening"].projects["verdict"]))
    assert verdicts["SX-06"] == "outside_coverage" and verdicts["SX-02"] == "prohibited"


def test_same_inputs_same_bytes_and_only_timestamps_change(suixian_run, tmp_path: Path) -> None:
    tmp, _, first = suixian_run
    out = tmp / "out"
    run_study(_study(tmp), generated=T1, overwrite=True)
    assert _digests(out) == first
    texts = {n: (out / n).read_text(encoding="utf-8") for n in first if n.endswith((".html", ".md", ".json"))}
    gpkgs = {(n, layer): pyogrio.read_dataframe(out / n, layer=layer) for n in first if n.endswith(".gpkg")
             for layer in pyogrio.list_layers(out / n)[:, 0]}
    run_study(_study(tmp), generated=T2, overwrite=True)
    second = _digests(out)
    changed = {k for k in first if first[k] != second[k]}
    assert changed <= set(texts) | {n for n, _ in gpkgs}
    assert "map.html" not in changed and "screening/screening.json" not in changed
    stamp = re.compile(r"2026-11-2[56][T ]\d\d:\d\d(:\d\d)?(\+00:00|Z| UTC)?")
    for name, before in texts.items():
        after = (out / name).read_text(encoding="utf-8")
        if name == "manifest.json":  # it records the hashes of the timestamped files, which differ
            before, after = (json.dumps(_without_hashes_of(json.loads(t), changed), sort_keys=True)
                             for t in (before, after))
        assert stamp.sub("<t>", after) == stamp.sub("<t>", before), name
    for (name, layer), before in gpkgs.items():
        after = pyogrio.read_dataframe(out / name, layer=layer)
        if "geometry" in before.columns:
            assert list(after.geometry.to_wkb()) == list(before.geometry.to_wkb()), (name, layer)
            after, before = after.drop(columns="geometry"), before.drop(columns="geometry")
        assert after.equals(before), (name, layer)


def _without_hashes_of(manifest: dict, names: set[str]) -> dict:
    for entry in manifest["outputs"]:
        if entry["path"].split("out/", 1)[1] in names:
            entry.pop("sha256"), entry.pop("bytes")
    return manifest


def test_missing_layer_skips_the_analysis_with_a_reason(tmp_path: Path) -> None:
    catalog = (REPO / "layers" / "catalog.toml").read_text(encoding="utf-8")
    blocks = catalog.split("[[layers]]")
    kept = [b for b in blocks if 'id = "buildings"' not in b]
    text = "[[layers]]".join(kept).replace('path = "', f'path = "{(REPO / "layers").as_posix()}/')
    (tmp_path / "catalog.toml").write_text(text, encoding="utf-8")
    study = _study(tmp_path, catalog=tmp_path / "catalog.toml", tables="[rooftops]\n[mines]\n")
    run = run_study(study, generated=T1)
    assert "building" in run.skipped["rooftops"] and "not requested" in run.skipped["screening"]
    assert "mines" in run.results and "rooftops" not in run.results
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Analyses skipped" in report and "building" in report


def test_cli_refuses_an_escaping_path_with_safe_paths(tmp_path: Path) -> None:
    study = _study(tmp_path).read_text(encoding="utf-8")
    folder = tmp_path / "a" / "studies"
    folder.mkdir(parents=True)
    (folder / "s.toml").write_text(re.sub(r'output = ".*"', 'output = "../../../escape"', study), encoding="utf-8")
    result = CliRunner().invoke(app, ["study", "run", str(folder / "s.toml"), "--safe-paths"])
    assert result.exit_code == 2
    assert "leaves the project folder" in " ".join(result.output.split())
    assert not (tmp_path / "escape").exists()
