"""Backtests on the stored real public series (data/backtest/, docs/methods.md section 8).

The bands asserted here are the ones documented in methods.md 8: with the stored bend factors
c(h) (additive bend variance c(h) max(0, b^2 - se_b^2)), the 80% intervals of the automatic model
cover between 70% and 90% of later outcomes at every horizon 1-6 and at 10 on these 65 WDI series;
without the bend term (the plain OLS interval) they cover clearly less; and with c(h) estimated on
one half of the series, coverage on the other half stays within 70-90% at horizons 1-6.
"""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

from fzanalysis.trend.calibration import _coverage_with_bend, _halves, load_real_series
from fzanalysis.trend import backtest, estimate_bend_variance


@pytest.fixture(scope="module")
def real():
    return load_real_series()


def test_real_series_load(real):
    panel, cat = real
    assert set(cat["id"]) == set(panel["indicator"])
    n_series = panel.groupby(["indicator", "area", "sex"]).ngroups
    assert n_series == 65
    assert panel["value"].notna().all()
    # spot check against the source files (Chine 2022, Albania 2018 female LFPR)
    le = panel[(panel["indicator"] == "wdi.SP.DYN.LE00.FE.IN") & (panel["area"] == "CHN")]
    assert le.loc[le["year"] == 2022, "value"].item() == pytest.approx(81.343)
    lf = panel[(panel["indicator"] == "wdi.SL.TLF.CACT.FE.ZS") & (panel["area"] == "ALB")]
    assert lf.loc[lf["year"] == 2018, "value"].item() == pytest.approx(51.407)


def test_real_backtest_coverage_within_documented_band(real):
    panel, cat = real
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cal = backtest(panel, cat, horizon=10, method="auto", calibrated=True)
        raw = backtest(panel, cat, horizon=10, method="auto", calibrated=False)
    print("\n" + pd.concat({"calibrated": cal.set_index("horizon")["coverage"],
                            "plain OLS": raw.set_index("horizon")["coverage"]}, axis=1)
          .round(3).to_string())
    assert (cal["n_series"] >= 45).all()
    assert cal["coverage"].between(0.70, 0.90).all(), cal
    assert (raw["coverage"] < 0.70).all(), raw
    # widths: the calibrated interval is wider than the plain one, never narrower
    assert (cal["median_width"] >= raw["median_width"]).all()


def test_real_backtest_split_half_held_out_coverage(real):
    """c(h) estimated on one half of the series, coverage measured on the other half."""
    panel, cat = real
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        det = backtest(panel, cat, horizon=6, method="auto", calibrated=False, detail=True)
    a, b = _halves(det)
    cov_a = _coverage_with_bend(det[a], estimate_bend_variance(det[b]))
    cov_b = _coverage_with_bend(det[b], estimate_bend_variance(det[a]))
    print("\n" + pd.DataFrame({"A (c from B)": cov_a, "B (c from A)": cov_b}).round(3).to_string())
    assert cov_a.between(0.70, 0.90).all(), cov_a
    assert cov_b.between(0.70, 0.90).all(), cov_b
