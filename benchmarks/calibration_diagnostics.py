#!/usr/bin/env python3
"""Diagnostics of the calibration backtest (issue 11, methods.md 8.9 fourth and fifth follow-ups).

Two questions the reliability tables of ``benchmarks/calibration.py`` cannot answer alone:

1. **Is the target design biased?**  The ``around`` design draws the target from the outcome
   (target = outcome + U(-1, 1) x S), so it is not a target fixed before the outcome is known.
   The *oracle* check replaces every outcome by a draw from the engine's own predictive
   distribution (a forecaster calibrated by construction) and scores both designs exactly as the
   harness does.  Gaps there are the design's own; gaps on the real outcomes beyond them are the
   engine's.  The harness owns this check (:func:`calibration.oracle_reliability`, also printed
   beside its reliability table); this script prints it by bin.
2. **Where are the real outcomes relative to the predictive distribution?**  The PIT oriented
   by the good direction (high = better than projected), by the oriented t statistic of the
   fitted slope (negative = the trend heads away from the good direction).

Reads the engine's internals through :func:`calibration.predictive_table` (the one owner of the
forecasts' predictive distributions).  Usage::

    .venv/bin/python benchmarks/calibration_diagnostics.py --split dev [--seeds 10]
"""
from __future__ import annotations

import argparse
import sys
import warnings

import calibration as cb  # benchmarks/calibration.py: the harness's design, scale S, oracle
import numpy as np
import pandas as pd

from fzanalysis.trend.calibration import load_corpus
from fzanalysis.trend.engine import mixture_cdf

T_GROUPS = (-np.inf, -4, -2, -1, 0, 1, 2, 4, 8, np.inf)


def oriented_pit(f: pd.DataFrame) -> pd.DataFrame:
    """Share of outcomes better than the median and in each 10 % tail, by the oriented t of
    the slope (sign(good) x b / se(b)); the PIT is the predictive mixture's CDF at the outcome."""
    sign = np.where(f["up"], 1.0, -1.0)
    cdf = mixture_cdf(f["outcome"].to_numpy(float), cb._mixture_of(f))
    pit = np.where(sign > 0, cdf, 1.0 - cdf)
    d = pd.DataFrame({"horizon": f["horizon"], "pit": pit,
                      "t": pd.cut(sign * f["b"] / f["sb"], T_GROUPS)})
    return (d.groupby(["horizon", "t"], observed=True)["pit"]
            .agg(n="size", better=lambda x: (x > 0.5).mean(),
                 worst_10pct=lambda x: (x < 0.1).mean(), best_10pct=lambda x: (x > 0.9).mean(),
                 beyond_98pct=lambda x: (x > 0.98).mean())
            .reset_index())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("dev", "validation", "holdout", "all"), default="dev")
    ap.add_argument("--seeds", type=int, default=10, help="oracle draws per forecast")
    a = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        series, manifest = load_corpus()
        f = cb.predictive_table(series, manifest, split=a.split)
        real = cb.binned(cb.score_designs(f, f["outcome"].to_numpy(float)))
        orc = cb.oracle_reliability(f, seeds=a.seeds)
        pit = oriented_pit(f)
    keys = ["family", "design", "horizon", "bin"]
    both = real.merge(orc[keys + ["gap"]], on=keys, suffixes=("", "_oracle"))
    both = both[both["family"] == "all"]
    print(f"# Calibration diagnostics, split={a.split}: {len(f)} forecasts\n")
    print("## Reliability gap (observed - mean p): real outcomes vs oracle outcomes\n")
    print(cb._md(both[["design", "horizon", "bin", "n", "mean_p", "gap", "gap_oracle"]]))
    print("\n## Oriented PIT by the oriented t of the slope (nominal: 0.5 / 0.1 / 0.1 / 0.02)\n")
    print(cb._md(pit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
