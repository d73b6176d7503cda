"""Catalogue and panel text is text in every HTML the report writes: no tag survives.

Hostile names go into a catalogue name, a note and a source cell, a town name, a chapter run's
error, a download and the provenance; the index page, the banner, the tables rendered to HTML and
the narrative Markdown must show them as text (escaped), never as a live ``<script>`` or
``<img onerror=…>``.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from fzanalysis.report import html, setup, tables

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
HOSTILE = f"{SCRIPT}{IMG}"
LIVE = re.compile(r"<\s*(script|img)\b", re.I)


def _no_live_tag(page: str) -> None:
    # an onerror attribute is only live inside a tag: no tag, no script
    assert not LIVE.search(page), page[max(0, LIVE.search(page).start() - 80):][:200]  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def judgement() -> pd.DataFrame:
    j = setup(year=2024, kind="annual", show=False).judgement.head(6).copy()
    j["name_zh"] = [f"指标{i}{HOSTILE}" for i in range(len(j))]
    j["name_en"] = j["name_zh"]
    j["reference_source"] = HOSTILE
    return j


def test_index_and_banner_escape_catalogue_text(judgement: pd.DataFrame) -> None:
    provenance = {"synthetic": True, "generated_utc": HOSTILE, "parameters": {"note": HOSTILE},
                  "data_files": [{"path": f"data/{IMG}.csv", "sha256": "0" * 64}]}
    runs = [{"stem": "01_overview", "ok": False, "seconds": 1, "html": f"{IMG}.html", "ipynb": None,
             "error": HOSTILE}]
    page = html.render_index(year=2024, kind="annual", lang="zh", runs=runs, judgement=judgement,
                             status_error=HOSTILE, provenance=provenance, downloads=[f"{SCRIPT}.docx"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    _no_live_tag(page)
    banner = html.banner_html(provenance, "zh", title=HOSTILE)
    assert "&lt;img" in banner
    _no_live_tag(banner)


def test_tables_rendered_to_html_escape_every_cell_and_heading(judgement: pd.DataFrame) -> None:
    views = [tables.evaluation_table(judgement, lang="zh"), tables.headline_view(judgement, lang="zh")]
    cells = pd.DataFrame({"area_name": [f"街口街道{HOSTILE}"], "note": [HOSTILE], "source": [f"卫健局{IMG}"],
                          HOSTILE: [1.5]})
    for frame in [*views, cells]:
        page = tables.table(frame, "zh").to_html()
        _no_live_tag(page)
    page = tables.table(cells, "zh").to_html()
    assert "街口街道&lt;script&gt;" in page and "&lt;img src=x" in page


def test_narrative_markdown_shows_names_as_text() -> None:
    drafts = pd.DataFrame({"indicator": ["health.maternal_mortality"], "domain": ["health"],
                           "area": ["440117"], "sex": ["T"],
                           "text": [f"{HOSTILE} 的数值为 *12*，见 [链接](javascript:alert(3))"]})
    md = tables.drafts_markdown(drafts, lang="zh")
    page = markdown2html_mistune(md.data)
    _no_live_tag(page)
    assert "javascript:" not in "".join(re.findall(r"href=\"[^\"]*\"", page)) and "<em>" not in page  # no markup
    assert "&lt;script&gt;" in page


def test_notebook_sentences_show_values_as_text() -> None:
    """report.text fills the notebooks' sentences with names and reasons: escaped, never markup."""
    from fzanalysis.report import text

    md = text("towns_indicator", "zh", name=f"{HOSTILE} *粗体* [链接](javascript:alert(4))")
    page = markdown2html_mistune(md.data)
    _no_live_tag(page)
    assert "&lt;script&gt;" in page and "<em>" not in page
    assert not re.search(r'href="javascript:', page)  # the link is text, not a link (anchors are '#…')
