"""One contract for every analysis: ``run(...) -> Result`` and a registry of analyses.

Every analysis a planner can run (screening, rooftops, brownfields, mines, and any later one) is
registered here as an :class:`Analysis` and returns a :class:`Result` with the same surface:

* ``tables`` — named tables (GeoDataFrames or DataFrames), the analysis's real output;
* ``summary`` — one small table of headline figures (``label_zh``, ``label_en``, ``value``, ``unit``,
  ``source``);
* ``notes`` — :class:`Note` objects (information and warnings, bilingual);
* ``provenance`` — :class:`Provenance`: the layers read (with their synthetic flag and version), the
  parameters used (with their sources) and the package data files (rules, factors, roles ...) that
  defined them;
* ``write(out_dir, overwrite=False)`` — writes the files declared once in ``outputs``;
* ``map_layers()`` — the layers the analysis contributes to a map;
* ``report_section(options, catalog)`` — its section of the study report (:class:`ReportSection`: map figure,
  chart, tables, notes, appendix tables), drawn by one loop for every analysis;
* ``write_extras(folder, ...)`` — files a study writes beside ``outputs`` (e.g. the screening reports and
  printable sheets).

The CLI, studies, reports, maps, the manifest, the web service and the Dask engine consume only this
surface; none of them knows an analysis's internals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pandas as pd

from .errors import SanxianError
from .provenance import data_file_hashes, data_file_name  # noqa: F401  (part of the contract's toolbox)

if TYPE_CHECKING:
    from .catalog import Catalog, LayerEntry
    from .provenance import TrackedCatalog

__all__ = [
    "Analysis",
    "LayerRecord",
    "Note",
    "OutputFile",
    "ParamRecord",
    "Provenance",
    "ReportChart",
    "ReportColumn",
    "ReportSection",
    "ReportTable",
    "Result",
    "analyses",
    "common_data_files",
    "data_file_hashes",
    "data_file_name",
    "get_analysis",
    "frame_layer_records",
    "layer_records",
    "merge_layer_records",
    "parameter_files",
    "register",
    "summary_frame",
    "tracked_layer_records",
]

SUMMARY_COLUMNS = ("label_zh", "label_en", "value", "unit", "source")


@dataclass(frozen=True)
class Note:
    """A note or warning attached to a result, shown to planners in both languages."""

    text_zh: str
    text_en: str
    level: Literal["info", "warning"] = "info"
    code: str = ""

    def text(self) -> str:
        """``中文 / English`` as one line."""
        return f"{self.text_zh} / {self.text_en}" if self.text_en else self.text_zh

    def __str__(self) -> str:
        return self.text()

    @classmethod
    def from_text(cls, text: str, level: Literal["info", "warning"] = "info", code: str = "") -> Note:
        """A note from a ``中文 / English`` line: split at the first ``/`` that follows Chinese text and
        precedes English.

        A line without such a separator is kept whole as ``text_zh`` (``text()`` gives it back unchanged).
        """
        for m in re.finditer(r" ?/ ", text):
            left, right = text[:m.start()], text[m.end():]
            if not left.isascii() and right[:1].isascii() and right[:1].strip():
                return cls(left, right, level, code)
        return cls(text, "", level, code)


@dataclass(frozen=True)
class LayerRecord:
    """A catalog layer an analysis read."""

    layer_id: str
    role: str
    synthetic: bool
    version: str = ""
    source: str = ""


@dataclass(frozen=True)
class ParamRecord:
    """A parameter value an analysis used, with its unit and source (document number or dataset)."""

    key: str
    value: Any
    unit: str = ""
    source: str = ""


@dataclass
class Provenance:
    """What a result was computed from.

    Attributes
    ----------
    layers : list of LayerRecord
        Catalog layers read.
    parameters : list of ParamRecord
        Parameter values with units and sources.
    data_files : dict
        Package or user data file name -> sha256 of its bytes (rules, factors, roles, CRS settings ...).
    inputs : list of str
        User input files (display paths, never absolute paths of the machine that ran it).
    """

    layers: list[LayerRecord] = field(default_factory=list)
    parameters: list[ParamRecord] = field(default_factory=list)
    data_files: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        """True if any layer read is synthetic (every map and report must say so)."""
        return any(layer.synthetic for layer in self.layers)

    @property
    def synthetic_layers(self) -> list[str]:
        """Ids of the synthetic layers read."""
        return [layer.layer_id for layer in self.layers if layer.synthetic]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (manifest, API)."""
        return {**asdict(self), "synthetic": self.synthetic}   # asdict copies the lists and records too


@dataclass(frozen=True)
class OutputFile:
    """A file a result writes: declared once, used by ``write``, the CLI, studies and the manifest.

    ``tables`` names the result tables that go into the file (several for a GeoPackage with layers).
    """

    name: str
    format: Literal["gpkg", "csv", "json", "geojson", "geoparquet", "tif", "html", "md"]
    tables: tuple[str, ...] = ()
    description_zh: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class ReportColumn:
    """A column of a report table: a row key, by default headed with its column-registry label and unit."""

    key: str
    numeric: bool = False
    digits: int = 0
    header: str | None = None


@dataclass(frozen=True)
class ReportTable:
    """A table of a report section: rows (mappings) and the columns shown, with an optional heading."""

    rows: Sequence[Mapping[str, Any]]
    columns: tuple[ReportColumn, ...]
    heading: str | None = None


@dataclass(frozen=True)
class ReportChart:
    """A bar chart of a report section: one bar per label; ``fmt`` formats the value written on each bar."""

    labels: list[str]
    values: list[float]
    title: str
    xlabel: str
    fmt: str = "{:,.0f}"
    colours: list[str] | None = None


@dataclass(frozen=True)
class ReportSection:
    """What an analysis shows in the study report; the report draws every section the same way.

    Attributes
    ----------
    figure_title : str
        Title of the static map figure.
    figure_layers : tuple
        ``figures.FigureLayer`` objects drawn over the study's context layers (none: no figure).
    chart : ReportChart, optional
    tables : tuple of ReportTable
    notes : tuple of str
        Bilingual notes listed under the tables.
    see_also : (str, str, str), optional
        A pointer to further outputs: text before the link, the link (relative to the analysis's output
        folder), text after it.
    appendix : tuple of ReportTable
        Tables for the report's appendix of rules and sources (e.g. the screening rules).
    """

    figure_title: str = ""
    figure_layers: tuple[Any, ...] = ()
    chart: ReportChart | None = None
    tables: tuple[ReportTable, ...] = ()
    notes: tuple[str, ...] = ()
    see_also: tuple[str, str, str] | None = None
    appendix: tuple[ReportTable, ...] = ()


class Result:
    """Base of every analysis result.  Subclasses fill the attributes and may override ``write``.

    Attributes
    ----------
    analysis : str
        Registry name of the analysis that produced it.
    outputs : tuple of OutputFile
        The files ``write`` produces (class attribute).
    tables : dict
        Named tables.
    summary : pandas.DataFrame
        Headline figures, columns ``label_zh``, ``label_en``, ``value``, ``unit``, ``source``.
    notes : list of Note
    provenance : Provenance
    """

    analysis: ClassVar[str] = ""
    outputs: ClassVar[tuple[OutputFile, ...]] = ()

    notes: list[Note]
    provenance: Provenance

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Named tables (GeoDataFrames or DataFrames), the analysis's real output."""
        raise NotImplementedError

    @property
    def summary(self) -> pd.DataFrame:
        """Headline figures with the :data:`SUMMARY_COLUMNS`."""
        raise NotImplementedError

    @property
    def synthetic(self) -> bool:
        """True if any layer read is synthetic."""
        return self.provenance.synthetic

    @classmethod
    def output_names(cls) -> list[str]:
        """File names of ``outputs``, in declaration order (what ``write`` produces)."""
        return [o.name for o in cls.outputs]

    def write(self, out_dir: str | Path, *, overwrite: bool = False) -> dict[str, Path]:
        """Write ``outputs`` into ``out_dir`` all or nothing and return file name -> path.

        The files are written by :meth:`write_into` into a staging folder and moved into ``out_dir``
        only when every one is written (:func:`sanxian_yidan.outputs.staged_output`); other files in
        ``out_dir`` are left alone.

        Raises
        ------
        OutputExistsError
            A declared output already exists in ``out_dir`` and ``overwrite`` is false.
        OutputError
            ``out_dir`` cannot be written.
        """
        from .outputs import staged_output

        out = Path(out_dir)
        with staged_output(out, overwrite=overwrite, names=self.output_names()) as stage:
            written = self.write_into(stage)
        return {name: out / Path(path).relative_to(stage) for name, path in written.items()}

    def write_into(self, folder: Path) -> dict[str, Path]:
        """Write ``outputs`` into ``folder`` (which exists) without staging; return file name -> path.

        For callers that stage a whole run themselves (the CLI adds a map, a study many analyses).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement write_into")

    def map_layers(self) -> list[Any]:
        """Map layers (``maps.MapLayer`` / ``maps.RasterLayer``) this result contributes."""
        return []

    def report_section(self, options: Mapping[str, Any], catalog: Catalog) -> ReportSection | None:
        """This result's section of the study report (``None``: the report shows only its summary rows).

        Parameters
        ----------
        options : mapping
            The analysis's section of the study file (e.g. ``top``, how many rows the tables show).
        catalog : Catalog
            The study's catalog view (restricted to its region), for context such as township polygons.
        """
        return None

    def write_extras(self, folder: Path, *, generated: datetime | None = None, catalog: Catalog | None = None,
                     pdf: bool = False) -> list[Path]:
        """Write the files a study adds beside ``outputs`` into ``folder`` (which exists); return their paths.

        ``generated`` is the run time printed on them, ``catalog`` the study's catalog view, ``pdf`` asks for
        PDF copies.  By default there are none.
        """
        return []

    def headline(self) -> str:
        """One line for a terminal summary (``sanxian study run``): by default the first summary rows."""
        rows = self.summary.head(3).to_dict("records")
        return ", ".join(f"{r['label_en']} {_short_number(r['value'])} {r['unit']}".strip() for r in rows)


@dataclass(frozen=True)
class Analysis:
    """A registered analysis.

    Attributes
    ----------
    name : str
        Registry key, also the study-file section and CLI command (``screening``, ``rooftops`` ...).
    title_zh, title_en : str
        Planner-facing names.
    run : callable
        ``run(catalog, *inputs, params=None, progress=None) -> Result``; inputs are frames, never paths.
    result_type : type
        The :class:`Result` subclass it returns.
    roles : tuple of str
        Catalog roles of which the analysis needs at least one: a study whose catalog has none of them
        reports the analysis as skipped instead of failing.
    from_options : callable, optional
        ``from_options(catalog, options, progress=None) -> Result``: the boundary that reads the files a
        study section (or CLI) names (``projects = "x.geojson"``) and calls ``run``.  Default: ``run(catalog,
        params=options.get("params"), progress=progress)``.
    """

    name: str
    title_zh: str
    title_en: str
    run: Callable[..., Result]
    result_type: type[Result] = Result
    roles: tuple[str, ...] = ()
    from_options: Callable[..., Result] | None = None

    @property
    def title(self) -> str:
        """``中文 / English``."""
        return f"{self.title_zh} / {self.title_en}"

    def run_options(self, catalog: Catalog, options: Mapping[str, Any], progress: Any = None) -> Result:
        """Run from a study section or CLI options (files named there are read here, at the boundary)."""
        if self.from_options is not None:
            return self.from_options(catalog, options, progress=progress)
        return self.run(catalog, params=options.get("params"), progress=progress)

    @property
    def outputs(self) -> tuple[OutputFile, ...]:
        """Files the analysis writes (from its result type)."""
        return self.result_type.outputs


_REGISTRY: dict[str, Analysis] = {}
_BUILTIN_MODULES = (
    "sanxian_yidan.screening",
    "sanxian_yidan.rooftop",
    "sanxian_yidan.brownfield",
    "sanxian_yidan.mines",
)


def register(analysis: Analysis) -> Analysis:
    """Add ``analysis`` to the registry (a later registration under the same name replaces it)."""
    _REGISTRY[analysis.name] = analysis
    return analysis


def analyses() -> dict[str, Analysis]:
    """All registered analyses, in registration order (built-ins first)."""
    from importlib import import_module

    for module in _BUILTIN_MODULES:
        import_module(module)
    return dict(_REGISTRY)


def get_analysis(name: str) -> Analysis:
    """The registered analysis ``name``; a clear error listing the known names otherwise."""
    known = analyses()
    if name not in known:
        raise SanxianError(f"未知的分析 unknown analysis {name!r}. Known: {', '.join(known) or '—'}")
    return known[name]


#: Package data files every analysis depends on: the role vocabulary (which layer is what), the CRS
#: settings (normalisation), the map settings and styles (maps, GeoPackage styles) and the column
#: registry (labels and units of every output column).
COMMON_DATA_FILES = ("roles.toml", "crs.toml", "maps.toml", "styles.toml")


def common_data_files() -> list[Path]:
    """Paths of :data:`COMMON_DATA_FILES` and of every ``columns/*.toml`` of the package."""
    from .datafiles import packaged_path

    columns = sorted(packaged_path("columns").glob("*.toml"))
    return [packaged_path(name) for name in COMMON_DATA_FILES] + columns


def parameter_files(name: str, params: object) -> list[Path]:
    """The packaged parameter file ``name`` and, when ``params`` is a path, the user file merged over it."""
    from .datafiles import packaged_path

    return [packaged_path(name)] + ([Path(params)] if isinstance(params, (str, Path)) else [])


def layer_records(entries: Iterable[LayerEntry], role: str | None = None) -> list[LayerRecord]:
    """:class:`LayerRecord` of catalog entries (``catalog.LayerEntry``), in the order given."""
    return [LayerRecord(layer_id=e.id, role=role or e.role, synthetic=bool(e.synthetic),
                        version=str(getattr(e, "version", "") or ""), source=str(e.source or ""))
            for e in entries]


def tracked_layer_records(tracked: TrackedCatalog) -> list[LayerRecord]:
    """Records of every layer a :class:`~sanxian_yidan.provenance.TrackedCatalog` served, sorted by id.

    A layer counts as synthetic when its catalog entry says so or when any feature read from it is
    flagged (what the tracked catalog recorded).
    """
    synthetic = set(tracked.synthetic_layers())
    entries = [e for layer_id in tracked.used_layers() for e in tracked.catalog.entries_for(layer_id)[:1]]
    return [replace(rec, synthetic=rec.layer_id in synthetic) for rec in layer_records(entries)]


def frame_layer_records(frame: pd.DataFrame | None, role: str = "", *, role_column: str | None = None) -> list[LayerRecord]:
    """The layers the features of ``frame`` come from (its ``layer_id`` column), one record each, sorted.

    A layer is synthetic when any of its features is (a true ``synthetic`` value); its role is ``role``
    or the first feature's ``role_column`` value, its source the first feature's ``source``.  For the
    main input of an analysis (candidate sites, mines, user parcels), which need not be a catalog layer.
    """
    if frame is None or len(frame) == 0:
        return []
    cols = frame.columns
    table = pd.DataFrame({
        "layer_id": frame["layer_id"].astype(str) if "layer_id" in cols else role,
        "synthetic": frame["synthetic"].fillna(False).astype(bool) if "synthetic" in cols else False,
        "source": frame["source"].astype(str) if "source" in cols else "",
        "role": frame[role_column].astype(str) if role_column and role_column in cols else role})
    grouped = table.groupby("layer_id", sort=True).agg(synthetic=("synthetic", "any"), source=("source", "first"),
                                                       role=("role", "first"))
    return [LayerRecord(str(i), r.role, bool(r.synthetic), source=r.source) for i, r in grouped.iterrows()]


def merge_layer_records(*groups: Iterable[LayerRecord]) -> list[LayerRecord]:
    """One record per layer id (sorted), synthetic if any group says so."""
    merged: dict[str, LayerRecord] = {}
    for group in groups:
        for rec in group:
            old = merged.get(rec.layer_id)
            merged[rec.layer_id] = rec if old is None else replace(old, synthetic=old.synthetic or rec.synthetic)
    return [merged[k] for k in sorted(merged)]


def _short_number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def summary_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A summary table with exactly :data:`SUMMARY_COLUMNS` (missing keys become empty strings)."""
    records = [{c: row.get(c, "") for c in SUMMARY_COLUMNS} for row in rows]
    frame = pd.DataFrame(records, columns=list(SUMMARY_COLUMNS))
    # Object values: a count stays an integer beside a float figure (no "12.0 projects").
    frame["value"] = pd.Series([r["value"] for r in records], index=frame.index, dtype=object)
    return frame
