"""Real public annual series and the generator of the calibrated tables of ``data/trend.yaml``.

Two collections of real series (methods.md 8):

- the **calibration corpus** ``data/calibration/`` (253 series in six families with a fixed
  dev/validation split and 556 in a later holdout; its README cites every source) plus the family ``china_official``, the
  national series of ``data/reference/panel.csv`` with at least 8 years, read from that file
  (:func:`load_china_official`), on the dev side.  :func:`interval_bend_table` regenerates
  ``trend.yaml: interval_bend`` from the dev series; ``python -m fzanalysis.trend.calibration``
  prints it;
- the earlier 65 WDI series of ``data/backtest/`` (:func:`load_real_series`), kept for the
  reports of methods.md 8 on the former calibration.

:func:`read_corpus` reads a reviewer's own series in the corpus format, checked, for the same
backtest (``benchmarks/calibration.py --corpus DIR``).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from fzanalysis import catalog as catalog_mod
from fzanalysis import codes, comparators, config, reference
from fzanalysis.paths import data_path
from fzanalysis.trend.backtesting import (
    backtest,
    estimate_bend_variance,
    estimate_inflation,
    required_bend,
    summarise_backtest,
)
from fzanalysis.trend.core import inverse
from fzanalysis.trend.engine import robust_fit
from fzanalysis.trend.prep import matrix

__all__ = ["CORPUS_MIN_TRAIN", "calibration_report", "corpus_panel", "damped_trend_report",
           "interval_bend_table", "load_china_official", "load_corpus", "load_real_series",
           "noise_thresholds", "noisy_lines_report", "read_corpus"]

#: Origins of the calibration backtests need this many observed points (as the harness
#: ``benchmarks/calibration.py``).
CORPUS_MIN_TRAIN: int = 8
#: Reference series need this many observed years to join the corpus as ``china_official``.
CHINA_MIN_VALUES: int = 8


def _read_wdi_wide(path, code: str) -> pd.DataFrame:
    raw = pd.read_csv(path, skiprows=4, dtype=str)
    raw = raw[raw["Indicator Code"] == code]
    years = [c for c in raw.columns if c.strip().isdigit()]
    long = raw.melt(id_vars=["Country Code"], value_vars=years, var_name="year", value_name="value")
    long = long.rename(columns={"Country Code": "area"})
    long["value"] = pd.to_numeric(long["value"], errors="raise")
    long["year"] = long["year"].astype(int)
    return long[["area", "year", "value"]]


def _read_semicolon_long(path, code: str) -> pd.DataFrame:
    raw = pd.read_csv(path, sep=";", decimal=",", dtype={"iso3c": str})
    out = raw[["iso3c", "year", code]].rename(columns={"iso3c": "area", code: "value"})
    out["value"] = out["value"].astype(float)
    return out


def load_real_series() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(panel, catalog)`` of the stored real series.

    The panel has ``indicator`` = ``wdi.<code>``, ``area`` = ISO3 country code, ``sex`` = ``F``
    (``T`` for the two non-sex-specific series), ``year``, ``value``; missing years are absent
    (gaps).  The catalogue has ``id, unit, comparator="increase", target=NaN`` (comparators do
    not matter for backtests).
    """
    folder = data_path("backtest")
    manifest = pd.read_csv(folder / "manifest.csv")
    parts, cat = [], []
    readers = {"wdi_wide": _read_wdi_wide, "semicolon_long": _read_semicolon_long}
    for row in manifest.itertuples(index=False):
        if row.format not in readers:
            raise ValueError(f"{folder / 'manifest.csv'}: unknown format {row.format!r}")
        df = readers[row.format](folder / row.file, row.indicator_code)
        df = df[(df["year"] >= int(row.first_year)) & df["value"].notna()].copy()
        df["indicator"] = f"wdi.{row.indicator_code}"
        df["sex"] = "T" if row.indicator_code in ("SP.DYN.TFRT.IN", "NV.AGR.TOTL.ZS") else "F"
        parts.append(df)
        cat.append({"id": f"wdi.{row.indicator_code}", "unit": row.unit,
                    "comparator": "increase", "target": np.nan})
    panel = pd.concat(parts, ignore_index=True)[["indicator", "area", "sex", "year", "value"]]
    return panel, pd.DataFrame(cat)


def _halves(det: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Split forecasts into two halves by series (alternate series in sorted order)."""
    sid = det["indicator"] + "|" + det["area"] + "|" + det["sex"]
    order = {s: i for i, s in enumerate(sorted(sid.unique()))}
    half = sid.map(order) % 2 == 0
    return half, ~half


def _coverage_with(det: pd.DataFrame, k: dict[int, float]) -> pd.Series:
    """Coverage by horizon if the half-widths had been multiplied by k(h)."""
    kh = det["horizon"].map(lambda h: k.get(int(h), k[max(k)]))
    return (det["scaled_error"] <= kh).groupby(det["horizon"]).mean()


def _coverage_with_bend(det: pd.DataFrame, c: dict[int, float]) -> pd.Series:
    """Coverage by horizon if the bend variance c(h) max(0, b^2 - se_b^2) had been added."""
    ch = det["horizon"].map(lambda h: c.get(int(h), c[max(c)]))
    return (required_bend(det) <= ch).groupby(det["horizon"]).mean()


def _coverage_const_by_model(det_est: pd.DataFrame, det_eval: pd.DataFrame, *,
                             level: float) -> pd.Series:
    """The rejected alternative: a constant tau^2(h) per model (logit/log in their own units,
    linear relative to the level), estimated on ``det_est`` and scored on ``det_eval``."""
    def need(d: pd.DataFrame) -> pd.Series:
        w = np.where(d["model"] == "linear", d["z_hat"].abs(), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.maximum(0.0, ((d["z_error"] / d["t_q"]) ** 2 - d["se_ols"] ** 2) / w ** 2)
        return pd.Series(np.where(np.isfinite(r), r, np.inf), index=d.index)
    r_est, r_ev = need(det_est), need(det_eval)
    tau = {}
    for m, g in r_est.groupby(det_est["model"]):
        q = g.groupby(det_est.loc[g.index, "horizon"]).quantile(level).sort_index()
        tau[m] = pd.Series(np.maximum.accumulate(q.to_numpy()), index=q.index)
    t2 = np.array([tau[m].get(h, tau[m].iloc[-1]) if m in tau else 0.0
                   for m, h in zip(det_eval["model"], det_eval["horizon"])], dtype=float)
    return (r_ev <= t2).groupby(det_eval["horizon"]).mean()


def calibration_report(*, horizon: int = 10, level: float = 0.8) -> dict[str, pd.DataFrame]:
    """Backtests on the stored real series: the figures of docs/methods.md section 8.

    Returns a dict of tables: ``windows`` (coverage and MAE of the uncalibrated auto model by fit
    window and horizon), ``damping`` (the same by damping factor phi), ``methods`` (MAE by model on the series where logit/log compete with
    linear), ``split`` (coverage of the auto model on each half of the series with the bend
    factors c(h) estimated on the other half, next to the plain OLS interval, the former
    multiplicative k(h) and the rejected constant-per-model tau^2(h), each estimated the same
    way), ``c`` (c(h) estimated on all series: the values stored in ``data/trend.yaml:
    interval_bend``), ``k`` (the former k(h), for comparison), ``before_k`` (coverage and widths
    with that k(h)), ``after`` (coverage and widths with the stored c(h)) and ``noisy_lines``
    (:func:`noisy_lines_report`).
    """
    panel, cat = load_real_series()
    out: dict[str, pd.DataFrame] = {}
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for w in (None, 15, 10, 8, 6):
            det = backtest(panel, cat, horizon=horizon, method="auto", window=w,
                           calibrated=False, detail=True, level=level)
            s = summarise_backtest(det, level=level)
            s.insert(0, "window", "all" if w is None else str(w))
            rows.append(s)
        out["windows"] = pd.concat(rows, ignore_index=True)
        rows = []
        for phi in (1.0, 0.9, 0.85, 0.8, 0.7):
            det = backtest(panel, cat, horizon=horizon, method="auto", damping=phi,
                           calibrated=False, detail=True, level=level)
            s = summarise_backtest(det, level=level)
            s.insert(0, "damping", phi)
            rows.append(s)
        out["damping"] = pd.concat(rows, ignore_index=True)
        det_all = backtest(panel, cat, horizon=horizon, method="all", calibrated=False,
                           detail=True, level=level)
        sid = det_all["indicator"] + "|" + det_all["area"] + "|" + det_all["sex"]
        det_all = det_all.assign(series=sid)
        comp = []
        for alt in ("logit", "log"):
            both = set(det_all.loc[det_all["method"] == alt, "series"])
            sub = det_all[det_all["series"].isin(both)
                          & det_all["method"].isin(["linear", alt, "auto"])]
            t = sub.pivot_table(index="method", columns="horizon", values="abs_error",
                                aggfunc="mean")
            t.insert(0, "series_set", f"{alt}-eligible ({len(both)} series)")
            comp.append(t.reset_index())
        out["methods"] = pd.concat(comp, ignore_index=True)
        det = det_all[det_all["method"] == "auto"].drop(columns="series")
        a, b = _halves(det)
        ka, kb = estimate_inflation(det[a], level=level), estimate_inflation(det[b], level=level)
        ca = estimate_bend_variance(det[a], level=level)
        cb = estimate_bend_variance(det[b], level=level)
        split = pd.DataFrame({
            "plain_A": (det[a]["scaled_error"] <= 1).groupby(det[a]["horizon"]).mean(),
            "k_A_from_B": _coverage_with(det[a], kb),
            "const_A_from_B": _coverage_const_by_model(det[b], det[a], level=level),
            "bend_A_from_B": _coverage_with_bend(det[a], cb),
            "plain_B": (det[b]["scaled_error"] <= 1).groupby(det[b]["horizon"]).mean(),
            "k_B_from_A": _coverage_with(det[b], ka),
            "const_B_from_A": _coverage_const_by_model(det[a], det[b], level=level),
            "bend_B_from_A": _coverage_with_bend(det[b], ca),
            "n_A": det[a].groupby("horizon").size(), "n_B": det[b].groupby("horizon").size(),
        })
        out["split"] = split.rename_axis("horizon").reset_index()
        c = estimate_bend_variance(det, level=level)
        out["c"] = pd.DataFrame({"horizon": list(c), "c": list(c.values()),
                                 "sqrt_c": np.sqrt(list(c.values()))})
        k = estimate_inflation(det, level=level)
        out["k"] = pd.DataFrame({"horizon": list(k), "k": list(k.values())})
        # the former k(h) applied to the same forecasts: coverage and median width
        kh = det["horizon"].map(lambda h: k.get(int(h), k[max(k)]))
        M = matrix(panel, cat)
        bounds = M.keys.assign(lo=M.lower, hi=M.upper)
        dk = det.merge(bounds, on=["indicator", "area", "sex"], how="left")
        mc = dk["model"].map({"linear": 0, "logit": 1, "log": 2}).to_numpy()
        half = (dk["t_q"] * dk["se_ols"] * kh.to_numpy()).to_numpy()
        zh = dk["z_hat"].to_numpy()
        width = inverse(zh + half, mc, dk["lo"].to_numpy(), dk["hi"].to_numpy()) \
            - inverse(zh - half, mc, dk["lo"].to_numpy(), dk["hi"].to_numpy())
        out["before_k"] = pd.DataFrame({
            "coverage": (det["scaled_error"] <= kh).groupby(det["horizon"]).mean(),
            "median_width": pd.Series(width, index=det.index).groupby(det["horizon"]).median(),
        }).rename_axis("horizon").reset_index()
        after = summarise_backtest(
            backtest(panel, cat, horizon=horizon, method="all", calibrated=True, detail=True,
                     level=level), level=level)
        out["after"] = after
    out["noisy_lines"] = noisy_lines_report(level=level)
    return out


def damped_trend_report(*, horizon: int = 6, level: float = 0.8,
                        min_train: int = 5) -> pd.DataFrame:
    """Would a damped trend earn its place?  Rolling-origin comparison on the real series.

    For every series and every origin (as in :func:`fzanalysis.trend.backtest`), fits
    ``statsmodels.tsa.exponential_smoothing.ets.ETSModel(error="add", trend="add",
    damped_trend=True)`` to all data up to the origin (missing years are dropped: ETS needs a
    regular series, so gaps are closed up, a simplification in its favour) and scores its
    ``level`` prediction interval and point forecast 1..``horizon`` steps ahead against the
    observed values, next to the automatic model of :func:`project` on the same forecasts.
    Slow (one ETS fit per origin, ~1,000 fits); not run by the tests.

    Returns
    -------
    DataFrame with ``horizon, n, coverage_ets, coverage_auto, mae_ets, mae_auto``.
    """
    # statsmodels' ETS is only needed by this slow report (not run by the tests)
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    panel, cat = load_real_series()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = backtest(panel, cat, horizon=horizon, level=level, min_train=min_train,
                        detail=True)
        rows = []
        for (ind, area, sex), d in panel.groupby(["indicator", "area", "sex"], sort=True):
            d = d.sort_values("year")
            years, vals = d["year"].to_numpy(), d["value"].to_numpy(dtype=float)
            for k in range(min_train - 1, len(years) - 1):
                try:
                    res = ETSModel(pd.Series(vals[: k + 1]), error="add", trend="add",
                                   damped_trend=True).fit(disp=False)
                    fr = res.get_prediction(start=k + 1, end=k + horizon).summary_frame(
                        alpha=1 - level)
                except Exception:
                    continue
                for step in range(1, horizon + 1):
                    j = k + step
                    if j >= len(years):
                        break
                    h = int(years[j] - years[k])
                    if h > horizon:
                        break
                    # gaps closed up: step-ahead forecast used for a calendar horizon h
                    f = fr.iloc[step - 1]
                    rows.append((ind, area, sex, int(years[k]), h, vals[j], f["mean"],
                                 f["pi_lower"], f["pi_upper"]))
    ets = pd.DataFrame(rows, columns=["indicator", "area", "sex", "origin", "horizon", "actual",
                                      "projected", "lower", "upper"])
    both = ets.merge(auto, on=["indicator", "area", "sex", "origin", "horizon"],
                     suffixes=("_ets", "_auto"))
    both["cov_ets"] = both["actual_ets"].between(both["lower_ets"], both["upper_ets"])
    both["err_ets"] = (both["actual_ets"] - both["projected_ets"]).abs()
    g = both.groupby("horizon")
    return pd.DataFrame({
        "n": g.size(), "coverage_ets": g["cov_ets"].mean(), "coverage_auto": g["covered"].mean(),
        "mae_ets": g["err_ets"].mean(), "mae_auto": g["abs_error"].mean(),
    }).reset_index()


def noisy_lines_report(*, n_series: int = 400, n_points: int = 12, sd: float = 5.0,
                       horizon: int = 6, level: float = 0.8, seed: int = 7) -> pd.DataFrame:
    """Coverage on simulated noisy straight lines: does the calibration over-widen noisy series?

    ``n_series`` percentages on straight lines (level 50, slope N(0, 0.3) points a year over
    2009-2020 by default) with independent normal noise of SD ``sd`` points -- the situation of a
    small district series whose year-to-year noise dwarfs any bend.  Rolling-origin backtests of
    the automatic model with the project defaults (window 8, damping 0.8), calibrated and plain.
    With no bend, a calibration that only adds bend variance should leave coverage near
    ``level``; a multiplicative k(h) pushes it towards 1.

    Returns
    -------
    DataFrame with ``horizon, n, coverage_calibrated, coverage_plain, median_width_calibrated,
    median_width_plain``.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2021 - n_points, 2021)
    ids = [f"sim{k}" for k in range(n_series)]
    slopes = rng.normal(0, 0.3, n_series)
    vals = 50 + slopes[:, None] * (years - years[0]) + rng.normal(0, sd, (n_series, len(years)))
    panel = pd.DataFrame({"indicator": np.repeat(ids, len(years)),
                          "year": np.tile(years, n_series), "value": vals.ravel()})
    cat = pd.DataFrame({"id": ids, "unit": "percent", "comparator": "increase", "target": np.nan})
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for cal in (True, False):
            # plain = the textbook OLS interval (no robust fit either)
            s = backtest(panel, cat, horizon=horizon, level=level, calibrated=cal, robust=cal)
            out[cal] = s.set_index("horizon")
    return pd.DataFrame({
        "n": out[True]["n_forecasts"],
        "coverage_calibrated": out[True]["coverage"], "coverage_plain": out[False]["coverage"],
        "median_width_calibrated": out[True]["median_width"],
        "median_width_plain": out[False]["median_width"],
    }).reset_index()


def noise_thresholds(points: range = range(5, 16), *, sims: int = 40000, rate: float = 0.01,
                     seed: int = 11) -> pd.DataFrame:
    """Detection thresholds of the robust fit with a false-positive rate ``rate`` on pure noise.

    For each window size n in ``points``, ``sims`` windows of n consecutive years of independent
    standard normal noise (both statistics are invariant to the level, slope and scale of a
    straight line, so noise about any line gives the same figures) go through
    :func:`~fzanalysis.trend.engine.robust_fit` (rounding step 0): ``outlier_k`` is the
    (1 - ``rate``) quantile of the largest |residual| / robust scale (never the last point);
    ``break_f``, with outliers left out at that ``outlier_k``, the (1 - ``rate``) quantile of the
    F statistic of the best split; ``kink_f``, with outliers and steps found at those
    thresholds, the (1 - ``rate``) quantile of the F statistic of the best turn (0 where a step
    was found: the whole turn test fires in ``rate`` of the windows; ``inf`` where the window is
    too short for a turn).  These are the tables ``trend.yaml: robust.outlier_k``,
    ``robust.break_f`` and ``robust.kink_f`` (methods.md 5.1).

    Returns
    -------
    DataFrame with ``n, outlier_k, break_f, kink_f``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in points:
        years = np.arange(2000, 2000 + n)
        Z = rng.standard_normal((sims, n))
        wmask = np.ones((sims, n), dtype=bool)
        floor = np.zeros(sims)
        diag: dict[str, np.ndarray] = {}
        robust_fit(years, Z, wmask, floor, outlier_k=np.inf, break_f=np.inf, diagnostics=diag)
        k = float(np.quantile(diag["outlier_ratio"], 1.0 - rate))
        diag = {}
        robust_fit(years, Z, wmask, floor, outlier_k=k, break_f=np.inf, kink_f=np.inf,
                   diagnostics=diag)
        f = float(np.quantile(diag["break_f"], 1.0 - rate))
        diag = {}
        robust_fit(years, Z, wmask, floor, outlier_k=k, break_f=f, kink_f=np.inf,
                   diagnostics=diag)
        # 0 where a step was found or no turn is possible: the rate is that of the whole test
        kf = float(np.quantile(diag["kink_f"], 1.0 - rate))
        rows.append((n, round(k, 2), round(f, 1), round(kf, 1) if kf > 0 else np.inf))
    return pd.DataFrame(rows, columns=["n", "outlier_k", "break_f", "kink_f"])


# ---------------------------------------------------------------------------------------------
# the calibration corpus (data/calibration) and the official Chinese series


def load_china_official(*, min_values: int = CHINA_MIN_VALUES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The national series of ``data/reference/panel.csv`` with at least ``min_values`` years.

    Read from the reference panel itself (:func:`fzanalysis.reference.load`), never copied.
    The good direction is that of the plan catalogue's comparator for the indicator (``up``
    where the catalogue has none).

    Returns
    -------
    (series, manifest) in the format of :func:`load_corpus` (family ``china_official``,
    split ``dev``).
    """
    ref = reference.load()
    ref = ref[ref["area"] == "100000"]
    plan = catalog_mod.load().set_index("id")
    rcat = reference.catalog().set_index("id")
    units = config.units()
    series, mani = [], []
    for (ind, sex), g in ref.groupby(["indicator", "sex"], sort=True):
        if len(g) < min_values:
            continue
        sid = f"china_official.{ind}.{sex}"
        g = g.sort_values("year")
        series.append(pd.DataFrame({"series_id": sid, "year": g["year"].to_numpy(),
                                    "value": g["value"].to_numpy(float),
                                    "numerator": np.nan, "denominator": np.nan}))
        unit = str(g["unit"].iloc[0])
        comp = plan.at[ind, "comparator"] if ind in plan.index else ">="
        up = int(comparators.good_direction(comp)) >= 0
        mani.append(dict(series_id=sid, family="china_official",
                         name_en=str(rcat.at[ind, "name_en"]) if ind in rcat.index else ind,
                         name_zh=str(g["name_zh"].iloc[0]), unit=unit,
                         lower_bound=float(units.at[unit, "lower_bound"]),
                         upper_bound=float(units.at[unit, "upper_bound"]),
                         area="CHN", indicator_code=ind,
                         source="data/reference/panel.csv (NBS / NHC releases, cited per value)",
                         direction="up" if up else "down", indicator_family="china_official",
                         first_year=int(g["year"].min()), last_year=int(g["year"].max()),
                         n_values=len(g), split="dev"))
    cols = ["series_id", "year", "value", "numerator", "denominator"]
    return (pd.concat(series, ignore_index=True) if series else pd.DataFrame(columns=cols),
            pd.DataFrame(mani))


def load_corpus(*, china_official: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The calibration corpus: ``(series, manifest)`` of ``data/calibration/`` (its README).

    With ``china_official`` the family of :func:`load_china_official` is appended (dev side).
    """
    series = config.read_csv("calibration", "series.csv")
    manifest = config.read_csv("calibration", "manifest.csv")
    for col in ("year", "value", "numerator", "denominator"):
        series[col] = pd.to_numeric(series[col].replace("", np.nan))
    series["year"] = series["year"].astype(int)
    for col in ("lower_bound", "upper_bound", "first_year", "last_year", "n_values"):
        manifest[col] = pd.to_numeric(manifest[col].replace("", np.nan))
    manifest["name_zh"] = manifest["name_zh"].fillna("")
    if china_official:
        s2, m2 = load_china_official()
        series = pd.concat([series, s2], ignore_index=True)
        manifest = pd.concat([manifest, m2], ignore_index=True)
    return series, manifest


#: Columns a corpus read by :func:`read_corpus` must have (others are kept as they are).
CORPUS_SERIES_COLUMNS: tuple[str, ...] = ("series_id", "year", "value")
CORPUS_MANIFEST_COLUMNS: tuple[str, ...] = ("series_id", "family", "unit", "lower_bound",
                                            "upper_bound", "direction")


def read_corpus(folder) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A corpus of one's own real series, in the format of :func:`load_corpus`, checked.

    For reviewers who judge the engine on series it has never seen: put ``series.csv``
    (``series_id, year, value`` and optionally ``numerator, denominator``) and ``manifest.csv``
    (``series_id, family, unit, lower_bound, upper_bound, direction`` and optionally ``split``,
    ``source``) in a folder and pass it here, or to ``benchmarks/calibration.py --corpus``.
    ``unit`` is a key of ``data/units.csv``; ``direction`` is ``up`` (good direction up, targets
    ``>=``) or ``down``; empty bounds mean none; a missing or empty ``split`` is ``external``.

    Parameters
    ----------
    folder : str or Path
        The folder holding the two files.

    Returns
    -------
    (series, manifest) : tuple of DataFrame

    Raises
    ------
    PanelError
        Every problem at once, each naming the file, row (as a spreadsheet shows it: the header
        is row 1), column, what was found and what was expected.  Nothing is dropped or coerced.
    """
    from pathlib import Path

    from fzanalysis.exceptions import PanelError

    folder = Path(folder)
    frames, problems = {}, []
    for name, required in (("series.csv", CORPUS_SERIES_COLUMNS),
                           ("manifest.csv", CORPUS_MANIFEST_COLUMNS)):
        path = folder / name
        if not path.is_file():
            raise PanelError(str(path), [f"{path}: file not found (expected {name} with columns "
                                         f"{', '.join(required)})"])
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise PanelError(str(path), [f"{path}: missing column(s) {', '.join(missing)} "
                                         f"(expected {', '.join(required)})"])
        frames[name] = (path, df)

    def numeric(name, col, *, required, integer=False):
        path, df = frames[name]
        if col not in df.columns:
            return pd.Series(np.nan, index=df.index)
        text = df[col].str.strip()
        out = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = (text != "") & (out.isna() | ~np.isfinite(out))
        if integer:
            bad |= out.notna() & (out != out.round())
        if required:
            bad |= text == ""
        what = "an integer year" if integer else ("a number" if required else "a number or empty")
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(f"{path}, row {i + 2}, column {col}: found {df[col].iloc[i]!r}, "
                            f"expected {what}")
        return out

    spath, sdf = frames["series.csv"]
    mpath, mdf = frames["manifest.csv"]
    series = pd.DataFrame({"series_id": sdf["series_id"].str.strip()})
    series["year"] = numeric("series.csv", "year", required=True, integer=True)
    series["value"] = numeric("series.csv", "value", required=True)
    for col in ("numerator", "denominator"):
        series[col] = numeric("series.csv", col, required=False)
    manifest = mdf.copy()
    manifest["series_id"] = manifest["series_id"].str.strip()
    for col in ("lower_bound", "upper_bound"):
        manifest[col] = numeric("manifest.csv", col, required=False)
    units = set(config.units()["key"])
    for i, (sid, unit, d) in enumerate(zip(manifest["series_id"], manifest["unit"],
                                           manifest["direction"])):
        if unit not in units:
            problems.append(f"{mpath}, row {i + 2}, column unit: found {unit!r}, expected one of "
                            f"{', '.join(sorted(units))}")
        if d not in ("up", "down"):
            problems.append(f"{mpath}, row {i + 2}, column direction: found {d!r}, "
                            "expected up or down")
        if sid == "":
            problems.append(f"{mpath}, row {i + 2}, column series_id: empty, expected an id")
    dup = manifest["series_id"].duplicated(keep=False) & (manifest["series_id"] != "")
    for i in np.flatnonzero(dup.to_numpy()):
        problems.append(f"{mpath}, row {i + 2}, column series_id: {manifest['series_id'].iloc[i]!r} "
                        "is listed more than once, expected one row per series")
    key = series[["series_id", "year"]]
    dup = key.duplicated(keep=False) & series["year"].notna()
    for i in np.flatnonzero(dup.to_numpy()):
        problems.append(f"{spath}, row {i + 2}, columns series_id/year: "
                        f"{series['series_id'].iloc[i]} {sdf['year'].iloc[i]} appears more than "
                        "once, expected one value per series and year")
    known = set(manifest["series_id"])
    for i in np.flatnonzero(~series["series_id"].isin(known).to_numpy()):
        problems.append(f"{spath}, row {i + 2}, column series_id: found "
                        f"{series['series_id'].iloc[i]!r}, expected a series_id of {mpath.name}")
    bounds = manifest.drop_duplicates("series_id").set_index("series_id")[["lower_bound", "upper_bound"]]
    lo, hi = bounds.reindex(series["series_id"]).to_numpy(float).T
    out = (series["value"].to_numpy() < lo) | (series["value"].to_numpy() > hi)
    for i in np.flatnonzero(out):
        problems.append(f"{spath}, row {i + 2}, column value: found {sdf['value'].iloc[i]!r}, "
                        f"expected a value within the series' bounds "
                        f"[{'none' if np.isnan(lo[i]) else f'{lo[i]:g}'}, "
                        f"{'none' if np.isnan(hi[i]) else f'{hi[i]:g}'}]")
    if problems:
        raise PanelError(str(folder), problems)
    if "split" not in manifest.columns:
        manifest["split"] = "external"
    manifest["split"] = manifest["split"].replace("", "external")
    series["year"] = series["year"].astype(int)
    return series, manifest


def corpus_panel(series: pd.DataFrame, manifest: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Panel and catalogue of corpus series for :func:`fzanalysis.trend.backtest`.

    One indicator per series (its ``series_id``), district area, sex ``T``; counts kept where
    every year has them.  The catalogue's comparator follows the family's good direction (its
    target does not matter for backtests).
    """
    s = series[series["series_id"].isin(manifest["series_id"])].copy()
    full = s.groupby("series_id")["numerator"].transform(lambda c: c.notna().all())
    s.loc[~full, ["numerator", "denominator"]] = np.nan
    panel = pd.DataFrame({"indicator": s["series_id"].to_numpy(), "year": s["year"].to_numpy(int),
                          "area": codes.district(), "sex": "T", "value": s["value"].to_numpy(float),
                          "numerator": s["numerator"].to_numpy(float),
                          "denominator": s["denominator"].to_numpy(float)})
    cat = pd.DataFrame({"id": manifest["series_id"].to_numpy(),
                        "unit": manifest["unit"].to_numpy(),
                        "comparator": np.where(manifest["direction"] == "up", "increase", "decrease"),
                        "target": np.nan,
                        "lower_bound": manifest["lower_bound"].to_numpy(float),
                        "upper_bound": manifest["upper_bound"].to_numpy(float)})
    return panel, cat


def interval_bend_table(*, split: str = "dev", families: tuple[str, ...] | None = None,
                        horizon: int = 10, level: float = 0.8,
                        series_ids: list[str] | None = None) -> dict[int, float]:
    """Regenerate ``trend.yaml: interval_bend`` (the generator of that table; methods.md 8).

    Rolling-origin backtests (:func:`fzanalysis.trend.backtest`, method ``auto``, every other
    setting as stored in ``data/trend.yaml``, origins with at least :data:`CORPUS_MIN_TRAIN`
    points) of the ``split`` series of :func:`load_corpus`, horizons 1..``horizon``; c(h) from
    :func:`fzanalysis.trend.estimate_bend_variance` (the ``level``-quantile of the factor each
    forecast needed, non-decreasing in h).

    Parameters
    ----------
    split : {"dev", "validation", "all"}
        Tune on ``dev`` only (the default); the stored table comes from it.
    families, series_ids : optional
        Restrict to these families / series (the fast golden test uses a subset).
    """
    series, manifest = load_corpus()
    if split != "all":
        manifest = manifest[manifest["split"] == split]
    if families is not None:
        manifest = manifest[manifest["family"].isin(families)]
    if series_ids is not None:
        manifest = manifest[manifest["series_id"].isin(series_ids)]
    panel, cat = corpus_panel(series, manifest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        det = backtest(panel, cat, horizon=horizon, level=level, method="auto",
                       min_train=CORPUS_MIN_TRAIN, detail=True)
    return estimate_bend_variance(det, level=level)


if __name__ == "__main__":  # pragma: no cover - prints the generated table and the old reports
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    print("interval_bend (dev split of data/calibration):")
    for h, c in interval_bend_table().items():
        print(f"  {h}: {c}")
