"""Scripted siting studies: one run screens projects, ranks rooftops and brownfields, prioritises mines.

A study file (see :mod:`sanxian_yidan.studyconfig`) names a county, a layer
catalog and the analyses to run.  :func:`run_study` restricts the catalog to
the county, runs each registered analysis (:func:`sanxian_yidan.analysis.analyses`)
from its section of the study file, writes each result with its own ``write``, and
writes everything a review meeting needs under the study's output folder
(``maps/<study>/``):

- ``screening/`` — screening.json, .gpkg, .csv, report.html, report.md
- ``rooftops/`` — rooftops.gpkg, rooftops_by_township.csv, rooftops_factors.csv
- ``brownfields/`` — brownfields.gpkg, brownfields.csv
- ``mines/`` — mines.gpkg, mines.csv, mines_focus_areas.csv, visibility.tif (三区两线 viewshed)
- ``map.html`` — one map with every result as a layer (offline by default)
- ``report.html`` — the study report (figures, charts, tables, sources, provenance)
- ``manifest.json`` — inputs and outputs with SHA-256, package versions, parameters

An analysis whose layers the catalog lacks is reported as skipped, with the
reason, instead of stopping the study.  Any other failure (an inconsistent
AHP matrix, an unreadable layer, Ctrl-C) stops the study and leaves the output
folder exactly as it was: everything is written into a temporary folder and
moved into place only when the whole study has succeeded, the manifest last
(:func:`sanxian_yidan.outputs.staged_output`).  Two runs with the same inputs give
identical files apart from the timestamps in ``report.html``, ``report.md`` and
``manifest.json`` (folium's random element ids are replaced by stable ones, and
GeoPackage timestamps are pinned to the run time).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .analysis import Analysis, analyses
from .catalog import Catalog
from .errors import OutputExistsError, UnknownLayerError, problem
from .outputs import BACKUP_MARK, MANIFEST_NAME, STAGING_MARK, staged_output
from .progress import Progress, report_step
from .studyconfig import StudyConfig, load_study
from .studyrun import StudyRun, study_parameters

__all__ = ["StudyRun", "run_study", "study_map_layers", "study_outputs", "study_parameters", "study_steps"]

log = logging.getLogger(__name__)

#: A role the catalog lacks means "this analysis cannot run here": reported as skipped, not raised.
#: Broken or empty inputs are errors, never a skip.
_SKIPPABLE = (UnknownLayerError,)


def study_outputs() -> tuple[str, ...]:
    """Entries of a study's output folder that belong to the study: one folder per registered analysis, the
    map, the report and the manifest.  A run replaces them, or removes those it does not write (an analysis
    skipped this time must not leave the previous run's results behind)."""
    return (*analyses(), "map.html", "report.html", "report.pdf", MANIFEST_NAME)


def study_steps() -> tuple[str, ...]:
    """Progress steps of a study run: each registered analysis, the map, the report."""
    return (*analyses(), "map", "report")


def run_study(study: str | Path | StudyConfig, *, unsafe_paths: bool = False, allow_paths: Iterable[str | Path] = (),
              safe_paths: bool | None = None, generated: datetime | None = None,
              progress: Progress | None = None, overwrite: bool = False, pdf: bool = False) -> StudyRun:
    """Run every analysis of a study and write its outputs, all or nothing.

    Parameters
    ----------
    study : str, Path or StudyConfig
        Study file (e.g. ``studies/suixian.toml``) or an already loaded config.
    unsafe_paths, allow_paths, safe_paths
        Where the study's paths may lie (:func:`sanxian_yidan.studyconfig.load_study`): by default in
        the study's folder, its project folder or the ``allow_paths`` folders.
    generated : datetime, optional
        Run time written into reports and the manifest (UTC now by default); pass a fixed
        value to reproduce a run byte for byte.
    progress : callable, optional
        ``progress(label, done, total)`` when each step starts and once at the end (the CLI draws a bar
        with it; :mod:`sanxian_yidan.progress`).
    overwrite : bool
        Replace the outputs of an earlier run in the study's output folder.
    pdf : bool
        Also print the report (``report.pdf``) and every screening sheet (``screening/sheets/<id>.pdf``)
        to A4 PDF with headless Chromium; without a browser a :class:`~sanxian_yidan.sheet.SheetPdfWarning`
        says so and only the HTML is written.

    Returns
    -------
    StudyRun

    Raises
    ------
    OutputExistsError
        If the output folder already holds files and ``overwrite`` is false.
    OutputError
        The output folder cannot be written (named, with the fix).

    Notes
    -----
    Outputs are written into a temporary folder and moved into the output folder only when every
    step has succeeded (``manifest.json`` last); on any error or interruption the output folder is
    left as it was.  Entries of :func:`study_outputs` that this run does not write are removed, so
    the folder always matches its manifest; other files in the folder are left alone.
    """
    config = study if isinstance(study, StudyConfig) else load_study(
        study, unsafe_paths=unsafe_paths, allow_paths=allow_paths,
        **({} if safe_paths is None else {"safe_paths": safe_paths}))
    existing = sorted(p.name for p in config.output.glob("*")
                      if STAGING_MARK not in p.name and BACKUP_MARK not in p.name) if config.output.is_dir() else []
    if existing and not overwrite:
        raise OutputExistsError(problem("研究输出目录已有文件。",
                                        f"The study's output folder already holds {existing}.",
                                        file=config.output, fix="pass overwrite=True (CLI: --overwrite) to "
                                        "replace them, or set another `output` in the study file"))
    generated = (generated or datetime.now(timezone.utc)).replace(microsecond=0)
    with staged_output(config.output, overwrite=overwrite, owned=study_outputs(), protect=config.inputs) as stage:
        run = StudyRun(config=dataclasses.replace(config, output=stage), generated=generated, pdf=pdf)
        _run_steps(run, progress)
        run.outputs["manifest"] = [_write_manifest(run, final=config.output)]
    run.outputs = {k: [config.output / p.relative_to(stage) for p in paths] for k, paths in run.outputs.items()}
    run.config = config
    steps = len(study_steps())
    report_step(progress, "done", steps, steps)
    return run


def _run_steps(run: StudyRun, progress: Progress | None) -> None:
    """Every analysis, the map and the report, written into ``run.config.output`` (the staging folder)."""
    config = run.config
    catalog = Catalog.load(config.catalog)
    view = catalog if config.region in ("", "all") else catalog.restricted_to(config.region)
    run.synthetic_layers = [e.id for e in catalog.synthetic_entries()]
    steps = study_steps()
    with _pinned_gpkg_time(run.generated):
        for i, analysis in enumerate(analyses().values()):
            report_step(progress, analysis.name, i, len(steps))
            _run_analysis(analysis, run, view)
        report_step(progress, "map", len(steps) - 2, len(steps))
        _write_map(run, view)
    report_step(progress, "report", len(steps) - 1, len(steps))
    from .study_report import write_study_report

    run.inputs, run.data_files = _inputs(run, catalog)
    run.outputs["report"] = write_study_report(run, view)
    if run.pdf:
        from .sheet import pdf_beside

        run.outputs["report"] += pdf_beside(run.outputs["report"][0])


@contextmanager
def _pinned_gpkg_time(when: datetime) -> Iterator[None]:
    """Make GDAL stamp GeoPackages with the run time instead of the wall clock (reproducible files)."""
    previous = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = previous


def _run_analysis(analysis: Analysis, run: StudyRun, view: Catalog) -> None:
    """Run one registered analysis from its study section and write its outputs into its folder."""
    name = analysis.name
    if name not in run.config.analyses:
        run.skipped[name] = "not requested in the study file / 研究配置未要求"
        return
    if analysis.roles and not any(view.has(role) for role in analysis.roles):
        run.skipped[name] = (f"catalog has no layer with role {' / '.join(analysis.roles)} "
                             f"/ 图层目录缺少所需图层")
        return
    # The study's own rule file is a study-wide option; the section's options come on top of it.
    options = {**({"rules": run.config.rules} if run.config.rules else {}), **run.config.analyses[name]}
    if _nothing_in_region(analysis, view, options):
        run.skipped[name] = (f"no {' / '.join(analysis.roles)} features in {run.config.region} "
                             f"/ 研究区域内无相应要素")
        return
    try:
        result = analysis.run_options(view, options)
    except _SKIPPABLE as exc:
        run.skipped[name] = f"layer missing or empty / 图层缺失或为空: {str(exc).splitlines()[0]}"
        log.warning("study %s: %s skipped: %s", run.config.id, name, exc)
        return
    folder = run.config.output / name
    run.results[name] = result
    run.outputs[name] = list(result.write(folder).values())
    # files the result adds for planners (e.g. screening reports and sheets), drawn on the study's catalog
    run.outputs[name] += result.write_extras(folder, generated=run.generated, catalog=view, pdf=run.pdf)


def _nothing_in_region(analysis: Analysis, view: Catalog, options: dict[str, Any]) -> bool:
    """True when the region holds none of the catalog features an analysis would assess.

    An analysis given its own inputs in the study file (projects to screen, extra parcels) has something
    to assess wherever it runs.  A region without mines is a finding ("nothing to assess"), not an error.
    """
    if any(isinstance(v, Path) for k, v in options.items() if k not in ("params", "rules")):
        return False
    return all(len(view.read(role)) == 0 for role in analysis.roles if view.has(role))


def study_map_layers(run: StudyRun, view: Catalog) -> list[Any]:
    """The map layers of a study: context zoning first, then each result's layers, the first registered
    analysis (screening) on top."""
    from . import resultmaps

    layers = resultmaps.context_layers(view)
    for name in reversed(list(analyses())):
        if name in run.results:
            layers += run.results[name].map_layers()
    return layers


def _write_map(run: StudyRun, view: Catalog) -> None:
    from .maps import make_map, save_map, stable_element_ids

    options = run.config.map
    offline = bool(options.get("offline", True))
    m = make_map(study_map_layers(run, view), basemap=options.get("basemap", "none"), offline=offline,
                 title_zh=run.config.title_zh, title_en=run.config.title_en, catalog=view,
                 tianditu_key=options.get("tianditu_key"))
    path = save_map(m, run.config.output / "map.html", offline=offline)
    path.write_text(stable_element_ids(path.read_text(encoding="utf-8")), encoding="utf-8")
    run.outputs["map"] = [path]


def _inputs(run: StudyRun, catalog: Catalog) -> tuple[list[Path], dict[str, str]]:
    """Input files (study, catalog, layers, files named in the study) and the data files behind the results."""
    from .provenance import data_file_hashes

    cfg = run.config
    inputs = [cfg.path, cfg.catalog] + [e.path for e in catalog.entries]
    inputs += [v for opts in cfg.analyses.values() for v in opts.values() if isinstance(v, Path)]
    data_files = data_file_hashes([cfg.rules] if cfg.rules else [])
    for provenance in run.provenance.values():
        data_files.update(provenance.data_files)
    return sorted({Path(p).resolve() for p in inputs if Path(p).is_file()}), dict(sorted(data_files.items()))


def _write_manifest(run: StudyRun, final: Path) -> Path:
    """Write ``manifest.json`` into the staging folder, listing the outputs where they will be (``final``)."""
    from .provenance import build_manifest, write_manifest

    base = run.config.path.parent.parent
    stage = run.config.output
    manifest = build_manifest(inputs=run.inputs, outputs=run.files, parameters=study_parameters(run),
                              data_records=run.data_files, provenance=run.provenance, base=base,
                              created=run.generated)
    for record, staged in zip(manifest["outputs"], sorted({p.resolve() for p in run.files})):
        where = final / staged.relative_to(stage.resolve())
        record["path"] = (str(where.relative_to(base)) if where.is_relative_to(base) else str(where)).replace("\\", "/")
    return write_manifest(manifest, stage / MANIFEST_NAME)
