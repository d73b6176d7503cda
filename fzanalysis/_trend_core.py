"""Vectorised closed-form least squares for many short annual series at once.

Internal numerics of :mod:`fzanalysis.trend` (docs/methods.md section 5).  Series are held as a
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

#: method code -> integer used in the vectorised arrays
METHODS: tuple[str, ...] = ("linear", "logit", "log")
M_LINEAR, M_LOGIT, M_LOG = 0, 1, 2


def transform(
    y: np.ndarray, method: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, squeeze: float
) -> np.ndarray:
    """Map values to the model scale, elementwise with broadcasting.

    ``linear``: :math:`z = y`; ``logit``: :math:`p = \\mathrm{clip}((y-L)/(U-L), \\varepsilon,
    1-\\varepsilon)`, :math:`z = \\log(p/(1-p))`; ``log``: :math:`z = \\log y` (``NaN`` for
    :math:`y \\le 0`).
    """
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.clip((y - lower) / (upper - lower), squeeze, 1.0 - squeeze)
        z_logit = np.log(p) - np.log1p(-p)
        z_log = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)
    return np.where(method == M_LOGIT, z_logit, np.where(method == M_LOG, z_log, y))


def inverse(
    z: np.ndarray, method: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Back-transform from the model scale (monotone increasing, so quantiles map exactly).

    Linear values are clipped to ``[L, U]`` where those bounds are finite (clipping is monotone
    non-decreasing too, so quantiles still map exactly).
    """
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        y_logit = lower + (upper - lower) * (0.5 * (1.0 + np.tanh(0.5 * z)))
        y_log = np.exp(z)
    y_lin = np.clip(z, np.where(np.isfinite(lower), lower, -np.inf),
                    np.where(np.isfinite(upper), upper, np.inf))
    return np.where(method == M_LOGIT, y_logit, np.where(method == M_LOG, y_log, y_lin))


@dataclass(frozen=True)
class Fit:
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

    @property
    def df(self) -> np.ndarray:
        return self.n - 2.0

    @property
    def intercept(self) -> np.ndarray:
        """Intercept of the line in calendar years, :math:`a - b\\bar t` (z at year 0)."""
        return self.a - self.b * self.tbar

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


def effective_time(t0: np.ndarray, t_last: np.ndarray, phi: float) -> np.ndarray:
    """Time at which to read the fitted line for a damped-trend projection.

    A damped trend continues the fitted slope b with weights :math:`\\phi, \\phi^2, \\ldots`:
    :math:`\\hat z_{t_L+h} = \\hat z_{t_L} + b\\sum_{i=1}^{h}\\phi^i` (Gardner & McKenzie 1985,
    *Management Science* 31:1237-1246).  That is the OLS line read at the effective time
    :math:`t_L + D(h)`, :math:`D(h) = \\phi(1-\\phi^h)/(1-\\phi)`, so its predictive variance
    is the OLS formula at that time too.  ``phi = 1`` gives the straight line; years up to
    ``t_last`` are returned unchanged.
    """
    t0 = np.asarray(t0, dtype=float)
    if phi == 1.0:
        return t0
    h = t0 - t_last
    with np.errstate(invalid="ignore"):
        D = phi * (1.0 - np.power(phi, np.maximum(h, 0.0))) / (1.0 - phi)
    return np.where(h > 0, t_last + D, t0)


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
