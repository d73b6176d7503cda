"""Rates from counts with honest uncertainty (docs/methods.md, section 1).

A monitoring value such as "maternal mortality 7.5 per 100 000 live births" in a
district with about 8 000 births a year rests on less than one death a year.
This module turns the counts behind a rate (``numerator``, ``denominator`` in
the panel) into an interval, pools rare events over several years by a
documented rule, and flags intervals too wide to judge or rank.

Public functions
----------------
proportion_ci
    Binomial interval (Wilson, Clopper-Pearson, ...) for ``k`` of ``n``.
poisson_rate_ci
    Exact (Garwood) interval for a Poisson count divided by its exposure.
poisson_ratio_ci
    Exact conditional interval for the ratio of two Poisson rates.
rate_table
    Add ``estimate, lower, upper, interval_method, pooled_years, too_wide,
    rankable`` to a panel, using the catalogue's units.
proportion_too_wide
    Whether a binomial interval of k of n is too wide to judge (the rule of ``rate_table``).
unrankable
    The rows a map, grid or league table must draw 不宜比较 instead of colouring or ranking.

All thresholds come from ``data/assess.yaml``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from fzanalysis import codes, config
from fzanalysis.exceptions import CatalogError, PanelError
from fzanalysis.panel import as_panel
from fzanalysis.panel.schema import value_disagrees, value_tolerance

__all__ = [
    "Interval",
    "PROPORTION_METHODS",
    "load_rules",
    "poisson_rate_ci",
    "poisson_ratio_ci",
    "proportion_ci",
    "proportion_too_wide",
    "rate_table",
    "unrankable",
    "window_years",
]

#: Public method names -> statsmodels ``proportion_confint`` method names.
PROPORTION_METHODS: dict[str, str] = {
    "wilson": "wilson",
    "clopper-pearson": "beta",
    "jeffreys": "jeffreys",
    "agresti-coull": "agresti_coull",
    "wald": "normal",
}

#: Codes written to ``interval_method`` (labels in data/labels/assess.yaml).
INTERVAL_CODES: dict[str, str] = {
    "wilson": "wilson",
    "clopper-pearson": "clopper_pearson",
    "jeffreys": "jeffreys",
    "agresti-coull": "agresti_coull",
    "wald": "wald",
}

PANEL_KEYS = list(codes.PANEL_KEYS)


class Interval(NamedTuple):
    """Point estimate with lower and upper confidence limits (arrays or floats)."""

    estimate: Any
    lower: Any
    upper: Any


def load_rules() -> dict[str, Any]:
    """Return the thresholds and rules of ``data/assess.yaml`` (:func:`fzanalysis.config.assess_rules`)."""
    return config.assess_rules()


def _as_float_array(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {x!r}") from exc
    return arr


def _check_level(level: float) -> float:
    if not (0.0 < float(level) < 1.0):
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return float(level)


def _unwrap(scalar: bool, *arrays: np.ndarray) -> tuple[Any, ...]:
    if scalar:
        return tuple(float(np.ravel(a)[0]) for a in arrays)
    return arrays


def proportion_ci(
    k: Any, n: Any, *, level: float = 0.95, method: str = "wilson"
) -> Interval:
    r"""Confidence interval for a binomial proportion :math:`k/n` (vectorised).

    Parameters
    ----------
    k, n : array_like
        Successes and trials; broadcast against each other.  ``NaN`` in either
        gives ``NaN`` limits.
    level : float, keyword-only
        Confidence level, default 0.95.
    method : {"wilson", "clopper-pearson", "jeffreys", "agresti-coull", "wald"}
        Interval; computed by :func:`statsmodels.stats.proportion.proportion_confint`.

    Returns
    -------
    Interval
        ``(estimate, lower, upper)`` as proportions in [0, 1] (floats for
        scalar input, arrays otherwise).

    Raises
    ------
    ValueError
        If a count is negative, :math:`k > n`, :math:`n \le 0` or the method is unknown.

    See Also
    --------
    poisson_rate_ci : the interval of a rate of rare events.
    rate_table : applies the catalogue's choice to every panel row.
    statsmodels.stats.proportion.proportion_confint : the implementation called.

    Notes
    -----
    Wilson (1927) score interval, the default (Brown, Cai & DasGupta 2001
    recommend it for small :math:`n`):

    .. math::
        \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n},
        \qquad z = \Phi^{-1}(1-\alpha/2).

    Clopper & Pearson (1934) exact interval: :math:`[B(\alpha/2; k, n-k+1),
    B(1-\alpha/2; k+1, n-k)]` with :math:`B` the beta quantile, lower = 0 for
    :math:`k = 0` and upper = 1 for :math:`k = n`.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and statistical
       inference. *JASA* 22:209-212.
    .. [2] Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in
       the case of the binomial. *Biometrika* 26:404-413.
    .. [3] Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial proportion.
       *Statistical Science* 16:101-133.

    Examples
    --------
    45 women screened out of 50 (90 %):

    >>> from fzanalysis.rates import proportion_ci
    >>> ci = proportion_ci(45, 50)
    >>> round(ci.estimate, 3), round(ci.lower, 4), round(ci.upper, 4)
    (0.9, 0.7864, 0.9565)
    >>> ci = proportion_ci(50, 50, method="clopper-pearson")
    >>> round(ci.lower, 4), ci.upper
    (0.9289, 1.0)

    Arrays give arrays:

    >>> proportion_ci([0, 45], [50, 50]).upper.round(4)
    array([0.0713, 0.9565])
    """
    from statsmodels.stats.proportion import proportion_confint

    level = _check_level(level)
    if method not in PROPORTION_METHODS:
        raise ValueError(f"method must be one of {sorted(PROPORTION_METHODS)}, got {method!r}")
    scalar = np.ndim(k) == 0 and np.ndim(n) == 0
    k_arr, n_arr = np.broadcast_arrays(_as_float_array(k, "k"), _as_float_array(n, "n"))
    k_arr = np.atleast_1d(k_arr).astype(float)
    n_arr = np.atleast_1d(n_arr).astype(float)
    ok = ~(np.isnan(k_arr) | np.isnan(n_arr))
    bad = ok & ((k_arr < 0) | (n_arr <= 0) | (k_arr > n_arr))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"proportion_ci: element {i}: need 0 <= k <= n and n > 0, got k={k_arr[i]}, n={n_arr[i]}"
        )
    est = np.full(k_arr.shape, np.nan)
    lo = np.full(k_arr.shape, np.nan)
    hi = np.full(k_arr.shape, np.nan)
    if ok.any():
        kk, nn = k_arr[ok], n_arr[ok]
        l_, u_ = proportion_confint(kk, nn, alpha=1 - level, method=PROPORTION_METHODS[method])
        l_, u_ = np.asarray(l_, dtype=float), np.asarray(u_, dtype=float)
        # exact edge values (statsmodels gives NaN for Clopper-Pearson and ~1e-15 for Wilson there)
        l_ = np.where(kk == 0, 0.0, l_)
        u_ = np.where(kk == nn, 1.0, u_)
        est[ok] = kk / nn
        lo[ok] = np.clip(l_, 0.0, 1.0)
        hi[ok] = np.clip(u_, 0.0, 1.0)
    return Interval(*_unwrap(scalar, est, lo, hi))


def poisson_rate_ci(
    events: Any, exposure: Any, *, per: float = 100_000, level: float = 0.95
) -> Interval:
    r"""Exact (Garwood 1936) interval for a Poisson rate (vectorised).

    Parameters
    ----------
    events : array_like
        Observed counts :math:`k \ge 0` (deaths, cases).
    exposure : array_like
        Denominators :math:`E > 0` (live births, women, person-years).
    per : float, keyword-only
        Multiplier of the rate, default 100 000.
    level : float, keyword-only
        Confidence level, default 0.95.

    Returns
    -------
    Interval
        ``(rate, lower, upper)`` per ``per`` units of exposure.

    Raises
    ------
    ValueError
        If a count is negative, an exposure is not positive, or ``level`` is not in (0, 1).

    See Also
    --------
    poisson_ratio_ci : the ratio of two such rates.
    rate_table : pooling of rare events over 3 or 5 years before this interval.

    Notes
    -----
    With :math:`\alpha = 1 - \text{level}` and :math:`\chi^2_{q}(\nu)` the
    :math:`q` quantile of the chi-square distribution with :math:`\nu` degrees
    of freedom,

    .. math::
        L = \frac{\chi^2_{\alpha/2}(2k)}{2E}\cdot\text{per}, \qquad
        U = \frac{\chi^2_{1-\alpha/2}(2k+2)}{2E}\cdot\text{per},

    with :math:`L = 0` when :math:`k = 0`.  This equals statsmodels'
    ``confint_poisson(method="exact-c")`` (tests check it).

    References
    ----------
    .. [1] Garwood F (1936). Fiducial limits for the Poisson distribution. *Biometrika*
       28:437-442.
    .. [2] Ulm K (1990). A simple method to calculate the confidence interval of a standardized
       mortality ratio. *American Journal of Epidemiology* 131:373-375.

    Examples
    --------
    4 maternal deaths among 40 000 live births, per 100 000:

    >>> from fzanalysis.rates import poisson_rate_ci
    >>> ci = poisson_rate_ci(4, 40_000)
    >>> round(ci.estimate, 1), round(ci.lower, 2), round(ci.upper, 2)
    (10.0, 2.72, 25.6)

    No death in a year of 8 000 births is still compatible with a rate of 46 per 100 000:

    >>> round(poisson_rate_ci(0, 8_000).upper, 1)
    46.1
    """
    level = _check_level(level)
    scalar = np.ndim(events) == 0 and np.ndim(exposure) == 0
    k, e = np.broadcast_arrays(_as_float_array(events, "events"), _as_float_array(exposure, "exposure"))
    k = np.atleast_1d(k).astype(float)
    e = np.atleast_1d(e).astype(float)
    ok = ~(np.isnan(k) | np.isnan(e))
    bad = ok & ((k < 0) | (e <= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"poisson_rate_ci: element {i}: need events >= 0 and exposure > 0, got {k[i]}, {e[i]}"
        )
    alpha = 1 - level
    rate = np.full(k.shape, np.nan)
    lo = np.full(k.shape, np.nan)
    hi = np.full(k.shape, np.nan)
    kk, ee = k[ok], e[ok]
    with np.errstate(invalid="ignore"):
        low_count = np.where(kk > 0, stats.chi2.ppf(alpha / 2, 2 * kk) / 2, 0.0)
    up_count = stats.chi2.ppf(1 - alpha / 2, 2 * kk + 2) / 2
    rate[ok] = kk / ee * per
    lo[ok] = low_count / ee * per
    hi[ok] = up_count / ee * per
    return Interval(*_unwrap(scalar, rate, lo, hi))


def poisson_ratio_ci(
    events1: Any, exposure1: Any, events2: Any, exposure2: Any, *, level: float = 0.95
) -> Interval:
    r"""Exact conditional interval for the ratio of two Poisson rates (vectorised).

    Parameters
    ----------
    events1, exposure1 : array_like
        Counts and exposures of the first group (women, say).
    events2, exposure2 : array_like
        Counts and exposures of the second group.
    level : float, keyword-only
        Confidence level, default 0.95.

    Returns
    -------
    Interval
        ``(ratio, lower, upper)`` of :math:`\rho = (k_1/E_1)/(k_2/E_2)` (floats for scalar
        input, arrays otherwise).

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        If ``level`` is not in (0, 1), a count is negative or an exposure is not positive.

    See Also
    --------
    proportion_ci : the Clopper-Pearson interval it maps.
    fzanalysis.gender_gap : female/male ratios with this interval for Poisson rates.

    Notes
    -----
    Conditional on :math:`k_1 + k_2`, :math:`k_1` is binomial with
    :math:`\pi = \rho E_1/(\rho E_1 + E_2)` where :math:`\rho = \lambda_1/\lambda_2`.
    The Clopper-Pearson limits :math:`(\pi_L, \pi_U)` map to

    .. math::
        \rho_{L,U} = \frac{\pi_{L,U}}{1 - \pi_{L,U}}\cdot\frac{E_2}{E_1}

    (Breslow & Day 1987, section 2.3; Armitage, Berry & Matthews 2002).  The
    upper limit is infinite when :math:`k_2 = 0`; nothing is defined when both
    counts are zero (``NaN``).

    References
    ----------
    .. [1] Breslow NE, Day NE (1987). *Statistical Methods in Cancer Research II: The Design and
       Analysis of Cohort Studies*. IARC, section 2.3.
    .. [2] Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in
       the case of the binomial. *Biometrika* 26:404-413.

    Examples
    --------
    >>> from fzanalysis.rates import poisson_ratio_ci
    >>> ci = poisson_ratio_ci(12, 1000.0, 6, 1000.0)
    >>> round(ci.estimate, 2), round(ci.lower, 3), round(ci.upper, 3)
    (2.0, 0.695, 6.495)
    """
    level = _check_level(level)
    k1, e1, k2, e2 = (np.atleast_1d(_as_float_array(v, n)).astype(float) for v, n in (
        (events1, "events1"), (exposure1, "exposure1"), (events2, "events2"), (exposure2, "exposure2")))
    k1, e1, k2, e2 = np.broadcast_arrays(k1, e1, k2, e2)
    with np.errstate(invalid="ignore"):
        bad = (k1 < 0) | (k2 < 0) | (e1 <= 0) | (e2 <= 0)   # NaN compares False: missing stays NaN
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(f"poisson_ratio_ci: element {i}: need events >= 0 and exposure > 0, got "
                         f"{k1.ravel()[i]}/{e1.ravel()[i]} and {k2.ravel()[i]}/{e2.ravel()[i]}")
    total = k1 + k2
    valid = ~np.isnan(total) & (total > 0) & (e1 > 0) & (e2 > 0)
    scalar = all(np.ndim(v) == 0 for v in (events1, exposure1, events2, exposure2))
    est = np.full(k1.shape, np.nan)
    lo = np.full(k1.shape, np.nan)
    hi = np.full(k1.shape, np.nan)
    if valid.any():
        pi = proportion_ci(k1[valid], total[valid], level=level, method="clopper-pearson")
        scale = e2[valid] / e1[valid]
        with np.errstate(divide="ignore"):
            lo[valid] = pi.lower / (1 - pi.lower) * scale
            hi[valid] = np.where(pi.upper >= 1, np.inf, pi.upper / (1 - pi.upper) * scale)
            est[valid] = np.where(k2[valid] > 0, (k1[valid] / e1[valid]) / (k2[valid] / e2[valid]), np.inf)
    return Interval(*_unwrap(scalar, est, lo, hi))


# ---------------------------------------------------------------------------------------
# Tidy tables
# ---------------------------------------------------------------------------------------

def _row_ref(panel: pd.DataFrame, idx: Any) -> str:
    row = panel.loc[idx]
    where = f"panel row {idx}"
    if isinstance(row.get("source"), str) and row.get("source"):
        where += f" (source {row['source']})"
    keys = ", ".join(f"{c}={row[c].item() if hasattr(row[c], 'item') else row[c]!r}"
                     for c in PANEL_KEYS if c in panel.columns)
    return f"{where} [{keys}]"


def _unit_rule(unit: str, rules: dict[str, Any]) -> dict[str, Any]:
    return dict(rules["unit_intervals"].get(str(unit), {"kind": "none"}))


def _years_label(years: list[int]) -> str:
    years = sorted(years)
    if len(years) <= 1:
        return ""
    if years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}\u2013{years[-1]}"
    return ",".join(str(y) for y in years)


def window_years(pooled: Any, year: int) -> frozenset[int]:
    """The years behind a figure of ``year``: those its ``pooled_years`` label names
    (``"2020–2024"`` or ``"2015,2017,2018"``, the form :func:`rate_table` writes), else the year
    itself.

    Examples
    --------
    >>> sorted(window_years("2020–2024", 2024)), sorted(window_years("2015,2017,2018", 2018))
    ([2020, 2021, 2022, 2023, 2024], [2015, 2017, 2018])
    >>> sorted(window_years("", 2024))
    [2024]
    """
    text = "" if pooled is None or (isinstance(pooled, float) and np.isnan(pooled)) else str(pooled).strip()
    if not text or text == "<NA>":
        return frozenset({int(year)})
    if "\u2013" in text:
        a, b = (int(p) for p in text.split("\u2013"))
        return frozenset(range(a, b + 1))
    return frozenset(int(p) for p in text.split(","))


def rate_table(
    panel: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    level: float = 0.95,
    pool: bool = True,
    proportion_method: str | None = None,
    windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Add intervals, pooling and precision flags to every panel row.

    Parameters
    ----------
    panel : DataFrame
        Tidy panel (``indicator, year, value`` required; ``area, sex,
        numerator, denominator`` optional).
    catalog : DataFrame
        At least ``id`` and ``unit``.
    level : float, keyword-only
        Confidence level of the intervals.
    pool : bool, keyword-only
        Apply the rare-event pooling rule (methods 1.3).  Default True.
    proportion_method : str, keyword-only
        Override ``proportion_method`` of ``data/assess.yaml`` (``"wilson"``).
    windows : DataFrame, keyword-only
        ``indicator, area, year, first_year``: for these keys, every sex's Poisson rate with
        counts is pooled over the years ``first_year .. year`` present in the panel instead of
        the window the rule would choose (``first_year == year``: the annual figure).  This is
        how two series are pooled over the *same* years, as a gender gap needs (methods 4).
        Other rows follow the rule.  Needs ``pool=True``.

    Returns
    -------
    DataFrame
        The normalised panel plus ``unit``, ``estimate`` (the value to judge: the
        reported ``value``, or the pooled rate), ``estimate_numerator``,
        ``estimate_denominator``, ``lower``, ``upper``, ``interval_method``
        (``wilson``, ``clopper_pearson``, ``garwood_exact``, ``exact_count`` or
        ``none``), ``pooled_years`` (e.g. ``"2022–2024"``, empty when not
        pooled), ``pooled_from`` (the first year pooled, NA when not pooled), ``too_wide`` and ``rankable`` (nullable booleans; NA when no
        interval could be computed).

    Notes
    -----
    * ``percent`` with counts: proportion interval of numerator/denominator,
      times 100.  ``per_100k*`` with counts: Garwood exact Poisson interval.
      ``count``: exact, no sampling error.  Anything else, or no counts:
      ``interval_method = "none"`` and NaN limits (point estimate only).
    * Pooling (Poisson rates only): when the annual count
      :math:`k_t < k_{\min}` (20, the NCHS reliability rule), use the shortest
      window :math:`w \in \{3, 5\}` of calendar years :math:`t-w+1 \dots t`
      whose pooled count :math:`\sum k \ge k_{\min}`, else the longest.
      Pooled rate :math:`\sum k / \sum E \cdot \text{per}` with the Garwood
      interval of :math:`\sum k`.
    * ``too_wide``: Poisson :math:`(U - L)/\hat r > 1`; proportion
      :math:`U - L > 20` percentage points; a zero Poisson rate is too wide.
    * ``rankable``: not too wide and, for Poisson rates, at least 20 events
      after pooling; exact counts are rankable.

    Raises
    ------
    PanelError
        When an indicator is not in the catalogue, counts are negative, a
        proportion's numerator exceeds its denominator, or ``value`` disagrees
        with numerator/denominator (tolerance in ``data/assess.yaml``); an
        :class:`~fzanalysis.exceptions.FzError` and a ``ValueError``.
    CatalogError
        When the catalogue lacks ``id`` or ``unit``.
    ValueError
        When ``level`` or ``proportion_method`` is invalid.

    See Also
    --------
    proportion_ci, poisson_rate_ci
    fzanalysis.assess : judges ``estimate`` against the target.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and statistical
       inference. *JASA* 22:209-212.
    .. [2] Garwood F (1936). Fiducial limits for the Poisson distribution. *Biometrika*
       28:437-442.
    .. [3] National Center for Health Statistics, *National Vital Statistics Reports*,
       technical notes on random variation: rates from fewer than 20 events are unreliable.

    Examples
    --------
    One maternal death in 8 000 births is pooled with the previous years: the pooled rate and
    its Garwood interval are what gets judged, and they are still too wide to judge or rank.

    >>> import pandas as pd
    >>> from fzanalysis.catalog import normalize
    >>> from fzanalysis.rates import rate_table
    >>> cat = normalize(pd.DataFrame({"id": ["health.mmr"], "unit": ["per_100k_live_births"],
    ...                               "comparator": ["<"], "target": [7.5]}))
    >>> panel = pd.DataFrame({"indicator": "health.mmr", "year": [2022, 2023, 2024],
    ...                       "value": [12.5, 0.0, 12.5], "numerator": [1, 0, 1],
    ...                       "denominator": [8000, 7800, 8000]})
    >>> out = rate_table(panel, cat)
    >>> cols = ["year", "value", "estimate", "lower", "upper", "pooled_years", "too_wide"]
    >>> print(out[cols].round(1).to_string(index=False))
     year  value  estimate  lower  upper pooled_years  too_wide
     2022   12.5      12.5    0.3   69.6                   True
     2023    0.0       6.3    0.2   35.3    2022–2023      True
     2024   12.5       8.4    1.0   30.4    2022–2024      True
    """
    rules = load_rules()
    level = _check_level(level)
    pmethod = proportion_method or rules.get("proportion_method", "wilson")
    if pmethod not in PROPORTION_METHODS:
        raise ValueError(f"proportion_method must be one of {sorted(PROPORTION_METHODS)}, got {pmethod!r}")
    for col in ("id", "unit"):
        if col not in catalog.columns:
            raise CatalogError(f"catalogue lacks required column {col!r}")
    checked = as_panel(panel, catalog=catalog)
    p = checked.frame.copy()
    units = dict(zip(catalog["id"].astype(str), catalog["unit"].astype(str)))
    unknown = ~p["indicator"].isin(list(units))
    if unknown.any():
        idx = unknown[unknown].index[0]
        raise PanelError(checked.source, [
            f"{_row_ref(p, idx)}: indicator {p.at[idx, 'indicator']!r} is not in the catalogue"])
    p["unit"] = p["indicator"].map(units).astype("string")
    kinds = p["unit"].map(lambda u: _unit_rule(u, rules)["kind"]).astype("string")
    if "upper_bound" in catalog.columns:
        # gross ratios (e.g. gross enrolment, upper bound 150 %) are not binomial proportions
        ub = p["indicator"].map(dict(zip(catalog["id"].astype(str), pd.to_numeric(catalog["upper_bound"]))))
        sc = p["unit"].map(lambda u: float(_unit_rule(u, rules).get("scale", np.nan)))
        gross = (kinds == "proportion") & (ub.astype(float) > sc.astype(float))
        kinds = kinds.mask(gross, "none")
    has_counts = p["numerator"].notna() & p["denominator"].notna()

    # --- validate counts --------------------------------------------------------------
    neg = has_counts & ((p["numerator"] < 0) | (p["denominator"] <= 0))
    if neg.any():
        idx = neg[neg].index[0]
        raise PanelError(checked.source, [
            f"{_row_ref(p, idx)}: need numerator >= 0 and denominator > 0, got "
            f"{p.at[idx, 'numerator']} / {p.at[idx, 'denominator']}"])
    over = has_counts & (kinds == "proportion") & (p["numerator"] > p["denominator"])
    if over.any():
        idx = over[over].index[0]
        raise PanelError(checked.source, [
            f"{_row_ref(p, idx)}: numerator {p.at[idx, 'numerator']} exceeds denominator "
            f"{p.at[idx, 'denominator']} for a proportion (unit {p.at[idx, 'unit']})"])
    scale = p["unit"].map(lambda u: float(_unit_rule(u, rules).get("scale", _unit_rule(u, rules).get("per", np.nan)))
                          ).astype(float)  # float also for an empty panel
    implied = p["numerator"] / p["denominator"] * scale
    check = has_counts & kinds.isin(["proportion", "poisson"]) & p["value"].notna()
    tol = pd.Series(value_tolerance(implied), index=implied.index)  # for the message
    off = check & value_disagrees(p["value"], p["numerator"], p["denominator"], scale)
    if off.any():
        idx = off[off].index[0]
        raise PanelError(checked.source, [
            f"{_row_ref(p, idx)}: value {p.at[idx, 'value']} disagrees with numerator/denominator "
            f"= {implied[idx]:.4g} ({p.at[idx, 'unit']}); expected them to agree within "
            f"{tol[idx]:.3g}"])

    # --- annual intervals -------------------------------------------------------------
    out = p.copy()
    out["estimate"] = out["value"]
    out["estimate_numerator"] = out["numerator"].where(has_counts)
    out["estimate_denominator"] = out["denominator"].where(has_counts)
    out["lower"] = np.nan
    out["upper"] = np.nan
    out["interval_method"] = pd.Series("none", index=out.index, dtype="string")
    out["pooled_years"] = pd.Series("", index=out.index, dtype="string")
    out["pooled_from"] = pd.Series(pd.NA, index=out.index, dtype="Int64")

    prop = has_counts & (kinds == "proportion")
    if prop.any():
        ci = proportion_ci(out.loc[prop, "numerator"].to_numpy(), out.loc[prop, "denominator"].to_numpy(),
                           level=level, method=pmethod)
        sc = scale[prop].to_numpy()
        out.loc[prop, "lower"] = ci.lower * sc
        out.loc[prop, "upper"] = ci.upper * sc
        out.loc[prop, "interval_method"] = INTERVAL_CODES[pmethod]
    pois = has_counts & (kinds == "poisson")
    if pois.any():
        per = scale[pois].to_numpy()
        ci = poisson_rate_ci(out.loc[pois, "numerator"].to_numpy(), out.loc[pois, "denominator"].to_numpy(),
                             per=1.0, level=level)
        out.loc[pois, "lower"] = ci.lower * per
        out.loc[pois, "upper"] = ci.upper * per
        out.loc[pois, "interval_method"] = "garwood_exact"
    exact = (kinds == "exact") & out["value"].notna()
    out.loc[exact, "lower"] = out.loc[exact, "value"]
    out.loc[exact, "upper"] = out.loc[exact, "value"]
    out.loc[exact, "interval_method"] = "exact_count"

    # --- pooling of rare events --------------------------------------------------------
    prules = rules["pooling"]
    k_min = float(prules["min_events"])
    windows_ = sorted(int(w) for w in prules["windows"])
    poolable = has_counts & kinds.isin(prules["kinds"]) & (out["numerator"] < k_min)
    fixed: dict[tuple[str, str, int], int] = {}
    if windows is not None:
        if not pool:
            raise ValueError("windows= pools over given years; it needs pool=True")
        missing = {"indicator", "area", "year", "first_year"} - set(windows.columns)
        if missing:
            raise ValueError(f"windows: missing columns {sorted(missing)}; expected indicator, area, year, "
                             "first_year")
        fixed = {(str(i), str(a), int(y)): int(f) for i, a, y, f in
                 zip(windows["indicator"], windows["area"], windows["year"], windows["first_year"], strict=True)}
    counted_kinds = has_counts & kinds.isin(prules["kinds"])
    if pool and (poolable.any() or (fixed and counted_kinds.any())):
        counted = out[counted_kinds]
        for (ind, area, _sex), grp in counted.groupby(["indicator", "area", "sex"], sort=False):
            by_year = grp.set_index("year")[["numerator", "denominator"]]
            for idx in grp.index:
                t = int(out.at[idx, "year"])
                first = fixed.get((str(ind), str(area), t))
                if first is not None:  # the given window, whatever this series' own count
                    chosen = by_year[(by_year.index >= first) & (by_year.index <= t)]
                elif poolable[idx]:  # the rule: the shortest window reaching k_min, else the longest
                    chosen = None
                    for w in windows_:
                        sub = by_year[(by_year.index > t - w) & (by_year.index <= t)]
                        chosen = sub
                        if sub["numerator"].sum() >= k_min:
                            break
                else:
                    continue
                if chosen is None or len(chosen) <= 1:
                    continue
                k_sum = float(chosen["numerator"].sum())
                e_sum = float(chosen["denominator"].sum())
                per = float(scale[idx])
                ci = poisson_rate_ci(k_sum, e_sum, per=per, level=level)
                out.at[idx, "estimate"] = ci.estimate
                out.at[idx, "estimate_numerator"] = k_sum
                out.at[idx, "estimate_denominator"] = e_sum
                out.at[idx, "lower"] = ci.lower
                out.at[idx, "upper"] = ci.upper
                out.at[idx, "pooled_years"] = _years_label(chosen.index.tolist())
                out.at[idx, "pooled_from"] = int(chosen.index.min())

    # --- precision flags ----------------------------------------------------------------
    tw = rules["too_wide"]
    width = out["upper"] - out["lower"]
    too_wide = pd.Series(pd.NA, index=out.index, dtype="boolean")
    is_p = out["interval_method"].isin(list(INTERVAL_CODES.values()))
    is_g = out["interval_method"] == "garwood_exact"
    too_wide[is_p] = _proportion_width_too_wide(width[is_p].to_numpy(), rules)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = width / out["estimate"]
    too_wide[is_g] = ((out.loc[is_g, "estimate"] <= 0) | (rel[is_g] > tw["poisson_max_relative_width"])).to_numpy()
    too_wide[out["interval_method"] == "exact_count"] = False
    out["too_wide"] = too_wide
    rankable = ~too_wide
    rankable[is_g] = rankable[is_g] & (out.loc[is_g, "estimate_numerator"] >= rules["rank_min_events"]).to_numpy()
    out["rankable"] = rankable.astype("boolean")
    return out


def _proportion_width_too_wide(width: np.ndarray, rules: dict[str, Any]) -> np.ndarray:
    """The one rule of methods 1.4 for a proportion: interval width (value scale) above
    ``assess.yaml: too_wide.proportion_max_width`` percentage points."""
    return np.asarray(width, dtype=float) > float(rules["too_wide"]["proportion_max_width"])


def proportion_too_wide(k: Any, n: Any, *, level: float = 0.95, scale: float = 100.0) -> np.ndarray:
    """Is the binomial interval of ``k`` of ``n`` too wide to judge (methods.md 1.4)?

    The interval of :func:`rate_table` (``assess.yaml: proportion_method``, Wilson) at ``level``,
    times ``scale``, against the same threshold (``too_wide.proportion_max_width``, 20
    percentage points).  :func:`fzanalysis.trend.engine.small_base` reads it.

    Examples
    --------
    >>> proportion_too_wide([3, 300], [3, 300]).tolist()   # 43.9-100 % and 98.7-100 %
    [True, False]
    """
    rules = load_rules()
    ci = proportion_ci(_as_float_array(k, "k"), _as_float_array(n, "n"), level=level,
                       method=str(rules["proportion_method"]))
    return np.atleast_1d(_proportion_width_too_wide(
        (np.asarray(ci.upper) - np.asarray(ci.lower)) * scale, rules))


def unrankable(frame: pd.DataFrame) -> pd.Series:
    """Rows whose figure must not be coloured or ranked against others (methods 1.5).

    The one rule every map (:func:`fzanalysis.geo.choropleth`) and grid
    (:func:`fzanalysis.plots.status_heatmap`) applies to town figures: ``rankable`` is false
    (an interval too wide to judge, or a Poisson rate from fewer than ``rank_min_events``
    events after pooling).  ``rankable`` NA (no counts: precision unknown) and a table without
    the column are not flagged.

    Parameters
    ----------
    frame : DataFrame
        Rows of :func:`rate_table`, :func:`fzanalysis.assess` or :func:`fzanalysis.evaluate`.

    Returns
    -------
    Series of bool, aligned with ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis.rates import unrankable
    >>> unrankable(pd.DataFrame({"rankable": pd.array([True, False, pd.NA], dtype="boolean")})).tolist()
    [False, True, False]
    """
    if "rankable" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["rankable"].astype("boolean").fillna(True).eq(False).astype(bool)
