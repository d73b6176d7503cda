"""Charts a report can print: fan chart, status heatmap, gender-gap dumbbell, dashboard.

Every function takes tidy frames shaped like the result tables of
``docs/design.md`` (``assess``, ``project``, ``trend.project_paths``), draws on
the Axes it is given (or a new figure sized for an A4 report page) and returns
it; nothing calls ``plt.show()``.  Texts come from ``data/labels/plots.yaml``
in the language ``lang`` (``"zh"`` or ``"en"``), and are set in the bundled
Noto Sans CJK font (:func:`fzanalysis.fonts.use_cjk_font`).  When the data are
synthetic (``synthetic`` column true, or ``demo_note=True``) the figure says
演示数据 / demo data.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from fzanalysis import codes, comparators, gazetteer, plan
from fzanalysis.catalog import normalize as normalize_catalog
from fzanalysis.evaluation import of_sex, per_area_towns
from fzanalysis.exceptions import CatalogError, PlotError
from fzanalysis.fonts import use_cjk_font
from fzanalysis.geo import (
    NA_STYLE,
    NO_DATA_STYLE,
    NOT_COMPARABLE_STYLE,
    add_notes,
    demo_watermark,
    indicator_name,
    palette,
    town_label,
    wrap_title,
)
from fzanalysis.labels import (
    Lang,
    area_label,
    domain_label,
    domain_order,
    fill,
    format_number,
    format_value,
    gender_difference,
    is_published,
    label,
    per_area_kind,
    pooled_note,
    row_target,
    target_words,
    unit_label,
    unit_word,
)
from fzanalysis.rates import unrankable

__all__ = ["FAN_COLOURS", "SEX_COLOURS", "domain_dashboard", "fan_chart", "gender_gap_dumbbell",
           "status_heatmap"]

#: Colours of the sexes (colour-blind safe pair from ColorBrewer PiYG).
SEX_COLOURS = {"F": "#c51b7d", "M": "#4d9221"}
#: A status grid with more rows than this names its columns at the top as well as the bottom.
TALL_GRID_ROWS = 25
#: Colours of the fan chart.
FAN_COLOURS = {"observed": "#222222", "fitted": "#7f7f7f", "projected": "#2166ac",
               "band": "#92c5de", "target": "#b2182b", "baseline": "#555555"}


def _t(code: str, lang: Lang) -> str:
    return label("plot_text", code, lang)


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    # a Figure outside pyplot: nothing (geopandas' plt.draw()) re-renders it behind our back,
    # and the caller's show/savefig is the only rendering
    return Figure(figsize=size, dpi=150, layout="constrained").subplots()


def _synthetic(*frames: pd.DataFrame | None) -> bool:
    return any(f is not None and "synthetic" in f.columns
               and bool(f["synthetic"].fillna(False).astype(bool).any()) for f in frames)


def _need(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise PlotError(f"{what}: missing column(s) {', '.join(missing)}")


def _one_series(frame: pd.DataFrame, what: str) -> None:
    for col in ("indicator", "area", "sex"):
        if col in frame.columns and frame[col].nunique(dropna=True) > 1:
            raise PlotError(f"{what}: holds several values of {col!r} "
                             f"({sorted(map(str, frame[col].unique()))[:4]}); filter to one series")


def _with_unit(text: str, unit: str, lang: Lang) -> str:
    if not unit:
        return text
    return f"{text}（{unit}）" if lang == "zh" else f"{text} ({unit})"


def _area_names(lang: Lang) -> dict[str, str]:
    """The active plan's whole area first, then its towns (the gazetteer's towns inside it: none
    for a national plan, whose heatmap then has one column, not eight empty Conghua ones)."""
    whole = codes.district()
    towns = gazetteer.towns()
    towns = towns[towns["parent"].astype(str) == whole]
    return {whole: _t("district", lang),
            **dict(zip(towns["code"], towns["name_zh" if lang == "zh" else "name_en"]))}


# --------------------------------------------------------------------------
def _with_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """``year, value`` on every year from the first to the last, NaN where a year is missing, so
    a line drawn through it breaks there instead of joining the neighbours."""
    years = rows["year"].astype(int)
    if rows.empty:
        return rows[["year", "value"]]
    full = pd.RangeIndex(int(years.min()), int(years.max()) + 1, name="year")
    out = rows.assign(year=years).drop_duplicates("year").set_index("year")["value"].astype(float)
    return out.reindex(full).reset_index()


def fan_chart(observed: pd.DataFrame | None, path: pd.DataFrame, *, target: float | None,
              baseline: float | tuple[int, float] | None = None, ax: Axes | None = None,
              lang: Lang = "zh", level: float = 0.8, target_year: int | None = None,
              baseline_year: int = 2020, unit: str | None = None, title: str | None = None,
              demo_note: bool | None = None, unit_word: str | None = None,
              reference: tuple[str, int, float] | None = None,
              catalog: pd.DataFrame | None = None, target_label: str | None = None) -> Axes:
    """Observed series, its projection with interval band, target line and baseline.

    Parameters
    ----------
    observed : DataFrame or None
        Observations of one series (``year, value``; optional ``lower, upper``
        drawn as error bars).  ``None`` takes the ``kind == "observed"`` rows of
        ``path``.
    path : DataFrame
        Long frame of :func:`fzanalysis.trend.project_paths` for one
        indicator × area × sex: ``year, kind (observed|fitted|projected), value,
        lower, upper``.  The band is ``lower``–``upper`` of the projected (and
        fitted) rows.
    target : float or None, keyword-only
        Numeric target, drawn as a horizontal line and a marker at
        ``target_year``; ``None``/NaN for a directional target (no line, a note).
    target_label : str, keyword-only, optional
        The target line's legend entry (default ``目标值 2030: 96``); a 保持 target drawn at the
        level it holds says so (``保持2020年水平：28.3%``).
    baseline : float or (int, float), keyword-only, optional
        Baseline value (at ``baseline_year``) or ``(year, value)``; ``None`` to omit.
    reference : (str, int, float), keyword-only, optional
        An official figure of the same statistic for a wider area, ``(area code, year, value)``
        (``fzanalysis.evaluate``'s ``reference_*`` columns): a grey dashed line, labelled e.g.
        ``全国 2024: 14.3``.
    ax, lang : Axes and {"zh", "en"}, keyword-only
        Axes to draw on (new 8×5 in figure if None) and language.
    level : float, keyword-only
        Coverage of the interval band, printed in the legend (e.g. 0.8 → "80%").
    target_year, baseline_year : int, keyword-only
        Years of the target marker and of a bare baseline value (2020).  ``target_year``
        defaults to the last projected year of ``path`` (:func:`fzanalysis.trend.project_paths`
        runs each series to its catalogue's target year), else the active plan's (2030).
    unit : str, keyword-only, optional
        Unit code (``data/units.csv`` key) for the y axis label.
    unit_word : str, keyword-only, optional
        The series' counting word (:func:`fzanalysis.labels.unit_word` of its catalogue row: 条 for
        adverts); default the unit's.
    title : str, keyword-only, optional
        Axes title (default: indicator name and area, e.g. 宫颈癌筛查率（全区））.
    catalog : DataFrame, keyword-only, optional
        A researcher's own catalogue, for the default title's name (the frames of
        :func:`fzanalysis.trend.project_paths` carry ids, not names); default the plan's.
    demo_note : bool, keyword-only, optional
        Add 演示数据 / demo data (default: when ``observed`` or ``path`` has a
        true ``synthetic`` column).

    Returns
    -------
    Axes

    Raises
    ------
    PlotError
        If a required column is missing, ``kind`` has another value, or the frames hold
        several series.

    See Also
    --------
    fzanalysis.project : the projection and its interval.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import plots
    >>> path = pd.DataFrame({
    ...     "year": [2020, 2022, 2024, 2026, 2028, 2030],
    ...     "kind": ["observed"] * 3 + ["projected"] * 3,
    ...     "value": [60.0, 63.0, 66.0, 69.0, 72.0, 75.0],
    ...     "lower": [None, None, None, 66.0, 67.5, 69.0],
    ...     "upper": [None, None, None, 72.0, 76.5, 81.0]})
    >>> ax = plots.fan_chart(None, path, target=70.0, baseline=60.0, unit="percent",
    ...                      title="Screening", lang="en")
    >>> type(ax).__name__
    'Axes'
    """
    use_cjk_font()
    _need(path, ("year", "kind", "value"), "path")
    _one_series(path, "path")
    kinds = set(path["kind"])
    unknown = kinds - {"observed", "fitted", "projected"}
    if unknown:
        raise PlotError(f"path: column 'kind' has {sorted(unknown)}; expected observed, fitted, projected")
    obs = path[path["kind"] == "observed"] if observed is None else observed
    _need(obs, ("year", "value"), "observed")
    _one_series(obs, "observed")
    ax = _axes(ax, (8, 5))
    obs = obs.sort_values("year")
    fit = path[path["kind"] == "fitted"].sort_values("year")
    proj = path[path["kind"] == "projected"].sort_values("year")
    if target_year is None:
        target_year = int(proj["year"].max()) if len(proj) else plan.active().target_year
    band = pd.concat([fit, proj]) if {"lower", "upper"} <= set(path.columns) else pd.DataFrame()
    band = band.dropna(subset=["lower", "upper"]) if len(band) else band
    if len(band):
        ax.fill_between(band["year"].astype(float), band["lower"].astype(float),
                        band["upper"].astype(float), color=FAN_COLOURS["band"], alpha=0.45,
                        linewidth=0, label=f"{level:.0%} {_t('interval', lang)}")
    if len(fit):
        gapped = _with_gaps(fit)
        ax.plot(gapped["year"], gapped["value"], color=FAN_COLOURS["fitted"], linestyle="--",
                linewidth=1.2, label=_t("fitted", lang))
    if len(proj):
        # the projection continues the trend line from its value in the last observed year (the
        # 趋势线2024年为… of the sentences), not from the last figure: joined to a figure far off
        # the line it drew a one-year plunge or leap the projection does not say (a reader's finding)
        last = obs["year"].max() if len(obs) else np.nan
        on_line = fit[fit["year"] == last][["year", "value"]] if len(fit) else fit
        lead = (on_line if len(on_line) else obs.tail(1)[["year", "value"]]) \
            if len(obs) and last < proj["year"].min() else proj.head(0)[["year", "value"]]
        line = pd.concat([lead, proj[["year", "value"]]])
        ax.plot(line["year"], line["value"], color=FAN_COLOURS["projected"], linewidth=2,
                label=_t("projected", lang))
    if len(obs):
        if {"lower", "upper"} <= set(obs.columns) and obs[["lower", "upper"]].notna().any().any():
            err = np.vstack([obs["value"] - obs["lower"], obs["upper"] - obs["value"]]).astype(float)
            ax.errorbar(obs["year"], obs["value"], yerr=np.nan_to_num(err), fmt="none",
                        ecolor=FAN_COLOURS["observed"], elinewidth=0.8, capsize=2)
        gapped = _with_gaps(obs)  # a missing year breaks the line: it is not drawn as observed
        ax.plot(gapped["year"], gapped["value"], color=FAN_COLOURS["observed"], marker="o",
                markersize=4, linewidth=1.2, label=_t("observed", lang))
    if target is not None and not (isinstance(target, float) and math.isnan(target)):
        ax.axhline(float(target), color=FAN_COLOURS["target"], linestyle=":", linewidth=1.5,
                   label=target_label or f"{_t('target', lang)} {target_year}: {target:g}")
        ax.plot([target_year], [float(target)], marker="*", markersize=11,
                color=FAN_COLOURS["target"], linestyle="none")
    else:
        ax.text(0.99, 0.02, _t("directional_target", lang), transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8, color=FAN_COLOURS["target"])
    if baseline is not None:
        by, bv = baseline if isinstance(baseline, tuple) else (baseline_year, baseline)
        if bv is not None and not (isinstance(bv, float) and math.isnan(bv)):
            # in the unit's digits, as the tables write it (68.1%, not 68.1234)
            shown = format_value(float(bv), unit, lang=lang, word=unit_word) if unit else f"{float(bv):g}"
            ax.plot([by], [float(bv)], marker="D", markersize=7, color=FAN_COLOURS["baseline"],
                    markerfacecolor="white", markeredgewidth=1.5, linestyle="none",
                    label=f"{_t('baseline', lang)} {by}: {shown}")
    if reference is not None and not pd.isna(reference[2]):
        ref_area, ref_year, ref_value = reference
        ax.axhline(float(ref_value), color="#7f7f7f", linestyle="--", linewidth=1.0,
                   label=f"{area_label(str(ref_area), lang)} {int(ref_year)}: {float(ref_value):g}")
    ax.set_xlabel(_t("year", lang))
    ax.set_ylabel(_with_unit(_t("value", lang), unit_label(unit, lang, word=unit_word), lang))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="best", fontsize=8, frameon=True, framealpha=0.9)
    if title is None:  # indicator (from the frame or the catalogue) and area
        name = indicator_name(path, lang, catalog)
        area = str(path["area"].iloc[0]) if "area" in path.columns and len(path) else None
        place = _area_names(lang).get(area, area) if area else None
        title = f"{name}（{place}）" if (place and lang == "zh") else \
            (f"{name} ({place})" if place else name)
    ax.set_title(title, fontsize=11)
    if _synthetic(observed, path) if demo_note is None else demo_note:
        demo_watermark(ax, lang)
    return ax


# --------------------------------------------------------------------------
class _Cells(set):
    """A set of (indicator, area) cells; ``streets_only`` when every restriction is 街道-only."""

    streets_only: bool = False


def _not_targeted_cells(rows: pd.DataFrame, inds: Sequence[str], areas: Sequence[str],
                        catalog: pd.DataFrame | None = None, whole: str | None = None) -> _Cells:
    """(indicator, town) cells a per-area target does not apply to: a row with status
    ``not_applicable``, or a town whose gazetteer kind is not in the catalogue's ``area_kinds``
    (``catalog``: the one the table was assessed with; None = the plan's)."""
    out = _Cells()
    if "status" in rows.columns:
        hit = rows[rows["status"].astype(object) == "not_applicable"]
        out |= set(zip(hit["indicator"].astype(str), hit["area"].astype(str)))
    try:
        cat = normalize_catalog(catalog).set_index("id")["area_kinds"]
    except (CatalogError, FileNotFoundError):
        return out
    kind_of = gazetteer.kind_of()
    seen: set[str] = set()
    for ind in inds:
        kinds = gazetteer.kinds(cat.get(ind, ""))
        if kinds:
            seen |= kinds
            out |= {(ind, a) for a in areas if a != (whole or codes.district())
                    and not gazetteer.applies_to(a, kinds, kind_map=kind_of)}
    out.streets_only = seen == {"street"}
    return out


def status_heatmap(assessed: pd.DataFrame, *, ax: Axes | None = None, lang: Lang = "zh",
                   column: str = "category", sex: str | None = "judged",
                   domain: str | Sequence[str] | None = None, title: str | None = None,
                   demo_note: bool | None = None, catalog: pd.DataFrame | None = None,
                   area: str | None = None) -> Axes:
    """Indicator × town grid coloured by progress category (or status).

    Rows are the indicators, grouped by domain in the plan's order
    (``data/domains.csv``; a header row names each domain when there are
    several) and otherwise in order of appearance; columns the district
    (全区) followed by the towns in gazetteer order (a table with codes outside the gazetteer:
    ``area`` followed by the other codes in order of appearance, each shown as its code).  A cell with no row, or
    with ``status == "no_data"``, is drawn hatched grey and listed in the
    legend as 无数据 / no data; a town a per-area target does not apply to
    (catalogue ``area_kinds``, status ``not_applicable``) is dotted white,
    不适用 / not applicable; a town figure too small to compare
    (:func:`fzanalysis.rates.unrankable`, as on the maps) is cross-hatched 不宜比较 / not
    comparable, never coloured.  Every cell is one ``Rectangle`` patch.

    Parameters
    ----------
    assessed : DataFrame
        :func:`fzanalysis.assess` rows: ``indicator, area, <column>`` (and
        ``name_zh``/``name_en``, ``sex`` if present).
    column : {"category", "status"}, keyword-only
        What colours the cells.
    sex : str or None, keyword-only
        Which sex to show: ``"judged"`` (default) the sex each target is about
        (:func:`fzanalysis.evaluation.of_judged_sex`: the female figure of a women's target,
        the total otherwise), a code (``"F"``, ``"M"``, ``"T"``) for one sex, ``None`` when the
        table has no ``sex`` column.
    domain : str or sequence of str, keyword-only, optional
        Keep only this domain (or these domains).
    ax, lang, title, demo_note : keyword-only
        As in :func:`fan_chart`.
    catalog : DataFrame, keyword-only, optional
        The catalogue the table was assessed with (its ``area_kinds`` say which towns a
        per-area target leaves out); None = the plan's.
    area : str, keyword-only, optional
        The whole area, drawn first (default the plan's, :func:`fzanalysis.codes.district`):
        the ``area`` a researcher's own codes were assessed with.

    Returns
    -------
    Axes

    Raises
    ------
    PlotError
        If ``column`` is not ``category`` or ``status``, a column is missing, a cell has two
        rows, or a code has no colour.

    See Also
    --------
    domain_dashboard : the district's values against their targets.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import plots
    >>> assessed = pd.DataFrame({
    ...     "indicator": "health.x", "sex": "T", "name_en": "Screening",
    ...     "area": ["440117", "440117001", "440117002"],
    ...     "category": ["on_track", "achieved", "deterioration"], "status": ["met", "met", "not_met"]})
    >>> ax = plots.status_heatmap(assessed, lang="en")
    >>> type(ax).__name__
    'Axes'
    """
    use_cjk_font()
    kinds = {"category": "category", "status": "status"}
    if column not in kinds:
        raise PlotError(f"column must be one of {sorted(kinds)}, got {column!r}")
    _need(assessed, ("indicator", "area", column), "assessed")
    rows = assessed.assign(area=assessed["area"].astype(str))
    rows = rows[of_sex(rows, sex)]
    dup = rows.duplicated(subset=["indicator", "area"], keep=False)
    if dup.any():
        i = dup[dup].index[0]
        raise PlotError(f"assessed: row {i}: several rows for {rows.loc[i, 'indicator']} in "
                         f"{rows.loc[i, 'area']}; filter to one sex and one year")
    pal = palette(kinds[column], lang)
    names = _area_names(lang)
    district = codes.district() if area is None else str(area)
    shown = list(dict.fromkeys(rows["area"]))
    if district in names and set(shown) <= set(names):  # the plan's areas: every town a column
        areas = [district] + [a for a in names if a != district]
    else:  # a researcher's own codes: the whole area, then the others as they come
        areas = [district] * (district in shown) + [a for a in shown if a != district]
        names = {**{a: a for a in areas}, **names}
    if domain is not None:
        _need(rows, ("domain",), "assessed")
        wanted = [domain] if isinstance(domain, str) else list(domain)
        rows = rows[rows["domain"].isin(wanted)]
    inds = list(dict.fromkeys(rows["indicator"]))
    if not inds:
        raise PlotError("assessed: no rows to draw" + (f" for sex {sex!r}" if sex else "")
                         + (f" in domain {domain!r}" if domain is not None else ""))
    # group by domain in the plan's order; a header row per domain when several
    layout: list[tuple[str, str]] = []  # ("domain", code) or ("indicator", id)
    if "domain" in rows.columns:
        dom_of = rows.drop_duplicates("indicator").set_index("indicator")["domain"].astype(str)
        order = list(domain_order())
        doms = sorted(dict.fromkeys(dom_of[inds]),
                      key=lambda d: order.index(d) if d in order else len(order))
        for d in doms:
            if len(doms) > 1:
                layout.append(("domain", d))
            layout.extend(("indicator", i) for i in inds if dom_of[i] == d)
    else:
        layout = [("indicator", i) for i in inds]
    name_col = "name_zh" if lang == "zh" else "name_en"
    ind_names = {i: (rows.loc[rows["indicator"] == i, name_col].dropna().iloc[0]
                     if name_col in rows.columns and rows.loc[rows["indicator"] == i, name_col].notna().any()
                     else i) for i in inds}
    ax = _axes(ax, (8, max(3.0, 0.36 * len(layout) + 2.2)))
    cells = rows.set_index(["indicator", "area"])[column].to_dict()
    statuses = rows.set_index(["indicator", "area"])["status"].to_dict() if "status" in rows else {}
    present: set[str] = set()
    any_missing = False
    not_targeted = _not_targeted_cells(rows, inds, areas, catalog, district)
    # town figures the methods call unrankable (methods 1.5) are not coloured beside the others
    few = rows[unrankable(rows) & (rows["area"] != district)]
    not_comparable = set(zip(few["indicator"], few["area"], strict=True))
    any_na = any_nc = False
    for r, (what, ind) in enumerate(layout):
        if what == "domain":
            if r:
                ax.axhline(r, color="#333333", linewidth=0.8)
            continue
        for c, area in enumerate(areas):
            code = cells.get((ind, area))
            if (ind, area) in not_targeted:  # target set for other kinds of area (街道 only)
                any_na = True
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=NA_STYLE["facecolor"],
                                       edgecolor="#d9d9d9", hatch=NA_STYLE["hatch"], linewidth=1.5))
                continue
            missing = code is None or (isinstance(code, float) and math.isnan(code)) \
                or pd.isna(code) or statuses.get((ind, area)) == "no_data" or code == "no_data"
            if not missing and (ind, area) in not_comparable:
                any_nc = True
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=NOT_COMPARABLE_STYLE["facecolor"],
                                       edgecolor="#d9d9d9", hatch=NOT_COMPARABLE_STYLE["hatch"],
                                       linewidth=1.5))
                continue
            if not missing and str(code) not in pal:
                raise PlotError(f"assessed: {column} {code!r} for {ind} in {area} has no colour "
                                 f"(expected one of {sorted(pal)})")
            if missing:
                any_missing = True
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=NO_DATA_STYLE["facecolor"],
                                       edgecolor="white", hatch=NO_DATA_STYLE["hatch"],
                                       linewidth=1.5))
            else:
                present.add(str(code))
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=pal[str(code)][1],
                                       edgecolor="white", linewidth=1.5))
    ax.set_xlim(0, len(areas))
    ax.set_ylim(len(layout), 0)
    ax.set_xticks(np.arange(len(areas)) + 0.5)
    area_names = [names[a] if lang == "zh" else town_label("", names[a], "en") for a in areas]
    rot = 45 if lang == "zh" else 40  # rotated: eight town names side by side run together
    ax.set_xticklabels(area_names, rotation=rot, ha="right", rotation_mode="anchor", fontsize=8.5)
    tall = len(layout) > TALL_GRID_ROWS
    if tall:  # a grid taller than a screen names its columns at the top as well as the bottom
        top = ax.secondary_xaxis("top")
        top.set_xticks(np.arange(len(areas)) + 0.5)
        top.set_xticklabels(area_names, rotation=rot, ha="left", rotation_mode="anchor", fontsize=8.5)
        top.tick_params(length=0)
        top.spines["top"].set_visible(False)
    ax.set_yticks(np.arange(len(layout)) + 0.5)
    ax.set_yticklabels([wrap_title(str(ind_names[i]), 18 if lang == "zh" else 40) if what == "indicator"
                        else f"【{domain_label(i, lang)}】" if lang == "zh" else f"[{domain_label(i, lang)}]"
                        for what, i in layout], fontsize=8)
    for tick, (what, _) in zip(ax.get_yticklabels(), layout):
        if what == "domain":
            tick.set_color("#08306b")
            tick.set_fontsize(9)
    ax.tick_params(length=0)
    ax.axvline(1, color="#333333", linewidth=1.2)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=colour, edgecolor="#555555", label=lab)
               for code, (lab, colour) in pal.items() if code in present and code != "no_data"]
    if any_nc:
        handles.append(Patch(**NOT_COMPARABLE_STYLE, label=_t("not_comparable", lang)))
    if any_missing:
        handles.append(Patch(facecolor=NO_DATA_STYLE["facecolor"], edgecolor=NO_DATA_STYLE["edgecolor"],
                             hatch=NO_DATA_STYLE["hatch"], label=_t("no_data", lang)))
    if any_na:
        handles.append(Patch(**NA_STYLE, label=_t("not_applicable_street_only"
                                                  if not_targeted.streets_only else
                                                  "not_applicable_area_kind", lang)))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              title=label("plot_column", column, lang), title_fontsize=8.5, frameon=False)
    # one area (a national plan has no towns): the title does not speak of towns
    default = "heatmap_title" if len(areas) > 1 else "heatmap_title_one_area"
    ax.set_title(title if title is not None else _t(default, lang), fontsize=11,
                 pad=48 if tall else 6)
    if _synthetic(assessed) if demo_note is None else demo_note:
        demo_watermark(ax, lang)
    return ax


# --------------------------------------------------------------------------
def gender_gap_dumbbell(frame: pd.DataFrame, *, ax: Axes | None = None, lang: Lang = "zh",
                        by: str = "auto", title: str | None = None,
                        demo_note: bool | None = None) -> Axes:
    """Dumbbell chart: women's and men's values joined by a line, gap annotated.

    One row per area (one indicator, several towns) or per indicator (one
    area, several indicators of the same unit).  The annotation is the
    difference F − M in the unit of the values (百分点 / percentage points for
    percentages).  A row lacking one sex shows the available dot and 无数据.

    Given the output of :func:`fzanalysis.gender_gap` (columns ``value_f`` and
    ``value_m``), the chart draws exactly its figures: both sexes over the same years,
    a pooled row named with its window (:func:`fzanalysis.labels.pooled_note`, as on
    every page), a gap that is not rankable (``rankable`` false,
    :func:`fzanalysis.rates.unrankable`) annotated 不宜比较 instead of a number, and a
    row without a like-for-like comparison (``difference`` NaN) with no difference.

    Parameters
    ----------
    frame : DataFrame
        Either :func:`fzanalysis.gender_gap` rows, or long rows with ``indicator, area,
        sex, value`` (sex ``F`` and ``M``; ``T`` rows are ignored by design: the chart
        compares the sexes); optional ``unit``, ``name_zh``/``name_en``, ``synthetic``.
    by : {"auto", "area", "indicator"}, keyword-only
        One row per area or per indicator (``auto``: whichever varies).
    ax, lang, title, demo_note : keyword-only
        As in :func:`fan_chart`.  The default title names what the chart holds: the
        indicator (one row per area), or the area and the unit (one row per indicator:
        a chapter draws one such chart per unit).

    Returns
    -------
    Axes

    Raises
    ------
    PlotError
        If both indicators and areas vary (ambiguous), or the rows mix units.

    See Also
    --------
    fzanalysis.gender_gap : the differences with their intervals.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import plots
    >>> frame = pd.DataFrame({
    ...     "indicator": "health.x", "unit": "percent", "sex": ["F", "M", "F", "M"],
    ...     "area": ["440117001", "440117001", "440117002", "440117002"],
    ...     "value": [41.7, 36.1, 39.0, 40.2]})
    >>> ax = plots.gender_gap_dumbbell(frame, lang="en")
    >>> type(ax).__name__
    'Axes'
    """
    use_cjk_font()
    gap_table = {"value_f", "value_m"} <= set(frame.columns)
    if gap_table:  # fzanalysis.gender_gap rows: one per indicator x area, both sexes over the same years
        _need(frame, ("indicator", "area", "value_f", "value_m"), "frame")
        keep = [c for c in ("indicator", "area", "year", "unit", "name_zh", "name_en", "synthetic",
                            "unit_word_zh", "unit_word_en") if c in frame.columns]
        rows = pd.concat([frame[keep].assign(sex=s, value=frame[v]) for s, v in (("F", "value_f"), ("M", "value_m"))]
                         ).assign(area=lambda d: d["area"].astype(str))
    else:
        _need(frame, ("indicator", "area", "sex", "value"), "frame")
        rows = frame[frame["sex"].isin(["F", "M"])].assign(area=lambda d: d["area"].astype(str))
    if rows.empty:
        raise PlotError("frame: no rows with sex F or M")
    n_ind, n_area = rows["indicator"].nunique(), rows["area"].nunique()
    if by == "auto":
        if n_ind > 1 and n_area > 1:
            raise PlotError("frame: both indicators and areas vary; filter one or pass by=")
        by = "indicator" if n_ind > 1 else "area"
    if by not in ("area", "indicator"):
        raise PlotError(f"by must be 'area', 'indicator' or 'auto', got {by!r}")
    other = "indicator" if by == "area" else "area"
    if rows[other].nunique() > 1:
        raise PlotError(f"frame: by={by!r} needs a single {other}, found "
                         f"{sorted(map(str, rows[other].unique()))[:4]}")
    if "unit" in rows.columns and rows["unit"].nunique() > 1:
        raise PlotError(f"frame: rows mix units {sorted(rows['unit'].unique())}; one axis cannot show them")
    unit = rows["unit"].dropna().iloc[0] if "unit" in rows.columns and rows["unit"].notna().any() else None
    # one indicator: its own counting word (条, 名); several share their unit's
    word = unit_word(rows.iloc[0].to_dict(), lang) if unit is not None and rows["indicator"].nunique() == 1 else None
    rows = rows.reset_index(drop=True)
    dup = rows.duplicated(subset=[by, "sex"], keep=False)
    if dup.any():
        first = rows[dup].iloc[0]
        years = sorted(pd.unique(rows.loc[dup, "year"])) if "year" in rows.columns else []
        hint = (f" (years {years[0]}…{years[-1]}): keep one year, e.g. frame[frame['year'] == {years[-1]}]"
                if len(years) > 1 else ": keep one row per sex")
        raise PlotError(f"frame: several rows of sex {first['sex']} for {by} {first[by]}{hint}")
    wide = rows.pivot(index=by, columns="sex", values="value").reindex(columns=["F", "M"])
    if gap_table:
        info = frame.assign(area=lambda d: d["area"].astype(str)).set_index(by)
        difference = info["difference"].astype(float) if "difference" in info.columns else \
            info["value_f"].astype(float) - info["value_m"].astype(float)
        not_comparable = unrankable(info.reset_index()).set_axis(info.index)
        pooled = info["pooled_years"] if "pooled_years" in info.columns else pd.Series("", index=info.index)
    else:
        difference = wide["F"].astype(float) - wide["M"].astype(float)
        not_comparable = pd.Series(False, index=wide.index)
        pooled = pd.Series("", index=wide.index)
    name_col = "name_zh" if lang == "zh" else "name_en"
    if by == "area":
        names = _area_names(lang)
        # gazetteer order, then codes outside the gazetteer (a researcher's own) as themselves
        order = [a for a in names if a in wide.index] + [a for a in wide.index if a not in names]
        labels_ = [names.get(a, a) for a in order]
    else:
        order = list(dict.fromkeys(rows["indicator"]))
        labels_ = [(rows.loc[rows["indicator"] == i, name_col].dropna().iloc[0]
                    if name_col in rows.columns and rows.loc[rows["indicator"] == i, name_col].notna().any()
                    else i) for i in order]
    # a pooled figure is named with its window, as on every page (on a line of its own)
    labels_ = ["\n".join(x for x in (wrap_title(str(t), 16 if lang == "zh" else 36),
                                      pooled_note(pooled.get(k), lang).strip()) if x)
               for t, k in zip(labels_, order, strict=True)]
    wide = wide.reindex(order).astype(float)
    ax = _axes(ax, (8, max(3.0, 0.45 * len(order) + 1.8)))
    y = np.arange(len(order))
    gap_unit = unit_label(unit, lang, gap=True, word=word)
    for yi, (f, m) in zip(y, wide[["F", "M"]].itertuples(index=False)):
        if not (np.isnan(f) or np.isnan(m)):
            ax.plot([m, f], [yi, yi], color="#bdbdbd", linewidth=3, solid_capstyle="round", zorder=1)
    ax.scatter(wide["F"], y, color=SEX_COLOURS["F"], s=45, zorder=3, label=_t("female", lang))
    ax.scatter(wide["M"], y, color=SEX_COLOURS["M"], s=45, zorder=3, label=_t("male", lang))
    finite = wide[["F", "M"]].to_numpy()
    finite = finite[np.isfinite(finite)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    span = (hi - lo) or max(abs(hi), 1.0)
    ax.set_xlim(lo - 0.08 * span, hi + 0.08 * span)
    # the F - M differences are the tick labels of a twin axis on the right, so any
    # layout engine keeps them inside the figure
    def gap_text(k: str, f: float, m: float) -> str:
        if np.isnan(f) or np.isnan(m):
            return _t("no_data", lang)
        if bool(not_comparable.get(k, False)):  # few events: not compared as if precise (methods 1.5)
            return _t("not_comparable_short", lang)
        d = difference.get(k, np.nan)
        if pd.isna(d):
            return "—"
        # as the gap table beside it prints it: the difference of the figures as printed
        shown, dec = gender_difference(f, m, unit) if unit is not None else (float(d), 1)
        text = format_number(shown, dec)
        return text if text.startswith("-") else f"+{text}"

    gaps = [gap_text(k, f, m) for k, (f, m) in zip(order, wide[["F", "M"]].itertuples(index=False), strict=True)]
    ax.set_yticks(y)
    ax.set_yticklabels(labels_, fontsize=8.5)
    ax.set_ylim(len(order) - 0.4, -1.4)
    ax.set_xlabel(_with_unit(_t("value", lang), unit_label(unit, lang, word=word), lang))
    ax.grid(True, axis="x", color="#eeeeee")
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    # header of the difference column sits in the top (legend) row, horizontal
    right.set_yticks([-0.9, *y])
    right.set_yticklabels([_with_unit(_t("gap_fm", lang), gap_unit, lang), *gaps], fontsize=8)
    right.tick_params(axis="y", length=0)
    right.spines[["top", "right", "left", "bottom"]].set_visible(False)
    ax.legend(loc="upper left", ncol=2, fontsize=8, frameon=False)
    if title is None:
        if by == "area":
            nm = rows[name_col].dropna().iloc[0] if name_col in rows.columns and rows[name_col].notna().any() \
                else rows["indicator"].iloc[0]
            title = f"{_t('dumbbell_title', lang)}：{nm}" if lang == "zh" else f"{_t('dumbbell_title', lang)}: {nm}"
        else:
            place = _area_names(lang).get(str(rows["area"].iloc[0]), str(rows["area"].iloc[0]))
            # one chart per unit on a page: the unit is what tells them apart
            shown_unit = unit_label(unit, lang, word=word) if unit is not None else ""
            title = fill(_t("dumbbell_title_unit" if shown_unit else "dumbbell_title_area", lang),
                         place=place, unit=shown_unit)
    ax.set_title(title, fontsize=11)
    if _synthetic(frame) if demo_note is None else demo_note:
        demo_watermark(ax, lang)
    return ax


# --------------------------------------------------------------------------
def _per_area_values(assessed: pd.DataFrame, row: pd.Series) -> np.ndarray:
    """The figures of the towns a per-area district ``row`` is judged on
    (:func:`fzanalysis.evaluation.per_area_towns`), in ``assessed``."""
    if "status" not in assessed.columns:
        return np.array([])
    towns = per_area_towns(assessed, row)
    return pd.to_numeric(towns["value"], errors="coerce").dropna().to_numpy(float)


def domain_dashboard(assessed: pd.DataFrame, domain: str, *, lang: Lang = "zh",
                     area: str | None = None, sex: str | None = "judged",
                     demo_note: bool | None = None) -> Figure:
    """Bullet charts of every indicator of a domain: value, interval, target.

    One row per indicator (its own scale, since units differ).  The bar is the
    current value coloured by progress category; the black whisker its
    uncertainty interval (``lower``–``upper`` of the assessment); the vertical
    red tick the target; the shaded background the side of the target that
    meets it (≥, ≤, or the tolerance band for ≈); a white diamond the
    baseline.  Directional targets (increase/decrease/maintain) have no tick and
    say so.  A per-area target (每个街道至少1名, judged town by town: ``method`` ``per_area``)
    draws the lowest of its towns as the bar and each town as a dot, with the target written
    每个街道 ≥ 1名; its towns' rows are read from ``assessed``.

    Parameters
    ----------
    assessed : DataFrame
        The judgement rows :func:`fzanalysis.evaluate` returns (``.series``: ``indicator, area,
        value, lower, upper, target, comparator, category, unit, domain`` …), so the bars carry
        the category every page shows.  :func:`fzanalysis.assess` rows draw too, but their
        ``category`` is the pace since the baseline, not the judgement (see its Notes).
    domain : str
        Domain code.
    area, sex : str or None, keyword-only
        Which rows (default ``area=None``: the district, :func:`fzanalysis.codes.district`;
        ``sex="judged"``: the sex each target is about, as in :func:`status_heatmap`).
    lang, demo_note : keyword-only
        As in :func:`fan_chart`.

    Returns
    -------
    Figure

    Raises
    ------
    PlotError
        If a column is missing, no row matches, or an indicator appears twice.

    See Also
    --------
    status_heatmap : every town at once.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import plots
    >>> rows = pd.DataFrame({
    ...     "indicator": ["health.a", "health.b"], "area": "440117", "sex": "T", "domain": "health",
    ...     "value": [72.0, 8.1], "lower": [70.0, 2.0], "upper": [74.0, 20.0], "target": [70.0, 7.5],
    ...     "comparator": [">=", "<"], "category": ["achieved", "on_track"],
    ...     "unit": ["percent", "per_100k_live_births"]})
    >>> fig = plots.domain_dashboard(rows, "health", lang="en")
    >>> type(fig).__name__
    'Figure'
    """
    use_cjk_font()
    area = codes.district() if area is None else area
    _need(assessed, ("indicator", "area", "domain", "value", "target", "comparator"), "assessed")
    rows = assessed[(assessed["domain"] == domain) & (assessed["area"].astype(str) == str(area))]
    rows = rows[of_sex(rows, sex)]
    if rows.empty:
        raise PlotError(f"assessed: no rows for domain {domain!r}, area {area!r}, sex {sex!r}")
    dup = rows.duplicated(subset=["indicator"], keep=False)
    if dup.any():
        raise PlotError(f"assessed: indicator {rows.loc[dup].iloc[0]['indicator']} appears twice")
    pal = palette("category", lang)
    n = len(rows)
    height = 0.9 * n + 1.3  # inches: rows + title + legend and notes
    fig = Figure(figsize=(8, height), dpi=150)  # outside pyplot (see _axes)
    axes = fig.subplots(n, 1, squeeze=False)
    name_col = "name_zh" if lang == "zh" else "name_en"
    for ax, (_, r) in zip(axes[:, 0], rows.iterrows()):
        val = float(r["value"]) if pd.notna(r["value"]) else math.nan
        # a per-area target (每个街道至少1名) is judged town by town: the bar is the lowest of
        # those towns, a dot each town, never the district's total against a per-town target
        each = per_area_kind(r, lang)
        town_vals = _per_area_values(assessed, r) if each else np.array([])
        if each and town_vals.size:
            val = float(town_vals.min())
        tgt = float(comparators.numeric_target(r["comparator"], r["target"]))
        lo = float(r["lower"]) if "lower" in r and pd.notna(r.get("lower")) else math.nan
        up = float(r["upper"]) if "upper" in r and pd.notna(r.get("upper")) else math.nan
        base = float(r["baseline_value"]) if pd.notna(r.get("baseline_value", math.nan)) else math.nan
        tol = float(r["tolerance"]) if pd.notna(r.get("tolerance", math.nan)) else math.nan
        if each:  # the district's interval and baseline are the total's, not a town's
            lo = up = base = math.nan
        pts = np.array([v for v in (val, tgt, lo, up, base, *town_vals) if np.isfinite(v)] + [0.0])
        xmin = min(0.0, pts.min())
        xmax = pts.max() * 1.08 if pts.max() > 0 else 1.0
        if r.get("unit") == "percent":
            xmax = min(max(xmax, 1.0), 100.0) if pts.max() <= 100 else xmax
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(0, 1)
        ax.add_patch(Rectangle((xmin, 0.1), xmax - xmin, 0.8, facecolor="#f0f0f0", linewidth=0))
        # the side that meets the target: the success region of the one rule (comparators.region;
        # a 左右 floor ~>= from target - tolerance up, a ~= band, ≥ from the target ...)
        reg_lo, reg_hi, _, _ = (float(x) for x in comparators.region(str(r["comparator"]), tgt, tol))
        if np.isfinite(tgt) and not (np.isnan(reg_lo) or np.isnan(reg_hi)):
            left, right = max(xmin, reg_lo), min(xmax, reg_hi)
            if right > left:
                ax.add_patch(Rectangle((left, 0.1), right - left, 0.8, facecolor="#d9f0d3", linewidth=0))
        cat = str(r.get("category")) if pd.notna(r.get("category")) else "insufficient_data"
        colour = pal.get(cat, pal["insufficient_data"])[1]
        if np.isfinite(val):
            ax.barh(0.5, val - xmin, left=xmin, height=0.32, color=colour, edgecolor="#333333",
                    linewidth=0.6)
            if np.isfinite(lo) and np.isfinite(up):
                ax.errorbar(val, 0.5, xerr=[[val - lo], [up - val]], fmt="none", ecolor="#111111",
                            elinewidth=1.2, capsize=3)
        else:
            ax.text((xmin + xmax) / 2, 0.5, _t("no_data", lang), ha="center", va="center",
                    fontsize=8, color="#555555")
        if town_vals.size:
            ax.plot(town_vals, np.full(town_vals.size, 0.5), marker="o", markersize=4, color="#111111",
                    linestyle="none")
        if np.isfinite(tgt):
            ax.plot([tgt, tgt], [0.15, 0.85], color=FAN_COLOURS["target"], linewidth=2.2)
        if np.isfinite(base):
            ax.plot([base], [0.5], marker="D", markersize=5, color="#555555",
                    markerfacecolor="white", linestyle="none")
        # value and target written as every table writes them (fzanalysis.labels: the unit's digits,
        # a real figure its published ones)
        word = unit_word(r, lang)  # a count's counting word (条, 名)
        value_txt = (format_value(val, r.get("unit"), lang=lang, published=is_published(r.get("synthetic")), word=word)
                     if np.isfinite(val) else _t("no_data", lang))
        if town_vals.size:
            value_txt = _t("per_area_lowest", lang).format(kind=each, value=value_txt)
        elif np.isfinite(val):  # a rate pooled over years is named with its window, as on every page
            value_txt += pooled_note(r.get("pooled_years"), lang)
        # a target without a number in the plan's own words (未设目标，按保持2020年水平监测), as the tables say it
        target_txt = wrap_title(target_words(r, lang), 16 if lang == "zh" else 36) or (
            f"{_t('target', lang)} " + row_target(r, lang, word=word))
        ax.text(1.01, 0.5, f"{value_txt}\n{target_txt}\n{pal.get(cat, pal['insufficient_data'])[0]}",
                transform=ax.transAxes, ha="left", va="center", fontsize=7)
        nm = r.get(name_col) if pd.notna(r.get(name_col, math.nan)) else r["indicator"]
        ax.set_yticks([0.5])
        ax.set_yticklabels([wrap_title(str(nm), 14 if lang == "zh" else 30)], fontsize=8)
        ax.tick_params(axis="y", length=0)
        ax.tick_params(axis="x", labelsize=7)
        for s in ("top", "right", "left"):
            ax.spines[s].set_visible(False)
    names = _area_names(lang)
    place = names.get(str(area), str(area))
    dom = domain_label(domain, lang)
    fig.suptitle(f"{dom}：{_t('dashboard_title', lang)}（{place}）" if lang == "zh"
                 else f"{dom}: {_t('dashboard_title', lang)} ({place})", fontsize=12)
    handles = [Patch(facecolor="#d9f0d3", label=_t("target_zone", lang)),
               Line2D([], [], color=FAN_COLOURS["target"], linewidth=2.2, label=_t("target", lang)),
               Line2D([], [], color="#111111", linewidth=1.2, label=_t("interval_short", lang)),
               Line2D([], [], marker="D", color="#555555", markerfacecolor="white", linestyle="none",
                      label=_t("baseline", lang))]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7.5, frameon=False,
               bbox_to_anchor=(0.5, 0.22 / height))
    demo = _synthetic(rows) if demo_note is None else demo_note
    add_notes(fig, lang=lang, schematic=False, demo=demo, fontsize=7)
    # margins fixed in inches so tall dashboards keep a tight title and legend
    fig.tight_layout(rect=(0, 0.6 / height, 0.86, 1 - 0.55 / height))
    return fig


