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
from sanxian_yidan.errors import OutputError
from sanxian_yidan.mcda import McdaError
from sanxian_yidan.study import OutputExistsError
from sanxian_yidan.study import run_study as _run_study

REPO = Path(__file__).resolve().parents[1]
T1 = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 26, 17, 5, tzinfo=timezone.utc)


def _study(tmp_path: Path, *, catalog: Path | None = None, tables: str | None = None,
           output: Path | None = None) -> Path:
    """A copy of studies/suixian.toml writing into tmp_path (paths made absolute)."""
    text = (REPO / "studies" / "suixian.toml").read_text(encoding="utf-8")
    catalog_path = (catalog or REPO / "layers" / "catalog.toml").as_posix()
    text = text.replace('catalog = "../layers/catalog.toml"', f'catalog = "{catalog_path}"')
    text = text.replace('output = "../maps/suixian"', f'output = "{(output or tmp_path / "out").as_posix()}"')
    text = text.replace('projects = "suixian_projects.geojson"',
                        f'projects = "{(REPO / "studies" / "suixian_projects.geojson").as_posix()}"')
    if tables is not None:
        text = text[: text.index("[screening]")] + tables
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_study(study, **kwargs):  # noqa: ANN001, ANN003, ANN201 - the test studies read the repository's layers
    """:func:`run_study` with the repository allowed (the test studies live in tmp_path and name its layers)."""
    return _run_study(study, allow_paths=[REPO], **kwargs)


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
                "rooftops/rooftops.gpkg", "rooftops/rooftops_by_township.csv", "rooftops/rooftops_factors.csv",
                "brownfields/brownfields.gpkg",
                "brownfields/brownfields.csv", "mines/mines.gpkg", "mines/mines.csv", "mines/mines_focus_areas.csv",
                "mines/visibility.tif"} | {f"screening/sheets/SX-0{i}.html" for i in range(1, 7)}
    assert set(digests) == expected
    out = tmp / "out"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "SAMPLE DATA" in report and "示例数据" in report
    assert "SAMPLE DATA" in (out / "map.html").read_text(encoding="utf-8")
    # 4 charts (verdicts, townships, brownfield MW, mine modes) + 4 maps (one per analysis)
    assert report.count("data:image/png;base64,") == 8
    assert report.count("<figure><img") == 4
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
    mines = run.results["mines"].mines
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


def test_cli_refuses_an_escaping_path_by_default(tmp_path: Path) -> None:
    study = _study(tmp_path).read_text(encoding="utf-8")
    folder = tmp_path / "a" / "studies"
    folder.mkdir(parents=True)
    (folder / "s.toml").write_text(re.sub(r'output = ".*"', 'output = "../../../escape"', study), encoding="utf-8")
    result = CliRunner().invoke(app, ["study", "run", str(folder / "s.toml"), "--allow-path", str(REPO)])
    assert result.exit_code == 2
    assert "output = '../../../escape' lies outside the folders" in " ".join(result.output.split())
    assert not (tmp_path / "escape").exists()
    old = CliRunner().invoke(app, ["study", "run", str(folder / "s.toml"), "--allow-path", str(REPO), "--safe-paths"])
    assert old.exit_code == 2 and "deprecated" in old.output and not (tmp_path / "escape").exists()


_CRITERIA = ["net_area_m2", "dist_substation_m", "slope_mean_deg", "south_share", "specific_yield_kwh_kwp",
             "dist_road_m", "dist_setback_m"]


def _inconsistent_ahp(tmp_path: Path) -> Path:
    """Brownfield parameters whose AHP matrix is circular (a > b > c > a): refused with CR >= 0.1."""
    import tomllib

    doc = tomllib.loads((REPO / "src" / "sanxian_yidan" / "data" / "brownfield.toml").read_text(encoding="utf-8"))
    order = [c["column"] for c in doc["criteria"]]
    n = len(order)
    matrix = [[1.0] * n for _ in range(n)]
    for i, j, v in ((0, 1, 9.0), (1, 2, 9.0), (0, 2, 1 / 9)):
        matrix[i][j], matrix[j][i] = v, 1 / v
    rows = ",\n".join("  [" + ", ".join(repr(v) for v in row) + "]" for row in matrix)
    path = tmp_path / "bad_ahp.toml"
    path.write_text(f'[mcda.ahp]\norder = {order!r}\nsource = "test"\nmatrix = [\n{rows}\n]\n'.replace("'", '"'),
                    encoding="utf-8")
    return path


def _failing_study(tmp_path: Path, output: Path) -> Path:
    """Screening, rooftops, then brownfields with an inconsistent AHP matrix (the third analysis fails)."""
    bad = _inconsistent_ahp(tmp_path)
    projects = (REPO / "studies" / "suixian_projects.geojson").as_posix()
    study = _study(tmp_path, tables=f'[screening]\nprojects = "{projects}"\n[rooftops]\n'
                                    f'[brownfields]\nparams = "{bad.as_posix()}"\n')
    text = study.read_text(encoding="utf-8").replace(f'output = "{(tmp_path / "out").as_posix()}"',
                                                     f'output = "{output.as_posix()}"')
    study.write_text(text, encoding="utf-8")
    return study


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_study_whose_third_analysis_fails_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "fresh" / "out"
    with pytest.raises(McdaError, match=r"consistency ratio"):
        run_study(_failing_study(tmp_path, out), generated=T1)
    assert not out.exists() and not (tmp_path / "fresh").exists()    # no screening/ or rooftops/ left behind
    assert [p.name for p in tmp_path.iterdir() if "sanxian" in p.name] == []


def test_a_failed_overwrite_run_leaves_the_previous_outputs_untouched(suixian_run, tmp_path: Path) -> None:
    tmp = suixian_run[0]
    before, first = _entries(tmp / "out"), _digests(tmp / "out")   # (earlier tests may have rerun the study)
    with pytest.raises(McdaError, match=r"consistency ratio"):
        run_study(_failing_study(tmp_path, tmp / "out"), generated=T2, overwrite=True, unsafe_paths=True)
    assert _digests(tmp / "out") == first          # neither a mix of old and new nor a partial manifest
    assert _entries(tmp / "out") == before          # no temporary folder left


def test_an_interrupted_study_leaves_no_trace(suixian_run, tmp_path: Path) -> None:
    tmp = suixian_run[0]
    first = _digests(tmp / "out")

    def interrupt(label: str, done: int, total: int) -> None:
        if label == "map":
            raise KeyboardInterrupt
    for out, overwrite in ((tmp / "out", True), (tmp_path / "new", False)):
        with pytest.raises(KeyboardInterrupt):
            run_study(_study(tmp_path, tables="[rooftops]\n", output=out), generated=T2, overwrite=overwrite,
                      progress=interrupt, unsafe_paths=True)
    assert _digests(tmp / "out") == first and ".sanxian" not in " ".join(_entries(tmp / "out"))
    assert not (tmp_path / "new").exists() and [p.name for p in tmp_path.iterdir() if "sanxian" in p.name] == []


def test_an_overwrite_run_removes_the_results_of_analyses_it_no_longer_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_study(_study(tmp_path, tables="[rooftops]\n[mines]\n"), generated=T1)
    assert {"rooftops", "mines", "manifest.json"} <= set(_entries(out))
    (out / "my_notes.txt").write_text("kept", encoding="utf-8")
    run = run_study(_study(tmp_path, tables="[rooftops]\n"), generated=T2, overwrite=True)
    assert "mines" not in _entries(out) and (out / "my_notes.txt").read_text(encoding="utf-8") == "kept"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = {o["path"].split("out/", 1)[1] for o in manifest["outputs"]}
    on_disk = {k for k in _digests(out) if k not in ("manifest.json", "my_notes.txt")}
    assert listed == on_disk and all(p.is_relative_to(out) and p.exists() for p in run.files)


@pytest.mark.parametrize("output", ["/", "{file}", "/dev/null"])
def test_an_unusable_output_folder_is_a_toolkit_error(tmp_path: Path, output: str) -> None:
    (tmp_path / "a_file.txt").write_text("x", encoding="utf-8")
    target = output.format(file=(tmp_path / "a_file.txt").as_posix())
    study = _study(tmp_path, tables="[rooftops]\n")
    study.write_text(re.sub(r'output = ".*"', f'output = "{target}"', study.read_text(encoding="utf-8")),
                     encoding="utf-8")
    res = CliRunner().invoke(app, ["study", "run", str(study), "--allow-path", str(REPO), "--unsafe-paths",
                                   "--overwrite"])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    text = " ".join(res.output.split())
    assert ("filesystem root" if output == "/" else "is a file, not a folder") in text
    assert (tmp_path / "a_file.txt").read_text(encoding="utf-8") == "x"


def test_an_unwritable_output_folder_is_a_toolkit_error(tmp_path: Path) -> None:
    study = _study(tmp_path, tables="[rooftops]\n")
    study.write_text(re.sub(r'output = ".*"', 'output = "/sys/sanxian_study_out"', study.read_text(encoding="utf-8")),
                     encoding="utf-8")
    with pytest.raises(OutputError, match=r"(?s)cannot be written.*sanxian_study_out.*Fix"):
        run_study(study, unsafe_paths=True, generated=T1)


def test_manifest_records_every_data_file_and_each_analysis_provenance(suixian_run) -> None:
    from sanxian_yidan.datafiles import packaged_path
    from sanxian_yidan.provenance import sha256_file

    tmp, run, _ = suixian_run
    manifest = json.loads((tmp / "out" / "manifest.json").read_text(encoding="utf-8"))
    files = {f["path"]: f["sha256"] for f in manifest["data_files"]}
    for name in ("roles.toml", "crs.toml", "maps.toml", "rules.toml", "rooftop.toml", "columns/screening.toml",
                 "columns/rooftop.toml"):
        assert files[f"sanxian_yidan/data/{name}"] == sha256_file(packaged_path(name)), name
    # one provenance record per analysis that ran: its layers with the catalog's synthetic flags
    assert set(manifest["analyses"]) == set(run.results)
    from sanxian_yidan.catalog import Catalog

    catalog = {e.id: e.synthetic for e in Catalog.load(REPO / "layers" / "catalog.toml").entries}
    for name, record in manifest["analyses"].items():
        assert record["layers"] and record["synthetic"] is True, name
        known = [layer for layer in record["layers"] if layer["layer_id"] in catalog]
        assert known and all(layer["synthetic"] == catalog[layer["layer_id"]] for layer in known), name
        assert all(p["key"] for p in record["parameters"]), name


def test_the_report_summary_shows_the_source_of_each_headline_figure(suixian_run) -> None:
    tmp, run, _ = suixian_run
    html = (tmp / "out" / "report.html").read_text(encoding="utf-8")
    start = html.index("摘要 / Summary")
    summary = html[start: html.index("<h2", start)]
    assert "依据 / Source" in summary
    # the avoided CO2 of the rooftops cites the ministry's 2023 grid emission factor announcement
    co2 = run.results["rooftops"].summary.set_index("label_en").loc["avoided CO₂", "source"]
    assert "2023年电力二氧化碳排放因子" in co2 and co2.split("(")[0] in summary


def test_a_registered_analysis_is_run_reported_and_written_through_the_contract_alone(tmp_path: Path,
                                                                                     monkeypatch) -> None:
    # nothing in study.py or study_report.py names an analysis: a new one brings its section and extra files
    import dataclasses

    import pandas as pd

    from sanxian_yidan import analysis as an
    from sanxian_yidan.studyconfig import load_study

    class ToyResult(an.Result):
        analysis = "toy"
        outputs = (an.OutputFile("toy.csv", "csv", ("counties",)),)

        def __init__(self, counties: pd.DataFrame) -> None:
            self.counties, self.notes, self.provenance = counties, [], an.Provenance()

        tables = property(lambda self: {"counties": self.counties})
        summary = property(lambda self: an.summary_frame([{"label_zh": "县数", "label_en": "Counties",
                                                             "value": len(self.counties), "unit": ""}]))

        def write_into(self, folder: Path) -> dict[str, Path]:
            self.counties.to_csv(folder / "toy.csv", index=False)
            return {"toy.csv": folder / "toy.csv"}

        def report_section(self, options, catalog) -> an.ReportSection:  # noqa: ANN001
            table = an.ReportTable(self.counties.to_dict("records"), (an.ReportColumn("name", header="县 / County"),),
                                   "玩具表 / Toy table")
            return an.ReportSection(tables=(table,), notes=(f"玩具注 / toy note top={options['top']}",),
                                    see_also=("见 ", "toy_extra.md", " / see it"),
                                    appendix=(dataclasses.replace(table, heading="玩具依据 / Toy sources"),))

        def write_extras(self, folder: Path, *, generated=None, catalog=None, pdf=False) -> list[Path]:  # noqa: ANN001
            (folder / "toy_extra.md").write_text(f"generated {generated.isoformat()}", encoding="utf-8")
            return [folder / "toy_extra.md"]

    an.analyses()  # the built-ins first, as in every run
    monkeypatch.setitem(an._REGISTRY, "toy", an.Analysis(
        "toy", "玩具", "Toy", lambda catalog, params=None, progress=None: ToyResult(pd.DataFrame({"name": ["甲县"]})),
        ToyResult, roles=("admin_boundary",)))
    config = load_study(_study(tmp_path, tables=""), allow_paths=[REPO])
    run = run_study(dataclasses.replace(config, analyses={"toy": {"top": 3}}), generated=T1)
    out = tmp_path / "out"
    assert run.outputs["toy"] == [out / "toy" / "toy.csv", out / "toy" / "toy_extra.md"]
    assert (out / "toy" / "toy_extra.md").read_text(encoding="utf-8") == f"generated {T1.isoformat()}"
    report = (out / "report.html").read_text(encoding="utf-8")
    for text in ("<h2>玩具 / Toy</h2>", "<h3>玩具表 / Toy table</h3>", "<td>甲县</td>", "玩具注 / toy note top=3",
                 "<a href='toy/toy_extra.md'>toy/toy_extra.md</a> / see it", "<h3>玩具依据 / Toy sources</h3>"):
        assert text in report, text
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"toy/toy.csv", "toy/toy_extra.md"} <= {o["path"].split("out/", 1)[1] for o in manifest["outputs"]}
