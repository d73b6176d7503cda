"""Indicator data: the tidy panel, submissions (template, ingest), validation, aggregation.

The panel is long and tidy (one row per indicator x year x area x sex), the
format Open SDG uses for its data files; its columns are fixed in
``docs/design.md`` ("The panel") and checked on load by a pandera schema
(:data:`PANEL_SCHEMA`).

Member units report on Excel workbooks made by :func:`template` or on CSV files
with the panel's columns; :func:`validate` checks them without writing and
:func:`ingest` merges them into ``data/processed/``.  Every finding is a
:class:`~fzanalysis._ingest_read.Problem` printed as
``file:sheet:row:column: message``.  The checks and the aggregation rule are
described in ``docs/methods.md`` section 10.

References
----------
Open SDG data format, https://open-sdg.readthedocs.io/en/latest/data-format/
Iglewicz, B. and Hoaglin, D. C. (1993). *How to Detect and Handle Outliers*.
ASQC Quality Press (modified z-score, threshold 3.5).
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from fzanalysis._ingest_read import (
    Problem,
    RawTable,
    cell_text,
    is_missing,
    parse_number,
    parse_year,
    read_file,
)
from fzanalysis.paths import REPO_DIR, data_path

__all__ = [
    "PANEL_COLUMNS",
    "KEY",
    "DISTRICT",
    "PANEL_SCHEMA",
    "PanelError",
    "Problem",
    "IngestResult",
    "load_panel",
    "write_panel_csv",
    "read_submission",
    "validate",
    "template",
    "ingest",
    "rebuild",
    "jump_warnings",
    "aggregate_towns",
    "check_district_consistency",
    "register_cli",
]

#: Panel columns in their canonical order (docs/design.md "The panel").
PANEL_COLUMNS: tuple[str, ...] = (
    "indicator", "year", "area", "sex", "value",
    "numerator", "denominator", "source", "note", "synthetic",
)
#: Columns identifying one observation.
KEY: list[str] = ["indicator", "year", "area", "sex"]
#: Gazetteer code of the whole district (default ``area``).
DISTRICT = "440117"
#: Sex codes: female, male, total / not applicable (default).
SEXES: tuple[str, ...] = ("F", "M", "T")
YEAR_MIN, YEAR_MAX = 2000, 2030

#: Jump rule (docs/methods.md 10.3): modified z-score threshold and minimum history.
JUMP_THRESHOLD = 3.5
JUMP_MIN_CHANGES = 4
JUMP_FLOOR = 0.02


class PanelError(ValueError):
    """A panel failed its schema; ``problems`` lists every failing cell."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        shown = "\n  ".join(problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{source}: the panel does not match its schema "
                         f"({len(problems)} problem(s)):\n  {shown}{more}")


# =========================================================================== schema
PANEL_SCHEMA = pa.DataFrameSchema(
    {
        "indicator": pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$"),
                               description="catalogue id, domain.snake_name"),
        "year": pa.Column("int64", pa.Check.in_range(YEAR_MIN, YEAR_MAX)),
        "area": pa.Column(str, pa.Check.str_matches(r"^\d{6}(\d{3})?$"),
                          description="gazetteer code: 6 digits district, 9 digits town"),
        "sex": pa.Column(str, pa.Check.isin(list(SEXES))),
        "value": pa.Column("float64", [pa.Check(lambda s: np.isfinite(s), element_wise=False,
                                                error="finite number")]),
        "numerator": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "denominator": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "source": pa.Column(str, nullable=True),
        "note": pa.Column(str, nullable=True),
        "synthetic": pa.Column(bool),
    },
    unique=KEY,
    report_duplicates="all",
    strict=False,
    ordered=False,
    name="panel",
)


def _to_str(series: pd.Series) -> pd.Series:
    """Codes as clean strings: 440117.0 -> '440117'; missing stays missing."""
    def one(v: Any) -> Any:
        if is_missing(v):
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()
    return series.map(one, na_action=None).astype("str")


def load_panel(path_or_df: str | Path | pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    r"""Load and validate a tidy panel.

    Parameters
    ----------
    path_or_df
        A ``.csv`` or ``.parquet`` file with the panel's columns, or a DataFrame.
        Required: ``indicator``, ``year``, ``value``. Optional columns take their
        defaults: ``area`` = ``"440117"`` (district), ``sex`` = ``"T"``,
        ``numerator``/``denominator`` = NaN, ``source``/``note`` = missing,
        ``synthetic`` = False.
    source
        Name used in error messages (default: the path, or ``"<DataFrame>"``).

    Returns
    -------
    DataFrame
        Columns :data:`PANEL_COLUMNS` first (then any extra columns, kept),
        dtypes fixed: ``indicator``/``area``/``sex``/``source``/``note`` str,
        ``year`` int64, ``value``/``numerator``/``denominator`` float64,
        ``synthetic`` bool; sorted by indicator, year, area, sex.

    Raises
    ------
    PanelError
        Listing every failing row and column (pandera, ``lazy=True``): a
        missing required column, a year that is not an integer in 2000-2030,
        a sex other than F/M/T, a non-finite value, a negative count, a
        duplicated key.
    """
    if isinstance(path_or_df, pd.DataFrame):
        df = path_or_df.copy()
        name = source or "<DataFrame>"
    else:
        path = Path(path_or_df)
        name = source or str(path)
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype={"area": str, "sex": str, "indicator": str,
                                          "source": str, "note": str}, encoding="utf-8-sig",
                             keep_default_na=False, na_values=[""])
    missing = [c for c in ("indicator", "year", "value") if c not in df.columns]
    if missing:
        raise PanelError(name, [f"column {c}: required column missing" for c in missing])
    problems: list[str] = []
    df["indicator"] = _to_str(df["indicator"])
    df["area"] = _to_str(df["area"]).fillna(DISTRICT) if "area" in df else DISTRICT
    df["sex"] = _to_str(df["sex"]).fillna("T") if "sex" in df else "T"
    for col in ("source", "note"):
        df[col] = _to_str(df[col]) if col in df else pd.Series(pd.NA, index=df.index, dtype="str")
    # year: integral numbers only (2024.0 is fine, 2024.5 is not)
    year = pd.to_numeric(df["year"], errors="coerce")
    bad = year.isna() | (year != year.round())
    for i in df.index[bad]:
        problems.append(f"row {_rowno(df, i)}, column year: expected an integer year, got {_show(df.at[i, 'year'])}")
    df["year"] = year.where(~bad, YEAR_MIN).astype("int64")  # placeholder: the row is already reported
    for col in ("value", "numerator", "denominator"):
        if col not in df:
            df[col] = np.nan
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() & df[col].notna() & ~df[col].map(is_missing)
        for i in df.index[bad]:
            problems.append(f"row {_rowno(df, i)}, column {col}: expected a number, got {_show(df.at[i, col])}")
        df[col] = num.astype("float64")
    if "synthetic" in df:
        syn = df["synthetic"]
        if syn.dtype != bool:
            mapped = syn.map(lambda v: {"true": True, "false": False, "1": True, "0": False, "": False}
                             .get(cell_text(v).lower(), None) if not isinstance(v, bool) else v)
            for i in df.index[mapped.isna()]:
                problems.append(f"row {_rowno(df, i)}, column synthetic: expected True or False, "
                                f"got {_show(syn[i])}")
            syn = mapped.fillna(False).astype(bool)
        df["synthetic"] = syn.astype(bool)
    else:
        df["synthetic"] = False
    try:
        df = PANEL_SCHEMA.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems += _schema_messages(df, exc.failure_cases)
    if problems:
        raise PanelError(name, problems)
    extra = [c for c in df.columns if c not in PANEL_COLUMNS]
    df = df[list(PANEL_COLUMNS) + extra]
    return df.sort_values(KEY, kind="stable").reset_index(drop=True)


def _show(v: Any) -> str:
    """A cell for a message: text quoted, numbers plain."""
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (np.generic,)):
        v = v.item()
    return repr(v) if not isinstance(v, float) else f"{v:g}"


def _rowno(df: pd.DataFrame, index: Any) -> str:
    """Row label for messages: 0-based position and its CSV line (header = line 1)."""
    pos = df.index.get_loc(index)
    return f"{pos} (line {pos + 2})" if isinstance(pos, int) else str(index)


def _schema_messages(df: pd.DataFrame, cases: pd.DataFrame) -> list[str]:
    out = []
    for _, c in cases.iterrows():
        col = c.get("column")
        idx = c.get("index")
        where = f"row {_rowno(df, idx)}" if idx is not None and not pd.isna(idx) and idx in df.index else "table"
        check = str(c.get("check"))
        if check.startswith("field_uniqueness") or check == "multiple_fields_uniqueness":
            out.append(f"{where}: duplicate key (indicator, year, area, sex) = {c['failure_case']}")
        else:
            out.append(f"{where}, column {col}: expected {check}, got {_show(c['failure_case'])}")
    return out


def write_panel_csv(panel: pd.DataFrame, path: str | Path) -> Path:
    """Write a panel as UTF-8 CSV, deterministically (sorted, ``repr`` floats, ``\\n`` line ends)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = panel.sort_values(KEY, kind="stable").reset_index(drop=True)
    text = df.to_csv(index=False, lineterminator="\n", float_format=None)
    path.write_text(text, encoding="utf-8", newline="")
    return path


# =========================================================================== reference data
def _default_catalog() -> pd.DataFrame:
    from fzanalysis import catalog

    return catalog.load()


def units_table() -> pd.DataFrame:
    """Units table (``data/units.csv`` via :func:`fzanalysis.catalog.units`), indexed by key."""
    from fzanalysis import catalog

    return catalog.units()


def _catalog(catalog: pd.DataFrame | None) -> pd.DataFrame:
    cat = _default_catalog() if catalog is None else catalog
    if "id" not in cat.columns:
        raise ValueError("catalog: expected a DataFrame with an 'id' column (fzanalysis.catalog.load())")
    return cat.set_index("id", drop=False).rename_axis(None)


def _cat_get(row: Any, col: str, default: Any = None) -> Any:
    """A catalogue field (row as Series or dict); missing, NaN and '' give ``default``."""
    if row is None:
        return default
    v = row.get(col, None)
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v == ""):
        return default
    return v


@lru_cache(maxsize=None)
def _unit_info(unit: str | None) -> tuple[float | None, float, float]:
    """(scale, lower bound, upper bound) of a unit from ``data/units.csv``."""
    units = units_table()
    if unit is None or unit not in units.index:
        return None, -math.inf, math.inf
    r = units.loc[unit]
    return (float(r["scale"]) if pd.notna(r["scale"]) else None,
            float(r["lower_bound"]) if pd.notna(r["lower_bound"]) else -math.inf,
            float(r["upper_bound"]) if pd.notna(r["upper_bound"]) else math.inf)


def _unit_scale(unit: str | None) -> float | None:
    return _unit_info(unit)[0]


def _bounds(cat_row: Any) -> tuple[float, float]:
    """Natural bounds: the catalogue row's, else its unit's, else unbounded."""
    _scale, ulo, uhi = _unit_info(_cat_get(cat_row, "unit"))
    lo = _cat_get(cat_row, "lower_bound")
    hi = _cat_get(cat_row, "upper_bound")
    return (float(lo) if lo is not None else ulo, float(hi) if hi is not None else uhi)


def _disagg(cat_row: Any) -> set[str]:
    text = _cat_get(cat_row, "disaggregation", "") or ""
    return {p.strip() for p in str(text).split(";") if p.strip()}


def _gazetteer() -> Any:
    from fzanalysis import gazetteer

    return gazetteer


def town_codes() -> tuple[str, ...]:
    """The gazetteer's town-level codes (3 streets, 5 towns), in code order."""
    return tuple(_gazetteer().codes(include_district=False))


def _area_name(code: str) -> str:
    return str(_gazetteer().name(code))


@lru_cache(maxsize=1)
def _sex_aliases() -> dict[str, str]:
    from fzanalysis.config import label_table as labels

    table = {"f": "F", "m": "M", "t": "T", "女性": "F", "男性": "M", "总计": "T", "全部": "T",
             "小计": "T", "合计": "T", "总体": "T", "全体": "T", "不分性别": "T", "all": "T"}
    for code, entry in labels().get("sex", {}).items():
        for text in (code, entry["zh"], entry["en"]):
            table[cell_text(text).casefold()] = code
    return table


@lru_cache(maxsize=1)
def _sum_units() -> frozenset[str]:
    from fzanalysis.config import label_table as labels

    entry = labels().get("aggregation_method", {}).get("sum", {})
    return frozenset(entry.get("units", []))


# =========================================================================== parsing rows
#: Columns of the record table built from a submission (panel columns + provenance).
_REC_COLUMNS = ["file", "sheet", "row", *PANEL_COLUMNS, "unit"]


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
    cat = _catalog(catalog)
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
    df = pd.DataFrame.from_records(records, columns=_REC_COLUMNS)
    headings = {(t.sheet or ""): (dict(t.columns), dict(t.letters)) for t in tables}
    return Submission(name, _typed_records(df), problems, n_read, n_blank, headings)


def _typed_records(df: pd.DataFrame) -> pd.DataFrame:
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
    unit = _cat_get(cat_row, "unit")

    # --- year
    year, msg = parse_year(raw.get("year"), lo=YEAR_MIN, hi=YEAR_MAX)
    if msg:
        err("year", msg)

    # --- area
    area_text = cell_text(raw.get("area"))
    area = DISTRICT
    if area_text:
        if area_text not in areas:
            try:
                areas[area_text] = str(_gazetteer().lookup(area_text))
            except LookupError:
                areas[area_text] = None
        if areas[area_text] is not None:
            area = str(areas[area_text])
        else:
            err("area", f"unknown area {area_text!r}: expected a code or name from data/towns.csv "
                        f"(e.g. {DISTRICT} or 从化区, 440117001 or 街口街道)")
            area = area_text

    # --- sex
    sex_text = cell_text(raw.get("sex"))
    sex = "T"
    if sex_text:
        sex = _sex_aliases().get(sex_text.casefold(), "")
        if not sex:
            err("sex", f"unknown sex {sex_text!r}: expected F, M or T (女, 男, 合计)")
            sex = sex_text
        elif sex in ("F", "M") and cat_row is not None and "sex" not in _disagg(cat_row):
            err("sex", f"sex {sex} given, but the catalogue does not disaggregate {indicator} by sex "
                       "(expected T)", "warning")

    # --- numbers
    scale = _unit_scale(unit)
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


# =========================================================================== checks across rows
def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _row_checks(sub: Submission, cat: pd.DataFrame) -> list[Problem]:
    """Bounds, negatives, fractions for percent, numerator/denominator, duplicate keys."""
    out: list[Problem] = []
    rec = sub.records
    if rec.empty:
        return out

    def p(r: Any, col: str, msg: str, severity: str = "error") -> None:
        heading, ref = sub.where(r["sheet"], int(r["row"]), col)
        out.append(Problem(r["file"], r["sheet"] or None, int(r["row"]), heading, severity, msg + ref))  # type: ignore[arg-type]

    rows = cat.to_dict("index")
    known = rec["indicator"].isin(cat.index)
    # fraction where the unit is percent: every value of the indicator in this file is <= 1
    fraction_ids: set[str] = set()
    for ind, grp in rec[known & rec["value"].notna()].groupby("indicator", sort=False):
        crow = rows[ind]
        if _cat_get(crow, "unit") != "percent":
            continue
        ref = _cat_get(crow, "target") or _cat_get(crow, "baseline_value")
        vals = grp["value"]
        if ref is not None and float(ref) > 5 and vals.max() <= 1 and vals.max() > 0:
            fraction_ids.add(str(ind))
    for r in rec.to_dict("records"):
        ind = r["indicator"]
        if ind not in rows:
            continue
        crow = rows[ind]
        unit = _cat_get(crow, "unit")
        lo, hi = _bounds(crow)
        v, n, d = r["value"], r["numerator"], r["denominator"]
        col_v = "value"
        scale = _unit_scale(unit)
        # the numerator counts a subset of the denominator for proportions and rates per 1000/100 000
        # (not for ratios, nor for gross rates whose upper bound exceeds the scale, e.g. 毛入园率)
        subset_broken = (pd.notna(n) and pd.notna(d) and scale is not None and scale >= 100
                         and (hi <= scale or math.isinf(hi)) and n > d)
        if pd.notna(v) and not subset_broken:
            if ind in fraction_ids:
                ref = _cat_get(crow, "target") or _cat_get(crow, "baseline_value")
                p(r, col_v, f"value {_fmt(v)} looks like a fraction: the unit of {ind} is percent "
                            f"(target {_fmt(float(ref))}) and every value of it in this file is ≤ 1; "
                            f"expected {_fmt(v * 100)} for {_fmt(v * 100)}%")
            elif v < 0 and lo >= 0:
                p(r, col_v, f"negative value {_fmt(v)}: expected ≥ {_fmt(lo)} ({unit})")
            elif v < lo or v > hi:
                p(r, col_v, f"value {_fmt(v)} outside the allowed range {_fmt(lo)}–{_fmt(hi)} ({unit})")
        if pd.notna(n) != pd.notna(d):
            given, missing = ("numerator", "denominator") if pd.notna(n) else ("denominator", "numerator")
            p(r, missing, f"{given} given without {missing}: expected both counts or neither", "warning")
        if pd.notna(n) and pd.notna(d):
            if subset_broken:
                p(r, "numerator", f"numerator {_fmt(n)} greater than denominator {_fmt(d)}: "
                                  "expected the numerator to count a subset of the denominator")
            elif d == 0 and n > 0:
                p(r, "denominator", f"denominator 0 with numerator {_fmt(n)}: expected a positive denominator")
            elif scale is not None and d > 0 and pd.notna(v) and ind not in fraction_ids:
                implied = scale * n / d
                if abs(v - implied) > max(0.051, 0.005 * abs(implied)):
                    if unit == "percent" and abs(v - n / d) <= max(0.00051, 0.005 * n / d):
                        p(r, col_v, f"value {_fmt(v)} is numerator/denominator as a fraction, but the "
                                    f"unit is percent: expected {_fmt(implied)}")
                    else:
                        p(r, col_v, f"value {_fmt(v)} disagrees with numerator/denominator: expected "
                                    f"{_fmt(scale)} × {_fmt(n)} / {_fmt(d)} = {_fmt(implied)}")
    # duplicate keys within the file
    ok = rec.dropna(subset=["year"])
    ok = ok[ok.duplicated(KEY, keep=False)]
    for _, grp in ok.groupby(KEY, sort=False, dropna=False):
        if len(grp) < 2:
            continue
        first = grp.iloc[0]
        for _, r in grp.iloc[1:].iterrows():
            same = (r["value"] == first["value"]) or (pd.isna(r["value"]) and pd.isna(first["value"]))
            where = f"row {first['row']}" + (f" of sheet {first['sheet']}" if first["sheet"] != r["sheet"] else "")
            key = f"({r['indicator']}, {r['year']}, {r['area']}, {r['sex']})"
            if same:
                p(r, "value", f"duplicate of {where} for key {key} with the same value", "warning")
            else:
                p(r, "value", f"duplicate key {key} with a different value: {_fmt(r['value'])} here, "
                              f"{_fmt(first['value'])} in {where}; expected one value per key")
                p(first, "value", f"duplicate key {key} with a different value: {_fmt(first['value'])} "
                                  f"here, {_fmt(r['value'])} in row {r['row']}; expected one value per key")
    return out


def _sampling_var(value: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    r"""Sampling variance of rates built from counts, in the value's unit (0 where no counts).

    With :math:`r = n/d` and the unit factor :math:`c = v/r`:
    :math:`\operatorname{Var}(v) \approx c^2\, r(1-r)/d` for proportions (binomial) and
    :math:`c^2\, r/d` for rates that can exceed 1 (Poisson); a zero count is taken as 0.5
    events so that a year with no event still carries its uncertainty.
    """
    out = np.zeros(len(value))
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    if not ok.any():
        return out
    n = np.where(num[ok] > 0, num[ok], 0.5)
    r = n / den[ok]
    c = np.where(num[ok] > 0, value[ok] / r, np.nan)
    if np.isnan(c).any():  # zero counts: take the unit factor from a non-zero row of the series
        known = c[np.isfinite(c)]
        c = np.where(np.isfinite(c), c, known[0] if len(known) else 0.0)
    out[ok] = c ** 2 * np.where(r < 1, r * (1 - r), r) / den[ok]
    return out


def jump_warnings(new: pd.DataFrame, history: pd.DataFrame | None = None, *,
                  threshold: float = JUMP_THRESHOLD, min_changes: int = JUMP_MIN_CHANGES,
                  floor: float = JUMP_FLOOR) -> pd.DataFrame:
    r"""Flag values that jump far outside their series' own year-on-year history.

    For a value :math:`x_t` of a series (indicator, area, sex) with earlier
    observations :math:`x_{t_1}, \dots, x_{t_n}` (from ``history`` and
    ``new``), the annualised past changes are
    :math:`d_i = (x_{t_{i+1}} - x_{t_i}) / (t_{i+1} - t_i)` and the new change
    is :math:`\Delta = (x_t - x_{t_n}) / (t - t_n)`.  With
    :math:`m = \operatorname{median}(d)` and
    :math:`\mathrm{MAD} = \operatorname{median}|d - m|`, the value is flagged when

    .. math:: |\Delta - m| > k \cdot \max\Big(\sqrt{(1.4826\,\mathrm{MAD})^2 + \sigma^2_{s}},\;
              f \cdot \operatorname{median}|x|\Big)

    with :math:`k` = ``threshold`` (3.5, the modified z-score cut-off of
    Iglewicz and Hoaglin 1993), :math:`\sigma^2_s` the sampling variance of
    the change when both values come with numerator and denominator
    (binomial or Poisson, :func:`_sampling_var`; small towns' rates move by
    chance), :math:`f` = ``floor`` (2 % of the series' level, so a perfectly
    flat history does not flag every wobble; at least 0.5 for integer
    series, whose smallest move is 1), and at least ``min_changes``
    past changes (4; a MAD of fewer changes is too unstable to judge).

    Returns
    -------
    DataFrame
        The flagged rows of ``new`` with added columns ``previous_year``,
        ``previous_value``, ``change``, ``median_change``, ``scale``.
    """
    cols = KEY + ["value"]
    extra = [c for c in ("numerator", "denominator")]
    frames = []
    for df, is_new in ((history, False), (new, True)):
        if df is None or not len(df):
            continue
        f = df[[c for c in cols + extra if c in df.columns]].copy()
        for c in extra:
            if c not in f:
                f[c] = np.nan
        frames.append(f.assign(_new=is_new))
    if not frames:
        return pd.DataFrame(columns=cols + ["previous_year", "previous_value", "change", "median_change", "scale"])
    both = pd.concat(frames, ignore_index=True).dropna(subset=["value", "year"])
    both["year"] = both["year"].astype("int64")
    # the newest figure per key wins (new over history)
    both = both.drop_duplicates(KEY, keep="last")
    flagged = []
    for _, s in both.groupby(["indicator", "area", "sex"], sort=False):
        if not s["_new"].any() or len(s) < min_changes + 2:
            continue
        s = s.sort_values("year")
        years = s["year"].to_numpy(float)
        vals = s["value"].to_numpy(float)
        svar = _sampling_var(vals, s["numerator"].to_numpy(float), s["denominator"].to_numpy(float))
        for j in np.flatnonzero(s["_new"].to_numpy()):
            if j < min_changes + 1:
                continue
            gaps = years[j] - years[j - 1]
            d = np.diff(vals[:j]) / np.diff(years[:j])
            m = float(np.median(d))
            mad = float(np.median(np.abs(d - m)))
            spread = math.sqrt((1.4826 * mad) ** 2 + (svar[j] + svar[j - 1]) / gaps ** 2)
            # integer series (counts) cannot move by less than 1: the scale is at least 0.5
            resolution = 0.5 if np.all(vals[: j + 1] == np.round(vals[: j + 1])) else 1e-12
            scale = max(spread, floor * float(np.median(np.abs(vals[:j]))), resolution)
            delta = (vals[j] - vals[j - 1]) / gaps
            if abs(delta - m) > threshold * scale:
                row = s.iloc[j]
                flagged.append({**{c: row[c] for c in cols}, "previous_year": int(years[j - 1]),
                                "previous_value": vals[j - 1], "change": delta,
                                "median_change": m, "scale": scale})
    return pd.DataFrame(flagged, columns=cols + ["previous_year", "previous_value", "change",
                                                 "median_change", "scale"])


def _jump_problems(subs: list[Submission], history: pd.DataFrame | None) -> list[Problem]:
    frames = [_clean_records(s) for s in subs if not s.records.empty]
    frames = [f for f in frames if len(f)]
    if not frames:
        return []
    new = pd.concat(frames, ignore_index=True)
    flags = jump_warnings(new, history)
    out = []
    for _, f in flags.iterrows():
        hits = new[(new["indicator"] == f["indicator"]) & (new["year"] == f["year"])
                   & (new["area"] == f["area"]) & (new["sex"] == f["sex"])]
        r = hits.iloc[-1]
        sub = next(s for s in subs if s.file == r["file"])
        heading, ref = sub.where(r["sheet"], int(r["row"]), "value")
        out.append(Problem(r["file"], r["sheet"] or None, int(r["row"]), heading, "warning",
                           f"value {_fmt(f['value'])} in {f['year']} jumps by {f['change']:+.4g}/year from "
                           f"{_fmt(f['previous_value'])} in {f['previous_year']}; the series' past "
                           f"year-on-year changes have median {f['median_change']:+.4g} and robust scale "
                           f"{f['scale']:.4g} (flag above {JUMP_THRESHOLD}×): check the figure{ref}"))
    return out


def _clean_records(sub: Submission) -> pd.DataFrame:
    """The submission's records without the rows that have an error."""
    bad = sub.error_rows()
    rec = sub.records.dropna(subset=["year", "value"])
    if bad and len(rec):
        keep = [(s or None, int(r)) not in bad for s, r in zip(rec["sheet"], rec["row"])]
        rec = rec[np.array(keep, dtype=bool)]
    return rec


def _consistency_problems(sub: Submission, cat: pd.DataFrame) -> list[Problem]:
    rec = _clean_records(sub)
    if rec.empty or not (rec["area"] == DISTRICT).any() or not (rec["area"] != DISTRICT).any():
        return []
    panel = rec[rec["indicator"].isin(cat.index)].drop_duplicates(KEY, keep="last")
    if panel.empty:
        return []
    panel = panel.assign(year=panel["year"].astype("int64"))
    check = check_district_consistency(panel, cat.reset_index(drop=True))
    out = []
    for _, c in check[~check["consistent"]].iterrows():
        r = rec[(rec["indicator"] == c["indicator"]) & (rec["year"] == c["year"])
                & (rec["area"] == DISTRICT) & (rec["sex"] == c["sex"])].iloc[-1]
        heading, ref = sub.where(r["sheet"], int(r["row"]), "value")
        out.append(Problem(r["file"], r["sheet"] or None, int(r["row"]), heading, "warning",
                           f"district value {_fmt(c['submitted'])} disagrees with its {c['n_towns']} towns "
                           f"({c['method']}: {_fmt(c['from_towns'])}; tolerance {_fmt(c['tolerance'])}){ref}"))
    return out


def _check_files(paths: Sequence[str | Path], cat: pd.DataFrame,
                 history: pd.DataFrame | None) -> list[Submission]:
    subs = []
    for path in paths:
        try:
            sub = read_submission(path, catalog=cat.reset_index(drop=True), display=str(path))
            sub.problems += _row_checks(sub, cat)
            sub.problems += _consistency_problems(sub, cat)
        except Exception as exc:  # a bug must not turn into a traceback for the user
            sub = Submission(str(path), _typed_records(pd.DataFrame(columns=_REC_COLUMNS)),
                             [Problem(str(path), None, None, None, "error",
                                      f"internal error while checking this file ({type(exc).__name__}: "
                                      f"{exc}); please report it with the file")])
        if not sub.has_error and sub.rows_read and sub.rows_blank == sub.rows_read:
            sub.problems.append(Problem(sub.file, None, None, None, "warning",
                                        f"no figures: all {sub.rows_read} data rows are blank"))
        elif not sub.problems and sub.rows_read == 0:
            sub.problems.append(Problem(sub.file, None, None, None, "error",
                                        "no data rows below the header: expected at least one figure"))
        subs.append(sub)
    jumps = _jump_problems([s for s in subs], history)
    for sub in subs:
        sub.problems += [j for j in jumps if j.file == sub.file]
        sub.problems.sort(key=lambda q: (q.sheet or "", q.row if q.row is not None else -1,
                                         q.column or "", q.severity, q.message))
    return subs


def validate(paths: str | Path | Sequence[str | Path], *, catalog: pd.DataFrame | None = None,
             history: pd.DataFrame | None = None) -> list[Problem]:
    """Check submission files without writing anything.

    Parameters
    ----------
    paths
        CSV files and ``.xlsx`` workbooks (filled templates or sheets with the
        panel's columns).
    catalog
        Indicator catalogue (default :func:`fzanalysis.catalog.load`).
    history
        A panel of earlier figures for the jump rule (default: none; the CLI
        uses ``data/processed/panel.parquet`` when it exists).

    Returns
    -------
    list of Problem
        All findings of all files in one pass, errors and warnings.  The
        checks are listed in ``docs/methods.md`` 10.2; none raises on bad input.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    cat = _catalog(catalog)
    out: list[Problem] = []
    for sub in _check_files(list(paths), cat, history):
        out += sub.problems
    return out


# =========================================================================== template
TEMPLATE_VERSION = "fzanalysis-template-1"
INPUT_SHEET = "数据填报"
INSTRUCTION_SHEET = "填报说明"


def template(department: str, year: int, out: str | Path, *, catalog: pd.DataFrame | None = None) -> Path:
    """Write an Excel submission workbook for one member unit.

    The workbook has an instruction sheet in Chinese (``填报说明``), one input
    sheet (``数据填报``) with one row per indicator x area (x sex where the
    catalogue disaggregates by sex), and a hidden ``_meta`` sheet.  Row 1 of
    the input sheet holds the panel column codes (hidden) so :func:`ingest`
    maps every row back exactly; the key columns (indicator id, year, area
    code, sex code) are hidden and locked.  Input cells (value, and numerator
    /denominator where the catalogue names them) carry Excel data validation
    (decimals within the unit's bounds; counts >= 0); the sheet is protected
    without a password so only input cells are editable.

    Parameters
    ----------
    department
        A ``department`` of the catalogue, e.g. ``卫健局``.
    year
        The reporting year (2000-2030).
    out
        Path of the ``.xlsx`` file to write.

    Raises
    ------
    ValueError
        Unknown department (the message lists the catalogue's departments) or
        a year outside 2000-2030.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    from fzanalysis import catalog as catalog_mod
    from fzanalysis.config import label_table as labels

    if not isinstance(year, (int, np.integer)) or not YEAR_MIN <= int(year) <= YEAR_MAX:
        raise ValueError(f"year: expected an integer in {YEAR_MIN}–{YEAR_MAX}, got {year!r}")
    cat = _catalog(catalog)
    depts = sorted({str(d) for d in cat.get("department", pd.Series(dtype=str)).dropna()})
    mine = cat[cat["department"].astype(str) == department] if "department" in cat else cat.iloc[:0]
    if mine.empty:
        raise ValueError(f"department {department!r} reports no indicator in the catalogue; "
                         f"expected one of: {', '.join(depts)}")
    units = units_table()
    col_labels = {**labels()["panel_column"], **labels()["template_column"]}
    sex_label = labels()["sex"]
    columns = ["indicator", "year", "area", "sex", "name_zh", "area_name", "sex_name", "unit_label",
               "target_label", "bounds_label", "value", "numerator", "denominator", "formula", "note"]
    hidden = {"indicator", "year", "area", "sex"}
    inputs = {"value", "numerator", "denominator", "note"}

    wb = Workbook()
    ins = wb.active
    ins.title = INSTRUCTION_SHEET
    ws = wb.create_sheet(INPUT_SHEET)
    meta = wb.create_sheet("_meta")
    meta.sheet_state = "hidden"
    for k, v in (("template_version", TEMPLATE_VERSION), ("department", department), ("year", int(year)),
                 ("instruction_sheet", INSTRUCTION_SHEET), ("input_sheet", INPUT_SHEET)):
        meta.append([k, v])

    ws.append(columns)  # row 1: machine keys (hidden)
    ws.append([col_labels[c]["zh"] for c in columns])  # row 2: Chinese headings
    ws.row_dimensions[1].hidden = True
    head_font, grey = Font(bold=True), PatternFill("solid", fgColor="DDDDDD")
    yellow = PatternFill("solid", fgColor="FFF2CC")
    for cell in ws[2]:
        cell.font = head_font
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    pos = {c: i + 1 for i, c in enumerate(columns)}
    letter = {c: ws.cell(row=1, column=i).column_letter for c, i in pos.items()}
    validations: dict[tuple[str, float, float], DataValidation] = {}

    def dv_for(kind: str, lo: float, hi: float, unit_zh: str) -> DataValidation:
        key = (kind, lo, hi)
        if key not in validations:
            if math.isfinite(hi):
                dv = DataValidation(type="decimal", operator="between", formula1=_xl(lo), formula2=_xl(hi))
                rng = f"{_xl(lo)} 到 {_xl(hi)} 之间"
            else:
                dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=_xl(lo))
                rng = f"不小于 {_xl(lo)}"
            dv.allow_blank = True
            dv.showErrorMessage = True
            dv.errorStyle = "stop"
            dv.errorTitle = "数值超出范围"
            what = "人数/个数" if kind == "count" else f"数值（单位：{unit_zh}）"
            dv.error = f"请输入{rng}的{what}；不要输入文字或单位。无数据请留空。"
            dv.promptTitle = "填报提示"
            dv.prompt = f"请输入{rng}的{what}。"
            dv.showInputMessage = True
            validations[key] = dv
            ws.add_data_validation(dv)
        return validations[key]

    towns = list(town_codes())
    r = 3
    for ind, crow in mine.iterrows():
        dis = _disagg(crow)
        areas = [DISTRICT] + (towns if "area" in dis else [])
        sexes = ["F", "M", "T"] if "sex" in dis else ["T"]
        unit = _cat_get(crow, "unit")
        unit_zh = str(units.at[unit, "name_zh"]) if unit in units.index else str(unit)
        symbol = str(units.at[unit, "symbol"]) if unit in units.index and pd.notna(units.at[unit, "symbol"]) else ""
        lo, hi = _bounds(crow)
        lo = lo if math.isfinite(lo) else -1e15
        target_text = catalog_mod.format_target(crow, lang="zh", unit_table=units)
        num_zh, den_zh = _cat_get(crow, "numerator_zh"), _cat_get(crow, "denominator_zh")
        has_counts = bool(num_zh and den_zh)
        for area in areas:
            for sex in sexes:
                row = {"indicator": ind, "year": int(year), "area": area, "sex": sex,
                       "name_zh": _cat_get(crow, "name_zh", ind), "area_name": _area_name(area),
                       "sex_name": sex_label[sex]["zh"], "unit_label": f"{unit_zh}（{symbol}）" if symbol else unit_zh,
                       "target_label": target_text,
                       "bounds_label": f"{_xl(lo)}–{_xl(hi)}" if math.isfinite(hi) else f"≥ {_xl(lo)}",
                       "formula": f"{num_zh} / {den_zh}" if has_counts else "",
                       "value": None, "numerator": None, "denominator": None, "note": None}
                ws.append([row[c] for c in columns])
                for c in columns:
                    cell = ws.cell(row=r, column=pos[c])
                    editable = c in ("value", "note") or (c in ("numerator", "denominator") and has_counts)
                    cell.protection = Protection(locked=not editable)
                    if editable:
                        cell.fill = yellow
                    elif c in inputs:
                        cell.fill = grey
                dv_for("value", lo, hi, unit_zh).add(f"{letter['value']}{r}")
                if has_counts:
                    dv_for("count", 0.0, math.inf, "").add(f"{letter['numerator']}{r}:{letter['denominator']}{r}")
                r += 1
    for c in hidden:
        ws.column_dimensions[letter[c]].hidden = True
    widths = {"name_zh": 34, "area_name": 12, "sex_name": 6, "unit_label": 16, "target_label": 12,
              "bounds_label": 12, "value": 12, "numerator": 12, "denominator": 12, "formula": 40, "note": 24}
    for c, w in widths.items():
        ws.column_dimensions[letter[c]].width = w
    ws.freeze_panes = f"{letter['name_zh']}3"
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False

    lines = [
        f"从化区妇女发展规划（2021—2030年）监测数据填报表 —— {department}，{int(year)}年度",
        "",
        "填报说明：",
        f"1. 请在“{INPUT_SHEET}”工作表的黄色单元格内填写{int(year)}年度数据；灰色单元格无需填写。",
        "2. “数值”按“单位”列填写：百分比填 96.5 表示 96.5%（也可输入 96.5%），不要填 0.965。",
        "3. 有“计算口径”的指标请同时填写分子和分母（人数、例数等原始计数），系统将据此核对比率并按分母加权汇总到全区。",
        "4. 没有数据请留空，不要填 0；0 表示确实为零。如需说明请写在“备注”列。",
        "5. 全区（从化区）一行填写全区数字；各镇（街）行填写该镇（街）数字。全区数字应与各镇（街）汇总一致（按分子、分母合计）。",
        "6. 请勿增删行列、修改隐藏列或调整行的顺序，以便系统准确识别每一行（指标、地区、性别、年份）。",
        "7. 填写后保存为 .xlsx 文件报送。报送前可运行：fzanalysis validate 文件名.xlsx 自行检查。",
        "",
        f"报送单位：{department}",
        f"统计年度：{int(year)}",
        f"指标个数：{len(mine)}；填报行数：{r - 3}",
        f"模板版本：{TEMPLATE_VERSION}",
    ]
    for line in lines:
        ins.append([line])
    ins["A1"].font = Font(bold=True, size=14)
    ins.column_dimensions["A"].width = 110
    wb.active = wb.sheetnames.index(INPUT_SHEET)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def _xl(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else ""


# =========================================================================== ingest
@dataclass
class IngestResult:
    """What :func:`ingest` did.

    Attributes
    ----------
    panel
        The consolidated panel after the run (validated).
    problems
        Every finding of every file.
    log
        One row per file handled in this run: ``path, sha256, ingested_at,
        status, rows_read, rows_blank, rows_rejected, rows_new, rows_revised,
        rows_unchanged``.
    revisions
        One row per key whose value changed: ``indicator, year, area, sex,
        old_value, new_value, old_source, new_source, path, sha256, revised_at``.
    rejected
        The rejected rows (``--keep-valid``) or files: ``path, sheet, row, reason``.
    changed
        Whether anything was written.
    """

    panel: pd.DataFrame
    problems: list[Problem]
    log: pd.DataFrame
    revisions: pd.DataFrame
    rejected: pd.DataFrame
    changed: bool = False
    written: list[Path] = field(default_factory=list)

    @property
    def has_error(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


LOG_COLUMNS = ["path", "sha256", "ingested_at", "status", "rows_read", "rows_blank", "rows_rejected",
               "rows_new", "rows_revised", "rows_unchanged"]
REVISION_COLUMNS = ["indicator", "year", "area", "sex", "old_value", "new_value", "old_source",
                    "new_source", "path", "sha256", "revised_at"]
REJECTED_COLUMNS = ["path", "sheet", "row", "reason"]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return str(path)


def _read_csv_or_empty(path: Path, columns: list[str]) -> pd.DataFrame:
    if path.is_file():
        return pd.read_csv(path, dtype={"area": str, "sha256": str, "path": str}, keep_default_na=False,
                           na_values=[""])
    return pd.DataFrame(columns=columns)


def ingest(paths: str | Path | Sequence[str | Path], *, out_dir: str | Path | None = None,
           keep_valid: bool = False, catalog: pd.DataFrame | None = None,
           now: datetime | None = None) -> IngestResult:
    """Merge submissions into the consolidated panel in ``out_dir``.

    Files are handled in the order given; for each:

    1. its SHA-256 is computed; a file whose hash is already in
       ``ingest_log.csv`` is skipped (re-ingesting changes nothing);
    2. it is read and checked as by :func:`validate` (jump warnings against
       the current panel);
    3. with any error it is rejected whole, unless ``keep_valid``: then rows
       without an error go in and the others are listed in
       ``rejected_rows.csv``; a file-level error (unreadable, missing column)
       always rejects the file;
    4. each record is merged by key (indicator, year, area, sex): a new key is
       added; an existing key with a different value is replaced and the
       change written to ``revisions.csv`` (old and new value and source); an
       equal value leaves the panel row as it is.

    Writes ``panel.parquet``, ``panel.csv``, ``ingest_log.csv``,
    ``revisions.csv`` and ``rejected_rows.csv`` only when something changed.
    Raw files are opened read-only and never modified.

    Parameters
    ----------
    paths
        Files to ingest, in submission order (later supersedes earlier).
    out_dir
        Output folder (default ``data/processed`` under :func:`fzanalysis.paths.data_dir`).
    keep_valid
        Ingest the valid rows of a partly bad file.
    catalog
        Indicator catalogue (default :func:`fzanalysis.catalog.load`).
    now
        Timestamp written to the logs (default: the current UTC time).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    cat = _catalog(catalog)
    out = Path(out_dir) if out_dir is not None else data_path("processed")
    stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    panel_path = out / "panel.parquet"
    panel = load_panel(panel_path) if panel_path.is_file() else load_panel(
        pd.DataFrame(columns=["indicator", "year", "value"]))
    log = _read_csv_or_empty(out / "ingest_log.csv", LOG_COLUMNS)
    revisions = _read_csv_or_empty(out / "revisions.csv", REVISION_COLUMNS)
    rejected_all = _read_csv_or_empty(out / "rejected_rows.csv", REJECTED_COLUMNS)
    seen = set(log["sha256"].astype(str)) if len(log) else set()

    problems: list[Problem] = []
    new_log: list[dict[str, Any]] = []
    new_revs: list[dict[str, Any]] = []
    new_rejected: list[dict[str, Any]] = []
    changed = False
    for raw_path in paths:
        path = Path(raw_path)
        shown = str(raw_path)
        try:
            sha = _sha256(path)
        except OSError:
            sha = None
        if sha is not None and sha in seen:
            new_log.append({"path": _display_path(path), "sha256": sha, "ingested_at": stamp,
                            "status": "unchanged", "rows_read": 0, "rows_blank": 0, "rows_rejected": 0,
                            "rows_new": 0, "rows_revised": 0, "rows_unchanged": 0})
            continue
        [sub] = _check_files([path], cat, panel)
        problems += sub.problems
        rec = sub.records
        file_errors = sub.file_errors()
        bad_rows = sub.error_rows()
        if sub.has_error and (not keep_valid or file_errors):
            reason = "; ".join(str(p) for p in (file_errors or [q for q in sub.problems if q.severity == "error"])[:3])
            new_rejected.append({"path": shown, "sheet": "", "row": "", "reason": f"file rejected: {reason}"})
            new_log.append({"path": _display_path(path), "sha256": sha or "", "ingested_at": stamp,
                            "status": "rejected", "rows_read": sub.rows_read, "rows_blank": sub.rows_blank,
                            "rows_rejected": sub.rows_read - sub.rows_blank, "rows_new": 0,
                            "rows_revised": 0, "rows_unchanged": 0})
            continue
        if bad_rows:
            is_bad = [(s or None, int(r)) in bad_rows for s, r in zip(rec["sheet"], rec["row"])]
            # rows with an error but no parsed record (never happens) are still listed from problems
            for (sheet, row) in sorted(bad_rows, key=lambda x: (x[0] or "", x[1])):
                reasons = [q.message for q in sub.problems if q.severity == "error"
                           and (q.sheet, q.row) == (sheet, row)]
                new_rejected.append({"path": shown, "sheet": sheet or "", "row": row,
                                     "reason": "; ".join(reasons)})
            good = rec[~np.array(is_bad, dtype=bool)]
        else:
            good = rec
        good = good.drop_duplicates(KEY, keep="last")
        incoming = load_panel(good[list(PANEL_COLUMNS)], source=shown)
        cur = panel[KEY + ["value", "numerator", "denominator", "source"]]
        m = incoming.merge(cur, on=KEY, how="left", suffixes=("", "_old"), indicator="_m")
        known = (m["_m"] == "both").to_numpy()
        same = known & _eq(m["value"], m["value_old"]) & _eq(m["numerator"], m["numerator_old"]) \
            & _eq(m["denominator"], m["denominator_old"])
        revised = known & ~same
        n_new, n_rev, n_same = int((~known).sum()), int(revised.sum()), int(same.sum())
        for _, r in m[revised].iterrows():
            new_revs.append({"indicator": r["indicator"], "year": int(r["year"]), "area": r["area"],
                             "sex": r["sex"], "old_value": r["value_old"], "new_value": r["value"],
                             "old_source": r["source_old"], "new_source": r["source"],
                             "path": _display_path(path), "sha256": sha, "revised_at": stamp})
        if n_new or n_rev:
            take = incoming[~same]
            keep = panel.merge(take[KEY], on=KEY, how="left", indicator="_m")["_m"].eq("left_only").to_numpy()
            panel = load_panel(pd.concat([panel[keep], take], ignore_index=True), source="merged panel")
        changed = True
        seen.add(sha)
        new_log.append({"path": _display_path(path), "sha256": sha, "ingested_at": stamp,
                        "status": "partial" if bad_rows else "ingested", "rows_read": sub.rows_read,
                        "rows_blank": sub.rows_blank, "rows_rejected": len(bad_rows), "rows_new": n_new,
                        "rows_revised": n_rev, "rows_unchanged": n_same})
    log_run = pd.DataFrame(new_log, columns=LOG_COLUMNS)
    revs_run = pd.DataFrame(new_revs, columns=REVISION_COLUMNS)
    rej_run = pd.DataFrame(new_rejected, columns=REJECTED_COLUMNS)
    written: list[Path] = []
    if changed:
        out.mkdir(parents=True, exist_ok=True)
        panel.to_parquet(panel_path, index=False)
        write_panel_csv(panel, out / "panel.csv")
        kept = log_run[log_run["status"].isin(["ingested", "partial"])]
        _append_csv(out / "ingest_log.csv", log, kept)
        _append_csv(out / "revisions.csv", revisions, revs_run)
        kept_rej = rej_run[rej_run["path"].isin(
            [str(p) for p, st in zip(paths, log_run["status"]) if st == "partial"])]
        _append_csv(out / "rejected_rows.csv", rejected_all, kept_rej)
        written = [panel_path, out / "panel.csv", out / "ingest_log.csv", out / "revisions.csv",
                   out / "rejected_rows.csv"]
    return IngestResult(panel, problems, log_run, revs_run, rej_run, changed, written)


def _eq(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality treating two missing values as equal."""
    return ((a == b).fillna(False) | (a.isna() & b.isna())).to_numpy(bool)


def rebuild(*, out_dir: str | Path | None = None, catalog: pd.DataFrame | None = None,
            now: datetime | None = None) -> IngestResult:
    """Rebuild the panel from the raw files listed in ``ingest_log.csv``, in their order.

    Every listed file must still exist with the same SHA-256 (raw files are never modified;
    a changed or missing file is an error, nothing is rebuilt).  The old outputs are moved to
    ``out_dir/previous/`` and the files ingested again, each with ``keep_valid`` as the first
    time (status ``partial``).  Paths in the log are relative to the repository or absolute.

    Raises
    ------
    FileNotFoundError
        No ingest log in ``out_dir``.
    ValueError
        A logged file is missing or its content changed (names every such file).
    """
    out = Path(out_dir) if out_dir is not None else data_path("processed")
    log_path = out / "ingest_log.csv"
    if not log_path.is_file():
        raise FileNotFoundError(f"{log_path}: no ingest log to rebuild from")
    log = pd.read_csv(log_path, dtype=str, keep_default_na=False)
    bad = []
    files = []
    for i, r in enumerate(log.itertuples(), start=2):
        path = Path(r.path)
        path = path if path.is_absolute() else REPO_DIR / path
        if not path.is_file():
            bad.append(f"{log_path}:{i}: {r.path}: file missing")
        elif _sha256(path) != r.sha256:
            bad.append(f"{log_path}:{i}: {r.path}: content changed (sha256 differs from the log)")
        files.append((path, r.status == "partial"))
    if bad:
        raise ValueError("cannot rebuild the panel:\n  " + "\n  ".join(bad))
    prev = out / "previous"
    prev.mkdir(exist_ok=True)
    for name in ("panel.parquet", "panel.csv", "ingest_log.csv", "revisions.csv", "rejected_rows.csv"):
        if (out / name).exists():
            (out / name).replace(prev / name)
    result = None
    problems: list[Problem] = []
    for path, keep in files:
        result = ingest([path], out_dir=out, keep_valid=keep, catalog=catalog, now=now)
        problems += result.problems
    assert result is not None
    result.problems = problems
    return result


def _append_csv(path: Path, old: pd.DataFrame, new: pd.DataFrame) -> None:
    both = new if old.empty else pd.concat([old, new], ignore_index=True)
    both.to_csv(path, index=False, lineterminator="\n")


# =========================================================================== aggregation
def aggregate_towns(panel: pd.DataFrame, catalog: pd.DataFrame | None = None, *,
                    require_all_towns: bool = True) -> pd.DataFrame:
    r"""Aggregate town rows to district rows, weighted by denominators.

    For each indicator x year x sex with town rows:

    * rates built from counts (units with a ``scale`` in ``data/units.csv``:
      percent, per 100 000, ratio): :math:`\hat v = s \cdot \sum_i n_i / \sum_i d_i`
      (sum of numerators over sum of denominators, i.e. the
      denominator-weighted mean of the town rates
      :math:`\sum_i d_i v_i / \sum_i d_i`); every town row must carry both
      numerator and denominator, otherwise the group is not aggregated --
      never a plain mean of rates;
    * counts (units listed under ``aggregation_method.sum.units`` in
      ``data/labels/data.yaml``): :math:`\hat v = \sum_i v_i`;
    * any other unit (years, money, minutes) is not aggregated.

    Parameters
    ----------
    panel
        A panel (:func:`load_panel` is applied).
    catalog
        Indicator catalogue; only ``id`` and ``unit`` are used.
    require_all_towns
        Aggregate a group only when every town of the gazetteer is present
        (default); with False, partial groups are aggregated and ``n_towns``
        says how many towns contributed.

    Returns
    -------
    DataFrame
        District rows (``area`` = ``"440117"``) in panel columns plus
        ``n_towns`` and ``method`` (``sum`` or ``ratio_of_sums``); ``source``
        says ``aggregated from N towns``; ``synthetic`` is True when any town
        row was.  Groups not aggregated are listed in
        ``result.attrs["not_aggregated"]`` (indicator, year, sex, reason).
    """
    cat = _catalog(catalog)
    p = load_panel(panel)
    towns = set(town_codes())
    tp = p[p["area"].isin(towns)]
    rows, skipped = [], []
    sum_units = _sum_units()
    for (ind, year, sex), g in tp.groupby(["indicator", "year", "sex"], sort=True):
        unit = _cat_get(cat.loc[ind], "unit") if ind in cat.index else None
        scale = _unit_scale(unit)
        if require_all_towns and set(g["area"]) != towns:
            skipped.append((ind, year, sex, f"only {g['area'].nunique()} of {len(towns)} towns"))
            continue
        base = {"indicator": ind, "year": int(year), "area": DISTRICT, "sex": sex,
                "source": f"aggregated from {len(g)} towns", "note": pd.NA,
                "synthetic": bool(g["synthetic"].any()), "n_towns": len(g)}
        if scale is not None:
            if g["numerator"].isna().any() or g["denominator"].isna().any():
                skipped.append((ind, year, sex, "a town row lacks numerator or denominator"))
                continue
            n, d = float(g["numerator"].sum()), float(g["denominator"].sum())
            if d <= 0:
                skipped.append((ind, year, sex, "sum of denominators is 0"))
                continue
            rows.append({**base, "value": scale * n / d, "numerator": n, "denominator": d,
                         "method": "ratio_of_sums"})
        elif unit in sum_units:
            rows.append({**base, "value": float(g["value"].sum()), "numerator": np.nan,
                         "denominator": np.nan, "method": "sum"})
        else:
            skipped.append((ind, year, sex, f"unit {unit} is not additive and has no numerator/denominator"))
    res = pd.DataFrame(rows, columns=[*PANEL_COLUMNS, "n_towns", "method"])
    res = res.astype({"year": "int64", "value": "float64", "numerator": "float64", "denominator": "float64",
                      "synthetic": bool, "n_towns": "int64", "indicator": "str", "area": "str", "sex": "str",
                      "source": "str", "note": "str", "method": "str"})
    res.attrs["not_aggregated"] = pd.DataFrame(skipped, columns=["indicator", "year", "sex", "reason"])
    return res


def check_district_consistency(panel: pd.DataFrame, catalog: pd.DataFrame | None = None, *,
                               rtol: float = 0.005, atol: float = 0.05) -> pd.DataFrame:
    r"""Compare submitted district figures with the figure aggregated from their towns.

    A district row is *consistent* when
    :math:`|v_\text{district} - \hat v_\text{towns}| \le \max(\text{atol}, \text{rtol}\cdot|\hat v|)`,
    where :math:`\hat v` is :func:`aggregate_towns` (complete groups only).
    ``atol`` = 0.05 allows figures rounded to one decimal; for counts the
    tolerance is 0 (they must add up exactly).

    Returns
    -------
    DataFrame
        ``indicator, year, sex, submitted, from_towns, difference, tolerance,
        n_towns, method, consistent`` for every district row that has a
        complete set of towns to compare with.
    """
    p = load_panel(panel)
    agg = aggregate_towns(p, catalog)
    dist = p[p["area"] == DISTRICT][["indicator", "year", "sex", "value"]]
    m = dist.merge(agg[["indicator", "year", "sex", "value", "n_towns", "method"]],
                   on=["indicator", "year", "sex"], suffixes=("_district", "_towns"))
    m = m.rename(columns={"value_district": "submitted", "value_towns": "from_towns"})
    m["difference"] = m["submitted"] - m["from_towns"]
    m["tolerance"] = np.where(m["method"] == "sum", 0.0,
                              np.maximum(atol, rtol * m["from_towns"].abs()))
    m["consistent"] = m["difference"].abs() <= m["tolerance"] + 1e-9
    return m[["indicator", "year", "sex", "submitted", "from_towns", "difference", "tolerance",
              "n_towns", "method", "consistent"]].reset_index(drop=True)


# =========================================================================== CLI
def _print_problems(problems: Iterable[Problem], stream: Any = None) -> None:
    stream = stream or sys.stdout
    for p in problems:
        print(str(p), file=stream)


def _cmd_validate(ns: argparse.Namespace) -> int:
    history = None
    hist_path = Path(ns.history) if ns.history else data_path("processed", "panel.parquet")
    if ns.history and not hist_path.is_file():
        print(f"fzanalysis validate: --history {hist_path}: file not found", file=sys.stderr)
        return 2
    if hist_path.is_file() and not ns.no_history:
        try:
            history = load_panel(hist_path)
        except PanelError as exc:
            print(f"{hist_path}:-:-:-: warning: history panel not used: {exc}", file=sys.stderr)
    problems = validate(ns.files, history=history)
    _print_problems(problems)
    n_err = sum(p.severity == "error" for p in problems)
    n_warn = len(problems) - n_err
    print(f"{len(ns.files)} file(s): {n_err} error(s), {n_warn} warning(s)", file=sys.stderr)
    return 1 if n_err else 0


def _cmd_template(ns: argparse.Namespace) -> int:
    try:
        path = template(ns.department, ns.year, ns.output)
    except ValueError as exc:
        print(f"fzanalysis template: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _cmd_ingest(ns: argparse.Namespace) -> int:
    if ns.rebuild:
        if ns.files:
            print("fzanalysis ingest: --rebuild takes no files (it re-reads those in the ingest log)",
                  file=sys.stderr)
            return 2
        try:
            res = rebuild(out_dir=ns.out_dir)
        except (FileNotFoundError, ValueError) as exc:
            print(f"fzanalysis ingest --rebuild: {exc}", file=sys.stderr)
            return 1
    elif not ns.files:
        print("fzanalysis ingest: give the files to ingest (or --rebuild)", file=sys.stderr)
        return 2
    else:
        res = ingest(ns.files, out_dir=ns.out_dir, keep_valid=ns.keep_valid)
    _print_problems(res.problems)
    for _, r in res.rejected.iterrows():
        where = f"{r['path']}:{r['sheet'] or '-'}:{r['row'] or '-'}"
        print(f"rejected {where}: {r['reason']}", file=sys.stderr)
    for _, r in res.log.iterrows():
        print(f"{r['path']}: {r['status']} (read {r['rows_read']}, blank {r['rows_blank']}, "
              f"rejected {r['rows_rejected']}, new {r['rows_new']}, revised {r['rows_revised']}, "
              f"unchanged {r['rows_unchanged']})", file=sys.stderr)
    if res.written:
        print(f"panel: {len(res.panel)} rows -> {res.written[0].parent}", file=sys.stderr)
    return 1 if (res.log["status"] == "rejected").any() or (res.has_error and not ns.keep_valid) else 0


def register_cli(subparsers: Any) -> None:
    """Add the ``template``, ``ingest`` and ``validate`` sub-commands."""
    p = subparsers.add_parser("template", help="write an Excel submission template for one member unit",
                              description="Write an Excel workbook a member unit fills in (填报模板).")
    p.add_argument("--department", required=True, help="member unit as in the catalogue, e.g. 卫健局")
    p.add_argument("--year", required=True, type=int, help="reporting year")
    p.add_argument("-o", "--output", required=True, help="output .xlsx path")
    p.set_defaults(func=_cmd_template)

    p = subparsers.add_parser("ingest", help="merge submissions into data/processed/ (panel.parquet, panel.csv)",
                              description="Read filled templates and tidy CSV files; merge into the panel.")
    p.add_argument("files", nargs="*", help="submission files (.xlsx, .csv), in submission order")
    p.add_argument("--keep-valid", action="store_true",
                   help="ingest the valid rows of a partly bad file and list the rejected rows "
                        "(exit 0; without it a file with any error is rejected whole and the exit code is 1)")
    p.add_argument("--rebuild", action="store_true",
                   help="rebuild the panel from the files in the ingest log (raw files must be unchanged)")
    p.add_argument("--out-dir", default=None, help="output folder (default data/processed)")
    p.set_defaults(func=_cmd_ingest)

    p = subparsers.add_parser("validate", help="check submission files without writing",
                              description="Print every problem as file:sheet:row:column: message; "
                                          "exit 1 on any error.")
    p.add_argument("files", nargs="+", help="submission files (.xlsx, .csv)")
    p.add_argument("--history", default=None,
                   help="panel with earlier figures for the jump check (default data/processed/panel.parquet)")
    p.add_argument("--no-history", action="store_true", help="check the files on their own (no earlier panel)")
    p.set_defaults(func=_cmd_validate)
