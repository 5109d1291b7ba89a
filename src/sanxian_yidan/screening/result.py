"""The screening result: project verdicts, findings, overlaps and distances, and their JSON/GPKG/CSV forms.

:class:`ScreeningResult` is an :class:`~sanxian_yidan.analysis.Result`: the CLI, studies, reports, maps and the
manifest read its ``tables``, ``summary``, ``notes``, ``provenance``, ``outputs`` and ``map_layers()``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import geopandas as gpd
import pandas as pd

from ..analysis import (
    LayerRecord,
    Note,
    OutputFile,
    ParamRecord,
    Provenance,
    ReportChart,
    ReportColumn,
    ReportSection,
    ReportTable,
    Result,
    common_data_files,
    summary_frame,
)
from ..columns import format_table, label
from ..io.gpkg import write_settings
from ..provenance import data_file_hashes, data_file_name
from ..rules import (
    VERDICT_EN,
    VERDICT_ZH,
    VERDICTS,
    RuleSet,
)
from ..schemas import assemble

if TYPE_CHECKING:
    from ..catalog import Catalog

__all__ = ["ACCESS_LIST_FIELDS", "SCHEMA_VERSION", "SCREENING_DATA_FILES", "LayerUse", "ScreeningResult", "clean_value"]

#: Version of the JSON output schema (docs/screening_schema.md).
SCHEMA_VERSION = 1
#: Canonical attributes of the access list (准入清单) of a control unit, in report order.
ACCESS_LIST_FIELDS = ("list_space", "list_pollution", "list_risk", "list_resource")

# ================================================================================================== result
@dataclass(frozen=True)
class LayerUse:
    """A catalog layer used by a screening run (for provenance and the synthetic-data banner)."""

    role: str
    layer_id: str
    title_zh: str
    title_en: str
    synthetic: bool
    source: str


#: Package data files a screening run depends on besides its rule files and the common ones.
SCREENING_DATA_FILES = ("screening.toml", "industries.toml")
#: Parameters of a run recorded in the provenance: key -> (unit, section of ``screening.toml`` citing its source).
_PARAMETERS = {"radius_m": ("m", "footprint"), "sliver_m2": ("m²", "sliver"), "sliver_width_m": ("m", "sliver"),
               "search_m": ("m", "distance"), "threads": ("", "performance"), "industry": ("", ""),
               "project_type": ("", ""), "crs": ("", ""), "working_crs": ("", "")}


@dataclass
class ScreeningResult(Result):
    """Everything a screening run produced.

    Attributes
    ----------
    projects : geopandas.GeoDataFrame
        One row per project (footprint geometry): ``project_id``, ``project_name``, ``industry``,
        ``industry_name``, ``two_high``, ``project_type``, ``footprint``, ``footprint_area_m2``, ``verdict``,
        ``verdict_zh``, ``complete``, ``outside_coverage_share`` (share of the footprint outside the data
        coverage, 0-1; NaN when the coverage layer is missing), ``n_findings``, ``counties``,
        ``synthetic_data``.
    overlaps : geopandas.GeoDataFrame
        Overlap pieces (not slivers) with the overlapped feature's attributes: ``project_id``, ``role``,
        ``layer_id``, ``feature_code``, ``feature_name``, ``feature_category``, ``feature_level``,
        ``feature_county``, ``overlap_area_m2``, ``overlap_share``, ``feature_synthetic``,
        ``feature_source`` and, for control units, the access-list texts ``list_space`` ... ``list_resource``.
    findings : pandas.DataFrame
        One row per finding, note or not-evaluated rule (see ``docs/screening_schema.md``).
    distances : pandas.DataFrame
        Nearest feature per project and reported role: ``project_id``, ``role``, ``feature_name``,
        ``distance_m``, ``feature_synthetic``, ``nearer_beyond_data`` (the data stop within that distance of
        the footprint: a nearer feature may lie outside them).
    slivers : pandas.DataFrame
        Overlap pieces below the sliver tolerance (``notes`` in the JSON).
    layers_used : list of LayerUse
        Catalog layers read.
    missing_roles : list of str
        Roles needed by rules or reports that the catalog lacks.
    rules : RuleSet
        The rules applied.
    parameters : dict
        Radius, sliver tolerance, input and catalog paths, defaults for industry and type.
    repairs : list
        Geometry repairs made to the project input (``normalize.Repair``).

    The :class:`~sanxian_yidan.analysis.Result` surface: ``tables`` (``projects``, ``overlaps``, ``findings``,
    ``distances``, ``slivers``), ``summary`` (projects and findings per verdict), ``notes``, ``provenance``,
    ``write`` (the files of ``outputs``) and ``map_layers()``.
    """

    analysis: ClassVar[str] = "screening"
    outputs: ClassVar[tuple[OutputFile, ...]] = (
        OutputFile("screening.json", "json", ("projects", "findings", "overlaps", "distances", "slivers"),
                   "每个项目的研判记录", "one record per project (docs/screening_schema.md)"),
        OutputFile("screening.gpkg", "gpkg", ("projects", "overlaps", "findings", "distances", "slivers"),
                   "项目、叠加部分与研判发现", "projects, overlap pieces, findings, distances, notes"),
        OutputFile("screening.csv", "csv", ("projects",), "每个项目一行的汇总", "one summary row per project"),
    )

    projects: gpd.GeoDataFrame
    overlaps: gpd.GeoDataFrame
    findings: pd.DataFrame
    distances: pd.DataFrame
    slivers: pd.DataFrame
    layers_used: list[LayerUse]
    missing_roles: list[str]
    rules: RuleSet
    parameters: dict[str, Any]
    repairs: list[Any] = field(default_factory=list)

    # -- the Result surface ----------------------------------------------------------------------------
    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """``projects``, ``overlaps``, ``findings``, ``distances`` and ``slivers``."""
        return {"projects": self.projects, "overlaps": self.overlaps, "findings": self.findings,
                "distances": self.distances, "slivers": self.slivers}

    @property
    def summary(self) -> pd.DataFrame:
        """Projects screened, projects per verdict (most severe first), findings and rules not evaluated."""
        kinds = self.findings["kind"].value_counts() if len(self.findings) else pd.Series(dtype=int)
        rule_files = ", ".join(data_file_name(f) for f in self.rules.files)
        rows = [{"label_zh": "研判项目", "label_en": "projects screened", "value": len(self.projects),
                 "unit": "个 / projects"}]
        rows += [{"label_zh": f"结论：{VERDICT_ZH[v]}", "label_en": f"verdict: {VERDICT_EN[v]}", "value": n,
                  "unit": "个 / projects", "source": rule_files}
                 for v, n in self.verdict_counts().items()]
        rows += [{"label_zh": "研判发现", "label_en": "findings", "value": int(kinds.get("finding", 0)),
                  "unit": "条 / rows", "source": rule_files},
                 {"label_zh": "未评估的规则", "label_en": "rules not evaluated",
                  "value": int(kinds.get("not_evaluated", 0)), "unit": "条 / rows", "source": rule_files}]
        return summary_frame(rows)

    @property
    def notes(self) -> list[Note]:  # type: ignore[override]
        """Synthetic layers, roles missing from the catalog, what reading the project file assumed or repaired
        (each note of the reader is already in both languages) and repairs of the project geometries."""
        notes = []
        if self.synthetic:
            notes.append(Note("含合成示例图层（非官方分区）：" + "、".join(self.synthetic_layers),
                              "synthetic sample layers (not official zoning): " + ", ".join(self.synthetic_layers),
                              "warning", "synthetic"))
        if self.missing_roles:
            notes.append(Note("图层目录缺少以下角色，相关规则未评估：" + "、".join(self.missing_roles),
                              "roles missing from the catalog (their rules were not evaluated): "
                              + ", ".join(self.missing_roles), "warning", "roles_missing"))
        notes.extend(Note(text, "", "warning", "input") for text in self.parameters.get("input_notes", []))
        for repair in (r for r in self.repairs if r.kind != "reprojected"):    # reprojecting is no repair
            notes.append(Note(f"项目几何已修复（{repair.kind}）：{repair.count} 个",
                              f"project geometries repaired ({repair.kind}): {repair.count}; {repair.detail}",
                              "info", f"repair:{repair.kind}"))
        return notes

    @property
    def provenance(self) -> Provenance:  # type: ignore[override]
        """Layers read, parameters (the run's settings and every rule, with sources) and data files."""
        from ..datafiles import packaged_path

        sources = self.parameters.get("settings_sources", {})
        params = [ParamRecord(key, self.parameters[key], unit, sources.get(section, "") if section else "")
                  for key, (unit, section) in _PARAMETERS.items() if self.parameters.get(key) is not None]
        params += [ParamRecord(f"rules.{r.id}", f"{r.severity}: {r.describe_test()}", "", r.source)
                   for r in self.rules]
        files: list[Any] = [*self.rules.files, *(packaged_path(n) for n in SCREENING_DATA_FILES), *common_data_files()]
        return Provenance(
            layers=[LayerRecord(u.layer_id, u.role, u.synthetic, "", u.source) for u in self.layers_used],
            parameters=params, data_files=data_file_hashes(files),
            inputs=[self.parameters["projects"]] if self.parameters.get("projects") else [])

    def write_into(self, folder: Path) -> dict[str, Path]:
        """Write the files of ``outputs`` into ``folder``: JSON records, GeoPackage and CSV summary.

        The reports (report.html, report.md, one sheet per project) render these results:
        :func:`sanxian_yidan.report.write_screening_reports` writes them.
        """
        folder = Path(folder)
        paths = [self.to_json(folder / "screening.json"), self.to_gpkg(folder / "screening.gpkg"),
                 self.to_csv(folder / "screening.csv")]
        return {p.name: p for p in paths}

    def headline(self) -> str:
        """Projects per verdict, e.g. ``禁止 prohibited 1, 符合 compliant 4``."""
        return ", ".join(f"{VERDICT_ZH[k]} {VERDICT_EN[k]} {n}" for k, n in self.verdict_counts().items() if n)

    def map_layers(self) -> list[Any]:
        """Project footprints coloured by verdict, with findings and sources in the popups."""
        from ..resultmaps import screening_layers

        return screening_layers(self)

    def report_section(self, options: Mapping[str, Any], catalog: Catalog) -> ReportSection:
        """Verdict chart, the footprints by verdict, one row per project; the rules go to the appendix."""
        from ..figures import FigureLayer
        from ..htmlstyle import verdict_colour
        from ..maps.styles import verdict_labels

        counts = {k: v for k, v in self.verdict_counts().items() if v}
        labels = verdict_labels()
        rules = [{"id": r.id, "title": f"{r.title_zh} / {r.title_en}", "severity": r.severity, "source": r.source}
                 for r in self.rules.rules]
        return ReportSection(
            figure_title="拟建项目研判结论 / Screening verdicts of the proposed projects",
            figure_layers=(FigureLayer(self.projects, "projects", column="verdict", markers=True),),
            chart=ReportChart([labels.get(v, v) for v in counts], list(counts.values()), "研判结论 / Verdicts",
                              "项目数 / projects", colours=[verdict_colour(v) for v in counts]),
            tables=(ReportTable(self.summary_table().to_dict("records"), tuple(map(ReportColumn, (
                "project_id", "project_name", "industry", "verdict_zh", "verdict", "n_findings", "rule_ids",
                "counties")))),),
            see_also=("每个项目的详细研判（发现、依据、准入清单原文）见 ", "report.html",
                      "，可打印的单页研判单见 screening/sheets/ / Findings with citations and access-list texts per "
                      "project: screening/report.html; a printable one-page sheet per project: screening/sheets/"),
            appendix=(ReportTable(rules, (ReportColumn("id", header="规则 / Rule"),
                                          ReportColumn("title", header="标题 / Title"),
                                          ReportColumn("severity", header="等级 / Severity"),
                                          ReportColumn("source", header="依据 / Source")),
                                  "准入规则 / Screening rules"),))

    def write_extras(self, folder: Path, *, generated: datetime | None = None, catalog: Catalog | None = None,
                     pdf: bool = False) -> list[Path]:
        """The screening report (``report.html``, ``report.md``) and one printable sheet per project
        (``sheets/<id>.html``, with ``pdf`` also ``.pdf``), drawn over ``catalog``'s constraint layers."""
        from ..report import write_screening_reports

        return write_screening_reports(self, folder, generated=generated, catalog=catalog, pdf=pdf)

    # -- summaries ------------------------------------------------------------------------------------
    @property
    def synthetic(self) -> bool:
        """True if any layer used is synthetic (reports must show the SAMPLE DATA banner)."""
        return any(layer.synthetic for layer in self.layers_used)

    @property
    def synthetic_layers(self) -> list[str]:
        """Ids of the synthetic layers used."""
        return [layer.layer_id for layer in self.layers_used if layer.synthetic]

    def verdict_counts(self) -> dict[str, int]:
        """Number of projects per verdict, most severe first."""
        counts = self.projects["verdict"].value_counts()
        return {v: int(counts.get(v, 0)) for v in VERDICTS}

    # -- records ---------------------------------------------------------------------------------------
    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per project, in input order (schema: ``docs/screening_schema.md``)."""
        findings = _group_rows(_row_dicts(self.findings), _finding_record)
        # The overlap rows are converted once and split by role in Python: per-role pandas queries on the
        # few rows of a single project cost more than the records themselves.
        overlap_rows = _row_dicts(self.overlaps)
        overlaps = _group_rows(overlap_rows, _overlap_record)
        access = _group_rows([r for r in overlap_rows if r["role"] == "control_unit"], _access_record)
        counties = _group_rows([r for r in overlap_rows if r["role"] == "admin_boundary"], _county_record)
        distances = _group_rows(_row_dicts(self.distances), _distance_record)
        notes = _group_rows(_row_dicts(self.slivers), _sliver_record)
        out = []
        for row in _row_dicts(self.projects):
            pid, two_high = row["project_id"], clean_value(row["two_high"])
            f = findings.get(pid, [])
            out.append({
                "schema_version": SCHEMA_VERSION,
                "id": pid,
                "name": clean_value(row["project_name"]),
                "verdict": row["verdict"],
                "verdict_zh": row["verdict_zh"],
                "verdict_en": VERDICT_EN[row["verdict"]],
                "complete": bool(row["complete"]),
                "outside_coverage_share": _num(row["outside_coverage_share"], 6),
                "industry": clean_value(row["industry"]),
                "industry_name_zh": clean_value(row["industry_name"]),
                "two_high": None if two_high is None else bool(two_high),
                "project_type": clean_value(row["project_type"]),
                "footprint": row["footprint"],
                "area_m2": _num(row["footprint_area_m2"]),
                "counties": counties.get(pid, []),
                "findings": f,
                "not_evaluated": [x["rule_id"] for x in f if x["kind"] == "not_evaluated"],
                "overlaps": [o for o in overlaps.get(pid, []) if o["role"] != "admin_boundary"],
                "access_lists": access.get(pid, []),
                "distances": distances.get(pid, []),
                "notes": notes.get(pid, []),
                "synthetic_data": bool(row["synthetic_data"]),
            })
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the records as a JSON list (UTF-8, Chinese kept readable)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_records(), ensure_ascii=False, indent=2, allow_nan=False) + "\n",
                        encoding="utf-8")
        return path

    def to_csv(self, path: str | Path) -> Path:
        """Write the per-project summary as CSV (UTF-8 with BOM for Excel; bilingual headers with units)."""
        from ..outputs import write_csv

        path = Path(path)
        table = self.summary_table()
        return write_csv(format_table(table).rename(columns={c: label(c) for c in table.columns}), path)

    def summary_table(self) -> pd.DataFrame:
        """Per-project summary (the CSV content, machine column names)."""
        out = pd.DataFrame(self.projects.drop(columns="geometry"))
        f = self.findings
        rule_ids = f[f["kind"] == "finding"].groupby("project_id")["rule_id"].agg("; ".join).to_dict()
        not_eval = f[f["kind"] == "not_evaluated"].groupby("project_id")["rule_id"].agg("; ".join).to_dict()
        out["rule_ids"] = [rule_ids.get(p, "") for p in out["project_id"]]
        out["rules_not_evaluated"] = [not_eval.get(p, "") for p in out["project_id"]]
        return assemble("screening_summary", out)    # columns and order: data/tables.toml

    def to_gpkg(self, path: str | Path) -> Path:
        """Write layers ``projects`` and ``overlaps`` (geometries) and ``findings``, ``distances``,
        ``notes`` (tables) to a GeoPackage, replacing the file."""
        import pyogrio

        path = Path(path)
        path.unlink(missing_ok=True)
        with write_settings():
            pyogrio.write_dataframe(self.projects, path, layer="projects", driver="GPKG", promote_to_multi=True)
            pyogrio.write_dataframe(self.overlaps, path, layer="overlaps", driver="GPKG", promote_to_multi=True,
                                    geometry_type="MultiPolygon")
            for name, frame in (("findings", self.findings), ("distances", self.distances),
                                ("notes", self.slivers)):
                pyogrio.write_dataframe(pd.DataFrame(frame), path, layer=name, driver="GPKG")
        __import__("sanxian_yidan.resultmaps").resultmaps.style_result_gpkg(path)  # QGIS styles = the map's look
        return path


def clean_value(value: Any) -> Any:
    """``value``, or None where it is missing (None, NaN, ``pd.NA``)."""
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value


def _num(value: Any, digits: int = 2) -> float | None:
    value = clean_value(value)
    return None if value is None else round(float(value), digits)


def _row_dicts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` (without its geometry) as dicts of Python values, like ``to_dict("records")``.

    Converted column by column (``Series.tolist`` gives the same Python values): on the few rows of one
    project, ``to_dict`` and dropping the geometry first cost more than the records themselves.
    """
    if frame is None or len(frame) == 0:
        return []
    columns = {name: series.tolist() for name, series in frame.items() if name != "geometry"}
    return [dict(zip(columns, row)) for row in zip(*columns.values())]


def _group_rows(rows: list[dict[str, Any]], make: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, list]:
    out: dict[str, list] = {}
    for rec in rows:
        out.setdefault(rec["project_id"], []).append(make(rec))
    return out


def _finding_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "rule_id": r["rule_id"], "kind": r["kind"], "reason": clean_value(r.get("reason")), "severity": r["severity"],
        "severity_zh": r["severity_zh"],
        "rule_severity": r["rule_severity"], "title_zh": r["title_zh"], "title_en": r["title_en"],
        "role": r["role"], "predicate": r["predicate"], "test": r["test"],
        "test_zh": r.get("test_zh"),
        "area_m2": _num(r["overlap_area_m2"]), "share": _num(r["overlap_share"], 6),
        "distance_m": _num(r["distance_m"], 1), "value": clean_value(r["value"]),
        "features": clean_value(r["features"]),
        "message_zh": r["message_zh"], "message_en": r["message_en"],
        "note_zh": clean_value(r.get("note_zh")), "note_en": clean_value(r.get("note_en")), "source": r["rule_source"],
        "assumption": bool(r["assumption"]), "synthetic": bool(r["feature_synthetic"]),
    }


def _overlap_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"role": r["role"], "layer_id": r["layer_id"], "code": clean_value(r["feature_code"]),
            "name": clean_value(r["feature_name"]), "category": clean_value(r["feature_category"]),
            "level": clean_value(r["feature_level"]), "area_m2": _num(r["overlap_area_m2"]),
            "share": _num(r["overlap_share"], 6), "synthetic": bool(r["feature_synthetic"])}


def _access_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": clean_value(r["feature_code"]), "name": clean_value(r["feature_name"]),
            "category": clean_value(r["feature_category"]),
            **{k.removeprefix("list_"): clean_value(r.get(k)) for k in ACCESS_LIST_FIELDS},
            "synthetic": bool(r["feature_synthetic"])}


def _county_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": clean_value(r["feature_code"]), "name": clean_value(r["feature_name"]),
            "area_m2": _num(r["overlap_area_m2"]), "share": _num(r["overlap_share"], 6)}


def _distance_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"role": r["role"], "name": clean_value(r["feature_name"]), "distance_m": _num(r["distance_m"], 1),
            "synthetic": bool(r["feature_synthetic"]), "nearer_beyond_data": bool(r.get("nearer_beyond_data", False))}


def _sliver_record(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"role": r["role"], "code": clean_value(r["feature_code"]), "name": clean_value(r["feature_name"]),
            "area_m2": _num(r["overlap_area_m2"], 4), "mean_width_m": _num(r["mean_width_m"], 4),
            "message_zh": r["message_zh"], "message_en": r["message_en"]}


