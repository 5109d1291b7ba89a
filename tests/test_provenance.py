"""Provenance manifests: hashes, versions, determinism apart from the timestamp."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from sanxian_yidan.provenance import (
    build_manifest,
    package_versions,
    sha256_file,
    write_manifest,
)


def test_sha256_matches_hashlib_on_a_multi_chunk_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # 2.3 MB, more than two 1 MiB chunks
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_manifest_lists_inputs_outputs_and_versions(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("输入", encoding="utf-8")
    (tmp_path / "out.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    when = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    manifest = build_manifest(inputs=[tmp_path / "in.txt", tmp_path / "in.txt"], outputs=[tmp_path / "out.csv"],
                              parameters={"k": 5}, base=tmp_path, created=when)
    assert manifest["inputs"] == [{"path": "in.txt", "bytes": 6,
                                   "sha256": hashlib.sha256("输入".encode()).hexdigest()}]
    assert manifest["outputs"][0]["path"] == "out.csv" and manifest["outputs"][0]["bytes"] == 8
    assert manifest["created_utc"] == "2026-11-25T12:00:00+00:00"
    assert manifest["packages"]["shapely"].startswith("2.")
    assert package_versions(["no-such-package-xyz"]) == {"no-such-package-xyz": "not installed"}
    path = write_manifest(manifest, tmp_path / "manifest.json")
    assert json.loads(path.read_text(encoding="utf-8")) == manifest
