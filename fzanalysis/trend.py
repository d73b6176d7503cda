"""Will the target be met by 2030?  Projections, ``p_meet``, early warning and backtests.

Public functions
----------------
- :func:`project` -- one row per indicator x area x sex: model, projection to the target year
  with a prediction interval, probability of meeting the target, observed vs required pace, year
  the target is reached, early-warning codes (docs/design.md "Result tables").
- :func:`project_paths` -- the same fits as a long table (observed, fitted, projected) for charts.
- :func:`backtest` -- rolling-origin backtests: interval coverage and error by horizon and model.
- :func:`estimate_bend_variance` -- the factors c(h) of the additive bend variance from backtests.
- :func:`estimate_inflation` -- the former multiplicative factor k(h) (kept for comparison).
- :func:`warning_text` -- the reasons behind a ``warnings`` string, in Chinese or English.

Methods (docs/methods.md sections 5-8): rates from small counts (a handful of maternal deaths)
get a Poisson log-linear trend of the counts (methods.md 5.4; interval for the underlying rate,
nothing projected below ``poisson.min_events`` events); other series get lines fitted by
ordinary least squares on a transformed
scale (identity, scaled logit for bounded percentages, log for rates and ratios) to the most recent
``window`` points and continued as a damped trend (slope weights phi, phi^2, ...); prediction
intervals from the OLS predictive variance
:math:`s^2(1 + x_0^\\top(X^\\top X)^{-1}x_0)` plus an additive horizon-dependent "bend" variance
:math:`\\tau^2(h)` estimated on real public series, with Student-t quantiles on n - 2 degrees of
freedom, and mapped back with
the (monotone) inverse transform.  All series are fitted at once with vectorised numpy
(:mod:`fzanalysis._trend_core`); results equal statsmodels' OLS per series.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis.panel.cli import DATA_HELP, data_option, load_for_cli
from fzanalysis._trend_core import (
    M_POISSON, METHODS, OLS_METHODS, effective_time, fit_lines, inverse, t_quantile, window_mask,
)
from fzanalysis._trend_engine import (
    bend_variance, choose_methods, eligible, model_scale, path_moments, run, warning_flags,
)
from fzanalysis._trend_prep import (
    SeriesMatrix, build_matrix, prepare_catalog, prepare_panel, settings,
)

__all__ = ["project", "project_paths", "backtest", "estimate_bend_variance", "estimate_inflation",
           "required_bend", "warning_text",
           "register_cli", "PROJECT_COLUMNS", "PATH_COLUMNS", "WARNING_CODES"]

#: Columns of :func:`project` (docs/design.md "Result tables").
PROJECT_COLUMNS: list[str] = [
    "indicator", "area", "sex", "method", "n_points", "last_year", "last_value", "projected",
    "lower", "upper", "p_meet", "pace_observed", "pace_required", "year_reached", "warnings",
]
#: Columns of :func:`project_paths`.
PATH_COLUMNS: list[str] = ["indicator", "area", "sex", "year", "kind", "value", "lower", "upper"]
#: Early-warning codes in the order they appear in ``warnings``.
WARNING_CODES: tuple[str, ...] = ("at_risk", "volatile", "reversing", "insufficient_data")

_DEFAULT = object()


def _window(window: Any) -> int | None:
    if window is _DEFAULT:
        w = settings()["window"]
        return None if w is None else int(w)
    if window is not None and (int(window) != window or window < 2):
        raise ValueError(f"window must be None or an integer >= 2, got {window!r}")
    return None if window is None else int(window)


def _damping(damping: float | None) -> float:
    phi = float(settings()["damping"] if damping is None else damping)
    if not 0 < phi <= 1:
        raise ValueError(f"damping must be in (0, 1], got {damping!r}")
    return phi


def _poisson_window(window: Any) -> Any:
    """The Poisson rows follow ``trend.yaml: poisson.window`` unless a window is given."""
    return "default" if window is _DEFAULT else _window(window)


def _matrix(panel: pd.DataFrame, catalog: pd.DataFrame | None) -> SeriesMatrix:
    cat = prepare_catalog(catalog)
    return build_matrix(prepare_panel(panel, cat), cat)


def project(
    panel: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    target_year: int = 2030,
    level: float | None = None,
    method: str = "auto",
    window: int | None = _DEFAULT,  # type: ignore[assignment]
    damping: float | None = None,
    calibrated: bool = True,
) -> pd.DataFrame:
    """Project every series to ``target_year`` and judge whether its target will be met.

    Parameters
    ----------
    panel : DataFrame
        Tidy panel with at least ``indicator, year, value`` (``area`` defaults to ``"440117"``,
        ``sex`` to ``"T"``).  Missing values are gaps.
    catalog : DataFrame, optional
        At least ``id, unit, comparator, target``; bounds default by unit (``data/units.csv``),
        ``tolerance`` to NaN.  Default: :func:`fzanalysis.catalog.load`.
    target_year : int
        Year of the target (2030).
    level : float
        Two-sided level of the prediction interval (default ``trend.yaml: default_level`` = 0.8).
    method : {"auto", "linear", "logit", "log", "poisson"}
        Model; ``auto`` uses ``poisson`` for rates from small counts (panel ``numerator`` and
        ``denominator`` in every observed year, mean events per year below
        ``trend.yaml: poisson.auto_max_mean_events``, methods.md 5.4) and otherwise chooses per
        series by rolling-origin out-of-sample error (methods.md 6).
    window : int or None
        Fit on the last ``window`` observed points (default from ``trend.yaml``: 8 for the
        least-squares models, ``poisson.window`` (all years) for the Poisson model; None = all).
    damping : float, optional
        Damping factor phi in (0, 1] of the trend beyond the last observation (default
        ``trend.yaml: damping`` = 0.8); 1 gives the straight line "on current trends".
    calibrated : bool
        Add the backtest-estimated bend variance tau^2(h) to the predictive variance (methods.md
        5, 8).  ``False`` gives the textbook OLS prediction interval (tau^2 = 0).

    Returns
    -------
    DataFrame
        One row per indicator x area x sex with :data:`PROJECT_COLUMNS`:
        ``method`` (``none`` when fewer than ``min_points_fit`` points; ``poisson`` rows with
        fewer than ``poisson.min_events`` events have NaN projection, interval and ``p_meet`` and
        the warning ``insufficient_data``), ``n_points`` (observed
        years), ``last_year``, ``last_value``, ``projected``/``lower``/``upper`` (value in
        ``target_year`` and its prediction interval), ``p_meet`` (probability that the
        target-year value satisfies the comparator), ``pace_observed`` (OLS slope of the last
        ``pace_window`` points, units per year), ``pace_required`` ((target - last value) /
        years left), ``year_reached`` (first year the central path meets the target; the start of
        the current run of observed years meeting it if already met; NA if not by
        ``year_reached_max``; Poisson rows read all of this from the fitted expected rate, never
        from one observed year), ``warnings`` (``;``-joined :data:`WARNING_CODES`).

    Notes
    -----
    The predictive distribution on the model scale is
    :math:`\\hat z(T^*) + \\sqrt{\\mathrm{se}(T^*)^2 + \\tau^2(h)}\\,t_{n-2}`, with
    :math:`\\mathrm{se}(T^*)=s\\sqrt{1+1/n+(T^*-\\bar t)^2/S_{tt}}`, h = T - t_L (t_L the last
    observed year), the damped effective time :math:`T^* = t_L + \\phi(1-\\phi^h)/(1-\\phi)` and
    :math:`\\tau^2(h) = c(h)\\max\\{0, \\hat b^2 - \\mathrm{se}(\\hat b)^2\\}` the bend variance
    (slope :math:`\\hat b` on the model scale, c(h) from ``trend.yaml: interval_bend``);
    interval ends and ``p_meet`` both come from it (methods.md 5).

    Examples
    --------
    >>> import pandas as pd
    >>> cat = pd.DataFrame({"id": ["x"], "unit": ["percent"], "comparator": [">="], "target": [90.0]})
    >>> panel = pd.DataFrame({"indicator": "x", "year": range(2016, 2024),
    ...                       "value": [70, 72, 73.5, 75, 77, 78.2, 80, 81.5]})
    >>> project(panel, cat)[["method", "projected", "p_meet"]].round(2)  # doctest: +SKIP
    """
    level = float(settings()["default_level"] if level is None else level)
    M = _matrix(panel, catalog)
    res = run(M, method=method, target_year=int(target_year), level=level,
              window=_window(window), damping=_damping(damping), calibrated=calibrated,
              poisson_window=_poisson_window(window))
    flags = warning_flags(M, res)
    out = M.keys.copy()
    out["method"] = res["method"]
    out["n_points"] = res["n_points"].astype("int64")
    out["last_year"] = res["last_year"].astype("int64")
    for col in ("last_value", "projected", "lower", "upper", "p_meet", "pace_observed",
                "pace_required"):
        out[col] = res[col]
    out["year_reached"] = pd.array(np.where(np.isfinite(res["year_reached"]),
                                            res["year_reached"], np.nan), dtype="Int64")
    codes = np.array(WARNING_CODES, dtype=object)
    stack = np.column_stack([flags[c] for c in WARNING_CODES])
    out["warnings"] = [";".join(codes[row]) for row in stack]
    out = out[PROJECT_COLUMNS]
    out.attrs.update({"target_year": int(target_year), "level": level,
                      "synthetic": _is_synthetic(panel)})
    return out


def _is_synthetic(panel: pd.DataFrame) -> bool:
    """True when any row of the panel is flagged ``synthetic`` (demo data)."""
    return bool("synthetic" in panel.columns and panel["synthetic"].fillna(False).astype(bool).any())


def project_paths(
    panel: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    target_year: int = 2030,
    level: float | None = None,
    method: str = "auto",
    window: int | None = _DEFAULT,  # type: ignore[assignment]
    damping: float | None = None,
    calibrated: bool = True,
) -> pd.DataFrame:
    """Long table of observed values, fitted line and projected path with intervals, for charts.

    Same arguments and fits as :func:`project`.  Returns :data:`PATH_COLUMNS`:
    ``kind="observed"`` (every observed year; no interval), ``kind="fitted"`` (the fitted line on
    the years used in the fit, back-transformed), ``kind="projected"`` (each year from the last
    observed year + 1 to ``target_year``, with the prediction interval at ``level`` including
    the bend variance tau^2(h) for that year's horizon h).  Poisson rows (methods.md 5.4):
    ``observed`` = the annual
    rates; ``fitted`` and ``projected`` = the expected rate of the fitted Poisson trend, both with
    the interval of that underlying rate at ``level`` (no bend term); nothing but the observed rates
    when the counts are too small to fit.
    """
    level = float(settings()["default_level"] if level is None else level)
    M = _matrix(panel, catalog)
    res = run(M, method=method, target_year=int(target_year), level=level,
              window=_window(window), damping=_damping(damping), calibrated=calibrated,
              poisson_window=_poisson_window(window))
    mcode, pois = res["mcode"], res["pois"]
    S, years = len(M.unit), M.years
    lo, hi = M.lower[:, None], M.upper[:, None]
    q = res["q"][:, None]
    parts = []
    idx, col = np.nonzero(M.mask)
    parts.append(pd.DataFrame({"s": idx, "year": years[col], "kind": "observed",
                               "value": M.Y[idx, col], "lower": np.nan, "upper": np.nan}))
    grid = np.broadcast_to(years.astype(float), (S, len(years)))
    zf, sf = path_moments(res, grid, calibrated=calibrated)
    fitted = inverse(zf, mcode[:, None], lo, hi)
    band = pois[:, None]
    f_lo = np.where(band, inverse(zf - q * sf, mcode[:, None], lo, hi), np.nan)
    f_hi = np.where(band, inverse(zf + q * sf, mcode[:, None], lo, hi), np.nan)
    ok = res["fmask"] & res["fitted_ok"][:, None]
    idx, col = np.nonzero(ok)
    parts.append(pd.DataFrame({"s": idx, "year": years[col], "kind": "fitted",
                               "value": fitted[idx, col], "lower": f_lo[idx, col],
                               "upper": f_hi[idx, col]}))
    last = res["last_year"]
    fut = np.arange(int(last.min()) + 1, int(target_year) + 1) if S else np.array([], int)
    if len(fut):
        tf = np.broadcast_to(fut.astype(float), (S, len(fut)))
        z, se = path_moments(res, tf, calibrated=calibrated)
        keep = (fut[None, :] > last[:, None]) & res["fitted_ok"][:, None]
        idx, col = np.nonzero(keep)
        parts.append(pd.DataFrame({
            "s": idx, "year": fut[col], "kind": "projected",
            "value": inverse(z, mcode[:, None], lo, hi)[idx, col],
            "lower": inverse(z - q * se, mcode[:, None], lo, hi)[idx, col],
            "upper": inverse(z + q * se, mcode[:, None], lo, hi)[idx, col]}))
    long = pd.concat(parts, ignore_index=True)
    order = {"observed": 0, "fitted": 1, "projected": 2}
    long = long.assign(_k=long["kind"].map(order)).sort_values(["s", "_k", "year"], kind="stable")
    keys = M.keys.iloc[long["s"].to_numpy()].reset_index(drop=True)
    body = long.drop(columns=["s", "_k"]).reset_index(drop=True)
    out = pd.concat([keys, body], axis=1)[PATH_COLUMNS]
    out["year"] = out["year"].astype("int64")
    return out


def backtest(
    panel: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    horizon: int = 5,
    level: float | None = None,
    method: str = "auto",
    min_train: int | None = None,
    window: int | None = _DEFAULT,  # type: ignore[assignment]
    damping: float | None = None,
    calibrated: bool = True,
    detail: bool = False,
) -> pd.DataFrame:
    """Rolling-origin backtest: how well would past projections have done?

    At every observed year (the *origin*) with at least ``min_train`` observations up to it, the
    chosen model is refitted on the data up to the origin only (the ``auto`` choice too is remade
    from those data) and projected 1..``horizon`` years ahead; each projection with an observed
    outcome is scored.

    Parameters
    ----------
    method : {"auto", "linear", "logit", "log", "all"}
        ``all`` scores linear, logit, log (on the series where each is eligible) and auto.
        Series that ``auto`` gives the Poisson count model are left out (its interval is for
        the underlying rate, which a single year's observed rate cannot score; methods.md 5.4);
        ``method="poisson"`` is refused.
    min_train : int, optional
        Default ``trend.yaml: min_points`` (5).
    window, damping :
        As in :func:`project`.
    calibrated : bool
        Add the bend variance tau^2(h) (as :func:`project` does); ``False`` for the plain OLS
        interval.
    detail : bool
        Return one row per forecast instead of the summary.

    Returns
    -------
    DataFrame
        Summary, one row per method x horizon: ``method, horizon, n_forecasts, n_series,
        coverage`` (share of outcomes inside the interval), ``coverage_se``
        (:math:`\\sqrt{c(1-c)/n}`, ignoring correlation within a series), ``nominal``, ``mae``,
        ``median_ae``, ``median_width`` (medians: log-scale intervals can be very wide).
        With ``detail=True``: ``indicator, area, sex, method, model, origin, horizon, year,
        actual, projected, lower, upper, covered, abs_error, z_hat, z_error, se_ols, t_q,
        scaled_error`` where ``model`` is the model actually fitted at that origin (the automatic
        choice for ``auto``), ``z_hat`` and ``z_error`` = :math:`z - \\hat z` the projection and its
        error on the model scale, ``se_ols`` the OLS predictive SE (no bend term), ``t_q`` the
        Student-t quantile, ``slope``/``slope_se`` the fitted slope on the model scale and its
        SE, and ``scaled_error`` = :math:`|z - \\hat z|/(t_q\\,\\mathrm{se})`
        (inputs of :func:`estimate_bend_variance` and :func:`estimate_inflation`).
    """
    level = float(settings()["default_level"] if level is None else level)
    if int(horizon) < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon!r}")
    min_train = int(settings()["min_points"] if min_train is None else min_train)
    if min_train < 3:
        raise ValueError(f"min_train must be >= 3 (n - 2 residual degrees of freedom), got {min_train}")
    w = _window(window)
    phi = _damping(damping)
    M = _matrix(panel, catalog)
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
        Yk = M.Y.copy()
        Yk[:, k + 1:] = np.nan
        Mk = SeriesMatrix(**{**M.__dict__, "Y": Yk})
        for m in methods:
            if m == "auto":
                mcode = choose_methods(Mk, "auto", window=w, damping=phi, upto=k)
                use = origin & (mcode != M_POISSON)
            else:
                code = METHODS.index(m)
                use = origin & eligible(Mk)[:, code] & ok_all[:, code] if method == "all" \
                    else origin
                mcode = np.full(S, code)
                if method != "all":
                    choose_methods(Mk, m, window=w)  # raises if not eligible
            Z = model_scale(Mk, mcode)
            train = window_mask(mask & (np.arange(T) <= k)[None, :] & np.isfinite(Z)
                                & use[:, None], w)
            fit = fit_lines(M.years, Z, train)
            q = t_quantile(level, fit.df)
            for h in range(1, int(horizon) + 1):
                j = k + h
                if j >= T:
                    break
                hit = use & mask[:, j] & (fit.n >= 3)
                if not hit.any():
                    continue
                t0 = np.full(S, effective_time(float(M.years[j]), float(M.years[k]), phi))
                zhat, se = fit.mean(t0), fit.se_pred(t0)
                sig = np.sqrt(se ** 2 + bend_variance(np.full(S, h), fit.b, fit.se_slope(),
                                                      calibrated=calibrated))
                i = np.flatnonzero(hit)
                lo, hi = M.lower[i], M.upper[i]
                mc = mcode[i]
                zact = model_scale(M, mcode)[i, j]
                with np.errstate(divide="ignore", invalid="ignore"):
                    scaled = np.abs(zact - zhat[i]) / (q[i] * se[i])
                rows.append(pd.DataFrame({
                    "s": i, "method": m, "model": np.array(METHODS, dtype=object)[mc],
                    "origin": int(M.years[k]), "horizon": h,
                    "year": int(M.years[j]), "actual": M.Y[i, j],
                    "projected": inverse(zhat[i], mc, lo, hi),
                    "lower": inverse(zhat[i] - q[i] * sig[i], mc, lo, hi),
                    "upper": inverse(zhat[i] + q[i] * sig[i], mc, lo, hi),
                    "z_hat": zhat[i], "z_error": zact - zhat[i], "se_ols": se[i], "t_q": q[i],
                    "slope": fit.b[i], "slope_se": fit.se_slope()[i],
                    "scaled_error": scaled,
                }))
    cols = ["indicator", "area", "sex", "method", "model", "origin", "horizon", "year", "actual",
            "projected", "lower", "upper", "covered", "abs_error", "z_hat", "z_error", "se_ols",
            "t_q", "slope", "slope_se", "scaled_error"]
    if not rows:
        det = pd.DataFrame(columns=cols)
    else:
        det = pd.concat(rows, ignore_index=True)
        det["covered"] = (det["actual"] >= det["lower"]) & (det["actual"] <= det["upper"])
        det["abs_error"] = (det["actual"] - det["projected"]).abs()
        keys = M.keys.iloc[det["s"].to_numpy()].reset_index(drop=True)
        det = pd.concat([keys, det.drop(columns="s")], axis=1)[cols]
    if detail:
        return det
    return summarise_backtest(det, level=level)


def summarise_backtest(det: pd.DataFrame, *, level: float) -> pd.DataFrame:
    """Coverage and error by method x horizon from :func:`backtest` detail rows."""
    if det.empty:
        return pd.DataFrame(columns=["method", "horizon", "n_forecasts", "n_series", "coverage",
                                     "coverage_se", "nominal", "mae", "median_ae", "median_width"])
    g = det.assign(width=det["upper"] - det["lower"],
                   series=det["indicator"] + "|" + det["area"] + "|" + det["sex"]) \
        .groupby(["method", "horizon"], sort=True)
    out = g.agg(n_forecasts=("covered", "size"), n_series=("series", "nunique"),
                coverage=("covered", "mean"), mae=("abs_error", "mean"),
                median_ae=("abs_error", "median"), median_width=("width", "median")).reset_index()
    out["coverage_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["n_forecasts"])
    out["nominal"] = level
    return out[["method", "horizon", "n_forecasts", "n_series", "coverage", "coverage_se",
                "nominal", "mae", "median_ae", "median_width"]]


def required_bend(det: pd.DataFrame) -> pd.Series:
    """Per backtest forecast, the smallest bend factor c that would have covered it.

    A forecast with model-scale error e, Student-t quantile t_q, OLS predictive SE se and fitted
    slope :math:`\\hat b` (SE :math:`s_b`) is inside
    :math:`\\hat z \\pm t_q\\sqrt{\\mathrm{se}^2 + c\\,\\max(0, \\hat b^2 - s_b^2)}` iff
    :math:`c \\ge ((e/t_q)^2 - \\mathrm{se}^2)/\\max(0, \\hat b^2 - s_b^2)` (0 when the OLS
    interval already covers it, infinite when it does not and the trend term is 0).
    """
    need = np.maximum(0.0, (det["z_error"].to_numpy(float) / det["t_q"].to_numpy(float)) ** 2
                      - det["se_ols"].to_numpy(float) ** 2)
    trend2 = np.maximum(0.0, det["slope"].to_numpy(float) ** 2
                        - det["slope_se"].to_numpy(float) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(need <= 0, 0.0, np.where(trend2 > 0, need / trend2, np.inf))
    r = np.where(np.isnan(need), np.nan, r)
    return pd.Series(r, index=det.index)


def estimate_bend_variance(det: pd.DataFrame, *, level: float | None = None) -> dict[int, float]:
    """Bend factors c(h) of the additive interval term from backtest detail (methods.md 8).

    The calibrated interval on the model scale is
    :math:`\\hat z \\pm t_{n-2}\\sqrt{\\mathrm{se}^2 + \\tau^2(h)}`,
    :math:`\\tau^2(h) = c(h)\\max\\{0, \\hat b^2 - \\mathrm{se}(\\hat b)^2\\}`.  The pooled
    coverage at horizon h is the share of forecasts whose :func:`required_bend` r is at most
    c(h), so

    .. math:: c(h) = Q_{\\text{level}}(r_h)

    (the ``level``-quantile of r at horizon h) makes the coverage on these forecasts equal
    ``level`` exactly -- the solution that bisection on pooled coverage would find.  Made
    non-decreasing in h (running maximum).  ``det`` is :func:`backtest` detail
    (``detail=True``; ``calibrated`` irrelevant); pass the rows of one method (e.g. ``auto``).

    Returns
    -------
    dict {h: c(h)} (years^2, rounded to 4 significant digits).
    """
    level = float(settings()["default_level"] if level is None else level)
    r = required_bend(det)
    qs = r.groupby(det["horizon"]).quantile(level).sort_index()
    v = np.maximum.accumulate(qs.to_numpy(dtype=float))
    return {int(h): float(f"{x:.4g}") for h, x in zip(qs.index, v)}


def estimate_inflation(det: pd.DataFrame, *, level: float | None = None) -> dict[int, float]:
    """Former multiplicative interval inflation k(h) from backtest detail (for comparison only).

    :math:`k(h) = \\max\\{1, Q_{\\text{level}}(r_h)\\}` made non-decreasing in h, where
    :math:`r = |z - \\hat z| / (t_q\\,\\mathrm{se})` are the ``scaled_error`` values at horizon h:
    multiplying the half-width by k(h) makes the empirical coverage equal ``level`` on these
    forecasts (never narrower than the OLS interval).
    """
    level = float(settings()["default_level"] if level is None else level)
    qs = det.groupby("horizon")["scaled_error"].quantile(level).sort_index()
    k = np.maximum.accumulate(np.maximum(qs.to_numpy(dtype=float), 1.0))
    return {int(h): round(float(v), 3) for h, v in zip(qs.index, k)}


def warning_text(warnings: str, *, lang: str = "zh", method: str | None = None,
                 comparator: str | None = None) -> str:
    """Reasons behind a ``warnings`` string (``"at_risk;volatile"``), joined with ``；``/``; ``.

    With ``method="poisson"`` (the row's ``method``), ``insufficient_data`` and ``volatile`` get
    the reasons of the count model: too few events to project; more variation than chance.
    With ``comparator="maintain"`` (the catalogue's comparator), ``at_risk``, ``volatile`` and
    ``reversing`` get the reasons of the ``maintain`` rules (docs/methods.md 7).
    """
    from fzanalysis.labels import label

    w = settings()["warnings"]
    pconf = settings()["poisson"]
    params = {"p": f"{float(w['at_risk_p_meet']):.0%}", "ratio": w["volatile_ratio"],
              "n": settings()["min_points"], "gap": settings()["max_gap_years"],
              "pace": w["pace_window"], "events": pconf["min_events"],
              "alpha": pconf["overdispersion_alpha"],
              "p_maintain": f"{float(w['at_risk_p_meet_maintain']):.0%}",
              "ratio_maintain": f"{float(w['volatile_ratio_maintain']):.1%}",
              "level_maintain": f"{float(w['maintain_decline_level']):.0%}"}
    codes = [c for c in str(warnings).split(";") if c]
    sep = "；" if lang == "zh" else "; "
    kinds: dict[str, str] = {}
    if comparator == "maintain":
        kinds.update({"at_risk": "warning_maintain", "volatile": "warning_maintain",
                      "reversing": "warning_maintain"})
    if method == "poisson":
        kinds.update({"insufficient_data": "warning_poisson", "volatile": "warning_poisson"})
    return sep.join(label(kinds.get(c, "warning"), c, lang).format(**params) for c in codes)


# ----------------------------------------------------------------------------------------------
# command line


def _read_table(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(p, dtype={"area": str, "sex": str})
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(p, dtype={"area": str, "sex": str})
    raise ValueError(f"{p}: expected a .csv, .parquet or .xlsx file")


def _load_inputs(ns: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    panel = load_for_cli(ns.data).frame
    catalog = _read_table(ns.catalog) if ns.catalog else None
    return panel, catalog


def _emit(df: pd.DataFrame, fmt: str) -> None:
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200,
                               "display.max_columns", None):
            print(df.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


def _cmd_project(ns: argparse.Namespace) -> int:
    try:
        panel, catalog = _load_inputs(ns)
        out = project(panel, catalog, target_year=ns.target_year, level=ns.level, method=ns.method,
                      damping=ns.damping)
    except (ValueError, FileNotFoundError) as exc:
        print(f"fzanalysis project: {ns.data or 'demo panel'}: {exc}", file=sys.stderr)
        return 1
    if ns.explain:
        out["reasons"] = [warning_text(w, lang=ns.explain, method=m)
                          for w, m in zip(out["warnings"], out["method"])]
    if out.attrs.get("synthetic"):
        print("演示数据（合成，非真实统计） / demo data (synthetic, not official statistics)",
              file=sys.stderr)
    _emit(out, ns.format)
    return 0


def _cmd_backtest(ns: argparse.Namespace) -> int:
    try:
        panel, catalog = _load_inputs(ns)
        out = backtest(panel, catalog, horizon=ns.horizon, level=ns.level, method=ns.method,
                       damping=ns.damping, detail=ns.detail)
    except (ValueError, FileNotFoundError) as exc:
        print(f"fzanalysis backtest: {ns.data or 'demo panel'}: {exc}", file=sys.stderr)
        return 1
    _emit(out, ns.format)
    return 0


def register_cli(subparsers: Any) -> None:
    """Add ``fzanalysis project`` and ``fzanalysis backtest``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", metavar="PATH", type=data_option, help=DATA_HELP)
    common.add_argument("--catalog", help="catalogue file (.csv/.xlsx); default: data/indicators.yaml")
    common.add_argument("--level", type=float, default=None, help="interval level (default 0.8)")
    common.add_argument("--damping", type=float, default=None,
                        help="trend damping phi in (0, 1]; 1 = straight line (default 0.8)")
    common.add_argument("--format", choices=("table", "csv"), default="table")
    p = subparsers.add_parser("project", parents=[common],
                              help="project each series to the target year; p_meet and warnings")
    p.add_argument("--target-year", type=int, default=2030)
    p.add_argument("--method", choices=("auto",) + METHODS, default="auto")
    p.add_argument("--explain", choices=("zh", "en"), default=None,
                   help="add a column with the reasons behind the warnings")
    p.set_defaults(func=_cmd_project)
    b = subparsers.add_parser("backtest", parents=[common],
                              help="rolling-origin backtest: interval coverage and error")
    b.add_argument("--horizon", type=int, default=5)
    b.add_argument("--method", choices=("auto", "all") + OLS_METHODS, default="auto")
    b.add_argument("--detail", action="store_true", help="one row per forecast")
    b.set_defaults(func=_cmd_backtest)

