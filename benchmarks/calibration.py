#!/usr/bin/env python3
"""Calibration backtest of the projection engine on the real-series corpus (issue 11).

Evaluates the CURRENT engine through its public API only, ``fzanalysis.project(panel, catalog,
target_year=..., level=0.8)``, on ``data/calibration/`` (see its README for sources, selection
rules and the dev/validation split).

Design (rolling origins, Tashman 2000): for every series, every observed origin year ``o`` with at
least 8 observed points up to ``o`` and an observed value at ``o + h`` (h = 5, 10), the series is
truncated to the years <= o and projected to ``o + h``.  All eligible series of one
(origin, horizon) are stacked into ONE panel (one indicator id per series and target design), so
the whole backtest is ~100 calls of ``project``.

Recorded per forecast: whether the 80 % interval covers the outcome, whether the outcome is better
than the central projection (in the family's good direction), and p_meet for two target designs:

(a) ``around``: target = outcome + d, d = U(-1, 1) x S (a deterministic pseudo-random draw per
    series, origin and horizon), comparator ``>=`` for families whose good direction is up and
    ``<=`` for down; targets are clipped to the unit's bounds.  About half are met by
    construction, so a calibrated p_meet has Brier score < 0.25.
(b) ``last``: target = last observed value + f x S in the good direction, f in
    (0, 0.5, 1) -- "hold the level", "half the typical move", "the typical move" -- clipped to
    the unit's bounds.

S is the series' own scale of an h-year move, computed from the data up to the origin only:
S = h x mean |annual change| over the observed history (changes across a gap are divided by
the gap length), floored at 0.001 x max(|mean level|, 1).  (The mean, not the median: a share
that moves only in election years has a median annual change of 0, which would put every
target on the outcome itself.)

Usage::

    .venv/bin/python benchmarks/calibration.py --split dev --out reports/calibration-dev
    .venv/bin/python benchmarks/calibration.py --split holdout --out DIR   # the later holdout (methods 8.9)
    .venv/bin/python benchmarks/calibration.py --build-corpus   # rebuild series.csv/manifest.csv
    .venv/bin/python benchmarks/calibration.py --corpus MY_DIR --out DIR   # your own real series

Importable: :func:`load_corpus`, :func:`run_backtest` (forecast table), :func:`summarize`
(dict of tables) and :func:`build_corpus`.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# the corpus is read by its one owner
from fzanalysis.trend.calibration import load_corpus, read_corpus

ROOT = Path(__file__).resolve().parents[1]
CAL_DIR = ROOT / "data" / "calibration"
SRC_DIR = CAL_DIR / "sources"

HORIZONS = (5, 10)
MIN_POINTS = 8
LEVEL = 0.8
FRACTIONS = (0.0, 0.5, 1.0)
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
DEV_SHARE = 0.6
AREA = "440117"  # every corpus series is passed to the engine under the district code

# ---------------------------------------------------------------------------------------------
# corpus
# ---------------------------------------------------------------------------------------------

# One entry per transcribed source file (data/calibration/sources/*.txt).  Keys: the file, the
# family, a short key used in series ids, the indicator code, unit, names, publisher, good
# direction and the first and last year kept.
SOURCES = [
    dict(file="gapminder_dtp3.txt", holdout="gapminder_dtp3_holdout.txt", family="coverage", key="dtp3", code="SH.IMM.IDPT",
         unit="percent", lower=0.0, upper=100.0, direction="up",
         name_en="DTP3 immunization coverage among 1-year-olds (%)", name_zh="百白破疫苗第三剂接种率",
         publisher="WHO/UNICEF estimates of national immunization coverage (WUENIC), via Gapminder"),
    dict(file="gapminder_mcv.txt", holdout="gapminder_mcv_holdout.txt", family="coverage", key="mcv1", code="SH.IMM.MEAS",
         unit="percent", lower=0.0, upper=100.0, direction="up",
         name_en="Measles-containing vaccine, first dose, coverage among 1-year-olds (%)",
         name_zh="含麻疹成分疫苗第一剂接种率",
         publisher="WHO/UNICEF estimates of national immunization coverage (WUENIC), via Gapminder"),
    dict(file="wdi_parliament.txt", holdout="wdi_parliament_holdout.txt", family="steps", key="parl", code="SG.GEN.PARL.ZS",
         unit="percent", lower=0.0, upper=100.0, direction="up",
         name_en="Proportion of seats held by women in national parliaments (%)",
         name_zh="国家议会中女性席位比例",
         publisher="Inter-Parliamentary Union, via World Bank WDI (CC BY 4.0)"),
    dict(file="gapminder_gpi_prim_sec.txt", holdout="gapminder_gpi_prim_sec_holdout.txt", family="gap", key="gpi", code="SE.ENR.PRSC.FM.ZS/100",
         unit="ratio", lower=0.0, upper=float("nan"), direction="up",
         name_en="Ratio of girls to boys in primary and secondary education (gender parity index)",
         name_zh="中小学女生与男生入学比（性别均等指数）",
         publisher="UNESCO Institute for Statistics, via Gapminder"),
]
SMALL_COUNTS = dict(
    deaths="gapminder_maternal_deaths.txt", ratio="gapminder_mmr.txt", family="small_counts",
    key="mmr", code="maternal deaths; MMR per 100 000 live births", unit="per_100k_live_births",
    lower=0.0, upper=float("nan"), direction="down",
    name_en="Maternal mortality ratio (registered maternal deaths per 100 000 live births)",
    name_zh="孕产妇死亡率（1/10万）",
    publisher="National vital registration, compiled by Gapminder")
FERTILITY = dict(
    file="statsmodels_fertility_subset.csv", family="fertility", key="tfr", code="SP.DYN.TFRT.IN",
    unit="ratio", lower=0.0, upper=float("nan"), direction="down",
    name_en="Fertility rate, total (births per woman)", name_zh="总和生育率",
    publisher="World Bank WDI (UN Population Division estimates), copy shipped with statsmodels",
    holdout="statsmodels_fertility_holdout.csv",
    repo="statsmodels/statsmodels", path="statsmodels/datasets/fertility/fertility.csv",
    commit="", url="https://github.com/statsmodels/statsmodels/blob/main/statsmodels/datasets/fertility/fertility.csv")

YEAR_RANGE = {"default": (1990, 2030), "small_counts": (1950, 1980)}
MIN_VALUES = 15
HOLDOUT_FERTILITY = 40  # fertility rows kept in the holdout (the first by sha256 of the series id)
# WDI aggregates that can appear in the alphabetical ranges read
AGGREGATES = {"ARB", "CEB", "CSS", "CAA", "EAP", "EAR", "EAS", "ECA", "ECS", "EMU", "EUU", "FCS",
              "LTE", "PRE", "PST", "IDA", "IDB", "IDX", "IBD", "IBT",
              # the rest of the World Bank's aggregate codes (the holdout reads G-Z)
              "HIC", "HPC", "INX", "LAC", "LCN", "LDC", "LIC", "LMC", "LMY", "MEA", "MIC", "MNA",
              "NAC", "OED", "OSS", "PSS", "SAS", "SSA", "SSF", "SST", "TEA", "TEC", "TLA", "TMN",
              "TSA", "TSS", "UMC", "WLD"}


def _read_source(path: Path) -> tuple[dict[str, str], dict[str, dict[int, float]]]:
    """Read a transcribed source file: '# key: value' header lines and 'geo,first_year,tokens'."""
    meta: dict[str, str] = {}
    data: dict[str, dict[int, float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta.setdefault(key.strip(), value.strip())
            continue
        geo, first, tokens = line.split(",", 2)
        year = int(first)
        values: dict[int, float] = {}
        for tok in tokens.split():
            if ":" in tok:
                y, v = tok.split(":")
                year = int(y)
                tok = v
            if tok != "NA":
                values[year] = float(tok)
            year += 1
        data[geo.upper()] = values
    return meta, data


def _hash(series_id: str) -> int:
    return int(hashlib.sha256(series_id.encode()).hexdigest()[:12], 16)


def _split(manifest: pd.DataFrame) -> pd.Series:
    """Deterministic split by sha256(series_id), stratified by family; China -> dev.

    Series read from a holdout source (``# split: holdout``) keep that split and take no part in
    the dev / validation draw, which is therefore exactly as it was before they were added."""
    h = manifest["series_id"].map(_hash)
    split = pd.Series("validation", index=manifest.index)
    fixed = manifest["fixed_split"].notna()
    split[fixed] = manifest.loc[fixed, "fixed_split"]
    for fam, idx in manifest[~fixed].groupby("family").groups.items():
        if fam == "china":
            split[idx] = "dev"
            continue
        order = h[idx].sort_values().index
        n_dev = int(round(DEV_SHARE * len(order)))
        split[order[:n_dev]] = "dev"
    return split


def build_corpus(write: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build ``series.csv`` and ``manifest.csv`` from ``data/calibration/sources``."""
    rows: list[dict] = []
    mani: list[dict] = []

    def add(family, key, geo, values, spec, meta, numer=None, denom=None, split=None):
        lo, hi = YEAR_RANGE.get(family, YEAR_RANGE["default"])
        years = sorted(y for y in values if lo <= y <= hi)
        if len(years) < MIN_VALUES or geo in AGGREGATES:
            return
        fam = "china" if geo == "CHN" else family
        sid = f"{fam}.{key}.{geo}"
        for y in years:
            r = {"series_id": sid, "year": y, "value": values[y]}
            if numer is not None:
                r["numerator"] = numer.get(y, np.nan)
                r["denominator"] = denom.get(y, np.nan)
            rows.append(r)
        repo, path, commit = meta.get("source", spec.get("repo", "")), meta.get("path", spec.get("path", "")), meta.get("commit", spec.get("commit", ""))
        url = spec.get("url") or (f"https://github.com/{repo}/blob/{commit}/{path}" if repo else "")
        mani.append(dict(
            series_id=sid, family=fam, name_en=spec["name_en"], name_zh=spec["name_zh"],
            unit=spec["unit"], lower_bound=spec["lower"], upper_bound=spec["upper"], area=geo,
            indicator_code=spec["code"], source=spec["publisher"], repo=repo, path=path,
            commit=commit, url=url, direction=spec["direction"],
            indicator_family=family, first_year=years[0], last_year=years[-1], n_values=len(years),
            fixed_split=split))

    for spec in SOURCES:
        for name in (spec["file"], spec.get("holdout")):
            if name is None:
                continue
            meta, data = _read_source(SRC_DIR / name)
            for geo, values in data.items():
                add(spec["family"], spec["key"], geo, values, spec, meta, split=meta.get("split"))

    sc = SMALL_COUNTS
    meta_d, deaths = _read_source(SRC_DIR / sc["deaths"])
    meta_r, ratio = _read_source(SRC_DIR / sc["ratio"])
    for geo, mmr in ratio.items():
        k = deaths.get(geo, {})
        # denominator = live births implied by the published count and ratio (the file has no
        # births column): round(deaths x 100 000 / ratio); documented in the README
        births = {y: float(round(k[y] * 1e5 / mmr[y])) for y in mmr if y in k and mmr[y] > 0}
        meta = dict(meta_d)
        meta["path"] = meta_d["path"] + " ; " + meta_r["path"]
        add(sc["family"], sc["key"], geo, mmr, sc, meta, numer=k, denom=births)

    fe = FERTILITY
    for name, split in ((fe["file"], None), (fe["holdout"], "holdout")):
        with open(SRC_DIR / name, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            for r in reader:
                values = {int(y): float(v) for y, v in zip(header[4:], r[4:]) if v}
                add(fe["family"], fe["key"], r[1], values, fe, {}, split=split)

    manifest = pd.DataFrame(mani)
    # the holdout's fertility rows: the first HOLDOUT_FERTILITY by sha256(series_id), so that
    # the smooth UN estimates (about 140 rows) do not outweigh the other families
    fert = manifest[(manifest["family"] == "fertility") & (manifest["fixed_split"] == "holdout")]
    drop = set(fert["series_id"].iloc[np.argsort(fert["series_id"].map(_hash).to_numpy())[HOLDOUT_FERTILITY:]])
    manifest = manifest[~manifest["series_id"].isin(drop)].copy()
    manifest["split"] = _split(manifest)
    manifest = manifest.drop(columns="fixed_split")
    series = pd.DataFrame([r for r in rows if r["series_id"] not in drop])
    for c in ("numerator", "denominator"):
        if c not in series:
            series[c] = np.nan
    manifest = manifest.sort_values(["family", "series_id"]).reset_index(drop=True)
    series = series.sort_values(["series_id", "year"]).reset_index(drop=True)
    if write:
        series.to_csv(CAL_DIR / "series.csv", index=False, float_format="%.10g")
        manifest.to_csv(CAL_DIR / "manifest.csv", index=False)
    return series, manifest


# ---------------------------------------------------------------------------------------------
# backtest
# ---------------------------------------------------------------------------------------------

def _uniform(*parts) -> float:
    """Deterministic U(-1, 1) draw from the hash of ``parts``."""
    h = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return int(h[:13], 16) / float(16 ** 13) * 2.0 - 1.0


def _scale(years: np.ndarray, values: np.ndarray, h: int) -> float:
    dy = np.diff(values) / np.diff(years)
    mean_move = float(np.mean(np.abs(dy))) if len(dy) else 0.0
    floor = 0.001 * max(abs(float(np.mean(values))), 1.0)
    return max(h * mean_move, floor)


def _clip(c: float, lo: float, hi: float) -> float:
    if not math.isnan(lo):
        c = max(c, lo)
    if not math.isnan(hi):
        c = min(c, hi)
    return c


def origins(data: dict[str, pd.DataFrame], *, min_points: int, horizons) -> dict[tuple[int, int], list[str]]:
    """The rolling origins: (origin year, horizon) -> series with at least ``min_points`` years up
    to the origin and an observed outcome ``horizon`` years later."""
    jobs: dict[tuple[int, int], list[str]] = {}
    for sid, g in data.items():
        years = g["year"].to_numpy()
        obs = set(years.tolist())
        for i, o in enumerate(years):
            if i + 1 < min_points:
                continue
            for h in horizons:
                if o + h in obs:
                    jobs.setdefault((int(o), h), []).append(sid)
    return jobs


def run_backtest(series: pd.DataFrame, manifest: pd.DataFrame, *, split: str = "all",
                 horizons=HORIZONS, min_points: int = MIN_POINTS, use_counts: bool = True,
                 fractions=FRACTIONS, project_kwargs: dict | None = None,
                 verbose: bool = False) -> pd.DataFrame:
    """Rolling-origin backtest; one row per forecast and target design.

    Columns: series_id, family, origin, horizon, design (``around`` / ``last``), fraction,
    comparator, target, outcome, last_value, projected, lower, upper, p_meet, met, covered,
    better, method, n_points, break_year, turn_year (the robust fit's step and turn, NA: none).
    """
    import fzanalysis

    kw = dict(level=LEVEL)
    kw.update(project_kwargs or {})
    man = manifest if split == "all" else manifest[manifest["split"] == split]
    man = man.set_index("series_id")
    data = {sid: g.sort_values("year") for sid, g in series[series["series_id"].isin(man.index)].groupby("series_id")}

    jobs = origins(data, min_points=min_points, horizons=horizons)

    out = []
    for (o, h), sids in sorted(jobs.items()):
        panels, cats, meta = [], [], []
        for sid in sids:
            g = data[sid]
            m = man.loc[sid]
            past = g[g["year"] <= o]
            yrs, vals = past["year"].to_numpy(float), past["value"].to_numpy(float)
            outcome = float(g.loc[g["year"] == o + h, "value"].iloc[0])
            last = float(vals[-1])
            S = _scale(yrs, vals, h)
            up = m["direction"] == "up"
            comp = ">=" if up else "<="
            sign = 1.0 if up else -1.0
            lo, hi = float(m["lower_bound"]), float(m["upper_bound"])
            designs = [("around", np.nan, _clip(outcome + _uniform(sid, o, h) * S, lo, hi))]
            designs += [("last", f, _clip(last + sign * f * S, lo, hi)) for f in fractions]
            for k, (design, f, target) in enumerate(designs):
                ind = f"{sid}#{k}"
                p = pd.DataFrame({"indicator": ind, "year": past["year"].astype(int), "area": AREA,
                                  "sex": "T", "value": past["value"]})
                if use_counts and past["numerator"].notna().all() and past["denominator"].notna().all():
                    p["numerator"] = past["numerator"].to_numpy()
                    p["denominator"] = past["denominator"].to_numpy()
                panels.append(p)
                cats.append(dict(id=ind, unit=m["unit"], comparator=comp, target=target,
                                 lower_bound=lo, upper_bound=hi, tolerance=np.nan))
                met = outcome >= target if up else outcome <= target
                meta.append(dict(indicator=ind, series_id=sid, family=m["family"], origin=o,
                                 horizon=h, design=design, fraction=f, comparator=comp,
                                 target=target, outcome=outcome, last_value=last,
                                 met=float(met), up=up))
        panel = pd.concat(panels, ignore_index=True)
        for c in ("numerator", "denominator"):
            if c not in panel:
                panel[c] = np.nan
        res = fzanalysis.project(panel, pd.DataFrame(cats), target_year=o + h, **kw)
        res = res[["indicator", "method", "n_points", "break_year", "turn_year", "projected",
                   "lower", "upper", "p_meet"]]
        df = pd.DataFrame(meta).merge(res, on="indicator", how="left")
        out.append(df)
        if verbose:
            print(f"  origin {o} h={h}: {len(sids)} series", file=sys.stderr)
    if not out:
        return pd.DataFrame()
    f = pd.concat(out, ignore_index=True)
    f["covered"] = np.where(f["lower"].isna() | f["upper"].isna(), np.nan,
                            ((f["lower"] <= f["outcome"]) & (f["outcome"] <= f["upper"])).astype(float))
    diff = np.where(f["up"], f["outcome"] - f["projected"], f["projected"] - f["outcome"])
    f["better"] = np.where(np.isnan(diff), np.nan, np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, 0.5)))
    return f.drop(columns=["indicator", "up"])


# ---------------------------------------------------------------------------------------------
# summaries
# ---------------------------------------------------------------------------------------------

def _bin_labels():
    return [f"{a:.1f}-{b:.1f}" for a, b in zip(BINS[:-1], BINS[1:])]


def summarize(f: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Tables: coverage, better, reliability, brier, methods (all by horizon, overall and family)."""
    one = f[f["design"] == "around"]  # one row per forecast for interval-based measures
    tabs: dict[str, pd.DataFrame] = {}

    def by(df, keys, fn):
        parts = [df.groupby(["horizon"]).apply(fn, include_groups=False).reset_index().assign(family="all")]
        parts.append(df.groupby(keys).apply(fn, include_groups=False).reset_index())
        return pd.concat(parts, ignore_index=True)[["family", "horizon", *[c for c in parts[0].columns if c not in ("family", "horizon")]]]

    tabs["coverage"] = by(one, ["family", "horizon"], lambda g: pd.Series({
        "n": int(g["covered"].notna().sum()), "coverage": g["covered"].mean(),
        "median_width": float(np.nanmedian(g["upper"] - g["lower"])) if g["covered"].notna().any() else np.nan,
        "no_interval": int(g["covered"].isna().sum()), "series": g["series_id"].nunique()}))
    tabs["better"] = by(one, ["family", "horizon"], lambda g: pd.Series({
        "n": int(g["better"].notna().sum()), "share_better": g["better"].mean()}))

    tabs["reliability"] = binned(f)
    g = f[f["p_meet"].notna()]  # the scored forecasts

    def brier(s):
        return pd.Series({"n": int(len(s)), "brier": float(((s["p_meet"] - s["met"]) ** 2).mean()),
                          "mean_p": s["p_meet"].mean(), "met_rate": s["met"].mean(),
                          "brier_constant_met_rate": float(s["met"].mean() * (1 - s["met"].mean())),
                          "p_missing": 0})
    b = [g.groupby(["design", "horizon"]).apply(brier, include_groups=False).reset_index().assign(family="all")]
    b.append(g.groupby(["family", "design", "horizon"]).apply(brier, include_groups=False).reset_index())
    br = pd.concat(b, ignore_index=True)
    miss = f[f["p_meet"].isna()].groupby(["family", "design", "horizon"]).size()
    miss_all = f[f["p_meet"].isna()].groupby(["design", "horizon"]).size()
    br["p_missing"] = [int(miss_all.get((r.design, r.horizon), 0)) if r.family == "all"
                       else int(miss.get((r.family, r.design, r.horizon), 0)) for r in br.itertuples()]
    tabs["brier"] = br[["family", "design", "horizon", "n", "brier", "mean_p", "met_rate",
                        "brier_constant_met_rate", "p_missing"]]
    tabs["methods"] = one.groupby(["family", "method"], dropna=False).size().rename("n").reset_index()
    return tabs


# ---------------------------------------------------------------------------------------------
# what the reliability table cannot say alone: the design's own bias (oracle) and sampling noise
# (cluster bootstrap by series).  The one owner of both; calibration_diagnostics.py reuses them.
# ---------------------------------------------------------------------------------------------

def predictive_table(series: pd.DataFrame, manifest: pd.DataFrame, *, split: str = "all",
                     horizons=HORIZONS, min_points: int = MIN_POINTS) -> pd.DataFrame:
    """One row per forecast of the harness (series x origin x horizon): outcome, S, the draw U
    of the ``around`` design, and the engine's predictive distribution at the outcome's year on
    the model scale -- the two-part mixture of :func:`fzanalysis.trend.engine.mixture_moments`
    (``w, z1, s1, df1, y0, s0, df0, mcode, lower, upper``) and rounding step -- with the fitted
    slope ``b`` and its SE ``sb``.  Reads the engine's internals (the harness itself uses only
    :func:`fzanalysis.project`): the same origins and the same single-series panels."""
    from fzanalysis.trend.engine import Mixture, fit_all, mixture_moments, published_at_bounds
    from fzanalysis.trend.prep import settings
    from fzanalysis.trend.projection import _DEFAULT, _run

    man = manifest if split == "all" else manifest[manifest["split"] == split]
    man = man.set_index("series_id")
    data = {sid: g.sort_values("year")
            for sid, g in series[series["series_id"].isin(man.index)].groupby("series_id")}
    out = []
    for (o, h), sids in sorted(origins(data, min_points=min_points, horizons=horizons).items()):
        panels, cats, meta = [], [], []
        for sid in sids:
            g, m = data[sid], man.loc[sid]
            past = g[g["year"] <= o]
            yrs, vals = past["year"].to_numpy(float), past["value"].to_numpy(float)
            up = m["direction"] == "up"
            p = pd.DataFrame({"indicator": sid, "year": past["year"].astype(int), "area": AREA,
                              "sex": "T", "value": past["value"]})
            if past["numerator"].notna().all() and past["denominator"].notna().all():
                p["numerator"] = past["numerator"].to_numpy()
                p["denominator"] = past["denominator"].to_numpy()
            panels.append(p)
            cats.append(dict(id=sid, unit=m["unit"], comparator=">=" if up else "<=",
                             target=vals[-1], lower_bound=float(m["lower_bound"]),
                             upper_bound=float(m["upper_bound"]), tolerance=np.nan))
            meta.append(dict(series_id=sid, family=m["family"], origin=o, horizon=h, up=up,
                             outcome=float(g.loc[g["year"] == o + h, "value"].iloc[0]),
                             last_value=vals[-1], S=_scale(yrs, vals, h), u=_uniform(sid, o, h)))
        panel = pd.concat(panels, ignore_index=True)
        for c in ("numerator", "denominator"):
            if c not in panel:
                panel[c] = np.nan
        M, res, _ = _run(panel, pd.DataFrame(cats), target_year=o + h, level=LEVEL,
                         method="auto", window=_DEFAULT, damping=None, damping_weight=None,
                         calibrated=True, robust=True)
        md = res.model
        mix = Mixture(*(np.asarray(a)[:, 0] for a in
                        mixture_moments(md, np.full((len(M.unit), 1), float(o + h)),
                                        M.lower, M.upper)))
        w = settings()["window"]
        step = fit_all(M, md.mcode, window=None if w is None else int(w))[4]
        at_lower, at_upper = published_at_bounds(M, step, md.pois)
        out.append(pd.DataFrame(meta).merge(pd.DataFrame(dict(
            series_id=M.keys["indicator"].to_numpy(), **mix._asdict(), lo=M.lower,
            hi=M.upper, step=step, at_lower=at_lower, at_upper=at_upper,
            b=np.where(md.pois, md.pfit.b, md.fit.b),
            sb=np.where(md.pois, md.pfit.se_slope(), md.fit.se_slope()))), on="series_id"))
    return pd.concat(out, ignore_index=True)


def _mixture_of(f: pd.DataFrame):
    from fzanalysis.trend.engine import Mixture
    return Mixture(*(f[k].to_numpy(int if k == "mcode" else float) for k in Mixture._fields))


def score_designs(f: pd.DataFrame, outcome: np.ndarray) -> pd.DataFrame:
    """p_meet and met of both target designs for the given outcomes (one per row of the
    :func:`predictive_table` ``f``): the harness's targets (same S, U and clipping) and the
    engine's own :func:`fzanalysis.trend.engine.mixture_probability`."""
    from fzanalysis.trend.engine import mixture_probability

    up = f["up"].to_numpy(bool)
    sign = np.where(up, 1.0, -1.0)
    lo, hi = f["lo"].to_numpy(float), f["hi"].to_numpy(float)
    S = f["S"].to_numpy(float)
    clip = np.vectorize(_clip)
    targets = {"around": clip(outcome + f["u"].to_numpy() * S, lo, hi)}
    for frac in FRACTIONS:
        targets[f"last{frac}"] = clip(f["last_value"].to_numpy() + sign * frac * S, lo, hi)
    kw = dict(step=f["step"].to_numpy(float), mix=_mixture_of(f),
              at_lower=f["at_lower"].to_numpy(bool), at_upper=f["at_upper"].to_numpy(bool))
    rows = []
    for name, c in targets.items():
        p = mixture_probability(np.where(up, c, -np.inf), np.where(up, np.inf, c), **kw)
        met = np.where(up, outcome >= c, outcome <= c).astype(float)
        rows.append(pd.DataFrame({"series_id": f["series_id"].to_numpy(),
                                  "family": f["family"].to_numpy(),
                                  "design": "around" if name == "around" else "last",
                                  "horizon": f["horizon"].to_numpy(), "p_meet": p, "met": met}))
    return pd.concat(rows, ignore_index=True)


def binned(r: pd.DataFrame) -> pd.DataFrame:
    """Reliability rows (all families and each family) of scored forecasts ``r`` (columns
    family, design, horizon, p_meet, met): n, mean_p, observed, gap, by 0.2-wide bin."""
    labels = _bin_labels()
    g = r[r["p_meet"].notna()].copy()
    g["bin"] = pd.cut(g["p_meet"], BINS, labels=labels, include_lowest=True)
    rel = []
    for fam_name, sub in [("all", g), *g.groupby("family")]:
        t = (sub.groupby(["design", "horizon", "bin"], observed=False)
             .agg(n=("met", "size"), mean_p=("p_meet", "mean"), observed=("met", "mean"))
             .reset_index())
        t.insert(0, "family", fam_name)
        rel.append(t)
    rel = pd.concat(rel, ignore_index=True)
    rel["gap"] = rel["observed"] - rel["mean_p"]
    return rel


def oracle_reliability(f: pd.DataFrame, *, seeds: int = 10) -> pd.DataFrame:
    """Reliability when every outcome is drawn from the engine's own predictive mixture (a
    forecaster calibrated by construction), ``seeds`` draws per forecast, scored exactly as the
    real outcomes: its gaps are the target design's own bias (methods.md 8.9)."""
    from fzanalysis.trend.core import inverse

    runs = []
    for s in range(seeds):
        rng = np.random.default_rng(s)
        naive = rng.random(len(f)) < f["w"].to_numpy(float)
        z1 = f["z1"] + f["s1"] * rng.standard_t(np.where(np.isfinite(f["df1"]), f["df1"], 1e6))
        y0 = f["y0"] + f["s0"] * rng.standard_t(np.where(np.isfinite(f["df0"]) & (f["df0"] >= 1),
                                                         f["df0"], 1e6))
        lo, hi = f["lo"].to_numpy(float), f["hi"].to_numpy(float)
        y0 = np.where(np.isfinite(hi), np.minimum(y0, hi), y0)
        y0 = np.where(np.isfinite(lo), np.maximum(y0, lo), y0)
        y = np.where(naive, y0, inverse(z1, f["mcode"].to_numpy(), lo, hi))
        runs.append(score_designs(f, y))
    return binned(pd.concat(runs, ignore_index=True))


def bootstrap_reliability(f: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0,
                          level: float = 0.9) -> pd.DataFrame:
    """Cluster bootstrap of the reliability table by SERIES (the rolling origins of one series
    are dependent, so forecasts are not resampled one by one): ``n_boot`` resamples of the
    series with replacement, each series' forecasts kept together; per row of :func:`binned`
    the ``level`` interval of the observed frequency (``observed_lo``, ``observed_hi``) and of
    the gap observed - mean p (``gap_lo``, ``gap_hi``).  ``f``: forecasts with series_id,
    family, design, horizon, p_meet, met."""
    g = f[f["p_meet"].notna()].copy()
    g["bin"] = pd.cut(g["p_meet"], BINS, labels=_bin_labels(), include_lowest=True)
    sids = pd.Index(np.sort(g["series_id"].unique()))
    rng = np.random.default_rng(seed)
    # resample weights: how many times each series is drawn (multinomial = draw with replacement)
    draws = rng.multinomial(len(sids), np.full(len(sids), 1.0 / len(sids)), size=n_boot).T
    a = (1.0 - level) / 2.0
    out = []
    for fam_name, sub in [("all", g), *g.groupby("family")]:
        si = sids.get_indexer(sub["series_id"])
        cell = sub.groupby(["design", "horizon", "bin"], observed=False).ngroup().to_numpy()
        keys = (sub.groupby(["design", "horizon", "bin"], observed=False).size().reset_index()
                [["design", "horizon", "bin"]])
        ncell = len(keys)
        # per series x cell: forecasts, met, sum of p; then per resample (weights = draws)
        sums = []
        for values in (np.ones(len(sub)), sub["met"].to_numpy(float),
                       sub["p_meet"].to_numpy(float)):
            m = np.zeros((len(sids), ncell))
            np.add.at(m, (si, cell), values)
            sums.append(draws.T @ m)
        n_b, met_b, p_b = sums
        with np.errstate(invalid="ignore", divide="ignore"):
            obs = np.where(n_b > 0, met_b / n_b, np.nan)
            gap = obs - np.where(n_b > 0, p_b / n_b, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t = keys.assign(family=fam_name,
                            observed_lo=np.nanquantile(obs, a, axis=0),
                            observed_hi=np.nanquantile(obs, 1 - a, axis=0),
                            gap_lo=np.nanquantile(gap, a, axis=0),
                            gap_hi=np.nanquantile(gap, 1 - a, axis=0))
        out.append(t)
    return pd.concat(out, ignore_index=True)


def add_noise_and_design(tabs: dict[str, pd.DataFrame], f: pd.DataFrame, pred: pd.DataFrame, *,
                         seeds: int = 10, n_boot: int = 2000) -> None:
    """Add to ``tabs["reliability"]`` the oracle gap (``gap_oracle``: the design's own bias) and
    the cluster-bootstrap intervals of :func:`bootstrap_reliability` (in place)."""
    keys = ["family", "design", "horizon", "bin"]
    rel = tabs["reliability"].copy()
    rel["bin"] = rel["bin"].astype(str)
    orc = oracle_reliability(pred, seeds=seeds)[keys + ["gap"]].rename(columns={"gap": "gap_oracle"})
    boot = bootstrap_reliability(f, n_boot=n_boot)
    for t in (orc, boot):
        t["bin"] = t["bin"].astype(str)
        rel = rel.merge(t, on=keys, how="left")
    tabs["reliability"] = rel


def _md(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    intcols = {"n", "p_missing", "series", "no_interval"}
    for r in df.itertuples(index=False):
        cells = []
        for col, v in zip(cols, r):
            if col in intcols and isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v):
                cells.append(str(int(v)))
            elif isinstance(v, float):
                cells.append("" if math.isnan(v) else floatfmt.format(v))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(tabs: dict[str, pd.DataFrame], title: str = "") -> str:
    cov = tabs["coverage"].pivot(index="family", columns="horizon", values="coverage")
    n = tabs["coverage"].pivot(index="family", columns="horizon", values="n")
    cov_t = pd.DataFrame({"family": cov.index})
    for h in cov.columns:
        cov_t[f"coverage h={h}"] = cov[h].to_numpy()
        cov_t[f"n h={h}"] = n[h].astype("Int64").astype(str).to_numpy()
    bet = tabs["better"].pivot(index="family", columns="horizon", values="share_better")
    bet_t = pd.DataFrame({"family": bet.index, **{f"better h={h}": bet[h].to_numpy() for h in bet.columns}})
    rel = tabs["reliability"]
    rel_all = rel[rel["family"] == "all"].copy()
    rel_t = rel_all.pivot_table(index=["design", "bin"], columns="horizon",
                                values=["n", "mean_p", "observed"], observed=False)
    extra = [c for c in ("gap_oracle", "gap_lo", "gap_hi") if c in rel_all]
    if extra:
        rel_t = rel_all.pivot_table(index=["design", "bin"], columns="horizon",
                                    values=["n", "mean_p", "observed", "gap", *extra],
                                    observed=False, dropna=False)
    rel_rows = []
    for (design, b), r in rel_t.iterrows():
        row = {"design": design, "p bin": b}
        for h in sorted(rel_all["horizon"].unique()):
            row[f"n h={h}"] = str(int(r[("n", h)])) if not math.isnan(r[("n", h)]) else "0"
            row[f"mean p h={h}"] = r[("mean_p", h)]
            row[f"observed h={h}"] = r[("observed", h)]
            if extra:
                row[f"gap h={h}"] = r[("gap", h)]
                row[f"oracle gap h={h}"] = r[("gap_oracle", h)]
                lo_, hi_ = r[("gap_lo", h)], r[("gap_hi", h)]
                row[f"gap 90% h={h}"] = "" if math.isnan(lo_) else f"{lo_:+.3f} to {hi_:+.3f}"
        rel_rows.append(row)
    br = tabs["brier"]
    br_all = br[br["family"] == "all"][["design", "horizon", "n", "brier", "mean_p", "met_rate", "p_missing"]]
    br_fam = br[br["family"] != "all"].pivot_table(index="family", columns=["design", "horizon"], values="brier")
    br_fam.columns = [f"{d} h={h}" for d, h in br_fam.columns]
    br_fam = br_fam.reset_index()
    parts = [f"# {title}" if title else "",
             "## Coverage of the 80 % interval", _md(cov_t),
             "## Share of outcomes better than the central projection", _md(bet_t),
             "## Reliability of p_meet (all families)",
             *(["gap = observed - mean p; oracle gap = the same for outcomes drawn from the "
                "engine's own predictive (the target design's own bias); gap 90% = cluster "
                "bootstrap interval, resampling series"] if extra else []),
             _md(pd.DataFrame(rel_rows)),
             "## Brier score of p_meet", _md(br_all.reset_index(drop=True)),
             "### by family", _md(br_fam),
             "## Models chosen (forecasts)", _md(tabs["methods"])]
    return "\n\n".join(p for p in parts if p) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default=None,
                    help="dev (default), validation, holdout or all; with --corpus: a value of its "
                         "split column, default all")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="a folder with series.csv and manifest.csv of your own real series "
                         "(format: fzanalysis.trend.calibration.read_corpus) instead of "
                         "data/calibration")
    ap.add_argument("--out", type=Path, default=None, help="write CSV tables and summary.md here")
    ap.add_argument("--no-counts", action="store_true",
                    help="drop numerator/denominator (no Poisson model for small counts)")
    ap.add_argument("--families", default=None, help="comma-separated subset of families")
    ap.add_argument("--build-corpus", action="store_true",
                    help="rebuild data/calibration/series.csv and manifest.csv from sources/")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--seeds", type=int, default=10,
                    help="oracle draws per forecast (0: no oracle and no bootstrap columns)")
    ap.add_argument("--boot", type=int, default=2000, help="cluster bootstrap resamples")
    a = ap.parse_args(argv)
    if a.build_corpus:
        s, m = build_corpus(write=True)
        print(m.groupby(["family", "split"]).size().unstack(fill_value=0))
        print(f"{len(m)} series, {len(s)} values")
        return 0
    if a.corpus is not None:
        series, manifest = read_corpus(a.corpus)
        a.split = a.split or "all"
    else:
        series, manifest = load_corpus()
        a.split = a.split or "dev"
        if a.split not in ("dev", "validation", "holdout", "all"):
            ap.error(f"--split: found {a.split!r}, expected dev, validation, holdout or all")
    if a.families:
        manifest = manifest[manifest["family"].isin(a.families.split(","))]
    t0 = time.perf_counter()
    f = run_backtest(series, manifest, split=a.split, use_counts=not a.no_counts, verbose=a.verbose)
    elapsed = time.perf_counter() - t0
    tabs = summarize(f)
    if a.seeds > 0 and not a.no_counts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pred = predictive_table(series, manifest, split=a.split)
        add_noise_and_design(tabs, f, pred, seeds=a.seeds, n_boot=a.boot)
    title = (f"Calibration backtest, split={a.split}{', no counts' if a.no_counts else ''}: "
             f"{f['series_id'].nunique()} series, {len(f[f['design'] == 'around'])} forecasts, "
             f"{elapsed:.0f} s")
    md = summary_markdown(tabs, title)
    print(md)
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        f.to_csv(a.out / "forecasts.csv", index=False, float_format="%.6g")
        for k, t in tabs.items():
            t.to_csv(a.out / f"{k}.csv", index=False, float_format="%.6g")
        (a.out / "summary.md").write_text(md, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
