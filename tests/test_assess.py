"""Tests of fzanalysis.assess: every comparator, category boundary, verdict rule, the table,
the attainment rate, gender gaps and the CLI.  Expected values are computed by hand."""
from __future__ import annotations

import argparse
import io
import math
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.rates import confint_poisson_2indep

import fzanalysis
import fzanalysis.assessment
from fzanalysis import codes, demo
from fzanalysis.assessment import (
    EXTRA_COLUMNS,
    RESULT_COLUMNS,
    assess,
    attainment,
    cagr_category,
    gender_gap,
    judge,
    judge_direction,
    limit_factor,
    progress_category,
    ratio_category,
    register_cli,
    trend_test,
    verdict,
)
from fzanalysis.catalog import load as catalog_load
from fzanalysis.catalog import normalize as catalog_normalize
from fzanalysis.labels import label
from fzanalysis.rates import unrankable

# --------------------------------------------------------------------------- judge

@pytest.mark.parametrize(
    ("value", "comp", "target", "kw", "status", "gap"),
    [
        # >= : L >= T met, U < T not met, else cannot judge; gap = T - x
        (97.0, ">=", 96.0, {}, "met", -1.0),
        (95.0, ">=", 96.0, {}, "not_met", 1.0),
        (96.0, ">=", 96.0, {}, "met", 0.0),
        (97.0, ">=", 96.0, {"lower": 95.5, "upper": 98.0}, "cannot_judge", -1.0),
        (97.0, ">=", 96.0, {"lower": 96.0, "upper": 98.0}, "met", -1.0),
        (95.0, ">=", 96.0, {"lower": 94.0, "upper": 96.0}, "cannot_judge", 1.0),
        (95.0, ">=", 96.0, {"lower": 94.0, "upper": 95.99}, "not_met", 1.0),
        # > : strict
        (30.0, ">", 30.0, {}, "not_met", 0.0),
        (30.5, ">", 30.0, {}, "met", -0.5),
        (30.5, ">", 30.0, {"lower": 30.0, "upper": 31.0}, "cannot_judge", -0.5),
        # <= : gap = x - T
        (10.0, "<=", 10.0, {}, "met", 0.0),
        (10.5, "<=", 10.0, {}, "not_met", 0.5),
        (9.5, "<=", 10.0, {"lower": 9.0, "upper": 10.5}, "cannot_judge", -0.5),
        # < : strict
        (7.5, "<", 7.5, {}, "not_met", 0.0),
        (7.0, "<", 7.5, {}, "met", -0.5),
        (9.75, "<", 7.5, {"lower": 2.66, "upper": 24.98}, "cannot_judge", 2.25),
        (30.0, "<", 7.5, {"lower": 20.0, "upper": 45.0}, "not_met", 22.5),
        (2.0, "<", 7.5, {"lower": 0.5, "upper": 7.0}, "met", -5.5),
        # == : judged on the point; gap = |x - T|
        (100.0, "==", 100.0, {}, "met", 0.0),
        (99.0, "==", 100.0, {}, "not_met", 1.0),
        (99.0, "==", 100.0, {"lower": 98.0, "upper": 100.0}, "cannot_judge", 1.0),
        # ~= : band T +- tolerance; gap = |x - T| - tol
        (46.0, "~=", 45.0, {"tolerance": 2.0}, "met", -1.0),
        (48.0, "~=", 45.0, {"tolerance": 2.0}, "not_met", 1.0),
        (42.0, "~=", 45.0, {"tolerance": 2.0}, "not_met", 1.0),
        (46.0, "~=", 45.0, {"tolerance": 2.0, "lower": 44.0, "upper": 47.5}, "cannot_judge", -1.0),
        (46.0, "~=", 45.0, {"tolerance": 2.0, "lower": 43.5, "upper": 46.5}, "met", -1.0),
        (41.5, "~=", 45.0, {"tolerance": 2.0, "lower": 40.0, "upper": 42.9}, "not_met", 1.5),
        # ~= without tolerance: 5 % of the target (2.5 for 50)
        (52.4, "~=", 50.0, {"tolerance": 2.5}, "met", -0.1),
        (52.6, "~=", 50.0, {"tolerance": 2.5}, "not_met", 0.1),
        # count target (at least one shelter): exact counts
        (1.0, ">=", 1.0, {"lower": 1.0, "upper": 1.0}, "met", 0.0),
        (0.0, ">=", 1.0, {"lower": 0.0, "upper": 0.0}, "not_met", 1.0),
    ],
)
def test_judge_every_comparator(value, comp, target, kw, status, gap):
    got_status, got_gap, _ = judge(value, comp, target, **kw)
    assert got_status == status
    assert got_gap == pytest.approx(gap, abs=1e-9)


def test_judge_target_at_natural_bound_uses_the_count():
    st, gap, note = judge(100.0, ">=", 100.0, lower=99.6, upper=100.0, upper_bound=100.0)
    assert (st, gap, note) == ("met", 0.0, "target_at_bound")
    st, gap, note = judge(99.9, ">=", 100.0, lower=99.5, upper=100.0, upper_bound=100.0)
    assert st == "not_met" and gap == pytest.approx(0.1)
    # without the bound the same interval straddles the target
    assert judge(99.9, ">=", 100.0, lower=99.5, upper=100.0)[0] == "cannot_judge"


def test_judge_no_value_and_errors():
    assert judge(np.nan, ">=", 1.0)[0] == "no_data"
    with pytest.raises(ValueError, match="comparator"):
        judge(1.0, "increase", 1.0)
    with pytest.raises(ValueError, match="target"):
        judge(1.0, ">=", np.nan)


# --------------------------------------------------------------------------- trends

def test_trend_test_equals_statsmodels_ols_on_last_five_points():
    years = np.arange(2017, 2025)
    values = np.array([9.0, 8.0, 30.0, 31.2, 32.1, 33.5, 33.9, 35.2])
    tr = trend_test(years, values, level=0.9, max_points=5)
    X = sm.add_constant(years[-5:].astype(float))
    fit = sm.OLS(values[-5:], X).fit()
    lo, hi = fit.conf_int(alpha=0.1)[1]
    assert tr["n"] == 5
    assert tr["slope"] == pytest.approx(fit.params[1])
    assert tr["lower"] == pytest.approx(lo) and tr["upper"] == pytest.approx(hi)
    assert tr["p"] == pytest.approx(fit.pvalues[1])


@pytest.mark.parametrize(
    ("comp", "values", "status", "note"),
    [
        ("increase", [1.0, 2.0, 3.0, 4.1, 5.0], "met", "trend_significant"),
        ("increase", [5.0, 4.0, 3.0, 2.0, 1.1], "not_met", "trend_significant"),
        ("increase", [3.0, 3.0, 3.0, 3.0, 3.0], "not_met", "trend_significant"),
        ("increase", [3.0, 3.5, 2.8, 3.6, 3.1], "cannot_judge", "trend_not_significant"),
        ("increase", [1.0, 2.0, 3.0], "cannot_judge", "too_few_points"),
        ("decrease", [5.0, 4.0, 3.0, 2.0, 1.1], "met", "trend_significant"),
        ("decrease", [1.0, 2.0, 3.0, 4.1, 5.0], "not_met", "trend_significant"),
        ("decrease", [3.0, 3.5, 2.8, 3.6, 3.1], "cannot_judge", "trend_not_significant"),
        ("maintain", [100.0, 100.0, 100.0, 100.0], "met", "no_significant_decline"),
        ("maintain", [99.0, 99.5, 98.8, 99.6, 99.1], "met", "no_significant_decline"),
        ("maintain", [99.0, 98.0, 97.0, 96.1, 95.0], "not_met", "significant_decline"),
    ],
)
def test_judge_direction(comp, values, status, note):
    tr = trend_test(np.arange(2020, 2020 + len(values)), values)
    assert judge_direction(comp, tr) == (status, note)


# --------------------------------------------------------------------------- progress

def test_ratio_category_boundaries_exact():
    assert ratio_category(0.95) == "on_track"
    assert ratio_category(np.nextafter(0.95, 0)) == "acceleration_needed"
    assert ratio_category(0.6) == "acceleration_needed"
    assert ratio_category(np.nextafter(0.6, 0)) == "limited_progress"
    assert ratio_category(0.0) == "limited_progress"
    assert ratio_category(-1e-12) == "deterioration"
    assert ratio_category(math.inf) == "on_track"
    assert ratio_category(np.nan) == "insufficient_data"


def test_cagr_category_boundaries_and_limit_scaling():
    assert cagr_category(0.015) == "on_track"
    assert cagr_category(np.nextafter(0.015, 0)) == "acceleration_needed"
    assert cagr_category(0.005) == "acceleration_needed"
    assert cagr_category(np.nextafter(0.005, 0)) == "limited_progress"
    assert cagr_category(0.0) == "limited_progress"
    assert cagr_category(-1e-12) == "deterioration"
    # thresholds scale with C: 0.0075 = 0.015 * 0.5
    assert cagr_category(0.0075, 0.5) == "on_track"
    assert cagr_category(0.0025, 0.5) == "acceleration_needed"
    # C = 0 (base at the limit): any P >= 0 is on track, a decline still deteriorates
    assert cagr_category(0.0, 0.0) == "on_track"
    assert cagr_category(-0.001, 0.0) == "deterioration"


def test_limit_factor_statistics_canada():
    assert limit_factor(99.0, 100.0) == pytest.approx(1 - 0.99**4.44)
    assert limit_factor(99.0, 100.0) == pytest.approx(0.0436425089, rel=1e-8)
    assert limit_factor(100.0, 100.0) == 0.0
    assert limit_factor(5.0, 0.0) == 1.0            # minimum limit 0, decrease: no reduction
    assert limit_factor(50.0, np.nan) == 1.0
    assert limit_factor(150.0, 100.0) == pytest.approx(1 - 0.5**4.44)


def _prog(**kw):
    base = {"status": "not_met", "base_year": 2020, "target_year": 2030}
    base.update(kw)
    return progress_category(**base)


def test_progress_increase_target_hand_values():
    out = _prog(comparator=">=", base_value=60.0, value=68.0, year=2024, target=70.0)
    assert out["cagr_observed"] == pytest.approx((68 / 60) ** 0.25 - 1)
    assert out["cagr_observed"] == pytest.approx(0.031785, abs=1e-6)
    assert out["cagr_required"] == pytest.approx(0.015534, abs=1e-6)
    assert out["pace_ratio"] == pytest.approx(2.046123, abs=1e-5)
    assert out["category"] == "on_track"


def test_progress_decrease_target_sign_convention():
    # maternal mortality 20 -> 15 per 100k in 5 years, target 7.5 by 2030:
    # CAGR_o = 0.75^(1/5)-1 = -0.055912, CAGR_r = 0.375^(1/10)-1 = -0.093426,
    # R = s*d*CAGR_o/|CAGR_r| = (+1)(-1)(-0.055912)/0.093426 = 0.598466 -> limited progress
    out = _prog(comparator="<", base_value=20.0, value=15.0, year=2025, target=7.5)
    assert out["cagr_observed"] == pytest.approx(-0.0559125, abs=1e-6)
    assert out["cagr_required"] == pytest.approx(-0.0934263, abs=1e-6)
    assert out["pace_ratio"] == pytest.approx(0.5984664, abs=1e-6)
    assert out["category"] == "limited_progress"
    # base already better than target, now worse: R < 0 -> deterioration
    out = _prog(comparator="<=", base_value=8.0, value=12.0, year=2024, target=10.0)
    assert out["pace_ratio"] == pytest.approx(-4.727722, abs=1e-5)
    assert out["category"] == "deterioration"


def test_progress_approx_target_goldilocks_transform():
    # residents' committees: 71.53 % (2020) -> 60 % (2024), target 50 +- 2:
    # x' = 50 + |x - 50|, target' = 52, d = -1 -> R = 1.369844 (on track)
    out = _prog(comparator="~=", base_value=71.53, value=60.0, year=2024, target=50.0, tolerance=2.0)
    assert out["pace_ratio"] == pytest.approx(1.3698444, abs=1e-6)
    assert out["category"] == "on_track"


def test_progress_achieved_and_insufficient():
    out = _prog(comparator=">=", status="met", base_value=90.0, value=97.0, year=2024, target=96.0)
    assert out["category"] == "achieved"
    assert not np.isnan(out["pace_ratio"])
    assert _prog(comparator=">=", base_value=np.nan, value=97.0, year=2024, target=96.0)["category"] \
        == "insufficient_data"
    assert _prog(comparator=">=", base_value=90.0, value=97.0, year=2020, target=96.0)["category"] \
        == "insufficient_data"
    # zero base replaced by 0.001 (Open SDG)
    z = _prog(comparator=">=", base_value=0.0, value=1.0, year=2024, target=3.0)
    assert z["cagr_observed"] == pytest.approx((1 / 0.001) ** 0.25 - 1)


def test_progress_without_target_and_bound_shrinkage():
    # 99 -> 99.5 in 4 years: P = 0.00126; without bound limited progress, with bound 100 on track
    free = _prog(comparator="increase", base_value=99.0, value=99.5, year=2024)
    bound = _prog(comparator="increase", base_value=99.0, value=99.5, year=2024, upper_bound=100.0)
    assert free["cagr_observed"] == pytest.approx(0.0012602, abs=1e-6)
    assert free["category"] == "limited_progress" and free["limit_factor"] == 1.0
    assert bound["limit_factor"] == pytest.approx(0.0436425, abs=1e-6)
    assert bound["category"] == "on_track"
    # decrease: 10 -> 8 over 4 years, P = -(0.8^(1/4)-1) = 0.05426 -> on track
    dec = _prog(comparator="decrease", base_value=10.0, value=8.0, year=2024, lower_bound=0.0)
    assert dec["category"] == "on_track"
    rise = _prog(comparator="decrease", base_value=10.0, value=11.0, year=2024, lower_bound=0.0)
    assert rise["category"] == "deterioration"
    # maintain: the category follows the status of the trend test, not the CAGR (methods 3.3)
    met = _prog(comparator="maintain", status="met", base_value=100.0, value=90.0, year=2024)
    assert met["category"] == "on_track"
    assert met["cagr_observed"] == pytest.approx(0.9 ** 0.25 - 1)      # still reported
    down = _prog(comparator="maintain", status="not_met", base_value=100.0, value=99.9, year=2024)
    assert down["category"] == "deterioration"
    few = _prog(comparator="maintain", status="cannot_judge", base_value=100.0, value=99.9, year=2024)
    assert few["category"] == "insufficient_data"
    # no baseline: the category still comes from the status
    assert _prog(comparator="maintain", status="met", base_value=np.nan, value=99.9,
                 year=2024)["category"] == "on_track"


def test_maintain_status_category_and_verdict_agree():
    """The demo's syphilis PMTCT series 100 -> 97.87 (one untreated case in 47): met, on track.

    Hand values over 2020-2024, t - 2022 = -2..2, S_tt = 10: slope = (-2*100 - 98 + 100
    + 2*97.87) / 10 = -0.226; residuals 0.8, -0.974, -0.878, 1.478, -0.426, SSR = 4.72552,
    s^2 = 1.575173, se = 0.396884, upper = -0.226 + 3.182446 * se = 1.03706 >= 0: no
    significant decline -> met, on_track, achieved (the CAGR (97.87/100)^(1/4) - 1 = -0.537 %/yr
    used to call it deterioration).  A steady fall 99 -> 95 (upper < 0): not met, deterioration,
    large gap.  Three points: cannot judge, insufficient data, not assessable.
    """
    cat = pd.DataFrame({"id": ["m.flat", "m.down", "m.short"], "unit": "percent",
                        "comparator": "maintain", "target": np.nan})
    vals = {"m.flat": [100.0, 98.0, 97.87, 100.0, 97.87], "m.down": [99.0, 98.0, 97.0, 96.1, 95.0],
            "m.short": [100.0, 99.0, 98.0]}
    rows = [{"indicator": i, "year": 2020 + k, "value": v}
            for i, vs in vals.items() for k, v in enumerate(vs)]
    res = assess(pd.DataFrame(rows), cat).set_index("indicator")
    flat = res.loc["m.flat"]
    assert flat["trend_slope"] == pytest.approx(-0.226, abs=1e-12)
    assert flat["trend_upper"] == pytest.approx(-0.226 + 3.182446305 * math.sqrt(4.72552 / 3 / 10),
                                                abs=1e-8)
    assert flat["trend_upper"] == pytest.approx(1.03706, abs=1e-5)
    assert flat["cagr_observed"] == pytest.approx(0.9787 ** 0.25 - 1) and flat["cagr_observed"] < -0.005
    assert (flat["status"], flat["category"], flat["verdict"]) == ("met", "on_track", "achieved")
    down = res.loc["m.down"]
    assert down["trend_upper"] < 0
    assert (down["status"], down["category"], down["verdict"]) == ("not_met", "deterioration", "large_gap")
    short = res.loc["m.short"]
    assert (short["status"], short["status_note"]) == ("cannot_judge", "too_few_points")
    assert (short["category"], short["verdict"]) == ("insufficient_data", "not_assessable")
    # never a met maintain row with a deterioration category, nor a significant decline on track
    both = res[res["comparator"] == "maintain"]
    assert not ((both["status"] == "met") & (both["category"] == "deterioration")).any()
    assert not ((both["status"] == "not_met") & (both["category"] == "on_track")).any()


# --------------------------------------------------------------------------- verdicts

@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"status": "met", "comparator": ">="}, "achieved"),
        ({"status": "no_data", "comparator": ">="}, "not_assessable"),
        ({"status": "cannot_judge", "comparator": ">=", "gap": -1.0, "target": 96.0}, "largely_achieved"),
        ({"status": "not_met", "comparator": ">=", "gap": 4.8, "target": 96.0}, "largely_achieved"),
        ({"status": "not_met", "comparator": ">=", "gap": 5.0, "target": 96.0}, "gap_remains"),
        ({"status": "not_met", "comparator": ">=", "gap": 19.2, "target": 96.0}, "gap_remains"),
        ({"status": "not_met", "comparator": ">=", "gap": 19.3, "target": 96.0}, "large_gap"),
        ({"status": "not_met", "comparator": ">=", "gap": 10.0, "target": 96.0,
          "category": "deterioration"}, "large_gap"),
        ({"status": "not_met", "comparator": ">=", "gap": 1.0, "target": 1.0, "scale": 8}, "gap_remains"),
        ({"status": "cannot_judge", "comparator": "increase", "slope": 0.3}, "largely_achieved"),
        ({"status": "cannot_judge", "comparator": "decrease", "slope": 0.3}, "gap_remains"),
        ({"status": "cannot_judge", "comparator": "increase", "note": "too_few_points"}, "not_assessable"),
        ({"status": "not_met", "comparator": "maintain", "slope": -1.0}, "large_gap"),
        ({"status": "cannot_judge", "comparator": "<", "gap": -1.0, "target": 7.5, "too_wide": True},
         "not_assessable"),
        ({"status": "not_met", "comparator": "<", "gap": 5.0, "target": 7.5, "too_wide": True}, "large_gap"),
    ],
)
def test_verdict_rules(kw, code):
    assert verdict(**kw) == code


def test_verdict_labels():
    assert label("verdict", "achieved", "zh") == "已实现"
    assert label("verdict", "largely_achieved", "zh") == "基本实现"
    assert label("verdict", "gap_remains", "zh") == "仍有差距"
    assert label("verdict", "large_gap", "zh") == "差距较大"


# --------------------------------------------------------------------------- the table

CAT = pd.DataFrame({
    "id": ["h.screen", "h.mmr", "d.npc", "d.street", "e.share", "l.shelter", "s.ins", "x.nodata"],
    "domain": ["health", "health", "decision", "decision", "economy", "law", "social", "law"],
    "unit": ["percent", "per_100k_live_births", "percent", "count", "percent", "count", "percent", "percent"],
    "comparator": [">=", "<", "increase", ">=", "~=", ">=", ">=", ">="],
    "target": [70.0, 7.5, np.nan, 1.0, 45.0, 1.0, 96.0, 50.0],
    "tolerance": [np.nan, np.nan, np.nan, np.nan, 2.0, np.nan, np.nan, np.nan],
    "per_area": [False, False, False, True, False, False, False, False],
    "baseline_year": [pd.NA, pd.NA, pd.NA, pd.NA, 2020, pd.NA, pd.NA, pd.NA],
    "baseline_value": [np.nan, np.nan, np.nan, np.nan, 40.0, np.nan, np.nan, np.nan],
})


def _panel() -> pd.DataFrame:
    rows = []
    for i, y in enumerate(range(2020, 2025)):
        rows.append({"indicator": "h.screen", "year": y, "value": 60.0 + 2 * i})
        k = [1, 0, 2, 1, 0][i]
        rows.append({"indicator": "h.mmr", "year": y, "value": k / 8000 * 1e5, "numerator": k,
                     "denominator": 8000})
        rows.append({"indicator": "d.npc", "year": y, "value": 25 + 0.5 * i + [0, .1, -.1, .2, 0][i]})
        for town, v in (("440117001", 1), ("440117002", 0 if y < 2024 else 2)):
            rows.append({"indicator": "d.street", "year": y, "area": town, "value": float(v)})
        rows.append({"indicator": "s.ins", "year": y, "sex": "F", "value": 95.0, "numerator": 950,
                     "denominator": 1000})
        rows.append({"indicator": "s.ins", "year": y, "sex": "M", "value": 94.0, "numerator": 940,
                     "denominator": 1000})
    for y, v in ((2022, 43.0), (2023, 44.0)):
        rows.append({"indicator": "e.share", "year": y, "value": v})
    rows.append({"indicator": "l.shelter", "year": 2023, "value": 1.0})
    return pd.DataFrame(rows)


def test_assess_columns_and_completeness():
    res = assess(_panel(), CAT)
    assert list(res.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert set(EXTRA_COLUMNS) <= set(res.columns)
    keys = set(zip(res["indicator"], res["area"], res["sex"]))
    expected = {("h.screen", "440117", "T"), ("h.mmr", "440117", "T"), ("d.npc", "440117", "T"),
                ("d.street", "440117001", "T"), ("d.street", "440117002", "T"), ("d.street", "440117", "T"),
                ("e.share", "440117", "T"), ("l.shelter", "440117", "T"), ("s.ins", "440117", "F"),
                ("s.ins", "440117", "M"), ("x.nodata", "440117", "T")}
    assert keys == expected and len(res) == len(expected)
    assert res["status"].isin(["met", "not_met", "cannot_judge", "no_data"]).all()
    assert res["verdict_zh"].notna().all() and res["category"].notna().all()


def test_assess_latest_year_per_series_and_values():
    res = assess(_panel(), CAT).set_index(["indicator", "area", "sex"])
    r = res.loc[("h.screen", "440117", "T")]
    assert r["year"] == 2024 and r["value"] == 68.0 and r["gap"] == 2.0
    assert r["status"] == "not_met" and r["category"] == "on_track"
    assert r["pace_ratio"] == pytest.approx(2.046123, abs=1e-5)
    assert r["verdict_zh"] == "基本实现"  # shortfall 2/70 = 2.9 % <= 5 %
    # e.share: latest 2023, |44-45| - 2 = -1 -> met; baseline from the catalogue (2020, 40)
    e = res.loc[("e.share", "440117", "T")]
    assert e["year"] == 2023 and e["status"] == "met" and e["gap"] == pytest.approx(-1.0)
    assert e["baseline_source"] == "catalogue" and e["baseline_value"] == 40.0
    assert e["category"] == "achieved" and e["verdict_zh"] == "已实现"
    # maternal mortality: pooled 2020-2024 (4 deaths / 40 000), interval straddles 7.5
    m = res.loc[("h.mmr", "440117", "T")]
    assert m["pooled_years"] == "2020\u20132024" and m["value"] == pytest.approx(10.0)
    assert m["value_reported"] == 0.0 and m["status"] == "cannot_judge" and bool(m["too_wide"])
    assert m["interval_method"] == "garwood_exact" and m["verdict_zh"] == "暂无法评估"
    # directional target judged by the trend
    d = res.loc[("d.npc", "440117", "T")]
    assert d["status"] == "met" and np.isnan(d["gap"]) and d["trend_n"] == 5
    # shelter: one year only, count target met
    s = res.loc[("l.shelter", "440117", "T")]
    assert s["status"] == "met" and s["year"] == 2023 and s["category"] == "achieved"
    assert res.loc[("x.nodata", "440117", "T")]["status"] == "no_data"


def test_assess_per_area_district_summary():
    res = assess(_panel(), CAT).set_index(["indicator", "area", "sex"])
    d = res.loc[("d.street", "440117", "T")]
    # two of the eight towns report, both meet it: the six others are not known to (methods 2.5)
    assert d["status"] == "cannot_judge" and d["status_note"] == "areas_incomplete"
    assert d["n_areas"] == 8 and d["n_areas_met"] == 2
    res23 = assess(_panel(), CAT, year=2023).set_index(["indicator", "area", "sex"])
    d = res23.loc[("d.street", "440117", "T")]
    assert d["status"] == "not_met" and d["n_areas_met"] == 1 and d["gap"] == 1.0
    assert res23.loc[("d.street", "440117002", "T")]["status"] == "not_met"


def test_assess_given_year_without_value_is_no_data():
    res = assess(_panel(), CAT, year=2024).set_index(["indicator", "area", "sex"])
    e = res.loc[("e.share", "440117", "T")]
    assert e["year"] == 2024 and e["status"] == "no_data" and e["verdict_zh"] == "暂无法评估"


def test_assess_first_year_baseline_when_2020_missing():
    p = pd.DataFrame({"indicator": "h.screen", "year": [2021, 2022, 2023], "value": [50.0, 55.0, 60.0]})
    r = assess(p, CAT).set_index("indicator").loc["h.screen"]
    assert r["baseline_year"] == 2021 and r["baseline_source"] == "first_year"
    assert r["cagr_observed"] == pytest.approx((60 / 50) ** 0.5 - 1)


def test_assess_catalogue_errors():
    with pytest.raises(ValueError, match="required column"):
        assess(_panel(), CAT.drop(columns="target"))
    bad = CAT.copy()
    bad.loc[2, "comparator"] = "rise"
    with pytest.raises(ValueError, match=r"row 2: indicator 'd.npc': column comparator: expected one of \[.*'~>=', 'increase'.*got 'rise'"):
        catalog_normalize(bad)
    bad = CAT.copy()
    bad.loc[0, "target"] = np.nan
    with pytest.raises(ValueError, match="row 0: .*column target: expected a numeric target"):
        catalog_normalize(bad)
    bad = CAT.copy()
    bad.loc[0, "unit"] = "Percent"
    with pytest.raises(ValueError, match="column unit: expected a key of units.csv .*got 'Percent'"):
        assess(_panel(), bad)


def test_attainment_counts():
    res = assess(_panel(), CAT)
    att = attainment(res).set_index("domain")
    # health: screen not_met, mmr cannot_judge; decision: npc met
    assert att.loc["health", "n_met"] == 0 and att.loc["health", "n_not_met"] == 1
    assert att.loc["health", "n_cannot_judge"] == 1
    assert att.loc["decision", "attainment_rate"] == 1.0
    # decision: street is cannot_judge (two of eight towns report; methods 2.5)
    assert att.loc["decision", "n_cannot_judge"] == 1
    # social: the target is about everyone (subject_sex T) and only F and M figures came: the judged
    # figure is missing, so no data, as in evaluate (not the female figure in its place)
    assert att.loc["social", "n_no_data"] == 1 and np.isnan(att.loc["social", "attainment_rate"])
    al = att.loc["all"]
    assert al["n_indicators"] == 8
    # met: npc, e.share, shelter = 3; not met: screen = 1; cannot: mmr, street = 2; no data: s.ins, x
    assert (al["n_met"], al["n_not_met"], al["n_cannot_judge"], al["n_no_data"]) == (3, 1, 2, 2)
    assert al["attainment_rate"] == pytest.approx(3 / 4)
    assert al["attainment_rate_all"] == pytest.approx(3 / 6)


# --------------------------------------------------------------------------- gender gaps

def test_gender_gap_proportions_newcombe_and_katz():
    gg = gender_gap(_panel(), CAT)
    assert len(gg) == 5 and (gg["indicator"] == "s.ins").all()
    r = gg.iloc[0]
    lo, hi = confint_proportions_2indep(950, 1000, 940, 1000, method="newcomb", compare="diff")
    assert r["difference"] == pytest.approx(1.0)
    assert r["difference_lower"] == pytest.approx(lo * 100) and r["difference_upper"] == pytest.approx(hi * 100)
    rlo, rhi = confint_proportions_2indep(950, 1000, 940, 1000, method="log", compare="ratio")
    assert r["ratio"] == pytest.approx(95 / 94)
    assert r["ratio_lower"] == pytest.approx(rlo) and r["ratio_upper"] == pytest.approx(rhi)
    # Katz by hand
    se = math.sqrt(1 / 950 - 1 / 1000 + 1 / 940 - 1 / 1000)
    assert r["ratio_upper"] == pytest.approx((0.95 / 0.94) * math.exp(1.959963985 * se), rel=1e-8)
    assert r["difference_method"] == "newcombe_wilson" and r["ratio_method"] == "katz_log"


def test_gender_gap_poisson_and_point_only():
    cat = pd.DataFrame({"id": ["o.injury", "p.pension"], "unit": ["per_100k", "yuan_per_month"],
                        "comparator": ["decrease", "increase"], "target": [np.nan, np.nan]})
    p = pd.DataFrame({
        "indicator": ["o.injury", "o.injury", "p.pension", "p.pension"],
        "year": [2024] * 4, "sex": ["F", "M", "F", "M"],
        "value": [6 / 50000 * 1e5, 12 / 60000 * 1e5, 3000.0, 3600.0],
        "numerator": [6, 12, np.nan, np.nan], "denominator": [50000, 60000, np.nan, np.nan],
    })
    gg = gender_gap(p, cat).set_index("indicator")
    inj = gg.loc["o.injury"]
    assert inj["ratio"] == pytest.approx((6 / 50000) / (12 / 60000))
    assert inj["ratio_method"] == "exact_conditional"
    lo, hi = confint_poisson_2indep(6, 50000, 12, 60000, method="mover", compare="diff")
    assert inj["difference_lower"] == pytest.approx(lo * 1e5) and inj["difference_upper"] == pytest.approx(hi * 1e5)
    pen = gg.loc["p.pension"]
    assert pen["difference"] == -600.0 and pen["ratio"] == pytest.approx(3000 / 3600)
    assert pen["note"] == "point_only" and np.isnan(pen["ratio_lower"])


# --------------------------------------------------------------------------- CLI

def _run_cli(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    register_cli(sub)
    ns = parser.parse_args(argv)
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = ns.func(ns)
    return code, buf.getvalue()


def test_cli_csv_on_a_panel_file(tmp_path):
    """The real loader and the plan's catalogue, no mocks: a panel file of two plan indicators."""
    path = tmp_path / "panel.csv"
    pd.DataFrame({
        "indicator": ["health.maternal_mortality"] * 3 + ["social_security.medical_insurance_female"] * 3,
        "year": [2022, 2023, 2024] * 2,
        "value": [8.0, 7.0, 6.5, 94.0, 95.0, 96.5],
    }).to_csv(path, index=False)
    code, out = _run_cli(["assess", "--data", str(path), "--format", "csv"])
    assert code == 0
    back = pd.read_csv(io.StringIO(out), dtype={"area": "string"})
    assert list(back.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    got = back.set_index("indicator")
    assert got.at["social_security.medical_insurance_female", "value"] == 96.5
    code, out = _run_cli(["assess", "--data", str(path), "--attainment"])
    assert code == 0 and "attainment_rate" in out


def test_assess_on_demo_panel_is_complete_for_latest_year():
    panel = demo.load()  # committed: data/demo/demo_panel.csv
    res = assess(panel)
    cat = catalog_load()
    latest = int(pd.to_numeric(panel["year"]).max())
    district = res[res["area"] == codes.district()]
    # every catalogue indicator has a district row, judged in the latest year
    assert set(cat["id"]) == set(district["indicator"])
    assert (district["year"] == latest).all()
    assert res["status"].isin(["met", "not_met", "cannot_judge", "no_data"]).all()
    assert res["category"].notna().all() and res["verdict_zh"].notna().all()
    assert res["synthetic"].all()
    # one row per indicator x area x sex of the panel (plus none missing)
    keys = panel[["indicator", "area", "sex"]].drop_duplicates()
    assert len(res) == len(keys)
    # a fixed year gives every series that year, no_data where the series misses it
    fixed = assess(panel, year=latest)
    assert (fixed["year"] == latest).all() and len(fixed) == len(res)
    # numeric targets with a value always carry a gap; rare events were pooled somewhere
    numeric = fixed[fixed["comparator"].isin([">=", "<=", ">", "<", "==", "~="]) & fixed["value"].notna()]
    assert numeric["gap"].notna().all()
    assert (res["pooled_years"] != "").any()
    assert not attainment(res).empty


def test_catalogue_defaults_for_a_researchers_own_catalogue():
    own = pd.DataFrame({"id": ["my.share"], "unit": ["percent"], "comparator": [">="], "target": [60.0]})
    c = catalog_normalize(own).iloc[0]
    assert c["lower_bound"] == 0.0 and c["upper_bound"] == 100.0   # from data/units.csv
    assert c["target_year"] == 2030 and np.isnan(c["tolerance"]) and not c["per_area"]
    assert c["domain"] == "unassigned" and c["name_zh"] == "my.share"
    res = assess(pd.DataFrame({"indicator": "my.share", "year": [2020, 2024], "value": [50.0, 58.0]}), own)
    r = res.iloc[0]
    assert (r["status"], r["gap"], r["baseline_value"]) == ("not_met", 2.0, 50.0)
    assert r["cagr_required"] == pytest.approx((60 / 50) ** 0.1 - 1)


def test_every_code_in_the_output_has_a_label():
    res = assess(_panel(), CAT)
    for kind, col in (("status", "status"), ("category", "category"), ("verdict", "verdict"),
                      ("status_note", "status_note"), ("interval_method", "interval_method"),
                      ("baseline_source", "baseline_source")):
        for code in res[col].dropna().unique():
            assert label(kind, str(code), "en")
    gg = gender_gap(_panel(), CAT)
    for code in set(gg["difference_method"]) | set(gg["ratio_method"]):
        assert label("interval_method", code, "zh")


def test_per_area_town_with_an_older_value_is_not_counted_as_meeting():
    p = _panel()
    p = p[~((p["indicator"] == "d.street") & (p["area"] == "440117001") & (p["year"] == 2024))]
    d = assess(p, CAT).set_index(["indicator", "area", "sex"]).loc[("d.street", "440117", "T")]
    # town 001 met in 2023 (its latest), town 002 met in 2024: the district is not yet confirmed
    assert d["year"] == 2024 and d["n_areas"] == 8 and d["n_areas_met"] == 1
    assert d["status"] == "cannot_judge" and d["status_note"] == "areas_incomplete"


def test_attainment_domain_names():
    att = attainment(assess(_panel(), CAT)).set_index("domain")
    assert att.loc["health", "domain_zh"] == "妇女与健康"
    assert att.loc["all", "domain_zh"] == "全部领域" and att.loc["social", "domain_en"] == "social"


def test_package_exposes_functions_and_modules_are_nouns():
    res = fzanalysis.assess(_panel(), CAT)
    assert list(res.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert fzanalysis.assess is fzanalysis.assessment.assess
    assert fzanalysis.attainment is attainment
    assert set(fzanalysis.__all__) <= set(dir(fzanalysis))


def test_street_only_target_judges_only_the_streets():
    """area_kinds = street: the 3 streets meet, a town without a woman leader is not judged."""
    cat = pd.DataFrame({
        "id": ["decision.street_leadership_women", "decision.all_towns"],
        "unit": ["count", "count"], "comparator": [">=", ">="], "target": [1.0, 1.0],
        "per_area": [True, True], "area_kinds": ["street", ""],
    })
    streets = {"440117001": 1.0, "440117002": 2.0, "440117003": 1.0}
    towns = {"440117103": 0.0, "440117104": 1.0}  # 温泉镇 has no woman in its leadership
    rows = [{"indicator": ind, "year": 2024, "area": a, "value": v}
            for ind in cat["id"] for a, v in {**streets, **towns}.items()]
    res = assess(pd.DataFrame(rows), cat).set_index(["indicator", "area", "sex"])
    d = res.loc[("decision.street_leadership_women", "440117", "T")]
    assert d["status"] == "met" and d["status_note"] == "all_areas_met"
    assert d["n_areas"] == 3 and d["n_areas_met"] == 3 and d["gap"] == 0
    w = res.loc[("decision.street_leadership_women", "440117103", "T")]
    assert w["status"] == "not_applicable" and w["status_note"] == "area_kind_not_targeted"
    assert np.isnan(w["gap"]) and w["verdict"] == "not_assessable"
    assert w["value"] == 0.0  # the reported figure is kept, only not judged
    assert label("status", "not_applicable", "zh") == "不适用"
    assert label("status_note", "area_kind_not_targeted", "en")
    for a in streets:
        assert res.loc[("decision.street_leadership_women", a, "T")]["status"] == "met"
    # without area_kinds every town counts, and the town without a woman leader fails it
    d_all = res.loc[("decision.all_towns", "440117", "T")]
    # (all eight towns are counted, also the three that sent no figure)
    assert d_all["status"] == "not_met" and d_all["n_areas"] == 8 and d_all["n_areas_met"] == 4
    # a street that misses it still fails the district
    bad = pd.DataFrame(rows).assign(value=lambda f: np.where(f["area"] == "440117002", 0.0, f["value"]))
    d = assess(bad, cat).set_index(["indicator", "area", "sex"]).loc[
        ("decision.street_leadership_women", "440117", "T")]
    assert d["status"] == "not_met" and d["n_areas"] == 3 and d["n_areas_met"] == 2


def test_street_only_targets_of_the_catalogue_on_the_demo_panel():
    res = assess(demo.load())
    for ind in ("decision.street_leadership_women", "family.street_family_education_centres"):
        r = res[res["indicator"] == ind]
        assert set(r["area"]) <= {"440117", "440117001", "440117002", "440117003"}
        d = r[r["area"] == "440117"].iloc[0]
        assert d["n_areas"] <= 3


# --------------------------------------------------------------------------- audit (issue: stats review)

STREETS_ONLY = pd.DataFrame({"id": ["decision.street_leadership_women"], "unit": ["count"], "comparator": [">="],
                             "target": [1.0], "per_area": [True], "area_kinds": ["street"]})


@pytest.mark.parametrize(("values", "status", "note", "n_met"), [
    ({"440117001": 2.0, "440117002": 3.0}, "cannot_judge", "areas_incomplete", 2),  # 城郊街道 silent
    ({"440117001": 2.0, "440117002": 0.0}, "not_met", "some_area_not_met", 1),
    ({"440117001": 2.0, "440117002": 3.0, "440117003": 1.0}, "met", "all_areas_met", 3),
])
def test_per_area_target_counts_every_targeted_town_not_only_those_that_reported(values, status, note, n_met):
    """每个街道: a street without a figure is not known to meet the target, so the district row
    cannot be 'met' (n_areas is the three streets of the gazetteer, not the two that reported)."""
    ind = "decision.street_leadership_women"
    p = pd.DataFrame({"indicator": ind, "year": 2024, "area": list(values), "value": list(values.values())})
    d = assess(p, STREETS_ONLY).set_index(["indicator", "area", "sex"]).loc[(ind, "440117", "T")]
    assert (d["status"], d["status_note"]) == (status, note)
    assert d["n_areas"] == 3 and d["n_areas_met"] == n_met
    assert (d["verdict"] == "achieved") == (status == "met")


def test_per_area_target_of_a_researchers_own_areas_counts_the_areas_of_the_panel():
    cat = STREETS_ONLY.assign(area_kinds="")
    ind = "decision.street_leadership_women"
    p = pd.DataFrame({"indicator": ind, "year": 2024, "area": ["R", "R-1", "R-2"], "value": [3.0, 1.0, 2.0]})
    d = assess(p, cat, area="R").set_index(["indicator", "area", "sex"]).loc[(ind, "R", "T")]
    assert d["status"] == "met" and d["n_areas"] == 2 and d["n_areas_met"] == 2


def test_attainment_counts_the_sex_each_target_is_about():
    """A women's target (subject_sex F) is counted on the female figure, as evaluate does (methods
    3.5), not on the total; a women's target without a female figure is no data."""
    cat = pd.DataFrame({"id": ["health.le_women", "health.le_all"], "unit": ["years", "years"],
                        "comparator": [">=", ">="], "target": [80.0, 80.0], "subject_sex": ["F", "F"],
                        "disaggregation": ["sex", "sex"]})
    p = pd.DataFrame({"indicator": ["health.le_women"] * 3 + ["health.le_all"], "year": 2024,
                      "sex": ["F", "M", "T", "T"], "value": [82.0, 76.0, 79.0, 81.0]})
    al = attainment(assess(p, cat)).set_index("domain").loc["all"]
    assert (al["n_indicators"], al["n_met"], al["n_not_met"], al["n_no_data"]) == (2, 1, 0, 1)


def test_attainment_of_assess_equals_the_reports_on_the_demo():
    from fzanalysis import evaluate
    panel = demo.load()
    cols = ["domain", "n_indicators", "n_met", "n_not_met", "n_cannot_judge", "n_no_data"]
    mine = attainment(assess(panel, year=2024))[cols].reset_index(drop=True)
    theirs = evaluate(panel, year=2024).attainment()[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(10, 10, 10, 10), (10, 10, 3, 10), (0, 10, 0, 12), (40, 40, 0, 5)])
def test_katz_ratio_interval_adds_half_to_every_cell_when_one_is_empty(k1, n1, k2, n2):
    """A 2x2 table with an empty cell (k = 0 or k = n) gets 0.5 in every cell (Haldane-Anscombe):
    10 of 10 women and 10 of 10 men do not prove a ratio of exactly 1."""
    cat = pd.DataFrame({"id": ["h.cov"], "unit": ["percent"], "comparator": [">="], "target": [90.0]})
    p = pd.DataFrame({"indicator": "h.cov", "year": 2024, "sex": ["F", "M"], "numerator": [k1, k2],
                      "denominator": [n1, n2]})
    p["value"] = p["numerator"] / p["denominator"] * 100
    r = gender_gap(p, cat).iloc[0]
    a, b, c, d = k1 + 0.5, n1 + 1.0, k2 + 0.5, n2 + 1.0
    se = math.sqrt(1 / a - 1 / b + 1 / c - 1 / d)
    z = 1.959963984540054
    assert r["ratio_lower"] == pytest.approx(a / b / (c / d) * math.exp(-z * se), rel=1e-9)
    assert r["ratio_upper"] == pytest.approx(a / b / (c / d) * math.exp(z * se), rel=1e-9)
    assert r["ratio_lower"] < r["ratio_upper"]


def _rare_by_sex(subject_sex: str = "F", f_years=range(2020, 2025), m_years=range(2020, 2025)) -> tuple:
    """Occupational disease: a handful of female cases a year (pooled over 5 years by the rule),
    25+ male cases a year (annual by the rule)."""
    cat = pd.DataFrame({"id": ["o.disease"], "unit": ["per_100k"], "comparator": ["decrease"],
                        "target": [np.nan], "subject_sex": [subject_sex], "disaggregation": ["sex"]})
    kf = dict(zip(range(2020, 2025), [2, 3, 1, 2, 2]))
    km = dict(zip(range(2020, 2025), [30, 25, 28, 22, 26]))
    rows = [{"indicator": "o.disease", "year": y, "sex": s, "value": k[y] / e * 1e5, "numerator": k[y],
             "denominator": e}
            for s, k, e, years in (("F", kf, 160000, f_years), ("M", km, 175000, m_years)) for y in years]
    tot = [{"indicator": "o.disease", "year": y, "sex": "T", "value": (kf[y] + km[y]) / 335000 * 1e5,
            "numerator": kf[y] + km[y], "denominator": 335000} for y in range(2020, 2025)]
    return pd.DataFrame(rows + tot), cat


def test_gender_gap_shows_the_judged_figure_with_both_sexes_over_its_years():
    """The gap table set the 2024 female figure (2 cases: 1.2/10万) beside the judged one
    (pooled 2020–2024: 1.3/10万), two numbers for one fact: now both sexes are pooled over the
    judged figure's years, and the gap from 10 female cases is not comparable as if precise."""
    p, cat = _rare_by_sex()
    judged = fzanalysis.evaluate(p, cat, year=2024).targets.iloc[0]
    assert judged["sex"] == "F" and judged["pooled_years"] == "2020\u20132024"
    r = gender_gap(p, cat).set_index("year").loc[2024]
    assert r["value_f"] == pytest.approx(judged["value"])
    assert r["pooled_years"] == "2020\u20132024"
    assert r["value_m"] == pytest.approx(131 / 875000 * 1e5)  # the men over the same five years, not 2024 alone
    assert r["difference"] == pytest.approx(10 / 800000 * 1e5 - 131 / 875000 * 1e5)
    lo, hi = confint_poisson_2indep(10, 800000, 131, 875000, method="mover", compare="diff")
    assert (r["difference_lower"], r["difference_upper"]) == (pytest.approx(lo * 1e5), pytest.approx(hi * 1e5))
    assert bool(r["rankable"]) is False  # 10 female events: rates.unrankable applies to the gap
    assert unrankable(gender_gap(p, cat)).iloc[-1]


def test_gender_gap_without_the_same_years_states_no_difference():
    p, cat = _rare_by_sex(f_years=[2020, 2021, 2023, 2024])  # no female figure for 2022
    r = gender_gap(p, cat).set_index("year").loc[2024]
    assert r["note"] == "windows_differ"
    assert np.isnan(r["difference"]) and np.isnan(r["ratio"]) and np.isnan(r["difference_lower"])


def test_gender_gap_of_a_total_target_follows_the_total_or_else_the_longer_window():
    p, cat = _rare_by_sex(subject_sex="T")
    r = gender_gap(p, cat).set_index("year").loc[2024]  # the total (28 events) is annual: so is the gap
    assert r["pooled_years"] == "" and r["value_f"] == pytest.approx(2 / 160000 * 1e5)
    assert bool(r["rankable"]) is False
    r = gender_gap(p[p["sex"] != "T"], cat).set_index("year").loc[2024]  # no judged figure: the longer
    assert r["pooled_years"] == "2020\u20132024" and r["value_m"] == pytest.approx(131 / 875000 * 1e5)


def _gap_case(values: list[float], comparator: str = "narrow") -> pd.Series:
    cat = pd.DataFrame({"id": ["economy.gap"], "unit": ["gap_percent"], "comparator": [comparator],
                        "target": [0.0 if comparator == "narrow" else np.nan]})
    panel = pd.DataFrame({"indicator": "economy.gap", "year": range(2025 - len(values), 2025), "value": values})
    return fzanalysis.assess(panel, cat).iloc[0]


def test_narrow_judges_the_gaps_size_not_its_sign():
    """缩小 a gap (methods 3.3b): +5 that became -7.5 has widened. As `decrease` it read as
    progress (a significant fall, met); as `narrow` its size grows: not met, 倒退."""
    crossing = [5.0, 3.0, 1.0, -1.5, -3.8, -5.6, -7.5]
    as_fall = _gap_case(crossing, "decrease")
    assert as_fall["status"] == "met"
    wider = _gap_case(crossing)
    assert wider["status"] == "not_met" and wider["category"] == "deterioration"
    assert wider["verdict"] == "large_gap"
    # from the other side (women ahead by 8, now by 2): narrowing, as `increase` would say
    closing = _gap_case([-8.0, -7.1, -6.0, -5.2, -4.0, -3.1, -2.0])
    assert closing["status"] == "met" and closing["category"] == "on_track"  # as `increase` would be
    # far from parity, the size is the value: narrow and decrease agree in every column
    far = [22.0, 21.5, 21.1, 20.2, 19.8, 19.1, 18.7]
    a, b = _gap_case(far), _gap_case(far, "decrease")
    for col in ("status", "status_note", "category", "verdict", "trend_slope", "cagr_observed"):
        assert a[col] == pytest.approx(b[col]) if isinstance(a[col], float) else a[col] == b[col], col


def test_narrow_projection_moves_towards_parity_from_either_side():
    """The category and p_direction of a 缩小 target read the move towards the parity point from
    the side today's level is on, so they agree (p >= 0.5 iff the centre narrows the gap)."""
    years = list(range(2015, 2025))
    cat = pd.DataFrame({"id": ["economy.above", "economy.below", "economy.crossed"], "unit": "gap_percent",
                        "comparator": "narrow", "target": 0.0})
    panel = pd.concat([pd.DataFrame({"indicator": i, "year": years, "value": v}) for i, v in (
        ("economy.above", np.linspace(20.0, 14.0, 10) + np.tile([0.3, -0.3], 5)),
        ("economy.below", np.linspace(-20.0, -14.0, 10) + np.tile([0.3, -0.3], 5)),
        ("economy.crossed", np.linspace(6.0, -12.0, 10) + np.tile([0.3, -0.3], 5)))])
    t = fzanalysis.evaluate(panel, cat, year=2024).targets.set_index("indicator")
    for ind in ("economy.above", "economy.below"):
        assert t.at[ind, "probability"] > 0.5 and t.at[ind, "category"] in ("achieved", "on_track"), ind
        assert "at_risk" not in t.at[ind, "warnings"]
    assert t.at["economy.crossed", "probability"] < 0.5
    assert t.at["economy.crossed", "category"] == "deterioration"
    assert "reversing" in t.at["economy.crossed", "warnings"]


def _gap_rows(**over) -> pd.DataFrame:
    base = {"indicator": "health.x", "area": "440117", "unit": "percent", "year": [2020, 2024],
            "pooled_years": "", "difference": [6.0, 3.5], "difference_lower": [5.0, 2.6],
            "difference_upper": [7.0, 4.4], "rankable": True, "note": "from_counts"}
    base.update(over)
    return pd.DataFrame(base)


def test_gap_change_names_the_columns_a_hand_made_table_lacks():
    """Probe finding 10: a hand-made gaps table without pooled_years failed with a raw
    KeyError: 'pooled_years' from inside the loop."""
    from fzanalysis.exceptions import FzError, InputError

    bare = _gap_rows().drop(columns=["pooled_years", "rankable", "note"])
    with pytest.raises(InputError, match=r"gap_change: missing column\(s\) pooled_years; expected the rows of "
                                         r"fzanalysis.gender_gap .*got columns indicator, area, unit, year, "
                                         r"difference, difference_lower, difference_upper$") as err:
        fzanalysis.assessment.gap_change(bare)
    assert isinstance(err.value, FzError) and isinstance(err.value, ValueError)
    with pytest.raises(InputError, match=r"missing column\(s\) unit, difference_lower, difference_upper;"):
        fzanalysis.assessment.gap_change(_gap_rows().drop(columns=["unit", "difference_lower", "difference_upper"]))
    with pytest.raises(InputError, match=r"missing column\(s\) indicator, area, .*got columns x$"):
        fzanalysis.assessment.gap_change(pd.DataFrame({"x": [1.0]}))
    assert fzanalysis.assessment.gap_change(pd.DataFrame()).empty  # no rows: nothing to read
    with pytest.raises(InputError, match="expected a DataFrame of fzanalysis.gender_gap rows, got list"):
        fzanalysis.assessment.gap_change([])
    # rankable and note are not needed: without rankable every gap counts
    r = fzanalysis.assessment.gap_change(bare.assign(pooled_years="")).iloc[0]
    assert r["gap_change"] == "narrowed"


def test_gap_change_states_a_change_only_where_like_is_compared_with_like():
    """methods 4.1: the size of the gap, with a MOVER interval; no change where the windows
    overlap, the figures rest on few events, or there is no baseline; sides crossed said so."""
    r = fzanalysis.assessment.gap_change(_gap_rows()).iloc[0]
    assert r["gap_change"] == "narrowed" and r["change"] == pytest.approx(-2.5)
    assert r["change_upper"] == pytest.approx(-2.5 + math.hypot(1.0, 0.9))  # MOVER, by hand
    wider = fzanalysis.assessment.gap_change(_gap_rows(difference=[3.5, 6.0], difference_lower=[2.6, 5.0],
                                                       difference_upper=[4.4, 7.0])).iloc[0]
    assert wider["gap_change"] == "widened"
    unclear = fzanalysis.assessment.gap_change(_gap_rows(difference_lower=[1.0, -1.0],
                                                         difference_upper=[11.0, 8.0])).iloc[0]
    assert unclear["gap_change"] == "no_clear_change" and unclear["change_lower"] < 0 < unclear["change_upper"]
    overlap = _gap_rows(pooled_years=["2016–2020", "2020–2024"])
    assert fzanalysis.assessment.gap_change(overlap).iloc[0]["gap_change"] == "not_comparable"
    few = _gap_rows(rankable=[True, False])
    assert fzanalysis.assessment.gap_change(few).iloc[0]["gap_change"] == "not_comparable"
    crossed = _gap_rows(difference=[2.0, -3.0])
    assert fzanalysis.assessment.gap_change(crossed).iloc[0]["gap_change"] == "crossed"
    points = _gap_rows(difference_lower=np.nan, difference_upper=np.nan, note="point_only")
    assert fzanalysis.assessment.gap_change(points).iloc[0]["gap_change"] == "narrowed_point"
    # the baseline year missing: the first later year with a gap; none before the year: no change
    later = fzanalysis.assessment.gap_change(_gap_rows(year=[2021, 2024])).iloc[0]
    assert later["baseline_year"] == 2021 and later["gap_change"] == "narrowed"
    alone = fzanalysis.assessment.gap_change(_gap_rows(year=[2018, 2024])).iloc[0]
    assert alone["gap_change"] == "not_comparable" and pd.isna(alone["baseline_year"])
    # women ahead (a negative gap) that shrinks is narrower too
    neg = _gap_rows(difference=[-6.0, -3.5], difference_lower=[-7.0, -4.4], difference_upper=[-5.0, -2.6])
    assert fzanalysis.assessment.gap_change(neg).iloc[0]["gap_change"] == "narrowed"


def test_gap_change_interval_covers_the_true_change_at_its_level():
    """200 simulated proportions by sex in 2020 and 2024 (n = 400 to 3 000 each): the 95 % interval
    of the change in the gap's size covers the true change about 95 % of the time."""
    rng = np.random.default_rng(7)
    rows, truth = [], {}
    for k in range(200):
        p = {(2020, "F"): rng.uniform(0.45, 0.6), (2020, "M"): rng.uniform(0.2, 0.3)}
        p[(2024, "F")] = p[(2020, "F")] - rng.uniform(0.0, 0.1)
        p[(2024, "M")] = p[(2020, "M")] + rng.uniform(0.0, 0.05)
        truth[f"health.s{k}"] = abs(p[(2024, "F")] - p[(2024, "M")]) * 100 - abs(p[(2020, "F")] - p[(2020, "M")]) * 100
        for (y, sex), pr in p.items():
            n = int(rng.integers(400, 3000))
            x = int(rng.binomial(n, pr))
            rows.append({"indicator": f"health.s{k}", "year": y, "sex": sex, "numerator": x, "denominator": n,
                         "value": 100 * x / n})
    cat = pd.DataFrame({"id": list(truth), "unit": "percent", "comparator": ">=", "target": 50.0,
                        "disaggregation": "sex"})
    ch = fzanalysis.assessment.gap_change(fzanalysis.gender_gap(pd.DataFrame(rows), cat), year=2024)
    ch = ch[ch["gap_change"].isin(["narrowed", "widened", "no_clear_change"])]
    assert len(ch) >= 195
    hit = [(r.change_lower <= truth[r.indicator] <= r.change_upper) for r in ch.itertuples()]
    assert 0.91 <= np.mean(hit) <= 0.99, np.mean(hit)


def test_pooled_rate_gets_no_pace_against_a_single_year_baseline():
    """Maternal deaths 0, 1, 0, 2, 0 among ~3 000 births: the 2024 figure is pooled over
    2020–2024 (a window that holds its own baseline year) and the 2020 baseline is the single year
    at 0. That is no change to measure: no CAGR, no 倒退 (it was deterioration at +1 088 % a year),
    the same rule (like_with_like) that leaves the judgement table's change_base empty."""
    from fzanalysis.assessment import like_with_like

    births = [3000, 3100, 2950, 3050, 2980]
    deaths = [0, 1, 0, 2, 0]
    panel = pd.DataFrame({"indicator": "h.mmr", "year": range(2020, 2025), "area": "450102", "sex": "T",
                          "numerator": deaths, "denominator": births,
                          "value": [d / b * 1e5 for d, b in zip(deaths, births, strict=True)]})
    cat = pd.DataFrame([{"id": "h.mmr", "unit": "per_100k_live_births", "comparator": "<", "target": 7.5,
                         "name_zh": "孕产妇死亡率"}])
    row = fzanalysis.assess(panel, cat, area="450102").query("year == 2024").iloc[0]
    assert row["pooled_years"] and row["baseline_value"] == 0.0
    assert row["category"] == "insufficient_data"
    assert np.isnan(row["cagr_observed"]) and np.isnan(row["pace_ratio"])
    ev = fzanalysis.evaluate(panel, cat, area="450102", year=2024).targets.iloc[0]
    assert np.isnan(ev["change_base"])
    assert like_with_like(["", "2020–2024", "", ""], ["", "", "2016–2020", None]).tolist() == \
        [True, False, False, True]


def test_attainment_counts_the_area_assess_judged_or_says_it_has_none():
    """A researcher's own area code: attainment() counted the default district's rows (none) and
    returned 0 indicators and a NaN rate without a word. It now counts the area assess() judged
    (attrs), and refuses a table that has no row of the area it is asked about."""
    panel = pd.DataFrame({"indicator": "s.met", "year": range(2020, 2025), "area": "450102", "sex": "T",
                          "value": [96.5, 97.0, 97.2, 97.8, 98.1]})
    cat = pd.DataFrame([{"id": "s.met", "unit": "percent", "comparator": ">=", "target": 95.0}])
    a = fzanalysis.assess(panel, cat, area="450102")
    total = fzanalysis.attainment(a).set_index("domain").loc["all"]
    assert (total["n_indicators"], total["n_met"], total["attainment_rate"]) == (1, 1, 1.0)
    stripped = pd.DataFrame(a.to_dict("records"))  # attrs lost, as after a round trip through csv
    with pytest.raises(ValueError, match=r"no row of area '440117'.*\['450102'\].*area="):
        fzanalysis.attainment(stripped)
    assert fzanalysis.attainment(stripped, area="450102").set_index("domain").at["all", "n_met"] == 1
