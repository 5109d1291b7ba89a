"""The result of a rooftop run (:class:`RooftopResult`) and the names of its columns.

:class:`RooftopResult` is an :class:`~sanxian_yidan.analysis.Result`: the CLI, studies, reports, maps and the
manifest read its ``tables``, ``summary``, ``notes``, ``provenance``, ``outputs`` and ``map_layers()``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import geopandas as gpd
import numpy as np
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
from ..provenance import data_file_hashes
from .names import AGGREGATE_SUMS, BUILDING_COLUMNS, TOTAL, UNASSIGNED

if TYPE_CHECKING:
    from ..catalog import Catalog
    from .params import RooftopParams

__all__ = ["AGGREGATE_SUMS", "BUILDING_COLUMNS", "TOTAL", "UNASSIGNED", "RooftopResult"]

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# result
# ------------------------------------------------------------------------------------------------
#: Package data files a rooftop run depends on besides the common ones.
ROOFTOP_DATA_FILES = ("rooftop.toml", "solar.toml", "benefits.toml")


class _SummaryTable(pd.DataFrame):
    """The summary table, still answering ``summary["key"]`` for the run details it held as a dict before.

    Deprecated: read ``RooftopResult.details["key"]`` instead (the dict form goes in the next release).
    """

    _metadata = ["_details"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame          # derived frames are plain tables

    def __getitem__(self, key: Any) -> Any:
        details = self.__dict__.get("_details") or {}
        if isinstance(key, str) and key not in self.columns and key in details:
            warnings.warn(f"RooftopResult.summary[{key!r}] is deprecated: summary is now the summary table; "
                          f"use RooftopResult.details[{key!r}]", DeprecationWarning, stacklevel=2)
            return details[key]
        return super().__getitem__(key)


@dataclass
class RooftopResult(Result):
    """Outcome of :func:`rooftop_potential`.

    Attributes
    ----------
    buildings : geopandas.GeoDataFrame
        One row per building kept (see :data:`BUILDING_COLUMNS`), input attributes after them.
    townships : pandas.DataFrame
        One row per (county, township): counts and the sums of :data:`AGGREGATE_SUMS`, ``rank``.
    counties : pandas.DataFrame
        One row per county and a total row (``county == "合计 / total"``).
    categories : pandas.DataFrame
        Per county and use category: roof area, technical and policy-target capacity, pilot share.
    yield_classes : pandas.DataFrame
        The distinct orientation classes and their specific yield (computed once each).
    details : dict
        Counts (input, kept, dropped, repaired, excluded by reason, use defaulted / unmapped values,
        roof defaulted), ``exclusions_not_applied`` (exclusion role -> why it was not applied, e.g.
        ``"layer missing from the catalog"``), ``area_source`` (``"none"`` = no township
        aggregation), site used for the yield, weather source, factor provenance (``factors``:
        kind -> :class:`~sanxian_yidan.benefits.Factor`; ``unconfirmed_factors``: ids), the
        synthetic flag and ``synthetic_layers``: ids of every synthetic layer that influenced a
        number (the footprints, catalog exclusion layers, townships, extra layers given).
        (Before this release this dict was ``summary``; ``summary["key"]`` still works, with a warning.)
    params : RooftopParams, optional
        The parameters in force (their sources go into ``provenance``).
    layers_used : list of LayerRecord
        Catalog layers read (footprints, exclusion layers, townships).

    The :class:`~sanxian_yidan.analysis.Result` surface: ``tables``, ``summary`` (buildings, capacity,
    generation, CO₂ totals), ``notes``, ``provenance``, ``write`` (the files of ``outputs``) and ``map_layers()``.
    """

    analysis: ClassVar[str] = "rooftops"
    outputs: ClassVar[tuple[OutputFile, ...]] = (
        OutputFile("rooftops.gpkg", "gpkg", ("buildings",), "每栋建筑的屋顶光伏潜力",
                   "rooftop PV potential per building (factor provenance in the layer metadata)"),
        OutputFile("rooftops_by_township.csv", "csv", ("townships", "counties"), "按乡镇、县汇总",
                   "technical and policy-target capacity per township, county and total"),
        OutputFile("rooftops_factors.csv", "csv", (), "协同效益系数及来源", "co-benefit factors with sources"),
    )

    buildings: gpd.GeoDataFrame
    townships: pd.DataFrame
    counties: pd.DataFrame
    categories: pd.DataFrame
    yield_classes: pd.DataFrame
    details: dict[str, Any]
    params: RooftopParams | None = None
    layers_used: list[LayerRecord] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        """True when any layer behind the numbers was synthetic (reports must say so)."""
        return bool(self.details.get("synthetic"))

    # -- the Result surface ----------------------------------------------------------------------------
    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """``buildings``, ``townships``, ``counties``, ``categories`` and ``yield_classes``."""
        return {"buildings": self.buildings, "townships": self.townships, "counties": self.counties,
                "categories": self.categories, "yield_classes": self.yield_classes}

    @property
    def summary(self) -> pd.DataFrame:
        """Buildings read and included, technical and policy-target capacity, generation and avoided CO₂."""
        d = self.details
        totals = d.get("totals", {})
        co2 = d.get("factors", {}).get("co2")
        rows = (("读取建筑", "buildings read", d.get("input_features"), "栋 / buildings", ""),
                ("纳入计算的建筑", "buildings included", d.get("included"), "栋 / buildings", ""),
                ("技术可装机容量", "technical potential", totals.get("capacity_kwp"), "kWp", self._source("modules")),
                ("整县推进政策目标容量", "pilot policy-target capacity", totals.get("policy_target_kwp"), "kWp",
                 self._source("use")),
                ("年发电量", "annual generation", totals.get("annual_kwh"), "kWh/yr", ""),
                ("减排二氧化碳", "avoided CO₂", totals.get("co2_t"), "t/yr", co2.source if co2 is not None else ""))
        keys = ("label_zh", "label_en", "value", "unit", "source")
        table = _SummaryTable(summary_frame(dict(zip(keys, row)) for row in rows))
        table._details = d
        return table

    def _source(self, section: str) -> str:
        return str(getattr(self.params, section).source) if self.params is not None else ""

    @property
    def notes(self) -> list[Note]:  # type: ignore[override]
        """Synthetic layers, exclusions not applied, no township aggregation, unconfirmed factors, defaults."""
        d = self.details
        notes = []
        if self.synthetic:
            layers = ", ".join(d.get("synthetic_layers", []))
            notes.append(Note(f"含合成示例数据，非官方成果：{layers}", f"includes synthetic sample data: {layers}",
                              "warning", "synthetic"))
        for role, why in d.get("exclusions_not_applied", {}).items():
            notes.append(Note(f"排除图层 {role} 未执行：{why}", f"exclusion '{role}' not applied: {why}", "warning",
                              f"exclusion_not_applied:{role}"))
        if d.get("area_source") == "none":
            notes.append(Note("无乡镇或县界图层，未按乡镇汇总", "no township or county layer: no township aggregation",
                              "warning", "no_townships"))
        if d.get("unconfirmed_factors"):
            ids = ", ".join(d["unconfirmed_factors"])
            notes.append(Note(f"系数待与发布方原文核实：{ids}", f"factors not yet confirmed against the publisher: {ids}",
                              "warning", "unconfirmed_factors"))
        if d.get("use_defaulted"):
            notes.append(Note(f"{d['use_defaulted']} 栋建筑用途缺省为 {d.get('default_category')}",
                              f"{d['use_defaulted']} building use(s) defaulted to '{d.get('default_category')}'",
                              "info", "use_defaulted"))
        return notes

    @property
    def provenance(self) -> Provenance:  # type: ignore[override]
        """Layers read, parameters (module density, shares, factors ...) with sources, and the data files."""
        from ..datafiles import packaged_path

        files = [packaged_path(n) for n in ROOFTOP_DATA_FILES] + common_data_files()
        if self.details.get("params_file"):
            files.append(Path(self.details["params_file"]))
        return Provenance(layers=list(self.layers_used), parameters=_parameters(self.params, self.details),
                          data_files=data_file_hashes(files))

    def write_into(self, folder: Path) -> dict[str, Path]:
        """Write ``rooftops.gpkg``, ``rooftops_by_township.csv`` and ``rooftops_factors.csv`` into ``folder``."""
        from .output import write_outputs

        return {p.name: p for p in write_outputs(self, folder, factors_csv=True).values()}

    def headline(self) -> str:
        """Technical potential and policy target of the whole area, in MWp."""
        total = self.counties.set_index("county").loc[TOTAL]
        return (f"{total['capacity_kwp'] / 1000:,.1f} MWp technical, "
                f"{total['policy_target_kwp'] / 1000:,.1f} MWp policy target")

    def map_layers(self) -> list[Any]:
        """Buildings by installable capacity."""
        from ..resultmaps import rooftop_layers

        return rooftop_layers(self)

    def report_section(self, options: Mapping[str, Any], catalog: Catalog) -> ReportSection:
        """Technical potential of the ``top`` townships (default 20) as chart, map and table; county totals."""
        from ..figures import FigureLayer

        towns = self.townships.sort_values(["capacity_kwp", "township"], ascending=[False, True])
        towns = towns.head(int(options.get("top", 20)))
        cols = (ReportColumn("county"), ReportColumn("township"), ReportColumn("capacity_kwp", numeric=True),
                ReportColumn("policy_target_kwp", numeric=True), ReportColumn("gap_kwp", numeric=True),
                ReportColumn("annual_kwh", numeric=True), ReportColumn("co2_t", numeric=True, digits=1))
        return ReportSection(
            figure_title="乡镇屋顶光伏技术潜力 / Rooftop technical potential by township [kWp]",
            figure_layers=(FigureLayer(township_potential(catalog, self.townships), "rooftops",
                                       column="capacity_kwp", label="乡镇技术潜力 / township potential [kWp]"),),
            chart=ReportChart([str(t) for t in towns["township"]], list(towns["capacity_kwp"] / 1000),
                              "乡镇屋顶光伏技术潜力 / Rooftop technical potential by township", "MWp"),
            tables=(ReportTable(towns.to_dict("records"), cols),
                    ReportTable(self.counties.to_dict("records"), cols, "县级合计 / County totals")))

    def area_table(self) -> pd.DataFrame:
        """Townships then county and total rows, with a ``level`` column (what the CSV holds)."""
        towns = self.townships.assign(level="township")
        counties = self.counties.assign(level=np.where(self.counties["county"] == TOTAL, "total", "county"),
                                        township="")
        cols = ["level", "county", "township", *towns.columns.drop(["level", "county", "township"])]
        return pd.concat([towns[cols], counties.reindex(columns=cols)], ignore_index=True)


def _parameters(params: RooftopParams | None, details: dict[str, Any]) -> list[ParamRecord]:
    """The run's parameters with their sources: module density, exclusions, shares per use and roof type,
    and the co-benefit factors."""
    records = []
    if params is not None:
        mod, excl, roof = params.modules, params.exclusions, params.roof
        records += [ParamRecord("modules.power_density_w_m2", mod.power_density_w_m2, "W/m²", mod.source),
                    ParamRecord("exclusions.min_footprint_area_m2", excl.min_footprint_area_m2, "m²", excl.source),
                    ParamRecord("exclusions.roles", list(excl.roles), "", excl.source),
                    ParamRecord("roof.azimuth_class_deg", roof.azimuth_class_deg, "°", roof.source)]
        records += [ParamRecord(f"categories.{c.id}.pilot_share", c.pilot_share, "", c.source)
                    for c in params.categories.values()]
        records += [ParamRecord(f"roof_types.{r.id}.usable_share", r.usable_share, "", r.source)
                    for r in params.roof_types.values()]
    records += [ParamRecord(f"factors.{kind}", f.value, f.unit, f.source)
                for kind, f in details.get("factors", {}).items()]
    return records


def township_potential(view: Catalog, townships: pd.DataFrame) -> gpd.GeoDataFrame:
    """Township polygons of the catalog ``view`` with the rooftop table's ``capacity_kwp`` (joined by county and name)."""
    if not view.has("township"):
        return gpd.GeoDataFrame(geometry=[])
    polys = view.read("township")
    table = townships[townships["township"].notna()][["county", "township", "capacity_kwp"]]
    from ..placenames import display_names

    keys = ["county"] if "county" in polys.columns else []
    # the rooftop table names townships as display_names does (Chinese, else pinyin marked as such)
    polys = polys.assign(_shown=display_names(polys))
    joined = polys.merge(table if keys else table.drop(columns="county"), left_on=["_shown"] + keys,
                         right_on=["township"] + keys)
    return joined.drop(columns="_shown") if len(joined) else gpd.GeoDataFrame(geometry=[])
