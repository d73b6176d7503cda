"""Charts of the report that combine a projection with the catalogue (target, baseline, name)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import codes, comparators, labels, plots
from fzanalysis.evaluation import PER_AREA, per_area_towns
from fzanalysis.labels import Lang

__all__ = ["fan_chart_for"]


def _isna(x: Any) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fan_chart_for(
    paths: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    indicator: str,
    area: str | None = None,
    sex: str = "T",
    lang: Lang = "zh",
    level: float = 0.8,
    judgement: pd.DataFrame | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Fan chart of one series (:func:`fzanalysis.plots.fan_chart`) with its catalogue target and baseline.

    Parameters
    ----------
    paths : DataFrame
        :func:`fzanalysis.trend.project_paths` output.
    catalog : DataFrame
        The (normalised) catalogue the target, unit, name and baseline come from.
    indicator, area, sex : str
        The series (``area`` default: the district).
    lang, level
        Language and interval coverage.
    judgement : DataFrame, optional
        ``fzanalysis.evaluate(...).series``: the chart's baseline is its row's (``baseline_year``,
        ``baseline_value``: the figure the tables and sentences compare with; without a judgement,
        the catalogue's), a 保持 target is drawn at that level (保持2020年水平：28.3%); where it
        quotes an official figure of the same statistic (``reference_*``), the chart draws it as a
        reference line; where its row of
        ``area`` is a per-area target's district row (``method`` ``per_area``: 每个街道至少1名,
        judged and projected town by town), the chart is one fan per town the target applies
        to, side by side (the district total's line says nothing about such a target).
    ax : Axes, optional
        Axes to draw on (default a new figure).
    title : str, optional
        Axes title (default the indicator's name).

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        If ``paths`` has no such series.
    """
    area = codes.district() if area is None else str(area)
    towns = _per_area_towns(judgement, indicator, area, sex)
    if towns:  # a per-area target (每个街道至少1名): the towns' own fans, side by side
        from matplotlib.figure import Figure  # heavy: only when drawn

        fig = Figure(figsize=(min(4.0 * len(towns), 12.0), 4.2), dpi=150, layout="constrained")
        axes = fig.subplots(1, len(towns), sharey=True, squeeze=False)[0]
        for ax, town in zip(axes, towns, strict=True):
            fan_chart_for(paths, catalog, indicator=indicator, area=town, sex=sex, lang=lang,
                          level=level, ax=ax, title=labels.area_label(town, lang))
        for ax in axes[1:]:  # one legend is enough
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        name = str(catalog.set_index("id").loc[indicator, f"name_{lang}"])
        kinds = judgement.loc[judgement["indicator"] == indicator, "area_kinds"] \
            if judgement is not None and "area_kinds" in judgement.columns else pd.Series([""])
        kind = labels.area_kind_word(kinds.iloc[0] if len(kinds) else "", lang)
        fig.suptitle(labels.label("nb_text", "per_area_chart", lang).format(name=name, kind=kind))
        return axes[0]
    one = paths[(paths["indicator"] == indicator) & (paths["area"].astype(str) == area) & (paths["sex"] == sex)]
    if one.empty:
        raise ValueError(f"no projection path for {indicator} area {area} sex {sex}")
    row = catalog.set_index("id").loc[indicator]
    baseline = None
    if not _isna(row.get("baseline_value")) and not _isna(row.get("baseline_year")):
        baseline = (int(row["baseline_year"]), float(row["baseline_value"]))
    target = float(comparators.numeric_target(row["comparator"], row.get("target")))
    target = None if np.isnan(target) else target
    reference, target_label = None, None
    word = labels.unit_word(row, lang)
    if judgement is not None:
        mine = judgement[(judgement["indicator"] == indicator) & (judgement["area"].astype(str) == area)
                         & (judgement["sex"] == sex)]
        if len(mine):
            r = mine.iloc[0]
            if not _isna(r.get("reference_value")):
                reference = (str(r["reference_area"]), int(r["reference_year"]), float(r["reference_value"]))
            # the baseline the tables and sentences use (the series' own 2020 figure, methods 3.1),
            # not a second one from the catalogue beside it
            if "baseline_value" in mine.columns:
                baseline = None if _isna(r.get("baseline_value")) or _isna(r.get("baseline_year")) \
                    else (int(r["baseline_year"]), float(r["baseline_value"]))
    if target is None and row["comparator"] == "maintain" and baseline is not None:
        # a 保持 target is judged against the level it holds (methods 5: its p_meet is P(y ≥ that level))
        target = baseline[1]
        target_label = labels.label("plot_text", "maintain_level", lang).format(
            year=baseline[0], value=labels.format_value(baseline[1], str(row["unit"]), lang=lang, word=word))
    return plots.fan_chart(None, one, target=target, baseline=baseline, lang=lang, level=level,
                           unit=str(row["unit"]), title=title or str(row[f"name_{lang}"]), reference=reference,
                           unit_word=word, ax=ax, target_label=target_label)


def _per_area_towns(judgement: pd.DataFrame | None, indicator: str, area: str, sex: str) -> list[str]:
    """The towns of a per-area target's district row in ``judgement`` (its ``method`` is
    ``per_area``, :func:`fzanalysis.evaluate`): those the target applies to
    (:func:`fzanalysis.evaluation.per_area_towns`); else ``[]``."""
    if judgement is None or "method" not in judgement.columns:
        return []
    here = judgement[(judgement["indicator"] == indicator) & (judgement["sex"] == sex)
                     & (judgement["area"].astype(str) == area)]
    if here.empty or str(here["method"].iloc[0]) != PER_AREA:
        return []
    return [str(a) for a in per_area_towns(judgement, here.iloc[0])["area"]]
