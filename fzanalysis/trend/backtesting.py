"""Rolling-origin backtests of the projections and the calibration estimators (methods.md 8).

:func:`backtest` refits every series at every past origin and scores its projections;
:func:`estimate_bend_variance` turns backtest errors into the factors c(h) of
``data/trend.yaml: interval_bend`` (the generator of that table is
:func:`fzanalysis.trend.calibration.interval_bend_table`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fzanalysis.panel import Panel
from fzanalysis.trend.core import M_POISSON, METHODS, OLS_METHODS, inverse, t_cdf, t_quantile
from fzanalysis.trend.engine import (
    Mixture,
    bend_variance,
    centre_time,
    choose_methods,
    eligible,
    fit_all,
    floor_variance,
    mixture_quantile,
    model_scale,
    no_trend_df,
    no_trend_sd,
    no_trend_weight,
    predictive_df,
    slope_at,
    trend_shrink,
)
from fzanalysis.trend.prep import matrix, settings
from fzanalysis.trend.projection import _DEFAULT, _damping, _damping_weight, _window

__all__ = ["backtest", "estimate_bend_variance", "estimate_inflation", "required_bend",
           "summarise_backtest"]

DETAIL_COLUMNS: list[str] = [
    "indicator", "area", "sex", "method", "model", "origin", "horizon", "year", "actual",
    "projected", "lower", "upper", "covered", "abs_error", "z_hat", "z_error", "se_ols",
    "floor_var", "t_q", "df", "df_fit", "slope", "slope_se", "jump2", "mix_w", "level_error",
    "level_sd", "scaled_error"]


def backtest(
    panel: Panel | pd.DataFrame | str,
    catalog: pd.DataFrame | None = None,
    *,
    horizon: int = 5,
    level: float | None = None,
    method: str = "auto",
    min_train: int | None = None,
    window: int | None = _DEFAULT,  # type: ignore[assignment]
    damping: float | None = None,
    damping_weight: float | None = None,
    calibrated: bool = True,
    robust: bool = True,
    detail: bool = False,
) -> pd.DataFrame:
    """Rolling-origin backtest: how well would past projections have done?

    At every observed year (the *origin*) with at least ``min_train`` observations up to it, the
    chosen model is refitted on the data up to the origin only (the ``auto`` choice too is remade
    from those data) and projected 1..``horizon`` years ahead exactly as :func:`project` does;
    each projection with an observed outcome is scored.

    Parameters
    ----------
    panel, catalog :
        As in :func:`fzanalysis.trend.project`.
    horizon : int
        Largest horizon scored.
    level : float, optional
        Interval level (default ``trend.yaml: default_level``).
    method : {"auto", "linear", "logit", "log", "all"}
        ``all`` scores linear, logit, log (on the series where each is eligible) and auto.
        Series that ``auto`` gives the Poisson count model are left out (methods.md 5.4);
        ``method="poisson"`` is refused.
    min_train : int, optional
        Default ``trend.yaml: min_points`` (5).
    window, damping, damping_weight, calibrated, robust :
        As in :func:`fzanalysis.trend.project`.
    detail : bool
        Return one row per forecast instead of the summary.

    Returns
    -------
    DataFrame
        Summary (:func:`summarise_backtest`), or with ``detail=True`` the columns
        ``DETAIL_COLUMNS``: ``model`` the model fitted at that origin, ``z_hat``/``z_error`` the
        projection and its error on the model scale, ``se_ols`` the OLS predictive SE,
        ``floor_var`` the rounding floor variance, ``t_q``/``df`` the Student-t quantile and
        degrees of freedom, ``slope``/``slope_se`` the fitted slope and its SE, ``jump2`` the
        jump variance, ``scaled_error`` :math:`|z-\\hat z|/(t_q\\,\\mathrm{se})` (inputs of
        :func:`estimate_bend_variance`).

    Raises
    ------
    ValueError
        For a horizon < 1, ``min_train`` < 3, or an unknown or unusable method.

    Examples
    --------
    How far to trust the projections of women's basic medical insurance coverage (demo data,
    the district's female, male and total series): every origin with at least five points,
    projected 1 to 3 years ahead and scored against what followed.

    >>> from fzanalysis import backtest, demo
    >>> p = demo.load()
    >>> s = p[(p["indicator"] == "social_security.medical_insurance_female") & (p["area"] == "440117")]
    >>> bt = backtest(s, horizon=3)
    >>> bt[["horizon", "n_forecasts", "n_series", "nominal"]]
       horizon  n_forecasts  n_series  nominal
    0        1           15         3      0.8
    1        2           12         3      0.8
    2        3            9         3      0.8
    >>> bool(bt["coverage"].between(0, 1).all())
    True
    """
    level = float(settings()["default_level"] if level is None else level)
    if int(horizon) < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon!r}")
    min_train = int(settings()["min_points"] if min_train is None else min_train)
    if min_train < 3:
        raise ValueError(f"min_train must be >= 3 (n - 2 residual degrees of freedom), got {min_train}")
    w = _window(window)
    phi = _damping(damping)
    wt = _damping_weight(damping_weight)
    M = matrix(panel, catalog)
    methods = ["linear", "logit", "log", "auto"] if method == "all" else [method]
    for m in methods:
        if m == "poisson":
            raise ValueError("backtest: method 'poisson' is not backtested: its interval is for "
                             "the underlying rate, which one year's observed rate cannot score "
                             "(docs/methods.md 5.4)")
        if m != "auto" and m not in OLS_METHODS:
            raise ValueError(f"method must be 'auto', 'all' or one of {OLS_METHODS}, got {m!r}")
    ok_all = eligible(M)
    mask = M.mask
    count_up_to = np.cumsum(mask, axis=1)
    S, T = mask.shape
    rows: list[pd.DataFrame] = []
    for k in range(T - 1):
        origin = mask[:, k] & (count_up_to[:, k] >= min_train)
        if not origin.any():
            continue
        Mk = M.truncated(k)
        for m in methods:
            if m == "auto":
                mcode = choose_methods(Mk, "auto", window=w, damping=phi, damping_weight=wt,
                                       upto=k, calibrated=calibrated)
                use = origin & (mcode != M_POISSON)
            else:
                code = METHODS.index(m)
                use = origin & eligible(Mk)[:, code] & ok_all[:, code] if method == "all" \
                    else origin
                mcode = np.full(S, code)
                if method != "all":
                    choose_methods(Mk, m, window=w)  # raises if not eligible
            fit, _, jump2, floor2, step, _, _, naive_v, _, _ = fit_all(Mk, np.where(use, mcode, 0),
                                                                 window=w, upto=k, robust=robust)
            Zfull = model_scale(M, mcode)
            # the no-trend part of the predictive, in the indicator's units (engine.run)
            t_k = np.full(S, float(M.years[k]))
            level_y = inverse(fit.mean(t_k), mcode, M.lower, M.upper)
            with np.errstate(invalid="ignore"):
                level_var = (fit.se_pred(t_k) / slope_at(level_y, mcode, M.lower, M.upper)) ** 2
            mix_w = no_trend_weight(fit.b, fit.se_slope(), calibrated=calibrated)
            for h in range(1, int(horizon) + 1):
                j = k + h
                if j >= T:
                    break
                hit = use & mask[:, j] & (fit.n >= 3)
                if not hit.any():
                    continue
                t0 = centre_time(np.full(S, float(M.years[j])), float(M.years[k]),
                                 trend_shrink(fit.b, fit.se_slope(), calibrated=calibrated),
                                 phi, wt)
                zhat, se = fit.mean(t0), fit.se_pred(t0)
                hh = np.full(S, float(h))
                fl = floor_variance(floor2, hh) if calibrated else np.zeros(S)
                tau2 = bend_variance(hh, fit.b, fit.se_slope(), jump2, calibrated=calibrated)
                sig = np.sqrt(se ** 2 + fl + tau2)
                df = predictive_df(fit.df, se ** 2 + fl, tau2) if calibrated else fit.df
                q = t_quantile(level, df)
                i = np.flatnonzero(hit)
                lo, hi = M.lower[i], M.upper[i]
                mc = mcode[i]
                zact = Zfull[i, j]
                y0 = level_y[i]
                s0 = no_trend_sd(level_var[i], step[i] ** 2 / 12.0 if calibrated else 0.0,
                                 naive_v[i], hh[i])
                mw = np.where(np.isfinite(y0) & np.isfinite(s0), mix_w[i], 0.0)
                mix = Mixture(w=mw, z1=zhat[i], s1=sig[i], df1=df[i], y0=y0, s0=s0,
                              df0=no_trend_df(fit.df[i]), mcode=mc, lower=lo, upper=hi)
                with np.errstate(divide="ignore", invalid="ignore"):
                    scaled = np.abs(zact - zhat[i]) / (q[i] * np.sqrt(se[i] ** 2 + fl[i]))
                rows.append(pd.DataFrame({
                    "s": i, "method": m, "model": np.array(METHODS, dtype=object)[mc],
                    "origin": int(M.years[k]), "horizon": h,
                    "year": int(M.years[j]), "actual": M.Y[i, j],
                    "projected": mixture_quantile(0.5, mix),
                    "lower": mixture_quantile(0.5 - level / 2.0, mix),
                    "upper": mixture_quantile(0.5 + level / 2.0, mix),
                    "z_hat": zhat[i], "z_error": zact - zhat[i], "se_ols": se[i],
                    "floor_var": fl[i], "t_q": q[i], "df": df[i], "df_fit": fit.df[i],
                    "slope": fit.b[i], "slope_se": fit.se_slope()[i], "jump2": jump2[i],
                    "mix_w": mw, "level_error": M.Y[i, j] - y0, "level_sd": s0,
                    "scaled_error": scaled,
                }))
    if not rows:
        det = pd.DataFrame(columns=DETAIL_COLUMNS)
    else:
        det = pd.concat(rows, ignore_index=True)
        det["covered"] = (det["actual"] >= det["lower"]) & (det["actual"] <= det["upper"])
        det["abs_error"] = (det["actual"] - det["projected"]).abs()
        keys = M.keys.iloc[det["s"].to_numpy()].reset_index(drop=True)
        det = pd.concat([keys, det.drop(columns="s")], axis=1)[DETAIL_COLUMNS]
    if detail:
        return det
    return summarise_backtest(det, level=level)


def summarise_backtest(det: pd.DataFrame, *, level: float) -> pd.DataFrame:
    """Coverage and error by method x horizon from :func:`backtest` detail rows.

    Returns
    -------
    DataFrame
        ``method, horizon, n_forecasts, n_series, coverage, coverage_se`` (:math:`\\sqrt{c(1-c)/n}`,
        ignoring correlation within a series), ``nominal, mae, median_ae, median_width``.
    """
    cols = ["method", "horizon", "n_forecasts", "n_series", "coverage", "coverage_se",
            "nominal", "mae", "median_ae", "median_width"]
    if det.empty:
        return pd.DataFrame(columns=cols)
    g = det.assign(width=det["upper"] - det["lower"],
                   series=det["indicator"] + "|" + det["area"] + "|" + det["sex"]) \
        .groupby(["method", "horizon"], sort=True)
    out = g.agg(n_forecasts=("covered", "size"), n_series=("series", "nunique"),
                coverage=("covered", "mean"), mae=("abs_error", "mean"),
                median_ae=("abs_error", "median"), median_width=("width", "median")).reset_index()
    out["coverage_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["n_forecasts"])
    out["nominal"] = level
    return out[cols]


def required_bend(det: pd.DataFrame, *, level: float | None = None) -> pd.Series:
    """Per backtest forecast, the smallest bend factor c that would have covered it.

    A forecast with model-scale error e, OLS predictive SE se, floor variance f, fit degrees of
    freedom n - 2 and bend base :math:`V = \\max(0, \\hat b^2 - s_b^2) + J^2` is inside
    :math:`\\hat z \\pm t_{\\nu(c)}\\sqrt{\\mathrm{se}^2 + f + cV}` (:math:`\\nu(c)` the
    Welch-Satterthwaite degrees of freedom of :func:`~fzanalysis.trend.engine.predictive_df`)
    iff c is at least the root found here by bisection (the half-width grows with c): 0 when
    the interval without bend already covers it, infinite when it does not and V = 0 (or no c
    does).  Without a ``df_fit`` column (older detail): the fixed quantile ``t_q``.

    With the two-part predictive (columns ``mix_w``, ``level_error``, ``level_sd``; engine
    :func:`~fzanalysis.trend.engine.mixture_moments`) the interval is the mixture's central
    ``level`` interval: covered iff the mixture CDF at the outcome lies within
    :math:`(1 \\pm \\text{level})/2`.  Widening the trend part moves its CDF monotonically
    towards 1/2, so the root is still found by bisection; with ``mix_w`` = 0 this is the
    condition above.
    """
    level = float(settings()["default_level"] if level is None else level)
    fl = det["floor_var"].to_numpy(float) if "floor_var" in det else 0.0
    j2 = det["jump2"].to_numpy(float) if "jump2" in det else 0.0
    e = np.abs(det["z_error"].to_numpy(float))
    a = det["se_ols"].to_numpy(float) ** 2 + fl
    base = np.maximum(0.0, det["slope"].to_numpy(float) ** 2
                      - det["slope_se"].to_numpy(float) ** 2) + np.nan_to_num(j2)
    if "df_fit" not in det:
        need = np.maximum(0.0, (e / det["t_q"].to_numpy(float)) ** 2 - a)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(need <= 0, 0.0, np.where(base > 0, need / base, np.inf))
        return pd.Series(np.where(np.isnan(need), np.nan, r), index=det.index)
    n_df = det["df_fit"].to_numpy(float)

    z_err = det["z_error"].to_numpy(float)
    if "mix_w" in det:
        w = np.nan_to_num(det["mix_w"].to_numpy(float), nan=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            # the naive part's CDF at the outcome (in the indicator's units; fixed in c)
            f0 = t_cdf(det["level_error"].to_numpy(float) / det["level_sd"].to_numpy(float),
                       no_trend_df(n_df))
    else:
        w, f0 = np.zeros(len(e)), np.zeros(len(e))

    def covered(c: np.ndarray) -> np.ndarray:
        tau2 = c * base
        df = predictive_df(n_df, a, tau2)
        with np.errstate(invalid="ignore", divide="ignore"):
            plain = e <= t_quantile(level, df) * np.sqrt(a + tau2)
            F = (1.0 - w) * t_cdf(z_err / np.sqrt(a + tau2), df) + w * f0
            return np.where(w > 0, np.abs(F - 0.5) <= level / 2.0, plain)

    ok0 = covered(np.zeros(len(e)))
    lo, hi = np.zeros(len(e)), np.full(len(e), 1e6)
    never = ~covered(hi)
    for _ in range(60):
        mid = np.sqrt(np.maximum(lo, 1e-12) * hi)
        good = covered(mid)
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid)
    r = np.where(ok0, 0.0, np.where(never | (base <= 0), np.inf, hi))
    r = np.where(np.isnan(e) | np.isnan(a), np.nan, r)
    return pd.Series(r, index=det.index)


def estimate_bend_variance(det: pd.DataFrame, *, level: float | None = None) -> dict[int, float]:
    """Bend factors c(h) of the additive interval term from backtest detail (methods.md 8).

    The pooled coverage at horizon h is the share of forecasts whose :func:`required_bend` r is
    at most c(h), so :math:`c(h) = Q_{\\text{level}}(r_h)` (the ``level``-quantile of r at
    horizon h) makes the coverage on these forecasts equal ``level`` exactly.  Made
    non-decreasing in h.  ``det`` is :func:`backtest` detail of one method (e.g. ``auto``).

    Returns
    -------
    dict {h: c(h)} (years^2, rounded to 4 significant digits).
    """
    level = float(settings()["default_level"] if level is None else level)
    r = required_bend(det, level=level)
    qs = r.groupby(det["horizon"]).quantile(level).sort_index()
    v = np.maximum.accumulate(qs.to_numpy(dtype=float))
    return {int(h): float(f"{x:.4g}") for h, x in zip(qs.index, v)}


def estimate_inflation(det: pd.DataFrame, *, level: float | None = None) -> dict[int, float]:
    """Former multiplicative interval inflation k(h) from backtest detail (for comparison only).

    :math:`k(h) = \\max\\{1, Q_{\\text{level}}(r_h)\\}` made non-decreasing in h, where
    :math:`r = |z - \\hat z| / (t_q\\,\\mathrm{se})` are the ``scaled_error`` values at horizon h.
    """
    level = float(settings()["default_level"] if level is None else level)
    qs = det.groupby("horizon")["scaled_error"].quantile(level).sort_index()
    k = np.maximum.accumulate(np.maximum(qs.to_numpy(dtype=float), 1.0))
    return {int(h): round(float(v), 3) for h, v in zip(qs.index, k)}
