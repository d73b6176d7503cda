r"""The comparators of the catalogue and the one rule "does this satisfy the target?".

Every numeric comparator is a *success region* on the value scale (:func:`region`): the values
that meet the target.  Assessment (:func:`status`, an interval against the region), projection
(:func:`satisfies`, a projected value inside the region) and the probability of meeting the
target (the predictive probability of the region, :func:`region` again) all use it, so the three
can never disagree about what "met" means.

========== ===================================== ==========================================
comparator plan wording                          success region (target :math:`T`, tolerance :math:`\tau`)
========== ===================================== ==========================================
``>=``     以上, 不低于, 达到                     :math:`[T, \infty)`
``>``      超过                                  :math:`(T, \infty)`
``<=``     不高于                                :math:`(-\infty, T]`
``<``      以下, 低于                            :math:`(-\infty, T)`
``==``     (exactly; judged on the point)        :math:`[T - a, T + a]`, :math:`a` = ``equality_atol``
``~=``     左右 (both directions matter)          :math:`[T - \tau, T + \tau]`
``~>=``    保持在…左右 for a floor (women's shares) :math:`[T - \tau, \infty)`
increase   逐步提高                               judged by the trend (:mod:`fzanalysis.assessment`)
decrease   降低, 减少                             judged by the trend
narrow     缩小 a gap (男女收入差距明显缩小)       judged by the trend of the gap's size :math:`|x - T|`,
                                                 :math:`T` the parity point (0 for a difference)
maintain   保持                                   judged by the trend
========== ===================================== ==========================================

Functions are vectorised over NumPy arrays (scalars work too).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fzanalysis import config

__all__ = [
    "ALL",
    "DIRECTIONAL",
    "MOVES",
    "NUMERIC",
    "WITH_PARITY",
    "asks_for_move",
    "check",
    "distance_to_parity",
    "good_direction",
    "numeric_target",
    "probability_kind",
    "required_direction",
    "region",
    "satisfies",
    "status",
]

#: Comparators with a numeric target.
NUMERIC: tuple[str, ...] = (">=", "<=", ">", "<", "==", "~=", "~>=")
#: Comparators judged by the direction of the trend (no numeric target).
DIRECTIONAL: tuple[str, ...] = ("increase", "decrease", "narrow", "maintain")
#: Directional comparators that ask for a move (逐步提高, 降低, 缩小): judged by the direction of the
#: trend, their probability is ``p_direction`` (ending beyond today's level in the required
#: direction; for ``narrow``, nearer the parity point than today).  ``maintain`` asks only not to
#: fall: its probability is ``p_meet`` of staying at its reference level.
MOVES: tuple[str, ...] = ("increase", "decrease", "narrow")
#: Directional comparators that carry a number in ``target``: ``narrow``'s parity point.
WITH_PARITY: tuple[str, ...] = ("narrow",)
#: Every comparator a catalogue may use.
ALL: tuple[str, ...] = NUMERIC + DIRECTIONAL

_UP = (">=", ">", "~>=", "increase", "maintain")
_DOWN = ("<=", "<", "decrease")


def check(comparator: Any, *, where: str = "") -> str:
    """Return ``comparator`` if it is known, else raise ``ValueError`` naming the allowed list."""
    if comparator not in ALL:
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}comparator must be one of {list(ALL)}, got {comparator!r}")
    return str(comparator)


def _is(comp: np.ndarray, *names: str) -> np.ndarray:
    """Elementwise ``comp in names`` (faster than np.isin on small object arrays)."""
    out = comp == names[0]
    for n in names[1:]:
        out = out | (comp == n)
    return np.asarray(out, dtype=bool)


def good_direction(comparator: Any) -> np.ndarray:
    """+1 where a higher value is better, -1 where lower is better, 0 for two-sided targets
    (``~=``, ``==``, and ``narrow``, whose good direction is towards its parity point)."""
    comp = np.asarray(comparator, dtype=object)
    return np.where(_is(comp, *_UP), 1, np.where(_is(comp, *_DOWN), -1, 0))


def asks_for_move(comparator: Any) -> np.ndarray:
    """Elementwise: is the target a move in a required direction (:data:`MOVES`)?

    Examples
    --------
    >>> asks_for_move(["increase", "maintain", ">=", "decrease", "narrow"]).tolist()
    [True, False, False, True, True]
    """
    return _is(np.asarray(comparator, dtype=object), *MOVES)


def distance_to_parity(value: Any, comparator: Any, target: Any) -> np.ndarray:
    r"""The quantity a directional target is judged on: the gap's size :math:`|x - T|` for
    ``narrow`` (缩小: a gap of +6 that becomes -7.5 has widened, not narrowed), the value itself
    for every other comparator.

    Examples
    --------
    >>> distance_to_parity([6.0, -7.5, 6.0], ["narrow", "narrow", "decrease"], [0.0, 0.0, np.nan]).tolist()
    [6.0, 7.5, 6.0]
    """
    v = np.asarray(value, dtype=float)
    comp = np.asarray(comparator, dtype=object)
    t = np.asarray(target, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(comp == "narrow", np.abs(v - t), v)


def required_direction(comparator: Any, level: Any, target: Any) -> np.ndarray:
    """The direction a move asks for from ``level``: +1 up, -1 down; for ``narrow`` towards the
    parity point ``target`` from the side ``level`` is on (0 at parity); 0 for targets that are
    not moves.  The category (:func:`fzanalysis.evaluation.category_from_projection`) and
    ``p_direction`` (:mod:`fzanalysis.trend.engine`) both read it.

    Examples
    --------
    >>> required_direction(["increase", "decrease", "narrow", "narrow", ">="], [5, 5, 5, -5, 5],
    ...                    [np.nan, np.nan, 0, 0, 9]).tolist()
    [1.0, -1.0, -1.0, 1.0, 0.0]
    """
    comp = np.asarray(comparator, dtype=object)
    with np.errstate(invalid="ignore"):
        toward = -np.sign(np.asarray(level, dtype=float) - np.asarray(target, dtype=float))
    good = np.where(comp == "narrow", toward, good_direction(comp)).astype(float)
    return np.where(asks_for_move(comp), good, 0.0)


def numeric_target(comparator: Any, target: Any) -> np.ndarray:
    """The target a value is compared with: the catalogue's ``target`` for a numeric comparator,
    NaN otherwise (``narrow``'s target is its parity point, not a level to reach: no target line
    or tick is drawn for it).

    Examples
    --------
    >>> numeric_target([">=", "narrow", "increase"], [96.0, 0.0, np.nan]).tolist()
    [96.0, nan, nan]
    """
    comp = np.asarray(comparator, dtype=object)
    return np.where(_is(comp, *NUMERIC), np.asarray(target, dtype=float), np.nan)


def probability_kind(comparator: Any) -> np.ndarray:
    """Which probability speaks for each target: ``"direction"`` (``p_direction``) for a move,
    ``"meet"`` (``p_meet``) otherwise.  The one rule the projection, the warnings, the judgement
    table and the sentences read.

    Examples
    --------
    >>> probability_kind(["increase", ">=", "maintain"]).tolist()
    ['direction', 'meet', 'meet']
    """
    return np.where(asks_for_move(comparator), "direction", "meet").astype(object)


def _equality_atol() -> float:
    return float(config.assess_rules()["status"]["equality_atol"])


def region(comparator: Any, target: Any, tolerance: Any = np.nan
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Success region of each target: ``(low, high, low_open, high_open)``.

    A value :math:`v` meets the target when ``low <= v <= high`` (``<`` where the side is open).
    Directional comparators give NaN limits (they are judged by the trend, not by a value).

    Examples
    --------
    >>> lo, hi, lo_open, hi_open = region([">=", "<", "~="], [96, 7.5, 50], [np.nan, np.nan, 2])
    >>> lo.tolist(), hi.tolist()
    ([96.0, -inf, 48.0], [inf, 7.5, 52.0])
    >>> hi_open.tolist()
    [False, True, False]
    """
    comp = np.asarray(comparator, dtype=object)
    t = np.asarray(target, dtype=float)
    tau = np.asarray(tolerance, dtype=float)
    comp, t, tau = np.broadcast_arrays(comp, t, tau)
    atol = _equality_atol()
    nan = np.full(t.shape, np.nan)
    lo = np.select(
        [_is(comp, ">=", ">"), _is(comp, "<=", "<"), comp == "==",
         _is(comp, "~=", "~>=")],
        [t, np.full(t.shape, -np.inf), t - atol, t - tau], nan)
    hi = np.select(
        [_is(comp, ">=", ">", "~>="), _is(comp, "<=", "<"), comp == "==", comp == "~="],
        [np.full(t.shape, np.inf), t, t + atol, t + tau], nan)
    return lo.astype(float), hi.astype(float), comp == ">", comp == "<"


def satisfies(value: Any, comparator: Any, target: Any, tolerance: Any = np.nan) -> np.ndarray:
    """Elementwise: does ``value`` meet its numeric target?

    False for a missing value and for directional comparators.  Broadcasts like NumPy (a matrix of
    projected values against one target per row works).

    Examples
    --------
    >>> satisfies([96.5, 95.0, 60.0], [">=", ">=", "~>="], [96, 96, 50], [np.nan, np.nan, 2]).tolist()
    [True, False, True]
    """
    v = np.asarray(value, dtype=float)
    lo, hi, lo_open, hi_open = region(comparator, target, tolerance)
    with np.errstate(invalid="ignore"):
        above = np.where(lo_open, v > lo, v >= lo)
        below = np.where(hi_open, v < hi, v <= hi)
    return np.asarray(above & below & ~np.isnan(v) & ~np.isnan(lo), dtype=bool)


def status(
    value: Any,
    comparator: Any,
    target: Any,
    *,
    lower: Any = np.nan,
    upper: Any = np.nan,
    tolerance: Any = np.nan,
    lower_bound: Any = np.nan,
    upper_bound: Any = np.nan,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Status, gap and note of values (with optional intervals) against numeric targets.

    Parameters
    ----------
    value : array_like
        The estimates (percent as 96.5).
    comparator : array_like of str
        Numeric comparators (:data:`NUMERIC`).
    target, tolerance : array_like
        The target and, for ``~=``/``~>=``, the half-width of the band.
    lower, upper : array_like, optional
        Confidence limits; NaN = no interval (judged on the point).
    lower_bound, upper_bound : array_like, optional
        Natural bounds of the unit: a ``>=`` target at the upper bound (or a ``<=`` target at
        the lower bound) is judged on the point, since no interval can lie beyond the bound.

    Returns
    -------
    status : ndarray of str
        ``met`` when the interval lies inside the success region (:func:`region`), ``not_met``
        when it lies outside, ``cannot_judge`` when it straddles an edge, ``no_data`` for a
        missing value.  ``==`` is judged on the point (``cannot_judge`` when it misses but the
        interval contains the target).
    gap : ndarray of float
        Shortfall in the indicator's unit, positive = still short: :math:`T - x` for ``>=``,
        ``>``; :math:`x - T` for ``<=``, ``<``; :math:`|x - T|` for ``==``;
        :math:`|x - T| - \tau` for ``~=``; :math:`T - \tau - x` for ``~>=``.
    note : ndarray of str
        ``interval_clear``, ``point_only``, ``target_at_bound``, ``judged_on_point``,
        ``interval_straddles_target``, ``above_target_band`` (``~>=`` above its band) or
        ``no_value``.

    Examples
    --------
    >>> s, g, n = status([97.0, 95.0], [">=", ">="], [96, 96], lower=[96.2, 93.0], upper=[97.8, 97.0])
    >>> s.tolist(), g.round(1).tolist()
    (['met', 'cannot_judge'], [-1.0, 1.0])
    """
    arrays = np.broadcast_arrays(
        np.asarray(value, dtype=float), np.asarray(comparator, dtype=object),
        np.asarray(target, dtype=float), np.asarray(lower, dtype=float),
        np.asarray(upper, dtype=float), np.asarray(tolerance, dtype=float),
        np.asarray(lower_bound, dtype=float), np.asarray(upper_bound, dtype=float))
    x, comp, t, lo_ci, up_ci, tau, lb, ub = (np.array(a) for a in arrays)
    bad = ~_is(comp, *NUMERIC)
    if bad.any():
        check(comp[bad][0], where="status")
    has_ci = ~(np.isnan(lo_ci) | np.isnan(up_ci))
    with np.errstate(invalid="ignore"):
        at_bound = (_is(comp, ">=", ">") & (t >= ub)) | (_is(comp, "<=", "<") & (t <= lb))
    use_ci = has_ci & ~at_bound
    L = np.where(use_ci, lo_ci, x)
    U = np.where(use_ci, up_ci, x)
    lo, hi, lo_open, hi_open = region(comp, t, tau)
    with np.errstate(invalid="ignore"):
        inside = np.where(lo_open, L > lo, L >= lo) & np.where(hi_open, U < hi, U <= hi)
        outside = np.where(lo_open, U <= lo, U < lo) | np.where(hi_open, L >= hi, L > hi)
    st = np.where(inside, "met", np.where(outside, "not_met", "cannot_judge")).astype(object)
    note = np.where(has_ci, np.where(at_bound, "target_at_bound", "interval_clear"),
                    "point_only").astype(object)
    # '==' is judged on the point; an interval can only make it undecidable
    eq = comp == "=="
    if eq.any():
        with np.errstate(invalid="ignore"):
            hit = np.abs(x - t) <= _equality_atol()
            contains = has_ci & (lo_ci <= t) & (t <= up_ci)
        st = np.where(eq, np.where(hit, "met", np.where(contains, "cannot_judge", "not_met")), st)
        note = np.where(eq & hit, "judged_on_point", note)
    note = np.where((st == "cannot_judge") & (note != "judged_on_point"), "interval_straddles_target", note)
    with np.errstate(invalid="ignore"):
        gap = np.select(
            [_is(comp, ">=", ">"), _is(comp, "<=", "<"), eq, comp == "~=", comp == "~>="],
            [t - x, x - t, np.abs(x - t), np.abs(x - t) - tau, t - tau - x], np.nan)
        above_band = (comp == "~>=") & (st == "met") & (x > t + tau)
    note = np.where(above_band, "above_target_band", note)
    missing = np.isnan(x)
    st = np.where(missing, "no_data", st)
    note = np.where(missing, "no_value", note)
    gap = np.where(missing, np.nan, gap)
    return st.astype(object), gap.astype(float), note.astype(object)
