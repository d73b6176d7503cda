r"""The embedded demo data set: a seeded, synthetic panel for 2015-2024.

**Synthetic.**  Every row has ``synthetic=True`` and ``source`` =
:data:`SOURCE`; every output made from it must say 演示数据 / demo data.  The
numbers only *look* like monitoring data so that the workbench can be run,
taught and tested without real submissions.

Model (settings in ``data/demo/spec.yaml``)
-------------------------------------------
For each catalogue indicator the *district* female (or total) series is a
trend on a transformed scale :math:`z = g(v)`:

* bounded units (percent, years, minutes ...):
  :math:`g(v) = \operatorname{logit}\big((v - L)/(U - L)\big)` with the unit's
  bounds :math:`L, U`, so every value stays inside its bounds;
* rates per 100 000, ratios, money: :math:`g(v) = \log v`.

The trend is a line :math:`a_t = a_{2020} + s\,(t - 2020)` in natural units
for bounded units (the pace an assessment measures; clipped just inside the
bounds) or on the log scale otherwise, and
:math:`z_t = g(a_t) + e_t` with AR(1) noise
:math:`e_t = 0.5\,e_{t-1} + \varepsilon_t` on the z scale.  The anchor :math:`z_{2020}` is the
catalogue's 2020 baseline where the plan gives one, else a level from the spec.
The slope :math:`s` depends on a *scenario* drawn with the seed (or pinned in
the spec): ``on_track`` (1.2-1.6 x the slope needed to reach the 2030 target),
``at_risk`` (0.15-0.45 x), ``reversing`` (improves until 2021, then turns back),
``volatile`` (4 x the noise), ``achieved`` (already beyond the target).  The
scenario is written to each row's ``note``.

Towns add a population-weighted-centred offset; the mountain towns 吕田
(440117107) and 良口 (440117104) are shifted against the good direction and
improve more slowly.  An indicator whose catalogue ``area_kinds`` names some
kinds only (``street`` for the two 街道 targets) is generated for those towns
and the district only.  Rates are built from counts: denominators are Poisson
draws around ``population x den_share`` (towns' 2010 census populations scaled
to the 2020 district total, ``data/towns.csv``; live births fall 3.5 % a year
after 2017), numerators are Binomial (percent) or Poisson (rare events such
as maternal deaths: :math:`D \sim \operatorname{Poisson}(\text{MMR}\times B/10^5)`).
District rows are aggregated from the towns (sum of numerators / sum of
denominators, :func:`fzanalysis.panel.aggregate_towns`), and ``T`` rows from
``F`` and ``M``, so the panel is consistent.  A few series start late, miss a
year, or miss a town-year, as real series do.
"""
from __future__ import annotations

import argparse
import math
import sys
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from fzanalysis import comparators, gazetteer
from fzanalysis.codes import PANEL_COLUMNS, PANEL_KEYS, district
from fzanalysis.panel import as_panel, write_csv
from fzanalysis.paths import data_path

__all__ = ["generate", "load", "write", "SOURCE", "DEFAULT_SEED", "YEARS", "register_cli"]

#: Version of the generator; bump when the model changes (it is part of ``source``).
VERSION = "v1"
SOURCE = f"demo:fzanalysis.demo {VERSION}"
DEFAULT_SEED = 20210101
YEARS: tuple[int, ...] = tuple(range(2015, 2025))
_TARGETED = {">=", ">", "<", "<=", "~=", "~>="}


def _good(comparator: str) -> int:
    """+1 / -1 where higher / lower is better (:func:`fzanalysis.comparators.good_direction`); a
    two-sided target's synthetic series rises."""
    return int(comparators.good_direction(comparator)) or 1


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The generator's settings, ``data/demo/spec.yaml``."""
    return yaml.safe_load(data_path("demo", "spec.yaml").read_text("utf-8"))


def demo_path() -> Path:
    """Path of the committed demo panel, ``data/demo/demo_panel.csv``."""
    return data_path("demo", "demo_panel.csv")


# ---------------------------------------------------------------------------- transforms
class _Scale:
    """:math:`z = g(v)` and its inverse for one indicator."""

    def __init__(self, kind: str, lo: float, hi: float):
        self.kind = kind
        self.lo = lo if math.isfinite(lo) else 0.0
        self.hi = hi

    def z(self, v: float) -> float:
        if self.kind == "logit":
            p = min(max((v - self.lo) / (self.hi - self.lo), 5e-4), 1 - 5e-4)
            return math.log(p / (1 - p))
        return math.log(max(v - self.lo, 1e-3))

    def v(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "logit":
            return self.lo + (self.hi - self.lo) / (1 + np.exp(-z))
        return self.lo + np.exp(z)

    def dz(self, step: float, at: float) -> float:
        """A change ``step`` in the unit, near ``at``, expressed on the z scale."""
        if self.kind == "logit":
            p = min(max((at - self.lo) / (self.hi - self.lo), 0.02), 0.98)
            return step / ((self.hi - self.lo) * p * (1 - p))
        return step  # relative change on the log scale


def _populations(years: tuple[int, ...]) -> pd.DataFrame:
    """Population by town and year: 2010 census town figures scaled to the 2020 district total."""
    gaz = gazetteer.load()
    code = district()
    dist = gaz[gaz["code"] == code].iloc[0]
    towns = gaz[gaz["code"] != code]
    total2020 = float(dist["population"])
    base = towns.set_index("code")["population"].astype(float)
    base = base / base.sum() * total2020
    g = float(spec()["population_growth"])
    rows = [{"area": c, "year": y, "pop": p * (1 + g) ** (y - 2020)} for c, p in base.items() for y in years]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- generator
def generate(seed: int = DEFAULT_SEED, *, catalog: pd.DataFrame | None = None,
             years: tuple[int, ...] = YEARS) -> pd.DataFrame:
    """Generate the synthetic demo panel.

    Parameters
    ----------
    seed
        Seed of the generator; each indicator draws from its own stream
        ``numpy.random.default_rng([seed, crc32(id)])``, so adding an indicator
        does not change the others.  The same seed gives the same panel.
    catalog
        Indicator catalogue (default :func:`fzanalysis.catalog.load`).
    years
        Years to generate (default 2015-2024).

    Returns
    -------
    DataFrame
        A validated panel (:func:`fzanalysis.panel.as_panel`) with
        ``synthetic=True`` and ``source`` = :data:`SOURCE` on every row;
        ``note`` holds the scenario (``demo scenario: on_track`` ...).
    """
    from fzanalysis import catalog as catalog_mod

    cat = catalog_mod.load() if catalog is None else catalog
    units = catalog_mod.units()
    pops = _populations(tuple(years))
    frames = []
    for _, row in cat.iterrows():
        rng = np.random.default_rng([int(seed), zlib.crc32(str(row["id"]).encode())])
        frames.append(_indicator(row, units, pops, tuple(years), rng))
    df = pd.concat(frames, ignore_index=True)
    df["source"] = SOURCE
    df["synthetic"] = True
    return as_panel(df[list(PANEL_COLUMNS)], source="fzanalysis.demo").frame


def _get(row: pd.Series, col: str) -> Any:
    v = row.get(col)
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v == "":
        return None
    return v


def _indicator(row: pd.Series, units: pd.DataFrame, pops: pd.DataFrame, years: tuple[int, ...],
               rng: np.random.Generator) -> pd.DataFrame:
    dist = district()  # hoisted: one gazetteer look-up per call
    sp = spec()
    ind = str(row["id"])
    unit = str(row["unit"])
    us = sp["units"][unit]
    own = sp["indicators"].get(ind, {}) or {}
    kind = us["scale_kind"]
    lo = float(row["lower_bound"]) if pd.notna(row["lower_bound"]) else -math.inf
    hi = float(row["upper_bound"]) if pd.notna(row["upper_bound"]) else math.inf
    scale_v = units.at[unit, "scale"] if unit in units.index else np.nan
    scale = float(scale_v) if pd.notna(scale_v) else None
    if unit == "gap_percent":
        scale = None  # a gap between two mean incomes is not built from counts (and may be negative)
    dis = {p for p in str(row.get("disaggregation") or "").split(";") if p}
    town_codes = sorted(pops["area"].unique())
    kinds = gazetteer.kinds(row.get("area_kinds"))
    if kinds:  # a target for 街道 only: the 镇 report nothing for it
        kind_of = gazetteer.kind_of()
        town_codes = [c for c in town_codes if gazetteer.applies_to(c, kinds, kind_map=kind_of)]
    areas = town_codes if "area" in dis else [dist]
    sexes = ["F", "M"] if "sex" in dis else ["T"]
    comp = str(row["comparator"])
    target = _get(row, "target")
    weights = sp["scenario_weights"]
    drawn = str(rng.choice(list(weights), p=np.array(list(weights.values())) / sum(weights.values())))
    scenario = own.get("scenario", drawn)

    level = _get(row, "baseline_value")
    level = float(level) if level is not None else float(own.get("level", us["level"]))
    if kind in ("stock", "events"):
        return _count_indicator(row, us, own, pops, years, areas, sexes, scenario, rng, level)

    tr = _Scale(kind, lo, hi)
    # The trend is a line in the "pace space" an assessment measures progress in: natural units
    # for bounded units (percent, years ...; then mapped through the logit, which keeps it inside
    # the bounds), the log scale for rates and money (a constant relative change).  Noise and town
    # offsets are added on the z scale.
    natural = kind == "logit"
    pace = (lambda v: float(v)) if natural else tr.z
    a0 = pace(level)
    step = float(us["step"])  # natural units (logit kinds) or relative change (log kinds)
    if comp == "narrow" and target is not None:  # towards the parity point
        good = int(comparators.required_direction(comp, level, target)) or 1
    elif comp in ("~=", "~>=") and target is not None:
        good = 1 if float(target) >= level else -1
    else:
        good = _good(comp)
    slope_pre = slope_post = 0.0
    if comp in _TARGETED and target is not None:
        at = pace(float(target))
        if scenario == "achieved" and comp not in ("~=", "~>=") and good * (a0 - at) <= 0:
            a0 = at + good * (rng.uniform(0.5, 2.0) * step)
        req = (at - a0) / 10.0
        if comp in ("~=", "~>="):
            if scenario == "achieved":
                a0, req = at + rng.uniform(-0.2, 0.2) * step, 0.0
        elif good * req <= 0:
            req = good * step * 0.3
        factor = {"on_track": rng.uniform(1.2, 1.6), "at_risk": rng.uniform(0.15, 0.45),
                  "volatile": rng.uniform(0.8, 1.2), "reversing": 1.0, "achieved": 1.0}[scenario]
        slope_pre = slope_post = req * factor
        if scenario == "achieved" and comp not in ("~=", "~>="):
            slope_pre = slope_post = good * step * 0.2
        if scenario == "reversing":
            slope_post = -good * abs(req) * rng.uniform(0.5, 1.0) - good * step * 0.5
    else:
        f = {"on_track": rng.uniform(1.0, 1.5), "achieved": rng.uniform(1.0, 1.5),
             "at_risk": rng.uniform(0.0, 0.2), "volatile": 1.0, "reversing": 1.0}[scenario]
        slope_pre = slope_post = good * step * (0.0 if comp == "maintain" and scenario != "at_risk" else f)
        if comp == "maintain" and scenario == "at_risk":
            slope_pre = slope_post = -good * step * 0.5
        if scenario == "reversing":
            slope_post = -good * step * rng.uniform(1.0, 1.5)
    noise = tr.dz(float(us["noise"]), level)
    mult = 4.0 if scenario == "volatile" else 1.0
    t = np.array(years, dtype=float)
    brk = 2021.0
    path = np.where(t <= brk, slope_pre * (t - 2020), slope_pre * (brk - 2020) + slope_post * (t - brk))
    e = np.zeros(len(t))
    for i in range(len(t)):
        e[i] = (0.5 * e[i - 1] if i else 0.0) + rng.normal(0.0, noise * mult)

    def trend_z(slope_factor: float) -> np.ndarray:
        """z of the trend line (progress scaled by ``slope_factor``), kept inside the bounds."""
        line = a0 + slope_factor * path
        if not natural:
            return line
        width = tr.hi - tr.lo
        return np.array([tr.z(v) for v in np.clip(line, tr.lo + 0.002 * width, tr.hi - 0.0005 * width)])

    # leaves: area x sex, each with an offset on the z scale
    popw = pops.groupby("area")["pop"].mean()
    popd = {(a, int(y)): float(p) for a, y, p in zip(pops["area"], pops["year"], pops["pop"])}
    for y, p in pops.groupby("year")["pop"].sum().items():
        popd[(dist, int(y))] = float(p)
    offsets = {}
    slopes = {}
    if areas != [dist]:
        raw = {a: (-good * sp["mountain_offset"] if a in sp["mountain_towns"] else rng.normal(0, sp["town_offset_sd"]))
               for a in areas}
        centre = sum(raw[a] * popw[a] for a in areas) / sum(popw[a] for a in areas)
        offsets = {a: raw[a] - centre for a in areas}
        slopes = {a: (sp["mountain_slope_factor"] if a in sp["mountain_towns"] else 1.0) for a in areas}
    else:
        offsets, slopes = {dist: 0.0}, {dist: 1.0}
    male_level = own.get("male_level")
    sex_off = {"F": 0.0, "T": 0.0,
               "M": (tr.z(float(male_level)) - tr.z(level)) if male_level is not None else sp["male_offset"]}
    fshare = float(sp["female_population_share"])
    sex_share = {"F": fshare, "M": 1 - fshare, "T": 1.0}
    births_based = unit == "per_100k_live_births" or any(
        w in str(row.get("denominator_zh") or "") for w in ("活产", "孕产妇", "孕妇"))
    den_share = float(own.get("den_share", us.get("den_share", 0.01)))
    rows = []
    for a in areas:
        for s in sexes:
            town_noise = rng.normal(0, sp["town_noise_sd"], len(t)) if a != dist else 0.0
            z = trend_z(slopes[a]) + e + offsets[a] + sex_off[s] + town_noise
            v = tr.v(z)
            for i, y in enumerate(years):
                rec = {"indicator": ind, "year": y, "area": a, "sex": s, "numerator": np.nan,
                       "denominator": np.nan}
                if scale is None:
                    rec["value"] = round(float(v[i]), 2)
                else:
                    if "den" in own:
                        den = float(own["den"])
                    else:
                        mean = popd[(a, y)] * den_share * sex_share[s]
                        if births_based and y > 2017:
                            mean *= (1 + sp["births_trend"]) ** (y - 2017)
                        den = float(max(1, rng.poisson(mean)))
                    if kind == "logit" and tr.hi <= scale:
                        # a proportion: Binomial(denominator, value / scale)
                        num = float(rng.binomial(int(den), min(max(float(v[i]) / scale, 0.0), 1.0)))
                    else:
                        num = float(rng.poisson(float(v[i]) / scale * den))
                    rec.update(numerator=num, denominator=den)
                rows.append(rec)
    leaves = pd.DataFrame(rows)
    out = _aggregate(leaves, scale, fshare, weights=popw.to_dict())
    if scale is not None:
        out["value"] = (scale * out["numerator"] / out["denominator"]).round(2)
    out["note"] = f"demo scenario: {scenario}"
    return _holes(out, rng, areas)


def _aggregate(leaves: pd.DataFrame, scale: float | None, fshare: float, additive: bool = False,
               weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Add district rows (from towns) and T rows (from F and M): sums of counts, never means of rates.

    Values not built from counts (``scale`` None, not ``additive``): the district row is the
    population-weighted mean of the towns (``weights``), ``T`` the population-weighted mean of
    ``F`` and ``M`` -- approximations, documented in ``data/demo/README.md``.
    """
    dist = district()  # hoisted: one gazetteer look-up per call
    parts = [leaves]
    if scale is not None or additive:
        agg = {"numerator": "sum", "denominator": "sum"} if scale is not None else {"value": "sum"}
        towns = leaves[leaves["area"] != dist]
        if len(towns):
            d = towns.groupby(["indicator", "year", "sex"], as_index=False).agg(agg)
            d["area"] = dist
            parts.append(d)
        base = pd.concat(parts, ignore_index=True)
        fm = base[base["sex"].isin(["F", "M"])]
        if len(fm):
            tt = fm.groupby(["indicator", "year", "area"], as_index=False).agg(agg)
            tt["sex"] = "T"
            base = pd.concat([base, tt], ignore_index=True)
        return base
    towns = leaves[leaves["area"] != dist]
    if len(towns) and weights:
        w = towns["area"].map(weights)
        d = (towns.assign(wv=towns["value"] * w, w=w).groupby(["indicator", "year", "sex"], as_index=False)
             [["wv", "w"]].sum())
        d["value"] = (d["wv"] / d["w"]).round(2)
        d["area"] = dist
        d["numerator"] = d["denominator"] = np.nan
        parts.append(d.drop(columns=["wv", "w"]))
        leaves = pd.concat(parts, ignore_index=True)
        parts = [leaves]
    fm = leaves[leaves["sex"].isin(["F", "M"])]
    if len(fm):
        w = fm["sex"].map({"F": fshare, "M": 1 - fshare})
        tt = (fm.assign(wv=fm["value"] * w).groupby(["indicator", "year", "area"], as_index=False)["wv"].sum()
              .rename(columns={"wv": "value"}))
        tt["value"] = tt["value"].round(2)
        tt["sex"] = "T"
        tt["numerator"] = tt["denominator"] = np.nan
        parts.append(tt)
    return pd.concat(parts, ignore_index=True)


def _count_indicator(row: pd.Series, us: dict, own: dict, pops: pd.DataFrame, years: tuple[int, ...],
                     areas: list[str], sexes: list[str], scenario: str, rng: np.random.Generator,
                     level: float) -> pd.DataFrame:
    """Counts: facilities that open and stay (``stock``) or events per year (Poisson)."""
    dist = district()  # hoisted: one gazetteer look-up per call
    sp = spec()
    ind = str(row["id"])
    rows = []
    popw = pops.groupby("area")["pop"].mean()
    total = float(popw.sum())
    good = _good(str(row["comparator"]))
    t = np.array(years, dtype=float)
    for a in areas:
        mountain = a in sp["mountain_towns"]
        if us["scale_kind"] == "stock":
            first = {"achieved": 2014, "on_track": 2018, "volatile": 2019, "at_risk": 2023,
                     "reversing": 2017}[scenario] + int(rng.integers(-2, 3)) + (3 if mountain else 0)
            n_final = max(1, int(round(level)))
            vals = np.where(t >= first, n_final, 0).astype(float)
            if scenario == "reversing":
                vals = np.where(t >= 2022, 0.0, vals)  # the facility closed
        else:
            share = 1.0 if a == dist else float(popw[a]) / total
            slope = good * float(us["step"]) * (1.0 if scenario in ("on_track", "achieved") else
                                                 0.1 if scenario == "at_risk" else 1.0)
            lam = level * share * np.exp(slope * (t - 2020)) * (np.exp(-good * 0.4) if mountain else 1.0)
            if scenario == "reversing":
                lam = lam * np.exp(np.where(t > 2021, -2 * slope * (t - 2021), 0.0))
            if scenario == "volatile":
                lam = lam * np.exp(rng.normal(0, 0.3, len(t)))
            vals = rng.poisson(lam).astype(float)
        for s in sexes:
            for i, y in enumerate(years):
                rows.append({"indicator": ind, "year": y, "area": a, "sex": s, "value": vals[i],
                             "numerator": np.nan, "denominator": np.nan})
    out = _aggregate(pd.DataFrame(rows), None, 0.5, additive=True)
    out["note"] = f"demo scenario: {scenario}"
    return _holes(out, rng, areas)


def _holes(df: pd.DataFrame, rng: np.random.Generator, areas: list[str]) -> pd.DataFrame:
    """Real series have holes: a late start, a missing year, a missing town-year."""
    dist = district()  # hoisted: one gazetteer look-up per call
    sp = spec()
    years = sorted(df["year"].unique())
    u = rng.random(3)
    if u[0] < sp["late_start_share"]:
        start = int(rng.integers(2017, 2020))
        df = df[df["year"] >= start]
    if u[1] < sp["missing_year_share"]:
        gap = int(rng.choice([y for y in years if 2016 <= y <= 2023]))
        df = df[df["year"] != gap]
    towns = [a for a in areas if a != dist]
    share = sp["town_holes"] / 50.0  # about `town_holes` holes over the ~50 town-level indicators
    if towns and u[2] < share and len(df):
        a = str(rng.choice(towns))
        y = int(rng.choice(sorted(df["year"].unique())))
        df = df[~((df["area"] == a) & (df["year"] == y))]
    return df


# ---------------------------------------------------------------------------- file
def write(path: str | Path | None = None, *, seed: int = DEFAULT_SEED) -> Path:
    """Generate the demo panel and write it as CSV (default ``data/demo/demo_panel.csv``)."""
    return write_csv(generate(seed), path or demo_path(), sort_by=list(PANEL_KEYS))


def load(path: str | Path | None = None) -> pd.DataFrame:
    """The committed demo panel, read and validated by :func:`fzanalysis.panel.as_panel`."""
    return as_panel(path or demo_path()).frame


def _cmd_demo(ns: argparse.Namespace) -> int:
    if ns.write:
        path = write(ns.output, seed=ns.seed)
        df = load(path)
    else:
        df = generate(ns.seed)
        path = None
    print(f"演示数据 / demo data (synthetic): {len(df)} rows, {df['indicator'].nunique()} indicators, "
          f"{df['year'].min()}-{df['year'].max()}, {df['area'].nunique()} areas"
          + (f" -> {path}" if path else " (not written; use --write)"), file=sys.stderr)
    counts = df.drop_duplicates("indicator")["note"].value_counts()
    for note, n in counts.items():
        print(f"  {note}: {n} indicators", file=sys.stderr)
    return 0


def register_cli(subparsers: Any) -> None:
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser("demo", help="generate the synthetic demo panel (演示数据)",
                              description="Generate the seeded synthetic demo panel; --write saves it to "
                                          "data/demo/demo_panel.csv.")
    p.add_argument("--write", action="store_true", help="write the CSV (default data/demo/demo_panel.csv)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("-o", "--output", default=None, help="output CSV path (with --write)")
    p.set_defaults(func=_cmd_demo)
