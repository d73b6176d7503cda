"""Benchmark of fzanalysis.trend: vectorised fits against a per-series statsmodels loop.

Run by hand (``make bench`` or ``python benchmarks/bench_trend.py``); prints, in one run:

1. the time of :func:`fzanalysis.trend.project` (``method="logit"``, plain OLS interval:
   ``calibrated=False``, ``robust=False``, straight line: ``damping=1``, ``window=None``) against a
   Python loop that, per series, transforms the values, fits ``statsmodels.OLS`` and calls
   ``get_prediction(...).summary_frame()`` for the interval and the t distribution for p_meet --
   at 1,000 and 10,000 series (15 annual points with gaps).  The 10,000-series baseline is
   extrapolated linearly from a timed subsample (``--baseline-sample``, default 2,000 series)
   unless ``--full-baseline`` is given;
2. the wall time and peak memory of ``project(method="auto")`` (automatic model choice by
   rolling-origin error, calibrated intervals, warnings) on a province-scale panel: 1,600 areas x
   60 indicators x 2 sexes x 15 years = 2.88 million rows.  Peak memory is the tracemalloc peak
   of Python/numpy allocations during the call (numpy reports its buffers to tracemalloc), and
   the process's maximum resident set size (``resource.getrusage``) is printed too.  The time
   is measured in a run without tracemalloc (tracing slows allocation-heavy code several-fold);
   the peak comes from a second, traced run.

The synthetic series are percentages with a random level, slope and noise; about 10% of the
years are missing.  Nothing here is a test: timings depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from fzanalysis.panel import as_panel
from fzanalysis.trend import project
from fzanalysis.trend.core import M_LOGIT, transform
from fzanalysis.trend.prep import settings

YEARS = np.arange(2010, 2025)


def synthetic_panel(n_areas: int, n_ind: int, sexes: tuple[str, ...], *, seed: int = 0,
                    missing: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Percent series, one per indicator x area x sex, on YEARS with ~``missing`` gaps."""
    rng = np.random.default_rng(seed)
    n_series = n_areas * n_ind * len(sexes)
    T = len(YEARS)
    level = rng.uniform(20, 90, n_series)
    slope = rng.normal(0.5, 1.0, n_series)
    noise = rng.uniform(0.3, 3.0, n_series)
    vals = level[:, None] + slope[:, None] * (YEARS - YEARS[0]) \
        + noise[:, None] * rng.standard_normal((n_series, T))
    vals = np.clip(vals, 0.0, 100.0)
    keep = rng.random((n_series, T)) >= missing
    keep[:, -1] = True
    ind = np.repeat(np.arange(n_ind), n_areas * len(sexes))
    area = np.tile(np.repeat(np.arange(n_areas), len(sexes)), n_ind)
    sex = np.tile(np.array(sexes), n_areas * n_ind)
    s_idx, t_idx = np.nonzero(keep)
    ind_names = np.array([f"bench.i{k:02d}" for k in range(n_ind)], dtype=object)
    area_names = np.array([f"44{k:07d}" for k in range(n_areas)], dtype=object)
    panel = pd.DataFrame({
        "indicator": ind_names[ind[s_idx]], "area": area_names[area[s_idx]],
        "sex": sex[s_idx], "year": YEARS[t_idx], "value": vals[s_idx, t_idx]})
    cat = pd.DataFrame({"id": ind_names, "unit": "percent", "comparator": ">=",
                        "target": rng.uniform(50, 95, n_ind)})
    return panel, cat


def statsmodels_loop(panel: pd.DataFrame, cat: pd.DataFrame, *, target_year: int = 2030,
                     level: float = 0.8) -> pd.DataFrame:
    """The baseline: the same logit-linear projection, one statsmodels OLS per series."""
    sq = settings()["logit_squeeze"]
    targets = cat.set_index("id")["target"]
    rows = []
    for (ind, area, sex), d in panel.groupby(["indicator", "area", "sex"], sort=True):
        z = transform(d["value"].to_numpy(), M_LOGIT, 0.0, 100.0, squeeze=sq)
        res = sm.OLS(z, sm.add_constant(d["year"].to_numpy(dtype=float))).fit()
        fr = res.get_prediction(np.array([[1.0, float(target_year)]])).summary_frame(
            alpha=1 - level)
        se = float(np.sqrt(fr["mean_se"].iloc[0] ** 2 + res.scale))
        zt = transform(np.array([targets[ind]]), M_LOGIT, 0.0, 100.0, squeeze=sq)[0]
        p = 1 - stats.t.cdf((zt - fr["mean"].iloc[0]) / se, res.df_resid)
        back = 100 / (1 + np.exp(-fr[["obs_ci_lower", "mean", "obs_ci_upper"]].to_numpy()[0]))
        rows.append((ind, area, sex, *back, p))
    return pd.DataFrame(rows, columns=["indicator", "area", "sex", "lower", "projected",
                                       "upper", "p_meet"])


def _time(fn, *args, **kw) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline-sample", type=int, default=2000)
    ap.add_argument("--full-baseline", action="store_true")
    ap.add_argument("--skip-province", action="store_true")
    ap.add_argument("--skip-traced", action="store_true",
                    help="no second, tracemalloc-traced province run (it takes ~4x the untraced one)")
    args = ap.parse_args()

    print("1. vectorised project(method='logit', calibrated=False, robust=False) vs statsmodels loop")
    print(f"{'series':>8} {'vectorised s':>13} {'statsmodels s':>14} {'ratio':>8}  note")
    for n in (1000, 10000):
        panel, cat = synthetic_panel(n // 20, 10, ("F", "M"), seed=n)
        project(panel.head(200), cat)  # warm-up (imports, yaml)
        # like with like: the textbook OLS interval (no bend variance, no rounding floor, t_{n-2})
        # on every point (no outliers left out, no step), a straight line on all the years
        t_vec, out = _time(project, panel, cat, method="logit", calibrated=False, robust=False,
                           window=None, damping=1.0)
        if n <= args.baseline_sample or args.full_baseline:
            t_sm, base = _time(statsmodels_loop, panel, cat)
            note = "baseline timed in full"
        else:
            keys = out[["indicator", "area", "sex"]].sample(args.baseline_sample, random_state=1)
            sub = panel.merge(keys, on=["indicator", "area", "sex"])
            t_sub, base = _time(statsmodels_loop, sub, cat)
            t_sm = t_sub * n / args.baseline_sample
            note = f"baseline extrapolated from {args.baseline_sample} timed series"
        chk = out.merge(base, on=["indicator", "area", "sex"], suffixes=("", "_sm"))
        err = max(float(np.max(np.abs(chk[c] - chk[c + "_sm"]))) for c in
                  ("lower", "projected", "upper", "p_meet"))
        print(f"{n:>8} {t_vec:>13.3f} {t_sm:>14.2f} {t_sm / t_vec:>8.0f}x  {note}; "
              f"max |difference| {err:.1e} over {len(chk)} series")

    if args.skip_province:
        return
    print("\n2. province scale: 1,600 areas x 60 indicators x 2 sexes x 15 years")
    panel, cat = synthetic_panel(1600, 60, ("F", "M"), seed=7, missing=0.0)
    print(f"   panel: {len(panel):,} rows, {panel.groupby(['indicator', 'area', 'sex']).ngroups:,}"
          " series")
    t0 = time.perf_counter()
    out = project(panel, cat, method="auto")
    elapsed = time.perf_counter() - t0
    # the same call split: the panel checks (as_panel, fzanalysis.panel) and the engine
    t0 = time.perf_counter()
    checked = as_panel(panel)
    t_check = time.perf_counter() - t0
    t0 = time.perf_counter()
    project(checked, cat, method="auto")
    t_engine = time.perf_counter() - t0
    print(f"   of which as_panel(DataFrame) {t_check:.1f} s; project(checked Panel) {t_engine:.1f} s")
    if args.skip_traced:
        print(f"   project(method='auto'): {elapsed:.1f} s wall time")
        return
    # a second run under tracemalloc for the peak (tracing slows allocation-heavy code ~4x,
    # so the time above is measured without it)
    tracemalloc.start()
    tracemalloc.reset_peak()
    project(panel, cat, method="auto")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"   project(method='auto'): {elapsed:.1f} s wall time; peak traced memory "
          f"{peak / 2**20:.0f} MiB during the call (tracemalloc, separate run); "
          f"process max RSS {rss:.0f} MiB")
    print(f"   methods chosen: {out['method'].value_counts().to_dict()}")
    print(f"   warnings raised: {(out['warnings'] != '').sum():,} of {len(out):,} series")


if __name__ == "__main__":
    main()
