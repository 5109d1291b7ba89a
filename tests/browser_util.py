"""Helpers shared by the browser tests: headless Chromium offline, screenshots, colour matching.

Chromium (Debian package ``chromium``) is driven through its command line with every network request
sent to a dead proxy (127.0.0.1:9); ``--dump-dom`` returns the DOM after the page's scripts ran,
``--screenshot`` a PNG, ``--print-to-pdf`` a PDF.  Screenshots are copied to ``tests/artifacts/``
(git-ignored) by :func:`keep`.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SAMPLE_CATALOG

INSTALL_HINT = ("headless Chromium is required for this test: install the Debian package chromium "
                "(apt-get install -y chromium chromium-driver), or set SANXIAN_CHROMIUM to a Chromium binary")

# Errors are collected from the first script on; a probe runs after 'load' and writes JSON into the DOM.
ERROR_HOOK = ("<script>window.__sxErrors = []; window.addEventListener('error', function (e) "
              "{ window.__sxErrors.push(String(e.message || e)); });</script>")


def rgb(colour: str) -> np.ndarray:
    """``#rrggbb`` as an RGB array in 0..1 (the scale of matplotlib's ``imread`` of a PNG)."""
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0


def near(pixels: np.ndarray, colour: np.ndarray, tol: float = 3 / 255) -> np.ndarray:
    """Mask of the pixels within ``tol`` of ``colour`` in every channel."""
    return np.all(np.abs(pixels - colour) <= tol, axis=-1)


def chromium() -> str:
    """Path of the Chromium binary; a missing browser fails the test (CI installs it), never skips it."""
    given = os.environ.get("SANXIAN_CHROMIUM")
    found = shutil.which(given) if given else (shutil.which("chromium") or shutil.which("chromium-browser"))
    if not found:
        pytest.fail(INSTALL_HINT + (f" (SANXIAN_CHROMIUM={given!r} is not an executable)" if given else ""))
    return found


def run_chromium(url: str, profile: Path, *extra: str, window: str = "1400,900", budget: int = 5000) -> str:
    """Run headless Chromium with every network request sent to a dead proxy (127.0.0.1:9)."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
               f"--virtual-time-budget={budget}", f"--window-size={window}", *extra, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return done.stdout


def probe_page(page: Path, tmp_path: Path, probe: str, *, window: str = "1400,900", budget: int = 5000) -> dict:
    """Open a copy of ``page`` with the error hook and ``probe`` (a script that writes JSON into
    ``<pre id="sx-probe">``) and return what the probe measured."""
    text = page.read_text(encoding="utf-8")
    probed = page.parent / f"probe_{page.name}"
    probed.write_text(text.replace("<head>", "<head>" + ERROR_HOOK, 1).replace("</html>", probe + "</html>"),
                      encoding="utf-8")
    try:
        dom = run_chromium(probed.as_uri(), tmp_path / "profile_probe", "--dump-dom", window=window, budget=budget)
    finally:
        probed.unlink()
    found = re.search(r'<pre id="sx-probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the probe script did not run: " + dom[-1500:]
    return json.loads(html.unescape(found.group(1)))


def keep(shot: Path) -> Path:
    """Copy a screenshot to tests/artifacts/ (git-ignored) and print both paths."""
    target = REPO / "tests" / "artifacts" / shot.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, target)
    print(f"screenshot: {shot} (copy: {target})")
    return target


def run_sample_study(tmp: Path, *, pdf: bool = False):
    """Run the Suixian sample study (``studies/suixian.toml``) into ``tmp / "out"`` as `sanxian demo` does
    (``pdf=True``: as `sanxian demo --pdf`, also report.pdf and a PDF per screening sheet)."""
    from sanxian_yidan.study import run_study

    text = (REPO / "studies" / "suixian.toml").read_text(encoding="utf-8")
    text = text.replace('catalog = "../layers/catalog.toml"', f'catalog = "{SAMPLE_CATALOG.as_posix()}"')
    text = text.replace('output = "../maps/suixian"', f'output = "{(tmp / "out").as_posix()}"')
    text = text.replace('projects = "suixian_projects.geojson"',
                        f'projects = "{(REPO / "studies" / "suixian_projects.geojson").as_posix()}"')
    (tmp / "study.toml").write_text(text, encoding="utf-8")
    return run_study(tmp / "study.toml", allow_paths=[REPO], pdf=pdf)  # the study reads the repository's sample layers
