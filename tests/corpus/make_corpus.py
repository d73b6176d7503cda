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


if __name__ == "__main__":
    main()
