"""Vectorised closed-form least squares for many short annual series at once.

Numerics of :mod:`fzanalysis.trend` (docs/methods.md section 5).  Series are held as a
matrix ``Z`` of shape ``(S, T)``: one row per series, one column per calendar year of a common
grid, ``NaN`` where a year is missing.  All fits are done on all rows at once from group sums, so a
province-scale panel (hundreds of thousands of series) is fitted in well under a minute.

Model, on the transformed scale z = g(y) (identity, scaled logit or log):

.. math::

    z_{it} = a_i + b_i (t - \\bar t_i) + e_{it},\\quad e_{it} \\sim N(0, \\sigma_i^2)

with the OLS estimates

.. math::

    \\bar t = \\frac{1}{n}\\sum t,\\quad S_{tt} = \\sum (t-\\bar t)^2,\\quad
    b = \\frac{\\sum (t-\\bar t)(z-\\bar z)}{S_{tt}},\\quad a = \\bar z,\\quad
    s^2 = \\frac{\\sum (z - a - b(t-\\bar t))^2}{n-2}

and the predictive standard error at year :math:`t_0`

.. math::

    \\mathrm{se}(t_0) = s\\,\\sqrt{1 + \\frac{1}{n} + \\frac{(t_0-\\bar t)^2}{S_{tt}}}
    = s\\,\\sqrt{1 + x_0^\\top (X^\\top X)^{-1} x_0},

so that :math:`(z_{t_0} - \\hat z_{t_0})/\\mathrm{se}(t_0) \\sim t_{n-2}` (e.g. Weisberg,
*Applied Linear Regression*, 4th ed., 2014, section 2.8.2; the same formula as statsmodels'
``OLSResults.get_prediction(...).summary_frame()['obs_ci_lower']``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["METHODS", "M_LINEAR", "M_LOG", "M_LOGIT", "M_POISSON", "OLS_METHODS", "Fit",
           "PoissonFit", "effective_time", "fit_lines", "fit_poisson", "inverse", "t_cdf",
           "t_quantile", "transform", "window_mask"]

#: method code -> integer used in the vectorised arrays
METHODS: tuple[str, ...] = ("linear", "logit", "log", "poisson")
M_LINEAR, M_LOGIT, M_LOG, M_POISSON = 0, 1, 2, 3
#: the models fitted by least squares (candidates of the out-of-sample choice)
OLS_METHODS: tuple[str, ...] = METHODS[:3]


def transform(
    y: np.ndarray, method: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, squeeze: float
) -> np.ndarray:
    """Map values to the model scale, elementwise with broadcasting.

    ``linear``: :math:`z = y`; ``logit``: :math:`p = \\mathrm{clip}((y-L)/(U-L), \\varepsilon,
    1-\\varepsilon)`, :math:`z = \\log(p/(1-p))`; ``log``: :math:`z = \\log y` (``NaN`` for
    :math:`y \\le 0`).  ``poisson`` (a rate from counts) is read on the log scale like ``log``.
    """
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.clip((y - lower) / (upper - lower), squeeze, 1.0 - squeeze)
        z_logit = np.log(p) - np.log1p(-p)
        z_log = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)
    is_log = (method == M_LOG) | (method == M_POISSON)
    return np.where(method == M_LOGIT, z_logit, np.where(is_log, z_log, y))


def inverse(
    z: np.ndarray, method: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Back-transform from the model scale (monotone increasing, so quantiles map exactly).

    Linear, log and poisson values are clipped to ``[L, U]`` where those bounds are finite
    (clipping is monotone non-decreasing too, so quantiles still map exactly); the logit inverse
    stays inside the bounds by construction.
    """
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        y_logit = lower + (upper - lower) * (0.5 * (1.0 + np.tanh(0.5 * z)))
        y_log = np.exp(z)
    lo = np.where(np.isfinite(lower), lower, -np.inf)
    hi = np.where(np.isfinite(upper), upper, np.inf)
    y_lin = np.clip(z, lo, hi)
    is_log = (method == M_LOG) | (method == M_POISSON)
    return np.where(method == M_LOGIT, y_logit, np.where(is_log, np.clip(y_log, lo, hi), y_lin))


class _Line:
    """What every straight-line fit on a (transformed) scale shares: ``n``, ``tbar``, ``a``, ``b``."""

    n: np.ndarray
    tbar: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @property
    def df(self) -> np.ndarray:
        """Residual degrees of freedom, n - 2."""
        return self.n - 2.0

    @property
    def intercept(self) -> np.ndarray:
        """Intercept in calendar years, :math:`a - b\\bar t` (z at year 0; statsmodels' ``const``)."""
        return self.a - self.b * self.tbar


@dataclass(frozen=True)
class Fit(_Line):
    """OLS fits of many series (arrays of shape ``(S,)``).

    Attributes
    ----------
    n : number of points used; tbar : their mean year; stt : :math:`S_{tt}`;
    a : fitted value at ``tbar``; b : slope per year; s2 : residual variance (``NaN`` if n < 3);
    df : residual degrees of freedom n - 2.
    """

    n: np.ndarray
    tbar: np.ndarray
    stt: np.ndarray
    a: np.ndarray
    b: np.ndarray
    s2: np.ndarray

    def mean(self, t0: np.ndarray) -> np.ndarray:
        """Fitted line at years ``t0``: a scalar, shape ``(S,)`` (one year per series) or ``(S, H)``."""
        t0 = np.asarray(t0, dtype=float)
        if t0.ndim == 2:
            return self.a[:, None] + self.b[:, None] * (t0 - self.tbar[:, None])
        return self.a + self.b * (t0 - self.tbar)

    def se_pred(self, t0: np.ndarray) -> np.ndarray:
        """Predictive standard error :math:`s\\sqrt{1 + 1/n + (t_0-\\bar t)^2/S_{tt}}`."""
        t0 = np.asarray(t0, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if t0.ndim == 2:
                d = t0 - self.tbar[:, None]
                return np.sqrt(self.s2[:, None]
                               * (1.0 + 1.0 / self.n[:, None] + d * d / self.stt[:, None]))
            d = t0 - self.tbar
            return np.sqrt(self.s2 * (1.0 + 1.0 / self.n + d * d / self.stt))

    def se_slope(self) -> np.ndarray:
        """Standard error of the slope, :math:`s/\\sqrt{S_{tt}}`."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(self.s2 / self.stt)


def fit_lines(years: np.ndarray, Z: np.ndarray, mask: np.ndarray) -> Fit:
    """Fit ``z = a + b (t - tbar)`` by OLS to every row of ``Z`` where ``mask`` is true.

    Parameters
    ----------
    years : (T,) array of calendar years (the common grid).
    Z : (S, T) values on the model scale (entries outside ``mask`` are ignored, may be NaN).
    mask : (S, T) bool, which entries enter each series' fit.

    Returns
    -------
    Fit
        Rows with fewer than 2 points (or all points in one year) have NaN slope; rows with fewer
        than 3 points have NaN ``s2``.

    Notes
    -----
    Two passes over the data (means, then centred sums) keep the arithmetic stable for calendar
    years around 2000 without a global offset.
    """
    t = np.asarray(years, dtype=float)[None, :]
    m = mask.astype(float)
    zz = np.where(mask, Z, 0.0)
    n = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbar = (m * t).sum(axis=1) / n
        zbar = zz.sum(axis=1) / n
        dt = np.where(mask, t - tbar[:, None], 0.0)
        dz = np.where(mask, zz - zbar[:, None], 0.0)
        stt = (dt * dt).sum(axis=1)
        b = (dt * dz).sum(axis=1) / stt
        b = np.where(stt > 0, b, np.nan)
        resid = np.where(mask, dz - b[:, None] * dt, 0.0)
        s2 = np.where(n > 2, (resid * resid).sum(axis=1) / (n - 2.0), np.nan)
    return Fit(n=n, tbar=tbar, stt=stt, a=zbar, b=b, s2=s2)


def effective_time(t0: np.ndarray, t_last: np.ndarray, phi: float, weight: float = 1.0) -> np.ndarray:
    """Time at which to read the fitted line for a (partly) damped-trend projection.

    A damped trend continues the fitted slope b with weights :math:`\\phi, \\phi^2, \\ldots`:
    :math:`\\hat z_{t_L+h} = \\hat z_{t_L} + b\\sum_{i=1}^{h}\\phi^i` (Gardner & McKenzie 1985,
    *Management Science* 31:1237-1246).  That is the line read at the effective time
    :math:`t_L + D(h)`, :math:`D(h) = \\phi(1-\\phi^h)/(1-\\phi)`.  ``weight`` w averages the
    damped and the undamped trend: :math:`t_L + w D(h) + (1-w) h` (the combination the
    backtests favour, methods.md 8).  ``phi = 1`` or ``weight = 0`` give the straight line;
    years up to ``t_last`` are returned unchanged.
    """
    t0 = np.asarray(t0, dtype=float)
    h = t0 - t_last
    if phi == 1.0 or weight == 0.0:
        return t0
    with np.errstate(invalid="ignore"):
        D = phi * (1.0 - np.power(phi, np.maximum(h, 0.0))) / (1.0 - phi)
    return np.where(h > 0, t_last + weight * D + (1.0 - weight) * h, t0)


def window_mask(mask: np.ndarray, window: int | None) -> np.ndarray:
    """Keep only the last ``window`` true entries of each row of ``mask`` (all if ``None``)."""
    if window is None:
        return mask
    from_end = np.cumsum(mask[:, ::-1], axis=1)[:, ::-1]
    return mask & (from_end <= window)


def t_quantile(level: float, df: np.ndarray) -> np.ndarray:
    """Two-sided Student-t quantile :math:`t_{(1+\\text{level})/2,\\,df}` (NaN where df < 1)."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(df >= 1, stats.t.ppf(0.5 + level / 2.0, np.maximum(df, 1.0)), np.nan)


def t_cdf(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Student-t CDF, NaN where df < 1; +-inf map to 1 and 0."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(df >= 1, stats.t.cdf(x, np.maximum(df, 1.0)), np.nan)


# ----------------------------------------------------------------------------------------------
# Poisson log-linear trend for rates from small counts (docs/methods.md 5.4)


@dataclass(frozen=True)
class PoissonFit(_Line):
    """Poisson log-linear trends of many count series (arrays of shape ``(S,)``).

    Model: :math:`k_t \\sim \\mathrm{Poisson}(E_t\\,\\lambda_t)`,
    :math:`\\log\\lambda_t = a + b\\,(t-\\bar t)`, i.e. a Poisson GLM with log link, offset
    :math:`\\log E_t` and the year as covariate (centred at the unweighted mean year
    :math:`\\bar t` of the fitted points).  ``vaa, vab, vbb``: covariance of :math:`(a, b)`,
    already multiplied by ``dispersion``.

    Attributes
    ----------
    n : points used; tbar : their mean year; a, b : coefficients (log rate per unit of
    exposure at ``tbar``; change of the log rate per year); vaa, vab, vbb : covariance;
    chi2 : Pearson :math:`X^2=\\sum (k-\\hat\\mu)^2/\\hat\\mu`; dispersion :
    :math:`\\hat\\phi=\\max\\{1, X^2/(n-2)\\}` (1 when n <= 2); events : :math:`\\sum k`;
    converged : Newton iterations converged (False also for series without events).
    """

    n: np.ndarray
    tbar: np.ndarray
    a: np.ndarray
    b: np.ndarray
    vaa: np.ndarray
    vab: np.ndarray
    vbb: np.ndarray
    chi2: np.ndarray
    dispersion: np.ndarray
    events: np.ndarray
    converged: np.ndarray

    def _d(self, t0: np.ndarray) -> np.ndarray:
        t0 = np.asarray(t0, dtype=float)
        return t0 - self.tbar[:, None] if t0.ndim == 2 else t0 - self.tbar

    def _p(self, x: np.ndarray, ndim: int) -> np.ndarray:
        return x[:, None] if ndim == 2 else x

    def mean(self, t0: np.ndarray) -> np.ndarray:
        """Log expected rate (per unit of exposure) at years ``t0`` (scalar, (S,) or (S, H))."""
        nd = np.ndim(t0)
        return self._p(self.a, nd) + self._p(self.b, nd) * self._d(t0)

    def se_mean(self, t0: np.ndarray) -> np.ndarray:
        """Standard error of the log expected rate, :math:`\\sqrt{x_0^\\top V x_0}`."""
        nd = np.ndim(t0)
        d = self._d(t0)
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.maximum(self._p(self.vaa, nd) + 2.0 * d * self._p(self.vab, nd)
                                      + d * d * self._p(self.vbb, nd), 0.0))

    def se_slope(self) -> np.ndarray:
        return np.sqrt(self.vbb)


def fit_poisson(years: np.ndarray, K: np.ndarray, E: np.ndarray, mask: np.ndarray, *,
                max_iter: int = 100, tol: float = 1e-10) -> PoissonFit:
    """Maximum-likelihood Poisson log-linear trend of every row of counts ``K`` with exposure ``E``.

    Vectorised Newton-Raphson (= Fisher scoring = IRLS for the canonical log link; McCullagh &
    Nelder, *Generalized Linear Models*, 2nd ed., 1989, section 2.5) on all rows at once, each
    step from the 2 x 2 information matrix
    :math:`I = \\sum_t \\mu_t x_t x_t^\\top`, :math:`x_t = (1, t-\\bar t)`, and the score
    :math:`U = \\sum_t (k_t-\\mu_t) x_t`, with step halving when the log-likelihood would fall.
    Start: the constant rate :math:`\\log(\\sum k/\\sum E)`, slope 0.  Covariance
    :math:`\\hat\\phi\\,I^{-1}` (quasi-Poisson when :math:`\\hat\\phi > 1`; Wedderburn 1974,
    *Biometrika* 61:439-447; the same as statsmodels ``GLM(..., family=Poisson(),
    offset=log E).fit(scale="X2")`` when :math:`X^2/(n-2) > 1`, ``.fit()`` otherwise).

    Rows without any event (the MLE does not exist: the log rate tends to minus infinity) and
    rows whose iterations do not converge (e.g. all events in the first year: the slope tends to
    minus infinity) get ``converged = False``; their estimates must not be used.
    """
    t = np.asarray(years, dtype=float)[None, :]
    m = mask.astype(float)
    k = np.where(mask, K, 0.0)
    e = np.where(mask, E, 1.0)
    loge = np.log(e)
    n = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbar = (m * t).sum(axis=1) / n
        d = np.where(mask, t - tbar[:, None], 0.0)
        events = k.sum(axis=1)
        exposure = (m * e).sum(axis=1)
        a = np.where(events > 0, np.log(events / exposure), 0.0)
    b = np.zeros_like(a)

    def loglik(a_: np.ndarray, b_: np.ndarray) -> np.ndarray:
        eta = loge + a_[:, None] + b_[:, None] * d
        with np.errstate(over="ignore"):
            return (m * (k * eta - np.exp(eta))).sum(axis=1)

    active = (events > 0) & (n >= 2)
    converged = np.zeros(len(a), dtype=bool)
    ll = loglik(a, b)
    for _ in range(max_iter):
        if not active.any():
            break
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            mu = m * np.exp(loge + a[:, None] + b[:, None] * d)
            r = m * (k - mu)
            i00, i01, i11 = mu.sum(axis=1), (mu * d).sum(axis=1), (mu * d * d).sum(axis=1)
            u0, u1 = r.sum(axis=1), (r * d).sum(axis=1)
            det = i00 * i11 - i01 * i01
            da = np.where(active, (i11 * u0 - i01 * u1) / det, 0.0)
            db = np.where(active, (i00 * u1 - i01 * u0) / det, 0.0)
        bad = active & ~(np.isfinite(da) & np.isfinite(db))
        active &= ~bad
        da, db = np.where(active, da, 0.0), np.where(active, db, 0.0)
        step = np.ones_like(a)
        for _h in range(30):       # step halving (rarely needed from the constant-rate start)
            new_ll = loglik(a + step * da, b + step * db)
            worse = active & ~(new_ll >= ll - 1e-12 * np.abs(ll))
            if not worse.any():
                break
            step = np.where(worse, step / 2.0, step)
        a, b = a + step * da, b + step * db
        ll = np.where(active, loglik(a, b), ll)
        done = active & (np.abs(step * da) < tol) & (np.abs(step * db) < tol)
        converged |= done
        active &= ~done
    mu = m * np.exp(loge + a[:, None] + b[:, None] * d)
    with np.errstate(invalid="ignore", divide="ignore"):
        i00, i01, i11 = mu.sum(axis=1), (mu * d).sum(axis=1), (mu * d * d).sum(axis=1)
        det = i00 * i11 - i01 * i01
        chi2 = np.where(mask, (k - mu) ** 2 / np.where(mu > 0, mu, np.nan), 0.0).sum(axis=1)
        phi = np.where(n > 2, np.maximum(1.0, chi2 / (n - 2.0)), 1.0)
        vaa, vab, vbb = phi * i11 / det, -phi * i01 / det, phi * i00 / det
    # a slope running away (separation) shows as a vanishing expected count somewhere
    converged &= np.isfinite(vbb) & (np.abs(b) < 5.0)
    nan = ~converged
    return PoissonFit(n=n, tbar=tbar, a=np.where(nan, np.nan, a), b=np.where(nan, np.nan, b),
                      vaa=np.where(nan, np.nan, vaa), vab=np.where(nan, np.nan, vab),
                      vbb=np.where(nan, np.nan, vbb), chi2=np.where(nan, np.nan, chi2),
                      dispersion=np.where(nan, np.nan, phi), events=events, converged=converged)
