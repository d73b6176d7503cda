"""Read a written report back and check that every file says the same thing: one number per fact.

``python -m fzanalysis.report.crosscheck reports/2024`` reads ``status.csv`` (the judgement
table, one row per target) and checks, target by target, what the other files of the folder say:

* ``status.xlsx`` (sheet 状态): the same targets in the same order; name, sex, status, category,
  verdict, warnings and the probability in words as the report writes them; the value equal to
  the CSV's and shown with the unit's digits (a published figure with its own); the probability cell the number its words use;
* the Word report: the 达标率 sentence, the domain table's counts, one finding per target with a
  value (the same sentence the narrative writes from the CSV row), the appendix (value, target,
  status, verdict);
* ``index.html``: the 达标率 sentence and the headline row of every target (value, target,
  status, category, verdict, projection, probability, warnings);
* every page (HTML text, Word, Excel): no ``nan``, ``None``, ``inf``, ``NaT``, ``<NA>``.

It reads the folder in its report's plan (``provenance.json``: 纲要/全国 for the national outline)
and expects the appendix's values dated where they are older than the assessed year
(:func:`fzanalysis.report.tables.value_of_year`).  It prints one line per disagreement and exits 1
if there is any.  The tests run it on the
default suite's end-to-end report.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from fzanalysis import labels, narrative, plan
from fzanalysis.report import excel, tables

__all__ = ["crosscheck", "main"]

#: Words that must never reach a reader (a missing number printed by Python or pandas).
_LEAKS = re.compile(r"(?<![A-Za-z])(nan|NaN|None|inf|NaT|<NA>)(?![A-Za-z])")


class _Text(HTMLParser):
    """Visible text of a page, and the cells of every table row."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.rows: list[list[str]] = []
        self._skip = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.parts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _page(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text("utf-8"))
    return parser


def _read_status(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "status.csv", dtype={"area": str, "reference_area": str, "pooled_years": str,
                                                     "warnings": str, "status_note": str, "clause": str},
                       keep_default_na=True, encoding="utf-8-sig").fillna({"warnings": "", "status_note": ""})


def _docx_text(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    from docx import Document

    doc = Document(str(path))
    paras = [p.text for p in doc.paragraphs]
    tabs = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    return paras, tabs


def _expected_row(rec: dict[str, Any], lang: labels.Lang, report_year: int | None = None) -> dict[str, str]:
    """What every view writes for one target (:func:`tables.target_words`, the one owner)."""
    return tables.target_words(rec, lang, report_year=report_year)


def _check_excel(path: Path, status: pd.DataFrame, lang: labels.Lang) -> list[str]:
    from openpyxl import load_workbook

    out: list[str] = []
    wb = load_workbook(path)
    ws = wb[labels.label("xlsx_sheet", "status", lang)]
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    codes = ("name", "sex", "status", "category", "verdict", "target", "probability_words", "warnings", "value",
             "probability")
    missing = [labels.label("xlsx_column", c, lang) for c in codes if labels.label("xlsx_column", c, lang) not in col]
    if missing:
        return [f"{path.name}: the status sheet lacks the column(s) {missing}"]

    def cell(r: int, code: str) -> Any:
        return ws.cell(row=r, column=col[labels.label("xlsx_column", code, lang)])

    if ws.max_row - 1 != len(status):
        out.append(f"{path.name}: {ws.max_row - 1} rows on the status sheet, status.csv has {len(status)}")
    for r, rec in enumerate(status.to_dict("records"), start=2):
        exp = _expected_row(rec, lang)
        where = f"{path.name}: row {r} ({rec['indicator']})"
        for code, key in (("name", "name"), ("sex", "sex"), ("status", "status"), ("category", "category"),
                          ("verdict", "verdict"), ("target", "target"), ("probability_words", "probability"),
                          ("warnings", "warnings")):
            shown = cell(r, code).value or ""
            if str(shown) != exp[key]:
                out.append(f"{where}: {code} {shown!r}, expected {exp[key]!r}")
        v = cell(r, "value")
        if tables._isna(rec["value"]) != (v.value is None) or (
                v.value is not None and abs(float(v.value) - float(rec["value"])) > 1e-9):
            out.append(f"{where}: value {v.value!r}, status.csv {rec['value']!r}")
        # the workbook's own rule: the unit's digits, a published (real) figure with its own
        want_fmt = excel.number_format(rec["unit"], rec["value"], published=labels.is_published(rec.get("synthetic")))
        if v.number_format != want_fmt:
            out.append(f"{where}: value shown as {v.number_format!r}, expected {want_fmt!r}")
        p = cell(r, "probability")
        want, fmt = excel.probability_cell(rec["probability"])
        if (p.value is None) != (want is None) or (want is not None and abs(float(p.value) - want) > 1e-9) \
                or (want is not None and p.number_format != fmt):
            out.append(f"{where}: probability {p.value!r} ({p.number_format}), expected {want!r} ({fmt})")
    for sheet in wb.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str) and _LEAKS.search(v) and sheet.title != labels.label("xlsx_sheet", "provenance",
                                                                                           lang):
                    out.append(f"{path.name}: sheet {sheet.title}: {v!r}")
                elif isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
                    out.append(f"{path.name}: sheet {sheet.title}: a cell holds {v!r}")
    return out


def _check_word(path: Path, status: pd.DataFrame, lang: labels.Lang, level: float,
                report_year: int | None) -> list[str]:
    out: list[str] = []
    paras, tabs = _docx_text(path)
    text = "\n".join(paras)
    sentence = tables.attainment_sentence(status, lang=lang)
    if sentence not in text:
        out.append(f"{path.name}: the 达标率 sentence differs from status.csv's ({sentence})")
    # the domain table: counts per domain in the plan's order
    by_domain = {labels.domain_label(d, lang): tables.attainment_counts(g)
                 for d, g in status.groupby("domain", sort=False)}
    for row in tabs[0][1:] if tabs else []:
        c = by_domain.get(row[0])
        if c is None:
            out.append(f"{path.name}: table 1 names a domain status.csv lacks: {row[0]!r}")
        elif [int(x) for x in row[1:4]] != [c["n"], c["met"], c["not_met"]]:
            out.append(f"{path.name}: table 1 {row[0]}: {row[1:4]}, status.csv {c['n']}/{c['met']}/{c['not_met']}")
    # one finding per target with a value, the narrative's sentence from the same row
    for rec in status[status["value"].notna()].to_dict("records"):
        finding = narrative.finding(rec, lang=lang, level=level)
        if finding not in text:
            out.append(f"{path.name}: no finding for {rec['indicator']} as status.csv gives it: {finding}")
    # the appendix: every target with its value, target, status and verdict
    appendix = tabs[-1] if tabs else []
    if len(appendix) - 1 != len(status):
        out.append(f"{path.name}: the appendix has {len(appendix) - 1} rows, status.csv {len(status)}")
    for row, rec in zip(appendix[1:], status.to_dict("records"), strict=False):
        exp = _expected_row(rec, lang, report_year)  # older values say their year
        if not row[2].startswith(exp["name"]) or row[3:] != [exp["target"], exp["value"], exp["status"],
                                                              exp["verdict"]]:
            out.append(f"{path.name}: appendix row {row[0]} {row[2:]} differs from status.csv "
                       f"({exp['name']}, {exp['target']}, {exp['value']}, {exp['status']}, {exp['verdict']})")
    for p in paras + [c for t in tabs for r in t for c in r]:
        if _LEAKS.search(p):
            out.append(f"{path.name}: {p[:80]!r}")
    return out


def _check_index(path: Path, status: pd.DataFrame, lang: labels.Lang, report_year: int | None) -> list[str]:
    out: list[str] = []
    page = _page(path)
    if tables.attainment_sentence(status, lang=lang) not in "".join(page.parts):
        out.append(f"{path.name}: the 达标率 sentence differs from status.csv's")
    rows = [r for r in page.rows if len(r) == 10 and r[0] != labels.label("report", "col_indicator", lang)]
    if len(rows) != len(status):
        out.append(f"{path.name}: {len(rows)} headline rows, status.csv has {len(status)}")
    for row, rec in zip(rows, status.to_dict("records"), strict=False):
        exp = _expected_row(rec, lang, report_year)
        want = [exp["name"], exp["sex"], exp["value"], exp["target"], exp["status"],
                exp["category"], exp["verdict"], exp["projection"], exp["probability"], exp["warnings"]]
        if row != want:
            diff = [f"{a!r} ≠ {b!r}" for a, b in zip(row, want, strict=True) if a != b]
            out.append(f"{path.name}: {rec['indicator']}: {'; '.join(diff)}")
    return out


def crosscheck(folder: str | Path) -> list[str]:
    """Disagreements between ``status.csv`` and the other files of a report folder (module docstring).

    Parameters
    ----------
    folder : path
        A report folder written by ``fzanalysis report``.

    Returns
    -------
    list of str
        One line per disagreement; empty when every file says the same thing.
    """
    folder = Path(folder)
    prov = json.loads((folder / "provenance.json").read_text("utf-8"))
    with plan.use(prov.get("report", {}).get("plan") or plan.DEFAULT):  # the report's words: 规划/纲要, 全区/全国
        return _crosscheck(folder, prov)


def _crosscheck(folder: Path, prov: dict[str, Any]) -> list[str]:
    lang: labels.Lang = prov.get("report", {}).get("lang", "zh")
    report_year = prov.get("assessed_year")
    status = _read_status(folder)
    out: list[str] = []
    if status["indicator"].duplicated().any():
        out.append("status.csv: more than one row for " + ", ".join(status.loc[status["indicator"].duplicated(),
                                                                                 "indicator"]))
    if (folder / "status.xlsx").is_file():
        out += _check_excel(folder / "status.xlsx", status, lang)
    level = float(next((nb.get("parameters", {}).get("level") for nb in prov.get("notebooks", [])
                        if nb.get("parameters", {}).get("level")), 0.8))
    for docx_path in sorted(folder.glob("*-report.docx")):
        out += _check_word(docx_path, status, lang, level, report_year)
    if (folder / "index.html").is_file():
        out += _check_index(folder / "index.html", status, lang, report_year)
    for page_path in sorted(folder.glob("*.html")):
        text = " ".join(_page(page_path).parts)
        for m in _LEAKS.finditer(text):
            out.append(f"{page_path.name}: {text[max(0, m.start() - 40):m.end() + 20]!r}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fzanalysis.report.crosscheck FOLDER...``: print disagreements, exit 1 if any."""
    folders = list(sys.argv[1:] if argv is None else argv)
    if not folders:
        print("usage: python -m fzanalysis.report.crosscheck REPORT_FOLDER...", file=sys.stderr)
        return 2
    bad = 0
    for folder in folders:
        problems = crosscheck(folder)
        for line in problems:
            print(f"{folder}: {line}")
        bad += len(problems)
        if not problems:
            print(f"{folder}: status.csv, status.xlsx, the Word report and index.html agree")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
