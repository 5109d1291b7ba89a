"""The parameter layer (sanxian_yidan.params): every packaged data file read through its model.

Properties checked over the packaged files themselves (not hand-made fixtures): each file validates;
a key added to any table is refused with its key path; removing any ``source`` is refused with its key
path; a user file wins over the packaged defaults and overrides win over the user file; several problems
come back together in one error.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanxian_yidan import datafiles
from sanxian_yidan.benefits import BenefitsFile
from sanxian_yidan.brownfield.params import BrownfieldFile
from sanxian_yidan.columns import ColumnsFile, CsvFormatFile
from sanxian_yidan.crs.settings import CrsFile
from sanxian_yidan.errors import DataFileError
from sanxian_yidan.figures import FiguresFile
from sanxian_yidan.industries import IndustriesFile
from sanxian_yidan.io.boundary_txt import BoundaryTxtFile
from sanxian_yidan.io.formats_settings import IoFormatsFile
from sanxian_yidan.io.safety import InputLimitsFile
from sanxian_yidan.maps.settings import MapsFile
from sanxian_yidan.maps.styles import StylesFile
from sanxian_yidan.mcda.settings import McdaFile
from sanxian_yidan.mines import MinesFile
from sanxian_yidan.parallel import PerformanceFile
from sanxian_yidan.params import SourcedValue, validate_layers
from sanxian_yidan.roles import RolesFile
from sanxian_yidan.rooftop.params import RooftopFile
from sanxian_yidan.schemas import TablesFile
from sanxian_yidan.screening.settings import ScreeningFile
from sanxian_yidan.serve.config import ServeSettings
from sanxian_yidan.solar import SolarFile
from sanxian_yidan.terrain.settings import TerrainFile

DATA = Path(datafiles.packaged_path("x")).parent

#: Data file -> its model.
MODELS = {
    "benefits.toml": BenefitsFile, "brownfield.toml": BrownfieldFile, "crs.toml": CrsFile,
    "figures.toml": FiguresFile, "input_limits.toml": InputLimitsFile, "io_formats.toml": IoFormatsFile,
    "mcda.toml": McdaFile, "mines.toml": MinesFile, "rooftop.toml": RooftopFile, "screening.toml": ScreeningFile,
    "solar.toml": SolarFile, "terrain.toml": TerrainFile, "maps.toml": MapsFile, "styles.toml": StylesFile,
    "boundary_txt.toml": BoundaryTxtFile, "roles.toml": RolesFile, "performance.toml": PerformanceFile,
    "industries.toml": IndustriesFile, "csv_format.toml": CsvFormatFile,
    "tables.toml": TablesFile, "serve.toml": ServeSettings,
}
#: Data files still validated by their own code (each listed with where), so a new file cannot be forgotten.
NOT_YET_MODELLED = {
    "rules.toml": "rules.RulesFile, validated after its [[rules]] are merged by id (rules.load_rules)",
    "sample_text.toml": "tests only",
}
#: Tables whose keys are free by design (checked elsewhere or values of the user's data), as key paths with
#: ``*`` for any collection entry or list index.
FREE_TABLES = {
    "brownfield.toml": {("criteria", "*"),                # options of the transforms
                        ("exclusions", "*", "where")},    # attribute field -> values
    "mines.toml": {("criteria", "*")},
    "crs.toml": {("legacy_datums", "zh_names")},                                    # datum -> Chinese name
    "rooftop.toml": {("use", "map"), ("roof", "map"), ("solar",), ("factors",)},
    "maps.toml": {("field_labels", "names")},                                      # column -> label
    "boundary_txt.toml": {("header", "width_numerals"),                            # numeral -> number
                          ("header", "keys")},                                      # other name -> key
    "roles.toml": {("roles", "*", "map", "labels")},                               # column -> palette
    "csv_format.toml": {("unit_digits",)},                                         # unit -> decimals
}


def _doc(name: str) -> dict[str, Any]:
    return copy.deepcopy(datafiles.packaged(name))  # the packaged cache must never be changed


def _tables(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Key path of every table (mapping) in a parsed document, including tables inside arrays."""
    if isinstance(node, Mapping):
        yield path
        for key, value in node.items():
            yield from _tables(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _tables(value, (*path, i))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _free(name: str, path: tuple[Any, ...]) -> bool:
    def match(pattern: tuple[Any, ...]) -> bool:
        return len(pattern) <= len(path) and all(p in ("*", q) for p, q in zip(pattern, path))
    return any(match(p) for p in FREE_TABLES.get(name, ()))


def _check(name: str, doc: Mapping[str, Any]) -> Any:
    return validate_layers(MODELS[name], [(name, doc)])


def test_every_column_file_validates_through_its_model():
    for path in sorted((DATA / "columns").glob("*.toml")):
        entries = validate_layers(ColumnsFile, [(path.name, datafiles.load_toml(path))]).model_extra
        assert entries and all(e.description for e in entries.values())
    with pytest.raises(DataFileError, match=r"x.toml: area_m2.digts: unknown key \(未知的键\); did you mean 'digits'"):
        validate_layers(ColumnsFile, [("x.toml", {"area_m2": {"zh": "面积", "en": "Area", "unit": "m²",
                                                               "description": "d", "digts": 1}})])


def test_every_data_file_has_a_model_or_is_listed():
    files = {p.name for p in DATA.glob("*.toml")}
    assert files - set(MODELS) - set(NOT_YET_MODELLED) == set()
    assert set(MODELS) & set(NOT_YET_MODELLED) == set()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_packaged_file_validates_through_its_model(name):
    model = datafiles.load_model(MODELS[name], name)
    assert model.loaded_from == f"sanxian_yidan/data/{name}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_key_added_to_any_table_is_refused_with_its_key_path(name):
    doc = _doc(name)
    checked = 0
    for path in _tables(doc):
        if _free(name, path):
            continue
        bad = _doc(name)
        _at(bad, path)["zz_not_a_key"] = 1
        with pytest.raises(DataFileError) as info:
            _check(name, bad)
        assert f"{name}: {_dotted((*path, 'zz_not_a_key'))}: " in str(info.value), path
        checked += 1
    assert checked >= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(MODELS)), key=st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
       data=st.data())
def test_a_misspelled_key_is_named_with_its_table_and_a_suggestion(name, key, data):
    doc = _doc(name)
    paths = [p for p in _tables(doc) if not _free(name, p) and key not in _at(doc, p)]
    path = data.draw(st.sampled_from(paths))
    node = _at(doc, path)
    node[key] = "x"
    try:
        _check(name, doc)
    except DataFileError as exc:
        assert f"{_dotted((*path, key))}: " in str(exc)
    else:  # accepted only where the key is a declared optional field (e.g. [mcda] spread) or a new entry
        assert key in _declared_optional(name, path) or _is_collection(node), (path, key)


def _declared_optional(name: str, path: tuple[Any, ...]) -> set[str]:
    from sanxian_yidan.params import _valid_keys

    return set(_valid_keys(MODELS[name], path))


def _is_collection(node: Mapping[str, Any]) -> bool:
    return sum(isinstance(v, Mapping) for v in node.values()) > 1


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_source_is_required(name):
    doc = _doc(name)
    sourced = [p for p in _tables(doc) if "source" in _at(doc, p) and not _free(name, p)]
    assert sourced
    for path in sourced:
        bad = _doc(name)
        del _at(bad, path)["source"]
        with pytest.raises(DataFileError) as info:
            _check(name, bad)
        assert f"{_dotted((*path, 'source'))}: missing required key" in str(info.value), path
        blank = _doc(name)
        _at(blank, path)["source"] = "  "
        with pytest.raises(DataFileError, match="needs a non-empty source"):
            _check(name, blank)


def test_a_factor_without_a_source_is_refused():
    with pytest.raises(DataFileError, match=r"<overrides>: factors.mine.source: missing required key"):
        datafiles.load_model(BenefitsFile, "benefits.toml", overrides={"factors": {"mine": {
            "kind": "so2", "value": 0.2, "unit": "g/kWh", "year": 2024, "publisher": "p",
            "basis": "per kWh of coal/thermal power"}}})
    assert SourcedValue.model_validate({"value": 1, "unit": "t", "source": "s"}).value == 1.0
    for bad, text in (({"value": 1, "unit": "t"}, "source: missing required key"),
                      ({"value": 1, "unit": "t", "source": ""}, "source: needs a non-empty source"),
                      ({"value": "1", "unit": "t", "source": "s"}, "value: must be a number")):
        with pytest.raises(DataFileError, match=text):
            validate_layers(SourcedValue, [("f.toml", bad)])


@settings(max_examples=25, deadline=None)
@given(default=st.just(1000.0), in_file=st.floats(1.0, 1e6), override=st.floats(1.0, 1e6))
def test_overrides_win_over_the_user_file_which_wins_over_the_defaults(tmp_path_factory, default, in_file,
                                                                       override):
    user = tmp_path_factory.mktemp("p") / "t.toml"
    user.write_text(f'[visibility]\nmax_distance_m = {in_file!r}\nmax_distance_source = "file"\n', encoding="utf-8")
    over = {"visibility": {"max_distance_m": override, "max_distance_source": "override"}}
    base = datafiles.load_model(TerrainFile, "terrain.toml")
    from_file = datafiles.load_model(TerrainFile, "terrain.toml", user)
    both = datafiles.load_model(TerrainFile, "terrain.toml", user, over)
    assert base.visibility.max_distance_m == default
    assert (from_file.visibility.max_distance_m, from_file.visibility.max_distance_source) == (in_file, "file")
    assert (both.visibility.max_distance_m, both.visibility.max_distance_source) == (override, "override")
    assert from_file.visibility.spacing_m == base.visibility.spacing_m          # keys not given stay
    assert both.loaded_from == f"sanxian_yidan/data/terrain.toml + {user} + <overrides>"


def _numeric_leaves(name: str) -> list[tuple[Any, ...]]:
    doc = _doc(name)
    # a test's value ({column, op, value}) is checked against its operator, at the test's own path
    return [(*p, k) for p in _tables(doc) if not _free(name, p) and "op" not in _at(doc, p)
            for k, v in _at(doc, p).items() if isinstance(v, float)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(MODELS)), data=st.data())
def test_several_problems_are_reported_together_each_with_its_file_and_path(name, data):
    leaves = _numeric_leaves(name)
    if not leaves:
        return
    chosen = data.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=min(4, len(leaves)), unique=True))
    doc = _doc(name)
    for path in chosen:
        _at(doc, path[:-1])[path[-1]] = "not a number"
    with pytest.raises(DataFileError) as info:
        validate_layers(MODELS[name], [(name, _doc(name)), ("user.toml", doc)])
    text = str(info.value)
    assert f"data file has {len(chosen)} problem(s)" in text
    lines = {line.split(": ")[1]: line for line in text.splitlines() if line.startswith("  - user.toml: ")}
    for path in chosen:
        assert "must be a number" in lines[_dotted(path)]


def test_keyed_entries_take_their_key_as_id_and_refuse_an_id_key():
    from typing import Annotated

    from sanxian_yidan.params import DataModel, Keyed, KeyedTable

    class Entry(Keyed):
        zh: str

    class File(DataModel):
        entries: Annotated[dict[str, Entry], KeyedTable]

    doc = File.model_validate({"entries": {"pv": {"zh": "光伏"}, "wind": {"zh": "风电"}}})
    assert [(e.id, e.zh) for e in doc.entries.values()] == [("pv", "光伏"), ("wind", "风电")]
    with pytest.raises(DataFileError, match=r"entries\.pv\.id: unknown key"):
        validate_layers(File, [("f.toml", {"entries": {"pv": {"zh": "光伏", "id": "x"}}})])


def test_packaged_project_types_and_groups_carry_their_keys():
    from sanxian_yidan.industries import industry_groups, project_types

    assert all(t.id == key for key, t in project_types().items()) and "pv" in project_types()
    assert project_types()["pv"].industry == "D4416"
    assert all(g.id == key for key, g in industry_groups().items()) and "chemical" in industry_groups()
