"""Brownfield parameters: ``data/brownfield.toml`` (and a user's overrides) validated into frozen records.

The file's structure is declared by :class:`BrownfieldFile` (:mod:`sanxian_yidan.params`), so every problem
of a file is reported together with its key path.  The validated file is the parameter record
(:data:`BrownfieldParams`), its tables are read at their paths (``p.grid.classes``, ``p.terrain``); only what
is derived from several keys is a frozen dataclass (:class:`CandidateRole`, :class:`Density`,
:class:`McdaSpec`).  The mine module reuses the shared parts (:class:`McdaFile`, :class:`Condition`,
:class:`DefaultLabels`) for ``data/mines.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BeforeValidator, ConfigDict, Field, create_model, field_validator, model_validator

from .. import rules
from ..datafiles import load_model
from ..params import AsTuple, DataModel, Former, FormerAttributes, PositionalFields, Source, Sourced

M = TypeVar("M", bound=DataModel)


#: Square metres per international acre (definition: 1 acre = 4,046.8564224 m²).
M2_PER_ACRE = 4046.8564224
#: Square metres per hectare.
M2_PER_HA = 10_000.0
#: Comparison operators allowed in pre-screening tests and mode rules.
OPERATORS = tuple(op for op in rules.OPS if op != "startswith")
DATA_FILE = "brownfield.toml"


# =============================================================================================
# Records derived from the data file (frozen dataclasses)
# =============================================================================================
@dataclass(frozen=True)
class CandidateRole:
    """A catalog role whose features are candidate PV land."""

    role: str
    zh: str
    en: str
    source: str


@dataclass(frozen=True)
class Density:
    """A PV power density for ground-mounted arrays."""

    name: str
    mw_per_ha: float
    basis: str
    source: str


@dataclass(frozen=True)
class McdaSpec:
    """Method, criteria, weights and Monte-Carlo settings."""

    method: str
    top_k: int
    n_samples: int
    seed: int
    criteria: tuple[CriterionSpec, ...]
    ahp: AhpSpec | None
    source: str
    options: Mapping[str, Any] = field(default_factory=dict)


#: Inputs of a ``model = "row_pitch"`` density: key -> (low, high) allowed range; each key needs ``<key>_source``.
ROW_PITCH_INPUTS = {"latitude_deg": (-66.0, 66.0), "tilt_deg": (0.0, 89.0), "winter_declination_deg": (-23.5, -23.4),
                    "shade_free_from_h": (6.0, 12.0), "shade_free_to_h": (12.0, 18.0),
                    "module_w_per_m2": (50.0, 300.0), "array_share": (0.05, 1.0)}


# =============================================================================================
# The structure of the data files (pydantic models; the mine module reuses the shared parts)
# =============================================================================================
def _strings(value: Any) -> Any:
    return tuple(str(v) for v in value) if isinstance(value, list) else value


#: A list of values compared as text (``["废弃", "闭坑"]``; numbers are read as their text).
Values = Annotated[tuple[str, ...], BeforeValidator(_strings)]
Roles = Annotated[tuple[str, ...], AsTuple]
#: ``{field = [values]}`` selecting features (a single value may stand alone; the former record's
#: ``(field, values)`` pairs are read too).
Where = Annotated[dict[str, Annotated[Values, BeforeValidator(lambda v: [v] if isinstance(v, (str, int)) else v)]],
                  BeforeValidator(lambda v: dict(v) if isinstance(v, tuple) else v)]


class DefaultLabels(DataModel):
    """A table whose labels, left out or empty, take the value of another of its keys (``defaults``).

    E.g. a zone's ``zh`` and ``en`` default to its ``id``: the data file need not repeat a name twice.
    """

    #: label key -> the key whose value it takes when left out or empty
    defaults: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _default_labels(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        return {**data, **{k: data[key] for k, key in cls.defaults.items() if not data.get(k) and key in data}}


class Condition(PositionalFields, DefaultLabels):
    """One test ``column op value`` (pre-screen test or part of a mode rule); ``id`` defaults to the column."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("column", "op", "value", "id", "zh", "en", "on_missing", "source")
    defaults: ClassVar[dict[str, str]] = {"id": "column"}

    column: str
    op: Literal[OPERATORS]  # type: ignore[valid-type]
    value: Annotated[Any, AsTuple]  # a list is kept as a tuple (hashable, like the rest of the record)
    id: str = ""
    zh: str = ""
    en: str = ""
    on_missing: Literal["fail", "flag", "pass"] = "flag"
    source: str = ""

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, tuple):
            raise ValueError(f"op '{self.op}' needs a list value, got {self.value!r} (需要列表)")
        if self.op in ("<", "<=", ">", ">=") and (isinstance(self.value, bool)
                                                  or not isinstance(self.value, (int, float))):
            raise ValueError(f"op '{self.op}' needs a number, got {self.value!r} (需要数字)")
        return self

    def label(self) -> str:
        """Short bilingual text of the test (for reasons and reports)."""
        text = " / ".join(t for t in (self.zh, self.en) if t)
        return text or f"{self.column} {self.op} {self.value!r}"

    @property
    def test(self) -> rules.Condition:
        """The same test in the screening rules' engine, which evaluates it (one set of semantics)."""
        return rules.Condition(self.column, self.op, self.value)


#: The former name of the ``{column, op, value}`` table's model (now the condition itself).
ConditionEntry = Condition


class _PrescreenEntry(Condition):
    source: Source


class CriterionSpec(PositionalFields, Sourced):
    """``[[criteria]]``: a decision criterion as written in the data file (converted to an mcda criterion later)."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("column", "transform", "benefit", "weight", "options", "source")
    spread: ClassVar[tuple[str, ...]] = ("options",)

    # transform options (lo, hi, missing, ...) are checked by the mcda module that applies them
    model_config = ConfigDict(extra="allow")
    column: str
    transform: str = "linear"
    benefit: bool = True
    weight: float | None = None

    @field_validator("weight")
    @classmethod
    def _not_negative(cls, weight: float | None) -> float | None:
        if weight is not None and weight < 0:
            raise ValueError(f"{weight} is negative; weights must be >= 0 (a cost criterion is written with "
                             "benefit = false, not a negative weight) (权重不能为负)")
        return weight

    @property
    def options(self) -> dict[str, Any]:
        """The transform options: every key of the entry besides the declared ones."""
        return dict(self.model_extra or {})


class AhpSpec(PositionalFields, Sourced):
    """``[mcda.ahp]``: weights from an AHP pairwise-comparison matrix over ``order`` (criterion columns)."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("order", "matrix", "force", "source")

    order: Roles
    matrix: Annotated[tuple[Annotated[tuple[float, ...], AsTuple], ...], AsTuple]
    force: bool = False


class McdaEntry(Sourced):
    """``[mcda]``: method, top k, Monte-Carlo draws and seed; optional ``[mcda.ahp]`` and ``spread``."""

    method: Literal["weighted_sum", "topsis"]
    top_k: int = Field(ge=1)
    n_samples: int = Field(ge=0)
    seed: int
    spread: float | None = Field(default=None, ge=0, lt=1)
    ahp: AhpSpec | None = None


class McdaFile(Sourced):
    """A parameter file with ``[mcda]`` and ``[[criteria]]`` (brownfield.toml, mines.toml).

    The ``[mcda]`` table is ``mcda_table``; ``mcda`` is the record of the whole decision (:meth:`mcda_spec`), as
    before the file became its model.
    """

    mcda_table: McdaEntry = Field(alias="mcda")
    criteria: list[CriterionSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> McdaFile:
        ahp, cols = self.mcda_table.ahp, [c.column for c in self.criteria]
        if ahp is None and any(c.weight is None for c in self.criteria):
            raise ValueError("every [[criteria]] entry needs a 'weight' unless [mcda.ahp] gives the weights "
                             "(缺少权重)")
        if ahp is not None and sorted(ahp.order) != sorted(cols):
            raise ValueError(f"[mcda.ahp] order {list(ahp.order)} must list exactly the criteria columns {cols}")
        if ahp is not None and (len(ahp.matrix) != len(ahp.order) or any(len(r) != len(ahp.order)
                                                                         for r in ahp.matrix)):
            raise ValueError(f"[mcda.ahp] matrix must be {len(ahp.order)}x{len(ahp.order)} (one row and column "
                             "per criterion in order)")
        return self

    def mcda_spec(self) -> McdaSpec:
        """The validated ``[mcda]`` and ``[[criteria]]`` as a :class:`McdaSpec`."""
        m = self.mcda_table
        return McdaSpec(method=m.method, top_k=m.top_k, n_samples=m.n_samples, seed=m.seed,
                        criteria=tuple(self.criteria), ahp=m.ahp, source=m.source,
                        options={} if m.spread is None else {"spread": m.spread})

    @property
    def mcda(self) -> McdaSpec:
        """Method, criteria, weights and Monte-Carlo settings (:meth:`mcda_spec`)."""
        return self.mcda_spec()


class _Candidate(Sourced):
    zh: str
    en: str


class StatusRule(PositionalFields, Sourced):
    """``[[status]]``: readiness [0-1] and eligibility of sites of ``role`` whose ``field`` is in ``values``."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("role", "field", "values", "readiness", "eligible", "reason_zh",
                                             "reason_en", "source")

    role: str
    field: str
    values: Values
    readiness: float = Field(ge=0, le=1)
    eligible: bool = True
    reason_zh: str = ""
    reason_en: str = ""


class _StatusDefault(Sourced):
    readiness: float = Field(ge=0, le=1)


class Exclusion(PositionalFields, DefaultLabels, Sourced):
    """A hard-exclusion layer: features of ``role`` (optionally filtered) cut away from sites.

    ``where`` maps a field to the values selecting the features (``{level = ["一级"]}``); the reasons
    default to the role.
    """

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("role", "reason_zh", "reason_en", "source", "buffer_m", "where")
    defaults: ClassVar[dict[str, str]] = {"reason_zh": "role", "reason_en": "role"}

    role: str
    reason_zh: str = ""
    reason_en: str = ""
    buffer_m: float = Field(default=0.0, ge=0)  # 0 m cuts the zone itself (no buffer, not a tuned value)
    where: Where = {}


_RowPitchInputs = create_model(  # type: ignore[call-overload]
    "_RowPitchInputs", __base__=Sourced,
    **{key: (float | None, Field(default=None, ge=lo, le=hi)) for key, (lo, hi) in ROW_PITCH_INPUTS.items()},
    **{f"{key}_source": (Source | None, None) for key in ROW_PITCH_INPUTS})


class _Density(_RowPitchInputs):  # type: ignore[misc, valid-type]
    basis: str = ""
    mw_per_ha: float | None = Field(default=None, gt=0)
    acres_per_mw: float | None = Field(default=None, gt=0)
    model: Literal["row_pitch"] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> _Density:
        given = [k for k in ("mw_per_ha", "acres_per_mw", "model") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError('give exactly one of mw_per_ha, acres_per_mw or model = "row_pitch" with its inputs, '
                             f"got {given or 'none'} (功率密度须且只能给出一种)")
        missing = [k for k in ROW_PITCH_INPUTS for k in (k, f"{k}_source") if getattr(self, k) is None]
        if self.model == "row_pitch" and missing:
            raise ValueError(f'model = "row_pitch" needs {missing} (each input with where it comes from)')
        return self


class _Capacity(Sourced):
    default: str
    densities: dict[str, _Density] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_known(self) -> _Capacity:
        if self.default not in self.densities:
            raise ValueError(f"default density '{self.default}' is not among {sorted(self.densities)}")
        return self


class _Yield(Sourced):
    location_round_deg: float = Field(ge=0)
    azimuth_deg: float = Field(ge=0, le=360)
    tilt_deg: float | None = Field(default=None, ge=0, le=90)  # none: the optimal fixed tilt (solar.optimal_tilt)
    grid: str


class GridClass(PositionalFields, Sourced):
    """Plants up to ``max_capacity_mw`` connect to a substation of at least ``min_voltage_kv``."""

    # The former dataclass' field order (PositionalFields).
    positional: ClassVar[tuple[str, ...]] = ("max_capacity_mw", "min_voltage_kv", "source")

    max_capacity_mw: float = Field(ge=0, allow_inf_nan=True)
    min_voltage_kv: float = Field(ge=0)


class _Grid(Sourced):
    role: str
    unknown_voltage: Literal["exclude", "include"]
    classes: list[GridClass] = Field(min_length=1)

    @field_validator("classes")
    @classmethod
    def _by_capacity(cls, classes: list[GridClass]) -> list[GridClass]:
        return sorted(classes, key=lambda c: c.max_capacity_mw)  # a plant takes the first class that holds it


class _Access(Sourced):
    road_roles: Roles


class _Setback(Sourced):
    roles: Roles


class _Terrain(Sourced):
    slope_threshold_deg: float = Field(ge=0, le=90)
    south_min_deg: float = Field(ge=0, le=360)
    south_max_deg: float = Field(ge=0, le=360)
    min_dem_coverage: float = Field(ge=0, le=1)

    def thresholds(self) -> dict[str, Any]:
        """The settings of :func:`sanxian_yidan.siteengine.terrain_table`: the flat-slope threshold [deg], the
        south-facing aspect range [deg] and the DEM coverage [0-1] below which terrain is not assessed."""
        return {"slope_threshold_deg": self.slope_threshold_deg, "min_dem_coverage": self.min_dem_coverage,
                "south_range_deg": (self.south_min_deg, self.south_max_deg)}


class BrownfieldFile(FormerAttributes, McdaFile):
    """All parameters of the brownfield ranking, each traceable to its source: ``data/brownfield.toml`` validated.

    Build with :func:`load_params`; the tables of the file are its attributes (``yield_`` is ``[yield]``,
    ``candidate_table`` is ``[candidates]`` and ``mcda_table`` is ``[mcda]``: ``candidates`` and ``mcda`` keep
    their former records, the candidate roles and the :class:`McdaSpec`).
    """

    what: ClassVar[str] = "棕地光伏 / brownfield"
    # The former dataclass' flat attributes and where each is now (FormerAttributes: deprecated, still read).
    former: ClassVar[Mapping[str, Former]] = {
        "status_default_readiness": "status_default.readiness",
        "default_density": "capacity.default",
        "yield_round_deg": "yield_.location_round_deg",
        "yield_azimuth_deg": "yield_.azimuth_deg",
        "yield_tilt_deg": "yield_.tilt_deg",
        "grid_region": "yield_.grid",
        "substation_role": "grid.role",
        "unknown_voltage": "grid.unknown_voltage",
        "grid_classes": ("grid.classes", lambda p: tuple(p.grid.classes)),
        "road_roles": "access.road_roles",
        "setback_roles": "setback.roles",
        "slope_threshold_deg": "terrain.slope_threshold_deg",
        "south_range_deg": ("terrain.thresholds()['south_range_deg']", lambda p: p.terrain.thresholds()["south_range_deg"]),
        "min_dem_coverage": "terrain.min_dem_coverage",
        "files": ("loaded_from", lambda p: tuple(p._files)),
    }
    candidate_table: dict[str, _Candidate] = Field(alias="candidates", min_length=1)
    status: Annotated[tuple[StatusRule, ...], AsTuple] = ()
    status_default: _StatusDefault
    exclusions: Annotated[tuple[Exclusion, ...], AsTuple] = ()
    capacity: _Capacity
    yield_: _Yield = Field(alias="yield")
    grid: _Grid
    access: _Access
    setback: _Setback
    terrain: _Terrain
    prescreen: Annotated[tuple[_PrescreenEntry, ...], AsTuple] = ()

    @property
    def candidates(self) -> tuple[CandidateRole, ...]:
        """The catalog roles of ``[candidates]`` (``candidate_table``) whose features are candidate sites, in file
        order."""
        return tuple(CandidateRole(role, c.zh, c.en, c.source) for role, c in self.candidate_table.items())

    #: The same as :attr:`candidates`.
    candidate_roles = candidates

    @property
    def densities(self) -> dict[str, Density]:
        """The power densities of ``[capacity.densities]``, each resolved to MW/ha."""
        return {name: _density(name, d) for name, d in self.capacity.densities.items()}

    @property
    def density(self) -> Density:
        """The power density in force (``[capacity] default``)."""
        return self.densities[self.capacity.default]


#: The brownfield parameters under the name the analyses take them by.
BrownfieldParams = BrownfieldFile


def row_pitch_density(d: Any) -> tuple[float, str]:
    """Power density [MW/ha] of shade-free fixed rows: ``module_w_per_m2 x GCR x array_share / 100``.

    The ground coverage ratio is :func:`sanxian_yidan.solar.shade_free_gcr` at ``latitude_deg`` and
    ``tilt_deg`` for the shade-free window on the winter solstice; 1 W/m² = 0.01 MW/ha.

    Parameters
    ----------
    d : object
        A validated ``model = "row_pitch"`` density entry (attributes named as :data:`ROW_PITCH_INPUTS`).

    References
    ----------
    .. [1] GB 50797-2012 光伏发电站设计规范 (no mutual shading 9:00-15:00 true solar time on the winter solstice).
    """
    from ..solar import shade_free_gcr

    gcr = shade_free_gcr(d.latitude_deg, d.tilt_deg, declination_deg=d.winter_declination_deg,
                         start_hour=d.shade_free_from_h, end_hour=d.shade_free_to_h)
    mw_per_ha = d.module_w_per_m2 * gcr * d.array_share / 100.0
    note = (f"computed: {d.module_w_per_m2:g} W/m² modules × GCR {gcr:.3f} (rows at {d.tilt_deg:g}° tilt, "
            f"{d.latitude_deg:g}° latitude, shade-free {d.shade_free_from_h:g}-{d.shade_free_to_h:g} h on "
            f"the winter solstice) × array share {d.array_share:g} = {mw_per_ha:.3f} MW/ha")
    return mw_per_ha, note


def _density(name: str, d: _Density) -> Density:
    if d.model == "row_pitch":
        mw_per_ha, note = row_pitch_density(d)
        return Density(name, mw_per_ha, d.basis, f"{d.source}; {note}")
    if d.mw_per_ha is not None:
        return Density(name, d.mw_per_ha, d.basis, d.source)
    assert d.acres_per_mw is not None  # the model requires one of the two
    return Density(name, M2_PER_HA / (d.acres_per_mw * M2_PER_ACRE), d.basis, d.source)


def load_document(model: type[M], name: str, params: str | Path | Mapping[str, Any] | None) -> M:
    """A parameter file read through its model: packaged ``name`` with a user TOML file or mapping merged over it.

    Tables merge key by key; arrays of tables are replaced whole (:func:`sanxian_yidan.datafiles.deep_merge`).
    """
    user = params if params is None or isinstance(params, Mapping) else Path(params).resolve()
    return load_model(model, name, user)


def load_params(params: str | Path | Mapping[str, Any] | BrownfieldParams | None = None) -> BrownfieldParams:
    """Load the brownfield parameters: packaged defaults, optionally overridden by a user file.

    Parameters
    ----------
    params : path, mapping or BrownfieldParams, optional
        A user TOML file (or an already parsed mapping) whose tables override those of
        ``data/brownfield.toml``; arrays of tables are replaced whole.

    Returns
    -------
    BrownfieldParams

    Raises
    ------
    DataFileError
        Listing every problem found (unknown key, missing ``source``, negative weight, unknown operator,
        a required key missing from the merged document, …).  Every number the ranking uses is
        required: the code holds no fallback values.
    """
    if isinstance(params, BrownfieldParams):
        return params
    return load_document(BrownfieldFile, DATA_FILE, params)
