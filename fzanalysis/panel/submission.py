"""One submission file read into panel records: cells parsed, problems named by cell.

:func:`read_submission` turns the raw tables of :func:`fzanalysis.panel.read.read_file` into a
record table (panel columns plus ``file, sheet, row, unit``) and the problems of single cells;
checks across rows are in :mod:`fzanalysis.panel.checks`.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fzanalysis import codes, config, gazetteer, labels
from fzanalysis.panel import _lookups as lk
from fzanalysis.panel.problems import Msg, Problem, Values
from fzanalysis.panel.read import (
    DISPLAY_COLUMNS,
    RawTable,
    cell_text,
    factorize_cells,
    missing_mask,
    normalise_heading,
    note_text,
    parse_number,
    parse_year,
    read_file,
)

__all__ = ["REC_COLUMNS", "ROW_LEVEL_KINDS", "SUBMISSION_YEARS", "Submission", "parse_numbers", "problem_fields",
           "read_records", "read_submission",
           "typed_records"]

#: Years a submission may report (a plan period with its history).
SUBMISSION_YEARS: tuple[int, int] = (2000, 2030)
#: Message codes (``data/labels/data.yaml``) of problems about one line that is not read although the
#: rest of the file is (a stray quote; a row whose only figure is under no heading; a row whose cell
#: is covered by a merge, so reads blank; a figure typed in the note column): with
#: ``--keep-valid`` they reject that line, not the file.
ROW_LEVEL_KINDS: frozenset[str] = frozenset({"unclosed_quote", "figure_unheaded", "merged_cells", "figure_in_note"})
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
    #: ``(sheet, row)`` of the values typed with a ``%`` or ``‰`` sign (read in the unit already:
    #: never taken for a fraction)
    signed: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    def where(self, sheet: str | None, row: int, column: str) -> tuple[str, str]:
        """Column heading as written in the file and the Excel cell (``""`` for CSV)."""
        heading, letter = self.heading_letter(sheet, column)
        return heading, (f"{letter}{row}" if letter else "")

    def heading_letter(self, sheet: str | None, column: str) -> tuple[str, str]:
        """Column heading as written in the file and its Excel column letter (``""`` for CSV)."""
        cols, letters = self.headings.get(sheet or "", ({}, {}))
        return cols.get(column, column), letters.get(column) or ""

    @property
    def has_error(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def forget(self) -> None:
        """Drop what was computed from the problems (after they are reordered, not only added to)."""
        for key in ("_fields", "_place_keys"):
            self.__dict__.pop(key, None)

    def fields(self) -> dict[str, np.ndarray]:
        """:func:`problem_fields` of :attr:`problems` (computed once while the problems do not
        change: they are only ever added to, or reordered and then :meth:`adopt`-ed)."""
        stamp = (id(self.problems), len(self.problems))
        cached = self.__dict__.get("_fields")
        if cached is not None and cached[0][0] == stamp[0] and cached[0][1] < stamp[1]:
            # problems added since: only theirs are extracted
            old, more = cached[1], problem_fields(self.problems[cached[0][1]:])
            grown = problem_fields(self.problems)
            for k in list(old.keys()):
                grown[k] = np.concatenate([old[k], more[k]])
            cached = self.__dict__["_fields"] = (stamp, grown)
        elif cached is None or cached[0] != stamp:
            cached = self.__dict__["_fields"] = (stamp, problem_fields(self.problems))
        return cached[1]  # type: ignore[no-any-return]

    def adopt(self, problems: list[Problem], fields: dict[str, np.ndarray]) -> None:
        """Take ``problems`` (the same problems reordered) and their :func:`problem_fields`."""
        self.forget()
        self.problems = problems
        self.__dict__["_fields"] = ((id(problems), len(problems)), fields)

    def _errors(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions in :attr:`problems` of the errors about one row and of the other errors."""
        f = self.fields()
        error = f["severity"] == "error"
        return np.flatnonzero(error & (f["row"] >= 0)), np.flatnonzero(error & (f["row"] < 0))

    def row_errors(self) -> list[Problem]:
        """The errors about one row, in file order."""
        return list(map(self.problems.__getitem__, self._errors()[0].tolist()))

    def row_error_places(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sheet, row)`` of each of :meth:`row_errors` (sheet ``""`` for CSV)."""
        f, at = self.fields(), self._errors()[0]
        return f["sheet"][at], f["row"][at]

    def _places(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sheet, row)`` of every record and of every row error as integer keys (computed once
        while the problems do not change)."""
        stamp = (id(self.problems), len(self.problems))
        cached = self.__dict__.get("_place_keys")
        if cached is None or cached[0] != stamp:
            sheets, rows = self.row_error_places()
            keys = _row_keys(self.records["sheet"], self.records["row"].to_numpy(np.int64), sheets, rows)
            cached = self.__dict__["_place_keys"] = (stamp, keys)
        return cached[1]  # type: ignore[no-any-return]

    def error_mask(self, rec: pd.DataFrame | None = None) -> np.ndarray:
        """Which rows of ``rec`` (records of this file; default all of :attr:`records`) have an error."""
        if rec is None:
            if not len(self._errors()[0]) or not len(self.records):
                return np.zeros(len(self.records), dtype=bool)
            return np.isin(*self._places())
        sheets, rows = self.row_error_places()
        if not len(rows) or not len(rec):
            return np.zeros(len(rec), dtype=bool)
        return np.isin(*_row_keys(rec["sheet"], rec["row"].to_numpy(np.int64), sheets, rows))

    def rejection(self) -> list[Problem]:
        """The errors that reject the whole file: :meth:`file_errors`, else every error."""
        return self.file_errors() or [p for p in self.problems if p.severity == "error"]

    def file_errors(self) -> list[Problem]:
        """Errors not tied to a data row (unreadable file, missing column ...): they reject the file.

        An error about a row that is not a record (a line not read) is one, except a line that is
        not read while the rest of the file is (:data:`ROW_LEVEL_KINDS`)."""
        on_row, whole = self._errors()
        off = on_row
        if len(on_row) and len(self.records):
            rec_keys, err_keys = self._places()
            off = on_row[~np.isin(err_keys, rec_keys)]
        off = np.array([i for i in off.tolist() if self.problems[i].code not in ROW_LEVEL_KINDS], dtype=np.int64)
        return list(map(self.problems.__getitem__, np.sort(np.concatenate([whole, off])).tolist()))


def problem_fields(problems: list[Problem]) -> dict[str, np.ndarray]:
    """The places and kinds of many problems as arrays: ``sheet`` (``""`` for none), ``row`` (-1
    for none), ``column`` (``""`` for none), ``severity`` and ``code``, one element per problem
    (each made when first looked up)."""
    return _Fields(problems)


class _Fields(dict):  # type: ignore[type-arg]
    """:func:`problem_fields`: each field extracted from the problems when first looked up."""

    AT = {"sheet": 1, "row": 2, "column": 3, "severity": 4, "code": 5}

    def __init__(self, problems: list[Problem]):
        super().__init__()
        self.problems = problems

    def __missing__(self, key: str) -> np.ndarray:
        n = len(self.problems)
        x = np.array(list(map(itemgetter(self.AT[key]), self.problems)) + [None], dtype=object)[:n]
        if key == "row":
            x = np.where(x == None, -1, x).astype(np.int64)  # noqa: E711
        elif key in ("sheet", "column"):
            x[x == None] = ""  # noqa: E711
        self[key] = x
        return x

    def items(self):  # type: ignore[override]
        return [(k, self[k]) for k in self.AT]


def _row_keys(sheets: Any, rows: Any, other_sheets: Any, other_rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two lists of ``(sheet, row)`` places as integers, equal for the same place (``None`` and
    ``""`` are both the sheet of a CSV file), for :func:`numpy.isin`.  A file has a few sheets:
    each side's sheets are factorised on their own, then matched by name."""
    def factorised(names: Any) -> tuple[np.ndarray, list[str]]:
        values = names if isinstance(names, pd.Series) else np.array(list(names) + [None], dtype=object)[:-1]
        code, uniq = pd.factorize(values, use_na_sentinel=False)
        return code.astype(np.int64), ["" if u is None or u != u else str(u) for u in uniq]

    (c1, u1), (c2, u2) = factorised(sheets), factorised(other_sheets)
    number = {name: i for i, name in enumerate(dict.fromkeys(u1 + u2))}
    c1 = np.array([number[u] for u in u1], dtype=np.int64)[c1] if len(u1) else c1
    c2 = np.array([number[u] for u in u2], dtype=np.int64)[c2] if len(u2) else c2
    r1, r2 = np.asarray(rows, dtype=np.int64), np.asarray(other_rows, dtype=np.int64)
    width = int(max(r1.max(initial=0), r2.max(initial=0))) + 2
    return c1 * width + r1 + 1, c2 * width + r2 + 1


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
    frames: list[pd.DataFrame] = []
    n_read = n_blank = 0
    signed: set[tuple[str, int]] = set()
    names = ({str(n): str(i) for i, n in zip(cat.index, cat["name_zh"])} if "name_zh" in cat.columns else {})
    for table in tables:
        n_read += len(table.frame)
        rec, probs, blank = _parse_table(table, cat, names)
        probs += _reordered(table, probs)
        signed |= rec.attrs.pop("signed", set())
        n_blank += blank
        problems += probs
        frames.append(rec)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REC_COLUMNS)
    headings = {(t.sheet or ""): (dict(t.columns), dict(t.letters)) for t in tables}
    return Submission(name, typed_records(df), problems, n_read, n_blank, headings, frozenset(signed))


def typed_records(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("file", "sheet", "indicator", "area", "sex", "source", "note", "unit"):
        df[c] = df[c].astype("str")
    df["row"] = df["row"].astype("int64")
    df["year"] = pd.array(df["year"], dtype="Int64")
    for c in ("value", "numerator", "denominator"):
        df[c] = df[c].astype("float64")
    df["synthetic"] = df["synthetic"].astype(bool)
    return df


def problems_at(file: str, sheet: str | None, rows: Iterable[int], column: str | None, severity: str,
                codes_: Iterable[str], values: Iterable[Values], cells: Iterable[str]) -> Iterator[Problem]:
    """Problems of many rows of one file, sheet and column, built without a Python loop per row."""
    return map(_new_problem, zip(repeat(file), repeat(sheet), rows, repeat(column), repeat(severity),
                                 codes_, values, cells))


_new_problem = partial(tuple.__new__, Problem)  # a Problem from a tuple of its fields, as _make without checks


def _per_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> Any:
    """``fn`` of every cell, computed once per distinct cell (columns repeat a few values).

    Returns an object array, or a tuple of object arrays when ``fn`` returns tuples.
    """
    return _spread(*_distinct(values, fn)[::-1])


def _distinct(values: pd.Series, fn: Callable[[Any], Any]) -> tuple[np.ndarray, list[Any]]:
    """``(codes, results)``: ``fn`` of each distinct cell and each cell's code."""
    codes_, uniq = factorize_cells(values)
    return codes_, [fn(u) for u in uniq]


_STR = pd.Series(["x"]).dtype  # pandas' default text dtype (arrow-backed in pandas 3)


def _text(codes_: np.ndarray, texts: list[str | None]) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """A text column from its distinct texts and each row's code, decoded by pyarrow (pandas'
    default text dtype; an object array where that dtype is not arrow-backed)."""
    if getattr(_STR, "storage", None) != "pyarrow":
        return _spread(texts, codes_)
    d = pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes_, dtype=np.int32)),
                                       pa.array(texts, type=pa.large_string()))
    return pd.array(d.cast(pa.large_string()), dtype=_STR)


def _spread(res: list[Any], codes_: np.ndarray) -> Any:
    """Results per distinct cell spread over the cells (``codes_``): an object array, or a
    tuple of object arrays when the results are tuples."""
    if res and isinstance(res[0], tuple):
        cols = [np.empty(len(res), dtype=object) for _ in res[0]]
        for j, r in enumerate(res):
            for k, x in enumerate(r):
                cols[k][j] = x
        return tuple(c[codes_] for c in cols)
    arr = np.empty(len(res), dtype=object)
    arr[:] = res
    return arr[codes_]


def parse_numbers(values: pd.Series, formats: dict[int, str] | None = None,
                  cells: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~fzanalysis.panel.read.parse_number` of a column, vectorised.

    Each distinct cell is parsed once: plain numbers (most cells) in one pass, the rest
    (``12,345``, ``96.5%``, full-width digits) one by one; cells with an Excel number format
    (``formats``: position -> format) are parsed with it.  ``cells``: the column already
    factorised (:func:`~fzanalysis.panel.read.factorize_cells`).  Returns ``(value, sign, error)``
    arrays.
    """
    n = len(values)
    val = np.full(n, np.nan)
    sign = np.full(n, None, dtype=object)
    msg = np.full(n, None, dtype=object)
    if not n:
        return val, sign, msg
    codes_, uniq = cells if cells is not None else factorize_cells(values)
    u = pd.Series(uniq, dtype=object)
    if pd.api.types.infer_dtype(uniq, skipna=True) in ("string", "empty"):  # a CSV column: text only
        plain = np.ones(len(uniq), dtype=bool)
    else:
        types = u.map(type)
        plain = (types.eq(str) | types.isin([int, float, np.float64, np.int64])).to_numpy()
    num = pd.to_numeric(u.where(plain, None), errors="coerce").to_numpy(float)
    uval = np.where(plain & np.isfinite(num), num, np.nan)
    usign = np.full(len(uniq), None, dtype=object)
    umsg = np.full(len(uniq), None, dtype=object)
    for i in np.flatnonzero(~(plain & np.isfinite(num))):
        v, sg, m = parse_number(uniq[i])
        uval[i] = np.nan if v is None else v
        usign[i], umsg[i] = sg, m
    val, sign, msg = uval[codes_], usign[codes_], umsg[codes_]
    for i, fmt in (formats or {}).items():
        v, sg, m = parse_number(uniq[codes_[i]], number_format=fmt)
        val[i] = np.nan if v is None else v
        sign[i], msg[i] = sg, m
    return val, sign, msg


def excel_errors() -> frozenset[str]:
    """Excel's error values (a formula that failed, shown in its cell as such): the keys of
    ``excel_error_value`` in ``data/labels/data.yaml``, which also says what each means."""
    return frozenset(config.label_table().get("excel_error_value", {}))


def _excel_errors(msgs: np.ndarray, raw: pd.Series) -> None:
    """Name a cell holding an Excel error value (``#DIV/0!``: its formula failed) as such, in
    place of "not a number" (``msgs`` changed in place)."""
    bad = np.flatnonzero(msgs != None)  # noqa: E711
    if not len(bad):
        return
    cells, known = raw.to_numpy(object), excel_errors()
    for i in bad.tolist():
        text = cell_text(cells[i]).upper()
        if text in known and msgs[i][0] == "not_a_number":
            msgs[i] = ("excel_error", (("found", text), ("excel_value", text)))


def _notes_without_figures(table: RawTable, rows: pd.DataFrame) -> list[Problem]:
    """Rows with no value, numerator or denominator but a note: not read, and never in silence.

    A note that is a number (98.7, 98.9%) is a figure typed in the wrong column: an error of that
    row (:data:`ROW_LEVEL_KINDS`: with ``--keep-valid`` the rest goes in); any other note (该数据有误，
    作废) is a warning that the row is not read (a correction by note leaves the old figure)."""
    if "note" not in rows.columns or rows.empty:
        return []
    out: list[Problem] = []
    heading, letter = table.columns.get("note", "note"), table.letters.get("note")
    for r, raw in zip(rows.index.tolist(), rows["note"].tolist()):
        text = note_text(raw)
        if not text:
            continue
        value, _sign, bad = parse_number(raw)
        code = "figure_in_note" if value is not None and bad is None else "note_without_figure"
        out.append(Problem(table.file, table.sheet, int(r), heading, "error" if code == "figure_in_note" else "warning",
                           code, (("found", text),), f"{letter}{r}" if letter else ""))
    return out


def _shown_names(cat: pd.DataFrame) -> dict[str, str]:
    """Every way a template shows an indicator (id, Chinese and English name), blanks dropped -> id."""
    out: dict[str, str] = {}
    for c in ("name_en", "name_zh"):
        if c in cat.columns:
            out.update({_squeeze(n): str(i) for i, n in zip(cat.index, cat[c]) if isinstance(n, str)})
    out.update({_squeeze(i): str(i) for i in cat.index})
    return out


def _squeeze(text: Any) -> str:
    """A cell as the reader compares names: as a heading is (:func:`normalise_heading`: NFKC,
    casefolded, blanks dropped, a trailing ``(unit)`` dropped: 孕产妇死亡率（1/10万）)."""
    return normalise_heading(cell_text(text))


def _display_mismatches(table: RawTable, f: pd.DataFrame, cat: pd.DataFrame,
                        keys: dict[str, tuple[np.ndarray, np.ndarray]], *, strict: bool = False
                        ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rows whose visible 指标名称, 地区 or 性别 cell names another row than its key cells.

    A clerk finds a row by what it shows, the computer by its hidden key cells: sorting or
    filtering one range of a template, or pasting rows over others, parts them, and each figure
    would be stored under another indicator, town or sex.  A display cell is compared as the
    reader reads its key (:func:`cell_text`, blanks and case ignored; a name of the gazetteer in
    any of its forms; 女/女性/F ...).  Only a contradiction is an error: a blank display cell (or a
    display column deleted) and a row whose key cell is itself in error are not checked, nor, in a
    hand-made file, a text that names nothing known (its own wording of a name); in a template
    (``strict``) such a text is an error too (a copied 街口街道 row relabelled 西和村 would file the
    village's figure as the town's).  Returns display column -> (mask, messages) of the rows in
    error.
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    n = len(f)
    shown_names: dict[str, str] | None = None
    sex_names = lk.sex_aliases()
    heading_zh = config.label_table()["template_column"]
    unknown = "" if strict else None  # a name known to nobody: compared (never equal) or not
    for col, key in DISPLAY_COLUMNS.items():
        if col not in f.columns:
            continue
        code, ok = keys[key]

        def named(raw: Any, key: str = key) -> tuple[str | None, str]:
            """(the code the cell names, None when it names none; the text shown)"""
            nonlocal shown_names
            text = cell_text(raw)
            if not text:
                return None, text
            if key == "indicator":
                if shown_names is None:
                    shown_names = _shown_names(cat)
                return shown_names.get(_squeeze(text), unknown), text
            if key == "area":
                try:
                    return str(gazetteer.lookup(text)), text
                except LookupError:
                    return unknown, text
            return sex_names.get(text.casefold(), unknown), text

        dcodes, dsaid = _distinct(f[col], named)
        said_code = np.array([c for c, _ in dsaid], dtype=object)[dcodes] if len(dsaid) else \
            np.empty(0, dtype=object)
        bad = ok & (said_code != None) & (said_code != np.asarray(code, dtype=object))  # noqa: E711
        if not bad.any():
            continue
        msgs = np.full(n, None, dtype=object)
        for i in np.flatnonzero(bad).tolist():
            msgs[i] = ("display_mismatch", (("found", dsaid[dcodes[i]][1]),
                                            ("key", _key_name(key, code[i], cat)),
                                            ("column", heading_zh[col[1:]]["zh"])))
        out[col] = (bad, msgs)
    return out


def _reordered(table: RawTable, probs: list[Problem]) -> list[Problem]:
    """A sheet whose display cells disagree with the key cells in two rows or more: its rows were
    sorted, moved or pasted over, and then the rows that still agree cannot be trusted either (a
    sort of the visible columns leaves a row agreeing by chance).  A sheet-level error: the file is
    refused, with ``--keep-valid`` too."""
    rows = sorted({p.row for p in probs if p.code == "display_mismatch" and p.row is not None})
    if len(rows) < 2:
        return []
    shown = "、".join(map(str, rows[:5])) + ("…" if len(rows) > 5 else "")
    return [Problem(table.file, table.sheet, None, None, "error", "rows_reordered",
                    (("count", len(rows)), ("rows", shown), ("found", shown)))]


def _key_name(key: str, code: str, cat: pd.DataFrame) -> str:
    """What a key cell names, as the template shows it (an indicator's Chinese name, an area's, 女)."""
    if key == "indicator":
        return str(lk.cat_get(cat.loc[code], "name_zh", code)) if code in cat.index else code
    if key == "area":
        return lk.area_name(code)
    return labels.sex_label(code, "zh")


def _parse_table(table: RawTable, cat: pd.DataFrame, names: dict[str, str]
                 ) -> tuple[pd.DataFrame, list[Problem], int]:
    """Parse the cells of one table column by column: records, problems, number of blank rows."""
    frame = table.frame
    n0 = len(frame)

    def col(c: str, f: pd.DataFrame) -> pd.Series:
        return f[c] if c in f.columns else pd.Series([None] * len(f), index=f.index, dtype=object)

    def cells(c: str) -> tuple[np.ndarray, np.ndarray] | None:  # the number column's cells, factorised once
        known = table.cells.get(c)
        return (known[0][~blank], known[1]) if known is not None and len(known[0]) == n0 else None

    def missing(c: str) -> np.ndarray:
        known = table.missing.get(c)
        return known if known is not None and len(known) == n0 else missing_mask(col(c, frame))

    blank = missing("value") & missing("numerator") & missing("denominator")
    f = frame[~blank]
    rows = f.index.to_numpy(np.int64)
    n = len(f)
    probs: list[Problem] = _notes_without_figures(table, frame[blank])
    if not n:
        return pd.DataFrame(columns=REC_COLUMNS), probs, n0

    def err(mask: np.ndarray, c: str, msgs: Any, severity: str = "error") -> None:
        """A problem for each row where ``mask`` holds; ``msgs``: one message ``(code, values)``,
        an array of them or a function of the row's position giving one."""
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        heading = table.columns.get(c, c)
        letter = table.letters.get(c)
        if callable(msgs):
            said = [msgs(i) for i in idx.tolist()]
        elif isinstance(msgs, tuple):
            said = [msgs] * len(idx)
        else:
            said = np.asarray(msgs, dtype=object)[idx].tolist()
        rs = rows[idx].tolist()
        cells = [f"{letter}{r}" for r in rs] if letter else repeat("")
        codes_, values = map(itemgetter(0), said), map(itemgetter(1), said)  # not zip(*said): 5x slower
        probs.extend(problems_at(table.file, table.sheet, rs, heading, severity, codes_, values, cells))

    # --- indicator: an id or the exact Chinese name
    ids = set(cat.index)
    choices = list(cat.index) + list(names)

    def indicator(raw: Any) -> tuple[str, bool, Msg | None]:
        text = cell_text(raw)
        if not text:
            return "", False, ("indicator_empty", ())
        if text in ids:
            return text, True, None
        if text in names:
            return names[text], True, None
        close = difflib.get_close_matches(text, choices, n=1, cutoff=0.75)
        return text, False, ("unknown_indicator", (("found", text), ("suggestion", close[0] if close else "")))

    # a row a clerk inserted into a template: its hidden key cells are all blank (it is no row of
    # the template), one error at its figure, not a blank id, year, area and sex each
    template = bool(table.meta)
    key_blank = {c: missing_mask(col(c, f)) for c in ("indicator", "year", "area", "sex")}
    inserted = (key_blank["indicator"] & key_blank["year"] & key_blank["area"] & key_blank["sex"]) if template \
        else np.zeros(n, dtype=bool)
    err(inserted, "value", ("row_not_in_template", ()))
    icodes, iuniq = pd.factorize(col("indicator", f).to_numpy(object), use_na_sentinel=False)
    isaid = [indicator(u) for u in iuniq]
    ind, known, ind_msg = _spread(isaid, icodes)
    known = known.astype(bool)
    err((ind_msg != None) & ~inserted, "indicator", ind_msg)  # noqa: E711
    # what depends on the indicator only: looked up once per distinct cell, then spread
    rows_of = cat.to_dict("index")
    ukey = [x[0] if x[1] else None for x in isaid]
    uunit = [lk.cat_get(rows_of[k], "unit") if k is not None else None for k in ukey]
    unit = _spread(uunit, icodes)
    scale = np.array([np.nan if u is None or lk.unit_info(u)[0] is None else lk.unit_info(u)[0] for u in uunit],
                     dtype=float)[icodes]
    by_sex = np.array([k is None or "sex" in lk.disagg(rows_of[k]) for k in ukey], dtype=bool)[icodes]

    # --- year
    ycodes, yuniq = factorize_cells(col("year", f))
    ysaid = [parse_year(v, lo=SUBMISSION_YEARS[0], hi=SUBMISSION_YEARS[1]) for v in yuniq]
    year = pd.arrays.IntegerArray(np.array([0 if y is None else int(y) for y, _ in ysaid], dtype=np.int64)[ycodes],
                                  np.array([y is None for y, _ in ysaid], dtype=bool)[ycodes])
    year_msg = _spread([(m,) for _, m in ysaid], ycodes)[0]
    err((year_msg != None) & ~inserted, "year", year_msg)  # noqa: E711

    # --- area: a code or any name variant of the gazetteer; blank = the district
    district = codes.district()

    def area_of(raw: Any) -> tuple[str, Msg | None]:
        text = cell_text(raw)
        if not text:
            return district, None
        try:
            return str(gazetteer.lookup(text)), None
        except LookupError:
            return text, ("area_unknown", (("found", text), ("district", district)))

    acodes, asaid = _distinct(col("area", f), area_of)
    area, area_msg = _spread(asaid, acodes)
    err(area_msg != None, "area", area_msg)  # noqa: E711
    # blank = the district only where no other row names another area: a blank cell in a column
    # that names towns in other rows is a figure whose area was left out (地区漏填), not 从化区's;
    # a blank sex beside rows of 女 or 男 likewise
    area_blank = key_blank["area"] & ~inserted & bool((area[~key_blank["area"]] != district).any())
    err(area_blank, "area", ("area_blank", (("district", lk.area_name(district)),)))

    # --- sex
    aliases = lk.sex_aliases()

    def sex_of(raw: Any) -> tuple[str, Msg | None]:
        text = cell_text(raw)
        if not text:
            return "T", None
        code = aliases.get(text.casefold(), "")
        return (code, None) if code else (text, ("sex_unknown", (("found", text),)))

    scodes, ssaid = _distinct(col("sex", f), sex_of)
    sex, sex_msg = _spread(ssaid, scodes)
    err(sex_msg != None, "sex", sex_msg)  # noqa: E711
    sex_blank = key_blank["sex"] & ~inserted & bool((sex[~key_blank["sex"]] != "T").any())
    err(sex_blank, "sex", ("sex_blank", ()))
    not_by_sex = known & ((sex == "F") | (sex == "M")) & ~by_sex
    if not_by_sex.any():  # one message per distinct (sex, indicator)
        at = np.flatnonzero(not_by_sex)
        which, uniq = pd.factorize(icodes[at] * 2 + (sex[at] == "M"))
        first = np.full(len(uniq), -1, dtype=np.int64)
        first[which[::-1]] = at[::-1]  # the first row of each pair
        msgs = np.empty(len(uniq), dtype=object)
        for j, i in enumerate(first.tolist()):
            msgs[j] = ("sex_not_disaggregated", (("found", sex[i]), ("indicator", ind[i])))
        said = np.full(n, None, dtype=object)
        said[not_by_sex] = msgs[which]
        err(not_by_sex, "sex", said, "warning")

    # --- the visible cells naming the row (the template's 指标名称, 地区, 性别) against its key cells
    keys = {"indicator": (ind, known & ~inserted), "area": (area, (area_msg == None) & ~area_blank & ~inserted),  # noqa: E711
            "sex": (sex, (sex_msg == None) & ~sex_blank & ~inserted)}  # noqa: E711
    shown = _display_mismatches(table, f, cat, keys, strict=template)
    for c, (mask, msgs) in shown.items():
        err(mask, c, msgs)

    # --- numbers
    def formats_of(c: str) -> dict[int, str]:
        if not table.formats:
            return {}
        pos = {int(r): i for i, r in enumerate(rows)}
        return {pos[r]: fmt for (r, cc), fmt in table.formats.items() if cc == c and r in pos}

    v_raw = col("value", f)
    value, sign, v_msg = parse_numbers(v_raw, formats_of("value"), cells("value"))
    _excel_errors(v_msg, v_raw)
    has_msg = v_msg != None  # noqa: E711
    err(has_msg, "value", v_msg)
    signed = ~has_msg & (sign != None) & np.isfinite(value) & known  # noqa: E711
    no_scale = signed & np.isnan(scale)
    raw_v = v_raw.to_numpy(object)
    err(no_scale, "value", lambda i: ("sign_not_rate", (("found", cell_text(raw_v[i])), ("sign", sign[i]),
                                                         ("indicator", ind[i]), ("unit", unit[i]))))
    base = np.where(sign == "%", 100.0, 1000.0)
    converted = value * scale / base
    # a sign other than the unit's own (5‰ in a 每10万活产 row is 500, 150% in a ratio row 1.5): the
    # figure stored is not the one typed; kept, with a warning showing the conversion
    other_sign = signed & ~no_scale & (base != scale)
    err(other_sign, "value", lambda i: ("sign_converted", (("found", cell_text(raw_v[i])), ("stored", f"{converted[i]:.6g}"),
                                                           ("unit", unit[i]))), "warning")
    value = np.where(signed & ~no_scale, converted, value)
    value[no_scale] = np.nan
    has_msg |= no_scale
    counts = {}
    for c in ("numerator", "denominator"):
        raw_c = col(c, f)
        x, sg, m = parse_numbers(raw_c, formats_of(c), cells(c))
        _excel_errors(m, raw_c)
        bad = m != None  # noqa: E711
        err(bad, c, lambda i, m=m: ("count_not_a_number", m[i][1]) if m[i][0] == "not_a_number" else m[i])
        rate = ~bad & (sg != None)  # noqa: E711
        rc = raw_c.to_numpy(object)
        err(rate, c, lambda i, rc=rc: ("count_is_rate", (("found", cell_text(rc[i])),)))
        neg = ~bad & ~rate & (x < 0)
        err(neg, c, lambda i, c=c, x=x: ("count_negative", (("column", c), ("found", f"{x[i]:g}"))))
        x = np.where(rate | neg, np.nan, x)
        counts[c] = x
    num, den = counts["numerator"], counts["denominator"]
    absent = np.isnan(value) & ~has_msg
    derive = absent & ~np.isnan(num) & ~np.isnan(den) & (den > 0) & ~np.isnan(scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(derive, scale * num / den, value)
    # no value and no count to derive it from; counts typed but in error (分母 0, '3.2万') have
    # their own messages, so "没有填数值" is not said beside them
    counted = ~missing_mask(col("numerator", f)) & ~missing_mask(col("denominator", f))
    lacking = absent & ~derive & known & ~(counted & ~np.isnan(scale))
    err(lacking, "value", lambda i: ("value_missing", (("not_rate", "" if not np.isnan(scale[i]) else str(unit[i])),)))
    dept = table.meta.get("department")
    default_source = f"{dept}:{Path(table.file).name}" if dept else Path(table.file).name
    # notes and sources as typed (①, full-width punctuation), only invisible characters removed
    source = _text(*_distinct(col("source", f), lambda v: note_text(v) or default_source))
    note = _text(*_distinct(col("note", f), lambda v: note_text(v) or None))
    synthetic = _per_distinct(col("synthetic", f),
                              lambda v: cell_text(v).casefold() in ("true", "1", "是", "yes")).astype(bool)
    zero = np.zeros(n, dtype=np.int32)
    rec = pd.DataFrame({"file": _text(zero, [table.file]), "sheet": _text(zero, [table.sheet or ""]), "row": rows,
                        "indicator": _text(icodes, [x[0] for x in isaid]), "year": year,
                        "area": _text(acodes, [x[0] for x in asaid]), "sex": _text(scodes, [x[0] for x in ssaid]),
                        "value": value, "numerator": num, "denominator": den, "source": source, "note": note,
                        "synthetic": synthetic, "unit": _text(icodes, uunit)})
    out = rec[REC_COLUMNS]
    out.attrs["signed"] = {(table.sheet or "", int(r)) for r in rows[signed & ~no_scale].tolist()}
    return out, probs, n0 - n
