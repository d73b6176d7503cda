"""Catalogue + panel -> the series matrix the vectorised fits work on.

The catalogue is read ONLY through :func:`fzanalysis.catalog.normalize` and the panel ONLY
through :func:`fzanalysis.panel.as_panel` (checked against that catalogue), so the projections
accept and refuse exactly what every other entry point accepts and refuses, with the same
messages.  Units, bounds and scales come from :func:`fzanalysis.config.units` via the
normalised catalogue; settings from :func:`fzanalysis.config.trend_settings`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import catalog as catalog_mod
from fzanalysis import codes, config
from fzanalysis.exceptions import ConfigError
from fzanalysis.panel import Panel, as_panel
from fzanalysis.trend.core import METHODS

__all__ = ["SeriesMatrix", "build_matrix", "matrix", "on_grid", "resolution", "settings"]

KEYS: list[str] = list(codes.SERIES_KEYS)


def settings() -> dict[str, Any]:
    """``data/trend.yaml`` (via :func:`fzanalysis.config.trend_settings`), with its methods checked.

    Raises
    ------
    ConfigError
        If ``unit_methods`` names a model that does not exist.
    """
    conf = config.trend_settings()
    for unit, methods in conf["unit_methods"].items():
        bad = [m for m in methods if m not in METHODS]
        if bad:
            raise ConfigError(f"data/trend.yaml: unit_methods.{unit} lists unknown method(s) {bad}; "
                              f"expected some of {METHODS}")
    return conf


@dataclass(frozen=True)
class SeriesMatrix:
    """All series of a panel on one grid of years.

    Attributes
    ----------
    keys : DataFrame ``indicator, area, sex`` (one row per series, sorted).
    years : (T,) calendar years from the first to the last observed year.
    Y : (S, T) values, NaN where not observed.
    unit, comparator : (S,) object arrays; target, tolerance, lower, upper, baseline : (S,) floats.
    baseline_year, scale : (S,) floats (catalogue baseline year; unit scale of a rate).
    K, E : (S, T) numerator and denominator counts, NaN where not given.
    synthetic : bool, True when the panel holds synthetic demo data.
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
    synthetic: bool = False

    @property
    def mask(self) -> np.ndarray:
        """(S, T) bool: observed."""
        return ~np.isnan(self.Y)

    def truncated(self, upto: int) -> SeriesMatrix:
        """The same series with every column after ``upto`` (0-based) set to missing."""
        Y = self.Y.copy()
        Y[:, upto + 1:] = np.nan
        return replace(self, Y=Y)


def _catalog_arrays(cat: pd.DataFrame) -> pd.DataFrame:
    """The columns of a normalised catalogue the projections use, indexed by id."""
    units = config.units()
    scale = cat["unit"].map(units["scale"]).to_numpy(dtype=float)
    base_year = pd.to_numeric(cat["baseline_year"], errors="coerce").to_numpy(dtype=float)
    base_year = np.where(np.isfinite(base_year), base_year,
                         float(settings()["maintain_baseline_year"]))
    return pd.DataFrame({
        "unit": cat["unit"].astype(str).to_numpy(),
        "comparator": cat["comparator"].astype(str).to_numpy(),
        "target": pd.to_numeric(cat["target"], errors="coerce").to_numpy(dtype=float),
        "tolerance": pd.to_numeric(cat["tolerance"], errors="coerce").to_numpy(dtype=float),
        "lower": pd.to_numeric(cat["lower_bound"], errors="coerce").to_numpy(dtype=float),
        "upper": pd.to_numeric(cat["upper_bound"], errors="coerce").to_numpy(dtype=float),
        "baseline_value": pd.to_numeric(cat["baseline_value"], errors="coerce").to_numpy(dtype=float),
        "baseline_year": base_year,
        "scale": scale,
    }, index=pd.Index(cat["id"].astype(str).to_numpy(), name="id"))


def matrix(panel: Panel | pd.DataFrame | str, catalog: pd.DataFrame | None) -> SeriesMatrix:
    """Normalise the catalogue, check the panel against it, and build the :class:`SeriesMatrix`.

    Raises
    ------
    CatalogError
        From :func:`fzanalysis.catalog.normalize`.
    PanelError
        From :func:`fzanalysis.panel.as_panel`.
    """
    cat = catalog_mod.normalize(catalog)
    checked = as_panel(panel, catalog=cat)
    return build_matrix(checked, _catalog_arrays(cat))


def build_matrix(panel: Panel, catalog: pd.DataFrame) -> SeriesMatrix:
    """Pivot a checked panel into a :class:`SeriesMatrix` (vectorised, no Python loop).

    ``catalog`` is indexed by id with ``unit, comparator, target, tolerance, lower, upper,
    baseline_value, baseline_year, scale``.  The panel's own checks (one row per key, values
    within bounds, counts) have been done by :func:`fzanalysis.panel.as_panel`.
    """
    frame = panel.frame
    combined = np.zeros(len(frame), dtype=np.int64)
    parts = []
    for col in KEYS:
        c, u = pd.factorize(frame[col], sort=True)
        combined = combined * len(u) + c
        parts.append((c, u))
    uniq, inverse_codes = np.unique(combined, return_inverse=True)
    rep = np.zeros(len(uniq), dtype=np.int64)
    rep[inverse_codes[::-1]] = np.arange(len(frame))[::-1]   # first row of each series
    keys = pd.DataFrame({col: np.asarray(u)[c[rep]] for col, (c, u) in zip(KEYS, parts)})
    year = frame["year"].to_numpy(dtype=np.int64)
    if len(year) == 0:  # no series: one (empty) column keeps every reduction over years defined
        years = np.array([0], dtype=np.int64)
    else:
        years = np.arange(int(year.min()), int(year.max()) + 1)
    cell = inverse_codes.astype(np.int64) * len(years) + (year - (years[0] if len(years) else 0))
    grids = {}
    for name, src in (("Y", "value"), ("K", "numerator"), ("E", "denominator")):
        g = np.full((len(uniq), len(years)), np.nan)
        g.ravel()[cell] = frame[src].to_numpy(dtype=float)
        grids[name] = g
    ind_codes = parts[0][0][rep]
    cat = catalog.reindex(parts[0][1])

    def col(name: str, dtype: Any) -> np.ndarray:
        return cat[name].to_numpy(dtype=dtype)[ind_codes]
    return SeriesMatrix(
        keys=keys, years=years, Y=grids["Y"],
        unit=col("unit", object), comparator=col("comparator", object),
        target=col("target", float), tolerance=col("tolerance", float),
        lower=col("lower", float), upper=col("upper", float),
        baseline=col("baseline_value", float), baseline_year=col("baseline_year", float),
        scale=col("scale", float), K=grids["K"], E=grids["E"], synthetic=panel.synthetic,
    )


def on_grid(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest whole number to ``q`` (a value divided by a rounding step) and whether ``q`` is
    that whole number to 1e-6 relative: the one tolerance of "a multiple of the step" for
    :func:`resolution` and for the published edges of targets
    (:func:`fzanalysis.trend.engine.published_edges`)."""
    r = np.round(q)
    return r, np.abs(q - r) <= 1e-6 * np.maximum(1.0, np.abs(q))


def resolution(Y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rounding step of each series: the largest power of ten (at most 1) dividing every value.

    Published figures are rounded (integer percentages, one decimal for rates); a run of equal
    values (99, 99, 99 ...) says only that the true value stayed within half a step of 99.  The
    step is the largest :math:`10^k`, :math:`k \\le 0`, such that every observed value is a
    multiple of it (:func:`on_grid`: to 1e-6 relative), at least :math:`10^{-6}`; 1 for a series
    of zeros.
    """
    out = np.full(Y.shape[0], 1e-6)
    y = np.where(mask, Y, 0.0)
    with np.errstate(invalid="ignore"):
        for k in range(0, -7, -1):
            step = 10.0 ** k
            ok = on_grid(y / step)[1] | ~mask
            hit = ok.all(axis=1) & (out == 1e-6)
            out = np.where(hit, step, out)
    return out


def probability_band_code(p: Any) -> Any:
    """The band code (``likely`` / ``possible`` / ``unlikely``) of a probability; NaN gives "".

    The one owner of the band cut-offs (``data/trend.yaml: probability_band``, lower edges);
    :func:`fzanalysis.trend.probability_band` words it, the engine's ``at_risk`` is its lowest band, :func:`fzanalysis.trend.probability_percent` formats the number so that
    it never rounds across an edge.
    """
    table = settings()["probability_band"]
    codes = sorted(table, key=lambda c: -float(table[c]))
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, "", dtype=object)
    done = np.isnan(arr)
    for code in codes:
        hit = ~done & (arr >= float(table[code]))
        out = np.where(hit, code, out)
        done |= hit
    return str(out[()]) if out.ndim == 0 else out
