"""fzanalysis: monitoring and evaluation workbench for the Conghua District
Women's Development Plan (从化区妇女发展规划, 2021-2030).

The functions a researcher calls first:

- :func:`load_catalog` -- the indicator catalogue (:mod:`fzanalysis.catalog`)
- :func:`load_panel` -- a tidy panel, checked once (:mod:`fzanalysis.panel`)
- :func:`assess` -- status, gap and progress category per series (:mod:`fzanalysis.assessment`)
- :func:`attainment`, :func:`gender_gap` -- the attainment rate (达标率) and female/male gaps
- :func:`evaluate` -- one judgement per target, the table behind every report page
- :func:`project` -- projection to 2030 and probability of meeting the target (:mod:`fzanalysis.trend`)
- :func:`backtest` -- rolling-origin calibration of the projections on your own series

Maps (:mod:`fzanalysis.geo`), charts (:mod:`fzanalysis.plots`) and reports
(:mod:`fzanalysis.report`) load matplotlib, geopandas and Jupyter, so they are imported on
their own.
"""
from __future__ import annotations

from fzanalysis.assessment import assess, attainment, gender_gap
from fzanalysis.catalog import load as load_catalog
from fzanalysis.evaluation import Evaluation, evaluate
from fzanalysis.exceptions import FzError
from fzanalysis.panel import Panel, as_panel
from fzanalysis.panel import as_panel as load_panel
from fzanalysis.trend import backtest, project

__version__ = "0.1.0"

__all__ = [
    "Evaluation",
    "FzError",
    "Panel",
    "__version__",
    "as_panel",
    "assess",
    "attainment",
    "backtest",
    "evaluate",
    "gender_gap",
    "load_catalog",
    "load_panel",
    "project",
]
