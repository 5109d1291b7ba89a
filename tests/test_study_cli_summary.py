"""The terminal summary `sanxian study run` / `sanxian demo` prints after the sample study."""

from __future__ import annotations

import re


def test_summary_of_the_sample_study_names_every_analysis(sample_study, capsys) -> None:
    from sanxian_yidan.cli.study import _print_summary

    _, run = sample_study
    _print_summary(run, 1.0)
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    mines = run.results["mines"].mines
    assert f"{len(mines)} mines, modes:" in text
    assert "sites ranked" in text and "MWp technical" in text


def test_screening_verdicts_are_named_in_both_languages_with_their_counts(sample_study, capsys) -> None:
    from sanxian_yidan.cli.study import _print_summary

    _, run = sample_study
    _print_summary(run, 1.0)
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    counts = run.results["screening"].tables["projects"]["verdict"].value_counts()
    assert counts.get("prohibited", 0) > 0
    assert f"禁止 prohibited {counts['prohibited']}" in text
    assert "outside_coverage" not in text  # no raw codes
