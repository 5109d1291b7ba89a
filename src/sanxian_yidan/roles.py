"""The layer-role vocabulary: the fixed names a catalog entry uses to say what a layer *is*.

An analysis never asks for a file: it asks for a role ("the ecological red line",
``eco_redline``) and the catalog (:mod:`sanxian_yidan.catalog`) answers with the
layer that plays it.  The vocabulary itself (each role's Chinese and English name,
its geometry and the canonical attribute names an analysis may use) lives in the
packaged data file ``data/roles.toml``, validated when first read.

This module only reads that vocabulary, so a rule file, a parameter file or a
command that needs to check a role name imports it without the catalog and its
readers.

References
----------
.. [1] 中共中央办公厅、国务院办公厅《关于加强生态环境分区管控的意见》(2024-03-06):
   the 三线一单 terms the role names follow (see ``data/roles.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator

from .datafiles import packaged
from .params import (
    PACKAGED_PREFIX,
    AsTuple,
    DataModel,
    FormerKeyword,
    FormerKeywords,
    Keyed,
    KeyedTable,
    PositionalFields,
    Sourced,
    validate_layers,
)

#: The file holding the vocabulary (packaged with the toolkit).
DATA_FILE = "roles.toml"
#: Geometry kinds a role may declare; ``any`` means the role takes every kind.
GEOMETRY_KINDS = frozenset({"point", "line", "polygon", "raster", "any"})
#: Roles a region view (:meth:`Catalog.restricted_to <sanxian_yidan.catalog.Catalog.restricted_to>`) limits
#: to the region: the things a study assesses.  Zoning, infrastructure and terrain stay whole, because a
#: site near the county line is still constrained by a red line, or served by a substation, across it.
REGION_ROLES = frozenset({"admin_boundary", "township", "township_seat", "building", "mine_site", "landfill",
                          "contaminated_site", "subsidence_area", "project"})


def _pairs(value: Any) -> Any:
    # the file writes a table (column -> palette); the role keeps its (column, palette) pairs
    return tuple(value.items()) if isinstance(value, Mapping) else value


class MapUse(PositionalFields, DataModel):
    """How result maps draw a layer of a role.

    Attributes
    ----------
    context : bool
        Offered as a context layer on result maps (a finding, exclusion or criterion depends on it).
    order : int
        Drawing order among the context layers (lowest at the bottom).
    style : str
        Look in the style registry (``data/styles.toml``); empty: the role id.
    show : bool
        Switched on when the map opens.
    labels : tuple of (str, str)
        (column, palette): codes of the column shown as the palette's labels in popups.
    """

    # The former dataclass' field order (PositionalFields: deprecated, still built).
    positional: ClassVar[tuple[str, ...]] = ("context", "order", "style", "show", "labels")
    context: bool = False
    order: int = 0
    style: str = ""
    show: bool = False
    labels: Annotated[tuple[tuple[str, str], ...], BeforeValidator(_pairs)] = ()


def _not_empty(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise ValueError("needs at least one geometry kind (缺少几何类型)")
    return value


def _geometry(value: Any) -> Any:
    return (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list) else value


class Role(PositionalFields, FormerKeywords, Keyed):
    """One entry of the layer-role vocabulary (``data/roles.toml``).

    Attributes
    ----------
    id : str
        Role id used in catalogs and rule files, e.g. ``"eco_redline"``.
    zh, en : str
        Chinese and English names.
    geometry : tuple of str
        Geometry kinds a layer of this role may have (see :data:`GEOMETRY_KINDS`).
    fields : tuple of str
        Canonical attribute names an analysis may read from a layer of this role.
    map : MapUse
        How result maps draw a layer of this role (``map`` in ``data/roles.toml``).
    """

    # The former dataclass' field order and its ``id=`` (now the key in the file), deprecated, still built.
    positional: ClassVar[tuple[str, ...]] = ("id", "zh", "en", "geometry", "fields", "map")
    former_keywords: ClassVar[Mapping[str, FormerKeyword]] = {"id": "_id"}
    zh: str
    en: str
    geometry: Annotated[tuple[Literal["point", "line", "polygon", "raster", "any"], ...],
                        BeforeValidator(_geometry), AfterValidator(_not_empty)]
    fields: Annotated[tuple[str, ...], AsTuple] = ()
    map: MapUse = MapUse()

    @property
    def is_raster(self) -> bool:
        """True for raster roles (DEM)."""
        return self.geometry == ("raster",)


class RolesFile(Sourced):
    """The structure of ``data/roles.toml``."""

    what: ClassVar[str] = "图层角色 / layer-role vocabulary"
    roles: Annotated[dict[str, Role], KeyedTable]

    @classmethod
    def document_problems(cls, doc: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
        table = doc.get("roles")
        missing = sorted(REGION_ROLES - set(table)) if isinstance(table, Mapping) and table else []
        return [(("roles",), f"roles limited to a region view are missing from the vocabulary: {missing}")] \
            if missing else []


def parse_roles(doc: Mapping[str, Any], file: str) -> dict[str, Role]:
    """Validate a parsed role vocabulary and return it keyed by role id.

    Parameters
    ----------
    doc : Mapping
        The parsed TOML document (a ``source`` and a ``[roles.<id>]`` table per role).
    file : str
        The file the document came from, named in the error message.

    Returns
    -------
    dict of str to Role

    Raises
    ------
    DataFileError
        Listing every problem of the file at once (unknown keys, missing names, unknown geometry kinds,
        fields that are not a list of strings, a missing ``source``), each with its key path.
    """
    return dict(validate_layers(RolesFile, [(file, doc)]).roles)


def context_roles() -> tuple[str, ...]:
    """Roles whose layers result maps offer as context (``map.context`` in ``data/roles.toml``), in drawing
    order (lowest first)."""
    vocab = role_vocabulary()
    ids = [r for r in vocab if vocab[r].map.context]
    return tuple(sorted(ids, key=lambda r: vocab[r].map.order))


@lru_cache(maxsize=1)
def role_vocabulary() -> dict[str, Role]:
    """Return the fixed role vocabulary, keyed by role id (read and validated once).

    Returns
    -------
    dict of str to Role
        In the order of ``data/roles.toml``.
    """
    return parse_roles(packaged(DATA_FILE), PACKAGED_PREFIX + DATA_FILE)


def canonical_fields() -> set[str]:
    """All canonical attribute names any role knows."""
    return {f for role in role_vocabulary().values() for f in role.fields}
