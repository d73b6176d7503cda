"""The written outputs of the report: Word (structure, fonts, captions) and Excel (headers, formats)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from fzanalysis import labels
from fzanalysis.report import docx as report_docx
from fzanalysis.report import excel, html, setup, tables


@pytest.fixture(scope="module")
def midterm():
    """The 2025 mid-term context on the demo data (2025 has no data yet: 2024 is assessed)."""
    return setup(year=2025, kind="midterm", show=False)


def test_template_sets_east_asian_fonts_and_a4():
    doc = Document(str(report_docx.TEMPLATE))
    section = doc.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    for style, font in (("Normal", "仿宋"), ("Heading 1", "黑体"), ("Heading 2", "黑体"), ("Caption", "黑体")):
        fonts = doc.styles[style].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) == font, style


def test_word_report_structure(midterm, tmp_path: Path):
    path = report_docx.write_docx(midterm, tmp_path / "r.docx")
    doc = Document(str(path))
    heads1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    heads2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert heads1[0] == "一、各领域目标实现情况"
    assert [h.split("、", 1)[1] for h in heads1[1:6]] == ["镇街目标实现情况", "预警指标", "中期评估结论",
                                                         "突出问题", "对策建议"]
    assert heads1[-2].startswith("附录") and heads1[-1] == "资料来源"  # the citations of the national figures last
    # （一）…（八） in the plan's order
    domains = [f"（{report_docx.chinese_numeral(k)}）{labels.domain_label(d)}"
               for k, d in enumerate(labels.domain_order(), start=1)]
    assert heads2[:8] == domains
    # the evaluation chapter's sections are numbered like every other: （一）verdicts, （二）baseline
    assert heads2[8:10] == ["（一）评估结论", "（二）与2020年基线比较"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert re.search(r"规划87项监测目标中，\d+项已达标", text)  # the 达标率 sentence
    assert re.search(r"1．2024年.+为.+较上年(提高|下降)[0-9.]+个百分点", text)  # numbered findings
    assert "与2020年基线相比" in text
    # demo data: said in the page header and under the title
    assert "演示数据" in doc.sections[0].header.paragraphs[0].text and "演示数据" in text
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert [c for c in captions if c.startswith("表")][:2] == ["表1  2024年各领域目标实现情况",
                                                             "表2  2024年各镇街目标实现情况"]
    assert any(c.startswith("图1") for c in captions) and any(c.startswith("图2") for c in captions)
    body = doc.element.body.xml
    assert "SEQ 表" in body and "SEQ 图" in body  # Word renumbers figures and tables
    appendix = doc.tables[-1]
    assert len(appendix.rows) == len(midterm.judgement) + 1
    assert appendix.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # header repeats on each page
    # explicit column widths that LibreOffice and Word both honour: fixed layout, grid = cells = text width
    sec = doc.sections[-1]
    text_width = sec.page_width.twips - sec.left_margin.twips - sec.right_margin.twips
    assert abs(text_width - (21.0 - 2.8 - 2.6) / 2.54 * 1440) < 2  # A4 less the margins: 15.6 cm
    for table in doc.tables:
        tbl = table._tbl
        assert tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        grid = [int(c.get(qn("w:w"))) for c in tbl.tblGrid.findall(qn("w:gridCol"))]
        assert sum(grid) == text_width == int(tbl.tblPr.find(qn("w:tblW")).get(qn("w:w")))
        for row in table.rows:
            assert [c.width.twips for c in row.cells] == grid
            assert row._tr.trPr.find(qn("w:cantSplit")) is not None
    first = [int(c.get(qn("w:w"))) for c in doc.tables[0]._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert first[0] > 2 * first[1]  # the domain column is wider than the counts: widths are not equal


def test_annual_word_report_has_no_evaluation_chapters(midterm, tmp_path: Path):
    from dataclasses import replace

    annual = replace(midterm, kind="annual", year=2024)
    for name in ("assessed", "projected", "judgement"):  # same data year: reuse the results
        annual.__dict__[name] = getattr(midterm, name)
    doc = Document(str(report_docx.write_docx(annual, tmp_path / "a.docx")))
    heads1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert not any("突出问题" in h or "对策建议" in h for h in heads1)


def test_status_workbook(midterm, tmp_path: Path):
    path = excel.write_workbook(midterm.judgement, tmp_path / "s.xlsx", provenance={"a": 1}, towns=midterm.assessed)
    wb = load_workbook(path)
    assert wb.sheetnames == ["状态", "代码", "长表（数据透视用）", "来源"]
    ws = wb["状态"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["序号", "领域", "规划条款", "指标", "性别"] and "p_meet" not in header
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.print_title_rows == "$1:$1" and ws.print_title_cols == "$A:$D"  # 序号…指标 on every page
    assert int(ws.page_setup.fitToWidth) == 2 and int(ws.page_setup.fitToHeight) == 0
    # domains in the plan's order, words not codes
    seen = list(dict.fromkeys(c.value for c in ws["B"][1:]))
    assert seen == [labels.domain_label(d) for d in labels.domain_order()]
    col = {name: i for i, name in enumerate(header)}
    sexes = [row[col["性别"]] for row in ws.iter_rows(min_row=2, values_only=True)]
    # as the index writes it (tables.headline_view): 女/男, blank for a total -- 合计 beside
    # 妇女生育保险参保率 (a women-only population) read as both sexes
    assert set(sexes) <= {"女", "男", None, ""} and "女" in sexes
    assert sexes == [x or None for x in tables.headline_view(midterm.judgement)["sex"]]
    assert {row[col["演示数据"]] for row in ws.iter_rows(min_row=2, values_only=True)} == {"是"}
    p_cell = ws.cell(row=2, column=col["概率"] + 1)
    assert p_cell.number_format == "0%"
    assert "达标概率" not in header  # 逐步提高/降低 targets carry the probability of their direction
    rules = [r for rng in ws.conditional_formatting for r in rng.rules]
    assert {r.formula[0] for r in rules} >= {'"已达标"', '"未达标"'}
    assert ws.column_dimensions["D"].width == excel.MAX_WIDTH_WIDE  # indicator names wrap within 30
    assert ws.cell(row=2, column=4).alignment.wrap_text
    long_name = next(r for r in range(2, ws.max_row + 1) if len(str(ws.cell(row=r, column=4).value)) > 14)
    assert ws.row_dimensions[long_name].height >= 2 * excel.ROW_HEIGHT  # room for the wrapped lines
    assert max(d.width for d in ws.column_dimensions.values()) <= excel.MAX_WIDTH_WIDE
    # widths fit the text shown under the number formats, not the floats' 17 digits
    for name in ("数值", "比上年变化", "2030年预测", "概率"):
        assert ws.column_dimensions[chr(ord("A") + col[name])].width <= 12, name
    fills = {r.formula[0]: (r.dxf.fill.fgColor.rgb, r.dxf.fill.bgColor.rgb) for r in rules}
    assert fills['"已达标"'] == ("00" + excel.STATUS_FILLS["met"],) * 2  # Excel, WPS and LibreOffice
    assert [c.value for c in wb["来源"][1]] == ["项目", "内容"]
    long = wb["长表（数据透视用）"]
    assert long.max_row - 1 == len(midterm.assessed)
    # one judged row per target; rows of the other sex are context, without status or verdict
    lh = {c.value: i for i, c in enumerate(long[1])}
    rows = list(long.iter_rows(min_row=2, values_only=True))
    roles = [r[lh["用途"]] for r in rows]
    assert roles.count("判定数据（全区）") == len(midterm.judgement)
    context = [r for r in rows if r[lh["用途"]] == "性别对照（不判定）"]
    assert context and all(r[lh["达标状态"]] is None and r[lh["评估结论"]] is None for r in context)
    judged = [r for r in rows if r[lh["用途"]] != "性别对照（不判定）"]
    assert all(r[lh["达标状态"]] for r in judged)
    # a pooled rate says so (a town's maternal mortality over 2020–2024 read as a 2024 figure)
    pooled = midterm.assessed["pooled_years"].fillna("").astype(str).str.strip() != ""
    assert pooled.any() and sum(bool(r[lh["合并计算年份"]]) for r in rows) == int(pooled.sum())
    life = [r for r in rows if r[lh["指标"]] == "妇女人均预期寿命" and r[lh["层级"]] == "全区"]
    assert {r[lh["性别"]]: r[lh["用途"]] for r in life}.get("男") == "性别对照（不判定）"


def test_every_csv_has_a_bom(midterm, tmp_path: Path):
    path = excel.write_status_csv(midterm.judgement, tmp_path / "status.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_chapter_template_loads_nothing_from_the_internet(tmp_path: Path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 标题\n\n$x^2$")]
    src = tmp_path / "a.ipynb"
    nbformat.write(nb, str(src))
    html.notebook_to_html(src, tmp_path / "a.html", html.banner_html({"synthetic": True}, "zh"))
    page = (tmp_path / "a.html").read_text("utf-8")
    assert not re.search(r"https?://[^\"' ]+\.(js|css)", page)
    assert "require.js" not in page and "mathjax" not in page.lower() and "mermaid" not in page.lower()
    assert page.count('class="fz-demo"') == 1 and "@page { size: A4" in page and "print-color-adjust" in page


def test_word_report_cites_every_reference_figure_it_states(midterm, tmp_path: Path):
    """"全国2024年为94.9%" appeared 18 times in the mid-term report with no source anywhere in it."""
    doc = Document(str(report_docx.write_docx(midterm, tmp_path / "r.docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    cited = midterm.judgement["reference_source"].dropna().unique()
    assert len(cited) > 0 and "全国2024年为" in text
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert heads[-1] == labels.label("docx", "h_sources")
    for source in cited:
        assert source in text


def test_national_word_report_cites_its_figures_and_dates_older_values(tmp_path: Path):
    """The national report's appendix put a 2017 and a 2020 figure under the heading '2024年', uncited."""
    from fzanalysis import plan

    with plan.use("china"):
        ctx = setup(year=2024, show=False)
        doc = Document(str(report_docx.write_docx(ctx, tmp_path / "r.docx")))
    j = ctx.judgement
    text = "\n".join(p.text for p in doc.paragraphs)
    frame = ctx.panel.frame
    judged = frame.merge(j[["indicator", "area", "sex", "year"]], on=["indicator", "area", "sex", "year"])
    assert len(judged) and all(source in text for source in judged["source"].unique())
    appendix = doc.tables[-1]
    values = {r.cells[2].text: r.cells[4].text for r in appendix.rows[1:]}
    older = j[j["year"].notna() & (j["year"] != ctx.data_year)]
    assert len(older) >= 2
    for _, row in older.iterrows():
        name = labels.name_with_sex(row["name_zh"], row["sex"], subject_sex=row["subject_sex"])
        assert values[name].endswith(f"（{int(row['year'])}年）"), (name, values[name])


def test_english_word_report_reads_as_english(midterm, tmp_path: Path):
    """The English Word report: numbered evaluation sections, headings that say what the Chinese
    ones say (Targets by town), counts that agree (no '1 are'), the verdict tally as label + count."""
    from dataclasses import replace

    english = replace(midterm, lang="en")
    for name in ("assessed", "projected", "judgement"):  # same data: reuse the results
        english.__dict__[name] = getattr(midterm, name)
    doc = Document(str(report_docx.write_docx(english, tmp_path / "en.docx")))
    heads1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    heads2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert heads1[1:4] == ["2. Targets by town", "3. Early warnings", "4. Mid-term evaluation: conclusions"]
    assert heads2[8:10] == ["4.1 Verdicts", "4.2 Against the 2020 baseline"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert not re.search(r"\b1 (are|have|targets|indicators)\b|\(s\)", text)
    assert re.search(r"monitored targets: achieved \d+, largely achieved \d+", text)
    body = "\n".join(p.text for p in doc.paragraphs if not p.text.startswith(tuple("0123456789")))
    assert not re.search(r"[\u4e00-\u9fff]", body.split("Sources")[0])  # no Chinese before the citations


def test_english_status_sheet_has_no_chinese(midterm):
    """The English 状态 sheet: every column a reader reads is English (the plan clause too)."""
    sheet = excel.status_sheet(midterm.judgement, lang="en")
    for column in sheet.columns:
        text = sheet[column].astype(str)
        assert not text.str.contains(r"[\u4e00-\u9fff]").any(), (column, text.head(3).tolist())


def test_a_figure_on_a_page_is_described_by_its_title(tmp_path: Path, monkeypatch):
    """nbconvert wrote 'No description has been provided for this image' (English, on Chinese
    pages too) under every figure: show_figure gives the figure's title as its alternative text."""
    import matplotlib
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

    from fzanalysis.report import context

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown: list = []
    monkeypatch.setattr(context, "display", shown.append)
    fig, ax = plt.subplots()
    ax.set_title("各领域达标率 <b>")
    context.show_figure(fig)
    data, metadata = InteractiveShell.instance().display_formatter.format(shown[0])
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=metadata)]
    nb.cells = [cell]
    src = tmp_path / "f.ipynb"
    nbformat.write(nb, str(src))
    html.notebook_to_html(src, tmp_path / "f.html", html.banner_html({"synthetic": True}, "zh"))
    page = (tmp_path / "f.html").read_text("utf-8")
    assert 'alt="各领域达标率 &lt;b&gt;"' in page and "No description" not in page


def test_the_evaluation_chapter_is_named_as_an_evaluation_not_a_report(midterm):
    """Inside the 中期评估报告 the chapter is 中期评估：对照基线与目标 (was 中期评估报告：…)."""
    from dataclasses import replace

    assert midterm.evaluation_label == "中期评估"
    assert replace(midterm, lang="en").evaluation_label == "Mid-term evaluation"
    import nbformat

    from fzanalysis.report.params import NOTEBOOKS_DIR
    source = "".join(c.source for c in nbformat.read(str(NOTEBOOKS_DIR / "05_evaluation.ipynb"), 4).cells)
    assert 'ctx.text("eval_title", kind=ctx.evaluation_label)' in source


def test_english_word_report_cites_with_english_locators(tmp_path: Path):
    """The English national Word report's sources list had half-Chinese locators ('新华社 dispatch
    第2段'); it cites with ``locator_en``, and the Chinese report keeps the Chinese locator."""
    from dataclasses import replace

    from fzanalysis import plan, reference

    raw = reference.load()
    with plan.use("china"):
        ctx = setup(year=2024, show=False)
        english = replace(ctx, lang="en")
        for name in ("assessed", "projected", "judgement"):  # same data: reuse the results
            english.__dict__[name] = getattr(ctx, name)
        zh = "\n".join(p.text for p in Document(str(report_docx.write_docx(ctx, tmp_path / "zh.docx"))).paragraphs)
        en = "\n".join(p.text for p in Document(str(report_docx.write_docx(english, tmp_path / "en.docx"))).paragraphs)
    heading = labels.label("docx", "h_sources", "en")
    sources = en[en.rindex(heading):]
    cited = [s for s in raw["source_en"].unique() if s in sources]
    assert len(cited) >= 3
    for loc in raw["locator"].unique():
        assert f"，{loc}" not in sources, loc
    assert any(f"，{loc}" in zh for loc in raw["locator"].unique())
    # the official release is cited, never the reprint or digest the figure was read in, and the
    # Chinese list is Chinese (no 'read in a copy at http://…', no 'digest')
    zh_sources = zh[zh.rindex(labels.label("docx", "h_sources", "zh")):]
    for text in (zh_sources, sources):
        assert "://" not in text and "read in a copy" not in text
    assert "digest" not in zh_sources and "dispatch" not in zh_sources
    assert "正式文本核对" in zh_sources


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_band_target_is_written_one_way_in_table_text_word_and_excel(midterm, tmp_path: Path, lang):
    """Tables said '≈≥ 45% ± 2' where the text said 'about 45 % or more': a 左右 target is written
    once, the plan's word with its floor (45%左右（不低于43%）), in the Excel sheet, the Word
    appendix and the finding sentence."""
    from dataclasses import replace

    from fzanalysis import narrative

    ctx = replace(midterm, lang=lang)
    for name in ("assessed", "projected", "judgement"):  # same data: reuse the results
        ctx.__dict__[name] = getattr(midterm, name)
    j = midterm.judgement
    band = j[j["comparator"].isin(["~=", "~>="])]
    assert len(band) >= 3
    sheet = excel.status_sheet(j, lang=lang)
    sheet_targets = sheet[labels.label("xlsx_column", "target", lang)].tolist()
    doc = Document(str(report_docx.write_docx(ctx, tmp_path / f"{lang}.docx")))
    appendix = [r.cells[3].text for r in doc.tables[-1].rows[1:]]
    for pos, (_, r) in zip(band.index.map(j.index.get_loc), band.iterrows(), strict=True):
        words = labels.format_target(r["comparator"], r["target"], r["unit"], tolerance=r["tolerance"], lang=lang)
        floor = labels.format_value(r["target"] - r["tolerance"], r["unit"], lang=lang).replace(".0", "")
        assert floor in words and "±" not in words and "≈" not in words
        assert sheet_targets[pos] == words == appendix[pos]
        assert words in narrative.finding(r.to_dict(), lang=lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_targets_that_cannot_be_told_are_one_account(midterm, tmp_path: Path, lang):
    """The mid-term text said '31项暂无法判定或无数据' and, a page later, '暂无法评估9项', two counts
    side by side: the 达标率 sentence gives the one count with its reasons, and how many of those the
    verdict cannot assess, the number the verdict table shows."""
    from dataclasses import replace

    j = midterm.judgement
    undecided = j[~j["status"].isin(["met", "not_met"])]
    na = int((j["verdict"] == "not_assessable").sum())
    assert len(undecided) > na > 0
    sentence = tables.attainment_sentence(j, lang=lang)
    verdicts = labels.fill(labels.label("report", "attainment_verdicts", lang), na=na, rest=len(undecided) - na)
    assert verdicts in sentence
    inside = sentence[sentence.index("（" if lang == "zh" else "("):sentence.index(verdicts)]
    counts = [int(k) for k in re.findall(r"(\d+)项" if lang == "zh" else r": (\d+)", inside)]
    assert sum(counts) == len(undecided) and len(counts) >= 2, inside
    ctx = replace(midterm, lang=lang)
    for name in ("assessed", "projected", "judgement"):
        ctx.__dict__[name] = getattr(midterm, name)
    text = "\n".join(p.text for p in Document(str(report_docx.write_docx(ctx, tmp_path / "r.docx"))).paragraphs)
    assert sentence in text
    tally = next(t for t in tables.verdict_counts(j, lang=lang).itertuples() if t.verdict == "not_assessable")
    assert tally.n == na


def test_word_report_counts_targets_in_the_status_words(midterm, tmp_path: Path):
    """The Word report counted a domain's targets as '8项已实现，11项尚未实现' (26 targets, 7 left
    out), its tables headed 已实现/未实现 beside the status column's 已达标/未达标, and the towns
    paragraph called few-event figures '小数指标': each domain sentence accounts for every target in
    the status labels' words, as the plan's sentence does."""
    doc = Document(str(report_docx.write_docx(midterm, tmp_path / "r.docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    j = midterm.judgement
    for _, g in j.groupby("domain", sort=False):
        assert tables.attainment_sentence(g, domain=True) in text
    assert "已实现，" not in text and "尚未实现" not in text and "小数指标" not in text
    # nor any other page (the towns chapter's intro and maps heading said 小数指标 too)
    from fzanalysis import config
    assert "小数指标" not in str(config.label_table())
    heads = [c.text for c in doc.tables[0].rows[0].cells]
    assert labels.label("status", "met") in heads and labels.label("status", "not_met") in heads


def test_an_indicator_has_one_name_in_text_appendix_and_sources(midterm, tmp_path: Path):
    """The finding said 妇女人均预期寿命 while the appendix and the sources list said
    妇女人均预期寿命（女）, and 九年义务教育巩固率 (judged on girls) was named without its sex in the
    text: every view names a judged figure through labels.name_with_sex with its subject sex."""
    from fzanalysis import narrative

    j = midterm.judgement
    doc = Document(str(report_docx.write_docx(midterm, tmp_path / "r.docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    appendix = [r.cells[2].text for r in doc.tables[-1].rows[1:]]
    life = j[j["indicator"] == "health.life_expectancy_female"].iloc[0] if (
        j["indicator"] == "health.life_expectancy_female").any() else j[j["name_zh"] == "妇女人均预期寿命"].iloc[0]
    girls = j[j["name_zh"] == "九年义务教育巩固率"].iloc[0]
    assert life["sex"] == life["subject_sex"] == "F" and girls["sex"] == girls["subject_sex"] == "F"
    assert "妇女人均预期寿命（女）" not in text and "妇女人均预期寿命" in appendix
    assert "九年义务教育巩固率（女）" in appendix
    assert narrative.finding(girls.to_dict()).startswith("2024年九年义务教育巩固率（女）为")


def test_domain_headline_ranks_on_every_target_with_data_and_gives_the_counts(midterm, tmp_path: Path):
    """Probe finding 6: 妇女参与决策和管理达标率最高（66.7%） was 4 of the 6 judged targets while 13 of its
    19 could not be judged (21.1% on the overview's 达标率（含无法判定）, 6th of 8). The headline ranks on
    that rate, names each domain's counts, and the domain table shows both rates."""
    doc = Document(str(report_docx.write_docx(midterm, tmp_path / "r.docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    att = midterm.evaluation.attainment()
    doms = att[~att["domain"].isin(["all", "unassigned"])]
    best = doms.loc[doms["attainment_rate_all"].idxmax()]
    worst = doms.loc[doms["attainment_rate_all"].idxmin()]

    def named(r):  # one domain with its counts, or every domain tied at that rate (并列)
        rate = r["attainment_rate_all"]
        tied = doms[np.isclose(doms["attainment_rate_all"], rate)]
        if len(tied) > 1:
            names = "、".join(labels.domain_label(d) for d in tied["domain"])
            return f"{names}（并列，均为{labels.format_share(rate)}）"
        n = int(r["n_met"] + r["n_not_met"] + r["n_cannot_judge"])
        return f"{labels.domain_label(r['domain'])}（{n}项中{int(r['n_met'])}项已达标，{labels.format_share(rate)}）"

    line = next(p for p in text.splitlines() if p.startswith("分领域看"))
    assert line.startswith("分领域看，按有数据的全部目标计（无法判定的计为未达标），达标率最高的是"), line
    assert named(best) in line.split("最低")[0] and named(worst) in line.split("最低")[1], line
    decision = doms.set_index("domain").loc["decision"]
    if decision["attainment_rate_all"] < best["attainment_rate_all"]:
        assert "最高的是妇女参与决策和管理" not in line
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "领域")
    head = [c.text for c in table.rows[0].cells]
    assert head[-2:] == ["达标率（已判定）", "达标率（含无法判定）"]
    assert labels.format_share(best["attainment_rate_all"]) in [r.cells[-1].text for r in table.rows[1:]]


def test_a_page_banner_states_its_parameters_in_words_without_internal_paths():
    """Every page's banner showed {"data_path": "", "kind": "annual", "results_path": "/work/…/results"}:
    English keys and a path on this machine in a Chinese report.  It states them in words."""
    from fzanalysis.report import html as report_html

    prov = {"synthetic": True, "parameters": {"year": 2024, "kind": "annual", "lang": "zh", "data_path": "",
                                              "results_path": "/work/x/reports/.cache/abc/results"}}
    page = report_html.banner_html(prov, "zh")
    assert "年份 2024；报告类型 年度监测报告；语言 中文；数据文件 演示数据" in page
    assert "results_path" not in page and "/work/x" not in page and "data_path" not in page
    # the index's run parameters: what the report is about, not the run's machinery
    index = report_html.banner_html({"parameters": {"year": 2024, "kind": "annual", "lang": "zh", "data": "demo",
                                                    "jobs": 2, "dask": None, "force": False}}, "zh")
    assert "数据 演示数据" in index and "None" not in index and "False" not in index and "jobs" not in index


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_count_of_zero_targets_that_cannot_be_assessed(midterm, lang):
    """The 达标率 sentence said '其中0项暂无法评估': with none (or all) of the undecided targets
    not assessable it says so in words."""
    j = midterm.judgement
    decided = j["status"].isin(["met", "not_met"])
    none_na = j[decided | (j["verdict"] != "not_assessable")]
    all_na = j[decided | (j["verdict"] == "not_assessable")]
    assert (~none_na["status"].isin(["met", "not_met"])).any() and (~all_na["status"].isin(["met", "not_met"])).any()
    s = tables.attainment_sentence(none_na, lang=lang)
    assert labels.label("report", "attainment_verdicts_none_na", lang) in s
    assert ("其中0项" not in s) if lang == "zh" else ("of these, 0" not in s)
    s = tables.attainment_sentence(all_na, lang=lang)
    assert labels.label("report", "attainment_verdicts_all_na", lang) in s


def test_provenance_sheet_is_in_the_readers_words(midterm, tmp_path: Path):
    """The 来源 sheet listed provenance.json's English keys and raw JSON ('report', '{"year": 2024,
    …}') in a Chinese workbook: it gives the banner's rows and the other keys under their labels."""
    prov = {"report": {"year": 2025, "kind": "midterm"}, "package": "fzanalysis", "package_version": "0.1.0",
            "git_commit": "abc1234", "code_version": "f00d", "python": "3.11.7", "kernel": "fzanalysis",
            "params_file": "params/midterm.yaml",
            "parameters": {"year": 2025, "kind": "midterm", "lang": "zh", "data": "demo"},
            "data_kind": "demo", "data_years": [2015, 2024], "assessed_year": 2024, "synthetic": True,
            "data_files": [{"path": "data/demo/demo_panel.csv", "sha256": "7891d8bb" * 8, "bytes": 1}],
            "results": {"key": "914df0b9", "from_cache": False}, "generated_utc": "2026-12-02T14:33:59Z"}
    path = excel.write_workbook(midterm.judgement, tmp_path / "s.xlsx", provenance=prov, towns=midterm.assessed)
    rows = list(load_workbook(path)["来源"].iter_rows(values_only=True))[1:]
    keys, values = [r[0] for r in rows], [str(r[1]) for r in rows]
    assert not any("{" in v or "[" in v for v in values), values
    assert all(re.search(r"[\u4e00-\u9fff]", k) for k in keys), keys
    shown = dict(zip(keys, values, strict=True))
    assert shown["数据年份"] == "2015–2024" and shown["演示（合成）数据"] == "是"
    assert "年份 2025" in shown["参数"] and "报告类型" in shown["参数"]
