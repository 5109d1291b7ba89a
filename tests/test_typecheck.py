"""Type gate: ``mypy`` (configuration in ``[tool.mypy]`` of pyproject.toml) reports no error.

Modules listed under ``[[tool.mypy.overrides]]`` with ``ignore_errors`` are known not to be clean yet;
every other module of the package is gated.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mypy_reports_no_error() -> None:
    # mypy is in the ``test`` extra; a missing mypy fails here (it must not pass silently)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--hide-error-context"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"mypy found type errors:\n{proc.stdout}{proc.stderr}"
