"""The vectorised projection engine behind :mod:`fzanalysis.trend` (docs/methods.md 5-7).

Everything here works on a :class:`~fzanalysis._trend_prep.SeriesMatrix` and returns arrays with
one entry per series; no Python loop runs over series (only over calendar years, at most ~30).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fzanalysis._trend_core import (
    M_LINEAR, M_LOG, M_LOGIT, METHODS, Fit, effective_time, fit_lines, inverse, t_cdf,
    t_quantile, transform, window_mask,
)
from fzanalysis._trend_prep import SeriesMatrix, settings

NO_FIT = -1


def eligible(M: SeriesMatrix) -> np.ndarray:
    """(S, 3) bool: may series i use linear / logit / log?

    A method is eligible when the unit lists it in ``trend.yaml: unit_methods`` (units not listed:
    linear only), and for logit both bounds are finite, for log every observed value is > 0.
    """
    conf = settings()["unit_methods"]
    S = len(M.unit)
    ok = np.zeros((S, 3), dtype=bool)
    for unit in np.unique(M.unit.astype(str)):
        rows = M.unit == unit
        for m in conf.get(unit, ["linear"]):
            ok[rows, METHODS.index(m)] = True
    ok[:, M_LINEAR] = True
    ok[:, M_LOGIT] &= np.isfinite(M.lower) & np.isfinite(M.upper)
    with np.errstate(invalid="ignore"):
        ok[:, M_LOG] &= ~np.any(M.Y <= 0, axis=1)
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


def inflation(h: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
    """Interval inflation k(h) from ``trend.yaml`` (1 for h <= 0 or when not calibrated)."""
    h = np.asarray(h, dtype=float)
    if not calibrated:
        return np.ones_like(h)
    table = settings()["interval_inflation"]
    keys = np.array(list(table), dtype=float)
    vals = np.array(list(table.values()), dtype=float)
    idx = np.clip(np.searchsorted(keys, np.nan_to_num(h, nan=1.0), side="right") - 1, 0, len(keys) - 1)
    return np.where(h >= keys[0], vals[idx], 1.0)


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

    ``auto``: among eligible models, the smallest mean absolute rolling-origin error
    (:func:`rolling_abs_error`, horizons 1..``auto_horizon``); the unit's default when fewer than
    ``auto_min_errors`` errors are available.  Ties keep the default.

    Raises
    ------
    ValueError
        When a named model is not eligible for some series (e.g. log with a zero value).
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
            raise ValueError(
                f"method {method!r} cannot be used for series ({r['indicator']}, {r['area']}, "
                f"{r['sex']}): unit {M.unit[i]!r} does not allow it, or its bounds are not finite "
                "(logit), or a value is <= 0 (log)")
        return np.full(len(M.unit), code)
    conf = settings()
    mae = np.full((len(M.unit), 3), np.inf)
    enough = np.zeros(len(M.unit), dtype=bool)
    for code in range(3):
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
    return np.where(enough, chosen, default)


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


def p_meet(M: SeriesMatrix, mcode: np.ndarray, fit: Fit, zhat: np.ndarray, sigma: np.ndarray,
           first_value: np.ndarray) -> np.ndarray:
    """Probability that the target-year value satisfies the target (docs/methods.md 5.3).

    The predictive distribution of z in the target year is ``zhat + sigma * t_{n-2}``; targets are
    mapped to the model scale with the same transform g (bounds clipped, logit squeeze applied).
    """
    sq = settings()["logit_squeeze"]
    comp, lo, hi = M.comparator, M.lower, M.upper
    df = fit.df

    def g(c: np.ndarray) -> np.ndarray:
        return transform(c, mcode, lo, hi, squeeze=sq)

    def ge(c: np.ndarray) -> np.ndarray:
        """P(Y >= c) on the original scale, respecting the bounds."""
        p = _prob_ge(g(c), zhat, sigma, df)
        with np.errstate(invalid="ignore"):
            p = np.where(c <= lo, 1.0, p)
            p = np.where(c > hi, 0.0, p)
            p = np.where((mcode == M_LOG) & (c <= 0), 1.0, p)
        return p

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
    # directional: P(slope has the required sign) under the t_{n-2} sampling distribution
    with np.errstate(invalid="ignore", divide="ignore"):
        tb = fit.b / fit.se_slope()
    p_up = np.where(np.isfinite(tb), t_cdf(tb, df), np.where(fit.b > 0, 1.0, 0.0))
    p_up = np.where(np.isnan(fit.b) | np.isnan(df), np.nan, p_up)
    out = np.where(comp == "increase", p_up, out)
    out = np.where(comp == "decrease", 1.0 - p_up, out)
    ref = np.where(np.isfinite(tgt), tgt, np.where(np.isfinite(M.baseline), M.baseline, first_value))
    out = np.where(comp == "maintain", ge(ref), out)
    return out


def run(M: SeriesMatrix, *, method: str, target_year: int, level: float, window: int | None,
        damping: float = 1.0, calibrated: bool = True) -> dict[str, Any]:
    """Fit, project and score every series; return a dict of (S,)-arrays (see :func:`project`)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.8), got {level!r}")
    conf = settings()
    S, years = len(M.unit), M.years
    mask = M.mask
    mcode = choose_methods(M, method, window=window, damping=damping)
    Z = model_scale(M, mcode)
    fmask = window_mask(mask & np.isfinite(Z), window)
    fit = fit_lines(years, Z, fmask)
    n_obs = mask.sum(axis=1)
    col = np.arange(len(years))
    last_col = np.where(mask, col, -1).max(axis=1)
    first_col_fit = np.where(fmask, col, len(years)).min(axis=1)
    has = last_col >= 0
    last_year = np.where(has, years[np.maximum(last_col, 0)], -1)
    last_value = np.where(has, M.Y[np.arange(S), np.maximum(last_col, 0)], np.nan)
    first_value = M.Y[np.arange(S), np.minimum(first_col_fit, len(years) - 1)]
    fitted_ok = fit.n >= conf["min_points_fit"]

    h = target_year - last_year
    t_eff = effective_time(np.full(S, float(target_year)), last_year.astype(float), damping)
    sigma = fit.se_pred(t_eff) * inflation(h, calibrated=calibrated)
    zhat = fit.mean(t_eff)
    q = t_quantile(level, fit.df)
    lo, hi = M.lower, M.upper
    projected = inverse(zhat, mcode, lo, hi)
    lower = inverse(zhat - q * sigma, mcode, lo, hi)
    upper = inverse(zhat + q * sigma, mcode, lo, hi)
    pm = p_meet(M, mcode, fit, zhat, sigma, first_value)

    # pace: OLS slope (units/year) over the last pace_window observed points
    wconf = conf["warnings"]
    pfit = fit_lines(years, M.Y, window_mask(mask, int(wconf["pace_window"])))
    pace_obs = pfit.b
    numeric = ~np.isin(M.comparator, ("increase", "decrease", "maintain"))
    with np.errstate(invalid="ignore", divide="ignore"):
        pace_req = np.where(numeric & (h > 0), (M.target - last_value) / h, np.nan)

    # year the central path first meets the target
    already = satisfies(M.Y, M.comparator[:, None], M.target[:, None], M.tolerance[:, None],
                        lo[:, None], hi[:, None]) & mask
    # earliest observed year from which every later observation meets the target
    not_ok_after = np.where(mask & ~already, col, -1).max(axis=1)
    run_start = np.where(already & (col > not_ok_after[:, None]), col, len(years)).min(axis=1)
    last_met = has & already[np.arange(S), np.maximum(last_col, 0)]
    reached = np.where(last_met, years[np.minimum(run_start, len(years) - 1)].astype(float), np.nan)
    y_max = int(conf["year_reached_max"])
    start = int(last_year[has].min()) + 1 if has.any() else y_max + 1
    fut_years = np.arange(start, max(y_max, target_year) + 1)
    if len(fut_years):
        zpath = fit.mean(effective_time(
            np.broadcast_to(fut_years.astype(float), (S, len(fut_years))),
            last_year.astype(float)[:, None], damping))
        ypath = inverse(zpath, mcode[:, None], lo[:, None], hi[:, None])
        meets = satisfies(ypath, M.comparator[:, None], M.target[:, None], M.tolerance[:, None],
                          lo[:, None], hi[:, None]) & (fut_years[None, :] > last_year[:, None])
        first = np.where(meets, fut_years[None, :], 10**6).min(axis=1)
        reached = np.where(~last_met & (first < 10**6) & fitted_ok, first, reached)

    # residual spread on the original scale
    fitted_y = inverse(fit.mean(np.broadcast_to(years.astype(float), (S, len(years)))),
                       mcode[:, None], lo[:, None], hi[:, None])
    r = np.where(fmask, M.Y - fitted_y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid_sd = np.sqrt((r * r).sum(axis=1) / (fit.n - 2.0))
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
    return dict(
        method=np.where(fitted_ok, np.array(METHODS, dtype=object)[mcode], "none"),
        mcode=mcode, fit=fit, fmask=fmask, n_points=n_obs, last_year=last_year,
        last_value=last_value, projected=projected, lower=lower, upper=upper, p_meet=pm,
        pace_observed=pace_obs, pace_required=pace_req, year_reached=reached,
        resid_sd=resid_sd, max_gap=gaps, fitted_ok=fitted_ok, first_value=first_value,
        horizon=h, q=q, damping=damping,
    )


def warning_flags(M: SeriesMatrix, res: dict[str, Any]) -> dict[str, np.ndarray]:
    """Boolean early-warning flags per series (docs/methods.md section 7)."""
    conf = settings()
    w = conf["warnings"]
    comp = M.comparator
    pm = res["p_meet"]
    with np.errstate(invalid="ignore"):
        at_risk = np.isfinite(pm) & (pm < float(w["at_risk_p_meet"]))
    numeric = ~np.isin(comp, ("increase", "decrease", "maintain"))
    gap = np.where(numeric, np.abs(M.target - res["last_value"]),
                   np.abs(res["projected"] - res["last_value"]))
    with np.errstate(invalid="ignore"):
        volatile = np.isfinite(res["resid_sd"]) & np.isfinite(gap) \
            & (res["resid_sd"] > float(w["volatile_ratio"]) * gap)
    tol = np.where(np.isfinite(M.tolerance), M.tolerance, 0.0)
    diff = M.target - res["last_value"]
    toward = np.where(np.abs(diff) > tol, np.sign(diff), 0.0)
    req = np.select(
        [np.isin(comp, (">=", ">", "increase", "maintain")), np.isin(comp, ("<=", "<", "decrease"))],
        [1.0, -1.0], default=toward)
    with np.errstate(invalid="ignore"):
        reversing = np.isfinite(res["pace_observed"]) & (req * res["pace_observed"] < 0)
    insufficient = (res["n_points"] < int(conf["min_points"])) \
        | (res["max_gap"] > int(conf["max_gap_years"])) | ~res["fitted_ok"]
    return {"at_risk": at_risk, "volatile": volatile, "reversing": reversing,
            "insufficient_data": insufficient}
