"""Every Python code block in README.md runs as written on the embedded sample."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_blocks() -> None:
    assert BLOCKS, "README.md has no ```python block"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs_as_written(index: int, tmp_path: Path) -> None:
    # A copy of what the README's relative paths name, so the block's outputs stay out of the repository.
    for folder in ("layers", "studies"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    script = tmp_path / "block.py"
    script.write_text(BLOCKS[index], encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "maps" / "suixian" / "report.html").is_file() or "run_study" not in BLOCKS[index]
