"""Study files: what a scripted siting study covers, validated before anything runs.

A study file (``studies/suixian.toml``) names the region, the layer catalog,
the rule set, the projects to screen, the analyses to run with their
parameter overrides, and where outputs go.  Paths are relative to the study
file.  Unknown keys are refused with the list of valid ones, because a typo
in a study file would otherwise silently fall back to a default in a review
meeting.

A study file is often received from someone else, so its paths are confined
by default (:func:`load_study`): inputs and the output folder must lie in the
study file's folder, in the *project folder* around it (the study folder or
its parent, when that folder holds ``layers/catalog.toml``, as this
repository does), or in a folder the user allows (``--allow-path DIR``).
``--unsafe-paths`` lifts that confinement.  Whatever the flags, the output
folder is never a filesystem root, a home folder, or a folder holding the
study's inputs (the study file, the catalog and its layers, the projects,
parameter and rule files) or a folder above one.

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

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError

from .datafiles import load_toml
from .errors import DataFileError, SanxianError, SanxianWarning, problem
from .params import DataModel, problem_lines


class _Study(DataModel):
    id: str                       # short name, used for the output folder
    title_zh: str
    title_en: str
    region: str = "all"           # county name (admin_boundary 'name') or 'all'
    catalog: str                  # layer catalog TOML
    output: str                   # output folder
    rules: str | None = None      # rule-set TOML (default: packaged rules)
    notes: str = ""               # free text shown in the report


class _Screening(DataModel):
    projects: str                 # vector file or land-boundary TXT of proposed projects
    layer: str | None = None
    crs: str | None = None        # CRS of the projects if they have none
    industry: str | None = None   # default GB/T 4754-2017 code
    project_type: str | None = None
    radius_m: float | None = Field(default=None, gt=0)   # footprint radius for point projects [m]


class _Analysis(DataModel):
    params: str | None = None     # parameter TOML overriding the defaults
    top: int | None = Field(default=None, ge=1)          # rows in the report table


class _Brownfields(_Analysis):
    parcels: str | None = None    # extra candidate parcels (vector file)


class _Map(DataModel):
    basemap: Literal["none", "osm", "tianditu", "amap"] | None = None
    offline: bool | None = None   # self-contained HTML
    tianditu_key: str | None = None   # default: environment variable TIANDITU_KEY


class StudyFile(DataModel):
    """The structure of a study file."""

    what: ClassVar[str] = "研究配置 / study"
    study: _Study
    screening: _Screening | None = None
    rooftops: _Analysis | None = None
    brownfields: _Brownfields | None = None
    mines: _Analysis | None = None
    map: _Map | None = None


#: Valid keys per table of a study file.
STUDY_KEYS: dict[str, tuple[str, ...]] = {
    name: tuple(model.model_fields) for name, model in (("study", _Study), ("screening", _Screening),
                                                         ("rooftops", _Analysis), ("brownfields", _Brownfields),
                                                         ("mines", _Analysis), ("map", _Map))}
_OPTIONAL_ANALYSES = ("screening", "rooftops", "brownfields", "mines")
_PATH_KEYS = {("study", "catalog"), ("study", "output"), ("study", "rules"), ("screening", "projects"),
              ("rooftops", "params"), ("brownfields", "params"), ("brownfields", "parcels"), ("mines", "params")}
#: A folder holding this file is a sanxian project folder (inputs and outputs of a study file in it, or in
#: its ``studies/`` sub-folder, may lie anywhere inside it).
PROJECT_MARKER = Path("layers") / "catalog.toml"


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
    inputs : tuple of Path
        Every input file named by the study (study file, catalog and its layer files, projects,
        parameter and rule files): outputs never replace them.
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
    inputs: tuple[Path, ...] = ()


def project_folder(study_folder: Path) -> Path | None:
    """The sanxian project folder around a study file's folder, if any.

    The study folder itself or its parent, whichever first holds ``layers/catalog.toml``
    (:data:`PROJECT_MARKER`); ``None`` otherwise (e.g. a study file saved in a downloads folder).
    """
    return next((f for f in (study_folder, study_folder.parent) if (f / PROJECT_MARKER).is_file()), None)


def allowed_roots(study_path: Path, allow_paths: Iterable[str | Path] = ()) -> list[Path]:
    """Folders a study's paths may lie in without ``--unsafe-paths``.

    The study file's folder, its project folder (:func:`project_folder`) and each ``allow_paths`` folder.
    """
    base = study_path.parent
    roots = [base]
    project = project_folder(base)
    if project is not None and project != base:
        roots.append(project)
    roots += [Path(p).expanduser().resolve() for p in allow_paths]
    return roots


def load_study(path: str | Path, *, unsafe_paths: bool = False, allow_paths: Iterable[str | Path] = (),
               safe_paths: bool | None = None) -> StudyConfig:
    """Read and validate a study file.

    Parameters
    ----------
    path : str or Path
        Study TOML.
    unsafe_paths : bool
        Allow inputs and the output folder anywhere.  By default every path must lie in the study
        file's folder, its project folder (:func:`project_folder`) or an ``allow_paths`` folder, so
        that a study file received from someone else cannot read or write elsewhere
        (e.g. ``../../etc/passwd``).
    allow_paths : iterable of path
        Further folders the study's paths may lie in (CLI: ``--allow-path DIR``).
    safe_paths : bool, optional
        Deprecated and ignored (confinement is the default); passing it warns.

    Returns
    -------
    StudyConfig

    Raises
    ------
    DataFileError
        Listing every problem: unknown tables or keys (with the valid ones), missing required keys,
        wrong types or values (``top`` must be a whole number >= 1), a path outside the allowed
        folders, and an output folder that is a filesystem root, a home folder, or holds the
        study's inputs.
    """
    if safe_paths is not None:
        warnings.warn("safe_paths / --safe-paths 已弃用：路径限制现为默认行为 / is deprecated and has no effect: "
                      "paths are confined by default (use unsafe_paths / --unsafe-paths to lift that)",
                      SanxianWarning, stacklevel=2)
    path = Path(path).resolve()
    data = load_toml(path)
    try:
        StudyFile.model_validate(data)
        problems = []
    except ValidationError as exc:
        problems = problem_lines(exc.errors(include_url=False), StudyFile, [(path.name, data)])
    base = path.parent
    roots = allowed_roots(path, allow_paths)
    resolved: dict[tuple[str, str], Path] = {}
    for table, key in sorted(_PATH_KEYS):
        value = data.get(table, {}).get(key) if isinstance(data.get(table), dict) else None
        if not isinstance(value, str):
            continue  # not given, or of a wrong type the model reports
        target = (base / value).expanduser().resolve()
        if not unsafe_paths and not any(target.is_relative_to(r) for r in roots):
            problems.append(f"[{table}] {key} = {value!r} lies outside the folders a study may use "
                            f"({', '.join(str(r) for r in roots)}): pass --allow-path DIR for a folder you "
                            "trust, or --unsafe-paths")
        resolved[(table, key)] = target
    inputs = [path] + [p for (t, k), p in resolved.items() if (t, k) != ("study", "output")]
    inputs += _catalog_layer_paths(resolved.get(("study", "catalog")))
    if ("study", "output") in resolved:
        problems += _output_problems(resolved[("study", "output")], data["study"]["output"], inputs)
    if problems:
        raise DataFileError(problem("研究配置文件有误。", "The study file has problems:\n  - "
                                    + "\n  - ".join(problems), file=path, fix=_fix_for(problems)))
    study = data["study"]
    analyses = {name: {**data[name], **{k: v for (t, k), v in resolved.items() if t == name}}
                for name in _OPTIONAL_ANALYSES if name in data}
    return StudyConfig(path=path, id=study["id"], title_zh=study["title_zh"], title_en=study["title_en"],
                       region=study.get("region", "all"), catalog=resolved[("study", "catalog")],
                       output=resolved[("study", "output")], rules=resolved.get(("study", "rules")),
                       analyses=analyses, map=dict(data.get("map", {})), notes=study.get("notes", ""),
                       raw=data, inputs=tuple(dict.fromkeys(inputs)))


def _fix_for(problems: list[str]) -> str:
    """The fix line for a study file's problems: paths, output folder and keys each get their own advice."""
    fixes = []
    if any("lies outside the folders" in p for p in problems):
        fixes.append("keep the study's files in its folder or project folder, or, for a study file you trust, "
                     "pass --allow-path DIR (one more folder) or --unsafe-paths (API: allow_paths=, unsafe_paths=)")
    if any(p.startswith("[study] output") and "lies outside" not in p for p in problems):
        fixes.append("set `output` to a folder of its own, e.g. output = \"../maps/<study id>\"")
    others = [p for p in problems if "lies outside the folders" not in p and not p.startswith("[study] output")]
    if others or not fixes:
        fixes.append("correct the keys named above; valid keys per table: "
                     + "; ".join(f"[{t}] {', '.join(k)}" for t, k in STUDY_KEYS.items()))
    return "; ".join(fixes)


def _catalog_layer_paths(catalog: Path | None) -> list[Path]:
    """The layer files a catalog names (resolved); none if it cannot be read (its own check reports that)."""
    if catalog is None or not catalog.is_file():
        return []
    try:
        doc = load_toml(catalog)
    except SanxianError:
        return []
    layers = doc.get("layers", [])
    paths = [entry.get("path") for entry in layers if isinstance(entry, dict)] if isinstance(layers, list) else []
    return [(catalog.parent / p).resolve() for p in paths if isinstance(p, str)]


def _output_problems(output: Path, value: str, inputs: list[Path]) -> list[str]:
    """Why ``output`` may not be the study's output folder (whatever the path flags)."""
    from .outputs import protected_folder_reason

    if why := protected_folder_reason(output):
        return [f"[study] output = {value!r} is {why.split(' / ')[0]}; give a folder of its own, e.g. "
                f"\"../maps/<study id>\""]
    if held := sorted({str(p) for p in inputs if p.parent.is_relative_to(output)}):
        return [f"[study] output = {value!r} would hold the study's inputs ({', '.join(held[:3])}"
                f"{', ...' if len(held) > 3 else ''}); give a folder of its own, e.g. \"../maps/<study id>\""]
    if output.exists() and not output.is_dir():
        return [f"[study] output = {value!r} is a file, not a folder"]
    return []
