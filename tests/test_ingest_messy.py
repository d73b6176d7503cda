"""Submissions as clerks really fill them (a second probe of issue 12): invisible characters,
headings over two rows, figures typed under a merged heading.  Each case: no value changed, no row
lost or invented, and a problem naming file, row and column where something cannot be read."""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from fzanalysis.panel import ingest, read_submission, validate

HIV = "health.hiv_testing_pregnant"
CERVICAL = "health.cervical_cancer_screening"


def _records(path: Path) -> list[tuple]:
    rec = read_submission(path).records
    return [(r.row, r.indicator, int(r.year), r.area, r.sex, r.value, r.numerator, r.denominator)
            for r in rec.itertuples()]


def _workbook(path: Path, rows: list[list[object]], merges: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    wb.save(path)
    return path


@pytest.mark.parametrize("mark", ["\u200b", "\ufeff", "\u2060", "\u200d", "\u00ad"])
def test_invisible_characters_are_not_part_of_a_cell(tmp_path: Path, mark: str) -> None:
    """A zero-width space, a stray byte-order mark, a word joiner or a soft hyphen pasted from a web
    page or a chat window is invisible in Excel: the cell reads as the clerk sees it (a figure, a
    town, a sex, an indicator, a year, a heading), never 'not a number' about a figure that looks
    right, never a different value."""
    f = tmp_path / "zw.csv"
    f.write_text(f"indicator,year,area,sex,value{mark},numerator,denominator\n"
                 f"{HIV}{mark},2024,440117,T,{mark}98.5,,\n"
                 f"{HIV},{mark}2024,鳌头镇{mark},合计,98.1{mark},,\n"
                 f"{CERVICAL},2024,440117,T{mark},,12{mark}345,20000\n"
                 f"health.premarital_checkup,2024,440117,女{mark},{mark}—,,\n", encoding="utf-8")
    assert [p for p in validate([f]) if p.severity == "error"] == []
    assert _nan_to_none(_records(f)) == [(2, HIV, 2024, "440117", "T", 98.5, None, None),
                           (3, HIV, 2024, "440117113", "T", 98.1, None, None),
                           (4, CERVICAL, 2024, "440117", "T", pytest.approx(61.725), 12345.0, 20000.0)]
    assert read_submission(f).rows_blank == 1


def _nan_to_none(rows: list[tuple]) -> list[tuple]:
    return [tuple(None if isinstance(x, float) and x != x else x for x in r) for r in rows]


def test_a_heading_over_two_rows_is_read_from_both(tmp_path: Path) -> None:
    """A heading over two rows (数值 above 分子 | 分母, a merged 计算口径 above its parts): the lower
    row names the columns the upper one leaves blank or does not name as panel columns, and the
    data start below it.  Nothing under the lower headings is lost as 'not reported'."""
    a = _workbook(tmp_path / "two_rows_a.xlsx", [
        ["指标代码", "年份", "地区", "性别", "数值", "计算口径", None],
        [None, None, None, None, None, "分子", "分母"],
        [CERVICAL, 2024, "440117", "T", None, 980, 2000],
        [HIV, 2023, "440117", "T", 97.5, None, None]],
        merges=("A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:E2", "F1:G1"))
    b = _workbook(tmp_path / "two_rows_b.xlsx", [
        ["指标代码", "年份", "地区", "性别", "数值", None, None],
        [None, None, None, None, "数值", "分子", "分母"],
        [CERVICAL, 2024, "440117", "T", None, 980, 2000]], merges=("E1:G1",))
    c = tmp_path / "two_rows.csv"
    c.write_text("指标代码,年份,地区,性别,数值,计算口径,\n,,,,,分子,分母\n"
                 f"{CERVICAL},2024,440117,T,,980,2000\n", encoding="utf-8")
    for path in (a, b, c):
        assert validate([path]) == [], path.name
        rows = _nan_to_none(_records(path))
        assert rows[0] == (3, CERVICAL, 2024, "440117", "T", pytest.approx(49.0), 980.0, 2000.0), path.name
        assert read_submission(path).rows_blank == 0
    assert _nan_to_none(_records(a))[1] == (4, HIV, 2023, "440117", "T", 97.5, None, None)


def test_a_lower_row_of_the_same_headings_is_still_a_repeated_heading(tmp_path: Path) -> None:
    """Chinese headings above the column codes (or the reverse, as the template has them) name no
    new column: that row is a repeated heading, not read, as before."""
    p = _workbook(tmp_path / "same.xlsx", [
        ["指标代码", "年份", "地区", "性别", "数值"], ["indicator", "year", "area", "sex", "value"],
        [HIV, 2024, "440117", "T", 98.0]])
    assert validate([p]) == []
    assert _nan_to_none(_records(p)) == [(3, HIV, 2024, "440117", "T", 98.0, None, None)]


def test_a_figure_under_no_heading_in_a_row_without_figures_is_an_error(tmp_path: Path) -> None:
    """A figure typed in the right half of a merged 数值 heading sits under no heading: it is not
    read, and its row would be counted 'not reported' with only a column warning.  The row gets an
    error naming the cell; with ``--keep-valid`` only that row is rejected."""
    p = _workbook(tmp_path / "merged_value.xlsx", [
        ["指标代码", "年份", "地区", "性别", "数值", None, "备注"],
        [HIV, 2024, "440117", "T", None, 98.0, None],
        [HIV, 2023, "440117", "T", 97.0, None, "已核实"],
        [HIV, 2022, "440117", "T", None, None, "未统计"]], merges=("E1:F1",))
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    probs = validate([p])
    errors = [(p_.sheet, p_.row, p_.code, p_.params.get("found"), p_.cell) for p_ in probs if p_.severity == "error"]
    assert errors == [("Sheet", 2, "figure_unheaded", "98", "F2")]
    msg = [p_ for p_ in probs if p_.severity == "error"][0]
    assert "F2" in msg.format("zh") and "F2" in msg.format("en")
    res = ingest([p], out_dir=tmp_path / "out")
    assert res.panel.frame.empty  # rejected whole without --keep-valid
    res = ingest([p], out_dir=tmp_path / "out", keep_valid=True)
    assert res.panel.frame[["year", "value"]].values.tolist() == [[2023, 97.0]]
    assert res.rejected["row"].tolist() == [2]
    log = pd.read_csv(tmp_path / "out" / "ingest_log.csv")
    assert log[["status", "rows_rejected"]].values.tolist() == [["partial", 1]]
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before


def test_a_signature_block_below_the_table_is_not_read_with_a_warning(tmp_path: Path) -> None:
    """Government forms end with 注：… and 填表人：… 审核人：… 填报日期：… lines.  Below the last
    data row, a row starting with such a word and holding no figure is not read (a warning naming
    the row), so the file is not refused for its signature; one holding a number stays an error
    (a number is never skipped), and so does such a row between data rows."""
    p = _workbook(tmp_path / "signed.xlsx", [
        ["从化区2024年妇女发展规划监测数据填报表"],
        ["指标代码", "年份", "地区", "性别", "数值", "分子", "分母", "备注"],
        [HIV, 2024, "鳌头镇", "T", 98.0],
        [HIV, 2024, "太平镇", "T", 99.0],
        [None],
        [None, None, None, None, "注：数据来源于妇幼年报"],
        ["填表人：张三", None, "审核人：李四", None, "填报日期：2025年1月10日"],
        ["联系电话： ", None, None, None, None]])
    probs = validate([p])
    assert [(x.row, x.severity, x.code) for x in probs] == [(r, "warning", "footer_row") for r in (6, 7, 8)]
    assert "填表人" in probs[1].format("zh") and "7" in probs[1].format("zh")
    assert _nan_to_none(_records(p)) == [(3, HIV, 2024, "440117113", "T", 98.0, None, None),
                                         (4, HIV, 2024, "440117111", "T", 99.0, None, None)]
    phone = _workbook(tmp_path / "phone.xlsx", [
        ["指标代码", "年份", "地区", "性别", "数值"], [HIV, 2024, "鳌头镇", "T", 98.0],
        ["联系电话：", None, None, None, 87654321]])
    assert [(x.row, x.severity) for x in validate([phone]) if x.severity == "error"] != []
    middle = _workbook(tmp_path / "middle.xlsx", [
        ["指标代码", "年份", "地区", "性别", "数值"], [HIV, 2024, "鳌头镇", "T", 98.0],
        ["填表人：张三", None, None, None, "填报日期：2025年1月10日"], [HIV, 2024, "太平镇", "T", 99.0]])
    assert {x.row for x in validate([middle]) if x.severity == "error"} == {3}
    csv = tmp_path / "signed.csv"
    csv.write_text(f"indicator,year,area,sex,value\n{HIV},2024,440117,T,98.5\n"
                   "填表人：张三,,审核人：李四,,填报日期：2025年1月10日\n", encoding="gbk")
    assert [(x.row, x.code) for x in validate([csv])] == [(3, "footer_row")]


def test_formatted_empty_cells_do_not_count_as_columns(tmp_path: Path) -> None:
    """Borders or a fill applied to a wide range (A1:KN50) store empty formatted cells, and the
    sheet's dimension then claims 300 columns.  The limit on columns is about cells that hold
    something: such a sheet is read, its figures exactly; a filled cell beyond the limit is still
    refused, naming the limit."""
    from openpyxl.styles import PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["指标代码", "年份", "地区", "性别", "数值"])
    ws.append([HIV, 2024, "440117", "T", 98.0])
    ws.append([HIV, 2023, "440117", "T", None, None, "=1/0"])  # a formula without its result
    fill = PatternFill("solid", fgColor="FFFF00")
    for r in range(1, 6):
        for c in range(1, 301):
            ws.cell(r, c).fill = fill
    wb.save(tmp_path / "formatted.xlsx")
    probs = validate([tmp_path / "formatted.xlsx"])
    assert [(x.row, x.code) for x in probs] == [(None, "no_heading")]  # G3 holds the formula
    assert _nan_to_none(_records(tmp_path / "formatted.xlsx")) == [(2, HIV, 2024, "440117", "T", 98.0, None, None)]
    ws.cell(2, 300).value = "x"
    wb.save(tmp_path / "wide.xlsx")
    probs = validate([tmp_path / "wide.xlsx"])
    assert [(x.severity, x.code, x.params["found"], x.params["limit"]) for x in probs] == \
        [("error", "too_many_columns", 300, 200)]


def test_a_duplicate_is_named_in_the_clerks_words(tmp_path: Path) -> None:
    """The key of a duplicate or a batch conflict is written as the clerk filled it: the
    indicator's name, the year, the town's name and 女/男/合计, never codes such as
    health.hiv_testing_pregnant, 440117113 or T."""
    a = tmp_path / "a.csv"
    a.write_text("指标代码,年份,地区,性别,数值\n"
                 f"{HIV},2024,鳌头镇,合计,98.7\n{HIV},2024,鳌头镇,合计,98.1\n{HIV},2023,鳌头,合计,97.0\n",
                 encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text(f"指标代码,年份,地区,性别,数值\n{HIV},2023,440117113,T,96.0\n", encoding="utf-8")
    probs = validate([a, b])
    assert sorted({p.code for p in probs}) == ["batch_conflict", "duplicate_different"]
    for p in probs:
        zh, en = p.format("zh"), p.format("en")
        assert "孕产妇艾滋病检测率" in zh and "鳌头镇" in zh and "合计" in zh, zh
        assert "Aotou Town" in en and "Total" in en, en
        for code in (HIV, "440117113", ", T)"):
            assert code not in zh.split(":", 4)[-1] and code not in en.split(":", 4)[-1], (code, zh, en)


def test_an_index_column_is_not_a_figure_under_no_heading(tmp_path: Path) -> None:
    """pandas' ``to_csv`` writes its index under a blank first heading: row labels, not figures, so
    a row whose value is missing stays 'not reported' (the column warns), never an error."""
    tidy = tmp_path / "tidy.csv"
    pd.DataFrame({"indicator": [HIV] * 3, "year": [2022, 2023, 2024],
                  "value": [97.5, None, 98.4]}).iloc[[0, 1, 2]].to_csv(tidy)
    probs = validate([tidy])
    assert [(p.severity, p.code) for p in probs] == [("warning", "no_heading")]
    assert read_submission(tidy).rows_blank == 1


def test_sex_spellings_come_from_the_data_file(tmp_path: Path) -> None:
    """女性/妇女/男性/合计 are read as F/F/M/T (data/ingest.yaml sex_spellings beside the labels'
    words); a word the file does not list (男士) is an error naming the cell, never a guess."""
    from fzanalysis import config

    f = tmp_path / "sex.csv"
    f.write_text("indicator,year,area,sex,value,numerator,denominator\n"
                 f"{HIV},2024,440117,妇女,98.5,,\n{HIV},2023,440117,女性,98.1,,\n"
                 f"{HIV},2024,鳌头镇,合计,97.0,,\n{HIV},2022,440117,Female,97.2,,\n", encoding="utf-8")
    assert [r[4] for r in _records(f)] == ["F", "F", "T", "F"]
    spellings = config.read_yaml("ingest.yaml")["sex_spellings"]
    assert "妇女" in spellings["F"] and "男士" not in sum(spellings.values(), [])
    bad = tmp_path / "bad.csv"
    bad.write_text(f"indicator,year,area,sex,value,numerator,denominator\n{HIV},2024,440117,男士,98.5,,\n",
                   encoding="utf-8")
    errors = [p for p in validate([bad]) if p.severity == "error"]
    assert len(errors) == 1 and errors[0].row == 2 and "男士" in str(errors[0])


def _filled_template(tmp_path: Path, department: str, year: int, name: str, cells: dict[str, object]) -> Path:
    """The real template of ``department`` with ``cells`` (``{"K3": 80}``) filled, saved as ``name``."""
    from fzanalysis.panel import template

    t = tmp_path / f"_{department}_{year}_template.xlsx"
    if not t.exists():
        template(department, year, t)
    wb = openpyxl.load_workbook(t)
    ws = wb["数据填报"]
    for cell, value in cells.items():
        ws[cell] = value
    out = tmp_path / name
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def test_a_correction_in_the_same_batch_as_its_original_is_an_error_naming_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``fzanalysis ingest data/raw/*`` with 妇联_2025.xlsx (K3=80) and 妇联_2025(更正).xlsx (K3=85):
    the shell sorts '(' before '.', so the correction came first and the original, last, silently
    won (two warnings, exit 0).  Within one batch two figures for one key are an error on both
    rows naming both files, rows and figures and how to resolve it; nothing of the key goes in.
    Ingested in two runs (original first), the correction is a revision, and ``--rebuild`` replays
    it so."""
    from fzanalysis.panel import cli as panel_cli
    from fzanalysis.panel import rebuild

    raw = tmp_path / "raw"
    original = _filled_template(tmp_path, "妇联", 2025, "raw/妇联_2025.xlsx", {"K3": 80, "K4": 70})
    corrected = _filled_template(tmp_path, "妇联", 2025, "raw/妇联_2025(更正).xlsx", {"K3": 85, "K4": 70})
    batch = sorted(raw.iterdir())  # as the shell expands data/raw/*
    assert batch == [corrected, original]
    probs = [p for p in validate(batch) if p.code == "batch_conflict"]
    assert [(Path(p.file).name, p.sheet, p.row, p.severity, p.cell) for p in probs] == [
        ("妇联_2025(更正).xlsx", "数据填报", 3, "error", "K3"), ("妇联_2025.xlsx", "数据填报", 3, "error", "K3")]
    zh, en = probs[0].format("zh"), probs[0].format("en")
    for text in (zh, en):
        assert "妇联_2025(更正).xlsx:数据填报:3" in text and "妇联_2025.xlsx:数据填报:3" in text, text
        assert " 85" in text and "= 80" in text, text
    assert "只提交更正后的文件" in probs[0].explain("zh").fix and "下一次" in probs[0].explain("zh").fix
    assert "later run" in probs[0].explain("en").fix and "revision" in probs[0].explain("en").fix
    assert not [p for p in validate(batch) if p.row == 4]  # the same 70 in both: no message
    out = tmp_path / "processed"
    res = ingest(batch, out_dir=out)
    assert list(res.log["status"]) == ["rejected", "rejected"] and not (out / "panel.parquet").exists()
    parser = argparse.ArgumentParser()
    panel_cli.register_cli(parser.add_subparsers(dest="command"))
    ns = parser.parse_args(["ingest", "--out-dir", str(out), *map(str, batch)])
    assert ns.func(ns) == 1
    assert "妇联_2025(更正).xlsx:数据填报:3" in capsys.readouterr().out
    # --keep-valid: the conflicting rows are rejected in both files, the rest goes in
    res = ingest(batch, out_dir=out, keep_valid=True)
    assert list(res.log["status"]) == ["partial", "partial"]
    assert res.panel.frame["value"].tolist() == [70.0] and res.rejected["row"].tolist() == [3, 3]
    # the original in one run, the correction in a later one: a revision, and rebuild agrees
    out2 = tmp_path / "processed2"
    ingest([original], out_dir=out2)
    res = ingest([corrected], out_dir=out2)
    assert not res.has_error
    assert res.revisions[["old_value", "new_value"]].values.tolist() == [[80.0, 85.0]]
    rebuilt = rebuild(out_dir=out2)
    assert rebuilt.panel.frame[["area", "value"]].values.tolist() == [["440117", 85.0], ["440117001", 70.0]]
    assert len(pd.read_csv(out2 / "revisions.csv")) == 1


def _template_row(path: Path, indicator: str, area: str = "440117", sex: str = "T") -> int:
    ws = openpyxl.load_workbook(path)["数据填报"]
    col = {c.value: c.column for c in ws[1]}
    return next(r for r in range(3, ws.max_row + 1) if (ws.cell(r, col["indicator"]).value,
                str(ws.cell(r, col["area"]).value), ws.cell(r, col["sex"]).value) == (indicator, area, sex))


def test_counts_and_count_values_must_be_whole_numbers(tmp_path: Path) -> None:
    """A numerator of '1.234' (1,234 written the European way) beside a denominator of '5,678' was
    stored as 1.234 (a rate of 0.0217 %) in silence, and 1.5 abortions was accepted.  A numerator,
    denominator or value of a count unit that is not a whole number is an error naming the cell,
    what was found and what is expected; '1.234' is said to be perhaps 1234.  The one rule
    (schema.count_faults) is the panel's too: as_panel refuses such counts."""
    from fzanalysis import catalog
    from fzanalysis.exceptions import PanelError
    from fzanalysis.panel import as_panel, template

    t = template("卫健局", 2024, tmp_path / "t.xlsx")
    r_cc, r_ab = _template_row(t, CERVICAL), _template_row(t, "family.unmarried_abortions")
    r_ok = _template_row(t, "family.unmarried_abortions", "440117113")
    f = _filled_template(tmp_path, "卫健局", 2024, "卫健局_2024.xlsx", {
        f"L{r_cc}": "1.234", f"M{r_cc}": "5,678", f"K{r_ab}": 1.5, f"K{r_ok}": 3})
    probs = validate([f])
    errors = [(p.row, p.column, p.code, p.cell) for p in probs if p.severity == "error"]
    assert errors == [(r_cc, "numerator", "count_not_whole", f"L{r_cc}"), (r_ab, "value", "value_not_whole", f"K{r_ab}")]
    num = next(p for p in probs if p.code == "count_not_whole")
    zh, en = num.format("zh"), num.format("en")
    assert "1.234" in zh and "1234" in zh and "整数" in zh and f"L{r_cc}" in zh, zh
    assert "1.234" in en and "1234" in en and "whole number" in en, en
    assert "整数" in num.explain("zh").expected and "1,234" in num.explain("zh").fix
    ab = next(p for p in probs if p.code == "value_not_whole")
    assert "1.5" in ab.format("zh") and "个/年" in ab.format("zh") and "whole number" in ab.format("en")
    assert "1500" not in ab.format("zh")  # no thousands hint for one decimal
    res = ingest([f], out_dir=tmp_path / "out", keep_valid=True)
    assert res.panel.frame[["indicator", "area", "value"]].values.tolist() == [
        ["family.unmarried_abortions", "440117113", 3.0]]
    # the panel's rule: a researcher's panel with such counts is refused too
    with pytest.raises(PanelError, match="numerator: expected a whole number"):
        as_panel(pd.DataFrame({"indicator": [CERVICAL], "year": [2024], "value": [0.0217],
                               "numerator": [1.234], "denominator": [5678.0]}))
    frame = pd.DataFrame({"indicator": ["family.unmarried_abortions"], "year": [2024], "value": [1.5]})
    as_panel(frame)  # without a catalogue the unit is unknown
    with pytest.raises(PanelError, match="not a whole number"):
        as_panel(frame, catalog.load())


def test_a_street_only_target_asks_and_sums_the_streets_only(tmp_path: Path) -> None:
    """街道党政领导班子女干部人数 applies to the 3 街道 (catalogue area_kinds: street).  The template
    asked it of all 8 towns, the 镇 included, and the district check then summed 8 figures
    ("全区 1 与汇总 8 不一致").  The template lists the district and the streets only; a figure for
    a 镇 is a warning (kept, as assess keeps it not_applicable) and left out of the district's sum."""
    from fzanalysis import catalog, gazetteer
    from fzanalysis.panel import check_district_consistency, template

    ind = "decision.street_leadership_women"
    t = template("组织部", 2025, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(t)["数据填报"]
    col = {c.value: c.column for c in ws[1]}
    areas = [str(ws.cell(r, col["area"]).value) for r in range(3, ws.max_row + 1)
             if ws.cell(r, col["indicator"]).value == ind]
    g = gazetteer.load()
    streets = sorted(g.loc[g["kind"] == "street", "code"].astype(str))
    assert areas == ["440117", *streets]
    # every area still asked for an indicator without area_kinds
    other = [r for r in range(3, ws.max_row + 1)
             if ws.cell(r, col["indicator"]).value == "decision.village_party_members_female_share"]
    assert len(other) == 9
    rows = {a: _template_row(t, ind, a) for a in areas}
    cells: dict[str, object] = {f"K{rows['440117']}": 1}
    cells.update({f"K{rows[s]}": v for s, v in zip(streets, (0, 1, 0))})
    f = _filled_template(tmp_path, "组织部", 2025, "组织部_2025.xlsx", cells)
    assert validate([f]) == []
    # a figure for every town, the 镇 too (an old template, or rows added by hand)
    towns = sorted(g.loc[g["kind"] == "town", "code"].astype(str))
    wb = openpyxl.load_workbook(f)
    ws = wb["数据填报"]
    first = ws.max_row + 1
    for town in towns:
        ws.append([ind, 2025, town, "T", None, None, None, None, None, None, 1])
    wb.save(f)
    probs = validate([f])
    assert [(p.row, p.severity, p.code) for p in probs] == [
        (first + i, "warning", "area_not_applicable") for i in range(len(towns))]
    zh, en = probs[0].format("zh"), probs[0].format("en")
    assert "温泉镇" in zh and "是镇" in zh and "街道" in zh and "不计入全区汇总" in zh, zh
    assert "Wenquan Town" in en and "subdistrict" in en, en
    res = ingest([f], out_dir=tmp_path / "out")
    assert not res.has_error and len(res.panel.frame) == 1 + len(streets) + len(towns)
    check = check_district_consistency(res.panel, catalog.load())
    assert check[["submitted", "from_towns", "n_towns", "consistent"]].values.tolist() == [[1.0, 1.0, 3, True]]


def test_messages_say_what_a_cell_is_and_what_it_is_compared_with(tmp_path: Path) -> None:
    """(1) A cell showing '#DIV/0!' (a failed formula) is reported once, as an Excel error value,
    and does not join the duplicate check as a figure 'nan'; (2) a fraction's message names what
    its level comes from (here the target, since every figure of the file is below 1), never the
    cell's own value × 100; (3) '5‰' for a percent indicator is 0.5 % as typed, not a fraction to
    be 'changed to 50'."""
    from fzanalysis.panel import template

    t = template("卫健局", 2024, tmp_path / "t.xlsx")
    hiv = _template_row(t, HIV)
    hd = [_template_row(t, "health.hospital_delivery", a) for a in ("440117", "440117111", "440117113")]
    f = _filled_template(tmp_path, "卫健局", 2024, "卫健局_2024.xlsx", {
        f"K{hiv}": 98.0, **{f"K{r}": v for r, v in zip(hd, (0.70, 0.71, 0.72))}})
    wb = openpyxl.load_workbook(f)
    ws = wb["数据填报"]
    ws.append([HIV, 2024, "440117", "T", None, None, None, None, None, None, "#DIV/0!"])
    extra = ws.max_row
    ws.cell(extra, 11).data_type = "e"
    hep = _template_row(t, "health.hbv_testing_pregnant")
    ws.cell(hep, 11).value = "5‰"
    wb.save(f)
    probs = validate([f])
    got = [(p.row, p.severity, p.code) for p in probs]
    assert sorted(got) == sorted([*((r, "error", "fraction") for r in hd), (extra, "error", "excel_error"),
                                  (hep, "warning", "sign_converted")]), got
    # 5‰ in a percent row: kept as 0.5 %, never a fraction, and the conversion is shown
    conv = next(p for p in probs if p.code == "sign_converted")
    assert "5‰" in conv.format("zh") and "记为 0.5" in conv.format("zh") and "stored as 0.5" in conv.format("en")
    div = next(p for p in probs if p.code == "excel_error")
    assert "#DIV/0!" in div.format("zh") and "Excel 错误值" in div.format("zh") and "nan" not in div.format("zh")
    assert "Excel's error value #DIV/0!" in div.format("en")
    assert "除数为 0" in div.format("zh") and "division by zero" in div.format("en")
    # each error value says its own meaning, never #DIV/0!'s
    ws.cell(extra, 11).value = "#REF!"
    ws.cell(extra, 11).data_type = "e"
    wb.save(f)
    ref = [p for p in validate([f]) if p.code == "excel_error"]
    assert len(ref) == 1 and "#REF!" in ref[0].format("zh") and "已被删除" in ref[0].format("zh")
    assert "deleted" in ref[0].format("en") and "#DIV/0!" not in ref[0].format("zh") + ref[0].format("en")
    for p, own in zip([p for p in probs if p.code == "fraction"], ("70", "71", "72")):
        zh, en = p.format("zh"), p.format("en")
        assert "目标值" in zh and "同年其他地区" not in zh and f"约为 {own}" not in zh, zh
        assert "target" in en and f"about {own}" not in en, en
    from fzanalysis.panel import read_submission

    rec = read_submission(f).records.set_index("row")["value"]
    assert rec.loc[hep] == pytest.approx(0.5)


def _sort_visible(path: Path, rows: tuple[int, int]) -> None:
    """What a clerk's sort of the visible columns (指标名称 .. 数值) does to two rows: their visible
    cells trade places, the hidden key cells (A:D) stay."""
    wb = openpyxl.load_workbook(path)
    ws = wb["数据填报"]
    a, b = rows
    for c in range(5, ws.max_column + 1):
        ws.cell(a, c).value, ws.cell(b, c).value = ws.cell(b, c).value, ws.cell(a, c).value
    wb.save(path)


def test_a_row_whose_visible_name_disagrees_with_its_key_is_an_error(tmp_path: Path) -> None:
    """A template's visible 指标名称, 地区 and 性别 cells and its hidden key cells were never
    compared: after a sort of the visible columns the figure typed beside 江埔街道 was stored
    under 街口街道 in silence.  A contradiction is an error naming the cell, what it shows and what
    the key says (display_mismatch); two or more in a sheet mean its rows were reordered and the
    file is refused, with --keep-valid too (rows_reordered).  Cells written as the reader reads a
    key (女性, 街口, the slip 江浦, inner blanks, the id), blank display cells and wording that
    names nothing known are not contradictions."""
    from fzanalysis.panel import template

    t = template("卫健局", 2025, tmp_path / "t.xlsx")
    r_jk = _template_row(t, "health.maternal_mortality", "440117001")
    r_jp = _template_row(t, "health.maternal_mortality", "440117002")
    r_f = _template_row(t, "health.life_expectancy", sex="F")
    r_m = _template_row(t, "health.life_expectancy", sex="M")
    r_t = _template_row(t, "health.life_expectancy", sex="T")
    filled = {f"K{r_jk}": 10, f"K{r_jp}": 20, f"K{r_f}": 83.0, f"K{r_m}": 77.4, f"K{r_t}": 80.1}
    # as the reader reads keys: no error, every figure under its key
    same = _filled_template(tmp_path, "卫健局", 2025, "same.xlsx", {
        **filled, f"G{r_f}": "女性", f"F{r_jk}": "街口", f"F{r_jp}": " 江浦 ", f"E{r_m}": "妇女人均 预期寿命",
        f"E{r_t}": "health.life_expectancy", f"G{r_t}": None, f"E{r_jk}": "孕产妇死亡率（1/10万）"})
    assert not [p for p in validate([same]) if p.severity == "error"]
    # one row relabelled: an error at the display cell, both languages say what and where
    one = _filled_template(tmp_path, "卫健局", 2025, "one.xlsx", {**filled, f"G{r_f}": "男"})
    errs = [p for p in validate([one]) if p.severity == "error"]
    assert [(p.row, p.column, p.code, p.cell) for p in errs] == [(r_f, "sex_name", "display_mismatch", f"G{r_f}")]
    zh, en = errs[0].format("zh"), errs[0].format("en")
    assert "“性别”显示“男”" in zh and "隐藏的代码是“女”" in zh and f"G{r_f}" in zh, zh
    assert "shows “男”" in en and "hidden key is “女”" in en, en
    res = ingest([one], out_dir=tmp_path / "one_out", keep_valid=True)  # only that row is rejected
    assert res.rejected["row"].tolist() == [r_f]
    assert len(res.panel.frame) == len(filled) - 1
    # two rows' visible cells traded (a sort): both named, and the file refused whole
    swapped = _filled_template(tmp_path, "卫健局", 2025, "swapped.xlsx", filled)
    _sort_visible(swapped, (r_jk, r_jp))
    probs = validate([swapped])
    rows = [(p.row, p.column, p.code) for p in probs if p.severity == "error"]
    assert rows == [(None, None, "rows_reordered"), (r_jk, "area_name", "display_mismatch"),
                    (r_jp, "area_name", "display_mismatch")], rows
    sheet = next(p for p in probs if p.code == "rows_reordered")
    assert f"第 {r_jk}、{r_jp} 行" in sheet.format("zh") and "不能入库" in sheet.format("zh")
    assert "江埔街道" in next(p for p in probs if p.row == r_jk).format("zh")
    res = ingest([swapped], out_dir=tmp_path / "sw_out", keep_valid=True)
    assert list(res.log["status"]) == ["rejected"] and not (tmp_path / "sw_out" / "panel.parquet").exists()
    # the hidden code row deleted: the visible header names 地区代码 and 地区, 性别代码 and 性别 (no
    # longer "列 area 出现了两次"); 地区 is the display column, still compared
    for path in (same, swapped):
        wb = openpyxl.load_workbook(path)
        wb["数据填报"].delete_rows(1)
        wb.save(path.with_name("visible_" + path.name))
    assert not [p for p in validate([tmp_path / "visible_same.xlsx"]) if p.severity == "error"]
    got = [(p.row, p.column, p.code) for p in validate([tmp_path / "visible_swapped.xlsx"]) if p.severity == "error"]
    assert got == [(None, None, "rows_reordered"), (r_jk - 1, "地区", "display_mismatch"),
                   (r_jp - 1, "地区", "display_mismatch")], got


def test_a_merge_over_a_read_column_is_an_error_at_every_covered_cell(tmp_path: Path) -> None:
    """A figure typed once in a merge over two rows (K44:K45 = 72) belongs to the first row only:
    the second read blank, as 'not reported', in silence, because the check of merged cells looked
    only at rows holding a figure.  Every covered cell of a read column in a row of the table is an
    error naming the merge; the covered row holds no figure, so with --keep-valid the rest goes in.
    A merge over a display column (指标名称 over the F/M/T rows) is not read and not an error."""
    from fzanalysis.panel import template

    t = template("卫健局", 2025, tmp_path / "t.xlsx")
    r_f = _template_row(t, "health.life_expectancy", sex="F")
    r_jk = _template_row(t, "health.maternal_mortality", "440117001")
    f = _filled_template(tmp_path, "卫健局", 2025, "merged.xlsx", {f"K{r_f}": 83.0, f"K{r_jk}": 72})
    wb = openpyxl.load_workbook(f)
    ws = wb["数据填报"]
    ws.merge_cells(f"K{r_jk}:K{r_jk + 1}")  # value of 街口街道 over 江埔街道
    ws.merge_cells(f"E{r_f}:E{r_f + 2}")  # 指标名称 over its three sexes: display only
    wb.save(f)
    errs = [p for p in validate([f]) if p.severity == "error"]
    assert [(p.row, p.column, p.code, p.cell) for p in errs] == [
        (r_jk + 1, "value", "merged_cells", f"K{r_jk + 1}")], errs
    assert f"K{r_jk}:K{r_jk + 1}" in errs[0].format("zh") and f"K{r_jk + 1}" in errs[0].format("en")
    res = ingest([f], out_dir=tmp_path / "out", keep_valid=True)
    assert list(res.log["status"]) == ["partial"]
    assert sorted(res.panel.frame["value"].tolist()) == [72.0, 83.0]
    res = ingest([f], out_dir=tmp_path / "out2")
    assert list(res.log["status"]) == ["rejected"]


def test_the_unit_cell_says_a_unit_once(tmp_path: Path) -> None:
    """The template's 单位 cell read 岁（岁） and 每10万活产（/10万活产）: the symbol is added in
    brackets only when the name does not already say it."""
    from fzanalysis.panel import template

    ws = openpyxl.load_workbook(template("卫健局", 2025, tmp_path / "t.xlsx"))["数据填报"]
    col = {c.value: c.column for c in ws[1]}
    shown = {ws.cell(r, col["indicator"]).value: ws.cell(r, col["unit_label"]).value for r in range(3, ws.max_row + 1)}
    assert shown["health.life_expectancy"] == "岁"
    assert shown["health.maternal_mortality"] == "每10万活产"
    assert shown["health.hiv_testing_pregnant"] == "百分比（%）"


def test_a_share_with_nothing_to_compare_typed_below_one_is_asked_about(tmp_path: Path) -> None:
    """区人大代表中女性比例 has no numeric target and no baseline ("逐步提高"): typed 0.31 (31 %) in a
    first submission it went in as 0.31 % with no word, since the fraction rule had nothing to
    compare it with.  Every figure of a percent indicator below 1 with no peer, history, target or
    baseline is a warning asking (fraction_possible): perhaps a share is truly below 1 %, so it is
    kept.  A figure with a comparator is judged as before; one typed with a % sign is not asked."""
    from fzanalysis.panel import template

    npc = "decision.npc_deputies_female_share"
    t = template("区人大办", 2025, tmp_path / "t.xlsx")
    r = _template_row(t, npc)
    f = _filled_template(tmp_path, "区人大办", 2025, "区人大办_2025.xlsx", {f"K{r}": 0.31})
    probs = [p for p in validate([f]) if p.row == r]
    assert [(p.code, p.severity, p.cell) for p in probs] == [("fraction_possible", "warning", f"K{r}")]
    zh, en = probs[0].format("zh"), probs[0].format("en")
    assert "0.31" in zh and "区人大代表中女性比例" in zh and "应填 31" in zh, zh
    assert "type 31" in en and "no target, baseline or earlier year" in en, en
    res = ingest([f], out_dir=tmp_path / "out")
    assert res.panel.frame["value"].tolist() == [0.31]  # kept: the unit answers, not the computer
    # a later year of the same series: its history judges it, an error as any fraction
    g = _filled_template(tmp_path, "区人大办", 2025, "区人大办_2025b.xlsx", {f"K{r}": 0.33})
    history = pd.DataFrame({"indicator": npc, "year": [2023, 2024], "area": "440117", "sex": "T",
                            "value": [30.0, 31.0]})
    assert [(p.code, p.severity) for p in validate([g], history=history) if p.row == r] == [("fraction", "error")]
    # typed with its sign: in the unit already, nothing asked
    h = _filled_template(tmp_path, "区人大办", 2025, "区人大办_2025c.xlsx", {f"K{r}": "0.31%"})
    assert not [p for p in validate([h]) if p.row == r]


def test_what_a_clerk_types_is_stored_as_typed_or_refused(tmp_path: Path) -> None:
    """A third probe's silent changes, each now refused or warned at its cell:
    footnote marks read as digits (32.5① stored as 32.51, 1 shelter typed 1① as 11); a number
    format whose text names a magnitude (0.32 shown as 0.32万元 stored as 0.32 元/月); a % or ‰
    other than the unit's own converted in silence (5‰ of 孕产妇死亡率 stored as 500); a copied
    街口街道 row relabelled 西和村 filed as 街口街道's; a row inserted into the template (blank keys)
    told as four blank cells on hidden columns; notes NFKC-folded (含①②两类村 stored as 含12两类村)."""
    from fzanalysis.panel import template

    t = template("卫健局", 2025, tmp_path / "t.xlsx")
    r_mm = _template_row(t, "health.maternal_mortality", "440117001")
    r_le = _template_row(t, "health.life_expectancy", sex="F")
    r_hiv = _template_row(t, HIV)
    r_jp = _template_row(t, "health.maternal_mortality", "440117002")
    r_cj = _template_row(t, "health.maternal_mortality", "440117003")
    f = _filled_template(tmp_path, "卫健局", 2025, "卫健局_2025.xlsx", {
        f"K{r_le}": "83.5①", f"K{r_cj}": "5‰", f"K{r_mm}": 6.0, f"K{r_hiv}": 98.5, f"O{r_hiv}": "含①②两类；口径：《年鉴》（2024）",
        f"K{r_jp}": 0.32})
    wb = openpyxl.load_workbook(f)
    ws = wb["数据填报"]
    ws[f"K{r_jp}"].number_format = '0.00"万"'
    # a copied row relabelled with a village, and a row inserted with blank keys
    r_new = ws.max_row + 1
    for c in range(1, 16):
        ws.cell(r_new, c).value = ws.cell(r_mm, c).value
    ws.cell(r_new, 6).value, ws.cell(r_new, 11).value = "西和村", 9.0
    ws.cell(r_new + 1, 5).value, ws.cell(r_new + 1, 6).value, ws.cell(r_new + 1, 11).value = "孕产妇死亡率", "太平镇", 7.0
    wb.save(f)
    probs = validate([f])
    got = {(p.row, p.code, p.severity, p.cell) for p in probs if p.code != "duplicate"}
    assert (r_le, "number_footnote", "error", f"K{r_le}") in got
    assert (r_jp, "number_format_magnitude", "error", f"K{r_jp}") in got
    assert (r_cj, "sign_converted", "warning", f"K{r_cj}") in got
    assert (r_new, "display_mismatch", "error", f"F{r_new}") in got
    assert (r_new + 1, "row_not_in_template", "error", f"K{r_new + 1}") in got
    assert not {p.code for p in probs if p.row == r_new + 1} - {"row_not_in_template", "display_mismatch"}
    fn = next(p for p in probs if p.code == "number_footnote")
    assert "83.5①" in fn.format("zh") and "“①”" in fn.format("zh") and "备注" in fn.explain("zh").fix
    mag = next(p for p in probs if p.code == "number_format_magnitude")
    assert "0.32万" in mag.format("zh") and "常规" in mag.explain("zh").fix
    conv = next(p for p in probs if p.code == "sign_converted")
    assert "5‰" in conv.format("zh") and "记为 500" in conv.format("zh")
    village = next(p for p in probs if p.code == "display_mismatch")
    assert "西和村" in village.format("zh") and "街口街道" in village.format("zh")
    res = ingest([f], out_dir=tmp_path / "out", keep_valid=True)
    frame = res.panel.frame.set_index(["indicator", "area", "sex"])
    assert frame.loc[(HIV, "440117", "T"), "note"] == "含①②两类；口径：《年鉴》（2024）"
    assert frame.loc[("health.maternal_mortality", "440117003", "T"), "value"] == 500.0  # kept, warned
    assert ("health.maternal_mortality", "440117001", "T") not in frame.index  # the copied row's key twice
    assert ("health.life_expectancy", "440117", "F") not in frame.index  # 83.5① refused, not 83.51
    assert ("health.maternal_mortality", "440117002", "T") not in frame.index


def test_a_blank_area_or_sex_beside_named_ones_is_an_error(tmp_path: Path) -> None:
    """In a file whose other rows name towns, a blank 地区 was filed as 从化区 (a town's figure became
    the district's), and a blank 性别 beside 女/男 rows as 合计.  Such a blank is an error; a file
    that names no other area (every row the district, blank or 从化区) still reads blank as the
    district."""
    ind = "decision.village_committee_female_share"
    f = tmp_path / "c.csv"
    f.write_text("指标代码,年份,地区,性别,数值\n"
                 f"{ind},2025,街口街道,合计,28.0\n{ind},2025,,合计,29.9\n"
                 f"{ind},2025,江埔,,33.3\n{ind},2025,城郊,女,30.0\n", encoding="utf-8")
    got = [(p.row, p.column, p.code) for p in validate([f]) if p.severity == "error"]
    assert got == [(3, "地区", "area_blank"), (4, "性别", "sex_blank")], got
    zh = next(p for p in validate([f]) if p.code == "area_blank").format("zh")
    assert "地区是空的" in zh and "从化区" in zh
    g = tmp_path / "d.csv"
    g.write_text("指标代码,年份,地区,性别,数值\n"
                 "social_security.pension_benefit_female,2024,,女,2100\n"
                 "social_security.pension_benefit_female,2024,从化区,男,2300\n", encoding="utf-8")
    assert not [p for p in validate([g]) if p.severity == "error"]


def test_a_note_on_a_row_without_a_figure_is_never_dropped_in_silence(tmp_path: Path) -> None:
    """98.7 typed in 备注 (the last yellow column) on a row with no value was counted a blank row:
    nothing said, and a correction by note (该数据有误，作废) left the old figure in.  A number in
    the note of a row without a figure is an error of that row (the rest goes in with
    --keep-valid); any other note on such a row is a warning that the row is not read."""
    from fzanalysis.panel import template

    t = template("卫健局", 2025, tmp_path / "t.xlsx")
    r1, r2, r3 = (_template_row(t, HIV), _template_row(t, CERVICAL), _template_row(t, "health.hospital_delivery"))
    f = _filled_template(tmp_path, "卫健局", 2025, "卫健局_2025.xlsx",
                         {f"K{r1}": 98.5, f"O{r2}": "98.9%", f"O{r3}": "该数据有误，作废"})
    probs = {(p.row, p.code, p.severity, p.cell) for p in validate([f])}
    assert (r2, "figure_in_note", "error", f"O{r2}") in probs
    assert (r3, "note_without_figure", "warning", f"O{r3}") in probs
    zh = next(p for p in validate([f]) if p.code == "figure_in_note").format("zh")
    assert "98.9%" in zh and "备注" in zh and "不会入库" in zh
    res = ingest([f], out_dir=tmp_path / "out", keep_valid=True)
    assert res.panel.frame["value"].tolist() == [98.5] and list(res.log["status"]) == ["partial"]


def test_a_working_sheet_beside_the_data_sheet_is_skipped_not_refused(tmp_path: Path) -> None:
    """A clerk's working sheet (镇街 | 统计年度 | 女党员数 | 党员总数 | 比例) names one heading the reader
    knows (统计年度), so it was taken for a broken data sheet: 'missing column indicator, value' and
    the whole file refused, --keep-valid too.  Beside a data sheet it is skipped with a warning, as a
    sheet with no heading is; a workbook with no data sheet still names the missing columns."""
    from fzanalysis.panel import template

    t = template("组织部", 2025, tmp_path / "t.xlsx")
    r = _template_row(t, "decision.party_members_female_share")
    f = _filled_template(tmp_path, "组织部", 2025, "组织部_2025.xlsx", {f"K{r}": 32.4})
    wb = openpyxl.load_workbook(f)
    s2 = wb.create_sheet("Sheet2")
    s2.append(["镇街", "统计年度", "女党员数", "党员总数", "比例"])
    s2.append(["从化区", 2025, 437, 1347, 32.4])
    wb.save(f)
    probs = [(p.sheet, p.code, p.severity) for p in validate([f])]
    assert ("Sheet2", "sheet_skipped", "warning") in probs and not [p for p in probs if p[2] == "error"], probs
    assert ingest([f], out_dir=tmp_path / "out").panel.frame["value"].tolist() == [32.4]
    alone = tmp_path / "alone.xlsx"
    wb2 = openpyxl.Workbook()
    wb2.active.append(["镇街", "统计年度", "比例"])
    wb2.active.append(["从化区", 2025, 32.4])
    wb2.save(alone)
    assert {p.code for p in validate([alone]) if p.severity == "error"} == {"missing_column"}


def test_a_relabelled_or_inserted_figure_column_is_refused(tmp_path: Path) -> None:
    """A clerk kept last year's figures in the template's 数值 column, relabelled it 数值（2024年）
    in the visible row and inserted 数值（2025年） beside it: the 2024 figures were stored as 2025's
    and the new column was 'a column without a heading'.  A visible heading naming a year other than
    the template's refuses the file (heading_year), and a column headed in the visible row only
    names what it is and which column is read (visible_heading_only)."""
    from fzanalysis.panel import template

    t = template("妇联", 2025, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(t)
    ws = wb["数据填报"]
    ws.insert_cols(12)
    ws.cell(2, 11).value, ws.cell(2, 12).value = "数值（2024年）", "数值（2025年）"
    ws.cell(3, 11).value, ws.cell(3, 12).value = 85.0, 91.5
    f = tmp_path / "妇联_2025.xlsx"
    wb.save(f)
    probs = validate([f])
    got = {(p.code, p.severity) for p in probs}
    assert ("heading_year", "error") in got and ("visible_heading_only", "error") in got, probs
    assert "no_heading" not in {p.code for p in probs}
    year = next(p for p in probs if p.code == "heading_year").format("zh")
    assert "数值（2024年）" in year and "2025 年度" in year, year
    only = next(p for p in probs if p.code == "visible_heading_only").format("zh")
    assert "第 L 列" in only and "数值（2025年）" in only and "K 列" in only, only
    res = ingest([f], out_dir=tmp_path / "out", keep_valid=True)
    assert list(res.log["status"]) == ["rejected"]


def test_a_reused_template_says_it_revises_last_year(tmp_path: Path) -> None:
    """A unit filled the 2024 template again with 2025 figures (saved as 妇联_2025.xlsx): every figure
    went in as a revision of 2024, validate said nothing and ingest only '修订 2'.  Each figure that
    would replace a different one already ingested is a warning naming both, and a file whose name
    says another year than its figures is a warning too."""
    from fzanalysis.panel import template

    t = template("妇联", 2024, tmp_path / "t.xlsx")
    r = _template_row(t, "decision.women_councils")
    first = _filled_template(tmp_path, "妇联", 2024, "妇联_2024.xlsx", {f"K{r}": 88.0})
    again = _filled_template(tmp_path, "妇联", 2024, "妇联_2025.xlsx", {f"K{r}": 91.5})
    out = tmp_path / "out"
    ingest([first], out_dir=out)
    res = ingest([again], out_dir=out)
    got = {(p.row, p.code, p.severity) for p in res.problems}
    assert (r, "revises", "warning") in got and (None, "file_year", "warning") in got, got
    rev = next(p for p in res.problems if p.code == "revises").format("zh")
    assert "91.5" in rev and "88" in rev and "2024 年" in rev, rev
    assert "文件名写的是 2025 年" in next(p for p in res.problems if p.code == "file_year").format("zh")
    # the same figure again: nothing to say
    same = _filled_template(tmp_path, "妇联", 2024, "妇联_2024_again.xlsx", {f"K{r}": 91.5})
    assert not [p for p in ingest([same], out_dir=out).problems if p.code in ("revises", "file_year")]


def test_a_problem_of_a_hidden_key_cell_is_marked_where_the_clerk_looks(tmp_path: Path) -> None:
    """The feedback copy put the comment of a blank or unknown indicator code on A5, a hidden
    column: the unit saw no red cell on that row.  A mark of a hidden column goes to the first
    visible cell of its row (指标名称)."""
    from fzanalysis.panel import annotate, template

    t = template("卫健局", 2025, tmp_path / "t.xlsx")
    r = _template_row(t, HIV)
    f = _filled_template(tmp_path, "卫健局", 2025, "卫健局_2025.xlsx", {f"K{r}": 98.0, f"A{r}": "health.no_such_thing"})
    probs = validate([f])
    assert any(p.code == "unknown_indicator" and p.cell == f"A{r}" for p in probs)
    out = annotate(probs, [f], tmp_path / "fb")[0]
    ws = openpyxl.load_workbook(out)["数据填报"]
    assert ws[f"A{r}"].comment is None
    assert ws[f"E{r}"].comment is not None and "health.no_such_thing" in ws[f"E{r}"].comment.text


def test_counts_in_error_are_said_once_not_also_as_a_missing_value(tmp_path: Path) -> None:
    """分子 5 over 分母 0 was 'numerator 5 above denominator 0' plus '没有填数值', and '3.2万' in the
    counts also '没有填数值' although the clerk filled the counts.  A zero denominator is said to be
    zero, and a row whose counts are typed (in error) is not also told it has no value."""
    f = tmp_path / "c.csv"
    f.write_text("指标代码,年份,地区,性别,数值,分子,分母\n"
                 f"{HIV},2024,从化区,合计,,5,0\n{CERVICAL},2024,从化区,合计,,3.2万,4万\n"
                 f"{HIV},2023,从化区,合计,,,\n", encoding="utf-8")
    got = [(p.row, p.column, p.code) for p in validate([f]) if p.severity == "error"]
    assert got == [(2, "分母", "zero_denominator"), (3, "分子", "count_not_a_number"),
                   (3, "分母", "count_not_a_number")], got


def test_a_figure_for_a_year_still_to_come_is_refused(tmp_path: Path) -> None:
    """A year after the current one (2028 typed for 2024, the plan's 2030, a template's hidden
    year edited) was stored as that year's figure: every year of 2000–2030 passed.  No unit has
    figures for a year still to come, so such a row is an error at its year cell; the run's own
    date (``now`` of ingest, ``latest_year`` of validate, default today) says which year that is."""
    from datetime import UTC, date, datetime

    f = tmp_path / "妇联_2024.csv"
    f.write_text("indicator,year,area,sex,value\n"
                 f"{HIV},2024,440117,T,98.5\n"
                 f"{HIV},2025年,440117,T,98.7\n"
                 f"{HIV},{date.today().year + 1},440117,T,98.9\n", encoding="utf-8")
    probs = [p for p in validate([f], latest_year=2024) if p.severity == "error"]
    assert {(p.row, p.column, p.code) for p in probs} == {(3, "year", "year_future"), (4, "year", "year_future")}
    said = next(p for p in probs if p.row == 3)
    assert "2025" in said.format("zh") and "2024" in said.format("zh")
    assert "2025" in said.format("en") and "has not come" in said.format("en")
    assert "年份" in said.explain("zh").fix
    assert [p.row for p in validate([f]) if p.code == "year_future"] == [4]  # today's next year
    res = ingest([f], out_dir=tmp_path / "out", keep_valid=True, now=datetime(2024, 12, 1, tzinfo=UTC))
    assert res.panel.frame["year"].tolist() == [2024]
    assert sorted(res.rejected["row"].astype(int)) == [3, 4]


def test_a_cell_typed_over_several_lines_is_one_cell_of_one_row(tmp_path: Path) -> None:
    """A 备注 typed over several lines (Alt+Enter in Excel, saved as CSV: a quoted cell with line
    breaks) was refused as a quotation mark never closed when it had two line breaks or a comma
    after one, its row not read; and every row below such a cell was named by its line in the
    file, not the row Excel shows (the error of row 6 said 第 8 行).  It is one cell of one row;
    a quotation mark that takes in the rows below it is still an error."""
    from fzanalysis.panel import annotate

    f = tmp_path / "excel.csv"
    f.write_bytes(("indicator,year,area,sex,value,numerator,denominator,note\r\n"
                   f"{HIV},2024,440117,T,98.5,,,\r\n"
                   f'{HIV},2024,街口街道,T,98.1,,,"1、来源：妇幼年报\n2、含流动人口\n3、已复核"\r\n'
                   f'{HIV},2024,江埔街道,T,97.9,,,"口径同上年\n含流动人口, 已复核"\r\n'
                   f"{HIV},2024,城郊街道,T,97.5,,,\r\n"
                   f"{HIV},2024,温泉镇,T,abc,,,\r\n").encode())
    probs = validate([f])
    assert [(p.row, p.column, p.code) for p in probs if p.severity == "error"] == [(6, "value", "not_a_number")]
    rec = read_submission(f).records
    assert rec["row"].tolist() == [2, 3, 4, 5, 6]
    assert rec["note"].tolist()[1:3] == ["1、来源：妇幼年报\n2、含流动人口\n3、已复核", "口径同上年\n含流动人口, 已复核"]
    ws = openpyxl.load_workbook(annotate(probs, [f], tmp_path / "fb")[0])["excel"]
    assert ws["E6"].value == "abc" and ws["E6"].comment is not None and ws["H3"].value.endswith("已复核")
    # a stray quote closed two rows below still takes those rows in: an error, the rest read
    g = tmp_path / "stray.csv"
    g.write_text("indicator,year,area,sex,value,note\n"
                 f'{HIV},2023,440117,T,98.0,"未闭合\n{HIV},2024,440117,T,98.5,\n{HIV},2025,440117,T,98.9,止"\n'
                 f"{HIV},2022,440117,T,97.0,\n", encoding="utf-8")
    assert [(p.row, p.code) for p in validate([g], latest_year=2025)] == [(2, "unclosed_quote")]
    assert read_submission(g).records["year"].tolist() == [2024, 2025, 2022]


def test_a_fraction_beside_the_other_years_of_its_series_in_the_file_is_refused(tmp_path: Path) -> None:
    """A first submission giving 2020–2024 at once: 0.985 for 2021 beside 98.5, 100 … of the same
    district series was stored as 0.985 %, since its level came only from the committed panel and
    from the other areas of the same year (none for a district-only figure).  The series' other
    years in the batch are its level too; a series of small shares stays below 1 untouched."""
    f = tmp_path / "卫健局_2020-2024.csv"
    f.write_text("indicator,year,area,sex,value\n"
                 f"{HIV},2020,440117,T,0.985\n{HIV},2021,440117,T,98.5\n{HIV},2022,440117,T,100\n"
                 f"{HIV},2023,440117,T,0.991\n{HIV},2024,440117,T,99.2\n", encoding="utf-8")
    probs = validate([f], latest_year=2024)
    assert [(p.row, p.column, p.code) for p in probs if p.severity == "error"] == [
        (2, "value", "fraction"), (5, "value", "fraction")]
    said = next(p for p in probs if p.row == 2)
    assert "其他年份" in said.format("zh") and "98.5" in said.format("zh") and "99.2" in said.format("zh")
    assert "other years" in said.format("en")
    res = ingest([f], out_dir=tmp_path / "out", keep_valid=True)
    assert sorted(res.panel.frame["value"].tolist()) == [98.5, 99.2, 100.0]


def test_a_section_heading_merged_across_the_table_is_not_an_error(tmp_path: Path) -> None:
    """A form's section heading (一、妇女与健康) merged across every column of its row, between
    data rows, was six errors 'merged cells: each row filled on its own', refusing the file,
    though no figure was under it.  A merge over rows holding no figure hides none: the row is
    read as any row without a figure; a merge reaching a row with a figure is still an error."""
    f = _workbook(tmp_path / "sections.xlsx", [
        ["指标代码", "年份", "地区", "性别", "数值", "分子", "分母"],
        ["一、妇女与健康"],
        [HIV, 2024, "从化区", "合计", 98.5, None, None],
        ["（二）宫颈癌筛查", None, None, None, None, None, None],
        [CERVICAL, 2024, "从化区", "合计", None, 12345, 20000],
        [CERVICAL, 2024, "街口街道", "合计", 61.2, None, None],
        [CERVICAL, 2024, "江埔街道", "合计", None, None, None],
    ], merges=("A2:G2", "A4:G4", "E6:E7"))
    probs = validate([f], latest_year=2024)
    assert [(p.row, p.code, p.cell) for p in probs if p.severity == "error"] == [(7, "merged_cells", "E7")]
    assert [r[:2] for r in _records(f)] == [(3, HIV), (5, CERVICAL), (6, CERVICAL)]
