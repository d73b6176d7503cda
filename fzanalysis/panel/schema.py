r"""The tidy panel, validated once into one checked container.

Every entry point (``fzanalysis.assess``, ``fzanalysis.project``, ``fzanalysis.backtest``, the
command line's ``--data``, the report notebooks) passes its input through :func:`as_panel`; a
:class:`Panel` that has been checked is never checked again, and a panel is accepted or refused
identically everywhere, with the same message.

The rules (``docs/design.md``, "The panel"):

* required columns ``indicator, year, value``; ``area`` defaults to the district (the
  gazetteer's row of kind ``district``), ``sex`` to ``T``, ``numerator``/``denominator`` to
  missing, ``synthetic`` to False;
* ``year`` a whole number in 1900-2100; ``sex`` one of F, M, T; ``indicator`` and ``area``
  non-empty text;
* ``value`` a finite number. **A gap is an absent row**: a row with an empty value is refused
  (delete it, or fill it), so that a missing figure is never mistaken for a zero or silently
  dropped;
* ``numerator`` and ``denominator`` both given or both empty, whole numbers (counts) >= 0,
  denominator > 0;
* one row per ``indicator, year, area, sex``;
* with a catalogue: every indicator is in it, every value lies within its bounds and a value of a
  count unit (:func:`count_units`) is a whole number; a percent
  value that looks typed as a fraction (:func:`fraction_levels`) is warned of
  (:class:`~fzanalysis.exceptions.FzWarning`), not refused.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import codes, config
from fzanalysis.exceptions import ConfigError, FzWarning, PanelError, warn

__all__ = ["READABLE_FORMATS", "YEAR_RANGE", "Panel", "as_panel", "count_faults", "count_units", "fraction_levels",
           "read_panel", "whole_area"]

#: File formats a panel can be read from (by suffix).
READABLE_FORMATS: tuple[str, ...] = (".csv", ".parquet", ".xlsx")
#: Years a panel may hold.
YEAR_RANGE: tuple[int, int] = (1900, 2100)

_TRUE = {"true", "1", "yes", "是"}
_FALSE = {"false", "0", "no", "否", ""}


@dataclass(frozen=True)
class Panel:
    """A tidy panel that passed :func:`as_panel`.

    Attributes
    ----------
    frame : DataFrame
        Columns :data:`fzanalysis.codes.PANEL_COLUMNS` first (extra columns kept after them),
        dtypes fixed, sorted by indicator, year, area, sex.  Treat it as read-only.
    source : str
        The file it came from, or ``"<DataFrame>"``.
    checked_against : str or None
        Fingerprint of the catalogue (ids and bounds) the panel was checked against (None: not
        checked against a catalogue).
    """

    frame: pd.DataFrame
    source: str = "<DataFrame>"
    checked_against: str | None = field(default=None, compare=False)

    @property
    def synthetic(self) -> bool:
        """True when any row is synthetic demo data (every output must then say so)."""
        return bool(self.frame["synthetic"].any())

    def __len__(self) -> int:
        return len(self.frame)


def read_panel(path: str | Path) -> pd.DataFrame:
    """Read a panel file (:data:`READABLE_FORMATS`) into a raw DataFrame, without checking it.

    Raises
    ------
    PanelError
        If the file is missing, its format is not readable, or it cannot be parsed.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in READABLE_FORMATS:
        raise PanelError(str(p), [f"expected a panel file ending in one of {', '.join(READABLE_FORMATS)}, "
                                  f"got {p.suffix or 'no suffix'!r}"])
    if not p.is_file():
        raise PanelError(str(p), ["file not found"])
    try:
        if suffix == ".parquet":
            return pd.read_parquet(p)
        if suffix == ".xlsx":
            return pd.read_excel(p, sheet_name=0, dtype=object)
        return pd.read_csv(p, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError, ImportError) as exc:
        hint = " (a damaged processed panel can be rebuilt with `fzanalysis ingest --rebuild`)" \
            if suffix == ".parquet" else ""
        raise PanelError(str(p), [f"cannot be read as {suffix[1:]}: {exc}{hint}"]) from None


def _line(pos: int) -> str:
    return f"row {pos} (line {pos + 2})"


def _show(v: Any) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v)


def _blank(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return np.asarray(s.isna(), dtype=bool)  # numbers are never blank text
    return np.asarray(s.isna() | s.astype("string").str.strip().eq("").fillna(True), dtype=bool)


def _text(s: pd.Series) -> pd.Series:
    """Codes as clean strings: 440117.0 -> '440117'; blanks become <NA>."""
    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        t = str(v).strip()
        return t if t else pd.NA
    # clean each distinct value once (a panel repeats a few codes over many rows)
    codes_, uniques = pd.factorize(s, use_na_sentinel=True)
    cleaned = pd.array([one(v) for v in uniques], dtype="string")
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    has = codes_ >= 0
    out[has] = cleaned[codes_[has]]
    return out


def _numbers(df: pd.DataFrame, col: str, problems: list[tuple[int, str]]) -> np.ndarray:
    raw = df[col]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        num = pd.to_numeric(raw, errors="coerce")  # already numbers: nothing to parse
    else:
        num = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce")
    blank = _blank(raw)
    bad = num.isna().to_numpy() & ~blank
    for pos in np.flatnonzero(bad):
        problems.append((int(pos), f"{_line(pos)}, column {col}: expected a number, got {_show(raw.iloc[pos])}"))
    return num.to_numpy(dtype=float)


def count_units() -> frozenset[str]:
    """Units whose values are counts (``aggregation_method.sum.units`` in ``data/labels/data.yaml``:
    ``count``, ``count_per_year``): whole numbers, summed from towns to the district."""
    try:
        entry = config.label_table().get("aggregation_method", {}).get("sum", {})
    except ConfigError:  # a data folder without labels (FZANALYSIS_DATA): no unit is known to count
        return frozenset()
    return frozenset(entry.get("units", []))


def _not_whole(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & (x != np.round(x))


def value_tolerance(implied: Any) -> np.ndarray:
    """How far a value may lie from the figure its counts give (``data/assess.yaml: value_check``:
    ``atol + rtol × |implied|``), for :func:`value_disagrees` and the messages that quote it."""
    rule = config.read_yaml("assess.yaml")["value_check"]
    return float(rule["atol"]) + float(rule["rtol"]) * np.abs(np.asarray(implied, dtype=float))


def value_disagrees(value: Any, numerator: Any, denominator: Any, scale: Any) -> np.ndarray:
    """Rows whose value disagrees with ``scale × numerator / denominator``: the one rule.

    The tolerance is ``data/assess.yaml: value_check`` (``atol`` 0.051, as reported values are
    often rounded to one decimal, plus ``rtol`` of the implied value); :func:`as_panel` given a
    catalogue refuses such rows, :func:`fzanalysis.rates.rate_table` too, and the submission
    checks report them at their cells.  Rows without both counts, without a value or a scale, or
    with a denominator of 0 are not judged here.

    Examples
    --------
    >>> value_disagrees([96.9, 96.0, 1e6], [31, 31, 25], [32, 32, 30840], [100, 100, 1e5]).tolist()
    [False, True, True]
    """
    v, n, d, k = (np.asarray(x, dtype=float) for x in (value, numerator, denominator, scale))
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = k * n / d
        out = np.abs(v - implied) > value_tolerance(implied)
    return out & np.isfinite(v) & np.isfinite(implied) & (d > 0)


def count_faults(numerator: np.ndarray, denominator: np.ndarray, value: np.ndarray | None = None,
                 counted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The panel's rules on counts, row by row: which rows break them.

    The one owner of these rules: :func:`as_panel` refuses such rows, and the submission checks
    (:func:`fzanalysis.panel.validate`) report them at their cells, so a submission that passes
    validation is never refused by the panel.  A count is a whole number: a numerator or
    denominator of 1.234 is 1,234 written with a dot as thousands separator, or a rate typed in
    the wrong column, never a count; so is a value of a count unit (:func:`count_units`).

    Parameters
    ----------
    numerator, denominator : array of float
        The counts, NaN where not given.
    value : array of float, optional
        The values, NaN where not given.
    counted : array of bool, optional
        Which rows' values are counts (their unit is in :func:`count_units`).

    Returns
    -------
    dict of boolean arrays
        ``numerator_only`` and ``denominator_only`` (one count without the other: both or neither),
        ``negative_numerator`` and ``negative_denominator`` (below 0 or infinite),
        ``zero_denominator`` (a denominator of 0), ``fractional_numerator`` and
        ``fractional_denominator`` (not a whole number) and ``fractional_value`` (a value of a
        count unit that is not a whole number; all False without ``value`` and ``counted``).

    Examples
    --------
    >>> f = count_faults(np.array([5.0, np.nan, 0.0, 1.234]), np.array([np.nan, 10.0, 0.0, 5678.0]))
    >>> {k: v.tolist() for k, v in f.items() if v.any()}
    {'numerator_only': [True, False, False, False], 'denominator_only': [False, True, False, False], 'zero_denominator': [False, False, True, False], 'fractional_numerator': [False, False, False, True]}
    """
    n, d = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if value is not None and counted is not None:
        frac_v = _not_whole(np.asarray(value, dtype=float)) & np.asarray(counted, dtype=bool)
    else:
        frac_v = np.zeros(len(n), dtype=bool)
    with np.errstate(invalid="ignore"):
        return {"numerator_only": ~np.isnan(n) & np.isnan(d), "denominator_only": np.isnan(n) & ~np.isnan(d),
                "negative_numerator": (n < 0) | np.isinf(n), "negative_denominator": (d < 0) | np.isinf(d),
                "zero_denominator": d == 0, "fractional_numerator": _not_whole(n),
                "fractional_denominator": _not_whole(d), "fractional_value": frac_v}


def fraction_levels(rows: pd.DataFrame, reference: pd.Series, *, group: pd.Series | None = None,
                    own: pd.Series | None = None, basis: bool = False) -> Any:
    """Percent values typed as fractions (0.96 for 96 %): the one rule, row by row.

    The one owner of the rule (docs/methods.md 10.2a): the submission checks report such rows
    at their cells (errors: the unit is asked to correct them), and :func:`as_panel`, given a
    catalogue, warns of them (:class:`~fzanalysis.exceptions.FzWarning`).  A value ``v`` with
    ``0 < v <= fraction_max`` is a fraction when the median of its peers (the other rows of the
    same indicator and year whose values exceed ``fraction_max``) or of its own series' history
    (``own``) is at least ``peer_level_min`` (``data/ingest.yaml``: 1 and 5), or, with neither,
    when every value of the indicator in its ``group`` is in that range and its ``reference``
    (the catalogue's target, else its baseline) is at least ``peer_level_min``.  A value that
    agrees with ``100 × numerator / denominator`` is never a fraction.

    Parameters
    ----------
    rows : DataFrame
        The percent rows only: ``indicator, year, value, numerator, denominator``.
    reference : Series
        Per row, the target (else baseline) of its indicator; NaN for none.
    group : Series, optional
        Per row, the batch it is judged in for the "every value" branch (a file); default one.
    own : Series, optional
        Per row, the median of its series' earlier figures (NaN for none).
    basis : bool
        Also return, per row, what its level is: ``peers`` (other rows of the year), ``history``
        (its own series) or ``target`` (the reference), ``""`` for none; ``unknown`` for a value
        in ``(0, fraction_max]`` that nothing can judge (every value of its indicator in its
        group that small, no peer, no history, no reference): it may be a fraction, and the
        submission checks warn of it (``fraction_possible``).

    Returns
    -------
    Series of float, or (Series, Series) with ``basis``
        Aligned with ``rows``: the comparable level of each fraction, NaN for the other rows.

    Examples
    --------
    >>> rows = pd.DataFrame({"indicator": "x", "year": 2024, "value": [0.96, 96.5],
    ...                      "numerator": np.nan, "denominator": np.nan})
    >>> fraction_levels(rows, pd.Series(95.0, index=rows.index)).tolist()  # against its peer
    [96.5, nan]
    >>> fraction_levels(rows.iloc[:1], pd.Series([95.0])).tolist()  # alone: against the target
    [95.0]
    """
    cfg = config.read_yaml("ingest.yaml")["fraction"]
    fmax, level_min = float(cfg["fraction_max"]), float(cfg["peer_level_min"])
    v = rows["value"].astype(float)
    peer = rows[v > fmax].groupby(["indicator", "year"])["value"].median().rename("_level")
    level = pd.Series(rows[["indicator", "year"]].merge(peer, how="left", left_on=["indicator", "year"],
                                                        right_index=True)["_level"].to_numpy(float),
                      index=rows.index)
    # a peer is another row: a value's own level is never its comparator
    src = pd.Series(np.where(level.notna(), "peers", ""), index=rows.index, dtype=object)
    if own is not None:
        src = src.where(level.notna() | own.isna(), "history")
        level = level.fillna(own)
    batch = group if group is not None else pd.Series(0, index=rows.index)
    all_small = v.groupby([batch, rows["indicator"]]).transform("max") <= fmax
    src = src.where(level.notna() | reference.where(all_small).isna(), "target")
    level = level.fillna(reference.where(all_small))
    implied = 100.0 * rows["numerator"] / rows["denominator"].where(rows["denominator"] > 0)
    consistent = (v - implied).abs() <= np.maximum(0.051, 0.005 * implied.abs())
    small = (v > 0) & (v <= fmax) & ~consistent.fillna(False)
    hit = small & (level >= level_min)
    # every figure of the indicator small and nothing to compare them with (no peer, no history,
    # no target or baseline): perhaps fractions, and nobody can tell; the caller asks
    unknown = small & level.isna() & all_small & reference.isna()
    return (level.where(hit), src.where(hit, "").where(~unknown, "unknown")) if basis else level.where(hit)


def _check_frame(df: pd.DataFrame, source: str, area: str | None = None) -> pd.DataFrame:
    df = df.copy().reset_index(drop=True)
    missing = [c for c in ("indicator", "year", "value") if c not in df.columns]
    if missing:
        raise PanelError(source, [f"column {c}: required column missing (the panel has "
                                  f"{', '.join(map(str, df.columns)) or 'no columns'})" for c in missing])
    problems: list[tuple[int, str]] = []
    n = len(df)
    df["indicator"] = _text(df["indicator"])
    for pos in np.flatnonzero(df["indicator"].isna().to_numpy()):
        problems.append((int(pos), f"{_line(pos)}, column indicator: expected an indicator id, got an empty cell"))
    district = codes.district() if area is None else str(area)
    df["area"] = _text(df["area"]).fillna(district) if "area" in df else pd.Series([district] * n, dtype="string")
    df["sex"] = _text(df["sex"]).fillna("T") if "sex" in df else pd.Series(["T"] * n, dtype="string")
    bad = bad_sex = ~df["sex"].isin(codes.SEXES).to_numpy()
    for pos in np.flatnonzero(bad):
        problems.append((int(pos), f"{_line(pos)}, column sex: expected one of F, M, T, got {_show(df['sex'].iloc[pos])}"))
    for col in ("source", "note"):
        df[col] = _text(df[col]) if col in df else pd.Series(pd.NA, index=df.index, dtype="string")
    year = _numbers(df, "year", problems)
    lo, hi = YEAR_RANGE
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(year) & ((year != np.round(year)) | (year < lo) | (year > hi))
    for pos in np.flatnonzero(bad):
        problems.append((int(pos), f"{_line(pos)}, column year: expected a whole year in {lo}-{hi}, got {_show(df['year'].iloc[pos])}"))
    for pos in np.flatnonzero(np.isnan(year) & _blank(df["year"])):
        problems.append((int(pos), f"{_line(pos)}, column year: expected a year, got an empty cell"))
    value = _numbers(df, "value", problems)
    for pos in np.flatnonzero(np.isinf(value)):
        problems.append((int(pos), f"{_line(pos)}, column value: expected a finite number, got {_show(value[pos])}"))
    for pos in np.flatnonzero(np.isnan(value) & _blank(df["value"])):
        problems.append((int(pos), f"{_line(pos)}, column value: expected a number, got an empty cell "
                                   "(a gap is a missing row: delete the row or fill in the value)"))
    counts = {col: _numbers(df, col, problems) if col in df else np.full(n, np.nan)
              for col in ("numerator", "denominator")}
    faults = count_faults(counts["numerator"], counts["denominator"])
    for col, neg in (("numerator", faults["negative_numerator"]),
                     ("denominator", faults["negative_denominator"] | faults["zero_denominator"])):
        what = "a positive number" if col == "denominator" else "a count >= 0"
        for pos in np.flatnonzero(neg):
            problems.append((int(pos), f"{_line(pos)}, column {col}: expected {what}, got {_show(counts[col][pos])}"))
    for col in ("numerator", "denominator"):
        for pos in np.flatnonzero(faults[f"fractional_{col}"]):
            problems.append((int(pos), f"{_line(pos)}, column {col}: expected a whole number (a count), "
                                       f"got {_show(counts[col][pos])}"))
    half = faults["numerator_only"] | faults["denominator_only"]
    for pos in np.flatnonzero(half):
        problems.append((int(pos), f"{_line(pos)}, columns numerator/denominator: expected both counts or neither"))
    if "synthetic" in df:
        syn = df["synthetic"]
        if syn.dtype != bool:
            text = syn.map(lambda v: str(v).strip().lower() if not isinstance(v, bool) and v is not None
                           and not (isinstance(v, float) and np.isnan(v)) else v)
            mapped = text.map(lambda v: v if isinstance(v, bool) else
                              (True if v in _TRUE else False if (v is None or v != v or v in _FALSE) else None))
            for pos in np.flatnonzero(mapped.isna().to_numpy()):
                problems.append((int(pos), f"{_line(pos)}, column synthetic: expected True or False, "
                                           f"got {_show(syn.iloc[pos])}"))
            syn = mapped.fillna(False)
        df["synthetic"] = syn.astype(bool)
    else:
        df["synthetic"] = False
    df["year"] = np.where(np.isfinite(year), year, 0).astype("int64")
    df["value"] = value
    df["numerator"], df["denominator"] = counts["numerator"], counts["denominator"]
    key = list(codes.PANEL_KEYS)
    # only rows whose key cells are valid: a year refused above ("2020年") is no duplicate of
    # another refused year (both would read as year 0)
    valid_key = df["indicator"].notna().to_numpy() & np.isfinite(year) & ~bad_sex
    dup = np.zeros(n, dtype=bool)
    dup[valid_key] = df[valid_key].duplicated(key, keep=False).to_numpy()
    if dup.any():
        first = df[dup].groupby(key, sort=False).head(1)
        for pos in first.index:
            same = df.index[dup & (df[key] == df.loc[pos, key]).all(axis=1).to_numpy()].tolist()
            k = ", ".join(f"{c}={df.at[pos, c]}" for c in key)
            problems.append((int(pos), f"rows {', '.join(map(str, same))} (lines "
                                       f"{', '.join(str(p + 2) for p in same)}): the key ({k}) occurs "
                                       f"{len(same)} times; expected one row per indicator, year, area and sex"))
    if problems:
        problems.sort(key=lambda t: t[0])
        raise PanelError(source, [m for _, m in problems])
    extra = [c for c in df.columns if c not in codes.PANEL_COLUMNS]
    df = df[list(codes.PANEL_COLUMNS) + extra]
    for col in ("indicator", "area", "sex"):
        df[col] = df[col].astype(str)
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def _earlier_median(rows: pd.DataFrame, fraction_max: float) -> pd.Series:
    """Per row, the median of its own series' earlier figures (same indicator, area and sex,
    earlier years) above ``fraction_max``: the ``own`` level of :func:`fraction_levels`.

    A figure at or below ``fraction_max`` is left out of the median (it may itself be a
    fraction); a row with no such earlier figure gets NaN.  Vectorised: one sort and one grouped
    expanding median, whatever the number of series.

    Parameters
    ----------
    rows : DataFrame
        Panel rows with ``indicator, year, area, sex, value``, one row per key.
    fraction_max : float
        The largest value that may be a fraction (``data/ingest.yaml``).

    Returns
    -------
    Series of float
        Aligned with ``rows``.
    """
    keys = ["indicator", "area", "sex"]
    ordered = rows[[*keys, "year", "value"]].sort_values([*keys, "year"], kind="stable")
    big = ordered["value"].astype(float).where(ordered["value"].astype(float) > fraction_max)
    # shift first: a figure is never its own history, only the years before it are
    earlier = big.groupby([ordered[k] for k in keys], sort=False).shift(1)
    med = (earlier.groupby([ordered[k] for k in keys], sort=False).expanding(min_periods=1).median()
           .reset_index(level=list(range(len(keys))), drop=True))
    return med.reindex(rows.index).astype(float)


def _warn_fractions(rows: pd.DataFrame, cat: pd.DataFrame, source: str) -> None:
    """Percent rows that look typed as fractions (:func:`fraction_levels`, the whole panel one
    batch): an :class:`~fzanalysis.exceptions.FzWarning` naming them.  A warning, not a refusal:
    real series can sit below 1 % (a share of women near zero) beside a target of 50."""
    if rows.empty:
        return
    ref = rows["indicator"].map(cat["target"].fillna(cat["baseline_value"]) if "baseline_value" in cat
                                else cat["target"]).astype(float)
    try:
        fmax = float(config.read_yaml("ingest.yaml")["fraction"]["fraction_max"])
        level, basis = fraction_levels(rows, ref, own=_earlier_median(rows, fmax), basis=True)
    except ConfigError:  # a data folder without data/ingest.yaml (FZANALYSIS_DATA): nothing to warn by
        return
    hits = np.flatnonzero(level.notna().to_numpy())
    if not len(hits):
        return
    from fzanalysis.panel.problems import Wording  # the submission checks' own sentence

    wording = Wording("en")
    said = []
    for pos in hits[:10]:
        r, lv, b = rows.iloc[pos], float(level.iloc[pos]), str(basis.iloc[pos])
        v = float(r["value"])
        text = wording.text("fraction", {"found": f"{v:g}", "level": f"{lv:.6g}", "percent": f"{100 * v:g}",
                                         "peers": "1" if b == "peers" else "",
                                         "history": "1" if b == "history" else "",
                                         "target": "1" if b == "target" else ""})
        said.append(f"indicator {r['indicator']!r}, year {r['year']}, area {r['area']}, sex {r['sex']}: {text}")
    more = f"\n  ... and {len(hits) - 10} more" if len(hits) > 10 else ""
    warn(f"{source}: {len(hits)} percent value(s) look like fractions (0.96 for 96 %); "
         "multiply them by 100 if so:\n  " + "\n  ".join(said) + more, FzWarning)


def _check_catalog(frame: pd.DataFrame, catalog: pd.DataFrame, source: str) -> None:
    cat = catalog.set_index("id")
    problems: list[str] = []
    known = frame["indicator"].isin(cat.index).to_numpy()
    for ind in pd.unique(frame.loc[~known, "indicator"]):
        pos = int(np.flatnonzero((frame["indicator"] == ind).to_numpy())[0])
        problems.append(f"indicator {ind!r} (first at sorted row {pos}): expected an id of the catalogue")
    if {"unit", "target"} <= set(cat.columns):
        _warn_fractions(frame[(frame["indicator"].map(cat["unit"]) == "percent").to_numpy() & known], cat, source)
    if "unit" in cat:
        counted = frame["indicator"].map(cat["unit"]).isin(count_units()).to_numpy()
        v = frame["value"].to_numpy(dtype=float)
        frac = count_faults(frame["numerator"].to_numpy(float), frame["denominator"].to_numpy(float), v,
                            counted)["fractional_value"]
        for pos in np.flatnonzero(frac)[:50]:
            r = frame.iloc[pos]
            problems.append(f"indicator {r['indicator']!r}, year {r['year']}, area {r['area']}, sex {r['sex']}: "
                            f"value {v[pos]:g} is not a whole number, but the unit is a count "
                            f"({cat.at[r['indicator'], 'unit']})")
    if "unit" in cat:  # the value and the counts say the same (value_disagrees, the one rule)
        scale = frame["indicator"].map(cat["unit"]).map(lambda u: config.units().at[u, "scale"]
                                                        if u in config.units().index else np.nan)
        off = value_disagrees(frame["value"], frame["numerator"], frame["denominator"],
                              pd.to_numeric(scale, errors="coerce"))
        for pos in np.flatnonzero(off)[:50]:
            r = frame.iloc[pos]
            k = float(pd.to_numeric(scale.iloc[pos]))
            problems.append(f"indicator {r['indicator']!r}, year {r['year']}, area {r['area']}, sex {r['sex']}: "
                            f"value {r['value']:g} disagrees with numerator/denominator {r['numerator']:g}/"
                            f"{r['denominator']:g} = {k * r['numerator'] / r['denominator']:.4g}; expected them "
                            "to agree (data/assess.yaml value_check)")
    lo = frame["indicator"].map(cat["lower_bound"]).to_numpy(dtype=float) if "lower_bound" in cat else None
    hi = frame["indicator"].map(cat["upper_bound"]).to_numpy(dtype=float) if "upper_bound" in cat else None
    if lo is not None and hi is not None:
        v = frame["value"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            out = (v < lo) | (v > hi)
        for pos in np.flatnonzero(out)[:50]:
            r = frame.iloc[pos]
            problems.append(f"indicator {r['indicator']!r}, year {r['year']}, area {r['area']}, sex {r['sex']}: "
                            f"value {v[pos]:g} is outside the unit's bounds [{lo[pos]:g}, {hi[pos]:g}]")
    if problems:
        raise PanelError(source, problems)


def as_panel(data: Panel | pd.DataFrame | str | Path, catalog: pd.DataFrame | None = None, *,
             source: str | None = None, area: str | None = None) -> Panel:
    """Check a panel once and return it as a :class:`Panel`.

    Parameters
    ----------
    data : Panel, DataFrame, str or Path
        A panel already checked (returned as it is, or checked only against a catalogue it was
        not yet checked against), a DataFrame, or a file in one of :data:`READABLE_FORMATS`.
    catalog : DataFrame, optional
        A catalogue, normalised here (:func:`fzanalysis.catalog.normalize`, which refuses a
        faulty one as every entry point does): indicators must be in it and values within its
        bounds.  Positional or keyword, as in every entry point (``as_panel(panel, catalog)``).
    source : str, optional
        Name used in messages (default: the path, or ``"<DataFrame>"``).
    area : str, optional
        Area code of the rows of a panel without an ``area`` column (empty cells of one too):
        the whole area the caller names (an entry point's ``area=``); default the active
        plan's, :func:`fzanalysis.codes.district`.  A :class:`Panel` keeps the areas it was
        checked with.

    Returns
    -------
    Panel

    Raises
    ------
    PanelError
        Listing every failing row and column (module docstring for the rules); or when ``data``
        is neither a Panel, a DataFrame nor a path.

    Examples
    --------
    >>> import pandas as pd
    >>> p = as_panel(pd.DataFrame({"indicator": ["health.x"], "year": [2024], "value": [95.5]}))
    >>> p.frame[["indicator", "year", "area", "sex", "value"]].to_dict("records")
    [{'indicator': 'health.x', 'year': 2024, 'area': '440117', 'sex': 'T', 'value': 95.5}]
    >>> as_panel(pd.DataFrame({"indicator": ["health.x"], "year": [2024], "value": [None]}))
    Traceback (most recent call last):
    ...
    fzanalysis.exceptions.PanelError: <DataFrame>: the panel does not match its schema (1 problem(s)):
      row 0 (line 2), column value: expected a number, got an empty cell (a gap is a missing row: delete the row or fill in the value)
    """
    if isinstance(data, Panel):
        panel = data
    elif isinstance(data, pd.DataFrame):
        name = source or "<DataFrame>"
        panel = Panel(_check_frame(data, name, area), name)
    elif isinstance(data, (str, Path)):
        name = source or str(data)
        panel = Panel(_check_frame(read_panel(data), name, area), name)
    else:
        raise PanelError("<argument>", [f"expected a Panel, a DataFrame or a file path "
                                        f"({', '.join(READABLE_FORMATS)}), got {type(data).__name__}"])
    if catalog is not None:
        # a researcher's catalogue is refused here as it is everywhere (one rule: normalize)
        from fzanalysis.catalog import normalize
        catalog = normalize(catalog)
        stamp = _fingerprint(catalog)
        if panel.checked_against != stamp:
            _check_catalog(panel.frame, catalog, panel.source)
            panel = Panel(panel.frame, panel.source, stamp)
    return panel


def whole_area(panel: Panel, area: str | None = None) -> str:
    """The code of the whole area the targets are judged on, checked against the panel.

    The one owner of the rule every entry point taking ``area=`` follows (``assess``;
    ``evaluate`` states the same rule in the same words): a panel that has figures but none
    for the area (a misspelt code, or a researcher's own codes with no ``area=``) is refused
    with the areas it has, never judged on an area it lacks.  Figures for its towns only (the
    gazetteer's towns inside it: 3 streets reporting a ``per_area`` count) are figures for it,
    rolled up by ``assess``.  An empty panel passes (every target is then no data).

    Parameters
    ----------
    panel : Panel
        Checked by :func:`as_panel` (with the same ``area``, so a panel without an ``area``
        column has its rows under it).
    area : str, optional
        The code the caller gave; default the active plan's, :func:`fzanalysis.codes.district`.

    Returns
    -------
    str
        The area code.

    Raises
    ------
    PanelError
        Naming the code, whose it is (the plan's or the ``area=`` given) and the panel's areas.

    Examples
    --------
    >>> p = as_panel(pd.DataFrame({"indicator": "x", "year": [2024], "area": "450102", "value": [1.0]}))
    >>> whole_area(p, "450102")
    '450102'
    >>> whole_area(p, "45012")
    Traceback (most recent call last):
    ...
    fzanalysis.exceptions.PanelError: <DataFrame>: the panel does not match its schema (1 problem(s)):
      column area: no figures for '45012' (the area= given, whose figures judge the targets); the panel's areas are '450102': pass area= naming the whole area of your panel
    """
    code = codes.district() if area is None else str(area)
    areas = pd.unique(panel.frame["area"])
    if len(areas) and code not in set(areas) and not _towns_of(code) & set(areas):
        whose = "the plan's area" if area is None else "the area= given"
        raise PanelError(panel.source, [
            f"column area: no figures for {code!r} ({whose}, whose figures judge the targets); "
            f"the panel's areas are {', '.join(map(repr, sorted(areas)[:10]))}"
            f"{' …' if len(areas) > 10 else ''}: pass area= naming the whole area of your panel"])
    return code


def _towns_of(code: str) -> set[str]:
    """The gazetteer's towns inside ``code`` (none for a code it does not hold)."""
    from fzanalysis import gazetteer  # the gazetteer reads data files: only when asked

    try:
        return set(gazetteer.targeted_areas("", parent=code))
    except ConfigError:  # a data folder without a gazetteer (FZANALYSIS_DATA): no towns known
        return set()


def _fingerprint(catalog: pd.DataFrame) -> str:
    cols = [c for c in ("id", "lower_bound", "upper_bound") if c in catalog.columns]
    return hashlib.sha256(pd.util.hash_pandas_object(catalog[cols], index=False).to_numpy().tobytes()).hexdigest()
