"""The codes every module shares, defined once.

Labels for each code (Chinese and English) live in ``data/labels/*.yaml`` and are read with
:func:`fzanalysis.labels.label`; a test checks that every code below has both.  The area code of
the whole district is not a constant: it is the active plan's ``area_code``
(``data/plans/<id>/plan.yaml``, :mod:`fzanalysis.plan`), which for Conghua is also the gazetteer's
row of kind ``district`` (a test checks they agree).
"""
from __future__ import annotations

from fzanalysis import plan

__all__ = [
    "CATEGORIES",
    "PANEL_COLUMNS",
    "PANEL_KEYS",
    "SERIES_KEYS",
    "SEXES",
    "STATUSES",
    "VERDICTS",
    "WARNINGS",
    "district",
]

#: Sex codes: female, male, total (or not applicable).
SEXES: tuple[str, ...] = ("F", "M", "T")
#: Columns identifying one observation of the tidy panel.
PANEL_KEYS: tuple[str, ...] = ("indicator", "year", "area", "sex")
#: Columns identifying one series (an observation without its year).
SERIES_KEYS: tuple[str, ...] = ("indicator", "area", "sex")
#: Panel columns in their canonical order (docs/design.md, "The panel").
PANEL_COLUMNS: tuple[str, ...] = (
    "indicator", "year", "area", "sex", "value",
    "numerator", "denominator", "source", "note", "synthetic",
)
#: Status of a value against its target (docs/methods.md 2).
STATUSES: tuple[str, ...] = ("met", "not_met", "cannot_judge", "no_data", "not_applicable")
#: Progress categories, best first (docs/methods.md 3).
CATEGORIES: tuple[str, ...] = ("achieved", "slipping", "on_track", "acceleration_needed",
                               "limited_progress", "deterioration", "insufficient_data")
#: Verdicts of the Chinese report (docs/methods.md 4).
VERDICTS: tuple[str, ...] = ("achieved", "largely_achieved", "gap_remains", "large_gap",
                             "not_assessable")
#: ``method`` of a per-area target's district row (每个街道至少1名): judged and projected town by
#: town, its probability that every town meets it (docs/methods.md 5.5).
PER_AREA_METHOD = "per_area"
#: Early-warning codes of the projections (docs/methods.md 7).
WARNINGS: tuple[str, ...] = ("at_risk", "volatile", "reversing", "insufficient_data")


def district() -> str:
    """Area code of the area the active plan is about (``440117`` for Conghua, ``100000`` for China).

    Examples
    --------
    >>> district()
    '440117'
    """
    return plan.active().area_code
