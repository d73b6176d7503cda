"""Will the target be met by 2030?  Projections, ``p_meet``/``p_direction`` and early warning.

Methods (docs/methods.md sections 5-8): rates from small counts get a Poisson log-linear trend of
the counts (methods.md 5.4); other series get a robust line (one outlier year left out, a
detected step taken as a new level, :func:`fzanalysis.trend.engine.robust_fit`) fitted by least
squares on a transformed scale (identity, scaled logit for bounded percentages, log for rates
and ratios) to the most recent ``window`` points, continued as the average of a damped and an
undamped trend; the predictive distribution on the model scale is a Student-t with the OLS
predictive variance plus a bend-and-jump variance calibrated on real series and a rounding
floor.  ``p_meet`` is its probability of the target's success region
(:func:`fzanalysis.comparators.region`) as the published figure meets it (rounded to the
series' step; docs/methods.md 5 (5)), ``p_direction`` (increase/decrease targets) its
probability of ending beyond today's level in the required direction.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import catalog as catalog_mod
from fzanalysis import codes, comparators, labels
from fzanalysis.panel import Panel, as_panel
from fzanalysis.rates import load_rules
from fzanalysis.trend.core import inverse
from fzanalysis.trend.engine import (
    before_step,
    mixture_moments,
    mixture_quantile,
    path_moments,
    run,
    warning_flags,
)
from fzanalysis.trend.prep import SeriesMatrix, matrix, probability_band_code, settings
from fzanalysis.trend.results import Projection

__all__ = ["PATH_COLUMNS", "PROJECT_COLUMNS", "WARNING_CODES", "probability_band",
           "probability_band_code", "probability_percent", "project",
           "project_paths", "warning_text"]

#: Columns of :func:`project` (docs/design.md "Result tables").
PROJECT_COLUMNS: list[str] = [
    "indicator", "area", "sex", "method", "n_points", "last_year", "last_value", "level",
    "target_year", "projected", "lower", "upper", "projected_meets", "p_meet", "p_direction", "probability",
    "probability_band", "pace_observed", "pace_required", "year_reached", "break_year",
    "turn_year", "n_outliers", "warnings",
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


def _damping_weight(weight: float | None) -> float:
    w = float(settings()["damping_weight"] if weight is None else weight)
    if not 0 <= w <= 1:
        raise ValueError(f"damping_weight must be in [0, 1], got {weight!r}")
    return w


def _poisson_window(window: Any) -> Any:
    """The Poisson rows follow ``trend.yaml: poisson.window`` unless a window is given."""
    return "default" if window is _DEFAULT else _window(window)


def _by_target_year(panel: Any, catalog: pd.DataFrame | None, target_year: int | None,
                    rows: Any, **options: Any) -> pd.DataFrame:
    """``rows(M, res, level, year)`` of one engine run (:func:`_run` with ``options``) for the year
    given, or else for each target year of the catalogue (its ``target_year`` column; 2030 for the
    plan's), series sorted by their keys."""
    def one(pnl: Any, cat: pd.DataFrame | None, year: int) -> pd.DataFrame:
        return rows(*_run(pnl, cat, target_year=year, **options), year)

    if target_year is not None:
        return one(panel, catalog, int(target_year))
    cat = catalog_mod.normalize(catalog)
    pnl = as_panel(panel, catalog=cat)
    years = pnl.frame["indicator"].map(cat.set_index("id")["target_year"]).astype("int64")
    groups = sorted(pd.unique(years)) or [int(cat["target_year"].max()) if len(cat)
                                          else catalog_mod.DEFAULT_TARGET_YEAR]
    if len(groups) == 1:
        return one(pnl, cat, int(groups[0]))
    parts = [one(as_panel(pnl.frame[(years == y).to_numpy()].reset_index(drop=True), catalog=cat,
                          source=pnl.source), cat, int(y)) for y in groups]
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(list(codes.SERIES_KEYS), kind="stable").reset_index(drop=True)
    out.attrs.update({**parts[0].attrs, "target_year": None})
    return out


def _run(panel: Any, catalog: pd.DataFrame | None, *, target_year: int, level: float | None,
         method: str, window: Any, damping: float | None, damping_weight: float | None,
         calibrated: bool, robust: bool) -> tuple[SeriesMatrix, Projection, float]:
    level = float(settings()["default_level"] if level is None else level)
    M = matrix(panel, catalog)
    res = run(M, method=method, target_year=int(target_year), level=level,
              window=_window(window), damping=_damping(damping),
              damping_weight=_damping_weight(damping_weight), calibrated=calibrated,
              robust=robust, poisson_window=_poisson_window(window))
    return M, res, level


def probability_band(p: Any, lang: str = "zh") -> Any:
    """The probability in words: 很可能 / 有可能 / 难以 (likely / possible / unlikely).

    Cut-offs are data (``data/trend.yaml: probability_band``, lower edges; words in
    ``data/labels/trend.yaml``): by default >= 0.8 ``likely``, 0.5-0.8 ``possible``, < 0.5
    ``unlikely`` (methods.md 8.9: on the 556 holdout series the observed frequencies are within
    0.1 of the stated probability in every 0.2-wide bin, on the validation series in all but
    two, off by up to 0.15 -- read the words as bands, not as exact odds).

    Parameters
    ----------
    p : float or array_like
        Probabilities; NaN gives an empty string.
    lang : {"zh", "en"}

    Returns
    -------
    str or ndarray of str (same shape as ``p``).

    Examples
    --------
    >>> probability_band(0.85), probability_band(0.6, "en"), probability_band(0.2)
    ('很可能', 'possible', '难以')
    """
    labels.check_lang(lang)
    codes = probability_band_code(p)
    words = {c: labels.label("probability_band", c, lang) for c in settings()["probability_band"]}
    arr = np.asarray(codes, dtype=object)
    out = np.vectorize(lambda c: words.get(c, ""), otypes=[object])(arr) if arr.size else arr
    return str(out[()]) if np.ndim(out) == 0 else out


def probability_percent(p: float) -> str:
    """A probability as a whole percentage, without the sign, that never crosses a band edge.

    0.496 is in the band below 0.5 (难以), so it is shown as ``49``, not ``50``; 0.797 as ``79``;
    below 0.5 % ``<1``, above 99.5 % ``>99``; NaN gives "".  Every page, table and sentence
    that shows a probability with its words formats it here, so the number and the words agree.

    Examples
    --------
    >>> probability_percent(0.496), probability_percent(0.5), probability_percent(0.7969)
    ('49', '50', '79')
    """
    p = float(p)
    if np.isnan(p):
        return ""
    if p < 0.005:
        return "<1"
    if p > 0.995:
        return ">99"
    edges = sorted(float(v) for v in settings()["probability_band"].values())
    n = int(np.floor(100 * p + 0.5))
    lower = max([e for e in edges if e <= p], default=0.0)
    upper = min([e for e in edges if e > p], default=np.inf)
    n = max(n, int(np.ceil(100 * lower - 1e-9)))
    if np.isfinite(upper):
        n = min(n, int(np.ceil(100 * upper - 1e-9)) - 1)
    return str(n)


def project(
    panel: Panel | pd.DataFrame | str,
    catalog: pd.DataFrame | None = None,
    *,
    target_year: int | None = None,
    level: float | None = None,
    method: str = "auto",
    window: int | None = _DEFAULT,  # type: ignore[assignment]
    damping: float | None = None,
    damping_weight: float | None = None,
    calibrated: bool = True,
    robust: bool = True,
) -> pd.DataFrame:
    """Project every series to ``target_year`` and judge whether its target will be met.

    Parameters
    ----------
    panel : Panel, DataFrame or path
        A tidy panel (:func:`fzanalysis.panel.as_panel`: ``indicator, year, value``, ``area``
        defaults to the district and ``sex`` to ``T``; a gap is an absent row).
    catalog : DataFrame, optional
        Normalised by :func:`fzanalysis.catalog.normalize` (default: the plan's catalogue).
    target_year : int, optional
        Year to project to.  Default: each indicator's own ``target_year`` from the catalogue
        (2030 for the plan's; a researcher's catalogue may give 2035, or several years).  A
        year a series has already observed (a final evaluation, or a year that has passed) is
        no forecast: ``projected`` = ``lower`` = ``upper`` = the published figure, ``p_meet``
        1 or 0, and no ``at_risk`` (methods.md 5 (10)).
    level : float
        Two-sided level of the prediction interval (default ``trend.yaml: default_level`` = 0.8).
    method : {"auto", "linear", "logit", "log", "poisson"}
        Model; ``auto`` uses ``poisson`` for rates from small counts (methods.md 5.4) and
        otherwise chooses per series by rolling-origin out-of-sample error (methods.md 6).
    window : int or None
        Fit on the last ``window`` observed points (default ``trend.yaml: window``; Poisson
        rows ``poisson.window``; None = all).
    damping : float, optional
        Damping factor phi in (0, 1] of the damped part of the trend (``trend.yaml: damping``).
    damping_weight : float, optional
        Weight w in [0, 1] of the damped trend in the average of damped and undamped trends
        (``trend.yaml: damping_weight``); 0 (or ``damping=1``) gives the straight line.
    calibrated : bool
        Add the backtest-calibrated bend/jump variance and the rounding floor and use the
        heavier-tailed t (methods.md 5, 8).  ``False`` (with ``robust=False``) gives the
        textbook OLS prediction interval on :math:`t_{n-2}`.
    robust : bool
        Leave out outlier years and continue from the new level after a detected step
        (:func:`fzanalysis.trend.engine.robust_fit`); ``False`` fits OLS to every window point.

    Returns
    -------
    DataFrame
        One row per indicator x area x sex with :data:`PROJECT_COLUMNS`:

        - ``method``: model fitted (``none`` when fewer than ``min_points_fit`` points;
          ``poisson`` rows with too few events have NaN projection and probabilities;
          ``small_base``: an event proportion of too few cases at a bound, not projected,
          methods.md 5.4);
        - ``n_points``, ``last_year``, ``last_value``: observed years, last observation;
        - ``level``: the fitted level in ``last_year`` (the robust line's value; Poisson: the
          fitted expected rate), the "today" from which the trend is continued;
        - ``target_year``: the year projected to;
        - ``projected``, ``lower``, ``upper``: the central projection (median of the predictive
          distribution) for ``target_year`` and its prediction interval at ``level``;
        - ``projected_meets``: does ``projected``, as it would be published (rounded to the
          series' step, methods.md 5 (5)), meet the target (``maintain``: at least the
          reference level; False for increase/decrease).  For one-sided targets it is True
          exactly when ``p_meet >= 0.5``;
        - ``p_meet``: predictive probability that the ``target_year`` value, as published,
          lies in the target's success region (numeric comparators and ``maintain``, whose region is
          "at least the series' own baseline-year level"); NaN for increase/decrease;
        - ``p_direction``: increase/decrease targets only, the predictive probability that the
          ``target_year`` value is beyond ``level`` in the required direction; NaN otherwise;
        - ``probability``: ``p_meet``, or ``p_direction`` for increase/decrease;
          ``probability_band``: that probability in words (:func:`probability_band`, Chinese);
        - ``pace_observed``: OLS slope of the last ``pace_window`` observed points the robust
          fit kept (outliers skipped; units per year);
          ``pace_required``: (target - last value) / years left (numeric targets);
        - ``year_reached``: first year the central path meets the target (the start of the
          current run of observed years meeting it if already met); NA if not by
          ``year_reached_max``;
        - ``break_year``: first year after a detected step in the fit window (NA: none);
          ``turn_year``: year of a detected turn of the trend, where the fit starts (NA: none;
          methods.md 5.1);
          ``n_outliers``: points of the window left out of the fit as outliers;
        - ``warnings``: ``;``-joined :data:`WARNING_CODES` (``at_risk`` only for a
          ``target_year`` after ``last_year``: a forecast's warning).

        ``attrs``: ``target_year`` (None when the catalogue's years differ), ``level``,
        ``synthetic`` (demo data).

    Notes
    -----
    On the model scale the target-year value is
    :math:`\\hat z(T^*) + \\sqrt{\\mathrm{se}(T^*)^2 + \\tau^2(h) + f(h)}\\;t_{\\nu}`,
    :math:`T^* = t_L + w D_\\phi(h) + (1-w)h` (averaged damped/undamped trend),
    :math:`\\tau^2(h) = c(h)(\\max\\{0,\\hat b^2 - \\mathrm{se}(\\hat b)^2\\} + J^2)` (bends and
    steps; c(h) from ``trend.yaml: interval_bend``), f(h) the rounding floor and
    :math:`\\nu` Welch-Satterthwaite (:func:`~fzanalysis.trend.engine.predictive_df`).
    Interval, ``p_meet`` and ``p_direction``
    all come from it (methods.md 5, 8).

    Examples
    --------
    >>> import pandas as pd
    >>> cat = pd.DataFrame({"id": ["x"], "unit": ["percent"], "comparator": [">="], "target": [96.0]})
    >>> panel = pd.DataFrame({"indicator": "x", "year": range(2016, 2024),
    ...                       "value": [90 + 0.57 * k for k in range(8)]})
    >>> row = project(panel, cat).iloc[0]
    >>> bool(row["projected"] >= 96), bool(row["p_meet"] >= 0.5), row["probability_band"]
    (True, True, '有可能')
    """
    return _by_target_year(panel, catalog, target_year, _project, level=level, method=method, window=window,
                           damping=damping, damping_weight=damping_weight, calibrated=calibrated,
                           robust=robust)


def _project(M: SeriesMatrix, res: Projection, level: float, target_year: int) -> pd.DataFrame:
    """The rows of :func:`project` from one run of the engine."""
    flags = warning_flags(M, res)
    out = M.keys.copy()
    out["method"] = res.method
    out["n_points"] = res.n_points.astype("int64")
    out["last_year"] = res.last_year.astype("int64")
    for col in ("last_value", "level", "projected", "lower", "upper"):
        out[col] = getattr(res, col)
    out["target_year"] = np.full(len(out), int(target_year), dtype="int64")
    comp = M.comparator
    tcomp = np.where(comp == "maintain", ">=", comp)
    ttarget = np.where(comp == "maintain", res.reference, M.target)
    literal = comparators.satisfies(res.projected, tcomp, ttarget, M.tolerance)
    # a target at a bound is judged as published (">= 100 %" met by a figure published as 100)
    out["projected_meets"] = np.where(np.isnan(res.meets_published), literal,
                                      res.meets_published == 1.0)
    out["p_meet"] = res.p_meet
    out["p_direction"] = res.p_direction
    prob = np.where(comparators.probability_kind(comp) == "direction", res.p_direction, res.p_meet)
    out["probability"] = prob
    out["probability_band"] = probability_band(prob, "zh") if len(prob) else []
    for col in ("pace_observed", "pace_required"):
        out[col] = getattr(res, col)
    for col in ("year_reached", "break_year", "turn_year"):
        v = getattr(res, col)
        out[col] = pd.array(np.where(np.isfinite(v), v, np.nan), dtype="Int64")
    out["n_outliers"] = res.n_outliers.astype("int64")
    codes = np.array(WARNING_CODES, dtype=object)
    stack = np.column_stack([flags[c] for c in WARNING_CODES])
    out["warnings"] = [";".join(codes[row]) for row in stack]
    out = out[PROJECT_COLUMNS]
    out.attrs.update({"target_year": int(target_year), "level": level, "synthetic": M.synthetic})
    return out


def project_paths(
    panel: Panel | pd.DataFrame | str,
    catalog: pd.DataFrame | None = None,
    *,
    target_year: int | None = None,
    level: float | None = None,
    method: str = "auto",
    window: int | None = _DEFAULT,  # type: ignore[assignment]
    damping: float | None = None,
    damping_weight: float | None = None,
    calibrated: bool = True,
    robust: bool = True,
) -> pd.DataFrame:
    """Long table of observed values, fitted line and projected path with intervals, for charts.

    Same arguments and fits as :func:`project` (by default each series runs to its
    catalogue's ``target_year``).

    Returns
    -------
    DataFrame
        :data:`PATH_COLUMNS`: ``kind="observed"`` (every observed year; no interval),
        ``kind="fitted"`` (the fitted line on the years used in the fit, back-transformed),
        ``kind="projected"`` (each year from the last observed year + 1 to ``target_year``,
        with the prediction interval at ``level`` for that year's horizon).  Poisson rows
        (methods.md 5.4): ``observed`` = the annual rates; ``fitted`` and ``projected`` = the
        expected rate of the fitted Poisson trend, both with the interval of that underlying
        rate; nothing but the observed rates when the counts are too small to fit.
    """
    return _by_target_year(panel, catalog, target_year, _paths, level=level, method=method, window=window,
                           damping=damping, damping_weight=damping_weight, calibrated=calibrated,
                           robust=robust)


def _paths(M: SeriesMatrix, res: Projection, level: float, target_year: int) -> pd.DataFrame:
    """The rows of :func:`project_paths` from one run of the engine."""
    model = res.model
    mcode, pois = model.mcode, model.pois
    S, years = len(M.unit), M.years
    lo, hi = M.lower[:, None], M.upper[:, None]
    q = res.q[:, None]
    parts = []
    idx, col = np.nonzero(M.mask)
    parts.append(pd.DataFrame({"s": idx, "year": years[col], "kind": "observed",
                               "value": M.Y[idx, col], "lower": np.nan, "upper": np.nan}))
    grid = np.broadcast_to(years.astype(float), (S, len(years)))
    zf, sf = path_moments(model, grid)
    # before a detected step the fitted model lies lower (or higher) by the step
    zf = zf - before_step(years, res.break_year) * np.nan_to_num(res.step_shift)[:, None]
    fitted = inverse(zf, mcode[:, None], lo, hi)
    band = pois[:, None]
    f_lo = np.where(band, inverse(zf - q * sf, mcode[:, None], lo, hi), np.nan)
    f_hi = np.where(band, inverse(zf + q * sf, mcode[:, None], lo, hi), np.nan)
    ok = model.fmask & res.fitted_ok[:, None]
    idx, col = np.nonzero(ok)
    parts.append(pd.DataFrame({"s": idx, "year": years[col], "kind": "fitted",
                               "value": fitted[idx, col], "lower": f_lo[idx, col],
                               "upper": f_hi[idx, col]}))
    last = res.last_year
    fut = np.arange(int(last.min()) + 1, int(target_year) + 1) if S else np.array([], int)
    if len(fut):
        tf = np.broadcast_to(fut.astype(float), (S, len(fut)))
        # the same predictive as project()'s columns
        mix = mixture_moments(model, tf, M.lower, M.upper)
        keep = (fut[None, :] > last[:, None]) & res.fitted_ok[:, None]
        idx, col = np.nonzero(keep)
        parts.append(pd.DataFrame({
            "s": idx, "year": fut[col], "kind": "projected",
            "value": mixture_quantile(0.5, mix)[idx, col],
            "lower": mixture_quantile(0.5 - level / 2.0, mix)[idx, col],
            "upper": mixture_quantile(0.5 + level / 2.0, mix)[idx, col]}))
    long = pd.concat(parts, ignore_index=True)
    order = {"observed": 0, "fitted": 1, "projected": 2}
    long = long.assign(_k=long["kind"].map(order)).sort_values(["s", "_k", "year"], kind="stable")
    keys = M.keys.iloc[long["s"].to_numpy()].reset_index(drop=True)
    body = long.drop(columns=["s", "_k"]).reset_index(drop=True)
    out = pd.concat([keys, body], axis=1)[PATH_COLUMNS]
    out["year"] = out["year"].astype("int64")
    return out


def warning_text(warnings: str, *, lang: str = "zh", method: str | None = None,
                 comparator: str | None = None, category: str | None = None,
                 area_kinds: Any = None) -> str:
    """Reasons behind a ``warnings`` string (``"at_risk;volatile"``), joined with ``；``/``; ``.

    Parameters
    ----------
    warnings : str
        The ``warnings`` cell of :func:`project`.
    lang : {"zh", "en"}
    method : str, optional
        The row's ``method``: with ``"poisson"``, ``insufficient_data`` and ``volatile`` get the
        reasons of the count model; with ``"small_base"`` (an event proportion of too few cases
        at a bound, :func:`fzanalysis.trend.engine.small_base`), ``insufficient_data`` says so;
        with ``"per_area"`` (a per-area target's district row, :func:`fzanalysis.evaluate`),
        ``at_risk`` and ``insufficient_data`` speak of every town meeting the target.
    comparator : str, optional
        The catalogue comparator: ``maintain`` gets the reasons of the maintain rules;
        ``increase``/``decrease``/``narrow`` the ``at_risk`` reason of ``p_direction`` and the
        ``volatile`` reason measured against the projected change (methods.md 7).
    category : str, optional
        The row's progress category (:func:`fzanalysis.evaluate`): ``slipping`` (met now, the
        projection misses) gives ``at_risk`` the words the sentence uses, 预计难以保持, for every
        target that is not a move (a move met by its trend keeps 方向存疑).
    area_kinds : str, optional
        A per-area target's catalogue ``area_kinds``: its reasons name the towns it is set for
        (各街道, :func:`fzanalysis.labels.area_kind_word`).

    Returns
    -------
    str

    Examples
    --------
    >>> warning_text("at_risk", lang="en", comparator="increase")[:8]
    'At risk:'
    """
    w = settings()["warnings"]
    pconf = settings()["poisson"]
    edge = f"{float(settings()['probability_band']['possible']):.0%}"  # at_risk: the 难以 band
    params = {"p": edge, "ratio": w["volatile_ratio"],
              "n": settings()["min_points"], "gap": settings()["max_gap_years"],
              "pace": w["pace_window"], "events": pconf["min_events"],
              "width": f"{float(load_rules()['too_wide']['proportion_max_width']):g}",
              "alpha": pconf["overdispersion_alpha"],
              "ratio_maintain": f"{float(w['volatile_ratio_maintain']):.1%}",
              "level_maintain": f"{float(w['maintain_decline_level']):.0%}"}
    items = [c for c in str(warnings).split(";") if c]
    sep = "；" if lang == "zh" else "; "
    kinds: dict[str, str] = {}
    if comparator == "maintain":
        kinds.update({"at_risk": "warning_maintain", "volatile": "warning_maintain",
                      "reversing": "warning_maintain"})
    if bool(comparators.asks_for_move(comparator)):
        kinds.update({"at_risk": "warning_direction", "volatile": "warning_direction"})
    if method == "poisson":
        kinds.update({"insufficient_data": "warning_poisson", "volatile": "warning_poisson"})
    if method == "small_base":
        kinds["insufficient_data"] = "warning_small_base"
    keep = category == "slipping" and not bool(comparators.asks_for_move(comparator))
    if keep:  # met now, projected to slip: 预计难以保持, as the sentence says
        kinds["at_risk"] = "warning_slipping"
    if method == codes.PER_AREA_METHOD:  # every town the target applies to (fzanalysis.evaluate)
        kinds.update({"at_risk": "warning_per_area_slipping" if keep else "warning_per_area",
                      "insufficient_data": "warning_per_area"})
    params["kind"] = labels.area_kind_word(area_kinds, lang)  # 街道 for 每个街道至少1名
    return sep.join(labels.label(kinds.get(c, "warning"), c, lang).format(**params) for c in items)
