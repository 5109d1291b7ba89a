"""The layer-role vocabulary (roles.py, data/roles.toml) and its re-export from the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

import sanxian_yidan
from sanxian_yidan import catalog, roles
from sanxian_yidan.datafiles import tomllib
from sanxian_yidan.errors import DataFileError

ROLES_TOML = Path(sanxian_yidan.__file__).parent / "data" / "roles.toml"


def test_vocabulary_is_the_packaged_file():
    raw = tomllib.loads(ROLES_TOML.read_text(encoding="utf-8"))["roles"]
    vocab = roles.role_vocabulary()
    assert list(vocab) == list(raw)                      # same roles, same order
    assert vocab["eco_redline"].zh == "生态保护红线"
    assert vocab["township_seat"].geometry == ("point", "polygon")
    assert vocab["dem"].is_raster and not vocab["eco_redline"].is_raster
    assert roles.canonical_fields() == {f for spec in raw.values() for f in spec.get("fields", [])}
    assert roles.REGION_ROLES <= set(vocab)


def test_catalog_still_exports_the_vocabulary():
    assert catalog.role_vocabulary is roles.role_vocabulary
    assert catalog.canonical_fields is roles.canonical_fields
    assert catalog.Role is roles.Role
    assert catalog.REGION_ROLES is roles.REGION_ROLES


def test_a_broken_vocabulary_lists_every_problem():
    doc = {"source": "test",
           "roles": {"a": {"zh": "甲", "en": "A", "geometry": "blob", "fields": ["x"]},
                     "b": {"en": "B", "geometry": "polygon", "fields": "x"}}}
    with pytest.raises(DataFileError, match=r"has 4 problem\(s\)") as info:
        roles.parse_roles(doc, "roles.toml")
    text = str(info.value)
    assert "roles.toml: roles.a.geometry: must be one of 'point', 'line', 'polygon', 'raster' or 'any', got 'blob'" \
        in text
    assert "roles.toml: roles.b.zh: missing required key" in text
    assert "roles.toml: roles.b.fields: must be a list / 数组, got str 'x'" in text
    assert "roles.toml: roles: roles limited to a region view are missing from the vocabulary: ['admin_boundary'" \
        in text


def test_a_valid_minimal_vocabulary_parses():
    doc = {"source": "test", "roles": {r: {"zh": r, "en": r, "geometry": ["point", "polygon"], "fields": []}
                                       for r in sorted(roles.REGION_ROLES)}}
    parsed = roles.parse_roles(doc, "roles.toml")
    assert parsed["building"].geometry == ("point", "polygon") and parsed["building"].fields == ()
