"""Where each indicator stands: status against the target, progress since the
baseline, verdicts, attainment rate and gender gaps (docs/methods.md sections 2-4).

Public API
----------
assess(panel, catalog=None, year=None, baseline_year=2020, *, level=0.95)
    One row per indicator x area x sex with value, interval, target, gap,
    status, pace ratio, progress category and verdict (columns in
    docs/design.md, "Result tables", plus a few documented extras).
attainment(assessed)
    The attainment rate (达标率) per domain and overall.
gender_gap(panel, catalog=None, *, level=0.95)
    Female/male difference and ratio with intervals wherever both sexes are present.
judge, trend_test, judge_direction, progress_category, verdict
    The scalar rules, exposed so that tests and researchers can check them.

Every threshold comes from ``data/assess.yaml``; labels from ``data/labels/assess.yaml``.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fzanalysis import catalog as catalog_mod
from fzanalysis import codes, comparators, gazetteer
from fzanalysis.exceptions import InputError
from fzanalysis.labels import domain_label, domain_order, label
from fzanalysis.panel.cli import DATA_HELP, data_option, load_for_cli
from fzanalysis.panel.schema import as_panel, whole_area
from fzanalysis.rates import (
    load_rules,
    poisson_ratio_ci,
    rate_table,
    unrankable,
    window_years,
)

__all__ = [
    "COMPARATORS",
    "RESULT_COLUMNS",
    "assess",
    "attainment",
    "cagr_category",
    "limit_factor",
    "maintain_category",
    "of_judged_sex",
    "ratio_category",
    "gap_change",
    "gender_gap",
    "judge",
    "judge_direction",
    "like_with_like",
    "progress_category",
    "register_cli",
    "trend_test",
    "verdict",
]

NUMERIC = comparators.NUMERIC
DIRECTIONAL = comparators.DIRECTIONAL
COMPARATORS = comparators.ALL

#: Columns of docs/design.md "Result tables", in order.
RESULT_COLUMNS = [
    "indicator", "area", "sex", "year", "value", "lower", "upper", "numerator", "denominator",
    "pooled_years", "interval_method", "too_wide", "unit", "comparator", "target", "tolerance",
    "gap", "status", "baseline_year", "baseline_value", "cagr_observed", "cagr_required",
    "pace_ratio", "category", "verdict_zh", "verdict_en", "domain", "name_zh", "name_en",
    "synthetic",
]
#: Extra columns appended after RESULT_COLUMNS.
EXTRA_COLUMNS = [
    "value_reported", "rankable", "status_note", "baseline_source", "target_year",
    "trend_slope", "trend_lower", "trend_upper", "trend_p", "trend_n", "limit_factor",
    "per_area", "n_areas", "n_areas_met", "subject_sex", "baseline_pooled_years",
    "unit_word_zh", "unit_word_en", "target_words_zh", "target_words_en",
]

_CATEGORY_ORDER = list(codes.CATEGORIES)


# ---------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------
# Scalar rules
# ---------------------------------------------------------------------------------------

def _isnan(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def judge(
    value: float,
    comparator: str,
    target: float,
    *,
    lower: float = np.nan,
    upper: float = np.nan,
    tolerance: float = np.nan,
    lower_bound: float = np.nan,
    upper_bound: float = np.nan,
) -> tuple[str, float, str]:
    r"""Status and gap of one value against a numeric target (methods 2.1-2.3).

    Parameters
    ----------
    value : float
        The estimate, in the indicator's unit (a percentage as 96.5).
    comparator : {">=", ">", "<=", "<", "==", "~=", "~>="}
        The catalogue's comparator (:data:`fzanalysis.comparators.NUMERIC`).
    target : float
        The target, in the same unit.
    lower, upper : float, keyword-only
        Confidence limits; NaN = no interval (judged on the point).
    tolerance : float, keyword-only
        Half-width :math:`\tau` of the ``~=`` band (左右), or the tolerance of a ``~>=`` floor;
        required for those two comparators.
    lower_bound, upper_bound : float, keyword-only
        Natural bounds of the unit; a ``>=`` target equal to ``upper_bound`` (or a
        ``<=`` target equal to ``lower_bound``) is judged on the point value.

    Returns
    -------
    status : str
        ``met``, ``not_met``, ``cannot_judge`` or ``no_data`` (NaN value).
    gap : float
        The shortfall in the indicator's unit, positive = still short:
        ``>=``, ``>``: :math:`g = T - x`;  ``<=``, ``<``: :math:`g = x - T`;
        ``==``: :math:`g = |x - T|`;  ``~=``: :math:`g = |x - T| - \tau`.
    note : str
        Why: ``interval_clear``, ``interval_straddles_target``, ``target_at_bound`` ...

    Raises
    ------
    ValueError
        If the comparator is not numeric, a value has no target, or ``~=``/``~>=`` has no
        tolerance.

    See Also
    --------
    fzanalysis.comparators.status : the vectorised rule this calls.
    judge_direction : the rule for ``increase``, ``decrease`` and ``maintain``.
    assess : applies it to every series.

    Notes
    -----
    With limits :math:`[L, U]`: ``>=`` is met when :math:`L \ge T`, not met
    when :math:`U < T`, else ``cannot_judge`` (the interval straddles the
    target); the other comparators mirror this.  ``~=`` is met when
    :math:`[L, U] \subseteq [T-\tau, T+\tau]`, not met when the two are
    disjoint.  ``==`` is judged on the point (met when
    :math:`|x - T| \le 10^{-9}`), ``cannot_judge`` when it misses but the
    interval contains :math:`T`.

    Examples
    --------
    >>> from fzanalysis.assessment import judge
    >>> judge(96.5, ">=", 95.0, lower=95.2, upper=97.6)
    ('met', -1.5, 'interval_clear')
    >>> judge(94.0, ">=", 95.0, lower=92.1, upper=95.6)
    ('cannot_judge', 1.0, 'interval_straddles_target')
    >>> judge(44.0, "~=", 45.0, lower=43.0, upper=46.0, tolerance=2.0)
    ('met', -1.0, 'interval_clear')

    A coverage target of 100 % is judged on the count: every case covered meets it.

    >>> judge(100.0, ">=", 100.0, lower=98.2, upper=100.0, upper_bound=100.0)
    ('met', 0.0, 'target_at_bound')
    """
    if comparator not in NUMERIC:
        raise ValueError(f"judge: comparator must be one of {NUMERIC}, got {comparator!r}")
    if not _isnan(value) and _isnan(target):
        raise ValueError(f"judge: comparator {comparator!r} needs a numeric target")
    if comparator in ("~=", "~>=") and _isnan(tolerance):
        raise ValueError(f"judge: comparator {comparator!r} needs a tolerance (the half-width of 左右)")
    st, gap, note = comparators.status(
        np.nan if _isnan(value) else value, comparator, np.nan if _isnan(target) else target,
        lower=np.nan if _isnan(lower) else lower, upper=np.nan if _isnan(upper) else upper,
        tolerance=np.nan if _isnan(tolerance) else tolerance,
        lower_bound=np.nan if _isnan(lower_bound) else lower_bound,
        upper_bound=np.nan if _isnan(upper_bound) else upper_bound)
    return str(st.item()), float(gap.item()), str(note.item())


def trend_test(
    years: Any, values: Any, *, level: float = 0.95, max_points: int | None = None
) -> dict[str, float]:
    r"""OLS slope of the last ``max_points`` annual values with a t interval (methods 2.4).

    Parameters
    ----------
    years, values : array_like
        Years and values of one series; pairs with a NaN are dropped, the rest sorted by year.
    level : float, keyword-only
        Confidence level of the slope's interval (default 0.95).
    max_points : int, keyword-only, optional
        Use only the latest this many points (default ``status.trend.max_points`` of
        ``data/assess.yaml``, 5).

    Returns
    -------
    dict
        ``slope`` (units per year), ``lower``, ``upper`` (its confidence limits), ``p`` (two-sided
        t-test of a zero slope) and ``n`` (points used).  Slope and limits are NaN when n < 3; a
        constant series has slope 0 and p = 1.

    See Also
    --------
    judge_direction : turns the result into a status.
    scipy.stats.linregress : the same slope and standard error.

    Notes
    -----
    The model is :math:`x_i = a + b\,t_i + \varepsilon_i`, :math:`\varepsilon_i`
    i.i.d. normal, fitted by ordinary least squares; the interval is
    :math:`\hat b \pm t_{1-\alpha/2,\,n-2}\,\widehat{se}(\hat b)` and ``p`` the
    two-sided t-test of :math:`b = 0`.  With 4-5 annual points a rank test
    (Mann-Kendall) could almost never reach significance, hence the t-test; it assumes
    independent errors.

    Examples
    --------
    >>> from fzanalysis.assessment import trend_test
    >>> t = trend_test([2020, 2021, 2022, 2023, 2024], [70.1, 71.8, 73.0, 74.9, 76.2])
    >>> {k: round(v, 3) for k, v in t.items()}
    {'slope': 1.53, 'lower': 1.355, 'upper': 1.705, 'p': 0.0, 'n': 5}
    >>> trend_test([2023, 2024], [1.0, 2.0])["n"]
    2
    """
    if max_points is None:
        max_points = int(load_rules()["status"]["trend"]["max_points"])
    y = np.asarray(years, dtype=float)
    v = np.asarray(values, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(v))
    y, v = y[ok], v[ok]
    order = np.argsort(y)
    y, v = y[order][-max_points:], v[order][-max_points:]
    n = len(y)
    if n < 3:
        return {"slope": np.nan, "lower": np.nan, "upper": np.nan, "p": np.nan, "n": n}
    if np.allclose(v, v[0]):
        return {"slope": 0.0, "lower": 0.0, "upper": 0.0, "p": 1.0, "n": n}
    # closed-form OLS (identical to scipy.stats.linregress / statsmodels OLS; tests compare)
    yc = y - y.mean()
    sxx = float(yc @ yc)
    slope = float(yc @ (v - v.mean())) / sxx
    resid = v - v.mean() - slope * yc
    se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
    q = float(stats.t.ppf(0.5 + level / 2, n - 2))
    p = float(2 * stats.t.sf(abs(slope / se), n - 2)) if se > 0 else 0.0
    return {"slope": slope, "lower": slope - q * se, "upper": slope + q * se, "p": p, "n": n}


def judge_direction(comparator: str, trend: Mapping[str, float]) -> tuple[str, str]:
    r"""Status of a directional target from :func:`trend_test` (methods 2.4).

    Parameters
    ----------
    comparator : {"increase", "decrease", "narrow", "maintain"}
        The catalogue's directional comparator (逐步提高, 降低, 缩小, 保持).
    trend : mapping
        The result of :func:`trend_test`: ``n``, ``lower``, ``upper`` at least (for ``narrow``,
        of the gap's size, :func:`fzanalysis.comparators.distance_to_parity`).

    Returns
    -------
    status : str
        ``met``, ``not_met`` or ``cannot_judge``.
    note : str
        ``trend_significant``, ``trend_not_significant``, ``no_significant_decline``,
        ``significant_decline`` or ``too_few_points``.

    Raises
    ------
    ValueError
        If the comparator is not directional.

    See Also
    --------
    trend_test : the slope and its interval.
    judge : the rule for numeric targets.

    Notes
    -----
    ``increase`` is met when the slope's lower limit > 0, not met when its upper
    limit <= 0; ``decrease`` and ``narrow`` mirrored; ``maintain`` not met when the upper limit
    < -tolerance (a significant decline), met otherwise.  Fewer than
    ``min_points`` (4) values -> ``cannot_judge`` (``too_few_points``).  Thresholds in
    ``data/assess.yaml``.

    Examples
    --------
    >>> from fzanalysis.assessment import judge_direction, trend_test
    >>> rising = trend_test([2020, 2021, 2022, 2023, 2024], [70.1, 71.8, 73.0, 74.9, 76.2])
    >>> judge_direction("increase", rising)
    ('met', 'trend_significant')
    >>> judge_direction("decrease", rising)
    ('not_met', 'trend_significant')
    >>> judge_direction("increase", trend_test([2022, 2023, 2024], [1.0, 2.0, 3.0]))
    ('cannot_judge', 'too_few_points')
    """
    rules = load_rules()["status"]
    if comparator not in DIRECTIONAL:
        raise ValueError(f"judge_direction: comparator must be one of {DIRECTIONAL}, got {comparator!r}")
    if trend["n"] < int(rules["trend"]["min_points"]):
        return "cannot_judge", "too_few_points"
    lo, up = trend["lower"], trend["upper"]
    if comparator == "increase":
        if lo > 0:
            return "met", "trend_significant"
        if up <= 0:
            return "not_met", "trend_significant"
        return "cannot_judge", "trend_not_significant"
    if comparator in ("decrease", "narrow"):  # narrow: the trend of the gap's size
        if up < 0:
            return "met", "trend_significant"
        if lo >= 0:
            return "not_met", "trend_significant"
        return "cannot_judge", "trend_not_significant"
    if up < -float(rules["maintain_tolerance"]):
        return "not_met", "significant_decline"
    return "met", "no_significant_decline"


def _cagr(x1: float, x0: float, t1: float, t0: float) -> float:
    return (x1 / x0) ** (1.0 / (t1 - t0)) - 1.0


def limit_factor(base: float, limit: float, *, exponent: float | None = None) -> float:
    r"""Statistics Canada's threshold-reduction factor :math:`C` near a natural limit (methods 3.3).

    Parameters
    ----------
    base : float
        The baseline value :math:`y_0`.
    limit : float
        The natural limit in the desired direction (the unit's upper bound for a rising
        indicator); NaN = no limit.
    exponent : float, keyword-only, optional
        :math:`a` (default ``progress.limit_exponent`` of ``data/assess.yaml``, 4.44).

    Returns
    -------
    float
        :math:`C \in [0, 1]`, which scales the CAGR thresholds of :func:`cagr_category`.

    See Also
    --------
    progress_category, cagr_category

    Notes
    -----
    With :math:`b = |y_0|`, :math:`l = |y_{lim}|`:
    :math:`C = 1` if :math:`b \ge 2l`; :math:`C = 1 - (b/l)^a` if :math:`b \le l`;
    else :math:`C = 1 - ((2l - b)/l)^a`.  No limit (NaN) -> :math:`C = 1`.  A series
    already close to its limit cannot grow at the full pace, so it needs less to be on track.

    References
    ----------
    .. [1] Statistics Canada, progress measure of the Canadian Indicator Framework, as
       integrated in Open SDG: "Progress Measurement Methodology for the Sustainable
       Development Goals" (open-sdg.org; ``sdg-build`` ``ProgressMeasure.py``).

    Examples
    --------
    >>> from fzanalysis.assessment import limit_factor
    >>> round(limit_factor(60.0, 100.0), 3), round(limit_factor(99.0, 100.0), 3)
    (0.896, 0.044)
    >>> limit_factor(60.0, float("nan"))
    1.0
    """
    if exponent is None:
        exponent = float(load_rules()["progress"]["limit_exponent"])
    if _isnan(limit) or _isnan(base):
        return 1.0
    b, lim = abs(float(base)), abs(float(limit))
    if b >= 2 * lim:
        return 1.0
    if b <= lim:
        return 1.0 - (b / lim) ** exponent
    return 1.0 - ((2 * lim - b) / lim) ** exponent


def progress_category(
    *,
    comparator: str,
    status: str,
    base_value: float,
    base_year: float,
    value: float,
    year: float,
    target: float = np.nan,
    target_year: float = 2030,
    tolerance: float = np.nan,
    lower_bound: float = np.nan,
    upper_bound: float = np.nan,
) -> dict[str, Any]:
    r"""Progress since the baseline: Statistics Canada / Open SDG method (methods 3.1-3.3).

    Parameters
    ----------
    comparator : str, keyword-only
        The catalogue's comparator (numeric or directional).
    status : str, keyword-only
        The status from :func:`judge` or :func:`judge_direction`; a met numeric target is
        ``achieved``, and a ``maintain`` target's category follows its status.
    base_value, base_year : float, keyword-only
        The baseline :math:`x_0` and its year :math:`t_0`.
    value, year : float, keyword-only
        The current value :math:`x_t` and its year :math:`t`.
    target : float, keyword-only
        The numeric target :math:`x_T` (NaN for directional comparators).
    target_year : float, keyword-only
        :math:`T` (default 2030).
    tolerance : float, keyword-only
        :math:`\tau` of ``~=`` / ``~>=`` targets.
    lower_bound, upper_bound : float, keyword-only
        The unit's natural bounds (for :func:`limit_factor`).

    Returns
    -------
    dict
        ``cagr_observed, cagr_required, pace_ratio, category, limit_factor``;
        ``category`` one of :data:`fzanalysis.codes.CATEGORIES` (``insufficient_data`` when the
        baseline or the current value is missing, or they have opposite signs).

    See Also
    --------
    ratio_category, cagr_category, maintain_category, limit_factor
    verdict : the verdict of the Chinese report, which uses the category.

    Notes
    -----
    Observed and required compound annual growth rates

    .. math::
        CAGR_o = (x_t/x_0)^{1/(t-t_0)} - 1, \qquad CAGR_r = (x_T/x_0)^{1/(T-t_0)} - 1,

    and the ratio :math:`R = s\,d\,CAGR_o/|CAGR_r|` with :math:`d = +1` when higher
    is better (``>=``, ``>``, ``increase``, ``maintain``), :math:`-1` otherwise, and
    :math:`s = \operatorname{sign}(x_0)`.  ``==``/``~=`` targets are transformed
    as Open SDG does for "Goldilocks" indicators: :math:`x' = T + |x - T|`,
    target :math:`T + \tau`, :math:`d = -1`.  A zero base or target is replaced by
    0.001.  Categories: ``achieved`` when the status is met; else
    :math:`R \ge 0.95` ``on_track``, :math:`0.6 \le R < 0.95`
    ``acceleration_needed``, :math:`0 \le R < 0.6` ``limited_progress``,
    :math:`R < 0` ``deterioration``.  Without a numeric target (``increase``,
    ``decrease``) :math:`P = s\,d\,CAGR_o` is compared with 1.5 % C, 0.5 % C and 0,
    :math:`C` = :func:`limit_factor` of the limit in the desired direction.
    ``maintain``: the category follows the status of the trend test
    (:func:`maintain_category`: ``on_track`` when there is no significant decline,
    ``deterioration`` on a significant one, ``insufficient_data`` when it cannot be
    judged); the CAGR is still reported.

    References
    ----------
    .. [1] Statistics Canada, progress measure of the Canadian Indicator Framework, as
       integrated in Open SDG: "Progress Measurement Methodology for the Sustainable
       Development Goals" (open-sdg.org; ``sdg-build`` ``ProgressMeasure.py``).

    Examples
    --------
    From 60 % in 2020 to 64 % in 2024 against a target of 80 % in 2030: the pace is about
    half the one needed.

    >>> from fzanalysis.assessment import progress_category
    >>> r = progress_category(comparator=">=", status="not_met", base_value=60.0, base_year=2020,
    ...                       value=64.0, year=2024, target=80.0, target_year=2030)
    >>> r["category"], round(r["pace_ratio"], 3), round(r["cagr_required"], 4)
    ('limited_progress', 0.557, 0.0292)
    >>> progress_category(comparator="increase", status="met", base_value=60.0, base_year=2020,
    ...                   value=66.0, year=2024, upper_bound=100.0)["category"]
    'on_track'
    """
    prog = load_rules()["progress"]
    out: dict[str, Any] = {"cagr_observed": np.nan, "cagr_required": np.nan, "pace_ratio": np.nan,
                           "category": "insufficient_data", "limit_factor": np.nan}
    numeric = comparator in NUMERIC
    if comparator == "maintain":
        # the category of a 'maintain' target is the verdict of the trend test (methods 3.3a),
        # whatever the baseline: a baseline-to-date CAGR of a flat series is mostly noise
        out["category"] = maintain_category(status)
    if numeric and status == "met":
        out["category"] = "achieved"
    if any(_isnan(v) for v in (base_value, base_year, value, year)) or float(year) <= float(base_year):
        return out
    x0, xt, t0, t = float(base_value), float(value), float(base_year), float(year)
    if comparator == "narrow":  # the gap's size falls towards 0 (its lower limit)
        x0, xt = (float(v) for v in comparators.distance_to_parity([x0, xt], comparator, target))
        base_value, lower_bound = x0, 0.0
    zero = float(prog["zero_replacement"])
    if comparator in ("==", "~="):
        tau = 0.0 if comparator == "==" else float(tolerance)
        tgt = float(target) + tau
        x0, xt = float(target) + abs(x0 - float(target)), float(target) + abs(xt - float(target))
        d = -1.0
    elif comparator == "~>=":
        tgt = float(target) - float(tolerance)
        d = 1.0
    elif numeric:
        tgt = float(target)
        d = 1.0 if comparator in (">=", ">") else -1.0
    else:
        tgt = np.nan
        d = -1.0 if comparator in ("decrease", "narrow") else 1.0
    if x0 == 0:
        x0 = zero
    if (x0 > 0 and xt < 0) or (x0 < 0 and xt > 0):
        return out
    s = -1.0 if x0 < 0 else 1.0
    cagr_o = _cagr(xt, x0, t, t0)
    out["cagr_observed"] = cagr_o
    if numeric:
        T = float(target_year)
        if T <= t0:
            return out
        if tgt == 0:
            tgt = zero
        if (tgt > 0) != (x0 > 0):
            return out
        cagr_r = _cagr(tgt, x0, T, t0)
        out["cagr_required"] = cagr_r
        num = s * d * cagr_o
        if cagr_r == 0:
            r = 0.0 if num == 0 else math.copysign(math.inf, num)
        else:
            r = num / abs(cagr_r)
        out["pace_ratio"] = r
        if out["category"] != "achieved":
            out["category"] = ratio_category(r)
        return out
    p_dir = s * d * cagr_o
    if comparator == "maintain":
        out["category"] = maintain_category(status)
        return out
    limit = upper_bound if d > 0 else lower_bound
    c = limit_factor(float(base_value), limit)
    out["limit_factor"] = c
    out["category"] = cagr_category(p_dir, c)
    return out


def maintain_category(status: str) -> str:
    """Progress category of a ``maintain`` target from its status (methods 3.3a).

    Parameters
    ----------
    status : str
        The status from :func:`judge_direction`.

    Returns
    -------
    str
        ``on_track``, ``deterioration`` or ``insufficient_data``.

    Notes
    -----
    The same trend test decides both (:func:`judge_direction`, methods 2.4): ``met`` (no
    significant decline) -> ``on_track``; ``not_met`` (a significant decline) ->
    ``deterioration``; anything else (too few points, no data) -> ``insufficient_data``.
    A point-to-point CAGR is not used: for a level held near a bound (100 % of cases
    treated, one untreated case among 47 moves it by 2 points) it would call chance
    variation a deterioration while the status says the level is held.

    Examples
    --------
    >>> from fzanalysis.assessment import maintain_category
    >>> maintain_category("met"), maintain_category("not_met"), maintain_category("cannot_judge")
    ('on_track', 'deterioration', 'insufficient_data')
    """
    return {"met": "on_track", "not_met": "deterioration"}.get(str(status), "insufficient_data")


def ratio_category(r: float) -> str:
    r"""Category of the pace ratio :math:`R` (Statistics Canada thresholds, ``data/assess.yaml``).

    Parameters
    ----------
    r : float
        The pace ratio of :func:`progress_category`.

    Returns
    -------
    str
        :math:`R \ge 0.95` ``on_track``; :math:`0.6 \le R < 0.95` ``acceleration_needed``;
        :math:`0 \le R < 0.6` ``limited_progress``; :math:`R < 0` ``deterioration``;
        NaN ``insufficient_data``.

    Examples
    --------
    >>> from fzanalysis.assessment import ratio_category
    >>> ratio_category(1.2), ratio_category(0.7), ratio_category(-0.1)
    ('on_track', 'acceleration_needed', 'deterioration')
    """
    if _isnan(r):
        return "insufficient_data"
    th = load_rules()["progress"]["ratio_thresholds"]
    if r >= th["on_track"]:
        return "on_track"
    if r >= th["acceleration_needed"]:
        return "acceleration_needed"
    if r >= th["limited_progress"]:
        return "limited_progress"
    return "deterioration"


def cagr_category(p: float, c: float = 1.0) -> str:
    r"""Category of a directed CAGR :math:`P` without a numeric target (methods 3.3).

    Parameters
    ----------
    p : float
        The directed compound annual growth rate :math:`P = s\,d\,CAGR_o`.
    c : float
        The :func:`limit_factor` :math:`C` (default 1: no limit nearby).

    Returns
    -------
    str
        :math:`P \ge 0.015C` ``on_track``; :math:`0.005C \le P < 0.015C`
        ``acceleration_needed``; :math:`0 \le P < 0.005C` ``limited_progress``;
        :math:`P < 0` ``deterioration``; NaN ``insufficient_data``.  With :math:`C = 0`
        (base at the limit) any :math:`P \ge 0` is ``on_track`` (Open SDG).

    Examples
    --------
    >>> from fzanalysis.assessment import cagr_category
    >>> cagr_category(0.02), cagr_category(0.01), cagr_category(0.01, c=0.5)
    ('on_track', 'acceleration_needed', 'on_track')
    """
    if _isnan(p):
        return "insufficient_data"
    th = load_rules()["progress"]["cagr_thresholds"]
    if p < th["limited_progress"]:
        return "deterioration"
    if c == 0 or p >= th["on_track"] * c:
        return "on_track"
    if p >= th["acceleration_needed"] * c:
        return "acceleration_needed"
    return "limited_progress"


#: Progress categories whose central projection misses the target (methods 3.3): a figure close
#: to its target with one of them is not 基本实现 (:func:`verdict`).
_OFF_COURSE = ("limited_progress", "acceleration_needed", "slipping", "deterioration")


def verdict(
    *,
    status: str,
    comparator: str,
    gap: float = np.nan,
    target: float = np.nan,
    category: str = "insufficient_data",
    note: str = "",
    slope: float = np.nan,
    scale: float = 1.0,
    too_wide: bool = False,
    moved_back: bool = False,
) -> str:
    r"""Verdict code of the Chinese monitoring report (methods 3.4).

    Parameters
    ----------
    status : str, keyword-only
        The status (:data:`fzanalysis.codes.STATUSES`).
    comparator : str, keyword-only
        The catalogue's comparator.
    gap : float, keyword-only
        The gap of :func:`judge` (numeric targets).
    target : float, keyword-only
        The numeric target (the gap is read relative to it).
    category : str, keyword-only
        The progress category (:func:`progress_category`).
    note : str, keyword-only
        The status note (``too_few_points`` makes a target not assessable).
    slope : float, keyword-only
        The trend slope (directional targets).
    scale : float, keyword-only
        Number of towns for a per-area district row (the gap is their sum), else 1.
    too_wide : bool, keyword-only
        The interval is too wide to judge (methods 1.4).
    moved_back : bool, keyword-only
        The figure has moved away from the target since its baseline (:func:`baseline_move`
        is -1): a directional target is then never ``largely_achieved``.

    Returns
    -------
    str
        One of :data:`fzanalysis.codes.VERDICTS`; the Chinese and English words are
        ``label("verdict", code, lang)``.

    See Also
    --------
    fzanalysis.labels.label : 已实现, 基本实现, 仍有差距, 差距较大, 暂无法评估.

    Notes
    -----
    ``achieved`` (已实现) when met; ``not_assessable`` (暂无法评估) without data
    or with too few points for a trend.  Numeric targets: relative shortfall
    :math:`g/|T|` (``scale`` = number of towns for a per-area district row)
    :math:`\le 5\%` -> ``largely_achieved`` (基本实现, includes a point that meets
    the target with an interval straddling it), :math:`> 20\%` -> ``large_gap``
    (差距较大), else ``gap_remains`` (仍有差距); a progress category
    ``deterioration`` moves each one step down (基本实现 -> 仍有差距 -> 差距较大), and a figure
    within 5 % whose projection misses the target (category ``limited_progress``,
    ``acceleration_needed``, ``slipping``) is ``gap_remains``: 基本实现 means close and on course
    (``assess.yaml: verdict.largely_achieved_needs_course``).
    Directional targets: ``cannot_judge`` with a category ``on_track`` or
    ``achieved`` (the projection moves the required way) -> ``largely_achieved``,
    with another category -> ``gap_remains``, without one the slope decides
    (in the desired direction -> ``largely_achieved``); ``not_met`` (a
    significant trend the wrong way) -> ``large_gap``; never ``largely_achieved`` for a figure
    that has moved away from the target since its baseline (``moved_back``).  A ``cannot_judge`` status whose
    interval is too wide to judge (``too_wide``, methods 1.4) is
    ``not_assessable``: the data cannot tell, whatever the point says.
    Thresholds in ``data/assess.yaml``.

    Examples
    --------
    >>> from fzanalysis.assessment import verdict
    >>> verdict(status="not_met", comparator=">=", gap=3.0, target=80.0)
    'largely_achieved'
    >>> verdict(status="not_met", comparator=">=", gap=3.0, target=80.0, category="limited_progress")
    'gap_remains'
    >>> verdict(status="not_met", comparator=">=", gap=30.0, target=80.0)
    'large_gap'
    >>> verdict(status="cannot_judge", comparator="<", gap=-1.0, target=7.5, too_wide=True)
    'not_assessable'
    >>> verdict(status="cannot_judge", comparator="increase", slope=0.4)
    'largely_achieved'
    """
    vr = load_rules()["verdict"]
    if status == "met":
        return "achieved"
    if status in ("no_data", "not_applicable") or note == "too_few_points":
        return "not_assessable"
    if status == "cannot_judge" and too_wide is True:
        return "not_assessable"
    if comparator in DIRECTIONAL:
        if status == "not_met":
            return "large_gap"
        # the projection's category when there is one (evaluate): the words follow the move the
        # report states; else the slope (narrow: of the gap's size, which should fall)
        if category in ("on_track", "achieved"):
            # a trend that points the right way while the figure stands below its 2020 baseline
            # (妇女健康素养水平 33.3% -> 29.3%, 逐步提高) is not 基本实现 (a reader's finding)
            return "gap_remains" if moved_back else "largely_achieved"
        if category in ("deterioration", "slipping", "limited_progress", "acceleration_needed"):
            return "gap_remains"
        desired = {"increase": 1.0, "decrease": -1.0, "narrow": -1.0, "maintain": 1.0}[comparator]
        if not _isnan(slope) and slope * desired > 0:
            return "largely_achieved"
        return "gap_remains"
    if _isnan(gap):
        return "not_assessable"
    denom = abs(float(target)) * float(scale) if not _isnan(target) else 0.0
    rel = (gap / denom) if denom > 0 else (0.0 if gap <= 0 else math.inf)
    worse = vr.get("deterioration_escalates", True) and category == "deterioration"
    # close to the target, but the projection misses it (进展有限 / 需加快进度 / 难以保持 beside 达标
    # 困难（概率20%）): not 基本实现 either, where the projection has a say (a reviewer's finding:
    # 妇女体质测定 91.7% against ≥ 96% read 基本实现 beside a probability of 20%)
    off_course = vr.get("largely_achieved_needs_course", True) and category in _OFF_COURSE
    if rel <= float(vr["largely_achieved_max_rel_gap"]):
        # close to the target but moving away from it: not 基本实现 beside 倒退 (one step down)
        return "gap_remains" if (worse or off_course) else "largely_achieved"
    if rel > float(vr["large_gap_min_rel_gap"]):
        return "large_gap"
    if worse:
        return "large_gap"
    return "gap_remains"


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

def baseline_move(frame: pd.DataFrame) -> np.ndarray:
    """How each judged figure has moved since its baseline, towards its target or away from it:
    +1 better, -1 worse, 0 no move as the figures are written or no comparison
    (``change_base`` empty: no baseline, or pooled against annual).

    The one rule of "向目标方向改善" (the mid-term's comparison with 2020) and of a directional
    target's verdict (:func:`verdict`: never 基本实现 for a figure that has moved away from its
    baseline).  The required direction is the comparator's (:func:`fzanalysis.comparators.good_direction`);
    缩小 (``narrow``) is judged on the gap's size (:func:`fzanalysis.comparators.distance_to_parity`),
    better when smaller; a move that does not show in the unit's digits
    (:func:`fzanalysis.labels.shows_change`) is no move.

    Parameters
    ----------
    frame : DataFrame
        ``value, baseline_value, change_base, comparator, target, unit`` (the judgement table).

    Returns
    -------
    ndarray of int
    """
    from fzanalysis.labels import shows_change

    comp = frame["comparator"].astype(str).to_numpy()
    value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(float)
    base = pd.to_numeric(frame["baseline_value"], errors="coerce").to_numpy(float)
    target = pd.to_numeric(frame["target"], errors="coerce").to_numpy(float)
    size_now = comparators.distance_to_parity(value, comp, target)
    size_then = comparators.distance_to_parity(base, comp, target)
    direction = np.where(comp == "narrow", -1, comparators.good_direction(comp))
    comparable = pd.to_numeric(frame["change_base"], errors="coerce").notna().to_numpy()
    shown = np.array([bool(c) and shows_change(b, v, u) for c, b, v, u in
                      zip(comparable, base, value, frame["unit"], strict=True)], dtype=bool)
    sign = np.sign(np.nan_to_num(size_now - size_then))
    return np.where(shown & (direction != 0), (sign * direction).astype(int), 0)


def is_pooled(pooled_years: Any) -> np.ndarray:
    """Whether each figure is pooled over several years (a non-empty ``pooled_years`` label,
    :func:`fzanalysis.rates.rate_table`).

    Examples
    --------
    >>> is_pooled(["2020–2024", "", None]).tolist()
    [True, False, False]
    """
    s = pd.Series(np.atleast_1d(np.asarray(pooled_years, dtype=object)))
    return (s.fillna("").astype(str).str.strip().replace("<NA>", "") != "").to_numpy()


def like_with_like(pooled_years: Any, baseline_pooled_years: Any) -> np.ndarray:
    """Whether a figure may be compared with its baseline (methods 3.1, "like with like"): neither is
    pooled.  A rate pooled over 2020–2024 (rare events) set against the single year 2020 is not a
    change, and the window even contains its baseline; the same rule decides the change since the
    baseline of the judgement table (:func:`fzanalysis.evaluate`, ``change_base``) and the progress
    category and CAGR of :func:`assess`, which are left empty (``insufficient_data``) where it fails.

    Examples
    --------
    >>> like_with_like(["", "2020–2024", ""], ["", "", "2016–2020"]).tolist()
    [True, False, False]
    """
    return ~is_pooled(pooled_years) & ~is_pooled(baseline_pooled_years)


def _pick_baseline(
    years: np.ndarray, est: np.ndarray, pooled: np.ndarray, year: int, baseline_year: int,
    crow: Mapping[str, Any], area: str, sex: str, whole: str,
) -> tuple[float, float, str, str]:
    """Baseline (year, value, source, pooled years) for one series sorted by year (methods 3.1)."""
    ok = (years < year) & ~np.isnan(est)
    at = ok & (years == baseline_year)
    if at.any():
        i = int(np.flatnonzero(at)[0])
        return float(baseline_year), float(est[i]), "panel", str(pooled[i] or "")
    cy, cv = crow.get("baseline_year"), crow.get("baseline_value")
    if (area == whole and sex != "M" and not _isnan(cv) and not _isnan(cy)
            and int(cy) == int(baseline_year) and int(cy) < year):
        return float(cy), float(cv), "catalogue", ""
    after = ok & (years > baseline_year)
    if after.any():
        i = int(np.flatnonzero(after)[0])
        return float(years[i]), float(est[i]), "first_year", str(pooled[i] or "")
    return np.nan, np.nan, "none", ""


def _empty_row(ind: str, area: str, sex: str, yr: Any) -> dict[str, Any]:
    return {"indicator": ind, "area": area, "sex": sex, "year": yr, "value": np.nan, "lower": np.nan,
            "upper": np.nan, "numerator": np.nan, "denominator": np.nan, "pooled_years": "",
            "interval_method": "none", "too_wide": pd.NA, "value_reported": np.nan, "rankable": pd.NA,
            "synthetic": False}


def assess(
    panel: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    year: int | None = None,
    baseline_year: int = 2020,
    level: float = 0.95,
    area: str | None = None,
) -> pd.DataFrame:
    r"""Status, gap, progress category and verdict for every indicator x area x sex.

    Parameters
    ----------
    panel : Panel, DataFrame, str or Path
        Tidy panel (``indicator, year, value`` required; docs/design.md), or a panel file in
        one of :data:`fzanalysis.panel.READABLE_FORMATS`; checked by
        :func:`fzanalysis.panel.as_panel`.
    catalog : DataFrame, optional
        At least ``id, unit, comparator, target``, completed by
        :func:`fzanalysis.catalog.normalize`; ``None`` = the plan's catalogue.
    year : int, optional
        Year to assess; ``None`` = the latest year with a value, per series (the
        ``year`` column says which).  A series without a value in ``year`` gets
        ``status = "no_data"``.
    baseline_year : int
        Baseline of the progress measure (default 2020); when the series has no
        value then, the plan's own baseline (catalogue, same year, district) or
        else the first later year with data is used (``baseline_source``).
    level : float, keyword-only
        Confidence level of rate intervals and of the trend test (default 0.95).
    area : str, keyword-only, optional
        Code of the whole area the targets are about (default: the active plan's,
        :func:`fzanalysis.codes.district`, ``"440117"`` for Conghua).  A researcher whose panel
        uses other codes names their own: the catalogue's baseline, the roll-up of ``per_area``
        targets and the rows of indicators absent from the panel belong to it; every other code
        is a breakdown.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS` then :data:`EXTRA_COLUMNS` and ``verdict`` (the code behind
        ``verdict_zh``/``verdict_en``), sorted by indicator, area, sex.  Catalogue indicators
        absent from the panel appear once (``area``, sex ``T``) with ``no_data``.
        For ``per_area`` indicators a district row summarises the towns
        (``n_areas``, ``n_areas_met``; met only when every town meets the target).
        Towns whose gazetteer ``kind`` is not in the catalogue's ``area_kinds``
        (e.g. the 镇 for a target set for 街道 only) are left out of that rule;
        their rows, when they have data, get ``status = "not_applicable"``.

    Raises
    ------
    fzanalysis.exceptions.PanelError
        If the panel breaks a rule of :func:`fzanalysis.panel.as_panel` (message lists every
        failing row and column), names an indicator missing from the catalogue, has a value
        outside its unit's bounds, or has figures but none for ``area``
        (:func:`fzanalysis.panel.schema.whole_area`: the message lists the areas it has).
    fzanalysis.exceptions.CatalogError
        If a researcher's catalogue is refused by :func:`fzanalysis.catalog.normalize`.
    ValueError
        If counts are inconsistent with the value (:func:`fzanalysis.rates.rate_table`).

    See Also
    --------
    attainment : the attainment rate (达标率) from this table.
    gender_gap : female/male gaps with intervals.
    fzanalysis.evaluate : one judgement per target, projection included.
    fzanalysis.rates.rate_table : the intervals and pooling behind ``value``.

    Notes
    -----
    ``value`` is the estimate judged: the reported value, or the pooled rate for
    rare events (``pooled_years``); ``value_reported`` keeps the annual figure.
    Status: :func:`judge` (numeric targets, interval rule) or :func:`judge_direction`
    (directional targets, OLS trend test); category: :func:`progress_category`;
    verdict: :func:`verdict`.  See docs/methods.md sections 1-3 for every rule.

    ``category`` here is the *pace since the baseline* (CAGR against the pace required, methods
    3.2), a descriptive figure of the past.  The judgement of a target -- the category every
    report page, chart and sentence shows -- is :func:`fzanalysis.evaluate`'s, which follows the
    projection ("on track" iff the central projection meets the target) and may differ from
    this column; draw charts from ``evaluate(...).series``.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and statistical
       inference. *JASA* 22:209-212.
    .. [2] Garwood F (1936). Fiducial limits for the Poisson distribution. *Biometrika*
       28:437-442.
    .. [3] National Center for Health Statistics, *National Vital Statistics Reports*,
       technical notes on random variation (rates from fewer than 20 events are unreliable).
    .. [4] Statistics Canada / Open SDG, "Progress Measurement Methodology for the Sustainable
       Development Goals" (open-sdg.org; ``sdg-build`` ``ProgressMeasure.py``).

    Examples
    --------
    On two indicators of the embedded demo panel (synthetic data): maternal mortality rests on
    a handful of deaths, so it is pooled over five years and its interval straddles the target.

    >>> from fzanalysis import assess, demo
    >>> panel = demo.load()
    >>> two = panel[panel["indicator"].isin(["health.maternal_mortality", "health.hospital_delivery"])]
    >>> res = assess(two)
    >>> district = res[(res["area"] == "440117") & res["value"].notna()]
    >>> cols = ["indicator", "year", "value", "lower", "upper", "pooled_years", "status"]
    >>> print(district[cols].round(1).to_string(index=False))
                    indicator  year  value  lower  upper pooled_years       status
     health.hospital_delivery  2024   99.9   99.7   99.9                       met
    health.maternal_mortality  2024    6.5    0.8   23.4    2020–2024 cannot_judge

    A researcher's own indicator and catalogue (a tiny literal frame):

    >>> import pandas as pd
    >>> mine = pd.DataFrame({"id": ["health.screening"], "unit": ["percent"],
    ...                      "comparator": [">="], "target": [90.0]})
    >>> own = pd.DataFrame({"indicator": "health.screening", "year": [2020, 2022, 2024],
    ...                     "value": [80.0, 85.0, 95.0], "numerator": [800, 850, 950],
    ...                     "denominator": [1000, 1000, 1000]})
    >>> assess(own, mine)[["year", "value", "lower", "upper", "status", "category", "verdict"]].round(2)
       year  value  lower  upper status  category   verdict
    0  2024   95.0  93.47  96.19    met  achieved  achieved
    """
    cat = catalog_mod.normalize(catalog)
    # a panel without an area column is the area named; figures but none for it: refused
    # (schema.whole_area, the rule of evaluate), never rows under a code the panel lacks
    panel = as_panel(panel, cat, area=area)
    whole = whole_area(panel, area)
    rt = rate_table(panel, cat, level=level)
    crows = {str(r["id"]): r for r in cat.to_dict("records")}
    trend_rules = load_rules()["status"]["trend"]
    records: list[dict[str, Any]] = []
    arr = {c: rt[c].to_numpy() for c in ("year", "estimate", "value", "lower", "upper", "estimate_numerator",
                                         "estimate_denominator", "pooled_years", "interval_method",
                                         "too_wide", "rankable", "synthetic")}
    arr["year"] = arr["year"].astype(int)
    arr["estimate"] = arr["estimate"].astype(float)
    arr["value"] = arr["value"].astype(float)
    groups = rt.groupby(["indicator", "area", "sex"], sort=True).indices
    for (ind, area, sex), idx in groups.items():
        ind, area, sex = str(ind), str(area), str(sex)
        crow = crows[ind]
        idx = idx[np.argsort(arr["year"][idx], kind="stable")]
        years, est, val = arr["year"][idx], arr["estimate"][idx], arr["value"][idx]
        has = ~np.isnan(est)
        yr = int(year) if year is not None else (int(years[has].max()) if has.any() else int(years.max()))
        hit = np.flatnonzero(has & (years == yr))
        if len(hit):
            j = idx[hit[0]]
            rec = {"indicator": ind, "area": area, "sex": sex, "year": yr, "value": arr["estimate"][j],
                   "lower": arr["lower"][j], "upper": arr["upper"][j],
                   "numerator": arr["estimate_numerator"][j], "denominator": arr["estimate_denominator"][j],
                   "pooled_years": arr["pooled_years"][j], "interval_method": arr["interval_method"][j],
                   "too_wide": arr["too_wide"][j], "value_reported": arr["value"][j],
                   "rankable": arr["rankable"][j], "synthetic": bool(arr["synthetic"][j])}
        else:
            rec = _empty_row(ind, area, sex, yr)
            rec["synthetic"] = bool(arr["synthetic"][idx].any())
        comp = str(crow["comparator"])
        upto = years <= yr
        # a 缩小 target is about the gap's size (comparators.distance_to_parity), not its sign
        tr = trend_test(years[upto], comparators.distance_to_parity(val[upto], comp, crow["target"]),
                        level=level, max_points=int(trend_rules["max_points"]))
        rec.update({"trend_slope": tr["slope"], "trend_lower": tr["lower"], "trend_upper": tr["upper"],
                    "trend_p": tr["p"], "trend_n": tr["n"]})
        if _isnan(rec["value"]):
            status, gap, note = "no_data", np.nan, "no_value"
        elif comp in NUMERIC:
            status, gap, note = judge(rec["value"], comp, crow["target"], lower=rec["lower"],
                                      upper=rec["upper"], tolerance=crow["tolerance"],
                                      lower_bound=crow["lower_bound"], upper_bound=crow["upper_bound"])
        else:
            status, note = judge_direction(comp, tr)
            gap = np.nan
        b_year, b_value, b_src, b_pooled = _pick_baseline(years, est, arr["pooled_years"][idx], yr,
                                                           int(baseline_year), crow, area, sex, whole)
        prog = progress_category(comparator=comp, status=status,
                                 # like with like: a pooled figure or baseline gives no pace
                                 base_value=b_value if like_with_like(rec["pooled_years"], b_pooled)[0]
                                 else np.nan, base_year=b_year,
                                 value=rec["value"], year=yr, target=crow["target"],
                                 target_year=crow["target_year"], tolerance=crow["tolerance"],
                                 lower_bound=crow["lower_bound"], upper_bound=crow["upper_bound"])
        rec.update({"gap": gap, "status": status, "status_note": note, "baseline_year": b_year,
                    "baseline_value": b_value, "baseline_source": b_src, "baseline_pooled_years": b_pooled,
                    **prog})
        records.append(rec)

    # catalogue indicators with no series at all
    seen = {r["indicator"] for r in records}
    for ind in cat["id"].astype(str):
        if ind not in seen:
            rec = _empty_row(ind, whole, "T", int(year) if year is not None else pd.NA)
            rec.update({"gap": np.nan, "status": "no_data", "status_note": "no_value",
                        "baseline_year": np.nan, "baseline_value": np.nan, "baseline_source": "none",
                        "cagr_observed": np.nan, "cagr_required": np.nan, "pace_ratio": np.nan,
                        "category": "insufficient_data", "limit_factor": np.nan,
                        "trend_slope": np.nan, "trend_lower": np.nan, "trend_upper": np.nan,
                        "trend_p": np.nan, "trend_n": 0})
            records.append(rec)

    out = pd.DataFrame.from_records(records)
    out["n_areas"] = np.nan
    out["n_areas_met"] = np.nan
    out = _not_applicable_areas(out, cat, whole)
    out = _per_area_summary(out, cat, year, whole)

    # verdicts and catalogue columns
    cmap = cat.set_index("id")
    out["comparator"] = out["indicator"].map(cmap["comparator"])
    out["target"] = out["indicator"].map(cmap["target"]).astype(float)
    out["tolerance"] = out["indicator"].map(cmap["tolerance"]).astype(float)
    out["unit"] = out["indicator"].map(cmap["unit"])
    out["target_year"] = out["indicator"].map(cmap["target_year"]).astype("Int64")
    out["per_area"] = out["indicator"].map(cmap["per_area"]).astype(bool)
    out["baseline_pooled_years"] = out["baseline_pooled_years"].fillna("") if "baseline_pooled_years" in out \
        else ""
    for col in ("domain", "name_zh", "name_en", "subject_sex"):
        out[col] = out["indicator"].map(cmap[col])
    # a count's own counting word (labels.unit_word); a target without a number in the plan's words
    for col in ("unit_word_zh", "unit_word_en", "target_words_zh", "target_words_en"):
        out[col] = out["indicator"].map(cmap[col]).fillna("") if col in cmap.columns else ""
    verdicts = []
    for r in out.to_dict("records"):
        scale = r["n_areas"] if (r["per_area"] and r["area"] == whole and not _isnan(r["n_areas"])) else 1.0
        verdicts.append(verdict(status=r["status"], comparator=r["comparator"], gap=r["gap"], target=r["target"],
                             category=r["category"], note=r["status_note"], slope=r["trend_slope"],
                             scale=scale, too_wide=bool(r["too_wide"]) if not _isnan(r["too_wide"]) else False))
    out["verdict"] = verdicts
    out["verdict_zh"] = [label("verdict", c, "zh") for c in verdicts]
    out["verdict_en"] = [label("verdict", c, "en") for c in verdicts]
    out["year"] = out["year"].astype("Int64")
    out["baseline_year"] = pd.to_numeric(out["baseline_year"]).astype("Int64")
    out["trend_n"] = out["trend_n"].astype(int)
    out["too_wide"] = out["too_wide"].astype("boolean")
    out["rankable"] = out["rankable"].astype("boolean")
    out["synthetic"] = out["synthetic"].astype(bool)
    for col in ("indicator", "area", "sex", "pooled_years", "interval_method", "status", "status_note",
                "category", "verdict", "baseline_source", "baseline_pooled_years", "subject_sex", "unit", "comparator", "domain", "name_zh",
                "name_en", "verdict_zh", "verdict_en", "unit_word_zh", "unit_word_en", "target_words_zh",
                "target_words_en"):
        out[col] = out[col].astype("string")
    out = out[RESULT_COLUMNS + EXTRA_COLUMNS + ["verdict"]]
    out = out.sort_values(["indicator", "area", "sex"], kind="stable").reset_index(drop=True)
    out.attrs["area"] = whole  # the whole area judged: attainment() counts its rows by default
    return out


def _not_applicable_areas(out: pd.DataFrame, cat: pd.DataFrame, whole: str) -> pd.DataFrame:
    """Town rows of indicators whose target applies to other kinds of area (``area_kinds``).

    Such a row is not judged: ``status = "not_applicable"`` (note ``area_kind_not_targeted``),
    no gap, category ``insufficient_data``; :func:`_per_area_summary` leaves it out.
    """
    kinds = {str(i): gazetteer.kinds(v) for i, v in zip(cat["id"], cat["area_kinds"], strict=True)
             if gazetteer.kinds(v)}
    if not kinds:
        return out
    kind_of = gazetteer.kind_of()
    applies = [
        ind not in kinds or area == whole or gazetteer.applies_to(area, kinds[ind], kind_map=kind_of)
        for ind, area in zip(out["indicator"].astype(str), out["area"].astype(str), strict=True)
    ]
    mask = ~np.asarray(applies, dtype=bool)
    if not mask.any():
        return out
    out = out.copy()
    upd = {"status": "not_applicable", "status_note": "area_kind_not_targeted", "gap": np.nan,
           "category": "insufficient_data", "cagr_observed": np.nan, "cagr_required": np.nan,
           "pace_ratio": np.nan, "limit_factor": np.nan}
    for k, v in upd.items():
        out.loc[mask, k] = v
    return out


def _per_area_summary(out: pd.DataFrame, cat: pd.DataFrame, year: int | None, whole: str) -> pd.DataFrame:
    """District rows of per-area indicators: met only when every town meets (methods 2.5)."""
    per_area_ids = set(cat.loc[cat["per_area"], "id"].astype(str))
    kinds_of = {str(i): gazetteer.kinds(v) for i, v in zip(cat["id"], cat["area_kinds"], strict=True)}
    extra = []
    out = out.copy()
    for ind in sorted(per_area_ids & set(out["indicator"])):
        rows = out[out["indicator"] == ind]
        # towns of a kind the target does not name (area_kinds) are not counted
        towns = rows[(rows["area"] != whole) & (rows["status"] != "not_applicable")]
        if towns.empty:
            continue
        # every town the target is about counts, also one that sent no figure (it is not known to
        # meet the target); a researcher's own codes: the towns of the panel
        expected = set(gazetteer.targeted_areas(kinds_of.get(ind, frozenset()), parent=whole))
        for sex, tg in towns.groupby("sex"):
            n_areas = len(expected | set(tg["area"].astype(str)))
            summary_year = int(year) if year is not None else int(pd.to_numeric(tg["year"]).max())
            # a town judged in an earlier year (its latest value) does not count as meeting now
            current = pd.to_numeric(tg["year"]) == summary_year
            n_met = int(((tg["status"] == "met") & current).sum())
            if n_met == n_areas:
                status, note = "met", "all_areas_met"
            elif (tg["status"] == "not_met").any():
                status, note = "not_met", "some_area_not_met"
            else:
                status, note = "cannot_judge", "areas_incomplete"
            gaps = tg["gap"].dropna()
            gap = float(gaps.clip(lower=0).sum()) if len(gaps) else np.nan
            cats = [c for c in _CATEGORY_ORDER[::-1] if c in set(tg["category"])]
            worst = "achieved" if status == "met" else next(
                (c for c in cats if c not in ("achieved", "insufficient_data")), "insufficient_data")
            # the pace of a district total says nothing about a per-town target: left empty
            upd = {"status": status, "status_note": note, "gap": gap, "n_areas": n_areas,
                   "n_areas_met": n_met, "category": worst, "baseline_year": np.nan,
                   "baseline_value": np.nan, "baseline_source": "none", "baseline_pooled_years": "",
                   "cagr_observed": np.nan,
                   "cagr_required": np.nan, "pace_ratio": np.nan, "limit_factor": np.nan}
            mask = (out["indicator"] == ind) & (out["area"] == whole) & (out["sex"] == sex)
            if mask.any():
                for k, v in upd.items():
                    out.loc[mask, k] = v
            else:
                rec = _empty_row(ind, whole, str(sex), summary_year)
                rec.update({"baseline_year": np.nan, "baseline_value": np.nan, "baseline_source": "none",
                            "cagr_observed": np.nan, "cagr_required": np.nan, "pace_ratio": np.nan,
                            "limit_factor": np.nan, "trend_slope": np.nan, "trend_lower": np.nan,
                            "trend_upper": np.nan, "trend_p": np.nan, "trend_n": 0,
                            "synthetic": bool(tg["synthetic"].any()), **upd})
                extra.append(rec)
    if extra:
        out = pd.concat([out, pd.DataFrame.from_records(extra)], ignore_index=True)
    return out


def of_judged_sex(frame: pd.DataFrame) -> pd.Series:
    """Which rows are of the sex each target is about (the one rule; docs/methods.md 3.5-3.6).

    ``sex == subject_sex``: the female figure of a women's target, the total where the plan
    speaks of everyone (the catalogue's ``subject_sex``, :func:`fzanalysis.catalog.normalize`;
    :func:`assess` carries it).  In the district this is the judged figure; in the towns, the
    figure their maps, scorecards and 达标率 use.  Other sexes are context (gender gaps,
    breakdowns).  A table without ``subject_sex`` falls back to the total, ``T``.

    Returns
    -------
    Series of bool, aligned with ``frame``.
    """
    if "sex" not in frame.columns:
        return pd.Series(True, index=frame.index)
    if "subject_sex" in frame.columns:
        return frame["sex"].astype(str) == frame["subject_sex"].astype(str)
    return frame["sex"].astype(str) == "T"


def _headline(assessed: pd.DataFrame, whole: str) -> pd.DataFrame:
    """One row per indicator: the whole area's judged figure (:func:`of_judged_sex`); an indicator
    whose judged figure is missing (only another sex reported) counts as ``no_data``."""
    d = assessed[assessed["area"] == whole]
    judged = d[of_judged_sex(d)].drop_duplicates("indicator")
    lacking = d[~d["indicator"].isin(judged["indicator"])].drop_duplicates("indicator")
    return pd.concat([judged, lacking.assign(status="no_data")], ignore_index=True)


def attainment(assessed: pd.DataFrame, *, area: str | None = None) -> pd.DataFrame:
    r"""Attainment rate (达标率) per domain and overall (methods 3.5).

    Parameters
    ----------
    assessed : DataFrame
        The result of :func:`assess` (``indicator, area, sex, status, domain`` at least).
    area : str, keyword-only, optional
        The whole area whose rows are counted: default the ``area`` :func:`assess` judged (it
        records it in ``assessed.attrs["area"]``), else the active plan's
        (:func:`fzanalysis.codes.district`).

    Returns
    -------
    DataFrame
        ``domain, n_indicators, n_met, n_not_met, n_cannot_judge, n_no_data,
        n_judged, attainment_rate, attainment_rate_all, domain_zh, domain_en``, domains in
        the plan's order (:func:`fzanalysis.labels.domain_order`), then ``unassigned`` (a
        researcher's indicators whose id names no domain); the last row is ``domain = "all"``.

    Raises
    ------
    ValueError
        If a required column is missing (the frame is not the output of :func:`assess`), or no
        row is of the area counted (a researcher's own area code with ``attrs`` lost on the way:
        pass ``area=``), rather than a silent empty count.

    See Also
    --------
    assess : the table this summarises.

    Notes
    -----
    Uses one row per indicator: the whole area's judged figure, of the sex the target is about
    (:func:`of_judged_sex`: ``subject_sex``, the total without it), as
    :meth:`fzanalysis.evaluation.Evaluation.attainment` does; an indicator reported for
    another sex only counts as no data.  ``attainment_rate`` = met / judged with judged = met + not_met;
    ``attainment_rate_all`` = met / (met + not_met + cannot_judge), the
    conservative rate that counts undecidable targets as not attained.  Indicators
    without data count in ``n_indicators`` and ``n_no_data`` only.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import attainment
    >>> assessed = pd.DataFrame({
    ...     "indicator": ["health.a", "health.b", "health.c", "law.d"], "area": "440117", "sex": "T",
    ...     "status": ["met", "not_met", "cannot_judge", "met"],
    ...     "domain": ["health", "health", "health", "law"]})
    >>> attainment(assessed)[["domain", "n_met", "n_judged", "attainment_rate", "attainment_rate_all"]]
       domain  n_met  n_judged  attainment_rate  attainment_rate_all
    0  health      1         2         0.500000             0.333333
    1     law      1         1         1.000000             1.000000
    2     all      2         3         0.666667             0.500000
    """
    need = {"indicator", "area", "sex", "status", "domain"}
    if not need <= set(assessed.columns):
        missing = sorted(need - set(assessed.columns))
        raise ValueError(f"attainment needs the output of assess(); missing columns {missing}")
    whole = str(area) if area is not None else str(assessed.attrs.get("area") or codes.district())
    if len(assessed) and not (assessed["area"].astype(str) == whole).any():
        present = sorted(pd.unique(assessed["area"].astype(str)))
        raise ValueError(
            f"attainment: no row of area {whole!r} "
            f"({'given as area=' if area is not None else 'the default: the active plan area'}); "
            f"the table's areas are {present[:10]}{' …' if len(present) > 10 else ''}: pass area= "
            "as given to assess()")
    h = _headline(assessed, whole)
    h["domain"] = h["domain"].fillna("unassigned")

    def summarise(g: pd.DataFrame) -> dict[str, Any]:
        cnt = g["status"].value_counts()
        met, nm, cj, nd = (int(cnt.get(k, 0)) for k in ("met", "not_met", "cannot_judge", "no_data"))
        judged = met + nm
        return {"n_indicators": len(g), "n_met": met, "n_not_met": nm, "n_cannot_judge": cj,
                "n_no_data": nd, "n_judged": judged,
                "attainment_rate": met / judged if judged else np.nan,
                "attainment_rate_all": met / (judged + cj) if judged + cj else np.nan}

    plan_order = {d: i for i, d in enumerate((*domain_order(), "unassigned"))}
    doms = sorted(pd.unique(h["domain"]), key=lambda d: plan_order.get(str(d), len(plan_order)))
    rows = [{"domain": dom, **summarise(h[h["domain"] == dom])} for dom in doms]
    rows.append({"domain": "all", **summarise(h)})
    res = pd.DataFrame(rows)
    res["domain"] = res["domain"].astype("string")
    for lang in ("zh", "en"):
        res[f"domain_{lang}"] = [domain_label(str(d), lang) for d in res["domain"]]
    return res


# ---------------------------------------------------------------------------------------
# Gender gaps
# ---------------------------------------------------------------------------------------

def _katz_ratio(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray, level: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Katz log interval for a ratio of proportions; 0.5 added to every cell of the 2x2 table when
    one is empty (a count of 0 or of all: k = n would otherwise give a variance of 0)."""
    z = stats.norm.ppf(0.5 + level / 2)
    zero = (k1 == 0) | (k2 == 0) | (k1 == n1) | (k2 == n2)
    a = np.where(zero, k1 + 0.5, k1)
    c = np.where(zero, k2 + 0.5, k2)
    m1 = np.where(zero, n1 + 1.0, n1)
    m2 = np.where(zero, n2 + 1.0, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (a / m1) / (c / m2)
        se = np.sqrt(1 / a - 1 / m1 + 1 / c - 1 / m2)
        est = np.where(k2 > 0, (k1 / n1) / (k2 / n2), np.inf)
    return est, rr * np.exp(-z * se), rr * np.exp(z * se)


def _gap_windows(rt: pd.DataFrame, cat: pd.DataFrame) -> pd.DataFrame:
    """The years each female/male comparison is pooled over (methods 4): those of the judged figure.

    For every indicator x area x year with both an F and an M figure, the first year of the
    window the pooling rule (:func:`fzanalysis.rates.rate_table`) chose for the sex the target
    is about (:func:`of_judged_sex`), so the gap shows the judged figure; the year itself when
    that figure is annual.  Where the panel has no figure of the judged sex there, the earlier
    of the F and M windows (each sex then has at least the events the rule asks where it can).
    """
    keys = ["indicator", "area", "year"]
    rows = rt[rt["value"].notna()].assign(
        first_year=lambda d: d["pooled_from"].fillna(d["year"]).astype(int),
        subject_sex=lambda d: d["indicator"].map(dict(zip(cat["id"].astype(str), cat["subject_sex"].astype(str))))
        if "subject_sex" in cat.columns else "T")
    fm = rows[rows["sex"].isin(["F", "M"])]
    paired = fm.groupby(keys)["sex"].nunique()
    paired = paired[paired == 2].index
    if len(paired) == 0:
        return pd.DataFrame(columns=[*keys, "first_year"])
    judged = rows[of_judged_sex(rows)].drop_duplicates(keys).set_index(keys)["first_year"]
    earliest = fm.groupby(keys)["first_year"].min()
    first = judged.reindex(paired).fillna(earliest.reindex(paired)).astype(int)
    return first.rename("first_year").reset_index()


def gender_gap(
    panel: pd.DataFrame, catalog: pd.DataFrame | None = None, *, level: float = 0.95
) -> pd.DataFrame:
    r"""Female/male difference and ratio wherever both sexes are present (methods 4).

    Parameters
    ----------
    panel : Panel, DataFrame, str or Path
        Tidy panel with rows for ``sex = "F"`` and ``"M"`` (checked by
        :func:`fzanalysis.panel.as_panel`).
    catalog : DataFrame, optional
        At least ``id, unit`` (``None`` = the plan's catalogue).
    level : float, keyword-only
        Confidence level of the intervals (default 0.95).

    Returns
    -------
    DataFrame
        ``indicator, area, year, unit, pooled_years, value_f, value_m, difference,
        difference_lower, difference_upper, ratio, ratio_lower, ratio_upper,
        difference_method, ratio_method, rankable, note, synthetic`` with
        :math:`\text{difference} = x_F - x_M` (percentage points for percent) and
        :math:`\text{ratio} = x_F/x_M`; empty when no indicator x area x year has both sexes.
        Both sexes are taken over the same years: those the pooling rule
        (:func:`fzanalysis.rates.rate_table`, methods 1.3) chose for the judged figure
        (``pooled_years``, empty when annual), so the gap shows the figure the report judges.
        Where the two sexes' years still differ (a year one sex lacks) no comparison is made:
        difference and ratio NaN, ``note = "windows_differ"``.  ``rankable`` is false when either
        figure is not rankable (:func:`fzanalysis.rates.unrankable`): such a gap is not to be
        compared or ranked as if precise.

    Raises
    ------
    fzanalysis.exceptions.PanelError
        If the panel breaks a rule of :func:`fzanalysis.panel.as_panel`.

    See Also
    --------
    fzanalysis.rates.poisson_ratio_ci : the exact interval of a ratio of two rates.
    fzanalysis.plots.gender_gap_dumbbell : the chart of these gaps.

    Notes
    -----
    * Proportions with counts: Newcombe (1998) hybrid Wilson score interval for
      the difference (statsmodels ``confint_proportions_2indep(method="newcomb")``),
      Katz et al. (1978) log interval for the ratio
      :math:`\ln\widehat{RR} \pm z\sqrt{1/k_F - 1/n_F + 1/k_M - 1/n_M}` (0.5 added to
      each count, 1 to each total, when a cell of the 2x2 table is empty: a count of 0, or
      :math:`k = n`, whose variance term would be 0 and the interval a point).
    * Poisson rates with counts: exact conditional interval for the rate ratio
      (:func:`fzanalysis.rates.poisson_ratio_ci`) and the MOVER interval for the
      difference (statsmodels ``confint_poisson_2indep(method="mover")``).
    * Without counts for both sexes: point estimates only, limits NaN,
      ``note = "point_only"``.
    * Pooled rates: the intervals are those of the pooled counts.

    References
    ----------
    .. [1] Newcombe RG (1998). Interval estimation for the difference between independent
       proportions: comparison of eleven methods. *Statistics in Medicine* 17:873-890.
    .. [2] Katz D, Baptista J, Azen SP, Pike MC (1978). Obtaining confidence intervals for the
       risk ratio in cohort studies. *Biometrics* 34:469-474.
    .. [3] Breslow NE, Day NE (1987). *Statistical Methods in Cancer Research II: The Design and
       Analysis of Cohort Studies*. IARC.
    .. [4] Zou GY, Donner A (2008). Construction of confidence limits about effect measures: a
       general approach. *Statistics in Medicine* 27:1693-1702.

    Examples
    --------
    Regular exercise in the embedded demo panel (synthetic data), the district in 2024:

    >>> from fzanalysis import demo, gender_gap
    >>> panel = demo.load()
    >>> gaps = gender_gap(panel[panel["indicator"] == "health.regular_exercise"])
    >>> row = gaps[(gaps["area"] == "440117") & (gaps["year"] == 2024)].iloc[0]
    >>> [round(float(row[c]), 2) for c in ("difference", "difference_lower", "difference_upper")]
    [5.54, 0.68, 10.37]
    >>> round(float(row["ratio"]), 3), row["difference_method"], row["ratio_method"]
    (1.153, 'newcombe_wilson', 'katz_log')
    """
    from statsmodels.stats.proportion import confint_proportions_2indep
    from statsmodels.stats.rates import confint_poisson_2indep

    cat = catalog_mod.normalize(catalog) if (
        catalog is None or {"comparator", "target"} <= set(catalog.columns)) else catalog
    keys = ["indicator", "area", "year"]
    cols = ["indicator", "area", "year", "unit", "pooled_years", "value_f", "value_m", "difference",
            "difference_lower", "difference_upper", "ratio", "ratio_lower", "ratio_upper", "difference_method",
            "ratio_method", "rankable", "note", "synthetic"]
    rt = rate_table(panel, cat, level=level)
    windows = _gap_windows(rt, cat)
    if windows.empty:
        return pd.DataFrame(columns=cols)
    rt = rate_table(panel, cat, level=level, windows=windows)
    rules = load_rules()
    rt = rt[rt["sex"].isin(["F", "M"]) & rt["value"].notna()]
    f = rt[rt["sex"] == "F"].set_index(keys)
    m = rt[rt["sex"] == "M"].set_index(keys)
    both = f.index.intersection(m.index)
    f, m = f.loc[both], m.loc[both]
    res = pd.DataFrame(index=both)
    res["unit"] = f["unit"]
    res["value_f"] = f["estimate"]
    res["value_m"] = m["estimate"]
    # like with like: the sexes over the same years, or no comparison (a year one sex lacks)
    same = f["pooled_years"].fillna("").to_numpy() == m["pooled_years"].fillna("").to_numpy()
    res["pooled_years"] = f["pooled_years"].where(same, "")
    res["difference"] = np.where(same, f["estimate"] - m["estimate"], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        res["ratio"] = np.where(same & (m["estimate"] != 0), f["estimate"] / m["estimate"], np.nan)
    # small counts are not compared as if precise (rates.unrankable, methods 1.5): a gap is
    # rankable when both figures are; not when either is not; NA when neither says no
    res["rankable"] = pd.array(f["rankable"].astype("boolean").to_numpy() & m["rankable"].astype("boolean").to_numpy(),
                               dtype="boolean")
    for c in ("difference_lower", "difference_upper", "ratio_lower", "ratio_upper"):
        res[c] = np.nan
    res["difference_method"] = "none"
    res["ratio_method"] = "none"
    res["note"] = "point_only"
    res["synthetic"] = f["synthetic"].to_numpy() | m["synthetic"].to_numpy()
    counts = f["interval_method"].ne("none") & m["interval_method"].ne("none") & \
        f["estimate_numerator"].notna() & m["estimate_numerator"].notna() & same
    kind = f["unit"].map(lambda u: rules["unit_intervals"].get(str(u), {"kind": "none"})["kind"])
    prop = counts & (kind == "proportion") & f["interval_method"].ne("exact_count")
    if prop.any():
        k1, n1 = f.loc[prop, "estimate_numerator"].to_numpy(), f.loc[prop, "estimate_denominator"].to_numpy()
        k2, n2 = m.loc[prop, "estimate_numerator"].to_numpy(), m.loc[prop, "estimate_denominator"].to_numpy()
        sc = f.loc[prop, "unit"].map(lambda u: float(rules["unit_intervals"][str(u)].get("scale", 1))).to_numpy()
        lo = np.empty(len(k1))
        hi = np.empty(len(k1))
        for i in range(len(k1)):  # statsmodels' scalar path is the robust one at 0 and n
            lo[i], hi[i] = confint_proportions_2indep(k1[i], n1[i], k2[i], n2[i], method="newcomb",
                                                      compare="diff", alpha=1 - level)
        res.loc[prop, "difference_lower"] = lo * sc
        res.loc[prop, "difference_upper"] = hi * sc
        _, rl, ru = _katz_ratio(k1, n1, k2, n2, level)
        res.loc[prop, "ratio_lower"] = rl
        res.loc[prop, "ratio_upper"] = ru
        res.loc[prop, "difference_method"] = "newcombe_wilson"
        res.loc[prop, "ratio_method"] = "katz_log"
        res.loc[prop, "note"] = "from_counts"
    pois = counts & (kind == "poisson")
    if pois.any():
        k1, e1 = f.loc[pois, "estimate_numerator"].to_numpy(), f.loc[pois, "estimate_denominator"].to_numpy()
        k2, e2 = m.loc[pois, "estimate_numerator"].to_numpy(), m.loc[pois, "estimate_denominator"].to_numpy()
        per = f.loc[pois, "unit"].map(lambda u: float(rules["unit_intervals"][str(u)].get("per", 1))).to_numpy()
        ci = poisson_ratio_ci(k1, e1, k2, e2, level=level)
        res.loc[pois, "ratio_lower"] = np.atleast_1d(ci.lower)
        res.loc[pois, "ratio_upper"] = np.atleast_1d(ci.upper)
        lo, hi = confint_poisson_2indep(k1, e1, k2, e2, method="mover", compare="diff", alpha=1 - level)
        res.loc[pois, "difference_lower"] = np.asarray(lo) * per
        res.loc[pois, "difference_upper"] = np.asarray(hi) * per
        res.loc[pois, "difference_method"] = "mover_poisson"
        res.loc[pois, "ratio_method"] = "exact_conditional"
        res.loc[pois, "note"] = "from_counts"
    res.loc[~same, "note"] = "windows_differ"
    res = res.reset_index()
    for c in ("indicator", "area", "unit", "pooled_years", "difference_method", "ratio_method", "note"):
        res[c] = res[c].astype("string")
    return res[cols].sort_values(keys).reset_index(drop=True)


GAP_CHANGE_COLUMNS = ["indicator", "area", "unit", "year", "difference", "baseline_year",
                      "baseline_difference", "change", "change_lower", "change_upper", "gap_change"]


#: The columns of :func:`gender_gap` that :func:`gap_change` reads (``rankable`` is optional:
#: without it every gap counts as resting on enough events, :func:`fzanalysis.rates.unrankable`).
GAP_CHANGE_NEEDS: tuple[str, ...] = ("indicator", "area", "unit", "year", "pooled_years", "difference",
                                     "difference_lower", "difference_upper")


def _check_gap_rows(gaps: Any) -> None:
    """Refuse, once and before any row is read, a ``gaps`` table :func:`gap_change` cannot read:
    not a DataFrame, or rows without some of :data:`GAP_CHANGE_NEEDS` (an
    :class:`~fzanalysis.exceptions.InputError` naming them and what is expected)."""
    if not isinstance(gaps, pd.DataFrame):
        raise InputError(f"gap_change: expected a DataFrame of fzanalysis.gender_gap rows, got {type(gaps).__name__}")
    if gaps.empty:  # no rows: nothing to read (an empty result, as before)
        return
    missing = [c for c in GAP_CHANGE_NEEDS if c not in gaps.columns]
    if missing:
        raise InputError(
            f"gap_change: missing column(s) {', '.join(missing)}; expected the rows of fzanalysis.gender_gap "
            f"(columns {', '.join(GAP_CHANGE_NEEDS)}; pooled_years empty for a single year's figure), "
            f"got columns {', '.join(map(str, gaps.columns)) or 'none'}")


def gap_change(gaps: pd.DataFrame, *, year: int | None = None, baseline_year: int = 2020) -> pd.DataFrame:
    r"""How each gender gap has moved since the baseline: narrower, wider, or no clear change
    (methods 4.1).

    Parameters
    ----------
    gaps : DataFrame
        :func:`gender_gap` rows of every year (one per indicator x area x year).
    year : int, optional
        The year judged (default: each series' latest year with a difference).
    baseline_year : int, keyword-only
        The plan's baseline (2020); where a gap lacks it, the first later year with one (the rule
        of methods 3.1).

    Returns
    -------
    DataFrame
        One row per indicator x area: ``difference`` (:math:`d_t = x_F - x_M` in ``year``),
        ``baseline_difference`` (:math:`d_0`), ``change`` = :math:`|d_t| - |d_0|` (negative =
        a narrower gap), its interval ``change_lower``, ``change_upper`` and ``gap_change``:

        ``narrowed`` / ``widened``
            the interval of the change lies below / above 0;
        ``no_clear_change``
            the interval contains 0;
        ``narrowed_point`` / ``widened_point`` / ``unchanged_point``
            neither gap has an interval (figures without counts): the point estimates only;
        ``crossed``
            the gap changed sides (women behind, now ahead, or the reverse): its size is
            compared on the points, no interval;
        ``not_comparable``
            either gap rests on few events (:func:`fzanalysis.rates.unrankable`), the two
            windows share a year (a pooled 2016–2020 against a pooled 2020–2024), the sexes'
            years differ, or there is no baseline before ``year``: no change is stated.

    Raises
    ------
    fzanalysis.exceptions.InputError
        If ``gaps`` is not a DataFrame or lacks a column of :data:`GAP_CHANGE_NEEDS` (the
        message names them).

    Notes
    -----
    While :math:`d_0` and :math:`d_t` have the same sign, the change of the size is
    :math:`\operatorname{sign}(d_0)(d_t - d_0)`, whose interval is the MOVER interval of a
    difference of two independent estimates from their own intervals (Zou & Donner 2008):
    :math:`L = \Delta - \sqrt{(d_t - l_t)^2 + (u_0 - d_0)^2}`,
    :math:`U = \Delta + \sqrt{(u_t - d_t)^2 + (d_0 - l_0)^2}`, at the level of the gaps'
    intervals.  Years of different windows are independent samples; overlapping windows are not,
    so they are not compared.

    References
    ----------
    .. [1] Zou GY, Donner A (2008). Construction of confidence limits about effect measures: a
       general approach. *Statistics in Medicine* 27:1693-1702.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis.assessment import gap_change
    >>> g = pd.DataFrame({"indicator": "economy.x", "area": "440117", "unit": "percent",
    ...                   "year": [2020, 2024], "pooled_years": "", "difference": [-6.0, -3.5],
    ...                   "difference_lower": [-7.0, -4.4], "difference_upper": [-5.0, -2.6],
    ...                   "rankable": True, "note": "from_counts"})
    >>> r = gap_change(g).iloc[0]
    >>> r["gap_change"], *(round(float(r[c]), 2) for c in ("change", "change_lower", "change_upper"))
    ('narrowed', -2.5, -3.85, -1.15)
    """
    _check_gap_rows(gaps)
    out: list[dict[str, Any]] = []
    if gaps.empty:
        return pd.DataFrame(columns=GAP_CHANGE_COLUMNS)
    few = unrankable(gaps).to_numpy()
    g = gaps.assign(_few=few)
    for (ind, area), rows in g.groupby(["indicator", "area"], sort=False):
        rows = rows.sort_values("year")
        has = rows["difference"].notna()
        now_rows = rows[has] if year is None else rows[rows["year"] == int(year)]
        if now_rows.empty:
            continue
        now = now_rows.iloc[-1]
        rec = {"indicator": ind, "area": area, "unit": now["unit"], "year": int(now["year"]),
               "difference": float(now["difference"]) if pd.notna(now["difference"]) else np.nan,
               "baseline_year": pd.NA, "baseline_difference": np.nan, "change": np.nan,
               "change_lower": np.nan, "change_upper": np.nan, "gap_change": "not_comparable"}
        base_rows = rows[has & (rows["year"] >= int(baseline_year)) & (rows["year"] < rec["year"])]
        if base_rows.empty or np.isnan(rec["difference"]):
            out.append(rec)
            continue
        base = base_rows.iloc[0]
        d0, d1 = float(base["difference"]), rec["difference"]
        rec.update({"baseline_year": int(base["year"]), "baseline_difference": d0,
                    "change": abs(d1) - abs(d0)})
        overlap = window_years(base["pooled_years"], int(base["year"])) \
            & window_years(now["pooled_years"], rec["year"])
        if bool(now["_few"]) or bool(base["_few"]) or overlap:
            out.append(rec)
            continue
        if d0 * d1 < 0:
            rec["gap_change"] = "crossed"
            out.append(rec)
            continue
        lims = [float(x) if pd.notna(x) else np.nan for x in (base["difference_lower"], base["difference_upper"],
                                                              now["difference_lower"], now["difference_upper"])]
        l0, u0, l1, u1 = lims
        if np.isnan(lims).any():
            rec["gap_change"] = ("narrowed_point" if rec["change"] < 0 else "widened_point" if rec["change"] > 0
                                 else "unchanged_point")
            out.append(rec)
            continue
        delta = d1 - d0
        lo = delta - np.hypot(d1 - l1, u0 - d0)
        hi = delta + np.hypot(u1 - d1, d0 - l0)
        sign = -1.0 if (d0 < 0 or (d0 == 0 and d1 < 0)) else 1.0  # the size's change is sign * delta
        c_lo, c_hi = sorted((sign * lo, sign * hi))
        rec.update({"change_lower": c_lo, "change_upper": c_hi,
                    "gap_change": "narrowed" if c_hi < 0 else "widened" if c_lo > 0 else "no_clear_change"})
        out.append(rec)
    res = pd.DataFrame(out, columns=GAP_CHANGE_COLUMNS)
    res["baseline_year"] = res["baseline_year"].astype("Int64")
    return res.reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

_TABLE_COLUMNS = ["indicator", "area", "sex", "year", "value", "lower", "upper", "pooled_years", "target",
                  "gap", "status", "pace_ratio", "category", "verdict_zh"]


def _cli(ns: argparse.Namespace) -> int:
    try:
        return _cli_run(ns)
    except BrokenPipeError:  # output piped into `head`
        return 0


def _cli_run(ns: argparse.Namespace) -> int:
    try:
        panel = load_for_cli(ns.data)
        res = assess(panel, year=ns.year, baseline_year=ns.baseline_year, level=ns.level)
    except (ValueError, FileNotFoundError, TypeError) as exc:
        print(f"fzanalysis assess: error: {exc}", file=sys.stderr)
        return 1
    if ns.attainment:
        table = attainment(res)
        if ns.format == "csv":
            table.to_csv(sys.stdout, index=False)
        else:
            print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        return 0
    if ns.format == "csv":
        res.to_csv(sys.stdout, index=False)
    else:
        if res["synthetic"].any():
            print("演示数据（合成，非真实统计） / demo data (synthetic, not official statistics)")
        with pd.option_context("display.width", 250, "display.max_rows", None,
                               "display.max_columns", None):
            print(res[_TABLE_COLUMNS].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


def register_cli(subparsers: Any) -> None:
    """Add ``fzanalysis assess [--data PATH] [--year Y] [--format table|csv]``."""
    p = subparsers.add_parser(
        "assess",
        help="status, gap, progress category and verdict per indicator / 指标达标状态与进度评估",
        description="Assess every indicator x area x sex against its target (docs/methods.md 1-4). "
        "Without --data the embedded demo panel is used.",
    )
    p.add_argument("--data", metavar="PATH", type=data_option, help=DATA_HELP)
    p.add_argument("--year", type=int, default=None, help="year to assess (default: latest per series)")
    p.add_argument("--baseline-year", type=int, default=2020, help="baseline year (default 2020)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.add_argument("--attainment", action="store_true", help="print the attainment rate per domain instead")
    p.set_defaults(func=_cli)
