"""Shared command-line behaviour: literal error text, -q, clean warnings, swapped coordinates."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.normalize import Repair

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def test_error_text_with_square_brackets_is_printed_literally(tmp_path: Path) -> None:
    study = tmp_path / "bad.toml"
    study.write_text('[study]\nid = "x"\n[mapp]\nzoom = 3\n', encoding="utf-8")
    res = runner.invoke(app, ["study", "run", str(study)])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "mapp: unknown key" in text       # the unknown TOML table is named
    assert "[study] id" in text and "[map] basemap" in text   # table names in the fix, not eaten as markup


def test_quiet_prints_no_tables_but_still_writes(tmp_path: Path) -> None:
    res = runner.invoke(app, ["-q", "rooftops", "sample", "--no-catalog", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == ""
    assert (tmp_path / "rooftops.gpkg").exists()
    loud = runner.invoke(app, ["rooftops", "sample", "--no-catalog", "--out", str(tmp_path), "--overwrite"])
    assert "rooftops.gpkg" in loud.output                # -q does not stick to the next run


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_warnings_are_shown_as_one_clean_line(tmp_path: Path) -> None:
    src = tmp_path / "parcels.shp"
    # no .prj; 8-digit eastings with the zone prefix 38, so the CRS is inferred (with a warning), not refused
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(38498000, 3505000, 38498100, 3505100)]).to_file(src)
    res = runner.invoke(app, ["convert", str(src), str(tmp_path / "out.gpkg")])
    assert res.exit_code == 0, res.output
    assert "警告 / warning" in res.output
    assert "SanxianWarning" not in res.output and ".py:" not in res.output


def test_swapped_longitude_and_latitude_are_refused_with_the_fix() -> None:
    res = runner.invoke(app, ["coords", "convert", "31.688", "113.3745", "--from", "gcj02", "--to", "wgs84"])
    assert res.exit_code == 2
    assert "swapped" in res.output and "sanxian coords convert 113.3745 31.688" in res.output
    ok = runner.invoke(app, ["coords", "convert", "113.3745", "31.688", "--from", "gcj02", "--to", "wgs84"])
    assert ok.exit_code == 0 and ok.output.split()[0].startswith("113.368")


def test_both_out_of_range_axes_are_reported_and_typos_only_when_plausible() -> None:
    res = runner.invoke(app, ["coords", "convert", "200", "95", "--from", "gcj02"])
    text = " ".join(res.output.split())
    assert res.exit_code == 2
    assert "Longitude 200 is outside [-180, 180]" in text and "latitude 95 is outside [-90, 90]" in text
    assert "typo" not in text                       # 20 / 9.5 is no place in China: no suggestion
    res = runner.invoke(app, ["coords", "convert", "1131", "320.8", "--from", "gcj02"])
    text = " ".join(res.output.split())
    assert res.exit_code == 2
    assert "check the longitude: 1131 may be a typo for 113.1; check the latitude: 320.8 may be a typo for 32.08" in text


@pytest.mark.parametrize("source, target, canonical", [("amap", "wgs84", ("gcj02", "wgs84")),
                                                       ("Gaode", "wgs84", ("gcj02", "wgs84")),
                                                       ("tencent", "baidu", ("gcj02", "bd09")),
                                                       ("BAIDU", "wgs84", ("bd09", "wgs84"))])
def test_web_map_names_are_aliases(source: str, target: str, canonical: tuple[str, str]) -> None:
    res = runner.invoke(app, ["coords", "convert", "113.3745", "31.688", "--from", source, "--to", target])
    ref = runner.invoke(app, ["coords", "convert", "113.3745", "31.688", "--from", canonical[0], "--to",
                              canonical[1]])
    assert res.exit_code == 0 and ref.exit_code == 0, res.output
    assert res.output.split()[:2] == ref.output.split()[:2]
    bad = runner.invoke(app, ["coords", "convert", "113.3745", "31.688", "--from", "google"])
    assert bad.exit_code == 2 and "cannot convert google" in bad.output and "(baidu)" in bad.output


def test_existing_outputs_are_listed_plainly(tmp_path: Path) -> None:
    runner.invoke(app, ["rooftops", "sample", "--no-catalog", "--out", str(tmp_path)])
    res = runner.invoke(app, ["rooftops", "sample", "--no-catalog", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "rooftops.gpkg, rooftops_by_township.csv" in res.output.replace("\n", "")
    assert "['" not in res.output


def test_repair_without_feature_ids_says_no_empty_list() -> None:
    whole = Repair("reprojected", 6, (), "EPSG:4326 → EPSG:4547")
    assert str(whole) == "reprojected: 6 feature(s) — EPSG:4326 → EPSG:4547"
    some = Repair("invalid_geometry", 3, (4, 9), "make_valid")
    assert str(some) == "invalid_geometry: 3 feature(s) [rows 4, 9 (+1 more)] — make_valid"


def test_repairs_with_row_lists_are_printed_literally(tmp_path: Path) -> None:
    from shapely.geometry import Polygon

    bow = Polygon([(498000, 3505000), (498100, 3505100), (498100, 3505000), (498000, 3505100)])
    src = tmp_path / "bow.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[bow], crs="EPSG:4547").to_file(src)
    res = runner.invoke(app, ["convert", str(src), str(tmp_path / "fixed.gpkg")])
    assert res.exit_code == 0, res.output
    assert "invalid_geometry: 1 feature(s) [rows 0]" in res.output.replace("\n", "")


def test_an_unforeseen_file_system_refusal_ends_with_a_message_not_a_traceback(monkeypatch, capsys) -> None:
    import sanxian_yidan.cli as cli

    def refuse() -> None:
        raise PermissionError(13, "Permission denied", "/srv/shared/out.gpkg")
    monkeypatch.setattr(cli, "app", refuse)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Permission denied" in err and "/srv/shared/out.gpkg" in err and "Fix" in err
