"""Every hostile input of ``tests/hostile/corpus.py`` through the real command line, in a subprocess.

For each case: the exit code is the expected 0 or 2 (never 1, never a signal), no Python traceback is
printed, the output names the problem and the fix (per-case substrings), every input file keeps its
SHA-256, a refused input leaves no partial output behind, and the command finishes within a generous
timeout (a guard against hangs such as reading a named pipe; not a speed assertion).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.screening_world import write_world
from hostile.corpus import CASES, Case, World

import sanxian_yidan

#: Seconds a single command may take before it counts as hung (a hang guard only).
HANG_TIMEOUT_S = 180
SRC = Path(sanxian_yidan.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("hostile_world")
    return World(catalog=write_world(folder), folder=folder)


def _hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``folder`` (links and special files are not followed)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink() or not p.is_file():
            continue
        out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _params() -> list:
    params = []
    for case in CASES:
        marks = [pytest.mark.slow] if case.slow else []
        if case.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_hostile_input(case: Case, world: World, tmp_path: Path) -> None:
    folder = tmp_path / case.id
    folder.mkdir()
    argv = case.build(folder, world)
    out = folder / "out"
    before_out = _hashes(out) if out.exists() else {}
    before_inputs = {k: v for k, v in _hashes(folder).items() if not k.startswith("out")}
    before_world = _hashes(world.folder)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               COLUMNS="250", PYTHONIOENCODING="utf-8", NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "sanxian_yidan", *argv], cwd=folder, env=env,
                          capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=HANG_TIMEOUT_S, stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    flat = " ".join(output.split())
    assert proc.returncode == case.exit_code, f"exit {proc.returncode}, expected {case.exit_code}:\n{output}"
    assert "Traceback" not in output, output
    for text in case.expect:
        assert " ".join(text.split()) in flat, f"{text!r} not in the output:\n{output}"
    after_inputs = {k: v for k, v in _hashes(folder).items() if not k.startswith("out")}
    assert after_inputs == before_inputs, "an input file was modified"
    assert _hashes(world.folder) == before_world, "the catalog or its layers were modified"
    if proc.returncode != 0:
        after_out = _hashes(out) if out.exists() else {}
        assert after_out == before_out, f"partial output left behind: {sorted(set(after_out) - set(before_out))}"
    if case.check is not None:
        case.check(folder)
