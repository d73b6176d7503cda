"""The tables of the report: the judgement table and the views the notebooks, Word and Excel show.

**The judgement table** (:func:`fzanalysis.evaluate`, ``.targets``) is the one input of every
written output (index, Word, Excel): one row per catalogue indicator, the figure it is judged on
(the sex the target is about), with status, category, projection, probability and verdict
computed once (docs/methods.md 3.6).  Sentences come from :mod:`fzanalysis.narrative`.

Everything else here is a pure function on DataFrames: the table views of the notebooks
(:func:`coverage_table`, :func:`town_table` …), the counts and sentences of the headline
(:func:`attainment_counts`, :func:`attainment_sentence`), the town scorecard and the
early-warning list.  Words and numbers are written by :mod:`fzanalysis.labels` only.
"""
from __future__ import annotations

import html as _html
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from IPython.display import Markdown
from pandas.io.formats.style import Styler

from fzanalysis import catalog as catalog_mod
from fzanalysis import codes, comparators, gazetteer, labels, narrative, plan, trend
from fzanalysis.labels import Lang
from fzanalysis.rates import unrankable

__all__ = [
    "attainment_counts",
    "attainment_sentence",
    "attainment_table",
    "check_table",
    "comparable_town_indicators",
    "coverage_table",
    "domain_ranking_sentence",
    "drafts_markdown",
    "EARLY_WARNINGS",
    "escape_markdown",
    "evaluation_table",
    "gender_gap_table",
    "has_warning",
    "headline_view",
    "localize_columns",
    "plan_order",
    "probability_text",
    "projection_table",
    "projection_text",
    "ranking_phrase",
    "display_names",
    "series_name",
    "table",
    "target_words",
    "town_scorecard",
    "town_scorecard_table",
    "town_table",
    "problem_kind",
    "verdict_counts",
    "verdict_table",
    "warning_list",
    "warnings_label",
]

#: Columns of the judgement table, in this order.
_SEX_RANK = {"T": 0, "F": 1, "M": 2}


def _isna(x: Any) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- order


def plan_order(frame: pd.DataFrame, *, catalog: pd.DataFrame | None = None) -> pd.Index:
    """Index of ``frame`` in the plan's order.

    Domains as in ``data/domains.csv``, indicators as in the catalogue, then sex T, F, M, then
    area (district first).

    Parameters
    ----------
    frame : DataFrame
        With ``domain, indicator`` (``sex``, ``area`` used when present).
    catalog : DataFrame, optional
        The catalogue whose order counts (default: the plan's).

    Returns
    -------
    pandas.Index
        ``frame.index`` reordered; use ``frame.loc[plan_order(frame)]``.
    """
    cat = catalog_mod.normalize(catalog)
    dom_order = {d: i for i, d in enumerate(labels.domain_order())}
    ind_order = {i: k for k, i in enumerate(cat["id"])}
    district = codes.district()
    key = pd.DataFrame({
        "d": frame["domain"].map(dom_order).fillna(len(dom_order)).to_numpy(),
        "i": frame["indicator"].map(ind_order).fillna(len(ind_order)).to_numpy(),
        "s": (frame["sex"].map(_SEX_RANK).fillna(3).to_numpy() if "sex" in frame else 0),
        "a": ((frame["area"].astype(str) != district).to_numpy() if "area" in frame else 0),
        "c": (frame["area"].astype(str).to_numpy() if "area" in frame else ""),
    }, index=frame.index)
    return key.sort_values(["d", "i", "s", "a", "c"], kind="stable").index


# ------------------------------------------------------------------- judgement table


def attainment_counts(judgement: pd.DataFrame) -> dict[str, Any]:
    """The headline counts of a judgement table.

    Returns
    -------
    dict
        ``n`` (indicators), ``met``, ``not_met``, ``cannot_judge``, ``no_data``, ``judged``
        (met + not met) and ``rate`` = met / judged (NaN when nothing is judged), the 达标率 of
        :func:`fzanalysis.attainment`.
    """
    s = judgement["status"].value_counts()
    met, nm, cj = (int(s.get(k, 0)) for k in ("met", "not_met", "cannot_judge"))
    n = len(judgement)
    return {"n": n, "met": met, "not_met": nm, "cannot_judge": cj, "no_data": n - met - nm - cj,
            "judged": met + nm, "rate": met / (met + nm) if met + nm else float("nan")}


def attainment_sentence(judgement: pd.DataFrame, *, lang: Lang = "zh", domain: bool = False) -> str:
    """The 达标率 sentence: ``规划87项监测目标中，19项已达标……``, in the status labels' words;
    ``domain=True`` for the targets of one domain (``本领域26项目标中，…``).

    The targets neither met nor not met are given as one count in the same sentence, with its
    reasons (``status_note`` labels, 无数据) and, where the table has verdicts, how many of them
    the verdict cannot assess (暂无法评估) and how many it judges on the value or the trend's
    direction: one account of "cannot tell", not two counts side by side.

    Examples
    --------
    >>> j = pd.DataFrame({"status": ["met", "met", "not_met", "no_data"]})
    >>> attainment_sentence(j)
    '规划4项监测目标中，2项已达标，1项未达标，1项无法判定或无数据（无数据1项）；在可判定的3项中达标率为66.7%。'
    """
    c = attainment_counts(judgement)
    rate = labels.format_share(c["rate"], lang=lang)
    other = ""
    undecided = judgement[~judgement["status"].isin(["met", "not_met"])]
    if len(undecided):
        why = [labels.label("status", s, lang) if s != "cannot_judge" or "status_note" not in undecided
               else labels.label("status_note", n, lang)
               for s, n in zip(undecided["status"], undecided.get("status_note", undecided["status"]), strict=True)]
        reasons = labels.label("report", "attainment_reason_sep", lang).join(
            labels.fill(labels.label("report", "attainment_reason", lang),
                        label=w if lang == "zh" else w[:1].lower() + w[1:], k=k)
            for w, k in pd.Series(why).value_counts(sort=False).items())
        verdicts = ""
        if "verdict" in undecided:
            na = int((undecided["verdict"] == "not_assessable").sum())
            # "其中0项暂无法评估" is not written: none, or all, say so in words
            key = ("attainment_verdicts_none_na" if na == 0 else "attainment_verdicts_all_na"
                   if na == len(undecided) else "attainment_verdicts")
            verdicts = labels.fill(labels.label("report", key, lang), na=na, rest=len(undecided) - na)
        other = labels.fill(labels.label("report", "attainment_other", lang), k=len(undecided), reasons=reasons,
                            verdicts=verdicts)
    return labels.fill(
        labels.label("report", "attainment_sentence_domain" if domain else "attainment_sentence", lang), n=c["n"], met=c["met"], not_met=c["not_met"],
        other=other, judged=c["judged"], rate=rate)


def domain_ranking_sentence(attainment: pd.DataFrame, *, lang: Lang = "zh") -> str:
    """分领域看… : the domains with the highest and the lowest 达标率, ranked on the rate over every
    target with data (``attainment_rate_all``: a target that cannot be judged counts as not met),
    each named with its counts (``19项中4项已达标，21.1%``); empty when no domain has a judged target.

    The rate over judged targets only would rank first a domain where most targets cannot be
    judged (4 of 6 judged, 66.7%, while 13 of its 19 targets cannot be): ranking on it rewards
    missing evidence.  Domains that tie are named together.

    Parameters
    ----------
    attainment : DataFrame
        :func:`fzanalysis.attainment` output (``Evaluation.attainment()``); the ``all`` and
        ``unassigned`` rows are left out.
    lang : {"zh", "en"}

    Examples
    --------
    >>> a = pd.DataFrame({"domain": ["health", "decision", "law", "all"], "n_met": [10, 4, 0, 14],
    ...                   "n_not_met": [8, 2, 5, 15], "n_cannot_judge": [2, 13, 1, 16]})
    >>> a["attainment_rate_all"] = a["n_met"] / (a["n_met"] + a["n_not_met"] + a["n_cannot_judge"])
    >>> domain_ranking_sentence(a)
    '分领域看，按有数据的全部目标计（无法判定的计为未达标），达标率最高的是妇女与健康（20项中10项已达标，50.0%），最低的是妇女与法律（6项中0项已达标，0.0%）。'
    """
    a = attainment[~attainment["domain"].isin(["all", "unassigned"])]
    a = a[a["attainment_rate_all"].notna() & ((a["n_met"] + a["n_not_met"]) > 0)]
    if a["attainment_rate_all"].nunique() < 2:
        return ""
    ranked = pd.DataFrame({"name": [labels.domain_label(d, lang) for d in a["domain"]],
                           "n": (a["n_met"] + a["n_not_met"] + a["n_cannot_judge"]).astype(int).to_numpy(),
                           "met": a["n_met"].astype(int).to_numpy(),
                           "rate": a["attainment_rate_all"].astype(float).to_numpy()})
    return labels.fill(labels.label("docx", "overall_domains", lang), best=ranking_phrase(ranked, "max", lang),
                       worst=ranking_phrase(ranked, "min", lang))


def ranking_phrase(ranked: pd.DataFrame, end: str, lang: Lang = "zh") -> str:
    """The domain(s) or town(s) at the top (``end="max"``) or bottom of a 达标率 ranking, in words:
    one with its counts, 妇女与健康（20项中10项已达标，50.0%）, or every one tied at that rate,
    江埔街道、鳌头镇（并列，均为22.0%）: a tie is not ranked.  The one phrase of the domain and
    the town sentences.

    Parameters
    ----------
    ranked : DataFrame
        ``name, n, met, rate`` (rate = met / n).
    end : {"max", "min"}
    lang : {"zh", "en"}
    """
    rate = float(ranked["rate"].max() if end == "max" else ranked["rate"].min())
    at = ranked[np.isclose(ranked["rate"].astype(float), rate)]
    share = labels.format_share(rate, lang=lang)
    if len(at) == 1:
        r = at.iloc[0]
        return labels.fill(labels.label("docx", "overall_domain", lang), name=r["name"], met=int(r["met"]),
                           n=int(r["n"]), rate=share)
    return labels.fill(labels.label("docx", "ranking_tie", lang),
                       names=labels.join_names(at["name"], lang), rate=share)


def verdict_counts(judgement: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """Number of targets per verdict (every verdict listed, in :data:`fzanalysis.codes.VERDICTS` order).

    Returns
    -------
    DataFrame
        ``verdict, verdict_label, n, share`` (share of all targets).
    """
    n = judgement["verdict"].value_counts()
    rows = [{"verdict": v, "verdict_label": labels.label("verdict", v, lang), "n": int(n.get(v, 0)),
             "share": (n.get(v, 0) / len(judgement)) if len(judgement) else np.nan} for v in codes.VERDICTS]
    return pd.DataFrame(rows)


def verdict_table(judgement: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """:func:`verdict_counts` for display: ``verdict_label, n, share`` with the share written as a
    percentage (``24.1%``), as the Word report and the evaluation chapter show it."""
    v = verdict_counts(judgement, lang=lang)
    return pd.DataFrame({
        "verdict_label": v["verdict_label"], "n": v["n"],
        "share": [labels.format_share(x, lang=lang) for x in v["share"]],
    })


#: The warnings the plan's early warning is about (四（五）: 预计达标困难、波动较大, and a trend
#: turning the wrong way); ``insufficient_data`` says why a target has no projection, a note on
#: the data, listed apart (:func:`warning_list` ``kind="data"``).
EARLY_WARNINGS: tuple[str, ...] = ("at_risk", "volatile", "reversing")


#: Why a target is one of the 突出问题, in the order the 对策建议 name them: a large gap (the
#: verdict 差距较大), going backwards (倒退), met now but projected to slip (难以保持), else at risk
#: of missing the target (预计难以如期实现).
PROBLEM_KINDS = ("large_gap", "deterioration", "slipping", "at_risk")


def problem_kind(judgement: pd.DataFrame) -> pd.Series:
    """Why each target is a problem (:data:`PROBLEM_KINDS`, the first that applies), NA where it
    is none: the one rule of the 突出问题 and the 对策建议.

    Examples
    --------
    >>> j = pd.DataFrame({"verdict": ["large_gap", "achieved", "gap_remains", "achieved"],
    ...                   "category": ["deterioration", "slipping", "on_track", "achieved"],
    ...                   "warnings": ["at_risk", "at_risk", "at_risk", ""]})
    >>> problem_kind(j).tolist()
    ['large_gap', 'slipping', 'at_risk', <NA>]
    """
    risk = judgement["warnings"].astype(str).str.split(";").apply(lambda w: "at_risk" in w)
    kind = pd.Series(pd.NA, index=judgement.index, dtype="object")
    kind[risk] = "at_risk"
    kind[risk & (judgement["category"] == "slipping")] = "slipping"
    kind[judgement["category"] == "deterioration"] = "deterioration"
    kind[judgement["verdict"] == "large_gap"] = "large_gap"
    return kind


def has_warning(warnings: Any, kind: str = "early") -> pd.Series:
    """Which rows carry an early warning (``kind="early"``, :data:`EARLY_WARNINGS`) or only the
    note that the data are too few to project (``kind="data"``)."""
    codes_ = pd.Series(warnings).fillna("").astype(str).str.split(";")
    early = codes_.map(lambda cs: any(c in EARLY_WARNINGS for c in cs))
    if kind == "early":
        return early
    return ~early & codes_.map(lambda cs: "insufficient_data" in cs)


def warning_list(judgement: pd.DataFrame, *, lang: Lang = "zh",
                 projected: pd.DataFrame | None = None, kind: str = "early") -> pd.DataFrame:
    """The early-warning list (预警): indicators with a warning, with the reasons in words.

    ``kind="early"`` (default): the plan's early warnings (:data:`EARLY_WARNINGS`); ``"data"``:
    the targets whose only note is that their data are too few to project (数据不足), listed
    apart, so that 孕产妇死亡率 (a handful of deaths) is not counted as a warning.

    Parameters
    ----------
    judgement : DataFrame
        The judgement table (:func:`fzanalysis.evaluate` ``.targets``).
    projected : DataFrame, optional
        :func:`fzanalysis.project` output, for the model of each series (count models have
        their own reasons).

    Returns
    -------
    DataFrame
        ``indicator, domain, name, warnings, warnings_label, reason, probability`` (the
        probability in words, :func:`probability_text`) in the plan's order.
    """
    w = judgement[has_warning(judgement["warnings"], kind).to_numpy()]
    method = {}
    if projected is not None:
        method = {(str(r.indicator), str(r.area), str(r.sex)): r.method for r in projected.itertuples()}
    rows = []
    for r in w.to_dict("records"):
        how = (r.get("method") if isinstance(r.get("method"), str)
               else method.get((r["indicator"], r["area"], r["sex"])))
        rows.append({
            "indicator": r["indicator"], "domain": r["domain"],
            "name": labels.name_with_sex(str(r[f"name_{lang}"]), r.get("sex"), lang=lang,
                                         subject_sex=r.get("subject_sex")),
            "warnings": r["warnings"],
            "warnings_label": warnings_label(r["warnings"], lang, comparator=r["comparator"], method=how,
                                             category=r.get("category")),
            "reason": trend.warning_text(r["warnings"], lang=lang, comparator=r["comparator"], method=how,
                                         category=r.get("category"), area_kinds=r.get("area_kinds")),
            "probability": probability_text(r, lang),
            "probability_percent": ("" if _isna(r.get("probability"))
                                    else trend.probability_percent(float(r["probability"]))),
        })
    return pd.DataFrame(rows, columns=["indicator", "domain", "name", "warnings", "warnings_label", "reason",
                                       "probability", "probability_percent"])


# ----------------------------------------------------------------------------- towns


def comparable_town_indicators(assessed: pd.DataFrame, *, year: int | None = None, min_towns: int = 3) -> list[str]:
    """Indicators on which towns can fairly be compared (mapped and ranked).

    A numeric target, values for at least ``min_towns`` towns, every town value rankable
    (not from counts too small to rank: :func:`fzanalysis.rates.rate_table`'s ``rankable``), and
    a target set for every town (a target for streets only, catalogue ``area_kinds``, is judged
    street by street, not compared across the towns it does not apply to).  The domain pages and
    the towns chapter both call it on the judged-sex town rows (``Evaluation.towns``), so their
    counts agree.

    Returns
    -------
    list of str
        Indicator ids in the plan's order.
    """
    district = codes.district()
    t = assessed[(assessed["area"].astype(str) != district) & assessed["value"].notna()]
    if year is not None:
        t = t[t["year"] == year]
    t = t[~t["indicator"].astype(str).isin(_not_for_every_town(t))]  # only targets set for every town
    keep = []
    for ind, g in t.loc[plan_order(t)].groupby("indicator", sort=False):
        numeric = not np.isnan(comparators.numeric_target(g["comparator"].iloc[0], g["target"].iloc[0]))
        rankable = g["rankable"].fillna(False).astype(bool).all() if "rankable" in g else True
        if numeric and rankable and g["area"].nunique() >= min_towns:
            keep.append(str(ind))
    return keep


def target_words(rec: Mapping[str, Any], lang: Lang = "zh", *, report_year: int | None = None) -> dict[str, str]:
    """What every view writes for one target of the judgement table: ``name, sex, value, target,
    status, category, verdict, projection, probability, warnings`` in the reader's words (the
    index's headline rows; :mod:`fzanalysis.report.crosscheck` reads the outputs against it).
    With ``report_year`` (the assessed year) a value of an earlier year says its year
    (:func:`value_of_year`)."""
    published = labels.is_published(rec.get("synthetic"))
    word = labels.unit_word(rec, lang)
    value = (labels.format_value(rec["value"], rec["unit"], lang=lang, published=published, word=word)
             if report_year is None
             else value_of_year(rec["value"], rec["unit"], rec.get("year"), report_year, lang, published=published,
                                word=word))
    if not _isna(rec["value"]):
        value += labels.pooled_note(rec.get("pooled_years"), lang)
    return {
        "name": labels.name_with_sex(str(rec[f"name_{lang}"]), rec.get("sex"), lang=lang,
                                     subject_sex=rec.get("subject_sex")),
        "sex": _sex_word(rec["sex"], lang),  # 女/男, blank for a total (the one rule of every view)
        "value": value,
        "target": labels.row_target(rec, lang, word=word),
        "status": labels.label("status", rec["status"], lang),
        "category": labels.label("category", rec["category"], lang),
        "verdict": labels.label("verdict", rec["verdict"], lang),
        "projection": projection_text(rec, lang),
        "probability": probability_text(rec, lang),
        "warnings": warnings_label(rec["warnings"], lang, comparator=rec["comparator"], method=rec.get("method"),
                                   category=rec.get("category")),
    }


def _not_for_every_town(towns: pd.DataFrame, catalog: pd.DataFrame | None = None) -> set[str]:
    """Indicators of town rows ``towns`` whose target is not set for every one of those towns
    (a target for streets only): the one rule of the town scorecard and of the towns that can
    fairly be compared (:func:`fzanalysis.gazetteer.applies_to` on the ``area_kinds`` the rows
    carry, :func:`fzanalysis.evaluate`; else the catalogue's, default the active plan's)."""
    if "area_kinds" in towns.columns:
        kinds = dict(zip(towns["indicator"].astype(str), towns["area_kinds"].fillna(""), strict=True))
    else:
        cat = catalog_mod.load() if catalog is None else catalog_mod.normalize(catalog)
        kinds = dict(zip(cat["id"].astype(str), cat["area_kinds"], strict=True))
    kind_map = gazetteer.kind_of()
    areas = sorted(set(towns["area"].astype(str)))
    partial = {ind for ind in set(towns["indicator"].astype(str))
               if not all(gazetteer.applies_to(a, kinds.get(ind, ""), kind_map=kind_map) for a in areas)}
    return partial | set(towns.loc[towns["status"].astype(str) == "not_applicable", "indicator"].astype(str))


def town_scorecard(assessed: pd.DataFrame, *, lang: Lang = "zh", max_lags: int = 3,
                   catalog: pd.DataFrame | None = None) -> pd.DataFrame:
    """A scorecard per town: how many of its targets it meets, and where it lags.

    Parameters
    ----------
    assessed : DataFrame
        :func:`fzanalysis.assess` output (town rows are used; ``not_applicable`` rows left out).
    max_lags : int
        How many lagging indicators to name per town (the largest gaps relative to the target).
    catalog : DataFrame, optional
        The catalogue whose ``area_kinds`` say which towns each target is about (default the
        active plan's).

    Returns
    -------
    DataFrame
        ``area, area_name, n_targets, n_met, n_not_met, n_cannot_judge, rate, lags`` (the three
        counts add up to ``n_targets``, the town's targets with a figure; ``rate`` is ``n_met /
        n_targets``, a target that cannot be judged counting as not met, the rule the domains are
        ranked by; ``lags``: names joined with ``、``), in gazetteer order.

    Notes
    -----
    Towns are compared on the targets that apply to every one of them: a target for streets
    only (catalogue ``area_kinds``; its other town rows ``not_applicable``) is left out, so that
    a street is not ranked above a town on targets the town does not have (the two street-only
    targets, met in every street, once put two streets at the top of the demo's ranking while on
    the 50 common targets 江埔街道 and 鳌头镇 tie).  Those targets are judged town by town
    elsewhere (the district's per-area row and the maps).
    """
    district = codes.district()
    towns = assessed[assessed["area"].astype(str) != district]
    partial = _not_for_every_town(towns, catalog)
    t = towns[towns["value"].notna() & ~towns["indicator"].isin(partial)
              & towns["status"].isin(["met", "not_met", "cannot_judge"])].copy()
    t["rel"] = (t["gap"].abs() / t["target"].abs().replace(0, np.nan)).astype(float)
    rows = []
    for area, g in t.groupby(t["area"].astype(str), sort=True):
        nm = g[g["status"] == "not_met"].sort_values("rel", ascending=False)
        subject = nm["subject_sex"] if "subject_sex" in nm else pd.Series(None, index=nm.index)
        names = [labels.name_with_sex(str(n), s, lang=lang, subject_sex=ss)
                 for n, s, ss in zip(nm[f"name_{lang}"].head(max_lags), nm["sex"].head(max_lags),
                                     subject.head(max_lags), strict=True)]
        met, nmet = int((g["status"] == "met").sum()), int((g["status"] == "not_met").sum())
        rows.append({"area": area, "area_name": labels.area_label(area, lang), "n_targets": len(g),
                     "n_met": met, "n_not_met": nmet, "n_cannot_judge": len(g) - met - nmet,
                     # over every target with a figure, as the domains are ranked (domain_ranking_sentence):
                     # a town ranked on its judged targets only led with most of them undecidable
                     "rate": met / len(g) if len(g) else np.nan, "lags": labels.join_names(names, lang)})
    return pd.DataFrame(rows, columns=["area", "area_name", "n_targets", "n_met", "n_not_met", "n_cannot_judge",
                                       "rate", "lags"])


def town_scorecard_table(card: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """:func:`town_scorecard` for display: the 达标率 written as a percentage, as every page writes
    it (:func:`fzanalysis.labels.format_share`), without the area codes."""
    out = card.drop(columns=["area"]).copy()
    out["rate"] = [labels.format_share(v, lang=lang) for v in out["rate"]]
    # headed by what it is: over every target with a figure (达标率（含无法判定）)
    return out.rename(columns={"rate": "attainment_rate_all"}).reset_index(drop=True)


# ------------------------------------------------------------------ notebook views


def coverage_table(panel: Any, catalog: pd.DataFrame, *, year: int, lang: Lang = "zh") -> pd.DataFrame:
    """What arrived: one row per catalogue indicator, with the panel's coverage.

    Columns: ``domain_label, indicator, name, department, first_year, last_year, n_years``
    (distinct years with a district value), ``reported`` (a district value for ``year``),
    ``n_towns`` (towns with a value for ``year``; only for a plan whose area has towns), ``sexes``.
    Indicators in the panel but not in the catalogue are listed too, with an empty name, so
    nothing is dropped silently.
    """
    p = (panel.frame if hasattr(panel, "frame") else panel).copy()
    district = codes.district()
    p["area"] = p["area"].astype(str) if "area" in p.columns else district
    p["sex"] = p["sex"].astype(str) if "sex" in p.columns else "T"
    p = p[p["value"].notna()]
    dist = p[p["area"] == district]
    now = p[p["year"] == year]
    ids = list(catalog["id"]) + sorted(set(p["indicator"]) - set(catalog["id"]))
    cat = catalog.set_index("id")
    rows = []
    for ind in ids:
        d = dist[dist["indicator"] == ind]
        n = now[now["indicator"] == ind]
        known = ind in cat.index
        rows.append({
            "domain_label": labels.domain_label(str(cat.at[ind, "domain"]), lang) if known else "",
            "indicator": ind,
            "name": cat.at[ind, f"name_{lang}"] if known else "",
            "department": (labels.label("department", cat.at[ind, "department"], lang)
                           if known and "department" in cat.columns and cat.at[ind, "department"] else ""),
            "first_year": int(d["year"].min()) if len(d) else pd.NA,
            "last_year": int(d["year"].max()) if len(d) else pd.NA,
            "n_years": int(d["year"].nunique()),
            "reported": bool((n["area"] == district).any()),
            "n_towns": int(n.loc[n["area"] != district, "area"].nunique()),
            "sexes": labels.label("docx", "list_sep", lang).join(labels.sex_label(s, lang) for s in sorted(n["sex"].unique(), key=_SEX_RANK.get)),
        })
    out = pd.DataFrame(rows)
    for col in ("first_year", "last_year"):
        out[col] = out[col].astype("Int64")
    return out if plan.active().has_towns else out.drop(columns="n_towns")


def _sex_word(sex: Any, lang: Lang) -> str:
    """女/男 for F/M, empty for T (total)."""
    return "" if _isna(sex) or str(sex) == "T" else labels.sex_label(str(sex), lang)


def _words(frame: pd.DataFrame, lang: Lang) -> list[str]:
    """Each row's counting word (:func:`fzanalysis.labels.unit_word`: the indicator's own, 条 for
    adverts, else its unit's, 个), for the columns that write a count."""
    cols = [c for c in ("unit", f"unit_word_{lang}") if c in frame.columns]
    return [labels.unit_word(dict(zip(cols, vals, strict=True)), lang)
            for vals in zip(*(frame[c] for c in cols), strict=True)]


def _targets(frame: pd.DataFrame, lang: Lang) -> list[str]:
    """Each row's target as the tables write it (:func:`fzanalysis.labels.row_target`, in the
    row's counting word)."""
    return [labels.row_target(r, lang, word=w) for r, w in zip(frame.to_dict("records"), _words(frame, lang),
                                                                strict=True)]


def warnings_label(codes_: Any, lang: Lang = "zh", *, comparator: Any = None, method: Any = None,
                   category: Any = None) -> str:
    """Short names of a row's warnings for tables: the head of each reason the text gives.

    The reason (:func:`fzanalysis.trend.warning_text`, ``预计达标困难：按近年趋势……``) is chosen by
    the comparator and the model, so a 逐步提高 target at risk reads 方向存疑 and a 保持 target
    预计难以保持, in the table as in the sentence; the short name is the reason's words before
    the first colon.

    Examples
    --------
    >>> warnings_label("at_risk;volatile"), warnings_label("at_risk", comparator="increase")
    ('预计达标困难；波动较大', '方向存疑')
    """
    if _isna(codes_) or not str(codes_):
        return ""
    sep, colon = ("；", "：") if lang == "zh" else ("; ", ": ")
    how = method if isinstance(method, str) else None
    cmp_ = comparator if isinstance(comparator, str) else None
    cat = category if isinstance(category, str) else None
    return sep.join(trend.warning_text(c, lang=lang, comparator=cmp_, method=how, category=cat).split(colon)[0]
                    for c in str(codes_).split(";") if c)


def probability_text(rec: Any, lang: Lang = "zh") -> str:
    """A row's probability in words with the number beside it (:func:`fzanalysis.narrative.probability_words`).

    ``rec`` is a row of the judgement table: its ``probability`` and ``probability_kind`` (meeting
    a numeric target, or moving in the required direction for 逐步提高/降低).  Empty when there is
    no probability.
    """
    p = rec.get("probability") if hasattr(rec, "get") else None
    if _isna(p):
        return ""
    kind = rec.get("probability_kind")
    kind = str(kind) if isinstance(kind, str) and kind else "meet"
    return narrative.probability_words(float(p), narrative.words_kind(kind, rec.get("category"), rec.get("comparator")),
                                       lang)


def projection_text(rec: Any, lang: Lang = "zh") -> str:
    """``96.4% (95.2–97.3)``: a row's projection with its interval, in the unit's digits; ``—`` when none."""
    if _isna(rec.get("projected")):
        return "—"
    text = labels.format_value(rec["projected"], rec.get("unit"), lang=lang, word=labels.unit_word(rec, lang))
    if not _isna(rec.get("proj_lower")) and not _isna(rec.get("proj_upper")):
        text += f" ({labels.format_range(rec['proj_lower'], rec['proj_upper'], rec.get('unit'), bare=True)})"
    return text


def town_table(assessed: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """Town rows of an assessment for display: town, indicator, sex, value, target, gap, status."""
    out = pd.DataFrame({
        "area_name": [labels.area_label(a, lang) for a in assessed["area"]],
        "name": display_names(assessed, lang),
        "sex": [_sex_word(x, lang) for x in assessed["sex"]],
        "value": _values(assessed, "value", lang),
        "target": _targets(assessed, lang),
        "gap": _gaps(assessed, lang),
        "status_label": [labels.label("status", s, lang) for s in assessed["status"]],
    })
    if "too_wide" in assessed.columns:
        out["too_wide"] = assessed["too_wide"].fillna(False).astype(bool).to_numpy()
    return out


def _gaps(frame: pd.DataFrame, lang: Lang) -> list[str]:
    """Each not-met row's shortfall as the sentences write it (:func:`fzanalysis.labels.format_gap`:
    from the value and the target as printed); empty for a row that meets or cannot be judged."""
    synthetic = frame["synthetic"] if "synthetic" in frame.columns else pd.Series(None, index=frame.index)
    return [labels.format_gap(v, c, t, g, u, tolerance=tol, lang=lang, published=labels.is_published(syn), word=w)
            if st == "not_met" and not _isna(g) and float(g) > 0 else ""
            for v, c, t, g, u, tol, st, syn, w in zip(frame["value"], frame["comparator"], frame["target"],
                                                      frame["gap"], frame["unit"], frame["tolerance"], frame["status"],
                                                      synthetic, _words(frame, lang), strict=True)]


def _value(value: Any, unit: Any, synthetic: Any, lang: Lang, pooled: Any = None, word: str | None = None) -> str:
    """A row's figure as every view writes it: a real one with its published digits, a rate pooled
    over several years with its window (:func:`fzanalysis.labels.pooled_note`: 6.5/10万（2020–2024年合并计算）)."""
    text = labels.format_value(value, unit, lang=lang, published=labels.is_published(synthetic), word=word)
    return text + labels.pooled_note(pooled, lang) if not _isna(value) else text


#: The column naming the window each figure column is pooled over.
_POOLED = {"value": "pooled_years", "baseline_value": "baseline_pooled_years"}


def _values(frame: pd.DataFrame, column: str, lang: Lang) -> list[str]:
    """:func:`_value` for each row of ``frame[column]`` (``synthetic`` and the pooled window read
    when the table has them)."""
    synthetic = frame["synthetic"] if "synthetic" in frame.columns else pd.Series(None, index=frame.index)
    window = _POOLED.get(column)
    pooled = frame[window] if window in frame.columns else pd.Series(None, index=frame.index)
    return [_value(v, u, s, lang, p, w) for v, u, s, p, w in
            zip(frame[column], frame["unit"], synthetic, pooled, _words(frame, lang), strict=True)]


def value_of_year(value: Any, unit: Any, year: Any, report_year: int, lang: Lang = "zh", *,
                  published: bool = False, word: str | None = None) -> str:
    """A value under a column headed with ``report_year``: with its own year when that is another
    (the latest figure a source has may be older: ``39.3%（2017年）``); ``published`` as in
    :func:`fzanalysis.labels.format_value` (a real figure with its own digits: ``80.88岁（2020年）``);
    ``word`` the counting word of a count (:func:`fzanalysis.labels.unit_word`)."""
    text = labels.format_value(value, unit, lang=lang, published=published, word=word)
    if _isna(value) or _isna(year) or int(year) == int(report_year):
        return text
    return labels.label("docx", "value_of_year", lang).format(value=text, year=int(year))


def projection_table(judgement: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """Projection summary: one row per target, a view of the judgement table.

    Name, sex, the judged year and value (a pooled rate as pooled), the 2030 projection with its
    interval (:func:`projection_text`), the probability in words (:func:`probability_text`) and
    the warnings (:func:`warnings_label`): the same words and digits as the index and the Word report.
    """
    j = judgement
    recs = j.to_dict("records")
    return pd.DataFrame({
        "name": display_names(j, lang),
        "sex": [_sex_word(x, lang) for x in j["sex"]],
        "year": j["year"].astype("Int64").reset_index(drop=True),
        "value": _values(j, "value", lang),
        "projected_2030": [projection_text(r, lang) for r in recs],
        "probability": [probability_text(r, lang) for r in recs],
        "warnings_label": [warnings_label(r["warnings"], lang, comparator=r["comparator"], method=r.get("method"),
                                          category=r.get("category"))
                           for r in recs],
    }).reset_index(drop=True)


def evaluation_table(judgement: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """Evaluation view of a judgement table: baseline, current value, target, status, verdict."""
    j = judgement
    return pd.DataFrame({
        "domain_label": [labels.domain_label(d, lang) for d in j["domain"]],
        "name": display_names(j, lang),
        "sex": [_sex_word(x, lang) for x in j["sex"]],
        "baseline_value": _values(j, "baseline_value", lang),
        "value": _values(j, "value", lang),
        "target": _targets(j, lang),
        "status_label": [labels.label("status", s, lang) for s in j["status"]],
        "category_label": [labels.label("category", c, lang) for c in j["category"]],
        "verdict": [labels.label("verdict", v, lang) for v in j["verdict"]],
    }).reset_index(drop=True)


def headline_view(judgement: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """The status table of the overview: one row per indicator, words not codes."""
    j = judgement
    recs = j.to_dict("records")
    return pd.DataFrame({
        "domain_label": [labels.domain_label(d, lang) for d in j["domain"]],
        "name": display_names(j, lang),
        "sex": [_sex_word(x, lang) for x in j["sex"]],
        "value": _values(j, "value", lang),
        "target": _targets(j, lang),
        "status_label": [labels.label("status", s, lang) for s in j["status"]],
        "category_label": [labels.label("category", c, lang) for c in j["category"]],
        "projected_2030": [projection_text(r, lang) for r in recs],
        "probability": [probability_text(r, lang) for r in recs],
        "warnings_label": [warnings_label(r["warnings"], lang, comparator=r["comparator"], method=r.get("method"),
                                          category=r.get("category"))
                           for r in recs],
    })


def attainment_table(attainment: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """:func:`fzanalysis.attainment` output with domain names, in the plan's order, rates in percent."""
    out = attainment.copy()
    order = {d: i for i, d in enumerate((*labels.domain_order(), "unassigned", "all"))}
    out = out.iloc[np.argsort([order.get(str(d), 99) for d in out["domain"]], kind="stable")]
    out.insert(0, "domain_label", [labels.domain_label(str(d), lang) for d in out["domain"]])
    for col in ("attainment_rate", "attainment_rate_all"):
        if col in out.columns:
            out[col] = [labels.format_share(v, lang=lang) for v in out[col]]
    return out.drop(columns=[c for c in ("domain", "domain_zh", "domain_en") if c in out.columns]
                    ).reset_index(drop=True)


def display_names(frame: pd.DataFrame, lang: Lang = "zh") -> list[str]:
    """The name of each row as every page writes it (:func:`fzanalysis.labels.name_with_sex`):
    九年义务教育巩固率（女） for a girls' figure, 妇女人均预期寿命 alone (its name says whose it
    is), the name alone for a total; so a table's name column reads as the sentence beside it."""
    subject = frame["subject_sex"] if "subject_sex" in frame.columns else pd.Series(None, index=frame.index)
    return [labels.name_with_sex(str(n), s, lang=lang, subject_sex=ss)
            for n, s, ss in zip(frame[f"name_{lang}"], frame["sex"], subject, strict=True)]


def series_name(indicator: str, sex: str, catalog: pd.DataFrame, *, lang: Lang = "zh") -> str:
    """Indicator name from the catalogue, with the sex in brackets for F/M series unless the name
    already says it of the judged sex (:func:`fzanalysis.labels.name_with_sex`)."""
    cat = catalog_mod.normalize(catalog).set_index("id")
    name = str(cat[f"name_{lang}"].get(indicator, indicator))
    return labels.name_with_sex(name, sex, lang=lang, subject_sex=cat["subject_sex"].get(indicator))



#: Columns of the panel checks' outputs that are figures in the indicator's unit, and statistics
#: of its year-on-year changes (:func:`check_table` writes them with the unit's digits, and one more).
_CHECK_FIGURES: tuple[str, ...] = ("value", "previous_value", "change", "submitted", "from_towns",
                                   "difference")
_CHECK_STATISTICS: tuple[str, ...] = ("median_change", "scale", "tolerance")


def check_table(found: pd.DataFrame, catalog: pd.DataFrame, *, lang: Lang = "zh") -> pd.DataFrame:
    """Rows flagged by a panel check, for display: names, never codes.

    For the outputs of :func:`fzanalysis.panel.jump_warnings` and
    :func:`fzanalysis.panel.check_district_consistency`: ``indicator`` and ``sex`` become the
    indicator's name with the sex (:func:`series_name`), ``area`` the area's name, ``method`` the
    words of ``aggregation_method``; the other columns are kept in their order.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import catalog
    >>> found = pd.DataFrame({"indicator": ["health.regular_exercise"], "year": [2024],
    ...                       "area": ["440117001"], "sex": ["F"], "value": [41.7]})
    >>> check_table(found, catalog.load()).columns.tolist()
    ['name', 'area_label', 'year', 'value']
    >>> check_table(found, catalog.load()).iloc[0, :2].tolist()
    ['妇女经常参加体育锻炼的人数比例', '街口街道']
    """
    out = found.copy()
    front = []
    if "indicator" in out.columns and len(out):
        # figures in the indicator's unit are written with its digits (a count 3, not 3.00); the
        # statistics of its changes (median, robust scale) with one more
        unit = out["indicator"].astype(str).map(catalog.set_index("id")["unit"]) if "unit" not in out.columns \
            else out["unit"]
        for cols, extra in (_CHECK_FIGURES, 0), (_CHECK_STATISTICS, 1):
            for col in (c for c in cols if c in out.columns):
                out[col] = [v if _isna(v) or _isna(u) else labels.format_number(
                    v, int(labels.unit_format(u)["decimals"]) + extra) for v, u in zip(out[col], unit, strict=True)]
    if "indicator" in out.columns:
        sex = out["sex"].astype(str) if "sex" in out.columns else pd.Series("T", index=out.index)
        out.insert(0, "name", [series_name(str(i), s, catalog, lang=lang)
                               for i, s in zip(out["indicator"], sex, strict=True)])
        front.append("name")
    if "area" in out.columns:
        # the district or a town: "地区", not the town tables' "镇街"
        out.insert(len(front), "area_label", [labels.area_label(a, lang) for a in out["area"].astype(str)])
        front.append("area_label")
    if "method" in out.columns:
        out["method"] = [labels.label("aggregation_method", m, lang) if not _isna(m) else ""
                         for m in out["method"]]
    return out.drop(columns=[c for c in ("indicator", "sex", "area") if c in out.columns]
                    ).reset_index(drop=True)


def gender_gap_table(gaps: pd.DataFrame, catalog: pd.DataFrame, *, lang: Lang = "zh",
                     change: pd.DataFrame | None = None, level: float = 0.95) -> pd.DataFrame:
    """:func:`fzanalysis.gender_gap` output for display: name, both values, difference, ratio, note.

    With ``change`` (:func:`fzanalysis.assessment.gap_change` of the same indicators and areas),
    two columns more: the baseline difference with its year, and how the gap's size moved since
    (缩小 / 扩大 with the interval at ``level``, 无明显变化, 不作比较 …; methods 4.1).

    Rows in the catalogue's (the plan's) order; values and differences written with the unit's
    decimals, as on every other page (:func:`fzanalysis.labels.value_decimals`).  A gap pooled
    over several years is named with its window (:func:`fzanalysis.labels.pooled_note`, as every
    page writes a pooled figure), so the women's figure is the judged one; the note says
    不宜比较 for a gap from few events (:func:`fzanalysis.rates.unrankable`) and 不作比较 where
    the sexes' years differ (``note = "windows_differ"``: no difference is stated).
    """
    order = {ind: k for k, ind in enumerate(catalog["id"])}
    for col in ("unit_word_zh", "unit_word_en"):  # the indicators' counting words (labels.unit_word)
        if col not in gaps.columns and col in catalog.columns:
            gaps = gaps.assign(**{col: gaps["indicator"].map(catalog.set_index("id")[col]).fillna("")})
    gaps = gaps.iloc[sorted(range(len(gaps)), key=lambda k: order.get(gaps["indicator"].iloc[k], len(order)))]
    names = catalog.set_index("id")[f"name_{lang}"]
    pooled = gaps["pooled_years"] if "pooled_years" in gaps.columns else pd.Series("", index=gaps.index)
    differ = gaps["note"].astype(str).eq("windows_differ") if "note" in gaps.columns else \
        pd.Series(False, index=gaps.index)
    few = unrankable(gaps)

    def shown(column: str) -> list[str]:
        return ["—" if _isna(x) else labels.format_number(float(x), labels.value_decimals(v, u))
                for x, v, u in zip(gaps[column], gaps["value_f"], gaps["unit"], strict=True)]

    extra: dict[str, list[str]] = {}
    if change is not None:
        moved = change.set_index(["indicator", "area"])
        keys = list(zip(gaps["indicator"], gaps["area"], strict=True))
        extra = {"baseline_difference": [], "gap_change": []}
        for (ind, area), value, male, unit in zip(keys, gaps["value_f"], gaps["value_m"], gaps["unit"],
                                                  strict=True):
            r = moved.loc[(ind, area)] if (ind, area) in moved.index else None
            num = partial(labels.format_number, decimals=labels.value_decimals(value, unit))
            if r is None or pd.isna(r["baseline_year"]):
                extra["baseline_difference"].append("—")
                extra["gap_change"].append(labels.label("gap_change", "not_comparable", lang) if r is not None
                                           else "—")
                continue
            extra["baseline_difference"].append(labels.fill(labels.label("gap_change", "baseline", lang),
                                                            v=num(r["baseline_difference"]),
                                                            year=int(r["baseline_year"])))
            code, c = str(r["gap_change"]), float(r["change"])
            lo, hi = float(r["change_lower"]), float(r["change_upper"])
            # narrowed / widened: the size of the move; otherwise the signed change (+ wider)
            ends = (-hi, -lo) if code == "narrowed" else (lo, hi)
            sign = code not in ("narrowed", "widened")
            lo_s, hi_s = (("+" if sign and x > 0 else "") + num(x) if np.isfinite(x) else "" for x in ends)
            size = num(abs(c))
            point = code in ("narrowed_point", "widened_point", "unchanged_point")
            if (point or code in ("narrowed", "widened")) and not (_isna(value) or _isna(male)):
                # the move between the two differences as printed beside it (-598 -> -611: 扩大13,
                # never the 12 of the unrounded figures; labels.shown_difference); without an
                # interval its word too (5.5 -> 5.6 said 未变)
                dec = labels.value_decimals(value, unit)
                now = labels.shown_difference(male, value, unit, decimals=(dec, dec))[0]
                then = round(float(r["baseline_difference"]), dec)
                if np.sign(now) == np.sign(then) != 0:
                    shift = round(abs(now) - abs(then), dec)
                    size = num(abs(shift))
                    if point:
                        code = "widened_point" if shift > 0 else "narrowed_point" if shift < 0 else "unchanged_point"
            extra["gap_change"].append(labels.fill(labels.label("gap_change", code, lang), v=size,
                                                   lo=lo_s, hi=hi_s, level=f"{100 * level:g}"))
    return pd.DataFrame({
        "name": [f"{names.get(i, i)}{labels.pooled_note(y, lang)}"
                 for i, y in zip(gaps["indicator"], pooled, strict=True)],
        "unit": [labels.unit_label(u, lang, word=w) for u, w in zip(gaps["unit"], _words(gaps, lang), strict=True)],
        "value_f": shown("value_f"),
        "value_m": shown("value_m"),
        # the difference beside the two figures is theirs as printed (labels.shown_difference)
        "difference": ["—" if _isna(d) or _isna(f) or _isna(m) else
                       labels.format_number(*labels.gender_difference(f, m, u))
                       for d, f, m, u in zip(gaps["difference"], gaps["value_f"], gaps["value_m"], gaps["unit"],
                                             strict=True)],
        "difference_lower": shown("difference_lower"),
        "difference_upper": shown("difference_upper"),
        "ratio": gaps["ratio"].astype(float).round(2).to_numpy(),
        **extra,
        "gap_note": [labels.label("gap_note", "windows_differ", lang) if d else
                     labels.label("gap_note", "not_comparable", lang) if f else ""
                     for d, f in zip(differ, few, strict=True)],
    }).reset_index(drop=True)


def localize_columns(frame: pd.DataFrame, lang: Lang = "zh") -> pd.DataFrame:
    """Rename columns to their ``report_column`` labels (unknown names kept, the labels' policy)."""
    return frame.rename(columns={c: labels.label("report_column", c, lang) for c in frame.columns})


def table(frame: pd.DataFrame, lang: Lang = "zh", *, precision: int = 2) -> Styler:
    """A table for the report: localised headings, no index, floats to ``precision`` digits.

    Booleans read 是/否; text columns are left-aligned.  Every cell and heading is HTML-escaped
    (catalogue names, notes and sources are text, never markup).  Returns a pandas ``Styler``.
    """
    shown = localize_columns(frame, lang).reset_index(drop=True)
    yes, no = labels.label("report", "yes_word", lang), labels.label("report", "no_word", lang)
    for col in shown.columns:  # booleans as words, not True/False
        if pd.api.types.is_bool_dtype(shown[col]):
            shown[col] = [("" if _isna(v) else yes if v else no) for v in shown[col]]
    text_cols = [c for c in shown.columns if not pd.api.types.is_numeric_dtype(shown[c])]
    # no thousands separator: years must read 2024, not 2,024
    styler = (shown.style.hide(axis="index").format(precision=precision, na_rep="—", escape="html")
              .format_index(escape="html", axis=1))
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
    return styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])


def drafts_markdown(drafts: pd.DataFrame, *, lang: Lang = "zh", by_domain: bool = True) -> Markdown:
    """Narrative drafts (:func:`fzanalysis.narrative.draft`) as Markdown in the plan's order.

    With ``by_domain`` each domain gets a ``###`` heading with its name.  The text is escaped
    (:func:`escape_markdown`): a catalogue name never becomes markup.
    """
    if drafts.empty:
        return Markdown("")
    ordered = drafts.loc[plan_order(drafts)]
    parts: list[str] = []
    for domain, rows in ordered.groupby("domain", sort=False):
        if by_domain:
            parts.append(f"### {escape_markdown(labels.domain_label(str(domain), lang))}")
        parts.extend(f"- {escape_markdown(t)}" for t in rows["text"])
    return Markdown("\n".join(parts))


def escape_markdown(text: Any) -> str:
    r"""Text for Markdown shown as HTML: ``& < >`` escaped (no tag survives) and the characters
    that start Markdown markup backslash-escaped, so text is shown as written.

    Examples
    --------
    >>> escape_markdown("<img src=x onerror=alert(1)> *a* [b](c)")
    '&lt;img src=x onerror=alert(1)&gt; \\*a\\* \\[b\\](c)'
    """
    out = _html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_\[\]#|])", r"\\\1", out)
