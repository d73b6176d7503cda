"""Look-ups the submission modules share: catalogue rows, unit bounds, towns, sex aliases.

Private to :mod:`fzanalysis.panel`.  Nothing here reads a data file itself: the catalogue comes
from :func:`fzanalysis.catalog.normalize`, units and labels from :mod:`fzanalysis.config`, towns
from :mod:`fzanalysis.gazetteer` and the district code from :func:`fzanalysis.codes.district`.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from fzanalysis import catalog as catalog_mod
from fzanalysis import config, gazetteer
from fzanalysis.panel.read import cell_text
from fzanalysis.paths import data_path

__all__ = ["applicable_towns", "area_kinds", "area_name", "bounds", "cat_get", "catalog_index", "disagg",
           "limits", "sex_aliases", "sum_units", "town_codes", "unit_info"]


def catalog_index(catalog: pd.DataFrame | None) -> pd.DataFrame:
    """The normalised catalogue (:func:`fzanalysis.catalog.normalize`) indexed by ``id``."""
    return catalog_mod.normalize(catalog).set_index("id", drop=False).rename_axis(None)


def cat_get(row: Any, col: str, default: Any = None) -> Any:
    """A catalogue field (row as Series or dict); missing, NaN and '' give ``default``."""
    if row is None:
        return default
    v = row.get(col, None)
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v == ""):
        return default
    return v


def _unit_info_table(path: Any) -> dict[str, tuple[float | None, float, float, float]]:
    units = config.units()
    out = {}
    for key, r in units.iterrows():
        plaus = pd.to_numeric(r.get("plausible_max", ""), errors="coerce")
        plaus = float(plaus) if pd.notna(plaus) else math.inf
        out[str(key)] = (float(r["scale"]) if pd.notna(r["scale"]) else None,
                         float(r["lower_bound"]) if pd.notna(r["lower_bound"]) else -math.inf,
                         float(r["upper_bound"]) if pd.notna(r["upper_bound"]) else math.inf,
                         plaus)
    return out


def unit_info(unit: str | None) -> tuple[float | None, float, float, float]:
    """``(scale, lower bound, upper bound, plausible maximum)`` of a unit (``data/units.csv``).

    An unknown unit gives ``(None, -inf, inf, inf)``.
    """
    table = config.cached("panel.unit_info", data_path("units.csv"), _unit_info_table)
    return table.get(str(unit), (None, -math.inf, math.inf, math.inf)) if unit is not None \
        else (None, -math.inf, math.inf, math.inf)


def bounds(cat_row: Any) -> tuple[float, float]:
    """Natural bounds of an indicator: the (normalised) catalogue row's, else its unit's."""
    _scale, ulo, uhi, _p = unit_info(cat_get(cat_row, "unit"))
    lo = cat_get(cat_row, "lower_bound")
    hi = cat_get(cat_row, "upper_bound")
    return (float(lo) if lo is not None else ulo, float(hi) if hi is not None else uhi)


def disagg(cat_row: Any) -> set[str]:
    """The catalogue row's ``disaggregation`` as a set (``{"sex", "area"}``)."""
    text = cat_get(cat_row, "disaggregation", "") or ""
    return {p.strip() for p in str(text).split(";") if p.strip()}


def town_codes() -> tuple[str, ...]:
    """The gazetteer's town-level codes (streets and towns), in code order (read once per
    version of ``data/towns.csv``)."""
    return config.cached("panel.town_codes", data_path("towns.csv"),
                         lambda _path: tuple(gazetteer.codes(include_district=False)))


def area_kinds(cat_row: Any) -> frozenset[str]:
    """The catalogue row's ``area_kinds`` (``{"street"}``): the kinds of town its target applies
    to; empty for every kind."""
    return gazetteer.kinds(cat_get(cat_row, "area_kinds", ""))


def applicable_towns(cat_row: Any) -> tuple[str, ...]:
    """The towns (streets and towns, in code order) an indicator's figures are asked for
    (:func:`fzanalysis.gazetteer.targeted_areas` of its ``area_kinds``)."""
    return tuple(gazetteer.targeted_areas(area_kinds(cat_row)))


def area_name(code: str) -> str:
    """The gazetteer's Chinese name of an area code."""
    return str(gazetteer.name(code))


def _sex_table(path: Any) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, spellings in (config.read_yaml("ingest.yaml").get("sex_spellings") or {}).items():
        for text in spellings:
            table[cell_text(text).casefold()] = str(code)
    for code, entry in config.label_table().get("sex", {}).items():
        for text in (code, entry["zh"], entry["en"]):
            table[cell_text(text).casefold()] = code
    return table


def sex_aliases() -> dict[str, str]:
    """Every accepted spelling of a sex code (casefolded) -> ``F``, ``M`` or ``T``: the codes, their
    words in ``data/labels/common.yaml`` and the spellings of ``data/ingest.yaml: sex_spellings``."""
    return config.cached("panel.sex_aliases", data_path("ingest.yaml"), _sex_table)


def sum_units() -> frozenset[str]:
    """Units whose district figure is the sum of the towns' (``aggregation_method.sum.units``)."""
    from fzanalysis.panel.schema import count_units

    return count_units()


def limits() -> dict[str, Any]:
    """Submission limits and plausibility settings (``data/ingest.yaml``)."""
    return config.read_yaml("ingest.yaml")

