#!/usr/bin/env python3
"""Diagnostics of the calibration backtest (issue 11, methods.md 8.9 fourth follow-up).

Two questions the reliability tables of ``benchmarks/calibration.py`` cannot answer alone:

1. **Is the target design biased?**  The ``around`` design draws the target from the outcome
   (target = outcome + U(-1, 1) x S), so it is not a target fixed before the outcome is known.
   The *oracle* check replaces every outcome by a draw from the engine's own predictive
   distribution (a forecaster calibrated by construction) and scores both designs exactly as the
   harness does (same S, same draws of U, same clipping, p_meet from the engine's own
   :func:`fzanalysis.trend.engine.region_probability`).  Gaps there are the design's own; gaps
   on the real outcomes beyond them are the engine's.
2. **Where are the real outcomes relative to the predictive distribution?**  The PIT oriented
   by the good direction (high = better than projected), by the oriented t statistic of the
   fitted slope (negative = the trend heads away from the good direction).

Unlike the harness, this script reads the engine's internals (the centre, scale and degrees of
freedom on the model scale), through :func:`fzanalysis.trend.projection._run` and
:func:`fzanalysis.trend.engine.path_moments`.  Usage::

    .venv/bin/python benchmarks/calibration_diagnostics.py --split dev [--seeds 10]
"""
from __future__ import annotations

import argparse
import sys
import warnings

import calibration as cb  # benchmarks/calibration.py: the harness's design and scale S
import numpy as np
import pandas as pd
from scipy import stats

from fzanalysis.trend.calibration import load_corpus
from fzanalysis.trend.core import inverse, transform
from fzanalysis.trend.engine import (
    fit_all,
    model_scale,
    naive_variance,
    path_moments,
    region_probability,
)
from fzanalysis.trend.prep import settings
from fzanalysis.trend.projection import _DEFAULT, _run

T_GROUPS = (-np.inf, -4, -2, -1, 0, 1, 2, 4, 8, np.inf)


def predictive_table(split: str) -> pd.DataFrame:
    """One row per forecast of the harness (series x origin x horizon): outcome, S, the draw U
    of the ``around`` design, and the predictive distribution on the model scale (centre
    ``zhat``, scale ``sigma``, degrees of freedom ``nu``, model code, bounds, rounding step)
    with the fitted slope ``b`` and its SE ``sb``."""
    series, manifest = load_corpus()
    man = manifest if split == "all" else manifest[manifest["split"] == split]
    man = man.set_index("series_id")
    data = {sid: g.sort_values("year")
            for sid, g in series[series["series_id"].isin(man.index)].groupby("series_id")}
    jobs = cb.origins(data, min_points=cb.MIN_POINTS, horizons=cb.HORIZONS)
    out = []
    for (o, h), sids in sorted(jobs.items()):
        panels, cats, meta = [], [], []
        for sid in sids:
            g, m = data[sid], man.loc[sid]
            past = g[g["year"] <= o]
            yrs, vals = past["year"].to_numpy(float), past["value"].to_numpy(float)
            up = m["direction"] == "up"
            p = pd.DataFrame({"indicator": sid, "year": past["year"].astype(int), "area": cb.AREA,
                              "sex": "T", "value": past["value"]})
            if past["numerator"].notna().all() and past["denominator"].notna().all():
                p["numerator"] = past["numerator"].to_numpy()
                p["denominator"] = past["denominator"].to_numpy()
            panels.append(p)
            cats.append(dict(id=sid, unit=m["unit"], comparator=">=" if up else "<=",
                             target=vals[-1], lower_bound=float(m["lower_bound"]),
                             upper_bound=float(m["upper_bound"]), tolerance=np.nan))
            meta.append(dict(series_id=sid, family=m["family"], origin=o, horizon=h, up=up,
                             outcome=float(g.loc[g["year"] == o + h, "value"].iloc[0]),
                             last_value=vals[-1], S=cb._scale(yrs, vals, h),
                             u=cb._uniform(sid, o, h)))
        panel = pd.concat(panels, ignore_index=True)
        for c in ("numerator", "denominator"):
            if c not in panel:
                panel[c] = np.nan
        M, res, _ = _run(panel, pd.DataFrame(cats), target_year=o + h, level=cb.LEVEL,
                         method="auto", window=_DEFAULT, damping=None, damping_weight=None,
                         calibrated=True, robust=True)
        md = res.model
        zhat, sigma = (a[:, 0] for a in path_moments(md, np.full((len(M.unit), 1), float(o + h))))
        w = settings()["window"]
        fa = fit_all(M, md.mcode, window=None if w is None else int(w))
        step = fa[4]
        tl = md.last_year.astype(float)
        z_now = md.fit.mean(tl)
        se_now = md.fit.se_pred(tl)
        v_naive = naive_variance(M.years, model_scale(M, md.mcode), fa[1])
        out.append(pd.DataFrame(meta).merge(pd.DataFrame(dict(
            series_id=M.keys["indicator"].to_numpy(), zhat=zhat, sigma=sigma, nu=md.df,
            mcode=md.mcode, lo=M.lower, hi=M.upper, step=step,
            pois=md.pois, jump2=md.jump2, n_df=md.fit.df, z_now=z_now, se_now=se_now, v_naive=v_naive, floor2=md.floor2,
            b=np.where(md.pois, md.pfit.b, md.fit.b),
            sb=np.where(md.pois, md.pfit.se_slope(), md.fit.se_slope()))), on="series_id"))
    return pd.concat(out, ignore_index=True)


def score_designs(f: pd.DataFrame, outcome: np.ndarray) -> pd.DataFrame:
    """p_meet and met of both target designs of the harness for the given outcomes."""
    up = f["up"].to_numpy()
    sign = np.where(up, 1.0, -1.0)
    lo, hi = f["lo"].to_numpy(float), f["hi"].to_numpy(float)
    S = f["S"].to_numpy(float)
    clip = np.vectorize(cb._clip)
    targets = {"around": clip(outcome + f["u"].to_numpy() * S, lo, hi)}
    for frac in cb.FRACTIONS:
        targets[f"last{frac}"] = clip(f["last_value"].to_numpy() + sign * frac * S, lo, hi)
    kw = dict(mcode=f["mcode"].to_numpy(), lower=lo, upper=hi, step=f["step"].to_numpy(float),
              zhat=f["zhat"].to_numpy(), sigma=f["sigma"].to_numpy(), df=f["nu"].to_numpy())
    rows = []
    for name, c in targets.items():
        p = region_probability(np.where(up, c, -np.inf), np.where(up, np.inf, c), **kw)
        met = np.where(up, outcome >= c, outcome <= c).astype(float)
        rows.append(pd.DataFrame({"design": "around" if name == "around" else "last",
                                  "horizon": f["horizon"].to_numpy(), "p_meet": p, "met": met}))
    return pd.concat(rows, ignore_index=True)


def reliability(r: pd.DataFrame) -> pd.DataFrame:
    r = r[r["p_meet"].notna()].assign(bin=lambda d: pd.cut(d["p_meet"], cb.BINS,
                                                            labels=cb._bin_labels(),
                                                            include_lowest=True))
    t = (r.groupby(["design", "horizon", "bin"], observed=False)
         .agg(n=("met", "size"), mean_p=("p_meet", "mean"), observed=("met", "mean"))
         .reset_index())
    return t.assign(gap=t["observed"] - t["mean_p"])


def oracle(f: pd.DataFrame, seeds: int) -> pd.DataFrame:
    """Reliability when every outcome is drawn from the engine's own predictive distribution."""
    nu = np.where(np.isfinite(f["nu"]), f["nu"], 1e6)
    runs = []
    for s in range(seeds):
        z = f["zhat"].to_numpy() + f["sigma"].to_numpy() * np.random.default_rng(s).standard_t(nu)
        y = inverse(z, f["mcode"].to_numpy(), f["lo"].to_numpy(), f["hi"].to_numpy())
        runs.append(score_designs(f, y))
    return reliability(pd.concat(runs, ignore_index=True))


def oriented_pit(f: pd.DataFrame) -> pd.DataFrame:
    """Share of outcomes better than the centre and in each 10 % tail, by the oriented t of
    the slope (sign(good) x b / se(b))."""
    sign = np.where(f["up"], 1.0, -1.0)
    z = transform(f["outcome"].to_numpy(float), f["mcode"].to_numpy(), f["lo"].to_numpy(),
                  f["hi"].to_numpy(), squeeze=settings()["logit_squeeze"])
    nu = np.where(np.isfinite(f["nu"]), f["nu"], 1e6)
    pit = stats.t.cdf(sign * (z - f["zhat"]) / f["sigma"], nu)
    d = pd.DataFrame({"horizon": f["horizon"], "pit": pit,
                      "t": pd.cut(sign * f["b"] / f["sb"], T_GROUPS)})
    return (d.groupby(["horizon", "t"], observed=True)["pit"]
            .agg(n="size", better=lambda x: (x > 0.5).mean(),
                 worst_10pct=lambda x: (x < 0.1).mean(), best_10pct=lambda x: (x > 0.9).mean(),
                 beyond_98pct=lambda x: (x > 0.98).mean())
            .reset_index())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("dev", "validation", "all"), default="dev")
    ap.add_argument("--seeds", type=int, default=10, help="oracle draws per forecast")
    a = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f = predictive_table(a.split)
        real = reliability(score_designs(f, f["outcome"].to_numpy(float)))
        orc = oracle(f, a.seeds)
        pit = oriented_pit(f)
    both = real.merge(orc, on=["design", "horizon", "bin"], suffixes=("", "_oracle"))
    print(f"# Calibration diagnostics, split={a.split}: {len(f)} forecasts\n")
    print("## Reliability gap (observed - mean p): real outcomes vs oracle outcomes\n")
    print(cb._md(both[["design", "horizon", "bin", "n", "mean_p", "gap", "gap_oracle"]]))
    print("\n## Oriented PIT by the oriented t of the slope (nominal: 0.5 / 0.1 / 0.1 / 0.02)\n")
    print(cb._md(pit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
