r"""One judgement per target: status, progress, projection, probability, verdict and warnings,
computed once from one trend model into one table that every page, chart and sentence reads.

:func:`evaluate` joins :func:`fzanalysis.assess` (where each series stands now, with its
interval) and :func:`fzanalysis.project` (where the recent trend leads by the target year, with
its probability) and derives everything a reader is told from those two, with one rule each:

* **The judged figure.**  For each indicator the district figure of the sex the target is about
  (catalogue column ``subject_sex``: ``F`` for the plan's women's and girls' targets, ``T`` where
  the plan speaks of everyone; the one rule is :func:`of_judged_sex`).  Male figures are context
  for gender gaps only; towns are breakdowns, scored, mapped and coloured on the same sex
  (:meth:`Evaluation.towns`, ``plots.status_heatmap(sex="judged")``).  The 达标率 counts judged
  figures only (:meth:`Evaluation.attainment`; a town's 达标率 its judged-sex figures).
* **Progress follows the projection** (docs/methods.md 3.5), so that a category never contradicts
  the probability:

  ========================= =============================================================
  ``achieved``              met now, and the projection still meets the target
  ``slipping``              met now, but the central projection misses it, or for a move
                            turns back the other way (said in words)
  ``on_track``              not (yet) met, the central projection meets the target
  ``acceleration_needed``   the projection closes at least 60 % of the remaining gap
  ``limited_progress``      the projection closes less than 60 % of it, but moves towards it
  ``deterioration``         the projection moves away from the target
  ``insufficient_data``     not met, and no projection or too few points for the trend test
                            of a directional target (``too_few_points``: not assessable)
  ========================= =============================================================

  The share of the gap closed is :math:`r = (\hat y_T - x)/(T^* - x)`, :math:`T^*` the edge of
  the success region nearest to the value (:func:`fzanalysis.comparators.region`); ``on_track``
  is exactly "the central projection lies in the success region"
  (:func:`fzanalysis.comparators.satisfies`).  Directional targets (逐步提高, 降低, 缩小):
  ``achieved`` when the recent trend is significantly in the required direction, ``on_track``
  when the projection moves that way without being significant yet, ``deterioration`` when it
  moves the other way, ``limited_progress`` when it does not move (a constant series) or moves
  by less than shows in the figures as written (:func:`fzanalysis.labels.shows_change`: the
  sentence says 保持在); for
  缩小 (``narrow``) the required direction is towards the gap's parity point :math:`T` from the
  side the trend's level is on today (a gap that has crossed parity and keeps moving widens);
  ``maintain``: ``achieved`` / ``slipping`` / ``deterioration`` against the level to keep.
* **Probability.**  ``probability`` is ``p_meet`` for numeric and ``maintain`` targets and the
  probability of moving in the required direction for ``increase``/``decrease``/``narrow`` (the column
  ``probability_kind`` says which); for a per-area target's district row (每个街道至少1名) the
  probability that every town meets it, its towns' ``p_meet`` multiplied (``all_areas``,
  methods 5.5; the district total's projection is not shown).
* **Reference figures.**  Where the same statistic is published for Guangzhou, Guangdong or the
  whole country (``data/reference``, with its citation), the latest figure up to the year is
  quoted beside the plan's own (``reference_*`` columns): "全国2024年为14.3/10万".
* **Like with like.**  A rate pooled over several years (rare events) is not compared with a
  single earlier year: ``change_1y`` and ``change_base`` are left empty for pooled values, and
  ``change_base`` also when the baseline's figure was pooled (``baseline_pooled_years``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fzanalysis import assessment, codes, comparators, reference, trend
from fzanalysis import catalog as catalog_mod
from fzanalysis.assessment import of_judged_sex
from fzanalysis.labels import label, shows_change
from fzanalysis.panel import Panel, as_panel
from fzanalysis.panel.schema import whole_area

__all__ = ["Evaluation", "category_from_projection", "evaluate", "of_judged_sex", "of_sex"]

#: Columns of :attr:`Evaluation.targets` and :attr:`Evaluation.series`, in order.
COLUMNS: list[str] = [
    "indicator", "domain", "name_zh", "name_en", "clause", "area", "sex", "judged", "year", "value",
    "lower", "upper", "pooled_years", "too_wide", "rankable", "unit", "comparator", "target", "tolerance",
    "status", "status_note", "gap", "previous_year", "previous_value", "change_1y", "baseline_year",
    "baseline_value", "baseline_pooled_years", "change_base", "method", "n_points", "trend_level", "turn_year", "projected", "proj_lower", "proj_upper",
    "probability", "probability_kind", "p_meet", "p_direction", "projected_meets", "category", "verdict", "verdict_zh", "verdict_en",
    "category_zh", "category_en", "warnings", "year_reached", "target_year", "per_area", "n_areas",
    "n_areas_met", "subject_sex", "reference_area", "reference_year", "reference_value",
    "reference_source", "reference_source_en", "synthetic", "unit_word_zh", "unit_word_en", "area_kinds",
    "p_by_area", "target_words_zh", "target_words_en",
]

#: Areas whose official figures are quoted beside a plan's own (nearest first).
REFERENCE_AREAS: tuple[str, ...] = ("440100", "440000", "100000")


@dataclass(frozen=True)
class Evaluation:
    """Result of :func:`evaluate`.

    Attributes
    ----------
    series : DataFrame
        One row per indicator × area × sex (:data:`COLUMNS`); ``judged`` marks the judged figures.
    year : int or None
        The year assessed (None: the latest year of each series).
    target_year : int or None
        The year every target was projected to; None when the catalogue's targets have
        different years (the ``target_year`` column says which).
    synthetic : bool
        True when the panel is synthetic demo data (every output must say so).
    projections : DataFrame or None
        The :func:`fzanalysis.project` table the judgement was derived from (every area and sex;
        columns of :func:`fzanalysis.trend.project`), so that charts and warning lists reuse the
        one projection instead of fitting again.
    """

    series: pd.DataFrame
    year: int | None
    target_year: int | None
    synthetic: bool
    projections: pd.DataFrame | None = None
    area: str | None = None

    @property
    def whole(self) -> str:
        """The area the targets are judged on (``area``, default the plan's: ``codes.district()``)."""
        return codes.district() if self.area is None else self.area

    @property
    def targets(self) -> pd.DataFrame:
        """One row per indicator, the judged figure, in the catalogue's (the plan's) order."""
        return self.series[self.series["judged"]].reset_index(drop=True)

    def towns(self) -> pd.DataFrame:
        """Town rows of the judged sex (breakdowns: never averaged into the district figure)."""
        s = self.series
        return s[(s["area"] != self.whole) & of_judged_sex(s)].reset_index(drop=True)

    def sexes(self) -> pd.DataFrame:
        """District rows of every sex, for indicators reported by sex (female, male, total)."""
        s = self.series
        both = s[s["area"] == self.whole]
        keep = both.groupby("indicator")["sex"].transform("nunique") > 1
        return both[keep].reset_index(drop=True)

    def attainment(self) -> pd.DataFrame:
        """The 达标率 by domain and overall, counted on the judged figures only."""
        return assessment.attainment(self.targets, area=self.whole)


#: ``method`` of a per-area target's district row: its probability is that every town meets.
PER_AREA = codes.PER_AREA_METHOD


def per_area_towns(out: pd.DataFrame, r: Mapping[str, Any], district: str | None = None) -> pd.DataFrame:
    """The town rows a per-area district row ``r`` sums up: same indicator and sex, a town the
    target applies to (:func:`fzanalysis.assessment.assess` marks the others ``not_applicable``).
    The one rule of the probability (:func:`_per_area_projection`), the report's charts and the
    dashboard; ``district`` defaults to the row's own area."""
    district = str(r["area"]) if district is None else str(district)
    return out[(out["indicator"] == r["indicator"]) & (out["sex"] == r["sex"])
               & (out["area"].astype(str) != district) & (out["status"] != "not_applicable")]


def _per_area_projection(out: pd.DataFrame, district: str) -> pd.DataFrame:
    r"""District rows of per-area targets (每个街道至少1名女干部): the probability that *every* town
    the target applies to meets it, from each town's own projection (docs/methods.md 5.5).

    The district total's trend says nothing about such a target (a total of 5 may leave one
    street at 0), so its projection, line and warnings are not shown: ``projected`` and its
    interval are left empty, ``method`` is :data:`PER_AREA`, and
    :math:`p = \prod_k p_k`, the towns' ``p_meet`` multiplied as if independent (a town
    without a probability, or a targeted town without a figure, leaves ``p`` empty); the towns'
    own are kept in ``p_by_area`` (``code:p`` joined with ``;``), for the sentence to name.
    ``projected_meets`` is ``p >= 0.5`` and ``at_risk`` fires below the same edge
    (``trend.yaml: probability_band``), the rule of every other target; the category follows
    (:func:`_per_area_category`).  ``probability_kind`` is ``all_areas``: the words say 全部达标.
    """
    out = out.copy()
    rows = out.index[(out["per_area"] == True) & (out["area"] == district)]  # noqa: E712 (object column)
    out["p_by_area"] = ""
    if len(rows):  # unknown (NaN) beside True/False
        out["projected_meets"] = out["projected_meets"].astype(object)
    for i in rows:
        r = out.loc[i].to_dict()
        towns = per_area_towns(out, r, district)
        p_k = pd.to_numeric(towns["p_meet"], errors="coerce")
        n = r.get("n_areas")
        complete = len(towns) > 0 and p_k.notna().all() and (pd.isna(n) or len(towns) == int(n))
        p = float(np.prod(p_k.to_numpy(dtype=float))) if complete else np.nan
        horizon = int(r["target_year"]) - int(r["year"]) if not (pd.isna(r.get("target_year"))
                                                                  or pd.isna(r.get("year"))) else 0
        # the band of the words decides (trend.probability_band_code: 难以 below 0.5), as for every target
        unlikely = complete and trend.probability_band_code(p) == "unlikely"
        warn = ("at_risk" if horizon >= 1 and unlikely else "") if complete else "insufficient_data"
        upd = {"method": PER_AREA, "projected": np.nan, "proj_lower": np.nan, "proj_upper": np.nan,
               # each town's own, in the towns' order: 440117001:0.745;… (the sentence names them)
               "p_by_area": ";".join(f"{a}:{q:.4f}" for a, q in zip(towns["area"].astype(str), p_k, strict=True)
                                     if np.isfinite(q)),
               "trend_level": np.nan, "turn_year": np.nan, "break_year": np.nan, "year_reached": np.nan,
               "p_direction": np.nan, "p_meet": p, "probability": p,
               "projected_meets": (not unlikely) if complete else np.nan, "warnings": warn}
        for k, v in upd.items():
            out.at[i, k] = v
    return out


def _per_area_category(r: dict, out: pd.DataFrame, district: str) -> str:
    """Category of a per-area district row: met now -> ``achieved``/``slipping`` as every town
    is likely to meet or not; not met -> ``on_track`` when every town is (p >= 0.5), else the
    worst category among its towns that are not on track (``acceleration_needed`` if each is on
    track alone but not all together); no probability -> ``insufficient_data``."""
    p, status = r.get("p_meet"), r.get("status")
    if pd.isna(p) or status in ("no_data", "not_applicable"):
        return "insufficient_data"
    good = bool(r.get("projected_meets"))
    if status == "met":
        return "achieved" if good else "slipping"
    if good:
        return "on_track"
    towns = per_area_towns(out, r, district)
    worst = [c for c in codes.CATEGORIES[::-1] if c in set(towns["category"]) and c in
             ("deterioration", "limited_progress", "acceleration_needed")] if "category" in towns else []
    return worst[0] if worst else "acceleration_needed"


def of_sex(frame: pd.DataFrame, sex: str | None) -> pd.Series:
    """Which rows a chart or map of ``sex`` shows: ``"judged"`` the sex each target is about
    (:func:`of_judged_sex`), a code (``F``, ``M``, ``T``) that sex, None every row (also when
    the table has no ``sex`` column).  Series of bool aligned with ``frame``."""
    if sex == "judged":
        return of_judged_sex(frame)
    if sex is None or "sex" not in frame.columns:
        return pd.Series(True, index=frame.index)
    return frame["sex"].astype(str) == str(sex)


def _previous(frame: pd.DataFrame, assessed: pd.DataFrame) -> pd.DataFrame:
    """Latest observed value before each series' assessed year."""
    keys = list(codes.SERIES_KEYS)
    left = assessed[[*keys, "year"]].rename(columns={"year": "_at"})
    m = frame[[*keys, "year", "value"]].merge(left, on=keys, how="inner")
    m = m[m["year"] < m["_at"]].sort_values("year")
    last = m.groupby(keys, sort=False).tail(1)
    return last.rename(columns={"year": "previous_year", "value": "previous_value"})[
        [*keys, "previous_year", "previous_value"]]


def _references(out: pd.DataFrame) -> pd.DataFrame:
    """The latest official figure (same statistic, same sex) up to each row's year, per area of
    :data:`REFERENCE_AREAS` other than the plan's own, nearest area first."""
    cols = ["reference_area", "reference_year", "reference_value", "reference_source", "reference_source_en"]
    empty = pd.DataFrame(index=out.index, columns=cols)
    try:
        ref = reference.load()
    except FileNotFoundError:  # a data folder without reference figures (FZANALYSIS_DATA)
        return empty
    own = codes.district()
    ref = ref[ref["area"].isin([a for a in REFERENCE_AREAS if a != own])]
    if ref.empty:
        return empty
    rank = {a: k for k, a in enumerate(REFERENCE_AREAS)}
    ref = ref.assign(_rank=ref["area"].map(rank)).sort_values(["_rank", "year"], ascending=[True, False])
    by_key = {k: g for k, g in ref.groupby(["indicator", "sex"], sort=False)}
    rows = []
    for ind, sex, year in zip(out["indicator"], out["sex"], out["year"]):
        g = by_key.get((ind, sex))
        hit = None
        if g is not None and not pd.isna(year):
            before = g[g["year"] <= int(year)]
            if len(before):
                hit = before.iloc[0]
        rows.append([hit["area"], int(hit["year"]), float(hit["value"]), hit["source"], hit["source_en"]]
                    if hit is not None else [np.nan] * 5)
    return pd.DataFrame(rows, index=out.index, columns=cols)


def category_from_projection(
    status: str,
    comparator: str,
    value: float,
    projected: float,
    target: float,
    tolerance: float = np.nan,
    *,
    reference: float = np.nan,
    meets: bool | None = None,
    unit: str | None = None,
) -> str:
    """Progress category of one series from its status and its central projection.

    Parameters
    ----------
    status : str
        Status now (:func:`fzanalysis.comparators.status`, or the trend test for directional ones).
    comparator : str
    value, projected : float
        The level the move is measured from (:func:`evaluate` passes the trend's level in the
        latest year, ``trend_level``, else the value judged now) and the central projection for
        the target year.
    target, tolerance : float
        The numeric target (NaN for directional ones).
    reference : float, optional
        For ``maintain`` without ``meets``: the level to keep (default: ``value``).
    meets : bool, optional
        Whether the projection meets the target (``trend.project``'s ``projected_meets``, which
        for ``maintain`` compares with the series' own reference level; default: computed with
        :func:`fzanalysis.comparators.satisfies`).
    unit : str, optional
        The indicator's unit: a move (increase/decrease/narrow) too small to show in the figures
        as written (:func:`fzanalysis.labels.shows_change`; 保持在19.0%) is no move.

    Returns
    -------
    str
        A code of :data:`fzanalysis.codes.CATEGORIES` (rules in the module docstring).

    Examples
    --------
    >>> category_from_projection("not_met", ">=", 94.0, 97.4, 96.0)
    'on_track'
    >>> category_from_projection("met", ">=", 96.5, 95.0, 96.0)
    'slipping'
    >>> category_from_projection("not_met", "<", 9.0, 8.5, 7.5)
    'limited_progress'
    """
    has_proj = not (projected is None or np.isnan(projected))
    if bool(comparators.asks_for_move(comparator)):
        if not has_proj or np.isnan(value):
            return "achieved" if status == "met" else "insufficient_data"
        # narrow (缩小): towards the parity point from the side the value is on (methods 3.3b)
        move = (projected - value) * float(comparators.required_direction(comparator, value, target))
        if unit is not None and not shows_change(value, projected, unit):
            move = 0.0  # the sentence says 保持在: neither on track nor 倒退
        if status == "met":  # the recent trend went the required way; the projection turns back
            return "slipping" if move < 0 else "achieved"
        # a flat projection (a constant series, p_direction 0.5) moves neither way
        return "on_track" if move > 0 else "deterioration" if move < 0 else "limited_progress"
    if comparator == "maintain":
        if status == "not_met":
            return "deterioration"
        if not has_proj:
            return "achieved" if status == "met" else "insufficient_data"
        ref = value if np.isnan(reference) else reference
        ok = bool(meets) if meets is not None else projected >= ref - 1e-9
        if status == "met":
            return "achieved" if ok else "slipping"
        return "on_track" if ok else "deterioration"
    if not has_proj:
        return "achieved" if status == "met" else "insufficient_data"
    if meets is None:
        meets = bool(comparators.satisfies(projected, comparator, target, tolerance))
    if status == "met":
        return "achieved" if meets else "slipping"
    if meets:
        return "on_track"
    if np.isnan(value):
        return "insufficient_data"
    lo, hi, _, _ = comparators.region(comparator, target, tolerance)
    if float(lo) <= value <= float(hi):  # the trend's level meets, its projection does not: away
        return "limited_progress" if unit is not None and not shows_change(value, projected, unit) \
            else "deterioration"
    edge = float(lo) if value < float(lo) else float(hi)  # the side of the region the value is on
    need = edge - value
    if need == 0 or not np.isfinite(edge):
        return "limited_progress"
    move = projected - value
    if abs(move) <= 1e-9 * max(1.0, abs(value)):  # a flat projection: no movement, whatever the
        move = 0.0                                 # last bits of its floating point say
    if unit is not None and not shows_change(value, projected, unit):
        move = 0.0  # a move too small to show in the figures as written (保持在): no movement
    r = move / need
    if r < 0:
        return "deterioration"
    thresholds = assessment.load_rules()["progress"]["ratio_thresholds"]
    return "acceleration_needed" if r >= float(thresholds["acceleration_needed"]) else "limited_progress"


def evaluate(
    panel: Panel | pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    *,
    year: int | None = None,
    baseline_year: int = 2020,
    target_year: int | None = None,
    level: float = 0.8,
    area: str | None = None,
) -> Evaluation:
    """Judge every target once: the one table behind every page of a report.

    Parameters
    ----------
    panel : Panel or DataFrame
        The tidy panel (checked once with :func:`fzanalysis.panel.as_panel`).
    catalog : DataFrame, optional
        The plan's catalogue by default; a researcher's own through
        :func:`fzanalysis.catalog.normalize`.
    year : int, optional
        The report year: only figures up to it are used, and each series is judged on its latest
        figure up to it (the ``year`` column says which; NBS-style series published every few
        years are judged on their latest publication). Default: all figures.
    baseline_year : int
        Baseline of the change since the plan began (2020).
    target_year : int, optional
        Year of the projection.  Default: each target's own ``target_year`` from the catalogue
        (2030 for the plan's; a researcher's catalogue may say otherwise).
    level : float
        Level of the projection interval (0.8: the 10th and 90th percentiles).
    area : str, optional
        Code of the whole area the targets are about, whose figures are judged (default: the
        active plan's, :func:`fzanalysis.codes.district`); the other areas are breakdowns
        (:meth:`Evaluation.towns`).  A researcher's panel with its own codes names its own.

    Returns
    -------
    Evaluation
        ``.targets`` one row per indicator (the judged figure), ``.series`` every series,
        ``.towns()``, ``.sexes()``, ``.attainment()``.

    Raises
    ------
    fzanalysis.exceptions.PanelError
        If the panel breaks a rule of :func:`fzanalysis.panel.as_panel`, or has figures but
        none for ``area`` (the message lists the areas it has; a ``year`` before every figure
        leaves no figure to look for: every target is then no data).
    fzanalysis.exceptions.CatalogError
        If a researcher's catalogue is refused by :func:`fzanalysis.catalog.normalize`.

    See Also
    --------
    fzanalysis.assess : status now, with intervals.
    fzanalysis.project : projection and probability of meeting the target.

    Examples
    --------
    >>> from fzanalysis import demo
    >>> ev = evaluate(demo.load(), year=2024)
    >>> len(ev.targets) == len(catalog_mod.load())
    True
    >>> row = ev.targets.set_index("indicator").loc["health.life_expectancy"]
    >>> row["sex"]
    'F'
    """
    cat = catalog_mod.normalize(catalog)
    pnl = as_panel(panel, catalog=cat, area=area)
    if year is not None:  # what was known by the report year: later figures are not used
        frame = pnl.frame[pnl.frame["year"] <= int(year)].reset_index(drop=True)
        pnl = as_panel(frame, catalog=cat, source=pnl.source)
    # the one rule of assess and evaluate (schema.whole_area); an empty panel up to `year`: every
    # target no data, as documented
    district = whole_area(pnl, area)
    # each series is judged on its latest figure up to the year (the `year` column says which)
    assessed = assessment.assess(pnl, cat, year=None, baseline_year=baseline_year, area=district)
    projected = trend.project(pnl, cat, target_year=target_year, level=level)
    keys = list(codes.SERIES_KEYS)
    proj = projected.rename(columns={"lower": "proj_lower", "upper": "proj_upper", "level": "trend_level"})
    pcols = ["method", "n_points", "trend_level", "projected", "proj_lower", "proj_upper", "projected_meets",
             "p_meet", "p_direction", "probability", "warnings", "year_reached", "break_year", "turn_year",
             "n_outliers"]
    out = assessed.merge(proj[keys + pcols], on=keys, how="left")
    out = out.merge(_previous(pnl.frame, assessed), on=keys, how="left")
    crow = cat.set_index("id")
    out["clause"] = out["indicator"].map(crow["clause"]).fillna("")
    out["subject_sex"] = out["indicator"].map(crow["subject_sex"]).fillna("T")
    out["judged"] = (out["area"] == district) & of_judged_sex(out)
    # a judged figure that the panel lacks is shown as no data, never replaced by another sex
    missing = [i for i in cat["id"] if not ((out["indicator"] == i) & out["judged"]).any()]
    if missing:
        extra = []
        for i in missing:
            r = crow.loc[i]
            extra.append({"indicator": i, "area": district, "sex": r["subject_sex"], "judged": True,
                          "status": "no_data", "domain": r["domain"], "name_zh": r["name_zh"],
                          "name_en": r["name_en"], "clause": r["clause"], "unit": r["unit"],
                          "comparator": r["comparator"], "target": r["target"], "tolerance": r["tolerance"],
                          "subject_sex": r["subject_sex"], "target_year": r["target_year"],
                          "per_area": r["per_area"], "synthetic": pnl.synthetic})
        out = pd.concat([out, pd.DataFrame(extra)], ignore_index=True)
    # the kinds of town a per-area target is about (街道: 每个街道至少1名; labels.area_kind_word)
    out["area_kinds"] = out["indicator"].map(crow["area_kinds"]).fillna("") if "area_kinds" in crow.columns else ""
    for col in ("unit_word_zh", "unit_word_en"):  # a count's own counting word (labels.unit_word)
        out[col] = out["indicator"].map(crow[col]).fillna("") if col in crow.columns else ""
    # like with like: a pooled figure is not compared with a single year, nor a single year with a
    # pooled baseline (previous_value is the annual figure reported the year before)
    pooled = assessment.is_pooled(out["pooled_years"])
    # a change on the previous year only when the previous figure is of that year: a series
    # published every few years (NPC deputies by term) has no 比上年变化 (its 2018→2023 change
    # was in that column)
    gap = (pd.to_numeric(out["year"], errors="coerce").astype(float)
           - pd.to_numeric(out["previous_year"], errors="coerce").astype(float)).to_numpy()
    out["change_1y"] = np.where(pooled | (gap != 1), np.nan, out["value"] - out["previous_value"])
    out["change_base"] = np.where(assessment.like_with_like(out["pooled_years"], out["baseline_pooled_years"]),
                                  out["value"] - out["baseline_value"], np.nan)
    out["warnings"] = out["warnings"].astype(object).where(out["warnings"].notna(), "").astype(str)
    out["method"] = out["method"].astype(object).where(out["method"].notna(), "")
    out = out.join(_references(out))
    out["probability_kind"] = comparators.probability_kind(out["comparator"].to_numpy())
    # the year the projection, its probability and its sentence ("到2030年") are for
    out["target_year"] = (out["indicator"].map(crow["target_year"]) if target_year is None
                          else pd.Series(int(target_year), index=out.index)).astype("Int64")
    out = _per_area_projection(out, district)
    # a per-area target's district row: the probability that every town meets it (全部达标)
    out.loc[out["method"] == PER_AREA, "probability_kind"] = "all_areas"
    cats = []
    for r in out.to_dict("records"):
        status = r.get("status") or "no_data"
        value = np.nan if pd.isna(r.get("value")) else float(r["value"])
        proj_v = np.nan if pd.isna(r.get("projected")) else float(r["projected"])
        if r.get("method") == PER_AREA:  # from its towns' categories, below
            cat_code = "insufficient_data"
        elif status in ("no_data", "not_applicable") or r.get("status_note") == "too_few_points":
            # too few points to judge the trend (assessment.judge_direction) are too few to call it
            # on track either: the category says what the verdict (not_assessable) says
            cat_code = "insufficient_data"
        else:
            cat_code = category_from_projection(
                status, r["comparator"],
                # the move is judged from the trend's own level today (trend.project: `level`), as
                # the sentence tells it (narrative.finding): a last figure above or below its line
                # (one year's noise) no longer turns a flat trend into 倒退 or a falling one into
                # 进度正常
                value if pd.isna(r.get("trend_level")) else float(r["trend_level"]),
                proj_v,
                np.nan if pd.isna(r.get("target")) else float(r["target"]),
                np.nan if pd.isna(r.get("tolerance")) else float(r["tolerance"]),
                meets=None if pd.isna(r.get("projected_meets")) else bool(r["projected_meets"]),
                unit=str(r["unit"]))
        cats.append(cat_code)
    out["category"] = cats
    per_area = out["method"] == PER_AREA
    out.loc[per_area, "category"] = [_per_area_category(r, out, district)
                                     for r in out[per_area].to_dict("records")]
    back = assessment.baseline_move(out) < 0
    out["verdict"] = [assessment.verdict(
        status=r.get("status") or "no_data", comparator=r["comparator"], gap=r.get("gap", np.nan),
        target=r.get("target", np.nan), category=r["category"], note=r.get("status_note") or "",
        slope=r.get("trend_slope", np.nan),
        scale=r["n_areas"] if (r.get("per_area") is True and r["area"] == district
                               and not pd.isna(r.get("n_areas"))) else 1.0,
        too_wide=r.get("too_wide") is True, moved_back=bool(b))
        for r, b in zip(out.to_dict("records"), back, strict=True)]
    for lang in ("zh", "en"):
        out[f"category_{lang}"] = [label("category", c, lang) for c in out["category"]]
        out[f"verdict_{lang}"] = [label("verdict", c, lang) for c in out["verdict"]]
    for col in COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    order = {ind: k for k, ind in enumerate(cat["id"])}
    sex_order = {s: k for k, s in enumerate(codes.SEXES)}
    out = out.assign(_o=out["indicator"].map(order), _a=(out["area"] != district).astype(int),
                     _s=out["sex"].map(sex_order))
    out = out.sort_values(["_o", "_a", "area", "_s"], kind="stable").drop(columns=["_o", "_a", "_s"])
    out["judged"] = out["judged"].astype(bool)
    out["synthetic"] = pnl.synthetic
    years = pd.unique(out["target_year"].dropna())
    return Evaluation(series=out[COLUMNS].reset_index(drop=True), year=year,
                      target_year=int(years[0]) if len(years) == 1 else None,
                      synthetic=pnl.synthetic, projections=projected, area=area)
