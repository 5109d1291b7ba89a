"""Every independent validation check (validation/check_*.py) agrees with its oracle."""

from __future__ import annotations

import pytest

from validation.__main__ import check_modules, run


@pytest.mark.parametrize("module", check_modules())
def test_validation_module_agrees_with_its_oracle(module: str) -> None:
    rows = run([module])
    assert rows, f"{module} returned no checks"
    failed = [f"{r.quantity}: {r.measured} (tolerance {r.tolerance})" for r in rows if not r.passed]
    assert not failed, "\n".join(failed)
