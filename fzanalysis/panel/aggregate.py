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
        Indicator catalogue; only ``id`` and ``unit`` are used.
    require_all_towns
        Aggregate a group only when every town of the gazetteer is present
        (default); with False, partial groups are aggregated and ``n_towns``
        says how many towns contributed.

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
    tp = p[p["area"].isin(towns)]
    rows, skipped = [], []
    sum_units = lk.sum_units()
    for (ind, year, sex), g in tp.groupby(["indicator", "year", "sex"], sort=True):
        unit = lk.cat_get(cat.loc[ind], "unit") if ind in cat.index else None
        scale = lk.unit_info(unit)[0]
        if require_all_towns and set(g["area"]) != towns:
            skipped.append((ind, year, sex, f"only {g['area'].nunique()} of {len(towns)} towns"))
            continue
        base = {"indicator": ind, "year": int(year), "area": district, "sex": sex,
                "source": f"aggregated from {len(g)} towns", "note": pd.NA,
                "synthetic": bool(g["synthetic"].any()), "n_towns": len(g)}
        if scale is not None:
            if g["numerator"].isna().any() or g["denominator"].isna().any():
                skipped.append((ind, year, sex, "a town row lacks numerator or denominator"))
                continue
            n, d = float(g["numerator"].sum()), float(g["denominator"].sum())
            if d <= 0:
                skipped.append((ind, year, sex, "sum of denominators is 0"))
                continue
            rows.append({**base, "value": scale * n / d, "numerator": n, "denominator": d,
                         "method": "ratio_of_sums"})
        elif unit in sum_units:
            rows.append({**base, "value": float(g["value"].sum()), "numerator": np.nan,
                         "denominator": np.nan, "method": "sum"})
        else:
            skipped.append((ind, year, sex, f"unit {unit} is not additive and has no numerator/denominator"))
    res = pd.DataFrame(rows, columns=[*codes.PANEL_COLUMNS, "n_towns", "method"])
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



