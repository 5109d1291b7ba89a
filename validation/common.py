"""The one row type every validation check returns, and how rows become ``docs/validation.md``.

Each ``validation/check_*.py`` module defines ``checks() -> list[Check]``: it runs the toolkit and an
independent oracle (a tool or a publication the project did not write) in the same run and compares them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One compared quantity.

    Attributes
    ----------
    quantity : str
        What is compared, with its unit (e.g. "slope [deg]").
    oracle : str
        The independent reference: tool and version, or publication with exact source.
    test_set : str
        What was compared (data set, number of cells/sites/points).
    tolerance : str
        The agreement required, stated with its unit and why (e.g. "|Δ| ≤ 1e-4 deg").
    measured : str
        The agreement measured in this run (e.g. "max |Δ| = 3.2e-6 deg").
    passed : bool
        Whether ``measured`` lies within ``tolerance``.
    """

    quantity: str
    oracle: str
    test_set: str
    tolerance: str
    measured: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "FAIL"


HEADER = (
    "| quantity | oracle | test set | tolerance | measured agreement | verdict |\n"
    "|---|---|---|---|---|---|\n"
)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[Check]) -> str:
    """Render checks as one Markdown table, in the order given."""
    body = "".join(
        "| " + " | ".join(_cell(v) for v in (r.quantity, r.oracle, r.test_set, r.tolerance, r.measured, r.verdict)) + " |\n"
        for r in rows
    )
    return HEADER + body
