"""Submissions: the malformed corpus, template round trip, ingest (idempotence, revisions, keep-valid)."""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from fzanalysis import codes
from fzanalysis.panel import Problem, as_panel, ingest, read_submission, rebuild, template, validate
from fzanalysis.panel import cli as panel_cli

DISTRICT = codes.district()


def load_panel(path: Path) -> pd.DataFrame:
    return as_panel(path).frame

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text("utf-8"))


def run_cli(argv: list[str]) -> int:
    """Run this module's sub-commands without importing the other modules' CLIs."""
    parser = argparse.ArgumentParser(prog="fzanalysis")
    sub = parser.add_subparsers(dest="command")
    panel_cli.register_cli(sub)
    ns = parser.parse_args(argv)
    return int(ns.func(ns))


def _field(x: object) -> str:
    return "-" if x is None or x == "" else str(x)


CORPUS_SUFFIXES = (".csv", ".xlsx", ".xls", ".tsv", ".ods")


def test_corpus_is_large_enough() -> None:
    files = [p for p in CORPUS.iterdir() if p.suffix in CORPUS_SUFFIXES]
    assert len(files) >= 80
    assert {p.name for p in files} == set(EXPECTED), "every corpus file needs an entry in expected.yaml"
    assert sum(p.stat().st_size for p in CORPUS.iterdir()) < 2 * 1024 * 1024, "keep the committed corpus small"


def test_corpus_records_match_golden_file() -> None:
    """Every corpus file is read into exactly the records of ``tests/golden/corpus_records.csv``
    (written by ``tests/corpus/golden_records.py``): keys, values, counts, provenance, cell by cell."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("golden_records", CORPUS / "golden_records.py")
    golden_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden_mod)
    golden = pd.read_csv(golden_mod.GOLDEN, dtype=str, keep_default_na=False)
    files = sorted(p for p in CORPUS.iterdir() if p.suffix in CORPUS_SUFFIXES)
    assert set(golden["name"]) <= {p.name for p in files}
    differ = []
    for path in files:
        now = golden_mod.records(path)
        then = golden[golden["name"] == path.name].reset_index(drop=True)
        if now.to_numpy().tolist() != then[list(now.columns)].to_numpy().tolist():
            differ.append(path.name)
    assert not differ, f"records differ from the golden file: {differ}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = EXPECTED[name]
    path = CORPUS / name
    batch = [path] + [CORPUS / other for other in spec.get("with", [])]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in batch}
    problems = [p for p in validate(batch) if p.file == str(path)]
    got = {(_field(p.sheet), _field(p.row), _field(p.column), p.severity): p.message for p in problems}
    for exp in spec["problems"]:
        key = (_field(exp["sheet"]), _field(exp["row"]), _field(exp["column"]), exp["severity"])
        matches = [p for p in problems if (_field(p.sheet), _field(p.row), _field(p.column), p.severity) == key]
        assert matches, f"{name}: expected {key} {exp['fragment']!r}; got {got}"
        assert any(p.code == exp["code"] and exp["fragment"] in p.message for p in matches), \
            (name, exp, [(p.code, p.message) for p in matches])
    expected_errors = {(_field(e["sheet"]), _field(e["row"]), _field(e["column"]))
                       for e in spec["problems"] if e["severity"] == "error"}
    actual_errors = {(_field(p.sheet), _field(p.row), _field(p.column)) for p in problems if p.severity == "error"}
    assert actual_errors == expected_errors, f"{name}: unexpected errors {[str(p) for p in problems]}"
    # every message says, in Chinese, what was found, what was expected and how to fix it; no
    # placeholder is left unfilled and no English word reaches the clerk
    for p in problems:
        e = p.explain("zh")
        assert e.kind == p.code and e.expected and e.fix, f"{name}: no Chinese template for {p.code!r}"
        assert "{" not in e.message and "{" not in p.message, (name, e.message, p.message)
    # no row lost or silently changed: the records read hold exactly the values stated
    if "values" in spec:
        rec = read_submission(path).records.set_index("row")["value"]
        for row, value in spec["values"].items():
            if value is None:
                assert row not in rec.index, (name, row)
            else:
                assert rec.loc[row] == pytest.approx(value), (name, row, rec.get(row))
    # the command line: same findings, `file:sheet:row:column: message`, exit code, no traceback;
    # Chinese by default, English with --lang en
    for lang in ("zh", "en"):
        code = run_cli(["validate", "--no-history", *(["--lang", "en"] if lang == "en" else []),
                        *map(str, batch)])
        out = [line for line in capsys.readouterr().out.splitlines() if line.startswith(str(path) + ":")]
        assert code == spec["exit"]
        assert len(out) == len(problems)
        for line in out:
            file_, sheet, row, column, rest = line.split(":", 4)
            assert file_ == str(path) and rest.startswith(" ")
        if lang == "zh" and problems:
            assert all(re.search(r"[\u4e00-\u9fff]", line) for line in out), out
    for p, digest in before.items():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == digest, "validate modified a raw file"


def test_problem_format() -> None:
    p = Problem("a.xlsx", "数据填报", 5, "value", "error", "out_of_range",
                (("found", 105.0), ("lo", 0.0), ("hi", 100.0), ("unit", "percent")), "K5")
    assert str(p) == "a.xlsx:数据填报:5:value: value 105 outside the allowed range 0–100 (percent) (cell K5)"
    assert p.format() == ("a.xlsx:数据填报:5:value: 数值 105 超出允许范围（单元格 K5）。应为：0–100 之间的数"
                          "（单位：%）。请：核对该数值（是否多打或少打了一位？单位是否正确？）。")
    e = p.explain("en")
    assert (e.kind, e.found, e.expected, e.cell) == ("out_of_range", "105", "a value in 0–100", "K5")
    w = Problem("a.csv", None, None, None, "warning", "all_blank", (("found", 2),))
    assert str(w) == "a.csv:-:-:-: warning: no figures: none of the 2 data rows has a value, numerator or denominator"
    assert w.format("zh").startswith("a.csv:-:-:-: 警告：没有数据：全部 2 行都没有填数值、分子或分母。")


def test_every_message_code_has_both_languages() -> None:
    """The words live in data/labels only: every code the package names has zh and en texts whose
    placeholders are the same, and every code in the data is named somewhere in the package."""
    import fzanalysis.panel as pkg
    from fzanalysis import config

    table = config.label_table()
    entries = {**table["problem"], **table["refusal"]}
    source = "\n".join(p.read_text("utf-8") for p in Path(pkg.__file__).parent.glob("*.py"))
    for code, entry in entries.items():
        assert entry.get("zh") and entry.get("en"), code
        zh = " ".join(str(x) for x in (entry["zh"], entry.get("expected", {}).get("zh", ""),
                                      entry.get("fix", {}).get("zh", "")))
        zh += " ".join(str(p["zh"]) for p in entry.get("parts", {}).values())
        assert not re.search(r"\b(expected|got|the|file|row|column|is|not)\b", re.sub(r"\{\w+\}", "", zh)), \
            (code, zh)
        names = [set(re.findall(r"\{(\w+)\}", str(entry[lang]))) for lang in ("zh", "en")]
        parts = set(entry.get("parts", {}))
        assert names[0] - parts <= names[1] | parts, (code, names)
        assert f'"{code}"' in source, f"{code}: message in data/labels/data.yaml that no code names"
    for code in re.findall(r'(?:(?<!\w)(?<!def )_problem\([^"()]*|Refusal\(|(?<!def )_damaged\([^"()]*|(?<!def )refuse\()"(\w+)"', source):
        assert code in entries, f"{code}: named in code but not in data/labels/data.yaml"


def test_unreadable_paths_do_not_raise(tmp_path: Path) -> None:
    probs = validate([tmp_path / "missing.csv", tmp_path])
    assert [p.code for p in probs] == ["file_not_found", "directory"]
    assert [p.message for p in probs] == ["file not found", "is a directory, expected a .csv or .xlsx file"]
    assert run_cli(["validate", "--no-history", str(tmp_path / "missing.csv")]) == 1


# ------------------------------------------------------------------------------ template round trip
def _fill(path: Path, out: Path) -> dict[tuple[str, int, str, str], float]:
    """Fill every input row of a template deterministically; return what was written."""
    wb = openpyxl.load_workbook(path)
    ws = wb["数据填报"]
    col = {c.value: c.column for c in ws[1]}
    rng = np.random.default_rng(7)
    written = {}
    for r in range(3, ws.max_row + 1):
        ind = ws.cell(r, col["indicator"]).value
        key = (ind, int(ws.cell(r, col["year"]).value), str(ws.cell(r, col["area"]).value),
               str(ws.cell(r, col["sex"]).value))
        formula = ws.cell(r, col["formula"]).value
        bounds = ws.cell(r, col["bounds_label"]).value
        if r % 7 == 0:
            continue  # some rows stay blank: "not reported"
        if formula and "%" in (ws.cell(r, col["unit_label"]).value or ""):
            den = int(rng.integers(200, 5000))
            num = int(rng.integers(0, den + 1))
            ws.cell(r, col["numerator"]).value = num
            ws.cell(r, col["denominator"]).value = den
            value = round(100 * num / den, 2)
        else:
            hi = 100.0 if "–" in (bounds or "") else 500.0
            # a count (数量（个）, 每年数量（条/年）) is a whole number
            value = round(float(rng.uniform(1, hi - 1)), 0 if "数量" in str(ws.cell(r, col["unit_label"]).value) else 2)
        ws.cell(r, col["value"]).value = value
        written[key] = value
    wb.save(out)
    return written


def test_template_structure(tmp_path: Path) -> None:
    out = template("卫健局", 2024, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["填报说明", "数据填报", "_meta"]
    assert wb["_meta"].sheet_state == "hidden"
    ins = "\n".join(str(c.value) for c in wb["填报说明"]["A"] if c.value)
    assert "填报说明" in ins and "卫健局" in ins and "96.5" in ins
    ws = wb["数据填报"]
    head = [c.value for c in ws[1]]
    assert head[:4] == ["indicator", "year", "area", "sex"]
    assert ws.row_dimensions[1].hidden
    for c in ("A", "B", "C", "D"):
        assert ws.column_dimensions[c].hidden
    assert ws.protection.sheet
    col = {h: i + 1 for i, h in enumerate(head)}
    from fzanalysis import catalog

    cat = catalog.load()
    mine = cat[cat["department"] == "卫健局"]
    rows = [(ws.cell(r, 1).value, ws.cell(r, 3).value, ws.cell(r, 4).value) for r in range(3, ws.max_row + 1)]
    assert {r[0] for r in rows} == set(mine["id"])
    # one row per area where disaggregated by area, F/M/T where by sex
    n_expected = sum((9 if "area" in d else 1) * (3 if "sex" in d else 1) for d in mine["disaggregation"])
    assert len(rows) == n_expected
    assert len(set(rows)) == len(rows)
    # data validation on every value cell, with the unit's bounds
    dvs = ws.data_validations.dataValidation
    value_letter = openpyxl.utils.get_column_letter(col["value"])
    covered = set()
    for dv in dvs:
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    covered.add(f"{openpyxl.utils.get_column_letter(c)}{row}")
    assert all(f"{value_letter}{r}" in covered for r in range(3, ws.max_row + 1))
    percent = [dv for dv in dvs if dv.operator == "between" and dv.formula1 == "0" and dv.formula2 == "100"]
    assert percent and percent[0].type == "decimal"
    # numerator/denominator inputs only where the catalogue names them
    r_mm = next(r for r in range(3, ws.max_row + 1) if ws.cell(r, 1).value == "health.maternal_mortality")
    assert ws.cell(r_mm, col["formula"]).value == "孕产妇死亡数 / 活产数"
    assert ws.cell(r_mm, col["numerator"]).protection.locked is False
    r_pc = next(r for r in range(3, ws.max_row + 1) if ws.cell(r, 1).value == "health.life_expectancy")
    assert ws.cell(r_pc, col["numerator"]).protection.locked is True


def _prompts(ws: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, str]:
    """The input prompt of each row's value cell, by indicator id (the last row of an id wins)."""
    head = [c.value for c in ws[1]]
    value_letter = openpyxl.utils.get_column_letter(head.index("value") + 1)
    ids = {r: ws.cell(r, 1).value for r in range(3, ws.max_row + 1)}
    out: dict[str, str] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                if openpyxl.utils.get_column_letter(rng.min_col) == value_letter:
                    out[ids[row]] = dv.prompt
    return out


def test_template_prompt_gives_the_units_example(tmp_path: Path) -> None:
    """The value cell's input prompt shows how a figure in the row's unit is typed: a percent
    like 85.5, a ratio (女男厕位比) like 1.5, not a percent-like figure; and a count and a ratio,
    both unbounded above, are each told their own unit."""
    from fzanalysis import labels

    assert labels.unit_example("percent") == "如 85.5"
    assert labels.unit_example("ratio") == "如 1.5"
    assert labels.unit_example("ratio", "en") == "e.g. 1.5"
    assert labels.unit_example("no_such_unit") == ""
    ws = openpyxl.load_workbook(template("城管局", 2024, tmp_path / "t.xlsx"))["数据填报"]
    prompts = _prompts(ws)
    ratio = prompts["environment.toilet_ratio_new"]
    assert ratio.endswith("如 1.5。") and "比值（女:男）（:1）" in ratio and "85.5" not in ratio
    ws = openpyxl.load_workbook(template("卫健局", 2024, tmp_path / "h.xlsx"))["数据填报"]
    prompts = _prompts(ws)
    assert prompts["health.hospital_delivery"].endswith("如 85.5。")
    assert prompts["health.maternal_mortality"].endswith(labels.unit_example("per_100k_live_births") + "。")
    assert "每10万活产" in prompts["health.maternal_mortality"]
    # same bounds (>= 0) as the maternal mortality, its own unit and example
    assert "每年数量（例/年）" in prompts["family.unmarried_abortions"] and "活产" not in prompts["family.unmarried_abortions"]
    assert prompts["family.unmarried_abortions"].endswith("如 12。")


def test_template_unknown_department(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="不存在局.*没有要填报的指标.*以下之一：.*卫健局") as exc:
        template("不存在局", 2024, tmp_path / "x.xlsx")
    assert re.search("expected one of: .*卫健局", exc.value.render("en"))
    for lang, words in (("zh", "没有要填报的指标"), ("en", "reports no indicator")):
        assert run_cli(["template", "--department", "不存在局", "--year", "2024", "--lang", lang,
                        "-o", str(tmp_path / "x.xlsx")]) == 2
        assert words in capsys.readouterr().err
    with pytest.raises(ValueError, match="年份 1999 不是 2000–2030 之间的整数"):
        template("卫健局", 1999, tmp_path / "x.xlsx")


def test_round_trip_template_fill_ingest(tmp_path: Path) -> None:
    t = template("卫健局", 2024, tmp_path / "t.xlsx")
    raw = tmp_path / "raw" / "卫健局_2024.xlsx"
    raw.parent.mkdir()
    written = _fill(t, raw)
    sha_before = hashlib.sha256(raw.read_bytes()).hexdigest()
    out = tmp_path / "processed"
    res = ingest([raw], out_dir=out)
    assert not res.has_error, [str(p) for p in res.problems if p.severity == "error"]
    panel = load_panel(out / "panel.parquet")
    got = {(r.indicator, r.year, r.area, r.sex): r.value for r in panel.itertuples()}
    assert got.keys() == written.keys()
    for k, v in written.items():
        assert got[k] == pytest.approx(v, abs=1e-9)
    assert load_panel(out / "panel.csv").equals(panel)
    assert set(panel["source"]) == {"卫健局:卫健局_2024.xlsx"}  # department from the template's _meta
    log = pd.read_csv(out / "ingest_log.csv", dtype=str)
    assert list(log["sha256"]) == [sha_before]
    assert int(log["rows_new"].iloc[0]) == len(written)
    assert int(log["rows_blank"].iloc[0]) == int(log["rows_read"].iloc[0]) - len(written)
    # idempotent: the same file again changes nothing, byte for byte
    snap = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}
    res2 = ingest([raw], out_dir=out)
    assert not res2.changed and list(res2.log["status"]) == ["unchanged"]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"} == snap
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == sha_before, "raw file modified"


def test_cells_under_no_heading_are_reported_never_skipped_in_silence(tmp_path: Path) -> None:
    """A column whose heading is blank (a merged or deleted heading, figures typed right of the
    headings) is not read, like a column under an unknown heading: a warning naming the column,
    never a silent skip; a count it held is then missing beside its partner, an error of the row.
    A tidy CSV with an unnamed index column (pandas' ``to_csv``) is still accepted."""
    f = tmp_path / "blank_heading.csv"
    f.write_text("indicator,year,area,sex,value,,denominator\n"
                 "health.hiv_testing_pregnant,2024,440117,T,98.4,7120,7235\n"
                 "health.hiv_testing_pregnant,2024,440117001,T,98.1,,\n", encoding="utf-8")
    probs = validate([f])
    assert [(p.row, p.severity, p.code) for p in probs] == [(None, "warning", "no_heading"),
                                                            (2, "error", "denominator_only")]
    assert probs[0].params == {"found": "F", "count": 1, "first": 2}
    t = template("卫健局", 2024, tmp_path / "t.xlsx")
    _fill(t, tmp_path / "filled.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "filled.xlsx")
    ws = wb["数据填报"]
    col = {c.value: c.column for c in ws[1]}
    # the hidden codes row merged alone: the visible row below still names 分子 and 分母 (a
    # heading over two rows), so they are read as in the unmerged workbook
    ws.merge_cells(start_row=1, start_column=col["value"], end_row=1, end_column=col["denominator"])
    wb.save(tmp_path / "merged_codes.xlsx")
    assert not [p for p in validate([tmp_path / "merged_codes.xlsx"]) if p.code == "no_heading"]
    figures = ["row", "indicator", "year", "area", "sex", "value", "numerator", "denominator"]
    assert read_submission(tmp_path / "merged_codes.xlsx").records[figures].equals(
        read_submission(tmp_path / "filled.xlsx").records[figures])
    # both heading rows merged over 数值..分母: 分子 and 分母 have no heading left
    ws.merge_cells(start_row=2, start_column=col["value"], end_row=2, end_column=col["denominator"])
    ws.cell(3, ws.max_column + 2).value = 5  # a figure right of the last heading
    wb.save(tmp_path / "merged.xlsx")
    probs = [p for p in validate([tmp_path / "merged.xlsx"]) if p.code == "no_heading"]
    letters = [openpyxl.utils.get_column_letter(col[c]) for c in ("numerator", "denominator")]
    assert [p.params["found"] for p in probs] == letters + [openpyxl.utils.get_column_letter(ws.max_column)]
    assert all(p.severity == "warning" for p in probs)
    tidy = tmp_path / "tidy.csv"
    pd.DataFrame({"indicator": ["health.hiv_testing_pregnant"] * 2, "year": [2023, 2024],
                   "value": [98.1, 98.4]}).to_csv(tidy)  # index written under a blank heading
    res = ingest([tidy], out_dir=tmp_path / "p")
    assert not res.has_error and len(res.panel.frame) == 2
    assert [p.code for p in res.problems] == ["no_heading"]


def test_hidden_rows_and_sheets_are_errors_only_when_they_hold_figures(tmp_path: Path) -> None:
    """A unit may hide the template rows it does not report; a hidden row or sheet holding a figure
    is an error (it often keeps an old value)."""
    t = template("卫健局", 2024, tmp_path / "t.xlsx")
    written = _fill(t, tmp_path / "filled.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "filled.xlsx")
    ws = wb["数据填报"]
    col = {c.value: c.column for c in ws[1]}
    empty = [r for r in range(3, ws.max_row + 1) if ws.cell(r, col["value"]).value is None]
    full = [r for r in range(3, ws.max_row + 1) if ws.cell(r, col["value"]).value is not None]
    for r in empty[:3] + full[:1]:
        ws.row_dimensions[r].hidden = True
    blank_copy = wb.copy_worksheet(ws)
    blank_copy.title = "旧表"
    for r in range(3, blank_copy.max_row + 1):
        for c in ("value", "numerator", "denominator"):
            blank_copy.cell(r, col[c]).value = None
        blank_copy.row_dimensions[r].hidden = False
    blank_copy.sheet_state = "hidden"
    wb.save(tmp_path / "hidden.xlsx")
    errors = [p for p in validate([tmp_path / "hidden.xlsx"]) if p.severity == "error"]
    assert [(p.sheet, p.row, p.code) for p in errors] == [("数据填报", full[0], "hidden_row")]
    ws.row_dimensions[full[0]].hidden = False
    wb.save(tmp_path / "hidden.xlsx")
    res = ingest([tmp_path / "hidden.xlsx"], out_dir=tmp_path / "p")
    assert not res.has_error and len(res.panel.frame) == len(written)


def test_a_hidden_column_of_figures_is_an_error(tmp_path: Path) -> None:
    """A hidden figure column (value, numerator, denominator) holding figures is refused like a
    hidden row: last year's values hidden beside a new column would otherwise be read unseen.
    The template's own hidden key columns are not figures."""
    t = template("卫健局", 2024, tmp_path / "t.xlsx")
    _fill(t, tmp_path / "filled.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "filled.xlsx")
    ws = wb["数据填报"]
    col = {c.value: c.column for c in ws[1]}
    letter = openpyxl.utils.get_column_letter(col["value"])
    ws.column_dimensions[letter].hidden = True
    wb.save(tmp_path / "hidden_col.xlsx")
    errors = [p for p in validate([tmp_path / "hidden_col.xlsx"]) if p.severity == "error"]
    assert [(p.sheet, p.row, p.code, p.params["found"]) for p in errors] == [("数据填报", None, "hidden_column", letter)]
    ws.column_dimensions[letter].hidden = False
    ws.column_dimensions[openpyxl.utils.get_column_letter(col["note"])].hidden = True  # no figure there
    wb.save(tmp_path / "hidden_col.xlsx")
    assert not [p for p in validate([tmp_path / "hidden_col.xlsx"]) if p.severity == "error"]


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("indicator,year,area,sex,value,numerator,denominator\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


def test_revision_logged_and_later_wins(tmp_path: Path) -> None:
    out = tmp_path / "p"
    a = _csv(tmp_path / "a.csv", ["health.hiv_testing_pregnant,2023,440117,T,98.1,,",
                                  "health.hiv_testing_pregnant,2024,440117,T,98.4,,"])
    b = _csv(tmp_path / "b.csv", ["health.hiv_testing_pregnant,2024,从化区,合计,98.9,,",
                                  "health.hiv_testing_pregnant,2023,440117,T,98.1,,"])
    ingest([a], out_dir=out)
    res = ingest([b], out_dir=out)
    assert list(res.log[["rows_new", "rows_revised", "rows_unchanged"]].iloc[0]) == [0, 1, 1]
    panel = load_panel(out / "panel.csv")
    assert panel.set_index(["year"]).loc[2024, "value"] == 98.9
    assert panel.set_index(["year"]).loc[2024, "source"] == "b.csv"
    revs = pd.read_csv(out / "revisions.csv")
    assert len(revs) == 1
    r = revs.iloc[0]
    assert (r["year"], r["old_value"], r["new_value"], r["old_source"], r["new_source"]) == (2024, 98.4, 98.9, "a.csv", "b.csv")
    assert len(pd.read_csv(out / "ingest_log.csv")) == 2


def test_duplicates_and_batch_conflicts_compare_the_counts_too(tmp_path: Path) -> None:
    """Two rows of one key are the same figure only when value, numerator and denominator agree
    (as a revision is judged): one pair of counts is never dropped in silence."""
    f = _csv(tmp_path / "d.csv", ["health.hiv_testing_pregnant,2024,440117,T,98.5,197,200",
                                  "health.hiv_testing_pregnant,2024,440117,T,98.5,394,400",
                                  "health.hiv_testing_pregnant,2024,440117001,T,98.5,197,200",
                                  "health.hiv_testing_pregnant,2024,440117001,T,98.5,197,200"])
    probs = validate([f])
    assert [(p.row, p.severity, p.code) for p in probs] == [
        (2, "error", "duplicate_different"), (3, "error", "duplicate_different"), (5, "warning", "duplicate_same")]
    assert "98.5 (394/400)" in probs[0].message and "98.5 (197/200)" in probs[1].message
    a = _csv(tmp_path / "a.csv", ["health.hiv_testing_pregnant,2024,440117,T,98.5,197,200"])
    b = _csv(tmp_path / "b.csv", ["health.hiv_testing_pregnant,2024,440117,T,98.5,394,400"])
    probs = validate([a, b])
    assert [(p.file, p.severity, p.code) for p in probs] == [(str(a), "error", "batch_conflict"),
                                                           (str(b), "error", "batch_conflict")]
    assert "98.5 (197/200)" in probs[0].message and "98.5 (394/400)" in probs[0].message


def test_partly_bad_file_rejected_whole_unless_keep_valid(tmp_path: Path) -> None:
    out = tmp_path / "p"
    f = _csv(tmp_path / "mixed.csv", ["health.hiv_testing_pregnant,2024,440117,T,98.4,,",
                                      "health.hiv_testing_pregnant,2024,440117001,T,105,,",
                                      "health.anaemia_pregnant,2024,440117,T,9.1,,",
                                      "health.anaemia_pregnant,2024,新城镇,T,9.1,,"])
    res = ingest([f], out_dir=out)
    errors = [p for p in res.problems if p.severity == "error"]
    assert [(p.row, p.column) for p in errors] == [(3, "value"), (5, "area")]  # all its errors at once
    assert list(res.log["status"]) == ["rejected"]
    assert not (out / "panel.parquet").exists()
    assert run_cli(["ingest", "--out-dir", str(out), str(f)]) == 1
    # --keep-valid: valid rows in, rejected rows listed
    res = ingest([f], out_dir=out, keep_valid=True)
    assert list(res.log["status"]) == ["partial"]
    panel = load_panel(out / "panel.parquet")
    assert sorted(zip(panel["indicator"], panel["area"])) == [
        ("health.anaemia_pregnant", DISTRICT), ("health.hiv_testing_pregnant", DISTRICT)]
    rej = pd.read_csv(out / "rejected_rows.csv")
    assert list(rej["row"]) == [3, 5]
    assert "超出允许范围" in rej["reason"].iloc[0] and "新城镇" in rej["reason"].iloc[1]
    assert res.reasons("en")[0].startswith("value 105 outside the allowed range")
    log = pd.read_csv(out / "ingest_log.csv")
    assert log["rows_rejected"].tolist() == [2] and log["rows_new"].tolist() == [2]


def test_file_level_error_rejected_even_with_keep_valid(tmp_path: Path) -> None:
    out = tmp_path / "p"
    res = ingest([CORPUS / "missing_column.csv", CORPUS / "empty.csv"], out_dir=out, keep_valid=True)
    assert list(res.log["status"]) == ["rejected", "rejected"]
    assert not res.changed and not (out / "CURRENT").exists() and not (out / "panel.parquet").exists()


def test_ingest_several_formats(tmp_path: Path) -> None:
    out = tmp_path / "p"
    files = [CORPUS / n for n in ("utf16.csv", "missing_marks.csv", "template_ok.xlsx")]
    src = tmp_path / "raw"
    src.mkdir()
    copies = [Path(shutil.copy(f, src / f.name)) for f in files]
    # in one batch the files disagree on a key: an error on both rows, nothing ingested
    res = ingest(copies, out_dir=out)
    assert any("conflict within the batch" in p.message and p.severity == "error" for p in res.problems)
    assert list(res.log["status"]) == ["rejected"] * 3 and not res.changed
    # one run each, in submission order: each later figure is a revision
    revisions = []
    for f in copies:
        res = ingest([f], out_dir=out)
        assert not res.has_error
        revisions += res.revisions[["old_value", "new_value"]].values.tolist()
        assert list(res.log["status"]) == ["ingested"]
    panel = res.panel.frame.set_index(["indicator", "year", "area", "sex"])
    # the template_ok file (later) revises utf16's 98.9% with 98.9 given as '98.9%' text: equal, unchanged
    assert panel.loc[("health.hiv_testing_pregnant", 2024, DISTRICT, "T"), "value"] == 98.9
    assert panel.loc[("health.hiv_testing_pregnant", 2024, DISTRICT, "T"), "numerator"] == 7120
    assert panel.loc[("health.life_expectancy", 2024, DISTRICT, "F"), "value"] == 83.2  # full-width digits
    assert revisions == [[98.9, 98.7], [98.7, 98.9]]


def test_rebuild_from_raw_gives_the_same_panel(tmp_path: Path) -> None:
    out = tmp_path / "p"
    raw = tmp_path / "raw"
    raw.mkdir()
    a = _csv(raw / "a.csv", ["health.hiv_testing_pregnant,2023,440117,T,98.1,,",
                             "health.hiv_testing_pregnant,2024,440117,T,98.4,,"])
    b = _csv(raw / "b.csv", ["health.hiv_testing_pregnant,2024,440117,T,98.9,,",
                             "health.hiv_testing_pregnant,2025,440117,T,130,,"])
    ingest([a], out_dir=out)
    ingest([b], out_dir=out, keep_valid=True)
    before = (out / "panel.csv").read_bytes()
    res = rebuild(out_dir=out)
    assert (out / "panel.csv").read_bytes() == before
    assert (out / "CURRENT").read_text().strip() == "000003"
    assert (out / "generations" / "000002" / "panel.csv").read_bytes() == before  # previous generation kept
    assert list(pd.read_csv(out / "ingest_log.csv")["status"]) == ["ingested", "partial"]
    assert len(pd.read_csv(out / "revisions.csv")) == 1
    assert any("outside the allowed range" in p.message for p in res.problems)
    # a raw file changed after ingest: refuse, name it
    b.write_text(b.read_text("utf-8") + "health.hiv_testing_pregnant,2022,440117,T,97,,\n", "utf-8")
    with pytest.raises(ValueError, match=r"文件内容已改变.*b\.csv") as exc:
        rebuild(out_dir=out)
    assert re.search(r"content changed .*b\.csv", exc.value.render("en"))
    assert run_cli(["ingest", "--rebuild", "--out-dir", str(out)]) == 1


def test_one_count_without_the_other_is_an_error_of_its_row(tmp_path: Path) -> None:
    """The panel holds both counts or neither (and a positive denominator): validate says so at
    the cell, so ingest never meets a row the panel refuses (it used to warn, then ingest raised)."""
    f = _csv(tmp_path / "n.csv", ["health.cervical_cancer_screening,2024,440117,T,60,600,",
                                  "health.cervical_cancer_screening,2024,440117001,T,60,,600",
                                  "health.cervical_cancer_screening,2024,440117002,T,0,0,0",
                                  "health.cervical_cancer_screening,2024,440117003,T,61,61,100",
                                  "health.cervical_cancer_screening,2024,440117103,T,61,-61,100"])
    probs = validate([f])
    assert [(p.row, p.column, p.severity, p.code) for p in probs] == [
        (2, "denominator", "error", "numerator_only"), (3, "numerator", "error", "denominator_only"),
        (4, "denominator", "error", "zero_denominator"),
        (6, "numerator", "error", "count_negative")]  # filled: a refused count is not called missing
    assert "numerator given without denominator" in probs[0].message
    out = tmp_path / "p"
    res = ingest([f], out_dir=out)
    assert list(res.log["status"]) == ["rejected"] and not (out / "panel.parquet").exists()
    res = ingest([f], out_dir=out, keep_valid=True)
    assert list(res.log["status"]) == ["partial"]
    assert load_panel(out / "panel.parquet")[["area", "value"]].values.tolist() == [["440117003", 61.0]]
    assert pd.read_csv(out / "rejected_rows.csv")["row"].tolist() == [2, 3, 4, 6]


def test_every_corpus_file_ingests_as_validate_says(tmp_path: Path) -> None:
    """What validate passes, ingest takes; a file validate refuses is rejected, or with --keep-valid
    taken in part: ingest never raises on a row the panel refuses that validate let through (the
    whole corpus in one batch, so one such row anywhere fails the test)."""
    names = sorted(EXPECTED)
    res = ingest([CORPUS / n for n in names], out_dir=tmp_path / "p", keep_valid=True)
    status = dict(zip([Path(p).name for p in res.log["path"]], res.log["status"]))
    # files of the corpus that disagree on a key are an error of those rows in one batch
    conflicting = {Path(p.file).name for p in res.problems if p.code == "batch_conflict"}
    for name in names:
        taken = status[name] in ("ingested", "unchanged")  # unchanged: the same bytes earlier in the batch
        assert taken == (EXPECTED[name]["exit"] == 0 and name not in conflicting), (name, status[name])
        if name in conflicting and EXPECTED[name]["exit"] == 0:
            assert status[name] == "partial", name


def test_title_line_tab_delimited_gbk(tmp_path: Path) -> None:
    f = tmp_path / "title.csv"
    f.write_bytes("从化区2024年妇女发展监测数据\n指标代码\t年份\t地区\t性别\t数值（%）\n"
                  "health.hiv_testing_pregnant\t2024年\t良口\t合计\t９８．２％\n".encode("gbk"))
    sub = read_submission(f)
    assert sub.problems == []
    rec = sub.records.iloc[0]
    assert (rec["row"], rec["year"], rec["area"], rec["sex"], rec["value"]) == (3, 2024, "440117104", "T", 98.2)


def test_unfilled_template_is_a_warning_not_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.xlsx"
    assert run_cli(["template", "--department", "妇联", "--year", "2023", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    probs = validate([out])
    assert [(p.severity, p.row) for p in probs] == [("warning", None)]
    assert "none of the" in probs[0].message and "has a value" in probs[0].message
    assert run_cli(["validate", "--no-history", str(out)]) == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would hang: it is refused from its stat alone
    paths = [Path("/dev/zero"), fifo]
    for path in paths:
        probs = validate([path])
        assert [p.severity for p in probs] == ["error"]
        assert "not a regular file" in probs[0].message
        assert probs[0].explain("zh").kind == "special_file"


def test_a_million_unknown_columns_give_one_message(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("indicator,year,value," + ",".join(f"c{i}" for i in range(1_000_000)) + "\n"
                    "health.hiv_mother_to_child_transmission,2024,0.3\n", "utf-8")
    probs = validate([path])
    assert len(probs) == 1 and "too many columns: 1000003" in probs[0].message


def test_formula_injection_is_neutralised_in_every_output(tmp_path: Path) -> None:
    out = tmp_path / "processed"
    res = ingest([CORPUS / "formula_injection.csv", CORPUS / "formula_injection.xlsx"], out_dir=out)
    assert not res.has_error
    text = (out / "panel.csv").read_text("utf-8-sig")
    assert "'=HYPERLINK(" in text and "'+cmd|" in text and "'@SUM(" in text
    assert not re.search(r"(^|,)[=+@]", text, re.M), "a cell starts with a formula sign"
    # the feedback workbook stores such text as text, never as a formula
    wb_path = panel_cli.annotate(validate([CORPUS / "formula_injection.csv"]), [CORPUS / "formula_injection.csv"],
                                 tmp_path / "fb")[0]
    ws = openpyxl.load_workbook(wb_path)["formula_injection"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_unclosed_quote_keep_valid_keeps_every_other_row(tmp_path: Path) -> None:
    res = ingest([CORPUS / "unclosed_quote.csv"], out_dir=tmp_path / "p", keep_valid=True)
    assert len(res.panel) == 13  # 14 rows, the one with the stray quote rejected
    assert list(res.rejected["row"]) == [3]
    code = run_cli(["ingest", "--keep-valid", "--out-dir", str(tmp_path / "q"), str(CORPUS / "unclosed_quote.csv")])
    assert code == 1  # a rejected row is never an exit 0


def test_problem_list_sheet_words_are_data(tmp_path: Path) -> None:
    """The 问题清单 sheet's name, headings and "no problems" line come from data/labels, in both
    languages: no heading is left as its bare code and no Chinese heading in English."""
    from fzanalysis import config
    from fzanalysis.panel.annotate import LIST_COLUMNS, annotate, list_sheet

    table = config.label_table()["feedback_sheet"]
    assert set(table) == {*LIST_COLUMNS, "name", "no_problems", "column_at"}
    ok, bad = CORPUS / "template_ok.xlsx", CORPUS / "fraction_some_towns.csv"
    for lang in ("zh", "en"):
        words = {code: table[code][lang] for code in table}
        out = annotate(validate([ok, bad]), [ok, bad], tmp_path / lang, lang=lang)
        for path, written in zip((ok, bad), out):
            wb = openpyxl.load_workbook(written)
            assert wb.sheetnames[0] == list_sheet(lang) == words["name"]
            ws = wb[list_sheet(lang)]
            assert [c.value for c in ws[1]] == [words[c] for c in LIST_COLUMNS]
            if lang == "en":
                assert not any(re.search(r"[\u4e00-\u9fff]", str(c.value)) for c in ws[1])
            found = [r[LIST_COLUMNS.index("found")] for r in ws.iter_rows(min_row=2, values_only=True)]
            assert (found == [words["no_problems"]]) == (path == ok)
            # the column of a problem in the unit's words, never a panel column's code
            columns = {r[LIST_COLUMNS.index("column")] for r in ws.iter_rows(min_row=2, values_only=True)}
            assert not columns & {"value", "numerator", "denominator", "year", "area", "sex", "indicator"}
            if path == bad:
                assert config.label_table()["panel_column"]["value"][lang] in columns


def test_annotate_writes_feedback_copies_and_never_touches_originals(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    names = ["template_fraction.xlsx", "fraction_some_towns.csv", "merged_cells.xlsx", "encrypted.xlsx",
             "template_ok.xlsx"]
    files = [CORPUS / n for n in names]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    code = run_cli(["validate", "--no-history", "--annotate", str(tmp_path / "fb"), *map(str, files)])
    assert code == 1
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files} == before
    probs = validate(files)
    for path in files:
        wb = openpyxl.load_workbook(tmp_path / "fb" / f"{path.stem}.批注.xlsx")
        assert wb.sheetnames[0] == "问题清单"
        listed = list(wb["问题清单"].iter_rows(min_row=2, values_only=True))
        mine = [p for p in probs if p.file == str(path)]
        assert len(listed) == max(len(mine), 1)
        assert [c.value for c in wb["问题清单"][1]] == ["文件", "工作表", "行", "列", "严重程度", "发现的问题",
                                                     "应为", "怎么改", "完整说明"]
        for p in mine:
            if p.row is None or path.name == "encrypted.xlsx":
                continue
            e = p.explain("zh")
            ws = wb[p.sheet] if p.sheet else wb.worksheets[1]
            cell = ws[e.cell] if e.cell else None
            if cell is None:  # no cell reference: the column is found by its heading
                col = next(c.column for c in ws[1] if c.value == p.column)
                cell = ws.cell(row=p.row, column=col)
            for rng in ws.merged_cells.ranges:  # a merged cell is marked on the merge's first cell
                if rng.min_row <= cell.row <= rng.max_row and rng.min_col <= cell.column <= rng.max_col:
                    cell = ws.cell(rng.min_row, rng.min_col)
            assert cell.comment is not None and e.message in cell.comment.text
            assert cell.fill.start_color.rgb.endswith("FFC7CE" if p.severity == "error" else "FFEB9C")
    # an --annotate folder that is a file: a message, exit 2, no traceback
    (tmp_path / "afile").write_text("x")
    assert run_cli(["validate", "--no-history", "--annotate", str(tmp_path / "afile"), str(files[0])]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_csv_bytes_equal_pandas_to_csv_of_the_neutralised_frame() -> None:
    """safe.csv_bytes (column by column, each distinct cell once) writes exactly the bytes of
    neutralise(frame).to_csv(...) in UTF-8 with BOM: quoting, missing cells, float precision,
    mixed and categorical columns, formula signs."""
    from fzanalysis.panel import safe

    def reference(df: pd.DataFrame) -> bytes:
        return safe.neutralise(df).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")

    df = pd.DataFrame({
        "text": ["x", None, "=1+1", 'q"uote', "a,b", "line\nbreak", "-3", "@x", "中文，", "", "+1", "\tt"],
        "float": [1.0, np.nan, -3.5, 1e16, 0.1, 1e-5, 123456789.123, -0.0, np.inf, 2.5, 1 / 3, 7.0],
        "int": [1, 2, 3, -4, 5, 6, 7, 8, 9, 10, 11, 2**40],
        "bool": [True, False] * 6,
        "mixed": [1, "", -3.5, None, "x", 2.0, np.nan, True, pd.NA, "=cmd", 5, "y"],
        "=heading": pd.array(["s", None, "-t", "u", "v", "w", "x", "y", "z", "1", "2", "3"], dtype="string"),
        "category": pd.Categorical(["甲", "乙", None, "=x", "甲", "乙", "甲", "a,b", "甲", "乙", "甲", "乙"]),
    })
    assert safe.csv_bytes(df) == reference(df)
    assert safe.csv_bytes(df.iloc[:0]) == reference(df.iloc[:0])
    assert safe.csv_bytes(df[["text"]]) == reference(df[["text"]])  # one column: pandas' own
    for last in ("int", "float", "text"):  # the line's end joined to the last column's fields, or not
        assert safe.csv_bytes(df[["category", last]]) == reference(df[["category", last]]), last
    dated = df.assign(when=pd.Timestamp("2024-01-01"))  # a dtype left to pandas
    assert safe.csv_bytes(dated) == reference(dated)


def test_messages_name_the_indicator_never_its_code() -> None:
    """A message about an indicator gives the catalogue's name in the reader's language."""
    from fzanalysis import catalog
    from fzanalysis.panel.problems import Wording

    cat = catalog.normalize().set_index("id")
    ind = cat.index[0]
    for lang in ("zh", "en"):
        text = Wording(lang).text("sex_not_disaggregated", {"found": "F", "indicator": ind})
        assert cat.at[ind, f"name_{lang}"] in text and ind not in text
    # a code the catalogue does not know is quoted as found
    assert "no.such" in Wording("zh").text("sex_not_disaggregated", {"found": "F", "indicator": "no.such"})


def test_validate_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    """``fzanalysis validate … | head -1`` printed a BrokenPipeError traceback."""
    import subprocess
    import sys

    corpus = sorted(str(p) for p in (Path(__file__).parent / "corpus").glob("*.csv"))
    proc = subprocess.Popen([sys.executable, "-m", "fzanalysis", "validate", *corpus],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader stops, as head does
    err = proc.stderr.read().decode("utf-8", "replace")
    code = proc.wait(timeout=300)
    assert first and "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (1, 141)  # the problems found (if written before the pipe closed), or SIGPIPE
