"""The vectorised projection engine behind :mod:`fzanalysis.trend` (docs/methods.md 5-8).

Everything here works on a :class:`~fzanalysis.trend.prep.SeriesMatrix` and returns arrays with
one entry per series; no Python loop runs over series (only over calendar years, at most ~30,
and over the points of one fit window).  "Does this value meet the target" is asked ONLY of
:mod:`fzanalysis.comparators` (:func:`~fzanalysis.comparators.satisfies` for a value, the
success region :func:`~fzanalysis.comparators.region` for a probability).
"""
from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from fzanalysis import comparators
from fzanalysis.rates import proportion_too_wide
from fzanalysis.trend.core import (
    M_LINEAR,
    M_LOG,
    M_LOGIT,
    M_POISSON,
    METHODS,
    OLS_METHODS,
    Fit,
    effective_time,
    fit_lines,
    fit_poisson,
    inverse,
    t_cdf,
    t_quantile,
    transform,
    window_mask,
)
from fzanalysis.trend.prep import SeriesMatrix, on_grid, probability_band_code, resolution, settings
from fzanalysis.trend.results import Model, Projection

__all__ = ["Mixture", "bend_variance", "centre_time", "choose_methods", "eligible",
           "mixture_cdf", "mixture_moments", "mixture_probability", "mixture_quantile",
           "model_scale", "naive_variance", "no_trend_df", "no_trend_sd", "no_trend_weight",
           "path_moments", "predictive_df", "published_at_bounds", "published_edges", "slope_at",
           "region_probability", "robust_fit", "run", "small_base", "temper_probability",
           "threshold_by_points", "trend_shrink", "warning_flags", "before_step", "step_shift"]

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


def small_base(M: SeriesMatrix, step: np.ndarray, pois: np.ndarray) -> np.ndarray:
    """(S,) bool: an event proportion of too few cases to project (methods.md 5.4).

    A percentage listed in ``trend.yaml: poisson.event_proportions`` (a proportion of cases
    that occur anew each year: HIV-positive pregnant women treated) that is not a Poisson row,
    whose latest figure sits at a bound (0 or 100 %, within half a rounding ``step``) and whose
    latest counts give a binomial interval too wide to judge (:func:`fzanalysis.rates.
    proportion_too_wide`, the rule of methods.md 1.4: 3 of 3 gives 43.9-100 %).  Figures at a
    bound cannot show the sampling noise of so few cases (3/3 is published as 100 % whether
    the chance of treatment is 0.8 or 1), so a trend through them would be read as exact: an
    80 % interval of 99.99-100 % beside a latest figure whose own interval starts at 43.9 %.
    """
    listed = np.isin(M.keys["indicator"].astype(str).to_numpy(),
                     [str(x) for x in (settings()["poisson"].get("event_proportions") or [])])
    col = np.arange(len(M.years))
    last = np.where(M.mask, col, -1).max(axis=1)
    rows = np.arange(len(last))
    pick = lambda A: np.where(last >= 0, A[rows, np.maximum(last, 0)], np.nan)  # noqa: E731
    y, k, e = pick(M.Y), pick(M.K), pick(M.E)
    with np.errstate(invalid="ignore"):
        at_bound = (np.abs(y - M.lower) <= step / 2.0) | (np.abs(M.upper - y) <= step / 2.0)
        counts = np.isfinite(k) & np.isfinite(e) & (e > 0) & (k >= 0) & (k <= e)
    wide = np.zeros(len(last), dtype=bool)
    wide[counts] = proportion_too_wide(k[counts], e[counts])
    return listed & ~np.asarray(pois, dtype=bool) & np.isfinite(M.upper) & at_bound & wide


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


def trend_shrink(slope: np.ndarray, slope_se: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
    """Share of the fitted slope carried beyond the last observation (methods.md 5, 8.9).

    .. math:: k = \\frac{\\hat b^2}{\\hat b^2 + \\lambda\\,\\mathrm{se}(\\hat b)^2}

    with :math:`\\lambda` = ``trend.yaml: trend_shrink`` (0: the whole slope).  A slope within
    its noise (|t| = |b|/se(b) about 1) is mostly left out of the projection, a steady line
    (|t| of 10 or more) keeps nearly all of it -- the shrinkage estimator of a mean whose
    signal-to-noise ratio is t^2 (a James-Stein-type factor).  1 where the slope or its SE is
    undefined or 0 (nothing to shrink, or a perfect line), and everywhere when not
    ``calibrated`` (the textbook line, like the interval without the bend term).
    """
    lam = float(settings().get("trend_shrink") or 0.0) if calibrated else 0.0
    b = np.asarray(slope, dtype=float)
    sb = np.asarray(slope_se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        b2 = b * b
        k = b2 / (b2 + lam * sb * sb)
    return np.where(np.isfinite(k), k, 1.0)


def no_trend_weight(slope: np.ndarray, slope_se: np.ndarray, *,
                    calibrated: bool = True) -> np.ndarray:
    """Weight of the "no further trend" component of the predictive (methods.md 5, 8.9).

    .. math:: w = \\frac{w_0}{1 + (t/t_0)^2},\\qquad t = |\\hat b| / \\mathrm{se}(\\hat b)

    with :math:`w_0` = ``trend.yaml: no_trend.weight`` and :math:`t_0` =
    ``no_trend.t_scale``: a trend within its noise (t about 1) gives the naive forecast nearly
    the full weight :math:`w_0`, a steady line (t of 10 or more) little.  A constant window
    (slope and SE both 0) has no trend: :math:`w_0`; a perfect line (SE 0, slope not 0): 0.
    0 everywhere when not ``calibrated`` or :math:`w_0` = 0 (the single trend predictive).
    """
    conf = settings().get("no_trend") or {}
    w0 = float(conf.get("weight") or 0.0) if calibrated else 0.0
    t0 = float(conf.get("t_scale") or np.inf)
    b = np.abs(np.asarray(slope, dtype=float))
    sb = np.asarray(slope_se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = b / sb
    t = np.where(np.isnan(t) & (b == 0), 0.0, t)
    with np.errstate(invalid="ignore", over="ignore"):
        w = w0 / (1.0 + (t / t0) ** 2)
    return np.where(np.isfinite(w), w, np.where(np.isinf(t), 0.0, w0))


def temper_probability(p: Any, h: Any, *, calibrated: bool = True) -> np.ndarray:
    """Temper a predictive probability towards 1/2 for the horizon (methods.md 5, 8.9).

    .. math:: p' = \\varepsilon_h + (1 - 2\\varepsilon_h)\\,p,\\qquad
              \\varepsilon_h = \\varepsilon\\,\\min\\{1,\\ \\max(0, h)/H\\}

    with :math:`\\varepsilon` = ``trend.yaml: probability_temper.epsilon`` and :math:`H` =
    ``probability_temper.full_horizon``.  Why: on every part of the real-series corpus (dev,
    validation, holdout) events given a probability below 0.1 five or ten years ahead happened
    10-17 % of the time, and those given above 0.85 missed more often than said: no model of a
    social indicator's trend warrants near-certainty that many years out.  The map is monotone
    and keeps 1/2 fixed, so "p >= 0.5 iff the central projection meets" still holds; a
    probability stays within [:math:`\\varepsilon_h`, 1 - :math:`\\varepsilon_h`].  Fitted years
    (h <= 0) and ``calibrated=False`` are unchanged.  Broadcasts.
    """
    p = np.asarray(p, dtype=float)
    if not calibrated:
        return p
    conf = settings().get("probability_temper") or {}
    eps = float(conf.get("epsilon") or 0.0)
    full = float(conf.get("full_horizon") or 1.0)
    r = np.clip(np.nan_to_num(np.asarray(h, dtype=float), nan=0.0) / full, 0.0, 1.0)
    e = eps * r
    return e + (1.0 - 2.0 * e) * p


def centre_time(t: np.ndarray, t_last: np.ndarray, shrink: np.ndarray, damping: float,
                damping_weight: float) -> np.ndarray:
    """Year at which the fitted line is read for the centre of a projection to ``t``.

    The (partly) damped effective time of :func:`~fzanalysis.trend.core.effective_time`, with
    the time beyond ``t_last`` multiplied by the slope's ``shrink`` (:func:`trend_shrink`):
    :math:`t_L + k\\,(t_{\\mathrm{eff}} - t_L)`, i.e. the projection continues
    :math:`k\\hat b` per effective year.  Years up to ``t_last`` are unchanged.  The one place
    every projection, backtest and model choice reads its centre.
    """
    te = effective_time(t, t_last, damping, damping_weight)
    return np.where(te > t_last, t_last + shrink * (te - t_last), te)


def bend_variance(h: np.ndarray, slope: np.ndarray, slope_se: np.ndarray, jump2: Any = 0.0, *,
                  calibrated: bool = True) -> np.ndarray:
    """Additive "bend" variance on the model scale (methods.md 5, 8).

    .. math:: \\tau^2(h) = c(h)\\,\\bigl(\\max\\{0,\\ \\hat b^2 - \\mathrm{se}(\\hat b)^2\\} + J^2\\bigr)

    with :math:`\\hat b` the fitted slope on the model scale, :math:`J^2` the per-year variance of
    the series' moves off its trend (steps and jumps, :func:`robust_fit`) and c(h) (years^2) the
    step table ``trend.yaml: interval_bend`` estimated on the development part of the real
    corpus (:func:`fzanalysis.trend.estimate_bend_variance`).  The squared trend and the jumps
    are the two ways a real series leaves its straight line: it bends, or it steps.  0 for
    h < 1 (fitted years) and when not ``calibrated``; beyond the last tabulated horizon the last
    factor.  Broadcasts its arguments.
    """
    h, b, sb, j2 = np.broadcast_arrays(np.asarray(h, dtype=float), np.asarray(slope, dtype=float),
                                       np.asarray(slope_se, dtype=float),
                                       np.asarray(jump2, dtype=float))
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
    return c * (np.nan_to_num(trend2, nan=0.0) + np.nan_to_num(j2, nan=0.0))


def naive_variance(years: np.ndarray, Z: np.ndarray, fmask: np.ndarray) -> np.ndarray:
    """(S,) per-year variance of a random walk through the fitted points (methods.md 8.9, fifth
    follow-up): :math:`v = \\sum (\\Delta z)^2 / \\sum \\Delta t` over consecutive points of
    ``fmask`` on the model scale ``Z`` (a gap of d years counts d years: the variance of a
    random walk's d-year move is d v).  The spread of the naive "no further trend" forecast
    (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., 5.5): its
    h-year predictive variance is h v.  NaN with fewer than two points."""
    S, T = fmask.shape
    zk = np.where(fmask, Z, np.nan)
    tk = np.where(fmask, np.broadcast_to(years.astype(float), (S, T)), np.nan)
    order = np.argsort(~fmask, axis=1, kind="stable")
    zk = np.take_along_axis(zk, order, axis=1)
    tk = np.take_along_axis(tk, order, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dz, dt = np.diff(zk, axis=1), np.diff(tk, axis=1)
        num = np.nansum(dz * dz, axis=1)
        den = np.nansum(np.where(np.isfinite(dz), dt, 0.0), axis=1)
        return np.where(den > 0, num / den, np.nan)


def floor_variance(floor2: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Noise floor of a rounded series: ``floor2 * (1 + h)`` for h >= 1 (0 for fitted years).

    ``floor2`` is the variance of a rounding error, :math:`(\\mathrm{step}\\cdot g'(y))^2/12`
    on the model scale: a run of equal published values (99, 99, 99 ...) says the true value
    moved by less than a step, not that it cannot move (methods.md 5).
    """
    h = np.asarray(h, dtype=float)
    return np.where(h >= 1, floor2 * (1.0 + np.maximum(h, 0.0)), 0.0)


def predictive_df(n_df: np.ndarray, se2: Any = None, tau2: Any = 0.0) -> np.ndarray:
    """Degrees of freedom of the Student-t predictive (Welch-Satterthwaite, methods.md 5, 8.9).

    .. math:: \\nu = \\frac{(\\mathrm{se}^2 + \\tau^2)^2}{\\mathrm{se}^4/(n-2) + \\tau^4/\\nu_b}

    The predictive variance has two parts: the OLS part ``se2`` (noise and parameter
    uncertainty, with the textbook n - 2 degrees of freedom ``n_df``) and the bend part
    ``tau2`` (:func:`bend_variance`), whose heavy tails real series show: ``nu_b`` =
    ``trend.yaml: predictive_df`` (2).  A noisy series without a trend keeps the textbook
    t_{n-2}; a smooth series whose uncertainty is all bend gets t_{nu_b}.  Without ``se2``:
    ``min(n - 2, nu_b)`` (the bound of the formula).
    """
    nu = settings().get("predictive_df")
    n_df = np.asarray(n_df, dtype=float)
    if nu is None:
        return n_df
    if se2 is None:
        return np.minimum(n_df, float(nu))
    se2, tau2 = np.asarray(se2, dtype=float), np.asarray(tau2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = se2 * se2 / n_df + tau2 * tau2 / float(nu)
        df = np.where(den > 0, (se2 + tau2) ** 2 / den, n_df)
    return np.where(np.isnan(df), n_df, np.maximum(df, min(float(nu), 1.0)))


def _compact(years: np.ndarray, Z: np.ndarray, wmask: np.ndarray) -> tuple[np.ndarray, ...]:
    """The window points of every row packed to the left: columns, years, values, valid."""
    S, T = wmask.shape
    col = np.arange(T)
    W = int(wmask.sum(axis=1).max()) if S else 0
    W = max(W, 1)
    pos = np.sort(np.where(wmask, col[None, :], T), axis=1)[:, :W]
    valid = pos < T
    pc = np.minimum(pos, T - 1)
    tz = np.where(valid, years.astype(float)[pc], np.nan)
    zz = np.where(valid, np.take_along_axis(Z, pc, axis=1), np.nan)
    return pc, tz, zz, valid


def _nanmedian(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=1)


def threshold_by_points(table: Any, n: np.ndarray) -> np.ndarray:
    """Look up a detection threshold per window size: ``table`` maps a number of points to the
    threshold (``trend.yaml: robust.outlier_k`` / ``robust.break_f``), a scalar is used for every
    n; sizes beyond the table take its last entry, below it its first."""
    n = np.asarray(n)
    if not isinstance(table, dict):
        return np.full(n.shape, float(table))
    keys = np.array(sorted(int(k) for k in table), dtype=int)
    vals = np.array([float(table[k]) for k in keys])
    return vals[np.clip(np.searchsorted(keys, n, side="right") - 1, 0, len(keys) - 1)]


def _added_regressor(x: np.ndarray, keep: np.ndarray, nk: np.ndarray, dt: np.ndarray,
                     stt: np.ndarray, dz: np.ndarray, rss1: np.ndarray, noise: np.ndarray,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One regressor added to each row's line on its kept points (Frisch-Waugh).

    ``x`` (S, W) is residualised on the line (``dt`` the centred times, ``stt`` their sum of
    squares); returns the residualised regressor, its sum of squares, its coefficient on the
    centred values ``dz`` and the F statistic of adding it to the line (residual sum of squares
    ``rss1``, plus the rounding ``noise``, on ``nk - 3`` degrees of freedom): the step dummy and
    the turn's hinge of :func:`robust_fit`.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar = np.where(keep, x, 0.0).sum(axis=1) / nk
        dx = np.where(keep, x - xbar[:, None], 0.0)
        bx = np.where(stt > 0, (dt * dx).sum(axis=1) / stt, 0.0)
        xr = np.where(keep, dx - bx[:, None] * dt, 0.0)
        sxx = (xr * xr).sum(axis=1)
        sxz = (xr * dz).sum(axis=1)
        gain = np.where(sxx > 0, sxz * sxz / sxx, 0.0)
        coef = np.where(sxx > 0, sxz / sxx, 0.0)
        f = gain / ((np.maximum(rss1 - gain, 0.0) + noise) / np.maximum(nk - 3.0, 1.0))
    return xr, sxx, coef, f


def robust_fit(years: np.ndarray, Z: np.ndarray, wmask: np.ndarray, floor_z: np.ndarray, *,
               zlin: np.ndarray | None = None, detect: bool = True,
               outlier_k: Any = None, break_f: Any = None, kink_f: Any = None,
               diagnostics: dict[str, np.ndarray] | None = None,
               ) -> tuple[Fit, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Least-squares lines that one outlier or one step cannot drag (methods.md 5.1).

    For each row, on the points of its window:

    1. **Outliers.**  A Theil-Sen line (median of the pairwise slopes, median intercept) and
       the scale :math:`1.4826\\,\\mathrm{MAD}` of its residuals (at least the rounding step
       ``floor_z``); a point further than ``robust.outlier_k`` scales from it is left out of the
       fit, at most ``robust.max_outlier_share`` of the points and never the last one.
    2. **A step.**  For every split of the remaining points into an earlier and a later run (at
       least ``robust.min_segment`` points each), the line with a level shift at the split
       (common slope) against the single line: the F statistic
       :math:`(RSS_1 - RSS_s)/(RSS_s/(n-3))` of the best split, with the residual sum floored by
       the rounding noise.  Above ``robust.break_f`` and with a shift of at least
       ``robust.min_shift_steps`` rounding steps, the earlier points are moved by the estimated
       shift, so the line continues from the new level with the common slope (flat 50, 50, 50,
       60, 60, 60 is projected at 60, not as a trend to 65).
    3. **A turn.**  Only where no step was found: for every kept point :math:`\tau` with at
       least ``robust.kink_min_before`` points up to it and ``robust.kink_min_after`` from it,
       the continuous broken line (the hinge :math:`\max(0, t - \tau)` added to the line)
       against the single line: the F statistic of the best :math:`\tau` (a sup-F, Andrews
       1993), with the same rounding floor.  Above ``robust.kink_f`` and with a change of
       slope that moves the last point by at least ``robust.min_shift_steps`` rounding steps,
       the fit starts at :math:`\tau`: a series that rose for five years and has fallen for
       three is projected from its fall, not from a line through both (methods.md 5.1, 8.9
       eighth follow-up).
    4. **OLS** on the kept (and shifted) points from the turn on:
       :class:`~fzanalysis.trend.core.Fit`.

    Parameters
    ----------
    years : (T,) calendar years.  Z : (S, T) model-scale values.  wmask : (S, T) window points.
    floor_z : (S,) rounding step on the model scale.
    zlin : (S, T), optional
        The values on the linearised scale :math:`z_{lin} = g'(\\tilde y)\\,y` (``g'`` the
        derivative of the model scale at the median value :math:`\\tilde y` of the window; the
        values themselves for linear rows; default ``Z``).  The jumps (``jump2``) are MEASURED
        there, in value units, i.e. by the delta method at the window's own level: near a bound
        the logit stretches a move of two points from 97.7 % to 99.8 % into 2.4 logit units
        (30 times the same two points from 50 % to 52 %), so a near-100 % series with ordinary noise
        got a jump variance that blew its interval up to the whole range (demo syphilis testing,
        99.7 % with 7.6-100).  The step test and the shift stay on the model scale.
    detect : bool
        False: no outliers and no step are looked for (plain OLS on the window).
    outlier_k, break_f, kink_f : float, dict or None
        Thresholds (default ``trend.yaml: robust.outlier_k`` / ``robust.break_f`` /
        ``robust.kink_f``: tables by the number of window points, each the 99th percentile of
        its statistic on pure noise, so that a straight line with independent noise loses a
        point, gets a step, or gets a turn in about 1 % of windows each;
        :func:`fzanalysis.trend.calibration.noise_thresholds`).
    diagnostics : dict, optional
        Filled with the detection statistics per row: ``outlier_ratio`` (largest |residual| /
        robust scale among the points that may be left out), ``break_f`` (F of the best split)
        and ``kink_f`` (F of the best turn; 0 where a step was found or none is possible).

    Returns
    -------
    fit : Fit
    fmask : (S, T) bool, the points used.
    jump2 : (S,) per-year variance of the moves off the trend on the model scale: the mean
        square of the year-to-year changes (per year, linearised scale) about the slope, less
        the part the residual noise explains (2 s^2), at least 0.
    break_year : (S,) first year after the detected step (NaN: none).
    n_outliers : (S,) points left out as outliers (not the points before a turn).
    turn_year : (S,) year of the detected turn, the first point of the fit (NaN: none).
    """
    conf = settings()["robust"]
    S, T = wmask.shape
    pc, tz, zz, valid = _compact(years, Z, wmask)
    W = tz.shape[1]
    n = valid.sum(axis=1)
    rows = np.arange(S)
    # 1. outliers from a Theil-Sen line
    look = detect or diagnostics is not None   # robust=False: plain OLS, nothing to look for
    if look:
        ii, jj = np.triu_indices(W, k=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            slopes = (zz[:, jj] - zz[:, ii]) / (tz[:, jj] - tz[:, ii])
        b_ts = _nanmedian(slopes) if len(ii) else np.full(S, np.nan)
        b_ts = np.where(np.isfinite(b_ts), b_ts, 0.0)
        a_ts = _nanmedian(zz - b_ts[:, None] * tz)
        r = zz - a_ts[:, None] - b_ts[:, None] * tz
        mad = 1.4826 * _nanmedian(np.abs(r))
        scale = np.maximum(np.nan_to_num(mad, nan=0.0), floor_z)
        k_out = threshold_by_points(conf["outlier_k"] if outlier_k is None else outlier_k, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(valid, np.abs(r) / scale[:, None], 0.0)
        last_pos = np.maximum(n - 1, 0)
        ratio[rows, last_pos] = 0.0
        far = valid & (ratio > k_out[:, None])
    else:
        ratio = np.zeros((S, W))
        far = np.zeros((S, W), dtype=bool)
    n_far = far.sum(axis=1)
    allowed = (n_far <= np.floor(float(conf["max_outlier_share"]) * n)) & (n >= 5)
    far &= allowed[:, None] & detect
    keep = valid & ~far
    # 2. a step: level shift with a common slope, best split by F (model scale); the same split's
    # shift on the linearised scale adjusts the points the jumps are measured on
    zl = zz if zlin is None else np.where(valid, np.take_along_axis(zlin, pc, axis=1), np.nan)
    m = keep.astype(float)
    nk = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbar = np.nansum(np.where(keep, tz, 0.0), axis=1) / nk
        dt = np.where(keep, tz - tbar[:, None], 0.0)
        stt = (dt * dt).sum(axis=1)
        zbar = np.nansum(np.where(keep, zz, 0.0), axis=1) / nk
        dz = np.where(keep, zz - zbar[:, None], 0.0)
        lbar = np.nansum(np.where(keep, zl, 0.0), axis=1) / nk
        dl = np.where(keep, zl - lbar[:, None], 0.0)
        b1 = np.where(stt > 0, (dt * dz).sum(axis=1) / stt, 0.0)
        rss1 = ((dz - b1[:, None] * dt) ** 2).sum(axis=1)
    # position of each kept point among the kept points
    rank = np.cumsum(keep, axis=1) - 1
    min_seg = int(conf["min_segment"])
    best_f = np.zeros(S)
    best_k = np.full(S, -1)
    best_shift = np.zeros(S)        # model scale
    best_shift_l = np.zeros(S)      # linearised scale (for the jumps)
    noise = nk * floor_z ** 2 / 12.0
    for k in range(min_seg, W - min_seg + 1) if look else ():
        d = (keep & (rank >= k)).astype(float)
        ok = (nk - k >= min_seg) & (nk >= 2 * min_seg) & (nk >= 5)
        if not ok.any():
            continue
        dr, sdd, shift, f = _added_regressor(d, keep, nk, dt, stt, dz, rss1, noise)
        with np.errstate(invalid="ignore", divide="ignore"):
            shift_l = np.where(sdd > 0, (dr * dl).sum(axis=1) / sdd, 0.0)
        better = ok & np.isfinite(f) & (f > best_f)
        best_f = np.where(better, f, best_f)
        best_k = np.where(better, k, best_k)
        best_shift = np.where(better, shift, best_shift)
        best_shift_l = np.where(better, shift_l, best_shift_l)
    f_crit = threshold_by_points(conf["break_f"] if break_f is None else break_f, n)
    if diagnostics is not None:
        diagnostics["outlier_ratio"] = np.nan_to_num(ratio, nan=0.0).max(axis=1) if W else np.zeros(S)
        diagnostics["break_f"] = best_f
    step = detect & (best_k >= 0) & (best_f > f_crit) \
        & (np.abs(best_shift) >= float(conf["min_shift_steps"]) * floor_z)
    # 3. a turn (joinpoint), only where no step was found: the continuous broken line (a hinge
    # max(0, t - tau) added to the line, tau a kept point) against the single line, sup-F over tau
    kmin_b, kmin_a = int(conf["kink_min_before"]), int(conf["kink_min_after"])
    best_kf = np.zeros(S)
    best_kk = np.full(S, -1)
    for k in range(kmin_b - 1, W - kmin_a + 1) if look else ():
        ok = ~step & (nk - k >= kmin_a) & (nk >= 5)
        if not ok.any():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            tk = np.max(np.where(keep & (rank == k), tz, -np.inf), axis=1)
            hv = np.where(keep, np.maximum(tz - tk[:, None], 0.0), 0.0)
        _, _, c, f = _added_regressor(hv, keep, nk, dt, stt, dz, rss1, noise)
        with np.errstate(invalid="ignore"):
            # the turn must move the last point by at least min_shift_steps rounding steps
            span = np.max(np.where(keep, tz, -np.inf), axis=1) - tk
            big = np.abs(c) * span >= float(conf["min_shift_steps"]) * floor_z
        better = ok & np.isfinite(f) & big & (f > best_kf)
        best_kf = np.where(better, f, best_kf)
        best_kk = np.where(better, k, best_kk)
    kf_crit = threshold_by_points(conf["kink_f"] if kink_f is None else kink_f, n)
    if diagnostics is not None:
        diagnostics["kink_f"] = best_kf
    turn = detect & (best_kk >= 0) & (best_kf > kf_crit)
    at_kk = keep & (rank == best_kk[:, None]) & turn[:, None]
    turn_year = np.where(turn, np.max(np.where(at_kk, tz, -np.inf), axis=1), np.nan)
    n_left = (~keep & valid).sum(axis=1)
    # the fit starts at the turn: the points before it are history, not outliers
    keep = keep & ~(turn[:, None] & (rank < best_kk[:, None]))
    pre = keep & (rank < best_k[:, None]) & step[:, None]
    zadj_c = np.where(pre, zz + best_shift[:, None], zz)
    ladj_c = np.where(pre, zl + best_shift_l[:, None], zl)
    # break year: the first kept point at rank best_k
    at_k = keep & (rank == best_k[:, None]) & step[:, None]
    break_year = np.where(step, np.nanmax(np.where(at_k, tz, -np.inf), axis=1), np.nan)
    # 4. OLS on the kept (shifted) points, back on the full grid
    fmask = np.zeros((S, T), dtype=bool)
    Zadj = np.full((S, T), np.nan)
    Ladj = np.full((S, T), np.nan)
    ri, ci = np.nonzero(keep)
    fmask[ri, pc[ri, ci]] = True
    Zadj[ri, pc[ri, ci]] = zadj_c[ri, ci]
    Ladj[ri, pc[ri, ci]] = ladj_c[ri, ci]
    fmask &= wmask
    fit = fit_lines(years, Zadj, fmask)
    lfit = fit if zlin is None else fit_lines(years, Ladj, fmask)
    # jumps: year-to-year changes (per year) of the raw window points about the slope, on the
    # linearised scale (value units x g'(median)), with that scale's own slope and noise
    with np.errstate(invalid="ignore", divide="ignore"):
        # consecutive kept points (after dropping outliers the neighbours may not be adjacent)
        zk = np.where(keep, zl, np.nan)
        tk = np.where(keep, tz, np.nan)
        order = np.argsort(~keep, axis=1, kind="stable")
        zk = np.take_along_axis(zk, order, axis=1)
        tk = np.take_along_axis(tk, order, axis=1)
        dzc, dtc = np.diff(zk, axis=1), np.diff(tk, axis=1)
        rate = dzc / dtc
        dev2 = (rate - np.nan_to_num(lfit.b)[:, None]) ** 2 * dtc
        ndiff = np.isfinite(dev2).sum(axis=1)
        ms = np.where(ndiff > 0, np.nansum(dev2, axis=1) / np.maximum(np.nansum(
            np.where(np.isfinite(dev2), dtc, 0.0), axis=1), 1.0), np.nan)
        s2 = np.nan_to_num(lfit.s2, nan=0.0)
        jump2 = np.maximum(np.nan_to_num(ms, nan=0.0) - 2.0 * s2, 0.0)
    return fit, fmask, jump2, break_year, n_left, turn_year


def _floor_z(M: SeriesMatrix, mcode: np.ndarray, level_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rounding step of each series and its size on the model scale at ``level_y``."""
    step = resolution(M.Y, M.mask)
    sq = settings()["logit_squeeze"]
    lo, hi = M.lower, M.upper
    y0 = np.nan_to_num(level_y, nan=0.0)
    g = lambda y: transform(y, mcode, lo, hi, squeeze=sq)  # noqa: E731
    with np.errstate(invalid="ignore"):
        up = g(y0 + step / 2.0)
        dn = g(y0 - step / 2.0)
        dz = np.abs(up - dn)
        # at a bound one side is clipped: use the open side twice
        dz = np.where(np.isfinite(up) & np.isfinite(dn) & (dz > 0), dz,
                      2 * np.abs(np.where(np.isfinite(up), up, dn) - g(y0)))
    return step, np.where(np.isfinite(dz), dz, 0.0)


def fit_all(M: SeriesMatrix, mcode: np.ndarray, *, window: int | None,
            upto: int | None = None, robust: bool = True) -> tuple[Fit, np.ndarray, np.ndarray, np.ndarray,
                                              np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                              np.ndarray]:
    """Robust least-squares fits of every (non-Poisson) series on its window up to column ``upto``.

    Returns ``fit, fmask, jump2, floor2, step, break_year, n_outliers, naive_v, outliers,
    turn_year`` (:func:`robust_fit`; ``floor2`` the rounding variance on the model scale,
    ``step`` the rounding step, ``naive_v`` the :func:`naive_variance` of the kept points in the
    indicator's units, ``outliers`` the (S, T) mask of the window's points the robust fit left
    out as outliers, not those before a turn).
    """
    T = len(M.years)
    obs = M.mask.copy()
    if upto is not None:
        obs[:, upto + 1:] = False
    Z = model_scale(M, mcode)
    wmask = window_mask(obs & np.isfinite(Z) & (mcode != M_POISSON)[:, None], window)
    col = np.arange(T)
    last_col = np.where(obs, col, -1).max(axis=1)
    rows = np.arange(len(mcode))
    level_y = np.where(last_col >= 0, M.Y[rows, np.maximum(last_col, 0)], np.nan)
    step, fz = _floor_z(M, mcode, level_y)
    dg = _slope_at_median(M, mcode, wmask)
    fit, fmask, jump2, brk, nout, turn = robust_fit(M.years, Z, wmask, fz,
                                                    zlin=dg[:, None] * M.Y, detect=robust)
    # the random-walk variance of the naive part, in the indicator's units
    naive_v = naive_variance(M.years, M.Y, fmask)
    with np.errstate(invalid="ignore"):
        before_turn = M.years[None, :] < turn[:, None]
    return (fit, fmask, jump2, fz ** 2 / 12.0, step, brk, nout, naive_v,
            wmask & ~fmask & ~before_turn, turn)


def _slope_at_median(M: SeriesMatrix, mcode: np.ndarray, wmask: np.ndarray) -> np.ndarray:
    """(S,) :math:`g'(\\tilde y)`: derivative of each series' model scale at the median value of
    its window (1 for linear; :math:`1/\\tilde y` for log; :math:`1/((U-L)p(1-p))` for logit,
    p squeezed as in :func:`~fzanalysis.trend.core.transform`), so that ``g'(median) * y`` is the
    value-unit scale on which :func:`robust_fit` measures steps and jumps."""
    return slope_at(_nanmedian(np.where(wmask, M.Y, np.nan)), mcode, M.lower, M.upper)


def slope_at(med: np.ndarray, mcode: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """:math:`g'(y)` of each series' model scale at ``med`` (1 where undefined)."""
    sq = settings()["logit_squeeze"]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.clip((med - lo) / (hi - lo), sq, 1.0 - sq)
        d_logit = 1.0 / ((hi - lo) * p * (1.0 - p))
        d_log = 1.0 / med
    d = np.where(mcode == M_LOGIT, d_logit, np.where(mcode == M_LOG, d_log, 1.0))
    return np.where(np.isfinite(d) & (d > 0), d, 1.0)


def rolling_abs_error(
    M: SeriesMatrix, mcode: np.ndarray, *, horizon: int, min_train: int, window: int | None,
    damping: float = 1.0, damping_weight: float = 1.0, upto: int | None = None,
    calibrated: bool = True,
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
        # only the origin rows, and only the columns up to k from the earliest window start
        # (the fit on the other columns' zero weights is the same)
        rows = np.flatnonzero(origin)
        train = ok[rows, :k + 1]
        if window is not None:
            first = count_up_to[rows, k][:, None] - count_up_to[rows, :k + 1]   # points after c
            train = train & (first < window)
        c0 = int(np.argmax(train.any(axis=0)))
        fit = fit_lines(M.years[c0:k + 1], Z[rows, c0:k + 1], train[:, c0:])
        mc, lo_r, hi_r = mcode[rows], lo[rows], hi[rows]
        for h in range(1, horizon + 1):
            j = k + h
            if j > last:
                break
            hit = ok[rows, j]
            if not hit.any():
                continue
            t_eff = centre_time(np.full(len(rows), float(M.years[j])), float(M.years[k]),
                                trend_shrink(fit.b, fit.se_slope(), calibrated=calibrated),
                                damping, damping_weight)
            pred = inverse(fit.mean(t_eff), mc, lo_r, hi_r)
            err = np.abs(M.Y[rows, j] - pred)
            good = hit & np.isfinite(err)
            total[rows[good]] += err[good]
            count[rows[good]] += 1
    return total, count


def choose_methods(M: SeriesMatrix, method: str, *, window: int | None, damping: float = 1.0,
                   damping_weight: float = 1.0, upto: int | None = None,
                   calibrated: bool = True) -> np.ndarray:
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
                                     damping=damping, damping_weight=damping_weight,
                                     upto=upto, calibrated=calibrated)
        with np.errstate(invalid="ignore", divide="ignore"):
            mae[:, code] = np.where(rows & (cnt > 0), tot / cnt, np.inf)
        enough |= rows & (cnt >= conf["auto_min_errors"])
    best = np.argmin(mae, axis=1)
    default_mae = mae[np.arange(len(default)), default]
    best_mae = mae[np.arange(len(default)), best]
    chosen = np.where(best_mae < default_mae, best, default)
    return np.where(poisson_auto(M), M_POISSON, np.where(enough, chosen, default))


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


def path_moments(model: Model, t: np.ndarray, *, calibrated: bool | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of the predictive distribution on the model scale at years ``t`` (S, H).

    Beyond each series' last observed year the (partly) damped effective time is used
    (:func:`~fzanalysis.trend.core.effective_time`).  Least-squares rows: the fitted line and
    :math:`\\sqrt{\\mathrm{se}^2 + \\tau^2(h) + \\text{floor}(h)}` (OLS predictive SE, bend and
    jump variance :func:`bend_variance`, rounding floor :func:`floor_variance`); Poisson rows:
    the log expected rate (x scale) and its SE (interval of the underlying rate, methods.md 5.4).
    ``calibrated=False`` leaves out the bend variance (the central path does not need it).
    """
    cal = model.calibrated if calibrated is None else calibrated
    last = model.last_year.astype(float)[:, None]
    fit, pfit, pois = model.fit, model.pfit, model.pois[:, None]
    te = centre_time(t, last, np.where(pois, 1.0, model.shrink[:, None]), model.damping,
                     model.damping_weight)
    h = t - last
    z_o = fit.mean(te)
    s_o = np.sqrt(fit.se_pred(te) ** 2
                  + bend_variance(h, fit.b[:, None], fit.se_slope()[:, None],
                                  model.jump2[:, None], calibrated=cal)
                  + (floor_variance(model.floor2[:, None], h) if cal else 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z_p = pfit.mean(te) + np.log(model.scale)[:, None]
    s_p = pfit.se_mean(te)
    return np.where(pois, z_p, z_o), np.where(pois, s_p, s_o)


def _cdf(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    return np.where(np.isinf(df), stats.norm.cdf(x), t_cdf(x, df))


class Mixture(NamedTuple):
    """The predictive distribution of the target-year value (methods.md 5, 8.9 fifth follow-up).

    A two-part mixture (forecast combination): with weight ``1 - w`` the trend predictive
    :math:`g^{-1}(z_1 + s_1 t_{\\nu})` of :func:`path_moments` (model scale ``mcode``, bounds
    ``lower``/``upper``), with weight ``w`` the naive "no further trend" predictive
    :math:`y_0 + s_0 t_{\\nu_b}` in the indicator's own units (the fitted level at the last
    observed year, spread growing like a random walk's), clipped to the bounds like a linear
    fit.  Arrays of one shape; ``w`` = 0 is the single trend predictive exactly.
    """

    w: np.ndarray
    z1: np.ndarray
    s1: np.ndarray
    df1: np.ndarray
    y0: np.ndarray
    s0: np.ndarray
    df0: np.ndarray
    mcode: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def mixture_moments(model: Model, t: np.ndarray, lower: np.ndarray,
                    upper: np.ndarray) -> Mixture:
    """The predictive :class:`Mixture` of every series at years ``t`` (S, H); ``lower``,
    ``upper`` (S,) the unit's bounds.

    Trend part: :func:`path_moments` and the model's degrees of freedom.  No-trend part, in the
    indicator's units: centre the fitted level :math:`y_L` at the last observed year, variance
    :func:`no_trend_sd`, t with :func:`no_trend_df` degrees of freedom; weight
    :func:`no_trend_weight` beyond the last observation (h >= 1), 0 in fitted years, for Poisson
    rows and when not calibrated.
    """
    t = np.asarray(t, dtype=float)
    z1, s1 = path_moments(model, t)
    shape = z1.shape
    last = model.last_year.astype(float)[:, None]
    h = t - last
    s0 = no_trend_sd(model.level_var[:, None], model.round2[:, None], model.naive_v[:, None], h)
    y0 = np.broadcast_to(model.level_y[:, None], shape)
    w = np.where((h >= 1) & np.isfinite(y0) & np.isfinite(s0) & model.calibrated,
                 model.mix_w[:, None], 0.0)
    b = lambda a: np.broadcast_to(np.asarray(a)[:, None], shape)  # noqa: E731
    return Mixture(w=np.broadcast_to(w, shape), z1=z1, s1=s1,
                   df1=b(np.asarray(model.df, dtype=float)), y0=y0,
                   s0=np.broadcast_to(s0, shape), df0=b(no_trend_df(model.fit.df)),
                   mcode=b(model.mcode), lower=b(lower), upper=b(upper))


def no_trend_sd(level_var: Any, round2: Any, naive_v: Any, h: Any) -> np.ndarray:
    """Scale of the "no further trend" component at horizon ``h``, in the indicator's units:
    :math:`\\sqrt{\\mathrm{se}(y_L)^2 + r(1 + h) + \\kappa\\,h\\,v}` (``level_var`` the
    predictive variance of the fitted level at the last observed year, ``round2`` = r the
    variance step^2/12 of the rounding of published values, ``naive_v`` the random-walk
    variance of :func:`naive_variance`, :math:`\\kappa` = ``trend.yaml: no_trend.spread``).
    The naive forecast of Hyndman & Athanasopoulos (*Forecasting: Principles and Practice*,
    3rd ed., 5.5), whose h-step variance grows like h.  Broadcasts."""
    kappa = float((settings().get("no_trend") or {}).get("spread") or 0.0)
    h = np.asarray(h, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.asarray(level_var, dtype=float) + floor_variance(round2, h)
                       + kappa * np.maximum(h, 0.0) * np.nan_to_num(naive_v, nan=0.0))


def no_trend_df(n_df: Any) -> np.ndarray:
    """Degrees of freedom of the "no further trend" component: ``trend.yaml: predictive_df``
    (the heavy tails of the bend part: a series that stops trending may also jump or step),
    the fit's n - 2 when that setting is null.  Chosen on dev by the log score (methods.md 8.9:
    t_{n-2} scored worse)."""
    nu = settings().get("predictive_df")
    n_df = np.asarray(n_df, dtype=float)
    return n_df if nu is None else np.full(n_df.shape, float(nu))


def _component_cdf(x: np.ndarray, c: np.ndarray, s: np.ndarray, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, _cdf((x - c) / np.where(s > 0, s, 1.0), df),
                        np.where(np.isnan(c) | np.isnan(x), np.nan, (x >= c).astype(float)))


def _component_ppf(p: float, c: np.ndarray, s: np.ndarray, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        x = np.where(np.isinf(df), stats.norm.ppf(p), stats.t.ppf(p, np.where(df >= 1, df, np.nan)))
        return np.where(s > 0, c + s * x, c)


def _trend_cdf(y: np.ndarray, mix: Mixture) -> np.ndarray:
    """P(trend part <= y), y in the indicator's units (the back-transform is monotone; the
    values are clipped to the bounds, so the CDF is 0 below ``lower`` and 1 from ``upper``).
    Read without the logit squeeze, so that it inverts :func:`~fzanalysis.trend.core.inverse`
    also within 0.05 points of a bound."""
    sq = 0.0
    inside = (~np.isfinite(mix.lower) | (y >= mix.lower)) & (~np.isfinite(mix.upper) | (y < mix.upper))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = transform(np.where(inside, y, np.nan), mix.mcode, mix.lower, mix.upper, squeeze=sq)
        is_log = (mix.mcode == M_LOG) | (mix.mcode == M_POISSON)
        z = np.where(is_log & inside & (y <= 0), -np.inf, z)
    f = _component_cdf(z, mix.z1, mix.s1, mix.df1)
    return np.where(inside, f, np.where(np.isfinite(mix.upper) & (y >= mix.upper), 1.0, 0.0))


def _naive_cdf(y: np.ndarray, mix: Mixture) -> np.ndarray:
    f = _component_cdf(y, mix.y0, mix.s0, mix.df0)
    f = np.where(np.isfinite(mix.upper) & (y >= mix.upper), 1.0, f)
    return np.where(np.isfinite(mix.lower) & (y < mix.lower), 0.0, f)


def mixture_cdf(y: np.ndarray, mix: Mixture) -> np.ndarray:
    """:math:`P(Y \\le y)` under the predictive :class:`Mixture` (``y`` in the indicator's units)."""
    f1 = _trend_cdf(y, mix)
    f0 = np.where(mix.w > 0, _naive_cdf(y, mix), 0.0)
    return (1.0 - mix.w) * f1 + mix.w * f0


def mixture_quantile(p: float, mix: Mixture, *, tol: float = 1e-12,
                     max_iter: int = 200) -> np.ndarray:
    """The ``p``-quantile of the predictive :class:`Mixture`, in the indicator's units.

    Numeric inversion of :func:`mixture_cdf` (vectorised): the quantile of a mixture lies
    between the smallest and the largest ``p``-quantile of its components (below the first
    every component's CDF is at most ``p``, above the second at least ``p``), which brackets
    the root; regula falsi with the Illinois modification (derivative-free, superlinear, never
    leaves the bracket) until the bracket is below ``tol`` relative or the CDF error below
    ``tol``.  Where ``w`` = 0 the trend part's own quantile (closed form), so the
    single-predictive engine is reproduced.  The central projection is the median, ``p`` = 0.5.
    """
    q1 = inverse(_component_ppf(p, mix.z1, mix.s1, mix.df1), mix.mcode, mix.lower, mix.upper)
    mixed = np.asarray(mix.w) > 0
    if not np.any(mixed):
        return q1
    q0 = _component_ppf(p, mix.y0, mix.s0, mix.df0)
    q0 = np.where(np.isfinite(mix.lower), np.maximum(q0, mix.lower), q0)
    q0 = np.where(np.isfinite(mix.upper), np.minimum(q0, mix.upper), q0)
    lo = np.where(mixed, np.fmin(q1, q0), q1)
    hi = np.where(mixed, np.fmax(q1, q0), q1)
    idx = np.nonzero(mixed & np.isfinite(lo) & np.isfinite(hi) & (hi > lo))
    out = np.where(mixed, lo, q1)
    if len(idx[0]):
        sub = Mixture(*(np.broadcast_to(a, mixed.shape)[idx] for a in mix))
        a, b = lo[idx].copy(), hi[idx].copy()
        fa = mixture_cdf(a, sub) - p
        fb = mixture_cdf(b, sub) - p
        x = a.copy()
        todo = (fa < 0) & (fb > 0)
        x = np.where(fa >= 0, a, b)           # a root at an end of the bracket (point masses)
        side = np.zeros(len(a))
        for _ in range(max_iter):
            if not todo.any():
                break
            k = np.flatnonzero(todo)
            part = Mixture(*(v[k] for v in sub))
            with np.errstate(invalid="ignore", divide="ignore"):
                xr = (a[k] * fb[k] - b[k] * fa[k]) / (fb[k] - fa[k])
            xr = np.where(np.isfinite(xr) & (xr > a[k]) & (xr < b[k]), xr, 0.5 * (a[k] + b[k]))
            fr = mixture_cdf(xr, part) - p
            left = fr < 0                      # root in (xr, b)
            a[k] = np.where(left, xr, a[k])
            fa[k] = np.where(left, fr, fa[k])
            b[k] = np.where(left, b[k], xr)
            fb[k] = np.where(left, fb[k], fr)
            # Illinois: halve the stale end's value when the same end is kept twice
            fb[k] = np.where(left & (side[k] == 1), fb[k] / 2, fb[k])
            fa[k] = np.where(~left & (side[k] == -1), fa[k] / 2, fa[k])
            side[k] = np.where(left, 1, -1)
            # the quantile is the smallest y with F(y) >= p: xr if it solves F = p, else the
            # right end of the bracket (at a jump of F -- a point mass at a bound -- it is the jump)
            x[k] = np.where(np.abs(fr) <= tol, xr, b[k])
            done = (np.abs(fr) <= tol) | (b[k] - a[k] <= tol * np.maximum(1.0, np.abs(xr)))
            todo[k[done]] = False
        out = out.copy()
        out[idx] = x
    return out


def mixture_probability(lo_y: np.ndarray, hi_y: np.ndarray, *, step: np.ndarray,
                        mix: Mixture, at_lower: Any = True, at_upper: Any = True,
                        lo_open: Any = False, hi_open: Any = False) -> np.ndarray:
    """Predictive probability of ``[lo_y, hi_y]`` under the :class:`Mixture`: the weighted sum
    of the parts' :func:`region_probability` (the one reading of a target region; the naive
    part as a linear, bound-clipped predictive in the indicator's units).  ``at_lower`` /
    ``at_upper``, ``lo_open`` / ``hi_open``: as in :func:`region_probability`."""
    kw = dict(lower=mix.lower, upper=mix.upper, step=step, at_lower=at_lower, at_upper=at_upper,
              lo_open=lo_open, hi_open=hi_open)
    p1 = region_probability(lo_y, hi_y, mcode=mix.mcode, zhat=mix.z1, sigma=mix.s1,
                            df=mix.df1, **kw)
    if not np.any(mix.w > 0):
        return p1
    p0 = region_probability(lo_y, hi_y, mcode=np.full(np.shape(mix.mcode), M_LINEAR),
                            zhat=mix.y0, sigma=mix.s0, df=mix.df0, **kw)
    return np.where(mix.w > 0, (1.0 - mix.w) * p1 + mix.w * p0, p1)


def published_at_bounds(M: SeriesMatrix, step: np.ndarray,
                        pois: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Has each series been published at its lower / upper bound (methods.md 5 (5))?

    A target exactly at a bound is read as "published as the bound" (within half a rounding
    ``step``, :func:`region_probability`) only where the series' own observed values have been
    within half a step of that bound: a source that caps its figures below 100 % (WUENIC
    publishes at most 99) never meets a target of 100 %, while a series that has been published
    at 0 or 100 % can be again.  Capping is a habit of sources of bounded shares; a quantity
    with no upper bound -- a count (family-education centres, shelters), a rate of events, money
    -- can always be published as 0, as can every Poisson row: for them the lower bound is an
    ordinary figure.  (A count published as 1 every year had its ">= 1" read as "> 0", certain on
    the log scale: p_meet 0.94 beside an 80 % interval starting at 0.3.)
    """
    lo, hi = M.lower, M.upper
    with np.errstate(invalid="ignore"):
        at_lower = np.any(M.mask & (M.Y <= (lo + step / 2.0)[:, None]), axis=1)
        at_upper = np.any(M.mask & (M.Y >= (hi - step / 2.0)[:, None]), axis=1)
    return at_lower | np.asarray(pois, dtype=bool) | ~np.isfinite(hi), at_upper


def published_edges(lo_y: Any, hi_y: Any, *, lower: Any, upper: Any, step: Any,
                    at_lower: Any = True, at_upper: Any = True, lo_open: Any = False,
                    hi_open: Any = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The target region's edges as published figures are judged (methods.md 5 (5)).

    A target is met by the *published* figure, the value rounded to the series' step ``s``
    (:func:`fzanalysis.trend.prep.resolution`: integer percentages, two decimals ...).  So the
    edge of the region on the value's continuous scale is half a step short of the first
    publishable figure that meets it (a continuity correction): ">= 96" with integer figures is
    met by a value of 95.5 or more, "> 0" by 0.5 or more, "<= 0" by less than 0.5; with figures to
    two decimals the edges move by 0.005.  ``lo_open`` / ``hi_open``
    (:func:`fzanalysis.comparators.region`) say which publishable figure is the first: "> 96"
    needs 97.  Thus P(<= c) + P(> c) = 1 for every c.

    A source that has never published a bound (``at_lower`` / ``at_upper`` False,
    :func:`published_at_bounds`: WUENIC publishes at most 99 %) is read at that bound on the
    continuous scale, as before: ">= 100 %" is P(value >= 100), and its complement "< 100 %"
    (or "<= 99") P(value < 100), so the two still sum to one.

    Returns ``lo_e, hi_e, lo_open_e, hi_open_e``: the edges on the value's scale and whether each
    excludes its own point (only an edge at a bound read as itself can be open: "< 100 %" of a
    capped source).  The one reading of a target for :func:`region_probability`, for whether
    the central projection meets it (:func:`run`: ``meets_published``) and for ``year_reached``.
    """
    s = np.asarray(step, dtype=float)
    lo_y = np.asarray(lo_y, dtype=float)
    hi_y = np.asarray(hi_y, dtype=float)
    eps = 1e-9
    with np.errstate(invalid="ignore", over="ignore"):
        # first publishable figure meeting a lower edge, last one meeting an upper edge (a target
        # on the grid by resolution()'s own tolerance is a publishable figure)
        q_lo, q_hi = lo_y / s, hi_y / s
        r_lo, on_lo = on_grid(q_lo)
        r_hi, on_hi = on_grid(q_hi)
        first = np.where(on_lo, r_lo + np.where(lo_open, 1.0, 0.0), np.ceil(q_lo)) * s
        last = np.where(on_hi, r_hi - np.where(hi_open, 1.0, 0.0), np.floor(q_hi)) * s
        lo_e = np.where(np.isfinite(lo_y), first - s / 2.0, lo_y)
        hi_e = np.where(np.isfinite(hi_y), last + s / 2.0, hi_y)

        def at(x: np.ndarray, b: Any) -> np.ndarray:
            return np.abs(x - b) <= eps * np.maximum(1.0, np.abs(b))

        # a bound the source never publishes: the edge between it and the next figure is the
        # bound itself (">= 100" closed, "< 100" / "<= 99" open; "<= 0" closed, "> 0" open)
        cap_u = np.isfinite(upper) & ~np.asarray(at_upper, bool)
        cap_l = np.isfinite(lower) & ~np.asarray(at_lower, bool)
        lo_at_u = cap_u & np.isfinite(lo_y) & at(first, upper)
        hi_at_u = cap_u & np.isfinite(hi_y) & at(last, upper - s)
        hi_at_l = cap_l & np.isfinite(hi_y) & at(last, lower)
        lo_at_l = cap_l & np.isfinite(lo_y) & at(first, lower + s)
        lo_e = np.where(lo_at_u | lo_at_l, np.where(lo_at_u, upper, lower), lo_e)
        hi_e = np.where(hi_at_u | hi_at_l, np.where(hi_at_u, upper, lower), hi_e)
    return lo_e, hi_e, lo_at_l, hi_at_u


def region_probability(lo_y: np.ndarray, hi_y: np.ndarray, *, mcode: np.ndarray,
                       lower: np.ndarray, upper: np.ndarray, step: np.ndarray,
                       zhat: np.ndarray, sigma: np.ndarray, df: np.ndarray,
                       at_lower: Any = True, at_upper: Any = True, lo_open: Any = False,
                       hi_open: Any = False) -> np.ndarray:
    """Predictive probability that the value lies in ``[lo_y, hi_y]`` (methods.md 5.3).

    The value is :math:`g^{-1}(\\hat z + \\sigma t_{df})` (``df`` = inf: normal), clipped to the
    unit's bounds.  The edges are those of the published figure (:func:`published_edges`: half
    a rounding ``step`` short of the first publishable figure that meets the target), so a
    ``<=`` target at 0 or a ``>=`` target at 100 % keeps a probability above 0 (the transformed
    bound itself may be -inf, e.g. log 0) -- where the series' source publishes that bound:
    ``at_lower`` / ``at_upper`` (bool, per series; :func:`run` sets them from the series' own
    history, methods.md 5 (5)).  Elsewhere such a bound is read as itself (on the logit scale,
    its squeezed value), and an open edge there (``lo_open`` / ``hi_open``) excludes the
    clipped predictive's mass at the bound.  An edge beyond a bound is no constraint.
    """
    sq = settings()["logit_squeeze"]
    lo_e, hi_e, lo_o, hi_o = published_edges(lo_y, hi_y, lower=lower, upper=upper, step=step,
                                             at_lower=at_lower, at_upper=at_upper,
                                             lo_open=lo_open, hi_open=hi_open)
    with np.errstate(invalid="ignore"):
        # an edge beyond a bound constrains nothing; an open edge AT the bound excludes its mass
        lo_free = ~np.isfinite(lo_e) | (np.isfinite(lower) & ((lo_e < lower) | ((lo_e <= lower) & ~lo_o)))
        hi_free = ~np.isfinite(hi_e) | (np.isfinite(upper) & ((hi_e > upper) | ((hi_e >= upper) & ~hi_o)))
        g_lo = transform(np.where(lo_free, np.nan, lo_e), mcode, lower, upper, squeeze=sq)
        g_hi = transform(np.where(hi_free, np.nan, hi_e), mcode, lower, upper, squeeze=sq)
        # log scale: an edge <= 0 is -inf
        is_log = (mcode == M_LOG) | (mcode == M_POISSON)
        g_lo = np.where(is_log & ~lo_free & (lo_e <= 0), -np.inf, g_lo)
        g_hi = np.where(is_log & ~hi_free & (hi_e <= 0), -np.inf, g_hi)
        s = np.where(sigma > 0, sigma, np.nan)
        # no spread: the value is zhat itself, in the region or not (open edges exclude it)
        p_hi = np.where(hi_free, 1.0, np.where(sigma > 0, _cdf((g_hi - zhat) / s, df),
                                               np.where(hi_o, zhat < g_hi, zhat <= g_hi).astype(float)))
        p_lo = np.where(lo_free, 0.0, np.where(sigma > 0, _cdf((g_lo - zhat) / s, df),
                                               np.where(lo_o, zhat <= g_lo, zhat < g_lo).astype(float)))
        # an empty region (an edge beyond the other bound, or an open edge at it: "> 100 %")
        empty = (np.isfinite(upper) & ((lo_e > upper) | (lo_o & (lo_e >= upper)))) \
            | (np.isfinite(lower) & ((hi_e < lower) | (hi_o & (hi_e <= lower))))
        p = np.where(empty, 0.0, np.clip(p_hi - p_lo, 0.0, 1.0))
    return np.where(np.isnan(zhat) | np.isnan(sigma), np.nan, p)


def run(M: SeriesMatrix, *, method: str, target_year: int, level: float, window: int | None,
        damping: float, damping_weight: float, calibrated: bool = True, robust: bool = True,
        poisson_window: Any = "default") -> Projection:
    """Fit, project and score every series (see :func:`fzanalysis.trend.project`).

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
    mcode = choose_methods(M, method, window=window, damping=damping,
                           damping_weight=damping_weight, calibrated=calibrated)
    pois = mcode == M_POISSON
    # least-squares rows: robust fits (outliers, steps), rounding floor
    fit, fmask_ols, jump2, floor2, step, break_year, n_out, naive_v, outliers, turn_year = \
        fit_all(M, mcode, window=window, robust=robust)
    fmask_ols &= ~pois[:, None]
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
    first_value = M.Y[rows, np.minimum(first_col_fit, len(years) - 1)] if len(years) \
        else np.full(S, np.nan)
    min_fit = conf["min_points_fit"]
    enough_events = pfit.events >= float(pconf["min_events"])
    few_cases = small_base(M, step, pois)
    fitted_ok = np.where(pois, pfit.converged & enough_events & (pfit.n >= min_fit),
                         (fit.n >= min_fit) & ~few_cases)

    h = target_year - last_year
    if calibrated:
        # Welch-Satterthwaite degrees of freedom at the target year (OLS part / bend part)
        te = centre_time(np.full(S, float(target_year)), last_year.astype(float),
                         trend_shrink(fit.b, fit.se_slope(), calibrated=calibrated), damping,
                         damping_weight)
        with np.errstate(invalid="ignore"):
            se2 = fit.se_pred(te) ** 2 + floor_variance(np.where(pois, 0.0, floor2), h)
        tau2 = bend_variance(h, fit.b, fit.se_slope(), jump2)
        df = predictive_df(fit.df, se2, tau2)
    else:
        df = fit.df
    df = np.where(pois, np.inf, df)
    q = np.where(np.isinf(df), stats.norm.ppf(0.5 + level / 2.0), t_quantile(level, df))
    scale = np.where(pois, M.scale, np.nan)
    tl = last_year.astype(float)
    level_y = inverse(fit.mean(tl), mcode, M.lower, M.upper)
    with np.errstate(invalid="ignore"):
        # the fitted level's variance in the indicator's units (delta method at that level)
        level_var = (fit.se_pred(tl) / slope_at(level_y, mcode, M.lower, M.upper)) ** 2
    model = Model(fit=fit, pfit=pfit, pois=pois, mcode=mcode, fmask=fmask, scale=scale,
                  last_year=last_year, jump2=np.where(pois, 0.0, jump2),
                  floor2=np.where(pois, 0.0, floor2), df=df, damping=damping,
                  damping_weight=damping_weight, calibrated=calibrated,
                  shrink=trend_shrink(fit.b, fit.se_slope(), calibrated=calibrated),
                  mix_w=np.where(pois, 0.0, no_trend_weight(fit.b, fit.se_slope(),
                                                            calibrated=calibrated)),
                  level_y=level_y, level_var=level_var, round2=step ** 2 / 12.0,
                  naive_v=np.where(pois, 0.0, naive_v))
    # the one predictive distribution at the target year: centre = its median, interval = its
    # quantiles, p_meet and p_direction = its probabilities (methods.md 5, 8.9)
    lo, hi = M.lower, M.upper
    mix = Mixture(*(np.asarray(a)[:, 0] for a in
                    mixture_moments(model, np.full((S, 1), float(target_year)), lo, hi)))
    z_now, _ = (a[:, 0] for a in path_moments(model, tl[:, None]))
    projected = mixture_quantile(0.5, mix)
    lower = mixture_quantile(0.5 - level / 2.0, mix)
    upper = mixture_quantile(0.5 + level / 2.0, mix)
    level_now = inverse(z_now, mcode, lo, hi)
    reference = maintain_reference(M, first_value)
    comp = M.comparator
    r_lo, r_hi, r_lo_open, r_hi_open = comparators.region(
        np.where(comp == "maintain", ">=", comp), np.where(comp == "maintain", reference, M.target),
        M.tolerance)
    at_lower, at_upper = published_at_bounds(M, step, pois)
    edges = dict(at_lower=at_lower, at_upper=at_upper, lo_open=r_lo_open, hi_open=r_hi_open)
    pm = mixture_probability(r_lo, r_hi, step=step, mix=mix, **edges)
    # the central projection meets the target iff it lies in the region of the published
    # figure (so p_meet >= 0.5 iff it meets); NaN where no edge moved (the literal comparison)
    e_lo, e_hi, e_lo_open, e_hi_open = published_edges(r_lo, r_hi, lower=lo, upper=hi, step=step,
                                                       **edges)
    moved = (~np.isnan(r_lo) & (e_lo != r_lo)) | (~np.isnan(r_hi) & (e_hi != r_hi))
    with np.errstate(invalid="ignore"):
        inside = np.where(e_lo_open, projected > e_lo, projected >= e_lo) \
            & np.where(e_hi_open, projected < e_hi, projected <= e_hi)
        meets_published = np.where(moved & ~np.isnan(projected), inside.astype(float), np.nan)
    directional = comparators.asks_for_move(comp)
    # the target year already observed (a final evaluation, or a target year that has passed):
    # its published figure is known, so it is the projection and p_meet is 1 or 0 (methods.md
    # 5 (10)); Poisson rows keep the interval of the underlying rate (5.4), directional rows
    # the trend test (2.4)
    tcol = np.flatnonzero(years == target_year)
    known = ~pois & ~directional & (mask[:, tcol[0]] if len(tcol) else np.zeros(S, dtype=bool))
    if known.any():
        figure = M.Y[:, tcol[0]]
        with np.errstate(invalid="ignore"):
            hit = (np.where(e_lo_open, figure > e_lo, figure >= e_lo)
                   & np.where(e_hi_open, figure < e_hi, figure <= e_hi)).astype(float)
        for arr in (projected, lower, upper):
            arr[known] = figure[known]
        pm = np.where(known, hit, pm)
        meets_published = np.where(known, hit, meets_published)
    pm = np.where(directional, np.nan, pm)
    # p_direction: P(target-year value beyond the current fitted level, in the required direction)
    # (the trend part on the model scale, as before the mixture: exact where today's fitted
    # level lies beyond a bound of a clipped linear fit)
    f_trend = _component_cdf(z_now, mix.z1, mix.s1, mix.df1)
    p_up = 1.0 - np.where(mix.w > 0, (1.0 - mix.w) * f_trend + mix.w * _naive_cdf(level_now, mix),
                          f_trend)
    # the direction each move asks for (comparators.required_direction; 缩小: towards the parity
    # point from the side today's fitted level is on, methods 3.3b), so p_direction >= 0.5 iff the
    # central projection moves that way
    req = comparators.required_direction(comp, level_now, M.target)
    p_dir = np.where(comparators.asks_for_move(comp),
                     np.where(req > 0, p_up, np.where(req < 0, 1.0 - p_up, 0.5)), np.nan)
    # both probabilities tempered for the horizon (methods.md 8.9, sixth follow-up)
    pm = temper_probability(pm, h, calibrated=calibrated)
    p_dir = temper_probability(p_dir, h, calibrated=calibrated)

    # Poisson rows: fitted expected rate (x scale) on the grid of years
    with np.errstate(invalid="ignore", over="ignore"):
        rate_fit = np.exp(pfit.mean(np.broadcast_to(years.astype(float), (S, len(years))))
                          + np.log(scale)[:, None])
        rate_last = rate_fit[rows, np.maximum(last_col, 0)]

    # pace: OLS slope (units/year) over the last pace_window observed points the robust fit kept
    # (an outlier it left out of the projection does not turn the pace either); Poisson rows:
    # the slope of the fitted expected rate at the last observed year, b * rate(t_L)
    wconf = conf["warnings"]
    pwin = int(wconf["pace_window"])
    pmask_kept = window_mask(mask & ~(outliers & ~pois[:, None]), pwin)
    pace_obs = np.where(pois, pfit.b * rate_last, fit_lines(years, M.Y, pmask_kept).b)
    # maintain: the assessment's test on the same raw values (methods 2.4), outliers included
    pmask = window_mask(mask, pwin)
    pfit_raw = fit_lines(years, M.Y, pmask)
    decline = significant_decline(years, M.Y, pmask, pfit_raw)
    rise = significant_rise(years, M.Y, pmask, pfit_raw)
    numeric = np.isin(comp, comparators.NUMERIC)
    base = np.where(pois, rate_last, last_value)
    with np.errstate(invalid="ignore", divide="ignore"):
        pace_req = np.where(numeric & (h > 0), (M.target - base) / h, np.nan)

    # year the central path first meets the target: observed values for least-squares rows,
    # the fitted expected rate for Poisson rows (one year with zero deaths proves nothing)
    tcomp = np.where(comp == "maintain", ">=", comp)[:, None]
    ttarget = np.where(comp == "maintain", reference, M.target)[:, None]
    status_path = np.where(pois[:, None], rate_fit, M.Y)
    status_mask = np.where(pois[:, None], fmask & fitted_ok[:, None], mask)
    already = comparators.satisfies(status_path, tcomp, ttarget, M.tolerance[:, None]) & status_mask
    not_ok_after = np.where(status_mask & ~already, col, -1).max(axis=1)
    run_start = np.where(already & (col > not_ok_after[:, None]), col, len(years)).min(axis=1)
    last_met = has & already[rows, np.maximum(last_col, 0)]
    reached = np.where(last_met, years[np.minimum(run_start, len(years) - 1)].astype(float), np.nan)
    y_max = int(conf["year_reached_max"])
    start = int(last_year[has].min()) + 1 if has.any() else y_max + 1
    fut_years = np.arange(start, max(y_max, target_year) + 1)
    if len(fut_years):
        # the central path: the median of the predictive in every year
        ypath = mixture_quantile(0.5, mixture_moments(
            model, np.broadcast_to(fut_years.astype(float), (S, len(fut_years))), lo, hi))
        with np.errstate(invalid="ignore"):  # the published figure's region, as p_meet reads it
            published = np.where(e_lo_open[:, None], ypath > e_lo[:, None], ypath >= e_lo[:, None]) \
                & np.where(e_hi_open[:, None], ypath < e_hi[:, None], ypath <= e_hi[:, None])
        literal = comparators.satisfies(ypath, tcomp, ttarget, M.tolerance[:, None])
        meets = np.where(moved[:, None], published, literal) & (fut_years[None, :] > last_year[:, None])
        first = np.where(meets, fut_years[None, :], 10**6).min(axis=1)
        reached = np.where(~last_met & (first < 10**6) & fitted_ok, first, reached)
    reached = np.where((pois & ~fitted_ok) | few_cases, np.nan, reached)

    # residual spread on the original scale (least-squares rows), about the fitted model: before
    # a detected step the line sits lower (or higher) by the step, so 50, 50, 50, 60, 60, 60 has
    # no residual (it had 10 on each early point, and a false 波动较大)
    zgrid = fit.mean(np.broadcast_to(years.astype(float), (S, len(years))))
    shift = step_shift(years, model_scale(M, mcode), fmask_ols, zgrid, break_year)
    fitted_y = inverse(zgrid - before_step(years, break_year) * shift[:, None],
                       mcode[:, None], lo[:, None], hi[:, None])
    r = np.where(fmask_ols, M.Y - fitted_y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid_sd = np.sqrt((r * r).sum(axis=1) / (fit.n - 2.0 - np.isfinite(break_year)))
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
    for arr in (projected, lower, upper, pm, p_dir, level_now, meets_published):
        arr[nan_all] = np.nan
    pace_obs = np.where(pois & nan_all, np.nan, pace_obs)
    pace_req = np.where(pois & nan_all, np.nan, pace_req)
    names = np.array(METHODS, dtype=object)[mcode]
    return Projection(
        model=model, method=np.where(few_cases, "small_base",
                                     np.where(fitted_ok | pois, names, "none")), n_points=n_obs,
        last_year=last_year, last_value=last_value, level=level_now, projected=projected,
        lower=lower, upper=upper, p_meet=pm, p_direction=p_dir, meets_published=meets_published,
        pace_observed=pace_obs,
        pace_required=pace_req, year_reached=reached,
        break_year=np.where(pois, np.nan, break_year), n_outliers=np.where(pois, 0, n_out),
        turn_year=np.where(pois, np.nan, turn_year),
        resid_sd=resid_sd, overdispersed=overdispersed, small_counts=(pois & ~fitted_ok) | few_cases,
        max_gap=gaps, fitted_ok=fitted_ok, reference=reference, horizon=h, q=q,
        significant_decline=decline, significant_rise=rise, step_shift=np.where(pois, 0.0, shift),
    )


def before_step(years: np.ndarray, break_year: np.ndarray) -> np.ndarray:
    """(S, T) 1.0 on the years before each series' detected step (:func:`robust_fit`), else 0."""
    with np.errstate(invalid="ignore"):
        return (np.isfinite(break_year)[:, None] & (years[None, :] < break_year[:, None])).astype(float)


def step_shift(years: np.ndarray, Z: np.ndarray, fmask: np.ndarray, zline: np.ndarray,
               break_year: np.ndarray) -> np.ndarray:
    """The size of each series' detected step on the model scale (0 without one).

    :func:`robust_fit` fits the line to the points before the step raised (or lowered) by the
    step's least-squares size, so the line is the level *after* it; the points before it sit
    ``shift`` below the line.  With the step as a regressor, least squares leaves the residuals
    of the points before it summing to zero, so ``shift`` is their mean distance below the line
    (``zline`` the fitted line on the grid, ``Z`` the observations on the model scale).  The
    charts' fitted line (:func:`fzanalysis.trend.project_paths`) and the residual spread of the
    波动较大 warning read it.
    """
    pre = (before_step(years, break_year) > 0) & fmask
    with np.errstate(invalid="ignore"):
        d = np.where(pre, zline - Z, 0.0)
        n = pre.sum(axis=1)
        return np.where(n > 0, d.sum(axis=1) / np.maximum(n, 1), 0.0)


def significant_decline(years: np.ndarray, Y: np.ndarray, wmask: np.ndarray, wfit: Any,
                        direction: int = -1) -> np.ndarray:
    """Significant decline over the last ``pace_window`` observed values (docs/methods.md 7).

    The assessment's trend test for ``maintain`` (methods 2.4, ``fzanalysis.assess.trend_test`` /
    ``judge_direction``) on the same points, vectorised: OLS slope of the observed values, upper
    limit of its two-sided ``maintain_decline_level`` (0.95) t-interval below
    ``-maintain_decline_tolerance`` (0), with at least ``trend_test_min_points`` (4) points.
    A constant window (``numpy.allclose``) has slope 0 and no decline, as in ``trend_test``.
    ``direction=+1`` asks the mirror question, a significant rise (:func:`significant_rise`).
    """
    w = settings()["warnings"]
    with np.errstate(invalid="ignore"):
        hi = np.where(wmask, Y, -np.inf).max(axis=1)
        lo_ = np.where(wmask, Y, np.inf).min(axis=1)
        constant = (hi - lo_) <= 1e-8 + 1e-5 * np.abs(hi)
        # the near end of the slope's interval, seen from the direction asked about
        near = -direction * wfit.b + t_quantile(float(w["maintain_decline_level"]), wfit.df) \
            * np.where(wfit.s2 > 0, wfit.se_slope(), 0.0)
        return (wfit.n >= int(w["trend_test_min_points"])) & ~constant \
            & np.isfinite(near) & (near < -float(w["maintain_decline_tolerance"]))


def significant_rise(years: np.ndarray, Y: np.ndarray, wmask: np.ndarray, wfit: Any) -> np.ndarray:
    """Significant rise over the last ``pace_window`` observed values: :func:`significant_decline`
    mirrored (the lower limit of the slope's interval above the tolerance)."""
    return significant_decline(years, Y, wmask, wfit, direction=+1)


def warning_flags(M: SeriesMatrix, res: Projection) -> dict[str, np.ndarray]:
    """Boolean early-warning flags per series (docs/methods.md section 7).

    ``at_risk``: the probability (``p_meet``; ``p_direction`` for increase/decrease/narrow,
    never the p_meet rule) lies in the lowest band of ``trend.yaml: probability_band`` (below
    its ``possible`` edge, the words 难以/unlikely), the same cut-off for every kind of target
    so that the warning and the words beside the number agree.  ``at_risk`` is a forecast's warning: only for a target year after the
    series' last observed year (``res.horizon >= 1``); a target year already observed (a final
    evaluation, or one that has passed: methods.md 5 (10)) is met or missed as published, and
    ``p_meet`` 1 or 0 says which.
    """
    conf = settings()
    w = conf["warnings"]
    comp = M.comparator
    directional = comparators.asks_for_move(comp)
    maintain = comp == "maintain"
    prob = np.where(directional, res.p_direction, res.p_meet)
    # the band the words beside the number use (prep.probability_band_code): 难以 below 0.5
    at_risk = (np.asarray(probability_band_code(prob)) == "unlikely") & (res.horizon >= 1)
    numeric = np.isin(comp, comparators.NUMERIC)
    # numeric: the distance left, or the trend's annual move where that is larger (a steady line
    # that ends on its target has no distance left, and any wiggle would otherwise count as
    # swinging widely); increase/decrease: the projected movement; none is left in an observed
    # target year (h <= 0)
    gap = np.where(numeric, np.fmax(np.abs(M.target - res.last_value), np.abs(res.pace_observed)),
                   np.where(res.horizon >= 1, np.abs(res.projected - res.last_value), np.nan))
    # maintain: a flat series has no gap to speak of; the scale is the level held (the p_meet
    # reference, else the last value) and the ratio the smallest decline worth detecting
    level = np.abs(np.where(np.isfinite(res.reference) & (res.reference != 0),
                            res.reference, res.last_value))
    limit = np.where(maintain, float(w["volatile_ratio_maintain"]) * level,
                     float(w["volatile_ratio"]) * gap)
    with np.errstate(invalid="ignore"):
        volatile = np.isfinite(res.resid_sd) & np.isfinite(limit) & (res.resid_sd > limit)
    # Poisson rows: year-to-year scatter of small counts is expected chance variation; volatile
    # only when the counts vary more than a Poisson process allows (overdispersion test)
    volatile = np.where(res.model.pois, res.overdispersed, volatile)
    tol = np.where(np.isfinite(M.tolerance), M.tolerance, 0.0)
    diff = M.target - res.last_value
    toward = np.where(np.abs(diff) > tol, np.sign(diff), 0.0)
    good = comparators.good_direction(comp)
    req = np.where(good != 0, good, toward)
    # the trend runs away from the target: only on evidence -- the last pace_window observed
    # values move significantly the wrong way (the assessment's trend test, methods 2.4), as
    # maintain always asked; the sign of a noisy 5-point slope (-0.12 a year beside 较上年提高3.6个
    # 百分点) fired it for every other target, so one word carried two standards of evidence
    # -- or the trend the projection continues (from a detected turn on, 5.1) does: its slope's
    # two-sided interval (maintain_decline_level, 95 %) lies on the wrong side of zero (rose five years, fell three: the
    # last five values alone are not significant, the fall the projection continues is)
    md = res.model
    b = np.where(md.pois, md.pfit.b, md.fit.b)
    se = np.where(md.pois, md.pfit.se_slope(), md.fit.se_slope())
    lvl = float(w["maintain_decline_level"])  # the one level of the trend test (methods 2.4)
    crit = np.where(md.pois, t_quantile(lvl, np.inf), t_quantile(lvl, md.fit.df))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se > 0, b / se, 0.0)
        fit_away = (req * t < 0) & (np.abs(t) > crit) & (res.n_points >= int(w["trend_test_min_points"]))
    recent_away = np.where(req > 0, res.significant_decline, np.where(req < 0, res.significant_rise, False))
    reversing = np.where(maintain, res.significant_decline, recent_away | fit_away)
    insufficient = (res.n_points < int(conf["min_points"])) \
        | (res.max_gap > int(conf["max_gap_years"])) | ~res.fitted_ok
    return {"at_risk": at_risk, "volatile": volatile, "reversing": reversing,
            "insufficient_data": insufficient}
