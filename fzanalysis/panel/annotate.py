"""Feedback workbooks: a copy of each submission with its problems marked, to send back.

:func:`annotate` writes, for each submission, ``<name>.批注.xlsx`` into a folder: a copy of the
workbook (a CSV file becomes a workbook with the same cells) whose offending cells are filled
(red for an error, yellow for a warning) and carry a comment saying what was found, what was
expected and how to fix it, plus a sheet ``问题清单`` listing every problem (file, sheet, row,
column, found, expected, fix).  The original file is only read, never written.
"""
from __future__ import annotations

import io
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from fzanalysis import config
from fzanalysis.labels import Lang, label
from fzanalysis.panel.problems import Problem, Wording
from fzanalysis.panel.read import HEADER_SCAN_ROWS, csv_cells, normalise_heading
from fzanalysis.panel.safe import atomic_write, set_text_cell

__all__ = ["FILLS", "LIST_COLUMNS", "annotate", "annotated_name", "column_shown", "list_sheet"]

#: Fill colour by severity (Excel's own "bad" red and "neutral" yellow).
FILLS: dict[str, str] = {"error": "FFC7CE", "warning": "FFEB9C"}
#: Columns of the sheet listing every problem, as codes of ``feedback_sheet`` in
#: ``data/labels/data.yaml`` (which holds the sheet's name and headings in both languages).
LIST_COLUMNS: tuple[str, ...] = ("file", "sheet", "row", "column", "severity", "found", "expected", "fix",
                                 "message")
_WIDTHS = (18, 10, 6, 10, 8, 16, 30, 40, 60)


def column_shown(column: str | None, cell: str | None, lang: Lang = "zh") -> str:
    """A problem's column as the unit finds it: a panel column's words (数值, not ``value``) and its letter.

    Examples
    --------
    >>> column_shown("value", "K15"), column_shown("备注", None), column_shown("numerator", "L3", "en")
    ('数值（K列）', '备注', 'Numerator (column L)')
    >>> column_shown("area_name", "F7")  # a template's display column
    '地区（F列）'
    """
    if not column:
        return ""
    table = config.label_table()
    kind = next((k for k in ("panel_column", "template_column") if column in table.get(k, {})), None)
    name = label(kind, column, lang) if kind else column
    letter = re.sub(r"\d", "", cell or "")
    return label("feedback_sheet", "column_at", lang).format(name=name, letter=letter) if letter else name


def list_sheet(lang: str = "zh") -> str:
    """Name of the sheet listing every problem (``问题清单``), from ``data/labels/data.yaml``."""
    return label("feedback_sheet", "name", lang)[:31]


def _wrapped_lines(value: Any, width: float) -> int:
    """Lines ``value`` takes in a column ``width`` characters wide (a Chinese character is two)."""
    text = "" if value is None else str(value)
    wide = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return max(1, math.ceil(wide / max(width - 1, 1)))


def annotated_name(path: str | Path) -> str:
    """File name of the feedback copy of ``path``: ``报表.xlsx`` -> ``报表.批注.xlsx`` (CSV too)."""
    return f"{Path(path).stem}.批注.xlsx"


def _open_copy(path: Path) -> tuple[Any, bool]:
    """A workbook to annotate: the submission's own (xlsx) or its cells (CSV); ``(wb, readable)``."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            data = path.read_bytes()
            return openpyxl.load_workbook(io.BytesIO(data)), True
        except Exception:  # encrypted, truncated, not a workbook: the list sheet alone
            wb = openpyxl.Workbook()
            wb.remove(wb.active)
            return wb, False
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = path.stem[:31] or "Sheet1"
    cells = csv_cells(path)
    if cells is None:
        wb.remove(ws)
        return wb, False
    for r, line in enumerate(cells, start=1):
        for c, v in enumerate(line, start=1):
            if v != "":
                set_text_cell(ws.cell(row=r, column=c), v)
    return wb, True


def _find_column(ws: Any, heading: str) -> int | None:
    """Index of the column headed ``heading`` in the first rows of ``ws``."""
    key = normalise_heading(heading)
    for row in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
        for cell in row:
            if cell.value is not None and normalise_heading(cell.value) == key:
                return int(cell.column)
    return None


def _anchor(ws: Any, row: int, col: int) -> tuple[int, int]:
    """The cell that can carry a mark a clerk sees: a cell inside merged cells is marked on the
    merge's first cell; a cell of a hidden column (a template's key columns A:D) on the first
    visible cell of its row to the right (a blank indicator code in A5 is marked in E5)."""
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            return rng.min_row, rng.min_col
    hidden_cols = {c for dim in ws.column_dimensions.values() if dim.hidden and dim.min is not None
                   for c in range(int(dim.min), int(dim.max or dim.min) + 1)}

    def hidden(c: int) -> bool:
        return c in hidden_cols
    if hidden(col):
        nxt = next((c for c in range(col + 1, max(ws.max_column, col) + 1) if not hidden(c)), None)
        if nxt is not None:
            return row, nxt
    return row, col


def annotate(problems: Sequence[Problem], paths: Sequence[str | Path], out_dir: str | Path, *,
             lang: str = "zh") -> list[Path]:
    """Write a feedback workbook for each file of ``paths`` into ``out_dir``.

    Parameters
    ----------
    problems : sequence of Problem
        The findings of :func:`fzanalysis.panel.validate` for these files.
    paths : sequence of str or Path
        The submission files (read only).
    out_dir : str or Path
        Folder for the copies (created); a copy is named by :func:`annotated_name`.
    lang : {"zh", "en"}
        Language of comments and of the problem list.

    Returns
    -------
    list of Path
        The workbooks written, in the order of ``paths``.

    Raises
    ------
    OSError
        ``out_dir`` cannot be created or written (e.g. it is a file).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        by_file[p.file].append(p)
    written = []
    for path in map(Path, paths):
        probs = by_file.get(str(path), [])
        wb, readable = _open_copy(path)
        marks: dict[tuple[str, int, int], list[tuple[Problem, str]]] = defaultdict(list)
        rows = []
        words = Wording(lang)
        for p in probs:
            e = words.explain(p.code, dict(p.values), p.cell)
            rows.append([str(path.name), p.sheet or "", p.row if p.row is not None else "",
                         column_shown(p.column, e.cell, lang),
                         label("severity", p.severity, lang), e.found, e.expected, e.fix, e.message])
            if not readable or p.row is None:
                continue
            sheet = p.sheet if p.sheet in wb.sheetnames else (wb.sheetnames[0] if p.sheet is None and wb.sheetnames
                                                              else None)
            if sheet is None:
                continue
            ws = wb[sheet]
            col = None
            if e.cell:
                col = openpyxl.utils.cell.column_index_from_string(re.sub(r"\d", "", e.cell))
            elif p.column:
                col = _find_column(ws, p.column)
            r, c = _anchor(ws, int(p.row), col or 1)
            marks[(sheet, r, c)].append((p, e.message))
        for (sheet, r, c), items in marks.items():
            cell = wb[sheet].cell(row=r, column=c)
            worst = "error" if any(p.severity == "error" for p, _ in items) else "warning"
            cell.fill = PatternFill("solid", start_color=FILLS[worst], end_color=FILLS[worst])
            text = "\n".join(f"[{label('severity', p.severity, lang)}] {m}" for p, m in items)
            cell.comment = Comment(text[:30000], "fzanalysis", width=360, height=min(60 + 40 * len(items), 400))
        ws = wb.create_sheet(list_sheet(lang), 0)
        for j, code in enumerate(LIST_COLUMNS, start=1):
            set_text_cell(ws.cell(row=1, column=j), label("feedback_sheet", code, lang)).font = Font(bold=True)
        none = [path.name, "", "", "", "", label("feedback_sheet", "no_problems", lang), "", "", ""]
        for i, row in enumerate(rows or [none], start=2):
            for j, v in enumerate(row, start=1):
                set_text_cell(ws.cell(row=i, column=j), v)
                if j == 5 and rows:
                    sev = probs[i - 2].severity
                    ws.cell(row=i, column=j).fill = PatternFill("solid", start_color=FILLS[sev], end_color=FILLS[sev])
        for j, width in enumerate(_WIDTHS, start=1):
            ws.column_dimensions[get_column_letter(j)].width = width
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            # rows as tall as their wrapped text (spreadsheet programs do not grow them on opening)
            lines = max(_wrapped_lines(c.value, _WIDTHS[c.column - 1]) for c in row)
            ws.row_dimensions[row[0].row].height = 15 * min(lines, 20)
        ws.freeze_panes = "A2"
        ws.page_setup.orientation = "landscape"  # printed on one page width, to hand over
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        if not path.suffix.lower().startswith(".xls"):  # the copy of a CSV: columns wide enough to read
            for j in range(1, (wb.worksheets[1].max_column if len(wb.worksheets) > 1 else 0) + 1):
                wb.worksheets[1].column_dimensions[get_column_letter(j)].width = 16
        wb.active = 0
        target = out / annotated_name(path)
        written.append(atomic_write(target, lambda tmp, wb=wb: wb.save(tmp)))
    return written

