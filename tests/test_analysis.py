"""The one analysis contract: every registered analysis returns a Result with the same surface.

Each analysis runs once on the sample catalog (``layers/catalog.toml``, restricted to 随县) through the
registry, the way a study runs it, and its result is checked against the contract: ``write`` produces
exactly the files it declares, the provenance lists the catalog layers it read with their synthetic flags
(checked against the catalog itself) and the data files behind it, and the summary has the summary columns.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sanxian_yidan import analysis
from sanxian_yidan.analysis import SUMMARY_COLUMNS, Result
from sanxian_yidan.catalog import Catalog

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CATALOG = REPO / "layers" / "catalog.toml"
#: The study-file options each analysis runs with here (inputs named by path are read at the boundary).
OPTIONS = {"screening": {"projects": REPO / "studies" / "suixian_projects.geojson"}}
#: Package data files behind every analysis (roles, CRS, maps, the column registry).
COMMON = {"sanxian_yidan/data/roles.toml", "sanxian_yidan/data/crs.toml", "sanxian_yidan/data/maps.toml"}


@pytest.fixture(scope="module")
def view() -> Catalog:
    return Catalog.load(SAMPLE_CATALOG).restricted_to("随县")


@pytest.fixture(scope="module")
def results(view: Catalog) -> dict[str, Result]:
    return {name: a.run_options(view, OPTIONS.get(name, {})) for name, a in analysis.analyses().items()}


def test_the_builtin_analyses_are_registered() -> None:
    assert {"screening", "rooftops"} <= set(analysis.analyses())
    with pytest.raises(Exception, match="unknown analysis 'nope'"):
        analysis.get_analysis("nope")


def test_every_analysis_returns_its_declared_result_type(results: dict[str, Result]) -> None:
    for name, result in results.items():
        declared = analysis.get_analysis(name).result_type
        assert declared is not Result and isinstance(result, declared), name
        assert result.outputs, f"{name} declares no output file"


def test_write_produces_exactly_the_declared_outputs(results: dict[str, Result], tmp_path: Path) -> None:
    for name, result in results.items():
        out = tmp_path / name
        written = result.write(out)
        declared = [o.name for o in result.outputs]
        assert sorted(written) == sorted(declared), name
        assert sorted(p.name for p in out.iterdir()) == sorted(declared), name
        assert all(p.parent == out and p.stat().st_size > 0 for p in written.values()), name


def test_write_refuses_to_replace_without_overwrite(results: dict[str, Result], tmp_path: Path) -> None:
    from sanxian_yidan.errors import OutputExistsError

    result = next(iter(results.values()))
    first = result.write(tmp_path)
    stamps = {n: p.stat().st_mtime_ns for n, p in first.items()}
    with pytest.raises(OutputExistsError):
        result.write(tmp_path)
    assert {n: p.stat().st_mtime_ns for n, p in first.items()} == stamps
    assert result.write(tmp_path, overwrite=True).keys() == first.keys()


def test_provenance_lists_the_layers_read_with_the_catalogs_synthetic_flags(
        results: dict[str, Result], view: Catalog) -> None:
    flags = {e.id: bool(e.synthetic) for e in view.entries}
    for name, result in results.items():
        layers = result.provenance.layers
        assert layers, f"{name} records no layer"
        assert {rec.layer_id: rec.synthetic for rec in layers}.items() <= flags.items(), name
        # the sample catalog's zoning is synthetic: every analysis read some of it and says so
        assert result.provenance.synthetic and result.synthetic, name
        assert set(result.provenance.synthetic_layers) == {r.layer_id for r in layers if flags[r.layer_id]}, name


def test_provenance_records_the_data_files_with_their_hashes(results: dict[str, Result]) -> None:
    from sanxian_yidan.datafiles import packaged_path
    from sanxian_yidan.provenance import sha256_file

    for name, result in results.items():
        files = result.provenance.data_files
        assert COMMON <= set(files), name
        assert any(f.startswith("sanxian_yidan/data/columns/") for f in files), name
        assert files["sanxian_yidan/data/roles.toml"] == sha256_file(packaged_path("roles.toml"))
        assert not any(Path(f).is_absolute() for f in files), name
        params = result.provenance.parameters
        assert params and all(p.key for p in params), name


def test_summary_has_the_summary_columns(results: dict[str, Result]) -> None:
    for name, result in results.items():
        summary = result.summary
        assert isinstance(summary, pd.DataFrame) and list(summary.columns) == list(SUMMARY_COLUMNS), name
        assert len(summary) and summary["label_zh"].map(bool).all() and summary["label_en"].map(bool).all(), name


def test_screening_summary_counts_match_its_tables(results: dict[str, Result]) -> None:
    result = results["screening"]
    summary = result.summary.set_index("label_en")["value"]
    assert summary["projects screened"] == len(result.tables["projects"])
    for verdict, n in result.projects["verdict"].value_counts().items():
        label = [k for k in summary.index if k.startswith(f"verdict: {verdict.replace('_', ' ')}")]
        assert len(label) == 1 and summary[label[0]] == n, verdict
    assert summary["findings"] == int((result.findings["kind"] == "finding").sum())
    assert set(result.tables) == {"projects", "overlaps", "findings", "distances", "slivers"}


def test_screening_takes_a_frame_and_the_path_wrapper_gives_the_same_result(view: Catalog) -> None:
    from sanxian_yidan.screening import read_projects, screen

    path = OPTIONS["screening"]["projects"]
    by_frame = analysis.get_analysis("screening").run(view, read_projects(path))
    by_path = screen(path, view)
    pd.testing.assert_frame_equal(by_frame.summary_table(), by_path.summary_table())
    inputs = by_frame.provenance.inputs
    assert inputs == by_path.provenance.inputs and len(inputs) == 1
    assert inputs[0].endswith("suixian_projects.geojson") and not Path(inputs[0]).is_absolute()


def test_rooftop_details_are_still_reachable_through_the_old_summary_dict_with_a_warning(
        results: dict[str, Result]) -> None:
    result = results["rooftops"]
    with pytest.warns(DeprecationWarning, match=r"details\['yield_classes'\]"):
        old = result.summary["yield_classes"]
    assert old == result.details["yield_classes"] == len(result.yield_classes)
    assert result.summary.get("no such key", "absent") == "absent"
    totals = result.summary.set_index("label_en")["value"]
    assert totals["technical potential"] == pytest.approx(result.buildings["capacity_kwp"].sum())
    assert totals["buildings included"] == int((result.buildings["excluded_reason"].astype(str) == "").sum())


def test_the_default_headline_is_the_first_summary_rows() -> None:
    from sanxian_yidan.analysis import Result, summary_frame

    class Counted(Result):
        @property
        def summary(self):  # noqa: ANN202 - a minimal result for the contract's default
            return summary_frame([{"label_en": "sites", "value": 12, "unit": ""},
                                  {"label_en": "area", "value": 1234.5, "unit": "m²"},
                                  {"label_en": "share", "value": 0.256, "unit": ""},
                                  {"label_en": "not shown", "value": 1, "unit": ""}])

    assert Counted().headline() == "sites 12, area 1,234 m², share 0.26"
