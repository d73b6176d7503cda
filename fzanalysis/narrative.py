r"""Narrative drafts: one finding per target, in Chinese or English, from the judgement table.

The evaluation group starts its write-up from these drafts, not from a blank page.  Every
sentence is written from one row of :func:`fzanalysis.evaluation.evaluate` (the one judgement per
target), so a draft can never disagree with a table or a chart of the same report.  A draft reads::

    2024年妇女基本医疗保险参保率（女）为95.1%，较上年提高0.3个百分点，较2020年提高1.2个百分点。
    规划目标为96%以上，尚差0.9个百分点。按近年趋势，预计2030年达到96.4%（80%区间95.2%–97.3%），
    有可能达标（概率72%）。

Rules
-----
* **Units.**  Values and changes use the unit's templates in ``data/labels/report.yaml``
  (``narrative_unit``): a change of a percent is in 个百分点 / percentage points (the arithmetic
  difference, never a relative change), a rate per 100 000 as ``12.3/10万``.
* **Direction.**  A change (and the gap 尚差) is the difference of the two figures *as printed*
  (:func:`fzanalysis.labels.shown_difference`), so a reader's arithmetic checks out; the word
  (提高/下降, 增加/减少 for counts, 扩大/缩小 for a gap on one side of its parity point, 持平) follows its sign, so a sentence never says "提高0.0个百分点".
* **One trend, one wording.**  Every projection is introduced by the same words (label
  ``narrative_text.trend_basis``: 按近年趋势 / on recent trends), names the trend line wherever
  it prints otherwise than the latest figure (趋势线2024年为…) and the year the line starts at a
  turn (2021年起趋势转向), and states the probability in words with the number beside it
  (:func:`probability_words`).
* **Coherence.**  A target met now but projected to slip says so in one sentence, in the words of
  its category (``slipping``: 目前虽已达标，但预计难以保持), never as two contradicting labels.
* **Projection verb.**  达到 / 降至 follow the digits shown: a projection written as the latest
  value reads 保持在 (never "降至3个" from 3个); where the move from the trend line and the move
  from the latest figure read differently, the sentence has no verb of movement (预计2030年为25.0%),
  the line's level beside it.
* **Pooled rates** (rare events) say which years were pooled and state no change on a single
  year (the judgement table leaves ``change_1y`` empty for them).
* **Small counts.**  A value whose interval is too wide to judge, or that the maps draw 不宜比较
  (:func:`fzanalysis.rates.unrankable`: e.g. a rate from fewer than 20 events), adds
  数值波动大，不宜比较.
* **Missing numbers.**  Any missing part is left out; a missing value gives "2024年…暂无数据。".
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fzanalysis.catalog import DEFAULT_TARGET_YEAR
from fzanalysis.comparators import DIRECTIONAL, distance_to_parity
from fzanalysis.evaluation import PER_AREA
from fzanalysis.labels import (
    Lang,
    area_kind_word,
    area_label,
    check_lang,
    fill,
    format_change,
    format_difference,
    format_gap,
    format_range,
    format_target,
    format_value,
    is_published,
    label,
    name_with_sex,
    pooled_note,
    shown_difference,
    shows_change,
    target_words,
    unit_format,
    unit_word,
)
from fzanalysis.labels import format_number as _number
from fzanalysis.rates import load_rules, unrankable
from fzanalysis.trend import probability_band_code, probability_percent

__all__ = ["as_markdown", "draft", "finding", "probability_words", "words_kind"]

_COUNT_UNITS = {"count", "count_per_year"}


def _isna(x: Any) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _text(code: str, lang: str, **kw: Any) -> str:
    return fill(label("narrative_text", code, lang), **kw)  # type: ignore[arg-type]


def method_note(lang: Lang = "zh") -> str:
    """What a projection and a probability rest on, in one paragraph for the reader (methods 5,
    8.9): the fitting window, the model scales, the centre (damped and straight trends averaged),
    the interval and its calibration on real public series, the clamp of long-range
    probabilities, and the product over towns of a per-area target.  The numbers are read from
    ``data/trend.yaml``, so the paragraph says what the engine does.

    Examples
    --------
    >>> "阻尼趋势" in method_note() and "6%" in method_note()
    True
    """
    from fzanalysis.trend.prep import settings

    cfg = settings()
    eps = float(cfg["probability_temper"]["epsilon"])
    return _text("method_note", lang, window=int(cfg["window"]), phi=_number(float(cfg["damping"]), 1),
                 lo=_number(100 * eps, 0), hi=_number(100 * (1 - eps), 0),
                 years=int(cfg["probability_temper"]["full_horizon"]))


def probability_words(p: float, kind: str = "meet", lang: Lang = "zh") -> str:
    """A probability in words with the number beside it: ``很可能达标（概率89%）``.

    Parameters
    ----------
    p : float
        The probability (NaN gives ``""``).
    kind : {"meet", "direction"}
        Whether ``p`` is the probability of meeting a numeric target or of moving in the
        required direction (逐步提高/降低 targets).
    lang : {"zh", "en"}

    Notes
    -----
    Bands are those of :func:`fzanalysis.trend.probability_band_code` (``data/trend.yaml:
    probability_band``; words in the ``probability_band_*`` labels): at least 0.8 很可能 /
    likely, 0.5 to 0.8 有可能 / possible, below 0.5 难以 / unlikely; the number is
    :func:`fzanalysis.trend.probability_percent`, which never rounds across a band edge.

    Examples
    --------
    >>> probability_words(0.89), probability_words(0.3, "direction", "en")
    ('很可能达标（概率89%）', 'unlikely to move in the required direction (probability 30%)')
    """
    check_lang(lang)
    if _isna(p):
        return ""
    band = probability_band_code(float(p))
    return label(f"probability_band_{kind}", band, lang).format(p=probability_percent(float(p)))


def words_kind(kind: str, category: Any = None, comparator: Any = None) -> str:
    """Which words a probability is said in (:func:`probability_words`'s ``kind``): a target met
    now whose projection misses it (category ``slipping``), and every 保持 (``maintain``) target,
    is *kept* or not, 难以保持（概率20%）, the words of its sentence and warning, not 难以达标; a
    move keeps its own (保持所需方向)."""
    if (category == "slipping" or comparator == "maintain") and kind in ("meet", "all_areas"):
        return "keep" if kind == "meet" else "all_areas_keep"
    return kind


def _change(row: Mapping[str, Any], change: Any, start: Any, unit: str, lang: str, since: str,
            word: str | None = None) -> str:
    """较上年/较2020年 … : the change from ``start`` (the previous or the baseline figure) to the
    row's value, measured from the two figures as the report prints them
    (:func:`fzanalysis.labels.shown_difference`), its word following the sign of that difference."""
    if _isna(change):
        return ""
    published = is_published(row.get("synthetic"))
    if _isna(start):  # a table without the earlier figure: the change as given, in the unit's digits
        diff = float(_number(float(change), int(unit_format(unit)["decimals"])).replace(",", ""))
        size = format_change(float(change), unit, lang=lang, word=word)  # type: ignore[arg-type]
    else:
        diff, _ = shown_difference(start, row["value"], unit, published=published)
        size = format_difference(start, row["value"], unit, lang=lang, published=published,  # type: ignore[arg-type]
                                 word=word)
    if diff == 0:
        return _text(f"flat_{since}", lang, year=row.get("baseline_year_int", ""))
    code = ("up" if diff > 0 else "down") + ("_count" if unit in _COUNT_UNITS else "")
    if str(row.get("comparator")) == "narrow" and not _isna(start):
        # a gap (缩小 targets) widens or narrows: 扩大/缩小, its size measured as the target's
        # judgement measures it (comparators.distance_to_parity), where both figures are on one
        # side of the parity point (from +6 to -7.5 is told as a change)
        parity = 0.0 if _isna(row.get("target")) else float(row["target"])
        before, now = distance_to_parity([float(start), float(row["value"])], "narrow", parity)
        if (float(start) - parity) * (float(row["value"]) - parity) > 0:
            code = "widen" if now > before else "narrow"
    return _text(f"{code}_{since}", lang, change=size, year=row.get("baseline_year_int", ""))


def finding(row: Mapping[str, Any], *, lang: Lang = "zh", level: float = 0.8, area_name: str | None = None) -> str:
    """The finding for one row of the judgement table (:func:`fzanalysis.evaluation.evaluate`).

    Parameters
    ----------
    row : mapping
        One row of ``Evaluation.series`` / ``Evaluation.targets``.
    lang : {"zh", "en"}
    level : float
        Level of the projection interval (0.8 -> "80%区间").
    area_name : str, optional
        Town name put before the indicator name for town rows.

    Returns
    -------
    str
    """
    check_lang(lang)
    unit = str(row["unit"])
    word = unit_word(row, lang)  # a count's counting word: 10条, 1名, 3个
    name = str(row.get(f"name_{lang}") or row.get("indicator"))
    name = name_with_sex(name, row.get("sex"), lang=lang, subject_sex=row.get("subject_sex"))
    if area_name:
        name = f"{area_name}{name}" if lang == "zh" else f"{name} in {area_name}"
    year = row.get("year")
    if _isna(row.get("value")) or _isna(year):
        if _isna(year):  # no figure in any year
            return _text("no_data_ever", lang, name=name)
        return _text("no_data", lang, year=int(year), name=name)
    sep = "" if lang == "zh" else " "
    out = _text("level", lang, year=int(year), name=name, value=format_value(row["value"], unit, lang=lang,
                                        published=is_published(row.get("synthetic")), word=word))
    out += pooled_note(row.get("pooled_years"), lang)
    r = dict(row)
    if not _isna(row.get("baseline_year")):
        r["baseline_year_int"] = int(row["baseline_year"])
    if not _isna(row.get("previous_year")) and int(row["previous_year"]) == int(year) - 1:
        out += _change(r, row.get("change_1y"), row.get("previous_value"), unit, lang, "1y", word)
    if not _isna(row.get("baseline_year")) and int(row["baseline_year"]) < int(year):
        out += _change(r, row.get("change_base"), row.get("baseline_value"), unit, lang, "base", word)
    out += _text("end", lang)
    target = format_target(str(row["comparator"]), row.get("target"), unit, tolerance=row.get("tolerance"), lang=lang,
                           word=word)
    status = row.get("status")
    rule = _trend_rule(str(row["comparator"]), str(status), str(row.get("status_note") or ""), lang)
    target += rule
    if row.get("method") == PER_AREA:
        return out + sep + _per_area(row, target, lang)
    # a target without a number in the catalogue's words (the plan's 保持合理比例, or 未设目标，按保持
    # 2020年水平监测): the plan is never said to ask for 保持稳定 where it does not
    words = target_words(row, lang)
    lead = (_text("target_lead_words", lang, words=words) + rule if words
            else _text("target_lead", lang, target=target))
    if status == "met":
        code = "met_above_band" if row.get("status_note") == "above_target_band" else "met"
        out += sep + _text(code, lang, lead=lead)
    elif status == "not_met" and not _isna(row.get("gap")) and float(row["gap"]) > 0:
        code = "not_met_band" if str(row["comparator"]) == "~=" else "not_met_gap"
        gap = format_gap(row["value"], row["comparator"], row.get("target"), row["gap"], unit,
                         tolerance=row.get("tolerance"), lang=lang, published=is_published(row.get("synthetic")),
                         word=word)
        out += sep + _text(code, lang, lead=lead, gap=gap)
    elif status == "not_met":
        out += sep + _text("not_met", lang, lead=lead)
    elif status == "cannot_judge":
        out += sep + _text("cannot_judge", lang, lead=lead)
    projected = row.get("projected")
    target_year = int(row.get("target_year") or DEFAULT_TARGET_YEAR)
    if not _isna(projected) and target_year <= int(year):
        # the target year is observed (a final evaluation; methods 5 (10)): its published figure,
        # not a trend; in the target year itself the sentences above already say it
        if target_year < int(year):
            p = row.get("p_meet")
            code = ("observed_target_year" if _isna(p)
                    else "observed_target_year_met" if float(p) >= 0.5 else "observed_target_year_not_met")
            out += sep + _text(code, lang, target_year=target_year,
                               value=format_value(projected, unit, lang=lang, word=word))
        projected = None
    if not _isna(projected):
        shown = format_value(projected, unit, lang=lang, word=word)
        # the move is told as the category judges it: from the trend line's level at the latest
        # year (evaluation: trend_level); where the move from the line reads differently from the
        # move from the figure above, the sentence says so (22.4% observed, trend line at 25.6%,
        # projected 25.0%: 降至, not 达到)
        def move(start: Any) -> str:  # the verb follows the digits shown
            if not shows_change(start, projected, unit):
                return "projection_flat"
            return "projection_up" if float(projected) > float(start) else "projection_down"

        verb, basis = move(row["value"]), _text("trend_basis", lang)
        level_now = row.get("trend_level")
        turn = row.get("turn_year")
        # the line is named wherever it is not the figure above (printed otherwise: 29.3% observed,
        # line at 33.3%, projected 33.9% reads as a recovery without it) or starts at a turn
        if not _isna(level_now) and (move(level_now) != verb or not _isna(turn)
                                     or format_value(level_now, unit, lang=lang, word=word)
                                     != format_value(row["value"], unit, lang=lang, word=word)):
            # a verb only where it is true from both starting points the sentence gives: from the
            # line and from the figure (22.4% observed, line at 25.6%, 25.0% projected: neither
            # 降至 after 22.4% nor 达到 after the line, but 预计2030年为25.0%; a reader's finding)
            verb = move(level_now) if move(level_now) == verb else "projection_at"
            line = format_value(level_now, unit, lang=lang, word=word)
            basis = (_text("trend_basis_turn", lang, turn=int(turn), year=int(year), level=line)
                     if not _isna(turn) else _text("trend_basis_level", lang, year=int(year), level=line))
        out += sep + basis + _text(verb, lang, target_year=target_year, projected=shown)
        lo, hi = row.get("proj_lower"), row.get("proj_upper")
        if not _isna(lo) and not _isna(hi):
            out += _text("interval", lang, level=_number(100 * level, 0),
                         span=format_range(float(lo), float(hi), unit, lang=lang, word=word))
        words = probability_words(row.get("probability"),
                                  words_kind(str(row.get("probability_kind") or "meet"), row.get("category"),
                                             row.get("comparator")), lang)
        if row.get("category") == "slipping":  # in the category's words (预计难以保持), with the number
            p = row.get("probability")
            out += (_text("slipping", lang, p=probability_percent(float(p))) if not _isna(p)
                    else _text("slipping_no_p", lang))
        elif words:
            out += _text("comma", lang) + words
        out += _text("end", lang)
    too_wide = row.get("too_wide")
    # the maps' rule (rates.unrankable): a figure too small to compare says so in words as well
    few = bool(unrankable(pd.DataFrame([{"rankable": row.get("rankable")}])).iloc[0])
    if few or (not _isna(too_wide) and bool(too_wide)):
        out += sep + _text("too_wide", lang)
    if not _isna(row.get("reference_value")):
        out += sep + _text("reference", lang, area=area_label(str(row["reference_area"]), lang),
                           year=int(row["reference_year"]),
                           value=format_value(row["reference_value"], unit, lang=lang, published=True,
                                                          word=word))
    return out


#: The trend test's outcome of a target without a number (methods 2.4), by status note and status.
_TREND_RULES = {("no_significant_decline", "met"): "trend_rule_no_decline",
                ("significant_decline", "not_met"): "trend_rule_decline",
                ("trend_significant", "met"): "trend_rule_met",
                ("trend_significant", "not_met"): "trend_rule_not_met",
                ("trend_not_significant", "cannot_judge"): "trend_rule_not_significant"}


def _trend_rule(comparator: str, status: str, note: str, lang: str) -> str:
    """，近年无显著下降 after 保持稳定: what decided a target without a number (逐步提高, 保持, 缩小),
    so that a fall of 2.1 points called 已达标 beside a fall of 0.8 called 未达标 says why
    (the trend test, methods 2.4: the first is not significant, the second is)."""
    if comparator not in DIRECTIONAL:
        return ""
    code = _TREND_RULES.get((note, status))
    # the test's own window (assess.yaml status.trend.max_points), named: the projection's
    # 按近年趋势 is a longer fit and may point the other way
    return _text(code, lang, n=int(load_rules()["status"]["trend"]["max_points"])) if code else ""


def _per_area(row: Mapping[str, Any], target: str, lang: str) -> str:
    """The status and projection of a per-area target's district row (每个街道至少1名): how many
    towns meet it now, and the probability that every one meets it by the target year
    (:func:`fzanalysis.evaluation.evaluate`: the towns' probabilities multiplied)."""
    n = 0 if _isna(row.get("n_areas")) else int(row["n_areas"])
    n_met = 0 if _isna(row.get("n_areas_met")) else int(row["n_areas_met"])
    code = {"met": "per_area_met", "not_met": "per_area_not_met"}.get(str(row.get("status")),
                                                                       "per_area_cannot_judge")
    kind = area_kind_word(row.get("area_kinds"), lang)  # 街道 for 每个街道至少1名
    out = _text(code, lang, target=target, n=n, n_met=n_met, kind=kind)
    sep = "" if lang == "zh" else " "
    p = row.get("probability")
    target_year = int(row.get("target_year") or DEFAULT_TARGET_YEAR)
    if _isna(p):
        return out + sep + _text("per_area_no_projection", lang, kind=kind)
    # each town's own probability, named (which street is at risk)
    each = label("docx", "list_sep", lang).join(
        _text("per_area_each", lang, area=area_label(a, lang), p=probability_percent(float(q)))
        for a, q in (x.split(":") for x in str(row.get("p_by_area") or "").split(";") if ":" in x))
    if row.get("category") == "slipping":
        return out + sep + _text("per_area_slipping", lang, n=n, target_year=target_year,
                                 p=probability_percent(float(p)), kind=kind, each=each)
    words = probability_words(float(p), "all_areas", lang)
    return out + sep + _text("per_area_projection", lang, n=n, target_year=target_year, words=words, kind=kind,
                             each=each)


def draft(table: pd.DataFrame, *, lang: Lang = "zh", level: float = 0.8,
          area_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Findings for every row of a judgement table.

    Parameters
    ----------
    table : DataFrame
        ``Evaluation.targets`` (one finding per target) or rows of ``Evaluation.series``.
    lang : {"zh", "en"}
    level : float
        Level of the projection interval.
    area_names : mapping, optional
        Code -> name for town rows (:func:`fzanalysis.labels.area_label`); the district's name is
        never prefixed.

    Returns
    -------
    DataFrame
        ``indicator, area, sex, domain, text`` in the order of ``table``.
    """
    missing = [c for c in ("indicator", "year", "value", "unit", "comparator") if c not in table.columns]
    if missing:
        raise ValueError(f"judgement table lacks column(s) {missing}; pass fzanalysis.evaluate(...).targets")
    rows = []
    for rec in table.to_dict("records"):
        name = area_names.get(str(rec.get("area"))) if area_names and not rec.get("judged", False) else None
        rows.append({"indicator": rec["indicator"], "area": rec.get("area"), "sex": rec.get("sex"),
                     "domain": rec.get("domain", ""),
                     "text": finding(rec, lang=lang, level=level, area_name=name)})
    return pd.DataFrame(rows, columns=["indicator", "area", "sex", "domain", "text"])


def as_markdown(drafts: pd.DataFrame) -> str:
    """Join drafts as a Markdown bullet list (one bullet per row)."""
    return "\n".join(f"- {t}" for t in drafts["text"])
