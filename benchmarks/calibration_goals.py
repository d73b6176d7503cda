#!/usr/bin/env python3
"""Count the goal misses of issue 11 in the tables written by ``benchmarks/calibration.py``.

The rule is the one fixed in docs/methods.md 8.9 (sixth follow-up) before the holdout was run.
A goal miss is: overall coverage of the 80 % interval outside 0.75-0.88 at a horizon; a family's
coverage below 0.70 at a horizon; a reliability bin (all families, either design, either
horizon) with at least ``MIN_BIN`` forecasts whose gap (observed - mean p) is outside +-0.10; a
Brier score of the *around* design at or above 0.25.

Usage::

    .venv/bin/python benchmarks/calibration_goals.py DIR_A [DIR_B]
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

COVERAGE_ALL = (0.75, 0.88)
COVERAGE_FAMILY = 0.70
GAP = 0.10
MIN_BIN = 20
BRIER = 0.25


def goal_misses(out_dir: str | Path) -> pd.DataFrame:
    """One row per goal miss: kind, where, value, goal."""
    d = Path(out_dir)
    cov = pd.read_csv(d / "coverage.csv")
    rel = pd.read_csv(d / "reliability.csv")
    bri = pd.read_csv(d / "brier.csv")
    rows = []
    for r in cov.itertuples():
        if r.family == "all":
            if not COVERAGE_ALL[0] <= r.coverage <= COVERAGE_ALL[1]:
                rows.append(("coverage", f"all h={r.horizon}", r.coverage, "0.75-0.88"))
        elif r.coverage < COVERAGE_FAMILY:
            rows.append(("coverage", f"{r.family} h={r.horizon}", r.coverage, ">= 0.70"))
    for r in rel[(rel["family"] == "all") & (rel["n"] >= MIN_BIN)].itertuples():
        if abs(r.gap) > GAP:
            rows.append(("reliability", f"{r.design} h={r.horizon} {r.bin} (n {r.n})", r.gap, "|gap| <= 0.10"))
    for r in bri[(bri["family"] == "all") & (bri["design"] == "around")].itertuples():
        if r.brier >= BRIER:
            rows.append(("brier", f"around h={r.horizon}", r.brier, "< 0.25"))
    return pd.DataFrame(rows, columns=["kind", "where", "value", "goal"])


def mean_brier(out_dir: str | Path) -> float:
    """Brier score of all families averaged over the two designs and two horizons."""
    bri = pd.read_csv(Path(out_dir) / "brier.csv")
    return float(bri.loc[bri["family"] == "all", "brier"].mean())


def main(argv: list[str] | None = None) -> int:
    dirs = (argv if argv is not None else sys.argv[1:])
    for d in dirs:
        m = goal_misses(d)
        print(f"{d}: {len(m)} goal misses, mean Brier {mean_brier(d):.4f}")
        if len(m):
            print(m.to_string(index=False, float_format=lambda v: f"{v:+.3f}" if abs(v) < 0.2 else f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
