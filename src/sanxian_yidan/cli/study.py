"""``sanxian study run`` and ``sanxian demo``: scripted siting studies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from ..errors import SanxianError
from ._common import DataTable, app, console, err_console, fail
from ._progress import progress_bar

if TYPE_CHECKING:  # pragma: no cover
    from ..studyrun import StudyRun

study_app = typer.Typer(help="Siting studies (studies/*.toml) / 选址研究", no_args_is_help=True,
                         rich_markup_mode="markdown")
app.add_typer(study_app, name="study")

#: Help of the --pdf flag of ``study run`` and ``demo``.
PDF_HELP = ("Also print report.pdf and each screening sheet to PDF (A4) with headless Chromium or Chrome. "
            "报告与研判单另存为 PDF（需 Chromium/Chrome）。")
#: The study ``sanxian demo`` runs, relative to the repository root.
DEMO_STUDY = Path("studies/suixian.toml")


@study_app.command("run")
def study_run(study: Path = typer.Argument(..., help="Study file, e.g. studies/suixian.toml."),
              allow_path: list[Path] = typer.Option(
                  [], "--allow-path", help="A further folder the study's inputs and output may lie in "
                                           "(repeatable). 允许研究使用的其他文件夹。"),
              unsafe_paths: bool = typer.Option(
                  False, "--unsafe-paths", help="Let the study file use paths anywhere (only for a study file "
                                                "you trust). 不限制研究文件中的路径（仅限可信文件）。"),
              safe_paths: bool = typer.Option(False, "--safe-paths", hidden=True,
                                              help="Deprecated: paths are confined by default."),
              overwrite: bool = typer.Option(False, "--overwrite",
                                             help="Replace the outputs of an earlier run."),
              pdf: bool = typer.Option(False, "--pdf", help=PDF_HELP)) -> None:
    """Run a study: screening, rooftop and brownfield ranking, mine priorities, map, report, manifest.

    Outputs go to the study's `output` folder (e.g. maps/suixian/), all or nothing: a run that fails
    leaves the folder as it was. The study's paths must lie in its folder, its project folder (the
    folder holding layers/catalog.toml) or a folder given with --allow-path, unless --unsafe-paths.
    """
    if safe_paths:
        err_console.print("[yellow]警告 / warning[/yellow] --safe-paths 已弃用，路径限制现为默认行为 / --safe-paths is "
                          "deprecated and has no effect: paths are confined by default (--unsafe-paths lifts "
                          "that, --allow-path DIR allows one more folder)", highlight=False)
    _run(study, overwrite, unsafe_paths=unsafe_paths, allow_paths=allow_path, pdf=pdf)


@app.command("demo")
def demo(pdf: bool = typer.Option(False, "--pdf", help=PDF_HELP)) -> None:
    """Run the Suixian study on the embedded sample layers and print where the outputs are.

    The demo's own output folder (maps/suixian/) is replaced on every run.
    """
    study = DEMO_STUDY if DEMO_STUDY.exists() else Path(__file__).resolve().parents[3] / DEMO_STUDY
    if not study.exists():
        fail(FileNotFoundError(f"{DEMO_STUDY} not found; run `sanxian demo` from the repository root "
                               "/ 请在仓库根目录运行"))
    _run(study, True, pdf=pdf)


def _run(study: Path, overwrite: bool, *, unsafe_paths: bool = False, allow_paths: list[Path] | None = None,
         pdf: bool = False) -> None:
    from ..study import run_study

    started = time.perf_counter()
    try:
        with progress_bar("研究 / study", 6) as step:
            run = run_study(study, unsafe_paths=unsafe_paths, allow_paths=allow_paths or [], overwrite=overwrite,
                            progress=step, pdf=pdf)
    except SanxianError as exc:
        fail(exc)
    _print_summary(run, time.perf_counter() - started)


def _print_summary(run: StudyRun, elapsed: float) -> None:
    cfg = run.config
    table = DataTable(title=f"{cfg.title_zh}\n{cfg.title_en}")
    table.add_column("分析 / analysis")
    table.add_column("结果 / result")
    from ..analysis import analyses

    for name, analysis in analyses().items():
        table.add_row(analysis.title, _describe(name, run))
    console.print(table)
    if run.synthetic_layers:
        console.print("[bold white on red] 示例数据 SAMPLE DATA — synthetic layers, not official zoning [/]")
    console.print(f"outputs 输出: {cfg.output}")
    for key in ("report", "map"):
        for path in run.outputs.get(key, []):
            console.print(f"  {key}: {path}")
    console.print(f"  {len(run.files)} files, {elapsed:.1f} s")


def _describe(name: str, run: StudyRun) -> str | Text:
    if name in run.skipped:
        # DataTable prints cells literally (a reason may contain brackets): style this one explicitly.
        return Text.assemble(("skipped 未运行", "yellow"), f": {run.skipped[name]}")
    return run.results[name].headline()
