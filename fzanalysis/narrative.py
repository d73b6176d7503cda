"""Narrative drafts: one sentence per indicator, in Chinese or English, from the numbers.

The evaluation group starts its write-up from these drafts, not from a blank
page.  A draft reads, for a percent indicator::

    2024年妇女基本医疗保险参保率为95.1%，较上年提高0.3个百分点；按当前趋势，
    预计2030年达到96.4%（80%区间95.2%–97.3%），达标概率72%。规划目标为95%以上，已达标。

Rules
-----
* **Units.**  Values and changes are written with the unit's templates in
  ``data/labels/report.yaml`` (kind ``narrative_unit``): a change of a percent
  is in 个百分点 / percentage points (the arithmetic difference
  :math:`\\Delta = x_t - x_{t-1}`, never a relative change), a rate per
  100 000 as ``12.3/10万``; ``decimals`` fixes the digits shown.
* **Direction.**  The word (提高/下降, 增加/减少 for counts, 持平) follows the
  sign of the change *after rounding* to the digits shown, so the sentence
  never says "提高0.0个百分点".
* **Projection.**  From :func:`fzanalysis.project`: ``projected`` with its
  ``level`` interval ``[lower, upper]`` and ``p_meet``; "达到" when the
  projection is at or above the latest value, "降至" when below.
* **Pooling.**  A rate pooled over several years for rare events says so:
  ``（2022–2024年合并计算）``.
* **Small counts.**  When :func:`fzanalysis.assess` flags the value's interval
  as too wide (``too_wide``), the draft adds 数值波动大，不宜排名 — ranking
  towns on such values mostly ranks noise.
* **Missing numbers.**  Any NaN part is left out; a missing value gives
  "2024年…暂无数据。".

Everything is looked up, nothing is silently invented: an unknown unit or
comparator raises :class:`KeyError` naming the label file to extend.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from fzanalysis.labels import format_change, format_target, format_value, label, unit_format
from fzanalysis.labels import format_number as _number

DISTRICT = "440117"
_COUNT_UNITS = {"count", "count_per_year"}


def _isna(x: Any) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _text(code: str, lang: str, **kw: Any) -> str:
    return label("narrative_text", code, lang).format(**kw)  # type: ignore[arg-type]


def indicator_sentence(
    row: Mapping[str, Any],
    *,
    lang: str = "zh",
    previous: float | None = None,
    projection: Mapping[str, Any] | None = None,
    level: float = 0.8,
    target_year: int = 2030,
    include_target: bool = True,
    area_name: str | None = None,
) -> str:
    """Draft the sentence(s) for one indicator × area × sex.

    Parameters
    ----------
    row
        One row of :func:`fzanalysis.assess` (needs ``year, value, unit`` and
        ``name_zh``/``name_en``; uses ``status, gap, comparator, target,
        too_wide, pooled_years, sex`` when present; ``pooled_years`` is the
        pooled window such as ``"2022–2024"``, empty when not pooled).
    lang
        ``zh`` or ``en``.
    previous
        Value of the previous year (same indicator, area, sex) for the
        change :math:`\\Delta = x_t - x_{t-1}`; None/NaN leaves it out.
    projection
        One row of :func:`fzanalysis.project` (``projected, lower, upper,
        p_meet``); None leaves the projection out.
    level
        Coverage of the projection interval (0.8 → "80%区间").
    target_year
        Year the projection is for.
    include_target
        Append the sentence on the target and the status.
    area_name
        Town name, put before the indicator name for town rows.

    Returns
    -------
    str
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    unit = str(row["unit"])
    year = int(row["year"])
    name = str(row.get(f"name_{lang}") or row.get("indicator"))
    sex = row.get("sex")
    if sex in ("F", "M"):
        sex_word = label("sex", str(sex), lang)  # type: ignore[arg-type]
        name = f"{name}（{sex_word}）" if lang == "zh" else f"{name} ({sex_word.lower()})"
    if area_name:
        name = f"{area_name}{name}" if lang == "zh" else f"{name} in {area_name}"
    value = row.get("value")
    if _isna(value):
        return _text("no_data", lang, year=year, name=name)

    out = _text("level", lang, year=year, name=name, value=format_value(value, unit, lang=lang))
    pooled = row.get("pooled_years")  # e.g. "2022–2024" when rare events were pooled, else ""
    if not _isna(pooled) and str(pooled).strip():
        out += _text("pooled", lang, years=str(pooled).strip())
    if not _isna(previous):
        decimals = int(unit_format(unit)["decimals"])
        change = float(value) - float(previous)
        shown = _number(change, decimals)
        if float(shown.replace(",", "")) == 0:
            out += _text("flat", lang)
        else:
            code = "up" if change > 0 else "down"
            if unit in _COUNT_UNITS:
                code += "_count"
            out += _text(code, lang, change=format_change(change, unit, lang=lang))
    if projection is not None and not _isna(projection.get("projected")):
        projected = float(projection["projected"])
        code = "projection_up" if projected >= float(value) else "projection_down"
        out += _text(code, lang, target_year=int(target_year),
                     projected=format_value(projected, unit, lang=lang))
        lo, hi = projection.get("lower"), projection.get("upper")
        if not _isna(lo) and not _isna(hi):
            spec = unit_format(unit)
            lower = (format_value(lo, unit, lang=lang) if spec.get("range_repeat")
                     else _number(lo, int(spec["decimals"])))
            out += _text("interval", lang, level=_number(100 * level, 0),
                         lower=lower, upper=format_value(hi, unit, lang=lang))
        p = projection.get("p_meet")
        if not _isna(p):
            out += _text("p_meet", lang, p=_percent(float(p)))
    out += _text("end", lang)

    if include_target and not _isna(row.get("comparator")):
        target = format_target(str(row["comparator"]), row.get("target", float("nan")), unit, lang=lang)
        status = row.get("status")
        sep = "" if lang == "zh" else " "
        if status == "met":
            out += sep + _text("met", lang, target=target)
        elif status == "not_met":
            gap = row.get("gap")
            if not _isna(gap) and float(gap) > 0:
                # for "~=" the gap is the distance outside the tolerance band, either side of it
                code = "not_met_band" if str(row["comparator"]) == "~=" else "not_met_gap"
                out += sep + _text(code, lang, target=target,
                                   gap=format_change(float(gap), unit, lang=lang))
            else:
                out += sep + _text("not_met", lang, target=target)
        elif status == "cannot_judge":
            out += sep + _text("cannot_judge", lang, target=target)
    too_wide = row.get("too_wide")
    if not _isna(too_wide) and bool(too_wide):
        out += ("" if lang == "zh" else " ") + _text("too_wide", lang)
    return out


def _percent(p: float) -> str:
    if p < 0.005:
        return "<1"
    if p > 0.995:
        return ">99"
    return _number(100 * p, 0)


def draft(
    assessed: pd.DataFrame,
    projected: pd.DataFrame | None = None,
    *,
    panel: pd.DataFrame | None = None,
    lang: str = "zh",
    level: float = 0.8,
    target_year: int = 2030,
    include_target: bool = True,
    area_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Draft sentences for every row of an assessment.

    Parameters
    ----------
    assessed
        Output of :func:`fzanalysis.assess` (one row per indicator × area × sex).
    projected
        Output of :func:`fzanalysis.project`, joined on ``indicator, area, sex``.
    panel
        The panel, to find each series' value in the previous year
        (``year - 1``) for the change; None leaves changes out.
    lang, level, target_year, include_target
        See :func:`indicator_sentence`.
    area_names
        Code → name for town rows (e.g. from :func:`fzanalysis.gazetteer.load`);
        the district's name is never prefixed.

    Returns
    -------
    pandas.DataFrame
        ``indicator, area, sex, domain, text`` in the order of ``assessed``.
    """
    keys = ["indicator", "area", "sex"]
    missing = [c for c in ("indicator", "year", "value", "unit") if c not in assessed.columns]
    if missing:
        raise ValueError(f"assessed table lacks column(s) {missing}; pass the output of fzanalysis.assess")
    proj_by_key: dict[tuple, Mapping[str, Any]] = {}
    if projected is not None:
        for rec in projected.to_dict("records"):
            proj_by_key[tuple(str(rec.get(k, "")) for k in keys)] = rec
    prev_by_key: dict[tuple, float] = {}
    if panel is not None:
        p = panel.copy()
        p["area"] = p["area"].astype(str) if "area" in p else DISTRICT
        p["sex"] = p["sex"].astype(str) if "sex" in p else "T"
        for rec in p[["indicator", "area", "sex", "year", "value"]].to_dict("records"):
            prev_by_key[(str(rec["indicator"]), rec["area"], rec["sex"], int(rec["year"]))] = rec["value"]
    rows = []
    for rec in assessed.to_dict("records"):
        key = tuple(str(rec.get(k, "")) for k in keys)
        area = str(rec.get("area", DISTRICT))
        name = None
        if area_names and area != DISTRICT:
            name = area_names.get(area)
        previous = None
        if not _isna(rec.get("year")):
            previous = prev_by_key.get((*key, int(rec["year"]) - 1))
        text = indicator_sentence(
            rec, lang=lang, previous=previous, projection=proj_by_key.get(key), level=level,
            target_year=target_year, include_target=include_target, area_name=name,
        )
        rows.append({"indicator": rec["indicator"], "area": area, "sex": rec.get("sex", "T"),
                     "domain": rec.get("domain", ""), "text": text})
    return pd.DataFrame(rows, columns=["indicator", "area", "sex", "domain", "text"])


def as_markdown(drafts: pd.DataFrame) -> str:
    """Join drafts as a Markdown bullet list (one bullet per row)."""
    return "\n".join(f"- {t}" for t in drafts["text"])
