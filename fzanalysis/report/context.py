"""What every report notebook starts from: one call, :func:`setup`.

``ctx = report.setup(year=year, kind=kind, lang=lang, data_path=data_path)`` reads the panel
once (:func:`fzanalysis.panel.as_panel`, the same rules as every other entry point), normalises
the catalogue (:func:`fzanalysis.catalog.normalize`), sets the CJK font and pandas' display
options, shows the demo-data and missing-year notices, and gives the results every chapter uses
(judgement table, projections, paths, gender gaps).

In a report run these results come from the run's results store (``results_path``, written once
by the runner: :mod:`fzanalysis.report.results`), so a chapter only selects and draws.  Opened by
hand in JupyterLab (``results_path`` empty) they are computed when first asked for.
"""
from __future__ import annotations

import html as _html
import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML, Image, Markdown, display

from fzanalysis import assessment, codes, demo, labels, plan, trend
from fzanalysis import catalog as catalog_mod
from fzanalysis.evaluation import Evaluation, evaluate
from fzanalysis.exceptions import ReportError
from fzanalysis.fonts import use_cjk_font
from fzanalysis.labels import Lang
from fzanalysis.panel import Panel, as_panel
from fzanalysis.report import results as results_mod
from fzanalysis.report import tables
from fzanalysis.report.params import KINDS, kind_label

__all__ = [
    "FIGURE_DPI",
    "ReportContext",
    "assessment_year",
    "figure_title",
    "load_panel",
    "png_bytes",
    "setup",
    "show_figure",
    "text",
]

#: Resolution of the report's figures (dots per inch).
FIGURE_DPI = 80.0


def load_panel(data_path: str | Path | None = None, *, catalog: pd.DataFrame | None = None) -> Panel:
    """The panel a report is made from, checked by :func:`fzanalysis.panel.as_panel`.

    ``None`` or ``""`` is the embedded synthetic demo panel (every row ``synthetic``).
    """
    if data_path is None or str(data_path) == "":
        active = plan.active()
        if active.id != plan.DEFAULT:  # another plan's own data (china: the official figures)
            return as_panel(active.panel(), catalog=catalog, source=str(active.panel_path))
        return as_panel(demo.load(), catalog=catalog, source=str(demo.demo_path()))
    return as_panel(Path(data_path), catalog=catalog)


def assessment_year(panel: Panel | pd.DataFrame, year: int) -> int:
    """The year a report assesses: ``year`` if the panel has values for it, else the latest earlier year.

    Raises
    ------
    ReportError
        If the panel has no value in or before ``year``.
    """
    frame = panel.frame if isinstance(panel, Panel) else panel
    years = pd.to_numeric(frame.loc[frame["value"].notna(), "year"])
    earlier = years[years <= int(year)]
    if earlier.empty:
        raise ReportError(f"the data have no values in or before {year} (years {years.min()}-{years.max()})")
    return int(earlier.max())


@dataclass
class ReportContext:
    """The state a report notebook works with (:func:`setup`).

    Attributes
    ----------
    year, kind, lang, level : report year, kind, language and interval coverage
    data_year : int
        The year assessed (``year``, or the latest earlier year with data).
    panel : Panel
        The checked panel.
    catalog : DataFrame
        The normalised catalogue; pass it on (plots, tables) instead of reloading the plan's.
    baseline_year : int
        Baseline of the progress measures (the plan's: 2020).
    results_path : Path or None
        The run's results store (:mod:`fzanalysis.report.results`); None = compute here.
    """

    year: int
    kind: str
    lang: Lang
    panel: Panel
    catalog: pd.DataFrame
    data_year: int
    level: float = 0.8
    baseline_year: int = 2020
    results_path: Path | None = None

    @property
    def synthetic(self) -> bool:
        """True for demo data: every output says so."""
        return self.panel.synthetic

    @property
    def district(self) -> str:
        """Area code of the district (gazetteer)."""
        return codes.district()

    @property
    def trend_test_points(self) -> int:
        """How many latest years the trend test of a target without a number reads
        (``assess.yaml: status.trend.max_points``; the sentences say 最近5年)."""
        from fzanalysis.rates import load_rules

        return int(load_rules()["status"]["trend"]["max_points"])

    @property
    def has_towns(self) -> bool:
        """True when the plan's area has towns (the town sections of a chapter are shown)."""
        return plan.active().has_towns

    @cached_property
    def history(self) -> pd.DataFrame:
        """Panel rows up to the assessed year (what the projections are fitted to)."""
        return self.panel.frame[self.panel.frame["year"] <= self.data_year]

    @cached_property
    def results(self) -> results_mod.Results | None:
        """The run's results store, read once (None when the chapter computes its own)."""
        if self.results_path is None:
            return None
        store = results_mod.load(self.results_path)
        expected = {"year": self.data_year, "baseline_year": self.baseline_year, "level": self.level}
        found = {k: store.meta.get(k) for k in expected}
        if found != expected:
            raise ReportError(f"{self.results_path}: results store computed for {found}, this chapter "
                              f"needs {expected}")
        return store

    @cached_property
    def evaluation(self) -> Evaluation:
        """:func:`fzanalysis.evaluate` up to the assessed year: the one judgement per target."""
        if self.results is not None:
            return self.results.evaluation
        return evaluate(self.panel, self.catalog, year=self.data_year, baseline_year=self.baseline_year,
                        level=self.level)

    @property
    def assessed(self) -> pd.DataFrame:
        """Every indicator × area × sex of the evaluation (status, category, projection …)."""
        return self.evaluation.series

    @property
    def towns(self) -> pd.DataFrame:
        """Town rows of the sex each target is about (:meth:`Evaluation.towns`): what the town
        scorecard, its 达标率 and the town maps use; other sexes are breakdowns."""
        return self.evaluation.towns()

    @property
    def projected(self) -> pd.DataFrame:
        """:func:`fzanalysis.project` up to the assessed year: the projection the judgement used."""
        if self.evaluation.projections is None:  # an Evaluation built by hand, without its projections
            return trend.project(self.history, self.catalog, level=self.level)
        return self.evaluation.projections

    @cached_property
    def paths(self) -> pd.DataFrame:
        """Observed, fitted and projected paths (:func:`fzanalysis.trend.project_paths`) for charts."""
        if self.results is not None:
            return self.results.paths
        return trend.project_paths(self.history, self.catalog, level=self.level)

    @cached_property
    def gaps(self) -> pd.DataFrame:
        """Gender gaps (:func:`fzanalysis.gender_gap`) of every year up to the assessed one."""
        if self.results is not None:
            return self.results.gaps
        return assessment.gender_gap(self.history, self.catalog)

    @cached_property
    def gap_change(self) -> pd.DataFrame:
        """How each gender gap moved from the baseline year to the assessed one
        (:func:`fzanalysis.assessment.gap_change`, methods 4.1)."""
        return assessment.gap_change(self.gaps, year=self.data_year, baseline_year=self.baseline_year)

    @property
    def judgement(self) -> pd.DataFrame:
        """One row per target, the judged figure (``evaluation.targets``): what every page reads."""
        return self.evaluation.targets

    def label(self, kind: str, code: Any) -> str:
        """:func:`fzanalysis.labels.label` in the report's language."""
        return labels.label(kind, code, self.lang)

    def text(self, code: str, **values: Any) -> Markdown:
        """The notebook sentence ``nb_text.<code>`` in the report's language (:func:`text`)."""
        return text(code, self.lang, **values)

    def method_note(self) -> Markdown:
        """Which model the projections and probabilities rest on, with what uncertainty
        (:func:`fzanalysis.narrative.method_note`, the paragraph the Word report prints too)."""
        from fzanalysis import narrative

        return Markdown(tables.escape_markdown(narrative.method_note(self.lang)))

    @property
    def kind_label(self) -> str:
        """年度监测报告 / 中期评估报告 / 终期评估报告."""
        return kind_label(self.kind, self.lang)

    @property
    def evaluation_label(self) -> str:
        """中期评估 / 终期评估 (Mid-term / Final evaluation): what a chapter or section names, where
        the report's own title says 中期评估报告."""
        return labels.label("report", f"evaluation_{self.kind}", self.lang)


def text(code: str, lang: Lang = "zh", **values: Any) -> Markdown:
    """Markdown of the notebook sentence ``nb_text.<code>`` in ``lang``, filled with ``values``.

    String values are escaped (:func:`fzanalysis.report.tables.escape_markdown`): they are shown
    as written, and no tag in a catalogue or panel text reaches the page.
    """
    # values are text (names, sentences, reasons), never markup: a catalogue name cannot inject a tag
    safe = {k: tables.escape_markdown(v) if isinstance(v, str) else v for k, v in values.items()}
    return Markdown(labels.fill(labels.label("nb_text", code, lang), **safe))


def png_bytes(fig: Any, *, dpi: float = FIGURE_DPI, pad: float = 0.1) -> bytes:
    """A figure as PNG: drawn once at ``dpi``, on white, with the white margins cut to ``pad`` inches.

    One drawing: the layout engine (constrained layout) runs inside it.  ``savefig`` with
    ``bbox_inches="tight"`` draws a figure twice (once to measure, once to print), and a figure
    with a layout engine twice even without it; the margins are cut here from the pixels instead.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image as PILImage

    fig.set_dpi(dpi)
    fig.patch.set_facecolor("white")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    ink = (rgb < 250).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(rows):
        margin = round(pad * dpi)
        top, bottom = max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, rgb.shape[0])
        left, right = max(cols[0] - margin, 0), min(cols[-1] + 1 + margin, rgb.shape[1])
        rgb = rgb[top:bottom, left:right]
    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(rgb)).save(buf, format="png")
    return buf.getvalue()


def show_figure(obj: Any, *, dpi: float = FIGURE_DPI) -> None:
    """Display a matplotlib Figure (or the Figure of an Axes) now as a PNG, then close it.

    The PNG is rendered here (:func:`png_bytes`), not by the notebook's matplotlib backend: the
    library draws on figures outside pyplot, which no backend displays by itself.  The picture is
    drawn at ``dpi`` at most (:data:`FIGURE_DPI`), which keeps the report folder small enough to
    send by e-mail; sizes in points (fonts, lines) are unchanged.
    """
    import matplotlib.pyplot as plt  # heavy: only when a figure is shown

    fig = obj if hasattr(obj, "savefig") else getattr(obj, "figure", None)
    if fig is None:
        raise TypeError(f"show_figure expects a matplotlib Figure or Axes, got {type(obj).__name__}")
    display(Image(data=png_bytes(fig, dpi=min(float(fig.dpi), dpi)), format="png",
                  metadata={"alt": figure_title(fig)}))
    plt.close(fig)


def figure_title(fig: Any) -> str:
    """A figure's title as drawn (its suptitle, else its axes' titles): the page's alternative text."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text().strip():
        return sup.get_text().strip()
    titles = [t for ax in fig.axes for t in (ax.get_title("center"), ax.get_title("left")) if t.strip()]
    return "; ".join(dict.fromkeys(titles))


def _notices(ctx: ReportContext) -> list[HTML]:
    out = []
    if ctx.synthetic:  # the HTML page's banner replaces it (class fz-nb-demo, report.css)
        out.append(HTML('<div class="fz-nb-demo" style="background:#b71c1c;color:#fff;padding:8px 14px;'
                        f'font-weight:bold">⚠ {_html.escape(labels.label("report", "demo_banner", ctx.lang))}</div>'))
    if ctx.data_year != ctx.year:
        years = ctx.panel.frame["year"]
        note = labels.label("report", "no_data_for_year", ctx.lang).format(
            year=ctx.year, first=int(years.min()), last=ctx.data_year)
        out.append(HTML('<div class="alert" style="background:#ffebee;border:2px solid #b71c1c;padding:8px 12px">'
                        f"{_html.escape(note)}</div>"))
    return out


def setup(
    *,
    year: int,
    kind: str = "annual",
    lang: Lang = "zh",
    data_path: str | Path | None = "",
    level: float | None = None,
    baseline_year: int | None = None,
    catalog: pd.DataFrame | None = None,
    results_path: str | Path | None = "",
    show: bool = True,
) -> ReportContext:
    """Set a report notebook up: data, catalogue, fonts, notices; one call replaces the setup cell.

    Parameters
    ----------
    year : int
        Report year (the assessed year is the latest year with data up to it).
    kind : {"annual", "midterm", "final"}
    lang : {"zh", "en"}
    data_path : str or Path, optional
        Panel file; empty or None = the embedded demo panel.
    level : float, optional
        Coverage of the projection intervals (default: the results store's, else 0.8).
    baseline_year : int, optional
        Baseline of the progress measures (default: the results store's, else 2020).
    catalog : DataFrame, optional
        A researcher's catalogue (normalised by :func:`fzanalysis.catalog.normalize`).
    results_path : str or Path, optional
        The run's results store (the runner passes it); empty or None = compute in this kernel.
    show : bool
        Display the demo-data and missing-year notices.

    Returns
    -------
    ReportContext

    Raises
    ------
    ReportError
        Unknown kind, or no data in or before ``year``.
    PanelError, CatalogError
        The panel or catalogue is refused (the same message as everywhere else).
    """
    if kind not in KINDS:
        raise ReportError(f"kind must be one of {KINDS}, got {kind!r}")
    labels.check_lang(lang)
    cat = catalog_mod.normalize(catalog)
    panel = load_panel(data_path, catalog=cat)
    store = None if results_path is None or str(results_path) == "" else Path(results_path)
    if store is not None and (level is None or baseline_year is None):  # the run's: one value per report
        meta = results_mod.read_meta(store)
        level = meta["level"] if level is None else level
        baseline_year = meta["baseline_year"] if baseline_year is None else baseline_year
    level = 0.8 if level is None else float(level)
    baseline_year = 2020 if baseline_year is None else int(baseline_year)
    ctx = ReportContext(year=int(year), kind=kind, lang=lang, panel=panel, catalog=cat,
                        data_year=assessment_year(panel, year), level=level, baseline_year=baseline_year,
                        results_path=store)
    use_cjk_font()
    pd.set_option("display.max_rows", 300)
    pd.set_option("display.max_colwidth", 80)
    if show:
        for notice in _notices(ctx):
            display(notice)
    return ctx
