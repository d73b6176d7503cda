r"""Towns -> district: aggregation weighted by denominators, and the consistency check.

The rule is in ``docs/methods.md`` section 10.4: rates from counts aggregate as the sum of
numerators over the sum of denominators, counts as sums, anything else not at all.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fzanalysis import codes
from fzanalysis.panel import _lookups as lk
from fzanalysis.panel.schema import Panel, as_panel

__all__ = ["aggregate_frame", "aggregate_towns", "check_district_consistency", "consistency_frame"]


def aggregate_towns(panel: Panel | pd.DataFrame, catalog: pd.DataFrame | None = None, *,
                    require_all_towns: bool = True) -> pd.DataFrame:
    r"""Aggregate town rows to district rows, weighted by denominators.

    For each indicator x year x sex with town rows:

    * rates built from counts (units with a ``scale`` in ``data/units.csv``:
      percent, per 100 000, ratio): :math:`\hat v = s \cdot \sum_i n_i / \sum_i d_i`
      (sum of numerators over sum of denominators, i.e. the
      denominator-weighted mean of the town rates
      :math:`\sum_i d_i v_i / \sum_i d_i`); every town row must carry both
      numerator and denominator, otherwise the group is not aggregated --
      never a plain mean of rates;
    * counts (units listed under ``aggregation_method.sum.units`` in
      ``data/labels/data.yaml``): :math:`\hat v = \sum_i v_i`;
    * any other unit (years, money, minutes) is not aggregated.

    Parameters
    ----------
    panel
        A panel (:func:`fzanalysis.panel.as_panel` is applied).
    catalog
        Indicator catalogue; ``id``, ``unit`` and ``area_kinds`` are used.
    require_all_towns
        Aggregate a group only when every town the indicator applies to is
        present (default; the gazetteer's towns of the kinds in the
        catalogue's ``area_kinds``, all of them when it names none: the 3
        街道 for a 街道-only target); with False, partial groups are
        aggregated and ``n_towns`` says how many towns contributed.  Towns
        of other kinds are never summed.

    Returns
    -------
    DataFrame
        District rows (``area`` = :func:`fzanalysis.codes.district`) in panel columns plus
        ``n_towns`` and ``method`` (``sum`` or ``ratio_of_sums``); ``source``
        says ``aggregated from N towns``; ``synthetic`` is True when any town
        row was.  Groups not aggregated are listed in
        ``result.attrs["not_aggregated"]`` (indicator, year, sex, reason).
    """
    return aggregate_frame(as_panel(panel).frame, lk.catalog_index(catalog),
                           require_all_towns=require_all_towns)


def aggregate_frame(p: pd.DataFrame, cat: pd.DataFrame, *, require_all_towns: bool = True) -> pd.DataFrame:
    """:func:`aggregate_towns` on a checked panel frame and an id-indexed normalised catalogue."""
    district = codes.district()
    towns = set(lk.town_codes())
    # the towns each indicator applies to (catalogue area_kinds): a figure of another town is not
    # part of the district's (the 镇 for a 街道-only target)
    applies = {i: set(lk.applicable_towns(cat.loc[i])) for i in pd.unique(p["indicator"])
               if i in cat.index and lk.area_kinds(cat.loc[i])}
    tp = p[p["area"].isin(towns)]
    if applies:
        ok = [i not in applies or a in applies[i] for i, a in zip(tp["indicator"], tp["area"])]
        tp = tp[np.asarray(ok, dtype=bool)]
    keys = ["indicator", "year", "sex"]
    g = (tp.assign(_nna=tp["numerator"].isna() | tp["denominator"].isna())
         .groupby(keys, sort=True)
         .agg(n_towns=("area", "size"), n_areas=("area", "nunique"), n=("numerator", "sum"),
              d=("denominator", "sum"), nna=("_nna", "any"), vsum=("value", "sum"),
              synthetic=("synthetic", "any"))
         .reset_index())
    units = g["indicator"].map(cat["unit"]) if "unit" in cat else pd.Series(None, index=g.index)
    info = {u: lk.unit_info(None if pd.isna(u) else str(u)) for u in pd.unique(units)}
    scale = units.map(lambda u: info[u][0]).astype(float)
    sum_units = lk.sum_units()
    n_expected = g["indicator"].map(lambda i: len(applies.get(i, towns))).to_numpy()
    complete = (g["n_areas"] == n_expected) if require_all_towns else pd.Series(True, index=g.index)
    rate = scale.notna()
    ok_rate = complete & rate & ~g["nna"] & (g["d"] > 0)
    ok_sum = complete & ~rate & units.isin(sum_units)
    why = np.select([~complete, rate & g["nna"], rate & (g["d"] <= 0), ~rate & ~units.isin(sum_units)],
                    [1, 2, 3, 4], 0)
    skip = np.flatnonzero(why)  # the reasons are worded for the groups not aggregated only
    words = {2: "a town row lacks numerator or denominator", 3: "sum of denominators is 0"}
    skipped = [(i, int(y), s, f"only {na} of {len(applies.get(i, towns))} towns" if w == 1 else words[w] if w in words
                else f"unit {u} is not additive and has no numerator/denominator")
               for i, y, s, na, u, w in zip(g["indicator"].to_numpy()[skip], g["year"].to_numpy()[skip],
                                           g["sex"].to_numpy()[skip], g["n_areas"].to_numpy()[skip],
                                           units.astype(str).to_numpy()[skip], why[skip])]
    res = g[ok_rate | ok_sum].copy()
    is_rate = ok_rate[ok_rate | ok_sum]
    res["value"] = np.where(is_rate, scale[res.index] * res["n"] / res["d"].where(is_rate, 1.0), res["vsum"])
    res["numerator"] = res["n"].where(is_rate)
    res["denominator"] = res["d"].where(is_rate)
    res["method"] = np.where(is_rate, "ratio_of_sums", "sum")
    res["area"] = district
    res["source"] = "aggregated from " + res["n_towns"].astype(str) + " towns"
    res["note"] = pd.NA
    rows = res
    res = rows[[*codes.PANEL_COLUMNS, "n_towns", "method"]].reset_index(drop=True)
    res = res.astype({"year": "int64", "value": "float64", "numerator": "float64", "denominator": "float64",
                      "synthetic": bool, "n_towns": "int64", "indicator": "str", "area": "str", "sex": "str",
                      "source": "str", "note": "str", "method": "str"})
    res.attrs["not_aggregated"] = pd.DataFrame(skipped, columns=["indicator", "year", "sex", "reason"])
    return res


def check_district_consistency(panel: Panel | pd.DataFrame, catalog: pd.DataFrame | None = None, *,
                               rtol: float = 0.005, atol: float = 0.05) -> pd.DataFrame:
    r"""Compare submitted district figures with the figure aggregated from their towns.

    A district row is *consistent* when
    :math:`|v_\text{district} - \hat v_\text{towns}| \le \max(\text{atol}, \text{rtol}\cdot|\hat v|)`,
    where :math:`\hat v` is :func:`aggregate_towns` (complete groups only).
    ``atol`` = 0.05 allows figures rounded to one decimal; for counts the
    tolerance is 0 (they must add up exactly).

    Returns
    -------
    DataFrame
        ``indicator, year, sex, submitted, from_towns, difference, tolerance,
        n_towns, method, consistent`` for every district row that has a
        complete set of towns to compare with.
    """
    return consistency_frame(as_panel(panel).frame, lk.catalog_index(catalog), rtol=rtol, atol=atol)


def consistency_frame(p: pd.DataFrame, cat: pd.DataFrame, *, rtol: float = 0.005,
                      atol: float = 0.05) -> pd.DataFrame:
    """:func:`check_district_consistency` on a checked frame and an id-indexed catalogue."""
    agg = aggregate_frame(p, cat)
    dist = p[p["area"] == codes.district()][["indicator", "year", "sex", "value"]]
    m = dist.merge(agg[["indicator", "year", "sex", "value", "n_towns", "method"]],
                   on=["indicator", "year", "sex"], suffixes=("_district", "_towns"))
    m = m.rename(columns={"value_district": "submitted", "value_towns": "from_towns"})
    m["difference"] = m["submitted"] - m["from_towns"]
    m["tolerance"] = np.where(m["method"] == "sum", 0.0,
                              np.maximum(atol, rtol * m["from_towns"].abs()))
    m["consistent"] = m["difference"].abs() <= m["tolerance"] + 1e-9
    return m[["indicator", "year", "sex", "submitted", "from_towns", "difference", "tolerance",
              "n_towns", "method", "consistent"]].reset_index(drop=True)



