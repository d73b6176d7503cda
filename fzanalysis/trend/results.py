"""Result containers of the projection engine (instead of string-keyed dicts).

:class:`Model` holds what is needed to read the fitted trends at any year (the centre and
scale of the predictive distribution, :func:`fzanalysis.trend.engine.path_moments`);
:class:`Projection` holds one entry per series for the target year, the arrays behind the
columns of :func:`fzanalysis.trend.project`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fzanalysis.trend.core import Fit, PoissonFit

__all__ = ["Model", "Projection"]


@dataclass(frozen=True)
class Model:
    """The fitted trends of every series (arrays of shape ``(S,)`` unless noted).

    Attributes
    ----------
    fit : Fit
        Least-squares lines on the model scale (after outliers and a detected step).
    pfit : PoissonFit
        Poisson log-linear trends (rows where ``pois``).
    pois : bool array, Poisson rows.
    mcode : int array, model code (:data:`fzanalysis.trend.core.METHODS`).
    fmask : (S, T) bool, the points each fit used.
    scale : float array, unit scale of Poisson rows (NaN elsewhere).
    last_year : int array, last observed year (-1 when none).
    jump2 : float array, per-year variance of the moves off the trend on the model scale
        (steps, jumps), :func:`fzanalysis.trend.engine.robust_fit`.
    floor2 : float array, variance of the rounding of the published values on the model scale.
    df : float array, degrees of freedom of the Student-t predictive distribution.
    damping, damping_weight : the trend beyond the last observation
        (:func:`fzanalysis.trend.core.effective_time`).
    calibrated : whether the bend variance is added.
    shrink : float array, share of the slope carried beyond the last observation
        (:func:`fzanalysis.trend.engine.trend_shrink`; 1 for Poisson rows).
    mix_w : float array, weight of the "no further trend" component of the predictive
        (:func:`fzanalysis.trend.engine.no_trend_weight`; 0 for Poisson rows and uncalibrated).
    level_y, level_var : float arrays, the fitted level at the last observed year and its
        predictive variance, in the indicator's units (centre and base variance of that part).
    round2 : float array, variance step^2/12 of the rounding of the published values.
    naive_v : float array, per-year variance of a random walk through the fitted points, in the
        indicator's units (:func:`fzanalysis.trend.engine.naive_variance`).
    """

    fit: Fit
    pfit: PoissonFit
    pois: np.ndarray
    mcode: np.ndarray
    fmask: np.ndarray
    scale: np.ndarray
    last_year: np.ndarray
    jump2: np.ndarray
    floor2: np.ndarray
    df: np.ndarray
    damping: float
    damping_weight: float
    calibrated: bool
    shrink: np.ndarray
    mix_w: np.ndarray
    level_y: np.ndarray
    level_var: np.ndarray
    round2: np.ndarray
    naive_v: np.ndarray


@dataclass(frozen=True)
class Projection:
    """One entry per series: the projection to the target year and what is judged from it.

    The attributes named like the columns of :func:`fzanalysis.trend.project` have the
    meaning documented there; the others are inputs of the warnings and of the charts.
    """

    model: Model
    method: np.ndarray
    n_points: np.ndarray
    last_year: np.ndarray
    last_value: np.ndarray
    level: np.ndarray
    projected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p_meet: np.ndarray
    p_direction: np.ndarray
    #: 1/0 where a target edge sits at a bound the series is published at (the central
    #: projection meets the target published as the bound, engine.published_edges), NaN elsewhere
    meets_published: np.ndarray
    pace_observed: np.ndarray
    pace_required: np.ndarray
    year_reached: np.ndarray
    break_year: np.ndarray
    n_outliers: np.ndarray
    #: year of a detected turn of the trend, where the fit starts (engine.robust_fit; NaN: none)
    turn_year: np.ndarray
    resid_sd: np.ndarray
    overdispersed: np.ndarray
    small_counts: np.ndarray
    max_gap: np.ndarray
    fitted_ok: np.ndarray
    reference: np.ndarray
    horizon: np.ndarray
    q: np.ndarray
    #: the last ``pace_window`` observed values fall / rise significantly (the assessment's trend
    #: test, engine.significant_decline / significant_rise): the evidence ``reversing`` asks for
    significant_decline: np.ndarray
    significant_rise: np.ndarray
    #: the detected step's size on the model scale (engine.step_shift; 0 without a step): the
    #: fitted line lies this far above the points before the step
    step_shift: np.ndarray
