"""Reading department submissions: bytes -> header-mapped rows of raw cells.

Used by :mod:`fzanalysis.panel.submission`.  Everything here is about *reading*
what real files contain (Excel workbooks, CSV exported from Excel on Chinese
Windows) without losing a cell and without raising on bad input: every
problem becomes a :class:`Problem` naming file, sheet, row and column.

Cell values are parsed by :func:`parse_number` and :func:`parse_year`, which
return ``(value, error_message)`` pairs instead of raising.
"""
from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from fzanalysis import config
from fzanalysis.paths import data_path

__all__ = ["CSV_ENCODINGS", "HEADER_SCAN_ROWS", "MISSING_TOKENS", "REQUIRED_COLUMNS", "RawTable",
           "Uncalculated", "cell_text", "decode_csv", "heading_aliases", "is_missing", "map_header",
           "normalise_heading", "parse_number", "parse_year", "read_file"]
from fzanalysis.panel.problems import Problem, Severity

#: Encodings tried in order on CSV files.  ``utf-8-sig`` reads UTF-8 with or
#: without a byte-order mark; GB18030 is a superset of GBK and GB2312, the
#: code pages Excel uses on Chinese Windows ("CSV (逗号分隔)").
CSV_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "gb18030")

#: Cell contents that mean "no figure" (after NFKC normalisation and stripping).
MISSING_TOKENS: frozenset[str] = frozenset(
    {"", "-", "--", "—", "——", "–", "/", "无", "暂无", "空", "缺", "na", "n/a", "nan", "null", "none", "…", "..."}
)

#: Header rows are looked for in the first rows of a sheet.
HEADER_SCAN_ROWS = 20


@dataclass(frozen=True)
class Uncalculated:
    """An Excel formula cell saved without its result (e.g. written by a script, never opened in Excel)."""

    formula: str

    def message(self) -> str:
        return (f"formula {self.formula} has no saved result: open the file in Excel or WPS, let it "
                "recalculate and save it (or paste the values)")


@dataclass
class RawTable:
    """A table read from one CSV file or one worksheet, header mapped to panel columns.

    ``columns`` maps panel column name -> heading as written in the file;
    ``rows`` holds ``(row_number, {panel_column: raw cell})``; ``formats`` holds
    the Excel number format of each cell (``{}`` for CSV) so a cell shown as
    ``96.5%`` (stored as 0.965) is read as 96.5.
    """

    file: str
    sheet: str | None
    header_row: int
    columns: dict[str, str]
    letters: dict[str, str] = field(default_factory=dict)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    formats: dict[tuple[int, str], str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    #: key/value pairs of a template's hidden ``_meta`` sheet (department, year, version)
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- headers
def _norm_text(text: str) -> str:
    """NFKC-normalise (full-width -> ASCII), strip, casefold, drop inner blanks."""
    out = unicodedata.normalize("NFKC", text).strip().casefold()
    return re.sub(r"\s+", "", out)


def normalise_heading(text: object) -> str:
    """Key used to match a column heading: NFKC, casefold, no blanks, no trailing ``(unit)`` or ``*``."""
    if text is None:
        return ""
    out = _norm_text(str(text))
    out = re.sub(r"\*+$", "", out)
    out = re.sub(r"[\(\[][^\(\)\[\]]*[\)\]]$", "", out)
    return out


def heading_aliases() -> dict[str, str]:
    """Map every accepted (normalised) heading to its panel column or template column.

    Built from ``data/labels/data.yaml``: a column's code, its zh and en
    labels and its ``aliases``.  Template display columns map to ``"~name"``
    (recognised, ignored on ingest).
    """
    return config.cached("panel.headings", data_path("labels", "data.yaml"), _heading_table)


def _heading_table(path: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    all_labels = config.label_table()
    for code, entry in all_labels.get("panel_column", {}).items():
        for text in (code, entry["zh"], entry["en"], *entry.get("aliases", [])):
            table[normalise_heading(text)] = code
    for code, entry in all_labels.get("template_column", {}).items():
        for text in (code, entry["zh"], entry["en"], *entry.get("aliases", [])):
            table.setdefault(normalise_heading(text), "~" + code)
    return table


def map_header(cells: list[object]) -> tuple[dict[str, int], list[str], list[tuple[int, str, str]]]:
    """Map a header row to panel columns.

    Returns ``(positions, ignored, duplicates)``: ``positions`` maps panel
    column -> index in ``cells``; ``ignored`` lists headings that are not panel
    columns (template display columns excluded); ``duplicates`` lists
    ``(index, heading, column)`` for a second heading naming a column already seen.
    """
    aliases = heading_aliases()
    positions: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[tuple[int, str, str]] = []
    for i, cell in enumerate(cells):
        key = normalise_heading(cell)
        if not key:
            continue
        target = aliases.get(key)
        if target is None:
            ignored.append(str(cell).strip())
        elif target.startswith("~"):
            continue
        elif target in positions:
            duplicates.append((i, str(cell).strip(), target))
        else:
            positions[target] = i
    return positions, ignored, duplicates


REQUIRED_COLUMNS: tuple[str, ...] = ("indicator", "year", "value")


# --------------------------------------------------------------------------- values
def is_missing(raw: object) -> bool:
    """True for blank cells and the usual "no figure" marks (``—``, ``/``, ``无`` ...)."""
    if isinstance(raw, Uncalculated):
        return False
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    if isinstance(raw, str):
        return _norm_text(raw) in MISSING_TOKENS
    return False


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(raw: object, *, number_format: str = "") -> tuple[float | None, str | None, str | None]:
    """Parse one cell into a float.

    Accepts numbers, numeric text with full-width digits (``９６．５``),
    thousands separators (``12,345``), a trailing ``%`` or ``‰`` and Excel cells
    formatted as percent (stored 0.965, shown 96.5%).

    Returns
    -------
    (value, sign, error)
        ``value`` is None for a missing cell; ``sign`` is ``"%"`` or ``"‰"``
        when the figure carried that sign (the value is then in percent / per
        mille, i.e. ``96.5%`` -> 96.5); ``error`` is a message saying what was
        expected, or None.
    """
    if isinstance(raw, Uncalculated):
        return None, None, raw.message()
    if is_missing(raw):
        return None, None, None
    if isinstance(raw, bool):
        return None, None, f"expected a number, got the logical value {raw}"
    if isinstance(raw, (datetime, date)):
        return None, None, f"expected a number, got a date ({raw:%Y-%m-%d}); check the cell format"
    if isinstance(raw, (int, float)):
        value = float(raw)
        if not math.isfinite(value):
            return None, None, f"expected a finite number, got {raw}"
        if "%" in number_format:
            return value * 100.0, "%", None
        return value, None, None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    text = re.sub(r"\s+", "", text)
    sign = None
    if text.endswith("%"):
        sign, text = "%", text[:-1]
    elif text.endswith("‰"):
        sign, text = "‰", text[:-1]
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _PLAIN.match(text):
        return None, None, f"expected a number (e.g. 96.5 or 96.5%), got {str(raw)!r}"
    value = float(text)
    if not math.isfinite(value):
        return None, None, f"expected a finite number, got {str(raw)!r}"
    return value, sign, None


def parse_year(raw: object, *, lo: int = 2000, hi: int = 2030) -> tuple[int | None, str | None]:
    """Parse a year cell: an integer in ``lo..hi`` (``2024``, ``"2024年"``, ``2024.0``)."""
    expect = f"expected a year, an integer in {lo}–{hi}"
    if isinstance(raw, Uncalculated):
        return None, raw.message()
    if is_missing(raw):
        return None, f"{expect}, got an empty cell"
    if isinstance(raw, bool) or isinstance(raw, (datetime, date)):
        return None, f"{expect}, got {raw!r}"
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip()
        text = re.sub(r"年(度)?$", "", text)
        if not _PLAIN.match(text):
            return None, f"{expect}, got {str(raw)!r}"
        value = float(text)
    if not math.isfinite(value) or value != int(value):
        return None, f"{expect}, got {raw!r}"
    year = int(value)
    if not lo <= year <= hi:
        return None, f"{expect}, got {year}"
    return year, None


def cell_text(raw: object) -> str:
    """A cell as stripped, NFKC-normalised text ('' for missing)."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return unicodedata.normalize("NFKC", str(raw)).strip()


# --------------------------------------------------------------------------- files
def _col_letter(i: int) -> str:
    return get_column_letter(i + 1)


def _problem(file: str, sheet: str | None, row: int | None, column: str | None, message: str,
             severity: Severity = "error") -> Problem:
    return Problem(file, sheet, row, column, severity, message)


def decode_csv(data: bytes) -> tuple[str | None, str | None]:
    """Decode CSV bytes; return ``(text, encoding)`` or ``(None, None)``.

    UTF-16 is recognised by its byte-order mark (Excel's "Unicode text");
    otherwise :data:`CSV_ENCODINGS` are tried strictly in order.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            return None, None
    for enc in CSV_ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return None, None


def read_file(path: str | Path, *, display: str | None = None) -> tuple[list[RawTable], list[Problem]]:
    """Read a CSV file or an ``.xlsx`` workbook into header-mapped tables.

    Never raises for bad input: an unreadable, empty, undecodable or
    mis-named file yields a :class:`Problem` instead.  ``display`` is the
    name used in messages (default: the path as given).
    """
    path = Path(path)
    name = display if display is not None else str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], [_problem(name, None, None, None, "file not found")]
    except IsADirectoryError:
        return [], [_problem(name, None, None, None, "is a directory, expected a .csv or .xlsx file")]
    except OSError as exc:
        return [], [_problem(name, None, None, None, f"cannot read file: {exc.strerror or exc}")]
    if not data.strip():
        return [], [_problem(name, None, None, None, "empty file: expected a header row with columns "
                             "indicator, year, value (or a filled submission template)")]
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(data, name)
    if suffix == ".xls":
        return [], [_problem(name, None, None, None, "old Excel 97-2003 .xls format is not read: "
                             "open it in Excel or WPS and save as .xlsx")]
    if suffix in (".csv", ".txt", ".tsv"):
        if zipfile.is_zipfile(io.BytesIO(data)):
            return [], [_problem(name, None, None, None, "file is an Excel workbook or other zip archive, "
                                 "not CSV text: rename it to .xlsx")]
        return _read_csv(data, name)
    return [], [_problem(name, None, None, None, f"unsupported file type {suffix or '(none)'!r}: "
                         "expected .csv or .xlsx")]


def _read_csv(data: bytes, name: str) -> tuple[list[RawTable], list[Problem]]:
    text, _enc = decode_csv(data)
    if text is None:
        return [], [_problem(name, None, None, None, "cannot decode text: expected UTF-8 (with or "
                             "without BOM), GBK/GB18030 or UTF-16 encoding")]
    if "\x00" in text:
        return [], [_problem(name, None, None, None, "file contains NUL bytes: expected CSV text")]
    # the delimiter most used in the first lines (a title line above the header has none)
    head = "\n".join(text.splitlines()[:HEADER_SCAN_ROWS])
    delimiter = max((",", "\t", ";", "，"), key=head.count)
    if head.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    lines: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            lines.append((reader.line_num, cells))
    except csv.Error as exc:
        problems.append(_problem(name, None, reader.line_num, None, f"malformed CSV: {exc}"))
    return _tables_from_rows(name, None, lines, {}, problems, letters=False)


def _read_xlsx(data: bytes, name: str) -> tuple[list[RawTable], list[Problem]]:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return [], [_problem(name, None, None, None, "file is an old Excel 97-2003 (.xls) workbook "
                             "named .xlsx: open it in Excel or WPS and save as .xlsx")]
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [], [_problem(name, None, None, None, "not an Excel .xlsx workbook (the content is not "
                             "a zip archive; was a CSV or other file renamed to .xlsx?)")]
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt archives
        return [], [_problem(name, None, None, None, f"cannot open as an Excel workbook: "
                             f"{type(exc).__name__}: {exc}")]
    tables: list[RawTable] = []
    problems: list[Problem] = []
    skip, meta = _template_meta(wb)
    formulas = _formulas(data)
    try:
        for ws in wb.worksheets:
            if ws.title in skip:
                continue
            lines: list[tuple[int, list[Any]]] = []
            formats: dict[tuple[int, int], str] = {}
            sheet_formulas = formulas.get(ws.title, {})
            for row in ws.iter_rows():
                rnum = next((c.row for c in row if getattr(c, "row", None) is not None), None)
                if rnum is None:
                    continue
                cells = [getattr(c, "value", None) for c in row]
                for i, v in enumerate(cells):
                    if v is None and (rnum, i) in sheet_formulas:
                        cells[i] = Uncalculated(sheet_formulas[(rnum, i)])
                for i, c in enumerate(row):
                    fmt = getattr(c, "number_format", None)
                    if isinstance(cells[i], (int, float)) and fmt and "%" in fmt:
                        formats[(rnum, i)] = fmt
                lines.append((rnum, cells))
            t, p = _tables_from_rows(name, ws.title, lines, formats, [], letters=True)
            for table in t:
                table.meta = meta
            if not t and not p and any(not is_missing(v) for _, cells in lines for v in cells):
                p = [_problem(name, ws.title, None, None, "sheet skipped: no header row with columns "
                              "indicator, year, value found in its first rows", "warning")]
            tables += t
            problems += p
    finally:
        wb.close()
    if not tables and not any(p.severity == "error" for p in problems):
        problems.append(_problem(name, None, None, None, "no sheet has a header row with columns "
                                 "indicator (指标代码), year (年份), value (数值)"))
    return tables, problems


def _template_meta(wb: Any) -> tuple[set[str], dict[str, Any]]:
    """Sheets to skip and the key/value pairs of a template's hidden ``_meta`` sheet.

    The template lists its instruction sheet(s) there (``instruction_sheet``), and its
    department, year and version.  Workbooks without ``_meta`` skip nothing.
    """
    skip = {"_meta"}
    meta: dict[str, Any] = {}
    if "_meta" in wb.sheetnames:
        for row in wb["_meta"].iter_rows(values_only=True):
            if row and row[0] and len(row) > 1:
                meta[str(row[0])] = row[1]
                if row[0] == "instruction_sheet" and row[1]:
                    skip.add(str(row[1]))
    return skip, meta


def _formulas(data: bytes) -> dict[str, dict[tuple[int, int], str]]:
    """Formula cells of every sheet: ``{sheet: {(row, column index): "=..."}}``."""
    out: dict[str, dict[tuple[int, int], str]] = {}
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # already reported by the data_only load
        return out
    try:
        for ws in wb.worksheets:
            found = {}
            for row in ws.iter_rows():
                for i, c in enumerate(row):
                    if getattr(c, "data_type", None) == "f":
                        found[(c.row, i)] = str(c.value)
            if found:
                out[ws.title] = found
    finally:
        wb.close()
    return out


def _tables_from_rows(name: str, sheet: str | None, lines: list[tuple[int, list[Any]]],
                      formats: dict[tuple[int, int], str], problems: list[Problem], *,
                      letters: bool) -> tuple[list[RawTable], list[Problem]]:
    """Find the header row among the first rows, map it, collect the data rows."""
    header_at = None
    best: tuple[int, int] | None = None  # (n required found, index)
    for idx, (_rnum, cells) in enumerate(lines[:HEADER_SCAN_ROWS]):
        positions, _ign, _dup = map_header(cells)
        found = sum(c in positions for c in REQUIRED_COLUMNS)
        if found == len(REQUIRED_COLUMNS):
            header_at = idx
            break
        if found and (best is None or found > best[0]):
            best = (found, idx)
    if header_at is None:
        if best is None:
            if sheet is not None:  # caller decides whether an unrelated sheet matters
                return [], problems
            return [], problems + [_problem(name, sheet, lines[0][0] if lines else None, None,
                                            "no header row found: expected columns indicator, year, value "
                                            "(指标代码, 年份, 数值) in the first rows")]
        idx = best[1]
        positions, _ign, _dup = map_header(lines[idx][1])
        missing = [c for c in REQUIRED_COLUMNS if c not in positions]
        return [], problems + [_problem(name, sheet, lines[idx][0], c,
                                        f"missing required column {c!r} "
                                        f"(expected a heading such as {c} or {_zh(c)})") for c in missing]
    rnum, header = lines[header_at]
    positions, ignored, dups = map_header(header)
    for i, heading, col in dups:
        problems.append(_problem(name, sheet, rnum, heading,
                                 f"second column for {col!r}: expected each panel column once"))
    for heading in ignored:
        problems.append(_problem(name, sheet, rnum, heading, f"unknown column {heading!r} is not read "
                                 "(panel columns: indicator, year, area, sex, value, numerator, "
                                 "denominator, source, note)", "warning"))
    table = RawTable(file=name, sheet=sheet, header_row=rnum,
                     columns={c: str(header[i]).strip() for c, i in positions.items()},
                     letters={c: _col_letter(i) for c, i in positions.items()} if letters else {},
                     ignored=ignored)
    width = len(header)
    for r, cells in lines[header_at + 1:]:
        if all(is_missing(v) for v in cells):
            continue
        if all(c in map_header(cells)[0] for c in REQUIRED_COLUMNS):
            continue  # a repeated header (the template's visible Chinese heading row)
        extra = [v for v in cells[width:] if not is_missing(v)]
        if extra:
            problems.append(_problem(name, sheet, r, None, f"{len(extra)} cell(s) beyond the last "
                                     "heading: expected every figure under a heading"))
        record = {c: (cells[i] if i < len(cells) else None) for c, i in positions.items()}
        table.rows.append((r, record))
        for c, i in positions.items():
            fmt = formats.get((r, i))
            if fmt:
                table.formats[(r, c)] = fmt
    return [table], problems


def _zh(column: str) -> str:
    return config.label_table().get("panel_column", {}).get(column, {}).get("zh", column)
