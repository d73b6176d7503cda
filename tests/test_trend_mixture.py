"""The two-part predictive of fzanalysis.trend (methods.md 5, 8.9 fifth follow-up).

The projection's predictive distribution is a mixture of the trend predictive and a naive "no
further trend" component; its median is the central projection, its quantiles the interval and
its region probabilities p_meet / p_direction.  Checked here: the quantiles invert the CDF, p_meet
is the mixture's probability of the target region, the weight follows the documented formula,
and weight 0 reproduces the single trend predictive exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fzanalysis.trend import engine, project, project_paths
from fzanalysis.trend.core import inverse, transform
from fzanalysis.trend.engine import (
    Mixture,
    mixture_cdf,
    mixture_moments,
    mixture_probability,
    mixture_quantile,
    naive_variance,
    no_trend_weight,
    region_probability,
    temper_probability,
)
from fzanalysis.trend.prep import settings
from fzanalysis.trend.projection import _DEFAULT, _run

#: The dev-chosen candidate of methods.md 8.9 (fifth follow-up); data/trend.yaml ships it off
#: (weight 0), so the tests of the mixture switch it on here.
CANDIDATE = {"weight": 0.5, "t_scale": 4.0, "spread": 2.0}


@pytest.fixture
def candidate(monkeypatch):
    conf = dict(settings())
    conf["no_trend"] = dict(CANDIDATE)
    monkeypatch.setattr(engine, "settings", lambda: conf)
    return conf


def panel1(years, values, ind="x") -> pd.DataFrame:
    return pd.DataFrame({"indicator": ind, "area": "440117", "sex": "T",
                         "year": np.asarray(years, int), "value": np.asarray(values, float)})


def cat1(unit: str, comparator: str = ">=", target: float = 0.0, ind="x") -> pd.DataFrame:
    return pd.DataFrame({"id": [ind], "unit": [unit], "comparator": [comparator],
                         "target": [target]})


def random_mixture(n: int, seed: int) -> Mixture:
    """Linear model scale, no bounds: both parts are plain (scaled, shifted) t distributions."""
    rng = np.random.default_rng(seed)
    return Mixture(w=rng.uniform(0, 0.95, n), z1=rng.normal(0, 3, n),
                   s1=rng.uniform(0.01, 5, n), df1=rng.uniform(1, 30, n),
                   y0=rng.normal(0, 3, n), s0=rng.uniform(0.001, 5, n),
                   df0=rng.choice([2.0, 6.0, np.inf], n), mcode=np.zeros(n, int),
                   lower=np.full(n, np.nan), upper=np.full(n, np.nan))


def test_mixture_quantile_inverts_its_cdf_on_a_bounded_logit_scale():
    """Percent series: logit trend part, naive part clipped to [0, 100] (a point mass at 100)."""
    rng = np.random.default_rng(11)
    n = 3000
    mix = Mixture(w=rng.uniform(0.05, 0.9, n), z1=rng.normal(3, 2, n), s1=rng.uniform(0.05, 2, n),
                  df1=rng.uniform(2, 10, n), y0=rng.uniform(80, 100, n), s0=rng.uniform(0.1, 8, n),
                  df0=np.full(n, 2.0), mcode=np.full(n, 1), lower=np.zeros(n),
                  upper=np.full(n, 100.0))
    for p in (0.1, 0.5, 0.9):
        q = mixture_quantile(p, mix)
        assert ((q >= 0) & (q <= 100)).all()
        inside = (q > 0) & (q < 100)
        assert inside.mean() > 0.5
        assert np.abs(mixture_cdf(q[inside], Mixture(*(a[inside] for a in mix))) - p).max() < 1e-8
        # at 0: the point mass of the clipped naive part takes the CDF past p there
        at0 = q == 0
        if at0.any():
            assert (mixture_cdf(q[at0], Mixture(*(a[at0] for a in mix))) >= p - 1e-9).all()
        # at 100: the mass below 100 is short of p (the rest sits at 100)
        at = q == 100
        if at.any():
            sub = Mixture(*(a[at] for a in mix))
            assert (mixture_cdf(np.full(at.sum(), 100.0 - 1e-9), sub) <= p + 1e-9).all()


@pytest.mark.parametrize("p", [0.01, 0.1, 0.5, 0.9, 0.99])
def test_mixture_quantile_inverts_its_cdf(p):
    mix = random_mixture(5000, seed=int(p * 100))
    q = mixture_quantile(p, mix)
    assert np.abs(mixture_cdf(q, mix) - p).max() < 1e-9
    # between the components' own quantiles (the bracket of the inversion)
    q1 = mix.z1 + mix.s1 * stats.t.ppf(p, mix.df1)
    q0 = mix.y0 + mix.s0 * np.where(np.isinf(mix.df0), stats.norm.ppf(p),
                                    stats.t.ppf(p, np.where(np.isinf(mix.df0), 1, mix.df0)))
    assert (q >= np.minimum(q0, q1) - 1e-9).all() and (q <= np.maximum(q0, q1) + 1e-9).all()


def test_mixture_cdf_is_the_weighted_component_cdfs_and_w0_is_the_trend_predictive():
    mix = random_mixture(200, seed=1)
    z = np.linspace(-8, 8, 200)
    want = (1 - mix.w) * stats.t.cdf((z - mix.z1) / mix.s1, mix.df1) + mix.w * np.where(
        np.isinf(mix.df0), stats.norm.cdf((z - mix.y0) / mix.s0),
        stats.t.cdf((z - mix.y0) / mix.s0, np.where(np.isinf(mix.df0), 1, mix.df0)))
    assert mixture_cdf(z, mix) == pytest.approx(want, abs=1e-12)
    zero = mix._replace(w=np.zeros(200))
    for p in (0.1, 0.5, 0.9):   # closed form, no iteration
        assert np.array_equal(mixture_quantile(p, zero), mix.z1 + mix.s1 * stats.t.ppf(p, mix.df1))


def test_no_trend_weight_formula(candidate):
    nt = candidate["no_trend"]
    w0, t0 = float(nt["weight"]), float(nt["t_scale"])
    b = np.array([0.0, 1.0, 2.0, 8.0, -8.0, 5.0, 0.0])
    sb = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    w = no_trend_weight(b, sb)
    t = np.array([0.0, 1.0, 2.0, 8.0, 8.0])
    assert w[:5] == pytest.approx(w0 / (1 + (t / t0) ** 2))
    assert w[5] == 0.0            # a perfect line: no doubt about its trend
    assert w[6] == pytest.approx(w0)   # a constant window: no trend at all
    assert (no_trend_weight(b, sb, calibrated=False) == 0).all()


def test_naive_variance_is_the_random_walk_variance_with_gaps():
    years = np.arange(2010, 2016)
    Z = np.array([[1.0, 2.0, np.nan, 4.0, 4.0, 3.0]])
    mask = np.isfinite(Z)
    # moves 1 (1 year), 2 (2 years), 0 (1 year), -1 (1 year): (1 + 4 + 0 + 1) / 5
    assert naive_variance(years, Z, mask)[0] == pytest.approx(6.0 / 5.0)


def _series():
    """Three series: a noisy flat share, a moderate rise, a steady line."""
    rng = np.random.default_rng(7)
    years = np.arange(2013, 2025)
    flat = 60 + rng.normal(0, 2.0, len(years))
    rise = 40 + 0.8 * (years - 2013) + rng.normal(0, 2.5, len(years))
    steady = 90 + 0.5 * (years - 2013) + rng.normal(0, 0.1, len(years))
    panel = pd.concat([panel1(years, flat, "flat"), panel1(years, rise, "rise"),
                       panel1(years, steady, "steady")], ignore_index=True)
    cat = pd.concat([cat1("percent", ">=", 62, "flat"), cat1("percent", ">=", 55, "rise"),
                     cat1("percent", "<=", 96, "steady")], ignore_index=True)
    return panel, cat


def test_p_meet_interval_and_centre_read_the_one_mixture(candidate):
    panel, cat = _series()
    M, res, level = _run(panel, cat, target_year=2030, level=None, method="auto",
                         window=_DEFAULT, damping=None, damping_weight=None, calibrated=True,
                         robust=True)
    out = project(panel, cat, target_year=2030).set_index("indicator")
    md = res.model
    assert (md.mix_w > 0).all()
    lo, hi = M.lower, M.upper
    mix = Mixture(*(np.asarray(a)[:, 0] for a in
                    mixture_moments(md, np.full((len(M.unit), 1), 2030.0), lo, hi)))
    ids = M.keys["indicator"].to_numpy()
    # centre = median, interval = the quantiles at (1 -+ level) / 2
    for col, p in (("projected", 0.5), ("lower", 0.5 - level / 2), ("upper", 0.5 + level / 2)):
        y = out.loc[ids, col].to_numpy(float)
        inside = (y > lo) & (y < hi)             # an end clipped at the bound (100 %) is the bound
        assert inside.sum() >= 2
        assert mixture_cdf(y, mix)[inside] == pytest.approx(np.full(inside.sum(), p),
                                                            abs=1e-6), col
        assert (mixture_quantile(p, mix) == y).all(), col
    # p_meet = (1 - w) P_trend(region) + w P_naive(region), each from region_probability
    r_lo = np.where(cat.set_index("id").loc[ids, "comparator"] == ">=",
                    cat.set_index("id").loc[ids, "target"], -np.inf)
    r_hi = np.where(cat.set_index("id").loc[ids, "comparator"] == "<=",
                    cat.set_index("id").loc[ids, "target"], np.inf)
    from fzanalysis.trend.engine import fit_all
    step = fit_all(M, md.mcode, window=int(settings()["window"]))[4]
    kw = dict(mcode=md.mcode, lower=lo, upper=hi, step=step)
    p1 = region_probability(r_lo, r_hi, zhat=mix.z1, sigma=mix.s1, df=mix.df1, **kw)
    # the naive part: a linear, bound-clipped predictive in the indicator's units
    kw0 = {**kw, "mcode": np.zeros(3, int)}
    p0 = region_probability(r_lo, r_hi, zhat=mix.y0, sigma=mix.s0, df=mix.df0, **kw0)
    want = (1 - mix.w) * p1 + mix.w * p0
    # reported tempered for the horizon 2030 - 2024 (methods.md 8.9, sixth follow-up)
    assert out.loc[ids, "p_meet"].to_numpy(float) == pytest.approx(temper_probability(want, 6),
                                                                   abs=1e-12)
    assert mixture_probability(r_lo, r_hi, mix=mix, step=step) == pytest.approx(want, abs=1e-12)
    # coherence: p_meet >= 0.5 iff the central projection meets the one-sided target
    meets = np.where(r_hi < np.inf, out.loc[ids, "projected"] <= r_hi,
                     out.loc[ids, "projected"] >= r_lo)
    assert ((out.loc[ids, "p_meet"] >= 0.5).to_numpy() == meets).all()
    # the paths read the same predictive: their target-year row is project()'s
    paths = project_paths(panel, cat, target_year=2030)
    last = paths[(paths["kind"] == "projected") & (paths["year"] == 2030)].set_index("indicator")
    for col in ("value", "lower", "upper"):
        src = "projected" if col == "value" else col
        assert last.loc[ids, col].to_numpy(float) == pytest.approx(
            out.loc[ids, src].to_numpy(float), rel=1e-9)


def test_weight_zero_reproduces_the_single_trend_predictive(monkeypatch):
    """no_trend.weight = 0: projection, interval and p_meet are the trend predictive's own
    closed forms (the engine before the mixture)."""
    panel, cat = _series()
    conf = dict(settings())
    conf["no_trend"] = {**CANDIDATE, "weight": 0.0}
    monkeypatch.setattr(engine, "settings", lambda: conf)
    M, res, level = _run(panel, cat, target_year=2030, level=None, method="auto",
                         window=_DEFAULT, damping=None, damping_weight=None, calibrated=True,
                         robust=True)
    md = res.model
    assert (md.mix_w == 0).all()
    z1, s1 = (a[:, 0] for a in engine.path_moments(md, np.full((len(M.unit), 1), 2030.0)))
    q = stats.t.ppf(0.5 + level / 2, md.df)
    lo, hi = M.lower, M.upper
    assert res.projected == pytest.approx(inverse(z1, md.mcode, lo, hi), abs=1e-12)
    assert res.lower == pytest.approx(inverse(z1 - q * s1, md.mcode, lo, hi), abs=1e-12)
    assert res.upper == pytest.approx(inverse(z1 + q * s1, md.mcode, lo, hi), abs=1e-12)
    c = cat.set_index("id").loc[M.keys["indicator"].to_numpy()]
    up = c["comparator"].to_numpy() == ">="
    # the target as the published figure meets it (engine.published_edges: half a step short)
    tg = c["target"].to_numpy(float)
    step = engine.resolution(M.Y, M.mask)
    e_lo, e_hi, _, _ = engine.published_edges(np.where(up, tg, -np.inf), np.where(up, np.inf, tg), lower=lo,
                                        upper=hi, step=step, **dict(zip(("at_lower", "at_upper"),
                                        engine.published_at_bounds(M, step, md.pois))))
    g = transform(np.where(up, e_lo, e_hi), md.mcode, lo, hi, squeeze=settings()["logit_squeeze"])
    p = np.where(up, 1 - stats.t.cdf((g - z1) / s1, md.df), stats.t.cdf((g - z1) / s1, md.df))
    assert res.p_meet == pytest.approx(temper_probability(p, 6), abs=1e-12)


def test_shipped_default_is_the_single_trend_predictive():
    """data/trend.yaml ships the two-part predictive off (methods.md 8.9 fifth follow-up: it
    took the steps family's validation coverage at h = 10 below 0.70)."""
    assert float(settings()["no_trend"]["weight"]) == 0.0
    panel, cat = _series()
    M, res, _ = _run(panel, cat, target_year=2030, level=None, method="auto", window=_DEFAULT,
                     damping=None, damping_weight=None, calibrated=True, robust=True)
    assert (res.model.mix_w == 0).all()


def test_candidate_by_hand(candidate):
    """The two-part predictive by hand on the 5-point line of test_trend (years, linear).

    y = 50 + 2 (year - 2018) + (1, -2, 0, 2, -1): b = 2, s^2 = 10/3, se_b^2 = 1/3, whole numbers
    (rounding step 1).  Trend part as in test_trend.test_calibrated_interval_adds_bend_variance
    (centre 69 at the shrunk effective time x0 = 9.5, sigma^2 = se^2 + floor + c(10) (b^2 -
    se_b^2), Welch-Satterthwaite df).  Naive part: the fitted level at 2020, 54, variance
    s^2 (1 + 1/5 + 4/10) + (1/12)(1 + 10) + spread x 10 x 8.5 (mean squared annual move
    (1 + 16 + 16 + 1)/4), t_{nu_b}; weight w0 / (1 + (t/t0)^2), t = 2 / sqrt(1/3).
    """
    years = np.arange(2016, 2021)
    y = 50 + 2 * (years - 2018) + np.array([1.0, -2.0, 0.0, 2.0, -1.0])
    c10 = candidate["interval_bend"][10]
    nu_b = candidate["predictive_df"]
    k = 4.0 / (4.0 + candidate["trend_shrink"] * 10 / 3 / 10)
    x0 = 2 + k * 10
    se2 = 10 / 3 * (1 + 1 / 5 + x0**2 / 10) + 11 / 12
    tau2 = c10 * (2.0**2 - 10 / 3 / 10)
    nu = (se2 + tau2) ** 2 / (se2**2 / 3 + tau2**2 / nu_b)
    nt = candidate["no_trend"]
    w = nt["weight"] / (1 + (2 / np.sqrt(1 / 3) / nt["t_scale"]) ** 2)
    s0 = np.sqrt(10 / 3 * 1.6 + 11 / 12 + nt["spread"] * 10 * 8.5)
    one = np.ones(1)
    mix = Mixture(w=w * one, z1=(50 + 2 * x0) * one, s1=np.sqrt(se2 + tau2) * one,
                  df1=nu * one, y0=54.0 * one, s0=s0 * one, df0=float(nu_b) * one,
                  mcode=np.zeros(1, int), lower=np.full(1, np.nan), upper=np.full(1, np.nan))
    cat = pd.DataFrame({"id": ["x"], "unit": ["years"], "comparator": [">="], "target": [60.0]})
    r = project(panel1(years, y), cat, method="linear", damping=1.0).iloc[0]
    assert 50 + 2 * x0 == pytest.approx(69.0)
    for col, p in (("projected", 0.5), ("lower", 0.1), ("upper", 0.9)):
        assert r[col] == pytest.approx(mixture_quantile(p, mix)[0], abs=1e-8), col
    assert 54 < r["projected"] < 69        # the naive part pulls the centre towards the level
    # integer figures: ">= 60" is met by a value of 59.5 or more (published as 60)
    assert r["p_meet"] == pytest.approx(temper_probability(
        (1 - w) * (1 - stats.t.cdf((59.5 - 69) / np.sqrt(se2 + tau2), nu))
        + w * (1 - stats.t.cdf((59.5 - 54) / s0, nu_b)), 2030 - years[-1]), abs=1e-12)
    # p_direction (increase): beyond today's fitted level 54
    rd = project(panel1(years, y), cat.assign(comparator="increase", target=np.nan),
                 method="linear", damping=1.0).iloc[0]
    assert rd["p_direction"] == pytest.approx(temper_probability(
        (1 - w) * (1 - stats.t.cdf((54 - 69) / np.sqrt(se2 + tau2), nu)) + w * 0.5,
        2030 - years[-1]), abs=1e-12)


# --------------------------------------------------------------------------------------------
# tempering of the probabilities (methods.md 5, 8.9 sixth follow-up)

def test_temper_probability_map():
    eps = float(settings()["probability_temper"]["epsilon"])
    full = float(settings()["probability_temper"]["full_horizon"])
    assert eps > 0
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    # full strength from full_horizon on; the midpoint 1/2 is fixed, order is kept
    out = temper_probability(p, full)
    assert out == pytest.approx(eps + (1 - 2 * eps) * p, abs=1e-15)
    assert out[2] == 0.5 and (np.diff(out) > 0).all()
    assert temper_probability(p, 2 * full) == pytest.approx(out, abs=1e-15)
    # ramps in linearly; fitted years and uncalibrated fits unchanged
    assert temper_probability(0.0, full / 2) == pytest.approx(eps / 2)
    assert (temper_probability(p, 0) == p).all() and (temper_probability(p, -3) == p).all()
    assert (temper_probability(p, 10, calibrated=False) == p).all()
    assert np.isnan(temper_probability(np.nan, 10))


def test_tempering_keeps_on_track_iff_central_projection_meets():
    """p_meet >= 0.5 iff the central projection meets, p_direction likewise, and no reported
    probability reaches 0 or 1 five or more years ahead."""
    panel, cat = _series()
    eps = float(settings()["probability_temper"]["epsilon"])
    out = project(panel, cat, target_year=2030).set_index("indicator")
    comp = cat.set_index("id").loc[out.index, "comparator"]
    target = cat.set_index("id").loc[out.index, "target"]
    meets = np.where(comp == "<=", out["projected"] <= target, out["projected"] >= target)
    assert ((out["p_meet"] >= 0.5).to_numpy() == meets).all()
    assert out["p_meet"].between(eps, 1 - eps).all()
    d = project(panel, cat.assign(comparator="increase", target=np.nan), target_year=2030)
    assert d["p_direction"].between(eps, 1 - eps).all()
    untempered = project(panel, cat, target_year=2030, calibrated=False)
    assert untempered["p_meet"].min() < eps   # the textbook line is not tempered


def test_probability_number_never_contradicts_its_words():
    """The number shown beside 很可能 / 有可能 / 难以 never rounds across a band edge (a p of
    0.496 is 难以 and is shown as 49 %, not 50 %)."""
    from fzanalysis.narrative import probability_words
    from fzanalysis.trend import probability_band_code, probability_percent

    edges = sorted(float(v) for v in settings()["probability_band"].values())
    for p in np.r_[np.linspace(0, 1, 2001), [0.4951, 0.4999, 0.7951, 0.7999, 0.004, 0.996]]:
        code = probability_band_code(p)
        shown = probability_percent(p)
        n = {"<1": 0.0, ">99": 100.0}.get(shown, None)
        n = float(shown) if n is None else n
        assert probability_band_code(min(n / 100, 1.0)) == code or shown in ("<1", ">99"), (p, shown)
        assert abs(n / 100 - p) < 0.0101 or p in edges, (p, shown)
    assert probability_percent(0.496) == "49" and probability_percent(0.5) == "50"
    assert probability_words(0.496, "direction") == "难以保持所需方向（概率49%）"
    assert probability_words(0.7969, lang="en") == "possibly meeting the target (probability 79%)"
    assert probability_percent(np.nan) == "" and probability_band_code(np.nan) == ""


def test_a_target_at_the_bound_reads_the_series_own_history():
    """">= 100 %" is "published as 100" (within half a step) only for a series that has been
    published at 100 %; a source capped at 99 (WUENIC) gets the bound itself, so its p_meet is
    at the tempering floor; a rate that has fallen to 0 keeps "<= 0" reachable (issue 11)."""
    years = np.arange(2013, 2025)
    capped = [95, 96, 97, 97, 98, 98, 99, 99, 99, 99, 99, 99]
    reached = [95, 96, 97, 97, 98, 98, 99, 100, 99, 100, 99, 99]
    panel = pd.concat([panel1(years, capped, "capped"), panel1(years, reached, "reached")])
    cat = pd.concat([cat1("percent", ">=", 100.0, "capped"), cat1("percent", ">=", 100.0, "reached")])
    out = project(panel, cat, target_year=2030).set_index("indicator")
    eps = float(settings()["probability_temper"]["epsilon"])
    assert eps <= out.loc["capped", "p_meet"] < eps + 0.05
    assert out.loc["reached", "p_meet"] > out.loc["capped", "p_meet"] + 0.1
    # the same series with the same values but a target below the bound: no difference in kind
    below = project(panel, cat.assign(target=98.0), target_year=2030).set_index("indicator")
    assert (below["p_meet"] > 0.5).all()
    # a rate that has been published at 0: "<= 0" keeps a probability above the floor
    mmr = panel1(years, [20, 15, 12, 10, 9, 7, 5, 4, 2, 0, 0, 0], "mmr")
    r = project(mmr, cat1("per_100k", "<=", 0.0, "mmr"), target_year=2030).iloc[0]
    assert r["p_meet"] > eps + 0.05


def test_target_at_a_published_bound_is_judged_as_published_everywhere():
    """">= 100 %" for a series published at 100: the central projection 99.87 is "published as
    100", so projected_meets, p_meet >= 0.5 and year_reached agree (no 'on track' beside a
    projection that 'misses')."""
    years = np.arange(2013, 2025)
    reached = [95, 96, 97, 97, 98, 98, 99, 100, 99, 100, 99, 99]
    r = project(panel1(years, reached), cat1("percent", ">=", 100.0), target_year=2030).iloc[0]
    assert 99.5 <= r["projected"] < 100
    assert bool(r["projected_meets"]) and r["p_meet"] >= 0.5 and not pd.isna(r["year_reached"])
    capped = [95, 96, 97, 97, 98, 98, 99, 99, 99, 99, 99, 99]
    c = project(panel1(years, capped), cat1("percent", ">=", 100.0), target_year=2030).iloc[0]
    assert not bool(c["projected_meets"]) and c["p_meet"] < 0.5 and pd.isna(c["year_reached"])


@pytest.mark.parametrize("lo, hi, lo_open, hi_open, step, at, want", [
    (96.0, np.inf, False, False, 1.0, True, (95.5, np.inf)),       # ">= 96", integer figures
    (96.0, np.inf, True, False, 1.0, True, (96.5, np.inf)),        # "> 96": 97 is the first
    (-np.inf, 7.5, False, False, 1.0, True, (-np.inf, 7.5)),       # "<= 7.5": 7 is the last
    (-np.inf, 7.5, False, True, 1.0, True, (-np.inf, 7.5)),        # "< 7.5": 7 as well
    (96.0, np.inf, False, False, 0.01, True, (95.995, np.inf)),    # two decimals
    (-np.inf, 0.0, False, False, 1.0, True, (-np.inf, 0.5)),       # "<= 0", published at 0
    (0.0, np.inf, True, False, 1.0, True, (0.5, np.inf)),          # "> 0", its complement
    (-np.inf, 0.0, False, False, 1.0, False, (-np.inf, 0.0)),      # never published at 0
    (100.0, np.inf, False, False, 1.0, True, (99.5, np.inf)),      # ">= 100 %", published at 100
    (100.0, np.inf, False, False, 1.0, False, (100.0, np.inf)),    # a source capped at 99
    (99.4, np.inf, False, False, 1.0, False, (100.0, np.inf)),     # needs 100, which it never publishes
    (99.4, np.inf, False, False, 1.0, True, (99.5, np.inf)),
    (0.0, np.inf, False, False, 1.0, True, (-0.5, np.inf)),        # ">= 0": no constraint
])
def test_published_edges_known_answers(lo, hi, lo_open, hi_open, step, at, want):
    """Each edge half a step short of the first publishable figure meeting the target
    (methods.md 5 (5)); a bound the source never publishes is read as itself."""
    e_lo, e_hi, _, _ = engine.published_edges(np.array([lo]), np.array([hi]), lower=np.array([0.0]),
                                        upper=np.array([100.0]), step=np.array([step]),
                                        at_lower=np.array([at]), at_upper=np.array([at]),
                                        lo_open=np.array([lo_open]), hi_open=np.array([hi_open]))
    assert (e_lo[0], e_hi[0]) == (pytest.approx(want[0]), pytest.approx(want[1]))


def test_a_projection_published_as_the_target_meets_it():
    """Integer figures rising towards 96: p_meet >= 0.5 exactly when the projection, rounded as
    published, meets ">= 96", and then year_reached is no later than the target year."""
    for end in range(90, 99):
        vals = np.round(np.linspace(end - 7, end, 8))
        r = project(pd.DataFrame({"indicator": "x", "year": range(2017, 2025), "value": vals}),
                    pd.DataFrame({"id": ["x"], "unit": ["percent"], "comparator": [">="],
                                  "target": [96.0]})).iloc[0]
        assert bool(r["projected_meets"]) == (r["p_meet"] >= 0.5), r
        assert bool(r["projected_meets"]) == (r["projected"] >= 95.5), r  # published as 96 or more
        if r["projected_meets"]:
            assert r["year_reached"] <= 2030


def test_a_capped_bound_is_read_as_itself_on_both_sides():
    """A source never published at 100 (or 0): ">= 100" is P(value >= 100) and its complement
    "< 100" (and "<= 99") P(value < 100), an open edge at the bound; likewise "<= 0" / "> 0"."""
    kw = dict(lower=np.array([0.0] * 4), upper=np.array([100.0] * 4), step=np.ones(4),
              at_lower=np.zeros(4, bool), at_upper=np.zeros(4, bool))
    lo = np.array([100.0, -np.inf, -np.inf, 0.0])
    hi = np.array([np.inf, 100.0, 0.0, np.inf])
    e_lo, e_hi, lo_open, hi_open = engine.published_edges(
        lo, hi, lo_open=np.array([False, False, False, True]),
        hi_open=np.array([False, True, False, False]), **kw)
    assert e_lo.tolist() == [100.0, -np.inf, -np.inf, 0.0]
    assert e_hi.tolist() == [np.inf, 100.0, 0.0, np.inf]
    assert lo_open.tolist() == [False, False, False, True]
    assert hi_open.tolist() == [False, True, False, False]
    # "<= 99" needs the same edge as "< 100"
    e = engine.published_edges(np.array([-np.inf]), np.array([99.0]), lower=np.array([0.0]),
                               upper=np.array([100.0]), step=np.ones(1), at_upper=np.zeros(1, bool))
    assert (e[1][0], bool(e[3][0])) == (100.0, True)
