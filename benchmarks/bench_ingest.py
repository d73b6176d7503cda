"""Throughput of ``validate`` and ``ingest`` against pandas reading the same 200,000-row CSV.

Run: ``PYTHONPATH=. python benchmarks/bench_ingest.py [--rows 200000]``.  Two synthetic
submissions of ``--rows`` rows each:

* *as in the issue*: district and town rows (F, M, T) of every percent indicator over as many
  years as the rows need (2000–2105 for 200,000 rows: one district cannot have more distinct
  keys in 2000–2030, so the years after 2030, seven rows in ten, are errors), with F/M rows for
  indicators the catalogue does not split by sex (a warning each);
* *one row in four wrong*: the same grid with, in addition, one row in four wrong (a value out
  of range, an unknown town, a year typed as text, a numerator above its denominator).

Rows with an error are rejected by ``ingest --keep-valid`` and listed in ``rejected_rows.csv``.
For each file the script prints the seconds of ``pandas.read_csv`` (``dtype=str``), of
:func:`fzanalysis.panel.validate` and of :func:`fzanalysis.panel.ingest` (``keep_valid=True``,
into an empty folder: checks, merge, and the committed generation with ``panel.parquet``,
``panel.csv`` and the logs), and their ratio to pandas; the goal of issue 12 is at most 10.
``validate`` is first called once on a small file (the process's first call loads the
catalogue, labels and gazetteer, about 1 s whatever the file).  Each time is the best of
``--repeat``, pandas, validate and ingest timed in turn each round.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fzanalysis import catalog, gazetteer
from fzanalysis.panel import ingest, validate


def make(path: Path, rows: int, *, bad_share: float = 0.0) -> None:
    """Write a synthetic submission of ``rows`` rows; ``bad_share`` of them with an error."""
    cat = catalog.load()
    ids = cat.loc[cat["unit"] == "percent", "id"].tolist()
    areas = gazetteer.codes()
    rng = np.random.default_rng(0)
    n_keys = len(ids) * len(areas) * 3
    years = np.arange(2000, 2000 + int(np.ceil(rows / n_keys)))
    grid = pd.MultiIndex.from_product([ids, years, areas, ["F", "M", "T"]],
                                      names=["indicator", "year", "area", "sex"]).to_frame(index=False)
    grid = grid.iloc[:rows].astype({"year": object})
    den = rng.integers(500, 5000, len(grid))
    num = rng.binomial(den, 0.9)
    grid["value"] = np.round(100 * num / den, 4).astype(object)
    grid["numerator"], grid["denominator"] = num.astype(object), den.astype(object)
    if bad_share:
        bad = np.flatnonzero(rng.random(len(grid)) < bad_share)
        kind = bad % 4
        grid.loc[bad[kind == 0], "value"] = 120.0
        grid.loc[bad[kind == 0], ["numerator", "denominator"]] = ""
        grid.loc[bad[kind == 1], "area"] = "新城镇"
        grid.loc[bad[kind == 2], "year"] = "2024年度上半年"
        grid.loc[bad[kind == 3], "numerator"] = grid.loc[bad[kind == 3], "denominator"] + 1
    grid.to_csv(path, index=False)


def measure(path: Path, out: Path, repeat: int) -> dict[str, float]:
    """Best seconds of pandas, validate and ingest on ``path``, the three timed in turn each round
    (a shared machine's load then weighs on all three alike)."""
    def ingest_once() -> None:
        shutil.rmtree(out, ignore_errors=True)
        ingest([path], out_dir=out, keep_valid=True)

    steps: dict[str, Callable[[], object]] = {"pandas": lambda: pd.read_csv(path, dtype=str),
                                              "validate": lambda: validate([path]), "ingest": ingest_once}
    best = {k: float("inf") for k in steps}
    for _ in range(repeat):
        for k, fn in steps.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        small = tmp_dir / "small.csv"
        make(small, 100)
        validate([small])  # load the catalogue, labels and gazetteer once
        print(f"rows: {ns.rows}")
        for name, share in (("as in the issue", 0.0), ("with one row in four wrong", 0.25)):
            path = tmp_dir / "submission.csv"
            make(path, ns.rows, bad_share=share)
            problems = validate([path])
            n_err = sum(p.severity == "error" for p in problems)
            t = measure(path, tmp_dir / "processed", ns.repeat)
            print(f"{name}: {n_err} errors, {len(problems) - n_err} warnings")
            print(f"  pandas.read_csv: {t['pandas']:.2f} s")
            for k in ("validate", "ingest"):
                print(f"  {k + ':':<16} {t[k]:.2f} s ({ns.rows / t[k]:,.0f} rows/s) = "
                      f"{t[k] / t['pandas']:.1f}x pandas (goal <= 10x)")


if __name__ == "__main__":
    main()
