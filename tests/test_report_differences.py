"""A change or gap printed beside its two figures is the difference of the figures as printed.

Probe finding 9: 表4 printed ``适龄妇女宫颈癌筛查率 51.4% | 52.9% | +1.6个百分点`` (the unrounded
51.36 → 52.93); the sentences ``75.8% … 80%以上，尚差4.3个百分点``.  The rule is
:func:`fzanalysis.labels.shown_difference`, and every view calls it.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from docx import Document

from fzanalysis import labels, narrative
from fzanalysis.report import docx as report_docx
from fzanalysis.report import excel, setup, tables

SCREENING = {
    "indicator": "health.cervical_screening", "area": "440117", "sex": "F", "subject_sex": "F", "judged": True,
    "year": 2024, "value": 52.93, "unit": "percent", "comparator": ">=", "target": 70.0, "tolerance": math.nan,
    "status": "not_met", "gap": 17.07, "status_note": "interval_clear", "name_zh": "适龄妇女宫颈癌筛查率",
    "name_en": "Cervical cancer screening rate", "domain": "health", "clause": "二（一）主要目标3",
    "too_wide": False, "pooled_years": "", "previous_year": 2023, "previous_value": 51.46, "change_1y": 1.47,
    "baseline_year": 2020, "baseline_value": 51.36, "change_base": 1.57, "projected": math.nan,
    "proj_lower": math.nan, "proj_upper": math.nan, "probability": math.nan, "category": "limited_progress",
    "verdict": "large_gap", "warnings": "", "target_year": 2030, "synthetic": True,
}


def test_the_difference_is_taken_of_the_printed_figures():
    assert labels.shown_difference(51.36, 52.93, "percent") == (1.5, 1)  # 51.4 → 52.9
    assert labels.format_difference(51.36, 52.93, "percent", signed=True) == "+1.5个百分点"
    assert labels.format_difference(83.94, 79.92, "percent", signed=True) == "−4.0个百分点"
    assert labels.format_difference(50.04, 49.96, "percent", signed=True) == "持平"  # 50.0 → 50.0
    # a real figure keeps its digits (99.95 published): the change has them too
    assert labels.format_difference(99.91, 99.95, "percent", published=True) == "0.04个百分点"


def test_a_sentence_states_the_change_of_the_figures_it_and_the_tables_print():
    text = narrative.finding(SCREENING)
    assert text.startswith("2024年适龄妇女宫颈癌筛查率为52.9%，较上年提高1.4个百分点，较2020年提高1.5个百分点。"), text
    # a move that does not show in the figures is no move (50.04 → 49.96 prints 50.0 → 50.0)
    flat = narrative.finding({**SCREENING, "value": 49.96, "baseline_value": 50.04, "change_base": -0.08})
    assert "与2020年持平" in flat, flat


def test_status_sheet_change_cells_are_the_difference_of_its_value_cells():
    frame = pd.DataFrame([SCREENING])
    sheet = excel.status_sheet(frame)
    change_base = sheet.iloc[0][labels.label("xlsx_column", "change_base")]
    change_1y = sheet.iloc[0][labels.label("xlsx_column", "change_1y")]
    assert change_base == pytest.approx(1.5) and change_1y == pytest.approx(1.4)
    assert excel._change_formats(frame, "baseline_value") == ["0.0"]


def test_gender_gap_table_difference_is_that_of_the_two_printed_values():
    gaps = pd.DataFrame({"indicator": ["economy.x"], "area": ["440117"], "unit": ["percent"],
                         "value_f": [40.75], "value_m": [59.34], "difference": [-18.59],
                         "difference_lower": [-20.0], "difference_upper": [-17.0], "ratio": [0.69],
                         "pooled_years": [""], "note": [""], "rankable": [True]})
    catalog = pd.DataFrame({"id": ["economy.x"], "name_zh": ["X"], "name_en": ["X"]})
    row = tables.gender_gap_table(gaps, catalog).iloc[0]
    assert (row["value_f"], row["value_m"], row["difference"]) == ("40.8", "59.3", "-18.5")


@pytest.fixture(scope="module")
def midterm():
    return setup(year=2025, kind="midterm", show=False)


def _number(text: str) -> Decimal:
    return Decimal(re.match(r"[−+]?([0-9,]+(?:\.[0-9]+)?)", text).group(1).replace(",", ""))


def test_every_row_of_the_word_baseline_table_adds_up(midterm, tmp_path: Path):
    """表 与2020年基线比较: baseline + change = value, in the digits printed (17 of 82 rows did not)."""
    doc = Document(str(report_docx.write_docx(midterm, tmp_path / "r.docx")))
    table = next(t for t in doc.tables if t.rows[0].cells[-1].text == "变化")
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    assert len(rows) > 50
    flat = 0
    for _, name, base, now, change in rows:
        if change == "持平":  # the two figures print alike (never "0.0个百分点")
            assert _number(base) == _number(now), (name, base, now)
            flat += 1
            continue
        sign = -1 if change.startswith("−") else 1
        assert _number(base) + sign * _number(change) == _number(now), (name, base, now, change)
        assert _number(change) != 0, (name, change)
    assert flat, "the demo's mid-term has rows unchanged since 2020"
