"""Input checks and the series matrix behind :mod:`fzanalysis.trend`.

Turns a tidy panel and a catalogue into the arrays the vectorised fits work on, and refuses bad
input with a message naming the row, the column and what was expected (nothing is dropped or
coerced silently; missing values are gaps by definition and counted as such).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis._trend_core import METHODS
from fzanalysis import codes, comparators, config
from fzanalysis import catalog as catalog_mod
from fzanalysis.exceptions import ConfigError
from fzanalysis.panel import as_panel

COMPARATORS: tuple[str, ...] = comparators.ALL
DIRECTIONAL: tuple[str, ...] = comparators.DIRECTIONAL
KEYS: list[str] = list(codes.SERIES_KEYS)


def settings() -> dict[str, Any]:
    """Return ``data/trend.yaml`` (thresholds, windows, bend factors) as a dict."""
    conf = config.trend_settings()
    for unit, methods in conf["unit_methods"].items():
        bad = [m for m in methods if m not in METHODS]
        if bad:
            raise ConfigError(f"data/trend.yaml: unit_methods.{unit} lists unknown method(s) {bad}; "
                              f"expected some of {METHODS}")
    return conf


def unit_scale(unit: str) -> float:
    """Scale of a rate unit (100 for percent, 100 000 for per_100k...; NaN if not a rate)."""
    u = config.units()
    return float(u.at[unit, "scale"]) if unit in u.index else np.nan


def unit_bounds(unit: str) -> tuple[float, float]:
    """Natural ``(lower, upper)`` bounds of a unit from ``data/units.csv`` (NaN = unbounded)."""
    u = config.units()
    if unit not in u.index:
        return (np.nan, np.nan)
    return float(u.at[unit, "lower_bound"]), float(u.at[unit, "upper_bound"])


def prepare_catalog(catalog: pd.DataFrame | None) -> pd.DataFrame:
    """Check a catalogue and complete it to the columns the projections need.

    Required: ``id``, ``unit``, ``comparator``, ``target``.  Optional with defaults:
    ``lower_bound``/``upper_bound`` (from the unit), ``tolerance`` (NaN), ``baseline_value`` (NaN),
    ``baseline_year`` (``trend.yaml: maintain_baseline_year``, 2020), ``scale`` (from
    ``data/units.csv``; NaN for units that are not rates from counts).

    Returns
    -------
    DataFrame indexed by ``id`` with ``unit, comparator, target, tolerance, lower, upper,
    baseline_value, baseline_year, scale``.
    """
    catalog = catalog_mod.normalize(catalog)
    missing = [c for c in ("id", "unit", "comparator", "target") if c not in catalog.columns]
    if missing:
        raise ValueError(f"catalogue: missing column(s) {missing}; required: id, unit, comparator, target")
    cat = pd.DataFrame({
        "id": catalog["id"].astype(str).to_numpy(),
        "unit": catalog["unit"].astype(str).to_numpy(),
        "comparator": catalog["comparator"].astype(str).to_numpy(),
    })
    for col, src in (("target", "target"), ("tolerance", "tolerance"),
                     ("baseline_value", "baseline_value"), ("baseline_year", "baseline_year")):
        if src in catalog.columns:
            vals = pd.to_numeric(catalog[src], errors="coerce")
            bad = vals.isna() & catalog[src].notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValueError(f"catalogue row {i} (id {cat['id'].iloc[i]!r}), column {src!r}: "
                                 f"expected a number, got {catalog[src].iloc[i]!r}")
            cat[col] = vals.to_numpy(dtype=float)
        else:
            cat[col] = np.nan
    cat["baseline_year"] = cat["baseline_year"].fillna(float(settings()["maintain_baseline_year"]))
    cat["scale"] = np.array([unit_scale(u) for u in cat["unit"]], dtype=float)
    bounds = np.array([unit_bounds(u) for u in cat["unit"]], dtype=float).reshape(-1, 2)
    cat["lower"], cat["upper"] = bounds[:, 0], bounds[:, 1]
    for col, dst in (("lower_bound", "lower"), ("upper_bound", "upper")):
        if col in catalog.columns:
            cat[dst] = pd.to_numeric(catalog[col], errors="raise").to_numpy(dtype=float)
    dup = cat["id"].duplicated()
    if dup.any():
        raise ValueError(f"catalogue: id {cat['id'][dup].iloc[0]!r} appears more than once")
    for i, row in enumerate(cat.itertuples(index=False)):
        where = f"catalogue row {i} (id {row.id!r})"
        if row.comparator not in COMPARATORS:
            raise ValueError(f"{where}, column 'comparator': expected one of {COMPARATORS}, "
                             f"got {row.comparator!r}")
        if row.comparator in (">=", "<=", ">", "<", "==", "~=") and not np.isfinite(row.target):
            raise ValueError(f"{where}, column 'target': comparator {row.comparator!r} needs a number")
        if row.comparator == "~=" and not (np.isfinite(row.tolerance) and row.tolerance > 0):
            raise ValueError(f"{where}, column 'tolerance': comparator '~=' needs a positive tolerance")
        if np.isfinite(row.lower) and np.isfinite(row.upper) and row.lower >= row.upper:
            raise ValueError(f"{where}: lower bound {row.lower} is not below upper bound {row.upper}")
    return cat.set_index("id")


def prepare_panel(panel: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Validate a tidy panel: ``indicator, area, sex, year, value, numerator, denominator``.

    Missing values are kept.  ``numerator``/``denominator`` (the counts behind a rate, used by
    the Poisson model, methods.md 5.4) are NaN when the panel has no such columns.

    ``area`` defaults to the district (``"440117"``) and ``sex`` to ``"T"`` when the columns are
    absent.  Rows with a missing ``value`` are gaps (the year counts as not observed).
    Duplicated indicator x area x sex x year rows are refused by :func:`build_matrix`.

    Raises
    ------
    ValueError
        Naming the row (0-based position), the column and what was expected, for: missing
        columns, unknown indicators, non-integer years, non-numeric or infinite values, and values
        outside the unit's bounds.
    """
    panel = as_panel(panel).frame
    n = len(panel)
    out = pd.DataFrame({"indicator": panel["indicator"].astype(str).to_numpy()})
    out["area"] = panel["area"].astype(str).to_numpy()
    out["sex"] = panel["sex"].astype(str).to_numpy()
    year = pd.to_numeric(panel["year"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(year) | (year != np.round(year))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"panel row {i}, column 'year': expected a whole year, "
                         f"got {panel['year'].iloc[i]!r}")
    out["year"] = year.astype(np.int64)
    value = pd.to_numeric(panel["value"], errors="coerce").to_numpy(dtype=float)
    raw_missing = panel["value"].isna().to_numpy()
    bad = (np.isnan(value) & ~raw_missing) | np.isinf(value)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"panel row {i}, column 'value': expected a finite number, "
                         f"got {panel['value'].iloc[i]!r}")
    out["value"] = value
    icodes, uniques = pd.factorize(out["indicator"])
    known = np.asarray(pd.Index(uniques).isin(catalog.index))
    if not known.all():
        i = int(np.flatnonzero(~known[icodes])[0])
        raise ValueError(f"panel row {i}, column 'indicator': {out['indicator'].iloc[i]!r} "
                         "is not in the catalogue")
    lo = catalog["lower"].reindex(uniques).to_numpy()[icodes]
    hi = catalog["upper"].reindex(uniques).to_numpy()[icodes]
    with np.errstate(invalid="ignore"):
        outside = (value < lo) | (value > hi)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(f"panel row {i}, column 'value': {value[i]} is outside the bounds "
                         f"[{lo[i]}, {hi[i]}] of indicator {out['indicator'].iloc[i]!r}")
    for col in ("numerator", "denominator"):
        if col not in panel.columns:
            out[col] = np.nan
            continue
        x = pd.to_numeric(panel[col], errors="coerce").to_numpy(dtype=float)
        raw_na = panel[col].isna().to_numpy()
        bad = (np.isnan(x) & ~raw_na) | np.isinf(x) | (x < 0) | ((col == "denominator") & (x == 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "a positive number" if col == "denominator" else "a count >= 0"
            raise ValueError(f"panel row {i}, column {col!r}: expected {what}, "
                             f"got {panel[col].iloc[i]!r}")
        out[col] = x
    half = np.isnan(out["numerator"].to_numpy()) != np.isnan(out["denominator"].to_numpy())
    if half.any():
        i = int(np.flatnonzero(half)[0])
        raise ValueError(f"panel row {i}, columns 'numerator'/'denominator': give both counts "
                         "or neither")
    return out


@dataclass
class SeriesMatrix:
    """All series of a panel on one grid of years.

    Attributes
    ----------
    keys : DataFrame ``indicator, area, sex`` (one row per series, sorted).
    years : (T,) calendar years from the first to the last observed year.
    Y : (S, T) values, NaN where not observed.  mask : (S, T) observed.
    unit, comparator : (S,) object arrays; target, tolerance, lower, upper, baseline : (S,) floats.
    baseline_year, scale : (S,) floats (catalogue baseline year; unit scale of a rate).
    K, E : (S, T) numerator and denominator counts, NaN where not given.
    """

    keys: pd.DataFrame
    years: np.ndarray
    Y: np.ndarray
    unit: np.ndarray
    comparator: np.ndarray
    target: np.ndarray
    tolerance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    baseline: np.ndarray
    baseline_year: np.ndarray
    scale: np.ndarray
    K: np.ndarray
    E: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        return ~np.isnan(self.Y)


def build_matrix(panel: pd.DataFrame, catalog: pd.DataFrame) -> SeriesMatrix:
    """Pivot a validated panel into a :class:`SeriesMatrix` (vectorised, no Python loop).

    Raises
    ------
    ValueError
        If an indicator x area x sex x year occurs twice (naming the second row).
    """
    if not (~np.isnan(panel["value"].to_numpy())).any():
        raise ValueError("panel: no observed values")
    combined = np.zeros(len(panel), dtype=np.int64)
    parts = []
    for col in KEYS:
        c, u = pd.factorize(panel[col], sort=True)
        combined = combined * len(u) + c
        parts.append((c, u))
    uniq, inverse_codes = np.unique(combined, return_inverse=True)
    rep = np.zeros(len(uniq), dtype=np.int64)
    rep[inverse_codes[::-1]] = np.arange(len(panel))[::-1]   # first row of each series
    keys = pd.DataFrame({col: np.asarray(u)[c[rep]] for col, (c, u) in zip(KEYS, parts)})
    year = panel["year"].to_numpy()
    y0, y1 = int(year.min()), int(year.max())
    years = np.arange(y0, y1 + 1)
    cell = inverse_codes.astype(np.int64) * len(years) + (year - y0)
    counts = np.bincount(cell, minlength=len(uniq) * len(years))
    if (counts > 1).any():
        dup = np.flatnonzero(pd.Series(cell).duplicated().to_numpy())[0]
        r = panel.iloc[dup]
        raise ValueError(f"panel row {dup}: duplicate indicator x area x sex x year "
                         f"({r['indicator']}, {r['area']}, {r['sex']}, {r['year']})")
    grids = {}
    for name, src in (("Y", "value"), ("K", "numerator"), ("E", "denominator")):
        g = np.full((len(uniq), len(years)), np.nan)
        g.ravel()[cell] = panel[src].to_numpy(dtype=float)
        grids[name] = g
    Y = grids["Y"]
    # counts only where the value is observed (a missing value is a missing year)
    for name in ("K", "E"):
        grids[name][np.isnan(Y)] = np.nan
    # trim the grid to the observed years
    obs_cols = np.flatnonzero(~np.all(np.isnan(Y), axis=0))
    sl = slice(obs_cols[0], obs_cols[-1] + 1)
    Y, K, E = Y[:, sl], grids["K"][:, sl], grids["E"][:, sl]
    years = years[obs_cols[0]:obs_cols[-1] + 1]
    ind_codes = parts[0][0][rep]
    cat = catalog.reindex(parts[0][1])

    def col(name: str, dtype) -> np.ndarray:
        return cat[name].to_numpy(dtype=dtype)[ind_codes]
    return SeriesMatrix(
        keys=keys, years=years, Y=Y,
        unit=col("unit", object), comparator=col("comparator", object),
        target=col("target", float), tolerance=col("tolerance", float),
        lower=col("lower", float), upper=col("upper", float),
        baseline=col("baseline_value", float), baseline_year=col("baseline_year", float),
        scale=col("scale", float), K=K, E=E,
    )
