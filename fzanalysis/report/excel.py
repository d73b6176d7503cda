"""``status.xlsx`` a civil servant can use at once, and CSV files Excel opens correctly.

The workbook is built from the judgement table (:func:`fzanalysis.evaluate` (``.targets``)):

* sheet 状态 / Status: one row per target, Chinese headers, domains in the plan's order, 女/男/合计
  and 是/否, numbers as numbers with formats, status colours by conditional formatting, frozen
  header, filter, column widths, A4 landscape with the header row repeated on every page;
* sheet 代码 / Codes: the codes behind each row (indicator, domain, status …) for analysts;
* sheet 长表 / Long: one row per indicator × area × sex, ready for a pivot table; its 用途 / Role
  column marks the judged figure, the town breakdowns and the context rows of another sex (no
  status or verdict: the target is not about them);
* sheet 来源 / Provenance: where the numbers came from.

Every CSV the report writes has a UTF-8 byte-order mark (:func:`write_csv`), so Excel on Chinese
Windows does not garble it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fzanalysis import codes, labels, trend
from fzanalysis.evaluation import of_judged_sex
from fzanalysis.labels import Lang
from fzanalysis.report import tables
from fzanalysis.report.html import provenance_rows  # the one owner of shown provenance

__all__ = [
    "STATUS_FILLS",
    "long_table",
    "number_format",
    "probability_cell",
    "status_sheet",
    "write_csv",
    "write_status_csv",
    "write_workbook",
]

#: Fill colour per status (the same colours as the HTML pages).
STATUS_FILLS: dict[str, str] = {"met": "C8E6C9", "not_met": "FFCDD2", "cannot_judge": "FFF9C4",
                                "no_data": "EEEEEE", "not_applicable": "EEEEEE"}
_PERCENT_UNITS = {"percent", "gap_percent"}
#: Largest column width (characters; a CJK character is two); ``MAX_WIDTH_WIDE`` for indicator names.
MAX_WIDTH, MAX_WIDTH_WIDE = 20, 30
#: Height of one line of text (points) for rows whose wrapped cells need several lines.
ROW_HEIGHT = 15.0


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV in UTF-8 with a byte-order mark (Excel reads Chinese correctly)."""
    path = Path(path)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _col(lang: Lang, code: str) -> str:
    return labels.label("xlsx_column", code, lang)


def _pooled(frame: pd.DataFrame, column: str) -> list[str | None]:
    """The window a figure is pooled over (``2020–2024``), None for an annual one."""
    if column not in frame.columns:
        return [None] * len(frame)
    return [None if tables._isna(y) or not str(y).strip() else str(y).strip() for y in frame[column]]


def _num(x: Any) -> Any:
    return None if tables._isna(x) else float(x)


def number_format(unit: Any, value: Any = None, *, published: bool = False) -> str:
    """The Excel number format of a value in ``unit``: the digits every page shows (``0.0``, ``0.00``, ``0``;
    a published figure with its own, :func:`fzanalysis.labels.value_decimals`)."""
    return _decimals_format(labels.value_decimals(value, unit, published=published))


def _decimals_format(decimals: int) -> str:
    return "0" if decimals == 0 else "0." + "0" * decimals


def _range_formats(frame: pd.DataFrame) -> list[str]:
    """The number format of each row's projection interval: the digits :func:`fzanalysis.labels.format_range`
    writes it with on every page."""
    return [_decimals_format(labels.range_decimals(lo, hi, u))
            for lo, hi, u in zip(frame["proj_lower"], frame["proj_upper"], frame["unit"], strict=True)]


def _figure_formats(frame: pd.DataFrame, column: str) -> list[str]:
    """:func:`number_format` of each row's ``column``: a real figure (``synthetic`` false) as published."""
    synthetic = _synthetic(frame)
    return [number_format(u, v, published=labels.is_published(s))
            for u, v, s in zip(frame["unit"], frame[column], synthetic, strict=True)]


def probability_cell(p: Any) -> tuple[float | None, str]:
    """A probability as an Excel cell: the number the words use and its format.

    The value is :func:`fzanalysis.trend.probability_percent` / 100 (0.4996 is 0.49, shown 49%,
    beside 难以; Excel's own rounding would show 50%); below 0.5 % and above 99.5 % the true value
    is kept and shown as ``<1%`` / ``>99%``.
    """
    if tables._isna(p):
        return None, "0%"
    shown = trend.probability_percent(float(p))
    if not shown.isdigit():
        return float(p), f'"{shown}%"'
    return int(shown) / 100, "0%"


_PER_UNIT = ("value", "change_1y", "baseline_value", "change_base", "projected", "proj_lower", "proj_upper")


def _synthetic(frame: pd.DataFrame) -> pd.Series:
    return frame["synthetic"] if "synthetic" in frame.columns else pd.Series(None, index=frame.index)


def _changes(judgement: pd.DataFrame, column: str, start: str) -> list[Any]:
    """A change column as its cells show it: the difference of the row's earlier figure
    (``start``) and its value as the sheet prints them (:func:`fzanalysis.labels.shown_difference`),
    so 51.4 → 52.9 is a cell of 1.5, not 1.57 shown 1.6; empty where the table has no change
    (a pooled rate). Its number format: :func:`_change_formats`."""
    if start not in judgement.columns:
        return [_num(v) for v in judgement[column]]
    return [None if tables._isna(c) else
            labels.shown_difference(a, v, u, published=labels.is_published(s))[0] if not tables._isna(a) else float(c)
            for c, a, v, u, s in zip(judgement[column], judgement[start], judgement["value"], judgement["unit"],
                                     _synthetic(judgement), strict=True)]


def _change_formats(judgement: pd.DataFrame, start: str) -> list[str]:
    """The number format of each row's change: the digits :func:`fzanalysis.labels.shown_difference`
    writes it with (the larger of its two figures')."""
    starts = judgement[start] if start in judgement.columns else judgement["value"]
    return [_decimals_format(labels.shown_difference(a, v, u, published=labels.is_published(s))[1])
            for a, v, u, s in zip(starts, judgement["value"], judgement["unit"], _synthetic(judgement), strict=True)]


def status_sheet(judgement: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """The 状态 sheet as a DataFrame: reader's headers, words for codes, numbers kept numeric.

    Returns
    -------
    DataFrame
        One row per target in the plan's order; column names from ``xlsx_column`` labels.
        ``probability`` is the judged probability as :func:`probability_cell` writes it (of
        meeting the target, or of moving in the required direction for 逐步提高/降低 targets),
        ``probability_words`` the same in words (:func:`fzanalysis.report.tables.probability_text`).
    """
    j = judgement
    recs = j.to_dict("records")
    yes, no = labels.label("report", "yes_word", lang), labels.label("report", "no_word", lang)
    out = {
        "row_no": np.arange(1, len(j) + 1),
        "domain": [labels.domain_label(d, lang) for d in j["domain"]],
        "clause": [labels.clause_label(c, lang) for c in j["clause"]],
        "name": tables.display_names(j, lang),
        # as the index writes it: 女/男, blank for a total (合计 beside 妇女生育保险参保率, a women-only
        # population, read as both sexes; the long sheet keeps 合计 to tell its rows apart)
        "sex": [tables._sex_word(s, lang) for s in j["sex"]],
        "year": [None if tables._isna(y) else int(y) for y in j["year"]],
        "value": [_num(v) for v in j["value"]],
        # a rate pooled over several years says so beside its figure (methods 1.3), as every view
        "pooled_years": _pooled(j, "pooled_years"),
        "unit": [labels.unit_label(u, lang, word=w) for u, w in zip(j["unit"], tables._words(j, lang), strict=True)],
        "target": tables._targets(j, lang),
        "status": [labels.label("status", s, lang) for s in j["status"]],
        "category": [labels.label("category", c, lang) for c in j["category"]],
        "verdict": [labels.label("verdict", v, lang) for v in j["verdict"]],
        "change_1y": _changes(j, "change_1y", "previous_value"),
        "baseline_year": [None if tables._isna(y) else int(y) for y in j["baseline_year"]],
        "baseline_value": [_num(v) for v in j["baseline_value"]],
        "baseline_pooled_years": _pooled(j, "baseline_pooled_years"),
        "change_base": _changes(j, "change_base", "baseline_value"),
        "projected": [_num(v) for v in j["projected"]],
        "proj_lower": [_num(v) for v in j["proj_lower"]],
        "proj_upper": [_num(v) for v in j["proj_upper"]],
        "probability": [probability_cell(v)[0] for v in j["probability"]],
        "probability_words": [tables.probability_text(r, lang) for r in recs],
        "warnings": [tables.warnings_label(r["warnings"], lang, comparator=r["comparator"], method=r.get("method"),
                                           category=r.get("category"))
                     for r in recs],
        "synthetic": [yes if s else no for s in j["synthetic"]],
    }
    frame = pd.DataFrame(out)
    return frame.rename(columns={c: _col(lang, c) for c in frame.columns})


def long_table(assessed: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """One row per indicator × area × sex with reader's headers: the pivot-table sheet.

    The column 用途 / Role says what each row is: the judged figure (the row of ``status.csv``),
    a town of the judged sex (a breakdown measured against the district's target), or a figure
    of another sex (context for gender gaps).  Context rows have no status or verdict: the target
    is not about them (:func:`fzanalysis.evaluation.of_judged_sex`, the one rule), so a pivot of
    the verdicts never counts, say, men's life expectancy as 已实现.  A figure pooled over several
    years has its window in 合并计算年份 / Pooled years (empty for an annual figure).
    """
    a = assessed.loc[tables.plan_order(assessed)]
    district = codes.district()
    judged_sex = of_judged_sex(a).to_numpy()
    at_district = (a["area"].astype(str) == district).to_numpy()
    role = np.where(~judged_sex, "context", np.where(at_district, "judged", "town"))
    role_words = {r: labels.label("xlsx_role", r, lang) for r in ("judged", "town", "context")}

    def words(column: str, say: Callable[[Any], Any]) -> np.ndarray:  # each distinct code looked up once
        return a[column].map({x: say(x) for x in a[column].drop_duplicates()}).to_numpy()

    frame = pd.DataFrame({
        "domain": words("domain", lambda d: labels.domain_label(d, lang)),
        "name": a[f"name_{lang}"].astype(str).to_numpy(),
        "area_name": words("area", lambda x: labels.area_label(x, lang)),
        "area_level": words("area", lambda x: labels.label(
            "xlsx_area_level", "district" if str(x) == district else "town", lang)),
        "sex": words("sex", lambda s: labels.sex_label(s, lang)),
        "year": [None if tables._isna(y) else int(y) for y in a["year"]],
        # a rate pooled over years (a town's maternal mortality, 2020–2024) says so, as on the
        # status sheet: it read as that year's own figure
        "pooled_years": _pooled(a, "pooled_years"),
        "value": [_num(v) for v in a["value"]],
        "unit": [labels.unit_label(u, lang, word=w) for u, w in zip(a["unit"], tables._words(a, lang), strict=True)],
        "role": [role_words[r] for r in role],
        "status": np.where(judged_sex, words("status", lambda s: labels.label("status", s, lang)), None),
        "verdict": np.where(judged_sex, words("verdict", lambda v: labels.label("verdict", v, lang)), None),
        "indicator": a["indicator"].astype(str).to_numpy(),
        "area": a["area"].astype(str).to_numpy(),
    })
    return frame.rename(columns={c: _col(lang, c) for c in frame.columns})


def _codes_sheet(judgement: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    cols = ["indicator", "domain", "area", "sex", "unit", "comparator", "target", "tolerance", "status",
            "category", "verdict", "warnings"]
    frame = judgement[cols].copy()
    frame.insert(0, "row_no", np.arange(1, len(frame) + 1))
    return frame


def _shown(value: Any, fmt: str | None) -> str:
    """The text Excel shows for ``value`` under number format ``fmt`` (for column widths)."""
    if tables._isna(value):
        return ""
    if fmt and fmt.startswith('"'):  # a literal format: "<1%"
        return fmt.strip('"')
    if isinstance(value, float) and fmt == "0%":
        return format(value, ".0%")
    if isinstance(value, float) and fmt and set(fmt) <= {"0", "."}:
        return format(value, f".{len(fmt.partition('.')[2])}f")
    return str(value)


def _text_width(text: str) -> int:
    """Width in Excel's character units (a CJK character counts two)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _write_frame(ws: Worksheet, frame: pd.DataFrame, formats: Mapping[str, str | Sequence[str]] | None = None, *,
                 wide: Sequence[str] = ()) -> None:
    """Header, rows, number formats, frozen header, filter and widths fitted to the shown text.

    ``formats``: a number format per column, or a sequence with one per row (values of different
    units in one column).  A column is as wide as its longest shown value, or half its heading
    (headings wrap onto two lines), within :data:`MAX_WIDTH` (``wide`` columns:
    :data:`MAX_WIDTH_WIDE`); longer text wraps.
    """
    formats = formats or {}
    ws.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        ws.append([None if tables._isna(v) else v for v in row])
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EDE7F6")
    for cell in ws[1]:
        cell.font = bold
        cell.fill = head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.freeze_panes = "A2"
    if len(frame.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    lines: dict[int, int] = {}  # row → lines its wrapped cells need
    for i, col in enumerate(frame.columns, start=1):
        given = formats.get(str(col))
        fmts: list[str | None] = ([given] * len(frame) if given is None or isinstance(given, str)
                                  else list(given))
        if given is not None:
            for (cell,), fmt in zip(ws.iter_rows(min_row=2, max_row=len(frame) + 1, min_col=i, max_col=i), fmts,
                                    strict=True):
                cell.number_format = fmt
        shown = max((_text_width(_shown(v, f)) for v, f in zip(frame[col].head(500), fmts, strict=False)),
                    default=0)
        cap = MAX_WIDTH_WIDE if col in wide else MAX_WIDTH
        width = min(max(6, shown + 2, -(-_text_width(str(col)) // 2) + 2), cap)
        ws.column_dimensions[get_column_letter(i)].width = width
        if shown + 2 > cap:  # long names and notes wrap within the column
            for r, (cell,) in enumerate(ws.iter_rows(min_row=2, max_row=len(frame) + 1, min_col=i, max_col=i),
                                        start=2):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                lines[r] = max(lines.get(r, 1), -(-_text_width(_shown(cell.value, fmts[r - 2])) // (cap - 2)))
    top = Alignment(vertical="top")
    for r, n in lines.items():  # LibreOffice and WPS keep the default height unless told
        if n > 1:
            ws.row_dimensions[r].height = ROW_HEIGHT * n
            # a tall row reads from its top line (ws[r] would measure the whole sheet for each row)
            for cell in next(ws.iter_rows(min_row=r, max_row=r, max_col=len(frame.columns))):
                if not cell.alignment.wrap_text:
                    cell.alignment = top


def _print_setup(ws: Worksheet, *, pages_wide: int = 1, title_columns: str | None = None) -> None:
    """A4 landscape, header row (and ``title_columns``) repeated, ``pages_wide`` pages across."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = pages_wide
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    if title_columns:
        ws.print_title_cols = title_columns
    ws.print_options.gridLines = True


def _status_colours(ws: Worksheet, frame: pd.DataFrame, lang: Lang) -> None:
    column = _col(lang, "status")
    if column not in frame.columns or not len(frame):
        return
    letter = get_column_letter(list(frame.columns).index(column) + 1)
    ref = f"{letter}2:{letter}{len(frame) + 1}"
    for status, colour in STATUS_FILLS.items():
        word = labels.label("status", status, lang).replace('"', '""')
        ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[f'"{word}"'],
                                                      fill=PatternFill("solid", fgColor=colour, bgColor=colour)))


def write_workbook(
    judgement: pd.DataFrame,
    path: str | Path,
    *,
    lang: Lang = "zh",
    provenance: Mapping[str, Any] | None = None,
    towns: pd.DataFrame | None = None,
) -> Path:
    """Write ``status.xlsx`` (module docstring for the sheets).

    Parameters
    ----------
    judgement : DataFrame
        :func:`fzanalysis.evaluate` (``.targets``) output.
    path : path
        The file to write.
    lang : {"zh", "en"}
    provenance : mapping, optional
        Written to the provenance sheet.
    towns : DataFrame, optional
        :func:`fzanalysis.assess` output for the long sheet (every area and sex); default: the
        judgement table's rows.

    Returns
    -------
    Path
    """
    wb = Workbook()
    ws = wb.active
    ws.title = labels.label("xlsx_sheet", "status", lang)
    frame = status_sheet(judgement, lang=lang)
    per_unit = [number_format(u) for u in judgement["unit"]]
    _write_frame(ws, frame, {_col(lang, c): per_unit for c in _PER_UNIT}
                 | {_col(lang, c): _figure_formats(judgement, c) for c in ("value", "baseline_value")}
                 | {_col(lang, c): _range_formats(judgement) for c in ("proj_lower", "proj_upper")}
                 | {_col(lang, "change_1y"): _change_formats(judgement, "previous_value"),
                    _col(lang, "change_base"): _change_formats(judgement, "baseline_value")}
                 | {_col(lang, "probability"): [probability_cell(p)[1] for p in judgement["probability"]],
                    _col(lang, "year"): "0", _col(lang, "baseline_year"): "0"},
                 wide=[_col(lang, "name"), _col(lang, "probability_words")])
    _status_colours(ws, frame, lang)
    # 23 columns: two pages across, each starting with 序号, 领域, 规划条款 and 指标
    name_letter = get_column_letter(list(frame.columns).index(_col(lang, "name")) + 1)
    _print_setup(ws, pages_wide=2, title_columns=f"A:{name_letter}")

    ws2 = wb.create_sheet(labels.label("xlsx_sheet", "codes", lang))
    _write_frame(ws2, _codes_sheet(judgement, lang), wide=["indicator"])

    ws3 = wb.create_sheet(labels.label("xlsx_sheet", "long", lang))
    rows = towns if towns is not None else judgement
    long = long_table(rows, lang=lang)
    _write_frame(ws3, long, {_col(lang, "value"): _figure_formats(rows.loc[tables.plan_order(rows)], "value"),
                             _col(lang, "year"): "0"},
                 wide=[_col(lang, "name"), _col(lang, "indicator")])
    _status_colours(ws3, long, lang)
    _print_setup(ws3)

    ws4 = wb.create_sheet(labels.label("xlsx_sheet", "provenance", lang))
    rows = provenance_rows(provenance or {}, lang, full=True)
    _write_frame(ws4, pd.DataFrame({_col(lang, "prov_key"): [k for k, _ in rows],
                                    _col(lang, "prov_value"): [v for _, v in rows]}),
                 wide=[_col(lang, "prov_value")])
    path = Path(path)
    wb.save(path)
    return path


def write_status_csv(judgement: pd.DataFrame, path: str | Path, *,
                     provenance: Mapping[str, Any] | None = None) -> Path:
    """``status.csv``: the judgement table with codes (for machines), data kind and provenance per row."""
    table = judgement.copy()
    prov = provenance or {}
    table["data_kind"] = prov.get("data_kind", "")
    table["provenance"] = (
        f"fzanalysis {prov.get('package_version', '')}; git {prov.get('git_commit', '')}; data sha256 "
        f"{', '.join(f['sha256'][:16] for f in prov.get('data_files', []))}; generated {prov.get('generated_utc', '')}"
    )
    return write_csv(table, path)
