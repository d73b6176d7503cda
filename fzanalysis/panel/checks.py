r"""Checks across the rows of submissions: bounds, fractions, counts, duplicates, jumps.

:func:`validate` reads every file (:mod:`fzanalysis.panel.submission`), then checks each row
against the catalogue and its peers, the district figure against its towns
(:mod:`fzanalysis.panel.aggregate`) and every series against its own history (the jump rule,
:func:`jump_warnings`).  The rules are listed in ``docs/methods.md`` section 10.

References
----------
Iglewicz, B. and Hoaglin, D. C. (1993). *How to Detect and Handle Outliers*.
ASQC Quality Press (modified z-score, threshold 3.5).
"""
from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import islice, repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import codes, gazetteer
from fzanalysis.panel import _lookups as lk
from fzanalysis.panel.aggregate import consistency_frame
from fzanalysis.panel.problems import Msg, Problem
from fzanalysis.panel.read import years_named
from fzanalysis.panel.schema import as_panel, count_faults, count_units, fraction_levels, value_disagrees
from fzanalysis.panel.submission import (
    REC_COLUMNS,
    Submission,
    problem_fields,
    problems_at,
    read_records,
    typed_records,
)

__all__ = ["check_files", "gc_paused", "jump_warnings", "validate"]

KEY = list(codes.PANEL_KEYS)


def _jump_settings() -> dict[str, float]:
    return lk.limits()["jump"]


def _fmt(x: float) -> str:
    return f"{x:.6g}"


#: What a row states for its key: two rows give the same figure when all three agree (missing
#: equal to missing), as ingest judges a revision.
FIGURE = ["value", "numerator", "denominator"]


def _same_figure(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    return all(x == y or (np.isnan(x) and np.isnan(y)) for x, y in zip(a, b))


def _figure(v: float, n: float, d: float) -> str:
    """A row's figure as a clerk reads it: ``98.5``, with its counts ``98.5 (197/200)``."""
    if np.isnan(n) and np.isnan(d):
        return _fmt(v)
    return f"{'–' if np.isnan(v) else _fmt(v)} ({'–' if np.isnan(n) else _fmt(n)}/{'–' if np.isnan(d) else _fmt(d)})"


def _fraction_rows(subs: list[Submission], cat: pd.DataFrame,
                   history: pd.DataFrame | None) -> dict[tuple[str, str, int], tuple[float, str]]:
    """Percent values typed as fractions, judged against their peers (the batch) and their own
    history by the one rule, :func:`fzanalysis.panel.schema.fraction_levels` (the "every value"
    branch per file).  Returns ``{(file, sheet, row): (level, basis)}``, the basis the level
    comes from (``peers``, ``history`` or ``target``; ``unknown``, level NaN, for a value that
    may be a fraction with nothing to judge it by).
    """
    frames = [s.records for s in subs if len(s.records)]
    if not frames:
        return {}
    rec = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)  # one file: no copy
    pct = rec["unit"].eq("percent").fillna(False) & rec["value"].notna()
    rec = rec[pct]
    if rec.empty:
        return {}
    own = _series_levels(rec, history)
    refs = cat["target"].fillna(cat["baseline_value"]) if "baseline_value" in cat else cat["target"]
    icodes, iuniq = pd.factorize(rec["indicator"])
    ref = pd.Series(pd.to_numeric(refs.reindex(iuniq), errors="coerce").to_numpy(float)[icodes], index=rec.index)
    level, basis = fraction_levels(rec, ref, group=rec["file"], own=own, basis=True)
    # a value typed with a % or ‰ sign is in the unit already (5‰ is 0.5 %): never a fraction
    signed = {(s.file, sh, r) for s in subs for sh, r in s.signed}
    hit = level.notna() | (basis == "unknown")
    if signed:
        hit &= ~np.array([k in signed for k in zip(rec["file"], rec["sheet"], rec["row"].astype(int))], dtype=bool)
    return {(f, s, int(r)): (float(lv), str(b)) for f, s, r, lv, b in
            zip(rec.loc[hit, "file"], rec.loc[hit, "sheet"], rec.loc[hit, "row"], level[hit], basis[hit])}


def _series_levels(rec: pd.DataFrame, history: pd.DataFrame | None) -> pd.Series | None:
    """Per percent record, the level of its own series (same indicator, area and sex): the median
    of its figures in ``history`` (every year) and of its figures of the *other* years in the
    batch above ``fraction_max`` (a file giving 2020–2024 at once: 0.985 for 2021 beside 98.5
    and 100 is judged against them); NaN for a series with neither.  The ``own`` level of
    :func:`fzanalysis.panel.schema.fraction_levels`; ``None`` when no record has one.
    """
    keys = ["indicator", "area", "sex"]
    fmax = float(lk.limits()["fraction"]["fraction_max"])
    big = rec[rec["value"].to_numpy(float) > fmax]
    # one figure per series and year of the batch (duplicate rows are the duplicate check's)
    parts = [big.groupby([*keys, "year"], as_index=False, observed=True)["value"].median().assign(_batch=True)]
    if history is not None and len(history):
        parts.append(history[[*keys, "year", "value"]].assign(_batch=False))
    pool = pd.concat(parts, ignore_index=True)
    if pool.empty:
        return None
    pool = pool.astype({k: str for k in keys}).astype({"year": "int64", "value": float})
    mine = rec[[*keys, "year"]].astype({k: str for k in keys}).reset_index()
    mine["year"] = rec["year"].fillna(-1).to_numpy("int64")  # a row whose year is in error: none
    cand = mine.merge(pool, on=keys, suffixes=("", "_other"))
    cand = cand[~cand["_batch"].to_numpy(bool) | (cand["year_other"] != cand["year"]).to_numpy()]
    if cand.empty:
        return None
    return cand.groupby("index")["value"].median().reindex(rec.index).astype(float)


def _problems_at(sub: Submission, rec: pd.DataFrame, mask: Any, column: str, code: str,
                 severity: str = "error", /, **values: Any) -> list[Problem]:
    """One problem per row of ``rec`` where ``mask`` holds: message ``code`` with ``values``.

    Each value is one for all rows (a scalar) or one per row of ``rec`` (an array); float
    arrays are written as :func:`_fmt` writes a number.  Only the rows ``mask`` selects are
    taken, formatted and made into problems, column by column.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    idx = np.flatnonzero(mask)
    names = list(values)
    # rows with the same values share one message (formatted once): the distinct rows first
    taken = {k: v[idx] for k, v in values.items() if isinstance(v, np.ndarray)}
    which = np.zeros(len(idx), dtype=np.int64)
    for x in taken.values():
        xcode, xuniq = pd.factorize(x)
        which = pd.factorize(which * (len(xuniq) + 1) + xcode + 1)[0]
    first = np.full(int(which.max()) + 1, -1, dtype=np.int64)
    first[which[::-1]] = np.arange(len(idx) - 1, -1, -1)
    cols = []
    for k, v in values.items():
        if k in taken:
            once = taken[k][first].tolist()
            cols.append([_fmt(x) for x in once] if v.dtype.kind == "f" else once)
        else:
            cols.append(repeat(v))
    distinct = [tuple(zip(names, vals)) for vals in islice(zip(*cols), len(first))] if names \
        else [()]
    said = list(map(distinct.__getitem__, which.tolist()))
    # the places (file, sheet) of the rows: one group of problems each
    fcode, files = pd.factorize(rec["file"].iloc[idx])
    scode, sheets = pd.factorize(rec["sheet"].iloc[idx])
    place = fcode * len(sheets) + scode
    rows = rec["row"].to_numpy(np.int64)[idx]
    out: list[Problem] = []
    for k in pd.unique(place).tolist():
        at = np.flatnonzero(place == k).tolist() if len(files) * len(sheets) > 1 else range(len(idx))
        file, sheet = str(files[k // len(sheets)]), str(sheets[k % len(sheets)])
        heading, letter = sub.heading_letter(sheet, column)
        rs = rows[at].tolist()
        cells = [f"{letter}{r}" for r in rs] if letter else repeat("")
        out += problems_at(file, sheet or None, rs, heading, severity, repeat(code), [said[j] for j in at], cells)
    return out


def _row_checks(sub: Submission, cat: pd.DataFrame,
                fractions: dict[tuple[str, str, int], tuple[float, str]] | None = None, *,
                latest_year: int | None = None) -> list[Problem]:
    """Bounds, plausibility, negatives, fractions for percent, numerator/denominator, duplicate keys,
    and years after ``latest_year`` (the current year: nobody has that year's figures yet).

    Column-wise: every rule is a boolean mask over the records; a problem is built only for the
    rows a mask selects.
    """
    out: list[Problem] = []
    rec = sub.records
    if rec.empty:
        return out
    if latest_year is not None:
        years = rec["year"].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            future = years > latest_year
        out += _problems_at(sub, rec, future, "year", "year_future", found=years, latest=latest_year)
    known = rec["indicator"].isin(cat.index).to_numpy()
    rec = rec[known].reset_index(drop=True)
    if rec.empty:
        return _duplicates(sub, sub.records)
    fractions = fractions if fractions is not None else _fraction_rows([sub], cat, None)
    ind = rec["indicator"]
    crow = cat.loc[pd.unique(ind)]
    # every rule is looked up once per distinct indicator and unit, then spread over the rows
    icodes, iuniq = pd.factorize(ind)
    rows_of = crow.to_dict("index")
    per = [(lk.cat_get(rows_of[i], "unit"), *lk.bounds(rows_of[i])) for i in iuniq]
    unit = np.array([p[0] for p in per], dtype=object)[icodes]
    lo = np.array([p[1] for p in per], dtype=float)[icodes]
    hi = np.array([p[2] for p in per], dtype=float)[icodes]
    ucodes, uuniq = pd.factorize(unit)
    uinfo = [lk.unit_info(u) for u in uuniq]
    scale = np.array([np.nan if u[0] is None else u[0] for u in uinfo], dtype=float)[ucodes]
    plausible = np.array([u[3] for u in uinfo], dtype=float)[ucodes]
    v = rec["value"].to_numpy(float)
    n = rec["numerator"].to_numpy(float)
    d = rec["denominator"].to_numpy(float)
    has_v, has_n, has_d = ~np.isnan(v), ~np.isnan(n), ~np.isnan(d)
    # the numerator counts a subset of the denominator for proportions and rates per 1000/100 000
    # (not for ratios, nor for gross rates whose upper bound exceeds the scale, e.g. 毛入园率)
    # (a denominator of 0 is said to be 0, zero_denominator, not "numerator 5 above denominator 0")
    subset_broken = has_n & has_d & (scale >= 100) & ((hi <= scale) | np.isinf(hi)) & (n > d) & (d != 0)
    if fractions:
        keys = list(zip(rec["file"], rec["sheet"], rec["row"].astype(int)))
        said = [fractions.get(k, (np.nan, "")) for k in keys]
        frac = np.array([x[0] for x in said], dtype=float)
        basis = np.array([x[1] for x in said], dtype=object)
    else:
        frac = np.full(len(rec), np.nan)
        basis = np.full(len(rec), "", dtype=object)
    is_frac = ~np.isnan(frac)
    check = has_v & ~subset_broken
    m_frac = check & is_frac
    m_neg = check & ~is_frac & (v < 0) & (lo >= 0)
    m_range = check & ~is_frac & ~m_neg & ((v < lo) | (v > hi))
    m_plaus = check & ~is_frac & ~m_neg & ~m_range & (v > plausible)
    with np.errstate(over="ignore"):  # a huge value (1e308) is not a fraction: its product is not used
        percent = v * 100
    out += _problems_at(sub, rec, m_frac, "value", "fraction", found=v, level=frac, percent=percent,
                        peers=np.where(basis == "peers", "1", ""), history=np.where(basis == "history", "1", ""),
                        target=np.where(basis == "target", "1", ""))
    # every figure of a percent indicator below 1 with nothing to compare (no peer, history, target
    # or baseline): perhaps fractions; a warning asks (the unit answers, not the computer)
    out += _problems_at(sub, rec, check & (basis == "unknown"), "value", "fraction_possible", "warning",
                        found=v, percent=percent, indicator=ind.to_numpy(object))
    out += _problems_at(sub, rec, m_neg, "value", "negative_value", found=v, lo=lo, unit=unit)
    out += _problems_at(sub, rec, m_range, "value", "out_of_range", found=v, lo=lo, hi=hi, unit=unit)
    out += _problems_at(sub, rec, m_plaus, "value", "implausible", found=v, unit=unit, limit=plausible)
    # the panel's own rules on the counts (schema.count_faults): errors here, never a refusal at ingest
    faults = count_faults(n, d, v, np.isin(unit, list(count_units())))
    for col, x in (("numerator", n), ("denominator", d)):
        m_whole = faults[f"fractional_{col}"]
        out += _problems_at(sub, rec, m_whole, col, "count_not_whole", found=x, thousands=_thousands(x))
    frac_count = faults["fractional_numerator"] | faults["fractional_denominator"]
    out += _problems_at(sub, rec, faults["fractional_value"] & check & ~is_frac & ~m_neg & ~m_range, "value", "value_not_whole",
                        found=v, unit=unit, thousands=_thousands(v))
    only_n = faults["numerator_only"] & ~_refused(sub, rec, faults["numerator_only"], "denominator")
    only_d = faults["denominator_only"] & ~_refused(sub, rec, faults["denominator_only"], "numerator")
    out += _problems_at(sub, rec, only_n, "denominator", "numerator_only", found=n)
    out += _problems_at(sub, rec, only_d, "numerator", "denominator_only", found=d)
    both = has_n & has_d
    out += _problems_at(sub, rec, both & subset_broken, "numerator", "numerator_gt_denominator", found=n,
                        denominator=d)
    zero = both & ~subset_broken & faults["zero_denominator"]
    out += _problems_at(sub, rec, zero, "denominator", "zero_denominator", found=n)
    cmp = both & ~subset_broken & ~zero & ~frac_count & ~np.isnan(scale) & (d > 0) & has_v & ~is_frac
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = scale * n / d
        ratio = n / d
    off = cmp & value_disagrees(v, n, d, scale)  # the panel's one rule (as_panel, rates)
    with np.errstate(divide="ignore", invalid="ignore"):
        as_fraction = off & (unit == "percent") & (np.abs(v - ratio) <= np.maximum(0.00051, 0.005 * ratio))
    out += _problems_at(sub, rec, as_fraction, "value", "numden_fraction", found=v, implied=implied)
    other = off & ~as_fraction
    out += _problems_at(sub, rec, other, "value", "numden_mismatch", found=v, scale=scale, numerator=n,
                        denominator=d, implied=implied)
    # a town the target does not apply to (catalogue area_kinds: the 镇 for a 街道-only target)
    kinds = [lk.area_kinds(rows_of[i]) for i in iuniq]
    if any(kinds):
        kind_of = gazetteer.kind_of()
        wants = np.array([";".join(sorted(k)) for k in kinds], dtype=object)[icodes]
        area = rec["area"].to_numpy(object)
        not_for = np.array([not gazetteer.applies_to(a, kinds[c], kind_map=kind_of)
                            for c, a in zip(icodes.tolist(), area.tolist())], dtype=bool)
        out += _problems_at(sub, rec, not_for, "area", "area_not_applicable", "warning", area=area,
                            found_kind=np.array([kind_of.get(a, "") for a in area.tolist()], dtype=object),
                            kinds=wants)
    return out + _duplicates(sub, sub.records)


def _thousands(x: np.ndarray) -> np.ndarray:
    """Per number, what it reads as when its dot was a thousands separator (``1.234`` -> ``"1234"``:
    exactly three decimals), else ``""``."""
    with np.errstate(invalid="ignore", over="ignore"):
        k = np.round(x * 1000)
        three = np.isfinite(x) & (np.abs(x * 1000 - k) < 1e-6) & (k % 10 != 0) & (np.abs(x) < 1e12)
    out = np.full(len(x), "", dtype=object)
    out[three] = [f"{int(t)}" for t in k[three]]
    return out


def _refused(sub: Submission, rec: pd.DataFrame, mask: np.ndarray, column: str) -> np.ndarray:
    """Rows of ``rec`` (among ``mask``) whose ``column`` cell already has an error (a count that is
    not a number, negative, a rate ...): that cell was filled, so it is not reported as missing."""
    out = np.zeros(len(rec), dtype=bool)
    at = np.flatnonzero(mask)
    if not len(at):
        return out
    f = sub.fields()
    errors = set(zip(f["sheet"].tolist(), f["row"].tolist(), f["column"].tolist(),
                     (f["severity"] == "error").tolist()))
    sheets, rows = rec["sheet"].to_numpy(object), rec["row"].to_numpy(np.int64)
    for i in at.tolist():
        sheet = sheets[i] or ""
        out[i] = (sheet, int(rows[i]), sub.heading_letter(sheet, column)[0], True) in errors
    return out


def _duplicates(sub: Submission, rec: pd.DataFrame) -> list[Problem]:
    """Keys given twice within one file: a warning for the same value, an error on both rows otherwise.

    A row none of whose figures could be read (an Excel error value such as ``#DIV/0!``, text in a
    number cell) has its own error at that cell and takes no part: it states no figure to compare.
    """
    ok = rec.dropna(subset=["year"]).dropna(subset=FIGURE, how="all")
    ok = ok[ok.duplicated(KEY, keep=False)]
    if ok.empty:
        return []
    g = ok.groupby(KEY, sort=False, dropna=False)
    group = g.ngroup().to_numpy()
    at_first = ~ok.duplicated(KEY, keep="first").to_numpy()
    # the first row of each group: its position in ``ok``, by group number
    first_pos = np.empty(group.max() + 1, dtype=np.int64)
    first_pos[group[at_first]] = np.flatnonzero(at_first)
    files, sheets = ok["file"].to_numpy(object), ok["sheet"].to_numpy(object)
    rows = ok["row"].to_numpy(np.int64)
    figures = list(zip(*(ok[c].to_numpy(float) for c in FIGURE)))
    keys = [ok[c].to_numpy(object) for c in KEY]
    out: list[Problem] = []
    for i in np.flatnonzero(~at_first).tolist():
        j = int(first_pos[group[i]])  # the group's first row
        same = _same_figure(figures[i], figures[j])
        other_sheet = sheets[j] if sheets[j] != sheets[i] else ""
        key = tuple(zip(KEY, (keys[0][i], int(keys[1][i]), keys[2][i], keys[3][i])))  # worded by Wording
        here = {"file": files[i], "sheet": sheets[i], "row": int(rows[i])}
        if same:
            out += _one(sub, here, "value", ("duplicate_same", (*key, ("other_row", int(rows[j])),
                                                                ("other_sheet", other_sheet))), "warning")
        else:
            out += _one(sub, here, "value", ("duplicate_different", (
                *key, ("found", _figure(*figures[i])), ("other", _figure(*figures[j])), ("other_row", int(rows[j])),
                ("other_sheet", other_sheet))))
            out += _one(sub, {"file": files[j], "sheet": sheets[j], "row": int(rows[j])}, "value", (
                "duplicate_different", (*key, ("found", _figure(*figures[j])), ("other", _figure(*figures[i])),
                                        ("other_row", int(rows[i])), ("other_sheet", sheets[i] if other_sheet else ""))))
    return out


def _one(sub: Submission, r: Any, column: str, said: Msg, severity: str = "error") -> list[Problem]:
    heading, cell = sub.where(r["sheet"], int(r["row"]), column)
    return [Problem(r["file"], r["sheet"] or None, int(r["row"]), heading, severity, *said, cell)]  # type: ignore[arg-type]


def _sampling_var(value: np.ndarray, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    r"""Sampling variance of rates built from counts, in the value's unit (0 where no counts).

    With :math:`r = n/d` and the unit factor :math:`c = v/r`:
    :math:`\operatorname{Var}(v) \approx c^2\, r(1-r)/d` for proportions (binomial) and
    :math:`c^2\, r/d` for rates that can exceed 1 (Poisson); a zero count is taken as 0.5
    events so that a year with no event still carries its uncertainty.
    """
    out = np.zeros(len(value))
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    if not ok.any():
        return out
    n = np.where(num[ok] > 0, num[ok], 0.5)
    r = n / den[ok]
    c = np.where(num[ok] > 0, value[ok] / r, np.nan)
    if np.isnan(c).any():  # zero counts: take the unit factor from a non-zero row of the series
        known = c[np.isfinite(c)]
        c = np.where(np.isfinite(c), c, known[0] if len(known) else 0.0)
    out[ok] = c ** 2 * np.where(r < 1, r * (1 - r), r) / den[ok]
    return out


def jump_warnings(new: pd.DataFrame, history: pd.DataFrame | None = None, *,
                  threshold: float | None = None, min_changes: int | None = None,
                  floor: float | None = None) -> pd.DataFrame:
    r"""Flag values that jump far outside their series' own year-on-year history.

    For a value :math:`x_t` of a series (indicator, area, sex) with earlier
    observations :math:`x_{t_1}, \dots, x_{t_n}` (from ``history`` and
    ``new``), the annualised past changes are
    :math:`d_i = (x_{t_{i+1}} - x_{t_i}) / (t_{i+1} - t_i)` and the new change
    is :math:`\Delta = (x_t - x_{t_n}) / (t - t_n)`.  With
    :math:`m = \operatorname{median}(d)` and
    :math:`\mathrm{MAD} = \operatorname{median}|d - m|`, the value is flagged when

    .. math:: |\Delta - m| > k \cdot \max\Big(\sqrt{(1.4826\,\mathrm{MAD})^2 + \sigma^2_{s}},\;
              f \cdot \operatorname{median}|x|\Big)

    with :math:`k` = ``threshold`` (3.5, the modified z-score cut-off of
    Iglewicz and Hoaglin 1993), :math:`\sigma^2_s` the sampling variance of
    the change when both values come with numerator and denominator
    (binomial or Poisson, :func:`_sampling_var`; small towns' rates move by
    chance), :math:`f` = ``floor`` (2 % of the series' level, so a perfectly
    flat history does not flag every wobble; at least 0.5 for integer
    series, whose smallest move is 1), and at least ``min_changes``
    past changes (4; a MAD of fewer changes is too unstable to judge).

    Returns
    -------
    DataFrame
        The flagged rows of ``new`` with added columns ``previous_year``,
        ``previous_value``, ``change``, ``median_change``, ``scale``.
    """
    cfg = _jump_settings()
    threshold = float(cfg["threshold"] if threshold is None else threshold)
    min_changes = int(cfg["min_changes"] if min_changes is None else min_changes)
    floor = float(cfg["floor"] if floor is None else floor)
    cols = KEY + ["value"]
    extra = [c for c in ("numerator", "denominator")]
    frames = []
    for df, is_new in ((history, False), (new, True)):
        if df is None or not len(df):
            continue
        f = df[[c for c in cols + extra if c in df.columns]].copy()
        for c in extra:
            if c not in f:
                f[c] = np.nan
        frames.append(f.assign(_new=is_new))
    if not frames:
        return pd.DataFrame(columns=cols + ["previous_year", "previous_value", "change", "median_change", "scale"])
    both = pd.concat(frames, ignore_index=True).dropna(subset=["value", "year"])
    both["year"] = both["year"].astype("int64")
    # the newest figure per key wins (new over history)
    both = both.drop_duplicates(KEY, keep="last")
    out_cols = cols + ["previous_year", "previous_value", "change", "median_change", "scale"]
    series = ["indicator", "area", "sex"]
    both["_s"] = both.groupby(series, sort=False).ngroup()
    size = both.groupby("_s")["_s"].transform("size")
    has_new = both.groupby("_s")["_new"].transform("any")
    both = both[(size >= min_changes + 2) & has_new].sort_values(["_s", "year"], kind="stable")
    if both.empty:
        return pd.DataFrame(columns=out_cols)
    # one row per series, one column per position in it (padded with NaN): every rule below is
    # computed for all series at once, position by position
    sid = both["_s"].to_numpy()
    _, first = np.unique(sid, return_index=True)
    pos = np.arange(len(both)) - np.repeat(first, np.diff(np.append(first, len(both))))
    row_of = np.searchsorted(np.unique(sid), sid)
    n_s, n_l = len(first), int(pos.max()) + 1

    def grid(values: np.ndarray, fill: Any = np.nan) -> np.ndarray:
        g = np.full((n_s, n_l), fill, dtype=np.asarray(values).dtype if fill is not np.nan else float)
        g[row_of, pos] = values
        return g

    vals = both["value"].to_numpy(float)
    Y = grid(both["year"].to_numpy(float))
    V = grid(vals)
    NEW = grid(both["_new"].to_numpy(bool), False)
    SV = grid(_sampling_var_series(vals, both["numerator"].to_numpy(float), both["denominator"].to_numpy(float),
                                   row_of))
    index = grid(np.arange(len(both), dtype=float))
    D = np.diff(V, axis=1) / np.diff(Y, axis=1)
    integer = np.cumprod(np.where(np.isnan(V), 1, V == np.round(V)), axis=1).astype(bool)
    flagged: list[dict[str, Any]] = []
    key_cols = {c: both[c].to_numpy(object) for c in cols}  # read once, not a row Series per flag
    for j in range(min_changes + 1, n_l):
        act = np.flatnonzero(NEW[:, j] & ~np.isnan(V[:, j]))
        if not len(act):
            continue
        win = D[act, : j - 1]
        m = np.median(win, axis=1)
        mad = np.median(np.abs(win - m[:, None]), axis=1)
        gaps = Y[act, j] - Y[act, j - 1]
        spread = np.sqrt((1.4826 * mad) ** 2 + (SV[act, j] + SV[act, j - 1]) / gaps ** 2)
        # integer series (counts) cannot move by less than 1: the scale is at least 0.5
        resolution = np.where(integer[act, j], 0.5, 1e-12)
        scale = np.maximum(np.maximum(spread, floor * np.median(np.abs(V[act, :j]), axis=1)), resolution)
        delta = D[act, j - 1]
        hit = np.abs(delta - m) > threshold * scale
        for k in np.flatnonzero(hit):
            i = act[k]
            at = int(index[i, j])
            flagged.append({**{c: key_cols[c][at] for c in cols}, "previous_year": int(Y[i, j - 1]),
                            "previous_value": V[i, j - 1], "change": float(delta[k]),
                            "median_change": float(m[k]), "scale": float(scale[k])})
    return pd.DataFrame(flagged, columns=out_cols)


def _sampling_var_series(value: np.ndarray, num: np.ndarray, den: np.ndarray, series: np.ndarray) -> np.ndarray:
    """:func:`_sampling_var` of many series at once (``series``: the series of each row)."""
    out = np.zeros(len(value))
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    if not ok.any():
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(num > 0, num, 0.5)
        r = n / den
        c = np.where(ok & (num > 0), value / r, np.nan)
    # zero counts: the unit factor of the first non-zero row of the series
    first = pd.Series(c).groupby(series).transform("first").to_numpy(float)
    c = np.where(np.isfinite(c), c, np.where(np.isfinite(first), first, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = c ** 2 * np.where(r < 1, r * (1 - r), r) / den
    out[ok] = var[ok]
    return out


def _jump_problems(subs: list[Submission], clean: list[pd.DataFrame], history: pd.DataFrame | None
                   ) -> list[Problem]:
    frames = [f for s, f in zip(subs, clean) if not s.records.empty]
    frames = [f for f in frames if len(f)]
    if not frames:
        return []
    new = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    flags = jump_warnings(new, history)
    out = []
    if flags.empty:
        return out
    # the row each flag is about: the last row of the batch with its key (one merge, not a scan per flag)
    last = new.assign(year=new["year"].astype("int64")).drop_duplicates(KEY, keep="last")
    hits = flags.assign(year=flags["year"].astype("int64")).merge(
        last[KEY + ["file", "sheet", "row"]], on=KEY, how="left")
    by_file = {s.file: s for s in subs}
    threshold = _jump_settings()["threshold"]
    for f in hits.to_dict("records"):
        r = f
        sub = by_file[r["file"]]
        heading, cell = sub.where(r["sheet"], int(r["row"]), "value")
        out.append(Problem(r["file"], r["sheet"] or None, int(r["row"]), heading, "warning", "jump", (
            ("found", _fmt(f["value"])), ("year", f["year"]), ("change", f"{f['change']:+.4g}"),
            ("previous", _fmt(f["previous_value"])), ("previous_year", f["previous_year"]),
            ("median", f"{f['median_change']:+.4g}"), ("scale", f"{f['scale']:.4g}"),
            ("threshold", threshold)), cell))
    return out


def _revision_problems(subs: list[Submission], clean: list[pd.DataFrame], history: pd.DataFrame | None
                       ) -> list[Problem]:
    """A figure that would replace a different one already in the panel: a warning naming both.

    A revision is how a correction goes in, so it is allowed; but a unit that filled last year's
    template again with this year's figures revises last year in silence (ingest said only
    "修订 2"), so each is said where it is typed."""
    if history is None or not len(history):
        return []
    old = history[KEY + FIGURE].assign(year=history["year"].astype("int64"))
    out: list[Problem] = []
    for sub, rec in zip(subs, clean):
        if not len(rec):
            continue
        hit = rec.assign(year=rec["year"].astype("int64")).merge(old, on=KEY, how="inner", suffixes=("", "_old"))
        # a revision as ingest judges one (FIGURE: value, numerator and denominator, missing equal to missing)
        same = np.ones(len(hit), dtype=bool)
        for c in FIGURE:
            a, b = hit[c].to_numpy(float), hit[f"{c}_old"].to_numpy(float)
            same &= (a == b) | (np.isnan(a) & np.isnan(b))
        for r in hit[~same].to_dict("records"):
            heading, cell = sub.where(r["sheet"], int(r["row"]), "value")
            out.append(Problem(sub.file, r["sheet"] or None, int(r["row"]), heading, "warning", "revises", (
                ("found", _fmt(r["value"])), ("old", _fmt(r["value_old"])), ("year", int(r["year"]))), cell))
    return out


def _file_year_problems(subs: list[Submission]) -> list[Problem]:
    """A file whose name says one year (妇联_2025.xlsx) while its figures are all of another (the
    2024 template filled again): a warning on the file."""
    out: list[Problem] = []
    for sub in subs:
        said = set(years_named(Path(sub.file).name))
        years = {int(y) for y in sub.records["year"].dropna().unique()} if len(sub.records) else set()
        if len(said) == 1 and years and not (said & years):
            out.append(Problem(sub.file, None, None, None, "warning", "file_year", (
                ("found", next(iter(said))), ("years", "、".join(map(str, sorted(years)))))))
    return out


def _without_error_rows(sub: Submission) -> pd.DataFrame:
    """The submission's records that have a year, a value and no error (the checks across rows and
    files add warnings only, so they are computed once, after the row checks)."""
    rec = sub.records
    if not len(rec):
        return rec
    return rec[rec["year"].notna().to_numpy() & rec["value"].notna().to_numpy() & ~sub.error_mask()]


def _consistency_problems(sub: Submission, rec: pd.DataFrame, cat: pd.DataFrame) -> list[Problem]:
    district = codes.district()
    if rec.empty or not (rec["area"] == district).any() or not (rec["area"] != district).any():
        return []
    panel = rec[rec["indicator"].isin(cat.index)].drop_duplicates(KEY, keep="last")
    if panel.empty:
        return []
    # clean records are panel rows already (no error): typed, not re-checked row by row
    panel = panel[list(codes.PANEL_COLUMNS)].assign(year=panel["year"].astype("int64"))
    check = consistency_frame(panel, cat)
    out = []
    bad = check[~check["consistent"]]
    if bad.empty:
        return out
    rows = (rec[rec["area"] == district].assign(year=lambda x: x["year"].astype("int64"))
            .drop_duplicates(["indicator", "year", "sex"], keep="last")[["indicator", "year", "sex", "file", "sheet", "row"]])
    bad = bad.assign(year=bad["year"].astype("int64")).merge(rows, on=["indicator", "year", "sex"], how="left")
    return _problems_at(sub, bad, np.ones(len(bad), dtype=bool), "value", "district_inconsistent", "warning",
                        found=bad["submitted"].to_numpy(float), n_towns=bad["n_towns"].to_numpy(object),
                        method=bad["method"].to_numpy(object), from_towns=bad["from_towns"].to_numpy(float),
                        tolerance=bad["tolerance"].to_numpy(float))


def check_files(paths: Sequence[str | Path], cat: pd.DataFrame, history: pd.DataFrame | None, *,
                skip: Callable[[str | Path], bool] | None = None,
                latest_year: int | None = None) -> list[Submission | None]:
    """Read and check a batch of files; ``None`` for a file ``skip`` says to pass over.

    ``cat`` is the normalised catalogue indexed by id (:func:`_lookups.catalog_index`).
    ``latest_year`` is the last year a figure can be for (default: the current year; a row of a
    later year is an error, ``year_future``).
    The cyclic garbage collector is paused meanwhile: a file with many problems creates
    hundreds of thousands of small objects, none of them in a cycle, and the collector's
    repeated passes over them would cost more than the checks.
    """
    latest = date.today().year if latest_year is None else int(latest_year)
    with gc_paused():
        return _check_files(paths, cat, history, skip=skip, latest_year=latest)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (many small acyclic objects: problems, rejected rows).

    On the way out the objects made meanwhile are moved to the oldest generation
    (:func:`gc.freeze` then :func:`gc.unfreeze`, two list moves): otherwise the first
    allocation after :func:`gc.enable` starts a young-generation pass over all of them (0.2 s
    for a file of 200,000 rows), the cost the pause avoided.  They are still collected by the
    next full collection.  Skipped when the program froze objects itself.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _check_files(paths: Sequence[str | Path], cat: pd.DataFrame, history: pd.DataFrame | None, *,
                 skip: Callable[[str | Path], bool] | None = None,
                 latest_year: int | None = None) -> list[Submission | None]:
    subs: list[Submission | None] = []
    for path in paths:
        if skip is not None and skip(path):
            subs.append(None)
            continue
        try:
            sub = read_records(path, cat, display=str(path))
        except Exception as exc:  # a bug must not turn into a traceback for the user
            sub = Submission(str(path), typed_records(pd.DataFrame(columns=REC_COLUMNS)),
                             [_internal(str(path), exc)])
        if not sub.has_error and sub.rows_read and sub.rows_blank == sub.rows_read:
            sub.problems.append(Problem(sub.file, None, None, None, "warning", "all_blank",
                                        (("found", sub.rows_read),)))
        elif not sub.has_error and sub.rows_read == 0:
            sub.problems.append(Problem(sub.file, None, None, None, "error", "no_data_rows"))
        subs.append(sub)
    real = [s for s in subs if s is not None]
    fractions = _fraction_rows(real, cat, history)
    clean = []  # each file's rows without an error: what follows adds warnings only
    for sub in real:
        try:
            sub.problems += _row_checks(sub, cat, fractions, latest_year=latest_year)
            ok = _without_error_rows(sub)
            sub.problems += _consistency_problems(sub, ok, cat)
        except Exception as exc:  # a bug must not turn into a traceback for the user
            sub.problems.append(_internal(sub.file, exc))
            ok = sub.records.iloc[:0]
        clean.append(ok)
    # jumps add warnings; a batch conflict is an error of both rows (the rows stay in ``clean``
    # for the jump rule: a conflicting figure is not a jump of the other file's series)
    extra = _jump_problems(real, clean, history) + _batch_conflicts(real, clean) + \
        _revision_problems(real, clean, history) + _file_year_problems(real)
    for sub in real:
        sub.problems += [j for j in extra if j.file == sub.file]
        sub.adopt(*_in_file_order(sub.problems, sub.fields()))
    return subs


def _in_file_order(problems: list[Problem], fields: dict[str, np.ndarray] | None = None
                   ) -> tuple[list[Problem], dict[str, np.ndarray]]:
    """Problems by place in the file (sheet, row, column), then severity and message code (a
    stable sort: ``None`` sheet and column sort as ``""``, a ``None`` row first), with their
    :func:`~fzanalysis.panel.submission.problem_fields` (``fields`` when known) in the same order."""
    fields = problem_fields(problems) if fields is None else fields
    if len(problems) < 2:
        return problems, fields

    def rank(x: np.ndarray) -> np.ndarray:  # each text's rank among the few distinct ones
        codes_, uniq = pd.factorize(x)
        return pd.factorize(uniq, sort=True)[0][codes_]

    order = np.lexsort((rank(fields["code"]), rank(fields["severity"]), rank(fields["column"]), fields["row"],
                        rank(fields["sheet"])))
    return list(map(problems.__getitem__, order.tolist())), {k: v[order] for k, v in fields.items()}


def _internal(file: str, exc: Exception) -> Problem:
    return Problem(file, None, None, None, "error", "internal_error", (("found", f"{type(exc).__name__}: {exc}"),))


def _batch_conflicts(subs: list[Submission], clean: list[pd.DataFrame]) -> list[Problem]:
    """Keys given different figures by two files of one batch: an error on both rows.

    Which of two files of one batch is the correction cannot be told from the batch: the order of
    the files is the shell's (``data/raw/*`` puts ``妇联_2025(更正).xlsx`` before
    ``妇联_2025.xlsx``), not the order they were sent in.  So neither figure goes in; the message
    names both files, sheets, rows and figures and says how to resolve it (submit only the
    corrected file, or ingest the original first and the correction in a later run, which is
    then logged as a revision).  Files giving the same figure pass.
    """
    frames = [f.assign(_file=i) for i, f in enumerate(clean)]
    frames = [f for f in frames if len(f)]
    if len(frames) < 2:
        return []
    both = pd.concat(frames, ignore_index=True)
    both = both.drop_duplicates(KEY + ["_file"], keep="last")
    n_files = both.groupby(KEY, sort=False)["_file"].transform("nunique")
    both["_figure"] = both.groupby(FIGURE, sort=False, dropna=False).ngroup()
    n_values = both.groupby(KEY, sort=False)["_figure"].transform("nunique")
    hit = both[(n_files > 1) & (n_values > 1)]
    out = []

    def place(r: dict[str, Any]) -> str:
        return f"{r['file']}:{r['sheet'] or '-'}:{r['row']}"

    for _, grp in hit.groupby(KEY, sort=False):
        rows = grp.to_dict("records")
        for r in rows:
            # the other rows as file:sheet:row = value (the form of every printed problem)
            others = "; ".join(f"{place(o)} = {_figure(*(o[c] for c in FIGURE))}"
                               for o in rows if o["_file"] != r["_file"])
            sub = subs[int(r["_file"])]
            heading, cell = sub.where(r["sheet"], int(r["row"]), "value")
            out.append(Problem(r["file"], r["sheet"] or None, int(r["row"]), heading, "error", "batch_conflict", (
                *((k, int(r[k]) if k == "year" else r[k]) for k in KEY),
                ("found", _figure(*(r[c] for c in FIGURE))), ("here", place(r)), ("others", others)), cell))
    return out


def validate(paths: str | Path | Sequence[str | Path], *, catalog: pd.DataFrame | None = None,
             history: pd.DataFrame | None = None, latest_year: int | None = None) -> list[Problem]:
    """Check submission files without writing anything.

    Parameters
    ----------
    paths
        CSV files and ``.xlsx`` workbooks (filled templates or sheets with the
        panel's columns).
    catalog
        Indicator catalogue (default :func:`fzanalysis.catalog.load`).
    history
        A panel of earlier figures for the jump rule (default: none; the CLI
        uses ``data/processed/panel.parquet`` when it exists).
    latest_year
        The last year a figure can be for (default: the current year); a row of a later
        year is an error (``year_future``: no unit has that year's figures yet).

    Returns
    -------
    list of Problem
        All findings of all files in one pass, errors and warnings.  The
        checks are listed in ``docs/methods.md`` 10.2; none raises on bad input.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    cat = lk.catalog_index(catalog)
    out: list[Problem] = []
    hist = as_panel(history).frame if history is not None else None
    for sub in check_files(list(paths), cat, hist, latest_year=latest_year):
        assert sub is not None
        out += sub.problems
    return out


