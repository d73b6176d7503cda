"""The report's HTML: chapter pages from executed notebooks, and the index page.

Both work offline and print on A4: the nbconvert template ``templates/fz`` loads no script from
the internet (no require.js, MathJax or mermaid), the stylesheet ``templates/report.css`` is
inlined in every page (screen and print rules: A4, ``print-color-adjust``, repeated table
headers, a page break per domain), and the provenance / demo-data banner is put in by the
template, once per page.
"""
from __future__ import annotations

import html as _html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import nbformat
import pandas as pd
from nbconvert import HTMLExporter
from traitlets.config import Config

from fzanalysis import labels, plan
from fzanalysis.labels import Lang
from fzanalysis.report import tables
from fzanalysis.report.params import kind_label

__all__ = [
    "HIDE_TAG",
    "TEMPLATES_DIR",
    "banner_html",
    "chapter_title",
    "notebook_to_html",
    "render_index",
    "report_css",
]

#: Cells with this tag are left out of the HTML (they are for JupyterLab readers).
HIDE_TAG = "report-hide"
#: The report's templates: ``index.html.j2``, ``report.css``, the nbconvert template ``fz/``
#: and the Word template ``report.docx``.
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def report_css() -> str:
    """The stylesheet inlined in every page (``templates/report.css``)."""
    return (TEMPLATES_DIR / "report.css").read_text("utf-8")


def parameters_text(parameters: Mapping[str, Any], lang: Lang = "zh") -> str:
    """A page's parameters in the reader's words: 年份 2024；报告类型 年度监测报告；语言 中文 …

    Names and values are labels (``report_param`` in ``data/labels/report.yaml``); only the
    parameters that say what the page is about are shown (year, kind, language, domain, data,
    interval level, baseline year), never the run's machinery (``results_path``, the results
    store on this machine; jobs, dask, force), and an empty ``data_path`` is the demo data.

    Examples
    --------
    >>> parameters_text({"year": 2024, "kind": "annual", "lang": "zh", "data_path": "", "results_path": "/x"})
    '年份 2024；报告类型 年度监测报告；语言 中文；数据文件 演示数据'
    """
    from fzanalysis.report.params import kind_label

    shown = []
    for key in ("year", "kind", "lang", "domain", "data_path", "data", "level", "baseline_year"):
        if key not in parameters or parameters[key] is None:
            continue
        value = parameters[key]
        if key == "kind":
            value = kind_label(str(value), lang)
        elif key == "lang":
            value = labels.label("report_param", f"lang_{value}", lang)
        elif key == "domain":
            value = labels.domain_label(str(value), lang)
        elif key in ("data_path", "data"):
            value = labels.label("report_param", "demo_data", lang) if value in ("", "demo") else value
        shown.append((key, value))
    sep = "；" if lang == "zh" else "; "
    return sep.join(f"{labels.label('report_param', k, lang)} {v}" for k, v in shown)


def provenance_rows(provenance: Mapping[str, Any], lang: Lang, *, full: bool = False) -> list[tuple[str, str]]:
    """Where a report's numbers came from, as (heading, text) pairs in the reader's words.

    The one owner of how provenance is shown: the banner of every page (generated, software,
    data files, parameters) and, with ``full=True``, the 来源 / Provenance sheet of status.xlsx,
    which adds the other keys of ``provenance.json`` under their ``provenance_key`` labels
    (provenance.json itself keeps the machine's keys and values).

    Examples
    --------
    >>> provenance_rows({"generated_utc": "2026-12-02T14:33:59Z", "data_years": [2015, 2024]}, "zh",
    ...                 full=True)[-1]
    ('数据年份', '2015–2024')
    """
    sep = "；" if lang == "zh" else "; "
    files = sep.join(f"{f['path']} sha256 {f['sha256'][:16]}…" for f in provenance.get("data_files", []))
    rows = [
        (labels.label("report", "prov_generated", lang), str(provenance.get("generated_utc", ""))),
        (labels.label("report", "prov_package", lang),
         f"fzanalysis {provenance.get('package_version', '')} · git {provenance.get('git_commit', '')}"),
        (labels.label("report", "prov_data", lang), files),
        (labels.label("report", "prov_parameters", lang), parameters_text(provenance.get("parameters", {}), lang)),
    ]
    if not full:
        return rows
    shown = {"generated_utc", "package", "package_version", "git_commit", "data_files", "parameters", "report"}
    yes, no = labels.label("report", "yes_word", lang), labels.label("report", "no_word", lang)

    def text(key: str, value: Any) -> str:
        if isinstance(value, bool):
            return yes if value else no
        if key == "data_kind":
            return labels.label("report_param", "demo_data", lang) if value == "demo" else str(value)
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
            return f"{value[0]}–{value[1]}"
        if isinstance(value, Mapping):
            return sep.join(f"{labels.label('provenance_key', k, lang)} {text(str(k), v)}"
                            for k, v in value.items())
        return "" if value is None else str(value)

    for key, value in provenance.items():
        if key not in shown:
            rows.append((labels.label("provenance_key", key, lang), text(key, value)))
    return rows


def banner_html(provenance: Mapping[str, Any], lang: Lang, *, title: str | None = None) -> str:
    """The provenance banner at the top of every page, with the demo-data notice when synthetic."""
    esc = _html.escape
    demo = (f'<div class="fz-demo">⚠ {esc(labels.label("report", "demo_banner", lang))}</div>'
            if provenance.get("synthetic") else "")
    rows = provenance_rows(provenance, lang)
    body = "".join(f"<div><b>{esc(k)}</b>: <code>{esc(str(v))}</code></div>" for k, v in rows)
    head = f"<div><b>{esc(title)}</b></div>" if title else ""
    return f'{demo}<div class="fz-provenance">{head}{body}</div>'


def notebook_to_html(nb_path: str | Path, html_path: str | Path, banner: str, *, title: str | None = None) -> None:
    """Convert an executed notebook to an offline, printable HTML page without code cells.

    Parameters
    ----------
    nb_path, html_path : path
        The executed notebook and the page to write.
    banner : str
        HTML put at the top of the page by the template (:func:`banner_html`).
    title : str, optional
        The page's title (default: the notebook's file name).
    """
    nb = nbformat.read(str(nb_path), as_version=4)
    if title:
        nb.metadata["title"] = title
    config = Config()
    # cells tagged "report-hide" (e.g. the notebook's own title for JupyterLab users) stay out of the HTML
    config.TagRemovePreprocessor.remove_cell_tags = {HIDE_TAG}
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, extra_template_basedirs=[str(TEMPLATES_DIR)], template_name="fz",
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"fz_banner": banner, "fz_css": report_css()})
    Path(html_path).write_text(body, encoding="utf-8")


def chapter_title(stem: str, lang: Lang = "zh") -> str:
    """Human title of an output stem: ``02_domain-health`` -> ``领域分析：妇女与健康``."""
    base, _, value = stem.partition("-")
    title = labels.label("report", f"nb_{base}", lang)
    if title == f"nb_{base}":  # not a report notebook: its own name
        title = base
    if value:
        title += ("：" if lang == "zh" else ": ") + labels.domain_label(value, lang)
    return title


def _data_note(year: int, provenance: Mapping[str, Any], lang: Lang) -> str:
    """A warning when the report year is later than the latest year in the data."""
    years = provenance.get("data_years")
    if not years or int(year) <= int(years[1]):
        return ""
    return labels.label("report", "no_data_for_year", lang).format(year=year, first=years[0], last=years[1])


def render_index(
    *,
    year: int,
    kind: str,
    lang: Lang,
    runs: Sequence[Mapping[str, Any]],
    judgement: pd.DataFrame | None,
    status_error: str | None,
    provenance: Mapping[str, Any],
    downloads: Sequence[str] = (),
) -> str:
    """Render ``index.html``: the 达标率 sentence, the chapters, the downloads, the status by domain.

    Parameters
    ----------
    judgement : DataFrame or None
        :func:`fzanalysis.evaluate` ``.targets`` (None when it failed).
    downloads : sequence of str
        File names offered for download (Word, Excel, CSV, PDF …).
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    template = env.get_template("index.html.j2")

    def t(code: str) -> str:
        # the plan's own name (data/plans/<id>/plan.yaml), never a name written in code
        active = plan.active()
        return labels.label("report", code, lang).replace("{plan}", active.name_zh if lang == "zh" else active.name_en)

    domains: list[dict[str, Any]] = []
    sentence = ""
    if judgement is not None:
        sentence = tables.attainment_sentence(judgement, lang=lang)
        for dom, rows in judgement.groupby("domain", sort=False):
            recs = []
            for rec in rows.to_dict("records"):
                w = tables.target_words(rec, lang, report_year=provenance.get("assessed_year"))
                recs.append({
                    "name": w["name"], "sex_label": w["sex"],
                    "value_fmt": w["value"], "target_fmt": w["target"], "status": rec["status"],
                    "status_label": w["status"], "category_label": w["category"],
                    "verdict_label": w["verdict"], "projected_fmt": w["projection"],
                    "probability_fmt": w["probability"], "warnings_label": w["warnings"],
                })
            domains.append({"label": labels.domain_label(dom, lang), "rows": recs})
    runs = [{**r, "title": chapter_title(r["stem"], lang)} for r in runs]
    return template.render(
        t=t, year=year, kind=kind, kind_label=kind_label(kind, lang), lang=lang, runs=runs,
        domains=domains, sentence=sentence, status_error=status_error, downloads=list(downloads),
        css=report_css(), banner=banner_html(provenance, lang),
        data_note=_data_note(year, provenance, lang),
        ok=all(r["ok"] for r in runs) and status_error is None,
    )
