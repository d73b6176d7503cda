"""The vectorised projection engine behind :mod:`fzanalysis.trend` (docs/methods.md 5-7).

Everything here works on a :class:`~fzanalysis._trend_prep.SeriesMatrix` and returns arrays with
one entry per series; no Python loop runs over series (only over calendar years, at most ~30).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from scipy import stats

from fzanalysis._trend_core import (
    M_LINEAR, M_LOG, M_LOGIT, M_POISSON, METHODS, OLS_METHODS, effective_time,
    fit_lines, fit_poisson, inverse, t_cdf, t_quantile, transform, window_mask,
)
from fzanalysis._trend_prep import SeriesMatrix, settings

NO_FIT = -1


def poisson_eligible(M: SeriesMatrix) -> np.ndarray:
    """(S,) bool: may series i use the Poisson count model (methods.md 5.4)?

    Its unit is listed in ``trend.yaml: poisson.units`` and has a scale in ``data/units.csv``;
    every observed year has a numerator and a (positive) denominator; and, for a bounded unit
    (percent), the indicator is listed in ``poisson.event_proportions`` (proportions of *events*,
    e.g. mother-to-child HIV transmissions among HIV-positive mothers' births -- not shares of
    people holding posts, which are stocks: the same village heads counted year after year) and
    its pooled proportion is at most ``poisson.max_proportion``.
    """
    pconf = settings()["poisson"]
    obs = M.mask
    with np.errstate(invalid="ignore"):
        counts = ~obs | (np.isfinite(M.K) & np.isfinite(M.E) & (M.E > 0))
        k_sum = np.where(obs, M.K, 0.0).sum(axis=1)
        e_sum = np.where(obs, M.E, 0.0).sum(axis=1)
        prop = np.where(e_sum > 0, k_sum / e_sum, np.nan)
        events = np.isin(M.keys["indicator"].astype(str).to_numpy(),
                         [str(x) for x in (pconf.get("event_proportions") or [])])
        rare = ~np.isfinite(M.upper) | (events & (prop <= float(pconf["max_proportion"])))
    unit_ok = np.isin(M.unit.astype(str), [str(u) for u in pconf["units"]]) & np.isfinite(M.scale)
    return unit_ok & counts.all(axis=1) & obs.any(axis=1) & rare


def poisson_auto(M: SeriesMatrix) -> np.ndarray:
    """(S,) bool: does ``auto`` choose the Poisson model?  Eligible and mean events per observed
    year below ``poisson.auto_max_mean_events``."""
    obs = M.mask
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_k = np.where(obs, M.K, 0.0).sum(axis=1) / obs.sum(axis=1)
    return poisson_eligible(M) & (mean_k < float(settings()["poisson"]["auto_max_mean_events"]))


def eligible(M: SeriesMatrix) -> np.ndarray:
    """(S, 4) bool: may series i use linear / logit / log / poisson?

    A least-squares method is eligible when the unit lists it in ``trend.yaml: unit_methods``
    (units not listed: linear only), and for logit both bounds are finite, for log every observed
    value is > 0.  Poisson: :func:`poisson_eligible`.
    """
    conf = settings()["unit_methods"]
    S = len(M.unit)
    ok = np.zeros((S, len(METHODS)), dtype=bool)
    for unit in np.unique(M.unit.astype(str)):
        rows = M.unit == unit
        for m in conf.get(unit, ["linear"]):
            ok[rows, METHODS.index(m)] = True
    ok[:, M_LINEAR] = True
    ok[:, M_LOGIT] &= np.isfinite(M.lower) & np.isfinite(M.upper)
    with np.errstate(invalid="ignore"):
        ok[:, M_LOG] &= ~np.any(M.Y <= 0, axis=1)
    ok[:, M_POISSON] = poisson_eligible(M)
    return ok


def default_method(M: SeriesMatrix, ok: np.ndarray) -> np.ndarray:
    """Unit's default model: the first eligible one in ``unit_methods`` (else linear)."""
    conf = settings()["unit_methods"]
    out = np.full(len(M.unit), M_LINEAR)
    for unit in np.unique(M.unit.astype(str)):
        rows = M.unit == unit
        for m in reversed(conf.get(unit, ["linear"])):
            code = METHODS.index(m)
            sel = rows & ok[:, code]
            out[sel] = code
    return out


def model_scale(M: SeriesMatrix, mcode: np.ndarray) -> np.ndarray:
    """Z = g(Y) with each series' own model (broadcast over years)."""
    sq = settings()["logit_squeeze"]
    return transform(M.Y, mcode[:, None], M.lower[:, None], M.upper[:, None], squeeze=sq)


def bend_variance(h: np.ndarray, slope: np.ndarray, slope_se: np.ndarray, *,
                  calibrated: bool = True) -> np.ndarray:
    """Additive "bend" variance on the model scale (methods.md 5, 8).

    .. math:: \\tau^2(h) = c(h)\\,\\max\\{0,\\ \\hat b^2 - \\mathrm{se}(\\hat b)^2\\}

    with :math:`\\hat b` the fitted slope on the model scale and c(h) (years^2) the step table
    ``trend.yaml: interval_bend`` estimated on the real series
    (:func:`fzanalysis.trend.estimate_bend_variance`).  :math:`\\hat b^2 - \\mathrm{se}(\\hat b)^2`
    is the unbiased estimate of the squared trend, so the term does not grow with the series'
    year-to-year noise; it is in the model scale's own units, so one table serves every model
    and unit.  0 for h < 1 (fitted years) and when not ``calibrated``; beyond the last tabulated
    horizon the last factor.  Broadcasts its arguments.
    """
    h, b, sb = np.broadcast_arrays(np.asarray(h, dtype=float), np.asarray(slope, dtype=float),
                                   np.asarray(slope_se, dtype=float))
    if not calibrated:
        return np.zeros(h.shape)
    table = settings()["interval_bend"]
    keys = np.array(list(table), dtype=float)
    vals = np.array(list(table.values()), dtype=float)
    hh = np.nan_to_num(h, nan=0.0)
    idx = np.clip(np.searchsorted(keys, hh, side="right") - 1, 0, len(keys) - 1)
    c = np.where(hh >= keys[0], vals[idx], 0.0)
    with np.errstate(invalid="ignore"):
        trend2 = np.maximum(b * b - sb * sb, 0.0)
    return c * np.nan_to_num(trend2, nan=0.0)


def rolling_abs_error(
    M: SeriesMatrix, mcode: np.ndarray, *, horizon: int, min_train: int, window: int | None,
    damping: float = 1.0, upto: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of absolute forecast errors (original units) over rolling origins.

    For every observed year k (up to column ``upto``) with at least ``min_train`` observations
    up to k, fit on the data up to k (last ``window`` points) and forecast 1..``horizon`` years
    ahead; compare with the observed values (only those at columns <= ``upto``).
    """
    T = len(M.years)
    last = T - 1 if upto is None else upto
    mask = M.mask.copy()
    mask[:, last + 1:] = False
    Z = model_scale(M, mcode)
    ok = mask & np.isfinite(Z)
    count_up_to = np.cumsum(ok, axis=1)
    total = np.zeros(len(mcode))
    count = np.zeros(len(mcode))
    lo, hi = M.lower, M.upper
    for k in range(last):
        origin = ok[:, k] & (count_up_to[:, k] >= min_train)
        if not origin.any():
            continue
        train = ok.copy()
        train[:, k + 1:] = False
        train &= origin[:, None]
        fit = fit_lines(M.years, Z, window_mask(train, window))
        for h in range(1, horizon + 1):
            j = k + h
            if j > last:
                break
            hit = origin & ok[:, j]
            if not hit.any():
                continue
            t_eff = effective_time(float(M.years[j]), float(M.years[k]), damping)
            pred = inverse(fit.mean(np.full(len(mcode), t_eff)), mcode, lo, hi)
            err = np.abs(M.Y[:, j] - pred)
            good = hit & np.isfinite(err)
            total[good] += err[good]
            count[good] += 1
    return total, count


def choose_methods(M: SeriesMatrix, method: str, *, window: int | None, damping: float = 1.0,
                   upto: int | None = None) -> np.ndarray:
    """Model code per series: the requested one, or the automatic out-of-sample choice.

    ``auto``: the Poisson count model where :func:`poisson_auto` says so (rates from small
    counts, methods.md 5.4); otherwise, among the eligible least-squares models, the smallest mean
    absolute rolling-origin error (:func:`rolling_abs_error`, horizons 1..``auto_horizon``); the
    unit's default when fewer than ``auto_min_errors`` errors are available.  Ties keep the
    default.

    Raises
    ------
    ValueError
        When a named model is not eligible for some series (e.g. log with a zero value, poisson
        without counts).
    """
    ok = eligible(M)
    default = default_method(M, ok)
    if method != "auto":
        if method not in METHODS:
            raise ValueError(f"method must be 'auto' or one of {METHODS}, got {method!r}")
        code = METHODS.index(method)
        bad = ~ok[:, code]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            r = M.keys.iloc[i]
            why = ("it needs a rate unit listed in trend.yaml poisson.units, numerator and "
                   "denominator in every observed year and, for percent, an indicator listed in "
                   "trend.yaml poisson.event_proportions (events, not stocks such as office "
                   "holders) with a pooled proportion of at most poisson.max_proportion" if code == M_POISSON else
                   "its unit does not allow it, or its bounds are not finite (logit), or a value "
                   "is <= 0 (log)")
            raise ValueError(
                f"method {method!r} cannot be used for series ({r['indicator']}, {r['area']}, "
                f"{r['sex']}), unit {M.unit[i]!r}: {why}")
        return np.full(len(M.unit), code)
    # The automatic choice never takes logit for a series with a value at (or beyond) a bound:
    # the squeeze would put that point at |z| ~ 7.6, an outlier that dominates the fit and
    # makes the interval span almost the whole range (town shares with a 0 %, coverage at 100 %).
    # Such series use the linear model clipped to the bounds (methods.md section 6).
    sq = settings()["logit_squeeze"]
    with np.errstate(invalid="ignore"):
        span = (M.upper - M.lower)[:, None]
        p = (M.Y - M.lower[:, None]) / span
        at_bound = np.any((p <= sq) | (p >= 1.0 - sq), axis=1)
    ok = ok.copy()
    ok[:, M_LOGIT] &= ~at_bound
    default = default_method(M, ok)
    conf = settings()
    mae = np.full((len(M.unit), 3), np.inf)
    enough = np.zeros(len(M.unit), dtype=bool)
    for code in range(len(OLS_METHODS)):
        rows = ok[:, code]
        if not rows.any():
            continue
        mcode = np.where(rows, code, M_LINEAR)
        tot, cnt = rolling_abs_error(M, mcode, horizon=conf["auto_horizon"],
                                     min_train=conf["auto_min_train"], window=window,
                                     damping=damping, upto=upto)
        with np.errstate(invalid="ignore", divide="ignore"):
            mae[:, code] = np.where(rows & (cnt > 0), tot / cnt, np.inf)
        enough |= rows & (cnt >= conf["auto_min_errors"])
    best = np.argmin(mae, axis=1)
    default_mae = mae[np.arange(len(default)), default]
    best_mae = mae[np.arange(len(default)), best]
    chosen = np.where(best_mae < default_mae, best, default)
    return np.where(poisson_auto(M), M_POISSON, np.where(enough, chosen, default))


def satisfies(v: np.ndarray, comparator: np.ndarray, target: np.ndarray, tolerance: np.ndarray,
              lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Elementwise: does value ``v`` meet the numeric target?  False for directional comparators."""
    v = np.asarray(v, dtype=float)
    comp = np.asarray(comparator, dtype=object)
    tgt, lo, hi = (np.asarray(a, dtype=float) for a in (target, lower, upper))
    # masks computed on the (small) per-series arrays, then broadcast against v
    eq_ge = (comp == "==") & (tgt == hi)
    eq_le = (comp == "==") & (tgt == lo)
    is_ge = (comp == ">=") | eq_ge
    is_gt = comp == ">"
    is_le = (comp == "<=") | eq_le
    is_lt = comp == "<"
    is_near = (comp == "~=") | ((comp == "==") & ~eq_ge & ~eq_le)
    with np.errstate(invalid="ignore"):
        return (is_ge & (v >= tgt)) | (is_gt & (v > tgt)) | (is_le & (v <= tgt)) \
            | (is_lt & (v < tgt)) | (is_near & (np.abs(v - tgt) <= tolerance))


def _prob_ge(zc: np.ndarray, zhat: np.ndarray, sigma: np.ndarray, df: np.ndarray) -> np.ndarray:
    """P(Z >= zc) for Z = zhat + sigma * t_df (a point mass when sigma == 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (zc - zhat) / np.where(sigma > 0, sigma, 1.0)
        p = 1.0 - t_cdf(x, df)
        point = (zhat >= zc).astype(float)
    p = np.where(sigma > 0, p, point)
    return np.where(np.isnan(zhat) | np.isnan(sigma) | np.isnan(df), np.nan, p)


def p_meet(M: SeriesMatrix, mcode: np.ndarray, zhat: np.ndarray, sigma: np.ndarray,
           df: np.ndarray, slope: np.ndarray, slope_se: np.ndarray,
           reference: np.ndarray) -> np.ndarray:
    """Probability that the target-year value satisfies the target (docs/methods.md 5).

    The predictive distribution of z in the target year is ``zhat + sigma * t_df`` (``df`` =
    inf: normal, the Poisson model); targets are mapped to the model scale with the same
    transform g (bounds clipped, logit squeeze applied).  Directional targets: P(slope has the
    required sign) from ``slope / slope_se ~ t_df``; ``maintain``: P(y_T >= reference).
    """
    sq = settings()["logit_squeeze"]
    comp, lo, hi = M.comparator, M.lower, M.upper

    def g(c: np.ndarray) -> np.ndarray:
        return transform(c, mcode, lo, hi, squeeze=sq)

    def ge(c: np.ndarray) -> np.ndarray:
        """P(Y >= c) on the original scale, respecting the bounds."""
        p = _prob_ge(g(c), zhat, sigma, df)
        with np.errstate(invalid="ignore"):
            p = np.where(c <= lo, 1.0, p)
            p = np.where(c > hi, 0.0, p)
            p = np.where(((mcode == M_LOG) | (mcode == M_POISSON)) & (c <= 0), 1.0, p)
        return np.where(np.isnan(zhat), np.nan, p)

    tgt, tol = M.target, M.tolerance
    out = np.full(len(comp), np.nan)
    is_ge = (comp == ">=") | (comp == ">") | ((comp == "==") & (tgt == hi))
    is_le = (comp == "<=") | (comp == "<") | ((comp == "==") & (tgt == lo))
    is_near = (comp == "~=") | ((comp == "==") & ~is_ge & ~is_le & np.isfinite(tol))
    out = np.where(is_ge, ge(tgt), out)
    out = np.where(is_le, 1.0 - ge(tgt), out)
    with np.errstate(invalid="ignore"):
        near = ge(tgt - tol) - ge(tgt + tol)
    out = np.where(is_near, np.clip(near, 0.0, 1.0), out)
    # directional: P(slope has the required sign) under its t_df (normal) sampling distribution
    with np.errstate(invalid="ignore", divide="ignore"):
        tb = slope / slope_se
    p_up = np.where(np.isfinite(tb), t_cdf(tb, df), np.where(slope > 0, 1.0, 0.0))
    p_up = np.where(np.isnan(slope) | np.isnan(df), np.nan, p_up)
    out = np.where(comp == "increase", p_up, out)
    out = np.where(comp == "decrease", 1.0 - p_up, out)
    out = np.where(comp == "maintain", ge(reference), out)
    return out


def maintain_reference(M: SeriesMatrix, first_value: np.ndarray) -> np.ndarray:
    """Reference level of a ``maintain`` target, per series (docs/methods.md 5, p_meet).

    The catalogue's numeric target if it has one; else the series' own observed value in the
    catalogue's ``baseline_year`` (default ``trend.yaml: maintain_baseline_year`` = 2020), so that
    men's and totals' series are compared with their own level, not with the women's catalogue
    baseline; else the catalogue's ``baseline_value``; else the first point of the fitted window.
    """
    S, years = len(M.unit), M.years
    col = M.baseline_year - years[0]
    inside = np.isfinite(col) & (col >= 0) & (col < len(years))
    c = np.where(inside, col, 0).astype(int)
    own = np.where(inside, M.Y[np.arange(S), c], np.nan)
    ref = np.where(np.isfinite(own), own, np.where(np.isfinite(M.baseline), M.baseline, first_value))
    return np.where(np.isfinite(M.target), M.target, ref)


def path_moments(res: dict[str, Any], t: np.ndarray, *, calibrated: bool) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale on the model scale at calendar years ``t`` (shape (S, H)).

    Beyond each series' last observed year the damped effective time is used.  Least-squares
    rows: the OLS line and the predictive SE combined with the bend variance,
    :math:`\\sqrt{\\mathrm{se}^2 + \\tau^2(h)}` (prediction interval of the value); Poisson rows:
    the log expected rate (x scale) and its SE (interval of the underlying rate, no bend term:
    methods.md 5.4).
    """
    last = res["last_year"].astype(float)[:, None]
    te = effective_time(t, last, res["damping"])
    fit, pfit, pois = res["fit"], res["pfit"], res["pois"][:, None]
    z_o = fit.mean(te)
    s_o = np.sqrt(fit.se_pred(te) ** 2
                  + bend_variance(t - last, fit.b[:, None], fit.se_slope()[:, None],
                                  calibrated=calibrated))
    with np.errstate(invalid="ignore", divide="ignore"):
        z_p = pfit.mean(te) + np.log(res["scale"])[:, None]
    s_p = pfit.se_mean(te)
    return np.where(pois, z_p, z_o), np.where(pois, s_p, s_o)


def run(M: SeriesMatrix, *, method: str, target_year: int, level: float, window: int | None,
        damping: float = 1.0, calibrated: bool = True, poisson_window: Any = "default") -> dict[str, Any]:
    """Fit, project and score every series; return a dict of (S,)-arrays (see :func:`project`).

    ``poisson_window``: fit window of the Poisson rows (``"default"``: ``trend.yaml:
    poisson.window``, null = all observed years).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.8), got {level!r}")
    conf = settings()
    pconf = conf["poisson"]
    if poisson_window == "default":
        poisson_window = None if pconf["window"] is None else int(pconf["window"])
    S, years = len(M.unit), M.years
    rows = np.arange(S)
    mask = M.mask
    mcode = choose_methods(M, method, window=window, damping=damping)
    pois = mcode == M_POISSON
    # least-squares rows
    Z = model_scale(M, mcode)
    fmask_ols = window_mask(mask & np.isfinite(Z) & ~pois[:, None], window)
    fit = fit_lines(years, Z, fmask_ols)
    # Poisson rows (rates from small counts, methods.md 5.4)
    with np.errstate(invalid="ignore"):
        cmask = window_mask(mask & pois[:, None] & np.isfinite(M.K) & (M.E > 0), poisson_window)
    pfit = fit_poisson(years, M.K, M.E, cmask)
    fmask = np.where(pois[:, None], cmask, fmask_ols)
    n_obs = mask.sum(axis=1)
    col = np.arange(len(years))
    last_col = np.where(mask, col, -1).max(axis=1)
    first_col_fit = np.where(fmask, col, len(years)).min(axis=1)
    has = last_col >= 0
    last_year = np.where(has, years[np.maximum(last_col, 0)], -1)
    last_value = np.where(has, M.Y[rows, np.maximum(last_col, 0)], np.nan)
    first_value = M.Y[rows, np.minimum(first_col_fit, len(years) - 1)]
    min_fit = conf["min_points_fit"]
    enough_events = pfit.events >= float(pconf["min_events"])
    fitted_ok = np.where(pois, pfit.converged & enough_events & (pfit.n >= min_fit),
                         fit.n >= min_fit)

    h = target_year - last_year
    df = np.where(pois, np.inf, fit.df)
    q = t_quantile(level, df)
    scale = np.where(pois, M.scale, np.nan)
    res: dict[str, Any] = dict(fit=fit, pfit=pfit, pois=pois, scale=scale, damping=damping,
                               last_year=last_year, mcode=mcode)
    zhat, sigma = (a[:, 0] for a in path_moments(res, np.full((S, 1), float(target_year)),
                                                 calibrated=calibrated))
    lo, hi = M.lower, M.upper
    projected = inverse(zhat, mcode, lo, hi)
    lower = inverse(zhat - q * sigma, mcode, lo, hi)
    upper = inverse(zhat + q * sigma, mcode, lo, hi)
    slope = np.where(pois, pfit.b, fit.b)
    slope_se = np.where(pois, pfit.se_slope(), fit.se_slope())
    reference = maintain_reference(M, first_value)
    pm = p_meet(M, mcode, zhat, sigma, df, slope, slope_se, reference)

    # Poisson rows: fitted expected rate (x scale) on the grid of years
    with np.errstate(invalid="ignore", over="ignore"):
        rate_fit = np.exp(pfit.mean(np.broadcast_to(years.astype(float), (S, len(years))))
                          + np.log(scale)[:, None])
        rate_last = rate_fit[rows, np.maximum(last_col, 0)]

    # pace: OLS slope (units/year) over the last pace_window observed points; Poisson rows: the
    # slope of the fitted expected rate at the last observed year, b * rate(t_L)
    wconf = conf["warnings"]
    pfit_pace = fit_lines(years, M.Y, window_mask(mask, int(wconf["pace_window"])))
    pace_obs = np.where(pois, pfit.b * rate_last, pfit_pace.b)
    decline = significant_decline(years, M.Y, window_mask(mask, int(wconf["pace_window"])), pfit_pace)
    numeric = ~np.isin(M.comparator, ("increase", "decrease", "maintain"))
    base = np.where(pois, rate_last, last_value)
    with np.errstate(invalid="ignore", divide="ignore"):
        pace_req = np.where(numeric & (h > 0), (M.target - base) / h, np.nan)

    # year the central path first meets the target: observed values for least-squares rows,
    # the fitted expected rate for Poisson rows (one year with zero deaths proves nothing)
    status_path = np.where(pois[:, None], rate_fit, M.Y)
    status_mask = np.where(pois[:, None], fmask & fitted_ok[:, None], mask)
    already = satisfies(status_path, M.comparator[:, None], M.target[:, None],
                        M.tolerance[:, None], lo[:, None], hi[:, None]) & status_mask
    # earliest year from which every later (observed / fitted) point meets the target
    not_ok_after = np.where(status_mask & ~already, col, -1).max(axis=1)
    run_start = np.where(already & (col > not_ok_after[:, None]), col, len(years)).min(axis=1)
    last_met = has & already[rows, np.maximum(last_col, 0)]
    reached = np.where(last_met, years[np.minimum(run_start, len(years) - 1)].astype(float), np.nan)
    y_max = int(conf["year_reached_max"])
    start = int(last_year[has].min()) + 1 if has.any() else y_max + 1
    fut_years = np.arange(start, max(y_max, target_year) + 1)
    if len(fut_years):
        zpath, _ = path_moments(res, np.broadcast_to(fut_years.astype(float), (S, len(fut_years))),
                                calibrated=False)
        ypath = inverse(zpath, mcode[:, None], lo[:, None], hi[:, None])
        meets = satisfies(ypath, M.comparator[:, None], M.target[:, None], M.tolerance[:, None],
                          lo[:, None], hi[:, None]) & (fut_years[None, :] > last_year[:, None])
        first = np.where(meets, fut_years[None, :], 10**6).min(axis=1)
        reached = np.where(~last_met & (first < 10**6) & fitted_ok, first, reached)
    reached = np.where(pois & ~fitted_ok, np.nan, reached)

    # residual spread on the original scale (least-squares rows)
    fitted_y = inverse(fit.mean(np.broadcast_to(years.astype(float), (S, len(years)))),
                       mcode[:, None], lo[:, None], hi[:, None])
    r = np.where(fmask_ols, M.Y - fitted_y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid_sd = np.sqrt((r * r).sum(axis=1) / (fit.n - 2.0))
        # Poisson rows: Pearson X^2 test of overdispersion
        p_over = np.where(pfit.n > 2, stats.chi2.sf(pfit.chi2, np.maximum(pfit.n - 2.0, 1.0)),
                          np.nan)
    overdispersed = pois & fitted_ok & np.isfinite(p_over) \
        & (p_over < float(pconf["overdispersion_alpha"]))
    # longest run of missing years inside the fitted window
    gaps = np.zeros(S)
    prev = np.full(S, -1)
    for k in range(len(years)):
        here = fmask[:, k]
        gap = np.where(here & (prev >= 0), k - prev - 1, 0)
        gaps = np.maximum(gaps, gap)
        prev = np.where(here, k, prev)

    nan_all = ~fitted_ok
    for arr in (projected, lower, upper, pm, zhat, sigma):
        arr[nan_all] = np.nan
    pace_obs = np.where(pois & nan_all, np.nan, pace_obs)
    pace_req = np.where(pois & nan_all, np.nan, pace_req)
    names = np.array(METHODS, dtype=object)[mcode]
    return dict(
        method=np.where(fitted_ok | pois, names, "none"),
        mcode=mcode, fit=fit, pfit=pfit, pois=pois, scale=scale, fmask=fmask, n_points=n_obs,
        last_year=last_year, last_value=last_value, projected=projected, lower=lower,
        upper=upper, p_meet=pm, pace_observed=pace_obs, pace_required=pace_req,
        year_reached=reached, resid_sd=resid_sd, overdispersed=overdispersed,
        small_counts=pois & ~fitted_ok, events=np.where(pois, pfit.events, np.nan),
        dispersion=np.where(pois, pfit.dispersion, np.nan), max_gap=gaps,
        fitted_ok=fitted_ok, first_value=first_value, reference=reference, horizon=h, q=q,
        damping=damping, significant_decline=decline,
    )


def significant_decline(years: np.ndarray, Y: np.ndarray, wmask: np.ndarray, wfit: Any) -> np.ndarray:
    """Significant decline over the last ``pace_window`` observed values (docs/methods.md 7).

    The assessment's trend test for ``maintain`` (methods 2.4, ``fzanalysis.assess.trend_test`` /
    ``judge_direction``) on the same points, vectorised: OLS slope of the observed values, upper
    limit of its two-sided ``maintain_decline_level`` (0.95) t-interval below
    ``-maintain_decline_tolerance`` (0), with at least ``maintain_decline_min_points`` (4) points.
    A constant window (``numpy.allclose``) has slope 0 and no decline, as in ``trend_test``.
    """
    w = settings()["warnings"]
    with np.errstate(invalid="ignore"):
        hi = np.where(wmask, Y, -np.inf).max(axis=1)
        lo_ = np.where(wmask, Y, np.inf).min(axis=1)
        constant = (hi - lo_) <= 1e-8 + 1e-5 * np.abs(hi)
        upper = wfit.b + t_quantile(float(w["maintain_decline_level"]), wfit.df) \
            * np.where(wfit.s2 > 0, wfit.se_slope(), 0.0)
        return (wfit.n >= int(w["maintain_decline_min_points"])) & ~constant \
            & np.isfinite(upper) & (upper < -float(w["maintain_decline_tolerance"]))


def warning_flags(M: SeriesMatrix, res: dict[str, Any]) -> dict[str, np.ndarray]:
    """Boolean early-warning flags per series (docs/methods.md section 7)."""
    conf = settings()
    w = conf["warnings"]
    comp = M.comparator
    pm = res["p_meet"]
    threshold = np.where(comp == "maintain", float(w["at_risk_p_meet_maintain"]),
                         float(w["at_risk_p_meet"]))
    with np.errstate(invalid="ignore"):
        at_risk = np.isfinite(pm) & (pm < threshold)
    numeric = ~np.isin(comp, ("increase", "decrease", "maintain"))
    maintain = comp == "maintain"
    gap = np.where(numeric, np.abs(M.target - res["last_value"]),
                   np.abs(res["projected"] - res["last_value"]))
    # maintain: a flat series has no gap to speak of; the scale is the level held (the p_meet
    # reference, else the last value) and the ratio the smallest decline worth detecting
    level = np.abs(np.where(np.isfinite(res["reference"]) & (res["reference"] != 0),
                            res["reference"], res["last_value"]))
    limit = np.where(maintain, float(w["volatile_ratio_maintain"]) * level,
                     float(w["volatile_ratio"]) * gap)
    with np.errstate(invalid="ignore"):
        volatile = np.isfinite(res["resid_sd"]) & np.isfinite(limit) & (res["resid_sd"] > limit)
    # Poisson rows: year-to-year scatter of small counts is expected chance variation; volatile
    # only when the counts vary more than a Poisson process allows (overdispersion test)
    volatile = np.where(res["pois"], res["overdispersed"], volatile)
    tol = np.where(np.isfinite(M.tolerance), M.tolerance, 0.0)
    diff = M.target - res["last_value"]
    toward = np.where(np.abs(diff) > tol, np.sign(diff), 0.0)
    req = np.select(
        [np.isin(comp, (">=", ">", "increase", "maintain")), np.isin(comp, ("<=", "<", "decrease"))],
        [1.0, -1.0], default=toward)
    with np.errstate(invalid="ignore"):
        reversing = np.isfinite(res["pace_observed"]) & (req * res["pace_observed"] < 0)
    # maintain: only a significant decline (the assessment's test), not any downward wiggle
    reversing = np.where(maintain, res["significant_decline"], reversing)
    insufficient = (res["n_points"] < int(conf["min_points"])) \
        | (res["max_gap"] > int(conf["max_gap_years"])) | ~res["fitted_ok"]
    return {"at_risk": at_risk, "volatile": volatile, "reversing": reversing,
            "insufficient_data": insufficient}
