"""The brownfield and mine analyses through the one analysis contract (sanxian_yidan.analysis).

On the sample catalog: ``write`` produces exactly the declared files, the provenance lists the
catalog's synthetic layers with the catalog's own flags, and every summary figure equals a sum
recomputed here from the result's tables.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sanxian_yidan import analysis
from sanxian_yidan.analysis import Note
from sanxian_yidan.catalog import Catalog
from sanxian_yidan.errors import OutputExistsError, SanxianWarning

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "layers" / "catalog.toml"
DATA = REPO / "src" / "sanxian_yidan" / "data"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(SAMPLE)


@pytest.fixture(scope="module")
def brownfields(catalog):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        return analysis.get_analysis("brownfields").run(catalog)


def _value(summary: pd.DataFrame, label_en: str) -> float:
    row = summary.loc[summary["label_en"] == label_en, "value"]
    assert len(row) == 1, label_en
    return float(row.iloc[0])


def _layers_match_the_catalog(result, catalog: Catalog, expected_ids: set[str]) -> None:
    """Every catalog layer the result lists carries the catalog's synthetic flag and role."""
    entries = {e.id: e for e in catalog.entries}
    layers = {rec.layer_id: rec for rec in result.provenance.layers}
    assert expected_ids <= set(layers)
    for layer_id, rec in layers.items():
        assert layer_id in entries, layer_id
        assert rec.synthetic == entries[layer_id].synthetic and rec.role == entries[layer_id].role
    synthetic = {e.id for e in catalog.synthetic_entries()}
    assert result.provenance.synthetic_layers == sorted(set(layers) & synthetic)
    assert result.synthetic


def test_note_splits_a_bilingual_line_after_the_chinese_text():
    note = Note.from_text("无 DEM / no DEM: slope and aspect not assessed", "warning")
    assert (note.text_zh, note.text_en, note.level) == ("无 DEM", "no DEM: slope and aspect not assessed", "warning")
    closing = Note.from_text("25 个地块超出（见 reasons）/ 25 site(s) beyond")
    assert (closing.text_zh, closing.text_en) == ("25 个地块超出（见 reasons）", "25 site(s) beyond")
    assert Note.from_text("only English / here").text_en == ""      # no Chinese before the separator
    assert str(Note.from_text("a / 乙")) == "a / 乙"


def test_both_analyses_are_registered_with_their_outputs():
    from sanxian_yidan.brownfield import BrownfieldResult
    from sanxian_yidan.mines import MinesResult

    reg = analysis.analyses()
    assert reg["brownfields"].result_type is BrownfieldResult and reg["mines"].result_type is MinesResult
    assert [o.name for o in reg["brownfields"].outputs] == ["brownfields.gpkg", "brownfields.csv"]
    assert [o.name for o in reg["mines"].outputs] == ["mines.gpkg", "mines.csv", "mines_focus_areas.csv",
                                                      "visibility.tif"]
    assert (reg["mines"].title_zh, reg["brownfields"].title_en) == ("矿山生态修复优先级", "Brownfield PV ranking")
    from sanxian_yidan.brownfield import load_params

    candidates = [c.role for c in load_params().candidate_roles if c.role != "parcel"]
    assert reg["brownfields"].roles == tuple(candidates) and reg["mines"].roles == ("mine_site",)


# ---------------------------------------------------------------------------------------------
# Brownfields
# ---------------------------------------------------------------------------------------------
def test_brownfield_summary_equals_the_sums_of_its_tables(brownfields):
    sites = brownfields.tables["sites"]
    ranked = sites[sites["rank"].notna()]
    s = brownfields.summary
    assert list(s.columns) == list(analysis.SUMMARY_COLUMNS)
    assert _value(s, "Candidate sites") == len(sites) == 82
    assert _value(s, "Ranked sites") == len(ranked) > 0
    assert _value(s, "Capacity") == pytest.approx(sum(float(v) for v in sites["capacity_mw"]))
    assert _value(s, "Capacity of the ranked sites") == pytest.approx(float(np.sum(ranked["capacity_mw"].to_numpy())))
    assert _value(s, "Avoided CO₂") == pytest.approx(float(np.nansum(sites["co2_t"].to_numpy())))
    # areas: gross = net + excluded, and the excluded parts add up to the excluded area
    assert _value(s, "Gross area") == pytest.approx(_value(s, "Net developable area")
                                                    + _value(s, "Area cut away by hard exclusions"))
    by_reason = brownfields.tables["excluded_by_reason"]
    assert by_reason["excluded_area_m2"].sum() == pytest.approx(_value(s, "Area cut away by hard exclusions"))
    assert brownfields.tables["by_type"]["sites"].sum() == len(sites)
    # every figure that comes from a factor or a rule names it
    assert "MW/ha" in s.loc[s["label_en"] == "Capacity", "source"].iloc[0]
    assert (s["unit"] == "MW").sum() == 2


def test_brownfield_provenance_lists_the_synthetic_layers_with_the_catalogs_flags(brownfields, catalog):
    _layers_match_the_catalog(brownfields, catalog, {"mine_sites", "landfills", "eco_redline", "basic_farmland",
                                                     "substations", "counties"})
    assert "counties" not in brownfields.provenance.synthetic_layers     # real data stays real
    params = {p.key: p for p in brownfields.provenance.parameters}
    assert params["density.mw_per_ha"].value == pytest.approx(brownfields.params.density.mw_per_ha)
    assert params["density.mw_per_ha"].unit == "MW/ha" and params["density.mw_per_ha"].source
    weights = [v for k, v in params.items() if k.startswith("mcda.weight.")]
    assert sum(p.value for p in weights) == pytest.approx(1.0) and all(p.source for p in weights)
    files = brownfields.provenance.data_files
    assert files["sanxian_yidan/data/brownfield.toml"] == hashlib.sha256(
        (DATA / "brownfield.toml").read_bytes()).hexdigest()
    assert {"sanxian_yidan/data/roles.toml", "sanxian_yidan/data/columns/brownfield.toml"} <= set(files)
    assert any(n.level == "warning" and "synthetic sample layers" in n.text_en for n in brownfields.notes)


def test_brownfield_write_produces_exactly_the_declared_outputs(brownfields, tmp_path):
    import geopandas as gpd
    import pyogrio

    out = tmp_path / "out"
    paths = brownfields.write(out)
    declared = [o.name for o in brownfields.outputs]
    assert sorted(p.name for p in out.iterdir()) == sorted(declared) == sorted(paths)
    gpkg = next(o for o in brownfields.outputs if o.format == "gpkg")
    layers = set(pyogrio.list_layers(out / gpkg.name)[:, 0]) - {"layer_styles"}   # QGIS styles ride along
    assert layers == set(gpkg.tables) == {"sites", "excluded"}
    assert len(gpd.read_file(out / "brownfields.gpkg", layer="sites")) == len(brownfields.sites)
    with pytest.raises(OutputExistsError):
        brownfields.write(out)
    assert brownfields.write(out, overwrite=True) == paths


def test_brownfield_map_layers_are_the_sites_and_the_excluded_parts(brownfields):
    layers = brownfields.map_layers()
    assert [layer.look for layer in layers] == ["excluded_parts", "brownfield_sites"]


def test_brownfield_summary_call_still_gives_the_totals_with_a_deprecation_warning(brownfields):
    with pytest.warns(DeprecationWarning, match="totals"):
        old = brownfields.summary()
    assert old == brownfields.totals() and old["sites"] == 82


# ---------------------------------------------------------------------------------------------
# Mines
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mines(catalog):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        return analysis.get_analysis("mines").run(catalog)


def test_mine_summary_equals_the_counts_and_sums_of_its_tables(mines):
    m = mines.tables["mines"]
    s = mines.summary
    assert list(s.columns) == list(analysis.SUMMARY_COLUMNS)
    assert _value(s, "Mine sites") == len(m) == 58
    assert _value(s, "Public rehabilitation tasks (abandoned or closed)") == m["status"].isin(["废弃", "闭坑"]).sum()
    assert _value(s, "Ranked mines") == m["rank"].notna().sum() > 0
    assert _value(s, "Mine area") == pytest.approx(sum(float(v) for v in m["gross_area_m2"]))
    assert _value(s, "Mines visible from the main lines") == sum(1 for v in m["visible_share"] if v > 0)
    passing = [c for c, ok in zip(m["pv_capacity_mw"], m["pv_prescreen_pass"]) if ok]
    assert _value(s, "PV capacity of the mines passing the pre-screen") == pytest.approx(sum(passing))
    # the focus-area and mode tables count every mine once
    assert mines.tables["focus_summary"]["mines"].sum() == len(m)
    assert mines.tables["mode_summary"]["mines"].sum() == len(m)
    assert (s["source"].str.len() > 0).sum() >= 6


def test_mine_provenance_lists_the_synthetic_layers_with_the_catalogs_flags(mines, catalog):
    _layers_match_the_catalog(mines, catalog, {"mine_sites", "roads", "nature_reserves", "townships", "dem"})
    params = {p.key: p for p in mines.provenance.parameters}
    assert params["visibility.max_distance_m"].value == 1000.0 and "terrain.toml" in params[
        "visibility.max_distance_m"].source
    assert params["mcda.top_k"].value == mines.top_k
    assert {"sanxian_yidan/data/mines.toml", "sanxian_yidan/data/brownfield.toml",
            "sanxian_yidan/data/columns/mines.toml"} <= set(mines.provenance.data_files)


def test_mine_write_produces_exactly_the_declared_outputs(mines, tmp_path):
    out = tmp_path / "out"
    paths = mines.write(out)
    assert mines.visibility is not None
    assert sorted(p.name for p in out.iterdir()) == sorted(o.name for o in mines.outputs) == sorted(paths)
    focus = pd.read_csv(out / "mines_focus_areas.csv", encoding="utf-8-sig")
    assert len(focus) == len(mines.tables["focus_summary"])
    with pytest.raises(OutputExistsError):
        mines.write(out)


def test_mine_map_layers_are_the_viewshed_and_the_mines(mines):
    assert [layer.look for layer in mines.map_layers()] == ["viewshed", "mines"]


def test_mine_priorities_still_gives_the_mine_table(mines, catalog):
    from sanxian_yidan.errors import SanxianError
    from sanxian_yidan.mines import mine_priorities, write_outputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SanxianWarning)
        table = mine_priorities(SAMPLE)
    assert table["site_id"].tolist() == mines.mines["site_id"].tolist()
    with pytest.raises(SanxianError, match="run_mines"):
        write_outputs(table, Path("unused"))
