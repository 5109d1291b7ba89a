"""Terminal output at 80 columns (the default when piped): numbers and names are never split; help texts
show TOML table names literally and no type for on/off flags."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from sanxian_yidan.cli import app
from sanxian_yidan.cli._common import DataTable

NAMES = ["吴山镇花岗岩矿点21（示例）", "广水市建筑用花岗岩矿点54（示例）", "万和镇大理岩矿点13（示例）"]
NUMBERS = ["19,116", "309.7", "0.515"]


def _render(table: DataTable, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, legacy_windows=False).print(table)
    return buffer.getvalue()


def _wide_table() -> DataTable:
    table = DataTable(title="矿山 / mines")
    for head in ("排序", "名称 / name", "乡镇", "状态", "面积 / area [m²]", "两线可视", "距三区 km", "优先度",
                 "p_top10", "建议模式"):
        table.add_column(head)
    for i, (name, number) in enumerate(zip(NAMES, NUMBERS)):
        table.add_row(str(i + 1), name, "万和镇", "废弃", number, "0.92", "12,345.6", "0.481", "1.00",
                      "复绿（三区两线）")
    return table


@pytest.mark.parametrize("width", [60, 80, 100, 200])
def test_numbers_and_names_are_never_split(width: int) -> None:
    text = _render(_wide_table(), width)
    for piece in NAMES + NUMBERS + ["12,345.6", "复绿（三区两线）"]:
        assert piece in text, f"{piece!r} split at width {width}:\n{text}"
    assert max(len(line) for line in text.splitlines()) <= width  # cells as characters; CJK count twice on screen


def test_a_table_that_fits_stays_a_table_and_one_that_does_not_turns_vertical() -> None:
    assert "┃" in _render(_wide_table(), 200)  # header row of a table
    narrow = _render(_wide_table(), 80)
    assert "┃" not in narrow and "— 1 —" in narrow and "面积 / area [m²]" in narrow  # header: value blocks
    small = DataTable()
    small.add_column("县 / county")
    small.add_column("装机 / capacity [kWp]")
    small.add_row("随县", "68,886.2")
    assert "┃" in _render(small, 80)


def test_a_table_rich_cannot_fold_to_the_width_is_printed_vertically_not_cut() -> None:
    # Minimum widths fit 80 columns, but rich drew this table 85 cells wide and cut off "[ha]".
    table = DataTable(title="建议修复模式 / Recommended modes")
    for head in ("mode", "模式", "矿山 / mines", "面积 / area [ha]"):
        table.add_column(head)
    table.add_row("natural_recovery", "自然恢复", "20", "267.7")
    table.add_row("restore_while_mining", "边开采边治理（采矿权人）", "19", "265.6")
    text = _render(table, 80)
    assert max(cell_len(line) for line in text.splitlines()) <= 80, text
    assert "面积 / area [ha]" in text and "边开采边治理（采矿权人）" in text and "265.6" in text


def test_brackets_in_table_text_are_literal() -> None:
    table = DataTable()
    table.add_column("装机容量 / capacity [kWp]")
    table.add_row("[factors] 1,234")
    text = _render(table, 80)
    assert "[kWp]" in text and "[factors] 1,234" in text


@pytest.mark.parametrize("command", [["rooftops", "--help"], ["brownfields", "--help"], ["screen", "--help"]])
def test_help_at_80_columns_keeps_brackets_and_shows_no_type_for_flags(command: list[str]) -> None:
    result = CliRunner().invoke(app, command, env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "…" not in result.output  # no help text cut short
    overwrite = next(line for line in result.output.splitlines() if "--overwrite" in line)
    assert re.search(r"--overwrite\s+Replace", overwrite), overwrite  # no type column for a flag
    if command[0] == "rooftops":
        assert "[solar], [factors]" in re.sub(r"[\s│]+", " ", result.output)
