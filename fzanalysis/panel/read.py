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
import html
import io
import math
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils import column_index_from_string, get_column_letter

from fzanalysis import config
from fzanalysis.paths import data_path

__all__ = ["CSV_ENCODINGS", "DISPLAY_COLUMNS", "HEADER_SCAN_ROWS", "MISSING_TOKENS", "REQUIRED_COLUMNS", "RawTable",
           "Uncalculated", "cell_text", "csv_cells", "decode_csv", "heading_aliases", "heading_mask", "is_missing",
           "lower_heading", "map_header", "missing_mask", "note_text",
           "normalise_heading", "parse_number", "parse_year", "percent_format", "quoted_rows", "read_file",
           "sniff_delimiter",
           "visible_text"]
from fzanalysis.panel.problems import Msg, Problem, Severity

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

    def message(self) -> Msg:
        return "number_formula", (("found", self.formula),)


@dataclass
class RawTable:
    """A table read from one CSV file or one worksheet, header mapped to panel columns.

    ``columns`` maps panel column name -> heading as written in the file;
    ``frame`` holds the raw cells of the data rows (one column per panel column found, object
    dtype, indexed by the row number a spreadsheet program shows); ``formats`` holds
    the Excel number format of each cell (``{}`` for CSV) so a cell shown as
    ``96.5%`` (stored as 0.965) is read as 96.5.
    """

    file: str
    sheet: str | None
    header_row: int
    columns: dict[str, str]
    letters: dict[str, str] = field(default_factory=dict)
    frame: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(index=pd.Index([], dtype="int64", name="row")))
    formats: dict[tuple[int, str], str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    #: key/value pairs of a template's hidden ``_meta`` sheet (department, year, version)
    meta: dict[str, Any] = field(default_factory=dict)
    #: panel column -> which cells of ``frame`` are missing (:func:`missing_mask`), as judged
    #: when the blank rows were found (so the cells are judged once)
    missing: dict[str, np.ndarray] = field(default_factory=dict)
    #: panel column -> its cells factorised (:func:`factorize_cells`), for the number columns
    cells: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: panel column -> its heading in a template's visible heading row (数值（2024年）), if any
    shown: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- text
#: Invisible format characters (Unicode category Cf: zero-width space and joiners, a byte-order
#: mark inside a line, word joiner, soft hyphen, direction marks) that text pasted from a web page
#: or a chat window carries into a cell.  Excel shows nothing for them, so a cell is read without
#: them, as the clerk sees it.
_INVISIBLE = re.compile("[" + "".join(re.escape(chr(c)) for c in range(0x10000)
                                      if unicodedata.category(chr(c)) == "Cf") + "]")


def visible_text(text: str) -> str:
    """The text of a cell as the clerk sees it: NFKC-normalised (full-width digits, letters and
    punctuation become ASCII; a no-break space a space), invisible format characters removed,
    stripped.  The one normalisation of every cell and heading read from a submission.

    Examples
    --------
    >>> visible_text("\u200b９６．５\u00a0"), visible_text("鳌头镇\ufeff")
    ('96.5', '鳌头镇')
    """
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).strip()


# --------------------------------------------------------------------------- headers
def _norm_text(text: str) -> str:
    """:func:`visible_text`, casefolded, inner blanks dropped."""
    out = visible_text(text).casefold()
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
    (recognised; not panel columns: the reader keeps the ones a row is named by, 指标名称, 地区 and
    性别, to check them against the row's key cells, :data:`DISPLAY_COLUMNS`).
    """
    return config.cached("panel.headings", data_path("labels", "data.yaml"), _heading_table)


def _heading_table(path: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    all_labels = config.label_table()
    for code, entry in all_labels.get("panel_column", {}).items():
        for text in (code, entry["zh"], entry["en"], *entry.get("aliases", [])):
            table[normalise_heading(text)] = code
    for key, column in _template_headings().items():  # a panel column's heading wins (地区 is area)
        table.setdefault(key, column)
    return table


def _template_headings() -> dict[str, str]:
    """Every (normalised) heading of a template display column -> ``"~" + code``, also those a
    panel column shares (地区 is the template's visible area name and an alias of ``area``)."""
    def table(_path: Path) -> dict[str, str]:
        out: dict[str, str] = {}
        for code, entry in config.label_table().get("template_column", {}).items():
            for text in (code, entry["zh"], entry["en"], *entry.get("aliases", [])):
                out.setdefault(normalise_heading(text), "~" + code)
        return out
    return config.cached("panel.template_headings", data_path("labels", "data.yaml"), table)  # type: ignore[no-any-return]


def map_header(cells: list[object], *, display: bool = False
               ) -> tuple[dict[str, int], list[str], list[tuple[int, str, str]]]:
    """Map a header row to panel columns.

    Returns ``(positions, ignored, duplicates)``: ``positions`` maps panel
    column -> index in ``cells`` (with ``display``, also the :data:`DISPLAY_COLUMNS` found, as
    ``"~name_zh"`` ...); ``ignored`` lists headings that are not panel
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
            if display and target in DISPLAY_COLUMNS and target not in positions:
                positions[target] = i
        elif target in positions:
            shown = _template_headings().get(key)
            if shown is None:
                duplicates.append((i, str(cell).strip(), target))
            elif display and shown in DISPLAY_COLUMNS and shown not in positions:
                # the template's visible header (its hidden code row deleted or not copied):
                # 地区代码 is the area, 地区 beside it the name a clerk reads
                positions[shown] = i
        else:
            positions[target] = i
    return positions, ignored, duplicates


REQUIRED_COLUMNS: tuple[str, ...] = ("indicator", "year", "value")
#: The template's visible columns that name a row (indicator name, area, sex), mapped by
#: :func:`map_header` as ``"~" + code``: a clerk reads these, the computer the hidden key cells,
#: so the two are checked against each other (:mod:`fzanalysis.panel.submission`).
DISPLAY_COLUMNS: dict[str, str] = {"~name_zh": "indicator", "~area_name": "area", "~sex_name": "sex"}


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
#: digit groups set off by one space (``1 234 567``, also a no-break space after NFKC); any other
#: space inside a figure (``8 3.2``) is a typo and the cell is not a number
_THOUSANDS_SPACED = re.compile(r"^[+-]?\d{1,3}( \d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(raw: object, *, number_format: str = "") -> tuple[float | None, str | None, Msg | None]:
    """Parse one cell into a float.

    Accepts numbers, numeric text with full-width digits (``９６．５``),
    thousands separators (``12,345``, ``12 345``: groups of three digits only; any other space
    inside a figure is an error), a trailing ``%`` or ``‰`` and Excel cells
    formatted as percent (stored 0.965, shown 96.5%).

    Returns
    -------
    (value, sign, error)
        ``value`` is None for a missing cell; ``sign`` is ``"%"`` or ``"‰"``
        when the figure carried that sign (the value is then in percent / per
        mille, i.e. ``96.5%`` -> 96.5); ``error`` is a message saying what was
        expected (a message code and its values, :class:`~fzanalysis.panel.problems.Problem`),
        or None.
    """
    if isinstance(raw, Uncalculated):
        return None, None, raw.message()
    if is_missing(raw):
        return None, None, None
    if isinstance(raw, bool):
        return None, None, ("number_logical", (("found", str(raw)),))
    if isinstance(raw, (datetime, date)):
        return None, None, ("number_date", (("found", f"{raw:%Y-%m-%d}"),))
    if isinstance(raw, (int, float)):
        value = float(raw)
        if not math.isfinite(value):
            return None, None, ("number_infinite", (("found", str(raw)),))
        said = format_text(number_format)
        if _MAGNITUDE.search(said):  # 0.32 shown as "0.32万元": the clerk sees ten thousands
            return None, None, ("number_format_magnitude", (("found", f"{value:g}"), ("shown", f"{value:g}{said}"),
                                                             ("literal", said)))
        shown = percent_format(number_format)
        if shown == "scaled":
            return value * 100.0, "%", None
        if shown == "literal":  # 0.00"%" or 0.00\% shows 0.5 as "0.50%": the figure is 0.5 %
            return value, "%", None
        return value, None, None
    marks = [c for c in str(raw) if unicodedata.category(c) == "No"]
    if marks:  # ①, ¹, ½ ...: NFKC would make 32.5① the figure 32.51
        return None, None, ("number_footnote", (("found", str(raw)), ("mark", "".join(marks))))
    text = visible_text(str(raw))
    sign = None
    if text.endswith("%"):
        sign, text = "%", text[:-1].rstrip()
    elif text.endswith("‰"):
        sign, text = "‰", text[:-1].rstrip()
    if _THOUSANDS.match(text) or _THOUSANDS_SPACED.match(text):
        text = re.sub(r"[,\s]", "", text)
    if not _PLAIN.match(text):
        return None, None, ("not_a_number", (("found", str(raw)),))
    value = float(text)
    if not math.isfinite(value):
        return None, None, ("number_infinite", (("found", str(raw)),))
    return value, sign, None


#: Words of magnitude in a number format's text (0.00"万元" shows 0.32 as 0.32万元).
_MAGNITUDE = re.compile("万|千|亿|百万")


def format_text(number_format: str) -> str:
    r"""The literal text an Excel number format shows beside the figure (quoted or escaped).

    Examples
    --------
    >>> format_text('0.00"万元"'), format_text("0\\人"), format_text("0.0%")
    ('万元', '人', '')
    """
    if not number_format or ('"' not in number_format and "\\" not in number_format):
        return ""
    return "".join(m.group(1) if m.group(1) is not None else m.group(2)
                   for m in re.finditer(r'"([^"]*)"|\\(.)', number_format))


def percent_format(number_format: str) -> str | None:
    r"""How an Excel number format shows a percent sign.

    ``"scaled"`` for a real percent format (``0.0%``: 0.965 is shown as 96.5%), ``"literal"`` for
    a ``%`` that is quoted or escaped text (``0.00"%"``, ``0.00\\%``: 0.5 is shown as 0.50%),
    None for no percent sign.

    Examples
    --------
    >>> percent_format("0.0%"), percent_format('0.00"%"'), percent_format("0.00\\%"), percent_format("0.00")
    ('scaled', 'literal', 'literal', None)
    """
    if not number_format or "%" not in number_format:
        return None
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", number_format)
    return "scaled" if "%" in bare else "literal"


def parse_year(raw: object, *, lo: int = 2000, hi: int = 2030) -> tuple[int | None, Msg | None]:
    """Parse a year cell: an integer in ``lo..hi`` (``2024``, ``"2024年"``, ``2024.0``).

    Returns ``(year, None)`` or ``(None, (message code, values))``.
    """
    span = (("lo", lo), ("hi", hi))
    if isinstance(raw, Uncalculated):
        return None, raw.message()
    if is_missing(raw):
        return None, ("year_empty", span)
    if isinstance(raw, (datetime, date)):
        return None, ("year_date", (("found", f"{raw:%Y-%m-%d}"), ("year", raw.year), *span))
    if isinstance(raw, bool):
        return None, ("year_logical", (("found", str(raw)), *span))
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = re.sub(r"年(度)?$", "", visible_text(str(raw)))
        if not _PLAIN.match(text):
            return None, ("year_bad", (("found", str(raw)), *span))
        value = float(text)
    if not math.isfinite(value) or value != int(value):
        return None, ("year_bad", (("found", str(raw)), *span))
    year = int(value)
    if not lo <= year <= hi:
        return None, ("year_bad", (("found", str(year)), *span))
    return year, None


def note_text(raw: object) -> str:
    """A text cell kept as typed (备注, 来源): invisible format characters removed and the ends
    stripped, but not NFKC-normalised, so 含①②两类村 and full-width punctuation stay as written
    (:func:`cell_text` is for cells the reader matches or parses).

    Examples
    --------
    >>> note_text("\u200b含①②两类村；面积50㎡ "), cell_text("含①②两类村")
    ('含①②两类村；面积50㎡', '含12两类村')
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return _INVISIBLE.sub("", str(raw)).strip()


def cell_text(raw: object) -> str:
    """A cell as the clerk sees it (:func:`visible_text`; '' for missing)."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return visible_text(str(raw))


# --------------------------------------------------------------------------- files
def _col_letter(i: int) -> str:
    return get_column_letter(i + 1)


def _problem(file: str, sheet: str | None, row: int | None, column: str | None, code: str,
             severity: Severity = "error", /, **values: Any) -> Problem:
    return Problem(file, sheet, row, column, severity, code, tuple(values.items()))


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


def _limits(limits: dict[str, Any] | None) -> dict[str, Any]:
    return limits if limits is not None else config.read_yaml("ingest.yaml")["limits"]


def _mb(n: float) -> str:
    return f"{n / 1048576:.1f} MB"


def read_file(path: str | Path, *, display: str | None = None,
              limits: dict[str, Any] | None = None) -> tuple[list[RawTable], list[Problem]]:
    """Read a CSV file or an ``.xlsx`` workbook into header-mapped tables.

    Limits (``limits`` in ``data/ingest.yaml``) are checked before anything is parsed: a special
    file (device, FIFO, socket) is refused from its ``stat`` alone, without opening it; a file
    larger than ``max_file_bytes`` is refused without reading it; a workbook whose parts unzip to
    more than ``max_unzipped_bytes`` (or more than ``max_zip_ratio`` times their compressed
    size) is refused before it is unzipped; rows and columns beyond ``max_rows`` and
    ``max_columns`` are refused.

    Never raises for bad input: an unreadable, empty, undecodable or mis-named file yields a
    :class:`Problem` instead.  ``display`` is the name used in messages (default: the path).
    """
    lim = _limits(limits)
    path = Path(path)
    name = display if display is not None else str(path)

    def refuse(code: str, /, **values: Any) -> tuple[list[RawTable], list[Problem]]:
        return [], [_problem(name, None, None, None, code, **values)]

    try:
        st = os.stat(path)
    except FileNotFoundError:
        return refuse("file_not_found")
    except OSError as exc:
        return refuse("cannot_read", found=exc.strerror or str(exc))
    if stat.S_ISDIR(st.st_mode):
        return refuse("directory")
    if not stat.S_ISREG(st.st_mode):
        return refuse("special_file")
    if st.st_size > lim["max_file_bytes"]:
        return refuse("too_large", found=_mb(st.st_size), limit=_mb(lim["max_file_bytes"]))
    try:
        with open(path, "rb") as fh:
            data = fh.read(lim["max_file_bytes"] + 1)
    except OSError as exc:
        return refuse("cannot_read", found=exc.strerror or str(exc))
    if len(data) > lim["max_file_bytes"]:
        return refuse("too_large_read", limit=_mb(lim["max_file_bytes"]))
    if not data.strip():
        return refuse("empty_file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(data, name, lim)
    if suffix == ".xls":
        return refuse("encrypted" if _encrypted(data) else "old_xls")
    if suffix in (".csv", ".txt", ".tsv"):
        if data.startswith(b"PK\x03\x04"):
            return refuse("zip_as_csv")
        if data.startswith(b"\xd0\xcf\x11\xe0"):
            return refuse("ole_as_csv")
        return _read_csv(data, name, lim)
    return refuse("unsupported_type", found=suffix or "(none)")


def _encrypted(data: bytes) -> bool:
    """An OLE2 container holding an ``EncryptedPackage`` stream: a password-protected workbook."""
    return data.startswith(b"\xd0\xcf\x11\xe0") and "EncryptedPackage".encode("utf-16-le") in data


def _decode_problem(data: bytes, name: str) -> Problem:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        if _mixed_utf8(data):
            return _problem(name, None, line, None, "gbk_line", row=line)
        return _problem(name, None, line, None, "undecodable_line", row=line)
    return _problem(name, None, None, None, "undecodable")


_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon", "，": "full-width comma", "|": "vertical bar"}


def _read_csv(data: bytes, name: str, lim: dict[str, Any]) -> tuple[list[RawTable], list[Problem]]:
    text, enc = decode_csv(data)
    if text is None or (enc == "gb18030" and _mixed_utf8(data)):
        return [], [_decode_problem(data, name)]
    if "\x00" in text:
        return [], [_problem(name, None, None, None, "nul_bytes")]
    n_lines = text.count("\n") + 1
    if n_lines > lim["max_rows"] + HEADER_SCAN_ROWS:
        return [], [_problem(name, None, None, None, "too_many_lines", found=n_lines, limit=lim["max_rows"])]
    # the delimiter whose split of the first lines gives a header row (a title line above the
    # header has none; a note may contain commas in a tab-separated file)
    delimiter = sniff_delimiter(text)
    utf8 = (data[3:] if data.startswith(b"\xef\xbb\xbf") else data) if enc == "utf-8-sig" else None
    if '"' not in text:
        # no quoting at all: one line is one row, read by pandas' C parser
        # the widest of the first lines; a wider line later makes pandas stop, then all are counted
        width = _widest(text[: 1 << 16], delimiter)
        try:
            plain = _plain_lines(text, delimiter, width, utf8) if width <= lim["max_columns"] else None
        except pd.errors.ParserError:
            plain = None
        if plain is None:
            width = _widest(text, delimiter)
        if width > lim["max_columns"]:
            return [], [_problem(name, None, None, None, "too_many_columns", found=width,
                                 limit=lim["max_columns"])]
        if plain is None:
            plain = _plain_lines(text, delimiter, width, utf8)
        return _tables_from_rows(name, None, plain, {}, [], letters=False, lim=lim)
    lines, strays, too_wide = quoted_rows(text, delimiter, lim["max_columns"])
    problems = [_quote_problem(name, row, end, reason) for row, end, reason, _line in strays]
    if too_wide is not None:
        problems.append(_problem(name, None, too_wide[0], None, "too_many_columns", found=too_wide[1],
                                 limit=lim["max_columns"]))
        return [], problems
    return _tables_from_rows(name, None, lines, {}, problems, letters=False, lim=lim)


def quoted_rows(text: str, delimiter: str, max_columns: int | None = None
                ) -> tuple[list[tuple[int, list[str]]], list[tuple[int, int, str, int]], tuple[int, int] | None]:
    r"""The rows of a CSV text with quotes, numbered as Excel shows them.

    A cell typed over several lines (Alt+Enter in Excel, saved as ``"第一行\n第二行"``) is one
    cell of one row, and the rows below it keep the numbers Excel gives them (the line breaks
    inside cells are not rows).  A quotation mark that is never closed (or closed lines later)
    would take the lines below it into one cell: a row over several lines is such a *stray
    quote* when it has more cells than the rows above it, or when one of its cells holds as
    many delimiters as a row of the table has (a row taken in); with no row above it to
    compare with, when a cell holds a delimiter or two line breaks.  A stray quote's line is
    not read (an error, ``unclosed_quote``) and reading resumes on the next line.

    Parameters
    ----------
    text
        The decoded file.
    delimiter
        The cell separator (:func:`sniff_delimiter`).
    max_columns
        Stop at the first row with more cells (``None``: no limit).

    Returns
    -------
    rows : list of (int, list of str)
        Each row read: its number as Excel shows it, its cells.
    strays : list of (int, int, str, int)
        Each stray quote: the row where it opens, the row where reading would have ended, the
        parser's reason (``""`` when the quote was closed lines later) and its physical line.
    too_wide : (int, int) or None
        The row and its number of cells when a row has more than ``max_columns``.

    Examples
    --------
    >>> rows, strays, _ = quoted_rows('a,b,note\n1,2,"x\ny\nz"\n3,4,\n', ",")
    >>> rows
    [(1, ['a', 'b', 'note']), (2, ['1', '2', 'x\ny\nz']), (3, ['3', '4', ''])]
    >>> quoted_rows('a,b,note\n1,2,"x\n3,4,y"\n5,6,\n', ",")[1]
    [(2, 3, '', 2)]
    """
    rows: list[tuple[int, list[str]]] = []
    strays: list[tuple[int, int, str, int]] = []
    physical: list[str] | None = None
    offset = 0  # lines before the text being read (after a stray quote, reading resumes below it)
    joined = 0  # line breaks inside the cells of the rows read: no rows of their own in Excel
    width = 0  # the most cells of a row read so far
    rest: str | None = text
    while rest is not None:
        reader = csv.reader(io.StringIO(rest, newline=""), delimiter=delimiter, strict=True)
        start, resume = 1, None
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                strays.append((offset + start - joined, offset + reader.line_num - joined, str(exc), offset + start))
                resume = start
                break
            if max_columns is not None and len(cells) > max_columns:
                return rows, strays, (offset + start - joined, len(cells))
            spans = reader.line_num - start
            if spans > 0 and _swallowed(cells, delimiter, width):
                strays.append((offset + start - joined, offset + reader.line_num - joined, "", offset + start))
                resume = start
                break
            rows.append((offset + start - joined, cells))
            joined += spans
            width = max(width, len(cells))
            start = reader.line_num + 1
        rest = None
        if resume is not None:
            # the line with the stray quote is not read; every line below it is
            if physical is None:
                physical = io.StringIO(text, newline="").readlines()
            offset += resume
            rest = "".join(physical[offset:]) if offset < len(physical) else None
    return rows, strays, None


def _swallowed(cells: list[str], delimiter: str, width: int) -> bool:
    """Whether a row read over several lines is a stray quote's (see :func:`quoted_rows`)."""
    multi = [c for c in cells if "\n" in c or "\r" in c]
    if not width:
        return any(delimiter in c or c.count("\n") > 1 for c in multi)
    return len(cells) > width or any(c.count(delimiter) >= max(width - 1, 1) for c in multi)


def sniff_delimiter(text: str) -> str:
    """The delimiter whose split of the first lines gives a header row (comma when none does).

    A title line above the header has none; a note may contain commas in a tab-separated file.
    """
    head_lines = text[: 1 << 16].splitlines()[:HEADER_SCAN_ROWS]
    best, best_found = ",", -1
    for d in _DELIMITERS:
        found = 0
        for cells in csv.reader(io.StringIO("\n".join(head_lines), newline=""), delimiter=d):
            found = max(found, sum(c in map_header(cells)[0] for c in REQUIRED_COLUMNS))
        if found > best_found:
            best, best_found = d, found
    return best


def csv_cells(path: str | Path, *, limits: dict[str, Any] | None = None) -> list[list[str]] | None:
    """The cells of a CSV file by line (line 1 first), for showing it again; None if unreadable.

    Only a regular file within ``max_file_bytes`` is opened; lenient (an unclosed quote ends the
    cell at the end of its line).
    """
    lim = _limits(limits)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > lim["max_file_bytes"]:
            return None
        data = Path(path).read_bytes()
    except OSError:
        return None
    text, _enc = decode_csv(data)
    if text is None:
        text = data.decode("utf-8", "replace")
    d = sniff_delimiter(text)
    lines = re.split(r"\r\n|\r|\n", text)
    if '"' not in text:
        return [next(csv.reader([line], delimiter=d), []) for line in lines]
    # the rows as the reader numbers them (a cell over several lines is one row); a stray
    # quote's line shown as it is, its cell ending at the end of its line
    rows, strays, _ = quoted_rows(text, d)
    shown = dict(rows)
    shown.update({row: next(csv.reader([lines[line - 1]], delimiter=d), []) for row, _e, _r, line in strays})
    return [shown.get(r, []) for r in range(1, max(shown, default=0) + 1)]


def _widest(text: str, delimiter: str) -> int:
    """Cells of the widest line (quote-free text)."""
    return max(map(lambda line: line.count(delimiter), text.split("\n")), default=0) + 1


class _Lines(list):  # type: ignore[type-arg]
    """Rows ``(line number, cells)`` of a quote-free CSV, parsed column-wise by pandas.

    Behaves as the list of rows :func:`_tables_from_rows` expects; ``frame`` holds the same
    cells as a DataFrame so the rows below the header are never rebuilt one by one.
    """

    frame: pd.DataFrame


def _plain_lines(text: str, delimiter: str, width: int, data: bytes | None = None) -> list[tuple[int, list[Any]]]:
    """The rows of a quote-free CSV; ``data``: the UTF-8 bytes of ``text`` when the caller has
    them (pandas' C parser reads bytes half again as fast as a string)."""
    fast = delimiter in (",", "\t", ";")
    if data is None or not fast:
        data = text.encode("utf-8")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8", sep=delimiter if fast else re.escape(delimiter), header=None,
                        names=range(width), dtype=object, keep_default_na=False, na_filter=False,
                        skip_blank_lines=False, quoting=csv.QUOTE_NONE, engine="c" if fast else "python")
    # the first lines as csv.reader gives them (for the header search); the rest stay in the frame
    first = re.split(r"\r\n|\r|\n", text[: 1 << 20], maxsplit=HEADER_SCAN_ROWS + 1)[: HEADER_SCAN_ROWS + 1]
    out = _Lines((i + 1, line.split(delimiter) if line else []) for i, line in enumerate(first)
                 if i < len(frame))
    out.frame = frame
    return out


def _utf8_lines(data: bytes) -> tuple[int, int, int | None]:
    """(non-ASCII lines that are UTF-8, lines that are not, first line that is not)."""
    ok = bad = 0
    first = None
    for i, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            ok += 1
        except UnicodeDecodeError:
            bad += 1
            first = first or i
    return ok, bad, first


def _mixed_utf8(data: bytes) -> bool:
    """Mostly UTF-8 text with a few lines that are not (GB18030 would decode it into nonsense)."""
    ok, bad, _ = _utf8_lines(data)
    return bad > 0 and ok >= max(bad, 1)


def _quote_problem(name: str, start: int, end: int, reason: str) -> Problem:
    return _problem(name, None, start, None, "unclosed_quote", row=start, end=end, reason=reason)


_SHEET_XML = re.compile(rb'<sheet\b[^>]*?name="([^"]*)"[^>]*?/>')


def _xlsx_parts(z: zipfile.ZipFile) -> dict[str, dict[str, Any]]:
    """Per sheet name: state (visible/hidden), hidden rows and merged ranges, from the XML."""
    try:
        wb_xml = z.read("xl/workbook.xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = dict(re.findall(rb'Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(rb'Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    out: dict[str, dict[str, Any]] = {}
    for m in _SHEET_XML.finditer(wb_xml):
        tag = m.group(0)
        sheet = html.unescape(m.group(1).decode("utf-8", "replace"))
        rid = re.search(rb'r:id="([^"]+)"', tag)
        state = re.search(rb'state="([^"]+)"', tag)
        info: dict[str, Any] = {"state": state.group(1).decode() if state else "visible",
                                "hidden_rows": set(), "hidden_cols": set(), "merged": []}
        target = targets.get(rid.group(1)) if rid else None
        if target:
            t = target.decode().lstrip("/")
            part = t if t.startswith("xl/") else "xl/" + t
            try:
                xml = z.read(part)
            except KeyError:
                xml = b""
            info["hidden_rows"] = {int(r) for r in re.findall(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"', xml)}
            info["hidden_rows"] |= {int(r) for r in re.findall(rb'<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="(\d+)"', xml)}
            info["merged"] = [r.decode() for r in re.findall(rb'<mergeCell\b[^>]*?ref="([^"]+)"', xml)]
            for tag in re.findall(rb'<col\b[^>]*>', xml):  # <col min="11" max="12" hidden="1" .../>
                lo, hi = re.search(rb'\bmin="(\d+)"', tag), re.search(rb'\bmax="(\d+)"', tag)
                if lo and hi and re.search(rb'\bhidden="(?:1|true)"', tag):
                    info["hidden_cols"] |= set(range(int(lo.group(1)), min(int(hi.group(1)), 16384) + 1))
        out[sheet] = info
    return out


def _read_xlsx(data: bytes, name: str, lim: dict[str, Any]) -> tuple[list[RawTable], list[Problem]]:
    def refuse(code: str, /, **values: Any) -> tuple[list[RawTable], list[Problem]]:
        return [], [_problem(name, None, None, None, code, **values)]

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return refuse("encrypted" if _encrypted(data) else "old_xls_named_xlsx")
    if data.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(io.BytesIO(data)):
        return refuse("truncated_workbook")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return refuse("not_zip")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            total = sum(i.file_size for i in infos)
            if total > lim["max_unzipped_bytes"]:
                return refuse("unzip_too_large", found=_mb(total), limit=_mb(lim["max_unzipped_bytes"]))
            worst = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0)
            if worst > lim["max_zip_ratio"]:
                return refuse("zip_bomb", found=f"{worst:.0f}", limit=lim["max_zip_ratio"])
            parts = _xlsx_parts(z)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return refuse("damaged_zip", found=str(exc))
    if len(parts) > lim["max_sheets"]:
        return refuse("too_many_sheets", found=len(parts), limit=lim["max_sheets"])
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt archives
        return refuse("cannot_open_workbook", found=f"{type(exc).__name__}: {exc}")
    tables: list[RawTable] = []
    problems: list[Problem] = []
    skip, meta = _template_meta(wb)
    formulas = _formulas(data)
    try:
        for ws in wb.worksheets:
            if ws.title in skip:
                continue
            info = parts.get(ws.title, {"state": "visible", "hidden_rows": set(), "hidden_cols": set(), "merged": []})
            try:
                dims = ws.calculate_dimension(force=False)
                _c1, _r1, _c2, r2 = openpyxl.utils.cell.range_boundaries(dims) if ":" in dims else (1, 1, 1, 1)
            except (ValueError, TypeError):
                r2 = None
            if r2 is not None and r2 > lim["max_rows"] + HEADER_SCAN_ROWS:
                problems.append(_problem(name, ws.title, None, None, "too_many_rows", found=r2,
                                         limit=lim["max_rows"]))
                continue
            # the columns are judged on the cells that hold something: the dimension also
            # counts empty cells that only carry a format (borders or a fill over A1:KN50), so rows
            # are read as stored, not padded to it, and formatted empty cells at their ends dropped
            ws.reset_dimensions()
            lines: list[tuple[int, list[Any]]] = []
            formats: dict[tuple[int, int], str] = {}
            sheet_formulas = formulas.get(ws.title, {})
            n = width = 0
            for row in ws.iter_rows():
                rnum = next((c.row for c in row if getattr(c, "row", None) is not None), None)
                if rnum is None:
                    continue
                n += 1
                if n > lim["max_rows"] + HEADER_SCAN_ROWS:
                    problems.append(_problem(name, ws.title, rnum, None, "too_many_rows_or_columns",
                                             limit=lim["max_rows"], found=lim["max_columns"]))
                    lines = []
                    break
                cells = [getattr(c, "value", None) for c in row]
                for i, v in enumerate(cells):
                    if v is None and (rnum, i) in sheet_formulas:
                        cells[i] = Uncalculated(sheet_formulas[(rnum, i)])
                while cells and cells[-1] is None:
                    cells.pop()
                if len(cells) > lim["max_columns"]:
                    problems.append(_problem(name, ws.title, None, None, "too_many_columns", found=len(cells),
                                             limit=lim["max_columns"]))
                    lines = []
                    break
                for i, c in enumerate(row[:len(cells)]):
                    fmt = getattr(c, "number_format", None)
                    if isinstance(cells[i], (int, float)) and fmt and ("%" in fmt or '"' in fmt or "\\" in fmt):
                        formats[(rnum, i)] = fmt
                width = max(width, len(cells))
                lines.append((rnum, cells))
            for _rnum, cells in lines:  # one width, as the sheet shows it: a cell right of the
                cells.extend([None] * (width - len(cells)))  # headings is under no heading
            t, p = _tables_from_rows(name, ws.title, lines, formats, [], letters=True, lim=lim)
            for table in t:
                table.meta = meta
                p += _layout_problems(name, ws.title, table, info)
                year = meta.get("year")
                for col, heading, said in heading_years(table):
                    if year is not None and str(said) != str(year).strip():
                        p.append(_problem(name, ws.title, None, heading, "heading_year", found=heading,
                                          year=said, template_year=year, letter=table.letters.get(col, "")))
            if not t and not p and info["state"] == "visible" and \
                    any(not is_missing(v) for _, cells in lines for v in cells):
                p = [_problem(name, ws.title, None, None, "sheet_skipped", "warning")]
            tables += t
            problems += p
    finally:
        wb.close()
    if tables:  # beside a data sheet, a working sheet with a heading or two (年份, 统计年度) is
        # no broken data sheet: it is skipped with a warning, as one with no heading is
        partial = {p.sheet for p in problems if p.code == "missing_column"} - {t.sheet for t in tables}
        if partial:
            problems = [p for p in problems if not (p.code == "missing_column" and p.sheet in partial)]
            problems += [_problem(name, sh, None, None, "sheet_skipped", "warning") for sh in sorted(partial)]
    if not tables and not any(p.severity == "error" for p in problems):
        problems.append(_problem(name, None, None, None, "no_sheet_header"))
    return tables, problems


def _layout_problems(name: str, sheet: str, table: RawTable, info: dict[str, Any]) -> list[Problem]:
    """Hidden sheets, rows and figure columns holding figures, merged cells over the data: errors
    (never read silently)."""
    out: list[Problem] = []
    # rows holding a figure (a value or a count): a template row left blank, hidden or not, holds none
    figure = np.zeros(len(table.frame), dtype=bool)
    for c in ("value", "numerator", "denominator"):
        if c in table.frame.columns:
            known = table.missing.get(c)
            held = ~(known if known is not None and len(known) == len(figure) else missing_mask(table.frame[c]))
            figure |= held
            letter = table.letters.get(c)
            if letter and held.any() and column_index_from_string(letter) in info.get("hidden_cols", ()):
                out.append(_problem(name, sheet, None, table.columns.get(c, c), "hidden_column", found=letter))
    if info["state"] != "visible" and figure.any():
        out.append(_problem(name, sheet, None, None, "hidden_sheet", found=sheet))
    data_rows = set(table.frame.index[figure].tolist())
    for r in sorted(info["hidden_rows"] & data_rows):
        out.append(_problem(name, sheet, r, None, "hidden_row", row=r))
    # a merge over a read column of any row of the table (a row with no figure of its own too: the
    # figure typed once in a merge over two rows is the upper row's only, the lower one reads blank);
    # a merge over rows none of which holds a figure hides none (a section heading such as
    # 一、妇女与健康 across the table): not read, like any row without a figure, and no error
    table_rows = set(table.frame.index.tolist())
    letters = {v: k for k, v in table.letters.items() if not k.startswith("~")}
    for ref in info["merged"]:
        try:
            c1, r1, c2, r2 = openpyxl.utils.cell.range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        if r2 <= table.header_row or data_rows.isdisjoint(range(max(r1, table.header_row + 1), r2 + 1)):
            continue
        for r in range(max(r1, table.header_row + 1), r2 + 1):
            for c in range(c1, c2 + 1):
                if (r, c) == (r1, c1):
                    continue
                col = letters.get(get_column_letter(c))
                if col is None or r not in table_rows:
                    continue
                at = f"{get_column_letter(c)}{r}"
                out.append(_problem(name, sheet, r, table.columns.get(col, col), "merged_cells", found=ref,
                                    cell_in_merge=at)._replace(cell=at))
    return out


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
            ws.reset_dimensions()  # rows as stored (see _read_xlsx)
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
                      letters: bool, lim: dict[str, Any]) -> tuple[list[RawTable], list[Problem]]:
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
                                            "no_header_found")]
        idx = best[1]
        positions, _ign, _dup = map_header(lines[idx][1])
        missing = [c for c in REQUIRED_COLUMNS if c not in positions]
        return [], problems + [_problem(name, sheet, lines[idx][0], c, "missing_column", found=c, column=c,
                                        zh=_zh(c)) for c in missing]
    rnum, header = lines[header_at]
    if header_at + 1 < len(lines):  # a heading over two rows (数值 above 分子 | 分母)
        lower = lower_heading(header, lines[header_at + 1][1])
        if lower is not None:
            header_at += 1
            rnum, header = lines[header_at][0], lower
    positions, ignored, dups = map_header(header, display=True)
    for _i, heading, col in dups:
        problems.append(_problem(name, sheet, rnum, heading, "duplicate_column", found=col,
                                 first=str(header[positions[col]]).strip()))
    cap = lim["max_unknown_column_warnings"]
    for heading in ignored[:cap]:
        problems.append(_problem(name, sheet, rnum, heading, "unknown_column", "warning", found=heading))
    if len(ignored) > cap:
        problems.append(_problem(name, sheet, rnum, None, "more_unknown_columns", "warning",
                                 found=len(ignored) - cap))
    table = RawTable(file=name, sheet=sheet, header_row=rnum,
                     columns={c: str(header[i]).strip() for c, i in positions.items()},
                     letters={c: _col_letter(i) for c, i in positions.items()} if letters else {},
                     ignored=ignored)
    width = len(header)
    body = lines[header_at + 1:] if not isinstance(lines, _Lines) else lines.frame.iloc[header_at + 1:]
    order = list(positions)
    if not len(body):
        table.frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in order},
                                   index=pd.Index([], dtype="int64", name="row"))
        return [table], problems
    if isinstance(lines, _Lines):
        raw = lines.frame.iloc[header_at + 1:].reset_index(drop=True)
        rnums = np.arange(header_at + 2, header_at + 2 + len(raw), dtype=np.int64)
        if not len(raw):
            body = []
    else:
        rnums = np.fromiter((r for r, _ in body), dtype=np.int64, count=len(body))
        raw = pd.DataFrame([cells for _, cells in body], dtype=object)
    # a row is blank when every cell is missing: the number columns (needed later anyway) and the
    # cells beyond the last heading are judged whole, the other columns only where still blank
    numbers = [positions[c] for c in ("value", "numerator", "denominator") if positions.get(c) in raw.columns]
    cells = {j: factorize_cells(raw[j]) for j in numbers}  # parsed as numbers later: factorised once
    # columns whose heading is blank (a merged or deleted heading, cells typed right of the headings)
    unheaded = [j for j in raw.columns if j < width and not normalise_heading(header[j])]
    missing = {j: missing_mask(raw[j], cells.get(j)) for j in raw.columns
               if j in numbers or j >= width or j in unheaded}
    blank = np.ones(len(raw), dtype=bool)
    for m in missing.values():
        blank &= m
    for j in raw.columns:
        at = np.flatnonzero(blank)
        if j not in missing and len(at):
            blank[at] = missing_mask(raw[j].iloc[at])
    # a repeated header (the template's visible Chinese heading row) is not data
    repeated = heading_mask(raw[positions["year"]], "year") if positions["year"] in raw.columns \
        else np.zeros(len(raw), dtype=bool)
    if repeated.any():
        at = np.flatnonzero(repeated)
        for c in REQUIRED_COLUMNS:
            if c != "year":
                col = raw[positions[c]].iloc[at] if positions[c] in raw.columns else pd.Series([None] * len(at))
                repeated[at] &= heading_mask(col, c)
    keep = ~blank & ~repeated
    footer = _footer(raw, keep, [positions[c] for c in ("value", "numerator", "denominator")
                                 if positions.get(c) in raw.columns])
    for i, text in reversed(footer):  # notes and signatures below the table: not data, a warning each
        problems.append(_problem(name, sheet, int(rnums[i]), None, "footer_row", "warning", found=text))
        keep[i] = False
    # rows with no value, numerator or denominator: a figure of theirs under no heading would be lost
    figureless = keep.copy()
    for c in ("value", "numerator", "denominator"):
        if positions.get(c) in missing:
            figureless &= missing[positions[c]]
    shown = _shown_headings(lines, header_at)
    for j in unheaded:  # never read, like a column under an unknown heading: a warning per column
        held = np.flatnonzero(keep & ~missing[j])
        said = aliases_of(shown.get(j))
        if said and not said.startswith("~"):
            # a column headed in the visible row only (a template's code row blank above it: a column
            # the clerk inserted, 数值（2025年） beside 数值（2024年）): it names a column it is not
            problems.append(_problem(name, sheet, None, shown[j], "visible_heading_only", found=shown[j],
                                     letter=_col_letter(j), column=_zh(said),
                                     read=_col_letter(positions[said]) if said in positions else ""))
        elif len(held):
            problems.append(_problem(name, sheet, None, None, "no_heading", "warning", found=_col_letter(j),
                                     count=len(held), first=int(rnums[held[0]])))
        if j == 0 and _row_labels(raw[j][keep], missing[j][keep]):
            continue  # an index (pandas' to_csv) or serial numbers: row labels, not figures
        for i in np.flatnonzero(figureless & ~missing[j]).tolist():  # and an error of such a row
            v, _sign, bad = parse_number(raw[j].iat[i])
            if v is not None and bad is None:
                r, letter = int(rnums[i]), _col_letter(j)
                problems.append(Problem(name, sheet, r, None, "error", "figure_unheaded",
                                        (("found", f"{v:.15g}"), ("letter", letter)),
                                        f"{letter}{r}" if letters else ""))
    extra_cols = [j for j in raw.columns if j >= width]
    if extra_cols:
        n_extra = sum((~missing[j]).astype(np.int64) for j in extra_cols)
        for r, n in zip(rnums[keep & (n_extra > 0)], n_extra[keep & (n_extra > 0)]):
            problems.append(_problem(name, sheet, int(r), None, "beyond_last_heading", found=int(n)))
    table.shown = {c: shown[i] for c, i in positions.items() if i in shown}
    frame = pd.DataFrame({c: (raw[i] if i in raw.columns else pd.Series([None] * len(raw), dtype=object))
                          for c, i in positions.items()})
    frame = frame[keep]
    frame.index = pd.Index(rnums[keep], name="row")
    table.frame = frame
    table.missing = {c: missing[i][keep] for c, i in positions.items() if i in missing}
    table.cells = {c: (cells[i][0][keep], cells[i][1]) for c, i in positions.items() if i in cells}
    if formats:
        kept = set(frame.index.tolist())
        for (r, i), fmt in formats.items():
            for c, j in positions.items():
                if j == i and r in kept:
                    table.formats[(r, c)] = fmt
    return [table], problems


def aliases_of(heading: Any) -> str | None:
    """The panel (or ``~`` template) column a heading names, None for none."""
    key = normalise_heading(heading)
    return heading_aliases().get(key) if key else None


def _shown_headings(lines: Any, header_at: int) -> dict[int, str]:
    """A template's visible heading row (the row below its hidden code row, naming two columns or
    more the reader knows): column index -> its text; ``{}`` for none."""
    if isinstance(lines, _Lines) or header_at + 1 >= len(lines):
        return {}
    cells = lines[header_at + 1][1]
    if sum(aliases_of(c) is not None for c in cells) < 2:
        return {}
    return {j: str(c).strip() for j, c in enumerate(cells) if not is_missing(c)}


def years_named(text: str) -> list[int]:
    """The years (2000–2099) a heading or a file name names: 数值（2024年） -> [2024].

    Examples
    --------
    >>> years_named("数值（2024年）"), years_named("妇联_2025(更正).xlsx"), years_named("12025")
    ([2024], [2025], [])
    """
    return [int(y) for y in re.findall(r"(?<!\d)(20\d{2})(?!\d)", str(text))]


def heading_years(table: RawTable) -> list[tuple[str, str, int]]:
    """``(panel column, heading, year)`` of every read column whose visible heading names a year
    (数值（2024年）): compared with the template's year by the reader."""
    out = []
    for col, heading in table.shown.items():
        said = years_named(heading)
        if said and not col.startswith("~"):
            out.append((col, heading, said[0]))
    return out


def _footer_words(path: Path) -> re.Pattern[str] | None:
    words = sorted(config.read_yaml("ingest.yaml").get("footer_words") or (), key=len, reverse=True)
    return re.compile("^(?:" + "|".join(map(re.escape, words)) + r")(?:[:\s]|$)") if words else None


def _footer(raw: pd.DataFrame, keep: np.ndarray, figures: list[int]) -> list[tuple[int, str]]:
    """The rows of a form's footer (``footer_words`` of ``data/ingest.yaml``: 注：…, 填表人：…):
    the last kept rows whose first filled cell begins with such a word and which hold no number in
    a figure column (``figures``: their positions).  ``(position, first cell)`` pairs, bottom up."""
    settings = data_path("ingest.yaml")
    pattern = config.cached("panel.footer_words", settings, _footer_words) if settings.is_file() else None
    out: list[tuple[int, str]] = []
    if pattern is None:
        return out
    for i in np.flatnonzero(keep)[::-1].tolist():
        first = str(next((v for v in raw.iloc[i].tolist() if not is_missing(v)), "")).strip()
        if not pattern.match(visible_text(first)) or any(parse_number(raw[j].iat[i])[0] is not None
                                                         for j in figures):
            break
        out.append((i, first if len(first) <= 40 else first[:40] + "…"))  # as written
    return out


def lower_heading(upper: list[Any], lower: list[Any]) -> list[Any] | None:
    """The heading of a table whose heading spans two rows, or None when ``lower`` is not a second
    heading row.

    ``lower`` (the row below the heading row ``upper``) is a second heading row when every cell it
    fills is a heading (:func:`heading_aliases`) and it names a panel column that ``upper`` does
    not name, under a cell of ``upper`` that names no panel column (blank, as under a merged
    计算口径 or 数值, or a template or unknown column).  Those columns take their lower heading;
    the others keep the upper one.  A lower row naming no new column (the Chinese headings below
    the codes, as in the template) is not one: it stays a repeated heading row.

    Examples
    --------
    >>> lower_heading(["指标代码", "年份", "数值", "计算口径", None], [None, None, None, "分子", "分母"])
    ['指标代码', '年份', '数值', '分子', '分母']
    >>> lower_heading(["indicator", "year", "value"], ["指标代码", "年份", "数值"]) is None
    True
    """
    aliases = heading_aliases()

    def panel_column(cell: Any) -> str | None:
        n = aliases.get(normalise_heading(cell)) if not is_missing(cell) else None
        return n if n is not None and not n.startswith("~") else None

    if any(not is_missing(c) and aliases.get(normalise_heading(c)) is None for c in lower):
        return None  # a cell that is not a heading: a data row (or a units row), read as such
    width = max(len(upper), len(lower))
    out = [upper[j] if j < len(upper) else None for j in range(width)]
    named = {panel_column(c) for c in upper} - {None}
    new = False
    for j, cell in enumerate(lower):
        n = panel_column(cell)
        if n is not None and n not in named and panel_column(out[j]) is None:
            out[j], new = cell, True
            named.add(n)
    return out if new else None


def _row_labels(cells: pd.Series, missing: np.ndarray) -> bool:
    """A column of row labels: filled in every row with strictly increasing whole numbers (the
    index pandas' ``to_csv`` writes under a blank heading, serial numbers 1, 2, 3 …)."""
    if missing.any() or not len(cells):
        return False
    x = pd.to_numeric(pd.Series(cells.to_numpy(object)), errors="coerce")
    return bool(x.notna().all() and (x % 1 == 0).all() and (x.diff().iloc[1:] > 0).all())


def factorize_cells(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct cells)`` of a column of raw cells (``None`` is a cell like any other)."""
    return pd.factorize(s.to_numpy(object), use_na_sentinel=False)


def missing_mask(s: pd.Series | None, cells: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """:func:`is_missing` of every cell of a column, vectorised (each distinct cell judged once;
    distinct cells that are plain numbers, most of a value column, in one pass).  ``cells``:
    the column already factorised (:func:`factorize_cells`), then ``s`` is not read."""
    codes_, uniq = cells if cells is not None else factorize_cells(s)
    verdict = np.zeros(len(uniq), dtype=bool)
    rest = np.arange(len(uniq))
    if len(uniq) > 256:
        num = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce").to_numpy(float)
        rest = np.flatnonzero(np.isnan(num))
    for i in rest:
        verdict[i] = is_missing(uniq[i])
    return verdict[codes_]


def heading_mask(s: pd.Series, column: str) -> np.ndarray:
    """Cells that are a heading of ``column`` (a repeated header row), judged once per distinct cell."""
    aliases = heading_aliases()
    codes_, uniq = pd.factorize(s.to_numpy(object), use_na_sentinel=False)
    hit = np.array([isinstance(u, str) and aliases.get(normalise_heading(u)) == column for u in uniq], dtype=bool)
    return hit[codes_] if len(uniq) else np.zeros(len(s), dtype=bool)


def _zh(column: str) -> str:
    return config.label_table().get("panel_column", {}).get(column, {}).get("zh", column)
