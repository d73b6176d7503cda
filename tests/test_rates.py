"""Tests of fzanalysis.rates: intervals against hand values and scipy/statsmodels, pooling, flags."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from fzanalysis import codes
from fzanalysis.exceptions import PanelError
from fzanalysis.panel import as_panel
from fzanalysis.rates import (
    load_rules,
    poisson_rate_ci,
    poisson_ratio_ci,
    proportion_ci,
    rate_table,
)

CAT = pd.DataFrame(
    {
        "id": ["h.mmr", "h.cov", "e.gross", "l.shelter", "x.level"],
        "unit": ["per_100k_live_births", "percent", "percent", "count", "years"],
        "comparator": ["<", ">=", ">=", ">=", "maintain"],
        "target": [7.5, 96.0, 100.0, 1.0, np.nan],
        "upper_bound": [np.nan, 100.0, 150.0, np.nan, 130.0],
    }
)


# --------------------------------------------------------------------------- proportion_ci

def test_wilson_matches_hand_formula_and_statsmodels():
    k, n = 5, 10
    z = stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    ci = proportion_ci(k, n)
    assert ci.estimate == 0.5
    assert ci.lower == pytest.approx(centre - half, abs=1e-12)
    assert ci.upper == pytest.approx(centre + half, abs=1e-12)
    assert ci.lower == pytest.approx(0.2365930905, abs=1e-9)  # published Wilson value for 5/10


def test_wilson_vectorised_equals_statsmodels():
    k = np.array([0, 1, 7, 50, 100])
    n = np.array([10, 10, 20, 100, 100])
    ci = proportion_ci(k, n, level=0.9)
    lo, hi = proportion_confint(k, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(ci.lower, lo, atol=1e-12)
    np.testing.assert_allclose(ci.upper, hi, atol=1e-12)
    np.testing.assert_allclose(ci.estimate, k / n)


def test_clopper_pearson_equals_scipy_exact_including_edges():
    for k, n in [(0, 10), (3, 10), (10, 10), (17, 400)]:
        ci = proportion_ci(k, n, method="clopper-pearson")
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert ci.lower == pytest.approx(ref.low, abs=1e-10)
        assert ci.upper == pytest.approx(ref.high, abs=1e-10)


def test_proportion_ci_nan_passes_through_and_bad_counts_raise():
    ci = proportion_ci([np.nan, 2], [10, 4])
    assert np.isnan(ci.lower[0]) and not np.isnan(ci.lower[1])
    with pytest.raises(ValueError, match="element 0"):
        proportion_ci(11, 10)
    with pytest.raises(ValueError, match="method"):
        proportion_ci(1, 10, method="bogus")
    with pytest.raises(ValueError, match="level"):
        proportion_ci(1, 10, level=95)


# --------------------------------------------------------------------------- poisson_rate_ci

def test_garwood_hand_values():
    # k = 1: chi2_{0.025}(2)/2 = -ln(0.975) = 0.025318, chi2_{0.975}(4)/2 = 5.571643
    ci = poisson_rate_ci(1, 8000, per=100_000)
    assert ci.estimate == pytest.approx(12.5)
    assert ci.lower == pytest.approx(-math.log(0.975) / 8000 * 1e5, rel=1e-9)
    assert ci.upper == pytest.approx(5.571643 / 8000 * 1e5, rel=1e-6)
    # k = 0: lower 0, upper -ln(0.025) = 3.688879
    ci0 = poisson_rate_ci(0, 1, per=1)
    assert ci0.lower == 0.0
    assert ci0.upper == pytest.approx(-math.log(0.025), rel=1e-9)


def test_garwood_equals_statsmodels_exact_c():
    k = np.array([0, 1, 2, 5, 20, 133])
    e = np.array([8000.0, 8000, 8200, 40000, 41000, 1e6])
    ci = poisson_rate_ci(k, e, per=1, level=0.9)
    lo, hi = confint_poisson(k, e, method="exact-c", alpha=0.1)
    np.testing.assert_allclose(ci.lower, lo, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(ci.upper, hi, rtol=1e-10)


def test_poisson_bad_input():
    with pytest.raises(ValueError, match="exposure > 0"):
        poisson_rate_ci(1, 0)
    with pytest.raises(ValueError, match="events >= 0"):
        poisson_rate_ci(-1, 10)


@pytest.mark.parametrize("args", [(1, 0, 3, 1000), (1, 1000, 3, -5), (-1, 1000, 3, 1000), (1, 1000, -3, 1000)])
def test_poisson_ratio_bad_input(args):
    """The ratio refuses what the rate refuses (was NaN for a zero exposure, and a message about
    proportion_ci for a negative count)."""
    with pytest.raises(ValueError, match="poisson_ratio_ci: element 0: need events >= 0 and exposure > 0"):
        poisson_ratio_ci(*args)
    assert np.isnan(poisson_ratio_ci(np.nan, 1000, 3, 1000).estimate)   # missing stays missing


def test_poisson_ratio_exact_conditional():
    # equal exposures: pi = k1/(k1+k2) -> Clopper-Pearson, rho = pi/(1-pi)
    ci = poisson_ratio_ci(6, 1000, 3, 1000)
    ref = stats.binomtest(6, 9).proportion_ci(method="exact")
    assert ci.estimate == pytest.approx(2.0)
    assert ci.lower == pytest.approx(ref.low / (1 - ref.low))
    assert ci.upper == pytest.approx(ref.high / (1 - ref.high))
    # unequal exposures scale by E2/E1; zero in the reference group -> infinite upper limit
    ci2 = poisson_ratio_ci(6, 2000, 3, 1000)
    assert ci2.lower == pytest.approx(ci.lower / 2)
    assert math.isinf(poisson_ratio_ci(2, 1000, 0, 1000).upper)


# --------------------------------------------------------------------------- rate_table

def _mmr_panel(counts, births=8000, start=2020):
    years = list(range(start, start + len(counts)))
    return pd.DataFrame(
        {
            "indicator": "h.mmr",
            "year": years,
            "value": [k / births * 1e5 for k in counts],
            "numerator": counts,
            "denominator": [births] * len(counts),
        }
    )


def test_pooling_rule_chooses_shortest_window_reaching_20_events():
    rules = load_rules()
    assert rules["pooling"]["min_events"] == 20 and rules["pooling"]["windows"] == [3, 5]
    rt = rate_table(_mmr_panel([10, 10, 10, 3, 3, 25]), CAT).set_index("year")
    # 2020: nothing earlier to pool with
    assert rt.at[2020, "pooled_years"] == ""
    assert rt.at[2020, "estimate"] == pytest.approx(125.0)
    # 2021: 3-year window holds 2020-2021 only (20 events) -> reached
    assert rt.at[2021, "pooled_years"] == "2020\u20132021"
    # 2022: 10 < 20 -> 3 years 2020-2022: 30 events >= 20
    assert rt.at[2022, "pooled_years"] == "2020\u20132022"
    assert rt.at[2022, "estimate_numerator"] == 30
    assert rt.at[2022, "estimate"] == pytest.approx(30 / 24000 * 1e5)
    # 2024: 3 < 20, 3 years 10+3+3 = 16 < 20 -> 5 years 2020-2024: 36 events
    assert rt.at[2024, "pooled_years"] == "2020\u20132024"
    assert rt.at[2024, "estimate_numerator"] == 36
    assert rt.at[2024, "estimate_denominator"] == 40000
    ref = poisson_rate_ci(36, 40000)
    assert rt.at[2024, "lower"] == pytest.approx(ref.lower)
    assert rt.at[2024, "upper"] == pytest.approx(ref.upper)
    # 2025: 25 events >= 20 -> annual
    assert rt.at[2025, "pooled_years"] == ""
    assert rt.at[2025, "estimate"] == pytest.approx(25 / 8000 * 1e5)
    assert rt.at[2025, "value"] == pytest.approx(25 / 8000 * 1e5)
    # reported annual value is never overwritten
    assert rt.at[2024, "value"] == pytest.approx(3 / 8000 * 1e5)


def test_pooling_uses_longest_window_when_never_enough_and_flags_it():
    rt = rate_table(_mmr_panel([1, 0, 2, 1, 0, 1]), CAT).set_index("year")
    assert rt.at[2025, "pooled_years"] == "2021\u20132025"
    assert rt.at[2025, "estimate_numerator"] == 4
    assert bool(rt.at[2025, "too_wide"]) is True
    assert bool(rt.at[2025, "rankable"]) is False
    no_pool = rate_table(_mmr_panel([1, 0, 2, 1, 0, 1]), CAT, pool=False).set_index("year")
    assert (no_pool["pooled_years"] == "").all()


def test_too_wide_and_rankable_rules():
    # Poisson with 25 events: relative width of Garwood 95% interval < 1 -> not too wide, rankable
    rt = rate_table(_mmr_panel([25]), CAT)
    ci = poisson_rate_ci(25, 8000)
    assert (ci.upper - ci.lower) / ci.estimate < 1
    assert not bool(rt["too_wide"].iloc[0]) and bool(rt["rankable"].iloc[0])
    # proportion 3/10: Wilson width > 20 points -> too wide; 950/1000 -> fine
    p = pd.DataFrame({"indicator": ["h.cov", "h.cov"], "year": [2023, 2024], "value": [30.0, 95.0],
                      "numerator": [3, 950], "denominator": [10, 1000]})
    rt = rate_table(p, CAT).set_index("year")
    assert rt.at[2023, "interval_method"] == "wilson"
    assert bool(rt.at[2023, "too_wide"]) and not bool(rt.at[2024, "too_wide"])
    ref = proportion_ci(950, 1000)
    assert rt.at[2024, "lower"] == pytest.approx(ref.lower * 100)
    assert rt.at[2024, "upper"] == pytest.approx(ref.upper * 100)


def test_no_counts_exact_counts_and_gross_ratios():
    p = pd.DataFrame({
        "indicator": ["h.cov", "l.shelter", "e.gross", "x.level"],
        "year": [2024] * 4,
        "value": [95.0, 2.0, 104.0, 83.0],
        "numerator": [np.nan, np.nan, 1040, np.nan],
        "denominator": [np.nan, np.nan, 1000, np.nan],
    })
    rt = rate_table(p, CAT).set_index("indicator")
    assert rt.at["h.cov", "interval_method"] == "none" and np.isnan(rt.at["h.cov", "lower"])
    assert pd.isna(rt.at["h.cov", "too_wide"]) and pd.isna(rt.at["h.cov", "rankable"])
    assert rt.at["l.shelter", "interval_method"] == "exact_count"
    assert rt.at["l.shelter", "lower"] == rt.at["l.shelter", "upper"] == 2.0
    assert bool(rt.at["l.shelter", "rankable"])
    # gross enrolment (upper bound 150 %) is not a binomial proportion: no interval, no error
    assert rt.at["e.gross", "interval_method"] == "none"
    assert rt.at["x.level", "interval_method"] == "none"


def test_rate_table_clopper_pearson_option():
    p = pd.DataFrame({"indicator": ["h.cov"], "year": [2024], "value": [95.0], "numerator": [95],
                      "denominator": [100]})
    rt = rate_table(p, CAT, proportion_method="clopper-pearson")
    ref = stats.binomtest(95, 100).proportion_ci(method="exact")
    assert rt["interval_method"].iloc[0] == "clopper_pearson"
    assert rt["lower"].iloc[0] == pytest.approx(ref.low * 100)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": 50.0}, "disagrees with numerator/denominator"),
        ({"numerator": 1200.0, "value": 120.0}, "exceeds denominator|outside the unit.s bounds"),
        ({"indicator": "nope"}, "indicator 'nope' .*expected an id of the catalogue"),
        ({"sex": "X"}, "row 1 \\(line 3\\), column sex: expected one of F, M, T, got 'X'"),
        ({"year": 2024.5}, "row 1 \\(line 3\\), column year: expected a whole year"),
        ({"value": "n/a"}, "row 1 \\(line 3\\), column value: expected a number, got 'n/a'"),
    ],
)
def test_bad_rows_are_named(change, message):
    p = pd.DataFrame({"indicator": ["h.cov", "h.cov"], "year": [2023, 2024], "value": [95.0, 95.0],
                      "numerator": [950.0, 950.0], "denominator": [1000.0, 1000.0],
                      "sex": ["T", "T"], "source": ["health_2024.xlsx", "health_2024.xlsx"]})
    p = p.astype({"value": object, "year": object, "indicator": object, "sex": object})
    for col, val in change.items():
        p.at[1, col] = val
    with pytest.raises(PanelError, match=message) as err:   # an FzError, also a ValueError
        rate_table(p, CAT)
    assert "row 1" in str(err.value) or "nope" in str(err.value) or "year 2024" in str(err.value)


def test_duplicate_keys_and_defaults():
    p = pd.DataFrame({"indicator": ["h.cov", "h.cov"], "year": [2024, 2024], "value": [95.0, 96.0]})
    with pytest.raises(ValueError, match="occurs 2 times; expected one row per indicator, year, area and sex"):
        rate_table(p, CAT)
    n = as_panel(p.iloc[:1]).frame
    assert n["area"].iloc[0] == "440117" and n["sex"].iloc[0] == "T"
    with pytest.raises(ValueError, match="required column"):
        rate_table(p.drop(columns="value"), CAT)


# --------------------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 5000), frac=st.floats(0, 1), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_proportion_intervals_contain_estimate_and_nest(n, frac, level):
    k = int(round(frac * n))
    for method in ("wilson", "clopper-pearson"):
        ci = proportion_ci(k, n, level=level, method=method)
        assert 0.0 <= ci.lower <= ci.estimate <= ci.upper <= 1.0
        wider = proportion_ci(k, n, level=0.999, method=method)
        assert wider.lower <= ci.lower + 1e-12 and wider.upper >= ci.upper - 1e-12


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 500), e=st.floats(100, 1e6))
def test_garwood_contains_rate_and_is_monotone_in_k(k, e):
    ci = poisson_rate_ci(k, e)
    assert ci.lower <= ci.estimate <= ci.upper
    nxt = poisson_rate_ci(k + 1, e)
    assert nxt.lower > ci.lower or k == 0 and nxt.lower > 0
    assert nxt.upper > ci.upper


def test_too_wide_boundary_17_vs_18_events():
    # Garwood 95 %: relative width 1.0186 at k = 17, 0.9878 at k = 18 (methods 1.4)
    assert bool(rate_table(_mmr_panel([17]), CAT)["too_wide"].iloc[0]) is True
    assert bool(rate_table(_mmr_panel([18]), CAT)["too_wide"].iloc[0]) is False
    # 18 events: not too wide, but fewer than 20 events -> still not rankable
    assert bool(rate_table(_mmr_panel([18]), CAT)["rankable"].iloc[0]) is False


def test_windows_pool_a_series_over_the_given_years_whatever_its_own_count():
    """A gender gap needs both sexes over the same years: windows= fixes them for a key (methods 4)."""
    p = pd.concat([_mmr_panel([2, 3, 2, 1, 2]).assign(sex="F"),
                   _mmr_panel([30, 25, 28, 22, 26]).assign(sex="M")])
    own = rate_table(p, CAT).set_index(["sex", "year"])
    assert own.at[("F", 2024), "pooled_years"] == "2020\u20132024" and own.at[("F", 2024), "pooled_from"] == 2020
    assert own.at[("M", 2024), "pooled_years"] == "" and pd.isna(own.at[("M", 2024), "pooled_from"])
    w = pd.DataFrame({"indicator": ["h.mmr"], "area": [codes.district()], "year": [2024], "first_year": [2020]})
    fixed = rate_table(p, CAT, windows=w).set_index(["sex", "year"])
    assert fixed.at[("M", 2024), "pooled_years"] == "2020\u20132024"
    assert fixed.at[("M", 2024), "estimate_numerator"] == 131
    assert fixed.at[("M", 2024), "estimate"] == pytest.approx(131 / 40000 * 1e5)
    assert fixed.at[("F", 2024), "estimate"] == pytest.approx(own.at[("F", 2024), "estimate"])
    # other keys follow the rule; first_year == year is the annual figure
    assert fixed.at[("F", 2023), "pooled_years"] == own.at[("F", 2023), "pooled_years"]
    annual = rate_table(p, CAT, windows=w.assign(first_year=2024)).set_index(["sex", "year"])
    assert annual.at[("F", 2024), "pooled_years"] == "" and annual.at[("F", 2024), "estimate"] == pytest.approx(25.0)
    with pytest.raises(ValueError, match="first_year"):
        rate_table(p, CAT, windows=w.drop(columns="first_year"))
