"""One submission file read into panel records: cells parsed, problems named by cell.

:func:`read_submission` turns the raw tables of :func:`fzanalysis.panel.read.read_file` into a
record table (panel columns plus ``file, sheet, row, unit``) and the problems of single cells;
checks across rows are in :mod:`fzanalysis.panel.checks`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import codes, gazetteer
from fzanalysis.panel import _lookups as lk
from fzanalysis.panel.problems import Problem
from fzanalysis.panel.read import RawTable, cell_text, is_missing, parse_number, parse_year, read_file

__all__ = ["REC_COLUMNS", "SUBMISSION_YEARS", "Submission", "read_records", "read_submission", "typed_records"]

#: Years a submission may report (a plan period with its history).
SUBMISSION_YEARS: tuple[int, int] = (2000, 2030)
#: Columns of the record table built from a submission (panel columns + provenance).
REC_COLUMNS = ["file", "sheet", "row", *codes.PANEL_COLUMNS, "unit"]


@dataclass
class Submission:
    """One file read and checked: its parsed records, its problems, counts."""

    file: str
    records: pd.DataFrame
    problems: list[Problem]
    rows_read: int = 0
    rows_blank: int = 0
    #: per sheet ('' for CSV): (panel column -> heading as written, panel column -> Excel letter)
    headings: dict[str, tuple[dict[str, str], dict[str, str]]] = field(default_factory=dict)

    def where(self, sheet: str | None, row: int, column: str) -> tuple[str, str]:
        """Column heading as written in the file and an Excel cell reference suffix."""
        cols, letters = self.headings.get(sheet or "", ({}, {}))
        letter = letters.get(column)
        return cols.get(column, column), (f" (cell {letter}{row})" if letter else "")

    @property
    def has_error(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def error_rows(self) -> set[tuple[str | None, int]]:
        return {(p.sheet, p.row) for p in self.problems if p.severity == "error" and p.row is not None}

    def file_errors(self) -> list[Problem]:
        """Errors not tied to a data row (unreadable file, missing column ...): they reject the file."""
        rows = {(s or None, int(r)) for s, r in zip(self.records["sheet"], self.records["row"])}
        return [p for p in self.problems if p.severity == "error" and (p.sheet, p.row) not in rows]


def read_submission(path: str | Path, *, catalog: pd.DataFrame | None = None,
                    display: str | None = None) -> Submission:
    """Read one CSV/xlsx submission into panel records and row-level problems.

    Cross-row checks (duplicates, fractions, jumps) are done by
    :func:`validate`; this function parses cells: indicator id (or its exact
    Chinese name), year, area (code or any gazetteer name variant), sex
    (F/M/T, 女/男/合计 ...), value (``96.5%``, ``９６.５``, ``12,345``; ``—``,
    ``/``, ``无`` and blanks are missing), numerator, denominator.

    A row whose value is missing but whose numerator and denominator are
    given gets ``value = scale x numerator / denominator`` (``scale`` from
    ``data/units.csv``); a row with no value at all is counted as blank and
    not kept (a template row left empty means "not reported").
    """
    return read_records(path, lk.catalog_index(catalog), display=display)


def read_records(path: str | Path, cat: pd.DataFrame, *, display: str | None = None) -> Submission:
    """:func:`read_submission` with a catalogue already normalised and indexed by id."""
    name = display if display is not None else str(path)
    tables, problems = read_file(path, display=name)
    records: list[dict[str, Any]] = []
    n_read = n_blank = 0
    rows = cat.to_dict("index")
    names = {str(r["name_zh"]): i for i, r in rows.items()} if "name_zh" in cat.columns else {}
    areas: dict[str, str | None] = {}
    for table in tables:
        for rnum, raw in table.rows:
            n_read += 1
            rec, probs, blank = _parse_row(table, rnum, raw, rows, names, areas)
            problems += probs
            if blank:
                n_blank += 1
            elif rec is not None:
                records.append(rec)
    df = pd.DataFrame.from_records(records, columns=REC_COLUMNS)
    headings = {(t.sheet or ""): (dict(t.columns), dict(t.letters)) for t in tables}
    return Submission(name, typed_records(df), problems, n_read, n_blank, headings)


def typed_records(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("file", "sheet", "indicator", "area", "sex", "source", "note", "unit"):
        df[c] = df[c].astype("str")
    df["row"] = df["row"].astype("int64")
    df["year"] = pd.array(df["year"], dtype="Int64")
    for c in ("value", "numerator", "denominator"):
        df[c] = df[c].astype("float64")
    df["synthetic"] = df["synthetic"].astype(bool)
    return df


def _where(table: RawTable, rnum: int, col: str) -> str:
    return table.columns.get(col, col)


def _cell_ref(table: RawTable, rnum: int, col: str) -> str:
    letter = table.letters.get(col)
    return f" (cell {letter}{rnum})" if letter else ""


def _parse_row(table: RawTable, rnum: int, raw: dict[str, Any], cat: dict[str, dict[str, Any]],
               names: dict[str, str], areas: dict[str, str | None]) -> tuple[dict[str, Any] | None, list[Problem], bool]:
    probs: list[Problem] = []

    def err(col: str, msg: str, severity: str = "error") -> None:
        probs.append(Problem(table.file, table.sheet, rnum, _where(table, rnum, col), severity,  # type: ignore[arg-type]
                             msg + _cell_ref(table, rnum, col)))

    # --- value-bearing cells first: a row without any figure is blank
    fmt = lambda c: table.formats.get((rnum, c), "")  # noqa: E731
    v_raw = raw.get("value")
    n_raw, d_raw = raw.get("numerator"), raw.get("denominator")
    if is_missing(v_raw) and is_missing(n_raw) and is_missing(d_raw):
        return None, [], True

    # --- indicator
    ind_text = cell_text(raw.get("indicator"))
    cat_row = None
    indicator = ind_text
    if not ind_text:
        err("indicator", "expected a catalogue indicator id (e.g. health.maternal_mortality), got an empty cell")
    elif ind_text in cat:
        cat_row = cat[ind_text]
    elif ind_text in names:
        indicator = names[ind_text]
        cat_row = cat[indicator]
    else:
        close = difflib.get_close_matches(ind_text, list(cat) + list(names), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        err("indicator", f"unknown indicator {ind_text!r}: expected an id or Chinese name from the "
                         f"catalogue (fzanalysis catalog){hint}")
    unit = lk.cat_get(cat_row, "unit")

    # --- year
    year, msg = parse_year(raw.get("year"), lo=SUBMISSION_YEARS[0], hi=SUBMISSION_YEARS[1])
    if msg:
        err("year", msg)

    # --- area
    area_text = cell_text(raw.get("area"))
    district = codes.district()
    area = district
    if area_text:
        if area_text not in areas:
            try:
                areas[area_text] = str(gazetteer.lookup(area_text))
            except LookupError:
                areas[area_text] = None
        if areas[area_text] is not None:
            area = str(areas[area_text])
        else:
            err("area", f"unknown area {area_text!r}: expected a code or name from data/towns.csv "
                        f"(e.g. {district} or 从化区, 440117001 or 街口街道)")
            area = area_text

    # --- sex
    sex_text = cell_text(raw.get("sex"))
    sex = "T"
    if sex_text:
        sex = lk.sex_aliases().get(sex_text.casefold(), "")
        if not sex:
            err("sex", f"unknown sex {sex_text!r}: expected F, M or T (女, 男, 合计)")
            sex = sex_text
        elif sex in ("F", "M") and cat_row is not None and "sex" not in lk.disagg(cat_row):
            err("sex", f"sex {sex} given, but the catalogue does not disaggregate {indicator} by sex "
                       "(expected T)", "warning")

    # --- numbers
    scale = lk.unit_info(unit)[0]
    value, sign, msg = parse_number(v_raw, number_format=fmt("value"))
    if msg:
        err("value", msg)
    elif sign is not None and value is not None and cat_row is not None:
        base = 100.0 if sign == "%" else 1000.0
        if scale is None:
            err("value", f"{v_raw!r} carries a {sign} sign, but the unit of {indicator} is {unit}: "
                         "expected a plain number")
            value, msg = None, "reported"
        else:
            value = value * scale / base
    counts: dict[str, float | None] = {}
    for col, rv in (("numerator", n_raw), ("denominator", d_raw)):
        x, s, m = parse_number(rv, number_format=fmt(col))
        if m:
            err(col, m.replace("(e.g. 96.5 or 96.5%)", "(a count)"))
        elif s is not None:
            err(col, f"expected a count, got the rate {rv!r}")
            x = None
        elif x is not None and x < 0:
            err(col, f"negative {col} {x:g}: expected a count ≥ 0")
            x = None
        counts[col] = x
    num, den = counts["numerator"], counts["denominator"]
    note = cell_text(raw.get("note")) or None
    if value is None and not msg:
        if num is not None and den is not None and den > 0 and scale is not None:
            value = scale * num / den
        elif cat_row is not None:
            err("value", "value missing: expected a number (or both numerator and denominator "
                         f"for a rate{'' if scale else '; the unit ' + str(unit) + ' is not a rate'})")
    dept = table.meta.get("department")
    source = cell_text(raw.get("source")) or (f"{dept}:{Path(table.file).name}" if dept else Path(table.file).name)
    synthetic = cell_text(raw.get("synthetic")).casefold() in ("true", "1", "是", "yes")
    rec = {"file": table.file, "sheet": table.sheet or "", "row": rnum, "indicator": indicator,
           "year": year, "area": area, "sex": sex, "value": value,
           "numerator": np.nan if num is None else num, "denominator": np.nan if den is None else den,
           "source": source, "note": note, "synthetic": synthetic, "unit": unit}
    return rec, probs, False


