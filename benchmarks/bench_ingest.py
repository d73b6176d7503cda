"""Throughput of ``validate`` against pandas reading the same 200,000-row CSV.

Run: ``PYTHONPATH=. python benchmarks/bench_ingest.py [--rows 200000]``.  Prints the seconds of
``pandas.read_csv`` and of :func:`fzanalysis.panel.validate` on one synthetic submission (district
and town rows of every percent indicator over many years, F/M rows for indicators the catalogue
does not split by sex: many warnings, the slow case) and their ratio; the goal of issue 12 is a
ratio of at most 10.  ``validate`` is timed twice: *cold* (the first call of the process, which
also loads the catalogue, labels and gazetteer, about 1 s whatever the file) and *warm* (the
same file again: the cost per file a clerk's batch pays).  Each time is the best of ``--repeat``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fzanalysis import catalog, gazetteer
from fzanalysis.panel import validate


def make(path: Path, rows: int) -> None:
    cat = catalog.load()
    ids = cat.loc[cat["unit"] == "percent", "id"].tolist()
    areas = gazetteer.codes()
    rng = np.random.default_rng(0)
    n_keys = len(ids) * len(areas) * 3
    years = np.arange(2000, 2000 + int(np.ceil(rows / n_keys)))
    grid = pd.MultiIndex.from_product([ids, years, areas, ["F", "M", "T"]],
                                      names=["indicator", "year", "area", "sex"]).to_frame(index=False)
    grid = grid.iloc[:rows]
    den = rng.integers(500, 5000, len(grid))
    num = rng.binomial(den, 0.9)
    grid["value"] = np.round(100 * num / den, 4)
    grid["numerator"], grid["denominator"] = num, den
    grid.to_csv(path, index=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    ns = ap.parse_args()

    def timed(fn: object) -> float:
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        return time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        make(path, ns.rows)
        problems: list = []
        t_cold = timed(lambda: problems.extend(validate([path])))
        t_pandas = min(timed(lambda: pd.read_csv(path, dtype=str)) for _ in range(ns.repeat))
        t_warm = min(timed(lambda: validate([path])) for _ in range(ns.repeat))
    print(f"rows: {ns.rows}")
    print(f"pandas.read_csv: {t_pandas:.2f} s")
    print(f"fzanalysis.panel.validate, cold (first call, loads catalogue and labels): {t_cold:.2f} s")
    print(f"fzanalysis.panel.validate, warm: {t_warm:.2f} s ({ns.rows / t_warm:,.0f} rows/s, "
          f"{len(problems)} problems)")
    print(f"ratio cold: {t_cold / t_pandas:.1f}x, warm: {t_warm / t_pandas:.1f}x (goal <= 10x)")


if __name__ == "__main__":
    main()
