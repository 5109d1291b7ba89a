"""Study files: what a scripted siting study covers, validated before anything runs.

A study file (``studies/suixian.toml``) names the region, the layer catalog,
the rule set, the projects to screen, the analyses to run with their
parameter overrides, and where outputs go.  Paths are relative to the study
file.  Unknown keys are refused with the list of valid ones, because a typo
in a study file would otherwise silently fall back to a default in a review
meeting.

Example
-------
.. code-block:: toml

    [study]
    id = "suixian"
    title_zh = "随县光伏选址与环境准入研判（示例数据）"
    title_en = "Suixian PV siting and access screening (sample data)"
    region = "随县"
    catalog = "../layers/catalog.toml"
    output = "../maps/suixian"

    [screening]
    projects = "suixian_projects.geojson"

    [rooftops]
    [brownfields]
    [mines]
    [map]
    basemap = "none"
    offline = true
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .datafiles import load_toml
from .errors import DataFileError, problem

#: Valid keys per table of a study file; the values are short descriptions used in error messages.
STUDY_KEYS: dict[str, dict[str, str]] = {
    "study": {"id": "short name, used for the output folder",
              "title_zh": "Chinese title", "title_en": "English title",
              "region": "county name (admin_boundary 'name') or 'all'",
              "catalog": "layer catalog TOML", "output": "output folder",
              "rules": "rule-set TOML (default: packaged rules)",
              "notes": "free text shown in the report"},
    "screening": {"projects": "vector file or land-boundary TXT of proposed projects",
                  "layer": "layer inside the projects file", "crs": "CRS of the projects if they have none",
                  "industry": "default GB/T 4754-2017 code", "project_type": "default project type",
                  "radius_m": "footprint radius for point projects [m]"},
    "rooftops": {"params": "rooftop parameter TOML overriding the defaults", "top": "rows in the report table"},
    "brownfields": {"params": "brownfield parameter TOML overriding the defaults",
                    "parcels": "extra candidate parcels (vector file)", "top": "rows in the report table"},
    "mines": {"params": "mine-priority parameter TOML overriding the defaults", "top": "rows in the report table"},
    "map": {"basemap": "none | osm | tianditu | amap", "offline": "self-contained HTML (true/false)",
            "tianditu_key": "天地图 key (default: environment variable TIANDITU_KEY)"},
}
_OPTIONAL_ANALYSES = ("screening", "rooftops", "brownfields", "mines")
_PATH_KEYS = {("study", "catalog"), ("study", "output"), ("study", "rules"), ("screening", "projects"),
              ("rooftops", "params"), ("brownfields", "params"), ("brownfields", "parcels"), ("mines", "params")}


@dataclass(frozen=True)
class StudyConfig:
    """A validated study file.

    Attributes
    ----------
    path : Path
        The study file.
    id, title_zh, title_en, region : str
        Identity and region (a county name of the catalog's admin_boundary layer, or ``"all"``).
    catalog, output : Path
        Resolved catalog file and output folder.
    rules : Path or None
        Rule-set file; ``None`` for the packaged default.
    analyses : dict
        Table per analysis that is switched on (``screening``, ``rooftops``, ``brownfields``, ``mines``),
        with its paths resolved.
    map : dict
        Map options.
    notes : str
        Free text for the report.
    raw : dict
        The parsed file, for the provenance manifest.
    """

    path: Path
    id: str
    title_zh: str
    title_en: str
    region: str
    catalog: Path
    output: Path
    rules: Path | None
    analyses: dict[str, dict[str, Any]] = field(default_factory=dict)
    map: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def load_study(path: str | Path, *, safe_paths: bool = False) -> StudyConfig:
    """Read and validate a study file.

    Parameters
    ----------
    path : str or Path
        Study TOML.
    safe_paths : bool
        Refuse any path that leaves the study file's folder or its parent project
        folder (the folder holding ``studies/``), e.g. ``../../etc/passwd``.

    Returns
    -------
    StudyConfig

    Raises
    ------
    DataFileError
        Listing every problem: unknown tables or keys (with the valid ones), missing
        required keys, wrong types, and with ``safe_paths`` any escaping path.
    """
    path = Path(path).resolve()
    data = load_toml(path)
    problems = _unknown_keys(data) + _missing_keys(data)
    base = path.parent
    root = base.parent
    resolved: dict[tuple[str, str], Path] = {}
    for table, key in sorted(_PATH_KEYS):
        value = data.get(table, {}).get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"[{table}] {key} must be a path string, got {value!r}")
            continue
        target = (base / value).resolve()
        if safe_paths and not target.is_relative_to(root):
            problems.append(f"[{table}] {key} = {value!r} leaves the project folder {root} (--safe-paths)")
        resolved[(table, key)] = target
    if problems:
        raise DataFileError(problem("研究配置文件有误。", "The study file has problems:\n  - "
                                    + "\n  - ".join(problems), file=path,
                                    fix="correct the keys named above; valid keys per table: "
                                        + "; ".join(f"[{t}] {', '.join(sorted(k))}" for t, k in STUDY_KEYS.items())))
    study = data["study"]
    analyses = {}
    for name in _OPTIONAL_ANALYSES:
        if name in data:
            table = dict(data[name])
            table.update({k: v for (t, k), v in resolved.items() if t == name})
            analyses[name] = table
    return StudyConfig(path=path, id=study["id"], title_zh=study["title_zh"], title_en=study["title_en"],
                       region=study.get("region", "all"), catalog=resolved[("study", "catalog")],
                       output=resolved[("study", "output")], rules=resolved.get(("study", "rules")),
                       analyses=analyses, map=dict(data.get("map", {})), notes=study.get("notes", ""),
                       raw=data)


def _unknown_keys(data: dict[str, Any]) -> list[str]:
    problems = []
    for table, content in data.items():
        if table not in STUDY_KEYS:
            problems.append(f"unknown table [{table}]; valid tables: {', '.join(STUDY_KEYS)}")
            continue
        if not isinstance(content, dict):
            problems.append(f"[{table}] must be a table")
            continue
        for key in content:
            if key not in STUDY_KEYS[table]:
                valid = ", ".join(f"{k} ({d})" for k, d in STUDY_KEYS[table].items())
                problems.append(f"unknown key '{key}' in [{table}]; valid keys: {valid}")
    return problems


def _missing_keys(data: dict[str, Any]) -> list[str]:
    study = data.get("study")
    if not isinstance(study, dict):
        return ["missing table [study]"]
    problems = [f"[study] needs '{k}'" for k in ("id", "title_zh", "title_en", "catalog", "output")
                if k not in study]
    problems += [f"[study] {k} must be a string" for k in ("id", "title_zh", "title_en", "region")
                 if k in study and not isinstance(study[k], str)]
    if "screening" in data and isinstance(data["screening"], dict) and "projects" not in data["screening"]:
        problems.append("[screening] needs 'projects'")
    return problems
