"""Command-line interface ``sanxian``: a thin layer over the Python API.

Each command family lives in its own module of this package and registers
itself on :data:`app` when imported; every public submodule is imported here.
Heavy imports (geopandas, rasterio) happen inside the commands so that
``sanxian --help`` answers at once.
"""

from __future__ import annotations

import logging
import pkgutil
import sys
import warnings
from importlib import import_module

import typer

from ..errors import SanxianError
from ._common import app, console, err_console, show_warning

__all__ = ["app", "main"]


@app.callback()
def _main(verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output (-vv for debug)."),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors.")) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    # The level is the handler's too: libraries that set their own loggers' level (Dask's scheduler logs at INFO)
    # would otherwise print through it whatever the level asked for.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    console.quiet = quiet  # -q: tables, notes and warnings are not printed; errors (on stderr) still are
    warnings.showwarning = show_warning


for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
    import_module(f"{__name__}.{_mod}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SanxianError as exc:  # pragma: no cover - commands catch their own
        err_console.print(str(exc), markup=False)
        sys.exit(2)
    except OSError as exc:
        # A file-system refusal no command anticipated (permissions, a full disk, a vanished file):
        # a message naming the path, not a traceback.  Output places are checked by
        # sanxian_yidan.outputs; this is the last net.
        where = " ".join(str(f) for f in (exc.filename, exc.filename2) if f) or "(no path given)"
        err_console.print(f"错误 / Error ({type(exc).__name__}): 文件系统拒绝了操作。 / The file system refused an "
                          f"operation: {exc.strerror or exc}.\n位置 / Where: {where}\n解决办法 / Fix: check the "
                          "path, its permissions and the free disk space, then run the command again",
                          markup=False, highlight=False)
        sys.exit(2)
