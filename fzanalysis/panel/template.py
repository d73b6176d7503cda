"""The Excel submission template (填报模板) a member unit fills in.

:func:`template` writes one workbook per member unit and year; :func:`fzanalysis.panel.ingest`
maps every filled row back exactly through the hidden row of column codes.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation

from fzanalysis import codes, config, labels
from fzanalysis.panel import _lookups as lk
from fzanalysis.panel.problems import Refusal
from fzanalysis.panel.submission import SUBMISSION_YEARS

__all__ = ["INPUT_SHEET", "INSTRUCTION_SHEET", "TEMPLATE_VERSION", "template"]

TEMPLATE_VERSION = "fzanalysis-template-1"
INPUT_SHEET = "数据填报"
INSTRUCTION_SHEET = "填报说明"


def template(department: str, year: int, out: str | Path, *, catalog: pd.DataFrame | None = None) -> Path:
    """Write an Excel submission workbook for one member unit.

    The workbook has an instruction sheet in Chinese (``填报说明``), one input
    sheet (``数据填报``) with one row per indicator x area (the district, and
    where the catalogue disaggregates by area the towns of the kinds its
    ``area_kinds`` names, every town when it names none; x sex where the
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
    SubmissionError
        Unknown department (the message lists the catalogue's departments) or
        a year outside 2000-2030.
    """
    lo_year, hi_year = SUBMISSION_YEARS
    if not isinstance(year, (int, np.integer)) or not lo_year <= int(year) <= hi_year:
        raise Refusal("template_year", found=year, lo=lo_year, hi=hi_year)
    cat = lk.catalog_index(catalog)
    depts = sorted({str(d) for d in cat.get("department", pd.Series(dtype=str)).dropna()})
    mine = cat[cat["department"].astype(str) == department] if "department" in cat else cat.iloc[:0]
    if mine.empty:
        raise Refusal("template_department", found=department, departments="、".join(depts))
    units = config.units()
    col_labels = {**config.label_table()["panel_column"], **config.label_table()["template_column"]}
    sex_label = config.label_table()["sex"]
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
    validations: dict[tuple[str, float, float, str], DataValidation] = {}

    def dv_for(kind: str, lo: float, hi: float, unit: str, unit_zh: str) -> DataValidation:
        # one validation per unit as the row writes it: two units with the same bounds (a count and
        # a ratio, both >= 0), or two counts in different words (条, 个), are each told their own
        key = (kind, lo, hi, unit_zh)
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
            example = labels.unit_example(unit, "zh") if kind == "value" else ""
            dv.prompt = f"请输入{rng}的{what}" + (f"，{example}" if example else "") + "。"
            dv.showInputMessage = True
            validations[key] = dv
            ws.add_data_validation(dv)
        return validations[key]

    district = codes.district()
    r = 3
    for ind, crow in mine.iterrows():
        dis = lk.disagg(crow)
        # only the towns the target applies to (catalogue area_kinds: 街道 only, say)
        areas = [district] + (list(lk.applicable_towns(crow)) if "area" in dis else [])
        sexes = ["F", "M", "T"] if "sex" in dis else ["T"]
        unit = lk.cat_get(crow, "unit")
        unit_name = str(units.at[unit, "name_zh"]) if unit in units.index else str(unit)
        # the symbol in the indicator's counting word (条/年 for adverts, 名 for leaders; labels.unit_word)
        word = labels.unit_word(crow, "zh")
        symbol = (labels.unit_label(unit, "zh", word=word)
                  if unit in units.index and str(units.at[unit, "symbol"]).strip() else "")
        unit_zh = _unit_text(unit_name, symbol)
        lo, hi = lk.bounds(crow)
        lo = lo if math.isfinite(lo) else -1e15
        target_text = labels.format_target(crow["comparator"], crow["target"], unit,
                                            tolerance=crow.get("tolerance", math.nan), lang="zh", style="symbol",
                                            word=word)
        num_zh, den_zh = lk.cat_get(crow, "numerator_zh"), lk.cat_get(crow, "denominator_zh")
        has_counts = bool(num_zh and den_zh)
        for area in areas:
            for sex in sexes:
                row = {"indicator": ind, "year": int(year), "area": area, "sex": sex,
                       "name_zh": lk.cat_get(crow, "name_zh", ind), "area_name": lk.area_name(area),
                       "sex_name": sex_label[sex]["zh"], "unit_label": unit_zh,
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
                dv_for("value", lo, hi, unit, unit_zh).add(f"{letter['value']}{r}")
                if has_counts:
                    dv_for("count", 0.0, math.inf, "", "").add(f"{letter['numerator']}{r}:{letter['denominator']}{r}")
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


def _unit_text(name: str, symbol: str) -> str:
    """The 单位 cell: the unit's name, and its symbol in brackets when the name does not already
    say it (百分比（%）, 每千（‰）; 岁, 元/月, 每10万活产 once, not 岁（岁）)."""
    return f"{name}（{symbol}）" if symbol and symbol.lstrip("/") not in name else name


def _xl(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else ""


