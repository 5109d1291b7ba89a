"""Lint gate: ``ruff check`` (rules and exceptions in ``[tool.ruff]`` of pyproject.toml) passes on the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATHS = ("src", "tests", "validation", "benchmarks", "scripts")


def test_ruff_check_passes():
    # ruff is in the ``test`` extra; a missing ruff fails here (it must not pass silently)
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *PATHS],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"ruff check found problems (fix them, or `ruff check --fix`):\n{proc.stdout}{proc.stderr}"
