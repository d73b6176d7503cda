"""fzanalysis: monitoring and evaluation workbench for the Conghua District
Women's Development Plan (从化区妇女发展规划, 2021-2030).

The main entry points are imported lazily so that ``import fzanalysis`` stays
cheap:

- :func:`fzanalysis.catalog.load` -- the indicator catalogue
- :func:`fzanalysis.assess` -- status, gap and progress category per series
- :func:`fzanalysis.project` -- projection to 2030 and probability of meeting the target
- :func:`fzanalysis.backtest` -- rolling-origin calibration of the projections
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "assess": ("fzanalysis.assess", "assess"),
    "project": ("fzanalysis.trend", "project"),
    "backtest": ("fzanalysis.trend", "backtest"),
    "load_catalog": ("fzanalysis.catalog", "load"),
    "load_panel": ("fzanalysis.data", "load_panel"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'fzanalysis' has no attribute {name!r}")
