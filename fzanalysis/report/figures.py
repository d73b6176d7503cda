"""Charts of the report that combine a projection with the catalogue (target, baseline, name)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import codes, comparators, labels, plots
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
        ``fzanalysis.evaluate(...).series``: where it quotes an official figure of the same
        statistic (``reference_*``), the chart draws it as a reference line.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        If ``paths`` has no such series.
    """
    area = codes.district() if area is None else str(area)
    one = paths[(paths["indicator"] == indicator) & (paths["area"].astype(str) == area) & (paths["sex"] == sex)]
    if one.empty:
        raise ValueError(f"no projection path for {indicator} area {area} sex {sex}")
    row = catalog.set_index("id").loc[indicator]
    baseline = None
    if not _isna(row.get("baseline_value")) and not _isna(row.get("baseline_year")):
        baseline = (int(row["baseline_year"]), float(row["baseline_value"]))
    target = float(comparators.numeric_target(row["comparator"], row.get("target")))
    target = None if np.isnan(target) else target
    reference = None
    if judgement is not None:
        hit = judgement[(judgement["indicator"] == indicator) & (judgement["area"].astype(str) == area)
                        & (judgement["sex"] == sex) & judgement["reference_value"].notna()]
        if len(hit):
            r = hit.iloc[0]
            reference = (str(r["reference_area"]), int(r["reference_year"]), float(r["reference_value"]))
    return plots.fan_chart(None, one, target=target, baseline=baseline, lang=lang, level=level,
                           unit=str(row["unit"]), title=str(row[f"name_{lang}"]), reference=reference,
                           unit_word=labels.unit_word(row, lang))
