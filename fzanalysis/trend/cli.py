"""``fzanalysis project`` and ``fzanalysis backtest``: the command line of the projections."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from fzanalysis import labels
from fzanalysis.exceptions import FzError
from fzanalysis.panel.cli import DATA_HELP, data_option, load_for_cli
from fzanalysis.trend.backtesting import backtest
from fzanalysis.trend.core import METHODS, OLS_METHODS
from fzanalysis.trend.projection import project, warning_text

__all__ = ["register_cli"]


def _read_catalog(path: str) -> pd.DataFrame:
    """A researcher's catalogue file (.csv/.xlsx); completed and checked by ``catalog.normalize``."""
    p = Path(path)
    if p.suffix.lower() == ".xlsx":
        return pd.read_excel(p)
    return pd.read_csv(p, encoding="utf-8-sig")


def _load_inputs(ns: argparse.Namespace) -> tuple[Any, pd.DataFrame | None]:
    panel = load_for_cli(ns.data)
    catalog = _read_catalog(ns.catalog) if ns.catalog else None
    return panel, catalog


def _emit(df: pd.DataFrame, fmt: str) -> None:
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200,
                               "display.max_columns", None):
            print(df.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


def _cmd_project(ns: argparse.Namespace) -> int:
    try:
        panel, catalog = _load_inputs(ns)
        out = project(panel, catalog, target_year=ns.target_year, level=ns.level,
                      method=ns.method, damping=ns.damping)
    except (FzError, ValueError, OSError) as exc:
        print(f"fzanalysis project: {exc}", file=sys.stderr)
        return 1
    if ns.explain:
        out["reasons"] = [warning_text(w, lang=ns.explain, method=m)
                          for w, m in zip(out["warnings"], out["method"])]
    if out.attrs.get("synthetic"):
        print(labels.demo_notice("zh"), file=sys.stderr)
    _emit(out, ns.format)
    return 0


def _cmd_backtest(ns: argparse.Namespace) -> int:
    try:
        panel, catalog = _load_inputs(ns)
        out = backtest(panel, catalog, horizon=ns.horizon, level=ns.level, method=ns.method,
                       damping=ns.damping, detail=ns.detail)
    except (FzError, ValueError, OSError) as exc:
        print(f"fzanalysis backtest: {exc}", file=sys.stderr)
        return 1
    _emit(out, ns.format)
    return 0


def register_cli(subparsers: Any) -> None:
    """Add ``fzanalysis project`` and ``fzanalysis backtest``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", metavar="PATH", type=data_option, help=DATA_HELP)
    common.add_argument("--catalog", help="catalogue file (.csv/.xlsx); default: data/indicators.yaml")
    common.add_argument("--level", type=float, default=None, help="interval level (default 0.8)")
    common.add_argument("--damping", type=float, default=None,
                        help="trend damping phi in (0, 1]; 1 = straight line (default 0.8)")
    common.add_argument("--format", choices=("table", "csv"), default="table")
    p = subparsers.add_parser("project", parents=[common],
                              help="project each series to the target year; p_meet and warnings")
    p.add_argument("--target-year", type=int, default=2030)
    p.add_argument("--method", choices=("auto",) + METHODS, default="auto")
    p.add_argument("--explain", choices=("zh", "en"), default=None,
                   help="add a column with the reasons behind the warnings")
    p.set_defaults(func=_cmd_project)
    b = subparsers.add_parser("backtest", parents=[common],
                              help="rolling-origin backtest: interval coverage and error")
    b.add_argument("--horizon", type=int, default=5)
    b.add_argument("--method", choices=("auto", "all") + OLS_METHODS, default="auto")
    b.add_argument("--detail", action="store_true", help="one row per forecast")
    b.set_defaults(func=_cmd_backtest)
