"""Hostile output places: every command refuses them with a toolkit error (exit 2, path and fix, no
traceback), writes all or nothing, and writes no CSV cell a spreadsheet would run as a formula."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.errors import OutputError, OutputExistsError
from sanxian_yidan.outputs import neutralise_csv, staged_output, write_csv

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "layers" / "catalog.toml"
PROJECTS = REPO / "studies" / "suixian_projects.geojson"
#: A folder even root cannot create: sysfs refuses new entries (PermissionError).
UNWRITABLE = Path("/sys/sanxian_test_out")


def _clean(res) -> str:  # noqa: ANN001
    """The CLI output on one line, and a check that the command ended with a message, not a traceback."""
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    return " ".join(res.output.split())


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def parcels(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "parcels.geojson"
    path.parent.mkdir()
    gpd.GeoDataFrame({"name": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1", "-2+3", "-7", "\tTab", "plain"],
                      "value": [-5, -1.5, 0, 1, 2, 3, 4]},
                     geometry=[Point(113.37 + i / 100, 31.69) for i in range(7)], crs="EPSG:4326").to_file(path)
    return path


def _commands(tmp_path: Path, out: str, parcels: Path) -> dict[str, list[str]]:
    """Every writing command with ``out`` as its output place (folder or file)."""
    return {
        "screen": ["screen", str(PROJECTS), "--catalog", str(CATALOG), "--out", out],
        "rooftops": ["rooftops", "sample", "--catalog", str(CATALOG), "--out", out],
        "brownfields": ["brownfields", "--catalog", str(CATALOG), "--out", out],
        "mines": ["mines", "--catalog", str(CATALOG), "--out", out],
        "map": ["map", str(parcels), "--no-boundaries", "--out", out],
        "convert": ["convert", str(parcels), out],
    }


@pytest.mark.parametrize("command", ["screen", "rooftops", "brownfields", "mines", "map", "convert"])
def test_an_unwritable_output_place_is_a_toolkit_error(tmp_path: Path, parcels: Path, command: str) -> None:
    out = str(UNWRITABLE / ("x.gpkg" if command == "convert" else "map.html" if command == "map" else "out"))
    res = runner.invoke(app, _commands(tmp_path, out, parcels)[command])
    text = _clean(res)
    assert res.exit_code == 2, text
    assert "cannot be written" in text and "sanxian_test_out" in text and "Fix" in text


@pytest.fixture()
def immutable_folder(tmp_path: Path):
    """A folder nobody can write into, not even root (``chattr +i``); skipped where unsupported."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)],
                                                         capture_output=True).returncode != 0:
        pytest.skip("chattr +i not supported here")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_read_only_folder_is_a_toolkit_error_and_stays_empty(tmp_path: Path, parcels: Path,
                                                                immutable_folder: Path) -> None:
    for command in ("rooftops", "map", "convert"):
        out = immutable_folder / ("x.csv" if command == "convert" else "map.html" if command == "map" else "")
        res = runner.invoke(app, _commands(tmp_path, str(out), parcels)[command])
        text = _clean(res)
        assert res.exit_code == 2 and "permission denied or read-only" in text, (command, text)
    assert list(immutable_folder.iterdir()) == []


@pytest.mark.parametrize("command", ["screen", "rooftops", "brownfields", "mines"])
@pytest.mark.parametrize("place", ["file", "/dev/null"])
def test_an_output_folder_that_is_a_file_is_a_toolkit_error(tmp_path: Path, parcels: Path, command: str,
                                                             place: str) -> None:
    existing = tmp_path / "notes.txt"
    existing.write_text("mine", encoding="utf-8")
    out = str(existing) if place == "file" else place
    res = runner.invoke(app, _commands(tmp_path, out, parcels)[command] + ["--overwrite"])
    text = _clean(res)
    assert res.exit_code == 2 and "is an existing file (or device), not a folder" in text, text
    assert existing.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("command", ["map", "convert"])
def test_a_file_output_that_is_a_device_or_a_folder_is_a_toolkit_error(tmp_path: Path, parcels: Path,
                                                                        command: str) -> None:
    import os

    fifo = tmp_path / "pipe.csv"                 # convert needs a known suffix: a named pipe instead of /dev/null
    os.mkfifo(fifo)
    device = "/dev/null" if command == "map" else str(fifo)
    res = runner.invoke(app, _commands(tmp_path, device, parcels)[command] + ["--overwrite"])
    assert res.exit_code == 2 and "device or special file" in _clean(res)
    folder = tmp_path / "result.geojson"
    folder.mkdir()
    (folder / "keep.txt").write_text("x", encoding="utf-8")
    res = runner.invoke(app, _commands(tmp_path, str(folder), parcels)[command] + ["--overwrite"])
    assert res.exit_code == 2 and "is a folder; this command writes one file" in _clean(res)
    assert (folder / "keep.txt").exists()


def test_an_output_file_replaced_by_a_folder_is_a_toolkit_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "rooftops.gpkg").mkdir(parents=True)
    res = runner.invoke(app, ["rooftops", "sample", "--no-catalog", "--out", str(out), "--overwrite"])
    text = _clean(res)
    assert res.exit_code == 2 and "rooftops.gpkg is a folder" in text, text
    assert sorted(p.name for p in out.iterdir()) == ["rooftops.gpkg"]


def test_the_input_file_is_never_the_output(tmp_path: Path, parcels: Path) -> None:
    before = parcels.read_bytes()
    res = runner.invoke(app, ["convert", str(parcels), str(parcels), "--overwrite"])
    assert res.exit_code == 2 and "input" in _clean(res)
    assert parcels.read_bytes() == before


def test_a_failed_overwrite_run_leaves_the_previous_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    first = runner.invoke(app, ["rooftops", "sample", "--no-catalog", "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = _digests(out)

    def disk_full(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)   # fails after rooftops.gpkg was written
    res = runner.invoke(app, ["rooftops", "sample", "--no-catalog", "--out", str(out), "--overwrite",
                              "--params", str(REPO / "src" / "sanxian_yidan" / "data" / "rooftop.toml")])
    text = _clean(res)
    assert res.exit_code == 2 and "disk is full" in text, text
    assert _digests(out) == before                              # no mix of new gpkg and old CSVs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


def test_staged_output_leaves_nothing_on_interrupt(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        with staged_output(out, overwrite=True, names=["a.csv", "b.csv"]) as stage:
            (stage / "a.csv").write_text("new", encoding="utf-8")
            raise KeyboardInterrupt
    assert [p.name for p in out.iterdir()] == ["a.csv"] and (out / "a.csv").read_text(encoding="utf-8") == "old"
    with pytest.raises(KeyboardInterrupt):
        with staged_output(tmp_path / "new" / "deeper", names=["a.csv"]):
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]    # parents it created are removed too


def test_staged_output_moves_the_manifest_last_and_replaces_whole_entries(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "old_only.txt").write_text("old", encoding="utf-8")
    (out / "stale.txt").write_text("old", encoding="utf-8")
    order: list[str] = []
    real_rename = os.rename
    monkeypatch.setattr(os, "rename", lambda a, b: (order.append(Path(b).name), real_rename(a, b))[1])
    with staged_output(out, overwrite=True, owned=["sub", "stale.txt", "manifest.json", "z.txt"]) as stage:
        (stage / "sub").mkdir()
        (stage / "sub" / "new.txt").write_text("new", encoding="utf-8")
        (stage / "manifest.json").write_text("{}", encoding="utf-8")
        (stage / "z.txt").write_text("z", encoding="utf-8")
    moved_in = [n for n in order if n in ("sub", "manifest.json", "z.txt")]
    assert moved_in[-1] == "manifest.json"
    assert sorted(p.name for p in out.rglob("*")) == ["manifest.json", "new.txt", "sub", "z.txt"]


def test_existing_outputs_without_overwrite_are_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="already holds a.csv"):
        with staged_output(out, names=["a.csv"]):
            raise AssertionError("the body must not run")
    with pytest.raises(OutputError, match="filesystem root"):
        with staged_output("/", overwrite=True):
            raise AssertionError("the body must not run")


# ----------------------------------------------------------------------------------------------
# CSV formula injection
# ----------------------------------------------------------------------------------------------
def test_neutralise_csv_prefixes_formula_text_only() -> None:
    frame = pd.DataFrame({"text": ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-7", "ok", None],
                          "number": [-1, -2, -3, -4, -5, -6, -7, -8, -9],
                          "cat": pd.Categorical(["=a", "b", "b", "b", "b", "b", "b", "b", "b"]),
                          "=header": range(9)})
    out = neutralise_csv(frame)
    assert list(out["text"])[:8] == ["'=1+1", "+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "-7", "ok"]
    assert pd.isna(out["text"].iloc[8])                    # a missing cell stays missing
    assert list(out["number"]) == list(range(-1, -10, -1)) and out["number"].dtype == frame["number"].dtype
    assert list(out["cat"].astype(str))[:2] == ["'=a", "b"] and list(out.columns)[-1] == "'=header"
    assert frame["text"][0] == "=1+1"                      # the caller's frame is not changed


def test_converted_csv_cells_cannot_run_as_formulas(tmp_path: Path, parcels: Path) -> None:
    target = tmp_path / "parcels.csv"
    res = runner.invoke(app, ["convert", str(parcels), str(target)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(target, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table["name"]) == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "+1", "'-2+3", "-7", "'\tTab", "plain"]
    assert list(table["value"].astype(float)) == [-5, -1.5, 0, 1, 2, 3, 4]   # negative numbers stay numbers


def test_screening_csv_neutralises_project_names(tmp_path: Path) -> None:
    projects = json.loads(PROJECTS.read_text(encoding="utf-8"))
    name_key = next(k for k in projects["features"][0]["properties"] if "name" in k.lower() or "名称" in k)
    projects["features"][0]["properties"][name_key] = "=cmd|' /C calc'!A0"
    path = tmp_path / "projects.geojson"
    path.write_text(json.dumps(projects, ensure_ascii=False), encoding="utf-8")
    res = runner.invoke(app, ["screen", str(path), "--catalog", str(CATALOG), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    raw = (tmp_path / "out" / "screening.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in raw and ",=cmd" not in raw


def test_write_csv_is_utf8_with_bom(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"名称": ["=x"]}), tmp_path / "t.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and "'=x" in path.read_text(encoding="utf-8-sig")


# ----------------------------------------------------------------------------------------------
# Counts
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("command", "value"), [("mines", "-5"), ("brownfields", "-3"), ("rooftops", "0")])
def test_a_count_below_one_is_refused(tmp_path: Path, command: str, value: str) -> None:
    args = {"mines": ["mines"], "brownfields": ["brownfields"], "rooftops": ["rooftops", "sample", "--no-catalog"]}
    res = runner.invoke(app, args[command] + ["--out", str(tmp_path / "o"), "--top", value])
    assert res.exit_code == 2 and "--top" in res.output and "greater than or equal to 1" in _clean(res)
    assert not (tmp_path / "o").exists()



def test_an_output_folder_below_a_file_is_a_toolkit_error(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_text("x", encoding="utf-8")
    res = runner.invoke(app, ["rooftops", "sample", "--no-catalog", "--out", str(tmp_path / "report.pdf" / "out")])
    text = _clean(res)
    assert res.exit_code == 2 and "is a file, not a folder" in text and "report.pdf" in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
