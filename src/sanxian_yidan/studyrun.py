"""What a study run produced (:class:`StudyRun`): the results of its analyses, the files written, the
provenance records, and the parameters the manifest and the report both record.

Kept apart from :mod:`sanxian_yidan.study` (which runs the analyses and calls the report) so that the
report reads a run without importing the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .analysis import Provenance, Result
from .studyconfig import StudyConfig

__all__ = ["StudyRun", "study_parameters"]


@dataclass
class StudyRun:
    """What a study run produced.

    Attributes
    ----------
    config : StudyConfig
        The validated study file.
    results : dict
        :class:`~sanxian_yidan.analysis.Result` per analysis that ran, by registry name.
    outputs : dict
        Output files per analysis (``{"screening": [paths], ...}``) plus ``map``, ``report``, ``manifest``.
    skipped : dict
        Reason per analysis that did not run.
    synthetic_layers : list of str
        Catalog layer ids that are synthetic (the banner lists them).
    generated : datetime
        Run time (UTC) written into reports and the manifest.
    inputs : list of Path
        Input files (study file, catalog and its layers, files named by the analyses), listed with SHA-256.
    data_files : dict
        Data file name -> SHA-256 of every rule, parameter, role, CRS, map and column file behind the
        results (from each result's provenance, plus the study's own rule file).
    pdf : bool
        Whether the report and the screening sheets are also printed to PDF.
    """

    config: StudyConfig
    results: dict[str, Result] = field(default_factory=dict)
    outputs: dict[str, list[Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    synthetic_layers: list[str] = field(default_factory=list)
    generated: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    inputs: list[Path] = field(default_factory=list)
    data_files: dict[str, str] = field(default_factory=dict)
    pdf: bool = False

    @property
    def files(self) -> list[Path]:
        """Every file written, sorted."""
        return sorted({p for paths in self.outputs.values() for p in paths})

    @property
    def provenance(self) -> dict[str, Provenance]:
        """The provenance record of each result, by analysis name."""
        return {name: result.provenance for name, result in self.results.items()}


def study_parameters(run: StudyRun) -> dict[str, Any]:
    """The parameters of a run as recorded in the manifest and the report."""
    return {"study": run.config.raw, "region": run.config.region, "skipped": run.skipped,
            "synthetic_layers": run.synthetic_layers}
