"""Projections to the target year: will each target be met? (docs/methods.md sections 5-8).

The subpackage, by concept:

- :mod:`~fzanalysis.trend.prep` -- catalogue and panel to the series matrix (through
  :func:`fzanalysis.catalog.normalize` and :func:`fzanalysis.panel.as_panel` only);
- :mod:`~fzanalysis.trend.core` -- vectorised least-squares and Poisson fits, transforms;
- :mod:`~fzanalysis.trend.engine` -- robust fits, predictive distribution, ``p_meet``,
  ``p_direction``, warnings;
- :mod:`~fzanalysis.trend.results` -- the result dataclasses of the engine;
- :mod:`~fzanalysis.trend.projection` -- :func:`project`, :func:`project_paths`,
  :func:`warning_text`, :func:`probability_band` (with :func:`probability_band_code` and
  :func:`probability_percent`);
- :mod:`~fzanalysis.trend.backtesting` -- :func:`backtest` and the calibration estimators;
- :mod:`~fzanalysis.trend.calibration` -- the real series and the generator of the
  calibrated tables of ``data/trend.yaml``;
- :mod:`~fzanalysis.trend.cli` -- ``fzanalysis project`` / ``fzanalysis backtest``.
"""
from __future__ import annotations

from fzanalysis.trend.backtesting import (
    backtest,
    estimate_bend_variance,
    estimate_inflation,
    required_bend,
    summarise_backtest,
)
from fzanalysis.trend.cli import register_cli
from fzanalysis.trend.projection import (
    PATH_COLUMNS,
    PROJECT_COLUMNS,
    WARNING_CODES,
    probability_band,
    probability_band_code,
    probability_percent,
    project,
    project_paths,
    warning_text,
)

__all__ = [
    "PATH_COLUMNS",
    "PROJECT_COLUMNS",
    "WARNING_CODES",
    "backtest",
    "estimate_bend_variance",
    "estimate_inflation",
    "probability_band",
    "probability_band_code",
    "probability_percent",
    "project",
    "project_paths",
    "register_cli",
    "required_bend",
    "summarise_backtest",
    "warning_text",
]
