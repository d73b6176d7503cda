"""The Word report the district government reads (annual, mid-term, final), in the manner of the
National Bureau of Statistics' 纲要统计监测报告.

Built with python-docx from the template ``templates/report.docx`` (A4, 仿宋 body and 黑体
headings set for East Asian text through ``w:eastAsia``); the evaluation group restyles that
file in Word or WPS and the next report follows it.  Every sentence is drafted from the
judgement table (:func:`fzanalysis.evaluate`, ``.targets``) as ordinary, editable text:

* an overall judgement with the 达标率 sentence (N项中M项已实现…);
* 一、各领域目标实现情况, with （一）…（八） in the plan's order and numbered findings (value, change
  on the previous year and on 2020, target, verdict, probability in words);
* the towns: a scorecard per town and where each lags; the early-warning list with reasons;
* mid-term and final reports: counts of verdicts, comparison with the 2020 baseline, 突出问题
  and 对策建议;
* numbered figures and tables with captions (Word ``SEQ`` fields), an appendix of every target
  (a value older than the report's year carries its year), 资料来源 citing every official figure
  stated (reference figures, and the plan's own figures when they are official), and the demo-data
  label in the page header whenever the data are the demo's.

:func:`to_pdf` converts the document with LibreOffice where it is installed (never required).
"""
from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor, Twips

from fzanalysis import assessment, labels, narrative, plan
from fzanalysis import catalog as catalog_mod
from fzanalysis.labels import Lang
from fzanalysis.report import tables
from fzanalysis.report.params import kind_label

if TYPE_CHECKING:  # the context imports the runner's collaborators; only its type is needed here
    from fzanalysis.report.context import ReportContext

__all__ = [
    "BODY_FONT",
    "HEADING_FONT",
    "TEMPLATE",
    "build_template",
    "build_document",
    "chinese_numeral",
    "to_pdf",
    "write_docx",
]

#: The Word template the report is built from (restyle it in Word or WPS).
TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.docx"
#: East Asian font of the body text and of the headings.
BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
_NUMERALS = "零一二三四五六七八九十"


def chinese_numeral(n: int) -> str:
    """一 … 九十九 (heading numbers).

    Examples
    --------
    >>> chinese_numeral(3), chinese_numeral(10), chinese_numeral(12)
    ('三', '十', '十二')
    """
    if n < 10:
        return _NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _NUMERALS[tens]) + "十" + ("" if ones == 0 else _NUMERALS[ones])


# ------------------------------------------------------------------------ template


def _set_fonts(style: Any, east_asian: str, latin: str, size: float, *, bold: bool = False,
               colour: RGBColor | None = None) -> None:
    style.font.name = latin
    style.font.size = Pt(size)
    style.font.bold = bold
    if colour is not None:
        style.font.color.rgb = colour
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)


def build_template(path: str | Path = TEMPLATE) -> Path:
    """Write the default Word template: A4, margins of the official-document standard, fonts set.

    The shipped ``templates/report.docx`` was made with this; run it again only to start over
    (the group's own restyled template is then lost).
    """
    doc = Document()
    for section in doc.sections:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.orientation = WD_ORIENT.PORTRAIT
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    styles = doc.styles
    black = RGBColor(0, 0, 0)
    _set_fonts(styles["Normal"], BODY_FONT, "Times New Roman", 14)
    styles["Normal"].paragraph_format.first_line_indent = Pt(28)
    styles["Normal"].paragraph_format.line_spacing = Pt(26)
    styles["Normal"].paragraph_format.space_after = Pt(0)
    _set_fonts(styles["Title"], HEADING_FONT, "Times New Roman", 20, bold=False, colour=black)
    styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    styles["Title"].paragraph_format.first_line_indent = Pt(0)
    for name, size in (("Heading 1", 16), ("Heading 2", 15), ("Heading 3", 14)):
        _set_fonts(styles[name], HEADING_FONT, "Times New Roman", size, colour=black)
        styles[name].paragraph_format.first_line_indent = Pt(28)
        styles[name].paragraph_format.space_before = Pt(6)
        styles[name].paragraph_format.space_after = Pt(3)
    _set_fonts(styles["Caption"], HEADING_FONT, "Times New Roman", 11, colour=black)
    styles["Caption"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    styles["Caption"].paragraph_format.first_line_indent = Pt(0)
    _set_fonts(styles["Table Grid"], BODY_FONT, "Times New Roman", 10.5)
    path = Path(path)
    doc.save(path)
    return path


# ------------------------------------------------------------------------- writing


class _Writer:
    """A document with running figure and table numbers."""

    def __init__(self, doc: DocumentObject, lang: Lang) -> None:
        self.doc, self.lang = doc, lang
        self.n_fig = self.n_tab = 0

    def t(self, code: str, **kw: Any) -> str:
        return labels.fill(labels.label("docx", code, self.lang), **kw)

    def h1(self, n: int, title: str) -> str:
        """A numbered first-level heading: 一、… in Chinese, 1. … in English (labels ``h1``)."""
        return self.t("h1", n=chinese_numeral(n) if self.lang == "zh" else n, title=title)

    def h2(self, section: int, k: int, title: str) -> str:
        """A numbered second-level heading: （一）… in Chinese, 1.1 … in English (labels ``h2``)."""
        return self.t("h2", section=section, k=chinese_numeral(k) if self.lang == "zh" else k, title=title)

    def para(self, text: str, *, style: str | None = None, bold: bool = False, colour: RGBColor | None = None,
             indent: bool = True) -> Any:
        p = self.doc.add_paragraph(style=style)
        run = p.add_run(text)
        run.bold = bold or None
        if colour is not None:
            run.font.color.rgb = colour
        if not indent:
            p.paragraph_format.first_line_indent = Pt(0)
        return p

    def heading(self, text: str, level: int) -> Any:
        return self.doc.add_heading(text, level=level)

    def _caption(self, kind: str, number: int, text: str) -> None:
        p = self.doc.add_paragraph(style="Caption")
        word = self.t(f"{kind}_word")
        p.add_run(word)
        _seq_field(p, word, number)
        p.add_run(("  " if self.lang == "zh" else ". ") + text)

    def figure(self, fig: Any, caption: str, *, width_cm: float = 15.0) -> None:
        import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        plt.close(fig)
        buf.seek(0)
        self.doc.add_picture(buf, width=Cm(width_cm))
        pic = self.doc.paragraphs[-1]
        pic.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pic.paragraph_format.first_line_indent = Pt(0)
        pic.paragraph_format.line_spacing = 1.0  # the body's exact line height would clip the picture
        self.n_fig += 1
        self._caption("figure", self.n_fig, caption)

    def table(self, frame: pd.DataFrame, caption: str, *, widths: Sequence[float] | None = None) -> Any:
        """A captioned table across the text width; ``widths``: relative column widths (default equal)."""
        self.n_tab += 1
        self._caption("table", self.n_tab, caption)
        self.doc.paragraphs[-1].paragraph_format.keep_with_next = True  # the caption stays with its table
        tbl = self.doc.add_table(rows=1, cols=len(frame.columns))
        tbl.style = "Table Grid"
        tbl.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, col in zip(tbl.rows[0].cells, frame.columns, strict=True):
            cell.text = ""
            run = cell.paragraphs[0].add_run(str(col))
            run.bold = True
        _repeat_header(tbl.rows[0])
        for row in frame.itertuples(index=False):
            cells = tbl.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = "" if tables._isna(value) else str(value)
        twips = _column_twips(widths or [1.0] * len(frame.columns), _text_width_twips(self.doc))
        _fix_widths(tbl, twips)
        for row in tbl.rows:
            row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))  # a row never breaks across pages
            for k, cell in enumerate(row.cells):
                for p in cell.paragraphs:
                    p.paragraph_format.first_line_indent = Pt(0)
                    p.paragraph_format.line_spacing = 1.0
                    for r in p.runs:
                        r.font.size = Pt(10.5)
                cell.width = Twips(twips[k])
        self.doc.add_paragraph()
        return tbl


def _text_width_twips(doc: DocumentObject) -> int:
    """Width between the margins of the document's last section (A4: 21 − 2.8 − 2.6 = 15.6 cm)."""
    sec = doc.sections[-1]
    return int(sec.page_width.twips - sec.left_margin.twips - sec.right_margin.twips)


def _column_twips(widths: Sequence[float], total: int) -> list[int]:
    """Column widths in twips, proportional to ``widths`` and adding up to exactly ``total``."""
    edges = np.rint(np.cumsum([0.0, *widths]) / sum(widths) * total).astype(int)
    return [int(w) for w in np.diff(edges)]


def _fix_widths(tbl: Any, twips: Sequence[int]) -> None:
    """Explicit widths Word and LibreOffice both honour: fixed layout, table width, grid columns.

    LibreOffice sizes columns from ``w:tblGrid`` (python-docx writes equal grid columns) and Word
    from each cell's ``w:tcW`` under a fixed layout; both are set, with ``w:tblW`` their sum.
    """
    tbl.autofit = False  # w:tblLayout w:type="fixed"
    tblpr = tbl._tbl.tblPr
    tblw = tblpr.find(qn("w:tblW"))
    if tblw is None:  # python-docx writes one; keep the schema's order (after w:tblStyle) if not
        tblw = OxmlElement("w:tblW")
        tblpr.insert(int(tblpr.find(qn("w:tblStyle")) is not None), tblw)
    tblw.set(qn("w:w"), str(sum(twips)))
    tblw.set(qn("w:type"), "dxa")
    for col, w in zip(tbl._tbl.tblGrid.findall(qn("w:gridCol")), twips, strict=True):
        col.set(qn("w:w"), str(w))


def _seq_field(paragraph: Any, name: str, number: int) -> None:
    """A Word ``SEQ`` field (figure / table number) with its current value as the shown result."""
    def fld(kind: str) -> Any:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    run = paragraph.add_run()
    run._r.append(fld("begin"))
    instr = paragraph.add_run()
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" SEQ {name} \\* ARABIC "
    instr._r.append(code)
    paragraph.add_run()._r.append(fld("separate"))
    paragraph.add_run(str(number))
    paragraph.add_run()._r.append(fld("end"))


def _repeat_header(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _clear_body(doc: DocumentObject) -> None:
    """Remove the template's sample content, keeping its styles and page set-up."""
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)


# ----------------------------------------------------------------------- figures


def _attainment_figure(domain_names: pd.Series, rate_all: pd.Series, lang: Lang) -> Any:
    """The bar chart of the domains' attainment beside the domain table: the rate over every
    target with data (``rate_all``, a target that cannot be judged counting as not met), the
    figure the table's ``col_rate_all`` column and the ranking sentence give, under the same
    label.

    Parameters
    ----------
    domain_names : Series
        The domains' names, in the table's order.
    rate_all : Series
        Their ``attainment_rate_all`` (a fraction; NaN drawn as 0), aligned with ``domain_names``.
    lang : {"zh", "en"}

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    rates = pd.Series(rate_all).astype(float).fillna(0).to_numpy() * 100
    ax.barh(list(domain_names)[::-1], rates[::-1], color="#7b1fa2")
    for y, v in enumerate(rates[::-1]):
        ax.text(v + 1, y, _pct(v / 100, lang), va="center", fontsize=9)  # as 表1 writes it (30.8%, not 31%)
    ax.set_xlim(0, 110)
    ax.set_xlabel(labels.label("docx", "col_rate_all", lang))  # the table column's own label
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _verdict_figure(counts: pd.DataFrame, lang: Lang) -> Any:
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    fig, ax = plt.subplots(figsize=(6.5, 2.8))
    colours = ["#2e7d32", "#9ccc65", "#ffb300", "#e53935", "#9e9e9e"]
    ax.bar(counts["verdict_label"], counts["n"], color=colours[: len(counts)])
    for x, v in enumerate(counts["n"]):
        ax.text(x, v + 0.3, str(int(v)), ha="center", fontsize=9)
    ax.set_ylabel(labels.label("docx", "axis_count", lang))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------ content


def _domain_summary(judgement: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    rows = []
    for dom in labels.domain_order():
        g = judgement[judgement["domain"] == dom]
        if g.empty:  # a plan without targets in this domain (the national outline as catalogued)
            continue
        c = tables.attainment_counts(g)
        rows.append({"domain": dom, "label": labels.domain_label(dom, lang), **c})
    return pd.DataFrame(rows)


def _synthetic(frame: pd.DataFrame) -> pd.Series:
    """The rows' ``synthetic`` flags (missing in a researcher's table: not published)."""
    return frame["synthetic"] if "synthetic" in frame.columns else pd.Series(None, index=frame.index)


def _pct(x: Any, lang: Lang) -> str:
    return labels.format_share(x, lang=lang)


def _baseline_comparison(judgement: pd.DataFrame) -> dict[str, int]:
    j = judgement[judgement["change_base"].notna() & (judgement["baseline_year"].astype("Float64") <
                                                      judgement["year"].astype("Float64")).fillna(False)]
    # the one rule of a move since the baseline (缩小 on the gap's size; a move that does not
    # show in the figures is none), also the directional verdict's
    move = assessment.baseline_move(j)
    better, worse = int((move > 0).sum()), int((move < 0).sum())
    return {"n": len(j), "better": better, "worse": worse, "other": len(j) - better - worse}


def _problems(judgement: pd.DataFrame) -> pd.DataFrame:
    """Targets with a large gap, going backwards, or at risk: the 突出问题, each with the reason it
    is one (``problem``, :func:`fzanalysis.report.tables.problem_kind`)."""
    kind = tables.problem_kind(judgement)
    return judgement[kind.notna()].assign(problem=kind[kind.notna()])


def _measure_groups(rows: pd.DataFrame, lang: Lang) -> str:
    """The targets of one 对策建议 item grouped by why each is a problem (差距较大的有…；已达标但
    预计难以保持的有…), in :data:`fzanalysis.report.tables.PROBLEM_KINDS` order: one phrase for
    all of them called achieved targets 差距较大."""
    parts = [labels.fill(labels.label("measure_group", k, lang),
                         names=labels.join_names(rows.loc[rows["problem"] == k, f"name_{lang}"], lang))
             for k in tables.PROBLEM_KINDS if (rows["problem"] == k).any()]
    return labels.label("docx", "list_sep_groups", lang).join(parts)


def build_document(ctx: ReportContext, *, template: str | Path | None = None) -> DocumentObject:
    """The Word report of a report context (module docstring for its contents).

    Parameters
    ----------
    ctx : ReportContext
        From :func:`fzanalysis.report.setup`; only its judgement table, town rows, catalogue and
        settings are read.
    template : path, optional
        Another Word template (default :data:`TEMPLATE`).

    Returns
    -------
    docx.document.Document
    """
    lang = ctx.lang
    j = ctx.judgement
    doc = Document(str(template or TEMPLATE))
    _clear_body(doc)
    w = _Writer(doc, lang)
    red = RGBColor(0xB7, 0x1C, 0x1C)
    if ctx.synthetic:
        header = doc.sections[0].header
        hp = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
        hp.text = ""
        run = hp.add_run(labels.label("report", "demo_banner", lang))
        run.bold, run.font.color.rgb = True, red
        hp.alignment = WD_ALIGN_PARAGRAPH.CENTER

    # title and overall judgement
    active = plan.active()
    w.para(w.t("title", plan=active.name_zh if lang == "zh" else active.name_en, year=ctx.year,
               kind=kind_label(ctx.kind, lang)), style="Title")
    if ctx.synthetic:
        w.para(labels.label("report", "demo_banner", lang), bold=True, colour=red)
    if ctx.data_year != ctx.year:
        w.para(labels.label("report", "no_data_for_year", lang).format(
            year=ctx.year, first=int(ctx.panel.frame["year"].min()), last=ctx.data_year), colour=red)
    summary = _domain_summary(j, lang)
    met_word, not_met_word = (labels.label("status", s, lang) for s in ("met", "not_met"))
    attainment = ctx.evaluation.attainment()  # both rates, as the overview page shows them
    w.para(w.t("overall", year=ctx.data_year) + tables.attainment_sentence(j, lang=lang))
    ranking = tables.domain_ranking_sentence(attainment, lang=lang)  # on the rate over every target with data
    if ranking:
        w.para(ranking)
    n_warn = int(tables.has_warning(j["warnings"]).sum())  # 数据不足 alone is a note, not a warning
    n_risk = int(j["warnings"].astype(str).str.contains("at_risk").sum())
    w.para(w.t("overall_warnings", n=n_warn, at_risk=n_risk))
    # the rate over every target with data: the table's last column, the ranking and the chart
    rate_all = summary["domain"].map(attainment.set_index("domain")["attainment_rate_all"])
    w.table(pd.DataFrame({
        w.t("col_domain"): summary["label"], w.t("col_n"): summary["n"], met_word: summary["met"],
        not_met_word: summary["not_met"], w.t("col_other"): summary["cannot_judge"] + summary["no_data"],
        w.t("col_rate"): [_pct(r, lang) for r in summary["rate"]],
        w.t("col_rate_all"): [_pct(r, lang) for r in rate_all],
    }), w.t("table_domains", year=ctx.data_year), widths=[4.2, 1.5, 1.5, 1.5, 2.4, 2.1, 2.4])
    w.figure(_attainment_figure(summary["label"], rate_all, lang), w.t("figure_domains", year=ctx.data_year))

    # 一、各领域目标实现情况
    section = 1
    w.heading(w.h1(section, w.t("h_domains")), 1)
    present = [d for d in labels.domain_order() if (j["domain"] == d).any()]
    for k, dom in enumerate(present, start=1):
        g = j[j["domain"] == dom]
        w.heading(w.h2(section, k, labels.domain_label(dom, lang)), 2)
        w.para(tables.attainment_sentence(g, lang=lang, domain=True))
        with_data = g[g["value"].notna()]
        for i, rec in enumerate(with_data.to_dict("records"), start=1):
            w.para(w.t("item", i=i, text=narrative.finding(rec, lang=lang)))
        missing = g[g["value"].isna()]
        if len(missing):
            w.para(w.t("domain_missing", names=labels.join_names(missing[f"name_{lang}"], lang), n=len(missing)))

    # 二、镇街情况 (a plan whose area has no towns, the national outline, has no such section)
    if plan.active().has_towns:
        section += 1
        w.heading(w.h1(section, w.t("h_towns")), 1)
        card = tables.town_scorecard(ctx.towns, lang=lang, catalog=ctx.catalog)
        if len(card):
            ranked = card.rename(columns={"area_name": "name", "n_targets": "n", "n_met": "met"})
            w.para(w.t("towns_intro", n=len(card), best=tables.ranking_phrase(ranked, "max", lang),
                       worst=tables.ranking_phrase(ranked, "min", lang)))
            w.table(pd.DataFrame({
                w.t("col_town"): card["area_name"], w.t("col_n"): card["n_targets"], met_word: card["n_met"],
                not_met_word: card["n_not_met"], labels.label("status", "cannot_judge", lang): card["n_cannot_judge"],
                w.t("col_rate_all"): [_pct(r, lang) for r in card["rate"]], w.t("col_lags"): card["lags"],
            }), w.t("table_towns", year=ctx.data_year), widths=[2.0, 1.6, 1.6, 1.6, 2.0, 1.7, 5.0])
        else:
            w.para(w.t("towns_none"))

    # 三、预警
    section += 1
    w.heading(w.h1(section, w.t("h_warnings")), 1)
    warn = tables.warning_list(j, lang=lang, projected=ctx.projected)
    if len(warn):
        w.para(w.t("warnings_intro", n=len(warn)))
        for i, rec in enumerate(warn.to_dict("records"), start=1):
            # at risk: the reason already says 难以…, the number only; else the probability in words
            risky = "at_risk" in str(rec["warnings"]).split(";")
            p = ("" if not rec["probability"] else
                 w.t("warning_p_risk", p=rec["probability_percent"]) if risky and rec["probability_percent"]
                 else w.t("warning_p", words=rec["probability"]))
            w.para(w.t("warning_item", i=i, name=rec["name"], domain=labels.domain_label(rec["domain"], lang),
                       reason=rec["reason"], p=p))
    else:
        w.para(w.t("warnings_none"))
    short = tables.warning_list(j, lang=lang, projected=ctx.projected, kind="data")
    if len(short):
        w.para(w.t("warnings_data", n=len(short), names=labels.join_names(short["name"], lang)))
    w.para(narrative.method_note(lang))  # which model and what uncertainty every probability rests on

    if ctx.kind in ("midterm", "final"):
        section += 1
        w.heading(w.h1(section, w.t("h_evaluation", evaluation=ctx.evaluation_label)), 1)
        w.heading(w.h2(section, 1, w.t("h_verdicts")), 2)
        vc = tables.verdict_counts(j, lang=lang)
        w.para(w.t("verdicts_sentence", n=len(j), counts="，".join(
            f"{r.verdict_label}{r.n}项" for r in vc.itertuples() if r.n) if lang == "zh" else ", ".join(
            f"{r.verdict_label[:1].lower()}{r.verdict_label[1:]} {r.n}" for r in vc.itertuples() if r.n)))
        w.para(labels.fill(labels.label("nb_text", "eval_terms", lang), n=ctx.trend_test_points,
                           baseline_year=ctx.baseline_year))
        vt = tables.verdict_table(j, lang=lang)
        w.table(pd.DataFrame({w.t("col_verdict"): vt["verdict_label"], w.t("col_n"): vt["n"],
                              w.t("col_share"): vt["share"]}),
                w.t("table_verdicts"), widths=[5.0, 2.5, 2.5])
        w.figure(_verdict_figure(vc, lang), w.t("figure_verdicts"), width_cm=13.0)
        base = _baseline_comparison(j)
        w.heading(w.h2(section, 2, w.t("h_baseline", year=ctx.baseline_year)), 2)
        w.para(w.t("baseline_sentence", year=ctx.baseline_year, **base))
        comp = j[j["change_base"].notna()]
        w.table(pd.DataFrame({
            w.t("col_domain"): [labels.domain_label(d, lang) for d in comp["domain"]],
            w.t("col_indicator"): tables.display_names(comp, lang),
            w.t("col_baseline"): tables._values(comp, "baseline_value", lang),
            w.t("col_value", year=ctx.data_year): tables._values(comp, "value", lang),
            # measured from the two figures as printed beside it (51.4% → 52.9%: +1.5, not +1.6)
            w.t("col_change"): [labels.format_difference(b, v, u, lang=lang, signed=True,
                                                         published=labels.is_published(syn), word=wd)
                                for b, v, u, syn, wd in zip(comp["baseline_value"], comp["value"], comp["unit"],
                                                            _synthetic(comp), tables._words(comp, lang), strict=True)],
        }), w.t("table_baseline", year=ctx.baseline_year), widths=[2.8, 6.0, 2.2, 2.2, 3.0])

        section += 1
        w.heading(w.h1(section, w.t("h_problems")), 1)
        probs = _problems(j)
        if len(probs):
            for i, rec in enumerate(probs.to_dict("records"), start=1):
                w.para(w.t("problem_item", i=i, text=narrative.finding(rec, lang=lang)))
        else:
            w.para(w.t("problems_none"))
        section += 1
        w.heading(w.h1(section, w.t("h_measures")), 1)
        w.para(w.t("measures_intro"))
        cat = catalog_mod.normalize(ctx.catalog).set_index("id")
        k = 0
        for dom in labels.domain_order():
            g = probs[probs["domain"] == dom]
            if not len(g):
                continue
            k += 1
            depts = sorted({labels.label("department", cat.at[i, "department"], lang) for i in g["indicator"]
                            if i in cat.index and str(cat.at[i, "department"])})
            w.para(w.t("measure", k=k, domain=labels.domain_label(dom, lang), groups=_measure_groups(g, lang),
                       n=len(g), depts=w.t("list_sep").join(depts) or w.t("depts_unknown")))
        if k == 0:
            w.para(w.t("measures_none"))

    # 附录
    w.heading(w.t("h_appendix"), 1)
    w.table(pd.DataFrame({
        w.t("col_no"): range(1, len(j) + 1),
        w.t("col_domain"): [labels.domain_label(d, lang) for d in j["domain"]],
        w.t("col_indicator"): tables.display_names(j, lang),
        w.t("col_target"): tables._targets(j, lang),
        w.t("col_value", year=ctx.data_year): [  # as every view writes it (its year, its pooled window)
            tables.target_words(r, lang, report_year=ctx.data_year)["value"] for r in j.to_dict("records")],
        w.t("col_status"): [labels.label("status", s, lang) for s in j["status"]],
        w.t("col_verdict"): [labels.label("verdict", v, lang) for v in j["verdict"]],
    }), w.t("table_appendix"), widths=[1.3, 2.3, 4.2, 2.0, 1.7, 2.0, 2.3])

    # 资料来源: every official figure the report states, with its citation
    cited = _sources(ctx)
    if len(cited):
        w.heading(w.t("h_sources"), 1)
        w.para(w.t("sources_intro"))
        for k, (source, names) in enumerate(cited.items(), start=1):
            w.para(w.t("source_item", k=k, source=source, names=labels.join_names(names, lang)))
    return doc


def _sources(ctx: ReportContext) -> dict[str, list[str]]:
    """Citation → names of the figures it gives: the judged figures of an official panel (rows with
    a ``source``) and the reference figures stated beside the plan's own, in the appendix's order.
    An English report cites with the English locator (``reference_source_en``, and ``source_en``
    of an official panel from :func:`fzanalysis.reference.load`; a panel of one's own has only
    ``source``)."""
    j = ctx.judgement
    name = [labels.name_with_sex(n, s, lang=ctx.lang, subject_sex=ss)
            for n, s, ss in zip(j[f"name_{ctx.lang}"], j["sex"], j["subject_sex"], strict=True)]
    suffix = "_en" if ctx.lang == "en" else ""
    pairs: list[tuple[str, str]] = []
    frame = ctx.panel.frame
    col = f"source{suffix}" if f"source{suffix}" in frame else "source"
    if not ctx.synthetic and col in frame:
        keys = ["indicator", "area", "sex", "year"]
        own = j[keys].assign(_name=name).merge(frame[[*keys, col]], on=keys, how="left")
        pairs += [(str(src), n) for src, n in zip(own[col], own["_name"], strict=True) if pd.notna(src) and src]
    pairs += [(str(src), n) for src, n in zip(j[f"reference_source{suffix}"], name, strict=True) if pd.notna(src) and src]
    out: dict[str, list[str]] = {}
    for src, n in pairs:
        out.setdefault(src, [])
        if n not in out[src]:
            out[src].append(n)
    return out


def write_docx(ctx: ReportContext, path: str | Path, *, template: str | Path | None = None) -> Path:
    """Write the Word report of ``ctx`` to ``path`` (:func:`build_document`)."""
    path = Path(path)
    build_document(ctx, template=template).save(str(path))
    return path


def to_pdf(docx_path: str | Path, *, timeout: int = 300) -> Path | None:
    """Convert a .docx to PDF with LibreOffice when it is installed; None when it is not (or fails)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        return None
    docx_path = Path(docx_path)
    profile = docx_path.parent / ".lo-profile"  # a private profile: runs in parallel do not collide
    try:
        subprocess.run([exe, f"-env:UserInstallation=file://{profile.resolve()}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(docx_path.parent), str(docx_path)],
                       capture_output=True, timeout=timeout, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdf = docx_path.with_suffix(".pdf")
    return pdf if pdf.is_file() else None
